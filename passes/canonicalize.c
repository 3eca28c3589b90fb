/* canonicalize: rewrite to canonical forms and remove no-op nodes.
 *
 * Rewrites (x is a value, T a type):
 *   identity(x)                          -> x
 *   squeeze(x) / unsqueeze(x) : T        -> reshape(x) : T   (reshape is the canonical
 *                                           form of every pure change of shape)
 *   reshape(reshape(x)) : T              -> reshape(x) : T
 *   reshape(x) : type(x)                 -> x
 *   expand(x) : type(x)                  -> x
 *   transpose(transpose(x, p), q)        -> transpose(x, p∘q), or x when p∘q is the identity
 *   transpose(x, identity)               -> x
 *   cast(x, to=dtype(x))                 -> x
 *   cast(cast(x, to=m), to=t)            -> cast(x, to=t) when x -> m is exact: same kind
 *                                           (float, signed, unsigned) and m holds every value
 *                                           of dtype(x) (i32->i64, f16->f32, bf16->f64, ...);
 *                                           cast(x, to=dtype(x)) then goes to x
 *   neg(neg(x))                          -> x
 *   mul(x, 1), mul(1, x), div(x, 1)      -> x
 *   add(x, 0), add(0, x), sub(x, 0)      -> x
 *   pow(x, 2)                            -> mul(x, x) for float x (x*x is the
 *                                           correctly rounded square; powf
 *                                           is a long libm call per element)
 * The constant in the last two lines must be a const with data whose every
 * element is exactly 1 (or 0, either sign for floats), and the node's result
 * type must equal type(x): a constant that broadcasts x to a larger shape, or
 * changes its dtype, keeps the node.  For floats, add(x, 0.0) -> x turns the
 * result -0.0 + 0.0 = +0.0 into -0.0; models do not observe the sign of zero,
 * and this is the only difference.
 *
 * Every node the pass creates carries the location of the node it replaces.
 * Nodes are visited in schedule order, and nodes created by a rewrite are
 * visited too, so chains (reshape of squeeze of reshape, ...) collapse in one
 * run.
 *
 * Requires: a schedule in topological order; result types consistent with the
 *           operands (as after shape inference or verification).
 * Guarantees: every value replaced is replaced by one of the same type, so
 *           graph outputs keep their types and names; the values computed are
 *           unchanged (up to the sign of a zero, above).  Replaced nodes are
 *           marked dead; the operands they leave unused are left for dce.
 * Statistics: "rewritten", the number of nodes replaced. */
#include <stdlib.h>
#include <string.h>

#include "passes/eval.h"
#include "passes/pass.h"

typedef struct {
  ug_graph_t *g;
  ug_value_map_t fwd;
  long rewritten;
} canon_t;

/* Replaces the single result of node id by `to` and marks the node dead. */
static ug_status_t replace_node(canon_t *c, ug_node_id_t id, ug_value_id_t to) {
  ug_graph_t *g = c->g;
  ug_node_t *n = ug_node(g, id);
  ug_value_id_t from = ug_node_result(g, n, 0);
  UG_ASSERT(ug_type_equal(ug_value_type(g, from), ug_value_type(g, to)));
  UG_RETURN_IF_ERROR(ug_value_map_set(&c->fwd, g, from, to));
  n->dead = true;
  c->rewritten++;
  return NULL;
}

/* The node defining v (callers check that it is live), or NULL for graph
 * inputs. */
static ug_node_t *def_of(ug_graph_t *g, ug_value_id_t v) {
  if (v == UG_NONE || v >= g->values.len) return NULL;
  ug_node_id_t d = g->values.items[v].def;
  if (d == UG_NONE || d >= g->nodes.len) return NULL;
  return ug_node(g, d);
}

static bool same_type(const ug_graph_t *g, ug_value_id_t a, ug_value_id_t b) {
  return ug_type_equal(ug_value_type(g, a), ug_value_type(g, b));
}

/* Appends the replacement node; false (and nothing appended) when the graph
 * API refuses it, for instance when shape inference cannot prove two symbolic
 * element counts equal: the rewrite is then simply not made. */
static bool add_replacement(ug_graph_t *g, ug_op_t op, ug_value_id_t x, const ug_attr_t *attr,
                            const ug_type_t *t, const char *loc, ug_value_id_t *out) {
  ug_status_t st = ug_graph_add_node(g, op, &x, 1, attr, attr ? 1 : 0, t, 1, loc, out, NULL);
  if (!st) return true;
  ug_status_free(st);
  return false;
}

/* Replaces node id (result type t) by reshape(x) : t, or by x itself when x
 * already has type t. */
static ug_status_t to_reshape(canon_t *c, ug_node_id_t id, ug_value_id_t x) {
  ug_graph_t *g = c->g;
  ug_node_t *n = ug_node(g, id);
  ug_value_id_t r = ug_node_result(g, n, 0);
  if (same_type(g, x, r)) return replace_node(c, id, x);
  ug_type_t t = *ug_value_type(g, r);
  const char *loc = n->loc;
  ug_value_id_t nv;
  if (!add_replacement(g, UG_OP_RESHAPE, x, NULL, &t, loc, &nv)) return NULL;
  return replace_node(c, id, nv);
}

