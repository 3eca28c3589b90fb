/* Neural-network operators: convolution, pooling, normalization, Gemm,
 * resize and the channel/space shuffles. */
#include <math.h>
#include <string.h>

#include "frontend/onnx/internal.h"

/* ---- windows: kernel, strides, dilations, pads (auto_pad resolved) ---- */

typedef struct {
  int ns; /* spatial dims */
  int64_t k[UG_MAX_RANK], s[UG_MAX_RANK], d[UG_MAX_RANK], pads[2 * UG_MAX_RANK];
} window_t;

/* Sizes above this in kernels, strides and dilations are rejected, so that
 * window arithmetic on dims up to 2^40 cannot overflow. */
#define MAX_WINDOW ((int64_t)1 << 20)

static ug_status_t read_list(ox_ctx_t *c, ox_node_t *n, const char *name, int ns, int64_t dflt,
                             int64_t *out, int mult) {
  const int64_t *v;
  uint32_t cnt;
  if (!ox_attr_ints(n, name, &v, &cnt)) {
    for (int i = 0; i < ns * mult; i++) out[i] = dflt;
    return NULL;
  }
  if (cnt != (uint32_t)(ns * mult))
    return OX_INVALID(c, n, "%s has %u values, expected %d", name, cnt, ns * mult);
  for (int i = 0; i < ns * mult; i++) {
    if (v[i] < 0 || v[i] > MAX_WINDOW)
      return OX_UNSUP(c, n, "%s value %lld is out of range", name, (long long)v[i]);
    out[i] = v[i];
  }
  return NULL;
}

/* Reads a window; `kernel` is from the weight (conv) or NULL (pooling: the
 * kernel_shape attribute).  Resolves SAME_UPPER/SAME_LOWER/VALID against the
 * input's spatial sizes. */
static ug_status_t read_window(ox_ctx_t *c, ox_node_t *n, const ug_type_t *x,
                               const ug_dim_t *kernel, window_t *w) {
  if (x->rank < 3) return OX_INVALID(c, n, "input must have rank >= 3, it has %d", x->rank);
  w->ns = x->rank - 2;
  int ns = w->ns;
  const int64_t *kv;
  uint32_t kc;
  if (ox_attr_ints(n, "kernel_shape", &kv, &kc)) {
    if (kc != (uint32_t)ns)
      return OX_INVALID(c, n, "kernel_shape has %u values, expected %d", kc, ns);
    for (int i = 0; i < ns; i++) w->k[i] = kv[i];
  } else if (kernel) {
    for (int i = 0; i < ns; i++) {
      if (!UG_DIM_IS_STATIC(kernel[i])) return OX_UNSUP(c, n, "the kernel size must be static");
      w->k[i] = kernel[i];
    }
  } else {
    return OX_INVALID(c, n, "kernel_shape is required");
  }
  for (int i = 0; i < ns; i++)
    if (w->k[i] <= 0 || w->k[i] > MAX_WINDOW)
      return OX_INVALID(c, n, "kernel size %lld is out of range", (long long)w->k[i]);
  UG_RETURN_IF_ERROR(read_list(c, n, "strides", ns, 1, w->s, 1));
  UG_RETURN_IF_ERROR(read_list(c, n, "dilations", ns, 1, w->d, 1));
  UG_RETURN_IF_ERROR(read_list(c, n, "pads", ns, 0, w->pads, 2));
  for (int i = 0; i < ns; i++)
    if (w->s[i] <= 0 || w->d[i] <= 0)
      return OX_INVALID(c, n, "strides and dilations must be positive");
  const char *ap = ox_attr_str(c, n, "auto_pad", "NOTSET");
  if (strcmp(ap, "NOTSET") == 0) return NULL;
  if (strcmp(ap, "VALID") == 0) {
    for (int i = 0; i < 2 * ns; i++) w->pads[i] = 0;
    return NULL;
  }
  bool upper = strcmp(ap, "SAME_UPPER") == 0;
  if (!upper && strcmp(ap, "SAME_LOWER") != 0) return OX_INVALID(c, n, "unknown auto_pad '%s'", ap);
  for (int i = 0; i < ns; i++) {
    ug_dim_t in = x->dims[2 + i];
    int64_t ext = (w->k[i] - 1) * w->d[i] + 1, total;
    if (UG_DIM_IS_STATIC(in)) {
      int64_t out = (in + w->s[i] - 1) / w->s[i];
      total = (out - 1) * w->s[i] + ext - in;
      if (total < 0) total = 0;
    } else if (w->s[i] == 1) {
      total = ext - 1;
    } else {
      return OX_UNSUP(c, n, "auto_pad %s with stride %lld needs a static input size", ap,
                      (long long)w->s[i]);
    }
    w->pads[i] = upper ? total / 2 : total - total / 2;
    w->pads[ns + i] = total - w->pads[i];
  }
  return NULL;
}

