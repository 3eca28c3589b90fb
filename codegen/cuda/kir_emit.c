/* Kernel IR -> CUDA C (docs/kernel-ir.md, "What the emitters do with it").
 *
 * Handled now: the ops the lowering of kir_lower.c produces — program_id,
 * index arithmetic and comparisons, loads and stores of one-dimensional
 * tiles along a global buffer's last axis (bounds-checked, `other` outside,
 * under a whole-tile bool[] mask), gathers by flat offsets (each slot
 * checked against the buffer's element count), to_index, broadcasts of
 * one-element tiles, splat, iota, elementwise math on tiles, and block-wide
 * reductions of a one-dimensional tile (per thread, warp shuffles, then
 * shared memory across warps).
 *
 * Layout: the kernel's chunk is W elements, 16 bytes of the widest dtype
 * of the global buffers it loads or stores as tiles (buffers only gathered
 * from do not count).  A tile of S elements, S a multiple of threads * W, is U = S /
 * (threads * W) rounds of chunks: in round j thread t holds elements
 * (j * threads + t) * W .. + W-1, so each round is one coalesced 16-byte
 * access per thread for the widest dtype (narrower dtypes move W elements
 * as one smaller vector).  A round is one vector access when it is in
 * bounds and aligned, else W checked element accesses.  Other tile sizes
 * are spread in contiguous runs of P = ceil(S / threads) elements per
 * thread, each element checked.  Registers: `v<N>[P]`, slot j*W + w.
 * One-element tiles and rank-0 tiles are a scalar that
 * every thread holds.  Index values are int64_t, uniform over the block. */
#include "codegen/cuda/kir_cuda.h"
#include "ugrt/model_abi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* Programs of one warp run UG_KIR_PACK to a block, a warp each: a block of
 * 32 threads per program would leave most of an SM's thread slots empty
 * (it holds at most 32 blocks), which short rows (a softmax over 128
 * columns: a million programs) feel most. */
#define UG_KIR_PACK 8
/* ... and each such warp runs UG_KIR_ILP programs, the copies of the body
 * unrolled in one loop so that the loads of one overlap the reductions of
 * another (a warp per row waits on its row otherwise). */
#ifndef UG_KIR_ILP
#define UG_KIR_ILP 2
#endif

const char ug_cuda_kir_prelude[] =
    "// kernel-IR index arithmetic: div and mod floor, as dims do\n"
    "static __forceinline__ long long ug_kdiv(long long a, long long b) {\n"
    "  long long q = a / b;\n"
    "  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;\n"
    "}\n"
    "static __forceinline__ long long ug_kmod(long long a, long long b) { return a - ug_kdiv(a, b) * b; }\n"
    "// ... by a positive constant: one truncating division and a fix-up (the\n"
    "// stage indices of a software-pipelined loop, the L2 grouping)\n"
    "static __forceinline__ long long ug_kdivp(long long a, long long b) {\n"
    "  long long q = a / b;\n"
    "  return a - q * b < 0 ? q - 1 : q;\n"
    "}\n"
    "static __forceinline__ long long ug_kmodp(long long a, long long b) {\n"
    "  long long r = a % b;\n"
    "  return r < 0 ? r + b : r;\n"
    "}\n"
    "static __forceinline__ long long ug_kmin(long long a, long long b) { return a < b ? a : b; }\n"
    "static __forceinline__ long long ug_kmax(long long a, long long b) { return a < b ? b : a; }\n";

ug_status_t ck_err(kemit_t *e, const ug_kir_op_data_t *o, const char *what) {
  return ug_node_error(e->k->g, e->k->n, UG_ERR_UNSUPPORTED, "kernel-IR op %s: %s on cuda",
                       o->op == UG_KIR_EW ? ug_op_info(o->ew)->name : ug_kir_op_info(o->op)->name, what);
}

/* Tiles in the accumulator layout: 2-D tiles whose dims are the mma
 * result's or 1 (a broadcast row or column, replicated in every slot). */
static bool acc_tile(const kemit_t *e, const ug_kir_type_t *t) {
  return e->bm && t->kind == UG_KT_TILE && t->t.rank == 2 && (t->t.dims[0] == e->bm || t->t.dims[0] == 1) &&
         (t->t.dims[1] == e->bn || t->t.dims[1] == 1) && t->t.dims[0] * t->t.dims[1] > 1;
}

/* Accumulator-layout values: acc_tile's, unless they have the stage layout. */
static bool acc_val(const kemit_t *e, ug_kir_value_id_t v) {
  return !ck_stage_val(e, v) && acc_tile(e, ug_kir_value_type(e->kk, v));
}

/* The row and column (C expressions) of slot q (an expression) in the
 * stage layout; rounds share their columns when a round is whole rows. */
static void stage_rc(const kemit_t *e, const ck_stage_t *sg, const char *q, char *row, size_t rs, char *col, size_t cs) {
  long long W = sg->W, T = e->threads, C = sg->C;
  if ((T * W) % C == 0) {
    snprintf(col, cs, "((int)(ug_tid * %lldu + (%s) %% %lld) %% %lld)", W, q, W, C);
    snprintf(row, rs, "((%s) / %lld * %lld + (int)(ug_tid * %lldu / %lldu))", q, W, T * W / C, W, C);
  } else {
    snprintf(col, cs, "((int)((((%s) / %lld) * %lld + ug_tid) * %lld + (%s) %% %lld) %% %lld)", q, W, T, W, q, W, C);
    snprintf(row, rs, "((int)((((%s) / %lld) * %lld + ug_tid) * %lld + (%s) %% %lld) / %lld)", q, W, T, W, q, W, C);
  }
}

static int64_t per_thread(kemit_t *e, int64_t S) {
  if (S % (e->threads * e->W) == 0) return S / e->threads;
  if (S <= (int64_t)e->threads) return 1;
  return (S + e->threads - 1) / e->threads;
}

/* Register slots a thread holds of tile value v. */
static int64_t slots(kemit_t *e, ug_kir_value_id_t v) {
  if (ck_stage_val(e, v)) return ck_stage_of(e, v)->P;
  const ug_kir_type_t *t = ug_kir_value_type(e->kk, v);
  return acc_tile(e, t) ? ACC_SLOTS : per_thread(e, ck_tile_size(t));
}

/* Rounds of chunks (the chunked layout), or 0 for contiguous runs. */
static int64_t rounds(kemit_t *e, int64_t S) {
  return S % (e->threads * e->W) == 0 ? S / (e->threads * e->W) : 0;
}

/* An index operand as a C expression. */
const char *ck_index_expr(kemit_t *e, const ug_kir_operand_t *a, char *buf, size_t size) {
  if (a->value == UG_NONE) return ug_cuda_dimstr(a->imm, buf, size);
  snprintf(buf, size, "v%u", a->value);
  return buf;
}

static bool is_index(kemit_t *e, ug_kir_value_id_t v) { return ug_kir_value_type(e->kk, v)->kind == UG_KT_INDEX; }

static ug_status_t emit_index_ew(kemit_t *e, const ug_kir_op_data_t *o) {
  char a[128], b[128];
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  if (o->num_operands != 2) return ck_err(e, o, "index arity");
  ck_index_expr(e, ug_kir_operand(e->kk, o, 0), a, sizeof a);
  ck_index_expr(e, ug_kir_operand(e->kk, o, 1), b, sizeof b);
  /* a divisor that is a positive constant (an immediate, or a static dim) */
  const ug_kir_operand_t *d = ug_kir_operand(e->kk, o, 1);
  bool pos = d->value == UG_NONE && UG_DIM_IS_STATIC(d->imm) && d->imm > 0;
  const char *fmt;
  switch (o->ew) {
  case UG_OP_ADD: fmt = "(%s) + (%s)"; break;
  case UG_OP_SUB: fmt = "(%s) - (%s)"; break;
  case UG_OP_MUL: fmt = "(%s) * (%s)"; break;
  case UG_OP_DIV: fmt = pos ? "ug_kdivp(%s, %s)" : "ug_kdiv(%s, %s)"; break;
  case UG_OP_MOD: fmt = pos ? "ug_kmodp(%s, %s)" : "ug_kmod(%s, %s)"; break;
  case UG_OP_MIN: fmt = "ug_kmin(%s, %s)"; break;
  case UG_OP_MAX: fmt = "ug_kmax(%s, %s)"; break;
  case UG_OP_EQUAL: fmt = "(%s) == (%s)"; break;
  case UG_OP_LESS: fmt = "(%s) < (%s)"; break;
  case UG_OP_LESS_EQUAL: fmt = "(%s) <= (%s)"; break;
  case UG_OP_GREATER: fmt = "(%s) > (%s)"; break;
  case UG_OP_GREATER_EQUAL: fmt = "(%s) >= (%s)"; break;
  default: return ck_err(e, o, "index op");
  }
  fprintf(e->f, "  const %s v%u = ", is_index(e, r) ? "int64_t" : "bool", r);
  fprintf(e->f, fmt, a, b);
  fprintf(e->f, ";\n");
  return NULL;
}

/* Whether index operand a is a multiple of m: an immediate one, or a value
 * made by `mul x, k` with k an immediate multiple of m. */
static bool multiple_of(kemit_t *e, const ug_kir_operand_t *a, int64_t m) {
  if (a->value == UG_NONE) return UG_DIM_IS_STATIC(a->imm) && a->imm % m == 0;
  const ug_kir_value_t *v = &e->kk->values.items[a->value];
  if (v->def_kind != UG_KV_RESULT) return false;
  const ug_kir_op_data_t *d = ug_kir_op(e->kk, v->def);
  if (d->op != UG_KIR_EW || d->ew != UG_OP_MUL || d->num_operands != 2) return false;
  for (uint32_t i = 0; i < 2; i++) {
    const ug_kir_operand_t *x = ug_kir_operand(e->kk, d, i);
    if (x->value == UG_NONE && UG_DIM_IS_STATIC(x->imm) && x->imm % m == 0) return true;
  }
  return false;
}

/* Whether a tile of S elements at o's access is inside the buffer along its
 * last axis whatever the program: a static extent D, and the tile's origin
 * 0 with S <= D or a multiple of S with D a multiple of S. */
static bool last_axis_inside(kemit_t *e, const ug_kir_op_data_t *o, int64_t S) {
  const ug_kir_operand_t *acc = ug_kir_operand(e->kk, o, 0);
  const ug_type_t *t = &ug_kir_value_type(e->kk, acc->value)->t;
  ug_dim_t D = t->dims[t->rank - 1];
  if (!UG_DIM_IS_STATIC(D)) return false;
  const ug_kir_operand_t *last = ug_kir_index(e->kk, acc, (uint32_t)t->rank - 1);
  if (last->value == UG_NONE && last->imm == 0) return S <= D;
  return D % S == 0 && multiple_of(e, last, S);
}

