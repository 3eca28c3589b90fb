/* Contractions: matmul (NumPy semantics, broadcast batch dims), conv and
 * conv_transpose (N-d, groups, dilations, pads).
 *
 * f32/f64 matmul and conv go through the shared register-blocked GEMM
 * (gemm.c); conv lowers to it as an im2col GEMM per (image, group): the
 * weights are A[M/G, C/G*k], the im2col matrix B[C/G*k, P] lives in a scratch
 * arena buffer (a 1x1, stride-1, unpadded conv reads the input directly) and
 * C is the result itself, laid out [M, P] per image.  Other dtypes (f16,
 * bf16, integers) use direct loops that accumulate in the compute type,
 * except f16/bf16 matmul, which widens each batch into f32 scratch and uses
 * the GEMM.  linear (x @ w^T, float or block-quantized weights) is in
 * linear.c. */
#include <string.h>

#include "codegen/kir_lower.h"
#include "codegen/llvm/gemm.h"
#include "codegen/llvm/lower.h"

/* ---- matmul ---- */

static ug_status_t matmul(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *a = &k->in[0], *bt = &k->in[1], *o = &k->out[0];
  if (a->rank < 1 || bt->rank < 1) return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "matmul of a scalar");
  bool a2 = a->rank >= 2, b2 = bt->rank >= 2;
  LLVMValueRef M = a2 ? a->dims[a->rank - 2] : ug_cg_i64(cg, 1);
  LLVMValueRef K = a->dims[a->rank - 1];
  LLVMValueRef N = b2 ? bt->dims[bt->rank - 1] : ug_cg_i64(cg, 1);
  int ob = o->rank - (a2 ? 1 : 0) - (b2 ? 1 : 0);
  if (ob < 0) return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "matmul result rank");
  ug_cg_tensor_t ab = *a, bb = *bt;
  ab.rank = a2 ? a->rank - 2 : 0;
  bb.rank = b2 ? bt->rank - 2 : 0;
  LLVMValueRef as[UG_MAX_RANK], bs[UG_MAX_RANK];
  ug_cg_broadcast_strides(cg, &ab, ob, as);
  ug_cg_broadcast_strides(cg, &bb, ob, bs);
  LLVMValueRef MN = ug_cg_imul(cg, M, N);
  ug_dtype_t dt = o->dtype;
  LLVMBuilderRef b = cg->b;
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, ob, o->dims);
  LLVMValueRef aoff = ug_cg_offset(cg, ob, n.idx, as), boff = ug_cg_offset(cg, ob, n.idx, bs);
  /* the result's batch offset: row-major over the batch dims, times M*N */
  LLVMValueRef coff = ug_cg_i64(cg, 0);
  for (int i = 0; i < ob; i++) coff = ug_cg_iadd(cg, ug_cg_imul(cg, coff, o->dims[i]), n.idx[i]);
  coff = ug_cg_imul(cg, coff, MN);
  if (k->num_scratch > 0) {
    /* f16/bf16: widen this batch's A and B into f32 scratch, multiply with the
     * f32 GEMM, round the f32 result once into the output */
    LLVMValueRef KN = ug_cg_imul(cg, K, N), MK = ug_cg_imul(cg, M, K);
    LLVMValueRef A32 = k->scratch[0];
    LLVMValueRef B32 = ug_cg_elem_ptr(cg, A32, UG_DTYPE_F32, MK);
    LLVMValueRef C32 = ug_cg_elem_ptr(cg, B32, UG_DTYPE_F32, KN);
    ug_cg_loop_t l1, l2, l3;
    LLVMValueRef i = ug_cg_loop_begin(cg, &l1, ug_cg_i64(cg, 0), MK, NULL);
    ug_cg_store(cg, A32, UG_DTYPE_F32, i, ug_cg_load(cg, a->ptr, a->dtype, ug_cg_iadd(cg, aoff, i)));
    ug_cg_loop_end(cg, &l1);
    i = ug_cg_loop_begin(cg, &l2, ug_cg_i64(cg, 0), KN, NULL);
    ug_cg_store(cg, B32, UG_DTYPE_F32, i, ug_cg_load(cg, bt->ptr, bt->dtype, ug_cg_iadd(cg, boff, i)));
    ug_cg_loop_end(cg, &l2);
    LLVMBuildMemSet(b, C32, LLVMConstInt(cg->t_i8, 0, 0), ug_cg_imul(cg, MN, ug_cg_i64(cg, 4)), 4);
    ug_cg_gemm(cg, UG_DTYPE_F32, M, N, K, A32, K, B32, N, C32, N);
    i = ug_cg_loop_begin(cg, &l3, ug_cg_i64(cg, 0), MN, NULL);
    ug_cg_store(cg, o->ptr, dt, ug_cg_iadd(cg, coff, i), ug_cg_load(cg, C32, UG_DTYPE_F32, i));
    ug_cg_loop_end(cg, &l3);
  } else if (ug_cg_gemm_supported(dt) && a->dtype == dt && bt->dtype == dt) {
    LLVMValueRef cp = ug_cg_elem_ptr(cg, o->ptr, dt, coff);
    LLVMBuildMemSet(b, cp, LLVMConstInt(cg->t_i8, 0, 0), ug_cg_imul(cg, MN, ug_cg_i64(cg, ug_dtype_bits(dt) / 8)), 1);
    ug_cg_gemm(cg, dt, M, N, K, ug_cg_elem_ptr(cg, a->ptr, dt, aoff), K, ug_cg_elem_ptr(cg, bt->ptr, dt, boff), N, cp, N);
  } else {
    ug_dtype_t adt = a->dtype;
    LLVMValueRef acc = ug_cg_alloca(cg, ug_cg_ctype(cg, adt), "acc");
    ug_cg_loop_t li, lj, lk;
    LLVMValueRef i = ug_cg_loop_begin(cg, &li, ug_cg_i64(cg, 0), M, NULL);
    LLVMValueRef j = ug_cg_loop_begin(cg, &lj, ug_cg_i64(cg, 0), N, NULL);
    LLVMBuildStore(b, ug_cg_const(cg, adt, 0), acc);
    LLVMValueRef kk = ug_cg_loop_begin(cg, &lk, ug_cg_i64(cg, 0), K, NULL);
    LLVMValueRef av = ug_cg_load(cg, a->ptr, adt, ug_cg_iadd(cg, aoff, ug_cg_iadd(cg, ug_cg_imul(cg, i, K), kk)));
    LLVMValueRef bv = ug_cg_load(cg, bt->ptr, bt->dtype, ug_cg_iadd(cg, boff, ug_cg_iadd(cg, ug_cg_imul(cg, kk, N), j)));
    bv = ug_cg_convert(cg, bv, bt->dtype, adt);
    LLVMValueRef cur = LLVMBuildLoad2(b, ug_cg_ctype(cg, adt), acc, "");
    LLVMBuildStore(b, ug_cg_add(cg, adt, cur, ug_cg_mul(cg, adt, av, bv)), acc);
    ug_cg_loop_end(cg, &lk);
    LLVMValueRef r = LLVMBuildLoad2(b, ug_cg_ctype(cg, adt), acc, "");
    ug_cg_store(cg, o->ptr, dt, ug_cg_iadd(cg, coff, ug_cg_iadd(cg, ug_cg_imul(cg, i, N), j)),
                ug_cg_convert(cg, r, adt, dt));
    ug_cg_loop_end(cg, &lj);
    ug_cg_loop_end(cg, &li);
  }
  ug_cg_nest_end(cg, &n);
  return NULL;
}

