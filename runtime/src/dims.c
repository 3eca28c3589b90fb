/* Evaluation and text form of the header's dim-expression table. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

void ugrt__plan_dims(const ugrt_model_header_t *h, const ugrt_abi_entry_t *en, const ugrt_abi_plan_t *p,
                     bool *need) {
  memset(need, 0, h->num_dim_exprs * sizeof *need);
#define NEED(d) \
  do { \
    if ((d) < 0) need[ugrt__dim_index(d)] = true; \
  } while (0)
  for (uint32_t i = 0; i < en->num_inputs; i++)
    for (uint32_t d = 0; d < en->inputs[i].rank; d++) NEED(en->inputs[i].dims[d]);
  for (uint32_t i = 0; i < en->num_outputs; i++)
    for (uint32_t d = 0; d < en->outputs[i].rank; d++) NEED(en->outputs[i].dims[d]);
  for (uint32_t b = 0; b < p->num_buffers; b++) NEED(p->buffers[b].size);
  for (uint32_t k = 0; k < p->num_steps; k++)
    for (int j = 0; j < 3; j++) NEED(p->steps[k].grid[j]);
  for (uint32_t i = h->num_dim_exprs; i-- > 0;) {
    const ugrt_abi_dimexpr_t *x = &h->dim_exprs[i];
    if (!need[i] || x->kind == UGRT_DX_SYM) continue;
    NEED(x->a);
    NEED(x->b);
  }
#undef NEED
}

ugrt_status_t ugrt__eval_dims(const ugrt_allocator_t *a, const ugrt_model_header_t *h,
                              const bool *bound, const bool *need, int64_t *vals) {
  /* An expression over a symbol this run does not bind (another entry's) is
   * "unknown": 0, and an error only when the plan needs it.  Arithmetic on
   * known values that divides by zero or overflows is always an error. */
  uint8_t unknown_small[256];
  uint8_t *unknown = h->num_dim_exprs <= sizeof unknown_small ? unknown_small : ugrt__calloc(a, h->num_dim_exprs, 1);
  if (!unknown) return ugrt__status_oom();
  memset(unknown, 0, h->num_dim_exprs);
  ugrt_status_t st = NULL;
  for (uint32_t i = 0; i < h->num_dim_exprs && !st; i++) {
    const ugrt_abi_dimexpr_t *x = &h->dim_exprs[i];
    bool needed = !need || need[i];
    if (x->kind == UGRT_DX_SYM) {
      if (!bound[i]) {
        if (needed)
          st = ugrt__status(a, UGRT_FAILED_PRECONDITION, "symbol \"%s\" is not bound by any input shape", x->name);
        unknown[i] = 1;
        vals[i] = 0;
      }
      continue;
    }
    if ((x->a < 0 && unknown[ugrt__dim_index(x->a)]) || (x->b < 0 && unknown[ugrt__dim_index(x->b)])) {
      unknown[i] = 1;
      vals[i] = 0;
      continue;
    }
    int64_t l = ugrt__dim_value(x->a, vals), r = ugrt__dim_value(x->b, vals), v = 0;
    bool bad = false;
    switch (x->kind) {
      case UGRT_DX_ADD: bad = __builtin_add_overflow(l, r, &v); break;
      case UGRT_DX_SUB: bad = __builtin_sub_overflow(l, r, &v); break;
      case UGRT_DX_MUL: bad = __builtin_mul_overflow(l, r, &v); break;
      case UGRT_DX_DIV:
      case UGRT_DX_MOD:
        if (r == 0) {
          st = ugrt__status(a, UGRT_OUT_OF_RANGE, "dim expression %u divides %lld by zero", i, (long long)l);
          bad = true;
          break;
        }
        if (l == INT64_MIN && r == -1) {
          bad = true;
          break;
        }
        v = floor_div(l, r);
        if (x->kind == UGRT_DX_MOD) v = l - v * r;
        break;
      case UGRT_DX_MAX: v = l > r ? l : r; break;
      case UGRT_DX_MIN: v = l < r ? l : r; break;
      default: bad = true; break;
    }
    if (bad && !st)
      st = ugrt__status(a, UGRT_OUT_OF_RANGE,
                        "dim expression %u overflows int64 (operands %lld, %lld)", i,
                        (long long)l, (long long)r);
    if (bad) unknown[i] = 1;
    vals[i] = bad ? 0 : v;
  }
  if (unknown != unknown_small) ugrt__free(a, unknown);
  return st;
}
