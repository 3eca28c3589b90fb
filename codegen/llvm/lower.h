/* Lowering of graph nodes to kernels, by op family.  Each family function
 * builds the body of one kernel (ug_cg_kernel_begin has been called and the
 * tensors are set up) and returns an error for what it does not handle. */
#ifndef UG_CODEGEN_LLVM_LOWER_H
#define UG_CODEGEN_LLVM_LOWER_H

#include "codegen/llvm/emit.h"
#include "codegen/plan.h"
#include "ir/kir.h"

ug_status_t ug_cg_lower_ew(ug_cg_t *cg, ug_cg_kernel_t *k);       /* ew.c */
ug_status_t ug_cg_lower_reduce(ug_cg_t *cg, ug_cg_kernel_t *k);   /* reduce.c */
ug_status_t ug_cg_lower_pool(ug_cg_t *cg, ug_cg_kernel_t *k);     /* pool.c */
ug_status_t ug_cg_lower_contract(ug_cg_t *cg, ug_cg_kernel_t *k); /* contract.c */
ug_status_t ug_cg_lower_movement(ug_cg_t *cg, ug_cg_kernel_t *k); /* movement.c */
ug_status_t ug_cg_lower_gather(ug_cg_t *cg, ug_cg_kernel_t *k);   /* gather.c */

/* Scratch buffers of contraction kernels (packed panels, im2col). */
ug_status_t ug_cg_contract_scratch(ug_graph_t *g, const ug_node_t *n, ug_dim_t *out_sizes,
                                   uint32_t *out_count);

/* Scalar elementwise op on compute values (ew.c): the single definition of
 * every elementwise op's semantics, for graph nodes (ug_ew_of_node) and
 * kernel-IR ew ops (ug_kir_ew_desc) alike.  in_dt are the operand dtypes
 * (an absent optional operand has in[i] NULL), out_dt the result's. */
ug_status_t ug_cg_ew_scalar(ug_cg_t *cg, const ug_ew_t *e, LLVMValueRef *in, const ug_dtype_t *in_dt,
                            ug_dtype_t out_dt, LLVMValueRef *out);

/* Emits kernel-IR kernel k as the body of the current kernel function
 * (kir.c; ug_cg_kernel_begin has been called): the whole grid as a loop
 * nest around the scalarized body.  args are the function's buffer
 * pointers, one per parameter of k, in order.  Ops the CPU does not run
 * (shared memory, async copies, mbarriers, roles, mma) give
 * UG_ERR_UNSUPPORTED naming the op. */
ug_status_t ug_cg_emit_kir(ug_cg_t *cg, ug_kir_kernel_t *k, LLVMValueRef const *args, uint32_t num_args);

/* Builds every kernel of a plan into cg's module (lower.c); out_fns gets one
 * function per step. */
ug_status_t ug_cg_lower_plan(ug_cg_t *cg, const ug_plan_t *p, LLVMValueRef *out_fns);

/* A memcpy of n bytes. */
void ug_cg_memcpy(ug_cg_t *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n);

/* Helpers for reading attributes with a node error on absence. */
const int64_t *ug_cg_attr_ints(ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, uint32_t *out_n);

#endif