/* ---- conv ---- */

typedef struct {
  int sr; /* spatial rank */
  int64_t stride[UG_MAX_RANK], pb[UG_MAX_RANK], pe[UG_MAX_RANK], dil[UG_MAX_RANK], ks[UG_MAX_RANK];
  int64_t group;
  int64_t prodk;
  bool nhwc; /* conv_nhwc: x [N, spatial..., C], w [k..., C/G, M] */
} conv_attrs_t;

static ug_status_t conv_attrs(ug_graph_t *g, const ug_node_t *n, const ug_type_t *x, const ug_type_t *w,
                              conv_attrs_t *c) {
  memset(c, 0, sizeof *c);
  c->sr = x->rank - 2;
  c->nhwc = n->op == UG_OP_CONV_NHWC;
  if (c->sr < 1 || w->rank != x->rank) return ug_node_error(g, n, UG_ERR_SHAPE, "conv needs x and w of equal rank >= 3");
  uint32_t nst, npd, ndl;
  const int64_t *st = ug_cg_attr_ints(g, n, UG_ATTR_STRIDES, &nst);
  const int64_t *pd = ug_cg_attr_ints(g, n, UG_ATTR_PADS, &npd);
  const int64_t *dl = ug_cg_attr_ints(g, n, UG_ATTR_DILATIONS, &ndl);
  c->group = ug_node_attr_int(g, n, UG_ATTR_GROUP, 1);
  if (c->group < 1) return ug_node_error(g, n, UG_ERR_INVALID, "group must be positive");
  c->prodk = 1;
  for (int i = 0; i < c->sr; i++) {
    c->stride[i] = nst == (uint32_t)c->sr ? st[i] : 1;
    c->dil[i] = ndl == (uint32_t)c->sr ? dl[i] : 1;
    c->pb[i] = npd == 2u * (uint32_t)c->sr ? pd[i] : 0;
    c->pe[i] = npd == 2u * (uint32_t)c->sr ? pd[c->sr + i] : 0;
    ug_dim_t kd = w->dims[c->nhwc ? i : 2 + i];
    if (!UG_DIM_IS_STATIC(kd)) return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "conv kernel size must be static");
    c->ks[i] = kd;
    c->prodk *= c->ks[i];
  }
  return NULL;
}

