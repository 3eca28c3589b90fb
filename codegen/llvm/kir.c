/* Kernel IR -> LLVM IR for the CPU (docs/codegen.md, "Kernel IR on the CPU").
 *
 * A block is one thread, so the kernel function runs the whole grid as a
 * loop nest (axis 0 innermost) around the body, and tile ops are
 * scalarized.  Two passes over the kernel:
 *
 * Planning classifies every value:
 * - INDEX: an i64 (program ids, index arithmetic, loop counters);
 * - UNIFORM: a tile whose elements are all equal — one element, a splat, a
 *   broadcast or reshape of such a tile, an ew op on such tiles — kept as
 *   one compute value;
 * - ELEM: a tile computed element by element inside a *group*;
 * - BUF: a tile that only exists in a buffer (reduce results of several
 *   elements, tiles carried by for/if, reshapes of stored tiles).
 * A group is a maximal run of tile ops of one region over one loop shape
 * (the tile shape without its size-1 dims): loads, stores, ew, broadcasts,
 * iota, reshapes that keep the loop shape, gathers (each element's offset
 * checked against the buffer), and reductions.  It becomes ONE
 * loop nest whose body computes one element of each op; reductions
 * accumulate in it and their results exist after it.  Non-group ops met
 * while a group is open that do not depend on it (index math, uniform
 * math, one-element loads when the group stores nothing) are emitted before
 * its loop; anything else closes it.  A load or store joins a group only
 * if the group does not store (or, for a store, touch) the same parameter.
 *
 * An ELEM value used outside its group (a later group, a nested region, a
 * yield, a reshape to another loop shape) is also written to a buffer by
 * its group's loop and read from there (row softmax: the row is loaded once,
 * kept, and read again by the exp and the divide passes).  All buffers of
 * a kernel live in one scratch area, on the stack up to SCRATCH_STACK
 * bytes, else malloc'd once per call; buffers hold compute values (f32 for
 * f16 tiles), already rounded to the tile's dtype.
 *
 * Precision: tiles hold values of their dtype; f16/bf16 elements are
 * computed in f32 and each op's result is rounded to the dtype.
 * Reductions accumulate in the compute type and round once.
 *
 * Bounds: a group's innermost loop is split into the range where every
 * load and store of the group is in bounds (no checks, so it vectorizes)
 * and the remaining elements, which are checked one by one (out of bounds:
 * loads give `other`, stores are dropped).  With static shapes the checked
 * loop folds away.
 *
 * Shared memory: an alloc is its stages of compute values in the scratch
 * area, whole-stage loads and stores join groups like global ones, and a
 * barrier only ends the open group.  mma calls the register-blocked GEMM
 * (gemm.c) on buffers (kir_mma.c).
 *
 * Clusters: a thread has no cluster to share, so a kernel of cluster(S)
 * runs each cluster's rank-0 program alone (cluster_rank 0, cluster_size
 * 1, cluster_reduce the tile itself), as the IR allows a target without
 * clusters.
 *
 * Kernel parameters are the kernel function's args in order: a global is
 * the buffer; a one-element tile or an index parameter is read from the
 * memory its arg points to. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/kir_cpu.h"

#define SCRATCH_STACK (32 * 1024)

/* ---- helpers ---- */

static const char *op_name(const ug_kir_op_data_t *o) {
  return o->op == UG_KIR_EW ? ug_op_info(o->ew)->name : ug_kir_op_info(o->op)->name;
}

ug_status_t kc_kerr(kemit_t *e, const ug_kir_op_data_t *o, const char *fmt, ...) {
  char origin[512], msg[512];
  if (o && o->loc) snprintf(origin, sizeof origin, "node \"%s\"", o->loc);
  else snprintf(origin, sizeof origin, "kernel @%s", e->k->name ? e->k->name : "?");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (o) return ug_status_make(UG_ERR_UNSUPPORTED, origin, "kernel-IR op %s: %s", op_name(o), msg);
  return ug_status_make(UG_ERR_UNSUPPORTED, origin, "%s", msg);
}

static ug_status_t unsupported(kemit_t *e, const ug_kir_op_data_t *o) {
  return kc_kerr(e, o, "not supported on the cpu");
}

const ug_kir_type_t *kc_vtype(kemit_t *e, ug_kir_value_id_t v) { return ug_kir_value_type(e->k, v); }

int64_t kc_numel(const ug_type_t *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

/* The loop shape of a tile: its dims other than 1. */
static int squeeze(const ug_type_t *t, int64_t *out) {
  int r = 0;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] != 1) out[r++] = t->dims[i];
  return r;
}

static bool same_squeeze(const ug_type_t *a, const ug_type_t *b) {
  int64_t x[UG_MAX_RANK], y[UG_MAX_RANK];
  int n = squeeze(a, x);
  return n == squeeze(b, y) && memcmp(x, y, sizeof(int64_t) * (size_t)n) == 0;
}

static int64_t csize(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F64: case UG_DTYPE_I64: case UG_DTYPE_U64: return 8;
  case UG_DTYPE_I16: case UG_DTYPE_U16: return 2;
  case UG_DTYPE_I8: case UG_DTYPE_U8: case UG_DTYPE_BOOL: return 1;
  default: return 4;
  }
}

static int64_t new_buffers(kemit_t *e, const ug_type_t *t, int64_t n) {
  int64_t off = e->scratch_bytes;
  e->scratch_bytes += (n * kc_numel(t) * csize(t->dtype) + 63) & ~(int64_t)63;
  return off;
}

int64_t kc_new_buffer(kemit_t *e, const ug_type_t *t) { return new_buffers(e, t, 1); }

static bool is_shared(kemit_t *e, const ug_kir_op_data_t *o) {
  const ug_kir_operand_t *a = ug_kir_operand(e->k, o, 0);
  return a->access && e->vals[a->value].kind == K_SHARED;
}

ug_kir_value_id_t kc_opnd_value(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i) {
  return ug_kir_operand(e->k, o, i)->value;
}


static void push_item(kemit_t *e, ug_kir_region_id_t r, bool group, uint32_t id) {
  items_t *it = &e->items[r];
  if (it->len == it->cap) {
    it->cap = it->cap ? 2 * it->cap : 16;
    it->v = realloc(it->v, it->cap * sizeof *it->v);
  }
  it->v[it->len++] = (item_t){group, id};
}

/* ---- planning ---- */

static void close_group(kemit_t *e, ug_kir_region_id_t r) {
  if (e->open == UG_NONE) return;
  push_item(e, r, true, e->open);
  e->open = UG_NONE;
}

static uint64_t param_bit(kemit_t *e, const ug_kir_op_data_t *o) {
  uint32_t p = e->vals[kc_opnd_value(e, o, 0)].param;
  return 1ull << (p < 63 ? p : 63);
}

/* Whether op o uses a value that group g defines. */
static bool uses_group(kemit_t *e, const ug_kir_op_data_t *o, uint32_t g) {
  for (uint32_t i = 0; i < o->num_operands; i++) {
    ug_kir_value_id_t v = kc_opnd_value(e, o, i);
    if (v != UG_NONE && e->vals[v].group == g) return true;
  }
  return false;
}

/* A tile op computed per element over the loop shape of t: joins the open
 * group when it can, else starts a new one. */
static void plan_group_op(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t id, const ug_type_t *t) {
  const ug_kir_op_data_t *o = ug_kir_op(e->k, id);
  int64_t shape[UG_MAX_RANK];
  int rank = squeeze(t, shape);
  bool join = false;
  if (e->open != UG_NONE) {
    group_t *g = &e->groups[e->open];
    join = g->rank == rank && memcmp(g->shape, shape, sizeof(int64_t) * (size_t)rank) == 0;
    /* operands of the group must be elements of this loop: not reduce results,
     * not a broadcast operand of another loop shape */
    for (uint32_t i = 0; i < o->num_operands && join; i++) {
      ug_kir_value_id_t v = kc_opnd_value(e, o, i);
      if (v == UG_NONE || e->vals[v].group != e->open) continue;
      if (e->vals[v].kind != K_ELEM) join = false;
      if (o->op == UG_KIR_BROADCAST && !same_squeeze(&kc_vtype(e, v)->t, t)) join = false;
    }
    if (join && (o->op == UG_KIR_LOAD || o->op == UG_KIR_GATHER) && (g->stores & param_bit(e, o))) join = false;
    if (join && o->op == UG_KIR_STORE && ((g->stores | g->loads) & param_bit(e, o))) join = false;
  }
  if (!join) {
    close_group(e, r);
    group_t *g = &e->groups[e->ngroups];
    memset(g, 0, sizeof *g);
    g->rank = rank;
    memcpy(g->shape, shape, sizeof shape);
    g->first = e->ngops;
    e->open = e->ngroups++;
  }
  group_t *g = &e->groups[e->open];
  e->gops[e->ngops++] = id;
  g->count++;
  if (o->op == UG_KIR_LOAD || o->op == UG_KIR_GATHER) g->loads |= param_bit(e, o);
  if (o->op == UG_KIR_STORE) g->stores |= param_bit(e, o);
  e->op_group[id] = e->open;
  for (uint32_t i = 0; i < o->num_results; i++) e->vals[ug_kir_result(e->k, o, i)].group = e->open;
}

