/* libugrt: load a model.so produced by ugcc and run it.
 *
 * Plain C11; no LLVM, no C++, no link-time GPU dependency.
 *
 * Ownership, once for the whole API:
 *  - Every object made by a `*_create` / `*_load` function is released by its
 *    `*_release` function; releasing NULL is a no-op.
 *  - Every function that can fail returns a ugrt_status_t: NULL means OK,
 *    anything else is owned by the caller and freed with ugrt_status_free().
 *  - Out-parameters are cleared first (`*out = NULL` / zeroed) and hold
 *    something only on success; a failing call leaks nothing.
 *  - Every byte the runtime allocates comes from the allocator in the options
 *    (the system allocator when none is given).  A session allocates from its
 *    own allocator (by default the model's).
 *  - A session holds a reference to its model: the model may be released
 *    before its sessions, it is freed when the last of them is released.
 *  - Strings and arrays returned by the model_* introspection functions live
 *    as long as the model.  Output views returned by a session stay valid
 *    until the next ugrt_session_run() or ugrt_session_release() of that
 *    session.
 *  - Input data is copied when it is set; the caller's buffer may be reused
 *    at once.  The *_device calls instead borrow the caller's device memory
 *    (zero-copy): it must stay valid, and unchanged while a run reads or
 *    writes it, until it is replaced or the session is released.
 *  - One object is not to be used from two threads at once; different
 *    sessions of one model may run concurrently.
 *
 * Typical use:
 *   ugrt_model_t *m; ugrt_session_t *s;
 *   ugrt_model_load("model.so", NULL, &m);
 *   ugrt_session_create(m, NULL, &s);
 *   ugrt_session_set_input_by_name(s, 0, "x", UGRT_F32, 2, dims, data, bytes);
 *   ugrt_session_run(s, 0);
 *   ugrt_session_output(s, 0, 0, &view);
 *   ugrt_session_release(s); ugrt_model_release(m);
 */
#ifndef UGRT_UGRT_H
#define UGRT_UGRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ugrt/model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define UGRT_API __attribute__((visibility("default")))
#else
#define UGRT_API
#endif

#define UGRT_VERSION_MAJOR 0
#define UGRT_VERSION_MINOR 1
#define UGRT_VERSION_PATCH 0
/* Largest tensor rank the runtime accepts. */
#define UGRT_MAX_RANK 16

/* "0.1.0": the version of the runtime library. */
UGRT_API const char *ugrt_version(void);
/* The model ABI version this runtime speaks (UGRT_ABI_VERSION). */
UGRT_API uint32_t ugrt_abi_version(void);

/* ---- status ---- */

typedef enum {
  UGRT_OK = 0,
  UGRT_INVALID_ARGUMENT,  /* a caller passed something wrong (NULL handle, bad shape) */
  UGRT_NOT_FOUND,         /* a file, symbol, entry or tensor name does not exist */
  UGRT_OUT_OF_MEMORY,
  UGRT_INVALID_MODEL,     /* model.so or its weights are malformed or corrupted */
  UGRT_UNAVAILABLE,       /* the requested device or target is not there */
  UGRT_FAILED_PRECONDITION, /* e.g. running before every input is set */
  UGRT_OUT_OF_RANGE,      /* an index or a dim value out of range, an overflow */
  UGRT_IO,                /* an operating system call failed */
  UGRT_INTERNAL,
} ugrt_status_code_t;

typedef struct ugrt_status *ugrt_status_t;

/* UGRT_OK for NULL. */
UGRT_API ugrt_status_code_t ugrt_status_code(ugrt_status_t status);
/* The formatted message ("OK" for NULL); valid until ugrt_status_free(). */
UGRT_API const char *ugrt_status_message(ugrt_status_t status);
/* "OK", "INVALID_ARGUMENT", ... */
UGRT_API const char *ugrt_status_code_name(ugrt_status_code_t code);
UGRT_API void ugrt_status_free(ugrt_status_t status);

/* ---- allocator ---- */

/* alloc returns `size` bytes aligned to `align` (a power of two) or NULL;
 * free accepts NULL.  All runtime memory goes through one of these. */
typedef struct {
  void *(*alloc)(void *ctx, size_t size, size_t align);
  void (*free)(void *ctx, void *ptr);
  void *ctx;
} ugrt_allocator_t;

/* The allocator used when an options struct leaves `alloc` NULL. */
UGRT_API ugrt_allocator_t ugrt_allocator_system(void);

/* ---- dtypes ---- */

/* "f32", "i64", ...; "?" when out of range. */
UGRT_API const char *ugrt_dtype_name(ugrt_dtype_t dtype);
/* Bytes per element of a plain type; 0 for block-quantized or invalid types. */
UGRT_API size_t ugrt_dtype_size(ugrt_dtype_t dtype);
/* Looks a dtype up by its name ("f32"); false when there is none. */
UGRT_API bool ugrt_dtype_from_name(const char *name, ugrt_dtype_t *out_dtype);

