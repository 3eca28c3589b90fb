/* The ONNX importer's driver: opsets, graph inputs, initializers, node
 * dispatch, outputs; and the helpers every op handler uses (attributes,
 * inputs, known values, emission). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/internal.h"

/* ---- entries: name -> entry, open addressing ---- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static void table_grow(ox_ctx_t *c) {
  uint32_t n = c->nslots ? c->nslots * 2 : 256;
  ox_entry_t **slots = ug_arena_alloc(c->a, n * sizeof *slots);
  for (uint32_t i = 0; i < c->nslots; i++) {
    ox_entry_t *e = c->slots[i];
    if (!e) continue;
    uint32_t j = (uint32_t)hash_str(e->name) & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = e;
  }
  c->slots = slots;
  c->nslots = n;
}

ox_entry_t *ox_lookup(ox_ctx_t *c, const char *name) {
  if (!c->nslots) return NULL;
  uint32_t j = (uint32_t)hash_str(name) & (c->nslots - 1);
  for (; c->slots[j]; j = (j + 1) & (c->nslots - 1))
    if (strcmp(c->slots[j]->name, name) == 0) return c->slots[j];
  return NULL;
}

/* Returns the entry for name, created empty when there is none (ONNX is SSA;
 * callers report redefinitions). */
ox_entry_t *ox_define(ox_ctx_t *c, const char *name) {
  ox_entry_t *e = ox_lookup(c, name);
  if (e) return e;
  if ((c->nentries + 1) * 2 > c->nslots) table_grow(c);
  e = ug_arena_alloc(c->a, sizeof *e);
  e->name = ug_arena_strdup(c->a, name);
  e->value = UG_NONE;
  uint32_t j = (uint32_t)hash_str(name) & (c->nslots - 1);
  while (c->slots[j]) j = (j + 1) & (c->nslots - 1);
  c->slots[j] = e;
  c->nentries++;
  return e;
}

/* ---- errors ---- */

ug_status_t ox_err(ox_ctx_t *c, const ox_node_t *n, ug_code_t code, const char *fmt, ...) {
  char origin[512], msg[1024];
  (void)c;
  snprintf(origin, sizeof origin, "node \"%s\" (%s, opset %lld)", n->loc, n->op_type,
           (long long)n->opset);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ug_status_make(code, origin, "%s", msg);
}

/* Re-homes an error from the IR layer onto the ONNX node. */
static ug_status_t rehome(ox_ctx_t *c, const ox_node_t *n, ug_status_t s) {
  if (!s) return NULL;
  ug_status_t r = ox_err(c, n, ug_status_code(s), "%s", ug_status_message(s));
  ug_status_free(s);
  return r;
}

/* ---- attributes ---- */

const Onnx__AttributeProto *ox_attr(const ox_node_t *n, const char *name) {
  for (size_t i = 0; i < n->p->n_attribute; i++) {
    const Onnx__AttributeProto *a = n->p->attribute[i];
    if (a && a->name && strcmp(a->name, name) == 0) return a;
  }
  return NULL;
}

int64_t ox_attr_int(ox_node_t *n, const char *name, int64_t dflt) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return dflt;
  if (a->has_i) return a->i;
  if (a->has_f) {
    int64_t v;
    if (ox_f64_to_i64(a->f, &v) && (double)v == a->f) return v;
    if (!n->bad_int_attr) n->bad_int_attr = a;
  }
  return dflt;
}

double ox_attr_float(const ox_node_t *n, const char *name, double dflt) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return dflt;
  if (a->has_f) return a->f;
  if (a->has_i) return (double)a->i;
  return dflt;
}

const char *ox_attr_str(ox_ctx_t *c, const ox_node_t *n, const char *name, const char *dflt) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a || !a->has_s) return dflt;
  if (!a->s.len) return ""; /* protobuf-c may leave data NULL */
  return ug_arena_strndup(c->a, (const char *)a->s.data, a->s.len);
}

bool ox_attr_ints(const ox_node_t *n, const char *name, const int64_t **v, uint32_t *cnt) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return false;
  *v = a->ints;
  *cnt = (uint32_t)a->n_ints;
  return true;
}

bool ox_attr_floats(const ox_node_t *n, const char *name, const float **v, uint32_t *cnt) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a) return false;
  *v = a->floats;
  *cnt = (uint32_t)a->n_floats;
  return true;
}

/* ---- inputs, outputs and known values ---- */

uint32_t ox_num_out(const ox_node_t *n) { return (uint32_t)n->p->n_output; }

/* The type of input i; an absent input reads as a scalar (handlers then fail
 * in ox_in, or were told by run_node that input 0 is required). */
const ug_type_t *ox_in_type(const ox_node_t *n, uint32_t i) {
  static const ug_type_t none = {UG_DTYPE_F32, 0, {0}};
  return ox_has_in(n, i) ? &n->in[i]->type : &none;
}