static ug_status_t h_conv(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t ops[3] = {UG_NONE, UG_NONE, UG_NONE}, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &ops[0]));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &ops[1]));
  uint32_t nops = 2;
  if (ox_has_in(n, 2)) {
    UG_RETURN_IF_ERROR(ox_in(c, n, 2, &ops[2]));
    nops = 3;
  }
  const ug_type_t *tx = ox_type(c, ops[0]), *tw = ox_type(c, ops[1]);
  if (tw->rank != tx->rank)
    return OX_INVALID(c, n, "weight rank %d does not match input rank %d", tw->rank, tx->rank);
  window_t w;
  UG_RETURN_IF_ERROR(read_window(c, n, tx, tw->dims + 2, &w));
  for (int i = 0; i < w.ns; i++)
    if (UG_DIM_IS_STATIC(tw->dims[2 + i]) && tw->dims[2 + i] != w.k[i])
      return OX_INVALID(c, n, "kernel_shape does not match the weight");
  ug_attr_t at[4] = {ug_attr_ints(UG_ATTR_STRIDES, w.s, (uint32_t)w.ns),
                     ug_attr_ints(UG_ATTR_PADS, w.pads, (uint32_t)(2 * w.ns)),
                     ug_attr_ints(UG_ATTR_DILATIONS, w.d, (uint32_t)w.ns),
                     ug_attr_int(UG_ATTR_GROUP, ox_attr_int(n, "group", 1))};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_CONV, ops, nops, at, 4, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_conv_transpose(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t ops[3] = {UG_NONE, UG_NONE, UG_NONE}, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &ops[0]));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &ops[1]));
  uint32_t nops = 2;
  if (ox_has_in(n, 2)) {
    UG_RETURN_IF_ERROR(ox_in(c, n, 2, &ops[2]));
    nops = 3;
  }
  const ug_type_t tx = *ox_type(c, ops[0]), *tw = ox_type(c, ops[1]);
  if (tw->rank != tx.rank) return OX_INVALID(c, n, "weight rank does not match input rank");
  /* auto_pad is resolved below from the output size, not the input's */
  const char *ap = ox_attr_str(c, n, "auto_pad", "NOTSET");
  window_t w;
  int ns = tx.rank - 2;
  w.ns = ns;
  const int64_t *kv;
  uint32_t kc;
  if (ox_attr_ints(n, "kernel_shape", &kv, &kc) && kc == (uint32_t)ns) {
    for (int i = 0; i < ns; i++) w.k[i] = kv[i];
  } else if (ns < 1) {
    return OX_INVALID(c, n, "input must have rank >= 3");
  } else {
    for (int i = 0; i < ns; i++) {
      if (!UG_DIM_IS_STATIC(tw->dims[2 + i]))
        return OX_UNSUP(c, n, "the kernel size must be static");
      w.k[i] = tw->dims[2 + i];
    }
  }
  UG_RETURN_IF_ERROR(read_list(c, n, "strides", ns, 1, w.s, 1));
  UG_RETURN_IF_ERROR(read_list(c, n, "dilations", ns, 1, w.d, 1));
  UG_RETURN_IF_ERROR(read_list(c, n, "pads", ns, 0, w.pads, 2));
  int64_t opad[UG_MAX_RANK];
  UG_RETURN_IF_ERROR(read_list(c, n, "output_padding", ns, 0, opad, 1));
  const int64_t *osv;
  uint32_t osc;
  bool has_os = ox_attr_ints(n, "output_shape", &osv, &osc);
  bool same = strncmp(ap, "SAME", 4) == 0;
  if (has_os || same) {
    bool upper = strcmp(ap, "SAME_UPPER") == 0;
    if (has_os && osc != (uint32_t)ns && osc != (uint32_t)tx.rank)
      return OX_INVALID(c, n, "output_shape has %u values", osc);
    for (int i = 0; i < ns; i++) {
      ug_dim_t in = tx.dims[2 + i];
      if (!UG_DIM_IS_STATIC(in))
        return OX_UNSUP(c, n, "output_shape/auto_pad needs static input sizes");
      if (in > ((int64_t)1 << 32) || w.k[i] <= 0 || w.k[i] > MAX_WINDOW)
        return OX_UNSUP(c, n, "sizes out of range");
      int64_t out = has_os ? osv[osc == (uint32_t)ns ? i : 2 + i] : in * w.s[i];
      if (out < 0 || out > ((int64_t)1 << 40)) return OX_INVALID(c, n, "output_shape out of range");
      int64_t total = w.s[i] * (in - 1) + opad[i] + (w.k[i] - 1) * w.d[i] + 1 - out;
      if (total < 0) {
        opad[i] += -total;
        total = 0;
      }
      w.pads[i] = upper ? total / 2 : total - total / 2;
      w.pads[ns + i] = total - w.pads[i];
    }
  }
  ug_attr_t at[5] = {ug_attr_ints(UG_ATTR_STRIDES, w.s, (uint32_t)ns),
                     ug_attr_ints(UG_ATTR_PADS, w.pads, (uint32_t)(2 * ns)),
                     ug_attr_ints(UG_ATTR_DILATIONS, w.d, (uint32_t)ns),
                     ug_attr_int(UG_ATTR_GROUP, ox_attr_int(n, "group", 1)),
                     ug_attr_ints(UG_ATTR_OUTPUT_PADDING, opad, (uint32_t)ns)};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_CONV_TRANSPOSE, ops, nops, at, 5, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_pool(ox_ctx_t *c, ox_node_t *n, int op) {
  ug_value_id_t x, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  if (ox_has_out(n, 1)) return OX_UNSUP(c, n, "the Indices output is not supported");
  if (ox_attr_int(n, "storage_order", 0) != 0)
    return OX_UNSUP(c, n, "storage_order=1 is not supported");
  window_t w;
  UG_RETURN_IF_ERROR(read_window(c, n, ox_type(c, x), NULL, &w));
  ug_attr_t at[6] = {
      ug_attr_ints(UG_ATTR_KERNEL_SHAPE, w.k, (uint32_t)w.ns),
      ug_attr_ints(UG_ATTR_STRIDES, w.s, (uint32_t)w.ns),
      ug_attr_ints(UG_ATTR_PADS, w.pads, (uint32_t)(2 * w.ns)),
      ug_attr_ints(UG_ATTR_DILATIONS, w.d, (uint32_t)w.ns),
      ug_attr_int(UG_ATTR_CEIL_MODE, ox_attr_int(n, "ceil_mode", 0)),
      ug_attr_int(UG_ATTR_COUNT_INCLUDE_PAD, ox_attr_int(n, "count_include_pad", 0))};
  UG_RETURN_IF_ERROR(
      ox_emit(c, n, (ug_op_t)op, &x, 1, at, op == UG_OP_AVG_POOL ? 6 : 5, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

/* MaxUnpool(X, I, output_shape?): X scattered at the flat indices I (as
 * MaxPool's Indices output gives them) into zeros of the output shape. */
static ug_status_t h_max_unpool(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, idx, zero, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &idx));
  const ug_type_t tx = *ox_type(c, x);
  window_t w;
  UG_RETURN_IF_ERROR(read_window(c, n, &tx, NULL, &w));
  ug_type_t out = tx;
  if (ox_has_in(n, 2)) {
    uint32_t cnt;
    const ox_kv_t *kv = ox_in_known(c, n, 2, &cnt);
    if (!kv) return OX_UNSUP(c, n, "output_shape must be a constant");
    if (cnt != (uint32_t)tx.rank)
      return OX_INVALID(c, n, "output_shape has %u values for rank %d", cnt, tx.rank);
    for (uint32_t i = 0; i < cnt; i++)
      if (!ox_kv_dim(kv[i], &out.dims[i])) return OX_INVALID(c, n, "negative size in output_shape");
  } else {
    for (int i = 0; i < w.ns; i++) {
      ug_dim_t d = ug_dim_mul(c->dims, ug_dim_sub(c->dims, tx.dims[2 + i], 1), w.s[i]);
      d = ug_dim_add(c->dims, d, w.k[i]);
      if (UG_DIM_IS_STATIC(d) && d < w.pads[i] + w.pads[w.ns + i])
        return OX_INVALID(c, n, "pads larger than the output");
      out.dims[2 + i] = ug_dim_sub(c->dims, d, w.pads[i] + w.pads[w.ns + i]);
    }
  }
  ug_dim_t total = ug_type_numel(c->dims, &out), in_total = ug_type_numel(c->dims, &tx);
  ug_type_t flat = ug_type_make(tx.dtype, 1, &total);
  UG_RETURN_IF_ERROR(ox_const_scalar(c, n, tx.dtype, 0, &zero));
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_EXPAND, &zero, 1, NULL, 0, &flat, 1, &zero));
  UG_RETURN_IF_ERROR(ox_reshape(c, n, x, 1, &in_total, &x));
  UG_RETURN_IF_ERROR(ox_cast(c, n, idx, UG_DTYPE_I64, &idx));
  UG_RETURN_IF_ERROR(ox_reshape(c, n, idx, 1, &in_total, &idx));
  ug_attr_t a = ug_attr_int(UG_ATTR_AXIS, 0);
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SCATTER_ELEMENTS, (ug_value_id_t[]){zero, idx, x}, 3, &a,
                             1, NULL, 1, &y));
  UG_RETURN_IF_ERROR(ox_reshape(c, n, y, out.rank, out.dims, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_global_pool(ox_ctx_t *c, ox_node_t *n, int op) {
  ug_value_id_t x, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  int rank = ox_type(c, x)->rank;
  if (rank < 3) return OX_INVALID(c, n, "input must have rank >= 3");
  int64_t axes[UG_MAX_RANK];
  for (int i = 2; i < rank; i++) axes[i - 2] = i;
  UG_RETURN_IF_ERROR(ox_reduce(c, n, (ug_op_t)op, x, axes, (uint32_t)(rank - 2), true, &y));
  return ox_set_out(c, n, 0, y);
}

/* ---- normalization ---- */

static ug_status_t h_batch_norm(ox_ctx_t *c, ox_node_t *n, int arg) {
  if (ox_attr_int(n, "training_mode", 0) || ox_has_out(n, 1) || ox_has_out(n, 2))
    return OX_UNSUP(c, n, "training mode is unsupported by design");
  if (n->opset < 7 && ox_attr_int(n, "is_test", 0) == 0 && ox_num_out(n) > 1)
    return OX_UNSUP(c, n, "training mode is unsupported by design");
  if (ox_attr_int(n, "spatial", 1) != 1) return OX_UNSUP(c, n, "spatial=0 is not supported");
  ug_value_id_t ops[5], y;
  for (uint32_t i = 0; i < 5; i++) UG_RETURN_IF_ERROR(ox_in(c, n, i, &ops[i]));
  ug_attr_t a = ug_attr_float(UG_ATTR_EPSILON, ox_attr_float(n, "epsilon", 1e-5));
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_BATCH_NORM, ops, 5, &a, 1, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_instance_norm(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t ops[3], y;
  for (uint32_t i = 0; i < 3; i++) UG_RETURN_IF_ERROR(ox_in(c, n, i, &ops[i]));
  ug_attr_t a = ug_attr_float(UG_ATTR_EPSILON, ox_attr_float(n, "epsilon", 1e-5));
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_INSTANCE_NORM, ops, 3, &a, 1, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_layer_norm(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t ops[3] = {UG_NONE, UG_NONE, UG_NONE}, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &ops[0]));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &ops[1]));
  uint32_t nops = 2;
  if (ox_has_in(n, 2)) {
    UG_RETURN_IF_ERROR(ox_in(c, n, 2, &ops[2]));
    nops = 3;
  }
  int rank = ox_type(c, ops[0])->rank;
  int64_t axis;
  if (!ox_axis(ox_attr_int(n, "axis", -1), rank, &axis))
    return OX_INVALID(c, n, "axis out of range");
  /* torch.onnx writes f16 scale and bias next to an f32 x when it computed
   * the residual in f32 (ONNX Runtime takes it): widen them to x's dtype */
  ug_dtype_t xdt = ox_type(c, ops[0])->dtype;
  for (uint32_t i = 1; i < nops; i++) {
    ug_dtype_t dt = ox_type(c, ops[i])->dtype;
    if (dt != xdt && ug_dtype_is_float(dt) && ug_dtype_is_float(xdt) && ug_dtype_bits(dt) < ug_dtype_bits(xdt))
      UG_RETURN_IF_ERROR(ox_cast(c, n, ops[i], xdt, &ops[i]));
  }
  double eps = ox_attr_float(n, "epsilon", 1e-5);
  ug_attr_t at[2] = {ug_attr_int(UG_ATTR_AXIS, axis), ug_attr_float(UG_ATTR_EPSILON, eps)};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_LAYER_NORM, ops, nops, at, 2, NULL, 1, &y));
  UG_RETURN_IF_ERROR(ox_set_out(c, n, 0, y));
  if (!ox_has_out(n, 1) && !ox_has_out(n, 2)) return NULL;
  /* the statistics outputs, recomputed: mean and 1/sqrt(var + eps) over
   * [axis, rank) with the reduced dims kept */
  int64_t axes[UG_MAX_RANK];
  uint32_t na = 0;
  for (int64_t i = axis; i < rank; i++) axes[na++] = i;
  ug_value_id_t x = ops[0], mean, d, var, e, inv;
  UG_RETURN_IF_ERROR(ox_reduce(c, n, UG_OP_REDUCE_MEAN, x, axes, na, true, &mean));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_SUB, x, mean, &d));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, d, d, &d));
  UG_RETURN_IF_ERROR(ox_reduce(c, n, UG_OP_REDUCE_MEAN, d, axes, na, true, &var));
  UG_RETURN_IF_ERROR(ox_const_scalar(c, n, ox_type(c, x)->dtype, eps, &e));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_ADD, var, e, &var));
  UG_RETURN_IF_ERROR(ox_emit1(c, n, UG_OP_RSQRT, var, &inv));
  if (ox_has_out(n, 1)) UG_RETURN_IF_ERROR(ox_set_out(c, n, 1, mean));
  if (ox_has_out(n, 2)) UG_RETURN_IF_ERROR(ox_set_out(c, n, 2, inv));
  return NULL;
}