static bool conv_is_pointwise(const conv_attrs_t *c) {
  for (int i = 0; i < c->sr; i++)
    if (c->ks[i] != 1 || c->stride[i] != 1 || c->pb[i] != 0 || c->pe[i] != 0) return false;
  return true;
}

static bool conv_uses_gemm(ug_graph_t *g, const ug_node_t *n) {
  ug_dtype_t dt = ug_value_type(g, ug_node_result(g, n, 0))->dtype;
  return ug_cg_gemm_supported(dt) && ug_value_type(g, ug_node_operand(g, n, 0))->dtype == dt &&
         ug_value_type(g, ug_node_operand(g, n, 1))->dtype == dt;
}

/* f16/bf16 matmul through the f32 GEMM: f32 copies of one batch's A and B
 * and an f32 result, (M*K + K*N + M*N) * 4 bytes of scratch. */
static bool matmul_widens(ug_graph_t *g, const ug_node_t *n) {
  ug_dtype_t dt = ug_value_type(g, ug_node_result(g, n, 0))->dtype;
  return (dt == UG_DTYPE_F16 || dt == UG_DTYPE_BF16) && ug_value_type(g, ug_node_operand(g, n, 0))->dtype == dt &&
         ug_value_type(g, ug_node_operand(g, n, 1))->dtype == dt;
}

static ug_dim_t matmul_scratch(ug_graph_t *g, const ug_node_t *n) {
  ug_dims_t *d = g->module->dims;
  const ug_type_t *a = ug_value_type(g, ug_node_operand(g, n, 0));
  const ug_type_t *b = ug_value_type(g, ug_node_operand(g, n, 1));
  ug_dim_t M = a->rank >= 2 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
  ug_dim_t N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
  ug_dim_t e = ug_dim_add(d, ug_dim_add(d, ug_dim_mul(d, M, K), ug_dim_mul(d, K, N)), ug_dim_mul(d, M, N));
  return ug_dim_mul(d, e, 4);
}

