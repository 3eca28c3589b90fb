/* Internals of the ONNX importer, shared by its files.
 *
 * reader.c        model and tensor decoding (protobuf-c, external data)
 * known.c         host-known values: small tensors whose contents the importer
 *                 knows (static ints, symbolic dims, floats) and folds
 * import.c        the driver: opsets, inputs, initializers, node dispatch, outputs
 * import_math.c   elementwise ops, reductions, softmax family
 * import_nn.c     convolution, pooling, normalization, Gemm, resize
 * import_shape.c  Shape, Reshape, Slice, Gather, Concat, ... with folding
 * import_tensor.c constant-producing and indexing ops (Constant, Range, OneHot, ...)
 * import_quant.c  linear quantization, decomposed into float arithmetic
 * import_einsum.c Einsum as transposes, reductions and matmuls
 * import_rnn.c    RNN, GRU, LSTM unrolled over a static sequence length
 * import_loss.c   NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
 * import_control.c If on known conditions, Scan and Loop unrolled, functions inlined
 * import_dft.c    DFT and STFT as matmuls with cos/sin constants
 * import_gridsample.c GridSample as masked, weighted gathers
 *
 * Every ONNX tensor name has an entry.  An entry has an IR value, or a
 * host-known content, or both.  A known entry that no IR op needs is never
 * materialized; when one is, static contents become a const and symbolic
 * contents are computed by re-running the producing node without folding. */
#ifndef UG_FRONTEND_ONNX_INTERNAL_H
#define UG_FRONTEND_ONNX_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "ir/text.h"
#include "onnx.pb-c.h"

/* The newest default-domain opset the importer knows. */
#define OX_MAX_OPSET 25

/* ---- reader ---- */

typedef struct {
  ug_type_t type;
  const void *data; /* arena bytes or a mapping the module owns; aligned to the element */
  uint64_t size;
} ox_tensor_t;

/* Where the bytes of tensors come from.  `m` (may be NULL: external data is
 * then copied into the arena) adopts the mappings that weights borrow; `dir`
 * is the model's directory for external data (NULL forbids external data);
 * `file` is the mapped model when raw_data fields hold references into it
 * (ox_model_load), NULL when they hold the bytes. */
typedef struct {
  ug_module_t *m;
  const char *dir;
  const uint8_t *file;
  size_t file_size;
} ox_source_t;

/* Deepest nesting of protobuf messages a model may have (protobuf's own
 * default recursion limit): about 30 levels of sub-graphs. */
#define OX_MAX_NESTING 100

/* Largest element count of a tensor the importer accepts (2^40). */
#define OX_MAX_NUMEL ((int64_t)1 << 40)

/* Unpacks the model at path into m's arena.  Nesting deeper than
 * OX_MAX_NESTING is an error.  The payloads of raw_data fields are not copied:
 * they stay in the mapped file, which m adopts, and *out_src describes it for
 * ox_tensor_decode (its `dir` is set by the caller). */
ug_status_t ox_model_load(const char *path, ug_module_t *m, ox_source_t *out_src,
                          Onnx__ModelProto **out);
/* Maps an ONNX TensorProto.DataType to a dtype; false when unsupported. */
bool ox_dtype_from_onnx(int64_t t, ug_dtype_t *out);
const char *ox_onnx_dtype_name(int64_t t);
/* Decodes t (raw_data, typed fields or external data, see ox_source_t).
 * `what` names t in errors. */
ug_status_t ox_tensor_decode(ug_arena_t *a, const ox_source_t *src, const Onnx__TensorProto *t,
                             const char *what, ox_tensor_t *out);
/* Element count of a static type, checked against OX_MAX_NUMEL. */
bool ox_numel(const ug_type_t *t, int64_t *out);

/* 16-bit floats convert with ir/text.h's ug_f16_to_f32 and friends. */

/* ---- known values ---- */

/* One element of a known tensor: integers and bools in i, floats in f; when
 * sym is set, i is a symbolic ug_dim_t (always a size, so non-negative). */