static ug_status_t run_node(ox_ctx_t *c, ox_node_t *n);

ug_status_t ox_materialize(ox_ctx_t *c, ox_entry_t *e, const ox_node_t *user, ug_value_id_t *out) {
  if (e->value != UG_NONE) {
    *out = e->value;
    return NULL;
  }
  const char *loc = user ? user->loc : e->name;
  if (e->alias) {
    UG_RETURN_IF_ERROR(ox_materialize(c, e->alias, user, &e->value));
    *out = e->value;
    return NULL;
  }
  if (e->tensor) {
    ug_weight_id_t w;
    const ox_tensor_t *t = e->tensor;
    UG_RETURN_IF_ERROR(ug_module_add_weight(c->m, e->name, &t->type, t->data, t->size,
                                            ug_hash_bytes(t->data, t->size), &w));
    UG_RETURN_IF_ERROR(ug_graph_add_const(c->g, w, e->name, &e->value));
    *out = e->value;
    return NULL;
  }
  if (e->kv) {
    void *bytes;
    uint64_t size;
    if (ox_kv_to_bytes(c, e->kv, e->nkv, e->type.dtype, &bytes, &size)) {
      ug_weight_id_t w;
      UG_RETURN_IF_ERROR(
          ug_module_add_weight(c->m, NULL, &e->type, bytes, size, ug_hash_bytes(bytes, size), &w));
      UG_RETURN_IF_ERROR(ug_graph_add_const(c->g, w, loc, &e->value));
      *out = e->value;
      return NULL;
    }
    if (e->producer) {
      if (c->depth > 256)
        return ug_status_make(UG_ERR_UNSUPPORTED, e->name, "shape computation nested too deeply");
      ox_node_t *p = e->producer;
      bool fold = p->fold;
      p->fold = false;
      c->depth++;
      ug_status_t s = run_node(c, p);
      c->depth--;
      p->fold = fold;
      UG_RETURN_IF_ERROR(s);
      if (e->value != UG_NONE) {
        *out = e->value;
        return NULL;
      }
    }
  }
  return ug_status_make(UG_ERR_INTERNAL, e->name, "value has no IR definition");
}

ug_status_t ox_in(ox_ctx_t *c, ox_node_t *n, uint32_t i, ug_value_id_t *out) {
  if (!ox_has_in(n, i)) return OX_INVALID(c, n, "input %u is missing", i);
  ug_status_t s = ox_materialize(c, n->in[i], n, out);
  if (s && strncmp(ug_status_origin(s), "node ", 5) != 0) return rehome(c, n, s);
  return s;
}

const ox_kv_t *ox_in_known(ox_ctx_t *c, ox_node_t *n, uint32_t i, uint32_t *out_n) {
  if (!ox_has_in(n, i) || !ox_entry_known(c, n->in[i])) return NULL;
  *out_n = n->in[i]->nkv;
  return n->in[i]->kv;
}

ug_status_t ox_in_ints(ox_ctx_t *c, ox_node_t *n, uint32_t i, const char *what, int64_t **out,
                       uint32_t *out_n) {
  uint32_t cnt;
  const ox_kv_t *kv = ox_in_known(c, n, i, &cnt);
  if (!kv) return OX_UNSUP(c, n, "%s must be a constant", what);
  if (ug_dtype_is_float(n->in[i]->type.dtype))
    return OX_INVALID(c, n, "%s must be an integer tensor", what);
  if (n->in[i]->type.rank > 1) return OX_INVALID(c, n, "%s must be 1-D", what);
  int64_t *v = ug_arena_alloc(c->a, (cnt ? cnt : 1) * sizeof *v);
  for (uint32_t k = 0; k < cnt; k++) {
    if (kv[k].sym) return OX_UNSUP(c, n, "%s must be static, it depends on symbolic dims", what);
    v[k] = kv[k].i;
  }
  *out = v;
  *out_n = cnt;
  return NULL;
}

ug_status_t ox_in_floats(ox_ctx_t *c, ox_node_t *n, uint32_t i, const char *what, double **out,
                         uint32_t *out_n) {
  uint32_t cnt;
  const ox_kv_t *kv = ox_in_known(c, n, i, &cnt);
  if (!kv) return OX_UNSUP(c, n, "%s must be a constant", what);
  bool fl = ug_dtype_is_float(n->in[i]->type.dtype);
  double *v = ug_arena_alloc(c->a, (cnt ? cnt : 1) * sizeof *v);
  for (uint32_t k = 0; k < cnt; k++) {
    if (kv[k].sym) return OX_UNSUP(c, n, "%s must be static", what);
    v[k] = fl ? kv[k].f : (double)kv[k].i;
  }
  *out = v;
  *out_n = cnt;
  return NULL;
}

