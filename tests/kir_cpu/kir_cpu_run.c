/* Runs a kernel-IR kernel on the CPU and checks its results.
 *
 *   kir_cpu_run FILE.kir [--target=SPEC] [--ll]
 *
 * FILE holds one kernel and these comment lines:
 *   // RUN sym NAME=VALUE          value of a symbolic dim
 *   // RUN arg %p v0 v1 ...        initial contents of parameter %p (row-major;
 *                                  parameters without one start as zeros)
 *   // RUN expect %p v0 v1 ...     contents of %p after the run
 *   // RUN tol REL                 tolerance |got - want| <= REL * (1 + |want|)
 *   // RUN error TEXT              emission fails with a message containing TEXT
 * Values are numbers, inf, -inf or nan.  The kernel is emitted by
 * ug_cg_emit_kir (codegen/llvm/kir.c) into a function whose args are the
 * parameters in order (a one-element tile or an index parameter points to
 * its value), optimized, compiled to an object, linked with `cc -shared`
 * and called through dlopen.  The expected values are NumPy's
 * (tests/kir_cpu/gen_expected.py writes them), never ugcc's. */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/link.h"
#include "codegen/llvm/lower.h"
#include "codegen/llvm/object.h"
#include "ir/kir.h"
#include "ir/text.h"

#define MAX_LINES 64

typedef struct {
  char kind[16];
  char name[64];
  double *v;
  size_t n;
} runline_t;

static runline_t lines[MAX_LINES];
static size_t nlines;

static double parse_num(const char *s, char **end) {
  while (*s == ' ') s++;
  if (strncmp(s, "nan", 3) == 0) { *end = (char *)s + 3; return NAN; }
  if (strncmp(s, "inf", 3) == 0) { *end = (char *)s + 3; return INFINITY; }
  if (strncmp(s, "-inf", 4) == 0) { *end = (char *)s + 4; return -INFINITY; }
  return strtod(s, end);
}

static void read_lines(const char *text) {
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    const char *q = p;
    while (*q == ' ') q++;
    if (strncmp(q, "// RUN ", 7) != 0) continue;
    q += 7;
    runline_t *l = &lines[nlines++];
    if (nlines > MAX_LINES) {
      fprintf(stderr, "too many RUN lines\n");
      exit(2);
    }
    sscanf(q, "%15s", l->kind);
    q += strlen(l->kind);
    while (*q == ' ') q++;
    const char *eol = strchr(q, '\n');
    size_t len = eol ? (size_t)(eol - q) : strlen(q);
    if (strcmp(l->kind, "error") == 0 || strcmp(l->kind, "sym") == 0) {
      snprintf(l->name, sizeof l->name, "%.*s", (int)len, q);
      continue;
    }
    if (strcmp(l->kind, "arg") == 0 || strcmp(l->kind, "expect") == 0) {
      sscanf(q, "%63s", l->name);
      q += strlen(l->name);
    }
    char *line = strndup(q, (size_t)(eol ? eol - q : (ptrdiff_t)strlen(q)));
    size_t cap = 16;
    l->v = malloc(cap * sizeof(double));
    char *s = line, *end;
    for (;;) {
      double d = parse_num(s, &end);
      if (end == s) break;
      if (l->n == cap) l->v = realloc(l->v, (cap *= 2) * sizeof(double));
      l->v[l->n++] = d;
      s = end;
    }
    free(line);
  }
}

static int64_t bytes_of(ug_dtype_t dt) { return dt == UG_DTYPE_BOOL ? 1 : ug_dtype_bits(dt) / 8; }

static void put(void *p, ug_dtype_t dt, size_t i, double v) {
  switch (dt) {
  case UG_DTYPE_F64: ((double *)p)[i] = v; break;
  case UG_DTYPE_F32: ((float *)p)[i] = (float)v; break;
  case UG_DTYPE_F16: ((uint16_t *)p)[i] = ug_f32_to_f16((float)v); break;
  case UG_DTYPE_BF16: ((uint16_t *)p)[i] = ug_f32_to_bf16((float)v); break;
  case UG_DTYPE_I64: ((int64_t *)p)[i] = (int64_t)v; break;
  case UG_DTYPE_I32: ((int32_t *)p)[i] = (int32_t)v; break;
  case UG_DTYPE_I16: ((int16_t *)p)[i] = (int16_t)v; break;
  case UG_DTYPE_I8: ((int8_t *)p)[i] = (int8_t)v; break;
  case UG_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
  case UG_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
  default: fprintf(stderr, "dtype %s not handled by the harness\n", ug_dtype_name(dt)); exit(2);
  }
}

