/* One conformance case: compile model.onnx with ugcc, load the model.so
 * with libugrt, and check every test_data_set_* against its stored outputs.
 * Runs inside a worker process of the runner, so a crash here is a failure
 * of this case only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/conformance/runner.h"
#include "tools/common/tensor_io.h"
#include "ugrt/ugrt.h"

static case_result_t result(case_result_t r, char *reason, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, len, fmt, ap);
  va_end(ap);
  return r;
}

/* The first non-empty line of a file, or "" (into buf). */
static void first_line(const char *path, char *buf, size_t len) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(buf, (int)len, f)) {
    buf[strcspn(buf, "\r\n")] = 0;
    if (buf[0]) break;
  }
  fclose(f);
}

/* Runs `ugcc model.onnx -o so --target=T`, stderr into work_dir/ugcc.stderr. */
static case_result_t compile(const case_config_t *cfg, const char *model, const char *so,
                             const char *work_dir, char *reason, size_t len) {
  char errpath[4096], target[64];
  snprintf(errpath, sizeof errpath, "%s/ugcc.stderr", work_dir);
  snprintf(target, sizeof target, "--target=%s", cfg->target);
  pid_t pid = fork();
  if (pid < 0) return result(CASE_FAIL, reason, len, "compile: fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_WRONLY);
    if (fd >= 0) dup2(fd, 2);
    if (null >= 0) dup2(null, 1);
    execlp(cfg->ugcc, cfg->ugcc, model, "-o", so, target, (char *)NULL);
    fprintf(stderr, "cannot execute %s: %s\n", cfg->ugcc, strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return result(CASE_FAIL, reason, len, "compile: waitpid failed");
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return CASE_PASS;
  char line[512];
  first_line(errpath, line, sizeof line);
  if (WIFSIGNALED(st))
    return result(CASE_FAIL, reason, len, "compile: ugcc killed by signal %d%s%s", WTERMSIG(st),
                  line[0] ? ": " : "", line);
  if (!line[0])
    return result(CASE_FAIL, reason, len, "compile: ugcc exited with status %d",
                  WEXITSTATUS(st));
  return result(CASE_FAIL, reason, len, "compile: %s", line);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the test_data_set_* directories (malloc'd array). */
static char **data_sets(const char *case_dir, size_t *out_n) {
  *out_n = 0;
  DIR *d = opendir(case_dir);
  if (!d) return NULL;
  size_t n = 0, cap = 8;
  char **names = malloc(cap * sizeof *names);
  struct dirent *e;
  while (names && (e = readdir(d))) {
    if (strncmp(e->d_name, "test_data_set_", 14) != 0) continue;
    if (n == cap) {
      char **nn = realloc(names, 2 * cap * sizeof *names);
      if (!nn) break;
      names = nn;
      cap *= 2;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, n, sizeof *names, cmp_str);
  *out_n = n;
  return names;
}

/* The ONNX test data stores bfloat16 tensors as uint16 (NumPy has no
 * bfloat16): read such data as the bf16 bits the model declares. */
static void adapt_bf16(ug_tensor_t *t, ugrt_dtype_t declared) {
  if (declared == UGRT_BF16 && t->dtype == UGRT_U16) t->dtype = UGRT_BF16;
}

/* Feeds input_*.pb, runs, and compares output_*.pb of one data set. */
static case_result_t run_data_set(const case_config_t *cfg, ugrt_model_t *m, ugrt_session_t *s,
                                  const char *dir, const char *ds, char *reason, size_t len) {
  char path[4096], err[1024];
  uint32_t n_in = ugrt_model_input_count(m, 0), n_out = ugrt_model_output_count(m, 0);
  for (uint32_t i = 0;; i++) {
    if (snprintf(path, sizeof path, "%s/input_%u.pb", dir, i) >= (int)sizeof path)
      return result(CASE_FAIL, reason, len, "%s: path too long", ds);
    if (access(path, F_OK) != 0) break;
    ug_tensor_t t;
    if (!ug_pb_read(path, &t, err, sizeof err))
      return result(CASE_FAIL, reason, len, "%s: %s", ds, err);
    uint32_t idx = i;
    ugrt_status_t st = t.name ? ugrt_model_find_input(m, 0, t.name, &idx) : NULL;
    if (st) {
      ugrt_status_free(st);
      idx = i;
    }
    if (idx >= n_in) {
      ug_tensor_free(&t);
      return result(CASE_FAIL, reason, len, "%s: input_%u.pb has no matching model input (%u inputs)",
                    ds, i, n_in);
    }
    ugrt_tensor_info_t info;
    ugrt_status_t is = ugrt_model_input_info(m, 0, idx, &info); /* idx < n_in: cannot fail */
    if (!is) adapt_bf16(&t, info.dtype);
    ugrt_status_free(is);
    st = ugrt_session_set_input(s, 0, idx, t.dtype, t.rank, t.dims, t.data, t.size);
    ug_tensor_free(&t);
    if (st) {
      case_result_t r = result(CASE_FAIL, reason, len, "%s: %s", ds, ugrt_status_message(st));
      ugrt_status_free(st);
      return r;
    }
  }
  ugrt_status_t st = ugrt_session_run(s, 0);
  if (st) {
    case_result_t r = result(CASE_FAIL, reason, len, "%s: run: %s", ds, ugrt_status_message(st));
    ugrt_status_free(st);
    return r;
  }
  uint32_t checked = 0;
  for (uint32_t i = 0;; i++) {
    if (snprintf(path, sizeof path, "%s/output_%u.pb", dir, i) >= (int)sizeof path)
      return result(CASE_FAIL, reason, len, "%s: path too long", ds);
    if (access(path, F_OK) != 0) break;
    ug_tensor_t want;
    if (!ug_pb_read(path, &want, err, sizeof err))
      return result(CASE_FAIL, reason, len, "%s: %s", ds, err);
    uint32_t idx = i;
    st = want.name ? ugrt_model_find_output(m, 0, want.name, &idx) : NULL;
    if (st) {
      ugrt_status_free(st);
      idx = i;
    }
    ugrt_tensor_view_t v;
    if (idx >= n_out) {
      ug_tensor_free(&want);
      return result(CASE_FAIL, reason, len, "%s: output_%u.pb has no matching model output (%u outputs)",
                    ds, i, n_out);
    }
    if ((st = ugrt_session_output(s, 0, idx, &v))) {
      ug_tensor_free(&want);
      case_result_t r = result(CASE_FAIL, reason, len, "%s: %s", ds, ugrt_status_message(st));
      ugrt_status_free(st);
      return r;
    }
    adapt_bf16(&want, v.dtype);
    ug_tensor_t got = {.dtype = v.dtype, .rank = v.rank, .data = (void *)(uintptr_t)v.data,
                       .size = v.size};
    memcpy(got.dims, v.dims, v.rank * sizeof *v.dims);
    bool ok = ug_tensor_compare(&got, &want, cfg->rtol, cfg->atol, err, sizeof err);
    ug_tensor_free(&want);
    if (!ok) return result(CASE_FAIL, reason, len, "%s: output \"%s\": %s", ds, v.name, err);
    checked++;
  }
  if (checked == 0) return result(CASE_FAIL, reason, len, "%s: no output_*.pb files", ds);
  return CASE_PASS;
}

case_result_t run_case(const case_config_t *cfg, const char *case_dir, const char *work_dir,
                       char *reason, size_t len) {
  char model[4096], so[4096], buf[512];
  snprintf(model, sizeof model, "%s/model.onnx", case_dir);
  snprintf(so, sizeof so, "%s/model.so", work_dir);
  const char *skip = case_out_of_scope(model, buf, sizeof buf);
  if (skip) return result(CASE_SKIP, reason, len, "%s", skip);
  case_result_t r;
  if (cfg->precompiled) {
    /* case_dir ends in <suite>/<case> */
    const char *c = strrchr(case_dir, '/'), *s0 = c;
    while (s0 && s0 > case_dir && s0[-1] != '/') s0--;
    if (!c || !s0) return result(CASE_FAIL, reason, len, "precompiled: bad case path %s", case_dir);
    snprintf(so, sizeof so, "%s/%s/model.so", cfg->precompiled, s0);
    if (access(so, R_OK) != 0) return result(CASE_FAIL, reason, len, "compile: no precompiled model %s", so);
  } else {
    r = compile(cfg, model, so, work_dir, reason, len);
    if (r != CASE_PASS || cfg->compile_only) return r;
  }

  ugrt_model_options_t o;
  ugrt_model_options_init(&o);
  o.device = cfg->device;
  ugrt_model_t *m = NULL;
  ugrt_session_t *s = NULL;
  ugrt_status_t st = ugrt_model_load(so, &o, &m);
  if (!st) st = ugrt_session_create(m, NULL, &s);
  if (st) {
    r = result(CASE_FAIL, reason, len, "load: %s", ugrt_status_message(st));
    ugrt_status_free(st);
    ugrt_model_release(m);
    return r;
  }
  size_t n;
  char **sets = data_sets(case_dir, &n);
  r = n ? CASE_PASS : result(CASE_FAIL, reason, len, "no test_data_set_* directories");
  for (size_t i = 0; i < n; i++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", case_dir, sets[i]);
    if (r == CASE_PASS) r = run_data_set(cfg, m, s, dir, sets[i], reason, len);
    free(sets[i]);
  }
  free(sets);
  ugrt_session_release(s);
  ugrt_model_release(m);
  return r;
}
