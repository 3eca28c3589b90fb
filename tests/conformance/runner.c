/* The ONNX conformance runner.
 *
 *   runner [--ugcc=PATH] [--filter=SUBSTR] [--jobs=N] [--timeout=SEC]
 *          [--list-passing=FILE] [--expect=FILE] [--keep-dir] [--work-dir=DIR]
 *          [--target=cpu] [--device=cpu] [--compile-only] [--precompiled=DIR]
 *          [--verbose] [DATA_ROOT ...]
 *
 * Each case directory (one holding model.onnx) under the data roots runs in
 * its own worker process (its own process group, killed on timeout), so a
 * crash or a hang fails that case only.  Prints `FAIL suite/case: reason`
 * and `SKIP suite/case: reason` lines, sorted, then `N passed, N failed,
 * N skipped`.  With --expect, a listed case that does not pass prints
 * `REGRESSION suite/case` and makes the exit status 1; a passing case not
 * listed prints `NEW PASS suite/case`.  Without --expect, any failure makes
 * the exit status 1.  Usage errors exit with 2.
 *
 * --compile-only passes a case when ugcc compiles it (CI compiles every case
 * for cuda without a GPU).  --precompiled=DIR compiles nothing: the case
 * suite/case runs DIR/suite/case/model.so — the layout --keep-dir leaves in
 * --work-dir, so models compiled on one machine run on another
 * (scripts/device/conformance-cuda.sh). */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/conformance/runner.h"

static const char *const default_roots[] = {
    "/usr/share/libonnx-testdata/data/node",
    "/usr/share/libonnx-testdata/data/pytorch-converted",
    "/usr/share/libonnx-testdata/data/pytorch-operator",
    "/usr/share/libonnx-testdata/data/simple",
};

typedef struct {
  char *name; /* "suite/case" */
  char *dir;
  case_result_t result;
  char *reason;
} case_t;

typedef struct {
  case_t *v;
  size_t n, cap;
} cases_t;

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "runner: out of memory\n");
    exit(1);
  }
  return p;
}

static char *xstrdup(const char *s) {
  char *r = xmalloc(strlen(s) + 1);
  strcpy(r, s);
  return r;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *r = xmalloc(n);
  snprintf(r, n, "%s/%s", a, b);
  return r;
}

static void usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "runner: %s%s\nusage: runner [--ugcc=PATH] [--filter=SUBSTR] [--jobs=N] "
          "[--timeout=SEC] [--list-passing=FILE] [--expect=FILE] [--keep-dir] [--work-dir=DIR] "
          "[--target=T] [--device=D] [--compile-only] [--precompiled=DIR] [--verbose] [DATA_ROOT ...]\n", msg, arg ? arg : "");
  exit(2);
}

static int cmp_case(const void *a, const void *b) {
  return strcmp(((const case_t *)a)->name, ((const case_t *)b)->name);
}

/* Adds every subdirectory of root holding a model.onnx whose name contains filter. */
static void collect(const char *root, const char *filter, cases_t *cs) {
  DIR *d = opendir(root);
  if (!d) {
    fprintf(stderr, "runner: warning: cannot read %s: %s\n", root, strerror(errno));
    return;
  }
  const char *suite = strrchr(root, '/');
  suite = suite && suite[1] ? suite + 1 : root;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *dir = join(root, e->d_name);
    char *model = join(dir, "model.onnx");
    size_t n = strlen(suite) + strlen(e->d_name) + 2;
    char *name = xmalloc(n);
    snprintf(name, n, "%s/%s", suite, e->d_name);
    if (access(model, R_OK) == 0 && (!filter || strstr(name, filter))) {
      if (cs->n == cs->cap) {
        cs->cap = cs->cap ? 2 * cs->cap : 256;
        case_t *nv = realloc(cs->v, cs->cap * sizeof *nv);
        if (!nv) usage_error("out of memory", NULL);
        cs->v = nv;
      }
      cs->v[cs->n++] = (case_t){name, dir, CASE_FAIL, NULL};
    } else {
      free(name);
      free(dir);
    }
    free(model);
  }
  closedir(d);
}

