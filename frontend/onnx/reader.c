/* Reading ONNX protobufs: the model, tensors (raw, typed fields, external
 * data) and element types.  The parsing itself is protobuf-c's, generated
 * from the system's onnx.proto at build time; this file only validates. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx/internal.h"

/* ---- protobuf-c allocations go to the arena ---- */

static void *arena_alloc(void *data, size_t size) {
  return ug_arena_alloc((ug_arena_t *)data, size ? size : 1);
}
static void arena_free(void *data, void *p) {
  (void)data;
  (void)p;
}

/* Opens a regular file for reading; *out_size is its size. */
static ug_status_t open_file(const char *path, int *out_fd, size_t *out_size) {
  *out_fd = -1;
  *out_size = 0;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return ug_status_make(UG_ERR_IO, path, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ug_status_make(UG_ERR_IO, path, "not a regular file");
  }
  *out_fd = fd;
  *out_size = (size_t)st.st_size;
  return NULL;
}

/* Maps a whole file read-only.  An empty file maps to a NULL pointer. */
static ug_status_t map_file(const char *path, const void **out, size_t *out_size) {
  int fd;
  *out = NULL;
  UG_RETURN_IF_ERROR(open_file(path, &fd, out_size));
  if (*out_size == 0) {
    close(fd);
    return NULL;
  }
  void *p = mmap(NULL, *out_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return ug_status_make(UG_ERR_IO, path, "cannot map: %s", strerror(errno));
  *out = p;
  return NULL;
}

static void unmap_file(const void *p, size_t size) {
  if (p) munmap((void *)p, size);
}

/* ---- the wire-format pre-pass ----
 *
 * protobuf-c unpacks sub-messages recursively and copies every bytes field.
 * Before it runs, one iterative pass over the wire format bounds the nesting
 * of sub-messages (a hostile file of 15000 nested messages in 87 KB would
 * overflow the stack) and, when asked, writes a copy of the model in which
 * the payload of every TensorProto.raw_data of RAW_REF bytes or more is
 * replaced by a reference {file offset, length} of RAW_REF bytes: protobuf-c
 * then never copies the weights, which stay in the mapped file.  A length
 * prefix keeps its width (protobuf accepts non-minimal varints), so shrinking
 * a payload changes no prefix's size.  The pass reads lengths and tags exactly
 * as protobuf-c 1.4 does (at most 5 bytes each) and rejects anything it would
 * read differently, so protobuf-c never descends into bytes the pass has not
 * seen. */

#define RAW_REF 16u

typedef struct {
  const ProtobufCMessageDescriptor *desc;
  size_t end;      /* input offset where the message ends */
  size_t out_len;  /* output offset of its length prefix */
  unsigned width;  /* bytes of that prefix */
  size_t length;   /* its payload length in the input */
  size_t removed;  /* payload bytes removed inside it so far */
} wire_frame_t;

/* A varint of at most `max` bytes within [p, end). */
static bool wire_varint(const uint8_t *p, const uint8_t *end, unsigned max, uint64_t *out,
                        unsigned *out_width) {
  uint64_t v = 0;
  for (unsigned i = 0; i < max && p + i < end; i++) {
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *out = v;
      *out_width = i + 1;
      return true;
    }
  }
  return false;
}

/* v in exactly `width` bytes (v < 2^(7 * width)). */
static void wire_put_varint(uint8_t *p, uint64_t v, unsigned width) {
  for (unsigned i = 0; i + 1 < width; i++, v >>= 7) p[i] = (uint8_t)((v & 0x7f) | 0x80);
  p[width - 1] = (uint8_t)v;
}

static bool is_raw_data(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f) {
  return d == &onnx__tensor_proto__descriptor && f && f->type == PROTOBUF_C_TYPE_BYTES &&
         strcmp(f->name, "raw_data") == 0;
}

/* Scans in[0, size) as a `root` message and sets *out_size to the size of the
 * model with raw_data references (`refs`) or of the model as it is.  With
 * `out` it also writes that model there (*out_size bytes, as a scan without
 * `out` found). */
