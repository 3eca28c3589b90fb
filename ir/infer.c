/* Shape and dtype inference for every op of ir/ops.def.
 *
 * ug_infer() decides the result types of a node: the graph builder calls it
 * for every new node, the verifier re-runs it to check types, and the text
 * parser feeds it arbitrary user IR.  So it must never crash or overflow,
 * whatever the operands and attributes are: every count, axis and attribute
 * value is range-checked before it indexes anything, and every problem becomes
 * a UG_ERR_SHAPE status naming the node, the op and the shapes.
 *
 * Dimensions go through the dims API (via the checked wrappers below) so that
 * symbolic dims such as `batch` and `seq` flow through every op.  The
 * semantics are ONNX's unless a comment says otherwise. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

/* Attribute values that size things (pads, strides, kernels, repeats, k) are
 * bounded so that arithmetic on them can never overflow int64. */
#define ATTR_LIMIT ((int64_t)1 << 40)

/* A dim that could not be computed: a static result went negative or
 * overflowed.  INT64_MIN is never a valid symbolic id, so it cannot collide. */
#define DIM_BAD INT64_MIN

/* Everything one inference needs, so that helpers take one argument. */
typedef struct {
  ug_graph_t *g;
  ug_dims_t *dims;
  ug_op_t op;
  const ug_op_info_t *info;
  const char *loc;
  const ug_value_id_t *operands;
  uint32_t num_operands;
  const ug_attr_t *attrs;
  uint32_t num_attrs;
  ug_type_t *out;
  uint32_t num_results;
} ictx_t;

/* ---- diagnostics ---- */

static ug_status_t infer_verror(ug_graph_t *g, ug_op_t op, const char *loc, ug_code_t code,
                                const char *fmt, va_list ap) {
  (void)g;
  char origin[512];
  const char *name = (unsigned)op < UG_OP_COUNT ? ug_op_info(op)->name : "?";
  snprintf(origin, sizeof origin, "node \"%s\" (%s)", loc ? loc : "<unnamed>", name);
  return ug_status_makev(code, origin, fmt, ap);
}

/* A shape error about a node that may not exist yet: like ug_node_error(),
 * the origin is `node "<loc>" (<op>)` and the message says what is wrong. */
static ug_status_t infer_error(ug_graph_t *g, ug_op_t op, const char *loc, const char *fmt, ...)
    UG_PRINTF(4, 5);
static ug_status_t infer_error(ug_graph_t *g, ug_op_t op, const char *loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = infer_verror(g, op, loc, UG_ERR_SHAPE, fmt, ap);
  va_end(ap);
  return s;
}

/* Well-formed input that inference cannot express yet (symbolic corner cases). */
static ug_status_t infer_unsupported(ug_graph_t *g, ug_op_t op, const char *loc, const char *fmt,
                                     ...) UG_PRINTF(4, 5);
static ug_status_t infer_unsupported(ug_graph_t *g, ug_op_t op, const char *loc, const char *fmt,
                                     ...) {
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = infer_verror(g, op, loc, UG_ERR_UNSUPPORTED, fmt, ap);
  va_end(ap);
  return s;
}

/* A malformed node (arity, operand ids, attributes): the IR itself is wrong. */
static ug_status_t infer_invalid(ug_graph_t *g, ug_op_t op, const char *loc, const char *fmt, ...)
    UG_PRINTF(4, 5);
static ug_status_t infer_invalid(ug_graph_t *g, ug_op_t op, const char *loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = infer_verror(g, op, loc, UG_ERR_INVALID, fmt, ap);
  va_end(ap);
  return s;
}

#define ERR(c, ...) infer_error((c)->g, (c)->op, (c)->loc, __VA_ARGS__)
#define INVALID(c, ...) infer_invalid((c)->g, (c)->op, (c)->loc, __VA_ARGS__)
#define UNSUP(c, ...) infer_unsupported((c)->g, (c)->op, (c)->loc, __VA_ARGS__)

/* Formatted types and dims, returned by value so that a message can use
 * several of them in one call (the temporaries live to the end of the call). */
typedef struct { char s[256]; } tstr_t;

static tstr_t tstr(const ictx_t *c, const ug_type_t *t) {
  tstr_t r;
  ug_type_format(c->dims, t, r.s, sizeof r.s);
  return r;
}

static tstr_t dstr(const ictx_t *c, ug_dim_t d) {
  tstr_t r;
  ug_dim_format(c->dims, d, r.s, sizeof r.s);
  return r;
}

/* ---- well-formedness of types ---- */

static bool dim_ok(const ictx_t *c, ug_dim_t d) {
  return UG_DIM_IS_STATIC(d) || (d != DIM_BAD && ug_dim_index(d) < ug_dims_count(c->dims));
}

/* A type that can be formatted and indexed safely. */
static bool type_ok(const ictx_t *c, const ug_type_t *t) {
  if ((unsigned)t->dtype >= UG_DTYPE_COUNT || t->rank < 0 || t->rank > UG_MAX_RANK) return false;
  for (int i = 0; i < t->rank; i++)
    if (!dim_ok(c, t->dims[i])) return false;
  return true;
}

/* ---- checked dim arithmetic ----
 * Static operands are folded here with overflow checks (a static dim cannot
 * be negative: negative values are symbolic ids); anything symbolic goes to
 * the dims table, but only with static parts up to ATTR_LIMIT so that its
 * coefficient arithmetic stays far from overflow.  DIM_BAD propagates and is
 * reported by check_results(). */

/* Operands for the dims table: no DIM_BAD, no huge static beside a symbol. */
static bool mixed_ok(ug_dim_t a, ug_dim_t b) {
  return a != DIM_BAD && b != DIM_BAD && a <= ATTR_LIMIT && b <= ATTR_LIMIT;
}

static ug_dim_t dadd(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD) return DIM_BAD;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? DIM_BAD : r;
  }
  return mixed_ok(a, b) ? ug_dim_add(c->dims, a, b) : DIM_BAD;
}

static ug_dim_t dsub(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD) return DIM_BAD;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) return a >= b ? a - b : DIM_BAD;
  if (b == 0) return a;
  return mixed_ok(a, b) ? ug_dim_sub(c->dims, a, b) : DIM_BAD;
}

static ug_dim_t dmul(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD) return DIM_BAD;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? DIM_BAD : r;
  }
  return mixed_ok(a, b) ? ug_dim_mul(c->dims, a, b) : DIM_BAD;
}

static ug_dim_t ddiv(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD || b == 0) return DIM_BAD;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) return a / b;
  if (b == 1) return a;
  return mixed_ok(a, b) ? ug_dim_div(c->dims, a, b) : DIM_BAD;
}

static ug_dim_t dceildiv(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD || b == 0) return DIM_BAD;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) return a / b + (a % b != 0);
  if (b == 1) return a;
  return mixed_ok(a, b) ? ug_dim_ceildiv(c->dims, a, b) : DIM_BAD;
}

static ug_dim_t dmax(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD) return DIM_BAD;
  if (a == b) return a;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) return a > b ? a : b;
  return mixed_ok(a, b) ? ug_dim_max(c->dims, a, b) : DIM_BAD;
}

/* The dims table has no min: min(a, b) = a + b - max(a, b). */
static ug_dim_t dmin(const ictx_t *c, ug_dim_t a, ug_dim_t b) {
  if (a == DIM_BAD || b == DIM_BAD) return DIM_BAD;
  if (a == b) return a;
  if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) return a < b ? a : b;
  if (!mixed_ok(a, b)) return DIM_BAD;
  return ug_dim_sub(c->dims, ug_dim_add(c->dims, a, b), ug_dim_max(c->dims, a, b));
}

/* d + v for a signed constant v (a negative static dim would be a symbol id). */
static ug_dim_t daddc(const ictx_t *c, ug_dim_t d, int64_t v) {
  if (v == INT64_MIN) return DIM_BAD;
  return v >= 0 ? dadd(c, d, v) : dsub(c, d, -v);
}

/* ---- operands and attributes ---- */

/* Operand i's type, or NULL when it is absent (optional, UG_NONE). */
static const ug_type_t *opnd(const ictx_t *c, uint32_t i) {
  if (i >= c->num_operands || c->operands[i] == UG_NONE) return NULL;
  return ug_value_type(c->g, c->operands[i]);
}

static const ug_attr_t *attr(const ictx_t *c, ug_attr_key_t k) {
  for (uint32_t i = 0; i < c->num_attrs; i++)
    if (c->attrs[i].key == k) return &c->attrs[i];
  return NULL;
}

