/* The ONNX conformance runner: shared declarations of the driver (runner.c)
 * and the per-case worker (run_case.c). */
#ifndef UG_CONFORMANCE_RUNNER_H
#define UG_CONFORMANCE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CASE_PASS, CASE_FAIL, CASE_SKIP } case_result_t;

typedef struct {
  const char *ugcc;     /* compiler binary */
  const char *target;   /* --target for ugcc ("cpu") */
  const char *device;   /* runtime device ("cpu") */
  bool compile_only;    /* pass when ugcc succeeds; nothing is run */
  const char *precompiled; /* DIR: run DIR/<suite>/<case>.so instead of compiling */
  double rtol, atol;
} case_config_t;

/* Runs one case directory (model.onnx + test_data_set_*) using work_dir for
 * the compiled model.  Writes a one-line reason for FAIL and SKIP. */
case_result_t run_case(const case_config_t *cfg, const char *case_dir, const char *work_dir,
                       char *reason, size_t reason_len);

/* Why a model is out of scope by design (training ops; sequence, map,
 * optional or string types), or NULL when it is in scope or cannot be read
 * (reading errors are left to the compiler to report). */
const char *case_out_of_scope(const char *model_path, char *buf, size_t len);

#endif
