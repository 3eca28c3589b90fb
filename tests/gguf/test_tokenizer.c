/* The GGUF tokenizer (frontend/gguf/tokenizer.c).
 *
 * Small vocabularies are built here and every expected id sequence is
 * derived by hand from the algorithm's definition, written beside it:
 *  - SPM ("llama"): spaces -> U+2581 ("▁" below), a leading ▁, symbols are
 *    UTF-8 characters, repeatedly merge the adjacent pair whose concatenation
 *    is a token with the highest score (ties: leftmost); a symbol that is no
 *    token becomes its byte tokens <0xXX>.
 *  - GPT-2: pre-tokens by the GPT-2 regex, bytes in the GPT-2 alphabet
 *    (space = "Ġ" U+0120), repeatedly merge the adjacent pair with the lowest
 *    merge rank (ties: leftmost).
 * Then decode(encode(s)) == s round trips, including random bytes, the GGUF
 * constructor (through the test writer) and malformed vocabularies.
 * tests/gguf/check_tokenizer.py cross-checks against sentencepiece and
 * HuggingFace tokenizers when they are installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/gguf/tokenizer.h"
#include "tests/gguf/gguf_write.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SP "\xe2\x96\x81" /* ▁ U+2581 */

/* ---- helpers ---- */

typedef struct {
  const char *text;
  float score;
  int32_t type;
} entry_t;

/* A vocabulary in arrays that outlive the test (the tokenizer copies them). */
typedef struct {
  ug_tok_str_t tokens[400];
  float scores[400];
  int32_t types[400];
  char bytes[256][8];
  ug_tok_str_t merges[32];
  size_t n, n_merges;
} vocab_buf_t;

static void vb_add(vocab_buf_t *b, const char *text, size_t len, float score, int32_t type) {
  ck_assert_uint_lt(b->n, LEN(b->tokens));
  b->tokens[b->n] = (ug_tok_str_t){text, len};
  b->scores[b->n] = score;
  b->types[b->n] = type;
  b->n++;
}

static ug_tokenizer_t *make(const ug_tok_vocab_t *v) {
  ug_tokenizer_t *t = NULL;
  ug_tok_error_t err;
  ug_tok_result_t r = ug_tokenizer_create(v, &t, &err);
  ck_assert_msg(r == UG_TOK_OK, "create: %s", err.msg);
  ck_assert_ptr_nonnull(t);
  return t;
}

/* ---- SPM vocabulary V1 ----
 *   0 <unk> (unknown)   1 <s> (control)   2 </s> (control)
 *   3 + b: <0xBB> (byte) for every byte b, so '>' (0x3E) is 65, '\n' is 13,
 *          0xFF is 258, 0xF0 243, 0x9F 162, 0x98 155, 0x80 131
 * and the pieces below from id 259 on (score in parentheses). */
enum { S_SP = 259, S_A, S_B, S_C, S_AB, S_BC, S_SPA, S_SPAB, S_AA, S_E_ACUTE, S_SPSP, S_LT_S };
static const entry_t SPM_PIECES[] = {
    {SP, -1, 1},          /* 259 ▁ */
    {"a", -1, 1},         /* 260 */
    {"b", -1, 1},         /* 261 */
    {"c", -1, 1},         /* 262 */
    {"ab", -3, 1},        /* 263 */
    {"bc", -2, 1},        /* 264 */
    {SP "a", -4, 1},      /* 265 ▁a */
    {SP "ab", -2.5f, 1},  /* 266 ▁ab */
    {"aa", -3, 1},        /* 267 */
    {"\xc3\xa9", -1, 1},  /* 268 é */
    {SP SP, -5, 1},       /* 269 ▁▁ */
    {"<s", -0.5f, 1},     /* 270 */
};

static vocab_buf_t spm_buf;

static void spm_vocab(ug_tok_vocab_t *v) {
  vocab_buf_t *b = &spm_buf;
  memset(b, 0, sizeof *b);
  vb_add(b, "<unk>", 5, 0, UG_TOK_TYPE_UNKNOWN);
  vb_add(b, "<s>", 3, 0, UG_TOK_TYPE_CONTROL);
  vb_add(b, "</s>", 4, 0, UG_TOK_TYPE_CONTROL);
  for (int i = 0; i < 256; i++) {
    snprintf(b->bytes[i], sizeof b->bytes[i], "<0x%02X>", i);
    vb_add(b, b->bytes[i], 6, 0, UG_TOK_TYPE_BYTE);
  }
  for (size_t i = 0; i < LEN(SPM_PIECES); i++) {
    vb_add(b, SPM_PIECES[i].text, strlen(SPM_PIECES[i].text), SPM_PIECES[i].score, SPM_PIECES[i].type);
  }
  ug_tok_vocab_init(v, UG_TOK_MODEL_SPM);
  v->tokens = b->tokens;
  v->n_tokens = b->n;
  v->scores = b->scores;
  v->n_scores = b->n;
  v->types = b->types;
  v->n_types = b->n;
}

