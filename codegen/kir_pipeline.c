/* software-pipeline: the kernel-IR pass that turns a K loop's staged copies
 * into asynchronous copies S stages ahead (kir_pipeline.h). */
#include "codegen/kir_pipeline.h"

#include <math.h>
#include <string.h>

typedef struct {
  ug_kir_kernel_t *src, *dst;
  ug_kir_operand_t *map; /* per source value: its operand in dst (value UG_NONE and imm: an immediate) */
  bool *mapped;
} swp_t;

static ug_kir_operand_t mapped(swp_t *P, const ug_kir_operand_t *a) {
  if (a->value == UG_NONE) return *a;
  return P->map[a->value];
}

/* Copies op o of src into region r of dst, its operands through the map
 * (stage operands of the buffers in `restage` replaced by `stage`), its
 * results mapped to the new values; regions are copied recursively. */
static void clone_op(swp_t *P, ug_kir_region_id_t r, ug_kir_op_id_t id, const bool *restage, ug_kir_operand_t stage);

static void clone_region(swp_t *P, ug_kir_region_id_t sr, ug_kir_region_id_t dr, const bool *restage,
                         ug_kir_operand_t stage) {
  const ug_kir_region_t *reg = ug_kir_region(P->src, sr);
  for (size_t i = 0; i < reg->ops.len; i++) clone_op(P, dr, reg->ops.items[i], restage, stage);
}

static void clone_op(swp_t *P, ug_kir_region_id_t r, ug_kir_op_id_t id, const bool *restage, ug_kir_operand_t stage) {
  ug_kir_kernel_t *S = P->src, *D = P->dst;
  const ug_kir_op_data_t *o = ug_kir_op(S, id);
  ug_kir_op_id_t n = ug_kir_begin(D, r, o->op, o->loc);
  ug_kir_op_data_t *no = ug_kir_op(D, n);
  no->ew = o->ew;
  no->stages = 0;
  no->role = o->role;
  no->warp_lo = o->warp_lo;
  no->warp_hi = o->warp_hi;
  no->regs = o->regs;
  for (uint32_t i = 0; i < o->num_operands; i++) {
    const ug_kir_operand_t *a = ug_kir_operand(S, o, i);
    if (!a->access) {
      ug_kir_push_operand(D, n, mapped(P, a));
      continue;
    }
    ug_kir_operand_t idx[UG_MAX_RANK + 1];
    for (uint32_t j = 0; j < a->nidx && j <= UG_MAX_RANK; j++) idx[j] = mapped(P, ug_kir_index(S, a, j));
    if (restage && restage[a->value]) idx[0] = stage;
    ug_kir_push_access(D, n, P->map[a->value].value, idx, a->nidx);
  }
  for (uint32_t i = 0; i < o->num_attrs; i++) ug_kir_push_attr(D, n, ug_kir_attrs(S, o)[i]);
  for (uint32_t i = 0; i < o->num_results; i++) {
    ug_kir_value_id_t v = ug_kir_result(S, o, i);
    const ug_kir_value_t *sv = &S->values.items[v];
    P->map[v] = ug_kir_val(ug_kir_push_result(D, n, &sv->type, sv->name));
  }
  if (o->num_regions == 0) return;
  ug_kir_region_id_t first = UG_NONE;
  for (uint32_t q = 0; q < o->num_regions; q++) {
    const ug_kir_region_t *sr = ug_kir_region(S, o->regions + q);
    ug_kir_type_t types[16];
    for (uint32_t j = 0; j < sr->num_args && j < 16; j++) types[j] = ug_kir_value_type(S, ug_kir_region_arg(S, sr, j))[0];
    ug_kir_region_id_t dr = ug_kir_add_region(D, n, types, sr->num_args < 16 ? sr->num_args : 16);
    if (q == 0) first = dr;
    for (uint32_t j = 0; j < sr->num_args && j < 16; j++)
      P->map[ug_kir_region_arg(S, sr, j)] = ug_kir_val(ug_kir_region_arg(D, ug_kir_region(D, dr), j));
  }
  for (uint32_t q = 0; q < o->num_regions; q++) clone_region(P, o->regions + q, first + q, restage, stage);
}

