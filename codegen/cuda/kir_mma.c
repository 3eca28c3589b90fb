/* The kernel-IR emitter's contraction parts (kir_cuda.h): the accumulator
 * layout's loads and stores, shared stages filled by async copies or by
 * stores of stage-layout tiles, mma. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda/kir_cuda.h"

/* ---- contraction kernels: the accumulator layout, shared stages, async
 * copies, mma and loops ----
 * The mma result [128,128] of 8 warps is held as mma.sync m16n8k16
 * fragments: warp w computes rows 64 (w >> 2) .. +63 and columns
 * 32 (w & 3) .. +31; slot q = (mi * 4 + ni) * 4 + h of a thread is row
 * 16 mi + lane / 4 + 8 (h >> 1), column 8 ni + 2 (lane % 4) + (h & 1) of
 * its warp's part.  Every 2-D tile of the kernel whose dims are those or 1
 * uses the same slots (a broadcast row or column holds its values
 * replicated), so epilogue math is per slot.  Shared stages hold rows of
 * 16-byte chunks, XOR-swizzled so that ldmatrix's eight row reads hit
 * eight bank groups: chunk c of row r of a 4-chunk row (k tile 32 of f16)
 * lives at c ^ ((r >> 1) & 3), of a row of a multiple of 8 chunks at
 * c ^ (r & 7). */

/* The swizzled chunk of chunk c (a C expression) of row r in a shared tile
 * of `chunks` 16-byte chunks a row. */
static void swizzle(int64_t chunks, const char *r, const char *c, char *buf, size_t size) {
  if (chunks == 4) snprintf(buf, size, "((%s) ^ (((%s) >> 1) & 3))", c, r);
  else if (chunks % 8 == 0) snprintf(buf, size, "((%s) ^ ((%s) & 7))", c, r);
  else snprintf(buf, size, "(%s)", c);
}

/* A 2-D tile access of o's operand `i` on a global buffer of rank >= 2:
 * emits base (the origin's offset), inb (the leading indices in range),
 * r0 / c0 (the origin's row and column), rows / cols / ld. */
ug_status_t ck_access2d_px(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i, const char *px, uint32_t *out_buf) {
  const ug_kir_operand_t *acc = ug_kir_operand(e->kk, o, i);
  const ug_kir_type_t *bt = ug_kir_value_type(e->kk, acc->value);
  if (bt->kind != UG_KT_GLOBAL) return ck_err(e, o, "a 2-D tile of registers and shared memory");
  const ug_type_t *t = &bt->t;
  int r = t->rank;
  if ((int)acc->nidx != r || r < 2) return ck_err(e, o, "access rank of a 2-D tile");
  *out_buf = e->kk->values.items[acc->value].index;
  char ix[128], d[64], st[UG_CUDA_PROD];
  fprintf(e->f, "    int64_t %sbase = 0;\n    bool %sinb = true;\n", px, px);
  for (int j = 0; j < r; j++) {
    ck_index_expr(e, ug_kir_index(e->kk, acc, (uint32_t)j), ix, sizeof ix);
    ug_cuda_prodstr(t, j + 1, r, st, sizeof st);
    fprintf(e->f, "    %sbase += (int64_t)(%s) * %s;\n", px, ix, st);
    if (j < r - 2)
      fprintf(e->f, "    %sinb = %sinb && (%s) >= 0 && (%s) < %s;\n", px, px, ix, ix, ug_cuda_dimstr(t->dims[j], d, sizeof d));
  }
  ck_index_expr(e, ug_kir_index(e->kk, acc, (uint32_t)r - 2), ix, sizeof ix);
  fprintf(e->f, "    const int64_t %sr0 = %s, %srows = %s;\n", px, ix, px, ug_cuda_dimstr(t->dims[r - 2], d, sizeof d));
  ck_index_expr(e, ug_kir_index(e->kk, acc, (uint32_t)r - 1), ix, sizeof ix);
  fprintf(e->f, "    const int64_t %sc0 = %s, %scols = %s, %sld = %scols;\n    (void)%sinb;\n", px, ix, px,
          ug_cuda_dimstr(t->dims[r - 1], d, sizeof d), px, px, px);
  return NULL;
}

static ug_status_t access2d(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i, uint32_t *out_buf) {
  return ck_access2d_px(e, o, i, "", out_buf);
}

/* A load of an accumulator-layout tile.  A broadcast row ([1,N]) is read
 * in the slots of one row (8 of 64) and a broadcast column in those of one
 * column, the others copied from them; the two columns of a slot pair are
 * one 4- or 8-byte load where aligned and inside. */
