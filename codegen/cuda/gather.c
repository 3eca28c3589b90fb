/* CUDA kernels of the gather family (see kernel.h): split, gather,
 * gather_elements, gather_nd, scatter_elements, scatter_nd, pad, tile,
 * resize, trilu, shape_of and range.
 *
 * Semantics are the CPU backend's (codegen/llvm/gather.c, movement.c):
 * indices (i32 or i64) wrap once when negative, then clamp into the axis;
 * values move as raw storage except where the CPU computes (scatter
 * reductions, resize interpolation, range).  Floating point follows the
 * CPU's operation order; products that feed a sum are written with
 * __dmul_rn / __fmul_rn so that NVRTC does not contract them into FMAs.
 *
 * Most ops are one grid-stride loop over the result, splitting the flat
 * index into coordinates c0..c<rank-1> and reading the source at an offset
 * built from them.  The scatters must first copy data to the result and
 * then apply the updates in index order, as the CPU does; one launch cannot
 * order a grid-wide copy before the updates, so they partition the result
 * instead: each thread owns the result elements its updates can reach (a
 * line along the axis for scatter_elements, a column of the slice for
 * scatter_nd), each block copies its threads' elements, synchronizes, and
 * then every thread applies its updates serially in index order.  Repeated
 * indices therefore give the CPU's result exactly (last write wins, or the
 * reduction in the same order), with no atomics. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda/kernel.h"

typedef ug_cuda_kctx_t kctx_t;

#define PROD UG_CUDA_PROD
#define SCATTER_BLOCK 256

/* ---- text helpers ---- */

/* A C expression built piece by piece; full when n reaches the size. */
typedef struct {
  char s[UG_CUDA_EXPR];
  size_t n;
} expr_t;

static void UG_PRINTF(2, 3) ex_add(expr_t *e, const char *fmt, ...) {
  if (e->n >= sizeof e->s) return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(e->s + e->n, sizeof e->s - e->n, fmt, ap);
  va_end(ap);
  e->n += w > 0 ? (size_t)w : 0;
}

static ug_status_t too_long(kctx_t *k) {
  return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "index expression too long for cuda");
}

/* Row-major strides of t as C expressions. */
static void strides_of(const ug_type_t *t, char s[][PROD]) {
  for (int a = 0; a < t->rank; a++) ug_cuda_prodstr(t, a + 1, t->rank, s[a], PROD);
}

/* Writes `const IX <p><a> = ...;` for every axis a of t: the coordinates of
 * the row-major flat index `flat` (an IX variable).  Axes of static size 1
 * get 0. */
static void emit_coords(kctx_t *k, const ug_type_t *t, const char *flat, const char *p) {
  const char *ix = k->ix;
  int first = -1, moving = 0;
  for (int a = 0; a < t->rank; a++)
    if (t->dims[a] != 1) {
      if (first < 0) first = a;
      moving++;
    }
  if (moving > 1) fprintf(k->f, "    %s %sr = %s;\n", ix, p, flat);
  for (int a = t->rank - 1; a >= 0; a--) {
    char d[64];
    if (t->dims[a] == 1) fprintf(k->f, "    const %s %s%d = 0;\n", ix, p, a);
    else if (a == first && moving == 1) fprintf(k->f, "    const %s %s%d = %s;\n", ix, p, a, flat);
    else if (a == first) fprintf(k->f, "    const %s %s%d = %sr;\n", ix, p, a, p);
    else
      fprintf(k->f, "    const %s %s%d = %sr %% (%s)%s; %sr /= (%s)%s;\n", ix, p, a, p, ix,
              ug_cuda_dimstr(t->dims[a], d, sizeof d), p, ix, d);
  }
}

/* Appends ` + coord * (IX)(stride)`. */
static void add_term(kctx_t *k, expr_t *e, const char *coord, const char *stride) {
  ex_add(e, " + %s * (%s)(%s)", coord, k->ix, stride);
}

/* Writes `long long <v> = <index at off>;` wrapped once when negative and
 * clamped into [0, dim) as on the CPU (an out-of-range index is a model
 * error; it must not reach wild memory). */
static int index_text(char *buf, size_t size, int indent, const char *v, const char *src, const char *dim) {
  return snprintf(buf, size,
                  "%*slong long %s = (long long)%s;\n"
                  "%*s{ const long long d_ = %s; if (%s < 0) %s += d_; %s = ug_max0(%s < d_ - 1 ? %s : d_ - 1); }\n",
                  indent, "", v, src, indent, "", dim, v, v, v, v, v);
}

static void emit_index(kctx_t *k, int indent, const char *v, const char *src, const char *dim) {
  size_t n = (size_t)index_text(NULL, 0, indent, v, src, dim) + 1;
  char *buf = malloc(n);
  if (!buf) return;
  index_text(buf, n, indent, v, src, dim);
  fputs(buf, k->f);
  free(buf);
}

static const char *res_name(kctx_t *k, uint32_t r, char *buf, size_t size) {
  snprintf(buf, size, "a%u", k->nops + r);
  return buf;
}

/* ---- split ---- */

/* One grid-stride loop per result, as concat does, over the input's
 * elements in all. */
