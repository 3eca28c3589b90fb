#!/usr/bin/env bash
# The graphs of tests/cuda/graphs/weights (linear with float and
# block-quantized weights, gather + cast of quantized tables, scatter_nd in
# place) run on the GPU against their expected values (NumPy / gguf-py,
# written by tests/cuda/gen_linear_graphs.py), and under compute-sanitizer.
# Those graphs carry their weights as `// E2E weight` lines, which plain ugcc
# cannot read, so scripts/device/cuda-compare.sh leaves them out.
#
#   scripts/device/cuda-weights-check.sh prepare [BUILD_DIR]   here
#   scripts/device/cuda-weights-check.sh run                   on the GPU machine
#
# prepare writes .device/cuda-weights/ (ignored by git): each graph compiled
# --target=cpu,cuda by tests/cuda/cuda_weights, the graph files (their E2E
# lines), tests/cuda/e2e_cuda_run and libugrt.  With the device tool:
#   run(command="scripts/device/cuda-weights-check.sh run", carry=[".device/cuda-weights"])
# run prints one line per output (e2e_cuda_run: max error against the
# expected values, two runs: launches, then the captured CUDA graph) and
# "N failed"; with compute-sanitizer on the PATH each model also runs under
# memcheck (SANITIZE=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/../.."
dst=.device/cuda-weights
case ${1:-} in
prepare)
  build=${2:-build}
  rm -rf "$dst" && mkdir -p "$dst/lib"
  mkdir -p "$(git rev-parse --git-dir)/info"
  grep -qx '/.device/' "$(git rev-parse --git-dir)/info/exclude" 2>/dev/null || echo '/.device/' >> "$(git rev-parse --git-dir)/info/exclude"
  for g in tests/cuda/graphs/weights/*.ugir; do
    n=$(basename "$g" .ugir)
    "$build/tests/cuda/cuda_weights" "$g" "$dst/$n.so" --target=cpu,cuda
    cp "$g" "$dst/"
  done
  cp "$build/tests/cuda/e2e_cuda_run" "$dst/"
  cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
  du -sh "$dst"
  ;;
run)
  export LD_LIBRARY_PATH=$PWD/$dst/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  bad=0
  for so in "$dst"/*.so; do
    n=$(basename "$so" .so)
    echo "== $n"
    if ! "$dst/e2e_cuda_run" "$so" "$dst/$n.ugir"; then
      bad=$((bad + 1))
      continue
    fi
    if [ "${SANITIZE:-1}" != 0 ] && command -v compute-sanitizer > /dev/null; then
      compute-sanitizer --tool memcheck --error-exitcode 3 "$dst/e2e_cuda_run" "$so" "$dst/$n.ugir" > "$dst/$n.memcheck" 2>&1 \
        || { echo "memcheck FAILED (see $dst/$n.memcheck)"; tail -20 "$dst/$n.memcheck"; bad=$((bad + 1)); }
    fi
  done
  echo "$bad failed"
  [ "$bad" = 0 ]
  ;;
*)
  echo "usage: $0 prepare [BUILD_DIR] | run" >&2
  exit 2
  ;;
esac
