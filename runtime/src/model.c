/* Loading a model.so: dlopen, header validation, weights, target selection
 * and the introspection tables. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

#define MAX_DIM_TEXT 256

void ugrt_model_options_init(ugrt_model_options_t *options) {
  if (!options) return;
  memset(options, 0, sizeof *options);
  options->device = "auto";
  options->verify_weights = true;
  options->cuda_graphs = true;
}

void ugrt__model_retain(ugrt_model_t *m) { atomic_fetch_add(&m->refs, 1); }

static void model_destroy(ugrt_model_t *m) {
  ugrt_allocator_t a = m->alloc;
  if (m->dev) m->dev->close(&a, m->dev_state);
  if (m->weights_map) munmap(m->weights_map, m->weights_map_size);
  if (m->dl) dlclose(m->dl);
  ugrt__pool_release(&m->pool);
  ugrt__free(&a, m);
}

void ugrt_model_release(ugrt_model_t *model) {
  if (!model) return;
  if (atomic_fetch_sub(&model->refs, 1) == 1) model_destroy(model);
}

/* ---- device names ---- */

typedef enum { DEV_AUTO, DEV_CPU, DEV_CUDA } dev_choice_t;

static ugrt_status_t parse_device(const ugrt_allocator_t *a, const char *s, dev_choice_t *kind,
                                  int *ordinal) {
  *ordinal = 0;
  if (!s || strcmp(s, "auto") == 0 || *s == 0) {
    *kind = DEV_AUTO;
    return NULL;
  }
  if (strcmp(s, "cpu") == 0) {
    *kind = DEV_CPU;
    return NULL;
  }
  if (strncmp(s, "cuda", 4) == 0) {
    *kind = DEV_CUDA;
    if (s[4] == 0) return NULL;
    if (s[4] == ':' && s[5] >= '0' && s[5] <= '9') {
      char *end;
      long v = strtol(s + 5, &end, 10);
      if (*end == 0 && v >= 0 && v < 1024) {
        *ordinal = (int)v;
        return NULL;
      }
    }
  }
  return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                      "unknown device \"%s\" (expected auto, cpu, cuda or cuda:N)", s);
}

static bool has_target(const ugrt_model_header_t *h, ugrt_target_kind_t k) {
  for (uint32_t i = 0; i < h->num_targets; i++)
    if (h->targets[i].kind == k) return true;
  return false;
}

/* Opens `dev` for the model: it picks its target and places the weights. */
static ugrt_status_t open_on(ugrt_model_t *m, const ugrt_device_ops_t *dev, int ordinal,
                             bool graphs) {
  ugrt_device_config_t cfg = {ordinal, m->h, m->weights, m->weights_span, graphs};
  void *state, *weights;
  const ugrt_abi_target_t *t;
  UGRT_RETURN_IF_ERROR(dev->open(&m->alloc, &cfg, &state, &t, &weights));
  m->dev = dev;
  m->dev_state = state;
  m->target = t;
  m->dev_weights = weights;
  if (dev == &ugrt__device_cpu)
    snprintf(m->device_name, sizeof m->device_name, "cpu");
  else
    snprintf(m->device_name, sizeof m->device_name, "%s:%d", dev->name, ordinal);
  return NULL;
}

/* cpu: the CPU target.  cuda[:N]: a CUDA target on device N, or an error.
 * auto: a CUDA target on device 0 when the model has one and the driver,
 * the device and a matching image are there, else the CPU target. */
static ugrt_status_t select_device(ugrt_model_t *m, const ugrt_model_options_t *o) {
  const ugrt_allocator_t *a = &m->alloc;
  dev_choice_t kind;
  int ordinal;
  UGRT_RETURN_IF_ERROR(parse_device(a, o->device, &kind, &ordinal));
  ugrt_status_t gpu_err = NULL;
  if (kind == DEV_CUDA || kind == DEV_AUTO) {
    if (has_target(m->h, UGRT_TARGET_CUDA)) {
      gpu_err = open_on(m, &ugrt__device_cuda, ordinal, o->cuda_graphs);
      if (!gpu_err || kind == DEV_CUDA) return gpu_err;
    } else if (kind == DEV_CUDA) {
      return ugrt__status(a, UGRT_UNAVAILABLE, "the model has no cuda target");
    }
  }
  if (kind == DEV_AUTO && gpu_err && !has_target(m->h, UGRT_TARGET_CPU))
    return gpu_err; /* nothing to fall back to: say why the GPU failed */
  ugrt_status_free(gpu_err);
  return open_on(m, &ugrt__device_cpu, 0, false);
}

/* ---- weights ---- */