static int64_t attr_int(const ictx_t *c, ug_attr_key_t k, int64_t dflt) {
  const ug_attr_t *a = attr(c, k);
  return a ? a->u.i : dflt;
}

/* An integer list; absent (or without data) reads as empty. */
static bool attr_ints(const ictx_t *c, ug_attr_key_t k, const int64_t **v, uint32_t *n) {
  const ug_attr_t *a = attr(c, k);
  *v = NULL;
  *n = 0;
  if (!a) return false;
  if (a->u.ints.v) {
    *v = a->u.ints.v;
    *n = a->u.ints.n;
  }
  return true;
}

/* A list of `want` integers in [lo, hi]; an empty or absent list gives `dflt`
 * for every entry (ONNX's defaults for strides, pads, dilations). */
static ug_status_t attr_vec(const ictx_t *c, ug_attr_key_t k, uint32_t want, int64_t lo, int64_t hi,
                            int64_t dflt, int64_t *out) {
  const int64_t *v;
  uint32_t n;
  attr_ints(c, k, &v, &n);
  if (n != 0 && n != want)
    return ERR(c, "attribute '%s' has %u values; expected %u", ug_attr_name(k), n, want);
  for (uint32_t i = 0; i < want; i++) {
    out[i] = n ? v[i] : dflt;
    if (out[i] < lo || out[i] > hi)
      return ERR(c, "attribute '%s' value %lld out of range [%lld, %lld]", ug_attr_name(k),
                 (long long)out[i], (long long)lo, (long long)hi);
  }
  return NULL;
}

/* ---- dtypes ---- */

static bool dtype_fits(ug_dtype_t dt, unsigned props) {
  if ((props & UG_PROP_FLOAT) && ug_dtype_is_float(dt)) return true;
  if ((props & UG_PROP_INT) && ug_dtype_is_int(dt)) return true;
  if ((props & UG_PROP_BOOL) && ug_dtype_kind(dt) == UG_KIND_B) return true;
  return false;
}

static const char *props_text(unsigned props) {
  switch (props & UG_PROP_ANY) {
  case UG_PROP_FLOAT: return "a float type";
  case UG_PROP_INT: return "an integer type";
  case UG_PROP_BOOL: return "bool";
  case UG_PROP_NUMERIC: return "a float or integer type";
  default: return "a float, integer or bool type";
  }
}

/* Operand i (when present) has a dtype allowed by props. */
static ug_status_t need_dtype(const ictx_t *c, uint32_t i, unsigned props) {
  const ug_type_t *t = opnd(c, i);
  if (t && !dtype_fits(t->dtype, props))
    return ERR(c, "operand %u is %s; expected %s", i, tstr(c, t).s, props_text(props));
  return NULL;
}

/* Operand i (when present) has the same dtype as operand j. */
static ug_status_t same_dtype(const ictx_t *c, uint32_t i, uint32_t j) {
  const ug_type_t *a = opnd(c, i), *b = opnd(c, j);
  if (a && b && a->dtype != b->dtype)
    return ERR(c, "operand %u is %s but operand %u is %s; dtypes must match", j, tstr(c, b).s, i,
               tstr(c, a).s);
  return NULL;
}

static ug_status_t need_index_dtype(const ictx_t *c, uint32_t i) {
  const ug_type_t *t = opnd(c, i);
  if (t && t->dtype != UG_DTYPE_I64 && t->dtype != UG_DTYPE_I32)
    return ERR(c, "indices (operand %u) are %s; expected i32 or i64", i, tstr(c, t).s);
  return NULL;
}

/* ---- axes ---- */

/* Wraps a possibly negative axis of a rank-`rank` tensor t. */
static ug_status_t norm_axis(const ictx_t *c, int64_t axis, int rank, const ug_type_t *t,
                             int *out) {
  if (axis < -rank || axis >= rank)
    return ERR(c, "axis %lld out of range for %s", (long long)axis, tstr(c, t).s);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return NULL;
}

/* Marks the axes in mask[0..rank); out-of-range and repeated axes are errors. */
static ug_status_t norm_axes(const ictx_t *c, const int64_t *v, uint32_t n, int rank,
                            const ug_type_t *t, bool mask[UG_MAX_RANK]) {
  memset(mask, 0, UG_MAX_RANK * sizeof *mask);
  for (uint32_t i = 0; i < n; i++) {
    int a = 0;
    UG_RETURN_IF_ERROR(norm_axis(c, v[i], rank, t, &a));
    if (mask[a]) return ERR(c, "axis %lld appears twice for %s", (long long)v[i], tstr(c, t).s);
    mask[a] = true;
  }
  return NULL;
}

/* ---- broadcasting ---- */

/* NumPy broadcasting of one dim pair.  Symbols are assumed compatible: a
 * symbol against a static N > 1 must be N (or 1), two different symbols give
 * their max (the one that is not 1 at run time). */
static bool bcast_dim(const ictx_t *c, ug_dim_t a, ug_dim_t b, ug_dim_t *out) {
  if (a == b || b == 1) *out = a;
  else if (a == 1) *out = b;
  else if (UG_DIM_IS_STATIC(a) && UG_DIM_IS_STATIC(b)) return false;
  else if (UG_DIM_IS_STATIC(a)) *out = a;
  else if (UG_DIM_IS_STATIC(b)) *out = b;
  else *out = dmax(c, a, b);
  return true;
}

/* Multidirectional broadcast of the shapes of a and b into out (dtype of a). */
static ug_status_t bcast2(const ictx_t *c, const ug_type_t *a, const ug_type_t *b, ug_type_t *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  ug_type_t t = {.dtype = a->dtype, .rank = r};
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    ug_dim_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (!bcast_dim(c, da, db, &t.dims[i]))
      return ERR(c, "shapes %s and %s are not broadcast-compatible (%s vs %s)", tstr(c, a).s,
                 tstr(c, b).s, dstr(c, da).s, dstr(c, db).s);
  }
  *out = t;
  return NULL;
}

/* Whether `from` broadcasts to `to` without changing it (unidirectional):
 * every dim of `from` is 1, equal, or not provably different. */
static bool bcast_to(const ictx_t *c, const ug_type_t *from, const ug_dim_t *to, int to_rank) {
  if (from->rank > to_rank) return false;
  for (int i = 0; i < from->rank; i++) {
    ug_dim_t f = from->dims[i], t = to[to_rank - from->rank + i];
    if (f == 1 || f == t) continue;
    if (UG_DIM_IS_STATIC(f) && ug_dim_provably_ne(c->dims, f, t)) return false;
    /* A symbolic `from` dim may be 1 at run time; a symbolic `to` dim may be f. */
  }
  return true;
}

/* ---- elementwise ---- */

static ug_status_t infer_unary(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  ug_type_t r = *x;
  if (c->op == UG_OP_CAST) {
    /* cast is also how a block-quantized weight is dequantized, so its input
     * may be any dtype; its target must be a plain type. */
    const ug_attr_t *to_attr = attr(c, UG_ATTR_TO);
    ug_dtype_t to = to_attr ? to_attr->u.dtype : UG_DTYPE_COUNT;
    if ((unsigned)to >= UG_DTYPE_COUNT || ug_dtype_is_quant(to))
      return ERR(c, "cannot cast %s to a block-quantized or unknown dtype", tstr(c, x).s);
    r.dtype = to;
  } else {
    UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
    if (c->info->props & UG_PROP_BOOL_RESULT) r.dtype = UG_DTYPE_BOOL;
  }
  c->out[0] = r;
  return NULL;
}

/* clip(x, min?, max?): bounds are scalars of x's dtype. */
static ug_status_t infer_clip(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  for (uint32_t i = 1; i < 3; i++) {
    const ug_type_t *b = opnd(c, i);
    if (!b) continue;
    UG_RETURN_IF_ERROR(same_dtype(c, 0, i));
    int64_t n;
    if (!ug_type_static_numel(b, &n) || n != 1)
      return ERR(c, "bound (operand %u) %s is not a scalar", i, tstr(c, b).s);
  }
  c->out[0] = *x;
  return NULL;
}

