/* Contraction steps to kernel-IR kernels: the matmul, the convolution (an
 * implicit GEMM whose B operand is gathered) and the transposed one (both
 * operands gathered), alone or with a fused
 * epilogue (kir_lower.h, docs/kernel-ir.md "Lowering"). */
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
  int64_t kdiv;               /* when not 0: a K step that divides it is preferred (fitted tiles) */
  int split;                  /* programs a tile's K is split over (a cluster), 1: none */
  ug_kir_operand_t crank, csize; /* with split: this program's cluster rank, the cluster's size */
  ug_kir_region_id_t er;      /* where the epilogue goes: the body, or with split rank 0's `if` */
  ug_kir_value_id_t *tile;    /* per graph value of the epilogue: its [bm,bn] tile (f32 for floats) */
  ug_kir_value_id_t *params;  /* per step arg: its parameter, */
  ug_dim_t (*shp)[3];         /* its view */
  int *rank;                  /* and the view's rank */
  ug_kir_value_id_t As, Bs;   /* the one-stage shared buffers of the K loop */
  struct { int64_t v; ug_kir_region_id_t r; ug_kir_value_id_t t; } kc[32]; /* i32 constants made so far */
  int nkc;
} mm_lower_t;

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

/* `cast x {to}` in region r: a tile (or an index, as a scalar tile) of x's shape. */
static ug_kir_value_id_t cast_in(mm_lower_t *L, ug_kir_region_id_t r, ug_kir_operand_t x, ug_dtype_t to) {
  return ug_kir_cast(L->k, r, x, to, NULL);
}

/* Tile x in dtype `to` (itself when it has it), in the epilogue's region. */
static ug_kir_value_id_t cast_tile(mm_lower_t *L, ug_kir_value_id_t x, ug_dtype_t to) {
  if (ug_kir_value_type(L->k, x)->t.dtype == to) return x;
  return cast_in(L, L->er, ug_kir_val(x), to);
}

/* The tile of an epilogue operand read from parameter p (view shp): loaded
 * at the tile's origin, broadcast to [BM,BN], in its compute dtype. */
static ug_kir_value_id_t operand_tile(mm_lower_t *L, ug_kir_value_id_t p, const ug_dim_t *shp, int rank, ug_dtype_t dt) {
  ug_kir_operand_t idx[3];
  uint32_t ni = view_index(L, shp, rank, idx);
  ug_dim_t td[2] = {shp[rank - 2] == 1 ? 1 : L->bm, shp[rank - 1] == 1 ? 1 : L->bn};
  ug_kir_type_t lt = ug_kir_type_tile(dt, 2, td);
  ug_kir_value_id_t x = ug_kir_load(L->k, L->er, p, idx, ni, UG_NONE, &lt);
  x = cast_tile(L, x, ug_dtype_compute(dt));
  if (td[0] != L->bm || td[1] != L->bn) {
    ug_dim_t fd[2] = {L->bm, L->bn};
    ug_kir_type_t ft = ug_kir_type_tile(ug_dtype_compute(dt), 2, fd);
    x = ug_kir_unary(L->k, L->er, UG_KIR_BROADCAST, x, &ft);
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

/* The epilogue of a contraction kernel: nodes[1..n), elementwise over the
 * head's result rt, one result each, of floating-point values; `view`
 * says whether an operand from outside of type t has a view over the
 * result's matrices. */
static ug_status_t check_epilogue(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes, const ug_type_t *rt,
                                  bool (*view)(const void *ctx, const ug_type_t *t), const void *ctx) {
  for (uint32_t i = 1; i < num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[nodes[i]];
    if (ug_op_info(n->op)->category != UG_CAT_EW || n->num_results != 1)
      return ug_kir_not_lowered(g, n, "an epilogue node that is not elementwise");
    if (n->num_operands > 3) return ug_kir_not_lowered(g, n, "arity");
    const ug_type_t *nt = ug_value_type(g, ug_node_result(g, n, 0));
    if (!same_shape(nt, rt)) return ug_kir_not_lowered(g, n, "an epilogue value of another shape than the contraction's");
    if (!ug_dtype_is_float(nt->dtype)) return ug_kir_not_lowered(g, n, "an epilogue value that is not floating-point");
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (v == UG_NONE) return ug_kir_not_lowered(g, n, "an omitted operand");
      if (in_nodes(nodes, num_nodes, g->values.items[v].def)) continue;
      const ug_type_t *t = ug_value_type(g, v);
      if (!dtype_ok(t->dtype)) return ug_kir_not_lowered(g, n, "dtype");
      if (!view(ctx, t)) return ug_kir_not_lowered(g, n, "an epilogue operand that broadcasts within the result's matrices");
    }
  }
  return NULL;
}

typedef struct {
  ug_dim_t M, N;
  const ug_type_t *rt;
} mm_view_ctx_t;

static bool mm_view_ok(const void *ctx, const ug_type_t *t) {
  const mm_view_ctx_t *c = ctx;
  ug_dim_t nx = t->rank >= 1 ? t->dims[t->rank - 1] : 1, mx = t->rank >= 2 ? t->dims[t->rank - 2] : 1;
  return t->rank <= c->rt->rank && (nx == 1 || nx == c->N) && (mx == 1 || mx == c->M) && batch_ok(t, c->rt);
}

ug_status_t ug_kir_matmul_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes) {
  const ug_node_t *head = &g->nodes.items[nodes[0]];
  if (head->op != UG_OP_MATMUL) return ug_kir_not_lowered(g, head, "a contraction other than matmul");
  const ug_type_t *at = ug_value_type(g, ug_node_operand(g, head, 0)), *bt = ug_value_type(g, ug_node_operand(g, head, 1));
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, head, 0));
  ug_dtype_t dt = at->dtype;
  if ((dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16 && dt != UG_DTYPE_F32) || bt->dtype != dt || rt->dtype != dt)
    return ug_kir_not_lowered(g, head, "a matmul of a dtype other than f16, bf16, f32");
  if (at->rank < 2 || bt->rank < 2) return ug_kir_not_lowered(g, head, "a matrix-vector product");
  if (!batch_ok(at, rt) || !batch_ok(bt, rt)) return ug_kir_not_lowered(g, head, "batch axes that broadcast partly");
  /* the epilogue: operands that view the result as [Bx, Mx, Nx] */
  mm_view_ctx_t c = {.M = at->dims[at->rank - 2], .N = bt->dims[bt->rank - 1], .rt = rt};
  return check_epilogue(g, nodes, num_nodes, rt, mm_view_ok, &c);
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

/* Sets up L for a result of Bo matrices M x N over K of operands of dtype
 * dt, and the kernel: its tiles, warps, the per-arg tables, the shared
 * buffers. */
static void mm_begin(mm_lower_t *L, ug_kir_module_t *km, const ug_plan_step_t *s, ug_dtype_t dt) {
  const ug_kir_mm_tiles_t *t = L->t;
  L->bm = fit_tile(t, L->M, t->bm);
  L->bn = fit_tile(t, L->N, t->bn);
  L->bk = fit_tile(t, L->K, t->bk);
  if (L->kdiv && t->fit) /* the largest multiple of fit up to the target's that divides kdiv */
    for (int64_t d = t->bk / t->fit * t->fit; d >= t->fit; d -= t->fit)
      if (L->kdiv % d == 0) {
        L->bk = d;
        break;
      }
  L->batched = L->Bo != 1;
  size_t nv = L->g->values.len + 1;
  L->tile = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * nv);
  for (size_t i = 0; i < nv; i++) L->tile[i] = UG_NONE;
  L->params = ug_arena_alloc(km->arena, sizeof(ug_kir_value_id_t) * (s->num_args + 1));
  L->shp = ug_arena_alloc(km->arena, sizeof *L->shp * (s->num_args + 1));
  L->rank = ug_arena_alloc(km->arena, sizeof(int) * (s->num_args + 1));
  ug_kir_kernel_t *k = ug_kir_kernel_create(km, s->kernel_name);
  L->k = k;
  L->er = k->body;
  k->warps = (uint32_t)t->warps;
  L->split = t->split > 1 ? t->split : 1;
  if (L->split > 1) k->cluster = (uint32_t)L->split;
  ug_dim_t sa[2] = {L->bm, L->bk}, sb[2] = {L->bk, L->bn};
  ug_kir_type_t ast = ug_kir_type_shared(dt, 2, sa, 1), bst = ug_kir_type_shared(dt, 2, sb, 1);
  L->As = ug_kir_alloc(k, &ast, "As");
  L->Bs = ug_kir_alloc(k, &bst, "Bs");
}

static void mm_param(mm_lower_t *L, uint32_t a, ug_dtype_t dt, const ug_dim_t *shp, int rank) {
  memcpy(L->shp[a], shp, sizeof(ug_dim_t) * (size_t)rank);
  L->rank[a] = rank;
  ug_kir_type_t gt = ug_kir_type_global(dt, rank, shp);
  L->params[a] = ug_kir_add_param(L->k, ug_arena_printf(L->k->module->arena, "a%u", a), &gt);
}

static int arg_of(const ug_plan_step_t *s, ug_value_id_t v) {
  for (uint32_t a = 0; a < s->num_args; a++)
    if (s->arg_values[a] == v) return (int)a;
  return -1;
}

