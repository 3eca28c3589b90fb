/* libugrt API tests against the hand-written fixture models. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ugrt/ugrt.h"

#define FIX(name) UG_FIXTURE_DIR "/" name

/* Asserts that s is OK, printing its message otherwise. */
#define OK(expr)                                                                 \
  do {                                                                           \
    ugrt_status_t s_ = (expr);                                                   \
    ck_assert_msg(s_ == NULL, "%s: %s", #expr, ugrt_status_message(s_));         \
  } while (0)

/* Asserts that expr fails with `code` and a message containing `needle`. */
#define FAILS(expr, code, needle)                                                      \
  do {                                                                                 \
    ugrt_status_t s_ = (expr);                                                         \
    ck_assert_msg(s_ != NULL, "%s unexpectedly succeeded", #expr);                     \
    ck_assert_msg(ugrt_status_code(s_) == (code), "%s: code %s, message: %s", #expr,  \
                  ugrt_status_code_name(ugrt_status_code(s_)), ugrt_status_message(s_)); \
    ck_assert_msg(strstr(ugrt_status_message(s_), (needle)) != NULL,                   \
                  "%s: message \"%s\" lacks \"%s\"", #expr, ugrt_status_message(s_),   \
                  (needle));                                                           \
    ugrt_status_free(s_);                                                              \
  } while (0)

/* An allocator that counts live allocations and can fail the n-th one. */
typedef struct {
  long live, total;
  long fail_at; /* -1: never */
} counter_t;

static void *count_alloc(void *ctx, size_t size, size_t align) {
  counter_t *c = ctx;
  if (c->fail_at >= 0 && c->total == c->fail_at) {
    c->total++;
    return NULL;
  }
  c->total++;
  void *p = NULL;
  if (align < sizeof(void *)) align = sizeof(void *);
  if (posix_memalign(&p, align, size ? size : 1) != 0) return NULL;
  c->live++;
  return p;
}

static void count_free(void *ctx, void *ptr) {
  counter_t *c = ctx;
  if (!ptr) return;
  c->live--;
  free(ptr);
}

static ugrt_allocator_t counting(counter_t *c) {
  ugrt_allocator_t a = {count_alloc, count_free, c};
  return a;
}

static ugrt_model_t *load(const char *path) {
  ugrt_model_t *m = NULL;
  OK(ugrt_model_load(path, NULL, &m));
  return m;
}

/* ---- basics ---- */

START_TEST(test_version_and_status) {
  ck_assert_str_eq(ugrt_version(), "0.1.0");
  ck_assert_uint_eq(ugrt_abi_version(), UGRT_ABI_VERSION);
  ck_assert_int_eq(ugrt_status_code(NULL), UGRT_OK);
  ck_assert_str_eq(ugrt_status_message(NULL), "OK");
  ck_assert_str_eq(ugrt_status_code_name(UGRT_INVALID_MODEL), "INVALID_MODEL");
  ugrt_status_free(NULL);
  ck_assert_str_eq(ugrt_dtype_name(UGRT_F32), "f32");
  ck_assert_uint_eq(ugrt_dtype_size(UGRT_I64), 8);
  ck_assert_uint_eq(ugrt_dtype_size(UGRT_Q4_0), 0);
  ugrt_dtype_t d;
  ck_assert(ugrt_dtype_from_name("bool", &d) && d == UGRT_BOOL);
  ck_assert(!ugrt_dtype_from_name("f31", &d));
}
END_TEST

START_TEST(test_null_handles) {
  ugrt_model_t *m = (ugrt_model_t *)1;
  FAILS(ugrt_model_load(NULL, NULL, &m), UGRT_INVALID_ARGUMENT, "path");
  ck_assert_ptr_null(m);
  FAILS(ugrt_model_load(FIX("fixture_add.so"), NULL, NULL), UGRT_INVALID_ARGUMENT, "out_model");
  ugrt_model_release(NULL);
  ugrt_session_release(NULL);
  ck_assert_uint_eq(ugrt_model_entry_count(NULL), 0);
  ck_assert_uint_eq(ugrt_model_input_count(NULL, 0), 0);
  ck_assert_ptr_null(ugrt_model_entry_name(NULL, 0));
  ugrt_session_t *s = (ugrt_session_t *)1;
  FAILS(ugrt_session_create(NULL, NULL, &s), UGRT_INVALID_ARGUMENT, "model");
  ck_assert_ptr_null(s);
  FAILS(ugrt_session_run(NULL, 0), UGRT_INVALID_ARGUMENT, "session");
  FAILS(ugrt_session_set_input(NULL, 0, 0, UGRT_F32, 0, NULL, NULL, 0), UGRT_INVALID_ARGUMENT,
        "session");
  ugrt_tensor_view_t v;
  FAILS(ugrt_session_output(NULL, 0, 0, &v), UGRT_INVALID_ARGUMENT, "NULL");
  FAILS(ugrt_session_copy_output(NULL, 0, 0, NULL, 0), UGRT_INVALID_ARGUMENT, "NULL");
  ugrt_tensor_info_t info;
  FAILS(ugrt_model_input_info(NULL, 0, 0, &info), UGRT_INVALID_ARGUMENT, "NULL");
}
END_TEST

START_TEST(test_load_errors) {
  ugrt_model_t *m = NULL;
  FAILS(ugrt_model_load("/nonexistent/model.so", NULL, &m), UGRT_NOT_FOUND, "/nonexistent");
  ck_assert_ptr_null(m);
  /* A file that is not a shared object at all. */
  char path[] = "/tmp/ugrt_test_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "not an elf", 10), 10);
  close(fd);
  FAILS(ugrt_model_load(path, NULL, &m), UGRT_INVALID_MODEL, "cannot load model");
  unlink(path);
  ugrt_model_options_t o;
  ugrt_model_options_init(&o);
  o.device = "tpu";
  FAILS(ugrt_model_load(FIX("fixture_add.so"), &o, &m), UGRT_INVALID_ARGUMENT, "unknown device");
  o.device = "cuda";
  FAILS(ugrt_model_load(FIX("fixture_add.so"), &o, &m), UGRT_UNAVAILABLE, "no cuda target");
  o.device = "cuda:1";
  FAILS(ugrt_model_load(FIX("fixture_add.so"), &o, &m), UGRT_UNAVAILABLE, "cuda");
  ck_assert_ptr_null(m);
  o.device = "auto";
  OK(ugrt_model_load(FIX("fixture_add.so"), &o, &m));
  ck_assert_str_eq(ugrt_model_device(m), "cpu");
  ck_assert_str_eq(ugrt_model_target(m), "cpu:x86-64");
  ugrt_model_release(m);
}
END_TEST

/* ---- introspection ---- */

START_TEST(test_introspection) {
  ugrt_model_t *m = load(FIX("fixture_add.so"));
  ck_assert_str_eq(ugrt_model_producer(m), "fixture_add");
  ck_assert_uint_eq(ugrt_model_entry_count(m), 1);
  ck_assert_str_eq(ugrt_model_entry_name(m, 0), "main");
  ck_assert_ptr_null(ugrt_model_entry_name(m, 1));
  uint32_t e = 9;
  OK(ugrt_model_find_entry(m, "main", &e));
  ck_assert_uint_eq(e, 0);
  FAILS(ugrt_model_find_entry(m, "decode", &e), UGRT_NOT_FOUND, "decode");
  ck_assert_uint_eq(ugrt_model_input_count(m, 0), 2);
  ck_assert_uint_eq(ugrt_model_output_count(m, 0), 1);
  ck_assert_uint_eq(ugrt_model_input_count(m, 5), 0);
  ugrt_tensor_info_t info;
  OK(ugrt_model_input_info(m, 0, 1, &info));
  ck_assert_str_eq(info.name, "b");
  ck_assert_int_eq(info.dtype, UGRT_F32);
  ck_assert_uint_eq(info.rank, 1);
  ck_assert_int_eq(info.dims[0], -1);
  ck_assert_str_eq(info.dim_names[0], "n");
  OK(ugrt_model_output_info(m, 0, 0, &info));
  ck_assert_str_eq(info.name, "out");
  FAILS(ugrt_model_input_info(m, 0, 2, &info), UGRT_OUT_OF_RANGE, "input 2");
  ck_assert_ptr_null(info.name);
  FAILS(ugrt_model_output_info(m, 1, 0, &info), UGRT_OUT_OF_RANGE, "entry 1");
  uint32_t idx;
  OK(ugrt_model_find_input(m, 0, "b", &idx));
  ck_assert_uint_eq(idx, 1);
  FAILS(ugrt_model_find_output(m, 0, "nope", &idx), UGRT_NOT_FOUND, "\"nope\"");
  ugrt_model_release(m);

  m = load(FIX("fixture_rows.so"));
  ck_assert_uint_eq(ugrt_model_entry_count(m), 3);
  OK(ugrt_model_find_entry(m, "flat", &e));
  OK(ugrt_model_output_info(m, e, 0, &info));
  ck_assert_int_eq(info.dims[0], -1);
  ck_assert_str_eq(info.dim_names[0], "batch*4");
  OK(ugrt_model_input_info(m, 0, 0, &info));
  ck_assert_int_eq(info.dims[1], 4);
  ck_assert_ptr_null(info.dim_names[1]);
  ugrt_model_release(m);
}
END_TEST

/* ---- running ---- */

static void run_add(ugrt_session_t *s, int64_t n) {
  float a[64], b[64], out[64];
  for (int64_t i = 0; i < n; i++) {
    a[i] = (float)i;
    b[i] = 100.0f * (float)i;
  }
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &n, a, (size_t)n * 4));
  OK(ugrt_session_set_input_by_name(s, 0, "b", UGRT_F32, 1, &n, b, (size_t)n * 4));
  OK(ugrt_session_run(s, 0));
  ugrt_tensor_view_t v;
  OK(ugrt_session_output(s, 0, 0, &v));
  ck_assert_str_eq(v.name, "out");
  ck_assert_int_eq(v.dtype, UGRT_F32);
  ck_assert_uint_eq(v.rank, 1);
  ck_assert_int_eq(v.dims[0], n);
  ck_assert_uint_eq(v.size, (size_t)n * 4);
  OK(ugrt_session_copy_output(s, 0, 0, out, sizeof out));
  for (int64_t i = 0; i < n; i++) {
    ck_assert_float_eq(out[i], 101.0f * (float)i);
    ck_assert_float_eq(((const float *)v.data)[i], 101.0f * (float)i);
  }
}

