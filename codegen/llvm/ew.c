/* Elementwise ops: the scalar semantics of every op (ONNX's), and the kernel
 * that applies one over NumPy-broadcast operands.
 *
 * The kernel runs one flat loop when every operand has the result's shape or
 * is a single element; otherwise a loop nest over the result's dims whose
 * innermost loop walks the result contiguously and each operand with its
 * broadcast stride (0 or 1 in the common cases, which the vectorizer
 * versions on). */
#include <math.h>
#include <string.h>

#include "codegen/llvm/lower.h"

static LLVMValueRef fconst(LLVMValueRef like, double v) { return LLVMConstReal(LLVMTypeOf(like), v); }

static LLVMValueRef intrin1(ug_cg_t *cg, const char *name, LLVMValueRef x) {
  return ug_cg_intrinsic(cg, name, &x, 1);
}

static LLVMValueRef fsel(ug_cg_t *cg, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b,
                         LLVMValueRef t, LLVMValueRef f) {
  return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, p, a, b, ""), t, f, "");
}

static LLVMValueRef sigmoid(ug_cg_t *cg, LLVMValueRef x) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef e = ug_cg_libm1(cg, "exp", LLVMBuildFNeg(b, x, ""));
  return LLVMBuildFDiv(b, fconst(x, 1), LLVMBuildFAdd(b, fconst(x, 1), e, ""), "");
}

/* log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)). */
static LLVMValueRef softplus(ug_cg_t *cg, LLVMValueRef x) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef ax = intrin1(cg, "llvm.fabs", x);
  LLVMValueRef l = ug_cg_libm1(cg, "log1p", ug_cg_libm1(cg, "exp", LLVMBuildFNeg(b, ax, "")));
  LLVMValueRef m = fsel(cg, LLVMRealOGT, x, fconst(x, 0), x, fconst(x, 0));
  return LLVMBuildFAdd(b, m, l, "");
}

static LLVMValueRef clamp01(ug_cg_t *cg, LLVMValueRef v) {
  v = fsel(cg, LLVMRealOLT, v, fconst(v, 0), fconst(v, 0), v);
  return fsel(cg, LLVMRealOGT, v, fconst(v, 1), fconst(v, 1), v);
}

static bool is_signed_dt(ug_dtype_t dt) { return ug_dtype_kind(dt) == UG_KIND_I; }

static LLVMValueRef mod_op(ug_cg_t *cg, ug_dtype_t dt, bool fmod, LLVMValueRef a, LLVMValueRef c) {
  LLVMBuilderRef b = cg->b;
  if (ug_dtype_is_float(dt)) {
    LLVMValueRef r = LLVMBuildFRem(b, a, c, "");
    if (fmod) return r;
    LLVMValueRef nz = LLVMBuildFCmp(b, LLVMRealONE, r, fconst(r, 0), "");
    LLVMValueRef diff = LLVMBuildXor(b, LLVMBuildFCmp(b, LLVMRealOLT, r, fconst(r, 0), ""),
                                     LLVMBuildFCmp(b, LLVMRealOLT, c, fconst(c, 0), ""), "");
    return LLVMBuildSelect(b, LLVMBuildAnd(b, nz, diff, ""), LLVMBuildFAdd(b, r, c, ""), r, "");
  }
  LLVMTypeRef t = LLVMTypeOf(a);
  LLVMValueRef zero = LLVMConstInt(t, 0, 0);
  LLVMValueRef cz = LLVMBuildICmp(b, LLVMIntEQ, c, zero, "");
  if (!is_signed_dt(dt)) {
    LLVMValueRef safe = LLVMBuildSelect(b, cz, LLVMConstInt(t, 1, 0), c, "");
    return LLVMBuildSelect(b, cz, zero, LLVMBuildURem(b, a, safe, ""), "");
  }
  LLVMValueRef cm1 = LLVMBuildICmp(b, LLVMIntEQ, c, LLVMConstAllOnes(t), "");
  LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, cz, cm1, ""), LLVMConstInt(t, 1, 0), c, "");
  LLVMValueRef r = LLVMBuildSRem(b, a, safe, "");
  r = LLVMBuildSelect(b, LLVMBuildOr(b, cz, cm1, ""), zero, r, "");
  if (fmod) return r;
  LLVMValueRef nz = LLVMBuildICmp(b, LLVMIntNE, r, zero, "");
  LLVMValueRef diff = LLVMBuildXor(b, LLVMBuildICmp(b, LLVMIntSLT, r, zero, ""),
                                   LLVMBuildICmp(b, LLVMIntSLT, c, zero, ""), "");
  return LLVMBuildSelect(b, LLVMBuildAnd(b, nz, diff, ""), LLVMBuildAdd(b, r, c, ""), r, "");
}