static ug_status_t node_scratch(ug_graph_t *g, const ug_node_t *n, ug_dim_t *out_sizes, uint32_t *out_count) {
  if (n->op == UG_OP_LINEAR) return ug_cg_linear_scratch(g, n, out_sizes, out_count);
  if (n->op == UG_OP_MATMUL && matmul_widens(g, n) && ug_value_type(g, ug_node_operand(g, n, 0))->rank >= 1 &&
      ug_value_type(g, ug_node_operand(g, n, 1))->rank >= 1) {
    out_sizes[0] = matmul_scratch(g, n);
    *out_count = 1;
    return NULL;
  }
  if (n->op != UG_OP_CONV || !conv_uses_gemm(g, n)) return NULL;
  const ug_type_t *x = ug_value_type(g, ug_node_operand(g, n, 0));
  const ug_type_t *w = ug_value_type(g, ug_node_operand(g, n, 1));
  const ug_type_t *o = ug_value_type(g, ug_node_result(g, n, 0));
  conv_attrs_t c;
  UG_RETURN_IF_ERROR(conv_attrs(g, n, x, w, &c));
  if (conv_is_pointwise(&c)) return NULL;
  ug_dims_t *d = g->module->dims;
  /* (C/G * prod(k)) x P elements */
  ug_dim_t size = ug_dim_mul(d, w->dims[1], c.prodk * (ug_dtype_bits(o->dtype) / 8));
  for (int i = 2; i < o->rank; i++) size = ug_dim_mul(d, size, o->dims[i]);
  out_sizes[0] = size;
  *out_count = 1;
  return NULL;
}

ug_status_t ug_cg_contract_scratch(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes, ug_dim_t *out_sizes,
                                   uint32_t *out_count, bool *out_result) {
  *out_count = 0;
  *out_result = false;
  const ug_node_t *head = ug_node(g, nodes[0]);
  /* a matmul or conv the kernel-IR lowering takes needs nothing (lower.c) */
  if (ug_kir_contract_op(head->op)) {
    ug_status_t st = ug_kir_contract_check(g, nodes, num_nodes);
    if (!st) return NULL;
    ug_status_free(st);
  }
  *out_result = true;
  return node_scratch(g, head, out_sizes, out_count);
}

/* The input coordinate of output position o at tap t along spatial axis i. */
static LLVMValueRef in_pos(ug_cg_t *cg, const conv_attrs_t *c, int i, LLVMValueRef o, LLVMValueRef t) {
  LLVMValueRef p = LLVMBuildSub(cg->b, ug_cg_imul(cg, o, ug_cg_i64(cg, c->stride[i])), ug_cg_i64(cg, c->pb[i]), "");
  return LLVMBuildAdd(cg->b, p, ug_cg_imul(cg, t, ug_cg_i64(cg, c->dil[i])), "");
}

static LLVMValueRef in_range(ug_cg_t *cg, LLVMValueRef p, LLVMValueRef d) {
  return LLVMBuildAnd(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGE, p, ug_cg_i64(cg, 0), ""),
                      LLVMBuildICmp(cg->b, LLVMIntSLT, p, d, ""), "");
}

static LLVMValueRef clamp0(ug_cg_t *cg, LLVMValueRef p, LLVMValueRef d) {
  return ug_cg_imax(cg, ug_cg_i64(cg, 0), ug_cg_imin(cg, p, LLVMBuildSub(cg->b, d, ug_cg_i64(cg, 1), "")));
}

/* Floor and ceiling division by a positive divisor, for any sign of a. */
static LLVMValueRef floor_div(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef d) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef q = LLVMBuildSDiv(b, a, d, "");
  LLVMValueRef inexact = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildMul(b, q, d, ""), a, "");
  LLVMValueRef neg = LLVMBuildICmp(b, LLVMIntSLT, a, ug_cg_i64(cg, 0), "");
  return LLVMBuildSub(b, q, LLVMBuildZExt(b, LLVMBuildAnd(b, inexact, neg, ""), cg->t_i64, ""), "");
}