/* An op emitted on its own: before the open group when it neither depends
 * on it nor conflicts with its memory accesses, else after it. */
void kc_plan_single(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t id, bool reads, bool writes, bool barrier) {
  if (e->open != UG_NONE) {
    const group_t *g = &e->groups[e->open];
    if (barrier || uses_group(e, ug_kir_op(e->k, id), e->open) || (reads && g->stores) ||
        (writes && (g->stores || g->loads)))
      close_group(e, r);
  }
  push_item(e, r, false, id);
}

static ug_status_t plan_region(kemit_t *e, ug_kir_region_id_t r);

/* A value carried by for/if: index, one-element tile (UNIFORM) or a buffer. */
static ug_status_t plan_carried(kemit_t *e, const ug_kir_op_data_t *o, ug_kir_value_id_t v, int64_t off) {
  const ug_kir_type_t *t = kc_vtype(e, v);
  kval_t *x = &e->vals[v];
  if (t->kind == UG_KT_INDEX) x->kind = K_INDEX;
  else if (t->kind != UG_KT_TILE) return kc_kerr(e, o, "carries a %s value: not supported on the cpu", t->kind == UG_KT_TOKEN ? "token" : "memory");
  else if (kc_numel(&t->t) == 1) x->kind = K_UNIFORM;
  else x->kind = K_BUF, x->off = off;
  return NULL;
}

static ug_status_t plan_op(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = e->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  if (e->skip[id]) return NULL;
  ug_kir_value_id_t res = o->num_results ? ug_kir_result(k, o, 0) : UG_NONE;
  kval_t *rv = res != UG_NONE ? &e->vals[res] : NULL;
  const ug_kir_type_t *rt = res != UG_NONE ? kc_vtype(e, res) : NULL;
  for (uint32_t i = 0; i < o->num_results; i++) {
    const ug_kir_type_t *t = kc_vtype(e, ug_kir_result(k, o, i));
    if (t->kind == UG_KT_TILE && !ug_cg_dtype_supported(t->t.dtype))
      return kc_kerr(e, o, "dtype %s is not supported by the cpu backend", ug_dtype_name(t->t.dtype));
  }
  switch (o->op) {
  case UG_KIR_PROGRAM_ID:
  case UG_KIR_TO_INDEX:
  case UG_KIR_CLUSTER_RANK:
  case UG_KIR_CLUSTER_SIZE:
    rv->kind = K_INDEX;
    kc_plan_single(e, r, id, false, false, false);
    return NULL;
  case UG_KIR_CLUSTER_REDUCE: {
    /* one thread runs a cluster as its rank 0 alone: the tile itself */
    const kval_t *x = &e->vals[kc_opnd_value(e, o, 0)];
    if (x->kind != K_BUF && x->kind != K_UNIFORM) return kc_kerr(e, o, "a cluster reduction of a tile computed in a group: not supported on the cpu");
    *rv = *x;
    kc_plan_single(e, r, id, false, false, true);
    return NULL;
  }
  case UG_KIR_EW: {
    bool any_index = false, all_uniform = true;
    for (uint32_t i = 0; i < o->num_operands; i++) {
      ug_kir_value_id_t v = kc_opnd_value(e, o, i);
      if (v == UG_NONE || kc_vtype(e, v)->kind == UG_KT_INDEX) any_index = true;
      else if (e->vals[v].kind != K_UNIFORM) all_uniform = false;
    }
    if (any_index || all_uniform) {
      rv->kind = rt->kind == UG_KT_INDEX ? K_INDEX : K_UNIFORM;
      kc_plan_single(e, r, id, false, false, false);
    } else {
      rv->kind = K_ELEM;
      plan_group_op(e, r, id, &rt->t);
    }
    return NULL;
  }
  case UG_KIR_SPLAT:
    rv->kind = K_UNIFORM;
    kc_plan_single(e, r, id, false, false, false);
    return NULL;
  case UG_KIR_IOTA:
    if (kc_numel(&rt->t) == 1) {
      rv->kind = K_UNIFORM;
      kc_plan_single(e, r, id, false, false, false);
    } else {
      rv->kind = K_ELEM;
      plan_group_op(e, r, id, &rt->t);
    }
    return NULL;
  case UG_KIR_BROADCAST:
  case UG_KIR_RESHAPE: {
    ug_kir_value_id_t x = kc_opnd_value(e, o, 0);
    const kval_t *xv = &e->vals[x];
    if (xv->kind == K_UNIFORM) {
      rv->kind = K_UNIFORM;
      kc_plan_single(e, r, id, false, false, false);
    } else if (o->op == UG_KIR_BROADCAST ||
               (xv->kind == K_ELEM && xv->group == e->open && e->open != UG_NONE && same_squeeze(&kc_vtype(e, x)->t, &rt->t))) {
      rv->kind = K_ELEM;
      plan_group_op(e, r, id, &rt->t);
    } else {
      rv->kind = K_BUF; /* the operand's buffer, read with the new shape */
      kc_plan_single(e, r, id, false, false, false);
    }
    return NULL;
  }
  case UG_KIR_LOAD:
  case UG_KIR_STORE: {
    const ug_kir_operand_t *acc = ug_kir_operand(k, o, 0);
    if (kc_vtype(e, acc->value)->kind != UG_KT_GLOBAL && e->vals[acc->value].kind != K_SHARED)
      return kc_kerr(e, o, "%s memory: not supported on the cpu", kc_vtype(e, acc->value)->kind == UG_KT_MBAR ? "mbarrier" : "this");
    const ug_type_t *tt = o->op == UG_KIR_LOAD ? &rt->t : &kc_vtype(e, kc_opnd_value(e, o, 1))->t;
    if (!ug_cg_dtype_supported(tt->dtype))
      return kc_kerr(e, o, "dtype %s is not supported by the cpu backend", ug_dtype_name(tt->dtype));
    if (kc_numel(tt) == 1) {
      if (rv) rv->kind = K_UNIFORM;
      kc_plan_single(e, r, id, o->op == UG_KIR_LOAD, o->op == UG_KIR_STORE, false);
    } else {
      if (rv) rv->kind = K_ELEM;
      plan_group_op(e, r, id, tt);
    }
    return NULL;
  }
  case UG_KIR_GATHER:
    if (kc_vtype(e, kc_opnd_value(e, o, 0))->kind != UG_KT_GLOBAL) return kc_kerr(e, o, "gathers from global memory only");
    if (kc_numel(&rt->t) == 1) {
      rv->kind = K_UNIFORM;
      kc_plan_single(e, r, id, true, false, false);
    } else {
      rv->kind = K_ELEM;
      plan_group_op(e, r, id, &rt->t);
    }
    return NULL;
  case UG_KIR_REDUCE: {
    const ug_type_t *xt = &kc_vtype(e, kc_opnd_value(e, o, 0))->t;
    if (kc_numel(xt) == 1) {
      rv->kind = K_UNIFORM;
      kc_plan_single(e, r, id, false, false, false);
      return NULL;
    }
    rv->kind = kc_numel(&rt->t) == 1 ? K_UNIFORM : K_BUF;
    if (rv->kind == K_BUF) rv->off = kc_new_buffer(e, &rt->t);
    plan_group_op(e, r, id, xt);
    return NULL;
  }
  case UG_KIR_YIELD:
    kc_plan_single(e, r, id, false, false, true);
    return NULL;
  case UG_KIR_ALLOC:
    /* shared memory: stages of compute values in the scratch area */
    if (rt->kind != UG_KT_SHARED) return kc_kerr(e, o, "mbarriers: not supported on the cpu");
    if (!ug_cg_dtype_supported(rt->t.dtype))
      return kc_kerr(e, o, "dtype %s is not supported by the cpu backend", ug_dtype_name(rt->t.dtype));
    rv->kind = K_SHARED;
    rv->param = SHARED_PARAM;
    rv->off = new_buffers(e, &rt->t, rt->stages);
    return NULL;
  case UG_KIR_BARRIER:
    /* one thread: program order is the barrier; it only ends the group */
    kc_plan_single(e, r, id, false, false, true);
    return NULL;
  case UG_KIR_MMA:
    return kc_plan_mma(e, r, id);
  case UG_KIR_FOR:
  case UG_KIR_IF: {
    kc_plan_single(e, r, id, true, true, true);
    uint32_t nres = o->num_results;
    const ug_kir_region_t *body = ug_kir_region(k, o->regions);
    if (o->op == UG_KIR_FOR) {
      e->vals[ug_kir_region_arg(k, body, 0)].kind = K_INDEX;
      for (uint32_t i = 0; i < nres; i++) {
        ug_kir_value_id_t a = ug_kir_region_arg(k, body, i + 1), rr = ug_kir_result(k, o, i);
        int64_t off = kc_vtype(e, rr)->kind == UG_KT_TILE ? kc_new_buffer(e, &kc_vtype(e, rr)->t) : -1;
        UG_RETURN_IF_ERROR(plan_carried(e, o, a, off));
        UG_RETURN_IF_ERROR(plan_carried(e, o, rr, off));
      }
    } else {
      for (uint32_t i = 0; i < nres; i++) {
        ug_kir_value_id_t rr = ug_kir_result(k, o, i);
        int64_t off = kc_vtype(e, rr)->kind == UG_KT_TILE ? kc_new_buffer(e, &kc_vtype(e, rr)->t) : -1;
        UG_RETURN_IF_ERROR(plan_carried(e, o, rr, off));
      }
    }
    for (uint32_t i = 0; i < o->num_regions; i++) UG_RETURN_IF_ERROR(plan_region(e, o->regions + i));
    return NULL;
  }
  default:
    return unsupported(e, o);
  }
}

