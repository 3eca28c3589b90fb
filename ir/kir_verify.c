/* The kernel IR verifier.
 *
 * Checks, per kernel: the launch (grid rank 1..3, 1..32 warps), parameter
 * types; per op: arity, regions and attributes against ir/kir.def; SSA
 * scoping (a value is used only after its definition, in its region or an
 * enclosed one; region arguments only inside their region); the memory space
 * of every access (loads and stores touch global or shared memory, async
 * copies go global -> shared, mbarrier ops take mbarriers); index counts
 * (a global access has one index per dim, a shared or mbarrier access one
 * stage index) and static stage indices below the buffer's stages; tile
 * shapes and dtypes of every op; region terminators (yield ends a for/if
 * region that has results, nowhere else); roles (a non-empty warp range
 * inside the block, not nested, not overlapping a sibling role); allocs only
 * at the kernel's top level.  The first problem is returned; its origin is
 * file:line:col for parsed ops, else the kernel, and the message names the op. */
#include <stdlib.h>
#include <string.h>

#include "ir/kir.h"

#define UG_KVERIFY_MAX_DEPTH 256

typedef struct {
  ug_kir_kernel_t *k;
  uint8_t *visible;  /* per value: in scope */
  uint8_t *seen;     /* per op: already visited */
  UG_VEC(ug_kir_value_id_t) scope; /* values made visible, for undoing at region end */
  ug_arena_t *arena;
  int depth;
  int roles; /* enclosing role regions */
} ug_kverifier_t;

static ug_status_t op_error(ug_kverifier_t *v, ug_kir_op_id_t id, const char *fmt, ...) UG_PRINTF(3, 4);
static ug_status_t op_error(ug_kverifier_t *v, ug_kir_op_id_t id, const char *fmt, ...) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  char origin[512], msg[1024];
  if (o->line && k->module->file)
    snprintf(origin, sizeof(origin), "%s:%u:%u", k->module->file, o->line, o->col);
  else
    snprintf(origin, sizeof(origin), "kernel @%s", k->name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  const char *name = o->op == UG_KIR_EW && (unsigned)o->ew < UG_OP_COUNT ? ug_op_info(o->ew)->name
                                                                          : ug_kir_op_info(o->op)->name;
  if (o->loc) return ug_status_make(UG_ERR_INVALID, origin, "op \"%s\" (%s): %s", o->loc, name, msg);
  if (o->line) return ug_status_make(UG_ERR_INVALID, origin, "%s: %s", name, msg);
  return ug_status_make(UG_ERR_INVALID, origin, "op %u (%s): %s", id, name, msg);
}
#define ERR(...) op_error(v, id, __VA_ARGS__)

static const char *fmt_type(ug_kverifier_t *v, const ug_kir_type_t *t, char *buf, size_t size) {
  ug_kir_type_format(v->k->module->dims, t, buf, size);
  return buf;
}

static void make_visible(ug_kverifier_t *v, ug_kir_value_id_t x) {
  v->visible[x] = 1;
  UG_VEC_PUSH(v->arena, &v->scope, x);
}

/* ---- operands ---- */

static const ug_kir_operand_t *opnd(ug_kverifier_t *v, const ug_kir_op_data_t *o, uint32_t i) {
  return ug_kir_operand(v->k, o, i);
}

static const ug_kir_type_t *vtype(ug_kverifier_t *v, ug_kir_value_id_t x) { return ug_kir_value_type(v->k, x); }

static bool is_index(ug_kverifier_t *v, const ug_kir_operand_t *a) {
  return !a->access && (a->value == UG_NONE || vtype(v, a->value)->kind == UG_KT_INDEX);
}

/* A use of value x: it exists and is in scope. */
static ug_status_t use(ug_kverifier_t *v, ug_kir_op_id_t id, ug_kir_value_id_t x) {
  if (x == UG_NONE) return NULL;
  if (x >= v->k->values.len) return ERR("operand %u is not a value", x);
  if (!v->visible[x]) {
    const char *n = v->k->values.items[x].name;
    return ERR("%s%s%s is used before it is defined or outside its region", n ? "%" : "value ", n ? n : "",
               n ? "" : "(unnamed)");
  }
  return NULL;
}

/* Operand i is a plain value (no access, no immediate) of the given kind. */
static ug_status_t want_value(ug_kverifier_t *v, ug_kir_op_id_t id, uint32_t i, ug_kir_type_kind_t kind,
                              const char *what) {
  const ug_kir_operand_t *a = opnd(v, ug_kir_op(v->k, id), i);
  if (a->access || a->value == UG_NONE || vtype(v, a->value)->kind != kind)
    return ERR("operand %u must be %s", i, what);
  return NULL;
}

static ug_status_t want_index(ug_kverifier_t *v, ug_kir_op_id_t id, const ug_kir_operand_t *a, const char *what) {
  if (!is_index(v, a)) return ERR("%s must be an index", what);
  return NULL;
}

/* A static stage index must be below the number of stages. */
static ug_status_t check_stage(ug_kverifier_t *v, ug_kir_op_id_t id, const ug_kir_operand_t *a, uint32_t stages) {
  UG_RETURN_IF_ERROR(want_index(v, id, a, "a stage"));
  if (a->value == UG_NONE && UG_DIM_IS_STATIC(a->imm) && a->imm >= (ug_dim_t)stages)
    return ERR("stage %lld out of range for a buffer of %u stages", (long long)a->imm, stages);
  return NULL;
}

/* Operand i is an access to memory of kind `kind` (GLOBAL, SHARED or MBAR),
 * with one index per dim (global) or one stage index (shared, mbarrier). */
