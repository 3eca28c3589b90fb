/* Buffers, steps and liveness of one graph; weight blob layout.  See plan.h. */
#include "codegen/plan.h"

#include <stdlib.h>
#include <string.h>

#include "ugrt/model_abi.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_update(uint64_t h, const uint8_t *p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= FNV_PRIME;
  }
  return h;
}

static const uint8_t zeros64[64];

static bool in_source(const ug_module_t *m, const ug_weight_t *wt) {
  const uint8_t *p = wt->data;
  return m->source.path && p && p >= m->source.base && wt->size <= m->source.size &&
         (uint64_t)(p - m->source.base) <= m->source.size - wt->size;
}

static ug_status_t layout(ug_module_t *m, bool source, ug_weight_layout_t *out) {
  size_t nw = m->weights.len;
  memset(out, 0, sizeof *out);
  out->source = source;
  out->tail_offset = source ? (m->source.size + 63) / 64 * 64 : 0;
  out->offsets = ug_arena_alloc(m->arena, sizeof(uint64_t) * (nw + 1));
  bool *used = ug_arena_alloc(m->arena, nw + 1);
  for (size_t gi = 0; gi < m->graphs.len; gi++) {
    ug_graph_t *g = m->graphs.items[gi];
    for (size_t ni = 0; ni < g->nodes.len; ni++) {
      ug_node_t *n = &g->nodes.items[ni];
      if (n->dead || n->op != UG_OP_CONST) continue;
      if (n->weight >= nw) return ug_node_error(g, n, UG_ERR_INVALID, "const refers to no weight");
      used[n->weight] = true;
    }
  }
  uint64_t off = 0, h = FNV_OFFSET;
  for (size_t w = 0; w < nw; w++) {
    out->offsets[w] = UINT64_MAX;
    if (!used[w]) continue;
    const ug_weight_t *wt = &m->weights.items[w];
    if (!wt->data && wt->size > 0)
      return ug_status_make(UG_ERR_INVALID, wt->name, "weight @%s has no data",
                            wt->name ? wt->name : "<anonymous>");
    int64_t need;
    if (!ug_dtype_bytes(wt->type.dtype, 0, &need)) need = 0;
    int64_t numel;
    if (!ug_type_static_numel(&wt->type, &numel) ||
        !ug_dtype_bytes(wt->type.dtype, numel, &need) || (uint64_t)need != wt->size)
      return ug_status_make(UG_ERR_INVALID, wt->name,
                            "weight @%s holds %llu bytes, its type needs %lld",
                            wt->name ? wt->name : "<anonymous>", (unsigned long long)wt->size,
                            (long long)need);
    if (source && in_source(m, wt)) {
      out->offsets[w] = (uint64_t)((const uint8_t *)wt->data - m->source.base);
      continue;
    }
    uint64_t pad = (64 - off % 64) % 64;
    h = fnv_update(h, zeros64, pad);
    off += pad;
    out->offsets[w] = out->tail_offset + off;
    h = fnv_update(h, wt->data, wt->size);
    off += wt->size;
  }
  out->size = off;
  out->hash = h;
  if (source) out->source_hash = fnv_update(FNV_OFFSET, m->source.base, m->source.size);
  return NULL;
}

ug_status_t ug_weight_layout_build(ug_module_t *m, ug_weight_layout_t *out) { return layout(m, false, out); }

ug_status_t ug_weight_layout_build_source(ug_module_t *m, ug_weight_layout_t *out) {
  if (!m->source.path) return ug_status_make(UG_ERR_INVALID, NULL, "the module has no source file");
  return layout(m, true, out);
}

static bool in_blob(const ug_module_t *m, const ug_weight_layout_t *wl, size_t w) {
  return wl->offsets[w] != UINT64_MAX && !(wl->source && in_source(m, &m->weights.items[w]));
}

void ug_weight_layout_fill(ug_module_t *m, const ug_weight_layout_t *wl, uint8_t *dst) {
  memset(dst, 0, wl->size);
  for (size_t w = 0; w < m->weights.len; w++)
    if (in_blob(m, wl, w) && m->weights.items[w].size)
      memcpy(dst + wl->offsets[w] - wl->tail_offset, m->weights.items[w].data, m->weights.items[w].size);
}

ug_status_t ug_weight_layout_write(ug_module_t *m, const ug_weight_layout_t *wl, FILE *f) {
  uint64_t pos = 0;
  for (size_t w = 0; w < m->weights.len; w++) {
    if (!in_blob(m, wl, w)) continue;
    uint64_t at = wl->offsets[w] - wl->tail_offset;
    while (pos < at) {
      uint64_t k = at - pos;
      if (k > 64) k = 64;
      if (fwrite(zeros64, 1, k, f) != k) goto fail;
      pos += k;
    }
    const ug_weight_t *wt = &m->weights.items[w];
    if (wt->size && fwrite(wt->data, 1, wt->size, f) != wt->size) goto fail;
    pos += wt->size;
  }
  return NULL;
fail:
  return ug_status_make(UG_ERR_IO, NULL, "cannot write the weights");
}

/* A block-quantized type whose rows (last dim) are not whole blocks. */
static ug_status_t not_whole_blocks(ug_module_t *m, const ug_type_t *t) {
  char buf[160];
  ug_type_format(m->dims, t, buf, sizeof buf);
  return ug_status_make(UG_ERR_SHAPE, NULL, "%s is not made of whole %s blocks of %d (rows of a static length)",
                        buf, ug_dtype_name(t->dtype), ug_dtype_block_elems(t->dtype));
}

