/* Plan steps to kernel-IR kernels; see kir_lower.h. */
#include "codegen/kir_lower.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


/* ---- the shape of a step's kernel ----
 * A step is one node or a fused kernel (plan.h).  Its values are the args
 * (operands from outside, then stored results) and the results used only
 * inside; all are seen over the kernel's space S: full values have S's
 * extent along the columns, per-row values (row kernels) have 1 there. */

typedef struct {
  ug_kir_kernel_t *k;
  ug_graph_t *g;
  ug_dims_t *D;
  const ug_plan_step_t *s;
  const ug_type_t *S;    /* the space */
  int c;                 /* row axes [0, c), columns [c, rank) */
  int64_t T;             /* full tile size */
  bool row;              /* a row kernel: columns are the last axis, static */
  bool raw;              /* a lone movement node: tiles keep their dtype (no compute casts) */
  ug_kir_operand_t coord[UG_MAX_RANK]; /* this program's row coordinates */
  ug_kir_operand_t col0; /* first column of this program's tile */
  ug_kir_value_id_t *tile;  /* per graph value: its tile, UG_NONE */
  ug_kir_value_id_t *bcast; /* per graph value: its tile broadcast to [T] */
  ug_kir_value_id_t mask;   /* row kernels with padding: iota < columns */
  ug_kir_value_id_t *param; /* per graph value read from outside: its parameter */
  /* index maps (movement nodes folded into the kernel) */
  const ug_type_t **vt;     /* per graph value: the type the kernel views it with (plain params: their view) */
  bool *mapped;             /* per graph value read from outside: read through gathers */
  bool *mov;                /* per graph value: the result of a movement node of the step */
  ug_node_id_t *def;        /* per graph value of the step: its node, UG_NONE */
  ug_kir_value_id_t *src;   /* per graph value: the outside value a view chain (reshape/expand) reads, UG_NONE */
  struct { ug_dim_t d; ug_dtype_t dt; ug_kir_value_id_t v; } kc[32]; /* scalar tiles of immediates made so far */
  int nkc;
  ug_kir_value_id_t ccol[UG_MAX_RANK + 1]; /* column coordinates (ccol[rank]: the flat column) of the tile's elements, i64[T], UG_NONE until made */
} lower_t;

ug_status_t ug_kir_not_lowered(ug_graph_t *g, const ug_node_t *n, const char *why) {
  return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not lowered to kernel IR: %s", why);
}

static bool is_reduction(ug_op_t op) {
  return op == UG_OP_REDUCE_SUM || op == UG_OP_REDUCE_MEAN || op == UG_OP_REDUCE_MAX || op == UG_OP_REDUCE_MIN;
}

int ug_kir_reduced_axes(ug_graph_t *g, const ug_node_t *n, bool *red) {
  int R = ug_value_type(g, ug_node_operand(g, n, 0))->rank;
  for (int i = 0; i < R; i++) red[i] = false;
  if (n->op == UG_OP_ARGMAX || n->op == UG_OP_ARGMIN) {
    int64_t a = ug_node_attr_int(g, n, UG_ATTR_AXIS, 0);
    if (a < 0) a += R;
    if (a < 0 || a >= R) return -2;
    red[a] = true;
  } else {
    const ug_attr_t *ax = ug_node_attr(g, n, UG_ATTR_AXES);
    uint32_t na = ax ? ax->u.ints.n : 0;
    for (uint32_t i = 0; i < na; i++) {
      int64_t a = ax->u.ints.v[i] < 0 ? ax->u.ints.v[i] + R : ax->u.ints.v[i];
      if (a < 0 || a >= R) return -2;
      red[a] = true;
    }
    for (int i = 0; i < R && na == 0; i++) red[i] = true;
  }
  int a = R;
  while (a > 0 && red[a - 1]) a--;
  for (int i = 0; i < a; i++)
    if (red[i]) return -1;
  return a;
}

/* Whether op is a movement op the lowering folds into index maps. */
static bool is_movement(ug_op_t op) {
  return op == UG_OP_TRANSPOSE || op == UG_OP_RESHAPE || op == UG_OP_SQUEEZE || op == UG_OP_UNSQUEEZE ||
         op == UG_OP_EXPAND || op == UG_OP_SLICE || op == UG_OP_CONCAT || op == UG_OP_GATHER ||
         op == UG_OP_GATHER_ELEMENTS || op == UG_OP_GATHER_ND || op == UG_OP_PAD || op == UG_OP_TILE ||
         op == UG_OP_TRILU;
}

/* Whether operand j of a movement node may be absent (pad's value, trilu's k). */
static bool optional_operand(ug_op_t op, uint32_t j) { return j == 1 && (op == UG_OP_PAD || op == UG_OP_TRILU); }

/* Movement ops that keep row-major element order (reshape-like) or only
 * broadcast (expand): a chain of them from a buffer is a plain view of it. */
static bool is_view_op(ug_op_t op) {
  return op == UG_OP_RESHAPE || op == UG_OP_SQUEEZE || op == UG_OP_UNSQUEEZE || op == UG_OP_EXPAND;
}

static const ug_type_t *vtype_of(lower_t *L, ug_value_id_t v) {
  return L->vt && L->vt[v] ? L->vt[v] : ug_value_type(L->g, v);
}

/* Value v's extents over the kernel's view: [row dims (1 where v broadcasts or
 * lacks the axis), column extent]; returns the column extent. */
static ug_dim_t view_shape(lower_t *L, ug_value_id_t v, ug_dim_t *out) {
  const ug_type_t *t = vtype_of(L, v);
  int R = L->S->rank, off = R - t->rank;
  for (int j = 0; j < L->c; j++) out[j] = j - off >= 0 ? t->dims[j - off] : 1;
  ug_dim_t tc = 1;
  for (int j = L->c; j < R; j++) tc = ug_dim_mul(L->D, tc, j - off >= 0 ? t->dims[j - off] : 1);
  out[L->c] = tc;
  return tc;
}

static ug_kir_value_id_t ew(lower_t *L, ug_op_t op, const ug_kir_value_id_t *xs, uint32_t n, const ug_kir_type_t *t,
                            const ug_attr_t *attrs, uint32_t na, const char *loc) {
  ug_kir_op_id_t o = ug_kir_begin(L->k, L->k->body, UG_KIR_EW, loc);
  L->k->ops.items[o].ew = op;
  for (uint32_t i = 0; i < n; i++) ug_kir_push_operand(L->k, o, ug_kir_val(xs[i]));
  for (uint32_t i = 0; i < na; i++)
    if (attrs[i].key != UG_ATTR_KERNEL) ug_kir_push_attr(L->k, o, ug_kir_attr_graph(attrs[i]));
  return ug_kir_push_result(L->k, o, t, NULL);
}

static ug_kir_value_id_t cast(lower_t *L, ug_kir_value_id_t x, ug_dtype_t to, int64_t size) {
  ug_attr_t a = {.key = UG_ATTR_TO};
  a.u.dtype = to;
  ug_dim_t d = size;
  ug_kir_type_t t = ug_kir_type_tile(to, 1, &d);
  return ew(L, UG_OP_CAST, &x, 1, &t, &a, 1, NULL);
}

static bool is_full(lower_t *L, ug_kir_value_id_t t) { return ug_kir_value_type(L->k, t)->t.dims[0] == L->T; }

static void view_index(lower_t *L, ug_value_id_t v, ug_kir_operand_t *idx);
static ug_kir_value_id_t mapped_tile(lower_t *L, ug_value_id_t v);

/* Value v's tile; an operand from outside is loaded at its first use (so
 * few tiles are live at once): a full tile, or one element where it is
 * broadcast along the columns, cast to the compute dtype.  A view chain
 * (reshape, expand) of a plain operand is that operand's tile; other
 * movement results and operands read through gathers are built by their
 * index maps. */
static ug_kir_value_id_t value_tile(lower_t *L, ug_value_id_t v) {
  if (L->tile[v] != UG_NONE) return L->tile[v];
  if (L->src[v] != UG_NONE && !L->mapped[L->src[v]]) return L->tile[v] = value_tile(L, L->src[v]);
  if (L->mov[v] || (L->param[v] != UG_NONE && L->mapped[v])) return L->tile[v] = mapped_tile(L, v);
  if (L->param[v] == UG_NONE) return UG_NONE;
  ug_dim_t shp[UG_MAX_RANK + 1];
  ug_dim_t tc = view_shape(L, v, shp);
  ug_kir_operand_t idx[UG_MAX_RANK + 1];
  view_index(L, v, idx);
  ug_dim_t size = tc == 1 ? 1 : L->T;
  ug_dtype_t dt = ug_value_type(L->g, v)->dtype;
  ug_kir_type_t tt = ug_kir_type_tile(dt, 1, &size);
  L->tile[v] = ug_kir_load(L->k, L->k->body, L->param[v], idx, (uint32_t)L->c + 1, UG_NONE, &tt);
  if (ug_dtype_compute(dt) != dt && !L->raw) L->tile[v] = cast(L, L->tile[v], ug_dtype_compute(dt), size);
  return L->tile[v];
}

/* Value v's tile broadcast to the full tile. */
static ug_kir_value_id_t full_tile(lower_t *L, ug_value_id_t v) {
  ug_kir_value_id_t t = value_tile(L, v);
  if (is_full(L, t)) return t;
  if (L->bcast[v] == UG_NONE) {
    ug_dim_t T = L->T;
    ug_kir_type_t ft = ug_kir_type_tile(ug_kir_value_type(L->k, t)->t.dtype, 1, &T);
    L->bcast[v] = ug_kir_unary(L->k, L->k->body, UG_KIR_BROADCAST, t, &ft);
  }
  return L->bcast[v];
}

/* Indices of value v's view at this program: the row coordinates (0 or
 * min(c, d-1) where v broadcasts), then the tile's first column (0 where v
 * is one element along the columns). */
static void view_index(lower_t *L, ug_value_id_t v, ug_kir_operand_t *idx) {
  ug_dim_t shp[UG_MAX_RANK + 1];
  ug_dim_t tc = view_shape(L, v, shp);
  for (int j = 0; j < L->c; j++) {
    ug_dim_t d = shp[j];
    if (d == L->S->dims[j]) {
      idx[j] = L->coord[j];
    } else if (d == 1) {
      idx[j] = ug_kir_imm(0);
    } else { /* symbolic: 1 or the space's extent, decided at run time */
      idx[j] = ug_kir_index_op(L->k, L->k->body, UG_OP_MIN, L->coord[j], ug_kir_imm(ug_dim_sub(L->D, d, 1)));
    }
  }
  idx[L->c] = tc == 1 && L->T != 1 ? ug_kir_imm(0) : L->col0;
}