/* The grid and this program's matrix and tile: Bo x tiles (x split, the
 * programs of a cluster consecutive), the tiles of a matrix in groups of 8
 * row tiles that sweep the column tiles together (their A rows and B
 * columns are shared in L2 by the blocks running at once). */
static void mm_programs(mm_lower_t *L) {
  ug_dims_t *D = L->D;
  ug_dim_t tm = ug_dim_ceildiv(D, L->M, L->bm), tn = ug_dim_ceildiv(D, L->N, L->bn), per = ug_dim_mul(D, tm, tn);
  ug_dim_t grid = ug_dim_mul(D, ug_dim_mul(D, per, L->Bo), L->split);
  ug_kir_set_grid(L->k, 1, &grid);
  ug_kir_operand_t pid = ug_kir_val(ug_kir_program_id(L->k, L->k->body, 0));
  if (L->split > 1) { /* a cluster of split programs a tile */
    pid = idx_op(L, UG_OP_DIV, pid, ug_kir_imm(L->split));
    L->crank = ug_kir_val(ug_kir_index_value(L->k, L->k->body, UG_KIR_CLUSTER_RANK));
    L->csize = ug_kir_val(ug_kir_index_value(L->k, L->k->body, UG_KIR_CLUSTER_SIZE));
  }
  ug_kir_operand_t id = pid;
  L->bi = ug_kir_imm(0);
  if (L->batched) {
    L->bi = idx_op(L, UG_OP_DIV, pid, ug_kir_imm(per));
    id = idx_op(L, UG_OP_MOD, pid, ug_kir_imm(per));
  }
  ug_dim_t gsz = ug_dim_mul(D, tn, 8);
  ug_kir_operand_t gid = idx_op(L, UG_OP_DIV, id, ug_kir_imm(gsz));
  ug_kir_operand_t first = idx_op(L, UG_OP_MUL, gid, ug_kir_imm(8));
  ug_kir_operand_t left = idx_op(L, UG_OP_SUB, ug_kir_imm(tm), first);
  ug_kir_operand_t gs = idx_op(L, UG_OP_MIN, left, ug_kir_imm(8));
  ug_kir_operand_t in = idx_op(L, UG_OP_MOD, id, ug_kir_imm(gsz));
  ug_kir_operand_t mt = idx_op(L, UG_OP_ADD, first, idx_op(L, UG_OP_MOD, in, gs));
  ug_kir_operand_t nt = idx_op(L, UG_OP_DIV, in, gs);
  L->m0 = idx_op(L, UG_OP_MUL, mt, ug_kir_imm(L->bm));
  L->n0 = idx_op(L, UG_OP_MUL, nt, ug_kir_imm(L->bn));
}

/* The K loop, plain form: the body `fill` builds loads (or gathers) the
 * [bm,bk] and [bk,bn] tiles of k step %k (its second argument) and
 * returns them; they are stored into one-stage shared buffers, `barrier`,
 * `mma` from shared memory into the f32 accumulator, `barrier`.
 * pipeline(S) allows the software-pipeline pass up to S stages.  Returns
 * the accumulator after the loop; with a split, this rank's k tiles only,
 * then the cluster's sum, and the epilogue's region becomes the `if` of
 * rank 0. */
typedef void (*mm_fill_fn)(mm_lower_t *L, ug_kir_region_id_t body, ug_kir_operand_t kv, const void *ctx,
                           ug_kir_value_id_t *ta, ug_kir_value_id_t *tb);

static ug_kir_value_id_t mm_loop(mm_lower_t *L, const char *loc, mm_fill_fn fill, const void *ctx) {
  ug_kir_kernel_t *k = L->k;
  ug_kir_value_id_t As = L->As, Bs = L->Bs;
  ug_dim_t sc[2] = {L->bm, L->bn};
  ug_kir_type_t acct = ug_kir_type_tile(UG_DTYPE_F32, 2, sc);
  ug_kir_value_id_t acc0 = ug_kir_splat(k, k->body, 0.0, &acct);
  ug_kir_region_id_t body;
  ug_kir_operand_t lb = ug_kir_imm(0), ub = ug_kir_imm(L->K);
  if (L->split > 1) { /* this rank's k tiles: [rank * c, (rank + 1) * c) of ceil(K / bk), cut at K */
    ug_dim_t kt = ug_dim_ceildiv(L->D, L->K, L->bk);
    ug_kir_operand_t per = idx_op(L, UG_OP_DIV, idx_op(L, UG_OP_ADD, L->csize, ug_kir_imm(ug_dim_sub(L->D, kt, 1))), L->csize);
    ug_kir_operand_t chunk = idx_op(L, UG_OP_MUL, per, ug_kir_imm(L->bk));
    lb = idx_op(L, UG_OP_MIN, idx_op(L, UG_OP_MUL, L->crank, chunk), ug_kir_imm(L->K));
    ub = idx_op(L, UG_OP_MIN, idx_op(L, UG_OP_ADD, lb, chunk), ug_kir_imm(L->K));
  }
  ug_kir_op_id_t loop = ug_kir_for(k, k->body, lb, ub, ug_kir_imm(L->bk), &acc0, 1, (uint32_t)L->t->stages, &body);
  ug_kir_region_t *br = ug_kir_region(k, body);
  ug_kir_operand_t kv = ug_kir_val(ug_kir_region_arg(k, br, 0));
  ug_kir_value_id_t c = ug_kir_region_arg(k, br, 1);
  ug_kir_value_id_t ta, tb;
  fill(L, body, kv, ctx, &ta, &tb);
  ug_kir_operand_t st0 = ug_kir_imm(0);
  ug_kir_store(k, body, As, &st0, 1, ta, UG_NONE);
  ug_kir_store(k, body, Bs, &st0, 1, tb, UG_NONE);
  ug_kir_barrier(k, body);
  ug_kir_value_id_t c1 = ug_kir_mma(k, body, As, st0, Bs, st0, c);
  k->ops.items[k->ops.len - 1].loc = loc;
  ug_kir_barrier(k, body);
  ug_kir_yield(k, body, &c1, 1);
  ug_kir_value_id_t acc = ug_kir_result(k, ug_kir_op(k, loop), 0);
  if (L->split > 1) { /* the cluster's sum in rank 0, which alone goes on */
    ug_kir_op_id_t o = ug_kir_begin(k, k->body, UG_KIR_CLUSTER_REDUCE, loc);
    ug_kir_push_operand(k, o, ug_kir_val(acc));
    ug_kir_push_attr(k, o, ug_kir_attr_op(UG_KATTR_COMBINE, UG_OP_ADD));
    acc = ug_kir_push_result(k, o, &acct, NULL);
    ug_kir_operand_t z[2] = {L->crank, ug_kir_imm(0)};
    ug_kir_type_t bt = ug_kir_type_tile(UG_DTYPE_BOOL, 0, NULL);
    ug_kir_value_id_t first = ug_kir_ew(k, k->body, UG_OP_EQUAL, z, 2, &bt);
    ug_kir_region_id_t then, els;
    ug_kir_if(k, k->body, first, NULL, 0, &then, &els);
    L->er = then;
  }
  return acc;
}

/* The epilogue on the accumulator tile (the head's result rv, rounded to
 * its dtype first), in f32 (a cast to f16 / bf16 rounds where it stands,
 * as in an elementwise kernel), then a store of every result the step
 * stores, rounded once to its dtype. */
static ug_status_t mm_epilogue(mm_lower_t *L, const ug_plan_step_t *s, ug_value_id_t rv, ug_kir_value_id_t acc) {
  ug_graph_t *g = L->g;
  ug_kir_kernel_t *k = L->k;
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  ug_dim_t sc[2] = {L->bm, L->bn};
  /* the head's result as the graph has it: rounded to its dtype before
   * the epilogue reads it (the per-node kernels' values) */
  ug_dtype_t hdt = ug_value_type(g, rv)->dtype;
  if (s->num_nodes > 1 && ug_dtype_compute(hdt) != hdt) acc = cast_tile(L, cast_tile(L, acc, hdt), ug_dtype_compute(hdt));
  L->tile[rv] = acc;
  for (uint32_t i = 1; i < s->num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[s->nodes[i]];
    ug_kir_value_id_t xs[3];
    if (n->num_operands > 3) return ug_kir_not_lowered(g, n, "arity");
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (L->tile[v] == UG_NONE) {
        int a = arg_of(s, v);
        if (a < 0 || in_step(s, g->values.items[v].def)) return ug_kir_not_lowered(g, n, "an operand without a tile");
        L->tile[v] = operand_tile(L, L->params[a], L->shp[a], L->rank[a], ug_value_type(g, v)->dtype);
      }
      xs[j] = L->tile[v];
    }
    ug_dtype_t odt = ug_value_type(g, ug_node_result(g, n, 0))->dtype;
    bool round = n->op == UG_OP_CAST && ug_dtype_compute(odt) != odt;
    ug_kir_type_t tt = ug_kir_type_tile(round ? odt : ug_dtype_compute(odt), 2, sc);
    ug_kir_op_id_t o = ug_kir_begin(k, L->er, UG_KIR_EW, n->loc);
    k->ops.items[o].ew = n->op;
    for (uint32_t j = 0; j < n->num_operands; j++) ug_kir_push_operand(k, o, ug_kir_val(xs[j]));
    const ug_attr_t *attrs = ug_node_attrs(g, n);
    for (uint32_t j = 0; j < n->num_attrs; j++)
      if (attrs[j].key != UG_ATTR_KERNEL) ug_kir_push_attr(k, o, ug_kir_attr_graph(attrs[j]));
    ug_value_id_t nr = ug_node_result(g, n, 0);
    L->tile[nr] = ug_kir_push_result(k, o, &tt, NULL);
    if (round) L->tile[nr] = cast_tile(L, L->tile[nr], ug_dtype_compute(odt));
  }
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (!in_step(s, g->values.items[v].def)) continue;
    if (L->tile[v] == UG_NONE) return ug_kir_not_lowered(g, head, "a result without a tile");
    ug_kir_operand_t idx[3];
    uint32_t ni = view_index(L, L->shp[a], L->rank[a], idx);
    ug_kir_value_id_t t = cast_tile(L, L->tile[v], ug_value_type(g, v)->dtype);
    ug_kir_store(k, L->er, L->params[a], idx, ni, t, UG_NONE);
  }
  return NULL;
}