static ug_status_t infer_binary(ictx_t *c) {
  const ug_type_t *a = opnd(c, 0), *b = opnd(c, 1);
  unsigned props = c->info->props;
  UG_RETURN_IF_ERROR(need_dtype(c, 0, props));
  UG_RETURN_IF_ERROR(need_dtype(c, 1, props));
  /* pow may raise a float to an integer power: the result is the base's. */
  if (!(props & UG_PROP_MIXED)) UG_RETURN_IF_ERROR(same_dtype(c, 0, 1));
  if (c->op == UG_OP_PRELU) {
    /* ONNX PRelu: the slope broadcasts to x, the result is x's shape. */
    if (!bcast_to(c, b, a->dims, a->rank))
      return ERR(c, "slope %s does not broadcast to %s", tstr(c, b).s, tstr(c, a).s);
    c->out[0] = *a;
    return NULL;
  }
  UG_RETURN_IF_ERROR(bcast2(c, a, b, &c->out[0]));
  if (props & UG_PROP_BOOL_RESULT) c->out[0].dtype = UG_DTYPE_BOOL;
  return NULL;
}

/* where(cond, a, b): the broadcast of all three, with a's dtype. */
static ug_status_t infer_where(ictx_t *c) {
  const ug_type_t *cond = opnd(c, 0), *a = opnd(c, 1), *b = opnd(c, 2);
  if (cond->dtype != UG_DTYPE_BOOL) return ERR(c, "condition %s is not bool", tstr(c, cond).s);
  UG_RETURN_IF_ERROR(need_dtype(c, 1, UG_PROP_ANY));
  UG_RETURN_IF_ERROR(same_dtype(c, 1, 2));
  ug_type_t ab;
  UG_RETURN_IF_ERROR(bcast2(c, a, b, &ab));
  UG_RETURN_IF_ERROR(bcast2(c, &ab, cond, &c->out[0]));
  c->out[0].dtype = a->dtype;
  return NULL;
}

/* ---- reductions and normalizations ---- */

/* x with the marked axes removed, or kept as 1 with keepdims. */
static ug_type_t reduce_type(const ug_type_t *x, const bool mask[UG_MAX_RANK], bool keepdims) {
  ug_type_t r = {.dtype = x->dtype};
  for (int i = 0; i < x->rank; i++) {
    if (!mask[i]) r.dims[r.rank++] = x->dims[i];
    else if (keepdims) r.dims[r.rank++] = 1;
  }
  return r;
}

/* reduce_*(x) {axes, keepdims}: empty axes reduce every axis. */
static ug_status_t infer_reduce(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  const int64_t *axes;
  uint32_t n;
  attr_ints(c, UG_ATTR_AXES, &axes, &n);
  bool mask[UG_MAX_RANK];
  UG_RETURN_IF_ERROR(norm_axes(c, axes, n, x->rank, x, mask));
  if (n == 0)
    for (int i = 0; i < x->rank; i++) mask[i] = true;
  c->out[0] = reduce_type(x, mask, attr_int(c, UG_ATTR_KEEPDIMS, 1) != 0);
  return NULL;
}

/* argmax/argmin over one axis: i64 indices. */
static ug_status_t infer_argreduce(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, 0), x->rank, x, &axis));
  bool mask[UG_MAX_RANK] = {false};
  mask[axis] = true;
  c->out[0] = reduce_type(x, mask, attr_int(c, UG_ATTR_KEEPDIMS, 1) != 0);
  c->out[0].dtype = UG_DTYPE_I64;
  return NULL;
}

/* softmax, log_softmax, cumsum, lrn: the type of x, after checking the axis. */
static ug_status_t infer_same_axis(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  if (c->op == UG_OP_LRN) {
    /* LRN sums over the channel axis 1 of [N, C, ...]. */
    if (x->rank < 2) return ERR(c, "input %s needs a channel axis (rank >= 2)", tstr(c, x).s);
    if (attr_int(c, UG_ATTR_SIZE, 1) < 1) return ERR(c, "size must be at least 1");
  } else {
    int axis = 0;
    UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, -1), x->rank, x, &axis));
  }
  c->out[0] = *x;
  return NULL;
}

/* layer_norm(x, scale?, bias?) and rms_norm(x, scale?) normalize over
 * [axis, rank); scale and bias broadcast to those trailing dims. */
static ug_status_t infer_norm(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, -1), x->rank, x, &axis));
  for (uint32_t i = 1; i < c->num_operands; i++) {
    const ug_type_t *p = opnd(c, i);
    if (!p) continue;
    UG_RETURN_IF_ERROR(same_dtype(c, 0, i));
    if (!bcast_to(c, p, x->dims + axis, x->rank - axis))
      return ERR(c, "operand %u %s does not broadcast to the normalized dims of %s (axis %d)", i,
                 tstr(c, p).s, tstr(c, x).s, axis);
  }
  c->out[0] = *x;
  return NULL;
}

/* A per-channel parameter: float, 1-d, of size C. */
static ug_status_t channel_param(const ictx_t *c, uint32_t i, const ug_type_t *x) {
  const ug_type_t *p = opnd(c, i);
  UG_RETURN_IF_ERROR(need_dtype(c, i, UG_PROP_FLOAT));
  if (p->rank != 1 || ug_dim_provably_ne(c->dims, p->dims[0], x->dims[1]))
    return ERR(c, "operand %u %s must be 1-d of size C=%s of %s", i, tstr(c, p).s,
               dstr(c, x->dims[1]).s, tstr(c, x).s);
  return NULL;
}

/* batch_norm(x, scale, bias, mean, var) and instance_norm(x, scale, bias):
 * x is [N, C, ...] and every parameter is a vector over C. */
static ug_status_t infer_channel_norm(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  if (x->rank < 2) return ERR(c, "input %s needs a channel axis (rank >= 2)", tstr(c, x).s);
  for (uint32_t i = 1; i < c->num_operands; i++) UG_RETURN_IF_ERROR(channel_param(c, i, x));
  c->out[0] = *x;
  return NULL;
}

/* topk(x) -> (values, indices): the axis shrinks to k. */
static ug_status_t infer_topk(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, -1), x->rank, x, &axis));
  int64_t k = attr_int(c, UG_ATTR_K, 1);
  if (k < 0 || (UG_DIM_IS_STATIC(x->dims[axis]) && k > x->dims[axis]))
    return ERR(c, "k=%lld out of range for axis %d of %s", (long long)k, axis, tstr(c, x).s);
  c->out[0] = *x;
  c->out[0].dims[axis] = k;
  c->out[1] = c->out[0];
  c->out[1].dtype = UG_DTYPE_I64;
  return NULL;
}

/* ---- windows: pooling and convolution ---- */

typedef struct {
  int n; /* spatial dims */
  int64_t strides[UG_MAX_RANK], pads[2 * UG_MAX_RANK], dilations[UG_MAX_RANK];
  int64_t output_padding[UG_MAX_RANK];
  bool ceil_mode;
} window_t;

/* strides, pads and dilations for n spatial dims (ONNX defaults when empty). */
static ug_status_t window_attrs(const ictx_t *c, int n, window_t *w) {
  w->n = n;
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_STRIDES, (uint32_t)n, 1, ATTR_LIMIT, 1, w->strides));
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_PADS, 2u * (uint32_t)n, 0, ATTR_LIMIT, 0, w->pads));
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_DILATIONS, (uint32_t)n, 1, ATTR_LIMIT, 1, w->dilations));
  w->ceil_mode = attr_int(c, UG_ATTR_CEIL_MODE, 0) != 0;
  return NULL;
}

/* Static output size of one window dim; ek is the dilated kernel extent. */
static ug_status_t window_static(const ictx_t *c, const ug_type_t *x, int64_t in, int64_t ek,
                                 int64_t s, int64_t pb, int64_t pe, bool ceil_mode, ug_dim_t *out) {
  /* Bounding the padded size keeps (o - 1) * s and in + pb below overflow. */
  int64_t padded;
  if (__builtin_add_overflow(in, pb + pe, &padded) || padded > ((int64_t)1 << 62))
    return ERR(c, "padded input %lld + %lld + %lld of %s is too large", (long long)in,
               (long long)pb, (long long)pe, tstr(c, x).s);
  if (padded < ek)
    return ERR(c, "window of extent %lld is larger than the padded input (%lld) of %s",
               (long long)ek, (long long)padded, tstr(c, x).s);
  int64_t num = padded - ek, o = num / s + 1;
  if (ceil_mode) {
    o = num / s + (num % s != 0) + 1;
    /* ONNX (and PyTorch): the last window must start inside the input or
     * the begin padding, otherwise it is dropped. */
    if ((o - 1) * s >= in + pb) o--;
  }
  *out = o;
  return NULL;
}

/* Output size of one window dim: floor or ceil((in + pb + pe - ek) / s) + 1
 * with ek = dil * (k - 1) + 1, symbolic when `in` or `k` is. */
