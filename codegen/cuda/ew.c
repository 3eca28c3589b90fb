/* Elementwise semantics as CUDA C expressions; see ew.h.  The choices follow
 * codegen/llvm/ew.c and codegen/llvm/emit.c line by line (docs/codegen.md,
 * "Semantics notes"). */
#include "codegen/cuda/ew.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char ug_cuda_prelude[] =
    "typedef long long int64_t;\n"
    "typedef unsigned long long uint64_t;\n"
    "typedef int int32_t;\n"
    "typedef unsigned int uint32_t;\n"
    "#include <cuda_fp16.h>\n"
    "#include <cuda_bf16.h>\n"
    "\n"
    "// Blocks per cluster (sm_90 and newer): a split-K matmul's blocks share a tile (contract.c).\n"
    "#if __CUDA_ARCH__ >= 900\n"
    "#define UG_CLUSTER(n) __cluster_dims__(n, 1, 1)\n"
    "#else\n"
    "#define UG_CLUSTER(n)\n"
    "#endif\n"
    "\n"
    "// 16-byte vectors of V elements for vectorized loads and stores.\n"
    "template <class T, int V> struct __align__(sizeof(T) * V) ug_vec { T e[V]; };\n"
    "\n"
    "// min / max propagating NaN, -0 below +0 (llvm.minimum / llvm.maximum on the CPU).\n"
    "static __forceinline__ bool ug_neg(float a) { return __float_as_int(a) < 0; }\n"
    "static __forceinline__ bool ug_neg(double a) { return __double_as_longlong(a) < 0; }\n"
    "template <class T> static __forceinline__ T ug_fmax(T a, T b) {\n"
    "  if (a != a || b != b) return a + b;\n"
    "  if (a == b) return ug_neg(a) ? b : a;\n"
    "  return a > b ? a : b;\n"
    "}\n"
    "template <class T> static __forceinline__ T ug_fmin(T a, T b) {\n"
    "  if (a != a || b != b) return a + b;\n"
    "  if (a == b) return ug_neg(a) ? a : b;\n"
    "  return a < b ? a : b;\n"
    "}\n"
    "static __forceinline__ float ug_inf(float) { return __int_as_float(0x7f800000); }\n"
    "static __forceinline__ double ug_inf(double) { return __longlong_as_double(0x7ff0000000000000LL); }\n"
    "\n"
    "// Integer division truncates; by zero gives 0, INT_MIN / -1 wraps.\n"
    "template <class T> static __forceinline__ T ug_idiv(T a, T b) {\n"
    "  if (b == 0) return 0;\n"
    "  if constexpr ((T)-1 < (T)0) {\n"
    "    if (b == (T)-1) return (T)(0ull - (unsigned long long)a);\n"
    "  }\n"
    "  return (T)(a / b);\n"
    "}\n"
    "// mod takes the divisor's sign (fmod: the dividend's); by zero gives 0.\n"
    "template <class T> static __forceinline__ T ug_imod(T a, T b, bool fm) {\n"
    "  if (b == 0) return 0;\n"
    "  if constexpr ((T)-1 < (T)0) {\n"
    "    if (b == (T)-1) return 0;\n"
    "    T r = (T)(a % b);\n"
    "    if (!fm && r != 0 && ((r < 0) != (b < 0))) r = (T)(r + b);\n"
    "    return r;\n"
    "  } else {\n"
    "    return (T)(a % b);\n"
    "  }\n"
    "}\n"
    "static __forceinline__ float ug_fmod(float a, float b, bool fm) {\n"
    "  float r = fmodf(a, b);\n"
    "  return (!fm && r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n"
    "}\n"
    "static __forceinline__ double ug_fmod(double a, double b, bool fm) {\n"
    "  double r = fmod(a, b);\n"
    "  return (!fm && r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n"
    "}\n"
    "\n"
    "// float -> integer: truncate, saturate, NaN -> 0.\n"
    "#define UG_F2I(NAME, T, LO, HI) \\\n"
    "  static __forceinline__ T NAME(double x) { \\\n"
    "    return x != x ? (T)0 : x <= (double)(LO) ? (T)(LO) : x >= (double)(HI) ? (T)(HI) : (T)x; }\n"
    "UG_F2I(ug_f2i_i64, long long, (-9223372036854775807LL - 1), 9223372036854775807LL)\n"
    "UG_F2I(ug_f2i_i32, int, (-2147483647 - 1), 2147483647)\n"
    "UG_F2I(ug_f2i_i16, short, -32768, 32767)\n"
    "UG_F2I(ug_f2i_i8, signed char, -128, 127)\n"
    "UG_F2I(ug_f2i_u64, unsigned long long, 0, 18446744073709551615ULL)\n"
    "UG_F2I(ug_f2i_u32, unsigned int, 0, 4294967295U)\n"
    "UG_F2I(ug_f2i_u16, unsigned short, 0, 65535)\n"
    "UG_F2I(ug_f2i_u8, unsigned char, 0, 255)\n"
    "\n"
    "template <class T> static __forceinline__ T ug_clamp01(T v) {\n"
    "  v = v < 0 ? (T)0 : v;\n"
    "  return v > 1 ? (T)1 : v;\n"
    "}\n"
    "static __forceinline__ float ug_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }\n"
    "static __forceinline__ double ug_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }\n"
    "// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).\n"
    "static __forceinline__ float ug_softplus(float x) { return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x))); }\n"
    "static __forceinline__ double ug_softplus(double x) { return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x))); }\n"
    "\n";

