/* The CUDA emitter of the kernel IR, its parts shared by kir_emit.c (the
 * walk over regions, elementwise and row ops, loads and stores) and
 * kir_mma.c (contraction kernels: the accumulator layout, shared stages,
 * async copies, mma); not for other files. */
#ifndef UG_CODEGEN_CUDA_KIR_CUDA_H
#define UG_CODEGEN_CUDA_KIR_CUDA_H

#include <stdio.h>

#include "codegen/cuda/kir_emit.h"

/* A shared stage [R, C] stored from registers: its chunk of W elements (16
 * bytes) and the P slots a thread holds of its tiles. */
typedef struct {
  int64_t R, C, W, P;
} ck_stage_t;

/* The emitter's state for one kernel. */
typedef struct {
  ug_cuda_kctx_t *k;
  ug_kir_kernel_t *kk;
  FILE *f;
  uint32_t threads; /* per program */
  uint32_t pack;    /* programs per block (one warp each), 1 for programs of several warps */
  int64_t W; /* chunk: elements in 16 bytes of the widest tile dtype */
  /* contraction kernels: the mma accumulator's shape, 0 when none */
  int64_t bm, bn;
  uint32_t *smem; /* per value: byte offset of an alloc in the dynamic shared memory */
  bool vec_copies; /* this copy of the body: every async_copy's buffer allows 16-byte copies */
  bool exact;      /* f32 mma in exact f32 (3xTF32's NaN rerun, kir_emit.c) */
  uint64_t smem_bytes; /* the kernel's dynamic shared memory */
  /* the stage layout (tiles stored into a shared stage and what computes
   * them, ck_stage_layout()): per value 0, or 1 + the index of its stage
   * in st (| 0x80: raw 16-bit values, a gather only stored) */
  uint8_t *stage;
  ck_stage_t st[4];
  int nst;
} kemit_t;

/* The accumulator layout (kir_mma.c's head comment): its 64 slots a
 * thread, and the row and column of slot q (a C expression). */
#define ACC_SLOTS 64
#define ACC_ROW(q) "(ug_wm * 64 + ((" q ") >> 4) * 16 + (ug_lane >> 2) + ((((" q ") >> 1) & 1) << 3))"
#define ACC_COL(q) "(ug_wn * 32 + (((" q ") >> 2) & 3) * 8 + (ug_lane & 3) * 2 + ((" q ") & 1))"

/* Elements of a tile type (1 for scalars). */
static inline int64_t ck_tile_size(const ug_kir_type_t *t) {
  int64_t s = 1;
  for (int i = 0; i < t->t.rank; i++) s *= t->t.dims[i];
  return s;
}

/* Whether value v has the stage layout (ck_stage_layout): a tile [R|1, C|1]
 * over a shared stage [R, C] whose element (r, c) slot q of thread t holds,
 * for e = ((q / Ws) * threads + t) * Ws + q % Ws, r = e / C and c = e % C
 * (the async copies' chunks, so a thread stores its Ws slots of a round as
 * one 16-byte chunk); a broadcast row or column holds its values in every
 * slot.  Raw: a 16-bit gather only stored keeps its bits. */
static inline bool ck_stage_val(const kemit_t *e, ug_kir_value_id_t v) { return e->stage && v != UG_NONE && e->stage[v]; }
static inline bool ck_stage_raw(const kemit_t *e, ug_kir_value_id_t v) { return ck_stage_val(e, v) && (e->stage[v] & 0x80); }
static inline const ck_stage_t *ck_stage_of(const kemit_t *e, ug_kir_value_id_t v) { return &e->st[(e->stage[v] & 0x7f) - 1]; }

/* kir_emit.c */
ug_status_t ck_err(kemit_t *e, const ug_kir_op_data_t *o, const char *what);
const char *ck_index_expr(kemit_t *e, const ug_kir_operand_t *a, char *buf, size_t size);
void ck_other_expr(const ug_kir_attr_t *a, const char *ct, char *buf, size_t size);

/* kir_mma.c */
ug_status_t ck_nan_fixup_global(kemit_t *e, const ug_kir_op_data_t *loop, uint32_t i, bool *out_done);
ug_status_t ck_access2d_px(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i, const char *px, uint32_t *out_buf);
ug_status_t ck_acc_load(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_acc_store(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_async_copy(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_async_gather(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_stage_store(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_mma(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_cluster_reduce(kemit_t *e, const ug_kir_op_data_t *o);
ug_status_t ck_stage_layout(kemit_t *e);
int64_t ck_stage_bytes(const ug_kir_type_t *t);

#endif
