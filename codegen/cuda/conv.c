/* CUDA kernels of conv and conv_transpose (see kernel.h), with the
 * semantics of the CPU backend (codegen/llvm/contract.c) and the shapes of
 * ir/infer.c.  A conv may head a fused kernel: every result element then
 * goes through the epilogue lambda `ug_epi(flat index, value)` (emit.c).
 *
 * - Implicit GEMM on the tensor cores: conv with f16, bf16 or f32 x, w and
 *   result (f32: the f32 matmul's pipeline, ug_cuda_mma32_*, in
 *   --precision's arithmetic), 1 or 2 spatial dims, at least 16 output channels and 16
 *   reduction terms per group (conv_tc).  Per group g it is the GEMM
 *     out[img, g*Mg + m, p] = sum_k w[g*Mg + m, k] * X[k, (img, p)]
 *   with M = Mg output channels, N = images x output pixels, K = C/G x kh x
 *   kw, where column (img, p), row k = (c, r, s) of X is the input element
 *   under tap (r, s) of output pixel p (zero in the padding): im2col, never
 *   materialized.  It runs the 128x128x32 tile pipeline of the f16 matmul
 *   (contract.c, ug_cuda_mma16_loop): w rows come in by 16-byte cp.async
 *   when K is a multiple of 8, X columns are gathered element by element
 *   into registers when a k tile is issued and written to shared memory
 *   after the current tile's math (UG_STASH), so the loads overlap it.  A
 *   1x1, stride-1, unpadded conv whose output plane is a multiple of 8
 *   reads X by 16-byte cp.async as well.  The bias is added to the f32
 *   accumulator, which is rounded once (as the CPU's direct conv does).
 * - conv_transpose takes the same GEMM (conv_tt_*: operands fetched
 *   element by element, stride divisibility tested per tap), f32 too.
 * - Direct, everything else: one thread per output
 *   element (the default grid-stride launch), accumulating in the compute
 *   type of x (f32 for f16 / bf16), starting from the bias like the CPU's
 *   conv_direct.  The plan's scratch buffers (the CPU's im2col space) are
 *   unused. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda/kernel.h"

#define TEXT UG_CUDA_PROD

static const char ind[] = "                                        "; /* indentation */

typedef struct {
  const ug_type_t *x, *w, *o;
  int sr; /* spatial dims */
  int64_t stride[UG_MAX_RANK], pad[2 * UG_MAX_RANK], dil[UG_MAX_RANK], ks[UG_MAX_RANK], group; /* pads: begins, ends */
  int xa, wa, ba, oa; /* params of x, w, the bias (-1: none), the result (-1: only the epilogue reads it) */
  bool nhwc;          /* conv_nhwc: x [N, spatial..., C], w [k..., C/G, M] */
  bool transpose;     /* conv_transpose: w [C, M/G, k...] */
} conv_t;

static ug_status_t conv_parse(ug_cuda_kctx_t *k, conv_t *c) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  memset(c, 0, sizeof *c);
  c->x = ug_value_type(g, k->ops[0]);
  c->w = ug_value_type(g, k->ops[1]);
  c->o = ug_value_type(g, k->res[0]);
  c->sr = c->x->rank - 2;
  c->nhwc = n->op == UG_OP_CONV_NHWC;
  c->transpose = n->op == UG_OP_CONV_TRANSPOSE;
  if (c->sr < 1 || c->w->rank != c->x->rank || c->o->rank != c->x->rank)
    return ug_node_error(g, n, UG_ERR_SHAPE, "conv needs x and w of equal rank >= 3");
  uint32_t nst, npd, ndl;
  const int64_t *stv = ug_cuda_attr_ints(g, n, UG_ATTR_STRIDES, &nst);
  const int64_t *pdv = ug_cuda_attr_ints(g, n, UG_ATTR_PADS, &npd);
  const int64_t *dlv = ug_cuda_attr_ints(g, n, UG_ATTR_DILATIONS, &ndl);
  c->group = ug_node_attr_int(g, n, UG_ATTR_GROUP, 1);
  if (c->group < 1) return ug_node_error(g, n, UG_ERR_INVALID, "group must be positive");
  for (int i = 0; i < c->sr; i++) {
    c->stride[i] = nst == (uint32_t)c->sr ? stv[i] : 1;
    c->dil[i] = ndl == (uint32_t)c->sr ? dlv[i] : 1;
    c->pad[i] = npd == 2u * (uint32_t)c->sr ? pdv[i] : 0;
    c->pad[c->sr + i] = npd == 2u * (uint32_t)c->sr ? pdv[c->sr + i] : 0;
    ug_dim_t kd = c->w->dims[c->nhwc ? i : 2 + i];
    if (!UG_DIM_IS_STATIC(kd)) return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "conv kernel size must be static");
    c->ks[i] = kd;
    if (c->stride[i] < 1) return ug_node_error(g, n, UG_ERR_INVALID, "strides must be positive");
  }
  /* params: as contract.c routes them (unfused) or as emit.c found them in the step */
  c->xa = k->mm_arg[0];
  c->wa = k->mm_arg[1];
  c->oa = k->mm_arg[2];
  c->ba = k->nops == 3 ? k->bias_arg : -1;
  return NULL;
}

/* `a<oa>[i] = v` rounded to the result's dtype, or the epilogue's `ug_epi(i, v)`. */
static void conv_put(ug_cuda_kctx_t *k, const conv_t *c, const char *i, const char *v, int indent) {
  if (k->epilogue) {
    fprintf(k->f, "%.*sug_epi(%s, (float)(%s));\n", indent, ind, i, v);
    return;
  }
  char sc[256], e[128];
  snprintf(e, sizeof e, "(%s)(%s)", ug_cuda_ctype(c->o->dtype), v);
  ug_cuda_store_expr(c->o->dtype, e, sc, sizeof sc);
  fprintf(k->f, "%.*sa%d[%s] = %s;\n", indent, ind, c->oa, i, sc);
}

/* The direct convs' accumulator of type ct for output channel m: the bias, or 0. */
static void acc_init(ug_cuda_kctx_t *k, const conv_t *c, const char *ct) {
  if (c->ba < 0) {
    fprintf(k->f, "    %s acc = 0;\n", ct);
    return;
  }
  char src[48], bl[128];
  snprintf(src, sizeof src, "a%d[m]", c->ba);
  ug_cuda_load_expr(ug_value_type(k->g, k->ops[2])->dtype, src, bl, sizeof bl);
  fprintf(k->f, "    %s acc = (%s)%s;\n", ct, ct, bl);
}

