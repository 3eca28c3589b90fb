/* Unit tests of the kernel IR: the op tables, building kernels through the
 * API, the verifier's errors, the parser's errors (file:line:col) and its
 * robustness on truncated and garbage input, dims shared with a graph
 * module, and the round trip print(parse(f)) == f over the .kir files of tests/kir. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir/kir.h"
#include "tests/unit/text_layout.h"

/* ---- helpers ---- */


static char *read_text(const char *path) {
  char *text = NULL;
  ug_status_t st = ug_read_file(path, &text, NULL);
  ck_assert_msg(st == NULL, "%s", ug_status_message(st));
  char *copy = strdup(text);
  free(text);
  return copy;
}

static ug_kir_module_t *parse_ok(const char *text) {
  ug_kir_module_t *m = NULL;
  ug_status_t st = ug_kir_parse(text, strlen(text), "t.kir", NULL, &m);
  ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
  return m;
}

static void expect_parse_error(const char *text, const char *origin, const char *needle) {
  ug_kir_module_t *m = NULL;
  ug_status_t st = ug_kir_parse(text, strlen(text), "t.kir", NULL, &m);
  ck_assert_msg(st != NULL, "expected a parse error for:\n%s", text);
  ck_assert_ptr_null(m);
  ck_assert_msg(strcmp(ug_status_origin(st), origin) == 0, "origin '%s', wanted '%s' (%s)", ug_status_origin(st),
                origin, ug_status_message(st));
  ck_assert_msg(strstr(ug_status_message(st), needle), "message '%s' lacks '%s'", ug_status_message(st), needle);
  ug_status_free(st);
}

/* Parses fine, then the verifier reports `needle` at `origin`. */
static void expect_verify_error(const char *text, const char *origin, const char *needle) {
  ug_kir_module_t *m = parse_ok(text);
  ug_status_t st = ug_kir_verify_module(m);
  ck_assert_msg(st != NULL, "expected a verifier error for:\n%s", text);
  ck_assert_msg(strcmp(ug_status_origin(st), origin) == 0, "origin '%s', wanted '%s' (%s)", ug_status_origin(st),
                origin, ug_status_message(st));
  ck_assert_msg(strstr(ug_status_message(st), needle), "message '%s' lacks '%s'", ug_status_message(st), needle);
  ug_status_free(st);
  ug_kir_module_destroy(m);
}

static void expect_round_trip(const char *text) {
  ug_kir_module_t *m = parse_ok(text);
  ug_status_t st = ug_kir_verify_module(m);
  ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
  char *out = ug_kir_print_module_to_string(m);
  ck_assert_str_eq(out, text);
  free(out);
  ug_kir_module_destroy(m);
}

static void set_name(ug_kir_kernel_t *k, ug_kir_value_id_t v, const char *name) {
  k->values.items[v].name = ug_arena_strdup(k->module->arena, name);
}

/* ---- tables ---- */

START_TEST(tables_name_every_op_and_attr) {
  for (int i = 0; i < UG_KIR_OP_COUNT; i++) {
    const ug_kir_op_info_t *info = ug_kir_op_info((ug_kir_op_t)i);
    ug_kir_op_t back;
    if (i == UG_KIR_EW) {
      ck_assert(!ug_kir_op_from_name(info->name, strlen(info->name), &back));
      continue;
    }
    ck_assert_msg(ug_kir_op_from_name(info->name, strlen(info->name), &back) && back == (ug_kir_op_t)i, "%s",
                  info->name);
    /* kernel op names never shadow an elementwise graph op */
    ug_op_t g;
    ck_assert_msg(!ug_op_from_name(info->name, strlen(info->name), &g) || ug_op_info(g)->category != UG_CAT_EW,
                  "%s", info->name);
  }
  for (int i = 0; i < UG_KIR_ATTR_COUNT; i++) {
    ug_kir_attr_key_t back;
    const char *n = ug_kir_attr_name((ug_kir_attr_key_t)i);
    ck_assert(ug_kir_attr_from_name(n, strlen(n), &back) && back == (ug_kir_attr_key_t)i);
  }
  bool req;
  ck_assert(ug_kir_op_accepts_attr(UG_KIR_REDUCE, UG_KATTR_AXIS, &req) && req);
  ck_assert(ug_kir_op_accepts_attr(UG_KIR_LOAD, UG_KATTR_OTHER, &req) && !req);
  ck_assert(!ug_kir_op_accepts_attr(UG_KIR_LOAD, UG_KATTR_AXIS, NULL));
  ck_assert_str_eq(ug_kir_class_name(ug_kir_op_info(UG_KIR_ASYNC_COPY)->cls), "async");
}
END_TEST

START_TEST(types_format_and_compare) {
  ug_kir_module_t *m = ug_kir_module_create(NULL);
  ug_dim_t d[2] = {ug_dim_sym(m->dims, "M"), 64};
  char buf[128];
  ug_kir_type_t g = ug_kir_type_global(UG_DTYPE_F16, 2, d);
  ug_kir_type_format(m->dims, &g, buf, sizeof(buf));
  ck_assert_str_eq(buf, "global f16[M,64]");
  ug_dim_t s[2] = {128, 64};
  ug_kir_type_t sh = ug_kir_type_shared(UG_DTYPE_BF16, 2, s, 3);
  ug_kir_type_format(m->dims, &sh, buf, sizeof(buf));
  ck_assert_str_eq(buf, "shared<3> bf16[128,64]");
  ug_kir_type_t mb = ug_kir_type_mbar(2), mb3 = ug_kir_type_mbar(3);
  ug_kir_type_format(m->dims, &mb, buf, sizeof(buf));
  ck_assert_str_eq(buf, "mbarrier<2>");
  ck_assert(!ug_kir_type_equal(&mb, &mb3));
  ug_kir_type_t sh2 = ug_kir_type_shared(UG_DTYPE_BF16, 2, s, 2);
  ck_assert(!ug_kir_type_equal(&sh, &sh2));
  ug_kir_type_t ti = ug_kir_type_tile(UG_DTYPE_F32, 0, NULL), ix = ug_kir_type_index();
  ug_kir_type_format(m->dims, &ti, buf, sizeof(buf));
  ck_assert_str_eq(buf, "f32[]");
  ck_assert(!ug_kir_type_equal(&ti, &ix));
  /* snprintf-like: the full length when the buffer is short */
  ck_assert_int_eq(ug_kir_type_format(m->dims, &sh, buf, 4), (int)strlen("shared<3> bf16[128,64]"));
  ug_kir_module_destroy(m);
}
END_TEST