static ug_status_t window_dim(const ictx_t *c, const ug_type_t *x, ug_dim_t in, ug_dim_t k,
                              int64_t s, int64_t pb, int64_t pe, int64_t dil, bool ceil_mode,
                              ug_dim_t *out) {
  if (UG_DIM_IS_STATIC(k) && (k < 1 || k > ATTR_LIMIT))
    return ERR(c, "kernel size %lld out of range for %s", (long long)k, tstr(c, x).s);
  ug_dim_t ek = dadd(c, dmul(c, dil, dsub(c, k, 1)), 1);
  if (ek == DIM_BAD || (UG_DIM_IS_STATIC(ek) && ek > ATTR_LIMIT))
    return ERR(c, "kernel extent %s * (k - 1) + 1 overflows for %s", dstr(c, dil).s, tstr(c, x).s);
  if (UG_DIM_IS_STATIC(in) && UG_DIM_IS_STATIC(ek))
    return window_static(c, x, in, ek, s, pb, pe, ceil_mode, out);
  ug_dim_t num = dsub(c, dadd(c, in, pb + pe), ek);
  if (!ceil_mode) {
    *out = dadd(c, ddiv(c, num, s), 1);
    return NULL;
  }
  ug_dim_t o = dadd(c, dceildiv(c, num, s), 1);
  /* The last-window rule can only fire when pe >= ek - s + 1 (see
   * window_static); when pe <= ek it drops exactly one window, which equals
   * min(o, ceildiv(in + pb, s)). */
  if (!UG_DIM_IS_STATIC(ek))
    return UNSUP(c, "ceil_mode with a symbolic kernel for %s", tstr(c, x).s);
  if (pe + s - 1 < ek) *out = o;
  else if (pe <= ek) *out = dmin(c, o, dceildiv(c, dadd(c, in, pb), s));
  else return UNSUP(c, "ceil_mode with end padding beyond the kernel on symbolic %s", tstr(c, x).s);
  return NULL;
}

/* max_pool / avg_pool: x is [N, C, spatial...]. */
static ug_status_t infer_pool(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  if (x->rank < 3) return ERR(c, "input %s must be [N, C, spatial...]", tstr(c, x).s);
  int n = x->rank - 2;
  window_t w;
  int64_t kernel[UG_MAX_RANK];
  UG_RETURN_IF_ERROR(window_attrs(c, n, &w));
  const int64_t *kv;
  uint32_t kn;
  attr_ints(c, UG_ATTR_KERNEL_SHAPE, &kv, &kn);
  if (kn != (uint32_t)n)
    return ERR(c, "kernel_shape has %u values for %d spatial dims of %s", kn, n, tstr(c, x).s);
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_KERNEL_SHAPE, kn, 1, ATTR_LIMIT, 1, kernel));
  ug_type_t r = *x;
  for (int i = 0; i < n; i++)
    UG_RETURN_IF_ERROR(window_dim(c, x, x->dims[2 + i], kernel[i], w.strides[i], w.pads[i],
                                  w.pads[n + i], w.dilations[i], w.ceil_mode, &r.dims[2 + i]));
  c->out[0] = r;
  return NULL;
}

/* Common checks of conv and conv_transpose: x [N, C, spatial...] and w of
 * the same rank and dtype, an optional 1-d bias, group >= 1. */
static ug_status_t conv_common(ictx_t *c, window_t *w, int64_t *group) {
  const ug_type_t *x = opnd(c, 0), *wt = opnd(c, 1);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  UG_RETURN_IF_ERROR(same_dtype(c, 0, 1));
  if (x->rank < 3 || wt->rank != x->rank)
    return ERR(c, "input %s and weight %s must both be [N, C, spatial...] of one rank",
               tstr(c, x).s, tstr(c, wt).s);
  UG_RETURN_IF_ERROR(window_attrs(c, x->rank - 2, w));
  *group = attr_int(c, UG_ATTR_GROUP, 1);
  if (*group < 1 || *group > ATTR_LIMIT)
    return ERR(c, "group %lld must be >= 1", (long long)*group);
  if (opnd(c, 2)) {
    UG_RETURN_IF_ERROR(same_dtype(c, 0, 2));
    if (opnd(c, 2)->rank != 1) return ERR(c, "bias %s must be 1-d", tstr(c, opnd(c, 2)).s);
  }
  return NULL;
}

/* conv(x, w, b?): w is [M, C/group, k...]; out is [N, M, spatial_out...]. */
static ug_status_t infer_conv(ictx_t *c) {
  window_t w;
  int64_t group;
  UG_RETURN_IF_ERROR(conv_common(c, &w, &group));
  const ug_type_t *x = opnd(c, 0), *wt = opnd(c, 1), *b = opnd(c, 2);
  ug_dim_t cin = dmul(c, wt->dims[1], group), m = wt->dims[0];
  if (cin == DIM_BAD || ug_dim_provably_ne(c->dims, cin, x->dims[1]))
    return ERR(c, "input channels of %s differ from weight %s times group %lld", tstr(c, x).s,
               tstr(c, wt).s, (long long)group);
  if (UG_DIM_IS_STATIC(m) && m % group != 0)
    return ERR(c, "output channels of weight %s are not divisible by group %lld", tstr(c, wt).s,
               (long long)group);
  if (b && ug_dim_provably_ne(c->dims, b->dims[0], m))
    return ERR(c, "bias %s does not match output channels of weight %s", tstr(c, b).s,
               tstr(c, wt).s);
  ug_type_t r = *x;
  r.dims[1] = m;
  for (int i = 0; i < w.n; i++)
    UG_RETURN_IF_ERROR(window_dim(c, x, x->dims[2 + i], wt->dims[2 + i], w.strides[i], w.pads[i],
                                  w.pads[w.n + i], w.dilations[i], false, &r.dims[2 + i]));
  c->out[0] = r;
  return NULL;
}

/* conv_nhwc(x, w, b?): x is [N, spatial..., C], w [k..., C/group, M]; out is
 * [N, spatial_out..., M]. */
static ug_status_t infer_conv_nhwc(ictx_t *c) {
  window_t w;
  int64_t group;
  UG_RETURN_IF_ERROR(conv_common(c, &w, &group));
  const ug_type_t *x = opnd(c, 0), *wt = opnd(c, 1), *b = opnd(c, 2);
  int r0 = x->rank - 1; /* channels */
  ug_dim_t cin = dmul(c, wt->dims[r0 - 1], group), m = wt->dims[r0];
  if (cin == DIM_BAD || ug_dim_provably_ne(c->dims, cin, x->dims[r0]))
    return ERR(c, "input channels of %s differ from weight %s times group %lld", tstr(c, x).s,
               tstr(c, wt).s, (long long)group);
  if (UG_DIM_IS_STATIC(m) && m % group != 0)
    return ERR(c, "output channels of weight %s are not divisible by group %lld", tstr(c, wt).s,
               (long long)group);
  if (b && ug_dim_provably_ne(c->dims, b->dims[0], m))
    return ERR(c, "bias %s does not match output channels of weight %s", tstr(c, b).s,
               tstr(c, wt).s);
  ug_type_t r = *x;
  r.dims[r0] = m;
  for (int i = 0; i < w.n; i++)
    UG_RETURN_IF_ERROR(window_dim(c, x, x->dims[1 + i], wt->dims[i], w.strides[i], w.pads[i],
                                  w.pads[w.n + i], w.dilations[i], false, &r.dims[1 + i]));
  c->out[0] = r;
  return NULL;
}

/* conv_transpose(x, w, b?): w is [C, M/group, k...]; each spatial dim is
 * stride*(in-1) + output_padding + dil*(k-1) + 1 - pad_begin - pad_end. */
