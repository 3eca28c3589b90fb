/* Kernel IR: op tables (from ir/kir.def), types, modules, kernels and the
 * builders.  Builders check nothing but internal invariants; the verifier
 * (ir/kir_verify.c) checks what a kernel means. */
#include <stdio.h>
#include <string.h>

#include "ir/kir.h"

/* ---- tables ---- */

static const ug_kir_op_info_t ug_kir_ops[] = {
#define UG_KIR_OP(id, name, mi, ma, rmin, rmax, regions, cls, attrs) \
  {name, mi, ma, rmin, rmax, regions, UG_KIR_CLASS_##cls, attrs},
#include "ir/kir.def"
};

typedef struct {
  const char *name;
  ug_kir_attr_kind_t kind;
} ug_kir_attr_info_t;

static const ug_kir_attr_info_t ug_kir_attrs_table[] = {
#define UG_KIR_ATTR(id, name, kind) {name, UG_KAK_##kind},
#include "ir/kir.def"
};

const ug_kir_op_info_t *ug_kir_op_info(ug_kir_op_t op) {
  UG_ASSERT((unsigned)op < UG_KIR_OP_COUNT);
  return &ug_kir_ops[op];
}

bool ug_kir_op_from_name(const char *name, size_t len, ug_kir_op_t *out) {
  for (int i = 0; i < UG_KIR_OP_COUNT; i++) {
    if (i == UG_KIR_EW) continue; /* EW prints under the graph op's name */
    if (strlen(ug_kir_ops[i].name) == len && memcmp(ug_kir_ops[i].name, name, len) == 0) {
      *out = (ug_kir_op_t)i;
      return true;
    }
  }
  return false;
}

const char *ug_kir_class_name(ug_kir_class_t c) {
  static const char *names[] = {"structure", "index", "memory", "async", "sync", "math"};
  return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

const char *ug_kir_attr_name(ug_kir_attr_key_t k) {
  return (unsigned)k < UG_KIR_ATTR_COUNT ? ug_kir_attrs_table[k].name : "?";
}

ug_kir_attr_kind_t ug_kir_attr_kind(ug_kir_attr_key_t k) {
  UG_ASSERT((unsigned)k < UG_KIR_ATTR_COUNT);
  return ug_kir_attrs_table[k].kind;
}

bool ug_kir_attr_from_name(const char *name, size_t len, ug_kir_attr_key_t *out) {
  for (int i = 0; i < UG_KIR_ATTR_COUNT; i++) {
    if (strlen(ug_kir_attrs_table[i].name) == len && memcmp(ug_kir_attrs_table[i].name, name, len) == 0) {
      *out = (ug_kir_attr_key_t)i;
      return true;
    }
  }
  return false;
}

bool ug_kir_op_accepts_attr(ug_kir_op_t op, ug_kir_attr_key_t k, bool *out_required) {
  const char *p = ug_kir_op_info(op)->attrs;
  const char *want = ug_kir_attr_name(k);
  size_t wl = strlen(want);
  while (*p) {
    while (*p == ' ') p++;
    const char *s = p;
    while (*p && *p != ' ' && *p != '?') p++;
    size_t len = (size_t)(p - s);
    bool optional = *p == '?';
    if (optional) p++;
    if (len && len == wl && memcmp(s, want, len) == 0) {
      if (out_required) *out_required = !optional;
      return true;
    }
  }
  return false;
}

/* ---- types ---- */

ug_kir_type_t ug_kir_type_index(void) {
  ug_kir_type_t t;
  memset(&t, 0, sizeof(t));
  t.kind = UG_KT_INDEX;
  return t;
}

ug_kir_type_t ug_kir_type_token(void) {
  ug_kir_type_t t = ug_kir_type_index();
  t.kind = UG_KT_TOKEN;
  return t;
}

ug_kir_type_t ug_kir_type_tile(ug_dtype_t dt, int rank, const ug_dim_t *dims) {
  ug_kir_type_t t = ug_kir_type_index();
  t.kind = UG_KT_TILE;
  t.t = ug_type_make(dt, rank, dims);
  return t;
}

ug_kir_type_t ug_kir_type_global(ug_dtype_t dt, int rank, const ug_dim_t *dims) {
  ug_kir_type_t t = ug_kir_type_tile(dt, rank, dims);
  t.kind = UG_KT_GLOBAL;
  return t;
}

ug_kir_type_t ug_kir_type_shared(ug_dtype_t dt, int rank, const ug_dim_t *dims, uint32_t stages) {
  ug_kir_type_t t = ug_kir_type_tile(dt, rank, dims);
  t.kind = UG_KT_SHARED;
  t.stages = stages;
  return t;
}

ug_kir_type_t ug_kir_type_mbar(uint32_t stages) {
  ug_kir_type_t t = ug_kir_type_index();
  t.kind = UG_KT_MBAR;
  t.stages = stages;
  return t;
}

bool ug_kir_type_equal(const ug_kir_type_t *a, const ug_kir_type_t *b) {
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case UG_KT_INDEX:
    case UG_KT_TOKEN: return true;
    case UG_KT_MBAR: return a->stages == b->stages;
    case UG_KT_SHARED: return a->stages == b->stages && ug_type_equal(&a->t, &b->t);
    case UG_KT_TILE:
    case UG_KT_GLOBAL: return ug_type_equal(&a->t, &b->t);
  }
  return false;
}

int ug_kir_type_format(const ug_dims_t *dims, const ug_kir_type_t *t, char *buf, size_t size) {
  char head[32] = "";
  switch (t->kind) {
    case UG_KT_INDEX: return snprintf(buf, size, "index");
    case UG_KT_TOKEN: return snprintf(buf, size, "token");
    case UG_KT_MBAR: return snprintf(buf, size, "mbarrier<%u>", t->stages);
    case UG_KT_GLOBAL: snprintf(head, sizeof(head), "global "); break;
    case UG_KT_SHARED: snprintf(head, sizeof(head), "shared<%u> ", t->stages); break;
    case UG_KT_TILE: break;
  }
  int n = snprintf(buf, size, "%s", head);
  if (n < 0) return n;
  size_t used = (size_t)n < size ? (size_t)n : size;
  int m = ug_type_format(dims, &t->t, buf + used, size - used);
  return m < 0 ? m : n + m;
}

/* ---- modules and kernels ---- */

ug_kir_module_t *ug_kir_module_create(ug_module_t *gm) {
  ug_arena_t *a = gm ? gm->arena : ug_arena_create();
  ug_kir_module_t *m = ug_arena_alloc(a, sizeof(*m));
  m->arena = a;
  m->dims = gm ? gm->dims : ug_dims_create(a);
  m->owns_arena = gm == NULL;
  return m;
}

void ug_kir_module_destroy(ug_kir_module_t *m) {
  if (m && m->owns_arena) ug_arena_destroy(m->arena);
}

static ug_kir_region_id_t new_region(ug_kir_kernel_t *k, ug_kir_op_id_t owner) {
  ug_kir_region_t r;
  memset(&r, 0, sizeof(r));
  r.owner = owner;
  r.args = (uint32_t)k->value_pool.len;
  UG_VEC_PUSH(k->module->arena, &k->regions, r);
  return (ug_kir_region_id_t)(k->regions.len - 1);
}

ug_kir_kernel_t *ug_kir_kernel_create(ug_kir_module_t *m, const char *name) {
  ug_kir_kernel_t *k = ug_arena_alloc(m->arena, sizeof(*k));
  k->module = m;
  k->name = ug_arena_strdup(m->arena, name ? name : "kernel");
  k->grid_rank = 1;
  k->grid[0] = 1;
  k->warps = 1;
  k->body = new_region(k, UG_NONE);
  UG_VEC_PUSH(m->arena, &m->kernels, k);
  return k;
}

ug_kir_kernel_t *ug_kir_find_kernel(ug_kir_module_t *m, const char *name) {
  for (size_t i = 0; i < m->kernels.len; i++)
    if (strcmp(m->kernels.items[i]->name, name) == 0) return m->kernels.items[i];
  return NULL;
}

static ug_kir_value_id_t new_value(ug_kir_kernel_t *k, const ug_kir_type_t *t, ug_kir_def_kind_t kind,
                                   uint32_t def, uint32_t index, const char *name) {
  ug_kir_value_t v;
  memset(&v, 0, sizeof(v));
  v.type = *t;
  v.def_kind = kind;
  v.def = def;
  v.index = index;
  v.name = name ? ug_arena_strdup(k->module->arena, name) : NULL;
  UG_VEC_PUSH(k->module->arena, &k->values, v);
  return (ug_kir_value_id_t)(k->values.len - 1);
}

ug_kir_value_id_t ug_kir_add_param(ug_kir_kernel_t *k, const char *name, const ug_kir_type_t *t) {
  ug_kir_value_id_t v = new_value(k, t, UG_KV_PARAM, UG_NONE, (uint32_t)k->params.len, name);
  UG_VEC_PUSH(k->module->arena, &k->params, v);
  return v;
}

void ug_kir_set_grid(ug_kir_kernel_t *k, int rank, const ug_dim_t *dims) {
  UG_ASSERT(rank >= 1 && rank <= UG_KIR_MAX_GRID);
  k->grid_rank = rank;
  for (int i = 0; i < rank; i++) k->grid[i] = dims[i];
}

uint64_t ug_kir_shared_bytes(const ug_kir_kernel_t *k) {
  uint64_t total = 0;
  const ug_kir_region_t *body = &k->regions.items[k->body];
  for (size_t i = 0; i < body->ops.len; i++) {
    const ug_kir_op_data_t *o = &k->ops.items[body->ops.items[i]];
    if (o->op != UG_KIR_ALLOC || o->num_results != 1) continue;
    const ug_kir_type_t *t = &k->values.items[k->value_pool.items[o->results]].type;
    int64_t n = 0, bytes = 8;
    if (t->kind == UG_KT_SHARED && (!ug_type_static_numel(&t->t, &n) || !ug_dtype_bytes(t->t.dtype, n, &bytes)))
      continue; /* the verifier rejects it */
    uint64_t b = (uint64_t)bytes * t->stages;
    total += (b + 127) / 128 * 128;
  }
  return total;
}

const ug_kir_attr_t *ug_kir_op_attr(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_kir_attr_key_t key) {
  for (uint32_t i = 0; i < o->num_attrs; i++) {
    const ug_kir_attr_t *a = &k->attr_pool.items[o->attrs + i];
    if (!a->graph && a->key == key) return a;
  }
  return NULL;
}

const ug_attr_t *ug_kir_op_graph_attr(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_attr_key_t key) {
  for (uint32_t i = 0; i < o->num_attrs; i++) {
    const ug_kir_attr_t *a = &k->attr_pool.items[o->attrs + i];
    if (a->graph && a->g.key == key) return &a->g;
  }
  return NULL;
}

ug_ew_t ug_kir_ew_desc(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_attr_t *buf, uint32_t cap) {
  ug_ew_t e = {.op = o->ew, .loc = o->loc, .num_operands = o->num_operands, .attrs = buf};
  for (uint32_t i = 0; i < o->num_attrs && e.num_attrs < cap; i++) {
    const ug_kir_attr_t *a = &k->attr_pool.items[o->attrs + i];
    if (a->graph) buf[e.num_attrs++] = a->g;
  }
  return e;
}

bool ug_kir_ew_columns(ug_dims_t *D, const ug_type_t *rt, const ug_type_t *const *ops, uint32_t n, int *out_c) {
  int R = rt->rank, c = R;
  while (c > 0) {
    bool full = true;
    for (uint32_t i = 0; i < n && full; i++) {
      int j = c - 1 - (R - ops[i]->rank);
      full = j >= 0 && ops[i]->dims[j] == rt->dims[c - 1];
    }
    if (!full) break;
    c--;
  }
  if (c == R && R > 0) c = R - 1; /* some operand broadcasts along the last axis */
  *out_c = c;
  ug_dim_t cols = 1, rows = 1;
  for (int j = c; j < R; j++) cols = ug_dim_mul(D, cols, rt->dims[j]);
  for (int j = 0; j < c; j++) rows = ug_dim_mul(D, rows, rt->dims[j]);
  return rows == 1 || (UG_DIM_IS_STATIC(cols) && cols >= UG_KIR_MIN_COLS);
}

/* ---- generic building ---- */

ug_kir_op_id_t ug_kir_begin(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_op_t op, const char *loc) {
  UG_ASSERT(r < k->regions.len && (unsigned)op < UG_KIR_OP_COUNT);
  ug_kir_op_data_t o;
  memset(&o, 0, sizeof(o));
  o.op = op;
  o.loc = loc ? ug_arena_strdup(k->module->arena, loc) : NULL;
  o.parent = r;
  o.operands = (uint32_t)k->operand_pool.len;
  o.results = (uint32_t)k->value_pool.len;
  o.attrs = (uint32_t)k->attr_pool.len;
  o.regions = (uint32_t)k->regions.len;
  UG_VEC_PUSH(k->module->arena, &k->ops, o);
  ug_kir_op_id_t id = (ug_kir_op_id_t)(k->ops.len - 1);
  UG_VEC_PUSH(k->module->arena, &k->regions.items[r].ops, id);
  return id;
}

void ug_kir_push_operand(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_operand_t a) {
  ug_kir_op_data_t *op = &k->ops.items[o];
  UG_ASSERT(op->operands + op->num_operands == k->operand_pool.len);
  a.access = false;
  a.idx = a.nidx = 0;
  UG_VEC_PUSH(k->module->arena, &k->operand_pool, a);
  op->num_operands++;
}

void ug_kir_push_access(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_value_id_t buf, const ug_kir_operand_t *idx,
                        uint32_t nidx) {
  ug_kir_op_data_t *op = &k->ops.items[o];
  UG_ASSERT(op->operands + op->num_operands == k->operand_pool.len);
  ug_kir_operand_t a = ug_kir_val(buf);
  a.access = true;
  a.idx = (uint32_t)k->index_pool.len;
  a.nidx = nidx;
  for (uint32_t i = 0; i < nidx; i++) {
    ug_kir_operand_t x = idx[i];
    x.access = false;
    x.idx = x.nidx = 0;
    UG_VEC_PUSH(k->module->arena, &k->index_pool, x);
  }
  UG_VEC_PUSH(k->module->arena, &k->operand_pool, a);
  op->num_operands++;
}

void ug_kir_push_attr(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_attr_t a) {
  ug_kir_op_data_t *op = &k->ops.items[o];
  UG_ASSERT(op->attrs + op->num_attrs == k->attr_pool.len);
  UG_VEC_PUSH(k->module->arena, &k->attr_pool, a);
  op->num_attrs++;
}

ug_kir_value_id_t ug_kir_push_result(ug_kir_kernel_t *k, ug_kir_op_id_t o, const ug_kir_type_t *t,
                                     const char *name) {
  ug_kir_op_data_t *op = &k->ops.items[o];
  UG_ASSERT(op->results + op->num_results == k->value_pool.len);
  ug_kir_value_id_t v = new_value(k, t, UG_KV_RESULT, o, op->num_results, name);
  UG_VEC_PUSH(k->module->arena, &k->value_pool, v);
  op->num_results++;
  return v;
}

ug_kir_region_id_t ug_kir_add_region(ug_kir_kernel_t *k, ug_kir_op_id_t o, const ug_kir_type_t *arg_types,
                                     uint32_t num_args) {
  ug_kir_op_data_t *op = &k->ops.items[o];
  UG_ASSERT(op->regions + op->num_regions == k->regions.len);
  ug_kir_region_id_t r = new_region(k, o);
  op->num_regions++;
  for (uint32_t i = 0; i < num_args; i++) {
    ug_kir_value_id_t v = new_value(k, &arg_types[i], UG_KV_ARG, r, i, NULL);
    UG_VEC_PUSH(k->module->arena, &k->value_pool, v);
  }
  k->regions.items[r].num_args = num_args;
  return r;
}

/* ---- one call per op ---- */

ug_kir_value_id_t ug_kir_alloc(ug_kir_kernel_t *k, const ug_kir_type_t *t, const char *name) {
  ug_kir_op_id_t o = ug_kir_begin(k, k->body, UG_KIR_ALLOC, NULL);
  return ug_kir_push_result(k, o, t, name);
}

ug_kir_value_id_t ug_kir_program_id(ug_kir_kernel_t *k, ug_kir_region_id_t r, int axis) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_PROGRAM_ID, NULL);
  ug_kir_push_attr(k, o, ug_kir_attr_int(UG_KATTR_AXIS, axis));
  ug_kir_type_t t = ug_kir_type_index();
  return ug_kir_push_result(k, o, &t, NULL);
}