static ug_status_t want_access(ug_kverifier_t *v, ug_kir_op_id_t id, uint32_t i, ug_kir_type_kind_t kind) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_operand_t *a = opnd(v, ug_kir_op(k, id), i);
  static const char *space[] = {"an index", "a register tile", "global memory", "shared memory", "an mbarrier",
                                "a token"};
  if (!a->access || a->value == UG_NONE) return ERR("operand %u must be an access %%buf[...] to %s", i, space[kind]);
  const ug_kir_type_t *t = vtype(v, a->value);
  if (t->kind != kind) return ERR("operand %u accesses %s, expected %s", i, space[t->kind], space[kind]);
  if (kind == UG_KT_GLOBAL) {
    if (a->nidx != (uint32_t)t->t.rank)
      return ERR("operand %u has %u indices for a buffer of rank %d", i, a->nidx, t->t.rank);
    for (uint32_t j = 0; j < a->nidx; j++) UG_RETURN_IF_ERROR(want_index(v, id, ug_kir_index(k, a, j), "an offset"));
    return NULL;
  }
  if (a->nidx != 1) return ERR("operand %u needs exactly one stage index, has %u", i, a->nidx);
  return check_stage(v, id, ug_kir_index(k, a, 0), t->stages);
}

/* A register tile type with a static shape of positive dims. */
static ug_status_t want_tile(ug_kverifier_t *v, ug_kir_op_id_t id, const ug_kir_type_t *t, const char *what) {
  char b[256];
  if (t->kind != UG_KT_TILE) return ERR("%s must be a register tile, not %s", what, fmt_type(v, t, b, sizeof(b)));
  for (int i = 0; i < t->t.rank; i++)
    if (!UG_DIM_IS_STATIC(t->t.dims[i]) || t->t.dims[i] < 1)
      return ERR("%s %s needs a static shape of positive sizes", what, fmt_type(v, t, b, sizeof(b)));
  if (ug_dtype_is_quant(t->t.dtype)) return ERR("%s cannot hold block-quantized %s", what, ug_dtype_name(t->t.dtype));
  return NULL;
}

