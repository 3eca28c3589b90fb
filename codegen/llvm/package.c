/* The model ABI tables as LLVM constants.  Every global is private; the only
 * symbol with default visibility is ugrt_model_query.  Tables are emitted in
 * plan order, so the same module gives the same bytes. */
#include "codegen/llvm/package.h"

#include <llvm-c/Target.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ugcc/ugcc.h"
#include "ugrt/model_abi.h"

typedef struct {
  ug_cg_t *cg;
  LLVMTypeRef t_dimexpr, t_tensor, t_entry, t_buffer, t_step, t_plan, t_target, t_header;
  unsigned counter;
} pk_t;

static LLVMValueRef global(pk_t *p, LLVMTypeRef ty, LLVMValueRef init, const char *prefix) {
  char name[64];
  snprintf(name, sizeof name, "ug.%s.%u", prefix, p->counter++);
  LLVMValueRef gv = LLVMAddGlobal(p->cg->mod, ty, name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

static LLVMValueRef null_ptr(pk_t *p) { return LLVMConstNull(p->cg->t_ptr); }

static LLVMValueRef cstr(pk_t *p, const char *s) {
  if (!s) return null_ptr(p);
  LLVMValueRef init = LLVMConstStringInContext2(p->cg->ctx, s, strlen(s), 0);
  return global(p, LLVMTypeOf(init), init, "str");
}

static LLVMValueRef u32(pk_t *p, uint32_t v) { return LLVMConstInt(p->cg->t_i32, v, 0); }
static LLVMValueRef i64(pk_t *p, int64_t v) { return LLVMConstInt(p->cg->t_i64, (unsigned long long)v, 1); }

/* A constant array global of n elements of ty, or NULL when n is 0. */
static LLVMValueRef array(pk_t *p, LLVMTypeRef ty, LLVMValueRef *vals, size_t n, const char *prefix) {
  if (n == 0) return null_ptr(p);
  LLVMValueRef init = LLVMConstArray2(ty, vals, n);
  return global(p, LLVMTypeOf(init), init, prefix);
}

static LLVMValueRef named(LLVMTypeRef ty, LLVMValueRef *f, unsigned n) { return LLVMConstNamedStruct(ty, f, n); }

static LLVMTypeRef mkstruct(pk_t *p, const char *name, LLVMTypeRef *f, unsigned n) {
  LLVMTypeRef t = LLVMStructCreateNamed(p->cg->ctx, name);
  LLVMStructSetBody(t, f, n, 0);
  return t;
}

#define CHECK_OFF(T, LT, i, field) UG_ASSERT(LLVMOffsetOfElement(td, LT, i) == offsetof(T, field))

static void make_types(pk_t *p, LLVMTargetMachineRef tm) {
  ug_cg_t *cg = p->cg;
  LLVMTypeRef I32 = cg->t_i32, I64 = cg->t_i64, P = cg->t_ptr;
  LLVMTypeRef dx[] = {I32, I32, I64, I64, P};
  p->t_dimexpr = mkstruct(p, "ugrt_abi_dimexpr_t", dx, 5);
  LLVMTypeRef te[] = {P, I32, I32, P};
  p->t_tensor = mkstruct(p, "ugrt_abi_tensor_t", te, 4);
  LLVMTypeRef en[] = {P, I32, I32, P, P};
  p->t_entry = mkstruct(p, "ugrt_abi_entry_t", en, 5);
  LLVMTypeRef bu[] = {I32, I32, I64, I64, I32, I32};
  p->t_buffer = mkstruct(p, "ugrt_abi_buffer_t", bu, 6);
  LLVMTypeRef st[] = {I32, I32, P, LLVMArrayType2(I64, 3), LLVMArrayType2(I32, 3), I32, I32};
  p->t_step = mkstruct(p, "ugrt_abi_step_t", st, 7);
  LLVMTypeRef pl[] = {I32, I32, P, P, P, P};
  p->t_plan = mkstruct(p, "ugrt_abi_plan_t", pl, 6);
  LLVMTypeRef ta[] = {I32, I32, P, P, P, P, I64, I32, I32, P};
  p->t_target = mkstruct(p, "ugrt_abi_target_t", ta, 10);
  LLVMTypeRef he[] = {I32, I32, I32, I32, P, I32, I32, I32, I32, P, P, P, P, I64, I64, P,
                      P, I64, I64, I64, I32, I32, P, P, I64};
  p->t_header = mkstruct(p, "ugrt_model_header_t", he, 25);

  /* The LLVM layouts must match the C structs the runtime reads. */
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  UG_ASSERT(LLVMABISizeOfType(td, p->t_dimexpr) == sizeof(ugrt_abi_dimexpr_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_tensor) == sizeof(ugrt_abi_tensor_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_entry) == sizeof(ugrt_abi_entry_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_buffer) == sizeof(ugrt_abi_buffer_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_step) == sizeof(ugrt_abi_step_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_plan) == sizeof(ugrt_abi_plan_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_target) == sizeof(ugrt_abi_target_t));
  UG_ASSERT(LLVMABISizeOfType(td, p->t_header) == sizeof(ugrt_model_header_t));
  CHECK_OFF(ugrt_abi_step_t, p->t_step, 3, grid);
  CHECK_OFF(ugrt_abi_step_t, p->t_step, 4, block);
  CHECK_OFF(ugrt_abi_step_t, p->t_step, 5, shared_bytes);
  CHECK_OFF(ugrt_abi_target_t, p->t_target, 6, image_size);
  CHECK_OFF(ugrt_abi_target_t, p->t_target, 9, plans);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 5, num_dim_exprs);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 9, dim_exprs);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 13, weights_size);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 15, weights_file);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 16, weights_tail);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 20, num_states);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 22, states);
  CHECK_OFF(ugrt_model_header_t, p->t_header, 24, metadata_size);
  LLVMDisposeTargetData(td);
}