START_TEST(test_run_add) {
  ugrt_model_t *m = load(FIX("fixture_add.so"));
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  run_add(s, 4);
  run_add(s, 37); /* the symbol rebinds, buffers grow */
  run_add(s, 1);
  run_add(s, 0);  /* empty tensors are fine */
  ugrt_session_release(s);
  ugrt_model_release(m);
}
END_TEST

START_TEST(test_input_errors) {
  ugrt_model_t *m = load(FIX("fixture_add.so"));
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  float a[8] = {0};
  int32_t ia[4] = {0};
  int64_t n4 = 4, n5 = 5, neg = -3, d2[2] = {2, 2};
  FAILS(ugrt_session_run(s, 0), UGRT_FAILED_PRECONDITION, "input \"a\" is not set");
  FAILS(ugrt_session_set_input(s, 0, 0, UGRT_I32, 1, &n4, ia, sizeof ia), UGRT_INVALID_ARGUMENT,
        "input \"a\" of entry \"main\": expected f32[n], got i32[4]");
  FAILS(ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, d2, a, 16), UGRT_INVALID_ARGUMENT,
        "expected f32[n], got f32[2,2]");
  FAILS(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &neg, a, 0), UGRT_INVALID_ARGUMENT,
        "negative");
  FAILS(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &n4, a, 12), UGRT_INVALID_ARGUMENT,
        "12 bytes of data, but f32[4] needs 16");
  FAILS(ugrt_session_set_input(s, 0, 7, UGRT_F32, 1, &n4, a, 16), UGRT_OUT_OF_RANGE, "input 7");
  FAILS(ugrt_session_set_input(s, 3, 0, UGRT_F32, 1, &n4, a, 16), UGRT_OUT_OF_RANGE, "entry 3");
  FAILS(ugrt_session_set_input_by_name(s, 0, "c", UGRT_F32, 1, &n4, a, 16), UGRT_NOT_FOUND,
        "no input named \"c\"");
  FAILS(ugrt_session_set_input_by_name(s, 0, NULL, UGRT_F32, 1, &n4, a, 16),
        UGRT_INVALID_ARGUMENT, "NULL");
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &n4, a, 16));
  FAILS(ugrt_session_set_input(s, 0, 1, UGRT_F32, 1, &n5, a, 20), UGRT_INVALID_ARGUMENT,
        "symbol \"n\" is bound to 4 by input \"a\"");
  /* Re-setting the binding input itself with a new shape is fine. */
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &n5, a, 20));
  OK(ugrt_session_set_input(s, 0, 1, UGRT_F32, 1, &n5, a, 20));
  ugrt_tensor_view_t v;
  FAILS(ugrt_session_output(s, 0, 0, &v), UGRT_FAILED_PRECONDITION, "has not run");
  OK(ugrt_session_run(s, 0));
  FAILS(ugrt_session_output(s, 0, 1, &v), UGRT_OUT_OF_RANGE, "output 1");
  float small[4];
  FAILS(ugrt_session_copy_output(s, 0, 0, small, sizeof small), UGRT_OUT_OF_RANGE,
        "output \"out\" (f32[5]) needs 20 bytes, the destination has 16");
  ugrt_session_release(s);
  ugrt_model_release(m);
}
END_TEST