static ug_status_t infer_conv_transpose(ictx_t *c) {
  window_t w;
  int64_t group;
  UG_RETURN_IF_ERROR(conv_common(c, &w, &group));
  const ug_type_t *x = opnd(c, 0), *wt = opnd(c, 1), *b = opnd(c, 2);
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_OUTPUT_PADDING, (uint32_t)w.n, 0, ATTR_LIMIT, 0,
                              w.output_padding));
  if (ug_dim_provably_ne(c->dims, wt->dims[0], x->dims[1]))
    return ERR(c, "input channels of %s differ from weight %s", tstr(c, x).s, tstr(c, wt).s);
  ug_type_t r = *x;
  r.dims[1] = dmul(c, wt->dims[1], group);
  if (r.dims[1] == DIM_BAD)
    return ERR(c, "output channels of weight %s times group %lld overflow", tstr(c, wt).s,
               (long long)group);
  if (b && ug_dim_provably_ne(c->dims, b->dims[0], r.dims[1]))
    return ERR(c, "bias %s does not match the %s output channels", tstr(c, b).s,
               dstr(c, r.dims[1]).s);
  for (int i = 0; i < w.n; i++) {
    ug_dim_t in = x->dims[2 + i], k = wt->dims[2 + i];
    if (UG_DIM_IS_STATIC(k) && (k < 1 || k > ATTR_LIMIT))
      return ERR(c, "kernel size %lld out of range in %s", (long long)k, tstr(c, wt).s);
    if (in == 0) return ERR(c, "empty spatial dim in %s", tstr(c, x).s);
    ug_dim_t ek = dadd(c, dmul(c, w.dilations[i], dsub(c, k, 1)), 1);
    ug_dim_t o = dadd(c, dmul(c, w.strides[i], dsub(c, in, 1)), w.output_padding[i]);
    o = dsub(c, dadd(c, o, ek), w.pads[i] + w.pads[w.n + i]);
    if (o == DIM_BAD)
      return ERR(c, "spatial dim %d of the output is negative or overflows for %s and weight %s",
                 i, tstr(c, x).s, tstr(c, wt).s);
    r.dims[2 + i] = o;
  }
  c->out[0] = r;
  return NULL;
}

/* matmul(a, b): NumPy matmul.  A 1-d a is [1, K] and a 1-d b is [K, 1], the
 * added dim dropped from the result; batch dims broadcast.  (A
 * block-quantized weight goes through linear, whose layout keeps its blocks
 * along the contracted dim.) */
static ug_status_t infer_matmul(ictx_t *c) {
  const ug_type_t *a = opnd(c, 0), *b = opnd(c, 1);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  UG_RETURN_IF_ERROR(same_dtype(c, 0, 1));
  if (a->rank < 1 || b->rank < 1)
    return ERR(c, "operands %s and %s must have rank >= 1", tstr(c, a).s, tstr(c, b).s);
  ug_dim_t ka = a->dims[a->rank - 1], kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
  if (ug_dim_provably_ne(c->dims, ka, kb))
    return ERR(c, "contracted dims differ: %s vs %s", tstr(c, a).s, tstr(c, b).s);
  /* Batch dims: everything before the last two. */
  ug_type_t ba = {.dtype = a->dtype, .rank = a->rank > 2 ? a->rank - 2 : 0};
  ug_type_t bb = {.dtype = a->dtype, .rank = b->rank > 2 ? b->rank - 2 : 0};
  memcpy(ba.dims, a->dims, (size_t)ba.rank * sizeof(ug_dim_t));
  memcpy(bb.dims, b->dims, (size_t)bb.rank * sizeof(ug_dim_t));
  ug_type_t r;
  ug_status_t st = bcast2(c, &ba, &bb, &r);
  if (st) {
    ug_status_free(st);
    return ERR(c, "batch dims of %s and %s are not broadcast-compatible", tstr(c, a).s,
               tstr(c, b).s);
  }
  if (a->rank >= 2) r.dims[r.rank++] = a->dims[a->rank - 2];
  if (b->rank >= 2) r.dims[r.rank++] = b->dims[b->rank - 1];
  r.dtype = a->dtype;
  c->out[0] = r;
  return NULL;
}

/* ---- data movement ---- */

/* squeeze(x) {axes}: removes size-1 dims; empty axes remove every static 1
 * (a symbolic dim is kept: it is not known to be 1). */
static ug_status_t infer_squeeze(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  const int64_t *axes;
  uint32_t n;
  attr_ints(c, UG_ATTR_AXES, &axes, &n);
  bool mask[UG_MAX_RANK];
  UG_RETURN_IF_ERROR(norm_axes(c, axes, n, x->rank, x, mask));
  for (int i = 0; i < x->rank; i++) {
    if (n == 0) mask[i] = x->dims[i] == 1;
    else if (mask[i] && UG_DIM_IS_STATIC(x->dims[i]) && x->dims[i] != 1)
      return ERR(c, "cannot squeeze axis %d of size %lld in %s", i, (long long)x->dims[i],
                 tstr(c, x).s);
  }
  c->out[0] = reduce_type(x, mask, false);
  return NULL;
}

/* unsqueeze(x) {axes}: axes index the output, which has rank + |axes| dims. */
static ug_status_t infer_unsqueeze(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  const int64_t *axes;
  uint32_t n;
  attr_ints(c, UG_ATTR_AXES, &axes, &n);
  if (n > (uint32_t)(UG_MAX_RANK - x->rank))
    return ERR(c, "inserting %u axes into %s exceeds rank %d", n, tstr(c, x).s, UG_MAX_RANK);
  int rank = x->rank + (int)n;
  bool mask[UG_MAX_RANK];
  ug_type_t outshape = {.dtype = x->dtype, .rank = rank};
  UG_RETURN_IF_ERROR(norm_axes(c, axes, n, rank, &outshape, mask));
  ug_type_t r = {.dtype = x->dtype, .rank = rank};
  for (int i = 0, j = 0; i < rank; i++) r.dims[i] = mask[i] ? 1 : x->dims[j++];
  c->out[0] = r;
  return NULL;
}

/* transpose(x) {perm}: perm must be a permutation of [0, rank); absent
 * reverses the dims as in ONNX. */
static ug_status_t infer_transpose(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  const int64_t *perm;
  uint32_t n;
  bool given = attr_ints(c, UG_ATTR_PERM, &perm, &n);
  if (given && n != (uint32_t)x->rank)
    return ERR(c, "perm has %u entries for %s", n, tstr(c, x).s);
  bool seen[UG_MAX_RANK] = {false};
  ug_type_t r = *x;
  for (int i = 0; i < x->rank; i++) {
    int64_t p = given ? perm[i] : x->rank - 1 - i;
    if (p < 0 || p >= x->rank || seen[p])
      return ERR(c, "perm is not a permutation of the %d axes of %s", x->rank, tstr(c, x).s);
    seen[p] = true;
    r.dims[i] = x->dims[p];
  }
  c->out[0] = r;
  return NULL;
}

/* One sliced static dim, ONNX Slice-13 rules: negative starts/ends count
 * from the end, then clamp; the length is max(0, ceil((end - start)/step)). */
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static int64_t slice_static(int64_t d, int64_t start, int64_t end, int64_t step) {
  if (d == 0) return 0;
  if (start < 0) start += d; /* cannot overflow: d >= 0 */
  if (end < 0) end += d;
  int64_t len;
  if (step > 0) {
    len = clamp64(end, 0, d) - clamp64(start, 0, d);
  } else {
    len = clamp64(start, 0, d - 1) - clamp64(end, -1, d - 1);
    step = -step; /* step != INT64_MIN, checked by the caller */
  }
  return len <= 0 ? 0 : len / step + (len % step != 0);
}

/* One sliced symbolic dim: only forward slices with non-negative bounds,
 * where end INT64_MAX means "to the end" (the importer's normal form). */
static ug_status_t slice_symbolic(const ictx_t *c, const ug_type_t *x, ug_dim_t d, int64_t start,
                                  int64_t end, int64_t step, ug_dim_t *out) {
  if (step < 1 || step > ATTR_LIMIT || start < 0 || start > ATTR_LIMIT || end < 0)
    return UNSUP(c, "slice [%lld:%lld:%lld] of symbolic dim %s of %s", (long long)start,
                 (long long)end, (long long)step, dstr(c, d).s, tstr(c, x).s);
  if (end != INT64_MAX && end <= start) {
    *out = 0;
    return NULL;
  }
  ug_dim_t stop = end == INT64_MAX ? d : dmin(c, d, end > ATTR_LIMIT ? d : end);
  *out = dceildiv(c, dsub(c, stop, start), step);
  return NULL;
}