static bool same_shape(const ug_type_t *a, const ug_type_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

static ug_status_t shape_mismatch(ug_kverifier_t *v, ug_kir_op_id_t id, const char *what, const ug_kir_type_t *a,
                                  const ug_kir_type_t *b) {
  char x[256], y[256];
  return ERR("%s: %s does not match %s", what, fmt_type(v, a, x, sizeof(x)), fmt_type(v, b, y, sizeof(y)));
}

/* The tile moved by a load/store/copy against the memory it touches:
 * shared: the buffer's tile; global: at most the buffer's rank (the tile
 * spans the trailing dims, the leading indices pick one element each). */
static ug_status_t check_moved(ug_kverifier_t *v, ug_kir_op_id_t id, const ug_kir_type_t *mem,
                               const ug_kir_type_t *tile) {
  UG_RETURN_IF_ERROR(want_tile(v, id, tile, "the tile"));
  if (mem->t.dtype != tile->t.dtype) return shape_mismatch(v, id, "element types differ", tile, mem);
  if (mem->kind == UG_KT_SHARED ? !same_shape(&mem->t, &tile->t) : tile->t.rank > mem->t.rank)
    return shape_mismatch(v, id, "mismatched tile shapes", tile, mem);
  return NULL;
}

/* Whether a gather's offsets or mask of type a are per run of the tile
 * t: t's shape with a last dim of 1 (element [..., j] reads at offset
 * [..., 0] + j). */
static bool runs_shape(const ug_type_t *a, const ug_type_t *t) {
  if (a->rank != t->rank || a->rank == 0 || a->dims[a->rank - 1] != 1) return false;
  for (int i = 0; i + 1 < a->rank; i++)
    if (a->dims[i] != t->dims[i]) return false;
  return true;
}

static ug_status_t check_mask(ug_kverifier_t *v, ug_kir_op_id_t id, uint32_t i, const ug_kir_type_t *tile) {
  UG_RETURN_IF_ERROR(want_value(v, id, i, UG_KT_TILE, "a bool mask tile"));
  const ug_kir_type_t *m = vtype(v, opnd(v, ug_kir_op(v->k, id), i)->value);
  if (m->t.dtype != UG_DTYPE_BOOL || (m->t.rank != 0 && !same_shape(&m->t, &tile->t)))
    return shape_mismatch(v, id, "the mask must be bool of the tile's shape (or a bool[] for the whole tile)", m, tile);
  return NULL;
}

/* ---- attributes ---- */

static ug_status_t check_attrs(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  const ug_kir_attr_t *as = ug_kir_attrs(k, o);
  for (uint32_t i = 0; i < o->num_attrs; i++) {
    const ug_kir_attr_t *a = &as[i];
    if (a->graph) {
      if (o->op != UG_KIR_EW || (unsigned)a->g.key >= UG_ATTR_COUNT || !ug_op_accepts_attr(o->ew, a->g.key, NULL))
        return ERR("unknown attribute '%s'", (unsigned)a->g.key < UG_ATTR_COUNT ? ug_attr_name(a->g.key) : "?");
    } else if ((unsigned)a->key >= UG_KIR_ATTR_COUNT || o->op == UG_KIR_EW || !ug_kir_op_accepts_attr(o->op, a->key, NULL)) {
      return ERR("unknown attribute '%s'", ug_kir_attr_name(a->key));
    } else if (ug_kir_attr_kind(a->key) == UG_KAK_OP && (unsigned)a->op >= UG_OP_COUNT) {
      return ERR("attribute '%s' names no op", ug_kir_attr_name(a->key));
    }
    for (uint32_t j = 0; j < i; j++)
      if (as[j].graph == a->graph && (a->graph ? as[j].g.key == a->g.key : as[j].key == a->key))
        return ERR("attribute '%s' given twice", a->graph ? ug_attr_name(a->g.key) : ug_kir_attr_name(a->key));
  }
  if (o->op == UG_KIR_EW) {
    for (int key = 0; key < UG_ATTR_COUNT; key++) {
      bool req;
      if (ug_op_accepts_attr(o->ew, (ug_attr_key_t)key, &req) && req && !ug_kir_op_graph_attr(k, o, (ug_attr_key_t)key))
        return ERR("missing attribute '%s'", ug_attr_name((ug_attr_key_t)key));
    }
  } else {
    for (int key = 0; key < UG_KIR_ATTR_COUNT; key++) {
      bool req;
      if (ug_kir_op_accepts_attr(o->op, (ug_kir_attr_key_t)key, &req) && req &&
          !ug_kir_op_attr(k, o, (ug_kir_attr_key_t)key))
        return ERR("missing attribute '%s'", ug_kir_attr_name((ug_kir_attr_key_t)key));
    }
  }
  return NULL;
}

static int64_t attr_int(ug_kverifier_t *v, const ug_kir_op_data_t *o, ug_kir_attr_key_t key, int64_t dflt) {
  const ug_kir_attr_t *a = ug_kir_op_attr(v->k, o, key);
  return a ? a->i : dflt;
}

/* ---- ops ---- */

static bool index_arith(ug_op_t op) {
  return op == UG_OP_ADD || op == UG_OP_SUB || op == UG_OP_MUL || op == UG_OP_DIV || op == UG_OP_MOD ||
         op == UG_OP_MIN || op == UG_OP_MAX;
}

static bool index_compare(ug_op_t op) {
  return op == UG_OP_EQUAL || op == UG_OP_LESS || op == UG_OP_LESS_EQUAL || op == UG_OP_GREATER ||
         op == UG_OP_GREATER_EQUAL;
}

static bool is_bool_scalar(const ug_kir_type_t *t) {
  return t->kind == UG_KT_TILE && t->t.rank == 0 && t->t.dtype == UG_DTYPE_BOOL;
}

static bool dtype_fits(unsigned props, ug_dtype_t dt) {
  return ((props & UG_PROP_FLOAT) && ug_dtype_is_float(dt)) || ((props & UG_PROP_INT) && ug_dtype_is_int(dt)) ||
         ((props & UG_PROP_BOOL) && dt == UG_DTYPE_BOOL);
}

static ug_status_t check_ew(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  if ((unsigned)o->ew >= UG_OP_COUNT || ug_op_info(o->ew)->category != UG_CAT_EW)
    return ERR("not an elementwise op");
  const ug_op_info_t *gi = ug_op_info(o->ew);
  if ((int)o->num_operands < gi->min_operands || (int)o->num_operands > gi->max_operands)
    return ERR("takes %d to %d operands, has %u", gi->min_operands, gi->max_operands, o->num_operands);
  bool any_index = false, any_tile = false;
  const ug_type_t *shape = NULL;
  for (uint32_t i = 0; i < o->num_operands; i++) {
    const ug_kir_operand_t *a = opnd(v, o, i);
    if (a->access) return ERR("operand %u is a memory access; load it first", i);
    if (is_index(v, a)) {
      any_index = true;
      continue;
    }
    const ug_kir_type_t *t = vtype(v, a->value);
    if (t->kind != UG_KT_TILE) return ERR("operand %u must be a tile or an index", i);
    any_tile = true;
    if (t->t.rank == 0) continue;
    if (shape && !same_shape(shape, &t->t)) {
      const ug_kir_type_t *first = NULL;
      for (uint32_t j = 0; j < i && !first; j++) {
        const ug_kir_operand_t *b = opnd(v, o, j);
        if (b->value != UG_NONE && vtype(v, b->value)->t.rank) first = vtype(v, b->value);
      }
      return shape_mismatch(v, id, "mismatched tile shapes (broadcast explicitly)", t, first);
    }
    if (!shape) shape = &t->t;
  }
  const ug_kir_type_t *rt = vtype(v, ug_kir_result(k, o, 0));
  char b[256];
  if (any_index && any_tile) return ERR("mixes index and tile operands; cast the index to a scalar tile first");
  const ug_attr_t *to = ug_kir_op_graph_attr(k, o, UG_ATTR_TO);
  if (any_index) {
    if (index_arith(o->ew) && rt->kind == UG_KT_INDEX) return NULL;
    if (index_compare(o->ew) && is_bool_scalar(rt)) return NULL;
    if (o->ew == UG_OP_CAST && rt->kind == UG_KT_TILE && rt->t.rank == 0 && to && rt->t.dtype == to->u.dtype &&
        !ug_dtype_is_quant(to->u.dtype))
      return NULL;
    return ERR("on indices gives %s, expected index (add sub mul div mod min max), bool[] (comparisons) or a "
               "scalar tile (cast)", fmt_type(v, rt, b, sizeof(b)));
  }
  UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the result"));
  ug_type_t want = shape ? *shape : ug_type_scalar(rt->t.dtype);
  if (!same_shape(&want, &rt->t)) {
    ug_kir_type_t w = *rt;
    w.t = want;
    w.t.dtype = rt->t.dtype;
    return shape_mismatch(v, id, "result shape", rt, &w);
  }
  uint32_t d0 = o->ew == UG_OP_WHERE ? 1 : 0;
  ug_dtype_t dt = vtype(v, opnd(v, o, d0)->value)->t.dtype;
  if (o->ew == UG_OP_WHERE && vtype(v, opnd(v, o, 0)->value)->t.dtype != UG_DTYPE_BOOL)
    return ERR("the condition must be bool");
  for (uint32_t i = d0 + 1; i < o->num_operands && !(gi->props & UG_PROP_MIXED); i++)
    if (vtype(v, opnd(v, o, i)->value)->t.dtype != dt)
      return shape_mismatch(v, id, "element types differ", vtype(v, opnd(v, o, i)->value), vtype(v, opnd(v, o, d0)->value));
  ug_dtype_t rdt = o->ew == UG_OP_CAST ? (to ? to->u.dtype : rt->t.dtype)
                 : (gi->props & UG_PROP_BOOL_RESULT) ? UG_DTYPE_BOOL : dt;
  if (rt->t.dtype != rdt) return ERR("result is %s, expected %s", ug_dtype_name(rt->t.dtype), ug_dtype_name(rdt));
  if (!dtype_fits(gi->props, dt)) return ERR("does not take %s operands", ug_dtype_name(dt));
  return NULL;
}

static ug_status_t check_mma(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  const ug_kir_type_t *t[3];
  for (uint32_t i = 0; i < 3; i++) {
    const ug_kir_operand_t *a = opnd(v, o, i);
    if (i < 2 && a->access) {
      UG_RETURN_IF_ERROR(want_access(v, id, i, UG_KT_SHARED));
    } else {
      UG_RETURN_IF_ERROR(want_value(v, id, i, UG_KT_TILE, i < 2 ? "a register tile or shared[stage]" : "the accumulator tile"));
    }
    t[i] = vtype(v, a->value);
    if (t[i]->t.rank != 2) return ERR("operand %u must be 2-d", i);
  }
  const ug_kir_type_t *rt = vtype(v, ug_kir_result(k, o, 0));
  if (!ug_kir_type_equal(rt, t[2])) return shape_mismatch(v, id, "the result must have the accumulator's type", rt, t[2]);
  UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the accumulator"));
  bool ta = attr_int(v, o, UG_KATTR_TRANS_A, 0), tb = attr_int(v, o, UG_KATTR_TRANS_B, 0);
  ug_dim_t m = t[0]->t.dims[ta], ka = t[0]->t.dims[!ta], kb = t[1]->t.dims[tb], n = t[1]->t.dims[!tb];
  if (ka != kb) return shape_mismatch(v, id, "mismatched tile shapes: inner dims differ", t[0], t[1]);
  if (m != rt->t.dims[0] || n != rt->t.dims[1])
    return shape_mismatch(v, id, "mismatched tile shapes: the accumulator is not [M,N]", rt, t[0]);
  ug_dtype_t da = t[0]->t.dtype, db = t[1]->t.dtype, dc = rt->t.dtype;
  bool f8a = da == UG_DTYPE_F8E4M3 || da == UG_DTYPE_F8E5M2, f8b = db == UG_DTYPE_F8E4M3 || db == UG_DTYPE_F8E5M2;
  if (da != db && !(f8a && f8b)) return ERR("operand types %s and %s differ", ug_dtype_name(da), ug_dtype_name(db));
  bool int8 = da == UG_DTYPE_I8 || da == UG_DTYPE_U8;
  if (!(ug_dtype_is_float(da) || int8)) return ERR("does not take %s operands", ug_dtype_name(da));
  bool acc_ok = int8 ? dc == UG_DTYPE_I32 : ug_dtype_is_float(dc) && ug_dtype_bits(dc) >= 16;
  if (!acc_ok) return ERR("cannot accumulate %s products in %s", ug_dtype_name(da), ug_dtype_name(dc));
  return NULL;
}

static ug_status_t check_reduce(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_TILE, "a tile"));
  const ug_kir_type_t *x = vtype(v, opnd(v, o, 0)->value), *rt = vtype(v, ug_kir_result(k, o, 0));
  UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the result"));
  ug_op_t c = ug_kir_op_attr(k, o, UG_KATTR_COMBINE)->op;
  if (c != UG_OP_ADD && c != UG_OP_MUL && c != UG_OP_MAX && c != UG_OP_MIN && c != UG_OP_AND && c != UG_OP_OR)
    return ERR("cannot combine with %s (add, mul, max, min, and, or)", ug_op_info(c)->name);
  int64_t axis = attr_int(v, o, UG_KATTR_AXIS, 0);
  if (axis < 0 || axis >= x->t.rank) return ERR("axis %lld out of range for rank %d", (long long)axis, x->t.rank);
  ug_kir_type_t want = *x;
  want.t.dims[axis] = 1;
  if (!ug_kir_type_equal(rt, &want)) return shape_mismatch(v, id, "the reduced axis keeps size 1", rt, &want);
  if (!dtype_fits(ug_op_info(c)->props, x->t.dtype)) return ERR("%s does not take %s", ug_op_info(c)->name, ug_dtype_name(x->t.dtype));
  return NULL;
}