START_TEST(test_rows_two_steps_and_arena) {
  ugrt_model_t *m = load(FIX("fixture_rows.so"));
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  for (int64_t batch = 1; batch <= 9; batch += 4) {
    float x[36];
    for (int i = 0; i < batch * 4; i++) x[i] = (float)i;
    int64_t dims[2] = {batch, 4};
    OK(ugrt_session_set_input_by_name(s, 0, "x", UGRT_F32, 2, dims, x, (size_t)batch * 16));
    OK(ugrt_session_run(s, 0));
    float t[36], colsum[4] = {0};
    for (int i = 0; i < batch * 4; i++) t[i] = x[i] * (float)(i % 4 + 1);
    for (int i = 0; i < batch * 4; i++) colsum[i % 4] += t[i];
    ugrt_tensor_view_t y, z;
    OK(ugrt_session_output(s, 0, 0, &y));
    OK(ugrt_session_output(s, 0, 1, &z));
    ck_assert_int_eq(y.dims[0], batch);
    ck_assert_uint_eq(z.rank, 2);
    ck_assert_int_eq(z.dims[0], batch);
    ck_assert_int_eq(z.dims[1], 4);
    for (int r = 0; r < batch; r++) {
      float want = t[r * 4] + t[r * 4 + 1] + t[r * 4 + 2] + t[r * 4 + 3];
      ck_assert_float_eq(((const float *)y.data)[r], want);
      for (int c = 0; c < 4; c++)
        ck_assert_float_eq(((const float *)z.data)[r * 4 + c], t[r * 4 + c] - colsum[c]);
    }
  }
  /* A static dim that disagrees. */
  float x[10] = {0};
  int64_t bad[2] = {2, 5};
  FAILS(ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, bad, x, 40), UGRT_INVALID_ARGUMENT,
        "dim 1 is 5, expected 4 (expected f32[batch,4], got f32[2,5])");
  /* Other entries: inputs are per entry. */
  uint32_t flat;
  OK(ugrt_model_find_entry(m, "flat", &flat));
  FAILS(ugrt_session_run(s, flat), UGRT_FAILED_PRECONDITION, "not set");
  int64_t d[2] = {2, 4};
  float xin[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  OK(ugrt_session_set_input(s, flat, 0, UGRT_F32, 2, d, xin, sizeof xin));
  OK(ugrt_session_run(s, flat));
  ugrt_tensor_view_t f;
  OK(ugrt_session_output(s, flat, 0, &f));
  ck_assert_uint_eq(f.rank, 1);
  ck_assert_int_eq(f.dims[0], 8);
  ck_assert_float_eq(((const float *)f.data)[7], 16.0f);
  ugrt_session_release(s);
  ugrt_model_release(m);
}
END_TEST

