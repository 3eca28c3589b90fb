/* The kernel IR of a whole module as text (--emit=kir, --dump-ir's
 * NN-kernels.kir and NN-software-pipeline.kir): the graphs are planned and
 * every step lowered with codegen/kir_lower.h; steps not lowered yet are
 * comments.  Matmul steps are lowered once per kind of target in `targets`
 * (a --target list): for tensor cores when it names cuda, then, when
 * `pipelined`, rewritten by the software-pipeline pass
 * (codegen/kir_pipeline.h); with the CPU's tiles when it names a CPU. */
#ifndef UG_CODEGEN_KIR_TEXT_H
#define UG_CODEGEN_KIR_TEXT_H

#include "ir/ir.h"

/* A malloc'd string (caller frees). */
ug_status_t ug_codegen_kir_text(ug_module_t *m, const char *targets, bool pipelined, bool prefer_kir,
                                char **out_text);

#endif
