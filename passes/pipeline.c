/* The default pipeline, one readable function. */
#include "passes/pass.h"

void ug_pass_manager_add_default(ug_pass_manager_t *pm, int opt_level) {
  if (opt_level <= 0) return;
  /* Clean up what the importer produced, then fold what is now constant. */
  ug_pass_manager_add(pm, UG_PASS_canonicalize);
  ug_pass_manager_add(pm, UG_PASS_const_fold);
  /* BatchNormalization after a conv becomes the conv's weight and bias
   * (after const-fold, which may have computed its parameters). */
  ug_pass_manager_add(pm, UG_PASS_fold_bn);
  /* GPU only: convolutions channels last; the canonicalize below merges the
   * transposes this leaves back to back. */
  if (ug_pass_manager_options(pm)->gpu_layout) ug_pass_manager_add(pm, UG_PASS_layout);
  /* Folding exposes new identities (x*1 after a folded scale). */
  ug_pass_manager_add(pm, UG_PASS_canonicalize);
  ug_pass_manager_add(pm, UG_PASS_cse);
  ug_pass_manager_add(pm, UG_PASS_dce);
  /* Last: group what runs as one kernel; nothing after it may break groups. */
  ug_pass_manager_add(pm, UG_PASS_fuse);
}
