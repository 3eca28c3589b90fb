/* linear(x, w, bias?) = x @ w^T + bias on the CPU, for weights of any float
 * dtype and the block-quantized ones (quant.c dequantizes).
 *
 * x's leading dims are flattened to M rows of K; w is [N, K] in its storage
 * layout.  Products accumulate in the compute dtype (f32, f64 when x is
 * f64) and are rounded once, with the bias, into the result.  The weight is
 * never dequantized as a whole: x's rows are taken in chunks of up to
 * LIN_MB, and a chunk
 *   - of fewer than LIN_DOT_ROWS rows (decode: M = 1) reads the weight
 *     once: quantized rows are dequantized block by block straight into
 *     register accumulators, one per row of x (dot_sink_t); float rows are
 *     converted on load inside a vectorized, reassociating dot product;
 *   - of more rows (prefill) is transposed into the scratch as [K, mb], and
 *     each panel of LIN_NB weight rows is dequantized (or widened) into the
 *     scratch as [nb, K] and multiplied by the register-blocked GEMM
 *     (gemm.c): C[nb, mb] = panel . x^T, written out transposed with the
 *     bias.
 * Weights already in the compute dtype (f32 under f32, f64 under f64) are
 * read in place instead of copied.  Scratch (ug_cg_linear_scratch): the x
 * chunk, one panel and C, in the compute dtype. */
#include "codegen/llvm/gemm.h"
#include "codegen/llvm/lower.h"

#include <string.h>

#define LIN_MB 256      /* x rows per chunk */
#define LIN_NB 64       /* weight rows per GEMM panel */
#define LIN_DOT_ROWS 4  /* chunks with fewer rows use the dot path */

static ug_dtype_t compute_dtype(ug_dtype_t x) { return x == UG_DTYPE_F64 ? UG_DTYPE_F64 : UG_DTYPE_F32; }

ug_status_t ug_cg_linear_scratch(ug_graph_t *g, const ug_node_t *n, ug_dim_t *out_sizes, uint32_t *out_count) {
  ug_dims_t *d = g->module->dims;
  const ug_type_t *x = ug_value_type(g, ug_node_operand(g, n, 0));
  const ug_type_t *w = ug_value_type(g, ug_node_operand(g, n, 1));
  *out_count = 0;
  if (x->rank < 1 || w->rank != 2) return NULL; /* the kernel reports it */
  ug_dim_t M = 1;
  for (int i = 0; i + 1 < x->rank; i++) M = ug_dim_mul(d, M, x->dims[i]);
  ug_dim_t K = x->dims[x->rank - 1], N = w->dims[0];
  ug_dim_t mb = ug_dim_min(d, M, LIN_MB), nb = ug_dim_min(d, N, LIN_NB);
  ug_dim_t elems = ug_dim_add(d, ug_dim_add(d, ug_dim_mul(d, mb, K), ug_dim_mul(d, nb, K)), ug_dim_mul(d, nb, mb));
  out_sizes[0] = ug_dim_mul(d, elems, ug_dtype_bits(compute_dtype(x->dtype)) / 8);
  *out_count = 1;
  return NULL;
}

typedef struct {
  ug_cg_t *cg;
  const ug_cg_tensor_t *x, *w, *bias, *o;
  ug_dtype_t ct;      /* compute dtype */
  LLVMValueRef M, N, K;
  LLVMValueRef wrow_bytes; /* quantized: bytes of one weight row */
  bool w_direct;      /* weight rows are usable as they are */
} lin_t;

static LLVMValueRef elem(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef i) {
  return ug_cg_elem_ptr(cg, base, dt, i);
}

static LLVMValueRef fast(LLVMValueRef v) {
  if (LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v))
    LLVMSetFastMathFlags(v, LLVMFastMathAllowReassoc | LLVMFastMathAllowContract);
  return v;
}

/* A float weight element (f16 through the target's conversion instruction
 * where it has one). */
static LLVMValueRef load_w(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx) {
  return dt == UG_DTYPE_F16 ? ug_cg_load_f16(cg, base, idx) : ug_cg_load(cg, base, dt, idx);
}

