/* Sessions: bound inputs, the intermediate arena, outputs, and running the
 * plan of an entry point on the model's device. */
#include <string.h>

#include "model.h"

/* Alignment of every buffer placed in the arena. */
#define ARENA_ALIGN 64

typedef struct {
  bool set;
  bool fresh; /* set since the entry last ran: binds symbols for set-time checks */
  ugrt_dtype_t dtype;
  uint32_t rank;
  int64_t dims[UGRT_MAX_RANK];
  void *data; /* device memory */
  size_t size, cap;
  bool borrowed;   /* data is the caller's device memory (zero-copy) */
  void *host;      /* outputs on a device that is not host-visible: a host copy */
  size_t host_cap;
  bool host_valid; /* host holds the output of the last run */
} slot_t;

typedef struct {
  slot_t *inputs, *outputs;
  bool ran;
  /* The arena placement of the last run, reused while every buffer size
   * stays the same (decode steps): sizes and offsets per buffer. */
  uint64_t *placed_size, *placed_off, placed_total;
} entry_state_t;

struct ugrt_session {
  ugrt_model_t *model;
  ugrt_allocator_t alloc;
  void *dev_sess;     /* the device's session state (stream, graphs) */
  entry_state_t *entries;
  int64_t *dims;      /* values of every dim expression */
  bool *bound;        /* per dim expression: a bound symbol */
  void *arena;        /* device memory */
  size_t arena_cap;
  /* Scratch sized for the largest plan. */
  void **buf_ptrs;
  uint64_t *buf_size, *buf_off;
  uint32_t *order;
  bool *placed;
  void **args;
  void **states;      /* device memory of each state of the header */
};

void ugrt_session_options_init(ugrt_session_options_t *options) {
  if (options) memset(options, 0, sizeof *options);
}

static const ugrt_device_ops_t *dev_of(const ugrt_session_t *s) { return s->model->dev; }

static void free_slot(ugrt_session_t *s, slot_t *sl) {
  if (sl->data && !sl->borrowed) dev_of(s)->mem_free(s->model->dev_state, &s->alloc, sl->data);
  sl->data = NULL;
  sl->cap = 0;
  sl->borrowed = false;
}

void ugrt_session_release(ugrt_session_t *session) {
  if (!session) return;
  ugrt_session_t *s = session;
  ugrt_allocator_t a = s->alloc;
  const ugrt_model_header_t *h = s->model->h;
  if (s->entries) {
    for (uint32_t e = 0; e < h->num_entries; e++) {
      entry_state_t *es = &s->entries[e];
      for (uint32_t i = 0; es->inputs && i < h->entries[e].num_inputs; i++)
        free_slot(s, &es->inputs[i]);
      for (uint32_t i = 0; es->outputs && i < h->entries[e].num_outputs; i++) {
        free_slot(s, &es->outputs[i]);
        ugrt__free(&a, es->outputs[i].host);
      }
      ugrt__free(&a, es->inputs);
      ugrt__free(&a, es->outputs);
      ugrt__free(&a, es->placed_size);
      ugrt__free(&a, es->placed_off);
    }
  }
  for (uint32_t i = 0; s->states && i < h->num_states; i++)
    if (s->states[i]) dev_of(s)->mem_free(s->model->dev_state, &a, s->states[i]);
  ugrt__free(&a, s->states);
  if (s->arena) dev_of(s)->mem_free(s->model->dev_state, &a, s->arena);
  if (s->dev_sess) dev_of(s)->session_close(s->model->dev_state, &a, s->dev_sess);
  ugrt__free(&a, s->entries);
  ugrt__free(&a, s->dims);
  ugrt__free(&a, s->bound);
  ugrt__free(&a, s->buf_ptrs);
  ugrt__free(&a, s->buf_size);
  ugrt__free(&a, s->buf_off);
  ugrt__free(&a, s->placed);
  ugrt__free(&a, s->order);
  ugrt__free(&a, s->args);
  ugrt_model_release(s->model);
  ugrt__free(&a, s);
}