ug_status_t ug_plan_type_bytes(ug_module_t *m, const ug_type_t *t, ug_dim_t *out) {
  int64_t numel, bytes;
  bool quant = ug_dtype_is_quant(t->dtype);
  if (ug_type_static_numel(t, &numel)) {
    if (quant && (t->rank == 0 || t->dims[t->rank - 1] % ug_dtype_block_elems(t->dtype) != 0))
      return not_whole_blocks(m, t);
    if (!ug_dtype_bytes(t->dtype, numel, &bytes))
      return ug_status_make(UG_ERR_SHAPE, NULL, "tensor size overflows");
    *out = bytes;
    return NULL;
  }
  if (quant) {
    /* symbolic leading dims (rows gathered by a symbolic number of ids)
     * times the bytes of one row */
    ug_dim_t last = t->dims[t->rank - 1];
    int64_t be = ug_dtype_block_elems(t->dtype);
    if (!UG_DIM_IS_STATIC(last) || last % be != 0) return not_whole_blocks(m, t);
    ug_dim_t rows = 1;
    for (int i = 0; i + 1 < t->rank; i++) rows = ug_dim_mul(m->dims, rows, t->dims[i]);
    *out = ug_dim_mul(m->dims, rows, last / be * ug_dtype_block_bytes(t->dtype));
    return NULL;
  }
  *out = ug_dim_mul(m->dims, ug_type_numel(m->dims, t), ug_dtype_bits(t->dtype) / 8);
  return NULL;
}

/* The output of g named like state input i, or -1 (not a state). */
static int64_t state_output(const ug_graph_t *g, size_t i) {
  const ug_value_t *v = &g->values.items[g->inputs.items[i]];
  const char *name = v->name;
  if (!v->state) return -1;
  for (size_t o = 0; name && o < g->outputs.len; o++)
    if (strcmp(g->output_names.items[o], name) == 0) return (int64_t)o;
  return -1;
}

ug_status_t ug_plan_states(ug_module_t *m, ug_plan_state_t **out, uint32_t *out_n) {
  UG_VEC(ug_plan_state_t) v = {0};
  for (size_t gi = 0; gi < m->graphs.len; gi++) {
    ug_graph_t *g = m->graphs.items[gi];
    for (size_t i = 0; i < g->inputs.len; i++) {
      if (state_output(g, i) < 0) continue;
      const ug_value_t *iv = &g->values.items[g->inputs.items[i]];
      size_t k = 0;
      while (k < v.len && strcmp(v.items[k].name, iv->name) != 0) k++;
      if (k < v.len) {
        if (!ug_type_equal(&v.items[k].type, &iv->type))
          return ug_status_make(UG_ERR_INVALID, g->name, "state '%s' has another type than in an earlier graph", iv->name);
        continue;
      }
      if (!ug_type_is_static(&iv->type))
        return ug_status_make(UG_ERR_UNSUPPORTED, g->name, "state '%s' must have a static shape", iv->name);
      ug_plan_state_t st = {iv->name, iv->type};
      UG_VEC_PUSH(m->arena, &v, st);
    }
  }
  *out = v.items;
  *out_n = (uint32_t)v.len;
  return NULL;
}

static bool is_alias_op(ug_op_t op) {
  return op == UG_OP_RESHAPE || op == UG_OP_SQUEEZE || op == UG_OP_UNSQUEEZE || op == UG_OP_IDENTITY;
}

static uint32_t add_buffer(ug_module_t *m, ug_plan_t *p, uint32_t kind, uint32_t index, ug_dim_t size,
                           uint32_t step) {
  ug_plan_buffer_t b = {.kind = kind, .index = index, .size = size, .offset = UINT64_MAX,
                        .first_step = step, .last_step = step, .weight = UG_NONE};
  UG_VEC_PUSH(m->arena, &p->buffers, b);
  return (uint32_t)p->buffers.len - 1;
}

static void use_buffer(ug_plan_t *p, uint32_t b, uint32_t step) {
  ug_plan_buffer_t *pb = &p->buffers.items[b];
  if (pb->kind == UGRT_BUF_ARENA && pb->last_step < step) pb->last_step = step;
}

static uint32_t unit_of(const int64_t *kid, size_t nn, uint32_t node) {
  return kid[node] >= 0 ? (uint32_t)(nn + (size_t)kid[node]) : node;
}

/* The order in which nodes become steps: a topological order of the units
 * (a node, or all nodes of one fused kernel), each unit at the earliest point
 * of the schedule where it can run; a kernel is listed by its first node. */
