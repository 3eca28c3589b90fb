/* Unit tests of the graph passes (dce, cse, const-fold, canonicalize) for
 * what FileCheck cannot show easily: results compared bit for bit with
 * hand-computed values, large generated graphs, odd inputs (zero-size
 * tensors, fp8 and quantized constants) and the default pipeline end to end.
 * Expected values are written by hand from the op definitions (ONNX), never
 * produced by ugcc. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/text.h"
#include "passes/eval.h"
#include "passes/pass.h"

/* ---- helpers ---- */

static ug_module_t *parse(const char *text) {
  ug_module_t *m = NULL;
  ug_status_t st = ug_parse_module(text, strlen(text), "test.ugir", &m);
  ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
  return m;
}

/* Runs a pass list ("a,b") or, with NULL, the default pipeline at -O2; the
 * verifier runs after every pass. */
static void run(ug_module_t *m, const char *passes) {
  ug_pass_options_t o;
  ug_pass_options_init(&o);
  o.verify_each = true;
  ug_pass_manager_t *pm = NULL;
  ck_assert_ptr_null(ug_pass_manager_create(&o, &pm));
  if (passes) {
    ug_status_t st = ug_pass_manager_add_list(pm, passes);
    ck_assert_msg(st == NULL, "%s", ug_status_message(st));
  } else {
    ug_pass_manager_add_default(pm, 2);
  }
  ug_status_t st = ug_pass_manager_run(pm, m);
  ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
  ug_pass_manager_destroy(pm);
}

static ug_graph_t *graph0(ug_module_t *m) { return m->graphs.items[0]; }

/* The data of graph output i, which must have been folded to a constant. */
static const void *output_data(ug_module_t *m, size_t i) {
  ug_graph_t *g = graph0(m);
  ck_assert_uint_lt(i, g->outputs.len);
  const ug_weight_t *w = ug_value_weight(g, g->outputs.items[i]);
  ck_assert_msg(w != NULL, "output %zu is not a constant", i);
  ck_assert_ptr_nonnull(w->data);
  return w->data;
}