ugrt_status_t ugrt_session_create(ugrt_model_t *model, const ugrt_session_options_t *options,
                                  ugrt_session_t **out_session) {
  if (!out_session) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "out_session is NULL");
  *out_session = NULL;
  if (!model) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "model is NULL");
  ugrt_allocator_t a = (options && options->allocator.alloc && options->allocator.free)
                           ? options->allocator
                           : model->alloc;
  ugrt_session_t *s = ugrt__calloc(&a, 1, sizeof *s);
  if (!s) return ugrt__status_oom();
  s->alloc = a;
  s->model = model;
  ugrt__model_retain(model);
  const ugrt_model_header_t *h = model->h;
  uint32_t max_bufs = 1, max_args = 1;
  for (uint32_t e = 0; e < h->num_entries; e++) {
    const ugrt_abi_plan_t *p = &model->target->plans[e];
    if (p->num_buffers > max_bufs) max_bufs = p->num_buffers;
    for (uint32_t k = 0; k < p->num_steps; k++)
      if (p->steps[k].num_args > max_args) max_args = p->steps[k].num_args;
  }
  bool ok = (s->entries = ugrt__calloc(&a, h->num_entries, sizeof *s->entries)) &&
            (s->dims = ugrt__calloc(&a, h->num_dim_exprs, sizeof *s->dims)) &&
            (s->bound = ugrt__calloc(&a, h->num_dim_exprs, sizeof *s->bound)) &&
            (s->buf_ptrs = ugrt__calloc(&a, max_bufs, sizeof *s->buf_ptrs)) &&
            (s->buf_size = ugrt__calloc(&a, max_bufs, sizeof *s->buf_size)) &&
            (s->buf_off = ugrt__calloc(&a, max_bufs, sizeof *s->buf_off)) &&
            (s->order = ugrt__calloc(&a, max_bufs, sizeof *s->order)) &&
            (s->placed = ugrt__calloc(&a, max_bufs, sizeof *s->placed)) &&
            (s->args = ugrt__calloc(&a, max_args, sizeof *s->args));
  for (uint32_t e = 0; ok && e < h->num_entries; e++) {
    uint32_t nb = model->target->plans[e].num_buffers;
    ok = (s->entries[e].inputs =
              ugrt__calloc(&a, h->entries[e].num_inputs, sizeof(slot_t))) &&
         (s->entries[e].outputs = ugrt__calloc(&a, h->entries[e].num_outputs, sizeof(slot_t))) &&
         (s->entries[e].placed_size = ugrt__calloc(&a, nb + 1, sizeof(uint64_t))) &&
         (s->entries[e].placed_off = ugrt__calloc(&a, nb + 1, sizeof(uint64_t)));
    /* no placement yet: a size no buffer has */
    for (uint32_t b = 0; ok && b < nb; b++) s->entries[e].placed_size[b] = UINT64_MAX;
  }
  if (!ok) {
    ugrt_session_release(s);
    return ugrt__status_oom();
  }
  ugrt_status_t st = model->dev->session_open(model->dev_state, &a, model->target, &s->dev_sess);
  if (!st && h->num_states && !(s->states = ugrt__calloc(&a, h->num_states, sizeof *s->states)))
    st = ugrt__status_oom();
  for (uint32_t i = 0; !st && i < h->num_states; i++)
    st = model->dev->mem_alloc(model->dev_state, &a, (size_t)ugrt__state_bytes(&h->states[i]), &s->states[i]);
  if (!st) st = ugrt_session_reset_states(s);
  if (st) {
    ugrt_session_release(s);
    return st;
  }
  *out_session = s;
  return NULL;
}

/* ---- state ---- */

static ugrt_status_t state_check(ugrt_session_t *s, uint32_t index, size_t size) {
  if (!s) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "session is NULL");
  const ugrt_model_header_t *h = s->model->h;
  if (index >= h->num_states)
    return ugrt__status(&s->alloc, UGRT_OUT_OF_RANGE, "state %u of %u", index, h->num_states);
  uint64_t n = ugrt__state_bytes(&h->states[index]);
  if (size != n)
    return ugrt__status(&s->alloc, UGRT_INVALID_ARGUMENT, "state \"%s\" has %llu bytes, not %zu",
                        h->states[index].name, (unsigned long long)n, size);
  return NULL;
}

