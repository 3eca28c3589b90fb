/* Runs a model.so on libugrt's cuda device and compares its outputs with
 * the expected values of a test file (the `// E2E` lines of tests/e2e:
 * sym, in, out, tol, alias):
 *
 *   e2e_cuda_run model.so test.ugir
 *
 * On a GPU, or on the CUDA emulation of tests/cuda/emu
 * (UGRT_LIBCUDA=libemucuda.so).  An aliased output (`// E2E alias O=I`, a
 * session state updated in place) gets its input's memory: one buffer from
 * the driver's cuMemAlloc (the library libugrt opens: $UGRT_LIBCUDA, else
 * libcuda.so.1), bound with ugrt_session_set_input_device and
 * ugrt_session_set_output_device.  The entry runs twice (the second run
 * replays the CUDA graph captured by the first; aliased buffers are
 * refilled in between) and both runs must match:
 * |got - want| <= tol * (1 + |want|), NaN matching NaN. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ugrt/ugrt.h"

#define MAXT 32

typedef struct {
  double *v;
  size_t n;
} vals_t;

static vals_t ins[MAXT], outs[MAXT];
static size_t nin, nout, nsym, nalias;
static char sym_names[16][64];
static int64_t sym_vals[16];
static int alias_out[MAXT], alias_in[MAXT];
static double tol = 1e-5;

static void parse_vals(const char *s, vals_t *v) {
  size_t cap = 64;
  v->v = malloc(cap * sizeof *v->v);
  v->n = 0;
  for (char *end;; s = end) {
    while (*s == ' ' || *s == '\t' || *s == ',') s++;
    if (!*s || *s == '\n') break;
    double d = strtod(s, &end);
    if (end == s) {
      fprintf(stderr, "bad value near '%.20s'\n", s);
      exit(2);
    }
    if (v->n == cap) v->v = realloc(v->v, (cap *= 2) * sizeof *v->v);
    v->v[v->n++] = d;
  }
}

/* One line of any length (NULL at the end of the file). */
static char *read_line(FILE *f, char **buf, size_t *cap) {
  size_t len = 0;
  int c;
  while ((c = fgetc(f)) != EOF && c != '\n') {
    if (len + 2 > *cap) *buf = realloc(*buf, *cap = *cap ? *cap * 2 : 4096);
    (*buf)[len++] = (char)c;
  }
  if (c == EOF && len == 0) return NULL;
  if (!*buf) *buf = malloc(*cap = 4096);
  (*buf)[len] = 0;
  return *buf;
}

static void read_spec(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(2);
  }
  char *line = NULL;
  size_t cap = 0;
  while (read_line(f, &line, &cap)) {
    const char *p = strstr(line, "// E2E ");
    if (!p) continue;
    p += 7;
    if (strncmp(p, "sym ", 4) == 0 && nsym < 16) {
      if (sscanf(p + 4, "%63[^=]=%lld", sym_names[nsym], (long long *)&sym_vals[nsym]) == 2) nsym++;
    } else if (strncmp(p, "in", 2) == 0 && (p[2] == ' ' || !p[2]) && nin < MAXT) {
      parse_vals(p + 2, &ins[nin++]);
    } else if (strncmp(p, "out", 3) == 0 && (p[3] == ' ' || !p[3]) && nout < MAXT) {
      parse_vals(p + 3, &outs[nout++]);
    } else if (strncmp(p, "tol ", 4) == 0) {
      tol = strtod(p + 4, NULL);
    } else if (strncmp(p, "alias ", 6) == 0 && nalias < MAXT) {
      if (sscanf(p + 6, "%d=%d", &alias_out[nalias], &alias_in[nalias]) == 2) nalias++;
    }
  }
  free(line);
  fclose(f);
}

static float h2f(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  float s = (h & 0x8000) ? -1.0f : 1.0f;
  if (e == 31) return m ? NAN : s * INFINITY;
  if (e == 0) return s * ldexpf((float)m, -24);
  return s * ldexpf((float)(1024 + m), e - 25);
}