static bool output_is_const(ug_module_t *m, size_t i) {
  ug_graph_t *g = graph0(m);
  return ug_value_weight(g, g->outputs.items[i]) != NULL;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* ---- f16 / bf16 conversions ---- */

START_TEST(f16_conversion_rounds_to_nearest_even) {
  static const struct { float f; uint16_t h; } cases[] = {
      {0.0f, 0x0000},          {-0.0f, 0x8000},       {1.0f, 0x3c00},
      {-2.0f, 0xc000},         {65504.0f, 0x7bff},    {65519.0f, 0x7bff}, /* below the halfway point */
      {65520.0f, 0x7c00},      {1e6f, 0x7c00},        {INFINITY, 0x7c00},
      {-INFINITY, 0xfc00},     {0x1p-14f, 0x0400},    /* smallest normal */
      {0x1p-24f, 0x0001},      /* smallest subnormal */
      {0x1p-25f, 0x0000},      /* halfway to 0x0001: ties to even, 0 */
      {0x1.8p-24f, 0x0002},    /* 1.5 units: ties to even, 2 */
      {0x1.001p0f, 0x3c00},    /* 1 + a quarter ulp: down */
      {0x1.006p0f, 0x3c02},    /* 1 + 1.5 ulp: ties to even, up */
      {2049.0f, 0x6800},       /* 2048 + 1: ties to even, 2048 */
      {2051.0f, 0x6802},       /* 2050 + 1: ties to even, 2052 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(ug_f32_to_f16(cases[i].f) == cases[i].h, "%a -> 0x%04x, want 0x%04x",
                  (double)cases[i].f, ug_f32_to_f16(cases[i].f), cases[i].h);
  ck_assert_uint_eq(ug_f32_to_f16(NAN) & 0x7c00, 0x7c00);
  ck_assert_uint_ne(ug_f32_to_f16(NAN) & 0x03ff, 0);
  /* Every f16 bit pattern but NaNs survives f16 -> f32 -> f16. */
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
    ck_assert_uint_eq(ug_f32_to_f16(ug_f16_to_f32((uint16_t)h)), h);
  }
  ck_assert(ug_f16_to_f32(0x0001) == 0x1p-24f);
  ck_assert(ug_f16_to_f32(0xfbff) == -65504.0f);
}
END_TEST

START_TEST(bf16_conversion_rounds_to_nearest_even) {
  ck_assert_uint_eq(ug_f32_to_bf16(1.0f), 0x3f80);
  ck_assert_uint_eq(ug_f32_to_bf16(-2.0f), 0xc000);
  ck_assert_uint_eq(ug_f32_to_bf16(0x1.01p0f), 0x3f80);  /* 1 + half an ulp: to even, down */
  ck_assert_uint_eq(ug_f32_to_bf16(0x1.03p0f), 0x3f82);  /* 1 + 1.5 ulp: to even, up */
  ck_assert_uint_eq(ug_f32_to_bf16(0x1.018p0f), 0x3f81); /* 1 + 0.75 ulp: up */
  ck_assert_uint_eq(ug_f32_to_bf16(INFINITY), 0x7f80);
  ck_assert_uint_eq(ug_f32_to_bf16(0x1.fffffep127f), 0x7f80); /* rounds up to inf */
  uint16_t nan = ug_f32_to_bf16(NAN);
  ck_assert(isnan(ug_bf16_to_f32(nan)));
  ck_assert(ug_bf16_to_f32(0x4049) == 3.140625f);
}
END_TEST

/* ---- const-fold: numbers ---- */

START_TEST(fold_float_math_matches_hand_values) {
  ug_module_t *m = parse(
      "graph @g() -> (a: f32[4], b: f32[4], c: f32[4], d: f32[4], e: f32[4], f: f64[2]) {\n"
      "  %0 = const dense<[0.0, 1.0, -1.0, 2.0]> : f32[4]\n"
      "  %1 = exp %0 : f32[4]\n"
      "  %2 = sigmoid %0 : f32[4]\n"
      "  %3 = relu %0 : f32[4]\n"
      "  %4 = const dense<[3.0, 3.0, 4.0, 0.5]> : f32[4]\n"
      "  %5 = pow %0, %4 : f32[4]\n"
      "  %6 = round %4 : f32[4]\n"
      "  %7 = const dense<[0.1, 0.2]> : f64[2]\n"
      "  %8 = const dense<[0.2, 0.1]> : f64[2]\n"
      "  %9 = add %7, %8 : f64[2]\n"
      "  return %1, %2, %3, %5, %6, %9\n"
      "}\n");
  run(m, "const-fold");
  const float *e = output_data(m, 0), *s = output_data(m, 1), *r = output_data(m, 2);
  const float *p = output_data(m, 3), *rd = output_data(m, 4);
  const double *d = output_data(m, 5);
  /* exp(x) rounded to f32: e = 2.7182817..., 1/e = 0.36787945..., e^2 = 7.389056... */
  ck_assert(e[0] == 1.0f);
  ck_assert_uint_eq(f32_bits(e[1]), f32_bits(2.71828183f));
  ck_assert_uint_eq(f32_bits(e[2]), f32_bits(0.367879441f));
  ck_assert_uint_eq(f32_bits(e[3]), f32_bits(7.3890561f));
  ck_assert(s[0] == 0.5f);
  ck_assert_uint_eq(f32_bits(s[1]), f32_bits(0.731058579f));
  ck_assert_uint_eq(f32_bits(s[2]), f32_bits(0.268941421f));
  ck_assert(r[0] == 0.0f && r[1] == 1.0f && r[2] == 0.0f && r[3] == 2.0f);
  ck_assert(p[0] == 0.0f && p[1] == 1.0f && p[2] == 1.0f);
  ck_assert_uint_eq(f32_bits(p[3]), f32_bits(1.41421356f));
  /* round: halves to even (0.5 -> 0, 3 -> 3) */
  ck_assert(rd[0] == 3.0f && rd[1] == 3.0f && rd[2] == 4.0f && rd[3] == 0.0f && !signbit(rd[3]));
  /* f64 arithmetic stays in f64: 0.1 + 0.2 != 0.3 */
  ck_assert(d[0] == 0.1 + 0.2 && d[0] != 0.3 && d[1] == d[0]);
  ug_module_destroy(m);
}
END_TEST

START_TEST(fold_integer_semantics) {
  ug_module_t *m = parse(
      "graph @g() -> (a: i32[2], b: i64[3], c: u8[4], d: u8[4], e: i16[3], f: u64[2]) {\n"
      "  %0 = const dense<[2147483647, -2147483648]> : i32[2]\n"
      "  %1 = const dense<[1, -1]> : i32[2]\n"
      "  %2 = add %0, %1 : i32[2]\n"
      "  %3 = const dense<[3, -2, 7]> : i64[3]\n"
      "  %4 = const dense<[4, 3, 0]> : i64[3]\n"
      "  %5 = pow %3, %4 : i64[3]\n"
      "  %6 = const dense<[1, 128, 255, 3]> : u8[4]\n"
      "  %7 = const dense<[1, 1, 4, 8]> : u8[4]\n"
      "  %8 = bitshift %6, %7 {direction=\"LEFT\"} : u8[4]\n"
      "  %9 = bitshift %6, %7 {direction=\"RIGHT\"} : u8[4]\n"
      "  %10 = const dense<[-7, 7, -8]> : i16[3]\n"
      "  %11 = const dense<[3, -3, 3]> : i16[3]\n"
      "  %12 = mod %10, %11 {fmod=0} : i16[3]\n"
      "  %13 = const dense<[18446744073709551615, 2]> : u64[2]\n"
      "  %14 = const dense<[1, 3]> : u64[2]\n"
      "  %15 = add %13, %14 : u64[2]\n"
      "  return %2, %5, %8, %9, %12, %15\n"
      "}\n");
  run(m, "const-fold");
  const int32_t *a = output_data(m, 0);
  const int64_t *b = output_data(m, 1);
  const uint8_t *l = output_data(m, 2), *r = output_data(m, 3);
  const int16_t *md = output_data(m, 4);
  const uint64_t *u = output_data(m, 5);
  ck_assert_int_eq(a[0], INT32_MIN); /* wraps */
  ck_assert_int_eq(a[1], INT32_MAX);
  ck_assert_int_eq(b[0], 81);
  ck_assert_int_eq(b[1], -8);
  ck_assert_int_eq(b[2], 1);
  ck_assert_uint_eq(l[0], 2);
  ck_assert_uint_eq(l[1], 0);
  ck_assert_uint_eq(l[2], 0xf0);
  ck_assert_uint_eq(l[3], 0); /* shift by the width */
  ck_assert_uint_eq(r[0], 0);
  ck_assert_uint_eq(r[1], 64);
  ck_assert_uint_eq(r[2], 15);
  ck_assert_uint_eq(r[3], 0);
  /* mod takes the sign of the divisor (Python/NumPy): -7 mod 3 = 2, 7 mod -3 = -2 */
  ck_assert_int_eq(md[0], 2);
  ck_assert_int_eq(md[1], -2);
  ck_assert_int_eq(md[2], 1);
  ck_assert_uint_eq(u[0], 0);
  ck_assert_uint_eq(u[1], 5);
  ug_module_destroy(m);
}
END_TEST

START_TEST(fold_skips_undefined_integer_results) {
  /* INT32_MIN / -1 has no i32 value; INT64_MIN / -1 none in i64; x % 0 none. */
  ug_module_t *m = parse(
      "graph @g() -> (a: i32[1], b: i64[1], c: i8[1], d: i32[1]) {\n"
      "  %0 = const dense<-2147483648> : i32[1]\n"
      "  %1 = const dense<-1> : i32[1]\n"
      "  %2 = div %0, %1 : i32[1]\n"
      "  %3 = const dense<-9223372036854775808> : i64[1]\n"
      "  %4 = const dense<-1> : i64[1]\n"
      "  %5 = div %3, %4 : i64[1]\n"
      "  %6 = const dense<5> : i8[1]\n"
      "  %7 = const dense<0> : i8[1]\n"
      "  %8 = mod %6, %7 {fmod=1} : i8[1]\n"
      "  %9 = const dense<-2147483647> : i32[1]\n"
      "  %10 = div %9, %1 : i32[1]\n"
      "  return %2, %5, %8, %10\n"
      "}\n");
  run(m, "const-fold");
  ck_assert(!output_is_const(m, 0));
  ck_assert(!output_is_const(m, 1));
  ck_assert(!output_is_const(m, 2));
  const int32_t *d = output_data(m, 3);
  ck_assert_int_eq(d[0], 2147483647);
  ug_module_destroy(m);
}
END_TEST

START_TEST(fold_movement_and_reductions) {
  ug_module_t *m = parse(
      "graph @g() -> (a: f32[1,2,1], b: f32[2,2,2], c: i32[3], d: f32[2,3], e: i64[2,2], f: f32[2]) {\n"
      "  %0 = const dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : f32[2,2,2]\n"
      "  %1 = reduce_mean %0 {axes=[0, 2], keepdims=1} : f32[1,2,1]\n"
      "  %2 = transpose %0 {perm=[2, 0, 1]} : f32[2,2,2]\n"
      "  %3 = const dense<[0, 1, 2, 3, 4, 5, 6]> : i32[7]\n"
      "  %4 = slice %3 {axes=[0], starts=[5], ends=[0], steps=[-2]} : i32[3]\n"
      "  %5 = const dense<[1.0, 2.0, 3.0, 4.0]> : f32[2,2]\n"
      "  %6 = const dense<[9.0, 8.0]> : f32[2,1]\n"
      "  %7 = concat %5, %6 {axis=1} : f32[2,3]\n"
      "  %8 = const dense<[10, 20, 30]> : i64[3]\n"
      "  %9 = const dense<[-1, 0, 1, -3]> : i32[2,2]\n"
      "  %10 = gather %8, %9 {axis=0} : i64[2,2]\n"
      "  %11 = reduce_min %5 {axes=[1], keepdims=0} : f32[2]\n"
      "  return %1, %2, %4, %7, %10, %11\n"
      "}\n");
  run(m, "const-fold");
  const float *mean = output_data(m, 0), *tr = output_data(m, 1), *cc = output_data(m, 3);
  const float *mn = output_data(m, 5);
  const int32_t *sl = output_data(m, 2);
  const int64_t *ga = output_data(m, 4);
  /* mean over axes 0 and 2 of [[[1,2],[3,4]],[[5,6],[7,8]]]: (1+2+5+6)/4, (3+4+7+8)/4 */
  ck_assert(mean[0] == 3.5f && mean[1] == 5.5f);
  /* out[i][j][k] = in[j][k][i] */
  static const float want_tr[8] = {1, 3, 5, 7, 2, 4, 6, 8};
  for (int i = 0; i < 8; i++) ck_assert_msg(tr[i] == want_tr[i], "transpose[%d] = %g", i, (double)tr[i]);
  ck_assert_int_eq(sl[0], 5);
  ck_assert_int_eq(sl[1], 3);
  ck_assert_int_eq(sl[2], 1);
  static const float want_cc[6] = {1, 2, 9, 3, 4, 8};
  for (int i = 0; i < 6; i++) ck_assert(cc[i] == want_cc[i]);
  ck_assert_int_eq(ga[0], 30);
  ck_assert_int_eq(ga[1], 10);
  ck_assert_int_eq(ga[2], 20);
  ck_assert_int_eq(ga[3], 10);
  ck_assert(mn[0] == 1.0f && mn[1] == 3.0f);
  ug_module_destroy(m);
}
END_TEST

START_TEST(fold_zero_size_tensors) {
  ug_module_t *m = parse(
      "graph @g() -> (a: f32[0,3], b: f32[2], c: f32[3], d: i64[2]) {\n"
      "  %0 = const dense<[]> : f32[0,3]\n"
      "  %1 = exp %0 : f32[0,3]\n"
      "  %2 = const dense<[]> : f32[0]\n"
      "  %3 = const dense<[1.0, 2.0]> : f32[2]\n"
      "  %4 = concat %2, %3 {axis=0} : f32[2]\n"
      "  %5 = reduce_sum %0 {axes=[0], keepdims=0} : f32[3]\n"
      "  %6 = shape_of %0 : i64[2]\n"
      "  return %1, %4, %5, %6\n"
      "}\n");
  run(m, "const-fold");
  for (size_t i = 0; i < 4; i++) ck_assert_msg(output_is_const(m, i), "output %zu not folded", i);
  const float *c = output_data(m, 1), *s = output_data(m, 2);
  const int64_t *sh = output_data(m, 3);
  ck_assert(c[0] == 1.0f && c[1] == 2.0f);
  ck_assert(s[0] == 0.0f && s[1] == 0.0f && s[2] == 0.0f); /* the empty sum */
  ck_assert_int_eq(sh[0], 0);
  ck_assert_int_eq(sh[1], 3);
  ug_module_destroy(m);
}
END_TEST

/* A graph with one const of dtype dt (data `bytes`) feeding op; returns the
 * module.  Used for dtypes the text form cannot write inline. */
static ug_module_t *const_then(ug_dtype_t dt, int64_t n, const void *bytes, uint64_t size, ug_op_t op,
                               const ug_type_t *rtype) {
  ug_module_t *m = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(m, "g");
  ug_dim_t d = n;
  ug_type_t t = ug_type_make(dt, 1, &d);
  void *data = ug_arena_dup(m->arena, bytes, size);
  ug_weight_id_t w;
  ck_assert_ptr_null(ug_module_add_weight(m, NULL, &t, data, size, ug_hash_bytes(data, size), &w));
  ug_value_id_t c, r;
  ck_assert_ptr_null(ug_graph_add_const(g, w, NULL, &c));
  ug_status_t st = ug_graph_add_node(g, op, &c, 1, NULL, 0, rtype, 1, NULL, &r, NULL);
  ck_assert_msg(st == NULL, "%s", ug_status_message(st));
  ug_graph_add_output(g, r, "out");
  return m;
}

START_TEST(fold_skips_fp8_and_quantized) {
  uint8_t f8[4] = {0x38, 0x40, 0xb8, 0x00};
  ug_module_t *m = const_then(UG_DTYPE_F8E4M3, 4, f8, sizeof f8, UG_OP_NEG, NULL);
  run(m, "const-fold");
  ck_assert(!output_is_const(m, 0));
  ug_module_destroy(m);

  /* One q8_0 block (32 elements in 34 bytes), dequantized by a cast: the
   * evaluator does not decode quantized blocks, so it stays. */
  uint8_t q[34] = {0};
  ug_dim_t qd = 32;
  ug_type_t rt = ug_type_make(UG_DTYPE_F32, 1, &qd);
  m = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(m, "g");
  ug_type_t qt = ug_type_make(UG_DTYPE_Q8_0, 1, &qd);
  void *data = ug_arena_dup(m->arena, q, sizeof q);
  ug_weight_id_t w;
  ck_assert_ptr_null(ug_module_add_weight(m, NULL, &qt, data, sizeof q, ug_hash_bytes(data, sizeof q), &w));
  ug_value_id_t c, r;
  ck_assert_ptr_null(ug_graph_add_const(g, w, NULL, &c));
  ug_attr_t to = ug_attr_dtype(UG_ATTR_TO, UG_DTYPE_F32);
  ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_CAST, &c, 1, &to, 1, &rt, 1, NULL, &r, NULL));
  ug_graph_add_output(g, r, "out");
  run(m, "const-fold");
  ck_assert(!output_is_const(m, 0));
  ug_module_destroy(m);
}
END_TEST

