/* layout: convolutions with their channels last (NHWC) where the GPU's
 * tensor cores gain from it, and the transposes this adds moved out of the
 * way so that most of them cancel.
 *
 * A conv qualifies when x, w and the result are f16, bf16 or f32, it has 1 or 2
 * spatial dims and one group, its input and output channels are static
 * multiples of 8 (so a pixel's channels are whole 16-byte rows).  It becomes
 *   y = transpose(conv_nhwc(transpose(x, [0,2,3,1]), w', b), [0,3,1,2])
 * (rank 3: [0,2,1]) with w' the weight as [k..., C, M] (the CUDA kernel
 * reads it as the [K, M] operand of a GEMM): a constant weight is re-laid
 * out here, into a new weight; any other is transposed at run time.
 * The result's transpose then sinks through elementwise nodes: a node whose
 * operands are all such transposes by one permutation, or one-element
 * values (which broadcast the same either way), runs on the transposes'
 * inputs and is transposed after.  Two transposes in a row are left to
 * canonicalize, which merges them and drops identities; so between two NHWC
 * convs joined by elementwise nodes (relu, a residual add) no transpose
 * remains.  Only transposes this pass made sink, so the rest of the graph
 * keeps its shape.
 *
 * The default pipeline runs it for GPU-only targets (ug_pass_options_t
 * gpu_layout): a model that may run on the CPU keeps NCHW (the CPU runs both
 * layouts as kernel-IR GEMMs, channels last not measured against NCHW there;
 * a fat model's targets share one graph).
 *
 * Requires: a graph in topological order with inferred types.
 * Guarantees: graph outputs keep their types and names; the values computed
 *           are the same (the sums of conv_nhwc are those of conv, in
 *           another order on the GPU).
 * Statistics: "convs" (made channels last), "sunk" (elementwise nodes moved
 * before a transpose).
 * Report: every conv that stays NCHW with its reason. */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

typedef struct {
  ug_graph_t *g;
  FILE *rep;
  bool *made;     /* per value: the result of a transpose this pass made */
  size_t nmade;
  long convs, sunk;
} layout_t;

static const int64_t *arena_perm(ug_graph_t *g, const int64_t *p, int n) {
  int64_t *v = ug_arena_alloc(g->module->arena, sizeof(int64_t) * (size_t)n);
  memcpy(v, p, sizeof(int64_t) * (size_t)n);
  return v;
}

/* Records v as made by this pass (grows the table as values are added). */
static ug_status_t mark_made(layout_t *L, ug_value_id_t v) {
  if (v >= L->nmade) {
    size_t n = 2 * (size_t)v + 64;
    bool *m = realloc(L->made, n * sizeof *m);
    if (!m) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory in layout");
    memset(m + L->nmade, 0, (n - L->nmade) * sizeof *m);
    L->made = m;
    L->nmade = n;
  }
  L->made[v] = true;
  return NULL;
}

static bool made(const layout_t *L, ug_value_id_t v) { return v < L->nmade && L->made[v]; }

/* The name of `from` goes to `to`, its channels-last counterpart. */
static void move_name(ug_graph_t *g, ug_value_id_t from, ug_value_id_t to) {
  ug_value(g, to)->name = ug_value(g, from)->name;
  ug_value(g, from)->name = NULL;
}

static ug_status_t add_transpose(layout_t *L, ug_value_id_t x, const int64_t *perm, int rank, const char *loc,
                                 bool mark, ug_value_id_t *out) {
  ug_attr_t at = ug_attr_ints(UG_ATTR_PERM, arena_perm(L->g, perm, rank), (uint32_t)rank);
  UG_RETURN_IF_ERROR(ug_graph_add_node(L->g, UG_OP_TRANSPOSE, &x, 1, &at, 1, NULL, 1, loc, out, NULL));
  return mark ? mark_made(L, *out) : NULL;
}