static ug_status_t unit_order(ug_module_t *m, ug_graph_t *g, uint32_t **out, uint32_t *out_n) {
  size_t nn = g->nodes.len;
  int64_t *kid = ug_arena_alloc(m->arena, sizeof(int64_t) * (nn + 1));
  int64_t nk = 0;
  for (size_t i = 0; i < nn; i++) {
    ug_node_t *n = &g->nodes.items[i];
    kid[i] = n->dead ? -1 : ug_node_attr_int(g, n, UG_ATTR_KERNEL, -1);
    if (kid[i] >= (int64_t)nn) return ug_node_error(g, n, UG_ERR_INVALID, "kernel id %lld out of range", (long long)kid[i]);
    if (kid[i] >= nk) nk = kid[i] + 1;
  }
  size_t nu = nn + (size_t)nk;
  /* members of each kernel, in schedule order */
  uint32_t *kfirst = ug_arena_alloc(m->arena, sizeof(uint32_t) * ((size_t)nk + 1));
  uint32_t *knext = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nn + 1));
  uint32_t *klast = ug_arena_alloc(m->arena, sizeof(uint32_t) * ((size_t)nk + 1));
  for (int64_t k = 0; k < nk; k++) kfirst[k] = klast[k] = UG_NONE;
  for (size_t i = 0; i < nn; i++) {
    knext[i] = UG_NONE;
    if (kid[i] < 0) continue;
    if (kfirst[kid[i]] == UG_NONE) kfirst[kid[i]] = (uint32_t)i;
    else knext[klast[kid[i]]] = (uint32_t)i;
    klast[kid[i]] = (uint32_t)i;
  }
  uint8_t *state = ug_arena_alloc(m->arena, nu + 1); /* 0 new, 1 open, 2 placed */
  uint32_t *stack = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nu + 1));
  /* per open unit: the member being scanned and its next operand */
  uint32_t *cur_node = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nu + 1));
  uint32_t *cur_op = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nu + 1));
  uint32_t *order = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nn + 1));
  uint32_t no = 0;
  for (size_t root = 0; root < nn; root++) {
    if (g->nodes.items[root].dead) continue;
    uint32_t ru = unit_of(kid, nn, (uint32_t)root);
    if (state[ru]) continue;
    size_t sp = 0;
    stack[sp++] = ru;
    state[ru] = 1;
    cur_node[ru] = ru >= nn ? kfirst[ru - nn] : ru;
    cur_op[ru] = 0;
    while (sp) {
      uint32_t u = stack[sp - 1];
      if (cur_node[u] == UG_NONE) {
        state[u] = 2;
        order[no++] = u >= nn ? kfirst[u - nn] : u;
        sp--;
        continue;
      }
      ug_node_t *n = &g->nodes.items[cur_node[u]];
      if (cur_op[u] >= n->num_operands) {
        cur_node[u] = u >= nn ? knext[cur_node[u]] : UG_NONE;
        cur_op[u] = 0;
        continue;
      }
      ug_value_id_t v = ug_node_operand(g, n, cur_op[u]++);
      if (v == UG_NONE || g->values.items[v].def == UG_NONE) continue;
      uint32_t d = unit_of(kid, nn, g->values.items[v].def);
      if (d == u || state[d] == 2) continue;
      if (state[d] == 1)
        return ug_node_error(g, n, UG_ERR_INVALID, "fused kernels form a cycle through this node");
      state[d] = 1;
      cur_node[d] = d >= nn ? kfirst[d - nn] : d;
      cur_op[d] = 0;
      stack[sp++] = d;
    }
  }
  *out = order;
  *out_n = no;
  return NULL;
}

/* A new arena buffer for result v of node n, first used by step s. */
static ug_status_t result_buffer(ug_module_t *m, ug_graph_t *g, ug_plan_t *p, const ug_node_t *n, ug_value_id_t v,
                                 uint32_t s) {
  ug_dim_t size;
  ug_status_t st = ug_plan_type_bytes(m, ug_value_type(g, v), &size);
  if (st) return ug_status_annotate(st, "%s", ug_node_describe(g, n, (char[160]){0}, 160));
  p->value_buffer[v] = add_buffer(m, p, UGRT_BUF_ARENA, 0, size, s);
  return NULL;
}

/* The step of the fused kernel whose first node is `first`. */
static ug_status_t add_kernel_step(ug_module_t *m, ug_graph_t *g, ug_plan_t *p, const ug_uses_t *uses,
                                   const bool *is_output, uint32_t first, const char *gprefix, ug_scratch_fn scratch) {
  int64_t kid = ug_node_attr_int(g, &g->nodes.items[first], UG_ATTR_KERNEL, -1);
  UG_VEC(ug_node_id_t) nodes = {0};
  for (size_t i = first; i < g->nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[i];
    if (!n->dead && ug_node_attr_int(g, n, UG_ATTR_KERNEL, -1) == kid) UG_VEC_PUSH(m->arena, &nodes, (ug_node_id_t)i);
  }
  uint32_t s = (uint32_t)p->steps.len;
  bool *inside = ug_arena_alloc(m->arena, g->nodes.len + 1);
  size_t cap = 0;
  for (size_t i = 0; i < nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[nodes.items[i]];
    inside[nodes.items[i]] = true;
    cap += n->num_operands + n->num_results;
  }
  cap += 5; /* scratch */
  uint32_t *args = ug_arena_alloc(m->arena, sizeof(uint32_t) * (cap + 1));
  ug_value_id_t *vals = ug_arena_alloc(m->arena, sizeof(ug_value_id_t) * (cap + 1));
  uint32_t na = 0;
  for (size_t i = 0; i < nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[nodes.items[i]];
    for (uint32_t o = 0; o < n->num_operands; o++) {
      ug_value_id_t v = ug_node_operand(g, n, o);
      if (v == UG_NONE) continue;
      ug_node_id_t d = g->values.items[v].def;
      if (d != UG_NONE && inside[d]) continue;
      bool seen = false;
      for (uint32_t a = 0; a < na && !seen; a++) seen = vals[a] == v;
      if (seen) continue;
      if (p->value_buffer[v] == UG_NONE)
        return ug_node_error(g, n, UG_ERR_INTERNAL, "operand %u has no buffer before its fused kernel", o);
      vals[na] = v;
      args[na++] = p->value_buffer[v];
      use_buffer(p, p->value_buffer[v], s);
    }
  }
  for (size_t i = 0; i < nodes.len; i++) {
    ug_node_t *n = &g->nodes.items[nodes.items[i]];
    for (uint32_t r = 0; r < n->num_results; r++) {
      ug_value_id_t v = ug_node_result(g, n, r);
      bool outside = is_output[v];
      for (uint32_t u = uses->offsets[v]; u < uses->offsets[v + 1] && !outside; u++) outside = !inside[uses->users[u]];
      if (!outside) continue;
      UG_RETURN_IF_ERROR(result_buffer(m, g, p, n, v, s));
      vals[na] = v;
      args[na++] = p->value_buffer[v];
    }
  }
  /* A kernel headed by a contraction, on a backend with scratch buffers (the
   * CPU): the head's scratch, then its result when no arg holds it (the CPU
   * computes the matmul, then its epilogue over that buffer). */
  uint32_t nscratch = 0;
  ug_node_t *head = &g->nodes.items[nodes.items[0]];
  if (scratch && ug_op_info(head->op)->category == UG_CAT_CON) {
    ug_dim_t sizes[4];
    uint32_t ns = 0;
    bool own_result = false;
    UG_RETURN_IF_ERROR(scratch(g, nodes.items, (uint32_t)nodes.len, sizes, &ns, &own_result));
    for (uint32_t i = 0; i < ns && i < 4; i++) {
      vals[na] = UG_NONE;
      args[na++] = add_buffer(m, p, UGRT_BUF_ARENA, 0, sizes[i], s);
      nscratch++;
    }
    ug_value_id_t hr = ug_node_result(g, head, 0);
    if (own_result && p->value_buffer[hr] == UG_NONE) {
      ug_dim_t size;
      UG_RETURN_IF_ERROR(ug_plan_type_bytes(m, ug_value_type(g, hr), &size));
      vals[na] = UG_NONE;
      args[na++] = add_buffer(m, p, UGRT_BUF_ARENA, 0, size, s);
      nscratch++;
    }
  }
  /* name: the first three ops and the node count */
  char name[160];
  int len = snprintf(name, sizeof name, "ugk_%s%u", gprefix, first);
  for (size_t i = 0; i < nodes.len && i < 3 && len > 0 && (size_t)len < sizeof name; i++)
    len += snprintf(name + len, sizeof name - (size_t)len, "_%s", ug_op_info(g->nodes.items[nodes.items[i]].op)->name);
  if (len > 0 && (size_t)len < sizeof name) snprintf(name + len, sizeof name - (size_t)len, "_x%zu", nodes.len);
  ug_plan_step_t st = {.kind = UG_STEP_NODE, .node = first, .nodes = nodes.items, .num_nodes = (uint32_t)nodes.len,
                       .arg_values = vals, .args = args, .num_args = na, .num_scratch = nscratch};
  st.kernel_name = ug_arena_strdup(m->arena, name);
  UG_VEC_PUSH(m->arena, &p->steps, st);
  return NULL;
}

