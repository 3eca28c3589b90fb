/* Host tensors: NumPy .npy reading and writing, random contents, shapes and
 * comparison.  TensorProto (.pb) reading lives in tensor_pb.c. */
#include "tools/common/tensor_io.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

void ug_tensor_free(ug_tensor_t *t) {
  if (!t) return;
  free(t->data);
  free(t->name);
  memset(t, 0, sizeof *t);
}

bool ug_tensor_count(uint32_t rank, const int64_t *dims, size_t *out) {
  size_t n = 1;
  for (uint32_t d = 0; d < rank; d++) {
    if (dims[d] < 0 || __builtin_mul_overflow(n, (size_t)dims[d], &n)) return false;
  }
  *out = n;
  return true;
}

bool ug_tensor_nbytes(ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims, size_t *out,
                      char *err, size_t errlen) {
  size_t n, elem = ugrt_dtype_size(dtype), bytes;
  *out = 0;
  if (rank > UGRT_MAX_RANK) return fail(err, errlen, "rank %u exceeds %d", rank, UGRT_MAX_RANK);
  if (elem == 0) return fail(err, errlen, "dtype %s has no fixed element size", ugrt_dtype_name(dtype));
  if (!ug_tensor_count(rank, dims, &n) || __builtin_mul_overflow(n, elem, &bytes) ||
      bytes > ((size_t)1 << 40))
    return fail(err, errlen, "tensor size overflows");
  *out = bytes;
  return true;
}

bool ug_tensor_alloc(ug_tensor_t *t, ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims,
                     char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  size_t bytes;
  if (!ug_tensor_nbytes(dtype, rank, dims, &bytes, err, errlen)) return false;
  t->data = calloc(bytes ? bytes : 1, 1);
  if (!t->data) return fail(err, errlen, "out of memory for %zu bytes", bytes);
  t->dtype = dtype;
  t->rank = rank;
  if (rank) memcpy(t->dims, dims, rank * sizeof *dims);
  t->size = bytes;
  return true;
}

bool ug_read_file(const char *path, void **out, size_t *out_size, char *err, size_t errlen) {
  *out = NULL;
  *out_size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, errlen, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    char *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  bool bad = ferror(f);
  fclose(f);
  if (!buf) return fail(err, errlen, "%s: out of memory", path);
  if (bad) {
    free(buf);
    return fail(err, errlen, "%s: read error", path);
  }
  *out = buf;
  *out_size = n;
  return true;
}

/* ---- .npy ---- */

static const struct {
  char kind;
  int bytes;
  ugrt_dtype_t dtype;
} npy_types[] = {
    {'f', 8, UGRT_F64}, {'f', 4, UGRT_F32}, {'f', 2, UGRT_F16}, {'i', 8, UGRT_I64},
    {'i', 4, UGRT_I32}, {'i', 2, UGRT_I16}, {'i', 1, UGRT_I8},  {'u', 8, UGRT_U64},
    {'u', 4, UGRT_U32}, {'u', 2, UGRT_U16}, {'u', 1, UGRT_U8},  {'b', 1, UGRT_BOOL},
};

typedef struct {
  const char *p, *end;
} cursor_t;

static void skip_ws(cursor_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static bool eat(cursor_t *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

static bool parse_str(cursor_t *c, char *buf, size_t cap) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (n + 1 >= cap) return false;
    buf[n++] = *c->p++;
  }
  if (c->p >= c->end) return false;
  c->p++;
  buf[n] = 0;
  return true;
}

static bool parse_shape_tuple(cursor_t *c, uint32_t *rank, int64_t *dims) {
  if (!eat(c, '(')) return false;
  *rank = 0;
  for (;;) {
    if (eat(c, ')')) return true;
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (v > (INT64_MAX - 9) / 10) return false;
      v = v * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 longs */
    if (*rank >= UGRT_MAX_RANK) return false;
    dims[(*rank)++] = v;
    if (!eat(c, ',')) return eat(c, ')');
  }
}

