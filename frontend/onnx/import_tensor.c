/* Operators that make tensors or pick from them: Constant, ConstantOfShape,
 * Range, EyeLike, the window functions, OneHot, Trilu, TopK, ReverseSequence. */
#include <math.h>
#include <string.h>

#include "frontend/onnx/internal.h"

/* Binds output 0 to a decoded tensor (a const made on first use). */
static ug_status_t set_tensor(ox_ctx_t *c, ox_node_t *n, ox_tensor_t *t) {
  if (!ox_has_out(n, 0)) return NULL;
  ox_entry_t *e = ox_define(c, n->p->output[0]);
  e->tensor = t;
  e->type = t->type;
  e->has_type = true;
  return NULL;
}

static ug_status_t h_constant(ox_ctx_t *c, ox_node_t *n, int arg) {
  if (n->p->n_attribute != 1) return OX_INVALID(c, n, "Constant needs exactly one value attribute");
  const Onnx__AttributeProto *a = n->p->attribute[0];
  ox_tensor_t *t = ug_arena_alloc(c->a, sizeof *t);
  const char *name = a->name;
  if (strcmp(name, "value") == 0) {
    if (!a->t) return OX_INVALID(c, n, "value is not a tensor");
    ug_status_t s = ox_tensor_decode(c->a, &c->src, a->t, n->loc, t);
    if (s) {
      ug_status_t r = ox_err(c, n, ug_status_code(s), "%s", ug_status_message(s));
      ug_status_free(s);
      return r;
    }
    return set_tensor(c, n, t);
  }
  if (strcmp(name, "value_float") == 0 || strcmp(name, "value_int") == 0) {
    bool fl = name[6] == 'f';
    t->type = ug_type_scalar(fl ? UG_DTYPE_F32 : UG_DTYPE_I64);
    t->size = fl ? 4 : 8;
    if (fl) {
      float v = a->f;
      t->data = ug_arena_dup(c->a, &v, 4);
    } else {
      int64_t v = a->i;
      t->data = ug_arena_dup(c->a, &v, 8);
    }
    return set_tensor(c, n, t);
  }
  if (strcmp(name, "value_floats") == 0 || strcmp(name, "value_ints") == 0) {
    bool fl = name[6] == 'f';
    ug_dim_t len = fl ? (ug_dim_t)a->n_floats : (ug_dim_t)a->n_ints;
    t->type = ug_type_make(fl ? UG_DTYPE_F32 : UG_DTYPE_I64, 1, &len);
    t->size = (uint64_t)len * (fl ? 4 : 8);
    t->data =
        t->size ? ug_arena_dup(c->a, fl ? (const void *)a->floats : (const void *)a->ints, t->size)
                : ug_arena_alloc(c->a, 1);
    return set_tensor(c, n, t);
  }
  if (strncmp(name, "value_string", 12) == 0)
    return OX_UNSUP(c, n, "string constants are unsupported by design");
  if (strcmp(name, "sparse_value") == 0)
    return OX_UNSUP(c, n, "sparse constants are not supported");
  return OX_UNSUP(c, n, "attribute '%s' is not supported", name);
}

/* The scalar held by a 1-element tensor attribute (ConstantOfShape value). */
static ug_status_t fill_value(ox_ctx_t *c, ox_node_t *n, ug_dtype_t *dt, ox_kv_t *v) {
  const Onnx__AttributeProto *a = ox_attr(n, "value");
  *dt = UG_DTYPE_F32;
  *v = (ox_kv_t){0, 0, false};
  if (!a) return NULL;
  if (!a->t) return OX_INVALID(c, n, "value must be a tensor");
  ox_tensor_t t;
  ug_status_t s = ox_tensor_decode(c->a, &c->src, a->t, n->loc, &t);
  if (s) {
    ug_status_t r = ox_err(c, n, ug_status_code(s), "%s", ug_status_message(s));
    ug_status_free(s);
    return r;
  }
  int64_t cnt;
  if (!ox_numel(&t.type, &cnt) || cnt != 1) return OX_INVALID(c, n, "value must have one element");
  *dt = t.type.dtype;
  ox_kv_from_bytes(t.data, *dt, 1, v);
  return NULL;
}