/* ---- recognizing the plain form ---- */

typedef struct {
  ug_kir_op_id_t loop;
  uint32_t nc;                /* copies: load lds[i] then store sts[i] into buf[i] */
  ug_kir_op_id_t lds[8], sts[8];
  ug_kir_value_id_t buf[8];
  uint32_t nf;                /* fills: store fsts[i] of a computed tile fval[i] into fbuf[i] */
  ug_kir_op_id_t fsts[8];
  ug_kir_value_id_t fval[8], fbuf[8];
  uint32_t barrier1;          /* position in the body of the barrier after the stores */
  bool tail_barrier;          /* a barrier right before the yield (dropped) */
  bool async_fills;           /* every fill a gather of runs (other 0): issued as async_gather copies */
} plain_t;

/* Tile math a fill may compute before the barrier. */
static bool fill_op(ug_kir_kernel_t *k, const ug_kir_op_data_t *o) {
  switch (o->op) {
  case UG_KIR_EW: return ug_kir_value_type(k, ug_kir_result(k, o, 0))->kind == UG_KT_TILE;
  case UG_KIR_IOTA: case UG_KIR_SPLAT: case UG_KIR_BROADCAST: case UG_KIR_RESHAPE: return true;
  case UG_KIR_GATHER: return ug_kir_value_type(k, ug_kir_operand(k, o, 0)->value)->kind == UG_KT_GLOBAL;
  default: return false;
  }
}

static bool uses_value(ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_kir_value_id_t v) {
  for (uint32_t i = 0; i < o->num_operands; i++) {
    const ug_kir_operand_t *a = ug_kir_operand(k, o, i);
    if (a->value == v) return true;
    for (uint32_t j = 0; a->access && j < a->nidx; j++)
      if (ug_kir_index(k, a, j)->value == v) return true;
  }
  for (uint32_t q = 0; q < o->num_regions; q++) {
    const ug_kir_region_t *r = ug_kir_region(k, o->regions + q);
    for (size_t i = 0; i < r->ops.len; i++)
      if (uses_value(k, ug_kir_op(k, r->ops.items[i]), v)) return true;
  }
  return false;
}

static uint32_t count_uses(ug_kir_kernel_t *k, ug_kir_region_id_t rid, ug_kir_value_id_t v) {
  const ug_kir_region_t *r = ug_kir_region(k, rid);
  uint32_t n = 0;
  for (size_t i = 0; i < r->ops.len; i++) n += uses_value(k, ug_kir_op(k, r->ops.items[i]), v);
  return n;
}

/* Index math a + b, a * b in region r of d on operands that may be
 * immediates (folded). */
static ug_kir_operand_t op_add(ug_kir_kernel_t *d, ug_kir_region_id_t r, ug_kir_operand_t a, ug_kir_operand_t b) {
  if (a.value == UG_NONE && b.value == UG_NONE) return ug_kir_imm(ug_dim_add(d->module->dims, a.imm, b.imm));
  if (b.value == UG_NONE && b.imm == 0) return a;
  if (a.value == UG_NONE && a.imm == 0) return b;
  return ug_kir_index_op(d, r, UG_OP_ADD, a, b);
}

static ug_kir_operand_t op_mul(ug_kir_kernel_t *d, ug_kir_region_id_t r, ug_kir_operand_t a, ug_dim_t b) {
  if (a.value == UG_NONE) return ug_kir_imm(ug_dim_mul(d->module->dims, a.imm, b));
  return b == 1 ? a : ug_kir_index_op(d, r, UG_OP_MUL, a, ug_kir_imm(b));
}