bool ug_npy_parse(const void *bytes, size_t n, const char *what, ug_tensor_t *out, char *err,
                  size_t errlen) {
  memset(out, 0, sizeof *out);
  const unsigned char *b = bytes;
  if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return fail(err, errlen, "%s: not a NumPy .npy file (bad magic)", what);
  unsigned major = b[6];
  size_t hlen, start;
  if (major == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) return fail(err, errlen, "%s: truncated .npy header", what);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    start = 12;
  } else {
    return fail(err, errlen, "%s: unsupported .npy format version %u.%u", what, major, b[7]);
  }
  if (hlen > n - start) return fail(err, errlen, "%s: truncated .npy header", what);
  cursor_t c = {(const char *)b + start, (const char *)b + start + hlen};
  char descr[32] = "", key[32];
  int fortran = -1;
  bool have_shape = false;
  uint32_t rank = 0;
  int64_t dims[UGRT_MAX_RANK];
  if (!eat(&c, '{')) return fail(err, errlen, "%s: malformed .npy header (no dict)", what);
  while (!eat(&c, '}')) {
    if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
      return fail(err, errlen, "%s: malformed .npy header", what);
    if (strcmp(key, "descr") == 0) {
      if (!parse_str(&c, descr, sizeof descr))
        return fail(err, errlen, "%s: malformed .npy descr (structured dtypes are not supported)",
                    what);
    } else if (strcmp(key, "fortran_order") == 0) {
      skip_ws(&c);
      size_t left = (size_t)(c.end - c.p);
      if (left >= 4 && memcmp(c.p, "True", 4) == 0) {
        fortran = 1;
        c.p += 4;
      } else if (left >= 5 && memcmp(c.p, "False", 5) == 0) {
        fortran = 0;
        c.p += 5;
      } else {
        return fail(err, errlen, "%s: malformed fortran_order in .npy header", what);
      }
    } else if (strcmp(key, "shape") == 0) {
      if (!parse_shape_tuple(&c, &rank, dims))
        return fail(err, errlen, "%s: malformed shape in .npy header (or rank above %d)", what,
                    UGRT_MAX_RANK);
      have_shape = true;
    } else {
      return fail(err, errlen, "%s: unexpected key '%s' in .npy header", what, key);
    }
    if (!eat(&c, ',')) {
      if (!eat(&c, '}')) return fail(err, errlen, "%s: malformed .npy header", what);
      break;
    }
  }
  if (!descr[0] || fortran < 0 || !have_shape)
    return fail(err, errlen, "%s: .npy header lacks descr, fortran_order or shape", what);
  if (fortran) return fail(err, errlen, "%s: Fortran-order arrays are not supported (save with C order)", what);
  char order = descr[0], kind = descr[1];
  int size = atoi(descr + 2);
  if (kind == '?' && descr[2] == 0) {
    kind = 'b';
    size = 1;
  } else if (strlen(descr) < 3) {
    order = 0;
  }
  if (order != '<' && order != '|' && order != '=' && order != '>')
    return fail(err, errlen, "%s: unsupported .npy dtype '%s'", what, descr);
  if (order == '>' && size > 1)
    return fail(err, errlen, "%s: big-endian dtype '%s' is not supported", what, descr);
  ugrt_dtype_t dtype = UGRT_DTYPE_COUNT;
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
    if (npy_types[i].kind == kind && npy_types[i].bytes == size) dtype = npy_types[i].dtype;
  if (dtype == UGRT_DTYPE_COUNT)
    return fail(err, errlen, "%s: unsupported .npy dtype '%s'", what, descr);
  /* The data must be in the file before anything is allocated for it: the
   * shape alone must not decide how much memory a reader takes. */
  size_t want, data_at = start + hlen, have = n - data_at;
  char why[128];
  if (!ug_tensor_nbytes(dtype, rank, dims, &want, why, sizeof why))
    return fail(err, errlen, "%s: %s", what, why);
  if (have != want)
    return fail(err, errlen, "%s: %zu data bytes, but the header's dtype and shape need %zu",
                what, have, want);
  if (!ug_tensor_alloc(out, dtype, rank, dims, err, errlen)) return false;
  memcpy(out->data, b + data_at, out->size);
  return true;
}

bool ug_npy_read(const char *path, ug_tensor_t *out, char *err, size_t errlen) {
  void *buf;
  size_t n;
  memset(out, 0, sizeof *out);
  if (!ug_read_file(path, &buf, &n, err, errlen)) return false;
  bool ok = ug_npy_parse(buf, n, path, out, err, errlen);
  free(buf);
  return ok;
}

