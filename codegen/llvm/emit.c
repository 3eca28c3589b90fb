/* Shared emitter infrastructure: see emit.h. */
#include "codegen/llvm/emit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ug_cg_init(ug_cg_t *cg, LLVMContextRef ctx, LLVMModuleRef mod, ug_module_t *m,
                const ug_target_t *t, int opt_level) {
  memset(cg, 0, sizeof *cg);
  cg->ctx = ctx;
  cg->mod = mod;
  cg->m = m;
  cg->target = t;
  cg->opt_level = opt_level;
  cg->b = LLVMCreateBuilderInContext(ctx);
  cg->eb = LLVMCreateBuilderInContext(ctx);
  cg->t_void = LLVMVoidTypeInContext(ctx);
  cg->t_i1 = LLVMInt1TypeInContext(ctx);
  cg->t_i8 = LLVMInt8TypeInContext(ctx);
  cg->t_i16 = LLVMInt16TypeInContext(ctx);
  cg->t_i32 = LLVMInt32TypeInContext(ctx);
  cg->t_i64 = LLVMInt64TypeInContext(ctx);
  cg->t_f16 = LLVMHalfTypeInContext(ctx);
  cg->t_f32 = LLVMFloatTypeInContext(ctx);
  cg->t_f64 = LLVMDoubleTypeInContext(ctx);
  cg->t_ptr = LLVMPointerTypeInContext(ctx, 0);
}

void ug_cg_kcache_free(struct ug_cg_kcache *c); /* lower.c */

void ug_cg_dispose(ug_cg_t *cg) {
  ug_cg_kcache_free(cg->kcache);
  cg->kcache = NULL;
  LLVMDisposeBuilder(cg->b);
  LLVMDisposeBuilder(cg->eb);
  free(cg->dim_cache);
  cg->dim_cache = NULL;
}

static void add_attr(ug_cg_t *cg, LLVMValueRef fn, LLVMAttributeIndex idx, const char *name,
                     uint64_t val) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  if (kind == 0) return; /* not known to this LLVM version */
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(cg->ctx, kind, val));
}

LLVMValueRef ug_cg_kernel_begin(ug_cg_t *cg, const char *name, unsigned num_args,
                                LLVMValueRef *out_args) {
  /* The exported-by-table wrapper: loads the buffer pointers and calls the body. */
  LLVMTypeRef wparams[2] = {cg->t_ptr, cg->t_ptr};
  LLVMTypeRef wty = LLVMFunctionType(cg->t_void, wparams, 2, 0);
  LLVMValueRef wrapper = LLVMAddFunction(cg->mod, name, wty);
  LLVMSetLinkage(wrapper, LLVMInternalLinkage);
  add_attr(cg, wrapper, LLVMAttributeFunctionIndex, "nounwind", 0);

  LLVMTypeRef *bparams = malloc(sizeof(LLVMTypeRef) * (num_args + 1));
  for (unsigned i = 0; i <= num_args; i++) bparams[i] = cg->t_ptr;
  LLVMTypeRef bty = LLVMFunctionType(cg->t_void, bparams, num_args + 1, 0);
  char *bname = malloc(strlen(name) + 8);
  sprintf(bname, "%s.body", name);
  LLVMValueRef body = LLVMAddFunction(cg->mod, bname, bty);
  free(bname);
  LLVMSetLinkage(body, LLVMInternalLinkage);
  add_attr(cg, body, LLVMAttributeFunctionIndex, "nounwind", 0);
  for (unsigned i = 0; i <= num_args; i++) {
    if (i >= 64 || !(cg->may_alias >> i & 1)) add_attr(cg, body, i + 1, "noalias", 0);
    add_attr(cg, body, i + 1, "captures", 0); /* captures(none) */
  }
  cg->may_alias = 0;
  add_attr(cg, body, num_args + 1, "readonly", 0);

  LLVMBasicBlockRef wb = LLVMAppendBasicBlockInContext(cg->ctx, wrapper, "entry");
  LLVMPositionBuilderAtEnd(cg->b, wb);
  LLVMValueRef *cargs = malloc(sizeof(LLVMValueRef) * (num_args + 1));
  LLVMValueRef argv = LLVMGetParam(wrapper, 0);
  for (unsigned i = 0; i < num_args; i++) {
    LLVMValueRef idx = ug_cg_i64(cg, i);
    LLVMValueRef p = LLVMBuildGEP2(cg->b, cg->t_ptr, argv, &idx, 1, "");
    cargs[i] = LLVMBuildLoad2(cg->b, cg->t_ptr, p, "");
  }
  cargs[num_args] = LLVMGetParam(wrapper, 1);
  LLVMBuildCall2(cg->b, bty, body, cargs, num_args + 1, "");
  LLVMBuildRetVoid(cg->b);
  free(cargs);
  free(bparams);

  cg->fn = body;
  cg->dims_arg = LLVMGetParam(body, num_args);
  for (unsigned i = 0; i < num_args; i++) out_args[i] = LLVMGetParam(body, i);
  size_t nd = cg->m->dims ? ug_dims_count(cg->m->dims) : 0;
  free(cg->dim_cache);
  cg->dim_cache = calloc(nd + 1, sizeof(LLVMValueRef));
  cg->dim_cache_len = nd;
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, body, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(cg->ctx, body, "start");
  LLVMPositionBuilderAtEnd(cg->eb, entry);
  LLVMPositionBuilderAtEnd(cg->b, start);
  return wrapper;
}

