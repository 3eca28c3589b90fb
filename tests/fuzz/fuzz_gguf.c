/* libFuzzer target: the GGUF reader on arbitrary bytes, then every accessor
 * on whatever opens (every key through its typed getter and every array
 * element, every tensor's type and its first rows dequantized), so that
 * anything the validation lets through is also safe to use; then the
 * language-model builder (llama.h) on the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/gguf/gguf.h"
#include "frontend/gguf/llama.h"
#include "frontend/gguf/quant.h"

static void drop(ug_status_t st) {
  if (st) ug_status_free(st);
}

static void touch_kv(const ug_gguf_t *f, uint64_t i) {
  ug_gguf_str_t k = ug_gguf_kv_key(f, i);
  char key[256];
  if (k.len >= sizeof(key)) return;
  memcpy(key, k.ptr, k.len);
  key[k.len] = 0;
  if (ug_gguf_find_key(f, key) != (int64_t)i) abort(); /* keys are unique and found */
  union {
    uint64_t u;
    double d;
    ug_gguf_str_t s;
    unsigned char raw[16];
  } v;
  int64_t iv;
  drop(ug_gguf_get_int(f, key, &iv));
  drop(ug_gguf_get_float(f, key, &v.d));
  drop(ug_gguf_get_str(f, key, &v.s));
  drop(ug_gguf_get_u64(f, key, &v.u));
  bool b;
  drop(ug_gguf_get_bool(f, key, &b));
  ug_gguf_array_t a;
  ug_status_t st = ug_gguf_get_array(f, key, &a);
  if (st) {
    ug_status_free(st);
    return;
  }
  for (uint64_t j = 0; j < a.len && j < 4096; j++) {
    drop(ug_gguf_array_int(&a, j, &iv));
    drop(ug_gguf_array_float(&a, j, &v.d));
    st = ug_gguf_array_str(&a, j, &v.s);
    if (st) {
      ug_status_free(st);
    } else if (v.s.len && ((const volatile char *)v.s.ptr)[v.s.len - 1] == 1) {
      iv++; /* reads the string's last byte */
    }
    drop(ug_gguf_array_read(&a, a.elem_type, j, 1, v.raw));
  }
  drop(ug_gguf_array_str(&a, a.len, &v.s)); /* out of range: an error */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy so that ASan catches any read past the end. */
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  ug_gguf_t *f = NULL;
  ug_status_t st = ug_gguf_open_buffer(copy, size, "fuzz.gguf", &f);
  if (st) {
    if (f) abort();
    ug_status_free(st);
    free(copy);
    return 0;
  }
  for (uint64_t i = 0; i < ug_gguf_kv_count(f); i++) touch_kv(f, i);
  float row[1024];
  for (uint64_t i = 0; i < ug_gguf_tensor_count(f); i++) {
    const ug_gguf_tensor_t *t = ug_gguf_tensor_at(f, i);
    if (ug_gguf_find_tensor(f, t->name) != t) abort();
    const uint8_t *p = t->data, *base = copy;
    if (p < base || t->size > size || (size_t)(p - base) > size - t->size) abort(); /* inside the image */
    ug_type_t ty;
    st = ug_gguf_tensor_type(f, t, &ty);
    if (st) { /* a ggml type ugcc does not support */
      ug_status_free(st);
      continue;
    }
    int64_t be = ug_dtype_is_quant(ty.dtype) ? ug_dtype_block_elems(ty.dtype) : 1;
    int64_t n = t->ne[0] < 1024 ? t->ne[0] : 1024 / be * be, bytes;
    if (!ug_dtype_bytes(ty.dtype, n, &bytes) || (uint64_t)bytes > t->size) abort();
    drop(ug_quant_dequantize_row(ty.dtype, t->data, n, row));
  }
  ug_gguf_close(f);
  /* the language-model builder on whatever the reader accepts */
  ug_gguf_import_options_t io;
  ug_gguf_import_options_init(&io);
  io.ctx = 16;
  ug_module_t *m = NULL;
  drop(ug_gguf_import_buffer(copy, size, "fuzz.gguf", &io, &m));
  if (m) ug_module_destroy(m);
  free(copy);
  return 0;
}