/* The global access of o's operand 0: base offset and the limit of the last axis. */
static ug_status_t access(kemit_t *e, const ug_kir_op_data_t *o, uint32_t *out_buf) {
  const ug_kir_operand_t *acc = ug_kir_operand(e->kk, o, 0);
  const ug_kir_type_t *bt = ug_kir_value_type(e->kk, acc->value);
  if (bt->kind != UG_KT_GLOBAL) return ck_err(e, o, "shared memory");
  const ug_type_t *t = &bt->t;
  int r = t->rank;
  if ((int)acc->nidx != r || r == 0) return ck_err(e, o, "access rank");
  const ug_kir_value_t *pv = &e->kk->values.items[acc->value];
  *out_buf = pv->index;
  char ix[128], d[64], st[UG_CUDA_PROD];
  fprintf(e->f, "    int64_t base = 0;\n    bool inb = true;\n");
  for (int j = 0; j < r; j++) {
    ck_index_expr(e, ug_kir_index(e->kk, acc, (uint32_t)j), ix, sizeof ix);
    ug_cuda_prodstr(t, j + 1, r, st, sizeof st);
    fprintf(e->f, "    base += (int64_t)(%s) * %s;\n", ix, st);
    if (j < r - 1) fprintf(e->f, "    inb = inb && (%s) >= 0 && (%s) < %s;\n", ix, ix, ug_cuda_dimstr(t->dims[j], d, sizeof d));
  }
  ck_index_expr(e, ug_kir_index(e->kk, acc, (uint32_t)r - 1), ix, sizeof ix);
  /* elements c of the tile with 0 <= last + c < d_last exist */
  fprintf(e->f, "    const int64_t lo = -(int64_t)(%s), lim = %s - (int64_t)(%s);\n", ix,
          ug_cuda_dimstr(t->dims[r - 1], d, sizeof d), ix);
  return NULL;
}

void ck_other_expr(const ug_kir_attr_t *a, const char *ct, char *buf, size_t size) {
  double v = a ? a->f : 0.0;
  if (isinf(v)) snprintf(buf, size, "(%s)(%s__int_as_float(0x7f800000))", ct, v < 0 ? "-" : "");
  else if (isnan(v)) snprintf(buf, size, "(%s)__int_as_float(0x7fc00000)", ct);
  else snprintf(buf, size, "(%s)(%.17g)", ct, v);
}

/* A mask of the whole tile (a bool[] scalar) joins the access's row
 * condition; element masks are not emitted yet. */
static ug_status_t whole_mask(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i) {
  if (o->num_operands <= i) return NULL;
  ug_kir_value_id_t m = ug_kir_operand(e->kk, o, i)->value;
  if (ug_kir_value_type(e->kk, m)->t.rank != 0) return ck_err(e, o, "element mask");
  fprintf(e->f, "    inb = inb && v%u;\n", m);
  return NULL;
}


static ug_status_t emit_load(kemit_t *e, const ug_kir_op_data_t *o) {
  if (ck_stage_val(e, ug_kir_result(e->kk, o, 0))) return ck_err(e, o, "a load of a tile stored into shared memory");
  if (acc_val(e, ug_kir_result(e->kk, o, 0))) return ck_acc_load(e, o);
  if (o->num_operands > 1 && ug_kir_value_type(e->kk, ug_kir_operand(e->kk, o, 1)->value)->t.rank != 0)
    return ck_err(e, o, "masked load");
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  if (rt->t.rank > 1 && ck_tile_size(rt) != 1) return ck_err(e, o, "tile rank");
  ug_dtype_t dt = rt->t.dtype;
  const char *ct = ug_cuda_ctype(dt), *sty = ug_cuda_stype(dt);
  int64_t S = ck_tile_size(rt), P = per_thread(e, S);
  char other[96], ld[256], src[96];
  ck_other_expr(ug_kir_op_attr(e->kk, o, UG_KATTR_OTHER), ct, other, sizeof other);
  uint32_t buf;
  if (S == 1) {
    fprintf(e->f, "  %s v%u;\n  {\n", ct, r);
    UG_RETURN_IF_ERROR(access(e, o, &buf));
    UG_RETURN_IF_ERROR(whole_mask(e, o, 1));
    snprintf(src, sizeof src, "a%u[base]", buf);
    ug_cuda_load_expr(dt, src, ld, sizeof ld);
    fprintf(e->f, "    v%u = inb && lo <= 0 && 0 < lim ? %s : %s;\n  }\n", r, ld, other);
    return NULL;
  }
  fprintf(e->f, "  %s v%u[%lld];\n  {\n", ct, r, (long long)P);
  UG_RETURN_IF_ERROR(access(e, o, &buf));
  UG_RETURN_IF_ERROR(whole_mask(e, o, 1));
  int64_t U = rounds(e, S), W = e->W, vb = W * (ug_dtype_bits(dt) / 8);
  /* a chunk of one element is a plain load or store, without a branch
   * between a vector and a scalar form (reduce_ch: 56 us with it, 20 us
   * without; bench/RESULTS.md) */
  bool vok = W > 1 && (vb == 2 || vb == 4 || vb == 8 || vb == 16);
  if (U > 0 && vok && last_axis_inside(e, o, S)) {
    /* every chunk is inside along the last axis: one alignment test for the
     * whole tile (chunk offsets are multiples of the vector) */
    fprintf(e->f, "    const bool vec = inb && ((unsigned long long)(a%u + base)) %% %lld == 0;\n", buf, (long long)vb);
    fprintf(e->f, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)U);
    fprintf(e->f, "      const int64_t e0 = ((int64_t)j * %u + ug_tid) * %lld;\n", e->threads, (long long)W);
    ug_cuda_load_expr(dt, "w.e[c]", ld, sizeof ld);
    fprintf(e->f, "      if (vec) {\n        const ug_vec<%s, %lld> w = *reinterpret_cast<const ug_vec<%s, %lld> *>(a%u + base + e0);\n",
            sty, (long long)W, sty, (long long)W, buf);
    fprintf(e->f, "#pragma unroll\n        for (int c = 0; c < %lld; c++) v%u[j * %lld + c] = %s;\n      } else\n", (long long)W, r,
            (long long)W, ld);
    snprintf(src, sizeof src, "a%u[base + e0 + c]", buf);
    ug_cuda_load_expr(dt, src, ld, sizeof ld);
    fprintf(e->f, "#pragma unroll\n      for (int c = 0; c < %lld; c++) v%u[j * %lld + c] = inb ? %s : %s;\n    }\n  }\n",
            (long long)W, r, (long long)W, ld, other);
    return NULL;
  }
  if (U > 0) {
    fprintf(e->f, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)U);
    fprintf(e->f, "      const int64_t e0 = ((int64_t)j * %u + ug_tid) * %lld;\n", e->threads, (long long)W);
    if (vok) {
      snprintf(src, sizeof src, "w.e[c]");
      ug_cuda_load_expr(dt, src, ld, sizeof ld);
      fprintf(e->f, "      if (inb && e0 >= lo && e0 + %lld <= lim && ((unsigned long long)(a%u + base + e0)) %% %lld == 0) {\n", (long long)W,
              buf, (long long)vb);
      fprintf(e->f, "        const ug_vec<%s, %lld> w = *reinterpret_cast<const ug_vec<%s, %lld> *>(a%u + base + e0);\n", sty,
              (long long)W, sty, (long long)W, buf);
      fprintf(e->f, "#pragma unroll\n        for (int c = 0; c < %lld; c++) v%u[j * %lld + c] = %s;\n      } else\n", (long long)W, r,
              (long long)W, ld);
    }
    snprintf(src, sizeof src, "a%u[base + e0 + c]", buf);
    ug_cuda_load_expr(dt, src, ld, sizeof ld);
    fprintf(e->f, "#pragma unroll\n      for (int c = 0; c < %lld; c++)\n", (long long)W);
    fprintf(e->f, "        v%u[j * %lld + c] = inb && e0 + c >= lo && e0 + c < lim ? %s : %s;\n    }\n  }\n", r, (long long)W, ld, other);
    return NULL;
  }
  fprintf(e->f, "    const int64_t e0 = (int64_t)ug_tid * %lld;\n", (long long)P);
  snprintf(src, sizeof src, "a%u[base + e0 + c]", buf);
  ug_cuda_load_expr(dt, src, ld, sizeof ld);
  fprintf(e->f, "#pragma unroll\n    for (int c = 0; c < %lld; c++)\n", (long long)P);
  fprintf(e->f, "      v%u[c] = inb && e0 + c >= lo && e0 + c < lim && e0 + c < %lld ? %s : %s;\n  }\n", r, (long long)S, ld,
          other);
  return NULL;
}

static ug_status_t emit_store(kemit_t *e, const ug_kir_op_data_t *o) {
  if (ck_stage_val(e, ug_kir_operand(e->kk, o, 1)->value)) return ck_stage_store(e, o);
  if (acc_val(e, ug_kir_operand(e->kk, o, 1)->value)) return ck_acc_store(e, o);
  if (o->num_operands > 2 && ug_kir_value_type(e->kk, ug_kir_operand(e->kk, o, 2)->value)->t.rank != 0)
    return ck_err(e, o, "masked store");
  ug_kir_value_id_t v = ug_kir_operand(e->kk, o, 1)->value;
  const ug_kir_type_t *vt = ug_kir_value_type(e->kk, v);
  if (vt->kind != UG_KT_TILE || vt->t.rank > 1) return ck_err(e, o, "tile rank");
  ug_dtype_t dt = vt->t.dtype;
  const char *sty = ug_cuda_stype(dt);
  int64_t S = ck_tile_size(vt), P = per_thread(e, S);
  char st[256], src[64];
  uint32_t buf;
  fprintf(e->f, "  {\n");
  UG_RETURN_IF_ERROR(access(e, o, &buf));
  UG_RETURN_IF_ERROR(whole_mask(e, o, 2));
  if (S == 1) {
    snprintf(src, sizeof src, "v%u", v);
    ug_cuda_store_expr(dt, src, st, sizeof st);
    fprintf(e->f, "    if (ug_tid == 0 && inb && lo <= 0 && 0 < lim) a%u[base] = %s;\n  }\n", buf, st);
    return NULL;
  }
  int64_t U = rounds(e, S), W = e->W, vb = W * (ug_dtype_bits(dt) / 8);
  /* a chunk of one element is a plain load or store, without a branch
   * between a vector and a scalar form (reduce_ch: 56 us with it, 20 us
   * without; bench/RESULTS.md) */
  bool vok = W > 1 && (vb == 2 || vb == 4 || vb == 8 || vb == 16);
  if (U > 0 && vok && last_axis_inside(e, o, S)) {
    fprintf(e->f, "    const bool vec = ((unsigned long long)(a%u + base)) %% %lld == 0;\n", buf, (long long)vb);
    fprintf(e->f, "    if (inb)\n#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)U);
    fprintf(e->f, "      const int64_t e0 = ((int64_t)j * %u + ug_tid) * %lld;\n", e->threads, (long long)W);
    snprintf(src, sizeof src, "v%u[j * %lld + c]", v, (long long)W);
    ug_cuda_store_expr(dt, src, st, sizeof st);
    fprintf(e->f, "      if (vec) {\n        ug_vec<%s, %lld> w;\n#pragma unroll\n        for (int c = 0; c < %lld; c++) w.e[c] = %s;\n", sty,
            (long long)W, (long long)W, st);
    fprintf(e->f, "        *reinterpret_cast<ug_vec<%s, %lld> *>(a%u + base + e0) = w;\n      } else\n", sty, (long long)W, buf);
    fprintf(e->f, "#pragma unroll\n      for (int c = 0; c < %lld; c++) a%u[base + e0 + c] = %s;\n    }\n  }\n", (long long)W, buf, st);
    return NULL;
  }
  if (U > 0) {
    fprintf(e->f, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)U);
    fprintf(e->f, "      const int64_t e0 = ((int64_t)j * %u + ug_tid) * %lld;\n", e->threads, (long long)W);
    if (vok) {
      snprintf(src, sizeof src, "v%u[j * %lld + c]", v, (long long)W);
      ug_cuda_store_expr(dt, src, st, sizeof st);
      fprintf(e->f, "      if (inb && e0 >= lo && e0 + %lld <= lim && ((unsigned long long)(a%u + base + e0)) %% %lld == 0) {\n", (long long)W,
              buf, (long long)vb);
      fprintf(e->f, "        ug_vec<%s, %lld> w;\n#pragma unroll\n        for (int c = 0; c < %lld; c++) w.e[c] = %s;\n", sty,
              (long long)W, (long long)W, st);
      fprintf(e->f, "        *reinterpret_cast<ug_vec<%s, %lld> *>(a%u + base + e0) = w;\n      } else\n", sty, (long long)W, buf);
    }
    snprintf(src, sizeof src, "v%u[j * %lld + c]", v, (long long)W);
    ug_cuda_store_expr(dt, src, st, sizeof st);
    fprintf(e->f, "#pragma unroll\n      for (int c = 0; c < %lld; c++)\n", (long long)W);
    fprintf(e->f, "        if (inb && e0 + c >= lo && e0 + c < lim) a%u[base + e0 + c] = %s;\n    }\n  }\n", buf, st);
    return NULL;
  }
  fprintf(e->f, "    const int64_t e0 = (int64_t)ug_tid * %lld;\n", (long long)P);
  snprintf(src, sizeof src, "v%u[c]", v);
  ug_cuda_store_expr(dt, src, st, sizeof st);
  fprintf(e->f, "#pragma unroll\n    for (int c = 0; c < %lld; c++)\n", (long long)P);
  fprintf(e->f, "      if (inb && e0 + c >= lo && e0 + c < lim && e0 + c < %lld) a%u[base + e0 + c] = %s;\n  }\n",
          (long long)S, buf, st);
  return NULL;
}