ugrt_status_t ugrt_session_reset_states(ugrt_session_t *s) {
  if (!s) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "session is NULL");
  const ugrt_model_header_t *h = s->model->h;
  enum { CHUNK = 1 << 20 };
  void *zeros = NULL;
  ugrt_status_t st = NULL;
  for (uint32_t i = 0; !st && i < h->num_states; i++) {
    uint64_t n = ugrt__state_bytes(&h->states[i]);
    if (dev_of(s)->host_visible) {
      memset(s->states[i], 0, (size_t)n);
      continue;
    }
    if (!zeros && !(zeros = ugrt__calloc(&s->alloc, 1, CHUNK))) return ugrt__status_oom();
    for (uint64_t o = 0; !st && o < n; o += CHUNK)
      st = dev_of(s)->upload(s->model->dev_state, s->dev_sess, &s->alloc, (char *)s->states[i] + o, zeros,
                             (size_t)(n - o < CHUNK ? n - o : CHUNK));
  }
  ugrt__free(&s->alloc, zeros);
  return st;
}

ugrt_status_t ugrt_session_read_state(ugrt_session_t *s, uint32_t index, void *dst, size_t size) {
  UGRT_RETURN_IF_ERROR(state_check(s, index, size));
  if (!dst && size) return ugrt__status(&s->alloc, UGRT_INVALID_ARGUMENT, "dst is NULL");
  return dev_of(s)->download(s->model->dev_state, s->dev_sess, &s->alloc, dst, s->states[index], size);
}

ugrt_status_t ugrt_session_write_state(ugrt_session_t *s, uint32_t index, const void *src, size_t size) {
  UGRT_RETURN_IF_ERROR(state_check(s, index, size));
  if (!src && size) return ugrt__status(&s->alloc, UGRT_INVALID_ARGUMENT, "src is NULL");
  return dev_of(s)->upload(s->model->dev_state, s->dev_sess, &s->alloc, s->states[index], src, size);
}

/* Makes sure sl->data holds at least size bytes (contents not kept) of
 * the session's own memory. */
static ugrt_status_t reserve_slot(ugrt_session_t *s, slot_t *sl, size_t size) {
  if (sl->data && !sl->borrowed && sl->cap >= size) return NULL;
  free_slot(s, sl);
  void *p;
  UGRT_RETURN_IF_ERROR(dev_of(s)->mem_alloc(s->model->dev_state, &s->alloc, size, &p));
  sl->data = p;
  sl->cap = size;
  return NULL;
}

/* Bytes of a tensor; false on overflow or a quantized dtype. */
static bool tensor_bytes(ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims, size_t *out) {
  uint64_t n = ugrt_dtype_size(dtype);
  if (n == 0) return false;
  for (uint32_t d = 0; d < rank; d++) {
    if (dims[d] < 0 || __builtin_mul_overflow(n, (uint64_t)dims[d], &n)) return false;
  }
  if (n > SIZE_MAX) return false;
  *out = (size_t)n;
  return true;
}

static ugrt_status_t check_entry(ugrt_session_t *s, uint32_t entry) {
  if (entry >= s->model->h->num_entries)
    return ugrt__status(&s->alloc, UGRT_OUT_OF_RANGE, "entry %u out of range (the model has %u)",
                        entry, s->model->h->num_entries);
  return NULL;
}

/* set_input (device false: copy host data) and set_input_device (device
 * true: keep the caller's device address). */