START_TEST(test_session_outlives_model) {
  ugrt_model_t *m = load(FIX("fixture_add.so"));
  ugrt_session_t *s1, *s2;
  OK(ugrt_session_create(m, NULL, &s1));
  OK(ugrt_session_create(m, NULL, &s2));
  ugrt_model_release(m);
  run_add(s1, 3);
  ugrt_session_release(s1);
  run_add(s2, 5);
  ugrt_session_release(s2);
}
END_TEST

/* ---- dim expressions ---- */

static void set_f32(ugrt_session_t *s, uint32_t entry, const char *name, int64_t n) {
  float v[64];
  for (int64_t i = 0; i < n; i++) v[i] = (float)(i + 1);
  OK(ugrt_session_set_input_by_name(s, entry, name, UGRT_F32, 1, &n, v, (size_t)n * 4));
}

START_TEST(test_dim_expressions) {
  ugrt_model_t *m = load(FIX("fixture_dims.so"));
  ugrt_tensor_info_t info;
  OK(ugrt_model_output_info(m, 0, 0, &info));
  ck_assert_str_eq(info.dim_names[0], "max(n, m)");
  uint32_t pair, only;
  OK(ugrt_model_find_entry(m, "pair", &pair));
  OK(ugrt_model_find_entry(m, "only_a", &only));
  OK(ugrt_model_input_info(m, pair, 2, &info));
  ck_assert_str_eq(info.dim_names[0], "n+1");
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  /* n=3, m=2: n-m=1, n/m=1, n%m=1, max=3, (n-m)/2=0, (n-m)%3=1, n+1=4 */
  set_f32(s, 0, "a", 3);
  set_f32(s, 0, "b", 2);
  OK(ugrt_session_run(s, 0));
  int64_t stats[8];
  OK(ugrt_session_copy_output(s, 0, 1, stats, sizeof stats));
  ck_assert_int_eq(stats[0], 1);
  ck_assert_int_eq(stats[1], 1);
  ck_assert_int_eq(stats[2], 1);
  ck_assert_int_eq(stats[3], 3);
  ck_assert_int_eq(stats[4], 0);
  ck_assert_int_eq(stats[5], 1);
  ck_assert_int_eq(stats[6], 4);
  ck_assert_int_eq(stats[7], 2); /* min(n, m) */
  ugrt_tensor_view_t c;
  OK(ugrt_session_output(s, 0, 0, &c));
  ck_assert_int_eq(c.dims[0], 3);
  ck_assert_float_eq(((const float *)c.data)[1], 4.0f);
  ck_assert_float_eq(((const float *)c.data)[2], 3.0f);
  /* n=1, m=2: floor semantics on a negative n-m = -1: -1/2 = -1, -1%3 = 2 */
  set_f32(s, 0, "a", 1);
  OK(ugrt_session_run(s, 0));
  OK(ugrt_session_copy_output(s, 0, 1, stats, sizeof stats));
  ck_assert_int_eq(stats[0], -1);
  ck_assert_int_eq(stats[1], 0);
  ck_assert_int_eq(stats[2], 1);
  ck_assert_int_eq(stats[3], 2);
  ck_assert_int_eq(stats[4], -1);
  ck_assert_int_eq(stats[5], 2);
  ck_assert_int_eq(stats[7], 1);
  /* m=0: n/m divides by zero */
  set_f32(s, 0, "b", 0);
  FAILS(ugrt_session_run(s, 0), UGRT_OUT_OF_RANGE, "divides 1 by zero");
  ugrt_tensor_view_t v;
  FAILS(ugrt_session_output(s, 0, 0, &v), UGRT_FAILED_PRECONDITION, "has not run");
  /* n=4: n * 2^61 overflows */
  set_f32(s, 0, "b", 1);
  set_f32(s, 0, "a", 4);
  FAILS(ugrt_session_run(s, 0), UGRT_OUT_OF_RANGE, "overflows int64");
  /* an input dim that is an expression is checked at run time */
  set_f32(s, pair, "a", 3);
  set_f32(s, pair, "b", 1);
  set_f32(s, pair, "p", 5);
  FAILS(ugrt_session_run(s, pair), UGRT_INVALID_ARGUMENT,
        "input \"p\": dim 0 is 5 but n+1 evaluates to 4");
  set_f32(s, pair, "p", 4);
  OK(ugrt_session_run(s, pair));
  float o[3];
  OK(ugrt_session_copy_output(s, pair, 0, o, sizeof o));
  ck_assert_float_eq(o[2], 3.0f + 4.0f);
  /* a symbol no input of this entry binds, which its plan does not use
   * (another entry's, as a GGUF model's prefill length is in decode):
   * the entry runs, expressions over it are not evaluated */
  set_f32(s, only, "a", 2);
  OK(ugrt_session_run(s, only));
  float oa[2];
  OK(ugrt_session_copy_output(s, only, 0, oa, sizeof oa));
  ck_assert_float_eq(oa[0], 1.0f);
  ck_assert_float_eq(oa[1], 2.0f);
  ugrt_session_release(s);
  ugrt_model_release(m);
}
END_TEST