/* Why conv n stays NCHW, or NULL when it qualifies. */
static const char *refuse(ug_graph_t *g, const ug_node_t *n) {
  const ug_type_t *x = ug_value_type(g, ug_node_operand(g, n, 0)), *w = ug_value_type(g, ug_node_operand(g, n, 1));
  const ug_type_t *o = ug_value_type(g, ug_node_result(g, n, 0));
  if ((o->dtype != UG_DTYPE_F16 && o->dtype != UG_DTYPE_BF16 && o->dtype != UG_DTYPE_F32) || x->dtype != o->dtype ||
      w->dtype != o->dtype)
    return "not f16 / bf16 / f32 (the tensor-core kernel's types)";
  if (x->rank != 3 && x->rank != 4) return "not 1 or 2 spatial dims";
  if (ug_node_attr_int(g, n, UG_ATTR_GROUP, 1) != 1) return "grouped";
  if (!UG_DIM_IS_STATIC(x->dims[1]) || x->dims[1] % 8 != 0 || !UG_DIM_IS_STATIC(o->dims[1]) || o->dims[1] % 8 != 0)
    return "input or output channels are not a static multiple of 8";
  if (!ug_type_is_static(w)) return "the weight's shape is not static";
  return NULL;
}

/* w [M, C, k...] as [k..., C, M]: a new constant. */
static ug_status_t relayout_weight(ug_graph_t *g, ug_value_id_t wv, const char *loc, ug_value_id_t *out) {
  const ug_type_t *w = ug_value_type(g, wv);
  const ug_weight_t *wt = ug_value_weight(g, wv);
  int sr = w->rank - 2;
  int64_t M = w->dims[0], C = w->dims[1], K = 1;
  for (int i = 0; i < sr; i++) K *= w->dims[2 + i];
  size_t es = (size_t)ug_dtype_bits(w->dtype) / 8;
  size_t size = (size_t)(M * C * K) * es;
  unsigned char *d = ug_arena_alloc(g->module->arena, size ? size : 1);
  const unsigned char *s = wt->data;
  for (int64_t m = 0; m < M; m++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t t = 0; t < K; t++) memcpy(d + ((t * C + c) * M + m) * es, s + ((m * C + c) * K + t) * es, es);
  ug_type_t nt = {.dtype = w->dtype, .rank = w->rank};
  for (int i = 0; i < sr; i++) nt.dims[i] = w->dims[2 + i];
  nt.dims[sr] = C;
  nt.dims[sr + 1] = M;
  ug_weight_id_t id;
  UG_RETURN_IF_ERROR(ug_module_add_weight(g->module, NULL, &nt, d, size, ug_hash_bytes(d, size), &id));
  return ug_graph_add_const(g, id, loc, out);
}

static ug_status_t convert_conv(layout_t *L, ug_node_id_t id) {
  ug_graph_t *g = L->g;
  const ug_node_t *n = ug_node(g, id);
  int rank = ug_value_type(g, ug_node_operand(g, n, 0))->rank;
  /* to channels last and back */
  int64_t to[UG_MAX_RANK], back[UG_MAX_RANK];
  to[0] = back[0] = 0;
  for (int i = 1; i < rank - 1; i++) to[i] = i + 1;
  to[rank - 1] = 1;
  back[1] = rank - 1;
  for (int i = 2; i < rank; i++) back[i] = i - 1;
  const char *loc = n->loc;
  ug_value_id_t ops[3], xt, wt, y, yt;
  UG_RETURN_IF_ERROR(add_transpose(L, ug_node_operand(g, n, 0), to, rank, loc, false, &xt));
  ug_value_id_t w = ug_node_operand(g, n, 1);
  const ug_weight_t *cw = ug_value_weight(g, w);
  if (cw && cw->data) {
    UG_RETURN_IF_ERROR(relayout_weight(g, w, loc, &wt));
  } else {
    /* [M, C, k...] -> [k..., C, M] */
    int64_t wp[UG_MAX_RANK];
    for (int i = 0; i < rank - 2; i++) wp[i] = i + 2;
    wp[rank - 2] = 1;
    wp[rank - 1] = 0;
    UG_RETURN_IF_ERROR(add_transpose(L, w, wp, rank, loc, false, &wt));
  }
  n = ug_node(g, id);
  ops[0] = xt;
  ops[1] = wt;
  ops[2] = n->num_operands > 2 ? ug_node_operand(g, n, 2) : UG_NONE;
  ug_attr_t at[8];
  uint32_t na = 0;
  const ug_attr_t *old = ug_node_attrs(g, n);
  for (uint32_t i = 0; i < n->num_attrs && na < 8; i++) at[na++] = old[i];
  UG_RETURN_IF_ERROR(ug_graph_add_node(g, UG_OP_CONV_NHWC, ops, n->num_operands > 2 ? 3 : 2, at, na, NULL, 1, loc,
                                       &y, NULL));
  UG_RETURN_IF_ERROR(add_transpose(L, y, back, rank, loc, true, &yt));
  n = ug_node(g, id);
  move_name(g, ug_node_result(g, n, 0), y);
  ug_graph_replace_uses(g, ug_node_result(g, n, 0), yt);
  ug_node(g, id)->dead = true;
  L->convs++;
  return NULL;
}