bool ug_npy_write(const char *path, ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims,
                  const void *data, size_t size, char *err, size_t errlen) {
  const char *descr = NULL;
  switch (dtype) {
    case UGRT_F64: descr = "<f8"; break;
    case UGRT_F32: descr = "<f4"; break;
    case UGRT_F16: descr = "<f2"; break;
    case UGRT_I64: descr = "<i8"; break;
    case UGRT_I32: descr = "<i4"; break;
    case UGRT_I16: descr = "<i2"; break;
    case UGRT_I8: descr = "|i1"; break;
    case UGRT_U64: descr = "<u8"; break;
    case UGRT_U32: descr = "<u4"; break;
    case UGRT_U16: descr = "<u2"; break;
    case UGRT_U8: descr = "|u1"; break;
    case UGRT_BOOL: descr = "|b1"; break;
    default:
      return fail(err, errlen, "%s: dtype %s has no NumPy equivalent", path,
                  ugrt_dtype_name(dtype));
  }
  char dict[64 + 24 * UGRT_MAX_RANK];
  int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (uint32_t d = 0; d < rank; d++)
    k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld%s", (long long)dims[d],
                  rank == 1 ? "," : d + 1 < rank ? ", " : "");
  k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
  /* Pad with spaces so the data starts on a 64-byte boundary; end with \n. */
  size_t total = 10 + (size_t)k + 1;
  size_t padded = (total + 63) / 64 * 64;
  size_t hlen = padded - 10;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  FILE *f = fopen(path, "wb");
  if (!f) return fail(err, errlen, "%s: %s", path, strerror(errno));
  bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)k, f) == (size_t)k;
  for (size_t i = 10 + (size_t)k; ok && i < padded - 1; i++) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  ok = ok && (size == 0 || fwrite(data, 1, size, f) == size);
  ok = (fclose(f) == 0) && ok;
  if (!ok) return fail(err, errlen, "%s: write error", path);
  return true;
}

/* ---- random ---- */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void ug_tensor_fill_random(ug_tensor_t *t, uint64_t seed) {
  size_t n = 0, elem = ugrt_dtype_size(t->dtype);
  if (elem) n = t->size / elem;
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    uint64_t r = splitmix64(&s);
    double u = (double)(r >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0; /* [-1, 1) */
    int64_t si = (int64_t)(r % 16) - 8;
    uint64_t ui = r % 16;
    switch (t->dtype) {
      case UGRT_F64: ((double *)t->data)[i] = u; break;
      case UGRT_F32: ((float *)t->data)[i] = (float)u; break;
      case UGRT_F16: ((uint16_t *)t->data)[i] = ug_tensor_f32_to_f16((float)u); break;
      case UGRT_BF16: {
        float f = (float)u;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        ((uint16_t *)t->data)[i] = (uint16_t)(bits >> 16);
        break;
      }
      case UGRT_I64: ((int64_t *)t->data)[i] = si; break;
      case UGRT_I32: ((int32_t *)t->data)[i] = (int32_t)si; break;
      case UGRT_I16: ((int16_t *)t->data)[i] = (int16_t)si; break;
      case UGRT_I8: ((int8_t *)t->data)[i] = (int8_t)si; break;
      case UGRT_U64: ((uint64_t *)t->data)[i] = ui; break;
      case UGRT_U32: ((uint32_t *)t->data)[i] = (uint32_t)ui; break;
      case UGRT_U16: ((uint16_t *)t->data)[i] = (uint16_t)ui; break;
      case UGRT_U8: ((uint8_t *)t->data)[i] = (uint8_t)ui; break;
      case UGRT_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
      default: ((uint8_t *)t->data)[i * elem] = (uint8_t)r; break;
    }
  }
}

bool ug_parse_shape(const char *s, uint32_t *rank, int64_t *dims) {
  *rank = 0;
  if (!*s || strcmp(s, "scalar") == 0) return true;
  for (;;) {
    if (*s < '0' || *s > '9' || *rank >= UGRT_MAX_RANK) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || v < 0) return false;
    dims[(*rank)++] = v;
    if (*end == 0) return true;
    if (*end != 'x' && *end != 'X' && *end != ',') return false;
    s = end + 1;
  }
}

/* ---- element access and comparison ---- */

float ug_tensor_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalize */
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) {
        man <<= 1;
        exp--;
      }
      bits = sign | exp << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t ug_tensor_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t man = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
  if (exp >= 31) return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    man |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = sign | (uint32_t)exp << 10 | man >> 13, rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)h;
}

