/* fuse: groups nodes into kernels, so intermediates stay in registers.
 *
 * Requires: a compacted graph (topological order) with inferred types.
 * Guarantees: the nodes of every kernel of two or more nodes carry one
 * {kernel=N} attribute (N numbers the graph's kernels from 0 in schedule
 * order); other nodes carry none (kernel attributes already present are
 * dropped first, so the pass can run again).  The plan (codegen/plan.c) makes
 * each kernel one step in which values used only inside get no buffer, and
 * codegen/kir_lower.c lowers it to one kernel-IR kernel.
 *
 * Kernels formed now, greedily in schedule order (a node joins the kernels
 * of the producers of its operands, merging them when several qualify):
 * - elementwise: connected elementwise nodes whose results share one shape,
 *   the kernel's *space*; operands from outside broadcast into it;
 * - row: the same plus reductions (sum, mean, max, min) over the last axis
 *   with keepdims.  Values have the space's shape (full) or its shape with
 *   the last axis 1 (per row); elementwise nodes of either shape join.  The
 *   decomposed softmax, layer norm and RMS norm that exporters write become
 *   one kernel that reads each row once;
 * - matmul / conv epilogue: a matmul (f16, bf16, f32; both operands of rank
 *   >= 2) or a conv (the same dtypes; x and w distinct) followed by
 *   elementwise nodes of its result's shape — bias, activation, residual
 *   add, cast, scale — computed on the accumulators before they are stored.
 *   Only single nodes join one (the contraction stays the kernel's first
 *   node): no reduction, no second contraction, no other kernel;
 * - index maps: transpose, reshape, squeeze, unsqueeze, expand, slice,
 *   concat and gather whose operands come from outside, or from movement
 *   nodes grouped with them, join the elementwise or row kernel of their
 *   first consumer; the lowering reads their source through the composed
 *   index map, never materializing the result.  A movement node whose
 *   result is also used outside stays only when that result has the
 *   kernel's shape and it is not reshape-like (the kernel stores it too);
 *   otherwise it leaves, with the movement nodes feeding it (no index math
 *   is duplicated: every node is in at most one kernel).
 * Legality, checked for every candidate and reported when it fails:
 * - no cycle: a kernel never feeds a node or kernel outside that feeds it
 *   back (kernels count as units: all their inputs come before all their
 *   outputs, so the search walks whole kernels);
 * - shapes: a node's result is full or (row kernels) per row; a reduction
 *   reads a full value;
 * - budget: a row kernel's row is static and at most UG_FUSE_MAX_ROW
 *   elements (each program keeps its row in registers);
 * - index maps read memory: a movement node never reads a value computed
 *   inside its kernel, and no epilogue takes one;
 * - ops: elementwise ops with at most 3 operands, all present, of dtypes the
 *   code generators compute (no fp8, no block-quantized types).
 * The report (ug_pass_report: --dump-ir, ugcc-opt --print-reports) lists each
 * kernel with its nodes, then every rejected candidate with its reason. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/kir.h"
#include "passes/pass.h"

#define UG_FUSE_MAX_ROW 16384

typedef enum { K_NONE, K_EW, K_RED, K_CON, K_MOV } kind_t;

typedef struct {
  ug_type_t space;  /* shape of full values (dtype unused) */
  bool row;         /* has reductions */
  bool con;         /* headed by a matmul: the rest is its epilogue */
  bool mov;         /* movement nodes only: no space yet (they join a consumer's kernel) */
  uint32_t parent;  /* union-find */
  uint32_t head, tail, size; /* member list through next[] (roots only) */
  uint32_t first;   /* lowest member index */
} group_t;

typedef struct {
  ug_graph_t *g;
  FILE *rep;
  uint32_t nn;
  kind_t *kind;
  uint32_t *grp;   /* node -> group, UG_NONE */
  uint32_t *next;  /* member list */
  uint32_t *mark;  /* per node: epoch of membership in the candidate set */
  uint32_t *seen;  /* per node: epoch of the cycle search */
  uint32_t *stack;
  uint32_t epoch;
  UG_VEC(group_t) groups;
} fuse_t;

