/* Kernel construction for each plan step: through the kernel IR where
 * codegen/kir_lower.c lowers the step (kir.c emits it), else dispatch to the
 * op families. */
#include "codegen/llvm/lower.h"

#include "codegen/kir_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int64_t *ug_cg_attr_ints(ug_graph_t *g, const ug_node_t *n, ug_attr_key_t k, uint32_t *out_n) {
  const ug_attr_t *a = ug_node_attr(g, n, k);
  if (!a) {
    *out_n = 0;
    return NULL;
  }
  *out_n = a->u.ints.n;
  return a->u.ints.v;
}

void ug_cg_memcpy(ug_cg_t *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n) {
  LLVMBuildMemCpy(cg->b, dst, 1, src, 1, n);
}

/* Where the per-node kernels take block-quantized data: linear's weight,
 * gather's table and result (whole rows copied as bytes), the operand of
 * cast (dequantization) and of shape_of. */
static bool quant_allowed(const ug_node_t *n, bool result, uint32_t i) {
  switch (n->op) {
  case UG_OP_LINEAR: return !result && i == 1;
  case UG_OP_GATHER: return i == 0;
  case UG_OP_CAST: case UG_OP_SHAPE_OF: return !result && i == 0;
  default: return false;
  }
}

/* Whether the cpu backend computes every dtype of node n; with quant, also
 * block-quantized values where quant_allowed says so (the kernels check
 * the rest).  *bad names the first dtype that is not. */
static bool types_ok(ug_graph_t *g, const ug_node_t *n, bool quant, char *bad, size_t size) {
  for (uint32_t i = 0; i < n->num_operands + n->num_results; i++) {
    bool result = i >= n->num_operands;
    uint32_t j = result ? i - n->num_operands : i;
    ug_value_id_t v = result ? ug_node_result(g, n, j) : ug_node_operand(g, n, j);
    if (v == UG_NONE) continue;
    ug_dtype_t dt = ug_value_type(g, v)->dtype;
    if (ug_cg_dtype_supported(dt) || (quant && ug_dtype_is_quant(dt) && quant_allowed(n, result, j))) continue;
    snprintf(bad, size, "%s", ug_dtype_name(dt));
    return false;
  }
  return true;
}

static ug_status_t lower_node(ug_cg_t *cg, ug_graph_t *g, const ug_plan_step_t *s, LLVMValueRef *args) {
  const ug_node_t *n = ug_node(g, s->node);
  char bad[32];
  if (!types_ok(g, n, true, bad, sizeof bad))
    return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "dtype %s is not supported by the cpu backend", bad);
  ug_cg_kernel_t k = {.g = g, .n = n, .num_in = n->num_operands, .num_out = n->num_results,
                      .num_scratch = s->num_scratch};
  k.in = calloc(n->num_operands + 1, sizeof(ug_cg_tensor_t));
  k.out = calloc(n->num_results + 1, sizeof(ug_cg_tensor_t));
  uint32_t a = 0;
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v == UG_NONE) {
      k.in[i].ptr = NULL;
      continue;
    }
    ug_cg_tensor_init(cg, &k.in[i], ug_value_type(g, v), args[a++]);
  }
  for (uint32_t i = 0; i < n->num_results; i++)
    ug_cg_tensor_init(cg, &k.out[i], ug_value_type(g, ug_node_result(g, n, i)), args[a++]);
  for (uint32_t i = 0; i < s->num_scratch && i < 4; i++) k.scratch[i] = args[a++];

  ug_status_t st;
  switch (ug_op_info(n->op)->category) {
  case UG_CAT_EW:
    st = n->op == UG_OP_CAST && ug_dtype_is_quant(k.in[0].dtype) ? ug_cg_lower_dequant(cg, &k) : ug_cg_lower_ew(cg, &k);
    break;
  case UG_CAT_RED:
    if (n->op == UG_OP_MAX_POOL || n->op == UG_OP_AVG_POOL || n->op == UG_OP_LRN)
      st = ug_cg_lower_pool(cg, &k);
    else
      st = ug_cg_lower_reduce(cg, &k);
    break;
  case UG_CAT_CON: st = ug_cg_lower_contract(cg, &k); break;
  case UG_CAT_MOV:
    if (n->op == UG_OP_GATHER || n->op == UG_OP_GATHER_ELEMENTS || n->op == UG_OP_GATHER_ND ||
        n->op == UG_OP_SCATTER_ELEMENTS || n->op == UG_OP_SCATTER_ND || n->op == UG_OP_RESIZE)
      st = ug_cg_lower_gather(cg, &k);
    else
      st = ug_cg_lower_movement(cg, &k);
    break;
  case UG_CAT_OPQ: st = ug_cg_lower_movement(cg, &k); break;
  default: st = ug_node_error(g, n, UG_ERR_UNSUPPORTED, "no cpu lowering"); break;
  }
  free(k.in);
  free(k.out);
  return st;
}

