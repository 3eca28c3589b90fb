/* fold-bn: fold an inference batch_norm into the convolution before it.
 *
 *   %y = conv %x, %w, %b? {...}                 %y' = conv %x, %w', %b' {...}
 *   %z = batch_norm %y, %s, %t, %mu, %var   ->  (uses of %z now use %y')
 *
 * with, per output channel m and k = s[m] / sqrt(var[m] + epsilon):
 *   w'[m, ...] = w[m, ...] * k      b'[m] = (b[m] - mu[m]) * k + t[m]
 * (b = 0 when the conv has none).  conv_transpose folds the same way; its
 * weight is [C, M/group, k...], so output channel m of element [c, j, ...] is
 * (c / (C/group)) * (M/group) + j.
 *
 * It applies when the batch_norm's input is the conv's result and nothing
 * else uses that result (not even a graph output), w, b and the four
 * parameters are const nodes whose weights carry data, w is f64, f32, f16 or
 * bf16 with a static shape, and the folded type is the batch_norm's.  The
 * new values are computed in double and rounded once to w's dtype (f16 and
 * bf16 through f32); they become new anonymous weights in the module arena
 * (the old ones, which may be borrowed from a mapped file, are only read).
 * The old conv and batch_norm are marked dead; their constants are left for
 * dce.  A batch_norm that does not fold stays as it is, and the report
 * (ug_pass_report) says why.
 *
 * Requires: a topological schedule; result types consistent with operands.
 * Guarantees: the graph computes the same values up to rounding: the conv
 *           now accumulates x * (w * k) where it accumulated x * w and
 *           scaled after, so results differ by a few ulps of the dtype;
 *           types of values, and so graph outputs' types and names, are
 *           unchanged.  A fold whose weight or bias would overflow to
 *           infinity (or is NaN from finite inputs) is not made.
 * Statistics: "folded", the number of batch_norm nodes folded away. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "ir/text.h"
#include "passes/eval.h"
#include "passes/pass.h"

typedef struct {
  ug_graph_t *g;
  FILE *rep;
  ug_uses_t uses;
  size_t num_values; /* values the use lists cover */
  ug_value_map_t fwd;
} fold_t;

static void keep(fold_t *f, const ug_node_t *n, const char *fmt, ...) UG_PRINTF(3, 4);
static void keep(fold_t *f, const ug_node_t *n, const char *fmt, ...) {
  if (!f->rep) return;
  char d[256];
  fprintf(f->rep, "  not folded: %s: ", ug_node_describe(f->g, n, d, sizeof d));
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f->rep, fmt, ap);
  va_end(ap);
  fputc('\n', f->rep);
}

/* A constant operand with data, a static type and `numel` elements of a
 * float dtype the evaluator reads; NULL otherwise. */
static const ug_weight_t *const_data(ug_graph_t *g, ug_value_id_t v, int64_t *out_numel) {
  if (v == UG_NONE) return NULL;
  const ug_weight_t *w = ug_value_weight(g, v);
  const ug_type_t *t = ug_value_type(g, v);
  int64_t numel, bytes;
  if (!w || !w->data || !ug_type_equal(t, &w->type) || !ug_type_static_numel(t, &numel)) return NULL;
  if (!ug_dtype_is_float(t->dtype) || !ug_eval_numeric_dtype(t->dtype)) return NULL;
  if (!ug_dtype_bytes(t->dtype, numel, &bytes) || (uint64_t)bytes > w->size) return NULL;
  *out_numel = numel;
  return w;
}

/* Stores v rounded to dt at element i; false when the rounded value is not
 * finite (an overflow). */
static bool put(ug_dtype_t dt, void *data, int64_t i, double v) {
  switch (dt) {
  case UG_DTYPE_F64:
    ((double *)data)[i] = v;
    return isfinite(v);
  case UG_DTYPE_F32:
    ((float *)data)[i] = (float)v;
    return isfinite(((float *)data)[i]);
  case UG_DTYPE_F16: {
    uint16_t h = ug_f32_to_f16((float)v);
    ((uint16_t *)data)[i] = h;
    return isfinite(ug_f16_to_f32(h));
  }
  case UG_DTYPE_BF16: {
    uint16_t h = ug_f32_to_bf16((float)v);
    ((uint16_t *)data)[i] = h;
    return isfinite(ug_bf16_to_f32(h));
  }
  default: return false;
  }
}