/* Maps the external weights file read-only; with a tail, the file and the
 * tail form one range (offsets past the file read the tail), so the file is
 * mapped privately into a reserved range, the tail copied behind it and the
 * whole range made read-only. */
static ugrt_status_t map_weights(ugrt_model_t *m, int fd, const char *path) {
  const ugrt_model_header_t *h = m->h;
  size_t span = (size_t)(h->weights_tail_size ? h->weights_tail_offset + h->weights_tail_size : h->weights_size);
  void *p;
  if (!h->weights_tail_size) {
    p = mmap(NULL, span, PROT_READ, MAP_PRIVATE, fd, 0);
  } else {
    p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && h->weights_size &&
        mmap(p, (size_t)h->weights_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
      munmap(p, span);
      p = MAP_FAILED;
    }
    if (p != MAP_FAILED) {
      memcpy((char *)p + h->weights_tail_offset, h->weights_tail, (size_t)h->weights_tail_size);
      mprotect(p, span, PROT_READ);
    }
  }
  if (p == MAP_FAILED)
    return ugrt__status(&m->alloc, UGRT_IO, "cannot map weights file %s: %s", path, strerror(errno));
  m->weights_map = p;
  m->weights_map_size = span;
  m->weights = p;
  m->weights_span = span;
  return NULL;
}

static ugrt_status_t load_weights(ugrt_model_t *m, const char *model_path, bool verify) {
  const ugrt_model_header_t *h = m->h;
  const ugrt_allocator_t *a = &m->alloc;
  if (h->weights_file) {
    const char *slash = strrchr(model_path, '/');
    size_t dir_len = (h->weights_file[0] == '/' || !slash) ? 0 : (size_t)(slash - model_path) + 1;
    size_t n = dir_len + strlen(h->weights_file) + 1;
    char *path = ugrt__alloc(a, n, 1);
    if (!path) return ugrt__status_oom();
    memcpy(path, model_path, dir_len);
    strcpy(path + dir_len, h->weights_file);
    ugrt_status_t s = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
      s = ugrt__status(a, errno == ENOENT ? UGRT_NOT_FOUND : UGRT_IO,
                       "cannot open weights file %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st) != 0) {
      s = ugrt__status(a, UGRT_IO, "cannot stat weights file %s: %s", path, strerror(errno));
    } else if ((uint64_t)st.st_size != h->weights_size) {
      s = ugrt__status(a, UGRT_INVALID_MODEL, "weights file %s has %lld bytes, the model expects %llu",
                       path, (long long)st.st_size, (unsigned long long)h->weights_size);
    } else if (h->weights_size > 0 || h->weights_tail_size > 0) {
      s = map_weights(m, fd, path);
    }
    if (fd >= 0) close(fd);
    if (s) {
      ugrt__free(a, path);
      return s;
    }
    if (verify && ugrt__fnv1a64(m->weights, h->weights_size) != h->weights_hash) {
      s = ugrt__status(a, UGRT_INVALID_MODEL,
                       "weights file %s does not match the model (FNV-1a hash differs)", path);
    } else if (verify && h->weights_tail_size &&
               ugrt__fnv1a64(h->weights_tail, h->weights_tail_size) != h->weights_tail_hash) {
      s = ugrt__status(a, UGRT_INVALID_MODEL, "the embedded weight tail is corrupted (FNV-1a hash differs)");
    }
    ugrt__free(a, path);
    return s;
  }
  m->weights = h->weights;
  m->weights_span = h->weights_size;
  if (verify && h->weights_size && ugrt__fnv1a64(h->weights, h->weights_size) != h->weights_hash)
    return ugrt__status(a, UGRT_INVALID_MODEL,
                        "embedded weights are corrupted (FNV-1a hash differs)");
  return NULL;
}

/* ---- introspection tables ---- */

static void format_operand(const ugrt_model_t *m, ugrt_dim_t d, char *buf, size_t n) {
  if (d >= 0) {
    snprintf(buf, n, "%lld", (long long)d);
    return;
  }
  uint64_t j = ugrt__dim_index(d);
  uint32_t k = m->h->dim_exprs[j].kind;
  if (k == UGRT_DX_SYM || k == UGRT_DX_MAX || k == UGRT_DX_MIN)
    snprintf(buf, n, "%s", m->dim_text[j]);
  else
    snprintf(buf, n, "(%s)", m->dim_text[j]);
}