static uint32_t find(fuse_t *f, uint32_t x) {
  while (f->groups.items[x].parent != x) {
    f->groups.items[x].parent = f->groups.items[f->groups.items[x].parent].parent;
    x = f->groups.items[x].parent;
  }
  return x;
}

static bool dtype_ok(ug_dtype_t dt) {
  ug_dtype_kind_t k = ug_dtype_kind(dt);
  if (k == UG_KIND_Q) return false;
  return dt != UG_DTYPE_F8E4M3 && dt != UG_DTYPE_F8E5M2;
}

static bool same_dims(const ug_type_t *a, const ug_type_t *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* Whether t is the space s with its last axis 1 (a per-row value). */
static bool is_per_row(const ug_type_t *t, const ug_type_t *s) {
  if (t->rank != s->rank || s->rank == 0 || t->dims[t->rank - 1] != 1) return false;
  for (int i = 0; i + 1 < s->rank; i++)
    if (t->dims[i] != s->dims[i]) return false;
  return true;
}

static void shape_str(const ug_type_t *t, ug_dims_t *D, char *buf, size_t size) {
  size_t o = 0;
  o += (size_t)snprintf(buf + o, size - o, "[");
  for (int i = 0; i < t->rank && o < size; i++) {
    char d[64];
    ug_dim_format(D, t->dims[i], d, sizeof d);
    o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "", d);
  }
  if (o < size) snprintf(buf + o, size - o, "]");
}

static void reject(fuse_t *f, const ug_node_t *n, const char *fmt, ...) UG_PRINTF(3, 4);
static void reject(fuse_t *f, const ug_node_t *n, const char *fmt, ...) {
  if (!f->rep) return;
  char d[256];
  fprintf(f->rep, "  not fused: %s: ", ug_node_describe(f->g, n, d, sizeof d));
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f->rep, fmt, ap);
  va_end(ap);
  fputc('\n', f->rep);
}

/* The movement ops that fold into index maps. */
static bool is_movement(ug_op_t op) {
  return op == UG_OP_TRANSPOSE || op == UG_OP_RESHAPE || op == UG_OP_SQUEEZE || op == UG_OP_UNSQUEEZE ||
         op == UG_OP_EXPAND || op == UG_OP_SLICE || op == UG_OP_CONCAT || op == UG_OP_GATHER;
}

/* Reshape-like ops: outside a kernel their result is their operand's buffer (plan.c). */
static bool is_alias(ug_op_t op) { return op == UG_OP_RESHAPE || op == UG_OP_SQUEEZE || op == UG_OP_UNSQUEEZE; }

/* A movement node folds into index maps when its operands are present and of
 * dtypes the code generators compute (shape inference has checked the rest:
 * gather indices are i32/i64, symbolic slices run forward from the start). */
static kind_t classify_movement(ug_graph_t *g, const ug_node_t *n, const char **why) {
  if (n->num_results != 1) return K_NONE;
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v == UG_NONE) {
      *why = "absent optional operand";
      return K_NONE;
    }
    if (!dtype_ok(ug_value_type(g, v)->dtype)) {
      *why = "dtype";
      return K_NONE;
    }
  }
  return K_MOV;
}