static ugrt_status_t set_input(ugrt_session_t *session, uint32_t entry, uint32_t index,
                               ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims,
                               const void *data, size_t data_size, bool device) {
  if (!session) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "session is NULL");
  ugrt_session_t *s = session;
  const ugrt_allocator_t *a = &s->alloc;
  UGRT_RETURN_IF_ERROR(check_entry(s, entry));
  const ugrt_model_header_t *h = s->model->h;
  const ugrt_abi_entry_t *en = &h->entries[entry];
  if (index >= en->num_inputs)
    return ugrt__status(a, UGRT_OUT_OF_RANGE, "input %u out of range (entry \"%s\" has %u)",
                        index, en->name, en->num_inputs);
  if ((rank > 0 && !dims) || (data_size > 0 && !data))
    return ugrt__status(a, UGRT_INVALID_ARGUMENT, "input \"%s\": dims or data is NULL",
                        en->inputs[index].name);
  const ugrt_abi_tensor_t *decl = &en->inputs[index];
  const ugrt_tensor_info_t *info = &s->model->entries[entry].inputs[index];
  char want[256], got[256];
  ugrt__format_decl(s->model, info, want, sizeof want);
  if (rank <= UGRT_MAX_RANK)
    ugrt__format_shape(dtype, rank, dims, got, sizeof got);
  else
    strcpy(got, "(rank too large)");
  if ((uint32_t)dtype != decl->dtype || rank != decl->rank)
    return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                        "input \"%s\" of entry \"%s\": expected %s, got %s", decl->name, en->name,
                        want, got);
  entry_state_t *es = &s->entries[entry];
  for (uint32_t d = 0; d < rank; d++) {
    ugrt_dim_t dd = decl->dims[d];
    if (dims[d] < 0)
      return ugrt__status(a, UGRT_INVALID_ARGUMENT, "input \"%s\": dim %u is negative (got %s)",
                          decl->name, d, got);
    if (dd >= 0) {
      if (dims[d] != dd)
        return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                            "input \"%s\": dim %u is %lld, expected %lld (expected %s, got %s)",
                            decl->name, d, (long long)dims[d], (long long)dd, want, got);
      continue;
    }
    if (h->dim_exprs[ugrt__dim_index(dd)].kind != UGRT_DX_SYM) continue; /* checked at run */
    /* Another input set since the last run may already have bound this
     * symbol (older inputs are checked at run time, so that shapes can
     * change one input at a time between runs). */
    for (uint32_t j = 0; j < en->num_inputs; j++) {
      if (j == index || !es->inputs[j].fresh) continue;
      const ugrt_abi_tensor_t *o = &en->inputs[j];
      for (uint32_t k = 0; k < o->rank; k++) {
        if (o->dims[k] == dd && es->inputs[j].dims[k] != dims[d])
          return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                              "input \"%s\": dim %u is %lld but symbol \"%s\" is bound to %lld "
                              "by input \"%s\" (expected %s, got %s)",
                              decl->name, d, (long long)dims[d], info->dim_names[d],
                              (long long)es->inputs[j].dims[k], o->name, want, got);
      }
    }
  }
  size_t bytes;
  if (!tensor_bytes(dtype, rank, dims, &bytes))
    return ugrt__status(a, UGRT_OUT_OF_RANGE, "input \"%s\": size of %s overflows", decl->name,
                        got);
  if (bytes != data_size)
    return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                        "input \"%s\": %zu bytes of data, but %s needs %zu", decl->name,
                        data_size, got, bytes);
  slot_t *sl = &es->inputs[index];
  sl->set = sl->fresh = false;
  if (device) {
    free_slot(s, sl);
    sl->data = (void *)(uintptr_t)data;
    sl->cap = bytes;
    sl->borrowed = true;
  } else {
    UGRT_RETURN_IF_ERROR(reserve_slot(s, sl, bytes));
    UGRT_RETURN_IF_ERROR(
        dev_of(s)->upload(s->model->dev_state, s->dev_sess, a, sl->data, data, bytes));
  }
  sl->set = sl->fresh = true;
  sl->dtype = dtype;
  sl->rank = rank;
  memcpy(sl->dims, dims, rank * sizeof *dims);
  sl->size = bytes;
  es->ran = false;
  return NULL;
}

ugrt_status_t ugrt_session_set_input(ugrt_session_t *session, uint32_t entry, uint32_t index,
                                     ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims,
                                     const void *data, size_t data_size) {
  return set_input(session, entry, index, dtype, rank, dims, data, data_size, false);
}

ugrt_status_t ugrt_session_set_input_device(ugrt_session_t *session, uint32_t entry,
                                            uint32_t index, ugrt_dtype_t dtype, uint32_t rank,
                                            const int64_t *dims, const void *device_data,
                                            size_t data_size) {
  return set_input(session, entry, index, dtype, rank, dims, device_data, data_size, true);
}