static ug_status_t out_entry(ox_ctx_t *c, ox_node_t *n, uint32_t i, ox_entry_t **out) {
  if (i >= ox_num_out(n)) return ox_err(c, n, UG_ERR_INTERNAL, "output %u does not exist", i);
  const char *name = n->p->output[i];
  *out = NULL;
  if (!name[0]) return NULL; /* unused optional output */
  *out = ox_define(c, name);
  return NULL;
}

ug_status_t ox_set_out(ox_ctx_t *c, ox_node_t *n, uint32_t i, ug_value_id_t v) {
  ox_entry_t *e = NULL;
  UG_RETURN_IF_ERROR(out_entry(c, n, i, &e));
  if (!e) return NULL;
  e->value = v;
  e->type = *ug_value_type(c->g, v);
  e->has_type = true;
  ug_value_t *val = ug_value(c->g, v);
  if (!val->name && val->def != UG_NONE) val->name = e->name;
  return NULL;
}

ug_status_t ox_set_known(ox_ctx_t *c, ox_node_t *n, uint32_t i, const ug_type_t *type,
                         ox_kv_t *kv) {
  ox_entry_t *e = NULL;
  UG_RETURN_IF_ERROR(out_entry(c, n, i, &e));
  if (!e) return NULL;
  int64_t cnt;
  if (!ox_numel(type, &cnt)) return ox_err(c, n, UG_ERR_INTERNAL, "known value with dynamic shape");
  e->kv = kv;
  e->nkv = (uint32_t)cnt;
  e->type = *type;
  e->has_type = true;
  e->producer = n;
  e->value = UG_NONE;
  return NULL;
}

/* ---- emission ---- */

ug_status_t ox_emit(ox_ctx_t *c, ox_node_t *n, ug_op_t op, const ug_value_id_t *operands,
                    uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                    const ug_type_t *types, uint32_t num_results, ug_value_id_t *out) {
  return rehome(c, n,
                ug_graph_add_node(c->g, op, operands, num_operands, attrs, num_attrs, types,
                                  num_results, n->loc, out, NULL));
}

ug_status_t ox_emit1(ox_ctx_t *c, ox_node_t *n, ug_op_t op, ug_value_id_t a, ug_value_id_t *out) {
  return ox_emit(c, n, op, &a, 1, NULL, 0, NULL, 1, out);
}

ug_status_t ox_emit2(ox_ctx_t *c, ox_node_t *n, ug_op_t op, ug_value_id_t a, ug_value_id_t b,
                     ug_value_id_t *out) {
  ug_value_id_t ops[2] = {a, b};
  return ox_emit(c, n, op, ops, 2, NULL, 0, NULL, 1, out);
}

ug_status_t ox_reshape(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, int rank, const ug_dim_t *dims,
                       ug_value_id_t *out) {
  ug_type_t t = ug_type_make(ox_type(c, x)->dtype, rank, dims);
  if (ug_type_equal(&t, ox_type(c, x))) {
    *out = x;
    return NULL;
  }
  return ox_emit(c, n, UG_OP_RESHAPE, &x, 1, NULL, 0, &t, 1, out);
}

ug_status_t ox_cast(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, ug_dtype_t to, ug_value_id_t *out) {
  if (ox_type(c, x)->dtype == to) {
    *out = x;
    return NULL;
  }
  ug_attr_t a = ug_attr_dtype(UG_ATTR_TO, to);
  return ox_emit(c, n, UG_OP_CAST, &x, 1, &a, 1, NULL, 1, out);
}

ug_status_t ox_const_bytes(ox_ctx_t *c, ox_node_t *n, const ug_type_t *t, const void *data,
                           uint64_t size, ug_value_id_t *out) {
  ug_weight_id_t w;
  const void *copy = size ? ug_arena_dup(c->a, data, (size_t)size) : ug_arena_alloc(c->a, 1);
  UG_RETURN_IF_ERROR(
      rehome(c, n, ug_module_add_weight(c->m, NULL, t, copy, size, ug_hash_bytes(copy, size), &w)));
  return rehome(c, n, ug_graph_add_const(c->g, w, n->loc, out));
}

/* Whether v fits integer dtype dt (bool takes any value). */
static bool int_fits(int64_t v, ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_I32: return v >= INT32_MIN && v <= INT32_MAX;
  case UG_DTYPE_I16: return v >= INT16_MIN && v <= INT16_MAX;
  case UG_DTYPE_I8: return v >= INT8_MIN && v <= INT8_MAX;
  case UG_DTYPE_U64: return v >= 0;
  case UG_DTYPE_U32: return v >= 0 && v <= (int64_t)UINT32_MAX;
  case UG_DTYPE_U16: return v >= 0 && v <= UINT16_MAX;
  case UG_DTYPE_U8: return v >= 0 && v <= UINT8_MAX;
  default: return true;
  }
}

