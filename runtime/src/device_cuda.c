/* The CUDA device: the driver opened with dlopen (cuda_driver.c), the
 * device's primary context, the model's code image loaded as a module,
 * weights uploaded once per model, device memory for sessions, and a stream
 * per session.  Running a plan is in cuda_exec.c.
 *
 * Target choice, for a device of compute capability sm (e.g. 90): a cubin
 * whose arch equals sm (arch-specific cubins such as sm_90a run only on
 * exactly that capability), else a PTX image whose arch is at most sm (the
 * driver compiles it), newest first.  When loading one fails the next
 * candidate is tried. */
#include <stdio.h>
#include <string.h>

#include "cuda_device.h"

#define IMAGE_CUBIN 1
#define IMAGE_PTX 2
/* Dynamic shared memory beyond this needs an opt-in per function. */
#define DEFAULT_MAX_SHARED (48u * 1024u)
#define MAX_CANDIDATES 64
#define JIT_LOG_BYTES 1024

#define CU(st, a, call, api) ugrt__cuda_status(&(st)->drv, (a), (st)->drv.call, (api))

ugrt_status_t ugrt__cuda_enter(cuda_state_t *st, const ugrt_allocator_t *a) {
  return CU(st, a, ctx_push(st->ctx), "cuCtxPushCurrent");
}

void ugrt__cuda_leave(cuda_state_t *st) {
  cu_context_t prev;
  st->drv.ctx_pop(&prev);
}

/* ---- model: target choice and code ---- */

/* The candidate targets for st->sm, best first; returns their number. */
static uint32_t candidates(const cuda_state_t *st, const ugrt_model_header_t *h,
                           const ugrt_abi_target_t **out) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < h->num_targets && n < MAX_CANDIDATES; i++) {
    const ugrt_abi_target_t *t = &h->targets[i];
    if (t->kind == UGRT_TARGET_CUDA && t->image_format == IMAGE_CUBIN && (int)t->arch == st->sm)
      out[n++] = t;
  }
  uint32_t first_ptx = n;
  for (uint32_t i = 0; i < h->num_targets && n < MAX_CANDIDATES; i++) {
    const ugrt_abi_target_t *t = &h->targets[i];
    if (t->kind != UGRT_TARGET_CUDA || t->image_format != IMAGE_PTX || (int)t->arch > st->sm)
      continue;
    uint32_t k = n++; /* insertion by decreasing arch, stable */
    while (k > first_ptx && out[k - 1]->arch < t->arch) {
      out[k] = out[k - 1];
      k--;
    }
    out[k] = t;
  }
  return n;
}

static void unload(cuda_state_t *st, const ugrt_allocator_t *a) {
  if (st->mod) st->drv.module_unload(st->mod);
  st->mod = NULL;
  ugrt__free(a, st->funcs);
  st->funcs = NULL;
  st->target = NULL;
}

