/* Control flow and functions, removed at import:
 *
 * - If whose condition is known (exporters emit them for checks on shapes,
 *   e.g. `if x.size(0) == 1`) becomes the nodes of the taken branch;
 * - Scan over a static length and Loop with a known trip count or known
 *   conditions are unrolled, one renamed copy of the body per iteration;
 * - calls of model-local functions (ModelProto.functions) are inlined.
 *
 * Copies rename the body's names: formal inputs and outputs map to the
 * actual names, names the body defines get the prefix "<loc>#<iter>/", and
 * names of the enclosing scope stay as they are.  A condition computed at run
 * time is unsupported by design. */
#include <string.h>

#include "frontend/onnx/internal.h"

#define MAX_ITERATIONS 1024
#define MAX_INLINE_DEPTH 32

typedef struct {
  const char *const *from; /* formal names */
  const char *const *to;   /* actual names */
  uint32_t n;
  const char *prefix;
  const Onnx__NodeProto *const *body;
  uint32_t nbody;
  const Onnx__TensorProto *const *inits;
  uint32_t ninits;
} renamer_t;

static bool defined_in_body(const renamer_t *r, const char *name) {
  for (uint32_t i = 0; i < r->nbody; i++)
    for (size_t k = 0; k < r->body[i]->n_output; k++)
      if (strcmp(r->body[i]->output[k], name) == 0) return true;
  for (uint32_t i = 0; i < r->ninits; i++)
    if (r->inits[i]->name && strcmp(r->inits[i]->name, name) == 0) return true;
  return false;
}

static char *rename_one(ox_ctx_t *c, const renamer_t *r, const char *name) {
  if (!name[0]) return (char *)"";
  for (uint32_t i = 0; i < r->n; i++)
    if (strcmp(r->from[i], name) == 0) return (char *)r->to[i];
  if (defined_in_body(r, name)) return ug_arena_printf(c->a, "%s/%s", r->prefix, name);
  return (char *)name;
}

/* Imports a renamed copy of a body.  `call` supplies the attributes that the
 * body's ref_attr_name attributes refer to (functions), or NULL. */
static ug_status_t inline_body(ox_ctx_t *c, ox_node_t *n, const renamer_t *r,
                               const Onnx__NodeProto *call) {
  if (c->depth > MAX_INLINE_DEPTH)
    return OX_UNSUP(c, n, "functions or subgraphs nested too deeply");
  for (uint32_t i = 0; i < r->ninits; i++) {
    const Onnx__TensorProto *t = r->inits[i];
    if (!t->name || !t->name[0]) return OX_INVALID(c, n, "a subgraph initializer has no name");
    ox_entry_t *e = ox_define(c, rename_one(c, r, t->name));
    if (e->tensor || e->value != UG_NONE || e->kv)
      return OX_INVALID(c, n, "'%s' is defined twice", e->name);
    ox_tensor_t *tensor = ug_arena_alloc(c->a, sizeof *tensor);
    ug_status_t s = ox_tensor_decode(c->a, &c->src, t, t->name, tensor);
    if (s) {
      ug_status_t e2 = ox_err(c, n, ug_status_code(s), "%s", ug_status_message(s));
      ug_status_free(s);
      return e2;
    }
    e->tensor = tensor;
    e->type = tensor->type;
    e->has_type = true;
  }
  Onnx__NodeProto **copies = ug_arena_alloc(c->a, (r->nbody ? r->nbody : 1) * sizeof *copies);
  for (uint32_t i = 0; i < r->nbody; i++) {
    const Onnx__NodeProto *b = r->body[i];
    Onnx__NodeProto *d = ug_arena_alloc(c->a, sizeof *d);
    *d = *b;
    d->name = b->name && b->name[0] ? ug_arena_printf(c->a, "%s/%s", r->prefix, b->name) : NULL;
    d->input = ug_arena_alloc(c->a, (b->n_input + 1) * sizeof *d->input);
    d->output = ug_arena_alloc(c->a, (b->n_output + 1) * sizeof *d->output);
    for (size_t k = 0; k < b->n_input; k++) d->input[k] = rename_one(c, r, b->input[k]);
    for (size_t k = 0; k < b->n_output; k++) d->output[k] = rename_one(c, r, b->output[k]);
    /* attributes referring to the caller's */
    d->attribute = ug_arena_alloc(c->a, (b->n_attribute + 1) * sizeof *d->attribute);
    d->n_attribute = 0;
    for (size_t k = 0; k < b->n_attribute; k++) {
      Onnx__AttributeProto *a = b->attribute[k];
      if (a->ref_attr_name && a->ref_attr_name[0]) {
        const Onnx__AttributeProto *src = NULL;
        for (size_t j = 0; call && j < call->n_attribute; j++)
          if (call->attribute[j]->name && strcmp(call->attribute[j]->name, a->ref_attr_name) == 0)
            src = call->attribute[j];
        if (!src) continue; /* not given: the operator's default */
        Onnx__AttributeProto *na = ug_arena_alloc(c->a, sizeof *na);
        *na = *src;
        na->name = a->name;
        na->ref_attr_name = NULL;
        a = na;
      }
      d->attribute[d->n_attribute++] = a;
    }
    copies[i] = d;
  }
  uint32_t unsupported = 0;
  ug_status_t first = NULL;
  c->depth++;
  ug_status_t s = ox_import_nodes(c, (const Onnx__NodeProto *const *)copies, r->nbody, r->prefix,
                                  false, stderr, &unsupported, &first);
  c->depth--;
  return s;
}

