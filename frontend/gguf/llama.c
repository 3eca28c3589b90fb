/* The llama-family graph builder (llama.h).  One table row per architecture
 * says what differs between them; everything else is shared. */
#include "frontend/gguf/llama.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frontend/gguf/gguf.h"
#include "ir/text.h"

/* How a rotary embedding pairs the dims of a head: `normal` rotates (2i,
 * 2i+1), as ggml's default mode on llama's Q/K rows (which the GGUF
 * converter permutes for it); `neox` rotates (i, i + d/2). */
typedef enum { ROPE_NORMAL, ROPE_NEOX } rope_mode_t;

typedef struct {
  const char *name;     /* general.architecture, also the prefix of its keys */
  bool qkv_bias;        /* attn_{q,k,v}.bias are required */
  rope_mode_t rope;
} arch_t;

static const arch_t ARCHS[] = {
    {"llama", false, ROPE_NORMAL},
    {"qwen2", true, ROPE_NEOX},
};

#define CACHE_CAP_TOKENS 4096
#define CACHE_CAP_BYTES (INT64_C(2) << 30)

void ug_gguf_import_options_init(ug_gguf_import_options_t *o) {
  memset(o, 0, sizeof *o);
  o->act_dtype = UG_DTYPE_F32;
}

typedef struct {
  ug_module_t *m;
  ug_gguf_t *f;
  const arch_t *arch;
  const char *origin;
  ug_dtype_t act;
  int64_t n_vocab, n_embd, n_layer, n_ff, n_head, n_head_kv, head_dim, ctx;
  double eps, rope_base;
  /* the graph being built */
  ug_graph_t *g;
  ug_status_t st; /* the first error; later calls do nothing */
  ug_value_id_t cos, sin, positions;
  ug_value_id_t cache_idx; /* [KV, S, 2]: (head, position) of each new cache row */
  ug_value_id_t visible;   /* [S, C]: key j is visible to token s when j <= positions[s] */
} bld_t;

static ug_status_t errf(bld_t *b, const char *fmt, ...) UG_PRINTF(2, 3);
static ug_status_t errf(bld_t *b, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ug_status_make(UG_ERR_INVALID, b->origin, "%s", msg);
}

/* ---- metadata ---- */

static ug_status_t key_int(bld_t *b, const char *suffix, bool required, int64_t dflt, int64_t *out) {
  char key[128];
  snprintf(key, sizeof key, "%s.%s", b->arch->name, suffix);
  *out = dflt;
  if (ug_gguf_find_key(b->f, key) < 0)
    return required ? errf(b, "missing metadata key %s", key) : NULL;
  UG_RETURN_IF_ERROR(ug_gguf_get_int(b->f, key, out));
  if (*out <= 0 || *out > (INT64_C(1) << 32)) return errf(b, "%s = %lld is out of range", key, (long long)*out);
  return NULL;
}

static ug_status_t key_float(bld_t *b, const char *suffix, bool required, double dflt, double *out) {
  char key[128];
  snprintf(key, sizeof key, "%s.%s", b->arch->name, suffix);
  *out = dflt;
  if (ug_gguf_find_key(b->f, key) < 0)
    return required ? errf(b, "missing metadata key %s", key) : NULL;
  UG_RETURN_IF_ERROR(ug_gguf_get_float(b->f, key, out));
  if (!(*out > 0) || !isfinite(*out)) return errf(b, "%s = %g is out of range", key, *out);
  return NULL;
}