static ug_status_t wire_scan(const uint8_t *in, size_t size, const ProtobufCMessageDescriptor *root,
                             bool refs, const char *path, uint8_t *out, size_t *out_size) {
  wire_frame_t stack[OX_MAX_NESTING + 1];
  int depth = 0;
  stack[0] = (wire_frame_t){.desc = root, .end = size, .length = size};
  size_t pos = 0, o = 0;
#define BAD() ug_status_make(UG_ERR_INVALID, path, "not a valid ONNX model (protobuf parse failed)")
#define COPY(from, n)                                \
  do {                                               \
    if (out) memcpy(out + o, in + (from), (n));      \
    o += (n);                                        \
  } while (0)
  for (;;) {
    wire_frame_t *f = &stack[depth];
    if (pos == f->end) {
      if (depth == 0) break;
      if (out) wire_put_varint(out + f->out_len, f->length - f->removed, f->width);
      stack[depth - 1].removed += f->removed;
      depth--;
      continue;
    }
    const uint8_t *end = in + f->end;
    uint64_t tag, len;
    unsigned tw, lw;
    if (!wire_varint(in + pos, end, 5, &tag, &tw) || tag >> 3 == 0 || tag > UINT32_MAX) return BAD();
    size_t field_at = pos;
    pos += tw;
    switch (tag & 7) {
    case 0: /* varint */
      if (!wire_varint(in + pos, end, 10, &len, &lw)) return BAD();
      pos += lw;
      break;
    case 1: /* fixed64 */
      if (f->end - pos < 8) return BAD();
      pos += 8;
      break;
    case 5: /* fixed32 */
      if (f->end - pos < 4) return BAD();
      pos += 4;
      break;
    case 2: { /* length-delimited */
      if (!wire_varint(in + pos, end, 5, &len, &lw) || len > UINT32_MAX || len > f->end - pos - lw)
        return BAD();
      const ProtobufCFieldDescriptor *fd =
          protobuf_c_message_descriptor_get_field(f->desc, (unsigned)(tag >> 3));
      if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (depth == OX_MAX_NESTING)
          return ug_status_make(UG_ERR_INVALID, path,
                                "the model nests messages deeper than %d levels (sub-graphs, "
                                "attributes or types nested too deeply)",
                                OX_MAX_NESTING);
        COPY(field_at, pos - field_at);
        stack[++depth] = (wire_frame_t){.desc = fd->descriptor, .end = pos + lw + (size_t)len,
                                        .out_len = o, .width = lw, .length = (size_t)len};
        COPY(pos, lw);
        pos += lw;
        continue;
      }
      if (refs && len >= RAW_REF && is_raw_data(f->desc, fd)) {
        COPY(field_at, pos - field_at);
        uint64_t ref[2] = {pos + lw, len};
        if (out) {
          wire_put_varint(out + o, RAW_REF, lw);
          memcpy(out + o + lw, ref, RAW_REF);
        }
        o += lw + RAW_REF;
        f->removed += (size_t)len - RAW_REF;
        pos += lw + (size_t)len;
        continue;
      }
      pos += lw + (size_t)len;
      break;
    }
    default: return BAD(); /* groups: protobuf-c rejects them too */
    }
    COPY(field_at, pos - field_at);
  }
#undef COPY
#undef BAD
  *out_size = o;
  return NULL;
}
/* ---- models and tensor files ---- */

ug_status_t ox_model_load(const char *path, ug_module_t *m, ox_source_t *out_src,
                          Onnx__ModelProto **out) {
  const void *buf;
  size_t size, refs_size;
  *out = NULL;
  memset(out_src, 0, sizeof *out_src);
  UG_RETURN_IF_ERROR(map_file(path, &buf, &size));
  if (size == 0) return ug_status_make(UG_ERR_INVALID, path, "empty file, not an ONNX model");
  ug_status_t st = wire_scan(buf, size, &onnx__model_proto__descriptor, true, path, NULL, &refs_size);
  if (st) {
    unmap_file(buf, size);
    return st;
  }
  /* Without raw_data to leave in the file, protobuf-c reads the file itself. */
  bool refs = refs_size != size;
  uint8_t *model = NULL;
  if (refs) {
    model = malloc(refs_size);
    if (!model) {
      unmap_file(buf, size);
      return ug_status_make(UG_ERR_NOMEM, path, "out of memory");
    }
    st = wire_scan(buf, size, &onnx__model_proto__descriptor, true, path, model, &refs_size);
    UG_ASSERT(!st);
  }
  ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = m->arena};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, refs_size, refs ? model : buf);
  free(model);
  if (refs) {
    ug_module_adopt_mapping(m, (void *)buf, size);
    *out_src = (ox_source_t){.m = m, .file = buf, .file_size = size};
  } else {
    unmap_file(buf, size);
  }
  if (!mp)
    return ug_status_make(UG_ERR_INVALID, path, "not a valid ONNX model (protobuf parse failed)");
  if (!mp->graph) return ug_status_make(UG_ERR_INVALID, path, "model has no graph");
  *out = mp;
  return NULL;
}

