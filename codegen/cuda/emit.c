/* One CUDA kernel per plan step; see emit.h.
 *
 * Every kernel is a grid-stride loop over the elements of its result, with
 * 64-bit indices unless every size is static and below 2^31.  Elementwise
 * ops whose operands all have the result's shape (or are single elements)
 * run flat, with 16-byte vector loads and stores when every pointer is
 * 16-byte aligned (checked at run time; the remainder runs scalar);
 * broadcasting ops and the index maps of transpose, expand and slice
 * decompose the flat result index into coordinates and add each operand's
 * strides (0 along broadcast axes, decided at run time for symbolic dims). */
#include "codegen/cuda/emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda/ew.h"
#include "codegen/cuda/kernel.h"
#include "codegen/cuda/kir_emit.h"
#include "codegen/kir_lower.h"
#include "codegen/kir_pipeline.h"
#include "ugrt/model_abi.h"

typedef ug_cuda_kctx_t kctx_t;

#define EXPR UG_CUDA_EXPR
#define PROD UG_CUDA_PROD
#define STRIDE UG_CUDA_STRIDE

const char *ug_cuda_dimstr(ug_dim_t d, char *buf, size_t size) {
  if (UG_DIM_IS_STATIC(d)) snprintf(buf, size, "%lldLL", (long long)d);
  else snprintf(buf, size, "dims[%zu]", ug_dim_index(d));
  return buf;
}

void ug_cuda_prodstr(const ug_type_t *t, int from, int to, char *buf, size_t size) {
  long long k = 1;
  size_t used = 0;
  buf[0] = 0;
  for (int i = from; i < to; i++) {
    if (UG_DIM_IS_STATIC(t->dims[i])) {
      k *= t->dims[i];
      continue;
    }
    used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "dims[%zu] * ",
                             ug_dim_index(t->dims[i]));
  }
  if (used < size) snprintf(buf + used, size - used, "%lldLL", k);
}

bool ug_cuda_small_type(const ug_type_t *t) {
  int64_t numel;
  return ug_type_static_numel(t, &numel) && numel < ((int64_t)1 << 30); /* headroom for i += grid stride */
}

bool ug_cuda_same_shape(const ug_type_t *a, const ug_type_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

bool ug_cuda_is_single(const ug_type_t *a) {
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != 1) return false;
  return true;
}

void ug_cuda_grid_loop(kctx_t *k, const char *n) {
  fprintf(k->f, "  const %s n = %s;\n", k->ix, n);
  fprintf(k->f, "  for (%s i = (%s)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (%s)gridDim.x * blockDim.x) {\n",
          k->ix, k->ix, k->ix);
}

void ug_cuda_decompose(kctx_t *k, const ug_type_t *out, uint32_t nops, char strides[][UG_MAX_RANK][STRIDE]) {
  const char *ix = k->ix;
  fprintf(k->f, "    %s t = i;\n", ix);
  for (uint32_t a = 0; a < nops; a++) fprintf(k->f, "    %s o%u = 0;\n", ix, a);
  int first = -1;
  for (int i = 0; i < out->rank; i++)
    if (out->dims[i] != 1) {
      first = i;
      break;
    }
  for (int i = out->rank - 1; i >= 0; i--) {
    if (out->dims[i] == 1) continue;
    char d[64];
    if (i == first) {
      for (uint32_t a = 0; a < nops; a++) fprintf(k->f, "    o%u += t * (%s)(%s);\n", a, ix, strides[a][i]);
      break;
    }
    fprintf(k->f, "    { const %s q = t %% (%s)%s; t /= (%s)%s;", ix, ix, ug_cuda_dimstr(out->dims[i], d, sizeof d), ix, d);
    for (uint32_t a = 0; a < nops; a++) fprintf(k->f, " o%u += q * (%s)(%s);", a, ix, strides[a][i]);
    fprintf(k->f, " }\n");
  }
}


void ug_cuda_bstride(const ug_type_t *t, const ug_type_t *out, int i, char *buf, size_t size) {
  int j = i - (out->rank - t->rank);
  if (j < 0 || t->dims[j] == 1) {
    snprintf(buf, size, "0");
    return;
  }
  char s[PROD], d[64];
  ug_cuda_prodstr(t, j + 1, t->rank, s, sizeof s);
  if (t->dims[j] == out->dims[i]) snprintf(buf, size, "%s", s);
  else snprintf(buf, size, "(%s == 1 ? 0LL : %s)", ug_cuda_dimstr(t->dims[j], d, sizeof d), s);
}

