#!/usr/bin/env bash
# The ONNX conformance suites on a GPU, with models compiled here.
#
#   scripts/device/conformance-cuda.sh prepare [BUILD_DIR]   here (ugcc needs LLVM)
#   scripts/device/conformance-cuda.sh run                   on the GPU machine
#
# prepare compiles every case with --target=cuda:sm_90a (cubins for H100/H200;
# the CUDA-only model.so holds no CPU code, so nothing can silently run on the
# CPU) into a runner work directory, and packs it with the test data, the
# runner, libugrt and libprotobuf-c into .device/conf.tar.xz (ignored by git).
# With the device tool:
#   run(command="scripts/device/conformance-cuda.sh run", carry=[".device/conf.tar.xz"])
# run unpacks it, runs the suites with --precompiled --device=cuda against
# tests/conformance/expected_pass_cpu.txt (REGRESSION lines = cases that pass
# on the CPU and not on the GPU), then the cases again under
# compute-sanitizer memcheck (UG_MEMCHECK=0 skips it), and writes the logs to
# $OUT (or .device/conf-out). UG_PLAIN=0 skips the plain pass (memcheck groups
# only, for the second and later calls of a memcheck run split by UG_MC_LETTERS).
set -euo pipefail
cd "$(dirname "$0")/../.."
case ${1:-} in
prepare)
  build=${2:-build}
  dst=.device/conf
  rm -rf "$dst" .device/conf.tar.xz && mkdir -p "$dst/lib" "$dst/data"
  mkdir -p "$(git rev-parse --git-dir)/info"
  grep -qx '/.device/' "$(git rev-parse --git-dir)/info/exclude" 2>/dev/null || echo '/.device/' >> "$(git rev-parse --git-dir)/info/exclude"
  "$build/tests/conformance/conformance-runner" --ugcc="$build/tools/ugcc" --target=cuda:sm_90a \
    --compile-only --keep-dir --work-dir="$dst/models" --jobs="$(nproc)" > "$dst/compile.log" 2>&1 || true
  tail -1 "$dst/compile.log"
  # only the compiled models travel
  find "$dst/models" -type f ! -name model.so -delete
  cp -r /usr/share/libonnx-testdata/data/{node,pytorch-converted,pytorch-operator,simple} "$dst/data/"
  cp "$build/tests/conformance/conformance-runner" "$dst/"
  cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
  cp -L "$(ldconfig -p | awk '/libprotobuf-c.so.1 /{print $NF; exit}')" "$dst/lib/"
  cp tests/conformance/expected_pass_cpu.txt "$dst/"
  tar -C .device -cJf .device/conf.tar.xz conf
  rm -rf "$dst"
  du -h .device/conf.tar.xz
  ;;
run)
  out=${OUT:-.device/conf-out}
  mkdir -p "$out"
  work=$(mktemp -d)
  tar -C "$work" -xJf .device/conf.tar.xz
  c=$work/conf
  export LD_LIBRARY_PATH=$c/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  roots="$c/data/node $c/data/pytorch-converted $c/data/pytorch-operator $c/data/simple"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
  set +e
  if [ "${UG_PLAIN:-1}" != 0 ]; then
    # the device is shared by the workers: a few at a time
    "$c/conformance-runner" --precompiled="$c/models" --device=cuda --jobs=8 --timeout=300 \
      --expect="$c/expected_pass_cpu.txt" --list-passing="$out/pass_cuda.txt" $roots > "$out/conformance-cuda.log" 2>&1
    echo "conformance exit $?" >> "$out/conformance-cuda.log"
    grep -E '^(suite |[0-9]+ passed)' "$out/conformance-cuda.log"
    grep -c '^REGRESSION' "$out/conformance-cuda.log" | sed 's/$/ regressions against the CPU list/'
  fi
  if [ "${UG_MEMCHECK:-1}" != 0 ] && command -v compute-sanitizer >/dev/null; then
    # all cases once more under memcheck (the runner's forked workers too), a group of cases
    # per compute-sanitizer: one run over all 1072 crashes the tool itself (exit 139, before any
    # report; compute-sanitizer 2025.3.1). Groups: each suite, the node suite by first letter,
    # and a letter whose run crashes again by its first two letters. All groups take longer
    # than one device call (600 s) after the plain pass: UG_MC_LETTERS picks the node suite's
    # letters (default all) and UG_MC_SUITES=0 skips the other suites, so that two calls
    # (UG_MC_LETTERS="a b c d e f g h i j k l m", then the rest with UG_MC_SUITES=0) cover all;
    # UG_PLAIN=0 leaves the plain pass out of the later calls.
    : > "$out/memcheck.log"
    mc() {  # mc ROOT FILTER: one group; prints the tool's exit status
      timeout 300 compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
        "$c/conformance-runner" --precompiled="$c/models" --device=cuda --jobs=4 --timeout=600 \
        --filter="$2" "$1" > "$work/mc.log" 2>&1
      local e=$?
      { echo "== $1 $2: exit $e"; cat "$work/mc.log"; } >> "$out/memcheck.log"
      return $e
    }
    for r in $roots; do
      if [ "$(basename "$r")" != node ]; then
        [ "${UG_MC_SUITES:-1}" = 0 ] || mc "$r" test_
        continue
      fi
      for l in ${UG_MC_LETTERS:-a b c d e f g h i j k l m n o p q r s t u v w x y z}; do
        mc "$r" "test_$l" && continue
        [ $? = 139 ] || continue
        for m in a b c d e f g h i j k l m n o p q r s t u v w x y z; do mc "$r" "test_$l$m"; done
      done
    done
    echo "memcheck: $(grep -c '^========= Invalid\|^========= Program hit' "$out/memcheck.log") error reports;" \
      "$(grep '^========= ERROR SUMMARY' "$out/memcheck.log" | grep -vc ' 0 errors') processes with errors;" \
      "$(grep -E '^[0-9]+ passed' "$out/memcheck.log" | awk '{p += $1} END {print p + 0}') passing cases checked;" \
      "$(grep -c ': exit 139$' "$out/memcheck.log") groups where the tool crashed"
  fi
  rm -rf "$work"
  ;;
*)
  echo "usage: $0 prepare [BUILD_DIR] | run" >&2
  exit 2
  ;;
esac
