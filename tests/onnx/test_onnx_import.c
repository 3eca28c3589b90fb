/* Tests of the ONNX reader and importer on models built here with the
 * protobuf-c bindings: symbolic shape folding, input specialization, error
 * messages, and malformed files (truncated, garbage, dangling inputs, cycles,
 * absurd sizes, external data that escapes the model directory).  Every
 * malformed model must give an error, never a crash. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "onnx.pb-c.h"

static int failures;
static char dir[256];
static ug_arena_t *pool; /* every protobuf struct built here, freed at the end */

static void *zalloc(size_t size) { return ug_arena_alloc(pool, size); }

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                  \
      printf(__VA_ARGS__);                                                                         \
      printf("\n");                                                                                \
    }                                                                                              \
  } while (0)

/* ---- model building ---- */

typedef struct {
  Onnx__ModelProto m;
  Onnx__GraphProto g;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto *nodes[16];
  Onnx__ValueInfoProto *inputs[4], *outputs[4];
  Onnx__TensorProto *inits[4];
} model_t;

static void model_init(model_t *md, int64_t opset) {
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  md->m = m;
  md->g = g;
  md->opset = o;
  md->opset.domain = "";
  md->opset.has_version = 1;
  md->opset.version = opset;
  md->opsets[0] = &md->opset;
  md->m.has_ir_version = 1;
  md->m.ir_version = 8;
  md->m.n_opset_import = 1;
  md->m.opset_import = md->opsets;
  md->m.graph = &md->g;
  md->g.name = "test";
  md->g.node = md->nodes;
  md->g.input = md->inputs;
  md->g.output = md->outputs;
  md->g.initializer = md->inits;
}

static Onnx__NodeProto *node(model_t *md, const char *op, const char *name, int nin,
                             const char **in, const char *out) {
  Onnx__NodeProto *n = zalloc(sizeof *n);
  Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
  *n = init;
  n->op_type = (char *)op;
  n->name = (char *)name;
  n->n_input = (size_t)nin;
  n->input = (char **)in;
  n->n_output = 1;
  n->output = zalloc(sizeof(char *));
  n->output[0] = (char *)out;
  md->nodes[md->g.n_node++] = n;
  return n;
}

static void attr_ints(Onnx__NodeProto *n, const char *name, int64_t *v, size_t cnt) {
  Onnx__AttributeProto *a = zalloc(sizeof *a);
  Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
  *a = init;
  a->name = (char *)name;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = cnt;
  a->ints = v;
  Onnx__AttributeProto **list = zalloc((n->n_attribute + 1) * sizeof *list);
  if (n->n_attribute) memcpy(list, n->attribute, n->n_attribute * sizeof *list);
  n->attribute = list;
  n->attribute[n->n_attribute++] = a;
}

/* A tensor value info; dims < 0 mean "no size" and a non-NULL sym names the dim. */
static Onnx__ValueInfoProto *vinfo(const char *name, int elem, int rank, const int64_t *dims,
                                   const char *const *syms) {
  Onnx__ValueInfoProto *v = zalloc(sizeof *v);
  Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
  *v = vi;
  v->name = (char *)name;
  Onnx__TypeProto *tp = zalloc(sizeof *tp);
  Onnx__TypeProto tpi = ONNX__TYPE_PROTO__INIT;
  *tp = tpi;
  Onnx__TypeProto__Tensor *tt = zalloc(sizeof *tt);
  Onnx__TypeProto__Tensor tti = ONNX__TYPE_PROTO__TENSOR__INIT;
  *tt = tti;
  tt->has_elem_type = 1;
  tt->elem_type = elem;
  Onnx__TensorShapeProto *sh = zalloc(sizeof *sh);
  Onnx__TensorShapeProto shi = ONNX__TENSOR_SHAPE_PROTO__INIT;
  *sh = shi;
  sh->n_dim = (size_t)rank;
  sh->dim = zalloc(((size_t)rank + 1) * sizeof *sh->dim);
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = zalloc(sizeof *d);
    Onnx__TensorShapeProto__Dimension di = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    *d = di;
    if (syms && syms[i]) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = (char *)syms[i];
    } else if (dims[i] >= 0 || dims[i] < -1) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    }
    sh->dim[i] = d;
  }
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->type = tp;
  return v;
}

static Onnx__TensorProto *tensor_i64(const char *name, int rank, int64_t *dims, int64_t *data,
                                     size_t n) {
  Onnx__TensorProto *t = zalloc(sizeof *t);
  Onnx__TensorProto ti = ONNX__TENSOR_PROTO__INIT;
  *t = ti;
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  t->n_dims = (size_t)rank;
  t->dims = dims;
  t->n_int64_data = n;
  t->int64_data = data;
  return t;
}

static char *path_of(const char *name) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

static void write_bytes(const char *name, const void *data, size_t len) {
  FILE *f = fopen(path_of(name), "wb");
  if (!f) {
    perror(name);
    exit(2);
  }
  fwrite(data, 1, len, f);
  fclose(f);
}

static size_t save(model_t *md, const char *name, uint8_t **out_bytes) {
  size_t len = onnx__model_proto__get_packed_size(&md->m);
  uint8_t *buf = malloc(len);
  onnx__model_proto__pack(&md->m, buf);
  write_bytes(name, buf, len);
  if (out_bytes)
    *out_bytes = buf;
  else
    free(buf);
  return len;
}

/* ---- checks ---- */

static ug_status_t import(const char *name, const ug_onnx_options_t *o, ug_module_t **m) {
  ug_status_t s = ug_onnx_import(path_of(name), o, m);
  if (!s) s = ug_verify_module(*m);
  return s;
}

static void expect_error(const char *name, ug_code_t code, const char *substr) {
  ug_module_t *m = NULL;
  ug_status_t s = import(name, NULL, &m);
  CHECK(s != NULL, "%s: expected an error", name);
  if (s) {
    char full[2048];
    snprintf(full, sizeof full, "%s: %s", ug_status_origin(s), ug_status_message(s));
    CHECK(ug_status_code(s) == code, "%s: code %s, expected %s (%s)", name,
          ug_code_name(ug_status_code(s)), ug_code_name(code), full);
    CHECK(!substr || strstr(full, substr), "%s: message '%s' lacks '%s'", name, full, substr);
    ug_status_free(s);
  }
  ug_module_destroy(m);
}