ug_status_t ox_const_scalar(ox_ctx_t *c, ox_node_t *n, ug_dtype_t dt, double v,
                            ug_value_id_t *out) {
  if (ug_dtype_is_float(dt)) {
    ox_kv_t kv = {0, v, false};
    void *bytes;
    uint64_t size;
    if (!ox_kv_to_bytes(c, &kv, 1, dt, &bytes, &size))
      return OX_UNSUP(c, n, "cannot make a %s constant", ug_dtype_name(dt));
    ug_type_t t = ug_type_scalar(dt);
    return ox_const_bytes(c, n, &t, bytes, size, out);
  }
  if (dt == UG_DTYPE_BOOL) return ox_const_i64(c, n, dt, v != 0, out);
  int64_t i = 0;
  if (!ox_f64_to_i64(v, &i) || !int_fits(i, dt))
    return OX_INVALID(c, n, "the value %g does not fit a %s constant", v, ug_dtype_name(dt));
  return ox_const_i64(c, n, dt, i, out);
}

ug_status_t ox_const_i64(ox_ctx_t *c, ox_node_t *n, ug_dtype_t dt, int64_t v, ug_value_id_t *out) {
  ox_kv_t kv = {v, (double)v, false};
  void *bytes;
  uint64_t size;
  if (!ox_kv_to_bytes(c, &kv, 1, dt, &bytes, &size))
    return OX_UNSUP(c, n, "cannot make a %s constant", ug_dtype_name(dt));
  ug_type_t t = ug_type_scalar(dt);
  return ox_const_bytes(c, n, &t, bytes, size, out);
}