/* Classifies node n; on K_NONE for an elementwise or reduction node, *why says why. */
static kind_t classify(ug_graph_t *g, const ug_node_t *n, const char **why) {
  *why = NULL;
  ug_category_t cat = ug_op_info(n->op)->category;
  if (n->op == UG_OP_MATMUL) {
    const ug_type_t *a = ug_value_type(g, ug_node_operand(g, n, 0)), *b = ug_value_type(g, ug_node_operand(g, n, 1));
    const ug_type_t *r = ug_value_type(g, ug_node_result(g, n, 0));
    ug_dtype_t dt = r->dtype;
    if (a->rank < 2 || b->rank < 2 || (dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16 && dt != UG_DTYPE_F32)) return K_NONE;
    if (ug_node_operand(g, n, 0) == ug_node_operand(g, n, 1)) return K_NONE;
    return K_CON;
  }
  if (n->op == UG_OP_CONV || n->op == UG_OP_CONV_NHWC) {
    ug_dtype_t dt = ug_value_type(g, ug_node_result(g, n, 0))->dtype;
    if (dt != UG_DTYPE_F16 && dt != UG_DTYPE_BF16 && dt != UG_DTYPE_F32) return K_NONE;
    for (uint32_t i = 0; i < n->num_operands; i++)
      for (uint32_t j = 0; j < i; j++)
        if (ug_node_operand(g, n, i) == ug_node_operand(g, n, j)) return K_NONE;
    return K_CON;
  }
  if (is_movement(n->op)) return classify_movement(g, n, why);
  if (cat != UG_CAT_EW && cat != UG_CAT_RED) return K_NONE;
  if (n->num_results != 1) return K_NONE;
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v == UG_NONE) {
      *why = "absent optional operand";
      return K_NONE;
    }
    if (!dtype_ok(ug_value_type(g, v)->dtype)) {
      *why = "dtype";
      return K_NONE;
    }
  }
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, n, 0));
  if (!dtype_ok(rt->dtype)) {
    *why = "dtype";
    return K_NONE;
  }
  if (cat == UG_CAT_EW) {
    if (n->num_operands > 3) {
      *why = "more than 3 operands";
      return K_NONE;
    }
    if (rt->rank == 0) {
      *why = "scalar result";
      return K_NONE;
    }
    return K_EW;
  }
  if (n->op != UG_OP_REDUCE_SUM && n->op != UG_OP_REDUCE_MEAN && n->op != UG_OP_REDUCE_MAX &&
      n->op != UG_OP_REDUCE_MIN)
    return K_NONE;
  const ug_type_t *xt = ug_value_type(g, ug_node_operand(g, n, 0));
  uint32_t na = 0;
  const ug_attr_t *axes = ug_node_attr(g, n, UG_ATTR_AXES);
  if (axes) na = axes->u.ints.n;
  int64_t ax = na == 1 ? axes->u.ints.v[0] : -1000;
  if (ax < 0) ax += xt->rank;
  if (na != 1 || ax != xt->rank - 1) {
    *why = "reduction not over the last axis alone";
    return K_NONE;
  }
  if (ug_node_attr_int(g, n, UG_ATTR_KEEPDIMS, 1) != 1) {
    *why = "reduction without keepdims";
    return K_NONE;
  }
  return K_RED;
}

/* The full shape node n works over: its result (elementwise) or its operand (reduction). */
static const ug_type_t *node_space(fuse_t *f, const ug_node_t *n) {
  ug_value_id_t v = f->kind[n - f->g->nodes.items] == K_RED ? ug_node_operand(f->g, n, 0) : ug_node_result(f->g, n, 0);
  return ug_value_type(f->g, v);
}

/* Marks the members of kernels cand[0..nc) and node ni with a new epoch
 * (f->mark); returns it, with the lowest member index in *lo. */
static uint32_t mark_set(fuse_t *f, const uint32_t *cand, uint32_t nc, uint32_t ni, uint32_t *lo) {
  uint32_t epoch = ++f->epoch;
  *lo = ni;
  for (uint32_t c = 0; c < nc; c++) {
    group_t *G = &f->groups.items[cand[c]];
    if (G->first < *lo) *lo = G->first;
    for (uint32_t m = G->head; m != UG_NONE; m = f->next[m]) f->mark[m] = epoch;
  }
  f->mark[ni] = epoch;
  return epoch;
}

static bool marked(fuse_t *f, uint32_t node, uint32_t epoch) { return node != UG_NONE && f->mark[node] == epoch; }

/* Pushes node q for the cycle search, with the other members of its kernel:
 * a kernel runs as one unit, so all its inputs precede all its outputs. */