static ugrt_status_t build_dim_text(ugrt_model_t *m) {
  const ugrt_model_header_t *h = m->h;
  m->dim_text = ugrt__pool_alloc(&m->pool, (size_t)h->num_dim_exprs * sizeof(char *));
  if (!m->dim_text) return ugrt__status_oom();
  char l[MAX_DIM_TEXT], r[MAX_DIM_TEXT], t[2 * MAX_DIM_TEXT + 16];
  for (uint32_t i = 0; i < h->num_dim_exprs; i++) {
    const ugrt_abi_dimexpr_t *x = &h->dim_exprs[i];
    if (x->kind == UGRT_DX_SYM) {
      snprintf(t, sizeof t, "%s", x->name);
    } else {
      format_operand(m, x->a, l, sizeof l);
      format_operand(m, x->b, r, sizeof r);
      static const char *const ops[] = {
          [UGRT_DX_ADD] = "+", [UGRT_DX_SUB] = "-", [UGRT_DX_MUL] = "*",
          [UGRT_DX_DIV] = "/", [UGRT_DX_MOD] = "%"};
      if (x->kind == UGRT_DX_MAX || x->kind == UGRT_DX_MIN)
        snprintf(t, sizeof t, "%s(%s, %s)", x->kind == UGRT_DX_MAX ? "max" : "min", l, r);
      else
        snprintf(t, sizeof t, "%s%s%s", l, ops[x->kind], r);
    }
    if (strlen(t) >= MAX_DIM_TEXT) strcpy(t + MAX_DIM_TEXT - 4, "...");
    if (!(m->dim_text[i] = ugrt__pool_strdup(&m->pool, t))) return ugrt__status_oom();
  }
  return NULL;
}

static ugrt_status_t build_tensor_infos(ugrt_model_t *m, const ugrt_abi_tensor_t *src, uint32_t n,
                                        ugrt_tensor_info_t **out) {
  ugrt_tensor_info_t *infos = ugrt__pool_alloc(&m->pool, (size_t)n * sizeof *infos);
  if (!infos) return ugrt__status_oom();
  for (uint32_t i = 0; i < n; i++) {
    const ugrt_abi_tensor_t *t = &src[i];
    int64_t *dims = ugrt__pool_alloc(&m->pool, (size_t)t->rank * sizeof(int64_t));
    const char **names = ugrt__pool_alloc(&m->pool, (size_t)t->rank * sizeof(char *));
    if (!dims || !names) return ugrt__status_oom();
    for (uint32_t d = 0; d < t->rank; d++) {
      dims[d] = t->dims[d] >= 0 ? t->dims[d] : -1;
      names[d] = t->dims[d] >= 0 ? NULL : m->dim_text[ugrt__dim_index(t->dims[d])];
    }
    infos[i].name = t->name;
    infos[i].dtype = (ugrt_dtype_t)t->dtype;
    infos[i].rank = t->rank;
    infos[i].dims = dims;
    infos[i].dim_names = names;
  }
  *out = infos;
  return NULL;
}

static ugrt_status_t build_tables(ugrt_model_t *m) {
  UGRT_RETURN_IF_ERROR(build_dim_text(m));
  const ugrt_model_header_t *h = m->h;
  m->entries = ugrt__pool_alloc(&m->pool, (size_t)h->num_entries * sizeof *m->entries);
  if (!m->entries) return ugrt__status_oom();
  for (uint32_t e = 0; e < h->num_entries; e++) {
    const ugrt_abi_entry_t *en = &h->entries[e];
    UGRT_RETURN_IF_ERROR(build_tensor_infos(m, en->inputs, en->num_inputs, &m->entries[e].inputs));
    UGRT_RETURN_IF_ERROR(
        build_tensor_infos(m, en->outputs, en->num_outputs, &m->entries[e].outputs));
    m->entries[e].need_dims = ugrt__pool_alloc(&m->pool, (size_t)h->num_dim_exprs + 1);
    if (!m->entries[e].need_dims) return ugrt__status_oom();
    ugrt__plan_dims(h, en, &m->target->plans[e], m->entries[e].need_dims);
  }
  return NULL;
}

/* ---- load ---- */

