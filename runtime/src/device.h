/* The device seam: everything the runtime needs from a place that runs
 * kernels, as one const vtable per backend (device_cpu.c, device_cuda.c).
 *
 * A device has model state (opened once per model: the chosen target, the
 * loaded code, the weights where the device needs them) and session state
 * (per session: a stream, graph caches).  Memory addresses are `void *`
 * either way; on a device whose memory is not host-visible they are device
 * addresses the host must not dereference. */
#ifndef UGRT_DEVICE_H
#define UGRT_DEVICE_H

#include "internal.h"

/* What a device is opened with. */
typedef struct {
  int ordinal;
  const ugrt_model_header_t *h;
  const void *weights;  /* host address of weights_span bytes (NULL when none) */
  uint64_t weights_span; /* bytes: h->weights_size, or the end of the weight tail */
  bool graphs;          /* CUDA: capture the plan into graphs */
} ugrt_device_config_t;

/* One run of an entry's plan, with every address resolved. */
typedef struct {
  const ugrt_abi_target_t *target;
  uint32_t entry;
  const ugrt_abi_plan_t *plan;
  void *const *bufs;   /* device address of each buffer of the plan */
  const int64_t *dims; /* value of each dim expression */
  uint32_t num_dims;
  void **scratch;      /* room for the arguments of the largest step */
} ugrt_exec_t;

typedef struct {
  const char *name; /* "cpu", "cuda" */
  ugrt_target_kind_t target_kind;
  bool host_visible; /* device memory is host memory */
  /* Opens device cfg->ordinal for the model: picks the target (among the
   * header's targets of target_kind), loads its code and makes the weights
   * reachable (*out_weights, a device address).  UGRT_UNAVAILABLE when the
   * device or a suitable target is not there. */
  ugrt_status_t (*open)(const ugrt_allocator_t *a, const ugrt_device_config_t *cfg,
                        void **out_state, const ugrt_abi_target_t **out_target,
                        void **out_weights);
  void (*close)(const ugrt_allocator_t *a, void *state);
  /* Per-session state; `a` is the session's allocator. */
  ugrt_status_t (*session_open)(void *state, const ugrt_allocator_t *a,
                                const ugrt_abi_target_t *t, void **out_sess);
  void (*session_close)(void *state, const ugrt_allocator_t *a, void *sess);
  /* Device memory for a session (host backends allocate from `a`). */
  ugrt_status_t (*mem_alloc)(void *state, const ugrt_allocator_t *a, size_t size,
                             void **out_ptr);
  void (*mem_free)(void *state, const ugrt_allocator_t *a, void *ptr);
  /* Copies complete before they return; errors are allocated from `a`. */
  ugrt_status_t (*upload)(void *state, void *sess, const ugrt_allocator_t *a, void *dst,
                          const void *src, size_t n);
  ugrt_status_t (*download)(void *state, void *sess, const ugrt_allocator_t *a, void *dst,
                            const void *src, size_t n);
  /* Runs every step of x->plan and waits for the result. */
  ugrt_status_t (*execute)(void *state, void *sess, const ugrt_allocator_t *a,
                           const ugrt_exec_t *x);
} ugrt_device_ops_t;

extern const ugrt_device_ops_t ugrt__device_cpu;
extern const ugrt_device_ops_t ugrt__device_cuda;

#endif