static LLVMValueRef pow_op(ug_cg_t *cg, ug_dtype_t dt, ug_dtype_t edt, LLVMValueRef x, LLVMValueRef y) {
  if (ug_dtype_is_float(dt)) {
    LLVMValueRef e = ug_cg_convert(cg, y, edt, dt);
    return ug_cg_libm2(cg, "pow", x, e);
  }
  /* integer base: through double, exact for the results an integer can hold */
  LLVMValueRef xd = ug_cg_convert(cg, x, dt, UG_DTYPE_F64);
  LLVMValueRef yd = ug_cg_convert(cg, y, edt, UG_DTYPE_F64);
  return ug_cg_convert(cg, ug_cg_libm2(cg, "pow", xd, yd), UG_DTYPE_F64, dt);
}

ug_status_t ug_cg_ew_scalar(ug_cg_t *cg, const ug_ew_t *e, LLVMValueRef *in,
                            const ug_dtype_t *in_dt, ug_dtype_t out_dt, LLVMValueRef *out) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef x = in[0], r = NULL;
  ug_dtype_t dt = in_dt[0];
  bool fl = ug_dtype_is_float(dt);
  switch (e->op) {
  case UG_OP_NEG: r = fl ? LLVMBuildFNeg(b, x, "") : LLVMBuildNeg(b, x, ""); break;
  case UG_OP_ABS:
    if (fl) r = intrin1(cg, "llvm.fabs", x);
    else if (is_signed_dt(dt))
      r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, LLVMConstInt(LLVMTypeOf(x), 0, 0), ""),
                          LLVMBuildNeg(b, x, ""), x, "");
    else r = x;
    break;
  case UG_OP_SIGN:
    if (fl) {
      r = fsel(cg, LLVMRealOGT, x, fconst(x, 0), fconst(x, 1), x);
      r = fsel(cg, LLVMRealOLT, x, fconst(x, 0), fconst(x, -1), r);
    } else {
      LLVMTypeRef t = LLVMTypeOf(x);
      LLVMValueRef z = LLVMConstInt(t, 0, 0);
      LLVMValueRef gt = LLVMBuildZExt(b, ug_cg_cmp(cg, dt, UG_CMP_GT, x, z), t, "");
      LLVMValueRef lt = LLVMBuildZExt(b, ug_cg_cmp(cg, dt, UG_CMP_LT, x, z), t, "");
      r = LLVMBuildSub(b, gt, lt, "");
    }
    break;
  case UG_OP_EXP: r = ug_cg_libm1(cg, "exp", x); break;
  case UG_OP_LOG: r = ug_cg_libm1(cg, "log", x); break;
  case UG_OP_SQRT: r = intrin1(cg, "llvm.sqrt", x); break;
  case UG_OP_RSQRT: r = LLVMBuildFDiv(b, fconst(x, 1), intrin1(cg, "llvm.sqrt", x), ""); break;
  case UG_OP_RECIPROCAL: r = LLVMBuildFDiv(b, fconst(x, 1), x, ""); break;
  case UG_OP_SIN: r = ug_cg_libm1(cg, "sin", x); break;
  case UG_OP_COS: r = ug_cg_libm1(cg, "cos", x); break;
  case UG_OP_TAN: r = ug_cg_libm1(cg, "tan", x); break;
  case UG_OP_ASIN: r = ug_cg_libm1(cg, "asin", x); break;
  case UG_OP_ACOS: r = ug_cg_libm1(cg, "acos", x); break;
  case UG_OP_ATAN: r = ug_cg_libm1(cg, "atan", x); break;
  case UG_OP_SINH: r = ug_cg_libm1(cg, "sinh", x); break;
  case UG_OP_COSH: r = ug_cg_libm1(cg, "cosh", x); break;
  case UG_OP_TANH: r = ug_cg_libm1(cg, "tanh", x); break;
  case UG_OP_ASINH: r = ug_cg_libm1(cg, "asinh", x); break;
  case UG_OP_ACOSH: r = ug_cg_libm1(cg, "acosh", x); break;
  case UG_OP_ATANH: r = ug_cg_libm1(cg, "atanh", x); break;
  case UG_OP_ERF: r = ug_cg_libm1(cg, "erf", x); break;
  case UG_OP_FLOOR: r = intrin1(cg, "llvm.floor", x); break;
  case UG_OP_CEIL: r = intrin1(cg, "llvm.ceil", x); break;
  case UG_OP_ROUND: r = intrin1(cg, "llvm.roundeven", x); break;
  case UG_OP_SIGMOID: r = sigmoid(cg, x); break;
  case UG_OP_HARD_SIGMOID: {
    double alpha = ug_ew_attr_float(e, UG_ATTR_ALPHA, 0.2);
    double beta = ug_ew_attr_float(e, UG_ATTR_BETA, 0.5);
    r = clamp01(cg, LLVMBuildFAdd(b, LLVMBuildFMul(b, x, fconst(x, alpha), ""), fconst(x, beta), ""));
    break;
  }
  case UG_OP_HARD_SWISH:
    r = LLVMBuildFMul(b, x, clamp01(cg, LLVMBuildFAdd(b, LLVMBuildFMul(b, x, fconst(x, 1.0 / 6.0), ""),
                                                      fconst(x, 0.5), "")), "");
    break;
  case UG_OP_RELU:
    if (fl) r = fsel(cg, LLVMRealOLT, x, fconst(x, 0), fconst(x, 0), x);
    else r = ug_cg_max(cg, dt, x, LLVMConstInt(LLVMTypeOf(x), 0, 0));
    break;
  case UG_OP_LEAKY_RELU: {
    double alpha = ug_ew_attr_float(e, UG_ATTR_ALPHA, 0.01);
    r = fsel(cg, LLVMRealOLT, x, fconst(x, 0), LLVMBuildFMul(b, x, fconst(x, alpha), ""), x);
    break;
  }
  case UG_OP_ELU: {
    double alpha = ug_ew_attr_float(e, UG_ATTR_ALPHA, 1.0);
    LLVMValueRef e = LLVMBuildFMul(b, fconst(x, alpha), ug_cg_libm1(cg, "expm1", x), "");
    r = fsel(cg, LLVMRealOLT, x, fconst(x, 0), e, x);
    break;
  }
  case UG_OP_CELU: {
    double alpha = ug_ew_attr_float(e, UG_ATTR_ALPHA, 1.0);
    LLVMValueRef e = LLVMBuildFMul(
        b, fconst(x, alpha), ug_cg_libm1(cg, "expm1", LLVMBuildFDiv(b, x, fconst(x, alpha), "")), "");
    r = fsel(cg, LLVMRealOLT, x, fconst(x, 0), e, x);
    break;
  }
  case UG_OP_SELU: {
    double alpha = ug_ew_attr_float(e, UG_ATTR_ALPHA, 1.67326319217681884765625);
    double gamma = ug_ew_attr_float(e, UG_ATTR_GAMMA, 1.05070102214813232421875);
    LLVMValueRef neg = LLVMBuildFSub(b, LLVMBuildFMul(b, fconst(x, alpha), ug_cg_libm1(cg, "exp", x), ""),
                                     fconst(x, alpha), "");
    r = LLVMBuildFMul(b, fconst(x, gamma), fsel(cg, LLVMRealOGT, x, fconst(x, 0), x, neg), "");
    break;
  }
  case UG_OP_THRESHOLDED_RELU: {
    double alpha = ug_ew_attr_float(e, UG_ATTR_ALPHA, 1.0);
    r = fsel(cg, LLVMRealOGT, x, fconst(x, alpha), x, fconst(x, 0));
    break;
  }
  case UG_OP_SOFTPLUS: r = softplus(cg, x); break;
  case UG_OP_SOFTSIGN:
    r = LLVMBuildFDiv(b, x, LLVMBuildFAdd(b, fconst(x, 1), intrin1(cg, "llvm.fabs", x), ""), "");
    break;
  case UG_OP_SILU: r = LLVMBuildFMul(b, x, sigmoid(cg, x), ""); break;
  case UG_OP_MISH: r = LLVMBuildFMul(b, x, ug_cg_libm1(cg, "tanh", softplus(cg, x)), ""); break;
  case UG_OP_GELU: {
    const char *approx = ug_ew_attr_str(e, UG_ATTR_APPROXIMATE, "none");
    LLVMValueRef inner;
    if (strcmp(approx, "tanh") == 0) {
      LLVMValueRef x3 = LLVMBuildFMul(b, LLVMBuildFMul(b, x, x, ""), x, "");
      LLVMValueRef t = LLVMBuildFAdd(b, x, LLVMBuildFMul(b, fconst(x, 0.044715), x3, ""), "");
      inner = ug_cg_libm1(cg, "tanh", LLVMBuildFMul(b, fconst(x, 0.7978845608028654), t, ""));
    } else {
      inner = ug_cg_libm1(cg, "erf", LLVMBuildFMul(b, x, fconst(x, 0.7071067811865476), ""));
    }
    r = LLVMBuildFMul(b, LLVMBuildFMul(b, fconst(x, 0.5), x, ""),
                      LLVMBuildFAdd(b, fconst(x, 1), inner, ""), "");
    break;
  }
  case UG_OP_NOT: r = LLVMBuildNot(b, x, ""); break;
  case UG_OP_BITWISE_NOT: r = LLVMBuildNot(b, x, ""); break;
  case UG_OP_ISNAN: r = LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""); break;
  case UG_OP_ISINF: {
    int64_t pos = ug_ew_attr_int(e, UG_ATTR_DETECT_POSITIVE, 1);
    int64_t neg = ug_ew_attr_int(e, UG_ATTR_DETECT_NEGATIVE, 1);
    LLVMValueRef p = LLVMBuildFCmp(b, LLVMRealOEQ, x, fconst(x, INFINITY), "");
    LLVMValueRef q = LLVMBuildFCmp(b, LLVMRealOEQ, x, fconst(x, -INFINITY), "");
    LLVMValueRef f = LLVMConstInt(cg->t_i1, 0, 0);
    r = LLVMBuildOr(b, pos ? p : f, neg ? q : f, "");
    break;
  }
  case UG_OP_IDENTITY: r = x; break;
  case UG_OP_CAST: r = ug_cg_convert(cg, x, dt, out_dt); break;
  case UG_OP_CLIP:
    r = x;
    if (e->num_operands > 1 && in[1]) r = LLVMBuildSelect(b, ug_cg_cmp(cg, dt, UG_CMP_LT, r, in[1]), in[1], r, "");
    if (e->num_operands > 2 && in[2]) r = LLVMBuildSelect(b, ug_cg_cmp(cg, dt, UG_CMP_GT, r, in[2]), in[2], r, "");
    break;
  case UG_OP_ADD: r = ug_cg_add(cg, dt, x, in[1]); break;
  case UG_OP_SUB: r = ug_cg_sub(cg, dt, x, in[1]); break;
  case UG_OP_MUL: r = ug_cg_mul(cg, dt, x, in[1]); break;
  case UG_OP_DIV: r = ug_cg_div(cg, dt, x, in[1]); break;
  case UG_OP_POW: r = pow_op(cg, dt, in_dt[1], x, in[1]); break;
  case UG_OP_MOD: r = mod_op(cg, dt, ug_ew_attr_int(e, UG_ATTR_FMOD, 0) != 0, x, in[1]); break;
  case UG_OP_MIN: r = ug_cg_min(cg, dt, x, in[1]); break;
  case UG_OP_MAX: r = ug_cg_max(cg, dt, x, in[1]); break;
  case UG_OP_PRELU: {
    LLVMValueRef z = ug_cg_const(cg, dt, 0);
    r = LLVMBuildSelect(b, ug_cg_cmp(cg, dt, UG_CMP_LT, x, z), ug_cg_mul(cg, dt, x, in[1]), x, "");
    break;
  }
  case UG_OP_AND: case UG_OP_BITWISE_AND: r = LLVMBuildAnd(b, x, in[1], ""); break;
  case UG_OP_OR: case UG_OP_BITWISE_OR: r = LLVMBuildOr(b, x, in[1], ""); break;
  case UG_OP_XOR: case UG_OP_BITWISE_XOR: r = LLVMBuildXor(b, x, in[1], ""); break;
  case UG_OP_BITSHIFT: {
    const char *dir = ug_ew_attr_str(e, UG_ATTR_DIRECTION, "LEFT");
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef w = LLVMConstInt(t, LLVMGetIntTypeWidth(t), 0);
    LLVMValueRef big = LLVMBuildICmp(b, LLVMIntUGE, in[1], w, "");
    LLVMValueRef amt = LLVMBuildSelect(b, big, LLVMConstInt(t, 0, 0), in[1], "");
    LLVMValueRef s = (dir[0] == 'R' || dir[0] == 'r') ? LLVMBuildLShr(b, x, amt, "") : LLVMBuildShl(b, x, amt, "");
    r = LLVMBuildSelect(b, big, LLVMConstInt(t, 0, 0), s, "");
    break;
  }
  case UG_OP_EQUAL:
    r = dt == UG_DTYPE_BOOL ? LLVMBuildICmp(b, LLVMIntEQ, x, in[1], "") : ug_cg_cmp(cg, dt, UG_CMP_EQ, x, in[1]);
    break;
  case UG_OP_LESS: r = ug_cg_cmp(cg, dt, UG_CMP_LT, x, in[1]); break;
  case UG_OP_LESS_EQUAL: r = ug_cg_cmp(cg, dt, UG_CMP_LE, x, in[1]); break;
  case UG_OP_GREATER: r = ug_cg_cmp(cg, dt, UG_CMP_GT, x, in[1]); break;
  case UG_OP_GREATER_EQUAL: r = ug_cg_cmp(cg, dt, UG_CMP_GE, x, in[1]); break;
  case UG_OP_WHERE: r = LLVMBuildSelect(b, x, in[1], in[2], ""); break;
  default:
    return ug_ew_error(e, UG_ERR_UNSUPPORTED, "no cpu lowering for this elementwise op");
  }
  *out = r;
  return NULL;
}

