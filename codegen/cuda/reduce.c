/* CUDA kernels of the reduce family (see kernel.h): reduce_sum, reduce_mean,
 * reduce_max, reduce_min, reduce_prod, argmax, argmin, softmax, log_softmax,
 * cumsum, layer_norm, rms_norm, batch_norm, instance_norm, lrn and topk.
 * Semantics are the CPU backend's (codegen/llvm/reduce.c, pool.c for lrn):
 * the same accumulation types (f32 for f16/bf16, the integer type, wrapping,
 * for integers), the same identities for empty reductions (max -inf, min
 * +inf, mean 0/0), NaN-propagating max/min, ordered comparisons in
 * argmax/argmin and topk (a NaN never wins, except argmax's first element),
 * the CPU's tie-breaking, and the same formulas step by step (mean first,
 * then the centred sum of squares; 1/sqrt(var + eps)).
 *
 * Row kernels.  A contiguous row (softmax and log_softmax over the last
 * axis, layer_norm, rms_norm, instance_norm, and reductions whose reduced
 * axes are the trailing ones) is processed by one warp (rows of up to 32
 * elements per lane) or one block (longer rows).  With a static row length
 * the row is loaded once into registers and every later pass reads them;
 * otherwise each pass re-reads the row (it is then usually in L1/L2).  Rows
 * use 16-byte vector loads and stores when the row pointers are aligned
 * (checked per row at run time; the widest vector dividing a static length),
 * and are reduced with warp shuffles plus, for blocks, one shared-memory
 * exchange; every thread computes the same total in the same order.
 *
 * Everything else runs one thread per output element or per line along the
 * axis (reductions over leading or middle axes, softmax over a non-trailing
 * axis, argmax, cumsum, topk), with consecutive threads on consecutive inner
 * elements so loads coalesce; batch_norm and lrn are elementwise. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cuda/kernel.h"

typedef ug_cuda_kctx_t kctx_t;

#define PROD UG_CUDA_PROD
#define EXPR UG_CUDA_EXPR
/* Row kernels: at most this many blocks, each looping over rows. */
#define ROW_MAX_GRID 65535
/* Rows per 256-thread block when a warp owns a row. */
#define WARP_ROWS 8

static void P(kctx_t *k, const char *fmt, ...) UG_PRINTF(2, 3);
static void P(kctx_t *k, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(k->f, fmt, ap);
  va_end(ap);
}

/* The C types of a dtype: compute, storage, and the libm suffix. */
typedef struct {
  ug_dtype_t dt;
  const char *ct, *st, *sfx;
  bool fl;
  int bytes;
} ty_t;

static ty_t ty_of(ug_dtype_t dt) {
  ty_t t = {.dt = dt, .ct = ug_cuda_ctype(dt), .st = ug_cuda_stype(dt), .fl = ug_dtype_is_float(dt)};
  t.sfx = dt == UG_DTYPE_F64 ? "" : "f";
  t.bytes = ug_dtype_bits(dt) / 8;
  return t;
}

static const char *ld(ug_dtype_t dt, const char *src, char *buf, size_t n) {
  ug_cuda_load_expr(dt, src, buf, n);
  return buf;
}

static const char *stx(ug_dtype_t dt, const char *v, char *buf, size_t n) {
  ug_cuda_store_expr(dt, v, buf, n);
  return buf;
}

/* A double constant as a value of the compute type (rounded as the CPU's
 * LLVMConstReal rounds it). */
static const char *kconst(const ty_t *t, double v, char *buf, size_t n) {
  snprintf(buf, n, "((%s)%.17g)", t->ct, v);
  return buf;
}

/* The identity of a reduction (ug_cg_lowest / ug_cg_highest / 0 / 1). */
static const char *ident(ug_op_t op, const ty_t *t, char *buf, size_t n) {
  bool b = t->dt == UG_DTYPE_BOOL, sg = ug_dtype_kind(t->dt) == UG_KIND_I;
  const char *lo = "0", *hi = "0";
  switch (t->dt) {
  case UG_DTYPE_I64: lo = "(-9223372036854775807LL - 1)", hi = "9223372036854775807LL"; break;
  case UG_DTYPE_I32: lo = "(-2147483647 - 1)", hi = "2147483647"; break;
  case UG_DTYPE_I16: lo = "-32768", hi = "32767"; break;
  case UG_DTYPE_I8: lo = "-128", hi = "127"; break;
  default: break;
  }
  switch (op) {
  case UG_OP_REDUCE_MAX:
    if (t->fl) snprintf(buf, n, "(-ug_inf((%s)0))", t->ct);
    else if (b) snprintf(buf, n, "false");
    else snprintf(buf, n, "((%s)%s)", t->ct, sg ? lo : "0");
    break;
  case UG_OP_REDUCE_MIN:
    if (t->fl) snprintf(buf, n, "ug_inf((%s)0)", t->ct);
    else if (b) snprintf(buf, n, "true");
    else if (sg) snprintf(buf, n, "((%s)%s)", t->ct, hi);
    else snprintf(buf, n, "((%s)~0ULL)", t->ct);
    break;
  case UG_OP_REDUCE_PROD: snprintf(buf, n, b ? "true" : "((%s)1)", t->ct); break;
  default: snprintf(buf, n, b ? "false" : "((%s)0)", t->ct); break;
  }
  return buf;
}

/* a (op) b in the compute type: floats as the CPU (llvm.maximum/minimum
 * for max/min), integers wrapping, bool as or/and. */
static const char *comb(ug_op_t op, const ty_t *t, const char *a, const char *b, char *buf, size_t n) {
  bool bl = t->dt == UG_DTYPE_BOOL;
  switch (op) {
  case UG_OP_REDUCE_MAX:
    if (t->fl) snprintf(buf, n, "ug_fmax<%s>(%s, %s)", t->ct, a, b);
    else if (bl) snprintf(buf, n, "(%s || %s)", a, b);
    else snprintf(buf, n, "(%s > %s ? %s : %s)", a, b, a, b);
    break;
  case UG_OP_REDUCE_MIN:
    if (t->fl) snprintf(buf, n, "ug_fmin<%s>(%s, %s)", t->ct, a, b);
    else if (bl) snprintf(buf, n, "(%s && %s)", a, b);
    else snprintf(buf, n, "(%s < %s ? %s : %s)", a, b, a, b);
    break;
  case UG_OP_REDUCE_PROD:
    if (t->fl) snprintf(buf, n, "(%s * %s)", a, b);
    else if (bl) snprintf(buf, n, "(%s && %s)", a, b);
    else snprintf(buf, n, "(%s)((unsigned long long)%s * (unsigned long long)%s)", t->ct, a, b);
    break;
  default:
    if (t->fl) snprintf(buf, n, "(%s + %s)", a, b);
    else if (bl) snprintf(buf, n, "(%s || %s)", a, b);
    else snprintf(buf, n, "(%s)((unsigned long long)%s + (unsigned long long)%s)", t->ct, a, b);
    break;
  }
  return buf;
}