/* ---- index maps ----
 * A movement node of the step is not computed: a value it makes is read
 * where it is used, through the composed map from its coordinates to the
 * coordinates of the buffer it comes from (transpose permutes them,
 * reshape re-linearizes, expand and broadcasting pin size-1 axes to 0,
 * slice scales and shifts, concat selects a piece, gather reads the index
 * tensor first), as a `gather` of flat offsets with a mask.  A coordinate
 * is uniform (an index: a row coordinate, a constant) or a tile of i64
 * over the program's elements; math on two uniform ones stays index math. */

typedef struct {
  ug_kir_value_id_t t; /* a tile (i64[T] or a scalar i64[]), or UG_NONE: uniform */
  ug_kir_operand_t u;  /* uniform: an index value or a dim */
} crd_t;

static crd_t cuni(ug_kir_operand_t u) { crd_t c = {.t = UG_NONE, .u = u}; return c; }
static crd_t cimm(ug_dim_t d) { return cuni(ug_kir_imm(d)); }
static crd_t ctile(ug_kir_value_id_t t) { crd_t c = {.t = t, .u = ug_kir_imm(0)}; return c; }

static bool is_imm(crd_t a, ug_dim_t d) { return a.t == UG_NONE && a.u.value == UG_NONE && a.u.imm == d; }

/* Whether tile t is a whole [T] tile (not a scalar). */
static bool wide(lower_t *L, ug_kir_value_id_t t) { return t != UG_NONE && ug_kir_value_type(L->k, t)->t.rank > 0; }

static ug_kir_type_t crd_type(lower_t *L, ug_dtype_t dt, bool w) {
  ug_dim_t T = L->T;
  return ug_kir_type_tile(dt, w ? 1 : 0, &T);
}

/* Coordinate a as a tile of dtype dt (a scalar when uniform). */
static ug_kir_value_id_t as_tile(lower_t *L, crd_t a, ug_dtype_t dt) {
  if (a.t != UG_NONE) {
    const ug_kir_type_t *t = ug_kir_value_type(L->k, a.t);
    if (t->t.dtype == dt) return a.t;
    ug_kir_type_t ct = *t;
    ct.t.dtype = dt;
    ug_attr_t at = {.key = UG_ATTR_TO};
    at.u.dtype = dt;
    return ew(L, UG_OP_CAST, &a.t, 1, &ct, &at, 1, NULL);
  }
  bool imm = a.u.value == UG_NONE;
  for (int i = 0; imm && i < L->nkc; i++)
    if (L->kc[i].d == a.u.imm && L->kc[i].dt == dt) return L->kc[i].v;
  ug_kir_type_t st = crd_type(L, dt, false);
  ug_kir_op_id_t o = ug_kir_begin(L->k, L->k->body, UG_KIR_EW, NULL);
  L->k->ops.items[o].ew = UG_OP_CAST;
  ug_kir_push_operand(L->k, o, a.u);
  ug_attr_t at = {.key = UG_ATTR_TO};
  at.u.dtype = dt;
  ug_kir_push_attr(L->k, o, ug_kir_attr_graph(at));
  ug_kir_value_id_t r = ug_kir_push_result(L->k, o, &st, NULL);
  if (imm && L->nkc < 32) {
    L->kc[L->nkc].d = a.u.imm;
    L->kc[L->nkc].dt = dt;
    L->kc[L->nkc++].v = r;
  }
  return r;
}

static bool is_compare(ug_op_t op) {
  return op == UG_OP_LESS || op == UG_OP_GREATER_EQUAL || op == UG_OP_EQUAL || op == UG_OP_LESS_EQUAL ||
         op == UG_OP_GREATER;
}

/* a op b on coordinates (add sub mul div mod min max, or a comparison,
 * which gives a bool tile: uniform comparisons a bool[] scalar). */
static crd_t cop(lower_t *L, ug_op_t op, crd_t a, crd_t b) {
  bool ua = a.t == UG_NONE, ub = b.t == UG_NONE;
  if (!is_compare(op)) {
    if ((op == UG_OP_ADD || op == UG_OP_SUB) && is_imm(b, 0)) return a;
    if (op == UG_OP_ADD && is_imm(a, 0)) return b;
    if ((op == UG_OP_MUL || op == UG_OP_DIV) && is_imm(b, 1)) return a;
    if (op == UG_OP_MUL && is_imm(a, 1)) return b;
    if (op == UG_OP_MUL && (is_imm(a, 0) || is_imm(b, 0))) return cimm(0);
    if (ua && ub) {
      if (a.u.value == UG_NONE && b.u.value == UG_NONE) {
        switch (op) {
        case UG_OP_ADD: return cimm(ug_dim_add(L->D, a.u.imm, b.u.imm));
        case UG_OP_SUB:
          if (UG_DIM_IS_STATIC(a.u.imm) && UG_DIM_IS_STATIC(b.u.imm) && a.u.imm >= b.u.imm) return cimm(a.u.imm - b.u.imm);
          break;
        case UG_OP_MUL: return cimm(ug_dim_mul(L->D, a.u.imm, b.u.imm));
        default: break;
        }
      }
      return cuni(ug_kir_index_op(L->k, L->k->body, op, a.u, b.u));
    }
  } else if (ua && ub) {
    ug_kir_type_t bt = crd_type(L, UG_DTYPE_BOOL, false);
    ug_kir_operand_t xs[2] = {a.u, b.u};
    return ctile(ug_kir_ew(L->k, L->k->body, op, xs, 2, &bt));
  }
  ug_kir_value_id_t xs[2] = {as_tile(L, a, UG_DTYPE_I64), as_tile(L, b, UG_DTYPE_I64)};
  ug_kir_type_t rt = crd_type(L, is_compare(op) ? UG_DTYPE_BOOL : UG_DTYPE_I64, wide(L, xs[0]) || wide(L, xs[1]));
  return ctile(ew(L, op, xs, 2, &rt, NULL, 0, NULL));
}

/* A mask and another (UG_NONE: everything). */
static ug_kir_value_id_t mand(lower_t *L, ug_kir_value_id_t a, ug_kir_value_id_t b) {
  if (a == UG_NONE) return b;
  if (b == UG_NONE) return a;
  ug_kir_value_id_t xs[2] = {a, b};
  ug_kir_type_t rt = crd_type(L, UG_DTYPE_BOOL, wide(L, a) || wide(L, b));
  return ew(L, UG_OP_AND, xs, 2, &rt, NULL, 0, NULL);
}

/* Tile t as a [T] tile (broadcast when it is a scalar). */
static ug_kir_value_id_t widen(lower_t *L, ug_kir_value_id_t t) {
  if (wide(L, t)) return t;
  ug_kir_type_t wt = crd_type(L, ug_kir_value_type(L->k, t)->t.dtype, true);
  return ug_kir_unary(L->k, L->k->body, UG_KIR_BROADCAST, t, &wt);
}

/* Row-major strides of shape t (dims). */
static void strides_of(lower_t *L, const ug_type_t *t, ug_dim_t *out) {
  ug_dim_t s = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    out[k] = s;
    s = ug_dim_mul(L->D, s, t->dims[k]);
  }
}

/* The space's coordinate along axis j for this program's elements: a row
 * coordinate, or from the element's column col0 + iota (divided by the
 * extent of the later column axes, modulo its own). */
static crd_t space_coord(lower_t *L, int j) {
  int R = L->S->rank;
  if (j < L->c) return cuni(L->coord[j]);
  if (L->ccol[j] != UG_NONE) return ctile(L->ccol[j]);
  if (L->ccol[R] == UG_NONE) {
    ug_kir_type_t it = crd_type(L, UG_DTYPE_I64, true);
    ug_kir_op_id_t o = ug_kir_begin(L->k, L->k->body, UG_KIR_IOTA, NULL);
    ug_kir_push_attr(L->k, o, ug_kir_attr_int(UG_KATTR_AXIS, 0));
    L->ccol[R] = cop(L, UG_OP_ADD, ctile(ug_kir_push_result(L->k, o, &it, NULL)), cuni(L->col0)).t;
  }
  crd_t x = ctile(L->ccol[R]);
  ug_dim_t st = 1;
  for (int i = R - 1; i > j; i--) st = ug_dim_mul(L->D, st, L->S->dims[i]);
  x = cop(L, UG_OP_DIV, x, cimm(st));
  if (j > L->c) x = cop(L, UG_OP_MOD, x, cimm(L->S->dims[j]));
  L->ccol[j] = x.t;
  return x;
}

/* Coordinate x pinned into an axis of extent d that broadcasts to extent s:
 * itself when d == s, 0 when d == 1, min(x, d-1) when d is symbolic. */
static crd_t pin(lower_t *L, crd_t x, ug_dim_t d, ug_dim_t s) {
  if (d == s) return x;
  if (d == 1) return cimm(0);
  return cop(L, UG_OP_MIN, x, cimm(ug_dim_sub(L->D, d, 1)));
}

static ug_kir_value_id_t tile_at(lower_t *L, ug_value_id_t v, const crd_t *crd, ug_kir_value_id_t mask);

/* gather of outside value v (its parameter) at coordinates crd. */
static ug_kir_value_id_t gather_param(lower_t *L, ug_value_id_t v, const crd_t *crd, ug_kir_value_id_t mask) {
  const ug_type_t *t = ug_value_type(L->g, v);
  int R = L->S->rank, rk = t->rank;
  if (L->c == R - 1 && rk > 0 && crd[rk - 1].t != UG_NONE && crd[rk - 1].t == L->ccol[R] && !wide(L, mask)) {
    /* affine and contiguous: the columns are v's last axis from a uniform
     * origin (a transpose keeping the last axis, a row slice, an embedding
     * row): a plain tile load, bounds-checked per axis, under a whole-tile mask */
    bool uni = true;
    for (int k = 0; k + 1 < rk; k++) uni = uni && !wide(L, crd[k].t);
    if (uni) {
      ug_kir_operand_t idx[UG_MAX_RANK];
      for (int k = 0; k + 1 < rk; k++) {
        ug_kir_type_t ix = ug_kir_type_index();
        idx[k] = crd[k].t == UG_NONE ? crd[k].u : ug_kir_val(ug_kir_unary(L->k, L->k->body, UG_KIR_TO_INDEX, crd[k].t, &ix));
      }
      idx[rk - 1] = L->col0;
      ug_kir_type_t lt = crd_type(L, t->dtype, true);
      return ug_kir_load(L->k, L->k->body, L->param[v], idx, (uint32_t)rk, mask, &lt);
    }
  }
  ug_dim_t st[UG_MAX_RANK];
  strides_of(L, t, st);
  crd_t off = cimm(0);
  for (int k = 0; k < t->rank; k++)
    if (t->dims[k] != 1) off = cop(L, UG_OP_ADD, off, cop(L, UG_OP_MUL, crd[k], cimm(st[k])));
  ug_kir_value_id_t ot = as_tile(L, off, UG_DTYPE_I64);
  bool w = wide(L, ot) || wide(L, mask);
  if (w) ot = widen(L, ot);
  if (w && mask != UG_NONE) mask = widen(L, mask);
  ug_kir_type_t rt = crd_type(L, t->dtype, w);
  return ug_kir_gather(L->k, L->k->body, L->param[v], ot, mask, 0.0, &rt);
}