static void push_unit(fuse_t *f, uint32_t q, uint32_t search, uint32_t *sp) {
  if (f->seen[q] == search) return;
  f->seen[q] = search;
  f->stack[(*sp)++] = q;
  if (f->grp[q] == UG_NONE) return;
  group_t *G = &f->groups.items[find(f, f->grp[q])];
  for (uint32_t m = G->head; m != UG_NONE; m = f->next[m])
    if (f->seen[m] != search) {
      f->seen[m] = search;
      f->stack[(*sp)++] = m;
    }
}

/* Whether the nodes marked with epoch, as one kernel, would be on a cycle:
 * whether they reach each other through nodes or kernels outside them.
 * *via gets the outside producer where the path leaves. */
static bool has_cycle(fuse_t *f, uint32_t epoch, uint32_t lo, uint32_t *via) {
  ug_graph_t *g = f->g;
  uint32_t search = ++f->epoch;
  for (uint32_t mi = lo; mi < f->nn; mi++) {
    if (!marked(f, mi, epoch)) continue;
    const ug_node_t *m = &g->nodes.items[mi];
    for (uint32_t i = 0; i < m->num_operands; i++) {
      ug_value_id_t v = ug_node_operand(g, m, i);
      if (v == UG_NONE) continue;
      uint32_t p = g->values.items[v].def;
      if (p == UG_NONE || marked(f, p, epoch) || f->seen[p] == search) continue;
      /* p is outside: does anything it depends on come from the set? */
      uint32_t sp = 0;
      push_unit(f, p, search, &sp);
      while (sp) {
        const ug_node_t *x = &g->nodes.items[f->stack[--sp]];
        for (uint32_t j = 0; j < x->num_operands; j++) {
          ug_value_id_t w = ug_node_operand(g, x, j);
          if (w == UG_NONE) continue;
          uint32_t q = g->values.items[w].def;
          if (q == UG_NONE || f->seen[q] == search) continue;
          if (marked(f, q, epoch)) {
            *via = p;
            return true;
          }
          push_unit(f, q, search, &sp);
        }
      }
    }
  }
  return false;
}

static uint32_t new_group(fuse_t *f, uint32_t node, const ug_type_t *space, bool row) {
  group_t G = {.space = *space, .row = row, .head = node, .tail = node, .size = 1, .first = node};
  G.parent = (uint32_t)f->groups.len;
  UG_VEC_PUSH(f->g->module->arena, &f->groups, G);
  f->grp[node] = G.parent;
  f->next[node] = UG_NONE;
  return G.parent;
}

/* Moves kernel b's members into kernel a. */
static void unite(fuse_t *f, uint32_t a, uint32_t b) {
  group_t *A = &f->groups.items[a], *B = &f->groups.items[b];
  f->next[A->tail] = B->head;
  A->tail = B->tail;
  A->size += B->size;
  if (B->first < A->first) A->first = B->first;
  A->row = A->row || B->row;
  A->con = A->con || B->con;
  A->mov = A->mov && B->mov;
  B->parent = a;
}

/* A row kernel's row: static and within the register budget; NULL when fine. */
static const char *row_problem(const ug_type_t *space, char *buf, size_t size) {
  if (space->rank == 0) return "a reduction of a scalar";
  ug_dim_t c = space->dims[space->rank - 1];
  if (!UG_DIM_IS_STATIC(c)) return "the row length is symbolic";
  if (c > UG_FUSE_MAX_ROW) {
    snprintf(buf, size, "rows of %lld elements exceed the register budget of %d", (long long)c, UG_FUSE_MAX_ROW);
    return buf;
  }
  return NULL;
}

/* The op name of the contraction heading one of kernels cand[0..nc). */
static const char *con_name(fuse_t *f, const uint32_t *cand, uint32_t nc) {
  for (uint32_t c = 0; c < nc; c++)
    if (f->groups.items[cand[c]].con) return ug_op_info(f->g->nodes.items[f->groups.items[cand[c]].first].op)->name;
  return "contraction";
}

/* Node ni joins kernels cand[0..nc) (same space), merging them, when that is
 * legal; otherwise *why says why and nothing changes. */
