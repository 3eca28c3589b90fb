/* Indexed data movement: gather, gather_elements, gather_nd, scatter_elements,
 * scatter_nd, and resize (an interpolating gather).  Indices may be i32 or
 * i64; negative ones wrap once as in ONNX.  Scatters copy the data first and
 * then apply the updates in index order, so repeated indices behave like the
 * ONNX reference (last write wins, or the reduction accumulates).
 * scatter_nd skips the copy when its result is its data's buffer (an
 * in-place update of a session state such as a KV cache).  gather of a
 * block-quantized table copies whole slices (rows) as bytes. */
#include <math.h>
#include <string.h>

#include "codegen/llvm/lower.h"

static int norm_axis(int64_t a, int rank) { return (int)(a < 0 ? a + rank : a); }

/* Loads an index as i64 and wraps a negative value by adding dim. */
static LLVMValueRef load_index(ug_cg_t *cg, const ug_cg_tensor_t *t, LLVMValueRef off, LLVMValueRef dim) {
  LLVMValueRef v = ug_cg_convert(cg, ug_cg_load(cg, t->ptr, t->dtype, off), t->dtype, UG_DTYPE_I64);
  LLVMValueRef neg = LLVMBuildICmp(cg->b, LLVMIntSLT, v, ug_cg_i64(cg, 0), "");
  v = LLVMBuildSelect(cg->b, neg, LLVMBuildAdd(cg->b, v, dim, ""), v, "");
  /* out-of-range indices are a model error; clamp instead of reading wild memory */
  LLVMValueRef hi = LLVMBuildSub(cg->b, dim, ug_cg_i64(cg, 1), "");
  return ug_cg_imax(cg, ug_cg_i64(cg, 0), ug_cg_imin(cg, v, hi));
}

/* gather from a block-quantized table along an axis before the last: the
 * slices after the axis are whole rows of whole blocks, copied as bytes
 * (an embedding lookup keeps its quantized dtype). */
static ug_status_t gather_quant(ug_cg_t *cg, ug_cg_kernel_t *k, int axis) {
  const ug_cg_tensor_t *x = &k->in[0], *ind = &k->in[1], *o = &k->out[0];
  ug_dtype_t dt = x->dtype;
  int64_t be = ug_dtype_block_elems(dt), bb = ug_dtype_block_bytes(dt);
  ug_dim_t last = x->sdims[x->rank - 1];
  if (axis >= x->rank - 1)
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED,
                         "gather from the block-quantized %s table along axis %d: only whole rows (an axis "
                         "before the last) can be gathered on the cpu",
                         ug_dtype_name(dt), axis);
  if (!UG_DIM_IS_STATIC(last) || last % be != 0)
    return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "a %s table needs rows of a static whole number of blocks",
                         ug_dtype_name(dt));
  LLVMBuilderRef b = cg->b;
  LLVMValueRef slice = ug_cg_imul(cg, ug_cg_dims_product(cg, x, axis + 1, x->rank - 1), ug_cg_i64(cg, last / be * bb));
  LLVMValueRef outer = ug_cg_dims_product(cg, x, 0, axis);
  ug_cg_loop_t lo, li;
  LLVMValueRef oi = ug_cg_loop_begin(cg, &lo, ug_cg_i64(cg, 0), outer, NULL);
  LLVMValueRef i = ug_cg_loop_begin(cg, &li, ug_cg_i64(cg, 0), ind->numel, NULL);
  LLVMValueRef row = load_index(cg, ind, i, x->dims[axis]);
  LLVMValueRef src = ug_cg_imul(cg, ug_cg_iadd(cg, ug_cg_imul(cg, oi, x->dims[axis]), row), slice);
  LLVMValueRef dst = ug_cg_imul(cg, ug_cg_iadd(cg, ug_cg_imul(cg, oi, ind->numel), i), slice);
  LLVMBuildMemCpy(b, ug_cg_elem_ptr(cg, o->ptr, UG_DTYPE_U8, dst), 1, ug_cg_elem_ptr(cg, x->ptr, UG_DTYPE_U8, src), 1,
                  slice);
  ug_cg_loop_end(cg, &li);
  ug_cg_loop_end(cg, &lo);
  return NULL;
}

