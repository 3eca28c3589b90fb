/* The kernel IR: tile programs between the graph IR and the emitters.
 *
 * A kernel is a grid of blocks over tiles.  Its body is a structured region
 * in SSA form: ops in order, some owning nested regions (for, if, role).
 * Values are index scalars, register tiles (dtype + static shape), memory
 * (global buffers with symbolic shapes, shared buffers with stages, arrays of
 * mbarriers) and async tokens.  docs/kernel-ir.md has the grammar, the ops
 * and the memory model; ir/kir.def declares the ops once.
 *
 * As in the graph IR everything is an index into a dense per-kernel array:
 * values, ops, regions, operands, attributes.  An op's operands, results and
 * attributes are ranges in pools; an access operand `%buf[i, j]` keeps its
 * index list as a range of the index pool.  Regions list their ops in order.
 *
 * Ownership: a kernel module lives in one arena.  Created for a graph module
 * it borrows that module's arena and dim table (so `batch` means the same
 * symbol in both) and is freed with it; created alone it owns both. */
#ifndef UG_IR_KIR_H
#define UG_IR_KIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

/* ---- op and attribute tables ---- */

typedef enum {
#define UG_KIR_OP(id, name, mi, ma, rmin, rmax, regions, cls, attrs) UG_KIR_##id,
#include "ir/kir.def"
  UG_KIR_OP_COUNT
} ug_kir_op_t;

typedef enum { UG_KIR_CLASS_STRUCT, UG_KIR_CLASS_INDEX, UG_KIR_CLASS_MEM, UG_KIR_CLASS_ASYNC,
               UG_KIR_CLASS_SYNC, UG_KIR_CLASS_MATH } ug_kir_class_t;

typedef struct {
  const char *name;
  int min_operands, max_operands; /* -1: variadic */
  int min_results, max_results;   /* -1: variadic */
  int num_regions;
  ug_kir_class_t cls;
  const char *attrs; /* spec, see ir/kir.def */
} ug_kir_op_info_t;

const ug_kir_op_info_t *ug_kir_op_info(ug_kir_op_t op);
bool ug_kir_op_from_name(const char *name, size_t len, ug_kir_op_t *out);
const char *ug_kir_class_name(ug_kir_class_t c);

typedef enum {
#define UG_KIR_ATTR(id, name, kind) UG_KATTR_##id,
#include "ir/kir.def"
  UG_KIR_ATTR_COUNT
} ug_kir_attr_key_t;

typedef enum { UG_KAK_INT, UG_KAK_FLOAT, UG_KAK_OP } ug_kir_attr_kind_t;

const char *ug_kir_attr_name(ug_kir_attr_key_t k);
ug_kir_attr_kind_t ug_kir_attr_kind(ug_kir_attr_key_t k);
bool ug_kir_attr_from_name(const char *name, size_t len, ug_kir_attr_key_t *out);
/* Whether op accepts kernel attribute k, and whether it must have it. */
bool ug_kir_op_accepts_attr(ug_kir_op_t op, ug_kir_attr_key_t k, bool *out_required);

/* An attribute: a kernel attribute (graph == false: key is a
 * ug_kir_attr_key_t, the value in i, f or op), or, on EW ops, a graph
 * attribute of the elementwise op (graph == true: the whole ug_attr_t in g). */
typedef struct {
  bool graph;
  ug_kir_attr_key_t key;
  int64_t i;
  double f;
  ug_op_t op;
  ug_attr_t g;
} ug_kir_attr_t;

static inline ug_kir_attr_t ug_kir_attr_int(ug_kir_attr_key_t k, int64_t v) { ug_kir_attr_t a = {.key = k}; a.i = v; return a; }
static inline ug_kir_attr_t ug_kir_attr_float(ug_kir_attr_key_t k, double v) { ug_kir_attr_t a = {.key = k}; a.f = v; return a; }
static inline ug_kir_attr_t ug_kir_attr_op(ug_kir_attr_key_t k, ug_op_t v) { ug_kir_attr_t a = {.key = k}; a.op = v; return a; }
static inline ug_kir_attr_t ug_kir_attr_graph(ug_attr_t g) { ug_kir_attr_t a = {.graph = true}; a.g = g; return a; }