typedef struct {
  ug_kir_value_id_t A, B;
  ug_kir_operand_t ia[3], ib[3]; /* the origins, k at ka / kb */
  uint32_t na, nb, ka, kb;
} mm_fill_t;

/* A matmul's k step: [bm,bk] and [bk,bn] tiles loaded from A and B. */
static void mm_fill(mm_lower_t *L, ug_kir_region_id_t body, ug_kir_operand_t kv, const void *ctx, ug_kir_value_id_t *ta,
                    ug_kir_value_id_t *tb) {
  const mm_fill_t *f = ctx;
  ug_kir_operand_t ia[3], ib[3];
  memcpy(ia, f->ia, sizeof ia);
  memcpy(ib, f->ib, sizeof ib);
  ia[f->ka] = kv;
  ib[f->kb] = kv;
  ug_dtype_t dt = ug_kir_value_type(L->k, f->A)->t.dtype;
  ug_dim_t sa[2] = {L->bm, L->bk}, sb[2] = {L->bk, L->bn};
  ug_kir_type_t atl = ug_kir_type_tile(dt, 2, sa), btl = ug_kir_type_tile(dt, 2, sb);
  *ta = ug_kir_load(L->k, body, f->A, ia, f->na, UG_NONE, &atl);
  *tb = ug_kir_load(L->k, body, f->B, ib, f->nb, UG_NONE, &btl);
}

ug_status_t ug_kir_lower_matmul(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out) {
  *out = NULL;
  ug_graph_t *g = p->g;
  if (s->kind != UG_STEP_NODE) return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "not lowered to kernel IR: copy step");
  UG_RETURN_IF_ERROR(ug_kir_matmul_check(g, s->nodes, s->num_nodes));
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  if (s->num_scratch) return ug_kir_not_lowered(g, head, "scratch buffers");
  ug_value_id_t av = ug_node_operand(g, head, 0), bv = ug_node_operand(g, head, 1), rv = ug_node_result(g, head, 0);
  const ug_type_t *at = ug_value_type(g, av), *bt = ug_value_type(g, bv), *rt = ug_value_type(g, rv);
  mm_lower_t L = {.g = g, .D = km->dims, .t = tiles};
  L.M = at->dims[at->rank - 2];
  L.K = at->dims[at->rank - 1];
  L.N = bt->dims[bt->rank - 1];
  L.Bo = 1;
  for (int i = 0; i + 2 < rt->rank; i++) L.Bo = ug_dim_mul(L.D, L.Bo, rt->dims[i]);
  mm_begin(&L, km, s, at->dtype);
  ug_dim_t ash[3], bsh[3];
  int ar = operand_view(&L, at, rt, L.M, L.K, ash), br = operand_view(&L, bt, rt, L.K, L.N, bsh);
  if (!ar || !br) return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul operand views");
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (v == UG_NONE) return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul kernel argument %u without a value", a);
    const ug_type_t *vt = ug_value_type(g, v);
    ug_dim_t shp[3];
    int rank;
    if (v == av) mm_param(&L, a, vt->dtype, ash, ar);
    else if (v == bv) mm_param(&L, a, vt->dtype, bsh, br);
    else if (!view_of(&L, vt, rt, shp, &rank) || !dtype_ok(vt->dtype))
      return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul kernel argument %u: view or dtype", a);
    else mm_param(&L, a, vt->dtype, shp, rank);
  }
  int pa = arg_of(s, av), pb = arg_of(s, bv);
  if (pa < 0 || pb < 0) return ug_node_error(g, head, UG_ERR_INTERNAL, "matmul operands without parameters");
  mm_programs(&L);
  mm_fill_t f = {.A = L.params[pa], .B = L.params[pb]};
  if (ar == 3) f.ia[f.na++] = ash[0] == 1 ? ug_kir_imm(0) : L.bi;
  f.ia[f.na++] = L.m0;
  f.ka = f.na++;
  if (br == 3) f.ib[f.nb++] = bsh[0] == 1 ? ug_kir_imm(0) : L.bi;
  f.kb = f.nb++;
  f.ib[f.nb++] = L.n0;
  ug_kir_value_id_t acc = mm_loop(&L, head->loc, mm_fill, &f);
  UG_RETURN_IF_ERROR(mm_epilogue(&L, s, rv, acc));
  *out = L.k;
  return ug_kir_verify_kernel(L.k);
}

/* ---- convolution: an implicit GEMM ----
 * conv (NCHW) of x [N, C, S...], w [M, C/G, k...] and an optional bias [M]
 * into y [N, M, O...] is, per image n and group g, the GEMM
 *   y[n, g*Mg + m, p] = sum_k w[g*Mg + m, k] * X[k, p]
 * of Mg = M/G rows, P = prod O columns and Kg = C/G * prod k terms, where
 * row k = (channel c, taps t...) and column p = output position (o...) of
 * X is the input element x[n, g*Cg + c, o*stride - pad + t*dilation]
 * (zero in the padding): im2col, gathered one [bk,bn] tile at a time and
 * never materialized.  So a program is a matmul program over the result
 * viewed as [N*G, Mg, P] (w viewed as [G, Mg, Kg]), whose B tiles are
 * `gather`s. */

typedef struct {
  int sr;                       /* spatial dims */
  int64_t G, Cg, Mg, Kg, KS;    /* groups, channels and rows per group, terms, taps */
  int64_t S[UG_MAX_RANK], O[UG_MAX_RANK], ks[UG_MAX_RANK];
  int64_t stride[UG_MAX_RANK], pb[UG_MAX_RANK], dil[UG_MAX_RANK];
  int64_t xs[UG_MAX_RANK];      /* x's strides along the spatial dims (in one channel) */
  int64_t HW;                   /* elements of one channel of x */
  ug_dim_t N;                   /* images */
  const ug_type_t *rt;
  bool need_lo[UG_MAX_RANK], need_hi[UG_MAX_RANK]; /* taps that may fall before / past the input */
  bool pointwise;               /* 1x1 taps, stride 1, no padding: X is x viewed as [N*G, Cg, P] (nhwc: [N*P, C]) */
  bool transpose;               /* conv_transpose: w [C, Mg, k...], input position (o + pad - t*d) / s */
  bool nhwc;                    /* conv_nhwc: x [N, S..., C], w [k..., C, M], y [N, O..., M] (one group) */
  int64_t wn;                   /* w's elements */
} conv_shape_t;

static const int64_t *conv_ints(ug_graph_t *g, const ug_node_t *n, ug_attr_key_t key, int count) {
  const ug_attr_t *a = ug_node_attr(g, n, key);
  if (!a || a->u.ints.n != (uint32_t)count) return NULL;
  return a->u.ints.v;
}