ugrt_status_t ugrt_session_set_input_by_name(ugrt_session_t *session, uint32_t entry,
                                             const char *name, ugrt_dtype_t dtype, uint32_t rank,
                                             const int64_t *dims, const void *data,
                                             size_t data_size) {
  if (!session) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "session is NULL");
  uint32_t index;
  ugrt_status_t st = ugrt_model_find_input(session->model, entry, name, &index);
  if (st) {
    /* Re-home the status on the session's allocator for a uniform owner. */
    ugrt_status_t r = ugrt__status(&session->alloc, ugrt_status_code(st), "%s",
                                   ugrt_status_message(st));
    ugrt_status_free(st);
    return r;
  }
  return ugrt_session_set_input(session, entry, index, dtype, rank, dims, data, data_size);
}

/* ---- running ---- */

/* Binds every symbol that appears directly as an input dim, evaluates the
 * table and checks the input dims that are compound expressions. */
static ugrt_status_t bind_dims(ugrt_session_t *s, uint32_t entry) {
  const ugrt_allocator_t *a = &s->alloc;
  const ugrt_model_header_t *h = s->model->h;
  const ugrt_abi_entry_t *en = &h->entries[entry];
  entry_state_t *es = &s->entries[entry];
  memset(s->bound, 0, h->num_dim_exprs * sizeof *s->bound);
  for (uint32_t i = 0; i < en->num_inputs; i++) {
    if (!es->inputs[i].set)
      return ugrt__status(a, UGRT_FAILED_PRECONDITION, "entry \"%s\": input \"%s\" is not set",
                          en->name, en->inputs[i].name);
    const ugrt_abi_tensor_t *t = &en->inputs[i];
    for (uint32_t d = 0; d < t->rank; d++) {
      if (t->dims[d] >= 0) continue;
      uint64_t j = ugrt__dim_index(t->dims[d]);
      if (h->dim_exprs[j].kind != UGRT_DX_SYM) continue;
      int64_t v = es->inputs[i].dims[d];
      if (s->bound[j] && s->dims[j] != v)
        return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                            "input \"%s\": dim %u is %lld but symbol \"%s\" is bound to %lld",
                            t->name, d, (long long)v, h->dim_exprs[j].name,
                            (long long)s->dims[j]);
      s->bound[j] = true;
      s->dims[j] = v;
    }
  }
  UGRT_RETURN_IF_ERROR(ugrt__eval_dims(a, h, s->bound, s->model->entries[entry].need_dims, s->dims));
  for (uint32_t i = 0; i < en->num_inputs; i++) {
    const ugrt_abi_tensor_t *t = &en->inputs[i];
    for (uint32_t d = 0; d < t->rank; d++) {
      int64_t want = ugrt__dim_value(t->dims[d], s->dims);
      if (es->inputs[i].dims[d] != want)
        return ugrt__status(a, UGRT_INVALID_ARGUMENT,
                            "input \"%s\": dim %u is %lld but %s evaluates to %lld", t->name, d,
                            (long long)es->inputs[i].dims[d],
                            s->model->entries[entry].inputs[i].dim_names[d]
                                ? s->model->entries[entry].inputs[i].dim_names[d]
                                : "the declaration",
                            (long long)want);
    }
  }
  return NULL;
}

static bool lifetimes_overlap(const ugrt_abi_buffer_t *x, const ugrt_abi_buffer_t *y) {
  return x->first_step <= y->last_step && y->first_step <= x->last_step;
}

/* Places the arena buffers: planned static offsets first, then first-fit by
 * decreasing size among the buffers whose lifetimes overlap.  Returns the
 * arena size needed. */
