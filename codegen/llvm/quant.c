/* Block-quantized data on the CPU: dequantization of whole GGUF blocks
 * (q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k) into f32, and `cast` from a
 * block-quantized dtype (docs/gguf.md has the layouts).
 *
 * A block is emitted as straight-line vector code (ug_cg_dequant_block):
 * the quants of 16 or 32 consecutive bytes are loaded as one <n x i8>,
 * unpacked with vector shifts and masks, converted and scaled as
 * <n x float>, and handed to a sink: stored, or (linear's decode path)
 * multiplied into dot-product accumulators without a round trip through
 * memory.  For storing, each dtype gets one internal function per module,
 *   void ug.dequant.<dtype>(ptr noalias src, ptr noalias dst, i64 nblocks),
 * shared by every kernel that dequantizes (linear's weight panels, cast).
 * The arithmetic is frontend/gguf/quant.c's (ggml's reference order: scale
 * products first, then times the quant, then the min), so a dequantized
 * value equals ug_quant_dequantize_row's.  Blocks are read byte-wise (loads
 * of align 1), so src needs no alignment; f16 fields sit at even offsets. */
#include "codegen/llvm/lower.h"

#include <stdio.h>
#include <string.h>

static LLVMValueRef byte_at(ug_cg_t *cg, LLVMValueRef base, int64_t off) {
  LLVMValueRef i = ug_cg_i64(cg, off);
  return LLVMBuildGEPWithNoWrapFlags(cg->b, cg->t_i8, base, &i, 1, "", LLVMGEPFlagInBounds);
}

/* One byte of the block, zero- or sign-extended to i32. */
static LLVMValueRef ld_u8(ug_cg_t *cg, LLVMValueRef blk, int64_t off) {
  return LLVMBuildZExt(cg->b, LLVMBuildLoad2(cg->b, cg->t_i8, byte_at(cg, blk, off), ""), cg->t_i32, "");
}

static LLVMValueRef ld_i8(ug_cg_t *cg, LLVMValueRef blk, int64_t off) {
  return LLVMBuildSExt(cg->b, LLVMBuildLoad2(cg->b, cg->t_i8, byte_at(cg, blk, off), ""), cg->t_i32, "");
}

/* An f16 field of the block as f32 (off is even). */
static LLVMValueRef ld_f16(ug_cg_t *cg, LLVMValueRef blk, int64_t off) {
  return ug_cg_load_f16(cg, byte_at(cg, blk, off), ug_cg_i64(cg, 0));
}

/* A little-endian u32 field at any offset. */
static LLVMValueRef ld_u32(ug_cg_t *cg, LLVMValueRef blk, int64_t off) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->t_i32, byte_at(cg, blk, off), "");
  LLVMSetAlignment(v, 1);
  return v;
}

/* n bytes at off as <n x i32>, zero- or sign-extended. */
static LLVMValueRef ld_bytes(ug_cg_t *cg, LLVMValueRef blk, int64_t off, unsigned n, bool sign) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, LLVMVectorType(cg->t_i8, n), byte_at(cg, blk, off), "");
  LLVMSetAlignment(v, 1);
  LLVMTypeRef vt = LLVMVectorType(cg->t_i32, n);
  return sign ? LLVMBuildSExt(cg->b, v, vt, "") : LLVMBuildZExt(cg->b, v, vt, "");
}

/* <n x i32> with lane i = base + step*i. */
static LLVMValueRef iconst(ug_cg_t *cg, unsigned n, int32_t base, int32_t step) {
  LLVMValueRef e[32];
  for (unsigned i = 0; i < n; i++) e[i] = ug_cg_i32(cg, base + step * (int32_t)i);
  return LLVMConstVector(e, n);
}

LLVMValueRef ug_cg_splat(ug_cg_t *cg, LLVMValueRef s, unsigned n) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), n);
  LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetPoison(vt), s, ug_cg_i32(cg, 0), "");
  return LLVMBuildShuffleVector(cg->b, v, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(cg->t_i32, n)), "");
}