static void output_type_is(ug_module_t *m, const char *want) {
  ug_graph_t *g = ug_module_find_graph(m, "main");
  char buf[128] = "";
  if (g && g->outputs.len)
    ug_type_format(m->dims, ug_value_type(g, g->outputs.items[0]), buf, sizeof buf);
  CHECK(strcmp(buf, want) == 0, "output type %s, expected %s", buf, want);
}

static Onnx__AttributeProto *int_attr(const char *name, int64_t v) {
  Onnx__AttributeProto *a = zalloc(sizeof *a);
  Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
  *a = init;
  a->name = (char *)name;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
  return a;
}

static Onnx__AttributeProto *float_attr(const char *name, float v) {
  Onnx__AttributeProto *a = zalloc(sizeof *a);
  Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
  *a = init;
  a->name = (char *)name;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  a->has_f = 1;
  a->f = v;
  return a;
}

static void add_attr(Onnx__NodeProto *n, Onnx__AttributeProto *a) {
  Onnx__AttributeProto **list = zalloc((n->n_attribute + 1) * sizeof *list);
  if (n->n_attribute) memcpy(list, n->attribute, n->n_attribute * sizeof *list);
  n->attribute = list;
  n->attribute[n->n_attribute++] = a;
}

static uint32_t count_op(ug_module_t *m, ug_op_t op) {
  ug_graph_t *g = ug_module_find_graph(m, "main");
  uint32_t k = 0;
  for (size_t i = 0; i < g->nodes.len; i++)
    k += !g->nodes.items[i].dead && g->nodes.items[i].op == op;
  return k;
}

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape with a symbolic batch
 * folds into one reshape whose type keeps the symbol. */
static void test_symbolic_reshape(void) {
  model_t md;
  model_init(&md, 11);
  static int64_t x_dims[3] = {-1, 3, 4}, idx = 0, rest = 12, one = 1, zero_axis = 0;
  static const char *x_syms[3] = {"batch", NULL, NULL};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 3, x_dims, x_syms);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  md.inits[md.g.n_initializer++] = tensor_i64("idx", 0, NULL, &idx, 1);
  md.inits[md.g.n_initializer++] = tensor_i64("rest", 1, &one, &rest, 1);
  static const char *in_shape[] = {"x"}, *in_gather[] = {"s", "idx"}, *in_unsq[] = {"b"},
                    *in_cat[] = {"bu", "rest"}, *in_reshape[] = {"x", "shp"};
  node(&md, "Shape", "shape", 1, in_shape, "s");
  node(&md, "Gather", "gather", 2, in_gather, "b");
  attr_ints(node(&md, "Unsqueeze", "unsqueeze", 1, in_unsq, "bu"), "axes", &zero_axis, 1);
  Onnx__NodeProto *cat = node(&md, "Concat", "concat", 2, in_cat, "shp");
  cat->n_attribute = 1;
  cat->attribute = zalloc(sizeof *cat->attribute);
  cat->attribute[0] = int_attr("axis", 0);
  node(&md, "Reshape", "reshape", 2, in_reshape, "y");
  uint8_t *bytes;
  size_t len = save(&md, "sym.onnx", &bytes);

  ug_module_t *m = NULL;
  ug_status_t s = import("sym.onnx", NULL, &m);
  CHECK(!s, "symbolic reshape: %s", s ? ug_status_message(s) : "");
  if (!s) {
    output_type_is(m, "f32[batch,12]");
    ug_graph_t *g = ug_module_find_graph(m, "main");
    uint32_t shape_ofs = 0;
    for (size_t i = 0; i < g->nodes.len; i++)
      shape_ofs += !g->nodes.items[i].dead && g->nodes.items[i].op == UG_OP_SHAPE_OF;
    CHECK(shape_ofs == 0, "the shape computation was not folded (%u shape_of)", shape_ofs);
  }
  ug_status_free(s);
  ug_module_destroy(m);

  /* --input-shape specializes the symbolic input */
  ug_input_shape_t shp = {.name = "x", .rank = 3, .dims = {2, 3, 4}};
  ug_onnx_options_t o = {.input_shapes = &shp, .num_input_shapes = 1};
  m = NULL;
  s = import("sym.onnx", &o, &m);
  CHECK(!s, "specialized: %s", s ? ug_status_message(s) : "");
  if (!s) output_type_is(m, "f32[2,12]");
  ug_status_free(s);
  ug_module_destroy(m);
  shp.name = "nope";
  m = NULL;
  s = import("sym.onnx", &o, &m);
  CHECK(s && strstr(ug_status_message(s), "does not have"), "unknown --input-shape name accepted");
  ug_status_free(s);
  ug_module_destroy(m);

  /* truncated copies of a valid model and garbage */
  for (size_t cut = 1; cut < len; cut += len / 7 + 1) {
    write_bytes("trunc.onnx", bytes, cut);
    ug_module_t *mm = NULL;
    ug_status_t st = import("trunc.onnx", NULL, &mm);
    CHECK(st != NULL, "truncated model (%zu of %zu bytes) imported", cut, len);
    ug_status_free(st);
    ug_module_destroy(mm);
  }
  uint8_t garbage[512];
  uint32_t r = 12345;
  for (size_t i = 0; i < sizeof garbage; i++)
    garbage[i] = (uint8_t)((r = r * 1103515245u + 12345u) >> 16);
  write_bytes("garbage.onnx", garbage, sizeof garbage);
  expect_error("garbage.onnx", UG_ERR_INVALID, NULL);
  write_bytes("empty.onnx", "", 0);
  expect_error("empty.onnx", UG_ERR_INVALID, "empty");
  expect_error("missing.onnx", UG_ERR_IO, NULL);
  free(bytes);
}

/* LayerNormalization with f16 scale and bias next to an f32 x (what
 * torch.onnx writes when it computed the residual in f32; ONNX Runtime takes
 * it): the scale and bias are widened, the result is f32.  Before, the import
 * failed with "operand 1 is f16[768] but operand 0 is f32[...]". */
