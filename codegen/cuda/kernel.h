/* Internal to the CUDA emitter: the state of the kernel being written for
 * one plan step, the text helpers every kernel family shares, and the
 * families themselves (one file each).
 *
 * A family writes the body of the kernel of step k->s: everything after the
 * parameter list's opening, which emit.c has already written as
 *   (const T0 *__restrict__ a0, ..., R *__restrict__ aN, unsigned char *aS...,
 *    const int64_t *__restrict__ dims) {
 * — one pointer per step argument in the plan's order (present operands,
 * then results, then scratch buffers as bytes), then the symbol values.
 * It fills k->work/k->per_thread for the default launch (a 1-d grid-stride
 * grid of UG_CUDA_BLOCK threads), or sets k->custom_launch with its own
 * grid, block and dynamic shared memory.  An op the family does not handle
 * returns ug_cuda_unsupported(k). */
#ifndef UG_CODEGEN_CUDA_KERNEL_H
#define UG_CODEGEN_CUDA_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "codegen/cuda/emit.h"
#include "codegen/cuda/ew.h"

typedef struct {
  ug_module_t *m;
  ug_graph_t *g;
  const ug_node_t *n; /* NULL for copy steps */
  const ug_plan_step_t *s;
  const ug_plan_t *plan;
  struct ug_kir_module *kir; /* kernels lowered to the kernel IR go here */
  ug_precision_t precision;  /* --precision, for contractions */
  bool prefer_kir;           /* --prefer-kir: no ug_kir_cuda_skip */
  FILE *f;
  const char *ix;      /* index type: "int" or "int64_t" */
  ug_dim_t work;       /* elements (or bytes / 16 for copies) the grid covers */
  uint32_t per_thread; /* elements per thread per iteration */
  /* the present operands (a0..), the results (a<nops>..), scratch after */
  ug_value_id_t ops[16];
  uint32_t nops;
  ug_value_id_t res[8];
  uint32_t nres;
  /* a matmul heading a fused kernel: the params of A, B and C (C -1 when
   * only the epilogue reads the result), and whether the kernel defines the
   * lambda `ug_epi(flat output index, value)` that every store goes through */
  int mm_arg[3];
  int bias_arg; /* linear, conv: the param of the bias, -1 when there is none */
  bool epilogue;
  /* a family's own launch instead of the grid-stride default */
  bool custom_launch;
  ug_dim_t grid[3];    /* blocks; dims of k->m->dims (symbolic allowed) */
  uint32_t block;      /* threads per block, at most 1024 */
  uint32_t shared_bytes; /* dynamic shared memory */
  uint32_t cluster;      /* blocks per cluster along x on sm_90 and newer (UG_CLUSTER); 0: none */
  uint32_t min_blocks;   /* blocks that must fit on an SM at once (__launch_bounds__'s second value); 0: none */
  /* device functions the kernel calls, written before it (malloc'd, NULL
   * when none): "NAME\0TEXT" records one after another, pre_len bytes */
  char *pre;
  size_t pre_len;
} ug_cuda_kctx_t;

#define UG_CUDA_EXPR 4096
/* A product of dims as text (at most 8 "dims[i] * " terms and a constant)
 * fits in UG_CUDA_PROD; a broadcast stride built from two fits in
 * UG_CUDA_STRIDE. */
#define UG_CUDA_PROD 256
#define UG_CUDA_STRIDE (2 * UG_CUDA_PROD + 96)

/* A dim as a C expression ("12LL" or "dims[3]"). */
const char *ug_cuda_dimstr(ug_dim_t d, char *buf, size_t size);
/* The product of dims [from, to) of t as a C expression. */
void ug_cuda_prodstr(const ug_type_t *t, int from, int to, char *buf, size_t size);
/* Static element count below 2^30: 32-bit indices are safe. */
bool ug_cuda_small_type(const ug_type_t *t);
bool ug_cuda_same_shape(const ug_type_t *a, const ug_type_t *b);
bool ug_cuda_is_single(const ug_type_t *a);
/* `const IX n = <n>; for (IX i = global thread; i < n; i += grid stride) {` */
void ug_cuda_grid_loop(ug_cuda_kctx_t *k, const char *n);
/* Writes `o<a> += coordinate * strides[a][axis]` code decomposing the flat
 * index i over the dims of out, for nops operands. */
void ug_cuda_decompose(ug_cuda_kctx_t *k, const ug_type_t *out, uint32_t nops,
                       char strides[][UG_MAX_RANK][UG_CUDA_STRIDE]);