/* f32 -> f16 / bf16, round to nearest even (the inputs are exact anyway) */
static uint16_t f2h(float f) {
  if (isnan(f)) return 0x7e00;
  uint16_t sign = signbit(f) ? 0x8000 : 0;
  float a = fabsf(f);
  if (a >= 65520.0f) return sign | 0x7c00;
  if (a < 6.103515625e-05f) return sign | (uint16_t)lrintf(a * 16777216.0f);
  int e;
  float m = frexpf(a, &e);
  long mant = lrintf((m * 2.0f - 1.0f) * 1024.0f);
  int ex = e - 1 + 15;
  if (mant == 1024) mant = 0, ex++;
  return (uint16_t)(sign | (uint32_t)(ex << 10) | (uint32_t)mant);
}

static uint16_t f2bf(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if (isnan(f)) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static void put(void *p, ugrt_dtype_t dt, size_t i, double v) {
  switch (dt) {
  case UGRT_F64: ((double *)p)[i] = v; break;
  case UGRT_F32: ((float *)p)[i] = (float)v; break;
  case UGRT_F16: ((uint16_t *)p)[i] = f2h((float)v); break;
  case UGRT_BF16: ((uint16_t *)p)[i] = f2bf((float)v); break;
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

static double get(const void *p, ugrt_dtype_t dt, size_t i) {
  switch (dt) {
  case UGRT_F64: return ((const double *)p)[i];
  case UGRT_F32: return ((const float *)p)[i];
  case UGRT_F16: return h2f(((const uint16_t *)p)[i]);
  case UGRT_BF16: {
    uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
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

/* The driver calls for aliased buffers, in the primary context of device 0
 * (libugrt's). */
static struct {
  int (*retain)(void **, int);
  int (*push)(void *);
  int (*alloc)(unsigned long long *, size_t);
  int (*htod)(unsigned long long, const void *, size_t);
} drv;

static bool open_driver(void) {
  const char *path = getenv("UGRT_LIBCUDA");
  void *h = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return fprintf(stderr, "e2e_cuda_run: %s\n", dlerror()), false;
  *(void **)&drv.retain = dlsym(h, "cuDevicePrimaryCtxRetain");
  *(void **)&drv.push = dlsym(h, "cuCtxPushCurrent_v2");
  *(void **)&drv.alloc = dlsym(h, "cuMemAlloc_v2");
  *(void **)&drv.htod = dlsym(h, "cuMemcpyHtoD_v2");
  void *ctx = NULL;
  if (!drv.retain || !drv.push || !drv.alloc || !drv.htod || drv.retain(&ctx, 0) || drv.push(ctx))
    return fprintf(stderr, "e2e_cuda_run: cannot use the driver for aliased buffers\n"), false;
  return true;
}

static bool check(ugrt_status_t s, const char *what) {
  if (!s) return true;
  fprintf(stderr, "e2e_cuda_run: %s: %s\n", what, ugrt_status_message(s));
  ugrt_status_free(s);
  return false;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: e2e_cuda_run model.so test.ugir\n");
    return 2;
  }
  read_spec(argv[2]);
  ugrt_model_options_t mo;
  ugrt_model_options_init(&mo);
  mo.device = "cuda";
  ugrt_model_t *m = NULL;
  ugrt_session_t *s = NULL;
  if (!check(ugrt_model_load(argv[1], &mo, &m), "load") || !check(ugrt_session_create(m, NULL, &s), "session"))
    return 1;
  uint32_t ni = ugrt_model_input_count(m, 0), no = ugrt_model_output_count(m, 0);
  if (ni != nin || no != nout) {
    fprintf(stderr, "e2e_cuda_run: the model has %u inputs and %u outputs, the test gives %zu and %zu\n", ni, no, nin, nout);
    return 1;
  }
  void *data[MAXT] = {0};
  unsigned long long dev[MAXT] = {0}; /* aliased inputs: device memory */
  size_t size[MAXT] = {0};
  if (nalias && !open_driver()) return 1;
  int64_t dims[MAXT][8];
  ugrt_tensor_info_t info[MAXT];
  for (uint32_t i = 0; i < ni; i++) {
    if (!check(ugrt_model_input_info(m, 0, i, &info[i]), "input info")) return 1;
    size_t n = 1;
    for (uint32_t d = 0; d < info[i].rank; d++) {
      dims[i][d] = info[i].dims[d];
      for (size_t k = 0; dims[i][d] < 0 && k < nsym; k++)
        if (strcmp(info[i].dim_names[d], sym_names[k]) == 0) dims[i][d] = sym_vals[k];
      if (dims[i][d] < 0) {
        fprintf(stderr, "e2e_cuda_run: no E2E sym for dim %s of input %u\n", info[i].dim_names[d], i);
        return 1;
      }
      n *= (size_t)dims[i][d];
    }
    if (n != ins[i].n) {
      fprintf(stderr, "e2e_cuda_run: input %u holds %zu values, the test gives %zu\n", i, n, ins[i].n);
      return 1;
    }
    size[i] = n * ugrt_dtype_size(info[i].dtype);
    data[i] = aligned_alloc(256, size[i] / 256 * 256 + 256);
    for (size_t e = 0; e < n; e++) put(data[i], info[i].dtype, e, ins[i].v[e]);
    for (size_t a = 0; a < nalias; a++)
      if (alias_in[a] == (int)i && !dev[i] && drv.alloc(&dev[i], size[i] ? size[i] : 1)) {
        fprintf(stderr, "e2e_cuda_run: cuMemAlloc failed\n");
        return 1;
      }
  }
  int bad = 0;
  for (int run = 0; run < 2 && !bad; run++) {
    for (uint32_t i = 0; i < ni; i++) {
      bool aliased = false;
      for (size_t a = 0; a < nalias; a++) aliased = aliased || alias_in[a] == (int)i;
      if (aliased) {
        void *d = (void *)(uintptr_t)dev[i];
        if (size[i] && drv.htod(dev[i], data[i], size[i])) {
          fprintf(stderr, "e2e_cuda_run: cuMemcpyHtoD failed\n");
          return 1;
        }
        if (!check(ugrt_session_set_input_device(s, 0, i, info[i].dtype, info[i].rank, dims[i], d, size[i]),
                   "set_input_device"))
          return 1;
      } else if (!check(ugrt_session_set_input(s, 0, i, info[i].dtype, info[i].rank, dims[i], data[i], size[i]),
                        "set_input")) {
        return 1;
      }
    }
    for (size_t a = 0; a < nalias; a++)
      if (!check(ugrt_session_set_output_device(s, 0, (uint32_t)alias_out[a], (void *)(uintptr_t)dev[alias_in[a]],
                                                size[alias_in[a]]),
                 "set_output_device"))
        return 1;
    if (!check(ugrt_session_run(s, 0), "run")) return 1;
    for (uint32_t o = 0; o < no; o++) {
      ugrt_tensor_view_t v;
      if (!check(ugrt_session_output(s, 0, o, &v), "output")) return 1;
      size_t n = v.size / ugrt_dtype_size(v.dtype);
      if (n != outs[o].n) {
        fprintf(stderr, "e2e_cuda_run: output %s holds %zu values, the test expects %zu\n", v.name, n, outs[o].n);
        bad = 1;
        continue;
      }
      size_t wrong = 0;
      double worst = 0;
      for (size_t e = 0; e < n; e++) {
        double got = get(v.data, v.dtype, e), want = outs[o].v[e];
        bool ok = (isnan(want) && isnan(got)) || got == want || fabs(got - want) <= tol * (1 + fabs(want));
        if (!ok && wrong++ < 5)
          fprintf(stderr, "e2e_cuda_run: run %d output %s[%zu] = %.9g, expected %.9g\n", run, v.name, e, got, want);
        if (!isnan(want) && fabs(got - want) / (1 + fabs(want)) > worst) worst = fabs(got - want) / (1 + fabs(want));
      }
      if (wrong) bad = 1;
      if (run == 0) printf("%-4s %s: %zu values, max error %.3g (tol %.3g)\n", wrong ? "FAIL" : "ok", v.name, n, worst, tol);
    }
  }
  ugrt_session_release(s);
  ugrt_model_release(m);
  for (uint32_t i = 0; i < ni; i++) free(data[i]), free(ins[i].v);
  for (size_t o = 0; o < nout; o++) free(outs[o].v);
  return bad;
}