static void test_layer_norm_mixed_dtypes(void) {
  model_t md;
  model_init(&md, 17);
  static int64_t x_dims[2] = {2, 8}, p_dims[1] = {8};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, x_dims, NULL);
  md.inputs[md.g.n_input++] = vinfo("scale", 10, 1, p_dims, NULL);
  md.inputs[md.g.n_input++] = vinfo("bias", 10, 1, p_dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  static const char *in_ln[] = {"x", "scale", "bias"};
  node(&md, "LayerNormalization", "ln", 3, in_ln, "y");
  save(&md, "ln_mixed.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("ln_mixed.onnx", NULL, &m);
  CHECK(!s, "layer norm with f16 scale and f32 x: %s", s ? ug_status_message(s) : "");
  if (!s) {
    output_type_is(m, "f32[2,8]");
    ug_graph_t *g = ug_module_find_graph(m, "main");
    uint32_t casts = 0;
    for (size_t i = 0; i < g->nodes.len; i++) casts += !g->nodes.items[i].dead && g->nodes.items[i].op == UG_OP_CAST;
    CHECK(casts == 2, "scale and bias were not widened (%u casts)", casts);
  }
  ug_status_free(s);
  ug_module_destroy(m);
}

/* A symbolic value that an IR op needs is computed at run time: Range(0,
 * Shape(x)[1], 1) becomes shape_of + gather + range of type i64[seq]. */
static void test_symbolic_materialize(void) {
  model_t md;
  model_init(&md, 13);
  static int64_t dims[3] = {-1, -1, 8}, zero = 0, one = 1;
  static const char *syms[3] = {"batch", "seq", NULL};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 3, dims, syms);
  md.outputs[md.g.n_output++] = vinfo("r", 7, 0, NULL, NULL);
  md.inits[md.g.n_initializer++] = tensor_i64("zero", 0, NULL, &zero, 1);
  md.inits[md.g.n_initializer++] = tensor_i64("one", 0, NULL, &one, 1);
  static const char *in_shape[] = {"x"}, *in_gather[] = {"s", "one"},
                    *in_range[] = {"zero", "seq", "one"};
  node(&md, "Shape", "shape", 1, in_shape, "s");
  node(&md, "Gather", "gather", 2, in_gather, "seq");
  node(&md, "Range", "range", 3, in_range, "r");
  save(&md, "range.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("range.onnx", NULL, &m);
  CHECK(!s, "symbolic range: %s", s ? ug_status_message(s) : "");
  if (!s) {
    output_type_is(m, "i64[seq]");
    CHECK(count_op(m, UG_OP_SHAPE_OF) == 1 && count_op(m, UG_OP_RANGE) == 1,
          "expected one shape_of and one range");
  }
  ug_status_free(s);
  ug_module_destroy(m);
}

/* Binding the `shape` input of a Reshape freezes it; a Slice with a negative
 * step is normalized so that inference gets the right length. */
static void test_bindings_and_slice(void) {
  model_t md;
  model_init(&md, 13);
  static int64_t xd[2] = {4, 6}, sd[1] = {2};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, xd, NULL);
  md.inputs[md.g.n_input++] = vinfo("shape", 7, 1, sd, NULL);
  md.outputs[md.g.n_output++] = vinfo("z", 1, 0, NULL, NULL);
  static int64_t starts = -1, ends = -100, axes = 1, steps = -2, one = 1;
  md.inits[md.g.n_initializer++] = tensor_i64("starts", 1, &one, &starts, 1);
  md.inits[md.g.n_initializer++] = tensor_i64("ends", 1, &one, &ends, 1);
  md.inits[md.g.n_initializer++] = tensor_i64("axes", 1, &one, &axes, 1);
  md.inits[md.g.n_initializer++] = tensor_i64("steps", 1, &one, &steps, 1);
  static const char *in_reshape[] = {"x", "shape"},
                    *in_slice[] = {"y", "starts", "ends", "axes", "steps"};
  node(&md, "Reshape", "reshape", 2, in_reshape, "y");
  node(&md, "Slice", "slice", 5, in_slice, "z");
  save(&md, "bind.onnx", NULL);
  expect_error("bind.onnx", UG_ERR_UNSUPPORTED, "node \"reshape\" (Reshape, opset 13)");
  int64_t shape[2] = {3, 8};
  ug_onnx_binding_t b = {
      .name = "shape", .type = ug_type_make(UG_DTYPE_I64, 1, sd), .data = shape, .size = 16};
  ug_onnx_options_t o = {.bindings = &b, .num_bindings = 1};
  ug_module_t *m = NULL;
  ug_status_t s = import("bind.onnx", &o, &m);
  CHECK(!s, "bound reshape: %s", s ? ug_status_message(s) : "");
  if (!s) output_type_is(m, "f32[3,4]"); /* columns 7, 5, 3, 1 */
  ug_status_free(s);
  ug_module_destroy(m);
  b.size = 8;
  m = NULL;
  s = import("bind.onnx", &o, &m);
  CHECK(s && ug_status_code(s) == UG_ERR_INVALID, "a binding of the wrong size was accepted");
  ug_status_free(s);
  ug_module_destroy(m);
}

static Onnx__GraphProto *branch(const char *op, const char *in, const char *out) {
  Onnx__GraphProto *g = zalloc(sizeof *g);
  Onnx__GraphProto gi = ONNX__GRAPH_PROTO__INIT;
  *g = gi;
  g->name = (char *)op;
  Onnx__NodeProto *nd = zalloc(sizeof *nd);
  Onnx__NodeProto ni = ONNX__NODE_PROTO__INIT;
  *nd = ni;
  nd->op_type = (char *)op;
  nd->n_input = 1;
  nd->input = zalloc(sizeof(char *));
  nd->input[0] = (char *)in;
  nd->n_output = 1;
  nd->output = zalloc(sizeof(char *));
  nd->output[0] = (char *)out;
  g->n_node = 1;
  g->node = zalloc(sizeof *g->node);
  g->node[0] = nd;
  g->n_output = 1;
  g->output = zalloc(sizeof *g->output);
  g->output[0] = vinfo(out, 1, 0, NULL, NULL);
  return g;
}

static Onnx__AttributeProto *graph_attr(const char *name, Onnx__GraphProto *g) {
  Onnx__AttributeProto *a = zalloc(sizeof *a);
  Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
  *a = init;
  a->name = (char *)name;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
  a->g = g;
  return a;
}

/* An If on a condition known at import is replaced by its taken branch; one
 * on a run-time condition is unsupported. */
