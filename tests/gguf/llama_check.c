/* llama_check MODEL.so REF [--device=cpu|cuda] [--tol=1e-3]
 *
 * Runs a model.so compiled from a GGUF language model against a reference
 * written by tests/gguf/llama/make_fixtures.py from PyTorch (format in
 * tests/gguf/llama/README.md): the prompt through "prefill", then each
 * teacher-forced token through "decode", comparing every row of logits
 * (error: max |ugcc - torch| / max |torch| over the row).  Then three checks
 * of the session's KV cache: a prefill split in two calls gives the same
 * logits; after ugrt_session_reset_states a prefill gives them again; and a
 * cache saved with ugrt_session_read_state and written into a fresh session
 * continues the decode.  With --greedy, the reference's decode tokens must
 * be ugcc's greedy choices (the arg max of the previous row; the fixtures
 * of plain greedy references).  Exit 0 when every check passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ugrt/ugrt.h"

typedef struct {
  uint32_t vocab, n_prompt, n_decode;
  int32_t *tokens;
  float *logits;
} ref_t;

static int fail(const char *what, ugrt_status_t s) {
  fprintf(stderr, "llama_check: %s: %s\n", what, ugrt_status_message(s));
  ugrt_status_free(s);
  return 2;
}

static int read_ref(const char *path, ref_t *r) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 2;
  }
  char magic[4];
  uint32_t hdr[4];
  int rc = 2;
  if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "UGLR", 4) != 0 || fread(hdr, 4, 4, f) != 4 || hdr[0] != 1) {
    fprintf(stderr, "%s: not a version-1 UGLR reference\n", path);
    goto out;
  }
  r->vocab = hdr[1], r->n_prompt = hdr[2], r->n_decode = hdr[3];
  size_t nt = (size_t)r->n_prompt + r->n_decode;
  if (!r->vocab || !r->n_prompt || nt > 4096 || r->vocab > (1u << 20)) {
    fprintf(stderr, "%s: implausible sizes\n", path);
    goto out;
  }
  r->tokens = malloc(nt * sizeof(int32_t));
  r->logits = malloc(nt * r->vocab * sizeof(float));
  if (r->tokens && r->logits && fread(r->tokens, 4, nt, f) == nt && fread(r->logits, 4, nt * r->vocab, f) == nt * r->vocab)
    rc = 0;
  else
    fprintf(stderr, "%s: truncated\n", path);
out:
  fclose(f);
  return rc;
}

/* Runs `entry` on tokens[0..n) at positions pos0.. and copies the logits. */
static ugrt_status_t run(ugrt_session_t *s, uint32_t entry, const int32_t *tokens, int64_t n, int64_t pos0,
                         float *logits, size_t vocab) {
  int64_t *pos = malloc((size_t)n * sizeof(int64_t));
  for (int64_t i = 0; i < n; i++) pos[i] = pos0 + i;
  int64_t dims[1] = {n};
  ugrt_status_t st = ugrt_session_set_input_by_name(s, entry, "tokens", UGRT_I32, 1, dims, tokens, (size_t)n * 4);
  if (!st) st = ugrt_session_set_input_by_name(s, entry, "positions", UGRT_I64, 1, dims, pos, (size_t)n * 8);
  free(pos);
  if (!st) st = ugrt_session_run(s, entry);
  if (!st) st = ugrt_session_copy_output(s, entry, 0, logits, (size_t)n * vocab * sizeof(float));
  return st;
}

/* The largest row error of n rows. */
static double row_error(const float *got, const float *want, size_t n, size_t vocab) {
  double worst = 0;
  for (size_t r = 0; r < n; r++) {
    double d = 0, m = 0;
    for (size_t j = 0; j < vocab; j++) {
      double g = got[r * vocab + j], w = want[r * vocab + j];
      if (isnan(g)) return INFINITY;
      if (fabs(g - w) > d) d = fabs(g - w);
      if (fabs(w) > m) m = fabs(w);
    }
    if (m > 0 && d / m > worst) worst = d / m;
  }
  return worst;
}