static ug_status_t gather(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *ind = &k->in[1], *o = &k->out[0];
  int axis = norm_axis(ug_node_attr_int(k->g, k->n, UG_ATTR_AXIS, 0), x->rank);
  if (axis < 0 || axis >= x->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad gather axis");
  if (ug_dtype_is_quant(x->dtype)) return gather_quant(cg, k, axis);
  int ir = ind->rank;
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, o->rank, o->dims);
  LLVMValueRef ioff = ug_cg_offset(cg, ir, n.idx + axis, ind->strides);
  LLVMValueRef src[UG_MAX_RANK];
  for (int a = 0; a < x->rank; a++) {
    if (a < axis) src[a] = n.idx[a];
    else if (a == axis) src[a] = load_index(cg, ind, ioff, x->dims[axis]);
    else src[a] = n.idx[a - 1 + ir];
  }
  LLVMValueRef v = ug_cg_load(cg, x->ptr, x->dtype, ug_cg_offset(cg, x->rank, src, x->strides));
  ug_cg_store(cg, o->ptr, o->dtype, ug_cg_offset(cg, o->rank, n.idx, o->strides), v);
  ug_cg_nest_end(cg, &n);
  return NULL;
}

static ug_status_t gather_elements(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *ind = &k->in[1], *o = &k->out[0];
  int axis = norm_axis(ug_node_attr_int(k->g, k->n, UG_ATTR_AXIS, 0), x->rank);
  if (axis < 0 || axis >= x->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad axis");
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, o->rank, o->dims);
  LLVMValueRef src[UG_MAX_RANK];
  for (int a = 0; a < x->rank; a++) src[a] = n.idx[a];
  src[axis] = load_index(cg, ind, ug_cg_offset(cg, ind->rank, n.idx, ind->strides), x->dims[axis]);
  LLVMValueRef v = ug_cg_load(cg, x->ptr, x->dtype, ug_cg_offset(cg, x->rank, src, x->strides));
  ug_cg_store(cg, o->ptr, o->dtype, ug_cg_offset(cg, o->rank, n.idx, o->strides), v);
  ug_cg_nest_end(cg, &n);
  return NULL;
}

static ug_status_t gather_nd(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *ind = &k->in[1], *o = &k->out[0];
  int bd = (int)ug_node_attr_int(k->g, k->n, UG_ATTR_BATCH_DIMS, 0);
  if (!UG_DIM_IS_STATIC(ind->sdims[ind->rank - 1]))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "gather_nd needs a static index depth");
  int q = ind->rank, kk = (int)ind->sdims[q - 1];
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, o->rank, o->dims);
  /* out idx = [batch (bd), index positions (q-1-bd), slice (x->rank - bd - kk)] */
  LLVMValueRef ibase = ug_cg_offset(cg, q - 1, n.idx, ind->strides);
  LLVMValueRef src[UG_MAX_RANK];
  for (int a = 0; a < bd; a++) src[a] = n.idx[a];
  for (int j = 0; j < kk; j++)
    src[bd + j] = load_index(cg, ind, ug_cg_iadd(cg, ibase, ug_cg_i64(cg, j)), x->dims[bd + j]);
  for (int a = bd + kk; a < x->rank; a++) src[a] = n.idx[(q - 1) + (a - bd - kk)];
  LLVMValueRef v = ug_cg_load(cg, x->ptr, x->dtype, ug_cg_offset(cg, x->rank, src, x->strides));
  ug_cg_store(cg, o->ptr, o->dtype, ug_cg_offset(cg, o->rank, n.idx, o->strides), v);
  ug_cg_nest_end(cg, &n);
  return NULL;
}

