/* Element types, dimensions (static or symbolic) and tensor types. */
#ifndef UG_IR_TYPES_H
#define UG_IR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/arena.h"
#include "ir/status.h"

typedef enum {
#define UG_DTYPE(id, name, bits, be, bb, kind) UG_DTYPE_##id,
#include "ir/dtypes.def"
#undef UG_DTYPE
  UG_DTYPE_COUNT
} ug_dtype_t;

typedef enum { UG_KIND_F, UG_KIND_I, UG_KIND_U, UG_KIND_B, UG_KIND_Q } ug_dtype_kind_t;

const char *ug_dtype_name(ug_dtype_t t);
/* Looks a dtype up by its text name; false when there is none. */
bool ug_dtype_from_name(const char *name, size_t len, ug_dtype_t *out);
ug_dtype_kind_t ug_dtype_kind(ug_dtype_t t);
/* Bits per element of a plain type; 0 for block-quantized types. */
int ug_dtype_bits(ug_dtype_t t);
int ug_dtype_block_elems(ug_dtype_t t);
int ug_dtype_block_bytes(ug_dtype_t t);
bool ug_dtype_is_float(ug_dtype_t t);
/* The dtype a value of t is computed in inside a fused kernel: f32 for f16
 * and bf16 (rounded once, where it is stored), t itself otherwise. */
ug_dtype_t ug_dtype_compute(ug_dtype_t t);
bool ug_dtype_is_int(ug_dtype_t t); /* signed or unsigned integer, not bool */
bool ug_dtype_is_quant(ug_dtype_t t);
/* Bytes for n elements; false on overflow or when n is not a whole number of blocks. */
bool ug_dtype_bytes(ug_dtype_t t, int64_t n, int64_t *out);

/* A dimension: a value >= 0 is a static size; a negative value names a
 * symbolic expression in the module's dim table (see ug_dims_t). */
typedef int64_t ug_dim_t;
#define UG_DIM_IS_STATIC(d) ((d) >= 0)

/* Symbolic dimension expressions, hash-consed so that equal expressions have
 * equal ids.  Sums and products are kept in a normal form (like terms
 * combined, factors sorted, constants folded) so that `seq*batch*768 / (768*seq)`
 * folds to `batch` and `(n+2)-2` to `n`. */
/* Operands of every kind are earlier entries or static values >= 0, so the
 * table is topological.  The numbering is part of the model ABI. */
typedef enum { UG_DX_SYM, UG_DX_ADD, UG_DX_SUB, UG_DX_MUL, UG_DX_DIV, UG_DX_MOD, UG_DX_MAX, UG_DX_MIN } ug_dx_kind_t;

typedef struct {
  ug_dx_kind_t kind;
  ug_dim_t a, b;    /* operands (all kinds but SYM) */
  const char *name; /* SYM */
} ug_dimexpr_t;

typedef struct ug_dims ug_dims_t;

ug_dims_t *ug_dims_create(ug_arena_t *a);
/* The symbol with this name, created on first use. */
ug_dim_t ug_dim_sym(ug_dims_t *t, const char *name);
ug_dim_t ug_dim_add(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
ug_dim_t ug_dim_sub(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
ug_dim_t ug_dim_mul(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
/* Floor division; a division by a static 0 returns 0 (callers check first). */
ug_dim_t ug_dim_div(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
ug_dim_t ug_dim_mod(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
ug_dim_t ug_dim_max(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
ug_dim_t ug_dim_min(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
/* Ceiling division, used by pooling and slicing. */
ug_dim_t ug_dim_ceildiv(ug_dims_t *t, ug_dim_t a, ug_dim_t b);
const ug_dimexpr_t *ug_dim_expr(const ug_dims_t *t, ug_dim_t d);
size_t ug_dims_count(const ug_dims_t *t);
/* Expression number i (0-based) as a dim value. */
static inline ug_dim_t ug_dim_from_index(size_t i) { return -(ug_dim_t)i - 1; }
static inline size_t ug_dim_index(ug_dim_t d) { return (size_t)(-(d + 1)); }
/* Evaluates d given values for the symbols (indexed like the dim table, entries
 * of non-symbols ignored); false on a division by zero. */
bool ug_dim_eval(const ug_dims_t *t, ug_dim_t d, const int64_t *sym_values, int64_t *out);
/* Writes the expression as text ("batch*3", "(seq+1)/2"). Returns chars written
 * like snprintf. */
int ug_dim_format(const ug_dims_t *t, ug_dim_t d, char *buf, size_t size);
/* True when a and b are provably different (both static and unequal, ...). */
bool ug_dim_provably_ne(const ug_dims_t *t, ug_dim_t a, ug_dim_t b);

#define UG_MAX_RANK 8

typedef struct {
  ug_dtype_t dtype;
  int rank;
  ug_dim_t dims[UG_MAX_RANK];
} ug_type_t;

ug_type_t ug_type_make(ug_dtype_t dt, int rank, const ug_dim_t *dims);
ug_type_t ug_type_scalar(ug_dtype_t dt);
bool ug_type_equal(const ug_type_t *a, const ug_type_t *b);
bool ug_type_is_static(const ug_type_t *t);
/* Element count as a dim (symbolic when the type is). */
ug_dim_t ug_type_numel(ug_dims_t *dt, const ug_type_t *t);
/* Static element count; false when symbolic or on overflow. */
bool ug_type_static_numel(const ug_type_t *t, int64_t *out);
/* "f32[batch,3,224,224]" */
int ug_type_format(const ug_dims_t *dt, const ug_type_t *t, char *buf, size_t size);

#endif