static ug_status_t check_shape_op(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_TILE, "a tile"));
  const ug_kir_type_t *x = vtype(v, opnd(v, o, 0)->value), *rt = vtype(v, ug_kir_result(k, o, 0));
  UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the result"));
  if (x->t.dtype != rt->t.dtype) return shape_mismatch(v, id, "element types differ", rt, x);
  if (o->op == UG_KIR_RESHAPE) {
    int64_t a, b;
    if (!ug_type_static_numel(&x->t, &a) || !ug_type_static_numel(&rt->t, &b) || a != b)
      return shape_mismatch(v, id, "reshape keeps the element count", rt, x);
    return NULL;
  }
  if (x->t.rank == 0) return NULL;
  bool ok = x->t.rank == rt->t.rank;
  for (int i = 0; ok && i < x->t.rank; i++) ok = x->t.dims[i] == 1 || x->t.dims[i] == rt->t.dims[i];
  if (!ok) return shape_mismatch(v, id, "broadcast repeats size-1 dims only", rt, x);
  return NULL;
}

static ug_status_t check_for(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  static const char *what[] = {"the lower bound", "the upper bound", "the step"};
  for (uint32_t i = 0; i < 3; i++) UG_RETURN_IF_ERROR(want_index(v, id, opnd(v, o, i), what[i]));
  const ug_kir_operand_t *step = opnd(v, o, 2);
  if (step->value == UG_NONE && step->imm == 0) return ERR("the step must be positive");
  uint32_t n = o->num_operands - 3;
  if (o->num_results != n) return ERR("%u iter args but %u results", n, o->num_results);
  const ug_kir_region_t *body = ug_kir_region(k, o->regions);
  if (body->num_args != n + 1 || vtype(v, ug_kir_region_arg(k, body, 0))->kind != UG_KT_INDEX)
    return ERR("the body takes the induction variable and one argument per iter arg");
  for (uint32_t i = 0; i < n; i++) {
    const ug_kir_operand_t *a = opnd(v, o, 3 + i);
    if (a->access) return ERR("iter arg %u is a memory access", i);
    ug_kir_type_t it = a->value == UG_NONE ? ug_kir_type_index() : *vtype(v, a->value);
    const ug_kir_type_t *at = vtype(v, ug_kir_region_arg(k, body, i + 1)), *rt = vtype(v, ug_kir_result(k, o, i));
    if (!ug_kir_type_equal(&it, at) || !ug_kir_type_equal(&it, rt))
      return shape_mismatch(v, id, "an iter arg, its region argument and its result have one type", &it, at);
    if (it.kind == UG_KT_GLOBAL || it.kind == UG_KT_SHARED || it.kind == UG_KT_MBAR)
      return ERR("iter arg %u is memory; loops carry indices, tiles and tokens", i);
  }
  return NULL;
}