ug_kir_value_id_t ug_kir_index_value(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_op_t op) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, op, NULL);
  ug_kir_type_t t = ug_kir_type_index();
  return ug_kir_push_result(k, o, &t, NULL);
}

ug_kir_value_id_t ug_kir_ew(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_op_t op, const ug_kir_operand_t *args,
                            uint32_t n, const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_EW, NULL);
  k->ops.items[o].ew = op;
  for (uint32_t i = 0; i < n; i++) ug_kir_push_operand(k, o, args[i]);
  return ug_kir_push_result(k, o, t, NULL);
}

ug_kir_operand_t ug_kir_index_op(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_op_t op, ug_kir_operand_t a,
                                 ug_kir_operand_t b) {
  ug_kir_operand_t xs[2] = {a, b};
  ug_kir_type_t t = ug_kir_type_index();
  return ug_kir_val(ug_kir_ew(k, r, op, xs, 2, &t));
}

ug_kir_value_id_t ug_kir_splat(ug_kir_kernel_t *k, ug_kir_region_id_t r, double value, const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_SPLAT, NULL);
  ug_kir_push_attr(k, o, ug_kir_attr_float(UG_KATTR_VALUE, value));
  return ug_kir_push_result(k, o, t, NULL);
}

ug_kir_value_id_t ug_kir_cast(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_operand_t x, ug_dtype_t to,
                              const char *loc) {
  const ug_kir_type_t *xt = x.value == UG_NONE ? NULL : ug_kir_value_type(k, x.value);
  ug_kir_type_t t = xt && xt->kind == UG_KT_TILE ? ug_kir_type_tile(to, xt->t.rank, xt->t.dims) : ug_kir_type_tile(to, 0, NULL);
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_EW, loc);
  k->ops.items[o].ew = UG_OP_CAST;
  ug_kir_push_operand(k, o, x);
  ug_attr_t a = {.key = UG_ATTR_TO};
  a.u.dtype = to;
  ug_kir_push_attr(k, o, ug_kir_attr_graph(a));
  return ug_kir_push_result(k, o, &t, NULL);
}

