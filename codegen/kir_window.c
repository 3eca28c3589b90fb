/* Window kernels: single nodes whose result elements each combine a window
 * of their operand's elements, lowered to a loop over the window that
 * carries the combination (kir_lower.h; docs/kernel-ir.md, "Lowering").
 *
 *  - max_pool, avg_pool (NCHW, 1 to 3 spatial dims): the window is the
 *    taps; a tap in the padding is masked (max: -inf, avg: not counted
 *    unless count_include_pad, and never past the declared pads);
 *  - reduce_sum/mean/max/min/prod over axes that are not a trailing run (a
 *    trailing run is a row kernel): the window is the reduced elements;
 *  - argmax, argmin over an axis other than the last: the window is the
 *    axis, carrying the best value and its index (over the last axis: a
 *    program per row, lower_arg_rows below);
 *  - lrn: the window is the `size` channels around each element;
 *  - resize (nearest, linear): the window is each element's taps.
 *
 * A program computes a tile of T result elements.  Two forms:
 *  - flat (every node): the tile is T consecutive elements of the result,
 *    whose coordinates come from `col0 + iota` by div/mod; each window
 *    element is a `gather` at the coordinates' offset in the operand (the
 *    per-element part computed once, before the loop) plus the window
 *    element's (uniform: index math on the loop counter);
 *  - rows (reductions and argmax whose last kept axes run for at least
 *    UG_KIR_MIN_COLS elements after the last reduced axis): the result is
 *    rows x columns, the columns those trailing kept axes, and each window
 *    element is a plain tile load along them (vectorized, coalesced).
 * Values are floats (combined in f32 for f16 / bf16, rounded once at the
 * store) or, for max pooling, the reductions and argmax / argmin over an
 * earlier axis, integers (combined in their type, wrapping); coordinates are i32 when every extent is static and the buffers
 * hold fewer than 2^31 elements, else i64. */
#include "codegen/kir_lower.h"

#include <math.h>
#include <string.h>

/* Flat programs: at most this many blocks resident on a GPU before the
 * tile shrinks below a 16-byte vector a thread (132 SMs x 8 blocks). */
#define WIN_MIN_PROGRAMS 1056

typedef struct {
  ug_kir_kernel_t *k;
  ug_dims_t *D;
  const char *loc;
  int64_t T;          /* result elements a program */
  ug_dtype_t cdt;     /* per-element coordinates: i32 or i64 */
  struct { int64_t v; ug_kir_region_id_t r; ug_kir_value_id_t t; } kc[32]; /* coordinate constants made so far */
  int nkc;
} win_t;

/* `cast x {to}` in region r (x itself when a tile of that dtype). */
static ug_kir_value_id_t wcast(win_t *W, ug_kir_region_id_t r, ug_kir_operand_t x, ug_dtype_t to) {
  const ug_kir_type_t *xt = x.value == UG_NONE ? NULL : ug_kir_value_type(W->k, x.value);
  if (xt && xt->kind == UG_KT_TILE && xt->t.dtype == to) return x.value;
  return ug_kir_cast(W->k, r, x, to, W->loc);
}

/* A coordinate constant (a scalar of W->cdt), once per region (or once
 * in the kernel's body, which every region sees). */
static ug_kir_value_id_t wconst(win_t *W, ug_kir_region_id_t r, int64_t v) {
  for (int i = 0; i < W->nkc; i++)
    if (W->kc[i].v == v && (W->kc[i].r == r || W->kc[i].r == W->k->body)) return W->kc[i].t; /* the body dominates */
  ug_kir_value_id_t t = wcast(W, r, ug_kir_imm(v), W->cdt);
  if (W->nkc < 32) {
    W->kc[W->nkc].v = v;
    W->kc[W->nkc].r = r;
    W->kc[W->nkc++].t = t;
  }
  return t;
}

/* `op a, b` on tiles or scalars (a comparison or `and` gives bool), the
 * result of the wider shape. */
static ug_kir_value_id_t wmath(win_t *W, ug_kir_region_id_t r, ug_op_t op, ug_kir_value_id_t a, ug_kir_value_id_t b) {
  const ug_kir_type_t *at = ug_kir_value_type(W->k, a), *bt = ug_kir_value_type(W->k, b);
  ug_kir_type_t t = at->t.rank >= bt->t.rank ? *at : *bt;
  if (op == UG_OP_LESS || op == UG_OP_GREATER_EQUAL || op == UG_OP_GREATER || op == UG_OP_LESS_EQUAL ||
      op == UG_OP_EQUAL || op == UG_OP_AND)
    t.t.dtype = UG_DTYPE_BOOL;
  ug_kir_operand_t args[2] = {ug_kir_val(a), ug_kir_val(b)};
  return ug_kir_ew(W->k, r, op, args, 2, &t);
}

/* `x * m + a` on a coordinate tile, skipping a factor 1 and a term 0
 * (immediates are never negative: a negative term is subtracted). */
static ug_kir_value_id_t wmad(win_t *W, ug_kir_region_id_t r, ug_kir_value_id_t x, int64_t m, int64_t a) {
  if (m != 1) x = wmath(W, r, UG_OP_MUL, x, wconst(W, r, m));
  if (a) x = wmath(W, r, a > 0 ? UG_OP_ADD : UG_OP_SUB, x, wconst(W, r, a > 0 ? a : -a));
  return x;
}

/* x + y where either may be UG_NONE (nothing). */
static ug_kir_value_id_t wsum(win_t *W, ug_kir_region_id_t r, ug_kir_value_id_t x, ug_kir_value_id_t y) {
  if (x == UG_NONE) return y;
  return y == UG_NONE ? x : wmath(W, r, UG_OP_ADD, x, y);
}

/* mask AND x, either UG_NONE (everything). */
static ug_kir_value_id_t wand(win_t *W, ug_kir_region_id_t r, ug_kir_value_id_t mask, ug_kir_value_id_t x) {
  if (x == UG_NONE) return mask;
  return mask == UG_NONE ? x : wmath(W, r, UG_OP_AND, mask, x);
}

static ug_kir_value_id_t wsplat(win_t *W, ug_kir_region_id_t r, double v, ug_dtype_t dt) {
  ug_dim_t T = W->T;
  ug_kir_type_t t = ug_kir_type_tile(dt, 1, &T);
  return ug_kir_splat(W->k, r, v, &t);
}

/* An index op, skipping `x * 1`, `x + 0` and `x / 1`. */
static ug_kir_operand_t widx(win_t *W, ug_kir_region_id_t r, ug_op_t op, ug_kir_operand_t a, ug_kir_operand_t b) {
  bool one = b.value == UG_NONE && b.imm == 1, zero = b.value == UG_NONE && b.imm == 0;
  if (((op == UG_OP_MUL || op == UG_OP_DIV) && one) || ((op == UG_OP_ADD || op == UG_OP_SUB) && zero)) return a;
  bool azero = a.value == UG_NONE && a.imm == 0;
  if ((op == UG_OP_MUL && zero) || (op == UG_OP_MOD && one) ||
      (azero && (op == UG_OP_MUL || op == UG_OP_DIV || op == UG_OP_MOD)))
    return ug_kir_imm(0);
  if (op == UG_OP_ADD && azero) return b;
  return ug_kir_index_op(W->k, r, op, a, b);
}

/* The combination of a window: how it starts, folds and ends. */
typedef struct {
  ug_op_t comb;     /* add, mul, max, min; or UG_OP_ARGMAX / UG_OP_ARGMIN */
  double init;      /* the identity (and a masked tap's value) */
  bool first;       /* no exact identity (a 64-bit integer's highest): the window's element 0 starts the fold */
  bool last;        /* argmax / argmin: a tie goes to the later element */
} fold_t;

/* The lowest (or highest) value of dt as a double: -inf / inf for floats;
 * false when it is not exact (the 64-bit integers' highest). */
static bool extreme(ug_dtype_t dt, bool lowest, double *out) {
  if (ug_dtype_is_float(dt)) {
    *out = lowest ? -INFINITY : INFINITY;
    return true;
  }
  int bits = ug_dtype_bits(dt);
  bool uns = dt == UG_DTYPE_U8 || dt == UG_DTYPE_U16 || dt == UG_DTYPE_U32 || dt == UG_DTYPE_U64;
  *out = lowest ? (uns ? 0.0 : -ldexp(1.0, bits - 1)) : ldexp(1.0, uns ? bits : bits - 1) - 1;
  return lowest || bits <= 32;
}

static fold_t fold_of(ug_graph_t *g, const ug_node_t *n, ug_dtype_t dt) {
  fold_t f = {.comb = UG_OP_ADD, .init = 0.0};
  switch (n->op) {
  case UG_OP_MAX_POOL: case UG_OP_REDUCE_MAX: f.comb = UG_OP_MAX, extreme(dt, true, &f.init); break;
  case UG_OP_REDUCE_MIN: f.comb = UG_OP_MIN, f.first = !extreme(dt, false, &f.init); break;
  case UG_OP_REDUCE_PROD: f.comb = UG_OP_MUL, f.init = 1.0; break;
  case UG_OP_ARGMAX: case UG_OP_ARGMIN:
    f.comb = n->op;
    f.last = ug_node_attr_int(g, n, UG_ATTR_SELECT_LAST_INDEX, 0) != 0;
    break;
  default: break;
  }
  return f;
}