bool ox_axis(int64_t axis, int rank, int64_t *out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

ug_status_t ox_reduce(ox_ctx_t *c, ox_node_t *n, ug_op_t op, ug_value_id_t x, const int64_t *axes,
                      uint32_t naxes, bool keepdims, ug_value_id_t *out) {
  ug_attr_t at[2] = {ug_attr_ints(UG_ATTR_AXES, axes, naxes),
                     ug_attr_int(UG_ATTR_KEEPDIMS, keepdims)};
  return ox_emit(c, n, op, &x, 1, at, 2, NULL, 1, out);
}

/* ---- dispatch ---- */

static const ox_op_entry_t *const op_tables[] = {
    ox_math_ops, ox_nn_ops,   ox_shape_ops,   ox_tensor_ops, ox_quant_ops,     ox_einsum_ops,
    ox_rnn_ops,  ox_loss_ops, ox_control_ops, ox_dft_ops,    ox_gridsample_ops};

static const ox_op_entry_t *find_op(const char *op_type) {
  for (size_t t = 0; t < sizeof op_tables / sizeof op_tables[0]; t++)
    for (const ox_op_entry_t *e = op_tables[t]; e->op_type; e++)
      if (strcmp(e->op_type, op_type) == 0) return e;
  return NULL;
}

/* ONNX operators skipped on purpose, with the reason. */
static const char *by_design(const char *op) {
  static const char *const training[] = {"Adagrad", "Adam", "Momentum", "Gradient", NULL};
  static const char *const seq[] = {"SequenceConstruct",
                                    "SequenceEmpty",
                                    "SequenceAt",
                                    "SequenceInsert",
                                    "SequenceErase",
                                    "SequenceLength",
                                    "SplitToSequence",
                                    "ConcatFromSequence",
                                    "SequenceMap",
                                    "Optional",
                                    "OptionalGetElement",
                                    "OptionalHasElement",
                                    "StringNormalizer",
                                    "RegexFullMatch",
                                    "StringConcat",
                                    "StringSplit",
                                    NULL};
  for (int i = 0; training[i]; i++)
    if (strcmp(op, training[i]) == 0) return "training operators are unsupported by design";
  static const char *const dynamic[] = {"NonZero", "Compress", "Unique", "NonMaxSuppression", NULL};
  static const char *const random[] = {"RandomUniform",
                                       "RandomNormal",
                                       "RandomUniformLike",
                                       "RandomNormalLike",
                                       "Bernoulli",
                                       "Multinomial",
                                       NULL};
  for (int i = 0; seq[i]; i++)
    if (strcmp(op, seq[i]) == 0)
      return "sequence, optional and string values are unsupported by design";
  for (int i = 0; dynamic[i]; i++)
    if (strcmp(op, dynamic[i]) == 0)
      return "operators with data-dependent output shapes are unsupported by design";
  for (int i = 0; random[i]; i++)
    if (strcmp(op, random[i]) == 0) return "random number generators are unsupported by design";
  return NULL;
}

static bool attr_listed(const char *list, const char *name) {
  size_t len = strlen(name);
  for (const char *s = list; *s;) {
    while (*s == ' ') s++;
    const char *e = s;
    while (*e && *e != ' ') e++;
    if ((size_t)(e - s) == len && strncmp(s, name, len) == 0) return true;
    s = e;
  }
  return false;
}

static ug_status_t run_node(ox_ctx_t *c, ox_node_t *n) {
  const ox_op_entry_t *op = find_op(n->op_type);
  if (!op) {
    const char *why = by_design(n->op_type);
    return OX_UNSUP(c, n, "%s", why ? why : "operator is not supported");
  }
  for (size_t i = 0; i < n->p->n_attribute; i++) {
    const Onnx__AttributeProto *a = n->p->attribute[i];
    if (!a || !a->name) return OX_INVALID(c, n, "attribute without a name");
    if (a->ref_attr_name && a->ref_attr_name[0])
      return OX_UNSUP(c, n, "attribute '%s' refers to a function attribute", a->name);
    if (!attr_listed(op->attrs, a->name))
      return OX_UNSUP(c, n, "attribute '%s' is not supported", a->name);
  }
  if (strcmp(n->op_type, "Constant") != 0 && strcmp(n->op_type, "Scan") != 0 && !ox_has_in(n, 0))
    return OX_INVALID(c, n, "input 0 is missing");
  if (ox_num_out(n) == 0) return OX_INVALID(c, n, "node has no outputs");
  n->bad_int_attr = NULL;
  ug_status_t s = op->fn(c, n, op->arg);
  if (n->bad_int_attr) {
    /* the handler went on with the default: this error comes first */
    ug_status_free(s);
    return OX_INVALID(c, n, "attribute '%s' must be an integer, not the float %g",
                      n->bad_int_attr->name, (double)n->bad_int_attr->f);
  }
  return s;
}

static bool domain_is_default(const char *d) { return !d || !*d || strcmp(d, "ai.onnx") == 0; }

ug_status_t ox_import_nodes(ox_ctx_t *c, const Onnx__NodeProto *const *nodes, uint32_t nn,
                            const char *scope, bool list, FILE *diag, uint32_t *unsupported,
                            ug_status_t *first) {
  const Onnx__ModelProto *mp = c->mp;
  ox_node_t *all = ug_arena_alloc(c->a, (nn ? nn : 1) * sizeof *all);
  for (uint32_t i = 0; i < nn; i++) {
    const Onnx__NodeProto *p = nodes[i];
    ox_node_t *n = &all[i];
    n->p = p;
    n->index = i;
    n->op_type = p->op_type ? p->op_type : "";
    if (p->name && p->name[0])
      n->loc = p->name;
    else if (scope)
      n->loc = ug_arena_printf(c->a, "%s/%s_%u", scope, n->op_type, i);
    else
      n->loc = ug_arena_printf(c->a, "%s_%u", n->op_type, i);
    n->fold = true;
    n->opset = c->opset_default;
    bool poisoned = false;
    for (uint32_t k = 0; k < (uint32_t)p->n_input; k++) {
      ox_entry_t *e = p->input[k][0] ? ox_lookup(c, p->input[k]) : NULL;
      poisoned |= e && e->poisoned;
    }
    if (poisoned) {
      for (uint32_t k = 0; k < (uint32_t)p->n_output; k++)
        if (p->output[k][0]) ox_define(c, p->output[k])->poisoned = true;
      continue;
    }
    ug_status_t s = NULL;
    const Onnx__FunctionProto *fn = ox_find_function(c, p->domain, p->op_type);
    if (!domain_is_default(p->domain)) {
      n->opset = 0;
      for (size_t k = 0; k < mp->n_opset_import; k++)
        if (mp->opset_import[k]->domain && strcmp(mp->opset_import[k]->domain, p->domain) == 0)
          n->opset = mp->opset_import[k]->version;
      if (!fn && strcmp(p->domain, "ai.onnx.preview.training") == 0)
        s = OX_UNSUP(c, n, "training operators are unsupported by design");
      else if (!fn)
        s = OX_UNSUP(c, n, "operator domain '%s' is not supported", p->domain);
    } else if (!p->op_type || !p->op_type[0]) {
      s = OX_INVALID(c, n, "node without an op_type");
    }
    n->nin = (uint32_t)p->n_input;
    n->in = ug_arena_alloc(c->a, (n->nin ? n->nin : 1) * sizeof *n->in);
    for (uint32_t k = 0; k < n->nin && !s; k++) {
      const char *name = p->input[k];
      if (!name[0]) continue;
      ox_entry_t *e = ox_lookup(c, name);
      if (!e || (e->value == UG_NONE && !e->tensor && !e->kv && !e->alias))
        s = OX_INVALID(c, n,
                       "input '%s' is not defined before this node (dangling input or "
                       "nodes out of topological order)",
                       name);
      n->in[k] = e;
    }
    for (uint32_t k = 0; k < (uint32_t)p->n_output && !s; k++) {
      ox_entry_t *e = p->output[k][0] ? ox_lookup(c, p->output[k]) : NULL;
      if (e && (e->value != UG_NONE || e->tensor || e->kv || e->alias))
        s = OX_INVALID(c, n, "output '%s' is defined twice", p->output[k]);
    }
    if (!s) s = fn ? ox_inline_function(c, n, fn) : run_node(c, n);
    for (uint32_t k = 0; k < (uint32_t)p->n_output && !s; k++) {
      if (!p->output[k][0]) continue;
      ox_entry_t *e = ox_lookup(c, p->output[k]);
      if (!e || (e->value == UG_NONE && !e->kv && !e->tensor && !e->alias))
        s = OX_UNSUP(c, n, "output %u ('%s') is not supported", k, p->output[k]);
    }
    if (!s) continue;
    if (!list || ug_status_code(s) != UG_ERR_UNSUPPORTED) {
      ug_status_free(*first);
      *first = NULL;
      return s;
    }
    ug_status_print(s, diag);
    (*unsupported)++;
    if (*first)
      ug_status_free(s);
    else
      *first = s;
    /* dependents of this node are skipped silently: they cannot be checked */
    for (uint32_t k = 0; k < (uint32_t)p->n_output; k++)
      if (p->output[k][0]) ox_define(c, p->output[k])->poisoned = true;
  }
  return NULL;
}

/* ---- dimension symbols ---- */

static bool is_ident(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return false;
  return true;
}

/* Whether symbol `s` exists, or may still be made for a graph input's dim_param. */
static bool sym_taken(ox_ctx_t *c, const char *s) {
  for (size_t i = 0; i < ug_dims_count(c->dims); i++) {
    const ug_dimexpr_t *e = ug_dim_expr(c->dims, ug_dim_from_index(i));
    if (e->kind == UG_DX_SYM && strcmp(e->name, s) == 0) return true;
  }
  for (size_t i = 0; i < c->gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = c->gp->input[i];
    if (!vi || !vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type || !vi->type->tensor_type->shape)
      continue;
    const Onnx__TensorShapeProto *sh = vi->type->tensor_type->shape;
    for (size_t k = 0; k < sh->n_dim; k++) {
      const Onnx__TensorShapeProto__Dimension *d = sh->dim[k];
      if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
          d->dim_param && strcmp(d->dim_param, s) == 0)
        return true;
    }
  }
  return false;
}