static ug_status_t emit_ew(kctx_t *k, ug_value_id_t *ops, uint32_t nops, ug_value_id_t res) {
  const ug_node_t *n = k->n;
  const ug_type_t *ot = ug_value_type(k->g, res);
  char in_names[8][16];
  const char *in[8];
  ug_dtype_t dts[8];
  /* operand index of node operand i, or -1 when absent */
  int which[8];
  uint32_t a = 0;
  for (uint32_t i = 0; i < n->num_operands && i < 8; i++) {
    ug_value_id_t v = ug_node_operand(k->g, n, i);
    which[i] = v == UG_NONE ? -1 : (int)a++;
    snprintf(in_names[i], sizeof in_names[i], "v%u", i);
    in[i] = v == UG_NONE ? NULL : in_names[i];
    dts[i] = v == UG_NONE ? ot->dtype : ug_value_type(k->g, v)->dtype;
  }
  char expr[EXPR], tmp[EXPR];
  ug_ew_t ew = ug_ew_of_node(k->g, n);
  UG_RETURN_IF_ERROR(ug_cuda_ew_expr(&ew, in, dts, ot->dtype, expr, sizeof expr));
  const char *oct = ug_cuda_ctype(ot->dtype), *ost = ug_cuda_stype(ot->dtype);
  bool flat = true;
  for (uint32_t i = 0; i < nops; i++) {
    const ug_type_t *t = ug_value_type(k->g, ops[i]);
    if (!ug_cuda_same_shape(t, ot) && !ug_cuda_is_single(t)) flat = false;
  }
  char numel[EXPR / 4];
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  if (flat) {
    /* singles are loaded once */
    int maxb = ug_dtype_bits(ot->dtype) / 8;
    for (uint32_t i = 0; i < n->num_operands; i++) {
      if (which[i] < 0) continue;
      const ug_type_t *t = ug_value_type(k->g, ops[which[i]]);
      if (!ug_cuda_same_shape(t, ot)) {
        char src[32];
        snprintf(src, sizeof src, "a%d[0]", which[i]);
        ug_cuda_load_expr(t->dtype, src, tmp, sizeof tmp);
        fprintf(k->f, "  const %s v%u = %s;\n", ug_cuda_ctype(t->dtype), i, tmp);
      } else if (ug_dtype_bits(t->dtype) / 8 > maxb) {
        maxb = ug_dtype_bits(t->dtype) / 8;
      }
    }
    int V = 16 / maxb;
    char store[EXPR];
    ug_cuda_store_expr(ot->dtype, "r", store, sizeof store);
    if (V > 1) {
      k->per_thread = (uint32_t)V;
      fprintf(k->f, "  const int64_t n_all = %s;\n  int64_t i0 = 0;\n", numel);
      fprintf(k->f, "  if (((unsigned long long)a%u", nops);
      for (uint32_t i = 0; i < n->num_operands; i++)
        if (which[i] >= 0 && ug_cuda_same_shape(ug_value_type(k->g, ops[which[i]]), ot))
          fprintf(k->f, " | (unsigned long long)a%d", which[i]);
      fprintf(k->f, ") %% 16 == 0) {\n");
      fprintf(k->f, "    const int64_t nv = n_all / %d;\n", V);
      fprintf(k->f, "    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < nv; j += (int64_t)gridDim.x * blockDim.x) {\n");
      for (uint32_t i = 0; i < n->num_operands; i++) {
        if (which[i] < 0) continue;
        const ug_type_t *t = ug_value_type(k->g, ops[which[i]]);
        if (!ug_cuda_same_shape(t, ot)) continue;
        const char *st = ug_cuda_stype(t->dtype);
        fprintf(k->f, "      const ug_vec<%s, %d> w%u = reinterpret_cast<const ug_vec<%s, %d> *>(a%d)[j];\n", st, V, i,
                st, V, which[i]);
      }
      fprintf(k->f, "      ug_vec<%s, %d> wo;\n#pragma unroll\n      for (int e = 0; e < %d; e++) {\n", ost, V, V);
      for (uint32_t i = 0; i < n->num_operands; i++) {
        if (which[i] < 0) continue;
        const ug_type_t *t = ug_value_type(k->g, ops[which[i]]);
        if (!ug_cuda_same_shape(t, ot)) continue;
        char src[32];
        snprintf(src, sizeof src, "w%u.e[e]", i);
        ug_cuda_load_expr(t->dtype, src, tmp, sizeof tmp);
        fprintf(k->f, "        const %s v%u = %s;\n", ug_cuda_ctype(t->dtype), i, tmp);
      }
      fprintf(k->f, "        const %s r = %s;\n        wo.e[e] = %s;\n      }\n", oct, expr, store);
      fprintf(k->f, "      reinterpret_cast<ug_vec<%s, %d> *>(a%u)[j] = wo;\n    }\n", ost, V, nops);
      fprintf(k->f, "    i0 = nv * %d;\n  }\n", V);
      fprintf(k->f, "  for (int64_t i = i0 + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n_all; i += (int64_t)gridDim.x * blockDim.x) {\n");
    } else {
      ug_cuda_grid_loop(k, numel);
    }
    for (uint32_t i = 0; i < n->num_operands; i++) {
      if (which[i] < 0) continue;
      const ug_type_t *t = ug_value_type(k->g, ops[which[i]]);
      if (!ug_cuda_same_shape(t, ot)) continue;
      char src[32];
      snprintf(src, sizeof src, "a%d[i]", which[i]);
      ug_cuda_load_expr(t->dtype, src, tmp, sizeof tmp);
      fprintf(k->f, "    const %s v%u = %s;\n", ug_cuda_ctype(t->dtype), i, tmp);
    }
    fprintf(k->f, "    const %s r = %s;\n    a%u[i] = %s;\n  }\n", oct, expr, nops, store);
    return NULL;
  }
  /* broadcasting */
  char (*strides)[UG_MAX_RANK][STRIDE] = calloc(8, sizeof *strides);
  for (uint32_t i = 0; i < nops; i++)
    for (int ax = 0; ax < ot->rank; ax++)
      ug_cuda_bstride(ug_value_type(k->g, ops[i]), ot, ax, strides[i][ax], sizeof strides[i][ax]);
  ug_cuda_grid_loop(k, numel);
  ug_cuda_decompose(k, ot, nops, strides);
  free(strides);
  for (uint32_t i = 0; i < n->num_operands; i++) {
    if (which[i] < 0) continue;
    const ug_type_t *t = ug_value_type(k->g, ops[which[i]]);
    char src[32];
    snprintf(src, sizeof src, "a%d[o%d]", which[i], which[i]);
    ug_cuda_load_expr(t->dtype, src, tmp, sizeof tmp);
    fprintf(k->f, "    const %s v%u = %s;\n", ug_cuda_ctype(t->dtype), i, tmp);
  }
  char store[EXPR];
  ug_cuda_store_expr(ot->dtype, "r", store, sizeof store);
  fprintf(k->f, "    const %s r = %s;\n    a%u[i] = %s;\n  }\n", oct, expr, nops, store);
  return NULL;
}

/* Copies `bytes` bytes from a0 to a1: 16-byte vectors when both are
 * aligned, then the tail byte by byte. */
static void emit_copy(kctx_t *k, const char *bytes) {
  k->per_thread = 16;
  fprintf(k->f, "  const int64_t n = %s;\n  int64_t i0 = 0;\n", bytes);
  fprintf(k->f, "  const int64_t t0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, st = (int64_t)gridDim.x * blockDim.x;\n");
  fprintf(k->f, "  if (((unsigned long long)a0 | (unsigned long long)a1) %% 16 == 0) {\n");
  fprintf(k->f, "    const int64_t nv = n / 16;\n");
  fprintf(k->f, "    for (int64_t j = t0; j < nv; j += st)\n");
  fprintf(k->f, "      reinterpret_cast<uint4 *>(a1)[j] = reinterpret_cast<const uint4 *>(a0)[j];\n");
  fprintf(k->f, "    i0 = nv * 16;\n  }\n");
  fprintf(k->f, "  for (int64_t i = i0 + t0; i < n; i += st) a1[i] = a0[i];\n");
}

