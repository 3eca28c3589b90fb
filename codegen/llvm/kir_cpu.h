/* The CPU's kernel-IR emitter (codegen/llvm/kir.c), shared with its mma
 * part (kir_mma.c): the emitter's state and the helpers both use.  Not
 * part of the codegen interface: ug_cg_emit_kir (lower.h) is. */
#ifndef UG_CODEGEN_LLVM_KIR_CPU_H
#define UG_CODEGEN_LLVM_KIR_CPU_H

#include "codegen/llvm/lower.h"

enum { K_NONE, K_INDEX, K_UNIFORM, K_ELEM, K_BUF, K_GLOBAL, K_SHARED };

/* The parameter bit of shared buffers in a group's loads / stores sets. */
#define SHARED_PARAM 63

typedef struct {
  int kind;
  bool stored;     /* ELEM: also kept in its buffer */
  uint32_t group;  /* the group whose loop defines it (ELEM, reduce results); UG_NONE otherwise */
  int64_t off;     /* its own buffer in the scratch area, bytes; -1: none */
  LLVMValueRef v;  /* INDEX, UNIFORM; ELEM: in the loop body being emitted */
  LLVMValueRef buf; /* BUF, stored ELEM: compute values; GLOBAL: the base pointer */
  LLVMValueRef acc; /* a reduce's one-element accumulator slot */
  uint32_t param;  /* GLOBAL: the parameter number; SHARED: SHARED_PARAM */
  uint32_t uses;   /* operands naming it */
} kval_t;

/* An mma operand: a shared stage (or a tile in a buffer), or, when the
 * stage only ever holds one unmasked global load of the compute dtype, that
 * global tile read in place (the load and the store are not emitted). */
typedef struct {
  ug_kir_op_id_t src;  /* the load that filled the stage, UG_NONE: unknown */
  bool direct;         /* read src's global tile in place */
} mma_src_t;

typedef struct {
  int rank; /* the loop shape: the tiles' shape without size-1 dims */
  int64_t shape[UG_MAX_RANK];
  uint32_t first, count; /* its ops: gops[first, first + count) */
  uint64_t loads, stores; /* parameters read / written: bit min(i, 63) */
} group_t;

typedef struct {
  bool group;
  uint32_t id; /* group or op */
} item_t;

typedef struct {
  item_t *v;
  size_t len, cap;
} items_t;

typedef struct {
  LLVMValueRef dims[UG_MAX_RANK], strides[UG_MAX_RANK];
} kglobal_t;

typedef struct {
  ug_cg_t *cg;
  ug_kir_kernel_t *k;
  kval_t *vals;
  uint32_t *op_group; /* per op: its group or UG_NONE */
  group_t *groups;
  uint32_t ngroups;
  ug_kir_op_id_t *gops;
  uint32_t ngops;
  items_t *items; /* per region: what to emit, in order */
  kglobal_t *globals; /* per parameter */
  int64_t scratch_bytes;
  uint32_t open; /* planning: the open group */
  /* emission */
  uint32_t cur;  /* the group whose loop body is being emitted */
  bool checked;  /* ... with per-element bounds checks */
  LLVMValueRef iv[UG_MAX_RANK], lin; /* its loop indices and row-major element number */
  LLVMValueRef pid[UG_KIR_MAX_GRID];
  ug_kir_op_id_t yield; /* the yield met by the last region emitted */
  mma_src_t (*mma)[2];  /* per op: an mma's a and b */
  bool *skip;           /* per op: not emitted (a load and store an mma reads around) */
} kemit_t;

/* A global access of a load or store: its buffer and the tile's origin. */
typedef struct {
  int R, r;                   /* buffer rank, tile rank */
  const ug_type_t *tt;        /* the tile */
  LLVMValueRef base;
  ug_dtype_t dt;
  const kglobal_t *g;
  LLVMValueRef origin[UG_MAX_RANK];
} kaccess_t;

ug_status_t kc_kerr(kemit_t *e, const ug_kir_op_data_t *o, const char *fmt, ...) UG_PRINTF(3, 4);
const ug_kir_type_t *kc_vtype(kemit_t *e, ug_kir_value_id_t v);
int64_t kc_numel(const ug_type_t *t);
/* A buffer of the scratch area for a tile of type t: its byte offset. */
int64_t kc_new_buffer(kemit_t *e, const ug_type_t *t);
ug_kir_value_id_t kc_opnd_value(kemit_t *e, const ug_kir_op_data_t *o, uint32_t i);
/* Plans op id to be emitted on its own (kir.c). */
void kc_plan_single(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t id, bool reads, bool writes, bool barrier);
LLVMValueRef kc_elem_ptr(kemit_t *e, LLVMValueRef buf, ug_dtype_t dt, LLVMValueRef idx);
LLVMValueRef kc_index_operand(kemit_t *e, const ug_kir_operand_t *a);
void kc_access_init(kemit_t *e, const ug_kir_op_data_t *o, const ug_type_t *tt, kaccess_t *a);
/* 0 <= x < d, as one unsigned compare. */
LLVMValueRef kc_in_range(kemit_t *e, LLVMValueRef x, LLVMValueRef d);
/* Element offset and (when ok is given) the in-bounds condition of the current element. */
LLVMValueRef kc_access_offset(kemit_t *e, const kaccess_t *a, bool in_loop, LLVMValueRef *ok);
/* Copies tile value v (uniform or in a buffer) into buffer dst. */
void kc_copy_tile(kemit_t *e, LLVMValueRef dst, ug_kir_value_id_t v);

/* kir_mma.c: where each mma's shared operands come from (before planning;
 * marks the ops it makes redundant in e->skip), the mma's planning and its
 * emission through the register-blocked GEMM. */
void kc_find_mma_sources(kemit_t *e);
ug_status_t kc_plan_mma(kemit_t *e, ug_kir_region_id_t r, ug_kir_op_id_t id);
ug_status_t kc_emit_mma(kemit_t *e, ug_kir_op_id_t id);

#endif
