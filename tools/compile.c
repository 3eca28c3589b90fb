/* The compile driver: frontend -> passes -> codegen, as one function that the
 * ugcc tool (and tests) call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/compile.h"
#ifdef UG_HAVE_ONNX
#include "frontend/onnx/onnx.h"
#endif
#ifdef UG_HAVE_LLVM
#include "codegen/codegen.h"
#endif
#include "codegen/kir_text.h"
#include "frontend/gguf/llama.h"

void ug_compile_options_init(ug_compile_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->targets = "cpu";
  o->opt_level = 2;
  o->act_dtype = UG_DTYPE_F32;
  ug_pass_options_init(&o->pass_options);
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Rebuilds d with bound symbols replaced by their values (memo[i] caches
 * entry i of the original table when have[i]). */
static ug_dim_t subst(ug_dims_t *t, ug_dim_t d, const int64_t *bound, ug_dim_t *memo, bool *have, size_t n) {
  if (UG_DIM_IS_STATIC(d)) return d;
  size_t i = ug_dim_index(d);
  if (i < n && have[i]) return memo[i];
  const ug_dimexpr_t e = *ug_dim_expr(t, d);
  ug_dim_t r;
  if (e.kind == UG_DX_SYM) {
    r = i < n && bound[i] >= 0 ? bound[i] : d;
  } else {
    ug_dim_t a = subst(t, e.a, bound, memo, have, n), b = subst(t, e.b, bound, memo, have, n);
    switch (e.kind) {
      case UG_DX_ADD: r = ug_dim_add(t, a, b); break;
      case UG_DX_SUB: r = ug_dim_sub(t, a, b); break;
      case UG_DX_MUL: r = ug_dim_mul(t, a, b); break;
      case UG_DX_DIV: r = ug_dim_div(t, a, b); break;
      case UG_DX_MOD: r = ug_dim_mod(t, a, b); break;
      case UG_DX_MAX: r = ug_dim_max(t, a, b); break;
      default: r = ug_dim_min(t, a, b); break;
    }
  }
  if (i < n) {
    memo[i] = r;
    have[i] = true;
  }
  return r;
}

/* --input-shape for text IR: binds the symbols of the named inputs' dims to
 * the given sizes and substitutes them in every type of the module. */
static ug_status_t specialize_inputs(ug_module_t *m, const ug_compile_options_t *o) {
  if (!o->num_input_shapes) return NULL;
  size_t n = ug_dims_count(m->dims);
  int64_t *bound = malloc((n + 1) * sizeof(int64_t));
  ug_dim_t *memo = calloc(n + 1, sizeof(ug_dim_t));
  bool *have = calloc(n + 1, sizeof(bool));
  ug_status_t st = NULL;
  if (!bound || !memo || !have) st = ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  for (size_t i = 0; i < n && !st; i++) bound[i] = -1;
  for (uint32_t i = 0; i < o->num_input_shapes && !st; i++) {
    const ug_input_shape_t *s = &o->input_shapes[i];
    bool found = false;
    for (size_t gi = 0; gi < m->graphs.len && !st; gi++) {
      ug_graph_t *g = m->graphs.items[gi];
      for (size_t k = 0; k < g->inputs.len && !st; k++) {
        ug_value_t *v = ug_value(g, g->inputs.items[k]);
        if (!v->name || strcmp(v->name, s->name) != 0) continue;
        found = true;
        if (v->type.rank != s->rank) {
          st = ug_status_make(UG_ERR_SHAPE, "--input-shape", "input '%s' has rank %d, the shape given has %d",
                              s->name, v->type.rank, s->rank);
          break;
        }
        for (int d = 0; d < s->rank && !st; d++) {
          ug_dim_t dim = v->type.dims[d];
          const ug_dimexpr_t *e = ug_dim_expr(m->dims, dim);
          if (s->dims[d] < 0 || s->dims[d] > ((int64_t)1 << 48) ||
              (UG_DIM_IS_STATIC(dim) ? dim != s->dims[d] : e->kind != UG_DX_SYM))
            st = ug_status_make(UG_ERR_SHAPE, "--input-shape", "input '%s' dim %d cannot be set to %lld",
                                s->name, d, (long long)s->dims[d]);
          else if (!UG_DIM_IS_STATIC(dim) && bound[ug_dim_index(dim)] >= 0 && bound[ug_dim_index(dim)] != s->dims[d])
            st = ug_status_make(UG_ERR_SHAPE, "--input-shape", "input '%s' dim %d: symbol '%s' is already set to %lld",
                                s->name, d, e->name, (long long)bound[ug_dim_index(dim)]);
          else if (!UG_DIM_IS_STATIC(dim))
            bound[ug_dim_index(dim)] = s->dims[d];
        }
      }
    }
    if (!found && !st) st = ug_status_make(UG_ERR_INVALID, "--input-shape", "no input named '%s'", s->name);
  }
  for (size_t gi = 0; gi < m->graphs.len && !st; gi++) {
    ug_graph_t *g = m->graphs.items[gi];
    for (size_t v = 0; v < g->values.len; v++) {
      ug_type_t *t = &g->values.items[v].type;
      for (int d = 0; d < t->rank; d++) t->dims[d] = subst(m->dims, t->dims[d], bound, memo, have, n);
    }
  }
  free(bound);
  free(memo);
  free(have);
  return st;
}