/* out[i] = x[base + sum(coord_ax * stride[ax])] over the result's coordinates. */
static void emit_index_map(kctx_t *k, const ug_type_t *ot, const char *base, char strides[][UG_MAX_RANK][STRIDE]) {
  char numel[EXPR / 4];
  ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
  fprintf(k->f, "  const int64_t base = %s;\n", base);
  ug_cuda_grid_loop(k, numel);
  ug_cuda_decompose(k, ot, 1, strides);
  fprintf(k->f, "    a1[i] = a0[base + o0];\n  }\n");
}

int ug_cuda_norm_axis(int64_t a, int rank) { return (int)(a < 0 ? a + rank : a); }

const int64_t *ug_cuda_attr_ints(ug_graph_t *g, const ug_node_t *n, ug_attr_key_t key, uint32_t *out_n) {
  const ug_attr_t *a = ug_node_attr(g, n, key);
  *out_n = a ? a->u.ints.n : 0;
  return a ? a->u.ints.v : NULL;
}

ug_status_t ug_cuda_unsupported(kctx_t *k) {
  return ug_node_error(k->g, k->n, UG_ERR_UNSUPPORTED, "not supported on cuda yet");
}

/* A transpose whose perm keeps axes [0, b) and swaps the runs [b, c) and
 * [c, rank) (NCHW -> NHWC is [0, 2, 3, 1]: b = 1, c = 2) is a batch of 2-D
 * transposes [Y, X] -> [X, Y]: 32x32 tiles through shared memory, so that
 * both the reads and the writes are coalesced (an index map reads every
 * element 32 apart).  Returns false for other perms. */
static ug_dim_t dims_prod(ug_dims_t *D, const ug_dim_t *dims, int lo, int hi) {
  ug_dim_t p = 1;
  for (int i = lo; i < hi; i++) p = ug_dim_mul(D, p, dims[i]);
  return p;
}

static bool emit_tiled_transpose(kctx_t *k, const ug_type_t *xt, const int64_t *perm) {
  int r = xt->rank, b = 0;
  while (b < r && perm[b] == b) b++;
  if (b >= r - 1 || perm[b] <= b || perm[b] >= r) return false;
  int c = (int)perm[b];
  for (int i = b; i < r; i++)
    if (perm[i] != (i - b < r - c ? c + (i - b) : b + (i - b) - (r - c))) return false;
  char B[EXPR / 4], Y[EXPR / 4], X[EXPR / 4];
  ug_cuda_prodstr(xt, 0, b, B, sizeof B);
  ug_cuda_prodstr(xt, b, c, Y, sizeof Y);
  ug_cuda_prodstr(xt, c, r, X, sizeof X);
  int bytes = ug_dtype_bits(xt->dtype) / 8;
  const char *et = bytes == 8 ? "unsigned long long" : bytes == 4 ? "unsigned" : bytes == 2 ? "unsigned short" : "unsigned char";
  fprintf(k->f,
          "  typedef %s E;\n"
          "  const int64_t B = %s, Y = %s, X = %s, tx = (X + 31) / 32, per = tx * ((Y + 31) / 32);\n"
          "  const E *__restrict__ src = reinterpret_cast<const E *>(a0);\n"
          "  E *__restrict__ dst = reinterpret_cast<E *>(a1);\n"
          "  __shared__ E tile[32][33];\n"
          "  const int lx = threadIdx.x & 31, ly = threadIdx.x >> 5;\n"
          "  for (int64_t t = blockIdx.x; t < per * B; t += gridDim.x) {\n"
          "    const int64_t bi = t / per, q = t - bi * per, y0 = q / tx * 32, x0 = q %% tx * 32;\n"
          "    const E *s = src + bi * Y * X;\n"
          "    E *d = dst + bi * X * Y;\n"
          "#pragma unroll\n"
          "    for (int j = ly; j < 32; j += 8)\n"
          "      if (y0 + j < Y && x0 + lx < X) tile[j][lx] = s[(y0 + j) * X + x0 + lx];\n"
          "    __syncthreads();\n"
          "#pragma unroll\n"
          "    for (int j = ly; j < 32; j += 8)\n"
          "      if (x0 + j < X && y0 + lx < Y) d[(x0 + j) * Y + y0 + lx] = tile[lx][j];\n"
          "    __syncthreads();\n"
          "  }\n",
          et, B, Y, X);
  ug_dims_t *D = k->m->dims;
  ug_dim_t tiles = ug_dim_mul(D, ug_dim_ceildiv(D, dims_prod(D, xt->dims, b, c), 32),
                              ug_dim_ceildiv(D, dims_prod(D, xt->dims, c, r), 32));
  k->custom_launch = true;
  k->grid[0] = ug_dim_min(D, ug_dim_mul(D, tiles, dims_prod(D, xt->dims, 0, b)), UG_CUDA_MAX_GRID);
  k->grid[1] = k->grid[2] = 1;
  k->block = 256;
  k->shared_bytes = 0;
  return true;
}

