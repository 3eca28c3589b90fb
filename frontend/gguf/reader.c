/* The GGUF reader (see gguf.h and docs/gguf.md).
 *
 * Parsing is one forward pass over the image with a cursor that checks every
 * read against the end of the file.  Counts from the file are never used to
 * size an allocation: tables grow as entries are parsed, so memory stays
 * proportional to what the file really contains. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* MAP_PRIVATE, O_CLOEXEC, strdup */
#endif
#include "frontend/gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader uses tensor data in place and needs a little-endian host"
#endif

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define MAX_KEY_LEN 65535u     /* the spec's limit on key length */
#define MAX_ELEMS (INT64_C(1) << 40) /* per tensor, as for every untrusted input (docs/security.md) */

/* ---- ggml types ---- */

typedef struct {
  const char *name;
  uint32_t block_elems, block_bytes;
  int dtype; /* ug_dtype_t, or -1 when ugcc has none */
} ggml_type_info_t;

/* Indexed by ggml type id; entries with a NULL name are ids that ggml retired
 * or never assigned.  Sizes follow ggml-common.h. */
static const ggml_type_info_t GGML_TYPES[] = {
    [0] = {"f32", 1, 4, UG_DTYPE_F32},
    [1] = {"f16", 1, 2, UG_DTYPE_F16},
    [2] = {"q4_0", 32, 18, UG_DTYPE_Q4_0},
    [3] = {"q4_1", 32, 20, UG_DTYPE_Q4_1},
    [6] = {"q5_0", 32, 22, UG_DTYPE_Q5_0},
    [7] = {"q5_1", 32, 24, UG_DTYPE_Q5_1},
    [8] = {"q8_0", 32, 34, UG_DTYPE_Q8_0},
    [9] = {"q8_1", 32, 36, -1},
    [10] = {"q2_K", 256, 84, -1},
    [11] = {"q3_K", 256, 110, -1},
    [12] = {"q4_K", 256, 144, UG_DTYPE_Q4_K},
    [13] = {"q5_K", 256, 176, UG_DTYPE_Q5_K},
    [14] = {"q6_K", 256, 210, UG_DTYPE_Q6_K},
    [15] = {"q8_K", 256, 292, -1},
    [16] = {"iq2_xxs", 256, 66, -1},
    [17] = {"iq2_xs", 256, 74, -1},
    [18] = {"iq3_xxs", 256, 98, -1},
    [19] = {"iq1_s", 256, 50, -1},
    [20] = {"iq4_nl", 32, 18, -1},
    [21] = {"iq3_s", 256, 110, -1},
    [22] = {"iq2_s", 256, 82, -1},
    [23] = {"iq4_xs", 256, 136, -1},
    [24] = {"i8", 1, 1, UG_DTYPE_I8},
    [25] = {"i16", 1, 2, UG_DTYPE_I16},
    [26] = {"i32", 1, 4, UG_DTYPE_I32},
    [27] = {"i64", 1, 8, UG_DTYPE_I64},
    [28] = {"f64", 1, 8, UG_DTYPE_F64},
    [29] = {"iq1_m", 256, 56, -1},
    [30] = {"bf16", 1, 2, UG_DTYPE_BF16},
    [34] = {"tq1_0", 256, 54, -1},
    [35] = {"tq2_0", 256, 66, -1},
    [39] = {"mxfp4", 32, 17, -1},
    [40] = {"nvfp4", 64, 36, -1},
    [41] = {"q1_0", 128, 18, -1},
};
#define N_GGML_TYPES (sizeof(GGML_TYPES) / sizeof(GGML_TYPES[0]))

static const ggml_type_info_t *ggml_info(uint32_t id) {
  if (id >= N_GGML_TYPES || !GGML_TYPES[id].name) return NULL;
  return &GGML_TYPES[id];
}

const char *ug_gguf_ggml_type_name(uint32_t id) {
  const ggml_type_info_t *t = ggml_info(id);
  return t ? t->name : NULL;
}

bool ug_gguf_ggml_type_size(uint32_t id, uint32_t *out_block_elems, uint32_t *out_block_bytes) {
  const ggml_type_info_t *t = ggml_info(id);
  if (!t) return false;
  if (out_block_elems) *out_block_elems = t->block_elems;
  if (out_block_bytes) *out_block_bytes = t->block_bytes;
  return true;
}

bool ug_gguf_ggml_to_dtype(uint32_t id, ug_dtype_t *out) {
  const ggml_type_info_t *t = ggml_info(id);
  if (!t || t->dtype < 0) return false;
  *out = (ug_dtype_t)t->dtype;
  return true;
}

bool ug_gguf_dtype_to_ggml(ug_dtype_t dt, uint32_t *out) {
  for (uint32_t i = 0; i < N_GGML_TYPES; i++) {
    if (GGML_TYPES[i].name && GGML_TYPES[i].dtype == (int)dt) {
      *out = i;
      return true;
    }
  }
  return false;
}

/* ---- metadata value types ---- */