/* The shape of a conv node, or UG_ERR_UNSUPPORTED naming why it is not lowered. */
static ug_status_t conv_shape(ug_graph_t *g, const ug_node_t *n, conv_shape_t *c) {
  memset(c, 0, sizeof *c);
  if (n->op != UG_OP_CONV && n->op != UG_OP_CONV_TRANSPOSE && n->op != UG_OP_CONV_NHWC)
    return ug_kir_not_lowered(g, n, "a contraction other than matmul, conv, conv_transpose and conv_nhwc");
  c->transpose = n->op == UG_OP_CONV_TRANSPOSE;
  c->nhwc = n->op == UG_OP_CONV_NHWC;
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0)), *wt = ug_value_type(g, ug_node_operand(g, n, 1));
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, n, 0));
  ug_value_id_t bv = n->num_operands > 2 ? ug_node_operand(g, n, 2) : UG_NONE;
  ug_dtype_t dt = rt->dtype;
  if ((dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16 && dt != UG_DTYPE_F32) || xt->dtype != dt || wt->dtype != dt ||
      (bv != UG_NONE && ug_value_type(g, bv)->dtype != dt))
    return ug_kir_not_lowered(g, n, "a conv of a dtype other than f16, bf16, f32");
  c->sr = xt->rank - 2;
  if (c->sr < 1 || wt->rank != xt->rank || rt->rank != xt->rank) return ug_kir_not_lowered(g, n, "conv ranks");
  c->G = ug_node_attr_int(g, n, UG_ATTR_GROUP, 1);
  const int64_t *st = conv_ints(g, n, UG_ATTR_STRIDES, c->sr), *pd = conv_ints(g, n, UG_ATTR_PADS, 2 * c->sr);
  const int64_t *dl = conv_ints(g, n, UG_ATTR_DILATIONS, c->sr);
  for (int i = 0; i < wt->rank; i++)
    if (!UG_DIM_IS_STATIC(wt->dims[i])) return ug_kir_not_lowered(g, n, "a conv weight of symbolic shape");
  for (int i = 1; i < xt->rank; i++)
    if (!UG_DIM_IS_STATIC(xt->dims[i]) || !UG_DIM_IS_STATIC(rt->dims[i]))
      return ug_kir_not_lowered(g, n, "a conv of symbolic channels or spatial extents");
  /* conv: w [M, C/G, k...]; conv_transpose: w [C, M/G, k...]; conv_nhwc: w [k..., C/G, M] */
  int ch = c->nhwc ? xt->rank - 1 : 1, sp = c->nhwc ? 1 : 2, wk = c->nhwc ? 0 : 2; /* channel axis, first spatial axes */
  int64_t M = c->transpose ? wt->dims[1] * c->G : c->nhwc ? wt->dims[c->sr + 1] : wt->dims[0];
  c->Cg = c->transpose ? wt->dims[0] / (c->G > 0 ? c->G : 1) : wt->dims[c->nhwc ? c->sr : 1];
  if (c->G < 1 || M % c->G || xt->dims[ch] != c->Cg * c->G || rt->dims[ch] != M ||
      (c->transpose && wt->dims[0] != xt->dims[1]))
    return ug_kir_not_lowered(g, n, "conv group and channel counts");
  if (c->nhwc && c->G != 1) return ug_kir_not_lowered(g, n, "a grouped conv_nhwc (its groups are column ranges of the result's rows)");
  c->Mg = M / c->G;
  c->wn = 1;
  for (int i = 0; i < wt->rank; i++) c->wn *= wt->dims[i];
  c->KS = 1;
  c->HW = 1;
  for (int i = c->sr - 1; i >= 0; i--) {
    c->S[i] = xt->dims[sp + i];
    c->O[i] = rt->dims[sp + i];
    c->ks[i] = wt->dims[wk + i];
    c->stride[i] = st ? st[i] : 1;
    c->dil[i] = dl ? dl[i] : 1;
    c->pb[i] = pd ? pd[i] : 0;
    if (c->stride[i] < 1 || c->dil[i] < 1 || c->pb[i] < 0) return ug_kir_not_lowered(g, n, "conv strides, dilations or pads");
    c->xs[i] = c->HW;
    c->HW *= c->S[i];
    c->KS *= c->ks[i];
    /* the first and last output positions' reach */
    c->need_lo[i] = c->pb[i] > 0;
    c->need_hi[i] = (c->O[i] - 1) * c->stride[i] - c->pb[i] + (c->ks[i] - 1) * c->dil[i] >= c->S[i];
  }
  c->Kg = c->Cg * c->KS;
  int64_t P = 1;
  c->pointwise = true;
  for (int i = 0; i < c->sr; i++) {
    P *= c->O[i];
    c->pointwise = c->pointwise && !c->transpose && c->ks[i] == 1 && c->stride[i] == 1 && c->pb[i] == 0 &&
                   c->O[i] == c->S[i];
  }
  /* offsets inside one image and the GEMM's extents in 32 bits */
  if (c->HW * xt->dims[ch] >= (1LL << 31) || c->Kg >= (1LL << 31) || P >= (1LL << 31) || P == 0 || c->Kg == 0 ||
      c->wn >= (1LL << 31))
    return ug_kir_not_lowered(g, n, "a conv of more than 2^31 elements an image, or of none");
  c->N = xt->dims[0];
  c->rt = rt;
  return NULL;
}

/* How a value of type t sits over the conv's result [N, M, O...] viewed as
 * Bo = N*G matrices of Mg x P: batch N or 1, channels M or 1, output
 * positions all O or all 1 (with groups: per image and channel, or
 * neither); its view [Bx, Mx, Px] (Bx dropped when Bo is 1), false when
 * it has none.  conv_nhwc's result [N, O..., M] is one matrix of Bo = N*P
 * rows (pixels) x M: the view [Rx, Mx]. */
static bool conv_view(const conv_shape_t *c, ug_dim_t Bo, const ug_type_t *t, ug_dim_t *out, int *out_rank) {
  int R = c->rt->rank, r = t->rank;
  if (r > R) return false;
  ug_dim_t d[UG_MAX_RANK];
  for (int i = 0; i < R; i++) d[i] = i < R - r ? 1 : t->dims[i - (R - r)];
  if (c->nhwc) { /* [N, O..., M] as one matrix of Bo = N*P rows: rows all or none, channels M or 1 */
    bool all = true, none = true;
    for (int i = 0; i + 1 < R; i++) {
      all = all && d[i] == c->rt->dims[i];
      none = none && d[i] == 1;
    }
    if ((!all && !none) || (d[R - 1] != 1 && d[R - 1] != c->rt->dims[R - 1])) return false;
    out[0] = none ? 1 : Bo;
    out[1] = d[R - 1];
    *out_rank = 2;
    return true;
  }
  bool all = true, none = true;
  ug_dim_t P = 1;
  for (int i = 2; i < R; i++) {
    all = all && d[i] == c->rt->dims[i];
    none = none && d[i] == 1;
    P *= c->rt->dims[i];
  }
  if ((!all && !none) || (d[1] != 1 && d[1] != c->rt->dims[1]) || (d[0] != 1 && d[0] != c->N)) return false;
  bool per_m = d[1] != 1, per_b = d[0] != 1;
  if (c->G > 1 && (per_m ? d[0] != c->N : per_b)) return false;
  int n = 0;
  if (Bo != 1) out[n++] = per_b || (c->G > 1 && per_m) ? Bo : 1;
  out[n++] = per_m ? c->Mg : 1;
  out[n++] = all ? P : 1;
  *out_rank = n;
  return true;
}

typedef struct {
  const conv_shape_t *c;
  ug_dim_t Bo;
  ug_value_id_t x, w, b;
} conv_ctx_t;

/* conv_view's Bo: the result's matrices N*G, or conv_nhwc's rows N*P. */
static ug_dim_t conv_outer(ug_dims_t *D, const conv_shape_t *c) {
  if (!c->nhwc) return ug_dim_mul(D, c->N, c->G);
  int64_t P = 1;
  for (int i = 0; i < c->sr; i++) P *= c->O[i];
  return ug_dim_mul(D, c->N, P);
}

static bool conv_view_ok(const void *ctx, const ug_type_t *t) {
  const conv_ctx_t *cc = ctx;
  ug_dim_t shp[3];
  int rank;
  return conv_view(cc->c, cc->Bo, t, shp, &rank);
}

static ug_status_t conv_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes, conv_shape_t *c) {
  const ug_node_t *head = &g->nodes.items[nodes[0]];
  UG_RETURN_IF_ERROR(conv_shape(g, head, c));
  conv_ctx_t cc = {.c = c, .Bo = conv_outer(g->module->dims, c), .x = ug_node_operand(g, head, 0),
                   .w = ug_node_operand(g, head, 1), .b = head->num_operands > 2 ? ug_node_operand(g, head, 2) : UG_NONE};
  /* the conv's own operands are parameters of other views */
  if (cc.x == cc.w || cc.x == cc.b || cc.w == cc.b) return ug_kir_not_lowered(g, head, "a value that is two operands of the conv");
  for (uint32_t i = 1; i < num_nodes; i++) {
    const ug_node_t *n = &g->nodes.items[nodes[i]];
    for (uint32_t j = 0; j < n->num_operands; j++) {
      ug_value_id_t v = ug_node_operand(g, n, j);
      if (v != UG_NONE && (v == cc.x || v == cc.w || v == cc.b))
        return ug_kir_not_lowered(g, n, "an epilogue operand that is also an operand of the conv");
    }
  }
  return check_epilogue(g, nodes, num_nodes, c->rt, conv_view_ok, &cc);
}

ug_status_t ug_kir_conv_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes) {
  conv_shape_t c;
  return conv_check(g, nodes, num_nodes, &c);
}


typedef struct {
  const conv_shape_t *c;
  ug_kir_value_id_t W, X;
  ug_kir_operand_t ia[3];        /* w's origin, k at ka */
  uint32_t na, ka;
  ug_kir_value_id_t i0[UG_MAX_RANK]; /* per output column: the input position of tap 0 along each spatial dim */
  ug_kir_value_id_t xo;          /* ... and the offset of its channel-0 tap 0 (off64: inside the image) */
  ug_kir_value_id_t base64;      /* the image's offset as an i64 scalar when offsets are i64, else UG_NONE */
  ug_kir_value_id_t wrow;        /* conv_transpose: per row m of A, its offset in w (the group's included) */
} conv_fill_t;

/* Tile math of the gather's offsets: `op a, b` on i32 (or bool) tiles. */
static ug_kir_value_id_t tmath(mm_lower_t *L, ug_kir_region_id_t r, ug_op_t op, ug_kir_value_id_t a, ug_kir_value_id_t b) {
  const ug_kir_type_t *at = ug_kir_value_type(L->k, a), *bt = ug_kir_value_type(L->k, b);
  ug_kir_type_t t = at->t.rank >= bt->t.rank ? *at : *bt;
  bool cmp = op == UG_OP_LESS || op == UG_OP_GREATER_EQUAL || op == UG_OP_EQUAL;
  if (cmp) t.t.dtype = UG_DTYPE_BOOL;
  ug_kir_operand_t args[2] = {ug_kir_val(a), ug_kir_val(b)};
  return ug_kir_ew(L->k, r, op, args, 2, &t);
}