START_TEST(fold_f16_through_float) {
  /* f16 1.0, 65504, 2^-24, -0.0 */
  uint16_t h[4] = {0x3c00, 0x7bff, 0x0001, 0x8000};
  ug_dim_t d = 4;
  ug_type_t rt = ug_type_make(UG_DTYPE_F16, 1, &d);
  ug_module_t *m = const_then(UG_DTYPE_F16, 4, h, sizeof h, UG_OP_NEG, &rt);
  run(m, "const-fold");
  const uint16_t *o = output_data(m, 0);
  ck_assert_uint_eq(o[0], 0xbc00);
  ck_assert_uint_eq(o[1], 0xfbff);
  ck_assert_uint_eq(o[2], 0x8001);
  ck_assert_uint_eq(o[3], 0x0000);
  ug_module_destroy(m);

  /* bf16 -> f32 cast is exact. */
  uint16_t b[2] = {0x4049, 0xc2c8};
  d = 2;
  rt = ug_type_make(UG_DTYPE_F32, 1, &d);
  ug_module_t *m2 = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(m2, "g");
  ug_type_t bt = ug_type_make(UG_DTYPE_BF16, 1, &d);
  ug_weight_id_t w;
  void *data = ug_arena_dup(m2->arena, b, sizeof b);
  ck_assert_ptr_null(ug_module_add_weight(m2, NULL, &bt, data, sizeof b, ug_hash_bytes(data, sizeof b), &w));
  ug_value_id_t c, r;
  ck_assert_ptr_null(ug_graph_add_const(g, w, NULL, &c));
  ug_attr_t to = ug_attr_dtype(UG_ATTR_TO, UG_DTYPE_F32);
  ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_CAST, &c, 1, &to, 1, &rt, 1, NULL, &r, NULL));
  ug_graph_add_output(g, r, "out");
  run(m2, "const-fold");
  const float *f = output_data(m2, 0);
  ck_assert(f[0] == 3.140625f && f[1] == -100.0f);
  ug_module_destroy(m2);
}
END_TEST

