/* --emit=kir and the dump's kernel-IR file: every step of every plan lowered
 * to the kernel IR, printed; steps the lowering does not take yet appear as
 * a comment naming the step, its op and why; a fused conv appears as its
 * epilogue's kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/kir_lower.h"
#include "codegen/kir_pipeline.h"
#include "codegen/kir_text.h"

/* Which kinds of target a --target list names: "cuda[:archs]" is CUDA,
 * any other name a CPU (no list: the CPU). */
typedef struct {
  bool cpu, cuda;
} kinds_t;

static kinds_t target_kinds(const char *list) {
  kinds_t k = {false, false};
  if (!list || !*list) list = "cpu";
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    while (n > 0 && *p == ' ') p++, n--;
    if (n >= 4 && strncmp(p, "cuda", 4) == 0) k.cuda = true;
    else if (n > 0 && strncmp(p, "sm_", 3) != 0 && strncmp(p, "compute_", 8) != 0) k.cpu = true;
    p += n;
    if (*p == ',') p++;
  }
  if (!k.cpu && !k.cuda) k.cpu = true;
  return k;
}

ug_status_t ug_codegen_kir_text(ug_module_t *m, const char *targets, bool pipelined, bool prefer_kir,
                                char **out_text) {
  *out_text = NULL;
  kinds_t tg = target_kinds(targets);
  ug_weight_layout_t wl;
  UG_RETURN_IF_ERROR(ug_weight_layout_build(m, &wl));
  ug_kir_module_t *km = ug_kir_module_create(m);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f || !km) {
    if (f) fclose(f);
    free(text);
    return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  }
  ug_status_t st = NULL;
  for (size_t gi = 0; gi < m->graphs.len && !st; gi++) {
    ug_plan_t p;
    /* scratch buffers are the CPU's business: the lowering does not use them */
    st = ug_plan_build(m, m->graphs.items[gi], (uint32_t)gi, &wl, NULL, &p);
    if (st) break;
    fprintf(f, "// graph @%s: %zu steps\n", p.g->name, p.steps.len);
    for (size_t si = 0; si < p.steps.len && !st; si++) {
      const ug_plan_step_t *s = &p.steps.items[si];
      ug_kir_kernel_t *kk;
      const ug_node_t *head = s->kind == UG_STEP_NODE ? &p.g->nodes.items[s->node] : NULL;
      if (head && ug_kir_contract_op(head->op)) {
        /* each target's kernel: the tensor-core one (software-pipelined
         * when asked), the CPU's plain form */
        ug_status_t ls = NULL;
        for (int t = 0; t < 2 && !ls; t++) {
          if (!(t == 0 ? tg.cuda : tg.cpu)) continue;
          ug_kir_mm_tiles_t gt = ug_kir_gpu_contract_tiles(p.g, head);
          const ug_kir_mm_tiles_t *tl = t == 1 ? &ug_kir_cpu_mm_tiles : &gt;
          const char *skip = t == 0 ? ug_kir_gpu_contract_skip(p.g, head, &gt) : NULL;
          if (skip) { /* what CUDA runs is its own kernel (contract.c, conv.c) */
            fprintf(f, "// step %zu @%s: not lowered to kernel IR for CUDA: %s\n\n", si, s->kernel_name, skip);
            continue;
          }
          ls = ug_kir_lower_contract(km, &p, s, tl, &kk);
          if (!ls && t == 0 && pipelined) ls = ug_kir_software_pipeline(kk, &ug_kir_gpu_swp_model, &kk, NULL);
          if (ls) break;
          fprintf(f, "// step %zu @%s: %s%s, lowered for %s\n", si, s->kernel_name, ug_op_info(head->op)->name,
                  s->num_nodes > 1 ? " with its epilogue" : "", t == 0 ? "tensor cores (CUDA)" : "the CPU");
          ug_kir_print_kernel(kk, f);
          fputc('\n', f);
        }
        if (!ls) continue;
        if (ug_status_code(ls) != UG_ERR_UNSUPPORTED) {
          st = ls;
          break;
        }
        fprintf(f, "// step %zu @%s: %s\n", si, s->kernel_name, ug_status_message(ls));
        ug_status_free(ls);
      }
      if (head && s->num_nodes > 1 && ug_op_info(head->op)->category == UG_CAT_CON) {
        /* a matmul with its epilogue: the matmul is a family kernel; its
         * epilogue has kernel IR of its own */
        const ug_value_id_t *vals;
        uint32_t n;
        st = ug_kir_lower_epilogue(km, &p, s, &kk, &vals, &n);
        if (st) break;
        fprintf(f, "// step %zu @%s: %s with its epilogue; the epilogue's kernel IR (the CPU runs it after the %s,\n"
                   "// CUDA computes it in the %s's store):\n",
                si, s->kernel_name, ug_op_info(head->op)->name, ug_op_info(head->op)->name, ug_op_info(head->op)->name);
        ug_kir_print_kernel(kk, f);
        fputc('\n', f);
        continue;
      }
      /* what the CPU runs instead of a kernel the lowering would make */
      const char *cskip = tg.cpu && !prefer_kir ? ug_kir_cpu_skip(p.g, s) : NULL;
      const char *gskip = tg.cuda && !prefer_kir ? ug_kir_cuda_skip(p.g, s) : NULL;
      if (cskip) fprintf(f, "// step %zu @%s: not lowered to kernel IR for the CPU: %s\n", si, s->kernel_name, cskip);
      /* a CUDA skip still shows the lowering's kernel, which CUDA does not run */
      if (gskip) fprintf(f, "// step %zu @%s: CUDA runs the per-node kernel instead of this one: %s\n", si, s->kernel_name, gskip);
      if (cskip && !tg.cuda) {
        fputc('\n', f);
        continue;
      }
      ug_status_t ls = ug_kir_lower_step(km, &p, s, &kk);
      if (ls && !kk && ug_status_code(ls) == UG_ERR_UNSUPPORTED) {
        fprintf(f, "// step %zu @%s: %s\n\n", si, s->kernel_name, ug_status_message(ls));
        ug_status_free(ls);
        continue;
      }
      st = ls;
      if (!st) {
        ug_kir_print_kernel(kk, f);
        fputc('\n', f);
      }
    }
  }
  fclose(f);
  if (st) {
    free(text);
    return st;
  }
  *out_text = text;
  return NULL;
}