/* ---- building ---- */

/* tests/kir/softmax.kir, built through the API, prints as that file. */
START_TEST(build_softmax_matches_file) {
  ug_kir_module_t *m = ug_kir_module_create(NULL);
  ug_dims_t *dims = m->dims;
  ug_kir_kernel_t *k = ug_kir_kernel_create(m, "softmax");
  ug_dim_t rows = ug_dim_sym(dims, "rows"), cols = ug_dim_sym(dims, "cols");
  ug_dim_t gd[2] = {rows, cols};
  ug_kir_type_t gt = ug_kir_type_global(UG_DTYPE_F32, 2, gd);
  ug_kir_value_id_t x = ug_kir_add_param(k, "x", &gt), y = ug_kir_add_param(k, "y", &gt);
  ug_dim_t grid = ug_dim_div(dims, ug_dim_add(dims, rows, 3), 4);
  ug_kir_set_grid(k, 1, &grid);
  k->warps = 4;
  ug_kir_region_id_t r = k->body;
  ug_kir_type_t ix = ug_kir_type_index();
  ug_dim_t full[2] = {4, 1024}, red[2] = {4, 1};
  ug_kir_type_t tt = ug_kir_type_tile(UG_DTYPE_F32, 2, full), rt = ug_kir_type_tile(UG_DTYPE_F32, 2, red);
  ug_kir_value_id_t pid = ug_kir_program_id(k, r, 0);
  set_name(k, pid, "pid");
  ug_kir_operand_t a[2] = {ug_kir_val(pid), ug_kir_imm(4)};
  ug_kir_value_id_t r0 = ug_kir_ew(k, r, UG_OP_MUL, a, 2, &ix);
  set_name(k, r0, "r0");
  ug_kir_operand_t at[2] = {ug_kir_val(r0), ug_kir_imm(0)};
  ug_kir_value_id_t t = ug_kir_load(k, r, x, at, 2, UG_NONE, &tt);
  ug_kir_push_attr(k, (ug_kir_op_id_t)(k->ops.len - 1), ug_kir_attr_float(UG_KATTR_OTHER, -INFINITY));
  set_name(k, t, "t");
  ug_kir_value_id_t mx = ug_kir_reduce(k, r, UG_OP_MAX, 1, t, &rt);
  set_name(k, mx, "m");
  ug_kir_value_id_t mb = ug_kir_unary(k, r, UG_KIR_BROADCAST, mx, &tt);
  set_name(k, mb, "mb");
  ug_kir_operand_t sa[2] = {ug_kir_val(t), ug_kir_val(mb)};
  ug_kir_value_id_t d = ug_kir_ew(k, r, UG_OP_SUB, sa, 2, &tt);
  set_name(k, d, "d");
  ug_kir_operand_t ea = ug_kir_val(d);
  ug_kir_value_id_t e = ug_kir_ew(k, r, UG_OP_EXP, &ea, 1, &tt);
  set_name(k, e, "e");
  ug_kir_value_id_t s = ug_kir_reduce(k, r, UG_OP_ADD, 1, e, &rt);
  set_name(k, s, "s");
  ug_kir_value_id_t sb = ug_kir_unary(k, r, UG_KIR_BROADCAST, s, &tt);
  set_name(k, sb, "sb");
  ug_kir_operand_t da[2] = {ug_kir_val(e), ug_kir_val(sb)};
  ug_kir_value_id_t p = ug_kir_ew(k, r, UG_OP_DIV, da, 2, &tt);
  set_name(k, p, "p");
  ug_kir_store(k, r, y, at, 2, p, UG_NONE);
  ug_status_t st = ug_kir_verify_module(m);
  ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
  char *text = read_text(UG_SOURCE_DIR "/tests/kir/softmax.kir");
  char *want = ug_test_normalize(text);
  char *got = ug_kir_print_module_to_string(m);
  ck_assert_str_eq(got, want);
  free(got);
  free(want);
  free(text);
  ug_kir_module_destroy(m);
}
END_TEST

/* A K loop with a shared buffer, mma on shared stages, roles and an if,
 * built through the API, verified and printed; the printed text parses and
 * prints the same. */