/* The permutation of a transpose node: its perm attribute, or the reversal of
 * the axes when absent.  False when it is not a permutation of [0, rank). */
static bool get_perm(ug_graph_t *g, const ug_node_t *n, int rank, int64_t *perm) {
  if (rank < 0 || rank > UG_MAX_RANK) return false;
  const ug_attr_t *a = ug_node_attr(g, n, UG_ATTR_PERM);
  if (!a) {
    for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
    return true;
  }
  if (a->u.ints.n != (uint32_t)rank) return false;
  bool seen[UG_MAX_RANK] = {false};
  for (int i = 0; i < rank; i++) {
    int64_t p = a->u.ints.v[i];
    if (p < 0) p += rank;
    if (p < 0 || p >= rank || seen[p]) return false;
    seen[p] = true;
    perm[i] = p;
  }
  return true;
}

static ug_status_t canon_transpose(canon_t *c, ug_node_id_t id) {
  ug_graph_t *g = c->g;
  ug_node_t *n = ug_node(g, id);
  ug_value_id_t y = ug_node_operand(g, n, 0), r = ug_node_result(g, n, 0);
  int rank = ug_value_type(g, y)->rank;
  int64_t q[UG_MAX_RANK];
  if (!get_perm(g, n, rank, q)) return NULL;

  ug_value_id_t x = y;
  int64_t perm[UG_MAX_RANK];
  memcpy(perm, q, sizeof perm);
  const ug_node_t *inner = def_of(g, y);
  int64_t p[UG_MAX_RANK];
  if (inner && !inner->dead && inner->op == UG_OP_TRANSPOSE &&
      get_perm(g, inner, ug_value_type(g, ug_node_operand(g, inner, 0))->rank, p) &&
      ug_value_type(g, ug_node_operand(g, inner, 0))->rank == rank) {
    /* y[i] = x[p[i]] and r[i] = y[q[i]], so r[i] = x[p[q[i]]]. */
    x = ug_node_operand(g, inner, 0);
    for (int i = 0; i < rank; i++) perm[i] = p[q[i]];
  }
  bool ident = true;
  for (int i = 0; i < rank; i++) ident = ident && perm[i] == i;
  if (ident) {
    if (same_type(g, x, r)) return replace_node(c, id, x);
    return NULL;
  }
  if (x == y) return NULL; /* a single transpose, already canonical */
  ug_type_t t = *ug_value_type(g, r);
  const char *loc = n->loc;
  ug_attr_t attr = ug_attr_ints(UG_ATTR_PERM, perm, (uint32_t)rank);
  ug_value_id_t nv;
  if (!add_replacement(g, UG_OP_TRANSPOSE, x, &attr, &t, loc, &nv)) return NULL;
  return replace_node(c, id, nv);
}

/* Whether every value of dtype `from` converts exactly to dtype `to` of the
 * same kind. */
static bool cast_exact(ug_dtype_t from, ug_dtype_t to) {
  if (from == to) return true;
  if (ug_dtype_kind(from) != ug_dtype_kind(to)) return false;
  switch (ug_dtype_kind(from)) {
  case UG_KIND_I:
  case UG_KIND_U:
    return ug_dtype_bits(to) >= ug_dtype_bits(from);
  case UG_KIND_F:
    /* Every narrower float format is a subset of f32 and of f64; f16 and
     * bf16 are not subsets of each other. */
    if (to == UG_DTYPE_F64) return true;
    if (to == UG_DTYPE_F32) return from != UG_DTYPE_F64;
    return false;
  default:
    return false;
  }
}

static ug_status_t canon_cast(canon_t *c, ug_node_id_t id) {
  ug_graph_t *g = c->g;
  ug_node_t *n = ug_node(g, id);
  ug_value_id_t y = ug_node_operand(g, n, 0), r = ug_node_result(g, n, 0);
  if (same_type(g, y, r)) return replace_node(c, id, y);

  const ug_node_t *inner = def_of(g, y);
  if (!inner || inner->dead || inner->op != UG_OP_CAST) return NULL;
  ug_value_id_t x = ug_node_operand(g, inner, 0);
  ug_dtype_t xt = ug_value_type(g, x)->dtype, mt = ug_value_type(g, y)->dtype;
  ug_dtype_t rt = ug_value_type(g, r)->dtype;
  if (!cast_exact(xt, mt) || ug_dtype_kind(rt) != ug_dtype_kind(xt)) return NULL;
  if (same_type(g, x, r)) return replace_node(c, id, x);
  ug_type_t t = *ug_value_type(g, r);
  const char *loc = n->loc;
  ug_attr_t attr = ug_attr_dtype(UG_ATTR_TO, rt);
  ug_value_id_t nv;
  if (!add_replacement(g, UG_OP_CAST, x, &attr, &t, loc, &nv)) return NULL;
  return replace_node(c, id, nv);
}