const char *ug_cuda_ctype(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F64: return "double";
  case UG_DTYPE_F32: case UG_DTYPE_F16: case UG_DTYPE_BF16: return "float";
  case UG_DTYPE_I64: return "long long";
  case UG_DTYPE_I32: return "int";
  case UG_DTYPE_I16: return "short";
  case UG_DTYPE_I8: return "signed char";
  case UG_DTYPE_U64: return "unsigned long long";
  case UG_DTYPE_U32: return "unsigned int";
  case UG_DTYPE_U16: return "unsigned short";
  case UG_DTYPE_U8: return "unsigned char";
  case UG_DTYPE_BOOL: return "bool";
  default: return NULL;
  }
}

const char *ug_cuda_stype(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F16: return "__half";
  case UG_DTYPE_BF16: return "__nv_bfloat16";
  case UG_DTYPE_BOOL: return "unsigned char";
  default: return ug_dtype_is_quant(dt) ? "unsigned char" : ug_cuda_ctype(dt);
  }
}

void ug_cuda_load_expr(ug_dtype_t dt, const char *s, char *buf, size_t size) {
  if (dt == UG_DTYPE_F16) snprintf(buf, size, "__half2float(%s)", s);
  else if (dt == UG_DTYPE_BF16) snprintf(buf, size, "__bfloat162float(%s)", s);
  else if (dt == UG_DTYPE_BOOL) snprintf(buf, size, "(%s != 0)", s);
  else snprintf(buf, size, "%s", s);
}

/* f32 -> f16 rounds to nearest even and overflows to inf; f32 -> bf16 rounds
 * to nearest even, as on the CPU. */
void ug_cuda_store_expr(ug_dtype_t dt, const char *v, char *buf, size_t size) {
  if (dt == UG_DTYPE_F16) snprintf(buf, size, "__float2half_rn(%s)", v);
  else if (dt == UG_DTYPE_BF16) snprintf(buf, size, "__float2bfloat16_rn(%s)", v);
  else if (dt == UG_DTYPE_BOOL) snprintf(buf, size, "(unsigned char)(%s)", v);
  else snprintf(buf, size, "%s", v);
}

static const char *f2i_name(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_I64: return "ug_f2i_i64";
  case UG_DTYPE_I32: return "ug_f2i_i32";
  case UG_DTYPE_I16: return "ug_f2i_i16";
  case UG_DTYPE_I8: return "ug_f2i_i8";
  case UG_DTYPE_U64: return "ug_f2i_u64";
  case UG_DTYPE_U32: return "ug_f2i_u32";
  case UG_DTYPE_U16: return "ug_f2i_u16";
  default: return "ug_f2i_u8";
  }
}

/* The conversion of ug_cg_convert: x (compute type of from) to the compute
 * type of to. */
static void convert(ug_dtype_t from, ug_dtype_t to, const char *x, char *buf, size_t size) {
  const char *tt = ug_cuda_ctype(to);
  bool ff = ug_dtype_is_float(from), tf = ug_dtype_is_float(to);
  if (to == UG_DTYPE_BOOL) snprintf(buf, size, "((%s) != 0)", x); /* NaN -> true */
  else if (ff && !tf) snprintf(buf, size, "%s((double)(%s))", f2i_name(to), x);
  else snprintf(buf, size, "((%s)(%s))", tt, x);
}

typedef struct {
  char *p;
  size_t left;
} out_t;

static void put(out_t *o, const char *fmt, ...) UG_PRINTF(2, 3);
static void put(out_t *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p, o->left, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= o->left) n = o->left ? (int)o->left - 1 : 0;
  o->p += n;
  o->left -= (size_t)n;
}

