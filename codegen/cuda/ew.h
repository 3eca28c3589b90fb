/* CUDA C for elementwise semantics: the CUDA counterpart of the CPU's
 * ug_cg_ew_scalar (codegen/llvm/ew.c), with the same ONNX choices (round half
 * to even, truncating integer division, divisor-signed mod, NaN-propagating
 * min/max, saturating float->int casts with NaN -> 0, no traps on integer
 * division by zero).  Every CUDA kernel that computes an elementwise op, the
 * per-node kernels of codegen/cuda/emit.c now and the kernel-IR emitter
 * later, writes its scalar math through these functions.
 *
 * Values are in their compute type (ug_cuda_ctype): f16 and bf16 compute in
 * float, bool in bool; ug_cuda_load_expr / ug_cuda_store_expr convert from
 * and to the storage type (ug_cuda_stype).  The helpers the expressions call
 * (ug_fmax, ug_idiv, ug_f2i, ...) are defined by ug_cuda_prelude. */
#ifndef UG_CODEGEN_CUDA_EW_H
#define UG_CODEGEN_CUDA_EW_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/ir.h"

/* The C type a value of dt is computed in ("float" for f16) / stored as
 * ("__half" for f16, "unsigned char" for bool and for the bytes of
 * block-quantized types, which have no compute type); NULL when the CUDA
 * backend does not handle dt (fp8, and block-quantized for ctype). */
const char *ug_cuda_ctype(ug_dtype_t dt);
const char *ug_cuda_stype(ug_dtype_t dt);

/* Writes the expression converting the stored value `s` (an lvalue or
 * expression of the storage type) to the compute type, or back. */
void ug_cuda_load_expr(ug_dtype_t dt, const char *s, char *buf, size_t size);
void ug_cuda_store_expr(ug_dtype_t dt, const char *v, char *buf, size_t size);
/* The compute-typed expression e rounded to dt and widened back (f16, bf16:
 * a value of dt kept in float); e itself for other dtypes. */
void ug_cuda_round_expr(ug_dtype_t dt, const char *e, char *buf, size_t size);

/* Writes into buf the CUDA C expression of elementwise op n over
 * the operand expressions in[i] (compute-typed; NULL for an absent optional
 * operand) of dtypes in_dt[i], with result dtype out_dt, as a value of the
 * result's compute type.  The operand expressions may be repeated, so they
 * must be names or constants.  Ops it does not know give
 * `node "<loc>" (<op>): not supported on cuda yet`. */
ug_status_t ug_cuda_ew_expr(const ug_ew_t *n, const char *const *in,
                            const ug_dtype_t *in_dt, ug_dtype_t out_dt, char *buf, size_t size);

/* The source every CUDA translation unit starts with: integer typedefs
 * (NVRTC has no <cstdint>), cuda_fp16.h / cuda_bf16.h, and the helpers. */
extern const char ug_cuda_prelude[];

#endif