static LLVMValueRef vand(ug_cg_t *cg, LLVMValueRef v, unsigned n, int32_t c) {
  return LLVMBuildAnd(cg->b, v, iconst(cg, n, c, 0), "");
}
static LLVMValueRef vshr(ug_cg_t *cg, LLVMValueRef v, unsigned n, int32_t c) {
  return LLVMBuildLShr(cg->b, v, iconst(cg, n, c, 0), "");
}
static LLVMValueRef vshl(ug_cg_t *cg, LLVMValueRef v, unsigned n, int32_t c) {
  return LLVMBuildShl(cg->b, v, iconst(cg, n, c, 0), "");
}

static bool has_f16c(const ug_cg_t *cg) {
  const char *cpu = cg->target ? cg->target->cpu : NULL;
  return cpu && (strcmp(cpu, "x86-64-v3") == 0 || strcmp(cpu, "x86-64-v4") == 0);
}

LLVMValueRef ug_cg_load_f16(ug_cg_t *cg, LLVMValueRef base, LLVMValueRef idx) {
  if (!has_f16c(cg)) return ug_cg_load(cg, base, UG_DTYPE_F16, idx);
  LLVMValueRef bits = LLVMBuildLoad2(cg->b, cg->t_i16, ug_cg_elem_ptr(cg, base, UG_DTYPE_F16, idx), "");
  return LLVMBuildFPExt(cg->b, LLVMBuildBitCast(cg->b, bits, cg->t_f16, ""), cg->t_f32, "");
}

/* The sink of the dequantization function: dst[off .. off+n) = values. */
typedef struct {
  ug_cg_dq_sink_t base;
  LLVMValueRef dst;
} store_sink_t;

LLVMValueRef ug_cg_dq_values(ug_cg_t *cg, const ug_cg_dq_run_t *r) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef q = r->qoff ? LLVMBuildSub(b, r->q, iconst(cg, r->n, r->qoff, 0), "") : r->q;
  LLVMValueRef v = LLVMBuildFMul(b, LLVMBuildSIToFP(b, q, LLVMVectorType(cg->t_f32, r->n), ""),
                                 ug_cg_splat(cg, r->scale, r->n), "");
  return r->min ? LLVMBuildFAdd(b, v, ug_cg_splat(cg, r->min, r->n), "") : v;
}

static void store_put(ug_cg_dq_sink_t *s, ug_cg_t *cg, const ug_cg_dq_run_t *r) {
  LLVMValueRef i = ug_cg_i64(cg, r->off);
  LLVMValueRef p = LLVMBuildGEPWithNoWrapFlags(cg->b, cg->t_f32, ((store_sink_t *)s)->dst, &i, 1, "", LLVMGEPFlagInBounds);
  LLVMSetAlignment(LLVMBuildStore(cg->b, ug_cg_dq_values(cg, r), p), 4);
}

static void put(ug_cg_dq_sink_t *s, ug_cg_t *cg, int64_t off, unsigned n, LLVMValueRef q, int32_t qoff,
                LLVMValueRef scale, LLVMValueRef min) {
  ug_cg_dq_run_t r = {.off = off, .n = n, .q = q, .qoff = qoff, .scale = scale, .min = min};
  s->put(s, cg, &r);
}

/* q4_0, q4_1, q5_0, q5_1: 32 elements; byte j of qs holds element j (low
 * nibble) and j+16 (high); q5 adds bit j (j+16) of the u32 qh as bit 4.
 * x = (q - 8 or 16) * d, or q * d + m. */