static LLVMValueRef dim_table(pk_t *p, ug_module_t *m, uint32_t *out_n) {
  size_t n = m->dims ? ug_dims_count(m->dims) : 0;
  *out_n = (uint32_t)n;
  LLVMValueRef *v = calloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    const ug_dimexpr_t *e = ug_dim_expr(m->dims, ug_dim_from_index(i));
    bool sym = e->kind == UG_DX_SYM;
    LLVMValueRef f[] = {u32(p, (uint32_t)e->kind), u32(p, 0), i64(p, sym ? 0 : e->a), i64(p, sym ? 0 : e->b),
                        sym ? cstr(p, e->name) : null_ptr(p)};
    v[i] = named(p->t_dimexpr, f, 5);
  }
  LLVMValueRef r = array(p, p->t_dimexpr, v, n, "dims");
  free(v);
  return r;
}

static LLVMValueRef tensor_of_type(pk_t *p, const ug_type_t *t, const char *name) {
  LLVMValueRef dims[UG_MAX_RANK];
  for (int i = 0; i < t->rank; i++) dims[i] = i64(p, t->dims[i]);
  LLVMValueRef f[] = {cstr(p, name), u32(p, (uint32_t)t->dtype), u32(p, (uint32_t)t->rank),
                      array(p, p->cg->t_i64, dims, (size_t)t->rank, "shape")};
  return named(p->t_tensor, f, 4);
}

/* The entry of a plan: the graph's inputs and outputs that are not state. */
static LLVMValueRef entry(pk_t *p, const ug_plan_t *pl) {
  ug_graph_t *g = pl->g;
  size_t ni = pl->num_abi_inputs, no = pl->num_abi_outputs;
  LLVMValueRef *in = calloc(ni + 1, sizeof *in), *out = calloc(no + 1, sizeof *out);
  char buf[32];
  for (size_t i = 0; i < g->inputs.len; i++) {
    if (pl->input_abi[i] == UG_NONE) continue;
    const char *name = ug_value(g, g->inputs.items[i])->name;
    if (!name) snprintf(buf, sizeof buf, "input%zu", i), name = buf;
    in[pl->input_abi[i]] = tensor_of_type(p, ug_value_type(g, g->inputs.items[i]), name);
  }
  for (size_t i = 0; i < g->outputs.len; i++) {
    if (pl->output_abi[i] == UG_NONE) continue;
    const char *name = i < g->output_names.len ? g->output_names.items[i] : NULL;
    if (!name) name = ug_value(g, g->outputs.items[i])->name;
    if (!name) snprintf(buf, sizeof buf, "output%zu", i), name = buf;
    out[pl->output_abi[i]] = tensor_of_type(p, ug_value_type(g, g->outputs.items[i]), name);
  }
  LLVMValueRef f[] = {cstr(p, g->name), u32(p, (uint32_t)ni), u32(p, (uint32_t)no),
                      array(p, p->t_tensor, in, ni, "inputs"), array(p, p->t_tensor, out, no, "outputs")};
  free(in);
  free(out);
  return named(p->t_entry, f, 5);
}

