/* The graph IR: a module of graphs in SSA form.
 *
 * Everything is an index into a dense array: values (ug_value_id_t) and nodes
 * (ug_node_id_t) of a graph, weights of the module.  A node's operands,
 * results and attributes are ranges in per-graph pools.  The order of
 * graph->nodes is the schedule; a pass that appends nodes calls
 * ug_graph_compact() to restore topological order and drop dead nodes.  Use
 * lists are not maintained: ug_uses_compute() recomputes them when needed.
 *
 * Ownership: a module owns an arena; every graph, value, node, attribute,
 * string and dim expression of it lives there and goes with ug_module_destroy().
 * Weight data is arena-owned, or borrowed from file mappings the module owns
 * (ug_module_adopt_mapping). */
#ifndef UG_IR_IR_H
#define UG_IR_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/arena.h"
#include "ir/status.h"
#include "ir/types.h"

/* ---- op table ---- */

typedef enum {
#define UG_OP(id, name, mi, ma, nr, cat, props, attrs) UG_OP_##id,
#include "ir/ops.def"
#undef UG_OP
  UG_OP_COUNT
} ug_op_t;

typedef enum { UG_CAT_EW, UG_CAT_RED, UG_CAT_CON, UG_CAT_MOV, UG_CAT_OPQ } ug_category_t;

enum {
  UG_PROP_FLOAT = 1u << 0,       /* operands are floating point */
  UG_PROP_INT = 1u << 1,         /* operands are integers */
  UG_PROP_BOOL = 1u << 2,        /* operands are bool */
  UG_PROP_NUMERIC = UG_PROP_FLOAT | UG_PROP_INT,
  UG_PROP_ANY = UG_PROP_NUMERIC | UG_PROP_BOOL,
  UG_PROP_BOOL_RESULT = 1u << 3, /* the result is bool */
  UG_PROP_COMMUTATIVE = 1u << 4,
  UG_PROP_SHAPE_GIVEN = 1u << 5, /* result shape comes from the node's type */
  UG_PROP_MIXED = 1u << 6,       /* operand dtypes may differ (pow) */
};

typedef struct {
  const char *name;
  int min_operands, max_operands; /* max -1: variadic */
  int num_results;                /* -1: variadic */
  ug_category_t category;
  unsigned props;
  const char *attrs; /* spec, see ir/ops.def */
} ug_op_info_t;

const ug_op_info_t *ug_op_info(ug_op_t op);
bool ug_op_from_name(const char *name, size_t len, ug_op_t *out);
const char *ug_category_name(ug_category_t c);

/* ---- attributes ---- */

typedef enum {
#define UG_ATTR(id, name, kind) UG_ATTR_##id,
#include "ir/attrs.def"
#undef UG_ATTR
  UG_ATTR_COUNT
} ug_attr_key_t;

typedef enum { UG_AK_INT, UG_AK_FLOAT, UG_AK_STRING, UG_AK_INTS, UG_AK_FLOATS, UG_AK_DTYPE } ug_attr_kind_t;

const char *ug_attr_name(ug_attr_key_t k);
ug_attr_kind_t ug_attr_kind(ug_attr_key_t k);
bool ug_attr_from_name(const char *name, size_t len, ug_attr_key_t *out);
/* Whether op accepts attribute k, and whether it must have it. */
bool ug_op_accepts_attr(ug_op_t op, ug_attr_key_t k, bool *out_required);

typedef struct {
  ug_attr_key_t key;
  union {
    int64_t i;
    double f;
    const char *s;
    ug_dtype_t dtype;
    struct { const int64_t *v; uint32_t n; } ints;
    struct { const double *v; uint32_t n; } floats;
  } u;
} ug_attr_t;

