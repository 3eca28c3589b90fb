/* Block-quantized storage types on CUDA (see kernel.h): the device-side
 * dequantization of every GGUF block layout (docs/gguf.md), written once in
 * ug_cuda_quant_prelude and used by linear (linear.c), by `cast` from a
 * quantized type (here) and by nothing else; gather copies quantized rows
 * as bytes (gather.c).
 *
 * Every storage type is a struct `ug_w_<dtype>` with
 *   BE, BB       elements and bytes of one block (the float types are
 *                blocks of 8 elements, so every kernel works on octets);
 *   rbytes(K)    bytes of a row of K elements;
 *   dq8(b, e0, y) elements e0 .. e0+7 of the block at b (e0 a multiple of 8)
 *                as the accumulation type O, through f32 for the quantized
 *                types with ggml's order of operations, so that the values
 *                are bit for bit ug_quant_dequantize_row's
 *                (frontend/gguf/quant.c);
 *   dq8v(b, y)   (float types only) dq8 from a 16-byte aligned b, with
 *                16-byte loads;
 *   ld1(row, k)  (float types only) element k of a row, for ragged ends.
 * A block of a quantized type is read with 2-byte loads at most: block sizes
 * are even and rows are whole blocks, so every block is 2-byte aligned in
 * the weight blob (64-byte aligned) and in the staging buffers. */
#include <stdio.h>

#include "codegen/cuda/kernel.h"