/* The effective start of a slice along an axis of extent d (ONNX clamping). */
static ug_dim_t slice_start(ug_dim_t d, int64_t start, int64_t step) {
  if (!UG_DIM_IS_STATIC(d)) return start; /* symbolic: start >= 0, step >= 1 (shape inference) */
  if (start < 0) start += d;
  if (step > 0) return start < 0 ? 0 : start > d ? d : start;
  return start < 0 ? 0 : start > d - 1 ? d - 1 : start;
}

/* An index ix (an i64 tile) read from data into an axis of extent D:
 * counted from the end (once) when negative, the rest clamped into the
 * axis, as the per-node kernels do (docs/codegen.md, "Semantics notes"). */
static crd_t clamp_index(lower_t *L, crd_t ix, ug_dim_t D, const char *loc) {
  ug_kir_value_id_t w[3] = {cop(L, UG_OP_LESS, ix, cimm(0)).t, cop(L, UG_OP_ADD, ix, cimm(D)).t, ix.t};
  ug_kir_type_t tt = crd_type(L, UG_DTYPE_I64, wide(L, ix.t));
  ix = ctile(ew(L, UG_OP_WHERE, w, 3, &tt, NULL, 0, loc));
  return cop(L, UG_OP_MAX, cop(L, UG_OP_MIN, ix, cop(L, UG_OP_SUB, cimm(D), cimm(1))), cimm(0));
}

/* Value v (of v's own shape) at coordinates crd, where mask holds: an
 * outside value is gathered, a movement result maps its coordinates to its
 * operand's.  The tile has v's dtype; it is [T] when a coordinate or the
 * mask is, else a scalar. */