ug_kir_value_id_t ug_kir_load(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t buf,
                              const ug_kir_operand_t *idx, uint32_t nidx, ug_kir_value_id_t mask,
                              const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_LOAD, NULL);
  ug_kir_push_access(k, o, buf, idx, nidx);
  if (mask != UG_NONE) ug_kir_push_operand(k, o, ug_kir_val(mask));
  return ug_kir_push_result(k, o, t, NULL);
}

ug_kir_value_id_t ug_kir_gather(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t buf,
                                ug_kir_value_id_t offsets, ug_kir_value_id_t mask, double other, const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_GATHER, NULL);
  ug_kir_push_operand(k, o, ug_kir_val(buf));
  ug_kir_push_operand(k, o, ug_kir_val(offsets));
  if (mask != UG_NONE) ug_kir_push_operand(k, o, ug_kir_val(mask));
  if (other != 0.0) ug_kir_push_attr(k, o, ug_kir_attr_float(UG_KATTR_OTHER, other));
  return ug_kir_push_result(k, o, t, NULL);
}

void ug_kir_store(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t buf, const ug_kir_operand_t *idx,
                  uint32_t nidx, ug_kir_value_id_t tile, ug_kir_value_id_t mask) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_STORE, NULL);
  ug_kir_push_access(k, o, buf, idx, nidx);
  ug_kir_push_operand(k, o, ug_kir_val(tile));
  if (mask != UG_NONE) ug_kir_push_operand(k, o, ug_kir_val(mask));
}