/* Folds value v (in the compute dtype) of window element `pos` (an index) into the carried
 * acc (and, for argmax / argmin, idx: the best element's position, i64).
 * Ordered comparisons: a NaN never wins, so a NaN at position 0 stays (the
 * per-node kernels' rule). */
static void fold_in(win_t *W, ug_kir_region_id_t r, const fold_t *f, ug_kir_value_id_t v, ug_kir_operand_t pos,
                    ug_kir_value_id_t *acc, ug_kir_value_id_t *idx) {
  if (f->comb != UG_OP_ARGMAX && f->comb != UG_OP_ARGMIN) {
    *acc = wmath(W, r, f->comb, *acc, v);
    return;
  }
  ug_op_t cmp = f->comb == UG_OP_ARGMAX ? (f->last ? UG_OP_GREATER_EQUAL : UG_OP_GREATER)
                                        : (f->last ? UG_OP_LESS_EQUAL : UG_OP_LESS);
  ug_kir_value_id_t better = wmath(W, r, cmp, v, *acc);
  ug_kir_type_t at = *ug_kir_value_type(W->k, *acc), it = *ug_kir_value_type(W->k, *idx);
  ug_kir_operand_t a[3] = {ug_kir_val(better), ug_kir_val(v), ug_kir_val(*acc)};
  *acc = ug_kir_ew(W->k, r, UG_OP_WHERE, a, 3, &at);
  ug_kir_operand_t b[3] = {ug_kir_val(better), ug_kir_val(wcast(W, r, pos, UG_DTYPE_I64)), ug_kir_val(*idx)};
  *idx = ug_kir_ew(W->k, r, UG_OP_WHERE, b, 3, &it);
}

/* The window's loop lb..ub at the kernel's top level: *out_pos is the
 * loop counter; the values of vals[0..n) that are not UG_NONE (the fold's
 * accumulator, argmax's index, avg's count) become the iter args, each
 * replaced by its block argument here and by the loop's result in
 * loop_end, which writes the body's yield. */
typedef struct {
  ug_kir_op_id_t op;
  ug_kir_region_id_t body;
  ug_kir_value_id_t carried[3];
  uint32_t n;
} loop_t;

static void loop_begin(win_t *W, loop_t *l, ug_dim_t lb, ug_dim_t ub, ug_kir_value_id_t *vals, uint32_t n,
                       ug_kir_operand_t *out_pos) {
  l->n = 0;
  for (uint32_t i = 0; i < n; i++)
    if (vals[i] != UG_NONE) l->carried[l->n++] = vals[i];
  l->op = ug_kir_for(W->k, W->k->body, ug_kir_imm(lb), ug_kir_imm(ub), ug_kir_imm(1), l->carried, l->n, 0, &l->body);
  const ug_kir_region_t *body = ug_kir_region(W->k, l->body);
  *out_pos = ug_kir_val(ug_kir_region_arg(W->k, body, 0));
  uint32_t j = 0;
  for (uint32_t i = 0; i < n; i++)
    if (vals[i] != UG_NONE) vals[i] = ug_kir_region_arg(W->k, body, 1 + j++);
}

static void loop_end(win_t *W, loop_t *l, ug_kir_value_id_t *vals, uint32_t n) {
  ug_kir_value_id_t y[3];
  uint32_t j = 0;
  for (uint32_t i = 0; i < n; i++)
    if (vals[i] != UG_NONE) y[j++] = vals[i];
  if (j) ug_kir_yield(W->k, l->body, y, j);
  j = 0;
  const ug_kir_op_data_t *o = ug_kir_op(W->k, l->op);
  for (uint32_t i = 0; i < n; i++)
    if (vals[i] != UG_NONE) vals[i] = ug_kir_result(W->k, o, j++);
}

/* Stores tile y at out[idx...], rounded once to the result's dtype. */
static void store_result(win_t *W, ug_kir_value_id_t out, const ug_kir_operand_t *idx, uint32_t nidx,
                         ug_kir_value_id_t y, ug_dtype_t dt) {
  ug_kir_region_id_t r = W->k->body;
  y = wcast(W, r, ug_kir_val(y), dt);
  ug_kir_store(W->k, r, out, idx, nidx, y, UG_NONE);
}

/* ---- shapes ---- */

/* The extents of x grouped for a reduction: size-1 axes dropped, runs of
 * kept or of reduced axes merged into one; *out_n groups. */
typedef struct {
  ug_dim_t e[UG_MAX_RANK];
  bool red[UG_MAX_RANK];
  int n;
} groups_t;

static void group_axes(ug_dims_t *D, const ug_type_t *xt, const bool *red, groups_t *G) {
  G->n = 0;
  for (int i = 0; i < xt->rank; i++) {
    if (xt->dims[i] == 1) continue;
    if (G->n && G->red[G->n - 1] == red[i]) {
      G->e[G->n - 1] = ug_dim_mul(D, G->e[G->n - 1], xt->dims[i]);
      continue;
    }
    G->e[G->n] = xt->dims[i];
    G->red[G->n++] = red[i];
  }
}

/* Whether extent d is static and below 2^31 - margin. */
static bool small(ug_dim_t d, int64_t margin) { return UG_DIM_IS_STATIC(d) && d < ((int64_t)1 << 31) - margin; }

/* Elements of a program's tile: threads x V (a 16-byte vector of the
 * result a thread) x rounds, halved (to one element a thread) while a
 * static grid would have fewer than WIN_MIN_PROGRAMS programs: `rows`
 * rows of `cols` columns (flat: one row of every element). */
static int64_t fit_tile(ug_dim_t rows, ug_dim_t cols, int threads, int V, int rounds) {
  int64_t T = (int64_t)threads * V * rounds;
  while (T > threads && UG_DIM_IS_STATIC(rows) && UG_DIM_IS_STATIC(cols) && rows * ((cols + T - 1) / T) < WIN_MIN_PROGRAMS)
    T /= 2;
  return T;
}

static bool float_dtype(ug_dtype_t dt) { return dt == UG_DTYPE_F32 || dt == UG_DTYPE_F16 || dt == UG_DTYPE_BF16; }

/* Values pooling's max and the reductions take: floats (f64 too) and integers. */
static bool window_dtype(ug_dtype_t dt) { return float_dtype(dt) || dt == UG_DTYPE_F64 || ug_dtype_is_int(dt); }

/* The kernel, its two parameters (x as declared by xshape, the result as
 * rshape) and a one-axis grid. */
static ug_kir_kernel_t *begin_kernel(win_t *W, ug_kir_module_t *km, const ug_plan_step_t *s, ug_dtype_t xdt,
                                     const ug_dim_t *xs, int xr, ug_dtype_t rdt, const ug_dim_t *rs, int rr,
                                     ug_dim_t grid, ug_kir_value_id_t *out_x, ug_kir_value_id_t *out_r) {
  ug_kir_kernel_t *k = ug_kir_kernel_create(km, s->kernel_name);
  W->k = k;
  k->warps = UG_KIR_EW_WARPS;
  ug_kir_type_t xt = ug_kir_type_global(xdt, xr, xs), rt = ug_kir_type_global(rdt, rr, rs);
  *out_x = ug_kir_add_param(k, "a0", &xt);
  *out_r = ug_kir_add_param(k, "a1", &rt);
  ug_kir_set_grid(k, 1, &grid);
  return k;
}

/* The flat form's element positions: col0 = program_id * T, and
 * col0 + iota as a W->cdt tile. */
static ug_kir_value_id_t flat_positions(win_t *W, ug_kir_operand_t *out_col0) {
  ug_kir_kernel_t *k = W->k;
  ug_kir_region_id_t r = k->body;
  ug_kir_value_id_t pid = ug_kir_program_id(k, r, 0);
  *out_col0 = widx(W, r, UG_OP_MUL, ug_kir_val(pid), ug_kir_imm(W->T));
  ug_dim_t T = W->T;
  ug_kir_type_t it = ug_kir_type_tile(W->cdt, 1, &T);
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_IOTA, W->loc);
  ug_kir_push_attr(k, o, ug_kir_attr_int(UG_KATTR_AXIS, 0));
  ug_kir_value_id_t i = ug_kir_push_result(k, o, &it, NULL);
  return wmath(W, r, UG_OP_ADD, i, wcast(W, r, *out_col0, W->cdt));
}

/* ---- pooling ---- */