static ug_status_t conv_direct(ug_cuda_kctx_t *k, const conv_t *c, bool transpose) {
  const ug_type_t *x = c->x, *w = c->w, *o = c->o;
  int sr = c->sr;
  const char *ix = k->ix, *ct = ug_cuda_ctype(x->dtype);
  char d[64], C[64], Mo[64], Cg[128], Mg[128], numel[TEXT], prodk[64];
  ug_cuda_dimstr(x->dims[1], C, sizeof C);
  ug_cuda_dimstr(o->dims[1], Mo, sizeof Mo);
  /* channels per group: conv's w is [M, C/G, k...], conv_transpose's [C, M/G, k...] */
  if (transpose) {
    snprintf(Cg, sizeof Cg, "(%s / %lldLL)", C, (long long)c->group);
    ug_cuda_dimstr(w->dims[1], Mg, sizeof Mg);
  } else {
    ug_cuda_dimstr(w->dims[1], Cg, sizeof Cg);
    snprintf(Mg, sizeof Mg, "(%s / %lldLL)", Mo, (long long)c->group);
  }
  ug_cuda_prodstr(o, 0, o->rank, numel, sizeof numel);
  ug_cuda_prodstr(w, 2, w->rank, prodk, sizeof prodk);
  fprintf(k->f, "  const %s Cg = (%s)%s, Mg = (%s)%s, Mo = (%s)%s;\n", ix, ix, Cg, ix, Mg, ix, Mo);
  /* the default launch over the result's elements (a fused step has none yet) */
  k->work = ug_type_numel(k->m->dims, o);
  k->per_thread = 1;
  ug_cuda_grid_loop(k, numel);
  fprintf(k->f, "    %s t = i;\n", ix);
  for (int i = sr - 1; i >= 0; i--)
    fprintf(k->f, "    const %s o%d = t %% (%s)%s; t /= (%s)%s;\n", ix, i, ix,
            ug_cuda_dimstr(o->dims[2 + i], d, sizeof d), ix, d);
  fprintf(k->f, "    const %s m = t %% Mo, img = t / Mo, gi = m / Mg, ml = m - gi * Mg;\n", ix);
  char wl[128], xl[128], src[32];
  acc_init(k, c, ct);
  fprintf(k->f, "    for (%s ci = 0; ci < Cg; ci++) {\n", ix);
  fprintf(k->f, "      const %s xc = gi * Cg + ci;\n", ix);
  char prodD[TEXT];
  ug_cuda_prodstr(x, 2, x->rank, prodD, sizeof prodD);
  fprintf(k->f, "      const %s *__restrict__ xp = a%d + (img * (%s)%s + xc) * (%s)(%s);\n",
          ug_cuda_stype(x->dtype), c->xa, ix, C, ix, prodD);
  if (transpose)
    fprintf(k->f, "      const %s *__restrict__ wp = a%d + (xc * Mg + ml) * (%s)(%s);\n", ug_cuda_stype(w->dtype), c->wa,
            ix, prodk);
  else
    fprintf(k->f, "      const %s *__restrict__ wp = a%d + (m * Cg + ci) * (%s)(%s);\n", ug_cuda_stype(w->dtype), c->wa,
            ix, prodk);
  /* one loop per spatial axis; taps outside the input are skipped */
  for (int i = 0; i < sr; i++) {
    int in = 6 + 2 * i;
    fprintf(k->f, "%.*sfor (int t%d = 0; t%d < %lld; t%d++) {\n", in, ind, i, i, (long long)c->ks[i], i);
    ug_cuda_dimstr(x->dims[2 + i], d, sizeof d);
    if (!transpose) {
      fprintf(k->f, "%.*s  const %s p%d = o%d * %lld - %lld + (%s)t%d * %lld;\n", in, ind, ix, i, i,
              (long long)c->stride[i], (long long)c->pad[i], ix, i, (long long)c->dil[i]);
      fprintf(k->f, "%.*s  if (p%d < 0 || p%d >= (%s)%s) continue;\n", in, ind, i, i, ix, d);
    } else {
      /* o = p*s - pad + t*d  =>  p = (o + pad - t*d) / s when that divides */
      fprintf(k->f, "%.*s  const %s q%d = o%d + %lld - (%s)t%d * %lld;\n", in, ind, ix, i, i, (long long)c->pad[i], ix, i,
              (long long)c->dil[i]);
      fprintf(k->f, "%.*s  if (q%d < 0 || q%d %% %lld != 0) continue;\n", in, ind, i, i, (long long)c->stride[i]);
      fprintf(k->f, "%.*s  const %s p%d = q%d / %lld;\n", in, ind, ix, i, i, (long long)c->stride[i]);
      fprintf(k->f, "%.*s  if (p%d >= (%s)%s) continue;\n", in, ind, i, ix, d);
    }
    if (i == 0) {
      fprintf(k->f, "%.*s  const %s xo0 = p0;\n", in, ind, ix);
      fprintf(k->f, "%.*s  const int wo0 = t0;\n", in, ind);
    } else {
      fprintf(k->f, "%.*s  const %s xo%d = xo%d * (%s)%s + p%d;\n", in, ind, ix, i, i - 1, ix, d, i);
      fprintf(k->f, "%.*s  const int wo%d = wo%d * %lld + t%d;\n", in, ind, i, i - 1, (long long)c->ks[i], i);
    }
  }
  snprintf(src, sizeof src, "xp[xo%d]", sr - 1);
  ug_cuda_load_expr(x->dtype, src, xl, sizeof xl);
  snprintf(src, sizeof src, "wp[wo%d]", sr - 1);
  ug_cuda_load_expr(w->dtype, src, wl, sizeof wl);
  fprintf(k->f, "%.*s  acc += %s * (%s)%s;\n", 6 + 2 * (sr - 1), ind, xl, ct, wl);
  for (int i = sr - 1; i >= 0; i--) fprintf(k->f, "%.*s}\n", 6 + 2 * i, ind);
  fprintf(k->f, "    }\n");
  conv_put(k, c, "i", "acc", 4);
  fprintf(k->f, "  }\n");
  return NULL;
}

/* ---- implicit GEMM ---- */

/* Whether conv_tc takes the conv. */
static bool conv_tc_fits(const conv_t *c) {
  ug_dtype_t dt = c->o->dtype;
  if (dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16 && dt != UG_DTYPE_F32) return false;
  if (c->x->dtype != dt || c->w->dtype != dt || c->sr > 2) return false;
  if (!UG_DIM_IS_STATIC(c->w->dims[0]) || !UG_DIM_IS_STATIC(c->w->dims[1])) return false;
  if (c->w->dims[0] % c->group != 0) return false;
  /* conv: w [M, C/G, k...]; conv_transpose: w [C, M/G, k...] */
  int64_t Mg = c->transpose ? c->w->dims[1] : c->w->dims[0] / c->group;
  int64_t K = c->transpose ? c->w->dims[0] / c->group : c->w->dims[1];
  for (int i = 0; i < c->sr; i++) K *= c->ks[i];
  /* 32-bit offsets inside one group's weights */
  return Mg >= 16 && K >= 16 && K < (1LL << 30);
}

/* The launch: one block of 8 warps per 128x128 tile of one group's GEMM. */
static void conv_tc_launch(ug_cuda_kctx_t *k, const conv_t *c, int64_t Mg, unsigned shared_bytes) {
  ug_dims_t *d = k->m->dims;
  ug_dim_t N = c->o->dims[0];
  for (int i = 2; i < c->o->rank; i++) N = ug_dim_mul(d, N, c->o->dims[i]);
  ug_dim_t tiles = ug_dim_mul(d, ug_dim_ceildiv(d, N, 128), (Mg + 127) / 128 * c->group);
  k->custom_launch = true;
  k->grid[0] = ug_dim_min(d, tiles, UG_CUDA_MAX_GRID);
  k->grid[1] = 1;
  k->grid[2] = 1;
  k->block = 256;
  k->shared_bytes = shared_bytes;
}

/* The columns of the B operand a thread of conv_tc loads: UG_CW (8 f16,
 * 4 f32) consecutive output pixels. */
