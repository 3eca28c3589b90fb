/* Validation of a model header before the runtime trusts any of it.
 *
 * A model.so is input: a corrupted or hostile one must give an error, never a
 * crash.  Besides counts and indices, every pointer is checked to lie inside
 * the loaded segments of the module (found with dl_iterate_phdr) before it
 * is dereferenced, and strings must end inside their segment. */
#define _GNU_SOURCE 1
#include <link.h>
#include <string.h>

#include "internal.h"

/* Caps that keep sizes computed from counts far from overflow. */
#define MAX_COUNT (1u << 24)
#define MAX_DIM_EXPRS (1u << 20)
#define MAX_NAME 4096

typedef struct {
  const void *addr;
  ugrt_image_t *out;
} find_ctx_t;

static int find_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  find_ctx_t *c = data;
  uintptr_t a = (uintptr_t)c->addr;
  bool hit = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t s = info->dlpi_addr + ph->p_vaddr;
    if (a >= s && a < s + ph->p_memsz) hit = true;
  }
  if (!hit) return 0;
  c->out->count = 0;
  for (int i = 0; i < info->dlpi_phnum && c->out->count < UGRT_MAX_SEGMENTS; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uint32_t k = c->out->count++;
    c->out->seg[k].start = info->dlpi_addr + ph->p_vaddr;
    c->out->seg[k].end = c->out->seg[k].start + ph->p_memsz;
    c->out->seg[k].exec = (ph->p_flags & PF_X) != 0;
  }
  return 1;
}

void ugrt__image_find(const void *addr, ugrt_image_t *out) {
  memset(out, 0, sizeof *out);
  find_ctx_t c = {addr, out};
  dl_iterate_phdr(find_cb, &c);
}

bool ugrt__image_contains(const ugrt_image_t *img, const void *p, uint64_t n) {
  if (img->count == 0) return true;
  uintptr_t a = (uintptr_t)p;
  for (uint32_t i = 0; i < img->count; i++) {
    if (a >= img->seg[i].start && a <= img->seg[i].end && n <= img->seg[i].end - a) return true;
  }
  return false;
}

bool ugrt__image_contains_code(const ugrt_image_t *img, const void *p) {
  if (img->count == 0) return true;
  uintptr_t a = (uintptr_t)p;
  for (uint32_t i = 0; i < img->count; i++) {
    if (img->seg[i].exec && a >= img->seg[i].start && a < img->seg[i].end) return true;
  }
  return false;
}

/* A string pointer: non-NULL, inside the image, terminated within MAX_NAME
 * bytes and before the end of its segment. */
static bool valid_string(const ugrt_image_t *img, const char *s) {
  if (!s) return false;
  if (img->count == 0) return true;
  uintptr_t a = (uintptr_t)s;
  for (uint32_t i = 0; i < img->count; i++) {
    if (a >= img->seg[i].start && a < img->seg[i].end) {
      size_t room = img->seg[i].end - a;
      if (room > MAX_NAME) room = MAX_NAME;
      return memchr(s, 0, room) != NULL;
    }
  }
  return false;
}

/* An array of n elements of `elem` bytes: may be NULL only when n == 0. */
static bool valid_array(const ugrt_image_t *img, const void *p, uint64_t n, size_t elem) {
  if (n == 0) return true;
  if (!p) return false;
  size_t align = elem >= 8 ? 8 : elem >= 4 ? 4 : 1;
  if ((uintptr_t)p % align != 0) return false; /* misaligned tables are corrupt */
  return ugrt__image_contains(img, p, n * elem);
}

static bool valid_dim(ugrt_dim_t d, uint32_t limit) {
  return d >= 0 || ugrt__dim_index(d) < limit;
}

#define BAD(...) ugrt__status(a, UGRT_INVALID_MODEL, __VA_ARGS__)