ug_status_t ug_compile_load(const ug_compile_options_t *o, ug_module_t **out) {
  *out = NULL;
  const char *in = o->input_path;
  if (access(in, R_OK) != 0) return ug_status_make(UG_ERR_IO, in, "cannot read input: %s", strerror(errno));
  if (o->num_bind_inputs && !has_suffix(in, ".onnx"))
    return ug_status_make(UG_ERR_UNSUPPORTED, "--bind-input", "binding inputs is supported for ONNX models");
  if (has_suffix(in, ".ugir")) {
    UG_RETURN_IF_ERROR(ug_parse_file(in, out));
    ug_status_t st = specialize_inputs(*out, o);
    if (!st) st = ug_verify_module(*out);
    if (st) {
      ug_module_destroy(*out);
      *out = NULL;
    }
    return st;
  }
  if (has_suffix(in, ".onnx")) {
#ifdef UG_HAVE_ONNX
    /* Bound inputs are read into a scratch arena that lives through the import
     * (the importer copies the data). */
    ug_arena_t *scratch = ug_arena_create();
    ug_onnx_binding_t *binds = ug_arena_alloc(scratch, (o->num_bind_inputs + 1) * sizeof(*binds));
    ug_status_t st = NULL;
    for (uint32_t i = 0; i < o->num_bind_inputs && !st; i++) {
      const char *tname;
      binds[i].name = o->bind_inputs[i].name;
      st = ug_onnx_read_tensor(o->bind_inputs[i].path, scratch, &tname, &binds[i].type, &binds[i].data,
                               &binds[i].size);
    }
    ug_onnx_options_t oo = {.input_shapes = o->input_shapes, .num_input_shapes = o->num_input_shapes,
                            .list_unsupported = o->list_unsupported, .diag = stderr,
                            .bindings = binds, .num_bindings = o->num_bind_inputs};
    if (!st) st = ug_onnx_import(in, &oo, out);
    ug_arena_destroy(scratch);
    return st;
#else
    return ug_status_make(UG_ERR_UNSUPPORTED, in, "this ugcc was built without the ONNX frontend");
#endif
  }
  if (has_suffix(in, ".gguf")) {
    if (o->num_input_shapes)
      return ug_status_make(UG_ERR_UNSUPPORTED, "--input-shape", "GGUF models take --ctx instead");
    ug_gguf_import_options_t go;
    ug_gguf_import_options_init(&go);
    go.ctx = o->ctx;
    go.act_dtype = o->act_dtype;
    return ug_gguf_import(in, &go, out);
  }
  return ug_status_make(UG_ERR_INVALID, in, "unknown input format (expected .onnx, .gguf or .ugir)");
}