/* The stride of operand t along result axis i of out (NumPy broadcasting). */
void ug_cuda_bstride(const ug_type_t *t, const ug_type_t *out, int i, char *buf, size_t size);
/* An ints attribute (NULL and 0 when absent); an axis made non-negative. */
const int64_t *ug_cuda_attr_ints(ug_graph_t *g, const ug_node_t *n, ug_attr_key_t key, uint32_t *out_n);
int ug_cuda_norm_axis(int64_t a, int rank);
/* `node "<loc>" (<op>): not supported on cuda yet` */
ug_status_t ug_cuda_unsupported(ug_cuda_kctx_t *k);

/* The families.  Each handles the ops listed in its file's head comment. */
ug_status_t ug_cuda_emit_reduce(ug_cuda_kctx_t *k);   /* reduce.c */
ug_status_t ug_cuda_emit_contract(ug_cuda_kctx_t *k); /* contract.c */
ug_status_t ug_cuda_emit_pool(ug_cuda_kctx_t *k);     /* pool.c */
ug_status_t ug_cuda_emit_gather(ug_cuda_kctx_t *k);   /* gather.c */
ug_status_t ug_cuda_emit_linear(ug_cuda_kctx_t *k);   /* linear.c: x, w, bias, y at mm_arg / bias_arg */
ug_status_t ug_cuda_emit_conv(ug_cuda_kctx_t *k);     /* conv.c: x, w, bias, y at mm_arg / bias_arg */
/* The main loop of the f16 / bf16 tensor-core GEMM (contract.c), for conv.c:
 * see the comment of mm_tc_body for what it expects in scope. */
void ug_cuda_mma16_loop(FILE *f);
/* Its store of the 128x128 tile at (m0, n0) of the row-major [M, N] C. */
void ug_cuda_mma16_store(FILE *f);
/* Split-K on sm_90 (contract.c mm_split): the blocks per tile for a GEMM
 * of `tiles` 128x128 tiles and `ktiles` k tiles of 32 (1: no split); the
 * UG_SPLIT / UG_SPLIT_I macros the set-up reads (this block's share of the
 * k tiles); the reduction of a cluster's accumulators into its block 0,
 * after the main loop (blocks other than 0 `continue` the tile loop, whose
 * grid stride is then gridDim.x / split). */
int ug_cuda_mma16_split(ug_dim_t tiles, ug_dim_t ktiles);
void ug_cuda_mma16_split_open(FILE *f, int split);
/* `for (tile ...) {` over `count` tiles of a 1-d grid: one block a tile,
 * or with split > 1 a cluster of `split` blocks a tile (below sm_90 all
 * but the first block of each group return). */
void ug_cuda_tile_loop(FILE *f, const char *count, int split);
void ug_cuda_mma16_split_reduce(FILE *f);
/* The f32 tensor-core GEMM of contract.c (128x128x16 tiles, 3 stages, the
 * arithmetic of --precision p), for conv.c: the set-up (shared-memory
 * roles, accumulators, `cp`, `st4f`, the math's helpers), then the main
 * loop over the caller's UG_LOAD(stage, k tile) and UG_STASH(stage) (see
 * mm_f32_body); _split tells whether p's arithmetic is 3xTF32, whose NaN
 * results the caller recomputes exactly. */
void ug_cuda_mma32_setup(FILE *f, ug_precision_t p);
void ug_cuda_mma32_loop(FILE *f, ug_precision_t p);
bool ug_cuda_mma32_split(ug_precision_t p);
/* Its pieces for kir_emit.c's f32 mma: the math's helpers (`tf32`, `split`
 * or `pack`, and `mma` on fragments), then the math of one k tile of 16
 * over `const float *As` ([128][24] stage at the thread's A fragment,
 * (wm * 64 + lane / 4) * 24 + 2 (lane % 4)), `const float *Bs` ([16][132]
 * stage at 2 (lane % 4) * 132 + wn * 32 + lane / 4) into float acc[4][4][4]. */
void ug_cuda_mma32_helpers(FILE *f, ug_precision_t p);
void ug_cuda_mma32_ktile(FILE *f, ug_precision_t p);
ug_status_t ug_cuda_emit_dequant(ug_cuda_kctx_t *k);  /* quant.c: cast from a block-quantized type */

/* Block-quantized storage (quant.c): the device struct of a weight dtype
 * (`ug_w_q4_0`, `ug_w_float<__half>`, ...; NULL for dtypes linear does not
 * take), and the device code every translation unit carries: the weight
 * structs, then the linear templates (linear.c), as NULL-terminated lists
 * of pieces (C11 promises string literals of 4095 characters only). */
const char *ug_cuda_weight_struct(ug_dtype_t dt);
extern const char *const ug_cuda_quant_prelude[];
extern const char *const ug_cuda_linear_prelude[];

#endif
