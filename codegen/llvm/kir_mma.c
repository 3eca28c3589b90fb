/* The kernel IR's mma on the CPU (docs/codegen.md, "Kernel IR on the
 * CPU"): the register-blocked GEMM of gemm.c on buffers, over the part of
 * each shared stage that a global load filled, or on the global tile in
 * place when the stage only relays it. */
#include "codegen/llvm/gemm.h"
#include "codegen/llvm/kir_cpu.h"

/* ---- mma operands ---- */

static bool same_index(const ug_kir_operand_t *a, const ug_kir_operand_t *b) {
  return a->value == b->value && (a->value != UG_NONE || a->imm == b->imm);
}

static ug_kir_op_id_t def_op(kemit_t *e, ug_kir_value_id_t v) {
  const ug_kir_value_t *d = &e->k->values.items[v];
  return d->def_kind == UG_KV_RESULT ? d->def : UG_NONE;
}

/* Whether op o may write memory other than shared buffers it names: global
 * stores, copies, and regions (whose bodies are not looked into). */
static bool may_write(kemit_t *e, const ug_kir_op_data_t *o) {
  if (o->op == UG_KIR_STORE) return kc_vtype(e, ug_kir_operand(e->k, o, 0)->value)->kind != UG_KT_SHARED;
  return o->op == UG_KIR_ASYNC_COPY || o->op == UG_KIR_FOR || o->op == UG_KIR_IF || o->op == UG_KIR_ROLE;
}

static bool writes_between(kemit_t *e, const ug_kir_region_t *reg, size_t from, size_t to) {
  for (size_t i = from + 1; i < to; i++)
    if (may_write(e, ug_kir_op(e->k, reg->ops.items[i]))) return true;
  return false;
}

/* The stage an mma reads (operand `acc`, op number `at` of region reg) as
 * the tile of one global load: the last store into that buffer before the
 * mma, in this region with nothing between that may write it, stored an
 * unmasked, `other`-0 load of a global buffer into the same stage.
 * The stage then holds the global tile with zeros outside the buffer, so
 * the mma may read only the part inside it (emit_mma).  *store gets the
 * store. */
static ug_kir_op_id_t stage_source(kemit_t *e, const ug_kir_region_t *reg, size_t at, const ug_kir_operand_t *acc,
                                   ug_kir_op_id_t *store) {
  ug_kir_kernel_t *k = e->k;
  size_t si = at;
  while (si-- > 0) {
    const ug_kir_op_data_t *o = ug_kir_op(k, reg->ops.items[si]);
    if (o->op == UG_KIR_STORE && ug_kir_operand(k, o, 0)->value == acc->value) break;
    if (may_write(e, o) && o->op != UG_KIR_STORE) return UG_NONE;
  }
  if (si == (size_t)-1) return UG_NONE;
  const ug_kir_op_data_t *st = ug_kir_op(k, reg->ops.items[si]);
  const ug_kir_operand_t *sa = ug_kir_operand(k, st, 0);
  if (st->num_operands != 2 || !same_index(ug_kir_index(k, sa, 0), ug_kir_index(k, acc, 0))) return UG_NONE;
  ug_kir_op_id_t ld = def_op(e, kc_opnd_value(e, st, 1));
  if (ld == UG_NONE) return UG_NONE;
  const ug_kir_op_data_t *lo = ug_kir_op(k, ld);
  const ug_kir_attr_t *other = ug_kir_op_attr(k, lo, UG_KATTR_OTHER);
  if (lo->op != UG_KIR_LOAD || lo->parent != st->parent || lo->num_operands != 1 || (other && other->f != 0.0) ||
      kc_vtype(e, ug_kir_operand(k, lo, 0)->value)->kind != UG_KT_GLOBAL)
    return UG_NONE;
  *store = reg->ops.items[si];
  return ld;
}

/* For every mma: where its shared operands come from, and which of them
 * it reads in place (their load and store are skipped). */