/* Output i of n becomes another name for entry src. */
static ug_status_t bind_out(ox_ctx_t *c, ox_node_t *n, uint32_t i, const char *src_name) {
  ox_entry_t *src = ox_lookup(c, src_name);
  if (!src || (src->value == UG_NONE && !src->kv && !src->tensor && !src->alias))
    return OX_INVALID(c, n, "'%s' is never computed", src_name);
  if (!ox_has_out(n, i)) return NULL;
  ox_entry_t *e = ox_define(c, n->p->output[i]);
  if (e == src) return NULL;
  e->value = src->value;
  e->type = src->type;
  e->has_type = src->has_type;
  e->kv = src->kv;
  e->nkv = src->nkv;
  e->tensor = src->tensor;
  e->producer = src->producer;
  e->alias = src->alias ? src->alias : src;
  return NULL;
}

static const char *const *names_of(ox_ctx_t *c, Onnx__ValueInfoProto *const *vi, size_t n) {
  const char **v = ug_arena_alloc(c->a, (n + 1) * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = vi[i]->name ? vi[i]->name : "";
  return v;
}

/* Rejects what renaming cannot copy: protobuf-c leaves an absent optional
 * string NULL, so a body's input or output may have no name.  Repeated
 * strings (node inputs and outputs) are never NULL once unpacked; they are
 * checked all the same, since renaming dereferences every one. */
static ug_status_t check_nodes(ox_ctx_t *c, ox_node_t *n, const Onnx__NodeProto *const *nodes,
                               size_t nn, const char *what) {
  for (size_t i = 0; i < nn; i++) {
    const Onnx__NodeProto *b = nodes[i];
    if (!b) return OX_INVALID(c, n, "node %zu of the %s is empty", i, what);
    for (size_t k = 0; k < b->n_input; k++)
      if (!b->input[k]) return OX_INVALID(c, n, "node %zu of the %s has a NULL input", i, what);
    for (size_t k = 0; k < b->n_output; k++)
      if (!b->output[k]) return OX_INVALID(c, n, "node %zu of the %s has a NULL output", i, what);
  }
  return NULL;
}

static ug_status_t check_body(ox_ctx_t *c, ox_node_t *n, const Onnx__GraphProto *g,
                              const char *what) {
  for (size_t i = 0; i < g->n_input; i++)
    if (!g->input[i] || !g->input[i]->name || !g->input[i]->name[0])
      return OX_INVALID(c, n, "input %zu of the %s has no name", i, what);
  for (size_t i = 0; i < g->n_output; i++)
    if (!g->output[i] || !g->output[i]->name || !g->output[i]->name[0])
      return OX_INVALID(c, n, "output %zu of the %s has no name", i, what);
  for (size_t i = 0; i < g->n_initializer; i++)
    if (!g->initializer[i]) return OX_INVALID(c, n, "initializer %zu of the %s is empty", i, what);
  return check_nodes(c, n, (const Onnx__NodeProto *const *)g->node, g->n_node, what);
}

/* ---- If ---- */

static ug_status_t h_if(ox_ctx_t *c, ox_node_t *n, int arg) {
  uint32_t cnt;
  const ox_kv_t *kv = ox_in_known(c, n, 0, &cnt);
  if (!kv || cnt != 1 || kv[0].sym)
    return OX_UNSUP(c, n,
                    "control flow with a condition computed at run time is unsupported by design");
  bool cond = ug_dtype_is_float(ox_in_type(n, 0)->dtype) ? kv[0].f != 0 : kv[0].i != 0;
  const Onnx__AttributeProto *a = ox_attr(n, cond ? "then_branch" : "else_branch");
  if (!a || !a->g) return OX_INVALID(c, n, "the %s branch is missing", cond ? "then" : "else");
  const Onnx__GraphProto *g = a->g;
  UG_RETURN_IF_ERROR(check_body(c, n, g, cond ? "then_branch" : "else_branch"));
  if (g->n_output != ox_num_out(n))
    return OX_INVALID(c, n, "the branch has %zu outputs, the node %u", g->n_output, ox_num_out(n));
  if (g->n_sparse_initializer) return OX_UNSUP(c, n, "sparse initializers are not supported");
  renamer_t r = {.prefix = n->loc,
                 .body = (const Onnx__NodeProto *const *)g->node,
                 .nbody = (uint32_t)g->n_node,
                 .inits = (const Onnx__TensorProto *const *)g->initializer,
                 .ninits = (uint32_t)g->n_initializer};
  UG_RETURN_IF_ERROR(inline_body(c, n, &r, NULL));
  for (uint32_t i = 0; i < ox_num_out(n); i++)
    UG_RETURN_IF_ERROR(bind_out(c, n, i, rename_one(c, &r, g->output[i]->name)));
  return NULL;
}

/* ---- Scan and Loop ---- */

/* Stacks the per-iteration values `names[0..cnt)` along `axis` into output i. */
static ug_status_t stack(ox_ctx_t *c, ox_node_t *n, uint32_t i, char **names, uint32_t cnt,
                         int64_t axis, bool reverse) {
  if (!ox_has_out(n, i)) return NULL;
  if (cnt == 0) return OX_UNSUP(c, n, "a scan output of zero iterations");
  ug_value_id_t *parts = ug_arena_alloc(c->a, cnt * sizeof *parts), y;
  int rank = 0;
  for (uint32_t t = 0; t < cnt; t++) {
    ox_entry_t *e = ox_lookup(c, names[reverse ? cnt - 1 - t : t]);
    if (!e) return OX_INVALID(c, n, "scan output '%s' is never computed", names[t]);
    UG_RETURN_IF_ERROR(ox_materialize(c, e, n, &parts[t]));
    rank = ox_type(c, parts[t])->rank + 1;
    int64_t ax;
    if (!ox_axis(axis, rank, &ax)) return OX_INVALID(c, n, "scan output axis out of range");
    ug_attr_t a = ug_attr_ints(UG_ATTR_AXES, &ax, 1);
    UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_UNSQUEEZE, &parts[t], 1, &a, 1, NULL, 1, &parts[t]));
  }
  int64_t ax;
  ox_axis(axis, rank, &ax);
  ug_attr_t a = ug_attr_int(UG_ATTR_AXIS, ax);
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_CONCAT, parts, cnt, &a, 1, NULL, 1, &y));
  return ox_set_out(c, n, i, y);
}