/* Whether v is a const with data whose every element equals `want`. */
static bool is_splat(ug_graph_t *g, ug_value_id_t v, int want) {
  const ug_node_t *d = def_of(g, v);
  if (!d || d->dead || d->op != UG_OP_CONST) return false;
  const ug_weight_t *w = ug_value_weight(g, v);
  if (!w || !w->data) return false;
  ug_dtype_t dt = w->type.dtype;
  if (!ug_eval_numeric_dtype(dt) || dt == UG_DTYPE_BOOL) return false;
  int64_t numel, bytes;
  if (!ug_type_static_numel(&w->type, &numel) || numel <= 0) return false;
  if (!ug_dtype_bytes(dt, numel, &bytes) || (uint64_t)bytes > w->size) return false;
  bool is_float = ug_dtype_is_float(dt);
  for (int64_t i = 0; i < numel; i++) {
    if (is_float ? ug_eval_get_f(dt, w->data, i) != (double)want
                 : ug_eval_get_i(dt, w->data, i) != want)
      return false;
  }
  return true;
}

/* x op c -> x when c is the identity element `unit` of op and no broadcast or
 * dtype change happens; `either` allows the constant on the left too. */
static ug_status_t canon_unit(canon_t *c, ug_node_id_t id, int unit, bool either) {
  ug_graph_t *g = c->g;
  ug_node_t *n = ug_node(g, id);
  ug_value_id_t a = ug_node_operand(g, n, 0), b = ug_node_operand(g, n, 1);
  ug_value_id_t r = ug_node_result(g, n, 0);
  if (a == UG_NONE || b == UG_NONE) return NULL;
  if (same_type(g, a, r) && is_splat(g, b, unit)) return replace_node(c, id, a);
  if (either && same_type(g, b, r) && is_splat(g, a, unit)) return replace_node(c, id, b);
  return NULL;
}

static ug_status_t canon_node(canon_t *c, ug_node_id_t id) {
  ug_graph_t *g = c->g;
  ug_node_t *n = ug_node(g, id);
  if (n->num_results != 1 || n->num_operands < 1) return NULL;
  ug_value_id_t x = ug_node_operand(g, n, 0), r = ug_node_result(g, n, 0);
  if (x == UG_NONE) return NULL;

  switch (n->op) {
  case UG_OP_IDENTITY:
  case UG_OP_EXPAND:
    if (same_type(g, x, r)) return replace_node(c, id, x);
    return NULL;
  case UG_OP_SQUEEZE:
  case UG_OP_UNSQUEEZE:
    return to_reshape(c, id, x);
  case UG_OP_RESHAPE: {
    const ug_node_t *inner = def_of(g, x);
    if (inner && !inner->dead && inner->op == UG_OP_RESHAPE)
      return to_reshape(c, id, ug_node_operand(g, inner, 0));
    if (same_type(g, x, r)) return replace_node(c, id, x);
    return NULL;
  }
  case UG_OP_TRANSPOSE:
    return canon_transpose(c, id);
  case UG_OP_CAST:
    return canon_cast(c, id);
  case UG_OP_NEG: {
    const ug_node_t *inner = def_of(g, x);
    if (inner && !inner->dead && inner->op == UG_OP_NEG) {
      ug_value_id_t y = ug_node_operand(g, inner, 0);
      if (same_type(g, y, r)) return replace_node(c, id, y);
    }
    return NULL;
  }
  case UG_OP_MUL: return canon_unit(c, id, 1, true);
  case UG_OP_DIV: return canon_unit(c, id, 1, false);
  case UG_OP_ADD: return canon_unit(c, id, 0, true);
  case UG_OP_SUB: return canon_unit(c, id, 0, false);
  case UG_OP_POW: {
    ug_value_id_t e = ug_node_operand(g, n, 1);
    if (e == UG_NONE || !same_type(g, x, r) || !ug_dtype_is_float(ug_value_type(g, x)->dtype) || !is_splat(g, e, 2))
      return NULL;
    ug_value_id_t xx[2] = {x, x}, nv;
    ug_status_t st = ug_graph_add_node(g, UG_OP_MUL, xx, 2, NULL, 0, ug_value_type(g, r), 1, n->loc, &nv, NULL);
    if (st) {
      ug_status_free(st);
      return NULL;
    }
    return replace_node(c, id, nv);
  }
  default: return NULL;
  }
}

ug_status_t ug_pass_canonicalize(ug_pass_ctx_t *ctx, ug_graph_t *g) {
  canon_t c = {.g = g};
  ug_status_t st = NULL;
  /* g->nodes.len grows as rewrites append nodes; those are visited too. */
  for (size_t i = 0; i < g->nodes.len && !st; i++) {
    ug_node_t *n = ug_node(g, (ug_node_id_t)i);
    if (n->dead) continue;
    ug_value_map_node(&c.fwd, g, n);
    st = canon_node(&c, (ug_node_id_t)i);
  }
  /* A node visited before one of its operands was replaced (possible for
   * operands created by a rewrite) is fixed up here, as are graph outputs. */
  ug_value_map_apply(&c.fwd, g);
  ug_value_map_free(&c.fwd);
  if (st) return ug_status_annotate(st, "in canonicalize");
  ug_pass_stat(ctx, "rewritten", c.rewritten);
  return NULL;
}