/* Writes text to path atomically (a temporary file renamed into place). */
static ug_status_t write_atomic(const char *path, const char *text, size_t len) {
  if (strcmp(path, "-") == 0) {
    fwrite(text, 1, len, stdout);
    return fflush(stdout) == 0 ? NULL : ug_status_make(UG_ERR_IO, "stdout", "write error");
  }
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return ug_status_make(UG_ERR_NOMEM, path, "out of memory");
  snprintf(tmp, n, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    ug_status_t st = ug_status_make(UG_ERR_IO, path, "cannot create output: %s", strerror(errno));
    free(tmp);
    return st;
  }
  /* mkstemp creates the file 0600; give it the mode a plain fopen would. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "wb");
  bool ok = f && fwrite(text, 1, len, f) == len;
  if (f) ok = fclose(f) == 0 && ok;
  else close(fd);
  if (ok) ok = rename(tmp, path) == 0;
  ug_status_t st = ok ? NULL : ug_status_make(UG_ERR_IO, path, "cannot write output: %s", strerror(errno));
  if (!ok) unlink(tmp);
  free(tmp);
  return st;
}

static uint32_t count_nodes(const ug_module_t *m) {
  uint32_t n = 0;
  for (size_t i = 0; i < m->graphs.len; i++) n += ug_graph_live_nodes(m->graphs.items[i]);
  return n;
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

bool ug_compile_gpu_only(const char *targets) {
  return strncmp(targets, "cuda", 4) == 0 && !strstr(targets, "cpu") && !strstr(targets, "amdgpu");
}

ug_status_t ug_compile(const ug_compile_options_t *o) {
  ug_module_t *m;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  UG_RETURN_IF_ERROR(ug_compile_load(o, &m));
  if (o->verbose)
    fprintf(stderr, "ugcc: read %s: %zu graph(s), %u nodes, %zu weights, %zu dim expressions (%.3f s)\n",
            o->input_path, m->graphs.len, count_nodes(m), m->weights.len, ug_dims_count(m->dims),
            seconds_since(&t0));
  ug_pass_manager_t *pm;
  ug_pass_options_t po = o->pass_options;
  po.opt_level = o->opt_level;
  /* CUDA alone: the GPU's layouts (a model that may run on the CPU keeps them as they are) */
  po.gpu_layout = !o->keep_layout && ug_compile_gpu_only(o->targets);
  if (o->verbose) po.time_passes = true;
  ug_status_t st = ug_pass_manager_create(&po, &pm);
  if (st) {
    ug_module_destroy(m);
    return st;
  }
  if (o->passes)
    st = ug_pass_manager_add_list(pm, o->passes);
  else
    ug_pass_manager_add_default(pm, o->opt_level);
  if (!st) st = ug_pass_manager_run(pm, m);
  if (!st && !o->passes) st = ug_verify_module(m);
  if (!st) {
    if (o->emit == UG_EMIT_IR) {
      char *text = ug_print_module_to_string(m);
      st = text ? write_atomic(o->output_path ? o->output_path : "-", text, strlen(text))
                : ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
      free(text);
    } else if (o->emit == UG_EMIT_KIR) {
      char *text;
      st = ug_codegen_kir_text(m, o->targets, true, o->prefer_kir, &text);
      if (!st) st = write_atomic(o->output_path ? o->output_path : "-", text, strlen(text));
      free(text);
    } else {
      if (o->pass_options.dump_dir) {
        /* the kernel IR of the steps next to the graph IR of the passes */
        char *text = NULL;
        st = ug_codegen_kir_text(m, o->targets, false, o->prefer_kir, &text);
        if (!st) st = ug_pass_manager_dump_text(pm, "kernels.kir", text, strlen(text));
        free(text);
        text = NULL;
        /* ... and after the kernel-IR passes */
        if (!st) st = ug_codegen_kir_text(m, o->targets, true, o->prefer_kir, &text);
        if (!st) st = ug_pass_manager_dump_text(pm, "software-pipeline.kir", text, strlen(text));
        free(text);
      }
#ifdef UG_HAVE_LLVM
      if (!st) st = ug_codegen_emit(m, o);
#else
      st = ug_status_make(UG_ERR_UNSUPPORTED, o->targets, "this ugcc was built without the LLVM backends");
#endif
    }
  }
  if (!st && o->verbose)
    fprintf(stderr, "ugcc: wrote %s for %s: %u nodes after passes (%.3f s in all)\n",
            o->output_path ? o->output_path : "-", o->emit == UG_EMIT_IR ? "ir" : o->emit == UG_EMIT_KIR ? "kir" : o->targets, count_nodes(m),
            seconds_since(&t0));
  ug_pass_manager_destroy(pm);
  ug_module_destroy(m);
  return st;
}
