/* The contract between ugcc and libugrt: what a model.so describes.
 *
 * A model.so exports exactly one function, UGRT_MODEL_QUERY_SYMBOL, which the
 * runtime calls with the ABI version it speaks.  It returns a pointer to a
 * constant header (or NULL if the versions are incompatible).  Everything the
 * header points to is constant data inside model.so (or, for external
 * weights, in a side file named by the header).
 *
 * Dimensions (ugrt_dim_t) are static sizes when >= 0; a negative value -(i+1)
 * names entry i of the header's dim-expression table.  Expressions are
 * evaluated by the runtime once per bound shape; entry i's value is passed to
 * every kernel in `dims[i]`, so generated code reads symbolic sizes from there.
 *
 * This header is plain C, shared verbatim by codegen (which writes these
 * structures) and the runtime (which validates and reads them). */
#ifndef UGRT_MODEL_ABI_H
#define UGRT_MODEL_ABI_H

#include <stdint.h>

#define UGRT_ABI_VERSION 1u
#define UGRT_MODEL_MAGIC 0x4D524755u /* "UGRM" little-endian */
#define UGRT_MODEL_QUERY_SYMBOL "ugrt_model_query"

typedef int64_t ugrt_dim_t;

/* Element types; the numbering equals the compiler's ir/dtypes.def order and
 * is part of the ABI. */
typedef enum {
  UGRT_F64 = 0, UGRT_F32, UGRT_F16, UGRT_BF16, UGRT_F8E4M3, UGRT_F8E5M2,
  UGRT_I64, UGRT_I32, UGRT_I16, UGRT_I8, UGRT_U64, UGRT_U32, UGRT_U16, UGRT_U8,
  UGRT_BOOL,
  UGRT_Q4_0, UGRT_Q4_1, UGRT_Q5_0, UGRT_Q5_1, UGRT_Q8_0, UGRT_Q4_K, UGRT_Q5_K, UGRT_Q6_K,
  UGRT_DTYPE_COUNT
} ugrt_dtype_t;

/* Dim expression kinds; the numbering equals the compiler's ug_dx_kind_t.
 * DIV and MOD are floor division and its remainder. */
typedef enum {
  UGRT_DX_SYM = 0, UGRT_DX_ADD, UGRT_DX_SUB, UGRT_DX_MUL, UGRT_DX_DIV, UGRT_DX_MOD, UGRT_DX_MAX,
  UGRT_DX_MIN
} ugrt_dx_kind_t;

typedef struct {
  uint32_t kind;     /* ugrt_dx_kind_t */
  uint32_t reserved;
  ugrt_dim_t a, b;   /* operands; earlier entries only (the table is topological) */
  const char *name;  /* UGRT_DX_SYM: the symbol's name ("batch"), else NULL */
} ugrt_abi_dimexpr_t;

/* An input or output of an entry point. */
typedef struct {
  const char *name;
  uint32_t dtype; /* ugrt_dtype_t */
  uint32_t rank;
  const ugrt_dim_t *dims;
} ugrt_abi_tensor_t;

typedef struct {
  const char *name; /* "main"; GGUF models have "prefill" and "decode" */
  uint32_t num_inputs, num_outputs;
  const ugrt_abi_tensor_t *inputs;
  const ugrt_abi_tensor_t *outputs;
} ugrt_abi_entry_t;

typedef enum {
  UGRT_BUF_ARENA = 0, /* intermediate, placed in the session arena */
  UGRT_BUF_INPUT,     /* entry input number `index` */
  UGRT_BUF_OUTPUT,    /* entry output number `index` */
  UGRT_BUF_WEIGHT,    /* `offset` bytes into the weight blob */
  UGRT_BUF_STATE,     /* session state number `index` (a KV cache), kept across runs */
} ugrt_buf_kind_t;

typedef struct {
  uint32_t kind;        /* ugrt_buf_kind_t */
  uint32_t index;       /* INPUT / OUTPUT / STATE number */
  ugrt_dim_t size;      /* bytes, possibly symbolic */
  uint64_t offset;      /* WEIGHT: offset in the weight blob; ARENA: UINT64_MAX
                           (placed by the runtime) or a planned static offset */
  uint32_t first_step;  /* ARENA: first and last step (inclusive) using it */
  uint32_t last_step;
} ugrt_abi_buffer_t;