static inline ug_attr_t ug_attr_int(ug_attr_key_t k, int64_t v) { ug_attr_t a = {.key = k}; a.u.i = v; return a; }
static inline ug_attr_t ug_attr_float(ug_attr_key_t k, double v) { ug_attr_t a = {.key = k}; a.u.f = v; return a; }
static inline ug_attr_t ug_attr_str(ug_attr_key_t k, const char *v) { ug_attr_t a = {.key = k}; a.u.s = v; return a; }
static inline ug_attr_t ug_attr_dtype(ug_attr_key_t k, ug_dtype_t v) { ug_attr_t a = {.key = k}; a.u.dtype = v; return a; }
/* The list is not copied here; ug_graph_add_node() copies it into the arena. */
static inline ug_attr_t ug_attr_ints(ug_attr_key_t k, const int64_t *v, uint32_t n) { ug_attr_t a = {.key = k}; a.u.ints.v = v; a.u.ints.n = n; return a; }
static inline ug_attr_t ug_attr_floats(ug_attr_key_t k, const double *v, uint32_t n) { ug_attr_t a = {.key = k}; a.u.floats.v = v; a.u.floats.n = n; return a; }

/* ---- weights (constant tensors) ---- */

typedef uint32_t ug_weight_id_t;

typedef struct {
  const char *name;  /* may be NULL for anonymous constants */
  ug_type_t type;    /* always static */
  const void *data;  /* NULL when only the hash is known (parsed from text) */
  uint64_t size;     /* bytes */
  uint64_t hash;     /* FNV-1a 64 of the bytes */
} ug_weight_t;

/* ---- graphs ---- */

typedef uint32_t ug_value_id_t;
typedef uint32_t ug_node_id_t;
#define UG_NONE UINT32_MAX

typedef struct {
  ug_type_t type;
  ug_node_id_t def;  /* defining node, UG_NONE for graph inputs */
  uint32_t index;    /* result index in def, or input index */
  const char *name;  /* NULL: printed as a number */
  /* A graph input that is session state (printed `%x: state f32[...]`): the
   * graph output with the same name is its new value (codegen/plan.h). */
  bool state;
} ug_value_t;

typedef struct {
  ug_op_t op;
  bool dead;
  const char *loc;        /* origin: ONNX node name, GGUF tensor name; may be NULL */
  uint32_t operands, num_operands; /* range in graph->operand_pool */
  uint32_t results, num_results;   /* range in graph->result_pool */
  uint32_t attrs, num_attrs;       /* range in graph->attr_pool */
  ug_weight_id_t weight;           /* const only */
} ug_node_t;

typedef struct ug_module ug_module_t;

typedef struct {
  ug_module_t *module;
  const char *name;
  UG_VEC(ug_value_t) values;
  UG_VEC(ug_node_t) nodes;
  UG_VEC(ug_value_id_t) operand_pool; /* UG_NONE marks an absent optional operand */
  UG_VEC(ug_value_id_t) result_pool;
  UG_VEC(ug_attr_t) attr_pool;
  UG_VEC(ug_value_id_t) inputs;
  UG_VEC(ug_value_id_t) outputs;
  UG_VEC(const char *) output_names;
} ug_graph_t;

/* A read-only file mapping that weights of a module borrow. */
typedef struct {
  void *addr;
  size_t size;
} ug_mapping_t;

struct ug_module {
  ug_arena_t *arena;
  ug_dims_t *dims;
  UG_VEC(ug_weight_t) weights;
  UG_VEC(ug_graph_t *) graphs;
  UG_VEC(ug_mapping_t) mappings; /* unmapped by ug_module_destroy */
  /* The file the weights were imported from when they all borrow its
   * mapping (GGUF): external weights then refer to it instead of a copy. */
  struct {
    const char *path; /* NULL: none */
    const uint8_t *base;
    uint64_t size;
  } source;
  /* Bytes to embed in model.so for tools (a GGUF model's key/values as a
   * GGUF file without tensors), or NULL. */
  const void *metadata;
  uint64_t metadata_size;
};

ug_module_t *ug_module_create(void);
void ug_module_destroy(ug_module_t *m);
/* Hands the mmap()ed range [addr, addr + size) to m, so that weights can borrow
 * it instead of copying; ug_module_destroy unmaps it. */
void ug_module_adopt_mapping(ug_module_t *m, void *addr, size_t size);
ug_graph_t *ug_module_add_graph(ug_module_t *m, const char *name);
ug_graph_t *ug_module_find_graph(ug_module_t *m, const char *name);

/* Registers a weight.  `data` is borrowed and must outlive the module (or be
 * arena memory); it may be NULL with a known hash (text IR).  A named weight
 * is unique by name: adding the same name again returns the existing id when
 * type and hash agree and an error otherwise. */