/* gather %buf, %offsets, %mask?: per register slot, the element at the
 * slot's offset, `other` where the mask is false or the offset is outside
 * the buffer (one unsigned compare against its element count).  Offsets
 * and mask have the tile's layout (same size), or are one scalar; or, for
 * a tile of the stage layout, are per run (runs_gather). */
static ug_status_t runs_gather(kemit_t *e, const ug_kir_op_data_t *o);
static ug_status_t emit_gather(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  if (rt->t.rank > 1 && !ck_stage_val(e, r)) return ck_err(e, o, "tile rank");
  ug_kir_value_id_t buf = ug_kir_operand(e->kk, o, 0)->value, off = ug_kir_operand(e->kk, o, 1)->value;
  ug_kir_value_id_t mask = o->num_operands > 2 ? ug_kir_operand(e->kk, o, 2)->value : UG_NONE;
  const ug_kir_type_t *bt = ug_kir_value_type(e->kk, buf);
  if (bt->kind != UG_KT_GLOBAL) return ck_err(e, o, "not a global buffer");
  const ug_kir_type_t *ot = ug_kir_value_type(e->kk, off);
  if (ot->t.rank == rt->t.rank && rt->t.rank >= 1 && ot->t.dims[rt->t.rank - 1] == 1 && rt->t.dims[rt->t.rank - 1] != 1)
    return runs_gather(e, o);
  ug_dtype_t dt = rt->t.dtype;
  const char *ct = ug_cuda_ctype(dt);
  int64_t S = ck_tile_size(rt), P = slots(e, r);
  char other[96], ld[256], src[96], n[UG_CUDA_PROD];
  ck_other_expr(ug_kir_op_attr(e->kk, o, UG_KATTR_OTHER), ct, other, sizeof other);
  ug_cuda_prodstr(&bt->t, 0, bt->t.rank, n, sizeof n);
  uint32_t a = e->kk->values.items[buf].index;
  bool os = ck_tile_size(ug_kir_value_type(e->kk, off)) == 1;
  bool ms = mask == UG_NONE || ck_tile_size(ug_kir_value_type(e->kk, mask)) == 1;
  char mexpr[64];
  if (mask == UG_NONE) snprintf(mexpr, sizeof mexpr, "true");
  else snprintf(mexpr, sizeof mexpr, "v%u%s", mask, ms ? "" : "[q]");
  snprintf(src, sizeof src, "a%u[o]", a);
  ug_cuda_load_expr(dt, src, ld, sizeof ld);
  if (ck_stage_raw(e, r)) { /* the element's bits, for a 16-byte shared store */
    ct = ug_cuda_stype(dt);
    snprintf(ld, sizeof ld, "a%u[o]", a);
    char of[96];
    snprintf(of, sizeof of, "%s", other);
    ug_cuda_store_expr(dt, of, other, sizeof other);
  }
  if (S == 1) {
    fprintf(e->f, "  %s v%u;\n  {\n    const int64_t o = (int64_t)v%u;\n", ct, r, off);
    fprintf(e->f, "    v%u = (%s) && (uint64_t)o < (uint64_t)(%s) ? %s : %s;\n  }\n", r, mexpr, n, ld, other);
    return NULL;
  }
  fprintf(e->f, "  %s v%u[%lld];\n  {\n    const uint64_t n = (uint64_t)(%s);\n", ct, r, (long long)P, n);
  fprintf(e->f, "#pragma unroll\n    for (int q = 0; q < %lld; q++) {\n", (long long)P);
  fprintf(e->f, "      const int64_t o = (int64_t)v%u%s;\n", off, os ? "" : "[q]");
  fprintf(e->f, "      v%u[q] = (%s) && (uint64_t)o < n ? %s : %s;\n    }\n  }\n", r, mexpr, ld, other);
  return NULL;
}

/* A gather of runs into a tile of the stage layout: a thread's chunk of W
 * slots lies in one row, so it is one run's W consecutive elements from
 * the row's offset plus the chunk's first column; a 16-byte load where the
 * run's mask holds, the chunk is inside the buffer and aligned, else
 * element by element as a plain gather. */
static ug_status_t runs_gather(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0), buf = ug_kir_operand(e->kk, o, 0)->value, off = ug_kir_operand(e->kk, o, 1)->value;
  ug_kir_value_id_t mask = o->num_operands > 2 ? ug_kir_operand(e->kk, o, 2)->value : UG_NONE;
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r), *bt = ug_kir_value_type(e->kk, buf);
  if (!ck_stage_val(e, r) || rt->t.rank != 2) return ck_err(e, o, "a gather of runs outside a shared stage's fill");
  const ck_stage_t *sg = ck_stage_of(e, r);
  ug_dtype_t dt = rt->t.dtype;
  bool raw = ck_stage_raw(e, r);
  const char *ct = raw ? ug_cuda_stype(dt) : ug_cuda_ctype(dt), *sty = ug_cuda_stype(dt);
  long long W = sg->W, P = sg->P;
  char other[96], ld[256], ldv[256], src[96], n[UG_CUDA_PROD], row[256], col[256];
  ck_other_expr(ug_kir_op_attr(e->kk, o, UG_KATTR_OTHER), ug_cuda_ctype(dt), other, sizeof other);
  if (raw) {
    char of[96];
    snprintf(of, sizeof of, "%s", other);
    ug_cuda_store_expr(dt, of, other, sizeof other);
  }
  ug_cuda_prodstr(&bt->t, 0, bt->t.rank, n, sizeof n);
  uint32_t a = e->kk->values.items[buf].index;
  snprintf(src, sizeof src, "a%u[o]", a);
  if (raw) snprintf(ld, sizeof ld, "%s", src);
  else ug_cuda_load_expr(dt, src, ld, sizeof ld);
  if (raw) snprintf(ldv, sizeof ldv, "w.e[h]");
  else ug_cuda_load_expr(dt, "w.e[h]", ldv, sizeof ldv);
  stage_rc(e, sg, "q", row, sizeof row, col, sizeof col);
  /* the vector path needs the run's mask bit, the same for the chunk */
  bool mrun = mask == UG_NONE || ck_tile_size(ug_kir_value_type(e->kk, mask)) == 1 ||
              ug_kir_value_type(e->kk, mask)->t.dims[1] == 1;
  char m[64];
  if (mask == UG_NONE) snprintf(m, sizeof m, "true");
  else snprintf(m, sizeof m, "v%u%s", mask, ck_tile_size(ug_kir_value_type(e->kk, mask)) == 1 ? "" : "[q]");
  fprintf(e->f, "  %s v%u[%lld];\n  {\n    const uint64_t n = (uint64_t)(%s);\n", ct, r, P, n);
  fprintf(e->f, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", P / W);
  fprintf(e->f, "      int q = j * %lld;\n", W);
  fprintf(e->f, "      const int64_t o0 = (int64_t)v%u[q] + %s;\n", off, col);
  fprintf(e->f, "      if ((%s) && o0 >= 0 && (uint64_t)o0 + %lld <= n && ((unsigned long long)(a%u + o0) & 15) == 0) {\n",
          mrun ? m : "false", W, a);
  fprintf(e->f, "        const ug_vec<%s, %lld> w = *reinterpret_cast<const ug_vec<%s, %lld> *>(a%u + o0);\n", sty, W, sty, W, a);
  fprintf(e->f, "#pragma unroll\n        for (int h = 0; h < %lld; h++) v%u[q + h] = %s;\n        continue;\n      }\n", W, r, ldv);
  fprintf(e->f, "#pragma unroll\n      for (int h = 0; h < %lld; h++, q++) {\n", W);
  fprintf(e->f, "        const int64_t o = (int64_t)v%u[q] + %s;\n", off, col);
  fprintf(e->f, "        v%u[q] = (%s) && (uint64_t)o < n ? %s : %s;\n      }\n    }\n  }\n", r, m, ld, other);
  return NULL;
}

/* cast %i {to=T} : T[]: an index (or dim) as a scalar tile. */
static ug_status_t emit_index_cast(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  if (o->ew != UG_OP_CAST || o->num_operands != 1 || ck_tile_size(rt) != 1) return ck_err(e, o, "index operand");
  char a[128], x[160], rd[256];
  ck_index_expr(e, ug_kir_operand(e->kk, o, 0), a, sizeof a);
  snprintf(x, sizeof x, "(%s)(%s)", ug_cuda_ctype(rt->t.dtype), a);
  ug_cuda_round_expr(rt->t.dtype, x, rd, sizeof rd);
  fprintf(e->f, "  const %s v%u = %s;\n", ug_cuda_ctype(rt->t.dtype), r, rd);
  return NULL;
}