/* One kernel launch.  `args` are buffer indices, passed to the kernel in order. */
typedef struct {
  uint32_t kernel;   /* index into the target's kernel table */
  uint32_t num_args;
  const uint32_t *args;
  ugrt_dim_t grid[3];   /* GPU targets: grid size in blocks (may be symbolic) */
  uint32_t block[3];    /* GPU targets: block size in threads */
  uint32_t shared_bytes;
  uint32_t reserved;
} ugrt_abi_step_t;

/* The plan of one entry point on one target. */
typedef struct {
  uint32_t num_buffers, num_steps;
  const ugrt_abi_buffer_t *buffers;
  const ugrt_abi_step_t *steps;
  /* Buffer holding input / output i (indexed like the entry's tensors). */
  const uint32_t *input_buffers;
  const uint32_t *output_buffers;
} ugrt_abi_plan_t;

/* CPU kernel: args[i] points to the data of buffer step->args[i]; dims holds
 * the values of every dim expression of the header (see above). */
typedef void (*ugrt_cpu_kernel_fn)(void *const *args, const int64_t *dims);

/* GPU kernel (CUDA): the kernel named kernel_names[step->kernel] in the
 * target's image takes, in order, one device pointer per step argument (the
 * address of buffer step->args[i]) and then `const int64_t *dims`, a device
 * copy of the dim-expression values:
 *   extern "C" __global__ void k(float *a0, ..., const int64_t *dims);
 * It is launched on grid step->grid (evaluated; a zero extent skips the
 * step), block step->block, with step->shared_bytes of dynamic shared
 * memory.  CUDA image choice: a cubin (image_format 1) whose arch equals the
 * device's compute capability (major*10+minor), else PTX (2) with arch not
 * above it; see docs/abi.md. */

typedef enum { UGRT_TARGET_CPU = 0, UGRT_TARGET_CUDA, UGRT_TARGET_AMDGPU } ugrt_target_kind_t;

typedef struct {
  uint32_t kind;           /* ugrt_target_kind_t */
  uint32_t num_kernels;
  const char *name;        /* "cpu:x86-64", "cuda:sm_90a", "amdgpu:gfx942" */
  const char *const *kernel_names;
  const ugrt_cpu_kernel_fn *cpu_kernels; /* CPU: one per kernel */
  const void *image;       /* GPU: cubin / PTX / code object holding all kernels */
  uint64_t image_size;
  uint32_t image_format;   /* 0 none, 1 cubin, 2 PTX, 3 AMDGPU code object */
  uint32_t arch;           /* CUDA: sm number (90 for sm_90a); AMDGPU: gfx number */
  const ugrt_abi_plan_t *plans; /* one per entry, in the header's entry order */
} ugrt_abi_target_t;

typedef struct ugrt_model_header {
  uint32_t magic;          /* UGRT_MODEL_MAGIC */
  uint32_t abi_version;    /* UGRT_ABI_VERSION */
  uint32_t header_size;    /* sizeof(ugrt_model_header_t) of the producer */
  uint32_t flags;
  const char *producer;    /* "ugcc 0.1.0" */
  uint32_t num_dim_exprs, num_entries, num_targets, reserved;
  const ugrt_abi_dimexpr_t *dim_exprs;
  const ugrt_abi_entry_t *entries;
  const ugrt_abi_target_t *targets;
  /* Weights: embedded (weights != NULL) or external (weights_file != NULL, a
   * path relative to the directory of model.so), weights_size bytes either
   * way; weights_hash is FNV-1a 64 over the bytes, checked on load. */
  const void *weights;
  uint64_t weights_size;
  uint64_t weights_hash;
  const char *weights_file;
  /* Weights past the external file: WEIGHT buffers at offsets in
   * [weights_tail_offset, weights_tail_offset + weights_tail_size) are in
   * these embedded bytes (constants the compiler made, next to a GGUF file's
   * tensors); weights_tail_offset >= weights_size, a multiple of 64. */
  const void *weights_tail;
  uint64_t weights_tail_offset, weights_tail_size, weights_tail_hash;
  /* Session state: tensors every session keeps from run to run, zeroed when
   * it is created (static dims), read and written in place by the plans
   * through STATE buffers. */
  uint32_t num_states, reserved2;
  const ugrt_abi_tensor_t *states;
  /* Metadata for tools, or NULL: a GGUF model's key/values as a GGUF file
   * without tensors (its tokenizer, hyper-parameters). */
  const void *metadata;
  uint64_t metadata_size;
} ugrt_model_header_t;

typedef const ugrt_model_header_t *(*ugrt_model_query_fn)(uint32_t abi_version);

#endif