/* ---- in-place reuse (plan.h) ---- */

static bool is_row_reduction(ug_op_t op) {
  return op == UG_OP_REDUCE_SUM || op == UG_OP_REDUCE_MEAN || op == UG_OP_REDUCE_MAX || op == UG_OP_REDUCE_MIN;
}

/* Whether step s computes every element of its results from the elements
 * of its operands at the same index, in one program that reads them before
 * it writes (plan.h): a single elementwise node, or a fused kernel of
 * elementwise nodes and (row kernels) last-axis reductions, lowered through
 * the kernel IR.  A kernel headed by a contraction is not: its operands
 * are read by many programs. */
static bool inplace_step(const ug_graph_t *g, const ug_plan_step_t *s, const char **why) {
  *why = NULL;
  if (s->kind != UG_STEP_NODE) return false;
  if (s->num_nodes > 1 && ug_op_info(g->nodes.items[s->node].op)->category == UG_CAT_CON) {
    *why = "a contraction's kernel (many programs read each operand element)";
    return false;
  }
  if (s->num_scratch) return false;
  for (uint32_t i = 0; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    if (ug_op_info(n->op)->category != UG_CAT_EW && !(s->num_nodes > 1 && is_row_reduction(n->op))) return false;
  }
  return true;
}

static const char *kind_name(uint32_t kind) {
  switch (kind) {
  case UGRT_BUF_ARENA: return "arena";
  case UGRT_BUF_INPUT: return "a graph input";
  case UGRT_BUF_OUTPUT: return "a graph output";
  case UGRT_BUF_WEIGHT: return "a weight";
  case UGRT_BUF_STATE: return "a session state";
  default: return "?";
  }
}