static ug_status_t plan_region(kemit_t *e, ug_kir_region_id_t r) {
  const ug_kir_region_t *reg = ug_kir_region(e->k, r);
  for (size_t i = 0; i < reg->ops.len; i++) {
    UG_RETURN_IF_ERROR(plan_op(e, r, reg->ops.items[i]));
    /* plan_op of a for/if planned its regions, which left no group open */
  }
  close_group(e, r);
  return NULL;
}

/* The buffer a BUF or stored value reads from: its own, or (reshape) its operand's. */
static int64_t buffer_of(kemit_t *e, ug_kir_value_id_t v) {
  for (;;) {
    const kval_t *x = &e->vals[v];
    if (x->off >= 0 || x->kind != K_BUF) return x->off;
    const ug_kir_value_t *d = &e->k->values.items[v];
    if (d->def_kind != UG_KV_RESULT) return -1;
    const ug_kir_op_data_t *o = ug_kir_op(e->k, d->def);
    if (o->op != UG_KIR_RESHAPE) return -1;
    v = kc_opnd_value(e, o, 0);
  }
}

/* ELEM values used outside their group get a buffer; yields must not
 * permute the buffers of one loop's carried tiles. */
static ug_status_t plan_storage(kemit_t *e) {
  ug_kir_kernel_t *k = e->k;
  for (uint32_t id = 0; id < k->ops.len; id++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, id);
    for (uint32_t i = 0; i < o->num_operands; i++) {
      const ug_kir_operand_t *a = ug_kir_operand(k, o, i);
      if (a->value == UG_NONE || a->access) continue;
      kval_t *x = &e->vals[a->value];
      if (x->kind == K_ELEM && x->group != e->op_group[id] && !x->stored) {
        x->stored = true;
        x->off = kc_new_buffer(e, &kc_vtype(e, a->value)->t);
      }
    }
  }
  for (uint32_t id = 0; id < k->ops.len; id++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, id);
    if (o->op != UG_KIR_YIELD) continue;
    const ug_kir_region_t *reg = ug_kir_region(k, o->parent);
    if (reg->owner == UG_NONE) continue;
    const ug_kir_op_data_t *owner = ug_kir_op(k, reg->owner);
    for (uint32_t i = 0; i < o->num_operands; i++) {
      ug_kir_value_id_t v = kc_opnd_value(e, o, i);
      if (v == UG_NONE || e->vals[v].kind == K_UNIFORM || e->vals[v].kind == K_INDEX) continue;
      int64_t src = buffer_of(e, v);
      for (uint32_t j = 0; j < owner->num_results; j++)
        if (j != i && src >= 0 && e->vals[ug_kir_result(k, owner, j)].off == src)
          return kc_kerr(e, o, "yields one carried tile in place of another: not supported on the cpu");
    }
  }
  return NULL;
}

/* ---- emission helpers ---- */

LLVMValueRef kc_elem_ptr(kemit_t *e, LLVMValueRef buf, ug_dtype_t dt, LLVMValueRef idx) {
  return LLVMBuildGEP2(e->cg->b, ug_cg_ctype(e->cg, dt), buf, &idx, 1, "");
}

static LLVMValueRef buf_load(kemit_t *e, LLVMValueRef buf, ug_dtype_t dt, LLVMValueRef idx) {
  return LLVMBuildLoad2(e->cg->b, ug_cg_ctype(e->cg, dt), kc_elem_ptr(e, buf, dt, idx), "");
}

static void buf_store(kemit_t *e, LLVMValueRef buf, ug_dtype_t dt, LLVMValueRef idx, LLVMValueRef v) {
  LLVMBuildStore(e->cg->b, v, kc_elem_ptr(e, buf, dt, idx));
}

/* A constant of dtype dt from a double attribute (infinities and NaN of
 * integer dtypes saturate / give 0), rounded to the dtype. */
static LLVMValueRef const_of(kemit_t *e, ug_dtype_t dt, double v) {
  if (!ug_dtype_is_float(dt)) {
    if (isnan(v)) v = 0;
    else if (isinf(v)) return v < 0 ? ug_cg_lowest(e->cg, dt) : ug_cg_highest(e->cg, dt);
    if (dt != UG_DTYPE_BOOL && v >= 9.2e18) return ug_cg_highest(e->cg, dt);
    if (dt != UG_DTYPE_BOOL && v <= -9.2e18) return ug_cg_lowest(e->cg, dt);
  }
  return ug_cg_round_to(e->cg, ug_cg_const(e->cg, dt, v), dt);
}

LLVMValueRef kc_index_operand(kemit_t *e, const ug_kir_operand_t *a) {
  if (a->value == UG_NONE) return ug_cg_dim(e->cg, a->imm);
  return e->vals[a->value].v;
}

/* The value of v at the current element of the group being emitted (or
 * anywhere, for uniform values). */
static LLVMValueRef read_elem(kemit_t *e, ug_kir_value_id_t v) {
  kval_t *x = &e->vals[v];
  if (x->kind == K_UNIFORM || x->kind == K_INDEX) return x->v;
  if (x->kind == K_ELEM && x->group == e->cur) return x->v;
  UG_ASSERT(x->buf);
  return buf_load(e, x->buf, kc_vtype(e, v)->t.dtype, e->lin);
}

/* The loop index of tile axis j of a tile of type t in the current group (0 along size-1 axes). */
static LLVMValueRef tile_coord(kemit_t *e, const ug_type_t *t, int j) {
  if (t->dims[j] == 1) return ug_cg_i64(e->cg, 0);
  int l = 0;
  for (int i = 0; i < j; i++) l += t->dims[i] != 1;
  return e->iv[l];
}

/* Row-major element number in shape t of the coordinates of the current
 * element of tile type c, taking 0 along axes where t has size 1 (and, when
 * zero_axis >= 0, along that axis). */
static LLVMValueRef linear_in(kemit_t *e, const ug_type_t *t, const ug_type_t *c, int zero_axis) {
  LLVMValueRef idx = ug_cg_i64(e->cg, 0);
  int64_t s = 1;
  int off = c->rank - t->rank;
  for (int j = t->rank - 1; j >= 0; j--) {
    if (t->dims[j] != 1 && j != zero_axis) idx = ug_cg_iadd(e->cg, idx, ug_cg_imul(e->cg, tile_coord(e, c, j + off), ug_cg_i64(e->cg, s)));
    s *= t->dims[j];
  }
  return idx;
}

/* Tile v (of shape c with some dims 1) at the current element of the
 * group's tile type c: its element there, along size-1 dims element 0. */
static LLVMValueRef read_bcast(kemit_t *e, ug_kir_value_id_t v, const ug_type_t *c) {
  const kval_t *x = &e->vals[v];
  if (x->kind == K_UNIFORM || x->kind == K_INDEX || (x->kind == K_ELEM && x->group == e->cur)) return x->v;
  UG_ASSERT(x->buf);
  return buf_load(e, x->buf, kc_vtype(e, v)->t.dtype, linear_in(e, &kc_vtype(e, v)->t, c, -1));
}

static void set_elem(kemit_t *e, ug_kir_value_id_t v, LLVMValueRef x) {
  kval_t *r = &e->vals[v];
  r->v = x;
  if (r->kind == K_ELEM && r->stored) buf_store(e, r->buf, kc_vtype(e, v)->t.dtype, e->lin, x);
}

/* ---- global accesses ---- */