/* mean = acc / count as the CPU divides (integers: ug_idiv). */
static const char *mean_of(const ty_t *t, const char *acc, const char *count, char *buf, size_t n) {
  if (t->fl) snprintf(buf, n, "(%s / (%s)(%s))", acc, t->ct, count);
  else snprintf(buf, n, "ug_idiv<%s>(%s, (%s)(%s))", t->ct, acc, t->ct, count);
  return buf;
}

/* __shfl_xor_sync of v (types it does not take go through int). */
static const char *shfl(const char *ct, const char *v, char *buf, size_t n) {
  static const char *const direct[] = {"float", "double", "int", "unsigned int", "long long", "unsigned long long",
                                       "int64_t"};
  for (size_t i = 0; i < sizeof direct / sizeof *direct; i++)
    if (strcmp(ct, direct[i]) == 0) {
      snprintf(buf, n, "__shfl_xor_sync(0xffffffffu, %s, o_)", v);
      return buf;
    }
  snprintf(buf, n, "(%s)__shfl_xor_sync(0xffffffffu, (int)(%s), o_)", ct, v);
  return buf;
}

static ug_dim_t dim_prod(kctx_t *k, const ug_type_t *t, int from, int to) {
  ug_dim_t d = 1;
  for (int i = from; i < to; i++) d = ug_dim_mul(k->m->dims, d, t->dims[i]);
  return d;
}

static bool static_prod(const ug_type_t *t, int from, int to, int64_t *out) {
  int64_t p = 1;
  for (int i = from; i < to; i++) {
    if (!UG_DIM_IS_STATIC(t->dims[i])) return false;
    p *= t->dims[i];
  }
  *out = p;
  return true;
}

/* dims [from, to) of t are all static 1 */
static bool all_ones(const ug_type_t *t, int from, int to) {
  for (int i = from; i < to; i++)
    if (t->dims[i] != 1) return false;
  return true;
}

/* Node operand i as its kernel argument index (-1 when absent). */
static int arg_of(kctx_t *k, uint32_t i) {
  if (i >= k->n->num_operands || ug_node_operand(k->g, k->n, i) == UG_NONE) return -1;
  int a = 0;
  for (uint32_t j = 0; j < i; j++)
    if (ug_node_operand(k->g, k->n, j) != UG_NONE) a++;
  return a;
}

static ug_status_t bad_axis(kctx_t *k) { return ug_node_error(k->g, k->n, UG_ERR_INVALID, "bad axis"); }

/* ---- row kernels ---- */

typedef enum { ROW_SOFTMAX, ROW_LOG_SOFTMAX, ROW_LAYER_NORM, ROW_RMS_NORM, ROW_INSTANCE_NORM, ROW_REDUCE } row_kind_t;

/* How a per-element parameter (layer_norm scale/bias) is indexed by the
 * element's index i in the row. */
typedef enum { PAR_SINGLE, PAR_FULL, PAR_PERIODIC, PAR_GENERAL } par_layout_t;

typedef struct {
  row_kind_t kind;
  ug_op_t op; /* ROW_REDUCE */
  ty_t x, o;
  int64_t L;          /* static row length, -1 when symbolic */
  char len[PROD], rows[PROD];
  ug_dim_t rows_dim;
  bool warp;   /* a warp per row, WARP_ROWS rows per block; else a block per row */
  uint32_t T;  /* threads per row */
  bool cached; /* the row lives in registers */
  int V;       /* elements per vector, 1 when rows are never vector-aligned */
  int out;     /* argument index of the result */
  int npar;
  struct {
    int arg;
    par_layout_t layout;
    ty_t t;
    char period[PROD];
    const ug_type_t *type;
  } par[2];
  const ug_type_t *xt;
  int axis; /* first normalized axis (PAR_GENERAL) */
  int scale, bias; /* layer_norm: p<scale>, p<bias>; 0 when absent */
  double eps;
  char C[64]; /* instance_norm: channels */
} row_t;

static void row_choose(row_t *r) {
  int maxe = r->x.bytes >= 8 ? 16 : 32; /* elements a thread may hold */
  int V = 16 / r->x.bytes;
  if (r->kind != ROW_REDUCE && 16 / r->o.bytes < V) V = 16 / r->o.bytes;
  for (int i = 0; i < r->npar; i++)
    if (r->par[i].layout == PAR_FULL && 16 / r->par[i].t.bytes < V) V = 16 / r->par[i].t.bytes;
  if (r->L < 0) {
    r->warp = false, r->T = 256, r->cached = false, r->V = V;
    return;
  }
  while (V > 1 && r->L % V) V /= 2;
  r->V = V;
  if (r->L <= 32 * (int64_t)maxe) {
    r->warp = true, r->T = 32, r->cached = true;
    return;
  }
  r->warp = false;
  int64_t want = (r->L + maxe / 2 - 1) / (maxe / 2);
  uint32_t T = 128;
  while (T < 1024 && (int64_t)T < want) T *= 2;
  r->T = T;
  /* 1024 threads leave 64 registers a thread: half the elements */
  r->cached = (r->L + T - 1) / T <= (T == 1024 ? maxe / 2 : maxe);
}

/* Vectors (of V elements) per row and per thread in cached mode. */
static int64_t row_nq(const row_t *r, int V) { return r->L / V; }
static int64_t row_j(const row_t *r, int V) { return (row_nq(r, V) + r->T - 1) / r->T; }

/* Per-element parameter p<i+1> for element i, in a vector context (w<i+1>
 * holds the vector) or a scalar one. */
static void emit_par_elem(kctx_t *k, const row_t *r, bool vec) {
  char b[EXPR], src[EXPR];
  for (int i = 0; i < r->npar; i++) {
    const ty_t *t = &r->par[i].t;
    int a = r->par[i].arg;
    switch (r->par[i].layout) {
    case PAR_SINGLE: break;
    case PAR_FULL:
      if (vec) snprintf(src, sizeof src, "w%d.e[e]", i + 1);
      else snprintf(src, sizeof src, "a%d[i]", a);
      P(k, "        const %s p%d = (%s)%s;\n", r->x.ct, i + 1, r->x.ct, ld(t->dt, src, b, sizeof b));
      break;
    case PAR_PERIODIC:
      snprintf(src, sizeof src, "a%d[i %% (%s)(%s)]", a, k->ix, r->par[i].period);
      P(k, "        const %s p%d = (%s)%s;\n", r->x.ct, i + 1, r->x.ct, ld(t->dt, src, b, sizeof b));
      break;
    case PAR_GENERAL: {
      /* coordinates of i over the normalized dims, times the broadcast strides */
      ug_type_t nt = {.dtype = r->x.dt, .rank = r->xt->rank - r->axis};
      for (int d = 0; d < nt.rank; d++) nt.dims[d] = r->xt->dims[r->axis + d];
      P(k, "        %s po%d = 0;\n        { %s t_ = i;", k->ix, i + 1, k->ix);
      for (int d = nt.rank - 1; d >= 0; d--) {
        char s[UG_CUDA_STRIDE], dd[64];
        ug_cuda_bstride(r->par[i].type, &nt, d, s, sizeof s);
        ug_cuda_dimstr(nt.dims[d], dd, sizeof dd);
        P(k, " { const %s c_ = t_ %% (%s)%s; t_ /= (%s)%s; po%d += c_ * (%s)(%s); }", k->ix, k->ix, dd, k->ix, dd,
          i + 1, k->ix, s);
      }
      P(k, " }\n");
      snprintf(src, sizeof src, "a%d[po%d]", a, i + 1);
      P(k, "        const %s p%d = (%s)%s;\n", r->x.ct, i + 1, r->x.ct, ld(t->dt, src, b, sizeof b));
      break;
    }
    }
  }
}

