#!/usr/bin/env python3
"""Builds the CUDA emulation library of one model (tests/cuda/emu):

    emu_build.py MODEL.cu OUT.so [CXX]

MODEL.cu is the CUDA source ugcc wrote with --dump-ir (NN-cuda.cu).  It is
wrapped for a host C++ compiler (cuda_emu.h first; the source in a
namespace, where its own int64_t typedefs do not clash with the host's;
`extern __shared__` arrays pointed at the launch's dynamic shared memory,
`__shared__` variables made static, which the threads of a block share) and
linked with emucuda.cpp, the fake libcuda, into OUT.so.  Use it with
UGRT_LIBCUDA=OUT.so (e2e_cuda_run, ugcc-run --device cuda)."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def cuda_include():
    for d in (os.environ.get("UGCC_CUDA_INCLUDE"), "/usr/local/cuda/include"):
        if d and os.path.exists(os.path.join(d, "cuda_fp16.h")):
            return d
    sys.exit("emu_build: cuda_fp16.h not found (set UGCC_CUDA_INCLUDE)")


def wrap(src):
    kernels = re.findall(r'__global__ void (?:UG_CLUSTER\(\d+\) )?__launch_bounds__\(\d+(?:, \d+)?\) (\w+)\(', src)
    src = re.sub(r'#include <cuda_(fp16|bf16)\.h>\n', '', src)
    src = re.sub(r'extern __shared__ (?:__align__\(\d+\) )?([\w ]+?) (\w+)\[\];',
                 r'\1 *\2 = reinterpret_cast<\1 *>(ugemu_dynamic_smem());', src)
    src = src.replace('__shared__', 'static')
    src = src.replace('extern "C" __global__', '__global__')
    out = ['#include "cuda_emu.h"', '#include <utility>', 'namespace ugk {', src, '}  // namespace ugk', '',
           'template <class... A, size_t... I>',
           'static void ugemu_call_impl(void (*f)(A...), void **p, std::index_sequence<I...>) {',
           '  f(*static_cast<A *>(p[I])...);', '}',
           'template <class... A> static void ugemu_call(void (*f)(A...), void **p) {',
           '  ugemu_call_impl(f, p, std::index_sequence_for<A...>{});', '}',
           'template <class... A> constexpr int ugemu_nparams(void (*)(A...)) { return (int)sizeof...(A); }',
           'extern const ugemu_kernel_t ugemu_kernels[] = {']
    for k in kernels:
        out.append('  {"%s", [](void **p) { ugemu_call(ugk::%s, p); }, ugemu_nparams(ugk::%s)},' % (k, k, k))
    if not kernels:
        out.append('  {"", nullptr, 0},')
    out.append('};')
    out.append('extern const int ugemu_num_kernels = %d;' % len(kernels))
    return '\n'.join(out) + '\n'


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    cxx = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("CXX", "c++")
    wrapper = dst + ".wrap.cpp"
    with open(src) as f, open(wrapper, "w") as g:
        g.write(wrap(f.read()))
    cmd = [cxx, "-std=c++20", "-O1", "-w", "-fPIC", "-shared", "-pthread", "-ffp-contract=off",
           "-I" + cuda_include(), "-I" + HERE, wrapper, os.path.join(HERE, "emucuda.cpp"), "-o", dst]
    r = subprocess.run(cmd)
    if r.returncode:
        sys.exit("emu_build: %s failed" % " ".join(cmd))


if __name__ == "__main__":
    main()
