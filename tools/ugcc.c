/* ugcc: compile a model (ONNX, GGUF, or text IR) into a model.so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"
#include "tools/compile.h"
#include "ugcc/ugcc.h"

#define UG_MAX_INPUT_SHAPES 64

static void usage(FILE *f) {
  fputs("usage: ugcc INPUT -o OUTPUT [options]\n"
        "  INPUT is a .onnx, .gguf or .ugir file.\n"
        "  -o FILE                  output file (model.so, or IR / LLVM IR / object with --emit)\n"
        "  --target=LIST            comma-separated targets: cpu, cuda[:sm_90a,sm_80], amdgpu:gfx942\n"
        "                           (default: cpu)\n"
        "  --emit=so|ir|llvm|obj|kir what to write (default: so); ir is the optimized graph IR,\n"
        "                           kir the kernel IR of every step (docs/kernel-ir.md)\n"
        "  --input-shape NAME=DIMS  fix a dynamic input's shape, e.g. x=1x3x224x224 (repeatable)\n"
        "  --bind-input NAME=FILE.pb freeze an ONNX graph input to the tensor in FILE.pb (repeatable);\n"
        "                           for parameter inputs such as shapes, axes or scales\n"
        "  --precision=fp32|tf32|fp16|bf16  how f32 contractions may use GPU tensor cores\n"
        "                           (default: 3xTF32, about f32 accuracy, for f32 matmul/conv)\n"
        "  --layout=auto|keep       auto (default): for --target=cuda alone, f16/bf16 convs run\n"
        "                           channels last (NHWC); keep: the model's layout everywhere\n"
        "  --prefer-kir             run the kernel IR's kernel for every step it lowers, also\n"
        "                           where the per-node kernel was measured faster (for testing)\n"
        "  --weights=embed|external embed weights in model.so (default for ONNX) or refer to a\n"
        "                           file: OUTPUT.weights, or a GGUF model's own file (its default)\n"
        "  --ctx=N                  GGUF: KV cache capacity in tokens (default: the model's\n"
        "                           context length, at most 4096 tokens and 2 GiB)\n"
        "  --dtype=f32|f16|bf16     GGUF: activation and KV cache dtype (default f32)\n"
        "  -O0 .. -O3               optimization level (default -O2)\n"
        "  --passes=a,b             run these passes instead of the default pipeline\n"
        "  --dump-ir=DIR            write the IR after every pass (and generated code) into DIR\n"
        "  --print-after=P|all      print the IR after pass P to standard error\n"
        "  --time-passes            print pass timings to standard error\n"
        "  --verify-each            run the verifier after every pass\n"
        "  --list-unsupported       report every unsupported node instead of stopping at the first\n"
        "  -v                       report each phase: what was read, pass timings, what was written\n"
        "  --help, --version\n"
        "Exit codes: 0 success, 1 compile error, 2 usage error.\n",
        f);
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "ugcc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(see ugcc --help)\n");
  return 2;
}

/* NAME=AxBxC */
static bool parse_shape(const char *s, ug_input_shape_t *out) {
  const char *eq = strrchr(s, '=');
  if (!eq || eq == s) return false;
  out->name = strndup(s, (size_t)(eq - s));
  out->rank = 0;
  const char *p = eq + 1;
  if (!*p) return true; /* a scalar */
  for (;;) {
    char *end;
    long long d = strtoll(p, &end, 10);
    if (end == p || d < 0 || out->rank == UG_MAX_RANK) return false;
    out->dims[out->rank++] = d;
    if (*end == 0) return true;
    if (*end != 'x' && *end != ',') return false;
    p = end + 1;
  }
}