static bool same_dims(const ug_type_t *a, const ug_type_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* Whole bytes per element, 0 for block-quantized and sub-byte dtypes. */
static int elem_bytes(ug_dtype_t dt) {
  int bits = ug_dtype_bits(dt);
  return ug_dtype_is_quant(dt) || bits <= 0 || bits % 8 ? 0 : bits / 8;
}

static const char *value_str(ug_module_t *m, const ug_graph_t *g, ug_value_id_t v) {
  const char *name = g->values.items[v].name;
  return name ? ug_arena_printf(m->arena, "%%%s", name) : ug_arena_printf(m->arena, "value %u", v);
}

/* Why operand arg `o` of step si cannot lend its buffer to result arg `r`,
 * or NULL when it can. */
static const char *refuse(ug_module_t *m, const ug_plan_t *p, uint32_t si, uint32_t o, uint32_t r,
                          const bool *taken) {
  const ug_graph_t *g = p->g;
  const ug_plan_step_t *s = &p->steps.items[si];
  uint32_t b = s->args[o];
  const ug_plan_buffer_t *pb = &p->buffers.items[b];
  const ug_type_t *ot = ug_value_type(g, s->arg_values[o]), *rt = ug_value_type(g, s->arg_values[r]);
  if (pb->kind != UGRT_BUF_ARENA) return kind_name(pb->kind);
  if (taken[b]) return "taken by another result";
  int eb = elem_bytes(ot->dtype), rb = elem_bytes(rt->dtype);
  if (!eb || eb != rb) return ug_arena_printf(m->arena, "%s elements, the result's %s", ug_dtype_name(ot->dtype), ug_dtype_name(rt->dtype));
  if (!same_dims(ot, rt)) {
    char a[160], c[160];
    ug_type_format(m->dims, ot, a, sizeof a);
    ug_type_format(m->dims, rt, c, sizeof c);
    return ug_arena_printf(m->arena, "broadcast or another shape (%s for %s)", a, c);
  }
  if (pb->last_step > si) return ug_arena_printf(m->arena, "read later (until step %u)", pb->last_step);
  for (uint32_t a = 0; a < s->num_args; a++)
    if (a != o && s->args[a] == b && (s->arg_values[a] == UG_NONE || !same_dims(ug_value_type(g, s->arg_values[a]), rt)))
      return ug_arena_printf(m->arena, "its buffer is also arg %u, read at another shape", a);
  return NULL;
}

/* The buffer b now lives in: fwd[] chains merged result buffers to the
 * operand buffer they took (with path halving). */
static uint32_t forwarded(uint32_t *fwd, uint32_t b) {
  while (fwd[b] != b) {
    fwd[b] = fwd[fwd[b]];
    b = fwd[b];
  }
  return b;
}

/* Forwards every buffer reference through fwd, drops the merged buffers
 * and renumbers the rest. */
static void drop_buffers(ug_module_t *m, ug_plan_t *p, uint32_t *fwd) {
  size_t n = p->buffers.len;
  uint32_t *map = ug_arena_alloc(m->arena, sizeof(uint32_t) * (n + 1));
  uint32_t k = 0;
  for (size_t b = 0; b < n; b++) {
    map[b] = fwd[b] != b ? UG_NONE : k;
    if (fwd[b] == b) p->buffers.items[k++] = p->buffers.items[b];
  }
  for (size_t b = 0; b < n; b++) map[b] = map[forwarded(fwd, (uint32_t)b)];
  p->buffers.len = k;
  for (size_t v = 0; v < p->g->values.len; v++)
    if (p->value_buffer[v] != UG_NONE) p->value_buffer[v] = map[p->value_buffer[v]];
  for (size_t i = 0; i < p->g->inputs.len; i++) p->input_buffers[i] = map[p->input_buffers[i]];
  for (size_t i = 0; i < p->g->outputs.len; i++) p->output_buffers[i] = map[p->output_buffers[i]];
  for (size_t si = 0; si < p->steps.len; si++) {
    ug_plan_step_t *s = &p->steps.items[si];
    for (uint32_t a = 0; a < s->num_args; a++) s->args[a] = map[s->args[a]];
  }
}

/* In-place reuse: each result of an elementwise step takes the buffer of
 * the first operand that dies at this step with exactly its shape and
 * element size (plan.h).  The decisions go to each step's note. */
static void plan_inplace(ug_module_t *m, ug_plan_t *p) {
  ug_graph_t *g = p->g;
  size_t nb = p->buffers.len;
  uint32_t *fwd = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nb + 1));
  for (size_t b = 0; b < nb; b++) fwd[b] = (uint32_t)b;
  ug_plan_buffer_t *before = ug_arena_alloc(m->arena, sizeof(ug_plan_buffer_t) * (nb + 1));
  if (nb) memcpy(before, p->buffers.items, sizeof(ug_plan_buffer_t) * nb);
  bool *taken = ug_arena_alloc(m->arena, nb + 1);
  bool any = false;
  for (uint32_t si = 0; si < p->steps.len; si++) {
    ug_plan_step_t *s = &p->steps.items[si];
    /* this step's args where earlier merges moved them */
    for (uint32_t a = 0; a < s->num_args; a++) s->args[a] = forwarded(fwd, s->args[a]);
    const char *why;
    if (!inplace_step(g, s, &why)) {
      if (why) s->inplace_note = ug_arena_printf(m->arena, "not in place: %s", why);
      continue;
    }
    /* operands from outside come first, then the results (plan.h) */
    uint32_t nin = 0;
    while (nin < s->num_args) {
      ug_node_id_t d = g->values.items[s->arg_values[nin]].def;
      bool inside = false;
      for (uint32_t i = 0; i < s->num_nodes && d != UG_NONE; i++) inside = inside || s->nodes[i] == d;
      if (inside) break;
      nin++;
    }
    char *note = NULL;
    size_t len = 0;
    FILE *f = nin ? open_memstream(&note, &len) : NULL;
    if (!f) continue;
    for (uint32_t r = nin; r < s->num_args; r++) {
      uint32_t rb = s->args[r];
      const ug_plan_buffer_t *rbuf = &p->buffers.items[rb];
      const ug_type_t *rt = ug_value_type(g, s->arg_values[r]);
      const char *rs = value_str(m, g, s->arg_values[r]);
      if (rbuf->kind != UGRT_BUF_ARENA) {
        fprintf(f, "%snot in place: arg %u (%s): the result is %s", len ? "; " : "", r, rs, kind_name(rbuf->kind));
        fflush(f);
        continue;
      }
      if (rt->rank == 0 || rt->dims[rt->rank - 1] == 1) {
        /* the kernel IR loads such a view as one element every thread
         * reads, and one thread stores it: no order between the two */
        fprintf(f, "%snot in place: arg %u (%s): rows of one element", len ? "; " : "", r, rs);
        fflush(f);
        continue;
      }
      uint32_t o = 0;
      const char *reasons[64];
      for (; o < nin && o < 64; o++)
        if (!(reasons[o] = refuse(m, p, si, o, r, taken))) break;
      if (o < nin && o < 64) {
        uint32_t ob = s->args[o];
        fprintf(f, "%sin place: arg %u (%s) in the buffer of arg %u (%s)", len ? "; " : "", r, rs, o,
                value_str(m, g, s->arg_values[o]));
        fflush(f);
        /* the result lives in the operand's buffer from here on */
        fwd[rb] = ob;
        for (uint32_t a = 0; a < s->num_args; a++)
          if (s->args[a] == rb) s->args[a] = ob;
        if (p->buffers.items[ob].last_step < rbuf->last_step) p->buffers.items[ob].last_step = rbuf->last_step;
        taken[ob] = true;
        s->num_inplace++;
        any = true;
        continue;
      }
      fprintf(f, "%snot in place: arg %u (%s):", len ? "; " : "", r, rs);
      for (uint32_t i = 0; i < nin && i < 64; i++)
        fprintf(f, "%s arg %u (%s) %s", i ? "," : "", i, value_str(m, g, s->arg_values[i]), reasons[i]);
      fflush(f);
    }
    fclose(f);
    for (uint32_t a = 0; a < s->num_args; a++) taken[s->args[a]] = false; /* per step */
    if (len) s->inplace_note = ug_arena_strdup(m->arena, note);
    free(note);
    p->num_inplace_steps += s->num_inplace > 0;
  }
  if (!any) return;
  p->noinplace_buffers = before;
  p->num_noinplace_buffers = (uint32_t)nb;
  drop_buffers(m, p, fwd);
}

