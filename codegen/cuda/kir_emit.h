/* The CUDA emitter of the kernel IR: writes the body of the kernel of one
 * plan step from its kernel-IR kernel (codegen/kir_lower.h made it), and
 * sets the step's launch (grid = the kernel's grid, block = warps * 32).
 * The parameter list is emit.c's, whose names a0.. are the kernel's
 * parameters in order.  kir_emit.c's head comment lists what it handles. */
#ifndef UG_CODEGEN_CUDA_KIR_EMIT_H
#define UG_CODEGEN_CUDA_KIR_EMIT_H

#include "codegen/cuda/kernel.h"
#include "ir/kir.h"

ug_status_t ug_cuda_emit_kir(ug_cuda_kctx_t *k, ug_kir_kernel_t *kk);

/* Helpers the emitted code calls; once per translation unit. */
extern const char ug_cuda_kir_prelude[];

#endif