/* ---- external weights ---- */

static void write_file(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

START_TEST(test_external_weights) {
  ugrt_model_t *m = load(FIX("fixture_extw.so"));
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  int64_t n = 2;
  float a[2] = {1, 2}, out[2];
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &n, a, sizeof a));
  OK(ugrt_session_run(s, 0));
  OK(ugrt_session_copy_output(s, 0, 0, out, sizeof out));
  ck_assert_float_eq(out[1], 234.0f); /* 2 * 'u' */
  ugrt_session_release(s);
  ugrt_model_release(m);

  /* A copy in a fresh directory, with wrong or missing weights beside it. */
  char dir[] = "/tmp/ugrt_extw_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char so[256], w[256];
  snprintf(so, sizeof so, "%s/model.so", dir);
  snprintf(w, sizeof w, "%s/fixture_extw.weights", dir);
  FILE *in = fopen(FIX("fixture_extw.so"), "rb");
  ck_assert_ptr_nonnull(in);
  static char buf[1 << 20];
  size_t len = fread(buf, 1, sizeof buf, in);
  fclose(in);
  write_file(so, buf, len);
  FAILS(ugrt_model_load(so, NULL, &m), UGRT_NOT_FOUND, "fixture_extw.weights");
  write_file(w, "ugrt-weights", 12);
  FAILS(ugrt_model_load(so, NULL, &m), UGRT_INVALID_MODEL, "has 12 bytes, the model expects 13");
  write_file(w, "ugrt-WEIGHTS\n", 13);
  FAILS(ugrt_model_load(so, NULL, &m), UGRT_INVALID_MODEL, "hash");
  ugrt_model_options_t o;
  ugrt_model_options_init(&o);
  o.verify_weights = false;
  OK(ugrt_model_load(so, &o, &m));
  ugrt_model_release(m);
  unlink(w);
  unlink(so);
  rmdir(dir);
}
END_TEST

