/* The text form of the graph IR (grammar: docs/ir.md).  What this prints is
 * exactly what ir/parse.c reads: print(parse(text)) == text for printed text. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/text.h"

/* Constants up to this many elements print their data inline. */
#define UG_INLINE_MAX 16

typedef struct {
  ug_graph_t *g;
  FILE *f;
  const char **names; /* per value: printed name, NULL = number */
  uint32_t *numbers;
} ug_printer_t;

bool ug_text_is_ident(const char *s) {
  if (!s || !*s) return false;
  if (s[0] == '/' && s[1] == '/') return false; /* would read as a comment */
  bool digits = true;
  for (const char *p = s; *p; p++) {
    if (!ug_text_ident_char(*p)) return false;
    if (!isdigit((unsigned char)*p)) digits = false;
  }
  return !digits;
}

void ug_text_print_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p < 0x20 || *p >= 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

/* Whether text read back as dtype dt gives exactly v's bits. */
static bool reads_back(const char *buf, double v, ug_dtype_t dt) {
  double r = strtod(buf, NULL);
  switch (dt) {
    case UG_DTYPE_F32: return (float)r == (float)v;
    case UG_DTYPE_F16: return ug_f32_to_f16((float)r) == ug_f32_to_f16((float)v);
    case UG_DTYPE_BF16: return ug_f32_to_bf16((float)r) == ug_f32_to_bf16((float)v);
    default: return r == v;
  }
}

/* Shortest decimal form that reads back to the same value of dtype dt,
 * always with a '.' or an exponent so that it lexes as a float. */
static void print_real(FILE *f, double v, ug_dtype_t dt) {
  if (isnan(v)) {
    fputs(signbit(v) ? "-nan" : "nan", f);
    return;
  }
  if (isinf(v)) {
    fputs(v < 0 ? "-inf" : "inf", f);
    return;
  }
  char buf[40];
  /* Integral values print plainly (65504.0, not 6.55e+04). */
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(buf, sizeof(buf), "%.1f", v);
    fputs(buf, f);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (reads_back(buf, v, dt)) break;
  }
  if (!strpbrk(buf, ".e")) strcat(buf, ".0");
  fputs(buf, f);
}

void ug_text_print_double(FILE *f, double v) { print_real(f, v, UG_DTYPE_F64); }

static void print_name(FILE *f, const char *s) {
  if (ug_text_is_ident(s))
    fputs(s, f);
  else
    ug_text_print_string(f, s);
}

static void print_value(ug_printer_t *p, ug_value_id_t v) {
  if (v == UG_NONE) {
    fputs("_", p->f);
    return;
  }
  fputc('%', p->f);
  if (p->names[v])
    print_name(p->f, p->names[v]);
  else
    fprintf(p->f, "%u", p->numbers[v]);
}

static void print_type(ug_printer_t *p, const ug_type_t *t) {
  char buf[1024];
  int n = ug_type_format(p->g->module->dims, t, buf, sizeof(buf));
  if (n >= 0 && (size_t)n < sizeof(buf)) {
    fputs(buf, p->f);
    return;
  }
  /* Long symbolic dims: never print a truncated type. */
  char *big = malloc((size_t)n + 1);
  UG_ASSERT(big);
  ug_type_format(p->g->module->dims, t, big, (size_t)n + 1);
  fputs(big, p->f);
  free(big);
}

void ug_text_print_attr(FILE *f, const ug_attr_t *a) {
  fprintf(f, "%s=", ug_attr_name(a->key));
  switch (ug_attr_kind(a->key)) {
    case UG_AK_INT: fprintf(f, "%lld", (long long)a->u.i); break;
    case UG_AK_FLOAT: ug_text_print_double(f, a->u.f); break;
    case UG_AK_STRING: ug_text_print_string(f, a->u.s); break;
    case UG_AK_DTYPE: fputs(ug_dtype_name(a->u.dtype), f); break;
    case UG_AK_INTS:
      fputc('[', f);
      for (uint32_t i = 0; i < a->u.ints.n; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)a->u.ints.v[i]);
      fputc(']', f);
      break;
    case UG_AK_FLOATS:
      fputc('[', f);
      for (uint32_t i = 0; i < a->u.floats.n; i++) {
        if (i) fputs(", ", f);
        ug_text_print_double(f, a->u.floats.v[i]);
      }
      fputc(']', f);
      break;
  }
}