ug_status_t ug_onnx_read_tensor(const char *path, ug_arena_t *a, const char **out_name,
                                ug_type_t *out_type, const void **out_data, uint64_t *out_size) {
  const void *buf;
  size_t size, same;
  UG_RETURN_IF_ERROR(map_file(path, &buf, &size));
  ug_status_t st = wire_scan(buf, size, &onnx__tensor_proto__descriptor, false, path, NULL, &same);
  if (st) {
    unmap_file(buf, size);
    return ug_status_make(UG_ERR_INVALID, path, "not a valid TensorProto");
  }
  ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(&alloc, size, buf);
  unmap_file(buf, size);
  if (!t) return ug_status_make(UG_ERR_INVALID, path, "not a valid TensorProto");
  char *dir = ug_arena_strdup(a, path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    dir = ".";
  ox_source_t src = {.dir = dir};
  ox_tensor_t tensor;
  UG_RETURN_IF_ERROR(ox_tensor_decode(a, &src, t, path, &tensor));
  *out_name = t->name ? t->name : "";
  *out_type = tensor.type;
  *out_data = tensor.data;
  *out_size = tensor.size;
  return NULL;
}

/* ---- element types ---- */

bool ox_dtype_from_onnx(int64_t t, ug_dtype_t *out) {
  switch (t) {
  case 1: *out = UG_DTYPE_F32; return true;
  case 2: *out = UG_DTYPE_U8; return true;
  case 3: *out = UG_DTYPE_I8; return true;
  case 4: *out = UG_DTYPE_U16; return true;
  case 5: *out = UG_DTYPE_I16; return true;
  case 6: *out = UG_DTYPE_I32; return true;
  case 7: *out = UG_DTYPE_I64; return true;
  case 9: *out = UG_DTYPE_BOOL; return true;
  case 10: *out = UG_DTYPE_F16; return true;
  case 11: *out = UG_DTYPE_F64; return true;
  case 12: *out = UG_DTYPE_U32; return true;
  case 13: *out = UG_DTYPE_U64; return true;
  case 16: *out = UG_DTYPE_BF16; return true;
  case 17: *out = UG_DTYPE_F8E4M3; return true; /* FLOAT8E4M3FN */
  case 19: *out = UG_DTYPE_F8E5M2; return true;
  default: return false;
  }
}

const char *ox_onnx_dtype_name(int64_t t) {
  static const char *const names[] = {
      "UNDEFINED",      "FLOAT",      "UINT8",          "INT8",       "UINT16",   "INT16",
      "INT32",          "INT64",      "STRING",         "BOOL",       "FLOAT16",  "DOUBLE",
      "UINT32",         "UINT64",     "COMPLEX64",      "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
      "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4",      "INT4"};
  if (t >= 0 && t < (int64_t)(sizeof names / sizeof names[0])) return names[t];
  return "unknown";
}

bool ox_numel(const ug_type_t *t, int64_t *out) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (!UG_DIM_IS_STATIC(t->dims[i])) return false;
    if (__builtin_mul_overflow(n, t->dims[i], &n) || n > OX_MAX_NUMEL) return false;
  }
  *out = n;
  return true;
}

/* ---- tensors ---- */

static bool find_ext(const Onnx__TensorProto *t, const char *key, const char **out) {
  for (size_t i = 0; i < t->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = t->external_data[i];
    if (e && e->key && strcmp(e->key, key) == 0) {
      *out = e->value ? e->value : "";
      return true;
    }
  }
  return false;
}

static bool parse_u64(const char *s, uint64_t *out) {
  if (!*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
      return false;
  }
  *out = v;
  return true;
}

/* A relative path that stays inside the model directory: no leading '/', no
 * ".." component. */
static bool path_is_contained(const char *p) {
  if (!*p || p[0] == '/') return false;
  const char *s = p;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len == 2 && s[0] == '.' && s[1] == '.') return false;
    if (!e) break;
    s = e + 1;
  }
  return true;
}