START_TEST(build_loops_roles_if) {
  ug_kir_module_t *m = ug_kir_module_create(NULL);
  ug_kir_kernel_t *k = ug_kir_kernel_create(m, "k");
  ug_dim_t K = ug_dim_sym(m->dims, "K");
  ug_dim_t gd[2] = {64, K}, td[2] = {64, 64};
  ug_kir_type_t gt = ug_kir_type_global(UG_DTYPE_F16, 2, gd), ot = ug_kir_type_global(UG_DTYPE_F32, 2, td);
  ug_kir_value_id_t A = ug_kir_add_param(k, "A", &gt), C = ug_kir_add_param(k, "C", &ot);
  k->warps = 8;
  ug_kir_type_t st3 = ug_kir_type_shared(UG_DTYPE_F16, 2, td, 3);
  ug_kir_value_id_t As = ug_kir_alloc(k, &st3, "As");
  ug_kir_type_t acc_t = ug_kir_type_tile(UG_DTYPE_F32, 2, td), in_t = ug_kir_type_tile(UG_DTYPE_F16, 2, td);
  ug_kir_region_id_t prod, cons, body;
  ug_kir_role(k, k->body, UG_KIR_ROLE_PRODUCER, 0, 4, 40, &prod);
  ug_kir_role(k, k->body, UG_KIR_ROLE_CONSUMER, 4, 8, 232, &cons);
  ug_kir_value_id_t z = ug_kir_splat(k, cons, 0.0, &acc_t);
  ug_kir_op_id_t loop = ug_kir_for(k, cons, ug_kir_imm(0), ug_kir_imm(K), ug_kir_imm(64), &z, 1, 3, &body);
  ug_kir_value_id_t kv = ug_kir_region_arg(k, ug_kir_region(k, body), 0);
  ug_kir_value_id_t c = ug_kir_region_arg(k, ug_kir_region(k, body), 1);
  ug_kir_operand_t idx[2] = {ug_kir_imm(0), ug_kir_val(kv)};
  ug_kir_value_id_t a = ug_kir_load(k, body, A, idx, 2, UG_NONE, &in_t);
  ug_kir_operand_t stage = ug_kir_imm(1);
  ug_kir_store(k, body, As, &stage, 1, a, UG_NONE);
  ug_kir_barrier(k, body);
  ug_kir_value_id_t c1 = ug_kir_mma(k, body, a, stage, As, ug_kir_imm(2), c);
  ug_kir_yield(k, body, &c1, 1);
  ug_kir_value_id_t acc = ug_kir_result(k, ug_kir_op(k, loop), 0);
  /* if (K < 4096) store else store */
  ug_kir_operand_t cmp[2] = {ug_kir_imm(K), ug_kir_imm(4096)};
  ug_kir_type_t b = ug_kir_type_tile(UG_DTYPE_BOOL, 0, NULL);
  ug_kir_value_id_t small = ug_kir_ew(k, cons, UG_OP_LESS, cmp, 2, &b);
  ug_kir_region_id_t th, el;
  ug_kir_if(k, cons, small, NULL, 0, &th, &el);
  ug_kir_operand_t o[2] = {ug_kir_imm(0), ug_kir_imm(0)};
  ug_kir_store(k, th, C, o, 2, acc, UG_NONE);
  ug_status_t st = ug_kir_verify_module(m);
  ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
  char *text = ug_kir_print_module_to_string(m);
  ck_assert_ptr_nonnull(strstr(text, "role producer warps(0, 4) regs(40) {\n  }\n"));
  ck_assert_ptr_nonnull(strstr(text, "%1 = for %2 = 0 to K step 64 iter(%3 = %0 : f32[64,64]) pipeline(3) {"));
  ck_assert_ptr_nonnull(strstr(text, "%5 = mma %4, %As[2], %3 : f32[64,64]"));
  ck_assert_ptr_nonnull(strstr(text, "%6 = less K, 4096 : bool[]"));
  expect_round_trip(text);
  free(text);
  ck_assert_uint_eq(ug_kir_shared_bytes(k), 3 * 64 * 64 * 2);
  ug_kir_module_destroy(m);
}
END_TEST

/* Values with the same name: the later ones print numbered. */
START_TEST(printer_numbers_duplicate_names) {
  const char *text =
      "kernel @k(%x: index) grid(1) block(warps=1) {\n"
      "  %0 = add %x, 1 : index\n"
      "  %1 = add %0, 1 : index\n"
      "}\n";
  ug_kir_module_t *m = parse_ok(text);
  ug_kir_kernel_t *k = m->kernels.items[0];
  set_name(k, ug_kir_result(k, ug_kir_op(k, 0), 0), "x");
  char *out = ug_kir_print_module_to_string(m);
  ck_assert_str_eq(out, text);
  free(out);
  set_name(k, ug_kir_result(k, ug_kir_op(k, 1), 0), "not an ident");
  out = ug_kir_print_module_to_string(m);
  ck_assert_ptr_nonnull(strstr(out, "%\"not an ident\" = add %0, 1 : index"));
  expect_round_trip(out);
  free(out);
  ug_kir_module_destroy(m);
}
END_TEST

/* A kernel module made for a graph module shares its dim table: `batch`
 * is one symbol for both, and the arena goes with the graph module. */
START_TEST(dims_shared_with_graph_module) {
  ug_module_t *gm = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(gm, "main");
  ug_dim_t bd[2] = {ug_dim_sym(gm->dims, "batch"), 16};
  ug_type_t t = ug_type_make(UG_DTYPE_F32, 2, bd);
  ug_graph_add_input(g, "x", &t);
  const char *text = "kernel @k(%x: global f32[batch,16]) grid((batch+7)/8) block(warps=2) {\n}\n";
  ug_kir_module_t *m = NULL;
  ug_status_t st = ug_kir_parse(text, strlen(text), "t.kir", gm, &m);
  ck_assert_ptr_null(st);
  ck_assert_ptr_eq(m->dims, gm->dims);
  ug_kir_kernel_t *k = m->kernels.items[0];
  ck_assert_int_eq(ug_kir_value_type(k, k->params.items[0])->t.dims[0], bd[0]);
  ck_assert_int_eq(k->grid[0], ug_dim_ceildiv(gm->dims, bd[0], 8));
  ck_assert_ptr_null(ug_kir_verify_module(m));
  ug_kir_module_destroy(m);
  /* a failed parse leaves the graph module usable */
  st = ug_kir_parse("kernel @k(", 10, "t.kir", gm, &m);
  ck_assert_ptr_nonnull(st);
  ug_status_free(st);
  ck_assert_ptr_null(ug_verify_module(gm));
  ug_module_destroy(gm);
}
END_TEST

/* ---- verifier ---- */

#define HDR "kernel @k(%A: global f16[M,K], %C: global f32[M,N], %i: index) grid(4, 2) block(warps=8) {\n"

START_TEST(verify_use_before_def) {
  /* through the API: an op using a value defined by a later op */
  ug_kir_module_t *m = ug_kir_module_create(NULL);
  ug_kir_kernel_t *k = ug_kir_kernel_create(m, "k");
  ug_kir_type_t ix = ug_kir_type_index();
  ug_kir_op_id_t first = ug_kir_begin(k, k->body, UG_KIR_EW, NULL);
  ug_kir_op(k, first)->ew = UG_OP_ADD;
  ug_kir_push_result(k, first, &ix, "a");
  ug_kir_value_id_t pid = ug_kir_program_id(k, k->body, 0);
  k->operand_pool.len = 0; /* rebuild the first op's operands to use pid */
  ug_kir_operand_t ops[2] = {ug_kir_val(pid), ug_kir_imm(1)};
  UG_VEC_PUSH(m->arena, &k->operand_pool, ops[0]);
  UG_VEC_PUSH(m->arena, &k->operand_pool, ops[1]);
  ug_kir_op(k, first)->operands = 0;
  ug_kir_op(k, first)->num_operands = 2;
  ug_status_t st = ug_kir_verify_kernel(k);
  ck_assert_ptr_nonnull(st);
  ck_assert_str_eq(ug_status_origin(st), "kernel @k");
  ck_assert_ptr_nonnull(strstr(ug_status_message(st), "op 0 (add): value (unnamed) is used before it is defined"));
  ug_status_free(st);
  ug_kir_module_destroy(m);
  /* in text: a value of a loop body used after the loop */
  expect_verify_error(HDR
                      "  for %k = 0 to K step 64 {\n"
                      "    %j = add %k, 1 : index\n"
                      "  }\n"
                      "  %x = add %j, 1 : index\n"
                      "}\n",
                      "t.kir:5:8", "%j is used before it is defined or outside its region");
}
END_TEST

