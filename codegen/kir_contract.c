/* Contraction steps to kernel-IR kernels: the matmul, alone or with its
 * fused epilogue (kir_lower.h, docs/kernel-ir.md "Lowering"). */
#include "codegen/kir_lower.h"

#include <string.h>

typedef struct {
  ug_kir_kernel_t *k;
  ug_graph_t *g;
  ug_dims_t *D;
  const ug_kir_mm_tiles_t *t;
  ug_dim_t M, N, K, Bo;       /* the result is Bo matrices of M x N */
  bool batched;               /* Bo is not a static 1: views carry a batch axis */
  ug_kir_operand_t bi, m0, n0; /* this program's matrix, first row and column */
  int64_t bm, bn, bk;         /* the tiles: the target's, or fitted to static extents */
  ug_kir_value_id_t *tile;    /* per graph value of the epilogue: its [bm,bn] tile (f32 for floats) */
} mm_lower_t;

static ug_status_t not_lowered(ug_graph_t *g, const ug_node_t *n, const char *why) {
  return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "not lowered to kernel IR: %s", why);
}

static ug_kir_operand_t idx_op(mm_lower_t *L, ug_op_t op, ug_kir_operand_t a, ug_kir_operand_t b) {
  return ug_kir_index_op(L->k, L->k->body, op, a, b);
}

/* Whether a matmul operand or epilogue value of type t has batch axes that
 * are the result's (rt) or all 1. */
static bool batch_ok(const ug_type_t *t, const ug_type_t *rt) {
  bool ones = true, same = t->rank == rt->rank;
  for (int i = 0; i + 2 < t->rank; i++) {
    ones = ones && t->dims[i] == 1;
    same = same && t->dims[i] == rt->dims[i];
  }
  return ones || same;
}

/* How a value of type t sits over the result [batch..., M, N]: its view
 * [Bx, Mx, Nx] (each the result's extent or 1; Bx dropped when the result
 * is one matrix), false when it broadcasts otherwise. */
static bool view_of(mm_lower_t *L, const ug_type_t *t, const ug_type_t *rt, ug_dim_t *out, int *out_rank) {
  int r = t->rank, R = rt->rank;
  if (r > R) return false;
  ug_dim_t nx = r >= 1 ? t->dims[r - 1] : 1, mx = r >= 2 ? t->dims[r - 2] : 1;
  if ((nx != 1 && nx != L->N) || (mx != 1 && mx != L->M) || !batch_ok(t, rt)) return false;
  bool ones = true;
  for (int i = 0; i + 2 < r; i++) ones = ones && t->dims[i] == 1;
  int n = 0;
  if (L->batched) out[n++] = ones ? 1 : L->Bo;
  out[n++] = mx;
  out[n++] = nx;
  *out_rank = n;
  return true;
}

/* A matmul operand of type t ([batch..., R, C]) as [Bx, R, C] (Bx dropped
 * when the result is one matrix); its rank, 0 when its batch axes are
 * neither the result's nor all 1. */
static int operand_view(mm_lower_t *L, const ug_type_t *t, const ug_type_t *rt, ug_dim_t R, ug_dim_t C, ug_dim_t *out) {
  if (!batch_ok(t, rt)) return 0;
  bool ones = true;
  for (int i = 0; i + 2 < t->rank; i++) ones = ones && t->dims[i] == 1;
  int n = 0;
  if (L->batched) out[n++] = ones ? 1 : L->Bo;
  out[n++] = R;
  out[n++] = C;
  return n;
}

/* The access origin of a [BM,BN]-shaped view (extent-1 axes read at 0). */
static uint32_t view_index(mm_lower_t *L, const ug_dim_t *shp, int rank, ug_kir_operand_t *idx) {
  int n = 0;
  if (L->batched) idx[n] = shp[n] == 1 ? ug_kir_imm(0) : L->bi, n++;
  idx[n] = shp[rank - 2] == 1 ? ug_kir_imm(0) : L->m0, n++;
  idx[n] = shp[rank - 1] == 1 ? ug_kir_imm(0) : L->n0, n++;
  return (uint32_t)n;
}