static ug_kir_value_id_t tile_at(lower_t *L, ug_value_id_t v, const crd_t *crd, ug_kir_value_id_t mask) {
  ug_graph_t *g = L->g;
  if (!L->mov[v]) return gather_param(L, v, crd, mask);
  const ug_node_t *n = &g->nodes.items[L->def[v]];
  ug_value_id_t x = ug_node_operand(g, n, 0);
  const ug_type_t *xt = ug_value_type(g, x), *rt = ug_value_type(g, v);
  crd_t cx[UG_MAX_RANK];
  for (int k = 0; k < xt->rank; k++) cx[k] = cimm(0);
  switch (n->op) {
  case UG_OP_TRANSPOSE: {
    const ug_attr_t *pa = ug_node_attr(g, n, UG_ATTR_PERM);
    for (int i = 0; i < rt->rank; i++) cx[pa && pa->u.ints.n ? pa->u.ints.v[i] : rt->rank - 1 - i] = crd[i];
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_EXPAND:
    for (int k = 0; k < xt->rank; k++) {
      int j = k + rt->rank - xt->rank;
      cx[k] = pin(L, crd[j], xt->dims[k], rt->dims[j]);
    }
    return tile_at(L, x, cx, mask);
  case UG_OP_RESHAPE:
  case UG_OP_SQUEEZE:
  case UG_OP_UNSQUEEZE: {
    /* dropped or added size-1 axes pair the others; else re-linearize */
    int a[UG_MAX_RANK], b[UG_MAX_RANK], na = 0, nb = 0;
    for (int k = 0; k < xt->rank; k++)
      if (xt->dims[k] != 1) a[na++] = k;
    for (int k = 0; k < rt->rank; k++)
      if (rt->dims[k] != 1) b[nb++] = k;
    bool pairs = na == nb;
    for (int i = 0; pairs && i < na; i++) pairs = xt->dims[a[i]] == rt->dims[b[i]];
    if (pairs) {
      for (int i = 0; i < na; i++) cx[a[i]] = crd[b[i]];
      return tile_at(L, x, cx, mask);
    }
    ug_dim_t sr[UG_MAX_RANK], sx[UG_MAX_RANK];
    strides_of(L, rt, sr);
    strides_of(L, xt, sx);
    crd_t lin = cimm(0);
    for (int k = 0; k < rt->rank; k++)
      if (rt->dims[k] != 1) lin = cop(L, UG_OP_ADD, lin, cop(L, UG_OP_MUL, crd[k], cimm(sr[k])));
    bool first = true;
    for (int k = 0; k < xt->rank; k++) {
      if (xt->dims[k] == 1) continue;
      cx[k] = cop(L, UG_OP_DIV, lin, cimm(sx[k]));
      if (!first) cx[k] = cop(L, UG_OP_MOD, cx[k], cimm(xt->dims[k]));
      first = false;
    }
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_SLICE: {
    for (int k = 0; k < xt->rank; k++) cx[k] = crd[k];
    const ug_attr_t *ax = ug_node_attr(g, n, UG_ATTR_AXES), *sa = ug_node_attr(g, n, UG_ATTR_STARTS);
    const ug_attr_t *pa = ug_node_attr(g, n, UG_ATTR_STEPS);
    for (uint32_t i = 0; ax && sa && i < ax->u.ints.n; i++) {
      int a = (int)(ax->u.ints.v[i] < 0 ? ax->u.ints.v[i] + xt->rank : ax->u.ints.v[i]);
      int64_t step = pa && i < pa->u.ints.n ? pa->u.ints.v[i] : 1;
      ug_dim_t st = slice_start(xt->dims[a], sa->u.ints.v[i], step);
      /* immediates are dims, never negative: a backward slice subtracts */
      crd_t d = cop(L, UG_OP_MUL, crd[a], cimm(step < 0 ? -step : step));
      cx[a] = cop(L, step < 0 ? UG_OP_SUB : UG_OP_ADD, cimm(st), d);
    }
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_CONCAT: {
    int a = (int)ug_node_attr_int(g, n, UG_ATTR_AXIS, 0);
    if (a < 0) a += rt->rank;
    uint32_t np = n->num_operands;
    ug_kir_value_id_t *piece = ug_arena_alloc(L->k->module->arena, sizeof(ug_kir_value_id_t) * np);
    crd_t *hi = ug_arena_alloc(L->k->module->arena, sizeof(crd_t) * np);
    ug_dim_t lo = 0;
    for (uint32_t i = 0; i < np; i++) {
      ug_value_id_t xi = ug_node_operand(g, n, i);
      const ug_type_t *ti = ug_value_type(g, xi);
      ug_dim_t h = ug_dim_add(L->D, lo, ti->dims[a]);
      hi[i] = cimm(h);
      ug_kir_value_id_t m = mask;
      if (i > 0) m = mand(L, m, cop(L, UG_OP_GREATER_EQUAL, crd[a], cimm(lo)).t);
      if (i + 1 < np) m = mand(L, m, cop(L, UG_OP_LESS, crd[a], hi[i]).t);
      crd_t ci[UG_MAX_RANK];
      for (int k = 0; k < ti->rank; k++) ci[k] = crd[k];
      ci[a] = cop(L, UG_OP_SUB, crd[a], cimm(lo));
      piece[i] = tile_at(L, xi, ci, m);
      lo = h;
    }
    ug_kir_value_id_t r = piece[np - 1];
    for (uint32_t i = np - 1; i-- > 0;) {
      ug_kir_value_id_t w[3] = {cop(L, UG_OP_LESS, crd[a], hi[i]).t, piece[i], r};
      bool wd = wide(L, w[0]) || wide(L, w[1]) || wide(L, w[2]);
      ug_kir_type_t tt = crd_type(L, rt->dtype, wd);
      r = ew(L, UG_OP_WHERE, w, 3, &tt, NULL, 0, n->loc);
    }
    return r;
  }
  case UG_OP_GATHER: {
    ug_value_id_t iv = ug_node_operand(g, n, 1);
    const ug_type_t *it = ug_value_type(g, iv);
    int a = (int)ug_node_attr_int(g, n, UG_ATTR_AXIS, 0);
    if (a < 0) a += xt->rank;
    crd_t ci[UG_MAX_RANK];
    for (int k = 0; k < it->rank; k++) ci[k] = crd[a + k];
    crd_t ix = clamp_index(L, ctile(as_tile(L, ctile(tile_at(L, iv, ci, mask)), UG_DTYPE_I64)), xt->dims[a], n->loc);
    for (int k = 0; k < a; k++) cx[k] = crd[k];
    cx[a] = ix;
    for (int k = a + 1; k < xt->rank; k++) cx[k] = crd[k + it->rank - 1];
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_GATHER_ELEMENTS: {
    /* x at the result's coordinates, axis a's replaced by the index read
     * there (counted from the end when negative, clamped into the axis) */
    ug_value_id_t iv = ug_node_operand(g, n, 1);
    int a = (int)ug_node_attr_int(g, n, UG_ATTR_AXIS, 0);
    if (a < 0) a += xt->rank;
    for (int k = 0; k < xt->rank; k++) cx[k] = crd[k];
    cx[a] = clamp_index(L, ctile(as_tile(L, ctile(tile_at(L, iv, crd, mask)), UG_DTYPE_I64)), xt->dims[a], n->loc);
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_GATHER_ND: {
    /* the result is [batch (b), index positions, slice]: x at the batch
     * coordinates, then the k components of the index read at [batch,
     * positions, j] (each counted from the end when negative, clamped into
     * its axis), then the slice's coordinates */
    ug_value_id_t iv = ug_node_operand(g, n, 1);
    const ug_type_t *it = ug_value_type(g, iv);
    int b = (int)ug_node_attr_int(g, n, UG_ATTR_BATCH_DIMS, 0), q = it->rank;
    int64_t kq = it->dims[q - 1];
    crd_t ci[UG_MAX_RANK];
    for (int k = 0; k + 1 < q; k++) ci[k] = crd[k];
    for (int k = 0; k < b; k++) cx[k] = crd[k];
    for (int64_t j = 0; j < kq; j++) {
      ci[q - 1] = cimm(j);
      ug_kir_value_id_t ix = as_tile(L, ctile(tile_at(L, iv, ci, mask)), UG_DTYPE_I64);
      cx[b + j] = clamp_index(L, ctile(ix), xt->dims[b + j], n->loc);
    }
    for (int k = b + (int)kq; k < xt->rank; k++) cx[k] = crd[q - 1 + k - b - (int)kq];
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_TILE: {
    const ug_attr_t *ra = ug_node_attr(g, n, UG_ATTR_REPEATS);
    for (int k = 0; k < xt->rank; k++) {
      if (xt->dims[k] == 1) cx[k] = cimm(0);
      else if (ra->u.ints.v[k] == 1) cx[k] = crd[k];
      else cx[k] = cop(L, UG_OP_MOD, crd[k], cimm(xt->dims[k]));
    }
    return tile_at(L, x, cx, mask);
  }
  case UG_OP_PAD: {
    /* source coordinate j = o - pad_begin; constant: masked outside x (the
     * value operand, or 0, there); edge clamps; wrap is j mod d; reflect
     * mirrors over the period 2(d-1) */
    const int64_t *pads = ug_node_attr(g, n, UG_ATTR_PADS)->u.ints.v;
    const char *mode = ug_node_attr_str(g, n, UG_ATTR_MODE, "constant");
    bool constant = strcmp(mode, "constant") == 0;
    ug_kir_value_id_t inside = UG_NONE;
    for (int k = 0; k < xt->rank; k++) {
      int64_t pb = pads[k], pe = pads[xt->rank + k];
      crd_t j = pb >= 0 ? cop(L, UG_OP_SUB, crd[k], cimm(pb)) : cop(L, UG_OP_ADD, crd[k], cimm(-pb));
      ug_dim_t d = xt->dims[k];
      if (constant) {
        if (pb > 0) inside = mand(L, inside, cop(L, UG_OP_GREATER_EQUAL, crd[k], cimm(pb)).t);
        if (pe > 0) inside = mand(L, inside, cop(L, UG_OP_LESS, j, cimm(d)).t);
        cx[k] = j;
      } else if (strcmp(mode, "edge") == 0) {
        cx[k] = pb > 0 ? cop(L, UG_OP_MAX, j, cimm(0)) : j;
        if (pe > 0) cx[k] = cop(L, UG_OP_MIN, cx[k], cimm(ug_dim_sub(L->D, d, 1)));
      } else if (pb <= 0 && pe <= 0) {
        cx[k] = j;
      } else if (strcmp(mode, "wrap") == 0) {
        cx[k] = cop(L, UG_OP_MOD, cop(L, UG_OP_ADD, j, cimm(d * (1 + (pb > 0 ? pb : 0) / (d ? d : 1)))), cimm(d));
      } else { /* reflect */
        int64_t per = d > 1 ? 2 * (d - 1) : 1;
        crd_t r = cop(L, UG_OP_MOD, cop(L, UG_OP_ADD, j, cimm(per * (1 + (pb > 0 ? pb : 0) / per))), cimm(per));
        /* r past d - 1 mirrors to per - r */
        crd_t m = cop(L, UG_OP_SUB, cimm(per), r);
        cx[k] = cop(L, UG_OP_MIN, r, m);
      }
    }
    ug_kir_value_id_t m = mand(L, mask, inside);
    ug_kir_value_id_t r = tile_at(L, x, cx, m);
    ug_value_id_t fv = n->num_operands > 1 ? ug_node_operand(g, n, 1) : UG_NONE;
    if (!constant || inside == UG_NONE || fv == UG_NONE) return r; /* masked elements read 0 */
    crd_t z[UG_MAX_RANK];
    for (int k = 0; k < UG_MAX_RANK; k++) z[k] = cimm(0);
    ug_kir_value_id_t w[3] = {inside, r, tile_at(L, fv, z, mask)};
    ug_kir_type_t tt = crd_type(L, rt->dtype, wide(L, w[0]) || wide(L, w[1]));
    return ew(L, UG_OP_WHERE, w, 3, &tt, NULL, 0, n->loc);
  }
  case UG_OP_TRILU: {
    /* x where column - row >= k (upper) or <= k (lower), else 0; k the
     * attribute or the scalar operand; immediates are never negative, so a
     * static k moves to the side where it adds */
    int R = rt->rank;
    for (int k = 0; k < xt->rank; k++) cx[k] = crd[k];
    bool upper = ug_node_attr_int(g, n, UG_ATTR_UPPER, 1) != 0;
    ug_value_id_t kv = n->num_operands > 1 ? ug_node_operand(g, n, 1) : UG_NONE;
    crd_t col = crd[R - 1], row = crd[R - 2];
    ug_kir_value_id_t keep;
    if (kv != UG_NONE) {
      crd_t z[UG_MAX_RANK];
      for (int k = 0; k < UG_MAX_RANK; k++) z[k] = cimm(0);
      crd_t kt = ctile(as_tile(L, ctile(tile_at(L, kv, z, UG_NONE)), UG_DTYPE_I64));
      keep = cop(L, upper ? UG_OP_GREATER_EQUAL : UG_OP_LESS_EQUAL, cop(L, UG_OP_SUB, col, row), kt).t;
    } else {
      int64_t kk = ug_node_attr_int(g, n, UG_ATTR_K, 0);
      crd_t lhs = kk < 0 ? cop(L, UG_OP_ADD, col, cimm(-kk)) : col, rhs = kk > 0 ? cop(L, UG_OP_ADD, row, cimm(kk)) : row;
      keep = cop(L, upper ? UG_OP_GREATER_EQUAL : UG_OP_LESS_EQUAL, lhs, rhs).t;
    }
    ug_kir_value_id_t r = tile_at(L, x, cx, mask);
    bool wd = wide(L, keep) || wide(L, r);
    ug_kir_type_t zt = crd_type(L, rt->dtype, false), tt = crd_type(L, rt->dtype, wd);
    ug_kir_value_id_t w[3] = {keep, r, ug_kir_splat(L->k, L->k->body, 0.0, &zt)};
    return ew(L, UG_OP_WHERE, w, 3, &tt, NULL, 0, n->loc);
  }
  default: UG_UNREACHABLE();
  }
}

/* Value v (a movement result or an outside value read through gathers) at
 * this program's elements of the space, broadcast as v broadcasts into it:
 * a [T] tile, or one element when v is the same along the columns; in the
 * compute dtype. */
static ug_kir_value_id_t mapped_tile(lower_t *L, ug_value_id_t v) {
  const ug_type_t *t = ug_value_type(L->g, v);
  int R = L->S->rank, off = R - t->rank;
  crd_t crd[UG_MAX_RANK];
  for (int k = 0; k < t->rank; k++) {
    int j = k + off;
    crd[k] = t->dims[k] == 1 ? cimm(0) : pin(L, space_coord(L, j), t->dims[k], L->S->dims[j]);
  }
  ug_kir_value_id_t r = tile_at(L, v, crd, UG_NONE);
  ug_dim_t size = wide(L, r) ? L->T : 1;
  if (!wide(L, r)) {
    ug_kir_type_t ot = ug_kir_type_tile(t->dtype, 1, &size);
    r = ug_kir_unary(L->k, L->k->body, UG_KIR_BROADCAST, r, &ot);
  }
  if (ug_dtype_compute(t->dtype) != t->dtype && !L->raw) r = cast(L, r, ug_dtype_compute(t->dtype), size);
  return r;
}

/* reduce of a row kernel's tile x (in its compute dtype) along the columns
 * with combine comb (add, max, min): where the tile is wider than the row,
 * the padding is replaced by the combine's identity first.  A [1] tile. */
static ug_kir_value_id_t reduce_row(lower_t *L, ug_kir_value_id_t x, ug_op_t comb, const char *loc) {
  ug_dtype_t acc = ug_kir_value_type(L->k, x)->t.dtype;
  ug_dim_t T = L->T, one = 1;
  ug_kir_type_t at = ug_kir_type_tile(acc, 1, &T), a1 = ug_kir_type_tile(acc, 1, &one);
  ug_dim_t cols = L->S->dims[L->S->rank - 1];
  if (L->T != cols) {
    if (L->mask == UG_NONE) {
      ug_kir_type_t it = ug_kir_type_tile(UG_DTYPE_I32, 1, &T), bt = ug_kir_type_tile(UG_DTYPE_BOOL, 1, &T);
      ug_kir_op_id_t o = ug_kir_begin(L->k, L->k->body, UG_KIR_IOTA, NULL);
      ug_kir_push_attr(L->k, o, ug_kir_attr_int(UG_KATTR_AXIS, 0));
      ug_kir_value_id_t io[2] = {ug_kir_push_result(L->k, o, &it, NULL), ug_kir_splat(L->k, L->k->body, (double)cols, &it)};
      L->mask = ew(L, UG_OP_LESS, io, 2, &bt, NULL, 0, NULL);
    }
    double id = comb == UG_OP_MAX ? -INFINITY : comb == UG_OP_MIN ? INFINITY : comb == UG_OP_MUL ? 1.0 : 0.0;
    ug_kir_value_id_t w[3] = {L->mask, x, ug_kir_splat(L->k, L->k->body, id, &at)};
    x = ew(L, UG_OP_WHERE, w, 3, &at, NULL, 0, NULL);
  }
  ug_kir_value_id_t r = ug_kir_reduce(L->k, L->k->body, comb, 0, x, &a1);
  L->k->ops.items[L->k->ops.len - 1].loc = loc;
  return r;
}

/* A reduction over the columns of a row kernel: masked to the row, in the
 * compute dtype (f32 for f16/bf16), the mean divided once. */
static ug_status_t lower_reduction(lower_t *L, const ug_node_t *n) {
  ug_value_id_t xv = ug_node_operand(L->g, n, 0), rv = ug_node_result(L->g, n, 0);
  if (!ug_dtype_is_float(ug_value_type(L->g, xv)->dtype)) return ug_kir_not_lowered(L->g, n, "integer reduction");
  bool sum = n->op == UG_OP_REDUCE_SUM || n->op == UG_OP_REDUCE_MEAN;
  ug_op_t comb = sum ? UG_OP_ADD : n->op == UG_OP_REDUCE_MAX ? UG_OP_MAX : UG_OP_MIN;
  ug_kir_value_id_t r = reduce_row(L, full_tile(L, xv), comb, n->loc);
  if (n->op == UG_OP_REDUCE_MEAN) {
    ug_kir_type_t a1 = *ug_kir_value_type(L->k, r);
    ug_kir_value_id_t d[2] = {r, ug_kir_splat(L->k, L->k->body, (double)L->S->dims[L->S->rank - 1], &a1)};
    r = ew(L, UG_OP_DIV, d, 2, &a1, NULL, 0, n->loc);
  }
  L->tile[rv] = r;
  return NULL;
}

/* Whether value v (a float result of the step) ends as f16/bf16: its dtype
 * is one, or every use is a cast to one inside the step and it is not
 * stored. */
static bool rounds_to_half(lower_t *L, ug_value_id_t v) {
  ug_graph_t *g = L->g;
  ug_dtype_t dt = ug_value_type(g, v)->dtype;
  if (dt == UG_DTYPE_F16 || dt == UG_DTYPE_BF16) return true;
  if (dt != UG_DTYPE_F32) return false;
  for (uint32_t a = 0; a < L->s->num_args; a++)
    if (L->s->arg_values[a] == v) return false;
  bool used = false;
  for (uint32_t i = 0; i < L->s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[L->s->nodes[i]];
    for (uint32_t j = 0; j < n->num_operands; j++) {
      if (ug_node_operand(g, n, j) != v) continue;
      ug_dtype_t to = ug_value_type(g, ug_node_result(g, n, 0))->dtype;
      if (n->op != UG_OP_CAST || (to != UG_DTYPE_F16 && to != UG_DTYPE_BF16)) return false;
      used = true;
    }
  }
  return used;
}

/* A row kernel's tile for rows of cols (static) elements in vectors of V:
 * enough warps (1..16, *out_warps) for UG_KIR_ROW_ROUNDS vectors a thread,
 * the row rounded up to the block's vector width. */
static int64_t row_tile(int64_t cols, int V, int *out_warps) {
  /* a row of whole 16-byte rounds of 1..16 warps, UG_KIR_ROW_ROUNDS or
   * fewer a thread: the row itself, no padding (768 columns of f16: 3
   * warps of one vector a lane, not 2 warps over a tile of 1024) */
  for (int r = UG_KIR_ROW_ROUNDS; r >= 1; r--) {
    int64_t w = cols % ((int64_t)32 * V * r) == 0 ? cols / ((int64_t)32 * V * r) : 0;
    if (w >= 1 && w <= 16) {
      *out_warps = (int)w;
      return cols;
    }
  }
  int64_t per_warp = (int64_t)32 * V * UG_KIR_ROW_ROUNDS;
  int warps = (int)((cols + per_warp - 1) / per_warp);
  if (warps < 1) warps = 1;
  if (warps > 16) warps = 16;
  int64_t q = (int64_t)32 * warps * V;
  *out_warps = warps;
  /* a short row of whole warp widths (128 columns of f16): the row itself,
   * every lane busy with narrower vectors, rather than a padded tile */
  if (warps == 1 && cols < q && cols % 32 == 0) return cols;
  return (cols + q - 1) / q * q;
}

/* Program ids to row coordinates and the tile's first column. */
static void program_coords(lower_t *L, ug_dim_t tiles) {
  ug_kir_kernel_t *k = L->k;
  ug_kir_region_id_t body = k->body;
  ug_kir_type_t ix = ug_kir_type_index();
  ug_kir_value_id_t pid = ug_kir_program_id(k, body, 0);
  ug_kir_value_id_t row = pid;
  L->col0 = ug_kir_imm(0);
  if (tiles != 1) {
    /* program pid is tile pid mod tiles of row pid / tiles (of the only row when c == 0) */
    ug_kir_value_id_t ct = pid;
    ug_kir_operand_t a[2] = {ug_kir_val(pid), ug_kir_imm(tiles)};
    if (L->c > 0) {
      ct = ug_kir_ew(k, body, UG_OP_MOD, a, 2, &ix);
      row = ug_kir_ew(k, body, UG_OP_DIV, a, 2, &ix);
    }
    ug_kir_operand_t b[2] = {ug_kir_val(ct), ug_kir_imm(L->T)};
    L->col0 = ug_kir_val(ug_kir_ew(k, body, UG_OP_MUL, b, 2, &ix));
  }
  /* row coordinates, innermost first */
  for (int j = L->c - 1; j >= 0; j--) {
    ug_dim_t d = L->S->dims[j];
    if (d == 1 || j == 0) {
      L->coord[j] = d == 1 ? ug_kir_imm(0) : ug_kir_val(row);
      continue;
    }
    ug_kir_operand_t a[2] = {ug_kir_val(row), ug_kir_imm(d)};
    L->coord[j] = ug_kir_val(ug_kir_ew(k, body, UG_OP_MOD, a, 2, &ix));
    row = ug_kir_ew(k, body, UG_OP_DIV, a, 2, &ix);
  }
}

/* Whether every axis of t in [c, rank) of the space is the space's extent,
 * or every one is 1 (a plain view; right-aligned). */
static bool plain_columns(lower_t *L, const ug_type_t *t, int c) {
  int R = L->S->rank, off = R - t->rank;
  bool full = true, ones = true;
  for (int j = c; j < R; j++) {
    ug_dim_t d = j - off >= 0 ? t->dims[j - off] : 1;
    full = full && d == L->S->dims[j];
    ones = ones && d == 1;
  }
  return full || ones;
}

/* The largest c whose columns [c, rank) of the space hold at least
 * UG_KIR_MIN_COLS elements (a symbolic extent counts as enough), else 0. */
static int long_columns(lower_t *L) {
  ug_dim_t cols = 1;
  for (int c = L->S->rank - 1; c >= 0; c--) {
    cols = ug_dim_mul(L->D, cols, L->S->dims[c]);
    if (!UG_DIM_IS_STATIC(cols) || cols >= UG_KIR_MIN_COLS) return c;
  }
  return 0;
}

/* Whether expand node n broadcasts (a result dim that its operand, right-aligned, does not have). */
static bool expand_broadcasts(ug_graph_t *g, const ug_node_t *n) {
  const ug_type_t *x = ug_value_type(g, ug_node_operand(g, n, 0)), *r = ug_value_type(g, ug_node_result(g, n, 0));
  int off = r->rank - x->rank;
  for (int j = 0; j < r->rank; j++)
    if (r->dims[j] != (j - off >= 0 ? x->dims[j - off] : 1)) return true;
  return false;
}

/* Decides how each operand from outside is read (kir_lower.h, "index
 * maps"): plain, as a view (its own type, or the type a reshape chain gives
 * it, expands being broadcasts), when every use reads it so; through
 * gathers otherwise (a non-view movement node reads it, or two uses view it
 * differently).  Fills L->mov, def, src, vt and mapped. */
static void plan_reads(lower_t *L, ug_arena_t *arena, uint32_t nin) {
  ug_graph_t *g = L->g;
  const ug_plan_step_t *s = L->s;
  /* per view-chain value: the type its chain views the outside value with */
  const ug_type_t **cvt = ug_arena_alloc(arena, sizeof(const ug_type_t *) * (g->values.len + 1));
  /* per view-chain value: whether an expand in its chain broadcast */
  bool *bc = ug_arena_alloc(arena, sizeof(bool) * (g->values.len + 1));
  memset(bc, 0, sizeof(bool) * (g->values.len + 1));
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    ug_value_id_t r = ug_node_result(g, n, 0);
    L->def[r] = s->nodes[i];
    if (!is_movement(n->op)) continue;
    L->mov[r] = true;
    ug_value_id_t x = ug_node_operand(g, n, 0);
    if (!is_view_op(n->op)) continue;
    ug_value_id_t base = L->param[x] != UG_NONE ? x : L->src[x];
    if (base == UG_NONE) continue;
    L->src[r] = base;
    /* a reshape of a broadcast value is no view of the buffer: its elements
     * repeat in an order no row-major view gives, so the buffer is gathered */
    bc[r] = n->op == UG_OP_EXPAND ? bc[x] || expand_broadcasts(g, n) : bc[x];
    if (n->op != UG_OP_EXPAND && bc[x]) L->mapped[base] = true;
    /* the view's type: the chain's last reshape (an expand only broadcasts) */
    cvt[r] = n->op == UG_OP_EXPAND ? (L->param[x] != UG_NONE ? ug_value_type(g, x) : cvt[x]) : ug_value_type(g, r);
  }
  /* each outside value: the one view its plain reads share, or mapped */
  const ug_type_t **want = ug_arena_alloc(arena, sizeof(const ug_type_t *) * (g->values.len + 1));
  for (size_t v = 0; v <= g->values.len; v++) want[v] = NULL;
  for (uint32_t i = 0; i < s->num_nodes + (s->num_args - nin); i++) {
    /* node operands, then (as plain reads) the stored results */
    const ug_node_t *n = i < s->num_nodes ? &g->nodes.items[s->nodes[i]] : NULL;
    uint32_t no = n ? n->num_operands : 1;
    for (uint32_t j = 0; j < no; j++) {
      ug_value_id_t v = n ? ug_node_operand(g, n, j) : s->arg_values[nin + (i - s->num_nodes)];
      if (v == UG_NONE) continue; /* an absent optional operand */
      ug_value_id_t base = L->param[v] != UG_NONE ? v : L->src[v];
      if (base == UG_NONE || L->mapped[base]) continue;
      bool chain = n && is_view_op(n->op) && L->src[ug_node_result(g, n, 0)] == base;
      if (chain) continue; /* a link of a view chain: its end decides */
      if (n && is_movement(n->op)) {
        L->mapped[base] = true;
        continue;
      }
      const ug_type_t *t = base == v ? ug_value_type(g, v) : cvt[v];
      bool same = want[base] && want[base]->rank == t->rank;
      for (int k = 0; same && k < t->rank; k++) same = want[base]->dims[k] == t->dims[k];
      if (want[base] && !same) L->mapped[base] = true;
      want[base] = t;
    }
  }
  for (uint32_t a = 0; a < nin; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (!L->mapped[v] && want[v]) L->vt[v] = want[v];
  }
}

/* What the index maps of pad, tile and trilu need from the graph: pads of
 * 2 x rank entries, a mode the map knows (reflect and wrap over static
 * extents), repeats of rank entries, trilu over at least 2 dims. */
static ug_status_t movement_check(ug_graph_t *g, const ug_node_t *n) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0));
  switch (n->op) {
  case UG_OP_PAD: {
    const ug_attr_t *pa = ug_node_attr(g, n, UG_ATTR_PADS);
    const char *mode = ug_node_attr_str(g, n, UG_ATTR_MODE, "constant");
    if (!pa || pa->u.ints.n != 2u * (uint32_t)xt->rank) return ug_kir_not_lowered(g, n, "pads of other than 2 x rank entries");
    bool cyc = strcmp(mode, "reflect") == 0 || strcmp(mode, "wrap") == 0;
    if (!cyc && strcmp(mode, "constant") != 0 && strcmp(mode, "edge") != 0) return ug_kir_not_lowered(g, n, "a pad mode");
    for (int k = 0; k < xt->rank; k++)
      if (!UG_DIM_IS_STATIC(xt->dims[k]) && (cyc || pa->u.ints.v[k] || pa->u.ints.v[xt->rank + k]))
        return ug_kir_not_lowered(g, n, "a pad along a symbolic axis");
    return NULL;
  }
  case UG_OP_TILE: {
    const ug_attr_t *ra = ug_node_attr(g, n, UG_ATTR_REPEATS);
    if (!ra || ra->u.ints.n != (uint32_t)xt->rank) return ug_kir_not_lowered(g, n, "repeats of other than rank entries");
    return NULL;
  }
  case UG_OP_TRILU: return xt->rank < 2 ? ug_kir_not_lowered(g, n, "trilu of rank below 2") : NULL;
  case UG_OP_GATHER_ND: {
    const ug_type_t *it = ug_value_type(g, ug_node_operand(g, n, 1));
    int64_t b = ug_node_attr_int(g, n, UG_ATTR_BATCH_DIMS, 0);
    ug_dim_t kq = it->rank ? it->dims[it->rank - 1] : 0;
    if (it->rank < 1 || !UG_DIM_IS_STATIC(kq) || b < 0 || b >= it->rank || kq < 1 || b + kq > xt->rank)
      return ug_kir_not_lowered(g, n, "gather_nd without a static index depth inside the data's rank");
    return NULL;
  }
  default: return NULL;
  }
}

/* The step's nodes over rows x columns (kir_lower.h). */
/* L's per-graph-value maps, nv entries each, all unset. */
static void value_maps(lower_t *L, ug_arena_t *arena, size_t nv) {
  L->param = ug_arena_alloc(arena, sizeof(ug_kir_value_id_t) * nv);
  L->src = ug_arena_alloc(arena, sizeof(ug_kir_value_id_t) * nv);
  L->def = ug_arena_alloc(arena, sizeof(ug_node_id_t) * nv);
  L->tile = ug_arena_alloc(arena, sizeof(ug_kir_value_id_t) * nv);
  L->bcast = ug_arena_alloc(arena, sizeof(ug_kir_value_id_t) * nv);
  L->vt = ug_arena_alloc(arena, sizeof(const ug_type_t *) * nv);
  L->mapped = ug_arena_alloc(arena, nv);
  L->mov = ug_arena_alloc(arena, nv);
  for (size_t v = 0; v < nv; v++) {
    L->param[v] = L->src[v] = L->tile[v] = L->bcast[v] = UG_NONE;
    L->def[v] = UG_NONE;
    L->vt[v] = NULL;
    L->mapped[v] = L->mov[v] = false;
  }
  for (int j = 0; j <= UG_MAX_RANK; j++) L->ccol[j] = UG_NONE;
}

static ug_status_t lower_nodes(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s, bool short_rows,
                               ug_kir_kernel_t **out) {
  ug_graph_t *g = p->g;
  const ug_node_t *first = NULL;
  lower_t L = {.g = g, .D = km->dims, .s = s, .mask = UG_NONE};
  bool row = false;
  uint32_t nin = 0; /* args read from outside: the leading ones */
  int bytes = 1;
  /* a lone movement node is a kernel of one index map: its result is read
   * through the map, as in a fused kernel, and stored */
  bool lone_mov = s->num_nodes == 1 && is_movement(g->nodes.items[s->nodes[0]].op);
  bool fused = s->num_nodes > 1 || lone_mov;
  L.raw = lone_mov;
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    ug_category_t cat = ug_op_info(n->op)->category;
    if (is_movement(n->op) && fused) {
      if (n->num_results != 1) return ug_kir_not_lowered(g, n, "arity");
      for (uint32_t j = 0; j < n->num_operands; j++)
        if (ug_node_operand(g, n, j) == UG_NONE && !optional_operand(n->op, j))
          return ug_kir_not_lowered(g, n, "absent optional operand");
      UG_RETURN_IF_ERROR(movement_check(g, n));
      continue;
    }
    if (!first) first = n;
    if (is_reduction(n->op) && s->num_nodes > 1) row = true;
    else if (cat != UG_CAT_EW) return ug_kir_not_lowered(g, n, "op class");
    if (n->num_results != 1 || n->num_operands > 3) return ug_kir_not_lowered(g, n, "arity");
    for (uint32_t j = 0; j < n->num_operands; j++)
      if (ug_node_operand(g, n, j) == UG_NONE) return ug_kir_not_lowered(g, n, "absent optional operand");
  }
  if (lone_mov) first = &g->nodes.items[s->nodes[0]];
  if (!first) return ug_kir_not_lowered(g, &g->nodes.items[s->node], "movement nodes alone");
  if (s->num_scratch) return ug_kir_not_lowered(g, first, "scratch buffers");
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    ug_node_id_t d = g->values.items[v].def;
    bool inside = false;
    for (uint32_t i = 0; i < s->num_nodes && d != UG_NONE; i++) inside = inside || s->nodes[i] == d;
    if (inside) break;
    if (nin == 64) return ug_kir_not_lowered(g, first, "more than 64 operands");
    nin++;
  }
  /* the space: the widest result, or what the reductions read (movement
   * results are read where they are used, not computed) */
  L.S = ug_value_type(g, ug_node_result(g, first, 0));
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    if (is_movement(n->op) && fused) continue;
    if (is_reduction(n->op)) {
      L.S = ug_value_type(g, ug_node_operand(g, n, 0));
      break;
    }
    const ug_type_t *t = ug_value_type(g, ug_node_result(g, n, 0));
    if (t->rank > 0 && t->dims[t->rank - 1] != 1) L.S = t;
  }
  size_t nv = g->values.len + 1;
  value_maps(&L, km->arena, nv);
  /* params are made below; mark the outside values for plan_reads */
  for (uint32_t a = 0; a < nin; a++) L.param[s->arg_values[a]] = 0;
  plan_reads(&L, km->arena, nin);
  const ug_type_t *ext[64];
  uint32_t next = 0;
  bool any_mapped = false;
  for (uint32_t a = 0; a < nin; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (L.mapped[v]) any_mapped = true;
    else ext[next++] = vtype_of(&L, v);
  }
  for (uint32_t i = 0; i < s->num_nodes; i++) any_mapped = any_mapped || L.mov[ug_node_result(g, &g->nodes.items[s->nodes[i]], 0)];
  if (row) {
    L.c = L.S->rank - 1;
  } else {
    bool ok = ug_kir_ew_columns(L.D, L.S, ext, next, &L.c);
    if (!ok && !short_rows && !fused) return ug_kir_not_lowered(g, first, "broadcast with short rows");
    /* a fused kernel takes short broadcast rows through gathers: rows of at
     * least UG_KIR_MIN_COLS columns, the operands that broadcast within
     * them read by index maps */
    if (!ok && !short_rows) L.c = long_columns(&L);
    else if (ok && any_mapped && long_columns(&L) > L.c) L.c = long_columns(&L);
    for (uint32_t a = 0; a < nin; a++) {
      ug_value_id_t v = s->arg_values[a];
      if (!L.mapped[v] && !short_rows && fused && !plain_columns(&L, vtype_of(&L, v), L.c)) L.mapped[v] = true;
    }
  }
  /* vectors of 16 bytes of the widest dtype that memory holds whole rows of */
  int any = 1;
  for (uint32_t a = 0; a < s->num_args; a++) {
    if (L.mapped[s->arg_values[a]]) continue;
    ug_dim_t shp[UG_MAX_RANK + 1];
    int b = ug_dtype_bits(ug_value_type(g, s->arg_values[a])->dtype) / 8;
    if (b > any) any = b;
    if (view_shape(&L, s->arg_values[a], shp) != 1 && b > bytes) bytes = b;
  }
  if (bytes == 1 && any > 1) bytes = any;
  int V = 16 / bytes;
  if (V < 1) V = 1;
  int warps = UG_KIR_EW_WARPS;
  ug_dim_t tiles;
  if (row) {
    int R = L.S->rank;
    ug_dim_t cols = R ? L.S->dims[R - 1] : 1;
    if (R == 0 || !UG_DIM_IS_STATIC(cols)) return ug_kir_not_lowered(g, first, "row kernel with a symbolic row");
    L.T = row_tile(cols, V, &warps);
    tiles = 1;
  } else {
    /* three or more whole operands: half the rounds, so they can all be
     * loaded up front (below) */
    int full = 0;
    for (uint32_t a = 0; a < nin; a++) {
      ug_dim_t shp[UG_MAX_RANK + 1];
      full += L.mapped[s->arg_values[a]] || view_shape(&L, s->arg_values[a], shp) != 1;
    }
    int rounds = full >= 3 ? UG_KIR_EW_ROUNDS / 2 : UG_KIR_EW_ROUNDS;
    /* a lone index map computes coordinates per element: fewer rounds of
     * narrow dtypes, so a thread holds at most 16 of them */
    bool gathers = false;
    for (uint32_t a = 0; a < nin; a++) gathers = gathers || L.mapped[s->arg_values[a]];
    while (lone_mov && gathers && rounds > 1 && (int64_t)32 * warps * V * rounds > UG_KIR_MOV_TILE) rounds /= 2;
    L.T = (int64_t)32 * warps * V * rounds;
    ug_dim_t cols = 1;
    for (int j = L.c; j < L.S->rank; j++) cols = ug_dim_mul(L.D, cols, L.S->dims[j]);
    tiles = ug_dim_ceildiv(L.D, cols, L.T);
  }
  L.row = row;

  ug_kir_kernel_t *k = ug_kir_kernel_create(km, s->kernel_name);
  L.k = k;
  k->warps = (uint32_t)warps;
  ug_kir_value_id_t *params = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * (s->num_args + 1));
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    ug_kir_type_t gt;
    if (a < nin && L.mapped[v]) {
      /* read by flat offsets: the value's own shape */
      const ug_type_t *t = ug_value_type(g, v);
      ug_dim_t one = 1;
      gt = ug_kir_type_global(t->dtype, t->rank ? t->rank : 1, t->rank ? t->dims : &one);
    } else {
      ug_dim_t shp[UG_MAX_RANK + 1];
      view_shape(&L, v, shp);
      gt = ug_kir_type_global(ug_value_type(g, v)->dtype, L.c + 1, shp);
    }
    params[a] = ug_kir_add_param(k, ug_arena_printf(km->arena, "a%u", a), &gt);
  }
  ug_dim_t rows = 1;
  for (int j = 0; j < L.c; j++) rows = ug_dim_mul(L.D, rows, L.S->dims[j]);
  ug_dim_t grid = ug_dim_mul(L.D, rows, tiles);
  ug_kir_set_grid(k, 1, &grid);
  program_coords(&L, tiles);

  for (uint32_t a = 0; a < nin; a++) {
    ug_value_id_t v = s->arg_values[a];
    L.param[v] = params[a];
    if (L.mapped[v]) continue;
    ug_dim_t shp[UG_MAX_RANK + 1];
    ug_dim_t tc = view_shape(&L, v, shp);
    if (tc != 1 && tc != view_shape(&L, ug_node_result(g, first, 0), shp) && !row)
      return ug_kir_not_lowered(g, first, "column extent neither the result's nor 1");
  }
  /* Operands from outside are loaded up front when their tiles fit in
   * UG_KIR_PRELOAD_REGS registers a thread, so every load's latency
   * overlaps the first; otherwise (and a row kernel's operands shared by
   * all rows) each at its first use.  Operands read through index maps
   * wait for their use. */
  int64_t regs = 0;
  for (uint32_t a = 0; a < nin; a++) {
    ug_dim_t shp[UG_MAX_RANK + 1];
    if (L.mapped[s->arg_values[a]]) continue;
    regs += view_shape(&L, s->arg_values[a], shp) == 1 ? 1 : L.T / (32 * warps);
  }
  for (uint32_t a = 0; a < nin && regs <= UG_KIR_PRELOAD_REGS; a++) {
    /* in a row kernel, operands the same for every row (a norm's weight
     * and bias) are cache hits, so they wait for their use */
    ug_dim_t shp[UG_MAX_RANK + 1];
    if (L.mapped[s->arg_values[a]]) continue;
    view_shape(&L, s->arg_values[a], shp);
    bool per_row = false;
    for (int j = 0; j < L.c; j++) per_row = per_row || shp[j] != 1;
    if (!row || per_row) value_tile(&L, s->arg_values[a]);
  }
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    if (L.mov[ug_node_result(g, n, 0)]) continue; /* read where it is used */
    if (is_reduction(n->op)) {
      UG_RETURN_IF_ERROR(lower_reduction(&L, n));
      continue;
    }
    ug_value_id_t rv = ug_node_result(g, n, 0);
    const ug_type_t *rt = ug_value_type(g, rv);
    bool per_row = row && rt->dims[rt->rank - 1] == 1 && L.S->dims[L.S->rank - 1] != 1;
    ug_dim_t size = per_row ? 1 : L.T;
    /* a cast to f16/bf16 rounds there, then computes on in f32 */
    bool round = n->op == UG_OP_CAST && ug_dtype_compute(rt->dtype) != rt->dtype;
    ug_kir_type_t tt = ug_kir_type_tile(round ? rt->dtype : ug_dtype_compute(rt->dtype), 1, &size);
    ug_kir_value_id_t xs[3];
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (value_tile(&L, v) == UG_NONE) return ug_kir_not_lowered(g, n, "an operand without a tile");
      xs[j] = per_row ? L.tile[v] : full_tile(&L, v);
      if (per_row && is_full(&L, xs[j])) return ug_kir_not_lowered(g, n, "a per-row result of a full operand");
    }
    if (n->op == UG_OP_DIV && !per_row && !is_full(&L, L.tile[ug_node_operand(g, n, 1)]) && rounds_to_half(&L, rv)) {
      /* x / s for a per-row s whose quotient ends as f16/bf16: x * (1/s),
       * one division a row instead of one an element (at most 1 ulp of
       * f32 apart, below the rounding that follows) */
      ug_value_id_t d = ug_node_operand(g, n, 1);
      ug_kir_value_id_t rs = L.tile[d];
      ug_kir_type_t st = *ug_kir_value_type(L.k, rs);
      rs = ew(&L, UG_OP_RECIPROCAL, &rs, 1, &st, NULL, 0, n->loc);
      ug_dim_t T = L.T;
      ug_kir_type_t ft = ug_kir_type_tile(st.t.dtype, 1, &T);
      ug_kir_value_id_t m[2] = {xs[0], ug_kir_unary(L.k, L.k->body, UG_KIR_BROADCAST, rs, &ft)};
      L.tile[rv] = ew(&L, UG_OP_MUL, m, 2, &tt, NULL, 0, n->loc);
      continue;
    }
    L.tile[rv] = ew(&L, n->op, xs, n->num_operands, &tt, ug_node_attrs(g, n), n->num_attrs, n->loc);
    if (round) L.tile[rv] = cast(&L, L.tile[rv], ug_dtype_compute(rt->dtype), size);
  }
  /* stored results (a movement result used outside is computed here too) */
  for (uint32_t a = nin; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (value_tile(&L, v) == UG_NONE) return ug_kir_not_lowered(g, first, "a result without a tile");
    ug_kir_operand_t idx[UG_MAX_RANK + 1];
    view_index(&L, v, idx);
    ug_dim_t shp[UG_MAX_RANK + 1];
    ug_kir_value_id_t t = view_shape(&L, v, shp) != 1 ? full_tile(&L, v) : L.tile[v];
    ug_dtype_t dt = ug_value_type(g, v)->dtype;
    if (ug_kir_value_type(k, t)->t.dtype != dt) t = cast(&L, t, dt, ug_kir_value_type(k, t)->t.dims[0]);
    ug_kir_store(k, k->body, params[a], idx, (uint32_t)L.c + 1, t, UG_NONE);
  }
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* ---- single row nodes ----
 * A lone reduce_sum/mean/max/min over a trailing run of axes, softmax or
 * log_softmax over the last axis, layer_norm or rms_norm over trailing
 * axes: a row kernel as for a fused one, over the space [rows..., cols]
 * (the reduced or normalized axes flattened into the columns, which must
 * be static), expanded into tile math in f32.  Each value is viewed over
 * that space: the operand as [rows..., cols], a reduction's result as
 * [rows..., 1] (whatever keepdims: its buffer is the rows), a norm's scale
 * and bias as [cols] or, of one element, [1]. */