/* Weight row n in the compute dtype at dst (K elements). */
static void weight_row(lin_t *L, LLVMValueRef n, LLVMValueRef dst) {
  ug_cg_t *cg = L->cg;
  ug_dtype_t wdt = L->w->dtype;
  if (ug_dtype_is_quant(wdt)) {
    int64_t be = ug_dtype_block_elems(wdt), bb = ug_dtype_block_bytes(wdt);
    LLVMValueRef off = ug_cg_imul(cg, n, L->wrow_bytes);
    LLVMValueRef src = elem(cg, L->w->ptr, UG_DTYPE_U8, off);
    LLVMValueRef nblocks = LLVMBuildSDiv(cg->b, L->K, ug_cg_i64(cg, be), "");
    if (L->ct == UG_DTYPE_F32) {
      ug_cg_dequant_blocks(cg, wdt, src, dst, nblocks);
      return;
    }
    /* f64: one block of f32 at a time, widened */
    LLVMValueRef tmp = ug_cg_alloca(cg, LLVMArrayType2(cg->t_f32, (uint64_t)be), "block");
    ug_cg_loop_t lb, le;
    LLVMValueRef bi = ug_cg_loop_begin(cg, &lb, ug_cg_i64(cg, 0), nblocks, NULL);
    ug_cg_dequant_blocks(cg, wdt, elem(cg, src, UG_DTYPE_U8, ug_cg_imul(cg, bi, ug_cg_i64(cg, bb))), tmp,
                         ug_cg_i64(cg, 1));
    LLVMValueRef base = ug_cg_imul(cg, bi, ug_cg_i64(cg, be));
    LLVMValueRef e = ug_cg_loop_begin(cg, &le, ug_cg_i64(cg, 0), ug_cg_i64(cg, be), NULL);
    LLVMValueRef v = ug_cg_convert(cg, ug_cg_load(cg, tmp, UG_DTYPE_F32, e), UG_DTYPE_F32, L->ct);
    ug_cg_store(cg, dst, L->ct, ug_cg_iadd(cg, base, e), v);
    ug_cg_loop_end(cg, &le);
    ug_cg_loop_end(cg, &lb);
    return;
  }
  LLVMValueRef base = ug_cg_imul(cg, n, L->K);
  ug_cg_loop_t lk;
  LLVMValueRef k = ug_cg_loop_begin(cg, &lk, ug_cg_i64(cg, 0), L->K, NULL);
  LLVMValueRef v = load_w(cg, L->w->ptr, wdt, ug_cg_iadd(cg, base, k));
  ug_cg_store(cg, dst, L->ct, k, ug_cg_convert(cg, v, wdt, L->ct));
  ug_cg_loop_end(cg, &lk);
}

/* The bias of output column n (0 without a bias), in the compute dtype. */
static LLVMValueRef bias_at(lin_t *L, LLVMValueRef n) {
  if (!L->bias) return ug_cg_const(L->cg, L->ct, 0);
  return ug_cg_convert(L->cg, ug_cg_load(L->cg, L->bias->ptr, L->bias->dtype, n), L->bias->dtype, L->ct);
}

/* sum over k < K of a[k] * w[base + k]: a in the compute dtype, w a row of
 * float weights of any dtype, converted on load. */
static LLVMValueRef dot(lin_t *L, LLVMValueRef a, LLVMValueRef w, ug_dtype_t wdt, LLVMValueRef base) {
  ug_cg_t *cg = L->cg;
  LLVMTypeRef T = ug_cg_ctype(cg, L->ct);
  LLVMValueRef acc = ug_cg_alloca(cg, T, "dot");
  LLVMBuildStore(cg->b, ug_cg_const(cg, L->ct, 0), acc);
  ug_cg_loop_t lk;
  LLVMValueRef k = ug_cg_loop_begin(cg, &lk, ug_cg_i64(cg, 0), L->K, NULL);
  LLVMValueRef wv = ug_cg_convert(cg, load_w(cg, w, wdt, ug_cg_iadd(cg, base, k)), wdt, L->ct);
  LLVMValueRef p = fast(LLVMBuildFMul(cg->b, ug_cg_load(cg, a, L->ct, k), wv, ""));
  LLVMBuildStore(cg->b, fast(LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, T, acc, ""), p, "")), acc);
  ug_cg_loop_end(cg, &lk);
  return LLVMBuildLoad2(cg->b, T, acc, "");
}