static ugrt_status_t open_module(ugrt_model_t *m, const char *path) {
  const ugrt_allocator_t *a = &m->alloc;
  /* dlopen searches the library path for names without a slash; a model
   * path always means a file. */
  char *dl_path = NULL;
  if (!strchr(path, '/')) {
    size_t n = strlen(path) + 3;
    if (!(dl_path = ugrt__alloc(a, n, 1))) return ugrt__status_oom();
    snprintf(dl_path, n, "./%s", path);
  }
  if (access(dl_path ? dl_path : path, R_OK) != 0) {
    ugrt_status_t s = ugrt__status(a, errno == ENOENT ? UGRT_NOT_FOUND : UGRT_IO,
                                   "cannot open model %s: %s", path, strerror(errno));
    ugrt__free(a, dl_path);
    return s;
  }
  m->dl = dlopen(dl_path ? dl_path : path, RTLD_LOCAL | RTLD_NOW);
  ugrt__free(a, dl_path);
  if (!m->dl) {
    const char *err = dlerror();
    return ugrt__status(a, UGRT_INVALID_MODEL, "cannot load model %s: %s", path,
                        err ? err : "dlopen failed");
  }
  void *sym = dlsym(m->dl, UGRT_MODEL_QUERY_SYMBOL);
  if (!sym)
    return ugrt__status(a, UGRT_INVALID_MODEL, "%s is not a ugcc model: it does not export %s",
                        path, UGRT_MODEL_QUERY_SYMBOL);
  ugrt_model_query_fn query;
  memcpy(&query, &sym, sizeof query);
  ugrt_image_t img;
  ugrt__image_find(sym, &img);
  const ugrt_model_header_t *h = query(UGRT_ABI_VERSION);
  if (!h)
    return ugrt__status(a, UGRT_INVALID_MODEL,
                        "%s does not support model ABI version %u of this runtime", path,
                        UGRT_ABI_VERSION);
  ugrt_status_t s = ugrt__validate_header(a, h, &img);
  if (s) {
    ugrt_status_t r = ugrt__status(a, UGRT_INVALID_MODEL, "%s: invalid model: %s", path,
                                   ugrt_status_message(s));
    ugrt_status_free(s);
    return r;
  }
  m->h = h;
  return NULL;
}

ugrt_status_t ugrt_model_load(const char *path, const ugrt_model_options_t *options,
                              ugrt_model_t **out_model) {
  ugrt_model_options_t defaults;
  ugrt_model_options_init(&defaults);
  const ugrt_model_options_t *o = options ? options : &defaults;
  ugrt_allocator_t a = ugrt__allocator_or_system(&o->allocator);
  if (!out_model) return ugrt__status(&a, UGRT_INVALID_ARGUMENT, "out_model is NULL");
  *out_model = NULL;
  if (!path) return ugrt__status(&a, UGRT_INVALID_ARGUMENT, "model path is NULL");
  ugrt_model_t *m = ugrt__calloc(&a, 1, sizeof *m);
  if (!m) return ugrt__status_oom();
  atomic_init(&m->refs, 1);
  m->alloc = a;
  ugrt__pool_init(&m->pool, &a);
  ugrt_status_t s = open_module(m, path);
  if (!s) s = load_weights(m, path, o->verify_weights);
  if (!s) s = select_device(m, o);
  if (!s) s = build_tables(m);
  if (s) {
    model_destroy(m);
    return s;
  }
  *out_model = m;
  return NULL;
}

/* ---- introspection ---- */

const char *ugrt_model_producer(const ugrt_model_t *model) {
  return model && model->h->producer ? model->h->producer : "";
}

const char *ugrt_model_device(const ugrt_model_t *model) {
  return model ? model->device_name : "";
}

const char *ugrt_model_target(const ugrt_model_t *model) {
  return model ? model->target->name : "";
}

uint32_t ugrt_model_entry_count(const ugrt_model_t *model) {
  return model ? model->h->num_entries : 0;
}

const char *ugrt_model_entry_name(const ugrt_model_t *model, uint32_t entry) {
  if (!model || entry >= model->h->num_entries) return NULL;
  return model->h->entries[entry].name;
}

ugrt_status_t ugrt_model_find_entry(const ugrt_model_t *model, const char *name,
                                    uint32_t *out_entry) {
  if (out_entry) *out_entry = 0;
  if (!model || !name || !out_entry)
    return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "ugrt_model_find_entry: NULL argument");
  for (uint32_t e = 0; e < model->h->num_entries; e++) {
    if (strcmp(model->h->entries[e].name, name) == 0) {
      *out_entry = e;
      return NULL;
    }
  }
  return ugrt__status(&model->alloc, UGRT_NOT_FOUND, "the model has no entry point \"%s\"", name);
}

uint32_t ugrt_model_input_count(const ugrt_model_t *model, uint32_t entry) {
  if (!model || entry >= model->h->num_entries) return 0;
  return model->h->entries[entry].num_inputs;
}

uint32_t ugrt_model_output_count(const ugrt_model_t *model, uint32_t entry) {
  if (!model || entry >= model->h->num_entries) return 0;
  return model->h->entries[entry].num_outputs;
}