static bool is_row_op(ug_op_t op) {
  return is_reduction(op) || op == UG_OP_REDUCE_PROD || op == UG_OP_SOFTMAX || op == UG_OP_LOG_SOFTMAX || op == UG_OP_LAYER_NORM ||
         op == UG_OP_RMS_NORM || op == UG_OP_INSTANCE_NORM;
}

static const ug_type_t *new_type(ug_arena_t *a, ug_dtype_t dt, int rank, const ug_dim_t *dims) {
  ug_type_t *t = ug_arena_alloc(a, sizeof *t);
  memset(t, 0, sizeof *t);
  t->dtype = dt;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  return t;
}

/* e op f on tiles of the row kernel, f broadcast to e's size when it is one element. */
static ug_kir_value_id_t row_ew(lower_t *L, ug_op_t op, ug_kir_value_id_t e, ug_kir_value_id_t f, const char *loc) {
  ug_kir_type_t et = *ug_kir_value_type(L->k, e);
  if (f != UG_NONE && ug_kir_value_type(L->k, f)->t.dims[0] != et.t.dims[0])
    f = ug_kir_unary(L->k, L->k->body, UG_KIR_BROADCAST, f, &et);
  ug_kir_value_id_t xs[2] = {e, f};
  return ew(L, op, xs, f == UG_NONE ? 1 : 2, &et, NULL, 0, loc);
}