/* The decode path's sink.  A run's values are (q - qoff) * scale + min, so
 * its dot with x is scale * sum(q x) + (min - qoff * scale) * sum(x): the
 * quants are converted and multiplied by x without being dequantized, the
 * sums of x come from a table of 16-element sums made once per row of x,
 * and runs of one scale (the two halves of a q4_0 block) are scaled
 * together.  Accumulators (<lanes x float> and a scalar per row of x)
 * stay in registers across the blocks of a weight row. */
#define LIN_ACC 16 /* most lanes of an accumulator */
typedef struct {
  ug_cg_dq_sink_t base;
  int rows;
  unsigned lanes;                  /* two SIMD registers: 8 on SSE, 16 from AVX2 on */
  LLVMValueRef x[LIN_DOT_ROWS];    /* the block's first element in each row of x */
  LLVMValueRef xs[LIN_DOT_ROWS];   /* the block's first 16-sum of each row of x */
  LLVMValueRef acc[LIN_DOT_ROWS];  /* <lanes x float> slots */
  LLVMValueRef cacc[LIN_DOT_ROWS]; /* f32 slots: the min / offset terms */
  LLVMValueRef pend[LIN_DOT_ROWS]; /* sum(q x) of the runs of scale pend_scale */
  LLVMValueRef pend_scale;
} dot_sink_t;

static void dot_flush(dot_sink_t *d, ug_cg_t *cg) {
  if (!d->pend_scale) return;
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef vt = LLVMVectorType(cg->t_f32, d->lanes);
  LLVMValueRef sc = ug_cg_splat(cg, d->pend_scale, d->lanes);
  for (int r = 0; r < d->rows; r++) {
    LLVMValueRef acc = LLVMBuildLoad2(b, vt, d->acc[r], "");
    LLVMBuildStore(b, fast(LLVMBuildFAdd(b, acc, fast(LLVMBuildFMul(b, sc, d->pend[r], "")), "")), d->acc[r]);
  }
  d->pend_scale = NULL;
}

static void dot_put(ug_cg_dq_sink_t *s, ug_cg_t *cg, const ug_cg_dq_run_t *run) {
  dot_sink_t *d = (dot_sink_t *)s;
  LLVMBuilderRef b = cg->b;
  unsigned n = run->n, lanes = d->lanes;
  LLVMTypeRef vt = LLVMVectorType(cg->t_f32, lanes);
  LLVMValueRef qf = LLVMBuildSIToFP(b, run->q, LLVMVectorType(cg->t_f32, n), "");
  LLVMValueRef parts[32 / 8];
  for (unsigned h = 0; h < n / lanes; h++) {
    parts[h] = qf;
    if (n != lanes) {
      LLVMValueRef mask[LIN_ACC];
      for (unsigned i = 0; i < lanes; i++) mask[i] = ug_cg_i32(cg, (int32_t)(h * lanes + i));
      parts[h] = LLVMBuildShuffleVector(b, qf, LLVMGetPoison(LLVMTypeOf(qf)), LLVMConstVector(mask, lanes), "");
    }
  }
  if (d->pend_scale != run->scale) dot_flush(d, cg);
  /* the run's constant term: min - qoff * scale */
  LLVMValueRef cterm = run->min;
  if (run->qoff) {
    LLVMValueRef t = LLVMBuildFMul(b, run->scale, LLVMConstReal(cg->t_f32, -(double)run->qoff), "");
    cterm = cterm ? fast(LLVMBuildFAdd(b, cterm, t, "")) : t;
  }
  for (int r = 0; r < d->rows; r++) {
    LLVMValueRef p = NULL;
    for (unsigned h = 0; h < n / lanes; h++) {
      LLVMValueRef xp = ug_cg_elem_ptr(cg, d->x[r], UG_DTYPE_F32, ug_cg_i64(cg, run->off + (int64_t)(h * lanes)));
      LLVMValueRef xv = LLVMBuildLoad2(b, vt, xp, "");
      LLVMSetAlignment(xv, 4);
      LLVMValueRef t = fast(LLVMBuildFMul(b, parts[h], xv, ""));
      p = p ? fast(LLVMBuildFAdd(b, p, t, "")) : t;
    }
    d->pend[r] = d->pend_scale ? fast(LLVMBuildFAdd(b, d->pend[r], p, "")) : p;
    if (cterm) {
      LLVMValueRef xsum = NULL;
      for (unsigned g = 0; g < n / 16; g++) {
        LLVMValueRef v = ug_cg_load(cg, d->xs[r], UG_DTYPE_F32, ug_cg_i64(cg, run->off / 16 + (int64_t)g));
        xsum = xsum ? fast(LLVMBuildFAdd(b, xsum, v, "")) : v;
      }
      LLVMValueRef c = LLVMBuildLoad2(b, cg->t_f32, d->cacc[r], "");
      LLVMBuildStore(b, fast(LLVMBuildFAdd(b, c, fast(LLVMBuildFMul(b, cterm, xsum, "")), "")), d->cacc[r]);
    }
  }
  d->pend_scale = run->scale;
}