/* ---- kernel sharing ----
 * Two steps whose kernels would be identical (same op, attributes, operand
 * and result types, scratch) share one function: a model with 12 equal
 * transformer layers compiles each kernel once. */

typedef struct {
  uint64_t hash;
  char *key;
  LLVMValueRef fn;
} kentry_t;

struct ug_cg_kcache {
  kentry_t *items;
  size_t len, cap;
};

void ug_cg_kcache_free(struct ug_cg_kcache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->len; i++) free(c->items[i].key);
  free(c->items);
  free(c);
}

static void put_type(FILE *f, const ug_type_t *t) {
  fprintf(f, "%d[", (int)t->dtype);
  for (int i = 0; i < t->rank; i++) fprintf(f, "%lld,", (long long)t->dims[i]);
  fputc(']', f);
}

/* A text key describing everything a step's kernel depends on. */
static char *step_key(ug_graph_t *g, const ug_plan_step_t *s) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  if (s->kind == UG_STEP_COPY) {
    fprintf(f, "copy %lld", (long long)s->copy_bytes);
  } else {
    const ug_node_t *n = ug_node(g, s->node);
    fprintf(f, "%d s%u|", (int)n->op, s->num_scratch);
    for (uint32_t i = 0; i < n->num_operands; i++) {
      ug_value_id_t v = ug_node_operand(g, n, i);
      if (v == UG_NONE) fputc('_', f);
      else put_type(f, ug_value_type(g, v));
    }
    fputc('|', f);
    for (uint32_t i = 0; i < n->num_results; i++) put_type(f, ug_value_type(g, ug_node_result(g, n, i)));
    const ug_attr_t *at = ug_node_attrs(g, n);
    for (uint32_t i = 0; i < n->num_attrs; i++) {
      const ug_attr_t *a = &at[i];
      fprintf(f, "|%d=", (int)a->key);
      switch (ug_attr_kind(a->key)) {
      case UG_AK_INT: fprintf(f, "%lld", (long long)a->u.i); break;
      case UG_AK_FLOAT: fprintf(f, "%a", a->u.f); break;
      case UG_AK_STRING: fprintf(f, "%zu:%s", strlen(a->u.s), a->u.s); break;
      case UG_AK_DTYPE: fprintf(f, "%d", (int)a->u.dtype); break;
      case UG_AK_INTS:
        for (uint32_t j = 0; j < a->u.ints.n; j++) fprintf(f, "%lld,", (long long)a->u.ints.v[j]);
        break;
      case UG_AK_FLOATS:
        for (uint32_t j = 0; j < a->u.floats.n; j++) fprintf(f, "%a,", a->u.floats.v[j]);
        break;
      }
    }
  }
  fclose(f);
  return text;
}

/* The key of a step emitted from kernel IR: the kernel's text with its
 * name, value names and locations left out, so steps whose kernels differ
 * only in the names of the nodes they came from share one function. */
