/* Lowering plan steps (graph nodes) to kernel-IR kernels (docs/kernel-ir.md).
 *
 * This is the target-independent half of code generation: a step becomes
 * one kernel whose parameters are the step's arguments in the plan's order
 * (present operands, then results; scratch buffers are not used), each a
 * `global` buffer of the value's type, and the emitters below (CUDA:
 * codegen/cuda/kir_emit.c, CPU: codegen/llvm/kir.c) turn the kernel into code.  Ops not lowered yet return UG_ERR_UNSUPPORTED
 * with *out NULL, and the caller keeps its per-node emitter for them.
 *
 * Lowered now: the elementwise ops (ir/ops.def category EW), with NumPy
 * broadcasting.  The result is seen as rows x columns: the columns are the
 * longest run of trailing axes along which every operand has the result's
 * extent (so same-shape operands make one row of every element), the rows
 * are the axes before it.  A program handles one tile of TILE columns of
 * one row: its row coordinates come from program_id by div/mod, each
 * operand is loaded at (coordinate, or 0 along its size-1 axes — min(c,
 * d-1), which is right for a symbolic d either way) as a [TILE] tile along
 * its last axis, or as a [1] tile broadcast when it is broadcast along the
 * columns.  A single node broadcasting with short columns (fewer than
 * UG_KIR_MIN_COLS elements per row) is not lowered: a program would do
 * almost nothing.  A fused kernel takes longer rows and reads the operands
 * that broadcast within them through `gather`.
 *
 * Movement nodes of a fused kernel (transpose, reshape, squeeze, unsqueeze,
 * expand, slice, concat, gather; the fuse pass fuses these) and lone
 * gather_elements, pad, tile and trilu are index maps: their results are read
 * where used, plain when the source is only viewed (reshape, expand) or the
 * columns are its contiguous last axis, else by `gather` of flat offsets
 * computed from the element coordinates (docs/kernel-ir.md, "Lowering").
 * A lone transpose, expand, slice, concat, gather, gather_elements, pad,
 * tile or trilu is lowered the same way:
 * a kernel that reads its result through the map and stores it, in the
 * values' own dtype (any dtype of whole bytes but fp8).  A lone reshape,
 * squeeze or unsqueeze is not lowered: it stays a byte copy or an alias.
 * A gather's indices count from the end when negative and clamp into the
 * axis, as in the per-node kernels.
 *
 * Single row nodes become row kernels (a program per row, the row in
 * registers): reduce_sum/mean/max/min over a trailing run of axes (any
 * keepdims; the result buffer is one element per row), softmax and
 * log_softmax over the last axis, layer_norm and rms_norm over trailing
 * axes with a scale and bias of the normalized dims (or one element).  The
 * reduced axes are flattened into the row, which must be static, non-empty
 * and at most UG_KIR_MAX_ROW long; values are f32, f16 or bf16, computed in
 * f32 and rounded once (softmax subtracts the row's max first).
 *
 * Not lowered (UG_ERR_UNSUPPORTED): copy steps, contractions (ug_kir_lower_matmul and
 * ug_kir_lower_epilogue take matmuls, below), scratch
 * buffers, block-quantized and fp8 values, and any other op or case named
 * in the error (a symbolic or empty row, reduced axes that are not
 * trailing, an integer or f64 row op, a norm operand broadcast within the
 * row, a softmax over an earlier axis, short broadcast rows of a single
 * elementwise node). */
#ifndef UG_CODEGEN_KIR_LOWER_H
#define UG_CODEGEN_KIR_LOWER_H

#include "codegen/plan.h"
#include "ir/kir.h"

/* Elementwise tiles: 4 warps, each thread UG_KIR_EW_ROUNDS 16-byte
 * vectors of the widest dtype. */
#define UG_KIR_EW_WARPS 4
#define UG_KIR_EW_ROUNDS 4
/* Row kernels: a block per row, warps enough (up to 16) that each thread
 * holds UG_KIR_ROW_ROUNDS 16-byte vectors of the row. */
#define UG_KIR_ROW_ROUNDS 2
/* Row kernels keep the row in registers: at most this many columns. */
#define UG_KIR_MAX_ROW 16384
/* A lone movement node whose source is read through gathers: tiles of at
 * most this many elements (16 a thread), fewer rounds for narrow dtypes. */
#define UG_KIR_MOV_TILE 2048
/* Operands are all loaded at the kernel's start when their tiles take at
 * most this many registers a thread, else each where it is first used. */
#define UG_KIR_PRELOAD_REGS 64

/* The axes reduction (or argmax / argmin) node n reduces, in red[0..rank):
 * a reduce_*'s axes (all of them when it names none), an arg's axis.  The
 * result: the first axis of the trailing run when the reduced axes are a
 * trailing run (the operand's rank when none is reduced), -1 when they are
 * not one, -2 when an axis is out of range. */