/* gather and to_index: loads through computed offsets, and back to an index */
START_TEST(verify_gather) {
  expect_verify_error(HDR "  %o = iota {axis=0} : i64[64]\n  %t = gather %A[0, 0], %o : f16[64]\n}\n", "t.kir:3:8",
                      "operand 0 must be a global buffer");
  expect_verify_error(HDR "  %o = splat {value=0.0} : f32[64]\n  %t = gather %A, %o : f16[64]\n}\n", "t.kir:3:8",
                      "the offsets must be integers, not f32");
  expect_verify_error(HDR "  %o = iota {axis=0} : i64[32]\n  %t = gather %A, %o : f16[64]\n}\n", "t.kir:3:8",
                      "the offsets must have the tile's shape");
  expect_verify_error(HDR "  %o = iota {axis=0} : i64[64]\n  %t = gather %A, %o : f32[64]\n}\n", "t.kir:3:8",
                      "element types differ");
  expect_verify_error(HDR "  %o = iota {axis=0} : i64[64]\n  %m = cast %o {to=f32} : f32[64]\n"
                      "  %t = gather %A, %o, %m : f16[64]\n}\n", "t.kir:4:8", "the mask must be bool");
  expect_verify_error(HDR "  %o = iota {axis=0} : i64[64]\n  %j = to_index %o : index\n}\n", "t.kir:3:8",
                      "operand 0 must be a one-element integer tile");
  expect_round_trip(HDR "  %o = iota {axis=0} : i64[64]\n  %m = less %o, %o : bool[64]\n"
                    "  %t = gather %A, %o, %m {other=-1.0} : f16[64]\n  %z = cast 3 {to=i32} : i32[]\n"
                    "  %u = gather %A, %z : f16[1]\n  %j = to_index %z : index\n  %ok = less %j, M : bool[]\n"
                    "  %v = load %A[%j, 0], %ok : f16[64]\n}\n");
}
END_TEST

/* gathers of runs: offsets and mask per row ([..., 1]) */
START_TEST(verify_gather_runs) {
  expect_round_trip(HDR "  %o = iota {axis=0} : i32[64,1]\n  %m = less %o, %o : bool[64,1]\n"
                    "  %t = gather %A, %o, %m : f16[64,32]\n  %u = gather %A, %o : f16[64,32]\n}\n");
  expect_verify_error(HDR "  %o = iota {axis=0} : i32[64,2]\n  %t = gather %A, %o : f16[64,32]\n}\n", "t.kir:3:8",
                      "the offsets must have the tile's shape, or it with a last dim of 1");
  expect_verify_error(HDR "  %o = iota {axis=0} : i32[1,32]\n  %t = gather %A, %o : f16[64,32]\n}\n", "t.kir:3:8",
                      "the offsets must have the tile's shape, or it with a last dim of 1");
}
END_TEST

/* async_gather: a gather into a shared stage, as an asynchronous copy */
START_TEST(verify_async_gather) {
  expect_round_trip(HDR "  %s = alloc : shared<2> f16[64,32]\n  %o = iota {axis=0} : i32[64,1]\n  %m = less %o, %o : bool[64,1]\n"
                    "  %t = async_gather %A, %o, %m, %s[1] : token\n  %u = async_gather %A, %o, %s[0] : token\n"
                    "  %g = commit %t, %u : token\n}\n");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,32]\n  %o = iota {axis=0} : i32[32,1]\n"
                      "  %t = async_gather %A, %o, %s[0] : token\n}\n", "t.kir:4:8",
                      "the offsets must have the stage's shape, or it with a last dim of 1");
  expect_verify_error(HDR "  %s = alloc : shared<2> f32[64,32]\n  %o = iota {axis=0} : i32[64,1]\n"
                      "  %t = async_gather %A, %o, %s[0] : token\n}\n", "t.kir:4:8", "element types differ");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,32]\n  %o = iota {axis=0} : i32[64,1]\n"
                      "  %t = async_gather %A, %o, %o, %s[0] : token\n}\n", "t.kir:4:8", "the mask must be bool");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,32]\n  %o = iota {axis=0} : i32[64,1]\n"
                      "  %t = async_gather %A, %o, %s[2] : token\n}\n", "t.kir:4:8", "stage 2 out of range");
  expect_verify_error(HDR "  %o = iota {axis=0} : i32[64,1]\n  %t = async_gather %A, %o, %A[0, 0] : token\n}\n", "t.kir:3:8",
                      "accesses global memory, expected shared memory");
}
END_TEST