static LLVMValueRef reduce_with(ug_cg_t *cg, const char *red, ug_dtype_t dt, LLVMValueRef old, LLVMValueRef v) {
  if (!red || strcmp(red, "none") == 0) return v;
  if (strcmp(red, "add") == 0) return ug_cg_add(cg, dt, old, v);
  if (strcmp(red, "mul") == 0) return ug_cg_mul(cg, dt, old, v);
  if (strcmp(red, "max") == 0) return ug_cg_max(cg, dt, old, v);
  if (strcmp(red, "min") == 0) return ug_cg_min(cg, dt, old, v);
  return v;
}

static void copy_data(ug_cg_t *cg, const ug_cg_tensor_t *x, const ug_cg_tensor_t *o) {
  LLVMValueRef n = ug_cg_imul(cg, o->numel, ug_cg_i64(cg, ug_dtype_bits(o->dtype) / 8));
  ug_cg_memcpy(cg, o->ptr, x->ptr, n);
}

static ug_status_t scatter_elements(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *ind = &k->in[1], *upd = &k->in[2], *o = &k->out[0];
  int axis = norm_axis(ug_node_attr_int(k->g, k->n, UG_ATTR_AXIS, 0), x->rank);
  const char *red = ug_node_attr_str(k->g, k->n, UG_ATTR_REDUCTION, "none");
  if (axis < 0 || axis >= x->rank) return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad axis");
  copy_data(cg, x, o);
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, ind->rank, ind->dims);
  LLVMValueRef dst[UG_MAX_RANK];
  for (int a = 0; a < x->rank; a++) dst[a] = n.idx[a];
  dst[axis] = load_index(cg, ind, ug_cg_offset(cg, ind->rank, n.idx, ind->strides), x->dims[axis]);
  LLVMValueRef doff = ug_cg_offset(cg, o->rank, dst, o->strides);
  LLVMValueRef v = ug_cg_load(cg, upd->ptr, upd->dtype, ug_cg_offset(cg, upd->rank, n.idx, upd->strides));
  LLVMValueRef old = ug_cg_load(cg, o->ptr, o->dtype, doff);
  ug_cg_store(cg, o->ptr, o->dtype, doff, reduce_with(cg, red, o->dtype, old, v));
  ug_cg_nest_end(cg, &n);
  return NULL;
}

static ug_status_t scatter_nd(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *ind = &k->in[1], *upd = &k->in[2], *o = &k->out[0];
  const char *red = ug_node_attr_str(k->g, k->n, UG_ATTR_REDUCTION, "none");
  if (!UG_DIM_IS_STATIC(ind->sdims[ind->rank - 1]))
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "scatter_nd needs a static index depth");
  int q = ind->rank, kk = (int)ind->sdims[q - 1];
  /* in place (the planner gave the result the data's buffer, lower.c keeps
   * the two args without noalias): only the updated slices are written */
  ug_cg_if_t f;
  ug_cg_if_begin(cg, &f, LLVMBuildICmp(cg->b, LLVMIntNE, o->ptr, x->ptr, ""), false);
  copy_data(cg, x, o);
  ug_cg_if_end(cg, &f);
  LLVMValueRef slice = ug_cg_dims_product(cg, x, kk, x->rank);
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, q - 1, ind->dims);
  LLVMValueRef ibase = ug_cg_offset(cg, q - 1, n.idx, ind->strides);
  LLVMValueRef dbase = ug_cg_i64(cg, 0);
  for (int j = 0; j < kk; j++) {
    LLVMValueRef iv = load_index(cg, ind, ug_cg_iadd(cg, ibase, ug_cg_i64(cg, j)), x->dims[j]);
    dbase = ug_cg_iadd(cg, dbase, ug_cg_imul(cg, iv, x->strides[j]));
  }
  /* updates are laid out as [index positions..., slice...] */
  LLVMValueRef pos = ug_cg_i64(cg, 0);
  for (int a = 0; a < q - 1; a++) pos = ug_cg_iadd(cg, ug_cg_imul(cg, pos, ind->dims[a]), n.idx[a]);
  LLVMValueRef ubase = ug_cg_imul(cg, pos, slice);
  ug_cg_loop_t l;
  LLVMValueRef j = ug_cg_loop_begin(cg, &l, ug_cg_i64(cg, 0), slice, NULL);
  LLVMValueRef doff = ug_cg_iadd(cg, dbase, j);
  LLVMValueRef v = ug_cg_load(cg, upd->ptr, upd->dtype, ug_cg_iadd(cg, ubase, j));
  LLVMValueRef old = ug_cg_load(cg, o->ptr, o->dtype, doff);
  ug_cg_store(cg, o->ptr, o->dtype, doff, reduce_with(cg, red, o->dtype, old, v));
  ug_cg_loop_end(cg, &l);
  ug_cg_nest_end(cg, &n);
  return NULL;
}