static bool try_join(fuse_t *f, uint32_t ni, const uint32_t *cand, uint32_t nc, bool row, const ug_type_t *space,
                     char *why, size_t wsize) {
  ug_graph_t *g = f->g;
  if (row) {
    const char *bad = row_problem(space, why, wsize);
    if (bad) {
      if (bad != why) snprintf(why, wsize, "%s", bad);
      return false;
    }
  }
  uint32_t lo, via;
  uint32_t epoch = mark_set(f, cand, nc, ni, &lo);
  if (has_cycle(f, epoch, lo, &via)) {
    char d[256];
    snprintf(why, wsize, "one kernel would make a cycle through %s", ug_node_describe(g, &g->nodes.items[via], d, sizeof d));
    return false;
  }
  bool con = false;
  for (uint32_t c = 0; c < nc; c++) con = con || f->groups.items[cand[c]].con;
  if (con && nc > 1) {
    snprintf(why, wsize, "another kernel meets a %s's epilogue here (they stay apart)", con_name(f, cand, nc));
    return false;
  }
  /* an index map reads memory: a movement node's operands come from
   * outside the kernel or from movement nodes folded with it */
  for (uint32_t mi = lo; mi < f->nn; mi++) {
    if (!marked(f, mi, epoch) || f->kind[mi] != K_MOV) continue;
    const ug_node_t *m = &g->nodes.items[mi];
    char d[256];
    if (con) {
      snprintf(why, wsize, "%s would fold into a %s's epilogue (epilogues take elementwise nodes only)",
               ug_node_describe(g, m, d, sizeof d), con_name(f, cand, nc));
      return false;
    }
    for (uint32_t i = 0; i < m->num_operands; i++) {
      uint32_t p = g->values.items[ug_node_operand(g, m, i)].def;
      if (marked(f, p, epoch) && f->kind[p] != K_MOV) {
        char d2[256];
        snprintf(why, wsize, "%s would read %s's result inside the kernel (an index map reads memory, not registers)",
                 ug_node_describe(g, m, d, sizeof d), ug_node_describe(g, &g->nodes.items[p], d2, sizeof d2));
        return false;
      }
    }
  }
  uint32_t root = cand[0];
  for (uint32_t c = 1; c < nc; c++) unite(f, root, cand[c]);
  group_t *G = &f->groups.items[root];
  G->row = G->row || row;
  if (f->kind[ni] != K_MOV) {
    G->mov = false;
    G->space = *space;
  }
  f->next[G->tail] = ni;
  f->next[ni] = UG_NONE;
  G->tail = ni;
  G->size++;
  f->grp[ni] = root;
  return true;
}