static ug_status_t read_hparams(bld_t *b, const ug_gguf_import_options_t *o) {
  int64_t rot, ctx_len;
  UG_RETURN_IF_ERROR(key_int(b, "embedding_length", true, 0, &b->n_embd));
  UG_RETURN_IF_ERROR(key_int(b, "block_count", true, 0, &b->n_layer));
  UG_RETURN_IF_ERROR(key_int(b, "feed_forward_length", true, 0, &b->n_ff));
  UG_RETURN_IF_ERROR(key_int(b, "attention.head_count", true, 0, &b->n_head));
  UG_RETURN_IF_ERROR(key_int(b, "attention.head_count_kv", false, b->n_head, &b->n_head_kv));
  UG_RETURN_IF_ERROR(key_int(b, "context_length", true, 0, &ctx_len));
  UG_RETURN_IF_ERROR(key_float(b, "attention.layer_norm_rms_epsilon", true, 0, &b->eps));
  UG_RETURN_IF_ERROR(key_float(b, "rope.freq_base", false, 10000.0, &b->rope_base));
  if (b->n_embd % b->n_head) return errf(b, "embedding_length %lld is not a multiple of head_count %lld", (long long)b->n_embd, (long long)b->n_head);
  UG_RETURN_IF_ERROR(key_int(b, "attention.key_length", false, b->n_embd / b->n_head, &b->head_dim));
  int64_t vlen;
  UG_RETURN_IF_ERROR(key_int(b, "attention.value_length", false, b->head_dim, &vlen));
  UG_RETURN_IF_ERROR(key_int(b, "rope.dimension_count", false, b->head_dim, &rot));
  if (b->n_head % b->n_head_kv)
    return errf(b, "head_count %lld is not a multiple of head_count_kv %lld", (long long)b->n_head, (long long)b->n_head_kv);
  if (vlen != b->head_dim) return errf(b, "attention.value_length %lld differs from the key length %lld: not supported", (long long)vlen, (long long)b->head_dim);
  if (rot != b->head_dim || b->head_dim % 2)
    return ug_status_make(UG_ERR_UNSUPPORTED, b->origin, "rope.dimension_count %lld with head dim %lld: only a rotary embedding over whole heads of even size is supported",
                          (long long)rot, (long long)b->head_dim);
  if (b->n_layer > 4096) return errf(b, "block_count %lld is out of range", (long long)b->n_layer);
  b->ctx = o->ctx;
  if (b->ctx <= 0) {
    int64_t per_token = 2 * b->n_layer * b->n_head_kv * b->head_dim * (ug_dtype_bits(b->act) / 8);
    b->ctx = ctx_len < CACHE_CAP_TOKENS ? ctx_len : CACHE_CAP_TOKENS;
    if (per_token > 0 && b->ctx > CACHE_CAP_BYTES / per_token) b->ctx = CACHE_CAP_BYTES / per_token;
    if (b->ctx < 1) b->ctx = 1;
  }
  if (b->ctx > (INT64_C(1) << 24)) return errf(b, "a KV cache of %lld tokens is too large", (long long)b->ctx);
  return NULL;
}

/* ---- weights ---- */

/* The const node of GGUF tensor `name` (NULL status and *out UG_NONE when
 * it is absent and optional), checked to be [rows, cols] (rows 0: a vector
 * of cols).  Registered as a module weight the first time. */
static ug_status_t tensor(bld_t *b, const char *name, bool required, int64_t rows, int64_t cols,
                          ug_value_id_t *out) {
  *out = UG_NONE;
  const ug_gguf_tensor_t *t = ug_gguf_find_tensor(b->f, name);
  if (!t) return required ? errf(b, "missing tensor %s", name) : NULL;
  ug_type_t ty;
  UG_RETURN_IF_ERROR(ug_gguf_tensor_type(b->f, t, &ty));
  bool ok = rows ? ty.rank == 2 && ty.dims[0] == rows && ty.dims[1] == cols : ty.rank == 1 && ty.dims[0] == cols;
  if (!ok) {
    char want[64];
    if (rows) snprintf(want, sizeof want, "[%lld, %lld]", (long long)rows, (long long)cols);
    else snprintf(want, sizeof want, "[%lld]", (long long)cols);
    char have[128];
    ug_type_format(NULL, &ty, have, sizeof have);
    return errf(b, "tensor %s is %s; expected shape %s", name, have, want);
  }
  if (!rows && !ug_dtype_is_float(ty.dtype)) return errf(b, "tensor %s is %s; expected a float type", name, ug_dtype_name(ty.dtype));
  ug_weight_id_t w;
  UG_RETURN_IF_ERROR(ug_module_add_weight(b->m, ug_arena_strdup(b->m->arena, name), &ty, t->data, t->size,
                                          ug_hash_bytes(t->data, t->size), &w));
  return ug_graph_add_const(b->g, w, name, out);
}