/* An i32 constant, once per region. */
static ug_kir_value_id_t konst(mm_lower_t *L, ug_kir_region_id_t r, int64_t v) {
  for (int i = 0; i < L->nkc; i++)
    if (L->kc[i].v == v && L->kc[i].r == r) return L->kc[i].t;
  ug_kir_value_id_t t = cast_in(L, r, ug_kir_imm(v), UG_DTYPE_I32);
  if (L->nkc < 32) {
    L->kc[L->nkc].v = v;
    L->kc[L->nkc].r = r;
    L->kc[L->nkc++].t = t;
  }
  return t;
}

/* iota along axis of an i32 tile [d0, d1], plus index x. */
static ug_kir_value_id_t iota_plus(mm_lower_t *L, ug_kir_region_id_t r, int axis, ug_dim_t d0, ug_dim_t d1, ug_kir_operand_t x) {
  ug_dim_t d[2] = {d0, d1};
  ug_kir_type_t t = ug_kir_type_tile(UG_DTYPE_I32, 2, d);
  ug_kir_op_id_t o = ug_kir_begin(L->k, r, UG_KIR_IOTA, NULL);
  ug_kir_push_attr(L->k, o, ug_kir_attr_int(UG_KATTR_AXIS, axis));
  ug_kir_value_id_t i = ug_kir_push_result(L->k, o, &t, NULL);
  return tmath(L, r, UG_OP_ADD, i, cast_in(L, r, x, UG_DTYPE_I32));
}

static ug_kir_value_id_t bcast_to(mm_lower_t *L, ug_kir_region_id_t r, ug_kir_value_id_t x, ug_dim_t d0, ug_dim_t d1) {
  ug_dim_t d[2] = {d0, d1};
  ug_kir_type_t t = ug_kir_type_tile(ug_kir_value_type(L->k, x)->t.dtype, 2, d);
  return ug_kir_unary(L->k, r, UG_KIR_BROADCAST, x, &t);
}

/* To the B tile's [bk,bn]. */
static ug_kir_value_id_t bcast(mm_lower_t *L, ug_kir_region_id_t r, ug_kir_value_id_t x) { return bcast_to(L, r, x, L->bk, L->bn); }

/* `x * m + a` on a tile, skipping a factor 1 and a term 0 (immediates
 * are never negative: a negative term is subtracted). */
static ug_kir_value_id_t mad(mm_lower_t *L, ug_kir_region_id_t r, ug_kir_value_id_t x, int64_t m, int64_t a) {
  if (m != 1) x = tmath(L, r, UG_OP_MUL, x, konst(L, r, m));
  if (a) x = tmath(L, r, a > 0 ? UG_OP_ADD : UG_OP_SUB, x, konst(L, r, a > 0 ? a : -a));
  return x;
}

/* mask AND x (x UG_NONE: mask; mask UG_NONE: x). */
static ug_kir_value_id_t and_mask(mm_lower_t *L, ug_kir_region_id_t r, ug_kir_value_id_t mask, ug_kir_value_id_t x) {
  if (x == UG_NONE) return mask;
  return mask == UG_NONE ? x : tmath(L, r, UG_OP_AND, mask, x);
}

/* mask AND input position pos inside spatial dim i (tested only on the
 * sides some output position's tap can cross). */
static ug_kir_value_id_t mask_inside(mm_lower_t *L, ug_kir_region_id_t r, const conv_shape_t *c, int i, ug_kir_value_id_t pos,
                                     ug_kir_value_id_t mask) {
  ug_kir_value_id_t lo = c->need_lo[i] ? tmath(L, r, UG_OP_GREATER_EQUAL, pos, konst(L, r, 0)) : UG_NONE;
  ug_kir_value_id_t hi = c->need_hi[i] ? tmath(L, r, UG_OP_LESS, pos, konst(L, r, c->S[i])) : UG_NONE;
  return and_mask(L, r, and_mask(L, r, mask, lo), hi);
}

/* The per-column part of the gather, before the K loop: for output
 * position p = n0 + iota, its coordinates o, the input position of tap 0
 * (o * stride - pad) and that position's offset in channel 0 of the
 * image.  Columns past P read positions of later rows or images (or
 * nothing, past the buffer): the columns they feed are never stored. */
static void conv_columns(mm_lower_t *L, conv_fill_t *f, ug_kir_operand_t base, bool off64) {
  const conv_shape_t *c = f->c;
  ug_kir_region_id_t r = L->k->body;
  ug_kir_value_id_t rem = iota_plus(L, r, 1, 1, L->bn, L->n0), xo = UG_NONE;
  for (int i = c->sr - 1; i >= 0; i--) {
    ug_kir_value_id_t o = rem;
    if (i > 0) {
      o = tmath(L, r, UG_OP_MOD, rem, konst(L, r, c->O[i]));
      rem = tmath(L, r, UG_OP_DIV, rem, konst(L, r, c->O[i]));
    }
    if (c->transpose) { /* o + pad: tap t reads input position (o + pad - t*d) / s */
      f->i0[i] = mad(L, r, o, 1, c->pb[i]);
      continue;
    }
    f->i0[i] = mad(L, r, o, c->stride[i], -c->pb[i]);
    ug_kir_value_id_t part = mad(L, r, f->i0[i], c->xs[i], 0);
    xo = xo == UG_NONE ? part : tmath(L, r, UG_OP_ADD, xo, part);
  }
  if (c->transpose) xo = konst(L, r, 0);
  if (!off64) xo = tmath(L, r, UG_OP_ADD, xo, cast_in(L, r, base, UG_DTYPE_I32));
  f->xo = xo;
  f->base64 = off64 ? cast_in(L, r, base, UG_DTYPE_I64) : UG_NONE;
}

/* Offsets of a gather past the image's offset: i32, or i64 plus the
 * image's i64 offset when x may hold 2^31 elements or more. */
static ug_kir_value_id_t widen(mm_lower_t *L, ug_kir_region_id_t body, const conv_fill_t *f, ug_kir_value_id_t off) {
  if (f->base64 == UG_NONE) return off;
  return tmath(L, body, UG_OP_ADD, cast_in(L, body, ug_kir_val(off), UG_DTYPE_I64), f->base64);
}

/* A conv's k step: the [bm,bk] tile of w, and the [bk,bn] tile of X
 * gathered: row k = (c, taps t) reads at the column's offset plus
 * c * HW + sum t * dilation * stride_x, where every tap lands inside the
 * input and k < Kg. */
static void conv_fill(mm_lower_t *L, ug_kir_region_id_t body, ug_kir_operand_t kv, const void *ctx, ug_kir_value_id_t *ta,
                      ug_kir_value_id_t *tb) {
  const conv_fill_t *f = ctx;
  const conv_shape_t *c = f->c;
  ug_dtype_t dt = ug_kir_value_type(L->k, f->W)->t.dtype;
  ug_kir_operand_t ia[3];
  memcpy(ia, f->ia, sizeof ia);
  ia[f->ka] = kv;
  ug_dim_t sa[2] = {L->bm, L->bk}, sb[2] = {L->bk, L->bn};
  ug_kir_type_t atl = ug_kir_type_tile(dt, 2, sa), btl = ug_kir_type_tile(dt, 2, sb);
  *ta = ug_kir_load(L->k, body, f->W, ia, f->na, UG_NONE, &atl);
  /* the rows: channel and taps of k */
  ug_kir_value_id_t kk = iota_plus(L, body, 0, L->bk, 1, kv), rem = kk, roff = UG_NONE, t[UG_MAX_RANK];
  if (c->KS > 1) rem = tmath(L, body, UG_OP_MOD, kk, konst(L, body, c->KS));
  for (int i = c->sr - 1; i >= 0; i--) {
    t[i] = rem;
    if (c->ks[i] == 1) {
      t[i] = UG_NONE;
      continue;
    }
    if (i > 0) {
      t[i] = tmath(L, body, UG_OP_MOD, rem, konst(L, body, c->ks[i]));
      rem = tmath(L, body, UG_OP_DIV, rem, konst(L, body, c->ks[i]));
    }
    t[i] = mad(L, body, t[i], c->dil[i], 0);
    ug_kir_value_id_t part = mad(L, body, t[i], c->xs[i], 0);
    roff = roff == UG_NONE ? part : tmath(L, body, UG_OP_ADD, roff, part);
  }
  ug_kir_value_id_t ch = c->KS > 1 ? tmath(L, body, UG_OP_DIV, kk, konst(L, body, c->KS)) : kk;
  ch = mad(L, body, ch, c->HW, 0);
  roff = roff == UG_NONE ? ch : tmath(L, body, UG_OP_ADD, roff, ch);
  /* the mask: k inside the terms (unless every k step is whole), every tap inside the input */
  ug_kir_value_id_t mask = UG_NONE;
  if (c->Kg % L->bk) mask = bcast(L, body, tmath(L, body, UG_OP_LESS, kk, konst(L, body, c->Kg)));
  for (int i = 0; i < c->sr; i++) {
    if (!c->need_lo[i] && !c->need_hi[i]) continue;
    ug_kir_value_id_t pos = bcast(L, body, f->i0[i]);
    if (t[i] != UG_NONE) pos = tmath(L, body, UG_OP_ADD, pos, bcast(L, body, t[i]));
    mask = mask_inside(L, body, c, i, pos, mask);
  }
  ug_kir_value_id_t off = widen(L, body, f, tmath(L, body, UG_OP_ADD, bcast(L, body, f->xo), bcast(L, body, roff)));
  *tb = ug_kir_gather(L->k, body, f->X, off, mask, 0.0, &btl);
}

