/* The public compiler API: compile a model file into a model.so.
 *
 * Errors are ug_status_t values (ir/status.h): NULL on success, otherwise a
 * status that the caller releases with ug_status_free(). */
#ifndef UGCC_UGCC_H
#define UGCC_UGCC_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "passes/pass.h"

#define UGCC_VERSION_STRING "0.1.0"

typedef enum { UG_EMIT_SO = 0, UG_EMIT_IR, UG_EMIT_LLVM, UG_EMIT_OBJ, UG_EMIT_KIR } ug_emit_t;
/* --weights: AUTO embeds the weights of ONNX and text-IR models and refers
 * to the source file of GGUF models (EXTERNAL semantics without a copy). */
typedef enum { UG_WEIGHTS_AUTO = 0, UG_WEIGHTS_EMBED, UG_WEIGHTS_EXTERNAL } ug_weights_mode_t;
/* --precision: how contractions (matmul, conv) with f32 operands may compute
 * on GPU tensor cores.  DEFAULT keeps the model's types and allows tf32 for
 * f32 contractions (as TensorRT does); FP32 forbids any rounding of f32
 * operands; TF32, FP16 and BF16 round f32 operands to that type (f32
 * accumulation).  f16/bf16 models are not affected.  docs/cli.md. */
typedef enum { UG_PRECISION_DEFAULT = 0, UG_PRECISION_FP32, UG_PRECISION_TF32, UG_PRECISION_FP16,
               UG_PRECISION_BF16 } ug_precision_t;

/* --input-shape name=1x3x224x224 */
typedef struct {
  const char *name;
  int rank;
  int64_t dims[UG_MAX_RANK];
} ug_input_shape_t;

/* --bind-input NAME=FILE.pb: a graph input frozen to a constant value */
typedef struct {
  const char *name;
  const char *path;
} ug_bind_input_t;

typedef struct {
  const char *input_path;
  const char *output_path;   /* -o */
  const char *targets;       /* --target=cpu,cuda:sm_90a ("cpu" by default) */
  ug_emit_t emit;
  ug_weights_mode_t weights;
  ug_precision_t precision;  /* --precision */
  bool keep_layout;          /* --layout=keep: no channels-last convs even for CUDA alone */
  /* --prefer-kir: every step the kernel IR lowers runs its kernel-IR kernel,
   * also where a per-node kernel was measured faster (ug_kir_cpu_skip,
   * ug_kir_cuda_skip); it keeps those kernels tested */
  bool prefer_kir;
  int opt_level;             /* -O0..3, default 2 */
  int verbose;
  bool list_unsupported;     /* report every unsupported node, not only the first */
  const char *passes;        /* explicit pass list instead of the default pipeline */
  ug_pass_options_t pass_options;
  const ug_input_shape_t *input_shapes;
  uint32_t num_input_shapes;
  const ug_bind_input_t *bind_inputs;
  uint32_t num_bind_inputs;
  /* GGUF models: KV cache capacity in tokens (--ctx; 0: the model's context
   * length, capped) and activation / cache dtype (--dtype; f32 default). */
  int64_t ctx;
  ug_dtype_t act_dtype;
} ug_compile_options_t;

void ug_compile_options_init(ug_compile_options_t *o);

#endif