/* ---- corrupted models ---- */

static const struct {
  int n;
  const char *needle;
} corruptions[] = {
    {1, "bad magic"},
    {2, "ABI version 99"},
    {3, "header_size 16"},
    {4, "step 0 calls kernel 7 of 1"},
    {5, "step 0 argument 2 is buffer 42 of 5"},
    {6, "not topological"},
    {7, "CPU kernel 0 (add_f32) is not code of the model"},
    {8, "dtype 99 out of range"},
    {9, "input 0 maps to buffer 2"},
    {10, "bad dims pointer"},
    {11, "does not support model ABI version"},
    {12, "does not export ugrt_model_query"},
    {13, "uses arena buffer 3 outside its lifetime"},
    {14, "weight buffer 4 [0, +16) exceeds the 8 weight bytes"},
    {15, "embedded weights are corrupted"},
    {16, "bad name pointer"},
    {17, "refers to missing expression"},
    {18, "0 entry points"},
    {19, "unknown kind 7"},
    {20, "is not code of the model"},
};

START_TEST(test_corrupt_models) {
  int i = _i;
  char path[512];
  snprintf(path, sizeof path, "%s/fixture_corrupt_%d.so", UG_FIXTURE_DIR, corruptions[i].n);
  counter_t c = {0, 0, -1};
  ugrt_model_options_t o;
  ugrt_model_options_init(&o);
  o.allocator = counting(&c);
  ugrt_model_t *m = (ugrt_model_t *)1;
  FAILS(ugrt_model_load(path, &o, &m), UGRT_INVALID_MODEL, corruptions[i].needle);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_uncorrupted_variant_runs) {
  ugrt_model_t *m = load(FIX("fixture_corrupt_0.so"));
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  int64_t n = 3;
  float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, out[3];
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 1, &n, a, sizeof a));
  OK(ugrt_session_set_input(s, 0, 1, UGRT_F32, 1, &n, b, sizeof b));
  OK(ugrt_session_run(s, 0));
  OK(ugrt_session_copy_output(s, 0, 0, out, sizeof out));
  ck_assert_float_eq(out[2], 63.0f); /* a + 2b */
  ugrt_session_release(s);
  ugrt_model_release(m);
}
END_TEST

