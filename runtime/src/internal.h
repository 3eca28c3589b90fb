/* Internal declarations shared by the runtime's source files.  Nothing here
 * is exported: only functions marked UGRT_API in ugrt.h are. */
#ifndef UGRT_INTERNAL_H
#define UGRT_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>

#include "ugrt/ugrt.h"

#if defined(__GNUC__) || defined(__clang__)
#define UGRT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define UGRT_PRINTF(f, a)
#endif

/* ---- status ---- */

struct ugrt_status {
  ugrt_status_code_t code;
  ugrt_allocator_t alloc; /* alloc.free == NULL: a static status, never freed */
  const char *message;
};

/* A status with a formatted message, allocated from `a` (the system
 * allocator when a is NULL).  Never returns NULL: when memory runs out it
 * returns a static out-of-memory status. */
ugrt_status_t ugrt__status(const ugrt_allocator_t *a, ugrt_status_code_t code, const char *fmt,
                           ...) UGRT_PRINTF(3, 4);
ugrt_status_t ugrt__status_oom(void);

#define UGRT_RETURN_IF_ERROR(expr)   \
  do {                               \
    ugrt_status_t ugrt_s_ = (expr);  \
    if (ugrt_s_) return ugrt_s_;     \
  } while (0)

/* ---- memory ---- */

/* The allocator to use for options that may leave alloc NULL. */
ugrt_allocator_t ugrt__allocator_or_system(const ugrt_allocator_t *a);
/* NULL on overflow or exhaustion; zero-size requests return a valid pointer. */
void *ugrt__alloc(const ugrt_allocator_t *a, size_t size, size_t align);
/* Zeroed array of n elements; NULL on overflow or exhaustion. */
void *ugrt__calloc(const ugrt_allocator_t *a, size_t n, size_t elem);
void ugrt__free(const ugrt_allocator_t *a, void *p);

/* A bump pool for data that lives as long as its owner (introspection
 * tables), released at once. */
typedef struct ugrt_pool_block ugrt_pool_block_t;
typedef struct {
  ugrt_allocator_t alloc;
  ugrt_pool_block_t *head;
} ugrt_pool_t;

void ugrt__pool_init(ugrt_pool_t *p, const ugrt_allocator_t *a);
void *ugrt__pool_alloc(ugrt_pool_t *p, size_t size); /* zeroed, 16-byte aligned */
char *ugrt__pool_strdup(ugrt_pool_t *p, const char *s);
void ugrt__pool_release(ugrt_pool_t *p);

/* ---- model image ---- */

/* The loaded segments of model.so, used to check that every pointer of the
 * header points into the module before it is read. */
#define UGRT_MAX_SEGMENTS 16
typedef struct {
  uint32_t count; /* 0: unknown, pointers are only checked for NULL */
  struct {
    uintptr_t start, end;
    bool exec;
  } seg[UGRT_MAX_SEGMENTS];
} ugrt_image_t;

/* Finds the segments of the loaded object containing `addr`. */
void ugrt__image_find(const void *addr, ugrt_image_t *out);
/* True when [p, p+n) lies inside one segment (always true if count == 0). */
bool ugrt__image_contains(const ugrt_image_t *img, const void *p, uint64_t n);
bool ugrt__image_contains_code(const ugrt_image_t *img, const void *p);

/* Checks every count, index and pointer of h before anything else reads it.
 * target_kind selects which targets need CPU kernel pointers. */
ugrt_status_t ugrt__validate_header(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                                    const ugrt_image_t *img);

/* ---- dims ---- */

/* Index of dim-expression reference d (d < 0). */
static inline uint64_t ugrt__dim_index(ugrt_dim_t d) { return (uint64_t)(-(d + 1)); }
/* Evaluates the table in order; vals[i] for bound SYM entries must be
 * preset.  An expression over an unbound symbol is 0, an error only when
 * need marks it (need NULL: every entry); division by zero and overflow are
 * errors.  Errors name the first failing expression. */
ugrt_status_t ugrt__eval_dims(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                              const bool *bound, const bool *need, int64_t *vals);
/* Marks in need[num_dim_exprs] the expressions one entry's plan uses (its
 * tensors, buffer sizes, grids) and everything they are computed from: a
 * model with several entries binds only the symbols of the entry that runs. */
void ugrt__plan_dims(const ugrt_model_header_t *h, const ugrt_abi_entry_t *en, const ugrt_abi_plan_t *p,
                     bool *need);
static inline int64_t ugrt__dim_value(ugrt_dim_t d, const int64_t *vals) {
  return d >= 0 ? d : vals[ugrt__dim_index(d)];
}

/* Bytes of a state tensor (static dims, plain dtype); UINT64_MAX on
 * overflow, 0 for a block-quantized dtype. */
uint64_t ugrt__state_bytes(const ugrt_abi_tensor_t *t);

/* FNV-1a 64 over n bytes. */
uint64_t ugrt__fnv1a64(const void *data, uint64_t n);

#endif
