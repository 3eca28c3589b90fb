#!/usr/bin/env bash
# The GPU benchmark (bench/gpu_bench.py) with models compiled here.
#
#   scripts/device/bench.sh prepare [BUILD_DIR]   here: ONNX models, ugcc --target=cuda:sm_90a
#   scripts/device/bench.sh run [ARGS]            on the GPU machine (ARGS go to gpu_bench.py,
#                                                 e.g. --only conv_ for the conv cases alone)
#
# prepare writes .device/bench/ (ignored by git): the compiled models,
# libugrt and the script.  With the device tool:
#   run(command="scripts/device/bench.sh run", carry=[".device/bench"])
# A model ugcc cannot compile yet is left out and reported as failed.
# UG_BENCH_DIR (default .device/bench) names another directory, so that two
# builds' models can travel side by side (an A/B of one change in one run).
# UG_BENCH_MODELS (shell patterns separated by spaces, e.g. 'conv_* pad_*') compiles only
# the ONNX models they match, and no linear cases.
set -euo pipefail
cd "$(dirname "$0")/../.."
case ${1:-} in
prepare)
  build=${2:-build}
  dst=${UG_BENCH_DIR:-.device/bench}
  rm -rf "$dst" && mkdir -p "$dst/onnx" "$dst/lib"
  python3 bench/make_models.py "$dst/onnx"
  if [ -n "${UG_BENCH_MODELS:-}" ]; then
    for m in "$dst"/onnx/*.onnx; do
      keep=
      for pat in $UG_BENCH_MODELS; do
        # shellcheck disable=SC2254
        case $(basename "$m" .onnx) in $pat) keep=1 ;; esac
      done
      [ -n "$keep" ] || rm -f "$m"
    done
  fi
  for m in "$dst"/onnx/*.onnx; do
    n=$(basename "$m" .onnx)
    "$build/tools/ugcc" "$m" --target=cuda:sm_90a -o "$dst/$n.so" || echo "bench: $n does not compile" >&2
  done
  # the conv models in their own layout too (the default above runs f16 convs channels last)
  for m in "$dst"/onnx/conv_*.onnx; do
    [ -e "$m" ] || continue
    n=$(basename "$m" .onnx)
    case $n in *_f32) continue ;; esac
    "$build/tools/ugcc" "$m" --target=cuda:sm_90a --layout=keep -o "$dst/${n}_nchw.so" || echo "bench: ${n}_nchw does not compile" >&2
  done
  # fp32 convs and GEMMs with plain tf32 products (the default above is 3xTF32)
  for m in "$dst"/onnx/conv_*_f32.onnx "$dst"/onnx/gemm*_f32.onnx; do
    [ -e "$m" ] || continue
    n=$(basename "$m" .onnx)
    "$build/tools/ugcc" "$m" --target=cuda:sm_90a --precision=tf32 -o "$dst/${n}tf.so" || echo "bench: ${n}tf does not compile" >&2
    case $n in conv_*)
      "$build/tools/ugcc" "$m" --target=cuda:sm_90a --precision=tf32 --layout=keep -o "$dst/${n}tf_nchw.so" \
        || echo "bench: ${n}tf_nchw does not compile" >&2 ;;
    esac
  done
  # the same GEMM epilogue model without the fuse pass: the before/after pair
  if [ -e "$dst/onnx/gemm_epi.onnx" ]; then
    "$build/tools/ugcc" "$dst/onnx/gemm_epi.onnx" --target=cuda:sm_90a --passes=canonicalize,const-fold,cse,dce \
      -o "$dst/gemm_epi_nofuse.so" || echo "bench: gemm_epi_nofuse does not compile" >&2
  fi
  rm -rf "$dst/onnx"
  # linear (GEMV) cases: text IR whose weights bench/make_linear_models.py
  # makes, compiled with external weights that gpu_bench.py makes again on
  # the GPU machine (they are too large to carry)
  lin=$(mktemp -d)
  [ -n "${UG_BENCH_MODELS:-}" ] || python3 bench/make_linear_models.py "$lin"
  for g in "$lin"/linear_*.ugir; do
    [ -e "$g" ] || continue
    n=$(basename "$g" .ugir)
    "$build/tests/cuda/cuda_weights" "$g" "$dst/$n.so" --target=cuda:sm_90a --weights=external \
      || echo "bench: $n does not compile" >&2
    rm -f "$dst/$n.so.weights"
  done
  rm -rf "$lin"
  cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
  du -sh "$dst"
  ;;
run)
  d=${UG_BENCH_DIR:-.device/bench}
  out=${OUT:-.device/bench-out}
  tag=$(basename "$d")
  mkdir -p "$out"
  python3 bench/gpu_bench.py "$d" "$d/lib/libugrt.so.0" --json "$out/$tag.json" "${@:2}" 2>&1 \
    | tee "$out/$tag.txt"
  ;;
*)
  echo "usage: $0 prepare [BUILD_DIR] | run" >&2
  exit 2
  ;;
esac