/* ---- nodes ---- */

static ug_value_id_t node(bld_t *b, ug_op_t op, const char *loc, const ug_value_id_t *opnds, uint32_t n,
                          const ug_attr_t *attrs, uint32_t na, const ug_type_t *type) {
  if (b->st) return UG_NONE;
  for (uint32_t i = 0; i < n; i++)
    if (opnds[i] == UG_NONE) return UG_NONE; /* an earlier call failed */
  ug_value_id_t r = UG_NONE;
  b->st = ug_graph_add_node(b->g, op, opnds, n, attrs, na, type, 1, loc, &r, NULL);
  return r;
}

#define V(...) ((const ug_value_id_t[]){__VA_ARGS__}), (uint32_t)(sizeof((ug_value_id_t[]){__VA_ARGS__}) / sizeof(ug_value_id_t))

static ug_value_id_t op1(bld_t *b, ug_op_t op, const char *loc, ug_value_id_t x) { return node(b, op, loc, V(x), NULL, 0, NULL); }
static ug_value_id_t op2(bld_t *b, ug_op_t op, const char *loc, ug_value_id_t x, ug_value_id_t y) {
  return node(b, op, loc, V(x, y), NULL, 0, NULL);
}

static ug_value_id_t cast(bld_t *b, const char *loc, ug_value_id_t x, ug_dtype_t to) {
  if (b->st || ug_value_type(b->g, x)->dtype == to) return x;
  ug_attr_t a = ug_attr_dtype(UG_ATTR_TO, to);
  return node(b, UG_OP_CAST, loc, V(x), &a, 1, NULL);
}

static ug_value_id_t reshape(bld_t *b, const char *loc, ug_value_id_t x, int rank, const ug_dim_t *dims) {
  if (b->st) return UG_NONE;
  ug_type_t t = ug_type_make(ug_value_type(b->g, x)->dtype, rank, dims);
  return node(b, UG_OP_RESHAPE, loc, V(x), NULL, 0, &t);
}

static ug_value_id_t transpose(bld_t *b, const char *loc, ug_value_id_t x, const int64_t *perm, uint32_t n) {
  ug_attr_t a = ug_attr_ints(UG_ATTR_PERM, perm, n);
  return node(b, UG_OP_TRANSPOSE, loc, V(x), &a, 1, NULL);
}

static ug_value_id_t slice(bld_t *b, const char *loc, ug_value_id_t x, int64_t axis, int64_t start, int64_t end) {
  int64_t one = 1;
  ug_attr_t a[4] = {ug_attr_ints(UG_ATTR_AXES, &axis, 1), ug_attr_ints(UG_ATTR_STARTS, &start, 1),
                    ug_attr_ints(UG_ATTR_ENDS, &end, 1), ug_attr_ints(UG_ATTR_STEPS, &one, 1)};
  return node(b, UG_OP_SLICE, loc, V(x), a, 4, NULL);
}

static ug_value_id_t concat2(bld_t *b, const char *loc, ug_value_id_t x, ug_value_id_t y, int64_t axis) {
  ug_attr_t a = ug_attr_int(UG_ATTR_AXIS, axis);
  return node(b, UG_OP_CONCAT, loc, V(x, y), &a, 1, NULL);
}

/* A constant of `n` elements of dtype dt (f32, i64 or the activation
 * dtype, given as doubles) and shape dims. */
static ug_value_id_t constant(bld_t *b, const char *loc, ug_dtype_t dt, const double *v, int rank, const ug_dim_t *dims) {
  if (b->st) return UG_NONE;
  ug_type_t t = ug_type_make(dt, rank, dims);
  int64_t n = 1, bytes;
  for (int i = 0; i < rank; i++) n *= dims[i];
  ug_dtype_bytes(dt, n, &bytes);
  uint8_t *data = ug_arena_alloc(b->m->arena, (size_t)bytes + 1);
  for (int64_t i = 0; i < n; i++) {
    if (dt == UG_DTYPE_I64) {
      int64_t x = (int64_t)v[i];
      memcpy(data + 8 * i, &x, 8);
    } else if (dt == UG_DTYPE_F32) {
      float x = (float)v[i];
      memcpy(data + 4 * i, &x, 4);
    } else {
      uint16_t h = dt == UG_DTYPE_F16 ? ug_f32_to_f16((float)v[i]) : ug_f32_to_bf16((float)v[i]);
      memcpy(data + 2 * i, &h, 2);
    }
  }
  ug_weight_id_t w;
  b->st = ug_module_add_weight(b->m, NULL, &t, data, (uint64_t)bytes, ug_hash_bytes(data, (uint64_t)bytes), &w);
  ug_value_id_t r = UG_NONE;
  if (!b->st) b->st = ug_graph_add_const(b->g, w, loc, &r);
  return r;
}