static ug_status_t emit_broadcast(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0), x = ug_kir_operand(e->kk, o, 0)->value;
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  if ((acc_val(e, r) && acc_val(e, x)) || (ck_stage_val(e, r) && ck_stage_val(e, x))) {
    /* a broadcast row or column holds its values in every slot already */
    int64_t P = slots(e, r);
    fprintf(e->f, "  %s v%u[%lld];\n#pragma unroll\n  for (int c = 0; c < %lld; c++) v%u[c] = v%u[c];\n",
            ug_cuda_ctype(rt->t.dtype), r, (long long)P, (long long)P, r, x);
    return NULL;
  }
  if ((rt->t.rank > 1 && !acc_val(e, r) && !ck_stage_val(e, r) && ck_tile_size(rt) != 1) || ck_tile_size(ug_kir_value_type(e->kk, x)) != 1)
    return ck_err(e, o, "tile shape");
  if (ck_tile_size(rt) == 1) { /* a scalar given a shape of ones: still one value every thread holds */
    fprintf(e->f, "  const %s v%u = v%u;\n", ug_cuda_ctype(rt->t.dtype), r, x);
    return NULL;
  }
  int64_t P = slots(e, r);
  fprintf(e->f, "  %s v%u[%lld];\n#pragma unroll\n  for (int c = 0; c < %lld; c++) v%u[c] = v%u;\n",
          ug_cuda_ctype(rt->t.dtype), r, (long long)P, (long long)P, r, x);
  return NULL;
}

/* Elementwise math on tiles: the scalar semantics are ug_cuda_ew_expr's,
 * with the op's own graph attributes. */
static ug_status_t emit_tile_ew(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  if (rt->t.rank > 1 && !acc_val(e, r) && !ck_stage_val(e, r) && ck_tile_size(rt) != 1) return ck_err(e, o, "tile rank");
  int64_t S = ck_tile_size(rt), P = slots(e, r);
  char names[3][8];
  const char *in[3] = {NULL, NULL, NULL};
  ug_dtype_t dts[3];
  bool scalar = S == 1;
  if (scalar) fprintf(e->f, "  %s v%u;\n  {\n", ug_cuda_ctype(rt->t.dtype), r);
  else fprintf(e->f, "  %s v%u[%lld];\n#pragma unroll\n  for (int c = 0; c < %lld; c++) {\n", ug_cuda_ctype(rt->t.dtype), r,
               (long long)P, (long long)P);
  for (uint32_t i = 0; i < o->num_operands && i < 3; i++) {
    ug_kir_value_id_t v = ug_kir_operand(e->kk, o, i)->value;
    const ug_kir_type_t *t = ug_kir_value_type(e->kk, v);
    if (t->kind != UG_KT_TILE) return ck_err(e, o, "index operand");
    dts[i] = t->t.dtype;
    snprintf(names[i], sizeof names[i], "x%u", i);
    in[i] = names[i];
    fprintf(e->f, "    const %s x%u = v%u%s;\n", ug_cuda_ctype(dts[i]), i, v, ck_tile_size(t) == 1 ? "" : "[c]");
  }
  char expr[UG_CUDA_EXPR];
  ug_attr_t attrs[UG_KIR_EW_MAX_ATTRS];
  ug_ew_t ew = ug_kir_ew_desc(e->kk, o, attrs, UG_KIR_EW_MAX_ATTRS);
  UG_RETURN_IF_ERROR(ug_cuda_ew_expr(&ew, in, dts, rt->t.dtype, expr, sizeof expr));
  char rounded[UG_CUDA_EXPR];
  ug_cuda_round_expr(rt->t.dtype, expr, rounded, sizeof rounded);
  fprintf(e->f, "    v%u%s = %s;\n  }\n", r, scalar ? "" : "[c]", rounded);
  return NULL;
}

/* The element index of register slot `q` (a C expression) of a tile of S elements. */
static void slot_elem(kemit_t *e, int64_t S, const char *q, char *buf, size_t size) {
  int64_t P = per_thread(e, S);
  if (S == 1) snprintf(buf, size, "0");
  else if (rounds(e, S) > 0)
    snprintf(buf, size, "(((int64_t)(%s) / %lld * %u + ug_tid) * %lld + (%s) %% %lld)", q, (long long)e->W,
             e->threads, (long long)e->W, q, (long long)e->W);
  else snprintf(buf, size, "((int64_t)ug_tid * %lld + (%s))", (long long)P, q);
}

/* A tile filled per slot with `expr` (which may use q and elem). */
static void fill_tile(kemit_t *e, ug_kir_value_id_t r, const char *expr) {
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  bool acc = acc_val(e, r) || ck_stage_val(e, r); /* elem: not used there */
  int64_t S = ck_tile_size(rt), P = slots(e, r);
  const char *ct = ug_cuda_ctype(rt->t.dtype);
  char el[160];
  if (acc) snprintf(el, sizeof el, "0");
  else slot_elem(e, S, "q", el, sizeof el);
  if (S == 1) {
    fprintf(e->f, "  %s v%u;\n  { const int q = 0; const int64_t elem = 0; (void)q; (void)elem; v%u = %s; }\n", ct, r, r, expr);
    return;
  }
  fprintf(e->f, "  %s v%u[%lld];\n#pragma unroll\n  for (int q = 0; q < %lld; q++) {\n", ct, r, (long long)P, (long long)P);
  fprintf(e->f, "    const int64_t elem = %s;\n    (void)elem;\n    v%u[q] = %s;\n  }\n", el, r, expr);
}

static ug_status_t emit_splat(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  if (rt->t.rank > 1 && !acc_val(e, r) && !ck_stage_val(e, r) && ck_tile_size(rt) != 1) return ck_err(e, o, "tile rank");
  char v[96], rv[256];
  ck_other_expr(ug_kir_op_attr(e->kk, o, UG_KATTR_VALUE), ug_cuda_ctype(rt->t.dtype), v, sizeof v);
  ug_cuda_round_expr(rt->t.dtype, v, rv, sizeof rv);
  fill_tile(e, r, rv);
  return NULL;
}

static ug_status_t emit_iota(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  char v[320];
  if (ck_stage_val(e, r)) { /* the slot's row or column, 0 along a dim of 1 */
    const ug_kir_attr_t *ax = ug_kir_op_attr(e->kk, o, UG_KATTR_AXIS);
    int a = ax ? (int)ax->i : 0;
    char row[160], col[160];
    stage_rc(e, ck_stage_of(e, r), "q", row, sizeof row, col, sizeof col);
    snprintf(v, sizeof v, "(%s)(%s)", ug_cuda_ctype(rt->t.dtype), rt->t.dims[a] == 1 ? "0" : a == 0 ? row : col);
    fill_tile(e, r, v);
    return NULL;
  }
  if (rt->t.rank > 1) return ck_err(e, o, "tile rank");
  snprintf(v, sizeof v, "(%s)elem", ug_cuda_ctype(rt->t.dtype));
  fill_tile(e, r, v);
  return NULL;
}

/* A block-wide reduction of a one-dimensional tile to one element: each
 * thread combines its slots, then the warp by shuffles, then the warps
 * through shared memory; every thread ends with the result. */
static ug_status_t emit_reduce(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0), x = ug_kir_operand(e->kk, o, 0)->value;
  const ug_kir_type_t *xt = ug_kir_value_type(e->kk, x), *rt = ug_kir_value_type(e->kk, r);
  if (xt->t.rank != 1 || ck_tile_size(rt) != 1) return ck_err(e, o, "tile rank");
  const ug_kir_attr_t *ca = ug_kir_op_attr(e->kk, o, UG_KATTR_COMBINE);
  ug_dtype_t dt = xt->t.dtype;
  const char *ct = ug_cuda_ctype(dt);
  bool fl = ug_dtype_is_float(dt);
  const char *comb, *init;
  char initb[96];
  switch (ca ? ca->op : UG_OP_ADD) {
  case UG_OP_ADD: comb = "(a) + (b)"; init = "0"; break;
  case UG_OP_MUL: comb = "(a) * (b)"; init = "1"; break;
  case UG_OP_MAX:
  case UG_OP_MIN:
    if (!fl) {
      /* i32 / i64 (argmax's indices): the type's extremes as identities */
      if (dt != UG_DTYPE_I32 && dt != UG_DTYPE_I64) return ck_err(e, o, "min/max reduction of this integer type");
      bool mx = ca->op == UG_OP_MAX, wide64 = dt == UG_DTYPE_I64;
      comb = mx ? "(a) > (b) ? (a) : (b)" : "(a) < (b) ? (a) : (b)";
      init = mx ? (wide64 ? "(-9223372036854775807LL - 1)" : "(-2147483647 - 1)")
                : (wide64 ? "9223372036854775807LL" : "2147483647");
      break;
    }
    comb = ca->op == UG_OP_MAX ? "ug_fmax(a, b)" : "ug_fmin(a, b)";
    snprintf(initb, sizeof initb, "%sug_inf((%s)0)", ca->op == UG_OP_MAX ? "-" : "", ct);
    init = initb;
    break;
  default: return ck_err(e, o, "combine");
  }
  if (dt == UG_DTYPE_BOOL) return ck_err(e, o, "bool reduction");
  int64_t S = ck_tile_size(xt), P = per_thread(e, S);
  char el[160];
  slot_elem(e, S, "q", el, sizeof el);
  fprintf(e->f, "  %s v%u;\n  {\n    %s acc = (%s)(%s);\n", ct, r, ct, ct, init);
  fprintf(e->f, "    auto comb = [](%s a, %s b) -> %s { return %s; };\n", ct, ct, ct, comb);
  fprintf(e->f, "#pragma unroll\n    for (int q = 0; q < %lld; q++)\n", (long long)P);
  if (rounds(e, S) > 0) fprintf(e->f, "      acc = comb(acc, v%u[q]);\n", x);
  else fprintf(e->f, "      if (%s < %lld) acc = comb(acc, v%u[q]);\n", el, (long long)S, x);
  fprintf(e->f, "#pragma unroll\n    for (int o = 16; o > 0; o >>= 1) acc = comb(acc, __shfl_xor_sync(0xffffffffu, acc, o));\n");
  if (e->threads > 32) {
    fprintf(e->f, "    __shared__ %s red%u[%u];\n", ct, r, e->threads / 32);
    fprintf(e->f, "    if ((threadIdx.x & 31) == 0) red%u[threadIdx.x >> 5] = acc;\n    __syncthreads();\n", r);
    fprintf(e->f, "    acc = red%u[0];\n#pragma unroll\n    for (int w = 1; w < %u; w++) acc = comb(acc, red%u[w]);\n", r,
            e->threads / 32, r);
  }
  /* the result's dtype: round once (f16, bf16) */
  char ld[200];
  ug_cuda_round_expr(rt->t.dtype, "acc", ld, sizeof ld);
  fprintf(e->f, "    v%u = %s;\n  }\n", r, ld);
  return NULL;
}

/* ---- accumulator-layout runs, streamed per slot pair ----
 * A run of ops on accumulator-layout tiles that loads other tensors
 * (elementwise math, broadcasts, splats, stores: a matmul's epilogue) is
 * written as one loop over the slot pairs in which each tile the run
 * defines is two scalars (v<N>_0, v<N>_1), so the epilogue never holds
 * more than the accumulator and a few values a thread: whole-tile
 * temporaries of 64 registers each spilled under the 128-register cap of a
 * contraction, and the bias + relu + residual GEMM of the benchmark
 * (gemm_epi) ran 1.09x slower.  A run without loads (the plain matmul's
 * cast and store) is written op by op: streamed, the 1024x768x3072 GEMM
 * took 41-43 us instead of 32-34 (bench/RESULTS.md). */