/* A conv_transpose's k step, both tiles gathered; k = (input channel ci,
 * taps t).  A [bm,bk]: w[g*Cg + ci, m, t] (w's rows are not along k).  B
 * [bk,bn]: x[n, g*Cg + ci, i] at i = (o + pad - t*d) / s where that
 * divides and lands inside the input, zero elsewhere and past Kg. */
static void convt_fill(mm_lower_t *L, ug_kir_region_id_t body, ug_kir_operand_t kv, const void *ctx, ug_kir_value_id_t *ta,
                       ug_kir_value_id_t *tb) {
  const conv_fill_t *f = ctx;
  const conv_shape_t *c = f->c;
  ug_dtype_t dt = ug_kir_value_type(L->k, f->X)->t.dtype;
  ug_dim_t sa[2] = {L->bm, L->bk}, sb[2] = {L->bk, L->bn};
  ug_kir_type_t atl = ug_kir_type_tile(dt, 2, sa), btl = ug_kir_type_tile(dt, 2, sb);
  bool ragged = c->Kg % L->bk != 0;
  /* A: the columns' offsets ci * Mg * KS + t, rows' from before the loop */
  ug_kir_value_id_t kc = iota_plus(L, body, 1, 1, L->bk, kv), acol = kc;
  if (c->KS > 1) {
    ug_kir_value_id_t ks = konst(L, body, c->KS);
    acol = tmath(L, body, UG_OP_ADD, mad(L, body, tmath(L, body, UG_OP_DIV, kc, ks), c->Mg * c->KS, 0),
                 tmath(L, body, UG_OP_MOD, kc, ks));
  } else {
    acol = mad(L, body, kc, c->Mg, 0);
  }
  ug_kir_value_id_t aoff = tmath(L, body, UG_OP_ADD, bcast_to(L, body, f->wrow, L->bm, L->bk), bcast_to(L, body, acol, L->bm, L->bk));
  ug_kir_value_id_t amask = ragged ? bcast_to(L, body, tmath(L, body, UG_OP_LESS, kc, konst(L, body, c->Kg)), L->bm, L->bk) : UG_NONE;
  *ta = ug_kir_gather(L->k, body, f->W, aoff, amask, 0.0, &atl);
  /* B: the rows' channel and taps, then per element the input position */
  ug_kir_value_id_t kk = iota_plus(L, body, 0, L->bk, 1, kv), rem = kk, t[UG_MAX_RANK];
  if (c->KS > 1) rem = tmath(L, body, UG_OP_MOD, kk, konst(L, body, c->KS));
  for (int i = c->sr - 1; i >= 0; i--) {
    t[i] = rem;
    if (i > 0) {
      t[i] = tmath(L, body, UG_OP_MOD, rem, konst(L, body, c->ks[i]));
      rem = tmath(L, body, UG_OP_DIV, rem, konst(L, body, c->ks[i]));
    }
    t[i] = mad(L, body, t[i], c->dil[i], 0);
  }
  ug_kir_value_id_t ch = c->KS > 1 ? tmath(L, body, UG_OP_DIV, kk, konst(L, body, c->KS)) : kk;
  ug_kir_value_id_t off = bcast(L, body, mad(L, body, ch, c->HW, 0));
  ug_kir_value_id_t mask = ragged ? bcast(L, body, tmath(L, body, UG_OP_LESS, kk, konst(L, body, c->Kg))) : UG_NONE;
  ug_kir_value_id_t zero = konst(L, body, 0);
  for (int i = 0; i < c->sr; i++) {
    ug_kir_value_id_t num = tmath(L, body, UG_OP_SUB, bcast(L, body, f->i0[i]), bcast(L, body, t[i])), pos = num;
    ug_kir_value_id_t in[3] = {tmath(L, body, UG_OP_GREATER_EQUAL, num, zero), UG_NONE, UG_NONE};
    if (c->stride[i] > 1) {
      ug_kir_value_id_t sv = konst(L, body, c->stride[i]);
      in[1] = tmath(L, body, UG_OP_EQUAL, tmath(L, body, UG_OP_MOD, num, sv), zero);
      pos = tmath(L, body, UG_OP_DIV, num, sv);
    }
    in[2] = tmath(L, body, UG_OP_LESS, pos, konst(L, body, c->S[i]));
    for (int j = 0; j < 3; j++) mask = and_mask(L, body, mask, in[j]);
    off = tmath(L, body, UG_OP_ADD, off, mad(L, body, pos, c->xs[i], 0));
  }
  off = widen(L, body, f, tmath(L, body, UG_OP_ADD, off, bcast(L, body, f->xo)));
  *tb = ug_kir_gather(L->k, body, f->X, off, mask, 0.0, &btl);
}

/* ---- conv_nhwc: rows are output pixels ----
 * conv_nhwc of x [N, S..., C], w [k..., C, M] (one group) into y [N, O...,
 * M] is the GEMM y[q, m] = sum_k A[q, k] * w[k, m] over the N*P output
 * pixels q (images included: no tile pads a small plane) and K = taps x C
 * terms, k = (taps t, channel c), where A[q, k] is x at pixel q's input
 * position o * stride - pad + t * dilation, channel c (zero in the
 * padding).  A pixel's channels are contiguous in x: when a K step holds
 * channels of one tap only (C a multiple of bk), A's tile is a gather of
 * runs, one offset and one mask bit per row; otherwise one per element. */

/* An index op in region r. */
static ug_kir_operand_t idx_in(mm_lower_t *L, ug_kir_region_id_t r, ug_op_t op, ug_kir_operand_t a, ug_kir_operand_t b) {
  bool imm = b.value == UG_NONE;
  if (imm && ((op == UG_OP_MUL && b.imm == 1) || (op == UG_OP_ADD && b.imm == 0))) return a;
  return ug_kir_index_op(L->k, r, op, a, b);
}

/* The rows' part, before the K loop: for pixel m0 + i (of image m0 / P +
 * (m0 % P + i) / P), the input position of tap 0 along each spatial dim
 * (f->i0) and the offset of its channel 0 (f->xo: in x, or with off64 in
 * the image, the image's offset an i64 tile f->base64).  Rows past N*P
 * read past x or nothing: they are never stored. */
static void nhwc_rows(mm_lower_t *L, conv_fill_t *f, bool off64) {
  const conv_shape_t *c = f->c;
  ug_kir_region_id_t r = L->k->body;
  int64_t P = 1, C = c->Cg;
  for (int i = 0; i < c->sr; i++) P *= c->O[i];
  ug_kir_operand_t img0 = idx_op(L, UG_OP_DIV, L->m0, ug_kir_imm(P)), p0 = idx_op(L, UG_OP_MOD, L->m0, ug_kir_imm(P));
  ug_kir_value_id_t q = iota_plus(L, r, 0, L->bm, 1, p0), rem = tmath(L, r, UG_OP_MOD, q, konst(L, r, P));
  ug_kir_value_id_t img = tmath(L, r, UG_OP_ADD, tmath(L, r, UG_OP_DIV, q, konst(L, r, P)), cast_in(L, r, img0, UG_DTYPE_I32));
  ug_kir_value_id_t xo = UG_NONE;
  for (int i = c->sr - 1; i >= 0; i--) {
    ug_kir_value_id_t o = rem;
    if (i > 0) {
      o = tmath(L, r, UG_OP_MOD, rem, konst(L, r, c->O[i]));
      rem = tmath(L, r, UG_OP_DIV, rem, konst(L, r, c->O[i]));
    }
    f->i0[i] = mad(L, r, o, c->stride[i], -c->pb[i]);
    ug_kir_value_id_t part = mad(L, r, f->i0[i], c->xs[i] * C, 0);
    xo = xo == UG_NONE ? part : tmath(L, r, UG_OP_ADD, xo, part);
  }
  f->base64 = UG_NONE;
  if (off64) f->base64 = tmath(L, r, UG_OP_MUL, cast_in(L, r, ug_kir_val(img), UG_DTYPE_I64), cast_in(L, r, ug_kir_imm(c->HW * C), UG_DTYPE_I64));
  else xo = tmath(L, r, UG_OP_ADD, xo, mad(L, r, img, c->HW * C, 0));
  f->xo = xo;
}

/* Offsets past the image's: i64 plus the image's offset when f->base64 is
 * set (its rows broadcast to off's shape). */
static ug_kir_value_id_t nhwc_widen(mm_lower_t *L, ug_kir_region_id_t body, const conv_fill_t *f, ug_kir_value_id_t off) {
  if (f->base64 == UG_NONE) return off;
  const ug_kir_type_t *t = ug_kir_value_type(L->k, off);
  ug_kir_value_id_t b = f->base64;
  if (t->t.dims[1] != 1) b = bcast_to(L, body, b, t->t.dims[0], t->t.dims[1]);
  return tmath(L, body, UG_OP_ADD, cast_in(L, body, ug_kir_val(off), UG_DTYPE_I64), b);
}