static const char *const VTYPE_NAMES[UG_GGUF_VTYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
/* Bytes of a fixed-size value; 0 for string and array. */
static const uint8_t VTYPE_SIZES[UG_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *ug_gguf_vtype_name(ug_gguf_vtype_t t) {
  return (unsigned)t < UG_GGUF_VTYPE_COUNT ? VTYPE_NAMES[t] : "?";
}

/* ---- the file object ---- */

typedef struct {
  ug_gguf_str_t key;
  ug_gguf_vtype_t type, elem; /* elem: arrays */
  uint64_t len;               /* strings: bytes; arrays: elements */
  uint64_t pos;               /* file offset of the value (string bytes, first array element) */
  uint64_t str_first;         /* string arrays: first entry in str_offs */
} kv_t;

/* One entry of a sorted name index. */
typedef struct {
  const char *s;
  uint64_t len, idx;
} name_ref_t;

struct ug_gguf {
  const uint8_t *base;
  uint64_t size;
  void *map; /* non-NULL when ug_gguf_open mapped the file */
  size_t map_size;
  char *origin;
  uint32_t version, alignment;
  uint64_t data_offset;
  uint64_t kv_end; /* first byte after the key/value section */
  kv_t *kvs;
  uint64_t n_kv, cap_kv;
  name_ref_t *kv_index; /* sorted by key */
  uint64_t *str_offs;
  uint64_t n_str, cap_str;
  ug_gguf_tensor_t *tensors;
  uint64_t n_tensors, cap_tensors;
  name_ref_t *tensor_index; /* sorted by name */
  char *names;              /* NUL-terminated tensor names, back to back */
};

/* A cursor over the image: every read is checked against the end. */
typedef struct {
  const uint8_t *base;
  uint64_t pos, size;
  const char *origin;
} cursor_t;

static uint64_t left(const cursor_t *c) { return c->size - c->pos; }

static ug_status_t truncated(const cursor_t *c, const char *what, uint64_t need) {
  return ug_status_make(UG_ERR_INVALID, c->origin,
                        "truncated file: %s at byte %" PRIu64 " needs %" PRIu64
                        " bytes but the file ends at %" PRIu64,
                        what, c->pos, need, c->size);
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static ug_status_t rd_u32(cursor_t *c, const char *what, uint32_t *out) {
  if (left(c) < 4) return truncated(c, what, 4);
  *out = (uint32_t)le(c->base + c->pos, 4);
  c->pos += 4;
  return NULL;
}

static ug_status_t rd_u64(cursor_t *c, const char *what, uint64_t *out) {
  if (left(c) < 8) return truncated(c, what, 8);
  *out = le(c->base + c->pos, 8);
  c->pos += 8;
  return NULL;
}

/* A length-prefixed string; the length is checked against the bytes left. */
static ug_status_t rd_str(cursor_t *c, const char *what, ug_gguf_str_t *out) {
  uint64_t start = c->pos, len = 0;
  UG_RETURN_IF_ERROR(rd_u64(c, what, &len));
  if (len > left(c)) {
    return ug_status_make(UG_ERR_INVALID, c->origin,
                          "%s at byte %" PRIu64 " has length %" PRIu64
                          ", past the end of the file (%" PRIu64 " bytes left)",
                          what, start, len, left(c));
  }
  out->ptr = (const char *)c->base + c->pos;
  out->len = len;
  c->pos += len;
  return NULL;
}

/* Grows *items (of elem bytes each) to hold at least need entries. */
static bool grow(void **items, uint64_t *cap, size_t elem, uint64_t need) {
  if (need <= *cap) return true;
  uint64_t n = *cap ? *cap : 16;
  while (n < need) {
    if (n > UINT64_MAX / 2) return false;
    n *= 2;
  }
  if (n > SIZE_MAX / elem) return false;
  void *p = realloc(*items, (size_t)(n * elem));
  if (!p) return false;
  *items = p;
  *cap = n;
  return true;
}

static ug_status_t nomem(const cursor_t *c) {
  return ug_status_make(UG_ERR_NOMEM, c->origin, "out of memory while reading the GGUF tables");
}

/* Keys and tensor names: non-empty, no NUL byte, printable in messages. */
static ug_status_t check_name(const cursor_t *c, const char *what, uint64_t at, ug_gguf_str_t s,
                              uint64_t max_len) {
  if (s.len == 0) return ug_status_make(UG_ERR_INVALID, c->origin, "%s at byte %" PRIu64 " is empty", what, at);
  if (s.len > max_len) {
    return ug_status_make(UG_ERR_INVALID, c->origin, "%s at byte %" PRIu64 " is %" PRIu64 " bytes long (limit %" PRIu64 ")",
                          what, at, s.len, max_len);
  }
  if (memchr(s.ptr, 0, (size_t)s.len)) {
    return ug_status_make(UG_ERR_INVALID, c->origin, "%s at byte %" PRIu64 " contains a NUL byte", what, at);
  }
  return NULL;
}

/* "key" for messages: at most 200 bytes of it. */
#define SHOWN(s) (int)((s).len < 200 ? (s).len : 200), (s).ptr

static ug_status_t parse_value(ug_gguf_t *f, cursor_t *c, kv_t *kv) {
  if (kv->type == UG_GGUF_STRING) {
    ug_gguf_str_t s;
    UG_RETURN_IF_ERROR(rd_str(c, "string value", &s));
    kv->pos = c->pos - s.len;
    kv->len = s.len;
    return NULL;
  }
  if (kv->type != UG_GGUF_ARRAY) {
    uint64_t n = VTYPE_SIZES[kv->type];
    if (left(c) < n) return truncated(c, "metadata value", n);
    if (kv->type == UG_GGUF_BOOL && c->base[c->pos] > 1) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "key \"%.*s\": bool value %u at byte %" PRIu64 " is not 0 or 1",
                            SHOWN(kv->key), c->base[c->pos], c->pos);
    }
    kv->pos = c->pos;
    c->pos += n;
    return NULL;
  }
  uint32_t et = 0;
  uint64_t at = c->pos, n = 0;
  UG_RETURN_IF_ERROR(rd_u32(c, "array element type", &et));
  if (et >= UG_GGUF_VTYPE_COUNT) {
    return ug_status_make(UG_ERR_INVALID, c->origin,
                          "key \"%.*s\": unknown array element type %u at byte %" PRIu64, SHOWN(kv->key), et, at);
  }
  if (et == UG_GGUF_ARRAY) {
    return ug_status_make(UG_ERR_UNSUPPORTED, c->origin,
                          "key \"%.*s\": arrays of arrays are not supported (byte %" PRIu64 ")", SHOWN(kv->key), at);
  }
  UG_RETURN_IF_ERROR(rd_u64(c, "array length", &n));
  kv->elem = (ug_gguf_vtype_t)et;
  kv->len = n;
  kv->pos = c->pos;
  if (et != UG_GGUF_STRING) {
    uint64_t es = VTYPE_SIZES[et];
    if (n > left(c) / es) {
      return ug_status_make(UG_ERR_INVALID, c->origin,
                            "key \"%.*s\": array of %" PRIu64 " %s at byte %" PRIu64
                            " does not fit in the %" PRIu64 " bytes left in the file",
                            SHOWN(kv->key), n, VTYPE_NAMES[et], at, left(c));
    }
    if (et == UG_GGUF_BOOL) {
      for (uint64_t i = 0; i < n; i++) {
        if (c->base[c->pos + i] > 1) {
          return ug_status_make(UG_ERR_INVALID, c->origin, "key \"%.*s\": bool element %" PRIu64 " is %u, not 0 or 1",
                                SHOWN(kv->key), i, c->base[c->pos + i]);
        }
      }
    }
    c->pos += n * es;
    return NULL;
  }
  /* Each string takes at least its 8-byte length. */
  if (n > left(c) / 8) {
    return ug_status_make(UG_ERR_INVALID, c->origin,
                          "key \"%.*s\": array of %" PRIu64 " strings at byte %" PRIu64
                          " does not fit in the %" PRIu64 " bytes left in the file",
                          SHOWN(kv->key), n, at, left(c));
  }
  kv->str_first = f->n_str;
  for (uint64_t i = 0; i < n; i++) {
    if (!grow((void **)&f->str_offs, &f->cap_str, sizeof(uint64_t), f->n_str + 1)) return nomem(c);
    f->str_offs[f->n_str++] = c->pos - kv->pos;
    ug_gguf_str_t s;
    UG_RETURN_IF_ERROR(rd_str(c, "string array element", &s));
  }
  return NULL;
}

static int name_cmp(const void *a, const void *b) {
  const name_ref_t *x = a, *y = b;
  uint64_t n = x->len < y->len ? x->len : y->len;
  int r = memcmp(x->s, y->s, (size_t)n);
  if (r) return r;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Sorts refs and reports the first duplicate. */
static ug_status_t sort_unique(const cursor_t *c, name_ref_t *refs, uint64_t n, const char *what) {
  if (n > 1) qsort(refs, (size_t)n, sizeof(*refs), name_cmp);
  for (uint64_t i = 1; i < n; i++) {
    if (!name_cmp(&refs[i - 1], &refs[i])) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "duplicate %s \"%.*s\"", what,
                            (int)(refs[i].len < 200 ? refs[i].len : 200), refs[i].s);
    }
  }
  return NULL;
}