/* Loads the row this thread owns into xv[] (cached mode). */
static void emit_row_load(kctx_t *k, const row_t *r, int V) {
  int64_t nq = row_nq(r, V), J = row_j(r, V);
  char b[EXPR], src[64];
  P(k, "    %s xv[%lld];\n", r->x.ct, (long long)(J * V));
  P(k, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)J);
  P(k, "      const %s q = tid + (%s)j * %u;\n", k->ix, k->ix, r->T);
  P(k, "      if (%s) {\n", J * r->T == nq ? "true" : "q < nq");
  if (V > 1) {
    P(k, "        const ug_vec<%s, %d> w = reinterpret_cast<const ug_vec<%s, %d> *>(xr)[q];\n", r->x.st, V, r->x.st,
      V);
    P(k, "#pragma unroll\n        for (int e = 0; e < %d; e++) xv[j * %d + e] = %s;\n", V, V,
      ld(r->x.dt, "w.e[e]", b, sizeof b));
  } else {
    snprintf(src, sizeof src, "xr[q]");
    P(k, "        xv[j] = %s;\n", ld(r->x.dt, src, b, sizeof b));
  }
  P(k, "      }\n    }\n");
}

/* One pass over the row elements this thread owns: `v` is the element (in
 * cached mode a reference into xv[]) and `i` its index in the row; stmt runs
 * for each.  With store, stmt defines `y`, stored at i in the result row;
 * with par, p1/p2 are the element's parameters. */
static void emit_pass(kctx_t *k, const row_t *r, int V, const char *stmt, bool store, bool par) {
  const char *ix = k->ix;
  char b[EXPR], src[64];
  if (r->cached) {
    int64_t nq = row_nq(r, V), J = row_j(r, V);
    P(k, "#pragma unroll\n    for (int j = 0; j < %lld; j++) {\n", (long long)J);
    P(k, "      const %s q = tid + (%s)j * %u;\n", ix, ix, r->T);
    P(k, "      if (%s) {\n", J * r->T == nq ? "true" : "q < nq");
  } else {
    P(k, "    for (%s q = tid; q < nq; q += %u) {\n      {\n", ix, r->T);
  }
  if (V > 1) {
    if (!r->cached)
      P(k, "        const ug_vec<%s, %d> w = reinterpret_cast<const ug_vec<%s, %d> *>(xr)[q];\n", r->x.st, V,
        r->x.st, V);
    if (par)
      for (int i = 0; i < r->npar; i++)
        if (r->par[i].layout == PAR_FULL)
          P(k, "        const ug_vec<%s, %d> w%d = reinterpret_cast<const ug_vec<%s, %d> *>(a%d)[q];\n",
            r->par[i].t.st, V, i + 1, r->par[i].t.st, V, r->par[i].arg);
    if (store) P(k, "        ug_vec<%s, %d> wo;\n", r->o.st, V);
    P(k, "#pragma unroll\n        for (int e = 0; e < %d; e++) {\n", V);
    P(k, "        const %s i = q * %d + e;\n", ix, V);
    if (r->cached) P(k, "        %s &v = xv[j * %d + e];\n", r->x.ct, V);
    else P(k, "        const %s v = %s;\n", r->x.ct, ld(r->x.dt, "w.e[e]", b, sizeof b));
    if (par) emit_par_elem(k, r, true);
    P(k, "        %s\n", stmt);
    if (store) P(k, "        wo.e[e] = %s;\n", stx(r->o.dt, "y", b, sizeof b));
    P(k, "        }\n");
    if (store) P(k, "        reinterpret_cast<ug_vec<%s, %d> *>(yr)[q] = wo;\n", r->o.st, V);
  } else {
    P(k, "        const %s i = q;\n", ix);
    if (r->cached) {
      P(k, "        %s &v = xv[j];\n", r->x.ct);
    } else {
      snprintf(src, sizeof src, "xr[q]");
      P(k, "        const %s v = %s;\n", r->x.ct, ld(r->x.dt, src, b, sizeof b));
    }
    if (par) emit_par_elem(k, r, false);
    P(k, "        %s\n", stmt);
    if (store) P(k, "        yr[i] = %s;\n", stx(r->o.dt, "y", b, sizeof b));
  }
  P(k, "      }\n    }\n");
  if (!r->cached && V > 1) {
    /* the elements after the last whole vector */
    P(k, "    for (%s i = nq * %d + tid; i < len; i += %u) {\n", ix, V, r->T);
    snprintf(src, sizeof src, "xr[i]");
    P(k, "        const %s v = %s;\n", r->x.ct, ld(r->x.dt, src, b, sizeof b));
    if (par) emit_par_elem(k, r, false);
    P(k, "        %s\n", stmt);
    if (store) P(k, "        yr[i] = %s;\n", stx(r->o.dt, "y", b, sizeof b));
    P(k, "    }\n");
  }
}

/* var = the (op) reduction of var over the row's threads, the same value
 * in every thread.  red names a __shared__ array of 32 (block mode). */
static void emit_allreduce(kctx_t *k, const row_t *r, const char *var, ug_op_t op, const ty_t *t,
                           const char *red) {
  char s[256], c[512], c2[512], rw[64];
  P(k, "    for (int o_ = 16; o_ > 0; o_ >>= 1) { const %s t_ = %s; %s = %s; }\n", t->ct,
    shfl(t->ct, var, s, sizeof s), var, comb(op, t, var, "t_", c, sizeof c));
  if (r->warp) return;
  snprintf(rw, sizeof rw, "%s[w_]", red);
  P(k, "    if ((threadIdx.x & 31) == 0) %s[threadIdx.x >> 5] = %s;\n", red, var);
  P(k, "    __syncthreads();\n");
  P(k, "    %s = %s[0];\n", var, red);
  P(k, "    for (int w_ = 1; w_ < %u; w_++) %s = %s;\n", r->T / 32, var, comb(op, t, var, rw, c2, sizeof c2));
}