/* clusters: the kernel attribute, cluster_rank / cluster_size, cluster_reduce */
#define CHDR "kernel @k(%A: global f16[M,K], %C: global f32[M,N]) grid(8) cluster(4) block(warps=8) {\n"
START_TEST(verify_clusters) {
  expect_round_trip(CHDR "  %r = cluster_rank : index\n  %n = cluster_size : index\n"
                    "  %z = splat {value=0.0} : f32[64,64]\n  %s = cluster_reduce %z {combine=add} : f32[64,64]\n"
                    "  %first = equal %r, 0 : bool[]\n  if %first {\n    store %C[0, 0], %s\n  }\n}\n");
  expect_verify_error(HDR "  %z = splat {value=0.0} : f32[64,64]\n  %s = cluster_reduce %z {combine=add} : f32[64,64]\n}\n",
                      "t.kir:3:8", "cluster_reduce in a kernel without cluster(S)");
  expect_verify_error(CHDR "  %z = splat {value=0.0} : f32[64,64]\n  for %k = 0 to K step 64 {\n"
                      "    %s = cluster_reduce %z {combine=add} : f32[64,64]\n  }\n}\n",
                      "t.kir:4:10", "belongs at the kernel's top level");
  expect_verify_error(CHDR "  %z = splat {value=0.0} : f32[64,64]\n  %s = cluster_reduce %z {combine=mul} : f32[64,64]\n}\n",
                      "t.kir:3:8", "cannot combine with mul");
  expect_verify_error(CHDR "  %z = splat {value=0.0} : f32[64,64]\n  %s = cluster_reduce %z {combine=add} : f32[64,32]\n}\n",
                      "t.kir:3:8", "the result has the operand's type");
  const char *bad = "kernel @k(%A: global f16[M,K]) grid(6) cluster(4) block(warps=8) {\n}\n";
  ug_kir_module_t *m = parse_ok(bad);
  ug_status_t st = ug_kir_verify_module(m);
  ck_assert_ptr_nonnull(st);
  ck_assert_ptr_nonnull(strstr(ug_status_message(st), "grid axis 0 (6) is not a multiple of cluster(4)"));
  ug_status_free(st);
  ug_kir_module_destroy(m);
}
END_TEST

START_TEST(verify_memory_spaces) {
  expect_verify_error(HDR "  %b = alloc : mbarrier<2>\n  %t = load %b[0] : f16[64,64]\n}\n", "t.kir:3:8",
                      "accesses an mbarrier, expected global memory");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,64]\n  %s2 = alloc : shared<2> f16[64,64]\n"
                      "  %t = async_copy %s[0], %s2[1] : token\n}\n",
                      "t.kir:4:8", "operand 0 accesses shared memory, expected global memory");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,64]\n  mbar_wait %s[0], 0\n}\n", "t.kir:3:3",
                      "accesses shared memory, expected an mbarrier");
  expect_verify_error(HDR "  %t = load %A : f16[64,64]\n}\n", "t.kir:2:8", "must be an access %buf[...]");
  expect_verify_error(HDR "  %t = load %A[0] : f16[64,64]\n}\n", "t.kir:2:8", "has 1 indices for a buffer of rank 2");
  expect_verify_error(HDR "  %t = load %A[0, 0] : f32[64,64]\n}\n", "t.kir:2:8", "element types differ");
  expect_verify_error(HDR "  %t = load %A[0, 0] : f16[2,64,64]\n}\n", "t.kir:2:8", "mismatched tile shapes");
  expect_verify_error(HDR "  for %k = 0 to K step 64 {\n    %s = alloc : shared<2> f16[64,64]\n  }\n}\n", "t.kir:3:10",
                      "alloc belongs at the kernel's top level");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,M]\n}\n", "t.kir:2:8", "needs a static shape");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,64]\n  %t = load %s[0] : f16[64,32]\n}\n", "t.kir:3:8",
                      "mismatched tile shapes: f16[64,32] does not match shared<2> f16[64,64]");
  expect_verify_error(HDR "  %s = alloc : shared<2> f16[64,64]\n  %b = alloc : mbarrier<2>\n"
                      "  %t = async_copy %A[0, 0], %s[0], %b[0] : token\n}\n",
                      "t.kir:4:8", "a copy completing on an mbarrier has no token");
  expect_verify_error(HDR "  %t = load %A[0, 0] : f16[64,64]\n  %m = splat {value=1.0} : f32[64,64]\n"
                      "  store %A[0, 0], %t, %m\n}\n",
                      "t.kir:4:3", "the mask must be bool of the tile's shape");
}
END_TEST

START_TEST(verify_stage_out_of_range) {
  expect_verify_error(HDR "  %s = alloc : shared<3> f16[64,64]\n  %t = load %s[3] : f16[64,64]\n}\n", "t.kir:3:8",
                      "stage 3 out of range for a buffer of 3 stages");
  expect_verify_error(HDR "  %b = alloc : mbarrier<2>\n  mbar_arrive %b[2]\n}\n", "t.kir:3:3",
                      "stage 2 out of range for a buffer of 2 stages");
  expect_verify_error(HDR "  %s = alloc : shared<3> f16[64,64]\n  %t = load %s[0, 1] : f16[64,64]\n}\n", "t.kir:3:8",
                      "needs exactly one stage index, has 2");
  expect_verify_error(HDR "  %b = alloc : mbarrier<2>\n  mbar_wait %b[0], 2\n}\n", "t.kir:3:3",
                      "the phase parity is 0 or 1");
  /* a stage computed at run time is fine */
  expect_round_trip(HDR "  %s = alloc : shared<3> f16[64,64]\n  %j = mod %i, 3 : index\n  %t = load %s[%j] : f16[64,64]\n}\n");
}
END_TEST

START_TEST(verify_tile_shapes) {
  expect_verify_error(HDR "  %a = splat {value=1.0} : f16[64,32]\n  %b = splat {value=1.0} : f16[64,64]\n"
                      "  %c = splat {value=0.0} : f32[64,64]\n  %d = mma %a, %b, %c : f32[64,64]\n}\n",
                      "t.kir:5:8", "inner dims differ");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f16[64,64]\n  %b = splat {value=1.0} : f16[64,32]\n"
                      "  %c = splat {value=0.0} : f32[64,64]\n  %d = mma %a, %b, %c : f32[64,64]\n}\n",
                      "t.kir:5:8", "the accumulator is not [M,N]");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[64,64]\n  %b = splat {value=1.0} : f32[64,32]\n"
                      "  %c = add %a, %b : f32[64,64]\n}\n",
                      "t.kir:4:8", "mismatched tile shapes (broadcast explicitly)");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[64,64]\n  %c = add %a, %a : f16[64,64]\n}\n", "t.kir:3:8",
                      "result is f16, expected f32");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[64,64]\n  %r = reduce %a {combine=max, axis=1} : f32[64]\n}\n",
                      "t.kir:3:8", "the reduced axis keeps size 1");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[64,2]\n  %r = broadcast %a : f32[64,64]\n}\n", "t.kir:3:8",
                      "broadcast repeats size-1 dims only");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[64,64]\n  %r = reshape %a : f32[64,32]\n}\n", "t.kir:3:8",
                      "reshape keeps the element count");
  expect_verify_error(HDR "  %a = splat {value=1.5} : i32[4]\n}\n", "t.kir:2:8", "i32 cannot hold 1.5");
  expect_verify_error(HDR "  %a = add %i, 1 : f32[]\n}\n", "t.kir:2:8", "on indices gives f32[]");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[4]\n  %b = add %a, %i : f32[4]\n}\n", "t.kir:3:8",
                      "mixes index and tile operands");
  expect_verify_error(HDR "  %a = exp %i : index\n}\n", "t.kir:2:8", "on indices gives index");
}
END_TEST