static int64_t lookup(const name_ref_t *refs, uint64_t n, const char *name) {
  name_ref_t key = {name, strlen(name), 0};
  const name_ref_t *r = n ? bsearch(&key, refs, (size_t)n, sizeof(*refs), name_cmp) : NULL;
  return r ? (int64_t)r->idx : -1;
}

static ug_status_t parse_kvs(ug_gguf_t *f, cursor_t *c, uint64_t n_kv) {
  for (uint64_t i = 0; i < n_kv; i++) {
    uint64_t at = c->pos;
    kv_t kv;
    memset(&kv, 0, sizeof(kv));
    UG_RETURN_IF_ERROR(rd_str(c, "metadata key", &kv.key));
    UG_RETURN_IF_ERROR(check_name(c, "metadata key", at, kv.key, MAX_KEY_LEN));
    uint32_t t = 0;
    UG_RETURN_IF_ERROR(rd_u32(c, "metadata value type", &t));
    if (t >= UG_GGUF_VTYPE_COUNT) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "key \"%.*s\": unknown metadata value type %u at byte %" PRIu64,
                            SHOWN(kv.key), t, c->pos - 4);
    }
    kv.type = (ug_gguf_vtype_t)t;
    UG_RETURN_IF_ERROR(parse_value(f, c, &kv));
    if (!grow((void **)&f->kvs, &f->cap_kv, sizeof(kv_t), f->n_kv + 1)) return nomem(c);
    f->kvs[f->n_kv++] = kv;
  }
  if (f->n_kv) {
    f->kv_index = malloc((size_t)f->n_kv * sizeof(name_ref_t));
    if (!f->kv_index) return nomem(c);
    for (uint64_t i = 0; i < f->n_kv; i++) f->kv_index[i] = (name_ref_t){f->kvs[i].key.ptr, f->kvs[i].key.len, i};
  }
  return sort_unique(c, f->kv_index, f->n_kv, "metadata key");
}