/* RMSNormalization (opset 23): rms_norm(x, scale) over [axis, rank). */
static ug_status_t h_rms_norm(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t ops[2], y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &ops[0]));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &ops[1]));
  int64_t axis;
  if (!ox_axis(ox_attr_int(n, "axis", -1), ox_type(c, ops[0])->rank, &axis))
    return OX_INVALID(c, n, "axis out of range");
  ug_attr_t at[2] = {ug_attr_int(UG_ATTR_AXIS, axis),
                     ug_attr_float(UG_ATTR_EPSILON, ox_attr_float(n, "epsilon", 1e-5))};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_RMS_NORM, ops, 2, at, 2, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_lrn(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  if (!ox_attr(n, "size")) return OX_INVALID(c, n, "size is required");
  ug_attr_t at[4] = {ug_attr_int(UG_ATTR_SIZE, ox_attr_int(n, "size", 1)),
                     ug_attr_float(UG_ATTR_ALPHA, ox_attr_float(n, "alpha", 1e-4)),
                     ug_attr_float(UG_ATTR_BETA, ox_attr_float(n, "beta", 0.75)),
                     ug_attr_float(UG_ATTR_BIAS, ox_attr_float(n, "bias", 1.0))};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_LRN, &x, 1, at, 4, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

/* MeanVarianceNormalization: (x - mean) / sqrt(var + 1e-9) over axes. */
static ug_status_t h_mvn(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, mean, d, d2, var, eps, sd, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  int rank = ox_type(c, x)->rank;
  static const int64_t dflt[3] = {0, 2, 3};
  const int64_t *av = dflt;
  uint32_t cnt = 3;
  ox_attr_ints(n, "axes", &av, &cnt);
  int64_t axes[UG_MAX_RANK];
  if (cnt > (uint32_t)rank) return OX_INVALID(c, n, "too many axes");
  for (uint32_t i = 0; i < cnt; i++)
    if (!ox_axis(av[i], rank, &axes[i])) return OX_INVALID(c, n, "axis out of range");
  UG_RETURN_IF_ERROR(ox_reduce(c, n, UG_OP_REDUCE_MEAN, x, axes, cnt, true, &mean));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_SUB, x, mean, &d));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, d, d, &d2));
  UG_RETURN_IF_ERROR(ox_reduce(c, n, UG_OP_REDUCE_MEAN, d2, axes, cnt, true, &var));
  UG_RETURN_IF_ERROR(ox_const_scalar(c, n, ox_type(c, x)->dtype, 1e-9, &eps));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_ADD, var, eps, &var));
  UG_RETURN_IF_ERROR(ox_emit1(c, n, UG_OP_SQRT, var, &sd));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_DIV, d, sd, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_lp_norm(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, t, norm, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  int64_t axis, p = ox_attr_int(n, "p", 2);
  if (!ox_axis(ox_attr_int(n, "axis", -1), ox_type(c, x)->rank, &axis))
    return OX_INVALID(c, n, "axis out of range");
  if (p == 1) {
    UG_RETURN_IF_ERROR(ox_emit1(c, n, UG_OP_ABS, x, &t));
    UG_RETURN_IF_ERROR(ox_reduce(c, n, UG_OP_REDUCE_SUM, t, &axis, 1, true, &norm));
  } else if (p == 2) {
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, x, x, &t));
    UG_RETURN_IF_ERROR(ox_reduce(c, n, UG_OP_REDUCE_SUM, t, &axis, 1, true, &norm));
    UG_RETURN_IF_ERROR(ox_emit1(c, n, UG_OP_SQRT, norm, &norm));
  } else {
    return OX_INVALID(c, n, "p must be 1 or 2");
  }
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_DIV, x, norm, &y));
  return ox_set_out(c, n, 0, y);
}