static bool slot_op(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_kernel_t *kk = e->kk;
  switch (o->op) {
  case UG_KIR_LOAD:
    return o->num_operands == 1 && ug_kir_value_type(kk, ug_kir_operand(kk, o, 0)->value)->kind == UG_KT_GLOBAL &&
           acc_val(e, ug_kir_result(kk, o, 0));
  case UG_KIR_STORE:
    return o->num_operands == 2 && ug_kir_value_type(kk, ug_kir_operand(kk, o, 0)->value)->kind == UG_KT_GLOBAL &&
           acc_val(e, ug_kir_operand(kk, o, 1)->value);
  case UG_KIR_BROADCAST: {
    ug_kir_value_id_t x = ug_kir_operand(kk, o, 0)->value;
    return acc_val(e, ug_kir_result(kk, o, 0)) && (acc_val(e, x) || ck_tile_size(ug_kir_value_type(kk, x)) == 1);
  }
  case UG_KIR_SPLAT: return acc_val(e, ug_kir_result(kk, o, 0));
  case UG_KIR_EW: {
    if (!acc_val(e, ug_kir_result(kk, o, 0))) return false;
    for (uint32_t j = 0; j < o->num_operands; j++) {
      const ug_kir_operand_t *a = ug_kir_operand(kk, o, j);
      if (a->value == UG_NONE) return false;
      const ug_kir_type_t *t = ug_kir_value_type(kk, a->value);
      if (t->kind != UG_KT_TILE || (!acc_val(e, a->value) && ck_tile_size(t) != 1)) return false;
    }
    return true;
  }
  default: return false;
  }
}

/* Operand v of a streamed op, slot half h: a scalar of the run, a tile
 * defined before it (its slot), or a one-element value. */
static void slot_ref(kemit_t *e, const bool *in_run, ug_kir_value_id_t v, int h, char *buf, size_t size) {
  if (in_run[v]) snprintf(buf, size, "v%u_%d", v, h);
  else if (ck_tile_size(ug_kir_value_type(e->kk, v)) == 1) snprintf(buf, size, "v%u", v);
  else snprintf(buf, size, "v%u[q + %d]", v, h);
}

/* Whether a tile defined by ops [first, end) of reg is used after them. */
static bool used_after(kemit_t *e, const ug_kir_region_t *reg, size_t first, size_t end) {
  ug_kir_kernel_t *kk = e->kk;
  for (size_t i = first; i < end; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, reg->ops.items[i]);
    if (!o->num_results) continue;
    ug_kir_value_id_t v = ug_kir_result(kk, o, 0);
    for (size_t j = end; j < reg->ops.len; j++) {
      const ug_kir_op_data_t *u = ug_kir_op(kk, reg->ops.items[j]);
      for (uint32_t a = 0; a < u->num_operands; a++)
        if (ug_kir_operand(kk, u, a)->value == v) return true;
      if (u->num_regions) return true; /* a use inside a region: not looked into */
    }
  }
  return false;
}

static ug_status_t emit_slot_run(kemit_t *e, const ug_kir_region_t *reg, size_t first, size_t end) {
  ug_kir_kernel_t *kk = e->kk;
  bool *in_run = calloc(kk->values.len + 1, 1);
  if (!in_run) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  ug_status_t st = NULL;
  fprintf(e->f, "  {\n");
  /* every access's origin and bounds, once */
  for (size_t i = first; i < end && !st; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, reg->ops.items[i]);
    if (o->op != UG_KIR_LOAD && o->op != UG_KIR_STORE) continue;
    char px[24];
    uint32_t buf;
    snprintf(px, sizeof px, "p%zu_", i);
    st = ck_access2d_px(e, o, 0, px, &buf);
    if (st) break;
    const ug_kir_type_t *t = ug_kir_value_type(kk, o->op == UG_KIR_LOAD ? ug_kir_result(kk, o, 0) : ug_kir_operand(kk, o, 1)->value);
    int bytes = ug_dtype_bits(t->t.dtype) / 8;
    fprintf(e->f, "    const bool %spair = %s && ((%sld | %sbase | %sc0) & 1) == 0 && ((unsigned long long)a%u & %d) == 0;\n", px,
            t->t.dims[1] != 1 && (bytes == 2 || bytes == 4) ? "true" : "false", px, px, px, buf, 2 * bytes - 1);
    fprintf(e->f, "    (void)%spair;\n", px);
  }
  fprintf(e->f, "#pragma unroll\n    for (int q = 0; q < %d; q += 2) {\n", ACC_SLOTS);
  fprintf(e->f, "      const int64_t rq = " ACC_ROW("q") ", cq = " ACC_COL("q") ";\n      (void)rq; (void)cq;\n");
  for (size_t i = first; i < end && !st; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, reg->ops.items[i]);
    char px[24], x0[64], x1[64];
    snprintf(px, sizeof px, "p%zu_", i);
    if (o->op == UG_KIR_LOAD || o->op == UG_KIR_STORE) {
      bool load = o->op == UG_KIR_LOAD;
      ug_kir_value_id_t v = load ? ug_kir_result(kk, o, 0) : ug_kir_operand(kk, o, 1)->value;
      const ug_kir_type_t *t = ug_kir_value_type(kk, v);
      ug_dtype_t dt = t->t.dtype;
      const char *ct = ug_cuda_ctype(dt), *sty = ug_cuda_stype(dt);
      uint32_t buf = kk->values.items[ug_kir_operand(kk, o, 0)->value].index;
      char ex[256], ex1[256], src[128];
      const char *rr = t->t.dims[0] == 1 ? "0" : "rq", *cc = t->t.dims[1] == 1 ? "0" : "cq";
      if (load) fprintf(e->f, "      %s v%u_0, v%u_1;\n", ct, v, v);
      fprintf(e->f, "      {\n        const bool rin = %sinb && (uint64_t)(%sr0 + %s) < (uint64_t)%srows;\n", px, px, rr, px);
      fprintf(e->f, "        const int64_t g = %sbase + %s * %sld + %s;\n", px, rr, px, cc);
      fprintf(e->f, "        const bool c0in = (uint64_t)(%sc0 + %s) < (uint64_t)%scols;\n", px, cc, px);
      if (t->t.dims[1] == 1) fprintf(e->f, "        const bool c1in = c0in;\n");
      else fprintf(e->f, "        const bool c1in = (uint64_t)(%sc0 + %s + 1) < (uint64_t)%scols;\n", px, cc, px);
      int next = t->t.dims[1] == 1 ? 0 : 1; /* the second slot's offset from g */
      if (load) {
        char other[96];
        ck_other_expr(ug_kir_op_attr(kk, o, UG_KATTR_OTHER), ct, other, sizeof other);
        fprintf(e->f, "        if (rin && c0in && c1in && %spair) {\n", px);
        fprintf(e->f, "          const ug_vec<%s, 2> w = *reinterpret_cast<const ug_vec<%s, 2> *>(a%u + g);\n", sty, sty, buf);
        ug_cuda_load_expr(dt, "w.e[0]", ex, sizeof ex);
        ug_cuda_load_expr(dt, "w.e[1]", ex1, sizeof ex1);
        fprintf(e->f, "          v%u_0 = %s;\n          v%u_1 = %s;\n        } else {\n", v, ex, v, ex1);
        snprintf(src, sizeof src, "a%u[g]", buf);
        ug_cuda_load_expr(dt, src, ex, sizeof ex);
        snprintf(src, sizeof src, "a%u[g + %d]", buf, next);
        ug_cuda_load_expr(dt, src, ex1, sizeof ex1);
        fprintf(e->f, "          v%u_0 = rin && c0in ? %s : %s;\n          v%u_1 = rin && c1in ? %s : %s;\n        }\n", v, ex,
                other, v, ex1, other);
        fprintf(e->f, "      }\n");
        in_run[v] = true;
      } else {
        slot_ref(e, in_run, v, 0, x0, sizeof x0);
        slot_ref(e, in_run, v, 1, x1, sizeof x1);
        ug_cuda_store_expr(dt, x0, ex, sizeof ex);
        ug_cuda_store_expr(dt, x1, ex1, sizeof ex1);
        fprintf(e->f, "        if (rin) {\n          %s *p = a%u + g;\n", sty, buf);
        if (next) {
          fprintf(e->f, "          if (c0in && c1in && %spair) {\n            ug_vec<%s, 2> w;\n            w.e[0] = %s;\n"
                        "            w.e[1] = %s;\n            *reinterpret_cast<ug_vec<%s, 2> *>(p) = w;\n          } else {\n",
                  px, sty, ex, ex1, sty);
          fprintf(e->f, "            if (c0in) p[0] = %s;\n            if (c1in) p[1] = %s;\n          }\n", ex, ex1);
        } else {
          fprintf(e->f, "          if (c0in) p[0] = %s;\n", ex);
        }
        fprintf(e->f, "        }\n      }\n");
      }
      continue;
    }
    ug_kir_value_id_t r = ug_kir_result(kk, o, 0);
    const ug_kir_type_t *rt = ug_kir_value_type(kk, r);
    const char *ct = ug_cuda_ctype(rt->t.dtype);
    if (o->op == UG_KIR_SPLAT) {
      char v[96], rv[256];
      ck_other_expr(ug_kir_op_attr(kk, o, UG_KATTR_VALUE), ct, v, sizeof v);
      ug_cuda_round_expr(rt->t.dtype, v, rv, sizeof rv);
      fprintf(e->f, "      const %s v%u_0 = %s, v%u_1 = v%u_0;\n", ct, r, rv, r, r);
    } else if (o->op == UG_KIR_BROADCAST) {
      ug_kir_value_id_t x = ug_kir_operand(kk, o, 0)->value;
      slot_ref(e, in_run, x, 0, x0, sizeof x0);
      slot_ref(e, in_run, x, 1, x1, sizeof x1);
      fprintf(e->f, "      const %s v%u_0 = %s, v%u_1 = %s;\n", ct, r, x0, r, x1);
    } else {
      char expr[UG_CUDA_EXPR], rounded[UG_CUDA_EXPR], names[3][72];
      const char *in[3] = {NULL, NULL, NULL};
      ug_dtype_t dts[3];
      ug_attr_t attrs[UG_KIR_EW_MAX_ATTRS];
      ug_ew_t ew = ug_kir_ew_desc(kk, o, attrs, UG_KIR_EW_MAX_ATTRS);
      for (int h = 0; h < 2 && !st; h++) {
        for (uint32_t j = 0; j < o->num_operands && j < 3; j++) {
          ug_kir_value_id_t x = ug_kir_operand(kk, o, j)->value;
          dts[j] = ug_kir_value_type(kk, x)->t.dtype;
          slot_ref(e, in_run, x, h, names[j], sizeof names[j]);
          in[j] = names[j];
        }
        st = ug_cuda_ew_expr(&ew, in, dts, rt->t.dtype, expr, sizeof expr);
        if (st) break;
        ug_cuda_round_expr(rt->t.dtype, expr, rounded, sizeof rounded);
        fprintf(e->f, "      const %s v%u_%d = %s;\n", ct, r, h, rounded);
      }
    }
    in_run[r] = true;
  }
  fprintf(e->f, "    }\n  }\n");
  free(in_run);
  return st;
}

static ug_status_t emit_region(kemit_t *e, ug_kir_region_id_t rid);
static ug_status_t emit_ops(kemit_t *e, ug_kir_region_id_t rid, size_t from, size_t to);
static ug_status_t preamble(kemit_t *e);

