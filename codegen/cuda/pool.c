/* CUDA kernels of the pool family (see kernel.h): max_pool and avg_pool over
 * 1 to 3 spatial dims with kernel_shape, strides, pads, dilations,
 * count_include_pad; ceil_mode is already in the result's shape.
 *
 * As on the CPU (codegen/llvm/pool.c): one thread per result element walks
 * its window, outermost spatial axis first; taps in the padding are skipped
 * (max starts at the dtype's lowest value, -inf for floats) and counted for
 * avg only with count_include_pad, and only within the declared pads (the
 * extra taps that ceil_mode adds past the end pad never count).  f16 and
 * bf16 accumulate in float; avg divides the sum by max(count, 1). */
#include <string.h>

#include "codegen/cuda/kernel.h"

typedef ug_cuda_kctx_t kctx_t;

#define PROD UG_CUDA_PROD

/* The lowest value of dt in its compute type (the max identity). */
static const char *lowest(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F64: return "-ug_inf(0.0)";
  case UG_DTYPE_F32: case UG_DTYPE_F16: case UG_DTYPE_BF16: return "-ug_inf(0.0f)";
  case UG_DTYPE_I64: return "(-9223372036854775807LL - 1)";
  case UG_DTYPE_I32: return "(-2147483647 - 1)";
  case UG_DTYPE_I16: return "(short)-32768";
  case UG_DTYPE_I8: return "(signed char)-128";
  case UG_DTYPE_U64: case UG_DTYPE_U32: case UG_DTYPE_U16: case UG_DTYPE_U8: return "0";
  default: return NULL;
  }
}