void ug_cg_kernel_end(ug_cg_t *cg) {
  LLVMBuildRetVoid(cg->b);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->fn);
  LLVMBuildBr(cg->eb, LLVMGetNextBasicBlock(entry));
  cg->fn = NULL;
}

void ug_cg_tensor_init(ug_cg_t *cg, ug_cg_tensor_t *t, const ug_type_t *type, LLVMValueRef ptr) {
  memset(t, 0, sizeof *t);
  t->ptr = ptr;
  t->dtype = type->dtype;
  t->rank = type->rank;
  for (int i = 0; i < type->rank; i++) {
    t->sdims[i] = type->dims[i];
    t->dims[i] = ug_cg_dim(cg, type->dims[i]);
  }
  LLVMValueRef s = ug_cg_i64(cg, 1);
  for (int i = type->rank - 1; i >= 0; i--) {
    t->strides[i] = s;
    s = ug_cg_imul(cg, s, t->dims[i]);
  }
  t->numel = s;
}

/* ---- constants and dims ---- */

LLVMValueRef ug_cg_i64(ug_cg_t *cg, int64_t v) { return LLVMConstInt(cg->t_i64, (unsigned long long)v, 1); }
LLVMValueRef ug_cg_i32(ug_cg_t *cg, int32_t v) { return LLVMConstInt(cg->t_i32, (unsigned long long)(int64_t)v, 1); }

LLVMValueRef ug_cg_dim(ug_cg_t *cg, ug_dim_t d) {
  if (UG_DIM_IS_STATIC(d)) return ug_cg_i64(cg, d);
  size_t i = ug_dim_index(d);
  UG_ASSERT(i < cg->dim_cache_len);
  if (!cg->dim_cache[i]) {
    LLVMValueRef idx = ug_cg_i64(cg, (int64_t)i);
    LLVMValueRef p = LLVMBuildGEP2(cg->eb, cg->t_i64, cg->dims_arg, &idx, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(cg->eb, cg->t_i64, p, "dim");
    cg->dim_cache[i] = v;
  }
  return cg->dim_cache[i];
}

LLVMValueRef ug_cg_dims_product(ug_cg_t *cg, const ug_cg_tensor_t *t, int lo, int hi) {
  LLVMValueRef p = ug_cg_i64(cg, 1);
  for (int i = lo; i < hi; i++) p = ug_cg_imul(cg, p, t->dims[i]);
  return p;
}

/* ---- dtypes ---- */

bool ug_cg_dtype_supported(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F64: case UG_DTYPE_F32: case UG_DTYPE_F16: case UG_DTYPE_BF16:
  case UG_DTYPE_I64: case UG_DTYPE_I32: case UG_DTYPE_I16: case UG_DTYPE_I8:
  case UG_DTYPE_U64: case UG_DTYPE_U32: case UG_DTYPE_U16: case UG_DTYPE_U8:
  case UG_DTYPE_BOOL:
    return true;
  default:
    return false;
  }
}