static void visit(fuse_t *f, uint32_t ni) {
  ug_graph_t *g = f->g;
  ug_dims_t *D = g->module->dims;
  const ug_node_t *n = &g->nodes.items[ni];
  kind_t k = f->kind[ni];
  if (k == K_CON) {
    /* a matmul or conv heads a kernel of its own; elementwise consumers may join */
    uint32_t r = new_group(f, ni, ug_value_type(g, ug_node_result(g, n, 0)), false);
    f->groups.items[r].con = true;
    return;
  }
  const ug_type_t *rt = ug_value_type(g, ug_node_result(g, n, 0));
  char why[400], s1[96], s2[96];
  if (k == K_MOV) {
    /* a movement node joins the movement nodes that make its operands (a
     * chain of index maps); a consumer's kernel takes them in later */
    uint32_t cand[8], nc = 0;
    for (uint32_t i = 0; i < n->num_operands; i++) {
      uint32_t p = g->values.items[ug_node_operand(g, n, i)].def;
      if (p == UG_NONE || f->grp[p] == UG_NONE) continue;
      uint32_t r = find(f, f->grp[p]);
      bool dup = false;
      for (uint32_t c = 0; c < nc; c++) dup = dup || cand[c] == r;
      if (!dup && nc < 8 && f->groups.items[r].mov) cand[nc++] = r;
    }
    if (nc > 0) {
      if (try_join(f, ni, cand, nc, false, rt, why, sizeof why)) return;
      reject(f, n, "%s", why);
    }
    uint32_t r = new_group(f, ni, rt, false);
    f->groups.items[r].mov = true;
    return;
  }
  const ug_type_t *sp = node_space(f, n);
  if (k == K_RED) {
    const char *bad = row_problem(sp, why, sizeof why);
    if (bad) {
      reject(f, n, "row kernel: %s", bad);
      return;
    }
  }
  /* candidates: the kernels of the operands' producers whose shapes admit
   * n, and the movement nodes that make its operands (index maps) */
  uint32_t cand[8], nc = 0;
  const ug_type_t *space = NULL; /* the first kernel's (not movement alone) */
  bool row = k == K_RED, con_taken = false, mov_taken = false;
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    uint32_t p = g->values.items[v].def;
    if (p == UG_NONE || f->grp[p] == UG_NONE) continue;
    uint32_t r = find(f, f->grp[p]);
    bool dup = false;
    for (uint32_t c = 0; c < nc; c++) dup = dup || cand[c] == r;
    if (dup || nc == 8) continue;
    group_t *G = &f->groups.items[r];
    if (G->mov) {
      cand[nc++] = r;
      mov_taken = true;
      continue;
    }
    if (G->con && k == K_RED) {
      reject(f, n, "a reduction does not join a %s's epilogue", ug_op_info(g->nodes.items[G->first].op)->name);
      continue;
    }
    if (G->con && con_taken) {
      reject(f, n, "joins the first of two contraction kernels");
      continue;
    }
    bool fits = k == K_RED ? same_dims(sp, &G->space)
                           : same_dims(rt, &G->space) || (is_per_row(rt, &G->space) && G->row);
    if (!fits) {
      shape_str(&G->space, D, s1, sizeof s1);
      shape_str(k == K_RED ? sp : rt, D, s2, sizeof s2);
      reject(f, n, "kernel over %s: %s %s is neither that nor one per row", s1,
             k == K_RED ? "reads" : "makes", s2);
      continue;
    }
    if (space && !same_dims(&G->space, space)) {
      shape_str(&G->space, D, s1, sizeof s1);
      reject(f, n, "kernel over %s: another kernel of a different shape joins here", s1);
      continue;
    }
    cand[nc++] = r;
    if (!space) space = &G->space;
    con_taken = con_taken || G->con;
    row = row || G->row;
  }
  if (con_taken && mov_taken) {
    /* the GPU computes an epilogue in the contraction's store: no index maps there */
    uint32_t kept = 0;
    for (uint32_t c = 0; c < nc; c++) {
      group_t *G = &f->groups.items[cand[c]];
      if (!G->mov) {
        cand[kept++] = cand[c];
        continue;
      }
      char d[256];
      reject(f, &g->nodes.items[G->first], "its consumer %s joins a %s's epilogue (epilogues take elementwise nodes only)",
             ug_node_describe(g, n, d, sizeof d), con_name(f, cand, nc));
    }
    nc = kept;
  }
  if (!space) space = sp;
  if (nc > 0) {
    if (try_join(f, ni, cand, nc, row, space, why, sizeof why)) return;
    bool joined = false;
    for (uint32_t c = 0; c < nc && nc > 1 && !joined; c++) {
      char w2[400];
      const group_t *G = &f->groups.items[cand[c]];
      joined = try_join(f, ni, &cand[c], 1, k == K_RED || G->row, G->mov ? sp : &G->space, w2, sizeof w2);
    }
    if (joined) return;
    reject(f, n, "%s", why);
  }
  /* n starts a kernel of its own */
  new_group(f, ni, sp, k == K_RED);
}

/* A movement node of kernel r leaves it, with the movement nodes of r that
 * feed it (so nothing outside reads the kernel and feeds it back); each is
 * reported. */
