/* ugcc-run: load a model.so with libugrt, feed it inputs, run it, write or
 * print its outputs, and optionally time it.
 *
 * Exit status: 0 success, 1 a runtime or file error, 2 a usage error. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/common/tensor_io.h"
#include "tools/generate.h"
#include "ugrt/ugrt.h"

#define MAX_ARGS 256

static const char usage[] =
    "usage: ugcc-run model.so [options]\n"
    "  --entry NAME               entry point to run (default: the first, \"main\")\n"
    "  --input NAME=FILE.npy      input from a NumPy file\n"
    "  --input NAME=FILE.pb       input from an ONNX TensorProto file\n"
    "  --input NAME=random[:SEED] seeded random input (the default for inputs not given)\n"
    "  --input FILE               the next unnamed input, in declaration order\n"
    "  --input-shape NAME=2x3x224 shape of a random input with symbolic dims\n"
    "  --output-dir DIR           write each output as DIR/<name>.npy\n"
    "  --print                    print output values\n"
    "  --bench N                  time N runs after one warm-up; print min/median latency\n"
    "  --device auto|cpu|cuda|cuda:N  (default auto)\n"
    "  --no-verify-weights        skip the weights hash check\n"
    "  --no-cuda-graphs           launch kernels one by one instead of replaying a CUDA graph\n"
    "Language models compiled from GGUF:\n"
    "  --prompt TEXT              generate text after TEXT (prefill, then decode one token at a time)\n"
    "  -n N                       tokens to generate (default 64; stops at end-of-sequence)\n"
    "  --temp T                   sampling temperature (default 0: greedy)\n"
    "  --top-k K, --top-p P       sample among the K most likely tokens / the smallest set of\n"
    "                             probability >= P (default: no limit)\n"
    "  --seed S                   sampling seed (default 0)\n"
    "  --version, --help\n";

static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ugcc-run: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nrun 'ugcc-run --help' for usage\n");
  va_end(ap);
  exit(2);
}

/* Prints a runtime status; returns true when it was an error. */
static bool failed(ugrt_status_t s) {
  if (!s) return false;
  fprintf(stderr, "ugcc-run: %s\n", ugrt_status_message(s));
  ugrt_status_free(s);
  return true;
}

typedef struct {
  char *name; /* malloc'd; NULL: positional */
  const char *spec;
} input_arg_t;

typedef struct {
  const char *model_path, *entry, *output_dir, *device;
  input_arg_t inputs[MAX_ARGS];
  int num_inputs;
  input_arg_t shapes[MAX_ARGS];
  int num_shapes;
  long bench;
  bool print, no_verify, no_graphs;
  ug_gen_options_t gen; /* gen.prompt set: generate text */
} args_t;