/* ---- types ---- */

typedef enum {
  UG_KT_INDEX,  /* a uniform signed 64-bit scalar: ids, offsets, loop counters */
  UG_KT_TILE,   /* a register tile: dtype and static shape (rank 0: a scalar) */
  UG_KT_GLOBAL, /* a global buffer: dtype and (symbolic) shape, row-major */
  UG_KT_SHARED, /* a shared-memory buffer of `stages` tiles of one static shape */
  UG_KT_MBAR,   /* an array of `stages` mbarriers in shared memory */
  UG_KT_TOKEN,  /* an asynchronous copy or a group of them */
} ug_kir_type_kind_t;

typedef struct {
  ug_kir_type_kind_t kind;
  uint32_t stages; /* SHARED, MBAR: >= 1 */
  ug_type_t t;     /* TILE, GLOBAL, SHARED: dtype and shape */
} ug_kir_type_t;

ug_kir_type_t ug_kir_type_index(void);
ug_kir_type_t ug_kir_type_token(void);
ug_kir_type_t ug_kir_type_tile(ug_dtype_t dt, int rank, const ug_dim_t *dims);
ug_kir_type_t ug_kir_type_global(ug_dtype_t dt, int rank, const ug_dim_t *dims);
ug_kir_type_t ug_kir_type_shared(ug_dtype_t dt, int rank, const ug_dim_t *dims, uint32_t stages);
ug_kir_type_t ug_kir_type_mbar(uint32_t stages);
bool ug_kir_type_equal(const ug_kir_type_t *a, const ug_kir_type_t *b);
/* "shared<3> f16[128,64]"; returns chars like snprintf. */
int ug_kir_type_format(const ug_dims_t *dims, const ug_kir_type_t *t, char *buf, size_t size);

/* ---- kernels ---- */

typedef uint32_t ug_kir_value_id_t;
typedef uint32_t ug_kir_op_id_t;
typedef uint32_t ug_kir_region_id_t;

typedef enum { UG_KV_PARAM, UG_KV_RESULT, UG_KV_ARG } ug_kir_def_kind_t;

typedef struct {
  ug_kir_type_t type;
  ug_kir_def_kind_t def_kind;
  uint32_t def;      /* RESULT: op id; ARG: region id; PARAM: UG_NONE */
  uint32_t index;    /* result, argument or parameter number */
  const char *name;  /* NULL: printed as a number */
} ug_kir_value_t;

/* An operand: a value, or (value == UG_NONE) an index immediate, a static or
 * symbolic dim.  An access `%buf[i, ...]` (access == true) has its indices at
 * idx .. idx+nidx of the kernel's index pool; indices are never accesses. */
typedef struct {
  ug_kir_value_id_t value;
  ug_dim_t imm;
  bool access;
  uint32_t idx, nidx;
} ug_kir_operand_t;

typedef enum { UG_KIR_ROLE_PRODUCER, UG_KIR_ROLE_CONSUMER } ug_kir_role_t;

typedef struct {
  ug_kir_op_t op;
  ug_op_t ew;                     /* EW: the elementwise graph op */
  const char *loc;                /* origin: the graph node(s) lowered here; may be NULL */
  uint32_t line, col;             /* where the parser read it; 0 when built */
  ug_kir_region_id_t parent;      /* the region holding this op */
  uint32_t operands, num_operands; /* range in operand_pool */
  uint32_t results, num_results;   /* range in value_pool */
  uint32_t attrs, num_attrs;       /* range in attr_pool */
  ug_kir_region_id_t regions;      /* first of num_regions consecutive regions */
  uint32_t num_regions;
  uint32_t stages;                 /* FOR: pipeline(stages), 0 when not annotated */
  ug_kir_role_t role;              /* ROLE */
  uint32_t warp_lo, warp_hi;       /* ROLE: warps [lo, hi) of the block */
  uint32_t regs;                   /* ROLE: registers per thread, 0: not set */
} ug_kir_op_data_t;