/* ---- contractions ---- */

static ug_status_t h_matmul(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t a, b, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &a));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &b));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MATMUL, a, b, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t transpose2(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, ug_value_id_t *out) {
  static const int64_t perm[2] = {1, 0};
  ug_attr_t a = ug_attr_ints(UG_ATTR_PERM, perm, 2);
  return ox_emit(c, n, UG_OP_TRANSPOSE, &x, 1, &a, 1, NULL, 1, out);
}

/* Gemm: alpha * A' * B' + beta * C */
static ug_status_t h_gemm(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t a, b, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &a));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &b));
  if (ox_type(c, a)->rank != 2 || ox_type(c, b)->rank != 2)
    return OX_INVALID(c, n, "A and B must be 2-D");
  ug_dtype_t dt = ox_type(c, a)->dtype;
  if (ox_attr_int(n, "transA", 0)) UG_RETURN_IF_ERROR(transpose2(c, n, a, &a));
  if (ox_attr_int(n, "transB", 0)) UG_RETURN_IF_ERROR(transpose2(c, n, b, &b));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MATMUL, a, b, &y));
  double alpha = ox_attr_float(n, "alpha", 1.0), beta = ox_attr_float(n, "beta", 1.0);
  if (alpha != 1.0) {
    ug_value_id_t k;
    UG_RETURN_IF_ERROR(ox_const_scalar(c, n, dt, alpha, &k));
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, y, k, &y));
  }
  if (ox_has_in(n, 2) && beta != 0.0) {
    ug_value_id_t cc;
    UG_RETURN_IF_ERROR(ox_in(c, n, 2, &cc));
    if (beta != 1.0) {
      ug_value_id_t k;
      UG_RETURN_IF_ERROR(ox_const_scalar(c, n, dt, beta, &k));
      UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, cc, k, &cc));
    }
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_ADD, y, cc, &y));
  }
  return ox_set_out(c, n, 0, y);
}