/* slice(x) {axes, starts, ends, steps}: one entry per sliced axis. */
static ug_status_t infer_slice(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  const int64_t *axes, *starts, *ends, *steps;
  uint32_t na, ns, ne, nt;
  attr_ints(c, UG_ATTR_AXES, &axes, &na);
  attr_ints(c, UG_ATTR_STARTS, &starts, &ns);
  attr_ints(c, UG_ATTR_ENDS, &ends, &ne);
  attr_ints(c, UG_ATTR_STEPS, &steps, &nt);
  if (ns != na || ne != na || (nt != 0 && nt != na))
    return ERR(c, "axes, starts, ends and steps differ in length (%u, %u, %u, %u)", na, ns, ne, nt);
  bool mask[UG_MAX_RANK];
  UG_RETURN_IF_ERROR(norm_axes(c, axes, na, x->rank, x, mask));
  ug_type_t r = *x;
  for (uint32_t i = 0; i < na; i++) {
    int a = (int)(axes[i] < 0 ? axes[i] + x->rank : axes[i]);
    int64_t step = nt ? steps[i] : 1;
    if (step == 0 || step == INT64_MIN)
      return ERR(c, "slice step %lld is invalid", (long long)step);
    if (UG_DIM_IS_STATIC(x->dims[a]))
      r.dims[a] = slice_static(x->dims[a], starts[i], ends[i], step);
    else UG_RETURN_IF_ERROR(slice_symbolic(c, x, x->dims[a], starts[i], ends[i], step, &r.dims[a]));
  }
  c->out[0] = r;
  return NULL;
}

/* concat(xs...) {axis}: same rank and dtype, equal dims off the axis, whose
 * sizes add up. */
static ug_status_t infer_concat(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, 0), x->rank, x, &axis));
  ug_type_t r = *x;
  for (uint32_t i = 1; i < c->num_operands; i++) {
    const ug_type_t *y = opnd(c, i);
    UG_RETURN_IF_ERROR(same_dtype(c, 0, i));
    if (y->rank != x->rank)
      return ERR(c, "operand %u %s differs in rank from %s", i, tstr(c, y).s, tstr(c, x).s);
    for (int d = 0; d < x->rank; d++) {
      if (d == axis) continue;
      if (ug_dim_provably_ne(c->dims, r.dims[d], y->dims[d]))
        return ERR(c, "operand %u %s differs from %s off the concat axis %d", i, tstr(c, y).s,
                   tstr(c, x).s, axis);
      if (!UG_DIM_IS_STATIC(r.dims[d])) r.dims[d] = y->dims[d]; /* prefer what is known */
    }
    r.dims[axis] = dadd(c, r.dims[axis], y->dims[axis]);
  }
  c->out[0] = r;
  return NULL;
}

/* split(x) {axis, split}: one result per size; an empty split divides the
 * axis evenly, the last part smaller (ONNX Split-18 num_outputs). */
static ug_status_t infer_split(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, 0), x->rank, x, &axis));
  const int64_t *sizes;
  uint32_t n, k = c->num_results;
  ug_dim_t d = x->dims[axis], sum = 0;
  attr_ints(c, UG_ATTR_SPLIT, &sizes, &n);
  if (n != 0 && n != k) return ERR(c, "split has %u sizes for %u results", n, k);
  ug_dim_t chunk = n ? 0 : dceildiv(c, d, (ug_dim_t)k);
  for (uint32_t i = 0; i < k; i++) {
    c->out[i] = *x;
    if (n && (sizes[i] < 0 || sizes[i] > ATTR_LIMIT))
      return ERR(c, "split size %lld out of range", (long long)sizes[i]);
    ug_dim_t part = n ? sizes[i] : chunk;
    if (!n && i == k - 1) part = dsub(c, d, sum); /* the remainder */
    if (part == DIM_BAD)
      return ERR(c, "axis %d of %s cannot be split into %u parts", axis, tstr(c, x).s, k);
    c->out[i].dims[axis] = part;
    sum = dadd(c, sum, part);
    if (sum == DIM_BAD) return ERR(c, "split sizes overflow");
  }
  if (n && ug_dim_provably_ne(c->dims, sum, d))
    return ERR(c, "split sizes add up to %s, not to axis %d of %s", dstr(c, sum).s, axis,
               tstr(c, x).s);
  return NULL;
}

/* linear(x, w, bias?): x @ w^T + bias, the weight in its storage layout
 * [N, K] (a GGUF / PyTorch Linear weight: each row is one output's K inputs,
 * quantization blocks run along K).  x is [..., K] of a float type; w is any
 * float type or block-quantized (K then a whole number of blocks); bias is
 * [N] of x's dtype.  The result is [..., N] of x's dtype. */
static ug_status_t infer_linear(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *w = opnd(c, 1), *bias = opnd(c, 2);
  UG_RETURN_IF_ERROR(need_dtype(c, 0, UG_PROP_FLOAT));
  if (!ug_dtype_is_float(w->dtype) && !ug_dtype_is_quant(w->dtype))
    return ERR(c, "weight %s must be a float or block-quantized type", tstr(c, w).s);
  if (x->rank < 1 || w->rank != 2)
    return ERR(c, "expected x of rank >= 1 and a weight of rank 2, got %s and %s", tstr(c, x).s,
               tstr(c, w).s);
  ug_dim_t k = x->dims[x->rank - 1];
  if (ug_dim_provably_ne(c->dims, k, w->dims[1]))
    return ERR(c, "contracted dims differ: %s vs weight %s", tstr(c, x).s, tstr(c, w).s);
  if (ug_dtype_is_quant(w->dtype) && !UG_DIM_IS_STATIC(w->dims[1]))
    return ERR(c, "block-quantized weight %s needs a static row length", tstr(c, w).s);
  if (bias) {
    UG_RETURN_IF_ERROR(same_dtype(c, 0, 2));
    if (bias->rank != 1 || ug_dim_provably_ne(c->dims, bias->dims[0], w->dims[0]))
      return ERR(c, "bias %s must be [%s] for weight %s", tstr(c, bias).s, dstr(c, w->dims[0]).s,
                 tstr(c, w).s);
  }
  ug_type_t r = *x;
  r.dims[r.rank - 1] = w->dims[0];
  c->out[0] = r;
  return NULL;
}

/* gather(data, indices) {axis}: data[:axis] + indices.shape + data[axis+1:]. */
static ug_status_t infer_gather(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *idx = opnd(c, 1);
  UG_RETURN_IF_ERROR(need_index_dtype(c, 1));
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, 0), x->rank, x, &axis));
  if (x->rank - 1 + idx->rank > UG_MAX_RANK)
    return ERR(c, "gathering %s from %s exceeds rank %d", tstr(c, idx).s, tstr(c, x).s,
               UG_MAX_RANK);
  ug_type_t r = {.dtype = x->dtype};
  for (int i = 0; i < axis; i++) r.dims[r.rank++] = x->dims[i];
  for (int i = 0; i < idx->rank; i++) r.dims[r.rank++] = idx->dims[i];
  for (int i = axis + 1; i < x->rank; i++) r.dims[r.rank++] = x->dims[i];
  c->out[0] = r;
  return NULL;
}

/* gather_elements(data, indices) {axis}: indices' shape, data's dtype. */
static ug_status_t infer_gather_elements(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *idx = opnd(c, 1);
  UG_RETURN_IF_ERROR(need_index_dtype(c, 1));
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, 0), x->rank, x, &axis));
  if (idx->rank != x->rank)
    return ERR(c, "indices %s and data %s differ in rank", tstr(c, idx).s, tstr(c, x).s);
  c->out[0] = *idx;
  c->out[0].dtype = x->dtype;
  return NULL;
}

/* The last dim of indices for gather_nd / scatter_nd: static, in [1, limit]. */
static ug_status_t nd_depth(const ictx_t *c, const ug_type_t *x, const ug_type_t *idx, int limit,
                            int *out) {
  if (idx->rank < 1) return ERR(c, "indices %s must have rank >= 1", tstr(c, idx).s);
  ug_dim_t k = idx->dims[idx->rank - 1];
  if (!UG_DIM_IS_STATIC(k)) return UNSUP(c, "symbolic index depth in %s", tstr(c, idx).s);
  if (k < 1 || k > limit)
    return ERR(c, "index depth %lld of %s out of range for %s", (long long)k, tstr(c, idx).s,
               tstr(c, x).s);
  *out = (int)k;
  return NULL;
}

/* gather_nd(data, indices) {batch_dims b}: with k = indices.shape[-1],
 * out = indices.shape[:-1] + data.shape[b + k:]; the first b dims agree. */
