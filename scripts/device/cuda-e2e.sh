#!/usr/bin/env bash
# The end-to-end test graphs that carry their expected values (`// E2E in/out`
# lines from NumPy), compiled here for the GPU and checked there through
# libugrt's CUDA device, then once more under compute-sanitizer memcheck.
#
#   scripts/device/cuda-e2e.sh prepare [BUILD_DIR] [GLOB]   here: .device/e2e-cuda/
#       (default GLOB: the conv, movement-fusion and in-place cases of tests/e2e, and
#       tests/e2e/weights/conv_*.ugir, whose weights are `// E2E weight` bytes)
#   scripts/device/cuda-e2e.sh run                          on the GPU machine (UG_E2E_DIR: another
#       prepared directory, e.g. half of a set too large for one call):
#       run(command="scripts/device/cuda-e2e.sh run", carry=[".device/e2e-cuda"])
# On the GPU the sm_90a / sm_80 cubins run (the CPU's emulation of the CUDA C,
# ctest cuda.emu.*, takes the portable pre-sm_80 branches instead).
set -euo pipefail
cd "$(dirname "$0")/../.."
case ${1:-} in
prepare)
  build=${2:-build}
  glob=${3:-tests/e2e/conv_*.ugir tests/e2e/fuse_mov_*.ugir tests/e2e/inplace.ugir tests/e2e/weights/conv_*.ugir}
  dst=.device/e2e-cuda
  rm -rf "$dst" && mkdir -p "$dst/lib" "$dst/cases"
  for g in $glob; do
    n=$(basename "$g" .ugir)
    cp "$g" "$dst/cases/"
    if grep -q '^// E2E weight ' "$g"; then
      "$build/tests/cuda/cuda_weights" "$g" "$dst/cases/$n.so" --target=cuda
    else
      "$build/tools/ugcc" "$g" --target=cuda -o "$dst/cases/$n.so"
    fi
    # f32 contractions on tensor cores: every --precision (the inputs are exact in each)
    case $n in *f32_tc* | *transpose_f32* | conv_nhwc_f32*)
      for p in tf32 fp16 bf16; do "$build/tools/ugcc" "$g" --target=cuda --precision=$p -o "$dst/cases/$n.$p.so"; done ;;
    esac
    # NCHW convs and conv_transposes as the graph has them (--layout=keep): the kernel-IR implicit
    # GEMM (codegen/kir_contract.c), f32 ones in tf32 too (3xTF32 keeps conv.c
    # where the im2col tile is gathered)
    case $n in conv_nhwc* | conv_block*) ;; conv_*)
      "$build/tools/ugcc" "$g" --target=cuda --layout=keep -o "$dst/cases/$n.nchw.so"
      case $n in *f32*) "$build/tools/ugcc" "$g" --target=cuda --layout=keep --precision=tf32 -o "$dst/cases/$n.nchw-tf32.so" ;; esac ;;
    esac
  done
  cp -L "$build/tests/cuda/e2e_cuda_run" "$dst/"
  cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
  du -sh "$dst"
  ;;
run)
  d=${UG_E2E_DIR:-.device/e2e-cuda}
  out=${OUT:-$d-out}
  mkdir -p "$out"
  export LD_LIBRARY_PATH=$PWD/$d/lib
  pass=0 fail=0 mc_fail=0
  for so in "$d"/cases/*.so; do
    n=$(basename "$so" .so)
    g=$d/cases/${n%%.*}.ugir  # <case>.<precision>.so checks against <case>.ugir
    if "$d/e2e_cuda_run" "$so" "$g" >"$out/$n.txt" 2>&1; then
      pass=$((pass + 1)); r=ok
    else
      fail=$((fail + 1)); r=FAILED
    fi
    if compute-sanitizer --tool memcheck --error-exitcode 9 "$d/e2e_cuda_run" "$so" "$g" \
        >"$out/$n.memcheck.txt" 2>&1; then m=clean; else m=ERRORS; mc_fail=$((mc_fail + 1)); fi
    printf '%-32s %-7s memcheck %s\n' "$n" "$r" "$m"
  done
  echo "$pass passed, $fail failed; memcheck: $mc_fail with errors"
  ;;
*)
  echo "usage: $0 prepare [BUILD_DIR] [GLOB] | run" >&2
  exit 2
  ;;
esac