/* ---- allocator ---- */

START_TEST(test_allocator_counts) {
  counter_t c = {0, 0, -1};
  ugrt_model_options_t o;
  ugrt_model_options_init(&o);
  o.allocator = counting(&c);
  ugrt_model_t *m;
  OK(ugrt_model_load(FIX("fixture_rows.so"), &o, &m));
  ck_assert_int_gt(c.live, 0);
  ugrt_session_t *s;
  OK(ugrt_session_create(m, NULL, &s));
  int64_t dims[2] = {3, 4};
  float x[12] = {0};
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, dims, x, sizeof x));
  OK(ugrt_session_run(s, 0));
  /* Error statuses come from the same allocator and are freed by the caller. */
  FAILS(ugrt_session_set_input(s, 0, 0, UGRT_I8, 2, dims, x, 12), UGRT_INVALID_ARGUMENT, "i8");
  FAILS(ugrt_model_find_entry(m, "zzz", &(uint32_t){0}), UGRT_NOT_FOUND, "zzz");
  long before = c.total;
  OK(ugrt_session_run(s, 0)); /* same shapes: no new allocation */
  ck_assert_int_eq(c.total, before);
  ugrt_session_release(s);
  ugrt_model_release(m);
  ck_assert_int_eq(c.live, 0);

  /* A session with its own allocator. */
  counter_t cs = {0, 0, -1};
  OK(ugrt_model_load(FIX("fixture_rows.so"), &o, &m));
  ugrt_session_options_t so;
  ugrt_session_options_init(&so);
  so.allocator = counting(&cs);
  OK(ugrt_session_create(m, &so, &s));
  OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, dims, x, sizeof x));
  OK(ugrt_session_run(s, 0));
  ck_assert_int_gt(cs.live, 0);
  ugrt_session_release(s);
  ck_assert_int_eq(cs.live, 0);
  ugrt_model_release(m);
  ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_allocation_failures) {
  /* Fail each allocation in turn: every call fails cleanly, nothing leaks. */
  bool done = false;
  for (long k = 0; !done && k < 1000; k++) {
    counter_t c = {0, 0, k};
    ugrt_model_options_t o;
    ugrt_model_options_init(&o);
    o.allocator = counting(&c);
    ugrt_model_t *m = NULL;
    ugrt_session_t *s = NULL;
    ugrt_status_t st = ugrt_model_load(FIX("fixture_rows.so"), &o, &m);
    if (!st) st = ugrt_session_create(m, NULL, &s);
    int64_t dims[2] = {3, 4};
    float x[12] = {0};
    if (!st) st = ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, dims, x, sizeof x);
    if (!st) st = ugrt_session_run(s, 0);
    if (st) {
      ck_assert_int_eq(ugrt_status_code(st), UGRT_OUT_OF_MEMORY);
    } else {
      done = true;
    }
    ugrt_status_free(st);
    ugrt_session_release(s);
    ugrt_model_release(m);
    ck_assert_msg(c.live == 0, "failing allocation %ld leaks %ld blocks", k, c.live);
  }
  ck_assert(done);
}
END_TEST

