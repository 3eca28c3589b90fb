/* Text generation with a language model compiled from GGUF (ugcc-run
 * --prompt): tokenizer from the model's metadata, the prompt through the
 * "prefill" entry, then one token at a time through "decode", sharing the
 * session's KV cache. */
#ifndef UG_TOOLS_GENERATE_H
#define UG_TOOLS_GENERATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ugrt/ugrt.h"

typedef struct {
  const char *prompt;
  long n_predict;   /* tokens to generate (-n); stops early at end-of-sequence */
  double temp;      /* 0: greedy (the default) */
  long top_k;       /* 0: no limit */
  double top_p;     /* 1: no limit */
  uint64_t seed;
  bool quiet;       /* no timing line */
} ug_gen_options_t;

void ug_gen_options_init(ug_gen_options_t *o);

/* Generates into `out` (the prompt, then each piece as it comes); timings
 * go to `err`.  Returns 0, or 1 after printing an error to err. */
int ug_generate(ugrt_model_t *m, const ug_gen_options_t *o, FILE *out, FILE *err);

#endif