/* The bytes [p, p + size) of a mapping: borrowed when aligned for the
 * element type (the passes read weights as typed arrays), else copied into
 * the arena, and the pages wholly inside the range dropped from memory, so
 * that the bytes are resident once. */
static const void *borrow_or_copy(ug_arena_t *a, const uint8_t *p, size_t size, ug_dtype_t dt) {
  int bits = ug_dtype_bits(dt);
  uintptr_t align = bits >= 64 ? 8 : bits >= 8 ? (uintptr_t)bits / 8 : 1;
  if ((uintptr_t)p % align == 0) return p;
  void *copy = ug_arena_dup(a, p, size);
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + size) & ~(page - 1);
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
  return copy;
}

static ug_status_t read_external(ug_arena_t *a, const ox_source_t *src, const Onnx__TensorProto *t,
                                 const char *what, ug_dtype_t dt, uint64_t need, const void **out) {
  const char *loc, *s;
  if (!src->dir) return ug_status_make(UG_ERR_INVALID, what, "external data is not allowed here");
  if (!find_ext(t, "location", &loc))
    return ug_status_make(UG_ERR_INVALID, what, "external data without a location");
  if (!path_is_contained(loc))
    return ug_status_make(UG_ERR_INVALID, what,
                          "external data location '%s' is absolute or leaves the model directory",
                          loc);
  uint64_t offset = 0, length = need;
  if (find_ext(t, "offset", &s) && !parse_u64(s, &offset))
    return ug_status_make(UG_ERR_INVALID, what, "external data offset '%s' is not a number", s);
  if (find_ext(t, "length", &s) && !parse_u64(s, &length))
    return ug_status_make(UG_ERR_INVALID, what, "external data length '%s' is not a number", s);
  if (length != need)
    return ug_status_make(UG_ERR_INVALID, what,
                          "external data length %llu does not match the tensor's %llu bytes",
                          (unsigned long long)length, (unsigned long long)need);
  char *path = ug_arena_printf(a, "%s/%s", src->dir, loc);
  int fd;
  size_t size;
  UG_RETURN_IF_ERROR(open_file(path, &fd, &size));
  uint64_t end;
  if (__builtin_add_overflow(offset, length, &end) || end > size) {
    close(fd);
    return ug_status_make(UG_ERR_INVALID, what,
                          "external data [%llu, +%llu) is outside '%s' (%zu bytes)",
                          (unsigned long long)offset, (unsigned long long)length, loc, size);
  }
  if (length == 0) {
    close(fd);
    *out = ug_arena_alloc(a, 1);
    return NULL;
  }
  /* Only the tensor's pages are mapped (from the page below its offset). */
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), skip = offset % page;
  void *map = mmap(NULL, (size_t)(skip + length), PROT_READ, MAP_PRIVATE, fd, (off_t)(offset - skip));
  close(fd);
  if (map == MAP_FAILED) return ug_status_make(UG_ERR_IO, path, "cannot map: %s", strerror(errno));
  const uint8_t *p = (const uint8_t *)map + skip;
  if (src->m) {
    ug_module_adopt_mapping(src->m, map, (size_t)(skip + length));
    *out = borrow_or_copy(a, p, (size_t)length, dt);
  } else {
    *out = ug_arena_dup(a, p, (size_t)length);
    munmap(map, (size_t)(skip + length));
  }
  return NULL;
}