START_TEST(test_session_allocation_failures_keep_model_usable) {
  /* A session allocator that fails its k-th allocation: create, set_input
   * and run fail cleanly, the same session works once memory is back, and
   * the model keeps serving other sessions. */
  ugrt_model_t *m = load(FIX("fixture_rows.so"));
  bool done = false;
  int64_t dims[2] = {3, 4};
  float x[12] = {0};
  for (long k = 0; !done && k < 1000; k++) {
    counter_t c = {0, 0, k};
    ugrt_session_options_t so;
    ugrt_session_options_init(&so);
    so.allocator = counting(&c);
    ugrt_session_t *s = NULL;
    ugrt_status_t st = ugrt_session_create(m, &so, &s);
    if (st) {
      ck_assert_int_eq(ugrt_status_code(st), UGRT_OUT_OF_MEMORY);
      ck_assert_ptr_null(s);
      ugrt_status_free(st);
      ck_assert_msg(c.live == 0, "failing allocation %ld of create leaks %ld blocks", k, c.live);
    } else {
      st = ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, dims, x, sizeof x);
      if (!st) st = ugrt_session_run(s, 0);
      if (st) {
        ck_assert_int_eq(ugrt_status_code(st), UGRT_OUT_OF_MEMORY);
        ugrt_status_free(st);
        c.fail_at = -1; /* memory is back: the same session recovers */
        OK(ugrt_session_set_input(s, 0, 0, UGRT_F32, 2, dims, x, sizeof x));
        OK(ugrt_session_run(s, 0));
      } else {
        done = true;
      }
      ugrt_session_release(s);
      ck_assert_msg(c.live == 0, "failing allocation %ld leaks %ld blocks", k, c.live);
    }
    ugrt_session_t *ok = NULL;
    OK(ugrt_session_create(m, NULL, &ok));
    OK(ugrt_session_set_input(ok, 0, 0, UGRT_F32, 2, dims, x, sizeof x));
    OK(ugrt_session_run(ok, 0));
    ugrt_session_release(ok);
  }
  ck_assert(done);
  ugrt_model_release(m);
}
END_TEST

static Suite *runtime_suite(void) {
  Suite *s = suite_create("runtime");
  TCase *t = tcase_create("api");
  tcase_add_test(t, test_version_and_status);
  tcase_add_test(t, test_null_handles);
  tcase_add_test(t, test_load_errors);
  tcase_add_test(t, test_introspection);
  tcase_add_test(t, test_run_add);
  tcase_add_test(t, test_input_errors);
  tcase_add_test(t, test_rows_two_steps_and_arena);
  tcase_add_test(t, test_session_outlives_model);
  tcase_add_test(t, test_dim_expressions);
  tcase_add_test(t, test_external_weights);
  tcase_add_loop_test(t, test_corrupt_models, 0,
                      (int)(sizeof corruptions / sizeof corruptions[0]));
  tcase_add_test(t, test_uncorrupted_variant_runs);
  tcase_add_test(t, test_allocator_counts);
  tcase_add_test(t, test_allocation_failures);
  tcase_add_test(t, test_session_allocation_failures_keep_model_usable);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(runtime_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
