/* software-pipeline, the first kernel-IR pass (docs/kernel-ir.md,
 * "Passes"): a K loop in the plain form the contraction lowering writes —
 *
 *   for %k = lb to ub step s iter(...) pipeline(Smax) {
 *     <index math>; %x = load %G[...]; store %Xs[0], %x; ...   (copies)
 *     barrier
 *     <ops reading %Xs[0]>            (mma)
 *     barrier                         (optional)
 *     yield ...
 *   }
 *
 * — becomes the cp.async form: the shared buffers grow to S stages, a
 * prologue issues tiles 0 .. S-2 (one commit group each), and a loop over
 * the trips waits until tile i has landed (`wait {pending=S-2}`), passes a
 * barrier, refills the stage that tile i-1 used with tile i+S-1 (inside
 * `if i+S-1 < trips`; the commit stays outside, one group an iteration)
 * and computes tile i from stage i mod S; a `wait {pending=0}` follows it.
 * The last S-1 iterations commit empty groups instead of a drain loop.
 * The bounds may be index values (a split-K rank's share of K): the trips
 * are then index math.  Fills (tile math ending in a store into a stage:
 * im2col tiles) are computed S-1 tiles ahead and stored after tile i's
 * math; when every fill is a gather of runs with zeros where masked, they
 * become `async_gather`s issued with the copies instead (no registers in
 * flight: S-1 tiles of latency hidden, not one).
 *
 * S comes from the target's model: S-1 tiles in flight must cover the
 * memory latency while one tile is computed (the loop's mma flops at the
 * block's share of the tensor-core rate), S is at least 2, at most the
 * loop's pipeline(Smax), what the shared-memory budget holds and (when
 * static) the loop's trip count. */
#ifndef UG_CODEGEN_KIR_PIPELINE_H
#define UG_CODEGEN_KIR_PIPELINE_H

#include "ir/kir.h"

typedef struct {
  uint64_t smem_bytes;  /* shared memory a block may give to the stages */
  double latency_ns;    /* a global load's latency under load */
  double flops_per_ns;  /* tensor-core rate of one block (its SM's rate / blocks per SM) */
} ug_kir_swp_model_t;

/* The CUDA backend's model (an H100: 228 KB of shared memory and about
 * 990 dense f16 TFLOP/s over 132 SMs, two blocks each; 700 ns for a load
 * under load), which gives a 128x128x32 f16 tile 4 stages. */
extern const ug_kir_swp_model_t ug_kir_gpu_swp_model;

/* Rewrites the first top-level loop of k marked pipeline(S > 1) that is in
 * the plain form.  *out is the new kernel, which replaces k in its module
 * (k itself when nothing matched, *out_stages then 0). */
ug_status_t ug_kir_software_pipeline(ug_kir_kernel_t *k, const ug_kir_swp_model_t *m, ug_kir_kernel_t **out,
                                     uint32_t *out_stages);

#endif