int main(int argc, char **argv) {
  ug_compile_options_t o;
  ug_compile_options_init(&o);
  static ug_input_shape_t shapes[UG_MAX_INPUT_SHAPES];
  static ug_bind_input_t binds[UG_MAX_INPUT_SHAPES];
  uint32_t nshapes = 0, nbinds = 0;
  const char *v = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool missing = false;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      printf("ugcc %s\n", UGCC_VERSION_STRING);
      return 0;
    } else if (ug_cli_value(argc, argv, &i, "-o", &v, &missing)) {
      o.output_path = v;
    } else if (ug_cli_value(argc, argv, &i, "--target", &v, &missing)) {
      o.targets = v;
    } else if (ug_cli_value(argc, argv, &i, "--emit", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      if (strcmp(v, "so") == 0) o.emit = UG_EMIT_SO;
      else if (strcmp(v, "ir") == 0) o.emit = UG_EMIT_IR;
      else if (strcmp(v, "llvm") == 0) o.emit = UG_EMIT_LLVM;
      else if (strcmp(v, "obj") == 0) o.emit = UG_EMIT_OBJ;
      else if (strcmp(v, "kir") == 0) o.emit = UG_EMIT_KIR;
      else return usage_error("unknown --emit kind '%s' (so, ir, llvm, obj, kir)", v);
    } else if (ug_cli_value(argc, argv, &i, "--layout", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      if (strcmp(v, "auto") == 0) o.keep_layout = false;
      else if (strcmp(v, "keep") == 0) o.keep_layout = true;
      else return usage_error("unknown --layout '%s' (auto, keep)", v);
    } else if (ug_cli_value(argc, argv, &i, "--precision", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      if (strcmp(v, "fp32") == 0) o.precision = UG_PRECISION_FP32;
      else if (strcmp(v, "tf32") == 0) o.precision = UG_PRECISION_TF32;
      else if (strcmp(v, "fp16") == 0) o.precision = UG_PRECISION_FP16;
      else if (strcmp(v, "bf16") == 0) o.precision = UG_PRECISION_BF16;
      else return usage_error("unknown --precision '%s' (fp32, tf32, fp16, bf16)", v);
    } else if (ug_cli_value(argc, argv, &i, "--weights", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      if (strcmp(v, "embed") == 0) o.weights = UG_WEIGHTS_EMBED;
      else if (strcmp(v, "external") == 0) o.weights = UG_WEIGHTS_EXTERNAL;
      else return usage_error("unknown --weights mode '%s' (embed, external)", v);
    } else if (ug_cli_value(argc, argv, &i, "--ctx", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      char *end;
      long long n = strtoll(v, &end, 10);
      if (*end || n < 1 || n > (1 << 24)) return usage_error("bad --ctx '%s' (1 .. 16777216 tokens)", v);
      o.ctx = n;
    } else if (ug_cli_value(argc, argv, &i, "--dtype", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      if (strcmp(v, "f32") == 0) o.act_dtype = UG_DTYPE_F32;
      else if (strcmp(v, "f16") == 0) o.act_dtype = UG_DTYPE_F16;
      else if (strcmp(v, "bf16") == 0) o.act_dtype = UG_DTYPE_BF16;
      else return usage_error("unknown --dtype '%s' (f32, f16, bf16)", v);
    } else if (ug_cli_value(argc, argv, &i, "--input-shape", &v, &missing)) {
      if (missing) return usage_error("%s needs a value", a);
      if (nshapes == UG_MAX_INPUT_SHAPES || !parse_shape(v, &shapes[nshapes]))
        return usage_error("bad --input-shape '%s' (expected NAME=1x3x224x224)", v);
      nshapes++;
    } else if (ug_cli_value(argc, argv, &i, "--bind-input", &v, &missing)) {
      if (missing) break;
      const char *eq = strchr(v, '=');
      if (nbinds == UG_MAX_INPUT_SHAPES || !eq || eq == v || !eq[1])
        return usage_error("bad --bind-input '%s' (expected NAME=FILE.pb)", v);
      binds[nbinds].name = strndup(v, (size_t)(eq - v));
      binds[nbinds++].path = eq + 1;
    } else if (ug_cli_value(argc, argv, &i, "--passes", &v, &missing)) {
      o.passes = v;
    } else if (ug_cli_value(argc, argv, &i, "--dump-ir", &v, &missing)) {
      o.pass_options.dump_dir = v;
    } else if (ug_cli_value(argc, argv, &i, "--print-after", &v, &missing)) {
      o.pass_options.print_after = v;
    } else if (strcmp(a, "--time-passes") == 0) {
      o.pass_options.time_passes = true;
    } else if (strcmp(a, "--verify-each") == 0) {
      o.pass_options.verify_each = true;
    } else if (strcmp(a, "--prefer-kir") == 0) {
      o.prefer_kir = true;
    } else if (strcmp(a, "--list-unsupported") == 0) {
      o.list_unsupported = true;
    } else if (strcmp(a, "-v") == 0) {
      o.verbose++;
    } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
      o.opt_level = a[2] - '0';
    } else if (a[0] != '-' && !o.input_path) {
      o.input_path = a;
    } else {
      return usage_error("unknown argument '%s'", a);
    }
    if (missing) return usage_error("%s needs a value", a);
  }
  if (!o.input_path) return usage_error("%s", "no input file");
  struct stat sb;
  if (stat(o.input_path, &sb) != 0 || !S_ISREG(sb.st_mode))
    return usage_error("cannot read input file '%s'", o.input_path);
  if (!o.output_path && o.emit != UG_EMIT_IR && o.emit != UG_EMIT_KIR) return usage_error("%s", "no output file (-o)");
  if (o.pass_options.print_after && strcmp(o.pass_options.print_after, "all") != 0) {
    ug_pass_id_t id;
    if (!ug_pass_from_name(o.pass_options.print_after, strlen(o.pass_options.print_after), &id))
      return usage_error("unknown pass '%s' in --print-after", o.pass_options.print_after);
  }
  o.input_shapes = shapes;
  o.num_input_shapes = nshapes;
  o.bind_inputs = binds;
  o.num_bind_inputs = nbinds;
  ug_status_t st = ug_compile(&o);
  for (uint32_t i = 0; i < nshapes; i++) free((char *)shapes[i].name);
  for (uint32_t i = 0; i < nbinds; i++) free((char *)binds[i].name);
  if (st) {
    ug_status_print(st, stderr);
    ug_status_free(st);
    return 1;
  }
  return 0;
}