ug_status_t ck_acc_load(kemit_t *e, const ug_kir_op_data_t *o) {
  if (o->num_operands > 1) return ck_err(e, o, "masked load");
  ug_kir_value_id_t r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *rt = ug_kir_value_type(e->kk, r);
  ug_dtype_t dt = rt->t.dtype;
  const char *ct = ug_cuda_ctype(dt), *sty = ug_cuda_stype(dt);
  int bytes = ug_dtype_bits(dt) / 8;
  bool row1 = rt->t.dims[0] == 1, col1 = rt->t.dims[1] == 1;
  /* slot q's values are slot (q & keep)'s: mi and the row half drop out of
   * a broadcast row, ni and the column pair out of a broadcast column */
  int keep = row1 ? 0x0D : col1 ? 0x32 : 0x3F;
  bool pairs = !col1 && (bytes == 2 || bytes == 4);
  char other[96], ld0[256], ld1[256], ldp0[256], ldp1[256];
  ck_other_expr(ug_kir_op_attr(e->kk, o, UG_KATTR_OTHER), ct, other, sizeof other);
  uint32_t buf;
  fprintf(e->f, "  %s v%u[%d];\n  {\n", ct, r, ACC_SLOTS);
  UG_RETURN_IF_ERROR(access2d(e, o, 0, &buf));
  char src[96];
  snprintf(src, sizeof src, "a%u[base + rr * ld + cc]", buf);
  ug_cuda_load_expr(dt, src, ld0, sizeof ld0);
  snprintf(src, sizeof src, "a%u[base + rr * ld + cc + 1]", buf);
  ug_cuda_load_expr(dt, src, ld1, sizeof ld1);
  ug_cuda_load_expr(dt, "w.e[0]", ldp0, sizeof ldp0);
  ug_cuda_load_expr(dt, "w.e[1]", ldp1, sizeof ldp1);
  if (pairs)
    fprintf(e->f, "    const bool pair = ((ld | base | c0) & 1) == 0 && ((unsigned long long)a%u & %d) == 0;\n", buf, 2 * bytes - 1);
  fprintf(e->f, "#pragma unroll\n    for (int q = 0; q < %d; q += %d) {\n", ACC_SLOTS, pairs ? 2 : 1);
  fprintf(e->f, "      if ((q & ~%d) != 0) continue;\n", keep);
  fprintf(e->f, "      const int64_t rr = %s, cc = %s;\n", row1 ? "0" : ACC_ROW("q"), col1 ? "0" : ACC_COL("q"));
  fprintf(e->f, "      const bool rin = inb && (uint64_t)(r0 + rr) < (uint64_t)rows;\n");
  if (pairs) {
    fprintf(e->f, "      if (rin && pair && (uint64_t)(c0 + cc + 1) < (uint64_t)cols) {\n");
    fprintf(e->f, "        const ug_vec<%s, 2> w = *reinterpret_cast<const ug_vec<%s, 2> *>(a%u + base + rr * ld + cc);\n", sty,
            sty, buf);
    fprintf(e->f, "        v%u[q] = %s;\n        v%u[q + 1] = %s;\n      } else {\n", r, ldp0, r, ldp1);
    fprintf(e->f, "        v%u[q] = rin && (uint64_t)(c0 + cc) < (uint64_t)cols ? %s : %s;\n", r, ld0, other);
    fprintf(e->f, "        v%u[q + 1] = rin && (uint64_t)(c0 + cc + 1) < (uint64_t)cols ? %s : %s;\n      }\n", r, ld1, other);
  } else {
    fprintf(e->f, "      v%u[q] = rin && (uint64_t)(c0 + cc) < (uint64_t)cols ? %s : %s;\n", r, ld0, other);
  }
  fprintf(e->f, "    }\n");
  if (keep != 0x3F)
    fprintf(e->f, "#pragma unroll\n    for (int q = 0; q < %d; q++) v%u[q] = v%u[q & %d];\n", ACC_SLOTS, r, r, keep);
  fprintf(e->f, "  }\n");
  return NULL;
}

/* A store of an accumulator-layout tile: the two columns of a slot pair
 * as one vector where aligned, else element by element, in bounds. */
ug_status_t ck_acc_store(kemit_t *e, const ug_kir_op_data_t *o) {
  if (o->num_operands > 2) return ck_err(e, o, "masked store");
  ug_kir_value_id_t v = ug_kir_operand(e->kk, o, 1)->value;
  const ug_kir_type_t *vt = ug_kir_value_type(e->kk, v);
  ug_dtype_t dt = vt->t.dtype;
  int bytes = ug_dtype_bits(dt) / 8;
  char st0[256], st1[256], src[64];
  uint32_t buf;
  fprintf(e->f, "  {\n");
  UG_RETURN_IF_ERROR(access2d(e, o, 0, &buf));
  snprintf(src, sizeof src, "v%u[q]", v);
  ug_cuda_store_expr(dt, src, st0, sizeof st0);
  snprintf(src, sizeof src, "v%u[q + 1]", v);
  ug_cuda_store_expr(dt, src, st1, sizeof st1);
  const char *rr = vt->t.dims[0] == 1 ? "0" : ACC_ROW("q"), *cc = vt->t.dims[1] == 1 ? "0" : ACC_COL("q");
  bool pairs = vt->t.dims[1] != 1 && (bytes == 2 || bytes == 4);
  if (pairs) {
    fprintf(e->f, "    const bool pair = ((ld | base | c0) & 1) == 0 && ((unsigned long long)a%u & %d) == 0;\n", buf, 2 * bytes - 1);
    fprintf(e->f, "    if (inb)\n#pragma unroll\n    for (int q = 0; q < %d; q += 2) {\n", ACC_SLOTS);
  } else {
    fprintf(e->f, "    if (inb)\n#pragma unroll\n    for (int q = 0; q < %d; q++) {\n", ACC_SLOTS);
  }
  fprintf(e->f, "      const int64_t rr = %s, cc = %s;\n", rr, cc);
  fprintf(e->f, "      if ((uint64_t)(r0 + rr) >= (uint64_t)rows) continue;\n");
  fprintf(e->f, "      %s *p = a%u + base + rr * ld + cc;\n", ug_cuda_stype(dt), buf);
  if (pairs) {
    const char *vty = bytes == 2 ? "unsigned" : "unsigned long long";
    const char *ety = bytes == 2 ? "unsigned short" : "unsigned";
    fprintf(e->f, "      if (pair && (uint64_t)(c0 + cc + 1) < (uint64_t)cols) {\n");
    fprintf(e->f, "        const %s x = %s, y = %s;\n", ug_cuda_stype(dt), st0, st1);
    fprintf(e->f, "        *reinterpret_cast<%s *>(p) = (%s)*reinterpret_cast<const %s *>(&x) | (%s)*reinterpret_cast<const %s *>(&y) << %d;\n",
            vty, vty, ety, vty, ety, bytes * 8);
    fprintf(e->f, "      } else {\n");
    fprintf(e->f, "        if ((uint64_t)(c0 + cc) < (uint64_t)cols) p[0] = %s;\n", st0);
    fprintf(e->f, "        if ((uint64_t)(c0 + cc + 1) < (uint64_t)cols) p[1] = %s;\n      }\n", st1);
  } else {
    fprintf(e->f, "      if ((uint64_t)(c0 + cc) < (uint64_t)cols) p[0] = %s;\n", st0);
  }
  fprintf(e->f, "    }\n  }\n");
  return NULL;
}

/* Elements a row of a 2-D stage takes in shared memory: 16-bit rows are
 * swizzled, f32 rows padded (to 24 for k tiles of 16, by 4 otherwise) so
 * that the f32 mma's fragment reads hit distinct banks (contract.c's
 * layout). */
static int64_t row_stride(const ug_kir_type_t *t) {
  int64_t C = t->t.dims[t->t.rank - 1];
  if (t->t.rank == 2 && ug_dtype_bits(t->t.dtype) == 32) return C == 16 ? 24 : C + 4;
  return C;
}