/* The plan of pl; its steps launch kernel_of_step[s] (CPU) or launch[s] (GPU). */
static LLVMValueRef plan(pk_t *p, const ug_plan_t *pl, const uint32_t *kernel_of_step,
                         const ug_gpu_launch_t *launch) {
  ug_cg_t *cg = p->cg;
  size_t nb = pl->buffers.len, ns = pl->steps.len;
  LLVMValueRef *bv = calloc(nb + 1, sizeof *bv), *sv = calloc(ns + 1, sizeof *sv);
  for (size_t i = 0; i < nb; i++) {
    const ug_plan_buffer_t *b = &pl->buffers.items[i];
    bool arena = b->kind == UGRT_BUF_ARENA;
    LLVMValueRef f[] = {u32(p, b->kind), u32(p, b->index), i64(p, b->size),
                        LLVMConstInt(cg->t_i64, b->kind == UGRT_BUF_WEIGHT ? b->offset : UINT64_MAX, 0),
                        u32(p, arena ? b->first_step : 0), u32(p, arena ? b->last_step : 0)};
    bv[i] = named(p->t_buffer, f, 6);
  }
  for (size_t i = 0; i < ns; i++) {
    const ug_plan_step_t *s = &pl->steps.items[i];
    LLVMValueRef *args = calloc(s->num_args + 1, sizeof *args);
    for (uint32_t a = 0; a < s->num_args; a++) args[a] = u32(p, s->args[a]);
    ug_gpu_launch_t one = {.grid = {1, 1, 1}, .block = {1, 1, 1}};
    const ug_gpu_launch_t *l = launch ? &launch[i] : &one;
    LLVMValueRef grid[3] = {i64(p, l->grid[0]), i64(p, l->grid[1]), i64(p, l->grid[2])};
    LLVMValueRef block[3] = {u32(p, l->block[0]), u32(p, l->block[1]), u32(p, l->block[2])};
    LLVMValueRef f[] = {u32(p, launch ? l->kernel : kernel_of_step[i]), u32(p, s->num_args),
                        array(p, cg->t_i32, args, s->num_args, "args"),
                        LLVMConstArray2(cg->t_i64, grid, 3), LLVMConstArray2(cg->t_i32, block, 3),
                        u32(p, l->shared_bytes), u32(p, 0)};
    sv[i] = named(p->t_step, f, 7);
    free(args);
  }
  size_t ni = pl->num_abi_inputs, no = pl->num_abi_outputs;
  LLVMValueRef *iv = calloc(ni + 1, sizeof *iv), *ov = calloc(no + 1, sizeof *ov);
  for (size_t i = 0; i < pl->g->inputs.len; i++)
    if (pl->input_abi[i] != UG_NONE) iv[pl->input_abi[i]] = u32(p, pl->input_buffers[i]);
  for (size_t i = 0; i < pl->g->outputs.len; i++)
    if (pl->output_abi[i] != UG_NONE) ov[pl->output_abi[i]] = u32(p, pl->output_buffers[i]);
  LLVMValueRef f[] = {u32(p, (uint32_t)nb), u32(p, (uint32_t)ns), array(p, p->t_buffer, bv, nb, "buffers"),
                      array(p, p->t_step, sv, ns, "steps"), array(p, cg->t_i32, iv, ni, "inbufs"),
                      array(p, cg->t_i32, ov, no, "outbufs")};
  free(bv);
  free(sv);
  free(iv);
  free(ov);
  return named(p->t_plan, f, 6);
}

static LLVMValueRef weights_global(pk_t *p, const ug_package_desc_t *d) {
  ug_cg_t *cg = p->cg;
  uint64_t size = d->wl->size;
  if (size == 0 || d->place == UG_WEIGHTS_SIDE_FILE) return null_ptr(p);
  LLVMTypeRef ty = LLVMArrayType2(cg->t_i8, size);
  if (d->place == UG_WEIGHTS_INCBIN) {
    /* The bytes stay out of LLVM: codegen/llvm/driver.c appends them to the
     * object file as a section defining this hidden symbol. */
    LLVMValueRef gv = LLVMAddGlobal(cg->mod, ty, "ug.weights");
    LLVMSetLinkage(gv, LLVMExternalLinkage);
    LLVMSetVisibility(gv, LLVMHiddenVisibility);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetAlignment(gv, 64);
    return gv;
  }
  uint8_t *blob = malloc(size);
  if (!blob) return NULL;
  ug_weight_layout_fill(cg->m, d->wl, blob);
  LLVMValueRef init = LLVMConstStringInContext2(cg->ctx, (const char *)blob, size, 1);
  free(blob);
  LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), "ug.weights");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetAlignment(gv, 64);
  return gv;
}