static ug_status_t lower_pool(ug_kir_module_t *km, const ug_plan_step_t *s, ug_graph_t *g, const ug_node_t *n,
                              ug_kir_kernel_t **out) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0)), *rt = ug_value_type(g, ug_node_result(g, n, 0));
  ug_dtype_t dt = xt->dtype;
  int sr = xt->rank - 2;
  if (sr < 1 || sr > 3 || rt->rank != xt->rank) return ug_kir_not_lowered(g, n, "pooling over other than 1 to 3 spatial dims");
  bool is_max = n->op == UG_OP_MAX_POOL;
  if (!(is_max ? window_dtype(dt) : float_dtype(dt) || dt == UG_DTYPE_F64) || rt->dtype != dt)
    return ug_kir_not_lowered(g, n, "pooling of a dtype other than the floats (and for max the integers)");
  ug_dtype_t adt = ug_dtype_compute(dt);
  const ug_attr_t *ks = ug_node_attr(g, n, UG_ATTR_KERNEL_SHAPE), *st = ug_node_attr(g, n, UG_ATTR_STRIDES);
  const ug_attr_t *pd = ug_node_attr(g, n, UG_ATTR_PADS), *dl = ug_node_attr(g, n, UG_ATTR_DILATIONS);
  if (!ks || ks->u.ints.n != (uint32_t)sr) return ug_kir_not_lowered(g, n, "kernel_shape of another rank");
  bool incl = ug_node_attr_int(g, n, UG_ATTR_COUNT_INCLUDE_PAD, 0) != 0;
  int64_t K[3], S[3], P[3], PE[3], Dl[3], I[3], O[3], taps = 1, plane = 1;
  bool lo[3], hi[3], cnt_varies = false;
  for (int i = 0; i < sr; i++) {
    K[i] = ks->u.ints.v[i];
    S[i] = st && st->u.ints.n == (uint32_t)sr ? st->u.ints.v[i] : 1;
    Dl[i] = dl && dl->u.ints.n == (uint32_t)sr ? dl->u.ints.v[i] : 1;
    P[i] = pd && pd->u.ints.n == 2u * (uint32_t)sr ? pd->u.ints.v[i] : 0;
    PE[i] = pd && pd->u.ints.n == 2u * (uint32_t)sr ? pd->u.ints.v[sr + i] : 0;
    if (!UG_DIM_IS_STATIC(xt->dims[2 + i]) || !UG_DIM_IS_STATIC(rt->dims[2 + i]))
      return ug_kir_not_lowered(g, n, "pooling over symbolic spatial dims");
    I[i] = xt->dims[2 + i];
    O[i] = rt->dims[2 + i];
    if (K[i] < 1 || S[i] < 1 || Dl[i] < 1 || P[i] < 0 || PE[i] < 0) return ug_kir_not_lowered(g, n, "pooling attributes");
    taps *= K[i];
    plane *= I[i];
    /* the sides a tap can cross: before the input (padding), past it */
    int64_t far = (O[i] - 1) * S[i] - P[i] + (K[i] - 1) * Dl[i];
    lo[i] = P[i] > 0 && O[i] > 0;
    hi[i] = far >= I[i] && O[i] > 0;
    /* avg's count: the taps inside the input, or with count_include_pad
     * inside the declared pads (ceil_mode's extra taps past them never count) */
    cnt_varies = cnt_varies || (incl ? far >= I[i] + PE[i] : lo[i] || hi[i]);
  }
  if (taps > (1 << 20)) return ug_kir_not_lowered(g, n, "a window of more than 2^20 taps");
  ug_dim_t nc = ug_dim_mul(km->dims, xt->dims[0], xt->dims[1]);
  ug_dim_t numel = ug_type_numel(km->dims, rt), xnumel = ug_type_numel(km->dims, xt);
  win_t W = {.D = km->dims, .loc = n->loc};
  W.T = fit_tile(1, numel, 32 * UG_KIR_EW_WARPS, 16 / (ug_dtype_bits(dt) / 8), 1);
  W.cdt = small(xnumel, 0) && small(numel, W.T) ? UG_DTYPE_I32 : UG_DTYPE_I64;
  ug_dim_t xs[2] = {nc, plane}, grid = ug_dim_ceildiv(km->dims, numel, W.T);
  ug_kir_value_id_t X, Y;
  ug_kir_kernel_t *k = begin_kernel(&W, km, s, dt, xs, 2, dt, &numel, 1, grid, &X, &Y);
  ug_kir_region_id_t r = k->body;
  ug_kir_operand_t col0;
  ug_kir_value_id_t rem = flat_positions(&W, &col0);
  /* before the loop: each element's spatial coordinates, the input
   * position of tap 0 along each (o * stride - pad) and its offset */
  ug_kir_value_id_t i0[3], xo = UG_NONE;
  int64_t xst = 1;
  for (int i = sr - 1; i >= 0; i--) {
    ug_kir_value_id_t o = wmath(&W, r, UG_OP_MOD, rem, wconst(&W, r, O[i]));
    rem = wmath(&W, r, UG_OP_DIV, rem, wconst(&W, r, O[i]));
    i0[i] = wmad(&W, r, o, S[i], -P[i]);
    xo = wsum(&W, r, xo, wmad(&W, r, i0[i], xst, 0));
    xst *= I[i];
  }
  xo = wsum(&W, r, xo, wmad(&W, r, rem, plane, 0)); /* rem: the image and channel */
  fold_t f = fold_of(g, n, dt);
  ug_kir_value_id_t v[2] = {wsplat(&W, r, f.init, adt), UG_NONE};
  if (n->op == UG_OP_AVG_POOL && cnt_varies) v[1] = wsplat(&W, r, 0.0, adt);
  loop_t l;
  ug_kir_operand_t t;
  loop_begin(&W, &l, 0, taps, v, 2, &t);
  ug_kir_region_id_t b = l.body;
  /* tap t's coordinates (uniform), its offset from tap 0, and the mask of
   * the elements whose tap lands inside the input */
  ug_kir_operand_t rest = t, toff = ug_kir_imm(0);
  ug_kir_value_id_t mask = UG_NONE, pmask = UG_NONE;
  xst = 1;
  for (int i = sr - 1; i >= 0; i--) {
    ug_kir_operand_t ti = i > 0 ? widx(&W, b, UG_OP_MOD, rest, ug_kir_imm(K[i])) : rest;
    if (i > 0) rest = widx(&W, b, UG_OP_DIV, rest, ug_kir_imm(K[i]));
    ug_kir_operand_t d = widx(&W, b, UG_OP_MUL, ti, ug_kir_imm(Dl[i]));
    toff = widx(&W, b, UG_OP_ADD, toff, widx(&W, b, UG_OP_MUL, d, ug_kir_imm(xst)));
    xst *= I[i];
    if (!lo[i] && !hi[i] && !(incl && v[1] != UG_NONE)) continue;
    ug_kir_value_id_t p = wmath(&W, b, UG_OP_ADD, i0[i], wcast(&W, b, d, W.cdt));
    if (lo[i]) mask = wand(&W, b, mask, wmath(&W, b, UG_OP_GREATER_EQUAL, p, wconst(&W, b, 0)));
    if (hi[i]) mask = wand(&W, b, mask, wmath(&W, b, UG_OP_LESS, p, wconst(&W, b, I[i])));
    if (incl && v[1] != UG_NONE && (O[i] - 1) * S[i] - P[i] + (K[i] - 1) * Dl[i] >= I[i] + PE[i])
      pmask = wand(&W, b, pmask, wmath(&W, b, UG_OP_LESS, p, wconst(&W, b, I[i] + PE[i])));
  }
  ug_kir_value_id_t off = wmath(&W, b, UG_OP_ADD, xo, wcast(&W, b, toff, W.cdt));
  ug_dim_t T = W.T;
  ug_kir_type_t gt = ug_kir_type_tile(dt, 1, &T);
  ug_kir_value_id_t x = ug_kir_gather(k, b, X, off, mask, f.init, &gt);
  fold_in(&W, b, &f, wcast(&W, b, ug_kir_val(x), adt), t, &v[0], NULL);
  if (v[1] != UG_NONE) {
    ug_kir_value_id_t cm = incl ? pmask : mask;
    v[1] = wmath(&W, b, UG_OP_ADD, v[1], wcast(&W, b, ug_kir_val(cm), adt));
  }
  loop_end(&W, &l, v, 2);
  ug_kir_value_id_t y = v[0];
  if (n->op == UG_OP_AVG_POOL) {
    /* the sum over max(count, 1); a constant count when no tap can leave */
    ug_kir_value_id_t c = v[1] != UG_NONE ? wmath(&W, r, UG_OP_MAX, v[1], wsplat(&W, r, 1.0, adt))
                                          : wsplat(&W, r, (double)taps, adt);
    y = wmath(&W, r, UG_OP_DIV, y, c);
  }
  store_result(&W, Y, &col0, 1, y, dt);
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* ---- lrn ----
 * y = x / (bias + alpha / size * sum of x^2 over the channels c - lo ..
 * c + hi inside [0, C))^beta, lo = (size - 1) / 2: a window of `size`
 * channels around each element, in the flat form (x and y as one axis,
 * neighbouring channels `inner` elements apart). */