static ug_status_t emit_split(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]);
  int axis = ug_cuda_norm_axis(ug_node_attr_int(k->g, k->n, UG_ATTR_AXIS, 0), xt->rank);
  if (axis < 0 || axis >= xt->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad split axis");
  const char *ix = k->ix;
  char inner[PROD], inner_x[PROD], d[64];
  expr_t off = {.n = 0};
  ex_add(&off, "0LL");
  ug_cuda_prodstr(xt, axis + 1, xt->rank, inner, sizeof inner);
  ug_cuda_prodstr(xt, axis, xt->rank, inner_x, sizeof inner_x);
  fprintf(k->f, "  const %s t0 = (%s)blockIdx.x * blockDim.x + threadIdx.x, st = (%s)gridDim.x * blockDim.x;\n", ix, ix, ix);
  fprintf(k->f, "  const %s inner = %s, inner_x = %s;\n", ix, inner, inner_x);
  for (uint32_t r = 0; r < k->nres; r++) {
    const ug_type_t *t = ug_value_type(k->g, k->res[r]);
    char nr[PROD], io[PROD], rn[16];
    ug_cuda_prodstr(t, 0, t->rank, nr, sizeof nr);
    ug_cuda_prodstr(t, axis, t->rank, io, sizeof io);
    fprintf(k->f, "  {\n    const %s nr = %s, inner_o = %s, ib = (%s)(%s) * inner;\n", ix, nr, io, ix, off.s);
    fprintf(k->f, "    for (%s i = t0; i < nr; i += st) {\n      const %s q = i / inner_o;\n", ix, ix);
    fprintf(k->f, "      %s[i] = a0[q * inner_x + ib + (i - q * inner_o)];\n    }\n  }\n", res_name(k, r, rn, sizeof rn));
    ex_add(&off, " + %s", ug_cuda_dimstr(t->dims[axis], d, sizeof d));
  }
  if (off.n >= sizeof off.s) return too_long(k);
  k->work = ug_type_numel(k->m->dims, xt);
  return NULL;
}

/* ---- gathers ---- */

/* gather of whole rows of a block-quantized rank-2 table along axis 0 (an
 * embedding lookup; emit.c refuses the other quantized gathers): the result
 * keeps the blocks, so rows are copied as bytes, in the widest unit (up to
 * 16 bytes) that divides the row's bytes when both pointers allow it. */
static ug_status_t emit_gather_rows(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *it = ug_value_type(k->g, k->ops[1]);
  int64_t rb;
  if (xt->rank != 2 || !UG_DIM_IS_STATIC(xt->dims[1]) || !ug_dtype_bytes(xt->dtype, xt->dims[1], &rb))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (quantized table %s)",
                         ug_dtype_name(xt->dtype));
  int u = 16;
  while (rb % u) u /= 2;
  static const char *const unit[] = {"", "unsigned char", "unsigned short", "", "unsigned", "", "", "", "uint2",
                                     "", "", "", "", "", "", "", "uint4"};
  char ni[PROD], d[64];
  ug_cuda_prodstr(it, 0, it->rank, ni, sizeof ni);
  fprintf(k->f, "  typedef %s U;\n", unit[u]);
  fprintf(k->f, "  const int64_t rb = %lldLL, ni = %s;\n", (long long)rb, ni);
  fprintf(k->f, "  const bool vec = ((unsigned long long)a0 | (unsigned long long)a2) %% %d == 0;\n", u);
  fprintf(k->f, "  const int64_t per = vec ? rb / %d : rb, n = ni * per;\n", u);
  fprintf(k->f, "  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {\n");
  fprintf(k->f, "    const int64_t r = i / per, c = i - r * per;\n");
  emit_index(k, 4, "j", "a1[r]", ug_cuda_dimstr(xt->dims[0], d, sizeof d));
  fprintf(k->f, "    if (vec) reinterpret_cast<U *>(a2)[i] = reinterpret_cast<const U *>(a0 + j * rb)[c];\n");
  fprintf(k->f, "    else a2[i] = a0[j * rb + c];\n  }\n");
  k->work = ug_dim_mul(k->m->dims, ug_type_numel(k->m->dims, it), rb / u);
  k->per_thread = 1;
  return NULL;
}