static ug_value_id_t scalar(bld_t *b, const char *loc, ug_dtype_t dt, double v) {
  return constant(b, loc, dt, &v, 0, NULL);
}

/* A weight of the file as an operand of activation dtype (norm scales and
 * biases are f32 in GGUF files; the const folder converts them once). */
static ug_value_id_t act_tensor(bld_t *b, const char *name, bool required, int64_t n) {
  if (b->st) return UG_NONE;
  ug_value_id_t v;
  b->st = tensor(b, name, required, 0, n, &v);
  return v == UG_NONE ? UG_NONE : cast(b, name, v, b->act);
}

static ug_value_id_t matrix(bld_t *b, const char *name, int64_t rows, int64_t cols) {
  if (b->st) return UG_NONE;
  ug_value_id_t v;
  b->st = tensor(b, name, true, rows, cols, &v);
  return v;
}

static ug_value_id_t rms_norm(bld_t *b, const char *loc, ug_value_id_t x, ug_value_id_t w) {
  ug_attr_t a[2] = {ug_attr_int(UG_ATTR_AXIS, -1), ug_attr_float(UG_ATTR_EPSILON, b->eps)};
  return node(b, UG_OP_RMS_NORM, loc, V(x, w), a, 2, NULL);
}

static ug_value_id_t linear(bld_t *b, const char *loc, ug_value_id_t x, ug_value_id_t w, ug_value_id_t bias) {
  if (bias == UG_NONE) return node(b, UG_OP_LINEAR, loc, V(x, w), NULL, 0, NULL);
  return node(b, UG_OP_LINEAR, loc, V(x, w, bias), NULL, 0, NULL);
}

/* ---- the graph ---- */

/* cos and sin of positions * inv_freq, [S, head_dim/2] in the activation
 * dtype (computed in f32, as PyTorch does). */
static void rope_tables(bld_t *b, ug_dim_t S) {
  int64_t half = b->head_dim / 2;
  double *inv = malloc(sizeof(double) * (size_t)half);
  if (!inv) {
    b->st = ug_status_make(UG_ERR_NOMEM, b->origin, "out of memory");
    return;
  }
  for (int64_t i = 0; i < half; i++)
    inv[i] = (float)(1.0 / pow(b->rope_base, (double)(2 * i) / (double)b->head_dim));
  ug_dim_t d1[2] = {1, half}, s1[2] = {S, 1};
  ug_value_id_t freq = constant(b, "rope.inv_freq", UG_DTYPE_F32, inv, 2, d1);
  free(inv);
  ug_value_id_t pos = reshape(b, "rope", cast(b, "rope", b->positions, UG_DTYPE_F32), 2, s1);
  ug_value_id_t ang = op2(b, UG_OP_MUL, "rope", pos, freq);
  b->cos = cast(b, "rope", op1(b, UG_OP_COS, "rope", ang), b->act);
  b->sin = cast(b, "rope", op1(b, UG_OP_SIN, "rope", ang), b->act);
}