/* The row's processing for vector width V (1: scalar loads). */
static void emit_row_body(kctx_t *k, const row_t *r, int V) {
  const ty_t *x = &r->x;
  const char *ct = x->ct, *f = x->sfx;
  char b[EXPR], s[EXPR], id[128], e1[128];
  P(k, "  {\n");
  if (r->cached) {
    P(k, "    const %s nq = %lld;\n", k->ix, (long long)row_nq(r, V));
    emit_row_load(k, r, V);
  } else {
    P(k, "    const %s nq = len / %d;\n", k->ix, V);
  }
  switch (r->kind) {
  case ROW_SOFTMAX: case ROW_LOG_SOFTMAX: {
    bool logsm = r->kind == ROW_LOG_SOFTMAX;
    P(k, "    %s m = %s;\n", ct, ident(UG_OP_REDUCE_MAX, x, id, sizeof id));
    snprintf(s, sizeof s, "m = ug_fmax<%s>(m, v);", ct);
    emit_pass(k, r, V, s, false, false);
    emit_allreduce(k, r, "m", UG_OP_REDUCE_MAX, x, "ug_red0");
    P(k, "    %s s = 0;\n", ct);
    if (r->cached && !logsm) snprintf(s, sizeof s, "v = exp%s(v - m); s += v;", f);
    else snprintf(s, sizeof s, "s += exp%s(v - m);", f);
    emit_pass(k, r, V, s, false, false);
    emit_allreduce(k, r, "s", UG_OP_REDUCE_SUM, x, "ug_red1");
    if (logsm) {
      P(k, "    const %s fs = m + log%s(s);\n", ct, f);
      snprintf(s, sizeof s, "const %s y = v - fs;", ct);
    } else {
      P(k, "    const %s fs = (%s)1 / s;\n", ct, ct);
      if (r->cached) snprintf(s, sizeof s, "const %s y = v * fs;", ct);
      else snprintf(s, sizeof s, "const %s y = exp%s(v - m) * fs;", ct, f);
    }
    emit_pass(k, r, V, s, true, false);
    break;
  }
  case ROW_LAYER_NORM: case ROW_RMS_NORM: case ROW_INSTANCE_NORM: {
    bool rms = r->kind == ROW_RMS_NORM;
    if (!rms) {
      P(k, "    %s s = 0;\n", ct);
      emit_pass(k, r, V, "s += v;", false, false);
      emit_allreduce(k, r, "s", UG_OP_REDUCE_SUM, x, "ug_red0");
      P(k, "    const %s mean = s / (%s)len;\n", ct, ct);
    }
    P(k, "    %s s2 = 0;\n", ct);
    if (rms) snprintf(s, sizeof s, "s2 += v * v;");
    else snprintf(s, sizeof s, "const %s d = v - mean; s2 += d * d;", ct);
    emit_pass(k, r, V, s, false, false);
    emit_allreduce(k, r, "s2", UG_OP_REDUCE_SUM, x, "ug_red1");
    if (r->kind == ROW_INSTANCE_NORM) {
      P(k, "    const %s ga = sc / sqrt%s(s2 / (%s)len + %s);\n", ct, f, ct, kconst(x, r->eps, e1, sizeof e1));
      snprintf(s, sizeof s, "const %s y = (v - mean) * ga + bi;", ct);
      emit_pass(k, r, V, s, true, false);
    } else {
      P(k, "    const %s inv = (%s)1 / sqrt%s(s2 / (%s)len + %s);\n", ct, ct, f, ct, kconst(x, r->eps, e1, sizeof e1));
      size_t l = (size_t)snprintf(s, sizeof s, "%s y = %s * inv;", ct, rms ? "v" : "(v - mean)");
      if (r->scale) l += (size_t)snprintf(s + l, sizeof s - l, " y = y * p%d;", r->scale);
      if (r->bias) snprintf(s + l, sizeof s - l, " y = y + p%d;", r->bias);
      emit_pass(k, r, V, s, true, true);
    }
    break;
  }
  case ROW_REDUCE: {
    P(k, "    %s acc = %s;\n", ct, ident(r->op, x, id, sizeof id));
    snprintf(s, sizeof s, "acc = %s;", comb(r->op, x, "acc", "v", b, sizeof b));
    emit_pass(k, r, V, s, false, false);
    emit_allreduce(k, r, "acc", r->op, x, "ug_red0");
    if (r->op == UG_OP_REDUCE_MEAN) P(k, "    acc = %s;\n", mean_of(x, "acc", "len", b, sizeof b));
    P(k, "    if (tid == 0) a%d[row] = %s;\n", r->out, stx(r->o.dt, "acc", b, sizeof b));
    break;
  }
  }
  P(k, "  }\n");
}

/* The whole row kernel and its launch. */
static ug_status_t emit_row_kernel(kctx_t *k, row_t *r) {
  const char *ix = k->ix;
  char b[EXPR];
  row_choose(r);
  if (!r->warp) P(k, "  __shared__ %s ug_red0[32], ug_red1[32];\n", r->x.ct);
  P(k, "  const %s rows = %s, len = %s;\n", ix, r->rows, r->len);
  if (r->warp) {
    P(k, "  const int tid = threadIdx.x & 31;\n");
    P(k, "  for (%s row = (%s)blockIdx.x * %d + (threadIdx.x >> 5); row < rows; row += (%s)gridDim.x * %d) {\n", ix,
      ix, WARP_ROWS, ix, WARP_ROWS);
  } else {
    P(k, "  const int tid = threadIdx.x;\n");
    P(k, "  for (%s row = blockIdx.x; row < rows; row += gridDim.x) {\n", ix);
  }
  P(k, "  const %s *__restrict__ xr = a0 + row * len;\n", r->x.st);
  if (r->kind != ROW_REDUCE) P(k, "  %s *__restrict__ yr = a%d + row * len;\n", r->o.st, r->out);
  for (int i = 0; i < r->npar; i++)
    if (r->par[i].layout == PAR_SINGLE) {
      char src[32];
      snprintf(src, sizeof src, "a%d[0]", r->par[i].arg);
      P(k, "  const %s p%d = (%s)%s;\n", r->x.ct, i + 1, r->x.ct, ld(r->par[i].t.dt, src, b, sizeof b));
    }
  if (r->kind == ROW_INSTANCE_NORM) {
    /* the channel's scale and bias */
    char src[64];
    P(k, "  const %s c = row %% (%s)%s;\n", ix, ix, r->C);
    for (int i = 0; i < 2; i++) {
      snprintf(src, sizeof src, "a%d[%s]", r->par[i].arg, r->par[i].layout == PAR_SINGLE ? "0" : "c");
      P(k, "  const %s %s = (%s)%s;\n", r->x.ct, i ? "bi" : "sc", r->x.ct, ld(r->par[i].t.dt, src, b, sizeof b));
    }
  }
  if (r->V > 1) {
    P(k, "  if ((((unsigned long long)xr");
    if (r->kind != ROW_REDUCE) P(k, " | (unsigned long long)yr");
    for (int i = 0; i < r->npar; i++)
      if (r->par[i].layout == PAR_FULL) P(k, " | (unsigned long long)a%d", r->par[i].arg);
    P(k, ") %% %d) == 0)\n", r->V * r->x.bytes);
    emit_row_body(k, r, r->V);
    P(k, "  else\n");
  }
  emit_row_body(k, r, 1);
  if (!r->warp) P(k, "  __syncthreads();\n");
  P(k, "  }\n");
  k->custom_launch = true;
  k->grid[1] = k->grid[2] = 1;
  k->shared_bytes = 0;
  if (r->warp) {
    k->block = 32 * WARP_ROWS;
    k->grid[0] = ug_dim_min(k->m->dims, ug_dim_ceildiv(k->m->dims, r->rows_dim, WARP_ROWS), ROW_MAX_GRID);
  } else {
    k->block = r->T;
    k->grid[0] = ug_dim_min(k->m->dims, r->rows_dim, ROW_MAX_GRID);
  }
  return NULL;
}