static ug_status_t emit_gather(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *it = ug_value_type(k->g, k->ops[1]);
  const ug_type_t *ot = ug_value_type(k->g, k->res[0]);
  if (ug_dtype_is_quant(xt->dtype)) return emit_gather_rows(k);
  int axis = ug_cuda_norm_axis(ug_node_attr_int(k->g, k->n, UG_ATTR_AXIS, 0), xt->rank);
  if (axis < 0 || axis >= xt->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad gather axis");
  int ir = it->rank;
  char xs[UG_MAX_RANK][PROD], is[UG_MAX_RANK][PROD], numel[PROD], c[16], d[64];
  strides_of(xt, xs);
  strides_of(it, is);
  expr_t io = {.n = 0}, xo = {.n = 0};
  ex_add(&io, "0");
  ex_add(&xo, "0");
  for (int j = 0; j < ir; j++) {
    snprintf(c, sizeof c, "c%d", axis + j);
    add_term(k, &io, c, is[j]);
  }
  for (int a = 0; a < xt->rank; a++) {
    if (a == axis) continue;
    snprintf(c, sizeof c, "c%d", a < axis ? a : a - 1 + ir);
    add_term(k, &xo, c, xs[a]);
  }
  if (io.n >= sizeof io.s || xo.n >= sizeof xo.s) return too_long(k);
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  emit_coords(k, ot, "i", "c");
  char src[UG_CUDA_EXPR + 16];
  snprintf(src, sizeof src, "a1[%s]", io.s);
  emit_index(k, 4, "j", src, ug_cuda_dimstr(xt->dims[axis], d, sizeof d));
  fprintf(k->f, "    a2[i] = a0[%s + (%s)j * (%s)(%s)];\n  }\n", xo.s, k->ix, k->ix, xs[axis]);
  return NULL;
}

static ug_status_t emit_gather_elements(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *ot = ug_value_type(k->g, k->res[0]);
  int axis = ug_cuda_norm_axis(ug_node_attr_int(k->g, k->n, UG_ATTR_AXIS, 0), xt->rank);
  if (axis < 0 || axis >= xt->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad axis");
  char xs[UG_MAX_RANK][PROD], numel[PROD], c[16], d[64];
  strides_of(xt, xs);
  expr_t xo = {.n = 0};
  ex_add(&xo, "0");
  for (int a = 0; a < xt->rank; a++) {
    if (a == axis) continue;
    snprintf(c, sizeof c, "c%d", a);
    add_term(k, &xo, c, xs[a]);
  }
  if (xo.n >= sizeof xo.s) return too_long(k);
  /* the result has the indices' shape: the index of element i is at i */
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  emit_coords(k, ot, "i", "c");
  emit_index(k, 4, "j", "a1[i]", ug_cuda_dimstr(xt->dims[axis], d, sizeof d));
  fprintf(k->f, "    a2[i] = a0[%s + (%s)j * (%s)(%s)];\n  }\n", xo.s, k->ix, k->ix, xs[axis]);
  return NULL;
}

static ug_status_t emit_gather_nd(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *it = ug_value_type(k->g, k->ops[1]);
  const ug_type_t *ot = ug_value_type(k->g, k->res[0]);
  int bd = (int)ug_node_attr_int(k->g, k->n, UG_ATTR_BATCH_DIMS, 0);
  int q = it->rank;
  if (q < 1 || !UG_DIM_IS_STATIC(it->dims[q - 1]))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "gather_nd needs a static index depth");
  int kk = (int)it->dims[q - 1];
  if (bd < 0 || bd + kk > xt->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad gather_nd depth");
  char xs[UG_MAX_RANK][PROD], is[UG_MAX_RANK][PROD], numel[PROD], c[16], d[64];
  strides_of(xt, xs);
  strides_of(it, is);
  /* result coordinates: [index positions (q-1, the first bd are the batch), slice] */
  expr_t ib = {.n = 0}, xo = {.n = 0};
  ex_add(&ib, "0");
  ex_add(&xo, "0");
  for (int a = 0; a < q - 1; a++) {
    snprintf(c, sizeof c, "c%d", a);
    add_term(k, &ib, c, is[a]);
  }
  for (int a = 0; a < bd; a++) {
    snprintf(c, sizeof c, "c%d", a);
    add_term(k, &xo, c, xs[a]);
  }
  for (int a = bd + kk; a < xt->rank; a++) {
    snprintf(c, sizeof c, "c%d", (q - 1) + (a - bd - kk));
    add_term(k, &xo, c, xs[a]);
  }
  if (ib.n >= sizeof ib.s || xo.n >= sizeof xo.s) return too_long(k);
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  emit_coords(k, ot, "i", "c");
  fprintf(k->f, "    const %s ib = %s;\n    %s xo = %s;\n", k->ix, ib.s, k->ix, xo.s);
  for (int j = 0; j < kk; j++) {
    char v[16], src[64];
    snprintf(v, sizeof v, "k%d", j);
    snprintf(src, sizeof src, "a1[ib + %d]", j);
    emit_index(k, 4, v, src, ug_cuda_dimstr(xt->dims[bd + j], d, sizeof d));
    fprintf(k->f, "    xo += (%s)k%d * (%s)(%s);\n", k->ix, j, k->ix, xs[bd + j]);
  }
  fprintf(k->f, "    a2[i] = a0[xo];\n  }\n");
  return NULL;
}

/* ---- scatters ---- */

/* The compute-typed expression of `old <reduction> v` (names of values of
 * dt's compute type); NULL for none, which stores v. */
static const char *reduce_expr(ug_dtype_t dt, const char *red, char *buf, size_t size) {
  bool fl = ug_dtype_is_float(dt), bl = dt == UG_DTYPE_BOOL;
  const char *ct = ug_cuda_ctype(dt);
  if (strcmp(red, "add") == 0) {
    if (fl) snprintf(buf, size, "old + v");
    else if (bl) snprintf(buf, size, "old || v");
    else snprintf(buf, size, "(%s)((unsigned long long)old + (unsigned long long)v)", ct);
  } else if (strcmp(red, "mul") == 0) {
    if (fl) snprintf(buf, size, "old * v");
    else if (bl) snprintf(buf, size, "old && v");
    else snprintf(buf, size, "(%s)((unsigned long long)old * (unsigned long long)v)", ct);
  } else if (strcmp(red, "max") == 0) {
    if (fl) snprintf(buf, size, "ug_fmax(old, v)");
    else snprintf(buf, size, "(old > v ? old : v)");
  } else if (strcmp(red, "min") == 0) {
    if (fl) snprintf(buf, size, "ug_fmin(old, v)");
    else snprintf(buf, size, "(old < v ? old : v)");
  } else {
    return NULL; /* "none", and as on the CPU anything unknown */
  }
  return buf;
}

/* The body of one update: out[dst] = reduce(out[dst], upd[uo]). */
static void emit_update(kctx_t *k, ug_dtype_t dt, const char *red, const char *dst, const char *uo) {
  char e[512], old[2 * PROD + 64], v[2 * PROD + 64], st[600], ld[2 * PROD];
  const char *r = reduce_expr(dt, red, e, sizeof e);
  if (!r) {
    fprintf(k->f, "        a3[%s] = a2[%s];\n", dst, uo);
    return;
  }
  const char *ct = ug_cuda_ctype(dt);
  snprintf(ld, sizeof ld, "a3[%s]", dst);
  ug_cuda_load_expr(dt, ld, old, sizeof old);
  snprintf(ld, sizeof ld, "a2[%s]", uo);
  ug_cuda_load_expr(dt, ld, v, sizeof v);
  ug_cuda_store_expr(dt, r, st, sizeof st);
  fprintf(k->f, "        { const %s old = %s, v = %s; a3[%s] = %s; }\n", ct, old, v, dst, st);
}

static void scatter_launch(kctx_t *k, ug_dim_t owners) {
  k->custom_launch = true;
  k->block = SCATTER_BLOCK;
  k->grid[0] = ug_dim_ceildiv(k->m->dims, owners, SCATTER_BLOCK);
  k->grid[1] = k->grid[2] = 1;
  k->shared_bytes = 0;
}

/* Thread t of block b owns line l = b*256 + t of the result: the elements
 * along the axis at one position of the other axes.  Updates at one such
 * position only reach that line, and the CPU applies them in increasing
 * order along the axis, which is the thread's loop. */
static ug_status_t emit_scatter_elements(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *it = ug_value_type(g, k->ops[1]);
  const ug_type_t *ut = ug_value_type(g, k->ops[2]);
  int r = xt->rank;
  int axis = ug_cuda_norm_axis(ug_node_attr_int(g, k->n, UG_ATTR_AXIS, 0), r);
  const char *red = ug_node_attr_str(g, k->n, UG_ATTR_REDUCTION, "none");
  if (axis < 0 || axis >= r || it->rank != r || ut->rank != r)
    return ug_node_error(g, k->n, UG_ERR_INVALID, "bad axis");
  const char *ix = k->ix;
  char xs[UG_MAX_RANK][PROD], is[UG_MAX_RANK][PROD], us[UG_MAX_RANK][PROD], d[64], c[16];
  strides_of(xt, xs);
  strides_of(it, is);
  strides_of(ut, us);
  /* the lines: x's shape with the axis removed (size 1) */
  ug_type_t lt = *xt;
  lt.dims[axis] = 1;
  ug_dim_t nlines = ug_type_numel(k->m->dims, &lt);
  char nl[PROD], inner[PROD];
  ug_cuda_prodstr(&lt, 0, r, nl, sizeof nl);
  ug_cuda_prodstr(xt, axis + 1, r, inner, sizeof inner);
  expr_t ib = {.n = 0}, ub = {.n = 0}, ok = {.n = 0};
  ex_add(&ib, "0");
  ex_add(&ub, "0");
  ex_add(&ok, "true");
  for (int a = 0; a < r; a++) {
    if (a == axis) continue;
    snprintf(c, sizeof c, "c%d", a);
    add_term(k, &ib, c, is[a]);
    add_term(k, &ub, c, us[a]);
    /* indices may cover only part of the data along the other axes */
    if (it->dims[a] != xt->dims[a]) ex_add(&ok, " && c%d < (%s)%s", a, ix, ug_cuda_dimstr(it->dims[a], d, sizeof d));
  }
  if (ib.n >= sizeof ib.s || ub.n >= sizeof ub.s || ok.n >= sizeof ok.s) return too_long(k);
  fprintf(k->f, "  const %s nl = %s, inner = %s, da = %s;\n", ix, nl, inner, ug_cuda_dimstr(xt->dims[axis], d, sizeof d));
  fprintf(k->f, "  const %s l0 = (%s)blockIdx.x * %d, cnt = nl - l0 < %d ? nl - l0 : %d;\n", ix, ix, SCATTER_BLOCK,
          SCATTER_BLOCK, SCATTER_BLOCK);
  fprintf(k->f, "  // copy this block's lines: element (e %% cnt) of every position along the axis\n");
  fprintf(k->f, "  // (nothing to copy when the result is data's buffer: an in-place update)\n");
  fprintf(k->f, "  if ((const void *)a0 != (const void *)a3)\n");
  fprintf(k->f, "  for (%s e = threadIdx.x; e < cnt * da; e += %d) {\n", ix, SCATTER_BLOCK);
  fprintf(k->f, "    const %s p = e / cnt, l = l0 + (e - p * cnt), o = l / inner;\n", ix);
  fprintf(k->f, "    const %s off = (o * da + p) * inner + (l - o * inner);\n    a3[off] = a0[off];\n  }\n", ix);
  fprintf(k->f, "  __syncthreads();\n");
  fprintf(k->f, "  if ((%s)threadIdx.x < cnt && da > 0) {\n    const %s l = l0 + threadIdx.x, o = l / inner;\n", ix, ix);
  emit_coords(k, &lt, "l", "c");
  fprintf(k->f, "    if (%s) {\n", ok.s);
  fprintf(k->f, "      const %s ib = %s, ub = %s, xb = (o * da) * inner + (l - o * inner);\n", ix, ib.s, ub.s);
  fprintf(k->f, "      for (%s p = 0; p < (%s)%s; p++) {\n", ix, ix, ug_cuda_dimstr(it->dims[axis], d, sizeof d));
  char src[PROD + 32], uo[PROD + 32];
  snprintf(src, sizeof src, "a1[ib + p * (%s)(%s)]", ix, is[axis]);
  snprintf(uo, sizeof uo, "ub + p * (%s)(%s)", ix, us[axis]);
  char dst[64];
  snprintf(dst, sizeof dst, "xb + (%s)j * inner", ix);
  emit_index(k, 8, "j", src, "da");
  emit_update(k, xt->dtype, red, dst, uo);
  fprintf(k->f, "      }\n    }\n  }\n");
  scatter_launch(k, nlines);
  return NULL;
}

/* Thread t of block b owns column j = b*256 + t of the result seen as
 * [data dims before the index depth, slice]: every update writes one whole
 * slice, so element j of each reaches only that column, and the thread
 * applies them in index order.  Blocks stride over the column blocks.
 *
 * In place (the result is data's buffer, as the memory planner makes it for
 * an update of a session state such as a KV cache; tested at run time):
 * nothing is copied, only the updated slices are written.  Without a
 * reduction, and with at most SCATTER_PAR updates, the updates also run in
 * parallel: block u writes column block u % ncb of update u / ncb unless a
 * later update has the same (wrapped, clamped) index, which its threads look
 * for together -- the serial order's last write wins, as on the CPU. */
#define SCATTER_PAR 4096
static ug_status_t emit_scatter_nd(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *it = ug_value_type(g, k->ops[1]);
  const char *red = ug_node_attr_str(g, k->n, UG_ATTR_REDUCTION, "none");
  int q = it->rank, r = xt->rank;
  if (q < 1 || !UG_DIM_IS_STATIC(it->dims[q - 1]))
    return ug_node_error(g, k->n, UG_ERR_UNSUPPORTED, "scatter_nd needs a static index depth");
  int kk = (int)it->dims[q - 1];
  if (kk < 1 || kk > r) return ug_node_error(g, k->n, UG_ERR_INVALID, "bad scatter_nd depth");
  char tmp[64];
  bool plain = reduce_expr(xt->dtype, red, tmp, sizeof tmp) == NULL; /* reduction none */
  const char *ix = k->ix;
  char xs[UG_MAX_RANK][PROD], slice[PROD], nm[PROD], np[PROD], d[64];
  strides_of(xt, xs);
  ug_cuda_prodstr(xt, kk, r, slice, sizeof slice);
  ug_cuda_prodstr(xt, 0, kk, nm, sizeof nm);
  ug_cuda_prodstr(it, 0, q - 1, np, sizeof np);
  ug_dims_t *D = k->m->dims;
  ug_dim_t cols = 1, nupd = 1;
  for (int a = kk; a < r; a++) cols = ug_dim_mul(D, cols, xt->dims[a]);
  for (int a = 0; a < q - 1; a++) nupd = ug_dim_mul(D, nupd, it->dims[a]);
  fprintf(k->f, "  const %s slice = %s, nm = %s, np = %s, ncb = (slice + %d) / %d;\n", ix, slice, nm, np,
          SCATTER_BLOCK - 1, SCATTER_BLOCK);
  fprintf(k->f, "  const bool inplace = (const void *)a0 == (const void *)a3;\n");
  /* the destination offset of update p's slice, added to `dst` */
  expr_t dstcode = {.n = 0};
  for (int a = 0; a < kk; a++) {
    char v[16], src[64], line[1024];
    snprintf(v, sizeof v, "k%d", a);
    snprintf(src, sizeof src, "a1[p * %d + %d]", kk, a);
    index_text(line, sizeof line, 6, v, src, ug_cuda_dimstr(xt->dims[a], d, sizeof d));
    ex_add(&dstcode, "%s      dst += (%s)k%d * (%s)(%s);\n", line, ix, a, ix, xs[a]);
  }
  if (dstcode.n >= sizeof dstcode.s) return too_long(k);
  if (plain) {
    fprintf(k->f, "  if (inplace && np <= %d) {\n", SCATTER_PAR);
    fprintf(k->f, "    for (%s u = blockIdx.x; u < np * ncb; u += gridDim.x) {\n", ix);
    fprintf(k->f, "      const %s p0 = u / ncb, j = (u - p0 * ncb) * %d + threadIdx.x;\n", ix, SCATTER_BLOCK);
    fprintf(k->f, "      %s base;\n      {\n      const %s p = p0;\n      %s dst = 0;\n%s      base = dst;\n      }\n",
            ix, ix, ix, dstcode.s);
    fprintf(k->f, "      // a later update of the same slice overwrites this one\n");
    fprintf(k->f, "      bool later = false;\n");
    fprintf(k->f, "      for (%s p = p0 + 1 + threadIdx.x; p < np && !later; p += %d) {\n", ix, SCATTER_BLOCK);
    fprintf(k->f, "      %s dst = 0;\n%s      later = dst == base;\n      }\n", ix, dstcode.s);
    fprintf(k->f, "      later = __syncthreads_or(later);\n");
    fprintf(k->f, "      if (!later && j < slice) a3[base + j] = a2[p0 * slice + j];\n");
    fprintf(k->f, "    }\n    return;\n  }\n");
  }
  fprintf(k->f, "  for (%s jb = blockIdx.x; jb < ncb; jb += gridDim.x) {\n", ix);
  fprintf(k->f, "  const %s j0 = jb * %d, cnt = slice - j0 < %d ? slice - j0 : %d;\n", ix, SCATTER_BLOCK,
          SCATTER_BLOCK, SCATTER_BLOCK);
  fprintf(k->f, "  // copy this block's columns (nothing to copy in place)\n");
  fprintf(k->f, "  if (!inplace)\n");
  fprintf(k->f, "  for (%s e = threadIdx.x; e < cnt * nm; e += %d) {\n", ix, SCATTER_BLOCK);
  fprintf(k->f, "    const %s m = e / cnt, off = m * slice + j0 + (e - m * cnt);\n    a3[off] = a0[off];\n  }\n", ix);
  fprintf(k->f, "  __syncthreads();\n");
  fprintf(k->f, "  if ((%s)threadIdx.x < cnt && nm > 0) {\n    const %s j = j0 + threadIdx.x;\n", ix, ix);
  fprintf(k->f, "    for (%s p = 0; p < np; p++) {\n      %s dst = j;\n%s", ix, ix, dstcode.s);
  emit_update(k, xt->dtype, red, "dst", "p * slice + j");
  fprintf(k->f, "    }\n  }\n  }\n");
  /* column blocks; in place and without a reduction, (update, column block)
   * pairs (a grid of at least the column blocks, so that the copy of an
   * out-of-place scatter always runs) */
  ug_dim_t ncb = ug_dim_ceildiv(D, cols, SCATTER_BLOCK);
  ug_dim_t par = ug_dim_mul(D, ncb, ug_dim_min(D, nupd, SCATTER_PAR));
  ug_dim_t blocks = plain ? ug_dim_max(D, ncb, par) : ncb;
  scatter_launch(k, 0);
  k->grid[0] = ug_dim_min(D, blocks, UG_CUDA_MAX_GRID);
  return NULL;
}

/* ---- pad, tile, trilu ---- */

static ug_status_t emit_pad(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *ot = ug_value_type(k->g, k->res[0]);
  uint32_t np;
  const int64_t *pads = ug_cuda_attr_ints(k->g, k->n, UG_ATTR_PADS, &np);
  const char *mode = ug_node_attr_str(k->g, k->n, UG_ATTR_MODE, "constant");
  if (np != 2u * (uint32_t)xt->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "pads must have 2*rank entries");
  bool constant = strcmp(mode, "constant") == 0, edge = strcmp(mode, "edge") == 0, wrap = strcmp(mode, "wrap") == 0;
  const char *ix = k->ix, *st = ug_cuda_stype(ot->dtype);
  char xs[UG_MAX_RANK][PROD], numel[PROD], xn[PROD], d[64], zero[64], rn[16];
  strides_of(xt, xs);
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_prodstr(xt, 0, xt->rank, xn, sizeof xn);
  res_name(k, 0, rn, sizeof rn);
  if (constant) {
    ug_cuda_store_expr(ot->dtype, "0", zero, sizeof zero);
    if (k->nops > 1) fprintf(k->f, "  const %s fill = a1[0];\n", st);
    else fprintf(k->f, "  const %s fill = %s;\n", st, zero);
  } else {
    /* reflect, edge and wrap read x everywhere: an empty x has nothing to read */
    fprintf(k->f, "  if (%s == 0) return;\n", xn);
  }
  ug_cuda_grid_loop(k, numel);
  emit_coords(k, ot, "i", "c");
  fprintf(k->f, "    %s xo = 0;\n", ix);
  if (constant) fprintf(k->f, "    bool in = true;\n");
  for (int a = 0; a < xt->rank; a++) {
    ug_cuda_dimstr(xt->dims[a], d, sizeof d);
    fprintf(k->f, "    { const %s d = (%s)%s; %s j = c%d - (%s)%lldLL;", ix, ix, d, ix, a, ix, (long long)pads[a]);
    if (constant) {
      fprintf(k->f, " in = in && j >= 0 && j < d;");
    } else if (edge) {
      fprintf(k->f, " j = j < d - 1 ? j : d - 1; j = j < 0 ? 0 : j;");
    } else if (wrap) {
      fprintf(k->f, " j %%= d; j = j < 0 ? j + d : j;");
    } else {
      /* reflect: period 2(d-1), mirrored (as the CPU's pad_index) */
      fprintf(k->f, " const %s dm1 = d - 1, per = dm1 * 2 > 1 ? dm1 * 2 : 1;", ix);
      fprintf(k->f, " j %%= per; j = j < 0 ? j + per : j; j = j > dm1 ? per - j : j; j = j < dm1 ? j : dm1;");
    }
    fprintf(k->f, " xo += j * (%s)(%s); }\n", ix, xs[a]);
  }
  if (constant) fprintf(k->f, "    %s[i] = in ? a0[xo] : fill;\n  }\n", rn);
  else fprintf(k->f, "    %s[i] = a0[xo];\n  }\n", rn);
  return NULL;
}

static ug_status_t emit_tile(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *ot = ug_value_type(k->g, k->res[0]);
  if (xt->rank != ot->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "tile changes the rank");
  char xs[UG_MAX_RANK][PROD], numel[PROD], d[64], c[96];
  strides_of(xt, xs);
  expr_t xo = {.n = 0};
  ex_add(&xo, "0");
  for (int a = 0; a < xt->rank; a++) {
    if (xt->dims[a] == 1) continue;
    if (xt->dims[a] == ot->dims[a]) snprintf(c, sizeof c, "c%d", a);
    else snprintf(c, sizeof c, "(c%d %% (%s)%s)", a, k->ix, ug_cuda_dimstr(xt->dims[a], d, sizeof d));
    add_term(k, &xo, c, xs[a]);
  }
  if (xo.n >= sizeof xo.s) return too_long(k);
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  emit_coords(k, ot, "i", "c");
  fprintf(k->f, "    a1[i] = a0[%s];\n  }\n", xo.s);
  return NULL;
}

static ug_status_t emit_trilu(kctx_t *k) {
  const ug_type_t *ot = ug_value_type(k->g, k->res[0]);
  int r = ot->rank;
  if (r < 2) return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "trilu needs rank >= 2");
  bool upper = ug_node_attr_int(k->g, k->n, UG_ATTR_UPPER, 1) != 0;
  char numel[PROD], zero[64], rn[16];
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_store_expr(ot->dtype, "0", zero, sizeof zero);
  /* k: the attribute, or an integer scalar operand read at run time */
  if (k->nops > 1) fprintf(k->f, "  const long long kd = (long long)a1[0];\n");
  else fprintf(k->f, "  const long long kd = %lldLL;\n", (long long)ug_node_attr_int(k->g, k->n, UG_ATTR_K, 0));
  fprintf(k->f, "  const %s zero = %s;\n", ug_cuda_stype(ot->dtype), zero);
  ug_cuda_grid_loop(k, numel);
  /* only the last two coordinates matter */
  char dc[64], dr[64];
  ug_cuda_dimstr(ot->dims[r - 1], dc, sizeof dc);
  ug_cuda_dimstr(ot->dims[r - 2], dr, sizeof dr);
  fprintf(k->f, "    const long long col = (long long)i %% %s, row = ((long long)i / %s) %% %s;\n", dc, dc, dr);
  fprintf(k->f, "    const long long dg = col - row;\n");
  fprintf(k->f, "    %s[i] = dg %s kd ? a0[i] : zero;\n  }\n", res_name(k, 0, rn, sizeof rn), upper ? ">=" : "<=");
  return NULL;
}

/* ---- shape_of, range ---- */

/* The run-time sizes of x, written by one thread. */
static ug_status_t emit_shape_of(kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *ot = ug_value_type(k->g, k->res[0]);
  if (ot->dtype != UG_DTYPE_I64) return ug_cuda_unsupported(k);
  fprintf(k->f, "  if (blockIdx.x != 0 || threadIdx.x != 0) return;\n");
  for (int a = 0; a < xt->rank; a++) {
    char d[64];
    fprintf(k->f, "  a1[%d] = (long long)%s;\n", a, ug_cuda_dimstr(xt->dims[a], d, sizeof d));
  }
  k->work = 1;
  return NULL;
}

/* out[i] = start + i * delta in the result's compute type, as the CPU:
 * integers wrap, floats round after the product and after the sum. */
static ug_status_t emit_range(kctx_t *k) {
  const ug_type_t *ot = ug_value_type(k->g, k->res[0]);
  ug_dtype_t dt = ot->dtype;
  const char *ct = ug_cuda_ctype(dt);
  char numel[PROD], s[64], dl[64], v[256], st[320];
  ug_cuda_load_expr(dt, "a0[0]", s, sizeof s);
  ug_cuda_load_expr(dt, "a2[0]", dl, sizeof dl);
  fprintf(k->f, "  const %s s = %s, dl = %s;\n", ct, s, dl);
  if (dt == UG_DTYPE_F64) snprintf(v, sizeof v, "__dadd_rn(s, __dmul_rn((double)i, dl))");
  else if (ug_dtype_is_float(dt)) snprintf(v, sizeof v, "__fadd_rn(s, __fmul_rn((float)i, dl))");
  else if (ug_dtype_is_int(dt))
    snprintf(v, sizeof v, "(%s)((unsigned long long)s + (unsigned long long)i * (unsigned long long)dl)", ct);
  else return ug_cuda_unsupported(k);
  ug_cuda_store_expr(dt, v, st, sizeof st);
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  fprintf(k->f, "    a3[i] = %s;\n  }\n", st);
  return NULL;
}

/* ---- resize ---- */

/* The float -> integer conversion of the CPU (truncating, saturating, NaN
 * to 0), a prelude helper. */
static const char *f2i(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_I64: return "ug_f2i_i64";
  case UG_DTYPE_I32: return "ug_f2i_i32";
  case UG_DTYPE_I16: return "ug_f2i_i16";
  case UG_DTYPE_I8: return "ug_f2i_i8";
  case UG_DTYPE_U64: return "ug_f2i_u64";
  case UG_DTYPE_U32: return "ug_f2i_u32";
  case UG_DTYPE_U16: return "ug_f2i_u16";
  case UG_DTYPE_U8: return "ug_f2i_u8";
  default: return NULL;
  }
}

