/* Shared infrastructure of the LLVM emitter: the per-module context, kernel
 * functions, loops, runtime dims, dtype loads/stores/conversions and scalar
 * math helpers.  Op families (ew.c, reduce.c, contract.c, movement.c) build
 * their kernels from these pieces.
 *
 * Values inside a kernel are "compute values": f32 for f32/f16/bf16 (f16 and
 * bf16 are widened on load and rounded to nearest-even on store), f64 for
 * f64, iN for integers (signedness comes from the dtype), i1 for bool.
 * Indices and sizes are i64. */
#ifndef UG_CODEGEN_LLVM_EMIT_H
#define UG_CODEGEN_LLVM_EMIT_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stdint.h>

#include "codegen/target.h"
#include "ir/ir.h"

typedef struct ug_cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;       /* the kernel body */
  LLVMBuilderRef eb;      /* the entry block: allocas, dim loads */
  const ug_target_t *target;
  ug_module_t *m;
  int opt_level;
  /* the kernel being built */
  LLVMValueRef fn;
  LLVMValueRef dims_arg;
  LLVMValueRef *dim_cache; /* per dim-table entry, NULL until loaded */
  size_t dim_cache_len;
  LLVMTypeRef t_void, t_i1, t_i8, t_i16, t_i32, t_i64, t_f16, t_f32, t_f64, t_ptr;
  /* kernels built so far, by signature, so identical nodes share one (lower.c) */
  struct ug_cg_kcache *kcache;
  /* args of the next ug_cg_kernel_begin that may point to the same memory
   * (bit i: arg i, i < 64): they get no noalias; reset by the call.  An
   * in-place scatter_nd's data and result. */
  uint64_t may_alias;
  bool prefer_kir; /* --prefer-kir (ugcc.h): no ug_kir_cpu_skip */
} ug_cg_t;

/* A tensor operand of a kernel: base pointer, dtype and sizes as i64 values. */
typedef struct {
  LLVMValueRef ptr;  /* NULL: an absent optional operand */
  ug_dtype_t dtype;
  int rank;
  ug_dim_t sdims[UG_MAX_RANK];       /* the IR's dims */
  LLVMValueRef dims[UG_MAX_RANK];    /* i64 sizes */
  LLVMValueRef strides[UG_MAX_RANK]; /* i64 row-major strides in elements */
  LLVMValueRef numel;                /* i64 element count */
} ug_cg_tensor_t;

/* Everything one node's kernel sees: operands (absent ones have ptr NULL),
 * results and scratch buffers, in the order of the step's args. */
typedef struct {
  ug_graph_t *g;
  const ug_node_t *n;
  uint32_t num_in, num_out, num_scratch;
  ug_cg_tensor_t *in, *out;
  LLVMValueRef scratch[4];
} ug_cg_kernel_t;

/* ---- context ---- */
void ug_cg_init(ug_cg_t *cg, LLVMContextRef ctx, LLVMModuleRef mod, ug_module_t *m,
                const ug_target_t *t, int opt_level);
void ug_cg_dispose(ug_cg_t *cg);

/* Starts `void name(void *const *args, const int64_t *dims)` with internal
 * linkage.  The buffer pointers are passed on as noalias parameters of an
 * inner body function (inlined by LLVM), so *out_args get noalias semantics
 * (except those in cg->may_alias).  out_args must have room for num_args
 * values. */
LLVMValueRef ug_cg_kernel_begin(ug_cg_t *cg, const char *name, unsigned num_args,
                                LLVMValueRef *out_args);
void ug_cg_kernel_end(ug_cg_t *cg);

/* Fills a tensor for a value of the current graph with base pointer ptr. */
void ug_cg_tensor_init(ug_cg_t *cg, ug_cg_tensor_t *t, const ug_type_t *type, LLVMValueRef ptr);

/* ---- constants and dims ---- */
LLVMValueRef ug_cg_i64(ug_cg_t *cg, int64_t v);
LLVMValueRef ug_cg_i32(ug_cg_t *cg, int32_t v);
/* The runtime value of a dim (a constant when static), as i64. */
LLVMValueRef ug_cg_dim(ug_cg_t *cg, ug_dim_t d);
/* Product of dims[lo..hi) of t (1 when empty). */
LLVMValueRef ug_cg_dims_product(ug_cg_t *cg, const ug_cg_tensor_t *t, int lo, int hi);

/* ---- dtypes ---- */
LLVMTypeRef ug_cg_ctype(ug_cg_t *cg, ug_dtype_t dt);  /* compute type */
LLVMTypeRef ug_cg_stype(ug_cg_t *cg, ug_dtype_t dt);  /* storage type */
bool ug_cg_dtype_supported(ug_dtype_t dt);
LLVMValueRef ug_cg_elem_ptr(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx);
LLVMValueRef ug_cg_load(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx);
void ug_cg_store(ug_cg_t *cg, LLVMValueRef base, ug_dtype_t dt, LLVMValueRef idx, LLVMValueRef v);
/* A compute value rounded to dtype dt's precision and widened back (f16 and
 * bf16: to nearest even, as a store and a load would; others unchanged). */