ug_status_t ug_cuda_emit_pool(ug_cuda_kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  if (n->op != UG_OP_MAX_POOL && n->op != UG_OP_AVG_POOL) return ug_cuda_unsupported(k);
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  bool is_max = n->op == UG_OP_MAX_POOL;
  int sr = xt->rank - 2;
  if (sr < 1 || sr > 3 || ot->rank != xt->rank)
    return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "pooling over %d spatial dims", sr);
  uint32_t nks, nst, npd, ndl;
  const int64_t *ks = ug_cuda_attr_ints(g, n, UG_ATTR_KERNEL_SHAPE, &nks);
  const int64_t *st = ug_cuda_attr_ints(g, n, UG_ATTR_STRIDES, &nst);
  const int64_t *pd = ug_cuda_attr_ints(g, n, UG_ATTR_PADS, &npd);
  const int64_t *dl = ug_cuda_attr_ints(g, n, UG_ATTR_DILATIONS, &ndl);
  bool incl = ug_node_attr_int(g, n, UG_ATTR_COUNT_INCLUDE_PAD, 0) != 0;
  if (nks != (uint32_t)sr) return ug_node_error(g, n, UG_ERR_INVALID, "kernel_shape needs %d entries", sr);
  ug_dtype_t dt = xt->dtype;
  const char *ct = ug_cuda_ctype(dt), *lo = lowest(dt);
  if (!ct || !lo || (!is_max && !ug_dtype_is_float(dt))) return ug_cuda_unsupported(k);
  const char *ix = k->ix;
  char numel[PROD], xs[UG_MAX_RANK][PROD], d[64];
  for (int a = 0; a < xt->rank; a++) ug_cuda_prodstr(xt, a + 1, xt->rank, xs[a], sizeof xs[a]);
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_cuda_grid_loop(k, numel);
  /* result coordinates c0 (batch), c1 (channel), c2.. (spatial) */
  fprintf(k->f, "    %s r = i;\n", ix);
  for (int a = ot->rank - 1; a >= 1; a--)
    fprintf(k->f, "    const %s c%d = r %% (%s)%s; r /= (%s)%s;\n", ix, a, ix, ug_cuda_dimstr(ot->dims[a], d, sizeof d), ix, d);
  fprintf(k->f, "    const %s c0 = r;\n", ix);
  fprintf(k->f, "    const %s xb = c0 * (%s)(%s) + c1 * (%s)(%s);\n", ix, ix, xs[0], ix, xs[1]);
  fprintf(k->f, "    %s acc = %s;\n", ct, is_max ? lo : "0");
  if (!is_max) fprintf(k->f, "    %s cnt = 0;\n", ix);
  for (int s = 0; s < sr; s++) {
    int64_t stride = nst == (uint32_t)sr ? st[s] : 1, dil = ndl == (uint32_t)sr ? dl[s] : 1;
    int64_t pb = npd == 2u * (uint32_t)sr ? pd[s] : 0, pe = npd == 2u * (uint32_t)sr ? pd[sr + s] : 0;
    ug_cuda_dimstr(xt->dims[2 + s], d, sizeof d);
    fprintf(k->f, "%*sfor (%s t%d = 0; t%d < %lld; t%d++) {\n", 4 + 2 * s, "", ix, s, s, (long long)ks[s], s);
    fprintf(k->f, "%*sconst %s p%d = c%d * %lld - %lld + t%d * %lld;\n", 6 + 2 * s, "", ix, s, 2 + s,
            (long long)stride, (long long)pb, s, (long long)dil);
    fprintf(k->f, "%*sconst bool in%d = p%d >= 0 && p%d < (%s)%s;\n", 6 + 2 * s, "", s, s, s, ix, d);
    if (!is_max && incl)
      fprintf(k->f, "%*sconst bool ip%d = p%d >= %lld && p%d < (%s)%s + %lld;\n", 6 + 2 * s, "", s, s,
              (long long)-pb, s, ix, d, (long long)pe);
  }
  int ind = 4 + 2 * sr;
  if (!is_max && incl) {
    fprintf(k->f, "%*scnt += ", ind, "");
    for (int s = 0; s < sr; s++) fprintf(k->f, "%sip%d", s ? " && " : "(", s);
    fprintf(k->f, ") ? 1 : 0;\n");
  }
  fprintf(k->f, "%*sif (", ind, "");
  for (int s = 0; s < sr; s++) fprintf(k->f, "%sin%d", s ? " && " : "", s);
  fprintf(k->f, ") {\n%*sconst %s v = ", ind + 2, "", ct);
  char src[UG_CUDA_PROD * 4], ld[UG_CUDA_PROD * 4 + 32];
  int used = snprintf(src, sizeof src, "a0[xb");
  for (int s = 0; s < sr && used < (int)sizeof src; s++)
    used += snprintf(src + used, sizeof src - (size_t)used, " + p%d * (%s)(%s)", s, ix, xs[2 + s]);
  if (used < (int)sizeof src) snprintf(src + used, sizeof src - (size_t)used, "]");
  ug_cuda_load_expr(dt, src, ld, sizeof ld);
  fprintf(k->f, "%s;\n", ld);
  if (is_max && ug_dtype_is_float(dt)) fprintf(k->f, "%*sacc = ug_fmax(acc, v);\n", ind + 2, "");
  else if (is_max) fprintf(k->f, "%*sacc = acc > v ? acc : v;\n", ind + 2, "");
  else fprintf(k->f, "%*sacc = acc + v;\n", ind + 2, "");
  if (!is_max && !incl) fprintf(k->f, "%*scnt++;\n", ind + 2, "");
  fprintf(k->f, "%*s}\n", ind, "");
  for (int s = sr - 1; s >= 0; s--) fprintf(k->f, "%*s}\n", 4 + 2 * s, "");
  if (!is_max) fprintf(k->f, "    acc = acc / (%s)(cnt > 1 ? cnt : 1);\n", ct);
  char store[128];
  ug_cuda_store_expr(ot->dtype, "acc", store, sizeof store);
  fprintf(k->f, "    a1[i] = %s;\n  }\n", store);
  return NULL;
}
