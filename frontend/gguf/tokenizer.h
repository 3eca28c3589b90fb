/* The tokenizer of a GGUF model: text to token ids and back.
 *
 * Two models, chosen by the GGUF key tokenizer.ggml.model:
 *  - "llama" (UG_TOK_MODEL_SPM): SentencePiece BPE with scores, as llama.cpp's
 *    SPM tokenizer: spaces become U+2581, a leading U+2581 is added when
 *    add_space_prefix, then adjacent symbols (UTF-8 characters) are merged,
 *    best score of the merged piece first (ties: leftmost), and characters
 *    not in the vocabulary fall back to byte tokens <0xXX>.
 *  - "gpt2" (UG_TOK_MODEL_GPT2): byte-level BPE: the GPT-2 pre-tokenizer
 *    regex splits the text into words, each word's bytes are mapped to the
 *    GPT-2 byte alphabet and merged by the lowest merge rank (ties: leftmost).
 * docs/gguf.md ("Tokenizer") lists the approximations.
 *
 * The core depends on the C library only: it takes the vocabulary as arrays
 * (ug_tok_vocab_t) and copies what it keeps, so the arrays may be released
 * after ug_tokenizer_create().  ug_tokenizer_from_gguf() is a convenience
 * constructor from an opened GGUF reader; compile with
 * UG_TOKENIZER_NO_GGUF defined to leave it (and the reader) out.
 *
 * Errors: functions that can fail return a ug_tok_result_t and, when `err` is
 * not NULL, write a NUL-terminated message into it.  Ownership: a tokenizer
 * is created and destroyed by the caller; arrays returned by encode/decode are
 * malloc'd and freed by the caller with free(); pieces returned by
 * ug_tokenizer_decode_token point into the tokenizer. */
#ifndef UG_FRONTEND_GGUF_TOKENIZER_H
#define UG_FRONTEND_GGUF_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  UG_TOK_MODEL_SPM = 0,  /* "llama" */
  UG_TOK_MODEL_GPT2 = 1, /* "gpt2" */
} ug_tok_model_t;

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
  UG_TOK_TYPE_UNDEFINED = 0,
  UG_TOK_TYPE_NORMAL = 1,
  UG_TOK_TYPE_UNKNOWN = 2,
  UG_TOK_TYPE_CONTROL = 3,
  UG_TOK_TYPE_USER_DEFINED = 4,
  UG_TOK_TYPE_UNUSED = 5,
  UG_TOK_TYPE_BYTE = 6,
};

typedef enum {
  UG_TOK_OK = 0,
  UG_TOK_ERR_INVALID, /* a malformed vocabulary, an id out of range, text that cannot be encoded */
  UG_TOK_ERR_NOMEM,   /* an allocation failed or a size limit was exceeded */
} ug_tok_result_t;

typedef struct {
  char msg[256];
} ug_tok_error_t;

/* A byte string, not NUL-terminated (any bytes, UTF-8 not required). */
typedef struct {
  const char *ptr;
  size_t len;
} ug_tok_str_t;

/* The vocabulary, borrowed during ug_tokenizer_create() only. */
typedef struct {
  ug_tok_model_t model;
  const ug_tok_str_t *tokens; /* tokenizer.ggml.tokens: id -> text */
  size_t n_tokens;            /* 1 .. INT32_MAX */
  const float *scores;        /* tokenizer.ggml.scores; NULL: all 0; else n_scores >= n_tokens */
  size_t n_scores;
  const int32_t *types;       /* tokenizer.ggml.token_type; NULL: all NORMAL; else n_types >= n_tokens */
  size_t n_types;
  const ug_tok_str_t *merges; /* tokenizer.ggml.merges, "left right", rank = index (GPT-2 only) */
  size_t n_merges;
  int64_t bos_id, eos_id, unk_id; /* -1: none */
  bool add_bos, add_eos;          /* added by ug_tokenizer_encode(add_special = true) */
  bool add_space_prefix;          /* SPM: a leading U+2581 before the text */
} ug_tok_vocab_t;

/* Clears v and sets llama.cpp's defaults for the model: SPM bos 1, eos 2,
 * unk 0, add_bos and add_space_prefix true; GPT-2 no special ids, all false. */