/* "--opt VALUE" or "--opt=VALUE"; returns the value or NULL if argv[*i] is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt) {
  size_t n = strlen(opt);
  if (strncmp(argv[*i], opt, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != 0) return NULL;
  if (*i + 1 >= argc) die_usage("%s needs a value", opt);
  return argv[++*i];
}

static input_arg_t split_named(const char *v) {
  input_arg_t a = {NULL, v};
  const char *eq = strchr(v, '=');
  if (eq) {
    size_t n = (size_t)(eq - v);
    char *name = malloc(n + 1);
    if (!name) exit(1);
    memcpy(name, v, n);
    name[n] = 0;
    a.name = name;
    a.spec = eq + 1;
  }
  return a;
}

static void parse_args(int argc, char **argv, args_t *a) {
  memset(a, 0, sizeof *a);
  ug_gen_options_init(&a->gen);
  a->device = "auto";
  a->bench = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      exit(0);
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("ugcc-run (libugrt %s, model ABI %u)\n", ugrt_version(), ugrt_abi_version());
      exit(0);
    } else if ((v = opt_value(argc, argv, &i, "--entry"))) {
      a->entry = v;
    } else if ((v = opt_value(argc, argv, &i, "--input-shape"))) {
      if (a->num_shapes >= MAX_ARGS) die_usage("too many --input-shape options");
      a->shapes[a->num_shapes] = split_named(v);
      if (!a->shapes[a->num_shapes].name) die_usage("--input-shape wants NAME=DIMS, got \"%s\"", v);
      a->num_shapes++;
    } else if ((v = opt_value(argc, argv, &i, "--input"))) {
      if (a->num_inputs >= MAX_ARGS) die_usage("too many --input options");
      a->inputs[a->num_inputs++] = split_named(v);
    } else if ((v = opt_value(argc, argv, &i, "--output-dir"))) {
      a->output_dir = v;
    } else if ((v = opt_value(argc, argv, &i, "--bench"))) {
      char *end;
      a->bench = strtol(v, &end, 10);
      if (*end || a->bench < 1 || a->bench > 1000000)
        die_usage("--bench wants a run count from 1 to 1000000, got \"%s\"", v);
    } else if ((v = opt_value(argc, argv, &i, "--prompt"))) {
      a->gen.prompt = v;
    } else if ((v = opt_value(argc, argv, &i, "-n"))) {
      char *end;
      a->gen.n_predict = strtol(v, &end, 10);
      if (*end || a->gen.n_predict < 1 || a->gen.n_predict > (1L << 24)) die_usage("-n wants a token count, got \"%s\"", v);
    } else if ((v = opt_value(argc, argv, &i, "--temp"))) {
      char *end;
      a->gen.temp = strtod(v, &end);
      if (*end || !(a->gen.temp >= 0 && a->gen.temp <= 100)) die_usage("--temp wants a value from 0 to 100, got \"%s\"", v);
    } else if ((v = opt_value(argc, argv, &i, "--top-k"))) {
      char *end;
      a->gen.top_k = strtol(v, &end, 10);
      if (*end || a->gen.top_k < 0) die_usage("--top-k wants a count, got \"%s\"", v);
    } else if ((v = opt_value(argc, argv, &i, "--top-p"))) {
      char *end;
      a->gen.top_p = strtod(v, &end);
      if (*end || !(a->gen.top_p > 0 && a->gen.top_p <= 1)) die_usage("--top-p wants a value in (0, 1], got \"%s\"", v);
    } else if ((v = opt_value(argc, argv, &i, "--seed"))) {
      char *end;
      a->gen.seed = strtoull(v, &end, 10);
      if (*end) die_usage("--seed wants an integer, got \"%s\"", v);
    } else if ((v = opt_value(argc, argv, &i, "--device"))) {
      a->device = v;
    } else if (strcmp(argv[i], "--print") == 0) {
      a->print = true;
    } else if (strcmp(argv[i], "--no-verify-weights") == 0) {
      a->no_verify = true;
    } else if (strcmp(argv[i], "--no-cuda-graphs") == 0) {
      a->no_graphs = true;
    } else if (argv[i][0] == '-' && argv[i][1] != 0) {
      die_usage("unknown option %s", argv[i]);
    } else if (!a->model_path) {
      a->model_path = argv[i];
    } else {
      die_usage("unexpected argument \"%s\"", argv[i]);
    }
  }
  if (!a->model_path) die_usage("no model given");
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Builds the tensor for input `info` from its spec (file or random). */
static bool make_input(const args_t *a, const ugrt_tensor_info_t *info, uint32_t index,
                       const char *spec, ug_tensor_t *t) {
  char err[512];
  if (spec && strncmp(spec, "random", 6) != 0) {
    bool ok;
    if (ends_with(spec, ".pb"))
      ok = ug_pb_read(spec, t, err, sizeof err);
    else if (ends_with(spec, ".npy"))
      ok = ug_npy_read(spec, t, err, sizeof err);
    else {
      snprintf(err, sizeof err, "%s: unknown input file type (expected .npy or .pb)", spec);
      ok = false;
    }
    if (!ok) fprintf(stderr, "ugcc-run: input \"%s\": %s\n", info->name, err);
    return ok;
  }
  uint64_t seed = index;
  if (spec && spec[6] == ':') {
    char *end;
    seed = strtoull(spec + 7, &end, 10);
    if (*end || spec[7] == 0) {
      fprintf(stderr, "ugcc-run: input \"%s\": bad seed in \"%s\"\n", info->name, spec);
      return false;
    }
  } else if (spec && spec[6] != 0) {
    fprintf(stderr, "ugcc-run: input \"%s\": bad input \"%s\"\n", info->name, spec);
    return false;
  }
  uint32_t rank = info->rank;
  int64_t dims[UGRT_MAX_RANK];
  const char *shape = NULL;
  for (int s = 0; s < a->num_shapes; s++)
    if (strcmp(a->shapes[s].name, info->name) == 0) shape = a->shapes[s].spec;
  if (shape) {
    if (!ug_parse_shape(shape, &rank, dims)) {
      fprintf(stderr, "ugcc-run: input \"%s\": bad shape \"%s\" (expected e.g. 1x3x224x224)\n",
              info->name, shape);
      return false;
    }
  } else {
    for (uint32_t d = 0; d < rank; d++) {
      if (info->dims[d] < 0) {
        fprintf(stderr,
                "ugcc-run: input \"%s\" has symbolic dim %u (%s): give its shape with "
                "--input-shape %s=...\n",
                info->name, d, info->dim_names[d], info->name);
        return false;
      }
      dims[d] = info->dims[d];
    }
  }
  if (!ug_tensor_alloc(t, info->dtype, rank, dims, err, sizeof err)) {
    fprintf(stderr, "ugcc-run: input \"%s\": %s\n", info->name, err);
    return false;
  }
  ug_tensor_fill_random(t, seed);
  return true;
}

