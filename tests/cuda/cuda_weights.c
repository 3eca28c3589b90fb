/* Compiles a text IR test whose weights are written as bytes beside it (the
 * block-quantized ones, which text IR cannot write inline, and float weights
 * of more than 16 elements, which print as a hash) for any targets:
 *
 *   cuda_weights test.ugir model.so [--target=LIST] [--dump-ir=DIR] [--weights=external]
 *
 * LIST defaults to "cpu,cuda".  The format is tests/e2e's (e2e_weights.c,
 * which compiles for the CPU only): the file's consts name their weight and
 * its content hash (`%w = const @w <0x...> : q4_0[4,64]`) and a line
 *   // E2E weight NAME HEX...
 * gives that weight's bytes, or
 *   // E2E weightfile NAME PATH
 * names a file holding them (relative to the test's directory; for large
 * weights: bench/make_linear_models.py).  Hex bytes must hash (FNV-1a 64,
 * ug_hash_bytes) to the const's hash; a file's bytes replace it (hashing
 * hundreds of megabytes in the generator would take minutes).  The module then goes through the
 * default pass pipeline and the code generators, as `ugcc --target=LIST
 * [--dump-ir=DIR] [--weights=external]` would compile it.  Exit status 1 on
 * any error (printed), 2 on a usage error. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "passes/pass.h"
#include "tools/compile.h"

#define MAX_WEIGHTS 256

static void *owned[MAX_WEIGHTS];
static size_t num_owned;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The bytes of hex in a new buffer of *n bytes; NULL on an error (printed). */
static uint8_t *from_hex(const char *name, const char *hex, size_t *n) {
  size_t k = 0;
  while (hexval(hex[k]) >= 0) k++;
  if (k % 2) return fprintf(stderr, "weight %s: odd number of hex digits\n", name), NULL;
  uint8_t *data = malloc(k / 2 + 1);
  if (!data) return fprintf(stderr, "out of memory\n"), NULL;
  for (size_t i = 0; i < k / 2; i++) data[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
  *n = k / 2;
  return data;
}

/* The bytes of file `path` (relative to the directory of `test`) in a new
 * buffer of *n bytes; NULL on an error (printed). */
static uint8_t *from_file(const char *test, const char *path, size_t *n) {
  char full[4096];
  const char *slash = strrchr(test, '/');
  int dir = path[0] == '/' || !slash ? 0 : (int)(slash - test) + 1;
  snprintf(full, sizeof full, "%.*s%s", dir, test, path);
  full[strcspn(full, "\r\n")] = 0;
  FILE *f = fopen(full, "rb");
  if (!f) return perror(full), NULL;
  uint8_t *data = NULL;
  long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1)) &&
      fread(data, 1, (size_t)size, f) != (size_t)size) {
    free(data);
    data = NULL;
  }
  fclose(f);
  if (!data) fprintf(stderr, "%s: cannot read\n", full);
  *n = (size_t)size;
  return data;
}

/* Gives weight `name` the n bytes of data (taking them), checking them
 * against the const's hash or (rehash) replacing it; 0 on success. */
static int set_weight(ug_module_t *m, const char *name, uint8_t *data, size_t n, bool rehash) {
  for (size_t w = 0; w < m->weights.len; w++) {
    ug_weight_t *wt = &m->weights.items[w];
    if (!wt->name || strcmp(wt->name, name) != 0) continue;
    if (rehash) wt->hash = ug_hash_bytes(data, n);
    const char *why = wt->data ? "already has data"
                      : wt->size != n ? "has another size than its type"
                      : ug_hash_bytes(data, wt->size) != wt->hash ? "has bytes that do not hash to the const's hash"
                      : num_owned == MAX_WEIGHTS ? "is one weight too many" : NULL;
    if (why) {
      fprintf(stderr, "weight %s %s (%zu bytes given)\n", name, why, n);
      free(data);
      return 1;
    }
    owned[num_owned++] = data; /* freed after the module */
    wt->data = data;
    return 0;
  }
  free(data);
  return fprintf(stderr, "no weight named %s\n", name), 1;
}

/* Reads the weight lines of path into m; 0 on success. */
static int read_weights(ug_module_t *m, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return perror(path), 1;
  size_t cap = 1 << 16, len = 0;
  char *line = malloc(cap);
  int bad = !line;
  for (int c = 0; !bad && c != EOF;) {
    len = 0;
    while ((c = fgetc(f)) != EOF && c != '\n') {
      if (len + 2 > cap) {
        char *l = realloc(line, cap *= 2);
        if (!l) {
          bad = 1;
          break;
        }
        line = l;
      }
      line[len++] = (char)c;
    }
    line[len] = 0;
    const char *p = strstr(line, "// E2E weight");
    if (!p) continue;
    p += 13;
    bool file = strncmp(p, "file ", 5) == 0;
    if (!file && *p != ' ') continue;
    p += file ? 5 : 1;
    char name[128];
    int used = 0;
    if (sscanf(p, "%127s %n", name, &used) != 1) {
      fprintf(stderr, "%s: bad weight line\n", path);
      bad = 1;
      break;
    }
    size_t n = 0;
    uint8_t *data = file ? from_file(path, p + used, &n) : from_hex(name, p + used, &n);
    bad = !data || set_weight(m, name, data, n, file);
  }
  free(line);
  fclose(f);
  return bad;
}

int main(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *targets = "cpu,cuda", *dump = NULL;
  bool external = false;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--target=", 9) == 0) targets = argv[i] + 9;
    else if (strncmp(argv[i], "--dump-ir=", 10) == 0) dump = argv[i] + 10;
    else if (strcmp(argv[i], "--weights=external") == 0) external = true;
    else if (argv[i][0] != '-' && !in) in = argv[i];
    else if (argv[i][0] != '-' && !out) out = argv[i];
    else in = NULL, i = argc;
  }
  if (!in || !out) {
    fprintf(stderr, "usage: cuda_weights test.ugir model.so [--target=LIST] [--dump-ir=DIR] [--weights=external]\n");
    return 2;
  }
  ug_module_t *m = NULL;
  ug_status_t st = ug_parse_file(in, &m);
  int rc = st ? 1 : read_weights(m, in);
  ug_pass_options_t po;
  ug_pass_options_init(&po);
  po.opt_level = 2;
  po.dump_dir = dump;
  po.gpu_layout = ug_compile_gpu_only(targets); /* as ugcc chooses */
  ug_pass_manager_t *pm = NULL;
  if (!rc) st = ug_pass_manager_create(&po, &pm);
  if (!rc && !st) {
    ug_pass_manager_add_default(pm, 2);
    st = ug_pass_manager_run(pm, m);
  }
  if (!rc && !st) st = ug_verify_module(m);
  if (!rc && !st) {
    ug_compile_options_t o;
    ug_compile_options_init(&o);
    o.output_path = out;
    o.targets = targets;
    o.emit = UG_EMIT_SO;
    o.weights = external ? UG_WEIGHTS_EXTERNAL : UG_WEIGHTS_EMBED;
    o.pass_options = po;
    st = ug_codegen_emit(m, &o);
  }
  if (st) {
    ug_status_print(st, stderr);
    ug_status_free(st);
    rc = 1;
  }
  if (pm) ug_pass_manager_destroy(pm);
  ug_module_destroy(m);
  for (size_t i = 0; i < num_owned; i++) free(owned[i]);
  return rc;
}