/* ---- resize ---- */

typedef struct {
  const char *coord, *nearest;
  double cubic_a;
  bool exclude_outside;
} resize_attrs_t;

/* The source coordinate of output index x along one axis (f64). */
static LLVMValueRef src_coord(ug_cg_t *cg, const resize_attrs_t *ra, LLVMValueRef x, LLVMValueRef in_len,
                              LLVMValueRef out_len) {
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef d = cg->t_f64;
  LLVMValueRef xf = LLVMBuildSIToFP(b, x, d, ""), inf = LLVMBuildSIToFP(b, in_len, d, ""),
               outf = LLVMBuildSIToFP(b, out_len, d, "");
  LLVMValueRef scale = LLVMBuildFDiv(b, outf, inf, "");
  LLVMValueRef half = LLVMConstReal(d, 0.5), one = LLVMConstReal(d, 1);
  LLVMValueRef hp = LLVMBuildFSub(b, LLVMBuildFDiv(b, LLVMBuildFAdd(b, xf, half, ""), scale, ""), half, "");
  if (strcmp(ra->coord, "asymmetric") == 0) return LLVMBuildFDiv(b, xf, scale, "");
  if (strcmp(ra->coord, "align_corners") == 0) {
    LLVMValueRef den = LLVMBuildFSub(b, outf, one, "");
    LLVMValueRef r = LLVMBuildFDiv(b, LLVMBuildFMul(b, xf, LLVMBuildFSub(b, inf, one, ""), ""), den, "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, outf, one, ""), LLVMConstReal(d, 0), r, "");
  }
  if (strcmp(ra->coord, "pytorch_half_pixel") == 0)
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, outf, one, ""), LLVMConstReal(d, -0.5), hp, "");
  if (strcmp(ra->coord, "tf_half_pixel_for_nn") == 0)
    return LLVMBuildFDiv(b, LLVMBuildFAdd(b, xf, half, ""), scale, "");
  if (strcmp(ra->coord, "half_pixel_symmetric") == 0) {
    LLVMValueRef adj = LLVMBuildFDiv(b, outf, LLVMBuildFMul(b, scale, inf, ""), "");
    LLVMValueRef center = LLVMBuildFMul(b, inf, half, "");
    LLVMValueRef off = LLVMBuildFMul(b, center, LLVMBuildFSub(b, one, adj, ""), "");
    return LLVMBuildFAdd(b, off, hp, "");
  }
  return hp; /* half_pixel */
}

static LLVMValueRef clampi(ug_cg_t *cg, LLVMValueRef i, LLVMValueRef len) {
  return ug_cg_imax(cg, ug_cg_i64(cg, 0), ug_cg_imin(cg, i, LLVMBuildSub(cg->b, len, ug_cg_i64(cg, 1), "")));
}

static LLVMValueRef dconst(ug_cg_t *cg, double v) { return LLVMConstReal(cg->t_f64, v); }