static char *kir_key(ug_kir_kernel_t *kk, const ug_plan_step_t *s) {
  char *text = NULL;
  size_t len = 0;
  const char **saved = malloc((kk->ops.len + kk->values.len + 1) * sizeof *saved);
  if (!saved) return NULL;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    free(saved);
    return NULL;
  }
  const char *name = kk->name;
  kk->name = "k";
  for (size_t i = 0; i < kk->ops.len; i++) saved[i] = kk->ops.items[i].loc, kk->ops.items[i].loc = NULL;
  for (size_t i = 0; i < kk->values.len; i++)
    saved[kk->ops.len + i] = kk->values.items[i].name, kk->values.items[i].name = NULL;
  fprintf(f, "kir %u|", s->num_args);
  ug_kir_print_kernel(kk, f);
  fclose(f);
  kk->name = name;
  for (size_t i = 0; i < kk->ops.len; i++) kk->ops.items[i].loc = saved[i];
  for (size_t i = 0; i < kk->values.len; i++) kk->values.items[i].name = saved[kk->ops.len + i];
  free(saved);
  return text;
}

/* The step's kernel-IR kernel when kir_lower.c lowers it and its dtypes
 * are the CPU's (*out NULL otherwise: the per-node path, which reports
 * dtypes it does not support). */
static ug_status_t lower_to_kir(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s,
                                bool prefer_kir, ug_kir_kernel_t **out) {
  *out = NULL;
  if (s->kind != UG_STEP_NODE) return NULL;
  char bad[32];
  if (!types_ok(p->g, ug_node(p->g, s->node), false, bad, sizeof bad)) return NULL;
  ug_kir_kernel_t *kk = NULL;
  /* a matmul or conv (with its epilogue) the contraction lowering takes:
   * the plan gave it no scratch (ug_cg_contract_scratch), so it must lower */
  ug_op_t hop = ug_node(p->g, s->nodes[0])->op;
  if (ug_kir_contract_op(hop)) {
    ug_status_t cs = ug_kir_contract_check(p->g, s->nodes, s->num_nodes);
    if (!cs) return ug_kir_lower_contract(km, p, s, &ug_kir_cpu_mm_tiles, out);
    ug_status_free(cs);
    return NULL;
  }
  if (!prefer_kir && ug_kir_cpu_skip(p->g, s)) return NULL;
  ug_status_t st = ug_kir_lower_step(km, p, s, &kk);
  if (st && ug_status_code(st) == UG_ERR_UNSUPPORTED && !kk) {
    ug_status_free(st);
    return NULL;
  }
  if (st) return st;
  *out = kk;
  return NULL;
}

/* A fused kernel headed by a contraction (plan.h): the matmul or conv writes its
 * result to the arg holding it or to the last scratch buffer, then the
 * epilogue (kir_lower.h ug_kir_lower_epilogue) runs over that buffer. */
typedef struct {
  ug_kir_kernel_t *epi;
  const ug_value_id_t *vals; /* the epilogue's parameters */
  uint32_t n;
  int32_t *arg;              /* per parameter: the step arg, -1 for the head's result */
  int32_t head_arg;          /* the arg of the head's result */
} con_kernel_t;

static ug_status_t plan_con_kernel(ug_kir_module_t *km, const ug_plan_t *p, const ug_plan_step_t *s, con_kernel_t *c) {
  ug_graph_t *g = p->g;
  const ug_node_t *head = ug_node(g, s->nodes[0]);
  ug_value_id_t hr = ug_node_result(g, head, 0);
  UG_RETURN_IF_ERROR(ug_kir_lower_epilogue(km, p, s, &c->epi, &c->vals, &c->n));
  c->head_arg = -1;
  for (uint32_t a = 0; a < s->num_args; a++)
    if (s->arg_values[a] == hr) c->head_arg = (int32_t)a;
  if (c->head_arg < 0) {
    if (s->num_scratch == 0) return ug_node_error(g, head, UG_ERR_INTERNAL, "fused contraction without a result buffer");
    c->head_arg = (int32_t)s->num_args - 1;
  }
  c->arg = ug_arena_alloc(p->g->module->arena, sizeof(int32_t) * (c->n + 1));
  for (uint32_t i = 0; i < c->n; i++) {
    c->arg[i] = c->vals[i] == hr ? c->head_arg : -2;
    for (uint32_t a = 0; a < s->num_args - s->num_scratch && c->arg[i] == -2; a++)
      if (s->arg_values[a] == c->vals[i]) c->arg[i] = (int32_t)a;
    if (c->arg[i] == -2) return ug_node_error(g, head, UG_ERR_INTERNAL, "epilogue operand without a buffer");
  }
  return NULL;
}