static ug_status_t new_const(ug_graph_t *g, const ug_type_t *t, void *data, uint64_t size, const char *loc,
                             ug_value_id_t *out) {
  ug_weight_id_t w;
  UG_RETURN_IF_ERROR(ug_module_add_weight(g->module, NULL, t, data, size, ug_hash_bytes(data, size), &w));
  return ug_graph_add_const(g, w, loc, out);
}

/* Folds batch_norm bn when it can; reports why not otherwise. */
static ug_status_t try_fold(fold_t *f, ug_node_id_t bid, bool *out_folded) {
  ug_graph_t *g = f->g;
  ug_module_t *m = g->module;
  *out_folded = false;
  const ug_node_t *bn = ug_node(g, bid);
  ug_value_id_t y = ug_node_operand(g, bn, 0);
  const ug_node_t *cv = ug_value_def(g, y);
  if (!cv || (cv->op != UG_OP_CONV && cv->op != UG_OP_CONV_TRANSPOSE)) {
    keep(f, bn, "its input is not the result of a conv");
    return NULL;
  }
  if (y >= f->num_values) {
    keep(f, bn, "its input is a conv folded in this run (a second run folds it)");
    return NULL;
  }
  if (ug_uses_count(&f->uses, y) != 1) {
    keep(f, bn, "the conv's result has other uses");
    return NULL;
  }
  bool transpose = cv->op == UG_OP_CONV_TRANSPOSE;
  ug_value_id_t wv = ug_node_operand(g, cv, 1);
  ug_value_id_t bv = cv->num_operands > 2 ? ug_node_operand(g, cv, 2) : UG_NONE;
  int64_t wn = 0, bnum = 0, pn[4];
  const ug_weight_t *w = const_data(g, wv, &wn);
  const ug_weight_t *b = bv == UG_NONE ? NULL : const_data(g, bv, &bnum);
  if (!w) {
    keep(f, bn, "the conv's weight is not a constant with data");
    return NULL;
  }
  if (bv != UG_NONE && !b) {
    keep(f, bn, "the conv's bias is not a constant with data");
    return NULL;
  }
  static const char *pname[4] = {"scale", "bias", "mean", "var"};
  const ug_weight_t *pw[4];
  for (uint32_t i = 0; i < 4; i++) {
    pw[i] = const_data(g, ug_node_operand(g, bn, i + 1), &pn[i]);
    if (!pw[i]) {
      keep(f, bn, "%s is not a constant with data", pname[i]);
      return NULL;
    }
  }
  const ug_type_t *wt = ug_value_type(g, wv);
  ug_dtype_t dt = wt->dtype;
  int64_t group = ug_node_attr_int(g, cv, UG_ATTR_GROUP, 1);
  /* M output channels; w is [M, C/group, k...] or (transpose) [C, M/group, k...] */
  int64_t M = transpose ? wt->dims[1] * group : wt->dims[0];
  if (wt->rank < 2 || M <= 0 || wt->dims[0] <= 0 || wt->dims[1] <= 0 || group < 1 || wt->dims[0] % group != 0 ||
      wn % (wt->dims[0] * wt->dims[1]) != 0) {
    keep(f, bn, "unexpected weight shape");
    return NULL;
  }
  for (uint32_t i = 0; i < 4; i++)
    if (pn[i] != M) {
      keep(f, bn, "%s has %lld elements for %lld channels", pname[i], (long long)pn[i], (long long)M);
      return NULL;
    }
  if (b && bnum != M) {
    keep(f, bn, "the conv's bias has %lld elements for %lld channels", (long long)bnum, (long long)M);
    return NULL;
  }
  const ug_type_t *zt = ug_value_type(g, ug_node_result(g, bn, 0));
  if (!ug_type_equal(zt, ug_value_type(g, y))) {
    keep(f, bn, "its type differs from the conv's");
    return NULL;
  }
  double eps = ug_node_attr_float(g, bn, UG_ATTR_EPSILON, 1e-5);
  int64_t wb, bb;
  if (!ug_dtype_bytes(dt, wn, &wb) || !ug_dtype_bytes(dt, M, &bb)) return NULL;
  void *nw = ug_arena_alloc(m->arena, (size_t)wb + 1);
  void *nb = ug_arena_alloc(m->arena, (size_t)bb + 1);
  double *k = ug_arena_alloc(m->arena, sizeof(double) * (size_t)M);
  for (int64_t c = 0; c < M; c++) {
    double var = ug_eval_get_f(pw[3]->type.dtype, pw[3]->data, c) + eps;
    if (!(var > 0)) {
      keep(f, bn, "var + epsilon is not positive for channel %lld", (long long)c);
      return NULL;
    }
    k[c] = ug_eval_get_f(pw[0]->type.dtype, pw[0]->data, c) / sqrt(var);
    double bias = b ? ug_eval_get_f(b->type.dtype, b->data, c) : 0.0;
    double mean = ug_eval_get_f(pw[2]->type.dtype, pw[2]->data, c);
    double v = (bias - mean) * k[c] + ug_eval_get_f(pw[1]->type.dtype, pw[1]->data, c);
    if (!put(dt, nb, c, v) && isfinite(v)) {
      keep(f, bn, "the folded bias of channel %lld overflows %s", (long long)c, ug_dtype_name(dt));
      return NULL;
    }
  }
  /* elements per [c, j] slice of the weight (the kernel window) */
  int64_t inner = wn / (wt->dims[0] * wt->dims[1]);
  int64_t cg = wt->dims[0] / group; /* transpose: input channels per group */
  for (int64_t i = 0; i < wn; i++) {
    int64_t c = i / inner / wt->dims[1], j = i / inner % wt->dims[1];
    int64_t oc = transpose ? c / cg * wt->dims[1] + j : c;
    double x = ug_eval_get_f(dt, w->data, i);
    if (!put(dt, nw, i, x * k[oc]) && isfinite(x)) {
      keep(f, bn, "the folded weight of channel %lld overflows %s", (long long)oc, ug_dtype_name(dt));
      return NULL;
    }
  }
  ug_type_t bt = {.dtype = dt, .rank = 1};
  bt.dims[0] = M;
  const char *loc = cv->loc;
  ug_value_id_t ops[3] = {ug_node_operand(g, cv, 0), UG_NONE, UG_NONE};
  UG_RETURN_IF_ERROR(new_const(g, wt, nw, (uint64_t)wb, loc, &ops[1]));
  UG_RETURN_IF_ERROR(new_const(g, &bt, nb, (uint64_t)bb, loc, &ops[2]));
  /* the conv's attributes, copied: adding a node may move the pool */
  cv = ug_value_def(g, y);
  uint32_t na = cv->num_attrs;
  ug_attr_t *attrs = ug_arena_alloc(m->arena, sizeof(ug_attr_t) * (na + 1));
  if (na) memcpy(attrs, ug_node_attrs(g, cv), sizeof(ug_attr_t) * na);
  ug_op_t op = cv->op;
  ug_node_id_t cid = g->values.items[y].def;
  ug_value_id_t r;
  UG_RETURN_IF_ERROR(ug_graph_add_node(g, op, ops, 3, attrs, na, zt, 1, loc, &r, NULL));
  UG_RETURN_IF_ERROR(ug_value_map_set(&f->fwd, g, ug_node_result(g, ug_node(g, bid), 0), r));
  ug_node(g, bid)->dead = true;
  ug_node(g, cid)->dead = true;
  *out_folded = true;
  return NULL;
}

ug_status_t ug_pass_fold_bn(ug_pass_ctx_t *ctx, ug_graph_t *g) {
  fold_t f = {.g = g, .rep = ug_pass_report(ctx)};
  if (f.rep) fprintf(f.rep, "graph @%s\n", g->name);
  ug_uses_compute(g, &f.uses);
  f.num_values = g->values.len;
  ug_status_t st = NULL;
  long folded = 0;
  size_t num_nodes = g->nodes.len; /* the nodes appended are convs and consts */
  for (size_t i = 0; i < num_nodes && !st; i++) {
    ug_node_t *n = ug_node(g, (ug_node_id_t)i);
    if (n->dead) continue;
    ug_value_map_node(&f.fwd, g, n);
    if (n->op != UG_OP_BATCH_NORM) continue;
    bool ok = false;
    st = try_fold(&f, (ug_node_id_t)i, &ok);
    folded += ok;
  }
  ug_uses_free(&f.uses);
  ug_value_map_apply(&f.fwd, g);
  ug_value_map_free(&f.fwd);
  if (st) return ug_status_annotate(st, "in fold-bn");
  ug_pass_stat(ctx, "folded", folded);
  return NULL;
}
