/* The graph builder for GGUF language models of the llama family.
 *
 * A GGUF file carries weights, hyper-parameters and a tokenizer but no graph;
 * ug_gguf_import() builds one from a table of architectures (`llama`, which
 * covers Llama 2/3, Mistral, TinyLlama and SmolLM, and `qwen2`).  The module
 * has two graphs sharing the weights and a KV cache:
 *
 *   @prefill(tokens: i32[seq], positions: i64[seq], cache.k.0, cache.v.0, ...)
 *       -> (logits: f32[seq, vocab], cache.k.0, cache.v.0, ...)
 *   @decode (tokens: i32[1],   positions: i64[1],   ...) -> (logits: f32[1, vocab], ...)
 *
 * `positions[i]` is the place of token i in the sequence (0 for the first
 * token of a prompt); every token attends to the cache entries at positions
 * <= its own.  Each `cache.{k,v}.L` input is [n_kv_heads, ctx, head_dim]
 * and an output of the same name returns it updated (a scatter_nd of the
 * new rows): a graph input and output with one name are session state
 * (docs/gguf.md, "The KV cache").
 *
 * The weights borrow the file's mapping, which the module adopts; the
 * module also records the file (ug_module_t.source) so that model.so can map
 * it instead of copying the weights, and the GGUF metadata to embed. */
#ifndef UG_FRONTEND_GGUF_LLAMA_H
#define UG_FRONTEND_GGUF_LLAMA_H

#include <stdint.h>

#include "ir/ir.h"

typedef struct {
  /* KV cache capacity in tokens; 0: the model's context length, capped at
   * 4096 tokens and at 2 GiB of cache. */
  int64_t ctx;
  /* Activation and KV-cache dtype: f32 (default) or f16 / bf16. */
  ug_dtype_t act_dtype;
} ug_gguf_import_options_t;

void ug_gguf_import_options_init(ug_gguf_import_options_t *o);

ug_status_t ug_gguf_import(const char *path, const ug_gguf_import_options_t *o, ug_module_t **out);
/* The same from bytes in memory (which the module borrows: keep them alive
 * until ug_module_destroy); the module has no source file, so its weights
 * are embedded when compiled. */
ug_status_t ug_gguf_import_buffer(const void *data, size_t size, const char *origin,
                                  const ug_gguf_import_options_t *o, ug_module_t **out);

#endif