/* The scatter indices of the new cache rows and the causal mask. */
static void attention_indices(bld_t *b, ug_dim_t S) {
  int64_t KV = b->n_head_kv, C = b->ctx, n = KV > C ? KV : C;
  double *iota = malloc(sizeof(double) * (size_t)n);
  if (!iota) {
    if (!b->st) b->st = ug_status_make(UG_ERR_NOMEM, b->origin, "out of memory");
    return;
  }
  for (int64_t j = 0; j < n; j++) iota[j] = (double)j;
  ug_dim_t h3[3] = {KV, 1, 1}, p3[3] = {1, S, 1}, e3[3] = {KV, S, 1}, c2[2] = {1, C}, s2[2] = {S, 1};
  ug_value_id_t heads = constant(b, "attn", UG_DTYPE_I64, iota, 3, h3);
  ug_value_id_t keys = constant(b, "attn", UG_DTYPE_I64, iota, 2, c2);
  free(iota);
  ug_type_t et = ug_type_make(UG_DTYPE_I64, 3, e3);
  ug_value_id_t hx = node(b, UG_OP_EXPAND, "attn", V(heads), NULL, 0, &et);
  ug_value_id_t px = node(b, UG_OP_EXPAND, "attn", V(reshape(b, "attn", b->positions, 3, p3)), NULL, 0, &et);
  b->cache_idx = concat2(b, "attn", hx, px, 2);
  b->visible = op2(b, UG_OP_LESS_EQUAL, "attn_mask", keys, reshape(b, "attn", b->positions, 2, s2));
}

/* Rotates x [S, n, head_dim] by the position tables. */
static ug_value_id_t rope(bld_t *b, const char *loc, ug_value_id_t x, ug_dim_t S, int64_t n) {
  int64_t hd = b->head_dim, half = hd / 2;
  ug_value_id_t x0, x1, c, s;
  int axis;
  if (b->arch->rope == ROPE_NORMAL) {
    ug_dim_t d5[4] = {S, n, half, 2}, t4[4] = {S, 1, half, 1};
    ug_value_id_t xp = reshape(b, loc, x, 4, d5);
    x0 = slice(b, loc, xp, 3, 0, 1);
    x1 = slice(b, loc, xp, 3, 1, 2);
    c = reshape(b, loc, b->cos, 4, t4);
    s = reshape(b, loc, b->sin, 4, t4);
    axis = 3;
  } else {
    ug_dim_t t3[3] = {S, 1, half};
    x0 = slice(b, loc, x, 2, 0, half);
    x1 = slice(b, loc, x, 2, half, hd);
    c = reshape(b, loc, b->cos, 3, t3);
    s = reshape(b, loc, b->sin, 3, t3);
    axis = 2;
  }
  ug_value_id_t y0 = op2(b, UG_OP_SUB, loc, op2(b, UG_OP_MUL, loc, x0, c), op2(b, UG_OP_MUL, loc, x1, s));
  ug_value_id_t y1 = op2(b, UG_OP_ADD, loc, op2(b, UG_OP_MUL, loc, x0, s), op2(b, UG_OP_MUL, loc, x1, c));
  ug_value_id_t y = concat2(b, loc, y0, y1, axis);
  ug_dim_t d3[3] = {S, n, hd};
  return reshape(b, loc, y, 3, d3);
}