int main(int argc, char **argv) {
  const char *model_path = NULL, *ref_path = NULL, *device = "cpu";
  double tol = 1e-3;
  bool greedy = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--greedy") == 0) greedy = true;
    else if (strncmp(argv[i], "--device=", 9) == 0) device = argv[i] + 9;
    else if (strncmp(argv[i], "--tol=", 6) == 0) tol = atof(argv[i] + 6);
    else if (!model_path) model_path = argv[i];
    else if (!ref_path) ref_path = argv[i];
  }
  if (!model_path || !ref_path) {
    fprintf(stderr, "usage: llama_check MODEL.so REF [--device=cpu|cuda] [--tol=1e-3]\n");
    return 2;
  }
  ref_t r = {0};
  if (read_ref(ref_path, &r)) return 2;
  ugrt_model_options_t mo;
  ugrt_model_options_init(&mo);
  mo.device = device;
  ugrt_model_t *m;
  ugrt_status_t st = ugrt_model_load(model_path, &mo, &m);
  if (st) return fail("load", st);
  uint32_t pre, dec;
  if ((st = ugrt_model_find_entry(m, "prefill", &pre)) || (st = ugrt_model_find_entry(m, "decode", &dec)))
    return fail("entries", st);
  ugrt_session_t *s;
  if ((st = ugrt_session_create(m, NULL, &s))) return fail("session", st);
  size_t V = r.vocab, np = r.n_prompt, nd = r.n_decode;
  float *got = calloc((np + nd) * V, sizeof(float));
  int bad = 0;

  /* prefill, then teacher-forced decode steps */
  if ((st = run(s, pre, r.tokens, (int64_t)np, 0, got, V))) return fail("prefill", st);
  double e_pre = row_error(got, r.logits, np, V), e_dec = 0;
  for (size_t t = 0; t < nd; t++) {
    if ((st = run(s, dec, r.tokens + np + t, 1, (int64_t)(np + t), got + (np + t) * V, V))) return fail("decode", st);
    double e = row_error(got + (np + t) * V, r.logits + (np + t) * V, 1, V);
    if (e > e_dec) e_dec = e;
  }
  printf("prefill (%zu tokens): max row error %.3g\n", np, e_pre);
  printf("decode  (%zu steps):  max row error %.3g\n", nd, e_dec);
  bad |= !(e_pre <= tol) || !(e_dec <= tol);
  if (greedy) {
    size_t same = 0;
    for (size_t t = np - 1; t + 1 < np + nd; t++) {
      const float *row = got + t * V;
      size_t best = 0;
      for (size_t j = 1; j < V; j++)
        if (row[j] > row[best]) best = j;
      same += (int32_t)best == r.tokens[t + 1];
    }
    printf("greedy tokens equal to the reference's: %zu of %zu\n", same, nd);
    bad |= same != nd;
  }

  /* the saved cache continues the decode in a fresh session */
  uint32_t ns = ugrt_model_state_count(m);
  void **saved = calloc(ns + 1, sizeof(void *));
  size_t *sizes = calloc(ns + 1, sizeof(size_t));
  for (uint32_t i = 0; i < ns; i++) {
    ugrt_tensor_info_t ti;
    if ((st = ugrt_model_state_info(m, i, &ti))) return fail("state info", st);
    sizes[i] = ugrt_dtype_size(ti.dtype);
    for (uint32_t d = 0; d < ti.rank; d++) sizes[i] *= (size_t)ti.dims[d];
    saved[i] = malloc(sizes[i]);
    if ((st = ugrt_session_read_state(s, i, saved[i], sizes[i]))) return fail("read state", st);
  }

  /* split prefill after a reset */
  float *again = calloc(np * V, sizeof(float));
  size_t half = np / 2;
  if ((st = ugrt_session_reset_states(s))) return fail("reset", st);
  if ((st = run(s, pre, r.tokens, (int64_t)half, 0, again, V)) ||
      (st = run(s, pre, r.tokens + half, (int64_t)(np - half), (int64_t)half, again + half * V, V)))
    return fail("split prefill", st);
  double e_split = row_error(again, r.logits, np, V);
  printf("prefill in two calls (%zu + %zu): max row error %.3g\n", half, np - half, e_split);
  bad |= !(e_split <= tol);

  ugrt_session_t *s2;
  if ((st = ugrt_session_create(m, NULL, &s2))) return fail("session 2", st);
  for (uint32_t i = 0; i < ns; i++)
    if ((st = ugrt_session_write_state(s2, i, saved[i], sizes[i]))) return fail("write state", st);
  double e_resume = 0;
  if (nd > 0) {
    /* replay the last decode step from the saved cache: it rewrites the
     * same cache row, so the logits must be those of that step */
    size_t t = np + nd - 1;
    if ((st = run(s2, dec, r.tokens + t, 1, (int64_t)t, again, V))) return fail("resumed decode", st);
    e_resume = row_error(again, r.logits + t * V, 1, V);
    printf("decode from a saved cache: max row error %.3g\n", e_resume);
    bad |= !(e_resume <= tol);
  }
  printf("%s (tolerance %g, device %s)\n", bad ? "FAIL" : "OK", tol, ugrt_model_device(m));
  for (uint32_t i = 0; i < ns; i++) free(saved[i]);
  free(saved);
  free(sizes);
  free(again);
  free(got);
  free(r.tokens);
  free(r.logits);
  ugrt_session_release(s2);
  ugrt_session_release(s);
  ugrt_model_release(m);
  return bad;
}