static ugrt_status_t validate_tensor(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                                     const ugrt_image_t *img, const ugrt_abi_tensor_t *t,
                                     const char *what, uint32_t e, uint32_t i) {
  if (!valid_string(img, t->name)) return BAD("entry %u %s %u: bad name pointer", e, what, i);
  if (t->dtype >= UGRT_DTYPE_COUNT)
    return BAD("entry %u %s \"%s\": dtype %u out of range", e, what, t->name, t->dtype);
  if (t->rank > UGRT_MAX_RANK)
    return BAD("entry %u %s \"%s\": rank %u exceeds %d", e, what, t->name, t->rank,
               UGRT_MAX_RANK);
  if (!valid_array(img, t->dims, t->rank, sizeof(ugrt_dim_t)))
    return BAD("entry %u %s \"%s\": bad dims pointer", e, what, t->name);
  for (uint32_t d = 0; d < t->rank; d++)
    if (!valid_dim(t->dims[d], h->num_dim_exprs))
      return BAD("entry %u %s \"%s\": dim %u refers to missing expression %lld", e, what,
                 t->name, d, (long long)t->dims[d]);
  return NULL;
}

static ugrt_status_t validate_entry(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                                    const ugrt_image_t *img, uint32_t e) {
  const ugrt_abi_entry_t *en = &h->entries[e];
  if (!valid_string(img, en->name)) return BAD("entry %u: bad name pointer", e);
  for (uint32_t k = 0; k < e; k++)
    if (strcmp(h->entries[k].name, en->name) == 0)
      return BAD("entry name \"%s\" appears twice", en->name);
  if (en->num_inputs > MAX_COUNT || en->num_outputs > MAX_COUNT)
    return BAD("entry \"%s\": too many inputs or outputs", en->name);
  if (!valid_array(img, en->inputs, en->num_inputs, sizeof(ugrt_abi_tensor_t)) ||
      !valid_array(img, en->outputs, en->num_outputs, sizeof(ugrt_abi_tensor_t)))
    return BAD("entry \"%s\": bad input/output table pointer", en->name);
  for (uint32_t i = 0; i < en->num_inputs; i++) {
    UGRT_RETURN_IF_ERROR(validate_tensor(a, h, img, &en->inputs[i], "input", e, i));
    for (uint32_t k = 0; k < i; k++)
      if (strcmp(en->inputs[k].name, en->inputs[i].name) == 0)
        return BAD("entry \"%s\": input name \"%s\" appears twice", en->name, en->inputs[i].name);
  }
  for (uint32_t i = 0; i < en->num_outputs; i++) {
    UGRT_RETURN_IF_ERROR(validate_tensor(a, h, img, &en->outputs[i], "output", e, i));
    for (uint32_t k = 0; k < i; k++)
      if (strcmp(en->outputs[k].name, en->outputs[i].name) == 0)
        return BAD("entry \"%s\": output name \"%s\" appears twice", en->name,
                   en->outputs[i].name);
  }
  return NULL;
}

