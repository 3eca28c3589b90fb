/* The text form of the kernel IR (grammar: docs/kernel-ir.md).  What this
 * prints is exactly what ir/kir_parse.c reads: print(parse(text)) == text for
 * printed text.  Values print under their names when those are identifiers
 * and unique in the kernel; the others are numbered in the order their
 * definitions appear in the text. */
#include <stdlib.h>
#include <string.h>

#include "ir/kir.h"
#include "ir/text.h"

typedef struct {
  ug_kir_kernel_t *k;
  FILE *f;
  const char **names; /* per value: printed name, NULL = number */
  uint32_t *numbers;
  uint32_t next;
  const char **set; /* names taken, open addressing */
  size_t nset;
} ug_kprinter_t;

static void print_name(FILE *f, const char *s) {
  if (ug_text_is_ident(s))
    fputs(s, f);
  else
    ug_text_print_string(f, s);
}

static void print_value(ug_kprinter_t *p, ug_kir_value_id_t v) {
  if (v >= p->k->values.len) {
    fputs("%?", p->f);
    return;
  }
  fputc('%', p->f);
  if (p->names[v])
    print_name(p->f, p->names[v]);
  else
    fprintf(p->f, "%u", p->numbers[v]);
}

static void print_dim(ug_kprinter_t *p, ug_dim_t d) {
  char buf[256];
  int n = ug_dim_format(p->k->module->dims, d, buf, sizeof(buf));
  if (n >= 0 && (size_t)n < sizeof(buf)) {
    fputs(buf, p->f);
    return;
  }
  char *big = malloc((size_t)n + 1);
  UG_ASSERT(big);
  ug_dim_format(p->k->module->dims, d, big, (size_t)n + 1);
  fputs(big, p->f);
  free(big);
}

static void print_type(ug_kprinter_t *p, const ug_kir_type_t *t) {
  char buf[512];
  int n = ug_kir_type_format(p->k->module->dims, t, buf, sizeof(buf));
  if (n >= 0 && (size_t)n < sizeof(buf)) {
    fputs(buf, p->f);
    return;
  }
  char *big = malloc((size_t)n + 1);
  UG_ASSERT(big);
  ug_kir_type_format(p->k->module->dims, t, big, (size_t)n + 1);
  fputs(big, p->f);
  free(big);
}

static void print_scalar(ug_kprinter_t *p, const ug_kir_operand_t *a) {
  if (a->value == UG_NONE)
    print_dim(p, a->imm);
  else
    print_value(p, a->value);
}

static void print_operand(ug_kprinter_t *p, const ug_kir_operand_t *a) {
  print_scalar(p, a);
  if (!a->access) return;
  fputc('[', p->f);
  for (uint32_t i = 0; i < a->nidx; i++) {
    if (i) fputs(", ", p->f);
    print_scalar(p, ug_kir_index(p->k, a, i));
  }
  fputc(']', p->f);
}

static void print_attr(FILE *f, const ug_kir_attr_t *a) {
  if (a->graph) {
    ug_text_print_attr(f, &a->g);
    return;
  }
  fprintf(f, "%s=", ug_kir_attr_name(a->key));
  switch (ug_kir_attr_kind(a->key)) {
    case UG_KAK_INT: fprintf(f, "%lld", (long long)a->i); break;
    case UG_KAK_FLOAT: ug_text_print_double(f, a->f); break;
    case UG_KAK_OP: fputs((unsigned)a->op < UG_OP_COUNT ? ug_op_info(a->op)->name : "?", f); break;
  }
}

static void print_loc(ug_kprinter_t *p, const ug_kir_op_data_t *o) {
  if (!o->loc) return;
  fputs(" loc(", p->f);
  ug_text_print_string(p->f, o->loc);
  fputc(')', p->f);
}

static void indent(ug_kprinter_t *p, int depth) {
  for (int i = 0; i < depth; i++) fputs("  ", p->f);
}

static void print_region(ug_kprinter_t *p, ug_kir_region_id_t r, int depth);

static void print_results(ug_kprinter_t *p, const ug_kir_op_data_t *o) {
  if (!o->num_results) return;
  for (uint32_t i = 0; i < o->num_results; i++) {
    if (i) fputs(", ", p->f);
    print_value(p, ug_kir_result(p->k, o, i));
  }
  fputs(" = ", p->f);
}