static ug_status_t lower_lrn(ug_kir_module_t *km, const ug_plan_step_t *s, ug_graph_t *g, const ug_node_t *n,
                             ug_kir_kernel_t **out) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0)), *rt = ug_value_type(g, ug_node_result(g, n, 0));
  ug_dtype_t dt = xt->dtype;
  if (!float_dtype(dt) || rt->dtype != dt) return ug_kir_not_lowered(g, n, "lrn of a dtype other than f32, f16, bf16");
  if (xt->rank < 2 || !UG_DIM_IS_STATIC(xt->dims[1])) return ug_kir_not_lowered(g, n, "lrn without a static channel axis");
  int64_t size = ug_node_attr_int(g, n, UG_ATTR_SIZE, 1);
  if (size < 1 || size > 4096) return ug_kir_not_lowered(g, n, "lrn size");
  double alpha = ug_node_attr_float(g, n, UG_ATTR_ALPHA, 1e-4), beta = ug_node_attr_float(g, n, UG_ATTR_BETA, 0.75);
  double bias = ug_node_attr_float(g, n, UG_ATTR_BIAS, 1.0);
  int64_t lo = (size - 1) / 2, C = xt->dims[1];
  ug_dim_t inner = 1;
  for (int i = 2; i < xt->rank; i++) inner = ug_dim_mul(km->dims, inner, xt->dims[i]);
  ug_dim_t numel = ug_type_numel(km->dims, xt);
  win_t W = {.D = km->dims, .loc = n->loc};
  W.T = fit_tile(1, numel, 32 * UG_KIR_EW_WARPS, 16 / (ug_dtype_bits(dt) / 8), 1);
  W.cdt = small(numel, W.T) && UG_DIM_IS_STATIC(inner) ? UG_DTYPE_I32 : UG_DTYPE_I64;
  ug_kir_value_id_t X, Y;
  ug_kir_kernel_t *k = begin_kernel(&W, km, s, dt, &numel, 1, dt, &numel, 1, ug_dim_ceildiv(km->dims, numel, W.T), &X, &Y);
  ug_kir_region_id_t r = k->body;
  ug_kir_operand_t col0;
  ug_kir_value_id_t f = flat_positions(&W, &col0);
  ug_kir_value_id_t in = UG_DIM_IS_STATIC(inner) ? wconst(&W, r, inner) : wcast(&W, r, ug_kir_imm(inner), W.cdt);
  ug_kir_value_id_t c = wmath(&W, r, UG_OP_MOD, wmath(&W, r, UG_OP_DIV, f, in), wconst(&W, r, C));
  ug_kir_value_id_t v[2] = {wsplat(&W, r, 0.0, UG_DTYPE_F32), UG_NONE};
  loop_t l;
  ug_kir_operand_t t;
  loop_begin(&W, &l, 0, size, v, 2, &t);
  ug_kir_region_id_t b = l.body;
  /* channel c - lo + t, at f + (t - lo) * inner: masked outside [0, C) */
  ug_kir_operand_t dc = widx(&W, b, UG_OP_SUB, t, ug_kir_imm(lo));
  ug_kir_value_id_t cc = wmath(&W, b, UG_OP_ADD, c, wcast(&W, b, dc, W.cdt));
  ug_kir_value_id_t mask = wand(&W, b, wmath(&W, b, UG_OP_GREATER_EQUAL, cc, wconst(&W, b, 0)),
                                wmath(&W, b, UG_OP_LESS, cc, wconst(&W, b, C)));
  ug_kir_operand_t du = widx(&W, b, UG_OP_MUL, dc, ug_kir_imm(inner));
  ug_kir_value_id_t off = wmath(&W, b, UG_OP_ADD, f, wcast(&W, b, du, W.cdt));
  ug_dim_t T = W.T;
  ug_kir_type_t gt = ug_kir_type_tile(dt, 1, &T);
  ug_kir_value_id_t x = wcast(&W, b, ug_kir_val(ug_kir_gather(k, b, X, off, mask, 0.0, &gt)), UG_DTYPE_F32);
  v[0] = wmath(&W, b, UG_OP_ADD, v[0], wmath(&W, b, UG_OP_MUL, x, x));
  loop_end(&W, &l, v, 2);
  ug_kir_value_id_t den = wmath(&W, r, UG_OP_ADD, wsplat(&W, r, bias, UG_DTYPE_F32),
                                wmath(&W, r, UG_OP_MUL, wsplat(&W, r, alpha / (double)size, UG_DTYPE_F32), v[0]));
  den = wmath(&W, r, UG_OP_POW, den, wsplat(&W, r, beta, UG_DTYPE_F32));
  ug_kir_value_id_t xc = wcast(&W, r, ug_kir_val(ug_kir_load(k, r, X, &col0, 1, UG_NONE, &gt)), UG_DTYPE_F32);
  store_result(&W, Y, &col0, 1, wmath(&W, r, UG_OP_DIV, xc, den), dt);
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* ---- argmax / argmin over the last axis ----
 * A program per row, the row read in chunks of T along it: chunk 0 starts
 * each slot's best value and index, every later chunk's strictly better
 * elements (>= / <= with select_last_index) replace them; then the row's
 * best of the slots' non-NaN bests, and the first (last) index whose slot
 * holds it: the index of the first (last) best element, since a slot's
 * indices grow.  A NaN never wins a comparison, and one at the row's start
 * gives 0 (the per-node kernels' rule: x[0] kept until a better value). */

/* `load buf[idx...] {other}`: elements past the buffer read `other`. */
static ug_kir_value_id_t load_other(win_t *W, ug_kir_region_id_t r, ug_kir_value_id_t buf, const ug_kir_operand_t *idx,
                                    uint32_t n, double other, const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(W->k, r, UG_KIR_LOAD, W->loc);
  ug_kir_push_access(W->k, o, buf, idx, n);
  ug_kir_push_attr(W->k, o, ug_kir_attr_float(UG_KATTR_OTHER, other));
  return ug_kir_push_result(W->k, o, t, NULL);
}

/* `where c, a, b` of a's type. */
static ug_kir_value_id_t wsel(win_t *W, ug_kir_region_id_t r, ug_kir_value_id_t c, ug_kir_value_id_t a, ug_kir_value_id_t b) {
  ug_kir_type_t t = *ug_kir_value_type(W->k, a);
  ug_kir_operand_t x[3] = {ug_kir_val(c), ug_kir_val(a), ug_kir_val(b)};
  return ug_kir_ew(W->k, r, UG_OP_WHERE, x, 3, &t);
}

static ug_status_t lower_arg_rows(ug_kir_module_t *km, const ug_plan_step_t *s, ug_graph_t *g, const ug_node_t *n,
                                  ug_kir_kernel_t **out) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0));
  ug_dtype_t dt = xt->dtype;
  int R = xt->rank;
  ug_dim_t cols = xt->dims[R - 1], rows = 1;
  for (int i = 0; i + 1 < R; i++) rows = ug_dim_mul(km->dims, rows, xt->dims[i]);
  if (cols == 0) return ug_kir_not_lowered(g, n, "an axis of no extent");
  fold_t f = fold_of(g, n, dt);
  bool mx = n->op == UG_OP_ARGMAX;
  double ident = mx ? -INFINITY : INFINITY;
  ug_op_t cmp = mx ? (f.last ? UG_OP_GREATER_EQUAL : UG_OP_GREATER) : (f.last ? UG_OP_LESS_EQUAL : UG_OP_LESS);
  /* 2 vectors of 16 bytes a thread, warps enough for the row (1..8) */
  int V = 16 / (ug_dtype_bits(dt) / 8), warps = 8;
  if (UG_DIM_IS_STATIC(cols)) {
    int64_t w = (cols + 64 * V - 1) / (64 * V);
    warps = w < 1 ? 1 : w > 8 ? 8 : (int)w;
  }
  win_t W = {.D = km->dims, .loc = n->loc, .cdt = UG_DTYPE_I64};
  W.T = (int64_t)32 * warps * V * 2;
  ug_dim_t xs[2] = {rows, cols}, rs[2] = {rows, 1};
  ug_kir_value_id_t X, Y;
  ug_kir_kernel_t *k = begin_kernel(&W, km, s, dt, xs, 2, UG_DTYPE_I64, rs, 2, rows, &X, &Y);
  k->warps = (uint32_t)warps;
  ug_kir_region_id_t r = k->body;
  ug_kir_operand_t at[2] = {ug_kir_val(ug_kir_program_id(k, r, 0)), ug_kir_imm(0)};
  ug_dim_t T = W.T, one = 1;
  ug_kir_type_t vt = ug_kir_type_tile(dt, 1, &T), it = ug_kir_type_tile(UG_DTYPE_I64, 1, &T);
  ug_kir_op_id_t io = ug_kir_begin(k, r, UG_KIR_IOTA, W.loc);
  ug_kir_push_attr(k, io, ug_kir_attr_int(UG_KATTR_AXIS, 0));
  ug_kir_value_id_t iota = ug_kir_push_result(k, io, &it, NULL);
  /* chunk 0 starts every slot (past the row: the identity, never better) */
  ug_kir_value_id_t v[2] = {wcast(&W, r, ug_kir_val(load_other(&W, r, X, at, 2, ident, &vt)), UG_DTYPE_F32), iota};
  if (!UG_DIM_IS_STATIC(cols) || cols > W.T) { /* the later chunks */
    loop_t l;
    l.op = ug_kir_for(k, r, ug_kir_imm(W.T), ug_kir_imm(cols), ug_kir_imm(W.T), v, 2, 0, &l.body);
    ug_kir_region_id_t b = l.body;
    const ug_kir_region_t *body = ug_kir_region(k, b);
    at[1] = ug_kir_val(ug_kir_region_arg(k, body, 0));
    ug_kir_value_id_t best = ug_kir_region_arg(k, body, 1), idx = ug_kir_region_arg(k, body, 2);
    ug_kir_value_id_t x = wcast(&W, b, ug_kir_val(load_other(&W, b, X, at, 2, ident, &vt)), UG_DTYPE_F32);
    ug_kir_value_id_t better = wmath(&W, b, cmp, x, best);
    v[0] = wsel(&W, b, better, x, best);
    v[1] = wsel(&W, b, better, wmath(&W, b, UG_OP_ADD, iota, wcast(&W, b, at[1], UG_DTYPE_I64)), idx);
    loop_end(&W, &l, v, 2);
  }
  /* the best of the slots' non-NaN values; the first (last) index of a
   * slot inside the row that holds it */
  ug_kir_type_t st = ug_kir_type_tile(UG_DTYPE_F32, 1, &one), sit = ug_kir_type_tile(UG_DTYPE_I64, 1, &one);
  ug_kir_type_t bt = ug_kir_type_tile(UG_DTYPE_BOOL, 1, &T), ft = ug_kir_type_tile(UG_DTYPE_F32, 1, &T);
  ug_kir_value_id_t nan = ug_kir_ew(k, r, UG_OP_ISNAN, (ug_kir_operand_t[]){ug_kir_val(v[0])}, 1, &bt);
  ug_kir_value_id_t m = ug_kir_reduce(k, r, mx ? UG_OP_MAX : UG_OP_MIN, 0, wsel(&W, r, nan, wsplat(&W, r, ident, UG_DTYPE_F32), v[0]), &st);
  ug_kir_value_id_t valid = wmath(&W, r, UG_OP_AND, wmath(&W, r, UG_OP_EQUAL, v[0], ug_kir_unary(k, r, UG_KIR_BROADCAST, m, &ft)),
                                  wmath(&W, r, UG_OP_LESS, v[1], wcast(&W, r, ug_kir_imm(cols), UG_DTYPE_I64)));
  /* no slot: -1, or (first) the row's end */
  ug_kir_value_id_t none = wsplat(&W, r, f.last ? -1.0 : UG_DIM_IS_STATIC(cols) ? (double)cols : 0.0, UG_DTYPE_I64);
  if (!f.last && !UG_DIM_IS_STATIC(cols)) none = wmath(&W, r, UG_OP_ADD, none, wcast(&W, r, ug_kir_imm(cols), UG_DTYPE_I64));
  ug_kir_value_id_t y = ug_kir_reduce(k, r, f.last ? UG_OP_MAX : UG_OP_MIN, 0, wsel(&W, r, valid, v[1], none), &sit);
  /* a NaN at the row's start stays */
  ug_kir_type_t x1 = ug_kir_type_tile(dt, 1, &one), b1 = ug_kir_type_tile(UG_DTYPE_BOOL, 1, &one);
  at[1] = ug_kir_imm(0);
  ug_kir_value_id_t x0 = wcast(&W, r, ug_kir_val(ug_kir_load(k, r, X, at, 2, UG_NONE, &x1)), UG_DTYPE_F32);
  ug_kir_value_id_t nan0 = ug_kir_ew(k, r, UG_OP_ISNAN, (ug_kir_operand_t[]){ug_kir_val(x0)}, 1, &b1);
  ug_kir_type_t z1 = sit;
  y = wsel(&W, r, nan0, ug_kir_splat(k, r, 0.0, &z1), y);
  ug_kir_store(k, r, Y, at, 2, y, UG_NONE);
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* ---- softmax, log_softmax over an axis before the last ----
 * The rows form alone (each window element a tile load, each result
 * element a tile store along the same columns): x viewed as [outer, A,
 * inner], inner (the axes after the axis) at least UG_KIR_MIN_COLS
 * elements or symbolic; three loops over the axis: its max, the sum of
 * exp(x - max), then each element's exp(x - max) * (1 / sum) (log_softmax:
 * x - (max + log sum)) stored, the row kernels' formulas. */

