/* Modules, graphs, nodes and values: construction, rewriting helpers,
 * compaction and use lists. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ir/ir.h"

ug_module_t *ug_module_create(void) {
  ug_arena_t *a = ug_arena_create();
  ug_module_t *m = ug_arena_alloc(a, sizeof(*m));
  m->arena = a;
  m->dims = ug_dims_create(a);
  return m;
}

void ug_module_destroy(ug_module_t *m) {
  if (!m) return;
  for (size_t i = 0; i < m->mappings.len; i++) munmap(m->mappings.items[i].addr, m->mappings.items[i].size);
  ug_arena_destroy(m->arena);
}

void ug_module_adopt_mapping(ug_module_t *m, void *addr, size_t size) {
  ug_mapping_t map = {.addr = addr, .size = size};
  UG_VEC_PUSH(m->arena, &m->mappings, map);
}

ug_graph_t *ug_module_add_graph(ug_module_t *m, const char *name) {
  ug_graph_t *g = ug_arena_alloc(m->arena, sizeof(*g));
  g->module = m;
  g->name = ug_arena_strdup(m->arena, name);
  UG_VEC_PUSH(m->arena, &m->graphs, g);
  return g;
}

ug_graph_t *ug_module_find_graph(ug_module_t *m, const char *name) {
  for (size_t i = 0; i < m->graphs.len; i++)
    if (strcmp(m->graphs.items[i]->name, name) == 0) return m->graphs.items[i];
  return NULL;
}

uint64_t ug_hash_bytes(const void *data, uint64_t size) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull;
  for (uint64_t i = 0; i < size; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

ug_status_t ug_module_add_weight(ug_module_t *m, const char *name, const ug_type_t *type,
                                 const void *data, uint64_t size, uint64_t hash,
                                 ug_weight_id_t *out) {
  int64_t numel, bytes;
  if (!ug_type_is_static(type) || !ug_type_static_numel(type, &numel) ||
      !ug_dtype_bytes(type->dtype, numel, &bytes))
    return ug_status_make(UG_ERR_INVALID, name, "constant has a non-static or oversized type");
  if ((uint64_t)bytes != size)
    return ug_status_make(UG_ERR_INVALID, name, "constant holds %llu bytes but its type needs %lld",
                          (unsigned long long)size, (long long)bytes);
  if (data) hash = ug_hash_bytes(data, size);
  if (name) {
    for (size_t i = 0; i < m->weights.len; i++) {
      ug_weight_t *w = &m->weights.items[i];
      if (!w->name || strcmp(w->name, name) != 0) continue;
      if (!ug_type_equal(&w->type, type) || w->hash != hash)
        return ug_status_make(UG_ERR_INVALID, name, "two different constants share the name @%s", name);
      if (!w->data && data) w->data = data;
      *out = (ug_weight_id_t)i;
      return NULL;
    }
  }
  ug_weight_t w = {.name = ug_arena_strdup(m->arena, name), .type = *type, .data = data,
                   .size = size, .hash = hash};
  UG_VEC_PUSH(m->arena, &m->weights, w);
  *out = (ug_weight_id_t)(m->weights.len - 1);
  return NULL;
}

static ug_value_id_t new_value(ug_graph_t *g, const ug_type_t *type, ug_node_id_t def, uint32_t index,
                               const char *name) {
  ug_value_t v = {.type = *type, .def = def, .index = index,
                  .name = ug_arena_strdup(g->module->arena, name)};
  UG_VEC_PUSH(g->module->arena, &g->values, v);
  return (ug_value_id_t)(g->values.len - 1);
}

ug_value_id_t ug_graph_add_input(ug_graph_t *g, const char *name, const ug_type_t *type) {
  ug_value_id_t v = new_value(g, type, UG_NONE, (uint32_t)g->inputs.len, name);
  UG_VEC_PUSH(g->module->arena, &g->inputs, v);
  return v;
}

void ug_graph_add_output(ug_graph_t *g, ug_value_id_t v, const char *name) {
  UG_VEC_PUSH(g->module->arena, &g->outputs, v);
  UG_VEC_PUSH(g->module->arena, &g->output_names, ug_arena_strdup(g->module->arena, name));
}

const char *ug_node_describe(ug_graph_t *g, const ug_node_t *n, char *buf, size_t size) {
  (void)g;
  snprintf(buf, size, "node \"%s\" (%s)", n->loc ? n->loc : "<unnamed>", ug_op_info(n->op)->name);
  return buf;
}

ug_status_t ug_node_error(ug_graph_t *g, const ug_node_t *n, ug_code_t code, const char *fmt, ...) {
  char origin[512];
  ug_node_describe(g, n, origin, sizeof(origin));
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = ug_status_makev(code, origin, fmt, ap);
  va_end(ap);
  return s;
}

static ug_status_t op_error(ug_op_t op, const char *loc, ug_code_t code, const char *fmt, ...)
    UG_PRINTF(4, 5);
static ug_status_t op_error(ug_op_t op, const char *loc, ug_code_t code, const char *fmt, ...) {
  char origin[512];
  snprintf(origin, sizeof(origin), "node \"%s\" (%s)", loc ? loc : "<unnamed>", ug_op_info(op)->name);
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = ug_status_makev(code, origin, fmt, ap);
  va_end(ap);
  return s;
}

ug_status_t ug_check_signature(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands,
                                   uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                                   uint32_t num_results, const char *loc) {
  const ug_op_info_t *info = ug_op_info(op);
  if ((int)num_operands < info->min_operands ||
      (info->max_operands >= 0 && (int)num_operands > info->max_operands))
    return op_error(op, loc, UG_ERR_INVALID, "takes %d..%d operands, got %u", info->min_operands,
                    info->max_operands, num_operands);
  if (info->num_results >= 0 ? (int)num_results != info->num_results : num_results < 1)
    return op_error(op, loc, UG_ERR_INVALID, "has %d results, got %u", info->num_results, num_results);
  for (uint32_t i = 0; i < num_operands; i++) {
    if (operands[i] == UG_NONE) {
      if ((int)i < info->min_operands)
        return op_error(op, loc, UG_ERR_INVALID, "operand %u is required", i);
    } else if (operands[i] >= g->values.len) {
      return op_error(op, loc, UG_ERR_INVALID, "operand %u refers to an unknown value", i);
    }
  }
  bool seen[UG_ATTR_COUNT] = {0};
  for (uint32_t i = 0; i < num_attrs; i++) {
    ug_attr_key_t k = attrs[i].key;
    if ((unsigned)k >= UG_ATTR_COUNT || !ug_op_accepts_attr(op, k, NULL))
      return op_error(op, loc, UG_ERR_INVALID, "unknown attribute '%s'", ug_attr_name(k));
    if (seen[k]) return op_error(op, loc, UG_ERR_INVALID, "attribute '%s' given twice", ug_attr_name(k));
    seen[k] = true;
  }
  for (int k = 0; k < UG_ATTR_COUNT; k++) {
    bool required;
    if (!seen[k] && ug_op_accepts_attr(op, (ug_attr_key_t)k, &required) && required)
      return op_error(op, loc, UG_ERR_INVALID, "missing attribute '%s'", ug_attr_name((ug_attr_key_t)k));
  }
  return NULL;
}

static ug_attr_t copy_attr(ug_arena_t *a, ug_attr_t at) {
  switch (ug_attr_kind(at.key)) {
    case UG_AK_STRING: at.u.s = ug_arena_strdup(a, at.u.s ? at.u.s : ""); break;
    case UG_AK_INTS: at.u.ints.v = ug_arena_dup(a, at.u.ints.v, at.u.ints.n * sizeof(int64_t)); break;
    case UG_AK_FLOATS: at.u.floats.v = ug_arena_dup(a, at.u.floats.v, at.u.floats.n * sizeof(double)); break;
    default: break;
  }
  return at;
}

static ug_node_id_t append_node(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands,
                                uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                                const ug_type_t *types, uint32_t num_results, const char *loc,
                                ug_value_id_t *out_results) {
  ug_arena_t *a = g->module->arena;
  ug_node_t n = {.op = op, .loc = ug_arena_strdup(a, loc), .weight = UG_NONE};
  n.operands = (uint32_t)g->operand_pool.len;
  n.num_operands = num_operands;
  for (uint32_t i = 0; i < num_operands; i++) UG_VEC_PUSH(a, &g->operand_pool, operands[i]);
  n.attrs = (uint32_t)g->attr_pool.len;
  n.num_attrs = num_attrs;
  for (uint32_t i = 0; i < num_attrs; i++) UG_VEC_PUSH(a, &g->attr_pool, copy_attr(a, attrs[i]));
  ug_node_id_t id = (ug_node_id_t)g->nodes.len;
  n.results = (uint32_t)g->result_pool.len;
  n.num_results = num_results;
  for (uint32_t i = 0; i < num_results; i++) {
    ug_value_id_t v = new_value(g, &types[i], id, i, NULL);
    UG_VEC_PUSH(a, &g->result_pool, v);
    if (out_results) out_results[i] = v;
  }
  UG_VEC_PUSH(a, &g->nodes, n);
  return id;
}

ug_status_t ug_graph_add_node(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands,
                              uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                              const ug_type_t *types, uint32_t num_results, const char *loc,
                              ug_value_id_t *out_results, ug_node_id_t *out_node) {
  if (op == UG_OP_CONST)
    return op_error(op, loc, UG_ERR_INVALID, "constants are added with ug_graph_add_const");
  if (num_results > 64) return op_error(op, loc, UG_ERR_INVALID, "too many results (%u)", num_results);
  UG_RETURN_IF_ERROR(ug_check_signature(g, op, operands, num_operands, attrs, num_attrs, num_results, loc));
  ug_type_t inferred[64];
  bool given = (ug_op_info(op)->props & UG_PROP_SHAPE_GIVEN) != 0;
  if (given && !types) return op_error(op, loc, UG_ERR_INVALID, "needs its result type to be given");
  for (uint32_t i = 0; i < num_results; i++)
    inferred[i] = types ? types[i] : ug_type_scalar(UG_DTYPE_F32);
  UG_RETURN_IF_ERROR(ug_infer(g, op, operands, num_operands, attrs, num_attrs, loc, inferred, num_results));
  if (types) {
    for (uint32_t i = 0; i < num_results; i++) {
      if (ug_type_equal(&types[i], &inferred[i])) continue;
      char want[256], got[256];
      ug_type_format(g->module->dims, &inferred[i], want, sizeof(want));
      ug_type_format(g->module->dims, &types[i], got, sizeof(got));
      return op_error(op, loc, UG_ERR_SHAPE, "result %u is declared %s but inferred %s", i, got, want);
    }
  }
  ug_node_id_t id = append_node(g, op, operands, num_operands, attrs, num_attrs, inferred,
                                num_results, loc, out_results);
  if (out_node) *out_node = id;
  return NULL;
}

ug_status_t ug_graph_add_const(ug_graph_t *g, ug_weight_id_t w, const char *loc, ug_value_id_t *out) {
  if (w >= g->module->weights.len)
    return op_error(UG_OP_CONST, loc, UG_ERR_INVALID, "unknown weight %u", w);
  ug_node_id_t id = append_node(g, UG_OP_CONST, NULL, 0, NULL, 0, &g->module->weights.items[w].type,
                                1, loc, out);
  g->nodes.items[id].weight = w;
  return NULL;
}

const ug_attr_t *ug_node_attr(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k) {
  for (uint32_t i = 0; i < n->num_attrs; i++)
    if (g->attr_pool.items[n->attrs + i].key == k) return &g->attr_pool.items[n->attrs + i];
  return NULL;
}

int64_t ug_node_attr_int(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, int64_t dflt) {
  const ug_attr_t *a = ug_node_attr(g, n, k);
  return a && ug_attr_kind(k) == UG_AK_INT ? a->u.i : dflt;
}

double ug_node_attr_float(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, double dflt) {
  const ug_attr_t *a = ug_node_attr(g, n, k);
  return a && ug_attr_kind(k) == UG_AK_FLOAT ? a->u.f : dflt;
}

const char *ug_node_attr_str(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, const char *dflt) {
  const ug_attr_t *a = ug_node_attr(g, n, k);
  return a && ug_attr_kind(k) == UG_AK_STRING ? a->u.s : dflt;
}

ug_ew_t ug_ew_of_node(const ug_graph_t *g, const ug_node_t *n) {
  ug_ew_t e = {.op = n->op, .loc = n->loc, .num_operands = n->num_operands, .attrs = ug_node_attrs(g, n),
               .num_attrs = n->num_attrs};
  return e;
}

const ug_attr_t *ug_ew_attr(const ug_ew_t *e, ug_attr_key_t k) {
  for (uint32_t i = 0; i < e->num_attrs; i++)
    if (e->attrs[i].key == k) return &e->attrs[i];
  return NULL;
}

int64_t ug_ew_attr_int(const ug_ew_t *e, ug_attr_key_t k, int64_t dflt) {
  const ug_attr_t *a = ug_ew_attr(e, k);
  return a && ug_attr_kind(k) == UG_AK_INT ? a->u.i : dflt;
}

double ug_ew_attr_float(const ug_ew_t *e, ug_attr_key_t k, double dflt) {
  const ug_attr_t *a = ug_ew_attr(e, k);
  return a && ug_attr_kind(k) == UG_AK_FLOAT ? a->u.f : dflt;
}

const char *ug_ew_attr_str(const ug_ew_t *e, ug_attr_key_t k, const char *dflt) {
  const ug_attr_t *a = ug_ew_attr(e, k);
  return a && ug_attr_kind(k) == UG_AK_STRING ? a->u.s : dflt;
}

ug_status_t ug_ew_error(const ug_ew_t *e, ug_code_t code, const char *fmt, ...) {
  char origin[512];
  snprintf(origin, sizeof(origin), "node \"%s\" (%s)", e->loc ? e->loc : "<unnamed>", ug_op_info(e->op)->name);
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = ug_status_makev(code, origin, fmt, ap);
  va_end(ap);
  return s;
}

ug_node_t *ug_value_def(ug_graph_t *g, ug_value_id_t v) {
  ug_node_id_t d = g->values.items[v].def;
  return d == UG_NONE ? NULL : &g->nodes.items[d];
}

const ug_weight_t *ug_value_weight(ug_graph_t *g, ug_value_id_t v) {
  ug_node_t *n = ug_value_def(g, v);
  if (!n || n->op != UG_OP_CONST || n->weight == UG_NONE) return NULL;
  return &g->module->weights.items[n->weight];
}

void ug_graph_replace_uses(ug_graph_t *g, ug_value_id_t from, ug_value_id_t to) {
  for (size_t i = 0; i < g->nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[i];
    if (n->dead) continue;
    for (uint32_t j = 0; j < n->num_operands; j++)
      if (g->operand_pool.items[n->operands + j] == from) g->operand_pool.items[n->operands + j] = to;
  }
  for (size_t i = 0; i < g->outputs.len; i++)
    if (g->outputs.items[i] == from) g->outputs.items[i] = to;
}

ug_status_t ug_value_map_set(ug_value_map_t *m, ug_graph_t *g, ug_value_id_t from, ug_value_id_t to) {
  if (from >= m->len) {
    size_t len = g->values.len > from ? g->values.len : (size_t)from + 1;
    ug_value_id_t *map = realloc(m->map, len * sizeof *map);
    if (!map) return ug_status_make(UG_ERR_NOMEM, g->name, "out of memory");
    for (size_t v = m->len; v < len; v++) map[v] = (ug_value_id_t)v;
    m->map = map;
    m->len = len;
  }
  m->map[from] = to;
  return NULL;
}

ug_value_id_t ug_value_map_get(const ug_value_map_t *m, ug_value_id_t v) {
  while (v != UG_NONE && v < m->len && m->map[v] != v) v = m->map[v];
  return v;
}

void ug_value_map_node(const ug_value_map_t *m, ug_graph_t *g, ug_node_t *n) {
  for (uint32_t k = 0; k < n->num_operands; k++) {
    ug_value_id_t *op = &g->operand_pool.items[n->operands + k];
    *op = ug_value_map_get(m, *op);
  }
}

void ug_value_map_apply(const ug_value_map_t *m, ug_graph_t *g) {
  for (size_t i = 0; i < g->nodes.len; i++)
    if (!g->nodes.items[i].dead) ug_value_map_node(m, g, &g->nodes.items[i]);
  for (size_t i = 0; i < g->outputs.len; i++) g->outputs.items[i] = ug_value_map_get(m, g->outputs.items[i]);
}

void ug_value_map_free(ug_value_map_t *m) {
  free(m->map);
  m->map = NULL;
  m->len = 0;
}

uint32_t ug_graph_live_nodes(const ug_graph_t *g) {
  uint32_t n = 0;
  for (size_t i = 0; i < g->nodes.len; i++) n += !g->nodes.items[i].dead;
  return n;
}

/* Depth-first placement of live nodes in their old order, each after the
 * nodes defining its operands; iterative so that long chains cannot overflow
 * the stack.  Values are renumbered too: inputs first, then results in node
 * order, so ids stay dense and ordered by definition. */