static ug_status_t infer_gather_nd(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *idx = opnd(c, 1);
  UG_RETURN_IF_ERROR(need_index_dtype(c, 1));
  int64_t b = attr_int(c, UG_ATTR_BATCH_DIMS, 0);
  if (b < 0 || b >= x->rank || b >= idx->rank)
    return ERR(c, "batch_dims %lld out of range for %s and %s", (long long)b, tstr(c, x).s,
               tstr(c, idx).s);
  int k;
  UG_RETURN_IF_ERROR(nd_depth(c, x, idx, x->rank - (int)b, &k));
  for (int i = 0; i < b; i++)
    if (ug_dim_provably_ne(c->dims, x->dims[i], idx->dims[i]))
      return ERR(c, "batch dim %d differs between %s and %s", i, tstr(c, x).s, tstr(c, idx).s);
  ug_type_t r = {.dtype = x->dtype};
  for (int i = 0; i < idx->rank - 1; i++) r.dims[r.rank++] = idx->dims[i];
  if (r.rank + x->rank - (int)b - k > UG_MAX_RANK)
    return ERR(c, "result of %s and %s exceeds rank %d", tstr(c, x).s, tstr(c, idx).s, UG_MAX_RANK);
  for (int i = (int)b + k; i < x->rank; i++) r.dims[r.rank++] = x->dims[i];
  c->out[0] = r;
  return NULL;
}

/* Whether two types have provably-compatible shapes (same rank, no dim
 * provably different). */
static bool shapes_match(const ictx_t *c, const ug_type_t *a, const ug_type_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (ug_dim_provably_ne(c->dims, a->dims[i], b->dims[i])) return false;
  return true;
}

/* scatter_elements(data, indices, updates) {axis}: indices and updates share
 * one shape of data's rank; the result is data's type. */
static ug_status_t infer_scatter_elements(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *idx = opnd(c, 1), *u = opnd(c, 2);
  UG_RETURN_IF_ERROR(need_index_dtype(c, 1));
  UG_RETURN_IF_ERROR(same_dtype(c, 0, 2));
  int axis = 0;
  UG_RETURN_IF_ERROR(norm_axis(c, attr_int(c, UG_ATTR_AXIS, 0), x->rank, x, &axis));
  if (idx->rank != x->rank || !shapes_match(c, idx, u))
    return ERR(c, "indices %s and updates %s must have one shape of the rank of %s",
               tstr(c, idx).s, tstr(c, u).s, tstr(c, x).s);
  c->out[0] = *x;
  return NULL;
}

/* scatter_nd(data, indices, updates): with k = indices.shape[-1], updates
 * are indices.shape[:-1] + data.shape[k:]. */
static ug_status_t infer_scatter_nd(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *idx = opnd(c, 1), *u = opnd(c, 2);
  UG_RETURN_IF_ERROR(need_index_dtype(c, 1));
  UG_RETURN_IF_ERROR(same_dtype(c, 0, 2));
  int k;
  UG_RETURN_IF_ERROR(nd_depth(c, x, idx, x->rank, &k));
  bool ok = u->rank == idx->rank - 1 + x->rank - k;
  for (int i = 0; ok && i < u->rank; i++) {
    ug_dim_t want = i < idx->rank - 1 ? idx->dims[i] : x->dims[k + i - (idx->rank - 1)];
    ok = !ug_dim_provably_ne(c->dims, u->dims[i], want);
  }
  if (!ok)
    return ERR(c, "updates %s do not fit indices %s into %s", tstr(c, u).s, tstr(c, idx).s,
               tstr(c, x).s);
  c->out[0] = *x;
  return NULL;
}

/* pad(x, value?) {pads, mode}: each dim grows by begin + end (negative pads
 * crop); value is a scalar of x's dtype. */
static ug_status_t infer_pad(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *v = opnd(c, 1);
  int64_t pads[2 * UG_MAX_RANK];
  const int64_t *pv;
  uint32_t n;
  attr_ints(c, UG_ATTR_PADS, &pv, &n);
  if (n != 2u * (uint32_t)x->rank) return ERR(c, "pads has %u values for %s", n, tstr(c, x).s);
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_PADS, n, -ATTR_LIMIT, ATTR_LIMIT, 0, pads));
  if (v) {
    int64_t numel;
    UG_RETURN_IF_ERROR(same_dtype(c, 0, 1));
    if (!ug_type_static_numel(v, &numel) || numel != 1)
      return ERR(c, "pad value %s is not a scalar", tstr(c, v).s);
  }
  ug_type_t r = *x;
  for (int i = 0; i < x->rank; i++) {
    r.dims[i] = daddc(c, daddc(c, x->dims[i], pads[i]), pads[x->rank + i]);
    if (UG_DIM_IS_STATIC(x->dims[i]) && r.dims[i] == DIM_BAD)
      return ERR(c, "pads %lld and %lld make dim %d of %s negative", (long long)pads[i],
                 (long long)pads[x->rank + i], i, tstr(c, x).s);
  }
  c->out[0] = r;
  return NULL;
}

/* tile(x) {repeats}: dim i is multiplied by repeats[i]. */
static ug_status_t infer_tile(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  int64_t reps[UG_MAX_RANK];
  const int64_t *rv;
  uint32_t n;
  attr_ints(c, UG_ATTR_REPEATS, &rv, &n);
  if (n != (uint32_t)x->rank) return ERR(c, "repeats has %u values for %s", n, tstr(c, x).s);
  UG_RETURN_IF_ERROR(attr_vec(c, UG_ATTR_REPEATS, n, 0, ATTR_LIMIT, 1, reps));
  ug_type_t r = *x;
  for (int i = 0; i < x->rank; i++) r.dims[i] = dmul(c, x->dims[i], reps[i]);
  c->out[0] = r;
  return NULL;
}

/* trilu(x) {upper, k}: a batch of matrices, same type. */
static ug_status_t infer_trilu(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0);
  if (x->rank < 2) return ERR(c, "input %s must have rank >= 2", tstr(c, x).s);
  const ug_type_t *k = opnd(c, 1);
  if (k) {
    int64_t numel;
    if (!ug_dtype_is_int(k->dtype) || !ug_type_static_numel(k, &numel) || numel != 1)
      return ERR(c, "k must be an integer scalar, got %s", tstr(c, k).s);
    if (attr(c, UG_ATTR_K)) return ERR(c, "k is given both as an attribute and as an operand");
  }
  c->out[0] = *x;
  return NULL;
}

/* shape_of(x) -> i64[rank]. */
static ug_status_t infer_shape_of(ictx_t *c) {
  ug_dim_t rank = opnd(c, 0)->rank;
  c->out[0] = ug_type_make(UG_DTYPE_I64, 1, &rank);
  return NULL;
}

/* ---- shape-given ops: validate the caller's result type ---- */

/* reshape: same dtype and element count (symbolic counts compared through
 * the dims table, so `batch*seq*768` matches `[batch*seq, 768]`). */
static ug_status_t check_reshape(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *r = &c->out[0];
  if (r->dtype != x->dtype)
    return ERR(c, "result %s changes the dtype of %s", tstr(c, r).s, tstr(c, x).s);
  int64_t a, b;
  bool sa = ug_type_static_numel(x, &a), sb = ug_type_static_numel(r, &b);
  bool differ = (sa && sb) ? a != b
                           : ug_dim_provably_ne(c->dims, ug_type_numel(c->dims, x),
                                                ug_type_numel(c->dims, r));
  if (differ)
    return ERR(c, "cannot reshape %s into %s: element counts differ", tstr(c, x).s, tstr(c, r).s);
  return NULL;
}

/* expand: the given shape is what x broadcasts to. */
static ug_status_t check_expand(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *r = &c->out[0];
  if (r->dtype != x->dtype || !bcast_to(c, x, r->dims, r->rank))
    return ERR(c, "%s does not broadcast to the result %s", tstr(c, x).s, tstr(c, r).s);
  return NULL;
}

/* resize: scales or sizes were folded into the result type; rank and dtype stay. */
static ug_status_t check_resize(ictx_t *c) {
  const ug_type_t *x = opnd(c, 0), *r = &c->out[0];
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  if (r->dtype != x->dtype || r->rank != x->rank)
    return ERR(c, "result %s must have the rank and dtype of %s", tstr(c, r).s, tstr(c, x).s);
  return NULL;
}

/* range(start, limit, delta): scalars of one numeric dtype; a 1-d result. */
static ug_status_t check_range(ictx_t *c) {
  const ug_type_t *r = &c->out[0];
  UG_RETURN_IF_ERROR(need_dtype(c, 0, c->info->props));
  for (uint32_t i = 0; i < 3; i++) {
    UG_RETURN_IF_ERROR(same_dtype(c, 0, i));
    if (opnd(c, i)->rank != 0)
      return ERR(c, "operand %u %s is not a scalar", i, tstr(c, opnd(c, i)).s);
  }
  if (r->rank != 1 || r->dtype != opnd(c, 0)->dtype)
    return ERR(c, "result %s must be 1-d of the dtype of %s", tstr(c, r).s, tstr(c, opnd(c, 0)).s);
  return NULL;
}

/* ---- dispatch ---- */