static ug_status_t parse_alignment(ug_gguf_t *f, const cursor_t *c) {
  f->alignment = UG_GGUF_DEFAULT_ALIGNMENT;
  int64_t i = lookup(f->kv_index, f->n_kv, "general.alignment");
  if (i < 0) return NULL;
  const kv_t *kv = &f->kvs[i];
  if (kv->type != UG_GGUF_U32) {
    return ug_status_make(UG_ERR_INVALID, c->origin, "general.alignment is %s, not u32", ug_gguf_vtype_name(kv->type));
  }
  uint32_t a = (uint32_t)le(f->base + kv->pos, 4);
  if (a == 0 || (a & (a - 1))) {
    return ug_status_make(UG_ERR_INVALID, c->origin, "general.alignment %u is not a power of two", a);
  }
  f->alignment = a;
  return NULL;
}

/* The tensor-info table; names are collected into f->names. */
static ug_status_t parse_tensor_infos(ug_gguf_t *f, cursor_t *c, uint64_t n_tensors, uint64_t **out_name_offs) {
  uint64_t names_len = 0, names_cap = 0, *name_offs = NULL, cap_offs = 0;
  *out_name_offs = NULL;
  for (uint64_t i = 0; i < n_tensors; i++) {
    uint64_t at = c->pos;
    ug_gguf_str_t name;
    UG_RETURN_IF_ERROR(rd_str(c, "tensor name", &name));
    UG_RETURN_IF_ERROR(check_name(c, "tensor name", at, name, MAX_KEY_LEN));
    ug_gguf_tensor_t t;
    memset(&t, 0, sizeof(t));
    UG_RETURN_IF_ERROR(rd_u32(c, "tensor dimension count", &t.n_dims));
    if (t.n_dims > UG_GGUF_MAX_DIMS) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "tensor \"%.*s\" has %u dimensions; GGUF allows at most %d",
                            SHOWN(name), t.n_dims, UG_GGUF_MAX_DIMS);
    }
    int64_t n = 1;
    for (int d = 0; d < UG_GGUF_MAX_DIMS; d++) {
      uint64_t v = 1;
      if ((uint32_t)d < t.n_dims) UG_RETURN_IF_ERROR(rd_u64(c, "tensor dimension", &v));
      if (v == 0 || v > (uint64_t)INT64_MAX) {
        return ug_status_make(UG_ERR_INVALID, c->origin, "tensor \"%.*s\": dimension %d is %" PRId64 " (must be positive)",
                              SHOWN(name), d, (int64_t)v);
      }
      t.ne[d] = (int64_t)v;
      if (__builtin_mul_overflow(n, t.ne[d], &n)) {
        return ug_status_make(UG_ERR_INVALID, c->origin, "tensor \"%.*s\": the element count overflows 64 bits",
                              SHOWN(name));
      }
    }
    if (n > MAX_ELEMS) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "tensor \"%.*s\": %" PRId64 " elements exceed the limit of 2^40",
                            SHOWN(name), n);
    }
    t.n_elems = n;
    UG_RETURN_IF_ERROR(rd_u32(c, "tensor type", &t.ggml_type));
    const ggml_type_info_t *ti = ggml_info(t.ggml_type);
    if (!ti) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "unknown ggml type %u for tensor \"%.*s\"", t.ggml_type,
                            SHOWN(name));
    }
    if (t.ne[0] % ti->block_elems) {
      return ug_status_make(UG_ERR_INVALID, c->origin,
                            "tensor \"%.*s\": row length %" PRId64 " is not a multiple of the %s block size %u",
                            SHOWN(name), t.ne[0], ti->name, ti->block_elems);
    }
    uint64_t blocks = (uint64_t)n / ti->block_elems;
    if (__builtin_mul_overflow(blocks, (uint64_t)ti->block_bytes, &t.size)) {
      return ug_status_make(UG_ERR_INVALID, c->origin, "tensor \"%.*s\": the byte size overflows 64 bits", SHOWN(name));
    }
    UG_RETURN_IF_ERROR(rd_u64(c, "tensor offset", &t.offset));
    /* The name goes into the pool; data and name pointers are set at the end. */
    if (!grow((void **)&f->names, &names_cap, 1, names_len + name.len + 1)) return nomem(c);
    memcpy(f->names + names_len, name.ptr, (size_t)name.len);
    f->names[names_len + name.len] = 0;
    bool ok = grow((void **)&f->tensors, &f->cap_tensors, sizeof(t), f->n_tensors + 1) &&
              grow((void **)&name_offs, &cap_offs, sizeof(uint64_t), f->n_tensors + 1);
    *out_name_offs = name_offs; /* the caller frees it, also on error */
    if (!ok) return nomem(c);
    name_offs[f->n_tensors] = names_len;
    f->tensors[f->n_tensors++] = t;
    names_len += name.len + 1;
  }
  *out_name_offs = name_offs;
  return NULL;
}