static double get(const void *p, ug_dtype_t dt, size_t i) {
  switch (dt) {
  case UG_DTYPE_F64: return ((const double *)p)[i];
  case UG_DTYPE_F32: return ((const float *)p)[i];
  case UG_DTYPE_F16: return ug_f16_to_f32(((const uint16_t *)p)[i]);
  case UG_DTYPE_BF16: return ug_bf16_to_f32(((const uint16_t *)p)[i]);
  case UG_DTYPE_I64: return (double)((const int64_t *)p)[i];
  case UG_DTYPE_I32: return ((const int32_t *)p)[i];
  case UG_DTYPE_I16: return ((const int16_t *)p)[i];
  case UG_DTYPE_I8: return ((const int8_t *)p)[i];
  case UG_DTYPE_U8: return ((const uint8_t *)p)[i];
  case UG_DTYPE_BOOL: return ((const uint8_t *)p)[i];
  default: return NAN;
  }
}

static bool close_enough(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  return fabs(got - want) <= tol * (1 + fabs(want));
}

static int fail(ug_status_t st) {
  ug_status_print(st, stderr);
  ug_status_free(st);
  return 1;
}

/* Everything main made, so the sanitizers' leak check passes on every path
 * that returns normally. */
static void release(ug_cg_t *cg, LLVMModuleRef mod, LLVMContextRef ctx, ug_kir_module_t *km, ug_module_t *gm,
                    int64_t *syms, int64_t *dims, char *text) {
  ug_cg_dispose(cg);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  ug_kir_module_destroy(km);
  ug_module_destroy(gm);
  free(syms);
  free(dims);
  free(text);
  for (size_t l = 0; l < nlines; l++) free(lines[l].v);
}