/* A conv_nhwc's k step: A [bm,bk] gathered from x (runs when the step is
 * channels of one tap), B [bk,bn] loaded from w as [K, M]. */
static void nhwc_fill(mm_lower_t *L, ug_kir_region_id_t body, ug_kir_operand_t kv, const void *ctx, ug_kir_value_id_t *ta,
                      ug_kir_value_id_t *tb) {
  const conv_fill_t *f = ctx;
  const conv_shape_t *c = f->c;
  ug_dtype_t dt = ug_kir_value_type(L->k, f->X)->t.dtype;
  int64_t C = c->Cg;
  ug_dim_t sa[2] = {L->bm, L->bk}, sb[2] = {L->bk, L->bn};
  ug_kir_type_t atl = ug_kir_type_tile(dt, 2, sa), btl = ug_kir_type_tile(dt, 2, sb);
  ug_kir_operand_t ib[2] = {kv, L->n0};
  *tb = ug_kir_load(L->k, body, f->W, ib, 2, UG_NONE, &btl);
  ug_kir_value_id_t mask = UG_NONE, off;
  if (C % L->bk == 0) { /* one tap: index math, a [bm,1] offset and mask */
    ug_kir_operand_t tap = idx_in(L, body, UG_OP_DIV, kv, ug_kir_imm(C)), toff = idx_in(L, body, UG_OP_MOD, kv, ug_kir_imm(C));
    for (int i = c->sr - 1; i >= 0; i--) {
      if (c->ks[i] == 1) continue;
      ug_kir_operand_t t = tap;
      if (i > 0) {
        t = idx_in(L, body, UG_OP_MOD, tap, ug_kir_imm(c->ks[i]));
        tap = idx_in(L, body, UG_OP_DIV, tap, ug_kir_imm(c->ks[i]));
      }
      ug_kir_operand_t td = idx_in(L, body, UG_OP_MUL, t, ug_kir_imm(c->dil[i]));
      toff = idx_in(L, body, UG_OP_ADD, toff, idx_in(L, body, UG_OP_MUL, td, ug_kir_imm(c->xs[i] * C)));
      if (!c->need_lo[i] && !c->need_hi[i]) continue;
      mask = mask_inside(L, body, c, i, tmath(L, body, UG_OP_ADD, f->i0[i], cast_in(L, body, td, UG_DTYPE_I32)), mask);
    }
    off = tmath(L, body, UG_OP_ADD, f->xo, cast_in(L, body, toff, UG_DTYPE_I32));
  } else { /* per element: k = kv + iota along A's columns */
    ug_kir_value_id_t kk = iota_plus(L, body, 1, 1, L->bk, kv), tap = tmath(L, body, UG_OP_DIV, kk, konst(L, body, C));
    ug_kir_value_id_t coff = tmath(L, body, UG_OP_MOD, kk, konst(L, body, C));
    if (c->Kg % L->bk) mask = bcast_to(L, body, tmath(L, body, UG_OP_LESS, kk, konst(L, body, c->Kg)), L->bm, L->bk);
    for (int i = c->sr - 1; i >= 0; i--) {
      if (c->ks[i] == 1) continue;
      ug_kir_value_id_t t = tap;
      if (i > 0) {
        t = tmath(L, body, UG_OP_MOD, tap, konst(L, body, c->ks[i]));
        tap = tmath(L, body, UG_OP_DIV, tap, konst(L, body, c->ks[i]));
      }
      ug_kir_value_id_t td = mad(L, body, t, c->dil[i], 0);
      coff = tmath(L, body, UG_OP_ADD, coff, mad(L, body, td, c->xs[i] * C, 0));
      if (!c->need_lo[i] && !c->need_hi[i]) continue;
      ug_kir_value_id_t pos = tmath(L, body, UG_OP_ADD, bcast_to(L, body, f->i0[i], L->bm, L->bk), bcast_to(L, body, td, L->bm, L->bk));
      mask = mask_inside(L, body, c, i, pos, mask);
    }
    off = tmath(L, body, UG_OP_ADD, bcast_to(L, body, f->xo, L->bm, L->bk), bcast_to(L, body, coff, L->bm, L->bk));
  }
  *ta = ug_kir_gather(L->k, body, f->X, nhwc_widen(L, body, f, off), mask, 0.0, &atl);
}

ug_status_t ug_kir_lower_conv(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                              const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out) {
  *out = NULL;
  ug_graph_t *g = p->g;
  if (s->kind != UG_STEP_NODE) return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "not lowered to kernel IR: copy step");
  conv_shape_t c;
  UG_RETURN_IF_ERROR(conv_check(g, s->nodes, s->num_nodes, &c));
  const ug_node_t *head = &g->nodes.items[s->nodes[0]];
  if (s->num_scratch) return ug_kir_not_lowered(g, head, "scratch buffers");
  ug_value_id_t xv = ug_node_operand(g, head, 0), wv = ug_node_operand(g, head, 1), rv = ug_node_result(g, head, 0);
  ug_value_id_t bv = head->num_operands > 2 ? ug_node_operand(g, head, 2) : UG_NONE;
  const ug_type_t *xt = ug_value_type(g, xv);
  ug_dtype_t dt = xt->dtype;
  mm_lower_t L = {.g = g, .D = km->dims, .t = tiles};
  int64_t P = 1;
  for (int i = 0; i < c.sr; i++) P *= c.O[i];
  ug_dim_t outer = conv_outer(L.D, &c);
  L.K = c.Kg;
  if (c.nhwc) { /* one matrix: N*P pixels x M */
    L.M = outer;
    L.N = c.Mg;
    L.Bo = 1;
    L.kdiv = c.pointwise ? 0 : c.Cg;
  } else { /* N*G matrices: Mg x P */
    L.M = c.Mg;
    L.N = P;
    L.Bo = outer;
  }
  mm_begin(&L, km, s, dt);
  for (uint32_t a = 0; a < s->num_args; a++) {
    ug_value_id_t v = s->arg_values[a];
    if (v == UG_NONE) return ug_node_error(g, head, UG_ERR_INTERNAL, "conv kernel argument %u without a value", a);
    const ug_type_t *vt = ug_value_type(g, v);
    ug_dim_t shp[3];
    int rank = 0;
    if (v == xv && c.pointwise) { /* [N*G, Cg, P], read as a matmul's B; conv_nhwc: [N*P, C], its A */
      ug_dim_t xs[3] = {L.Bo, c.Cg, P}, xh[2] = {L.M, c.Cg};
      if (c.nhwc) mm_param(&L, a, dt, xh, 2);
      else if (L.Bo == 1) mm_param(&L, a, dt, xs + 1, 2);
      else mm_param(&L, a, dt, xs, 3);
      continue;
    }
    if (v == xv || (v == wv && c.transpose)) { /* gathered: their own shapes */
      mm_param(&L, a, dt, vt->dims, vt->rank);
      continue;
    }
    if (v == wv && c.nhwc) { /* [Kg, M] */
      shp[rank++] = c.Kg;
      shp[rank++] = c.Mg;
    } else if (v == wv) { /* [G, Mg, Kg] */
      if (c.G > 1) shp[rank++] = c.G;
      shp[rank++] = c.Mg;
      shp[rank++] = c.Kg;
    } else if (v == bv && c.nhwc) { /* [1, M] */
      shp[rank++] = 1;
      shp[rank++] = c.Mg;
    } else if (v == bv) { /* [G, Mg, 1] */
      if (c.G > 1) shp[rank++] = c.G;
      shp[rank++] = c.Mg;
      shp[rank++] = 1;
    } else if (!conv_view(&c, outer, vt, shp, &rank) || !dtype_ok(vt->dtype)) {
      return ug_node_error(g, head, UG_ERR_INTERNAL, "conv kernel argument %u: view or dtype", a);
    }
    mm_param(&L, a, vt->dtype, shp, rank);
  }
  int px = arg_of(s, xv), pw = arg_of(s, wv), pbias = bv == UG_NONE ? -1 : arg_of(s, bv);
  if (px < 0 || pw < 0 || (bv != UG_NONE && pbias < 0)) return ug_node_error(g, head, UG_ERR_INTERNAL, "conv operands without parameters");
  mm_programs(&L);
  /* this program's group (matrix bi is image bi / G's group bi % G) */
  ug_kir_operand_t grp = c.G > 1 ? idx_op(&L, UG_OP_MOD, L.bi, ug_kir_imm(c.G)) : ug_kir_imm(0);
  conv_fill_t f = {.c = &c, .W = L.params[pw], .X = L.params[px]};
  ug_dim_t xn = ug_type_numel(L.D, xt);
  ug_kir_value_id_t acc;
  if (c.nhwc && c.pointwise) { /* x [N*P, C] @ w [C, M] */
    mm_fill_t mf = {.A = f.X, .B = f.W, .na = 2, .ka = 1, .nb = 2, .kb = 0};
    mf.ia[0] = L.m0;
    mf.ib[1] = L.n0;
    acc = mm_loop(&L, head->loc, mm_fill, &mf);
  } else if (c.nhwc) {
    /* offsets in 32 bits unless x, or the images rows past N*P would reach, hold 2^31 elements */
    nhwc_rows(&L, &f, !UG_DIM_IS_STATIC(xn) || xn + (L.bm + 1) * c.HW * c.Cg >= (1LL << 31));
    acc = mm_loop(&L, head->loc, nhwc_fill, &f);
  } else {
    if (c.G > 1) f.ia[f.na++] = grp;
    f.ia[f.na++] = L.m0;
    f.ka = f.na++;
    if (c.pointwise) {
      mm_fill_t mf = {.A = f.W, .B = f.X, .na = f.na, .ka = f.ka};
      memcpy(mf.ia, f.ia, sizeof mf.ia);
      if (L.batched) mf.ib[mf.nb++] = L.bi;
      mf.kb = mf.nb++;
      mf.ib[mf.nb++] = L.n0;
      acc = mm_loop(&L, head->loc, mm_fill, &mf);
    } else {
      /* the offset of the group's first channel of the image in x: matrix bi's */
      ug_kir_operand_t base = idx_op(&L, UG_OP_MUL, L.bi, ug_kir_imm(c.Cg * c.HW));
      conv_columns(&L, &f, base, !UG_DIM_IS_STATIC(xn) || xn >= (1LL << 31));
      if (c.transpose) { /* A's rows: m * KS in the group's weights */
        ug_kir_region_id_t r = L.k->body;
        ug_kir_value_id_t m = iota_plus(&L, r, 0, L.bm, 1, L.m0);
        ug_kir_operand_t wg = idx_op(&L, UG_OP_MUL, grp, ug_kir_imm(c.Cg * c.Mg * c.KS));
        f.wrow = tmath(&L, r, UG_OP_ADD, mad(&L, r, m, c.KS, 0), cast_in(&L, r, wg, UG_DTYPE_I32));
      }
      acc = mm_loop(&L, head->loc, c.transpose ? convt_fill : conv_fill, &f);
    }
  }
  if (bv != UG_NONE) { /* the bias, added to the f32 accumulator: per row (NCHW) or column (NHWC) */
    ug_kir_operand_t idx[3];
    uint32_t ni = 0;
    if (c.G > 1) idx[ni++] = grp;
    idx[ni++] = c.nhwc ? ug_kir_imm(0) : L.m0;
    idx[ni++] = c.nhwc ? L.n0 : ug_kir_imm(0);
    ug_dim_t bd[2] = {c.nhwc ? 1 : L.bm, c.nhwc ? L.bn : 1}, sc[2] = {L.bm, L.bn};
    ug_kir_type_t lt = ug_kir_type_tile(dt, 2, bd), ft = ug_kir_type_tile(UG_DTYPE_F32, 2, sc);
    ug_kir_value_id_t b = ug_kir_load(L.k, L.er, L.params[pbias], idx, ni, UG_NONE, &lt);
    b = ug_kir_unary(L.k, L.er, UG_KIR_BROADCAST, cast_tile(&L, b, UG_DTYPE_F32), &ft);
    ug_kir_operand_t args[2] = {ug_kir_val(acc), ug_kir_val(b)};
    acc = ug_kir_ew(L.k, L.er, UG_OP_ADD, args, 2, &ft);
  }
  UG_RETURN_IF_ERROR(mm_epilogue(&L, s, rv, acc));
  *out = L.k;
  return ug_kir_verify_kernel(L.k);
}

