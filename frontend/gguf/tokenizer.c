/* The GGUF tokenizer: SentencePiece BPE with scores ("llama") and GPT-2
 * byte-level BPE ("gpt2"), encoding and streaming decoding.
 *
 * Both models merge a doubly linked list of symbols with a binary heap of
 * candidate pairs (llama.cpp's algorithm, written from its description):
 * every adjacent pair that forms a known piece is a candidate; the best one
 * is merged, stale candidates (one of whose symbols changed since) are
 * skipped when popped, and the merged symbol's two new pairs are pushed.
 * Each merge removes a symbol and pushes at most two candidates, so a text
 * of n symbols costs O(n log n) heap work plus one hash lookup of at most
 * max_len bytes per candidate: no recursion, no quadratic search.
 *
 * Every count and id from the vocabulary is validated in
 * ug_tokenizer_create(); encode accepts any bytes and decode any id in range. */
#include "frontend/gguf/tokenizer.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_LEN (1u << 20) /* bytes of one vocabulary entry */
#define MAX_TEXT_LEN (1u << 28)  /* bytes of text per encode: symbol indices fit int32 */

typedef struct {
  uint64_t text_off; /* in blob */
  uint64_t piece_off;
  uint32_t text_len;
  uint32_t piece_len;
  float score;
  uint8_t type;
  bool special; /* control or unknown: the piece is shown only with render_special */
} tok_t;

typedef struct {
  int32_t left, right, result, rank; /* left == -1: empty slot */
} pair_t;

struct ug_tokenizer {
  ug_tok_model_t model;
  int32_t n;
  tok_t *toks;
  char *blob;        /* token texts, then decoded pieces */
  int32_t *slots;    /* text -> id, open addressing, -1 empty */
  uint64_t mask;
  pair_t *pairs;     /* GPT-2: (left id, right id) -> rank, result */
  uint64_t pair_mask;
  uint32_t max_len;  /* longest text in the lookup table */
  int32_t byte_tok[256]; /* SPM: <0xXX>; GPT-2: the byte's alphabet character; -1 none */
  int32_t bos, eos, unk;
  bool add_bos, add_eos, add_space_prefix;
};

static ug_tok_result_t fail(ug_tok_error_t *err, ug_tok_result_t r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ug_tok_result_t fail(ug_tok_error_t *err, ug_tok_result_t r, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return r;
}

static ug_tok_result_t nomem(ug_tok_error_t *err) { return fail(err, UG_TOK_ERR_NOMEM, "out of memory in the tokenizer"); }

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s[0..n) (n > 0) and its code
 * point; a byte that starts no well-formed sequence is 1 byte, *cp = -1. */
static size_t utf8_next(const uint8_t *s, size_t n, int32_t *cp) {
  uint8_t c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
  else {
    *cp = -1;
    return 1;
  }
  if (len > n) {
    *cp = -1;
    return 1;
  }
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = -1;
      return 1;
    }
    v = v << 6 | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = -1;
    return 1;
  }
  *cp = (int32_t)v;
  return len;
}

static size_t utf8_put(uint32_t cp, uint8_t *out) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  out[0] = (uint8_t)(0xE0 | cp >> 12);
  out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
  out[2] = (uint8_t)(0x80 | (cp & 0x3F));
  return 3;
}

/* ---- code-point classes for the GPT-2 pre-tokenizer ---- */

enum { CP_O = 0, CP_L, CP_N, CP_S }; /* other, \p{L}, \p{N}, \s */

typedef struct {
  uint32_t lo, hi;
  uint8_t cls;
} cp_range_t;

/* \p{L} and \p{N} above ASCII, from Python's unicodedata; runs bridge
 * unassigned code points (see the generator). */