typedef struct {
  UG_VEC(ug_kir_op_id_t) ops;
  uint32_t args, num_args;  /* range in value_pool: FOR: the induction variable, then iter args */
  ug_kir_op_id_t owner;     /* UG_NONE for the kernel body */
} ug_kir_region_t;

typedef struct ug_kir_module ug_kir_module_t;

#define UG_KIR_MAX_GRID 3

typedef struct {
  ug_kir_module_t *module;
  const char *name;
  UG_VEC(ug_kir_value_id_t) params;
  int grid_rank;
  ug_dim_t grid[UG_KIR_MAX_GRID];
  uint32_t warps;              /* threads per block = warps * the target's warp size */
  uint32_t cluster;            /* programs per cluster along grid axis 0 (0, 1: none) */
  ug_kir_region_id_t body;     /* always region 0 */
  UG_VEC(ug_kir_value_t) values;
  UG_VEC(ug_kir_op_data_t) ops;
  UG_VEC(ug_kir_region_t) regions;
  UG_VEC(ug_kir_operand_t) operand_pool;
  UG_VEC(ug_kir_operand_t) index_pool;
  UG_VEC(ug_kir_value_id_t) value_pool;
  UG_VEC(ug_kir_attr_t) attr_pool;
} ug_kir_kernel_t;

struct ug_kir_module {
  ug_arena_t *arena;
  ug_dims_t *dims;
  bool owns_arena;
  const char *file; /* set by the parser: verifier messages name file:line:col */
  UG_VEC(ug_kir_kernel_t *) kernels;
};

/* A kernel module using graph module gm's arena and dims, or its own when gm is NULL. */
ug_kir_module_t *ug_kir_module_create(ug_module_t *gm);
/* Frees everything when the module owns its arena; a module made for a graph
 * module goes with that module's arena, and this does nothing. */
void ug_kir_module_destroy(ug_kir_module_t *m);
/* A new empty kernel: no params, grid (1), 1 warp, an empty body. */
ug_kir_kernel_t *ug_kir_kernel_create(ug_kir_module_t *m, const char *name);
ug_kir_kernel_t *ug_kir_find_kernel(ug_kir_module_t *m, const char *name);

ug_kir_value_id_t ug_kir_add_param(ug_kir_kernel_t *k, const char *name, const ug_kir_type_t *t);
void ug_kir_set_grid(ug_kir_kernel_t *k, int rank, const ug_dim_t *dims);
/* Bytes of shared memory the kernel's allocs take: tiles times stages, 8 per
 * mbarrier, each alloc rounded up to 128 bytes (TMA and wgmma alignment). */
uint64_t ug_kir_shared_bytes(const ug_kir_kernel_t *k);

/* ---- accessors ---- */

static inline ug_kir_op_data_t *ug_kir_op(ug_kir_kernel_t *k, ug_kir_op_id_t o) { return &k->ops.items[o]; }
static inline ug_kir_region_t *ug_kir_region(ug_kir_kernel_t *k, ug_kir_region_id_t r) { return &k->regions.items[r]; }
static inline const ug_kir_type_t *ug_kir_value_type(const ug_kir_kernel_t *k, ug_kir_value_id_t v) { return &k->values.items[v].type; }
static inline const ug_kir_operand_t *ug_kir_operand(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, uint32_t i) { return &k->operand_pool.items[o->operands + i]; }
static inline const ug_kir_operand_t *ug_kir_index(const ug_kir_kernel_t *k, const ug_kir_operand_t *a, uint32_t i) { return &k->index_pool.items[a->idx + i]; }
static inline ug_kir_value_id_t ug_kir_result(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, uint32_t i) { return k->value_pool.items[o->results + i]; }
static inline ug_kir_value_id_t ug_kir_region_arg(const ug_kir_kernel_t *k, const ug_kir_region_t *r, uint32_t i) { return k->value_pool.items[r->args + i]; }
static inline const ug_kir_attr_t *ug_kir_attrs(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o) { return o->num_attrs ? &k->attr_pool.items[o->attrs] : NULL; }
/* The kernel attribute k of op o, or NULL. */
const ug_kir_attr_t *ug_kir_op_attr(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_kir_attr_key_t key);
/* The graph attribute key of EW op o, or NULL. */
const ug_attr_t *ug_kir_op_graph_attr(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_attr_key_t key);