void kc_access_init(kemit_t *e, const ug_kir_op_data_t *o, const ug_type_t *tt, kaccess_t *a) {
  const ug_kir_operand_t *acc = ug_kir_operand(e->k, o, 0);
  const kval_t *gv = &e->vals[acc->value];
  const ug_type_t *gt = &kc_vtype(e, acc->value)->t;
  a->R = gt->rank;
  a->r = tt->rank;
  a->tt = tt;
  a->base = gv->buf;
  a->dt = gt->dtype;
  a->g = &e->globals[gv->param];
  for (int i = 0; i < a->R; i++) a->origin[i] = kc_index_operand(e, ug_kir_index(e->k, acc, (uint32_t)i));
}

/* Global coordinate along axis i for the current element (tile coords from the loop; NULL: all 0). */
static LLVMValueRef access_coord(kemit_t *e, const kaccess_t *a, int i, bool in_loop) {
  int j = i - (a->R - a->r);
  if (j < 0 || !in_loop || a->tt->dims[j] == 1) return a->origin[i];
  return ug_cg_iadd(e->cg, a->origin[i], tile_coord(e, a->tt, j));
}

/* 0 <= x < d, as one unsigned compare. */
LLVMValueRef kc_in_range(kemit_t *e, LLVMValueRef x, LLVMValueRef d) {
  return LLVMBuildICmp(e->cg->b, LLVMIntULT, x, d, "");
}

/* Element offset and (when want_ok) the in-bounds condition of the current element. */
LLVMValueRef kc_access_offset(kemit_t *e, const kaccess_t *a, bool in_loop, LLVMValueRef *ok) {
  LLVMValueRef off = ug_cg_i64(e->cg, 0), c = NULL;
  for (int i = 0; i < a->R; i++) {
    LLVMValueRef x = access_coord(e, a, i, in_loop);
    off = ug_cg_iadd(e->cg, off, ug_cg_imul(e->cg, x, a->g->strides[i]));
    if (ok) {
      LLVMValueRef t = kc_in_range(e, x, a->g->dims[i]);
      c = c ? LLVMBuildAnd(e->cg->b, c, t, "") : t;
    }
  }
  if (ok) *ok = c ? c : LLVMConstInt(e->cg->t_i1, 1, 0);
  return off;
}

static LLVMValueRef other_of(kemit_t *e, const ug_kir_op_data_t *o, ug_dtype_t dt) {
  const ug_kir_attr_t *a = ug_kir_op_attr(e->k, o, UG_KATTR_OTHER);
  return const_of(e, dt, a ? a->f : 0.0);
}

/* cond ? load : other, the load only executed when cond holds. */
static LLVMValueRef guarded_load(kemit_t *e, LLVMValueRef cond, const kaccess_t *a, LLVMValueRef off, LLVMValueRef other) {
  ug_cg_t *cg = e->cg;
  ug_cg_if_t f;
  ug_cg_if_begin(cg, &f, cond, true);
  LLVMValueRef x = ug_cg_load(cg, a->base, a->dt, off);
  LLVMBasicBlockRef tb = LLVMGetInsertBlock(cg->b);
  ug_cg_if_else(cg, &f);
  LLVMBasicBlockRef eb = LLVMGetInsertBlock(cg->b);
  ug_cg_if_end(cg, &f);
  LLVMValueRef phi = LLVMBuildPhi(cg->b, LLVMTypeOf(x), "");
  LLVMValueRef vals[2] = {x, other};
  LLVMBasicBlockRef bbs[2] = {tb, eb};
  LLVMAddIncoming(phi, vals, bbs, 2);
  return phi;
}

static void guarded_store(kemit_t *e, LLVMValueRef cond, const kaccess_t *a, LLVMValueRef off, LLVMValueRef v) {
  ug_cg_if_t f;
  ug_cg_if_begin(e->cg, &f, cond, false);
  ug_cg_store(e->cg, a->base, a->dt, off, v);
  ug_cg_if_end(e->cg, &f);
}

/* A load or store of a whole shared stage: its element of the current
 * element (compute values, as every buffer). */
static void emit_shared_access(kemit_t *e, const ug_kir_op_data_t *o, bool in_loop) {
  ug_cg_t *cg = e->cg;
  bool load = o->op == UG_KIR_LOAD;
  const ug_kir_operand_t *acc = ug_kir_operand(e->k, o, 0);
  ug_kir_value_id_t tv = load ? ug_kir_result(e->k, o, 0) : kc_opnd_value(e, o, 1);
  const ug_type_t *tt = &kc_vtype(e, tv)->t;
  LLVMValueRef idx = ug_cg_imul(cg, kc_index_operand(e, ug_kir_index(e->k, acc, 0)), ug_cg_i64(cg, kc_numel(tt)));
  if (in_loop) idx = ug_cg_iadd(cg, idx, e->lin);
  LLVMValueRef buf = e->vals[acc->value].buf;
  uint32_t mi = load ? 1 : 2;
  LLVMValueRef mask = o->num_operands > mi ? read_elem(e, kc_opnd_value(e, o, mi)) : NULL;
  if (load) {
    LLVMValueRef x = buf_load(e, buf, tt->dtype, idx);
    if (mask) x = LLVMBuildSelect(cg->b, mask, x, other_of(e, o, tt->dtype), "");
    if (in_loop) set_elem(e, tv, x);
    else e->vals[tv].v = x;
    return;
  }
  LLVMValueRef v = read_elem(e, tv);
  if (mask) {
    ug_cg_if_t f;
    ug_cg_if_begin(cg, &f, mask, false);
    buf_store(e, buf, tt->dtype, idx, v);
    ug_cg_if_end(cg, &f);
  } else {
    buf_store(e, buf, tt->dtype, idx, v);
  }
}

/* A load or store: in a group's loop (in_loop), or of a one-element tile. */
static void emit_access(kemit_t *e, const ug_kir_op_data_t *o, bool in_loop) {
  ug_cg_t *cg = e->cg;
  if (is_shared(e, o)) {
    emit_shared_access(e, o, in_loop);
    return;
  }
  bool load = o->op == UG_KIR_LOAD;
  ug_kir_value_id_t tv = load ? ug_kir_result(e->k, o, 0) : kc_opnd_value(e, o, 1);
  uint32_t mi = load ? 1 : 2;
  kaccess_t a;
  kc_access_init(e, o, &kc_vtype(e, tv)->t, &a);
  bool check = e->checked || !in_loop;
  LLVMValueRef ok = NULL;
  LLVMValueRef off = kc_access_offset(e, &a, in_loop, check ? &ok : NULL);
  LLVMValueRef mask = o->num_operands > mi ? read_elem(e, kc_opnd_value(e, o, mi)) : NULL;
  if (load) {
    LLVMValueRef other = other_of(e, o, a.dt), x;
    if (check) {
      x = guarded_load(e, mask ? LLVMBuildAnd(cg->b, ok, mask, "") : ok, &a, off, other);
    } else {
      x = ug_cg_load(cg, a.base, a.dt, off); /* in bounds: safe to read under a mask */
      if (mask) x = LLVMBuildSelect(cg->b, mask, x, other, "");
    }
    if (in_loop) set_elem(e, tv, x);
    else e->vals[tv].v = x;
    return;
  }
  LLVMValueRef v = read_elem(e, tv);
  LLVMValueRef cond = check ? ok : NULL;
  if (mask) cond = cond ? LLVMBuildAnd(cg->b, cond, mask, "") : mask;
  if (cond) guarded_store(e, cond, &a, off, v);
  else ug_cg_store(cg, a.base, a.dt, off, v);
}

/* gather: the element at the current element's flat offset (or of the
 * uniform offset; of runs: the row's offset plus the column), `other`
 * unless the mask holds and the offset is inside the buffer. */
static void emit_gather(kemit_t *e, const ug_kir_op_data_t *o, bool in_loop) {
  ug_cg_t *cg = e->cg;
  ug_kir_value_id_t r = ug_kir_result(e->k, o, 0), bv = kc_opnd_value(e, o, 0), ov = kc_opnd_value(e, o, 1);
  const kval_t *gv = &e->vals[bv];
  const kglobal_t *g = &e->globals[gv->param];
  kaccess_t a = {.base = gv->buf, .dt = kc_vtype(e, bv)->t.dtype, .g = g};
  LLVMValueRef n = kc_vtype(e, bv)->t.rank ? ug_cg_imul(cg, g->dims[0], g->strides[0]) : ug_cg_i64(cg, 1);
  const ug_type_t *rt = &kc_vtype(e, r)->t;
  LLVMValueRef off = ug_cg_convert(cg, in_loop ? read_bcast(e, ov, rt) : read_elem(e, ov), kc_vtype(e, ov)->t.dtype, UG_DTYPE_I64);
  const ug_type_t *otp = &kc_vtype(e, ov)->t;
  if (in_loop && otp->rank == rt->rank && rt->rank && otp->dims[rt->rank - 1] == 1 && rt->dims[rt->rank - 1] != 1)
    off = ug_cg_iadd(cg, off, tile_coord(e, rt, rt->rank - 1)); /* runs */
  LLVMValueRef ok = kc_in_range(e, off, n);
  if (o->num_operands > 2)
    ok = LLVMBuildAnd(cg->b, ok, in_loop ? read_bcast(e, kc_opnd_value(e, o, 2), rt) : read_elem(e, kc_opnd_value(e, o, 2)), "");
  LLVMValueRef x = guarded_load(e, ok, &a, off, other_of(e, o, a.dt));
  if (in_loop) set_elem(e, r, x);
  else e->vals[r].v = x;
}