/* A row op over static length 0 touches nothing: an empty kernel, no blocks. */
static ug_status_t emit_nothing(kctx_t *k) {
  P(k, "  // empty rows: nothing to compute\n");
  k->work = 0;
  return NULL;
}

static void row_init(kctx_t *k, row_t *r, const ug_type_t *xt, int from, row_kind_t kind) {
  r->kind = kind;
  r->x = ty_of(xt->dtype);
  r->o = ty_of(ug_value_type(k->g, k->res[0])->dtype);
  r->out = (int)k->nops;
  r->xt = xt;
  r->axis = from;
  int64_t L;
  r->L = static_prod(xt, from, xt->rank, &L) ? L : -1;
  ug_cuda_prodstr(xt, from, xt->rank, r->len, sizeof r->len);
  ug_cuda_prodstr(xt, 0, from, r->rows, sizeof r->rows);
  r->rows_dim = dim_prod(k, xt, 0, from);
}

/* outer * inner around axis (the number of lines along it) as C. */
static void line_dims(const ug_type_t *xt, int axis, char *buf, size_t size) {
  ug_type_t t = {.dtype = xt->dtype};
  for (int a = 0; a < xt->rank; a++)
    if (a != axis) t.dims[t.rank++] = xt->dims[a];
  ug_cuda_prodstr(&t, 0, t.rank, buf, size);
}

static ug_dim_t line_count(kctx_t *k, const ug_type_t *xt, int axis) {
  return ug_dim_mul(k->m->dims, dim_prod(k, xt, 0, axis), dim_prod(k, xt, axis + 1, xt->rank));
}

/* ---- reduce_* ---- */

static ug_status_t emit_reduce(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  uint32_t na;
  const int64_t *axes = ug_cuda_attr_ints(g, n, UG_ATTR_AXES, &na);
  bool red[UG_MAX_RANK] = {false};
  for (int a = 0; a < xt->rank; a++) red[a] = na == 0;
  for (uint32_t i = 0; i < na; i++) {
    int a = ug_cuda_norm_axis(axes[i], xt->rank);
    if (a < 0 || a >= xt->rank) return ug_node_error(g, n, UG_ERR_INVALID, "bad reduction axis");
    red[a] = true;
  }
  /* groups of adjacent axes with the same role, static size-1 axes dropped */
  struct {
    bool red;
    int first, last;
  } gr[UG_MAX_RANK];
  int ng = 0, nred = 0;
  for (int a = 0; a < xt->rank; a++) {
    if (xt->dims[a] == 1) continue;
    if (ng > 0 && gr[ng - 1].red == red[a]) {
      gr[ng - 1].last = a;
      continue;
    }
    gr[ng].red = red[a], gr[ng].first = gr[ng].last = a;
    nred += red[a];
    ng++;
  }
  ty_t x = ty_of(xt->dtype), o = ty_of(ot->dtype);
  int64_t L;
  if (nred == 1 && gr[ng - 1].red && !(static_prod(xt, gr[ng - 1].first, xt->rank, &L) && L == 0)) {
    row_t r = {0};
    row_init(k, &r, xt, gr[ng - 1].first, ROW_REDUCE);
    r.op = n->op;
    return emit_row_kernel(k, &r);
  }
  /* one thread per result element, looping over the reduced coordinates */
  const char *ix = k->ix;
  char b[EXPR], c[EXPR], id[128], numel[PROD], count[PROD] = "1LL";
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  {
    ug_type_t rt = {.dtype = xt->dtype};
    for (int a = 0; a < xt->rank; a++)
      if (red[a]) rt.dims[rt.rank++] = xt->dims[a];
    ug_cuda_prodstr(&rt, 0, rt.rank, count, sizeof count);
  }
  ug_cuda_grid_loop(k, numel);
  P(k, "    %s t = i, base = 0;\n", ix);
  int first_kept = -1;
  for (int gi = 0; gi < ng; gi++)
    if (!gr[gi].red) {
      first_kept = gi;
      break;
    }
  for (int gi = ng - 1; gi >= 0; gi--) {
    if (gr[gi].red) continue;
    char sz[PROD], st[PROD];
    ug_cuda_prodstr(xt, gr[gi].first, gr[gi].last + 1, sz, sizeof sz);
    ug_cuda_prodstr(xt, gr[gi].last + 1, xt->rank, st, sizeof st);
    if (gi == first_kept) P(k, "    base += t * (%s)(%s);\n", ix, st);
    else P(k, "    { const %s q = t %% (%s)(%s); t /= (%s)(%s); base += q * (%s)(%s); }\n", ix, ix, sz, ix, sz, ix, st);
  }
  P(k, "    %s acc = %s;\n", x.ct, ident(n->op, &x, id, sizeof id));
  char off[EXPR] = "base";
  int depth = 0;
  for (int gi = 0; gi < ng; gi++) {
    if (!gr[gi].red) continue;
    char sz[PROD], st[PROD];
    ug_cuda_prodstr(xt, gr[gi].first, gr[gi].last + 1, sz, sizeof sz);
    ug_cuda_prodstr(xt, gr[gi].last + 1, xt->rank, st, sizeof st);
    P(k, "    for (%s r%d = 0; r%d < (%s)(%s); r%d++)\n", ix, depth, depth, ix, sz, depth);
    size_t l = strlen(off);
    snprintf(off + l, sizeof off - l, " + r%d * (%s)(%s)", depth, ix, st);
    depth++;
  }
  char src[EXPR + 16];
  snprintf(src, sizeof src, "a0[%s]", off);
  P(k, "    { const %s v = %s; acc = %s; }\n", x.ct, ld(x.dt, src, b, sizeof b), comb(n->op, &x, "acc", "v", c, sizeof c));
  if (n->op == UG_OP_REDUCE_MEAN) P(k, "    acc = %s;\n", mean_of(&x, "acc", count, b, sizeof b));
  P(k, "    a%u[i] = %s;\n  }\n", k->nops, stx(o.dt, "acc", b, sizeof b));
  k->work = ug_type_numel(k->m->dims, ot);
  return NULL;
}

/* ---- softmax, log_softmax ---- */