const char *const ug_cuda_quant_prelude[] = {
    "\n"
    "// ---- block-quantized weights (GGUF layouts; codegen/cuda/quant.c) ----\n"
    "static __forceinline__ unsigned ug_q16(const unsigned char *p) { return *reinterpret_cast<const unsigned short *>(p); }\n"
    "static __forceinline__ float ug_qh(const unsigned char *p) { return __half2float(__ushort_as_half((unsigned short)ug_q16(p))); }\n"
    "// 8 bytes at a 2-byte aligned p as two little-endian words\n"
    "static __forceinline__ void ug_q8b(const unsigned char *p, unsigned &lo, unsigned &hi) {\n"
    "  lo = ug_q16(p) | ug_q16(p + 2) << 16;\n"
    "  hi = ug_q16(p + 4) | ug_q16(p + 6) << 16;\n"
    "}\n"
    "// byte j (0..7) of the pair\n"
    "static __forceinline__ int ug_qbyte(unsigned lo, unsigned hi, int j) { return (int)((j < 4 ? lo >> 8 * j : hi >> 8 * (j - 4)) & 255u); }\n"
    "// the 6-bit scale and min of sub-block s (0..7) of q4_k / q5_k\n"
    "static __forceinline__ void ug_qkscale(const unsigned char *sc, int s, int &d, int &m) {\n"
    "  if (s < 4) {\n"
    "    d = sc[s] & 63;\n"
    "    m = sc[s + 4] & 63;\n"
    "  } else {\n"
    "    d = (sc[s + 4] & 15) | (sc[s - 4] >> 6) << 4;\n"
    "    m = (sc[s + 4] >> 4) | (sc[s] >> 6) << 4;\n"
    "  }\n"
    "}\n"
    "struct ug_w_q4_0 {  // f16 d, u8 qs[16]: x[j] = d (lo(qs[j]) - 8), x[j+16] = d (hi(qs[j]) - 8)\n"
    "  static constexpr int BE = 32, BB = 18;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const float d = ug_qh(b);\n"
    "    unsigned lo, hi;\n"
    "    ug_q8b(b + 2 + (e0 & 15), lo, hi);\n"
    "    const int s = e0 & 16 ? 4 : 0;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) y[j] = (O)((float)((ug_qbyte(lo, hi, j) >> s & 15) - 8) * d);\n"
    "  }\n"
    "};\n",
    "struct ug_w_q4_1 {  // f16 d, f16 m, u8 qs[16]: x = d q + m\n"
    "  static constexpr int BE = 32, BB = 20;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const float d = ug_qh(b), m = ug_qh(b + 2);\n"
    "    unsigned lo, hi;\n"
    "    ug_q8b(b + 4 + (e0 & 15), lo, hi);\n"
    "    const int s = e0 & 16 ? 4 : 0;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) y[j] = (O)__fadd_rn(__fmul_rn((float)(ug_qbyte(lo, hi, j) >> s & 15), d), m);\n"
    "  }\n"
    "};\n"
    "// q5_0 / q5_1: bit e of the u32 qh is bit 4 of element e\n"
    "struct ug_w_q5_0 {  // f16 d, u32 qh, u8 qs[16]: x = d (q - 16)\n"
    "  static constexpr int BE = 32, BB = 22;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const float d = ug_qh(b);\n"
    "    const unsigned qh = (ug_q16(b + 2) | ug_q16(b + 4) << 16) >> e0;\n"
    "    unsigned lo, hi;\n"
    "    ug_q8b(b + 6 + (e0 & 15), lo, hi);\n"
    "    const int s = e0 & 16 ? 4 : 0;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++)\n"
    "      y[j] = (O)((float)(((ug_qbyte(lo, hi, j) >> s & 15) | (int)(qh >> j & 1u) << 4) - 16) * d);\n"
    "  }\n"
    "};\n"
    "struct ug_w_q5_1 {  // f16 d, f16 m, u32 qh, u8 qs[16]: x = d q + m\n"
    "  static constexpr int BE = 32, BB = 24;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const float d = ug_qh(b), m = ug_qh(b + 2);\n"
    "    const unsigned qh = (ug_q16(b + 4) | ug_q16(b + 6) << 16) >> e0;\n"
    "    unsigned lo, hi;\n"
    "    ug_q8b(b + 8 + (e0 & 15), lo, hi);\n"
    "    const int s = e0 & 16 ? 4 : 0;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++)\n"
    "      y[j] = (O)__fadd_rn(__fmul_rn((float)((ug_qbyte(lo, hi, j) >> s & 15) | (int)(qh >> j & 1u) << 4), d), m);\n"
    "  }\n"
    "};\n",
    "struct ug_w_q8_0 {  // f16 d, i8 qs[32]: x = d q\n"
    "  static constexpr int BE = 32, BB = 34;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const float d = ug_qh(b);\n"
    "    unsigned lo, hi;\n"
    "    ug_q8b(b + 2 + e0, lo, hi);\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) y[j] = (O)((float)(signed char)ug_qbyte(lo, hi, j) * d);\n"
    "  }\n"
    "};\n"
    "// q4_k / q5_k: 8 sub-blocks of 32; sub-block s takes nibble s & 1 of qs[32 (s >> 1) + l]\n"
    "// (and bit s of qh[l] as bit 4 for q5_k): x = d sc q - dmin m\n"
    "struct ug_w_q4_k {  // f16 d, f16 dmin, u8 scales[12], u8 qs[128]\n"
    "  static constexpr int BE = 256, BB = 144;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const int s = e0 >> 5;\n"
    "    int sc, mn;\n"
    "    ug_qkscale(b + 4, s, sc, mn);\n"
    "    const float d = __fmul_rn(ug_qh(b), (float)sc), m = __fmul_rn(ug_qh(b + 2), (float)mn);\n"
    "    unsigned lo, hi;\n"
    "    ug_q8b(b + 16 + 32 * (s >> 1) + (e0 & 31), lo, hi);\n"
    "    const int sh = (s & 1) * 4;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) y[j] = (O)__fsub_rn(__fmul_rn(d, (float)(ug_qbyte(lo, hi, j) >> sh & 15)), m);\n"
    "  }\n"
    "};\n"
    "struct ug_w_q5_k {  // f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]\n"
    "  static constexpr int BE = 256, BB = 176;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const int s = e0 >> 5;\n"
    "    int sc, mn;\n"
    "    ug_qkscale(b + 4, s, sc, mn);\n"
    "    const float d = __fmul_rn(ug_qh(b), (float)sc), m = __fmul_rn(ug_qh(b + 2), (float)mn);\n"
    "    unsigned lo, hi, hlo, hhi;\n"
    "    ug_q8b(b + 48 + 32 * (s >> 1) + (e0 & 31), lo, hi);\n"
    "    ug_q8b(b + 16 + (e0 & 31), hlo, hhi);\n"
    "    const int sh = (s & 1) * 4;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) {\n"
    "      const int q = (ug_qbyte(lo, hi, j) >> sh & 15) | (ug_qbyte(hlo, hhi, j) >> s & 1) << 4;\n"
    "      y[j] = (O)__fsub_rn(__fmul_rn(d, (float)q), m);\n"
    "    }\n"
    "  }\n"
    "};\n",
    "// q6_k: halves of 128; element 32k + l (k < 4, l < 32) of half h: low 4 bits from\n"
    "// ql[64h + 32 (k & 1) + l] (low nibble for k < 2), bits 4-5 from qh[32h + l] >> 2k;\n"
    "// scale scales[8h + (32k + l) / 16]: x = d sc (q - 32)\n"
    "struct ug_w_q6_k {  // u8 ql[128], u8 qh[64], i8 scales[16], f16 d\n"
    "  static constexpr int BE = 256, BB = 210;\n"
    "  static __forceinline__ long long rbytes(long long K) { return K / BE * BB; }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int e0, O *y) {\n"
    "    const int h = e0 >> 7, e = e0 & 127, k = e >> 5, l = e & 31;\n"
    "    const float d = __fmul_rn(ug_qh(b + 208), (float)(signed char)b[192 + 8 * h + (e >> 4)]);\n"
    "    unsigned lo, hi, hlo, hhi;\n"
    "    ug_q8b(b + 64 * h + 32 * (k & 1) + l, lo, hi);\n"
    "    ug_q8b(b + 128 + 32 * h + l, hlo, hhi);\n"
    "    const int sh = k < 2 ? 0 : 4;\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) {\n"
    "      const int q = (ug_qbyte(lo, hi, j) >> sh & 15) | (ug_qbyte(hlo, hhi, j) >> 2 * k & 3) << 4;\n"
    "      y[j] = (O)__fmul_rn(d, (float)(q - 32));\n"
    "    }\n"
    "  }\n"
    "};\n"
    "// float weights: blocks of 8 elements\n"
    "template <class T> static __forceinline__ float ug_wf(T v) { return (float)v; }\n"
    "static __forceinline__ float ug_wf(__half v) { return __half2float(v); }\n"
    "static __forceinline__ float ug_wf(__nv_bfloat16 v) { return __bfloat162float(v); }\n"
    "static __forceinline__ double ug_wf(double v) { return v; }\n"
    "template <class T> struct ug_w_float {\n"
    "  static constexpr int BE = 8, BB = 8 * (int)sizeof(T);\n"
    "  static __forceinline__ long long rbytes(long long K) { return K * (long long)sizeof(T); }\n"
    "  template <class O> static __forceinline__ void dq8(const unsigned char *b, int, O *y) {\n"
    "    const T *p = reinterpret_cast<const T *>(b);\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < 8; j++) y[j] = (O)ug_wf(p[j]);\n"
    "  }\n"
    "  // the same from a 16-byte aligned b, in 16-byte loads\n"
    "  template <class O> static __forceinline__ void dq8v(const unsigned char *b, O *y) {\n"
    "    constexpr int V = 16 / (int)sizeof(T);\n"
    "#pragma unroll\n"
    "    for (int h = 0; h < 8 / V; h++) {\n"
    "      const ug_vec<T, V> v = reinterpret_cast<const ug_vec<T, V> *>(b)[h];\n"
    "#pragma unroll\n"
    "      for (int j = 0; j < V; j++) y[h * V + j] = (O)ug_wf(v.e[j]);\n"
    "    }\n"
    "  }\n"
    "  template <class O> static __forceinline__ O ld1(const unsigned char *row, long long k) {\n"
    "    return (O)ug_wf(reinterpret_cast<const T *>(row)[k]);\n"
    "  }\n"
    "};\n",
    NULL};

