/* The op and attribute tables, generated from ir/ops.def and ir/attrs.def. */
#include <string.h>

#include "ir/ir.h"

static const ug_op_info_t ug_ops[] = {
#define UG_OP(id, name, mi, ma, nr, cat, props, attrs) {name, mi, ma, nr, UG_CAT_##cat, props, attrs},
#include "ir/ops.def"
#undef UG_OP
};

typedef struct {
  const char *name;
  ug_attr_kind_t kind;
} ug_attr_info_t;

static const ug_attr_info_t ug_attrs[] = {
#define UG_ATTR(id, name, kind) {name, UG_AK_##kind},
#include "ir/attrs.def"
#undef UG_ATTR
};

const ug_op_info_t *ug_op_info(ug_op_t op) {
  UG_ASSERT((unsigned)op < UG_OP_COUNT);
  return &ug_ops[op];
}

bool ug_op_from_name(const char *name, size_t len, ug_op_t *out) {
  for (int i = 0; i < UG_OP_COUNT; i++) {
    if (strlen(ug_ops[i].name) == len && memcmp(ug_ops[i].name, name, len) == 0) {
      *out = (ug_op_t)i;
      return true;
    }
  }
  return false;
}

const char *ug_category_name(ug_category_t c) {
  static const char *names[] = {"elementwise", "reduction", "contraction", "movement", "opaque"};
  return (unsigned)c < 5 ? names[c] : "?";
}

const char *ug_attr_name(ug_attr_key_t k) { return (unsigned)k < UG_ATTR_COUNT ? ug_attrs[k].name : "?"; }
ug_attr_kind_t ug_attr_kind(ug_attr_key_t k) {
  UG_ASSERT((unsigned)k < UG_ATTR_COUNT);
  return ug_attrs[k].kind;
}

bool ug_attr_from_name(const char *name, size_t len, ug_attr_key_t *out) {
  for (int i = 0; i < UG_ATTR_COUNT; i++) {
    if (strlen(ug_attrs[i].name) == len && memcmp(ug_attrs[i].name, name, len) == 0) {
      *out = (ug_attr_key_t)i;
      return true;
    }
  }
  return false;
}

/* Scans the op's attribute spec ("axis keepdims? ...") for k. */
bool ug_op_accepts_attr(ug_op_t op, ug_attr_key_t k, bool *out_required) {
  if (k == UG_ATTR_KERNEL) { /* the fuse pass's grouping, on any op */
    if (out_required) *out_required = false;
    return true;
  }
  const char *p = ug_op_info(op)->attrs;
  const char *want = ug_attr_name(k);
  size_t wl = strlen(want);
  while (*p) {
    while (*p == ' ') p++;
    const char *s = p;
    while (*p && *p != ' ' && *p != '?') p++;
    size_t len = (size_t)(p - s);
    bool optional = *p == '?';
    if (optional) p++;
    if (len == wl && memcmp(s, want, len) == 0) {
      if (out_required) *out_required = !optional;
      return true;
    }
  }
  return false;
}