typedef struct {
  int64_t i;
  double f;
  bool sym;
} ox_kv_t;

/* Known tensors larger than this are not folded. */
#define OX_KNOWN_MAX 4096

struct ox_node;

typedef struct ox_entry {
  const char *name;
  ug_value_id_t value; /* UG_NONE until materialized */
  ug_type_t type;
  bool has_type;
  /* host-known contents (static shape), or NULL */
  ox_kv_t *kv;
  uint32_t nkv;
  /* initializers / Constant: decoded tensor, turned into a const on first use */
  const ox_tensor_t *tensor;
  struct ox_node *producer; /* the node that computes a symbolic known value, or NULL */
  bool poisoned;            /* computed by an unsupported node (list_unsupported mode) */
  struct ox_entry *alias;   /* Identity of a constant: materializes as that entry */
  bool graph_output;        /* listed as an output of the main graph */
} ox_entry_t;

/* ---- importer context ---- */

typedef struct ox_ctx ox_ctx_t;

typedef struct ox_node {
  const Onnx__NodeProto *p;
  uint32_t index;
  const char *op_type;
  const char *loc;
  int64_t opset;
  bool fold;       /* outputs may stay host-known values */
  ox_entry_t **in; /* NULL for an absent optional input */
  uint32_t nin;
  /* an integer attribute given as a float that is no integer (ox_attr_int),
   * reported by run_node once the handler returns */
  const Onnx__AttributeProto *bad_int_attr;
} ox_node_t;

typedef ug_status_t (*ox_handler_t)(ox_ctx_t *c, ox_node_t *n, int arg);

typedef struct {
  const char *op_type;
  ox_handler_t fn;
  int arg;           /* a ug_op_t or a handler-specific selector */
  const char *attrs; /* accepted attribute names, space separated */
} ox_op_entry_t;

struct ox_ctx {
  ug_module_t *m;
  ug_graph_t *g;
  ug_arena_t *a;
  ug_dims_t *dims;
  ox_source_t src; /* the model's mapping and directory */
  const Onnx__ModelProto *mp;
  const Onnx__GraphProto *gp;
  const ug_onnx_options_t *opts;
  int64_t opset_default;
  /* name -> entry, open addressing */
  ox_entry_t **slots;
  uint32_t nslots, nentries;
  uint32_t depth; /* materialization recursion depth */
  /* dim_params that are not identifiers, and the symbols made for them */
  const char **param_from;
  ug_dim_t *param_to;
  uint32_t nparams, cap_params;
};

/* Imports nodes in order (the main graph, or an inlined If branch whose
 * unnamed nodes are located under `scope`).  With `list`, unsupported nodes
 * are printed to diag, counted and skipped (the first is kept in *first). */
ug_status_t ox_import_nodes(ox_ctx_t *c, const Onnx__NodeProto *const *nodes, uint32_t n,
                            const char *scope, bool list, FILE *diag, uint32_t *unsupported,
                            ug_status_t *first);

/* A model-local function named op_type in domain, or NULL; and its inlining
 * at call node n (import_control.c). */
const Onnx__FunctionProto *ox_find_function(ox_ctx_t *c, const char *domain, const char *op_type);
ug_status_t ox_inline_function(ox_ctx_t *c, ox_node_t *n, const Onnx__FunctionProto *f);

/* Entries */
ox_entry_t *ox_lookup(ox_ctx_t *c, const char *name);
ox_entry_t *ox_define(ox_ctx_t *c, const char *name);

/* Errors, formatted `node "<loc>" (<OpType>, opset N): ...` through the origin. */
ug_status_t ox_err(ox_ctx_t *c, const ox_node_t *n, ug_code_t code, const char *fmt, ...)
    UG_PRINTF(4, 5);
#define OX_UNSUP(c, n, ...) ox_err((c), (n), UG_ERR_UNSUPPORTED, __VA_ARGS__)
#define OX_INVALID(c, n, ...) ox_err((c), (n), UG_ERR_INVALID, __VA_ARGS__)