LLVMTypeRef ug_cg_ctype(ug_cg_t *cg, ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F64: return cg->t_f64;
  case UG_DTYPE_F32: case UG_DTYPE_F16: case UG_DTYPE_BF16: return cg->t_f32;
  case UG_DTYPE_I64: case UG_DTYPE_U64: return cg->t_i64;
  case UG_DTYPE_I32: case UG_DTYPE_U32: return cg->t_i32;
  case UG_DTYPE_I16: case UG_DTYPE_U16: return cg->t_i16;
  case UG_DTYPE_I8: case UG_DTYPE_U8: return cg->t_i8;
  case UG_DTYPE_BOOL: return cg->t_i1;
  default: UG_UNREACHABLE();
  }
}

LLVMTypeRef ug_cg_stype(ug_cg_t *cg, ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F16: case UG_DTYPE_BF16: return cg->t_i16;
  case UG_DTYPE_BOOL: return cg->t_i8;
  default: return ug_cg_ctype(cg, dt);
  }
}

LLVMValueRef ug_cg_elem_ptr(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx) {
  return LLVMBuildGEPWithNoWrapFlags(cg->b, ug_cg_stype(cg, dt), base, &idx, 1, "",
                                     LLVMGEPFlagInBounds);
}

static LLVMValueRef c32(ug_cg_t *cg, uint32_t v) { return LLVMConstInt(cg->t_i32, v, 0); }

/* f16 bits (in i16) -> f32, exact, subnormals included: shift the exponent and
 * mantissa into place and rescale by 2^112; inf/nan get the f32 exponent. */
static LLVMValueRef f16_to_f32(ug_cg_t *cg, LLVMValueRef h16) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef h = LLVMBuildZExt(b, h16, cg->t_i32, "");
  LLVMValueRef sign = LLVMBuildShl(b, LLVMBuildAnd(b, h, c32(cg, 0x8000), ""), c32(cg, 16), "");
  LLVMValueRef em = LLVMBuildAnd(b, h, c32(cg, 0x7fff), "");
  LLVMValueRef shifted = LLVMBuildShl(b, em, c32(cg, 13), "");
  LLVMValueRef scaled = LLVMBuildFMul(b, LLVMBuildBitCast(b, shifted, cg->t_f32, ""),
                                      LLVMConstReal(cg->t_f32, 0x1p112), "");
  LLVMValueRef sbits = LLVMBuildBitCast(b, scaled, cg->t_i32, "");
  LLVMValueRef infnan = LLVMBuildOr(b, shifted, c32(cg, 0x7f800000), "");
  LLVMValueRef is_inf = LLVMBuildICmp(b, LLVMIntUGE, em, c32(cg, 0x7c00), "");
  LLVMValueRef bits = LLVMBuildSelect(b, is_inf, infnan, sbits, "");
  bits = LLVMBuildOr(b, bits, sign, "");
  return LLVMBuildBitCast(b, bits, cg->t_f32, "");
}

