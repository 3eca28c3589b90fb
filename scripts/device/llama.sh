#!/usr/bin/env bash
# GGUF language models on the GPU machine: the tiny llama / qwen2 fixtures
# against PyTorch's logits (tests/gguf/llama/), then Llama-shaped 1B models
# written there by bench/make_llama_gguf.py (random weights in F16, Q8_0,
# Q4_0), compiled there by ugcc, checked against HuggingFace on the GPU
# (--ref) and timed by ugcc-run --prompt, next to the copy-bandwidth ceiling
# and HuggingFace eager (bench/llama_peer.py).
#
#   scripts/device/llama.sh prepare [BUILD_DIR [nofix]]  here: .device/llama.tar.xz (ugcc,
#                                  ugcc-run, llama_check, libugrt, their libraries, gguf-py and,
#                                  unless nofix, the fixtures compiled for CUDA)
#   scripts/device/llama.sh fixtures              on the GPU machine, with the device tool:
#   scripts/device/llama.sh big [TYPES] [PRESET]      run(command="scripts/device/llama.sh big",
#                                                         carry=[".device/llama.tar.xz"])
# Logs and a summary table go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

setup() {
  out=${OUT:-.device/llama-out}
  mkdir -p "$out" /tmp/ugl
  rm -rf /tmp/ugl/llama && tar -C /tmp/ugl -xJf .device/llama.tar.xz
  e=/tmp/ugl/llama
  cudalib=$(dirname "$(find /usr/local/cuda/ /usr/local/lib/python3*/dist-packages/nvidia -name 'libnvrtc.so.1*' 2>/dev/null | head -1)")
  export UGCC_NVRTC=$(ls "$cudalib"/libnvrtc.so.1* | head -1)
  export LD_LIBRARY_PATH=$e/lib
  UGCC=$e/bin/ugcc RUN=$e/bin/ugcc-run CHECK=$e/bin/llama_check
}