ug_status_t ug_module_add_weight(ug_module_t *m, const char *name, const ug_type_t *type,
                                 const void *data, uint64_t size, uint64_t hash,
                                 ug_weight_id_t *out);
uint64_t ug_hash_bytes(const void *data, uint64_t size);

ug_value_id_t ug_graph_add_input(ug_graph_t *g, const char *name, const ug_type_t *type);
void ug_graph_add_output(ug_graph_t *g, ug_value_id_t v, const char *name);

/* Adds a node at the end of the schedule.  When `types` is NULL the result
 * types are inferred (ug_infer_node); when given they are checked against
 * inference (shape-given ops take them as they are after validation).  The
 * operand and attribute arrays are copied.  On success the new results are
 * written to out_results (may be NULL) and the node id to out_node (may be NULL). */
ug_status_t ug_graph_add_node(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands,
                              uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                              const ug_type_t *types, uint32_t num_results, const char *loc,
                              ug_value_id_t *out_results, ug_node_id_t *out_node);
/* Checks arity, operand ids and attributes against the op table (used by
 * ug_graph_add_node and the verifier). */
ug_status_t ug_check_signature(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands,
                               uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                               uint32_t num_results, const char *loc);
/* A const node for weight w. */
ug_status_t ug_graph_add_const(ug_graph_t *g, ug_weight_id_t w, const char *loc,
                               ug_value_id_t *out);

static inline ug_node_t *ug_node(ug_graph_t *g, ug_node_id_t n) { return &g->nodes.items[n]; }
static inline ug_value_t *ug_value(ug_graph_t *g, ug_value_id_t v) { return &g->values.items[v]; }
static inline const ug_type_t *ug_value_type(const ug_graph_t *g, ug_value_id_t v) { return &g->values.items[v].type; }
static inline ug_value_id_t ug_node_operand(const ug_graph_t *g, const ug_node_t *n, uint32_t i) { return g->operand_pool.items[n->operands + i]; }
static inline ug_value_id_t ug_node_result(const ug_graph_t *g, const ug_node_t *n, uint32_t i) { return g->result_pool.items[n->results + i]; }
static inline const ug_attr_t *ug_node_attrs(const ug_graph_t *g, const ug_node_t *n) { return n->num_attrs ? &g->attr_pool.items[n->attrs] : NULL; }
static inline const ug_value_id_t *ug_node_operands(const ug_graph_t *g, const ug_node_t *n) { return n->num_operands ? &g->operand_pool.items[n->operands] : NULL; }

const ug_attr_t *ug_node_attr(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k);
int64_t ug_node_attr_int(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, int64_t dflt);
double ug_node_attr_float(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, double dflt);
const char *ug_node_attr_str(const ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, const char *dflt);
/* An elementwise op as the code generators see it: a graph node, or a
 * kernel-IR `ew` op (ug_kir_ew_desc), which carries the same op and graph
 * attributes.  The emitters' scalar semantics (ug_cg_ew_scalar,
 * ug_cuda_ew_expr) read only this, so one definition serves per-node and
 * fused kernels. */
typedef struct {
  ug_op_t op;
  const char *loc;          /* for messages; may be NULL */
  uint32_t num_operands;    /* including absent optional ones */
  const ug_attr_t *attrs;
  uint32_t num_attrs;
} ug_ew_t;
ug_ew_t ug_ew_of_node(const ug_graph_t *g, const ug_node_t *n);
const ug_attr_t *ug_ew_attr(const ug_ew_t *e, ug_attr_key_t k);
int64_t ug_ew_attr_int(const ug_ew_t *e, ug_attr_key_t k, int64_t dflt);
double ug_ew_attr_float(const ug_ew_t *e, ug_attr_key_t k, double dflt);
const char *ug_ew_attr_str(const ug_ew_t *e, ug_attr_key_t k, const char *dflt);
/* An error prefixed `node "<loc>" (<op>)`, as ug_node_error. */
ug_status_t ug_ew_error(const ug_ew_t *e, ug_code_t code, const char *fmt, ...) UG_PRINTF(3, 4);
/* The node defining v, or NULL for graph inputs. */
ug_node_t *ug_value_def(ug_graph_t *g, ug_value_id_t v);
/* The weight behind v when v is a const result, else NULL. */
const ug_weight_t *ug_value_weight(ug_graph_t *g, ug_value_id_t v);