static ug_status_t h_constant_of_shape(ox_ctx_t *c, ox_node_t *n, int arg) {
  uint32_t cnt;
  const ox_kv_t *kv = ox_in_known(c, n, 0, &cnt);
  if (!kv) return OX_UNSUP(c, n, "the shape must be computable at compile time");
  if (cnt > UG_MAX_RANK) return OX_UNSUP(c, n, "rank exceeds the maximum rank");
  ug_dtype_t dt;
  ox_kv_t v;
  UG_RETURN_IF_ERROR(fill_value(c, n, &dt, &v));
  ug_type_t t = {.dtype = dt, .rank = (int)cnt};
  for (uint32_t i = 0; i < cnt; i++)
    if (!ox_kv_dim(kv[i], &t.dims[i])) return OX_INVALID(c, n, "negative size in the shape");
  int64_t numel;
  if (n->fold && ox_numel(&t, &numel) && numel <= OX_KNOWN_MAX) {
    ox_kv_t *out = ox_kv_alloc(c, (uint32_t)numel);
    for (int64_t i = 0; i < numel; i++) out[i] = v;
    return ox_set_known(c, n, 0, &t, out);
  }
  ug_value_id_t s, y;
  UG_RETURN_IF_ERROR(ug_dtype_is_float(dt) ? ox_const_scalar(c, n, dt, v.f, &s)
                                            : ox_const_i64(c, n, dt, v.i, &s));
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_EXPAND, &s, 1, NULL, 0, &t, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_range(ox_ctx_t *c, ox_node_t *n, int arg) {
  uint32_t c0, c1, c2;
  const ox_kv_t *ks = ox_in_known(c, n, 0, &c0), *kl = ox_in_known(c, n, 1, &c1),
                *kd = ox_in_known(c, n, 2, &c2);
  ug_dtype_t dt = ox_in_type(n, 0)->dtype;
  bool fl = ug_dtype_is_float(dt);
  if (!ks || !kl || !kd || c0 != 1 || c1 != 1 || c2 != 1)
    return OX_UNSUP(c, n, "start, limit and delta must be computable at compile time");
  ug_dim_t len;
  if (!ks[0].sym && !kl[0].sym && !kd[0].sym) {
    double s = fl ? ks[0].f : (double)ks[0].i, l = fl ? kl[0].f : (double)kl[0].i,
           d = fl ? kd[0].f : (double)kd[0].i;
    if (d == 0) return OX_INVALID(c, n, "delta must not be 0");
    double cnt = ceil((l - s) / d);
    if (!(cnt >= 0)) cnt = 0;
    if (cnt > (double)OX_MAX_NUMEL) return OX_INVALID(c, n, "range too long");
    len = (ug_dim_t)cnt;
    ug_type_t t = ug_type_make(dt, 1, &len);
    if (n->fold && len <= OX_KNOWN_MAX) {
      ox_kv_t *out = ox_kv_alloc(c, (uint32_t)len);
      for (int64_t i = 0; i < len; i++) {
        int64_t v = 0;
        if (!fl &&
            (__builtin_mul_overflow(i, kd[0].i, &v) || __builtin_add_overflow(v, ks[0].i, &v)))
          return OX_INVALID(c, n, "range overflows");
        out[i] = fl ? (ox_kv_t){0, s + (double)i * d, false} : (ox_kv_t){v, (double)v, false};
        out[i] = ox_kv_cast(out[i], dt, dt);
      }
      return ox_set_known(c, n, 0, &t, out);
    }
  } else {
    /* symbolic limit: start >= 0 and delta > 0, both static */
    ug_dim_t s, l;
    if (fl || ks[0].sym || kd[0].sym || kd[0].i <= 0 || !ox_kv_dim(ks[0], &s) ||
        !ox_kv_dim(kl[0], &l))
      return OX_UNSUP(c, n, "range with a symbolic bound needs start >= 0 and a static delta > 0");
    len = ug_dim_ceildiv(c->dims, ug_dim_sub(c->dims, l, s), kd[0].i);
  }
  ug_type_t t = ug_type_make(dt, 1, &len);
  ug_value_id_t ops[3], y;
  for (uint32_t i = 0; i < 3; i++) UG_RETURN_IF_ERROR(ox_in(c, n, i, &ops[i]));
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_RANGE, ops, 3, NULL, 0, &t, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_eye_like(ox_ctx_t *c, ox_node_t *n, int arg) {
  const ug_type_t *tx = ox_in_type(n, 0);
  if (tx->rank != 2 || !ug_type_is_static(tx))
    return OX_UNSUP(c, n, "EyeLike needs a static 2-D input");
  ug_dtype_t dt = tx->dtype;
  if (ox_attr(n, "dtype") && !ox_dtype_from_onnx(ox_attr_int(n, "dtype", 1), &dt))
    return OX_UNSUP(c, n, "dtype is not supported");
  int64_t rows = tx->dims[0], cols = tx->dims[1], k = ox_attr_int(n, "k", 0), numel, bytes_n;
  ug_type_t t = ug_type_make(dt, 2, tx->dims);
  if (!ox_numel(&t, &numel) || numel > ((int64_t)1 << 26) || !ug_dtype_bytes(dt, numel, &bytes_n))
    return OX_UNSUP(c, n, "EyeLike too large");
  /* zeros (the arena is zeroed) with ones on diagonal k */
  ox_kv_t one = {1, 1.0, false};
  void *one_bytes;
  uint64_t esize;
  if (!ox_kv_to_bytes(c, &one, 1, dt, &one_bytes, &esize))
    return OX_UNSUP(c, n, "dtype is not supported");
  uint8_t *bytes = ug_arena_alloc(c->a, bytes_n ? (size_t)bytes_n : 1);
  if (k < -rows || k > cols) k = cols; /* no diagonal inside: all zeros */
  for (int64_t i = 0; i < rows; i++) {
    int64_t j = i + k;
    if (j >= 0 && j < cols)
      memcpy(bytes + (size_t)(i * cols + j) * esize, one_bytes, (size_t)esize);
  }
  uint64_t size = (uint64_t)bytes_n;
  ug_value_id_t y;
  UG_RETURN_IF_ERROR(ox_const_bytes(c, n, &t, bytes, size, &y));
  return ox_set_out(c, n, 0, y);
}

/* HannWindow, HammingWindow, BlackmanWindow: computed here into a const. */
enum { W_HANN, W_HAMMING, W_BLACKMAN };

static ug_status_t h_window(ox_ctx_t *c, ox_node_t *n, int kind) {
  int64_t *sv;
  uint32_t cnt;
  UG_RETURN_IF_ERROR(ox_in_ints(c, n, 0, "size", &sv, &cnt));
  if (cnt != 1 || sv[0] < 0 || sv[0] > ((int64_t)1 << 20))
    return OX_UNSUP(c, n, "window size must be at most 2^20");
  ug_dtype_t dt = UG_DTYPE_F32;
  if (ox_attr(n, "output_datatype") &&
      !ox_dtype_from_onnx(ox_attr_int(n, "output_datatype", 1), &dt))
    return OX_UNSUP(c, n, "output_datatype is not supported");
  int64_t len = sv[0];
  double den = ox_attr_int(n, "periodic", 1) ? (double)len : (double)(len - 1);
  const double pi = 3.14159265358979323846;
  ox_kv_t *kv = ox_kv_alloc(c, (uint32_t)len);
  for (int64_t i = 0; i < len; i++) {
    double x = den > 0 ? 2 * pi * (double)i / den : 0, v;
    switch (kind) {
    case W_HANN: v = 0.5 - 0.5 * cos(x); break;
    case W_HAMMING: v = 25.0 / 46.0 - (1 - 25.0 / 46.0) * cos(x); break;
    default: v = 0.42 - 0.5 * cos(x) + 0.08 * cos(2 * x); break;
    }
    kv[i] = ox_kv_cast((ox_kv_t){0, v, false}, UG_DTYPE_F64, dt);
  }
  void *bytes;
  uint64_t size;
  if (!ox_kv_to_bytes(c, kv, (uint32_t)len, dt, &bytes, &size))
    return OX_UNSUP(c, n, "output_datatype is not supported");
  ug_dim_t d = len;
  ug_type_t t = ug_type_make(dt, 1, &d);
  ug_value_id_t y;
  UG_RETURN_IF_ERROR(ox_const_bytes(c, n, &t, bytes, size, &y));
  return ox_set_out(c, n, 0, y);
}

/* MelWeightMatrix: triangular mel filters [dft_length/2 + 1, num_mel_bins],
 * computed here from known scalars (the ONNX definition: band edges on the
 * mel scale mapped back to spectrogram bins). */
static ug_status_t h_mel_weight_matrix(ox_ctx_t *c, ox_node_t *n, int arg) {
  double *v[5];
  uint32_t cnt;
  static const char *const what[5] = {"num_mel_bins", "dft_length", "sample_rate",
                                      "lower_edge_hertz", "upper_edge_hertz"};
  for (uint32_t i = 0; i < 5; i++) {
    UG_RETURN_IF_ERROR(ox_in_floats(c, n, i, what[i], &v[i], &cnt));
    if (cnt != 1) return OX_INVALID(c, n, "%s must be a scalar", what[i]);
  }
  int64_t mels = 0, dft = 0;
  double rate = v[2][0], lo = v[3][0], hi = v[4][0];
  if (!ox_f64_to_i64(v[0][0], &mels) || !ox_f64_to_i64(v[1][0], &dft) || mels < 1 ||
      mels > 4096 || dft < 1 || dft > (1 << 20) || !(rate > 0))
    return OX_INVALID(c, n, "num_mel_bins, dft_length or sample_rate out of range");
  ug_dtype_t dt = UG_DTYPE_F32;
  if (ox_attr(n, "output_datatype") &&
      !ox_dtype_from_onnx(ox_attr_int(n, "output_datatype", 1), &dt))
    return OX_UNSUP(c, n, "output_datatype is not supported");
  int64_t bins = dft / 2 + 1;
  if (bins * mels > ((int64_t)1 << 24)) return OX_UNSUP(c, n, "MelWeightMatrix too large");
  double mlo = 2595 * log10(1 + lo / 700), mhi = 2595 * log10(1 + hi / 700);
  double step = (mhi - mlo) / (double)(mels + 2);
  int64_t *edge = ug_arena_alloc(c->a, (size_t)(mels + 2) * sizeof *edge);
  for (int64_t i = 0; i < mels + 2; i++) {
    double hz = 700 * (pow(10, ((double)i * step + mlo) / 2595) - 1);
    if (!ox_f64_to_i64(floor((double)(dft + 1) * hz / rate), &edge[i]))
      return OX_INVALID(c, n, "lower_edge_hertz, upper_edge_hertz or sample_rate out of range");
  }
  ox_kv_t *kv = ox_kv_alloc(c, (uint32_t)(bins * mels));
  for (int64_t i = 0; i < bins * mels; i++) kv[i] = (ox_kv_t){0, 0, false};
  for (int64_t m = 0; m < mels; m++) {
    int64_t l = edge[m], ctr = edge[m + 1], h = edge[m + 2];
    if (l < 0 || ctr < l || h < ctr || h >= bins + 1 || ctr >= bins)
      return OX_INVALID(c, n, "mel band %lld falls outside the spectrogram", (long long)m);
    if (ctr == l) kv[ctr * mels + m].f = 1;
    for (int64_t j = l; ctr > l && j <= ctr; j++)
      kv[j * mels + m].f = (double)(j - l) / (double)(ctr - l);
    for (int64_t j = ctr; h > ctr && j < h; j++)
      kv[j * mels + m].f = (double)(h - j) / (double)(h - ctr);
  }
  for (int64_t i = 0; i < bins * mels; i++) kv[i] = ox_kv_cast(kv[i], UG_DTYPE_F64, dt);
  void *bytes;
  uint64_t size;
  if (!ox_kv_to_bytes(c, kv, (uint32_t)(bins * mels), dt, &bytes, &size))
    return OX_UNSUP(c, n, "output_datatype is not supported");
  ug_dim_t dims[2] = {bins, mels};
  ug_type_t t = ug_type_make(dt, 2, dims);
  ug_value_id_t y;
  UG_RETURN_IF_ERROR(ox_const_bytes(c, n, &t, bytes, size, &y));
  return ox_set_out(c, n, 0, y);
}

/* ReverseSequence: gather_elements along the time axis with indices
 * t < len[b] ? len[b] - 1 - t : t. */
static ug_status_t h_reverse_sequence(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, lens, iota, lt, rev, one, idx, y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  UG_RETURN_IF_ERROR(ox_in(c, n, 1, &lens));
  const ug_type_t tx = *ox_type(c, x);
  int64_t ta = ox_attr_int(n, "time_axis", 0), ba = ox_attr_int(n, "batch_axis", 1);
  if (tx.rank < 2 || !((ta == 0 && ba == 1) || (ta == 1 && ba == 0)))
    return OX_INVALID(c, n, "time_axis and batch_axis must be 0 and 1");
  ug_dim_t T = tx.dims[ta], B = tx.dims[ba];
  if (!UG_DIM_IS_STATIC(T) || T > ((int64_t)1 << 20))
    return OX_UNSUP(c, n, "the time axis must be static (at most 2^20)");
  int64_t *v = ug_arena_alloc(c->a, (size_t)(T ? T : 1) * 8);
  for (int64_t i = 0; i < T; i++) v[i] = i;
  ug_dim_t it_dims[2], len_dims[2];
  it_dims[ta] = T;
  it_dims[ba] = 1;
  len_dims[ta] = 1;
  len_dims[ba] = B;
  ug_type_t it = ug_type_make(UG_DTYPE_I64, 2, it_dims);
  UG_RETURN_IF_ERROR(ox_const_bytes(c, n, &it, v, (uint64_t)T * 8, &iota));
  UG_RETURN_IF_ERROR(ox_cast(c, n, lens, UG_DTYPE_I64, &lens));
  UG_RETURN_IF_ERROR(ox_reshape(c, n, lens, 2, len_dims, &lens));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_LESS, iota, lens, &lt));
  UG_RETURN_IF_ERROR(ox_const_scalar(c, n, UG_DTYPE_I64, 1, &one));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_SUB, lens, one, &rev));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_SUB, rev, iota, &rev));
  UG_RETURN_IF_ERROR(
      ox_emit(c, n, UG_OP_WHERE, (ug_value_id_t[]){lt, rev, iota}, 3, NULL, 0, NULL, 1, &idx));
  ug_dim_t full[UG_MAX_RANK];
  full[0] = ox_type(c, idx)->dims[0];
  full[1] = ox_type(c, idx)->dims[1];
  for (int i = 2; i < tx.rank; i++) full[i] = 1;
  UG_RETURN_IF_ERROR(ox_reshape(c, n, idx, tx.rank, full, &idx));
  ug_type_t et = tx;
  et.dtype = UG_DTYPE_I64;
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_EXPAND, &idx, 1, NULL, 0, &et, 1, &idx));
  ug_attr_t a = ug_attr_int(UG_ATTR_AXIS, ta);
  UG_RETURN_IF_ERROR(
      ox_emit(c, n, UG_OP_GATHER_ELEMENTS, (ug_value_id_t[]){x, idx}, 2, &a, 1, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

/* OneHot: where(unsqueeze(idx, axis) == iota, on, off), negative indices
 * counted from depth. */
static ug_status_t h_one_hot(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t idx, vals, depth_v, zero, neg, wrapped, iota, eq, on, off, y;
  double *dv;
  uint32_t cnt;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &idx));
  UG_RETURN_IF_ERROR(ox_in_floats(c, n, 1, "depth", &dv, &cnt));
  if (cnt != 1 || !(dv[0] >= 1 && dv[0] <= (double)(1 << 20))) /* NaN fails too */
    return OX_UNSUP(c, n, "depth must be a scalar in [1, 2^20]");
  int64_t depth = (int64_t)dv[0];
  UG_RETURN_IF_ERROR(ox_in(c, n, 2, &vals));
  const ug_type_t ti = *ox_type(c, idx);
  int orank = ti.rank + 1;
  if (orank > UG_MAX_RANK) return OX_UNSUP(c, n, "rank exceeds the maximum rank");
  int64_t axis;
  if (!ox_axis(ox_attr_int(n, "axis", -1), orank, &axis))
    return OX_INVALID(c, n, "axis out of range");
  UG_RETURN_IF_ERROR(ox_cast(c, n, idx, UG_DTYPE_I64, &idx));
  UG_RETURN_IF_ERROR(ox_const_i64(c, n, UG_DTYPE_I64, depth, &depth_v));
  UG_RETURN_IF_ERROR(ox_const_scalar(c, n, UG_DTYPE_I64, 0, &zero));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_LESS, idx, zero, &neg));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_ADD, idx, depth_v, &wrapped));
  UG_RETURN_IF_ERROR(
      ox_emit(c, n, UG_OP_WHERE, (ug_value_id_t[]){neg, wrapped, idx}, 3, NULL, 0, NULL, 1, &idx));
  ug_attr_t ua = ug_attr_ints(UG_ATTR_AXES, &axis, 1);
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_UNSQUEEZE, &idx, 1, &ua, 1, NULL, 1, &idx));
  ug_dim_t dims[UG_MAX_RANK];
  for (int i = 0; i < orank; i++) dims[i] = i == axis ? depth : 1;
  int64_t *v = ug_arena_alloc(c->a, (size_t)depth * 8);
  for (int64_t i = 0; i < depth; i++) v[i] = i;
  ug_type_t it = ug_type_make(UG_DTYPE_I64, orank, dims);
  UG_RETURN_IF_ERROR(ox_const_bytes(c, n, &it, v, (uint64_t)depth * 8, &iota));
  UG_RETURN_IF_ERROR(ox_emit2(c, n, UG_OP_EQUAL, idx, iota, &eq));
  int64_t ax0 = 0, st = 1, s0 = 0, e0 = 1, s1 = 1, e1 = 2;
  ug_attr_t a0[4] = {ug_attr_ints(UG_ATTR_AXES, &ax0, 1), ug_attr_ints(UG_ATTR_STARTS, &s0, 1),
                     ug_attr_ints(UG_ATTR_ENDS, &e0, 1), ug_attr_ints(UG_ATTR_STEPS, &st, 1)};
  ug_attr_t a1[4] = {ug_attr_ints(UG_ATTR_AXES, &ax0, 1), ug_attr_ints(UG_ATTR_STARTS, &s1, 1),
                     ug_attr_ints(UG_ATTR_ENDS, &e1, 1), ug_attr_ints(UG_ATTR_STEPS, &st, 1)};
  if (ox_type(c, vals)->rank != 1) return OX_INVALID(c, n, "values must be 1-D with 2 elements");
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SLICE, &vals, 1, a0, 4, NULL, 1, &off));
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_SLICE, &vals, 1, a1, 4, NULL, 1, &on));
  UG_RETURN_IF_ERROR(ox_reshape(c, n, off, 0, NULL, &off));
  UG_RETURN_IF_ERROR(ox_reshape(c, n, on, 0, NULL, &on));
  UG_RETURN_IF_ERROR(
      ox_emit(c, n, UG_OP_WHERE, (ug_value_id_t[]){eq, on, off}, 3, NULL, 0, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_trilu(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t ops[2], y;
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &ops[0]));
  ug_attr_t at[2] = {ug_attr_int(UG_ATTR_UPPER, ox_attr_int(n, "upper", 1))};
  uint32_t nops = 1, nat = 1;
  uint32_t cnt;
  if (ox_has_in(n, 1) && ox_in_known(c, n, 1, &cnt)) {
    /* k known at import: an attribute */
    int64_t *kv;
    UG_RETURN_IF_ERROR(ox_in_ints(c, n, 1, "k", &kv, &cnt));
    if (cnt != 1) return OX_INVALID(c, n, "k must be a scalar");
    at[nat++] = ug_attr_int(UG_ATTR_K, kv[0]);
  } else if (ox_has_in(n, 1)) {
    /* k computed at run time: an operand the kernel reads */
    UG_RETURN_IF_ERROR(ox_in(c, n, 1, &ops[nops++]));
  }
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_TRILU, ops, nops, at, nat, NULL, 1, &y));
  return ox_set_out(c, n, 0, y);
}