void kc_find_mma_sources(kemit_t *e) {
  ug_kir_kernel_t *k = e->k;
  for (uint32_t id = 0; id < k->ops.len; id++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, id);
    if (o->op != UG_KIR_MMA) continue;
    const ug_kir_region_t *reg = ug_kir_region(k, o->parent);
    size_t at = 0;
    while (at < reg->ops.len && reg->ops.items[at] != id) at++;
    ug_dtype_t acc_dt = kc_vtype(e, ug_kir_result(k, o, 0))->t.dtype;
    for (uint32_t i = 0; i < 2; i++) {
      const ug_kir_operand_t *a = ug_kir_operand(k, o, i);
      mma_src_t *ms = &e->mma[id][i];
      ms->src = UG_NONE;
      if (!a->access) continue;
      ug_kir_op_id_t st = UG_NONE;
      ms->src = stage_source(e, reg, at, a, &st);
      if (ms->src == UG_NONE) continue;
      /* in place: the global holds compute values, the loaded tile and the
       * stage have no other use, nothing writes memory from the load on */
      const ug_kir_op_data_t *lo = ug_kir_op(k, ms->src);
      ug_kir_value_id_t tile = ug_kir_result(k, lo, 0);
      size_t li = 0;
      while (reg->ops.items[li] != ms->src) li++;
      ms->direct = kc_vtype(e, ug_kir_operand(k, lo, 0)->value)->t.dtype == acc_dt && e->vals[tile].uses == 1 &&
                   e->vals[a->value].uses == 2 && !writes_between(e, reg, li, at);
      /* the load, the store and (unused now) the shared buffer go */
      if (ms->direct) e->skip[ms->src] = e->skip[st] = e->skip[def_op(e, a->value)] = true;
    }
  }
}

ug_status_t kc_plan_mma(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = e->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  const ug_kir_attr_t *ta = ug_kir_op_attr(k, o, UG_KATTR_TRANS_A), *tb = ug_kir_op_attr(k, o, UG_KATTR_TRANS_B);
  if ((ta && ta->i) || (tb && tb->i)) return kc_kerr(e, o, "transposed operands: not supported on the cpu");
  ug_kir_value_id_t res = ug_kir_result(k, o, 0), c = kc_opnd_value(e, o, 2);
  const ug_type_t *rt = &kc_vtype(e, res)->t;
  if (!ug_cg_gemm_supported(rt->dtype))
    return kc_kerr(e, o, "accumulates in %s: not supported on the cpu (f32, f64)", ug_dtype_name(rt->dtype));
  for (uint32_t i = 0; i < 2; i++) {
    const ug_kir_operand_t *a = ug_kir_operand(k, o, i);
    ug_dtype_t dt = kc_vtype(e, a->value)->t.dtype;
    if (!ug_dtype_is_float(dt) || ug_dtype_compute(dt) != rt->dtype)
      return kc_kerr(e, o, "%s operands into a %s accumulator: not supported on the cpu", ug_dtype_name(dt), ug_dtype_name(rt->dtype));
    if (!a->access && e->vals[a->value].kind == K_UNIFORM)
      return kc_kerr(e, o, "a one-element operand: not supported on the cpu");
  }
  kval_t *rv = &e->vals[res], *cv = &e->vals[c];
  rv->kind = K_BUF;
  /* accumulate in place when the accumulator has no other use */
  rv->off = cv->kind == K_BUF && cv->off >= 0 && cv->uses == 1 ? cv->off : kc_new_buffer(e, rt);
  kc_plan_single(e, r, id, true, false, false);
  return NULL;
}

/* ---- mma ---- */

/* The part of the global tile that load ld reads that lies inside its
 * buffer: tile rows [lo[0], hi[0]) and columns [lo[1], hi[1]) (empty when
 * an outer coordinate is outside; the origin may be negative). */
static void tile_extent(kemit_t *e, const ug_kir_op_data_t *ld, LLVMValueRef *lo, LLVMValueRef *hi) {
  ug_cg_t *cg = e->cg;
  kaccess_t a;
  kc_access_init(e, ld, &kc_vtype(e, ug_kir_result(e->k, ld, 0))->t, &a);
  LLVMValueRef zero = ug_cg_i64(cg, 0);
  for (int j = 0; j < 2; j++) {
    int i = a.R - 2 + j;
    LLVMValueRef T = ug_cg_i64(cg, a.tt->dims[j]);
    lo[j] = ug_cg_imin(cg, ug_cg_imax(cg, LLVMBuildNeg(cg->b, a.origin[i], ""), zero), T);
    hi[j] = ug_cg_imin(cg, ug_cg_imax(cg, LLVMBuildSub(cg->b, a.g->dims[i], a.origin[i], ""), lo[j]), T);
  }
  for (int i = 0; i < a.R - 2; i++)
    hi[0] = LLVMBuildSelect(cg->b, kc_in_range(e, a.origin[i], a.g->dims[i]), hi[0], lo[0], "");
}

