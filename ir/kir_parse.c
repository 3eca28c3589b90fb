/* Parser for the text form of the kernel IR (grammar: docs/kernel-ir.md).
 *
 * Hand-written recursive descent over characters, like ir/parse.c.  Every
 * error names file:line:col; no input can make it crash, recurse without
 * bound (regions and dimension expressions have depth limits) or read past
 * the buffer, which need not be NUL-terminated.  The parser resolves names
 * and builds the kernels; what they mean is the verifier's business. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/kir.h"
#include "ir/text.h"

#define UG_KPARSE_MAX_DEPTH 64    /* nested regions, and parentheses in a dim */
#define UG_KPARSE_MAX_DIM_OPS 4096 /* operators in one dimension expression */
#define UG_KPARSE_MAX_LIST 4096   /* operands, params, list attributes */
#define UG_KPARSE_MAX_RESULTS 64
#define UG_KPARSE_MAX_INDICES 16  /* indices of one access */

typedef struct {
  const char *name; /* arena string; NULL: empty slot */
  bool numbered;
  ug_kir_value_id_t v;
} ug_kslot_t;

typedef struct {
  const char *text;
  size_t len, pos;
  const char *file;
  ug_kir_module_t *m;
  ug_kir_kernel_t *k;
  ug_kslot_t *slots;
  size_t nslots, used;
  int depth;     /* regions */
  int dim_depth; /* parentheses in a dim expression */
  int dim_ops;
  /* line:col of `cache_pos`, to locate ops without rescanning the text */
  size_t cache_pos;
  uint32_t cache_line, cache_col;
} ug_kparser_t;

/* ---- errors and positions ---- */

static void locate(ug_kparser_t *p, size_t pos, uint32_t *line, uint32_t *col) {
  if (pos < p->cache_pos) {
    p->cache_pos = 0;
    p->cache_line = p->cache_col = 1;
  }
  for (size_t i = p->cache_pos; i < pos && i < p->len; i++) {
    if (p->text[i] == '\n') {
      p->cache_line++;
      p->cache_col = 1;
    } else {
      p->cache_col++;
    }
  }
  p->cache_pos = pos;
  *line = p->cache_line;
  *col = p->cache_col;
}

static ug_status_t perr_at(ug_kparser_t *p, size_t pos, const char *fmt, ...) UG_PRINTF(3, 4);
static ug_status_t perr_at(ug_kparser_t *p, size_t pos, const char *fmt, ...) {
  uint32_t line, col;
  locate(p, pos, &line, &col);
  char origin[512];
  snprintf(origin, sizeof(origin), "%s:%u:%u", p->file, line, col);
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = ug_status_makev(UG_ERR_INVALID, origin, fmt, ap);
  va_end(ap);
  return s;
}
#define PERR(p, ...) perr_at((p), (p)->pos, __VA_ARGS__)

/* ---- characters ---- */

static int peekc(ug_kparser_t *p) { return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1; }

static void skip_ws(ug_kparser_t *p) {
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      p->pos++;
    } else if (c == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '/') {
      while (p->pos < p->len && p->text[p->pos] != '\n') p->pos++;
    } else {
      break;
    }
  }
}

/* Skips blanks but not line ends; true when more of the line follows.  Ops
 * without results end at the line's end, so an operand list starts only on
 * the op's line. */
static bool same_line(ug_kparser_t *p) {
  while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t')) p->pos++;
  if (p->pos >= p->len) return false;
  char c = p->text[p->pos];
  if (c == '\n' || c == '\r') return false;
  return !(c == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '/');
}

/* Consumes s after blanks; on a mismatch nothing is consumed, not even the
 * blanks, so that same_line() still sees where the line ends. */
static bool accept(ug_kparser_t *p, const char *s) {
  size_t save = p->pos;
  skip_ws(p);
  size_t n = strlen(s);
  if (p->len - p->pos < n || memcmp(p->text + p->pos, s, n) != 0) {
    p->pos = save;
    return false;
  }
  p->pos += n;
  return true;
}

/* A keyword: s not followed by an identifier character. */
static bool keyword(ug_kparser_t *p, const char *s) {
  size_t save = p->pos;
  skip_ws(p);
  size_t n = strlen(s);
  if (p->len - p->pos < n || memcmp(p->text + p->pos, s, n) != 0 ||
      (p->pos + n < p->len && (isalnum((unsigned char)p->text[p->pos + n]) || p->text[p->pos + n] == '_'))) {
    p->pos = save;
    return false;
  }
  p->pos += n;
  return true;
}

static ug_status_t expect(ug_kparser_t *p, const char *s) {
  if (accept(p, s)) return NULL;
  skip_ws(p);
  return PERR(p, "expected '%s'", s);
}

static ug_status_t expect_kw(ug_kparser_t *p, const char *s) {
  if (keyword(p, s)) return NULL;
  skip_ws(p);
  return PERR(p, "expected '%s'", s);
}

static size_t word(ug_kparser_t *p, const char **out) {
  skip_ws(p);
  size_t s = p->pos;
  while (p->pos < p->len && ug_text_ident_char(p->text[p->pos])) p->pos++;
  *out = p->text + s;
  return p->pos - s;
}

