/* A minimal model.so runner for the end-to-end tests: dlopens the model,
 * validates the header, runs the CPU plan of the first entry step by step and
 * compares the outputs with expected values written in the test file.
 *
 * It talks to model.so only through runtime/include/ugrt/model_abi.h, so it
 * checks the ABI independently of libugrt.  Test files carry lines
 *   // E2E sym NAME=VALUE        value of a symbolic dim
 *   // E2E in  v0 v1 ...         the next entry input, row-major
 *   // E2E out v0 v1 ...         the next entry output, row-major
 *   // E2E tol REL               relative/absolute tolerance (default 1e-5)
 *   // E2E alias O=I             output O is given input I's memory (after the
 *                                inputs are written), as for a session state
 *                                updated in place
 * Values are decimal numbers, nan, inf or -inf; expected values come from
 * hand computation or an independent reference, never from ugcc. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ugrt/model_abi.h"

#define MAXV 32768
#define MAXT 16

typedef struct {
  double v[MAXV];
  size_t n;
} vals_t;

static vals_t ins[MAXT], outs[MAXT];
static size_t nin, nout;
static char sym_names[16][64];
static int64_t sym_vals[16];
static size_t nsym;
static double tol = 1e-5;
static int alias_out[MAXT], alias_in[MAXT];
static size_t nalias;

static void parse_vals(const char *s, vals_t *v) {
  char *end;
  v->n = 0;
  for (;;) {
    while (*s == ' ' || *s == '\t' || *s == ',') s++;
    if (!*s || *s == '\n') break;
    double d = strtod(s, &end);
    if (end == s) {
      fprintf(stderr, "bad value near '%s'\n", s);
      exit(2);
    }
    if (v->n < MAXV) v->v[v->n++] = d;
    s = end;
  }
}

static void read_spec(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(2);
  }
  static char line[1 << 20];
  while (fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "// E2E ");
    if (!p) continue;
    p += 7;
    if (strncmp(p, "sym ", 4) == 0) {
      char name[64];
      long long v;
      if (sscanf(p + 4, "%63[^=]=%lld", name, &v) == 2 && nsym < 16) {
        strcpy(sym_names[nsym], name);
        sym_vals[nsym++] = v;
      }
    } else if (strncmp(p, "in", 2) == 0 && (p[2] == ' ' || p[2] == '\n' || !p[2]) && nin < MAXT) {
      parse_vals(p + 2, &ins[nin++]); /* an empty list: a tensor with no elements */
    } else if (strncmp(p, "out", 3) == 0 && (p[3] == ' ' || p[3] == '\n' || !p[3]) && nout < MAXT) {
      parse_vals(p + 3, &outs[nout++]);
    } else if (strncmp(p, "tol ", 4) == 0) {
      tol = strtod(p + 4, NULL);
    } else if (strncmp(p, "alias ", 6) == 0 && nalias < MAXT) {
      if (sscanf(p + 6, "%d=%d", &alias_out[nalias], &alias_in[nalias]) == 2) nalias++;
    }
  }
  fclose(f);
}

static int64_t dimval(const int64_t *dv, ugrt_dim_t d) { return d >= 0 ? d : dv[-(d + 1)]; }

static uint16_t f32_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  float a = fabsf(f);
  if (isnan(f)) return (uint16_t)(sign | 0x7e00);
  if (a >= 65520.0f) return (uint16_t)(sign | 0x7c00);
  if (a < 6.103515625e-05f) return (uint16_t)(sign | (uint16_t)lrintf(a * 16777216.0f));
  int e;
  float m = frexpf(a, &e); /* a = m * 2^e, m in [0.5,1) */
  long mant = lrintf((m * 2.0f - 1.0f) * 1024.0f);
  int ex = e - 1 + 15;
  if (mant == 1024) mant = 0, ex++;
  return (uint16_t)(sign | (uint32_t)(ex << 10) | (uint32_t)mant);
}

static double f16_to_f64(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double s = (h & 0x8000) ? -1 : 1;
  if (e == 31) return m ? NAN : s * INFINITY;
  if (e == 0) return s * ldexp(m, -24);
  return s * ldexp(1024 + m, e - 25);
}

static size_t dtype_size(uint32_t dt) {
  switch (dt) {
  case UGRT_F64: case UGRT_I64: case UGRT_U64: return 8;
  case UGRT_F32: case UGRT_I32: case UGRT_U32: return 4;
  case UGRT_F16: case UGRT_BF16: case UGRT_I16: case UGRT_U16: return 2;
  default: return 1;
  }
}