case ${1:-} in
prepare)
  build=${2:-build}
  dst=.device/llama
  rm -rf "$dst" && mkdir -p "$dst/bin" "$dst/lib" "$dst/gguf-py"
  cp -L "$build/tools/ugcc" "$build/tools/ugcc-run" "$build/tests/gguf/llama_check" "$dst/bin/"
  cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
  for b in "$build/tools/ugcc" "$build/tools/ugcc-run"; do
    ldd "$b" | awk '/=> \//{print $3}' | grep -v -E '/lib(c|m)\.so\.6$' | while read -r l; do cp -L "$l" "$dst/lib/"; done
  done
  # the fixtures, compiled here for CUDA (NVRTC is slow on their ~100 kernels;
  # the weights are embedded since the .gguf paths differ there)
  mkdir -p "$dst/fixtures"
  [ "${3:-}" = nofix ] || for g in tests/gguf/llama/*.gguf; do
    n=$(basename "$g" .gguf)
    dts=f32
    case $n in llama-f16|qwen2-q8_0|llama-q4_0) dts="f32 f16" ;; esac
    for dt in $dts; do echo "$g $dt $dst/fixtures/$n-$dt.so"; done
  done | xargs -P 2 -L 1 sh -c '"$0" "$1" --target=cuda --dtype=$2 --weights=embed -o "$3"' "$build/tools/ugcc"
  pip download -q gguf==0.19.0 --no-deps -d .device/wheels
  python3 -m zipfile -e .device/wheels/gguf-0.19.0-*.whl "$dst/gguf-py"
  tar -C .device -cf - llama | xz -T2 -6 > .device/llama.tar.xz
  rm -rf "$dst"
  du -sh .device/llama.tar.xz
  ;;
fixtures)
  setup
  {
    printf '| fixture | target | dtype | result |\n|---|---|---|---|\n'
    for so in "$e"/fixtures/*.so; do
      b=$(basename "$so" .so) n=${b%-*} dt=${b##*-}
      tol=1e-3
      [ "$dt" = f16 ] && tol=3e-2
      flags=""
      [ "$n" = llama-f32 ] && [ "$dt" = f32 ] && flags=--greedy
      if $CHECK "$so" "tests/gguf/llama/$n.ref" --device=cuda --tol=$tol $flags > "$out/$b.log" 2>&1; then r=OK; else r=FAIL; fi
      if [ -n "${SANITIZE:-}" ] && [ "$dt" = f32 ]; then
        compute-sanitizer --tool memcheck "$CHECK" "$so" "tests/gguf/llama/$n.ref" --device=cuda --tol=$tol > "$out/$b.memcheck.log" 2>&1 || true
        r="$r, memcheck: $(grep -E 'ERROR SUMMARY' "$out/$b.memcheck.log" | head -1)"
      fi
      printf '| %s | cuda | %s | %s: %s |\n' "$n" "$dt" "$r" "$(grep -E 'prefill |decode  |two calls|saved cache|greedy' "$out/$b.log" | awk -F': ' '{printf "%s; ", $2}')"
    done
  } | tee "$out/fixtures.md"
  ;;
big)
  setup
  types=${2:-f16,q8_0,q4_0}
  preset=${3:-1b}
  python3 bench/llama_peer.py --preset "$preset" | tee "$out/peer.json"
  bw=$(python3 -c "import json,sys; print(json.load(open('$out/peer.json'))['copy_gbps'])")
  printf '| model | file MiB | compile s | check (f16 act.) | prefill tok/s | decode tok/s | roofline tok/s | %% of roofline |\n|---|---|---|---|---|---|---|---|\n' > "$out/big.md"
  for t in ${types//,/ }; do
    g=/tmp/ugl/$preset-$t.gguf so=/tmp/ugl/$preset-$t.so
    # deterministic (seeded): a file left by an earlier run on this machine is reused
    [ -s "${g%.gguf}.ref" ] || python3 bench/make_llama_gguf.py --gguf-py "$e/gguf-py" --preset "$preset" --type "$t" \
      --out "$g" --ref "${g%.gguf}.ref" --n-decode 8 > "$out/$preset-$t.make.log" 2>&1
    t0=$(date +%s.%N)
    $UGCC "$g" --target=cuda --dtype=f16 --ctx=1024 -o "$so" > "$out/$preset-$t.compile.log" 2>&1
    ct=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
    if $CHECK "$so" "${g%.gguf}.ref" --device=cuda --tol=5e-2 > "$out/$preset-$t.check.log" 2>&1; then ck=OK; else ck=FAIL; fi
    ck="$ck $(grep -E 'decode  \(' "$out/$preset-$t.check.log" | awk -F'error ' '{print $2}')"
    prompt=$(for i in $(seq 1 12); do printf 'Once upon a time, the little fox ran over the hill and found a river. '; done)
    $RUN "$so" --device cuda --prompt "$prompt" -n 128 > "$out/$preset-$t.gen.txt" 2> "$out/$preset-$t.gen.log"
    line=$(grep 'tokens/s' "$out/$preset-$t.gen.log")
    pf=$(echo "$line" | sed -E 's/.*prefill [0-9]+ tokens in [0-9.]+ ms \(([0-9.]+) tokens\/s\).*/\1/')
    dc=$(echo "$line" | sed -E 's/.*decode [0-9]+ tokens in [0-9.]+ ms \(([0-9.]+) tokens\/s\).*/\1/')
    mib=$(python3 -c "import os; print(os.path.getsize('$g') / 2**20)")
    python3 - "$t" "$mib" "$ct" "$ck" "$pf" "$dc" "$bw" >> "$out/big.md" <<'EOF'
import sys
t, mib, ct, ck, pf, dc, bw = sys.argv[1:]
roof = float(bw) * 1e9 / (float(mib) * 2**20)
print(f"| {t} | {float(mib):.0f} | {ct} | {ck} | {float(pf):.0f} | {float(dc):.1f} | {roof:.0f} | {100 * float(dc) / roof:.1f}% |")
EOF
  done
  cat "$out/big.md"
  ;;
*)
  echo "usage: $0 prepare [BUILD_DIR] | fixtures | big [TYPES] [PRESET]" >&2
  exit 2
  ;;
esac