/* One transformer block: x [S, n_embd] -> x + attention + FFN. */
static ug_value_id_t block(bld_t *b, int64_t l, ug_value_id_t x, ug_dim_t S, ug_value_id_t *kc, ug_value_id_t *vc) {
  char nm[128], loc[64];
#define T(s) (snprintf(nm, sizeof nm, "blk.%lld." s, (long long)l), nm)
  snprintf(loc, sizeof loc, "blk.%lld", (long long)l);
  int64_t D = b->n_embd, H = b->n_head, KV = b->n_head_kv, hd = b->head_dim, G = H / KV, C = b->ctx;
  ug_value_id_t h = rms_norm(b, T("attn_norm"), x, act_tensor(b, T("attn_norm.weight"), true, D));
  ug_value_id_t bq = UG_NONE, bk = UG_NONE, bv = UG_NONE;
  bool bias_req = b->arch->qkv_bias;
  bq = act_tensor(b, T("attn_q.bias"), bias_req, H * hd);
  bk = act_tensor(b, T("attn_k.bias"), bias_req, KV * hd);
  bv = act_tensor(b, T("attn_v.bias"), bias_req, KV * hd);
  ug_value_id_t q = linear(b, T("attn_q"), h, matrix(b, T("attn_q.weight"), H * hd, D), bq);
  ug_value_id_t k = linear(b, T("attn_k"), h, matrix(b, T("attn_k.weight"), KV * hd, D), bk);
  ug_value_id_t v = linear(b, T("attn_v"), h, matrix(b, T("attn_v.weight"), KV * hd, D), bv);
  ug_dim_t qd[3] = {S, H, hd}, kd[3] = {S, KV, hd};
  q = rope(b, T("rope_q"), reshape(b, loc, q, 3, qd), S, H);
  k = rope(b, T("rope_k"), reshape(b, loc, k, 3, kd), S, KV);

  /* the cache update: rows `positions` of each head's [C, hd] */
  static const int64_t p_kv[3] = {1, 0, 2}, p_q[4] = {1, 3, 2, 0}, p_p[4] = {0, 2, 3, 1}, p_o[4] = {2, 0, 1, 3};
  *kc = node(b, UG_OP_SCATTER_ND, T("cache_k"), V(*kc, b->cache_idx, cast(b, loc, transpose(b, loc, k, p_kv, 3), b->act)), NULL, 0, NULL);
  ug_dim_t vd[3] = {S, KV, hd};
  *vc = node(b, UG_OP_SCATTER_ND, T("cache_v"), V(*vc, b->cache_idx, transpose(b, loc, reshape(b, loc, v, 3, vd), p_kv, 3)), NULL, 0, NULL);

  /* scores, keys first: [KV, C, G*S] = K [KV, C, hd] @ q^T [KV, hd, G*S], so
   * that neither cache is copied (only q and the probabilities move) */
  ug_dim_t GS = ug_dim_mul(b->m->dims, S, G); /* S may be symbolic */
  ug_dim_t q4[4] = {S, KV, G, hd}, q3[3] = {KV, hd, GS}, s4[4] = {KV, C, G, S}, p3[3] = {KV, GS, C};
  ug_value_id_t qt = reshape(b, loc, transpose(b, loc, reshape(b, loc, q, 4, q4), p_q, 4), 3, q3);
  ug_value_id_t sc = op2(b, UG_OP_MUL, T("attn_scores"), op2(b, UG_OP_MATMUL, T("attn_scores"), *kc, qt),
                         scalar(b, loc, b->act, 1.0 / sqrt((double)hd)));
  /* then [KV, G, S, C] (a small transpose of the scores) for a softmax
   * along the last axis, the fast row kernel */
  sc = transpose(b, loc, reshape(b, loc, sc, 4, s4), p_p, 4);
  ug_value_id_t masked = node(b, UG_OP_WHERE, T("attn_mask"), V(b->visible, sc, scalar(b, loc, b->act, -INFINITY)), NULL, 0, NULL);
  ug_attr_t ax = ug_attr_int(UG_ATTR_AXIS, -1);
  ug_value_id_t p = reshape(b, loc, node(b, UG_OP_SOFTMAX, T("attn_softmax"), V(masked), &ax, 1, NULL), 3, p3);
  ug_value_id_t o = op2(b, UG_OP_MATMUL, T("attn_out"), p, *vc); /* [KV, G*S, hd] */
  ug_dim_t o4[4] = {KV, G, S, hd}, od[2] = {S, H * hd};
  o = reshape(b, loc, transpose(b, loc, reshape(b, loc, o, 4, o4), p_o, 4), 2, od);
  o = linear(b, T("attn_output"), o, matrix(b, T("attn_output.weight"), D, H * hd), UG_NONE);
  x = op2(b, UG_OP_ADD, loc, x, o);

  /* SwiGLU feed-forward */
  int64_t F = b->n_ff;
  h = rms_norm(b, T("ffn_norm"), x, act_tensor(b, T("ffn_norm.weight"), true, D));
  ug_value_id_t gate = linear(b, T("ffn_gate"), h, matrix(b, T("ffn_gate.weight"), F, D), UG_NONE);
  ug_value_id_t up = linear(b, T("ffn_up"), h, matrix(b, T("ffn_up.weight"), F, D), UG_NONE);
  ug_value_id_t a = op2(b, UG_OP_MUL, T("ffn_act"), op1(b, UG_OP_SILU, T("ffn_act"), gate), up);
  ug_value_id_t down = linear(b, T("ffn_down"), a, matrix(b, T("ffn_down.weight"), D, F), UG_NONE);
#undef T
  return op2(b, UG_OP_ADD, loc, x, down);
}