/* [A-Za-z_][A-Za-z0-9_]*: op names, dim symbols, keywords. */
static size_t symbol(ug_kparser_t *p, const char **out) {
  skip_ws(p);
  size_t s = p->pos;
  if (p->pos < p->len && (isalpha((unsigned char)p->text[p->pos]) || p->text[p->pos] == '_')) {
    while (p->pos < p->len && (isalnum((unsigned char)p->text[p->pos]) || p->text[p->pos] == '_')) p->pos++;
  }
  *out = p->text + s;
  return p->pos - s;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static ug_status_t string_lit(ug_kparser_t *p, const char **out) {
  skip_ws(p);
  if (peekc(p) != '"') return PERR(p, "expected a string");
  size_t start = p->pos++;
  size_t end = p->pos;
  while (end < p->len && p->text[end] != '"' && p->text[end] != '\n') end += p->text[end] == '\\' ? 2 : 1;
  char *buf = ug_arena_alloc(p->m->arena, (end < p->len ? end : p->len) - p->pos + 1);
  size_t n = 0;
  for (;;) {
    if (p->pos >= p->len) return perr_at(p, start, "unterminated string");
    char c = p->text[p->pos++];
    if (c == '"') break;
    if (c == '\n') return perr_at(p, start, "unterminated string");
    if (c == 0) return perr_at(p, p->pos - 1, "NUL character in string");
    if (c == '\\') {
      if (p->pos >= p->len) return perr_at(p, start, "unterminated string");
      char e = p->text[p->pos++];
      if (e == 'n') {
        c = '\n';
      } else if (e == 't') {
        c = '\t';
      } else if (e == '"' || e == '\\') {
        c = e;
      } else if (e == 'x' && p->pos + 1 < p->len && hexval(p->text[p->pos]) >= 0 &&
                 hexval(p->text[p->pos + 1]) >= 0) {
        c = (char)(hexval(p->text[p->pos]) * 16 + hexval(p->text[p->pos + 1]));
        p->pos += 2;
        if (c == 0) return perr_at(p, p->pos - 4, "NUL character in string");
      } else {
        return perr_at(p, p->pos - 2, "unknown escape '\\%c'", e);
      }
    }
    buf[n++] = c;
  }
  buf[n] = 0;
  *out = buf;
  return NULL;
}

static ug_status_t name_tok(ug_kparser_t *p, const char **out, bool *numbered) {
  skip_ws(p);
  if (numbered) *numbered = false;
  if (peekc(p) == '"') return string_lit(p, out);
  const char *s;
  size_t n = word(p, &s);
  if (!n) return PERR(p, "expected a name");
  bool digits = true;
  for (size_t i = 0; i < n; i++) digits = digits && isdigit((unsigned char)s[i]);
  if (numbered) *numbered = digits;
  *out = ug_arena_strndup(p->m->arena, s, n);
  return NULL;
}

/* ---- numbers ---- */

/* An integer or a float ('.' or exponent, inf, nan), optionally negative. */
static ug_status_t number(ug_kparser_t *p, bool *is_int, int64_t *iv, double *fv) {
  skip_ws(p);
  size_t start = p->pos;
  bool neg = p->pos < p->len && p->text[p->pos] == '-';
  if (neg) p->pos++;
  *is_int = false;
  for (int w = 0; w < 2; w++) {
    const char *lit = w ? "nan" : "inf";
    if (p->len - p->pos >= 3 && memcmp(p->text + p->pos, lit, 3) == 0 &&
        !(p->pos + 3 < p->len && ug_text_ident_char(p->text[p->pos + 3]))) {
      p->pos += 3;
      *fv = w ? (neg ? -NAN : NAN) : (neg ? -INFINITY : INFINITY);
      return NULL;
    }
  }
  size_t s = p->pos;
  bool isfloat = false;
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (isdigit((unsigned char)c)) {
      p->pos++;
    } else if (c == '.' || c == 'e' || c == 'E') {
      isfloat = true;
      p->pos++;
      if ((c == 'e' || c == 'E') && p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
        p->pos++;
    } else {
      break;
    }
  }
  size_t n = p->pos - s;
  if (n == 0 || n > 64 || !isdigit((unsigned char)p->text[s])) return perr_at(p, start, "expected a number");
  char buf[80];
  snprintf(buf, sizeof(buf), "%s%.*s", neg ? "-" : "", (int)n, p->text + s);
  char *end;
  errno = 0;
  if (isfloat) {
    *fv = strtod(buf, &end);
    if (*end) return perr_at(p, start, "malformed number");
    if (errno == ERANGE && isinf(*fv)) return perr_at(p, start, "number out of range");
  } else {
    *is_int = true;
    long long v = strtoll(buf, &end, 10);
    if (*end) return perr_at(p, start, "malformed number");
    if (errno == ERANGE) return perr_at(p, start, "number out of range");
    *iv = v;
    *fv = (double)v;
  }
  return NULL;
}

/* A non-negative integer up to max. */
static ug_status_t uint_lit(ug_kparser_t *p, int64_t max, int64_t *out) {
  skip_ws(p);
  size_t at = p->pos;
  bool is_int;
  double f;
  UG_RETURN_IF_ERROR(number(p, &is_int, out, &f));
  if (!is_int || *out < 0 || *out > max) return perr_at(p, at, "expected an integer from 0 to %lld", (long long)max);
  return NULL;
}

/* ---- dimension expressions ---- */

static ug_status_t dim_sum(ug_kparser_t *p, ug_dim_t *out);

static ug_status_t dim_factor(ug_kparser_t *p, ug_dim_t *out) {
  skip_ws(p);
  if (++p->dim_depth > UG_KPARSE_MAX_DEPTH) return PERR(p, "dimension expression nested too deeply");
  ug_status_t st = NULL;
  int c = peekc(p);
  if (c == '(') {
    p->pos++;
    st = dim_sum(p, out);
    if (!st) st = expect(p, ")");
  } else if (c >= '0' && c <= '9') {
    size_t start = p->pos;
    int64_t v = 0;
    while (!st && p->pos < p->len && isdigit((unsigned char)p->text[p->pos])) {
      int digit = p->text[p->pos++] - '0';
      if (v > (INT64_MAX - digit) / 10)
        st = perr_at(p, start, "dimension too large");
      else
        v = v * 10 + digit;
    }
    *out = v;
  } else {
    const char *s;
    size_t n = symbol(p, &s);
    if (!n) {
      st = PERR(p, "expected an index (%%value or a dimension)");
    } else if (n == 3 && (memcmp(s, "max", 3) == 0 || memcmp(s, "min", 3) == 0) && accept(p, "(")) {
      bool is_max = s[1] == 'a';
      ug_dim_t a, b;
      if (++p->dim_ops > UG_KPARSE_MAX_DIM_OPS) st = PERR(p, "dimension expression too long");
      if (!st) st = dim_sum(p, &a);
      if (!st) st = expect(p, ",");
      if (!st) st = dim_sum(p, &b);
      if (!st) st = expect(p, ")");
      if (!st) *out = is_max ? ug_dim_max(p->m->dims, a, b) : ug_dim_min(p->m->dims, a, b);
    } else if (n >= 256) {
      st = PERR(p, "symbol name too long");
    } else {
      char name[256];
      memcpy(name, s, n);
      name[n] = 0;
      *out = ug_dim_sym(p->m->dims, name);
    }
  }
  p->dim_depth--;
  return st;
}

static ug_status_t dim_term(ug_kparser_t *p, ug_dim_t *out) {
  UG_RETURN_IF_ERROR(dim_factor(p, out));
  for (;;) {
    size_t save = p->pos; /* blanks after the expression stay unread: see same_line() */
    skip_ws(p);
    int c = peekc(p);
    /* a '/' that starts a comment ends the expression */
    bool comment = c == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '/';
    if (comment || (c != '*' && c != '/' && c != '%')) {
      p->pos = save;
      return NULL;
    }
    size_t at = p->pos++;
    if (++p->dim_ops > UG_KPARSE_MAX_DIM_OPS) return perr_at(p, at, "dimension expression too long");
    ug_dim_t b;
    UG_RETURN_IF_ERROR(dim_factor(p, &b));
    if ((c == '/' || c == '%') && b == 0) return perr_at(p, at, "division by zero in a dimension");
    *out = c == '*' ? ug_dim_mul(p->m->dims, *out, b)
         : c == '/' ? ug_dim_div(p->m->dims, *out, b)
                    : ug_dim_mod(p->m->dims, *out, b);
  }
}

static ug_status_t dim_sum(ug_kparser_t *p, ug_dim_t *out) {
  UG_RETURN_IF_ERROR(dim_term(p, out));
  for (;;) {
    size_t save = p->pos;
    skip_ws(p);
    int c = peekc(p);
    /* '->' is not a minus */
    bool arrow = c == '-' && p->pos + 1 < p->len && p->text[p->pos + 1] == '>';
    if (arrow || (c != '+' && c != '-')) {
      p->pos = save;
      return NULL;
    }
    if (++p->dim_ops > UG_KPARSE_MAX_DIM_OPS) return PERR(p, "dimension expression too long");
    p->pos++;
    ug_dim_t b;
    UG_RETURN_IF_ERROR(dim_term(p, &b));
    *out = c == '+' ? ug_dim_add(p->m->dims, *out, b) : ug_dim_sub(p->m->dims, *out, b);
  }
}

static ug_status_t dim(ug_kparser_t *p, ug_dim_t *out) {
  p->dim_ops = 0;
  p->dim_depth = 0;
  return dim_sum(p, out);
}

/* ---- types ---- */

static ug_status_t shape(ug_kparser_t *p, ug_dtype_t dt, ug_type_t *out) {
  memset(out, 0, sizeof(*out));
  out->dtype = dt;
  UG_RETURN_IF_ERROR(expect(p, "["));
  if (accept(p, "]")) return NULL;
  do {
    if (out->rank == UG_MAX_RANK) return PERR(p, "rank above the maximum of %d", UG_MAX_RANK);
    UG_RETURN_IF_ERROR(dim(p, &out->dims[out->rank++]));
  } while (accept(p, ","));
  return expect(p, "]");
}

static ug_status_t stages_lit(ug_kparser_t *p, uint32_t *out) {
  UG_RETURN_IF_ERROR(expect(p, "<"));
  int64_t v;
  size_t at = (skip_ws(p), p->pos);
  UG_RETURN_IF_ERROR(uint_lit(p, 1 << 16, &v));
  if (v < 1) return perr_at(p, at, "a buffer has at least one stage");
  *out = (uint32_t)v;
  return expect(p, ">");
}

static ug_status_t type_lit(ug_kparser_t *p, ug_kir_type_t *out) {
  memset(out, 0, sizeof(*out));
  const char *s;
  size_t at = (skip_ws(p), p->pos);
  size_t n = symbol(p, &s);
  ug_dtype_t dt;
  if (n == 5 && memcmp(s, "index", 5) == 0) {
    out->kind = UG_KT_INDEX;
    return NULL;
  }
  if (n == 5 && memcmp(s, "token", 5) == 0) {
    out->kind = UG_KT_TOKEN;
    return NULL;
  }
  if (n == 8 && memcmp(s, "mbarrier", 8) == 0) {
    out->kind = UG_KT_MBAR;
    return stages_lit(p, &out->stages);
  }
  out->kind = UG_KT_TILE;
  if (n == 6 && memcmp(s, "global", 6) == 0) {
    out->kind = UG_KT_GLOBAL;
  } else if (n == 6 && memcmp(s, "shared", 6) == 0) {
    out->kind = UG_KT_SHARED;
    UG_RETURN_IF_ERROR(stages_lit(p, &out->stages));
  }
  if (out->kind != UG_KT_TILE) n = symbol(p, &s);
  if (!n || !ug_dtype_from_name(s, n, &dt))
    return perr_at(p, at, "expected a type (index, token, f32[64,64], global f16[M,K], shared<2> f16[64,64], mbarrier<2>)");
  return shape(p, dt, &out->t);
}

/* ---- value names ---- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static ug_kslot_t *slot_find(ug_kparser_t *p, const char *name, bool numbered) {
  size_t i = (hash_str(name) + numbered) & (p->nslots - 1);
  while (p->slots[i].name && (p->slots[i].numbered != numbered || strcmp(p->slots[i].name, name) != 0))
    i = (i + 1) & (p->nslots - 1);
  return &p->slots[i];
}

static void slot_grow(ug_kparser_t *p) {
  ug_kslot_t *old = p->slots;
  size_t on = p->nslots;
  p->nslots = on ? on * 2 : 256;
  p->slots = ug_arena_alloc(p->m->arena, p->nslots * sizeof(ug_kslot_t));
  for (size_t i = 0; i < on; i++)
    if (old[i].name) *slot_find(p, old[i].name, old[i].numbered) = old[i];
}

/* A name being defined: where it was written, the name, and whether it is a number. */
typedef struct {
  size_t at;
  const char *name;
  bool numbered;
} ug_kdef_t;

static ug_status_t value_def(ug_kparser_t *p, ug_kdef_t *d) {
  skip_ws(p);
  d->at = p->pos;
  if (!accept(p, "%")) return PERR(p, "expected a value (%%name)");
  UG_RETURN_IF_ERROR(name_tok(p, &d->name, &d->numbered));
  if (slot_find(p, d->name, d->numbered)->name) return perr_at(p, d->at, "value %%%s is defined twice", d->name);
  return NULL;
}

/* Binds a defined name to v (and names v unless it is numbered). */
static ug_status_t bind(ug_kparser_t *p, const ug_kdef_t *d, ug_kir_value_id_t v) {
  if (p->used * 2 + 2 >= p->nslots) slot_grow(p);
  ug_kslot_t *s = slot_find(p, d->name, d->numbered);
  if (s->name) return perr_at(p, d->at, "value %%%s is defined twice", d->name);
  s->name = d->name;
  s->numbered = d->numbered;
  s->v = v;
  p->used++;
  p->k->values.items[v].name = d->numbered ? NULL : d->name;
  return NULL;
}

static ug_status_t value_ref(ug_kparser_t *p, ug_kir_value_id_t *out) {
  skip_ws(p);
  size_t at = p->pos;
  if (!accept(p, "%")) return PERR(p, "expected a value (%%name)");
  const char *name;
  bool numbered;
  UG_RETURN_IF_ERROR(name_tok(p, &name, &numbered));
  ug_kslot_t *s = slot_find(p, name, numbered);
  if (!s->name) return perr_at(p, at, "use of undefined value %%%s", name);
  *out = s->v;
  return NULL;
}

/* An index operand: %value or a dimension expression. */
static ug_status_t scalar(ug_kparser_t *p, ug_kir_operand_t *out) {
  skip_ws(p);
  if (peekc(p) == '%') {
    *out = ug_kir_val(0);
    return value_ref(p, &out->value);
  }
  *out = ug_kir_imm(0);
  return dim(p, &out->imm);
}

/* ---- attributes ---- */

static ug_status_t graph_attr_value(ug_kparser_t *p, ug_attr_key_t k, ug_attr_t *out) {
  out->key = k;
  size_t at = (skip_ws(p), p->pos);
  bool is_int;
  int64_t iv;
  double fv;
  switch (ug_attr_kind(k)) {
    case UG_AK_INT:
      UG_RETURN_IF_ERROR(number(p, &is_int, &iv, &fv));
      if (!is_int) return perr_at(p, at, "attribute '%s' takes an integer", ug_attr_name(k));
      out->u.i = iv;
      return NULL;
    case UG_AK_FLOAT:
      UG_RETURN_IF_ERROR(number(p, &is_int, &iv, &fv));
      out->u.f = fv;
      return NULL;
    case UG_AK_STRING: return string_lit(p, &out->u.s);
    case UG_AK_DTYPE: {
      const char *s;
      size_t n = symbol(p, &s);
      if (!n || !ug_dtype_from_name(s, n, &out->u.dtype))
        return perr_at(p, at, "attribute '%s' takes an element type", ug_attr_name(k));
      return NULL;
    }
    case UG_AK_INTS:
    case UG_AK_FLOATS: {
      bool ints = ug_attr_kind(k) == UG_AK_INTS;
      UG_RETURN_IF_ERROR(expect(p, "["));
      UG_VEC(int64_t) ivs = {0};
      UG_VEC(double) fvs = {0};
      if (!accept(p, "]")) {
        do {
          if (ivs.len + fvs.len >= UG_KPARSE_MAX_LIST) return PERR(p, "list too long");
          UG_RETURN_IF_ERROR(number(p, &is_int, &iv, &fv));
          if (ints && !is_int) return perr_at(p, at, "attribute '%s' takes a list of integers", ug_attr_name(k));
          if (ints) {
            UG_VEC_PUSH(p->m->arena, &ivs, iv);
          } else {
            UG_VEC_PUSH(p->m->arena, &fvs, fv);
          }
        } while (accept(p, ","));
        UG_RETURN_IF_ERROR(expect(p, "]"));
      }
      if (ints) {
        out->u.ints.v = ivs.items;
        out->u.ints.n = (uint32_t)ivs.len;
      } else {
        out->u.floats.v = fvs.items;
        out->u.floats.n = (uint32_t)fvs.len;
      }
      return NULL;
    }
  }
  return NULL;
}

static ug_status_t attr_dict(ug_kparser_t *p, ug_kir_op_id_t o) {
  if (!accept(p, "{")) return NULL;
  bool ew = ug_kir_op(p->k, o)->op == UG_KIR_EW;
  uint32_t n = 0;
  do {
    const char *s;
    size_t at = (skip_ws(p), p->pos);
    size_t len = symbol(p, &s);
    if (++n > 64) return perr_at(p, at, "too many attributes");
    ug_kir_attr_t a;
    memset(&a, 0, sizeof(a));
    if (ew) {
      ug_attr_key_t gk;
      if (!len || !ug_attr_from_name(s, len, &gk)) return perr_at(p, at, "unknown attribute '%.*s'", (int)len, s);
      UG_RETURN_IF_ERROR(expect(p, "="));
      a.graph = true;
      UG_RETURN_IF_ERROR(graph_attr_value(p, gk, &a.g));
    } else {
      if (!len || !ug_kir_attr_from_name(s, len, &a.key))
        return perr_at(p, at, "unknown attribute '%.*s'", (int)len, s);
      UG_RETURN_IF_ERROR(expect(p, "="));
      size_t vat = (skip_ws(p), p->pos);
      bool is_int;
      switch (ug_kir_attr_kind(a.key)) {
        case UG_KAK_INT:
          UG_RETURN_IF_ERROR(number(p, &is_int, &a.i, &a.f));
          if (!is_int) return perr_at(p, vat, "attribute '%s' takes an integer", ug_kir_attr_name(a.key));
          break;
        case UG_KAK_FLOAT: UG_RETURN_IF_ERROR(number(p, &is_int, &a.i, &a.f)); break;
        case UG_KAK_OP: {
          const char *w;
          size_t wl = symbol(p, &w);
          if (!wl || !ug_op_from_name(w, wl, &a.op))
            return perr_at(p, vat, "attribute '%s' takes an op name such as add", ug_kir_attr_name(a.key));
          break;
        }
      }
    }
    ug_kir_push_attr(p->k, o, a);
  } while (accept(p, ","));
  return expect(p, "}");
}

static ug_status_t loc_opt(ug_kparser_t *p, ug_kir_op_id_t o) {
  if (!keyword(p, "loc")) return NULL;
  UG_RETURN_IF_ERROR(expect(p, "("));
  const char *loc;
  UG_RETURN_IF_ERROR(string_lit(p, &loc));
  ug_kir_op(p->k, o)->loc = loc;
  return expect(p, ")");
}

/* ---- statements ---- */

static ug_status_t region_body(ug_kparser_t *p, ug_kir_region_id_t r);

/* Binds and types the results of o from defs and types. */
static ug_status_t push_results(ug_kparser_t *p, ug_kir_op_id_t o, const ug_kdef_t *defs,
                                const ug_kir_type_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) UG_RETURN_IF_ERROR(bind(p, &defs[i], ug_kir_push_result(p->k, o, &types[i], NULL)));
  return NULL;
}