static void evict(fuse_t *f, uint32_t mi, uint32_t r, const char *why, const ug_node_t *by) {
  ug_graph_t *g = f->g;
  const ug_node_t *m = &g->nodes.items[mi];
  f->grp[mi] = UG_NONE;
  f->groups.items[r].size--;
  if (by) {
    char d[256];
    reject(f, m, "feeds %s, which stays out of the kernel", ug_node_describe(g, by, d, sizeof d));
  } else {
    reject(f, m, "%s", why);
  }
  for (uint32_t i = 0; i < m->num_operands; i++) {
    uint32_t p = g->values.items[ug_node_operand(g, m, i)].def;
    if (p != UG_NONE && f->grp[p] != UG_NONE && f->kind[p] == K_MOV && find(f, f->grp[p]) == r) evict(f, p, r, NULL, m);
  }
}

/* After grouping: a movement node whose result is also used outside its
 * kernel (or returned) stays in only when its result has the kernel's
 * shape and is not a reshape (the kernel then stores it: one pass makes
 * both); otherwise it leaves (the copy runs on its own, or a reshape stays
 * a free alias).  Kernels left with movement nodes alone are dissolved. */
static void settle_movement(fuse_t *f) {
  ug_graph_t *g = f->g;
  ug_uses_t uses;
  ug_uses_compute(g, &uses);
  for (uint32_t mi = 0; mi < f->nn; mi++) {
    if (f->grp[mi] == UG_NONE || f->kind[mi] != K_MOV) continue;
    uint32_t r = find(f, f->grp[mi]);
    const group_t *G = &f->groups.items[r];
    if (G->mov) continue;
    const ug_node_t *m = &g->nodes.items[mi];
    ug_value_id_t v = ug_node_result(g, m, 0);
    bool out = uses.output_uses[v] > 0;
    for (uint32_t u = uses.offsets[v]; u < uses.offsets[v + 1] && !out; u++)
      out = f->grp[uses.users[u]] == UG_NONE || find(f, f->grp[uses.users[u]]) != r;
    if (!out) continue;
    const ug_type_t *t = ug_value_type(g, v);
    if (!is_alias(m->op) && same_dims(t, &G->space)) continue;
    char why[400], s1[96], s2[96];
    if (is_alias(m->op)) {
      snprintf(why, sizeof why, "its result is also used outside the kernel (a %s stays a free alias of its operand)",
               ug_op_info(m->op)->name);
    } else {
      shape_str(t, g->module->dims, s1, sizeof s1);
      shape_str(&G->space, g->module->dims, s2, sizeof s2);
      snprintf(why, sizeof why, "its result %s is also used outside the kernel over %s and is not of its shape (it stays a copy)",
               s1, s2);
    }
    evict(f, mi, r, why, NULL);
  }
  ug_uses_free(&uses);
  /* kernels of movement nodes alone (the consumer left or never came) */
  uint32_t *work = calloc(f->groups.len + 1, sizeof *work);
  if (!work) return;
  for (uint32_t mi = 0; mi < f->nn; mi++)
    if (f->grp[mi] != UG_NONE && f->kind[mi] != K_MOV) work[find(f, f->grp[mi])] = 1;
  for (uint32_t mi = 0; mi < f->nn; mi++)
    if (f->grp[mi] != UG_NONE && !work[find(f, f->grp[mi])]) f->grp[mi] = UG_NONE;
  free(work);
}

/* Replaces node n's attributes by attrs[0..na) (appended to the pool). */
static void set_attrs(ug_graph_t *g, ug_node_t *n, const ug_attr_t *attrs, uint32_t na) {
  ug_arena_t *a = g->module->arena;
  uint32_t at = (uint32_t)g->attr_pool.len;
  for (uint32_t i = 0; i < na; i++) UG_VEC_PUSH(a, &g->attr_pool, attrs[i]);
  n->attrs = at;
  n->num_attrs = na;
}

