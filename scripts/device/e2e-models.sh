#!/usr/bin/env bash
# End-to-end models compiled ON the GPU machine (their weights are too big to
# carry there): BERT-base, GPT-2 and ResNet-50 exported from PyTorch with
# random fp16 weights, compiled by ugcc with and without the fuse pass, timed
# next to PyTorch eager and torch.compile (bench/e2e_models.py).
#
#   scripts/device/e2e-models.sh prepare [BUILD_DIR]  here: .device/e2e.tar.xz, ugcc with
#                                                     its loader and every library it links
#   scripts/device/e2e-models.sh run [MODELS]         on the GPU machine (UG_VARIANTS=fused,... picks
#                                                     the builds; device tool:
#       run(command="scripts/device/e2e-models.sh run", carry=[".device/e2e.tar.xz"]))
# The machine has no LLVM, so ugcc travels with the shared libraries ldd
# lists except the C library itself (the GPU machine's glibc, 2.39, is newer
# than the 2.36 ugcc is built against); NVRTC is the machine's (UGCC_NVRTC).
set -euo pipefail
cd "$(dirname "$0")/../.."
case ${1:-} in
prepare)
  build=${2:-build}
  dst=.device/e2e
  rm -rf "$dst" && mkdir -p "$dst/bin" "$dst/lib"
  cp -L "$build/tools/ugcc" "$dst/bin/"
  cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
  ldd "$build/tools/ugcc" | awk '/=> \//{print $3}' | grep -v -E '/lib(c|m)\.so\.6$' | while read -r l; do cp -L "$l" "$dst/lib/"; done
  tar -C .device -cf - e2e | xz -T2 -6 > .device/e2e.tar.xz
  rm -rf "$dst"
  du -sh .device/e2e.tar.xz
  ;;
run)
  models=${2:-bert,gpt2,resnet50}
  out=${OUT:-.device/e2e-out}
  mkdir -p "$out" /tmp/ugcc-e2e
  tar -C /tmp/ugcc-e2e -xJf .device/e2e.tar.xz
  e=/tmp/ugcc-e2e/e2e
  cudalib=$(dirname "$(find /usr/local/cuda/ /usr/local/lib/python3*/dist-packages/nvidia -name 'libnvrtc.so.1*' 2>/dev/null | head -1)")
  rm -f "$e"/lib/libc.so.6 "$e"/lib/libm.so.6 "$e"/lib/ld-linux-x86-64.so.2
  export UGCC_NVRTC=$(ls "$cudalib"/libnvrtc.so.1* | head -1)
  python3 bench/e2e_models.py /tmp/ugcc-e2e/work "$e/lib/libugrt.so.0" --models "$models" --json "$out/e2e.json" \
    --variants "${UG_VARIANTS:-fused,nchw,unfused}" \
    --ugcc "env LD_LIBRARY_PATH=$e/lib $e/bin/ugcc" 2>&1 | tee "$out/e2e.txt"
  ;;
*)
  echo "usage: $0 prepare [BUILD_DIR] | run [MODELS]" >&2
  exit 2
  ;;
esac