ug_status_t ug_kir_contract_check(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes) {
  ug_op_t op = g->nodes.items[nodes[0]].op;
  if (op != UG_OP_MATMUL) return ug_kir_conv_check(g, nodes, num_nodes);
  return ug_kir_matmul_check(g, nodes, num_nodes);
}

ug_status_t ug_kir_lower_contract(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                  const ug_kir_mm_tiles_t *tiles, ug_kir_kernel_t **out) {
  ug_op_t op = s->kind == UG_STEP_NODE ? p->g->nodes.items[s->nodes[0]].op : UG_OP_MATMUL;
  if (op != UG_OP_MATMUL) return ug_kir_lower_conv(km, p, s, tiles, out);
  return ug_kir_lower_matmul(km, p, s, tiles, out);
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

/* SMs of the H100 the split is tuned on; k tiles a program at least: a
 * 1024x768x768 GEMM (24 k tiles) split 4 ways ran 1.2x slower on it (the
 * 4-stage pipeline's fill and the reduction are not paid back by 6 k
 * tiles), 1024x768x3072 (96) 1.45x faster (bench/RESULTS.md). */
#define GPU_SPLIT_SMS 132
#define GPU_SPLIT_MIN_KT 16
int ug_kir_gpu_split(ug_dim_t tiles, ug_dim_t ktiles) {
  if (!UG_DIM_IS_STATIC(tiles) || !UG_DIM_IS_STATIC(ktiles) || tiles <= 0 || tiles >= GPU_SPLIT_SMS) return 1;
  for (int split = 8; split > 1; split /= 2)
    if (tiles * split <= 2 * GPU_SPLIT_SMS && ktiles >= GPU_SPLIT_MIN_KT * split) return split;
  return 1;
}

ug_kir_mm_tiles_t ug_kir_gpu_contract_tiles(ug_graph_t *g, const ug_node_t *head) {
  const ug_type_t *at = ug_value_type(g, ug_node_operand(g, head, 0)), *bt = ug_value_type(g, ug_node_operand(g, head, 1));
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, head, 0));
  ug_kir_mm_tiles_t t = *ug_kir_gpu_mm_tiles_for(at->dtype);
  if ((at->dtype != UG_DTYPE_F16 && at->dtype != UG_DTYPE_BF16 && at->dtype != UG_DTYPE_F32) || at->rank < 2 || bt->rank < 2)
    return t;
  ug_dims_t *d = g->module->dims;
  ug_dim_t rows, cols = rt->dims[rt->rank - 1], K = at->dims[at->rank - 1], tiles;
  if (head->op == UG_OP_MATMUL) { /* batch x M x N over K */
    rows = rt->rank >= 2 ? rt->dims[rt->rank - 2] : 1;
    tiles = ug_dim_mul(d, ug_dim_ceildiv(d, rows, t.bm), ug_dim_ceildiv(d, cols, t.bn));
    for (int i = 0; i + 2 < rt->rank; i++) tiles = ug_dim_mul(d, tiles, rt->dims[i]);
  } else if (head->op == UG_OP_CONV_NHWC) { /* pixels x M over taps x C */
    rows = rt->dims[0];
    for (int i = 1; i + 1 < rt->rank; i++) rows = ug_dim_mul(d, rows, rt->dims[i]);
    for (int i = 0; i + 2 < bt->rank; i++) K = ug_dim_mul(d, K, bt->dims[i]);
    tiles = ug_dim_mul(d, ug_dim_ceildiv(d, rows, t.bm), ug_dim_ceildiv(d, cols, t.bn));
  } else {
    return t;
  }
  /* the split rule counts K in tiles of 32 for f32's k steps of 16 too */
  t.split = ug_kir_gpu_split(tiles, ug_dim_ceildiv(d, K, 32));
  return t;
}

const char *ug_kir_gpu_contract_skip(ug_graph_t *g, const ug_node_t *head, const ug_kir_mm_tiles_t *t) {
  const ug_type_t *at = ug_value_type(g, ug_node_operand(g, head, 0)), *bt = ug_value_type(g, ug_node_operand(g, head, 1));
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, head, 0));
  if ((at->dtype != UG_DTYPE_F16 && at->dtype != UG_DTYPE_BF16 && at->dtype != UG_DTYPE_F32) || at->rank < 2 || bt->rank < 2)
    return "operands other than f16, bf16 or f32 matrices";
  if (head->op == UG_OP_CONV || head->op == UG_OP_CONV_TRANSPOSE) {
    /* the lowering's programs are tiles of one image's output positions:
     * where they would pad those by more than a quarter (a 7x7 plane is 49
     * columns of 128), conv.c's columns across images do better (ResNet-50's
     * last 1x1 conv at batch 8: 114 us against 84, bench/RESULTS.md) */
    int64_t P = 1;
    for (int i = 2; i < rt->rank; i++) P = UG_DIM_IS_STATIC(rt->dims[i]) && P > 0 ? P * rt->dims[i] : -1;
    if (P <= 0 || (P + t->bn - 1) / t->bn * t->bn * 4 > 5 * P) return "an output plane the tiles would pad by more than a quarter";
  }
  /* a split f16 / bf16 conv_nhwc: conv.c is 2-10% faster on ResNet-50's
   * split layers at batch 8 (3x3 at 28x28 and 14x14, 1x1 at 7x7;
   * bench/RESULTS.md "split K through the kernel IR"), where split matmuls
   * come out even (conv.c has no f32 conv_nhwc) */
  if (t->split > 1 && head->op == UG_OP_CONV_NHWC && at->dtype != UG_DTYPE_F32) return "a split-K f16 / bf16 conv_nhwc";
  return NULL;
}

/* The CPU (codegen/llvm/kir.c): one thread per program; the accumulator
 * tile lives in memory and the register-blocked GEMM of codegen/llvm/gemm.c
 * runs each mma, so tiles are larger than the register file and K steps
 * are the GEMM's K block. */
const ug_kir_mm_tiles_t ug_kir_cpu_mm_tiles = {.bm = 128, .bn = 128, .bk = 256, .warps = 1, .stages = 1, .fit = 8};