static ug_status_t check_role(ug_kverifier_t *v, ug_kir_op_id_t id) {
  const ug_kir_op_data_t *o = ug_kir_op(v->k, id);
  if (o->role != UG_KIR_ROLE_PRODUCER && o->role != UG_KIR_ROLE_CONSUMER) return ERR("unknown role kind");
  if (o->warp_lo >= o->warp_hi) return ERR("a role needs warps: warps(%u, %u) is empty", o->warp_lo, o->warp_hi);
  if (o->warp_hi > v->k->warps)
    return ERR("warps(%u, %u) outside the block's %u warps", o->warp_lo, o->warp_hi, v->k->warps);
  if (v->roles) return ERR("roles do not nest");
  return NULL;
}

/* Operand kinds, shapes and attributes of one op (SSA uses are checked by the caller). */
static ug_status_t check_op(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  const ug_kir_op_info_t *info = ug_kir_op_info(o->op);
  if ((int)o->num_operands < info->min_operands || (info->max_operands >= 0 && (int)o->num_operands > info->max_operands))
    return ERR("wrong number of operands (%u)", o->num_operands);
  if ((int)o->num_results < info->min_results || (info->max_results >= 0 && (int)o->num_results > info->max_results))
    return ERR("wrong number of results (%u)", o->num_results);
  if ((int)o->num_regions != info->num_regions) return ERR("has %u regions, expected %d", o->num_regions, info->num_regions);
  UG_RETURN_IF_ERROR(check_attrs(v, id));
  const ug_kir_type_t *rt = o->num_results ? vtype(v, ug_kir_result(k, o, 0)) : NULL;
  char b[256];
  switch (o->op) {
    case UG_KIR_FOR: return check_for(v, id);
    case UG_KIR_IF:
      if (opnd(v, o, 0)->access || opnd(v, o, 0)->value == UG_NONE || !is_bool_scalar(vtype(v, opnd(v, o, 0)->value)))
        return ERR("the condition must be a bool[] value");
      return NULL;
    case UG_KIR_ROLE: return check_role(v, id);
    case UG_KIR_YIELD: return NULL; /* checked against its region's owner */
    case UG_KIR_PROGRAM_ID: {
      int64_t axis = attr_int(v, o, UG_KATTR_AXIS, 0);
      if (axis < 0 || axis >= k->grid_rank) return ERR("axis %lld out of range for a %d-d grid", (long long)axis, k->grid_rank);
      if (rt->kind != UG_KT_INDEX) return ERR("the result is an index");
      return NULL;
    }
    case UG_KIR_CLUSTER_RANK:
    case UG_KIR_CLUSTER_SIZE:
      if (rt->kind != UG_KT_INDEX) return ERR("the result is an index");
      return NULL;
    case UG_KIR_CLUSTER_REDUCE: {
      if (o->parent != k->body) return ERR("cluster_reduce belongs at the kernel's top level (every program reaches it)");
      if (k->cluster < 2) return ERR("cluster_reduce in a kernel without cluster(S)");
      UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_TILE, "a tile"));
      const ug_kir_type_t *x = vtype(v, opnd(v, o, 0)->value);
      if (!ug_kir_type_equal(rt, x)) return shape_mismatch(v, id, "the result has the operand's type", rt, x);
      ug_op_t c = ug_kir_op_attr(k, o, UG_KATTR_COMBINE)->op;
      if (c != UG_OP_ADD && c != UG_OP_MAX && c != UG_OP_MIN) return ERR("cannot combine with %s (add, max, min)", ug_op_info(c)->name);
      if (!dtype_fits(ug_op_info(c)->props, x->t.dtype)) return ERR("%s does not take %s", ug_op_info(c)->name, ug_dtype_name(x->t.dtype));
      return NULL;
    }
    case UG_KIR_TO_INDEX: {
      UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_TILE, "a one-element integer tile"));
      const ug_kir_type_t *x = vtype(v, opnd(v, o, 0)->value);
      int64_t n = 0;
      if (!ug_dtype_is_int(x->t.dtype) || !ug_type_static_numel(&x->t, &n) || n != 1)
        return ERR("operand 0 must be a one-element integer tile, not %s", fmt_type(v, x, b, sizeof(b)));
      if (rt->kind != UG_KT_INDEX) return ERR("the result is an index");
      return NULL;
    }
    case UG_KIR_ALLOC:
      if (o->parent != k->body) return ERR("alloc belongs at the kernel's top level");
      if (rt->kind == UG_KT_MBAR) return rt->stages ? NULL : ERR("no stages");
      if (rt->kind != UG_KT_SHARED) return ERR("allocates shared<S> T[...] or mbarrier<S>, not %s", fmt_type(v, rt, b, sizeof(b)));
      if (!rt->stages) return ERR("no stages");
      {
        ug_kir_type_t t = *rt;
        t.kind = UG_KT_TILE;
        return want_tile(v, id, &t, "a shared buffer");
      }
    case UG_KIR_LOAD:
    case UG_KIR_STORE: {
      const ug_kir_operand_t *a = opnd(v, o, 0);
      bool shared = a->access && a->value != UG_NONE && vtype(v, a->value)->kind == UG_KT_SHARED;
      UG_RETURN_IF_ERROR(want_access(v, id, 0, shared ? UG_KT_SHARED : UG_KT_GLOBAL));
      const ug_kir_type_t *mem = vtype(v, a->value);
      uint32_t mask = 1;
      if (o->op == UG_KIR_STORE) {
        UG_RETURN_IF_ERROR(want_value(v, id, 1, UG_KT_TILE, "the tile to store"));
        rt = vtype(v, opnd(v, o, 1)->value);
        mask = 2;
      }
      UG_RETURN_IF_ERROR(check_moved(v, id, mem, rt));
      if (o->num_operands > mask) UG_RETURN_IF_ERROR(check_mask(v, id, mask, rt));
      return NULL;
    }
    case UG_KIR_GATHER: {
      UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_GLOBAL, "a global buffer (the offsets are flat)"));
      UG_RETURN_IF_ERROR(want_value(v, id, 1, UG_KT_TILE, "a tile of offsets"));
      UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the result"));
      const ug_kir_type_t *mem = vtype(v, opnd(v, o, 0)->value);
      if (mem->t.dtype != rt->t.dtype) return shape_mismatch(v, id, "element types differ", rt, mem);
      for (uint32_t i = 1; i < o->num_operands; i++) {
        if (i == 2) UG_RETURN_IF_ERROR(want_value(v, id, 2, UG_KT_TILE, "a bool mask tile"));
        const ug_kir_type_t *t = vtype(v, opnd(v, o, i)->value);
        if (i == 1 && !ug_dtype_is_int(t->t.dtype)) return ERR("the offsets must be integers, not %s", ug_dtype_name(t->t.dtype));
        if (i == 2 && t->t.dtype != UG_DTYPE_BOOL) return ERR("the mask must be bool");
        int64_t n = 0;
        bool scalar_ok = t->t.rank == 0 && ug_type_static_numel(&rt->t, &n) && n == 1;
        if (!scalar_ok && !same_shape(&t->t, &rt->t) && !runs_shape(&t->t, &rt->t))
          return shape_mismatch(v, id, i == 1 ? "the offsets must have the tile's shape, or it with a last dim of 1 (runs; a scalar for one element)"
                                              : "the mask must have the tile's shape, or it with a last dim of 1 (runs; a scalar for one element)", t, rt);
      }
      return NULL;
    }
    case UG_KIR_ASYNC_GATHER: {
      uint32_t last = o->num_operands - 1;
      UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_GLOBAL, "a global buffer (the offsets are flat)"));
      UG_RETURN_IF_ERROR(want_value(v, id, 1, UG_KT_TILE, "a tile of offsets"));
      if (last == 3) UG_RETURN_IF_ERROR(want_value(v, id, 2, UG_KT_TILE, "a bool mask tile"));
      UG_RETURN_IF_ERROR(want_access(v, id, last, UG_KT_SHARED));
      const ug_kir_type_t *src = vtype(v, opnd(v, o, 0)->value), *dst = vtype(v, opnd(v, o, last)->value);
      if (src->t.dtype != dst->t.dtype) return shape_mismatch(v, id, "element types differ", dst, src);
      for (uint32_t i = 1; i < last; i++) {
        const ug_kir_type_t *t = vtype(v, opnd(v, o, i)->value);
        if (i == 1 && !ug_dtype_is_int(t->t.dtype)) return ERR("the offsets must be integers, not %s", ug_dtype_name(t->t.dtype));
        if (i == 2 && t->t.dtype != UG_DTYPE_BOOL) return ERR("the mask must be bool");
        if (!same_shape(&t->t, &dst->t) && !runs_shape(&t->t, &dst->t))
          return shape_mismatch(v, id, i == 1 ? "the offsets must have the stage's shape, or it with a last dim of 1 (runs)"
                                              : "the mask must have the stage's shape, or it with a last dim of 1 (runs)", t, dst);
      }
      if (o->num_results != 1 || (rt && rt->kind != UG_KT_TOKEN)) return ERR("async_gather yields a token");
      return NULL;
    }
    case UG_KIR_ASYNC_COPY: {
      UG_RETURN_IF_ERROR(want_access(v, id, 0, UG_KT_GLOBAL));
      UG_RETURN_IF_ERROR(want_access(v, id, 1, UG_KT_SHARED));
      const ug_kir_type_t *src = vtype(v, opnd(v, o, 0)->value), *dst = vtype(v, opnd(v, o, 1)->value);
      ug_kir_type_t tile = *dst;
      tile.kind = UG_KT_TILE;
      UG_RETURN_IF_ERROR(check_moved(v, id, src, &tile));
      bool mbar = o->num_operands == 3;
      if (mbar) UG_RETURN_IF_ERROR(want_access(v, id, 2, UG_KT_MBAR));
      if (o->num_results != (mbar ? 0u : 1u) || (rt && rt->kind != UG_KT_TOKEN))
        return ERR(mbar ? "a copy completing on an mbarrier has no token" : "a copy without an mbarrier yields a token");
      return NULL;
    }
    case UG_KIR_COMMIT:
    case UG_KIR_WAIT:
      for (uint32_t i = 0; i < o->num_operands; i++) UG_RETURN_IF_ERROR(want_value(v, id, i, UG_KT_TOKEN, "a token"));
      if (rt && rt->kind != UG_KT_TOKEN) return ERR("the result is a token");
      if (attr_int(v, o, UG_KATTR_PENDING, 0) < 0) return ERR("pending must be >= 0");
      return NULL;
    case UG_KIR_MBAR_INIT:
      UG_RETURN_IF_ERROR(want_value(v, id, 0, UG_KT_MBAR, "an mbarrier array (all stages are initialized)"));
      if (attr_int(v, o, UG_KIR_ATTR_COUNT, 1) < 1) return ERR("count must be >= 1");
      return NULL;
    case UG_KIR_MBAR_ARRIVE:
    case UG_KIR_MBAR_ARRIVE_TX:
      UG_RETURN_IF_ERROR(want_access(v, id, 0, UG_KT_MBAR));
      if (attr_int(v, o, UG_KIR_ATTR_COUNT, 1) < 1) return ERR("count must be >= 1");
      if (o->op == UG_KIR_MBAR_ARRIVE_TX && attr_int(v, o, UG_KATTR_BYTES, 0) < 1) return ERR("bytes must be >= 1");
      return NULL;
    case UG_KIR_MBAR_WAIT: {
      UG_RETURN_IF_ERROR(want_access(v, id, 0, UG_KT_MBAR));
      const ug_kir_operand_t *ph = opnd(v, o, 1);
      UG_RETURN_IF_ERROR(want_index(v, id, ph, "the phase parity"));
      if (ph->value == UG_NONE && ph->imm != 0 && ph->imm != 1) return ERR("the phase parity is 0 or 1");
      return NULL;
    }
    case UG_KIR_BARRIER: return NULL;
    case UG_KIR_EW: return check_ew(v, id);
    case UG_KIR_SPLAT: {
      UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the result"));
      double x = ug_kir_op_attr(k, o, UG_KATTR_VALUE)->f;
      if (!ug_dtype_is_float(rt->t.dtype) && x != (double)(int64_t)x)
        return ERR("%s cannot hold %g", ug_dtype_name(rt->t.dtype), x);
      if (rt->t.dtype == UG_DTYPE_BOOL && x != 0 && x != 1) return ERR("bool holds 0 or 1");
      return NULL;
    }
    case UG_KIR_IOTA: {
      UG_RETURN_IF_ERROR(want_tile(v, id, rt, "the result"));
      int64_t axis = attr_int(v, o, UG_KATTR_AXIS, 0);
      if (axis < 0 || axis >= rt->t.rank) return ERR("axis %lld out of range for rank %d", (long long)axis, rt->t.rank);
      if (!ug_dtype_is_int(rt->t.dtype)) return ERR("iota counts in an integer type");
      return NULL;
    }
    case UG_KIR_BROADCAST:
    case UG_KIR_RESHAPE: return check_shape_op(v, id);
    case UG_KIR_REDUCE: return check_reduce(v, id);
    case UG_KIR_MMA: return check_mma(v, id);
    case UG_KIR_OP_COUNT: break;
  }
  return ERR("bad op");
}