static ugrt_status_t tensor_info(const ugrt_model_t *model, uint32_t entry, uint32_t index,
                                 bool output, ugrt_tensor_info_t *out_info) {
  if (out_info) memset(out_info, 0, sizeof *out_info);
  if (!model || !out_info)
    return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "tensor info: NULL argument");
  const ugrt_allocator_t *a = &model->alloc;
  if (entry >= model->h->num_entries)
    return ugrt__status(a, UGRT_OUT_OF_RANGE, "entry %u out of range (the model has %u)", entry,
                        model->h->num_entries);
  const ugrt_abi_entry_t *en = &model->h->entries[entry];
  uint32_t n = output ? en->num_outputs : en->num_inputs;
  if (index >= n)
    return ugrt__status(a, UGRT_OUT_OF_RANGE, "%s %u out of range (entry \"%s\" has %u)",
                        output ? "output" : "input", index, en->name, n);
  *out_info = output ? model->entries[entry].outputs[index] : model->entries[entry].inputs[index];
  return NULL;
}

ugrt_status_t ugrt_model_input_info(const ugrt_model_t *model, uint32_t entry, uint32_t index,
                                    ugrt_tensor_info_t *out_info) {
  return tensor_info(model, entry, index, false, out_info);
}

ugrt_status_t ugrt_model_output_info(const ugrt_model_t *model, uint32_t entry, uint32_t index,
                                     ugrt_tensor_info_t *out_info) {
  return tensor_info(model, entry, index, true, out_info);
}

static ugrt_status_t find_tensor(const ugrt_model_t *model, uint32_t entry, const char *name,
                                 bool output, uint32_t *out_index) {
  if (out_index) *out_index = 0;
  if (!model || !name || !out_index)
    return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "find tensor: NULL argument");
  if (entry >= model->h->num_entries)
    return ugrt__status(&model->alloc, UGRT_OUT_OF_RANGE, "entry %u out of range", entry);
  const ugrt_abi_entry_t *en = &model->h->entries[entry];
  uint32_t n = output ? en->num_outputs : en->num_inputs;
  const ugrt_abi_tensor_t *ts = output ? en->outputs : en->inputs;
  for (uint32_t i = 0; i < n; i++) {
    if (strcmp(ts[i].name, name) == 0) {
      *out_index = i;
      return NULL;
    }
  }
  return ugrt__status(&model->alloc, UGRT_NOT_FOUND, "entry \"%s\" has no %s named \"%s\"",
                      en->name, output ? "output" : "input", name);
}

ugrt_status_t ugrt_model_find_input(const ugrt_model_t *model, uint32_t entry, const char *name,
                                    uint32_t *out_index) {
  return find_tensor(model, entry, name, false, out_index);
}

ugrt_status_t ugrt_model_find_output(const ugrt_model_t *model, uint32_t entry, const char *name,
                                     uint32_t *out_index) {
  return find_tensor(model, entry, name, true, out_index);
}

/* ---- formatting ---- */

void ugrt__format_decl(const ugrt_model_t *m, const ugrt_tensor_info_t *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", ugrt_dtype_name(t->dtype));
  for (uint32_t d = 0; d < t->rank && k < n; d++) {
    if (t->dim_names[d])
      k += (size_t)snprintf(buf + k, n - k, "%s%s", d ? "," : "", t->dim_names[d]);
    else
      k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)t->dims[d]);
  }
  if (k < n) snprintf(buf + k, n - k, "]");
}

void ugrt__format_shape(ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims, char *buf,
                        size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", ugrt_dtype_name(dtype));
  for (uint32_t d = 0; d < rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

/* ---- state and metadata ---- */

uint32_t ugrt_model_state_count(const ugrt_model_t *model) { return model ? model->h->num_states : 0; }

ugrt_status_t ugrt_model_state_info(const ugrt_model_t *model, uint32_t index, ugrt_tensor_info_t *out_info) {
  static const char *const no_names[UGRT_MAX_RANK];
  if (!model || !out_info) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "model or out_info is NULL");
  memset(out_info, 0, sizeof *out_info);
  if (index >= model->h->num_states)
    return ugrt__status(&model->alloc, UGRT_OUT_OF_RANGE, "state %u of %u", index, model->h->num_states);
  const ugrt_abi_tensor_t *t = &model->h->states[index];
  out_info->name = t->name;
  out_info->dtype = (ugrt_dtype_t)t->dtype;
  out_info->rank = t->rank;
  out_info->dims = t->dims;
  out_info->dim_names = no_names;
  return NULL;
}

const void *ugrt_model_metadata(const ugrt_model_t *model, size_t *out_size) {
  if (out_size) *out_size = model && model->h->metadata ? (size_t)model->h->metadata_size : 0;
  return model ? model->h->metadata : NULL;
}