static ug_status_t emit_softmax(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]);
  bool logsm = n->op == UG_OP_LOG_SOFTMAX;
  int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, -1), xt->rank);
  ug_type_t one = {.dtype = xt->dtype, .rank = 1, .dims = {1}};
  if (xt->rank == 0) {
    xt = &one; /* a scalar is one row of one element */
    axis = 0;
  } else if (axis < 0 || axis >= xt->rank) {
    return bad_axis(k);
  }
  int64_t L;
  if (static_prod(xt, axis, axis + 1, &L) && L == 0) return emit_nothing(k);
  if (all_ones(xt, axis + 1, xt->rank)) {
    row_t r = {0};
    row_init(k, &r, xt, axis, logsm ? ROW_LOG_SOFTMAX : ROW_SOFTMAX);
    return emit_row_kernel(k, &r);
  }
  /* one thread per line along the axis: consecutive threads on consecutive
   * inner elements */
  ty_t x = ty_of(xt->dtype), o = ty_of(ug_value_type(g, k->res[0])->dtype);
  const char *ix = k->ix, *ct = x.ct, *f = x.sfx;
  char lines[PROD], len[64], inner[PROD], b[EXPR], id[128];
  line_dims(xt, axis, lines, sizeof lines);
  ug_cuda_dimstr(xt->dims[axis], len, sizeof len);
  ug_cuda_prodstr(xt, axis + 1, xt->rank, inner, sizeof inner);
  P(k, "  const %s len = %s, inner = %s;\n", ix, len, inner);
  ug_cuda_grid_loop(k, lines);
  P(k, "    const %s oi = i / inner, base = oi * len * inner + (i - oi * inner);\n", ix);
  P(k, "    %s m = %s;\n", ct, ident(UG_OP_REDUCE_MAX, &x, id, sizeof id));
  P(k, "    for (%s j = 0; j < len; j++) m = ug_fmax<%s>(m, %s);\n", ix, ct, ld(x.dt, "a0[base + j * inner]", b, sizeof b));
  P(k, "    %s s = 0;\n", ct);
  P(k, "    for (%s j = 0; j < len; j++) s += exp%s(%s - m);\n", ix, f, ld(x.dt, "a0[base + j * inner]", b, sizeof b));
  if (logsm) P(k, "    const %s fs = m + log%s(s);\n", ct, f);
  else P(k, "    const %s fs = (%s)1 / s;\n", ct, ct);
  P(k, "    for (%s j = 0; j < len; j++) {\n", ix);
  P(k, "      const %s v = %s;\n", ct, ld(x.dt, "a0[base + j * inner]", b, sizeof b));
  if (logsm) P(k, "      const %s y = v - fs;\n", ct);
  else P(k, "      const %s y = exp%s(v - m) * fs;\n", ct, f);
  P(k, "      a%u[base + j * inner] = %s;\n    }\n  }\n", k->nops, stx(o.dt, "y", b, sizeof b));
  k->work = line_count(k, xt, axis);
  return NULL;
}

/* ---- argmax, argmin ---- */

/* The CPU scans j = 1.. keeping x[0] until a strictly better (or, with
 * select_last_index, better-or-equal) value comes; ordered comparisons, so
 * a NaN is never taken and a NaN at 0 is kept.  A warp splits the scan
 * between lanes, each starting from x[0], and merges (value, index) pairs
 * preferring the better value and then the lower (last: higher) index —
 * the same answer. */
static ug_status_t emit_argminmax(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, 0), xt->rank);
  bool last = ug_node_attr_int(g, n, UG_ATTR_SELECT_LAST_INDEX, 0) != 0;
  if (axis < 0 || axis >= xt->rank) return bad_axis(k);
  const char *cmp = n->op == UG_OP_ARGMAX ? (last ? ">=" : ">") : (last ? "<=" : "<");
  const char *strict = n->op == UG_OP_ARGMAX ? ">" : "<";
  ty_t x = ty_of(xt->dtype), o = ty_of(ot->dtype);
  const char *ix = k->ix;
  char len[64], inner[PROD], b[EXPR], sh[256], shi[256];
  ug_cuda_dimstr(xt->dims[axis], len, sizeof len);
  ug_cuda_prodstr(xt, axis + 1, xt->rank, inner, sizeof inner);
  if (all_ones(xt, axis + 1, xt->rank)) {
    char rows[PROD];
    ug_cuda_prodstr(xt, 0, axis, rows, sizeof rows);
    P(k, "  const %s rows = %s, len = %s;\n", ix, rows, len);
    P(k, "  const int lane = threadIdx.x & 31;\n");
    P(k, "  for (%s row = (%s)blockIdx.x * %d + (threadIdx.x >> 5); row < rows; row += (%s)gridDim.x * %d) {\n", ix, ix,
      WARP_ROWS, ix, WARP_ROWS);
    P(k, "    const %s *__restrict__ xr = a0 + row * len;\n", x.st);
    P(k, "    %s bi = 0;\n", ix);
    P(k, "    if (len > 0) {\n");
    P(k, "      %s best = %s;\n", x.ct, ld(x.dt, "xr[0]", b, sizeof b));
    P(k, "      for (%s j = 1 + lane; j < len; j += 32) {\n", ix);
    P(k, "        const %s v = %s;\n", x.ct, ld(x.dt, "xr[j]", b, sizeof b));
    P(k, "        if (v %s best) { best = v; bi = j; }\n      }\n", cmp);
    P(k, "      for (int o_ = 16; o_ > 0; o_ >>= 1) {\n");
    P(k, "        const %s ob = %s;\n", x.ct, shfl(x.ct, "best", sh, sizeof sh));
    P(k, "        const %s oj = %s;\n", ix, shfl(ix, "bi", shi, sizeof shi));
    P(k, "        if (ob %s best || (ob == best && oj %s bi)) { best = ob; bi = oj; }\n", strict, last ? ">" : "<");
    P(k, "      }\n    }\n");
    P(k, "    if (lane == 0) a%u[row] = (%s)bi;\n  }\n", k->nops, o.st);
    k->custom_launch = true;
    k->block = 32 * WARP_ROWS;
    k->grid[0] = ug_dim_min(k->m->dims, ug_dim_ceildiv(k->m->dims, dim_prod(k, xt, 0, axis), WARP_ROWS), ROW_MAX_GRID);
    k->grid[1] = k->grid[2] = 1;
    k->shared_bytes = 0;
    return NULL;
  }
  char lines[PROD];
  line_dims(xt, axis, lines, sizeof lines);
  P(k, "  const %s len = %s, inner = %s;\n", ix, len, inner);
  ug_cuda_grid_loop(k, lines);
  P(k, "    const %s oi = i / inner, base = oi * len * inner + (i - oi * inner);\n", ix);
  P(k, "    %s bi = 0;\n", ix);
  P(k, "    if (len > 0) {\n");
  P(k, "      %s best = %s;\n", x.ct, ld(x.dt, "a0[base]", b, sizeof b));
  P(k, "      for (%s j = 1; j < len; j++) {\n", ix);
  P(k, "        const %s v = %s;\n", x.ct, ld(x.dt, "a0[base + j * inner]", b, sizeof b));
  P(k, "        if (v %s best) { best = v; bi = j; }\n      }\n    }\n", cmp);
  P(k, "    a%u[i] = (%s)bi;\n  }\n", k->nops, o.st);
  k->work = line_count(k, xt, axis);
  return NULL;
}

/* ---- cumsum ---- */

