/* CUDA kernels of the contract family (see kernel.h).  Nothing here yet. */
#include "codegen/cuda/kernel.h"

ug_status_t ug_cuda_emit_contract(ug_cuda_kctx_t *k) { return ug_cuda_unsupported(k); }
