/* Parser for the text form of the graph IR (grammar: docs/ir.md).
 *
 * Hand-written recursive descent over characters.  Every error names
 * file:line:col; no input can make it crash, recurse without bound or read
 * past the buffer (the buffer need not be NUL-terminated). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/text.h"

#define UG_PARSE_MAX_DEPTH 64
#define UG_PARSE_MAX_LIST 4096
/* Operators in one dimension expression: bounds the size (and the cost of
 * normalizing) of any expression text can create. */
#define UG_PARSE_MAX_DIM_OPS 4096
/* Elements of one inline constant, and bytes of all inline constants of one
 * input: a short `dense<1.0> : f32[65536,65536]` must not allocate 16 GiB. */
#define UG_PARSE_MAX_DENSE (1 << 20)
#define UG_PARSE_MAX_DENSE_BYTES (256LL << 20)

/* A value name in the symbol table: `%7` (numbered) and `%"7"` differ. */
typedef struct {
  const char *name; /* arena string; NULL: empty slot */
  bool numbered;
  ug_value_id_t v;
} ug_slot_t;

typedef struct {
  const char *text;
  size_t len, pos;
  const char *file;
  ug_module_t *m;
  ug_graph_t *g;
  ug_slot_t *slots;
  size_t nslots, used;
  int depth;
  int dim_ops;             /* operators in the dimension expression being read */
  int64_t dense_bytes;     /* bytes of inline constants so far */
} ug_parser_t;

/* ---- errors ---- */