int ug_kir_reduced_axes(ug_graph_t *g, const ug_node_t *n, bool *red);

/* The lowerings' refusal: UG_ERR_UNSUPPORTED naming node n and why. */
ug_status_t ug_kir_not_lowered(ug_graph_t *g, const ug_node_t *n, const char *why);

/* Lowers step s of plan p into a new kernel of km named s->kernel_name. */
ug_status_t ug_kir_lower_step(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                              ug_kir_kernel_t **out);

/* Window kernels (kir_window.c): a lone max_pool or avg_pool (NCHW, 1 to 3
 * static spatial dims), reduce_sum/mean/max/min/prod over axes that are
 * not a trailing run, argmax or argmin (over the last axis: a program per
 * row, read in chunks), lrn, nearest / linear resize, softmax /
 * log_softmax over an axis before the last (tile loads and stores along
 * the axes after it), of f32, f16 or bf16 values: a program per tile of result elements, a loop
 * over the window carrying the combination in f32 (argmax: the best value
 * and its index), each window element gathered at its offset or, when the
 * result's last kept axes after the last reduced one hold at least
 * UG_KIR_MIN_COLS elements, loaded as a tile along them.  Otherwise
 * UG_ERR_UNSUPPORTED naming why (a trailing run of reduced axes is a row
 * kernel's, lower_step's). */
bool ug_kir_window_op(ug_op_t op);
/* Why the CPU backend runs its per-node kernel for step s although the
 * lowering takes it, or NULL: the window kernels and the index maps of pad,
 * tile, trilu, gather_elements and gather_nd, which its kernel-IR emitter
 * runs 1.6 to 7.6 times slower than the per-node loops (per-element
 * div / mod of the flat form; bench/RESULTS.md, "window kernels"), and
 * instance_norm's row kernel (1.1 to 1.3 times slower). */
const char *ug_kir_cpu_skip(ug_graph_t *g, const ug_plan_step_t *s);
/* Why the CUDA backend runs its per-node kernel (pool.c, reduce.c) for step
 * s although the lowering takes it, or NULL: pooling, reductions over axes
 * that are not a trailing run, argmax / argmin over an earlier axis and
 * instance_norm, whose kernel-IR kernels measured 1.1 to 2 times slower on
 * an H100 than the per-node ones (one thread per result element, 32-bit
 * indices; bench/RESULTS.md, 2026-11-23 "window kernels on the GPU"). */
const char *ug_kir_cuda_skip(ug_graph_t *g, const ug_plan_step_t *s);
ug_status_t ug_kir_lower_window(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                ug_kir_kernel_t **out);

/* The epilogue of a fused kernel headed by a contraction (the step's nodes
 * after its first, docs/passes.md "fuse") as an elementwise kernel of its
 * own; *out_values gets the values behind its parameters, in order (the
 * head's result is one of them), for the caller to map to buffers.  The
 * CPU runs it after the matmul; the CUDA backend computes the same chain
 * in the matmul's store instead.  Short broadcast rows are lowered here
 * (a program per row): only the CPU runs this kernel. */
ug_status_t ug_kir_lower_epilogue(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                  ug_kir_kernel_t **out, const ug_value_id_t **out_values, uint32_t *out_n);

/* Contraction tiles, the target's choice: a block of `warps` computes a
 * bm x bn tile of the result, k in steps of bk; the K loop allows the
 * software-pipeline pass up to `stages` stages.  fit > 0 fits each tile
 * extent to a static dim: as many tiles as the target's extent needs,
 * each the smallest multiple of `fit` that covers the dim (the dim itself
 * when smaller than `fit`), so small and ragged matrices carry no padding.
 * split > 1 splits K over a cluster of that many programs a tile (the
 * kernel's cluster(split)): rank r of cluster_size programs runs k tiles
 * [r * c, (r + 1) * c) with c = ceil(k tiles / cluster_size) (cut at K),
 * cluster_reduce adds the accumulators into rank 0, which alone runs the
 * epilogue and stores (docs/kernel-ir.md, "Lowering"). */
typedef struct {
  int bm, bn, bk, warps, stages, fit, split;
} ug_kir_mm_tiles_t;

/* A matmul step (alone, or a fused kernel headed by a matmul with its
 * elementwise epilogue) as one kernel in the plain form of
 * docs/kernel-ir.md example (b): a program per bm x bn tile of one result
 * matrix (grouped by 8 row tiles for L2 reuse), a K loop that loads
 * [bm,bk] and [bk,bn] tiles into one-stage shared buffers and accumulates
 * `mma` in f32, then the epilogue on the accumulator tile (operands read as
 * [1|bm, 1|bn] tiles and broadcast) and a store of every stored result,
 * rounded once.  Operands are f16, bf16 or f32 of rank >= 2 whose batch
 * axes are the result's or all 1; epilogue operands view the result as
 * [Bx, Mx, Nx], each the result's extent or 1.  Otherwise
 * UG_ERR_UNSUPPORTED naming why. */