/* ---- elementwise ---- */

/* floor division and modulo of i64, 0 for a zero divisor (as dims). */
static LLVMValueRef index_divmod(kemit_t *e, LLVMValueRef a, LLVMValueRef b, bool mod) {
  LLVMBuilderRef bb = e->cg->b;
  LLVMValueRef zero = ug_cg_i64(e->cg, 0);
  LLVMValueRef q = ug_cg_div(e->cg, UG_DTYPE_I64, a, b); /* truncating, 0 for b == 0 */
  LLVMValueRef r = LLVMBuildSub(bb, a, LLVMBuildMul(bb, q, b, ""), "");
  LLVMValueRef fix = LLVMBuildAnd(bb, LLVMBuildICmp(bb, LLVMIntNE, r, zero, ""),
                                  LLVMBuildXor(bb, LLVMBuildICmp(bb, LLVMIntSLT, r, zero, ""),
                                               LLVMBuildICmp(bb, LLVMIntSLT, b, zero, ""), ""), "");
  if (mod) return LLVMBuildSelect(bb, fix, LLVMBuildAdd(bb, r, b, ""), r, "");
  return LLVMBuildSelect(bb, fix, LLVMBuildSub(bb, q, ug_cg_i64(e->cg, 1), ""), q, "");
}

static ug_status_t emit_index_ew(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_cg_t *cg = e->cg;
  ug_kir_value_id_t r = ug_kir_result(e->k, o, 0);
  LLVMValueRef a = kc_index_operand(e, ug_kir_operand(e->k, o, 0));
  if (o->ew == UG_OP_CAST) {
    ug_dtype_t to = kc_vtype(e, r)->t.dtype;
    e->vals[r].v = ug_cg_round_to(cg, ug_cg_convert(cg, a, UG_DTYPE_I64, to), to);
    return NULL;
  }
  if (o->num_operands != 2) return kc_kerr(e, o, "index arity: not supported on the cpu");
  LLVMValueRef b = kc_index_operand(e, ug_kir_operand(e->k, o, 1)), x;
  switch (o->ew) {
  case UG_OP_ADD: x = LLVMBuildAdd(cg->b, a, b, ""); break;
  case UG_OP_SUB: x = LLVMBuildSub(cg->b, a, b, ""); break;
  case UG_OP_MUL: x = LLVMBuildMul(cg->b, a, b, ""); break;
  case UG_OP_DIV: x = index_divmod(e, a, b, false); break;
  case UG_OP_MOD: x = index_divmod(e, a, b, true); break;
  case UG_OP_MIN: x = ug_cg_imin(cg, a, b); break;
  case UG_OP_MAX: x = ug_cg_imax(cg, a, b); break;
  case UG_OP_EQUAL: x = ug_cg_cmp(cg, UG_DTYPE_I64, UG_CMP_EQ, a, b); break;
  case UG_OP_LESS: x = ug_cg_cmp(cg, UG_DTYPE_I64, UG_CMP_LT, a, b); break;
  case UG_OP_LESS_EQUAL: x = ug_cg_cmp(cg, UG_DTYPE_I64, UG_CMP_LE, a, b); break;
  case UG_OP_GREATER: x = ug_cg_cmp(cg, UG_DTYPE_I64, UG_CMP_GT, a, b); break;
  case UG_OP_GREATER_EQUAL: x = ug_cg_cmp(cg, UG_DTYPE_I64, UG_CMP_GE, a, b); break;
  default: return kc_kerr(e, o, "on indices: not supported on the cpu");
  }
  e->vals[r].v = x;
  return NULL;
}

/* An ew op on tiles at the current element (or on uniform tiles): the
 * scalar semantics are ug_cg_ew_scalar's; the result is rounded to its dtype. */
static ug_status_t emit_tile_ew(kemit_t *e, const ug_kir_op_data_t *o, LLVMValueRef *out) {
  LLVMValueRef in[3] = {NULL, NULL, NULL};
  ug_dtype_t dts[3] = {UG_DTYPE_F32, UG_DTYPE_F32, UG_DTYPE_F32};
  if (o->num_operands > 3) return kc_kerr(e, o, "arity: not supported on the cpu");
  for (uint32_t i = 0; i < o->num_operands; i++) {
    ug_kir_value_id_t v = kc_opnd_value(e, o, i);
    dts[i] = kc_vtype(e, v)->t.dtype;
    in[i] = read_elem(e, v);
  }
  ug_dtype_t rdt = kc_vtype(e, ug_kir_result(e->k, o, 0))->t.dtype;
  ug_attr_t attrs[UG_KIR_EW_MAX_ATTRS];
  ug_ew_t ew = ug_kir_ew_desc(e->k, o, attrs, UG_KIR_EW_MAX_ATTRS);
  LLVMValueRef x;
  UG_RETURN_IF_ERROR(ug_cg_ew_scalar(e->cg, &ew, in, dts, rdt, &x));
  *out = ug_cg_round_to(e->cg, x, rdt);
  return NULL;
}

/* ---- reductions ---- */

static ug_op_t combine_of(kemit_t *e, const ug_kir_op_data_t *o) {
  return ug_kir_op_attr(e->k, o, UG_KATTR_COMBINE)->op;
}

static LLVMValueRef identity_of(kemit_t *e, ug_op_t c, ug_dtype_t dt) {
  switch (c) {
  case UG_OP_MUL: return ug_cg_const(e->cg, dt, 1);
  case UG_OP_MAX: return ug_cg_lowest(e->cg, dt);
  case UG_OP_MIN: return ug_cg_highest(e->cg, dt);
  case UG_OP_AND: return ug_cg_highest(e->cg, dt);
  default: return ug_cg_const(e->cg, dt, 0);
  }
}

static LLVMValueRef reassoc(LLVMValueRef v) {
  if (LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v)) LLVMSetFastMathFlags(v, LLVMFastMathAllowReassoc);
  return v;
}

static LLVMValueRef combine(kemit_t *e, ug_op_t c, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b) {
  switch (c) {
  case UG_OP_MUL: return reassoc(ug_cg_mul(e->cg, dt, a, b));
  case UG_OP_MAX: return ug_cg_max(e->cg, dt, a, b);
  case UG_OP_MIN: return ug_cg_min(e->cg, dt, a, b);
  case UG_OP_AND: return LLVMBuildAnd(e->cg->b, a, b, "");
  case UG_OP_OR: return LLVMBuildOr(e->cg->b, a, b, "");
  default: return reassoc(ug_cg_add(e->cg, dt, a, b));
  }
}

/* A loop over the n elements of buffer buf, applying f. */
typedef enum { FILL, ROUND } bufop_t;
static void buf_loop(kemit_t *e, LLVMValueRef buf, ug_dtype_t dt, int64_t n, bufop_t op, LLVMValueRef v) {
  ug_cg_loop_t l;
  LLVMValueRef i = ug_cg_loop_begin(e->cg, &l, ug_cg_i64(e->cg, 0), ug_cg_i64(e->cg, n), NULL);
  if (op == ROUND) v = ug_cg_round_to(e->cg, buf_load(e, buf, dt, i), dt);
  buf_store(e, buf, dt, i, v);
  ug_cg_loop_end(e->cg, &l);
}

/* ---- groups ---- */