static ug_status_t lower_softmax_axis(ug_kir_module_t *km, const ug_plan_step_t *s, ug_graph_t *g, const ug_node_t *n,
                                      ug_kir_kernel_t **out) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0));
  ug_dtype_t dt = xt->dtype;
  int R = xt->rank;
  int64_t ax = ug_node_attr_int(g, n, UG_ATTR_AXIS, -1);
  if (ax < 0) ax += R;
  if (ax < 0 || ax >= R - 1) return ug_kir_not_lowered(g, n, "softmax over the last axis (a row kernel's)");
  if (!float_dtype(dt)) return ug_kir_not_lowered(g, n, "a softmax of a dtype other than f32, f16, bf16");
  ug_dim_t outer = 1, inner = 1, A = xt->dims[ax];
  for (int i = 0; i < ax; i++) outer = ug_dim_mul(km->dims, outer, xt->dims[i]);
  for (int i = (int)ax + 1; i < R; i++) inner = ug_dim_mul(km->dims, inner, xt->dims[i]);
  if (UG_DIM_IS_STATIC(inner) && inner < UG_KIR_MIN_COLS)
    return ug_kir_not_lowered(g, n, "a softmax over an axis with fewer than 256 elements after it");
  if (A == 0) return ug_kir_not_lowered(g, n, "a softmax over an empty axis");
  win_t W = {.D = km->dims, .loc = n->loc, .cdt = UG_DTYPE_I64};
  W.T = fit_tile(outer, inner, 32 * UG_KIR_EW_WARPS, 16 / (ug_dtype_bits(dt) / 8), UG_KIR_EW_ROUNDS / 2);
  ug_dim_t tiles = ug_dim_ceildiv(km->dims, inner, W.T), view[3] = {outer, A, inner};
  ug_kir_value_id_t X, Y;
  ug_kir_kernel_t *k = begin_kernel(&W, km, s, dt, view, 3, dt, view, 3, ug_dim_mul(km->dims, outer, tiles), &X, &Y);
  ug_kir_region_id_t r = k->body;
  ug_kir_operand_t pid = ug_kir_val(ug_kir_program_id(k, r, 0));
  ug_kir_operand_t at[3] = {widx(&W, r, UG_OP_DIV, pid, ug_kir_imm(tiles)), ug_kir_imm(0),
                            widx(&W, r, UG_OP_MUL, widx(&W, r, UG_OP_MOD, pid, ug_kir_imm(tiles)), ug_kir_imm(W.T))};
  ug_dim_t T = W.T;
  ug_kir_type_t vt = ug_kir_type_tile(dt, 1, &T);
  bool log = n->op == UG_OP_LOG_SOFTMAX;
  ug_kir_value_id_t m = wsplat(&W, r, -INFINITY, UG_DTYPE_F32), sum = UG_NONE;
  for (int pass = 0; pass < 3; pass++) {
    ug_kir_value_id_t v[2] = {pass == 0 ? m : pass == 1 ? wsplat(&W, r, 0.0, UG_DTYPE_F32) : UG_NONE, UG_NONE};
    ug_kir_value_id_t fin = UG_NONE; /* pass 2: 1 / sum, or max + log sum */
    if (pass == 2) {
      ug_kir_type_t ft = ug_kir_type_tile(UG_DTYPE_F32, 1, &T);
      ug_kir_operand_t one[1] = {ug_kir_val(sum)};
      fin = log ? wmath(&W, r, UG_OP_ADD, m, ug_kir_ew(k, r, UG_OP_LOG, one, 1, &ft))
                : ug_kir_ew(k, r, UG_OP_RECIPROCAL, one, 1, &ft);
    }
    loop_t l;
    ug_kir_operand_t i;
    loop_begin(&W, &l, 0, A, v, 2, &i);
    ug_kir_region_id_t b = l.body;
    at[1] = i;
    ug_kir_value_id_t x = wcast(&W, b, ug_kir_val(ug_kir_load(k, b, X, at, 3, UG_NONE, &vt)), UG_DTYPE_F32);
    ug_kir_type_t ft = *ug_kir_value_type(k, x);
    if (pass == 0) {
      v[0] = wmath(&W, b, UG_OP_MAX, v[0], x);
    } else if (pass == 1) {
      ug_kir_operand_t d[1] = {ug_kir_val(wmath(&W, b, UG_OP_SUB, x, m))};
      v[0] = wmath(&W, b, UG_OP_ADD, v[0], ug_kir_ew(k, b, UG_OP_EXP, d, 1, &ft));
    } else {
      ug_kir_value_id_t y;
      if (log) {
        y = wmath(&W, b, UG_OP_SUB, x, fin);
      } else {
        ug_kir_operand_t d[1] = {ug_kir_val(wmath(&W, b, UG_OP_SUB, x, m))};
        y = wmath(&W, b, UG_OP_MUL, ug_kir_ew(k, b, UG_OP_EXP, d, 1, &ft), fin);
      }
      ug_kir_store(k, b, Y, at, 3, wcast(&W, b, ug_kir_val(y), dt), UG_NONE);
    }
    loop_end(&W, &l, v, 2);
    if (pass == 0) m = v[0];
    if (pass == 1) sum = v[0];
  }
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* ---- resize ----
 * nearest and linear (cubic stays with the per-node kernels): each result
 * element reads 1 or 2^k taps of its operand, k the axes whose extent
 * changes, in the flat form without a loop (at most 16 taps).  The source
 * coordinate of each changed axis is computed in f64 from the element's
 * coordinate, as the per-node kernels compute it (docs/codegen.md,
 * "Semantics notes"), its floor and fraction give the taps (clamped into
 * the axis) and, for linear, their weights (1 - fraction, fraction; with
 * exclude_outside a tap outside the axis weighs 0 and the rest are
 * normalized); linear sums in f32 and rounds once. */