/* Places every tensor in the data section and checks it lies inside the file. */
static ug_status_t place_tensors(ug_gguf_t *f, const cursor_t *c) {
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    ug_gguf_tensor_t *t = &f->tensors[i];
    if (t->offset % f->alignment) {
      return ug_status_make(UG_ERR_INVALID, c->origin,
                            "tensor \"%s\": offset %" PRIu64 " is not a multiple of the alignment %u", t->name,
                            t->offset, f->alignment);
    }
    uint64_t start, end;
    if (__builtin_add_overflow(f->data_offset, t->offset, &start) ||
        __builtin_add_overflow(start, t->size, &end) || end > f->size) {
      return ug_status_make(UG_ERR_INVALID, c->origin,
                            "tensor \"%s\": data at offset %" PRIu64 " (%" PRIu64
                            " bytes) ends past the end of the file (data section at %" PRIu64 ", file %" PRIu64
                            " bytes)",
                            t->name, t->offset, t->size, f->data_offset, f->size);
    }
    t->data = f->base + start;
  }
  return NULL;
}

static ug_status_t parse(ug_gguf_t *f) {
  cursor_t c = {f->base, 0, f->size, f->origin};
  uint32_t magic = 0;
  if (f->size < 4 || (magic = (uint32_t)le(f->base, 4)) != GGUF_MAGIC) {
    if (f->size < 4) return ug_status_make(UG_ERR_INVALID, f->origin, "not a GGUF file: %" PRIu64 " bytes, no magic", f->size);
    return ug_status_make(UG_ERR_INVALID, f->origin, "not a GGUF file: bad magic %02x %02x %02x %02x (expected \"GGUF\")",
                          f->base[0], f->base[1], f->base[2], f->base[3]);
  }
  c.pos = 4;
  UG_RETURN_IF_ERROR(rd_u32(&c, "version", &f->version));
  if (f->version == 1) {
    return ug_status_make(UG_ERR_UNSUPPORTED, f->origin, "GGUF version 1 is not supported (use v2 or v3)");
  }
  if (f->version != 2 && f->version != 3) {
    uint32_t v = f->version, swapped = v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
    if (swapped == 2 || swapped == 3) {
      return ug_status_make(UG_ERR_UNSUPPORTED, f->origin, "big-endian GGUF files are not supported");
    }
    return ug_status_make(UG_ERR_UNSUPPORTED, f->origin, "unsupported GGUF version %u (expected 2 or 3)", v);
  }
  uint64_t n_tensors = 0, n_kv = 0;
  UG_RETURN_IF_ERROR(rd_u64(&c, "tensor count", &n_tensors));
  UG_RETURN_IF_ERROR(rd_u64(&c, "metadata count", &n_kv));
  /* A key/value takes at least 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 4 + 8. */
  if (n_kv > left(&c) / 14) {
    return ug_status_make(UG_ERR_INVALID, f->origin, "metadata count %" PRIu64 " cannot fit in a %" PRIu64 "-byte file",
                          n_kv, f->size);
  }
  if (n_tensors > left(&c) / 25) {
    return ug_status_make(UG_ERR_INVALID, f->origin, "tensor count %" PRIu64 " cannot fit in a %" PRIu64 "-byte file",
                          n_tensors, f->size);
  }
  UG_RETURN_IF_ERROR(parse_kvs(f, &c, n_kv));
  f->kv_end = c.pos;
  UG_RETURN_IF_ERROR(parse_alignment(f, &c));
  uint64_t *name_offs = NULL;
  ug_status_t st = parse_tensor_infos(f, &c, n_tensors, &name_offs);
  if (!st) {
    for (uint64_t i = 0; i < f->n_tensors; i++) f->tensors[i].name = f->names + name_offs[i];
  }
  free(name_offs);
  if (st) return st;
  /* The data section starts at the next multiple of the alignment. */
  uint64_t pad = (f->alignment - c.pos % f->alignment) % f->alignment;
  f->data_offset = c.pos + pad;
  if (f->n_tensors && (pad > left(&c))) {
    return ug_status_make(UG_ERR_INVALID, f->origin,
                          "truncated file: the data section would start at byte %" PRIu64 " past the end (%" PRIu64 ")",
                          f->data_offset, f->size);
  }
  if (f->n_tensors) {
    f->tensor_index = malloc((size_t)f->n_tensors * sizeof(name_ref_t));
    if (!f->tensor_index) return nomem(&c);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
      f->tensor_index[i] = (name_ref_t){f->tensors[i].name, strlen(f->tensors[i].name), i};
    }
  }
  UG_RETURN_IF_ERROR(sort_unique(&c, f->tensor_index, f->n_tensors, "tensor name"));
  return place_tensors(f, &c);
}

