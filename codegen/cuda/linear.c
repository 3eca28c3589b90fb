/* CUDA kernels of `linear(x, w, bias?)` (see kernel.h): y = x @ w^T + bias
 * with x [..., K] (f32 / f16 / bf16 / f64; the leading dims flattened to M
 * rows, M may be symbolic), w [N, K] of any float type or block-quantized
 * (blocks along K), bias [N] of x's dtype.  Products accumulate in f32 (f64
 * for f64 x); the sum plus the bias is rounded once at the store.  The
 * weight types are the structs of quant.c; the kernels are the templates of
 * ug_cuda_linear_prelude, instantiated per step.
 *
 * Two algorithms, chosen at compile time when M is static and at run time
 * (uniform branch) when it is symbolic:
 *
 *  - M <= 32 ("GEMV", the decode case, memory-bound): a block of 256
 *    threads owns R consecutive weight rows and streams them along K in
 *    chunks of 2048 elements: the raw bytes of the R row chunks (whatever
 *    the type: R * 2048 / BE * BB bytes, a multiple of 16) are copied into
 *    shared memory with cp.async (16-byte copies when the row length in bytes
 *    and the pointer allow; 8, 4, 2, 1 otherwise), double-buffered so that
 *    the next chunk is in flight while this one is used.  Thread t then
 *    decodes octet t (elements 8t .. 8t+7) of each of the R rows, loads the
 *    same 8 elements of each of up to MR = 8 rows of x (16-byte loads, from
 *    L1 / L2: x is small and read by every block) and accumulates MR x R dot
 *    products, reusing every x value R times and every weight value MR
 *    times.  A warp-shuffle then shared-memory reduction over the 256
 *    threads gives the MR x R results, in a fixed order (deterministic).
 *    Each weight byte is read from DRAM once for up to 8 rows of x; M in
 *    9..32 runs the same block over the m-tiles of 8 rows one after the
 *    other, so the repeated reads of the block's R rows hit L2.
 *  - M > 32 ("GEMM", prefill): 64 x 64 output tiles, K in steps of 32; each
 *    step dequantizes the 64 x 32 weight tile and loads the 64 x 32 x tile
 *    into shared memory (as the accumulation type, k-major, padded so that
 *    both the stores and the reads are conflict-free), then every thread
 *    accumulates 4 x 4 results (the SIMT tiling of contract.c's mm_simt).
 *    Every weight element is dequantized once per 64 rows of x.  Tiles run
 *    column-major (all m tiles of one weight tile next to each other), so
 *    the weight tile is read from DRAM once and from L2 by its neighbours.
 *
 * Not (yet) tensor cores: the prefill path is SIMT (docs/cuda.md, "linear"). */
#include <stdio.h>

#include "codegen/cuda/kernel.h"

/* M up to this runs the GEMV algorithm (m-tiles of 8 rows). */
#define LINEAR_GEMV_MAX 32
#define LINEAR_CHUNK 2048 /* elements of a row per GEMV chunk: 8 per thread of 256 */