/* ---- resize ---- */

/* Output size for scale s on input size in: floor(in * s). */
static bool scaled_dim(ox_ctx_t *c, ug_dim_t in, double s, ug_dim_t *out) {
  if (s <= 0 || !isfinite(s)) return false;
  if (UG_DIM_IS_STATIC(in)) {
    double v = floor((double)in * s + 1e-9);
    if (v > (double)OX_MAX_NUMEL) return false;
    *out = (ug_dim_t)v;
    return true;
  }
  if (s == floor(s) && s <= (double)OX_MAX_NUMEL) {
    *out = ug_dim_mul(c->dims, in, (int64_t)s);
    return true;
  }
  return false;
}

static ug_status_t emit_resize(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, const ug_type_t *t,
                               const char *mode, const char *coord, const char *nearest) {
  ug_attr_t at[6];
  uint32_t na = 0;
  at[na++] = ug_attr_str(UG_ATTR_MODE, mode);
  at[na++] = ug_attr_str(UG_ATTR_COORD_MODE, coord);
  if (strcmp(mode, "nearest") == 0) at[na++] = ug_attr_str(UG_ATTR_NEAREST_MODE, nearest);
  if (strcmp(mode, "cubic") == 0) {
    at[na++] = ug_attr_float(UG_ATTR_CUBIC_COEFF_A, ox_attr_float(n, "cubic_coeff_a", -0.75));
    at[na++] = ug_attr_int(UG_ATTR_EXCLUDE_OUTSIDE, ox_attr_int(n, "exclude_outside", 0));
  }
  ug_value_id_t y;
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_RESIZE, &x, 1, at, na, t, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_upsample(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  ug_type_t t = *ox_type(c, x);
  double *scales;
  uint32_t cnt;
  const float *fs;
  if (n->opset < 9 && ox_attr_floats(n, "scales", &fs, &cnt)) {
    scales = ug_arena_alloc(c->a, (cnt + 1) * sizeof *scales);
    for (uint32_t i = 0; i < cnt; i++) scales[i] = fs[i];
  } else if (n->opset < 7) {
    double hs = ox_attr_float(n, "height_scale", 1), ws = ox_attr_float(n, "width_scale", 1);
    cnt = (uint32_t)t.rank;
    scales = ug_arena_alloc(c->a, (cnt + 1) * sizeof *scales);
    for (uint32_t i = 0; i < cnt; i++) scales[i] = 1;
    if (cnt >= 2) {
      scales[cnt - 2] = hs;
      scales[cnt - 1] = ws;
    }
  } else {
    UG_RETURN_IF_ERROR(ox_in_floats(c, n, 1, "scales", &scales, &cnt));
  }
  if (cnt != (uint32_t)t.rank)
    return OX_INVALID(c, n, "scales has %u values for rank %d", cnt, t.rank);
  for (int i = 0; i < t.rank; i++)
    if (!scaled_dim(c, t.dims[i], scales[i], &t.dims[i]))
      return OX_UNSUP(c, n, "scale %g is not supported", scales[i]);
  const char *mode = ox_attr_str(c, n, "mode", "nearest");
  if (strcmp(mode, "bilinear") == 0) mode = "linear";
  if (strcmp(mode, "nearest") != 0 && strcmp(mode, "linear") != 0)
    return OX_UNSUP(c, n, "mode '%s' is not supported", mode);
  return emit_resize(c, n, x, &t, mode, "asymmetric", "floor");
}

static ug_status_t h_resize(ox_ctx_t *c, ox_node_t *n, int arg) {
  if (n->opset < 11) return h_upsample(c, n, arg);
  ug_value_id_t x;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  ug_type_t t = *ox_type(c, x);
  const char *mode = ox_attr_str(c, n, "mode", "nearest");
  const char *coord = ox_attr_str(c, n, "coordinate_transformation_mode", "half_pixel");
  const char *nearest = ox_attr_str(c, n, "nearest_mode", "round_prefer_floor");
  const char *policy = ox_attr_str(c, n, "keep_aspect_ratio_policy", "stretch");
  if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "cubic"))
    return OX_UNSUP(c, n, "mode '%s' is not supported", mode);
  if (strcmp(coord, "tf_crop_and_resize") == 0)
    return OX_UNSUP(c, n, "tf_crop_and_resize is not supported");
  if (ox_attr_int(n, "antialias", 0)) return OX_UNSUP(c, n, "antialias is not supported");
  const int64_t *axv;
  uint32_t naxes;
  int64_t axes[UG_MAX_RANK];
  if (ox_attr_ints(n, "axes", &axv, &naxes)) {
    if (naxes > (uint32_t)t.rank) return OX_INVALID(c, n, "too many axes");
    for (uint32_t i = 0; i < naxes; i++)
      if (!ox_axis(axv[i], t.rank, &axes[i])) return OX_INVALID(c, n, "axis out of range");
  } else {
    naxes = (uint32_t)t.rank;
    for (int i = 0; i < t.rank; i++) axes[i] = i;
  }
  uint32_t cnt;
  const ox_kv_t *sk = NULL;
  if (ox_has_in(n, 3) && (sk = ox_in_known(c, n, 3, &cnt)) && cnt > 0) {
    if (cnt != naxes) return OX_INVALID(c, n, "sizes has %u values, expected %u", cnt, naxes);
    bool stretch = strcmp(policy, "stretch") == 0;
    double s = 0;
    if (!stretch) {
      bool larger = strcmp(policy, "not_larger") == 0;
      if (!larger && strcmp(policy, "not_smaller") != 0)
        return OX_INVALID(c, n, "bad keep_aspect_ratio_policy");
      for (uint32_t i = 0; i < cnt; i++) {
        ug_dim_t in = t.dims[axes[i]];
        if (sk[i].sym || !UG_DIM_IS_STATIC(in) || in == 0)
          return OX_UNSUP(c, n, "keep_aspect_ratio_policy needs static sizes");
        double r = (double)sk[i].i / (double)in;
        if (i == 0 || (larger ? r < s : r > s)) s = r;
      }
    }
    for (uint32_t i = 0; i < cnt; i++) {
      ug_dim_t d = 0;
      if (stretch) {
        if (!ox_kv_dim(sk[i], &d)) return OX_INVALID(c, n, "negative size");
      } else {
        double v = floor((double)t.dims[axes[i]] * s + 0.5);
        if (!(v >= 0 && v <= (double)OX_MAX_NUMEL))
          return OX_INVALID(c, n, "sizes gives an output size out of range");
        d = (ug_dim_t)v;
      }
      t.dims[axes[i]] = d;
    }
  } else if (ox_has_in(n, 3) && !sk) {
    return OX_UNSUP(c, n, "sizes must be a constant");
  } else {
    double *scales;
    UG_RETURN_IF_ERROR(ox_in_floats(c, n, 2, "scales", &scales, &cnt));
    if (cnt != naxes) return OX_INVALID(c, n, "scales has %u values, expected %u", cnt, naxes);
    for (uint32_t i = 0; i < cnt; i++)
      if (!scaled_dim(c, t.dims[axes[i]], scales[i], &t.dims[axes[i]]))
        return OX_UNSUP(c, n, "scale %g is not supported on this dimension", scales[i]);
  }
  return emit_resize(c, n, x, &t, mode, coord, nearest);
}