static ug_status_t emit_movement(kctx_t *k, ug_value_id_t *ops, uint32_t nops, ug_value_id_t res) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *ot = ug_value_type(g, res), *xt = ug_value_type(g, ops[0]);
  char (*s)[UG_MAX_RANK][STRIDE] = calloc(1, sizeof *s);
  char bytes[EXPR / 2], base[EXPR] = "0";
  ug_status_t st = NULL;
  switch (n->op) {
  case UG_OP_RESHAPE: case UG_OP_SQUEEZE: case UG_OP_UNSQUEEZE: {
    char numel[EXPR / 4];
    ug_cuda_prodstr(ot, 0, ot->rank, numel, sizeof numel);
    snprintf(bytes, sizeof bytes, "%s * %dLL", numel, ug_dtype_bits(ot->dtype) / 8);
    emit_copy(k, bytes);
    break;
  }
  case UG_OP_TRANSPOSE: {
    uint32_t np;
    const int64_t *perm = ug_cuda_attr_ints(g, n, UG_ATTR_PERM, &np);
    int64_t pv[UG_MAX_RANK];
    for (int i = 0; i < ot->rank; i++) pv[i] = perm && np == (uint32_t)ot->rank ? perm[i] : ot->rank - 1 - i;
    if (xt->rank == ot->rank && emit_tiled_transpose(k, xt, pv)) break;
    for (int i = 0; i < ot->rank && !st; i++) {
      int64_t p = perm && np == (uint32_t)ot->rank ? perm[i] : ot->rank - 1 - i;
      if (p < 0 || p >= xt->rank) st = ug_node_error(g, n, UG_ERR_INVALID, "bad perm");
      else ug_cuda_prodstr(xt, (int)p + 1, xt->rank, s[0][i], sizeof s[0][i]);
    }
    if (!st) emit_index_map(k, ot, base, s);
    break;
  }
  case UG_OP_EXPAND:
    for (int i = 0; i < ot->rank; i++) ug_cuda_bstride(xt, ot, i, s[0][i], sizeof s[0][i]);
    emit_index_map(k, ot, base, s);
    break;
  case UG_OP_SLICE: {
    uint32_t na, ns, nst;
    const int64_t *axes = ug_cuda_attr_ints(g, n, UG_ATTR_AXES, &na);
    const int64_t *starts = ug_cuda_attr_ints(g, n, UG_ATTR_STARTS, &ns);
    const int64_t *steps = ug_cuda_attr_ints(g, n, UG_ATTR_STEPS, &nst);
    int64_t step[UG_MAX_RANK];
    char start[UG_MAX_RANK][640];
    for (int i = 0; i < xt->rank; i++) step[i] = 1, snprintf(start[i], sizeof start[i], "0LL");
    for (uint32_t i = 0; i < ns && !st; i++) {
      int a = axes && i < na ? ug_cuda_norm_axis(axes[i], xt->rank) : (int)i;
      if (a < 0 || a >= xt->rank) {
        st = ug_node_error(g, n, UG_ERR_INVALID, "bad slice axis");
        break;
      }
      /* as on the CPU: a negative start counts from the end, then clamps to
       * [0, d] (forward) or [0, d-1] (backward) */
      int64_t sv = starts[i], sp = steps && i < nst ? steps[i] : 1;
      char d[64], v[128], hi[128];
      ug_cuda_dimstr(xt->dims[a], d, sizeof d);
      if (sv < 0) snprintf(v, sizeof v, "(%s + %lldLL)", d, (long long)sv);
      else snprintf(v, sizeof v, "%lldLL", (long long)sv);
      if (sp > 0) snprintf(hi, sizeof hi, "%s", d);
      else snprintf(hi, sizeof hi, "(%s - 1LL)", d);
      snprintf(start[a], sizeof start[a], "ug_max0(%s < %s ? %s : %s)", v, hi, v, hi);
      step[a] = sp;
    }
    if (st) break;
    size_t used = 0;
    for (int i = 0; i < xt->rank; i++) {
      char str[PROD];
      ug_cuda_prodstr(xt, i + 1, xt->rank, str, sizeof str);
      used += (size_t)snprintf(base + used, used < sizeof base ? sizeof base - used : 0, " + %s * %s", start[i], str);
      snprintf(s[0][i], sizeof s[0][i], "%lldLL * %s", (long long)step[i], str);
    }
    if (used >= sizeof base) st = ug_node_error(g, n, UG_ERR_UNSUPPORTED, "slice expression too long");
    else emit_index_map(k, ot, base, s);
    break;
  }
  case UG_OP_CONCAT: {
    int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, 0), ot->rank);
    if (axis < 0 || axis >= ot->rank) {
      st = ug_node_error(g, n, UG_ERR_INVALID, "bad concat axis");
      break;
    }
    const char *ix = k->ix;
    char off[EXPR / 2] = "0LL", io[EXPR / 8], d[64];
    ug_cuda_prodstr(ot, axis, ot->rank, io, sizeof io);
    fprintf(k->f, "  const %s t0 = (%s)blockIdx.x * blockDim.x + threadIdx.x, st = (%s)gridDim.x * blockDim.x;\n", ix, ix, ix);
    for (uint32_t i = 0; i < nops; i++) {
      const ug_type_t *t = ug_value_type(g, ops[i]);
      char nx[EXPR / 8], ixs[EXPR / 8], inner[EXPR / 8];
      ug_cuda_prodstr(t, 0, t->rank, nx, sizeof nx);
      ug_cuda_prodstr(t, axis, t->rank, ixs, sizeof ixs);
      ug_cuda_prodstr(t, axis + 1, t->rank, inner, sizeof inner);
      fprintf(k->f, "  {\n    const %s nx = %s, inner_x = %s, inner_o = %s, ob = (%s) * %s;\n", ix, nx, ixs, io, off, inner);
      fprintf(k->f, "    for (%s i = t0; i < nx; i += st) {\n      const %s r = i / inner_x;\n", ix, ix);
      fprintf(k->f, "      a%u[r * inner_o + ob + (i - r * inner_x)] = a%u[i];\n    }\n  }\n", nops, i);
      size_t l = strlen(off);
      snprintf(off + l, sizeof off - l, " + %s", ug_cuda_dimstr(t->dims[axis], d, sizeof d));
    }
    break;
  }
  default:
    st = ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not supported on cuda yet");
  }
  free(s);
  return st;
}

static bool in_step(const ug_plan_step_t *s, ug_node_id_t d, uint32_t from) {
  for (uint32_t i = from; i < s->num_nodes && d != UG_NONE; i++)
    if (s->nodes[i] == d) return true;
  return false;
}

static int arg_of(const ug_plan_step_t *s, ug_value_id_t v) {
  for (uint32_t a = 0; a < s->num_args; a++)
    if (s->arg_values[a] == v) return (int)a;
  return -1;
}

/* The epilogue of a fused matmul: the lambda `ug_epi(o, v)` that takes
 * result element o (flat over the matmul's result) with accumulator v,
 * stores it where the result is an arg, rounds it to the result's dtype
 * (as the unfused matmul stores it), and computes the step's other nodes
 * on it in f32 (f16/bf16 values; casts round), storing what leaves the
 * kernel.  The same semantics as the CPU's matmul + kernel-IR epilogue. */