static ug_kir_value_id_t cast_tile(mm_lower_t *L, ug_kir_value_id_t x, ug_dtype_t to) {
  const ug_kir_type_t *xt = ug_kir_value_type(L->k, x);
  if (xt->t.dtype == to) return x;
  ug_kir_type_t t = ug_kir_type_tile(to, xt->t.rank, xt->t.dims);
  ug_kir_op_id_t o = ug_kir_begin(L->k, L->k->body, UG_KIR_EW, NULL);
  L->k->ops.items[o].ew = UG_OP_CAST;
  ug_kir_push_operand(L->k, o, ug_kir_val(x));
  ug_attr_t a = {.key = UG_ATTR_TO};
  a.u.dtype = to;
  ug_kir_push_attr(L->k, o, ug_kir_attr_graph(a));
  return ug_kir_push_result(L->k, o, &t, NULL);
}

/* The tile of an epilogue operand read from parameter p (view shp): loaded
 * at the tile's origin, broadcast to [BM,BN], in its compute dtype. */
static ug_kir_value_id_t operand_tile(mm_lower_t *L, ug_kir_value_id_t p, const ug_dim_t *shp, int rank, ug_dtype_t dt) {
  ug_kir_operand_t idx[3];
  uint32_t ni = view_index(L, shp, rank, idx);
  ug_dim_t td[2] = {shp[rank - 2] == 1 ? 1 : L->bm, shp[rank - 1] == 1 ? 1 : L->bn};
  ug_kir_type_t lt = ug_kir_type_tile(dt, 2, td);
  ug_kir_value_id_t x = ug_kir_load(L->k, L->k->body, p, idx, ni, UG_NONE, &lt);
  x = cast_tile(L, x, ug_dtype_compute(dt));
  if (td[0] != L->bm || td[1] != L->bn) {
    ug_dim_t fd[2] = {L->bm, L->bn};
    ug_kir_type_t ft = ug_kir_type_tile(ug_dtype_compute(dt), 2, fd);
    x = ug_kir_unary(L->k, L->k->body, UG_KIR_BROADCAST, x, &ft);
  }
  return x;
}

static bool same_shape(const ug_type_t *a, const ug_type_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

static bool in_step(const ug_plan_step_t *s, ug_node_id_t d) {
  for (uint32_t i = 0; i < s->num_nodes && d != UG_NONE; i++)
    if (s->nodes[i] == d) return true;
  return false;
}

static bool in_nodes(const ug_node_id_t *nodes, uint32_t n, ug_node_id_t d) {
  for (uint32_t i = 0; i < n && d != UG_NONE; i++)
    if (nodes[i] == d) return true;
  return false;
}

static bool dtype_ok(ug_dtype_t dt) {
  return !ug_dtype_is_quant(dt) && dt != UG_DTYPE_F8E4M3 && dt != UG_DTYPE_F8E5M2 && ug_dtype_bits(dt) % 8 == 0;
}

ug_status_t ug_kir_matmul_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes) {
  const ug_node_t *head = &g->nodes.items[nodes[0]];
  if (head->op != UG_OP_MATMUL) return not_lowered(g, head, "a contraction other than matmul");
  const ug_type_t *at = ug_value_type(g, ug_node_operand(g, head, 0)), *bt = ug_value_type(g, ug_node_operand(g, head, 1));
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, head, 0));
  ug_dtype_t dt = at->dtype;
  if ((dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16 && dt != UG_DTYPE_F32) || bt->dtype != dt || rt->dtype != dt)
    return not_lowered(g, head, "a matmul of a dtype other than f16, bf16, f32");
  if (at->rank < 2 || bt->rank < 2) return not_lowered(g, head, "a matrix-vector product");
  if (!batch_ok(at, rt) || !batch_ok(bt, rt)) return not_lowered(g, head, "batch axes that broadcast partly");
  ug_dim_t M = at->dims[at->rank - 2], N = bt->dims[bt->rank - 1];
  /* the epilogue: elementwise nodes over the result's shape, reading
   * operands that view it as [Bx, Mx, Nx] */
  for (uint32_t i = 1; i < num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[nodes[i]];
    if (ug_op_info(n->op)->category != UG_CAT_EW || n->num_results != 1)
      return not_lowered(g, n, "an epilogue node that is not elementwise");
    if (n->num_operands > 3) return not_lowered(g, n, "arity");
    const ug_type_t *nt = ug_value_type(g, ug_node_result(g, n, 0));
    if (!same_shape(nt, rt)) return not_lowered(g, n, "an epilogue value of another shape than the matmul's");
    if (!ug_dtype_is_float(nt->dtype)) return not_lowered(g, n, "an epilogue value that is not floating-point");
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (v == UG_NONE) return not_lowered(g, n, "an omitted operand");
      if (in_nodes(nodes, num_nodes, g->values.items[v].def)) continue;
      const ug_type_t *t = ug_value_type(g, v);
      if (!dtype_ok(t->dtype)) return not_lowered(g, n, "dtype");
      ug_dim_t nx = t->rank >= 1 ? t->dims[t->rank - 1] : 1, mx = t->rank >= 2 ? t->dims[t->rank - 2] : 1;
      if (t->rank > rt->rank || (nx != 1 && nx != N) || (mx != 1 && mx != M) || !batch_ok(t, rt))
        return not_lowered(g, n, "an epilogue operand that broadcasts within the result's matrices");
    }
  }
  return NULL;
}