/* ---- models ---- */

typedef struct ugrt_model ugrt_model_t;

typedef struct {
  ugrt_allocator_t allocator; /* alloc == NULL: the system allocator */
  /* "auto" (default: a GPU target when one is present and usable, else the
   * CPU), "cpu", "cuda" or "cuda:N". */
  const char *device;
  /* Check weights_hash (FNV-1a 64) of the weights on load; default true. */
  bool verify_weights;
  /* CUDA: capture each entry's plan into a CUDA graph on its first run and
   * replay it while shapes and buffers stay the same; default true.  False
   * launches every kernel on every run. */
  bool cuda_graphs;
} ugrt_model_options_t;

/* Sets the defaults: system allocator, device "auto", verify_weights true,
 * cuda_graphs true.
 *
 * The CUDA driver (libcuda.so.1, or the file named by the environment
 * variable UGRT_LIBCUDA) is opened with dlopen only when the device asks for
 * cuda or auto and the model has a cuda target. */
UGRT_API void ugrt_model_options_init(ugrt_model_options_t *options);

/* Opens model.so (dlopen, RTLD_LOCAL|RTLD_NOW), validates its header entirely,
 * maps external weights and picks the target for options->device.
 * options may be NULL (defaults).  A malformed model gives
 * UGRT_INVALID_MODEL, never a crash. */
UGRT_API ugrt_status_t ugrt_model_load(const char *path, const ugrt_model_options_t *options,
                                       ugrt_model_t **out_model);
/* Drops the caller's reference; sessions keep the model alive. */
UGRT_API void ugrt_model_release(ugrt_model_t *model);

/* The producer string of the header ("ugcc 0.1.0"). */
UGRT_API const char *ugrt_model_producer(const ugrt_model_t *model);
/* The device the model runs on ("cpu", "cuda:0"). */
UGRT_API const char *ugrt_model_device(const ugrt_model_t *model);
/* The name of the chosen target ("cpu:x86-64"). */
UGRT_API const char *ugrt_model_target(const ugrt_model_t *model);

/* Number of entry points; entries are numbered 0..count-1. */
UGRT_API uint32_t ugrt_model_entry_count(const ugrt_model_t *model);
/* Name of an entry ("main"); NULL when out of range. */
UGRT_API const char *ugrt_model_entry_name(const ugrt_model_t *model, uint32_t entry);
/* The number of the entry called `name`; UGRT_NOT_FOUND when there is none. */
UGRT_API ugrt_status_t ugrt_model_find_entry(const ugrt_model_t *model, const char *name,
                                             uint32_t *out_entry);
/* 0 for a NULL model or an entry out of range. */
UGRT_API uint32_t ugrt_model_input_count(const ugrt_model_t *model, uint32_t entry);
UGRT_API uint32_t ugrt_model_output_count(const ugrt_model_t *model, uint32_t entry);

/* A declared input or output. */
typedef struct {
  const char *name;
  ugrt_dtype_t dtype;
  uint32_t rank;
  /* Static sizes; -1 for a symbolic dim. */
  const int64_t *dims;
  /* Per dim: NULL when static, else the symbol's name ("batch") or the
   * expression's text ("seq + 1"). */
  const char *const *dim_names;
} ugrt_tensor_info_t;

/* Describes input / output `index` of `entry`; UGRT_OUT_OF_RANGE for a bad
 * entry or index.  The strings and arrays live as long as the model. */
UGRT_API ugrt_status_t ugrt_model_input_info(const ugrt_model_t *model, uint32_t entry,
                                             uint32_t index, ugrt_tensor_info_t *out_info);
UGRT_API ugrt_status_t ugrt_model_output_info(const ugrt_model_t *model, uint32_t entry,
                                              uint32_t index, ugrt_tensor_info_t *out_info);
/* The index of the input / output called `name`; UGRT_NOT_FOUND when none. */
UGRT_API ugrt_status_t ugrt_model_find_input(const ugrt_model_t *model, uint32_t entry,
                                             const char *name, uint32_t *out_index);
UGRT_API ugrt_status_t ugrt_model_find_output(const ugrt_model_t *model, uint32_t entry,
                                              const char *name, uint32_t *out_index);

/* Session state: tensors a session keeps from run to run (a language
 * model's KV cache), which every entry reads and updates in place.  Each
 * session has its own, zeroed when it is created. */
UGRT_API uint32_t ugrt_model_state_count(const ugrt_model_t *model);
/* Describes state `index` (static dims); UGRT_OUT_OF_RANGE when there is none. */
UGRT_API ugrt_status_t ugrt_model_state_info(const ugrt_model_t *model, uint32_t index,
                                             ugrt_tensor_info_t *out_info);
/* The metadata a model carries for tools (a GGUF model's key/values as a
 * GGUF file without tensors, holding its tokenizer), or NULL and 0. */
