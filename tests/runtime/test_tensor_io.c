/* tools/common/tensor_io: .npy parsing on crafted bytes, round trips,
 * half-precision conversion, comparison, shapes, random fills, .pb files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/common/tensor_io.h"

/* An .npy image: magic, version `major`, header dict text, then data. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data,
                       size_t n) {
  size_t pre = major == 1 ? 10 : 12, k = strlen(dict);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  size_t hlen = k + 1;
  if (major == 1) {
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
  } else {
    for (int i = 0; i < 4; i++) buf[8 + i] = (unsigned char)(hlen >> (8 * i));
  }
  memcpy(buf + pre, dict, k);
  buf[pre + k] = '\n';
  if (n) memcpy(buf + pre + hlen, data, n);
  return pre + hlen + n;
}

static unsigned char buf[4096];
static char err[512];

START_TEST(test_npy_versions) {
  float v[3] = {1.5f, -2, 3};
  for (int major = 1; major <= 3; major++) {
    size_t n = make_npy(buf, major, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v,
                        sizeof v);
    ug_tensor_t t;
    ck_assert_msg(ug_npy_parse(buf, n, "x.npy", &t, err, sizeof err), "%s", err);
    ck_assert_int_eq(t.dtype, UGRT_F32);
    ck_assert_uint_eq(t.rank, 1);
    ck_assert_int_eq(t.dims[0], 3);
    ck_assert_uint_eq(t.size, 12);
    ck_assert_float_eq(((float *)t.data)[0], 1.5f);
    ug_tensor_free(&t);
  }
}
END_TEST

START_TEST(test_npy_dtypes_and_shapes) {
  ug_tensor_t t;
  unsigned char b[6] = {1, 0, 1, 1, 0, 0};
  size_t n = make_npy(buf, 1, "{\"descr\": \"|b1\", \"fortran_order\": False, \"shape\": (2, 3)}",
                      b, sizeof b);
  ck_assert_msg(ug_npy_parse(buf, n, "b.npy", &t, err, sizeof err), "%s", err);
  ck_assert_int_eq(t.dtype, UGRT_BOOL);
  ck_assert_uint_eq(t.rank, 2);
  ug_tensor_free(&t);
  int64_t s = 42;
  n = make_npy(buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': ()}", &s, 8);
  ck_assert_msg(ug_npy_parse(buf, n, "s.npy", &t, err, sizeof err), "%s", err);
  ck_assert_uint_eq(t.rank, 0);
  ck_assert_int_eq(*(int64_t *)t.data, 42);
  ug_tensor_free(&t);
  n = make_npy(buf, 1, "{'shape': (0, 4), 'fortran_order': False, 'descr': '<f2'}", NULL, 0);
  ck_assert_msg(ug_npy_parse(buf, n, "e.npy", &t, err, sizeof err), "%s", err);
  ck_assert_int_eq(t.dtype, UGRT_F16);
  ck_assert_uint_eq(t.size, 0);
  ug_tensor_free(&t);
  const struct {
    const char *descr;
    ugrt_dtype_t dtype;
  } types[] = {{"<f8", UGRT_F64}, {"<i4", UGRT_I32}, {"<i2", UGRT_I16}, {"|i1", UGRT_I8},
               {"|u1", UGRT_U8},  {"<u2", UGRT_U16}, {"<u4", UGRT_U32}, {"<u8", UGRT_U64},
               {"|?", UGRT_BOOL}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (1,), }",
             types[i].descr);
    uint64_t zero = 0;
    n = make_npy(buf, 1, dict, &zero, ugrt_dtype_size(types[i].dtype));
    ck_assert_msg(ug_npy_parse(buf, n, "t.npy", &t, err, sizeof err), "%s: %s", types[i].descr,
                  err);
    ck_assert_int_eq(t.dtype, types[i].dtype);
    ug_tensor_free(&t);
  }
}
END_TEST

static void npy_fails(int major, const char *dict, size_t data_bytes, const char *needle) {
  static const unsigned char zeros[64];
  size_t n = make_npy(buf, major, dict, zeros, data_bytes);
  ug_tensor_t t;
  ck_assert_msg(!ug_npy_parse(buf, n, "bad.npy", &t, err, sizeof err), "%s parsed", dict);
  ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" lacks \"%s\"", err, needle);
  ck_assert_ptr_null(t.data);
}

START_TEST(test_npy_errors) {
  npy_fails(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran-order");
  npy_fails(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian");
  npy_fails(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported .npy dtype");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, "8 data bytes");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 16, "16 data bytes");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", 12, "unexpected key");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False}", 4, "lacks");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': Nope, 'shape': (1,)}", 4, "fortran_order");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,", 4, "malformed");
  npy_fails(1, "['descr']", 4, "malformed");
  npy_fails(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4, "structured");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}", 4, "rank");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", 4, "shape");
  npy_fails(4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "version 4");
  ug_tensor_t t;
  ck_assert(!ug_npy_parse("PK\x03\x04zipzipzip", 13, "z.npy", &t, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "bad magic"));
  /* a header length running past the end */
  size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", NULL, 0);
  ck_assert(!ug_npy_parse(buf, 20, "cut.npy", &t, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "truncated"));
  (void)n;
  /* A shape of 512 GiB with no data: refused before any allocation (fuzz
   * finding: the reader used to allocate for the shape first). */
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (137438953472,)}", 0,
            "0 data bytes, but the header's dtype and shape need 549755813888");
  npy_fails(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,)}", 0,
            "overflows");
  ck_assert(!ug_npy_read("/nonexistent/x.npy", &t, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

START_TEST(test_npy_roundtrip) {
  char path[] = "/tmp/ug_npy_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  int32_t v[6] = {1, -2, 3, -4, 5, -6};
  int64_t dims[2] = {3, 2};
  ck_assert_msg(ug_npy_write(path, UGRT_I32, 2, dims, v, sizeof v, err, sizeof err), "%s", err);
  ug_tensor_t t;
  ck_assert_msg(ug_npy_read(path, &t, err, sizeof err), "%s", err);
  ck_assert_int_eq(t.dtype, UGRT_I32);
  ck_assert_uint_eq(t.rank, 2);
  ck_assert_int_eq(t.dims[0], 3);
  ck_assert_int_eq(memcmp(t.data, v, sizeof v), 0);
  ug_tensor_free(&t);
  /* rank 0 and rank 1 spell their tuples differently: () and (n,) */
  double d = 2.5;
  ck_assert(ug_npy_write(path, UGRT_F64, 0, NULL, &d, 8, err, sizeof err));
  ck_assert(ug_npy_read(path, &t, err, sizeof err));
  ck_assert_uint_eq(t.rank, 0);
  ug_tensor_free(&t);
  int64_t one = 1;
  ck_assert(ug_npy_write(path, UGRT_BOOL, 1, &one, "\1", 1, err, sizeof err));
  ck_assert(ug_npy_read(path, &t, err, sizeof err));
  ck_assert_int_eq(t.dtype, UGRT_BOOL);
  ck_assert_uint_eq(t.rank, 1);
  ug_tensor_free(&t);
  /* the data starts on a 64-byte boundary */
  FILE *f = fopen(path, "rb");
  unsigned char head[10];
  ck_assert_uint_eq(fread(head, 1, 10, f), 10);
  fclose(f);
  ck_assert_uint_eq((10u + head[8] + 256u * head[9]) % 64, 0);
  ck_assert(!ug_npy_write(path, UGRT_BF16, 1, &one, "\0\0", 2, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "no NumPy equivalent"));
  unlink(path);
}
END_TEST

START_TEST(test_half) {
  ck_assert_uint_eq(ug_tensor_f32_to_f16(1.0f), 0x3c00);
  ck_assert_uint_eq(ug_tensor_f32_to_f16(-2.0f), 0xc000);
  ck_assert_uint_eq(ug_tensor_f32_to_f16(65504.0f), 0x7bff);
  ck_assert_uint_eq(ug_tensor_f32_to_f16(1e6f), 0x7c00);
  ck_assert_uint_eq(ug_tensor_f32_to_f16(5.9604645e-8f), 0x0001);
  ck_assert(isnan(ug_tensor_f16_to_f32(ug_tensor_f32_to_f16(NAN))));
  ck_assert_float_eq(ug_tensor_f16_to_f32(0x3c00), 1.0f);
  ck_assert_float_eq(ug_tensor_f16_to_f32(0x0001), 5.9604645e-8f);
  ck_assert(isinf(ug_tensor_f16_to_f32(0xfc00)) && ug_tensor_f16_to_f32(0xfc00) < 0);
  for (uint32_t h = 0; h < 0x7c00; h++) ck_assert_uint_eq(ug_tensor_f32_to_f16(ug_tensor_f16_to_f32((uint16_t)h)), h);
}
END_TEST

static ug_tensor_t tensor(ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims, const void *v) {
  ug_tensor_t t;
  ck_assert(ug_tensor_alloc(&t, dtype, rank, dims, err, sizeof err));
  memcpy(t.data, v, t.size);
  return t;
}

START_TEST(test_compare) {
  int64_t d3 = 3, d31[2] = {3, 1};
  float a[3] = {1.0f, NAN, 100.0f}, b[3] = {1.0f + 1e-4f, NAN, 100.05f}, c[3] = {1.0f, 0, 100.0f};
  ug_tensor_t ta = tensor(UGRT_F32, 1, &d3, a), tb = tensor(UGRT_F32, 1, &d3, b);
  ug_tensor_t tc = tensor(UGRT_F32, 1, &d3, c), tr = tensor(UGRT_F32, 2, d31, a);
  char why[256];
  ck_assert_msg(ug_tensor_compare(&ta, &tb, 1e-3, 1e-7, why, sizeof why), "%s", why);
  ck_assert(!ug_tensor_compare(&ta, &tc, 1e-3, 1e-7, why, sizeof why));
  ck_assert_ptr_nonnull(strstr(why, "1 of 3 elements"));
  ck_assert(!ug_tensor_compare(&ta, &tr, 1e-3, 1e-7, why, sizeof why));
  ck_assert_ptr_nonnull(strstr(why, "got f32[3], expected f32[3,1]"));
  ck_assert(!ug_tensor_compare(&ta, &tb, 1e-6, 1e-7, why, sizeof why));
  int64_t i1[3] = {1, 2, 3}, i2[3] = {1, 2, 4};
  ug_tensor_t ti1 = tensor(UGRT_I64, 1, &d3, i1), ti2 = tensor(UGRT_I64, 1, &d3, i2);
  ck_assert(!ug_tensor_compare(&ti1, &ti2, 1, 1, why, sizeof why));
  ck_assert_ptr_nonnull(strstr(why, "got 3, expected 4"));
  ck_assert(!ug_tensor_compare(&ti1, &ta, 1, 1, why, sizeof why));
  ug_tensor_free(&ta);
  ug_tensor_free(&tb);
  ug_tensor_free(&tc);
  ug_tensor_free(&tr);
  ug_tensor_free(&ti1);
  ug_tensor_free(&ti2);
}
END_TEST

START_TEST(test_shapes_and_random) {
  uint32_t rank;
  int64_t dims[UGRT_MAX_RANK];
  ck_assert(ug_parse_shape("1x3x224x224", &rank, dims));
  ck_assert_uint_eq(rank, 4);
  ck_assert_int_eq(dims[3], 224);
  ck_assert(ug_parse_shape("", &rank, dims) && rank == 0);
  ck_assert(ug_parse_shape("7", &rank, dims) && rank == 1 && dims[0] == 7);
  ck_assert(!ug_parse_shape("3x", &rank, dims));
  ck_assert(!ug_parse_shape("ax3", &rank, dims));
  ck_assert(!ug_parse_shape("-1", &rank, dims));
  int64_t d = 100;
  ug_tensor_t a, b;
  ck_assert(ug_tensor_alloc(&a, UGRT_F32, 1, &d, err, sizeof err));
  ck_assert(ug_tensor_alloc(&b, UGRT_F32, 1, &d, err, sizeof err));
  ug_tensor_fill_random(&a, 5);
  ug_tensor_fill_random(&b, 5);
  ck_assert_int_eq(memcmp(a.data, b.data, a.size), 0);
  for (int i = 0; i < 100; i++) ck_assert(fabsf(((float *)a.data)[i]) <= 1.0f);
  ug_tensor_fill_random(&b, 6);
  ck_assert_int_ne(memcmp(a.data, b.data, a.size), 0);
  ug_tensor_free(&a);
  ug_tensor_free(&b);
}
END_TEST

START_TEST(test_pb) {
  ug_tensor_t t;
#ifdef UG_TENSOR_IO_ONNX
  if (access(UG_TEST_PB, R_OK) == 0) {
    ck_assert_msg(ug_pb_read(UG_TEST_PB, &t, err, sizeof err), "%s", err);
    ck_assert_int_eq(t.dtype, UGRT_F32);
    ck_assert_uint_eq(t.rank, 3);
    ck_assert_int_eq(t.dims[2], 5);
    ck_assert_uint_eq(t.size, 240);
    ug_tensor_free(&t);
  }
  /* dims [2^37] of f32 and no data: refused before allocating 512 GiB. */
  ck_assert(!ug_pb_parse("\x08\x80\x80\x80\x80\x80\x04\x10\x01", 9, "big.pb", &t, err,
                         sizeof err));
  ck_assert_msg(strstr(err, "0 values for a tensor of 137438953472 elements") != NULL, "%s", err);
  ck_assert(!ug_pb_parse("\xff\xff\xff", 3, "junk.pb", &t, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "not a valid ONNX TensorProto"));
#else
  ck_assert(!ug_pb_parse("", 0, "x.pb", &t, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "built without ONNX support"));
#endif
}
END_TEST

int main(void) {
  Suite *s = suite_create("tensor_io");
  TCase *tc = tcase_create("io");
  tcase_add_test(tc, test_npy_versions);
  tcase_add_test(tc, test_npy_dtypes_and_shapes);
  tcase_add_test(tc, test_npy_errors);
  tcase_add_test(tc, test_npy_roundtrip);
  tcase_add_test(tc, test_half);
  tcase_add_test(tc, test_compare);
  tcase_add_test(tc, test_shapes_and_random);
  tcase_add_test(tc, test_pb);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