/* The source coordinate (f64 tile) of result coordinate c (a W->cdt tile)
 * along an axis of `in` -> `out` elements, by coordinate mode `mode`. */
static ug_kir_value_id_t resize_coord(win_t *W, ug_kir_region_id_t r, const char *mode, ug_kir_value_id_t c, int64_t in,
                                      int64_t out) {
  ug_kir_value_id_t xf = wcast(W, r, ug_kir_val(c), UG_DTYPE_F64);
  double scale = (double)out / (double)in;
  ug_kir_type_t st = ug_kir_type_tile(UG_DTYPE_F64, 0, NULL);
#define K(v) ug_kir_splat(W->k, r, (v), &st)
  if (strcmp(mode, "asymmetric") == 0) return wmath(W, r, UG_OP_DIV, xf, K(scale));
  if (strcmp(mode, "align_corners") == 0)
    return out == 1 ? wsplat(W, r, 0.0, UG_DTYPE_F64)
                    : wmath(W, r, UG_OP_DIV, wmath(W, r, UG_OP_MUL, xf, K((double)in - 1)), K((double)out - 1));
  if (strcmp(mode, "pytorch_half_pixel") == 0 && out == 1) return wsplat(W, r, -0.5, UG_DTYPE_F64);
  ug_kir_value_id_t half = K(0.5), shifted = wmath(W, r, UG_OP_DIV, wmath(W, r, UG_OP_ADD, xf, half), K(scale));
  if (strcmp(mode, "tf_half_pixel_for_nn") == 0) return shifted;
  ug_kir_value_id_t hp = wmath(W, r, UG_OP_SUB, shifted, half);
  if (strcmp(mode, "half_pixel_symmetric") == 0) {
    double adj = (double)out / (scale * (double)in), center = (double)in * 0.5;
    return wmath(W, r, UG_OP_ADD, K(center * (1 - adj)), hp);
  }
#undef K
  return hp; /* half_pixel, pytorch_half_pixel */
}

/* i clamped into [0, d). */
static ug_kir_value_id_t clamp_axis(win_t *W, ug_kir_region_id_t r, ug_kir_value_id_t i, int64_t d) {
  return wmath(W, r, UG_OP_MAX, wmath(W, r, UG_OP_MIN, i, wconst(W, r, d - 1)), wconst(W, r, 0));
}

static ug_status_t lower_resize(ug_kir_module_t *km, const ug_plan_step_t *s, ug_graph_t *g, const ug_node_t *n,
                                ug_kir_kernel_t **out) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0)), *rt = ug_value_type(g, ug_node_result(g, n, 0));
  ug_dtype_t dt = xt->dtype;
  const char *mode = ug_node_attr_str(g, n, UG_ATTR_MODE, "nearest");
  const char *coord = ug_node_attr_str(g, n, UG_ATTR_COORD_MODE, "half_pixel");
  const char *nearest = ug_node_attr_str(g, n, UG_ATTR_NEAREST_MODE, "round_prefer_floor");
  bool excl = ug_node_attr_int(g, n, UG_ATTR_EXCLUDE_OUTSIDE, 0) != 0;
  bool lin = strcmp(mode, "linear") == 0;
  if (!lin && strcmp(mode, "nearest") != 0) return ug_kir_not_lowered(g, n, "a resize mode other than nearest and linear");
  if (lin && !float_dtype(dt)) return ug_kir_not_lowered(g, n, "a linear resize of a dtype other than f32, f16, bf16");
  static const char *const modes[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                      "tf_half_pixel_for_nn", "half_pixel_symmetric"};
  bool known = false;
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) known = known || strcmp(coord, modes[i]) == 0;
  if (!known) return ug_kir_not_lowered(g, n, "a resize coordinate mode");
  if (rt->dtype != dt || rt->rank != xt->rank) return ug_kir_not_lowered(g, n, "a resize of another dtype or rank");
  int R = xt->rank, axes[UG_MAX_RANK], na = 0;
  for (int a = 0; a < R; a++) {
    if (xt->dims[a] == rt->dims[a]) continue;
    if (!UG_DIM_IS_STATIC(xt->dims[a]) || !UG_DIM_IS_STATIC(rt->dims[a]) || xt->dims[a] == 0)
      return ug_kir_not_lowered(g, n, "a resized axis of a symbolic or no extent");
    axes[na++] = a;
  }
  if (lin && na > 4) return ug_kir_not_lowered(g, n, "a linear resize of more than 4 axes");
  ug_dim_t numel = ug_type_numel(km->dims, rt), xnumel = ug_type_numel(km->dims, xt);
  win_t W = {.D = km->dims, .loc = n->loc};
  W.T = fit_tile(1, numel, 32 * UG_KIR_EW_WARPS, 16 / (ug_dtype_bits(dt) / 8), 1);
  W.cdt = small(xnumel, 0) && small(numel, W.T) ? UG_DTYPE_I32 : UG_DTYPE_I64;
  ug_kir_value_id_t X, Y;
  ug_kir_kernel_t *k = begin_kernel(&W, km, s, dt, &xnumel, 1, dt, &numel, 1, ug_dim_ceildiv(km->dims, numel, W.T), &X, &Y);
  ug_kir_region_id_t r = k->body;
  ug_kir_operand_t col0;
  ug_kir_value_id_t rem = flat_positions(&W, &col0);
  /* each axis's coordinate (innermost first), the unchanged axes' part of
   * the offset, each changed axis's taps and weights */
  ug_dim_t xst = 1;
  ug_kir_value_id_t base = UG_NONE, tap[UG_MAX_RANK][2], wt[UG_MAX_RANK][2];
  ug_dim_t stride[UG_MAX_RANK];
  for (int a = R - 1; a >= 0; a--) {
    ug_kir_value_id_t c = rem;
    if (a > 0) {
      ug_kir_value_id_t d = UG_DIM_IS_STATIC(rt->dims[a]) ? wconst(&W, r, rt->dims[a]) : wcast(&W, r, ug_kir_imm(rt->dims[a]), W.cdt);
      c = wmath(&W, r, UG_OP_MOD, rem, d);
      rem = wmath(&W, r, UG_OP_DIV, rem, d);
    }
    stride[a] = xst;
    bool changed = false;
    for (int i = 0; i < na; i++) changed = changed || axes[i] == a;
    if (!changed) {
      ug_kir_value_id_t part = UG_DIM_IS_STATIC(xst) ? wmad(&W, r, c, xst, 0)
                                                     : wmath(&W, r, UG_OP_MUL, c, wcast(&W, r, ug_kir_imm(xst), W.cdt));
      base = wsum(&W, r, base, part);
    } else {
      int64_t in = xt->dims[a], o = rt->dims[a];
      ug_kir_value_id_t sc = resize_coord(&W, r, coord, c, in, o);
      ug_kir_type_t ft = *ug_kir_value_type(k, sc);
      ug_kir_value_id_t fl = ug_kir_ew(k, r, UG_OP_FLOOR, (ug_kir_operand_t[]){ug_kir_val(sc)}, 1, &ft);
      ug_kir_value_id_t fr = wmath(&W, r, UG_OP_SUB, sc, fl), fi = wcast(&W, r, ug_kir_val(fl), W.cdt);
      if (!lin) {
        /* the nearest tap: floor, plus one by the rounding mode */
        ug_kir_value_id_t bump = UG_NONE;
        ug_kir_type_t st = ug_kir_type_tile(UG_DTYPE_F64, 0, NULL);
        ug_kir_value_id_t h = ug_kir_splat(k, r, strcmp(nearest, "ceil") == 0 ? 0.0 : 0.5, &st);
        if (strcmp(nearest, "ceil") == 0) bump = wmath(&W, r, UG_OP_GREATER, fr, h);
        else if (strcmp(nearest, "round_prefer_ceil") == 0) bump = wmath(&W, r, UG_OP_GREATER_EQUAL, fr, h);
        else if (strcmp(nearest, "floor") != 0) bump = wmath(&W, r, UG_OP_GREATER, fr, h);
        if (bump != UG_NONE) fi = wmath(&W, r, UG_OP_ADD, fi, wcast(&W, r, ug_kir_val(bump), W.cdt));
        tap[a][0] = clamp_axis(&W, r, fi, in);
      } else {
        ug_kir_value_id_t w1 = wcast(&W, r, ug_kir_val(fr), UG_DTYPE_F32);
        ug_kir_type_t one = ug_kir_type_tile(UG_DTYPE_F32, 0, NULL);
        ug_kir_value_id_t w0 = wmath(&W, r, UG_OP_SUB, ug_kir_splat(k, r, 1.0, &one), w1);
        ug_kir_value_id_t raw1 = wmath(&W, r, UG_OP_ADD, fi, wconst(&W, r, 1));
        tap[a][0] = clamp_axis(&W, r, fi, in);
        tap[a][1] = clamp_axis(&W, r, raw1, in);
        if (excl) {
          /* taps outside the axis weigh 0; the others are normalized */
          ug_kir_value_id_t z = wsplat(&W, r, 0.0, UG_DTYPE_F32);
          w0 = wsel(&W, r, wmath(&W, r, UG_OP_GREATER_EQUAL, fi, wconst(&W, r, 0)), w0, z);
          w1 = wsel(&W, r, wmath(&W, r, UG_OP_LESS, raw1, wconst(&W, r, in)), w1, z);
          ug_kir_value_id_t sum = wmath(&W, r, UG_OP_ADD, w0, w1);
          w0 = wmath(&W, r, UG_OP_DIV, w0, sum);
          w1 = wmath(&W, r, UG_OP_DIV, w1, sum);
        }
        wt[a][0] = w0;
        wt[a][1] = w1;
      }
    }
    xst = ug_dim_mul(km->dims, xst, xt->dims[a]);
  }
  ug_dim_t T = W.T;
  ug_kir_type_t gt = ug_kir_type_tile(dt, 1, &T);
  ug_kir_value_id_t y = UG_NONE;
  for (int c = 0; c < (lin ? 1 << na : 1); c++) {
    ug_kir_value_id_t off = base, w = UG_NONE;
    for (int i = 0; i < na; i++) {
      int a = axes[i], t = (c >> i) & 1;
      off = wsum(&W, r, off, wmad(&W, r, tap[a][t], stride[a], 0));
      if (lin) w = w == UG_NONE ? wt[a][t] : wmath(&W, r, UG_OP_MUL, w, wt[a][t]);
    }
    if (off == UG_NONE) off = wmath(&W, r, UG_OP_MUL, rem, wconst(&W, r, 0)); /* one element */
    ug_kir_value_id_t v = ug_kir_gather(k, r, X, off, UG_NONE, 0.0, &gt);
    if (!lin) {
      y = v;
      break;
    }
    v = wmath(&W, r, UG_OP_MUL, w, wcast(&W, r, ug_kir_val(v), UG_DTYPE_F32));
    y = wsum(&W, r, y, v);
  }
  store_result(&W, Y, &col0, 1, y, dt);
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* ---- reductions and argmax / argmin ---- */

