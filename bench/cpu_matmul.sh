#!/usr/bin/env bash
# CPU matmul and conv timings of two ugcc builds side by side (an A/B of a change to the
# CPU backend), on a quieter machine than the development one if need be.
#
#   bench/cpu_matmul.sh prepare NEW_BUILD OLD_BUILD [DIR]   here (default DIR .device/cpumm)
#   bench/cpu_matmul.sh run [DIR]                           anywhere with the carried DIR
#
# prepare compiles bench/make_cpu_matmul_models.py's models (or, with
# UG_CPU_UGIR=bench/cpu_window, those text-IR models) with each build's
# ugcc for the CPU and copies NEW_BUILD's ugcc-run and libugrt (with
# libprotobuf-c) next to them.  run times each model.so with
# `ugcc-run --device cpu --bench 20`, 5 rounds interleaving the builds, and
# prints the best minimum per build (ms) and old/new.
set -euo pipefail
cd "$(dirname "$0")/.."
case ${1:-} in
prepare)
  new=$2 old=$3 dst=${4:-.device/cpumm}
  rm -rf "$dst" && mkdir -p "$dst/onnx" "$dst/lib" "$dst/new" "$dst/old"
  # UG_CPU_UGIR=DIR: the text-IR models of DIR instead (bench/cpu_window: window kernels and index maps)
  if [ -n "${UG_CPU_UGIR:-}" ]; then cp "$UG_CPU_UGIR"/*.ugir "$dst/onnx/"; else python3 bench/make_cpu_matmul_models.py "$dst/onnx"; fi
  for m in "$dst"/onnx/*.onnx "$dst"/onnx/*.ugir; do
    [ -e "$m" ] || continue
    n=$(basename "${m%.*}")
    "$new/tools/ugcc" "$m" --target=cpu -o "$dst/new/$n.so"
    "$old/tools/ugcc" "$m" --target=cpu -o "$dst/old/$n.so"
  done
  rm -rf "$dst/onnx"
  cp "$new/tools/ugcc-run" "$dst/"
  cp -L "$new/runtime/libugrt.so.0" "$dst/lib/"
  cp -L "$(ldd "$new/tools/ugcc-run" | awk '/libprotobuf-c/ {print $3}')" "$dst/lib/"
  du -sh "$dst"
  ;;
run)
  d=${2:-.device/cpumm}
  export LD_LIBRARY_PATH=$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  printf "%-12s %10s %10s %8s\n" model new_ms old_ms old/new
  for so in "$d"/new/*.so; do
    n=$(basename "$so" .so)
    shape=""
    [ "$n" = mm_sym ] && shape="--input-shape a=7x768"
    declare -A best=([new]=1e9 [old]=1e9)
    for round in $(seq "${UG_ROUNDS:-5}"); do  # UG_ROUNDS: fewer for a quick look
      for v in new old; do
        t=$("$d/ugcc-run" "$d/$v/$n.so" --device cpu $shape --bench 20 2>&1 | sed -n 's/.*min \([0-9.]*\) ms.*/\1/p')
        best[$v]=$(python3 -c "print(min(${best[$v]}, $t))")
      done
    done
    printf "%-12s %10.4f %10.4f %8.3f\n" "$n" "${best[new]}" "${best[old]}" "$(python3 -c "print(${best[old]} / ${best[new]})")"
  done
  ;;
*)
  echo "usage: $0 prepare NEW_BUILD OLD_BUILD [DIR] | run [DIR]" >&2
  exit 2
  ;;
esac