/* Loads target t's image and looks up every kernel; the context is current. */
static ugrt_status_t load_target(cuda_state_t *st, const ugrt_allocator_t *a,
                                 const ugrt_model_header_t *h, const ugrt_abi_target_t *t) {
  if (!t->image || t->image_size == 0)
    return ugrt__status(a, UGRT_INVALID_MODEL, "cuda target \"%s\" has no code image", t->name);
  const void *image = t->image;
  char *copy = NULL;
  const char *bytes = t->image;
  if (t->image_format == IMAGE_PTX && bytes[t->image_size - 1] != 0) {
    /* The driver reads PTX as a NUL-terminated string. */
    if (t->image_size > SIZE_MAX - 1 || !(copy = ugrt__alloc(a, (size_t)t->image_size + 1, 1)))
      return ugrt__status_oom();
    memcpy(copy, bytes, (size_t)t->image_size);
    copy[t->image_size] = 0;
    image = copy;
  }
  /* The JIT's error log says why PTX did not compile; it goes into the
   * message. */
  char log[JIT_LOG_BYTES] = "";
  int options[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[2] = {log, (void *)(uintptr_t)sizeof log};
  cu_result_t r = st->drv.module_load_data_ex(&st->mod, image, 2, options, values);
  ugrt__free(a, copy);
  log[sizeof log - 1] = 0;
  for (char *c = log; *c; c++)
    if (*c == '\n') *c = ' ';
  char where[sizeof log + 160];
  snprintf(where, sizeof where, "target %s%s%s", t->name, log[0] ? "; JIT log: " : "", log);
  ugrt_status_t s = ugrt__cuda_status_at(&st->drv, a, r, "cuModuleLoadDataEx", where);
  if (s) {
    st->mod = NULL;
    return s;
  }
  st->target = t;
  st->funcs = ugrt__calloc(a, t->num_kernels ? t->num_kernels : 1, sizeof *st->funcs);
  if (!st->funcs) {
    unload(st, a);
    return ugrt__status_oom();
  }
  for (uint32_t k = 0; k < t->num_kernels; k++) {
    snprintf(where, sizeof where, "kernel %s of target %s", t->kernel_names[k], t->name);
    s = ugrt__cuda_status_at(&st->drv, a,
                             st->drv.module_get_function(&st->funcs[k], st->mod,
                                                         t->kernel_names[k]),
                             "cuModuleGetFunction", where);
    if (s) {
      unload(st, a);
      return s;
    }
  }
  /* Kernels that ask for more dynamic shared memory than the default must
   * opt in, once, for the largest amount any step gives them. */
  for (uint32_t k = 0; k < t->num_kernels; k++) {
    uint32_t most = 0;
    for (uint32_t e = 0; e < h->num_entries; e++)
      for (uint32_t i = 0; i < t->plans[e].num_steps; i++)
        if (t->plans[e].steps[i].kernel == k && t->plans[e].steps[i].shared_bytes > most)
          most = t->plans[e].steps[i].shared_bytes;
    if (most <= DEFAULT_MAX_SHARED) continue;
    snprintf(where, sizeof where, "kernel %s asks for %u bytes of shared memory",
             t->kernel_names[k], most);
    s = ugrt__cuda_status_at(&st->drv, a,
                             st->drv.func_set_attribute(st->funcs[k], CU_FUNC_ATTR_MAX_DYN_SHARED,
                                                        (int)most),
                             "cuFuncSetAttribute", where);
    if (s) {
      unload(st, a);
      return s;
    }
  }
  return NULL;
}

static ugrt_status_t choose_and_load(cuda_state_t *st, const ugrt_allocator_t *a,
                                     const ugrt_model_header_t *h) {
  const ugrt_abi_target_t *cand[MAX_CANDIDATES];
  uint32_t n = candidates(st, h, cand);
  if (n == 0) {
    char have[512] = "";
    size_t used = 0;
    for (uint32_t i = 0; i < h->num_targets && used + 1 < sizeof have; i++) {
      const ugrt_abi_target_t *t = &h->targets[i];
      if (t->kind != UGRT_TARGET_CUDA) continue;
      int w = snprintf(have + used, sizeof have - used, "%s%s (%s %u)", used ? ", " : "", t->name,
                       t->image_format == IMAGE_CUBIN  ? "cubin"
                       : t->image_format == IMAGE_PTX ? "PTX"
                                                      : "no image",
                       t->arch);
      if (w > 0) used += (size_t)w;
    }
    return ugrt__status(a, UGRT_UNAVAILABLE,
                        "cuda:%d is sm_%d, and the model has neither a cubin for sm_%d nor PTX "
                        "for sm_%d or older (its cuda targets: %s)",
                        st->ordinal, st->sm, st->sm, st->sm, have);
  }
  ugrt_status_t best = NULL; /* the best candidate's error says the most */
  for (uint32_t i = 0; i < n; i++) {
    ugrt_status_t s = load_target(st, a, h, cand[i]);
    if (!s || ugrt_status_code(s) == UGRT_OUT_OF_MEMORY) {
      ugrt_status_free(best);
      return s;
    }
    if (best)
      ugrt_status_free(s);
    else
      best = s;
  }
  return best;
}

/* ---- open / close ---- */

static void cuda_close(const ugrt_allocator_t *a, void *state) {
  cuda_state_t *st = state;
  if (!st) return;
  if (st->ctx) {
    ugrt_status_t s = ugrt__cuda_enter(st, a);
    if (!s) {
      if (st->weights) st->drv.mem_free(st->weights);
      unload(st, a);
      ugrt__cuda_leave(st);
    }
    ugrt_status_free(s);
    ugrt__free(a, st->funcs);
    st->drv.primary_ctx_release(st->dev);
  }
  ugrt__cuda_driver_close(&st->drv);
  ugrt__free(a, st);
}

static ugrt_status_t open_device(cuda_state_t *st, const ugrt_allocator_t *a,
                                 const ugrt_device_config_t *cfg) {
  int count = 0;
  UGRT_RETURN_IF_ERROR(CU(st, a, device_get_count(&count), "cuDeviceGetCount"));
  if (cfg->ordinal >= count)
    return ugrt__status(a, UGRT_UNAVAILABLE, "cuda:%d: no such device (the driver sees %d)",
                        cfg->ordinal, count);
  UGRT_RETURN_IF_ERROR(CU(st, a, device_get(&st->dev, cfg->ordinal), "cuDeviceGet"));
  int major = 0, minor = 0;
  UGRT_RETURN_IF_ERROR(
      CU(st, a, device_get_attribute(&major, CU_ATTR_CC_MAJOR, st->dev), "cuDeviceGetAttribute"));
  UGRT_RETURN_IF_ERROR(
      CU(st, a, device_get_attribute(&minor, CU_ATTR_CC_MINOR, st->dev), "cuDeviceGetAttribute"));
  st->sm = major * 10 + minor;
  cu_context_t ctx = NULL;
  UGRT_RETURN_IF_ERROR(CU(st, a, primary_ctx_retain(&ctx, st->dev), "cuDevicePrimaryCtxRetain"));
  st->ctx = ctx;
  UGRT_RETURN_IF_ERROR(ugrt__cuda_enter(st, a));
  ugrt_status_t s = choose_and_load(st, a, cfg->h);
  if (!s && cfg->weights_span > 0 && cfg->weights) {
    size_t n = (size_t)cfg->weights_span;
    s = CU(st, a, mem_alloc(&st->weights, n), "cuMemAlloc");
    if (s) st->weights = 0;
    if (!s) s = CU(st, a, memcpy_htod_async(st->weights, cfg->weights, n, NULL),
                   "cuMemcpyHtoDAsync");
    if (!s) s = CU(st, a, stream_synchronize(NULL), "cuStreamSynchronize");
  }
  ugrt__cuda_leave(st);
  return s;
}

static ugrt_status_t cuda_open(const ugrt_allocator_t *a, const ugrt_device_config_t *cfg,
                               void **out_state, const ugrt_abi_target_t **out_target,
                               void **out_weights) {
  *out_state = NULL;
  *out_target = NULL;
  *out_weights = NULL;
  cuda_state_t *st = ugrt__calloc(a, 1, sizeof *st);
  if (!st) return ugrt__status_oom();
  st->h = cfg->h;
  st->ordinal = cfg->ordinal;
  st->graphs = cfg->graphs;
  ugrt_status_t s = ugrt__cuda_driver_open(a, &st->drv);
  if (!s) s = open_device(st, a, cfg);
  if (s) {
    cuda_close(a, st);
    return s;
  }
  *out_state = st;
  *out_target = st->target;
  *out_weights = ugrt__cuda_vptr(st->weights);
  return NULL;
}

/* ---- sessions ---- */

static void cuda_session_close(void *state, const ugrt_allocator_t *a, void *sess) {
  cuda_state_t *st = state;
  cuda_session_t *ss = sess;
  if (!ss) return;
  ugrt_status_t s = ugrt__cuda_enter(st, a);
  if (!s) {
    ugrt__cuda_drop_graphs(st, ss);
    if (ss->stream) st->drv.stream_destroy(ss->stream);
    if (ss->dims) st->drv.mem_free(ss->dims);
    ugrt__cuda_leave(st);
  }
  ugrt_status_free(s);
  for (uint32_t e = 0; ss->graphs && e < ss->num_entries; e++) ugrt__free(a, ss->graphs[e].key);
  ugrt__free(a, ss->graphs);
  ugrt__free(a, ss->param_vals);
  ugrt__free(a, ss->params);
  ugrt__free(a, ss);
}

static ugrt_status_t cuda_session_open(void *state, const ugrt_allocator_t *a,
                                       const ugrt_abi_target_t *t, void **out_sess) {
  *out_sess = NULL;
  cuda_state_t *st = state;
  const ugrt_model_header_t *h = st->h;
  cuda_session_t *ss = ugrt__calloc(a, 1, sizeof *ss);
  if (!ss) return ugrt__status_oom();
  uint32_t max_params = 1;
  for (uint32_t e = 0; e < h->num_entries; e++)
    for (uint32_t k = 0; k < t->plans[e].num_steps; k++)
      if (t->plans[e].steps[k].num_args + 1 > max_params)
        max_params = t->plans[e].steps[k].num_args + 1;
  ss->num_entries = h->num_entries;
  bool ok = (ss->graphs = ugrt__calloc(a, h->num_entries, sizeof *ss->graphs)) &&
            (ss->param_vals = ugrt__calloc(a, max_params, sizeof *ss->param_vals)) &&
            (ss->params = ugrt__calloc(a, max_params, sizeof *ss->params));
  for (uint32_t e = 0; ok && e < h->num_entries; e++) {
    cuda_graph_t *g = &ss->graphs[e];
    g->key_len = t->plans[e].num_buffers + h->num_dim_exprs;
    ok = (g->key = ugrt__calloc(a, g->key_len ? g->key_len : 1, sizeof *g->key)) != NULL;
  }
  if (!ok) {
    cuda_session_close(st, a, ss);
    return ugrt__status_oom();
  }
  ugrt_status_t s = ugrt__cuda_enter(st, a);
  if (s) {
    cuda_session_close(st, a, ss);
    return s;
  }
  cu_stream_t stream = NULL;
  cu_ptr_t dims = 0;
  size_t dims_bytes = (h->num_dim_exprs ? h->num_dim_exprs : 1) * sizeof(int64_t);
  s = CU(st, a, stream_create(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  if (!s) ss->stream = stream;
  if (!s) s = CU(st, a, mem_alloc(&dims, dims_bytes), "cuMemAlloc");
  if (!s) ss->dims = dims;
  ugrt__cuda_leave(st);
  if (s) {
    cuda_session_close(st, a, ss);
    return s;
  }
  *out_sess = ss;
  return NULL;
}

/* ---- memory ---- */

static ugrt_status_t cuda_mem_alloc(void *state, const ugrt_allocator_t *a, size_t size,
                                    void **out_ptr) {
  cuda_state_t *st = state;
  *out_ptr = NULL;
  UGRT_RETURN_IF_ERROR(ugrt__cuda_enter(st, a));
  cu_ptr_t p = 0;
  char where[64];
  snprintf(where, sizeof where, "%zu bytes", size);
  ugrt_status_t s = ugrt__cuda_status_at(&st->drv, a, st->drv.mem_alloc(&p, size ? size : 1),
                                         "cuMemAlloc", where);
  ugrt__cuda_leave(st);
  if (!s) *out_ptr = ugrt__cuda_vptr(p);
  return s;
}

static void cuda_mem_free(void *state, const ugrt_allocator_t *a, void *ptr) {
  cuda_state_t *st = state;
  if (!ptr) return;
  ugrt_status_t s = ugrt__cuda_enter(st, a);
  if (!s) {
    st->drv.mem_free(ugrt__cuda_dptr(ptr));
    ugrt__cuda_leave(st);
  }
  ugrt_status_free(s);
}

static ugrt_status_t copy(cuda_state_t *st, cuda_session_t *ss, const ugrt_allocator_t *a,
                          void *dst, const void *src, size_t n, bool to_device) {
  if (n == 0) return NULL;
  UGRT_RETURN_IF_ERROR(ugrt__cuda_enter(st, a));
  cu_stream_t stream = ss ? ss->stream : NULL;
  ugrt_status_t s =
      to_device
          ? CU(st, a, memcpy_htod_async(ugrt__cuda_dptr(dst), src, n, stream), "cuMemcpyHtoDAsync")
          : CU(st, a, memcpy_dtoh_async(dst, ugrt__cuda_dptr(src), n, stream),
               "cuMemcpyDtoHAsync");
  if (!s) s = CU(st, a, stream_synchronize(stream), "cuStreamSynchronize");
  ugrt__cuda_leave(st);
  return s;
}

static ugrt_status_t cuda_upload(void *state, void *sess, const ugrt_allocator_t *a, void *dst,
                                 const void *src, size_t n) {
  return copy(state, sess, a, dst, src, n, true);
}

static ugrt_status_t cuda_download(void *state, void *sess, const ugrt_allocator_t *a, void *dst,
                                   const void *src, size_t n) {
  return copy(state, sess, a, dst, (void *)(uintptr_t)src, n, false);
}

const ugrt_device_ops_t ugrt__device_cuda = {
    .name = "cuda",
    .target_kind = UGRT_TARGET_CUDA,
    .host_visible = false,
    .open = cuda_open,
    .close = cuda_close,
    .session_open = cuda_session_open,
    .session_close = cuda_session_close,
    .mem_alloc = cuda_mem_alloc,
    .mem_free = cuda_mem_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .execute = ugrt__cuda_execute,
};