static ug_status_t open_image(const void *data, uint64_t size, const char *origin, void *map, size_t map_size,
                              ug_gguf_t **out) {
  ug_gguf_t *f = calloc(1, sizeof(*f));
  char *o = strdup(origin ? origin : "<gguf>");
  if (!f || !o) {
    free(f);
    free(o);
    if (map) munmap(map, map_size);
    return ug_status_make(UG_ERR_NOMEM, origin, "out of memory");
  }
  f->base = data;
  f->size = size;
  f->map = map;
  f->map_size = map_size;
  f->origin = o;
  ug_status_t st = parse(f);
  if (st) {
    ug_gguf_close(f);
    return st;
  }
  *out = f;
  return NULL;
}

ug_status_t ug_gguf_open_buffer(const void *data, size_t size, const char *origin, ug_gguf_t **out) {
  *out = NULL;
  return open_image(data, size, origin, NULL, 0, out);
}

ug_status_t ug_gguf_open(const char *path, ug_gguf_t **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ug_status_make(UG_ERR_IO, path, "cannot open: %s", strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int e = errno;
    close(fd);
    return ug_status_make(UG_ERR_IO, path, "not a regular file%s%s", e ? ": " : "", e ? strerror(e) : "");
  }
  if ((uint64_t)sb.st_size > SIZE_MAX) {
    close(fd);
    return ug_status_make(UG_ERR_NOMEM, path, "file too large to map");
  }
  size_t size = (size_t)sb.st_size;
  if (size == 0) {
    close(fd);
    return ug_status_make(UG_ERR_INVALID, path, "not a GGUF file: the file is empty");
  }
  void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return ug_status_make(UG_ERR_IO, path, "cannot map: %s", strerror(e));
  return open_image(map, size, path, map, size, out);
}

void ug_gguf_close(ug_gguf_t *f) {
  if (!f) return;
  if (f->map) munmap(f->map, f->map_size);
  free(f->origin);
  free(f->kvs);
  free(f->kv_index);
  free(f->str_offs);
  free(f->tensors);
  free(f->tensor_index);
  free(f->names);
  free(f);
}

uint32_t ug_gguf_version(const ug_gguf_t *f) { return f->version; }
uint32_t ug_gguf_alignment(const ug_gguf_t *f) { return f->alignment; }
uint64_t ug_gguf_data_offset(const ug_gguf_t *f) { return f->data_offset; }

uint64_t ug_gguf_metadata_end(const ug_gguf_t *f) { return f->kv_end; }

const void *ug_gguf_image(const ug_gguf_t *f, uint64_t *out_size) {
  *out_size = f->size;
  return f->base;
}

bool ug_gguf_release_mapping(ug_gguf_t *f, void **out_addr, size_t *out_size) {
  *out_addr = f->map;
  *out_size = f->map_size;
  if (!f->map) return false;
  f->map = NULL;
  return true;
}
const char *ug_gguf_origin(const ug_gguf_t *f) { return f->origin; }

/* ---- metadata lookups ---- */

uint64_t ug_gguf_kv_count(const ug_gguf_t *f) { return f->n_kv; }

ug_gguf_str_t ug_gguf_kv_key(const ug_gguf_t *f, uint64_t i) {
  UG_ASSERT(i < f->n_kv);
  return f->kvs[i].key;
}

ug_gguf_vtype_t ug_gguf_kv_type(const ug_gguf_t *f, uint64_t i) {
  UG_ASSERT(i < f->n_kv);
  return f->kvs[i].type;
}

int64_t ug_gguf_find_key(const ug_gguf_t *f, const char *key) { return lookup(f->kv_index, f->n_kv, key); }

/* The entry for key, which must have type t. */
static ug_status_t typed(const ug_gguf_t *f, const char *key, ug_gguf_vtype_t t, const kv_t **out) {
  int64_t i = ug_gguf_find_key(f, key);
  if (i < 0) return ug_status_make(UG_ERR_INVALID, f->origin, "missing key \"%s\"", key);
  const kv_t *kv = &f->kvs[i];
  if (kv->type != t) {
    return ug_status_make(UG_ERR_INVALID, f->origin, "key \"%s\" is %s, not %s", key, VTYPE_NAMES[kv->type],
                          VTYPE_NAMES[t]);
  }
  *out = kv;
  return NULL;
}

/* Reads a scalar of type t into dst (host order: the host is little-endian). */
static ug_status_t get_scalar(const ug_gguf_t *f, const char *key, ug_gguf_vtype_t t, void *dst) {
  const kv_t *kv = NULL;
  UG_RETURN_IF_ERROR(typed(f, key, t, &kv));
  memcpy(dst, f->base + kv->pos, VTYPE_SIZES[t]);
  return NULL;
}