static ug_status_t parse_for(ug_kparser_t *p, ug_kir_op_id_t o, const ug_kdef_t *res, uint32_t nres, size_t at) {
  ug_kir_kernel_t *k = p->k;
  ug_kdef_t iv;
  UG_RETURN_IF_ERROR(value_def(p, &iv));
  UG_RETURN_IF_ERROR(expect(p, "="));
  ug_kir_operand_t bounds[3];
  UG_RETURN_IF_ERROR(scalar(p, &bounds[0]));
  UG_RETURN_IF_ERROR(expect_kw(p, "to"));
  UG_RETURN_IF_ERROR(scalar(p, &bounds[1]));
  UG_RETURN_IF_ERROR(expect_kw(p, "step"));
  UG_RETURN_IF_ERROR(scalar(p, &bounds[2]));
  for (int i = 0; i < 3; i++) ug_kir_push_operand(k, o, bounds[i]);
  ug_kdef_t defs[UG_KPARSE_MAX_RESULTS + 1];
  ug_kir_type_t types[UG_KPARSE_MAX_RESULTS + 1];
  defs[0] = iv;
  types[0] = ug_kir_type_index();
  uint32_t n = 1;
  if (keyword(p, "iter")) {
    UG_RETURN_IF_ERROR(expect(p, "("));
    do {
      if (n > UG_KPARSE_MAX_RESULTS) return PERR(p, "too many iter args");
      UG_RETURN_IF_ERROR(value_def(p, &defs[n]));
      for (uint32_t i = 0; i < n; i++)
        if (defs[i].numbered == defs[n].numbered && strcmp(defs[i].name, defs[n].name) == 0)
          return perr_at(p, defs[n].at, "value %%%s is defined twice", defs[n].name);
      UG_RETURN_IF_ERROR(expect(p, "="));
      ug_kir_operand_t init;
      UG_RETURN_IF_ERROR(scalar(p, &init));
      ug_kir_push_operand(k, o, init);
      UG_RETURN_IF_ERROR(expect(p, ":"));
      UG_RETURN_IF_ERROR(type_lit(p, &types[n]));
      n++;
    } while (accept(p, ","));
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  if (n - 1 != nres) return perr_at(p, at, "for has %u results but %u iter args", nres, n - 1);
  if (keyword(p, "pipeline")) {
    UG_RETURN_IF_ERROR(expect(p, "("));
    size_t sat = (skip_ws(p), p->pos);
    int64_t s;
    UG_RETURN_IF_ERROR(uint_lit(p, 1 << 16, &s));
    if (s < 1) return perr_at(p, sat, "pipeline needs at least one stage");
    ug_kir_op(k, o)->stages = (uint32_t)s;
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  UG_RETURN_IF_ERROR(loc_opt(p, o));
  for (uint32_t i = 1; i < n; i++) ug_kir_push_result(k, o, &types[i], NULL);
  ug_kir_region_id_t body = ug_kir_add_region(k, o, types, n);
  for (uint32_t i = 0; i < n; i++) UG_RETURN_IF_ERROR(bind(p, &defs[i], ug_kir_region_arg(k, ug_kir_region(k, body), i)));
  UG_RETURN_IF_ERROR(expect(p, "{"));
  UG_RETURN_IF_ERROR(region_body(p, body));
  /* results come into scope after the loop */
  const ug_kir_op_data_t *op = ug_kir_op(k, o);
  for (uint32_t i = 0; i < nres; i++) UG_RETURN_IF_ERROR(bind(p, &res[i], ug_kir_result(k, op, i)));
  return NULL;
}

static ug_status_t parse_if(ug_kparser_t *p, ug_kir_op_id_t o, const ug_kdef_t *res, uint32_t nres, size_t at) {
  ug_kir_kernel_t *k = p->k;
  ug_kir_operand_t cond;
  UG_RETURN_IF_ERROR(scalar(p, &cond));
  ug_kir_push_operand(k, o, cond);
  ug_kir_type_t types[UG_KPARSE_MAX_RESULTS];
  uint32_t n = 0;
  if (accept(p, "->")) {
    UG_RETURN_IF_ERROR(expect(p, "("));
    do {
      if (n == UG_KPARSE_MAX_RESULTS) return PERR(p, "too many results");
      UG_RETURN_IF_ERROR(type_lit(p, &types[n++]));
    } while (accept(p, ","));
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  if (n != nres) return perr_at(p, at, "if has %u results but %u types", nres, n);
  UG_RETURN_IF_ERROR(loc_opt(p, o));
  for (uint32_t i = 0; i < n; i++) ug_kir_push_result(k, o, &types[i], NULL);
  ug_kir_region_id_t then_r = ug_kir_add_region(k, o, NULL, 0);
  ug_kir_region_id_t else_r = ug_kir_add_region(k, o, NULL, 0);
  UG_RETURN_IF_ERROR(expect(p, "{"));
  UG_RETURN_IF_ERROR(region_body(p, then_r));
  if (keyword(p, "else")) {
    UG_RETURN_IF_ERROR(expect(p, "{"));
    UG_RETURN_IF_ERROR(region_body(p, else_r));
  }
  const ug_kir_op_data_t *op = ug_kir_op(k, o);
  for (uint32_t i = 0; i < nres; i++) UG_RETURN_IF_ERROR(bind(p, &res[i], ug_kir_result(k, op, i)));
  return NULL;
}

static ug_status_t parse_role(ug_kparser_t *p, ug_kir_op_id_t o, uint32_t nres, size_t at) {
  ug_kir_op_data_t *op = ug_kir_op(p->k, o);
  if (nres) return perr_at(p, at, "a role has no results");
  if (keyword(p, "producer"))
    op->role = UG_KIR_ROLE_PRODUCER;
  else if (keyword(p, "consumer"))
    op->role = UG_KIR_ROLE_CONSUMER;
  else
    return (skip_ws(p), PERR(p, "expected 'producer' or 'consumer'"));
  int64_t lo, hi, regs = 0;
  UG_RETURN_IF_ERROR(expect_kw(p, "warps"));
  UG_RETURN_IF_ERROR(expect(p, "("));
  UG_RETURN_IF_ERROR(uint_lit(p, 1 << 16, &lo));
  UG_RETURN_IF_ERROR(expect(p, ","));
  UG_RETURN_IF_ERROR(uint_lit(p, 1 << 16, &hi));
  UG_RETURN_IF_ERROR(expect(p, ")"));
  if (keyword(p, "regs")) {
    UG_RETURN_IF_ERROR(expect(p, "("));
    UG_RETURN_IF_ERROR(uint_lit(p, 1 << 16, &regs));
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  op->warp_lo = (uint32_t)lo;
  op->warp_hi = (uint32_t)hi;
  op->regs = (uint32_t)regs;
  UG_RETURN_IF_ERROR(loc_opt(p, o));
  ug_kir_region_id_t body = ug_kir_add_region(p->k, o, NULL, 0);
  UG_RETURN_IF_ERROR(expect(p, "{"));
  return region_body(p, body);
}

/* Whether an operand list starts here: on the op's line, not at '{', ':' or loc(. */
static bool operands_follow(ug_kparser_t *p) {
  if (!same_line(p)) return false;
  int c = peekc(p);
  if (c == '{' || c == ':') return false;
  size_t save = p->pos;
  bool loc = keyword(p, "loc") && accept(p, "(");
  p->pos = save;
  return !loc;
}

static ug_status_t parse_generic(ug_kparser_t *p, ug_kir_op_id_t o, const ug_kdef_t *res, uint32_t nres) {
  ug_kir_kernel_t *k = p->k;
  if (operands_follow(p)) {
    uint32_t n = 0;
    do {
      if (++n > UG_KPARSE_MAX_LIST) return PERR(p, "too many operands");
      ug_kir_operand_t a;
      UG_RETURN_IF_ERROR(scalar(p, &a));
      if (a.value != UG_NONE && accept(p, "[")) {
        ug_kir_operand_t idx[UG_KPARSE_MAX_INDICES];
        uint32_t ni = 0;
        if (!accept(p, "]")) {
          do {
            if (ni == UG_KPARSE_MAX_INDICES) return PERR(p, "too many indices");
            UG_RETURN_IF_ERROR(scalar(p, &idx[ni++]));
          } while (accept(p, ","));
          UG_RETURN_IF_ERROR(expect(p, "]"));
        }
        ug_kir_push_access(k, o, a.value, idx, ni);
      } else {
        ug_kir_push_operand(k, o, a);
      }
    } while (accept(p, ","));
  }
  if (same_line(p) && peekc(p) == '{') UG_RETURN_IF_ERROR(attr_dict(p, o));
  ug_kir_type_t types[UG_KPARSE_MAX_RESULTS];
  if (nres) {
    UG_RETURN_IF_ERROR(expect(p, ":"));
    for (uint32_t i = 0; i < nres; i++) {
      if (i) UG_RETURN_IF_ERROR(expect(p, ","));
      UG_RETURN_IF_ERROR(type_lit(p, &types[i]));
    }
  }
  if (same_line(p)) UG_RETURN_IF_ERROR(loc_opt(p, o));
  if (same_line(p)) return PERR(p, "unexpected text after the op");
  return push_results(p, o, res, types, nres);
}

static ug_status_t statement(ug_kparser_t *p, ug_kir_region_id_t r) {
  size_t at = (skip_ws(p), p->pos);
  ug_kdef_t res[UG_KPARSE_MAX_RESULTS];
  uint32_t nres = 0;
  if (peekc(p) == '%') {
    do {
      if (nres == UG_KPARSE_MAX_RESULTS) return PERR(p, "too many results");
      UG_RETURN_IF_ERROR(value_def(p, &res[nres]));
      for (uint32_t i = 0; i < nres; i++)
        if (res[i].numbered == res[nres].numbered && strcmp(res[i].name, res[nres].name) == 0)
          return perr_at(p, res[nres].at, "value %%%s is defined twice", res[nres].name);
      nres++;
    } while (accept(p, ","));
    UG_RETURN_IF_ERROR(expect(p, "="));
  }
  const char *name;
  size_t op_at = (skip_ws(p), p->pos);
  size_t len = symbol(p, &name);
  ug_kir_op_t kop;
  ug_op_t gop = UG_OP_COUNT;
  if (!len) return perr_at(p, op_at, "expected an op");
  if (!ug_kir_op_from_name(name, len, &kop)) {
    if (!ug_op_from_name(name, len, &gop) || ug_op_info(gop)->category != UG_CAT_EW)
      return perr_at(p, op_at, "unknown op '%.*s'", (int)len, name);
    kop = UG_KIR_EW;
  }
  ug_kir_op_id_t o = ug_kir_begin(p->k, r, kop, NULL);
  ug_kir_op_data_t *op = ug_kir_op(p->k, o);
  locate(p, op_at, &op->line, &op->col);
  if (kop == UG_KIR_EW) op->ew = gop;
  switch (kop) {
    case UG_KIR_FOR: return parse_for(p, o, res, nres, at);
    case UG_KIR_IF: return parse_if(p, o, res, nres, at);
    case UG_KIR_ROLE: return parse_role(p, o, nres, at);
    default: return parse_generic(p, o, res, nres);
  }
}

static ug_status_t region_body(ug_kparser_t *p, ug_kir_region_id_t r) {
  if (++p->depth > UG_KPARSE_MAX_DEPTH) return PERR(p, "regions nested too deeply");
  for (;;) {
    skip_ws(p);
    if (p->pos >= p->len) return PERR(p, "unexpected end of input: missing '}'");
    if (accept(p, "}")) break;
    UG_RETURN_IF_ERROR(statement(p, r));
  }
  p->depth--;
  return NULL;
}

/* ---- kernels ---- */

static ug_status_t kernel(ug_kparser_t *p) {
  size_t at = (skip_ws(p), p->pos);
  UG_RETURN_IF_ERROR(expect_kw(p, "kernel"));
  UG_RETURN_IF_ERROR(expect(p, "@"));
  const char *kname;
  UG_RETURN_IF_ERROR(name_tok(p, &kname, NULL));
  if (ug_kir_find_kernel(p->m, kname)) return perr_at(p, at, "kernel @%s is defined twice", kname);
  p->k = ug_kir_kernel_create(p->m, kname);
  p->slots = NULL;
  p->nslots = p->used = 0;
  slot_grow(p);
  UG_RETURN_IF_ERROR(expect(p, "("));
  if (!accept(p, ")")) {
    do {
      if (p->k->params.len >= UG_KPARSE_MAX_LIST) return PERR(p, "too many parameters");
      ug_kdef_t d;
      UG_RETURN_IF_ERROR(value_def(p, &d));
      UG_RETURN_IF_ERROR(expect(p, ":"));
      ug_kir_type_t t;
      UG_RETURN_IF_ERROR(type_lit(p, &t));
      UG_RETURN_IF_ERROR(bind(p, &d, ug_kir_add_param(p->k, NULL, &t)));
    } while (accept(p, ","));
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  UG_RETURN_IF_ERROR(expect_kw(p, "grid"));
  UG_RETURN_IF_ERROR(expect(p, "("));
  int rank = 0;
  do {
    if (rank == UG_KIR_MAX_GRID) return (skip_ws(p), PERR(p, "a grid has at most %d dimensions", UG_KIR_MAX_GRID));
    UG_RETURN_IF_ERROR(dim(p, &p->k->grid[rank++]));
  } while (accept(p, ","));
  p->k->grid_rank = rank;
  UG_RETURN_IF_ERROR(expect(p, ")"));
  if (keyword(p, "cluster")) {
    UG_RETURN_IF_ERROR(expect(p, "("));
    int64_t cl;
    UG_RETURN_IF_ERROR(uint_lit(p, 1 << 10, &cl));
    p->k->cluster = (uint32_t)cl;
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  UG_RETURN_IF_ERROR(expect_kw(p, "block"));
  UG_RETURN_IF_ERROR(expect(p, "("));
  UG_RETURN_IF_ERROR(expect_kw(p, "warps"));
  UG_RETURN_IF_ERROR(expect(p, "="));
  int64_t warps;
  UG_RETURN_IF_ERROR(uint_lit(p, 1 << 16, &warps));
  p->k->warps = (uint32_t)warps;
  UG_RETURN_IF_ERROR(expect(p, ")"));
  UG_RETURN_IF_ERROR(expect(p, "{"));
  p->depth = 0;
  return region_body(p, p->k->body);
}

ug_status_t ug_kir_parse(const char *text, size_t len, const char *filename, ug_module_t *gm,
                         ug_kir_module_t **out) {
  *out = NULL;
  ug_kparser_t p = {.text = text, .len = len, .file = filename ? filename : "<input>"};
  p.cache_line = p.cache_col = 1;
  p.m = ug_kir_module_create(gm);
  p.m->file = ug_arena_strdup(p.m->arena, p.file);
  ug_status_t st = NULL;
  for (;;) {
    skip_ws(&p);
    if (p.pos >= p.len) break;
    st = kernel(&p);
    if (st) break;
  }
  if (!st && p.m->kernels.len == 0) st = PERR(&p, "no kernel in input");
  if (st) {
    ug_kir_module_destroy(p.m);
    return st;
  }
  *out = p.m;
  return NULL;
}

ug_status_t ug_kir_parse_file(const char *path, ug_module_t *gm, ug_kir_module_t **out) {
  char *text;
  size_t len;
  *out = NULL;
  UG_RETURN_IF_ERROR(ug_read_file(path, &text, &len));
  ug_status_t st = ug_kir_parse(text, len, path, gm, out);
  free(text);
  return st;
}