/* f32 -> f16 bits, round to nearest even, overflow to inf, NaN kept quiet. */
static LLVMValueRef f32_to_f16(ug_cg_t *cg, LLVMValueRef f) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef u = LLVMBuildBitCast(b, f, cg->t_i32, "");
  LLVMValueRef sign = LLVMBuildAnd(b, u, c32(cg, 0x80000000u), "");
  LLVMValueRef a = LLVMBuildXor(b, u, sign, "");
  /* overflow / inf / nan */
  LLVMValueRef big = LLVMBuildICmp(b, LLVMIntUGE, a, c32(cg, (127u + 16u) << 23), "");
  LLVMValueRef isnan = LLVMBuildICmp(b, LLVMIntUGT, a, c32(cg, 0x7f800000u), "");
  LLVMValueRef o_big = LLVMBuildSelect(b, isnan, c32(cg, 0x7e00), c32(cg, 0x7c00), "");
  /* subnormal results: let the FPU round by adding a magic number */
  LLVMValueRef small = LLVMBuildICmp(b, LLVMIntULT, a, c32(cg, 113u << 23), "");
  uint32_t magic_bits = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  LLVMValueRef fa = LLVMBuildBitCast(b, a, cg->t_f32, "");
  LLVMValueRef magic = LLVMBuildBitCast(b, c32(cg, magic_bits), cg->t_f32, "");
  LLVMValueRef sum = LLVMBuildBitCast(b, LLVMBuildFAdd(b, fa, magic, ""), cg->t_i32, "");
  LLVMValueRef o_small = LLVMBuildSub(b, sum, c32(cg, magic_bits), "");
  /* normal: rebias and round to nearest even */
  LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, a, c32(cg, 13), ""), c32(cg, 1), "");
  LLVMValueRef n = LLVMBuildAdd(b, a, c32(cg, (uint32_t)((15 - 127) * (1 << 23)) + 0xfffu), "");
  n = LLVMBuildAdd(b, n, odd, "");
  LLVMValueRef o_norm = LLVMBuildLShr(b, n, c32(cg, 13), "");
  LLVMValueRef o = LLVMBuildSelect(b, small, o_small, o_norm, "");
  o = LLVMBuildSelect(b, big, o_big, o, "");
  o = LLVMBuildOr(b, o, LLVMBuildLShr(b, sign, c32(cg, 16), ""), "");
  return LLVMBuildTrunc(b, o, cg->t_i16, "");
}

static LLVMValueRef bf16_to_f32(ug_cg_t *cg, LLVMValueRef h16) {
  LLVMValueRef h = LLVMBuildZExt(cg->b, h16, cg->t_i32, "");
  return LLVMBuildBitCast(cg->b, LLVMBuildShl(cg->b, h, c32(cg, 16), ""), cg->t_f32, "");
}

/* f32 -> bf16 bits, round to nearest even; NaN stays a (quiet) NaN. */
static LLVMValueRef f32_to_bf16(ug_cg_t *cg, LLVMValueRef f) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef u = LLVMBuildBitCast(b, f, cg->t_i32, "");
  LLVMValueRef lsb = LLVMBuildAnd(b, LLVMBuildLShr(b, u, c32(cg, 16), ""), c32(cg, 1), "");
  LLVMValueRef r = LLVMBuildAdd(b, u, LLVMBuildAdd(b, lsb, c32(cg, 0x7fff), ""), "");
  r = LLVMBuildLShr(b, r, c32(cg, 16), "");
  LLVMValueRef isnan = LLVMBuildFCmp(b, LLVMRealUNO, f, f, "");
  LLVMValueRef qnan = LLVMBuildOr(b, LLVMBuildLShr(b, u, c32(cg, 16), ""), c32(cg, 0x40), "");
  r = LLVMBuildSelect(b, isnan, qnan, r, "");
  return LLVMBuildTrunc(b, r, cg->t_i16, "");
}

LLVMValueRef ug_cg_load(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx) {
  LLVMValueRef p = ug_cg_elem_ptr(cg, base, dt, idx);
  LLVMValueRef v = LLVMBuildLoad2(cg->b, ug_cg_stype(cg, dt), p, "");
  switch (dt) {
  case UG_DTYPE_F16: return f16_to_f32(cg, v);
  case UG_DTYPE_BF16: return bf16_to_f32(cg, v);
  case UG_DTYPE_BOOL: return LLVMBuildICmp(cg->b, LLVMIntNE, v, LLVMConstInt(cg->t_i8, 0, 0), "");
  default: return v;
  }
}