/* A [1] f32 tile of value v. */
static ug_kir_value_id_t row_const(lower_t *L, double v) {
  ug_dim_t one = 1;
  ug_kir_type_t t = ug_kir_type_tile(UG_DTYPE_F32, 1, &one);
  return ug_kir_splat(L->k, L->k->body, v, &t);
}

static ug_status_t lower_row_node(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                  ug_kir_kernel_t **out) {
  ug_graph_t *g = p->g;
  const ug_node_t *n = &g->nodes.items[s->node];
  lower_t L = {.g = g, .D = km->dims, .s = s, .mask = UG_NONE, .row = true};
  if (n->num_results != 1 || ug_node_operand(g, n, 0) == UG_NONE) return ug_kir_not_lowered(g, n, "arity");
  if (s->num_scratch) return ug_kir_not_lowered(g, n, "scratch buffers");
  ug_value_id_t xv = ug_node_operand(g, n, 0), rv = ug_node_result(g, n, 0);
  const ug_type_t *xt = ug_value_type(g, xv), *rt = ug_value_type(g, rv);
  ug_dtype_t dt = xt->dtype;
  if ((dt != UG_DTYPE_F32 && dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16) || rt->dtype != dt)
    return ug_kir_not_lowered(g, n, "a row kernel of a dtype other than f32, f16, bf16");
  int R = xt->rank;
  if (R == 0) return ug_kir_not_lowered(g, n, "a rank-0 operand");
  /* the first reduced (normalized) axis a: the columns are [a, R) */
  int a;
  bool reduce = is_reduction(n->op) || n->op == UG_OP_REDUCE_PROD;
  if (reduce) {
    bool red[UG_MAX_RANK];
    a = ug_kir_reduced_axes(g, n, red);
    if (a == -2) return ug_kir_not_lowered(g, n, "reduction axis out of range");
    if (a == -1) return ug_kir_not_lowered(g, n, "reduced axes that are not a trailing run");
    if (a == R) return ug_kir_not_lowered(g, n, "no reduced axis");
  } else if (n->op == UG_OP_INSTANCE_NORM) {
    /* each image's channel normalized over its spatial dims: a row */
    if (R < 3) return ug_kir_not_lowered(g, n, "instance_norm without spatial dims");
    a = 2;
  } else {
    int64_t v = ug_node_attr_int(g, n, UG_ATTR_AXIS, -1);
    a = (int)(v < 0 ? v + R : v);
    if (a < 0 || a >= R) return ug_kir_not_lowered(g, n, "axis out of range");
    if ((n->op == UG_OP_SOFTMAX || n->op == UG_OP_LOG_SOFTMAX) && a != R - 1)
      return ug_kir_not_lowered(g, n, "softmax over an axis before the last");
  }
  ug_dim_t cols = 1;
  for (int j = a; j < R; j++) cols = ug_dim_mul(L.D, cols, xt->dims[j]);
  if (!UG_DIM_IS_STATIC(cols)) return ug_kir_not_lowered(g, n, "row kernel with a symbolic row");
  if (cols == 0) return ug_kir_not_lowered(g, n, "row kernel with an empty row");
  if (cols > UG_KIR_MAX_ROW) return ug_kir_not_lowered(g, n, "row longer than the register budget");
  /* the space and every value's view of it */
  ug_dim_t sd[UG_MAX_RANK + 1];
  for (int j = 0; j < a; j++) sd[j] = xt->dims[j];
  sd[a] = cols;
  L.S = new_type(km->arena, dt, a + 1, sd);
  L.c = a;
  size_t nv = g->values.len + 1;
  value_maps(&L, km->arena, nv);
  L.vt[xv] = L.S;
  sd[a] = 1;
  L.vt[rv] = reduce ? new_type(km->arena, dt, a + 1, sd) : L.S;
  ug_value_id_t scale = UG_NONE, bias = UG_NONE;
  for (uint32_t i = 1; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v == UG_NONE) continue;
    if (i == 1) scale = v;
    else bias = v;
    const ug_type_t *t = ug_value_type(g, v);
    if (t->dtype != dt) return ug_kir_not_lowered(g, n, "a norm operand of another dtype");
    if (v == xv || v == rv) return ug_kir_not_lowered(g, n, "a norm operand that is its input");
    if (n->op == UG_OP_INSTANCE_NORM) {
      /* a channel's scale and bias: per row, [C, 1] over [N, C, cols] */
      if (t->rank != 1 || t->dims[0] != xt->dims[1]) return ug_kir_not_lowered(g, n, "an instance_norm operand other than [C]");
      ug_dim_t d[2] = {t->dims[0], 1};
      L.vt[v] = new_type(km->arena, dt, 2, d);
      continue;
    }
    /* [cols] when it has the normalized dims (leading 1s aside), [1] when it
     * is one element; one that broadcasts within the row is not taken */
    int lead = 0;
    while (lead < t->rank && t->dims[lead] == 1) lead++;
    int m = t->rank - lead;
    bool whole = m <= R - a;
    ug_dim_t tn = 1;
    for (int j = lead; whole && j < t->rank; j++) {
      whole = t->dims[j] == xt->dims[R - t->rank + j];
      tn = ug_dim_mul(L.D, tn, t->dims[j]);
    }
    if (m > 0 && !(whole && tn == cols)) return ug_kir_not_lowered(g, n, "a norm operand that broadcasts within the row");
    ug_dim_t d = m > 0 ? cols : 1;
    L.vt[v] = new_type(km->arena, dt, 1, &d);
  }
  for (uint32_t i = 0; i < s->num_args; i++)
    if (s->arg_values[i] == UG_NONE || !L.vt[s->arg_values[i]])
      return ug_kir_not_lowered(g, n, "an argument outside the row view");
  int V = 16 / (ug_dtype_bits(dt) / 8), warps;
  L.T = row_tile(cols, V, &warps);

  ug_kir_kernel_t *k = ug_kir_kernel_create(km, s->kernel_name);
  L.k = k;
  k->warps = (uint32_t)warps;
  ug_kir_value_id_t *params = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * (s->num_args + 1));
  for (uint32_t i = 0; i < s->num_args; i++) {
    ug_value_id_t v = s->arg_values[i];
    ug_dim_t shp[UG_MAX_RANK + 1];
    view_shape(&L, v, shp);
    ug_kir_type_t gt = ug_kir_type_global(ug_value_type(g, v)->dtype, L.c + 1, shp);
    params[i] = ug_kir_add_param(k, ug_arena_printf(km->arena, "a%u", i), &gt);
    if (v != rv) L.param[v] = params[i];
  }
  ug_dim_t rows = 1;
  for (int j = 0; j < a; j++) rows = ug_dim_mul(L.D, rows, xt->dims[j]);
  ug_kir_set_grid(k, 1, &rows);
  program_coords(&L, 1);

  ug_kir_value_id_t x = full_tile(&L, xv), y; /* rows of one element: broadcast */
  switch (n->op) {
  case UG_OP_REDUCE_SUM: case UG_OP_REDUCE_MEAN: case UG_OP_REDUCE_MAX: case UG_OP_REDUCE_MIN: case UG_OP_REDUCE_PROD: {
    ug_op_t comb = n->op == UG_OP_REDUCE_MAX ? UG_OP_MAX : n->op == UG_OP_REDUCE_MIN ? UG_OP_MIN
                 : n->op == UG_OP_REDUCE_PROD ? UG_OP_MUL : UG_OP_ADD;
    y = reduce_row(&L, x, comb, n->loc);
    if (n->op == UG_OP_REDUCE_MEAN) y = row_ew(&L, UG_OP_DIV, y, row_const(&L, (double)cols), n->loc);
    break;
  }
  case UG_OP_SOFTMAX: case UG_OP_LOG_SOFTMAX: {
    /* numerically stable: exp(x - max); softmax multiplies by 1 / sum,
     * log_softmax subtracts max + log(sum), as the per-node kernels do */
    ug_kir_value_id_t m = reduce_row(&L, x, UG_OP_MAX, n->loc);
    ug_kir_value_id_t e = row_ew(&L, UG_OP_EXP, row_ew(&L, UG_OP_SUB, x, m, n->loc), UG_NONE, n->loc);
    ug_kir_value_id_t sum = reduce_row(&L, e, UG_OP_ADD, n->loc);
    if (n->op == UG_OP_SOFTMAX) {
      y = row_ew(&L, UG_OP_MUL, e, row_ew(&L, UG_OP_RECIPROCAL, sum, UG_NONE, n->loc), n->loc);
    } else {
      ug_kir_value_id_t f = row_ew(&L, UG_OP_ADD, m, row_ew(&L, UG_OP_LOG, sum, UG_NONE, n->loc), n->loc);
      y = row_ew(&L, UG_OP_SUB, x, f, n->loc);
    }
    break;
  }
  default: { /* layer_norm, instance_norm, rms_norm: (x - mean) / sqrt(var + epsilon) * scale + bias */
    ug_kir_value_id_t nf = row_const(&L, (double)cols), d = x;
    if (n->op == UG_OP_LAYER_NORM || n->op == UG_OP_INSTANCE_NORM) {
      ug_kir_value_id_t mean = row_ew(&L, UG_OP_DIV, reduce_row(&L, x, UG_OP_ADD, n->loc), nf, n->loc);
      d = row_ew(&L, UG_OP_SUB, x, mean, n->loc);
    }
    ug_kir_value_id_t var = reduce_row(&L, row_ew(&L, UG_OP_MUL, d, d, n->loc), UG_OP_ADD, n->loc);
    var = row_ew(&L, UG_OP_DIV, var, nf, n->loc);
    double eps = ug_node_attr_float(g, n, UG_ATTR_EPSILON, 1e-5);
    ug_kir_value_id_t sd2 = row_ew(&L, UG_OP_ADD, var, row_const(&L, eps), n->loc);
    ug_kir_value_id_t sq = row_ew(&L, UG_OP_SQRT, sd2, UG_NONE, n->loc);
    y = row_ew(&L, UG_OP_MUL, d, row_ew(&L, UG_OP_RECIPROCAL, sq, UG_NONE, n->loc), n->loc);
    if (scale != UG_NONE) y = row_ew(&L, UG_OP_MUL, y, full_tile(&L, scale), n->loc);
    if (bias != UG_NONE) y = row_ew(&L, UG_OP_ADD, y, full_tile(&L, bias), n->loc);
    break;
  }
  }
  for (uint32_t i = 0; i < s->num_args; i++) {
    if (s->arg_values[i] != rv) continue;
    ug_kir_operand_t idx[UG_MAX_RANK + 1];
    view_index(&L, rv, idx);
    ug_kir_value_id_t t = y;
    if (dt != ug_kir_value_type(k, t)->t.dtype) t = cast(&L, t, dt, ug_kir_value_type(k, t)->t.dims[0]);
    ug_kir_store(k, k->body, params[i], idx, (uint32_t)L.c + 1, t, UG_NONE);
  }
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* Whether the dtypes of node n's values are ones the kernel IR moves and
 * computes (not block-quantized, not fp8). */
