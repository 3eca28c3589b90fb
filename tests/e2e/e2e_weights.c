/* Compiles a text IR test whose weights are given as bytes beside it, for
 * weights that text IR cannot write inline (block-quantized ones, and float
 * weights of more than 16 elements, which print as a hash):
 *
 *   e2e_weights test.ugir model.so [target]
 *
 * The file's consts name their weight and its content hash
 * (`%w = const @w <0x...> : q4_0[4,64]`), and a line
 *   // E2E weight NAME HEX...
 * gives that weight's bytes, which must hash (FNV-1a 64) to the const's hash.
 * The module then goes through the default pass pipeline and the cpu code
 * generator (`cpu`, or the target given) into model.so, which e2e_run runs against the file's
 * `// E2E in/out` values.  With a line
 *   // E2E error TEXT
 * the compile must fail with a message that contains TEXT (and writes no
 * model.so); the exit status is 0 then.  Exit status 1 on any mismatch. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "passes/pass.h"

static void *owned[64];
static size_t num_owned;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Gives weight `name` the bytes of hex; 0 on success. */
static int set_weight(ug_module_t *m, const char *name, const char *hex) {
  size_t n = 0;
  while (hexval(hex[n]) >= 0) n++;
  if (n % 2) return fprintf(stderr, "weight %s: odd number of hex digits\n", name), 1;
  uint8_t *data = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) data[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
  for (size_t w = 0; w < m->weights.len; w++) {
    ug_weight_t *wt = &m->weights.items[w];
    if (!wt->name || strcmp(wt->name, name) != 0) continue;
    if (wt->data) return fprintf(stderr, "weight %s already has data\n", name), free(data), 1;
    if (wt->size != n / 2)
      return fprintf(stderr, "weight %s: %zu bytes given, its type holds %llu\n", name, n / 2,
                     (unsigned long long)wt->size), free(data), 1;
    if (ug_hash_bytes(data, wt->size) != wt->hash)
      return fprintf(stderr, "weight %s: the bytes do not hash to the const's hash\n", name), free(data), 1;
    if (num_owned == sizeof owned / sizeof owned[0]) return fprintf(stderr, "too many weights\n"), free(data), 1;
    owned[num_owned++] = data; /* freed after the module */
    wt->data = data;
    return 0;
  }
  free(data);
  return fprintf(stderr, "no weight named %s\n", name), 1;
}

/* Whether "origin: message" of st contains text. */
static bool error_contains(ug_status_t st, const char *text) {
  const char *o = ug_status_origin(st), *msg = ug_status_message(st);
  size_t n = strlen(o) + strlen(msg) + 3;
  char *full = malloc(n);
  snprintf(full, n, "%s%s%s", o, o[0] ? ": " : "", msg);
  bool found = strstr(full, text) != NULL;
  free(full);
  return found;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: e2e_weights test.ugir model.so [target]\n");
    return 2;
  }
  ug_module_t *m = NULL;
  ug_status_t st = ug_parse_file(argv[1], &m);
  if (st) {
    ug_status_print(st, stderr);
    ug_status_free(st);
    return 1;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    ug_module_destroy(m);
    return 1;
  }
  static char line[1 << 20];
  char *want_error = NULL;
  int bad = 0;
  while (fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "// E2E ");
    if (!p) continue;
    p += 7;
    if (strncmp(p, "weight ", 7) == 0) {
      char name[128];
      int used = 0;
      if (sscanf(p + 7, "%127s %n", name, &used) != 1) {
        fprintf(stderr, "bad weight line\n");
        bad = 1;
        break;
      }
      bad |= set_weight(m, name, p + 7 + used);
    } else if (strncmp(p, "error ", 6) == 0) {
      want_error = strdup(p + 6);
      want_error[strcspn(want_error, "\n")] = 0;
    }
  }
  fclose(f);
  if (bad) {
    ug_module_destroy(m);
    for (size_t i = 0; i < num_owned; i++) free(owned[i]);
    free(want_error);
    return 1;
  }

  ug_pass_options_t po;
  ug_pass_options_init(&po);
  po.opt_level = 2;
  ug_pass_manager_t *pm = NULL;
  st = ug_pass_manager_create(&po, &pm);
  if (!st) {
    ug_pass_manager_add_default(pm, 2);
    st = ug_pass_manager_run(pm, m);
  }
  if (!st) st = ug_verify_module(m);
  if (!st) {
    ug_compile_options_t o;
    memset(&o, 0, sizeof o);
    o.output_path = argv[2];
    o.targets = argc > 3 ? argv[3] : "cpu";
    o.emit = UG_EMIT_SO;
    o.opt_level = 2;
    st = ug_codegen_emit(m, &o);
  }
  int rc = 0;
  if (want_error) {
    if (!st) {
      fprintf(stderr, "compiled, but the test expects the error '%s'\n", want_error);
      rc = 1;
    } else if (!error_contains(st, want_error)) {
      fprintf(stderr, "the error does not contain '%s':\n", want_error);
      ug_status_print(st, stderr);
      rc = 1;
    } else {
      ug_status_print(st, stdout);
      FILE *out = fopen(argv[2], "r");
      if (out) fclose(out), fprintf(stderr, "a failed compile left %s behind\n", argv[2]), rc = 1;
    }
  } else if (st) {
    ug_status_print(st, stderr);
    rc = 1;
  }
  ug_status_free(st);
  if (pm) ug_pass_manager_destroy(pm);
  ug_module_destroy(m);
  for (size_t i = 0; i < num_owned; i++) free(owned[i]);
  free(want_error);
  return rc;
}