static ug_status_t lower_reduce(ug_kir_module_t *km, const ug_plan_step_t *s, ug_graph_t *g, const ug_node_t *n,
                                ug_kir_kernel_t **out) {
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0)), *rt = ug_value_type(g, ug_node_result(g, n, 0));
  ug_dtype_t dt = xt->dtype, rdt = rt->dtype;
  bool arg = n->op == UG_OP_ARGMAX || n->op == UG_OP_ARGMIN;
  if (!window_dtype(dt) || (arg ? rdt != UG_DTYPE_I64 : rdt != dt))
    return ug_kir_not_lowered(g, n, "a reduction of a dtype other than the floats and integers");
  if (n->op == UG_OP_REDUCE_MEAN && ug_dtype_is_int(dt)) return ug_kir_not_lowered(g, n, "an integer mean");
  ug_dtype_t adt = ug_dtype_compute(dt);
  int R = xt->rank;
  if (R == 0) return ug_kir_not_lowered(g, n, "a rank-0 operand");
  bool red[UG_MAX_RANK];
  int a = ug_kir_reduced_axes(g, n, red);
  if (a == -2) return ug_kir_not_lowered(g, n, "axis out of range");
  for (int i = 0; i < R && arg; i++)
    if (red[i] && (!UG_DIM_IS_STATIC(xt->dims[i]) || xt->dims[i] == 0))
      return ug_kir_not_lowered(g, n, "an axis of symbolic or no extent");
  /* a trailing run of reduced axes is a row kernel's (argmax / argmin:
   * lower_arg_rows, floats only: its padding needs an exact identity) */
  bool trailing = a >= 0 && a < R;
  if (trailing && arg && !float_dtype(dt))
    return ug_kir_not_lowered(g, n, "an argmax / argmin of other than f32, f16, bf16 over the last axis");
  if (trailing && arg) return lower_arg_rows(km, s, g, n, out);
  if (trailing) return ug_kir_not_lowered(g, n, "reduced axes that are a trailing run (a row kernel's)");
  groups_t G;
  group_axes(km->dims, xt, red, &G);
  /* rows: the last kept group after the last reduced one is long */
  int last = G.n - 1;
  bool rows = G.n > 0 && !G.red[last] && (!UG_DIM_IS_STATIC(G.e[last]) || G.e[last] >= UG_KIR_MIN_COLS);
  ug_dim_t wsize = 1, numel = 1;
  for (int i = 0; i < G.n; i++) {
    if (G.red[i]) wsize = ug_dim_mul(km->dims, wsize, G.e[i]);
    else numel = ug_dim_mul(km->dims, numel, G.e[i]);
  }
  ug_dim_t xnumel = ug_type_numel(km->dims, xt);
  win_t W = {.D = km->dims, .loc = n->loc};
  int bytes = ug_dtype_bits(rdt) / 8 > ug_dtype_bits(dt) / 8 ? ug_dtype_bits(rdt) / 8 : ug_dtype_bits(dt) / 8;
  int V = 16 / bytes;
  ug_dim_t nrows = 1;
  for (int i = 0; i < last && rows; i++)
    if (!G.red[i]) nrows = ug_dim_mul(km->dims, nrows, G.e[i]);
  W.T = rows ? fit_tile(nrows, G.e[last], 32 * UG_KIR_EW_WARPS, V, UG_KIR_EW_ROUNDS / 2)
             : fit_tile(1, numel, 32 * UG_KIR_EW_WARPS, V, 1);
  W.cdt = small(xnumel, 0) && small(numel, W.T) ? UG_DTYPE_I32 : UG_DTYPE_I64;
  fold_t f = fold_of(g, n, dt);
  /* parameters: rows: x as its groups, the result as its kept groups;
   * flat: x as itself, the result as one axis */
  ug_dim_t xs[UG_MAX_RANK], rs[UG_MAX_RANK];
  int xr = 0, rr = 0;
  ug_dim_t tiles = 1, grid;
  if (rows) {
    for (int i = 0; i < G.n; i++) {
      xs[xr++] = G.e[i];
      if (!G.red[i]) rs[rr++] = G.e[i];
    }
    tiles = ug_dim_ceildiv(km->dims, G.e[last], W.T);
    grid = ug_dim_mul(km->dims, nrows, tiles);
  } else {
    xs[xr++] = xnumel;
    rs[rr++] = numel;
    grid = ug_dim_ceildiv(km->dims, numel, W.T);
  }
  if (xr == 0) xs[xr++] = 1;
  ug_kir_value_id_t X, Y;
  ug_kir_kernel_t *k = begin_kernel(&W, km, s, dt, xs, xr, rdt, rs, rr, grid, &X, &Y);
  ug_kir_region_id_t r = k->body;
  /* per kept group: its coordinate (rows: uniform, the last one col0;
   * flat: per element); the x stride of every group */
  ug_dim_t gst[UG_MAX_RANK], acc = 1;
  for (int i = G.n - 1; i >= 0; i--) {
    gst[i] = acc;
    acc = ug_dim_mul(km->dims, acc, G.e[i]);
  }
  ug_kir_operand_t col0, kc[UG_MAX_RANK], ridx[UG_MAX_RANK];
  ug_kir_value_id_t base = UG_NONE;
  if (rows) {
    ug_kir_value_id_t pid = ug_kir_program_id(k, r, 0);
    ug_kir_operand_t rest = ug_kir_val(pid);
    col0 = widx(&W, r, UG_OP_MUL, widx(&W, r, UG_OP_MOD, rest, ug_kir_imm(tiles)), ug_kir_imm(W.T));
    kc[last] = col0;
    int first_kept = -1;
    for (int i = 0; i < last; i++)
      if (!G.red[i] && first_kept < 0) first_kept = i;
    if (first_kept >= 0) rest = widx(&W, r, UG_OP_DIV, rest, ug_kir_imm(tiles));
    for (int i = last - 1; i >= 0; i--) {
      if (G.red[i]) continue;
      kc[i] = i == first_kept ? rest : widx(&W, r, UG_OP_MOD, rest, ug_kir_imm(G.e[i]));
      if (i != first_kept) rest = widx(&W, r, UG_OP_DIV, rest, ug_kir_imm(G.e[i]));
    }
  } else {
    ug_kir_value_id_t rem = flat_positions(&W, &col0);
    int first_kept = -1;
    for (int i = 0; i < G.n; i++)
      if (!G.red[i] && first_kept < 0) first_kept = i;
    for (int i = G.n - 1; i >= 0; i--) {
      if (G.red[i]) continue;
      ug_kir_value_id_t c = rem;
      if (i != first_kept) {
        if (!UG_DIM_IS_STATIC(G.e[i])) c = wmath(&W, r, UG_OP_MOD, rem, wcast(&W, r, ug_kir_imm(G.e[i]), W.cdt));
        else c = wmath(&W, r, UG_OP_MOD, rem, wconst(&W, r, G.e[i]));
        rem = UG_DIM_IS_STATIC(G.e[i]) ? wmath(&W, r, UG_OP_DIV, rem, wconst(&W, r, G.e[i]))
                                       : wmath(&W, r, UG_OP_DIV, rem, wcast(&W, r, ug_kir_imm(G.e[i]), W.cdt));
      }
      ug_kir_value_id_t part = UG_DIM_IS_STATIC(gst[i]) ? wmad(&W, r, c, gst[i], 0)
                                                        : wmath(&W, r, UG_OP_MUL, c, wcast(&W, r, ug_kir_imm(gst[i]), W.cdt));
      base = wsum(&W, r, base, part);
    }
    if (base == UG_NONE) base = wmath(&W, r, UG_OP_MUL, rem, wconst(&W, r, 0)); /* every axis reduced: one element */
  }
  /* window element `pos`'s value: its reduced coordinates by index math,
   * then a tile load (rows) or a gather (flat) */
  ug_dim_t T = W.T;
  ug_kir_type_t vt = ug_kir_type_tile(dt, 1, &T);
  ug_kir_value_id_t v[2] = {UG_NONE, UG_NONE};
  /* argmax / argmin, and a fold without an exact identity: element 0
   * outside the loop starts it */
  bool first = arg || f.first;
  if (first && (!UG_DIM_IS_STATIC(wsize) || wsize == 0))
    return ug_kir_not_lowered(g, n, "a 64-bit integer min over a window of a symbolic or no extent");
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0 && !first) {
      v[0] = wsplat(&W, r, f.init, adt);
      continue;
    }
    loop_t l;
    ug_kir_operand_t pos = ug_kir_imm(0);
    ug_kir_region_id_t b = r;
    if (pass == 1) {
      loop_begin(&W, &l, first ? 1 : 0, wsize, v, 2, &pos);
      b = l.body;
    }
    ug_kir_operand_t rest = pos, uoff = ug_kir_imm(0);
    int first_red = -1;
    for (int i = 0; i < G.n; i++)
      if (G.red[i] && first_red < 0) first_red = i;
    for (int i = G.n - 1; i >= 0; i--) {
      if (!G.red[i]) continue;
      ridx[i] = i == first_red ? rest : widx(&W, b, UG_OP_MOD, rest, ug_kir_imm(G.e[i]));
      if (i != first_red) rest = widx(&W, b, UG_OP_DIV, rest, ug_kir_imm(G.e[i]));
      if (!rows) uoff = widx(&W, b, UG_OP_ADD, uoff, widx(&W, b, UG_OP_MUL, ridx[i], ug_kir_imm(gst[i])));
    }
    ug_kir_value_id_t x;
    if (rows) {
      ug_kir_operand_t idx[UG_MAX_RANK];
      for (int i = 0; i < G.n; i++) idx[i] = G.red[i] ? ridx[i] : kc[i];
      x = ug_kir_load(k, b, X, idx, (uint32_t)G.n, UG_NONE, &vt);
    } else {
      ug_kir_value_id_t off = uoff.value == UG_NONE && uoff.imm == 0 ? base
                                                                     : wmath(&W, b, UG_OP_ADD, base, wcast(&W, b, uoff, W.cdt));
      x = ug_kir_gather(k, b, X, off, UG_NONE, 0.0, &vt);
    }
    x = wcast(&W, b, ug_kir_val(x), adt);
    if (pass == 0) {
      v[0] = x;
      if (arg) v[1] = wsplat(&W, r, 0.0, UG_DTYPE_I64);
      continue;
    }
    fold_in(&W, b, &f, x, pos, &v[0], &v[1]);
    loop_end(&W, &l, v, 2);
  }
  ug_kir_value_id_t y = arg ? v[1] : v[0];
  if (n->op == UG_OP_REDUCE_MEAN) {
    ug_kir_value_id_t c = UG_DIM_IS_STATIC(wsize) ? wsplat(&W, r, (double)wsize, adt) : wcast(&W, r, ug_kir_imm(wsize), adt);
    y = wmath(&W, r, UG_OP_DIV, y, c);
  }
  ug_kir_operand_t sidx[UG_MAX_RANK];
  uint32_t ns = 0;
  if (rows) {
    for (int i = 0; i < G.n; i++)
      if (!G.red[i]) sidx[ns++] = kc[i];
  } else {
    sidx[ns++] = col0;
  }
  store_result(&W, Y, sidx, ns, y, rdt);
  *out = k;
  return ug_kir_verify_kernel(k);
}

