/* The loaded model, shared by model.c and session.c. */
#ifndef UGRT_MODEL_H
#define UGRT_MODEL_H

#include "device.h"

typedef struct {
  ugrt_tensor_info_t *inputs, *outputs;
  bool *need_dims; /* the dim expressions the entry's plan uses (ugrt__plan_dims) */
} ugrt_entry_info_t;

struct ugrt_model {
  atomic_int refs;          /* the caller's reference plus one per session */
  ugrt_allocator_t alloc;
  ugrt_pool_t pool;         /* introspection tables */
  void *dl;                 /* dlopen handle */
  const ugrt_model_header_t *h;
  const ugrt_abi_target_t *target; /* the target chosen for the device */
  const ugrt_device_ops_t *dev;
  void *dev_state;
  char device_name[32];
  const void *weights;      /* host address of weights_span bytes */
  uint64_t weights_span;    /* weights_size, or with a tail its end */
  void *dev_weights;        /* the weights' address on the device */
  void *weights_map;        /* mmap of an external weights file, or NULL */
  size_t weights_map_size;
  const char **dim_text;    /* text of every dim expression */
  ugrt_entry_info_t *entries;
};

/* Takes a reference (sessions). */
void ugrt__model_retain(ugrt_model_t *m);

/* "f32[n,3]" for a declared tensor, into buf. */
void ugrt__format_decl(const ugrt_model_t *m, const ugrt_tensor_info_t *t, char *buf, size_t n);
/* "f32[4,3]" for a concrete shape, into buf. */
void ugrt__format_shape(ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims, char *buf,
                        size_t n);

#endif