static void print_shape(FILE *f, ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims) {
  fprintf(f, "%s[", ugrt_dtype_name(dtype));
  for (uint32_t d = 0; d < rank; d++) fprintf(f, "%s%lld", d ? "," : "", (long long)dims[d]);
  fprintf(f, "]");
}

static void print_values(const ugrt_tensor_view_t *v) {
  size_t elem = ugrt_dtype_size(v->dtype), n = elem ? v->size / elem : 0;
  const size_t limit = 1000;
  for (size_t i = 0; i < n && i < limit; i++) {
    if (ug_tensor_dtype_is_float(v->dtype))
      printf("%s%.7g", i ? " " : "  ", ug_tensor_get_f64(v->dtype, v->data, i));
    else
      printf("%s%lld", i ? " " : "  ", (long long)ug_tensor_get_i64(v->dtype, v->data, i));
    if (i % 16 == 15 && i + 1 < n && i + 1 < limit) printf("\n ");
  }
  if (n > limit) printf(" ... (%zu more)", n - limit);
  printf("\n");
}

/* A file name made from an output name: anything but [A-Za-z0-9._-] becomes _. */
static void output_path(const char *dir, const char *name, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s/", dir);
  for (const char *p = name; *p && k + 5 < n; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    buf[k++] = ok ? c : '_';
  }
  snprintf(buf + k, n - k, ".npy");
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static int run(const args_t *a) {
  ugrt_model_options_t mo;
  ugrt_model_options_init(&mo);
  mo.device = a->device;
  mo.verify_weights = !a->no_verify;
  mo.cuda_graphs = !a->no_graphs;
  ugrt_model_t *model = NULL;
  ugrt_session_t *session = NULL;
  int rc = 1;
  ug_tensor_t tensors[MAX_ARGS];
  uint32_t num_tensors = 0;
  memset(tensors, 0, sizeof tensors);
  if (failed(ugrt_model_load(a->model_path, &mo, &model))) return 1;
  if (a->gen.prompt) {
    rc = ug_generate(model, &a->gen, stdout, stderr);
    goto done;
  }
  uint32_t entry = 0;
  if (a->entry && failed(ugrt_model_find_entry(model, a->entry, &entry))) goto done;
  uint32_t n_in = ugrt_model_input_count(model, entry);
  uint32_t n_out = ugrt_model_output_count(model, entry);
  if (n_in > MAX_ARGS) {
    fprintf(stderr, "ugcc-run: %u inputs are more than this tool handles\n", n_in);
    goto done;
  }
  /* Every named input and shape must exist. */
  for (int i = 0; i < a->num_inputs; i++) {
    uint32_t idx;
    if (a->inputs[i].name && failed(ugrt_model_find_input(model, entry, a->inputs[i].name, &idx)))
      goto done;
  }
  for (int i = 0; i < a->num_shapes; i++) {
    uint32_t idx;
    if (failed(ugrt_model_find_input(model, entry, a->shapes[i].name, &idx))) goto done;
  }
  if (failed(ugrt_session_create(model, NULL, &session))) goto done;
  int next_positional = 0;
  for (uint32_t i = 0; i < n_in; i++) {
    ugrt_tensor_info_t info;
    if (failed(ugrt_model_input_info(model, entry, i, &info))) goto done;
    const char *spec = NULL;
    for (int k = 0; k < a->num_inputs; k++)
      if (a->inputs[k].name && strcmp(a->inputs[k].name, info.name) == 0) spec = a->inputs[k].spec;
    if (!spec) {
      /* the next positional --input, if any */
      for (int k = 0, seen = 0; k < a->num_inputs; k++) {
        if (a->inputs[k].name) continue;
        if (seen++ == next_positional) {
          spec = a->inputs[k].spec;
          next_positional++;
          break;
        }
      }
    }
    if (!make_input(a, &info, i, spec, &tensors[i])) goto done;
    num_tensors = i + 1;
    if (failed(ugrt_session_set_input(session, entry, i, tensors[i].dtype, tensors[i].rank,
                                      tensors[i].dims, tensors[i].data, tensors[i].size)))
      goto done;
  }
  for (int k = 0, positional = 0; k < a->num_inputs; k++)
    if (!a->inputs[k].name && positional++ >= next_positional) {
      fprintf(stderr, "ugcc-run: more --input files than inputs of entry \"%s\"\n",
              ugrt_model_entry_name(model, entry));
      goto done;
    }

  if (failed(ugrt_session_run(session, entry))) goto done;
  if (a->bench > 0) {
    double *t = malloc((size_t)a->bench * sizeof *t);
    if (!t) goto done;
    for (long r = 0; r < a->bench; r++) {
      double t0 = now_ms();
      if (failed(ugrt_session_run(session, entry))) {
        free(t);
        goto done;
      }
      t[r] = now_ms() - t0;
    }
    qsort(t, (size_t)a->bench, sizeof *t, cmp_double);
    double median = a->bench % 2 ? t[a->bench / 2] : (t[a->bench / 2 - 1] + t[a->bench / 2]) / 2;
    printf("bench: %ld runs on %s: min %.4f ms, median %.4f ms, max %.4f ms\n", a->bench,
           ugrt_model_device(model), t[0], median, t[a->bench - 1]);
    free(t);
  }

  if (a->output_dir) {
    if (mkdir(a->output_dir, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "ugcc-run: cannot create %s: %s\n", a->output_dir, strerror(errno));
      goto done;
    }
  }
  for (uint32_t i = 0; i < n_out; i++) {
    ugrt_tensor_view_t v;
    if (failed(ugrt_session_output(session, entry, i, &v))) goto done;
    printf("%s: ", v.name);
    print_shape(stdout, v.dtype, v.rank, v.dims);
    printf("\n");
    if (a->print) print_values(&v);
    if (a->output_dir) {
      char path[4096], err[512];
      output_path(a->output_dir, v.name, path, sizeof path);
      if (!ug_npy_write(path, v.dtype, v.rank, v.dims, v.data, v.size, err, sizeof err)) {
        fprintf(stderr, "ugcc-run: %s\n", err);
        goto done;
      }
    }
  }
  rc = 0;
done:
  for (uint32_t i = 0; i < num_tensors; i++) ug_tensor_free(&tensors[i]);
  ugrt_session_release(session);
  ugrt_model_release(model);
  return rc;
}

int main(int argc, char **argv) {
  args_t a;
  parse_args(argc, argv, &a);
  int rc = run(&a);
  for (int i = 0; i < a.num_inputs; i++) free(a.inputs[i].name);
  for (int i = 0; i < a.num_shapes; i++) free(a.shapes[i].name);
  fflush(stdout);
  return rc;
}