static void print_element(FILE *f, ug_dtype_t dt, const void *data, int64_t i) {
  switch (dt) {
    case UG_DTYPE_F64: ug_text_print_double(f, ((const double *)data)[i]); break;
    case UG_DTYPE_F32: print_real(f, ((const float *)data)[i], dt); break;
    case UG_DTYPE_F16: print_real(f, ug_f16_to_f32(((const uint16_t *)data)[i]), dt); break;
    case UG_DTYPE_BF16: print_real(f, ug_bf16_to_f32(((const uint16_t *)data)[i]), dt); break;
    case UG_DTYPE_I64: fprintf(f, "%lld", (long long)((const int64_t *)data)[i]); break;
    case UG_DTYPE_I32: fprintf(f, "%d", ((const int32_t *)data)[i]); break;
    case UG_DTYPE_I16: fprintf(f, "%d", ((const int16_t *)data)[i]); break;
    case UG_DTYPE_I8: fprintf(f, "%d", ((const int8_t *)data)[i]); break;
    case UG_DTYPE_U64: fprintf(f, "%llu", (unsigned long long)((const uint64_t *)data)[i]); break;
    case UG_DTYPE_U32: fprintf(f, "%u", ((const uint32_t *)data)[i]); break;
    case UG_DTYPE_U16: fprintf(f, "%u", ((const uint16_t *)data)[i]); break;
    case UG_DTYPE_U8: fprintf(f, "%u", ((const uint8_t *)data)[i]); break;
    case UG_DTYPE_BOOL: fputs(((const uint8_t *)data)[i] ? "true" : "false", f); break;
    default: UG_UNREACHABLE();
  }
}

/* Element i of a float constant as a double; false for other dtypes. */
static bool float_element(ug_dtype_t dt, const void *data, int64_t i, double *out) {
  switch (dt) {
    case UG_DTYPE_F64: *out = ((const double *)data)[i]; return true;
    case UG_DTYPE_F32: *out = ((const float *)data)[i]; return true;
    case UG_DTYPE_F16: *out = ug_f16_to_f32(((const uint16_t *)data)[i]); return true;
    case UG_DTYPE_BF16: *out = ug_bf16_to_f32(((const uint16_t *)data)[i]); return true;
    default: return false;
  }
}

/* Whether elements i and j print the same: equal bits, or NaNs of one sign
 * (a NaN prints as nan or -nan whatever its payload, so NaNs with different
 * payloads must not print as a list that reads back as a splat). */
static bool same_text(ug_dtype_t dt, const void *data, int64_t i, int64_t j) {
  size_t esz = (size_t)ug_dtype_bits(dt) / 8;
  if (memcmp((const char *)data + (size_t)i * esz, (const char *)data + (size_t)j * esz, esz) == 0) return true;
  double x, y;
  return float_element(dt, data, i, &x) && float_element(dt, data, j, &y) && isnan(x) && isnan(y) &&
         !signbit(x) == !signbit(y);
}

bool ug_text_inline_dtype(ug_dtype_t dt) {
  return !ug_dtype_is_quant(dt) && dt != UG_DTYPE_F8E4M3 && dt != UG_DTYPE_F8E5M2;
}

static void print_const(ug_printer_t *p, const ug_node_t *n) {
  FILE *f = p->f;
  const ug_weight_t *w = &p->g->module->weights.items[n->weight];
  int64_t numel = 0;
  ug_type_static_numel(&w->type, &numel);
  fputs("const", f);
  if (w->name) {
    fputs(" @", f);
    print_name(f, w->name);
  }
  /* inline: up to UG_INLINE_MAX elements, or a splat of any size (the
   * scan stops at the first element that differs) */
  bool inl = w->data && ug_text_inline_dtype(w->type.dtype), splat = inl && numel >= 1;
  for (int64_t i = 1; i < numel && splat; i++) splat = same_text(w->type.dtype, w->data, 0, i);
  if (inl && (numel <= UG_INLINE_MAX || splat)) {
    fputs(" dense<", f);
    if (splat) {
      print_element(f, w->type.dtype, w->data, 0);
    } else {
      fputc('[', f);
      for (int64_t i = 0; i < numel; i++) {
        if (i) fputs(", ", f);
        print_element(f, w->type.dtype, w->data, i);
      }
      fputc(']', f);
    }
    fputc('>', f);
  } else {
    fprintf(f, " <0x%016llx>", (unsigned long long)w->hash);
  }
}