/* ---- cse, dce on large graphs ---- */

enum { LAYERS = 20000 };

START_TEST(cse_merges_large_generated_graph) {
  ug_module_t *m = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(m, "g");
  ug_dim_t d = 8;
  ug_type_t t = ug_type_make(UG_DTYPE_F32, 1, &d);
  ug_value_id_t x = ug_graph_add_input(g, "x", &t), v = x;
  float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  for (int i = 0; i < LAYERS; i++) {
    /* a = v + x, b = x + v (the same, commuted), c = a * b, k = a fresh
     * constant with equal bytes, v = c * k */
    ug_value_id_t ops[2] = {v, x}, a, b, c, k, nv;
    ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_ADD, ops, 2, NULL, 0, NULL, 1, NULL, &a, NULL));
    ops[0] = x;
    ops[1] = v;
    ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_ADD, ops, 2, NULL, 0, NULL, 1, NULL, &b, NULL));
    ops[0] = a;
    ops[1] = b;
    ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_MUL, ops, 2, NULL, 0, NULL, 1, NULL, &c, NULL));
    void *data = ug_arena_dup(m->arena, ones, sizeof ones);
    ug_weight_id_t w;
    ck_assert_ptr_null(ug_module_add_weight(m, NULL, &t, data, sizeof ones, ug_hash_bytes(data, sizeof ones), &w));
    ck_assert_ptr_null(ug_graph_add_const(g, w, NULL, &k));
    ops[0] = c;
    ops[1] = k;
    ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_MUL, ops, 2, NULL, 0, NULL, 1, NULL, &nv, NULL));
    v = nv;
  }
  ug_graph_add_output(g, v, "out");
  ck_assert_uint_eq(ug_graph_live_nodes(g), 5u * LAYERS);
  run(m, "cse");
  /* Per layer: one add, two muls; one constant for all. */
  ck_assert_uint_eq(ug_graph_live_nodes(g), 3u * LAYERS + 1);
  /* Every mul of a layer squares the add. */
  size_t squares = 0;
  for (size_t i = 0; i < g->nodes.len; i++) {
    const ug_node_t *n = &g->nodes.items[i];
    if (n->op == UG_OP_MUL && ug_node_operand(g, n, 0) == ug_node_operand(g, n, 1)) squares++;
  }
  ck_assert_uint_eq(squares, LAYERS);
  ug_module_destroy(m);
}
END_TEST