LLVMValueRef ug_cg_round_to(ug_cg_t *cg, LLVMValueRef v, ug_dtype_t dt);
/* Converts a compute value between dtypes with ONNX Cast semantics
 * (float->int truncates toward zero, saturating; x->bool is x != 0). */
LLVMValueRef ug_cg_convert(ug_cg_t *cg, LLVMValueRef v, ug_dtype_t from, ug_dtype_t to);
/* A constant of dtype dt in its compute type. */
LLVMValueRef ug_cg_const(ug_cg_t *cg, ug_dtype_t dt, double v);
LLVMValueRef ug_cg_const_int(ug_cg_t *cg, ug_dtype_t dt, int64_t v);
/* The identity of max (lowest value: -inf or INT_MIN) and of min. */
LLVMValueRef ug_cg_lowest(ug_cg_t *cg, ug_dtype_t dt);
LLVMValueRef ug_cg_highest(ug_cg_t *cg, ug_dtype_t dt);

/* ---- scalar arithmetic on compute values of dtype dt ---- */
typedef enum { UG_CMP_EQ, UG_CMP_NE, UG_CMP_LT, UG_CMP_LE, UG_CMP_GT, UG_CMP_GE } ug_cmp_t;
LLVMValueRef ug_cg_add(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_sub(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_mul(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b);
/* Integer division truncates; division by zero yields 0 instead of trapping. */
LLVMValueRef ug_cg_div(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b);
/* Ordered comparison (false when a float operand is NaN, except NE). */
LLVMValueRef ug_cg_cmp(ug_cg_t *cg, ug_dtype_t dt, ug_cmp_t c, LLVMValueRef a, LLVMValueRef b);
/* max/min propagating NaN (ONNX Max/Min, max_pool, reduce_max). */
LLVMValueRef ug_cg_max(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_min(ug_cg_t *cg, ug_dtype_t dt, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_select(ug_cg_t *cg, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b);
/* A libm function of one or two arguments ("exp" -> expf / exp by type). */
LLVMValueRef ug_cg_libm1(ug_cg_t *cg, const char *name, LLVMValueRef x);
LLVMValueRef ug_cg_libm2(ug_cg_t *cg, const char *name, LLVMValueRef x, LLVMValueRef y);
/* An overloaded LLVM intrinsic ("llvm.fabs") on the type of the first arg. */
LLVMValueRef ug_cg_intrinsic(ug_cg_t *cg, const char *name, LLVMValueRef *args, unsigned n);
/* i64 helpers */
LLVMValueRef ug_cg_iadd(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_imul(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_imin(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ug_cg_imax(ug_cg_t *cg, LLVMValueRef a, LLVMValueRef b);

/* ---- control flow ---- */
typedef struct {
  LLVMValueRef iv, end, step;
  LLVMBasicBlockRef body, exit;
} ug_cg_loop_t;
/* `for (iv = lo; iv < hi; iv += step)`; step NULL means 1.  Returns iv. */
LLVMValueRef ug_cg_loop_begin(ug_cg_t *cg, ug_cg_loop_t *l, LLVMValueRef lo, LLVMValueRef hi,
                              LLVMValueRef step);
void ug_cg_loop_end(ug_cg_t *cg, ug_cg_loop_t *l);

/* A loop nest over dims[0..rank) (outermost first); idx[] are the ivs. */
typedef struct {
  int rank;
  ug_cg_loop_t loops[UG_MAX_RANK];
  LLVMValueRef idx[UG_MAX_RANK];
} ug_cg_nest_t;
void ug_cg_nest_begin(ug_cg_t *cg, ug_cg_nest_t *n, int rank, LLVMValueRef const *dims);
void ug_cg_nest_end(ug_cg_t *cg, ug_cg_nest_t *n);
/* sum(idx[i] * strides[i]) for i < rank; 0 when rank is 0. */
LLVMValueRef ug_cg_offset(ug_cg_t *cg, int rank, LLVMValueRef const *idx, LLVMValueRef const *strides);

typedef struct {
  LLVMBasicBlockRef then_bb, else_bb, end_bb;
} ug_cg_if_t;
void ug_cg_if_begin(ug_cg_t *cg, ug_cg_if_t *f, LLVMValueRef cond, bool with_else);
void ug_cg_if_else(ug_cg_t *cg, ug_cg_if_t *f);
void ug_cg_if_end(ug_cg_t *cg, ug_cg_if_t *f);

/* A stack slot in the entry block (promoted to a register by LLVM). */
LLVMValueRef ug_cg_alloca(ug_cg_t *cg, LLVMTypeRef ty, const char *name);
LLVMValueRef ug_cg_lload(ug_cg_t *cg, LLVMTypeRef ty, LLVMValueRef slot);

/* Strides (in elements) to read t while iterating over a result of rank r,
 * NumPy-broadcast (t right-aligned): 0 along axes t lacks or where its size
 * is 1 (tested at run time for symbolic dims).  Emits code at the current
 * position: call it outside the loops. */
void ug_cg_broadcast_strides(ug_cg_t *cg, const ug_cg_tensor_t *t, int r, LLVMValueRef *out);

#endif