static ug_status_t emit_epilogue(kctx_t *k) {
  const ug_plan_step_t *s = k->s;
  ug_graph_t *g = k->g;
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  ug_value_id_t hr = ug_node_result(g, head, 0);
  const ug_type_t *ot = ug_value_type(g, hr);
  char e[EXPR], r[EXPR];
  fprintf(k->f, "  auto ug_epi = [&](int64_t o, float v) {\n");
  if (k->mm_arg[2] >= 0) {
    ug_cuda_store_expr(ot->dtype, "v", e, sizeof e);
    fprintf(k->f, "    a%d[o] = %s;\n", k->mm_arg[2], e);
  }
  ug_cuda_round_expr(ot->dtype, "v", r, sizeof r);
  fprintf(k->f, "    const float v%u = %s;\n", hr, r);
  /* offsets of the operands from outside, broadcast over the result */
  ug_value_id_t ext[16];
  uint32_t next = 0;
  for (uint32_t i = 1; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (v == hr || in_step(s, g->values.items[v].def, 1)) continue;
      bool seen = false;
      for (uint32_t q = 0; q < next; q++) seen = seen || ext[q] == v;
      if (seen) continue;
      if (next == 16) return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "an epilogue of more than 16 operands on cuda");
      ext[next++] = v;
    }
  }
  if (next) {
    char (*st)[UG_MAX_RANK][UG_CUDA_STRIDE] = calloc(next, sizeof *st);
    if (!st) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
    for (uint32_t q = 0; q < next; q++)
      for (int i = 0; i < ot->rank; i++) ug_cuda_bstride(ug_value_type(g, ext[q]), ot, i, st[q][i], sizeof st[q][i]);
    const char *saved = k->ix;
    k->ix = "int64_t";
    fprintf(k->f, "    const int64_t i = o;\n");
    ug_cuda_decompose(k, ot, next, st);
    k->ix = saved;
    free(st);
    for (uint32_t q = 0; q < next; q++) {
      ug_dtype_t dt = ug_value_type(g, ext[q])->dtype;
      int a = arg_of(s, ext[q]);
      if (a < 0) return ug_node_error(g, head, UG_ERR_INTERNAL, "epilogue operand without a buffer");
      char src[64];
      snprintf(src, sizeof src, "a%d[o%u]", a, q);
      ug_cuda_load_expr(dt, src, e, sizeof e);
      fprintf(k->f, "    const %s v%u = %s;\n", ug_cuda_ctype(ug_dtype_compute(dt)), ext[q], e);
    }
  }
  for (uint32_t i = 1; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    ug_value_id_t rv = ug_node_result(g, n, 0);
    ug_dtype_t rdt = ug_value_type(g, rv)->dtype;
    char names[3][16];
    const char *in[3] = {NULL, NULL, NULL};
    ug_dtype_t dts[3];
    for (uint32_t j = 0; j < n->num_operands && j < 3; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      snprintf(names[j], sizeof names[j], "v%u", v);
      in[j] = names[j];
      dts[j] = ug_dtype_compute(ug_value_type(g, v)->dtype);
    }
    ug_ew_t ew = ug_ew_of_node(g, n);
    bool cast = n->op == UG_OP_CAST;
    UG_RETURN_IF_ERROR(ug_cuda_ew_expr(&ew, in, dts, cast ? rdt : ug_dtype_compute(rdt), e, sizeof e));
    if (cast) ug_cuda_round_expr(rdt, e, r, sizeof r);
    else snprintf(r, sizeof r, "%s", e);
    fprintf(k->f, "    const %s v%u = %s;\n", ug_cuda_ctype(ug_dtype_compute(rdt)), rv, r);
    int a = arg_of(s, rv);
    if (a >= 0) {
      snprintf(r, sizeof r, "v%u", rv);
      ug_cuda_store_expr(rdt, r, e, sizeof e);
      fprintf(k->f, "    a%d[o] = %s;\n", a, e);
    }
  }
  fprintf(k->f, "  };\n");
  return NULL;
}

/* A fused kernel (several nodes): a matmul, linear or conv with its epilogue, or else
 * through the kernel IR.  The parameters are the step's args, operands
 * from outside first; scratch args (the CPU's) are unused here. */
static ug_status_t emit_matmul_kir(kctx_t *k, bool *out_done);

static ug_status_t emit_fused(kctx_t *k) {
  const ug_plan_step_t *s = k->s;
  ug_graph_t *g = k->g;
  fputc('(', k->f);
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (v == UG_NONE) {
      fprintf(k->f, "unsigned char *__restrict__ a%u, ", a);
      continue;
    }
    const char *sty = ug_cuda_stype(ug_value_type(g, v)->dtype);
    const ug_node_t *head = &g->nodes.items[s->nodes[0]];
    bool weight = head->op == UG_OP_LINEAR && v == ug_node_operand(g, head, 1);
    if (!sty || (ug_dtype_is_quant(ug_value_type(g, v)->dtype) && !weight))
      return ug_node_error(g, head, UG_ERR_UNSUPPORTED, "not supported on cuda yet (dtype %s in a fused kernel)",
                           ug_dtype_name(ug_value_type(g, v)->dtype));
    ug_node_id_t d = g->values.items[v].def;
    bool inside = false;
    for (uint32_t i = 0; i < s->num_nodes && d != UG_NONE; i++) inside = inside || s->nodes[i] == d;
    /* args sharing a buffer (an in-place step, codegen/plan.h) are not restrict */
    fprintf(k->f, "%s%s *%sa%u, ", inside ? "" : "const ", sty, ug_plan_arg_shared(s, a) ? "" : "__restrict__ ", a);
  }
  fprintf(k->f, "const int64_t *__restrict__ dims) {\n");
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  bool done;
  ug_status_t st = emit_matmul_kir(k, &done);
  if (done) {
    fprintf(k->f, "}\n");
    return st;
  }
  if (head->op == UG_OP_MATMUL || head->op == UG_OP_LINEAR || head->op == UG_OP_CONV || head->op == UG_OP_CONV_NHWC) {
    k->n = head;
    k->nops = 0;
    for (uint32_t i = 0; i < head->num_operands && i < 3; i++) {
      ug_value_id_t v = ug_node_operand(g, head, i);
      if (v != UG_NONE) k->ops[k->nops++] = v;
    }
    k->res[0] = ug_node_result(g, head, 0);
    k->nres = 1;
    k->mm_arg[0] = arg_of(s, k->ops[0]);
    k->mm_arg[1] = arg_of(s, k->ops[1]);
    k->mm_arg[2] = arg_of(s, k->res[0]);
    bool has_bias = head->op == UG_OP_LINEAR || head->op == UG_OP_CONV || head->op == UG_OP_CONV_NHWC;
    ug_value_id_t bias = has_bias && head->num_operands > 2 ? ug_node_operand(g, head, 2) : UG_NONE;
    k->bias_arg = bias == UG_NONE ? -1 : arg_of(s, bias);
    k->epilogue = true;
    if (k->mm_arg[0] < 0 || k->mm_arg[1] < 0 || (bias != UG_NONE && k->bias_arg < 0))
      return ug_node_error(g, head, UG_ERR_INTERNAL, "fused contraction operand without a buffer");
    k->ix = "int64_t";
    st = emit_epilogue(k);
    if (!st) st = head->op == UG_OP_LINEAR ? ug_cuda_emit_linear(k) : ug_cuda_emit_contract(k);
  } else {
    ug_kir_kernel_t *kk;
    st = ug_kir_lower_step(k->kir, k->plan, s, &kk);
    if (!st) st = ug_cuda_emit_kir(k, kk);
  }
  fprintf(k->f, "}\n");
  return st;
}