const char *ug_cuda_weight_struct(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_Q4_0: return "ug_w_q4_0";
  case UG_DTYPE_Q4_1: return "ug_w_q4_1";
  case UG_DTYPE_Q5_0: return "ug_w_q5_0";
  case UG_DTYPE_Q5_1: return "ug_w_q5_1";
  case UG_DTYPE_Q8_0: return "ug_w_q8_0";
  case UG_DTYPE_Q4_K: return "ug_w_q4_k";
  case UG_DTYPE_Q5_K: return "ug_w_q5_k";
  case UG_DTYPE_Q6_K: return "ug_w_q6_k";
  case UG_DTYPE_F64: return "ug_w_float<double>";
  case UG_DTYPE_F32: return "ug_w_float<float>";
  case UG_DTYPE_F16: return "ug_w_float<__half>";
  case UG_DTYPE_BF16: return "ug_w_float<__nv_bfloat16>";
  default: return NULL;
  }
}

/* cast from a block-quantized type: the elements dequantized to f32 as the
 * reference does, then converted to the target dtype like any f32 cast.
 * One thread per octet (a quantized tensor is whole blocks, so octets never
 * straddle its end), 16-byte vector stores of the 8 results where the
 * result pointer allows. */
ug_status_t ug_cuda_emit_dequant(ug_cuda_kctx_t *k) {
  const ug_type_t *xt = ug_value_type(k->g, k->ops[0]), *ot = ug_value_type(k->g, k->res[0]);
  const char *ws = ug_cuda_weight_struct(xt->dtype), *ost = ug_cuda_stype(ot->dtype);
  if (!ws || !ug_dtype_is_quant(xt->dtype) || !ug_cuda_ctype(ot->dtype))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (cast %s to %s)",
                         ug_dtype_name(xt->dtype), ug_dtype_name(ot->dtype));
  char numel[UG_CUDA_PROD], expr[UG_CUDA_EXPR], store[UG_CUDA_EXPR];
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  ug_ew_t ew = ug_ew_of_node(k->g, k->n);
  const char *in[1] = {"v[j]"};
  ug_dtype_t in_dt[1] = {UG_DTYPE_F32};
  UG_RETURN_IF_ERROR(ug_cuda_ew_expr(&ew, in, in_dt, ot->dtype, expr, sizeof expr));
  ug_cuda_store_expr(ot->dtype, expr, store, sizeof store);
  int esz = ug_dtype_bits(ot->dtype) / 8;
  fprintf(k->f, "  typedef %s W;\n", ws);
  fprintf(k->f, "  const int64_t n8 = (%s) / 8;\n", numel);
  fprintf(k->f, "  const bool vec = ((unsigned long long)a1 %% %d) == 0;\n", 8 * esz);
  fprintf(k->f, "  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n8; i += (int64_t)gridDim.x * blockDim.x) {\n");
  fprintf(k->f, "    const int64_t e = i * 8;\n");
  fprintf(k->f, "    float v[8];\n");
  fprintf(k->f, "    W::dq8(a0 + e / W::BE * W::BB, (int)(e %% W::BE), v);\n");
  fprintf(k->f, "    ug_vec<%s, 8> o;\n#pragma unroll\n    for (int j = 0; j < 8; j++) o.e[j] = %s;\n", ost, store);
  fprintf(k->f, "    if (vec) {\n      *reinterpret_cast<ug_vec<%s, 8> *>(a1 + e) = o;\n    } else {\n", ost);
  fprintf(k->f, "#pragma unroll\n      for (int j = 0; j < 8; j++) a1[e + j] = o.e[j];\n    }\n  }\n");
  k->work = ug_dim_ceildiv(k->m->dims, ug_type_numel(k->m->dims, ot), 8);
  k->per_thread = 1;
  return NULL;
}