/* The elementwise op of EW op o as the emitters' scalar semantics take it;
 * its graph attributes are copied into buf (room for cap, UG_KIR_EW_MAX_ATTRS
 * is always enough). */
#define UG_KIR_EW_MAX_ATTRS 8
ug_ew_t ug_kir_ew_desc(const ug_kir_kernel_t *k, const ug_kir_op_data_t *o, ug_attr_t *buf, uint32_t cap);

/* The rows x columns view of an elementwise kernel over a result of shape rt
 * whose operands from outside have shapes ops[0..n) (NumPy broadcasting):
 * the columns are the longest run of trailing axes [c, rank) along which
 * every operand has the result's extent, or the last axis alone when some
 * operand broadcasts along it; *out_c gets c.  False when the view does not
 * tile well: more than one row and fewer than UG_KIR_MIN_COLS static columns
 * with an operand broadcast along rows (a program would do almost nothing
 * with plain tile loads; a fused kernel then takes longer rows and reads
 * the operands that broadcast within them by `gather`, codegen/kir_lower.c). */
#define UG_KIR_MIN_COLS 256
bool ug_kir_ew_columns(ug_dims_t *D, const ug_type_t *rt, const ug_type_t *const *ops, uint32_t n, int *out_c);

/* ---- operands ---- */

static inline ug_kir_operand_t ug_kir_val(ug_kir_value_id_t v) { ug_kir_operand_t a = {.value = v}; return a; }
static inline ug_kir_operand_t ug_kir_imm(ug_dim_t d) { ug_kir_operand_t a = {.value = UG_NONE, .imm = d}; return a; }

/* ---- building: generic ----
 * An op is built in one go: ug_kir_begin appends it to region r, then its
 * operands, attributes and results are added, in any order but before the
 * next op of the kernel is begun (pools stay contiguous).  Region-owning ops
 * get their regions from ug_kir_add_region. */
ug_kir_op_id_t ug_kir_begin(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_op_t op, const char *loc);
void ug_kir_push_operand(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_operand_t a);
/* An access operand buf[idx[0], ...]. */
void ug_kir_push_access(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_value_id_t buf,
                        const ug_kir_operand_t *idx, uint32_t nidx);
void ug_kir_push_attr(ug_kir_kernel_t *k, ug_kir_op_id_t o, ug_kir_attr_t a);
ug_kir_value_id_t ug_kir_push_result(ug_kir_kernel_t *k, ug_kir_op_id_t o, const ug_kir_type_t *t,
                                     const char *name);
/* Adds the next region of o (regions of one op are consecutive: add them
 * together) with block arguments of the given types. */
ug_kir_region_id_t ug_kir_add_region(ug_kir_kernel_t *k, ug_kir_op_id_t o, const ug_kir_type_t *arg_types,
                                     uint32_t num_args);

/* ---- building: one call per common op (regions: r; results returned) ---- */

ug_kir_value_id_t ug_kir_alloc(ug_kir_kernel_t *k, const ug_kir_type_t *t, const char *name);
ug_kir_value_id_t ug_kir_program_id(ug_kir_kernel_t *k, ug_kir_region_id_t r, int axis);
/* An op without operands whose one result is an index: cluster_rank, cluster_size. */
ug_kir_value_id_t ug_kir_index_value(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_op_t op);
/* An elementwise op on 1..3 operands with result type t. */
ug_kir_value_id_t ug_kir_ew(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_op_t op, const ug_kir_operand_t *args,
                            uint32_t n, const ug_kir_type_t *t);
/* Index math: `op a, b : index` (add sub mul div mod min max), as an operand. */
ug_kir_operand_t ug_kir_index_op(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_op_t op, ug_kir_operand_t a,
                                 ug_kir_operand_t b);
ug_kir_value_id_t ug_kir_splat(ug_kir_kernel_t *k, ug_kir_region_id_t r, double value, const ug_kir_type_t *t);
/* `cast x {to}`: a tile of x's shape, or of an index (or immediate) a scalar tile. */
ug_kir_value_id_t ug_kir_cast(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_operand_t x, ug_dtype_t to,
                              const char *loc);