static ug_status_t emit_group_body(kemit_t *e, const group_t *g) {
  ug_cg_t *cg = e->cg;
  for (uint32_t i = 0; i < g->count; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(e->k, e->gops[g->first + i]);
    ug_kir_value_id_t r = o->num_results ? ug_kir_result(e->k, o, 0) : UG_NONE;
    const ug_type_t *rt = r != UG_NONE ? &kc_vtype(e, r)->t : NULL;
    switch (o->op) {
    case UG_KIR_LOAD:
    case UG_KIR_STORE: emit_access(e, o, true); break;
    case UG_KIR_GATHER: emit_gather(e, o, true); break;
    case UG_KIR_EW: {
      LLVMValueRef x;
      UG_RETURN_IF_ERROR(emit_tile_ew(e, o, &x));
      set_elem(e, r, x);
      break;
    }
    case UG_KIR_IOTA: {
      int64_t axis = ug_kir_op_attr(e->k, o, UG_KATTR_AXIS)->i;
      LLVMValueRef x = ug_cg_convert(cg, tile_coord(e, rt, (int)axis), UG_DTYPE_I64, rt->dtype);
      set_elem(e, r, ug_cg_round_to(cg, x, rt->dtype));
      break;
    }
    case UG_KIR_BROADCAST: set_elem(e, r, read_bcast(e, kc_opnd_value(e, o, 0), rt)); break;
    case UG_KIR_RESHAPE: set_elem(e, r, read_elem(e, kc_opnd_value(e, o, 0))); break;
    case UG_KIR_REDUCE: {
      ug_kir_value_id_t x = kc_opnd_value(e, o, 0);
      const ug_type_t *xt = &kc_vtype(e, x)->t;
      ug_op_t c = combine_of(e, o);
      int64_t axis = ug_kir_op_attr(e->k, o, UG_KATTR_AXIS)->i;
      LLVMValueRef v = read_elem(e, x);
      kval_t *rv = &e->vals[r];
      if (rv->kind == K_UNIFORM) {
        LLVMValueRef a = LLVMBuildLoad2(cg->b, ug_cg_ctype(cg, xt->dtype), rv->acc, "");
        LLVMBuildStore(cg->b, combine(e, c, xt->dtype, a, v), rv->acc);
      } else {
        LLVMValueRef idx = linear_in(e, rt, xt, (int)axis);
        LLVMValueRef a = buf_load(e, rv->buf, xt->dtype, idx);
        buf_store(e, rv->buf, xt->dtype, idx, combine(e, c, xt->dtype, a, v));
      }
      break;
    }
    default: UG_UNREACHABLE();
    }
  }
  return NULL;
}

/* Whether the group's only effects are its stores: no reductions and no
 * values kept for later, so elements that no store writes need not run. */
static bool stores_only(kemit_t *e, const group_t *g) {
  for (uint32_t i = 0; i < g->count; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(e->k, e->gops[g->first + i]);
    if (o->op == UG_KIR_REDUCE) return false;
    if (o->num_results && e->vals[ug_kir_result(e->k, o, 0)].stored) return false;
  }
  return true;
}

/* The innermost loop's bounds for the group's accesses, given the outer
 * indices: [lo, hi), where every access is in bounds (empty when some
 * access's row is out of bounds), inside [a, b), the elements that must run
 * at all (everything, or, when stores are the only effects, those some
 * store may write).  False when the group has no accesses. */
static bool group_range(kemit_t *e, const group_t *g, LLVMValueRef n, LLVMValueRef *out_lo, LLVMValueRef *out_hi,
                        LLVMValueRef *out_a, LLVMValueRef *out_b) {
  ug_cg_t *cg = e->cg;
  LLVMValueRef zero = ug_cg_i64(cg, 0), lo = zero, hi = n, row_ok = NULL, a = NULL, b = NULL;
  bool any = false;
  for (uint32_t i = 0; i < g->count; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(e->k, e->gops[g->first + i]);
    if ((o->op != UG_KIR_LOAD && o->op != UG_KIR_STORE) || is_shared(e, o)) continue;
    any = true;
    ug_kir_value_id_t tv = o->op == UG_KIR_LOAD ? ug_kir_result(e->k, o, 0) : kc_opnd_value(e, o, 1);
    kaccess_t ac;
    kc_access_init(e, o, &kc_vtype(e, tv)->t, &ac);
    int jl = ac.r - 1;
    while (ac.tt->dims[jl] == 1) jl--; /* the tile axis of the innermost loop */
    int gl = ac.R - ac.r + jl;
    LLVMValueRef ok = NULL;
    for (int k = 0; k < ac.R; k++) {
      if (k == gl) continue;
      LLVMValueRef t = kc_in_range(e, access_coord(e, &ac, k, true), ac.g->dims[k]);
      ok = ok ? LLVMBuildAnd(cg->b, ok, t, "") : t;
    }
    if (ok) row_ok = row_ok ? LLVMBuildAnd(cg->b, row_ok, ok, "") : ok;
    /* 0 <= origin + c < d  <=>  -origin <= c < d - origin */
    LLVMValueRef o0 = ac.origin[gl];
    LLVMValueRef l = ug_cg_imin(cg, ug_cg_imax(cg, LLVMBuildNeg(cg->b, o0, ""), zero), n);
    LLVMValueRef h = ug_cg_imin(cg, ug_cg_imax(cg, LLVMBuildSub(cg->b, ac.g->dims[gl], o0, ""), zero), n);
    lo = ug_cg_imax(cg, lo, l);
    hi = ug_cg_imin(cg, hi, h);
    if (o->op == UG_KIR_STORE) {
      LLVMValueRef sh = ug_cg_imax(cg, h, l);
      if (ok) sh = LLVMBuildSelect(cg->b, ok, sh, l, "");
      a = a ? ug_cg_imin(cg, a, l) : l;
      b = b ? ug_cg_imax(cg, b, sh) : sh;
    }
  }
  if (!any) return false;
  if (!a || !stores_only(e, g)) a = zero, b = n;
  /* lo <= hi inside [a, b] */
  lo = ug_cg_imin(cg, ug_cg_imax(cg, lo, a), b);
  hi = ug_cg_imin(cg, ug_cg_imax(cg, hi, lo), b);
  if (row_ok) hi = LLVMBuildSelect(cg->b, row_ok, hi, lo, "");
  *out_lo = lo;
  *out_hi = hi;
  *out_a = a;
  *out_b = b;
  return true;
}

static ug_status_t emit_group(kemit_t *e, uint32_t gi) {
  ug_cg_t *cg = e->cg;
  const group_t *g = &e->groups[gi];
  /* reduction accumulators */
  for (uint32_t i = 0; i < g->count; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(e->k, e->gops[g->first + i]);
    if (o->op != UG_KIR_REDUCE) continue;
    kval_t *rv = &e->vals[ug_kir_result(e->k, o, 0)];
    const ug_type_t *rt = &kc_vtype(e, ug_kir_result(e->k, o, 0))->t;
    LLVMValueRef id = identity_of(e, combine_of(e, o), rt->dtype);
    if (rv->kind == K_UNIFORM) {
      if (!rv->acc) rv->acc = ug_cg_alloca(cg, ug_cg_ctype(cg, rt->dtype), "acc");
      LLVMBuildStore(cg->b, id, rv->acc);
    } else {
      buf_loop(e, rv->buf, rt->dtype, kc_numel(rt), FILL, id);
    }
  }
  int n = g->rank;
  ug_cg_loop_t outer[UG_MAX_RANK];
  LLVMValueRef lin = ug_cg_i64(cg, 0);
  int64_t stride = g->shape[n - 1];
  for (int i = 0; i < n - 1; i++) e->iv[i] = ug_cg_loop_begin(cg, &outer[i], ug_cg_i64(cg, 0), ug_cg_i64(cg, g->shape[i]), NULL);
  for (int i = n - 2; i >= 0; i--) {
    lin = ug_cg_iadd(cg, lin, ug_cg_imul(cg, e->iv[i], ug_cg_i64(cg, stride)));
    stride *= g->shape[i];
  }
  LLVMValueRef N = ug_cg_i64(cg, g->shape[n - 1]), lo, hi;
  LLVMValueRef ra, rb;
  bool split = group_range(e, g, N, &lo, &hi, &ra, &rb);
  if (!split) lo = ug_cg_i64(cg, 0), hi = N;
  e->cur = gi;
  ug_cg_loop_t l;
  LLVMValueRef c = ug_cg_loop_begin(cg, &l, lo, hi, NULL);
  e->iv[n - 1] = c;
  e->lin = ug_cg_iadd(cg, lin, c);
  e->checked = false;
  ug_status_t st = emit_group_body(e, g);
  ug_cg_loop_end(cg, &l);
  if (!st && split) {
    /* the elements of [a, b) outside [lo, hi), checked one by one */
    LLVMValueRef len = LLVMBuildSub(cg->b, hi, lo, "");
    LLVMValueRef rest = LLVMBuildSub(cg->b, LLVMBuildSub(cg->b, rb, ra, ""), len, "");
    LLVMValueRef j = ug_cg_iadd(cg, ug_cg_loop_begin(cg, &l, ug_cg_i64(cg, 0), rest, NULL), ra);
    c = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, j, lo, ""), j, ug_cg_iadd(cg, j, len), "");
    e->iv[n - 1] = c;
    e->lin = ug_cg_iadd(cg, lin, c);
    e->checked = true;
    st = emit_group_body(e, g);
    ug_cg_loop_end(cg, &l);
  }
  for (int i = n - 2; i >= 0; i--) ug_cg_loop_end(cg, &outer[i]);
  e->cur = UG_NONE;
  e->checked = false;
  if (st) return st;
  /* reduce results: rounded once */
  for (uint32_t i = 0; i < g->count; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(e->k, e->gops[g->first + i]);
    if (o->op != UG_KIR_REDUCE) continue;
    kval_t *rv = &e->vals[ug_kir_result(e->k, o, 0)];
    const ug_type_t *rt = &kc_vtype(e, ug_kir_result(e->k, o, 0))->t;
    if (rv->kind == K_UNIFORM)
      rv->v = ug_cg_round_to(cg, LLVMBuildLoad2(cg->b, ug_cg_ctype(cg, rt->dtype), rv->acc, ""), rt->dtype);
    else if (rt->dtype == UG_DTYPE_F16 || rt->dtype == UG_DTYPE_BF16)
      buf_loop(e, rv->buf, rt->dtype, kc_numel(rt), ROUND, NULL);
  }
  return NULL;
}

