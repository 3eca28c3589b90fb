/* The GGUF reader: a GGUF v2 or v3 file (little-endian), mapped read-only.
 *
 * ug_gguf_open() maps the file and validates everything up front: the header,
 * every metadata key/value (arrays and strings included), the tensor-info
 * table and each tensor's extent in the data section.  Every count, length and
 * offset is checked against the bytes that remain in the file with
 * overflow-checked arithmetic before it is used, and memory is only allocated
 * for entries that have actually been parsed, so a corrupt or malicious file
 * gives a status (code UG_ERR_INVALID, origin the path) and never an
 * out-of-bounds read or an allocation larger than a small multiple of the file.
 *
 * Ownership: the ug_gguf_t owns the mapping and every table; strings and
 * tensor data handed out point into it and stay valid until ug_gguf_close().
 * Tensor data is used in place, never copied.
 *
 * Dimension order: GGUF stores ne[0] first, the innermost (contiguous)
 * dimension, like ggml.  ugcc shapes are row-major with the outermost first,
 * so a GGUF tensor with ne = {4096, 11008} (a row of 4096 elements, 11008
 * rows) is the ugcc type [11008, 4096]: shape[i] = ne[n_dims - 1 - i].
 * ug_gguf_tensor_type() does that reversal.  Quantized blocks always run
 * along ne[0], the last ugcc dimension. */
#ifndef UG_FRONTEND_GGUF_GGUF_H
#define UG_FRONTEND_GGUF_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/status.h"
#include "ir/types.h"

#define UG_GGUF_MAX_DIMS 4           /* GGML_MAX_DIMS */
#define UG_GGUF_DEFAULT_ALIGNMENT 32 /* when general.alignment is absent */

/* Metadata value types; the numbering is the file format's. */
typedef enum {
  UG_GGUF_U8 = 0,
  UG_GGUF_I8 = 1,
  UG_GGUF_U16 = 2,
  UG_GGUF_I16 = 3,
  UG_GGUF_U32 = 4,
  UG_GGUF_I32 = 5,
  UG_GGUF_F32 = 6,
  UG_GGUF_BOOL = 7,
  UG_GGUF_STRING = 8,
  UG_GGUF_ARRAY = 9,
  UG_GGUF_U64 = 10,
  UG_GGUF_I64 = 11,
  UG_GGUF_F64 = 12,
  UG_GGUF_VTYPE_COUNT
} ug_gguf_vtype_t;

/* ggml storage type ids used by ugcc (the file format's numbering; ids of
 * other known ggml types are accepted at open, see ug_gguf_ggml_type_name). */
enum {
  UG_GGML_F32 = 0,
  UG_GGML_F16 = 1,
  UG_GGML_Q4_0 = 2,
  UG_GGML_Q4_1 = 3,
  UG_GGML_Q5_0 = 6,
  UG_GGML_Q5_1 = 7,
  UG_GGML_Q8_0 = 8,
  UG_GGML_Q2_K = 10,
  UG_GGML_Q4_K = 12,
  UG_GGML_Q5_K = 13,
  UG_GGML_Q6_K = 14,
  UG_GGML_I8 = 24,
  UG_GGML_I16 = 25,
  UG_GGML_I32 = 26,
  UG_GGML_I64 = 27,
  UG_GGML_F64 = 28,
  UG_GGML_BF16 = 30,
};

/* A string in the file: `len` bytes at `ptr`, NOT NUL-terminated. */
typedef struct {
  const char *ptr;
  uint64_t len;
} ug_gguf_str_t;

typedef struct {
  const char *name; /* NUL-terminated (a copy owned by the file object) */
  uint32_t n_dims;  /* 0 (a scalar) .. UG_GGUF_MAX_DIMS */
  int64_t ne[UG_GGUF_MAX_DIMS]; /* GGUF order, ne[0] innermost; 1 past n_dims */
  uint32_t ggml_type;
  int64_t n_elems;
  uint64_t offset; /* from the start of the data section; a multiple of the alignment */
  uint64_t size;   /* bytes */
  const void *data; /* into the mapping, at data offset + offset (both multiples of the alignment) */
} ug_gguf_tensor_t;

/* An array value; elements are read with the ug_gguf_array_* functions. */
typedef struct {
  ug_gguf_vtype_t elem_type;
  uint64_t len;
  const uint8_t *data_;      /* internal: first element in the mapping */
  const uint64_t *str_offs_; /* internal: string arrays, offset of element i from data_ */
  ug_gguf_str_t key_;        /* internal: for messages */
  const char *origin_;       /* internal: for messages */
} ug_gguf_array_t;

typedef struct ug_gguf ug_gguf_t;

/* Maps and validates the file at `path`.  On failure *out is NULL. */
ug_status_t ug_gguf_open(const char *path, ug_gguf_t **out);
/* Validates a GGUF image already in memory; the buffer is borrowed and must
 * outlive the result.  `origin` names it in messages (may be NULL). */
ug_status_t ug_gguf_open_buffer(const void *data, size_t size, const char *origin, ug_gguf_t **out);
/* Unmaps the file and frees everything (NULL is a no-op). */
void ug_gguf_close(ug_gguf_t *f);
/* The whole file image (mapping or buffer) and its size. */
const void *ug_gguf_image(const ug_gguf_t *f, uint64_t *out_size);
/* The byte just past the metadata: bytes [0, end) are the header and every
 * key/value (with the tensor count patched to 0 they form a valid GGUF file
 * holding the metadata alone). */
uint64_t ug_gguf_metadata_end(const ug_gguf_t *f);
/* Hands the mapping of a file opened by ug_gguf_open to the caller, who
 * unmaps it (munmap(addr, size)) after ug_gguf_close; tensor data and strings
 * stay valid until then.  False for a buffer (nothing to hand over). */