const char *const ug_cuda_linear_prelude[] = {
    "\n"
    "// ---- linear (codegen/cuda/linear.c) ----\n"
    "// 8 elements of x at p as A (rem = elements left in the row; vec: p is 16-byte\n"
    "// aligned when rem >= 8)\n"
    "template <class A, class X> static __forceinline__ void ug_ldx8(const X *p, long long rem, bool vec, A *v) {\n"
    "  if (vec && rem >= 8) {\n"
    "    constexpr int V = 16 / (int)sizeof(X);\n"
    "#pragma unroll\n"
    "    for (int h = 0; h < 8 / V; h++) {\n"
    "      const ug_vec<X, V> t = reinterpret_cast<const ug_vec<X, V> *>(p)[h];\n"
    "#pragma unroll\n"
    "      for (int j = 0; j < V; j++) v[h * V + j] = (A)ug_wf(t.e[j]);\n"
    "    }\n"
    "  } else {\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) v[j] = j < rem ? (A)ug_wf(p[j]) : (A)0;\n"
    "  }\n"
    "}\n"
    "// G bytes global -> shared (G a power of two, both addresses multiples of G):\n"
    "// asynchronous from sm_80 on for G >= 4, else a plain copy\n"
    "template <int G> static __forceinline__ void ug_lcp(unsigned char *d, const unsigned char *s) {\n"
    "#if __CUDA_ARCH__ >= 800\n"
    "  if constexpr (G >= 4) {\n"
    "    const unsigned a = (unsigned)__cvta_generic_to_shared(d);\n"
    "    if constexpr (G == 16) asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16;\\n\" ::\"r\"(a), \"l\"(s) : \"memory\");\n"
    "    else asm volatile(\"cp.async.ca.shared.global [%0], [%1], %2;\\n\" ::\"r\"(a), \"l\"(s), \"n\"(G) : \"memory\");\n"
    "    return;\n"
    "  }\n"
    "#endif\n"
    "  if constexpr (G == 16) *reinterpret_cast<uint4 *>(d) = *reinterpret_cast<const uint4 *>(s);\n"
    "  else if constexpr (G == 8) *reinterpret_cast<uint2 *>(d) = *reinterpret_cast<const uint2 *>(s);\n"
    "  else if constexpr (G == 4) *reinterpret_cast<unsigned *>(d) = *reinterpret_cast<const unsigned *>(s);\n"
    "  else if constexpr (G == 2) *reinterpret_cast<unsigned short *>(d) = *reinterpret_cast<const unsigned short *>(s);\n"
    "  else *d = *s;\n"
    "}\n",
    "static __forceinline__ void ug_lcommit() {\n"
    "#if __CUDA_ARCH__ >= 800\n"
    "  asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n"
    "#endif\n"
    "}\n"
    "template <int N> static __forceinline__ void ug_lwait() {\n"
    "#if __CUDA_ARCH__ >= 800\n"
    "  asm volatile(\"cp.async.wait_group %0;\\n\" ::\"n\"(N) : \"memory\");\n"
    "#endif\n"
    "}\n"
    "// bytes [c0, c0 + nb) of weight rows n0 .. n0+R-1 (those below N; RB bytes a\n"
    "// row) to dst, row r at dst + r * CB, in units of G bytes\n"
    "template <int G, int R, int CB>\n"
    "static __forceinline__ void ug_lload(unsigned char *dst, const unsigned char *w, long long RB, long long n0, long long N,\n"
    "                                     long long c0, int nb) {\n"
    "  const int per = nb / G, rows = N - n0 < R ? (int)(N - n0) : R;\n"
    "  for (int i = threadIdx.x; i < rows * per; i += blockDim.x) {\n"
    "    const int r = i / per, u = i - r * per;\n"
    "    ug_lcp<G>(dst + r * CB + u * G, w + (n0 + r) * RB + c0 + (long long)u * G);\n"
    "  }\n"
    "}\n"
    "// M <= 32: a block of 256 threads per R weight rows and m-tile of MR rows of x\n"
    "// (see linear.c).  Shared memory: 2 stages of R row chunks.\n"
    "template <class W, class X, class A, int MR, int R, class Put>\n"
    "static __forceinline__ void ug_linear_gemv(const unsigned char *__restrict__ w, const X *__restrict__ x,\n"
    "                                           const X *__restrict__ bias, long long M, long long N, long long K,\n"
    "                                           unsigned char *smem, Put put) {\n"
    "  constexpr int CE = 2048, CB = CE / W::BE * W::BB, NW = 8;\n"
    "  static_assert(CE % W::BE == 0 && CB % 16 == 0, \"chunks are whole blocks of whole 16-byte units\");\n"
    "  __shared__ A red[NW][MR * R];\n"
    "  const int t = threadIdx.x, lane = t & 31, warp = t >> 5;\n"
    "  const long long RB = W::rbytes(K), NC = (RB + CB - 1) / CB;\n"
    "  const long long ng = (N + R - 1) / R, nm = (M + MR - 1) / MR;\n"
    "  const unsigned long long ga = (unsigned long long)RB | (unsigned long long)w;\n"
    "  const int G = ga % 16 == 0 ? 16 : ga % 8 == 0 ? 8 : ga % 4 == 0 ? 4 : ga % 2 == 0 ? 2 : 1;\n"
    "  const bool xvec = (unsigned long long)x % 16 == 0 && K % (16 / (long long)sizeof(X)) == 0;\n"
    "  // this thread's octet of a chunk: its block's byte offset and first element\n"
    "  // (a float octet is 16-byte aligned in the stage: one or more 16-byte loads)\n"
    "  const int o8 = 8 * t, ob = o8 / W::BE * W::BB, oe = o8 % W::BE;\n"
    "  auto ug_ldw8 = [](const unsigned char *b, int e0, A *y) {\n"
    "    if constexpr (W::BE == 8) W::dq8v(b, y);\n"
    "    else W::dq8(b, e0, y);\n"
    "  };\n"
    "  auto load = [&](int stage, long long c, long long n0) {\n"
    "    unsigned char *dst = smem + stage * (R * CB);\n"
    "    const long long c0 = c * CB;\n"
    "    const int nb = (int)(RB - c0 < CB ? RB - c0 : CB);\n"
    "    switch (G) {\n"
    "    case 16: ug_lload<16, R, CB>(dst, w, RB, n0, N, c0, nb); break;\n"
    "    case 8: ug_lload<8, R, CB>(dst, w, RB, n0, N, c0, nb); break;\n"
    "    case 4: ug_lload<4, R, CB>(dst, w, RB, n0, N, c0, nb); break;\n"
    "    case 2: ug_lload<2, R, CB>(dst, w, RB, n0, N, c0, nb); break;\n"
    "    default: ug_lload<1, R, CB>(dst, w, RB, n0, N, c0, nb); break;\n"
    "    }\n"
    "    ug_lcommit();\n"
    "  };\n",
    "  // work items: (row group, m-tile), the m-tiles of one row group adjacent (L2)\n"
    "  for (long long g = blockIdx.x; g < ng * nm; g += gridDim.x) {\n"
    "    const long long n0 = g / nm * R, m0 = g % nm * MR;\n"
    "    A acc[MR][R];\n"
    "#pragma unroll\n"
    "    for (int m = 0; m < MR; m++)\n"
    "#pragma unroll\n"
    "      for (int r = 0; r < R; r++) acc[m][r] = 0;\n"
    "    if (NC > 0) load(0, 0, n0);\n"
    "    for (long long c = 0; c < NC; c++) {\n"
    "      // chunk c + 1 in flight while chunk c is used; the stage it fills was\n"
    "      // last read before the barrier that ended step c - 1\n"
    "      if (c + 1 < NC) {\n"
    "        load((int)((c + 1) & 1), c + 1, n0);\n"
    "        ug_lwait<1>();\n"
    "      } else {\n"
    "        ug_lwait<0>();\n"
    "      }\n"
    "      __syncthreads();\n"
    "      const long long k = c * CE + o8;\n"
    "      if (k < K) {\n"
    "        const unsigned char *st = smem + (c & 1) * (R * CB) + ob;\n"
    "        // a float row whose length is not a multiple of 8: the bytes past its end\n"
    "        // in the stage are stale, its last octet is cut\n"
    "        const int cut = W::BE == 8 && k + 8 > K ? (int)(K - k) : 8;\n"
    "        if constexpr (MR <= R) {\n"
    "          // the x octets of every row first, then one weight row at a time\n"
    "          A xv[MR][8];\n"
    "#pragma unroll\n"
    "          for (int m = 0; m < MR; m++) {\n"
    "            if (m0 + m < M) {\n"
    "              ug_ldx8<A>(x + (m0 + m) * K + k, K - k, xvec, xv[m]);\n"
    "            } else {\n"
    "#pragma unroll\n"
    "              for (int j = 0; j < 8; j++) xv[m][j] = 0;\n"
    "            }\n"
    "          }\n"
    "#pragma unroll\n"
    "          for (int r = 0; r < R; r++) {\n"
    "            A wv[8];\n"
    "            ug_ldw8(st + r * CB, oe, wv);\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < 8; j++)\n"
    "              if (j >= cut) wv[j] = 0;\n"
    "#pragma unroll\n"
    "            for (int m = 0; m < MR; m++)\n"
    "#pragma unroll\n"
    "              for (int j = 0; j < 8; j++) acc[m][r] += wv[j] * xv[m][j];\n"
    "          }\n"
    "        } else {\n"
    "          // the weight octets of every row first, then one x row at a time\n"
    "          A wv[R][8];\n"
    "#pragma unroll\n"
    "          for (int r = 0; r < R; r++) {\n"
    "            ug_ldw8(st + r * CB, oe, wv[r]);\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < 8; j++)\n"
    "              if (j >= cut) wv[r][j] = 0;\n"
    "          }\n"
    "#pragma unroll\n"
    "          for (int m = 0; m < MR; m++) {\n"
    "            if (m0 + m < M) {\n"
    "              A xv[8];\n"
    "              ug_ldx8<A>(x + (m0 + m) * K + k, K - k, xvec, xv);\n"
    "#pragma unroll\n"
    "              for (int r = 0; r < R; r++)\n"
    "#pragma unroll\n"
    "                for (int j = 0; j < 8; j++) acc[m][r] += wv[r][j] * xv[j];\n"
    "            }\n"
    "          }\n"
    "        }\n"
    "      }\n"
    "      __syncthreads();\n"
    "    }\n"
    "    // the 256 partial sums of each result: warps, then warp 0's lanes over the warps\n"
    "#pragma unroll\n"
    "    for (int m = 0; m < MR; m++)\n"
    "#pragma unroll\n"
    "      for (int r = 0; r < R; r++) {\n"
    "        A v = acc[m][r];\n"
    "#pragma unroll\n"
    "        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);\n"
    "        if (lane == 0) red[warp][m * R + r] = v;\n"
    "      }\n"
    "    __syncthreads();\n"
    "    if (t < MR * R) {\n"
    "      const int m = t / R, r = t - m * R;\n"
    "      const long long n = n0 + r;\n"
    "      if (m0 + m < M && n < N) {\n"
    "        A s = red[0][t];\n"
    "#pragma unroll\n"
    "        for (int i = 1; i < NW; i++) s += red[i][t];\n"
    "        if (bias) s += (A)ug_wf(bias[n]);\n"
    "        put((m0 + m) * N + n, s);\n"
    "      }\n"
    "    }\n"
    "    __syncthreads();\n"
    "  }\n"
    "}\n",
    "// M > 32: 64 x 64 tiles, K steps of 32 through shared memory (2 x 32 x 65 A).\n"
    "template <class W, class X, class A, class Put>\n"
    "static __forceinline__ void ug_linear_gemm(const unsigned char *__restrict__ w, const X *__restrict__ x,\n"
    "                                           const X *__restrict__ bias, long long M, long long N, long long K,\n"
    "                                           unsigned char *smem, Put put) {\n"
    "  A (*Xs)[65] = reinterpret_cast<A (*)[65]>(smem);  // [k][m]\n"
    "  A (*Ws)[65] = Xs + 32;                              // [k][n]\n"
    "  const int t = threadIdx.x, tx = t & 15, ty = t >> 4, lr = t >> 2, lo = (t & 3) * 8;\n"
    "  const long long RB = W::rbytes(K), tm = (M + 63) / 64, tn = (N + 63) / 64;\n"
    "  const bool xvec = (unsigned long long)x % 16 == 0 && K % (16 / (long long)sizeof(X)) == 0;\n"
    "  for (long long tile = blockIdx.x; tile < tm * tn; tile += gridDim.x) {\n"
    "    const long long m0 = tile % tm * 64, n0 = tile / tm * 64;\n"
    "    A acc[4][4];\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "      for (int j = 0; j < 4; j++) acc[i][j] = 0;\n"
    "    for (long long k0 = 0; k0 < K; k0 += 32) {\n"
    "      // thread t: octet lo / 8 of weight row n0 + lr and of x row m0 + lr\n"
    "      const long long k = k0 + lo;\n"
    "      {\n"
    "        A v[8];\n"
    "        const long long n = n0 + lr;\n"
    "        if (n < N && k < K) {\n"
    "          const unsigned char *row = w + n * RB;\n"
    "          if constexpr (W::BE == 8) {\n"
    "            if (k + 8 <= K) {\n"
    "              W::dq8(row + k * (W::BB / 8), 0, v);\n"
    "            } else {\n"
    "#pragma unroll\n"
    "              for (int j = 0; j < 8; j++) v[j] = k + j < K ? W::template ld1<A>(row, k + j) : (A)0;\n"
    "            }\n"
    "          } else {\n"
    "            W::dq8(row + k / W::BE * W::BB, (int)(k % W::BE), v);\n"
    "          }\n"
    "        } else {\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 8; j++) v[j] = 0;\n"
    "        }\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 8; j++) Ws[lo + j][lr] = v[j];\n"
    "      }\n"
    "      {\n"
    "        A v[8];\n"
    "        const long long m = m0 + lr;\n"
    "        if (m < M && k < K) {\n"
    "          ug_ldx8<A>(x + m * K + k, K - k, xvec, v);\n"
    "        } else {\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 8; j++) v[j] = 0;\n"
    "        }\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 8; j++) Xs[lo + j][lr] = v[j];\n"
    "      }\n"
    "      __syncthreads();\n"
    "#pragma unroll 8\n"
    "      for (int kk = 0; kk < 32; kk++) {\n"
    "        A a[4], b[4];\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < 4; i++) a[i] = Xs[kk][ty + 16 * i], b[i] = Ws[kk][tx + 16 * i];\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];\n"
    "      }\n"
    "      __syncthreads();\n"
    "    }\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "      for (int j = 0; j < 4; j++) {\n"
    "        const long long m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;\n"
    "        if (m < M && n < N) put(m * N + n, bias ? acc[i][j] + (A)ug_wf(bias[n]) : acc[i][j]);\n"
    "      }\n"
    "  }\n"
    "}\n",
    "// MODE 0: GEMV only (static M <= 32), 1: GEMM only (static M > 32), 2: by M at run time\n"
    "template <class W, class X, class A, int MR, int R, int MODE, class Put>\n"
    "static __forceinline__ void ug_linear(const unsigned char *w, const X *x, const X *bias, long long M, long long N,\n"
    "                                      long long K, unsigned char *smem, Put put) {\n"
    "  if constexpr (MODE == 0) {\n"
    "    ug_linear_gemv<W, X, A, MR, R>(w, x, bias, M, N, K, smem, put);\n"
    "  } else if constexpr (MODE == 1) {\n"
    "    ug_linear_gemm<W, X, A>(w, x, bias, M, N, K, smem, put);\n"
    "  } else {\n"
    "    if (M <= 32) ug_linear_gemv<W, X, A, MR, R>(w, x, bias, M, N, K, smem, put);\n"
    "    else ug_linear_gemm<W, X, A>(w, x, bias, M, N, K, smem, put);\n"
    "  }\n"
    "}\n",
    NULL};

/* Weight rows per GEMV block: enough bytes per chunk stage to keep DRAM
 * busy, and R reuses of every x value. */
static int gemv_rows(ug_dtype_t wdt, ug_dtype_t xdt, int mr) {
  if (ug_dtype_is_quant(wdt)) return xdt == UG_DTYPE_F64 ? 4 : mr <= 4 ? 8 : 4;
  switch (ug_dtype_bits(wdt)) {
  case 64: return 1;
  case 32: return 2;
  default: return 4;
  }
}

/* Bytes of one GEMV chunk of one weight row. */
static int64_t chunk_bytes(ug_dtype_t wdt) {
  if (ug_dtype_is_quant(wdt))
    return (int64_t)LINEAR_CHUNK / ug_dtype_block_elems(wdt) * ug_dtype_block_bytes(wdt);
  return (int64_t)LINEAR_CHUNK * ug_dtype_bits(wdt) / 8;
}

ug_status_t ug_cuda_emit_linear(ug_cuda_kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  /* the params of x, w, bias (-1: none) and y (-1: only the epilogue reads it) */
  int ax = k->mm_arg[0], aw = k->mm_arg[1], ab = k->bias_arg, ay = k->mm_arg[2];
  ug_value_id_t vx = ug_node_operand(g, n, 0), vw = ug_node_operand(g, n, 1), vy = ug_node_result(g, n, 0);
  const ug_type_t *xt = ug_value_type(g, vx), *wt = ug_value_type(g, vw), *yt = ug_value_type(g, vy);
  ug_dtype_t xdt = xt->dtype, wdt = wt->dtype;
  const char *ws = ug_cuda_weight_struct(wdt), *xs = ug_cuda_stype(xdt);
  if (!ws || !xs || !ug_dtype_is_float(xdt) || xt->rank < 1 || wt->rank != 2)
    return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (linear of %s x and %s weight)",
                         ug_dtype_name(xdt), ug_dtype_name(wdt));
  if (xdt != UG_DTYPE_F32 && xdt != UG_DTYPE_F16 && xdt != UG_DTYPE_BF16 && xdt != UG_DTYPE_F64)
    return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (linear of %s x)", ug_dtype_name(xdt));
  ug_dims_t *D = k->m->dims;
  ug_dim_t dM = 1;
  for (int i = 0; i + 1 < xt->rank; i++) dM = ug_dim_mul(D, dM, xt->dims[i]);
  ug_dim_t dN = wt->dims[0], dK = UG_DIM_IS_STATIC(wt->dims[1]) ? wt->dims[1] : xt->dims[xt->rank - 1];
  /* the algorithm and its sizes (linear.c's head comment) */
  int mode, mr;
  if (UG_DIM_IS_STATIC(dM) && dM <= LINEAR_GEMV_MAX) {
    mode = 0;
    mr = dM < 1 ? 1 : dM < 8 ? (int)dM : 8;
  } else if (UG_DIM_IS_STATIC(dM)) {
    mode = 1;
    mr = 8;
  } else {
    mode = 2;
    mr = 8;
  }
  int R = gemv_rows(wdt, xdt, mr);
  bool f64 = xdt == UG_DTYPE_F64;
  const char *acc = f64 ? "double" : "float";
  uint32_t gemv_smem = (uint32_t)(2 * R * chunk_bytes(wdt)), gemm_smem = 2u * 32u * 65u * (f64 ? 8u : 4u);
  char M[UG_CUDA_PROD], N[64], K[64], store[128];
  ug_cuda_prodstr(xt, 0, xt->rank - 1, M, sizeof M);
  ug_cuda_dimstr(dN, N, sizeof N);
  ug_cuda_dimstr(dK, K, sizeof K);
  fprintf(k->f, "  extern __shared__ __align__(16) unsigned char ug_linear_smem[];\n");
  fprintf(k->f, "  const long long M = %s, N = %s, K = %s;\n", M, N, K);
  if (k->epilogue) {
    fprintf(k->f, "  auto put = [&](long long i, %s v) { ug_epi(i, (float)v); };\n", acc);
  } else {
    ug_cuda_store_expr(yt->dtype, "v", store, sizeof store);
    if (ay < 0) return ug_node_error(g, n, UG_ERR_INTERNAL, "linear result without a buffer");
    fprintf(k->f, "  auto put = [&](long long i, %s v) { a%d[i] = %s; };\n", acc, ay, store);
  }
  char bias[64];
  if (ab >= 0) snprintf(bias, sizeof bias, "a%d", ab);
  else snprintf(bias, sizeof bias, "(const %s *)nullptr", xs);
  fprintf(k->f, "  ug_linear<%s, %s, %s, %d, %d, %d>(reinterpret_cast<const unsigned char *>(a%d), a%d, %s, M, N, K, ug_linear_smem, put);\n",
          ws, xs, acc, mr, R, mode, aw, ax, bias);
  /* the launch: one block per GEMV work item or GEMM tile, at most
   * UG_CUDA_MAX_GRID (the kernels stride) */
  ug_dim_t items = ug_dim_mul(D, ug_dim_ceildiv(D, dN, R), ug_dim_ceildiv(D, dM, mr));
  ug_dim_t tiles = ug_dim_mul(D, ug_dim_ceildiv(D, dN, 64), ug_dim_ceildiv(D, dM, 64));
  /* symbolic M: the GEMV's items while M <= 32, about the GEMM's tiles beyond */
  ug_dim_t gemv_most = ug_dim_mul(D, ug_dim_ceildiv(D, dN, R), (LINEAR_GEMV_MAX + mr - 1) / mr);
  ug_dim_t work = mode == 0 ? items : mode == 1 ? tiles : ug_dim_min(D, items, ug_dim_max(D, tiles, gemv_most));
  k->custom_launch = true;
  k->grid[0] = ug_dim_min(D, work, UG_CUDA_MAX_GRID);
  k->grid[1] = k->grid[2] = 1;
  k->block = 256;
  k->shared_bytes = mode == 0 ? gemv_smem : mode == 1 ? gemm_smem : (gemv_smem > gemm_smem ? gemv_smem : gemm_smem);
  return NULL;
}
