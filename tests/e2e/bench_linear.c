/* Checks and times the cpu backend's `linear` (x @ w^T) with block-quantized
 * and f16 weights, the hot op of LLM inference.
 *
 *   bench_linear [--quick] [--target=cpu:x86-64-v3] [--seconds=S] [--llvm=DIR]
 *                [--only=DTYPE] [--rows=M]
 *
 * Each case builds a one-node graph through the IR API (x an f32 input
 * [M, K], w a constant [N, K] of random blocks with sane f16 scales),
 * compiles it with ug_codegen_emit into a temporary model.so, runs it
 * through model_abi.h directly (like e2e_run) and compares with a reference
 * in double over weights dequantized by frontend/gguf/quant.c (the host
 * reference, not the code generator).  It prints the time per call, GFLOP/s
 * and the weight bytes streamed per second, next to the single-core copy
 * bandwidth measured in the same run.  Without --quick: 4096 x 4096 weights
 * at M = 1 (decode) and M = 64 (prefill).  --quick (ctest e2e.linear_quick):
 * odd sizes that cross the kernel's blocking (rows in chunks of 256, weight
 * panels of 64 rows, the dot path below 4 rows), checked only.  --llvm=DIR
 * also writes each case's optimized LLVM IR there.  Exit status 1 on a
 * mismatch. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "frontend/gguf/quant.h"
#include "ir/text.h"
#include "ugrt/model_abi.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* the kernels are single-threaded */
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static float frand(uint64_t *s) { return (float)(rnd(s) & 0xffff) / 32768.0f - 1.0f; }

typedef struct {
  void *so;
  const ugrt_model_header_t *h;
  void **bufs;
} model_t;

static int load(const char *path, model_t *m) {
  m->so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!m->so) return fprintf(stderr, "dlopen: %s\n", dlerror()), 1;
  ugrt_model_query_fn q = (ugrt_model_query_fn)(uintptr_t)dlsym(m->so, UGRT_MODEL_QUERY_SYMBOL);
  m->h = q ? q(UGRT_ABI_VERSION) : NULL;
  if (!m->h) return fprintf(stderr, "no model header\n"), 1;
  const ugrt_abi_plan_t *p = &m->h->targets[0].plans[0];
  m->bufs = calloc(p->num_buffers, sizeof(void *));
  for (uint32_t i = 0; i < p->num_buffers; i++) {
    const ugrt_abi_buffer_t *b = &p->buffers[i];
    if (b->size < 0) return fprintf(stderr, "symbolic sizes not expected\n"), 1;
    if (b->kind == UGRT_BUF_WEIGHT) m->bufs[i] = (char *)m->h->weights + b->offset;
    else m->bufs[i] = aligned_alloc(64, (size_t)(b->size + 64) / 64 * 64);
  }
  return 0;
}

static void unload(model_t *m) {
  const ugrt_abi_plan_t *p = &m->h->targets[0].plans[0];
  for (uint32_t i = 0; i < p->num_buffers; i++)
    if (p->buffers[i].kind != UGRT_BUF_WEIGHT) free(m->bufs[i]);
  free(m->bufs);
  dlclose(m->so);
}

static void run(model_t *m) {
  const ugrt_abi_target_t *t = &m->h->targets[0];
  const ugrt_abi_plan_t *p = &t->plans[0];
  for (uint32_t s = 0; s < p->num_steps; s++) {
    void *args[16];
    for (uint32_t a = 0; a < p->steps[s].num_args; a++) args[a] = m->bufs[p->steps[s].args[a]];
    t->cpu_kernels[p->steps[s].kernel](args, NULL);
  }
}

static const char *target_spec = "cpu";
static const char *llvm_dir; /* --llvm=DIR */
static const char *only;     /* --only=DTYPE */
static int only_rows;        /* --rows=M: only this M (any M without --quick) */

static int compile(ug_module_t *mod, const char *out) {
  ug_compile_options_t o;
  memset(&o, 0, sizeof o);
  o.output_path = out;
  o.targets = target_spec;
  o.emit = UG_EMIT_SO;
  o.opt_level = 2;
  ug_status_t st = ug_codegen_emit(mod, &o);
  if (st) {
    ug_status_print(st, stderr);
    ug_status_free(st);
    return 1;
  }
  return 0;
}

/* n elements of dtype dt with random quants and f16 scales that keep the
 * values in about [-1, 1]. */