/* Whether for-loop `loop` is the plain form: before the first barrier only
 * index math, pairs `%x = load %G[...]; store %Xs[0], %x` (copies) and
 * tile math ending in `store %Xs[0], %x` (fills: %x computed, a gather
 * of im2col offsets), each %x used by its store alone, %Xs a one-stage
 * shared buffer of the kernel stored nowhere else; after it ops that read
 * those buffers at stage 0 and no value of the tile math; then optionally
 * a barrier, and the yield. */
static bool match_plain(ug_kir_kernel_t *k, ug_kir_op_id_t loop, plain_t *out) {
  memset(out, 0, sizeof *out);
  out->loop = loop;
  const ug_kir_op_data_t *lo = ug_kir_op(k, loop);
  if (ug_kir_operand(k, lo, 2)->value != UG_NONE) return false; /* the step: an immediate (bounds may be values) */
  ug_kir_region_id_t rid = lo->regions;
  const ug_kir_region_t *body = ug_kir_region(k, rid);
  size_t i = 0;
  for (; i < body->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, body->ops.items[i]);
    if (o->op == UG_KIR_BARRIER) break;
    if (o->op == UG_KIR_EW && ug_kir_value_type(k, ug_kir_result(k, o, 0))->kind == UG_KT_INDEX) continue;
    if (fill_op(k, o)) continue;
    if (o->op == UG_KIR_LOAD) {
      if (out->nc == 8 || o->num_operands != 1) return false;
      if (ug_kir_value_type(k, ug_kir_operand(k, o, 0)->value)->kind != UG_KT_GLOBAL) return false;
      out->lds[out->nc++] = body->ops.items[i];
      continue;
    }
    if (o->op != UG_KIR_STORE || o->num_operands != 2) return false;
    const ug_kir_operand_t *a = ug_kir_operand(k, o, 0);
    const ug_kir_type_t *bt = ug_kir_value_type(k, a->value);
    const ug_kir_operand_t *st = ug_kir_index(k, a, 0);
    if (bt->kind != UG_KT_SHARED || bt->stages != 1 || st->value != UG_NONE || st->imm != 0) return false;
    ug_kir_value_id_t x = ug_kir_operand(k, o, 1)->value;
    if (count_uses(k, rid, x) != 1) return false;
    uint32_t c = 0;
    while (c < out->nc && ug_kir_result(k, ug_kir_op(k, out->lds[c]), 0) != x) c++;
    if (c < out->nc) {
      if (out->sts[c]) return false;
      out->sts[c] = body->ops.items[i];
      out->buf[c] = a->value;
      continue;
    }
    /* a fill: x made by tile math of this body */
    const ug_kir_value_t *xv = &k->values.items[x];
    if (out->nf == 8 || xv->def_kind != UG_KV_RESULT || ug_kir_op(k, xv->def)->parent != rid ||
        !fill_op(k, ug_kir_op(k, xv->def)))
      return false;
    out->fsts[out->nf] = body->ops.items[i];
    out->fval[out->nf] = x;
    out->fbuf[out->nf++] = a->value;
  }
  if (i == body->ops.len || out->nc + out->nf == 0) return false;
  for (uint32_t c = 0; c < out->nc + out->nf; c++) {
    if (c < out->nc && !out->sts[c]) return false;
    ug_kir_op_id_t st = c < out->nc ? out->sts[c] : out->fsts[c - out->nc];
    ug_kir_value_id_t buf = c < out->nc ? out->buf[c] : out->fbuf[c - out->nc];
    /* the buffer is stored by this copy alone */
    for (size_t j = 0; j < k->ops.len; j++) {
      const ug_kir_op_data_t *o = ug_kir_op(k, (ug_kir_op_id_t)j);
      if ((ug_kir_op_id_t)j != st && (o->op == UG_KIR_STORE || o->op == UG_KIR_ASYNC_COPY) &&
          ug_kir_operand(k, o, o->op == UG_KIR_STORE ? 0 : 1)->value == buf)
        return false;
    }
  }
  /* the tile math feeds the fills alone: nothing after the barrier reads it */
  for (size_t j = 0; j < i; j++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, body->ops.items[j]);
    if (!fill_op(k, o)) continue;
    for (size_t q = i + 1; q < body->ops.len; q++)
      if (uses_value(k, ug_kir_op(k, body->ops.items[q]), ug_kir_result(k, o, 0))) return false;
  }
  out->barrier1 = (uint32_t)i;
  /* fills that are gathers of runs with zeros where masked copy asynchronously, S-1 tiles ahead */
  out->async_fills = out->nf > 0;
  for (uint32_t c = 0; c < out->nf; c++) {
    const ug_kir_op_data_t *g = ug_kir_op(k, k->values.items[out->fval[c]].def);
    const ug_kir_attr_t *oth = g->op == UG_KIR_GATHER ? ug_kir_op_attr(k, g, UG_KATTR_OTHER) : NULL;
    const ug_type_t *rt = g->op == UG_KIR_GATHER ? &ug_kir_value_type(k, out->fval[c])->t : NULL;
    const ug_type_t *ot = g->op == UG_KIR_GATHER ? &ug_kir_value_type(k, ug_kir_operand(k, g, 1)->value)->t : NULL;
    bool runs = rt && rt->rank >= 1 && ot->rank == rt->rank && ot->dims[rt->rank - 1] == 1 && rt->dims[rt->rank - 1] != 1;
    if (!runs || (oth && oth->f != 0.0)) out->async_fills = false;
  }
  for (i = i + 1; i < body->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, body->ops.items[i]);
    if (o->op == UG_KIR_LOAD || o->op == UG_KIR_STORE || o->op == UG_KIR_ASYNC_COPY || o->num_regions) {
      /* no other memory traffic on the pipelined buffers after the barrier but reads */
      if (o->op != UG_KIR_LOAD) return false;
    }
    if (o->op == UG_KIR_BARRIER) {
      if (i + 2 != body->ops.len) return false;
      out->tail_barrier = true;
    }
  }
  return ug_kir_op(k, body->ops.items[body->ops.len - 1])->op == UG_KIR_YIELD || lo->num_results == 0;
}