/* Drops n's kernel attribute, or sets it to id when id != UG_NONE. */
static void tag(ug_graph_t *g, ug_node_t *n, uint32_t id) {
  ug_attr_t at[64];
  uint32_t na = 0;
  const ug_attr_t *old = ug_node_attrs(g, n);
  bool had = false;
  for (uint32_t i = 0; i < n->num_attrs && na < 63; i++) {
    if (old[i].key == UG_ATTR_KERNEL) had = true;
    else at[na++] = old[i];
  }
  if (id == UG_NONE && !had) return;
  if (id != UG_NONE) {
    ug_attr_t k = {.key = UG_ATTR_KERNEL};
    k.u.i = id;
    at[na++] = k;
  }
  set_attrs(g, n, at, na);
}

ug_status_t ug_pass_fuse(ug_pass_ctx_t *ctx, ug_graph_t *g) {
  fuse_t f = {.g = g, .rep = ug_pass_report(ctx), .nn = (uint32_t)g->nodes.len};
  size_t nn = f.nn + 1;
  f.kind = calloc(nn, sizeof *f.kind);
  f.grp = malloc(nn * sizeof *f.grp);
  f.next = malloc(nn * sizeof *f.next);
  f.mark = calloc(nn, sizeof *f.mark);
  f.seen = calloc(nn, sizeof *f.seen);
  f.stack = malloc(nn * sizeof *f.stack);
  if (!f.kind || !f.grp || !f.next || !f.mark || !f.seen || !f.stack) {
    free(f.kind), free(f.grp), free(f.next), free(f.mark), free(f.seen), free(f.stack);
    return ug_status_make(UG_ERR_NOMEM, g->name, "out of memory in fuse");
  }
  if (f.rep) fprintf(f.rep, "graph @%s\n", g->name ? g->name : "main");
  for (uint32_t i = 0; i < f.nn; i++) {
    ug_node_t *n = &g->nodes.items[i];
    f.grp[i] = f.next[i] = UG_NONE;
    if (n->dead) continue;
    tag(g, n, UG_NONE);
    const char *why;
    f.kind[i] = classify(g, n, &why);
    if (f.kind[i] != K_NONE) {
      visit(&f, i);
      continue;
    }
    if (!why) continue;
    /* report only nodes that a kernel's value flows into */
    for (uint32_t o = 0; o < n->num_operands; o++) {
      ug_value_id_t v = ug_node_operand(g, n, o);
      uint32_t p = v == UG_NONE ? UG_NONE : g->values.items[v].def;
      if (p != UG_NONE && f.grp[p] != UG_NONE) {
        reject(&f, n, "%s", why);
        break;
      }
    }
  }
  settle_movement(&f);
  /* number the kernels of two or more nodes in schedule order and tag them */
  uint32_t *id = malloc(sizeof(uint32_t) * (f.groups.len + 1));
  uint32_t nk = 0;
  long fused = 0;
  for (size_t i = 0; i < f.groups.len; i++) id[i] = UG_NONE;
  for (uint32_t i = 0; i < f.nn; i++) {
    if (f.grp[i] == UG_NONE) continue;
    uint32_t r = find(&f, f.grp[i]);
    group_t *G = &f.groups.items[r];
    if (G->size < 2) continue;
    if (id[r] == UG_NONE) {
      id[r] = nk++;
      if (f.rep) {
        char s1[96];
        shape_str(&G->space, g->module->dims, s1, sizeof s1);
        char kind[48];
        snprintf(kind, sizeof kind, "%s epilogue", ug_op_info(g->nodes.items[G->first].op)->name);
        fprintf(f.rep, "kernel %u: %s over %s, %u nodes:", id[r], G->con ? kind : G->row ? "row" : "elementwise", s1,
                G->size);
        for (uint32_t m = i; m < f.nn; m++)
          if (f.grp[m] != UG_NONE && find(&f, f.grp[m]) == r) fprintf(f.rep, " %s", ug_op_info(g->nodes.items[m].op)->name);
        fputc('\n', f.rep);
      }
    }
    tag(g, &g->nodes.items[i], id[r]);
    fused++;
  }
  ug_pass_stat(ctx, "kernels", nk);
  ug_pass_stat(ctx, "fused-nodes", fused);
  free(id);
  free(f.kind), free(f.grp), free(f.next), free(f.mark), free(f.seen), free(f.stack);
  return NULL;
}