START_TEST(dce_removes_long_dead_chain) {
  ug_module_t *m = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(m, "g");
  ug_dim_t d = 4;
  ug_type_t t = ug_type_make(UG_DTYPE_F32, 1, &d);
  ug_value_id_t x = ug_graph_add_input(g, "x", &t), v = x, keep;
  ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_RELU, &x, 1, NULL, 0, NULL, 1, NULL, &keep, NULL));
  for (int i = 0; i < 5 * LAYERS; i++)
    ck_assert_ptr_null(ug_graph_add_node(g, UG_OP_NEG, &v, 1, NULL, 0, NULL, 1, NULL, &v, NULL));
  ug_graph_add_output(g, keep, "out");
  run(m, "dce");
  ck_assert_uint_eq(ug_graph_live_nodes(g), 1);
  ck_assert_int_eq(g->nodes.items[0].op, UG_OP_RELU);
  ug_module_destroy(m);
}
END_TEST

/* ---- property: the other passes do not change what constants compute ----
 *
 * Random graphs over constants, built from the ops canonicalize and cse
 * rewrite (transposes, reshapes, squeeze/unsqueeze, cast chains, neg, identity,
 * expand, x*1, x+(-0), duplicated adds).  Folding the graph as it is and
 * folding it after canonicalize, cse and dce must give the same bytes: this
 * checks those passes against each other, not the evaluator. */