int main(int argc, char **argv) {
  const char *path = NULL, *spec = "cpu";
  bool dump = false;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--target=", 9) == 0) spec = argv[i] + 9;
    else if (strcmp(argv[i], "--ll") == 0) dump = true;
    else path = argv[i];
  }
  if (!path) {
    fprintf(stderr, "usage: kir_cpu_run FILE.kir [--target=SPEC] [--ll]\n");
    return 2;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 2;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  if (fread(text, 1, (size_t)size, f) != (size_t)size) return 2;
  text[size] = 0;
  fclose(f);
  read_lines(text);

  ug_module_t *gm = ug_module_create();
  ug_kir_module_t *km;
  ug_status_t st = ug_kir_parse(text, (size_t)size, path, gm, &km);
  if (!st) st = ug_kir_verify_module(km);
  if (st) return fail(st);
  ug_kir_kernel_t *k = km->kernels.items[0];
  const ug_target_t *target;
  if ((st = ug_target_lookup(spec, strlen(spec), &target))) return fail(st);

  /* symbols, then every dim-table entry */
  size_t nd = ug_dims_count(gm->dims);
  int64_t *syms = calloc(nd + 1, sizeof *syms), *dims = calloc(nd + 1, sizeof *dims);
  double tol = 1e-6;
  const char *want_error = NULL;
  for (size_t i = 0; i < nlines; i++) {
    if (strcmp(lines[i].kind, "sym") == 0) {
      char name[64];
      long long v;
      if (sscanf(lines[i].name, "%63[^=]=%lld", name, &v) != 2) return 2;
      syms[ug_dim_index(ug_dim_sym(gm->dims, name))] = v;
    } else if (strcmp(lines[i].kind, "tol") == 0 && lines[i].n == 1) {
      tol = lines[i].v[0];
    } else if (strcmp(lines[i].kind, "error") == 0) {
      want_error = lines[i].name;
    }
  }
  for (size_t i = 0; i < nd; i++)
    if (!ug_dim_eval(gm->dims, ug_dim_from_index(i), syms, &dims[i])) return 2;

  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("kir", ctx);
  ug_cg_t cg;
  ug_cg_init(&cg, ctx, mod, gm, target, 2);
  uint32_t np = (uint32_t)k->params.len;
  LLVMValueRef args[64];
  LLVMValueRef fn = ug_cg_kernel_begin(&cg, "kir_test", np, args);
  st = ug_cg_emit_kir(&cg, k, args, np);
  ug_cg_kernel_end(&cg);
  if (want_error) {
    bool ok = st && strstr(ug_status_message(st), want_error) != NULL;
    if (!st) fprintf(stderr, "expected an error containing \"%s\"\n", want_error);
    else ug_status_print(st, ok ? stdout : stderr);
    ug_status_free(st);
    release(&cg, mod, ctx, km, gm, syms, dims, text);
    return ok ? 0 : 1;
  }
  if (st) return fail(st);
  LLVMSetLinkage(fn, LLVMExternalLinkage);
  LLVMTargetMachineRef tm;
  if ((st = ug_llvm_target_machine(target, 2, &tm))) return fail(st);
  ug_llvm_setup_module(mod, tm);
  if ((st = ug_llvm_verify(mod))) return fail(st);
  if ((st = ug_llvm_optimize(mod, tm, 2))) return fail(st);
  if (dump) {
    char *ir = LLVMPrintModuleToString(mod);
    fputs(ir, stdout);
    LLVMDisposeMessage(ir);
  }
  LLVMMemoryBufferRef obj;
  if ((st = ug_llvm_emit(mod, tm, LLVMObjectFile, &obj))) return fail(st);
  char base[64], *obj_path, so_path[96];
  snprintf(base, sizeof base, "/tmp/kir_cpu_run.%d", (int)getpid());
  if ((st = ug_tmpfile_write(base, ".o", LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), &obj_path))) return fail(st);
  snprintf(so_path, sizeof so_path, "%s.so", base);
  const char *objs[1] = {obj_path}, *exports[1] = {"kir_test"};
  st = ug_link_shared(so_path, objs, 1, exports, 1);
  unlink(obj_path);
  free(obj_path);
  if (st) return fail(st);
  void *h = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  unlink(so_path);
  if (!h) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  typedef void (*kernel_fn)(void *const *, const int64_t *);
  kernel_fn kernel = (kernel_fn)(uintptr_t)dlsym(h, "kir_test");
  if (!kernel) return 1;

  /* buffers */
  void *bufs[64];
  size_t counts[64];
  ug_dtype_t dts[64];
  for (uint32_t i = 0; i < np; i++) {
    const ug_kir_value_t *pv = &k->values.items[k->params.items[i]];
    const ug_kir_type_t *t = &pv->type;
    size_t n = 1;
    dts[i] = t->kind == UG_KT_INDEX ? UG_DTYPE_I64 : t->t.dtype;
    if (t->kind != UG_KT_INDEX)
      for (int d = 0; d < t->t.rank; d++) {
        ug_dim_t x = t->t.dims[d];
        n *= (size_t)(UG_DIM_IS_STATIC(x) ? x : dims[ug_dim_index(x)]);
      }
    counts[i] = n;
    bufs[i] = calloc(n + 1, (size_t)bytes_of(dts[i]));
    for (size_t l = 0; l < nlines; l++) {
      if (strcmp(lines[l].kind, "arg") != 0 || !pv->name || strcmp(lines[l].name + 1, pv->name) != 0) continue;
      if (lines[l].n != n) {
        fprintf(stderr, "%s: arg %%%s has %zu values, expected %zu\n", path, pv->name, lines[l].n, n);
        return 2;
      }
      for (size_t j = 0; j < n; j++) put(bufs[i], dts[i], j, lines[l].v[j]);
    }
  }
  kernel(bufs, dims);

  int bad = 0, checked = 0;
  for (uint32_t i = 0; i < np; i++) {
    const ug_kir_value_t *pv = &k->values.items[k->params.items[i]];
    for (size_t l = 0; l < nlines; l++) {
      if (strcmp(lines[l].kind, "expect") != 0 || !pv->name || strcmp(lines[l].name + 1, pv->name) != 0) continue;
      checked++;
      if (lines[l].n != counts[i]) {
        fprintf(stderr, "%s: expect %%%s has %zu values, expected %zu\n", path, pv->name, lines[l].n, counts[i]);
        return 2;
      }
      for (size_t j = 0; j < counts[i]; j++) {
        /* the expected value as the dtype holds it (the text has 9 digits) */
        uint64_t w = 0;
        put(&w, dts[i], 0, lines[l].v[j]);
        double got = get(bufs[i], dts[i], j), want = get(&w, dts[i], 0);
        if (!close_enough(got, want, tol)) {
          if (bad < 10) fprintf(stderr, "%s: %%%s[%zu] = %.9g, expected %.9g\n", path, pv->name, j, got, want);
          bad++;
        }
      }
    }
  }
  for (uint32_t i = 0; i < np; i++) free(bufs[i]);
  if (!checked) {
    fprintf(stderr, "%s: nothing to check\n", path);
    return 2;
  }
  if (bad) {
    fprintf(stderr, "%s: %d mismatches\n", path, bad);
    return 1;
  }
  printf("%s: ok\n", path);
  dlclose(h);
  LLVMDisposeMemoryBuffer(obj);
  LLVMDisposeTargetMachine(tm);
  release(&cg, mod, ctx, km, gm, syms, dims, text);
  return 0;
}