#define GETTER(fn, T, VT) \
  ug_status_t fn(const ug_gguf_t *f, const char *key, T *out) { return get_scalar(f, key, VT, out); }
GETTER(ug_gguf_get_u8, uint8_t, UG_GGUF_U8)
GETTER(ug_gguf_get_i8, int8_t, UG_GGUF_I8)
GETTER(ug_gguf_get_u16, uint16_t, UG_GGUF_U16)
GETTER(ug_gguf_get_i16, int16_t, UG_GGUF_I16)
GETTER(ug_gguf_get_u32, uint32_t, UG_GGUF_U32)
GETTER(ug_gguf_get_i32, int32_t, UG_GGUF_I32)
GETTER(ug_gguf_get_u64, uint64_t, UG_GGUF_U64)
GETTER(ug_gguf_get_i64, int64_t, UG_GGUF_I64)
GETTER(ug_gguf_get_f32, float, UG_GGUF_F32)
GETTER(ug_gguf_get_f64, double, UG_GGUF_F64)
#undef GETTER

ug_status_t ug_gguf_get_bool(const ug_gguf_t *f, const char *key, bool *out) {
  const kv_t *kv = NULL;
  UG_RETURN_IF_ERROR(typed(f, key, UG_GGUF_BOOL, &kv));
  *out = f->base[kv->pos] != 0;
  return NULL;
}

ug_status_t ug_gguf_get_str(const ug_gguf_t *f, const char *key, ug_gguf_str_t *out) {
  const kv_t *kv = NULL;
  UG_RETURN_IF_ERROR(typed(f, key, UG_GGUF_STRING, &kv));
  out->ptr = (const char *)f->base + kv->pos;
  out->len = kv->len;
  return NULL;
}

/* An integer element of type t at p as int64; false for a u64 above INT64_MAX
 * or a type that is no integer. */
static bool int_at(ug_gguf_vtype_t t, const uint8_t *p, int64_t *out) {
  switch (t) {
  case UG_GGUF_U8: case UG_GGUF_BOOL: *out = p[0]; return true;
  case UG_GGUF_I8: *out = (int8_t)p[0]; return true;
  case UG_GGUF_U16: *out = (int64_t)le(p, 2); return true;
  case UG_GGUF_I16: *out = (int16_t)(uint16_t)le(p, 2); return true;
  case UG_GGUF_U32: *out = (int64_t)le(p, 4); return true;
  case UG_GGUF_I32: *out = (int32_t)(uint32_t)le(p, 4); return true;
  case UG_GGUF_I64: *out = (int64_t)le(p, 8); return true;
  case UG_GGUF_U64: {
    uint64_t v = le(p, 8);
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
    return true;
  }
  default: return false;
  }
}

static bool float_at(ug_gguf_vtype_t t, const uint8_t *p, double *out) {
  if (t == UG_GGUF_F32) {
    float v;
    memcpy(&v, p, 4);
    *out = v;
    return true;
  }
  if (t == UG_GGUF_F64) {
    memcpy(out, p, 8);
    return true;
  }
  return false;
}

static bool is_int_type(ug_gguf_vtype_t t) {
  return t <= UG_GGUF_I32 || t == UG_GGUF_U64 || t == UG_GGUF_I64;
}

ug_status_t ug_gguf_get_int(const ug_gguf_t *f, const char *key, int64_t *out) {
  int64_t i = ug_gguf_find_key(f, key);
  if (i < 0) return ug_status_make(UG_ERR_INVALID, f->origin, "missing key \"%s\"", key);
  const kv_t *kv = &f->kvs[i];
  if (!is_int_type(kv->type)) {
    return ug_status_make(UG_ERR_INVALID, f->origin, "key \"%s\" is %s, not an integer", key, VTYPE_NAMES[kv->type]);
  }
  if (!int_at(kv->type, f->base + kv->pos, out)) {
    return ug_status_make(UG_ERR_INVALID, f->origin, "key \"%s\": value out of the int64 range", key);
  }
  return NULL;
}

ug_status_t ug_gguf_get_float(const ug_gguf_t *f, const char *key, double *out) {
  int64_t i = ug_gguf_find_key(f, key);
  if (i < 0) return ug_status_make(UG_ERR_INVALID, f->origin, "missing key \"%s\"", key);
  const kv_t *kv = &f->kvs[i];
  if (!float_at(kv->type, f->base + kv->pos, out)) {
    return ug_status_make(UG_ERR_INVALID, f->origin, "key \"%s\" is %s, not f32 or f64", key, VTYPE_NAMES[kv->type]);
  }
  return NULL;
}

ug_status_t ug_gguf_get_array(const ug_gguf_t *f, const char *key, ug_gguf_array_t *out) {
  const kv_t *kv = NULL;
  UG_RETURN_IF_ERROR(typed(f, key, UG_GGUF_ARRAY, &kv));
  out->elem_type = kv->elem;
  out->len = kv->len;
  out->data_ = f->base + kv->pos;
  /* (an empty string array may come before any string, with no table yet) */
  out->str_offs_ = kv->elem == UG_GGUF_STRING && kv->len ? f->str_offs + kv->str_first : NULL;
  out->key_ = kv->key;
  out->origin_ = f->origin;
  return NULL;
}