ug_status_t ug_graph_compact(ug_graph_t *g) {
  size_t nn = g->nodes.len, nv = g->values.len;
  uint8_t *state = calloc(nn ? nn : 1, 1); /* 0 new, 1 on stack, 2 placed */
  ug_node_id_t *order = malloc((nn ? nn : 1) * sizeof(*order));
  ug_node_id_t *stack = malloc((nn ? nn : 1) * sizeof(*stack));
  uint32_t *next_op = calloc(nn ? nn : 1, sizeof(uint32_t));
  ug_value_id_t *vmap = malloc((nv ? nv : 1) * sizeof(*vmap));
  ug_status_t st = NULL;
  if (!state || !order || !stack || !next_op || !vmap) {
    st = ug_status_make(UG_ERR_NOMEM, g->name, "out of memory while compacting the graph");
    goto done;
  }
  size_t placed = 0;
  for (size_t root = 0; root < nn && !st; root++) {
    if (g->nodes.items[root].dead || state[root]) continue;
    size_t sp = 0;
    stack[sp++] = (ug_node_id_t)root;
    state[root] = 1;
    while (sp && !st) {
      ug_node_id_t cur = stack[sp - 1];
      ug_node_t *n = &g->nodes.items[cur];
      if (next_op[cur] < n->num_operands) {
        ug_value_id_t v = g->operand_pool.items[n->operands + next_op[cur]++];
        if (v == UG_NONE) continue;
        ug_node_id_t d = g->values.items[v].def;
        if (d == UG_NONE) continue;
        if (g->nodes.items[d].dead) {
          st = ug_node_error(g, n, UG_ERR_INTERNAL, "uses a result of a removed node");
        } else if (state[d] == 1) {
          st = ug_node_error(g, n, UG_ERR_INVALID, "the graph has a cycle through this node");
        } else if (state[d] == 0) {
          state[d] = 1;
          stack[sp++] = d;
        }
        continue;
      }
      state[cur] = 2;
      order[placed++] = cur;
      sp--;
    }
  }
  for (size_t i = 0; i < g->outputs.len && !st; i++) {
    ug_node_id_t d = g->values.items[g->outputs.items[i]].def;
    if (d != UG_NONE && g->nodes.items[d].dead)
      st = ug_status_make(UG_ERR_INTERNAL, g->name, "output %zu comes from a removed node", i);
  }
  if (st) goto done;

  ug_arena_t *a = g->module->arena;
  for (size_t i = 0; i < nv; i++) vmap[i] = UG_NONE;
  UG_VEC(ug_value_t) values = {0};
  UG_VEC(ug_node_t) nodes = {0};
  for (size_t i = 0; i < g->inputs.len; i++) {
    vmap[g->inputs.items[i]] = (ug_value_id_t)values.len;
    UG_VEC_PUSH(a, &values, g->values.items[g->inputs.items[i]]);
  }
  for (size_t k = 0; k < placed; k++) {
    ug_node_t n = g->nodes.items[order[k]];
    for (uint32_t r = 0; r < n.num_results; r++) {
      ug_value_id_t old = g->result_pool.items[n.results + r];
      ug_value_t v = g->values.items[old];
      v.def = (ug_node_id_t)nodes.len;
      vmap[old] = (ug_value_id_t)values.len;
      UG_VEC_PUSH(a, &values, v);
    }
    UG_VEC_PUSH(a, &nodes, n);
  }
  /* Pools are rewritten in place: operand and result ranges keep their offsets. */
  for (size_t k = 0; k < nodes.len; k++) {
    ug_node_t *n = &nodes.items[k];
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t *op = &g->operand_pool.items[n->operands + j];
      if (*op != UG_NONE) *op = vmap[*op];
    }
    for (uint32_t r = 0; r < n->num_results; r++)
      g->result_pool.items[n->results + r] = vmap[g->result_pool.items[n->results + r]];
  }
  for (size_t i = 0; i < g->inputs.len; i++) g->inputs.items[i] = vmap[g->inputs.items[i]];
  for (size_t i = 0; i < g->outputs.len; i++) g->outputs.items[i] = vmap[g->outputs.items[i]];
  g->values.items = values.items;
  g->values.len = values.len;
  g->values.cap = values.cap;
  g->nodes.items = nodes.items;
  g->nodes.len = nodes.len;
  g->nodes.cap = nodes.cap;