bool ug_plan_arg_shared(const ug_plan_step_t *s, uint32_t a) {
  for (uint32_t b = 0; b < s->num_args; b++)
    if (b != a && s->args[b] == s->args[a]) return true;
  return false;
}

uint32_t ug_plan_arg_alias(const ug_plan_step_t *s, uint32_t a) {
  for (uint32_t b = 0; b < a && b < s->num_args; b++)
    if (s->args[b] == s->args[a]) return b;
  return UG_NONE;
}

ug_status_t ug_plan_build(ug_module_t *m, ug_graph_t *g, uint32_t graph_index,
                          const ug_weight_layout_t *wl, ug_scratch_fn scratch, ug_plan_t *out) {
  memset(out, 0, sizeof *out);
  out->g = g;
  out->graph_index = graph_index;
  size_t nv = g->values.len;
  out->value_buffer = ug_arena_alloc(m->arena, sizeof(uint32_t) * (nv + 1));
  for (size_t v = 0; v < nv; v++) out->value_buffer[v] = UG_NONE;
  out->input_buffers = ug_arena_alloc(m->arena, sizeof(uint32_t) * (g->inputs.len + 1));
  out->output_buffers = ug_arena_alloc(m->arena, sizeof(uint32_t) * (g->outputs.len + 1));
  uint32_t *weight_buffer = ug_arena_alloc(m->arena, sizeof(uint32_t) * (m->weights.len + 1));
  for (size_t w = 0; w < m->weights.len; w++) weight_buffer[w] = UG_NONE;
  bool *is_output = ug_arena_alloc(m->arena, nv + 1);
  for (size_t i = 0; i < g->outputs.len; i++) is_output[g->outputs.items[i]] = true;
  char gprefix[32] = "";
  if (graph_index > 0) snprintf(gprefix, sizeof gprefix, "g%u_", graph_index);

  /* inputs; a state input's buffer is the state, and its output is the
   * last of the scatter_nd chain that updates it in place */
  ug_plan_state_t *states;
  uint32_t nstates;
  UG_RETURN_IF_ERROR(ug_plan_states(m, &states, &nstates));
  out->input_abi = ug_arena_alloc(m->arena, sizeof(uint32_t) * (g->inputs.len + 1));
  out->output_abi = ug_arena_alloc(m->arena, sizeof(uint32_t) * (g->outputs.len + 1));
  bool *state_value = ug_arena_alloc(m->arena, nv + 1); /* an input or scatter of a state */
  for (size_t o = 0; o < g->outputs.len; o++) out->output_abi[o] = 0;
  for (size_t i = 0; i < g->inputs.len; i++) {
    ug_value_id_t v = g->inputs.items[i];
    ug_dim_t size;
    UG_RETURN_IF_ERROR(ug_plan_type_bytes(m, ug_value_type(g, v), &size));
    int64_t so = state_output(g, i);
    if (so >= 0) {
      uint32_t k = 0;
      while (strcmp(states[k].name, g->values.items[v].name) != 0) k++;
      out->value_buffer[v] = add_buffer(m, out, UGRT_BUF_STATE, k, size, 0);
      out->input_abi[i] = UG_NONE;
      out->output_abi[so] = UG_NONE;
      state_value[v] = true;
    } else {
      out->input_abi[i] = out->num_abi_inputs++;
      out->value_buffer[v] = add_buffer(m, out, UGRT_BUF_INPUT, out->input_abi[i], size, 0);
    }
    out->input_buffers[i] = out->value_buffer[v];
  }
  for (size_t o = 0; o < g->outputs.len; o++)
    if (out->output_abi[o] != UG_NONE) out->output_abi[o] = out->num_abi_outputs++;

  uint32_t *order = NULL, norder = 0;
  UG_RETURN_IF_ERROR(unit_order(m, g, &order, &norder));
  ug_uses_t uses;
  ug_uses_compute(g, &uses);
  for (uint32_t oi = 0; oi < norder; oi++) {
    size_t ni = order[oi];
    ug_node_t *n = &g->nodes.items[ni];
    int64_t kid = ug_node_attr_int(g, n, UG_ATTR_KERNEL, -1);
    if (kid >= 0) {
      ug_status_t st = add_kernel_step(m, g, out, &uses, is_output, (uint32_t)ni, gprefix, scratch);
      if (st) {
        ug_uses_free(&uses);
        return st;
      }
      continue;
    }
    if (n->op == UG_OP_CONST) {
      ug_value_id_t r = ug_node_result(g, n, 0);
      if (weight_buffer[n->weight] == UG_NONE) {
        const ug_weight_t *wt = &m->weights.items[n->weight];
        uint32_t b = add_buffer(m, out, UGRT_BUF_WEIGHT, 0, (ug_dim_t)wt->size, 0);
        out->buffers.items[b].offset = wl->offsets[n->weight];
        out->buffers.items[b].weight = n->weight;
        weight_buffer[n->weight] = b;
      }
      out->value_buffer[r] = weight_buffer[n->weight];
      continue;
    }
    if (is_alias_op(n->op) && !is_output[ug_node_result(g, n, 0)]) {
      out->value_buffer[ug_node_result(g, n, 0)] = out->value_buffer[ug_node_operand(g, n, 0)];
      continue;
    }
    uint32_t s = (uint32_t)out->steps.len;
    ug_dim_t scratch_sizes[4];
    uint32_t nscratch = 0;
    if (scratch) {
      ug_node_id_t one = (ug_node_id_t)ni;
      bool own_result;
      ug_status_t st = scratch(g, &one, 1, scratch_sizes, &nscratch, &own_result);
      if (st) {
        ug_uses_free(&uses);
        return st;
      }
    }
    size_t cap = n->num_operands + n->num_results + nscratch + 1;
    uint32_t *args = ug_arena_alloc(m->arena, sizeof(uint32_t) * cap);
    ug_value_id_t *vals = ug_arena_alloc(m->arena, sizeof(ug_value_id_t) * cap);
    uint32_t na = 0;
    for (uint32_t i = 0; i < n->num_operands; i++) {
      ug_value_id_t v = ug_node_operand(g, n, i);
      if (v == UG_NONE) continue;
      UG_ASSERT(out->value_buffer[v] != UG_NONE);
      vals[na] = v;
      args[na++] = out->value_buffer[v];
      use_buffer(out, out->value_buffer[v], s);
    }
    ug_value_id_t d0 = n->num_operands ? ug_node_operand(g, n, 0) : UG_NONE;
    if (n->op == UG_OP_SCATTER_ND && d0 != UG_NONE && state_value[d0]) {
      /* in place: the state's only reader is this update */
      if (ug_uses_count(&uses, d0) != 1) {
        ug_uses_free(&uses);
        return ug_node_error(g, n, UG_ERR_UNSUPPORTED,
                             "the state this node updates in place is also read elsewhere");
      }
      ug_value_id_t r = ug_node_result(g, n, 0);
      out->value_buffer[r] = out->value_buffer[d0];
      state_value[r] = true;
      vals[na] = r;
      args[na++] = out->value_buffer[r];
      ug_node_id_t *one = ug_arena_alloc(m->arena, sizeof(ug_node_id_t));
      one[0] = (ug_node_id_t)ni;
      ug_plan_step_t st = {.kind = UG_STEP_NODE, .node = (ug_node_id_t)ni, .nodes = one, .num_nodes = 1,
                           .arg_values = vals, .args = args, .num_args = na, .num_scratch = 0};
      st.kernel_name = ug_arena_printf(m->arena, "ugk_%s%zu_%s", gprefix, ni, ug_op_info(n->op)->name);
      UG_VEC_PUSH(m->arena, &out->steps, st);
      continue;
    }
    for (uint32_t i = 0; i < n->num_results; i++) {
      ug_value_id_t v = ug_node_result(g, n, i);
      ug_status_t st = result_buffer(m, g, out, n, v, s);
      if (st) {
        ug_uses_free(&uses);
        return st;
      }
      vals[na] = v;
      args[na++] = out->value_buffer[v];
    }
    for (uint32_t i = 0; i < nscratch; i++) {
      vals[na] = UG_NONE;
      args[na++] = add_buffer(m, out, UGRT_BUF_ARENA, 0, scratch_sizes[i], s);
    }
    ug_node_id_t *nodes = ug_arena_alloc(m->arena, sizeof(ug_node_id_t));
    nodes[0] = (ug_node_id_t)ni;
    ug_plan_step_t st = {.kind = UG_STEP_NODE, .node = (ug_node_id_t)ni, .nodes = nodes, .num_nodes = 1,
                         .arg_values = vals, .args = args, .num_args = na, .num_scratch = nscratch};
    st.kernel_name = ug_arena_printf(m->arena, "ugk_%s%zu_%s", gprefix, ni, ug_op_info(n->op)->name);
    UG_VEC_PUSH(m->arena, &out->steps, st);
  }
  ug_uses_free(&uses);

  bool *claimed = ug_arena_alloc(m->arena, out->buffers.len + 1);
  for (size_t i = 0; i < g->outputs.len; i++) {
    ug_value_id_t v = g->outputs.items[i];
    uint32_t b = out->value_buffer[v];
    UG_ASSERT(b != UG_NONE);
    if (out->output_abi[i] == UG_NONE) {
      /* a state: the updates must have happened in its buffer */
      const ug_plan_buffer_t *sb = &out->buffers.items[b];
      if (sb->kind != UGRT_BUF_STATE || strcmp(states[sb->index].name, g->output_names.items[i]) != 0)
        return ug_status_make(UG_ERR_UNSUPPORTED, g->name,
                              "state output '%s' must be the result of scatter_nd updates of input '%s'",
                              g->output_names.items[i], g->output_names.items[i]);
      out->output_buffers[i] = b;
      continue;
    }
    if (state_value[v])
      return ug_status_make(UG_ERR_UNSUPPORTED, g->name, "output '%s' returns a state; read it through the session",
                            g->output_names.items[i]);
    uint32_t ai = out->output_abi[i];
    if (out->buffers.items[b].kind == UGRT_BUF_ARENA && !claimed[b]) {
      claimed[b] = true;
      out->buffers.items[b].kind = UGRT_BUF_OUTPUT;
      out->buffers.items[b].index = ai;
      out->output_buffers[i] = b;
      continue;
    }
    uint32_t s = (uint32_t)out->steps.len;
    uint32_t ob = add_buffer(m, out, UGRT_BUF_OUTPUT, ai, out->buffers.items[b].size, s);
    use_buffer(out, b, s);
    out->output_buffers[i] = ob;
    uint32_t *args = ug_arena_alloc(m->arena, sizeof(uint32_t) * 2);
    args[0] = b;
    args[1] = ob;
    ug_plan_step_t st = {.kind = UG_STEP_COPY, .node = UG_NONE, .args = args, .num_args = 2,
                         .copy_bytes = out->buffers.items[b].size};
    st.kernel_name = ug_arena_printf(m->arena, "ugk_%scopy_out%zu", gprefix, i);
    UG_VEC_PUSH(m->arena, &out->steps, st);
  }
  /* Buffers converted to outputs keep their step range harmlessly; the
   * runtime ignores it for non-arena buffers. */
  plan_inplace(m, out);
  return NULL;
}