static ugrt_status_t place_arena(ugrt_session_t *s, const ugrt_abi_plan_t *p, entry_state_t *es,
                                 uint64_t *out_size) {
  bool same = true;
  for (uint32_t b = 0; b < p->num_buffers && same; b++) same = es->placed_size[b] == s->buf_size[b];
  if (same) {
    memcpy(s->buf_off, es->placed_off, p->num_buffers * sizeof *s->buf_off);
    *out_size = es->placed_total;
    return NULL;
  }
  uint32_t n = 0;
  uint64_t total = 0;
  /* s->placed[c]: buffer c has its offset (planned, or placed earlier in order) */
  for (uint32_t b = 0; b < p->num_buffers; b++)
    s->placed[b] = p->buffers[b].kind == UGRT_BUF_ARENA && p->buffers[b].offset != UINT64_MAX && p->buffers[b].size >= 0;
  for (uint32_t b = 0; b < p->num_buffers; b++) {
    if (p->buffers[b].kind != UGRT_BUF_ARENA) continue;
    const ugrt_abi_buffer_t *buf = &p->buffers[b];
    if (buf->offset != UINT64_MAX && buf->size >= 0) {
      s->buf_off[b] = buf->offset;
      if (buf->offset + s->buf_size[b] > total) total = buf->offset + s->buf_size[b];
      continue;
    }
    /* insertion sort by decreasing size, stable by index */
    uint32_t k = n++;
    while (k > 0 && s->buf_size[s->order[k - 1]] < s->buf_size[b]) {
      s->order[k] = s->order[k - 1];
      k--;
    }
    s->order[k] = b;
  }
  /* placed[] are the planned buffers plus those already handled in order. */
  for (uint32_t i = 0; i < n; i++) {
    uint32_t b = s->order[i];
    const ugrt_abi_buffer_t *buf = &p->buffers[b];
    uint64_t off = 0;
    bool moved = true;
    while (moved) {
      moved = false;
      for (uint32_t c = 0; c < p->num_buffers; c++) {
        const ugrt_abi_buffer_t *o = &p->buffers[c];
        if (c == b || o->kind != UGRT_BUF_ARENA || !lifetimes_overlap(buf, o)) continue;
        if (!s->placed[c] || s->buf_size[c] == 0 || s->buf_size[b] == 0) continue;
        uint64_t os = s->buf_off[c], oe = os + s->buf_size[c];
        if (off < oe && os < off + s->buf_size[b]) {
          off = (oe + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
          moved = true;
        }
      }
    }
    s->buf_off[b] = off;
    s->placed[b] = true;
    if (off + s->buf_size[b] > total) total = off + s->buf_size[b];
  }
  memcpy(es->placed_size, s->buf_size, p->num_buffers * sizeof *s->buf_size);
  memcpy(es->placed_off, s->buf_off, p->num_buffers * sizeof *s->buf_off);
  es->placed_total = total;
  *out_size = total;
  return NULL;
}

ugrt_status_t ugrt_session_run(ugrt_session_t *session, uint32_t entry) {
  if (!session) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "session is NULL");
  ugrt_session_t *s = session;
  const ugrt_allocator_t *a = &s->alloc;
  UGRT_RETURN_IF_ERROR(check_entry(s, entry));
  ugrt_model_t *m = s->model;
  const ugrt_model_header_t *h = m->h;
  const ugrt_abi_entry_t *en = &h->entries[entry];
  const ugrt_abi_plan_t *p = &m->target->plans[entry];
  entry_state_t *es = &s->entries[entry];
  es->ran = false;
  UGRT_RETURN_IF_ERROR(bind_dims(s, entry));
  for (uint32_t i = 0; i < en->num_inputs; i++) es->inputs[i].fresh = false;

  for (uint32_t b = 0; b < p->num_buffers; b++) {
    int64_t v = ugrt__dim_value(p->buffers[b].size, s->dims);
    if (v < 0 || (uint64_t)v > SIZE_MAX / 2)
      return ugrt__status(a, UGRT_OUT_OF_RANGE, "entry \"%s\": buffer %u has size %lld",
                          en->name, b, (long long)v);
    s->buf_size[b] = (uint64_t)v;
  }
  uint64_t arena_size;
  UGRT_RETURN_IF_ERROR(place_arena(s, p, es, &arena_size));
  if (arena_size > SIZE_MAX / 2)
    return ugrt__status(a, UGRT_OUT_OF_RANGE, "entry \"%s\": arena of %llu bytes", en->name,
                        (unsigned long long)arena_size);
  if (!s->arena || s->arena_cap < arena_size) {
    if (s->arena) m->dev->mem_free(m->dev_state, a, s->arena);
    s->arena = NULL;
    s->arena_cap = 0;
    size_t cap = (size_t)arena_size + arena_size / 4; /* room to grow without churn */
    void *mem;
    UGRT_RETURN_IF_ERROR(m->dev->mem_alloc(m->dev_state, a, cap, &mem));
    s->arena = mem;
    s->arena_cap = cap;
  }

  /* Outputs: concrete shapes, and storage at least as large as the buffer. */
  for (uint32_t i = 0; i < en->num_outputs; i++) {
    const ugrt_abi_tensor_t *t = &en->outputs[i];
    slot_t *sl = &es->outputs[i];
    sl->dtype = (ugrt_dtype_t)t->dtype;
    sl->rank = t->rank;
    for (uint32_t d = 0; d < t->rank; d++) {
      sl->dims[d] = ugrt__dim_value(t->dims[d], s->dims);
      if (sl->dims[d] < 0)
        return ugrt__status(a, UGRT_OUT_OF_RANGE, "output \"%s\": dim %u evaluates to %lld",
                            t->name, d, (long long)sl->dims[d]);
    }
    size_t bytes;
    if (!tensor_bytes(sl->dtype, t->rank, sl->dims, &bytes))
      return ugrt__status(a, UGRT_OUT_OF_RANGE, "output \"%s\": size overflows", t->name);
    uint64_t bsize = s->buf_size[p->output_buffers[i]];
    if (bsize < bytes)
      return ugrt__status(a, UGRT_INVALID_MODEL,
                          "output \"%s\": buffer of %llu bytes for a tensor of %zu", t->name,
                          (unsigned long long)bsize, bytes);
    if (sl->borrowed) {
      if (sl->cap < bsize)
        return ugrt__status(a, UGRT_OUT_OF_RANGE,
                            "output \"%s\": the bound device buffer has %zu bytes, the run "
                            "needs %llu",
                            t->name, sl->cap, (unsigned long long)bsize);
    } else {
      UGRT_RETURN_IF_ERROR(reserve_slot(s, sl, (size_t)bsize));
    }
    sl->size = bytes;
    sl->host_valid = false;
  }

  for (uint32_t b = 0; b < p->num_buffers; b++) {
    const ugrt_abi_buffer_t *buf = &p->buffers[b];
    switch (buf->kind) {
      case UGRT_BUF_ARENA: s->buf_ptrs[b] = (char *)s->arena + s->buf_off[b]; break;
      case UGRT_BUF_INPUT: s->buf_ptrs[b] = es->inputs[buf->index].data; break;
      case UGRT_BUF_OUTPUT: s->buf_ptrs[b] = es->outputs[buf->index].data; break;
      case UGRT_BUF_WEIGHT:
        s->buf_ptrs[b] = m->dev_weights ? (char *)m->dev_weights + buf->offset : NULL;
        break;
      case UGRT_BUF_STATE: s->buf_ptrs[b] = s->states[buf->index]; break;
    }
  }
  ugrt_exec_t x = {m->target, entry, p, s->buf_ptrs, s->dims, h->num_dim_exprs, s->args};
  UGRT_RETURN_IF_ERROR(m->dev->execute(m->dev_state, s->dev_sess, a, &x));
  es->ran = true;
  return NULL;
}