bool ug_gguf_release_mapping(ug_gguf_t *f, void **out_addr, size_t *out_size);

uint32_t ug_gguf_version(const ug_gguf_t *f);
uint32_t ug_gguf_alignment(const ug_gguf_t *f);
/* Offset of the data section from the start of the file. */
uint64_t ug_gguf_data_offset(const ug_gguf_t *f);
/* The path or origin given at open. */
const char *ug_gguf_origin(const ug_gguf_t *f);

/* ---- metadata ---- */

/* "u8", "string", "array", ...; "?" for an id out of range. */
const char *ug_gguf_vtype_name(ug_gguf_vtype_t t);
uint64_t ug_gguf_kv_count(const ug_gguf_t *f);
/* Key and value type of entry i (file order), i < ug_gguf_kv_count(). */
ug_gguf_str_t ug_gguf_kv_key(const ug_gguf_t *f, uint64_t i);
ug_gguf_vtype_t ug_gguf_kv_type(const ug_gguf_t *f, uint64_t i);
/* Index of the entry with this key, or -1. */
int64_t ug_gguf_find_key(const ug_gguf_t *f, const char *key);

/* Typed getters: an error when the key is missing ("missing key") or has
 * another type ("key K is i32, not u32"); *out is untouched on error. */
ug_status_t ug_gguf_get_u8(const ug_gguf_t *f, const char *key, uint8_t *out);
ug_status_t ug_gguf_get_i8(const ug_gguf_t *f, const char *key, int8_t *out);
ug_status_t ug_gguf_get_u16(const ug_gguf_t *f, const char *key, uint16_t *out);
ug_status_t ug_gguf_get_i16(const ug_gguf_t *f, const char *key, int16_t *out);
ug_status_t ug_gguf_get_u32(const ug_gguf_t *f, const char *key, uint32_t *out);
ug_status_t ug_gguf_get_i32(const ug_gguf_t *f, const char *key, int32_t *out);
ug_status_t ug_gguf_get_u64(const ug_gguf_t *f, const char *key, uint64_t *out);
ug_status_t ug_gguf_get_i64(const ug_gguf_t *f, const char *key, int64_t *out);
ug_status_t ug_gguf_get_f32(const ug_gguf_t *f, const char *key, float *out);
ug_status_t ug_gguf_get_f64(const ug_gguf_t *f, const char *key, double *out);
ug_status_t ug_gguf_get_bool(const ug_gguf_t *f, const char *key, bool *out);
ug_status_t ug_gguf_get_str(const ug_gguf_t *f, const char *key, ug_gguf_str_t *out);
/* Any integer type (u8..i64), converted to int64; an error for a u64 above INT64_MAX. */
ug_status_t ug_gguf_get_int(const ug_gguf_t *f, const char *key, int64_t *out);
/* f32 or f64, converted to double. */
ug_status_t ug_gguf_get_float(const ug_gguf_t *f, const char *key, double *out);
ug_status_t ug_gguf_get_array(const ug_gguf_t *f, const char *key, ug_gguf_array_t *out);

/* Element i of an integer or bool array, as int64 (u64 above INT64_MAX is an error). */
ug_status_t ug_gguf_array_int(const ug_gguf_array_t *a, uint64_t i, int64_t *out);
/* Element i of an f32 or f64 array, as double. */
ug_status_t ug_gguf_array_float(const ug_gguf_array_t *a, uint64_t i, double *out);
/* Element i of a string array. */
ug_status_t ug_gguf_array_str(const ug_gguf_array_t *a, uint64_t i, ug_gguf_str_t *out);
/* Copies elements [first, first+count) of a numeric or bool array whose
 * element type is `expect` into dst (host order; bools as one byte 0/1). */
ug_status_t ug_gguf_array_read(const ug_gguf_array_t *a, ug_gguf_vtype_t expect, uint64_t first,
                               uint64_t count, void *dst);

/* ---- tensors ---- */

uint64_t ug_gguf_tensor_count(const ug_gguf_t *f);
/* Tensor i in file order, i < ug_gguf_tensor_count(). */
const ug_gguf_tensor_t *ug_gguf_tensor_at(const ug_gguf_t *f, uint64_t i);
/* The tensor with this name, or NULL. */
const ug_gguf_tensor_t *ug_gguf_find_tensor(const ug_gguf_t *f, const char *name);
/* Like find, but a missing tensor is an error naming it. */
ug_status_t ug_gguf_get_tensor(const ug_gguf_t *f, const char *name, const ug_gguf_tensor_t **out);
/* The ugcc type of a tensor: its dtype and its row-major shape (GGUF dims
 * reversed).  UG_ERR_UNSUPPORTED "unsupported ggml type N (name) for tensor X"
 * when ugcc has no dtype for its ggml type. */
ug_status_t ug_gguf_tensor_type(const ug_gguf_t *f, const ug_gguf_tensor_t *t, ug_type_t *out);

/* "q4_K", "f16", ...; NULL for an id that is no ggml type. */
const char *ug_gguf_ggml_type_name(uint32_t ggml_type);
/* Elements per block and bytes per block of a ggml type; false for unknown ids. */
bool ug_gguf_ggml_type_size(uint32_t ggml_type, uint32_t *out_block_elems, uint32_t *out_block_bytes);
/* The ugcc dtype for a ggml type; false when ugcc does not support it. */
bool ug_gguf_ggml_to_dtype(uint32_t ggml_type, ug_dtype_t *out);
/* The ggml type of a ugcc dtype; false when there is none. */
bool ug_gguf_dtype_to_ggml(ug_dtype_t dt, uint32_t *out);

#endif