/* ---- regions and scopes ---- */

static ug_status_t verify_region(ug_kverifier_t *v, ug_kir_region_id_t r);

static ug_status_t check_uses(ug_kverifier_t *v, ug_kir_op_id_t id) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  if (o->operands + o->num_operands > k->operand_pool.len) return ERR("operands out of range");
  for (uint32_t i = 0; i < o->num_operands; i++) {
    const ug_kir_operand_t *a = opnd(v, o, i);
    if (a->access && a->value == UG_NONE) return ERR("operand %u accesses an immediate", i);
    UG_RETURN_IF_ERROR(use(v, id, a->value));
    if (!a->access) continue;
    if (a->idx + a->nidx > k->index_pool.len) return ERR("indices out of range");
    for (uint32_t j = 0; j < a->nidx; j++) {
      const ug_kir_operand_t *x = ug_kir_index(k, a, j);
      if (x->access) return ERR("an index is a memory access");
      UG_RETURN_IF_ERROR(use(v, id, x->value));
    }
  }
  return NULL;
}

/* The yield ending region r of op `owner` (UG_NONE: the kernel body). */
static ug_status_t check_terminator(ug_kverifier_t *v, ug_kir_region_id_t r) {
  ug_kir_kernel_t *k = v->k;
  const ug_kir_region_t *reg = ug_kir_region(k, r);
  const ug_kir_op_data_t *owner = reg->owner == UG_NONE ? NULL : ug_kir_op(k, reg->owner);
  bool yields = owner && (owner->op == UG_KIR_FOR || owner->op == UG_KIR_IF);
  for (size_t i = 0; i < reg->ops.len; i++) {
    ug_kir_op_id_t id = reg->ops.items[i];
    const ug_kir_op_data_t *o = ug_kir_op(k, id);
    if (o->op != UG_KIR_YIELD) continue;
    if (!yields) return ERR("yield outside a for or if region");
    if (i + 1 != reg->ops.len) return ERR("yield must end its region");
    if (o->num_operands != owner->num_results)
      return ERR("yields %u values for %u results", o->num_operands, owner->num_results);
    for (uint32_t j = 0; j < o->num_operands; j++) {
      const ug_kir_operand_t *a = opnd(v, o, j);
      if (a->access) return ERR("yields a memory access");
      ug_kir_type_t t = a->value == UG_NONE ? ug_kir_type_index() : *vtype(v, a->value);
      const ug_kir_type_t *want = vtype(v, ug_kir_result(k, owner, j));
      if (!ug_kir_type_equal(&t, want)) return shape_mismatch(v, id, "a yielded value differs from the result", &t, want);
    }
  }
  if (yields && owner->num_results &&
      (!reg->ops.len || ug_kir_op(k, reg->ops.items[reg->ops.len - 1])->op != UG_KIR_YIELD)) {
    ug_kir_op_id_t id = reg->owner;
    return ERR("a region of an op with results must end with yield");
  }
  return NULL;
}