/* ---- outputs ---- */

static ugrt_status_t output_slot(ugrt_session_t *s, uint32_t entry, uint32_t index,
                                 slot_t **out) {
  UGRT_RETURN_IF_ERROR(check_entry(s, entry));
  const ugrt_abi_entry_t *en = &s->model->h->entries[entry];
  if (index >= en->num_outputs)
    return ugrt__status(&s->alloc, UGRT_OUT_OF_RANGE, "output %u out of range (entry \"%s\" has %u)",
                        index, en->name, en->num_outputs);
  if (!s->entries[entry].ran)
    return ugrt__status(&s->alloc, UGRT_FAILED_PRECONDITION,
                        "entry \"%s\" has not run since its inputs were last set", en->name);
  *out = &s->entries[entry].outputs[index];
  return NULL;
}

/* Fills a view of output `index`; device: the data address is the device's. */
static ugrt_status_t output_view(ugrt_session_t *session, uint32_t entry, uint32_t index,
                                 bool device, ugrt_tensor_view_t *out_view) {
  if (out_view) memset(out_view, 0, sizeof *out_view);
  if (!session || !out_view)
    return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "ugrt_session_output: NULL argument");
  ugrt_session_t *s = session;
  slot_t *sl = NULL;
  UGRT_RETURN_IF_ERROR(output_slot(s, entry, index, &sl));
  const void *data = sl->data;
  if (!device && !dev_of(s)->host_visible) {
    /* A host copy, made once per run and reused while it is large enough. */
    if (!sl->host_valid) {
      if (!sl->host || sl->host_cap < sl->size) {
        ugrt__free(&s->alloc, sl->host);
        sl->host_cap = 0;
        if (!(sl->host = ugrt__alloc(&s->alloc, sl->size, 64))) return ugrt__status_oom();
        sl->host_cap = sl->size;
      }
      UGRT_RETURN_IF_ERROR(dev_of(s)->download(s->model->dev_state, s->dev_sess, &s->alloc,
                                               sl->host, sl->data, sl->size));
      sl->host_valid = true;
    }
    data = sl->host;
  }
  out_view->name = s->model->h->entries[entry].outputs[index].name;
  out_view->dtype = sl->dtype;
  out_view->rank = sl->rank;
  out_view->dims = sl->dims;
  out_view->data = data;
  out_view->size = sl->size;
  return NULL;
}

