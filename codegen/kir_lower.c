/* Plan steps to kernel-IR kernels; see kir_lower.h. */
#include "codegen/kir_lower.h"

#include <math.h>
#include <stdio.h>


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
  ug_kir_operand_t coord[UG_MAX_RANK]; /* this program's row coordinates */
  ug_kir_operand_t col0; /* first column of this program's tile */
  ug_kir_value_id_t *tile;  /* per graph value: its tile, UG_NONE */
  ug_kir_value_id_t *bcast; /* per graph value: its tile broadcast to [T] */
  ug_kir_value_id_t mask;   /* row kernels with padding: iota < columns */
  ug_kir_value_id_t *param; /* per graph value read from outside: its parameter */
} lower_t;

static ug_status_t not_lowered(ug_graph_t *g, const ug_node_t *n, const char *why) {
  return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not lowered to kernel IR: %s", why);
}

static bool is_reduction(ug_op_t op) {
  return op == UG_OP_REDUCE_SUM || op == UG_OP_REDUCE_MEAN || op == UG_OP_REDUCE_MAX || op == UG_OP_REDUCE_MIN;
}

/* Value v's extents over the kernel's view: [row dims (1 where v broadcasts or
 * lacks the axis), column extent]; returns the column extent. */
static ug_dim_t view_shape(lower_t *L, ug_value_id_t v, ug_dim_t *out) {
  const ug_type_t *t = ug_value_type(L->g, v);
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

/* Value v's tile; an operand from outside is loaded at its first use (so
 * few tiles are live at once): a full tile, or one element where it is
 * broadcast along the columns, cast to the compute dtype. */
static ug_kir_value_id_t value_tile(lower_t *L, ug_value_id_t v) {
  if (L->tile[v] != UG_NONE || L->param[v] == UG_NONE) return L->tile[v];
  ug_dim_t shp[UG_MAX_RANK + 1];
  ug_dim_t tc = view_shape(L, v, shp);
  ug_kir_operand_t idx[UG_MAX_RANK + 1];
  view_index(L, v, idx);
  ug_dim_t size = tc == 1 ? 1 : L->T;
  ug_dtype_t dt = ug_value_type(L->g, v)->dtype;
  ug_kir_type_t tt = ug_kir_type_tile(dt, 1, &size);
  L->tile[v] = ug_kir_load(L->k, L->k->body, L->param[v], idx, (uint32_t)L->c + 1, UG_NONE, &tt);
  if (ug_dtype_compute(dt) != dt) L->tile[v] = cast(L, L->tile[v], ug_dtype_compute(dt), size);
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
  ug_kir_type_t ix = ug_kir_type_index();
  for (int j = 0; j < L->c; j++) {
    ug_dim_t d = shp[j];
    if (d == L->S->dims[j]) {
      idx[j] = L->coord[j];
    } else if (d == 1) {
      idx[j] = ug_kir_imm(0);
    } else { /* symbolic: 1 or the space's extent, decided at run time */
      ug_kir_operand_t a[2] = {L->coord[j], ug_kir_imm(ug_dim_sub(L->D, d, 1))};
      idx[j] = ug_kir_val(ug_kir_ew(L->k, L->k->body, UG_OP_MIN, a, 2, &ix));
    }
  }
  idx[L->c] = tc == 1 && L->T != 1 ? ug_kir_imm(0) : L->col0;
}

static double identity_of(ug_op_t op) {
  if (op == UG_OP_REDUCE_MAX) return -INFINITY;
  if (op == UG_OP_REDUCE_MIN) return INFINITY;
  return 0.0;
}

/* A reduction over the columns of a row kernel: masked to the row, in the
 * compute dtype (f32 for f16/bf16), the mean divided once. */
static ug_status_t lower_reduction(lower_t *L, const ug_node_t *n) {
  ug_value_id_t xv = ug_node_operand(L->g, n, 0), rv = ug_node_result(L->g, n, 0);
  if (!ug_dtype_is_float(ug_value_type(L->g, xv)->dtype)) return not_lowered(L->g, n, "integer reduction");
  bool sum = n->op == UG_OP_REDUCE_SUM || n->op == UG_OP_REDUCE_MEAN;
  ug_kir_value_id_t x = full_tile(L, xv);
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
    ug_kir_value_id_t w[3] = {L->mask, x, ug_kir_splat(L->k, L->k->body, identity_of(n->op), &at)};
    x = ew(L, UG_OP_WHERE, w, 3, &at, NULL, 0, NULL);
  }
  ug_op_t comb = sum ? UG_OP_ADD : n->op == UG_OP_REDUCE_MAX ? UG_OP_MAX : UG_OP_MIN;
  ug_kir_value_id_t r = ug_kir_reduce(L->k, L->k->body, comb, 0, x, &a1);
  L->k->ops.items[L->k->ops.len - 1].loc = n->loc;
  if (n->op == UG_OP_REDUCE_MEAN) {
    ug_kir_value_id_t d[2] = {r, ug_kir_splat(L->k, L->k->body, (double)cols, &a1)};
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

/* The step's nodes over rows x columns (kir_lower.h). */
static ug_status_t lower_nodes(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s, bool short_rows,
                               ug_kir_kernel_t **out) {
  ug_graph_t *g = p->g;
  const ug_node_t *first = &g->nodes.items[s->node];
  lower_t L = {.g = g, .D = km->dims, .s = s, .mask = UG_NONE};
  bool row = false;
  uint32_t nin = 0; /* args read from outside: the leading ones */
  int bytes = 1;
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    ug_category_t cat = ug_op_info(n->op)->category;
    if (is_reduction(n->op) && s->num_nodes > 1) row = true;
    else if (cat != UG_CAT_EW) return not_lowered(g, n, "op class");
    if (n->num_results != 1 || n->num_operands > 3) return not_lowered(g, n, "arity");
    for (uint32_t j = 0; j < n->num_operands; j++)
      if (ug_node_operand(g, n, j) == UG_NONE) return not_lowered(g, n, "absent optional operand");
  }
  if (s->num_scratch) return not_lowered(g, first, "scratch buffers");
  const ug_type_t *ext[64];
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    ug_node_id_t d = g->values.items[v].def;
    bool inside = false;
    for (uint32_t i = 0; i < s->num_nodes && d != UG_NONE; i++) inside = inside || s->nodes[i] == d;
    if (inside) break;
    if (nin == 64) return not_lowered(g, first, "more than 64 operands");
    ext[nin++] = ug_value_type(g, v);
  }
  /* the space: the widest result, or what the reductions read */
  L.S = ug_value_type(g, ug_node_result(g, first, 0));
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    if (is_reduction(n->op)) {
      L.S = ug_value_type(g, ug_node_operand(g, n, 0));
      break;
    }
    const ug_type_t *t = ug_value_type(g, ug_node_result(g, n, 0));
    if (t->rank > 0 && t->dims[t->rank - 1] != 1) L.S = t;
  }
  if (row) L.c = L.S->rank - 1;
  else if (!ug_kir_ew_columns(L.D, L.S, ext, nin, &L.c) && !short_rows)
    return not_lowered(g, first, "broadcast with short rows");
  /* vectors of 16 bytes of the widest dtype that memory holds whole rows of */
  int any = 1;
  for (uint32_t a = 0; a < s->num_args; a++) {
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
    if (R == 0 || !UG_DIM_IS_STATIC(cols)) return not_lowered(g, first, "row kernel with a symbolic row");
    /* enough warps for UG_KIR_ROW_ROUNDS vectors per thread, 1..16 */
    int64_t per_warp = (int64_t)32 * V * UG_KIR_ROW_ROUNDS;
    warps = (int)((cols + per_warp - 1) / per_warp);
    if (warps < 1) warps = 1;
    if (warps > 16) warps = 16;
    int64_t q = (int64_t)32 * warps * V;
    L.T = (cols + q - 1) / q * q;
    tiles = 1;
  } else {
    /* three or more whole operands: half the rounds, so they can all be
     * loaded up front (below) */
    int full = 0;
    for (uint32_t a = 0; a < nin; a++) {
      ug_dim_t shp[UG_MAX_RANK + 1];
      full += view_shape(&L, s->arg_values[a], shp) != 1;
    }
    L.T = (int64_t)32 * warps * V * (full >= 3 ? UG_KIR_EW_ROUNDS / 2 : UG_KIR_EW_ROUNDS);
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
    ug_dim_t shp[UG_MAX_RANK + 1];
    view_shape(&L, s->arg_values[a], shp);
    ug_kir_type_t gt = ug_kir_type_global(ug_value_type(g, s->arg_values[a])->dtype, L.c + 1, shp);
    params[a] = ug_kir_add_param(k, ug_arena_printf(km->arena, "a%u", a), &gt);
  }
  ug_dim_t rows = 1;
  for (int j = 0; j < L.c; j++) rows = ug_dim_mul(L.D, rows, L.S->dims[j]);
  ug_dim_t grid = ug_dim_mul(L.D, rows, tiles);
  ug_kir_set_grid(k, 1, &grid);
  program_coords(&L, tiles);

  size_t nv = g->values.len + 1;
  L.tile = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * nv);
  L.bcast = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * nv);
  for (size_t v = 0; v < nv; v++) L.tile[v] = L.bcast[v] = UG_NONE;
  L.param = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * nv);
  for (size_t v = 0; v < nv; v++) L.param[v] = UG_NONE;
  for (uint32_t a = 0; a < nin; a++) {
    ug_value_id_t v = s->arg_values[a];
    ug_dim_t shp[UG_MAX_RANK + 1];
    ug_dim_t tc = view_shape(&L, v, shp);
    if (tc != 1 && tc != view_shape(&L, ug_node_result(g, first, 0), shp) && !row)
      return not_lowered(g, first, "column extent neither the result's nor 1");
    L.param[v] = params[a];
  }
  /* Operands from outside are loaded up front when their tiles fit in
   * UG_KIR_PRELOAD_REGS registers a thread, so every load's latency
   * overlaps the first; otherwise (and a row kernel's operands shared by
   * all rows) each at its first use. */
  int64_t regs = 0;
  for (uint32_t a = 0; a < nin; a++) {
    ug_dim_t shp[UG_MAX_RANK + 1];
    regs += view_shape(&L, s->arg_values[a], shp) == 1 ? 1 : L.T / (32 * warps);
  }
  for (uint32_t a = 0; a < nin && regs <= UG_KIR_PRELOAD_REGS; a++) {
    /* in a row kernel, operands the same for every row (a norm's weight
     * and bias) are cache hits, so they wait for their use */
    ug_dim_t shp[UG_MAX_RANK + 1];
    view_shape(&L, s->arg_values[a], shp);
    bool per_row = false;
    for (int j = 0; j < L.c; j++) per_row = per_row || shp[j] != 1;
    if (!row || per_row) value_tile(&L, s->arg_values[a]);
  }
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
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
      if (value_tile(&L, v) == UG_NONE) return not_lowered(g, n, "an operand without a tile");
      xs[j] = per_row ? L.tile[v] : full_tile(&L, v);
      if (per_row && is_full(&L, xs[j])) return not_lowered(g, n, "a per-row result of a full operand");
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
  /* stored results */
  for (uint32_t a = nin; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (L.tile[v] == UG_NONE) return not_lowered(g, first, "a result without a tile");
    ug_kir_operand_t idx[UG_MAX_RANK + 1];
    view_index(&L, v, idx);
    ug_kir_value_id_t t = L.tile[v];
    ug_dtype_t dt = ug_value_type(g, v)->dtype;
    if (ug_kir_value_type(k, t)->t.dtype != dt) t = cast(&L, t, dt, ug_kir_value_type(k, t)->t.dims[0]);
    ug_kir_store(k, k->body, params[a], idx, (uint32_t)L.c + 1, t, UG_NONE);
  }
  *out = k;
  return ug_kir_verify_kernel(k);
}

ug_status_t ug_kir_lower_step(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                              ug_kir_kernel_t **out) {
  *out = NULL;
  if (s->kind != UG_STEP_NODE) return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "not lowered to kernel IR: copy step");
  ug_graph_t *g = p->g;
  const ug_node_t *n = &g->nodes.items[s->node];
  if (ug_op_info(n->op)->category == UG_CAT_CON)
    return not_lowered(g, n, "a contraction (its epilogue: ug_kir_lower_epilogue)");
  if (s->num_nodes > 1 || ug_op_info(n->op)->category == UG_CAT_EW) return lower_nodes(km, p, s, false, out);
  return not_lowered(g, n, "op class");
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