static uint8_t *random_weight(ug_dtype_t dt, int64_t n, uint64_t *seed, int64_t *out_bytes) {
  int64_t bytes;
  if (!ug_dtype_bytes(dt, n, &bytes)) return NULL;
  uint8_t *w = malloc((size_t)bytes);
  if (dt == UG_DTYPE_F16) {
    for (int64_t i = 0; i < n; i++) {
      uint16_t h = ug_f32_to_f16(frand(seed));
      memcpy(w + 2 * i, &h, 2);
    }
    *out_bytes = bytes;
    return w;
  }
  if (dt == UG_DTYPE_F32) {
    for (int64_t i = 0; i < n; i++) {
      float f = frand(seed);
      memcpy(w + 4 * i, &f, 4);
    }
    *out_bytes = bytes;
    return w;
  }
  for (int64_t i = 0; i < bytes; i++) w[i] = (uint8_t)rnd(seed);
  int64_t bb = ug_dtype_block_bytes(dt);
  for (int64_t b = 0; b < bytes / bb; b++) {
    uint8_t *blk = w + b * bb;
    float d = 0.01f + 0.05f * (frand(seed) + 1), dmin = 0.01f;
    uint16_t hd, hm = ug_f32_to_f16(dmin);
    switch (dt) {
    case UG_DTYPE_Q4_0: case UG_DTYPE_Q5_0: d = d * 2; break;
    case UG_DTYPE_Q8_0: d = d / 8; break;
    case UG_DTYPE_Q4_K: case UG_DTYPE_Q5_K: d = d / 16; break;
    case UG_DTYPE_Q6_K: d = d / 256; break;
    default: break;
    }
    hd = ug_f32_to_f16(d);
    if (dt == UG_DTYPE_Q6_K) {
      memcpy(blk + 208, &hd, 2);
    } else {
      memcpy(blk, &hd, 2);
      if (dt == UG_DTYPE_Q4_1 || dt == UG_DTYPE_Q5_1 || dt == UG_DTYPE_Q4_K || dt == UG_DTYPE_Q5_K)
        memcpy(blk + 2, &hm, 2);
    }
  }
  *out_bytes = bytes;
  return w;
}

static double copy_bandwidth(void) {
  size_t n = (size_t)64 << 20;
  char *a = malloc(n), *b = malloc(n);
  memset(a, 1, n);
  memset(b, 2, n);
  double best = 0;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    memcpy(b, a, n);
    double dt = now() - t0;
    if (dt > 0 && 2.0 * (double)n / dt > best) best = 2.0 * (double)n / dt;
    a[r] = b[n - 1 - (size_t)r]; /* keep the copies */
  }
  free(a);
  free(b);
  return best * 1e-9;
}