/* ---- Det of small static matrices, by cofactor expansion ---- */

/* x[..., i, j] as a tensor of the batch shape. */
static ug_status_t element(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, int64_t i, int64_t j,
                           ug_value_id_t *out) {
  int r = ox_type(c, x)->rank;
  int64_t axes[2] = {r - 2, r - 1}, starts[2] = {i, j}, ends[2] = {i + 1, j + 1}, steps[2] = {1, 1};
  ug_attr_t at[4] = {ug_attr_ints(UG_ATTR_AXES, axes, 2), ug_attr_ints(UG_ATTR_STARTS, starts, 2),
                     ug_attr_ints(UG_ATTR_ENDS, ends, 2), ug_attr_ints(UG_ATTR_STEPS, steps, 2)};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SLICE, &x, 1, at, 4, NULL, 1, out));
  ug_attr_t sq = ug_attr_ints(UG_ATTR_AXES, axes, 2);
  return ox_emit(c, n, UG_OP_SQUEEZE, out, 1, &sq, 1, NULL, 1, out);
}

/* a*d - b*c */
static ug_status_t det2(ox_ctx_t *c, ox_node_t *n, ug_value_id_t a, ug_value_id_t b,
                        ug_value_id_t cc, ug_value_id_t d, ug_value_id_t *out) {
  ug_value_id_t ad, bc;
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, a, d, &ad));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, b, cc, &bc));
  return ox_emit2(c, n, UG_OP_SUB, ad, bc, out);
}