static ug_status_t emit_cumsum(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, 0), xt->rank);
  bool excl = ug_node_attr_int(g, n, UG_ATTR_EXCLUSIVE, 0) != 0;
  bool rev = ug_node_attr_int(g, n, UG_ATTR_REVERSE, 0) != 0;
  if (axis < 0 || axis >= xt->rank) return bad_axis(k);
  ty_t x = ty_of(xt->dtype), o = ty_of(ot->dtype);
  const char *ix = k->ix;
  char len[64], inner[PROD], lines[PROD], b[EXPR], c[EXPR], id[128];
  ug_cuda_dimstr(xt->dims[axis], len, sizeof len);
  ug_cuda_prodstr(xt, axis + 1, xt->rank, inner, sizeof inner);
  line_dims(xt, axis, lines, sizeof lines);
  P(k, "  const %s len = %s, inner = %s;\n", ix, len, inner);
  ug_cuda_grid_loop(k, lines);
  P(k, "    const %s oi = i / inner, base = oi * len * inner + (i - oi * inner);\n", ix);
  P(k, "    %s acc = %s;\n", x.ct, ident(UG_OP_REDUCE_SUM, &x, id, sizeof id));
  P(k, "    for (%s jj = 0; jj < len; jj++) {\n", ix);
  P(k, "      const %s off = base + (%s) * inner;\n", ix, rev ? "len - 1 - jj" : "jj");
  P(k, "      const %s v = %s;\n", x.ct, ld(x.dt, "a0[off]", b, sizeof b));
  P(k, "      const %s na = %s;\n", x.ct, comb(UG_OP_REDUCE_SUM, &x, "acc", "v", c, sizeof c));
  P(k, "      a%u[off] = %s;\n", k->nops, stx(o.dt, excl ? "acc" : "na", b, sizeof b));
  P(k, "      acc = na;\n    }\n  }\n");
  k->work = line_count(k, xt, axis);
  return NULL;
}

/* ---- layer_norm, rms_norm, instance_norm ---- */

/* How parameter p (broadcasting to x's dims [axis, rank)) is indexed by
 * the element's index in the row. */
static void par_classify(row_t *r, int i, int arg, const ug_type_t *p) {
  const ug_type_t *xt = r->xt;
  int nr = xt->rank - r->axis, lead = 0;
  r->par[i].arg = arg;
  r->par[i].t = ty_of(p->dtype);
  r->par[i].type = p;
  while (lead < p->rank && p->dims[lead] == 1) lead++;
  int q = p->rank - lead;
  if (q == 0) {
    r->par[i].layout = PAR_SINGLE;
    return;
  }
  bool suffix = q <= nr;
  for (int j = 0; j < q && suffix; j++)
    if (p->dims[lead + j] != xt->dims[xt->rank - q + j]) suffix = false;
  if (suffix && q == nr) {
    r->par[i].layout = PAR_FULL;
  } else if (suffix) {
    r->par[i].layout = PAR_PERIODIC;
    ug_cuda_prodstr(p, lead, p->rank, r->par[i].period, sizeof r->par[i].period);
  } else {
    r->par[i].layout = PAR_GENERAL;
  }
}

static ug_status_t emit_norm(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]);
  bool rms = n->op == UG_OP_RMS_NORM;
  int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, -1), xt->rank);
  if (axis < 0 || axis >= xt->rank) return bad_axis(k);
  int64_t L;
  if (static_prod(xt, axis, xt->rank, &L) && L == 0) return emit_nothing(k);
  row_t r = {0};
  row_init(k, &r, xt, axis, rms ? ROW_RMS_NORM : ROW_LAYER_NORM);
  r.eps = ug_node_attr_float(g, n, UG_ATTR_EPSILON, 1e-5);
  int sa = arg_of(k, 1), ba = rms ? -1 : arg_of(k, 2);
  r.scale = r.bias = 0;
  if (sa >= 0) {
    r.scale = r.npar + 1;
    par_classify(&r, r.npar++, sa, ug_value_type(g, k->ops[sa]));
  }
  if (ba >= 0) {
    r.bias = r.npar + 1;
    par_classify(&r, r.npar++, ba, ug_value_type(g, k->ops[ba]));
  }
  return emit_row_kernel(k, &r);
}

static ug_status_t emit_instance_norm(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]);
  if (xt->rank < 2 || k->nops != 3)
    return ug_node_error(g, n, UG_ERR_SHAPE, "instance_norm needs rank >= 2 and 3 operands");
  int64_t L;
  if (static_prod(xt, 2, xt->rank, &L) && L == 0) return emit_nothing(k);
  row_t r = {0};
  row_init(k, &r, xt, 2, ROW_INSTANCE_NORM);
  r.eps = ug_node_attr_float(g, n, UG_ATTR_EPSILON, 1e-5);
  ug_cuda_dimstr(xt->dims[1], r.C, sizeof r.C);
  for (int i = 0; i < 2; i++) {
    const ug_type_t *p = ug_value_type(g, k->ops[1 + i]);
    r.par[i].arg = 1 + i;
    r.par[i].t = ty_of(p->dtype);
    r.par[i].layout = p->rank > 0 && p->dims[0] == 1 ? PAR_SINGLE : PAR_FULL;
  }
  return emit_row_kernel(k, &r);
}

/* A per-channel parameter value: index 0 for a [1] vector, else c (load_c). */
static void chan_param(kctx_t *k, const char *name, uint32_t a, const ty_t *x) {
  const ug_type_t *p = ug_value_type(k->g, k->ops[a]);
  char src[64], b[EXPR];
  snprintf(src, sizeof src, "a%u[%s]", a, p->rank == 0 || p->dims[0] == 1 ? "0" : "c");
  P(k, "    const %s %s = (%s)%s;\n", x->ct, name, x->ct, ld(p->dtype, src, b, sizeof b));
}

static ug_status_t emit_batch_norm(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  if (xt->rank < 2 || k->nops != 5)
    return ug_node_error(g, n, UG_ERR_SHAPE, "batch_norm needs rank >= 2 and 5 operands");
  ty_t x = ty_of(xt->dtype), o = ty_of(ot->dtype);
  const char *ix = k->ix, *ct = x.ct;
  char numel[PROD], inner[PROD], C[64], b[EXPR], e1[128];
  ug_cuda_prodstr(xt, 0, xt->rank, numel, sizeof numel);
  ug_cuda_prodstr(xt, 2, xt->rank, inner, sizeof inner);
  ug_cuda_dimstr(xt->dims[1], C, sizeof C);
  P(k, "  const %s inner = %s, C = %s;\n", ix, inner, C);
  ug_cuda_grid_loop(k, numel);
  P(k, "    const %s c = (i / inner) %% C;\n", ix);
  chan_param(k, "sc", 1, &x);
  chan_param(k, "bi", 2, &x);
  chan_param(k, "mean", 3, &x);
  chan_param(k, "var", 4, &x);
  P(k, "    const %s ga = sc / sqrt%s(var + %s);\n", ct, x.sfx, kconst(&x, ug_node_attr_float(g, n, UG_ATTR_EPSILON, 1e-5), e1, sizeof e1));
  P(k, "    const %s y = (%s - mean) * ga + bi;\n", ct, ld(x.dt, "a0[i]", b, sizeof b));
  P(k, "    a%u[i] = %s;\n  }\n", k->nops, stx(o.dt, "y", b, sizeof b));
  k->work = ug_type_numel(k->m->dims, xt);
  return NULL;
}

/* ---- lrn (codegen/llvm/pool.c) ---- */