static bool kir_dtypes(ug_graph_t *g, const ug_node_t *n) {
  for (uint32_t i = 0; i < n->num_operands + n->num_results; i++) {
    ug_value_id_t v = i < n->num_operands ? ug_node_operand(g, n, i) : ug_node_result(g, n, i - n->num_operands);
    if (v == UG_NONE) continue;
    ug_dtype_t dt = ug_value_type(g, v)->dtype;
    if (ug_dtype_is_quant(dt) || dt == UG_DTYPE_F8E4M3 || dt == UG_DTYPE_F8E5M2 || ug_dtype_bits(dt) % 8 != 0)
      return false;
  }
  return true;
}

ug_status_t ug_kir_lower_step(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                              ug_kir_kernel_t **out) {
  *out = NULL;
  if (s->kind != UG_STEP_NODE) return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "not lowered to kernel IR: copy step");
  ug_graph_t *g = p->g;
  const ug_node_t *n = &g->nodes.items[s->node];
  if (ug_op_info(n->op)->category == UG_CAT_CON)
    return ug_kir_not_lowered(g, n, "a contraction (its epilogue: ug_kir_lower_epilogue)");
  if (s->num_nodes > 1 || ug_op_info(n->op)->category == UG_CAT_EW) return lower_nodes(km, p, s, false, out);
  if (!kir_dtypes(g, n)) return ug_kir_not_lowered(g, n, "dtype");
  if (is_row_op(n->op)) {
    /* a reduction over axes that are not a trailing run and a softmax over
     * an axis before the last are window kernels */
    bool red[UG_MAX_RANK];
    int R = ug_value_type(g, ug_node_operand(g, n, 0))->rank;
    int64_t ax = ug_node_attr_int(g, n, UG_ATTR_AXIS, -1);
    bool window = ug_kir_window_op(n->op) ? ug_kir_reduced_axes(g, n, red) == -1
                  : (n->op == UG_OP_SOFTMAX || n->op == UG_OP_LOG_SOFTMAX) && (ax < 0 ? ax + R : ax) < R - 1;
    return window ? ug_kir_lower_window(km, p, s, out) : lower_row_node(km, p, s, out);
  }
  if (ug_kir_window_op(n->op)) return ug_kir_lower_window(km, p, s, out);
  /* a lone transpose that moves the last axis reads every element by a
   * gather (a 2-D tile through shared memory is what it needs; the kernel
   * IR's emitters do not stage tiles yet): the per-node kernels keep it */
  if (n->op == UG_OP_TRANSPOSE) {
    const ug_attr_t *pa = ug_node_attr(g, n, UG_ATTR_PERM);
    int r = ug_value_type(g, ug_node_result(g, n, 0))->rank;
    int last = r == 0 ? 0 : pa && pa->u.ints.n ? (int)pa->u.ints.v[r - 1] : 0;
    if (r > 1 && last != r - 1) return ug_kir_not_lowered(g, n, "a lone transpose that moves the last axis");
  }
  /* reshape, squeeze, unsqueeze alone stay byte copies (or free aliases) */
  if (is_movement(n->op) && (n->op == UG_OP_EXPAND || !is_view_op(n->op))) return lower_nodes(km, p, s, false, out);
  return ug_kir_not_lowered(g, n, "op class");
}