static void print_for(ug_kprinter_t *p, const ug_kir_op_data_t *o, int depth) {
  ug_kir_kernel_t *k = p->k;
  const ug_kir_region_t *body = ug_kir_region(k, o->regions);
  fputs("for ", p->f);
  print_value(p, ug_kir_region_arg(k, body, 0));
  fputs(" = ", p->f);
  print_scalar(p, ug_kir_operand(k, o, 0));
  fputs(" to ", p->f);
  print_scalar(p, ug_kir_operand(k, o, 1));
  fputs(" step ", p->f);
  print_scalar(p, ug_kir_operand(k, o, 2));
  if (o->num_operands > 3) {
    fputs(" iter(", p->f);
    for (uint32_t i = 3; i < o->num_operands; i++) {
      if (i > 3) fputs(", ", p->f);
      ug_kir_value_id_t arg = ug_kir_region_arg(k, body, i - 2);
      print_value(p, arg);
      fputs(" = ", p->f);
      print_scalar(p, ug_kir_operand(k, o, i));
      fputs(" : ", p->f);
      print_type(p, ug_kir_value_type(k, arg));
    }
    fputc(')', p->f);
  }
  if (o->stages) fprintf(p->f, " pipeline(%u)", o->stages);
  print_loc(p, o);
  fputs(" {\n", p->f);
  print_region(p, o->regions, depth + 1);
  indent(p, depth);
  fputs("}\n", p->f);
}

static void print_if(ug_kprinter_t *p, const ug_kir_op_data_t *o, int depth) {
  ug_kir_kernel_t *k = p->k;
  fputs("if ", p->f);
  print_scalar(p, ug_kir_operand(k, o, 0));
  if (o->num_results) {
    fputs(" -> (", p->f);
    for (uint32_t i = 0; i < o->num_results; i++) {
      if (i) fputs(", ", p->f);
      print_type(p, ug_kir_value_type(k, ug_kir_result(k, o, i)));
    }
    fputc(')', p->f);
  }
  print_loc(p, o);
  fputs(" {\n", p->f);
  print_region(p, o->regions, depth + 1);
  indent(p, depth);
  if (ug_kir_region(k, o->regions + 1)->ops.len) {
    fputs("} else {\n", p->f);
    print_region(p, o->regions + 1, depth + 1);
    indent(p, depth);
  }
  fputs("}\n", p->f);
}

static void print_role(ug_kprinter_t *p, const ug_kir_op_data_t *o, int depth) {
  fprintf(p->f, "role %s warps(%u, %u)", o->role == UG_KIR_ROLE_PRODUCER ? "producer" : "consumer", o->warp_lo,
          o->warp_hi);
  if (o->regs) fprintf(p->f, " regs(%u)", o->regs);
  print_loc(p, o);
  fputs(" {\n", p->f);
  print_region(p, o->regions, depth + 1);
  indent(p, depth);
  fputs("}\n", p->f);
}

static void print_op(ug_kprinter_t *p, ug_kir_op_id_t id, int depth) {
  ug_kir_kernel_t *k = p->k;
  const ug_kir_op_data_t *o = ug_kir_op(k, id);
  indent(p, depth);
  print_results(p, o);
  switch (o->op) {
    case UG_KIR_FOR: print_for(p, o, depth); return;
    case UG_KIR_IF: print_if(p, o, depth); return;
    case UG_KIR_ROLE: print_role(p, o, depth); return;
    default: break;
  }
  if (o->op == UG_KIR_EW)
    fputs((unsigned)o->ew < UG_OP_COUNT ? ug_op_info(o->ew)->name : "?", p->f);
  else
    fputs(ug_kir_op_info(o->op)->name, p->f);
  for (uint32_t i = 0; i < o->num_operands; i++) {
    fputs(i ? ", " : " ", p->f);
    print_operand(p, ug_kir_operand(k, o, i));
  }
  if (o->num_attrs) {
    fputs(" {", p->f);
    for (uint32_t i = 0; i < o->num_attrs; i++) {
      if (i) fputs(", ", p->f);
      print_attr(p->f, &ug_kir_attrs(k, o)[i]);
    }
    fputc('}', p->f);
  }
  if (o->num_results) {
    fputs(" : ", p->f);
    for (uint32_t i = 0; i < o->num_results; i++) {
      if (i) fputs(", ", p->f);
      print_type(p, ug_kir_value_type(k, ug_kir_result(k, o, i)));
    }
  }
  print_loc(p, o);
  fputc('\n', p->f);
}