/* Bytes of one stage of a shared buffer, and its chunks per row. */
int64_t ck_stage_bytes(const ug_kir_type_t *t) {
  int64_t rows = t->t.rank == 2 ? t->t.dims[0] * row_stride(t) : ck_tile_size(t);
  return rows * (ug_dtype_bits(t->t.dtype) / 8);
}
static int64_t row_chunks(const ug_kir_type_t *t) {
  return t->t.dims[t->t.rank - 1] * (ug_dtype_bits(t->t.dtype) / 8) / 16;
}

/* The byte offset (in the dynamic shared memory) of stage `st` of the
 * buffer accessed by operand i. */
static void stage_offset(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i, char *buf, size_t size) {
  const ug_kir_operand_t *a = ug_kir_operand(e->kk, o, i);
  char ix[128];
  ck_index_expr(e, ug_kir_index(e->kk, a, 0), ix, sizeof ix);
  snprintf(buf, size, "(%uu + (unsigned)(%s) * %lldu)", e->smem[a->value], ix,
           (long long)ck_stage_bytes(ug_kir_value_type(e->kk, a->value)));
}

/* The loop over a thread's 16-byte chunks of a stage (chunk q = thread +
 * j * threads: row r, chunk c of CC a row) and its shared address d, as
 * async_copy writes them (16-bit rows swizzled by sw, 32-bit rows padded). */
static void chunk_loop(kemit_t *e, const ug_kir_type_t *st, int64_t chunks, int64_t CC, const char *sw) {
  fprintf(e->f, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)(chunks / e->threads));
  fprintf(e->f, "      const int q = (int)ug_tid + j * %u, r = q / %lld, c = q %% %lld;\n", e->threads, (long long)CC,
          (long long)CC);
  if (ug_dtype_bits(st->t.dtype) == 32)
    fprintf(e->f, "      const unsigned d = so + (unsigned)(r * %lld + c * 4) * 4u;\n", (long long)row_stride(st));
  else fprintf(e->f, "      const unsigned d = so + (unsigned)(r * %lld + (%s << 3)) * 2u;\n", (long long)st->t.dims[1], sw);
}

/* Inside chunk_loop, on sm_80 and newer: when `cond`, cp.async of 16 bytes
 * from au + g (0 bytes, a zero fill, unless `ok`), and the next chunk. */
static void chunk_cp_async(kemit_t *e, const char *cond, const char *ok) {
  fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n      if (%s) {\n", cond);
  fprintf(e->f, "        asm volatile(\"cp.async.cg.shared.global [%%0], [%%1], 16, %%2;\\n\" :: \"r\"(ug_sbase + d), "
                "\"l\"(%s ? au + g : au), \"r\"(%s ? 16 : 0) : \"memory\");\n", ok, ok);
  fprintf(e->f, "        continue;\n      }\n#endif\n");
}

/* The end of chunk_loop: the chunk's elements by checked loads from au + g
 * (an async_copy's: those left in the row, at columns >= 0; a gather's:
 * where the mask m holds and inside the buffer's n) and one 16-byte shared
 * store. */
static void chunk_elems(kemit_t *e, bool f32, bool gather) {
  static const char *const at[3] = {"h", "2 * h", "2 * h + 1"};
  char p[3][160];
  for (int i = 0; i < 3; i++) {
    if (gather) snprintf(p[i], sizeof p[i], "m && g + %s >= 0 && (uint64_t)(g + %s) < n", at[i], at[i]);
    else snprintf(p[i], sizeof p[i], "%s < left && c0 + c * %d + %s >= 0", at[i], f32 ? 4 : 8, at[i]);
  }
  fprintf(e->f, "      unsigned w[4];\n#pragma unroll\n      for (int h = 0; h < 4; h++)\n");
  if (f32) fprintf(e->f, "        w[h] = %s ? au[g + h] : 0u;\n", p[0]);
  else
    fprintf(e->f, "        w[h] = (%s ? (unsigned)au[g + 2 * h] : 0u) |\n               (%s ? (unsigned)au[g + 2 * h + 1] : 0u) << 16;\n",
            p[1], p[2]);
  fprintf(e->f, "      *reinterpret_cast<uint4 *>(ug_smem + d) = make_uint4(w[0], w[1], w[2], w[3]);\n");
  fprintf(e->f, "    }\n  }\n");
}

/* async_copy %G[...], %Xs[stage]: the tile's 16-byte chunks spread over
 * the threads (16-bit tiles: swizzled; 32-bit: rows padded, row_stride),
 * cp.async (zero-filled outside the buffer) when the buffer
 * allows 16-byte copies (vq<N>: its rows a multiple of 16 bytes and
 * 16-byte aligned), element loads and a 16-byte shared store otherwise
 * (and below sm_80). */
ug_status_t ck_async_copy(kemit_t *e, const ug_kir_op_data_t *o) {
  if (o->num_operands != 2) return ck_err(e, o, "an mbarrier copy");
  const ug_kir_type_t *st = ug_kir_value_type(e->kk, ug_kir_operand(e->kk, o, 1)->value);
  int bits = ug_dtype_bits(st->t.dtype);
  if ((bits != 16 && bits != 32) || st->t.rank != 2) return ck_err(e, o, "a copy other than a 2-D tile of 16- or 32-bit values");
  bool f32 = bits == 32; /* padded rows (row_stride) of 4-element chunks; 16-bit: swizzled chunks of 8 */
  int per = f32 ? 4 : 8;
  int64_t R = st->t.dims[0], C = st->t.dims[1], CC = C / per, chunks = R * CC;
  if (C % per != 0 || chunks % e->threads != 0) return ck_err(e, o, "tile shape");
  char so[256], sw[96];
  uint32_t buf;
  stage_offset(e, o, 1, so, sizeof so);
  swizzle(CC, "r", "c", sw, sizeof sw);
  fprintf(e->f, "  {\n");
  UG_RETURN_IF_ERROR(access2d(e, o, 0, &buf));
  fprintf(e->f, "    const unsigned so = %s;\n", so);
  fprintf(e->f, "    const unsigned %s*au = reinterpret_cast<const unsigned %s*>(a%u);\n", f32 ? "" : "short ", f32 ? "" : "short ", buf);
  chunk_loop(e, st, chunks, CC, sw);
  fprintf(e->f, "      const bool rin = inb && (uint64_t)(r0 + r) < (uint64_t)rows;\n");
  fprintf(e->f, "      const int64_t g = base + r * ld + c * %d, left = rin ? cols - (c0 + c * %d) : 0;\n", per, per);
  chunk_cp_async(e, e->vec_copies ? "true" : "false", "left > 0");
  chunk_elems(e, f32, false);
  return NULL;
}

/* store %Xs[stage], %x of a stage-layout tile: each round of a thread's
 * slots is one 16-byte chunk, written where async_copy writes that chunk
 * (16-bit rows swizzled, 32-bit rows padded), so mma reads either alike. */
ug_status_t ck_stage_store(kemit_t *e, const ug_kir_op_data_t *o) {
  const ug_kir_operand_t *a = ug_kir_operand(e->kk, o, 0);
  const ug_kir_type_t *st = ug_kir_value_type(e->kk, a->value);
  ug_kir_value_id_t v = ug_kir_operand(e->kk, o, 1)->value;
  if (o->num_operands != 2 || st->kind != UG_KT_SHARED) return ck_err(e, o, "a stage-layout tile stored other than whole into shared memory");
  ug_dtype_t dt = st->t.dtype;
  bool f32 = ug_dtype_bits(dt) == 32;
  const ck_stage_t *sg = ck_stage_of(e, v);
  int64_t C = sg->C, W = sg->W, CC = C / W;
  char so[256], sw[96], x[96], bits[256];
  stage_offset(e, o, 0, so, sizeof so);
  swizzle(CC, "r", "c", sw, sizeof sw);
  fprintf(e->f, "  {\n    const unsigned so = %s;\n", so);
  chunk_loop(e, st, sg->P / W * e->threads, CC, sw);
  fprintf(e->f, "      unsigned w[4];\n#pragma unroll\n      for (int h = 0; h < 4; h++)\n");
  if (f32) {
    fprintf(e->f, "        w[h] = __float_as_uint(v%u[j * 4 + h]);\n", v);
  } else {
    const char *as = dt == UG_DTYPE_F16 ? "__half_as_ushort" : "__bfloat16_as_ushort";
    for (int h = 0; h < 2; h++) {
      snprintf(x, sizeof x, "v%u[j * 8 + 2 * h + %d]", v, h);
      char cv[160];
      if (ck_stage_raw(e, v)) snprintf(cv, sizeof cv, "%s", x);
      else ug_cuda_store_expr(dt, x, cv, sizeof cv);
      snprintf(bits + (h ? strlen(bits) : 0), sizeof bits - (h ? strlen(bits) : 0), h ? " | (unsigned)%s(%s) << 16" : "(unsigned)%s(%s)", as, cv);
    }
    fprintf(e->f, "        w[h] = %s;\n", bits);
  }
  fprintf(e->f, "      *reinterpret_cast<uint4 *>(ug_smem + d) = make_uint4(w[0], w[1], w[2], w[3]);\n    }\n  }\n");
  return NULL;
}

static uint32_t uses_of(ug_kir_kernel_t *kk, ug_kir_value_id_t v) {
  uint32_t n = 0;
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    for (uint32_t j = 0; j < o->num_operands; j++) n += ug_kir_operand(kk, o, j)->value == v;
  }
  return n;
}