void ug_cg_store(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx, LLVMValueRef v) {
  LLVMValueRef p = ug_cg_elem_ptr(cg, base, dt, idx);
  switch (dt) {
  case UG_DTYPE_F16: v = f32_to_f16(cg, v); break;
  case UG_DTYPE_BF16: v = f32_to_bf16(cg, v); break;
  case UG_DTYPE_BOOL: v = LLVMBuildZExt(cg->b, v, cg->t_i8, ""); break;
  default: break;
  }
  LLVMBuildStore(cg->b, v, p);
}

LLVMValueRef ug_cg_round_to(ug_cg_t *cg, LLVMValueRef v, ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F16: return f16_to_f32(cg, f32_to_f16(cg, v));
  case UG_DTYPE_BF16: return bf16_to_f32(cg, f32_to_bf16(cg, v));
  default: return v;
  }
}

static bool is_signed(ug_dtype_t dt) { return ug_dtype_kind(dt) == UG_KIND_I; }

static LLVMValueRef fp_to_int_sat(ug_cg_t *cg, LLVMValueRef v, LLVMTypeRef to, bool sign) {
  const char *name = sign ? "llvm.fptosi.sat" : "llvm.fptoui.sat";
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef tys[2] = {to, LLVMTypeOf(v)};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, tys, 2);
  LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, tys, 2);
  return LLVMBuildCall2(cg->b, fty, fn, &v, 1, "");
}

LLVMValueRef ug_cg_convert(ug_cg_t *cg, LLVMValueRef v, ug_dtype_t from, ug_dtype_t to) {
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef ft = ug_cg_ctype(cg, from), tt = ug_cg_ctype(cg, to);
  bool ff = ug_dtype_is_float(from), tf = ug_dtype_is_float(to);
  if (to == UG_DTYPE_BOOL) {
    if (from == UG_DTYPE_BOOL) return v;
    if (ff) return LLVMBuildFCmp(b, LLVMRealUNE, v, LLVMConstReal(ft, 0), "");
    return LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstInt(ft, 0, 0), "");
  }
  if (from == UG_DTYPE_BOOL) {
    if (tf) return LLVMBuildUIToFP(b, v, tt, "");
    return LLVMBuildZExt(b, v, tt, "");
  }
  if (ff && tf) {
    if (ft == tt) return v;
    return ft == cg->t_f64 ? LLVMBuildFPTrunc(b, v, tt, "") : LLVMBuildFPExt(b, v, tt, "");
  }
  if (ff) {
    /* NaN -> 0 and saturation, instead of LLVM's poison. */
    return fp_to_int_sat(cg, v, tt, is_signed(to));
  }
  if (tf) return is_signed(from) ? LLVMBuildSIToFP(b, v, tt, "") : LLVMBuildUIToFP(b, v, tt, "");
  unsigned fw = LLVMGetIntTypeWidth(ft), tw = LLVMGetIntTypeWidth(tt);
  if (fw == tw) return v;
  if (fw > tw) return LLVMBuildTrunc(b, v, tt, "");
  return is_signed(from) ? LLVMBuildSExt(b, v, tt, "") : LLVMBuildZExt(b, v, tt, "");
}

LLVMValueRef ug_cg_const(ug_cg_t *cg, ug_dtype_t dt, double v) {
  LLVMTypeRef t = ug_cg_ctype(cg, dt);
  if (ug_dtype_is_float(dt)) return LLVMConstReal(t, v);
  if (dt == UG_DTYPE_BOOL) return LLVMConstInt(t, v != 0, 0);
  if (is_signed(dt)) return LLVMConstInt(t, (unsigned long long)(int64_t)v, 1);
  return LLVMConstInt(t, (unsigned long long)v, 0);
}

