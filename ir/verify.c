/* The verifier: structural and type invariants of a module.
 *
 * Checks, per graph: every node's arity and attributes against the op table;
 * SSA (each value defined once, every use after its definition, results
 * pointing back at their node); result types equal to what shape inference
 * derives; const nodes referring to a weight of the same type; outputs valid
 * and uniquely named.  Per module: graph names unique, dim symbols named as
 * identifiers.  The first problem found is returned, naming the node. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static bool valid_symbol(const char *s) {
  if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
  return true;
}

/* False when the static dims of t alone make more than 2^63 elements or
 * bytes: no such tensor can be stored, and sizes computed from it would wrap. */
static bool type_fits(const ug_type_t *t) {
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] == 0) return true;
  int64_t n = 1, bytes;
  for (int i = 0; i < t->rank; i++)
    if (UG_DIM_IS_STATIC(t->dims[i]) && __builtin_mul_overflow(n, t->dims[i], &n)) return false;
  return ug_dtype_is_quant(t->dtype) || ug_dtype_bytes(t->dtype, n, &bytes);
}

static ug_status_t verify_node(ug_graph_t *g, ug_node_id_t id, const ug_node_id_t *pos) {
  ug_node_t *n = &g->nodes.items[id];
  if ((unsigned)n->op >= UG_OP_COUNT) return ug_status_make(UG_ERR_INVALID, g->name, "node %u has a bad op", id);
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v == UG_NONE) continue;
    if (v >= g->values.len) return ug_node_error(g, n, UG_ERR_INVALID, "operand %u is not a value", i);
    ug_node_id_t d = g->values.items[v].def;
    if (d != UG_NONE && (d >= g->nodes.len || g->nodes.items[d].dead || pos[d] >= pos[id]))
      return ug_node_error(g, n, UG_ERR_INVALID, "operand %u is used before it is defined", i);
  }
  for (uint32_t i = 0; i < n->num_results; i++) {
    ug_value_id_t v = ug_node_result(g, n, i);
    if (v >= g->values.len || g->values.items[v].def != id || g->values.items[v].index != i)
      return ug_node_error(g, n, UG_ERR_INVALID, "result %u does not point back at its node", i);
    if (!type_fits(ug_value_type(g, v))) {
      char a[256];
      ug_type_format(g->module->dims, ug_value_type(g, v), a, sizeof(a));
      return ug_node_error(g, n, UG_ERR_SHAPE, "result %u of type %s has more than 2^63 bytes", i, a);
    }
  }
  if (n->op == UG_OP_CONST) {
    if (n->num_operands || n->num_attrs || n->num_results != 1 || n->weight >= g->module->weights.len)
      return ug_node_error(g, n, UG_ERR_INVALID, "malformed constant");
    if (!ug_type_equal(&g->module->weights.items[n->weight].type, ug_value_type(g, ug_node_result(g, n, 0))))
      return ug_node_error(g, n, UG_ERR_SHAPE, "type differs from its weight's type");
    return NULL;
  }
  const ug_value_id_t *ops = ug_node_operands(g, n);
  UG_RETURN_IF_ERROR(ug_check_signature(g, n->op, ops, n->num_operands, ug_node_attrs(g, n), n->num_attrs,
                                        n->num_results, n->loc));
  ug_type_t types[64];
  if (n->num_results > 64) return ug_node_error(g, n, UG_ERR_INVALID, "too many results");
  UG_RETURN_IF_ERROR(ug_infer_node(g, n, types));
  for (uint32_t i = 0; i < n->num_results; i++) {
    const ug_type_t *have = ug_value_type(g, ug_node_result(g, n, i));
    if (ug_type_equal(have, &types[i])) continue;
    char a[256], b[256];
    ug_type_format(g->module->dims, have, a, sizeof(a));
    ug_type_format(g->module->dims, &types[i], b, sizeof(b));
    return ug_node_error(g, n, UG_ERR_SHAPE, "result %u has type %s but shape inference gives %s", i, a, b);
  }
  return NULL;
}