UGRT_API const void *ugrt_model_metadata(const ugrt_model_t *model, size_t *out_size);

/* ---- sessions ---- */

typedef struct ugrt_session ugrt_session_t;

typedef struct {
  ugrt_allocator_t allocator; /* alloc == NULL: the model's allocator */
} ugrt_session_options_t;

/* Sets the defaults: the model's allocator. */
UGRT_API void ugrt_session_options_init(ugrt_session_options_t *options);

/* A session owns the inputs, the intermediate arena and the outputs of runs.
 * options may be NULL (defaults). */
UGRT_API ugrt_status_t ugrt_session_create(ugrt_model_t *model,
                                           const ugrt_session_options_t *options,
                                           ugrt_session_t **out_session);
/* Frees the session and drops its reference on the model. */
UGRT_API void ugrt_session_release(ugrt_session_t *session);

/* Copies input `index` of `entry` from host memory.  dtype and rank must match
 * the declaration, every static dim must match, and a symbolic dim must agree
 * with the value that other inputs, set since `entry` last ran, bound to the
 * same symbol (inputs set before are checked again by the run, so shapes may
 * change one input at a time).  data_size must be the exact byte size of the
 * tensor. */
UGRT_API ugrt_status_t ugrt_session_set_input(ugrt_session_t *session, uint32_t entry,
                                              uint32_t index, ugrt_dtype_t dtype, uint32_t rank,
                                              const int64_t *dims, const void *data,
                                              size_t data_size);
/* The same, with the input found by name (UGRT_NOT_FOUND when none). */
UGRT_API ugrt_status_t ugrt_session_set_input_by_name(ugrt_session_t *session, uint32_t entry,
                                                      const char *name, ugrt_dtype_t dtype,
                                                      uint32_t rank, const int64_t *dims,
                                                      const void *data, size_t data_size);

/* Like ugrt_session_set_input, but zero-copy: device_data is an address in
 * the model's device memory (a CUdeviceptr on cuda, host memory on cpu) that
 * the runs read in place; see the ownership notes above. */
UGRT_API ugrt_status_t ugrt_session_set_input_device(ugrt_session_t *session, uint32_t entry,
                                                     uint32_t index, ugrt_dtype_t dtype,
                                                     uint32_t rank, const int64_t *dims,
                                                     const void *device_data,
                                                     size_t data_size);

/* Runs `entry`: binds symbols from the input shapes, evaluates every dim
 * expression, places intermediates, allocates outputs and runs each step. */
UGRT_API ugrt_status_t ugrt_session_run(ugrt_session_t *session, uint32_t entry);

/* Zeroes every state of the session (a fresh KV cache). */
UGRT_API ugrt_status_t ugrt_session_reset_states(ugrt_session_t *session);
/* Copies state `index` to host memory dst / from host memory src; size must
 * be the state's exact byte size.  Saving a prompt's cache and writing it
 * back later (or into another session of the same model) resumes from it. */
UGRT_API ugrt_status_t ugrt_session_read_state(ugrt_session_t *session, uint32_t index, void *dst,
                                               size_t size);
UGRT_API ugrt_status_t ugrt_session_write_state(ugrt_session_t *session, uint32_t index,
                                                const void *src, size_t size);

/* An output of the last run. */
typedef struct {
  const char *name;
  ugrt_dtype_t dtype;
  uint32_t rank;
  const int64_t *dims; /* concrete sizes */
  const void *data;    /* host-visible; valid until the next run or release */
  size_t size;         /* bytes */
} ugrt_tensor_view_t;

/* Fails with UGRT_FAILED_PRECONDITION when `entry` has not run successfully. */
UGRT_API ugrt_status_t ugrt_session_output(ugrt_session_t *session, uint32_t entry,
                                           uint32_t index, ugrt_tensor_view_t *out_view);
/* The same view with `data` the output's address in device memory (a
 * CUdeviceptr on cuda): no copy; valid until the next run or release. */
UGRT_API ugrt_status_t ugrt_session_output_device(ugrt_session_t *session, uint32_t entry,
                                                  uint32_t index, ugrt_tensor_view_t *out_view);
/* Makes later runs write output `index` into the caller's device memory
 * (zero-copy) of `capacity` bytes; a run whose output buffer needs more
 * fails with UGRT_OUT_OF_RANGE.  device_data NULL returns to memory owned by
 * the session. */
UGRT_API ugrt_status_t ugrt_session_set_output_device(ugrt_session_t *session, uint32_t entry,
                                                      uint32_t index, void *device_data,
                                                      size_t capacity);
/* Copies output `index` into dst (host memory); fails with UGRT_OUT_OF_RANGE (copying
 * nothing) when dst_size is smaller than the output. */
UGRT_API ugrt_status_t ugrt_session_copy_output(ugrt_session_t *session, uint32_t entry,
                                                uint32_t index, void *dst, size_t dst_size);

#ifdef __cplusplus
}
#endif

#endif