/* The sum of the lanes of a float vector, in any order. */
static LLVMValueRef hsum(ug_cg_t *cg, LLVMValueRef v) {
  const char *name = "llvm.vector.reduce.fadd";
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef vt = LLVMTypeOf(v);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &vt, 1);
  LLVMValueRef args[2] = {LLVMConstReal(cg->t_f32, -0.0), v};
  return fast(LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, &vt, 1), fn, args, 2, ""));
}

/* Quantized weights under f32 activations, `rows` rows of x at xrows: each
 * weight row is read once, block by block, into the accumulators of every
 * row of x (dot_sink_t).  xsums: room for rows * K/16 floats. */
static void dot_quant(lin_t *L, int rows, LLVMValueRef m0, LLVMValueRef xrows, LLVMValueRef xsums) {
  ug_cg_t *cg = L->cg;
  LLVMBuilderRef b = cg->b;
  ug_dtype_t wdt = L->w->dtype;
  int64_t be = ug_dtype_block_elems(wdt), bb = ug_dtype_block_bytes(wdt);
  unsigned vbits = cg->target && cg->target->vector_bits ? cg->target->vector_bits : 128;
  unsigned lanes = 2 * vbits / 32 > LIN_ACC ? LIN_ACC : 2 * vbits / 32;
  LLVMTypeRef vt = LLVMVectorType(cg->t_f32, lanes);
  LLVMValueRef groups = LLVMBuildSDiv(b, L->K, ug_cg_i64(cg, 16), "");
  /* xsums[r * K/16 + g] = sum of x[r, 16g .. 16g+16) */
  ug_cg_loop_t lr, lg, le;
  LLVMValueRef r = ug_cg_loop_begin(cg, &lr, ug_cg_i64(cg, 0), ug_cg_i64(cg, rows), NULL);
  LLVMValueRef g = ug_cg_loop_begin(cg, &lg, ug_cg_i64(cg, 0), groups, NULL);
  LLVMValueRef xb = ug_cg_iadd(cg, ug_cg_imul(cg, r, L->K), ug_cg_imul(cg, g, ug_cg_i64(cg, 16)));
  LLVMValueRef sum = ug_cg_alloca(cg, cg->t_f32, "xsum");
  LLVMBuildStore(b, LLVMConstReal(cg->t_f32, 0), sum);
  LLVMValueRef e = ug_cg_loop_begin(cg, &le, ug_cg_i64(cg, 0), ug_cg_i64(cg, 16), NULL);
  LLVMValueRef xv = ug_cg_load(cg, xrows, UG_DTYPE_F32, ug_cg_iadd(cg, xb, e));
  LLVMBuildStore(b, fast(LLVMBuildFAdd(b, LLVMBuildLoad2(b, cg->t_f32, sum, ""), xv, "")), sum);
  ug_cg_loop_end(cg, &le);
  ug_cg_store(cg, xsums, UG_DTYPE_F32, ug_cg_iadd(cg, ug_cg_imul(cg, r, groups), g), LLVMBuildLoad2(b, cg->t_f32, sum, ""));
  ug_cg_loop_end(cg, &lg);
  ug_cg_loop_end(cg, &lr);

  dot_sink_t sink = {.base = {dot_put}, .rows = rows, .lanes = lanes};
  for (int i = 0; i < rows; i++) {
    sink.acc[i] = ug_cg_alloca(cg, vt, "acc");
    sink.cacc[i] = ug_cg_alloca(cg, cg->t_f32, "cacc");
  }
  ug_cg_loop_t ln, lb;
  LLVMValueRef n = ug_cg_loop_begin(cg, &ln, ug_cg_i64(cg, 0), L->N, NULL);
  for (int i = 0; i < rows; i++) {
    LLVMBuildStore(b, LLVMConstNull(vt), sink.acc[i]);
    LLVMBuildStore(b, LLVMConstReal(cg->t_f32, 0), sink.cacc[i]);
  }
  LLVMValueRef wrow = elem(cg, L->w->ptr, UG_DTYPE_U8, ug_cg_imul(cg, n, L->wrow_bytes));
  LLVMValueRef bi = ug_cg_loop_begin(cg, &lb, ug_cg_i64(cg, 0), LLVMBuildSDiv(b, L->K, ug_cg_i64(cg, be), ""), NULL);
  LLVMValueRef blk = elem(cg, wrow, UG_DTYPE_U8, ug_cg_imul(cg, bi, ug_cg_i64(cg, bb)));
  LLVMValueRef xoff = ug_cg_imul(cg, bi, ug_cg_i64(cg, be));
  for (int i = 0; i < rows; i++) {
    sink.x[i] = elem(cg, xrows, UG_DTYPE_F32, ug_cg_iadd(cg, ug_cg_imul(cg, ug_cg_i64(cg, i), L->K), xoff));
    sink.xs[i] = elem(cg, xsums, UG_DTYPE_F32,
                      ug_cg_iadd(cg, ug_cg_imul(cg, ug_cg_i64(cg, i), groups), ug_cg_imul(cg, bi, ug_cg_i64(cg, be / 16))));
  }
  ug_cg_dequant_block(cg, wdt, blk, &sink.base);
  dot_flush(&sink, cg);
  ug_cg_loop_end(cg, &lb);
  LLVMValueRef bv = bias_at(L, n);
  for (int i = 0; i < rows; i++) {
    LLVMValueRef acc = hsum(cg, LLVMBuildLoad2(b, vt, sink.acc[i], ""));
    acc = fast(LLVMBuildFAdd(b, acc, LLVMBuildLoad2(b, cg->t_f32, sink.cacc[i], ""), ""));
    LLVMValueRef idx = ug_cg_iadd(cg, ug_cg_imul(cg, ug_cg_iadd(cg, m0, ug_cg_i64(cg, i)), L->N), n);
    ug_cg_store(cg, L->o->ptr, L->o->dtype, idx, ug_cg_convert(cg, LLVMBuildFAdd(b, acc, bv, ""), L->ct, L->o->dtype));
  }
  ug_cg_loop_end(cg, &ln);
}

