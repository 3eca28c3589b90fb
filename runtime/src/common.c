/* Status values, allocation helpers, dtype tables and the version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *ugrt_version(void) { return "0.1.0"; }
uint32_t ugrt_abi_version(void) { return UGRT_ABI_VERSION; }

/* ---- status ---- */

static const struct ugrt_status ugrt_oom_status = {UGRT_OUT_OF_MEMORY, {NULL, NULL, NULL},
                                                   "out of memory"};

ugrt_status_t ugrt__status_oom(void) { return (ugrt_status_t)&ugrt_oom_status; }

ugrt_status_t ugrt__status(const ugrt_allocator_t *a, ugrt_status_code_t code, const char *fmt,
                           ...) {
  ugrt_allocator_t al = ugrt__allocator_or_system(a);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  size_t size = sizeof(struct ugrt_status) + (size_t)n + 1;
  struct ugrt_status *s = ugrt__alloc(&al, size, _Alignof(struct ugrt_status));
  if (!s) return ugrt__status_oom();
  char *msg = (char *)(s + 1);
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  va_end(ap);
  s->code = code;
  s->alloc = al;
  s->message = msg;
  return s;
}

ugrt_status_code_t ugrt_status_code(ugrt_status_t status) {
  return status ? status->code : UGRT_OK;
}

const char *ugrt_status_message(ugrt_status_t status) {
  return status ? status->message : "OK";
}

const char *ugrt_status_code_name(ugrt_status_code_t code) {
  switch (code) {
    case UGRT_OK: return "OK";
    case UGRT_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case UGRT_NOT_FOUND: return "NOT_FOUND";
    case UGRT_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case UGRT_INVALID_MODEL: return "INVALID_MODEL";
    case UGRT_UNAVAILABLE: return "UNAVAILABLE";
    case UGRT_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case UGRT_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case UGRT_IO: return "IO";
    case UGRT_INTERNAL: return "INTERNAL";
  }
  return "UNKNOWN";
}

void ugrt_status_free(ugrt_status_t status) {
  if (!status || !status->alloc.free) return;
  ugrt_allocator_t al = status->alloc;
  al.free(al.ctx, status);
}

/* ---- allocator ---- */

static void *system_alloc(void *ctx, size_t size, size_t align) {
  (void)ctx;
  if (align < sizeof(void *)) align = sizeof(void *);
  void *p = NULL;
  if (posix_memalign(&p, align, size ? size : 1) != 0) return NULL;
  return p;
}

static void system_free(void *ctx, void *ptr) {
  (void)ctx;
  free(ptr);
}

ugrt_allocator_t ugrt_allocator_system(void) {
  ugrt_allocator_t a = {system_alloc, system_free, NULL};
  return a;
}

ugrt_allocator_t ugrt__allocator_or_system(const ugrt_allocator_t *a) {
  if (a && a->alloc && a->free) return *a;
  return ugrt_allocator_system();
}

void *ugrt__alloc(const ugrt_allocator_t *a, size_t size, size_t align) {
  if (align == 0) align = 16;
  return a->alloc(a->ctx, size ? size : 1, align);
}

void *ugrt__calloc(const ugrt_allocator_t *a, size_t n, size_t elem) {
  if (elem && n > SIZE_MAX / elem) return NULL;
  void *p = ugrt__alloc(a, n * elem, 16);
  if (p) memset(p, 0, n * elem);
  return p;
}

void ugrt__free(const ugrt_allocator_t *a, void *p) {
  if (p) a->free(a->ctx, p);
}

/* ---- pool ---- */

struct ugrt_pool_block {
  ugrt_pool_block_t *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

void ugrt__pool_init(ugrt_pool_t *p, const ugrt_allocator_t *a) {
  p->alloc = *a;
  p->head = NULL;
}

void *ugrt__pool_alloc(ugrt_pool_t *p, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  ugrt_pool_block_t *b = p->head;
  if (!b || b->cap - b->used < size) {
    size_t cap = size > 4096 ? size : 4096;
    if (cap > SIZE_MAX - sizeof(ugrt_pool_block_t)) return NULL;
    b = ugrt__alloc(&p->alloc, sizeof(ugrt_pool_block_t) + cap, 16);
    if (!b) return NULL;
    b->next = p->head;
    b->used = 0;
    b->cap = cap;
    p->head = b;
  }
  void *r = b->data + b->used;
  b->used += size;
  memset(r, 0, size);
  return r;
}

char *ugrt__pool_strdup(ugrt_pool_t *p, const char *s) {
  size_t n = strlen(s);
  char *r = ugrt__pool_alloc(p, n + 1);
  if (r) memcpy(r, s, n + 1);
  return r;
}

void ugrt__pool_release(ugrt_pool_t *p) {
  while (p->head) {
    ugrt_pool_block_t *n = p->head->next;
    ugrt__free(&p->alloc, p->head);
    p->head = n;
  }
}

/* ---- dtypes ---- */

static const struct {
  const char *name;
  size_t size;
} dtype_table[UGRT_DTYPE_COUNT] = {
    [UGRT_F64] = {"f64", 8},       [UGRT_F32] = {"f32", 4},       [UGRT_F16] = {"f16", 2},
    [UGRT_BF16] = {"bf16", 2},     [UGRT_F8E4M3] = {"f8e4m3", 1}, [UGRT_F8E5M2] = {"f8e5m2", 1},
    [UGRT_I64] = {"i64", 8},       [UGRT_I32] = {"i32", 4},       [UGRT_I16] = {"i16", 2},
    [UGRT_I8] = {"i8", 1},         [UGRT_U64] = {"u64", 8},       [UGRT_U32] = {"u32", 4},
    [UGRT_U16] = {"u16", 2},       [UGRT_U8] = {"u8", 1},         [UGRT_BOOL] = {"bool", 1},
    [UGRT_Q4_0] = {"q4_0", 0},     [UGRT_Q4_1] = {"q4_1", 0},     [UGRT_Q5_0] = {"q5_0", 0},
    [UGRT_Q5_1] = {"q5_1", 0},     [UGRT_Q8_0] = {"q8_0", 0},     [UGRT_Q4_K] = {"q4_k", 0},
    [UGRT_Q5_K] = {"q5_k", 0},     [UGRT_Q6_K] = {"q6_k", 0},
};

const char *ugrt_dtype_name(ugrt_dtype_t dtype) {
  if ((unsigned)dtype >= UGRT_DTYPE_COUNT) return "?";
  return dtype_table[dtype].name;
}

size_t ugrt_dtype_size(ugrt_dtype_t dtype) {
  if ((unsigned)dtype >= UGRT_DTYPE_COUNT) return 0;
  return dtype_table[dtype].size;
}

bool ugrt_dtype_from_name(const char *name, ugrt_dtype_t *out_dtype) {
  if (!name) return false;
  for (int i = 0; i < UGRT_DTYPE_COUNT; i++) {
    if (strcmp(dtype_table[i].name, name) == 0) {
      if (out_dtype) *out_dtype = (ugrt_dtype_t)i;
      return true;
    }
  }
  return false;
}

uint64_t ugrt__fnv1a64(const void *data, uint64_t n) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t ugrt__state_bytes(const ugrt_abi_tensor_t *t) {
  uint64_t n = ugrt_dtype_size((ugrt_dtype_t)t->dtype);
  for (uint32_t d = 0; d < t->rank; d++) {
    if (t->dims[d] < 0) return UINT64_MAX;
    if (t->dims[d] && n > UINT64_MAX / 4 / (uint64_t)t->dims[d]) return UINT64_MAX;
    n *= (uint64_t)t->dims[d];
  }
  return n;
}