typedef struct {
  ug_module_t *m;
  ug_graph_t *g;
  uint64_t rng;
} gen_t;

static uint32_t rnd(gen_t *s, uint32_t n) {
  s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(s->rng >> 33) % n;
}

static ug_value_id_t gen_const(gen_t *s, ug_dtype_t dt, int rank, const ug_dim_t *dims, double fill,
                               bool random) {
  ug_type_t t = ug_type_make(dt, rank, dims);
  int64_t numel, bytes;
  ck_assert(ug_type_static_numel(&t, &numel) && ug_dtype_bytes(dt, numel, &bytes));
  unsigned char *data = ug_arena_alloc(s->m->arena, (size_t)(bytes ? bytes : 1));
  for (int64_t i = 0; i < numel; i++) {
    double v = random ? (double)((int)rnd(s, 2001) - 1000) / (dt == UG_DTYPE_F32 ? 8.0 : 1.0) : fill;
    switch (dt) {
    case UG_DTYPE_F64: ((double *)data)[i] = v; break;
    case UG_DTYPE_F32: ((float *)data)[i] = (float)v; break;
    case UG_DTYPE_F16: ((uint16_t *)data)[i] = ug_f32_to_f16((float)v); break;
    case UG_DTYPE_BF16: ((uint16_t *)data)[i] = ug_f32_to_bf16((float)v); break;
    case UG_DTYPE_I64: ((int64_t *)data)[i] = (int64_t)v; break;
    case UG_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case UG_DTYPE_I16: ((int16_t *)data)[i] = (int16_t)v; break;
    case UG_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    default: ck_abort_msg("unexpected dtype");
    }
  }
  ug_weight_id_t w;
  ck_assert_ptr_null(ug_module_add_weight(s->m, NULL, &t, data, (uint64_t)bytes, ug_hash_bytes(data, (uint64_t)bytes), &w));
  ug_value_id_t v;
  ck_assert_ptr_null(ug_graph_add_const(s->g, w, NULL, &v));
  return v;
}

static ug_value_id_t gen_node(gen_t *s, ug_op_t op, const ug_value_id_t *ops, uint32_t nops,
                              const ug_attr_t *attr, const ug_type_t *type) {
  ug_value_id_t r;
  ug_status_t st = ug_graph_add_node(s->g, op, ops, nops, attr, attr ? 1 : 0, type, 1, "/gen", &r, NULL);
  ck_assert_msg(st == NULL, "%s", ug_status_message(st));
  return r;
}