/* A double constant that reads back exactly. */
static const char *dlit(double v, char *buf, size_t size) {
  snprintf(buf, size, "%.17e", v);
  return buf;
}

/* Writes the cubic convolution weight of tap t at fraction `fr` into w<a>[t]
 * (codegen/llvm/gather.c cubic_w, operation by operation). */
static void emit_cubic_w(kctx_t *k, double A, int t, int a) {
  char l1[40], l2[40], l3[40];
  static const char *dist[4] = {"fr + 1.0", "fr", "1.0 - fr", "2.0 - fr"};
  fprintf(k->f, "      { const double s = %s;", dist[t]);
  if (t == 1 || t == 2) {
    fprintf(k->f, " const double p = __dmul_rn(%s, s) - %s;", dlit(A + 2, l1, sizeof l1), dlit(A + 3, l2, sizeof l2));
    fprintf(k->f, " w%d[%d] = __dmul_rn(p, __dmul_rn(s, s)) + 1.0; }\n", a, t);
  } else {
    fprintf(k->f, " double p = __dmul_rn(%s, s) - %s;", dlit(A, l1, sizeof l1), dlit(5 * A, l2, sizeof l2));
    fprintf(k->f, " p = __dmul_rn(p, s) + %s;", dlit(8 * A, l3, sizeof l3));
    fprintf(k->f, " w%d[%d] = __dmul_rn(p, s) - %s; }\n", a, t, dlit(4 * A, l1, sizeof l1));
  }
}