static bool arena_stats(const ug_plan_buffer_t *bufs, size_t n, uint64_t *out_naive, uint64_t *out_peak) {
  uint32_t *order = malloc(sizeof(uint32_t) * (n + 1));
  uint64_t *off = malloc(sizeof(uint64_t) * (n + 1));
  if (!order || !off) {
    free(order), free(off);
    return false;
  }
  uint32_t k = 0;
  uint64_t naive = 0, peak = 0;
  bool ok = true;
  for (uint32_t b = 0; b < n && ok; b++) {
    const ug_plan_buffer_t *pb = &bufs[b];
    if (pb->kind != UGRT_BUF_ARENA) continue;
    if (!UG_DIM_IS_STATIC(pb->size)) ok = false;
    naive += (uint64_t)pb->size;
    uint32_t i = k++;
    while (i > 0 && bufs[order[i - 1]].size < pb->size) {
      order[i] = order[i - 1];
      i--;
    }
    order[i] = b;
  }
  for (uint32_t i = 0; i < k && ok; i++) {
    const ug_plan_buffer_t *x = &bufs[order[i]];
    uint64_t o = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (uint32_t j = 0; j < i; j++) {
        const ug_plan_buffer_t *y = &bufs[order[j]];
        if (x->first_step > y->last_step || y->first_step > x->last_step || !x->size || !y->size) continue;
        if (o < off[j] + (uint64_t)y->size && off[j] < o + (uint64_t)x->size) {
          o = (off[j] + (uint64_t)y->size + 63) / 64 * 64;
          moved = true;
        }
      }
    }
    off[i] = o;
    if (o + (uint64_t)x->size > peak) peak = o + (uint64_t)x->size;
  }
  free(order);
  free(off);
  *out_naive = naive;
  *out_peak = peak;
  return ok;
}