ug_kir_value_id_t ug_kir_load(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t buf,
                              const ug_kir_operand_t *idx, uint32_t nidx, ug_kir_value_id_t mask,
                              const ug_kir_type_t *t);
/* gather: element i of the tile is buf's element at flat offset offsets[i]
 * (`other` where mask, when not UG_NONE, is false or the offset is outside
 * buf; other 0.0 is left implicit). */
ug_kir_value_id_t ug_kir_gather(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t buf,
                                ug_kir_value_id_t offsets, ug_kir_value_id_t mask, double other, const ug_kir_type_t *t);
void ug_kir_store(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t buf, const ug_kir_operand_t *idx,
                  uint32_t nidx, ug_kir_value_id_t tile, ug_kir_value_id_t mask);
ug_kir_value_id_t ug_kir_reduce(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_op_t combine, int axis,
                                ug_kir_value_id_t x, const ug_kir_type_t *t);
ug_kir_value_id_t ug_kir_unary(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_op_t op, ug_kir_value_id_t x,
                               const ug_kir_type_t *t);
/* mma: a and b are register tiles, or shared buffers read at stage a_stage /
 * b_stage (ignored for tiles). */
ug_kir_value_id_t ug_kir_mma(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t a, ug_kir_operand_t a_stage,
                             ug_kir_value_id_t b, ug_kir_operand_t b_stage, ug_kir_value_id_t c);
void ug_kir_barrier(ug_kir_kernel_t *k, ug_kir_region_id_t r);
/* A for loop lb..ub by step carrying inits; the body region is written to
 * *out_body (its args: induction variable, then one per init).  The body
 * must end with ug_kir_yield when there are inits. */
ug_kir_op_id_t ug_kir_for(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_operand_t lb, ug_kir_operand_t ub,
                          ug_kir_operand_t step, const ug_kir_value_id_t *inits, uint32_t ninits, uint32_t stages,
                          ug_kir_region_id_t *out_body);
void ug_kir_yield(ug_kir_kernel_t *k, ug_kir_region_id_t r, const ug_kir_value_id_t *vals, uint32_t n);
ug_kir_op_id_t ug_kir_role(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_role_t role, uint32_t warp_lo,
                           uint32_t warp_hi, uint32_t regs, ug_kir_region_id_t *out_body);
/* An if on a bool[] value with results of the given types; regions then, else. */
ug_kir_op_id_t ug_kir_if(ug_kir_kernel_t *k, ug_kir_region_id_t r, ug_kir_value_id_t cond,
                         const ug_kir_type_t *types, uint32_t ntypes, ug_kir_region_id_t *out_then,
                         ug_kir_region_id_t *out_else);

/* ---- verification and text ---- */

/* Checks a kernel: op table arity and attributes, SSA scoping (every use
 * defined earlier in its region or an enclosing one), memory spaces of
 * accesses, stage indices against stages, tile shapes and dtypes of every
 * op, region terminators, roles (warps within the block, not overlapping).
 * The first problem is returned, naming the kernel and the op (with
 * file:line:col when it was parsed). */
ug_status_t ug_kir_verify_kernel(ug_kir_kernel_t *k);
ug_status_t ug_kir_verify_module(ug_kir_module_t *m);

void ug_kir_print_kernel(ug_kir_kernel_t *k, FILE *f);
void ug_kir_print_module(ug_kir_module_t *m, FILE *f);
/* Prints into a malloc'd string (caller frees). */
char *ug_kir_print_module_to_string(ug_kir_module_t *m);

/* Parses kernel IR text (docs/kernel-ir.md); errors read "file:line:col".
 * The result is not verified: call ug_kir_verify_module.  With gm non-NULL
 * the kernels share gm's arena and dims (and go when gm is destroyed, after
 * ug_kir_module_destroy); on failure nothing is left behind but arena memory. */
ug_status_t ug_kir_parse(const char *text, size_t len, const char *filename, ug_module_t *gm,
                         ug_kir_module_t **out);
ug_status_t ug_kir_parse_file(const char *path, ug_module_t *gm, ug_kir_module_t **out);

#endif