static const char conv_tc_cols[] =
    "      // B: this thread's columns n0 + bc * UG_CW + e are output pixel q % P of image q / P;\n"
    "      // xo[e] is the offset in X of its tap (0, 0) in channel 0 (outside the input\n"
    "      // when padded), ih0 / iw0 that tap's input row and column (far off past N)\n"
    "      XI xo[UG_CW];\n"
    "      int ih0[UG_CW], iw0[UG_CW];\n"
    "#pragma unroll\n"
    "      for (int e = 0; e < UG_CW; e++) {\n"
    "        const int64_t q = n0 + bc * UG_CW + e;\n"
    "        if (q < N) {\n"
    "          const int64_t img = q / P, pp = q - img * P, oh = pp / OW, ow = pp - oh * OW;\n"
    "          ih0[e] = (int)(oh * SH - PH);\n"
    "          iw0[e] = (int)(ow * SW - PW);\n"
    "          xo[e] = (XI)(img * C * HW + ih0[e] * W + iw0[e]);\n"
    "        } else {\n"
    "          ih0[e] = iw0[e] = -(1 << 29);\n"
    "          xo[e] = 0;\n"
    "        }\n"
    "      }\n"
    "      // 16-byte copies of X (a 1x1, stride-1, unpadded conv over planes of 8k pixels):\n"
    "      // the UG_CW columns are consecutive pixels of one image\n"
    "      const int64_t qb = n0 + bc * UG_CW, ib = qb / P;\n"
    "      const T *xb = X + ib * C * HW + (qb - ib * P);\n"
    "      const bool bvec = PW1 && (unsigned long long)X % 16 == 0 && qb < N;\n";

/* The loaders of conv_tc: w rows (A) and the gathered X columns (B). */
/* What both tensor-core convs set up: shared memory, thread roles, the
 * accumulators, 16-byte cp.async (zero-filling when !ok) and 16-byte
 * shared stores. */
static const char tc_setup[] =
    "      extern __shared__ __align__(128) unsigned char ug_contract_smem[];\n"
    "      // stages as in the f16 matmul: A [128][32] at 8192 * stage, B [32][128] at 32768 + 8192 * stage\n"
    "      const unsigned sbase = (unsigned)__cvta_generic_to_shared(ug_contract_smem);\n"
    "      const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;\n"
    "      // this block's k tiles [KT0, KT0 + KT): all, or its share of a split-K cluster\n"
    "      const int KTA = (int)((K + 31) / 32), KT0 = (int)((int64_t)KTA * UG_SPLIT_I / UG_SPLIT);\n"
    "      const int KT = (int)((int64_t)KTA * (UG_SPLIT_I + 1) / UG_SPLIT) - KT0;\n"
    "      const int ar = tid >> 2, ac = tid & 3, br = tid >> 4, bc = tid & 15;\n"
    "      const unsigned da = sbase + (unsigned)(ar * 32 + ((ac ^ ((ar >> 1) & 3)) << 3)) * 2u;\n"
    "      const unsigned db = sbase + 32768u + (unsigned)(br * 128 + ((bc ^ (br & 7)) << 3)) * 2u;\n"
    "      float acc[4][4][4];\n"
    "#pragma unroll\n"
    "      for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 4; j++)\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;\n"
    "      auto cp = [](unsigned d, const T *p, bool ok) {\n"
    "        asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\\n\" :: \"r\"(d), \"l\"(p), \"r\"(ok ? 16 : 0) : \"memory\");\n"
    "      };\n"
    "      auto st4 = [](unsigned d, const unsigned (&v)[4]) {\n"
    "        asm volatile(\"st.shared.v4.u32 [%0], {%1, %2, %3, %4};\\n\" :: \"r\"(d), \"r\"(v[0]), \"r\"(v[1]), \"r\"(v[2]), \"r\"(v[3]) : \"memory\");\n"
    "      };\n";