done:
  free(state);
  free(order);
  free(stack);
  free(next_op);
  free(vmap);
  return st;
}

void ug_uses_compute(ug_graph_t *g, ug_uses_t *out) {
  size_t nv = g->values.len;
  out->offsets = calloc(nv + 2, sizeof(uint32_t));
  out->output_uses = calloc(nv + 1, sizeof(uint32_t));
  UG_ASSERT(out->offsets && out->output_uses);
  for (size_t i = 0; i < g->nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[i];
    if (n->dead) continue;
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = g->operand_pool.items[n->operands + j];
      if (v != UG_NONE) out->offsets[v + 2]++;
    }
  }
  for (size_t v = 0; v < nv; v++) out->offsets[v + 2] += out->offsets[v + 1];
  out->users = malloc((out->offsets[nv + 1] + 1) * sizeof(ug_node_id_t));
  UG_ASSERT(out->users);
  for (size_t i = 0; i < g->nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[i];
    if (n->dead) continue;
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = g->operand_pool.items[n->operands + j];
      if (v != UG_NONE) out->users[out->offsets[v + 1]++] = (ug_node_id_t)i;
    }
  }
  for (size_t i = 0; i < g->outputs.len; i++) out->output_uses[g->outputs.items[i]]++;
}

void ug_uses_free(ug_uses_t *u) {
  free(u->offsets);
  free(u->users);
  free(u->output_uses);
  memset(u, 0, sizeof(*u));
}

ug_status_t ug_read_file(const char *path, char **out, size_t *out_len) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return ug_status_make(UG_ERR_IO, path, "cannot open file");
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (cap - len < 65536) {
      size_t ncap = cap ? cap * 2 : 65536;
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        free(buf);
        fclose(f);
        return ug_status_make(UG_ERR_NOMEM, path, "file too large to read");
      }
      buf = nb;
      cap = ncap;
    }
    size_t k = fread(buf + len, 1, cap - len, f);
    len += k;
    if (k == 0) break;
  }
  bool err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return ug_status_make(UG_ERR_IO, path, "read error");
  }
  buf[len] = 0;
  *out = buf;
  if (out_len) *out_len = len;
  return NULL;
}