static void test_if_folding(void) {
  model_t md;
  model_init(&md, 13);
  static int64_t dims[2] = {2, 3}, five = 5;
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("out", 1, 0, NULL, NULL);
  md.inits[md.g.n_initializer++] = tensor_i64("five", 0, NULL, &five, 1);
  static const char *in_x[] = {"x"}, *in_gt[] = {"n", "five"}, *in_if[] = {"cond"};
  node(&md, "Size", "size", 1, in_x, "n");
  node(&md, "Greater", "gt", 2, in_gt, "cond");
  Onnx__NodeProto *ifn = node(&md, "If", "if", 1, in_if, "out");
  ifn->n_attribute = 2;
  ifn->attribute = zalloc(2 * sizeof *ifn->attribute);
  ifn->attribute[0] = graph_attr("then_branch", branch("Relu", "x", "then_out"));
  ifn->attribute[1] = graph_attr("else_branch", branch("Neg", "x", "else_out"));
  save(&md, "if.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("if.onnx", NULL, &m);
  CHECK(!s, "known If: %s", s ? ug_status_message(s) : "");
  if (!s) {
    output_type_is(m, "f32[2,3]");
    CHECK(count_op(m, UG_OP_RELU) == 1 && count_op(m, UG_OP_NEG) == 0,
          "the wrong branch was taken");
  }
  ug_status_free(s);
  ug_module_destroy(m);
  /* a run-time condition: bool(min(x)) */
  md.g.n_node = 0;
  static const char *in_red[] = {"x"}, *in_cast[] = {"c0"}, *in_if2[] = {"c0b"};
  Onnx__NodeProto *red = node(&md, "ReduceMin", "min", 1, in_red, "c0");
  red->n_attribute = 1;
  red->attribute = zalloc(sizeof *red->attribute);
  red->attribute[0] = int_attr("keepdims", 0);
  Onnx__NodeProto *cast = node(&md, "Cast", "cast", 1, in_cast, "c0b");
  cast->n_attribute = 1;
  cast->attribute = zalloc(sizeof *cast->attribute);
  cast->attribute[0] = int_attr("to", 9);
  ifn->input = (char **)in_if2;
  md.nodes[md.g.n_node++] = ifn;
  save(&md, "if2.onnx", NULL);
  expect_error("if2.onnx", UG_ERR_UNSUPPORTED, "computed at run time");
}

/* raw_data of 16 bytes or more stays in the mapped model (a reference
 * replaces it in what protobuf-c unpacks): whatever the payload's offset in
 * the file (shifted by a doc_string of 0..7 bytes), the weights hold the
 * file's bytes, aligned for their element type.  Smaller payloads are
 * unpacked as they are. */
static void test_raw_data_in_file(void) {
  static float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[3] = {-1, -2, -3};
  static int64_t dims_a[1] = {8}, dims_b[1] = {3};
  static const char *in_a[] = {"x", "a"}, *in_b[] = {"y", "b"};
  for (int shift = 0; shift < 8; shift++) {
    model_t md;
    model_init(&md, 13);
    char doc[8] = "xxxxxxx";
    doc[shift] = '\0';
    md.m.doc_string = doc;
    const char *names[2] = {"a", "b"};
    const float *vals[2] = {a, b};
    int64_t *dims[2] = {dims_a, dims_b};
    for (int i = 0; i < 2; i++) {
      Onnx__TensorProto *t = zalloc(sizeof *t);
      Onnx__TensorProto ti = ONNX__TENSOR_PROTO__INIT;
      *t = ti;
      t->name = (char *)names[i];
      t->has_data_type = 1;
      t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
      t->n_dims = 1;
      t->dims = dims[i];
      t->has_raw_data = 1;
      t->raw_data.len = (size_t)dims[i][0] * sizeof(float);
      t->raw_data.data = (uint8_t *)vals[i];
      md.inits[md.g.n_initializer++] = t;
    }
    md.inputs[md.g.n_input++] = vinfo("x", 1, 1, dims_a, NULL);
    md.inputs[md.g.n_input++] = vinfo("y", 1, 1, dims_b, NULL);
    node(&md, "Add", "add_a", 2, in_a, "ya");
    node(&md, "Add", "add_b", 2, in_b, "yb");
    md.outputs[md.g.n_output++] = vinfo("ya", 1, 0, NULL, NULL);
    md.outputs[md.g.n_output++] = vinfo("yb", 1, 0, NULL, NULL);
    save(&md, "raw-in-file.onnx", NULL);
    ug_module_t *m = NULL;
    ug_status_t s = import("raw-in-file.onnx", NULL, &m);
    CHECK(!s, "raw_data, shift %d: %s", shift, s ? ug_status_message(s) : "");
    for (size_t w = 0; !s && w < m->weights.len; w++) {
      const ug_weight_t *wt = &m->weights.items[w];
      const float *want = wt->name && strcmp(wt->name, "a") == 0 ? a : b;
      CHECK(wt->size == (want == a ? sizeof a : sizeof b) && memcmp(wt->data, want, wt->size) == 0,
            "raw_data, shift %d: weight %s has the wrong bytes", shift, wt->name);
      CHECK((uintptr_t)wt->data % sizeof(float) == 0, "raw_data, shift %d: weight %s misaligned",
            shift, wt->name);
    }
    CHECK(s || m->weights.len == 2, "raw_data: %zu weights, expected 2", s ? 0 : m->weights.len);
    ug_status_free(s);
    ug_module_destroy(m);
  }
}

/* `levels` Ifs nested in then-branches, all on the outer condition "cond",
 * around a Relu of x; every else-branch is a Neg. */
static Onnx__GraphProto *nested_ifs(int levels) {
  if (levels == 0) return branch("Relu", "x", "o0");
  char *out = zalloc(16), *neg = zalloc(16);
  snprintf(out, 16, "o%d", levels);
  snprintf(neg, 16, "n%d", levels);
  Onnx__GraphProto *g = branch("If", "cond", out);
  g->node[0]->n_attribute = 2;
  g->node[0]->attribute = zalloc(2 * sizeof *g->node[0]->attribute);
  g->node[0]->attribute[0] = graph_attr("then_branch", nested_ifs(levels - 1));
  g->node[0]->attribute[1] = graph_attr("else_branch", branch("Neg", "x", neg));
  return g;
}

/* Sub-graphs a few levels deep import; nesting past the reader's bound
 * (messages deeper than OX_MAX_NESTING) is an error before protobuf-c
 * unpacks anything (its recursion would overflow the stack). */
static void test_nested_subgraphs(void) {
  static const int levels[] = {10, 40};
  for (int k = 0; k < 2; k++) {
    model_t md;
    model_init(&md, 13);
    static int64_t dims[2] = {2, 3}, five = 5;
    md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
    md.outputs[md.g.n_output++] = vinfo("out", 1, 0, NULL, NULL);
    md.inits[md.g.n_initializer++] = tensor_i64("five", 0, NULL, &five, 1);
    static const char *in_x[] = {"x"}, *in_gt[] = {"n", "five"}, *in_if[] = {"cond"};
    node(&md, "Size", "size", 1, in_x, "n");
    node(&md, "Greater", "gt", 2, in_gt, "cond");
    Onnx__NodeProto *ifn = node(&md, "If", "if", 1, in_if, "out");
    ifn->n_attribute = 2;
    ifn->attribute = zalloc(2 * sizeof *ifn->attribute);
    ifn->attribute[0] = graph_attr("then_branch", nested_ifs(levels[k]));
    ifn->attribute[1] = graph_attr("else_branch", branch("Neg", "x", "else_out"));
    save(&md, "nested-ifs.onnx", NULL);
    if (k == 1) {
      expect_error("nested-ifs.onnx", UG_ERR_INVALID, "nests messages deeper than 100 levels");
      continue;
    }
    ug_module_t *m = NULL;
    ug_status_t s = import("nested-ifs.onnx", NULL, &m);
    CHECK(!s, "%d nested Ifs: %s", levels[k], s ? ug_status_message(s) : "");
    if (!s) {
      output_type_is(m, "f32[2,3]");
      CHECK(count_op(m, UG_OP_RELU) == 1 && count_op(m, UG_OP_NEG) == 0,
            "nested Ifs: the wrong branch was taken");
    }
    ug_status_free(s);
    ug_module_destroy(m);
  }
}

/* A Loop with a constant trip count is unrolled: states carried, scan
 * outputs stacked. */
static void test_loop_unroll(void) {
  model_t md;
  model_init(&md, 13);
  static int64_t dims[1] = {2}, three = 3;
  md.inputs[md.g.n_input++] = vinfo("x", 1, 1, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("acc_final", 1, 0, NULL, NULL);
  md.outputs[md.g.n_output++] = vinfo("stacked", 1, 0, NULL, NULL);
  md.inits[md.g.n_initializer++] = tensor_i64("trip", 0, NULL, &three, 1);
  Onnx__TensorProto *cond = tensor_i64("cond", 0, NULL, NULL, 0);
  static int32_t yes = 1;
  cond->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
  cond->n_int32_data = 1;
  cond->int32_data = &yes;
  md.inits[md.g.n_initializer++] = cond;
  /* body(i, cond_in, acc) -> (cond_out, acc_out, s) */
  Onnx__GraphProto *g = zalloc(sizeof *g);
  Onnx__GraphProto gi = ONNX__GRAPH_PROTO__INIT;
  *g = gi;
  g->name = "body";
  model_t tmp;
  model_init(&tmp, 13);
  static const char *in_id[] = {"cond_in"}, *in_add[] = {"acc", "x"}, *in_s[] = {"acc_out"};
  node(&tmp, "Identity", NULL, 1, in_id, "cond_out");
  node(&tmp, "Add", NULL, 2, in_add, "acc_out");
  node(&tmp, "Identity", NULL, 1, in_s, "s");
  g->n_node = tmp.g.n_node;
  g->node = tmp.g.node;
  g->n_input = 3;
  g->input = zalloc(3 * sizeof *g->input);
  g->input[0] = vinfo("i", 7, 0, NULL, NULL);
  g->input[1] = vinfo("cond_in", 9, 0, NULL, NULL);
  g->input[2] = vinfo("acc", 1, 1, dims, NULL);
  g->n_output = 3;
  g->output = zalloc(3 * sizeof *g->output);
  g->output[0] = vinfo("cond_out", 9, 0, NULL, NULL);
  g->output[1] = vinfo("acc_out", 1, 1, dims, NULL);
  g->output[2] = vinfo("s", 1, 1, dims, NULL);
  static const char *in_loop[] = {"trip", "cond", "x"};
  Onnx__NodeProto *loop = node(&md, "Loop", "loop", 3, in_loop, "acc_final");
  loop->n_output = 2;
  loop->output = zalloc(2 * sizeof(char *));
  loop->output[0] = "acc_final";
  loop->output[1] = "stacked";
  loop->n_attribute = 1;
  loop->attribute = zalloc(sizeof *loop->attribute);
  loop->attribute[0] = graph_attr("body", g);
  save(&md, "loop.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("loop.onnx", NULL, &m);
  CHECK(!s, "loop: %s", s ? ug_status_message(s) : "");
  if (!s) {
    ug_graph_t *mg = ug_module_find_graph(m, "main");
    char buf[64] = "";
    if (mg->outputs.len == 2)
      ug_type_format(m->dims, ug_value_type(mg, mg->outputs.items[1]), buf, sizeof buf);
    CHECK(strcmp(buf, "f32[3,2]") == 0, "stacked scan output %s, expected f32[3,2]", buf);
    CHECK(count_op(m, UG_OP_ADD) == 3, "expected 3 unrolled adds, got %u", count_op(m, UG_OP_ADD));
  }
  ug_status_free(s);
  ug_module_destroy(m);
}

/* Calls of a model-local function are inlined, each with its own names. */
static void test_functions(void) {
  model_t md;
  model_init(&md, 13);
  static int64_t dims[2] = {2, 3};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("y2", 1, 0, NULL, NULL);
  Onnx__FunctionProto *f = zalloc(sizeof *f);
  Onnx__FunctionProto fi = ONNX__FUNCTION_PROTO__INIT;
  *f = fi;
  f->name = "AddRelu";
  f->domain = "local";
  static char *fin[] = {"a", "b"}, *fout[] = {"y"};
  f->n_input = 2;
  f->input = fin;
  f->n_output = 1;
  f->output = fout;
  Onnx__NodeProto *body[2];
  static const char *in_add[] = {"a", "b"}, *in_relu[] = {"t"};
  model_t tmp;
  model_init(&tmp, 13);
  body[0] = node(&tmp, "Add", NULL, 2, in_add, "t");
  body[1] = node(&tmp, "Relu", NULL, 1, in_relu, "y");
  f->n_node = 2;
  f->node = body;
  Onnx__FunctionProto *fns[1] = {f};
  md.m.n_functions = 1;
  md.m.functions = fns;
  static const char *in1[] = {"x", "x"}, *in2[] = {"y1", "x"};
  node(&md, "AddRelu", "call1", 2, in1, "y1")->domain = "local";
  node(&md, "AddRelu", "call2", 2, in2, "y2")->domain = "local";
  save(&md, "func.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("func.onnx", NULL, &m);
  CHECK(!s, "functions: %s", s ? ug_status_message(s) : "");
  if (!s) {
    output_type_is(m, "f32[2,3]");
    CHECK(count_op(m, UG_OP_ADD) == 2 && count_op(m, UG_OP_RELU) == 2,
          "expected two inlined calls");
  }
  ug_status_free(s);
  ug_module_destroy(m);
}

static void test_unknown_dim(void) {
  model_t md;
  model_init(&md, 13);
  static int64_t dims[2] = {-1, 3};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  static const char *in[] = {"x"};
  node(&md, "Relu", NULL, 1, in, "y");
  save(&md, "unk.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("unk.onnx", NULL, &m);
  CHECK(!s, "unknown dim: %s", s ? ug_status_message(s) : "");
  if (!s) {
    output_type_is(m, "f32[unk_x_0,3]");
    ug_graph_t *g = ug_module_find_graph(m, "main");
    const char *loc = "";
    for (size_t i = 0; i < g->nodes.len; i++)
      if (g->nodes.items[i].op == UG_OP_RELU) loc = g->nodes.items[i].loc;
    CHECK(strcmp(loc, "Relu_0") == 0, "unnamed node location '%s', expected Relu_0", loc);
  }
  ug_status_free(s);
  ug_module_destroy(m);
}

static void test_graph_errors(void) {
  static int64_t dims[2] = {2, 3};
  static const char *dangling[] = {"nope"}, *in_b[] = {"b"}, *in_a[] = {"a"}, *in_x[] = {"x"};
  model_t md;

  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  node(&md, "Relu", "r", 1, dangling, "y");
  save(&md, "dangling.onnx", NULL);
  expect_error("dangling.onnx", UG_ERR_INVALID, "'nope' is not defined");

  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("b", 1, 0, NULL, NULL);
  node(&md, "Relu", "first", 1, in_b, "a");
  node(&md, "Relu", "second", 1, in_a, "b");
  save(&md, "cycle.onnx", NULL);
  expect_error("cycle.onnx", UG_ERR_INVALID, "node \"first\" (Relu, opset 13)");

  /* absurd and negative input sizes, too high a rank */
  static int64_t huge[2] = {(int64_t)1 << 62, 3}, neg[2] = {-5, 3},
                 r9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, huge, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  node(&md, "Relu", "r", 1, in_x, "y");
  save(&md, "huge.onnx", NULL);
  expect_error("huge.onnx", UG_ERR_INVALID, "invalid size");
  md.inputs[0] = vinfo("x", 1, 2, neg, NULL);
  save(&md, "neg.onnx", NULL);
  expect_error("neg.onnx", UG_ERR_INVALID, "invalid size");
  md.inputs[0] = vinfo("x", 1, 9, r9, NULL);
  save(&md, "rank9.onnx", NULL);
  expect_error("rank9.onnx", UG_ERR_UNSUPPORTED, "maximum rank");

  /* an initializer whose data does not match its shape, and absurd dims */
  static int64_t tdims[2] = {2, 2}, big[2] = {(int64_t)1 << 40, (int64_t)1 << 40},
                 tdata[3] = {1, 2, 3};
  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 7, 2, tdims, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 7, 0, NULL, NULL);
  md.inits[md.g.n_initializer++] = tensor_i64("w", 2, tdims, tdata, 3);
  static const char *in_add[] = {"x", "w"};
  node(&md, "Add", "add", 2, in_add, "y");
  save(&md, "short.onnx", NULL);
  expect_error("short.onnx", UG_ERR_INVALID, "int64_data has 3 elements");
  md.inits[0] = tensor_i64("w", 2, big, tdata, 3);
  save(&md, "bigw.onnx", NULL);
  expect_error("bigw.onnx", UG_ERR_INVALID, "overflows");
  md.inits[0]->has_raw_data = 1;
  md.inits[0]->dims = tdims;
  md.inits[0]->raw_data.len = 5;
  md.inits[0]->raw_data.data = (uint8_t *)"abcde";
  save(&md, "raw.onnx", NULL);
  expect_error("raw.onnx", UG_ERR_INVALID, "raw_data has 5 bytes");

  /* unsupported operators: one error naming the node, or a list */
  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
  md.outputs[md.g.n_output++] = vinfo("z", 1, 0, NULL, NULL);
  static const char *in_y[] = {"y"};
  node(&md, "FancyOp", "fancy1", 1, in_x, "y");
  node(&md, "Relu", "r", 1, in_y, "z2");
  node(&md, "FancyOp", "fancy2", 1, in_x, "z");
  save(&md, "unsup.onnx", NULL);
  expect_error("unsup.onnx", UG_ERR_UNSUPPORTED,
               "node \"fancy1\" (FancyOp, opset 13): operator is not supported");
  char *diag_buf = NULL;
  size_t diag_len = 0;
  FILE *diag = open_memstream(&diag_buf, &diag_len);
  ug_onnx_options_t o = {.list_unsupported = true, .diag = diag};
  ug_module_t *m = NULL;
  ug_status_t s = import("unsup.onnx", &o, &m);
  fclose(diag);
  CHECK(s && strstr(ug_status_message(s), "2 unsupported nodes"), "list_unsupported: %s",
        s ? ug_status_message(s) : "no error");
  CHECK(diag_buf && strstr(diag_buf, "fancy1") && strstr(diag_buf, "fancy2"),
        "diag lacks nodes: %s", diag_buf ? diag_buf : "");
  ug_status_free(s);
  ug_module_destroy(m);
  free(diag_buf);
}

/* Scan over x f32[3,2] with a one-node body (Relu xi -> yo); out_name names
 * the body's output (NULL: no name). */
static Onnx__NodeProto *scan_model(model_t *md, const char *out_name) {
  static int64_t xd[2] = {3, 2}, rowd[1] = {2};
  static const char *in_x[] = {"x"}, *in_xi[] = {"xi"};
  model_init(md, 11);
  md->inputs[md->g.n_input++] = vinfo("x", 1, 2, xd, NULL);
  md->outputs[md->g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  Onnx__GraphProto *g = zalloc(sizeof *g);
  Onnx__GraphProto gi = ONNX__GRAPH_PROTO__INIT;
  *g = gi;
  g->name = "body";
  model_t tmp;
  model_init(&tmp, 11);
  node(&tmp, "Relu", NULL, 1, in_xi, "yo");
  g->n_node = tmp.g.n_node;
  g->node = zalloc(sizeof *g->node);
  g->node[0] = tmp.nodes[0];
  g->n_input = 1;
  g->input = zalloc(sizeof *g->input);
  g->input[0] = vinfo("xi", 1, 1, rowd, NULL);
  g->n_output = 1;
  g->output = zalloc(sizeof *g->output);
  g->output[0] = vinfo(out_name, 1, 1, rowd, NULL);
  Onnx__NodeProto *scan = node(md, "Scan", "scan", 1, in_x, "y");
  add_attr(scan, graph_attr("body", g));
  return scan;
}

/* Former fuzz findings (tests/fuzz/corpus/fuzz_onnx/finding-*): each gives
 * an error naming the node and what is wrong in it, or imports correctly;
 * never a crash, undefined behaviour or IR the verifier rejects. */
static void test_fuzz_findings(void) {
  model_t md;

  /* finding-scan-body-output-without-name: protobuf-c leaves the name NULL */
  Onnx__NodeProto *scan = scan_model(&md, NULL);
  add_attr(scan, int_attr("num_scan_inputs", 1));
  save(&md, "scan_noname.onnx", NULL);
  expect_error("scan_noname.onnx", UG_ERR_INVALID,
               "node \"scan\" (Scan, opset 11): output 0 of the body has no name");
  /* the same Scan with the name imports */
  scan = scan_model(&md, "yo");
  add_attr(scan, int_attr("num_scan_inputs", 1));
  save(&md, "scan_ok.onnx", NULL);
  ug_module_t *m = NULL;
  ug_status_t s = import("scan_ok.onnx", NULL, &m);
  CHECK(!s, "scan: %s", s ? ug_status_message(s) : "");
  if (!s) output_type_is(m, "f32[3,2]");
  ug_status_free(s);
  ug_module_destroy(m);

  /* finding-attr-int-from-float: an integer attribute stored as a float */
  scan = scan_model(&md, "yo");
  add_attr(scan, float_attr("num_scan_inputs", -5.9e20f));
  save(&md, "scan_float.onnx", NULL);
  expect_error("scan_float.onnx", UG_ERR_INVALID,
               "node \"scan\" (Scan, opset 11): attribute 'num_scan_inputs' must be an integer, "
               "not the float -5.9e+20");
  static int64_t d23[2] = {2, 3};
  static const char *in_xx[] = {"x", "x"}, *in_x1[] = {"x"};
  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, d23, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  Onnx__NodeProto *cat = node(&md, "Concat", "cat", 2, in_xx, "y");
  add_attr(cat, float_attr("axis", 1.5f));
  save(&md, "concat_float.onnx", NULL);
  expect_error("concat_float.onnx", UG_ERR_INVALID,
               "node \"cat\" (Concat, opset 13): attribute 'axis' must be an integer, not the "
               "float 1.5");
  cat->attribute[0] = float_attr("axis", 1.0f); /* an integral float is the integer */
  save(&md, "concat_float1.onnx", NULL);
  m = NULL;
  s = import("concat_float1.onnx", NULL, &m);
  CHECK(!s, "concat axis 1.0: %s", s ? ug_status_message(s) : "");
  if (!s) output_type_is(m, "f32[2,6]");
  ug_status_free(s);
  ug_module_destroy(m);

  /* finding-gemm-alpha-inf-int: alpha = inf on integer operands */
  model_init(&md, 13);
  static int64_t d22[2] = {2, 2};
  static const char *in_ab[] = {"a", "b"};
  md.inputs[md.g.n_input++] = vinfo("a", 6, 2, d22, NULL);
  md.inputs[md.g.n_input++] = vinfo("b", 6, 2, d22, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 6, 0, NULL, NULL);
  add_attr(node(&md, "Gemm", "gemm", 2, in_ab, "y"), float_attr("alpha", INFINITY));
  save(&md, "gemm_inf.onnx", NULL);
  expect_error("gemm_inf.onnx", UG_ERR_INVALID,
               "node \"gemm\" (Gemm, opset 13): the value inf does not fit a i32 constant");
  md.nodes[0]->attribute[0] = float_attr("alpha", 3e9f); /* finite, beyond i32 */
  save(&md, "gemm_big.onnx", NULL);
  expect_error("gemm_big.onnx", UG_ERR_INVALID, "the value 3e+09 does not fit a i32 constant");

  /* finding-ignore-index-int64: ignore_index is an int64 taken exactly, not
   * through a double (INT64_MAX as a double is 2^63, out of range) */
  model_init(&md, 13);
  static int64_t td[1] = {2};
  static const char *in_nll[] = {"x", "t"};
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, d23, NULL);
  md.inputs[md.g.n_input++] = vinfo("t", 7, 1, td, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  add_attr(node(&md, "NegativeLogLikelihoodLoss", "nll", 2, in_nll, "y"),
           int_attr("ignore_index", INT64_MAX));
  save(&md, "nll_ignore.onnx", NULL);
  m = NULL;
  s = import("nll_ignore.onnx", NULL, &m);
  CHECK(!s, "nll ignore_index: %s", s ? ug_status_message(s) : "");
  if (!s) {
    bool found = false;
    for (size_t i = 0; i < m->weights.len; i++) {
      const ug_weight_t *w = &m->weights.items[i];
      int64_t v;
      if (w->type.dtype != UG_DTYPE_I64 || w->size != 8) continue;
      memcpy(&v, w->data, 8);
      found |= v == INT64_MAX;
    }
    CHECK(found, "no i64 constant holds ignore_index %lld", (long long)INT64_MAX);
  }
  ug_status_free(s);
  ug_module_destroy(m);

  /* finding-duplicate-graph-output */
  model_init(&md, 13);
  md.inputs[md.g.n_input++] = vinfo("x", 1, 2, d23, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  node(&md, "Relu", "r", 1, in_x1, "y");
  save(&md, "dup_out.onnx", NULL);
  expect_error("dup_out.onnx", UG_ERR_INVALID, "y: graph output is listed twice");

  /* finding-unk-symbol-non-identifier: symbols made from names that are not
   * identifiers; distinct dim_params stay distinct, equal ones equal */
  model_init(&md, 13);
  static int64_t unk[2] = {-1, 3};
  static const char *p1[2] = {"batch-size", NULL}, *p2[2] = {"batch_size", NULL};
  static const char *in_w1[] = {"in put/0"}, *in_add[] = {"v", "v"};
  md.inputs[md.g.n_input++] = vinfo("in put/0", 1, 2, unk, NULL);
  md.inputs[md.g.n_input++] = vinfo("v", 1, 2, unk, p1);
  md.inputs[md.g.n_input++] = vinfo("w", 1, 2, unk, p2);
  md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
  md.outputs[md.g.n_output++] = vinfo("z", 1, 0, NULL, NULL);
  node(&md, "Relu", "r", 1, in_w1, "y");
  node(&md, "Add", "add", 2, in_add, "z");
  save(&md, "unk_ident.onnx", NULL);
  m = NULL;
  s = import("unk_ident.onnx", NULL, &m);
  CHECK(!s, "non-identifier symbols: %s", s ? ug_status_message(s) : "");
  if (!s) {
    ug_graph_t *g = ug_module_find_graph(m, "main");
    char buf[3][64] = {"", "", ""};
    for (size_t i = 0; i < 3 && i < g->inputs.len; i++)
      ug_type_format(m->dims, ug_value_type(g, g->inputs.items[i]), buf[i], sizeof buf[i]);
    CHECK(strcmp(buf[0], "f32[unk_in_put_0_0,3]") == 0, "input 0 type %s", buf[0]);
    CHECK(strcmp(buf[1], "f32[batch_size_2,3]") == 0, "input 1 type %s", buf[1]);
    CHECK(strcmp(buf[2], "f32[batch_size,3]") == 0, "input 2 type %s", buf[2]);
    output_type_is(m, "f32[unk_in_put_0_0,3]");
  }
  ug_status_free(s);
  ug_module_destroy(m);
}

/* External data: a valid reference, then ones that escape the directory or
 * lie outside the file. */
static void test_external_data(void) {
  float w[4] = {1, 2, 3, 4};
  char blob[64] = {0};
  memcpy(blob + 16, w, sizeof w);
  write_bytes("weights.bin", blob, sizeof blob);
  static int64_t dims[2] = {2, 2};
  static const char *in_add[] = {"x", "w"};
  struct {
    const char *loc, *offset, *length;
    ug_code_t code;
    const char *msg;
  } cases[] = {
      {"weights.bin", "16", "16", UG_OK, NULL},
      {"../weights.bin", "16", "16", UG_ERR_INVALID, "leaves the model directory"},
      {"/etc/passwd", "0", "16", UG_ERR_INVALID, "absolute"},
      {"sub/../../x.bin", "0", "16", UG_ERR_INVALID, "leaves the model directory"},
      {"weights.bin", "60", "16", UG_ERR_INVALID, "outside"},
      {"weights.bin", "18446744073709551615", "16", UG_ERR_INVALID, "outside"},
      {"weights.bin", "0", "8", UG_ERR_INVALID, "does not match"},
      {"weights.bin", "x", "16", UG_ERR_INVALID, "not a number"},
      {"absent.bin", "0", "16", UG_ERR_IO, NULL},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    model_t md;
    model_init(&md, 13);
    md.inputs[md.g.n_input++] = vinfo("x", 1, 2, dims, NULL);
    md.outputs[md.g.n_output++] = vinfo("y", 1, 0, NULL, NULL);
    Onnx__TensorProto *t = zalloc(sizeof *t);
    Onnx__TensorProto ti = ONNX__TENSOR_PROTO__INIT;
    *t = ti;
    t->name = "w";
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = 2;
    t->dims = dims;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    static Onnx__StringStringEntryProto e[3];
    static Onnx__StringStringEntryProto *ep[3] = {&e[0], &e[1], &e[2]};
    Onnx__StringStringEntryProto ei = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    for (int i = 0; i < 3; i++) e[i] = ei;
    e[0].key = "location";
    e[0].value = (char *)cases[k].loc;
    e[1].key = "offset";
    e[1].value = (char *)cases[k].offset;
    e[2].key = "length";
    e[2].value = (char *)cases[k].length;
    t->n_external_data = 3;
    t->external_data = ep;
    md.inits[md.g.n_initializer++] = t;
    node(&md, "Add", "add", 2, in_add, "y");
    save(&md, "ext.onnx", NULL);
    if (cases[k].code == UG_OK) {
      ug_module_t *m = NULL;
      ug_status_t s = import("ext.onnx", NULL, &m);
      CHECK(!s, "external data: %s", s ? ug_status_message(s) : "");
      if (!s) {
        CHECK(m->weights.len == 1 && m->weights.items[0].size == 16 &&
                  memcmp(m->weights.items[0].data, w, 16) == 0,
              "external weight contents differ");
      }
      ug_status_free(s);
      ug_module_destroy(m);
    } else {
      expect_error("ext.onnx", cases[k].code, cases[k].msg);
    }
  }
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/ug_onnx_test_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  pool = ug_arena_create();
  test_symbolic_reshape();
  test_layer_norm_mixed_dtypes();
  test_unknown_dim();
  test_symbolic_materialize();
  test_bindings_and_slice();
  test_if_folding();
  test_nested_subgraphs();
  test_raw_data_in_file();
  test_functions();
  test_loop_unroll();
  test_graph_errors();
  test_external_data();
  test_fuzz_findings();
  ug_arena_destroy(pool);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%s: %d failure%s\n", failures ? "FAILED" : "OK", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
