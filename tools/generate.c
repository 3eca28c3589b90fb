/* Text generation (generate.h). */
#include "tools/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/gguf/gguf.h"
#include "frontend/gguf/tokenizer.h"

void ug_gen_options_init(ug_gen_options_t *o) {
  memset(o, 0, sizeof *o);
  o->n_predict = 64;
  o->top_p = 1.0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* splitmix64: a small, seedable generator for sampling */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

typedef struct {
  float p;
  int32_t id;
} cand_t;

static int by_prob(const void *x, const void *y) {
  const cand_t *a = x, *b = y;
  return a->p < b->p ? 1 : a->p > b->p ? -1 : (a->id > b->id) - (a->id < b->id);
}

/* The next token from one row of logits: the arg max when temp is 0, else a
 * draw from softmax(logits / temp) restricted to the top_k most likely
 * tokens and to the smallest set whose probability reaches top_p. */
static int32_t sample(const float *logits, size_t V, const ug_gen_options_t *o, cand_t *c, uint64_t *rng) {
  size_t best = 0;
  for (size_t i = 1; i < V; i++)
    if (logits[i] > logits[best]) best = i;
  if (o->temp <= 0) return (int32_t)best;
  double sum = 0;
  for (size_t i = 0; i < V; i++) {
    c[i].id = (int32_t)i;
    c[i].p = (float)exp((logits[i] - logits[best]) / o->temp);
    sum += c[i].p;
  }
  qsort(c, V, sizeof *c, by_prob);
  size_t n = V;
  if (o->top_k > 0 && (size_t)o->top_k < n) n = (size_t)o->top_k;
  double kept = 0;
  for (size_t i = 0; i < n; i++) {
    kept += c[i].p / sum;
    if (kept >= o->top_p) {
      n = i + 1;
      break;
    }
  }
  double total = 0;
  for (size_t i = 0; i < n; i++) total += c[i].p;
  double u = (double)(next_u64(rng) >> 11) * 0x1.0p-53 * total;
  for (size_t i = 0; i < n; i++) {
    u -= c[i].p;
    if (u < 0) return c[i].id;
  }
  return c[n - 1].id;
}

static int fail(FILE *err, const char *what, ugrt_status_t s) {
  fprintf(err, "ugcc-run: %s: %s\n", what, ugrt_status_message(s));
  ugrt_status_free(s);
  return 1;
}

/* Runs `entry` on n tokens at positions pos.. and copies the last row of logits. */
static ugrt_status_t step(ugrt_session_t *s, uint32_t entry, const int32_t *tokens, int64_t n, int64_t pos,
                          int64_t *p, float *all, size_t V, float *last) {
  for (int64_t i = 0; i < n; i++) p[i] = pos + i;
  int64_t dims[1] = {n};
  ugrt_status_t st = ugrt_session_set_input_by_name(s, entry, "tokens", UGRT_I32, 1, dims, tokens, (size_t)n * 4);
  if (!st) st = ugrt_session_set_input_by_name(s, entry, "positions", UGRT_I64, 1, dims, p, (size_t)n * 8);
  if (!st) st = ugrt_session_run(s, entry);
  if (!st) st = ugrt_session_copy_output(s, entry, 0, all, (size_t)n * V * sizeof(float));
  if (!st) memcpy(last, all + (size_t)(n - 1) * V, V * sizeof(float));
  return st;
}

int ug_generate(ugrt_model_t *m, const ug_gen_options_t *o, FILE *out, FILE *err) {
  size_t md_size;
  const void *md = ugrt_model_metadata(m, &md_size);
  if (!md) {
    fprintf(err, "ugcc-run: --prompt needs a model compiled from GGUF (this one has no tokenizer)\n");
    return 1;
  }
  uint32_t pre, dec;
  ugrt_status_t st;
  if ((st = ugrt_model_find_entry(m, "prefill", &pre)) || (st = ugrt_model_find_entry(m, "decode", &dec)))
    return fail(err, "--prompt", st);
  ugrt_tensor_info_t li, ci;
  if ((st = ugrt_model_output_info(m, pre, 0, &li))) return fail(err, "prefill", st);
  size_t V = li.rank == 2 && li.dims[1] > 0 ? (size_t)li.dims[1] : 0;
  int64_t ctx = 0;
  /* the cache: [kv_heads, ctx, head_dim] per layer (docs/gguf.md) */
  if (ugrt_model_state_count(m) && !ugrt_model_state_info(m, 0, &ci) && ci.rank == 3) ctx = ci.dims[1];
  if (!V || !ctx || strcmp(li.name, "logits") != 0) {
    fprintf(err, "ugcc-run: the model's prefill entry does not look like a language model\n");
    return 1;
  }
  ug_gguf_t *f;
  ug_status_t gs = ug_gguf_open_buffer(md, md_size, "model metadata", &f);
  ug_tokenizer_t *tok = NULL;
  if (!gs) {
    gs = ug_tokenizer_from_gguf(f, &tok);
    ug_gguf_close(f);
  }
  if (gs) {
    fprintf(err, "ugcc-run: tokenizer: %s\n", ug_status_message(gs));
    ug_status_free(gs);
    return 1;
  }
  int32_t *ids = NULL;
  size_t n_ids = 0;
  ug_tok_error_t te;
  int rc = 1;
  ugrt_session_t *s = NULL;
  float *all = NULL, *last = malloc(V * sizeof(float));
  int64_t *posbuf = malloc((size_t)ctx * sizeof(int64_t));
  cand_t *cand = malloc(V * sizeof(cand_t));
  if (ug_tokenizer_encode(tok, o->prompt, strlen(o->prompt), true, &ids, &n_ids, &te)) {
    fprintf(err, "ugcc-run: cannot tokenize the prompt: %s\n", te.msg);
    goto done;
  }
  if (n_ids == 0) {
    fprintf(err, "ugcc-run: the prompt has no tokens\n");
    goto done;
  }
  if ((int64_t)n_ids >= ctx) {
    fprintf(err, "ugcc-run: the prompt has %zu tokens; the KV cache holds %lld (ugcc --ctx)\n", n_ids, (long long)ctx);
    goto done;
  }
  long n_predict = o->n_predict;
  if ((int64_t)n_ids + n_predict > ctx) {
    n_predict = (long)(ctx - (int64_t)n_ids);
    fprintf(err, "ugcc-run: generating %ld tokens: the KV cache holds %lld\n", n_predict, (long long)ctx);
  }
  all = malloc(n_ids * V * sizeof(float));
  if (!all || !last || !cand || !posbuf) {
    fprintf(err, "ugcc-run: out of memory\n");
    goto done;
  }
  if ((st = ugrt_session_create(m, NULL, &s))) {
    rc = fail(err, "session", st);
    goto done;
  }
  fwrite(o->prompt, 1, strlen(o->prompt), out);
  fflush(out);
  ug_tok_decoder_t d;
  ug_tokenizer_decoder_init(tok, &d);
  for (size_t i = 0; i < n_ids; i++) { /* keep the decoder's state in step with the prompt */
    ug_tok_str_t piece;
    ug_tokenizer_decode_token(tok, &d, ids[i], &piece, &te);
  }
  uint64_t rng = o->seed;
  double t0 = now_s();
  if ((st = step(s, pre, ids, (int64_t)n_ids, 0, posbuf, all, V, last))) {
    rc = fail(err, "prefill", st);
    goto done;
  }
  double t_prefill = now_s() - t0, t_decode = 0;
  int64_t pos = (int64_t)n_ids;
  long produced = 0, decoded = 0;
  int32_t eos = ug_tokenizer_eos(tok);
  while (produced < n_predict) {
    int32_t next = sample(last, V, o, cand, &rng);
    produced++;
    if (next == eos) break;
    ug_tok_str_t piece;
    if (ug_tokenizer_decode_token(tok, &d, next, &piece, &te) == UG_TOK_OK) {
      fwrite(piece.ptr, 1, piece.len, out);
      fflush(out);
    }
    if (produced == n_predict) break;
    double t1 = now_s();
    if ((st = step(s, dec, &next, 1, pos++, posbuf, all, V, last))) {
      rc = fail(err, "decode", st);
      goto done;
    }
    t_decode += now_s() - t1;
    decoded++;
  }
  fputc('\n', out);
  if (!o->quiet)
    fprintf(err, "ugcc-run: %s: prefill %zu tokens in %.1f ms (%.1f tokens/s); decode %ld tokens in %.1f ms (%.1f tokens/s)\n",
            ugrt_model_device(m), n_ids, t_prefill * 1e3, (double)n_ids / t_prefill, decoded, t_decode * 1e3,
            decoded ? (double)decoded / t_decode : 0.0);
  rc = 0;
done:
  ugrt_session_release(s);
  free(all);
  free(last);
  free(cand);
  free(posbuf);
  free(ids);
  ug_tokenizer_destroy(tok);
  return rc;
}