static const cp_range_t UNI_RANGES[] = {
/* 479 ranges, Unicode 14.0.0: tests/gguf/gen_unicode_ranges.py */
    {0x000AA, 0x000AA, CP_L}, {0x000B2, 0x000B3, CP_N}, {0x000B5, 0x000B5, CP_L}, {0x000B9, 0x000B9, CP_N},
    {0x000BA, 0x000BA, CP_L}, {0x000BC, 0x000BE, CP_N}, {0x000C0, 0x000D6, CP_L}, {0x000D8, 0x000F6, CP_L},
    {0x000F8, 0x002C1, CP_L}, {0x002C6, 0x002D1, CP_L}, {0x002E0, 0x002E4, CP_L}, {0x002EC, 0x002EC, CP_L},
    {0x002EE, 0x002EE, CP_L}, {0x00370, 0x00374, CP_L}, {0x00376, 0x0037D, CP_L}, {0x0037F, 0x0037F, CP_L},
    {0x00386, 0x00386, CP_L}, {0x00388, 0x003F5, CP_L}, {0x003F7, 0x00481, CP_L}, {0x0048A, 0x00559, CP_L},
    {0x00560, 0x00588, CP_L}, {0x005D0, 0x005F2, CP_L}, {0x00620, 0x0064A, CP_L}, {0x00660, 0x00669, CP_N},
    {0x0066E, 0x0066F, CP_L}, {0x00671, 0x006D3, CP_L}, {0x006D5, 0x006D5, CP_L}, {0x006E5, 0x006E6, CP_L},
    {0x006EE, 0x006EF, CP_L}, {0x006F0, 0x006F9, CP_N}, {0x006FA, 0x006FC, CP_L}, {0x006FF, 0x006FF, CP_L},
    {0x00710, 0x00710, CP_L}, {0x00712, 0x0072F, CP_L}, {0x0074D, 0x007A5, CP_L}, {0x007B1, 0x007B1, CP_L},
    {0x007C0, 0x007C9, CP_N}, {0x007CA, 0x007EA, CP_L}, {0x007F4, 0x007F5, CP_L}, {0x007FA, 0x007FA, CP_L},
    {0x00800, 0x00815, CP_L}, {0x0081A, 0x0081A, CP_L}, {0x00824, 0x00824, CP_L}, {0x00828, 0x00828, CP_L},
    {0x00840, 0x00858, CP_L}, {0x00860, 0x00887, CP_L}, {0x00889, 0x0088E, CP_L}, {0x008A0, 0x008C9, CP_L},
    {0x00904, 0x00939, CP_L}, {0x0093D, 0x0093D, CP_L}, {0x00950, 0x00950, CP_L}, {0x00958, 0x00961, CP_L},
    {0x00966, 0x0096F, CP_N}, {0x00971, 0x00980, CP_L}, {0x00985, 0x009B9, CP_L}, {0x009BD, 0x009BD, CP_L},
    {0x009CE, 0x009CE, CP_L}, {0x009DC, 0x009E1, CP_L}, {0x009E6, 0x009EF, CP_N}, {0x009F0, 0x009F1, CP_L},
    {0x009F4, 0x009F9, CP_N}, {0x009FC, 0x009FC, CP_L}, {0x00A05, 0x00A39, CP_L}, {0x00A59, 0x00A5E, CP_L},
    {0x00A66, 0x00A6F, CP_N}, {0x00A72, 0x00A74, CP_L}, {0x00A85, 0x00AB9, CP_L}, {0x00ABD, 0x00ABD, CP_L},
    {0x00AD0, 0x00AE1, CP_L}, {0x00AE6, 0x00AEF, CP_N}, {0x00AF9, 0x00AF9, CP_L}, {0x00B05, 0x00B39, CP_L},
    {0x00B3D, 0x00B3D, CP_L}, {0x00B5C, 0x00B61, CP_L}, {0x00B66, 0x00B6F, CP_N}, {0x00B71, 0x00B71, CP_L},
    {0x00B72, 0x00B77, CP_N}, {0x00B83, 0x00BB9, CP_L}, {0x00BD0, 0x00BD0, CP_L}, {0x00BE6, 0x00BF2, CP_N},
    {0x00C05, 0x00C39, CP_L}, {0x00C3D, 0x00C3D, CP_L}, {0x00C58, 0x00C61, CP_L}, {0x00C66, 0x00C6F, CP_N},
    {0x00C78, 0x00C7E, CP_N}, {0x00C80, 0x00C80, CP_L}, {0x00C85, 0x00CB9, CP_L}, {0x00CBD, 0x00CBD, CP_L},
    {0x00CDD, 0x00CE1, CP_L}, {0x00CE6, 0x00CEF, CP_N}, {0x00CF1, 0x00CF2, CP_L}, {0x00D04, 0x00D3A, CP_L},
    {0x00D3D, 0x00D3D, CP_L}, {0x00D4E, 0x00D4E, CP_L}, {0x00D54, 0x00D56, CP_L}, {0x00D58, 0x00D5E, CP_N},
    {0x00D5F, 0x00D61, CP_L}, {0x00D66, 0x00D78, CP_N}, {0x00D7A, 0x00D7F, CP_L}, {0x00D85, 0x00DC6, CP_L},
    {0x00DE6, 0x00DEF, CP_N}, {0x00E01, 0x00E30, CP_L}, {0x00E32, 0x00E33, CP_L}, {0x00E40, 0x00E46, CP_L},
    {0x00E50, 0x00E59, CP_N}, {0x00E81, 0x00EB0, CP_L}, {0x00EB2, 0x00EB3, CP_L}, {0x00EBD, 0x00EC6, CP_L},
    {0x00ED0, 0x00ED9, CP_N}, {0x00EDC, 0x00F00, CP_L}, {0x00F20, 0x00F33, CP_N}, {0x00F40, 0x00F6C, CP_L},
    {0x00F88, 0x00F8C, CP_L}, {0x01000, 0x0102A, CP_L}, {0x0103F, 0x0103F, CP_L}, {0x01040, 0x01049, CP_N},
    {0x01050, 0x01055, CP_L}, {0x0105A, 0x0105D, CP_L}, {0x01061, 0x01061, CP_L}, {0x01065, 0x01066, CP_L},
    {0x0106E, 0x01070, CP_L}, {0x01075, 0x01081, CP_L}, {0x0108E, 0x0108E, CP_L}, {0x01090, 0x01099, CP_N},
    {0x010A0, 0x010FA, CP_L}, {0x010FC, 0x0135A, CP_L}, {0x01369, 0x0137C, CP_N}, {0x01380, 0x0138F, CP_L},
    {0x013A0, 0x013FD, CP_L}, {0x01401, 0x0166C, CP_L}, {0x0166F, 0x0167F, CP_L}, {0x01681, 0x0169A, CP_L},
    {0x016A0, 0x016EA, CP_L}, {0x016EE, 0x016F0, CP_N}, {0x016F1, 0x01711, CP_L}, {0x0171F, 0x01731, CP_L},
    {0x01740, 0x01751, CP_L}, {0x01760, 0x01770, CP_L}, {0x01780, 0x017B3, CP_L}, {0x017D7, 0x017D7, CP_L},
    {0x017DC, 0x017DC, CP_L}, {0x017E0, 0x017F9, CP_N}, {0x01810, 0x01819, CP_N}, {0x01820, 0x01884, CP_L},
    {0x01887, 0x018A8, CP_L}, {0x018AA, 0x0191E, CP_L}, {0x01946, 0x0194F, CP_N}, {0x01950, 0x019C9, CP_L},
    {0x019D0, 0x019DA, CP_N}, {0x01A00, 0x01A16, CP_L}, {0x01A20, 0x01A54, CP_L}, {0x01A80, 0x01A99, CP_N},
    {0x01AA7, 0x01AA7, CP_L}, {0x01B05, 0x01B33, CP_L}, {0x01B45, 0x01B4C, CP_L}, {0x01B50, 0x01B59, CP_N},
    {0x01B83, 0x01BA0, CP_L}, {0x01BAE, 0x01BAF, CP_L}, {0x01BB0, 0x01BB9, CP_N}, {0x01BBA, 0x01BE5, CP_L},
    {0x01C00, 0x01C23, CP_L}, {0x01C40, 0x01C49, CP_N}, {0x01C4D, 0x01C4F, CP_L}, {0x01C50, 0x01C59, CP_N},
    {0x01C5A, 0x01C7D, CP_L}, {0x01C80, 0x01CBF, CP_L}, {0x01CE9, 0x01CEC, CP_L}, {0x01CEE, 0x01CF3, CP_L},
    {0x01CF5, 0x01CF6, CP_L}, {0x01CFA, 0x01DBF, CP_L}, {0x01E00, 0x01FBC, CP_L}, {0x01FBE, 0x01FBE, CP_L},
    {0x01FC2, 0x01FCC, CP_L}, {0x01FD0, 0x01FDB, CP_L}, {0x01FE0, 0x01FEC, CP_L}, {0x01FF2, 0x01FFC, CP_L},
    {0x02070, 0x02070, CP_N}, {0x02071, 0x02071, CP_L}, {0x02074, 0x02079, CP_N}, {0x0207F, 0x0207F, CP_L},
    {0x02080, 0x02089, CP_N}, {0x02090, 0x0209C, CP_L}, {0x02102, 0x02102, CP_L}, {0x02107, 0x02107, CP_L},
    {0x0210A, 0x02113, CP_L}, {0x02115, 0x02115, CP_L}, {0x02119, 0x0211D, CP_L}, {0x02124, 0x02124, CP_L},
    {0x02126, 0x02126, CP_L}, {0x02128, 0x02128, CP_L}, {0x0212A, 0x0212D, CP_L}, {0x0212F, 0x02139, CP_L},
    {0x0213C, 0x0213F, CP_L}, {0x02145, 0x02149, CP_L}, {0x0214E, 0x0214E, CP_L}, {0x02150, 0x02182, CP_N},
    {0x02183, 0x02184, CP_L}, {0x02185, 0x02189, CP_N}, {0x02460, 0x0249B, CP_N}, {0x024EA, 0x024FF, CP_N},
    {0x02776, 0x02793, CP_N}, {0x02C00, 0x02CE4, CP_L}, {0x02CEB, 0x02CEE, CP_L}, {0x02CF2, 0x02CF3, CP_L},
    {0x02CFD, 0x02CFD, CP_N}, {0x02D00, 0x02D6F, CP_L}, {0x02D80, 0x02DDE, CP_L}, {0x02E2F, 0x02E2F, CP_L},
    {0x03005, 0x03006, CP_L}, {0x03007, 0x03007, CP_N}, {0x03021, 0x03029, CP_N}, {0x03031, 0x03035, CP_L},
    {0x03038, 0x0303A, CP_N}, {0x0303B, 0x0303C, CP_L}, {0x03041, 0x03096, CP_L}, {0x0309D, 0x0309F, CP_L},
    {0x030A1, 0x030FA, CP_L}, {0x030FC, 0x0318E, CP_L}, {0x03192, 0x03195, CP_N}, {0x031A0, 0x031BF, CP_L},
    {0x031F0, 0x031FF, CP_L}, {0x03220, 0x03229, CP_N}, {0x03248, 0x0324F, CP_N}, {0x03251, 0x0325F, CP_N},
    {0x03280, 0x03289, CP_N}, {0x032B1, 0x032BF, CP_N}, {0x03400, 0x04DBF, CP_L}, {0x04E00, 0x0A48C, CP_L},
    {0x0A4D0, 0x0A4FD, CP_L}, {0x0A500, 0x0A60C, CP_L}, {0x0A610, 0x0A61F, CP_L}, {0x0A620, 0x0A629, CP_N},
    {0x0A62A, 0x0A66E, CP_L}, {0x0A67F, 0x0A69D, CP_L}, {0x0A6A0, 0x0A6E5, CP_L}, {0x0A6E6, 0x0A6EF, CP_N},
    {0x0A717, 0x0A71F, CP_L}, {0x0A722, 0x0A788, CP_L}, {0x0A78B, 0x0A801, CP_L}, {0x0A803, 0x0A805, CP_L},
    {0x0A807, 0x0A80A, CP_L}, {0x0A80C, 0x0A822, CP_L}, {0x0A830, 0x0A835, CP_N}, {0x0A840, 0x0A873, CP_L},
    {0x0A882, 0x0A8B3, CP_L}, {0x0A8D0, 0x0A8D9, CP_N}, {0x0A8F2, 0x0A8F7, CP_L}, {0x0A8FB, 0x0A8FB, CP_L},
    {0x0A8FD, 0x0A8FE, CP_L}, {0x0A900, 0x0A909, CP_N}, {0x0A90A, 0x0A925, CP_L}, {0x0A930, 0x0A946, CP_L},
    {0x0A960, 0x0A97C, CP_L}, {0x0A984, 0x0A9B2, CP_L}, {0x0A9CF, 0x0A9CF, CP_L}, {0x0A9D0, 0x0A9D9, CP_N},
    {0x0A9E0, 0x0A9E4, CP_L}, {0x0A9E6, 0x0A9EF, CP_L}, {0x0A9F0, 0x0A9F9, CP_N}, {0x0A9FA, 0x0AA28, CP_L},
    {0x0AA40, 0x0AA42, CP_L}, {0x0AA44, 0x0AA4B, CP_L}, {0x0AA50, 0x0AA59, CP_N}, {0x0AA60, 0x0AA76, CP_L},
    {0x0AA7A, 0x0AA7A, CP_L}, {0x0AA7E, 0x0AAAF, CP_L}, {0x0AAB1, 0x0AAB1, CP_L}, {0x0AAB5, 0x0AAB6, CP_L},
    {0x0AAB9, 0x0AABD, CP_L}, {0x0AAC0, 0x0AAC0, CP_L}, {0x0AAC2, 0x0AADD, CP_L}, {0x0AAE0, 0x0AAEA, CP_L},
    {0x0AAF2, 0x0AAF4, CP_L}, {0x0AB01, 0x0AB5A, CP_L}, {0x0AB5C, 0x0AB69, CP_L}, {0x0AB70, 0x0ABE2, CP_L},
    {0x0ABF0, 0x0ABF9, CP_N}, {0x0AC00, 0x0D7FB, CP_L}, {0x0F900, 0x0FB1D, CP_L}, {0x0FB1F, 0x0FB28, CP_L},
    {0x0FB2A, 0x0FBB1, CP_L}, {0x0FBD3, 0x0FD3D, CP_L}, {0x0FD50, 0x0FDC7, CP_L}, {0x0FDF0, 0x0FDFB, CP_L},
    {0x0FE70, 0x0FEFC, CP_L}, {0x0FF10, 0x0FF19, CP_N}, {0x0FF21, 0x0FF3A, CP_L}, {0x0FF41, 0x0FF5A, CP_L},
    {0x0FF66, 0x0FFDC, CP_L}, {0x10000, 0x100FA, CP_L}, {0x10107, 0x10133, CP_N}, {0x10140, 0x10178, CP_N},
    {0x1018A, 0x1018B, CP_N}, {0x10280, 0x102D0, CP_L}, {0x102E1, 0x102FB, CP_N}, {0x10300, 0x1031F, CP_L},
    {0x10320, 0x10323, CP_N}, {0x1032D, 0x10340, CP_L}, {0x10341, 0x10341, CP_N}, {0x10342, 0x10349, CP_L},
    {0x1034A, 0x1034A, CP_N}, {0x10350, 0x10375, CP_L}, {0x10380, 0x1039D, CP_L}, {0x103A0, 0x103CF, CP_L},
    {0x103D1, 0x103D5, CP_N}, {0x10400, 0x1049D, CP_L}, {0x104A0, 0x104A9, CP_N}, {0x104B0, 0x10563, CP_L},
    {0x10570, 0x10855, CP_L}, {0x10858, 0x1085F, CP_N}, {0x10860, 0x10876, CP_L}, {0x10879, 0x1087F, CP_N},
    {0x10880, 0x1089E, CP_L}, {0x108A7, 0x108AF, CP_N}, {0x108E0, 0x108F5, CP_L}, {0x108FB, 0x108FF, CP_N},
    {0x10900, 0x10915, CP_L}, {0x10916, 0x1091B, CP_N}, {0x10920, 0x10939, CP_L}, {0x10980, 0x109B7, CP_L},
    {0x109BC, 0x109BD, CP_N}, {0x109BE, 0x109BF, CP_L}, {0x109C0, 0x109FF, CP_N}, {0x10A00, 0x10A00, CP_L},
    {0x10A10, 0x10A35, CP_L}, {0x10A40, 0x10A48, CP_N}, {0x10A60, 0x10A7C, CP_L}, {0x10A7D, 0x10A7E, CP_N},
    {0x10A80, 0x10A9C, CP_L}, {0x10A9D, 0x10A9F, CP_N}, {0x10AC0, 0x10AC7, CP_L}, {0x10AC9, 0x10AE4, CP_L},
    {0x10AEB, 0x10AEF, CP_N}, {0x10B00, 0x10B35, CP_L}, {0x10B40, 0x10B55, CP_L}, {0x10B58, 0x10B5F, CP_N},
    {0x10B60, 0x10B72, CP_L}, {0x10B78, 0x10B7F, CP_N}, {0x10B80, 0x10B91, CP_L}, {0x10BA9, 0x10BAF, CP_N},
    {0x10C00, 0x10CF2, CP_L}, {0x10CFA, 0x10CFF, CP_N}, {0x10D00, 0x10D23, CP_L}, {0x10D30, 0x10E7E, CP_N},
    {0x10E80, 0x10EA9, CP_L}, {0x10EB0, 0x10F1C, CP_L}, {0x10F1D, 0x10F26, CP_N}, {0x10F27, 0x10F45, CP_L},
    {0x10F51, 0x10F54, CP_N}, {0x10F70, 0x10F81, CP_L}, {0x10FB0, 0x10FC4, CP_L}, {0x10FC5, 0x10FCB, CP_N},
    {0x10FE0, 0x10FF6, CP_L}, {0x11003, 0x11037, CP_L}, {0x11052, 0x1106F, CP_N}, {0x11071, 0x11072, CP_L},
    {0x11075, 0x11075, CP_L}, {0x11083, 0x110AF, CP_L}, {0x110D0, 0x110E8, CP_L}, {0x110F0, 0x110F9, CP_N},
    {0x11103, 0x11126, CP_L}, {0x11136, 0x1113F, CP_N}, {0x11144, 0x11144, CP_L}, {0x11147, 0x11172, CP_L},
    {0x11176, 0x11176, CP_L}, {0x11183, 0x111B2, CP_L}, {0x111C1, 0x111C4, CP_L}, {0x111D0, 0x111D9, CP_N},
    {0x111DA, 0x111DA, CP_L}, {0x111DC, 0x111DC, CP_L}, {0x111E1, 0x111F4, CP_N}, {0x11200, 0x1122B, CP_L},
    {0x11280, 0x112A8, CP_L}, {0x112B0, 0x112DE, CP_L}, {0x112F0, 0x112F9, CP_N}, {0x11305, 0x11339, CP_L},
    {0x1133D, 0x1133D, CP_L}, {0x11350, 0x11350, CP_L}, {0x1135D, 0x11361, CP_L}, {0x11400, 0x11434, CP_L},
    {0x11447, 0x1144A, CP_L}, {0x11450, 0x11459, CP_N}, {0x1145F, 0x114AF, CP_L}, {0x114C4, 0x114C5, CP_L},
    {0x114C7, 0x114C7, CP_L}, {0x114D0, 0x114D9, CP_N}, {0x11580, 0x115AE, CP_L}, {0x115D8, 0x115DB, CP_L},
    {0x11600, 0x1162F, CP_L}, {0x11644, 0x11644, CP_L}, {0x11650, 0x11659, CP_N}, {0x11680, 0x116AA, CP_L},
    {0x116B8, 0x116B8, CP_L}, {0x116C0, 0x116C9, CP_N}, {0x11700, 0x1171A, CP_L}, {0x11730, 0x1173B, CP_N},
    {0x11740, 0x1182B, CP_L}, {0x118A0, 0x118DF, CP_L}, {0x118E0, 0x118F2, CP_N}, {0x118FF, 0x1192F, CP_L},
    {0x1193F, 0x1193F, CP_L}, {0x11941, 0x11941, CP_L}, {0x11950, 0x11959, CP_N}, {0x119A0, 0x119D0, CP_L},
    {0x119E1, 0x119E1, CP_L}, {0x119E3, 0x119E3, CP_L}, {0x11A00, 0x11A00, CP_L}, {0x11A0B, 0x11A32, CP_L},
    {0x11A3A, 0x11A3A, CP_L}, {0x11A50, 0x11A50, CP_L}, {0x11A5C, 0x11A89, CP_L}, {0x11A9D, 0x11A9D, CP_L},
    {0x11AB0, 0x11C2E, CP_L}, {0x11C40, 0x11C40, CP_L}, {0x11C50, 0x11C6C, CP_N}, {0x11C72, 0x11C8F, CP_L},
    {0x11D00, 0x11D30, CP_L}, {0x11D46, 0x11D46, CP_L}, {0x11D50, 0x11D59, CP_N}, {0x11D60, 0x11D89, CP_L},
    {0x11D98, 0x11D98, CP_L}, {0x11DA0, 0x11DA9, CP_N}, {0x11EE0, 0x11EF2, CP_L}, {0x11FB0, 0x11FB0, CP_L},
    {0x11FC0, 0x11FD4, CP_N}, {0x12000, 0x12399, CP_L}, {0x12400, 0x1246E, CP_N}, {0x12480, 0x12FF0, CP_L},
    {0x13000, 0x1342E, CP_L}, {0x14400, 0x16A5E, CP_L}, {0x16A60, 0x16A69, CP_N}, {0x16A70, 0x16ABE, CP_L},
    {0x16AC0, 0x16AC9, CP_N}, {0x16AD0, 0x16AED, CP_L}, {0x16B00, 0x16B2F, CP_L}, {0x16B40, 0x16B43, CP_L},
    {0x16B50, 0x16B61, CP_N}, {0x16B63, 0x16E7F, CP_L}, {0x16E80, 0x16E96, CP_N}, {0x16F00, 0x16F4A, CP_L},
    {0x16F50, 0x16F50, CP_L}, {0x16F93, 0x16FE1, CP_L}, {0x16FE3, 0x16FE3, CP_L}, {0x17000, 0x1BC99, CP_L},
    {0x1D2E0, 0x1D2F3, CP_N}, {0x1D360, 0x1D378, CP_N}, {0x1D400, 0x1D6C0, CP_L}, {0x1D6C2, 0x1D6DA, CP_L},
    {0x1D6DC, 0x1D6FA, CP_L}, {0x1D6FC, 0x1D714, CP_L}, {0x1D716, 0x1D734, CP_L}, {0x1D736, 0x1D74E, CP_L},
    {0x1D750, 0x1D76E, CP_L}, {0x1D770, 0x1D788, CP_L}, {0x1D78A, 0x1D7A8, CP_L}, {0x1D7AA, 0x1D7C2, CP_L},
    {0x1D7C4, 0x1D7CB, CP_L}, {0x1D7CE, 0x1D7FF, CP_N}, {0x1DF00, 0x1DF1E, CP_L}, {0x1E100, 0x1E12C, CP_L},
    {0x1E137, 0x1E13D, CP_L}, {0x1E140, 0x1E149, CP_N}, {0x1E14E, 0x1E14E, CP_L}, {0x1E290, 0x1E2AD, CP_L},
    {0x1E2C0, 0x1E2EB, CP_L}, {0x1E2F0, 0x1E2F9, CP_N}, {0x1E7E0, 0x1E8C4, CP_L}, {0x1E8C7, 0x1E8CF, CP_N},
    {0x1E900, 0x1E943, CP_L}, {0x1E94B, 0x1E94B, CP_L}, {0x1E950, 0x1E959, CP_N}, {0x1EC71, 0x1ECAB, CP_N},
    {0x1ECAD, 0x1ECAF, CP_N}, {0x1ECB1, 0x1ED2D, CP_N}, {0x1ED2F, 0x1ED3D, CP_N}, {0x1EE00, 0x1EEBB, CP_L},
    {0x1F100, 0x1F10C, CP_N}, {0x1FBF0, 0x1FBF9, CP_N}, {0x20000, 0x3134A, CP_L},
};