/* Stages: enough that S-1 tiles in flight cover the memory latency while
 * one is computed (an iteration's mma flops at the block's share of the
 * tensor-core rate), at least 2, at most what the loop allows and what the
 * shared-memory budget holds. */
static uint32_t choose_stages(ug_kir_kernel_t *k, const plain_t *pl, const ug_kir_swp_model_t *m) {
  const ug_kir_op_data_t *lo = ug_kir_op(k, pl->loop);
  const ug_kir_region_t *body = ug_kir_region(k, lo->regions);
  double flops = 0;
  for (size_t i = 0; i < body->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, body->ops.items[i]);
    if (o->op != UG_KIR_MMA) continue;
    const ug_type_t *c = &ug_kir_value_type(k, ug_kir_result(k, o, 0))->t;
    const ug_kir_type_t *a = ug_kir_value_type(k, ug_kir_operand(k, o, 0)->value);
    flops += 2.0 * (double)c->dims[0] * (double)c->dims[1] * (double)a->t.dims[1];
  }
  uint64_t stage_bytes = 0;
  for (uint32_t c = 0; c < pl->nc + pl->nf; c++) {
    const ug_kir_type_t *t = ug_kir_value_type(k, c < pl->nc ? pl->buf[c] : pl->fbuf[c - pl->nc]);
    uint64_t n = (uint64_t)ug_dtype_bits(t->t.dtype) / 8;
    for (int j = 0; j < t->t.rank; j++) n *= (uint64_t)t->t.dims[j];
    stage_bytes += n;
  }
  double t_iter = flops > 0 && m->flops_per_ns > 0 ? flops / m->flops_per_ns : 1.0;
  uint32_t s = 1 + (uint32_t)ceil(m->latency_ns / t_iter);
  uint32_t cap = lo->stages;
  if (stage_bytes && m->smem_bytes / stage_bytes < cap) cap = (uint32_t)(m->smem_bytes / stage_bytes);
  if (s > cap) s = cap;
  return s < 2 ? 2 : s;
}