/* The source coordinate `sc` of result coordinate c<a> (the CPU's
 * src_coord, in double). */
static void emit_src_coord(kctx_t *k, const char *coord, int a, const char *in, const char *out) {
  fprintf(k->f, "      const double xf = (double)c%d, inl = (double)%s, outl = (double)%s;\n", a, in, out);
  fprintf(k->f, "      const double scale = outl / inl, hp = (xf + 0.5) / scale - 0.5;\n");
  if (strcmp(coord, "asymmetric") == 0) fprintf(k->f, "      const double sc = xf / scale;\n");
  else if (strcmp(coord, "align_corners") == 0)
    fprintf(k->f, "      const double sc = outl == 1.0 ? 0.0 : xf * (inl - 1.0) / (outl - 1.0);\n");
  else if (strcmp(coord, "pytorch_half_pixel") == 0) fprintf(k->f, "      const double sc = outl == 1.0 ? -0.5 : hp;\n");
  else if (strcmp(coord, "tf_half_pixel_for_nn") == 0) fprintf(k->f, "      const double sc = (xf + 0.5) / scale;\n");
  else if (strcmp(coord, "half_pixel_symmetric") == 0) {
    fprintf(k->f, "      const double adj = outl / (scale * inl), center = inl * 0.5;\n");
    fprintf(k->f, "      const double sc = __dmul_rn(center, 1.0 - adj) + hp;\n");
  } else fprintf(k->f, "      const double sc = hp;\n");
  fprintf(k->f, "      const double fl = floor(sc), fr = sc - fl;\n      const long long fi = (long long)fl;\n");
}

