/* Element types and tensor types. */
#include "ir/types.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int bits, block_elems, block_bytes;
  ug_dtype_kind_t kind;
} ug_dtype_info_t;

static const ug_dtype_info_t ug_dtypes[] = {
#define UG_DTYPE(id, name, bits, be, bb, kind) {name, bits, be, bb, UG_KIND_##kind},
#include "ir/dtypes.def"
#undef UG_DTYPE
};

static const ug_dtype_info_t *info(ug_dtype_t t) {
  UG_ASSERT((unsigned)t < UG_DTYPE_COUNT);
  return &ug_dtypes[t];
}

const char *ug_dtype_name(ug_dtype_t t) { return (unsigned)t < UG_DTYPE_COUNT ? ug_dtypes[t].name : "?"; }

bool ug_dtype_from_name(const char *name, size_t len, ug_dtype_t *out) {
  for (int i = 0; i < UG_DTYPE_COUNT; i++) {
    if (strlen(ug_dtypes[i].name) == len && memcmp(ug_dtypes[i].name, name, len) == 0) {
      *out = (ug_dtype_t)i;
      return true;
    }
  }
  return false;
}

ug_dtype_kind_t ug_dtype_kind(ug_dtype_t t) { return info(t)->kind; }
int ug_dtype_bits(ug_dtype_t t) { return info(t)->bits; }
int ug_dtype_block_elems(ug_dtype_t t) { return info(t)->block_elems; }
int ug_dtype_block_bytes(ug_dtype_t t) { return info(t)->block_bytes; }
bool ug_dtype_is_float(ug_dtype_t t) { return info(t)->kind == UG_KIND_F; }

ug_dtype_t ug_dtype_compute(ug_dtype_t t) { return t == UG_DTYPE_F16 || t == UG_DTYPE_BF16 ? UG_DTYPE_F32 : t; }
bool ug_dtype_is_int(ug_dtype_t t) { return info(t)->kind == UG_KIND_I || info(t)->kind == UG_KIND_U; }
bool ug_dtype_is_quant(ug_dtype_t t) { return info(t)->kind == UG_KIND_Q; }

bool ug_dtype_bytes(ug_dtype_t t, int64_t n, int64_t *out) {
  const ug_dtype_info_t *d = info(t);
  if (n < 0) return false;
  if (d->kind == UG_KIND_Q) {
    if (n % d->block_elems) return false;
    return !__builtin_mul_overflow(n / d->block_elems, (int64_t)d->block_bytes, out);
  }
  return !__builtin_mul_overflow(n, (int64_t)(d->bits / 8), out);
}

ug_type_t ug_type_make(ug_dtype_t dt, int rank, const ug_dim_t *dims) {
  ug_type_t t;
  memset(&t, 0, sizeof(t));
  t.dtype = dt;
  UG_ASSERT(rank >= 0 && rank <= UG_MAX_RANK);
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}

ug_type_t ug_type_scalar(ug_dtype_t dt) { return ug_type_make(dt, 0, NULL); }

bool ug_type_equal(const ug_type_t *a, const ug_type_t *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

bool ug_type_is_static(const ug_type_t *t) {
  for (int i = 0; i < t->rank; i++)
    if (!UG_DIM_IS_STATIC(t->dims[i])) return false;
  return true;
}

ug_dim_t ug_type_numel(ug_dims_t *dt, const ug_type_t *t) {
  ug_dim_t n = 1;
  for (int i = 0; i < t->rank; i++) n = ug_dim_mul(dt, n, t->dims[i]);
  return n;
}

bool ug_type_static_numel(const ug_type_t *t, int64_t *out) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (!UG_DIM_IS_STATIC(t->dims[i])) return false;
    if (__builtin_mul_overflow(n, t->dims[i], &n)) return false;
  }
  *out = n;
  return true;
}

int ug_type_format(const ug_dims_t *dt, const ug_type_t *t, char *buf, size_t size) {
  size_t n = 0;
#define UG_PUT(...)                                                     \
  do {                                                                  \
    int k_ = snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, __VA_ARGS__); \
    if (k_ > 0) n += (size_t)k_;                                        \
  } while (0)
  UG_PUT("%s[", ug_dtype_name(t->dtype));
  for (int i = 0; i < t->rank; i++) {
    if (i) UG_PUT(",");
    size_t room = n < size ? size - n : 0;
    int k = ug_dim_format(dt, t->dims[i], buf + (n < size ? n : size), room);
    if (k > 0) n += (size_t)k;
  }
  UG_PUT("]");
#undef UG_PUT
  return (int)n;
}