/* Whether value v's store into shared memory is into a stage of dtype dt. */
static bool raw_store(ug_kir_kernel_t *kk, ug_kir_value_id_t v, ug_dtype_t dt) {
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    if (o->op == UG_KIR_STORE && ug_kir_operand(kk, o, 1)->value == v)
      return ug_kir_value_type(kk, ug_kir_operand(kk, o, 0)->value)->t.dtype == dt;
  }
  return false;
}

/* Value v, a tile of op o's shared stage type bt (stored into it, or an
 * async_gather's offsets or mask), gets the layout of that stage's shape. */
static ug_status_t stage_seed(kemit_t *e, const ug_kir_op_data_t *o, const ug_kir_type_t *bt, ug_kir_value_id_t v) {
  ug_kir_kernel_t *kk = e->kk;
  int bits = ug_dtype_bits(bt->t.dtype);
  if (bt->t.rank != 2 || (bits != 16 && bits != 32)) return ck_err(e, o, "a register tile stored into a stage other than 2-D of 16- or 32-bit values");
  ck_stage_t sg = {.R = bt->t.dims[0], .C = bt->t.dims[1], .W = 128 / bits};
  sg.P = sg.R * sg.C / e->threads;
  if (sg.C % sg.W || (sg.R * sg.C) % (e->threads * sg.W)) return ck_err(e, o, "a register tile stored into a stage of this shape");
  int s = 0;
  while (s < e->nst && (e->st[s].R != sg.R || e->st[s].C != sg.C || e->st[s].W != sg.W)) s++;
  if (s == e->nst) {
    if (s == 4) return ck_err(e, o, "register tiles stored into stages of more than 4 shapes");
    e->st[e->nst++] = sg;
  }
  if (!e->stage && !(e->stage = calloc(kk->values.len + 1, 1))) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  if (e->stage[v] && e->stage[v] != s + 1) return ck_err(e, o, "a tile stored into stages of two shapes");
  e->stage[v] = (uint8_t)(s + 1);
  return NULL;
}

/* The stage layout: the register tiles stored whole into a shared stage
 * (a software-pipelined loop's fills: im2col tiles gathered) and the
 * tiles that compute them, back to their scalars; each in the layout of
 * its stage's shape (at most 4 shapes a kernel, one a tile). */