static void print_node(ug_printer_t *p, const ug_node_t *n) {
  ug_graph_t *g = p->g;
  FILE *f = p->f;
  fputs("  ", f);
  for (uint32_t i = 0; i < n->num_results; i++) {
    if (i) fputs(", ", f);
    print_value(p, ug_node_result(g, n, i));
  }
  fputs(" = ", f);
  if (n->op == UG_OP_CONST) {
    print_const(p, n);
  } else {
    fputs(ug_op_info(n->op)->name, f);
    for (uint32_t i = 0; i < n->num_operands; i++) {
      fputs(i ? ", " : " ", f);
      print_value(p, ug_node_operand(g, n, i));
    }
    if (n->num_attrs) {
      fputs(" {", f);
      for (uint32_t i = 0; i < n->num_attrs; i++) {
        if (i) fputs(", ", f);
        ug_text_print_attr(p->f, &ug_node_attrs(g, n)[i]);
      }
      fputc('}', f);
    }
  }
  fputs(" : ", f);
  for (uint32_t i = 0; i < n->num_results; i++) {
    if (i) fputs(", ", f);
    print_type(p, ug_value_type(g, ug_node_result(g, n, i)));
  }
  if (n->loc) {
    fputs(" loc(", f);
    ug_text_print_string(f, n->loc);
    fputc(')', f);
  }
  fputc('\n', f);
}

/* Names print as given when they are identifiers and unique; other values
 * are numbered in definition order. */
static void assign_names(ug_printer_t *p) {
  ug_graph_t *g = p->g;
  size_t nv = g->values.len;
  p->names = calloc(nv + 1, sizeof(char *));
  p->numbers = calloc(nv + 1, sizeof(uint32_t));
  UG_ASSERT(p->names && p->numbers);
  uint32_t next = 0;
  /* Definition order: inputs, then results node by node. */
  ug_value_id_t *seq = malloc((nv + 1) * sizeof(*seq));
  UG_ASSERT(seq);
  size_t ns = 0;
  for (size_t i = 0; i < g->inputs.len; i++) seq[ns++] = g->inputs.items[i];
  for (size_t i = 0; i < g->nodes.len; i++) {
    const ug_node_t *n = &g->nodes.items[i];
    if (n->dead) continue;
    for (uint32_t r = 0; r < n->num_results; r++) seq[ns++] = ug_node_result(g, n, r);
  }
  /* The names taken so far, in an open-addressing set (a linear scan per
   * value would be quadratic in the size of the graph). */
  size_t nset = 16;
  while (nset < 2 * ns) nset *= 2;
  const char **set = calloc(nset, sizeof(*set));
  UG_ASSERT(set);
  for (size_t k = 0; k < ns; k++) {
    ug_value_id_t v = seq[k];
    const char *name = g->values.items[v].name;
    bool unique = name != NULL;
    if (unique) {
      uint64_t h = 1469598103934665603ull;
      for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
      size_t i = (size_t)h & (nset - 1);
      while (set[i] && strcmp(set[i], name) != 0) i = (i + 1) & (nset - 1);
      unique = set[i] == NULL;
      set[i] = name;
    }
    if (unique)
      p->names[v] = name;
    else
      p->numbers[v] = next++;
  }
  free(set);
  free(seq);
}

void ug_print_graph(ug_graph_t *g, FILE *f) {
  ug_printer_t p = {.g = g, .f = f};
  assign_names(&p);
  fputs("graph @", f);
  print_name(f, g->name);
  fputc('(', f);
  for (size_t i = 0; i < g->inputs.len; i++) {
    if (i) fputs(", ", f);
    print_value(&p, g->inputs.items[i]);
    fputs(ug_value(g, g->inputs.items[i])->state ? ": state " : ": ", f);
    print_type(&p, ug_value_type(g, g->inputs.items[i]));
  }
  fputs(") -> (", f);
  for (size_t i = 0; i < g->outputs.len; i++) {
    if (i) fputs(", ", f);
    print_name(f, g->output_names.items[i]);
    fputs(": ", f);
    print_type(&p, ug_value_type(g, g->outputs.items[i]));
  }
  fputs(") {\n", f);
  for (size_t i = 0; i < g->nodes.len; i++)
    if (!g->nodes.items[i].dead) print_node(&p, &g->nodes.items[i]);
  fputs("  return", f);
  for (size_t i = 0; i < g->outputs.len; i++) {
    fputs(i ? ", " : " ", f);
    print_value(&p, g->outputs.items[i]);
  }
  fputs("\n}\n", f);
  free(p.names);
  free(p.numbers);
}

void ug_print_module(ug_module_t *m, FILE *f) {
  for (size_t i = 0; i < m->graphs.len; i++) {
    if (i) fputc('\n', f);
    ug_print_graph(m->graphs.items[i], f);
  }
}

char *ug_print_module_to_string(ug_module_t *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  ug_print_module(m, f);
  fclose(f);
  return buf;
}