/* Defines a fresh entry for an IR value and returns its name. */
static const char *temp(ox_ctx_t *c, ox_node_t *n, const char *what, int64_t t, ug_value_id_t v) {
  const char *name = ug_arena_printf(c->a, "%s#%lld/%s", n->loc, (long long)t, what);
  ox_entry_t *e = ox_define(c, name);
  e->value = v;
  e->type = *ox_type(c, v);
  e->has_type = true;
  return e->name;
}

static int64_t list_at(const ox_node_t *n, const char *attr, uint32_t i, int64_t dflt) {
  const int64_t *v;
  uint32_t cnt;
  return ox_attr_ints(n, attr, &v, &cnt) && i < cnt ? v[i] : dflt;
}

static ug_status_t h_scan(ox_ctx_t *c, ox_node_t *n, int arg) {
  const Onnx__AttributeProto *ba = ox_attr(n, "body");
  if (!ba || !ba->g) return OX_INVALID(c, n, "body is required");
  const Onnx__GraphProto *g = ba->g;
  UG_RETURN_IF_ERROR(check_body(c, n, g, "body"));
  int64_t m = ox_attr_int(n, "num_scan_inputs", -1);
  uint32_t first_in = n->opset < 9 ? 1 : 0; /* Scan-8: sequence_lens first, a batch axis */
  if (n->opset < 9 && ox_has_in(n, 0))
    return OX_UNSUP(c, n, "Scan-8 sequence_lens is not supported");
  if (m < 1 || (uint32_t)m > n->nin - first_in)
    return OX_INVALID(c, n, "num_scan_inputs is out of range");
  uint32_t ns = n->nin - first_in - (uint32_t)m; /* states */
  if (g->n_input != ns + (uint32_t)m || g->n_output < ns || ox_num_out(n) != g->n_output)
    return OX_INVALID(c, n, "the body's inputs and outputs do not match the node");
  uint32_t nk = (uint32_t)g->n_output - ns;
  /* state and scan input values, Scan-8's batch of 1 squeezed away */
  const char **states = ug_arena_alloc(c->a, (ns + 1) * sizeof *states);
  ug_value_id_t *scan_in = ug_arena_alloc(c->a, ((size_t)m + 1) * sizeof *scan_in);
  int64_t zero = 0;
  ug_attr_t sq0 = ug_attr_ints(UG_ATTR_AXES, &zero, 1);
  for (uint32_t i = 0; i < ns + (uint32_t)m; i++) {
    ug_value_id_t v;
    UG_RETURN_IF_ERROR(ox_in(c, n, first_in + i, &v));
    if (n->opset < 9) {
      if (ox_type(c, v)->rank < 1 || ox_type(c, v)->dims[0] != 1)
        return OX_UNSUP(c, n, "Scan-8 with a batch other than 1");
      UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SQUEEZE, &v, 1, &sq0, 1, NULL, 1, &v));
    }
    if (i < ns)
      states[i] = n->opset < 9 ? temp(c, n, ug_arena_printf(c->a, "state%u", i), -1, v)
                               : n->p->input[first_in + i];
    else
      scan_in[i - ns] = v;
  }
  int64_t T = -1;
  for (uint32_t j = 0; j < (uint32_t)m; j++) {
    const ug_type_t *t = ox_type(c, scan_in[j]);
    int64_t ax;
    if (!ox_axis(list_at(n, "scan_input_axes", j, 0), t->rank, &ax))
      return OX_INVALID(c, n, "scan input axis out of range");
    ug_dim_t d = t->dims[ax];
    if (!UG_DIM_IS_STATIC(d) || d > MAX_ITERATIONS)
      return OX_UNSUP(c, n, "the scan length must be static (at most %d)", MAX_ITERATIONS);
    if (T >= 0 && d != T) return OX_INVALID(c, n, "scan inputs differ in length");
    T = d;
  }
  char **outs = ug_arena_alloc(c->a, ((size_t)nk * (size_t)T + 1) * sizeof *outs);
  const char **from =
      (const char **)names_of(c, (Onnx__ValueInfoProto *const *)g->input, g->n_input);
  const char **to = ug_arena_alloc(c->a, (g->n_input + 1) * sizeof *to);
  for (int64_t t = 0; t < T; t++) {
    for (uint32_t i = 0; i < ns; i++) to[i] = states[i];
    for (uint32_t j = 0; j < (uint32_t)m; j++) {
      const ug_type_t *ty = ox_type(c, scan_in[j]);
      const char *dirs = n->opset < 9 ? "directions" : "scan_input_directions";
      int64_t ax, st = 1, at = list_at(n, dirs, j, 0) ? T - 1 - t : t, end = at + 1;
      ox_axis(list_at(n, "scan_input_axes", j, 0), ty->rank, &ax);
      ug_attr_t sa[4] = {ug_attr_ints(UG_ATTR_AXES, &ax, 1), ug_attr_ints(UG_ATTR_STARTS, &at, 1),
                         ug_attr_ints(UG_ATTR_ENDS, &end, 1), ug_attr_ints(UG_ATTR_STEPS, &st, 1)};
      ug_value_id_t v;
      UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SLICE, &scan_in[j], 1, sa, 4, NULL, 1, &v));
      ug_attr_t qa = ug_attr_ints(UG_ATTR_AXES, &ax, 1);
      UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SQUEEZE, &v, 1, &qa, 1, NULL, 1, &v));
      to[ns + j] = temp(c, n, ug_arena_printf(c->a, "in%u", j), t, v);
    }
    renamer_t r = {.from = from,
                   .to = to,
                   .n = (uint32_t)g->n_input,
                   .prefix = ug_arena_printf(c->a, "%s#%lld", n->loc, (long long)t),
                   .body = (const Onnx__NodeProto *const *)g->node,
                   .nbody = (uint32_t)g->n_node,
                   .inits = (const Onnx__TensorProto *const *)g->initializer,
                   .ninits = (uint32_t)g->n_initializer};
    UG_RETURN_IF_ERROR(inline_body(c, n, &r, NULL));
    for (uint32_t i = 0; i < ns; i++) states[i] = rename_one(c, &r, g->output[i]->name);
    for (uint32_t k = 0; k < nk; k++)
      outs[(size_t)k * (size_t)T + (size_t)t] = rename_one(c, &r, g->output[ns + k]->name);
  }
  for (uint32_t i = 0; i < ns; i++) {
    if (n->opset < 9) {
      ox_entry_t *e = ox_lookup(c, states[i]);
      ug_value_id_t v;
      if (!e) return OX_INVALID(c, n, "state '%s' is never computed", states[i]);
      UG_RETURN_IF_ERROR(ox_materialize(c, e, n, &v));
      UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_UNSQUEEZE, &v, 1, &sq0, 1, NULL, 1, &v));
      UG_RETURN_IF_ERROR(ox_set_out(c, n, i, v));
    } else {
      UG_RETURN_IF_ERROR(bind_out(c, n, i, states[i]));
    }
  }
  for (uint32_t k = 0; k < nk; k++) {
    int64_t axis = n->opset < 9 ? 0 : list_at(n, "scan_output_axes", k, 0);
    bool rev = n->opset >= 9 && list_at(n, "scan_output_directions", k, 0) != 0;
    UG_RETURN_IF_ERROR(stack(c, n, ns + k, outs + (size_t)k * (size_t)T, (uint32_t)T, axis, rev));
    if (n->opset < 9 && ox_has_out(n, ns + k)) {
      ox_entry_t *e = ox_lookup(c, n->p->output[ns + k]);
      ug_value_id_t v = e->value;
      UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_UNSQUEEZE, &v, 1, &sq0, 1, NULL, 1, &v));
      e->value = UG_NONE;
      UG_RETURN_IF_ERROR(ox_set_out(c, n, ns + k, v));
    }
  }
  return NULL;
}