static void decl_copy(kemit_t *e, ug_kir_value_id_t dst, ug_kir_value_id_t src, bool declare) {
  const ug_kir_type_t *t = ug_kir_value_type(e->kk, dst);
  const char *ct = t->kind == UG_KT_INDEX ? "int64_t" : ug_cuda_ctype(t->t.dtype);
  if (t->kind == UG_KT_TILE && ck_tile_size(t) > 1) {
    int64_t P = slots(e, dst);
    if (declare) fprintf(e->f, "  %s v%u[%lld];\n", ct, dst, (long long)P);
    fprintf(e->f, "#pragma unroll\n  for (int q = 0; q < %lld; q++) v%u[q] = v%u[q];\n", (long long)P, dst, src);
  } else {
    fprintf(e->f, "  %s%s v%u = v%u;\n", declare ? ct : "", declare ? "" : "", dst, src);
  }
}

/* Whether op o may run again in nan_rerun: index and tile math, reads,
 * stores into shared memory, async copies and their waits, barriers. */
static bool rerun_ok(kemit_t *e, const ug_kir_op_data_t *o) {
  switch (ug_kir_op_info(o->op)->cls) {
  case UG_KIR_CLASS_INDEX:
  case UG_KIR_CLASS_MATH:
  case UG_KIR_CLASS_ASYNC: return true;
  case UG_KIR_CLASS_MEM:
    return o->op == UG_KIR_LOAD || o->op == UG_KIR_GATHER ||
           (o->op == UG_KIR_STORE && ug_kir_value_type(e->kk, ug_kir_operand(e->kk, o, 0)->value)->kind == UG_KT_SHARED);
  default: return o->op == UG_KIR_BARRIER;
  }
}

/* The kernel-body op that op o is, or is nested in. */
static ug_kir_op_id_t top_op(const ug_kir_kernel_t *kk, ug_kir_op_id_t o) {
  while (kk->ops.items[o].parent != kk->body) o = kk->regions.items[kk->ops.items[o].parent].owner;
  return o;
}

/* Whether value v is a param, a shared allocation or defined by (or
 * inside) kernel-body ops [from, to), pos[] giving each body op's
 * position. */
static bool defined_in(const ug_kir_kernel_t *kk, const uint32_t *pos, ug_kir_value_id_t v, size_t from, size_t to) {
  if (v == UG_NONE) return true;
  const ug_kir_value_t *x = &kk->values.items[v];
  if (x->def_kind == UG_KV_PARAM) return true;
  ug_kir_op_id_t o = x->def_kind == UG_KV_RESULT ? x->def : kk->regions.items[x->def].owner;
  if (kk->ops.items[o].op == UG_KIR_ALLOC) return true; /* an offset in the shared memory */
  uint32_t p = pos[top_op(kk, o)];
  return p >= from && p < to;
}

/* Whether kernel-body ops [from, to) read only params and their own
 * values (so they can run in a function of their own). */
static bool self_contained(ug_kir_kernel_t *kk, size_t from, size_t to) {
  const ug_kir_region_t *body = ug_kir_region(kk, kk->body);
  uint32_t *pos = malloc(sizeof *pos * (kk->ops.len + 1));
  if (!pos) return false;
  for (size_t i = 0; i < kk->ops.len; i++) pos[i] = UINT32_MAX;
  for (size_t i = 0; i < body->ops.len; i++) pos[body->ops.items[i]] = (uint32_t)i;
  bool ok = true;
  for (size_t i = 0; i < kk->ops.len && ok; i++) {
    uint32_t p = pos[top_op(kk, (ug_kir_op_id_t)i)];
    if (p < from || p >= to) continue;
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    for (uint32_t j = 0; j < o->num_operands && ok; j++) {
      const ug_kir_operand_t *a = ug_kir_operand(kk, o, j);
      ok = defined_in(kk, pos, a->value, from, to);
      for (uint32_t x = 0; x < a->nidx && ok; x++) ok = defined_in(kk, pos, ug_kir_index(kk, a, x)->value, from, to);
    }
  }
  free(pos);
  return ok;
}

/* Appends device function `name` (text) to the kernel's k->pre. */
static ug_status_t add_pre(ug_cuda_kctx_t *k, const char *name, const char *text) {
  size_t nl = strlen(name) + 1, tl = strlen(text) + 1;
  char *p = realloc(k->pre, k->pre_len + nl + tl);
  if (!p) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  memcpy(p + k->pre_len, name, nl);
  memcpy(p + k->pre_len + nl, text, tl);
  k->pre = p;
  k->pre_len += nl + tl;
  return NULL;
}

/* Kernel-body ops [from, to) (ending with the loop whose iter args fix[]
 * are) in exact f32 as a device function of their own,
 * `void NAME(params..., dims, float *out0, ...)` leaving those iter args'
 * results in out<j>, added to k->pre; *name gets NAME, a hash of the text,
 * so that equal kernels stay equal.  A noinline function keeps the rerun's
 * registers out of the kernel's (inline, the rerun cost f32 conv_nhwc
 * kernels 240-356 bytes of spill stores on sm_90a and 10% of their time). */
static ug_status_t rerun_function(kemit_t *e, const ug_kir_op_data_t *loop, size_t from, size_t to, const uint32_t *fix,
                                  uint32_t nfix, char *name, size_t name_size) {
  ug_kir_kernel_t *kk = e->kk;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len), *kf = e->f;
  if (!f) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  fprintf(f, "(");
  for (size_t i = 0; i < kk->params.len; i++)
    fprintf(f, "const %s *__restrict__ a%zu, ", ug_cuda_stype(ug_kir_value_type(kk, kk->params.items[i])->t.dtype), i);
  fprintf(f, "const int64_t *__restrict__ dims");
  for (uint32_t j = 0; j < nfix; j++) fprintf(f, ", float *out%u", j);
  fprintf(f, ") {\n  (void)dims;\n  const unsigned ug_tid = threadIdx.x;\n  (void)ug_tid;\n");
  e->f = f;
  ug_status_t st = preamble(e);
  e->exact = true;
  if (!st) st = emit_ops(e, kk->body, from, to);
  e->exact = false;
  e->f = kf;
  if (!st) {
    fprintf(f, "#if __CUDA_ARCH__ >= 800\n  asm volatile(\"cp.async.wait_group 0;\\n\" ::: \"memory\");\n#endif\n");
    for (uint32_t j = 0; j < nfix; j++)
      fprintf(f, "#pragma unroll\n  for (int q = 0; q < %d; q++) out%u[q] = v%u[q];\n", ACC_SLOTS, j, ug_kir_result(kk, loop, fix[j]));
    fprintf(f, "}\n");
  }
  fclose(f);
  if (!st) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    snprintf(name, name_size, "ug_rerun_%016llx", (unsigned long long)h);
    st = add_pre(e->k, name, text);
  }
  free(text);
  return st;
}

/* After a loop whose iter args accumulate f32 mmas in 3xTF32: an inf or
 * NaN operand (inf - inf in the split, inf * 0 with a zero small part) or
 * an overflow gives NaN where f32 gives inf or NaN.  When a slot of the
 * block came out NaN, the loop runs again in exact f32 (mma as per-slot
 * dot products over the shared stages), with the ops before it that may
 * run again (index math, the copies of its first tiles: back to the
 * kernel's allocations when it can), and the block's slots take its
 * results, all of them.  The tiles are whatever the loop reads, gathered
 * ones included, and a split K's rank its own part of K.  An accumulator
 * must start at 0.  When those ops read nothing from before them, the
 * rerun is a noinline function of its own (rerun_function), else inline
 * (which cost f32 conv_nhwc kernels 240-356 bytes of spill stores on
 * sm_90a).  A loop whose tiles are copies of whole global matrices takes
 * ck_nan_fixup_global instead (it leaves a matmul's registers alone). */
static ug_status_t nan_rerun(kemit_t *e, const ug_kir_op_data_t *loop) {
  if (e->exact || !ug_cuda_mma32_split(e->k->precision)) return NULL;
  ug_kir_kernel_t *kk = e->kk;
  const ug_kir_region_t *body = ug_kir_region(kk, loop->regions);
  uint32_t n = loop->num_operands - 3, fix[8], nfix = 0;
  if (!n) return NULL;
  const ug_kir_op_data_t *y = ug_kir_op(kk, body->ops.items[body->ops.len - 1]);
  for (uint32_t i = 0; i < n; i++) {
    const ug_kir_value_t *yv = &kk->values.items[ug_kir_operand(kk, y, i)->value];
    if (yv->def_kind != UG_KV_RESULT) continue;
    const ug_kir_op_data_t *mma = ug_kir_op(kk, yv->def);
    if (mma->op != UG_KIR_MMA || ug_kir_value_type(kk, ug_kir_operand(kk, mma, 0)->value)->t.dtype != UG_DTYPE_F32) continue;
    const ug_kir_value_t *iv = &kk->values.items[ug_kir_operand(kk, loop, 3 + i)->value];
    const ug_kir_op_data_t *init = iv->def_kind == UG_KV_RESULT ? ug_kir_op(kk, iv->def) : NULL;
    const ug_kir_attr_t *z = init && init->op == UG_KIR_SPLAT ? ug_kir_op_attr(kk, init, UG_KATTR_VALUE) : NULL;
    if (!init || init->op != UG_KIR_SPLAT || (z && z->f != 0.0)) return ck_err(e, mma, "a 3xTF32 accumulator that does not start at 0");
    if (nfix == 8) return ck_err(e, mma, "more than 8 3xTF32 accumulators in a loop");
    fix[nfix++] = i;
  }
  if (!nfix) return NULL;
  /* tiles copied from whole global matrices: the NaN slots alone, from
   * them (an inline rerun spilled 3xTF32's 4096^3 GEMM, 12% slower on
   * sm_90a) */
  for (uint32_t j = 0; j < nfix; j++) {
    bool done;
    UG_RETURN_IF_ERROR(ck_nan_fixup_global(e, loop, fix[j], &done));
    if (!done && j) return ck_err(e, loop, "3xTF32 accumulators of one loop from copies and from gathers");
    if (!done) break;
    if (j + 1 == nfix) return NULL;
  }
  const ug_kir_region_t *reg = ug_kir_region(kk, loop->parent);
  ug_kir_op_id_t lid = (ug_kir_op_id_t)(loop - kk->ops.items);
  size_t at = 0;
  while (reg->ops.items[at] != lid) at++;
  size_t from = at;
  while (from > 0 && rerun_ok(e, ug_kir_op(kk, reg->ops.items[from - 1]))) from--;
  fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n  asm volatile(\"cp.async.wait_group 0;\\n\" ::: \"memory\");\n  {\n    int bad = 0;\n");
  for (uint32_t j = 0; j < nfix; j++)
    fprintf(e->f, "#pragma unroll\n    for (int q = 0; q < %d; q++) bad |= v%u[q] != v%u[q];\n", ACC_SLOTS,
            ug_kir_result(kk, loop, fix[j]), ug_kir_result(kk, loop, fix[j]));
  fprintf(e->f, "    if (__syncthreads_or(bad)) {\n");
  for (uint32_t j = 0; j < nfix; j++) fprintf(e->f, "  float fx%u[%d];\n", j, ACC_SLOTS);
  if (loop->parent == kk->body && e->pack == 1 && self_contained(kk, from, at + 1)) {
    char name[32];
    UG_RETURN_IF_ERROR(rerun_function(e, loop, from, at + 1, fix, nfix, name, sizeof name));
    fprintf(e->f, "  %s(", name);
    for (size_t i = 0; i < kk->params.len; i++) fprintf(e->f, "a%zu, ", i);
    fprintf(e->f, "dims");
    for (uint32_t j = 0; j < nfix; j++) fprintf(e->f, ", fx%u", j);
    fprintf(e->f, ");\n");
  } else {
    fprintf(e->f, "  {\n");
    e->exact = true;
    ug_status_t st = emit_ops(e, loop->parent, from, at + 1);
    e->exact = false;
    if (st) return st;
    fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n  asm volatile(\"cp.async.wait_group 0;\\n\" ::: \"memory\");\n#endif\n");
    for (uint32_t j = 0; j < nfix; j++)
      fprintf(e->f, "#pragma unroll\n  for (int q = 0; q < %d; q++) fx%u[q] = v%u[q];\n", ACC_SLOTS, j, ug_kir_result(kk, loop, fix[j]));
    fprintf(e->f, "  }\n");
  }
  for (uint32_t j = 0; j < nfix; j++)
    fprintf(e->f, "#pragma unroll\n  for (int q = 0; q < %d; q++) v%u[q] = fx%u[q];\n", ACC_SLOTS, ug_kir_result(kk, loop, fix[j]), j);
  fprintf(e->f, "    }\n  }\n#endif\n");
  return NULL;
}