/* The tile extent along a dim of extent E: the target's T, or, when the
 * target fits tiles and E is static, the smallest multiple of q that
 * covers E in as many tiles of at most T as T needs (E itself below q). */
static int64_t fit_tile(const ug_kir_mm_tiles_t *t, ug_dim_t E, int64_t T) {
  if (!t->fit || !UG_DIM_IS_STATIC(E) || E <= 0) return T;
  int64_t q = t->fit, n = (E + T - 1) / T, x = (E + n - 1) / n;
  if (x < q) return E < q ? E : q;
  return (x + q - 1) / q * q;
}

ug_status_t ug_kir_lower_matmul(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out) {
  *out = NULL;
  ug_graph_t *g = p->g;
  if (s->kind != UG_STEP_NODE) return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "not lowered to kernel IR: copy step");
  UG_RETURN_IF_ERROR(ug_kir_matmul_check(g, s->nodes, s->num_nodes));
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  if (s->num_scratch) return not_lowered(g, head, "scratch buffers");
  ug_value_id_t av = ug_node_operand(g, head, 0), bv = ug_node_operand(g, head, 1), rv = ug_node_result(g, head, 0);
  const ug_type_t *at = ug_value_type(g, av), *bt = ug_value_type(g, bv), *rt = ug_value_type(g, rv);
  ug_dtype_t dt = at->dtype;
  mm_lower_t L = {.g = g, .D = km->dims, .t = tiles};
  L.M = at->dims[at->rank - 2];
  L.K = at->dims[at->rank - 1];
  L.N = bt->dims[bt->rank - 1];
  L.bm = fit_tile(tiles, L.M, tiles->bm);
  L.bn = fit_tile(tiles, L.N, tiles->bn);
  L.bk = fit_tile(tiles, L.K, tiles->bk);
  L.Bo = 1;
  for (int i = 0; i + 2 < rt->rank; i++) L.Bo = ug_dim_mul(L.D, L.Bo, rt->dims[i]);
  L.batched = L.Bo != 1;
  ug_dim_t ash[3], bsh[3];
  int ar = operand_view(&L, at, rt, L.M, L.K, ash), br = operand_view(&L, bt, rt, L.K, L.N, bsh);
  if (!ar || !br) return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul operand views");
  size_t nv = g->values.len + 1;
  L.tile = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * nv);
  for (size_t i = 0; i < nv; i++) L.tile[i] = UG_NONE;

  ug_kir_kernel_t *k = ug_kir_kernel_create(km, s->kernel_name);
  L.k = k;
  k->warps = (uint32_t)tiles->warps;
  ug_kir_value_id_t *params = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * (s->num_args + 1));
  ug_dim_t (*shp)[3] = ug_arena_alloc(km->arena, sizeof *shp * (s->num_args + 1));
  int *rank = ug_arena_alloc(km->arena, sizeof(int) * (s->num_args + 1));
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (v == UG_NONE) return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul kernel argument %u without a value", a);
    const ug_type_t *vt = ug_value_type(g, v);
    if (v == av) memcpy(shp[a], ash, sizeof ash), rank[a] = ar;
    else if (v == bv) memcpy(shp[a], bsh, sizeof bsh), rank[a] = br;
    else if (!view_of(&L, vt, rt, shp[a], &rank[a]) || !dtype_ok(vt->dtype))
      return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul kernel argument %u: view or dtype", a);
    ug_kir_type_t gt = ug_kir_type_global(vt->dtype, rank[a], shp[a]);
    params[a] = ug_kir_add_param(k, ug_arena_printf(km->arena, "a%u", a), &gt);
  }
  int pa = -1, pb = -1;
  for (uint32_t a = 0; a < s->num_args; a++) {
    if (s->arg_values[a] == av && pa < 0) pa = (int)a;
    if (s->arg_values[a] == bv && pb < 0) pb = (int)a;
  }
  if (pa < 0 || pb < 0) return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul operands without parameters");

  /* programs: Bo x tiles, the tiles of a matrix in groups of 8 row tiles
   * that sweep the column tiles together (their A rows and B columns are
   * shared in L2 by the blocks running at once) */
  ug_dims_t *D = L.D;
  int64_t BM = L.bm, BN = L.bn, BK = L.bk;
  ug_dim_t tm = ug_dim_ceildiv(D, L.M, BM), tn = ug_dim_ceildiv(D, L.N, BN), per = ug_dim_mul(D, tm, tn);
  ug_dim_t grid = ug_dim_mul(D, per, L.Bo);
  ug_kir_set_grid(k, 1, &grid);
  ug_dim_t sa[2] = {BM, BK}, sb[2] = {BK, BN}, sc[2] = {BM, BN};
  ug_kir_type_t ast = ug_kir_type_shared(dt, 2, sa, 1), bst = ug_kir_type_shared(dt, 2, sb, 1);
  ug_kir_value_id_t As = ug_kir_alloc(k, &ast, "As"), Bs = ug_kir_alloc(k, &bst, "Bs");
  ug_kir_operand_t pid = ug_kir_val(ug_kir_program_id(k, k->body, 0)), id = pid;
  L.bi = ug_kir_imm(0);
  if (L.batched) {
    L.bi = idx_op(&L, UG_OP_DIV, pid, ug_kir_imm(per));
    id = idx_op(&L, UG_OP_MOD, pid, ug_kir_imm(per));
  }
  ug_dim_t gsz = ug_dim_mul(D, tn, 8);
  ug_kir_operand_t gid = idx_op(&L, UG_OP_DIV, id, ug_kir_imm(gsz));
  ug_kir_operand_t first = idx_op(&L, UG_OP_MUL, gid, ug_kir_imm(8));
  ug_kir_operand_t left = idx_op(&L, UG_OP_SUB, ug_kir_imm(tm), first);
  ug_kir_operand_t gs = idx_op(&L, UG_OP_MIN, left, ug_kir_imm(8));
  ug_kir_operand_t in = idx_op(&L, UG_OP_MOD, id, ug_kir_imm(gsz));
  ug_kir_operand_t mt = idx_op(&L, UG_OP_ADD, first, idx_op(&L, UG_OP_MOD, in, gs));
  ug_kir_operand_t nt = idx_op(&L, UG_OP_DIV, in, gs);
  L.m0 = idx_op(&L, UG_OP_MUL, mt, ug_kir_imm(BM));
  L.n0 = idx_op(&L, UG_OP_MUL, nt, ug_kir_imm(BN));

  /* the K loop, plain form: tiles through registers into shared memory,
   * mma from shared memory; pipeline(S) allows the software-pipeline pass
   * up to S stages */
  ug_kir_type_t acct = ug_kir_type_tile(UG_DTYPE_F32, 2, sc);
  ug_kir_value_id_t acc0 = ug_kir_splat(k, k->body, 0.0, &acct);
  ug_kir_region_id_t body;
  ug_kir_op_id_t loop = ug_kir_for(k, k->body, ug_kir_imm(0), ug_kir_imm(L.K), ug_kir_imm(BK), &acc0, 1,
                                   (uint32_t)tiles->stages, &body);
  ug_kir_region_t *br_ = ug_kir_region(k, body);
  ug_kir_operand_t kv = ug_kir_val(ug_kir_region_arg(k, br_, 0));
  ug_kir_value_id_t c = ug_kir_region_arg(k, br_, 1);
  ug_kir_operand_t ia[3], ib[3];
  uint32_t na = 0, nb = 0;
  if (ar == 3) ia[na++] = ash[0] == 1 ? ug_kir_imm(0) : L.bi;
  ia[na++] = L.m0;
  ia[na++] = kv;
  if (br == 3) ib[nb++] = bsh[0] == 1 ? ug_kir_imm(0) : L.bi;
  ib[nb++] = kv;
  ib[nb++] = L.n0;
  ug_kir_type_t atl = ug_kir_type_tile(dt, 2, sa), btl = ug_kir_type_tile(dt, 2, sb);
  ug_kir_value_id_t ta = ug_kir_load(k, body, params[pa], ia, na, UG_NONE, &atl);
  ug_kir_value_id_t tb = ug_kir_load(k, body, params[pb], ib, nb, UG_NONE, &btl);
  ug_kir_operand_t st0 = ug_kir_imm(0);
  ug_kir_store(k, body, As, &st0, 1, ta, UG_NONE);
  ug_kir_store(k, body, Bs, &st0, 1, tb, UG_NONE);
  ug_kir_barrier(k, body);
  ug_kir_value_id_t c1 = ug_kir_mma(k, body, As, st0, Bs, st0, c);
  k->ops.items[k->ops.len - 1].loc = head->loc;
  ug_kir_barrier(k, body);
  ug_kir_yield(k, body, &c1, 1);
  L.tile[rv] = ug_kir_result(k, ug_kir_op(k, loop), 0);

  /* the epilogue on the accumulator tile, in f32 (a cast to f16 / bf16
   * rounds where it stands, as in an elementwise kernel) */
  for (uint32_t i = 1; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    ug_kir_value_id_t xs[3];
    for (uint32_t j = 0; j < n->num_operands && j < 3; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (L.tile[v] == UG_NONE) {
        uint32_t a = 0;
        while (a < s->num_args && s->arg_values[a] != v) a++;
        if (a == s->num_args || in_step(s, g->values.items[v].def)) return not_lowered(g, n, "an operand without a tile");
        L.tile[v] = operand_tile(&L, params[a], shp[a], rank[a], ug_value_type(g, v)->dtype);
      }
      xs[j] = L.tile[v];
    }
    if (n->num_operands > 3) return not_lowered(g, n, "arity");
    ug_dtype_t odt = ug_value_type(g, ug_node_result(g, n, 0))->dtype;
    bool round = n->op == UG_OP_CAST && ug_dtype_compute(odt) != odt;
    ug_kir_type_t tt = ug_kir_type_tile(round ? odt : ug_dtype_compute(odt), 2, sc);
    ug_kir_op_id_t o = ug_kir_begin(k, k->body, UG_KIR_EW, n->loc);
    k->ops.items[o].ew = n->op;
    for (uint32_t j = 0; j < n->num_operands; j++) ug_kir_push_operand(k, o, ug_kir_val(xs[j]));
    const ug_attr_t *attrs = ug_node_attrs(g, n);
    for (uint32_t j = 0; j < n->num_attrs; j++)
      if (attrs[j].key != UG_ATTR_KERNEL) ug_kir_push_attr(k, o, ug_kir_attr_graph(attrs[j]));
    ug_value_id_t nr = ug_node_result(g, n, 0);
    L.tile[nr] = ug_kir_push_result(k, o, &tt, NULL);
    if (round) L.tile[nr] = cast_tile(&L, L.tile[nr], ug_dtype_compute(odt));
  }
  /* stored results, rounded once to their dtype */
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (!in_step(s, g->values.items[v].def)) continue;
    if (L.tile[v] == UG_NONE) return not_lowered(g, head, "a result without a tile");
    ug_kir_operand_t idx[3];
    uint32_t ni = view_index(&L, shp[a], rank[a], idx);
    ug_kir_value_id_t t = cast_tile(&L, L.tile[v], ug_value_type(g, v)->dtype);
    ug_kir_store(k, k->body, params[a], idx, ni, t, UG_NONE);
  }
  *out = k;
  return ug_kir_verify_kernel(k);
}