static ug_status_t h_det(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, e[3][3], y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  const ug_type_t *t = ox_type(c, x);
  if (t->rank < 2 || t->dims[t->rank - 1] != t->dims[t->rank - 2])
    return OX_INVALID(c, n, "input must be [..., M, M]");
  ug_dim_t m = t->dims[t->rank - 1];
  if (!UG_DIM_IS_STATIC(m) || m < 1 || m > 3)
    return OX_UNSUP(c, n, "Det of matrices larger than 3x3 is not supported");
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < m; j++) UG_RETURN_IF_ERROR(element(c, n, x, i, j, &e[i][j]));
  if (m == 1) {
    y = e[0][0];
  } else if (m == 2) {
    UG_RETURN_IF_ERROR(det2(c, n, e[0][0], e[0][1], e[1][0], e[1][1], &y));
  } else {
    ug_value_id_t c0, c1, c2, t0, t1, t2;
    UG_RETURN_IF_ERROR(det2(c, n, e[1][1], e[1][2], e[2][1], e[2][2], &c0));
    UG_RETURN_IF_ERROR(det2(c, n, e[1][0], e[1][2], e[2][0], e[2][2], &c1));
    UG_RETURN_IF_ERROR(det2(c, n, e[1][0], e[1][1], e[2][0], e[2][1], &c2));
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, e[0][0], c0, &t0));
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, e[0][1], c1, &t1));
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_MUL, e[0][2], c2, &t2));
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_SUB, t0, t1, &y));
    UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_ADD, y, t2, &y));
  }
  return ox_set_out(c, n, 0, y);
}

/* ---- DepthToSpace / SpaceToDepth: reshape, transpose, reshape ---- */