/* Arity, operand ids, operand types and required attributes: everything the
 * op helpers take for granted. */
static ug_status_t check_node(ictx_t *c) {
  const ug_op_info_t *in = c->info;
  if ((int64_t)c->num_operands < in->min_operands ||
      (in->max_operands >= 0 && (int64_t)c->num_operands > in->max_operands))
    return INVALID(c, "%u operands; expected %d to %d", c->num_operands, in->min_operands,
                   in->max_operands);
  if (in->num_results >= 0 ? c->num_results != (uint32_t)in->num_results : c->num_results == 0)
    return INVALID(c, "%u results; expected %s%d", c->num_results,
                   in->num_results < 0 ? "at least " : "", in->num_results < 0 ? 1 : in->num_results);
  for (uint32_t i = 0; i < c->num_operands; i++) {
    ug_value_id_t v = c->operands[i];
    if (v == UG_NONE) {
      /* Only the optional trailing operands of fixed-arity ops may be absent. */
      if ((int64_t)i < in->min_operands || in->max_operands < 0)
        return INVALID(c, "operand %u is required", i);
      continue;
    }
    if (v >= c->g->values.len)
      return INVALID(c, "operand %u is not a value of graph @%s", i, c->g->name);
    const ug_type_t *t = ug_value_type(c->g, v);
    if (!type_ok(c, t)) return INVALID(c, "operand %u has a malformed type (rank %d)", i, t->rank);
    /* Block-quantized data is only dequantized (cast), gathered (embedding
     * rows), multiplied as a matmul weight, or asked for its shape. */
    if (ug_dtype_is_quant(t->dtype) && c->op != UG_OP_CAST && c->op != UG_OP_SHAPE_OF &&
        !(c->op == UG_OP_LINEAR && i == 1) &&
        !(c->op == UG_OP_GATHER && i == 0))
      return ERR(c, "operand %u is block-quantized (%s)", i, tstr(c, t).s);
  }
  for (int k = 0; k < UG_ATTR_COUNT; k++) {
    bool required = false;
    if (ug_op_accepts_attr(c->op, (ug_attr_key_t)k, &required) && required &&
        !attr(c, (ug_attr_key_t)k))
      return INVALID(c, "missing required attribute '%s'", ug_attr_name((ug_attr_key_t)k));
  }
  return NULL;
}

/* The op helpers never produce malformed types on purpose; this catches the
 * static dims that went negative or overflowed on the way (DIM_BAD). */
static ug_status_t check_results(const ictx_t *c) {
  for (uint32_t i = 0; i < c->num_results; i++)
    if (!type_ok(c, &c->out[i]))
      return ERR(c, "result %u has a negative or overflowing dimension (operand 0 is %s)", i,
                 c->num_operands && opnd(c, 0) ? tstr(c, opnd(c, 0)).s : "absent");
  return NULL;
}

static ug_status_t infer_shape_given(ictx_t *c) {
  for (uint32_t i = 0; i < c->num_results; i++)
    if (!type_ok(c, &c->out[i]))
      return INVALID(c, "given result type %u is malformed (rank %d)", i, c->out[i].rank);
  switch (c->op) {
  case UG_OP_RESHAPE: return check_reshape(c);
  case UG_OP_EXPAND: return check_expand(c);
  case UG_OP_RESIZE: return check_resize(c);
  case UG_OP_RANGE: return check_range(c);
  case UG_OP_CONST: return NULL; /* the weight's type; ug_infer cannot see it */
  default: UG_UNREACHABLE();
  }
}

static ug_status_t infer_op(ictx_t *c) {
  switch (c->op) {
  case UG_OP_CLIP: return infer_clip(c);
  case UG_OP_WHERE: return infer_where(c);
  case UG_OP_REDUCE_SUM: case UG_OP_REDUCE_MEAN: case UG_OP_REDUCE_MAX: case UG_OP_REDUCE_MIN:
  case UG_OP_REDUCE_PROD: return infer_reduce(c);
  case UG_OP_ARGMAX: case UG_OP_ARGMIN: return infer_argreduce(c);
  case UG_OP_SOFTMAX: case UG_OP_LOG_SOFTMAX: case UG_OP_CUMSUM: case UG_OP_LRN:
    return infer_same_axis(c);
  case UG_OP_LAYER_NORM: case UG_OP_RMS_NORM: return infer_norm(c);
  case UG_OP_BATCH_NORM: case UG_OP_INSTANCE_NORM: return infer_channel_norm(c);
  case UG_OP_MAX_POOL: case UG_OP_AVG_POOL: return infer_pool(c);
  case UG_OP_TOPK: return infer_topk(c);
  case UG_OP_MATMUL: return infer_matmul(c);
  case UG_OP_LINEAR: return infer_linear(c);
  case UG_OP_CONV: return infer_conv(c);
  case UG_OP_CONV_NHWC: return infer_conv_nhwc(c);
  case UG_OP_CONV_TRANSPOSE: return infer_conv_transpose(c);
  case UG_OP_SQUEEZE: return infer_squeeze(c);
  case UG_OP_UNSQUEEZE: return infer_unsqueeze(c);
  case UG_OP_TRANSPOSE: return infer_transpose(c);
  case UG_OP_SLICE: return infer_slice(c);
  case UG_OP_CONCAT: return infer_concat(c);
  case UG_OP_SPLIT: return infer_split(c);
  case UG_OP_GATHER: return infer_gather(c);
  case UG_OP_GATHER_ELEMENTS: return infer_gather_elements(c);
  case UG_OP_GATHER_ND: return infer_gather_nd(c);
  case UG_OP_SCATTER_ELEMENTS: return infer_scatter_elements(c);
  case UG_OP_SCATTER_ND: return infer_scatter_nd(c);
  case UG_OP_PAD: return infer_pad(c);
  case UG_OP_TILE: return infer_tile(c);
  case UG_OP_TRILU: return infer_trilu(c);
  case UG_OP_SHAPE_OF: return infer_shape_of(c);
  default: break;
  }
  /* The remaining elementwise ops are told apart by arity alone. */
  if (c->info->category == UG_CAT_EW && c->info->max_operands == 1) return infer_unary(c);
  if (c->info->category == UG_CAT_EW && c->info->max_operands == 2) return infer_binary(c);
  return UNSUP(c, "no shape inference for this op");
}

ug_status_t ug_infer(ug_graph_t *g, ug_op_t op, const ug_value_id_t *operands, uint32_t num_operands,
                     const ug_attr_t *attrs, uint32_t num_attrs, const char *loc,
                     ug_type_t *io_types, uint32_t num_results) {
  if ((unsigned)op >= UG_OP_COUNT)
    return ug_status_make(UG_ERR_INVALID, loc, "node \"%s\": unknown op %d", loc ? loc : "<unnamed>",
                          (int)op);
  ictx_t c = {.g = g, .dims = g->module->dims, .op = op, .info = ug_op_info(op), .loc = loc,
              .operands = operands, .num_operands = num_operands, .attrs = attrs,
              .num_attrs = attrs ? num_attrs : 0, .out = io_types, .num_results = num_results};
  if (!operands) c.num_operands = 0;
  if (!io_types && num_results) return INVALID(&c, "no room for the %u result types", num_results);
  UG_RETURN_IF_ERROR(check_node(&c));
  if ((c.info->props & UG_PROP_SHAPE_GIVEN) || op == UG_OP_CONST) return infer_shape_given(&c);
  UG_RETURN_IF_ERROR(infer_op(&c));
  return check_results(&c);
}

ug_status_t ug_infer_node(ug_graph_t *g, const ug_node_t *n, ug_type_t *out_types) {
  bool given = (unsigned)n->op < UG_OP_COUNT &&
               ((ug_op_info(n->op)->props & UG_PROP_SHAPE_GIVEN) || n->op == UG_OP_CONST);
  if (given) {
    for (uint32_t i = 0; i < n->num_results; i++)
      out_types[i] = *ug_value_type(g, ug_node_result(g, n, i));
    /* A const's type is its weight's. */
    if (n->op == UG_OP_CONST && n->num_results == 1 && n->weight < g->module->weights.len)
      out_types[0] = g->module->weights.items[n->weight].type;
  }
  const ug_value_id_t *ops = n->num_operands ? &g->operand_pool.items[n->operands] : NULL;
  const ug_attr_t *attrs = n->num_attrs ? ug_node_attrs(g, n) : NULL;
  return ug_infer(g, n->op, ops, n->num_operands, attrs, n->num_attrs, n->loc, out_types,
                  n->num_results);
}