static ug_status_t build_graph(bld_t *b, const char *name, ug_dim_t S) {
  b->g = ug_module_add_graph(b->m, name);
  ug_graph_t *g = b->g;
  ug_type_t tt = ug_type_make(UG_DTYPE_I32, 1, &S), pt = ug_type_make(UG_DTYPE_I64, 1, &S);
  ug_value_id_t tokens = ug_graph_add_input(g, "tokens", &tt);
  b->positions = ug_graph_add_input(g, "positions", &pt);
  int64_t L = b->n_layer;
  ug_value_id_t *caches = calloc((size_t)(2 * L), sizeof *caches);
  if (!caches) return ug_status_make(UG_ERR_NOMEM, b->origin, "out of memory");
  ug_dim_t cd[3] = {b->n_head_kv, b->ctx, b->head_dim};
  ug_type_t ct = ug_type_make(b->act, 3, cd);
  char nm[64];
  for (int64_t l = 0; l < L; l++) {
    snprintf(nm, sizeof nm, "cache.k.%lld", (long long)l);
    caches[2 * l] = ug_graph_add_input(g, ug_arena_strdup(b->m->arena, nm), &ct);
    snprintf(nm, sizeof nm, "cache.v.%lld", (long long)l);
    caches[2 * l + 1] = ug_graph_add_input(g, ug_arena_strdup(b->m->arena, nm), &ct);
    ug_value(g, caches[2 * l])->state = ug_value(g, caches[2 * l + 1])->state = true;
  }
  ug_value_id_t emb = matrix(b, "token_embd.weight", b->n_vocab, b->n_embd);
  ug_attr_t ax0 = ug_attr_int(UG_ATTR_AXIS, 0);
  ug_value_id_t x = cast(b, "token_embd", node(b, UG_OP_GATHER, "token_embd", V(emb, tokens), &ax0, 1, NULL), b->act);
  rope_tables(b, S);
  attention_indices(b, S);
  for (int64_t l = 0; l < L && !b->st; l++) x = block(b, l, x, S, &caches[2 * l], &caches[2 * l + 1]);
  x = rms_norm(b, "output_norm", x, act_tensor(b, "output_norm.weight", true, b->n_embd));
  ug_value_id_t head = UG_NONE;
  if (!b->st) b->st = tensor(b, "output.weight", false, b->n_vocab, b->n_embd, &head);
  if (head == UG_NONE) head = emb; /* tied embeddings */
  ug_value_id_t logits = cast(b, "output", linear(b, "output", x, head, UG_NONE), UG_DTYPE_F32);
  if (!b->st) {
    ug_graph_add_output(g, logits, "logits");
    for (int64_t l = 0; l < 2 * L; l++) ug_graph_add_output(g, caches[l], ug_value(g, g->inputs.items[2 + l])->name);
  }
  free(caches);
  return b->st;
}

/* The metadata as a GGUF file of its own: bytes [0, end of key/values) with
 * the tensor count set to 0. */
static void keep_metadata(bld_t *b) {
  uint64_t size, end = ug_gguf_metadata_end(b->f);
  const uint8_t *img = ug_gguf_image(b->f, &size);
  uint8_t *md = ug_arena_dup(b->m->arena, img, (size_t)end);
  memset(md + 8, 0, 8); /* after "GGUF" and the u32 version */
  b->m->metadata = md;
  b->m->metadata_size = end;
}

/* Builds the module from an opened file (path NULL: a buffer, whose bytes
 * the module must not outlive; the caller closes f either way). */