LLVMValueRef ug_cg_const_int(ug_cg_t *cg, ug_dtype_t dt, int64_t v) {
  LLVMTypeRef t = ug_cg_ctype(cg, dt);
  if (ug_dtype_is_float(dt)) return LLVMConstReal(t, (double)v);
  if (dt == UG_DTYPE_BOOL) return LLVMConstInt(t, v != 0, 0);
  return LLVMConstInt(t, (unsigned long long)v, 1);
}

LLVMValueRef ug_cg_lowest(ug_cg_t *cg, ug_dtype_t dt) {
  LLVMTypeRef t = ug_cg_ctype(cg, dt);
  if (ug_dtype_is_float(dt)) return LLVMConstReal(t, -INFINITY);
  if (dt == UG_DTYPE_BOOL) return LLVMConstInt(t, 0, 0);
  unsigned w = LLVMGetIntTypeWidth(t);
  if (is_signed(dt)) return LLVMConstInt(t, 1ull << (w - 1), 0);
  return LLVMConstInt(t, 0, 0);
}

LLVMValueRef ug_cg_highest(ug_cg_t *cg, ug_dtype_t dt) {
  LLVMTypeRef t = ug_cg_ctype(cg, dt);
  if (ug_dtype_is_float(dt)) return LLVMConstReal(t, INFINITY);
  if (dt == UG_DTYPE_BOOL) return LLVMConstInt(t, 1, 0);
  unsigned w = LLVMGetIntTypeWidth(t);
  if (is_signed(dt)) return LLVMConstInt(t, (w == 64 ? ~0ull >> 1 : (1ull << (w - 1)) - 1), 0);
  return LLVMConstAllOnes(t);
}

/* ---- scalar arithmetic ---- */

LLVMValueRef ug_cg_add(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  if (ug_dtype_is_float(dt)) return LLVMBuildFAdd(cg->b, a, b, "");
  if (dt == UG_DTYPE_BOOL) return LLVMBuildOr(cg->b, a, b, "");
  return LLVMBuildAdd(cg->b, a, b, "");
}

LLVMValueRef ug_cg_sub(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  if (ug_dtype_is_float(dt)) return LLVMBuildFSub(cg->b, a, b, "");
  return LLVMBuildSub(cg->b, a, b, "");
}

LLVMValueRef ug_cg_mul(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  if (ug_dtype_is_float(dt)) return LLVMBuildFMul(cg->b, a, b, "");
  if (dt == UG_DTYPE_BOOL) return LLVMBuildAnd(cg->b, a, b, "");
  return LLVMBuildMul(cg->b, a, b, "");
}

LLVMValueRef ug_cg_div(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  LLVMBuilderRef bb = cg->b;
  if (ug_dtype_is_float(dt)) return LLVMBuildFDiv(bb, a, b, "");
  LLVMTypeRef t = LLVMTypeOf(a);
  LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
  LLVMValueRef bz = LLVMBuildICmp(bb, LLVMIntEQ, b, zero, "");
  if (is_signed(dt)) {
    /* x / -1 would trap for INT_MIN: compute it as a wrapping negation. */
    LLVMValueRef bm1 = LLVMBuildICmp(bb, LLVMIntEQ, b, LLVMConstAllOnes(t), "");
    LLVMValueRef safe = LLVMBuildSelect(bb, LLVMBuildOr(bb, bz, bm1, ""), one, b, "");
    LLVMValueRef q = LLVMBuildSDiv(bb, a, safe, "");
    q = LLVMBuildSelect(bb, bm1, LLVMBuildSub(bb, zero, a, ""), q, "");
    return LLVMBuildSelect(bb, bz, zero, q, "");
  }
  LLVMValueRef safe = LLVMBuildSelect(bb, bz, one, b, "");
  return LLVMBuildSelect(bb, bz, zero, LLVMBuildUDiv(bb, a, safe, ""), "");
}

