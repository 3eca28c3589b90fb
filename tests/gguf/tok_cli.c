/* A command-line driver of the GGUF tokenizer, for tests/gguf/check_tokenizer.py:
 *
 *   tok_cli MODEL.gguf encode [special] < text   ids, space-separated, on one line
 *   tok_cli MODEL.gguf decode ID...              the decoded bytes on stdout
 *
 * "special" adds BOS/EOS as the vocabulary says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/gguf/gguf.h"
#include "frontend/gguf/tokenizer.h"

static char *read_all(FILE *in, size_t *out_len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, in)) > 0) {
    n += got;
    if (n == cap) {
      char *b = realloc(buf, cap *= 2);
      if (!b) free(buf);
      buf = b;
    }
  }
  *out_len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[2], "encode") && strcmp(argv[2], "decode"))) {
    fprintf(stderr, "usage: %s MODEL.gguf encode [special] < text | decode ID...\n", argv[0]);
    return 2;
  }
  ug_gguf_t *f = NULL;
  ug_tokenizer_t *t = NULL;
  ug_status_t st = ug_gguf_open(argv[1], &f);
  if (!st) st = ug_tokenizer_from_gguf(f, &t);
  if (st) {
    ug_status_print(st, stderr);
    ug_status_free(st);
    ug_gguf_close(f);
    return 1;
  }
  ug_gguf_close(f);
  int rc = 0;
  ug_tok_error_t err;
  if (!strcmp(argv[2], "encode")) {
    size_t len;
    char *text = read_all(stdin, &len);
    int32_t *ids = NULL;
    size_t n = 0;
    if (!text || ug_tokenizer_encode(t, text, len, argc > 3 && !strcmp(argv[3], "special"), &ids, &n, &err)) {
      fprintf(stderr, "error: %s\n", text ? err.msg : "out of memory");
      rc = 1;
    } else {
      for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
      printf("\n");
    }
    free(ids);
    free(text);
  } else {
    ug_tok_decoder_t d;
    ug_tokenizer_decoder_init(t, &d);
    for (int i = 3; i < argc && !rc; i++) {
      ug_tok_str_t s;
      if (ug_tokenizer_decode_token(t, &d, (int32_t)strtol(argv[i], NULL, 10), &s, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 1;
      } else {
        fwrite(s.ptr, 1, s.len, stdout);
      }
    }
  }
  ug_tokenizer_destroy(t);
  return rc;
}
