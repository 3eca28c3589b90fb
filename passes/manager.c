/* The pass manager: runs passes over every graph of a module, compacts and
 * optionally verifies after each, prints, dumps and times. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "passes/pass.h"

static const ug_pass_info_t ug_passes[] = {
#define UG_PASS(id, name, summary) {name, summary, ug_pass_##id},
#include "passes/passes.def"
#undef UG_PASS
};

#define UG_MAX_STATS 16

struct ug_pass_ctx {
  ug_pass_manager_t *pm;
  FILE *report; /* open_memstream over report_text while the pass runs */
  char *report_text;
  size_t report_len;
  int nstats;
  const char *stat_names[UG_MAX_STATS];
  long stat_values[UG_MAX_STATS];
};

typedef struct {
  ug_pass_id_t id;
  double ms;
  uint32_t nodes_before, nodes_after;
  struct ug_pass_ctx ctx;
} ug_pass_run_t;

struct ug_pass_manager {
  ug_pass_options_t o;
  ug_pass_run_t *runs;
  size_t nruns, cap;
  int dump_seq; /* next NN for the dump directory */
};

const ug_pass_info_t *ug_pass_info(ug_pass_id_t id) {
  UG_ASSERT((unsigned)id < UG_PASS_COUNT);
  return &ug_passes[id];
}

bool ug_pass_from_name(const char *name, size_t len, ug_pass_id_t *out) {
  for (int i = 0; i < UG_PASS_COUNT; i++) {
    if (strlen(ug_passes[i].name) == len && memcmp(ug_passes[i].name, name, len) == 0) {
      *out = (ug_pass_id_t)i;
      return true;
    }
  }
  return false;
}

const ug_pass_options_t *ug_pass_manager_options(const ug_pass_manager_t *pm) { return &pm->o; }

void ug_pass_options_init(ug_pass_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->opt_level = 2;
}

void ug_pass_stat(ug_pass_ctx_t *ctx, const char *what, long n) {
  for (int i = 0; i < ctx->nstats; i++) {
    if (strcmp(ctx->stat_names[i], what) == 0) {
      ctx->stat_values[i] += n;
      return;
    }
  }
  if (ctx->nstats < UG_MAX_STATS) {
    ctx->stat_names[ctx->nstats] = what;
    ctx->stat_values[ctx->nstats++] = n;
  }
}

const ug_pass_options_t *ug_pass_ctx_options(ug_pass_ctx_t *ctx) { return &ctx->pm->o; }

FILE *ug_pass_report(ug_pass_ctx_t *ctx) {
  if (!ctx->pm->o.dump_dir && !ctx->pm->o.print_reports) return NULL;
  if (!ctx->report) ctx->report = open_memstream(&ctx->report_text, &ctx->report_len);
  return ctx->report;
}

static ug_status_t make_dir(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(buf)) return ug_status_make(UG_ERR_IO, path, "bad dump directory");
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char c = buf[i];
    buf[i] = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return ug_status_make(UG_ERR_IO, buf, "cannot create directory: %s", strerror(errno));
    buf[i] = c;
  }
  return NULL;
}

ug_status_t ug_pass_manager_create(const ug_pass_options_t *o, ug_pass_manager_t **out) {
  *out = NULL;
  ug_pass_manager_t *pm = calloc(1, sizeof(*pm));
  if (!pm) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  if (o)
    pm->o = *o;
  else
    ug_pass_options_init(&pm->o);
  if (!pm->o.print_to) pm->o.print_to = stderr;
  if (pm->o.dump_dir) {
    ug_status_t st = make_dir(pm->o.dump_dir);
    if (st) {
      free(pm);
      return st;
    }
  }
  *out = pm;
  return NULL;
}

void ug_pass_manager_destroy(ug_pass_manager_t *pm) {
  if (!pm) return;
  free(pm->runs);
  free(pm);
}

void ug_pass_manager_add(ug_pass_manager_t *pm, ug_pass_id_t id) {
  if (pm->nruns == pm->cap) {
    size_t ncap = pm->cap ? pm->cap * 2 : 16;
    ug_pass_run_t *r = realloc(pm->runs, ncap * sizeof(*r));
    UG_ASSERT(r);
    pm->runs = r;
    pm->cap = ncap;
  }
  memset(&pm->runs[pm->nruns], 0, sizeof(pm->runs[0]));
  pm->runs[pm->nruns++].id = id;
}