static void expect_ids(const ug_tokenizer_t *t, const char *text, size_t len, bool special, const int32_t *want,
                       size_t n_want) {
  int32_t *ids = NULL;
  size_t n = 99;
  ug_tok_error_t err;
  ug_tok_result_t r = ug_tokenizer_encode(t, text, len, special, &ids, &n, &err);
  ck_assert_msg(r == UG_TOK_OK, "encode: %s", err.msg);
  ck_assert_ptr_nonnull(ids);
  char got[512] = "", exp[512] = "";
  for (size_t i = 0; i < n && strlen(got) < 480; i++) snprintf(got + strlen(got), 32, " %d", ids[i]);
  for (size_t i = 0; i < n_want && strlen(exp) < 480; i++) snprintf(exp + strlen(exp), 32, " %d", want[i]);
  ck_assert_msg(n == n_want && memcmp(ids, want, n * sizeof *ids) == 0, "\"%.*s\": got [%s ] want [%s ]", (int)len,
                text, got, exp);
  free(ids);
}

#define EXPECT(t, text, special, ...)                                               \
  do {                                                                              \
    const int32_t want_[] = {__VA_ARGS__};                                          \
    expect_ids((t), (text), sizeof(text) - 1, (special), want_, LEN(want_));        \
  } while (0)

/* decode(encode(s)) == s. */
static void roundtrip(const ug_tokenizer_t *t, const char *s, size_t len) {
  int32_t *ids;
  size_t n;
  ug_tok_error_t err;
  ck_assert_msg(ug_tokenizer_encode(t, s, len, true, &ids, &n, &err) == UG_TOK_OK, "%s", err.msg);
  char *out;
  size_t out_len;
  ck_assert_msg(ug_tokenizer_decode(t, ids, n, &out, &out_len, &err) == UG_TOK_OK, "%s", err.msg);
  ck_assert_msg(out_len == len && memcmp(out, s, len) == 0, "round trip of \"%.*s\" gave \"%s\"", (int)len, s, out);
  ck_assert_int_eq(out[out_len], '\0');
  free(out);
  free(ids);
}

/* ---- SPM ---- */

START_TEST(test_spm_merges) {
  ug_tok_vocab_t v;
  spm_vocab(&v);
  ug_tokenizer_t *t = make(&v);
  /* "abc": ▁ a b c; candidates ▁a(-4) ab(-3) bc(-2): bc first -> ▁ a bc;
   * "abc" is no token; ab is stale; ▁a -> ▁a bc.  "▁ab" (-2.5, better than
   * all) is never formed because b went into bc first.  BOS in front. */
  EXPECT(t, "abc", true, 1, S_SPA, S_BC);
  /* "ab": ▁ a b; ab(-3) beats ▁a(-4) -> ▁ ab; then ▁ab(-2.5) -> ▁ab. */
  EXPECT(t, "ab", false, S_SPAB);
  /* Ties: "aaa" -> ▁ a a a; aa(-3) at (1,2) and (2,3) tie, the leftmost wins
   * -> ▁ aa a; "▁aa", "aaa" are no tokens; (2,3) is stale; ▁a(-4) is stale. */
  EXPECT(t, "aaa", false, S_SP, S_AA, S_A);
  /* Without the space prefix: a a a -> aa a. */
  v.add_space_prefix = false;
  ug_tokenizer_t *t2 = make(&v);
  EXPECT(t2, "aaa", false, S_AA, S_A);
  EXPECT(t2, "abc", false, S_A, S_BC);
  ug_tokenizer_destroy(t2);
  /* A two-byte character in the vocabulary: "é" -> ▁ é, no pair -> 259 268. */
  EXPECT(t, "\xc3\xa9", false, S_SP, S_E_ACUTE);
  ug_tokenizer_destroy(t);
}
END_TEST