static void block_q4_q5(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef blk, ug_cg_dq_sink_t *out) {
  bool has_min = dt == UG_DTYPE_Q4_1 || dt == UG_DTYPE_Q5_1;
  bool five = dt == UG_DTYPE_Q5_0 || dt == UG_DTYPE_Q5_1;
  LLVMValueRef d = ld_f16(cg, blk, 0), m = has_min ? ld_f16(cg, blk, 2) : NULL;
  int64_t off = has_min ? 4 : 2;
  LLVMValueRef qh = NULL;
  if (five) {
    qh = ug_cg_splat(cg, ld_u32(cg, blk, off), 16);
    off += 4;
  }
  LLVMValueRef qs = ld_bytes(cg, blk, off, 16, false);
  LLVMValueRef lo = vand(cg, qs, 16, 15), hi = vshr(cg, qs, 16, 4);
  if (five) {
    LLVMValueRef blo = vand(cg, LLVMBuildLShr(cg->b, qh, iconst(cg, 16, 0, 1), ""), 16, 1);
    LLVMValueRef bhi = vand(cg, LLVMBuildLShr(cg->b, qh, iconst(cg, 16, 16, 1), ""), 16, 1);
    lo = LLVMBuildOr(cg->b, lo, vshl(cg, blo, 16, 4), "");
    hi = LLVMBuildOr(cg->b, hi, vshl(cg, bhi, 16, 4), "");
  }
  int32_t zero = has_min ? 0 : five ? 16 : 8;
  put(out, cg, 0, 16, lo, zero, d, m);
  put(out, cg, 16, 16, hi, zero, d, m);
}

static void block_q8_0(ug_cg_t *cg, LLVMValueRef blk, ug_cg_dq_sink_t *out) {
  put(out, cg, 0, 32, ld_bytes(cg, blk, 2, 32, true), 0, ld_f16(cg, blk, 0), NULL);
}

/* The 6-bit scale and min of sub-block j of a q4_k/q5_k block (scales at
 * byte 4): j < 4 in the low bits of bytes j and j+4; j >= 4 takes the
 * nibbles of byte j+4 and the top bits of bytes j-4 and j. */
static void k_scale_min(ug_cg_t *cg, LLVMValueRef blk, int j, LLVMValueRef *sc, LLVMValueRef *m) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef c15 = ug_cg_i32(cg, 15), c63 = ug_cg_i32(cg, 63), c4 = ug_cg_i32(cg, 4), c6 = ug_cg_i32(cg, 6);
  if (j < 4) {
    *sc = LLVMBuildAnd(b, ld_u8(cg, blk, 4 + j), c63, "");
    *m = LLVMBuildAnd(b, ld_u8(cg, blk, 4 + j + 4), c63, "");
  } else {
    LLVMValueRef s4 = ld_u8(cg, blk, 4 + j + 4);
    *sc = LLVMBuildOr(b, LLVMBuildAnd(b, s4, c15, ""),
                      LLVMBuildShl(b, LLVMBuildLShr(b, ld_u8(cg, blk, 4 + j - 4), c6, ""), c4, ""), "");
    *m = LLVMBuildOr(b, LLVMBuildLShr(b, s4, c4, ""),
                     LLVMBuildShl(b, LLVMBuildLShr(b, ld_u8(cg, blk, 4 + j), c6, ""), c4, ""), "");
  }
  *sc = LLVMBuildUIToFP(b, *sc, cg->t_f32, "");
  *m = LLVMBuildUIToFP(b, *m, cg->t_f32, "");
}

/* q4_k / q5_k: four chunks of 64; chunk c: low nibbles of qs[32c..32c+31]
 * are sub-block 2c, high nibbles sub-block 2c+1; q5_k adds bit 2c (2c+1)
 * of qh[l] as bit 4.  x = q * (d*sc) + -(dmin*m). */
static void block_k45(ug_cg_t *cg, bool five, LLVMValueRef blk, ug_cg_dq_sink_t *out) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef d = ld_f16(cg, blk, 0), dmin = ld_f16(cg, blk, 2);
  LLVMValueRef qh = five ? ld_bytes(cg, blk, 16, 32, false) : NULL;
  int64_t qs_off = five ? 48 : 16;
  for (int c = 0; c < 4; c++) {
    LLVMValueRef q = ld_bytes(cg, blk, qs_off + 32 * c, 32, false);
    for (int h = 0; h < 2; h++) {
      LLVMValueRef sc, mn;
      k_scale_min(cg, blk, 2 * c + h, &sc, &mn);
      LLVMValueRef dd = LLVMBuildFMul(b, d, sc, ""), mm = LLVMBuildFMul(b, dmin, mn, "");
      LLVMValueRef v = h ? vshr(cg, q, 32, 4) : vand(cg, q, 32, 15);
      if (five) v = LLVMBuildOr(b, v, vshl(cg, vand(cg, vshr(cg, qh, 32, 2 * c + h), 32, 1), 32, 4), "");
      put(out, cg, 64 * c + 32 * h, 32, v, 0, dd, LLVMBuildFNeg(b, mm, ""));
    }
  }
}

