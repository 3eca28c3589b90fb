#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, tests/fuzz/) and runs
# each in turn for a fixed time or number of executions.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Environment:
#   FUZZ_RUNS=N    stop a target after N executions instead (the time still caps it)
#   FUZZ_BUILD=DIR build directory (default build-fuzz)
#   FUZZ_JOBS=N    build parallelism (default 2)
#   FUZZ_NICE=N    niceness of the fuzzers (default 10)
#   FUZZ_KEEP_GOING=1  fork mode: record every crash, leak, timeout or OOM and go on
#                  (for long runs past a known finding; counts come from the last
#                  status line instead of the final stats)
#   FUZZ_ALLOW_PENDING=1  a finding in a target that has known findings waiting in
#                  tests/fuzz/pending/ is reported but does not fail the script
#                  (the directory is absent when none wait: every finding fails)
# Seeds come from tests/fuzz/corpus/<target>/ (read only); what the fuzzer
# learns goes to $FUZZ_BUILD/corpus/<target>/, logs to $FUZZ_BUILD/logs/, and a
# crash, leak, timeout or out-of-memory input to $FUZZ_BUILD/crashes/<target>/.
# A finding makes the script exit 1 after the other targets ran.  Add the
# input to tests/fuzz/corpus/<target>/ together with the fix, so that ctest
# (fuzz.<target>) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
runs=${FUZZ_RUNS:--1}
bd=${FUZZ_BUILD:-build-fuzz}
CC=${CC:-clang} cmake -S . -B "$bd" -DUG_FUZZ=ON -DUG_ENABLE_LLVM=OFF -DUG_ENABLE_ONNX=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # Every target this configuration builds (tests/fuzz/CMakeLists.txt lists
  # them), the fastest known ones first.
  enabled=$(tr "\n" " " <"$bd/tests/fuzz/targets.txt")
  targets=()
  for t in fuzz_tensor_io fuzz_model_header fuzz_ugir fuzz_onnx $enabled; do
    case " $enabled " in *" $t "*) ;; *) continue ;; esac
    case " ${targets[*]-} " in *" $t "*) ;; *) targets+=("$t") ;; esac
  done
fi
cmake --build "$bd" -j"${FUZZ_JOBS:-2}" --target "${targets[@]}"
mkdir -p "$bd/logs"
failed=()
for t in "${targets[@]}"; do
  bin=$(find "$bd/tests/fuzz" -maxdepth 1 -type f -name "$t" -perm -u+x | head -1)
  work="$bd/corpus/$t"
  mkdir -p "$work" "$bd/crashes/$t"
  log="$bd/logs/$t.log"
  echo "== $t: up to ${secs}s$([ "$runs" -ge 0 ] && echo ", $runs runs")"
  rc=0
  stamp="$bd/logs/$t.start"
  touch "$stamp"
  extra=()
  seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds+=("tests/fuzz/corpus/$t")
  if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
    extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$secs" -runs="$runs" -timeout=25 \
    -rss_limit_mb=2048 -artifact_prefix="$bd/crashes/$t/" -print_final_stats=1 \
    ${extra[@]+"${extra[@]}"} "$work" ${seeds[@]+"${seeds[@]}"} >"$log" 2>&1 || rc=$?
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "$log" |
    tr -s ' ' | paste -sd ' ' || true
  if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
    grep -E "^#[0-9]+: cov" "$log" | tail -1 || true
    n=$(find "$bd/crashes/$t" -type f -newer "$stamp" | wc -l)
    [ "$n" -eq 0 ] || { echo "!! $t: $n new inputs in $bd/crashes/$t/"; rc=1; }
  fi
  if [ "$rc" -ne 0 ]; then
    echo "!! $t: finding (exit $rc), see $log:"
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5 || true
    if [ "${FUZZ_ALLOW_PENDING:-0}" = 1 ] && ls tests/fuzz/pending/"$t"-* >/dev/null 2>&1; then
      echo "!! $t has pending findings (tests/fuzz/pending/README.md): not failing"
    else
      failed+=("$t")
    fi
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: no findings"