START_TEST(verify_roles) {
  expect_verify_error(HDR "  role producer warps(4, 4) {\n  }\n}\n", "t.kir:2:3", "a role needs warps: warps(4, 4) is empty");
  expect_verify_error(HDR "  role consumer warps(4, 12) {\n  }\n}\n", "t.kir:2:3", "outside the block's 8 warps");
  expect_verify_error(HDR "  role producer warps(0, 4) {\n  }\n  role consumer warps(3, 8) {\n  }\n}\n", "t.kir:4:3",
                      "overlap a sibling role's warps(0, 4)");
  expect_verify_error(HDR "  role producer warps(0, 4) {\n    role consumer warps(0, 2) {\n    }\n  }\n}\n", "t.kir:3:5",
                      "roles do not nest");
  expect_verify_error(HDR "  role producer warps(0, 4) {\n    yield\n  }\n}\n", "t.kir:3:5", "yield outside a for or if region");
}
END_TEST

START_TEST(verify_regions_and_attrs) {
  expect_verify_error(HDR "  %z = splat {value=0.0} : f32[4]\n  %r = for %k = 0 to K step 64 iter(%c = %z : f32[4]) {\n  }\n}\n",
                      "t.kir:3:8", "must end with yield");
  expect_verify_error(HDR "  %z = splat {value=0.0} : f32[4]\n  %r = for %k = 0 to K step 64 iter(%c = %z : f32[4]) {\n"
                      "    yield %c, %c\n  }\n}\n",
                      "t.kir:4:5", "yields 2 values for 1 results");
  expect_verify_error(HDR "  %z = splat {value=0.0} : f32[4]\n  %r = for %k = 0 to K step 64 iter(%c = %z : f32[8]) {\n"
                      "    yield %c\n  }\n}\n",
                      "t.kir:3:8", "an iter arg, its region argument and its result have one type");
  expect_verify_error(HDR "  for %k = 0 to K step 0 {\n  }\n}\n", "t.kir:2:3", "the step must be positive");
  expect_verify_error(HDR "  %p = program_id {axis=2} : index\n}\n", "t.kir:2:8", "axis 2 out of range for a 2-d grid");
  expect_verify_error(HDR "  %p = program_id : index\n}\n", "t.kir:2:8", "missing attribute 'axis'");
  expect_verify_error(HDR "  barrier {axis=1}\n}\n", "t.kir:2:3", "unknown attribute 'axis'");
  expect_verify_error(HDR "  %a = splat {value=1.0} : f32[4]\n  %b = leaky_relu %a : f32[4]\n}\n", "t.kir:3:8",
                      "missing attribute 'alpha'");
  expect_verify_error(HDR "  %c = less %i, 3 : bool[]\n  if %c {\n    yield\n  }\n  if %i {\n  }\n}\n", "t.kir:6:3",
                      "the condition must be a bool[] value");
  expect_verify_error("kernel @k() grid(1) block(warps=33) {\n}\n", "k", "a block has 1 to 32 warps");
  expect_verify_error("kernel @k(%s: shared<1> f16[4]) grid(1) block(warps=1) {\n}\n", "k",
                      "must be a global buffer, an index or a scalar");
  /* a loc names the op in the message */
  expect_verify_error(HDR "  %p = program_id {axis=5} : index loc(\"/node\")\n}\n", "t.kir:2:8", "op \"/node\" (program_id)");
}
END_TEST

/* ---- parser ---- */

START_TEST(parser_errors_point_at_line_col) {
  expect_parse_error(HDR "  %x = frob %i : index\n}\n", "t.kir:2:8", "unknown op 'frob'");
  expect_parse_error(HDR "  %x = add %q, 1 : index\n}\n", "t.kir:2:12", "use of undefined value %q");
  expect_parse_error(HDR "  %x = add %i, 1 : index\n  %x = add %i, 2 : index\n}\n", "t.kir:3:3", "value %x is defined twice");
  expect_parse_error(HDR "  %x = add %i, 1 : index\n", "t.kir:3:1", "missing '}'");
  expect_parse_error(HDR "  %x = add %i, 1 : flt\n}\n", "t.kir:2:20", "expected a type");
  expect_parse_error(HDR "  %s = alloc : shared<0> f16[4]\n}\n", "t.kir:2:23", "at least one stage");
  expect_parse_error(HDR "  for %k = 0 until K step 1 {\n  }\n}\n", "t.kir:2:14", "expected 'to'");
  expect_parse_error(HDR "  %p = program_id {axes=0} : index\n}\n", "t.kir:2:20", "unknown attribute 'axes'");
  expect_parse_error(HDR "  %x = add %i, 1\n}\n", "t.kir:3:1", "expected ':'");
  expect_parse_error(HDR "  barrier %i : index\n}\n", "t.kir:2:14", "unexpected text after the op");
  expect_parse_error(HDR "  %r = for %k = 0 to K step 1 {\n  }\n}\n", "t.kir:2:3", "for has 1 results but 0 iter args");
  expect_parse_error(HDR "  role worker warps(0, 1) {\n  }\n}\n", "t.kir:2:8", "expected 'producer' or 'consumer'");
  expect_parse_error("kernel @k() grid(1, 2, 3, 4) block(warps=1) {\n}\n", "t.kir:1:27", "at most 3 dimensions");
  expect_parse_error("kernel @k() grid(1) block(warps=1) {\n}\nkernel @k() grid(1) block(warps=1) {\n}\n", "t.kir:3:1",
                     "kernel @k is defined twice");
  expect_parse_error(HDR "  %x = reduce %i {combine=frob, axis=0} : index\n}\n", "t.kir:2:27", "takes an op name");
  expect_parse_error(HDR "  %x = add %i, 1 : index loc(\"abc)\n}\n", "t.kir:2:30", "unterminated string");
  expect_parse_error(HDR "  %x = add %i, K/0 : index\n}\n", "t.kir:2:17", "division by zero");
  expect_parse_error("", "t.kir:1:1", "no kernel");
  expect_parse_error("// only a comment\n", "t.kir:2:1", "no kernel");
}
END_TEST