static ug_status_t lower_con_kernel(ug_cg_t *cg, const ug_plan_t *p, const ug_plan_step_t *s, const con_kernel_t *c,
                                    LLVMValueRef *args) {
  ug_graph_t *g = p->g;
  const ug_node_t *n = ug_node(g, s->nodes[0]);
  char bad[32];
  if (!types_ok(g, n, false, bad, sizeof bad))
    return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "dtype %s is not supported by the cpu backend", bad);
  /* the operands: matmul's a and b, conv's x, w and optional bias */
  ug_cg_tensor_t in[3] = {{0}}, out[1];
  if (n->num_operands > 3) return ug_node_error(g, n, UG_ERR_INTERNAL, "fused contraction of more than 3 operands");
  ug_cg_kernel_t k = {.g = g, .n = n, .num_in = n->num_operands, .num_out = 1, .in = in, .out = out};
  for (uint32_t i = 0; i < n->num_operands; i++) {
    ug_value_id_t v = ug_node_operand(g, n, i);
    if (v == UG_NONE) continue;
    uint32_t a = 0;
    while (a < s->num_args && s->arg_values[a] != v) a++;
    if (a == s->num_args) return ug_node_error(g, n, UG_ERR_INTERNAL, "fused contraction operand without a buffer");
    ug_cg_tensor_init(cg, &in[i], ug_value_type(g, v), args[a]);
  }
  ug_cg_tensor_init(cg, &out[0], ug_value_type(g, ug_node_result(g, n, 0)), args[c->head_arg]);
  uint32_t first_scratch = s->num_args - s->num_scratch;
  for (uint32_t i = 0; first_scratch + i < s->num_args && i < 4; i++)
    if ((int32_t)(first_scratch + i) != c->head_arg) k.scratch[k.num_scratch++] = args[first_scratch + i];
  UG_RETURN_IF_ERROR(ug_cg_lower_contract(cg, &k));
  LLVMValueRef eargs[64];
  if (c->n > 64) return ug_node_error(g, n, UG_ERR_UNSUPPORTED, "an epilogue of more than 64 operands");
  for (uint32_t i = 0; i < c->n; i++) eargs[i] = args[c->arg[i]];
  return ug_cg_emit_kir(cg, c->epi, eargs, c->n);
}

static char *con_key(const ug_plan_t *p, const ug_plan_step_t *s, const con_kernel_t *c) {
  char *head = step_key(p->g, s), *epi = kir_key(c->epi, s), *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f && head && epi) {
    fprintf(f, "con %s|%d|", head, c->head_arg);
    for (uint32_t i = 0; i < c->n; i++) fprintf(f, "%d,", c->arg[i]);
    fprintf(f, "|%s", epi);
  }
  if (f) fclose(f);
  free(head);
  free(epi);
  if (!head || !epi) {
    free(text);
    return NULL;
  }
  return text;
}

static uint64_t key_hash(const char *k) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *k; k++) h = (h ^ (uint8_t)*k) * 0x100000001b3ull;
  return h;
}

static LLVMValueRef kcache_find(ug_cg_t *cg, uint64_t h, const char *key) {
  struct ug_cg_kcache *c = cg->kcache;
  if (!c) return NULL;
  for (size_t i = 0; i < c->len; i++)
    if (c->items[i].hash == h && strcmp(c->items[i].key, key) == 0) return c->items[i].fn;
  return NULL;
}

static void kcache_add(ug_cg_t *cg, uint64_t h, char *key, LLVMValueRef fn) {
  if (!cg->kcache) cg->kcache = calloc(1, sizeof *cg->kcache);
  struct ug_cg_kcache *c = cg->kcache;
  if (c->len == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    c->items = realloc(c->items, c->cap * sizeof *c->items);
  }
  c->items[c->len++] = (kentry_t){h, key, fn};
}

