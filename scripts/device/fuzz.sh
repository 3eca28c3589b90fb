#!/usr/bin/env bash
# Long fuzz runs on a many-core machine (the GPU machine has 16 cores; its
# GPU is not used).  The libFuzzer binaries are built here (scripts/fuzz.sh,
# clang, ASan + UBSan) and carried with their seed corpora:
#
#   scripts/device/fuzz.sh prepare [FUZZ_BUILD]   here (default build-fuzz)
#   scripts/device/fuzz.sh run SECONDS [TARGET...]  there (default: fuzz_onnx fuzz_gguf)
#
# run gives each target half the cores (-fork=N) for SECONDS and prints the
# executions of each (the sum over its fork workers) and its findings; the
# logs and any crashing input go to $OUT.  With the device tool:
#   run(command="scripts/device/fuzz.sh run 240", carry=[".device/fuzz"])
set -euo pipefail
cd "$(dirname "$0")/../.."
case ${1:-} in
prepare)
  bd=${2:-build-fuzz}
  dst=.device/fuzz
  rm -rf "$dst" && mkdir -p "$dst/lib"
  for t in fuzz_onnx fuzz_gguf fuzz_ugir; do
    cp "$bd/tests/fuzz/$t" "$dst/"
    mkdir -p "$dst/corpus-$t"
  done
  cp -r tests/fuzz/corpus/fuzz_onnx/. "$dst/corpus-fuzz_onnx/"
  cp -r tests/fuzz/corpus/fuzz_ugir/. "$dst/corpus-fuzz_ugir/"
  cp -r tests/gguf/fixtures/. "$dst/corpus-fuzz_gguf/"   # the GGUF seeds live with the GGUF tests
  cp -L "$(ldconfig -p | awk '/libprotobuf-c.so.1 /{print $NF; exit}')" "$dst/lib/"
  du -sh "$dst"
  ;;
run)
  secs=${2:-240}
  shift 2 || true
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=(fuzz_onnx fuzz_gguf)
  out=${OUT:-.device/fuzz-out}
  mkdir -p "$out"
  d=.device/fuzz
  export LD_LIBRARY_PATH=$PWD/$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  n=$(( $(nproc) / ${#targets[@]} ))
  [ "$n" -ge 1 ] || n=1
  for t in "${targets[@]}"; do
    mkdir -p "$out/$t-crashes" "$d/work-$t"
    cp -r "$d/corpus-$t/." "$d/work-$t/"
    ( "$d/$t" -fork="$n" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$secs" \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/$t-crashes/" "$d/work-$t" \
        > "$out/$t.log" 2>&1 || true ) &
  done
  wait
  for t in "${targets[@]}"; do
    # fork mode's status lines: "#N: cov: ... exec/s: ... oom/timeout/crash: a/b/c ..."
    last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1)
    echo "$t: ${secs}s x $n workers: ${last:-no status line}; findings: $(ls "$out/$t-crashes" | wc -l)"
  done
  ;;
*)
  echo "usage: $0 prepare [FUZZ_BUILD] | run SECONDS [TARGET...]" >&2
  exit 2
  ;;
esac