void ug_tok_vocab_init(ug_tok_vocab_t *v, ug_tok_model_t model);

typedef struct ug_tokenizer ug_tokenizer_t;

/* Validates the vocabulary (counts, lengths of the scores and types arrays,
 * special ids in range, merges well-formed, finite scores) and builds the
 * lookup tables.  On failure *out is NULL. */
ug_tok_result_t ug_tokenizer_create(const ug_tok_vocab_t *v, ug_tokenizer_t **out, ug_tok_error_t *err);
/* Frees everything (NULL is a no-op). */
void ug_tokenizer_destroy(ug_tokenizer_t *t);

ug_tok_model_t ug_tokenizer_model(const ug_tokenizer_t *t);
size_t ug_tokenizer_n_tokens(const ug_tokenizer_t *t);
/* The special ids, -1 when there is none. */
int32_t ug_tokenizer_bos(const ug_tokenizer_t *t);
int32_t ug_tokenizer_eos(const ug_tokenizer_t *t);
/* Token type of id (UG_TOK_TYPE_*); -1 for an id out of range. */
int ug_tokenizer_token_type(const ug_tokenizer_t *t, int32_t id);
/* The vocabulary text of id (the stored piece, e.g. "\xe2\x96\x81the"); {NULL, 0} out of range. */
ug_tok_str_t ug_tokenizer_token_text(const ug_tokenizer_t *t, int32_t id);

/* Encodes `len` bytes of text (any bytes; malformed UTF-8 is byte-encoded).
 * With add_special, BOS and EOS are added as the vocabulary says.  Control
 * and unknown tokens are never produced from text.  *out_ids is malloc'd
 * (free() it; non-NULL even when *out_n is 0).  Text longer than 2^28 bytes
 * is refused.  Cost: O(n log n) in the length n of the text. */
ug_tok_result_t ug_tokenizer_encode(const ug_tokenizer_t *t, const char *text, size_t len, bool add_special,
                                    int32_t **out_ids, size_t *out_n, ug_tok_error_t *err);

/* Streaming decoder state: one per sequence. */
typedef struct {
  bool strip_space;    /* drop one leading space from the next piece with text (SPM) */
  bool render_special; /* control and unknown tokens as their text; default: nothing */
} ug_tok_decoder_t;

/* A decoder for a sequence as produced by encode: strip_space is set for SPM
 * with add_space_prefix (the prefix encode added), render_special is false.
 * To continue decoding after a prompt, keep using the prompt's decoder. */
void ug_tokenizer_decoder_init(const ug_tokenizer_t *t, ug_tok_decoder_t *d);
/* The bytes of one token: *out points into the tokenizer (valid until destroy),
 * possibly empty (BOS, control tokens, unused tokens); a byte token gives
 * its single byte, which may be part of a UTF-8 character completed by the
 * next tokens.  UG_TOK_ERR_INVALID for an id out of range. */
ug_tok_result_t ug_tokenizer_decode_token(const ug_tokenizer_t *t, ug_tok_decoder_t *d, int32_t id,
                                          ug_tok_str_t *out, ug_tok_error_t *err);
/* All pieces of ids[0..n) with a fresh decoder, in one malloc'd buffer with a
 * NUL after the last byte (*out_len excludes it). */
ug_tok_result_t ug_tokenizer_decode(const ug_tokenizer_t *t, const int32_t *ids, size_t n, char **out,
                                    size_t *out_len, ug_tok_error_t *err);

#ifndef UG_TOKENIZER_NO_GGUF
#include "frontend/gguf/gguf.h"
/* The tokenizer of an opened GGUF file: tokenizer.ggml.model ("llama" or
 * "gpt2"), .tokens, .scores, .token_type, .merges, .bos_token_id,
 * .eos_token_id, .unknown_token_id, .add_bos_token, .add_eos_token and
 * .add_space_prefix; absent keys take ug_tok_vocab_init's defaults.  The
 * file may be closed afterwards.  Errors have the file as origin. */
ug_status_t ug_tokenizer_from_gguf(const ug_gguf_t *f, ug_tokenizer_t **out);
#endif

#endif