/* A fresh symbol named after `name`: every byte outside [A-Za-z0-9_] becomes
 * '_' (the verifier accepts identifiers only), and a suffix _2, _3, ... keeps
 * it apart from the symbols that exist or that a dim_param names. */
static ug_dim_t fresh_sym(ox_ctx_t *c, const char *name) {
  char *base = ug_arena_strdup(c->a, name);
  for (char *p = base; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
      *p = '_';
  if (!base[0] || (base[0] >= '0' && base[0] <= '9')) base = ug_arena_printf(c->a, "_%s", base);
  const char *s = base;
  for (uint32_t k = 2; sym_taken(c, s); k++) s = ug_arena_printf(c->a, "%s_%u", base, k);
  return ug_dim_sym(c->dims, s);
}

/* The symbol of a dim_param: itself when it is an identifier, else one fresh
 * symbol per distinct dim_param. */
static ug_dim_t param_sym(ox_ctx_t *c, const char *param) {
  if (is_ident(param)) return ug_dim_sym(c->dims, ug_arena_strdup(c->a, param));
  for (uint32_t i = 0; i < c->nparams; i++)
    if (strcmp(c->param_from[i], param) == 0) return c->param_to[i];
  if (c->nparams == c->cap_params) {
    uint32_t cap = c->cap_params ? 2 * c->cap_params : 8;
    const char **from = ug_arena_alloc(c->a, cap * sizeof *from);
    ug_dim_t *to = ug_arena_alloc(c->a, cap * sizeof *to);
    if (c->nparams) {
      memcpy(from, c->param_from, c->nparams * sizeof *from);
      memcpy(to, c->param_to, c->nparams * sizeof *to);
    }
    c->param_from = from;
    c->param_to = to;
    c->cap_params = cap;
  }
  c->param_from[c->nparams] = ug_arena_strdup(c->a, param);
  c->param_to[c->nparams] = fresh_sym(c, param);
  return c->param_to[c->nparams++];
}

/* Converts a graph input's ValueInfo into a type; unknown dims become fresh
 * symbols `unk_<input>_<i>` (see fresh_sym). */
static ug_status_t input_type(ox_ctx_t *c, const Onnx__ValueInfoProto *vi, ug_type_t *out) {
  const char *name = vi->name;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp) return ug_status_make(UG_ERR_INVALID, name, "graph input has no type");
  if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return ug_status_make(UG_ERR_UNSUPPORTED, name,
                          "graph input is not a tensor (sequence, map, optional and sparse "
                          "inputs are unsupported by design)");
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  ug_dtype_t dt;
  if (!tt->has_elem_type || !ox_dtype_from_onnx(tt->elem_type, &dt))
    return ug_status_make(UG_ERR_UNSUPPORTED, name, "graph input element type %s is not supported",
                          ox_onnx_dtype_name(tt->has_elem_type ? tt->elem_type : 0));
  if (!tt->shape)
    return ug_status_make(UG_ERR_UNSUPPORTED, name, "graph input has no shape (unknown rank)");
  if (tt->shape->n_dim > UG_MAX_RANK)
    return ug_status_make(UG_ERR_UNSUPPORTED, name, "rank %zu exceeds the maximum rank %d",
                          tt->shape->n_dim, UG_MAX_RANK);
  out->dtype = dt;
  out->rank = (int)tt->shape->n_dim;
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (d->dim_value < 0 || d->dim_value > OX_MAX_NUMEL)
        return ug_status_make(UG_ERR_INVALID, name, "dimension %zu has invalid size %lld", i,
                              (long long)d->dim_value);
      out->dims[i] = d->dim_value;
    } else if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
               d->dim_param && d->dim_param[0]) {
      out->dims[i] = param_sym(c, d->dim_param);
    } else {
      out->dims[i] = fresh_sym(c, ug_arena_printf(c->a, "unk_%s_%zu", name, i));
    }
  }
  return NULL;
}