/* Unicode White_Space (what \s matches in the regex engines of llama.cpp and
 * HuggingFace tokenizers). */
static bool is_space_cp(int32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int cp_class(int32_t c) {
  if (c < 0) return CP_O; /* a malformed byte */
  if (is_space_cp(c)) return CP_S;
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CP_L;
    if (c >= '0' && c <= '9') return CP_N;
    return CP_O;
  }
  size_t lo = 0, hi = sizeof UNI_RANGES / sizeof UNI_RANGES[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uint32_t)c > UNI_RANGES[mid].hi) lo = mid + 1;
    else if ((uint32_t)c < UNI_RANGES[mid].lo) hi = mid;
    else return UNI_RANGES[mid].cls;
  }
  return CP_O;
}

static int class_at(const uint8_t *s, size_t n, size_t p, size_t *clen) {
  int32_t cp;
  *clen = utf8_next(s + p, n - p, &cp);
  return cp_class(cp);
}

/* End of the GPT-2 pre-token that starts at p < n: the first alternative of
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * that matches at p, as a backtracking regex engine picks it. */
static size_t gpt2_word_end(const uint8_t *s, size_t n, size_t p) {
  size_t clen = 1;
  if (s[p] == '\'' && p + 1 < n) {
    uint8_t c = s[p + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return p + 2;
    if (p + 2 < n) {
      uint8_t d = s[p + 2];
      if ((c == 'r' && d == 'e') || (c == 'v' && d == 'e') || (c == 'l' && d == 'l')) return p + 3;
    }
  }
  size_t q = s[p] == ' ' ? p + 1 : p; /* " ?" */
  if (q < n) {
    int cls = class_at(s, n, q, &clen);
    if (cls != CP_S) { /* \p{L}+, \p{N}+ or [^\s\p{L}\p{N}]+ */
      size_t r = q + clen;
      while (r < n && class_at(s, n, r, &clen) == cls) r += clen;
      return r;
    }
  }
  /* A run of whitespace; before a non-space, its last character is left to
   * the next pre-token (\s+(?!\S)) unless the run is that one character. */
  size_t r = p, last = p;
  while (r < n && class_at(s, n, r, &clen) == CP_S) {
    last = r;
    r += clen;
  }
  if (r == p) return p + 1; /* not reached: every case above that falls through starts with \s */
  if (r == n || last == p) return r;
  return last;
}

/* The GPT-2 byte alphabet: printable Latin-1 bytes map to themselves, the
 * other 68 bytes to U+0100.. in byte order. */
static uint32_t gpt2_byte_cp(unsigned b) {
  if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
  uint32_t k = 0;
  for (unsigned i = 0; i < b; i++) {
    if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || i >= 174)) k++;
  }
  return 256 + k;
}