bool ug_plan_arena_stats(const ug_plan_t *p, uint64_t *out_naive, uint64_t *out_peak) {
  return arena_stats(p->buffers.items, p->buffers.len, out_naive, out_peak);
}

void ug_plan_print(ug_module_t *m, const ug_plan_t *p, FILE *f) {
  fprintf(f, "plan @%s: %zu buffers, %zu steps\n", p->g->name, p->buffers.len, p->steps.len);
  uint64_t naive, peak;
  if (ug_plan_arena_stats(p, &naive, &peak))
    fprintf(f, "  arena: peak %llu bytes (sum of its buffers %llu)\n", (unsigned long long)peak,
            (unsigned long long)naive);
  else
    fprintf(f, "  arena: symbolic sizes, placed by libugrt per shape at run time\n");
  fprintf(f, "  in place: %u of %zu steps", p->num_inplace_steps, p->steps.len);
  bool stat = p->noinplace_buffers ? arena_stats(p->noinplace_buffers, p->num_noinplace_buffers, &naive, &peak)
                                   : ug_plan_arena_stats(p, &naive, &peak);
  if (stat)
    fprintf(f, "; without: peak %llu bytes (sum of its buffers %llu)", (unsigned long long)peak,
            (unsigned long long)naive);
  fputc('\n', f);
  for (size_t b = 0; b < p->buffers.len; b++) {
    const ug_plan_buffer_t *pb = &p->buffers.items[b];
    static const char *kinds[] = {"arena", "input", "output", "weight", "state"};
    char size[128];
    ug_dim_format(m->dims, pb->size, size, sizeof size);
    fprintf(f, "  buffer %zu: %s", b, pb->kind <= UGRT_BUF_STATE ? kinds[pb->kind] : "?");
    if (pb->kind == UGRT_BUF_INPUT || pb->kind == UGRT_BUF_OUTPUT || pb->kind == UGRT_BUF_STATE)
      fprintf(f, " #%u", pb->index);
    if (pb->kind == UGRT_BUF_WEIGHT) fprintf(f, " +%llu", (unsigned long long)pb->offset);
    fprintf(f, " %s bytes", size);
    if (pb->kind == UGRT_BUF_ARENA) fprintf(f, " steps %u..%u", pb->first_step, pb->last_step);
    fputc('\n', f);
  }
  for (size_t s = 0; s < p->steps.len; s++) {
    const ug_plan_step_t *ps = &p->steps.items[s];
    fprintf(f, "  step %zu: %s(", s, ps->kernel_name);
    for (uint32_t a = 0; a < ps->num_args; a++) fprintf(f, "%s%u", a ? ", " : "", ps->args[a]);
    fprintf(f, ")\n");
    if (ps->inplace_note) fprintf(f, "    %s\n", ps->inplace_note);
  }
}
