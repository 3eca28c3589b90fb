#!/usr/bin/env python3
"""Runs each fat model.so of a cuda-compare bundle with `ugcc-run --device cpu`
and `--device cuda` on the same inputs and compares the outputs.

usage: cuda_compare.py BUNDLE_DIR   (made by scripts/device/cuda-compare.sh)

Integers and bools must be equal; floats must have NaN and infinities at the
same places and agree within a tolerance per dtype (libm and CUDA's math
library differ by a few ulp, and NVRTC contracts a*b+c into fma).  Prints one
line per output and exits 1 on any mismatch."""
import os
import subprocess
import sys

import numpy as np

TOL = {np.dtype('float32'): (2e-5, 1e-6), np.dtype('float16'): (2e-3, 1e-4), np.dtype('float64'): (1e-12, 1e-14)}


def run(bundle, model, device, inputs, out):
    os.makedirs(out, exist_ok=True)
    cmd = [os.path.join(bundle, 'ugcc-run'), os.path.join(bundle, model), '--device', device, '--output-dir', out]
    for name, path in inputs:
        cmd += ['--input', '%s=%s' % (name, path)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def compare(a, b):
    """(ok, max_abs_err, max_rel_err, exact_fraction)"""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, float('inf'), float('inf'), 0.0
    if a.size == 0:
        return True, 0.0, 0.0, 1.0
    exact = float(np.mean(a.reshape(-1).view(np.uint8).reshape(a.size, -1) == b.reshape(-1).view(np.uint8).reshape(b.size, -1)))
    if a.dtype.kind != 'f':
        return bool(np.array_equal(a, b)), 0.0, 0.0, exact
    rtol, atol = TOL[a.dtype]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_ok = np.array_equal(np.isnan(a64), np.isnan(b64))
    fin = np.isfinite(a64) & np.isfinite(b64)
    inf_ok = np.array_equal(a64[~fin & ~np.isnan(a64)], b64[~fin & ~np.isnan(b64)])
    d = np.abs(a64[fin] - b64[fin])
    mae = float(d.max()) if d.size else 0.0
    rel = float((d / np.maximum(np.abs(b64[fin]), 1e-30)).max()) if d.size else 0.0
    ok = nan_ok and inf_ok and bool(np.all(d <= atol + rtol * np.abs(b64[fin])))
    return ok, mae, rel, exact


def main():
    bundle = os.path.abspath(sys.argv[1])
    bad = 0
    devices = os.environ.get('UG_COMPARE_DEVICES', 'cpu cuda').split()  # "cpu cpu" tests this script
    for i, line in enumerate(open(os.path.join(bundle, 'cases.txt'))):
        parts = line.split()
        if not parts:
            continue
        model, inputs = parts[0], [p.split('=', 1) for p in parts[1:]]
        inputs = [(n, os.path.join(bundle, f)) for n, f in inputs]
        base = os.path.join(bundle, 'out', '%d.%s' % (i, model))
        run(bundle, model, devices[0], inputs, base + '.cpu')
        run(bundle, model, devices[1], inputs, base + '.cuda')
        for f in sorted(os.listdir(base + '.cpu')):
            a, b = np.load(os.path.join(base + '.cuda', f)), np.load(os.path.join(base + '.cpu', f))
            ok, mae, rel, exact = compare(a, b)
            bad += not ok
            print('%-4s %-16s %-10s %-8s %-14s max_abs %.3g max_rel %.3g bit-exact %.4f' %
                  ('ok' if ok else 'FAIL', model, f[:-4], str(a.dtype), 'x'.join(map(str, a.shape)), mae, rel, exact))
    print('%d mismatching outputs' % bad)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