ug_status_t ck_stage_layout(kemit_t *e) {
  ug_kir_kernel_t *kk = e->kk;
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    /* an async_gather's offsets and mask: the layout of its stage, whose chunks it copies */
    for (uint32_t j = 1; o->op == UG_KIR_ASYNC_GATHER && j + 1 < o->num_operands; j++) {
      const ug_kir_type_t *bt = ug_kir_value_type(kk, ug_kir_operand(kk, o, o->num_operands - 1)->value);
      UG_RETURN_IF_ERROR(stage_seed(e, o, bt, ug_kir_operand(kk, o, j)->value));
    }
    if (o->op != UG_KIR_STORE) continue;
    const ug_kir_type_t *bt = ug_kir_value_type(kk, ug_kir_operand(kk, o, 0)->value);
    ug_kir_value_id_t v = ug_kir_operand(kk, o, 1)->value;
    if (bt->kind != UG_KT_SHARED) continue;
    UG_RETURN_IF_ERROR(stage_seed(e, o, bt, v));
  }
  if (!e->nst) return NULL;
  /* back from the stored tiles to the math that computes them, each in its stage's layout */
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < kk->ops.len; i++) {
      const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
      if (o->num_results != 1 || !ck_stage_val(e, ug_kir_result(kk, o, 0))) continue;
      if (o->op != UG_KIR_EW && o->op != UG_KIR_BROADCAST && o->op != UG_KIR_GATHER) continue;
      uint8_t sr = e->stage[ug_kir_result(kk, o, 0)] & 0x7f;
      for (uint32_t j = o->op == UG_KIR_GATHER; j < o->num_operands; j++) {
        ug_kir_value_id_t x = ug_kir_operand(kk, o, j)->value;
        if (x == UG_NONE || ug_kir_value_type(kk, x)->kind != UG_KT_TILE || ck_tile_size(ug_kir_value_type(kk, x)) == 1)
          continue;
        if (e->stage[x] && e->stage[x] != sr) return ck_err(e, o, "a tile feeding stages of two shapes");
        if (e->stage[x]) continue;
        e->stage[x] = sr;
        changed = true;
      }
    }
  }
  /* a tile has one layout: every use of a stage-layout tile is stage-layout math or its store */
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    bool stage_op = (o->num_results == 1 && ck_stage_val(e, ug_kir_result(kk, o, 0))) || o->op == UG_KIR_ASYNC_GATHER ||
                    (o->op == UG_KIR_STORE && ug_kir_value_type(kk, ug_kir_operand(kk, o, 0)->value)->kind == UG_KT_SHARED);
    for (uint32_t j = 0; j < o->num_operands && !stage_op; j++)
      if (ck_stage_val(e, ug_kir_operand(kk, o, j)->value)) return ck_err(e, o, "a tile of the stage layout read by other math");
  }
  for (size_t i = 0; i < kk->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(kk, (ug_kir_op_id_t)i);
    if (o->num_results != 1 || !ck_stage_val(e, ug_kir_result(kk, o, 0))) continue;
    ug_kir_value_id_t r = ug_kir_result(kk, o, 0);
    const ug_type_t *t = &ug_kir_value_type(kk, r)->t;
    const ck_stage_t *sg = ck_stage_of(e, r);
    if (t->rank != 2 || (t->dims[0] != sg->R && t->dims[0] != 1) || (t->dims[1] != sg->C && t->dims[1] != 1))
      return ck_err(e, o, "a tile of another shape than its shared stage's");
    /* a 16-bit gather only stored (into a stage of its dtype) keeps its bits */
    if (o->op == UG_KIR_GATHER && ug_dtype_bits(t->dtype) == 16 && uses_of(kk, r) == 1 && raw_store(kk, r, t->dtype))
      e->stage[r] |= 0x80;
  }
  return NULL;
}

/* mma of f32 stages [128,16] x [16,128] into the f32 accumulator of 8
 * warps, in the arithmetic of --precision (contract.c's f32 GEMM math on
 * the same stage layout and fragments); below sm_80, and in the rerun of
 * 3xTF32's NaN slots (nan_rerun, kir_emit.c), exact per-slot dot
 * products. */
static ug_status_t emit_mma32(kemit_t *e, const ug_kir_op_data_t *o) {
  const ug_kir_operand_t *a = ug_kir_operand(e->kk, o, 0), *b = ug_kir_operand(e->kk, o, 1);
  const ug_kir_type_t *at = ug_kir_value_type(e->kk, a->value), *bt = ug_kir_value_type(e->kk, b->value);
  ug_kir_value_id_t c = ug_kir_operand(e->kk, o, 2)->value, r = ug_kir_result(e->kk, o, 0);
  if (e->bm != 128 || e->bn != 128 || e->threads != 256 || at->t.dims[0] != 128 || at->t.dims[1] != 16 ||
      bt->t.dims[0] != 16 || bt->t.dims[1] != 128)
    return ck_err(e, o, "an f32 shape other than [128,16] x [16,128] on 8 warps");
  char sa[256], sb[256];
  stage_offset(e, o, 0, sa, sizeof sa);
  stage_offset(e, o, 1, sb, sizeof sb);
  fprintf(e->f, "  float v%u[%d];\n#pragma unroll\n  for (int q = 0; q < %d; q++) v%u[q] = v%u[q];\n  {\n", r, ACC_SLOTS,
          ACC_SLOTS, r, c);
  if (!e->exact) {
    fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n");
    fprintf(e->f, "    const float *As = reinterpret_cast<const float *>(ug_smem + %s) + (ug_wm * 64 + (ug_lane >> 2)) * 24 + 2 * (ug_lane & 3);\n", sa);
    fprintf(e->f, "    const float *Bs = reinterpret_cast<const float *>(ug_smem + %s) + 2 * (ug_lane & 3) * 132 + ug_wn * 32 + (ug_lane >> 2);\n", sb);
    fprintf(e->f, "    float (&acc)[4][4][4] = *reinterpret_cast<float (*)[4][4][4]>(v%u);\n", r);
    ug_cuda_mma32_helpers(e->f, e->k->precision);
    ug_cuda_mma32_ktile(e->f, e->k->precision);
    fprintf(e->f, "#else\n");
  }
  fprintf(e->f, "    const float *As = reinterpret_cast<const float *>(ug_smem + %s), *Bs = reinterpret_cast<const float *>(ug_smem + %s);\n", sa, sb);
  fprintf(e->f, "#pragma unroll 1\n    for (int q = 0; q < %d; q++) {\n", ACC_SLOTS);
  fprintf(e->f, "      const int rr = %s, cc = %s;\n      float sum = 0.0f;\n", ACC_ROW("q"), ACC_COL("q"));
  fprintf(e->f, "      for (int kq = 0; kq < 16; kq++) sum += As[rr * 24 + kq] * Bs[kq * 132 + cc];\n");
  fprintf(e->f, "      v%u[q] += sum;\n    }\n", r);
  fprintf(e->f, "%s  }\n", e->exact ? "" : "#endif\n");
  return NULL;
}