static ug_module_t *random_module(uint64_t seed) {
  static const ug_dtype_t dtypes[] = {UG_DTYPE_F64, UG_DTYPE_F32, UG_DTYPE_F16, UG_DTYPE_BF16,
                                      UG_DTYPE_I64, UG_DTYPE_I32, UG_DTYPE_I16, UG_DTYPE_I8};
  gen_t s = {.m = ug_module_create(), .rng = seed};
  s.g = ug_module_add_graph(s.m, "g");
  ug_value_id_t pool[128];
  uint32_t np = 0;
  ug_dim_t d3[3] = {2, 3, 4};
  pool[np++] = gen_const(&s, UG_DTYPE_F32, 3, d3, 0, true);
  pool[np++] = gen_const(&s, UG_DTYPE_I32, 3, d3, 0, true);
  pool[np++] = gen_const(&s, UG_DTYPE_F32, 3, d3, 0, true);
  while (np < 100) {
    /* Half of the time, build on one of the last few values: chains. */
    ug_value_id_t v = rnd(&s, 2) ? pool[np - 1 - rnd(&s, np < 4 ? np : 4)] : pool[rnd(&s, np)];
    ug_type_t t = *ug_value_type(s.g, v);
    ug_dtype_t dt = t.dtype;
    bool is_float = ug_dtype_is_float(dt);
    ug_value_id_t r = UG_NONE;
    switch (rnd(&s, 9)) {
    case 0: { /* transpose by a random permutation */
      int64_t perm[UG_MAX_RANK];
      for (int i = 0; i < t.rank; i++) perm[i] = i;
      for (int i = t.rank - 1; i > 0; i--) {
        int j = (int)rnd(&s, (uint32_t)i + 1);
        int64_t x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
      }
      ug_attr_t a = ug_attr_ints(UG_ATTR_PERM, perm, (uint32_t)t.rank);
      r = gen_node(&s, UG_OP_TRANSPOSE, &v, 1, &a, NULL);
      break;
    }
    case 1: { /* reshape to the dims in another order, or unsqueeze / squeeze */
      ug_type_t nt = t;
      uint32_t k = rnd(&s, 3);
      if (k == 0 && t.rank >= 2) {
        int i = (int)rnd(&s, (uint32_t)t.rank), j = (int)rnd(&s, (uint32_t)t.rank);
        ug_dim_t x = nt.dims[i];
        nt.dims[i] = nt.dims[j];
        nt.dims[j] = x;
        r = gen_node(&s, UG_OP_RESHAPE, &v, 1, NULL, &nt);
      } else if (k == 1 && t.rank < UG_MAX_RANK - 1) {
        int64_t axis = rnd(&s, (uint32_t)t.rank + 1);
        ug_attr_t a = ug_attr_ints(UG_ATTR_AXES, &axis, 1);
        r = gen_node(&s, UG_OP_UNSQUEEZE, &v, 1, &a, NULL);
      } else {
        for (int64_t i = 0; i < t.rank; i++)
          if (t.dims[i] == 1) {
            ug_attr_t a = ug_attr_ints(UG_ATTR_AXES, &i, 1);
            r = gen_node(&s, UG_OP_SQUEEZE, &v, 1, &a, NULL);
            break;
          }
      }
      break;
    }
    case 2:
    case 3: { /* casts, often through a wider type of the same kind */
      ug_dtype_t to = dtypes[rnd(&s, 8)];
      if (ug_dtype_is_float(to) && !is_float && rnd(&s, 2)) to = UG_DTYPE_I64;
      ug_attr_t a = ug_attr_dtype(UG_ATTR_TO, to);
      r = gen_node(&s, UG_OP_CAST, &v, 1, &a, NULL);
      break;
    }
    case 4: r = gen_node(&s, rnd(&s, 2) ? UG_OP_NEG : UG_OP_IDENTITY, &v, 1, NULL, NULL); break;
    case 5: { /* x * 1 with a broadcast constant; x + (-0.0) / x + 0 */
      ug_dim_t one = 1;
      bool mul = rnd(&s, 2);
      ug_value_id_t c = gen_const(&s, dt, rnd(&s, 2) ? 1 : 0, &one, mul ? 1.0 : (is_float ? -0.0 : 0.0), false);
      ug_value_id_t ops[2] = {v, c};
      if (rnd(&s, 2)) {
        ops[0] = c;
        ops[1] = v;
      }
      r = gen_node(&s, mul ? UG_OP_MUL : UG_OP_ADD, ops, 2, NULL, NULL);
      break;
    }
    case 6: r = gen_node(&s, UG_OP_EXPAND, &v, 1, NULL, &t); break;
    default: { /* v + w for an earlier w of the same type, twice (commuted) */
      for (uint32_t k = 0; k < np; k++) {
        ug_value_id_t w = pool[rnd(&s, np)];
        if (!ug_type_equal(ug_value_type(s.g, w), &t)) continue;
        ug_value_id_t ops[2] = {v, w}, ops2[2] = {w, v};
        r = gen_node(&s, UG_OP_ADD, ops, 2, NULL, NULL);
        pool[np++] = gen_node(&s, UG_OP_ADD, ops2, 2, NULL, NULL);
        break;
      }
      break;
    }
    }
    if (r != UG_NONE && np < 128) pool[np++] = r;
  }
  for (uint32_t i = 3; i < np; i++) ug_graph_add_output(s.g, pool[i], ug_arena_printf(s.m->arena, "o%u", i));
  return s.m;
}

START_TEST(passes_preserve_constant_values) {
  for (uint64_t seed = 1; seed <= 40; seed++) {
    ug_module_t *a = random_module(seed), *b = random_module(seed);
    run(a, "const-fold");
    run(b, "canonicalize,cse,dce,const-fold");
    ug_graph_t *ga = graph0(a), *gb = graph0(b);
    ck_assert_uint_eq(ga->outputs.len, gb->outputs.len);
    for (size_t i = 0; i < ga->outputs.len; i++) {
      const ug_weight_t *wa = ug_value_weight(ga, ga->outputs.items[i]);
      const ug_weight_t *wb = ug_value_weight(gb, gb->outputs.items[i]);
      ck_assert_msg((wa != NULL) == (wb != NULL), "seed %llu output %zu: folded in one graph only",
                    (unsigned long long)seed, i);
      if (!wa) continue;
      ck_assert(ug_type_equal(&wa->type, &wb->type));
      ck_assert_uint_eq(wa->size, wb->size);
      ck_assert_msg(memcmp(wa->data, wb->data, (size_t)wa->size) == 0, "seed %llu output %zu differs",
                    (unsigned long long)seed, i);
    }
    ug_module_destroy(a);
    ug_module_destroy(b);
  }
}
END_TEST

