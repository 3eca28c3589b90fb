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

/* Scratch buffers of contraction kernels (im2col, f16 widening) as plan.h's
 * ug_scratch_fn: none for a matmul kernel the kernel-IR lowering takes
 * (ug_kir_matmul_check), which lower.c emits through it. */
ug_status_t ug_cg_contract_scratch(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes, ug_dim_t *out_sizes,
                                   uint32_t *out_count, bool *out_result);

/* linear(x, w, bias?) for float and block-quantized weights (linear.c),
 * and its one scratch buffer (x chunk, weight panel, GEMM result). */
ug_status_t ug_cg_lower_linear(ug_cg_t *cg, ug_cg_kernel_t *k);
ug_status_t ug_cg_linear_scratch(ug_graph_t *g, const ug_node_t *n, ug_dim_t *out_sizes, uint32_t *out_count);

/* ---- block-quantized data (quant.c) ---- */
/* Whether the cpu backend dequantizes dtype dt (every GGUF type of ugcc). */
bool ug_cg_dequant_supported(ug_dtype_t dt);
/* A run of n (16 or 32) consecutive values [off, off + n) of a block, as
 * its integer quants q (<n x i32>) and the scalars that make them values:
 * value = (f32)(q - qoff) * scale (+ min, when min is not NULL), which is
 * exactly the reference's arithmetic (ug_cg_dq_values computes it). */
typedef struct {
  int64_t off;
  unsigned n;
  LLVMValueRef q;
  int32_t qoff;
  LLVMValueRef scale, min; /* f32 */
} ug_cg_dq_run_t;
/* A consumer of dequantized values: put is called once per run of a block. */
typedef struct ug_cg_dq_sink {
  void (*put)(struct ug_cg_dq_sink *s, ug_cg_t *cg, const ug_cg_dq_run_t *r);
} ug_cg_dq_sink_t;
/* The values of a run as an <n x float>. */
LLVMValueRef ug_cg_dq_values(ug_cg_t *cg, const ug_cg_dq_run_t *r);
/* Emits, at the current position, the dequantization of the block of dt at
 * blk, every value handed to sink once (values equal ug_quant_dequantize_row's). */
void ug_cg_dequant_block(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef blk, ug_cg_dq_sink_t *sink);
/* Emits a call dequantizing nblocks whole blocks of dt at src (any
 * alignment) into nblocks * block_elems f32 values at dst. */
void ug_cg_dequant_blocks(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef src, LLVMValueRef dst, LLVMValueRef nblocks);
/* An f16 element base[idx] as f32: the target's conversion instruction
 * where it has one (F16C on x86-64-v3 and v4), else ug_cg_load's integer
 * code; both exact. */
LLVMValueRef ug_cg_load_f16(ug_cg_t *cg, LLVMValueRef base, LLVMValueRef idx);
/* A scalar broadcast to an <n x T>. */
LLVMValueRef ug_cg_splat(ug_cg_t *cg, LLVMValueRef s, unsigned n);
/* cast from a block-quantized dtype to a plain one. */
ug_status_t ug_cg_lower_dequant(ug_cg_t *cg, ug_cg_kernel_t *k);

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