/* Attributes */
const Onnx__AttributeProto *ox_attr(const ox_node_t *n, const char *name);
/* An int attribute, or dflt.  A float is accepted when it is an integer within
 * int64; any other float gives dflt and is reported as malformed (bad_int_attr). */
int64_t ox_attr_int(ox_node_t *n, const char *name, int64_t dflt);
double ox_attr_float(const ox_node_t *n, const char *name, double dflt);
/* A string attribute as a NUL-terminated arena copy, or dflt. */
const char *ox_attr_str(ox_ctx_t *c, const ox_node_t *n, const char *name, const char *dflt);
/* An ints attribute; false when absent. */
bool ox_attr_ints(const ox_node_t *n, const char *name, const int64_t **v, uint32_t *cnt);
bool ox_attr_floats(const ox_node_t *n, const char *name, const float **v, uint32_t *cnt);

/* Inputs and outputs */
static inline bool ox_has_in(const ox_node_t *n, uint32_t i) { return i < n->nin && n->in[i]; }
uint32_t ox_num_out(const ox_node_t *n);
static inline bool ox_has_out(const ox_node_t *n, uint32_t i) {
  return i < ox_num_out(n) && n->p->output[i][0] != '\0';
}
/* The IR value of input i, materializing it when it is host-known. */
ug_status_t ox_in(ox_ctx_t *c, ox_node_t *n, uint32_t i, ug_value_id_t *out);
const ug_type_t *ox_in_type(const ox_node_t *n, uint32_t i);
/* Known contents of input i, or NULL (absent or not known). */
const ox_kv_t *ox_in_known(ox_ctx_t *c, ox_node_t *n, uint32_t i, uint32_t *out_n);
/* Known integer list of input i (a 0-d or 1-d int tensor with static values). */
ug_status_t ox_in_ints(ox_ctx_t *c, ox_node_t *n, uint32_t i, const char *what, int64_t **out,
                       uint32_t *out_n);
/* Known float list of input i (static). */
ug_status_t ox_in_floats(ox_ctx_t *c, ox_node_t *n, uint32_t i, const char *what, double **out,
                         uint32_t *out_n);
ug_status_t ox_materialize(ox_ctx_t *c, ox_entry_t *e, const ox_node_t *user, ug_value_id_t *out);

/* Binds output i to IR value v. */
ug_status_t ox_set_out(ox_ctx_t *c, ox_node_t *n, uint32_t i, ug_value_id_t v);
/* Binds output i to a known tensor (kv owned by the arena). */
ug_status_t ox_set_known(ox_ctx_t *c, ox_node_t *n, uint32_t i, const ug_type_t *type, ox_kv_t *kv);

/* Emission */
ug_status_t ox_emit(ox_ctx_t *c, ox_node_t *n, ug_op_t op, const ug_value_id_t *operands,
                    uint32_t num_operands, const ug_attr_t *attrs, uint32_t num_attrs,
                    const ug_type_t *types, uint32_t num_results, ug_value_id_t *out);
ug_status_t ox_emit1(ox_ctx_t *c, ox_node_t *n, ug_op_t op, ug_value_id_t a, ug_value_id_t *out);
ug_status_t ox_emit2(ox_ctx_t *c, ox_node_t *n, ug_op_t op, ug_value_id_t a, ug_value_id_t b,
                     ug_value_id_t *out);
ug_status_t ox_reshape(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, int rank, const ug_dim_t *dims,
                       ug_value_id_t *out);
ug_status_t ox_cast(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, ug_dtype_t to, ug_value_id_t *out);
/* A const of the given type holding `size` bytes (copied). */
ug_status_t ox_const_bytes(ox_ctx_t *c, ox_node_t *n, const ug_type_t *t, const void *data,
                           uint64_t size, ug_value_id_t *out);