ug_status_t ug_kir_lower_epilogue(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                  ug_kir_kernel_t **out, const ug_value_id_t **out_values, uint32_t *out_n) {
  *out = NULL;
  ug_graph_t *g = p->g;
  if (s->kind != UG_STEP_NODE || s->num_nodes < 2)
    return ug_status_make(UG_ERR_INTERNAL, NULL, "not a fused kernel with an epilogue");
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  ug_value_id_t hr = ug_node_result(g, head, 0);
  /* the tail's operands from outside it (the head's result among them),
   * first use first, then the stored results the tail makes */
  size_t cap = s->num_args + 2;
  for (uint32_t i = 1; i < s->num_nodes; i++) cap += g->nodes.items[s->nodes[i]].num_operands;
  ug_value_id_t *vals = ug_arena_alloc(km->arena, sizeof(ug_value_id_t) * cap);
  uint32_t n = 0;
  for (uint32_t i = 1; i < s->num_nodes; i++) {
    const ug_node_t *m = &g->nodes.items[s->nodes[i]];
    for (uint32_t j = 0; j < m->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, m, j);
      ug_node_id_t d = g->values.items[v].def;
      bool inside = false, seen = false;
      for (uint32_t q = 1; q < s->num_nodes && d != UG_NONE; q++) inside = inside || s->nodes[q] == d;
      for (uint32_t a = 0; a < n; a++) seen = seen || vals[a] == v;
      if (!inside && !seen) vals[n++] = v;
    }
  }
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (v == UG_NONE || v == hr) continue;
    ug_node_id_t d = g->values.items[v].def;
    bool tail = false;
    for (uint32_t q = 1; q < s->num_nodes && d != UG_NONE; q++) tail = tail || s->nodes[q] == d;
    if (tail) vals[n++] = v;
  }
  ug_plan_step_t t = {.kind = UG_STEP_NODE, .node = s->nodes[1], .nodes = s->nodes + 1,
                      .num_nodes = s->num_nodes - 1, .arg_values = vals, .num_args = n};
  t.kernel_name = ug_arena_printf(km->arena, "%s_epilogue", s->kernel_name);
  *out_values = vals;
  *out_n = n;
  return lower_nodes(km, p, &t, true, out);
}