/* Sibling roles of one region must not share warps. */
static ug_status_t check_role_overlap(ug_kverifier_t *v, const ug_kir_region_t *reg, size_t i) {
  ug_kir_op_id_t id = reg->ops.items[i];
  const ug_kir_op_data_t *o = ug_kir_op(v->k, id);
  for (size_t j = 0; j < i; j++) {
    const ug_kir_op_data_t *p = ug_kir_op(v->k, reg->ops.items[j]);
    if (p->op == UG_KIR_ROLE && o->warp_lo < p->warp_hi && p->warp_lo < o->warp_hi)
      return ERR("warps(%u, %u) overlap a sibling role's warps(%u, %u)", o->warp_lo, o->warp_hi, p->warp_lo, p->warp_hi);
  }
  return NULL;
}

static ug_status_t verify_op(ug_kverifier_t *v, const ug_kir_region_t *reg, size_t i, ug_kir_region_id_t r) {
  ug_kir_kernel_t *k = v->k;
  ug_kir_op_id_t id = reg->ops.items[i];
  if (id >= k->ops.len) return ug_status_make(UG_ERR_INVALID, k->name, "region %u lists a missing op", r);
  if (v->seen[id]) return ERR("appears twice in the kernel");
  v->seen[id] = 1;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  if ((unsigned)o->op >= UG_KIR_OP_COUNT) return ug_status_make(UG_ERR_INVALID, k->name, "op %u has a bad op", id);
  if (o->parent != r) return ERR("is listed in a region that is not its parent");
  if (o->results + o->num_results > k->value_pool.len || o->attrs + o->num_attrs > k->attr_pool.len ||
      o->regions + o->num_regions > k->regions.len)
    return ERR("malformed op");
  for (uint32_t j = 0; j < o->num_results; j++) {
    ug_kir_value_id_t x = ug_kir_result(k, o, j);
    if (x >= k->values.len || k->values.items[x].def_kind != UG_KV_RESULT || k->values.items[x].def != id ||
        k->values.items[x].index != j)
      return ERR("result %u does not point back at its op", j);
  }
  UG_RETURN_IF_ERROR(check_uses(v, id));
  UG_RETURN_IF_ERROR(check_op(v, id));
  if (o->op == UG_KIR_ROLE) UG_RETURN_IF_ERROR(check_role_overlap(v, reg, i));
  for (uint32_t j = 0; j < o->num_regions; j++) {
    ug_kir_region_id_t sub = o->regions + j;
    if (ug_kir_region(k, sub)->owner != id) return ERR("region %u does not point back at its op", j);
    v->roles += o->op == UG_KIR_ROLE;
    ug_status_t st = verify_region(v, sub);
    v->roles -= o->op == UG_KIR_ROLE;
    UG_RETURN_IF_ERROR(st);
  }
  for (uint32_t j = 0; j < o->num_results; j++) make_visible(v, ug_kir_result(k, o, j));
  return NULL;
}

