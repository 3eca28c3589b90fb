/* The kernel IR of a whole module as text (--emit=kir, --dump-ir's
 * NN-kernels.kir): the graphs are planned and every step lowered with
 * codegen/kir_lower.h; steps not lowered yet are comments. */
#ifndef UG_CODEGEN_KIR_TEXT_H
#define UG_CODEGEN_KIR_TEXT_H

#include "ir/ir.h"

/* A malloc'd string (caller frees). */
ug_status_t ug_codegen_kir_text(ug_module_t *m, char **out_text);

#endif