bool ug_tensor_dtype_is_float(ugrt_dtype_t d) {
  return d == UGRT_F64 || d == UGRT_F32 || d == UGRT_F16 || d == UGRT_BF16 ||
         d == UGRT_F8E4M3 || d == UGRT_F8E5M2;
}

double ug_tensor_get_f64(ugrt_dtype_t dtype, const void *data, size_t i) {
  switch (dtype) {
    case UGRT_F64: return ((const double *)data)[i];
    case UGRT_F32: return ((const float *)data)[i];
    case UGRT_F16: return ug_tensor_f16_to_f32(((const uint16_t *)data)[i]);
    case UGRT_BF16: {
      uint32_t bits = (uint32_t)((const uint16_t *)data)[i] << 16;
      float f;
      memcpy(&f, &bits, 4);
      return f;
    }
    case UGRT_U64: return (double)((const uint64_t *)data)[i];
    default: return (double)ug_tensor_get_i64(dtype, data, i);
  }
}

int64_t ug_tensor_get_i64(ugrt_dtype_t dtype, const void *data, size_t i) {
  switch (dtype) {
    case UGRT_I64: return ((const int64_t *)data)[i];
    case UGRT_I32: return ((const int32_t *)data)[i];
    case UGRT_I16: return ((const int16_t *)data)[i];
    case UGRT_I8: return ((const int8_t *)data)[i];
    case UGRT_U64: return (int64_t)((const uint64_t *)data)[i];
    case UGRT_U32: return ((const uint32_t *)data)[i];
    case UGRT_U16: return ((const uint16_t *)data)[i];
    case UGRT_U8:
    case UGRT_BOOL:
    case UGRT_F8E4M3:
    case UGRT_F8E5M2: return ((const uint8_t *)data)[i];
    default: return (int64_t)ug_tensor_get_f64(dtype, data, i);
  }
}

static void shape_str(const ug_tensor_t *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", ugrt_dtype_name(t->dtype));
  for (uint32_t d = 0; d < t->rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)t->dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

bool ug_tensor_compare(const ug_tensor_t *got, const ug_tensor_t *want, double rtol, double atol,
                       char *why, size_t whylen) {
  char gs[256], ws[256];
  shape_str(got, gs, sizeof gs);
  shape_str(want, ws, sizeof ws);
  bool same_shape = got->dtype == want->dtype && got->rank == want->rank;
  for (uint32_t d = 0; same_shape && d < got->rank; d++) same_shape = got->dims[d] == want->dims[d];
  if (!same_shape) return fail(why, whylen, "got %s, expected %s", gs, ws);
  size_t elem = ugrt_dtype_size(got->dtype), n = elem ? want->size / elem : 0;
  if (got->size != want->size) return fail(why, whylen, "got %zu bytes, expected %zu", got->size, want->size);
  bool is_float = ug_tensor_dtype_is_float(got->dtype) && got->dtype != UGRT_F8E4M3 &&
                  got->dtype != UGRT_F8E5M2;
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    bool ok;
    if (is_float) {
      double a = ug_tensor_get_f64(got->dtype, got->data, i);
      double b = ug_tensor_get_f64(want->dtype, want->data, i);
      if (isnan(a) || isnan(b))
        ok = isnan(a) && isnan(b);
      else if (isinf(a) || isinf(b))
        ok = a == b;
      else
        ok = fabs(a - b) <= atol + rtol * fabs(b);
      if (!ok && !isnan(a) && !isnan(b) && fabs(a - b) > worst) worst = fabs(a - b);
    } else {
      ok = ug_tensor_get_i64(got->dtype, got->data, i) ==
           ug_tensor_get_i64(want->dtype, want->data, i);
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return true;
  if (is_float)
    return fail(why, whylen,
                "%zu of %zu elements of %s differ; first at flat index %zu: got %.9g, expected "
                "%.9g (max |diff| %.3g)",
                bad, n, ws, first, ug_tensor_get_f64(got->dtype, got->data, first),
                ug_tensor_get_f64(want->dtype, want->data, first), worst);
  return fail(why, whylen, "%zu of %zu elements of %s differ; first at flat index %zu: got %lld, expected %lld",
              bad, n, ws, first, (long long)ug_tensor_get_i64(got->dtype, got->data, first),
              (long long)ug_tensor_get_i64(want->dtype, want->data, first));
}