/* c + a @ b through the register-blocked GEMM (gemm.c), into the result's
 * buffer.  An operand whose stage holds one global load's tile
 * (stage_source) is zeros outside the part inside the buffer, so the GEMM
 * runs over that part only: rows from a's, columns from b's, depth where
 * both are inside, each a [lo, hi) range of the tile.  Operands that
 * find_mma_sources marks are read in place from the global buffer. */
ug_status_t kc_emit_mma(kemit_t *e, ug_kir_op_id_t id) {
  ug_cg_t *cg = e->cg;
  ug_kir_kernel_t *k = e->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  ug_kir_value_id_t res = ug_kir_result(k, o, 0);
  const ug_type_t *rt = &kc_vtype(e, res)->t;
  LLVMValueRef zero = ug_cg_i64(cg, 0);
  int64_t depth_n = kc_vtype(e, kc_opnd_value(e, o, 0))->t.dims[1];
  /* ranges of the result's rows, columns and the depth */
  LLVMValueRef lo[3] = {zero, zero, zero};
  LLVMValueRef hi[3] = {ug_cg_i64(cg, rt->dims[0]), ug_cg_i64(cg, rt->dims[1]), ug_cg_i64(cg, depth_n)};
  LLVMValueRef ptr[2], ld[2];
  for (uint32_t i = 0; i < 2; i++) {
    const ug_kir_operand_t *a = ug_kir_operand(k, o, i);
    const ug_type_t *t = &kc_vtype(e, a->value)->t;
    const mma_src_t *ms = &e->mma[id][i];
    if (ms->direct) {
      kaccess_t ac;
      const ug_kir_op_data_t *lo_op = ug_kir_op(k, ms->src);
      kc_access_init(e, lo_op, &kc_vtype(e, ug_kir_result(k, lo_op, 0))->t, &ac);
      LLVMValueRef off = kc_access_offset(e, &ac, false, NULL);
      ptr[i] = LLVMBuildGEP2(cg->b, ug_cg_ctype(cg, ac.dt), ac.base, &off, 1, "");
      ld[i] = ac.g->strides[ac.R - 2];
    } else if (a->access) {
      LLVMValueRef st = ug_cg_imul(cg, kc_index_operand(e, ug_kir_index(k, a, 0)), ug_cg_i64(cg, kc_numel(t)));
      ptr[i] = kc_elem_ptr(e, e->vals[a->value].buf, t->dtype, st);
      ld[i] = ug_cg_i64(cg, t->dims[1]);
    } else {
      UG_ASSERT(e->vals[a->value].buf);
      ptr[i] = e->vals[a->value].buf;
      ld[i] = ug_cg_i64(cg, t->dims[1]);
    }
    if (ms->src == UG_NONE) continue;
    /* a: rows x depth, b: depth x columns */
    LLVMValueRef l[2], h[2];
    tile_extent(e, ug_kir_op(k, ms->src), l, h);
    int outer = i == 0 ? 0 : 1, inner = i == 0 ? 1 : 0;
    lo[outer] = l[outer];
    hi[outer] = h[outer];
    lo[2] = ug_cg_imax(cg, lo[2], l[inner]);
    hi[2] = ug_cg_imin(cg, hi[2], h[inner]);
  }
  LLVMValueRef ext[3];
  for (int j = 0; j < 3; j++) ext[j] = ug_cg_imax(cg, LLVMBuildSub(cg->b, hi[j], lo[j], ""), zero);
  /* the GEMM starts at (rows lo, depth lo) of a, (depth lo, columns lo) of b */
  LLVMValueRef pa = kc_elem_ptr(e, ptr[0], rt->dtype, ug_cg_iadd(cg, ug_cg_imul(cg, lo[0], ld[0]), lo[2]));
  LLVMValueRef pb = kc_elem_ptr(e, ptr[1], rt->dtype, ug_cg_iadd(cg, ug_cg_imul(cg, lo[2], ld[1]), lo[1]));
  kval_t *rv = &e->vals[res];
  kc_copy_tile(e, rv->buf, kc_opnd_value(e, o, 2));
  LLVMValueRef ldc = ug_cg_i64(cg, rt->dims[1]);
  LLVMValueRef pc = kc_elem_ptr(e, rv->buf, rt->dtype, ug_cg_iadd(cg, ug_cg_imul(cg, lo[0], ldc), lo[1]));
  ug_cg_gemm(cg, rt->dtype, ext[0], ext[1], ext[2], pa, ld[0], pb, ld[1], pc, ldc);
  return NULL;
}