extern const ug_kir_mm_tiles_t ug_kir_gpu_mm_tiles;     /* the CUDA backend's (f16, bf16) */
extern const ug_kir_mm_tiles_t ug_kir_gpu_mm_tiles_f32; /* ... and for f32 (tf32 mma: k steps of 16) */
extern const ug_kir_mm_tiles_t ug_kir_cpu_mm_tiles; /* the CPU backend's */
/* The CUDA backend's tiles for a matmul of operand dtype dt. */
const ug_kir_mm_tiles_t *ug_kir_gpu_mm_tiles_for(ug_dtype_t dt);
/* The CUDA backend's split of K for a GEMM of `tiles` 128x128 tiles and
 * `ktiles` k tiles of 32 (static, else 1): on an H100's 132 SMs, two
 * blocks each, a GEMM of fewer than 132 tiles runs each on a cluster of
 * 8, 4 or 2 programs, the most that keep at most 264 programs and at least
 * 16 k tiles a program; 1 when it does not split. */
int ug_kir_gpu_split(ug_dim_t tiles, ug_dim_t ktiles);
/* The CUDA backend's tiles for the contraction step headed by `head`:
 * ug_kir_gpu_mm_tiles_for its operands' dtype, with f16 / bf16 / f32
 * matmuls and conv_nhwcs split by ug_kir_gpu_split (K counted in 32s). */
ug_kir_mm_tiles_t ug_kir_gpu_contract_tiles(ug_graph_t *g, const ug_node_t *head);
/* Why the CUDA backend keeps the contraction step headed by `head` (with
 * tiles `t`) off the kernel IR for its own kernels (codegen/cuda/contract.c,
 * conv.c), or NULL when it lowers it: an operand dtype other than f16,
 * bf16, f32 or a rank below 2; a conv or conv_transpose whose output plane
 * the tiles would pad by more than a quarter; a split-K f16 / bf16
 * conv_nhwc.  Both
 * the CUDA emitter and --emit=kir ask it. */
const char *ug_kir_gpu_contract_skip(ug_graph_t *g, const ug_node_t *head, const ug_kir_mm_tiles_t *t);
ug_status_t ug_kir_lower_matmul(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out);
/* The conditions above on the graph alone, for the kernel of nodes[0..n)
 * (nodes[0] its head): NULL when ug_kir_lower_matmul takes a step of these
 * nodes without scratch buffers, else UG_ERR_UNSUPPORTED naming why.  A
 * backend asks this before it plans the step's buffers. */
ug_status_t ug_kir_matmul_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes);

/* A conv or conv_transpose step (NCHW, alone or heading a fused kernel with
 * its elementwise epilogue) as the same kind of kernel: the implicit GEMM of a program per
 * bm x bn tile of one image's and group's [Mg, P] result matrix, w's rows
 * loaded, the [bk,bn] im2col tiles of x `gather`ed (row k: channel and
 * taps, column: output position; zero in the padding and past the terms;
 * a conv_transpose gathers w's tiles too, and x where the stride divides),
 * the bias added to the accumulator, then the epilogue as for a matmul
 * (operands: batch N or 1, channels M or 1, output positions all or none).
 * A conv_nhwc (one group) is one GEMM of N*P pixels x M: its [bm,bk] tiles
 * of x gathered (runs of a tap's channels when C is a multiple of bk), w
 * [k..., C, M] loaded as [K, M], the bias per column (operands: pixels all
 * or none, channels M or 1); 1x1, stride 1, unpadded: x loaded as [N*P, C].
 * x, w and the result f16, bf16 or f32 of one dtype, w and every extent but
 * the batch static, an image and the GEMM's extents below 2^31 elements.
 * Otherwise UG_ERR_UNSUPPORTED naming why; ug_kir_conv_check answers from
 * the graph alone. */
ug_status_t ug_kir_lower_conv(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                              const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out);
ug_status_t ug_kir_conv_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes);

/* Whether op heads the contraction lowering's kernels: matmul, conv,
 * conv_transpose, conv_nhwc. */
static inline bool ug_kir_contract_op(ug_op_t op) {
  return op == UG_OP_MATMUL || op == UG_OP_CONV || op == UG_OP_CONV_TRANSPOSE || op == UG_OP_CONV_NHWC;
}

/* Either of the two, by the head's op (matmul; conv, conv_transpose, conv_nhwc). */
ug_status_t ug_kir_contract_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes);
ug_status_t ug_kir_lower_contract(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                  const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out);

#endif