ug_kir_value_id_t ug_kir_reduce(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_op_t combine, int axis,
                                ug_kir_value_id_t x, const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_REDUCE, NULL);
  ug_kir_push_operand(k, o, ug_kir_val(x));
  ug_kir_push_attr(k, o, ug_kir_attr_op(UG_KATTR_COMBINE, combine));
  ug_kir_push_attr(k, o, ug_kir_attr_int(UG_KATTR_AXIS, axis));
  return ug_kir_push_result(k, o, t, NULL);
}

ug_kir_value_id_t ug_kir_unary(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_op_t op, ug_kir_value_id_t x,
                               const ug_kir_type_t *t) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, op, NULL);
  ug_kir_push_operand(k, o, ug_kir_val(x));
  return ug_kir_push_result(k, o, t, NULL);
}

static void push_tile_or_stage(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_value_id_t v, ug_kir_operand_t stage) {
  if (k->values.items[v].type.kind == UG_KT_SHARED)
    ug_kir_push_access(k, o, v, &stage, 1);
  else
    ug_kir_push_operand(k, o, ug_kir_val(v));
}

ug_kir_value_id_t ug_kir_mma(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t a, ug_kir_operand_t a_stage,
                             ug_kir_value_id_t b, ug_kir_operand_t b_stage, ug_kir_value_id_t c) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_MMA, NULL);
  push_tile_or_stage(k, o, a, a_stage);
  push_tile_or_stage(k, o, b, b_stage);
  ug_kir_push_operand(k, o, ug_kir_val(c));
  ug_kir_type_t t = k->values.items[c].type;
  return ug_kir_push_result(k, o, &t, NULL);
}