static void put(void *p, uint32_t dt, size_t i, double v) {
  switch (dt) {
  case UGRT_F64: ((double *)p)[i] = v; break;
  case UGRT_F32: ((float *)p)[i] = (float)v; break;
  case UGRT_F16: ((uint16_t *)p)[i] = f32_to_f16((float)v); break;
  case UGRT_BF16: { float f = (float)v; uint32_t u; memcpy(&u, &f, 4); ((uint16_t *)p)[i] = (uint16_t)(u >> 16); break; }
  case UGRT_I64: ((int64_t *)p)[i] = (int64_t)v; break;
  case UGRT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
  case UGRT_I16: ((int16_t *)p)[i] = (int16_t)v; break;
  case UGRT_I8: ((int8_t *)p)[i] = (int8_t)v; break;
  case UGRT_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
  case UGRT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
  case UGRT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
  default: ((uint8_t *)p)[i] = (uint8_t)v; break;
  }
}

static double get(const void *p, uint32_t dt, size_t i) {
  switch (dt) {
  case UGRT_F64: return ((const double *)p)[i];
  case UGRT_F32: return ((const float *)p)[i];
  case UGRT_F16: return f16_to_f64(((const uint16_t *)p)[i]);
  case UGRT_BF16: { uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16; float f; memcpy(&f, &u, 4); return f; }
  case UGRT_I64: return (double)((const int64_t *)p)[i];
  case UGRT_I32: return ((const int32_t *)p)[i];
  case UGRT_I16: return ((const int16_t *)p)[i];
  case UGRT_I8: return ((const int8_t *)p)[i];
  case UGRT_U64: return (double)((const uint64_t *)p)[i];
  case UGRT_U32: return ((const uint32_t *)p)[i];
  case UGRT_U16: return ((const uint16_t *)p)[i];
  default: return ((const uint8_t *)p)[i];
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: e2e_run model.so test.ugir\n");
    return 2;
  }
  read_spec(argv[2]);
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  ugrt_model_query_fn q = (ugrt_model_query_fn)(uintptr_t)dlsym(h, UGRT_MODEL_QUERY_SYMBOL);
  if (!q) return fprintf(stderr, "no query symbol\n"), 1;
  if (q(UGRT_ABI_VERSION + 1) != NULL) return fprintf(stderr, "query accepts a wrong version\n"), 1;
  const ugrt_model_header_t *hd = q(UGRT_ABI_VERSION);
  if (!hd || hd->magic != UGRT_MODEL_MAGIC || hd->header_size != sizeof *hd || hd->num_targets < 1)
    return fprintf(stderr, "bad header\n"), 1;
  const ugrt_abi_target_t *t = &hd->targets[0];
  if (t->kind != UGRT_TARGET_CPU) return fprintf(stderr, "no cpu target\n"), 1;

  int64_t *dv = calloc(hd->num_dim_exprs + 1, sizeof *dv);
  for (uint32_t i = 0; i < hd->num_dim_exprs; i++) {
    const ugrt_abi_dimexpr_t *e = &hd->dim_exprs[i];
    int64_t a = e->kind == UGRT_DX_SYM ? 0 : dimval(dv, e->a), b = e->kind == UGRT_DX_SYM ? 0 : dimval(dv, e->b);
    switch (e->kind) {
    case UGRT_DX_SYM:
      dv[i] = -1;
      for (size_t s = 0; s < nsym; s++)
        if (strcmp(sym_names[s], e->name) == 0) dv[i] = sym_vals[s];
      if (dv[i] < 0) return fprintf(stderr, "no value for dim %s\n", e->name), 1;
      break;
    case UGRT_DX_ADD: dv[i] = a + b; break;
    case UGRT_DX_SUB: dv[i] = a - b; break;
    case UGRT_DX_MUL: dv[i] = a * b; break;
    case UGRT_DX_DIV: dv[i] = b ? (a >= 0 ? a / b : -((-a + b - 1) / b)) : 0; break;
    case UGRT_DX_MOD: dv[i] = b ? ((a % b) + b) % b : 0; break;
    case UGRT_DX_MAX: dv[i] = a > b ? a : b; break;
    case UGRT_DX_MIN: dv[i] = a < b ? a : b; break;
    default: return fprintf(stderr, "unknown dim expression kind %u\n", e->kind), 1;
    }
  }
  const ugrt_abi_entry_t *en = &hd->entries[0];
  const ugrt_abi_plan_t *pl = &t->plans[0];
  if (en->num_inputs != nin || en->num_outputs != nout)
    return fprintf(stderr, "test gives %zu inputs / %zu outputs, model has %u / %u\n", nin, nout,
                   en->num_inputs, en->num_outputs), 1;
  void **bufs = calloc(pl->num_buffers, sizeof *bufs);
  for (uint32_t i = 0; i < pl->num_buffers; i++) {
    const ugrt_abi_buffer_t *b = &pl->buffers[i];
    int64_t size = dimval(dv, b->size);
    if (b->kind == UGRT_BUF_WEIGHT) {
      if (!hd->weights) return fprintf(stderr, "external weights not supported here\n"), 1;
      if (b->offset % 64) return fprintf(stderr, "weight offset not aligned\n"), 1;
      bufs[i] = (char *)hd->weights + b->offset;
      continue;
    }
    if (b->kind == UGRT_BUF_ARENA && (b->first_step > b->last_step || b->last_step >= pl->num_steps))
      return fprintf(stderr, "buffer %u: bad liveness\n", i), 1;
    /* exactly `size` bytes, so that memory checkers see any access beyond */
    bufs[i] = malloc(size > 0 ? (size_t)size : 1);
    memset(bufs[i], 0xA5, (size_t)size); /* garbage: kernels must write everything */
  }
  for (uint32_t i = 0; i < nin; i++) {
    const ugrt_abi_tensor_t *te = &en->inputs[i];
    size_t n = 1;
    for (uint32_t d = 0; d < te->rank; d++) n *= (size_t)dimval(dv, te->dims[d]);
    if (n != ins[i].n) return fprintf(stderr, "input %s: %zu values given, %zu needed\n", te->name, ins[i].n, n), 1;
    for (size_t k = 0; k < n; k++) put(bufs[pl->input_buffers[i]], te->dtype, k, ins[i].v[k]);
  }
  bool *borrowed = calloc(pl->num_buffers + 1, sizeof *borrowed);
  for (size_t a = 0; a < nalias; a++) {
    uint32_t ob, ib;
    if (alias_out[a] < 0 || (uint32_t)alias_out[a] >= nout || alias_in[a] < 0 || (uint32_t)alias_in[a] >= nin)
      return fprintf(stderr, "alias %d=%d out of range\n", alias_out[a], alias_in[a]), 1;
    ob = pl->output_buffers[alias_out[a]];
    ib = pl->input_buffers[alias_in[a]];
    if (dimval(dv, pl->buffers[ob].size) != dimval(dv, pl->buffers[ib].size))
      return fprintf(stderr, "alias %d=%d: the buffers differ in size\n", alias_out[a], alias_in[a]), 1;
    free(bufs[ob]);
    bufs[ob] = bufs[ib];
    borrowed[ob] = true;
  }
  for (uint32_t s = 0; s < pl->num_steps; s++) {
    const ugrt_abi_step_t *st = &pl->steps[s];
    void *args[256];
    for (uint32_t a = 0; a < st->num_args; a++) args[a] = bufs[st->args[a]];
    t->cpu_kernels[st->kernel](args, dv);
  }
  int bad = 0;
  for (uint32_t i = 0; i < nout; i++) {
    const ugrt_abi_tensor_t *te = &en->outputs[i];
    size_t n = 1;
    for (uint32_t d = 0; d < te->rank; d++) n *= (size_t)dimval(dv, te->dims[d]);
    if (n != outs[i].n) {
      fprintf(stderr, "output %s: %zu values expected, model gives %zu\n", te->name, outs[i].n, n);
      bad = 1;
      continue;
    }
    (void)dtype_size;
    for (size_t k = 0; k < n; k++) {
      double got = get(bufs[pl->output_buffers[i]], te->dtype, k), want = outs[i].v[k];
      bool ok = (isnan(want) && isnan(got)) || got == want || fabs(got - want) <= tol * (1 + fabs(want));
      if (!ok) {
        if (bad < 20) fprintf(stderr, "output %s[%zu]: got %.9g, want %.9g\n", te->name, k, got, want);
        bad++;
      }
    }
  }
  if (!bad) printf("ok\n");
  for (uint32_t i = 0; i < pl->num_buffers; i++)
    if (pl->buffers[i].kind != UGRT_BUF_WEIGHT && !borrowed[i]) free(bufs[i]);
  free(borrowed);
  free(bufs);
  free(dv);
  dlclose(h);
  return bad ? 1 : 0;
}