/* mma %As[s], %Bs[s], %c: f16 / bf16 stages [128,K] and [K,128] into the
 * f32 accumulator [128,128] of 8 warps; ldmatrix (.trans for B) and
 * mma.sync m16n8k16 on sm_80 and newer, per-slot dot products below. */
ug_status_t ck_mma(kemit_t *e, const ug_kir_op_data_t *o) {
  const ug_kir_operand_t *a = ug_kir_operand(e->kk, o, 0), *b = ug_kir_operand(e->kk, o, 1);
  if (!a->access || !b->access) return ck_err(e, o, "register operands");
  const ug_kir_type_t *at = ug_kir_value_type(e->kk, a->value), *bt = ug_kir_value_type(e->kk, b->value);
  ug_kir_value_id_t c = ug_kir_operand(e->kk, o, 2)->value, r = ug_kir_result(e->kk, o, 0);
  ug_dtype_t dt = at->t.dtype;
  if (ug_kir_op_attr(e->kk, o, UG_KATTR_TRANS_A) || ug_kir_op_attr(e->kk, o, UG_KATTR_TRANS_B)) return ck_err(e, o, "transposed operands");
  if (dt == UG_DTYPE_F32 && bt->t.dtype == dt) return emit_mma32(e, o);
  if ((dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16) || bt->t.dtype != dt) return ck_err(e, o, "operands other than f16 / bf16 / f32");
  int64_t BK = at->t.dims[1];
  if (e->bm != 128 || e->bn != 128 || e->threads != 256 || at->t.dims[0] != 128 || bt->t.dims[1] != 128 ||
      bt->t.dims[0] != BK || BK % 16 != 0 || row_chunks(at) != 4)
    return ck_err(e, o, "a shape other than [128,32] x [32,128] on 8 warps");
  bool bf = dt == UG_DTYPE_BF16;
  char sa[256], sb[256], swa[96], swb[96];
  stage_offset(e, o, 0, sa, sizeof sa);
  stage_offset(e, o, 1, sb, sizeof sb);
  fprintf(e->f, "  float v%u[%d];\n#pragma unroll\n  for (int q = 0; q < %d; q++) v%u[q] = v%u[q];\n  {\n", r, ACC_SLOTS,
          ACC_SLOTS, r, c);
  fprintf(e->f, "    const unsigned As = %s, Bs = %s;\n", sa, sb);
  fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n");
  swizzle(4, "ar", "ac", swa, sizeof swa);
  swizzle(row_chunks(bt), "br", "bc", swb, sizeof swb);
  fprintf(e->f, "#pragma unroll\n    for (int kk = 0; kk < %lld; kk++) {\n      unsigned af[4][4], bf[4][2];\n", (long long)BK / 16);
  fprintf(e->f, "#pragma unroll\n      for (int mi = 0; mi < 4; mi++) {\n");
  fprintf(e->f, "        const int ar = ug_wm * 64 + mi * 16 + (ug_lane & 15), ac = kk * 2 + (ug_lane >> 4);\n");
  fprintf(e->f, "        const unsigned p = ug_sbase + As + (unsigned)(ar * %lld + (%s << 3)) * 2u;\n", (long long)BK, swa);
  fprintf(e->f, "        asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%%0, %%1, %%2, %%3}, [%%4];\\n\"\n"
                "                     : \"=r\"(af[mi][0]), \"=r\"(af[mi][1]), \"=r\"(af[mi][2]), \"=r\"(af[mi][3]) : \"r\"(p) : \"memory\");\n      }\n");
  fprintf(e->f, "#pragma unroll\n      for (int nj = 0; nj < 2; nj++) {\n");
  fprintf(e->f, "        const int br = kk * 16 + (ug_lane & 15), bc = ug_wn * 4 + nj * 2 + (ug_lane >> 4);\n");
  fprintf(e->f, "        const unsigned p = ug_sbase + Bs + (unsigned)(br * 128 + (%s << 3)) * 2u;\n", swb);
  fprintf(e->f, "        asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%%0, %%1, %%2, %%3}, [%%4];\\n\"\n"
                "                     : \"=r\"(bf[2 * nj][0]), \"=r\"(bf[2 * nj][1]), \"=r\"(bf[2 * nj + 1][0]), \"=r\"(bf[2 * nj + 1][1])\n"
                "                     : \"r\"(p) : \"memory\");\n      }\n");
  fprintf(e->f, "#pragma unroll\n      for (int mi = 0; mi < 4; mi++)\n#pragma unroll\n        for (int ni = 0; ni < 4; ni++) {\n");
  fprintf(e->f, "          float *x = &v%u[(mi * 4 + ni) * 4];\n", r);
  fprintf(e->f, "          asm(\"mma.sync.aligned.m16n8k16.row.col.f32.%s.%s.f32 {%%0, %%1, %%2, %%3}, {%%4, %%5, %%6, %%7}, {%%8, %%9}, {%%0, %%1, %%2, %%3};\\n\"\n",
          bf ? "bf16" : "f16", bf ? "bf16" : "f16");
  fprintf(e->f, "              : \"+f\"(x[0]), \"+f\"(x[1]), \"+f\"(x[2]), \"+f\"(x[3])\n"
                "              : \"r\"(af[mi][0]), \"r\"(af[mi][1]), \"r\"(af[mi][2]), \"r\"(af[mi][3]), \"r\"(bf[ni][0]), \"r\"(bf[ni][1]));\n        }\n    }\n");
  fprintf(e->f, "#else\n");
  char la[160], lb[160], sa2[96], sb2[96];
  swizzle(4, "rr", "(kq >> 3)", sa2, sizeof sa2);
  swizzle(row_chunks(bt), "kq", "(cc >> 3)", sb2, sizeof sb2);
  ug_cuda_load_expr(dt, "pa[0]", la, sizeof la);
  ug_cuda_load_expr(dt, "pb[0]", lb, sizeof lb);
  fprintf(e->f, "#pragma unroll 1\n    for (int q = 0; q < %d; q++) {\n", ACC_SLOTS);
  fprintf(e->f, "      const int rr = %s, cc = %s;\n      float sum = 0.0f;\n", ACC_ROW("q"), ACC_COL("q"));
  fprintf(e->f, "      for (int kq = 0; kq < %lld; kq++) {\n", (long long)BK);
  fprintf(e->f, "        const %s *pa = reinterpret_cast<const %s *>(ug_smem + As + (rr * %lld + (%s << 3) + (kq & 7)) * 2);\n",
          ug_cuda_stype(dt), ug_cuda_stype(dt), (long long)BK, sa2);
  fprintf(e->f, "        const %s *pb = reinterpret_cast<const %s *>(ug_smem + Bs + (kq * 128 + (%s << 3) + (cc & 7)) * 2);\n",
          ug_cuda_stype(dt), ug_cuda_stype(dt), sb2);
  fprintf(e->f, "        sum += %s * %s;\n      }\n      v%u[q] += sum;\n    }\n", la, lb, r);
  fprintf(e->f, "#endif\n  }\n");
  return NULL;
}