/* What issue() writes of the ops before the first barrier. */
typedef enum {
  ISSUE_COPIES,      /* index math, the copies as async_copy, their group's commit */
  ISSUE_FILLS_LATER, /* index and tile math: the fills' values, stored by the caller */
  ISSUE_ALL,         /* both, the fills stored at once */
} issue_t;

static void store_fills(swp_t *P, const plain_t *pl, ug_kir_region_id_t r, ug_kir_operand_t stage) {
  for (uint32_t c = 0; c < pl->nf && !pl->async_fills; c++)
    ug_kir_store(P->dst, r, P->map[pl->fbuf[c]].value, &stage, 1, P->map[pl->fval[c]].value, UG_NONE);
}

/* The ops before the first barrier (what `what` says of them) with the
 * induction variable mapped to `iv`, every copy and fill into stage
 * `stage`. */
static void issue(swp_t *P, const plain_t *pl, ug_kir_region_id_t r, ug_kir_operand_t iv, ug_kir_operand_t stage,
                  ug_kir_region_id_t commit_r, issue_t what) {
  ug_kir_kernel_t *S = P->src, *D = P->dst;
  const ug_kir_op_data_t *lo = ug_kir_op(S, pl->loop);
  const ug_kir_region_t *body = ug_kir_region(S, lo->regions);
  P->map[ug_kir_region_arg(S, body, 0)] = iv;
  for (uint32_t i = 0; i < pl->barrier1; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(S, body->ops.items[i]);
    bool index = o->op == UG_KIR_EW && ug_kir_value_type(S, ug_kir_result(S, o, 0))->kind == UG_KT_INDEX;
    /* async fills: their offsets' and masks' math with the copies, the gathers become async_gather */
    bool fill = fill_op(S, o) && (pl->async_fills ? what != ISSUE_FILLS_LATER && o->op != UG_KIR_GATHER : what != ISSUE_COPIES);
    if (index || fill) clone_op(P, r, body->ops.items[i], NULL, stage);
  }
  if (what == ISSUE_ALL) store_fills(P, pl, r, stage);
  uint32_t nasync = pl->async_fills ? pl->nf : 0;
  if (what == ISSUE_FILLS_LATER || pl->nc + nasync == 0) return;
  ug_kir_value_id_t toks[16];
  for (uint32_t c = 0; c < nasync; c++) {
    const ug_kir_op_data_t *g = ug_kir_op(S, S->values.items[pl->fval[c]].def);
    ug_kir_op_id_t n = ug_kir_begin(D, r, UG_KIR_ASYNC_GATHER, g->loc);
    for (uint32_t j = 0; j < g->num_operands; j++) ug_kir_push_operand(D, n, mapped(P, ug_kir_operand(S, g, j)));
    ug_kir_push_access(D, n, P->map[pl->fbuf[c]].value, &stage, 1);
    ug_kir_type_t tt = ug_kir_type_token();
    toks[pl->nc + c] = ug_kir_push_result(D, n, &tt, NULL);
  }
  for (uint32_t c = 0; c < pl->nc; c++) {
    const ug_kir_op_data_t *ld = ug_kir_op(S, pl->lds[c]);
    const ug_kir_operand_t *a = ug_kir_operand(S, ld, 0);
    ug_kir_op_id_t n = ug_kir_begin(D, r, UG_KIR_ASYNC_COPY, ld->loc);
    ug_kir_operand_t idx[UG_MAX_RANK + 1];
    for (uint32_t j = 0; j < a->nidx && j <= UG_MAX_RANK; j++) idx[j] = mapped(P, ug_kir_index(S, a, j));
    ug_kir_push_access(D, n, P->map[a->value].value, idx, a->nidx);
    ug_kir_push_access(D, n, P->map[pl->buf[c]].value, &stage, 1);
    ug_kir_type_t tt = ug_kir_type_token();
    toks[c] = ug_kir_push_result(D, n, &tt, NULL);
  }
  /* the group's commit: naming its copies where they are in scope, else
   * (copies inside an `if`) closing whatever this iteration issued */
  ug_kir_op_id_t cm = ug_kir_begin(D, commit_r, UG_KIR_COMMIT, NULL);
  for (uint32_t c = 0; c < pl->nc + nasync && commit_r == r; c++) ug_kir_push_operand(D, cm, ug_kir_val(toks[c]));
  ug_kir_type_t tt = ug_kir_type_token();
  ug_kir_push_result(D, cm, &tt, NULL);
}