static ug_status_t import_file(ug_gguf_t *f, const char *origin, const char *path,
                               const ug_gguf_import_options_t *o, ug_module_t **out) {
  *out = NULL;
  ug_gguf_import_options_t dflt;
  if (!o) {
    ug_gguf_import_options_init(&dflt);
    o = &dflt;
  }
  if (o->act_dtype != UG_DTYPE_F32 && o->act_dtype != UG_DTYPE_F16 && o->act_dtype != UG_DTYPE_BF16)
    return ug_status_make(UG_ERR_INVALID, origin, "the activation dtype must be f32, f16 or bf16");
  bld_t b = {.origin = origin, .act = o->act_dtype, .f = f};
  ug_gguf_str_t an;
  ug_status_t st = ug_gguf_get_str(b.f, "general.architecture", &an);
  for (size_t i = 0; !st && i < sizeof ARCHS / sizeof ARCHS[0]; i++)
    if (an.len == strlen(ARCHS[i].name) && memcmp(an.ptr, ARCHS[i].name, an.len) == 0) b.arch = &ARCHS[i];
  if (!st && !b.arch) {
    char known[128] = "";
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
      snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", ARCHS[i].name);
    char name[72];
    size_t n = an.len > 64 ? 64 : (size_t)an.len, k = 0;
    for (size_t i = 0; i < n; i++) name[k++] = an.ptr[i] >= 32 && an.ptr[i] < 127 ? an.ptr[i] : '?';
    name[k] = 0;
    st = ug_status_make(UG_ERR_UNSUPPORTED, origin, "unknown architecture '%s' (supported: %s)", name, known);
  }
  if (!st) st = read_hparams(&b, o);
  const ug_gguf_tensor_t *emb = st ? NULL : ug_gguf_find_tensor(b.f, "token_embd.weight");
  if (!st && !emb) st = errf(&b, "missing tensor token_embd.weight");
  if (!st) {
    b.n_vocab = emb->ne[1];
    if (emb->n_dims != 2 || b.n_vocab < 1 || b.n_vocab > INT32_MAX)
      st = errf(&b, "token_embd.weight must be a matrix with at most 2^31-1 rows");
    else if (emb->ne[0] != b.n_embd)
      st = errf(&b, "token_embd.weight has rows of %lld, embedding_length is %lld", (long long)emb->ne[0],
                (long long)b.n_embd);
  }
  /* sizes from the metadata must match the tensors (which the file bounds)
   * before anything is allocated by them */
  const ug_gguf_tensor_t *wq = st ? NULL : ug_gguf_find_tensor(b.f, "blk.0.attn_q.weight");
  if (!st && (!wq || wq->n_dims != 2 || wq->ne[1] != b.n_head * b.head_dim))
    st = errf(&b, "blk.0.attn_q.weight must be a matrix of head_count x key_length = %lld rows",
              (long long)(b.n_head * b.head_dim));
  if (!st) {
    b.m = ug_module_create();
    uint64_t size;
    const void *img = ug_gguf_image(b.f, &size);
    if (path) {
      b.m->source.path = ug_arena_strdup(b.m->arena, path);
      b.m->source.base = img;
      b.m->source.size = size;
    }
    keep_metadata(&b);
    st = build_graph(&b, "prefill", ug_dim_sym(b.m->dims, "seq"));
    if (!st) st = build_graph(&b, "decode", 1);
  }
  if (st) {
    ug_module_destroy(b.m);
    return st;
  }
  *out = b.m;
  return NULL;
}

ug_status_t ug_gguf_import(const char *path, const ug_gguf_import_options_t *o, ug_module_t **out) {
  *out = NULL;
  ug_gguf_t *f;
  UG_RETURN_IF_ERROR(ug_gguf_open(path, &f));
  ug_status_t st = import_file(f, path, path, o, out);
  if (!st) {
    void *addr;
    size_t size;
    if (ug_gguf_release_mapping(f, &addr, &size)) ug_module_adopt_mapping(*out, addr, size);
  }
  ug_gguf_close(f);
  return st;
}

ug_status_t ug_gguf_import_buffer(const void *data, size_t size, const char *origin,
                                  const ug_gguf_import_options_t *o, ug_module_t **out) {
  *out = NULL;
  ug_gguf_t *f;
  UG_RETURN_IF_ERROR(ug_gguf_open_buffer(data, size, origin, &f));
  ug_status_t st = import_file(f, origin, NULL, o, out);
  ug_gguf_close(f);
  return st;
}
