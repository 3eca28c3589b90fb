/* The execution plan of one graph: buffers and steps, target-independent.
 *
 * Every value gets a buffer: graph inputs UGRT_BUF_INPUT, graph outputs
 * UGRT_BUF_OUTPUT, const results UGRT_BUF_WEIGHT (one per weight, shared by
 * all graphs), everything else UGRT_BUF_ARENA with the inclusive step range
 * that uses it.  The results of reshape-like ops (reshape, squeeze, unsqueeze,
 * identity) share their operand's buffer unless they are graph outputs.
 * Every other non-const node becomes one step whose args are the buffers of
 * its present operands (absent optional operands get no arg), then of its
 * results, then its scratch buffers.  The nodes of a kernel formed by the
 * fuse pass (equal {kernel=N}) become one step instead: its args are the
 * values its nodes read from outside (first use first, each once), then
 * the results used outside it or returned; results used only inside get no
 * buffer.  A kernel headed by a contraction (a matmul and its epilogue)
 * also gets, when `scratch` is given, the head's scratch buffers and then,
 * unless an arg holds it, a buffer for the head's result.  Steps run in a topological order of these units (the schedule's
 * order where it allows).  Graph outputs that are inputs,
 * constants, aliases, or repeat another output are filled by copy steps at
 * the end.  All data lives in the module's arena.
 *
 * In-place reuse.  Last, a result of an elementwise step (one elementwise
 * node, or a fused kernel of elementwise nodes and last-axis reductions --
 * not one headed by a contraction) takes the buffer of one of the step's
 * operands when (a) both have the same dims (symbolic dims as the same
 * expression) and elements of the same whole number of bytes, so the bytes
 * match; (b) every arg of the step holding that buffer has those dims, so
 * the step reads it element for element at the result's index (no
 * broadcast, no view at another shape through a reshape alias); (c) the
 * operand's buffer is an arena buffer (not a graph input, output, weight or
 * state) whose last step is this one, so nothing reads it later, through
 * any alias; (d) the result is an arena buffer whose last dim is not a
 * static 1 (the kernel IR loads a one-element column as a value every
 * thread reads and stores it from one thread, with no order between them);
 * each operand buffer goes to at most one result.  The two values then
 * share one plan buffer whose step range spans both, so the ABI is
 * unchanged; the step passes the same buffer as two args (see
 * ug_plan_arg_alias).
 *
 * What makes this correct in the code generators: the step is lowered
 * through the kernel IR (or, for single nodes it does not take, a per-
 * element loop), where each program reads its operand elements before it
 * writes its results, the stores being the kernel body's last ops, and a
 * result element is written by the thread that read the operand element
 * at the same index (equal tile layouts).  The two pointers must not be
 * declared restrict / noalias against each other: ug_plan_arg_alias says
 * which args share a buffer. */
#ifndef UG_CODEGEN_PLAN_H
#define UG_CODEGEN_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

typedef enum { UG_STEP_NODE, UG_STEP_COPY } ug_step_kind_t;

typedef struct {
  ug_step_kind_t kind;
  ug_node_id_t node;     /* NODE: the node, or a fused kernel's first node */
  ug_node_id_t *nodes;   /* NODE: every node of the step in schedule order */
  uint32_t num_nodes;
  ug_value_id_t *arg_values; /* NODE: the value behind each arg (UG_NONE: scratch) */
  uint32_t *args;
  uint32_t num_args;
  uint32_t num_scratch;  /* trailing args */
  ug_dim_t copy_bytes;   /* COPY: args are {src, dst} */
  const char *kernel_name;
  uint32_t num_inplace;  /* results that took an operand's buffer */
  const char *inplace_note; /* the in-place decisions, for the plan dump; may be NULL */
} ug_plan_step_t;

typedef struct {
  uint32_t kind;   /* ugrt_buf_kind_t */
  uint32_t index;  /* INPUT / OUTPUT number */
  ug_dim_t size;   /* bytes */
  uint64_t offset; /* WEIGHT: offset in the blob; others UINT64_MAX */
  uint32_t first_step, last_step;
  ug_weight_id_t weight; /* WEIGHT */
} ug_plan_buffer_t;

typedef struct {
  ug_graph_t *g;
  uint32_t graph_index;
  /* Per graph input / output: its number among the entry's inputs /
   * outputs, or UG_NONE for session state (which the entry does not list). */
  uint32_t *input_abi, *output_abi;
  uint32_t num_abi_inputs, num_abi_outputs;
  UG_VEC(ug_plan_buffer_t) buffers;
  UG_VEC(ug_plan_step_t) steps;
  uint32_t *value_buffer; /* per value id; UG_NONE when absent */
  uint32_t *input_buffers, *output_buffers;
  uint32_t num_inplace_steps; /* steps with a result in an operand's buffer */
  /* The buffers before in-place reuse (for the dump's "without" peak);
   * NULL when no step runs in place. */
  ug_plan_buffer_t *noinplace_buffers;
  uint32_t num_noinplace_buffers;
} ug_plan_t;

