#!/usr/bin/env python3
"""The `linear` (GEMV) cases of the GPU benchmark (bench/gpu_bench.py):
y = x @ w^T with x f32 [M, K] and w [N, K] in f16, q8_0 or q4_0, for the
weight shapes of a 7-8B LLM's projections (4096 x 4096, 14336 x 4096 up/gate,
4096 x 14336 down) at M = 1 (decode) and M = 16.

Weights are too large to carry to the GPU machine (up to 117 MB each), so
they are made twice by the same deterministic generator: here, to compile
the models (`--weights=external` writes <case>.so.weights, which
scripts/device/bench.sh deletes), and there, where gpu_bench.py writes
<case>.so.weights again before loading (the bytes are equal, so the model's
weights hash still matches).  The quantized blocks are random quants with a
random f16 scale per block (no quantizer needed on either side).

    make_linear_models.py DIR        writes DIR/<case>.ugir and DIR/<weight>.bin
    (compile each with tests/cuda/cuda_weights DIR/<case>.ugir OUT.so --target=cuda:sm_90a --weights=external)

Used as a module by gpu_bench.py: CASES, case_name, weight_bytes."""
import os
import sys
import zlib

import numpy as np

BLOCKS = {"q8_0": (32, 34), "q4_0": (32, 18)}
SHAPES = [(4096, 4096), (14336, 4096), (4096, 14336)]  # (N, K)
CASES = [(w, n, k, m) for w in ("f16", "q8_0", "q4_0") for (n, k) in SHAPES for m in (1, 16)]


def case_name(wdt, n, k, m):
    return "linear_%s_%dx%d_m%d" % (wdt, n, k, m)


def weight_name(wdt, n, k):
    return "w_%s_%dx%d" % (wdt, n, k)


def weight_bytes(wdt, n, k):
    """The weight [n, k] of dtype wdt as bytes (the same on every machine:
    PCG64 streams do not change between NumPy versions)."""
    rng = np.random.default_rng(zlib.crc32(weight_name(wdt, n, k).encode()))
    if wdt == "f16":
        return (rng.standard_normal((n, k), dtype=np.float32) * 0.02).astype("<f2").tobytes()
    be, bb = BLOCKS[wdt]
    raw = rng.integers(0, 256, size=(n, k // be, bb), dtype=np.uint8)
    d = rng.uniform(1e-3, 4e-3, size=(n, k // be)).astype("<f2")
    raw[:, :, 0:2] = d.view(np.uint8).reshape(n, k // be, 2)
    return raw.tobytes()


def main(d):
    os.makedirs(d, exist_ok=True)
    made = set()
    for wdt, n, k, m in CASES:
        wn = weight_name(wdt, n, k)
        if wn not in made:
            with open(os.path.join(d, wn + ".bin"), "wb") as f:
                f.write(weight_bytes(wdt, n, k))
            made.add(wn)
        with open(os.path.join(d, case_name(wdt, n, k, m) + ".ugir"), "w") as f:
            f.write("// linear benchmark case (bench/make_linear_models.py); the weight's bytes are in %s.bin\n" % wn)
            f.write("// E2E weightfile w %s.bin\n" % wn)
            f.write("graph @main(%%x: f32[%d,%d]) -> (y: f32[%d,%d]) {\n" % (m, k, m, n))
            f.write("  %%w = const @w <0x0000000000000000> : %s[%d,%d]\n" % (wdt, n, k))
            f.write("  %%y = linear %%x, %%w : f32[%d,%d] loc(\"linear\")\n" % (m, n))
            f.write("  return %y\n}\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