static ugrt_status_t validate_plan(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                                   const ugrt_image_t *img, const ugrt_abi_target_t *t,
                                   uint32_t e) {
  const ugrt_abi_entry_t *en = &h->entries[e];
  const ugrt_abi_plan_t *p = &t->plans[e];
  const char *tn = t->name, *ename = en->name;
  if (p->num_buffers > MAX_COUNT || p->num_steps > MAX_COUNT)
    return BAD("target \"%s\" entry \"%s\": too many buffers or steps", tn, ename);
  if (!valid_array(img, p->buffers, p->num_buffers, sizeof(ugrt_abi_buffer_t)) ||
      !valid_array(img, p->steps, p->num_steps, sizeof(ugrt_abi_step_t)) ||
      !valid_array(img, p->input_buffers, en->num_inputs, sizeof(uint32_t)) ||
      !valid_array(img, p->output_buffers, en->num_outputs, sizeof(uint32_t)))
    return BAD("target \"%s\" entry \"%s\": bad plan table pointer", tn, ename);
  for (uint32_t b = 0; b < p->num_buffers; b++) {
    const ugrt_abi_buffer_t *buf = &p->buffers[b];
    if (!valid_dim(buf->size, h->num_dim_exprs))
      return BAD("target \"%s\" entry \"%s\": buffer %u size refers to missing expression", tn,
                 ename, b);
    switch (buf->kind) {
      case UGRT_BUF_ARENA:
        if (buf->first_step > buf->last_step || buf->last_step >= p->num_steps)
          return BAD("target \"%s\" entry \"%s\": arena buffer %u lives in steps %u..%u of %u",
                     tn, ename, b, buf->first_step, buf->last_step, p->num_steps);
        if (buf->offset != UINT64_MAX && buf->size >= 0 &&
            buf->offset > UINT64_MAX - (uint64_t)buf->size)
          return BAD("target \"%s\" entry \"%s\": arena buffer %u offset overflows", tn, ename, b);
        break;
      case UGRT_BUF_INPUT:
        if (buf->index >= en->num_inputs)
          return BAD("target \"%s\" entry \"%s\": buffer %u names input %u of %u", tn, ename, b,
                     buf->index, en->num_inputs);
        break;
      case UGRT_BUF_OUTPUT:
        if (buf->index >= en->num_outputs)
          return BAD("target \"%s\" entry \"%s\": buffer %u names output %u of %u", tn, ename, b,
                     buf->index, en->num_outputs);
        break;
      case UGRT_BUF_STATE:
        if (buf->index >= h->num_states)
          return BAD("target \"%s\" entry \"%s\": buffer %u names state %u of %u", tn, ename, b,
                     buf->index, h->num_states);
        if (buf->size < 0 || (uint64_t)buf->size != ugrt__state_bytes(&h->states[buf->index]))
          return BAD("target \"%s\" entry \"%s\": state buffer %u has another size than state \"%s\"",
                     tn, ename, b, h->states[buf->index].name);
        break;
      case UGRT_BUF_WEIGHT:
        if (buf->size < 0)
          return BAD("target \"%s\" entry \"%s\": weight buffer %u has a symbolic size", tn,
                     ename, b);
        if (h->weights_tail_size && buf->offset >= h->weights_tail_offset) {
          if ((uint64_t)buf->size > h->weights_tail_size - (buf->offset - h->weights_tail_offset) ||
              buf->offset - h->weights_tail_offset > h->weights_tail_size)
            return BAD("target \"%s\" entry \"%s\": weight buffer %u exceeds the embedded tail",
                       tn, ename, b);
          break;
        }
        if (buf->offset > h->weights_size || (uint64_t)buf->size > h->weights_size - buf->offset)
          return BAD("target \"%s\" entry \"%s\": weight buffer %u [%llu, +%lld) exceeds the "
                     "%llu weight bytes",
                     tn, ename, b, (unsigned long long)buf->offset, (long long)buf->size,
                     (unsigned long long)h->weights_size);
        break;
      default:
        return BAD("target \"%s\" entry \"%s\": buffer %u has unknown kind %u", tn, ename, b,
                   buf->kind);
    }
  }
  for (uint32_t i = 0; i < en->num_inputs; i++) {
    uint32_t b = p->input_buffers[i];
    if (b >= p->num_buffers || p->buffers[b].kind != UGRT_BUF_INPUT || p->buffers[b].index != i)
      return BAD("target \"%s\" entry \"%s\": input %u maps to buffer %u, not an input buffer "
                 "for it",
                 tn, ename, i, b);
  }
  for (uint32_t i = 0; i < en->num_outputs; i++) {
    uint32_t b = p->output_buffers[i];
    if (b >= p->num_buffers || p->buffers[b].kind != UGRT_BUF_OUTPUT ||
        p->buffers[b].index != i)
      return BAD("target \"%s\" entry \"%s\": output %u maps to buffer %u, not an output buffer "
                 "for it",
                 tn, ename, i, b);
  }
  for (uint32_t s = 0; s < p->num_steps; s++) {
    const ugrt_abi_step_t *st = &p->steps[s];
    if (st->kernel >= t->num_kernels)
      return BAD("target \"%s\" entry \"%s\": step %u calls kernel %u of %u", tn, ename, s,
                 st->kernel, t->num_kernels);
    if (st->num_args > MAX_COUNT || !valid_array(img, st->args, st->num_args, sizeof(uint32_t)))
      return BAD("target \"%s\" entry \"%s\": step %u has a bad argument table", tn, ename, s);
    for (uint32_t k = 0; k < 3; k++)
      if (!valid_dim(st->grid[k], h->num_dim_exprs))
        return BAD("target \"%s\" entry \"%s\": step %u grid refers to missing expression", tn,
                   ename, s);
    for (uint32_t k = 0; k < st->num_args; k++) {
      uint32_t b = st->args[k];
      if (b >= p->num_buffers)
        return BAD("target \"%s\" entry \"%s\": step %u argument %u is buffer %u of %u", tn,
                   ename, s, k, b, p->num_buffers);
      const ugrt_abi_buffer_t *buf = &p->buffers[b];
      if (buf->kind == UGRT_BUF_ARENA && (s < buf->first_step || s > buf->last_step))
        return BAD("target \"%s\" entry \"%s\": step %u uses arena buffer %u outside its "
                   "lifetime %u..%u",
                   tn, ename, s, b, buf->first_step, buf->last_step);
    }
  }
  return NULL;
}