static bool same_shape(const ug_cg_tensor_t *a, const ug_cg_tensor_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->sdims[i] != b->sdims[i]) return false;
  return true;
}

static bool is_single(const ug_cg_tensor_t *a) {
  for (int i = 0; i < a->rank; i++)
    if (a->sdims[i] != 1) return false;
  return true;
}

ug_status_t ug_cg_lower_ew(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *o = &k->out[0];
  uint32_t ni = k->num_in;
  ug_dtype_t dts[8];
  LLVMValueRef vals[8];
  LLVMValueRef bstr[8][UG_MAX_RANK];
  if (ni > 8) return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "too many operands");
  ug_ew_t ew = ug_ew_of_node(k->g, k->n);
  bool flat = true;
  for (uint32_t i = 0; i < ni; i++) {
    dts[i] = k->in[i].ptr ? k->in[i].dtype : o->dtype;
    if (k->in[i].ptr && !same_shape(&k->in[i], o) && !is_single(&k->in[i])) flat = false;
  }
  if (flat) {
    ug_cg_loop_t l;
    LLVMValueRef i = ug_cg_loop_begin(cg, &l, ug_cg_i64(cg, 0), o->numel, NULL);
    for (uint32_t a = 0; a < ni; a++) {
      if (!k->in[a].ptr) { vals[a] = NULL; continue; }
      LLVMValueRef idx = same_shape(&k->in[a], o) ? i : ug_cg_i64(cg, 0);
      vals[a] = ug_cg_load(cg, k->in[a].ptr, dts[a], idx);
    }
    LLVMValueRef r;
    UG_RETURN_IF_ERROR(ug_cg_ew_scalar(cg, &ew, vals, dts, o->dtype, &r));
    ug_cg_store(cg, o->ptr, o->dtype, i, r);
    ug_cg_loop_end(cg, &l);
    return NULL;
  }
  /* Collapse adjacent result axes along which every operand either spans the
   * result's dims exactly or is broadcast, so the innermost loop is as long
   * as possible ([n,c,h,w] + [c,1,1] runs over h*w). */
  int r0 = o->rank;
  char pat[8][UG_MAX_RANK]; /* per operand and axis: 'f' full, 'b' broadcast, '?' decided at run time */
  for (uint32_t a = 0; a < ni; a++) {
    if (!k->in[a].ptr) continue;
    int off = r0 - k->in[a].rank;
    for (int i = 0; i < r0; i++) {
      int j = i - off;
      ug_dim_t d = j < 0 ? 1 : k->in[a].sdims[j];
      pat[a][i] = d == o->sdims[i] ? 'f' : d == 1 ? 'b' : '?';
    }
  }
  LLVMValueRef full_str[8][UG_MAX_RANK];
  for (uint32_t a = 0; a < ni; a++)
    if (k->in[a].ptr) ug_cg_broadcast_strides(cg, &k->in[a], r0, full_str[a]);
  /* the stride of operand a along result axis i */