/* ---- structured control flow ---- */

static ug_status_t emit_region(kemit_t *e, ug_kir_region_id_t r);

/* Copies tile value v (uniform or in a buffer) into buffer dst. */
void kc_copy_tile(kemit_t *e, LLVMValueRef dst, ug_kir_value_id_t v) {
  const kval_t *x = &e->vals[v];
  const ug_type_t *t = &kc_vtype(e, v)->t;
  if (x->kind == K_UNIFORM) {
    buf_loop(e, dst, t->dtype, kc_numel(t), FILL, x->v);
    return;
  }
  UG_ASSERT(x->buf);
  if (x->buf == dst) return;
  LLVMBuildMemCpy(e->cg->b, dst, 64, x->buf, 64, ug_cg_i64(e->cg, kc_numel(t) * csize(t->dtype)));
}

/* The carried value of v: its scalar, or (buffers) NULL after copying v into dst. */
static LLVMValueRef pass_on(kemit_t *e, ug_kir_value_id_t v, const kval_t *dst) {
  if (dst->kind != K_BUF) return e->vals[v].v;
  kc_copy_tile(e, dst->buf, v);
  return NULL;
}

static LLVMValueRef carried_in(kemit_t *e, const ug_kir_operand_t *a) {
  return a->value == UG_NONE ? ug_cg_dim(e->cg, a->imm) : e->vals[a->value].v;
}

static ug_status_t emit_for(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_cg_t *cg = e->cg;
  ug_kir_kernel_t *k = e->k;
  uint32_t n = o->num_results;
  const ug_kir_region_t *body = ug_kir_region(k, o->regions);
  LLVMValueRef lb = kc_index_operand(e, ug_kir_operand(k, o, 0)), ub = kc_index_operand(e, ug_kir_operand(k, o, 1));
  LLVMValueRef step = kc_index_operand(e, ug_kir_operand(k, o, 2));
  LLVMValueRef *init = calloc(n + 1, sizeof *init), *phis = calloc(n + 1, sizeof *phis);
  for (uint32_t i = 0; i < n; i++) {
    kval_t *a = &e->vals[ug_kir_region_arg(k, body, i + 1)];
    const ug_kir_operand_t *in = ug_kir_operand(k, o, 3 + i);
    if (a->kind == K_BUF) kc_copy_tile(e, a->buf, in->value);
    else init[i] = carried_in(e, in);
  }
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
  LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "for");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "for.end");
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, lb, ub, ""), bb, exit);
  LLVMPositionBuilderAtEnd(cg->b, bb);
  LLVMValueRef iv = LLVMBuildPhi(cg->b, cg->t_i64, "k");
  LLVMAddIncoming(iv, &lb, &pre, 1);
  e->vals[ug_kir_region_arg(k, body, 0)].v = iv;
  for (uint32_t i = 0; i < n; i++) {
    kval_t *a = &e->vals[ug_kir_region_arg(k, body, i + 1)];
    if (a->kind == K_BUF) continue;
    phis[i] = LLVMBuildPhi(cg->b, LLVMTypeOf(init[i]), "");
    LLVMAddIncoming(phis[i], &init[i], &pre, 1);
    a->v = phis[i];
  }
  ug_status_t st = emit_region(e, o->regions);
  if (!st) {
    const ug_kir_op_data_t *y = e->yield != UG_NONE ? ug_kir_op(k, e->yield) : NULL;
    LLVMValueRef *next = calloc(n + 1, sizeof *next);
    for (uint32_t i = 0; i < n; i++) next[i] = pass_on(e, kc_opnd_value(e, y, i), &e->vals[ug_kir_region_arg(k, body, i + 1)]);
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
    LLVMValueRef nx = LLVMBuildAdd(cg->b, iv, step, "");
    LLVMAddIncoming(iv, &nx, &latch, 1);
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, nx, ub, ""), bb, exit);
    LLVMPositionBuilderAtEnd(cg->b, exit);
    for (uint32_t i = 0; i < n; i++) {
      kval_t *rv = &e->vals[ug_kir_result(k, o, i)];
      if (rv->kind == K_BUF) continue;
      LLVMAddIncoming(phis[i], &next[i], &latch, 1);
      LLVMValueRef phi = LLVMBuildPhi(cg->b, LLVMTypeOf(init[i]), "");
      LLVMValueRef vals[2] = {init[i], next[i]};
      LLVMBasicBlockRef bbs[2] = {pre, latch};
      LLVMAddIncoming(phi, vals, bbs, 2);
      rv->v = phi;
    }
    free(next);
  }
  free(init);
  free(phis);
  return st;
}

static ug_status_t emit_if(kemit_t *e, const ug_kir_op_data_t *o) {
  ug_cg_t *cg = e->cg;
  ug_kir_kernel_t *k = e->k;
  uint32_t n = o->num_results;
  LLVMValueRef cond = e->vals[kc_opnd_value(e, o, 0)].v;
  LLVMValueRef *vals[2] = {calloc(n + 1, sizeof(LLVMValueRef)), calloc(n + 1, sizeof(LLVMValueRef))};
  LLVMBasicBlockRef ends[2];
  ug_cg_if_t f;
  ug_cg_if_begin(cg, &f, cond, true);
  ug_status_t st = NULL;
  for (int side = 0; side < 2 && !st; side++) {
    if (side == 1) ug_cg_if_else(cg, &f);
    st = emit_region(e, o->regions + (uint32_t)side);
    if (st) break;
    const ug_kir_op_data_t *y = e->yield != UG_NONE ? ug_kir_op(k, e->yield) : NULL;
    for (uint32_t i = 0; i < n && y; i++) vals[side][i] = pass_on(e, kc_opnd_value(e, y, i), &e->vals[ug_kir_result(k, o, i)]);
    ends[side] = LLVMGetInsertBlock(cg->b);
  }
  if (!st) {
    ug_cg_if_end(cg, &f);
    for (uint32_t i = 0; i < n; i++) {
      kval_t *rv = &e->vals[ug_kir_result(k, o, i)];
      if (rv->kind == K_BUF) continue;
      LLVMValueRef phi = LLVMBuildPhi(cg->b, LLVMTypeOf(vals[0][i]), "");
      LLVMValueRef in[2] = {vals[0][i], vals[1][i]};
      LLVMAddIncoming(phi, in, ends, 2);
      rv->v = phi;
    }
  }
  free(vals[0]);
  free(vals[1]);
  return st;
}

/* ---- single ops ---- */

static ug_status_t emit_single(kemit_t *e, ug_kir_op_id_t id) {
  ug_cg_t *cg = e->cg;
  const ug_kir_op_data_t *o = ug_kir_op(e->k, id);
  ug_kir_value_id_t r = o->num_results ? ug_kir_result(e->k, o, 0) : UG_NONE;
  kval_t *rv = r != UG_NONE ? &e->vals[r] : NULL;
  switch (o->op) {
  case UG_KIR_PROGRAM_ID: rv->v = e->pid[ug_kir_op_attr(e->k, o, UG_KATTR_AXIS)->i]; return NULL;
  case UG_KIR_CLUSTER_RANK: rv->v = ug_cg_i64(cg, 0); return NULL;
  case UG_KIR_CLUSTER_SIZE: rv->v = ug_cg_i64(cg, 1); return NULL;
  case UG_KIR_CLUSTER_REDUCE: return NULL; /* its operand's value or buffer (planned) */
  case UG_KIR_TO_INDEX: {
    ug_kir_value_id_t x = kc_opnd_value(e, o, 0);
    rv->v = ug_cg_convert(cg, e->vals[x].v, kc_vtype(e, x)->t.dtype, UG_DTYPE_I64);
    return NULL;
  }
  case UG_KIR_EW: {
    bool index = false;
    for (uint32_t i = 0; i < o->num_operands; i++) {
      ug_kir_value_id_t v = kc_opnd_value(e, o, i);
      if (v == UG_NONE || kc_vtype(e, v)->kind == UG_KT_INDEX) index = true;
    }
    if (index) return emit_index_ew(e, o);
    return emit_tile_ew(e, o, &rv->v);
  }
  case UG_KIR_SPLAT: {
    const ug_kir_attr_t *a = ug_kir_op_attr(e->k, o, UG_KATTR_VALUE);
    rv->v = const_of(e, kc_vtype(e, r)->t.dtype, a ? a->f : 0.0);
    return NULL;
  }
  case UG_KIR_IOTA: rv->v = ug_cg_const(cg, kc_vtype(e, r)->t.dtype, 0); return NULL;
  case UG_KIR_BROADCAST:
  case UG_KIR_RESHAPE:
  case UG_KIR_REDUCE: {
    const kval_t *x = &e->vals[kc_opnd_value(e, o, 0)];
    if (rv->kind == K_UNIFORM) rv->v = x->v;
    else rv->buf = x->buf; /* reshape of a tile in a buffer: the same elements */
    return NULL;
  }
  case UG_KIR_LOAD:
  case UG_KIR_STORE: emit_access(e, o, false); return NULL;
  case UG_KIR_GATHER: emit_gather(e, o, false); return NULL;
  case UG_KIR_FOR: return emit_for(e, o);
  case UG_KIR_IF: return emit_if(e, o);
  case UG_KIR_YIELD: e->yield = id; return NULL;
  case UG_KIR_BARRIER: return NULL;
  case UG_KIR_MMA: return kc_emit_mma(e, id);
  default: return unsupported(e, o);
  }
}