static ug_status_t shuffle(ox_ctx_t *c, ox_node_t *n, ug_value_id_t x, const ug_dim_t *d6,
                           const int64_t *perm, const ug_dim_t *d4, ug_value_id_t *out) {
  ug_value_id_t t;
  UG_RETURN_IF_ERROR(ox_reshape(c, n, x, 6, d6, &t));
  ug_attr_t a = ug_attr_ints(UG_ATTR_PERM, perm, 6);
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_TRANSPOSE, &t, 1, &a, 1, NULL, 1, &t));
  return ox_reshape(c, n, t, 4, d4, out);
}

static ug_status_t h_depth_space(ox_ctx_t *c, ox_node_t *n, int to_space) {
  ug_value_id_t x, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  const ug_type_t *t = ox_type(c, x);
  if (t->rank != 4) return OX_INVALID(c, n, "input must be 4-D");
  int64_t b = ox_attr_int(n, "blocksize", 0);
  if (b <= 0 || b > MAX_WINDOW)
    return OX_INVALID(c, n, "blocksize %lld is out of range", (long long)b);
  ug_dims_t *D = c->dims;
  ug_dim_t N = t->dims[0], C = t->dims[1], H = t->dims[2], W = t->dims[3];
  if (to_space) {
    if (UG_DIM_IS_STATIC(C) && C % (b * b))
      return OX_INVALID(c, n, "channels not divisible by blocksize^2");
    ug_dim_t Cb = ug_dim_div(D, C, b * b);
    ug_dim_t d4[4] = {N, Cb, ug_dim_mul(D, H, b), ug_dim_mul(D, W, b)};
    const char *mode = ox_attr_str(c, n, "mode", "DCR");
    if (strcmp(mode, "DCR") == 0) {
      ug_dim_t d6[6] = {N, b, b, Cb, H, W};
      static const int64_t perm[6] = {0, 3, 4, 1, 5, 2};
      UG_RETURN_IF_ERROR(shuffle(c, n, x, d6, perm, d4, &y));
    } else if (strcmp(mode, "CRD") == 0) {
      ug_dim_t d6[6] = {N, Cb, b, b, H, W};
      static const int64_t perm[6] = {0, 1, 4, 2, 5, 3};
      UG_RETURN_IF_ERROR(shuffle(c, n, x, d6, perm, d4, &y));
    } else {
      return OX_INVALID(c, n, "unknown mode '%s'", mode);
    }
  } else {
    if ((UG_DIM_IS_STATIC(H) && H % b) || (UG_DIM_IS_STATIC(W) && W % b))
      return OX_INVALID(c, n, "spatial size not divisible by blocksize");
    ug_dim_t Hb = ug_dim_div(D, H, b), Wb = ug_dim_div(D, W, b);
    ug_dim_t d6[6] = {N, C, Hb, b, Wb, b};
    static const int64_t perm[6] = {0, 3, 5, 1, 2, 4};
    ug_dim_t d4[4] = {N, ug_dim_mul(D, C, b * b), Hb, Wb};
    UG_RETURN_IF_ERROR(shuffle(c, n, x, d6, perm, d4, &y));
  }
  return ox_set_out(c, n, 0, y);
}

#define POOL_ATTRS "auto_pad ceil_mode dilations kernel_shape pads strides"

const ox_op_entry_t ox_nn_ops[] = {
    {"Conv", h_conv, 0, "auto_pad dilations group kernel_shape pads strides"},
    {"ConvTranspose", h_conv_transpose, 0,
     "auto_pad dilations group kernel_shape output_padding output_shape pads strides"},
    {"MaxPool", h_pool, UG_OP_MAX_POOL, POOL_ATTRS " storage_order"},
    {"AveragePool", h_pool, UG_OP_AVG_POOL, POOL_ATTRS " count_include_pad"},
    {"MaxUnpool", h_max_unpool, 0, "kernel_shape pads strides"},
    {"GlobalAveragePool", h_global_pool, UG_OP_REDUCE_MEAN, ""},
    {"GlobalMaxPool", h_global_pool, UG_OP_REDUCE_MAX, ""},
    {"BatchNormalization", h_batch_norm, 0,
     "epsilon momentum spatial is_test consumed_inputs training_mode"},
    {"InstanceNormalization", h_instance_norm, 0, "epsilon"},
    {"LayerNormalization", h_layer_norm, 0, "axis epsilon stash_type"},
    {"LRN", h_lrn, 0, "alpha beta bias size"},
    {"RMSNormalization", h_rms_norm, 0, "axis epsilon stash_type"},
    {"MeanVarianceNormalization", h_mvn, 0, "axes"},
    {"LpNormalization", h_lp_norm, 0, "axis p"},
    {"MatMul", h_matmul, 0, ""},
    {"Gemm", h_gemm, 0, "alpha beta transA transB broadcast"},
    {"Upsample", h_upsample, 0, "mode scales height_scale width_scale"},
    {"Resize", h_resize, 0,
     "mode coordinate_transformation_mode nearest_mode cubic_coeff_a exclude_outside "
     "extrapolation_value antialias axes keep_aspect_ratio_policy"},
    {"Det", h_det, 0, ""},
    {"DepthToSpace", h_depth_space, 1, "blocksize mode"},
    {"SpaceToDepth", h_depth_space, 0, "blocksize"},
    {NULL, NULL, 0, NULL},
};