ug_status_t ox_tensor_decode(ug_arena_t *a, const ox_source_t *src, const Onnx__TensorProto *t,
                             const char *what, ox_tensor_t *out) {
  memset(out, 0, sizeof *out);
  if (!what || !*what) what = t->name && *t->name ? t->name : "tensor";
  if (!t->has_data_type) return ug_status_make(UG_ERR_INVALID, what, "tensor without a data type");
  ug_dtype_t dt;
  if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
    return ug_status_make(UG_ERR_UNSUPPORTED, what, "string tensors are unsupported by design");
  if (!ox_dtype_from_onnx(t->data_type, &dt))
    return ug_status_make(UG_ERR_UNSUPPORTED, what, "element type %s is not supported",
                          ox_onnx_dtype_name(t->data_type));
  if (t->n_dims > UG_MAX_RANK)
    return ug_status_make(UG_ERR_UNSUPPORTED, what, "rank %zu exceeds the maximum rank %d",
                          t->n_dims, UG_MAX_RANK);
  if (t->segment)
    return ug_status_make(UG_ERR_UNSUPPORTED, what, "segmented tensors are not supported");
  out->type.dtype = dt;
  out->type.rank = (int)t->n_dims;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0)
      return ug_status_make(UG_ERR_INVALID, what, "negative dimension %lld", (long long)t->dims[i]);
    out->type.dims[i] = t->dims[i];
  }
  int64_t n, bytes;
  if (!ox_numel(&out->type, &n) || !ug_dtype_bytes(dt, n, &bytes))
    return ug_status_make(UG_ERR_INVALID, what, "tensor size overflows");
  out->size = (uint64_t)bytes;
  const void *data = NULL;

  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    UG_RETURN_IF_ERROR(read_external(a, src, t, what, dt, (uint64_t)bytes, &data));
    out->data = data;
    return NULL;
  }
  if (t->has_raw_data) {
    const uint8_t *raw = t->raw_data.data;
    size_t len = t->raw_data.len;
    /* ox_model_load left the payloads of RAW_REF bytes or more in the file */
    if (src->file && len >= RAW_REF) {
      uint64_t ref[2], end;
      UG_ASSERT(len == RAW_REF);
      memcpy(ref, raw, sizeof ref);
      UG_ASSERT(!__builtin_add_overflow(ref[0], ref[1], &end) && end <= src->file_size);
      raw = src->file + ref[0];
      len = (size_t)ref[1];
    }
    if (len != (size_t)bytes)
      return ug_status_make(UG_ERR_INVALID, what, "raw_data has %zu bytes, the shape needs %lld",
                            len, (long long)bytes);
    /* an empty tensor still gets a non-NULL pointer */
    if (!len)
      out->data = ug_arena_alloc(a, 1);
    else if (raw == t->raw_data.data)
      out->data = raw; /* arena memory */
    else
      out->data = borrow_or_copy(a, raw, len, dt);
    return NULL;
  }
  size_t have;
  const char *field;
  switch (dt) {
  case UG_DTYPE_F32:
    have = t->n_float_data;
    field = "float_data";
    break;
  case UG_DTYPE_I64:
    have = t->n_int64_data;
    field = "int64_data";
    break;
  case UG_DTYPE_F64:
    have = t->n_double_data;
    field = "double_data";
    break;
  case UG_DTYPE_U32:
  case UG_DTYPE_U64:
    have = t->n_uint64_data;
    field = "uint64_data";
    break;
  default:
    have = t->n_int32_data;
    field = "int32_data";
    break;
  }
  if (have != (size_t)n)
    return ug_status_make(UG_ERR_INVALID, what, "%s has %zu elements, the shape needs %lld", field,
                          have, (long long)n);
  void *typed = ug_arena_alloc(a, bytes ? (size_t)bytes : 1);
  for (int64_t i = 0; i < n; i++) {
    switch (dt) {
    case UG_DTYPE_F32: ((float *)typed)[i] = t->float_data[i]; break;
    case UG_DTYPE_I64: ((int64_t *)typed)[i] = t->int64_data[i]; break;
    case UG_DTYPE_F64: ((double *)typed)[i] = t->double_data[i]; break;
    case UG_DTYPE_U32: ((uint32_t *)typed)[i] = (uint32_t)t->uint64_data[i]; break;
    case UG_DTYPE_U64: ((uint64_t *)typed)[i] = t->uint64_data[i]; break;
    case UG_DTYPE_I32: ((int32_t *)typed)[i] = t->int32_data[i]; break;
    case UG_DTYPE_I16: ((int16_t *)typed)[i] = (int16_t)t->int32_data[i]; break;
    case UG_DTYPE_U16:
    case UG_DTYPE_F16:
    case UG_DTYPE_BF16: ((uint16_t *)typed)[i] = (uint16_t)t->int32_data[i]; break;
    case UG_DTYPE_I8: ((int8_t *)typed)[i] = (int8_t)t->int32_data[i]; break;
    case UG_DTYPE_U8:
    case UG_DTYPE_F8E4M3:
    case UG_DTYPE_F8E5M2: ((uint8_t *)typed)[i] = (uint8_t)t->int32_data[i]; break;
    case UG_DTYPE_BOOL: ((uint8_t *)typed)[i] = t->int32_data[i] != 0; break;
    default: return ug_status_make(UG_ERR_UNSUPPORTED, what, "unsupported element type");
    }
  }
  out->data = typed;
  return NULL;
}