/* The async_copy into `buf` before op `before` in region r whose index
 * along axis `axis` of its global access is the immediate 0 (a pipeline's
 * first copy of k tile 0), or NULL. */
static const ug_kir_op_data_t *first_copy(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t before, ug_kir_value_id_t buf,
                                          int axis) {
  const ug_kir_region_t *reg = ug_kir_region(e->kk, r);
  for (size_t i = 0; i < reg->ops.len && reg->ops.items[i] != before; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(e->kk, reg->ops.items[i]);
    if (o->op != UG_KIR_ASYNC_COPY || ug_kir_operand(e->kk, o, 1)->value != buf) continue;
    const ug_kir_operand_t *g = ug_kir_operand(e->kk, o, 0);
    int rank = ug_kir_value_type(e->kk, g->value)->t.rank, ax = axis < 0 ? rank + axis : axis;
    const ug_kir_operand_t *x = ax >= 0 && (uint32_t)ax < g->nidx ? ug_kir_index(e->kk, g, (uint32_t)ax) : NULL;
    if (x && x->value == UG_NONE && x->imm == 0) return o;
  }
  return NULL;
}

/* 3xTF32's NaN fix-up (kir_emit.c nan_fixup) for iter arg i of a loop
 * whose f32 mma reads A and B copied from global matrices, the first
 * copies (k 0) issued before the loop: the slots that came out NaN are
 * recomputed as exact f32 dot products over the whole K from those
 * matrices.  *out_done false (nothing written) when the loop's tiles are
 * not such copies (a gathered tile, a split K's part of K). */
ug_status_t ck_nan_fixup_global(kemit_t *e, const ug_kir_op_data_t *loop, uint32_t i, bool *out_done) {
  *out_done = false;
  const ug_kir_region_t *body = ug_kir_region(e->kk, loop->regions);
  const ug_kir_op_data_t *y = ug_kir_op(e->kk, body->ops.items[body->ops.len - 1]);
  const ug_kir_value_t *yv = &e->kk->values.items[ug_kir_operand(e->kk, y, i)->value];
  const ug_kir_op_data_t *mma = ug_kir_op(e->kk, yv->def);
  const ug_kir_operand_t *a = ug_kir_operand(e->kk, mma, 0), *b = ug_kir_operand(e->kk, mma, 1);
  ug_kir_op_id_t lid = (ug_kir_op_id_t)(loop - e->kk->ops.items);
  const ug_kir_op_data_t *ca = first_copy(e, loop->parent, lid, a->value, -1), *cb = first_copy(e, loop->parent, lid, b->value, -2);
  if (!ca || !cb) return NULL;
  uint32_t ba, bb;
  ug_kir_value_id_t r = ug_kir_result(e->kk, loop, i);
  fprintf(e->f, "  {\n");
  UG_RETURN_IF_ERROR(ck_access2d_px(e, ca, 0, "fa", &ba));
  UG_RETURN_IF_ERROR(ck_access2d_px(e, cb, 0, "fb", &bb));
  fprintf(e->f, "#if __CUDA_ARCH__ >= 800\n#pragma unroll\n    for (int q = 0; q < %d; q++) {\n", ACC_SLOTS);
  fprintf(e->f, "      if (v%u[q] == v%u[q]) continue;\n", r, r);
  fprintf(e->f, "      const int rr = %s, cc = %s;\n", ACC_ROW("q"), ACC_COL("q"));
  fprintf(e->f, "      if (!fainb || !fbinb || far0 + rr >= farows || fbc0 + cc >= fbcols) continue;\n");
  fprintf(e->f, "      float x = 0.0f;\n#pragma unroll 1\n      for (int64_t kq = 0; kq < facols; kq++)\n");
  fprintf(e->f, "        x += a%u[fabase + rr * fald + kq] * a%u[fbbase + kq * fbld + cc];\n", ba, bb);
  fprintf(e->f, "      v%u[q] = x;\n    }\n#endif\n  }\n", r);
  *out_done = true;
  return NULL;
}

/* cluster_reduce %acc {combine} of the f32 accumulator layout on sm_90:
 * after a barrier (the pipeline's shared memory is free), ranks 1.. leave
 * their slots in their own shared memory (float4 j of thread t at
 * 16 (256 j + t): conflict-free), a cluster barrier, rank 0 combines them
 * in rank order through distributed shared memory (mapa +
 * ld.shared::cluster), a second cluster barrier keeps the others' shared
 * memory until it has read.  Below sm_90 a cluster is its rank 0 alone:
 * the tile itself. */