static const char *const conv_tc_loaders[] = {
    "      const bool ra0 = m0 + ar < Mg, ra1 = m0 + ar + 64 < Mg;\n"
    "      const bool avec = K % 8 == 0 && (unsigned long long)A % 16 == 0;\n"
    "      const T *ga = A + (m0 + ar) * K + ac * 8;\n"
    "      const unsigned short *Au = reinterpret_cast<const unsigned short *>(A);\n"
    "      const unsigned short *Xu = reinterpret_cast<const unsigned short *>(X);\n"
    "      // A: k chunk ac of w rows m0 + ar and m0 + ar + 64, zeros past Mg and K\n"
    "      auto load_a = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 32;\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "        if (avec) {\n"
    "          const bool ka = k0 + ac * 8 < K;\n"
    "          cp(da + so, ra0 && ka ? ga + k0 : A, ra0 && ka);\n"
    "          cp(da + so + 4096u, ra1 && ka ? ga + 64 * K + k0 : A, ra1 && ka);\n"
    "          return;\n"
    "        }\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t gm = m0 + ar + 64 * h, gk = k0 + ac * 8;\n"
    "          const int64_t ra = gm < Mg ? K - gk : 0;\n"
    "          const unsigned short *pa = Au + (ra > 0 ? gm * K + gk : 0);\n"
    "          unsigned wa[4];\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++)\n"
    "            wa[e] = (2 * e < ra ? (unsigned)pa[2 * e] : 0u) | (2 * e + 1 < ra ? (unsigned)pa[2 * e + 1] : 0u) << 16;\n"
    "          st4(da + so + 4096u * h, wa);\n"
    "        }\n"
    "      };\n",
    "      unsigned rb[2][4];\n"
    "      auto load = [&](int st, int kt) {\n"
    "        load_a(st, kt);\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t kk = (int64_t)kt * 32 + br + 16 * h;\n"
    "          const bool kin = kk < K;\n"
    "          if (bvec) {\n"
    "            cp(db + so + 4096u * h, kin ? xb + kk * HW : X, kin);\n"
    "            continue;\n"
    "          }\n"
    "          // row kk = (channel ci, tap r, s)\n"
    "          const int ci = (int)(kk / (KH * KW)), rs = (int)(kk - (int64_t)ci * (KH * KW));\n"
    "          const int r = rs / KW, s = rs - r * KW, dh = r * DH, dw = s * DW;\n"
    "          const XI off = (XI)ci * (XI)HW + (XI)(dh * W + dw);\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 4; j++) {\n"
    "            unsigned v = 0;\n"
    "#pragma unroll\n"
    "            for (int u = 0; u < 2; u++) {\n"
    "              const int e = 2 * j + u;\n"
    "              const bool ok = kin && (unsigned)(ih0[e] + dh) < (unsigned)H && (unsigned)(iw0[e] + dw) < (unsigned)W;\n"
    "              v |= (ok ? (unsigned)Xu[xo[e] + off] : 0u) << (16 * u);\n"
    "            }\n"
    "            rb[h][j] = v;\n"
    "          }\n"
    "        }\n"
    "      };\n"
    "      auto stash = [&](int st) {\n"
    "        if (bvec) return;\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "        st4(db + so, rb[0]);\n"
    "        st4(db + so + 4096u, rb[1]);\n"
    "      };\n",
    NULL};

/* The loaders of conv_tc in f32 (the f32 GEMM's tiles, contract.c
 * mm_f32_body: k tiles of 16, A [128][24] and B [16][132] floats a stage):
 * as the f16 ones, with 4 columns of 4-byte elements per thread. */
static const char *const conv_tc32_loaders[] = {
    "      const bool ra0 = m0 + ar < Mg, ra1 = m0 + ar + 64 < Mg;\n"
    "      const bool avec = K % 4 == 0 && (unsigned long long)A % 16 == 0;\n"
    "      const T *ga = A + (m0 + ar) * K + ac * 4;\n"
    "      // A: k chunk ac of w rows m0 + ar and m0 + ar + 64, zeros past Mg and K\n"
    "      auto load_a = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 16;\n"
    "        const unsigned so = (unsigned)st * 20736u;\n"
    "        if (avec) {\n"
    "          const bool ka = k0 + ac * 4 < K;\n"
    "          cp(da + so, ra0 && ka ? ga + k0 : A, ra0 && ka);\n"
    "          cp(da + so + 6144u, ra1 && ka ? ga + 64 * K + k0 : A, ra1 && ka);\n"
    "          return;\n"
    "        }\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t gm = m0 + ar + 64 * h, gk = k0 + ac * 4;\n"
    "          const int64_t ra = gm < Mg ? K - gk : 0;\n"
    "          const T *pa = A + (ra > 0 ? gm * K + gk : 0);\n"
    "          float wa[4];\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) wa[e] = e < ra ? pa[e] : 0.0f;\n"
    "          st4f(da + so + 6144u * h, wa);\n"
    "        }\n"
    "      };\n",
    "      float rb[2][4];\n"
    "      auto load = [&](int st, int kt) {\n"
    "        load_a(st, kt);\n"
    "        const unsigned so = (unsigned)st * 20736u;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t kk = (int64_t)kt * 16 + br + 8 * h;\n"
    "          const bool kin = kk < K;\n"
    "          if (bvec) {\n"
    "            cp(db + so + 4224u * h, kin ? xb + kk * HW : X, kin);\n"
    "            continue;\n"
    "          }\n"
    "          const int ci = (int)(kk / (KH * KW)), rs = (int)(kk - (int64_t)ci * (KH * KW));\n"
    "          const int r = rs / KW, s = rs - r * KW, dh = r * DH, dw = s * DW;\n"
    "          const XI off = (XI)ci * (XI)HW + (XI)(dh * W + dw);\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) {\n"
    "            const bool ok = kin && (unsigned)(ih0[e] + dh) < (unsigned)H && (unsigned)(iw0[e] + dw) < (unsigned)W;\n"
    "            rb[h][e] = ok ? X[xo[e] + off] : 0.0f;\n"
    "          }\n"
    "        }\n"
    "      };\n"
    "      auto stash = [&](int st) {\n"
    "        if (bvec) return;\n"
    "        const unsigned so = (unsigned)st * 20736u;\n"
    "        st4f(db + so, rb[0]);\n"
    "        st4f(db + so + 4224u, rb[1]);\n"
    "      };\n",
    NULL};

/* conv_transpose as conv_tc's GEMM: row m, column q (image, output pixel
 * (oh, ow)), k = (input channel ci, tap r, s).  A[m, k] = w[ci, m, r, s] is
 * not contiguous along k, and B[k, q] is x at (t / SH, u / SW) for t = oh +
 * PH - r * DH, u = ow + PW - s * DW when both divide and land inside: every
 * element is fetched by `wt` / `xt` (direct(r, q) sums them for the tile
 * below sm_80 and the 3xTF32 fix-up), into registers when a k tile is
 * issued and to shared memory after the tile's math (UG_STASH). */
static const char conv_tt_elems[] =
    "      auto wt = [&](int64_t m, int64_t kk) -> T {\n"
    "        if (m >= Mg || kk >= K) return T(0.0f);\n"
    "        const int64_t ci = kk / (KH * KW);\n"
    "        return A[(ci * Mg + m) * (KH * KW) + (kk - ci * (KH * KW))];\n"
    "      };\n"
    "      // the input under tap kk of output pixel (oh, ow) of the image whose x starts at xb\n"
    "      auto xt = [&](int64_t xb, int oh, int ow, int64_t kk) -> T {\n"
    "        const int64_t ci = kk / (KH * KW);\n"
    "        const int rs = (int)(kk - ci * (KH * KW)), r = rs / KW, s = rs - r * KW;\n"
    "        int t = oh + PH - r * DH, u = ow + PW - s * DW;\n"
    "        if (kk >= K || t < 0 || u < 0 || t % SH != 0 || u % SW != 0) return T(0.0f);\n"
    "        t /= SH;\n"
    "        u /= SW;\n"
    "        if (t >= H || u >= W) return T(0.0f);\n"
    "        return X[xb + ci * HW + (int64_t)t * W + u];\n"
    "      };\n"
    "      auto direct = [&](int64_t r, int64_t q) {\n"
    "        const int64_t img = q / P, pp = q - img * P;\n"
    "        const int oh = (int)(pp / OW), ow = (int)(pp - (pp / OW) * OW);\n"
    "        float v = 0.0f;\n"
    "#pragma unroll 1\n"
    "        for (int64_t kk = 0; kk < K; kk++) v += (float)wt(r, kk) * (float)xt(img * C * HW, oh, ow, kk);\n"
    "        return v;\n"
    "      };\n";

/* conv_transpose's columns and loaders, per element width: [0] f16 / bf16
 * (k tiles of 32, 8 columns a thread, pairs packed), [1] f32 (16, 4). */
static const char conv_tt_cols[] =
    "      int64_t xb[UG_CW];\n"
    "      int toh[UG_CW], tow[UG_CW];\n"
    "#pragma unroll\n"
    "      for (int e = 0; e < UG_CW; e++) {\n"
    "        const int64_t q = n0 + bc * UG_CW + e, img = q / P, pp = q - img * P;\n"
    "        xb[e] = img * C * HW;\n"
    "        toh[e] = q < N ? (int)(pp / OW) : -(1 << 29);  // far off: no tap lands\n"
    "        tow[e] = (int)(pp - (pp / OW) * OW);\n"
    "      }\n";
static const char *const conv_tt_loaders[] = {
    "      unsigned ra[2][4], rb[2][4];\n"
    "      auto bits = [](T v) { return (unsigned)*reinterpret_cast<const unsigned short *>(&v); };\n"
    "      auto load = [&](int st, int kt) {\n"
    "        (void)st;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t m = m0 + ar + 64 * h, ka = (int64_t)kt * 32 + ac * 8, kb = (int64_t)kt * 32 + br + 16 * h;\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 4; j++) {\n"
    "            ra[h][j] = bits(wt(m, ka + 2 * j)) | bits(wt(m, ka + 2 * j + 1)) << 16;\n"
    "            rb[h][j] = bits(xt(xb[2 * j], toh[2 * j], tow[2 * j], kb)) |\n"
    "                       bits(xt(xb[2 * j + 1], toh[2 * j + 1], tow[2 * j + 1], kb)) << 16;\n"
    "          }\n"
    "        }\n"
    "      };\n"
    "      auto stash = [&](int st) {\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          st4(da + so + 4096u * h, ra[h]);\n"
    "          st4(db + so + 4096u * h, rb[h]);\n"
    "        }\n"
    "      };\n",
    "      float ra[2][4], rb[2][4];\n"
    "      auto load = [&](int st, int kt) {\n"
    "        (void)st;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t m = m0 + ar + 64 * h, ka = (int64_t)kt * 16 + ac * 4, kb = (int64_t)kt * 16 + br + 8 * h;\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 4; j++) {\n"
    "            ra[h][j] = wt(m, ka + j);\n"
    "            rb[h][j] = xt(xb[j], toh[j], tow[j], kb);\n"
    "          }\n"
    "        }\n"
    "      };\n"
    "      auto stash = [&](int st) {\n"
    "        const unsigned so = (unsigned)st * 20736u;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          st4f(da + so + 6144u * h, ra[h]);\n"
    "          st4f(db + so + 4224u * h, rb[h]);\n"
    "        }\n"
    "      };\n"};

/* The stores of conv_tc: accumulator (row r, column q) is result element
 * (img * Mo + g * Mg + r) * P + q % P with img = q / P. */
static const char conv_tc_store[] =
    "      int64_t ob[4][2];\n"
    "#pragma unroll\n"
    "      for (int ni = 0; ni < 4; ni++)\n"
    "#pragma unroll\n"
    "        for (int u = 0; u < 2; u++) {\n"
    "          const int64_t q = n0 + wn * 32 + ni * 8 + (lane & 3) * 2 + u, img = q / P;\n"
    "          ob[ni][u] = q < N ? img * Mo * P + (q - img * P) : -1;\n"
    "        }\n"
    "#pragma unroll\n"
    "      for (int mi = 0; mi < 4; mi++)\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t r = m0 + wm * 64 + mi * 16 + (lane >> 2) + 8 * h;\n"
    "          if (r >= Mg) continue;\n"
    "          const int64_t ro = (gi * Mg + r) * P;\n"
    "          const float bv = UG_BIAS(gi * Mg + r);\n"
    "#pragma unroll\n"
    "          for (int ni = 0; ni < 4; ni++)\n"
    "#pragma unroll\n"
    "            for (int u = 0; u < 2; u++)\n"
    "              if (ob[ni][u] >= 0)\n"
    "                UG_PUT(ob[ni][u] + ro, UG_FIX(acc[mi][ni][2 * h + u], r, n0 + wn * 32 + ni * 8 + (lane & 3) * 2 + u) + bv);\n"
    "        }\n"
    "      __syncthreads();  // every warp is done with shared memory before the next tile\n";

/* conv_tc's `direct(r, q)`: the f32 sum of GEMM row r (an output channel of
 * group gi) and column q (image, pixel) straight from X and the weights,
 * taps in the padding skipped: the tile below sm_80, and the 3xTF32
 * kernel's recomputation of NaN results (an inf operand breaks the split). */
static void direct_sum(ug_cuda_kctx_t *k, const conv_t *c) {
  char xl[160], wl[160];
  ug_cuda_load_expr(c->x->dtype, "X[img * C * HW + ((int64_t)ci * H + ih) * W + iw]", xl, sizeof xl);
  ug_cuda_load_expr(c->w->dtype, "A[r * K + (ci * KH + kr) * KW + kc]", wl, sizeof wl);
  fprintf(k->f,
          "      auto direct = [&](int64_t r, int64_t q) {\n"
          "        const int64_t img = q / P, pp = q - img * P, oh = pp / OW, ow = pp - oh * OW;\n"
          "        float v = 0.0f;\n"
          "#pragma unroll 1\n"
          "        for (int64_t ci = 0; ci < Cg; ci++)\n"
          "          for (int kr = 0; kr < KH; kr++) {\n"
          "            const int64_t ih = oh * SH - PH + kr * DH;\n"
          "            if (ih < 0 || ih >= H) continue;\n"
          "            for (int kc = 0; kc < KW; kc++) {\n"
          "              const int64_t iw = ow * SW - PW + kc * DW;\n"
          "              if (iw >= 0 && iw < W) v += %s * (float)%s;\n"
          "            }\n"
          "          }\n"
          "        return v;\n"
          "      };\n",
          xl, wl);
}

static ug_status_t conv_tc(ug_cuda_kctx_t *k, const conv_t *c) {
  bool bf = c->o->dtype == UG_DTYPE_BF16, f32 = c->o->dtype == UG_DTYPE_F32;
  bool two = c->sr == 2;
  const ug_type_t *x = c->x, *o = c->o;
  bool tr = c->transpose;
  int64_t Mg = tr ? c->w->dims[1] : c->w->dims[0] / c->group;
  int64_t Cg = tr ? c->w->dims[0] / c->group : c->w->dims[1];
  int64_t KH = two ? c->ks[0] : 1, KW = c->ks[c->sr - 1];
  char C[64], H[64], W[64], OH[64], OW[64], NI[64], Mo[64];
  ug_cuda_dimstr(x->dims[1], C, sizeof C);
  ug_cuda_dimstr(o->dims[1], Mo, sizeof Mo);
  ug_cuda_dimstr(o->dims[0], NI, sizeof NI);
  snprintf(H, sizeof H, "1LL");
  snprintf(OH, sizeof OH, "1LL");
  if (two) {
    ug_cuda_dimstr(x->dims[2], H, sizeof H);
    ug_cuda_dimstr(o->dims[2], OH, sizeof OH);
  }
  ug_cuda_dimstr(x->dims[x->rank - 1], W, sizeof W);
  ug_cuda_dimstr(o->dims[o->rank - 1], OW, sizeof OW);
  int a = c->sr - 1; /* the last spatial axis */
  /* a 1x1, stride-1, unpadded conv whose output plane is a static multiple of 8 */
  bool pw = KH == 1 && KW == 1 && !tr;
  for (int i = 0; i < c->sr; i++)
    pw = pw && c->stride[i] == 1 && c->pad[i] == 0 && c->pad[c->sr + i] == 0;
  int64_t plane = 1;
  for (int i = 2; i < o->rank; i++) plane = UG_DIM_IS_STATIC(o->dims[i]) && plane > 0 ? plane * o->dims[i] : -1;
  pw = pw && plane > 0 && plane % 8 == 0;
  fprintf(k->f, "  typedef %s T;\n  typedef %s XI;\n", ug_cuda_stype(c->o->dtype),
          ug_cuda_small_type(x) ? "int" : "int64_t");
  fprintf(k->f, "  const int64_t Mg = %lldLL, K = %lldLL, C = %s, H = %s, W = %s, HW = H * W, OH = %s, OW = %s;\n",
          (long long)Mg, (long long)(Cg * KH * KW), C, H, W, OH, OW);
  fprintf(k->f, "  const int64_t Mo = %s, P = OH * OW, N = %s * P, Cg = %lldLL;\n", Mo, NI, (long long)Cg);
  fprintf(k->f, "  const int64_t tm = (Mg + 127) / 128, tn = (N + 127) / 128, per = tm * tn;\n");
  fprintf(k->f, "  (void)Cg;\n");
  fprintf(k->f, "#define KH %lld\n#define KW %lld\n#define SH %lld\n#define SW %lld\n#define PH %lld\n#define PW %lld\n"
                "#define DH %lld\n#define DW %lld\n#define PW1 %d\n",
          (long long)KH, (long long)KW, (long long)(two ? c->stride[0] : 1), (long long)c->stride[a],
          (long long)(two ? c->pad[0] : 0), (long long)c->pad[a], (long long)(two ? c->dil[0] : 1),
          (long long)c->dil[a], pw ? 1 : 0);
  char bl[128] = "0.0f";
  if (c->ba >= 0) {
    char src[48];
    snprintf(src, sizeof src, "a%d[i]", c->ba);
    ug_cuda_load_expr(ug_value_type(k->g, k->ops[2])->dtype, src, bl, sizeof bl);
  }
  fprintf(k->f, "#define UG_BIAS(i) ((float)%s)\n", bl);
  if (k->epilogue) {
    fprintf(k->f, "#define UG_PUT(i, v) ug_epi(i, v)\n");
  } else {
    char sc[128];
    ug_cuda_store_expr(o->dtype, "(v)", sc, sizeof sc);
    fprintf(k->f, "#define UG_PUT(i, v) (a%d[i] = %s)\n", c->oa, sc);
  }
  ug_cuda_mma16_split_open(k->f, 1); /* no split-K here (tc_setup reads the macros) */
  fprintf(k->f, "  for (int64_t tile = blockIdx.x; tile < per * %lldLL; tile += gridDim.x) {\n", (long long)c->group);
  fprintf(k->f, "    const int64_t gi = tile / per, id = tile - gi * per, gid = id / (8 * tn), in = id - gid * 8 * tn;\n");
  fprintf(k->f, "    const int64_t gs = tm - gid * 8 < 8 ? tm - gid * 8 : 8, mt = gid * 8 + in %% gs, nt = in / gs;\n");
  fprintf(k->f, "    const T *__restrict__ A = a%d + gi * Mg * K;\n", c->wa);
  fprintf(k->f, "    const T *__restrict__ X = a%d + gi * Cg * HW;\n", c->xa);
  fprintf(k->f, "    {\n      const int64_t m0 = mt * 128, n0 = nt * 128;\n");
  fprintf(k->f, "#if __CUDA_ARCH__ >= 800\n");
  if (f32) {
    /* the f32 GEMM's pipeline, in the arithmetic --precision asks for;
     * 3xTF32's NaN results (inf operands) are recomputed exactly */
    fputs("      extern __shared__ __align__(128) unsigned char ug_contract_smem[];\n", k->f);
    ug_cuda_mma32_setup(k->f, k->precision);
    if (tr)
      fprintf(k->f, "%s#define UG_CW 4\n%s#undef UG_CW\n%s", conv_tt_elems, conv_tt_cols, conv_tt_loaders[1]);
    else
      fprintf(k->f, "%s#define UG_CW 4\n%s#undef UG_CW\n%s", conv_tc32_loaders[0], conv_tc_cols, conv_tc32_loaders[1]);
    fputs("#define UG_LOAD load\n#define UG_STASH stash\n", k->f);
    ug_cuda_mma32_loop(k->f, k->precision);
    fputs("#undef UG_LOAD\n#undef UG_STASH\n", k->f);
    if (ug_cuda_mma32_split(k->precision)) {
      if (!tr) direct_sum(k, c); /* conv_tt_elems has it */
      fputs("#define UG_FIX(v, r, q) ((v) == (v) ? (v) : direct(r, q))\n", k->f);
    }    else
      fputs("#define UG_FIX(v, r, q) (v)\n", k->f);
  } else {
    fprintf(k->f, "#define UG_MMA \"mma.sync.aligned.m16n8k16.row.col.f32.%s.%s.f32\"\n", bf ? "bf16" : "f16",
            bf ? "bf16" : "f16");
    fputs(tc_setup, k->f);
    if (tr)
      fprintf(k->f, "%s#define UG_CW 8\n%s#undef UG_CW\n%s", conv_tt_elems, conv_tt_cols, conv_tt_loaders[0]);
    else
      fprintf(k->f, "%s#define UG_CW 8\n%s#undef UG_CW\n%s", conv_tc_loaders[0], conv_tc_cols, conv_tc_loaders[1]);
    fputs("#define UG_LOAD load\n#define UG_STASH stash\n", k->f);
    ug_cuda_mma16_loop(k->f);
    fputs("#undef UG_LOAD\n#undef UG_STASH\n#undef UG_MMA\n#define UG_FIX(v, r, q) (v)\n", k->f);
  }
  fputs(conv_tc_store, k->f);
  fputs("#undef UG_FIX\n", k->f);
  /* older GPUs: a direct sum per tile element */
  fputs("#else\n", k->f);
  if (tr) fputs(conv_tt_elems, k->f);
  else direct_sum(k, c);
  fputs("      for (int e = threadIdx.x; e < 128 * 128; e += blockDim.x) {\n"
        "        const int64_t r = m0 + (e >> 7), q = n0 + (e & 127);\n"
        "        if (r >= Mg || q >= N) continue;\n"
        "        const int64_t img = q / P, pp = q - img * P;\n"
        "        UG_PUT((img * Mo + gi * Mg + r) * P + pp, direct(r, q) + UG_BIAS(gi * Mg + r));\n"
        "      }\n"
        "#endif\n",
        k->f);
  fputs("    }\n  }\n", k->f);
  fputs("#undef UG_PUT\n#undef UG_BIAS\n#undef KH\n#undef KW\n#undef SH\n#undef SW\n#undef PH\n#undef PW\n#undef DH\n"
        "#undef DW\n#undef PW1\n#undef UG_SPLIT\n#undef UG_SPLIT_I\n",
        k->f);
  /* shared memory: the f32 GEMM's 3 stages of 20736 bytes, the f16 one's 4 of 16384 */
  conv_tc_launch(k, c, Mg, f32 ? 3u * 20736u : 2u * 4u * 128u * 32u * 2u);
  return NULL;
}

/* ---- conv_nhwc ---- */

/* conv_nhwc directly: one thread per output element [img, spatial..., m]. */
static ug_status_t nhwc_direct(ug_cuda_kctx_t *k, const conv_t *c) {
  const ug_type_t *x = c->x, *w = c->w, *o = c->o;
  int sr = c->sr, r = x->rank;
  const char *ix = k->ix, *ct = ug_cuda_ctype(x->dtype);
  char d[64], C[64], Mo[64], numel[TEXT];
  ug_cuda_dimstr(x->dims[r - 1], C, sizeof C);
  ug_cuda_dimstr(o->dims[r - 1], Mo, sizeof Mo);
  ug_cuda_prodstr(o, 0, o->rank, numel, sizeof numel);
  fprintf(k->f, "  const %s C = (%s)%s, Mo = (%s)%s, Cg = C / %lld, Mg = Mo / %lld;\n", ix, ix, C, ix, Mo,
          (long long)c->group, (long long)c->group);
  k->work = ug_type_numel(k->m->dims, o);
  k->per_thread = 1;
  ug_cuda_grid_loop(k, numel);
  fprintf(k->f, "    %s t = i;\n    const %s m = t %% Mo; t /= Mo;\n", ix, ix);
  for (int i = sr - 1; i >= 0; i--)
    fprintf(k->f, "    const %s o%d = t %% (%s)%s; t /= (%s)%s;\n", ix, i, ix,
            ug_cuda_dimstr(o->dims[1 + i], d, sizeof d), ix, d);
  fprintf(k->f, "    const %s img = t, gi = m / Mg;\n", ix);
  acc_init(k, c, ct);
  /* taps outermost, then the group's channels (contiguous in x): xo is the
   * input pixel (image and spatial coordinates), wo the tap */
  for (int i = 0; i < sr; i++) {
    int in = 4 + 2 * i;
    ug_cuda_dimstr(x->dims[1 + i], d, sizeof d);
    fprintf(k->f, "%.*sfor (int t%d = 0; t%d < %lld; t%d++) {\n", in, ind, i, i, (long long)c->ks[i], i);
    fprintf(k->f, "%.*s  const %s p%d = o%d * %lld - %lld + (%s)t%d * %lld;\n", in, ind, ix, i, i,
            (long long)c->stride[i], (long long)c->pad[i], ix, i, (long long)c->dil[i]);
    fprintf(k->f, "%.*s  if (p%d < 0 || p%d >= (%s)%s) continue;\n", in, ind, i, i, ix, d);
    if (i == 0)
      fprintf(k->f, "%.*s  const %s xo0 = img * (%s)%s + p0, wo0 = t0;\n", in, ind, ix, ix, d);
    else
      fprintf(k->f, "%.*s  const %s xo%d = xo%d * (%s)%s + p%d, wo%d = wo%d * %lld + t%d;\n", in, ind, ix, i, i - 1, ix, d,
              i, i, i - 1, (long long)c->ks[i], i);
  }
  int in = 4 + 2 * sr;
  char xl[128], wl[128], src[96];
  snprintf(src, sizeof src, "a%d[xo%d * C + gi * Cg + ci]", c->xa, sr - 1);
  ug_cuda_load_expr(x->dtype, src, xl, sizeof xl);
  snprintf(src, sizeof src, "a%d[(wo%d * Cg + ci) * Mo + m]", c->wa, sr - 1);
  ug_cuda_load_expr(w->dtype, src, wl, sizeof wl);
  fprintf(k->f, "%.*sfor (%s ci = 0; ci < Cg; ci++) acc += %s * (%s)%s;\n", in, ind, ix, xl, ct, wl);
  for (int i = sr - 1; i >= 0; i--) fprintf(k->f, "%.*s}\n", 4 + 2 * i, ind);
  conv_put(k, c, "i", "acc", 4);
  fprintf(k->f, "  }\n");
  return NULL;
}

/* Whether nhwc_tc takes the conv_nhwc: f16 / bf16, 2 spatial dims or 1, one group. */
static bool nhwc_tc_fits(const conv_t *c) {
  ug_dtype_t dt = c->o->dtype;
  if (dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16) return false;
  return c->x->dtype == dt && c->w->dtype == dt && c->sr <= 2 && c->group == 1;
}

/* The loaders of nhwc_tc: A rows are output pixels, their k chunk 8
 * channels of one tap when C is a multiple of 8 (16-byte copies); B is w
 * as [K, M] (row-major, 16-byte copies when M is a multiple of 8). */
static const char *const nhwc_tc_loaders[] = {
    "      const bool avec = C % 8 == 0 && (unsigned long long)A % 16 == 0;\n"
    "      const bool bvec = N % 8 == 0 && (unsigned long long)B % 16 == 0;\n"
    "      const unsigned short *Au = reinterpret_cast<const unsigned short *>(A);\n"
    "      const unsigned short *Bu = reinterpret_cast<const unsigned short *>(B);\n"
    "      // A rows m0 + ar + 64 h: output pixel q of image q / P; ab its image's offset in x,\n"
    "      // ah / aw the input row and column of its tap (0, 0) (far off past M)\n"
    "      int64_t ab[2];\n"
    "      int ah[2], aw[2];\n"
    "#pragma unroll\n"
    "      for (int h = 0; h < 2; h++) {\n"
    "        const int64_t q = m0 + ar + 64 * h;\n"
    "        if (q < M) {\n"
    "          const int64_t img = q / P, pp = q - img * P, oh = pp / OW, ow = pp - oh * OW;\n"
    "          ab[h] = img * H * W * C;\n"
    "          ah[h] = (int)(oh * SH - PH);\n"
    "          aw[h] = (int)(ow * SW - PW);\n"
    "        } else {\n"
    "          ab[h] = 0;\n"
    "          ah[h] = aw[h] = -(1 << 29);\n"
    "        }\n"
    "      }\n"
    "      // element kk of A row h, zero in the padding and past K\n"
    "      auto a_elem = [&](int h, int64_t kk) -> unsigned {\n"
    "        const int tap = (int)(kk / C), r = tap / KW, s = tap - r * KW;\n"
    "        const int ih = ah[h] + r * DH, iw = aw[h] + s * DW;\n"
    "        if (kk >= K || (unsigned)ih >= (unsigned)H || (unsigned)iw >= (unsigned)W) return 0u;\n"
    "        return Au[ab[h] + ((int64_t)ih * W + iw) * C + (kk - (int64_t)tap * C)];\n"
    "      };\n",
    "      auto load = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 32, ka = k0 + ac * 8;\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "        if (avec) {\n"
    "          // 8 channels of one tap\n"
    "          const int tap = (int)(ka / C), r = tap / KW, s = tap - r * KW;\n"
    "          const int64_t ch = ka - (int64_t)tap * C;\n"
    "#pragma unroll\n"
    "          for (int h = 0; h < 2; h++) {\n"
    "            const int ih = ah[h] + r * DH, iw = aw[h] + s * DW;\n"
    "            const bool ok = ka < K && (unsigned)ih < (unsigned)H && (unsigned)iw < (unsigned)W;\n"
    "            cp(da + so + 4096u * h, ok ? A + ab[h] + ((int64_t)ih * W + iw) * C + ch : A, ok);\n"
    "          }\n"
    "        } else {\n"
    "#pragma unroll 1\n"
    "          for (int h = 0; h < 2; h++) {\n"
    "            unsigned wa[4];\n"
    "#pragma unroll\n"
    "            for (int e = 0; e < 4; e++) wa[e] = a_elem(h, ka + 2 * e) | a_elem(h, ka + 2 * e + 1) << 16;\n"
    "            st4(da + so + 4096u * h, wa);\n"
    "          }\n"
    "        }\n"
    "        const int64_t gn = n0 + bc * 8;\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t kb = k0 + br + 16 * h;\n"
    "          if (bvec) {\n"
    "            const bool ok = kb < K && gn < N;\n"
    "            cp(db + so + 4096u * h, ok ? B + kb * N + gn : B, ok);\n"
    "            continue;\n"
    "          }\n"
    "          const int64_t rb = kb < K ? N - gn : 0;\n"
    "          const unsigned short *pb = Bu + (rb > 0 ? kb * N + gn : 0);\n"
    "          unsigned wb[4];\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++)\n"
    "            wb[e] = (2 * e < rb ? (unsigned)pb[2 * e] : 0u) | (2 * e + 1 < rb ? (unsigned)pb[2 * e + 1] : 0u) << 16;\n"
    "          st4(db + so + 4096u * h, wb);\n"
    "        }\n"
    "      };\n",
    NULL};

/* conv_nhwc (f16 / bf16, one group) as a GEMM on the tensor cores: rows are
 * the output pixels (images x spatial), columns the output channels, K = taps
 * x channels; x's rows are gathered by 16-byte cp.async (8 channels of one
 * tap), w [k..., C, M] is already the [K, M] operand, and the [pixels, M]
 * result is the NHWC output.  The f16 matmul's main loop and store. */
static ug_status_t nhwc_tc(ug_cuda_kctx_t *k, const conv_t *c) {
  bool bf = c->o->dtype == UG_DTYPE_BF16, two = c->sr == 2;
  const ug_type_t *x = c->x, *o = c->o;
  int r = x->rank, a = c->sr - 1;
  int64_t KH = two ? c->ks[0] : 1, KW = c->ks[a];
  char C[64], H[64] = "1LL", W[64], OH[64] = "1LL", OW[64], NI[64], Mo[64];
  ug_cuda_dimstr(x->dims[r - 1], C, sizeof C);
  ug_cuda_dimstr(o->dims[r - 1], Mo, sizeof Mo);
  ug_cuda_dimstr(o->dims[0], NI, sizeof NI);
  if (two) {
    ug_cuda_dimstr(x->dims[1], H, sizeof H);
    ug_cuda_dimstr(o->dims[1], OH, sizeof OH);
  }
  ug_cuda_dimstr(x->dims[r - 2], W, sizeof W);
  ug_cuda_dimstr(o->dims[r - 2], OW, sizeof OW);
  fprintf(k->f, "  typedef %s T;\n  typedef %s T2;\n", ug_cuda_stype(o->dtype), bf ? "__nv_bfloat162" : "__half2");
  fprintf(k->f, "  const int64_t C = %s, H = %s, W = %s, OH = %s, OW = %s, P = OH * OW;\n", C, H, W, OH, OW);
  fprintf(k->f, "  const int64_t M = %s * P, N = %s, K = %lldLL * C;\n", NI, Mo, (long long)(KH * KW));
  fprintf(k->f, "  const int64_t tm = (M + 127) / 128, tn = (N + 127) / 128, per = tm * tn;\n");
  fprintf(k->f, "#define KH %lld\n#define KW %lld\n#define SH %lld\n#define SW %lld\n#define PH %lld\n#define PW %lld\n"
                "#define DH %lld\n#define DW %lld\n",
          (long long)KH, (long long)KW, (long long)(two ? c->stride[0] : 1), (long long)c->stride[a],
          (long long)(two ? c->pad[0] : 0), (long long)c->pad[a], (long long)(two ? c->dil[0] : 1),
          (long long)c->dil[a]);
  char bl[128] = "0.0f";
  if (c->ba >= 0) {
    char src[48];
    snprintf(src, sizeof src, "a%d[c]", c->ba);
    ug_cuda_load_expr(ug_value_type(k->g, k->ops[2])->dtype, src, bl, sizeof bl);
  }
  fprintf(k->f, "#define UG_CBIAS(c) ((c) < N ? (float)%s : 0.0f)\n", bl);
  const char *ot = ug_cuda_stype(o->dtype);
  if (k->epilogue) fprintf(k->f, "#define UG_PUT(i, v) ug_epi(i, (float)(v))\n#define UG_PAIRS 0\n");
  else {
    char sc[128];
    ug_cuda_store_expr(o->dtype, "(v)", sc, sizeof sc);
    fprintf(k->f, "#define UG_PUT(i, v) (C_[i] = %s)\n#define UG_PAIRS 1\n", sc);
  }
  /* split-K on sm_90 when the GEMM has few tiles (contract.c mm_split) */
  ug_dims_t *d = k->m->dims;
  ug_dim_t pix = o->dims[0];
  for (int i = 1; i + 1 < o->rank; i++) pix = ug_dim_mul(d, pix, o->dims[i]);
  ug_dim_t tiles = ug_dim_mul(d, ug_dim_ceildiv(d, pix, 128), ug_dim_ceildiv(d, o->dims[r - 1], 128));
  int split = ug_cuda_mma16_split(tiles, ug_dim_ceildiv(d, ug_dim_mul(d, x->dims[r - 1], KH * KW), 32));
  ug_cuda_mma16_split_open(k->f, split);
  ug_cuda_tile_loop(k->f, "per", split);
  fprintf(k->f, "    const int64_t gid = tile / (8 * tn), in = tile - gid * 8 * tn;\n");
  fprintf(k->f, "    const int64_t gs = tm - gid * 8 < 8 ? tm - gid * 8 : 8, mt = gid * 8 + in %% gs, nt = in / gs;\n");
  fprintf(k->f, "    const T *__restrict__ A = a%d;\n    const T *__restrict__ B = a%d;\n", c->xa, c->wa);
  if (c->oa >= 0) fprintf(k->f, "    %s *__restrict__ C_ = a%d;\n", ot, c->oa);
  else fprintf(k->f, "    %s *__restrict__ C_ = nullptr;\n", ot);
  fprintf(k->f, "    {\n      const int64_t m0 = mt * 128, n0 = nt * 128;\n");
  fprintf(k->f, "#if __CUDA_ARCH__ >= 800\n");
  fprintf(k->f, "#define UG_MMA \"mma.sync.aligned.m16n8k16.row.col.f32.%s.%s.f32\"\n#define UG_CVT2 %s\n",
          bf ? "bf16" : "f16", bf ? "bf16" : "f16", bf ? "__floats2bfloat162_rn" : "__floats2half2_rn");
  fputs(tc_setup, k->f);
  for (int i = 0; nhwc_tc_loaders[i]; i++) fputs(nhwc_tc_loaders[i], k->f);
  fputs("#define UG_LOAD load\n#define UG_STASH(st) ((void)0)\n", k->f);
  ug_cuda_mma16_loop(k->f);
  fputs("#undef UG_LOAD\n#undef UG_STASH\n#define C C_\n", k->f);
  if (split > 1) ug_cuda_mma16_split_reduce(k->f);
  ug_cuda_mma16_store(k->f);
  fputs("#undef C\n#undef UG_MMA\n#undef UG_CVT2\n", k->f);
  char xl[160], wl[160];
  ug_cuda_load_expr(x->dtype, "A[xo + ((int64_t)ih * W + iw) * C + ci]", xl, sizeof xl);
  ug_cuda_load_expr(x->dtype, "B[(((int64_t)kr * KW + kc) * C + ci) * N + c]", wl, sizeof wl);
  fprintf(k->f,
          "#else\n"
          "      for (int e = threadIdx.x; e < 128 * 128; e += blockDim.x) {\n"
          "        const int64_t q = m0 + (e >> 7), c = n0 + (e & 127);\n"
          "        if (q >= M || c >= N) continue;\n"
          "        const int64_t img = q / P, pp = q - img * P, oh = pp / OW, ow = pp - oh * OW, xo = img * H * W * C;\n"
          "        float acc = 0.0f;\n"
          "        for (int kr = 0; kr < KH; kr++) {\n"
          "          const int64_t ih = oh * SH - PH + kr * DH;\n"
          "          if (ih < 0 || ih >= H) continue;\n"
          "          for (int kc = 0; kc < KW; kc++) {\n"
          "            const int64_t iw = ow * SW - PW + kc * DW;\n"
          "            if (iw < 0 || iw >= W) continue;\n"
          "            for (int64_t ci = 0; ci < C; ci++) acc += %s * %s;\n"
          "          }\n"
          "        }\n"
          "        UG_PUT(q * N + c, acc + UG_CBIAS(c));\n"
          "      }\n"
          "#endif\n",
          xl, wl);
  fputs("    }\n  }\n", k->f);
  fputs("#undef UG_PUT\n#undef UG_PAIRS\n#undef UG_CBIAS\n#undef KH\n#undef KW\n#undef SH\n#undef SW\n#undef PH\n"
        "#undef PW\n#undef DH\n#undef DW\n#undef UG_SPLIT\n#undef UG_SPLIT_I\n",
        k->f);
  k->custom_launch = true;
  k->grid[0] = ug_dim_min(d, ug_dim_mul(d, tiles, split), UG_CUDA_MAX_GRID);
  k->cluster = split > 1 ? (uint32_t)split : 0;
  k->grid[1] = 1;
  k->grid[2] = 1;
  k->block = 256;
  k->shared_bytes = 2u * 4u * 128u * 32u * 2u;
  return NULL;
}

ug_status_t ug_cuda_emit_conv(ug_cuda_kctx_t *k) {
  bool transpose = k->n->op == UG_OP_CONV_TRANSPOSE;
  if (k->nops < 2 || k->nres != 1) return ug_cuda_unsupported(k);
  conv_t c;
  UG_RETURN_IF_ERROR(conv_parse(k, &c));
  if (c.nhwc) return nhwc_tc_fits(&c) ? nhwc_tc(k, &c) : nhwc_direct(k, &c);
  if (conv_tc_fits(&c)) return conv_tc(k, &c);
  return conv_direct(k, &c, transpose);
}