ug_status_t ug_verify_graph(ug_graph_t *g) {
  size_t nn = g->nodes.len;
  ug_node_id_t *pos = malloc((nn ? nn : 1) * sizeof(*pos));
  if (!pos) return ug_status_make(UG_ERR_NOMEM, g->name, "out of memory");
  ug_node_id_t k = 0;
  for (size_t i = 0; i < nn; i++) pos[i] = g->nodes.items[i].dead ? UG_NONE : k++;
  ug_status_t st = NULL;
  for (size_t i = 0; i < nn && !st; i++)
    if (!g->nodes.items[i].dead) st = verify_node(g, (ug_node_id_t)i, pos);
  free(pos);
  if (st) return st;
  for (size_t i = 0; i < g->inputs.len; i++) {
    ug_value_id_t v = g->inputs.items[i];
    if (v >= g->values.len || g->values.items[v].def != UG_NONE)
      return ug_status_make(UG_ERR_INVALID, g->name, "input %zu is not a graph input value", i);
    if (!type_fits(ug_value_type(g, v))) {
      char a[256];
      ug_type_format(g->module->dims, ug_value_type(g, v), a, sizeof(a));
      return ug_status_make(UG_ERR_SHAPE, g->name, "input %zu of type %s has more than 2^63 bytes", i, a);
    }
  }
  for (size_t i = 0; i < g->outputs.len; i++) {
    ug_value_id_t v = g->outputs.items[i];
    const char *name = g->output_names.items[i];
    if (v >= g->values.len) return ug_status_make(UG_ERR_INVALID, g->name, "output %zu is not a value", i);
    ug_node_id_t d = g->values.items[v].def;
    if (d != UG_NONE && g->nodes.items[d].dead)
      return ug_status_make(UG_ERR_INVALID, g->name, "output \"%s\" comes from a removed node", name);
    if (!name || !*name) return ug_status_make(UG_ERR_INVALID, g->name, "output %zu has no name", i);
    for (size_t j = 0; j < i; j++)
      if (strcmp(g->output_names.items[j], name) == 0)
        return ug_status_make(UG_ERR_INVALID, g->name, "two outputs are named \"%s\"", name);
  }
  /* a state input comes back as the output of its name, with its type */
  for (size_t i = 0; i < g->inputs.len; i++) {
    const ug_value_t *in = &g->values.items[g->inputs.items[i]];
    if (!in->state) continue;
    size_t o = 0;
    while (in->name && o < g->outputs.len && strcmp(g->output_names.items[o], in->name) != 0) o++;
    if (!in->name || o == g->outputs.len)
      return ug_status_make(UG_ERR_INVALID, g->name, "state input %%%s has no output of its name", in->name ? in->name : "?");
    if (!ug_type_equal(&in->type, ug_value_type(g, g->outputs.items[o])))
      return ug_status_make(UG_ERR_INVALID, g->name, "state output \"%s\" has another type than its input", in->name);
  }
  return NULL;
}

ug_status_t ug_verify_module(ug_module_t *m) {
  for (size_t i = 0; i < ug_dims_count(m->dims); i++) {
    const ug_dimexpr_t *e = ug_dim_expr(m->dims, ug_dim_from_index(i));
    if (e->kind == UG_DX_SYM && !valid_symbol(e->name))
      return ug_status_make(UG_ERR_INVALID, e->name, "dimension symbols must be identifiers ([A-Za-z_][A-Za-z0-9_]*)");
  }
  for (size_t i = 0; i < m->graphs.len; i++) {
    for (size_t j = 0; j < i; j++)
      if (strcmp(m->graphs.items[i]->name, m->graphs.items[j]->name) == 0)
        return ug_status_make(UG_ERR_INVALID, m->graphs.items[i]->name, "two graphs share this name");
    UG_RETURN_IF_ERROR(ug_verify_graph(m->graphs.items[i]));
  }
  return NULL;
}