static ug_status_t emit_resize(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  const char *coord = ug_node_attr_str(g, k->n, UG_ATTR_COORD_MODE, "half_pixel");
  const char *nearest = ug_node_attr_str(g, k->n, UG_ATTR_NEAREST_MODE, "round_prefer_floor");
  const char *mode = ug_node_attr_str(g, k->n, UG_ATTR_MODE, "nearest");
  double A = ug_node_attr_float(g, k->n, UG_ATTR_CUBIC_COEFF_A, -0.75);
  bool excl = ug_node_attr_int(g, k->n, UG_ATTR_EXCLUDE_OUTSIDE, 0) != 0;
  if (strcmp(coord, "tf_crop_and_resize") == 0)
    return ug_node_error(g, k->n, UG_ERR_UNSUPPORTED, "resize with tf_crop_and_resize is not supported");
  int taps = strcmp(mode, "nearest") == 0 ? 1 : strcmp(mode, "linear") == 0 ? 2 : strcmp(mode, "cubic") == 0 ? 4 : 0;
  if (!taps) return ug_node_error(g, k->n, UG_ERR_UNSUPPORTED, "resize mode %s", mode);
  int r = ot->rank;
  if (xt->rank != r) return ug_node_error(g, k->n, UG_ERR_INVALID, "resize changes the rank");
  /* axes that change size interpolate; the others copy */
  int axes[UG_MAX_RANK], na = 0;
  for (int a = 0; a < r; a++)
    if (xt->dims[a] != ot->dims[a]) axes[na++] = a;
  if (taps > 1 && na > 4) return ug_node_error(g, k->n, UG_ERR_UNSUPPORTED, "resize over more than 4 axes");
  const char *ix = k->ix;
  char xs[UG_MAX_RANK][PROD], numel[PROD], din[64], dout[64], c[16];
  strides_of(xt, xs);
  expr_t base = {.n = 0};
  ex_add(&base, "0");
  for (int a = 0; a < r; a++) {
    if (xt->dims[a] != ot->dims[a]) continue;
    snprintf(c, sizeof c, "c%d", a);
    add_term(k, &base, c, xs[a]);
  }
  if (base.n >= sizeof base.s) return too_long(k);
  ug_cuda_prodstr(ot, 0, r, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  emit_coords(k, ot, "i", "c");
  fprintf(k->f, "    %s xo = %s;\n", ix, base.s);
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    ug_cuda_dimstr(xt->dims[a], din, sizeof din);
    ug_cuda_dimstr(ot->dims[a], dout, sizeof dout);
    if (taps == 1) fprintf(k->f, "    long long r%d;\n", a);
    else fprintf(k->f, "    long long r%d[%d];\n    double w%d[%d];\n", a, taps, a, taps);
    if (taps > 1 && excl) fprintf(k->f, "    double ws%d = 0.0;\n", a);
    fprintf(k->f, "    {\n");
    emit_src_coord(k, coord, a, din, dout);
    if (taps == 1) {
      const char *bump = strcmp(nearest, "floor") == 0 ? "false"
                         : strcmp(nearest, "ceil") == 0 ? "fr > 0.0"
                         : strcmp(nearest, "round_prefer_ceil") == 0 ? "fr >= 0.5" : "fr > 0.5";
      fprintf(k->f, "      const long long v = fi + ((%s) ? 1 : 0), d = %s;\n", bump, din);
      fprintf(k->f, "      r%d = ug_max0(v < d - 1 ? v : d - 1);\n", a);
      fprintf(k->f, "    }\n    xo += (%s)r%d * (%s)(%s);\n", ix, a, ix, xs[a]);
      continue;
    }
    fprintf(k->f, "      const long long d = %s;\n", din);
    for (int t = 0; t < taps; t++) {
      fprintf(k->f, "      { const long long v = fi + %d; r%d[%d] = ug_max0(v < d - 1 ? v : d - 1);", taps == 2 ? t : t - 1, a, t);
      if (taps == 2) fprintf(k->f, " w%d[%d] = %s; }\n", a, t, t == 0 ? "1.0 - fr" : "fr");
      else fprintf(k->f, " }\n");
      if (taps == 4) emit_cubic_w(k, A, t, a);
      if (excl) fprintf(k->f, "      if (fi + %d < 0 || fi + %d >= d) w%d[%d] = 0.0;\n", taps == 2 ? t : t - 1,
                        taps == 2 ? t : t - 1, a, t);
      if (excl) fprintf(k->f, "      ws%d = ws%d + w%d[%d];\n", a, a, a, t);
    }
    fprintf(k->f, "    }\n");
  }
  char rn[16], st[256], ld[320];
  res_name(k, 0, rn, sizeof rn);
  if (taps == 1) {
    fprintf(k->f, "    %s[i] = a0[xo];\n  }\n", rn);
    return NULL;
  }
  int total = 1;
  for (int i = 0; i < na; i++) total *= taps;
  /* the CPU's order: combination cc, the first interpolating axis fastest */
  fprintf(k->f, "    double acc = 0.0;\n#pragma unroll\n    for (int cc = 0; cc < %d; cc++) {\n", total);
  fprintf(k->f, "      int cq = cc;\n      double wt = 1.0;\n      %s so = xo;\n", ix);
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    /* with exclude_outside the CPU divides by the weights' sum in each combination */
    fprintf(k->f, "      { const int t = cq %% %d; cq /= %d; so += (%s)r%d[t] * (%s)(%s);", taps, taps, ix, a, ix, xs[a]);
    if (excl) fprintf(k->f, " wt = __dmul_rn(wt, w%d[t] / ws%d); }\n", a, a);
    else fprintf(k->f, " wt = __dmul_rn(wt, w%d[t]); }\n", a);
  }
  ug_cuda_load_expr(xt->dtype, "a0[so]", ld, sizeof ld);
  fprintf(k->f, "      acc = __dadd_rn(acc, __dmul_rn(wt, (double)%s));\n    }\n", ld);
  ug_dtype_t dt = ot->dtype;
  if (dt == UG_DTYPE_F64) snprintf(st, sizeof st, "acc");
  else if (ug_dtype_is_float(dt)) ug_cuda_store_expr(dt, "(float)acc", st, sizeof st);
  else if (f2i(dt)) snprintf(st, sizeof st, "%s(acc)", f2i(dt));
  else return ug_cuda_unsupported(k);
  fprintf(k->f, "    %s[i] = %s;\n  }\n", rn, st);
  return NULL;
}

ug_status_t ug_cuda_emit_gather(ug_cuda_kctx_t *k) {
  switch (k->n->op) {
  case UG_OP_SPLIT: return emit_split(k);
  case UG_OP_GATHER: return emit_gather(k);
  case UG_OP_GATHER_ELEMENTS: return emit_gather_elements(k);
  case UG_OP_GATHER_ND: return emit_gather_nd(k);
  case UG_OP_SCATTER_ELEMENTS: return emit_scatter_elements(k);
  case UG_OP_SCATTER_ND: return emit_scatter_nd(k);
  case UG_OP_PAD: return emit_pad(k);
  case UG_OP_TILE: return emit_tile(k);
  case UG_OP_RESIZE: return emit_resize(k);
  case UG_OP_TRILU: return emit_trilu(k);
  case UG_OP_SHAPE_OF: return emit_shape_of(k);
  case UG_OP_RANGE: return emit_range(k);
  default: return ug_cuda_unsupported(k);
  }
}
