/* Graph passes and the pass manager.
 *
 * Every pass has one signature and lives in one file (passes/<name>.c) with a
 * header comment stating what it requires and what it guarantees.  Passes are
 * registered once in passes/passes.def. */
#ifndef UG_PASSES_PASS_H
#define UG_PASSES_PASS_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/ir.h"

typedef struct ug_pass_ctx ug_pass_ctx_t;

/* A pass transforms one graph in place.  It may append nodes and mark nodes
 * dead; the pass manager compacts the graph (topological order, dead nodes
 * removed) after each pass.  `ctx` gives access to options and statistics. */
typedef ug_status_t (*ug_pass_fn)(ug_pass_ctx_t *ctx, ug_graph_t *g);

typedef struct {
  const char *name;
  const char *summary;
  ug_pass_fn run;
} ug_pass_info_t;

typedef enum {
#define UG_PASS(id, name, summary) UG_PASS_##id,
#include "passes/passes.def"
#undef UG_PASS
  UG_PASS_COUNT
} ug_pass_id_t;

#define UG_PASS(id, name, summary) ug_status_t ug_pass_##id(ug_pass_ctx_t *ctx, ug_graph_t *g);
#include "passes/passes.def"
#undef UG_PASS

const ug_pass_info_t *ug_pass_info(ug_pass_id_t id);
bool ug_pass_from_name(const char *name, size_t len, ug_pass_id_t *out);

typedef struct {
  const char *print_after; /* pass name, "all", or NULL */
  FILE *print_to;          /* where --print-after goes (default stderr) */
  const char *dump_dir;    /* --dump-ir=DIR, or NULL */
  bool time_passes;        /* --time-passes: a table on stderr at the end */
  bool verify_each;        /* verify the module after every pass */
  bool print_reports;      /* --print-reports: each pass's report (ug_pass_report) to print_to */
  int opt_level;           /* 0..3 */
  bool gpu_layout;         /* the model runs on GPUs only: the default pipeline adds their layout pass */
} ug_pass_options_t;

void ug_pass_options_init(ug_pass_options_t *o);

/* Per-pass counters that a pass can bump (shown in the dump summary). */
void ug_pass_stat(ug_pass_ctx_t *ctx, const char *what, long n);
const ug_pass_options_t *ug_pass_ctx_options(ug_pass_ctx_t *ctx);
/* A stream for the pass's report (decisions and their reasons, e.g. the
 * fusion report): written to DIR/NN-<pass>.report.txt with --dump-ir, after
 * the pass's IR dump, and to print_to with print_reports.  NULL when neither
 * is asked for, so passes skip the work. */
FILE *ug_pass_report(ug_pass_ctx_t *ctx);

typedef struct ug_pass_manager ug_pass_manager_t;

ug_status_t ug_pass_manager_create(const ug_pass_options_t *o, ug_pass_manager_t **out);
void ug_pass_manager_destroy(ug_pass_manager_t *pm);
void ug_pass_manager_add(ug_pass_manager_t *pm, ug_pass_id_t id);
/* Parses "a,b,c" into passes; unknown names are an error. */
ug_status_t ug_pass_manager_add_list(ug_pass_manager_t *pm, const char *list);
const ug_pass_options_t *ug_pass_manager_options(const ug_pass_manager_t *pm);
/* The default pipeline for an optimization level (passes/pipeline.c). */
void ug_pass_manager_add_default(ug_pass_manager_t *pm, int opt_level);
/* Runs every pass over every graph of m, in order; writes the dumps. */
ug_status_t ug_pass_manager_run(ug_pass_manager_t *pm, ug_module_t *m);
/* Dumps an extra file into the dump directory (kernel sources, PTX, ...):
 * "<NN>-<name>".  No-op without a dump directory. */
ug_status_t ug_pass_manager_dump_text(ug_pass_manager_t *pm, const char *name, const char *text,
                                      size_t len);

#endif
