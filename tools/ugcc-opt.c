/* ugcc-opt: parse a text IR file, run passes, print the result. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/kir_pipeline.h"
#include "passes/pass.h"
#include "tools/cli.h"
#include "ugcc/ugcc.h"

static void usage(FILE *f) {
  fputs("usage: ugcc-opt FILE.ugir [options]\n"
        "       ugcc-opt FILE.kir --passes=software-pipeline [-o FILE]\n"
        "  FILE may be '-' for standard input (graph IR).  A .kir file is kernel IR: its\n"
        "  passes are the kernel-IR passes (software-pipeline, with the CUDA target's model).\n"
        "  --passes=a,b,c     run these passes in order (see --list-passes)\n"
        "  -O0..-O3           run the default pipeline of this level\n"
        "  -o FILE            write the result to FILE (default: standard output)\n"
        "  --print-after=P    print the IR after pass P (or 'all') to standard error\n"
        "  --dump-ir=DIR      write the IR after every pass to DIR/NN-<pass>.ugir and DIR/summary.txt\n"
        "  --time-passes      print a table of pass times to standard error\n"
        "  --verify-each      run the verifier after every pass\n"
        "  --print-reports    print each pass's report (the fusion report) to standard error\n"
        "  --list-passes      list the passes and exit\n"
        "  --help, --version\n",
        f);
}

/* Writes text to path through a temporary file renamed into place, so that a
 * failed write leaves no partial output; "-" is standard output. */
static bool write_output(const char *path, const char *text) {
  size_t len = strlen(text);
  if (!path || strcmp(path, "-") == 0) return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0;
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return false;
  snprintf(tmp, n, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    free(tmp);
    return false;
  }
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "wb");
  bool ok = f && fwrite(text, 1, len, f) == len;
  if (f)
    ok = fclose(f) == 0 && ok;
  else
    close(fd);
  if (ok) ok = rename(tmp, path) == 0;
  if (!ok) {
    int e = errno;
    unlink(tmp);
    errno = e;
  }
  free(tmp);
  return ok;
}

/* Writes a printed module (NULL: out of memory) and frees it; the exit status. */
static int write_text(const char *output, char *text) {
  if (!text || !write_output(output, text)) {
    fprintf(stderr, "ugcc-opt: cannot write '%s': %s\n", output ? output : "-", strerror(errno));
    free(text);
    return 1;
  }
  free(text);
  return 0;
}

static int fail(ug_status_t st) {
  ug_status_print(st, stderr);
  ug_status_free(st);
  return 1;
}

/* A kernel-IR file: parse, run the kernel-IR passes named in `passes` on
 * every kernel, print. */
static int run_kir(const char *input, const char *passes, const char *output) {
  ug_kir_module_t *km = NULL;
  ug_status_t st = ug_kir_parse_file(input, NULL, &km);
  if (!st) st = ug_kir_verify_module(km);
  for (const char *p = passes; !st && p && *p;) {
    size_t n = strcspn(p, ",");
    if (n == strlen("software-pipeline") && strncmp(p, "software-pipeline", n) == 0) {
      size_t count = km->kernels.len;
      for (size_t i = 0; i < count && !st; i++) {
        ug_kir_kernel_t *out;
        st = ug_kir_software_pipeline(km->kernels.items[i], &ug_kir_gpu_swp_model, &out, NULL);
      }
    } else {
      fprintf(stderr, "ugcc-opt: '%.*s' is not a kernel-IR pass (software-pipeline is)\n", (int)n, p);
      ug_kir_module_destroy(km);
      return 2;
    }
    p += n + (p[n] == ',');
  }
  if (st) {
    ug_kir_module_destroy(km);
    return fail(st);
  }
  char *text = ug_kir_print_module_to_string(km);
  ug_kir_module_destroy(km);
  return write_text(output, text);
}