/* The tensor-core target (the CUDA backend on sm_80 and newer): 128x128
 * tiles of 8 warps, k in steps of 32, at most 4 stages. */
const ug_kir_mm_tiles_t ug_kir_gpu_mm_tiles = {.bm = 128, .bn = 128, .bk = 32, .warps = 8, .stages = 4};
/* f32 on the same 8 warps: k in steps of 16 (two tf32 m16n8k8 steps, or
 * one m16n8k16 for --precision=fp16/bf16), at most 4 stages (20.25 KiB
 * each with the emitter's padded rows; 4 measured 1% faster than 3 on a
 * 4096^3 3xTF32 GEMM). */
const ug_kir_mm_tiles_t ug_kir_gpu_mm_tiles_f32 = {.bm = 128, .bn = 128, .bk = 16, .warps = 8, .stages = 4};

const ug_kir_mm_tiles_t *ug_kir_gpu_mm_tiles_for(ug_dtype_t dt) {
  return dt == UG_DTYPE_F32 ? &ug_kir_gpu_mm_tiles_f32 : &ug_kir_gpu_mm_tiles;
}

/* The CPU (codegen/llvm/kir.c): one thread per program; the accumulator
 * tile lives in memory and the register-blocked GEMM of codegen/llvm/gemm.c
 * runs each mma, so tiles are larger than the register file and K steps
 * are the GEMM's K block. */
const ug_kir_mm_tiles_t ug_kir_cpu_mm_tiles = {.bm = 128, .bn = 128, .bk = 256, .warps = 1, .stages = 1, .fit = 8};