/* Whether v holds one element (it broadcasts the same in any layout). */
static bool one_element(const ug_graph_t *g, ug_value_id_t v) {
  const ug_type_t *t = ug_value_type(g, v);
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] != 1) return false;
  return true;
}

/* Sinks a made transpose through elementwise node id when it can. */
static ug_status_t sink(layout_t *L, ug_node_id_t id) {
  ug_graph_t *g = L->g;
  const ug_node_t *n = ug_node(g, id);
  if (n->dead || ug_op_info(n->op)->category != UG_CAT_EW || n->num_results != 1 || n->num_operands > 4) return NULL;
  const ug_node_t *first = NULL;
  const ug_attr_t *perm = NULL;
  ug_value_id_t ops[4];
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    ops[i] = v;
    if (v == UG_NONE || one_element(g, v)) continue;
    if (!made(L, v)) return NULL;
    const ug_node_t *t = ug_value_def(g, v);
    const ug_attr_t *p = ug_node_attr(g, t, UG_ATTR_PERM);
    if (first) {
      /* one permutation */
      if (p->u.ints.n != perm->u.ints.n || memcmp(p->u.ints.v, perm->u.ints.v, sizeof(int64_t) * p->u.ints.n) != 0)
        return NULL;
    } else {
      first = t;
      perm = p;
    }
    ops[i] = ug_node_operand(g, t, 0);
  }
  if (!first) return NULL;
  /* the operands' shapes must agree with the result's, transposed */
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, n, 0));
  const ug_type_t *in = ug_value_type(g, ug_node_operand(g, first, 0));
  if (rt->rank != in->rank) return NULL;
  for (uint32_t i = 0; i < n->num_operands; i++)
    if (ops[i] != UG_NONE && !one_element(g, ops[i])) {
      const ug_type_t *t = ug_value_type(g, ops[i]);
      for (int a = 0; a < t->rank; a++)
        if (t->dims[a] != in->dims[a]) return NULL;
    }
  int rank = (int)perm->u.ints.n;
  int64_t p[UG_MAX_RANK];
  memcpy(p, perm->u.ints.v, sizeof(int64_t) * (size_t)rank);
  ug_attr_t at[16];
  uint32_t na = n->num_attrs < 16 ? n->num_attrs : 16;
  if (na) memcpy(at, ug_node_attrs(g, n), sizeof(ug_attr_t) * na);
  ug_op_t op = n->op;
  const char *loc = n->loc;
  uint32_t no = n->num_operands;
  ug_value_id_t r, rtp;
  UG_RETURN_IF_ERROR(ug_graph_add_node(g, op, ops, no, at, na, NULL, 1, loc, &r, NULL));
  UG_RETURN_IF_ERROR(add_transpose(L, r, p, rank, loc, true, &rtp));
  n = ug_node(g, id);
  move_name(g, ug_node_result(g, n, 0), r);
  ug_graph_replace_uses(g, ug_node_result(g, n, 0), rtp);
  ug_node(g, id)->dead = true;
  L->sunk++;
  return NULL;
}

ug_status_t ug_pass_layout(ug_pass_ctx_t *ctx, ug_graph_t *g) {
  layout_t L = {.g = g, .rep = ug_pass_report(ctx)};
  ug_status_t st = NULL;
  if (L.rep) fprintf(L.rep, "graph @%s\n", g->name ? g->name : "main");
  uint32_t nn = (uint32_t)g->nodes.len;
  for (uint32_t i = 0; i < nn && !st; i++) {
    const ug_node_t *n = ug_node(g, i);
    if (n->dead || n->op != UG_OP_CONV) continue;
    const char *why = refuse(g, n);
    if (why) {
      if (L.rep) {
        char d[256];
        fprintf(L.rep, "  stays NCHW: %s: %s\n", ug_node_describe(g, n, d, sizeof d), why);
      }
      continue;
    }
    st = convert_conv(&L, i);
  }
  /* new nodes are appended: walk until no node is left (each sink appends two) */
  for (uint32_t i = 0; i < (uint32_t)g->nodes.len && !st; i++) st = sink(&L, i);
  ug_pass_stat(ctx, "convs", L.convs);
  ug_pass_stat(ctx, "sunk", L.sunk);
  free(L.made);
  return st;
}