ug_status_t ug_pass_manager_add_list(ug_pass_manager_t *pm, const char *list) {
  const char *p = list;
  while (*p) {
    const char *s = p;
    while (*p && *p != ',') p++;
    ug_pass_id_t id;
    if (p == s) return ug_status_make(UG_ERR_INVALID, "--passes", "empty pass name in '%s'", list);
    if (!ug_pass_from_name(s, (size_t)(p - s), &id))
      return ug_status_make(UG_ERR_INVALID, "--passes", "unknown pass '%.*s' (see --list-passes)", (int)(p - s), s);
    ug_pass_manager_add(pm, id);
    if (*p == ',') p++;
  }
  return NULL;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint32_t module_nodes(ug_module_t *m) {
  uint32_t n = 0;
  for (size_t i = 0; i < m->graphs.len; i++) n += ug_graph_live_nodes(m->graphs.items[i]);
  return n;
}

static ug_status_t write_file(const char *dir, const char *name, const char *text, size_t len) {
  char path[4096];
  int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
  /* A truncated path would write somewhere else. */
  if (n < 0 || (size_t)n >= sizeof(path)) return ug_status_make(UG_ERR_IO, dir, "dump path too long for '%s'", name);
  FILE *f = fopen(path, "wb");
  if (!f) return ug_status_make(UG_ERR_IO, path, "cannot write: %s", strerror(errno));
  size_t k = fwrite(text, 1, len, f);
  if (fclose(f) != 0 || k != len) return ug_status_make(UG_ERR_IO, path, "write error");
  return NULL;
}

ug_status_t ug_pass_manager_dump_text(ug_pass_manager_t *pm, const char *name, const char *text, size_t len) {
  if (!pm->o.dump_dir) return NULL;
  char file[512];
  snprintf(file, sizeof(file), "%02d-%s", pm->dump_seq++, name);
  return write_file(pm->o.dump_dir, file, text, len);
}

static ug_status_t dump_module(ug_pass_manager_t *pm, ug_module_t *m, const char *stage) {
  if (!pm->o.dump_dir) return NULL;
  char *text = ug_print_module_to_string(m);
  if (!text) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory printing the IR");
  char name[256];
  snprintf(name, sizeof(name), "%s.ugir", stage);
  ug_status_t st = ug_pass_manager_dump_text(pm, name, text, strlen(text));
  free(text);
  return st;
}

static void write_summary(ug_pass_manager_t *pm, FILE *f) {
  fprintf(f, "%-3s %-14s %10s %8s %8s  %s\n", "#", "pass", "time(ms)", "nodes", "->nodes", "stats");
  for (size_t i = 0; i < pm->nruns; i++) {
    ug_pass_run_t *r = &pm->runs[i];
    fprintf(f, "%-3zu %-14s %10.3f %8u %8u  ", i + 1, ug_pass_info(r->id)->name, r->ms, r->nodes_before,
            r->nodes_after);
    for (int k = 0; k < r->ctx.nstats; k++)
      fprintf(f, "%s%s=%ld", k ? " " : "", r->ctx.stat_names[k], r->ctx.stat_values[k]);
    fputc('\n', f);
  }
}

static ug_status_t run_one(ug_pass_manager_t *pm, ug_pass_run_t *r, ug_module_t *m) {
  const ug_pass_info_t *info = ug_pass_info(r->id);
  r->ctx.pm = pm;
  r->nodes_before = module_nodes(m);
  double t0 = now_ms();
  ug_status_t st = NULL;
  for (size_t gi = 0; gi < m->graphs.len && !st; gi++) {
    ug_graph_t *g = m->graphs.items[gi];
    st = info->run(&r->ctx, g);
    if (!st) st = ug_graph_compact(g);
    if (st) st = ug_status_annotate(st, "in pass %s", info->name);
  }
  if (r->ctx.report) {
    fclose(r->ctx.report);
    r->ctx.report = NULL;
  }
  if (st) {
    free(r->ctx.report_text);
    r->ctx.report_text = NULL;
    return st;
  }
  r->ms = now_ms() - t0;
  r->nodes_after = module_nodes(m);
  if (pm->o.verify_each) {
    ug_status_t st = ug_verify_module(m);
    if (st) return ug_status_annotate(st, "verifier failed after pass %s", info->name);
  }
  if (pm->o.print_after && (strcmp(pm->o.print_after, "all") == 0 || strcmp(pm->o.print_after, info->name) == 0)) {
    fprintf(pm->o.print_to, "// ----- IR after %s -----\n", info->name);
    ug_print_module(m, pm->o.print_to);
  }
  st = dump_module(pm, m, info->name);
  if (!st && r->ctx.report_text) {
    if (pm->o.print_reports) {
      fprintf(pm->o.print_to, "// ----- %s report -----\n", info->name);
      fwrite(r->ctx.report_text, 1, r->ctx.report_len, pm->o.print_to);
    }
    char name[256];
    snprintf(name, sizeof(name), "%s.report.txt", info->name);
    st = ug_pass_manager_dump_text(pm, name, r->ctx.report_text, r->ctx.report_len);
  }
  free(r->ctx.report_text);
  r->ctx.report_text = NULL;
  return st;
}

ug_status_t ug_pass_manager_run(ug_pass_manager_t *pm, ug_module_t *m) {
  if (pm->o.verify_each) UG_RETURN_IF_ERROR(ug_status_annotate(ug_verify_module(m), "verifier failed on the input"));
  UG_RETURN_IF_ERROR(dump_module(pm, m, "input"));
  for (size_t i = 0; i < pm->nruns; i++) UG_RETURN_IF_ERROR(run_one(pm, &pm->runs[i], m));
  if (pm->o.time_passes) write_summary(pm, stderr);
  if (pm->o.dump_dir) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
    write_summary(pm, f);
    fprintf(f, "arena bytes: %zu\n", ug_arena_used(m->arena));
    fclose(f);
    ug_status_t st = write_file(pm->o.dump_dir, "summary.txt", text, len);
    free(text);
    UG_RETURN_IF_ERROR(st);
  }
  return NULL;
}