/* Rows [m0, m0+mb) with mb < LIN_DOT_ROWS: one pass over the weight. */
static void dot_path(lin_t *L, LLVMValueRef m0, LLVMValueRef mb, LLVMValueRef xbuf, LLVMValueRef panel) {
  ug_cg_t *cg = L->cg;
  LLVMValueRef xrows;
  if (L->x->dtype == L->ct) {
    xrows = elem(cg, L->x->ptr, L->ct, ug_cg_imul(cg, m0, L->K));
  } else {
    LLVMValueRef base = ug_cg_imul(cg, m0, L->K);
    ug_cg_loop_t lc;
    LLVMValueRef t = ug_cg_loop_begin(cg, &lc, ug_cg_i64(cg, 0), ug_cg_imul(cg, mb, L->K), NULL);
    LLVMValueRef v = ug_cg_load(cg, L->x->ptr, L->x->dtype, ug_cg_iadd(cg, base, t));
    ug_cg_store(cg, xbuf, L->ct, t, ug_cg_convert(cg, v, L->x->dtype, L->ct));
    ug_cg_loop_end(cg, &lc);
    xrows = xbuf;
  }
  bool quant = ug_dtype_is_quant(L->w->dtype);
  if (quant && L->ct == UG_DTYPE_F32) {
    /* one variant per row count, so the accumulators stay in registers */
    for (int rows = 1; rows < LIN_DOT_ROWS; rows++) {
      ug_cg_if_t f;
      ug_cg_if_begin(cg, &f, LLVMBuildICmp(cg->b, LLVMIntEQ, mb, ug_cg_i64(cg, rows), ""), false);
      dot_quant(L, rows, m0, xrows, panel);
      ug_cg_if_end(cg, &f);
    }
    return;
  }
  ug_cg_loop_t ln, li;
  LLVMValueRef n = ug_cg_loop_begin(cg, &ln, ug_cg_i64(cg, 0), L->N, NULL);
  LLVMValueRef wrow = L->w->ptr, wbase = ug_cg_imul(cg, n, L->K);
  ug_dtype_t wdt = L->w->dtype;
  if (quant) {
    /* f64 activations: the row dequantized into the panel, widened */
    weight_row(L, n, panel);
    wrow = panel;
    wbase = ug_cg_i64(cg, 0);
    wdt = L->ct;
  }
  LLVMValueRef bv = bias_at(L, n);
  LLVMValueRef i = ug_cg_loop_begin(cg, &li, ug_cg_i64(cg, 0), mb, NULL);
  LLVMValueRef acc = dot(L, elem(cg, xrows, L->ct, ug_cg_imul(cg, i, L->K)), wrow, wdt, wbase);
  LLVMValueRef r = LLVMBuildFAdd(cg->b, acc, bv, "");
  ug_cg_store(cg, L->o->ptr, L->o->dtype, ug_cg_iadd(cg, ug_cg_imul(cg, ug_cg_iadd(cg, m0, i), L->N), n),
              ug_cg_convert(cg, r, L->ct, L->o->dtype));
  ug_cg_loop_end(cg, &li);
  ug_cg_loop_end(cg, &ln);
}