/* Block-quantized values reach only the ops that take them (ir/infer.c):
 * linear's weight, cast's operand, gather's table and result, shape_of.
 * Argument i of the step (operands, then results) is quantized: an error
 * naming the node unless the CUDA kernels handle that use. */
static ug_status_t check_quant(kctx_t *k, uint32_t i) {
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  const ug_type_t *t = ug_value_type(g, i < k->nops ? k->ops[i] : k->res[i - k->nops]);
  bool res = i >= k->nops;
  switch (n->op) {
  case UG_OP_LINEAR:
    if (!res && i == 1) return NULL;
    break;
  case UG_OP_CAST:
    if (!res && i == 0) return NULL;
    break;
  case UG_OP_SHAPE_OF:
    if (!res) return NULL;
    break;
  case UG_OP_GATHER: {
    const ug_type_t *xt = ug_value_type(g, k->ops[0]);
    int axis = ug_cuda_norm_axis(ug_node_attr_int(g, n, UG_ATTR_AXIS, 0), xt->rank);
    if (xt->rank == 2 && axis == 0 && (i == 0 || res)) return NULL;
    return ug_node_error(g, n, UG_ERR_UNSUPPORTED,
                         "not supported on cuda yet (gather from block-quantized %s along axis %d: only whole rows "
                         "of a rank-2 table, axis 0)",
                         ug_dtype_name(xt->dtype), axis);
  }
  default: break;
  }
  return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (block-quantized %s %s %u)",
                       ug_dtype_name(t->dtype), res ? "result" : "operand", res ? i - k->nops : i);
}

/* Step s's body through the kernel IR when codegen/kir_lower.c lowers it
 * (*out_done); a step it reports UG_ERR_UNSUPPORTED for is left to the
 * per-node emitter, with nothing written. */
static ug_status_t emit_via_kir(kctx_t *k, bool *out_done) {
  ug_kir_kernel_t *kk;
  *out_done = false;
  ug_status_t st = ug_kir_lower_step(k->kir, k->plan, k->s, &kk);
  if (st && ug_status_code(st) == UG_ERR_UNSUPPORTED && !kk) {
    ug_status_free(st);
    return NULL;
  }
  *out_done = true;
  return st ? st : ug_cuda_emit_kir(k, kk);
}

/* A matmul, conv, conv_transpose or conv_nhwc step (alone or with its
 * epilogue) through the kernel IR: the contraction lowering (split K over
 * clusters where ug_kir_gpu_split says), the software-pipeline pass,
 * kir_emit.c.  f16 and bf16 (128x128x32 tiles) and f32 (128x128x16, the
 * arithmetic of --precision).  What ug_kir_gpu_contract_skip keeps off,
 * what the lowering does not take and what the emitter rejects stay with
 * contract.c and conv.c (*out_done false, nothing written). */
static ug_status_t emit_matmul_kir(kctx_t *k, bool *out_done) {
  *out_done = false;
  const ug_plan_step_t *s = k->s;
  ug_graph_t *g = k->g;
  const ug_node_t *head = &g->nodes.items[s->node];
  if (!ug_kir_contract_op(head->op)) return NULL;
  ug_kir_mm_tiles_t tiles = ug_kir_gpu_contract_tiles(g, head);
  if (ug_kir_gpu_contract_skip(g, head, &tiles)) return NULL;
  ug_kir_kernel_t *kk;
  ug_status_t st = ug_kir_lower_contract(k->kir, k->plan, s, &tiles, &kk);
  if (st && ug_status_code(st) == UG_ERR_UNSUPPORTED && !kk) {
    ug_status_free(st);
    return NULL;
  }
  if (st) return st;
  uint32_t stages;
  UG_RETURN_IF_ERROR(ug_kir_software_pipeline(kk, &ug_kir_gpu_swp_model, &kk, &stages));
  if (!stages) return ug_node_error(g, head, UG_ERR_INTERNAL, "the %s's K loop is not in the form software-pipeline takes",
                                    ug_op_info(head->op)->name);
  /* the body goes to a buffer first: an op the emitter rejects leaves the
   * step to contract.c (the launch fields are set only on success) */
  char *text = NULL;
  size_t len = 0;
  FILE *out = k->f, *buf = open_memstream(&text, &len);
  if (!buf) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  k->f = buf;
  st = ug_cuda_emit_kir(k, kk);
  k->f = out;
  fclose(buf);
  if (st && ug_status_code(st) == UG_ERR_UNSUPPORTED) {
    ug_status_free(st);
    free(text);
    free(k->pre);
    k->pre = NULL;
    k->pre_len = 0;
    return NULL;
  }
  if (!st) fwrite(text, 1, len, out);
  free(text);
  *out_done = true;
  return st;
}