void ug_kir_barrier(ug_kir_kernel_t *k, ug_kir_region_id_t r) { ug_kir_begin(k, r, UG_KIR_BARRIER, NULL); }

ug_kir_op_id_t ug_kir_for(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_operand_t lb, ug_kir_operand_t ub,
                          ug_kir_operand_t step, const ug_kir_value_id_t *inits, uint32_t ninits, uint32_t stages,
                          ug_kir_region_id_t *out_body) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_FOR, NULL);
  k->ops.items[o].stages = stages;
  ug_kir_push_operand(k, o, lb);
  ug_kir_push_operand(k, o, ub);
  ug_kir_push_operand(k, o, step);
  for (uint32_t i = 0; i < ninits; i++) ug_kir_push_operand(k, o, ug_kir_val(inits[i]));
  for (uint32_t i = 0; i < ninits; i++) {
    ug_kir_type_t t = k->values.items[inits[i]].type;
    ug_kir_push_result(k, o, &t, NULL);
  }
  ug_kir_type_t *types = ug_arena_alloc(k->module->arena, (ninits + 1) * sizeof(*types));
  types[0] = ug_kir_type_index();
  for (uint32_t i = 0; i < ninits; i++) types[i + 1] = k->values.items[inits[i]].type;
  *out_body = ug_kir_add_region(k, o, types, ninits + 1);
  return o;
}