ugrt_status_t ugrt_session_output(ugrt_session_t *session, uint32_t entry, uint32_t index,
                                  ugrt_tensor_view_t *out_view) {
  return output_view(session, entry, index, false, out_view);
}

ugrt_status_t ugrt_session_output_device(ugrt_session_t *session, uint32_t entry,
                                         uint32_t index, ugrt_tensor_view_t *out_view) {
  return output_view(session, entry, index, true, out_view);
}

ugrt_status_t ugrt_session_set_output_device(ugrt_session_t *session, uint32_t entry,
                                             uint32_t index, void *device_data,
                                             size_t capacity) {
  if (!session) return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "session is NULL");
  ugrt_session_t *s = session;
  UGRT_RETURN_IF_ERROR(check_entry(s, entry));
  const ugrt_abi_entry_t *en = &s->model->h->entries[entry];
  if (index >= en->num_outputs)
    return ugrt__status(&s->alloc, UGRT_OUT_OF_RANGE,
                        "output %u out of range (entry \"%s\" has %u)", index, en->name,
                        en->num_outputs);
  slot_t *sl = &s->entries[entry].outputs[index];
  free_slot(s, sl);
  if (device_data) {
    sl->data = device_data;
    sl->cap = capacity;
    sl->borrowed = true;
  }
  s->entries[entry].ran = false;
  return NULL;
}

ugrt_status_t ugrt_session_copy_output(ugrt_session_t *session, uint32_t entry, uint32_t index,
                                       void *dst, size_t dst_size) {
  if (!session || (!dst && dst_size))
    return ugrt__status(NULL, UGRT_INVALID_ARGUMENT, "ugrt_session_copy_output: NULL argument");
  slot_t *sl = NULL;
  UGRT_RETURN_IF_ERROR(output_slot(session, entry, index, &sl));
  if (dst_size < sl->size) {
    char got[256];
    ugrt__format_shape(sl->dtype, sl->rank, sl->dims, got, sizeof got);
    return ugrt__status(&session->alloc, UGRT_OUT_OF_RANGE,
                        "output \"%s\" (%s) needs %zu bytes, the destination has %zu",
                        session->model->h->entries[entry].outputs[index].name, got, sl->size,
                        dst_size);
  }
  if (sl->size && !dst)
    return ugrt__status(&session->alloc, UGRT_INVALID_ARGUMENT, "destination is NULL");
  if (sl->host_valid) {
    if (sl->size) memcpy(dst, sl->host, sl->size);
    return NULL;
  }
  return session->model->dev->download(session->model->dev_state, session->dev_sess,
                                       &session->alloc, dst, sl->data, sl->size);
}