START_TEST(parser_survives_truncation_and_garbage) {
  char *valid = read_text(UG_SOURCE_DIR "/tests/kir/gemm_ws.kir");
  size_t n = strlen(valid);
  ck_assert_uint_gt(n, 100);
  /* every proper prefix (the last '}' needs its newline? no: up to it) fails */
  while (n && valid[n - 1] == '\n') n--;
  for (size_t k = 0; k + 1 <= n - 1; k++) {
    char *buf = malloc(k ? k : 1); /* unterminated: the parser must not read past len */
    memcpy(buf, valid, k);
    ug_kir_module_t *m = NULL;
    ug_status_t st = ug_kir_parse(buf, k, "t", NULL, &m);
    ck_assert_msg(st != NULL, "prefix of %zu bytes parsed", k);
    ug_status_free(st);
    free(buf);
  }
  /* random corruption: parse, and when that works verify and print */
  unsigned seed = 4242;
  size_t full = strlen(valid);
  char *buf = malloc(full);
  for (int round = 0; round < 3000; round++) {
    size_t len = (size_t)rand_r(&seed) % full;
    memcpy(buf, valid, len);
    int flips = 1 + rand_r(&seed) % 4;
    for (int f = 0; f < flips && len; f++) buf[rand_r(&seed) % len] = (char)rand_r(&seed);
    ug_kir_module_t *m = NULL;
    ug_status_t st = ug_kir_parse(buf, len, "t", NULL, &m);
    if (st) {
      ug_status_free(st);
      continue;
    }
    st = ug_kir_verify_module(m);
    ug_status_free(st);
    free(ug_kir_print_module_to_string(m));
    ug_kir_module_destroy(m);
  }
  /* whole-token corruption of a valid file: swap lines around */
  for (int round = 0; round < 500; round++) {
    memcpy(buf, valid, full);
    size_t a = (size_t)rand_r(&seed) % full, b = (size_t)rand_r(&seed) % full;
    size_t l = (size_t)rand_r(&seed) % 40;
    if (a + l < full && b + l < full) memmove(buf + a, buf + b, l);
    ug_kir_module_t *m = NULL;
    ug_status_t st = ug_kir_parse(buf, full, "t", NULL, &m);
    if (!st) {
      st = ug_kir_verify_module(m);
      free(ug_kir_print_module_to_string(m));
      ug_kir_module_destroy(m);
    }
    ug_status_free(st);
  }
  free(buf);
  free(valid);
}
END_TEST

START_TEST(parser_bounds_depth) {
  /* nested regions are refused, not recursed into without bound */
  size_t cap = 1 << 16;
  char *text = malloc(cap);
  size_t n = (size_t)sprintf(text, "kernel @k() grid(1) block(warps=1) {\n");
  for (int i = 0; i < 1000; i++) n += (size_t)sprintf(text + n, "for %%i%d = 0 to 1 step 1 {\n", i);
  ug_kir_module_t *m = NULL;
  ug_status_t st = ug_kir_parse(text, n, "t", NULL, &m);
  ck_assert_ptr_nonnull(st);
  ck_assert_ptr_nonnull(strstr(ug_status_message(st), "regions nested too deeply"));
  ug_status_free(st);
  /* so are deep parentheses in a dimension */
  n = (size_t)sprintf(text, "kernel @k() grid(");
  for (int i = 0; i < 1000; i++) text[n++] = '(';
  st = ug_kir_parse(text, n, "t", NULL, &m);
  ck_assert_ptr_nonnull(st);
  ck_assert_ptr_nonnull(strstr(ug_status_message(st), "nested too deeply"));
  ug_status_free(st);
  free(text);
  /* 60 nested loops are fine and round-trip */
  char *ok = malloc(cap);
  n = (size_t)sprintf(ok, "kernel @k() grid(1) block(warps=1) {\n");
  for (int i = 0; i < 60; i++) {
    for (int j = 0; j <= i; j++) n += (size_t)sprintf(ok + n, "  ");
    n += (size_t)sprintf(ok + n, "for %%i%d = 0 to 1 step 1 {\n", i);
  }
  for (int i = 59; i >= 0; i--) {
    for (int j = 0; j <= i; j++) n += (size_t)sprintf(ok + n, "  ");
    n += (size_t)sprintf(ok + n, "}\n");
  }
  sprintf(ok + n, "}\n");
  expect_round_trip(ok);
  free(ok);
}
END_TEST