static bool known_scalar(ox_ctx_t *c, ox_entry_t *e, int64_t *out) {
  if (!e || !ox_entry_known(c, e) || e->nkv != 1 || e->kv[0].sym) return false;
  if (!ug_dtype_is_float(e->type.dtype)) {
    *out = e->kv[0].i;
    return true;
  }
  double f = e->kv[0].f;
  if (isnan(f)) return false;
  if (!ox_f64_to_i64(f, out)) *out = f > 0 ? INT64_MAX : INT64_MIN; /* saturated */
  return true;
}

static ug_status_t h_loop(ox_ctx_t *c, ox_node_t *n, int arg) {
  const Onnx__AttributeProto *ba = ox_attr(n, "body");
  if (!ba || !ba->g) return OX_INVALID(c, n, "body is required");
  const Onnx__GraphProto *g = ba->g;
  UG_RETURN_IF_ERROR(check_body(c, n, g, "body"));
  if (n->nin < 2) return OX_INVALID(c, n, "Loop needs the trip count and condition inputs");
  uint32_t ns = n->nin - 2;
  if (g->n_input != ns + 2 || g->n_output < ns + 1 || ox_num_out(n) != g->n_output - 1)
    return OX_INVALID(c, n, "the body's inputs and outputs do not match the node");
  uint32_t nk = (uint32_t)g->n_output - 1 - ns;
  int64_t trip = -1, cond = 1;
  if (ox_has_in(n, 0) && !known_scalar(c, n->in[0], &trip))
    return OX_UNSUP(c, n,
                    "control flow with a trip count computed at run time is unsupported by design");
  if (ox_has_in(n, 1) && !known_scalar(c, n->in[1], &cond))
    return OX_UNSUP(c, n,
                    "control flow with a condition computed at run time is unsupported by design");
  if (trip < 0 && !ox_has_in(n, 1))
    return OX_UNSUP(c, n, "an unbounded loop is unsupported by design");
  const char **states = ug_arena_alloc(c->a, (ns + 1) * sizeof *states);
  for (uint32_t i = 0; i < ns; i++) states[i] = n->p->input[2 + i];
  const char *cond_name = ox_has_in(n, 1) ? n->p->input[1] : NULL;
  char **outs = ug_arena_alloc(c->a, ((size_t)nk * MAX_ITERATIONS + 1) * sizeof *outs);
  const char **from =
      (const char **)names_of(c, (Onnx__ValueInfoProto *const *)g->input, g->n_input);
  const char **to = ug_arena_alloc(c->a, (g->n_input + 1) * sizeof *to);
  int64_t it = 0;
  for (; (trip < 0 || it < trip) && cond; it++) {
    if (it >= MAX_ITERATIONS) return OX_UNSUP(c, n, "more than %d loop iterations", MAX_ITERATIONS);
    /* iteration number and condition as known scalars */
    ox_entry_t *ie = ox_define(c, ug_arena_printf(c->a, "%s#%lld/iter", n->loc, (long long)it));
    ie->type = ug_type_scalar(UG_DTYPE_I64);
    ie->has_type = true;
    ie->kv = ox_kv_alloc(c, 1);
    ie->kv[0] = (ox_kv_t){it, (double)it, false};
    ie->nkv = 1;
    if (!cond_name) {
      ox_entry_t *ce = ox_define(c, ug_arena_printf(c->a, "%s#%lld/cond", n->loc, (long long)it));
      ce->type = ug_type_scalar(UG_DTYPE_BOOL);
      ce->has_type = true;
      ce->kv = ox_kv_alloc(c, 1);
      ce->kv[0] = (ox_kv_t){1, 1, false};
      ce->nkv = 1;
      cond_name = ce->name;
    }
    to[0] = ie->name;
    to[1] = cond_name;
    for (uint32_t i = 0; i < ns; i++) to[2 + i] = states[i];
    renamer_t r = {.from = from,
                   .to = to,
                   .n = (uint32_t)g->n_input,
                   .prefix = ug_arena_printf(c->a, "%s#%lld", n->loc, (long long)it),
                   .body = (const Onnx__NodeProto *const *)g->node,
                   .nbody = (uint32_t)g->n_node,
                   .inits = (const Onnx__TensorProto *const *)g->initializer,
                   .ninits = (uint32_t)g->n_initializer};
    UG_RETURN_IF_ERROR(inline_body(c, n, &r, NULL));
    cond_name = rename_one(c, &r, g->output[0]->name);
    if (!known_scalar(c, ox_lookup(c, cond_name), &cond))
      return OX_UNSUP(
          c, n, "control flow with a condition computed at run time is unsupported by design");
    for (uint32_t i = 0; i < ns; i++) states[i] = rename_one(c, &r, g->output[1 + i]->name);
    for (uint32_t k = 0; k < nk; k++)
      outs[(size_t)k * MAX_ITERATIONS + (size_t)it] =
          rename_one(c, &r, g->output[1 + ns + k]->name);
  }
  for (uint32_t i = 0; i < ns; i++) UG_RETURN_IF_ERROR(bind_out(c, n, i, states[i]));
  for (uint32_t k = 0; k < nk; k++)
    UG_RETURN_IF_ERROR(
        stack(c, n, ns + k, outs + (size_t)k * MAX_ITERATIONS, (uint32_t)it, 0, false));
  return NULL;
}