/* Rows [m0, m0+mb): x^T chunk, then panels of weight rows through the GEMM. */
static void gemm_path(lin_t *L, LLVMValueRef m0, LLVMValueRef mb, LLVMValueRef xbuf, LLVMValueRef panel,
                      LLVMValueRef cbuf) {
  ug_cg_t *cg = L->cg;
  LLVMBuilderRef b = cg->b;
  LLVMValueRef zero = ug_cg_i64(cg, 0);
  ug_cg_loop_t li, lk, ln, lj, lo, loj;
  /* xbuf[k * mb + i] = x[m0 + i, k] */
  LLVMValueRef i = ug_cg_loop_begin(cg, &li, zero, mb, NULL);
  LLVMValueRef xbase = ug_cg_imul(cg, ug_cg_iadd(cg, m0, i), L->K);
  LLVMValueRef k = ug_cg_loop_begin(cg, &lk, zero, L->K, NULL);
  LLVMValueRef v = ug_cg_load(cg, L->x->ptr, L->x->dtype, ug_cg_iadd(cg, xbase, k));
  ug_cg_store(cg, xbuf, L->ct, ug_cg_iadd(cg, ug_cg_imul(cg, k, mb), i), ug_cg_convert(cg, v, L->x->dtype, L->ct));
  ug_cg_loop_end(cg, &lk);
  ug_cg_loop_end(cg, &li);

  LLVMValueRef n0 = ug_cg_loop_begin(cg, &ln, zero, L->N, ug_cg_i64(cg, LIN_NB));
  LLVMValueRef nb = ug_cg_imin(cg, ug_cg_i64(cg, LIN_NB), LLVMBuildSub(b, L->N, n0, ""));
  LLVMValueRef A;
  if (L->w_direct) {
    A = elem(cg, L->w->ptr, L->ct, ug_cg_imul(cg, n0, L->K));
  } else {
    LLVMValueRef j = ug_cg_loop_begin(cg, &lj, zero, nb, NULL);
    weight_row(L, ug_cg_iadd(cg, n0, j), elem(cg, panel, L->ct, ug_cg_imul(cg, j, L->K)));
    ug_cg_loop_end(cg, &lj);
    A = panel;
  }
  LLVMValueRef cs = ug_cg_i64(cg, ug_dtype_bits(L->ct) / 8);
  LLVMBuildMemSet(b, cbuf, LLVMConstInt(cg->t_i8, 0, 0), ug_cg_imul(cg, ug_cg_imul(cg, nb, mb), cs),
                  (unsigned)ug_dtype_bits(L->ct) / 8);
  ug_cg_gemm(cg, L->ct, nb, mb, L->K, A, L->K, xbuf, mb, cbuf, mb);
  /* out[m0 + i, n0 + j] = C[j, i] + bias[n0 + j] */
  LLVMValueRef oi = ug_cg_loop_begin(cg, &lo, zero, mb, NULL);
  LLVMValueRef orow = ug_cg_iadd(cg, ug_cg_imul(cg, ug_cg_iadd(cg, m0, oi), L->N), n0);
  LLVMValueRef oj = ug_cg_loop_begin(cg, &loj, zero, nb, NULL);
  LLVMValueRef c = ug_cg_load(cg, cbuf, L->ct, ug_cg_iadd(cg, ug_cg_imul(cg, oj, mb), oi));
  LLVMValueRef r = LLVMBuildFAdd(b, c, bias_at(L, ug_cg_iadd(cg, n0, oj)), "");
  ug_cg_store(cg, L->o->ptr, L->o->dtype, ug_cg_iadd(cg, orow, oj), ug_cg_convert(cg, r, L->ct, L->o->dtype));
  ug_cg_loop_end(cg, &loj);
  ug_cg_loop_end(cg, &lo);
  ug_cg_loop_end(cg, &ln);
}