/* for %i = lb to ub step s iter(%a = %init, ...) { ... yield ... }: the
 * iter args are variables assigned by the yield; the results copy them. */
/* Whether region rid (and the regions in it) holds only tile math, index
 * math, loads, gathers and stores: a loop over such a body (a window
 * kernel's) is unrolled 4 times, so a thread has 4 iterations' loads in
 * flight; a contraction's loop (barriers, copies, mma) runs as written. */
static bool plain_body(kemit_t *e, ug_kir_region_id_t rid) {
  const ug_kir_region_t *r = ug_kir_region(e->kk, rid);
  for (size_t i = 0; i < r->ops.len; i++) {
    const ug_kir_op_data_t *q = ug_kir_op(e->kk, r->ops.items[i]);
    ug_kir_class_t c = ug_kir_op_info(q->op)->cls;
    if (q->op == UG_KIR_MMA || c == UG_KIR_CLASS_SYNC || c == UG_KIR_CLASS_ASYNC) return false;
    for (uint32_t j = 0; j < q->num_regions; j++)
      if (!plain_body(e, q->regions + j)) return false;
  }
  return true;
}

static ug_status_t emit_for(kemit_t *e, const ug_kir_op_data_t *o) {
  char lb[128], ub[128], st[128];
  ck_index_expr(e, ug_kir_operand(e->kk, o, 0), lb, sizeof lb);
  ck_index_expr(e, ug_kir_operand(e->kk, o, 1), ub, sizeof ub);
  ck_index_expr(e, ug_kir_operand(e->kk, o, 2), st, sizeof st);
  const ug_kir_region_t *body = ug_kir_region(e->kk, o->regions);
  uint32_t n = o->num_operands - 3;
  const ug_kir_op_data_t *y = body->ops.len ? ug_kir_op(e->kk, body->ops.items[body->ops.len - 1]) : NULL;
  if (n && (!y || y->op != UG_KIR_YIELD)) return ck_err(e, o, "a loop without its yield");
  /* the yield assigns the iter args in order: a value yielded in place of
   * another iter arg would be read after it changed */
  for (uint32_t i = 0; i < n && n > 1; i++)
    for (uint32_t j = 0; j < n; j++)
      if (j != i && ug_kir_operand(e->kk, y, i)->value == ug_kir_region_arg(e->kk, body, j + 1))
        return ck_err(e, o, "iter args yielded in each other's place");
  for (uint32_t i = 0; i < n; i++) {
    ug_kir_value_id_t arg = ug_kir_region_arg(e->kk, body, i + 1);
    if (ug_kir_value_type(e->kk, arg)->kind == UG_KT_TILE && ck_tile_size(ug_kir_value_type(e->kk, arg)) > 1)
      decl_copy(e, arg, ug_kir_operand(e->kk, o, i + 3)->value, true);
    else {
      const ug_kir_type_t *t = ug_kir_value_type(e->kk, arg);
      fprintf(e->f, "  %s v%u = v%u;\n", t->kind == UG_KT_INDEX ? "int64_t" : ug_cuda_ctype(t->t.dtype), arg,
              ug_kir_operand(e->kk, o, i + 3)->value);
    }
  }
  ug_kir_value_id_t iv = ug_kir_region_arg(e->kk, body, 0);
  fprintf(e->f, "#pragma unroll %d\n  for (int64_t v%u = %s; v%u < (int64_t)(%s); v%u += %s) {\n", plain_body(e, o->regions) ? 4 : 1,
          iv, lb, iv, ub, iv, st);
  UG_RETURN_IF_ERROR(emit_region(e, o->regions));
  for (uint32_t i = 0; i < n; i++) {
    ug_kir_value_id_t arg = ug_kir_region_arg(e->kk, body, i + 1), v = ug_kir_operand(e->kk, y, i)->value;
    if (v != arg) decl_copy(e, arg, v, false);
  }
  fprintf(e->f, "  }\n");
  for (uint32_t i = 0; i < n; i++) decl_copy(e, ug_kir_result(e->kk, o, i), ug_kir_region_arg(e->kk, body, i + 1), true);
  return nan_rerun(e, o);
}

/* Ops [from, to) of region rid. */
static ug_status_t emit_ops(kemit_t *e, ug_kir_region_id_t rid, size_t from, size_t to) {
  ug_kir_kernel_t *kk = e->kk;
  const ug_kir_region_t *body = ug_kir_region(kk, rid);
  for (size_t i = from; i < to; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, body->ops.items[i]);
    ug_status_t st = NULL;
    /* a run of accumulator-layout ops whose tiles are not used after it */
    size_t end = i;
    while (end < to && slot_op(e, ug_kir_op(kk, body->ops.items[end]))) end++;
    bool loads = false;
    for (size_t j = i; j < end; j++) loads = loads || ug_kir_op(kk, body->ops.items[j])->op == UG_KIR_LOAD;
    if (end > i + 1 && loads && !used_after(e, body, i, end)) {
      UG_RETURN_IF_ERROR(emit_slot_run(e, body, i, end));
      i = end - 1;
      continue;
    }
    switch (o->op) {
    case UG_KIR_PROGRAM_ID: {
      const ug_kir_attr_t *a = ug_kir_op_attr(kk, o, UG_KATTR_AXIS);
      if (e->pack > 1) fprintf(e->f, "  const int64_t v%u = ug_prog;\n", ug_kir_result(kk, o, 0));
      else fprintf(e->f, "  const int64_t v%u = (int64_t)blockIdx.%c;\n", ug_kir_result(kk, o, 0), "xyz"[a ? a->i : 0]);
      break;
    }
    case UG_KIR_CLUSTER_RANK: fprintf(e->f, "  const int64_t v%u = ug_crank;\n", ug_kir_result(kk, o, 0)); break;
    case UG_KIR_CLUSTER_SIZE: fprintf(e->f, "  const int64_t v%u = ug_csize;\n", ug_kir_result(kk, o, 0)); break;
    case UG_KIR_CLUSTER_REDUCE: st = ck_cluster_reduce(e, o); break;
    case UG_KIR_EW: {
      bool idx_in = false;
      for (uint32_t j = 0; j < o->num_operands; j++) {
        const ug_kir_operand_t *a = ug_kir_operand(kk, o, j);
        idx_in = idx_in || a->value == UG_NONE || is_index(e, a->value);
      }
      ug_kir_value_id_t rv = ug_kir_result(kk, o, 0);
      if (is_index(e, rv)) st = emit_index_ew(e, o);
      else if (idx_in && ug_kir_value_type(kk, rv)->t.dtype != UG_DTYPE_BOOL) st = emit_index_cast(e, o);
      else if (idx_in) st = emit_index_ew(e, o);
      else st = emit_tile_ew(e, o);
      break;
    }
    case UG_KIR_LOAD: st = emit_load(e, o); break;
    case UG_KIR_GATHER: st = emit_gather(e, o); break;
    case UG_KIR_TO_INDEX:
      fprintf(e->f, "  const int64_t v%u = (int64_t)v%u;\n", ug_kir_result(kk, o, 0), ug_kir_operand(kk, o, 0)->value);
      break;
    case UG_KIR_STORE: st = emit_store(e, o); break;
    case UG_KIR_BROADCAST: st = emit_broadcast(e, o); break;
    case UG_KIR_SPLAT: st = emit_splat(e, o); break;
    case UG_KIR_IOTA: st = emit_iota(e, o); break;
    case UG_KIR_REDUCE: st = emit_reduce(e, o); break;
    case UG_KIR_ALLOC: break; /* laid out at the kernel's start */
    case UG_KIR_FOR: st = emit_for(e, o); break;
    case UG_KIR_IF: {
      /* an if without results: both regions in a C if (the condition is a
       * bool[] every thread holds) */
      if (o->num_results) {
        st = ck_err(e, o, "an if with results");
        break;
      }
      fprintf(e->f, "  if (v%u) {\n", ug_kir_operand(kk, o, 0)->value);
      st = emit_region(e, o->regions);
      const ug_kir_region_t *els = ug_kir_region(kk, o->regions + 1);
      if (!st && els->ops.len) {
        fprintf(e->f, "  } else {\n");
        st = emit_region(e, o->regions + 1);
      }
      fprintf(e->f, "  }\n");
      break;
    }
    case UG_KIR_YIELD: break; /* emit_for's */
    case UG_KIR_BARRIER: fprintf(e->f, "  __syncthreads();\n"); break;
    case UG_KIR_ASYNC_COPY: st = ck_async_copy(e, o); break;
    case UG_KIR_ASYNC_GATHER: st = ck_async_gather(e, o); break;
    case UG_KIR_COMMIT: fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n  asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n#endif\n"); break;
    case UG_KIR_WAIT: {
      const ug_kir_attr_t *pa = ug_kir_op_attr(kk, o, UG_KATTR_PENDING);
      fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n  asm volatile(\"cp.async.wait_group %lld;\\n\" ::: \"memory\");\n#endif\n",
              (long long)(pa ? pa->i : 0));
      break;
    }
    case UG_KIR_MMA: st = ck_mma(e, o); break;
    default: st = ck_err(e, o, "not supported");
    }
    if (st) return st;
  }
  return NULL;
}

static ug_status_t emit_region(kemit_t *e, ug_kir_region_id_t rid) {
  return emit_ops(e, rid, 0, ug_kir_region(e->kk, rid)->ops.len);
}

/* Whether kernel param i's buffer is 16-byte aligned on every run: arena
 * and state buffers are (64-byte offsets in allocations of the driver,
 * which aligns to 256), a weight when its offset in the blob is; an input
 * or output may be the caller's device memory (zero-copy) and is checked
 * at run time.  A kernel's params are its step's args in order. */
static bool param_aligned16(const ug_cuda_kctx_t *k, const ug_kir_kernel_t *kk, size_t i) {
  if (!k->plan || !k->s || kk->params.len != k->s->num_args) return false;
  const ug_plan_buffer_t *b = &k->plan->buffers.items[k->s->args[i]];
  switch (b->kind) {
  case UGRT_BUF_ARENA:
  case UGRT_BUF_STATE: return true;
  case UGRT_BUF_WEIGHT: return b->offset % 16 == 0;
  default: return false;
  }
}