/* A scalar (rank 0) const of dtype dt with value v; for an integer dtype, v
 * truncated, and an error when v is not finite or outside dt's range. */
ug_status_t ox_const_scalar(ox_ctx_t *c, ox_node_t *n, ug_dtype_t dt, double v, ug_value_id_t *out);
/* A scalar const of integer (or bool) dtype dt holding v exactly, wrapped to
 * dt's width like a cast. */
ug_status_t ox_const_i64(ox_ctx_t *c, ox_node_t *n, ug_dtype_t dt, int64_t v, ug_value_id_t *out);
/* f truncated toward zero into *out; false (and 0) when f is NaN or the result
 * is outside int64, where a plain (int64_t) conversion is undefined. */
static inline bool ox_f64_to_i64(double f, int64_t *out) {
  if (!(f >= -0x1p63 && f < 0x1p63)) {
    *out = 0;
    return false;
  }
  *out = (int64_t)f;
  return true;
}
static inline const ug_type_t *ox_type(ox_ctx_t *c, ug_value_id_t v) {
  return ug_value_type(c->g, v);
}
/* Normalizes axis into [0, rank); false when out of range. */
bool ox_axis(int64_t axis, int rank, int64_t *out);
ug_status_t ox_reduce(ox_ctx_t *c, ox_node_t *n, ug_op_t op, ug_value_id_t x, const int64_t *axes,
                      uint32_t naxes, bool keepdims, ug_value_id_t *out);

/* ---- known values (known.c) ---- */

ox_kv_t *ox_kv_alloc(ox_ctx_t *c, uint32_t n);
/* Decodes an entry's tensor into known values when small enough; true when known. */
bool ox_entry_known(ox_ctx_t *c, ox_entry_t *e);
/* Converts known values to bytes of dtype dt; false when some are symbolic. */
bool ox_kv_to_bytes(ox_ctx_t *c, const ox_kv_t *kv, uint32_t n, ug_dtype_t dt, void **out,
                    uint64_t *out_size);
/* Decodes n elements of dtype dt from bytes. */
void ox_kv_from_bytes(const void *data, ug_dtype_t dt, uint32_t n, ox_kv_t *out);
/* Converts a known element to dtype `to` (float <-> int, bool). */
ox_kv_t ox_kv_cast(ox_kv_t v, ug_dtype_t from, ug_dtype_t to);
/* Whether element counts and contents permit folding. */
bool ox_kv_all_static(const ox_kv_t *kv, uint32_t n);
/* A known element as a dim (static or symbolic); false when negative. */
bool ox_kv_dim(ox_kv_t v, ug_dim_t *out);
ox_kv_t ox_kv_of_dim(ug_dim_t d);
/* Elementwise binary fold with broadcasting, for the ops of import_shape.c.
 * Returns false (no fold) when a symbolic value meets an op it cannot fold. */
bool ox_fold_binary(ox_ctx_t *c, ug_op_t op, ug_dtype_t dt, const ug_type_t *ta, const ox_kv_t *a,
                    const ug_type_t *tb, const ox_kv_t *b, ug_type_t *out_type, ox_kv_t **out);
/* Broadcast result shape; false when incompatible or symbolic mismatch. */
bool ox_broadcast_shape(ox_ctx_t *c, const ug_type_t *a, const ug_type_t *b, ug_type_t *out);

/* ---- op tables and handlers ---- */

extern const ox_op_entry_t ox_math_ops[];
extern const ox_op_entry_t ox_nn_ops[];
extern const ox_op_entry_t ox_shape_ops[];
extern const ox_op_entry_t ox_tensor_ops[];
extern const ox_op_entry_t ox_quant_ops[];
extern const ox_op_entry_t ox_einsum_ops[];
extern const ox_op_entry_t ox_rnn_ops[];
extern const ox_op_entry_t ox_loss_ops[];
extern const ox_op_entry_t ox_control_ops[];
extern const ox_op_entry_t ox_dft_ops[];
extern const ox_op_entry_t ox_gridsample_ops[];

#endif