/* Removes a directory tree (work directories only). */
static void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char *p = join(path, e->d_name);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        remove_tree(p);
      else
        unlink(p);
      free(p);
    }
    closedir(d);
  }
  rmdir(path);
}

static void mkdir_p(const char *path) {
  char *p = xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0777);
      *s = '/';
    }
  }
  mkdir(p, 0777);
  free(p);
}

/* Lines of a list file ("#" comments and blank lines skipped). */
static char **read_list(const char *path, size_t *out_n) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "runner: cannot read %s: %s\n", path, strerror(errno));
    exit(2);
  }
  size_t n = 0, cap = 64;
  char **v = xmalloc(cap * sizeof *v), line[4096];
  while (fgets(line, sizeof line, f)) {
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    s[strcspn(s, "\r\n#")] = 0;
    for (size_t k = strlen(s); k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'); k--) s[k - 1] = 0;
    if (!*s) continue;
    if (n == cap) {
      cap *= 2;
      char **nv = realloc(v, cap * sizeof *v);
      if (!nv) usage_error("out of memory", NULL);
      v = nv;
    }
    v[n++] = xstrdup(s);
  }
  fclose(f);
  *out_n = n;
  return v;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
  pid_t pid;
  int fd;
  size_t case_index;
  double start;
  char buf[2048];
  size_t len;
  bool timed_out;
} job_t;

/* One line per suite (the part of the case name before '/'), worded so that
 * it is not mistaken for the final summary line. */
static void print_suites(const cases_t *cs) {
  for (size_t i = 0; i < cs->n;) {
    const char *name = cs->v[i].name, *slash = strchr(name, '/');
    size_t len = slash ? (size_t)(slash - name) : strlen(name);
    size_t pass = 0, fail = 0, skip = 0, j = i;
    for (; j < cs->n && strncmp(cs->v[j].name, name, len) == 0 && cs->v[j].name[len] == '/'; j++) {
      pass += cs->v[j].result == CASE_PASS;
      fail += cs->v[j].result == CASE_FAIL;
      skip += cs->v[j].result == CASE_SKIP;
    }
    if (j == i) j = i + 1;
    size_t total = j - i;
    printf("suite %.*s: %zu/%zu pass (%.1f%%), %zu fail, %zu skip\n", (int)len, name, pass, total,
           total ? 100.0 * (double)pass / (double)total : 0.0, fail, skip);
    i = j;
  }
}