/* Every form the printer can write reads back to itself. */
START_TEST(parser_reads_every_form) {
  expect_round_trip(
      "kernel @\"odd name\"(%\"a b\": global f32[n,4], %x: f32[], %i: index) grid(n, 2, 1) block(warps=2) {\n"
      "  %b = alloc : mbarrier<1>\n"
      "  mbar_init %b {count=1}\n"
      "  %0 = program_id {axis=2} : index\n"
      "  %m = splat {value=1.0} : bool[2,4]\n"
      "  %t = load %\"a b\"[%0, 0], %m {other=nan} : f32[2,4]\n"
      "  %1 = clip %t : f32[2,4]\n"
      "  %2 = cast %1 {to=f16} : f16[2,4]\n"
      "  %3 = gelu %1 {approximate=\"tanh\"} : f32[2,4] loc(\"esc\\\"aped\\\\\\x01\")\n"
      "  mbar_arrive %b[0] {count=2}\n"
      "  mbar_arrive_tx %b[0] {bytes=16}\n"
      "  wait {pending=0}\n"
      "  %g = commit : token\n"
      "  wait %g, %g\n"
      "  %4 = splat {value=0.0} : f32[2,2]\n"
      "  %5 = mma %1, %1, %4 {trans_b=1} : f32[2,2]\n"
      "}\n");
  /* an index carried by a loop from an immediate, yielded, used after */
  expect_round_trip(
      "kernel @k() grid(1) block(warps=1) {\n"
      "  %n = for %i = 0 to (K+1)/2 step 1 iter(%j = 0 : index) {\n"
      "    %j2 = add %j, max(2,K) : index\n"
      "    yield %j2\n"
      "  }\n"
      "  %c = less %n, K-1 : bool[]\n"
      "  %r = if %c -> (index) {\n"
      "    yield 0\n"
      "  } else {\n"
      "    yield %n\n"
      "  }\n"
      "}\n");
}
END_TEST

/* ---- round trip of tests/kir ---- */

static int roundtrip_count;

static void roundtrip_dir(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot open %s", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 4, ".kir") != 0) continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    char *text = read_text(path);
    ug_kir_module_t *m = NULL;
    ug_status_t st = ug_kir_parse_file(path, NULL, &m);
    ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
    st = ug_kir_verify_module(m);
    ck_assert_msg(st == NULL, "%s: %s", ug_status_origin(st), ug_status_message(st));
    char *printed = ug_kir_print_module_to_string(m);
    char *want = ug_test_normalize(text);
    ck_assert_msg(strcmp(printed, want) == 0, "%s does not round-trip; it prints as:\n%s", path, printed);
    ug_kir_module_t *m2 = NULL;
    ck_assert_ptr_null(ug_kir_parse(printed, strlen(printed), path, NULL, &m2));
    char *again = ug_kir_print_module_to_string(m2);
    ck_assert_str_eq(again, printed);
    free(again);
    ug_kir_module_destroy(m2);
    free(want);
    free(printed);
    free(text);
    ug_kir_module_destroy(m);
    roundtrip_count++;
  }
  closedir(d);
}

START_TEST(every_kir_file_round_trips) {
  roundtrip_count = 0;
  roundtrip_dir(UG_SOURCE_DIR "/tests/kir");
  ck_assert_int_ge(roundtrip_count, 6);
}
END_TEST

/* The warp-specialized GEMM's ring: 3 stages of A0, A1 and B plus two mbarrier arrays. */
START_TEST(shared_bytes_of_examples) {
  ug_kir_module_t *m = NULL;
  ck_assert_ptr_null(ug_kir_parse_file(UG_SOURCE_DIR "/tests/kir/gemm_ws.kir", NULL, &m));
  ck_assert_uint_eq(ug_kir_shared_bytes(m->kernels.items[0]), 3 * (8192 + 8192 + 16384) + 128 + 128);
  ug_kir_module_destroy(m);
}
END_TEST

/* docs/kernel-ir.md documents every op of ir/kir.def. */
START_TEST(docs_list_every_op) {
  char *doc = read_text(UG_SOURCE_DIR "/docs/kernel-ir.md");
  for (int i = 0; i < UG_KIR_OP_COUNT; i++) {
    char needle[128];
    snprintf(needle, sizeof(needle), i == UG_KIR_EW ? "| *(elementwise graph op)* |" : "| `%s` |",
             ug_kir_op_info((ug_kir_op_t)i)->name);
    ck_assert_msg(strstr(doc, needle) != NULL, "docs/kernel-ir.md lacks a row for '%s' (run scripts/gen-kir-table.py)",
                  ug_kir_op_info((ug_kir_op_t)i)->name);
  }
  free(doc);
}
END_TEST

/* Every ```kir block of docs/kernel-ir.md parses, verifies and is in printed form. */
START_TEST(docs_examples_round_trip) {
  char *doc = read_text(UG_SOURCE_DIR "/docs/kernel-ir.md");
  int blocks = 0;
  for (char *p = strstr(doc, "```kir\n"); p; p = strstr(p, "```kir\n")) {
    p += 7;
    char *end = strstr(p, "```");
    ck_assert_ptr_nonnull(end);
    char *block = strndup(p, (size_t)(end - p));
    expect_round_trip(block);
    free(block);
    blocks++;
    p = end + 3;
  }
  ck_assert_int_ge(blocks, 4);
  free(doc);
}
END_TEST

static Suite *kir_suite(void) {
  Suite *s = suite_create("kir");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, tables_name_every_op_and_attr);
  tcase_add_test(tc, types_format_and_compare);
  tcase_add_test(tc, build_softmax_matches_file);
  tcase_add_test(tc, build_loops_roles_if);
  tcase_add_test(tc, printer_numbers_duplicate_names);
  tcase_add_test(tc, dims_shared_with_graph_module);
  suite_add_tcase(s, tc);
  TCase *tv = tcase_create("verify");
  tcase_add_test(tv, verify_use_before_def);
  tcase_add_test(tv, verify_memory_spaces);
  tcase_add_test(tv, verify_gather);
  tcase_add_test(tv, verify_gather_runs);
  tcase_add_test(tv, verify_clusters);
  tcase_add_test(tv, verify_async_gather);
  tcase_add_test(tv, verify_stage_out_of_range);
  tcase_add_test(tv, verify_tile_shapes);
  tcase_add_test(tv, verify_roles);
  tcase_add_test(tv, verify_regions_and_attrs);
  suite_add_tcase(s, tv);
  TCase *tp = tcase_create("text");
  tcase_set_timeout(tp, 60);
  tcase_add_test(tp, parser_errors_point_at_line_col);
  tcase_add_test(tp, parser_survives_truncation_and_garbage);
  tcase_add_test(tp, parser_bounds_depth);
  tcase_add_test(tp, parser_reads_every_form);
  tcase_add_test(tp, every_kir_file_round_trips);
  tcase_add_test(tp, shared_bytes_of_examples);
  tcase_add_test(tp, docs_list_every_op);
  tcase_add_test(tp, docs_examples_round_trip);
  suite_add_tcase(s, tp);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(kir_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