/* q6_k: halves of 128; in half h element 32k+l takes its low 4 bits from
 * ql[64h + l + 32(k&1)] (low nibble for k < 2, high for k >= 2), its top 2
 * bits from bits 2k..2k+1 of qh[32h + l], its scale from
 * scales[8h + (32k+l)/16].  x = (q - 32) * (d*sc). */
static void block_q6_k(ug_cg_t *cg, LLVMValueRef blk, ug_cg_dq_sink_t *out) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef d = ld_f16(cg, blk, 208);
  for (int h = 0; h < 2; h++) {
    for (int s = 0; s < 2; s++) {
      LLVMValueRef qh = ld_bytes(cg, blk, 128 + 32 * h + 16 * s, 16, false);
      for (int k = 0; k < 4; k++) {
        LLVMValueRef lo = ld_bytes(cg, blk, 64 * h + 32 * (k & 1) + 16 * s, 16, false);
        lo = k < 2 ? vand(cg, lo, 16, 15) : vshr(cg, lo, 16, 4);
        LLVMValueRef q = LLVMBuildOr(b, lo, vshl(cg, vand(cg, vshr(cg, qh, 16, 2 * k), 16, 3), 16, 4), "");
        LLVMValueRef sc = LLVMBuildSIToFP(b, ld_i8(cg, blk, 192 + 8 * h + 2 * k + s), cg->t_f32, "");
        put(out, cg, 128 * h + 32 * k + 16 * s, 16, q, 32, LLVMBuildFMul(b, d, sc, ""), NULL);
      }
    }
  }
}

static LLVMValueRef build_dequant(ug_cg_t *cg, ug_dtype_t dt, const char *name) {
  LLVMTypeRef params[3] = {cg->t_ptr, cg->t_ptr, cg->t_i64};
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->t_void, params, 3, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(fn, 1, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));
  LLVMAddAttributeAtIndex(fn, 2, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, nounwind, 0));
  cg->fn = fn;
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(cg->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(cg->eb, entry);
  LLVMPositionBuilderAtEnd(cg->b, start);
  LLVMValueRef src = LLVMGetParam(fn, 0), dst = LLVMGetParam(fn, 1);
  int64_t be = ug_dtype_block_elems(dt), bb = ug_dtype_block_bytes(dt);
  ug_cg_loop_t l;
  LLVMValueRef i = ug_cg_loop_begin(cg, &l, ug_cg_i64(cg, 0), LLVMGetParam(fn, 2), NULL);
  LLVMValueRef boff = ug_cg_imul(cg, i, ug_cg_i64(cg, bb)), eoff = ug_cg_imul(cg, i, ug_cg_i64(cg, be));
  LLVMValueRef blk = LLVMBuildGEPWithNoWrapFlags(cg->b, cg->t_i8, src, &boff, 1, "", LLVMGEPFlagInBounds);
  LLVMValueRef out = LLVMBuildGEPWithNoWrapFlags(cg->b, cg->t_f32, dst, &eoff, 1, "", LLVMGEPFlagInBounds);
  store_sink_t sink = {{store_put}, out};
  ug_cg_dequant_block(cg, dt, blk, &sink.base);
  ug_cg_loop_end(cg, &l);
  LLVMBuildRetVoid(cg->b);
  LLVMBuildBr(cg->eb, start);
  return fn;
}