static ug_status_t perr_at(ug_parser_t *p, size_t pos, const char *fmt, ...) UG_PRINTF(3, 4);
static ug_status_t perr_at(ug_parser_t *p, size_t pos, const char *fmt, ...) {
  int line = 1, col = 1;
  for (size_t i = 0; i < pos && i < p->len; i++) {
    if (p->text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  char origin[512];
  snprintf(origin, sizeof(origin), "%s:%d:%d", p->file, line, col);
  va_list ap;
  va_start(ap, fmt);
  ug_status_t s = ug_status_makev(UG_ERR_INVALID, origin, fmt, ap);
  va_end(ap);
  return s;
}
#define PERR(p, ...) perr_at((p), (p)->pos, __VA_ARGS__)

/* ---- characters ---- */

static int peekc(ug_parser_t *p) { return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1; }

static void skip_ws(ug_parser_t *p) {
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

static bool accept(ug_parser_t *p, const char *s) {
  skip_ws(p);
  size_t n = strlen(s);
  if (p->len - p->pos < n || memcmp(p->text + p->pos, s, n) != 0) return false;
  p->pos += n;
  return true;
}

static ug_status_t expect(ug_parser_t *p, const char *s) {
  if (accept(p, s)) return NULL;
  return PERR(p, "expected '%s'", s);
}

/* A word of identifier characters (letters, digits, _ . - /). */
static size_t word(ug_parser_t *p, const char **out) {
  skip_ws(p);
  size_t s = p->pos;
  while (p->pos < p->len && ug_text_ident_char(p->text[p->pos])) p->pos++;
  *out = p->text + s;
  return p->pos - s;
}

/* A symbol of a dim expression: [A-Za-z_][A-Za-z0-9_]*. */
static size_t symbol(ug_parser_t *p, const char **out) {
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

/* A double-quoted string; the result lives in the module arena. */
static ug_status_t string_lit(ug_parser_t *p, const char **out) {
  skip_ws(p);
  if (peekc(p) != '"') return PERR(p, "expected a string");
  size_t start = p->pos++;
  /* The decoded text is never longer than the literal up to its closing quote. */
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

/* A name after % or @ or in the signature: bare identifier or a string. */
static ug_status_t name_tok(ug_parser_t *p, const char **out, bool *numbered) {
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

typedef struct {
  bool is_int, is_bool, neg;
  long long i;
  unsigned long long u; /* for u64 values above INT64_MAX */
  double f;
} ug_num_t;

static ug_status_t number(ug_parser_t *p, ug_num_t *out) {
  skip_ws(p);
  memset(out, 0, sizeof(*out));
  size_t start = p->pos;
  if (accept(p, "true") || accept(p, "false")) {
    out->is_int = out->is_bool = true;
    out->i = out->u = p->text[start] == 't';
    out->f = (double)out->i;
    return NULL;
  }
  bool neg = accept(p, "-");
  out->neg = neg;
  skip_ws(p);
  if (p->pos != start + (neg ? 1 : 0)) return perr_at(p, start, "expected a number");
  if (accept(p, "inf")) {
    out->f = neg ? -INFINITY : INFINITY;
    return NULL;
  }
  if (accept(p, "nan")) {
    out->f = neg ? -NAN : NAN;
    return NULL;
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
    out->f = strtod(buf, &end);
  } else {
    out->is_int = true;
    if (neg) {
      out->i = strtoll(buf, &end, 10);
      out->u = (unsigned long long)out->i;
    } else {
      out->u = strtoull(buf, &end, 10);
      out->i = (long long)out->u;
    }
    out->f = neg ? (double)out->i : (double)out->u;
  }
  if (*end) return perr_at(p, start, "malformed number");
  /* Underflow gives the nearest subnormal or zero, which is what the text
   * means (the printer writes f64 subnormals this way); overflow is an error. */
  if (errno == ERANGE && (!isfloat || isinf(out->f))) return perr_at(p, start, "number out of range");
  return NULL;
}

/* ---- types ---- */

static ug_status_t dim_sum(ug_parser_t *p, ug_dim_t *out);

static ug_status_t dim_factor(ug_parser_t *p, ug_dim_t *out) {
  skip_ws(p);
  if (++p->depth > UG_PARSE_MAX_DEPTH) return PERR(p, "dimension expression nested too deeply");
  ug_status_t st = NULL;
  int c = peekc(p);
  if (c == '(') {
    p->pos++;
    st = dim_sum(p, out);
    if (!st) st = expect(p, ")");
  } else if (c >= '0' && c <= '9') {
    size_t start = p->pos;
    /* Any int64 reads: dim arithmetic saturates, and whatever static size
     * inference derives (a concat of two large dims) must read back. */
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
      st = PERR(p, "expected a dimension");
    } else if (n == 3 && (memcmp(s, "max", 3) == 0 || memcmp(s, "min", 3) == 0) && accept(p, "(")) {
      bool is_max = s[1] == 'a';
      ug_dim_t a, b;
      if (++p->dim_ops > UG_PARSE_MAX_DIM_OPS) st = PERR(p, "dimension expression too long");
      if (!st) st = dim_sum(p, &a);
      if (!st) st = expect(p, ",");
      if (!st) st = dim_sum(p, &b);
      if (!st) st = expect(p, ")");
      if (!st) *out = is_max ? ug_dim_max(p->m->dims, a, b) : ug_dim_min(p->m->dims, a, b);
    } else {
      char name[256];
      if (n >= sizeof(name)) {
        st = PERR(p, "symbol name too long");
      } else {
        memcpy(name, s, n);
        name[n] = 0;
        *out = ug_dim_sym(p->m->dims, name);
      }
    }
  }
  p->depth--;
  return st;
}

static ug_status_t dim_term(ug_parser_t *p, ug_dim_t *out) {
  UG_RETURN_IF_ERROR(dim_factor(p, out));
  for (;;) {
    skip_ws(p);
    int c = peekc(p);
    if (c != '*' && c != '/' && c != '%') return NULL;
    size_t at = p->pos++;
    if (++p->dim_ops > UG_PARSE_MAX_DIM_OPS) return perr_at(p, at, "dimension expression too long");
    ug_dim_t b;
    UG_RETURN_IF_ERROR(dim_factor(p, &b));
    if ((c == '/' || c == '%') && b == 0) return perr_at(p, at, "division by zero in a dimension");
    *out = c == '*' ? ug_dim_mul(p->m->dims, *out, b)
         : c == '/' ? ug_dim_div(p->m->dims, *out, b)
                    : ug_dim_mod(p->m->dims, *out, b);
  }
}

static ug_status_t dim_sum(ug_parser_t *p, ug_dim_t *out) {
  UG_RETURN_IF_ERROR(dim_term(p, out));
  for (;;) {
    skip_ws(p);
    int c = peekc(p);
    if (c != '+' && c != '-') return NULL;
    if (++p->dim_ops > UG_PARSE_MAX_DIM_OPS) return PERR(p, "dimension expression too long");
    p->pos++;
    ug_dim_t b;
    UG_RETURN_IF_ERROR(dim_term(p, &b));
    *out = c == '+' ? ug_dim_add(p->m->dims, *out, b) : ug_dim_sub(p->m->dims, *out, b);
  }
}

static ug_status_t type_lit(ug_parser_t *p, ug_type_t *out) {
  const char *s;
  size_t start = (skip_ws(p), p->pos);
  size_t n = symbol(p, &s);
  ug_dtype_t dt;
  if (!n || !ug_dtype_from_name(s, n, &dt)) return perr_at(p, start, "expected a type such as f32[2,3]");
  memset(out, 0, sizeof(*out));
  out->dtype = dt;
  UG_RETURN_IF_ERROR(expect(p, "["));
  if (accept(p, "]")) return NULL;
  do {
    if (out->rank == UG_MAX_RANK) return PERR(p, "rank above the maximum of %d", UG_MAX_RANK);
    p->dim_ops = 0;
    UG_RETURN_IF_ERROR(dim_sum(p, &out->dims[out->rank++]));
  } while (accept(p, ","));
  return expect(p, "]");
}

/* ---- value names ---- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static ug_slot_t *slot_find(ug_parser_t *p, const char *name, bool numbered) {
  size_t i = (hash_str(name) + numbered) & (p->nslots - 1);
  while (p->slots[i].name && (p->slots[i].numbered != numbered || strcmp(p->slots[i].name, name) != 0))
    i = (i + 1) & (p->nslots - 1);
  return &p->slots[i];
}

static void slot_grow(ug_parser_t *p) {
  ug_slot_t *old = p->slots;
  size_t on = p->nslots;
  p->nslots = on ? on * 2 : 256;
  p->slots = ug_arena_alloc(p->m->arena, p->nslots * sizeof(ug_slot_t));
  for (size_t i = 0; i < on; i++)
    if (old[i].name) *slot_find(p, old[i].name, old[i].numbered) = old[i];
}

static ug_status_t value_ref(ug_parser_t *p, ug_value_id_t *out, bool allow_none) {
  skip_ws(p);
  size_t at = p->pos;
  if (allow_none && peekc(p) == '_' &&
      (p->pos + 1 >= p->len || !ug_text_ident_char(p->text[p->pos + 1]))) {
    p->pos++;
    *out = UG_NONE;
    return NULL;
  }
  if (!accept(p, "%")) return PERR(p, "expected a value (%%name)");
  const char *name;
  bool numbered;
  UG_RETURN_IF_ERROR(name_tok(p, &name, &numbered));
  ug_slot_t *s = p->nslots ? slot_find(p, name, numbered) : NULL;
  if (!s || !s->name) return perr_at(p, at, "use of undefined value %%%s", name);
  *out = s->v;
  return NULL;
}

/* Declares a value name: *out_key is the name as written, *out_name the name
 * to store on the value (NULL for a numbered value). */
static ug_status_t value_def(ug_parser_t *p, const char **out_name, const char **out_key) {
  skip_ws(p);
  size_t at = p->pos;
  if (!accept(p, "%")) return PERR(p, "expected a value (%%name)");
  const char *name;
  bool numbered;
  UG_RETURN_IF_ERROR(name_tok(p, &name, &numbered));
  if (p->used * 2 >= p->nslots) slot_grow(p);
  if (slot_find(p, name, numbered)->name) return perr_at(p, at, "value %%%s is defined twice", name);
  *out_name = numbered ? NULL : name;
  *out_key = name;
  return NULL;
}

static void bind(ug_parser_t *p, const char *key, bool numbered, ug_value_id_t v) {
  ug_slot_t *s = slot_find(p, key, numbered);
  s->name = key;
  s->numbered = numbered;
  s->v = v;
  p->used++;
}

/* ---- constants ---- */

/* Whether integer v fits a signed (lo..hi) or, with lo == 0, an unsigned
 * range up to uhi. */
static bool int_fits(const ug_num_t *v, long long lo, long long hi, unsigned long long uhi) {
  if (v->neg && v->i != 0) return lo < 0 && v->i >= lo;
  return lo < 0 ? v->u <= (unsigned long long)hi : v->u <= uhi;
}

static ug_status_t store_element(ug_parser_t *p, size_t at, ug_dtype_t dt, void *data, int64_t i,
                                 const ug_num_t *v) {
  bool isf = ug_dtype_is_float(dt);
  if (!isf && !v->is_int) return perr_at(p, at, "%s constant needs integer elements", ug_dtype_name(dt));
  if (dt == UG_DTYPE_BOOL && !v->is_bool) return perr_at(p, at, "bool constant needs true or false");
  if (v->is_bool && dt != UG_DTYPE_BOOL) return perr_at(p, at, "true/false in a %s constant", ug_dtype_name(dt));
  bool fits = true;
  switch (dt) {
    case UG_DTYPE_I64: fits = int_fits(v, INT64_MIN, INT64_MAX, 0); break;
    case UG_DTYPE_I32: fits = int_fits(v, INT32_MIN, INT32_MAX, 0); break;
    case UG_DTYPE_I16: fits = int_fits(v, INT16_MIN, INT16_MAX, 0); break;
    case UG_DTYPE_I8: fits = int_fits(v, INT8_MIN, INT8_MAX, 0); break;
    case UG_DTYPE_U64: fits = int_fits(v, 0, 0, UINT64_MAX); break;
    case UG_DTYPE_U32: fits = int_fits(v, 0, 0, UINT32_MAX); break;
    case UG_DTYPE_U16: fits = int_fits(v, 0, 0, UINT16_MAX); break;
    case UG_DTYPE_U8: fits = int_fits(v, 0, 0, UINT8_MAX); break;
    default: break;
  }
  if (!fits) return perr_at(p, at, "element %lld does not fit %s", (long long)i, ug_dtype_name(dt));
  switch (dt) {
    case UG_DTYPE_F64: ((double *)data)[i] = v->f; break;
    case UG_DTYPE_F32: ((float *)data)[i] = (float)v->f; break;
    case UG_DTYPE_F16: ((uint16_t *)data)[i] = ug_f32_to_f16((float)v->f); break;
    case UG_DTYPE_BF16: ((uint16_t *)data)[i] = ug_f32_to_bf16((float)v->f); break;
    case UG_DTYPE_I64: ((int64_t *)data)[i] = v->i; break;
    case UG_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)v->i; break;
    case UG_DTYPE_I16: ((int16_t *)data)[i] = (int16_t)v->i; break;
    case UG_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)v->i; break;
    case UG_DTYPE_U64: ((uint64_t *)data)[i] = v->u; break;
    case UG_DTYPE_U32: ((uint32_t *)data)[i] = (uint32_t)v->u; break;
    case UG_DTYPE_U16: ((uint16_t *)data)[i] = (uint16_t)v->u; break;
    case UG_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)v->u; break;
    case UG_DTYPE_BOOL: ((uint8_t *)data)[i] = (uint8_t)v->i; break;
    default: return perr_at(p, at, "%s constants cannot be written inline", ug_dtype_name(dt));
  }
  return NULL;
}

typedef struct {
  const char *name;
  bool dense;
  ug_num_t *elems;
  size_t n;
  bool list;
  uint64_t hash;
  size_t at;
} ug_constlit_t;

static ug_status_t const_body(ug_parser_t *p, ug_constlit_t *c) {
  skip_ws(p);
  c->at = p->pos;
  if (accept(p, "@")) UG_RETURN_IF_ERROR(name_tok(p, &c->name, NULL));
  if (accept(p, "dense")) {
    c->dense = true;
    UG_RETURN_IF_ERROR(expect(p, "<"));
    size_t cap = 16;
    c->elems = ug_arena_alloc(p->m->arena, cap * sizeof(ug_num_t));
    if (accept(p, "[")) {
      c->list = true;
      if (!accept(p, "]")) {
        do {
          if (c->n == cap) {
            if (cap >= UG_PARSE_MAX_DENSE) return PERR(p, "too many elements in dense<...>");
            ug_num_t *ne = ug_arena_alloc(p->m->arena, cap * 2 * sizeof(ug_num_t));
            memcpy(ne, c->elems, cap * sizeof(ug_num_t));
            c->elems = ne;
            cap *= 2;
          }
          UG_RETURN_IF_ERROR(number(p, &c->elems[c->n++]));
        } while (accept(p, ","));
        UG_RETURN_IF_ERROR(expect(p, "]"));
      }
    } else {
      UG_RETURN_IF_ERROR(number(p, &c->elems[c->n++]));
    }
    return expect(p, ">");
  }
  if (accept(p, "<")) {
    if (!accept(p, "0x")) return PERR(p, "expected a hash <0x...>");
    int digits = 0;
    while (hexval(peekc(p)) >= 0 && digits < 16) {
      c->hash = c->hash << 4 | (uint64_t)hexval(peekc(p));
      p->pos++;
      digits++;
    }
    if (digits != 16) return PERR(p, "a weight hash has 16 hex digits");
    return expect(p, ">");
  }
  return PERR(p, "expected dense<...> or a hash <0x...> after const");
}

/* Rewrites an error from graph construction so that it points at `at`. */
static ug_status_t relocate(ug_parser_t *p, size_t at, ug_status_t st) {
  if (!st) return NULL;
  ug_status_t r = ug_status_origin(st)[0]
      ? perr_at(p, at, "%s: %s", ug_status_origin(st), ug_status_message(st))
      : perr_at(p, at, "%s", ug_status_message(st));
  ug_status_free(st);
  return r;
}

static ug_status_t make_const(ug_parser_t *p, const ug_constlit_t *c, const ug_type_t *t,
                              ug_weight_id_t *out) {
  int64_t numel, bytes;
  if (!ug_type_is_static(t) || !ug_type_static_numel(t, &numel) || !ug_dtype_bytes(t->dtype, numel, &bytes))
    return perr_at(p, c->at, "a constant needs a static type of reasonable size");
  if (!c->dense)
    return relocate(p, c->at, ug_module_add_weight(p->m, c->name, t, NULL, (uint64_t)bytes, c->hash, out));
  if (!ug_text_inline_dtype(t->dtype))
    return perr_at(p, c->at, "%s constants cannot be written inline", ug_dtype_name(t->dtype));
  if (c->list ? (int64_t)c->n != numel : numel < 1)
    return perr_at(p, c->at, "dense<...> has %zu elements but the type holds %lld", c->n, (long long)numel);
  if (numel > UG_PARSE_MAX_DENSE || bytes > UG_PARSE_MAX_DENSE_BYTES - p->dense_bytes)
    return perr_at(p, c->at, "inline constant too large (%lld elements); write its hash <0x...> instead",
                   (long long)numel);
  p->dense_bytes += bytes;
  void *data = ug_arena_alloc(p->m->arena, (size_t)(bytes ? bytes : 1));
  for (int64_t i = 0; i < numel; i++)
    UG_RETURN_IF_ERROR(store_element(p, c->at, t->dtype, data, i, &c->elems[c->list ? i : 0]));
  return relocate(p, c->at, ug_module_add_weight(p->m, c->name, t, data, (uint64_t)bytes, 0, out));
}

/* ---- attributes ---- */

static ug_status_t attr_value(ug_parser_t *p, ug_attr_key_t k, ug_attr_t *out) {
  out->key = k;
  ug_num_t v;
  size_t at = (skip_ws(p), p->pos);
  switch (ug_attr_kind(k)) {
    case UG_AK_INT:
      UG_RETURN_IF_ERROR(number(p, &v));
      if (!v.is_int || v.is_bool) return perr_at(p, at, "attribute '%s' takes an integer", ug_attr_name(k));
      if (!int_fits(&v, INT64_MIN, INT64_MAX, 0)) return perr_at(p, at, "attribute '%s' out of range", ug_attr_name(k));
      out->u.i = v.i;
      return NULL;
    case UG_AK_FLOAT:
      UG_RETURN_IF_ERROR(number(p, &v));
      if (v.is_bool) return perr_at(p, at, "attribute '%s' takes a number", ug_attr_name(k));
      out->u.f = v.f;
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
      /* Grown in the arena as needed: a short list must not cost UG_PARSE_MAX_LIST. */
      UG_VEC(int64_t) iv = {0};
      UG_VEC(double) fv = {0};
      if (!accept(p, "]")) {
        do {
          if (iv.len == UG_PARSE_MAX_LIST) return PERR(p, "list too long");
          UG_RETURN_IF_ERROR(number(p, &v));
          if (v.is_bool || (ints && !v.is_int))
            return perr_at(p, at, "attribute '%s' takes a list of %s", ug_attr_name(k), ints ? "integers" : "numbers");
          if (ints && !int_fits(&v, INT64_MIN, INT64_MAX, 0))
            return perr_at(p, at, "attribute '%s' out of range", ug_attr_name(k));
          if (ints) {
            UG_VEC_PUSH(p->m->arena, &iv, v.i);
          } else {
            UG_VEC_PUSH(p->m->arena, &fv, v.f);
          }
        } while (accept(p, ","));
        UG_RETURN_IF_ERROR(expect(p, "]"));
      }
      if (ints) {
        out->u.ints.v = iv.items;
        out->u.ints.n = (uint32_t)iv.len;
      } else {
        out->u.floats.v = fv.items;
        out->u.floats.n = (uint32_t)fv.len;
      }
      return NULL;
    }
  }
  return NULL;
}

static ug_status_t attr_dict(ug_parser_t *p, ug_attr_t *attrs, uint32_t *n) {
  *n = 0;
  if (!accept(p, "{")) return NULL;
  if (accept(p, "}")) return NULL;
  do {
    const char *s;
    size_t at = (skip_ws(p), p->pos);
    size_t len = symbol(p, &s);
    ug_attr_key_t k;
    if (!len || !ug_attr_from_name(s, len, &k)) return perr_at(p, at, "unknown attribute '%.*s'", (int)len, s);
    if (*n == UG_ATTR_COUNT) return perr_at(p, at, "too many attributes");
    UG_RETURN_IF_ERROR(expect(p, "="));
    UG_RETURN_IF_ERROR(attr_value(p, k, &attrs[(*n)++]));
  } while (accept(p, ","));
  return expect(p, "}");
}

/* ---- statements and graphs ---- */

#define UG_PARSE_MAX_RESULTS 64
#define UG_PARSE_MAX_OPERANDS 1024

static ug_status_t loc_opt(ug_parser_t *p, const char **loc) {
  *loc = NULL;
  if (!accept(p, "loc")) return NULL;
  UG_RETURN_IF_ERROR(expect(p, "("));
  UG_RETURN_IF_ERROR(string_lit(p, loc));
  return expect(p, ")");
}

static ug_status_t statement(ug_parser_t *p) {
  size_t at = (skip_ws(p), p->pos);
  const char *names[UG_PARSE_MAX_RESULTS], *keys[UG_PARSE_MAX_RESULTS];
  uint32_t nres = 0;
  do {
    if (nres == UG_PARSE_MAX_RESULTS) return PERR(p, "too many results");
    UG_RETURN_IF_ERROR(value_def(p, &names[nres], &keys[nres]));
    for (uint32_t i = 0; i < nres; i++)
      if (strcmp(keys[i], keys[nres]) == 0 && !names[i] == !names[nres]) return PERR(p, "result defined twice");
    nres++;
  } while (accept(p, ","));
  UG_RETURN_IF_ERROR(expect(p, "="));
  const char *opname;
  size_t op_at = (skip_ws(p), p->pos);
  size_t oplen = symbol(p, &opname);
  ug_op_t op;
  if (!oplen || !ug_op_from_name(opname, oplen, &op)) return perr_at(p, op_at, "unknown op '%.*s'", (int)oplen, opname);

  ug_type_t types[UG_PARSE_MAX_RESULTS];
  ug_value_id_t results[UG_PARSE_MAX_RESULTS];
  const char *loc;
  if (op == UG_OP_CONST) {
    if (nres != 1) return perr_at(p, at, "const has one result");
    ug_constlit_t c = {0};
    UG_RETURN_IF_ERROR(const_body(p, &c));
    UG_RETURN_IF_ERROR(expect(p, ":"));
    UG_RETURN_IF_ERROR(type_lit(p, &types[0]));
    UG_RETURN_IF_ERROR(loc_opt(p, &loc));
    ug_weight_id_t w;
    UG_RETURN_IF_ERROR(make_const(p, &c, &types[0], &w));
    UG_RETURN_IF_ERROR(relocate(p, at, ug_graph_add_const(p->g, w, loc, &results[0])));
  } else {
    UG_VEC(ug_value_id_t) operands = {0};
    skip_ws(p);
    if (peekc(p) == '%' || peekc(p) == '_') {
      do {
        if (operands.len == UG_PARSE_MAX_OPERANDS) return PERR(p, "too many operands");
        ug_value_id_t v;
        UG_RETURN_IF_ERROR(value_ref(p, &v, true));
        UG_VEC_PUSH(p->m->arena, &operands, v);
      } while (accept(p, ","));
    }
    ug_attr_t attrs[UG_ATTR_COUNT];
    uint32_t nattrs;
    UG_RETURN_IF_ERROR(attr_dict(p, attrs, &nattrs));
    UG_RETURN_IF_ERROR(expect(p, ":"));
    for (uint32_t i = 0; i < nres; i++) {
      if (i) UG_RETURN_IF_ERROR(expect(p, ","));
      UG_RETURN_IF_ERROR(type_lit(p, &types[i]));
    }
    UG_RETURN_IF_ERROR(loc_opt(p, &loc));
    UG_RETURN_IF_ERROR(relocate(p, op_at, ug_graph_add_node(p->g, op, operands.items, (uint32_t)operands.len, attrs, nattrs, types,
                                                            nres, loc, results, NULL)));
  }
  for (uint32_t i = 0; i < nres; i++) {
    p->g->values.items[results[i]].name = names[i];
    if (p->used * 2 >= p->nslots) slot_grow(p);
    bind(p, keys[i], !names[i], results[i]);
  }
  return NULL;
}

static ug_status_t graph(ug_parser_t *p) {
  size_t at = (skip_ws(p), p->pos);
  UG_RETURN_IF_ERROR(expect(p, "graph"));
  UG_RETURN_IF_ERROR(expect(p, "@"));
  const char *gname;
  UG_RETURN_IF_ERROR(name_tok(p, &gname, NULL));
  if (ug_module_find_graph(p->m, gname)) return perr_at(p, at, "graph @%s is defined twice", gname);
  p->g = ug_module_add_graph(p->m, gname);
  p->slots = NULL;
  p->nslots = p->used = 0;
  slot_grow(p);
  UG_RETURN_IF_ERROR(expect(p, "("));
  if (!accept(p, ")")) {
    do {
      const char *name, *key;
      UG_RETURN_IF_ERROR(value_def(p, &name, &key));
      UG_RETURN_IF_ERROR(expect(p, ":"));
      bool state = accept(p, "state ");
      ug_type_t t;
      UG_RETURN_IF_ERROR(type_lit(p, &t));
      ug_value_id_t in = ug_graph_add_input(p->g, name, &t);
      ug_value(p->g, in)->state = state;
      bind(p, key, !name, in);
      if (p->used * 2 >= p->nslots) slot_grow(p);
    } while (accept(p, ","));
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  UG_RETURN_IF_ERROR(expect(p, "->"));
  UG_RETURN_IF_ERROR(expect(p, "("));
  UG_VEC(const char *) out_names = {0};
  UG_VEC(ug_type_t) out_types = {0};
  if (!accept(p, ")")) {
    do {
      const char *name;
      UG_RETURN_IF_ERROR(name_tok(p, &name, NULL));
      UG_RETURN_IF_ERROR(expect(p, ":"));
      ug_type_t t;
      UG_RETURN_IF_ERROR(type_lit(p, &t));
      UG_VEC_PUSH(p->m->arena, &out_names, name);
      UG_VEC_PUSH(p->m->arena, &out_types, t);
    } while (accept(p, ","));
    UG_RETURN_IF_ERROR(expect(p, ")"));
  }
  UG_RETURN_IF_ERROR(expect(p, "{"));
  for (;;) {
    skip_ws(p);
    if (accept(p, "return")) break;
    if (p->pos >= p->len) return PERR(p, "unexpected end of input: missing 'return'");
    UG_RETURN_IF_ERROR(statement(p));
  }
  size_t ret_at = p->pos;
  size_t k = 0;
  skip_ws(p);
  if (peekc(p) == '%') {
    do {
      ug_value_id_t v;
      UG_RETURN_IF_ERROR(value_ref(p, &v, false));
      if (k >= out_names.len) return perr_at(p, ret_at, "return has more values than the signature");
      if (!ug_type_equal(ug_value_type(p->g, v), &out_types.items[k])) {
        char a[256], b[256];
        ug_type_format(p->m->dims, ug_value_type(p->g, v), a, sizeof(a));
        ug_type_format(p->m->dims, &out_types.items[k], b, sizeof(b));
        return perr_at(p, ret_at, "returned value %zu is %s but the signature says %s", k, a, b);
      }
      ug_graph_add_output(p->g, v, out_names.items[k++]);
    } while (accept(p, ","));
  }
  if (k != out_names.len) return perr_at(p, ret_at, "return has %zu values but the signature %zu", k, out_names.len);
  return expect(p, "}");
}

ug_status_t ug_parse_module(const char *text, size_t len, const char *filename, ug_module_t **out) {
  *out = NULL;
  ug_parser_t p = {.text = text, .len = len, .file = filename ? filename : "<input>"};
  p.m = ug_module_create();
  ug_status_t st = NULL;
  for (;;) {
    skip_ws(&p);
    if (p.pos >= p.len) break;
    st = graph(&p);
    if (st) break;
  }
  if (!st && p.m->graphs.len == 0) st = PERR(&p, "no graph in input");
  if (st) {
    ug_module_destroy(p.m);
    return st;
  }
  *out = p.m;
  return NULL;
}

ug_status_t ug_parse_file(const char *path, ug_module_t **out) {
  char *text;
  size_t len;
  *out = NULL;
  UG_RETURN_IF_ERROR(ug_read_file(path, &text, &len));
  ug_status_t st = ug_parse_module(text, len, path, out);
  free(text);
  return st;
}
