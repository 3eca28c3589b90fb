#!/bin/sh
# Runs one test file's graph through the CUDA emulation (tests/cuda/emu):
#   emu_check.sh TEST.ugir BUILD_DIR WORK_DIR [UGCC_FLAGS...]
# compiles it for cuda (through tests/cuda/cuda_weights when its weights are
# `// E2E weight` lines, else ugcc) with --dump-ir, builds the emulation
# library of the generated CUDA source, and runs e2e_cuda_run (libugrt's
# cuda device) against the file's `// E2E` values.  A file with an `// E2E error`
# line must fail to compile for cuda (the CPU's message is not checked).
set -eu
test=$1 build=$2 work=$3
shift 3
extra="$*" # ugcc flags: words without spaces
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$test" .ugir)
rm -rf "$work/$name" && mkdir -p "$work/$name"
d=$work/$name
compile() {
  if grep -q '^// E2E weight ' "$test"; then
    "$build/tests/cuda/cuda_weights" "$test" "$d/model.so" --target=cuda:compute_80 $extra --dump-ir="$d/dump"
  else
    "$build/tools/ugcc" "$test" --target=cuda:compute_80 $extra --dump-ir="$d/dump" -o "$d/model.so"
  fi
}
if grep -q '^// E2E error ' "$test"; then
  if compile 2>"$d/err"; then echo "compiled for cuda, but the test expects an error"; exit 1; fi
  cat "$d/err"
  exit 0
fi
compile
python3 "$here/emu_build.py" "$d"/dump/*-cuda.cu "$d/libemucuda.so"
UGRT_LIBCUDA="$d/libemucuda.so" "$build/tests/cuda/e2e_cuda_run" "$d/model.so" "$test"
