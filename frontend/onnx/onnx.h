/* The ONNX frontend: reads an ONNX model and builds the canonical graph IR.
 *
 * The importer maps ONNX operators onto the smaller op set of ir/ops.def
 * (docs/onnx.md lists the mapping), folds shape computations on the host
 * (Shape -> Gather -> Concat -> Reshape becomes one reshape, symbolic dims
 * included) and turns dim_params into symbolic dims.  Weights stay in the
 * mapped model and external data files, which the module owns and unmaps when
 * destroyed (or are copied into its arena when misaligned); the files must not
 * be truncated while the module lives. */
#ifndef UG_FRONTEND_ONNX_ONNX_H
#define UG_FRONTEND_ONNX_ONNX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "ugcc/ugcc.h"

/* A graph input frozen to a constant, e.g. the `shape` input of a Reshape in
 * a test model whose stored inputs are known.  The data is copied. */
typedef struct {
  const char *name;
  ug_type_t type; /* static; must agree with the input's declared type */
  const void *data;
  uint64_t size;
} ug_onnx_binding_t;

typedef struct {
  const ug_input_shape_t *input_shapes; /* specialize these graph inputs (may be NULL) */
  uint32_t num_input_shapes;
  bool list_unsupported;             /* report every unsupported node to diag, then fail once */
  FILE *diag;                        /* where list_unsupported writes (stderr when NULL) */
  const ug_onnx_binding_t *bindings; /* graph inputs that become constants (may be NULL) */
  uint32_t num_bindings;
} ug_onnx_options_t;

/* Imports the model at `path` into a new module with one graph "main".  `o`
 * may be NULL for defaults.  On success *out owns the module; on failure *out
 * is NULL and the status names the node, op type and opset at fault. */
ug_status_t ug_onnx_import(const char *path, const ug_onnx_options_t *o, ug_module_t **out);

/* Reads a serialized TensorProto (a test-data .pb file).  The data is copied
 * into arena `a`; *out_name is the tensor's name ("" when it has none).
 * String tensors and unsupported element types give an error. */
ug_status_t ug_onnx_read_tensor(const char *path, ug_arena_t *a, const char **out_name,
                                ug_type_t *out_type, const void **out_data, uint64_t *out_size);

#endif