/* Freezes a graph input to the bound constant. */
static ug_status_t bind_input(ox_ctx_t *c, const char *name, const ug_type_t *declared,
                              const ug_onnx_binding_t *b) {
  const ug_type_t *t = &b->type;
  int64_t numel, bytes;
  if (t->dtype != declared->dtype || t->rank != declared->rank)
    return ug_status_make(UG_ERR_INVALID, name,
                          "the bound value's type does not match the input's");
  for (int i = 0; i < t->rank; i++)
    if (UG_DIM_IS_STATIC(declared->dims[i]) && declared->dims[i] != t->dims[i])
      return ug_status_make(UG_ERR_INVALID, name,
                            "the bound value's shape does not match the input's");
  if (!ox_numel(t, &numel) || !ug_dtype_bytes(t->dtype, numel, &bytes) ||
      (uint64_t)bytes != b->size)
    return ug_status_make(UG_ERR_INVALID, name, "the bound value's size does not match its type");
  ox_tensor_t *tensor = ug_arena_alloc(c->a, sizeof *tensor);
  tensor->type = *t;
  tensor->size = b->size;
  tensor->data = b->size ? ug_arena_dup(c->a, b->data, (size_t)b->size) : ug_arena_alloc(c->a, 1);
  ox_entry_t *e = ox_define(c, name);
  e->tensor = tensor;
  e->type = *t;
  e->has_type = true;
  e->kv = NULL;
  return NULL;
}