LLVMValueRef ug_cg_cmp(ug_cg_t *cg, ug_dtype_t dt, ug_cmp_t c, LLVMValueRef a, LLVMValueRef b) {
  if (ug_dtype_is_float(dt)) {
    static const LLVMRealPredicate fp[] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
                                           LLVMRealOLE, LLVMRealOGT, LLVMRealOGE};
    return LLVMBuildFCmp(cg->b, fp[c], a, b, "");
  }
  static const LLVMIntPredicate sp[] = {LLVMIntEQ, LLVMIntNE, LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE};
  static const LLVMIntPredicate up[] = {LLVMIntEQ, LLVMIntNE, LLVMIntULT, LLVMIntULE, LLVMIntUGT, LLVMIntUGE};
  return LLVMBuildICmp(cg->b, is_signed(dt) ? sp[c] : up[c], a, b, "");
}

LLVMValueRef ug_cg_max(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  if (ug_dtype_is_float(dt)) {
    LLVMValueRef args[2] = {a, b};
    return ug_cg_intrinsic(cg, "llvm.maximum", args, 2);
  }
  return LLVMBuildSelect(cg->b, ug_cg_cmp(cg, dt, UG_CMP_GT, a, b), a, b, "");
}

LLVMValueRef ug_cg_min(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  if (ug_dtype_is_float(dt)) {
    LLVMValueRef args[2] = {a, b};
    return ug_cg_intrinsic(cg, "llvm.minimum", args, 2);
  }
  return LLVMBuildSelect(cg->b, ug_cg_cmp(cg, dt, UG_CMP_LT, a, b), a, b, "");
}

LLVMValueRef ug_cg_select(ug_cg_t *cg, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, c, a, b, "");
}

static LLVMValueRef libm_fn(ug_cg_t *cg, const char *name, LLVMTypeRef t, unsigned nargs,
                            LLVMTypeRef *out_fty) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s%s", name, t == cg->t_f32 ? "f" : "");
  LLVMTypeRef params[2] = {t, t};
  LLVMTypeRef fty = LLVMFunctionType(t, params, nargs, 0);
  *out_fty = fty;
  LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, buf);
  if (fn) return fn;
  fn = LLVMAddFunction(cg->mod, buf, fty);
  add_attr(cg, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  add_attr(cg, fn, LLVMAttributeFunctionIndex, "willreturn", 0);
  /* memory(none): math without errno, as with -fno-math-errno */
  add_attr(cg, fn, LLVMAttributeFunctionIndex, "memory", 0);
  return fn;
}

LLVMValueRef ug_cg_libm1(ug_cg_t *cg, const char *name, LLVMValueRef x) {
  LLVMTypeRef fty;
  LLVMValueRef fn = libm_fn(cg, name, LLVMTypeOf(x), 1, &fty);
  return LLVMBuildCall2(cg->b, fty, fn, &x, 1, "");
}

LLVMValueRef ug_cg_libm2(ug_cg_t *cg, const char *name, LLVMValueRef x, LLVMValueRef y) {
  LLVMTypeRef fty;
  LLVMValueRef fn = libm_fn(cg, name, LLVMTypeOf(x), 2, &fty);
  LLVMValueRef args[2] = {x, y};
  return LLVMBuildCall2(cg->b, fty, fn, args, 2, "");
}

LLVMValueRef ug_cg_intrinsic(ug_cg_t *cg, const char *name, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  UG_ASSERT(id != 0);
  LLVMTypeRef t = LLVMTypeOf(args[0]);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &t, 1);
  LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, &t, 1);
  return LLVMBuildCall2(cg->b, fty, fn, args, n, "");
}