/* The CPU target: each distinct kernel function once, in order of first use;
 * steps that share a kernel share its index. */
static LLVMValueRef cpu_target(pk_t *p, const ug_package_desc_t *d) {
  ug_cg_t *cg = p->cg;
  uint32_t total = 0;
  for (uint32_t i = 0; i < d->num_plans; i++) total += (uint32_t)d->plans[i].steps.len;
  LLVMValueRef *knames = calloc(total + 1, sizeof *knames), *kfns = calloc(total + 1, sizeof *kfns);
  LLVMValueRef *plans = calloc(d->num_plans + 1, sizeof *plans);
  uint32_t *kidx = NULL;
  uint32_t nk = 0;
  for (uint32_t i = 0; i < d->num_plans; i++) {
    const ug_plan_t *pl = &d->plans[i];
    kidx = realloc(kidx, (pl->steps.len + 1) * sizeof(uint32_t));
    for (size_t s = 0; s < pl->steps.len; s++) {
      LLVMValueRef fn = d->kernel_fns[i][s];
      uint32_t k = 0;
      while (k < nk && kfns[k] != fn) k++;
      if (k == nk) {
        kfns[nk] = fn;
        knames[nk++] = cstr(p, pl->steps.items[s].kernel_name);
      }
      kidx[s] = k;
    }
    plans[i] = plan(p, pl, kidx, NULL);
  }
  free(kidx);
  char tname[64];
  snprintf(tname, sizeof tname, "%s:%s", cg->target->name, cg->target->arch);
  LLVMValueRef tf[] = {u32(p, cg->target->abi_kind), u32(p, nk), cstr(p, tname),
                       array(p, cg->t_ptr, knames, nk, "knames"), array(p, cg->t_ptr, kfns, nk, "kfns"),
                       null_ptr(p), i64(p, 0), u32(p, 0), u32(p, 0),
                       array(p, p->t_plan, plans, d->num_plans, "plans")};
  free(knames);
  free(kfns);
  free(plans);
  return named(p->t_target, tf, 10);
}

/* The GPU targets, one per image, sharing the kernel names and plans. */
static void gpu_targets(pk_t *p, const ug_package_desc_t *d, LLVMValueRef *out) {
  ug_cg_t *cg = p->cg;
  const ug_package_gpu_t *gp = d->gpu;
  LLVMValueRef *knames = calloc(gp->num_kernels + 1, sizeof *knames);
  for (uint32_t k = 0; k < gp->num_kernels; k++) knames[k] = cstr(p, gp->kernel_names[k]);
  LLVMValueRef names = array(p, cg->t_ptr, knames, gp->num_kernels, "knames");
  free(knames);
  LLVMValueRef *plans = calloc(d->num_plans + 1, sizeof *plans);
  for (uint32_t i = 0; i < d->num_plans; i++) plans[i] = plan(p, &d->plans[i], NULL, gp->launch[i]);
  LLVMValueRef plan_arr = array(p, p->t_plan, plans, d->num_plans, "plans");
  free(plans);
  for (size_t i = 0; i < gp->num_images; i++) {
    const ug_package_image_t *im = &gp->images[i];
    LLVMValueRef init = LLVMConstStringInContext2(cg->ctx, im->data, im->size, 1);
    LLVMValueRef img = global(p, LLVMTypeOf(init), init, "image");
    LLVMSetAlignment(img, 64);
    LLVMValueRef tf[] = {u32(p, gp->abi_kind), u32(p, gp->num_kernels), cstr(p, im->name), names,
                         null_ptr(p), img, i64(p, (int64_t)im->size), u32(p, im->format), u32(p, im->arch),
                         plan_arr};
    out[i] = named(p->t_target, tf, 10);
  }
}