ug_status_t ck_cluster_reduce(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_kir_value_id_t x = ug_kir_operand(e->kk, o, 0)->value, r = ug_kir_result(e->kk, o, 0);
  const ug_kir_type_t *t = ug_kir_value_type(e->kk, x);
  if (ck_stage_val(e, x) || t->t.dtype != UG_DTYPE_F32 || t->t.rank != 2 || t->t.dims[0] != e->bm || t->t.dims[1] != e->bn ||
      e->bm != 128 || e->bn != 128 || e->threads != 256)
    return ck_err(e, o, "a cluster reduction of other than the [128,128] f32 accumulator of 8 warps");
  ug_op_t c = ug_kir_op_attr(e->kk, o, UG_KATTR_COMBINE)->op;
  const char *fmt = c == UG_OP_ADD ? "v%u[4 * j + %d] += %s;\n" : c == UG_OP_MAX ? "v%u[4 * j + %d] = fmaxf(v%u[4 * j + %d], %s);\n"
                                                                               : "v%u[4 * j + %d] = fminf(v%u[4 * j + %d], %s);\n";
  fprintf(e->f, "  float v%u[%d];\n#pragma unroll\n  for (int q = 0; q < %d; q++) v%u[q] = v%u[q];\n", r, ACC_SLOTS, ACC_SLOTS, r, x);
  fprintf(e->f, "#if __CUDA_ARCH__ >= 900\n  {\n    __syncthreads();\n    const unsigned red = ug_sbase + ug_tid * 16u;\n");
  fprintf(e->f, "    if (ug_crank != 0)\n#pragma unroll\n      for (int j = 0; j < %d; j++)\n", ACC_SLOTS / 4);
  fprintf(e->f, "        asm volatile(\"st.shared.v4.f32 [%%0], {%%1, %%2, %%3, %%4};\\n\" :: \"r\"(red + 4096u * j), \"f\"(v%u[4 * j]),\n"
                "                     \"f\"(v%u[4 * j + 1]), \"f\"(v%u[4 * j + 2]), \"f\"(v%u[4 * j + 3]) : \"memory\");\n", r, r, r, r);
  fprintf(e->f, "    asm volatile(\"barrier.cluster.arrive.release.aligned;\\nbarrier.cluster.wait.acquire.aligned;\\n\" ::: \"memory\");\n");
  fprintf(e->f, "    if (ug_crank == 0)\n#pragma unroll 1\n      for (unsigned p = 1; p < (unsigned)ug_csize; p++) {\n");
  fprintf(e->f, "        unsigned ra;\n        asm volatile(\"mapa.shared::cluster.u32 %%0, %%1, %%2;\\n\" : \"=r\"(ra) : \"r\"(red), \"r\"(p));\n");
  fprintf(e->f, "#pragma unroll\n        for (int j = 0; j < %d; j++) {\n          float w[4];\n", ACC_SLOTS / 4);
  fprintf(e->f, "          asm volatile(\"ld.shared::cluster.v4.f32 {%%0, %%1, %%2, %%3}, [%%4];\\n\"\n"
                "                       : \"=f\"(w[0]), \"=f\"(w[1]), \"=f\"(w[2]), \"=f\"(w[3]) : \"r\"(ra + 4096u * j) : \"memory\");\n");
  for (int h = 0; h < 4; h++) {
    char wv[16];
    snprintf(wv, sizeof wv, "w[%d]", h);
    fputs("          ", e->f);
    if (c == UG_OP_ADD) fprintf(e->f, fmt, r, h, wv);
    else fprintf(e->f, fmt, r, h, r, h, wv);
  }
  fprintf(e->f, "        }\n      }\n");
  fprintf(e->f, "    asm volatile(\"barrier.cluster.arrive.release.aligned;\\nbarrier.cluster.wait.acquire.aligned;\\n\" ::: \"memory\");\n");
  fprintf(e->f, "  }\n#endif\n");
  return NULL;
}

/* async_gather %g, %offsets, %mask?, %Xs[stage] of runs (offsets and mask
 * per row, in the stage layout: a thread's chunk j holds its row's in slot
 * j * W): each 16-byte chunk of the stage, where async_copy puts it, by
 * cp.async from the row's offset plus the chunk's first column when the
 * run's mask holds and the chunk is inside %g and aligned, zero-filled
 * (cp.async of 0 bytes) where the mask drops the run; element loads and a
 * 16-byte shared store otherwise (and below sm_80). */
ug_status_t ck_async_gather(kemit_t *e, const ug_kir_op_data_t *o) {
  uint32_t last = o->num_operands - 1;
  ug_kir_value_id_t g = ug_kir_operand(e->kk, o, 0)->value, off = ug_kir_operand(e->kk, o, 1)->value;
  ug_kir_value_id_t mask = last == 3 ? ug_kir_operand(e->kk, o, 2)->value : UG_NONE;
  const ug_kir_type_t *st = ug_kir_value_type(e->kk, ug_kir_operand(e->kk, o, last)->value), *gt = ug_kir_value_type(e->kk, g);
  int bits = ug_dtype_bits(st->t.dtype);
  if ((bits != 16 && bits != 32) || st->t.rank != 2) return ck_err(e, o, "a gather into other than a 2-D stage of 16- or 32-bit values");
  if (ug_kir_value_type(e->kk, off)->t.dims[1] != 1 || (mask != UG_NONE && ug_kir_value_type(e->kk, mask)->t.dims[1] != 1) ||
      !ck_stage_val(e, off) || (mask != UG_NONE && !ck_stage_val(e, mask)))
    return ck_err(e, o, "an async gather other than of runs");
  bool f32 = bits == 32;
  int per = f32 ? 4 : 8;
  int64_t C = st->t.dims[1], CC = C / per, chunks = st->t.dims[0] * CC;
  if (chunks % e->threads != 0) return ck_err(e, o, "tile shape");
  char so[256], sw[96], n[UG_CUDA_PROD];
  stage_offset(e, o, last, so, sizeof so);
  swizzle(CC, "r", "c", sw, sizeof sw);
  ug_cuda_prodstr(&gt->t, 0, gt->t.rank, n, sizeof n);
  uint32_t a = e->kk->values.items[g].index;
  char m[64];
  if (mask == UG_NONE) snprintf(m, sizeof m, "true");
  else snprintf(m, sizeof m, "v%u[j * %d]", mask, per);
  fprintf(e->f, "  {\n    const unsigned so = %s;\n    const uint64_t n = (uint64_t)(%s);\n", so, n);
  fprintf(e->f, "    const unsigned %s*au = reinterpret_cast<const unsigned %s*>(a%u);\n", f32 ? "" : "short ", f32 ? "" : "short ", a);
  chunk_loop(e, st, chunks, CC, sw);
  fprintf(e->f, "      const bool m = %s;\n      const int64_t g = (int64_t)v%u[j * %d] + c * %d;\n", m, off, per, per);
  fprintf(e->f, "      const bool in = m && g >= 0 && (uint64_t)g + %d <= n;\n", per);
  chunk_cp_async(e, "!m || (in && ((unsigned long long)(au + g) & 15) == 0)", "in");
  chunk_elems(e, f32, true);
  return NULL;
}