static ug_status_t h_topk(ox_ctx_t *c, ox_node_t *n, int arg) {
  ug_value_id_t x, ys[2];
  UG_RETURN_IF_ERROR(ox_in(c, n, 0, &x));
  int64_t k;
  if (n->opset < 10) {
    if (!ox_attr(n, "k")) return OX_INVALID(c, n, "k is required");
    k = ox_attr_int(n, "k", 0);
  } else {
    int64_t *kv;
    uint32_t cnt;
    UG_RETURN_IF_ERROR(ox_in_ints(c, n, 1, "k", &kv, &cnt));
    if (cnt != 1) return OX_INVALID(c, n, "k must have one element");
    k = kv[0];
  }
  int64_t axis;
  if (!ox_axis(ox_attr_int(n, "axis", -1), ox_type(c, x)->rank, &axis))
    return OX_INVALID(c, n, "axis out of range");
  if (k < 0) return OX_INVALID(c, n, "k must not be negative");
  ug_attr_t at[4] = {ug_attr_int(UG_ATTR_AXIS, axis), ug_attr_int(UG_ATTR_K, k),
                     ug_attr_int(UG_ATTR_LARGEST, ox_attr_int(n, "largest", 1)),
                     ug_attr_int(UG_ATTR_SORTED, ox_attr_int(n, "sorted", 1))};
  UG_RETURN_IF_ERROR(ox_emit(c, n, UG_OP_TOPK, &x, 1, at, 4, NULL, 2, ys));
  UG_RETURN_IF_ERROR(ox_set_out(c, n, 0, ys[0]));
  if (ox_num_out(n) > 1) UG_RETURN_IF_ERROR(ox_set_out(c, n, 1, ys[1]));
  return NULL;
}

const ox_op_entry_t ox_tensor_ops[] = {
    {"Constant", h_constant, 0,
     "value value_float value_floats value_int value_ints value_string value_strings sparse_value"},
    {"ConstantOfShape", h_constant_of_shape, 0, "value"},
    {"Range", h_range, 0, ""},
    {"EyeLike", h_eye_like, 0, "dtype k"},
    {"OneHot", h_one_hot, 0, "axis"},
    {"Trilu", h_trilu, 0, "upper"},
    {"TopK", h_topk, 0, "axis k largest sorted"},
    {"HannWindow", h_window, W_HANN, "output_datatype periodic"},
    {"HammingWindow", h_window, W_HAMMING, "output_datatype periodic"},
    {"BlackmanWindow", h_window, W_BLACKMAN, "output_datatype periodic"},
    {"MelWeightMatrix", h_mel_weight_matrix, 0, "output_datatype"},
    {"ReverseSequence", h_reverse_sequence, 0, "batch_axis time_axis"},
    {NULL, NULL, 0, NULL},
};