static ug_status_t emit_region(kemit_t *e, ug_kir_region_id_t r) {
  const items_t *it = &e->items[r];
  for (size_t i = 0; i < it->len; i++) {
    e->yield = UG_NONE;
    if (it->v[i].group) UG_RETURN_IF_ERROR(emit_group(e, it->v[i].id));
    else UG_RETURN_IF_ERROR(emit_single(e, it->v[i].id));
  }
  return NULL;
}

/* ---- the kernel ---- */

static LLVMValueRef scratch_fn(kemit_t *e, const char *name, LLVMTypeRef ret, LLVMTypeRef arg, LLVMTypeRef *out_ty) {
  ug_cg_t *cg = e->cg;
  *out_ty = LLVMFunctionType(ret, &arg, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
  return fn ? fn : LLVMAddFunction(cg->mod, name, *out_ty);
}

static ug_status_t emit_kernel(kemit_t *e, LLVMValueRef const *args) {
  ug_cg_t *cg = e->cg;
  ug_kir_kernel_t *k = e->k;
  /* parameters */
  for (uint32_t i = 0; i < k->params.len; i++) {
    ug_kir_value_id_t p = k->params.items[i];
    const ug_kir_type_t *t = kc_vtype(e, p);
    kval_t *x = &e->vals[p];
    if (t->kind == UG_KT_GLOBAL) {
      if (!ug_cg_dtype_supported(t->t.dtype))
        return kc_kerr(e, NULL, "parameter %u: dtype %s is not supported by the cpu backend", i, ug_dtype_name(t->t.dtype));
      x->kind = K_GLOBAL;
      x->buf = args[i];
      x->param = i;
      kglobal_t *g = &e->globals[i];
      LLVMValueRef s = ug_cg_i64(cg, 1);
      for (int d = t->t.rank - 1; d >= 0; d--) {
        g->dims[d] = ug_cg_dim(cg, t->t.dims[d]);
        g->strides[d] = s;
        s = ug_cg_imul(cg, s, g->dims[d]);
      }
    } else if (t->kind == UG_KT_INDEX) {
      x->kind = K_INDEX;
      x->v = LLVMBuildLoad2(cg->b, cg->t_i64, args[i], "");
    } else if (t->kind == UG_KT_TILE && kc_numel(&t->t) == 1 && ug_cg_dtype_supported(t->t.dtype)) {
      x->kind = K_UNIFORM;
      x->v = ug_cg_load(cg, args[i], t->t.dtype, ug_cg_i64(cg, 0));
    } else {
      return kc_kerr(e, NULL, "parameter %u: only global buffers, indices and one-element tiles are supported on the cpu", i);
    }
  }
  for (uint32_t id = 0; id < k->ops.len; id++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, id);
    for (uint32_t i = 0; i < o->num_operands; i++) {
      const ug_kir_operand_t *a = ug_kir_operand(k, o, i);
      if (a->value != UG_NONE) e->vals[a->value].uses++;
    }
  }
  kc_find_mma_sources(e);
  UG_RETURN_IF_ERROR(plan_region(e, k->body));
  UG_RETURN_IF_ERROR(plan_storage(e));
  /* the scratch area */
  LLVMValueRef scratch = NULL, heap = NULL;
  LLVMBasicBlockRef done = NULL;
  if (e->scratch_bytes > SCRATCH_STACK) {
    LLVMTypeRef fty;
    LLVMValueRef fn = scratch_fn(e, "malloc", cg->t_ptr, cg->t_i64, &fty);
    LLVMValueRef n = ug_cg_i64(cg, e->scratch_bytes);
    heap = scratch = LLVMBuildCall2(cg->b, fty, fn, &n, 1, "scratch");
    /* no memory: the kernel does nothing (it has no way to report it) */
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "run");
    done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "done");
    LLVMBuildCondBr(cg->b, LLVMBuildIsNull(cg->b, scratch, ""), done, go);
    LLVMPositionBuilderAtEnd(cg->b, go);
  } else if (e->scratch_bytes > 0) {
    scratch = LLVMBuildAlloca(cg->eb, LLVMArrayType2(cg->t_i8, (uint64_t)e->scratch_bytes), "scratch");
    LLVMSetAlignment(scratch, 64);
  }
  /* one pointer per buffer: values sharing a buffer (a loop's carried
   * tile, an mma accumulating in place) compare equal in copy_tile */
  for (uint32_t v = 0; v < k->values.len; v++) {
    kval_t *x = &e->vals[v];
    if (x->off < 0) continue;
    for (uint32_t u = 0; u < v && !x->buf; u++)
      if (e->vals[u].off == x->off && e->vals[u].buf) x->buf = e->vals[u].buf;
    if (x->buf) continue;
    LLVMValueRef off = ug_cg_i64(cg, x->off);
    x->buf = LLVMBuildGEP2(cg->b, cg->t_i8, scratch, &off, 1, "");
  }
  /* the grid: axis 0 innermost */
  ug_cg_loop_t grid[UG_KIR_MAX_GRID];
  for (int a = k->grid_rank - 1; a >= 0; a--) /* a cluster's rank-0 program alone: clusters of 1 */
    e->pid[a] = ug_cg_loop_begin(cg, &grid[a], ug_cg_i64(cg, 0), ug_cg_dim(cg, k->grid[a]),
                                 a == 0 && k->cluster > 1 ? ug_cg_i64(cg, k->cluster) : NULL);
  ug_status_t st = emit_region(e, k->body);
  for (int a = 0; a < k->grid_rank; a++) ug_cg_loop_end(cg, &grid[a]);
  if (heap) {
    LLVMTypeRef fty;
    LLVMValueRef fn = scratch_fn(e, "free", cg->t_void, cg->t_ptr, &fty);
    LLVMBuildCall2(cg->b, fty, fn, &heap, 1, "");
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, done);
  }
  return st;
}

ug_status_t ug_cg_emit_kir(ug_cg_t *cg, ug_kir_kernel_t *k, LLVMValueRef const *args, uint32_t num_args) {
  kemit_t e = {.cg = cg, .k = k, .open = UG_NONE, .cur = UG_NONE, .yield = UG_NONE};
  if (k->params.len > num_args) return kc_kerr(&e, NULL, "%zu parameters but %u args", k->params.len, num_args);
  if (k->grid_rank < 1 || k->grid_rank > UG_KIR_MAX_GRID) return kc_kerr(&e, NULL, "grid of rank %d", k->grid_rank);
  size_t nv = k->values.len, no = k->ops.len;
  e.vals = calloc(nv + 1, sizeof *e.vals);
  e.op_group = malloc((no + 1) * sizeof *e.op_group);
  e.groups = calloc(no + 1, sizeof *e.groups);
  e.gops = calloc(no + 1, sizeof *e.gops);
  e.items = calloc(k->regions.len + 1, sizeof *e.items);
  e.globals = calloc(k->params.len + 1, sizeof *e.globals);
  e.mma = calloc(no + 1, sizeof *e.mma);
  e.skip = calloc(no + 1, sizeof *e.skip);
  ug_status_t st = NULL;
  if (!e.vals || !e.op_group || !e.groups || !e.gops || !e.items || !e.globals || !e.mma || !e.skip) {
    st = ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  } else {
    for (size_t i = 0; i < nv; i++) e.vals[i].group = UG_NONE, e.vals[i].off = -1;
    for (size_t i = 0; i < no; i++) e.op_group[i] = UG_NONE;
    st = emit_kernel(&e, args);
  }
  if (e.items)
    for (size_t i = 0; i < k->regions.len; i++) free(e.items[i].v);
  free(e.vals);
  free(e.op_group);
  free(e.groups);
  free(e.gops);
  free(e.items);
  free(e.globals);
  free(e.mma);
  free(e.skip);
  return st;
}