/* The parameter list and body of the kernel of step s (without its name). */
static ug_status_t emit_step(kctx_t *k) {
  const ug_plan_step_t *s = k->s;
  if (s->kind == UG_STEP_COPY) {
    fprintf(k->f, "(const unsigned char *__restrict__ a0, unsigned char *__restrict__ a1, const int64_t *__restrict__ dims) {\n");
    char b[64];
    emit_copy(k, ug_cuda_dimstr(s->copy_bytes, b, sizeof b));
    k->work = ug_dim_ceildiv(k->m->dims, s->copy_bytes, 16);
    k->per_thread = 1;
    fprintf(k->f, "}\n");
    return NULL;
  }
  if (s->num_nodes > 1) return emit_fused(k);
  ug_graph_t *g = k->g;
  const ug_node_t *n = k->n;
  if (n->num_operands > 16 || n->num_results > 8) return ug_cuda_unsupported(k);
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v != UG_NONE) k->ops[k->nops++] = v;
  }
  for (uint32_t i = 0; i < n->num_results; i++) k->res[k->nres++] = ug_node_result(g, n, i);
  bool small = true;
  for (uint32_t i = 0; i < k->nops + k->nres; i++) {
    const ug_type_t *t = ug_value_type(g, i < k->nops ? k->ops[i] : k->res[i - k->nops]);
    if (!ug_cuda_stype(t->dtype))
      return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not supported on cuda yet (dtype %s)", ug_dtype_name(t->dtype));
    if (ug_dtype_is_quant(t->dtype)) UG_RETURN_IF_ERROR(check_quant(k, i));
    small = small && ug_cuda_small_type(t);
  }
  k->ix = small ? "int" : "int64_t";
  k->per_thread = 1;
  ug_value_id_t res = k->res[0];
  const ug_type_t *ot = ug_value_type(g, res);
  k->work = ug_type_numel(k->m->dims, ot);
  bool copy = n->op == UG_OP_RESHAPE || n->op == UG_OP_SQUEEZE || n->op == UG_OP_UNSQUEEZE;
  if (copy) {
    /* a byte copy: the kernel takes byte pointers */
    fprintf(k->f, "(const unsigned char *__restrict__ a0, unsigned char *__restrict__ a1, const int64_t *__restrict__ dims) {\n");
  } else {
    /* a scatter's result may be its data operand's buffer (an in-place
     * update of a session state), an elementwise result its operand's (an
     * in-place step, codegen/plan.h): pointers that share are not restrict */
    bool inplace = n->op == UG_OP_SCATTER_ND || n->op == UG_OP_SCATTER_ELEMENTS;
    fputc('(', k->f);
    for (uint32_t i = 0; i < k->nops; i++)
      fprintf(k->f, "const %s *%sa%u, ", ug_cuda_stype(ug_value_type(g, k->ops[i])->dtype),
              (inplace && i == 0) || ug_plan_arg_shared(s, i) ? "" : "__restrict__ ", i);
    for (uint32_t i = 0; i < k->nres; i++)
      fprintf(k->f, "%s *%sa%u, ", ug_cuda_stype(ug_value_type(g, k->res[i])->dtype),
              (inplace && i == 0) || ug_plan_arg_shared(s, k->nops + i) ? "" : "__restrict__ ", k->nops + i);
    for (uint32_t i = 0; i < s->num_scratch; i++)
      fprintf(k->f, "unsigned char *__restrict__ a%u, ", k->nops + k->nres + i);
    fprintf(k->f, "const int64_t *__restrict__ dims) {\n");
  }
  ug_status_t st = NULL;
  switch (ug_op_info(n->op)->category) {
  case UG_CAT_EW: {
    if (n->op == UG_OP_CAST && ug_dtype_is_quant(ug_value_type(g, k->ops[0])->dtype)) {
      st = ug_cuda_emit_dequant(k);
      break;
    }
    /* through the kernel IR where the lowering takes it; the direct
     * emitter for the rest (short broadcast rows) */
    bool done;
    st = emit_via_kir(k, &done);
    if (!done) st = emit_ew(k, k->ops, k->nops, res);
    break;
  }
  case UG_CAT_RED: {
    /* row reductions, softmax and norms over trailing axes, window
     * kernels (lrn, resize, softmax over an earlier axis) through the
     * kernel IR; pool.c and reduce.c for the rest and for what
     * ug_kir_cuda_skip keeps off (measured faster per node) unless
     * --prefer-kir */
    bool done = false;
    if (k->prefer_kir || !ug_kir_cuda_skip(g, s)) st = emit_via_kir(k, &done);
    if (!done) st = n->op == UG_OP_MAX_POOL || n->op == UG_OP_AVG_POOL ? ug_cuda_emit_pool(k) : ug_cuda_emit_reduce(k);
    break;
  }
  case UG_CAT_CON: {
    bool done;
    st = emit_matmul_kir(k, &done);
    if (!done) st = ug_cuda_emit_contract(k);
    break;
  }
  case UG_CAT_MOV: {
    /* index maps through the kernel IR (reshape-like ops stay byte
     * copies); the direct emitters for what the lowering leaves (it
     * reports the ops it does not take unsupported, writing nothing) */
    bool done = false;
    if (!copy) st = emit_via_kir(k, &done);
    if (done) break;
    switch (n->op) {
    case UG_OP_RESHAPE: case UG_OP_SQUEEZE: case UG_OP_UNSQUEEZE: case UG_OP_TRANSPOSE:
    case UG_OP_EXPAND: case UG_OP_SLICE: case UG_OP_CONCAT:
      st = emit_movement(k, k->ops, k->nops, res);
      break;
    default: st = ug_cuda_emit_gather(k); break;
    }
    break;
  }
  default: st = ug_cuda_emit_gather(k); break; /* shape_of, range */
  }
  if (copy) {
    ug_dim_t bytes = ug_dim_mul(k->m->dims, ug_type_numel(k->m->dims, ot), ug_dtype_bits(ot->dtype) / 8);
    k->work = ug_dim_ceildiv(k->m->dims, bytes, 16);
    k->per_thread = 1;
  }
  fprintf(k->f, "}\n");
  return st;
}

static uint32_t count_lines(const char *s, size_t len) {
  uint32_t n = 0;
  for (size_t i = 0; i < len; i++) n += s[i] == '\n';
  return n;
}