static LLVMValueRef ceil_div(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef d) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef q = LLVMBuildSDiv(b, a, d, "");
  LLVMValueRef inexact = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildMul(b, q, d, ""), a, "");
  LLVMValueRef pos = LLVMBuildICmp(b, LLVMIntSGT, a, ug_cg_i64(cg, 0), "");
  return LLVMBuildAdd(b, q, LLVMBuildZExt(b, LLVMBuildAnd(b, inexact, pos, ""), cg->t_i64, ""), "");
}

static ug_status_t conv_gemm(ug_cg_t *cg, ug_cg_kernel_t *k, const conv_attrs_t *c) {
  const ug_cg_tensor_t *x = &k->in[0], *w = &k->in[1], *o = &k->out[0];
  const ug_cg_tensor_t *bias = k->num_in > 2 && k->in[2].ptr ? &k->in[2] : NULL;
  ug_dtype_t dt = o->dtype;
  LLVMBuilderRef b = cg->b;
  int sr = c->sr;
  LLVMValueRef G = ug_cg_i64(cg, c->group);
  LLVMValueRef Cg = LLVMBuildSDiv(b, x->dims[1], G, ""), Mg = LLVMBuildSDiv(b, o->dims[1], G, "");
  LLVMValueRef prodD = ug_cg_dims_product(cg, x, 2, x->rank), P = ug_cg_dims_product(cg, o, 2, o->rank);
  LLVMValueRef Kc = ug_cg_imul(cg, Cg, ug_cg_i64(cg, c->prodk));
  bool pw = conv_is_pointwise(c);
  ug_cg_loop_t ln, lg;
  LLVMValueRef in = ug_cg_loop_begin(cg, &ln, ug_cg_i64(cg, 0), x->dims[0], NULL);
  LLVMValueRef gi = ug_cg_loop_begin(cg, &lg, ug_cg_i64(cg, 0), G, NULL);
  LLVMValueRef xoff = ug_cg_imul(cg, ug_cg_iadd(cg, ug_cg_imul(cg, in, x->dims[1]), ug_cg_imul(cg, gi, Cg)), prodD);
  LLVMValueRef Bp;
  if (pw) {
    Bp = ug_cg_elem_ptr(cg, x->ptr, dt, xoff);
  } else {
    Bp = k->scratch[0];
    ug_cg_loop_t lc, lt[UG_MAX_RANK];
    LLVMValueRef ci = ug_cg_loop_begin(cg, &lc, ug_cg_i64(cg, 0), Cg, NULL);
    LLVMValueRef t[UG_MAX_RANK];
    for (int i = 0; i < sr; i++) t[i] = ug_cg_loop_begin(cg, &lt[i], ug_cg_i64(cg, 0), ug_cg_i64(cg, c->ks[i]), NULL);
    LLVMValueRef tflat = ug_cg_i64(cg, 0);
    for (int i = 0; i < sr; i++) tflat = ug_cg_iadd(cg, ug_cg_imul(cg, tflat, ug_cg_i64(cg, c->ks[i])), t[i]);
    LLVMValueRef row = ug_cg_iadd(cg, ug_cg_imul(cg, ci, ug_cg_i64(cg, c->prodk)), tflat);
    LLVMValueRef rowoff = ug_cg_imul(cg, row, P);
    LLVMValueRef cbase = ug_cg_iadd(cg, xoff, ug_cg_imul(cg, ci, prodD));
    /* rows of the last spatial axis: zeros left of the input, a strided copy,
     * zeros right of it (no per-element bounds checks, so it vectorizes);
     * a row whose outer coordinates fall into the padding is all zeros */
    int l = sr - 1;
    ug_cg_nest_t pn;
    ug_cg_nest_begin(cg, &pn, l, o->dims + 2);
    LLVMValueRef ok = LLVMConstInt(cg->t_i1, 1, 0), src = cbase;
    for (int i = 0; i < l; i++) {
      LLVMValueRef p = in_pos(cg, c, i, pn.idx[i], t[i]);
      ok = LLVMBuildAnd(b, ok, in_range(cg, p, x->dims[2 + i]), "");
      src = ug_cg_iadd(cg, src, ug_cg_imul(cg, clamp0(cg, p, x->dims[2 + i]), x->strides[2 + i]));
    }
    LLVMValueRef dst = ug_cg_iadd(cg, rowoff, ug_cg_offset(cg, l, pn.idx, o->strides + 2));
    LLVMValueRef OW = o->dims[2 + l], W = x->dims[2 + l], s = ug_cg_i64(cg, c->stride[l]);
    /* valid ow: 0 <= ow*s + off < W with off = t*d - pad */
    LLVMValueRef off = LLVMBuildSub(b, ug_cg_imul(cg, t[l], ug_cg_i64(cg, c->dil[l])), ug_cg_i64(cg, c->pb[l]), "");
    LLVMValueRef lo = ceil_div(cg, LLVMBuildNeg(b, off, ""), s);
    LLVMValueRef hi = LLVMBuildAdd(b, floor_div(cg, LLVMBuildSub(b, LLVMBuildSub(b, W, ug_cg_i64(cg, 1), ""), off, ""), s),
                                   ug_cg_i64(cg, 1), "");
    lo = ug_cg_imax(cg, ug_cg_i64(cg, 0), ug_cg_imin(cg, lo, OW));
    hi = ug_cg_imax(cg, lo, ug_cg_imin(cg, hi, OW));
    hi = LLVMBuildSelect(b, ok, hi, lo, "");
    LLVMValueRef zero = ug_cg_const(cg, dt, 0);
    ug_cg_loop_t lz1, lcp, lz2;
    LLVMValueRef j = ug_cg_loop_begin(cg, &lz1, ug_cg_i64(cg, 0), lo, NULL);
    ug_cg_store(cg, Bp, dt, ug_cg_iadd(cg, dst, j), zero);
    ug_cg_loop_end(cg, &lz1);
    j = ug_cg_loop_begin(cg, &lcp, lo, hi, NULL);
    LLVMValueRef v = ug_cg_load(cg, x->ptr, dt, ug_cg_iadd(cg, src, ug_cg_iadd(cg, ug_cg_imul(cg, j, s), off)));
    ug_cg_store(cg, Bp, dt, ug_cg_iadd(cg, dst, j), v);
    ug_cg_loop_end(cg, &lcp);
    j = ug_cg_loop_begin(cg, &lz2, hi, OW, NULL);
    ug_cg_store(cg, Bp, dt, ug_cg_iadd(cg, dst, j), zero);
    ug_cg_loop_end(cg, &lz2);
    ug_cg_nest_end(cg, &pn);
    for (int i = sr - 1; i >= 0; i--) ug_cg_loop_end(cg, &lt[i]);
    ug_cg_loop_end(cg, &lc);
  }
  LLVMValueRef coff = ug_cg_imul(cg, ug_cg_iadd(cg, ug_cg_imul(cg, in, o->dims[1]), ug_cg_imul(cg, gi, Mg)), P);
  LLVMValueRef Cp = ug_cg_elem_ptr(cg, o->ptr, dt, coff);
  ug_cg_loop_t lm, lp;
  LLVMValueRef m = ug_cg_loop_begin(cg, &lm, ug_cg_i64(cg, 0), Mg, NULL);
  LLVMValueRef bv = bias ? ug_cg_convert(cg, ug_cg_load(cg, bias->ptr, bias->dtype, ug_cg_iadd(cg, ug_cg_imul(cg, gi, Mg), m)),
                                         bias->dtype, dt)
                         : ug_cg_const(cg, dt, 0);
  LLVMValueRef p = ug_cg_loop_begin(cg, &lp, ug_cg_i64(cg, 0), P, NULL);
  ug_cg_store(cg, Cp, dt, ug_cg_iadd(cg, ug_cg_imul(cg, m, P), p), bv);
  ug_cg_loop_end(cg, &lp);
  ug_cg_loop_end(cg, &lm);
  LLVMValueRef Ap = ug_cg_elem_ptr(cg, w->ptr, dt, ug_cg_imul(cg, ug_cg_imul(cg, gi, Mg), Kc));
  ug_cg_gemm(cg, dt, Mg, P, Kc, Ap, Kc, Bp, P, Cp, P);
  ug_cg_loop_end(cg, &lg);
  ug_cg_loop_end(cg, &ln);
  return NULL;
}