static ug_status_t emit_lrn(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *ot = ug_value_type(g, k->res[0]);
  if (xt->rank < 2) return ug_node_error(g, n, UG_ERR_SHAPE, "lrn needs rank >= 2");
  int64_t size = ug_node_attr_int(g, n, UG_ATTR_SIZE, 1);
  double alpha = ug_node_attr_float(g, n, UG_ATTR_ALPHA, 1e-4);
  double beta = ug_node_attr_float(g, n, UG_ATTR_BETA, 0.75);
  double bias = ug_node_attr_float(g, n, UG_ATTR_BIAS, 1.0);
  if (size < 1) return ug_node_error(g, n, UG_ERR_INVALID, "lrn size must be at least 1");
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  ty_t x = ty_of(xt->dtype), o = ty_of(ot->dtype);
  const char *ix = k->ix, *ct = x.ct;
  char numel[PROD], inner[PROD], C[64], b[EXPR], k1[128], k2[128], k3[128];
  ug_cuda_prodstr(xt, 0, xt->rank, numel, sizeof numel);
  ug_cuda_prodstr(xt, 2, xt->rank, inner, sizeof inner);
  ug_cuda_dimstr(xt->dims[1], C, sizeof C);
  P(k, "  const %s inner = %s, C = %s;\n", ix, inner, C);
  ug_cuda_grid_loop(k, numel);
  P(k, "    const %s c = (i / inner) %% C;\n", ix);
  P(k, "    const %s c0 = c - %lld > 0 ? c - %lld : 0, c1 = c + %lld < C ? c + %lld : C;\n", ix, (long long)lo,
    (long long)lo, (long long)(hi + 1), (long long)(hi + 1));
  P(k, "    %s s = 0;\n", ct);
  P(k, "    for (%s cc = c0; cc < c1; cc++) { const %s v = %s; s = s + v * v; }\n", ix, ct,
    ld(x.dt, "a0[i + (cc - c) * inner]", b, sizeof b));
  P(k, "    const %s den = pow%s(%s + %s * s, %s);\n", ct, x.sfx, kconst(&x, bias, k1, sizeof k1),
    kconst(&x, alpha / (double)size, k2, sizeof k2), kconst(&x, beta, k3, sizeof k3));
  P(k, "    const %s y = %s / den;\n", ct, ld(x.dt, "a0[i]", b, sizeof b));
  P(k, "    a%u[i] = %s;\n  }\n", k->nops, stx(o.dt, "y", b, sizeof b));
  k->work = ug_type_numel(k->m->dims, xt);
  return NULL;
}

/* ---- topk ---- */

/* The CPU's insertion into the sorted result line, one thread per line:
 * each x[j] goes before the first kept value it beats (strictly, so ties
 * keep the lower index first), the last one falling off.  While the line
 * holds no NaN it stays sorted, and a value that does not beat the last
 * of a full line beats none: those are skipped without the scan. */
static ug_status_t emit_topk(kctx_t *k) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *xt = ug_value_type(g, k->ops[0]), *vt = ug_value_type(g, k->res[0]);
  const ug_type_t *it = ug_value_type(g, k->res[1]);
  int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, -1), xt->rank);
  bool largest = ug_node_attr_int(g, n, UG_ATTR_LARGEST, 1) != 0;
  if (axis < 0 || axis >= xt->rank) return bad_axis(k);
  const char *beats = largest ? ">" : "<";
  ty_t x = ty_of(xt->dtype), vo = ty_of(vt->dtype), io = ty_of(it->dtype);
  const char *ix = k->ix, *ct = x.ct;
  char len[64], kk[64], inner[PROD], lines[PROD], b[EXPR];
  ug_cuda_dimstr(xt->dims[axis], len, sizeof len);
  ug_cuda_dimstr(vt->dims[axis], kk, sizeof kk);
  ug_cuda_prodstr(xt, axis + 1, xt->rank, inner, sizeof inner);
  line_dims(xt, axis, lines, sizeof lines);
  uint32_t av = k->nops, ai = k->nops + 1;
  P(k, "  const %s len = %s, K = %s, inner = %s;\n", ix, len, kk, inner);
  P(k, "  if (K <= 0) return;\n");
  ug_cuda_grid_loop(k, lines);
  P(k, "    const %s oi = i / inner, xb = oi * len * inner + (i - oi * inner), ob = oi * K * inner + (i - oi * inner);\n",
    ix);
  P(k, "    %s cnt = 0;\n    bool nan_in = false;\n    %s thr = 0;\n", ix, ct);
  P(k, "    for (%s j = 0; j < len; j++) {\n", ix);
  P(k, "      const %s v = %s;\n", ct, ld(x.dt, "a0[xb + j * inner]", b, sizeof b));
  P(k, "      if (cnt == K && !nan_in && !(v %s thr)) continue;\n", beats);
  P(k, "      %s pos = cnt;\n", ix);
  P(k, "      for (%s q = 0; q < cnt; q++) {\n", ix);
  char src[64];
  snprintf(src, sizeof src, "a%u[ob + q * inner]", av);
  P(k, "        const %s w = %s;\n", ct, ld(vo.dt, src, b, sizeof b));
  P(k, "        if (v %s w) { pos = q; break; }\n      }\n", beats);
  P(k, "      if (pos < K) {\n");
  P(k, "        const %s top = cnt < K - 1 ? cnt : K - 1;\n", ix);
  P(k, "        for (%s s = top - 1; s >= pos; s--) {\n", ix);
  P(k, "          a%u[ob + (s + 1) * inner] = a%u[ob + s * inner];\n", av, av);
  P(k, "          a%u[ob + (s + 1) * inner] = a%u[ob + s * inner];\n        }\n", ai, ai);
  P(k, "        a%u[ob + pos * inner] = %s;\n", av, stx(vo.dt, "v", b, sizeof b));
  P(k, "        a%u[ob + pos * inner] = (%s)j;\n", ai, io.st);
  if (x.fl) P(k, "        if (v != v) nan_in = true;\n");
  P(k, "      }\n");
  P(k, "      cnt = cnt + 1 < K ? cnt + 1 : K;\n");
  snprintf(src, sizeof src, "a%u[ob + (K - 1) * inner]", av);
  P(k, "      if (cnt == K) thr = %s;\n    }\n  }\n", ld(vo.dt, src, b, sizeof b));
  k->work = line_count(k, xt, axis);
  return NULL;
}

ug_status_t ug_cuda_emit_reduce(kctx_t *k) {
  switch (k->n->op) {
  case UG_OP_REDUCE_SUM: case UG_OP_REDUCE_MEAN: case UG_OP_REDUCE_MAX: case UG_OP_REDUCE_MIN:
  case UG_OP_REDUCE_PROD:
    return emit_reduce(k);
  case UG_OP_ARGMAX: case UG_OP_ARGMIN: return emit_argminmax(k);
  case UG_OP_SOFTMAX: case UG_OP_LOG_SOFTMAX: return emit_softmax(k);
  case UG_OP_CUMSUM: return emit_cumsum(k);
  case UG_OP_LAYER_NORM: case UG_OP_RMS_NORM: return emit_norm(k);
  case UG_OP_BATCH_NORM: return emit_batch_norm(k);
  case UG_OP_INSTANCE_NORM: return emit_instance_norm(k);
  case UG_OP_LRN: return emit_lrn(k);
  case UG_OP_TOPK: return emit_topk(k);
  default: return ug_cuda_unsupported(k);
  }
}