void ug_kir_yield(ug_kir_kernel_t *k, ug_kir_region_id_t r, const ug_kir_value_id_t *vals, uint32_t n) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_YIELD, NULL);
  for (uint32_t i = 0; i < n; i++) ug_kir_push_operand(k, o, ug_kir_val(vals[i]));
}

ug_kir_op_id_t ug_kir_role(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_role_t role, uint32_t warp_lo,
                           uint32_t warp_hi, uint32_t regs, ug_kir_region_id_t *out_body) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_ROLE, NULL);
  ug_kir_op_data_t *op = &k->ops.items[o];
  op->role = role;
  op->warp_lo = warp_lo;
  op->warp_hi = warp_hi;
  op->regs = regs;
  *out_body = ug_kir_add_region(k, o, NULL, 0);
  return o;
}

ug_kir_op_id_t ug_kir_if(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t cond,
                         const ug_kir_type_t *types, uint32_t ntypes, ug_kir_region_id_t *out_then,
                         ug_kir_region_id_t *out_else) {
  ug_kir_op_id_t o = ug_kir_begin(k, r, UG_KIR_IF, NULL);
  ug_kir_push_operand(k, o, ug_kir_val(cond));
  for (uint32_t i = 0; i < ntypes; i++) ug_kir_push_result(k, o, &types[i], NULL);
  *out_then = ug_kir_add_region(k, o, NULL, 0);
  *out_else = ug_kir_add_region(k, o, NULL, 0);
  return o;
}