static ug_status_t import_graph(ox_ctx_t *c, const Onnx__ModelProto *mp,
                                const ug_onnx_options_t *o) {
  const Onnx__GraphProto *gp = mp->graph;
  FILE *diag = o->diag ? o->diag : stderr;

  /* opsets */
  c->opset_default = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *op = mp->opset_import[i];
    if (op && domain_is_default(op->domain)) c->opset_default = op->has_version ? op->version : 1;
  }
  /* An opset ugcc does not know would give ops semantics it cannot check. */
  if (c->opset_default != -1 && (c->opset_default < 1 || c->opset_default > OX_MAX_OPSET))
    return ug_status_make(UG_ERR_UNSUPPORTED, "model", "opset %lld of the default domain is not supported (1..%d)",
                          (long long)c->opset_default, OX_MAX_OPSET);
  if (c->opset_default < 0) {
    if (mp->n_opset_import == 0)
      c->opset_default = 1; /* IR version 2 models: opset 1 */
    else
      c->opset_default = 0;
  }
  if (mp->n_training_info)
    return ug_status_make(UG_ERR_UNSUPPORTED, "model",
                          "training information is unsupported by design");

  /* initializers */
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *t = gp->initializer[i];
    if (!t || !t->name || !t->name[0])
      return ug_status_make(UG_ERR_INVALID, "model", "initializer %zu has no name", i);
    ox_tensor_t *tensor = ug_arena_alloc(c->a, sizeof *tensor);
    UG_RETURN_IF_ERROR(ox_tensor_decode(c->a, &c->src, t, t->name, tensor));
    ox_entry_t *e = ox_define(c, t->name);
    if (e->tensor) return ug_status_make(UG_ERR_INVALID, t->name, "initializer defined twice");
    e->tensor = tensor;
    e->type = tensor->type;
    e->has_type = true;
  }
  if (gp->n_sparse_initializer)
    return ug_status_make(UG_ERR_UNSUPPORTED, "model", "sparse initializers are not supported");

  /* graph inputs that are not initializers */
  for (uint32_t k = 0; k < o->num_input_shapes; k++) {
    bool found = false;
    for (size_t i = 0; i < gp->n_input && !found; i++)
      found = gp->input[i] && gp->input[i]->name &&
              strcmp(gp->input[i]->name, o->input_shapes[k].name) == 0;
    if (!found)
      return ug_status_make(UG_ERR_INVALID, o->input_shapes[k].name,
                            "--input-shape names an input the model does not have");
  }
  for (uint32_t k = 0; k < o->num_bindings; k++) {
    bool found = false;
    for (size_t i = 0; i < gp->n_input && !found; i++)
      found = gp->input[i] && gp->input[i]->name &&
              strcmp(gp->input[i]->name, o->bindings[k].name) == 0;
    if (!found)
      return ug_status_make(UG_ERR_INVALID, o->bindings[k].name,
                            "a binding names an input the model does not have");
  }
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi || !vi->name || !vi->name[0])
      return ug_status_make(UG_ERR_INVALID, "model", "graph input %zu has no name", i);
    ox_entry_t *e = ox_lookup(c, vi->name);
    const ug_onnx_binding_t *bind = NULL;
    for (uint32_t k = 0; k < o->num_bindings; k++)
      if (strcmp(o->bindings[k].name, vi->name) == 0) bind = &o->bindings[k];
    if (e && e->tensor && !bind) continue; /* an initializer: a constant with a default */
    if (e && !e->tensor)
      return ug_status_make(UG_ERR_INVALID, vi->name, "graph input declared twice");
    ug_type_t t;
    UG_RETURN_IF_ERROR(input_type(c, vi, &t));
    if (bind) {
      UG_RETURN_IF_ERROR(bind_input(c, vi->name, &t, bind));
      continue;
    }
    for (uint32_t k = 0; k < o->num_input_shapes; k++) {
      const ug_input_shape_t *s = &o->input_shapes[k];
      if (strcmp(s->name, vi->name) != 0) continue;
      if (s->rank != t.rank)
        return ug_status_make(UG_ERR_INVALID, vi->name,
                              "--input-shape gives rank %d, the model's input has rank %d", s->rank,
                              t.rank);
      for (int d = 0; d < t.rank; d++) {
        if (s->dims[d] < 0)
          return ug_status_make(UG_ERR_INVALID, vi->name, "negative --input-shape size");
        if (UG_DIM_IS_STATIC(t.dims[d]) && t.dims[d] != s->dims[d])
          return ug_status_make(
              UG_ERR_INVALID, vi->name,
              "--input-shape size %lld of dimension %d conflicts with the model's %lld",
              (long long)s->dims[d], d, (long long)t.dims[d]);
        t.dims[d] = s->dims[d];
      }
    }
    e = ox_define(c, vi->name);
    e->value = ug_graph_add_input(c->g, e->name, &t);
    e->type = t;
    e->has_type = true;
  }

  /* nodes */
  uint32_t unsupported = 0;
  ug_status_t first = NULL;
  UG_RETURN_IF_ERROR(ox_import_nodes(c, (const Onnx__NodeProto *const *)gp->node,
                                     (uint32_t)gp->n_node, NULL, o->list_unsupported, diag,
                                     &unsupported, &first));
  if (unsupported) {
    ug_status_t s = ug_status_make(
        UG_ERR_UNSUPPORTED, "model", "%u unsupported node%s (first: %s: %s)", unsupported,
        unsupported == 1 ? "" : "s", ug_status_origin(first), ug_status_message(first));
    ug_status_free(first);
    return s;
  }

  /* outputs */
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    if (!vi || !vi->name || !vi->name[0])
      return ug_status_make(UG_ERR_INVALID, "model", "graph output %zu has no name", i);
    ox_entry_t *e = ox_lookup(c, vi->name);
    if (!e) return ug_status_make(UG_ERR_INVALID, vi->name, "graph output is never computed");
    if (e->graph_output)
      return ug_status_make(UG_ERR_INVALID, vi->name, "graph output is listed twice");
    e->graph_output = true;
    ug_value_id_t v;
    UG_RETURN_IF_ERROR(ox_materialize(c, e, NULL, &v));
    ug_graph_add_output(c->g, v, e->name);
  }
  if (gp->n_output == 0) return ug_status_make(UG_ERR_INVALID, "model", "graph has no outputs");
  return NULL;
}

ug_status_t ug_onnx_import(const char *path, const ug_onnx_options_t *o, ug_module_t **out) {
  static const ug_onnx_options_t defaults = {0};
  *out = NULL;
  if (!o) o = &defaults;
  ug_module_t *m = ug_module_create();
  ox_ctx_t c = {0};
  c.opts = o;
  c.m = m;
  c.a = m->arena;
  c.dims = m->dims;
  c.g = ug_module_add_graph(m, "main");
  char *dir = ug_arena_strdup(c.a, path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    dir = "/";
  else if (slash)
    *slash = '\0';
  else
    dir = ".";
  Onnx__ModelProto *mp;
  ug_status_t s = ox_model_load(path, m, &c.src, &mp);
  c.src.dir = dir;
  if (!s) {
    c.gp = mp->graph;
    c.mp = mp;
    s = import_graph(&c, mp, o);
  }
  if (!s) s = ug_graph_compact(c.g);
  if (s) {
    ug_module_destroy(m);
    return s;
  }
  *out = m;
  return NULL;
}