ug_status_t ug_cg_lower_linear(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *w = &k->in[1], *o = &k->out[0];
  const ug_cg_tensor_t *bias = k->num_in > 2 && k->in[2].ptr ? &k->in[2] : NULL;
  if (x->rank < 1 || w->rank != 2 || o->rank != x->rank)
    return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "linear needs x of rank >= 1 and a weight of rank 2");
  if (!ug_dtype_is_float(x->dtype) || !ug_cg_dtype_supported(x->dtype))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "linear with %s activations is not supported on the cpu",
                         ug_dtype_name(x->dtype));
  bool quant = ug_dtype_is_quant(w->dtype);
  if (quant ? !ug_cg_dequant_supported(w->dtype) : !(ug_dtype_is_float(w->dtype) && ug_cg_dtype_supported(w->dtype)))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "linear with a %s weight is not supported on the cpu",
                         ug_dtype_name(w->dtype));
  if (quant && (!UG_DIM_IS_STATIC(w->sdims[1]) || w->sdims[1] % ug_dtype_block_elems(w->dtype) != 0))
    return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "a %s weight needs rows of a static whole number of blocks",
                         ug_dtype_name(w->dtype));
  if (k->num_scratch < 1) return ug_node_error(k->g, k->n, UG_ERR_INTERNAL, "linear without its scratch buffer");
  lin_t L = {.cg = cg, .x = x, .w = w, .bias = bias, .o = o, .ct = compute_dtype(x->dtype)};
  L.M = ug_cg_dims_product(cg, x, 0, x->rank - 1);
  L.K = x->dims[x->rank - 1];
  L.N = w->dims[0];
  L.w_direct = w->dtype == L.ct;
  if (quant)
    L.wrow_bytes = ug_cg_i64(cg, w->sdims[1] / ug_dtype_block_elems(w->dtype) * ug_dtype_block_bytes(w->dtype));
  LLVMBuilderRef b = cg->b;
  /* scratch: x chunk [min(M, MB) * K], panel [min(N, NB) * K], C [NB * MB] */
  LLVMValueRef mbmax = ug_cg_imin(cg, L.M, ug_cg_i64(cg, LIN_MB)), nbmax = ug_cg_imin(cg, L.N, ug_cg_i64(cg, LIN_NB));
  LLVMValueRef xbuf = k->scratch[0];
  LLVMValueRef panel = elem(cg, xbuf, L.ct, ug_cg_imul(cg, mbmax, L.K));
  LLVMValueRef cbuf = elem(cg, panel, L.ct, ug_cg_imul(cg, nbmax, L.K));
  /* nothing to compute without outputs (and the panel, which the decode
   * path borrows for its sums of x, is empty) */
  ug_cg_if_t has_n;
  ug_cg_if_begin(cg, &has_n, LLVMBuildICmp(b, LLVMIntSGT, L.N, ug_cg_i64(cg, 0), ""), false);
  ug_cg_loop_t lm;
  LLVMValueRef m0 = ug_cg_loop_begin(cg, &lm, ug_cg_i64(cg, 0), L.M, ug_cg_i64(cg, LIN_MB));
  LLVMValueRef mb = ug_cg_imin(cg, ug_cg_i64(cg, LIN_MB), LLVMBuildSub(b, L.M, m0, ""));
  ug_cg_if_t f;
  ug_cg_if_begin(cg, &f, LLVMBuildICmp(b, LLVMIntSLT, mb, ug_cg_i64(cg, LIN_DOT_ROWS), ""), true);
  dot_path(&L, m0, mb, xbuf, panel);
  ug_cg_if_else(cg, &f);
  gemm_path(&L, m0, mb, xbuf, panel, cbuf);
  ug_cg_if_end(cg, &f);
  ug_cg_loop_end(cg, &lm);
  ug_cg_if_end(cg, &has_n);
  return NULL;
}