ug_status_t ug_llvm_package(ug_cg_t *cg, LLVMTargetMachineRef tm, const ug_package_desc_t *d) {
  pk_t p = {.cg = cg};
  make_types(&p, tm);
  ug_module_t *m = cg->m;

  LLVMValueRef *entries = calloc(d->num_plans + 1, sizeof *entries);
  for (uint32_t i = 0; i < d->num_plans; i++) entries[i] = entry(&p, &d->plans[i]);
  size_t nt = (d->kernel_fns ? 1 : 0) + (d->gpu ? d->gpu->num_images : 0);
  LLVMValueRef *targets = calloc(nt + 1, sizeof *targets);
  size_t t = 0;
  if (d->kernel_fns) targets[t++] = cpu_target(&p, d);
  if (d->gpu) gpu_targets(&p, d, targets + t);
  /* after the plans: GPU grids may have added dim expressions */
  uint32_t ndims;
  LLVMValueRef dims = dim_table(&p, m, &ndims);
  LLVMValueRef weights = weights_global(&p, d);
  if (!weights) {
    free(entries);
    free(targets);
    return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory for the weight blob");
  }
  ug_plan_state_t *states;
  uint32_t nstates;
  ug_status_t st = ug_plan_states(m, &states, &nstates);
  if (st) {
    free(entries);
    free(targets);
    return st;
  }
  LLVMValueRef *sv = calloc(nstates + 1, sizeof *sv);
  for (uint32_t i = 0; i < nstates; i++) sv[i] = tensor_of_type(&p, &states[i].type, states[i].name);
  LLVMValueRef state_arr = array(&p, p.t_tensor, sv, nstates, "states");
  free(sv);
  LLVMValueRef metadata = null_ptr(&p);
  if (m->metadata && m->metadata_size) {
    LLVMValueRef init = LLVMConstStringInContext2(cg->ctx, m->metadata, m->metadata_size, 1);
    metadata = global(&p, LLVMTypeOf(init), init, "metadata");
  }
  bool src = d->wl->source;
  LLVMValueRef hf[] = {u32(&p, UGRT_MODEL_MAGIC), u32(&p, UGRT_ABI_VERSION),
                       u32(&p, (uint32_t)sizeof(ugrt_model_header_t)), u32(&p, 0),
                       cstr(&p, "ugcc " UGCC_VERSION_STRING), u32(&p, ndims), u32(&p, d->num_plans),
                       u32(&p, (uint32_t)nt), u32(&p, 0), dims,
                       array(&p, p.t_entry, entries, d->num_plans, "entries"),
                       array(&p, p.t_target, targets, nt, "targets"), src ? null_ptr(&p) : weights,
                       LLVMConstInt(cg->t_i64, src ? m->source.size : d->wl->size, 0),
                       LLVMConstInt(cg->t_i64, src ? d->wl->source_hash : d->wl->hash, 0),
                       d->place == UG_WEIGHTS_SIDE_FILE || src ? cstr(&p, d->weights_file) : null_ptr(&p),
                       src ? weights : null_ptr(&p), LLVMConstInt(cg->t_i64, src ? d->wl->tail_offset : 0, 0),
                       LLVMConstInt(cg->t_i64, src ? d->wl->size : 0, 0),
                       LLVMConstInt(cg->t_i64, src ? d->wl->hash : 0, 0), u32(&p, nstates), u32(&p, 0),
                       state_arr, metadata, LLVMConstInt(cg->t_i64, m->metadata ? m->metadata_size : 0, 0)};
  LLVMValueRef header = global(&p, p.t_header, named(p.t_header, hf, 25), "header");
  LLVMSetUnnamedAddress(header, LLVMNoUnnamedAddr);
  LLVMSetAlignment(header, 16);
  free(entries);
  free(targets);

  /* const ugrt_model_header_t *ugrt_model_query(uint32_t abi_version) */
  LLVMTypeRef qty = LLVMFunctionType(cg->t_ptr, &cg->t_i32, 1, 0);
  LLVMValueRef q = LLVMAddFunction(cg->mod, UGRT_MODEL_QUERY_SYMBOL, qty);
  LLVMSetLinkage(q, LLVMExternalLinkage);
  LLVMSetVisibility(q, LLVMDefaultVisibility);
  LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(cg->ctx, q, "entry");
  LLVMPositionBuilderAtEnd(cg->b, bb);
  LLVMValueRef ok = LLVMBuildICmp(cg->b, LLVMIntEQ, LLVMGetParam(q, 0), u32(&p, UGRT_ABI_VERSION), "");
  LLVMBuildRet(cg->b, LLVMBuildSelect(cg->b, ok, header, null_ptr(&p), ""));
  return NULL;
}