#define EW_STRIDE(a, i)                                                                          \
  (pat[a][i] == 'b' ? ug_cg_i64(cg, 0)                                                           \
   : pat[a][i] == 'f' ? k->in[a].strides[(i) - (r0 - k->in[a].rank)] : full_str[a][i])
  int r = 0, last = -1;
  LLVMValueRef odims[UG_MAX_RANK];
  for (int i = 0; i < r0; i++) {
    if (o->sdims[i] == 1) continue; /* contributes no offset */
    bool merge = r > 0;
    for (uint32_t a = 0; a < ni && merge; a++)
      if (k->in[a].ptr && (pat[a][i] == '?' || pat[a][i] != pat[a][last])) merge = false;
    if (merge) {
      odims[r - 1] = ug_cg_imul(cg, odims[r - 1], o->dims[i]);
    } else {
      odims[r] = o->dims[i];
      r++;
    }
    /* a group's stride is that of its innermost axis */
    for (uint32_t a = 0; a < ni; a++)
      if (k->in[a].ptr) bstr[a][r - 1] = EW_STRIDE(a, i);
    last = i;
  }
#undef EW_STRIDE
  if (r == 0) {
    odims[r] = ug_cg_i64(cg, 1);
    for (uint32_t a = 0; a < ni; a++)
      if (k->in[a].ptr) bstr[a][r] = ug_cg_i64(cg, 0);
    r = 1;
  }
  LLVMValueRef ostr[UG_MAX_RANK];
  LLVMValueRef s1 = ug_cg_i64(cg, 1);
  for (int i = r - 1; i >= 0; i--) ostr[i] = s1, s1 = ug_cg_imul(cg, s1, odims[i]);
  ug_cg_nest_t nest;
  ug_cg_nest_begin(cg, &nest, r - 1, odims);
  LLVMValueRef obase = ug_cg_offset(cg, r - 1, nest.idx, ostr);
  LLVMValueRef ibase[8];
  for (uint32_t a = 0; a < ni; a++)
    if (k->in[a].ptr) ibase[a] = ug_cg_offset(cg, r - 1, nest.idx, bstr[a]);
  ug_cg_loop_t l;
  LLVMValueRef j = ug_cg_loop_begin(cg, &l, ug_cg_i64(cg, 0), odims[r - 1], NULL);
  for (uint32_t a = 0; a < ni; a++) {
    if (!k->in[a].ptr) { vals[a] = NULL; continue; }
    LLVMValueRef idx = ug_cg_iadd(cg, ibase[a], ug_cg_imul(cg, j, bstr[a][r - 1]));
    vals[a] = ug_cg_load(cg, k->in[a].ptr, dts[a], idx);
  }
  LLVMValueRef res;
  UG_RETURN_IF_ERROR(ug_cg_ew_scalar(cg, &ew, vals, dts, o->dtype, &res));
  ug_cg_store(cg, o->ptr, o->dtype, ug_cg_iadd(cg, obase, j), res);
  ug_cg_loop_end(cg, &l);
  ug_cg_nest_end(cg, &nest);
  return NULL;
}