static ugrt_status_t validate_target(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                                     const ugrt_image_t *img, uint32_t ti) {
  const ugrt_abi_target_t *t = &h->targets[ti];
  if (!valid_string(img, t->name)) return BAD("target %u: bad name pointer", ti);
  if (t->kind > UGRT_TARGET_AMDGPU)
    return BAD("target \"%s\": unknown kind %u", t->name, t->kind);
  if (t->num_kernels > MAX_COUNT) return BAD("target \"%s\": too many kernels", t->name);
  if (t->kernel_names && !valid_array(img, t->kernel_names, t->num_kernels, sizeof(char *)))
    return BAD("target \"%s\": bad kernel name table", t->name);
  if (t->kernel_names)
    for (uint32_t k = 0; k < t->num_kernels; k++)
      if (!valid_string(img, t->kernel_names[k]))
        return BAD("target \"%s\": kernel %u has a bad name pointer", t->name, k);
  if (t->kind == UGRT_TARGET_CPU) {
    if (!valid_array(img, t->cpu_kernels, t->num_kernels, sizeof(ugrt_cpu_kernel_fn)))
      return BAD("target \"%s\": missing CPU kernel table", t->name);
    for (uint32_t k = 0; k < t->num_kernels; k++) {
      void *fp;
      memcpy(&fp, &t->cpu_kernels[k], sizeof fp);
      if (!fp || !ugrt__image_contains_code(img, fp))
        return BAD("target \"%s\": CPU kernel %u (%s) is not code of the model", t->name, k,
                   t->kernel_names ? t->kernel_names[k] : "?");
    }
  } else {
    if (t->image_format > 3) return BAD("target \"%s\": unknown image format", t->name);
    if (t->num_kernels && !t->kernel_names)
      return BAD("target \"%s\": GPU kernels need a kernel name table", t->name);
    if (t->image_size && !valid_array(img, t->image, t->image_size, 1))
      return BAD("target \"%s\": bad code image pointer", t->name);
  }
  if (!valid_array(img, t->plans, h->num_entries, sizeof(ugrt_abi_plan_t)))
    return BAD("target \"%s\": bad plan table pointer", t->name);
  for (uint32_t e = 0; e < h->num_entries; e++)
    UGRT_RETURN_IF_ERROR(validate_plan(a, h, img, t, e));
  return NULL;
}