START_TEST(test_spm_bytes_and_spaces) {
  ug_tok_vocab_t v;
  spm_vocab(&v);
  ug_tokenizer_t *t = make(&v);
  /* Byte fallback: "a😀" -> ▁ a 😀 -> ▁a 😀; U+1F600 (F0 9F 98 80) is no
   * token -> <0xF0> <0x9F> <0x98> <0x80> = 3 + byte. */
  EXPECT(t, "a\xf0\x9f\x98\x80", false, S_SPA, 243, 162, 155, 131);
  /* "a\nb": ▁ a \n b -> ▁a \n b; \n -> <0x0A> = 13. */
  EXPECT(t, "a\nb", false, S_SPA, 13, S_B);
  /* Malformed UTF-8: 0xFF is a symbol of its own -> ▁a <0xFF> b. */
  EXPECT(t, "a\xff" "b", false, S_SPA, 258, S_B);
  /* A truncated sequence: C3 alone before 'a' -> ▁ <0xC3> a; (▁, C3) and
   * (C3, a) form no token -> 259, 3+0xC3=198, 260. */
  EXPECT(t, "\xc3" "a", false, S_SP, 198, S_A);
  /* Spaces "  a  " -> ▁▁▁a▁▁ (six symbols).  ▁a(-4) at (2,3) first; then the
   * ▁▁(-5) ties: (0,1) merges, (1,2) is stale, (4,5) merges -> ▁▁ ▁a ▁▁. */
  EXPECT(t, "  a  ", false, S_SPSP, S_SPA, S_SPSP);
  /* A single space -> ▁▁ (prefix + space). */
  EXPECT(t, " ", false, S_SPSP);
  /* Control tokens are not produced from text: "<s>" -> ▁ < s >; "<s"(-0.5)
   * merges; "▁<s" is no token and "<s>" is the control token 1, not
   * available -> ▁ <s <0x3E>. */
  EXPECT(t, "<s>", false, S_SP, S_LT_S, 3 + '>');
  /* Empty text: BOS only (llama.cpp: no space prefix for empty text). */
  EXPECT(t, "", true, 1);
  int32_t *ids;
  size_t n = 7;
  ck_assert_int_eq(ug_tokenizer_encode(t, "", 0, false, &ids, &n, NULL), UG_TOK_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_nonnull(ids);
  free(ids);
  ug_tokenizer_destroy(t);
  /* EOS when add_eos_token; no BOS when add_bos_token is false. */
  v.add_eos = true;
  v.add_bos = false;
  t = make(&v);
  EXPECT(t, "ab", true, S_SPAB, 2);
  EXPECT(t, "", true, 2);
  ug_tokenizer_destroy(t);
}
END_TEST

START_TEST(test_spm_unknown) {
  /* No byte tokens: a character that is no token becomes <unk> (one per
   * character), or an error when there is no unknown token. */
  static const ug_tok_str_t toks[] = {{"<unk>", 5}, {"<s>", 3}, {"</s>", 4}, {SP, 3}, {"x", 1}};
  static const int32_t types[] = {2, 3, 3, 1, 1};
  ug_tok_vocab_t v;
  ug_tok_vocab_init(&v, UG_TOK_MODEL_SPM);
  v.tokens = toks;
  v.n_tokens = 5;
  v.types = types;
  v.n_types = 5;
  ug_tokenizer_t *t = make(&v);
  /* "xy\xc3\xa9": ▁ x y é -> no pair is a token -> ▁ x <unk> <unk>. */
  EXPECT(t, "xy\xc3\xa9", true, 1, 3, 4, 0, 0);
  ug_tokenizer_destroy(t);
  v.unk_id = -1;
  t = make(&v);
  int32_t *ids;
  size_t n;
  ug_tok_error_t err;
  ck_assert_int_eq(ug_tokenizer_encode(t, "xy", 2, true, &ids, &n, &err), UG_TOK_ERR_INVALID);
  ck_assert_ptr_null(ids);
  ck_assert_msg(strstr(err.msg, "no unknown token"), "%s", err.msg);
  ug_tokenizer_destroy(t);
}
END_TEST

START_TEST(test_spm_decode) {
  ug_tok_vocab_t v;
  spm_vocab(&v);
  ug_tokenizer_t *t = make(&v);
  /* Streaming: BOS gives nothing and keeps the pending strip; "▁a" -> " a"
   * -> "a" (the prefix encode added); the emoji comes one byte per token. */
  const int32_t ids[] = {1, S_SPA, 243, 162, 155, 131, S_SPAB, 2};
  const char *want[] = {"", "a", "\xf0", "\x9f", "\x98", "\x80", " ab", ""};
  ug_tok_decoder_t d;
  ug_tokenizer_decoder_init(t, &d);
  for (size_t i = 0; i < LEN(ids); i++) {
    ug_tok_str_t s;
    ck_assert_int_eq(ug_tokenizer_decode_token(t, &d, ids[i], &s, NULL), UG_TOK_OK);
    ck_assert_msg(s.len == strlen(want[i]) && memcmp(s.ptr, want[i], s.len) == 0, "token %zu", i);
  }
  /* Special tokens shown on request; ids out of range are errors. */
  d.render_special = true;
  ug_tok_str_t s;
  ck_assert_int_eq(ug_tokenizer_decode_token(t, &d, 1, &s, NULL), UG_TOK_OK);
  ck_assert(s.len == 3 && memcmp(s.ptr, "<s>", 3) == 0);
  ug_tok_error_t err;
  ck_assert_int_eq(ug_tokenizer_decode_token(t, &d, (int32_t)v.n_tokens, &s, &err), UG_TOK_ERR_INVALID);
  ck_assert_msg(strstr(err.msg, "out of range"), "%s", err.msg);
  ck_assert_int_eq(ug_tokenizer_decode_token(t, &d, -1, &s, NULL), UG_TOK_ERR_INVALID);
  char *out;
  size_t out_len;
  const int32_t bad[] = {1, 99999};
  ck_assert_int_eq(ug_tokenizer_decode(t, bad, 2, &out, &out_len, NULL), UG_TOK_ERR_INVALID);
  ck_assert_ptr_null(out);
  /* Round trips: leading, trailing and repeated spaces, newlines, bytes. */
  static const char *const texts[] = {"", "a", "abc", "  a  ", " ", "   ", "a b  c", "\n", "a\n\nb ",
                                      "\xc3\xa9t\xc3\xa9", "a\xf0\x9f\x98\x80", "<s>", "x\xff\xfe\xc3", "\t a"};
  for (size_t i = 0; i < LEN(texts); i++) roundtrip(t, texts[i], strlen(texts[i]));
  ug_tokenizer_destroy(t);
}
END_TEST

/* ---- GPT-2 vocabulary V2 ----
 * ids 0..255: the byte alphabet character of byte b is token b (so "a" is
 * 97, " " (Ġ) is 32, 0xC3 is 195); then the merges, rank = index:
 *   0 "h e" -> he 257      5 "he llo" -> hello 261
 *   1 "l l" -> ll 258      6 "a a" -> aa 262
 *   2 "Ġ t" -> Ġt 256      7 "' s" -> 's 263
 *   3 "Ġt he" -> Ġthe 259  8 "Ġ Ġ" -> ĠĠ 264
 *   4 "ll o" -> llo 260    9 "1 2" -> 12 265
 * 266 <|endoftext|> (control). */
enum { G_GT = 256, G_HE, G_LL, G_GTHE, G_LLO, G_HELLO, G_AA, G_APS, G_GG, G_12, G_EOT };
static const char *const GPT2_PIECES[] = {"\xc4\xa0t", "he", "ll", "\xc4\xa0the", "llo", "hello", "aa", "'s",
                                          "\xc4\xa0\xc4\xa0", "12", "<|endoftext|>"};
static const char *const GPT2_MERGES[] = {"h e", "l l", "\xc4\xa0 t", "\xc4\xa0t he", "ll o",
                                          "he llo", "a a", "' s", "\xc4\xa0 \xc4\xa0", "1 2"};

static vocab_buf_t gpt2_buf;

/* The GPT-2 byte alphabet, from its definition (independent of the library). */
static unsigned alphabet_cp(unsigned b) {
  unsigned k = 0;
  for (unsigned i = 0; i < 256; i++) {
    bool printable = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || i >= 174;
    if (i == b) return printable ? b : 256 + k;
    if (!printable) k++;
  }
  return 0;
}

static void gpt2_vocab(ug_tok_vocab_t *v) {
  vocab_buf_t *b = &gpt2_buf;
  memset(b, 0, sizeof *b);
  for (unsigned i = 0; i < 256; i++) {
    unsigned cp = alphabet_cp(i);
    size_t n = 0;
    if (cp < 0x80) {
      b->bytes[i][n++] = (char)cp;
    } else {
      b->bytes[i][n++] = (char)(0xC0 | cp >> 6);
      b->bytes[i][n++] = (char)(0x80 | (cp & 0x3F));
    }
    vb_add(b, b->bytes[i], n, 0, UG_TOK_TYPE_NORMAL);
  }
  for (size_t i = 0; i < LEN(GPT2_PIECES); i++) {
    vb_add(b, GPT2_PIECES[i], strlen(GPT2_PIECES[i]), 0, i + 1 == LEN(GPT2_PIECES) ? 3 : 1);
  }
  for (size_t i = 0; i < LEN(GPT2_MERGES); i++) b->merges[i] = (ug_tok_str_t){GPT2_MERGES[i], strlen(GPT2_MERGES[i])};
  ug_tok_vocab_init(v, UG_TOK_MODEL_GPT2);
  v->tokens = b->tokens;
  v->n_tokens = b->n;
  v->types = b->types;
  v->n_types = b->n;
  v->merges = b->merges;
  v->n_merges = LEN(GPT2_MERGES);
  v->bos_id = v->eos_id = G_EOT;
}

START_TEST(test_gpt2_merges) {
  ck_assert_uint_eq(alphabet_cp(' '), 0x120); /* Ġ */
  ug_tok_vocab_t v;
  gpt2_vocab(&v);
  ug_tokenizer_t *t = make(&v);
  /* "hello the" -> "hello", " the".  hello: he(r0) -> he l l o; ll(r1) ->
   * he ll o; llo(r4) -> he llo; hello(r5).  Ġthe: he(r0) -> Ġ t he;
   * Ġt(r2) -> Ġt he; Ġthe(r3). */
  EXPECT(t, "hello the", true, G_HELLO, G_GTHE);
  /* Ties: "aaa" -> aa(r6) at (0,1) and (1,2): leftmost -> aa a. */
  EXPECT(t, "aaa", false, G_AA, 'a');
  /* Contractions: "it's" -> "it" "'s"; 's is r7. */
  EXPECT(t, "it's", false, 'i', 't', G_APS);
  /* "x123" -> "x" "123"; 12(r9) -> 12 3. */
  EXPECT(t, "x123", false, 'x', G_12, '3');
  /* Letters beyond ASCII: "héllo" is one \p{L}+ pre-token: h C3 A9 l l o;
   * ll(r1), llo(r4); "hé" is no merge -> h C3 A9 llo. */
  EXPECT(t, "h\xc3\xa9llo", false, 'h', 0xC3, 0xA9, G_LLO);
  /* An emoji is [^\s\p{L}\p{N}]+ and no merge: its four bytes. */
  EXPECT(t, "a\xf0\x9f\x98\x80", false, 'a', 0xF0, 0x9F, 0x98, 0x80);
  /* The control token's text is ordinary text: "<|" "endoftext" "|>", no
   * merge applies (he is not adjacent: e n d o f t e x t has no "h e"). */
  EXPECT(t, "<|endoftext|>", false, '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>');
  ug_tokenizer_destroy(t);
  v.add_bos = v.add_eos = true;
  t = make(&v);
  EXPECT(t, "he", true, G_EOT, G_HE, G_EOT);
  EXPECT(t, "", true, G_EOT, G_EOT);
  ug_tokenizer_destroy(t);
}
END_TEST

START_TEST(test_gpt2_spaces) {
  ug_tok_vocab_t v;
  gpt2_vocab(&v);
  ug_tokenizer_t *t = make(&v);
  /* "a  b": at the first space " ?\p{L}+" fails (a space follows), the run
   * "  " is followed by "b", so \s+(?!\S) leaves its last space: "a" " " " b". */
  EXPECT(t, "a  b", false, 'a', ' ', ' ', 'b');
  /* Trailing "  " runs to the end: one pre-token, ĠĠ(r8). */
  EXPECT(t, "a  ", false, 'a', G_GG);
  /* Leading "  a": " " then " a". */
  EXPECT(t, "  a", false, ' ', ' ', 'a');
  /* "   the": "  " (the run minus its last space, ĠĠ) then " the" (Ġthe). */
  EXPECT(t, "   the", false, G_GG, G_GTHE);
  /* "a\n\nb": "\n\n" before "b" -> "\n" then a lone "\n" (\s+) -> "b". */
  EXPECT(t, "a\n\nb", false, 'a', '\n', '\n', 'b');
  /* U+3000 (ideographic space, E3 80 80) is \s: "a" " \u3000"? No: " ?" is
   * only U+0020, so " " and U+3000 form one whitespace run at the end. */
  EXPECT(t, "a \xe3\x80\x80", false, 'a', ' ', 0xE3, 0x80, 0x80);
  /* Punctuation run with an optional space: "a ?!" -> "a" " ?!". */
  EXPECT(t, "a ?!", false, 'a', ' ', '?', '!');
  ug_tokenizer_destroy(t);
}
END_TEST

START_TEST(test_gpt2_decode) {
  ug_tok_vocab_t v;
  gpt2_vocab(&v);
  ug_tokenizer_t *t = make(&v);
  /* The inverse byte map, one token at a time; no space is stripped. */
  const int32_t ids[] = {G_EOT, G_HELLO, G_GTHE, 0xF0, 0x9F, 0x98, 0x80, G_GG, 0, 0xAD};
  const char *want[] = {"", "hello", " the", "\xf0", "\x9f", "\x98", "\x80", "  ", "", "\xad"};
  const size_t want_len[] = {0, 5, 4, 1, 1, 1, 1, 2, 1, 1}; /* token 0 is the byte 0x00 */
  ug_tok_decoder_t d;
  ug_tokenizer_decoder_init(t, &d);
  for (size_t i = 0; i < LEN(ids); i++) {
    ug_tok_str_t s;
    ck_assert_int_eq(ug_tokenizer_decode_token(t, &d, ids[i], &s, NULL), UG_TOK_OK);
    ck_assert_msg(s.len == want_len[i] && memcmp(s.ptr, want[i], s.len) == 0, "token %zu", i);
  }
  static const char *const texts[] = {"", "hello the", " hello", "  a  b  ", "it's 12 o'clock\n",
                                      "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87", "\xff\xfe x\xc3", "\t\r\n \x01"};
  for (size_t i = 0; i < LEN(texts); i++) roundtrip(t, texts[i], strlen(texts[i]));
  ug_tokenizer_destroy(t);
}
END_TEST

/* Random bytes (biased towards spaces, letters and UTF-8 lead bytes) encode
 * and decode back to themselves in both models. */
START_TEST(test_random_roundtrip) {
  ug_tok_vocab_t vs, vg;
  spm_vocab(&vs);
  gpt2_vocab(&vg);
  ug_tokenizer_t *ts = make(&vs), *tg = make(&vg);
  static const char alphabet[] = " \n\tabch'1\xc3\xa9\xe2\x96\x81\xf0\x9f\x98\x80\xff";
  uint64_t x = 88172645463325252ull;
  char buf[200];
  for (int it = 0; it < 3000; it++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t n = (size_t)(x % sizeof buf);
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      buf[i] = (x >> 8) % 4 ? alphabet[x % (sizeof alphabet - 1)] : (char)(x >> 20);
    }
    roundtrip(tg, buf, n);
    /* SPM cannot tell a literal U+2581 from an encoded space (nor can
     * SentencePiece): skip texts containing one. */
    bool has_sp = false;
    for (size_t i = 0; i + 3 <= n; i++) has_sp = has_sp || memcmp(buf + i, SP, 3) == 0;
    if (!has_sp) roundtrip(ts, buf, n);
  }
  /* A longer text: merging stays O(n log n) (this would take minutes if it
   * were quadratic with a large constant). */
  size_t big = 1u << 20;
  char *text = malloc(big);
  for (size_t i = 0; i < big; i++) text[i] = "ab c"[i % 4];
  roundtrip(ts, text, big);
  roundtrip(tg, text, big);
  free(text);
  ug_tokenizer_destroy(ts);
  ug_tokenizer_destroy(tg);
}
END_TEST