/* ---- canonicalize and the default pipeline ---- */

START_TEST(canonicalize_keeps_output_names_and_types) {
  ug_module_t *m = parse(
      "graph @g(%x: f32[batch,4]) -> (first: f32[batch,4], second: f32[batch,4]) {\n"
      "  %0 = identity %x : f32[batch,4]\n"
      "  %1 = cast %0 {to=f32} : f32[batch,4]\n"
      "  return %0, %1\n"
      "}\n");
  ug_graph_t *g = graph0(m);
  ug_type_t before = *ug_value_type(g, g->outputs.items[0]);
  run(m, "canonicalize,dce");
  ck_assert_uint_eq(g->outputs.len, 2);
  ck_assert_str_eq(g->output_names.items[0], "first");
  ck_assert_str_eq(g->output_names.items[1], "second");
  ck_assert(ug_type_equal(ug_value_type(g, g->outputs.items[0]), &before));
  ck_assert(ug_type_equal(ug_value_type(g, g->outputs.items[1]), &before));
  ck_assert_uint_eq(ug_graph_live_nodes(g), 0);
  ug_module_destroy(m);
}
END_TEST

START_TEST(default_pipeline_end_to_end) {
  /* A shape computation on a static input folds away, the scale by a folded
   * 1.0 goes, the duplicate exp merges and everything unused is removed. */
  ug_module_t *m = parse(
      "graph @g(%x: f32[2,3]) -> (y: f32[3,2], z: f32[2,3]) {\n"
      "  %0 = shape_of %x : i64[2]\n"
      "  %1 = const dense<2.0> : f32[3]\n"
      "  %2 = const dense<0.5> : f32[3]\n"
      "  %3 = mul %1, %2 : f32[3] loc(\"/one\")\n"
      "  %4 = mul %x, %3 : f32[2,3] loc(\"/scale\")\n"
      "  %5 = exp %4 : f32[2,3] loc(\"/exp1\")\n"
      "  %6 = exp %x : f32[2,3] loc(\"/exp2\")\n"
      "  %7 = unsqueeze %5 {axes=[0]} : f32[1,2,3]\n"
      "  %8 = squeeze %7 {axes=[0]} : f32[2,3]\n"
      "  %9 = transpose %8 {perm=[1, 0]} : f32[3,2] loc(\"/t\")\n"
      "  %10 = add %6, %5 : f32[2,3]\n"
      "  return %9, %10\n"
      "}\n");
  run(m, NULL);
  char *text = ug_print_module_to_string(m);
  ck_assert_str_eq(text,
                   "graph @g(%x: f32[2,3]) -> (y: f32[3,2], z: f32[2,3]) {\n"
                   "  %0 = exp %x {kernel=0} : f32[2,3] loc(\"/exp1\")\n"
                   "  %1 = transpose %0 {perm=[1, 0]} : f32[3,2] loc(\"/t\")\n"
                   "  %2 = add %0, %0 {kernel=0} : f32[2,3]\n"
                   "  return %1, %2\n"
                   "}\n");
  free(text);
  ug_module_destroy(m);
}
END_TEST

static Suite *passes_suite(void) {
  Suite *s = suite_create("passes");
  TCase *te = tcase_create("eval");
  tcase_add_test(te, f16_conversion_rounds_to_nearest_even);
  tcase_add_test(te, bf16_conversion_rounds_to_nearest_even);
  tcase_add_test(te, fold_float_math_matches_hand_values);
  tcase_add_test(te, fold_integer_semantics);
  tcase_add_test(te, fold_skips_undefined_integer_results);
  tcase_add_test(te, fold_movement_and_reductions);
  tcase_add_test(te, fold_zero_size_tensors);
  tcase_add_test(te, fold_skips_fp8_and_quantized);
  tcase_add_test(te, fold_f16_through_float);
  suite_add_tcase(s, te);
  TCase *tg = tcase_create("graphs");
  tcase_set_timeout(tg, 60);
  tcase_add_test(tg, cse_merges_large_generated_graph);
  tcase_add_test(tg, dce_removes_long_dead_chain);
  tcase_add_test(tg, canonicalize_keeps_output_names_and_types);
  tcase_add_test(tg, default_pipeline_end_to_end);
  tcase_add_test(tg, passes_preserve_constant_values);
  suite_add_tcase(s, tg);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(passes_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