static void print_region(ug_kprinter_t *p, ug_kir_region_id_t r, int depth) {
  const ug_kir_region_t *reg = ug_kir_region(p->k, r);
  for (size_t i = 0; i < reg->ops.len; i++) print_op(p, reg->ops.items[i], depth);
}

/* ---- naming ---- */

static void name_value(ug_kprinter_t *p, ug_kir_value_id_t v) {
  if (v >= p->k->values.len) return;
  const char *name = p->k->values.items[v].name;
  bool unique = name != NULL;
  if (unique) {
    uint64_t h = 1469598103934665603ull;
    for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    size_t i = (size_t)h & (p->nset - 1);
    while (p->set[i] && strcmp(p->set[i], name) != 0) i = (i + 1) & (p->nset - 1);
    unique = p->set[i] == NULL;
    p->set[i] = name;
  }
  if (unique)
    p->names[v] = name;
  else
    p->numbers[v] = p->next++;
}

/* Text order: an op's results, then (for a for loop) its induction variable
 * and iter args, then the ops of its regions. */
static void name_region(ug_kprinter_t *p, ug_kir_region_id_t r) {
  ug_kir_kernel_t *k = p->k;
  const ug_kir_region_t *reg = ug_kir_region(k, r);
  for (size_t i = 0; i < reg->ops.len; i++) {
    const ug_kir_op_data_t *o = ug_kir_op(k, reg->ops.items[i]);
    for (uint32_t j = 0; j < o->num_results; j++) name_value(p, ug_kir_result(k, o, j));
    for (uint32_t j = 0; j < o->num_regions; j++) {
      const ug_kir_region_t *sub = ug_kir_region(k, o->regions + j);
      for (uint32_t a = 0; a < sub->num_args; a++) name_value(p, ug_kir_region_arg(k, sub, a));
      name_region(p, o->regions + j);
    }
  }
}

void ug_kir_print_kernel(ug_kir_kernel_t *k, FILE *f) {
  size_t nv = k->values.len;
  ug_kprinter_t p = {.k = k, .f = f};
  p.names = calloc(nv + 1, sizeof(*p.names));
  p.numbers = calloc(nv + 1, sizeof(*p.numbers));
  p.nset = 16;
  while (p.nset < 2 * nv) p.nset *= 2;
  p.set = calloc(p.nset, sizeof(*p.set));
  UG_ASSERT(p.names && p.numbers && p.set);
  for (size_t i = 0; i < k->params.len; i++) name_value(&p, k->params.items[i]);
  name_region(&p, k->body);

  fputs("kernel @", f);
  print_name(f, k->name);
  fputc('(', f);
  for (size_t i = 0; i < k->params.len; i++) {
    if (i) fputs(", ", f);
    print_value(&p, k->params.items[i]);
    fputs(": ", f);
    print_type(&p, ug_kir_value_type(k, k->params.items[i]));
  }
  fputs(") grid(", f);
  for (int i = 0; i < k->grid_rank; i++) {
    if (i) fputs(", ", f);
    print_dim(&p, k->grid[i]);
  }
  fputc(')', f);
  if (k->cluster > 1) fprintf(f, " cluster(%u)", k->cluster);
  fprintf(f, " block(warps=%u) {\n", k->warps);
  print_region(&p, k->body, 1);
  fputs("}\n", f);
  free(p.names);
  free(p.numbers);
  free(p.set);
}

void ug_kir_print_module(ug_kir_module_t *m, FILE *f) {
  for (size_t i = 0; i < m->kernels.len; i++) {
    if (i) fputc('\n', f);
    ug_kir_print_kernel(m->kernels.items[i], f);
  }
}

char *ug_kir_print_module_to_string(ug_kir_module_t *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  ug_kir_print_module(m, f);
  fclose(f);
  return buf;
}