LLVMValueRef ug_cg_iadd(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(cg->b, a, b, ""); }
LLVMValueRef ug_cg_imul(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(cg->b, a, b, ""); }
LLVMValueRef ug_cg_imin(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, a, b, ""), a, b, "");
}
LLVMValueRef ug_cg_imax(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* ---- control flow ---- */

LLVMValueRef ug_cg_loop_begin(ug_cg_t *cg, ug_cg_loop_t *l, LLVMValueRef lo, LLVMValueRef hi,
                              LLVMValueRef step) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
  l->body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "loop");
  l->exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "loop.end");
  l->end = hi;
  l->step = step ? step : ug_cg_i64(cg, 1);
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, lo, hi, ""), l->body, l->exit);
  LLVMPositionBuilderAtEnd(cg->b, l->body);
  l->iv = LLVMBuildPhi(cg->b, cg->t_i64, "i");
  LLVMAddIncoming(l->iv, &lo, &pre, 1);
  return l->iv;
}

void ug_cg_loop_end(ug_cg_t *cg, ug_cg_loop_t *l) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
  LLVMValueRef next = LLVMBuildNSWAdd(cg->b, l->iv, l->step, "");
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, next, l->end, ""), l->body, l->exit);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

void ug_cg_nest_begin(ug_cg_t *cg, ug_cg_nest_t *n, int rank, LLVMValueRef const *dims) {
  n->rank = rank;
  for (int i = 0; i < rank; i++)
    n->idx[i] = ug_cg_loop_begin(cg, &n->loops[i], ug_cg_i64(cg, 0), dims[i], NULL);
}

void ug_cg_nest_end(ug_cg_t *cg, ug_cg_nest_t *n) {
  for (int i = n->rank - 1; i >= 0; i--) ug_cg_loop_end(cg, &n->loops[i]);
}

LLVMValueRef ug_cg_offset(ug_cg_t *cg, int rank, LLVMValueRef const *idx, LLVMValueRef const *strides) {
  LLVMValueRef off = ug_cg_i64(cg, 0);
  for (int i = 0; i < rank; i++) off = ug_cg_iadd(cg, off, ug_cg_imul(cg, idx[i], strides[i]));
  return off;
}

void ug_cg_if_begin(ug_cg_t *cg, ug_cg_if_t *f, LLVMValueRef cond, bool with_else) {
  f->then_bb = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "then");
  f->else_bb = with_else ? LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "else") : NULL;
  f->end_bb = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "endif");
  LLVMBuildCondBr(cg->b, cond, f->then_bb, with_else ? f->else_bb : f->end_bb);
  LLVMPositionBuilderAtEnd(cg->b, f->then_bb);
}

void ug_cg_if_else(ug_cg_t *cg, ug_cg_if_t *f) {
  UG_ASSERT(f->else_bb);
  LLVMBuildBr(cg->b, f->end_bb);
  LLVMPositionBuilderAtEnd(cg->b, f->else_bb);
}

void ug_cg_if_end(ug_cg_t *cg, ug_cg_if_t *f) {
  LLVMBuildBr(cg->b, f->end_bb);
  LLVMPositionBuilderAtEnd(cg->b, f->end_bb);
}

LLVMValueRef ug_cg_alloca(ug_cg_t *cg, LLVMTypeRef ty, const char *name) {
  return LLVMBuildAlloca(cg->eb, ty, name);
}

LLVMValueRef ug_cg_lload(ug_cg_t *cg, LLVMTypeRef ty, LLVMValueRef slot) {
  return LLVMBuildLoad2(cg->b, ty, slot, "");
}

void ug_cg_broadcast_strides(ug_cg_t *cg, const ug_cg_tensor_t *t, int r, LLVMValueRef *out) {
  int off = r - t->rank;
  for (int i = 0; i < r; i++) {
    int j = i - off;
    if (j < 0) {
      out[i] = ug_cg_i64(cg, 0);
    } else if (UG_DIM_IS_STATIC(t->sdims[j])) {
      out[i] = t->sdims[j] == 1 ? ug_cg_i64(cg, 0) : t->strides[j];
    } else {
      LLVMValueRef one = LLVMBuildICmp(cg->b, LLVMIntEQ, t->dims[j], ug_cg_i64(cg, 1), "");
      out[i] = LLVMBuildSelect(cg->b, one, ug_cg_i64(cg, 0), t->strides[j], "");
    }
  }
}