/* ---- lookup tables ---- */

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static const char *tok_text(const ug_tokenizer_t *t, int32_t id) { return t->blob + t->toks[id].text_off; }

/* The id whose text is p[0..n), or -1.  Control and unknown tokens are not in the table. */
static int32_t lookup(const ug_tokenizer_t *t, const char *p, size_t n) {
  for (uint64_t i = hash_bytes(p, n) & t->mask;; i = (i + 1) & t->mask) {
    int32_t id = t->slots[i];
    if (id < 0) return -1;
    if (t->toks[id].text_len == n && memcmp(tok_text(t, id), p, n) == 0) return id;
  }
}

/* Adds id under its text; a later id with the same text replaces the earlier
 * one (llama.cpp's token_to_id does the same). */
static void table_put(ug_tokenizer_t *t, int32_t id) {
  const char *p = tok_text(t, id);
  uint32_t n = t->toks[id].text_len;
  for (uint64_t i = hash_bytes(p, n) & t->mask;; i = (i + 1) & t->mask) {
    int32_t o = t->slots[i];
    if (o < 0 || (t->toks[o].text_len == n && memcmp(tok_text(t, o), p, n) == 0)) {
      t->slots[i] = id;
      return;
    }
  }
}

static uint64_t hash_pair(int32_t a, int32_t b) {
  uint64_t h = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

static const pair_t *pair_find(const ug_tokenizer_t *t, int32_t a, int32_t b) {
  for (uint64_t i = hash_pair(a, b) & t->pair_mask;; i = (i + 1) & t->pair_mask) {
    const pair_t *p = &t->pairs[i];
    if (p->left < 0) return NULL;
    if (p->left == a && p->right == b) return p;
  }
}

static uint64_t table_cap(uint64_t n) {
  uint64_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  return cap;
}

/* ---- creation ---- */

void ug_tok_vocab_init(ug_tok_vocab_t *v, ug_tok_model_t model) {
  memset(v, 0, sizeof *v);
  v->model = model;
  if (model == UG_TOK_MODEL_SPM) {
    v->bos_id = 1;
    v->eos_id = 2;
    v->unk_id = 0;
    v->add_bos = true;
    v->add_space_prefix = true;
  } else {
    v->bos_id = v->eos_id = v->unk_id = -1;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The byte of a "<0xXX>" text, or -1. */
static int byte_token_value(const char *p, size_t n) {
  if (n != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
  int hi = hexval(p[3]), lo = hexval(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Writes the decoded piece of token id at dst (at most text_len bytes); returns its length. */
static uint32_t make_piece(const ug_tokenizer_t *t, int32_t id, const int16_t *gpt2_inv, char *dst) {
  const tok_t *k = &t->toks[id];
  const char *p = tok_text(t, id);
  uint32_t n = k->text_len, o = 0;
  switch (k->type) {
    case UG_TOK_TYPE_UNUSED: return 0;
    case UG_TOK_TYPE_CONTROL:
    case UG_TOK_TYPE_UNKNOWN:
    case UG_TOK_TYPE_USER_DEFINED: memcpy(dst, p, n); return n;
    default: break;
  }
  if (t->model == UG_TOK_MODEL_SPM) {
    int b = k->type == UG_TOK_TYPE_BYTE ? byte_token_value(p, n) : -1;
    if (b >= 0) {
      dst[0] = (char)b;
      return 1;
    }
    for (uint32_t i = 0; i < n;) {
      if (n - i >= 3 && memcmp(p + i, "\xe2\x96\x81", 3) == 0) {
        dst[o++] = ' ';
        i += 3;
      } else {
        dst[o++] = p[i++];
      }
    }
    return o;
  }
  /* GPT-2: each alphabet character is one byte; anything else is copied. */
  for (uint32_t i = 0; i < n;) {
    int32_t cp;
    size_t l = utf8_next((const uint8_t *)p + i, n - i, &cp);
    if (cp >= 0 && cp < 512 && gpt2_inv[cp] >= 0) {
      dst[o++] = (char)gpt2_inv[cp];
    } else {
      memcpy(dst + o, p + i, l);
      o += (uint32_t)l;
    }
    i += (uint32_t)l;
  }
  return o;
}

static ug_tok_result_t check_special(const ug_tok_vocab_t *v, const char *what, int64_t id, ug_tok_error_t *err) {
  if (id < -1 || id >= (int64_t)v->n_tokens) {
    return fail(err, UG_TOK_ERR_INVALID, "%s %" PRId64 " is out of range (%zu tokens)", what, id, v->n_tokens);
  }
  return UG_TOK_OK;
}

static ug_tok_result_t validate(const ug_tok_vocab_t *v, ug_tok_error_t *err) {
  if (v->model != UG_TOK_MODEL_SPM && v->model != UG_TOK_MODEL_GPT2) {
    return fail(err, UG_TOK_ERR_INVALID, "unknown tokenizer model %d", (int)v->model);
  }
  if (v->n_tokens == 0 || !v->tokens) return fail(err, UG_TOK_ERR_INVALID, "the vocabulary is empty");
  if (v->n_tokens > INT32_MAX) {
    return fail(err, UG_TOK_ERR_INVALID, "%zu tokens (at most %d)", v->n_tokens, INT32_MAX);
  }
  if (v->scores && v->n_scores < v->n_tokens) {
    return fail(err, UG_TOK_ERR_INVALID, "%zu scores for %zu tokens", v->n_scores, v->n_tokens);
  }
  if (v->types && v->n_types < v->n_tokens) {
    return fail(err, UG_TOK_ERR_INVALID, "%zu token types for %zu tokens", v->n_types, v->n_tokens);
  }
  if (v->n_merges && !v->merges) return fail(err, UG_TOK_ERR_INVALID, "%zu merges but no array", v->n_merges);
  if (v->n_merges > INT32_MAX) return fail(err, UG_TOK_ERR_INVALID, "%zu merges (at most %d)", v->n_merges, INT32_MAX);
  for (size_t i = 0; i < v->n_tokens; i++) {
    if (v->tokens[i].len > MAX_TOKEN_LEN || (v->tokens[i].len && !v->tokens[i].ptr)) {
      return fail(err, UG_TOK_ERR_INVALID, "token %zu is %zu bytes long (limit %u)", i, v->tokens[i].len,
                  MAX_TOKEN_LEN);
    }
    if (v->scores && !isfinite(v->scores[i])) {
      return fail(err, UG_TOK_ERR_INVALID, "token %zu has a score that is not finite", i);
    }
  }
  if (check_special(v, "bos_token_id", v->bos_id, err) || check_special(v, "eos_token_id", v->eos_id, err) ||
      check_special(v, "unknown_token_id", v->unk_id, err)) {
    return UG_TOK_ERR_INVALID;
  }
  if (v->add_bos && v->bos_id < 0) return fail(err, UG_TOK_ERR_INVALID, "add_bos_token is set but there is no BOS token");
  if (v->add_eos && v->eos_id < 0) return fail(err, UG_TOK_ERR_INVALID, "add_eos_token is set but there is no EOS token");
  return UG_TOK_OK;
}

/* Reads the merges into the pair table: merge i is "left right" (split at
 * the first space after the first byte, like llama.cpp), rank i.  A merge
 * whose parts or result are not (encodable) tokens can never apply and is
 * skipped; a repeated pair keeps its first rank. */
static ug_tok_result_t build_pairs(ug_tokenizer_t *t, const ug_tok_vocab_t *v, ug_tok_error_t *err) {
  t->pair_mask = table_cap(v->n_merges) - 1;
  t->pairs = malloc((t->pair_mask + 1) * sizeof *t->pairs);
  char *buf = malloc(t->max_len + 1);
  if (!t->pairs || !buf) {
    free(buf);
    return nomem(err);
  }
  for (uint64_t i = 0; i <= t->pair_mask; i++) t->pairs[i].left = -1;
  for (size_t m = 0; m < v->n_merges; m++) {
    const char *p = v->merges[m].ptr;
    size_t n = v->merges[m].len;
    const char *sp = n > 1 && p ? memchr(p + 1, ' ', n - 1) : NULL;
    if (!sp) {
      free(buf);
      return fail(err, UG_TOK_ERR_INVALID, "merge %zu (\"%.*s\") is not \"left right\"", m, (int)(n < 64 ? n : 64),
                  p ? p : "");
    }
    size_t ln = (size_t)(sp - p), rn = n - ln - 1;
    if (ln + rn > t->max_len) continue;
    int32_t a = lookup(t, p, ln), b = lookup(t, sp + 1, rn);
    memcpy(buf, p, ln);
    memcpy(buf + ln, sp + 1, rn);
    int32_t r = lookup(t, buf, ln + rn);
    if (a < 0 || b < 0 || r < 0) continue;
    uint64_t s = hash_pair(a, b) & t->pair_mask;
    while (t->pairs[s].left >= 0 && !(t->pairs[s].left == a && t->pairs[s].right == b)) s = (s + 1) & t->pair_mask;
    if (t->pairs[s].left < 0) t->pairs[s] = (pair_t){a, b, r, (int32_t)m};
  }
  free(buf);
  return UG_TOK_OK;
}

ug_tok_result_t ug_tokenizer_create(const ug_tok_vocab_t *v, ug_tokenizer_t **out, ug_tok_error_t *err) {
  *out = NULL;
  ug_tok_result_t r = validate(v, err);
  if (r) return r;
  uint64_t total = 0;
  for (size_t i = 0; i < v->n_tokens; i++) total += v->tokens[i].len; /* <= 2^31 * 2^20: no overflow */
  if (total > SIZE_MAX / 2 - 1) return nomem(err);

  ug_tokenizer_t *t = calloc(1, sizeof *t);
  if (!t) return nomem(err);
  t->model = v->model;
  t->n = (int32_t)v->n_tokens;
  t->bos = (int32_t)v->bos_id;
  t->eos = (int32_t)v->eos_id;
  t->unk = (int32_t)v->unk_id;
  t->add_bos = v->add_bos;
  t->add_eos = v->add_eos;
  t->add_space_prefix = v->model == UG_TOK_MODEL_SPM && v->add_space_prefix;
  t->mask = table_cap(v->n_tokens) - 1;
  t->toks = calloc(v->n_tokens, sizeof *t->toks);
  t->blob = malloc((size_t)total * 2 + 1);
  t->slots = malloc((t->mask + 1) * sizeof *t->slots);
  if (!t->toks || !t->blob || !t->slots) {
    ug_tokenizer_destroy(t);
    return nomem(err);
  }
  memset(t->slots, 0xFF, (t->mask + 1) * sizeof *t->slots);
  uint64_t off = 0;
  for (int32_t i = 0; i < t->n; i++) {
    tok_t *k = &t->toks[i];
    k->text_off = off;
    k->text_len = (uint32_t)v->tokens[i].len;
    if (k->text_len) memcpy(t->blob + off, v->tokens[i].ptr, k->text_len);
    off += k->text_len;
    k->score = v->scores ? v->scores[i] : 0.0f;
    int32_t ty = v->types ? v->types[i] : UG_TOK_TYPE_NORMAL;
    k->type = (uint8_t)(ty >= 0 && ty <= UG_TOK_TYPE_BYTE ? ty : UG_TOK_TYPE_UNDEFINED);
    k->special = k->type == UG_TOK_TYPE_CONTROL || k->type == UG_TOK_TYPE_UNKNOWN;
    if (!k->special && k->text_len) {
      table_put(t, i);
      if (k->text_len > t->max_len) t->max_len = k->text_len;
    }
  }

  int16_t inv[512];
  for (int i = 0; i < 512; i++) inv[i] = -1;
  for (unsigned b = 0; b < 256; b++) {
    if (t->model == UG_TOK_MODEL_SPM) {
      char name[8];
      snprintf(name, sizeof name, "<0x%02X>", b);
      t->byte_tok[b] = lookup(t, name, 6);
    } else {
      uint8_t u[4];
      uint32_t cp = gpt2_byte_cp(b);
      inv[cp] = (int16_t)b;
      t->byte_tok[b] = lookup(t, (const char *)u, utf8_put(cp, u));
    }
  }
  for (int32_t i = 0; i < t->n; i++) {
    tok_t *k = &t->toks[i];
    k->piece_off = off;
    k->piece_len = make_piece(t, i, inv, t->blob + off);
    off += k->piece_len;
  }
  if (t->model == UG_TOK_MODEL_GPT2) {
    r = build_pairs(t, v, err);
    if (r) {
      ug_tokenizer_destroy(t);
      return r;
    }
  }
  *out = t;
  return UG_TOK_OK;
}

void ug_tokenizer_destroy(ug_tokenizer_t *t) {
  if (!t) return;
  free(t->toks);
  free(t->blob);
  free(t->slots);
  free(t->pairs);
  free(t);
}

ug_tok_model_t ug_tokenizer_model(const ug_tokenizer_t *t) { return t->model; }
size_t ug_tokenizer_n_tokens(const ug_tokenizer_t *t) { return (size_t)t->n; }
int32_t ug_tokenizer_bos(const ug_tokenizer_t *t) { return t->bos; }
int32_t ug_tokenizer_eos(const ug_tokenizer_t *t) { return t->eos; }

int ug_tokenizer_token_type(const ug_tokenizer_t *t, int32_t id) {
  return id >= 0 && id < t->n ? t->toks[id].type : -1;
}

ug_tok_str_t ug_tokenizer_token_text(const ug_tokenizer_t *t, int32_t id) {
  if (id < 0 || id >= t->n) return (ug_tok_str_t){NULL, 0};
  return (ug_tok_str_t){tok_text(t, id), t->toks[id].text_len};
}

/* ---- encoding ---- */

typedef struct {
  uint32_t start, len; /* bytes of the text; len 0: merged away */
  int32_t prev, next, id;
} sym_t;

typedef struct {
  double key; /* larger first: the SPM score, or minus the GPT-2 rank */
  int32_t left, right, id;
  uint32_t size;
} cand_t;

typedef struct {
  const ug_tokenizer_t *t;
  const uint8_t *text;
  sym_t *syms;
  cand_t *heap;
  size_t n_heap, cap_heap;
  int32_t *ids;
  size_t n_ids, cap_ids;
} enc_t;

static bool cand_before(const cand_t *a, const cand_t *b) {
  return a->key > b->key || (a->key == b->key && a->left < b->left);
}

static bool heap_push(enc_t *e, cand_t c) {
  if (e->n_heap == e->cap_heap) {
    size_t cap = e->cap_heap ? 2 * e->cap_heap : 64;
    cand_t *h = realloc(e->heap, cap * sizeof *h);
    if (!h) return false;
    e->heap = h;
    e->cap_heap = cap;
  }
  size_t i = e->n_heap++;
  while (i > 0 && cand_before(&c, &e->heap[(i - 1) / 2])) {
    e->heap[i] = e->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  e->heap[i] = c;
  return true;
}

static cand_t heap_pop(enc_t *e) {
  cand_t top = e->heap[0], last = e->heap[--e->n_heap];
  size_t i = 0, n = e->n_heap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && cand_before(&e->heap[c + 1], &e->heap[c])) c++;
    if (!cand_before(&e->heap[c], &last)) break;
    e->heap[i] = e->heap[c];
    i = c;
  }
  if (n) e->heap[i] = last;
  return top;
}

static bool emit(enc_t *e, int32_t id) {
  if (e->n_ids == e->cap_ids) {
    size_t cap = e->cap_ids ? 2 * e->cap_ids : 64;
    int32_t *a = realloc(e->ids, cap * sizeof *a);
    if (!a) return false;
    e->ids = a;
    e->cap_ids = cap;
  }
  e->ids[e->n_ids++] = id;
  return true;
}

/* Pushes the pair (l, r) of adjacent symbols when it forms a piece. */
static bool try_pair(enc_t *e, int32_t l, int32_t r) {
  if (l < 0 || r < 0) return true;
  const ug_tokenizer_t *t = e->t;
  const sym_t *a = &e->syms[l], *b = &e->syms[r];
  cand_t c = {0, l, r, -1, a->len + b->len};
  if (t->model == UG_TOK_MODEL_SPM) {
    if (c.size > t->max_len) return true;
    c.id = lookup(t, (const char *)e->text + a->start, c.size);
    if (c.id < 0) return true;
    c.key = t->toks[c.id].score;
  } else {
    if (a->id < 0 || b->id < 0) return true;
    const pair_t *p = pair_find(t, a->id, b->id);
    if (!p) return true;
    c.id = p->result;
    c.key = -(double)p->rank;
  }
  return heap_push(e, c);
}

/* Merges the symbols [first, first + n) (linked in order) until no candidate is left. */
static bool merge_all(enc_t *e, int32_t first, int32_t n) {
  e->n_heap = 0;
  for (int32_t i = first; i + 1 < first + n; i++) {
    if (!try_pair(e, i, i + 1)) return false;
  }
  while (e->n_heap) {
    cand_t c = heap_pop(e);
    sym_t *a = &e->syms[c.left], *b = &e->syms[c.right];
    if (!a->len || !b->len || a->next != c.right || a->len + b->len != c.size) continue; /* stale */
    a->len += b->len;
    a->id = c.id;
    b->len = 0;
    a->next = b->next;
    if (b->next >= 0) e->syms[b->next].prev = c.left;
    if (!try_pair(e, a->prev, c.left) || !try_pair(e, c.left, a->next)) return false;
  }
  return true;
}

/* Emits the ids of the merged symbols [first, ...): a symbol that is no
 * token becomes its byte tokens (SPM), or the unknown token. */
static ug_tok_result_t emit_syms(enc_t *e, int32_t first, ug_tok_error_t *err) {
  const ug_tokenizer_t *t = e->t;
  for (int32_t i = first; i >= 0; i = e->syms[i].next) {
    const sym_t *s = &e->syms[i];
    if (s->id >= 0) {
      if (!emit(e, s->id)) return nomem(err);
      continue;
    }
    bool bytes = true;
    for (uint32_t k = 0; k < s->len; k++) bytes = bytes && t->byte_tok[e->text[s->start + k]] >= 0;
    if (bytes) {
      for (uint32_t k = 0; k < s->len; k++) {
        if (!emit(e, t->byte_tok[e->text[s->start + k]])) return nomem(err);
      }
    } else if (t->unk >= 0) {
      if (!emit(e, t->unk)) return nomem(err);
    } else {
      return fail(err, UG_TOK_ERR_INVALID,
                  "the text at byte %u (0x%02X) has no token, no byte token and there is no unknown token",
                  s->start, e->text[s->start]);
    }
  }
  return UG_TOK_OK;
}

/* SPM: " " -> U+2581, a leading U+2581 with add_space_prefix, then one symbol
 * per UTF-8 character (a malformed byte is a symbol of its own) merged over
 * the whole text. */
static ug_tok_result_t encode_spm(enc_t *e, const uint8_t *text, size_t len, ug_tok_error_t *err) {
  const ug_tokenizer_t *t = e->t;
  uint8_t *norm = malloc(3 * len + 3);
  if (!norm) return nomem(err);
  size_t n = 0;
  if (t->add_space_prefix) {
    memcpy(norm, "\xe2\x96\x81", 3);
    n = 3;
  }
  for (size_t i = 0; i < len; i++) {
    if (text[i] == ' ') {
      memcpy(norm + n, "\xe2\x96\x81", 3);
      n += 3;
    } else {
      norm[n++] = text[i];
    }
  }
  e->text = norm;
  e->syms = malloc(n * sizeof *e->syms);
  if (!e->syms) {
    free(norm);
    return nomem(err);
  }
  int32_t ns = 0;
  for (size_t p = 0; p < n;) {
    int32_t cp;
    size_t l = utf8_next(norm + p, n - p, &cp);
    e->syms[ns] = (sym_t){(uint32_t)p, (uint32_t)l, ns - 1, ns + 1, lookup(t, (const char *)norm + p, l)};
    ns++;
    p += l;
  }
  e->syms[ns - 1].next = -1;
  ug_tok_result_t r = merge_all(e, 0, ns) ? emit_syms(e, 0, err) : nomem(err);
  free(norm);
  return r;
}

/* GPT-2: pre-tokens by the regex, each merged separately from its bytes. */
static ug_tok_result_t encode_gpt2(enc_t *e, const uint8_t *text, size_t len, ug_tok_error_t *err) {
  const ug_tokenizer_t *t = e->t;
  e->text = text;
  e->syms = malloc(len * sizeof *e->syms);
  if (!e->syms) return nomem(err);
  for (size_t p = 0; p < len;) {
    size_t end = gpt2_word_end(text, len, p);
    int32_t first = (int32_t)p, n = (int32_t)(end - p);
    for (int32_t i = first; i < first + n; i++) {
      e->syms[i] = (sym_t){(uint32_t)i, 1, i == first ? -1 : i - 1, i + 1 < first + n ? i + 1 : -1,
                           t->byte_tok[text[i]]};
    }
    if (!merge_all(e, first, n)) return nomem(err);
    ug_tok_result_t r = emit_syms(e, first, err);
    if (r) return r;
    p = end;
  }
  return UG_TOK_OK;
}

ug_tok_result_t ug_tokenizer_encode(const ug_tokenizer_t *t, const char *text, size_t len, bool add_special,
                                    int32_t **out_ids, size_t *out_n, ug_tok_error_t *err) {
  *out_ids = NULL;
  *out_n = 0;
  if (len > MAX_TEXT_LEN) {
    return fail(err, UG_TOK_ERR_NOMEM, "text of %zu bytes is too long to encode (limit %u)", len, MAX_TEXT_LEN);
  }
  if (len && !text) return fail(err, UG_TOK_ERR_INVALID, "no text");
  enc_t e = {.t = t};
  ug_tok_result_t r = UG_TOK_OK;
  if (add_special && t->add_bos && !emit(&e, t->bos)) r = nomem(err);
  if (!r && len) {
    r = t->model == UG_TOK_MODEL_SPM ? encode_spm(&e, (const uint8_t *)text, len, err)
                                     : encode_gpt2(&e, (const uint8_t *)text, len, err);
  }
  if (!r && add_special && t->add_eos && !emit(&e, t->eos)) r = nomem(err);
  if (!r && !e.ids && !(e.ids = malloc(sizeof *e.ids))) r = nomem(err); /* non-NULL even when empty */
  free(e.syms);
  free(e.heap);
  if (r) {
    free(e.ids);
    return r;
  }
  *out_ids = e.ids;
  *out_n = e.n_ids;
  return UG_TOK_OK;
}

/* ---- decoding ---- */

void ug_tokenizer_decoder_init(const ug_tokenizer_t *t, ug_tok_decoder_t *d) {
  d->strip_space = t->add_space_prefix;
  d->render_special = false;
}

ug_tok_result_t ug_tokenizer_decode_token(const ug_tokenizer_t *t, ug_tok_decoder_t *d, int32_t id,
                                          ug_tok_str_t *out, ug_tok_error_t *err) {
  *out = (ug_tok_str_t){"", 0};
  if (id < 0 || id >= t->n) {
    return fail(err, UG_TOK_ERR_INVALID, "token id %" PRId32 " is out of range (%" PRId32 " tokens)", id, t->n);
  }
  const tok_t *k = &t->toks[id];
  if (k->special && !d->render_special) return UG_TOK_OK;
  const char *p = t->blob + k->piece_off;
  size_t n = k->piece_len;
  if (n && d->strip_space) {
    d->strip_space = false;
    if (p[0] == ' ') p++, n--;
  }
  *out = (ug_tok_str_t){p, n};
  return UG_TOK_OK;
}

ug_tok_result_t ug_tokenizer_decode(const ug_tokenizer_t *t, const int32_t *ids, size_t n, char **out,
                                    size_t *out_len, ug_tok_error_t *err) {
  *out = NULL;
  *out_len = 0;
  ug_tok_decoder_t d;
  ug_tokenizer_decoder_init(t, &d);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->n) {
      return fail(err, UG_TOK_ERR_INVALID, "token %zu: id %" PRId32 " is out of range (%" PRId32 " tokens)", i, ids[i],
                  t->n);
    }
    total += t->toks[ids[i]].piece_len; /* pieces <= 2^20 bytes: no overflow for any n that fits in memory */
  }
  char *buf = malloc(total + 1);
  if (!buf) return nomem(err);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    ug_tok_str_t s;
    ug_tokenizer_decode_token(t, &d, ids[i], &s, NULL);
    memcpy(buf + o, s.ptr, s.len);
    o += s.len;
  }
  buf[o] = '\0';
  *out = buf;
  *out_len = o;
  return UG_TOK_OK;
}

/* ---- from a GGUF file ---- */

#ifndef UG_TOKENIZER_NO_GGUF

static ug_status_t opt_bool(const ug_gguf_t *f, const char *key, bool *v) {
  return ug_gguf_find_key(f, key) < 0 ? NULL : ug_gguf_get_bool(f, key, v);
}

static ug_status_t opt_id(const ug_gguf_t *f, const char *key, int64_t *v) {
  return ug_gguf_find_key(f, key) < 0 ? NULL : ug_gguf_get_int(f, key, v);
}

/* The strings of a string array, as ug_tok_str_t (malloc'd). */
static ug_status_t read_strs(const ug_gguf_t *f, const char *key, ug_tok_str_t **out, size_t *n) {
  ug_gguf_array_t a;
  UG_RETURN_IF_ERROR(ug_gguf_get_array(f, key, &a));
  if (a.elem_type != UG_GGUF_STRING) {
    return ug_status_make(UG_ERR_INVALID, ug_gguf_origin(f), "key \"%s\" is an array of %s, not of strings", key,
                          ug_gguf_vtype_name(a.elem_type));
  }
  /* Each string takes at least 8 bytes of the file: the count is bounded by its size. */
  ug_tok_str_t *s = malloc((size_t)(a.len ? a.len : 1) * sizeof *s);
  if (!s) return ug_status_make(UG_ERR_NOMEM, ug_gguf_origin(f), "out of memory reading \"%s\"", key);
  for (uint64_t i = 0; i < a.len; i++) {
    ug_gguf_str_t g;
    ug_status_t st = ug_gguf_array_str(&a, i, &g);
    if (st) {
      free(s);
      return st;
    }
    s[i] = (ug_tok_str_t){g.ptr, (size_t)g.len};
  }
  *out = s;
  *n = (size_t)a.len;
  return NULL;
}

static ug_status_t read_vocab(const ug_gguf_t *f, ug_tok_vocab_t *v, float **scores, int32_t **types) {
  const char *origin = ug_gguf_origin(f);
  ug_gguf_str_t model;
  if (ug_gguf_find_key(f, "tokenizer.ggml.model") < 0) {
    return ug_status_make(UG_ERR_INVALID, origin, "no tokenizer: missing key \"tokenizer.ggml.model\"");
  }
  UG_RETURN_IF_ERROR(ug_gguf_get_str(f, "tokenizer.ggml.model", &model));
  if (model.len == 5 && memcmp(model.ptr, "llama", 5) == 0) {
    ug_tok_vocab_init(v, UG_TOK_MODEL_SPM);
  } else if (model.len == 4 && memcmp(model.ptr, "gpt2", 4) == 0) {
    ug_tok_vocab_init(v, UG_TOK_MODEL_GPT2);
  } else {
    return ug_status_make(UG_ERR_UNSUPPORTED, origin, "tokenizer model \"%.*s\" is not supported (only llama, gpt2)",
                          (int)(model.len < 64 ? model.len : 64), model.ptr);
  }
  ug_tok_str_t *tokens = NULL;
  UG_RETURN_IF_ERROR(read_strs(f, "tokenizer.ggml.tokens", &tokens, &v->n_tokens));
  v->tokens = tokens;
  ug_gguf_array_t a;
  if (ug_gguf_find_key(f, "tokenizer.ggml.scores") >= 0) {
    UG_RETURN_IF_ERROR(ug_gguf_get_array(f, "tokenizer.ggml.scores", &a));
    if (!(*scores = malloc((size_t)(a.len ? a.len : 1) * sizeof **scores))) return ug_status_make(UG_ERR_NOMEM, origin, "out of memory");
    UG_RETURN_IF_ERROR(ug_gguf_array_read(&a, UG_GGUF_F32, 0, a.len, *scores));
    v->scores = *scores;
    v->n_scores = (size_t)a.len;
  }
  if (ug_gguf_find_key(f, "tokenizer.ggml.token_type") >= 0) {
    UG_RETURN_IF_ERROR(ug_gguf_get_array(f, "tokenizer.ggml.token_type", &a));
    if (!(*types = malloc((size_t)(a.len ? a.len : 1) * sizeof **types))) return ug_status_make(UG_ERR_NOMEM, origin, "out of memory");
    for (uint64_t i = 0; i < a.len; i++) {
      int64_t x;
      UG_RETURN_IF_ERROR(ug_gguf_array_int(&a, i, &x));
      (*types)[i] = x >= 0 && x <= UG_TOK_TYPE_BYTE ? (int32_t)x : UG_TOK_TYPE_UNDEFINED;
    }
    v->types = *types;
    v->n_types = (size_t)a.len;
  }
  if (v->model == UG_TOK_MODEL_GPT2) {
    if (ug_gguf_find_key(f, "tokenizer.ggml.merges") < 0) {
      return ug_status_make(UG_ERR_INVALID, origin, "gpt2 tokenizer without \"tokenizer.ggml.merges\"");
    }
    ug_tok_str_t *merges = NULL;
    UG_RETURN_IF_ERROR(read_strs(f, "tokenizer.ggml.merges", &merges, &v->n_merges));
    v->merges = merges;
  }
  UG_RETURN_IF_ERROR(opt_id(f, "tokenizer.ggml.bos_token_id", &v->bos_id));
  UG_RETURN_IF_ERROR(opt_id(f, "tokenizer.ggml.eos_token_id", &v->eos_id));
  UG_RETURN_IF_ERROR(opt_id(f, "tokenizer.ggml.unknown_token_id", &v->unk_id));
  UG_RETURN_IF_ERROR(opt_bool(f, "tokenizer.ggml.add_bos_token", &v->add_bos));
  UG_RETURN_IF_ERROR(opt_bool(f, "tokenizer.ggml.add_eos_token", &v->add_eos));
  UG_RETURN_IF_ERROR(opt_bool(f, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix));
  return NULL;
}

ug_status_t ug_tokenizer_from_gguf(const ug_gguf_t *f, ug_tokenizer_t **out) {
  *out = NULL;
  ug_tok_vocab_t v;
  memset(&v, 0, sizeof v);
  float *scores = NULL;
  int32_t *types = NULL;
  ug_status_t st = read_vocab(f, &v, &scores, &types);
  if (!st) {
    ug_tok_error_t err;
    ug_tok_result_t r = ug_tokenizer_create(&v, out, &err);
    if (r) {
      st = ug_status_make(r == UG_TOK_ERR_NOMEM ? UG_ERR_NOMEM : UG_ERR_INVALID, ug_gguf_origin(f), "tokenizer: %s",
                          err.msg);
    }
  }
  free((void *)v.tokens);
  free((void *)v.merges);
  free(scores);
  free(types);
  return st;
}

#endif
