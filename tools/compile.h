/* The compile driver behind the ugcc tool. */
#ifndef UG_TOOLS_COMPILE_H
#define UG_TOOLS_COMPILE_H

#include "ugcc/ugcc.h"

/* Reads o->input_path (.onnx, .gguf or .ugir) into a verified module. */
ug_status_t ug_compile_load(const ug_compile_options_t *o, ug_module_t **out);
/* Load, run the passes, and emit o->output_path as o->emit says.  A failure
 * leaves no output file. */
ug_status_t ug_compile(const ug_compile_options_t *o);
/* Whether --target=targets runs on CUDA GPUs alone, so that the default
 * pipeline chooses layouts for them (ug_pass_options_t gpu_layout). */
bool ug_compile_gpu_only(const char *targets);

#endif