/* ---- malformed vocabularies ---- */

static void create_fails(const ug_tok_vocab_t *v, const char *want) {
  ug_tokenizer_t *t = (ug_tokenizer_t *)1;
  ug_tok_error_t err;
  ug_tok_result_t r = ug_tokenizer_create(v, &t, &err);
  ck_assert_msg(r == UG_TOK_ERR_INVALID, "expected an error containing \"%s\"", want);
  ck_assert_ptr_null(t);
  ck_assert_msg(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
}

START_TEST(test_malformed_vocab) {
  ug_tok_vocab_t v;
  spm_vocab(&v);
  v.n_scores = v.n_tokens - 1;
  create_fails(&v, "270 scores for 271 tokens");
  spm_vocab(&v);
  v.n_types = 3;
  create_fails(&v, "3 token types for 271 tokens");
  spm_vocab(&v);
  v.bos_id = 271;
  create_fails(&v, "bos_token_id 271 is out of range (271 tokens)");
  spm_vocab(&v);
  v.eos_id = -7;
  create_fails(&v, "eos_token_id -7");
  spm_vocab(&v);
  v.bos_id = -1;
  create_fails(&v, "add_bos_token is set but there is no BOS token");
  spm_vocab(&v);
  v.n_tokens = 0;
  create_fails(&v, "empty");
  spm_vocab(&v);
  spm_buf.scores[5] = 0.0f / 0.0f;
  create_fails(&v, "token 5 has a score that is not finite");
  gpt2_vocab(&v);
  static const ug_tok_str_t bad_merge[] = {{"h e", 3}, {"he", 2}};
  v.merges = bad_merge;
  v.n_merges = 2;
  create_fails(&v, "merge 1 (\"he\") is not \"left right\"");
  /* Merges naming no token, control tokens or a result that is no token are
   * skipped; out-of-range token types read as undefined (decoded as text). */
  gpt2_vocab(&v);
  static const ug_tok_str_t odd_merges[] = {{"zz q", 4}, {"a b", 3}, {"<|endoftext|> a", 15}, {"h e", 3}};
  v.merges = odd_merges;
  v.n_merges = 4;
  gpt2_buf.types['a'] = 99;
  ug_tokenizer_t *t = make(&v);
  EXPECT(t, "abhe", false, 'a', 'b', G_HE);
  ck_assert_int_eq(ug_tokenizer_token_type(t, 'a'), UG_TOK_TYPE_UNDEFINED);
  ck_assert_int_eq(ug_tokenizer_token_type(t, -1), -1);
  roundtrip(t, "abhe", 4);
  ug_tokenizer_destroy(t);
  /* Duplicate texts: the later id wins (as llama.cpp's token_to_id). */
  static const ug_tok_str_t dup[] = {{"<unk>", 5}, {"x", 1}, {SP, 3}, {"x", 1}};
  ug_tok_vocab_init(&v, UG_TOK_MODEL_SPM);
  v.tokens = dup;
  v.n_tokens = 4;
  v.add_bos = false;
  v.bos_id = v.eos_id = -1;
  t = make(&v);
  EXPECT(t, "x", false, 2, 3);
  ug_tokenizer_destroy(t);
  /* Encoding refuses absurd lengths without reading the text. */
  spm_vocab(&v);
  t = make(&v);
  int32_t *ids;
  size_t n;
  ug_tok_error_t err;
  ck_assert_int_eq(ug_tokenizer_encode(t, "x", (size_t)1 << 40, false, &ids, &n, &err), UG_TOK_ERR_NOMEM);
  ck_assert_ptr_null(ids);
  ug_tokenizer_destroy(t);
}
END_TEST

/* ---- from a GGUF file ---- */

static ug_gguf_t *open_image(ug_gguf_writer_t *w, uint8_t **copy) {
  size_t n;
  const uint8_t *img = ug_gguf_writer_finish(w, &n);
  *copy = malloc(n);
  memcpy(*copy, img, n);
  ug_gguf_t *f = NULL;
  ug_status_t st = ug_gguf_open_buffer(*copy, n, "tok.gguf", &f);
  if (st) ug_status_print(st, stderr);
  ck_assert_ptr_null(st);
  return f;
}

/* The SPM vocabulary V1 as GGUF metadata; `skip` names a key left out. */
static ug_gguf_writer_t *spm_gguf(const char *skip, const char *model) {
  ug_tok_vocab_t v;
  spm_vocab(&v);
  ug_gguf_writer_t *w = ug_gguf_writer_create(0);
  ug_gguf_w_str(w, "general.architecture", "llama");
  ug_gguf_w_str(w, "tokenizer.ggml.model", model);
  const char *strs[400];
  for (size_t i = 0; i < v.n_tokens; i++) strs[i] = v.tokens[i].ptr; /* NUL-terminated in this vocabulary */
  if (strcmp(skip, "tokens")) ug_gguf_w_arr_str(w, "tokenizer.ggml.tokens", strs, v.n_tokens);
  if (strcmp(skip, "scores") && strcmp(skip, "short-scores")) ug_gguf_w_arr(w, "tokenizer.ggml.scores", UG_GGUF_F32, v.scores, v.n_tokens);
  if (!strcmp(skip, "short-scores")) ug_gguf_w_arr(w, "tokenizer.ggml.scores", UG_GGUF_F32, v.scores, 10);
  if (strcmp(skip, "types")) ug_gguf_w_arr(w, "tokenizer.ggml.token_type", UG_GGUF_I32, v.types, v.n_tokens);
  if (strcmp(skip, "bos")) ug_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", !strcmp(skip, "bad-bos") ? 5000 : 1);
  ug_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
  uint8_t yes = 1, no = 0;
  ug_gguf_w_scalar(w, "tokenizer.ggml.add_bos_token", UG_GGUF_BOOL, &yes);
  ug_gguf_w_scalar(w, "tokenizer.ggml.add_eos_token", UG_GGUF_BOOL, !strcmp(skip, "eos") ? &yes : &no);
  return w;
}

static void gguf_fails(ug_gguf_writer_t *w, const char *want) {
  uint8_t *copy;
  ug_gguf_t *f = open_image(w, &copy);
  ug_tokenizer_t *t = (ug_tokenizer_t *)1;
  ug_status_t st = ug_tokenizer_from_gguf(f, &t);
  ck_assert_msg(st != NULL, "expected an error containing \"%s\"", want);
  ck_assert_ptr_null(t);
  ck_assert_msg(strstr(ug_status_message(st), want), "message \"%s\" lacks \"%s\"", ug_status_message(st), want);
  ck_assert_str_eq(ug_status_origin(st), "tok.gguf");
  ug_status_free(st);
  ug_gguf_close(f);
  free(copy);
  ug_gguf_writer_destroy(w);
}

START_TEST(test_from_gguf) {
  ug_gguf_writer_t *w = spm_gguf("", "llama");
  uint8_t *copy;
  ug_gguf_t *f = open_image(w, &copy);
  ug_tokenizer_t *t = NULL;
  ug_status_t st = ug_tokenizer_from_gguf(f, &t);
  if (st) ug_status_print(st, stderr);
  ck_assert_ptr_null(st);
  /* The file may go away: the tokenizer owns copies. */
  ug_gguf_close(f);
  memset(copy, 0, 16);
  free(copy);
  ug_gguf_writer_destroy(w);
  ck_assert_int_eq(ug_tokenizer_model(t), UG_TOK_MODEL_SPM);
  ck_assert_uint_eq(ug_tokenizer_n_tokens(t), 271);
  ck_assert_int_eq(ug_tokenizer_bos(t), 1);
  ck_assert_int_eq(ug_tokenizer_eos(t), 2);
  ug_tok_str_t s = ug_tokenizer_token_text(t, S_SPA);
  ck_assert(s.len == 4 && memcmp(s.ptr, SP "a", 4) == 0);
  EXPECT(t, "abc", true, 1, S_SPA, S_BC); /* as test_spm_merges */
  roundtrip(t, "  a  b\xf0\x9f\x98\x80", 10);
  ug_tokenizer_destroy(t);

  /* The GPT-2 vocabulary V2 with its merges. */
  ug_tok_vocab_t v;
  gpt2_vocab(&v);
  w = ug_gguf_writer_create(0);
  ug_gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
  ug_gguf_w_str(w, "tokenizer.ggml.pre", "gpt2");
  const char *strs[400];
  char z[256][8];
  for (size_t i = 0; i < v.n_tokens; i++) { /* the byte tokens are not NUL-terminated in gpt2_buf */
    if (i < 256) {
      memcpy(z[i], v.tokens[i].ptr, v.tokens[i].len);
      z[i][v.tokens[i].len] = '\0';
    }
    strs[i] = i < 256 ? z[i] : v.tokens[i].ptr;
  }
  ug_gguf_w_arr_str(w, "tokenizer.ggml.tokens", strs, v.n_tokens);
  ug_gguf_w_arr(w, "tokenizer.ggml.token_type", UG_GGUF_I32, v.types, v.n_tokens);
  ug_gguf_w_arr_str(w, "tokenizer.ggml.merges", GPT2_MERGES, LEN(GPT2_MERGES));
  ug_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", G_EOT);
  f = open_image(w, &copy);
  ck_assert_ptr_null(ug_tokenizer_from_gguf(f, &t));
  EXPECT(t, "hello the", true, G_HELLO, G_GTHE); /* add_bos defaults to false for gpt2 */
  ug_tokenizer_destroy(t);
  ug_gguf_close(f);
  free(copy);
  ug_gguf_writer_destroy(w);

  /* Malformed tokenizer metadata. */
  gguf_fails(spm_gguf("", "bert"), "tokenizer model \"bert\" is not supported");
  gguf_fails(spm_gguf("tokens", "llama"), "missing key \"tokenizer.ggml.tokens\"");
  gguf_fails(spm_gguf("short-scores", "llama"), "tokenizer: 10 scores for 271 tokens");
  gguf_fails(spm_gguf("bad-bos", "llama"), "tokenizer: bos_token_id 5000 is out of range");
  w = ug_gguf_writer_create(0);
  gguf_fails(w, "missing key \"tokenizer.ggml.model\"");
  w = ug_gguf_writer_create(0);
  ug_gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
  const char *one[] = {"a"};
  ug_gguf_w_arr_str(w, "tokenizer.ggml.tokens", one, 1);
  gguf_fails(w, "without \"tokenizer.ggml.merges\"");
  w = ug_gguf_writer_create(0);
  ug_gguf_w_str(w, "tokenizer.ggml.model", "llama");
  const int32_t nums[] = {1, 2};
  ug_gguf_w_arr(w, "tokenizer.ggml.tokens", UG_GGUF_I32, nums, 2);
  gguf_fails(w, "is an array of i32, not of strings");
  w = ug_gguf_writer_create(0);
  ug_gguf_w_str(w, "tokenizer.ggml.model", "llama");
  ug_gguf_w_arr_str(w, "tokenizer.ggml.tokens", one, 1);
  ug_gguf_w_arr(w, "tokenizer.ggml.scores", UG_GGUF_I32, nums, 1);
  gguf_fails(w, "array of i32 read as f32");
}
END_TEST

Suite *tokenizer_suite(void) {
  Suite *s = suite_create("tokenizer");
  TCase *tc = tcase_create("spm");
  tcase_add_test(tc, test_spm_merges);
  tcase_add_test(tc, test_spm_bytes_and_spaces);
  tcase_add_test(tc, test_spm_unknown);
  tcase_add_test(tc, test_spm_decode);
  suite_add_tcase(s, tc);
  tc = tcase_create("gpt2");
  tcase_add_test(tc, test_gpt2_merges);
  tcase_add_test(tc, test_gpt2_spaces);
  tcase_add_test(tc, test_gpt2_decode);
  suite_add_tcase(s, tc);
  tc = tcase_create("robustness");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_random_roundtrip);
  tcase_add_test(tc, test_malformed_vocab);
  tcase_add_test(tc, test_from_gguf);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(tokenizer_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