int main(int argc, char **argv) {
  const char *input = NULL, *output = NULL, *passes = NULL, *v = NULL;
  int opt_level = -1;
  ug_pass_options_t po;
  ug_pass_options_init(&po);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool missing = false;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      printf("ugcc-opt %s\n", UGCC_VERSION_STRING);
      return 0;
    } else if (strcmp(a, "--list-passes") == 0) {
      for (int p = 0; p < UG_PASS_COUNT; p++)
        printf("%-14s %s\n", ug_pass_info((ug_pass_id_t)p)->name, ug_pass_info((ug_pass_id_t)p)->summary);
      printf("%-14s %s\n", "software-pipeline",
             "(kernel IR) a K loop's staged copies become asynchronous copies S stages ahead");
      return 0;
    } else if (ug_cli_value(argc, argv, &i, "--passes", &v, &missing)) {
      passes = v;
    } else if (ug_cli_value(argc, argv, &i, "--print-after", &v, &missing)) {
      po.print_after = v;
    } else if (ug_cli_value(argc, argv, &i, "--dump-ir", &v, &missing)) {
      po.dump_dir = v;
    } else if (ug_cli_value(argc, argv, &i, "-o", &v, &missing)) {
      output = v;
    } else if (strcmp(a, "--time-passes") == 0) {
      po.time_passes = true;
    } else if (strcmp(a, "--verify-each") == 0) {
      po.verify_each = true;
    } else if (strcmp(a, "--print-reports") == 0) {
      po.print_reports = true;
    } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
      opt_level = a[2] - '0';
    } else if ((a[0] != '-' || strcmp(a, "-") == 0) && !input) {
      input = a;
    } else {
      fprintf(stderr, "ugcc-opt: unknown argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
    if (missing) {
      fprintf(stderr, "ugcc-opt: %s needs a value\n", a);
      return 2;
    }
  }
  if (!input) {
    usage(stderr);
    return 2;
  }
  size_t il = strlen(input);
  if (il > 4 && strcmp(input + il - 4, ".kir") == 0) return run_kir(input, passes, output);
  if (po.print_after && strcmp(po.print_after, "all") != 0) {
    ug_pass_id_t id;
    if (!ug_pass_from_name(po.print_after, strlen(po.print_after), &id)) {
      fprintf(stderr, "ugcc-opt: unknown pass '%s' in --print-after\n", po.print_after);
      return 2;
    }
  }
  ug_module_t *m = NULL;
  ug_status_t st;
  if (strcmp(input, "-") == 0) {
    char buf[65536], *text = NULL;
    size_t len = 0, k;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
      fprintf(stderr, "ugcc-opt: out of memory\n");
      return 1;
    }
    while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0) fwrite(buf, 1, k, mem);
    bool rerr = ferror(stdin);
    if (fclose(mem) != 0 || rerr) {
      fprintf(stderr, "ugcc-opt: cannot read standard input\n");
      free(text);
      return 1;
    }
    st = ug_parse_module(text, len, "<stdin>", &m);
    free(text);
  } else {
    FILE *probe = fopen(input, "rb");
    if (!probe) {
      fprintf(stderr, "ugcc-opt: cannot open '%s'\n", input);
      return 2;
    }
    fclose(probe);
    st = ug_parse_file(input, &m);
  }
  if (!st) st = ug_verify_module(m);
  if (st) {
    ug_module_destroy(m); /* parsed but not valid: free it too */
    return fail(st);
  }
  po.opt_level = opt_level < 0 ? 0 : opt_level;
  ug_pass_manager_t *pm;
  st = ug_pass_manager_create(&po, &pm);
  if (!st) {
    if (passes) st = ug_pass_manager_add_list(pm, passes);
    if (!st && opt_level > 0) ug_pass_manager_add_default(pm, opt_level);
    if (!st) st = ug_pass_manager_run(pm, m);
    if (!st) st = ug_verify_module(m);
    ug_pass_manager_destroy(pm);
  }
  if (st) {
    ug_module_destroy(m);
    return fail(st);
  }
  char *text = ug_print_module_to_string(m);
  ug_module_destroy(m);
  return write_text(output, text);
}