/* The worker: runs the case and writes "P\n", "F reason\n" or "S reason\n". */
static void worker(const case_config_t *cfg, const case_t *c, const char *work_root, int fd) {
  setpgid(0, 0);
  char *work = join(work_root, c->name);
  mkdir_p(work);
  char reason[2048] = "";
  case_result_t r = run_case(cfg, c->dir, work, reason, sizeof reason);
  for (char *p = reason; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  char out[2100];
  int n = snprintf(out, sizeof out, "%c %s\n", r == CASE_PASS ? 'P' : r == CASE_SKIP ? 'S' : 'F',
                   reason);
  if (n > (int)sizeof out - 1) n = (int)sizeof out - 1;
  ssize_t w = write(fd, out, (size_t)n);
  (void)w;
  free(work);
  _exit(0);
}

/* Records the outcome of a finished job. */
static void finish(job_t *j, case_t *c, int timeout_s) {
  int st = 0;
  while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR) {}
  close(j->fd);
  j->buf[j->len < sizeof j->buf ? j->len : sizeof j->buf - 1] = 0;
  char msg[2300];
  if (j->timed_out) {
    snprintf(msg, sizeof msg, "timed out after %d s", timeout_s);
    c->result = CASE_FAIL;
  } else if (j->len >= 2 && (j->buf[0] == 'P' || j->buf[0] == 'F' || j->buf[0] == 'S')) {
    c->result = j->buf[0] == 'P' ? CASE_PASS : j->buf[0] == 'S' ? CASE_SKIP : CASE_FAIL;
    snprintf(msg, sizeof msg, "%s", j->buf + 2);
    msg[strcspn(msg, "\n")] = 0;
  } else if (WIFSIGNALED(st)) {
    snprintf(msg, sizeof msg, "crashed with signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    c->result = CASE_FAIL;
  } else {
    snprintf(msg, sizeof msg, "worker exited with status %d and no result",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    c->result = CASE_FAIL;
  }
  c->reason = xstrdup(msg);
}

int main(int argc, char **argv) {
  case_config_t cfg = {.ugcc = "ugcc", .target = "cpu", .device = "cpu", .rtol = 1e-3, .atol = 1e-7};
  const char *filter = NULL, *list_passing = NULL, *expect = NULL, *work_dir = NULL;
  long jobs = 2, timeout_s = 120;
  bool keep = false, verbose = false;
  const char *roots[64];
  int num_roots = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
#define OPT(name) (strncmp(a, name "=", sizeof name) == 0 ? a + sizeof name : NULL)
    const char *v;
    if ((v = OPT("--ugcc"))) cfg.ugcc = v;
    else if ((v = OPT("--filter"))) filter = v;
    else if ((v = OPT("--list-passing"))) list_passing = v;
    else if ((v = OPT("--expect"))) expect = v;
    else if ((v = OPT("--work-dir"))) work_dir = v;
    else if ((v = OPT("--target"))) cfg.target = v;
    else if ((v = OPT("--device"))) cfg.device = v;
    else if ((v = OPT("--precompiled"))) cfg.precompiled = v;
    else if ((v = OPT("--jobs"))) {
      char *end;
      jobs = strtol(v, &end, 10);
      if (*end || jobs < 1 || jobs > 256) usage_error("bad --jobs value ", v);
    } else if ((v = OPT("--timeout"))) {
      char *end;
      timeout_s = strtol(v, &end, 10);
      if (*end || timeout_s < 1) usage_error("bad --timeout value ", v);
    } else if (strcmp(a, "--keep-dir") == 0) keep = true;
    else if (strcmp(a, "--verbose") == 0) verbose = true;
    else if (strcmp(a, "--compile-only") == 0) cfg.compile_only = true;
    else if (a[0] == '-') usage_error("unknown option ", a);
    else if (num_roots < 64) roots[num_roots++] = a;
#undef OPT
  }
  if (num_roots == 0)
    for (size_t i = 0; i < sizeof default_roots / sizeof default_roots[0]; i++)
      roots[num_roots++] = default_roots[i];

  cases_t cs = {0};
  for (int i = 0; i < num_roots; i++) collect(roots[i], filter, &cs);
  qsort(cs.v, cs.n, sizeof *cs.v, cmp_case);

  char tmp[] = "/tmp/ugcc-conformance-XXXXXX";
  if (!work_dir) {
    if (!mkdtemp(tmp)) {
      fprintf(stderr, "runner: cannot create a work directory: %s\n", strerror(errno));
      return 1;
    }
    work_dir = tmp;
  } else {
    mkdir_p(work_dir);
  }

  /* Run the cases, at most `jobs` workers at a time. */
  job_t *running = xmalloc((size_t)jobs * sizeof *running);
  struct pollfd *pfd = xmalloc((size_t)jobs * sizeof *pfd);
  size_t next = 0, active = 0, done = 0;
  fflush(stdout);
  while (done < cs.n) {
    while (active < (size_t)jobs && next < cs.n) {
      int p[2];
      if (pipe(p) != 0) {
        fprintf(stderr, "runner: pipe: %s\n", strerror(errno));
        return 1;
      }
      pid_t pid = fork();
      if (pid < 0) {
        fprintf(stderr, "runner: fork: %s\n", strerror(errno));
        return 1;
      }
      if (pid == 0) {
        close(p[0]);
        worker(&cfg, &cs.v[next], work_dir, p[1]);
      }
      setpgid(pid, pid); /* also in the parent, to win the race with kill() */
      close(p[1]);
      running[active] = (job_t){.pid = pid, .fd = p[0], .case_index = next, .start = now_s()};
      active++;
      next++;
    }
    for (size_t i = 0; i < active; i++) pfd[i] = (struct pollfd){running[i].fd, POLLIN, 0};
    int pr = poll(pfd, active, 200);
    if (pr < 0 && errno != EINTR) {
      fprintf(stderr, "runner: poll: %s\n", strerror(errno));
      return 1;
    }
    double now = now_s();
    for (size_t i = 0; i < active;) {
      job_t *j = &running[i];
      bool ended = false;
      if (pr > 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(j->fd, j->buf + j->len, sizeof j->buf - 1 - j->len);
        if (n > 0)
          j->len += (size_t)n;
        else if (n == 0 || errno != EINTR)
          ended = true;
      }
      if (!ended && now - j->start > (double)timeout_s) {
        kill(-j->pid, SIGKILL);
        j->timed_out = true;
        ended = true;
      }
      if (ended) {
        case_t *c = &cs.v[j->case_index];
        finish(j, c, (int)timeout_s);
        done++;
        if (verbose)
          fprintf(stderr, "[%zu/%zu] %s %s\n", done, cs.n,
                  c->result == CASE_PASS ? "PASS" : c->result == CASE_SKIP ? "SKIP" : "FAIL",
                  c->name);
        if (!keep && c->result != CASE_FAIL) {
          char *w = join(work_dir, c->name);
          remove_tree(w);
          free(w);
        }
        running[i] = running[--active];
        pfd[i] = pfd[active];
      } else {
        i++;
      }
    }
  }

  /* Report, in case order. */
  size_t passed = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < cs.n; i++) {
    case_t *c = &cs.v[i];
    if (c->result == CASE_PASS) passed++;
    if (c->result == CASE_FAIL) {
      failed++;
      printf("FAIL %s: %s\n", c->name, c->reason);
    }
    if (c->result == CASE_SKIP) {
      skipped++;
      printf("SKIP %s: %s\n", c->name, c->reason);
    }
  }
  int rc = failed ? 1 : 0;
  if (expect) {
    rc = 0;
    size_t n;
    char **want = read_list(expect, &n);
    for (size_t k = 0; k < n; k++) {
      if (filter && !strstr(want[k], filter)) continue;
      case_t key = {.name = want[k]};
      case_t *c = bsearch(&key, cs.v, cs.n, sizeof *cs.v, cmp_case);
      if (!c || c->result != CASE_PASS) {
        printf("REGRESSION %s%s\n", want[k], c ? "" : " (case not found)");
        rc = 1;
      }
    }
    for (size_t i = 0; i < cs.n; i++) {
      if (cs.v[i].result != CASE_PASS) continue;
      bool listed = false;
      for (size_t k = 0; k < n && !listed; k++) listed = strcmp(want[k], cs.v[i].name) == 0;
      if (!listed) printf("NEW PASS %s\n", cs.v[i].name);
    }
    for (size_t k = 0; k < n; k++) free(want[k]);
    free(want);
  }
  if (list_passing) {
    FILE *f = fopen(list_passing, "w");
    if (!f) {
      fprintf(stderr, "runner: cannot write %s: %s\n", list_passing, strerror(errno));
      rc = 1;
    } else {
      for (size_t i = 0; i < cs.n; i++)
        if (cs.v[i].result == CASE_PASS) fprintf(f, "%s\n", cs.v[i].name);
      fclose(f);
    }
  }
  print_suites(&cs);
  printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
  if (keep)
    fprintf(stderr, "runner: work directory kept: %s\n", work_dir);
  else if (work_dir == tmp)
    remove_tree(tmp);
  for (size_t i = 0; i < cs.n; i++) {
    free(cs.v[i].name);
    free(cs.v[i].dir);
    free(cs.v[i].reason);
  }
  free(cs.v);
  free(running);
  free(pfd);
  return rc;
}