/* The launch of one step on a GPU target: the kernel's index in the
 * target's kernel table, the grid in blocks (extents may be symbolic) and
 * the block in threads. */
typedef struct {
  uint32_t kernel;
  ug_dim_t grid[3];
  uint32_t block[3];
  uint32_t shared_bytes;
} ug_gpu_launch_t;

/* The weights used by a module, laid out in one blob: offsets[w] is
 * UINT64_MAX for unused weights; each used weight starts 64-byte aligned. */
typedef struct {
  uint64_t *offsets;
  uint64_t size;
  uint64_t hash; /* FNV-1a 64 over the blob */
  /* Source layout (ug_weight_layout_build_source): the weights that lie in
   * m->source keep their offsets in that file; the others form the blob,
   * which the offsets place at tail_offset (past the file, 64-aligned). */
  bool source;
  uint64_t tail_offset;
  uint64_t source_hash; /* FNV-1a 64 over the whole source file */
} ug_weight_layout_t;

ug_status_t ug_weight_layout_build(ug_module_t *m, ug_weight_layout_t *out);
/* The source layout, for a module whose weights borrow m->source (GGUF). */
ug_status_t ug_weight_layout_build_source(ug_module_t *m, ug_weight_layout_t *out);
/* Writes the blob (layout->size bytes, zero padding) to f.  (For a source
 * layout, the blob is the tail.) */
ug_status_t ug_weight_layout_write(ug_module_t *m, const ug_weight_layout_t *wl, FILE *f);
/* Copies the blob into dst (layout->size bytes). */
void ug_weight_layout_fill(ug_module_t *m, const ug_weight_layout_t *wl, uint8_t *dst);

/* Scratch buffers a backend needs for the kernel of nodes[0..n) (nodes[0]
 * its head): writes up to 4 byte sizes, and *out_result: whether a
 * contraction head's result needs a buffer when no arg holds it (the CPU
 * computes the matmul into it, then the epilogue over it). */
typedef ug_status_t (*ug_scratch_fn)(ug_graph_t *g, const ug_node_id_t *nodes, uint32_t num_nodes,
                                     ug_dim_t *out_sizes, uint32_t *out_count, bool *out_result);

/* Session state (a KV cache): a graph input marked `state` and the graph
 * output with its name.  The state lives in a STATE buffer that runs read and update in
 * place: the output must be the result of a scatter_nd (or a chain of
 * them) whose data operand is the input, and nothing else may read the
 * input.  ug_plan_states lists the module's states in order of first
 * appearance (graphs in order, inputs in order); graphs sharing a name
 * share the state and must agree on its type. */
typedef struct {
  const char *name;
  ug_type_t type;
} ug_plan_state_t;
ug_status_t ug_plan_states(ug_module_t *m, ug_plan_state_t **out, uint32_t *out_n);

/* Byte size of a value of type t (symbolic sizes are added to m->dims). */
ug_status_t ug_plan_type_bytes(ug_module_t *m, const ug_type_t *t, ug_dim_t *out);

ug_status_t ug_plan_build(ug_module_t *m, ug_graph_t *g, uint32_t graph_index,
                          const ug_weight_layout_t *wl, ug_scratch_fn scratch, ug_plan_t *out);

/* Arena statistics of a plan with static buffer sizes: the naive sum of
 * its arena buffers and the peak after placing them as libugrt does (by
 * decreasing size, each at the lowest 64-byte-aligned offset clear of the
 * buffers already placed whose step ranges overlap its own).  False when
 * a size is symbolic (libugrt places those per shape at run time). */
bool ug_plan_arena_stats(const ug_plan_t *p, uint64_t *out_naive, uint64_t *out_peak);

/* The first arg of step s before arg a that holds the same buffer, or
 * UG_NONE.  Args that share a buffer (an in-place result and its operand,
 * a session state's scatter_nd, an operand passed twice) must not be
 * restrict / noalias pointers in the step's kernel; an emitter that caches
 * kernels by signature must keep the pattern of shared args in the key. */
uint32_t ug_plan_arg_alias(const ug_plan_step_t *s, uint32_t a);
/* Whether another arg of step s holds arg a's buffer. */
bool ug_plan_arg_shared(const ug_plan_step_t *s, uint32_t a);

/* Writes the plan as text (--dump-ir's codegen-plan.txt): the arena's
 * peak with and without in-place reuse, the buffers, and the steps with
 * their args and in-place decisions. */
void ug_plan_print(ug_module_t *m, const ug_plan_t *p, FILE *f);

#endif