void ug_cg_dequant_block(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef blk, ug_cg_dq_sink_t *sink) {
  switch (dt) {
  case UG_DTYPE_Q4_0: case UG_DTYPE_Q4_1: case UG_DTYPE_Q5_0: case UG_DTYPE_Q5_1:
    block_q4_q5(cg, dt, blk, sink);
    break;
  case UG_DTYPE_Q8_0: block_q8_0(cg, blk, sink); break;
  case UG_DTYPE_Q4_K: block_k45(cg, false, blk, sink); break;
  case UG_DTYPE_Q5_K: block_k45(cg, true, blk, sink); break;
  case UG_DTYPE_Q6_K: block_q6_k(cg, blk, sink); break;
  default: UG_UNREACHABLE();
  }
}

bool ug_cg_dequant_supported(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_Q4_0: case UG_DTYPE_Q4_1: case UG_DTYPE_Q5_0: case UG_DTYPE_Q5_1:
  case UG_DTYPE_Q8_0: case UG_DTYPE_Q4_K: case UG_DTYPE_Q5_K: case UG_DTYPE_Q6_K:
    return true;
  default:
    return false;
  }
}

void ug_cg_dequant_blocks(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef src, LLVMValueRef dst, LLVMValueRef nblocks) {
  UG_ASSERT(ug_cg_dequant_supported(dt));
  char name[32];
  snprintf(name, sizeof name, "ug.dequant.%s", ug_dtype_name(dt));
  LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
  if (!fn) {
    /* build it with the shared helpers, then return to the current kernel */
    LLVMValueRef save_fn = cg->fn;
    LLVMBasicBlockRef save_b = LLVMGetInsertBlock(cg->b), save_e = LLVMGetInsertBlock(cg->eb);
    fn = build_dequant(cg, dt, name);
    cg->fn = save_fn;
    LLVMPositionBuilderAtEnd(cg->b, save_b);
    LLVMPositionBuilderAtEnd(cg->eb, save_e);
  }
  LLVMValueRef args[3] = {src, dst, nblocks};
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, 3, "");
}

/* cast from a block-quantized dtype: element i of the row-major tensor is
 * element i % B of block i / B.  An f32 result is dequantized in place;
 * other dtypes go through one block of f32 on the stack. */
ug_status_t ug_cg_lower_dequant(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *o = &k->out[0];
  if (!ug_cg_dequant_supported(x->dtype))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "the cpu backend cannot dequantize %s",
                         ug_dtype_name(x->dtype));
  int64_t be = ug_dtype_block_elems(x->dtype), bb = ug_dtype_block_bytes(x->dtype);
  LLVMValueRef nblocks = LLVMBuildSDiv(cg->b, x->numel, ug_cg_i64(cg, be), "");
  if (o->dtype == UG_DTYPE_F32) {
    ug_cg_dequant_blocks(cg, x->dtype, x->ptr, o->ptr, nblocks);
    return NULL;
  }
  LLVMValueRef tmp = ug_cg_alloca(cg, LLVMArrayType2(cg->t_f32, (uint64_t)be), "block");
  ug_cg_loop_t lb, le;
  LLVMValueRef bi = ug_cg_loop_begin(cg, &lb, ug_cg_i64(cg, 0), nblocks, NULL);
  LLVMValueRef boff = ug_cg_imul(cg, bi, ug_cg_i64(cg, bb));
  LLVMValueRef src = LLVMBuildGEPWithNoWrapFlags(cg->b, cg->t_i8, x->ptr, &boff, 1, "", LLVMGEPFlagInBounds);
  ug_cg_dequant_blocks(cg, x->dtype, src, tmp, ug_cg_i64(cg, 1));
  LLVMValueRef base = ug_cg_imul(cg, bi, ug_cg_i64(cg, be));
  LLVMValueRef e = ug_cg_loop_begin(cg, &le, ug_cg_i64(cg, 0), ug_cg_i64(cg, be), NULL);
  LLVMValueRef v = ug_cg_load(cg, tmp, UG_DTYPE_F32, e);
  ug_cg_store(cg, o->ptr, o->dtype, ug_cg_iadd(cg, base, e), ug_cg_convert(cg, v, UG_DTYPE_F32, o->dtype));
  ug_cg_loop_end(cg, &le);
  ug_cg_loop_end(cg, &lb);
  return NULL;
}