/* One case: returns 1 on a mismatch or failure. */
static int bench(ug_dtype_t wdt, int M, int N, int K, double seconds, bool bias) {
  if ((only && strcmp(only, ug_dtype_name(wdt)) != 0) || (only_rows && only_rows != M)) return 0;
  uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(wdt * 131 + M * 7 + N);
  ug_module_t *mod = ug_module_create();
  ug_graph_t *g = ug_module_add_graph(mod, "main");
  ug_dim_t xd[2] = {M, K}, wd[2] = {N, K}, bd[1] = {N};
  ug_type_t xt = ug_type_make(UG_DTYPE_F32, 2, xd), wt = ug_type_make(wdt, 2, wd), bt = ug_type_make(UG_DTYPE_F32, 1, bd);
  int64_t wbytes = 0;
  uint8_t *w = random_weight(wdt, (int64_t)N * K, &seed, &wbytes);
  float *x = malloc(sizeof(float) * (size_t)M * K), *bv = malloc(sizeof(float) * (size_t)N);
  for (size_t i = 0; i < (size_t)M * K; i++) x[i] = frand(&seed);
  for (int i = 0; i < N; i++) bv[i] = frand(&seed);
  ug_value_id_t xv = ug_graph_add_input(g, "x", &xt), wv = UG_NONE, bvv = UG_NONE, y;
  ug_weight_id_t wid, bid;
  ug_status_t st = ug_module_add_weight(mod, "w", &wt, w, (uint64_t)wbytes, ug_hash_bytes(w, (uint64_t)wbytes), &wid);
  if (!st) st = ug_graph_add_const(g, wid, NULL, &wv);
  if (!st && bias) st = ug_module_add_weight(mod, "b", &bt, bv, sizeof(float) * (size_t)N, ug_hash_bytes(bv, sizeof(float) * (size_t)N), &bid);
  if (!st && bias) st = ug_graph_add_const(g, bid, NULL, &bvv);
  ug_value_id_t ops[3] = {xv, wv, bvv};
  if (!st) st = ug_graph_add_node(g, UG_OP_LINEAR, ops, bias ? 3 : 2, NULL, 0, NULL, 1, "linear", &y, NULL);
  if (st) return ug_status_print(st, stderr), ug_status_free(st), 1;
  ug_graph_add_output(g, y, "y");
  printf("%-5s M=%-4d N=%-5d K=%-5d", ug_dtype_name(wdt), M, N, K);
  fflush(stdout);
  char path[] = "/tmp/ug_bench_linXXXXXX.so";
  int fd = mkstemps(path, 3);
  if (fd < 0) return 1;
  int bad = compile(mod, path);
  if (!bad && llvm_dir) {
    /* the optimized LLVM IR of the case, for reading */
    char ll[512];
    snprintf(ll, sizeof ll, "%s/linear_%s_%d_%d_%d.ll", llvm_dir, ug_dtype_name(wdt), M, N, K);
    ug_compile_options_t o;
    memset(&o, 0, sizeof o);
    o.output_path = ll;
    o.targets = target_spec;
    o.emit = UG_EMIT_LLVM;
    o.opt_level = 2;
    ug_status_t es = ug_codegen_emit(mod, &o);
    if (es) ug_status_print(es, stderr), ug_status_free(es);
  }
  model_t m;
  if (!bad) bad = load(path, &m);
  remove(path);
  close(fd);
  if (bad) return 1;
  const ugrt_abi_plan_t *p = &m.h->targets[0].plans[0];
  memcpy(m.bufs[p->input_buffers[0]], x, sizeof(float) * (size_t)M * K);
  run(&m);
  const float *out = m.bufs[p->output_buffers[0]];
  /* reference: every row of x against every 7th weight row (all of them when small) */
  float *row = malloc(sizeof(float) * (size_t)K);
  int64_t rb = wbytes / N;
  double maxerr = 0;
  int step = (int64_t)M * N * K > ((int64_t)1 << 28) ? 7 : 1;
  for (int n = 0; n < N; n += step) {
    ug_status_t ds = ug_quant_dequantize_row(wdt, w + (int64_t)n * rb, K, row);
    if (ds) return ug_status_print(ds, stderr), ug_status_free(ds), 1;
    for (int i = 0; i < M; i++) {
      double acc = bias ? bv[n] : 0, mag = fabs(acc);
      for (int k = 0; k < K; k++) {
        acc += (double)x[(size_t)i * K + k] * row[k];
        mag += fabs((double)x[(size_t)i * K + k] * row[k]);
      }
      /* relative to the sum of |products|: f32 accumulation stays near
       * 2^-24 sqrt(K); one wrong block is off by about 32/K */
      double e = fabs(out[(size_t)i * N + n] - acc) / (1 + mag);
      if (!(e <= maxerr)) maxerr = e;
    }
  }
  free(row);
  bad = maxerr > 1e-5;
  if (seconds > 0) {
    int reps = 0;
    double t0 = now(), dt;
    do {
      run(&m);
      reps++;
    } while ((dt = now() - t0) < seconds);
    dt /= reps;
    printf("  %8.3f ms  %7.2f GFLOP/s  %6.2f GB/s of weights", dt * 1e3, 2.0 * M * N * K / dt * 1e-9,
           (double)wbytes / dt * 1e-9);
  }
  printf("  max err %.2g%s\n", maxerr, bad ? "  WRONG" : "");
  unload(&m);
  ug_module_destroy(mod);
  free(w);
  free(x);
  free(bv);
  return bad;
}

int main(int argc, char **argv) {
  bool quick = false;
  double seconds = 1.0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = true;
    else if (strncmp(argv[i], "--target=", 9) == 0) target_spec = argv[i] + 9;
    else if (strncmp(argv[i], "--seconds=", 10) == 0) seconds = atof(argv[i] + 10);
    else if (strncmp(argv[i], "--llvm=", 7) == 0) llvm_dir = argv[i] + 7;
    else if (strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
    else if (strncmp(argv[i], "--rows=", 7) == 0) only_rows = atoi(argv[i] + 7);
    else return fprintf(stderr, "usage: bench_linear [--quick] [--target=T] [--seconds=S] [--llvm=DIR] "
                                "[--only=DTYPE] [--rows=M]\n"), 2;
  }
  int bad = 0;
  if (quick) {
    static const ug_dtype_t types[] = {UG_DTYPE_Q4_0, UG_DTYPE_Q4_1, UG_DTYPE_Q5_0, UG_DTYPE_Q5_1, UG_DTYPE_Q8_0,
                                       UG_DTYPE_Q4_K, UG_DTYPE_Q5_K, UG_DTYPE_Q6_K, UG_DTYPE_F16, UG_DTYPE_F32};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
      bad |= bench(types[t], 1, 70, 512, 0, t % 2 == 0);
      bad |= bench(types[t], 259, 67, 256, 0, t % 2 == 1);
    }
    return bad;
  }
  printf("single-core copy bandwidth: %.1f GB/s (read + write)\n", copy_bandwidth());
  static const ug_dtype_t types[] = {UG_DTYPE_Q4_0, UG_DTYPE_Q8_0, UG_DTYPE_F16, UG_DTYPE_Q4_K, UG_DTYPE_Q6_K,
                                     UG_DTYPE_F32};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    if (only_rows) {
      bad |= bench(types[t], only_rows, 4096, 4096, seconds, false);
      continue;
    }
    bad |= bench(types[t], 1, 4096, 4096, seconds, false);
    bad |= bench(types[t], 64, 4096, 4096, seconds, false);
  }
  return bad;
}