ug_status_t ug_cg_lower_plan(ug_cg_t *cg, const ug_plan_t *p, LLVMValueRef *out_fns) {
  /* kernels of the graph module's arena, freed with it */
  ug_kir_module_t *km = ug_kir_module_create(cg->m);
  for (size_t si = 0; si < p->steps.len; si++) {
    const ug_plan_step_t *s = &p->steps.items[si];
    ug_kir_kernel_t *kk = NULL;
    con_kernel_t con = {0};
    bool fused_con = s->kind == UG_STEP_NODE && s->num_nodes > 1 &&
                     ug_op_info(ug_node(p->g, s->nodes[0])->op)->category == UG_CAT_CON;
    ug_op_t hop = s->kind == UG_STEP_NODE ? ug_node(p->g, s->nodes[0])->op : UG_OP_MATMUL;
    if (!fused_con || ug_kir_contract_op(hop)) UG_RETURN_IF_ERROR(lower_to_kir(km, p, s, cg->prefer_kir, &kk));
    if (kk) fused_con = false;
    if (fused_con) UG_RETURN_IF_ERROR(plan_con_kernel(km, p, s, &con));
    if (!fused_con && !kk && s->kind == UG_STEP_NODE && s->num_nodes > 1)
      return ug_node_error(p->g, ug_node(p->g, s->node), UG_ERR_INTERNAL,
                           "a fused kernel the kernel-IR lowering does not take (dtype?)");
    char *key = fused_con ? con_key(p, s, &con) : kk ? kir_key(kk, s) : step_key(p->g, s);
    /* args sharing a buffer (an in-place step, codegen/plan.h) are one
     * pointer in the body: the kernel is only for steps that share alike */
    uint64_t shared_args = 0;
    for (uint32_t a = 0; a < s->num_args && a < 64; a++)
      if (ug_plan_arg_alias(s, a) != UG_NONE) shared_args |= 1ull << a;
    if (key && shared_args) {
      size_t kl = strlen(key);
      char *k2 = realloc(key, kl + 40);
      if (k2) snprintf(k2 + kl, 40, "|shared %llx", (unsigned long long)shared_args);
      else free(key); /* no key: the kernel is not shared */
      key = k2;
    }
    uint64_t h = key ? key_hash(key) : 0;
    LLVMValueRef shared = key ? kcache_find(cg, h, key) : NULL;
    if (shared) {
      out_fns[si] = shared;
      free(key);
      continue;
    }
    LLVMValueRef args[64];
    LLVMValueRef *argv = s->num_args <= 64 ? args : malloc(sizeof(LLVMValueRef) * s->num_args);
    if (s->kind == UG_STEP_NODE && ug_node(p->g, s->node)->op == UG_OP_SCATTER_ND) {
      /* the memory planner may give the result its data operand's buffer
       * (a session state updated in place): args 0 and the result may alias */
      const ug_node_t *n = ug_node(p->g, s->node);
      uint32_t r = 0;
      for (uint32_t i = 0; i < n->num_operands; i++) r += ug_node_operand(p->g, n, i) != UG_NONE;
      cg->may_alias = 1u | (r < 64 ? 1ull << r : 0);
    }
    out_fns[si] = ug_cg_kernel_begin(cg, s->kernel_name, s->num_args, argv);
    /* every access to a shared buffer goes through its first arg, so the
     * noalias parameters stay true and the loops still vectorize */
    for (uint32_t a = 0; a < s->num_args; a++)
      if (ug_plan_arg_alias(s, a) != UG_NONE) argv[a] = argv[ug_plan_arg_alias(s, a)];
    ug_status_t st = NULL;
    if (s->kind == UG_STEP_COPY) {
      ug_cg_memcpy(cg, argv[1], argv[0], ug_cg_dim(cg, s->copy_bytes));
    } else if (fused_con) {
      st = lower_con_kernel(cg, p, s, &con, argv);
    } else if (kk) {
      st = ug_cg_emit_kir(cg, kk, argv, s->num_args);
    } else {
      st = lower_node(cg, p->g, s, argv);
    }
    if (argv != args) free(argv);
    if (st) {
      /* leave a well-formed function behind; the module is discarded */
      ug_cg_kernel_end(cg);
      free(key);
      return st;
    }
    ug_cg_kernel_end(cg);
    if (key) kcache_add(cg, h, key, out_fns[si]);
  }
  return NULL;
}