void ug_cuda_round_expr(ug_dtype_t dt, const char *e, char *buf, size_t size) {
  if (ug_dtype_compute(dt) == dt) {
    snprintf(buf, size, "%s", e);
    return;
  }
  char st[4096];
  ug_cuda_store_expr(dt, e, st, sizeof st);
  ug_cuda_load_expr(dt, st, buf, size);
}

ug_status_t ug_cuda_ew_expr(const ug_ew_t *n, const char *const *in,
                            const ug_dtype_t *in_dt, ug_dtype_t out_dt, char *buf, size_t size) {
  const char *x = in[0], *y = n->num_operands > 1 ? in[1] : NULL;
  ug_dtype_t dt = in_dt[0];
  const char *T = ug_cuda_ctype(dt), *OT = ug_cuda_ctype(out_dt);
  if (!T || !OT) return ug_ew_error(n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (dtype)");
  bool fl = ug_dtype_is_float(dt), sg = ug_dtype_kind(dt) == UG_KIND_I;
  const char *f = strcmp(T, "double") == 0 ? "" : "f"; /* libm suffix */
  out_t o = {buf, size};
  char k1[64], k2[64], tmp[512];
  /* K(v): a constant of the compute type, rounded as LLVMConstReal does */
#define K(buf_, v) snprintf(buf_, sizeof buf_, "((%s)%.17g)", T, (double)(v))
#define FN(name) put(&o, "%s%s(%s)", name, f, x)
  switch (n->op) {
  case UG_OP_NEG: put(&o, "(-(%s))", x); break;
  case UG_OP_ABS:
    if (fl) FN("fabs");
    else if (sg) put(&o, "((%s) < 0 ? -(%s) : (%s))", x, x, x);
    else put(&o, "(%s)", x);
    break;
  case UG_OP_SIGN:
    if (fl) put(&o, "((%s) > 0 ? (%s)1 : (%s) < 0 ? (%s)-1 : (%s))", x, T, x, T, x);
    else put(&o, "((%s)(((%s) > 0) - ((%s) < 0)))", T, x, x);
    break;
  case UG_OP_EXP: FN("exp"); break;
  case UG_OP_LOG: FN("log"); break;
  case UG_OP_SQRT: FN("sqrt"); break;
  case UG_OP_RSQRT: put(&o, "((%s)1 / sqrt%s(%s))", T, f, x); break;
  case UG_OP_RECIPROCAL: put(&o, "((%s)1 / (%s))", T, x); break;
  case UG_OP_SIN: FN("sin"); break;
  case UG_OP_COS: FN("cos"); break;
  case UG_OP_TAN: FN("tan"); break;
  case UG_OP_ASIN: FN("asin"); break;
  case UG_OP_ACOS: FN("acos"); break;
  case UG_OP_ATAN: FN("atan"); break;
  case UG_OP_SINH: FN("sinh"); break;
  case UG_OP_COSH: FN("cosh"); break;
  case UG_OP_TANH: FN("tanh"); break;
  case UG_OP_ASINH: FN("asinh"); break;
  case UG_OP_ACOSH: FN("acosh"); break;
  case UG_OP_ATANH: FN("atanh"); break;
  case UG_OP_ERF: FN("erf"); break;
  case UG_OP_FLOOR: FN("floor"); break;
  case UG_OP_CEIL: FN("ceil"); break;
  case UG_OP_ROUND: FN("rint"); break; /* half to even in the default rounding mode */
  case UG_OP_SIGMOID: put(&o, "ug_sigmoid(%s)", x); break;
  case UG_OP_HARD_SIGMOID:
    K(k1, ug_ew_attr_float(n, UG_ATTR_ALPHA, 0.2));
    K(k2, ug_ew_attr_float(n, UG_ATTR_BETA, 0.5));
    put(&o, "ug_clamp01<%s>((%s) * %s + %s)", T, x, k1, k2);
    break;
  case UG_OP_HARD_SWISH:
    K(k1, 1.0 / 6.0);
    put(&o, "((%s) * ug_clamp01<%s>((%s) * %s + (%s)0.5))", x, T, x, k1, T);
    break;
  case UG_OP_RELU:
    if (fl) put(&o, "((%s) < 0 ? (%s)0 : (%s))", x, T, x);
    else put(&o, "((%s) > 0 ? (%s) : (%s)0)", x, x, T);
    break;
  case UG_OP_LEAKY_RELU:
    K(k1, ug_ew_attr_float(n, UG_ATTR_ALPHA, 0.01));
    put(&o, "((%s) < 0 ? (%s) * %s : (%s))", x, x, k1, x);
    break;
  case UG_OP_ELU:
    K(k1, ug_ew_attr_float(n, UG_ATTR_ALPHA, 1.0));
    put(&o, "((%s) < 0 ? %s * expm1%s(%s) : (%s))", x, k1, f, x, x);
    break;
  case UG_OP_CELU:
    K(k1, ug_ew_attr_float(n, UG_ATTR_ALPHA, 1.0));
    put(&o, "((%s) < 0 ? %s * expm1%s((%s) / %s) : (%s))", x, k1, f, x, k1, x);
    break;
  case UG_OP_SELU:
    K(k1, ug_ew_attr_float(n, UG_ATTR_ALPHA, 1.67326319217681884765625));
    K(k2, ug_ew_attr_float(n, UG_ATTR_GAMMA, 1.05070102214813232421875));
    put(&o, "(%s * ((%s) > 0 ? (%s) : %s * exp%s(%s) - %s))", k2, x, x, k1, f, x, k1);
    break;
  case UG_OP_THRESHOLDED_RELU:
    K(k1, ug_ew_attr_float(n, UG_ATTR_ALPHA, 1.0));
    put(&o, "((%s) > %s ? (%s) : (%s)0)", x, k1, x, T);
    break;
  case UG_OP_SOFTPLUS: put(&o, "ug_softplus(%s)", x); break;
  case UG_OP_SOFTSIGN: put(&o, "((%s) / ((%s)1 + fabs%s(%s)))", x, T, f, x); break;
  case UG_OP_SILU: put(&o, "((%s) * ug_sigmoid(%s))", x, x); break;
  case UG_OP_MISH: put(&o, "((%s) * tanh%s(ug_softplus(%s)))", x, f, x); break;
  case UG_OP_GELU:
    if (strcmp(ug_ew_attr_str(n, UG_ATTR_APPROXIMATE, "none"), "tanh") == 0) {
      K(k1, 0.7978845608028654);
      K(k2, 0.044715);
      put(&o, "((%s)0.5 * (%s) * ((%s)1 + tanh%s(%s * ((%s) + %s * ((%s) * (%s) * (%s))))))", T, x, T, f,
          k1, x, k2, x, x, x);
    } else {
      K(k1, 0.7071067811865476);
      put(&o, "((%s)0.5 * (%s) * ((%s)1 + erf%s((%s) * %s)))", T, x, T, f, x, k1);
    }
    break;
  case UG_OP_NOT: put(&o, "(!(%s))", x); break;
  case UG_OP_BITWISE_NOT: put(&o, "((%s)~(%s))", T, x); break;
  case UG_OP_ISNAN: put(&o, "((%s) != (%s))", x, x); break;
  case UG_OP_ISINF: {
    bool pos = ug_ew_attr_int(n, UG_ATTR_DETECT_POSITIVE, 1) != 0;
    bool neg = ug_ew_attr_int(n, UG_ATTR_DETECT_NEGATIVE, 1) != 0;
    put(&o, "(%s%s%s%s%s)", pos ? "(" : "false", pos ? x : "", pos ? " == ug_inf(" : "", pos ? x : "",
        pos ? "))" : "");
    put(&o, " || (%s%s%s%s%s)", neg ? "(" : "false", neg ? x : "", neg ? " == -ug_inf(" : "",
        neg ? x : "", neg ? "))" : "");
    break;
  }
  case UG_OP_IDENTITY: put(&o, "(%s)", x); break;
  case UG_OP_CAST:
    convert(dt, out_dt, x, tmp, sizeof tmp);
    put(&o, "%s", tmp);
    break;
  case UG_OP_CLIP: {
    /* r = x < lo ? lo : x; r > hi ? hi : r  (NaN passes through) */
    const char *lo = n->num_operands > 1 ? in[1] : NULL, *hi = n->num_operands > 2 ? in[2] : NULL;
    char r1[256];
    if (lo) snprintf(r1, sizeof r1, "((%s) < (%s) ? (%s) : (%s))", x, lo, lo, x);
    else snprintf(r1, sizeof r1, "(%s)", x);
    if (hi) put(&o, "(%s > (%s) ? (%s) : %s)", r1, hi, hi, r1);
    else put(&o, "%s", r1);
    break;
  }
  /* float add, sub, mul as the _rn intrinsics: NVRTC never contracts those
   * into an FMA, so a fused x * y + z rounds twice, as the graph says (and
   * as the CPU computes it) */
  case UG_OP_ADD:
    if (fl) put(&o, "__%sadd_rn(%s, %s)", *f ? "f" : "d", x, y);
    else put(&o, "((%s) + (%s))", x, y);
    break;
  case UG_OP_SUB:
    if (fl) put(&o, "__%ssub_rn(%s, %s)", *f ? "f" : "d", x, y);
    else put(&o, "((%s) - (%s))", x, y);
    break;
  case UG_OP_MUL:
    if (fl) put(&o, "__%smul_rn(%s, %s)", *f ? "f" : "d", x, y);
    else put(&o, "((%s) * (%s))", x, y);
    break;
  case UG_OP_DIV:
    if (fl) put(&o, "((%s) / (%s))", x, y);
    else put(&o, "ug_idiv<%s>(%s, %s)", T, x, y);
    break;
  case UG_OP_POW:
    if (fl) {
      convert(in_dt[1], dt, y, tmp, sizeof tmp);
      put(&o, "pow%s(%s, %s)", f, x, tmp);
    } else {
      /* integer base: through double, exact for the results an integer can hold */
      char e[512], pw[1200];
      convert(in_dt[1], UG_DTYPE_F64, y, e, sizeof e);
      snprintf(pw, sizeof pw, "pow((double)(%s), %s)", x, e);
      convert(UG_DTYPE_F64, dt, pw, tmp, sizeof tmp);
      put(&o, "%s", tmp);
    }
    break;
  case UG_OP_MOD: {
    bool fm = ug_ew_attr_int(n, UG_ATTR_FMOD, 0) != 0;
    if (fl) put(&o, "ug_fmod(%s, %s, %s)", x, y, fm ? "true" : "false");
    else put(&o, "ug_imod<%s>(%s, %s, %s)", T, x, y, fm ? "true" : "false");
    break;
  }
  case UG_OP_MIN:
    if (fl) put(&o, "ug_fmin<%s>(%s, %s)", T, x, y);
    else put(&o, "((%s) < (%s) ? (%s) : (%s))", x, y, x, y);
    break;
  case UG_OP_MAX:
    if (fl) put(&o, "ug_fmax<%s>(%s, %s)", T, x, y);
    else put(&o, "((%s) > (%s) ? (%s) : (%s))", x, y, x, y);
    break;
  case UG_OP_PRELU: put(&o, "((%s) < 0 ? (%s) * (%s) : (%s))", x, x, y, x); break;
  case UG_OP_AND: put(&o, "((%s) && (%s))", x, y); break;
  case UG_OP_OR: put(&o, "((%s) || (%s))", x, y); break;
  case UG_OP_XOR: put(&o, "((%s) != (%s))", x, y); break;
  case UG_OP_BITWISE_AND: put(&o, "((%s)((%s) & (%s)))", T, x, y); break;
  case UG_OP_BITWISE_OR: put(&o, "((%s)((%s) | (%s)))", T, x, y); break;
  case UG_OP_BITWISE_XOR: put(&o, "((%s)((%s) ^ (%s)))", T, x, y); break;
  case UG_OP_BITSHIFT: {
    /* a shift by the bit width or more gives 0 */
    const char *dir = ug_ew_attr_str(n, UG_ATTR_DIRECTION, "LEFT");
    bool right = dir[0] == 'R' || dir[0] == 'r';
    put(&o, "((unsigned long long)(%s) >= %d ? (%s)0 : (%s)((%s) %s (%s)))", y, ug_dtype_bits(dt), T, T, x,
        right ? ">>" : "<<", y);
    break;
  }
  case UG_OP_EQUAL: put(&o, "((%s) == (%s))", x, y); break;
  case UG_OP_LESS: put(&o, "((%s) < (%s))", x, y); break;
  case UG_OP_LESS_EQUAL: put(&o, "((%s) <= (%s))", x, y); break;
  case UG_OP_GREATER: put(&o, "((%s) > (%s))", x, y); break;
  case UG_OP_GREATER_EQUAL: put(&o, "((%s) >= (%s))", x, y); break;
  case UG_OP_WHERE: put(&o, "((%s) ? (%s) : (%s))", x, in[1], in[2]); break;
  default: return ug_ew_error(n, UG_ERR_UNSUPPORTED, "not supported on cuda yet");
  }
#undef K
#undef FN
  if (o.left <= 1) return ug_ew_error(n, UG_ERR_INTERNAL, "CUDA expression too long");
  return NULL;
}