/* Cubic convolution weight of tap t (0..3) at fraction r. */
static LLVMValueRef cubic_w(ug_cg_t *cg, double A, int t, LLVMValueRef r) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef one = dconst(cg, 1);
  /* distance from the tap: t=0: r+1, t=1: r, t=2: 1-r, t=3: 2-r */
  LLVMValueRef s = t == 0 ? LLVMBuildFAdd(b, r, one, "") : t == 1 ? r
                   : t == 2 ? LLVMBuildFSub(b, one, r, "") : LLVMBuildFSub(b, dconst(cg, 2), r, "");
  if (t == 1 || t == 2) {
    /* ((A+2)s - (A+3)) s^2 + 1 */
    LLVMValueRef p = LLVMBuildFSub(b, LLVMBuildFMul(b, dconst(cg, A + 2), s, ""), dconst(cg, A + 3), "");
    return LLVMBuildFAdd(b, LLVMBuildFMul(b, p, LLVMBuildFMul(b, s, s, ""), ""), one, "");
  }
  /* ((A s - 5A) s + 8A) s - 4A */
  LLVMValueRef p = LLVMBuildFSub(b, LLVMBuildFMul(b, dconst(cg, A), s, ""), dconst(cg, 5 * A), "");
  p = LLVMBuildFAdd(b, LLVMBuildFMul(b, p, s, ""), dconst(cg, 8 * A), "");
  return LLVMBuildFSub(b, LLVMBuildFMul(b, p, s, ""), dconst(cg, 4 * A), "");
}