static ug_status_t bad_index(const ug_gguf_array_t *a, uint64_t i) {
  return ug_status_make(UG_ERR_INVALID, a->origin_, "key \"%.*s\": array index %" PRIu64 " out of range (length %" PRIu64 ")",
                        SHOWN(a->key_), i, a->len);
}

static ug_status_t bad_elem(const ug_gguf_array_t *a, const char *want) {
  return ug_status_make(UG_ERR_INVALID, a->origin_, "key \"%.*s\": array of %s read as %s", SHOWN(a->key_),
                        VTYPE_NAMES[a->elem_type], want);
}

ug_status_t ug_gguf_array_int(const ug_gguf_array_t *a, uint64_t i, int64_t *out) {
  if (!is_int_type(a->elem_type) && a->elem_type != UG_GGUF_BOOL) return bad_elem(a, "integers");
  if (i >= a->len) return bad_index(a, i);
  if (!int_at(a->elem_type, a->data_ + i * VTYPE_SIZES[a->elem_type], out)) {
    return ug_status_make(UG_ERR_INVALID, a->origin_, "key \"%.*s\": array element %" PRIu64 " out of the int64 range",
                          SHOWN(a->key_), i);
  }
  return NULL;
}

ug_status_t ug_gguf_array_float(const ug_gguf_array_t *a, uint64_t i, double *out) {
  if (a->elem_type != UG_GGUF_F32 && a->elem_type != UG_GGUF_F64) return bad_elem(a, "floats");
  if (i >= a->len) return bad_index(a, i);
  float_at(a->elem_type, a->data_ + i * VTYPE_SIZES[a->elem_type], out);
  return NULL;
}

ug_status_t ug_gguf_array_str(const ug_gguf_array_t *a, uint64_t i, ug_gguf_str_t *out) {
  if (a->elem_type != UG_GGUF_STRING) return bad_elem(a, "strings");
  if (i >= a->len) return bad_index(a, i);
  const uint8_t *p = a->data_ + a->str_offs_[i];
  out->len = le(p, 8);
  out->ptr = (const char *)p + 8;
  return NULL;
}

ug_status_t ug_gguf_array_read(const ug_gguf_array_t *a, ug_gguf_vtype_t expect, uint64_t first, uint64_t count,
                               void *dst) {
  if ((unsigned)expect >= UG_GGUF_VTYPE_COUNT || a->elem_type != expect || !VTYPE_SIZES[expect]) {
    return bad_elem(a, ug_gguf_vtype_name(expect));
  }
  if (first > a->len || count > a->len - first) {
    return ug_status_make(UG_ERR_INVALID, a->origin_,
                          "key \"%.*s\": array range [%" PRIu64 ", +%" PRIu64 ") out of range (length %" PRIu64 ")",
                          SHOWN(a->key_), first, count, a->len);
  }
  if (count) memcpy(dst, a->data_ + first * VTYPE_SIZES[expect], (size_t)(count * VTYPE_SIZES[expect]));
  return NULL;
}

/* ---- tensors ---- */

uint64_t ug_gguf_tensor_count(const ug_gguf_t *f) { return f->n_tensors; }

const ug_gguf_tensor_t *ug_gguf_tensor_at(const ug_gguf_t *f, uint64_t i) {
  UG_ASSERT(i < f->n_tensors);
  return &f->tensors[i];
}

const ug_gguf_tensor_t *ug_gguf_find_tensor(const ug_gguf_t *f, const char *name) {
  int64_t i = lookup(f->tensor_index, f->n_tensors, name);
  return i < 0 ? NULL : &f->tensors[i];
}

ug_status_t ug_gguf_get_tensor(const ug_gguf_t *f, const char *name, const ug_gguf_tensor_t **out) {
  *out = ug_gguf_find_tensor(f, name);
  if (!*out) return ug_status_make(UG_ERR_INVALID, f->origin, "missing tensor \"%s\"", name);
  return NULL;
}

ug_status_t ug_gguf_tensor_type(const ug_gguf_t *f, const ug_gguf_tensor_t *t, ug_type_t *out) {
  ug_dtype_t dt;
  if (!ug_gguf_ggml_to_dtype(t->ggml_type, &dt)) {
    const char *n = ug_gguf_ggml_type_name(t->ggml_type);
    return ug_status_make(UG_ERR_UNSUPPORTED, t->name, "unsupported ggml type %u (%s) for tensor %s in %s",
                          t->ggml_type, n ? n : "unknown", t->name, f->origin);
  }
  ug_dim_t dims[UG_GGUF_MAX_DIMS];
  for (uint32_t i = 0; i < t->n_dims; i++) dims[i] = t->ne[t->n_dims - 1 - i];
  *out = ug_type_make(dt, (int)t->n_dims, dims);
  return NULL;
}