/* ---- model-local functions ---- */

const Onnx__FunctionProto *ox_find_function(ox_ctx_t *c, const char *domain, const char *op_type) {
  for (size_t i = 0; c->mp && i < c->mp->n_functions; i++) {
    const Onnx__FunctionProto *f = c->mp->functions[i];
    if (f->name && op_type && strcmp(f->name, op_type) == 0 &&
        strcmp(f->domain ? f->domain : "", domain ? domain : "") == 0)
      return f;
  }
  return NULL;
}

ug_status_t ox_inline_function(ox_ctx_t *c, ox_node_t *n, const Onnx__FunctionProto *f) {
  if (n->nin > f->n_input || ox_num_out(n) > f->n_output)
    return OX_INVALID(c, n, "the call has more inputs or outputs than function '%s'", f->name);
  for (size_t i = 0; i < f->n_input; i++)
    if (!f->input[i]) return OX_INVALID(c, n, "input %zu of function '%s' is NULL", i, f->name);
  for (size_t i = 0; i < f->n_output; i++)
    if (!f->output[i]) return OX_INVALID(c, n, "output %zu of function '%s' is NULL", i, f->name);
  UG_RETURN_IF_ERROR(check_nodes(c, n, (const Onnx__NodeProto *const *)f->node, f->n_node,
                                 "function body"));
  uint32_t nf = (uint32_t)(f->n_input + f->n_output);
  const char **from = ug_arena_alloc(c->a, (nf + 1) * sizeof *from),
             **to = ug_arena_alloc(c->a, (nf + 1) * sizeof *to);
  uint32_t k = 0;
  for (size_t i = 0; i < f->n_input; i++, k++) {
    from[k] = f->input[i];
    to[k] = i < n->nin ? n->p->input[i] : "";
  }
  for (size_t i = 0; i < f->n_output; i++, k++) {
    from[k] = f->output[i];
    to[k] = i < ox_num_out(n) && n->p->output[i][0]
                ? n->p->output[i]
                : ug_arena_printf(c->a, "%s/%s", n->loc, f->output[i]);
  }
  renamer_t r = {.from = from,
                 .to = to,
                 .n = nf,
                 .prefix = n->loc,
                 .body = (const Onnx__NodeProto *const *)f->node,
                 .nbody = (uint32_t)f->n_node};
  return inline_body(c, n, &r, n->p);
}

const ox_op_entry_t ox_control_ops[] = {
    {"If", h_if, 0, "then_branch else_branch"},
    {"Scan", h_scan, 0,
     "body num_scan_inputs scan_input_axes scan_input_directions scan_output_axes "
     "scan_output_directions directions"},
    {"Loop", h_loop, 0, "body"},
    {NULL, NULL, 0, NULL},
};
