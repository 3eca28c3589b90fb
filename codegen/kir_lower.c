/* Plan steps to kernel-IR kernels; see kir_lower.h. */
#include "codegen/kir_lower.h"

#include <stdio.h>

static ug_status_t not_lowered(ug_graph_t *g, const ug_node_t *n, const char *why) {
  return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not lowered to kernel IR: %s", why);
}

/* The largest element of the step's values in bytes (at least 1). */
static int widest(ug_graph_t *g, const ug_value_id_t *vals, uint32_t n) {
  int w = 1;
  for (uint32_t i = 0; i < n; i++) {
    int b = ug_dtype_bits(ug_value_type(g, vals[i])->dtype) / 8;
    if (b > w) w = b;
  }
  return w;
}

/* An elementwise node over rows x columns (kir_lower.h). */
static ug_status_t lower_ew(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s, ug_kir_kernel_t **out) {
  ug_graph_t *g = p->g;
  ug_dims_t *D = km->dims;
  const ug_node_t *n = &g->nodes.items[s->node];
  if (n->num_results != 1 || n->num_operands > 3) return not_lowered(g, n, "arity");
  ug_value_id_t vals[4];
  uint32_t nops = 0;
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v != UG_NONE) vals[nops++] = v;
  }
  if (nops != n->num_operands) return not_lowered(g, n, "absent optional operand");
  ug_value_id_t res = ug_node_result(g, n, 0);
  vals[nops] = res;
  const ug_type_t *ot = ug_value_type(g, res);
  int R = ot->rank;

  /* columns: the trailing axes [c, R) where every operand has the result's extent */
  int c = R;
  while (c > 0) {
    bool full = true;
    for (uint32_t i = 0; i < nops && full; i++) {
      const ug_type_t *t = ug_value_type(g, vals[i]);
      int j = c - 1 - (R - t->rank);
      full = j >= 0 && t->dims[j] == ot->dims[c - 1];
    }
    if (!full) break;
    c--;
  }
  bool bcols = c == R && R > 0; /* some operand broadcasts along the last axis */
  if (bcols) c = R - 1;
  ug_dim_t cols = 1, rows = 1;
  for (int j = c; j < R; j++) cols = ug_dim_mul(D, cols, ot->dims[j]);
  for (int j = 0; j < c; j++) rows = ug_dim_mul(D, rows, ot->dims[j]);
  if (rows != 1 && !(UG_DIM_IS_STATIC(cols) && cols >= UG_KIR_MIN_COLS))
    return not_lowered(g, n, "broadcast with short rows");
  /* each operand as [row dims (1 where it broadcasts or lacks the axis), its column extent] */
  ug_dim_t shapes[4][UG_MAX_RANK + 1];
  bool col_full[4];
  for (uint32_t i = 0; i <= nops; i++) {
    const ug_type_t *t = ug_value_type(g, vals[i]);
    int off = R - t->rank;
    for (int j = 0; j < c; j++) shapes[i][j] = j - off >= 0 ? t->dims[j - off] : 1;
    ug_dim_t tc = 1;
    for (int j = c; j < R; j++) tc = ug_dim_mul(D, tc, j - off >= 0 ? t->dims[j - off] : 1);
    col_full[i] = tc == cols;
    if (!col_full[i] && tc != 1) return not_lowered(g, n, "column extent neither the result's nor 1");
    shapes[i][c] = tc;
  }

  int V = 16 / widest(g, vals, nops + 1);
  if (V < 1) V = 1;
  int64_t T = (int64_t)32 * UG_KIR_EW_WARPS * V * UG_KIR_EW_ROUNDS;
  ug_kir_kernel_t *k = ug_kir_kernel_create(km, s->kernel_name);
  k->warps = UG_KIR_EW_WARPS;
  ug_kir_value_id_t params[4];
  for (uint32_t i = 0; i <= nops; i++) {
    ug_kir_type_t gt = ug_kir_type_global(ug_value_type(g, vals[i])->dtype, c + 1, shapes[i]);
    char name[16];
    snprintf(name, sizeof name, "a%u", i);
    params[i] = ug_kir_add_param(k, ug_arena_strdup(km->arena, name), &gt);
  }
  ug_dim_t tiles = ug_dim_ceildiv(D, cols, T);
  ug_dim_t grid = ug_dim_mul(D, rows, tiles);
  ug_kir_set_grid(k, 1, &grid);

  ug_kir_region_id_t body = k->body;
  ug_kir_type_t ix = ug_kir_type_index();
  ug_kir_value_id_t pid = ug_kir_program_id(k, body, 0);
  ug_kir_operand_t col0 = ug_kir_imm(0), coord[UG_MAX_RANK];
  ug_kir_value_id_t row = pid;
  if (tiles != 1) {
    /* program pid is tile pid mod tiles of row pid / tiles (of the only row when c == 0) */
    ug_kir_value_id_t ct = pid;
    ug_kir_operand_t a[2] = {ug_kir_val(pid), ug_kir_imm(tiles)};
    if (c > 0) {
      ct = ug_kir_ew(k, body, UG_OP_MOD, a, 2, &ix);
      row = ug_kir_ew(k, body, UG_OP_DIV, a, 2, &ix);
    }
    ug_kir_operand_t b[2] = {ug_kir_val(ct), ug_kir_imm(T)};
    col0 = ug_kir_val(ug_kir_ew(k, body, UG_OP_MUL, b, 2, &ix));
  }
  /* row coordinates, innermost first */
  for (int j = c - 1; j >= 0; j--) {
    if (ot->dims[j] == 1 || j == 0) {
      coord[j] = ot->dims[j] == 1 ? ug_kir_imm(0) : ug_kir_val(row);
      continue;
    }
    ug_kir_operand_t a[2] = {ug_kir_val(row), ug_kir_imm(ot->dims[j])};
    coord[j] = ug_kir_val(ug_kir_ew(k, body, UG_OP_MOD, a, 2, &ix));
    row = ug_kir_ew(k, body, UG_OP_DIV, a, 2, &ix);
  }
  ug_kir_operand_t args[3];
  ug_dim_t tdim = T, one = 1;
  ug_kir_type_t full_t;
  for (uint32_t i = 0; i <= nops; i++) {
    ug_kir_operand_t idx[UG_MAX_RANK + 1];
    for (int j = 0; j < c; j++) {
      ug_dim_t d = shapes[i][j];
      if (d == ot->dims[j]) {
        idx[j] = coord[j];
      } else if (d == 1) {
        idx[j] = ug_kir_imm(0);
      } else { /* symbolic: 1 or the result's extent, decided at run time */
        ug_kir_operand_t a[2] = {coord[j], ug_kir_imm(ug_dim_sub(D, d, 1))};
        idx[j] = ug_kir_val(ug_kir_ew(k, body, UG_OP_MIN, a, 2, &ix));
      }
    }
    idx[c] = col_full[i] ? col0 : ug_kir_imm(0);
    ug_dtype_t dt = ug_value_type(g, vals[i])->dtype;
    full_t = ug_kir_type_tile(dt, 1, &tdim);
    if (i == nops) {
      /* the result: the elementwise op, then the store */
      ug_kir_op_id_t o = ug_kir_begin(k, body, UG_KIR_EW, n->loc);
      k->ops.items[o].ew = n->op;
      for (uint32_t a = 0; a < nops; a++) ug_kir_push_operand(k, o, args[a]);
      const ug_attr_t *at = ug_node_attrs(g, n);
      for (uint32_t a = 0; a < n->num_attrs; a++) ug_kir_push_attr(k, o, ug_kir_attr_graph(at[a]));
      ug_kir_value_id_t r = ug_kir_push_result(k, o, &full_t, NULL);
      ug_kir_store(k, body, params[i], idx, (uint32_t)c + 1, r, UG_NONE);
      break;
    }
    if (col_full[i]) {
      args[i] = ug_kir_val(ug_kir_load(k, body, params[i], idx, (uint32_t)c + 1, UG_NONE, &full_t));
    } else {
      ug_kir_type_t one_t = ug_kir_type_tile(dt, 1, &one);
      ug_kir_value_id_t x = ug_kir_load(k, body, params[i], idx, (uint32_t)c + 1, UG_NONE, &one_t);
      args[i] = ug_kir_val(ug_kir_unary(k, body, UG_KIR_BROADCAST, x, &full_t));
    }
  }
  *out = k;
  return ug_kir_verify_kernel(k);
}

ug_status_t ug_kir_lower_step(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                              ug_kir_kernel_t **out) {
  *out = NULL;
  if (s->kind != UG_STEP_NODE) return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "not lowered to kernel IR: copy step");
  ug_graph_t *g = p->g;
  const ug_node_t *n = &g->nodes.items[s->node];
  if (ug_op_info(n->op)->category == UG_CAT_EW) return lower_ew(km, p, s, out);
  return not_lowered(g, n, "op class");
}