/* Direct convolution for dtypes without the GEMM, conv_transpose and
 * conv_nhwc (channels last: the same sums over other strides). */
static ug_status_t conv_direct(ug_cg_t *cg, ug_cg_kernel_t *k, const conv_attrs_t *c, bool transpose) {
  const ug_cg_tensor_t *x = &k->in[0], *w = &k->in[1], *o = &k->out[0];
  const ug_cg_tensor_t *bias = k->num_in > 2 && k->in[2].ptr ? &k->in[2] : NULL;
  ug_dtype_t dt = o->dtype, xdt = x->dtype;
  LLVMTypeRef ct = ug_cg_ctype(cg, xdt);
  LLVMBuilderRef b = cg->b;
  int sr = c->sr;
  LLVMValueRef G = ug_cg_i64(cg, c->group);
  int ca = c->nhwc ? x->rank - 1 : 1, s0 = c->nhwc ? 1 : 2; /* the channel axis, the first spatial axis */
  LLVMValueRef Cg = LLVMBuildSDiv(b, x->dims[ca], G, ""), Mg = LLVMBuildSDiv(b, o->dims[ca], G, "");
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, o->rank, o->dims);
  LLVMValueRef m = n.idx[ca];
  LLVMValueRef gi = LLVMBuildSDiv(b, m, Mg, "");
  LLVMValueRef ml = LLVMBuildSub(b, m, ug_cg_imul(cg, gi, Mg), "");
  LLVMValueRef acc = ug_cg_alloca(cg, ct, "acc");
  LLVMValueRef init = bias ? ug_cg_convert(cg, ug_cg_load(cg, bias->ptr, bias->dtype, m), bias->dtype, xdt)
                           : ug_cg_const(cg, xdt, 0);
  LLVMBuildStore(b, init, acc);
  ug_cg_loop_t lc, lt[UG_MAX_RANK];
  LLVMValueRef ci = ug_cg_loop_begin(cg, &lc, ug_cg_i64(cg, 0), Cg, NULL);
  LLVMValueRef xc = ug_cg_iadd(cg, ug_cg_imul(cg, gi, Cg), ci);
  LLVMValueRef t[UG_MAX_RANK];
  for (int i = 0; i < sr; i++) t[i] = ug_cg_loop_begin(cg, &lt[i], ug_cg_i64(cg, 0), ug_cg_i64(cg, c->ks[i]), NULL);
  LLVMValueRef ok = LLVMConstInt(cg->t_i1, 1, 0);
  LLVMValueRef xoff = ug_cg_iadd(cg, ug_cg_imul(cg, n.idx[0], x->strides[0]), ug_cg_imul(cg, xc, x->strides[ca]));
  /* w: [M, C/G, k...] for conv, [C, M/G, k...] for conv_transpose, [k..., C/G, M] for conv_nhwc */
  LLVMValueRef woff = transpose ? ug_cg_iadd(cg, ug_cg_imul(cg, xc, w->strides[0]), ug_cg_imul(cg, ml, w->strides[1]))
                      : c->nhwc ? ug_cg_iadd(cg, ug_cg_imul(cg, ci, w->strides[sr]), ug_cg_imul(cg, m, w->strides[sr + 1]))
                                : ug_cg_iadd(cg, ug_cg_imul(cg, m, w->strides[0]), ug_cg_imul(cg, ci, w->strides[1]));
  for (int i = 0; i < sr; i++) {
    LLVMValueRef p;
    if (!transpose) {
      p = in_pos(cg, c, i, n.idx[s0 + i], t[i]);
    } else {
      /* o = i*s - pb + t*d  =>  i = (o + pb - t*d) / s when divisible */
      LLVMValueRef num = LLVMBuildSub(b, LLVMBuildAdd(b, n.idx[2 + i], ug_cg_i64(cg, c->pb[i]), ""),
                                      ug_cg_imul(cg, t[i], ug_cg_i64(cg, c->dil[i])), "");
      LLVMValueRef s = ug_cg_i64(cg, c->stride[i]);
      LLVMValueRef nn = ug_cg_imax(cg, num, ug_cg_i64(cg, 0));
      ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntSGE, num, ug_cg_i64(cg, 0), ""), "");
      ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildSRem(b, nn, s, ""), ug_cg_i64(cg, 0), ""), "");
      p = LLVMBuildSDiv(b, nn, s, "");
    }
    ok = LLVMBuildAnd(b, ok, in_range(cg, p, x->dims[s0 + i]), "");
    xoff = ug_cg_iadd(cg, xoff, ug_cg_imul(cg, clamp0(cg, p, x->dims[s0 + i]), x->strides[s0 + i]));
    woff = ug_cg_iadd(cg, woff, ug_cg_imul(cg, t[i], w->strides[c->nhwc ? i : 2 + i]));
  }
  ug_cg_if_t f;
  ug_cg_if_begin(cg, &f, ok, false);
  LLVMValueRef xv = ug_cg_load(cg, x->ptr, xdt, xoff);
  LLVMValueRef wv = ug_cg_convert(cg, ug_cg_load(cg, w->ptr, w->dtype, woff), w->dtype, xdt);
  LLVMBuildStore(b, ug_cg_add(cg, xdt, LLVMBuildLoad2(b, ct, acc, ""), ug_cg_mul(cg, xdt, xv, wv)), acc);
  ug_cg_if_end(cg, &f);
  for (int i = sr - 1; i >= 0; i--) ug_cg_loop_end(cg, &lt[i]);
  ug_cg_loop_end(cg, &lc);
  ug_cg_store(cg, o->ptr, dt, ug_cg_offset(cg, o->rank, n.idx, o->strides),
              ug_cg_convert(cg, LLVMBuildLoad2(b, ct, acc, ""), xdt, dt));
  ug_cg_nest_end(cg, &n);
  return NULL;
}

ug_status_t ug_cg_lower_contract(ug_cg_t *cg, ug_cg_kernel_t *k) {
  if (k->n->op == UG_OP_MATMUL) return matmul(cg, k);
  if (k->n->op == UG_OP_LINEAR) return ug_cg_lower_linear(cg, k);
  if (k->n->op != UG_OP_CONV && k->n->op != UG_OP_CONV_TRANSPOSE && k->n->op != UG_OP_CONV_NHWC)
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "no cpu lowering for this op");
  conv_attrs_t c;
  const ug_type_t *xt = ug_value_type(k->g, ug_node_operand(k->g, k->n, 0));
  const ug_type_t *wt = ug_value_type(k->g, ug_node_operand(k->g, k->n, 1));
  UG_RETURN_IF_ERROR(conv_attrs(k->g, k->n, xt, wt, &c));
  if (k->n->op == UG_OP_CONV_TRANSPOSE) return conv_direct(cg, k, &c, true);
  if (k->n->op == UG_OP_CONV_NHWC) return conv_direct(cg, k, &c, false);
  if (conv_uses_gemm(k->g, k->n)) return conv_gemm(cg, k, &c);
  return conv_direct(cg, k, &c, false);
}