ug_status_t ug_cuda_emit_module(ug_module_t *m, const ug_plan_t *plans, uint32_t num_plans,
                                ug_precision_t precision, bool prefer_kir, ug_cuda_module_t *out) {
  memset(out, 0, sizeof *out);
  uint32_t total = 0;
  for (uint32_t p = 0; p < num_plans; p++) total += (uint32_t)plans[p].steps.len;
  char **bodies = calloc(total + 1, sizeof *bodies);
  uint32_t *blocks = calloc(total + 1, sizeof *blocks);
  out->kernel_names = ug_arena_alloc(m->arena, (total + 1) * sizeof *out->kernel_names);
  out->spans = ug_arena_alloc(m->arena, (total + 1) * sizeof *out->spans);
  out->launch = ug_arena_alloc(m->arena, (num_plans + 1) * sizeof *out->launch);
  char *src = NULL, **pre_names = NULL;
  size_t src_len = 0;
  uint32_t num_pre = 0;
  FILE *sf = open_memstream(&src, &src_len);
  ug_status_t st = NULL;
  if (!bodies || !blocks || !sf) st = ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  if (!st) fputs(ug_cuda_prelude, sf);
  if (!st) fputs(ug_cuda_kir_prelude, sf);
  for (int i = 0; !st && ug_cuda_quant_prelude[i]; i++) fputs(ug_cuda_quant_prelude[i], sf);
  for (int i = 0; !st && ug_cuda_linear_prelude[i]; i++) fputs(ug_cuda_linear_prelude[i], sf);
  out->kir = ug_kir_module_create(m);
  if (!st) fputs("static __forceinline__ long long ug_max0(long long v) { return v < 0 ? 0 : v; }\n", sf);
  for (uint32_t p = 0; p < num_plans && !st; p++) {
    const ug_plan_t *pl = &plans[p];
    out->launch[p] = ug_arena_alloc(m->arena, (pl->steps.len + 1) * sizeof(ug_gpu_launch_t));
    for (size_t si = 0; si < pl->steps.len && !st; si++) {
      const ug_plan_step_t *s = &pl->steps.items[si];
      char *body = NULL;
      size_t blen = 0;
      kctx_t k = {.m = m, .g = pl->g, .s = s, .plan = pl, .kir = out->kir, .precision = precision,
                   .prefer_kir = prefer_kir,
                   .ix = "int64_t", .mm_arg = {0, 1, 2}, .bias_arg = -1};
      k.n = s->kind == UG_STEP_NODE ? &pl->g->nodes.items[s->node] : NULL;
      k.f = open_memstream(&body, &blen);
      if (!k.f) {
        st = ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
        break;
      }
      st = emit_step(&k);
      fclose(k.f);
      if (st) {
        free(body);
        free(k.pre);
        break;
      }
      uint32_t block = k.custom_launch ? k.block : UG_CUDA_BLOCK, ki = 0;
      while (ki < out->num_kernels && (blocks[ki] != block || strcmp(bodies[ki], body) != 0)) ki++;
      if (ki == out->num_kernels) {
        /* the device functions it calls, each once in the module, inside
         * its span (NVRTC errors there name the kernel) */
        fflush(sf);
        uint32_t first = count_lines(src, src_len) + 2;
        for (size_t at = 0; at < k.pre_len && !st;) {
          const char *name = k.pre + at, *text = name + strlen(name) + 1;
          at = (size_t)(text - k.pre) + strlen(text) + 1;
          bool seen = false;
          for (uint32_t i = 0; i < num_pre && !seen; i++) seen = strcmp(pre_names[i], name) == 0;
          if (seen) continue;
          char **pn = realloc(pre_names, (num_pre + 1) * sizeof *pn);
          if (!pn || !(pn[num_pre] = strdup(name))) {
            if (pn) pre_names = pn;
            st = ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
            break;
          }
          pre_names = pn;
          num_pre++;
          fprintf(sf, "\nstatic __device__ __noinline__ void %s%s", name, text);
        }
        if (st) {
          free(body);
          free(k.pre);
          break;
        }
        bodies[ki] = body;
        blocks[ki] = block;
        out->kernel_names[ki] = s->kernel_name;
        char cl[32] = "";
        if (k.cluster > 1) snprintf(cl, sizeof cl, "UG_CLUSTER(%u) ", k.cluster);
        char lb[32];
        if (k.min_blocks) snprintf(lb, sizeof lb, "%u, %u", block, k.min_blocks);
        else snprintf(lb, sizeof lb, "%u", block);
        fprintf(sf, "\nextern \"C\" __global__ void %s__launch_bounds__(%s) %s%s", cl, lb, s->kernel_name, body);
        fflush(sf);
        out->spans[ki] = (ug_nvrtc_kernel_span_t){.name = s->kernel_name, .first_line = first,
                                                  .last_line = count_lines(src, src_len)};
        out->num_kernels++;
      } else {
        free(body);
      }
      free(k.pre);
      if (k.custom_launch) {
        out->launch[p][si] = (ug_gpu_launch_t){.kernel = ki, .grid = {k.grid[0], k.grid[1], k.grid[2]},
                                               .block = {block, 1, 1}, .shared_bytes = k.shared_bytes};
      } else {
        /* ceil(work / (block * per_thread)) blocks, at most UG_CUDA_MAX_GRID */
        ug_dim_t grid = ug_dim_ceildiv(m->dims, k.work, (ug_dim_t)UG_CUDA_BLOCK * k.per_thread);
        grid = ug_dim_min(m->dims, grid, UG_CUDA_MAX_GRID);
        out->launch[p][si] = (ug_gpu_launch_t){.kernel = ki, .grid = {grid, 1, 1}, .block = {UG_CUDA_BLOCK, 1, 1}};
      }
    }
  }
  for (uint32_t i = 0; i < out->num_kernels; i++) free(bodies[i]);
  for (uint32_t i = 0; i < num_pre; i++) free(pre_names[i]);
  free(pre_names);
  free(bodies);
  free(blocks);
  if (sf) fclose(sf);
  if (!st) out->source = ug_arena_strdup(m->arena, src ? src : "");
  free(src);
  return st;
}