ugrt_status_t ugrt__validate_header(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                                    const ugrt_image_t *img) {
  /* The fixed prefix first: magic, version and size tell how much we may read. */
  if (!ugrt__image_contains(img, h, 3 * sizeof(uint32_t)))
    return BAD("header pointer lies outside the model");
  if (h->magic != UGRT_MODEL_MAGIC)
    return BAD("bad magic 0x%08x (expected 0x%08x)", h->magic, UGRT_MODEL_MAGIC);
  if (h->abi_version != UGRT_ABI_VERSION)
    return BAD("ABI version %u, this runtime speaks %u", h->abi_version, UGRT_ABI_VERSION);
  if (h->header_size < sizeof(ugrt_model_header_t))
    return BAD("header_size %u is smaller than %zu", h->header_size,
               sizeof(ugrt_model_header_t));
  if (!ugrt__image_contains(img, h, sizeof(ugrt_model_header_t)))
    return BAD("header lies outside the model");
  if (h->producer && !valid_string(img, h->producer)) return BAD("bad producer string");
  if (h->num_dim_exprs > MAX_DIM_EXPRS) return BAD("%u dim expressions", h->num_dim_exprs);
  if (h->num_entries == 0 || h->num_entries > MAX_COUNT)
    return BAD("%u entry points", h->num_entries);
  if (h->num_targets == 0 || h->num_targets > 64) return BAD("%u targets", h->num_targets);
  if (!valid_array(img, h->dim_exprs, h->num_dim_exprs, sizeof(ugrt_abi_dimexpr_t)) ||
      !valid_array(img, h->entries, h->num_entries, sizeof(ugrt_abi_entry_t)) ||
      !valid_array(img, h->targets, h->num_targets, sizeof(ugrt_abi_target_t)))
    return BAD("bad table pointer in the header");
  for (uint32_t i = 0; i < h->num_dim_exprs; i++) {
    const ugrt_abi_dimexpr_t *x = &h->dim_exprs[i];
    if (x->kind > UGRT_DX_MIN) return BAD("dim expression %u has unknown kind %u", i, x->kind);
    if (x->kind == UGRT_DX_SYM) {
      if (!valid_string(img, x->name)) return BAD("symbol %u has a bad name pointer", i);
    } else if (!valid_dim(x->a, i) || !valid_dim(x->b, i)) {
      return BAD("dim expression %u refers to a later or missing expression (not topological)",
                 i);
    }
  }
  if (h->num_states > MAX_COUNT || !valid_array(img, h->states, h->num_states, sizeof(ugrt_abi_tensor_t)))
    return BAD("bad state table");
  for (uint32_t i = 0; i < h->num_states; i++) {
    const ugrt_abi_tensor_t *t = &h->states[i];
    UGRT_RETURN_IF_ERROR(validate_tensor(a, h, img, t, "state", 0, i));
    for (uint32_t d = 0; d < t->rank; d++)
      if (t->dims[d] < 0) return BAD("state \"%s\" has a symbolic dim", t->name);
    if (ugrt__state_bytes(t) == 0 && t->dtype >= UGRT_Q4_0)
      return BAD("state \"%s\" has a block-quantized dtype", t->name);
    if (ugrt__state_bytes(t) == UINT64_MAX) return BAD("state \"%s\" is too large", t->name);
  }
  if (h->metadata_size && !valid_array(img, h->metadata, h->metadata_size, 1))
    return BAD("metadata lie outside the model");
  if (h->weights_tail_size) {
    if (!h->weights_file) return BAD("a weight tail without an external weights file");
    if (!valid_array(img, h->weights_tail, h->weights_tail_size, 1))
      return BAD("the weight tail lies outside the model");
    if (h->weights_tail_offset % 64 || h->weights_tail_offset < h->weights_size ||
        h->weights_tail_offset > UINT64_MAX / 2 || h->weights_tail_size > UINT64_MAX / 2)
      return BAD("bad weight tail offset %llu", (unsigned long long)h->weights_tail_offset);
  }
  for (uint32_t e = 0; e < h->num_entries; e++) UGRT_RETURN_IF_ERROR(validate_entry(a, h, img, e));
  if (h->weights && h->weights_file) return BAD("weights are both embedded and external");
  if (h->weights_size && !h->weights && !h->weights_file)
    return BAD("%llu weight bytes but neither embedded nor external weights",
               (unsigned long long)h->weights_size);
  if (h->weights && !valid_array(img, h->weights, h->weights_size, 1))
    return BAD("embedded weights lie outside the model");
  if (h->weights_file && !valid_string(img, h->weights_file))
    return BAD("bad weights_file string");
  for (uint32_t t = 0; t < h->num_targets; t++)
    UGRT_RETURN_IF_ERROR(validate_target(a, h, img, t));
  return NULL;
}