const char *ug_kir_cpu_skip(ug_graph_t *g, const ug_plan_step_t *s) {
  if (s->kind != UG_STEP_NODE || s->num_nodes > 1) return NULL;
  const ug_node_t *n = &g->nodes.items[s->node];
  switch (n->op) {
  case UG_OP_PAD: case UG_OP_TILE: case UG_OP_TRILU: case UG_OP_GATHER_ELEMENTS: case UG_OP_GATHER_ND:
  case UG_OP_MAX_POOL: case UG_OP_AVG_POOL: case UG_OP_LRN: case UG_OP_RESIZE: case UG_OP_ARGMAX: case UG_OP_ARGMIN:
  case UG_OP_INSTANCE_NORM:
    return "the per-node kernel is faster on the CPU (bench/cpu_window)";
  case UG_OP_REDUCE_SUM: case UG_OP_REDUCE_MEAN: case UG_OP_REDUCE_MAX: case UG_OP_REDUCE_MIN: case UG_OP_REDUCE_PROD: {
    /* a window kernel's: reduced axes that are not a trailing run */
    bool red[UG_MAX_RANK];
    return ug_kir_reduced_axes(g, n, red) == -1 ? "the per-node kernel is faster on the CPU (bench/cpu_window)" : NULL;
  }
  default: return NULL;
  }
}

const char *ug_kir_cuda_skip(ug_graph_t *g, const ug_plan_step_t *s) {
  static const char why[] = "the per-node kernel is faster on the GPU (bench/RESULTS.md, window kernels on the H100)";
  if (s->kind != UG_STEP_NODE || s->num_nodes > 1) return NULL;
  const ug_node_t *n = &g->nodes.items[s->node];
  switch (n->op) {
  case UG_OP_MAX_POOL: case UG_OP_AVG_POOL: case UG_OP_INSTANCE_NORM: return why;
  case UG_OP_ARGMAX: case UG_OP_ARGMIN: { /* over an earlier axis (the last is a row kernel, faster) */
    int R = ug_value_type(g, ug_node_operand(g, n, 0))->rank;
    int64_t ax = ug_node_attr_int(g, n, UG_ATTR_AXIS, 0);
    if (ax < 0) ax += R;
    return ax == R - 1 ? NULL : why;
  }
  case UG_OP_REDUCE_SUM: case UG_OP_REDUCE_MEAN: case UG_OP_REDUCE_MAX: case UG_OP_REDUCE_MIN: case UG_OP_REDUCE_PROD: {
    bool red[UG_MAX_RANK];
    return ug_kir_reduced_axes(g, n, red) == -1 ? why : NULL;
  }
  default: return NULL;
  }
}

bool ug_kir_window_op(ug_op_t op) {
  return op == UG_OP_MAX_POOL || op == UG_OP_AVG_POOL || op == UG_OP_REDUCE_SUM || op == UG_OP_REDUCE_MEAN ||
         op == UG_OP_REDUCE_MAX || op == UG_OP_REDUCE_MIN || op == UG_OP_REDUCE_PROD || op == UG_OP_ARGMAX ||
         op == UG_OP_ARGMIN || op == UG_OP_LRN || op == UG_OP_RESIZE;
}

ug_status_t ug_kir_lower_window(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                ug_kir_kernel_t **out) {
  *out = NULL;
  ug_graph_t *g = p->g;
  const ug_node_t *n = &g->nodes.items[s->node];
  bool soft = n->op == UG_OP_SOFTMAX || n->op == UG_OP_LOG_SOFTMAX;
  if (s->num_nodes > 1 || !(ug_kir_window_op(n->op) || soft)) return ug_kir_not_lowered(g, n, "not a window node");
  if (n->num_results != 1 || ug_node_operand(g, n, 0) == UG_NONE || s->num_args != 2)
    return ug_kir_not_lowered(g, n, "arity");
  if (s->num_scratch) return ug_kir_not_lowered(g, n, "scratch buffers");
  if (n->op == UG_OP_MAX_POOL || n->op == UG_OP_AVG_POOL) return lower_pool(km, s, g, n, out);
  if (n->op == UG_OP_LRN) return lower_lrn(km, s, g, n, out);
  if (n->op == UG_OP_RESIZE) return lower_resize(km, s, g, n, out);
  if (n->op == UG_OP_SOFTMAX || n->op == UG_OP_LOG_SOFTMAX) return lower_softmax_axis(km, s, g, n, out);
  return lower_reduce(km, s, g, n, out);
}