static ug_status_t resize(ug_cg_t *cg, ug_cg_kernel_t *k) {
  const ug_cg_tensor_t *x = &k->in[0], *o = &k->out[0];
  resize_attrs_t ra = {
      .coord = ug_node_attr_str(k->g, k->n, UG_ATTR_COORD_MODE, "half_pixel"),
      .nearest = ug_node_attr_str(k->g, k->n, UG_ATTR_NEAREST_MODE, "round_prefer_floor"),
      .cubic_a = ug_node_attr_float(k->g, k->n, UG_ATTR_CUBIC_COEFF_A, -0.75),
      .exclude_outside = ug_node_attr_int(k->g, k->n, UG_ATTR_EXCLUDE_OUTSIDE, 0) != 0,
  };
  const char *mode = ug_node_attr_str(k->g, k->n, UG_ATTR_MODE, "nearest");
  if (strcmp(ra.coord, "tf_crop_and_resize") == 0)
    return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "resize with tf_crop_and_resize is not supported");
  int taps = strcmp(mode, "nearest") == 0 ? 1 : strcmp(mode, "linear") == 0 ? 2 : strcmp(mode, "cubic") == 0 ? 4 : 0;
  if (!taps) return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "resize mode %s", mode);
  int r = o->rank;
  /* axes that change size interpolate; the others copy */
  int axes[UG_MAX_RANK], na = 0;
  for (int a = 0; a < r; a++)
    if (x->sdims[a] != o->sdims[a]) axes[na++] = a;
  if (taps > 1 && na > 4) return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "resize over more than 4 axes");
  LLVMBuilderRef b = cg->b;
  ug_cg_nest_t n;
  ug_cg_nest_begin(cg, &n, r, o->dims);
  LLVMValueRef base[UG_MAX_RANK], w[UG_MAX_RANK][4], wsum[UG_MAX_RANK];
  LLVMValueRef idx[UG_MAX_RANK][4];
  for (int a = 0; a < r; a++) base[a] = n.idx[a];
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    LLVMValueRef c = src_coord(cg, &ra, n.idx[a], x->dims[a], o->dims[a]);
    LLVMValueRef fl = ug_cg_intrinsic(cg, "llvm.floor", &c, 1);
    LLVMValueRef fr = LLVMBuildFSub(b, c, fl, "");
    LLVMValueRef fi = LLVMBuildFPToSI(b, fl, cg->t_i64, "");
    if (taps == 1) {
      LLVMValueRef bump;
      const char *nm = ra.nearest;
      if (strcmp(nm, "floor") == 0) bump = LLVMConstInt(cg->t_i1, 0, 0);
      else if (strcmp(nm, "ceil") == 0) bump = LLVMBuildFCmp(b, LLVMRealOGT, fr, dconst(cg, 0), "");
      else if (strcmp(nm, "round_prefer_ceil") == 0) bump = LLVMBuildFCmp(b, LLVMRealOGE, fr, dconst(cg, 0.5), "");
      else bump = LLVMBuildFCmp(b, LLVMRealOGT, fr, dconst(cg, 0.5), "");
      idx[a][0] = clampi(cg, LLVMBuildAdd(b, fi, LLVMBuildZExt(b, bump, cg->t_i64, ""), ""), x->dims[a]);
      continue;
    }
    wsum[a] = dconst(cg, 0);
    for (int t = 0; t < taps; t++) {
      LLVMValueRef raw = LLVMBuildAdd(b, fi, ug_cg_i64(cg, taps == 2 ? t : t - 1), "");
      idx[a][t] = clampi(cg, raw, x->dims[a]);
      w[a][t] = taps == 2 ? (t == 0 ? LLVMBuildFSub(b, dconst(cg, 1), fr, "") : fr) : cubic_w(cg, ra.cubic_a, t, fr);
      if (ra.exclude_outside) {
        LLVMValueRef in = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, raw, ug_cg_i64(cg, 0), ""),
                                       LLVMBuildICmp(b, LLVMIntSLT, raw, x->dims[a], ""), "");
        w[a][t] = LLVMBuildSelect(b, in, w[a][t], dconst(cg, 0), "");
      }
      wsum[a] = LLVMBuildFAdd(b, wsum[a], w[a][t], "");
    }
  }
  LLVMValueRef ooff = ug_cg_offset(cg, r, n.idx, o->strides);
  if (taps == 1) {
    LLVMValueRef src[UG_MAX_RANK];
    for (int a = 0; a < r; a++) src[a] = base[a];
    for (int i = 0; i < na; i++) src[axes[i]] = idx[axes[i]][0];
    ug_cg_store(cg, o->ptr, o->dtype, ooff, ug_cg_load(cg, x->ptr, x->dtype, ug_cg_offset(cg, r, src, x->strides)));
  } else {
    LLVMValueRef acc = dconst(cg, 0);
    int total = 1;
    for (int i = 0; i < na; i++) total *= taps;
    for (int c = 0; c < total; c++) {
      LLVMValueRef src[UG_MAX_RANK], wt = dconst(cg, 1);
      for (int a = 0; a < r; a++) src[a] = base[a];
      int cc = c;
      for (int i = 0; i < na; i++) {
        int t = cc % taps, a = axes[i];
        cc /= taps;
        src[a] = idx[a][t];
        LLVMValueRef wn = w[a][t];
        if (ra.exclude_outside) wn = LLVMBuildFDiv(b, wn, wsum[a], "");
        wt = LLVMBuildFMul(b, wt, wn, "");
      }
      LLVMValueRef v = ug_cg_convert(cg, ug_cg_load(cg, x->ptr, x->dtype, ug_cg_offset(cg, r, src, x->strides)),
                                     x->dtype, UG_DTYPE_F64);
      acc = LLVMBuildFAdd(b, acc, LLVMBuildFMul(b, wt, v, ""), "");
    }
    ug_cg_store(cg, o->ptr, o->dtype, ooff, ug_cg_convert(cg, acc, UG_DTYPE_F64, o->dtype));
  }
  ug_cg_nest_end(cg, &n);
  return NULL;
}

ug_status_t ug_cg_lower_gather(ug_cg_t *cg, ug_cg_kernel_t *k) {
  switch (k->n->op) {
  case UG_OP_GATHER: return gather(cg, k);
  case UG_OP_GATHER_ELEMENTS: return gather_elements(cg, k);
  case UG_OP_GATHER_ND: return gather_nd(cg, k);
  case UG_OP_SCATTER_ELEMENTS: return scatter_elements(cg, k);
  case UG_OP_SCATTER_ND: return scatter_nd(cg, k);
  case UG_OP_RESIZE: return resize(cg, k);
  default: return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "no cpu lowering for this op");
  }
}
