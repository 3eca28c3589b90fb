/* The CUDA C emitter for plans: one kernel per plan step, all of a model in
 * one translation unit (docs/cuda.md).  Kernels follow the calling
 * convention of docs/abi.md: extern "C", one device pointer per step
 * argument, then `const int64_t *dims`; each is a grid-stride loop launched
 * on a 1-d grid of UG_CUDA_BLOCK threads per block.
 *
 * Handled now: the elementwise ops (scalar semantics in ew.h), the copies of
 * reshape-like results and output copies, transpose, expand, slice, concat.
 * Any other op is the error `node "<loc>" (<op>): not supported on cuda yet`,
 * before anything is written. */
#ifndef UG_CODEGEN_CUDA_EMIT_H
#define UG_CODEGEN_CUDA_EMIT_H

#include <stdint.h>

#include "codegen/cuda/nvrtc.h"
#include "codegen/plan.h"
#include "ugcc/ugcc.h"

#define UG_CUDA_BLOCK 256u
/* Grid-stride loops: at most this many blocks per launch. */
#define UG_CUDA_MAX_GRID 8192

/* A whole model in CUDA C.  Everything lives in the module's arena. */
typedef struct {
  char *source;
  const char **kernel_names; /* distinct kernels: steps with equal code share one */
  ug_nvrtc_kernel_span_t *spans; /* per kernel, for NVRTC's messages */
  uint32_t num_kernels;
  ug_gpu_launch_t **launch; /* per plan, per step; grids may add to m->dims */
  struct ug_kir_module *kir; /* the steps lowered to the kernel IR (in m's arena) */
} ug_cuda_module_t;

/* Emits every step of plans[0..num_plans) (the plans of m's graphs);
 * prefer_kir: --prefer-kir (ugcc.h). */
ug_status_t ug_cuda_emit_module(ug_module_t *m, const ug_plan_t *plans, uint32_t num_plans,
                                ug_precision_t precision, bool prefer_kir, ug_cuda_module_t *out);

#endif