/* The names every body may use: a contraction's lane and warp coordinates,
 * the cluster's size and rank, the shared memory and its address. */
static ug_status_t preamble(kemit_t *e) {
  ug_kir_kernel_t *kk = e->kk;
  if (e->bm)
    fprintf(e->f, "  const int ug_lane = threadIdx.x & 31, ug_wm = (threadIdx.x >> 5) >> 2, ug_wn = (threadIdx.x >> 5) & 3;\n"
                 "  (void)ug_lane; (void)ug_wm; (void)ug_wn;\n");
  /* a cluster of S programs along x (__cluster_dims__, sm_90 and newer);
   * elsewhere its rank-0 programs alone run, as clusters of 1 */
  if (kk->cluster > 1 && e->pack > 1) return ug_node_error(e->k->g, e->k->n, UG_ERR_UNSUPPORTED, "kernel-IR clusters of one-warp programs");
  if (kk->cluster > 1)
    fprintf(e->f, "#if __CUDA_ARCH__ >= 900\n  const int64_t ug_csize = %u, ug_crank = (int64_t)(blockIdx.x %% %uu);\n#else\n"
                 "  const int64_t ug_csize = 1, ug_crank = 0;\n  if (blockIdx.x %% %uu != 0) return;\n#endif\n"
                 "  (void)ug_csize; (void)ug_crank;\n",
            kk->cluster, kk->cluster, kk->cluster);
  else
    for (size_t i = 0; i < kk->ops.len; i++) {
      ug_kir_op_t op = ug_kir_op(kk, (ug_kir_op_id_t)i)->op;
      if (op == UG_KIR_CLUSTER_RANK || op == UG_KIR_CLUSTER_SIZE) {
        fprintf(e->f, "  const int64_t ug_csize = 1, ug_crank = 0;\n  (void)ug_csize; (void)ug_crank;\n");
        break;
      }
    }
  if (e->smem_bytes) {
    fprintf(e->f, "  extern __shared__ __align__(128) unsigned char ug_smem[];\n");
    fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n  const unsigned ug_sbase = (unsigned)__cvta_generic_to_shared(ug_smem);\n#endif\n");
  }
  return NULL;
}

ug_status_t ug_cuda_emit_kir(ug_cuda_kctx_t *k, ug_kir_kernel_t *kk) {
  kemit_t e = {.k = k, .kk = kk, .f = k->f, .threads = kk->warps * 32, .W = 16};
  /* the chunk follows the widest dtype of the buffers read or written in
   * rows (not one element per row), so their accesses are 16 bytes */
  for (size_t i = 0; i < kk->params.len; i++) {
    const ug_kir_type_t *t = ug_kir_value_type(kk, kk->params.items[i]);
    int b = ug_dtype_bits(t->t.dtype) / 8;
    bool whole = t->t.rank > 0 && t->t.dims[t->t.rank - 1] != 1; /* not a broadcast scalar */
    /* buffers only gathered from (by computed offsets) do not set the chunk */
    bool plain = false;
    for (size_t j = 0; j < kk->ops.len && !plain; j++) {
      const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)j);
      plain = (o->op == UG_KIR_LOAD || o->op == UG_KIR_STORE) && ug_kir_operand(kk, o, 0)->value == kk->params.items[i];
    }
    if (plain && whole && b > 0 && 16 / b < e.W) e.W = 16 / b;
  }
  if (kk->grid_rank != 1) return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "kernel-IR grid rank on cuda");
  /* contraction kernels: the accumulator layout and the shared stages */
  uint64_t smem = 0;
  e.smem = calloc(kk->values.len + 1, sizeof *e.smem);
  if (!e.smem) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    if (o->op == UG_KIR_MMA) {
      const ug_kir_type_t *ct = ug_kir_value_type(kk, ug_kir_result(kk, o, 0));
      e.bm = ct->t.dims[0];
      e.bn = ct->t.dims[1];
    }
    if (o->op == UG_KIR_ALLOC) {
      const ug_kir_type_t *t = ug_kir_value_type(kk, ug_kir_result(kk, o, 0));
      if (t->kind != UG_KT_SHARED) {
        free(e.smem);
        return ck_err(&e, o, "mbarriers");
      }
      smem = (smem + 127) & ~(uint64_t)127;
      e.smem[ug_kir_result(kk, o, 0)] = (uint32_t)smem;
      smem += (uint64_t)ck_stage_bytes(t) * t->stages;
    }
  }
  /* cluster_reduce stages a tile through the block's shared memory from 0 */
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    if (o->op != UG_KIR_CLUSTER_REDUCE) continue;
    uint64_t b = (uint64_t)ck_tile_size(ug_kir_value_type(kk, ug_kir_result(kk, o, 0))) * 4u;
    if (smem < b) smem = b;
  }
  ug_status_t sl = ck_stage_layout(&e);
  if (sl) {
    free(e.smem);
    free(e.stage);
    return sl;
  }
  if (smem > 227u * 1024u) {
    free(e.smem);
    free(e.stage);
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "kernel-IR kernel with %llu bytes of shared memory",
                         (unsigned long long)smem);
  }
  ug_status_t st = NULL;
  /* narrower chunks for tiles that are not a whole number of 16-byte rounds
   * of the block (a short row's tile of 128 f16: 8-byte chunks) */
  for (size_t i = 0; i < kk->values.len; i++) {
    const ug_kir_type_t *t = &kk->values.items[i].type;
    if (t->kind != UG_KT_TILE || t->t.rank != 1 || !UG_DIM_IS_STATIC(t->t.dims[0]) || t->t.dims[0] <= 1) continue;
    int64_t S = t->t.dims[0];
    while (e.W > 1 && S % ((int64_t)e.threads * e.W) != 0 && S % e.threads == 0) e.W /= 2;
  }
  /* ug_tid: the thread within its program; ug_prog: the program of a packed
   * warp, whose warps past the grid leave at once (a warp's shuffles see
   * all of its lanes, and one-warp programs have no block barrier) */
  e.pack = e.threads == 32 ? UG_KIR_PACK : 1;
  if (e.pack > 1) {
    char gd[64];
    fprintf(e.f, "  const unsigned ug_tid = threadIdx.x & 31u;\n  (void)ug_tid;\n");
    ug_cuda_dimstr(kk->grid[0], gd, sizeof gd);
    fprintf(e.f, "  const int64_t ug_prog0 = ((int64_t)blockIdx.x * %u + (threadIdx.x >> 5)) * %d;\n", e.pack, UG_KIR_ILP);
    fprintf(e.f, "  const int64_t ug_grid = %s;\n  if (ug_prog0 >= ug_grid) return;\n", gd);
    /* a copy past the grid's end does nothing (it must not redo a program:
     * an in-place step's program reads what it overwrote); a static grid
     * of whole groups needs no test, and then the copies' loads may move
     * ahead of the other copies' reductions */
    bool whole = UG_DIM_IS_STATIC(kk->grid[0]) && kk->grid[0] % UG_KIR_ILP == 0;
    fprintf(e.f, "#pragma unroll\n  for (int ug_r = 0; ug_r < %d; ug_r++) {\n", UG_KIR_ILP);
    fprintf(e.f, "  const int64_t ug_prog = ug_prog0 + ug_r;\n  if (%s) {\n", whole ? "true" : "ug_prog < ug_grid");
  } else {
    fprintf(e.f, "  const unsigned ug_tid = threadIdx.x;\n  (void)ug_tid;\n");
  }
  e.smem_bytes = smem;
  ug_status_t ps = preamble(&e);
  if (ps) {
    free(e.smem);
    free(e.stage);
    return ps;
  }
  /* buffers copied to shared memory: whether 16-byte copies may read them
   * (a row a whole number of 16-byte chunks, the buffer 16-byte aligned),
   * known at compile time or tested at run time (vq<N>) */
  char vq_all[256] = "";
  bool vq_full = false, vq_never = false;
  for (int pass = 0; pass < 2 && !vq_never; pass++)
    for (size_t i = 0; i < kk->params.len; i++) {
      bool copied = false;
      for (size_t j = 0; j < kk->ops.len && !copied; j++) {
        const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)j);
        copied = o->op == UG_KIR_ASYNC_COPY && ug_kir_operand(kk, o, 0)->value == kk->params.items[i];
      }
      if (!copied) continue;
      const ug_type_t *t = &ug_kir_value_type(kk, kk->params.items[i])->t;
      int64_t lw = t->dims[t->rank - 1];
      int per = 128 / ug_dtype_bits(t->dtype);
      bool rows_static = UG_DIM_IS_STATIC(lw), aligned = param_aligned16(k, kk, i);
      if (pass == 0) {
        vq_never |= rows_static && lw % per != 0;
        continue;
      }
      if (rows_static && aligned) continue;
      char d[64], cond[160], al[64];
      snprintf(al, sizeof al, "((unsigned long long)a%zu %% 16) == 0", i);
      if (rows_static) snprintf(cond, sizeof cond, "%s", al);
      else snprintf(cond, sizeof cond, "(%s) %% %d == 0%s%s", ug_cuda_dimstr(lw, d, sizeof d), per, aligned ? "" : " && ", aligned ? "" : al);
      fprintf(e.f, "  const bool vq%zu = %s;\n", i, cond);
      size_t l = strlen(vq_all);
      if (l + 32 < sizeof vq_all) snprintf(vq_all + l, sizeof vq_all - l, "%svq%zu", l ? " && " : "", i);
      else vq_full = true; /* too many to test: element loads only */
    }
  /* with async copies the body is written once when the copies' buffers
   * are known at compile time to allow 16-byte copies (or one known not
   * to: element loads), and twice otherwise, for buffers that all allow
   * them and for the rest, so that neither copy's registers add to the
   * other's (one kernel with a branch per copy took 149 registers a thread
   * on sm_90a against 118, and one block per SM) */
  if (vq_never || vq_full || !vq_all[0]) {
    e.vec_copies = !vq_never && !vq_full;
    st = emit_region(&e, kk->body);
  } else {
    fprintf(e.f, "  if (%s) {\n", vq_all);
    e.vec_copies = true;
    st = emit_region(&e, kk->body);
    fprintf(e.f, "  } else {\n");
    e.vec_copies = false;
    if (!st) st = emit_region(&e, kk->body);
    fprintf(e.f, "  }\n");
  }
  free(e.smem);
  free(e.stage);
  if (st) return st;
  if (e.pack > 1) fprintf(e.f, "  }\n  }\n");
  k->custom_launch = true;
  k->grid[0] = e.pack > 1 ? ug_dim_ceildiv(k->m->dims, kk->grid[0], (int64_t)e.pack * UG_KIR_ILP) : kk->grid[0];
  k->grid[1] = k->grid[2] = 1;
  k->block = e.threads * e.pack;
  k->shared_bytes = (uint32_t)smem;
  k->cluster = kk->cluster > 1 ? kk->cluster : 0;
  /* a contraction's block: two on an SM (128 registers a thread at most),
   * so one block's loads overlap the other's math */
  k->min_blocks = e.bm ? 2 : 0;
  return NULL;
}