/* A forwarding map for passes that replace many values in one walk: record
 * replacements with ug_value_map_set, resolve them (transitively) with
 * ug_value_map_get while walking, and ug_value_map_apply rewrites the
 * operands of every live node and the graph outputs at the end.  Linear,
 * where calling ug_graph_replace_uses per value would be quadratic. */
typedef struct {
  ug_value_id_t *map; /* map[v] == v when v is not replaced */
  size_t len;
} ug_value_map_t;
ug_status_t ug_value_map_set(ug_value_map_t *m, ug_graph_t *g, ug_value_id_t from, ug_value_id_t to);
ug_value_id_t ug_value_map_get(const ug_value_map_t *m, ug_value_id_t v);
/* Forwards the operands of node n. */
void ug_value_map_node(const ug_value_map_t *m, ug_graph_t *g, ug_node_t *n);
void ug_value_map_apply(const ug_value_map_t *m, ug_graph_t *g);
void ug_value_map_free(ug_value_map_t *m);

/* Replaces every use of `from` (operands and graph outputs) by `to`. */
void ug_graph_replace_uses(ug_graph_t *g, ug_value_id_t from, ug_value_id_t to);
/* Restores topological order (stable: the earliest possible position in the
 * old order) and removes dead nodes.  Fails with an error if the graph has a
 * cycle. */
ug_status_t ug_graph_compact(ug_graph_t *g);
uint32_t ug_graph_live_nodes(const ug_graph_t *g);

/* Use lists, recomputed on demand: uses of value v are
 * users[offsets[v] .. offsets[v+1]) as node ids (repeated when a node uses
 * v twice); output_uses[v] counts graph outputs. */
typedef struct {
  uint32_t *offsets;
  ug_node_id_t *users;
  uint32_t *output_uses;
} ug_uses_t;
void ug_uses_compute(ug_graph_t *g, ug_uses_t *out);
void ug_uses_free(ug_uses_t *u);
static inline uint32_t ug_uses_count(const ug_uses_t *u, ug_value_id_t v) {
  return u->offsets[v + 1] - u->offsets[v] + u->output_uses[v];
}

/* ---- shape inference, verification, text ---- */

/* Infers the result types of node n from its operands and attributes.  For
 * shape-given ops the types already on the results are validated instead. */
ug_status_t ug_infer_node(ug_graph_t *g, const ug_node_t *n, ug_type_t *out_types);
/* Like ug_infer_node, for a node not yet in the graph. */
ug_status_t ug_infer(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands, uint32_t num_operands,
                     const ug_attr_t *attrs, uint32_t num_attrs, const char *loc,
                     ug_type_t *io_types, uint32_t num_results);
/* Checks the whole module: op arity, attributes, SSA dominance, types against
 * inference, graph outputs.  The first problem is returned, naming the node. */
ug_status_t ug_verify_module(ug_module_t *m);
ug_status_t ug_verify_graph(ug_graph_t *g);

/* A node description for diagnostics: `node "<loc>" (<op>)`. */
const char *ug_node_describe(ug_graph_t *g, const ug_node_t *n, char *buf, size_t size);
/* An error about node n, prefixed by its description. */
ug_status_t ug_node_error(ug_graph_t *g, const ug_node_t *n, ug_code_t code, const char *fmt, ...)
    UG_PRINTF(4, 5);

void ug_print_module(ug_module_t *m, FILE *f);
void ug_print_graph(ug_graph_t *g, FILE *f);
/* Prints into a malloc'd string (caller frees). */
char *ug_print_module_to_string(ug_module_t *m);

/* Parses text IR.  `filename` is used in messages, which read
 * "file:line:col: message".  On success *out owns a new module. */
ug_status_t ug_parse_module(const char *text, size_t len, const char *filename, ug_module_t **out);
ug_status_t ug_parse_file(const char *path, ug_module_t **out);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
ug_status_t ug_read_file(const char *path, char **out, size_t *out_len);

#endif