static ug_status_t verify_region(ug_kverifier_t *v, ug_kir_region_id_t r) {
  ug_kir_kernel_t *k = v->k;
  if (++v->depth > UG_KVERIFY_MAX_DEPTH) return ug_status_make(UG_ERR_INVALID, k->name, "regions nested too deeply");
  const ug_kir_region_t *reg = ug_kir_region(k, r);
  size_t mark = v->scope.len;
  if (reg->args + reg->num_args > k->value_pool.len)
    return ug_status_make(UG_ERR_INVALID, k->name, "region %u has bad arguments", r);
  for (uint32_t i = 0; i < reg->num_args; i++) {
    ug_kir_value_id_t x = ug_kir_region_arg(k, reg, i);
    if (x >= k->values.len || k->values.items[x].def_kind != UG_KV_ARG || k->values.items[x].def != r)
      return ug_status_make(UG_ERR_INVALID, k->name, "argument %u of region %u does not point back at it", i, r);
    make_visible(v, x);
  }
  for (size_t i = 0; i < reg->ops.len; i++) UG_RETURN_IF_ERROR(verify_op(v, reg, i, r));
  UG_RETURN_IF_ERROR(check_terminator(v, r));
  /* leaving the region: what it defined goes out of scope */
  for (size_t i = mark; i < v->scope.len; i++) v->visible[v->scope.items[i]] = 0;
  v->scope.len = mark;
  v->depth--;
  return NULL;
}

static ug_status_t verify_signature(ug_kir_kernel_t *k) {
  const char *n = k->name;
  if (k->grid_rank < 1 || k->grid_rank > UG_KIR_MAX_GRID)
    return ug_status_make(UG_ERR_INVALID, n, "kernel @%s: a grid has 1 to 3 dimensions", n);
  if (k->warps < 1 || k->warps > 32)
    return ug_status_make(UG_ERR_INVALID, n, "kernel @%s: a block has 1 to 32 warps, not %u", n, k->warps);
  if (k->cluster > 1 && UG_DIM_IS_STATIC(k->grid[0]) && k->grid[0] % k->cluster != 0)
    return ug_status_make(UG_ERR_INVALID, n, "kernel @%s: grid axis 0 (%lld) is not a multiple of cluster(%u)", n,
                          (long long)k->grid[0], k->cluster);
  if (!k->regions.len || k->body != 0 || k->regions.items[0].owner != UG_NONE || k->regions.items[0].num_args)
    return ug_status_make(UG_ERR_INVALID, n, "kernel @%s: malformed body", n);
  for (size_t i = 0; i < k->params.len; i++) {
    ug_kir_value_id_t x = k->params.items[i];
    if (x >= k->values.len || k->values.items[x].def_kind != UG_KV_PARAM)
      return ug_status_make(UG_ERR_INVALID, n, "kernel @%s: parameter %zu is not a parameter value", n, i);
    const ug_kir_type_t *t = &k->values.items[x].type;
    if (!(t->kind == UG_KT_GLOBAL || t->kind == UG_KT_INDEX || (t->kind == UG_KT_TILE && t->t.rank == 0)))
      return ug_status_make(UG_ERR_INVALID, n,
                            "kernel @%s: parameter %zu must be a global buffer, an index or a scalar", n, i);
  }
  return NULL;
}

ug_status_t ug_kir_verify_kernel(ug_kir_kernel_t *k) {
  UG_RETURN_IF_ERROR(verify_signature(k));
  ug_kverifier_t v = {.k = k};
  v.arena = ug_arena_create();
  v.visible = ug_arena_alloc(v.arena, k->values.len + 1);
  v.seen = ug_arena_alloc(v.arena, k->ops.len + 1);
  for (size_t i = 0; i < k->params.len; i++) v.visible[k->params.items[i]] = 1;
  ug_status_t st = verify_region(&v, k->body);
  ug_arena_destroy(v.arena);
  return st;
}

ug_status_t ug_kir_verify_module(ug_kir_module_t *m) {
  for (size_t i = 0; i < m->kernels.len; i++) {
    for (size_t j = 0; j < i; j++)
      if (strcmp(m->kernels.items[i]->name, m->kernels.items[j]->name) == 0)
        return ug_status_make(UG_ERR_INVALID, m->kernels.items[i]->name, "two kernels share this name");
    UG_RETURN_IF_ERROR(ug_kir_verify_kernel(m->kernels.items[i]));
  }
  return NULL;
}