static void wait_pending(ug_kir_kernel_t *k, ug_kir_region_id_t r, int64_t n) {
  ug_kir_op_id_t w = ug_kir_begin(k, r, UG_KIR_WAIT, NULL);
  ug_kir_push_attr(k, w, ug_kir_attr_int(UG_KATTR_PENDING, n));
}

ug_status_t ug_kir_software_pipeline(ug_kir_kernel_t *k, const ug_kir_swp_model_t *m, ug_kir_kernel_t **out,
                                     uint32_t *out_stages) {
  *out = k;
  if (out_stages) *out_stages = 0;
  const ug_kir_region_t *top = ug_kir_region(k, k->body);
  plain_t pl;
  bool found = false;
  for (size_t i = 0; i < top->ops.len && !found; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, top->ops.items[i]);
    if (o->op == UG_KIR_FOR && o->stages > 1) found = match_plain(k, top->ops.items[i], &pl);
  }
  if (!found || ug_kir_op(k, pl.loop)->num_operands > 3 + 16) return NULL; /* at most 16 carried values */
  uint32_t S = choose_stages(k, &pl, m);
  /* no more stages than tiles: a stage past them would only be filled with
   * zeros (attention's QK^T has K = 64: two tiles of 32) */
  {
    const ug_kir_op_data_t *l = ug_kir_op(k, pl.loop);
    const ug_kir_operand_t *lbo = ug_kir_operand(k, l, 0), *ubo = ug_kir_operand(k, l, 1);
    if (lbo->value == UG_NONE && ubo->value == UG_NONE) {
      ug_dim_t n = ug_dim_ceildiv(k->module->dims, ug_dim_sub(k->module->dims, ubo->imm, lbo->imm), ug_kir_operand(k, l, 2)->imm);
      if (UG_DIM_IS_STATIC(n) && n < (ug_dim_t)S) S = n < 2 ? 2 : (uint32_t)n;
    }
  }
  ug_kir_module_t *km = k->module;
  ug_arena_t *arena = km->arena;
  /* the new kernel takes the old one's place in the module */
  size_t slot = 0;
  while (slot < km->kernels.len && km->kernels.items[slot] != k) slot++;
  ug_kir_kernel_t *d = ug_kir_kernel_create(km, k->name);
  km->kernels.len--;
  if (slot < km->kernels.len) km->kernels.items[slot] = d;
  d->warps = k->warps;
  d->cluster = k->cluster;
  ug_kir_set_grid(d, k->grid_rank, k->grid);
  swp_t P = {.src = k, .dst = d};
  P.map = ug_arena_alloc(arena, sizeof(ug_kir_operand_t) * (k->values.len + 1));
  for (size_t i = 0; i < k->values.len; i++) P.map[i] = ug_kir_val((ug_kir_value_id_t)i);
  for (size_t i = 0; i < k->params.len; i++) {
    ug_kir_value_id_t v = k->params.items[i];
    P.map[v] = ug_kir_val(ug_kir_add_param(d, k->values.items[v].name, ug_kir_value_type(k, v)));
  }
  bool *restage = ug_arena_alloc(arena, k->values.len + 1);
  memset(restage, 0, k->values.len + 1);
  for (uint32_t c = 0; c < pl.nc; c++) restage[pl.buf[c]] = true;
  for (uint32_t c = 0; c < pl.nf; c++) restage[pl.fbuf[c]] = true;

  const ug_kir_op_data_t *lo = ug_kir_op(k, pl.loop);
  ug_dim_t step = ug_kir_operand(k, lo, 2)->imm;
  ug_kir_operand_t lb = ug_kir_imm(0), ub = ug_kir_imm(0); /* the bounds in d: values defined before the loop */
  ug_dims_t *D = km->dims;
  ug_kir_region_id_t r = d->body;
  for (size_t i = 0; i < top->ops.len; i++) {
    ug_kir_op_id_t id = top->ops.items[i];
    const ug_kir_op_data_t *o = ug_kir_op(k, id);
    if (o->op == UG_KIR_ALLOC && restage[ug_kir_result(k, o, 0)]) {
      ug_kir_value_id_t v = ug_kir_result(k, o, 0);
      ug_kir_type_t t = *ug_kir_value_type(k, v);
      t.stages = S;
      P.map[v] = ug_kir_val(ug_kir_alloc(d, &t, k->values.items[v].name));
      continue;
    }
    if (id != pl.loop) {
      clone_op(&P, r, id, NULL, ug_kir_imm(0));
      continue;
    }
    lb = mapped(&P, ug_kir_operand(k, lo, 0));
    ub = mapped(&P, ug_kir_operand(k, lo, 1));
    /* prologue: tiles 0 .. S-2 into stages 0 .. S-2 (past the loop's end
     * the bounds rule makes them zeros that nothing reads) */
    for (uint32_t s = 0; s + 1 < S; s++)
      issue(&P, &pl, r, op_add(d, r, lb, ug_kir_imm(ug_dim_mul(D, (ug_dim_t)s, step))), ug_kir_imm((ug_dim_t)s), r,
            ISSUE_ALL);
    /* steady state: wait for tile i, refill the stage tile i-1 used with
     * tile i+S-1, compute tile i; trips ceil((ub - lb) / step), index math
     * when a bound is a value (then ub >= lb) */
    ug_kir_operand_t trips;
    if (lb.value == UG_NONE && ub.value == UG_NONE) {
      trips = ug_kir_imm(ug_dim_ceildiv(D, ug_dim_sub(D, ub.imm, lb.imm), step));
    } else {
      ug_kir_operand_t span = ug_kir_index_op(d, r, UG_OP_SUB, ub, lb);
      trips = step == 1 ? span : ug_kir_index_op(d, r, UG_OP_DIV, op_add(d, r, span, ug_kir_imm(step - 1)), ug_kir_imm(step));
    }
    ug_kir_value_id_t inits[16];
    for (uint32_t j = 3; j < lo->num_operands && j - 3 < 16; j++) inits[j - 3] = mapped(&P, ug_kir_operand(k, lo, j)).value;
    ug_kir_region_id_t nb;
    ug_kir_op_id_t nl = ug_kir_for(d, r, ug_kir_imm(0), trips, ug_kir_imm(1), inits, lo->num_operands - 3, 0, &nb);
    ug_kir_op(d, nl)->loc = lo->loc;
    const ug_kir_region_t *sb = ug_kir_region(k, lo->regions);
    /* the carried values and the results keep their names */
    for (uint32_t j = 1; j < sb->num_args; j++)
      d->values.items[ug_kir_region_arg(d, ug_kir_region(d, nb), j)].name = k->values.items[ug_kir_region_arg(k, sb, j)].name;
    for (uint32_t q = 0; q < lo->num_results; q++)
      d->values.items[ug_kir_result(d, ug_kir_op(d, nl), q)].name = k->values.items[ug_kir_result(k, lo, q)].name;
    for (uint32_t j = 1; j < sb->num_args; j++) P.map[ug_kir_region_arg(k, sb, j)] = ug_kir_val(ug_kir_region_arg(d, ug_kir_region(d, nb), j));
    ug_kir_operand_t i = ug_kir_val(ug_kir_region_arg(d, ug_kir_region(d, nb), 0));
    if (pl.nc || pl.async_fills) wait_pending(d, nb, (int64_t)S - 2);
    ug_kir_barrier(d, nb);
    /* the refill only while there are tiles left (the commit stays
     * unconditional: one group an iteration keeps the wait's count) */
    ug_kir_operand_t j = ug_kir_index_op(d, nb, UG_OP_ADD, i, ug_kir_imm((ug_dim_t)S - 1));
    if (pl.nc || pl.async_fills) {
      ug_kir_operand_t more[2] = {j, trips};
      ug_kir_type_t bt = ug_kir_type_tile(UG_DTYPE_BOOL, 0, NULL);
      ug_kir_value_id_t cond = ug_kir_ew(d, nb, UG_OP_LESS, more, 2, &bt);
      ug_kir_region_id_t then, els;
      ug_kir_if(d, nb, cond, NULL, 0, &then, &els);
      ug_kir_operand_t sj = ug_kir_index_op(d, then, UG_OP_MOD, j, ug_kir_imm((ug_dim_t)S));
      ug_kir_operand_t kj = op_add(d, then, op_mul(d, then, j, step), lb);
      issue(&P, &pl, then, kj, sj, nb, ISSUE_COPIES);
    }
    /* fills: tile i+S-1 computed (a gather's loads in flight) before tile
     * i's math and stored into its stage after it, as registers cannot be
     * copied asynchronously; past the last tile it is a tile nothing reads
     * (its gathers stay inside their buffers by the bounds rule) */
    ug_kir_operand_t sf = ug_kir_imm(0);
    if (pl.nf && !pl.async_fills) {
      sf = ug_kir_index_op(d, nb, UG_OP_MOD, j, ug_kir_imm((ug_dim_t)S));
      ug_kir_operand_t kf = op_add(d, nb, op_mul(d, nb, j, step), lb);
      issue(&P, &pl, nb, kf, sf, nb, ISSUE_FILLS_LATER);
    }
    ug_kir_operand_t si = ug_kir_index_op(d, nb, UG_OP_MOD, i, ug_kir_imm((ug_dim_t)S));
    /* the compute ops see the induction variable as this tile's */
    ug_kir_value_id_t iv = ug_kir_region_arg(k, sb, 0);
    bool used = false;
    for (size_t q = pl.barrier1 + 1; q < sb->ops.len; q++) used = used || uses_value(k, ug_kir_op(k, sb->ops.items[q]), iv);
    if (used) {
      P.map[iv] = op_add(d, nb, op_mul(d, nb, i, step), lb);
    }
    size_t end = sb->ops.len - (pl.tail_barrier ? 2 : 1);
    for (size_t q = pl.barrier1 + 1; q < end; q++) clone_op(&P, nb, sb->ops.items[q], restage, si);
    store_fills(&P, &pl, nb, sf);
    clone_op(&P, nb, sb->ops.items[sb->ops.len - 1], restage, si); /* the yield */
    for (uint32_t q = 0; q < lo->num_results; q++) P.map[ug_kir_result(k, lo, q)] = ug_kir_val(ug_kir_result(d, ug_kir_op(d, nl), q));
    /* drain: nothing in flight past the loop (the last groups hold only
     * tiles past the end) */
    if (pl.nc || pl.async_fills) wait_pending(d, r, 0);
  }
  if (out_stages) *out_stages = S;
  *out = d;
  return ug_kir_verify_kernel(d);
}

const ug_kir_swp_model_t ug_kir_gpu_swp_model = {
    .smem_bytes = 228u * 1024u / 2u, .latency_ns = 700.0, .flops_per_ns = 990e3 / 132.0 / 2.0};
