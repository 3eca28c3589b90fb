#!/usr/bin/env python3
"""Writes the `// RUN` lines of the kernel-IR CPU tests (tests/kir_cpu/*.kir):
inputs from a seeded generator and the expected outputs computed here with
NumPy, independently of ugcc.  Re-run after changing a case:

    python3 tests/kir_cpu/gen_expected.py
"""
import os
import re

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)


def bf16(a):
    """f32 -> bf16 (round to nearest even) -> f32."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return r.astype(np.uint32).view(np.float32)


def softmax(x):
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_rows():
    rows, cols = 6, 13
    x = rng.uniform(-3, 3, (rows, cols)).astype(np.float32)
    return {"rows": rows, "cols": cols}, {"x": x, "y": np.zeros_like(x)}, {"y": softmax(x.astype(np.float64))}, 1e-6


def softmax_online():
    rows, cols = 3, 21
    x = rng.uniform(-4, 4, (rows, cols)).astype(np.float32)
    return {"rows": rows, "cols": cols}, {"x": x}, {"y": softmax(x.astype(np.float64))}, 1e-6


def causal_mask():
    heads, seq, scale, offset = 2, 11, 0.5, -2
    s = rng.uniform(-4, 4, (heads, seq, seq)).astype(np.float16)
    o = np.full((heads, seq, seq), 7, np.float16)
    for h in range(heads):
        for i in range(seq):
            for j in range(seq):
                i0, j0 = i // 8 * 8, j // 8 * 8
                below = j0 <= i0 + offset + 7
                if below and j <= i + offset:
                    o[h, i, j] = np.float16(np.float32(s[h, i, j]) * np.float32(scale))
                else:
                    o[h, i, j] = -np.inf
    args = {"s": s, "o": np.full_like(s, 7), "scale": np.array([scale], np.float32), "offset": np.array([offset], np.int64)}
    return {"heads": heads, "seq": seq}, args, {"o": o}, 0


def rms_norm():
    tokens, eps = 3, 1e-5
    x = bf16(rng.uniform(-2, 2, (tokens, 32)))
    w = bf16(rng.uniform(0.5, 1.5, 32))
    ss = (x.astype(np.float64) ** 2).sum(axis=1, keepdims=True)
    inv = 1 / np.sqrt(ss / 32 + eps)
    y = bf16((x * inv * w).astype(np.float32))
    return {"tokens": tokens}, {"x": x, "w": w, "eps": np.array([eps], np.float32)}, {"y": y}, 8e-3


def masked():
    m, n = 6, 13
    x = rng.uniform(-1, 1, (m, n)).astype(np.float32)
    y = np.full((m, n), 9, np.float32)
    for i in range(m):
        for j in range(n):
            t = x[i, j] if j >= i else np.float32(2.5)
            if t > 0:
                y[i, j] = t + t
    g0, g1 = (m + 3) // 4, (n + 7) // 8
    q = np.zeros((g0, g1, 2), np.int32)
    for bi in range(g0):
        for bj in range(g1):
            q[bi, bj] = [(bi - 1) // 2, (bj - 2) % 3]  # Python floors, as dims do
    return {"m": m, "n": n}, {"x": x, "y": np.full_like(x, 9)}, {"y": y, "q": q}, 0


def reduce_axes():
    x = rng.uniform(0.5, 1.5, (4, 8)).astype(np.float32)
    x[1, 3] = np.nan
    x[2, :] = -np.abs(x[2, :])
    xi = rng.integers(-100, 100, (4, 8)).astype(np.int32)
    h = rng.uniform(-1, 1, (4, 8)).astype(np.float16)
    h[0, :] = [2048, 1, 1, 1, 1, 1, 1, 1]
    args = {"x": x, "xi": xi, "h": h}
    want = {
        "a": x.min(axis=0),  # NaN propagates
        "b": np.prod(x.astype(np.float64), axis=1),
        "c": np.array([xi.sum()], np.int32),
        "d": h.astype(np.float32).sum(axis=1).astype(np.float16),
        "e": (x > 0).any(axis=1),
    }
    return {}, args, want, 1e-6


def f16_chain():
    n = 37
    a = rng.uniform(0.5, 2, n).astype(np.float16)
    b = rng.uniform(-1e-2, 1e-2, n).astype(np.float16)
    s = a + b  # NumPy's float16 ops round every result
    d = s - a
    r = (d * b) / a
    return {"n": n}, {"x": a, "y": b}, {"o": r}, 0


def ew_rows():
    r = 3
    a0 = rng.uniform(-1, 1, (r, 300)).astype(np.float32)
    a1 = rng.uniform(-1, 1, (r, 1)).astype(np.float32)
    return {"r": r}, {"a0": a0, "a1": a1}, {"a2": a0 + a1}, 0


def big_scratch():
    x = np.array([0.001, -0.0005], np.float32)
    i = np.arange(16384, dtype=np.float64)
    y = np.array([np.exp(i * s - (i * s).max()).sum() for s in x.astype(np.float64)])
    return {}, {"x": x}, {"y": y}, 1e-5


def ragged():
    n = 5
    x = rng.uniform(-1, 1, n).astype(np.float32)
    t = np.array([x[i - 3] if 0 <= i - 3 < n else 10 for i in range(12)], np.float32)
    return {"n": n}, {"x": x}, {"y": t + t}, 0


def gather():
    x = rng.uniform(-1, 1, (4, 6)).astype(np.float32)
    ids = np.array([2, 0, 7], np.int64)
    tab = rng.uniform(-1, 1, (5, 8)).astype(np.float32)
    y = x.T.copy().ravel()
    off = np.array([(e % 4) * 6 + e // 4 for e in range(24)])
    y[off >= 20] = -1
    z = np.array([tab[i] if 1 <= i < 5 else np.full(8, 0.5, np.float32) for i in ids], np.float32)
    return {}, {"x": x, "ids": ids, "tab": tab}, {"y": y.reshape(6, 4), "z": z + z}, 0


def shared_stages():
    n = 11
    x = rng.uniform(-1, 1, n).astype(np.float32)
    t = np.zeros(16, np.float32)
    t[:n] = x
    s1 = np.where(np.arange(16) < 5, t + t, t)
    u = np.where(np.arange(16) % 2 == 0, s1, np.float32(-1))
    return {"n": n}, {"x": x}, {"y": np.stack([t, u])}, 0


def mma_registers():
    a = rng.uniform(-1, 1, (5, 7)).astype(np.float16)
    b = rng.uniform(-1, 1, (7, 3)).astype(np.float16)
    c = rng.uniform(-1, 1, (5, 3)).astype(np.float32)
    d = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    return {}, {"a": a, "b": b, "c": c}, {"d": d}, 1e-6


def mma_stages():
    m, k, n = 21, 19, 35
    A = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    B = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    C0 = rng.uniform(-1, 1, (m, n)).astype(np.float32)
    C = C0.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    return {"m": m, "k": k, "n": n}, {"A": A, "B": B, "C0": C0, "C": np.full_like(C0, 7)}, {"C": C}, 1e-5


def mma_stages_bf16():
    m, k, n = 19, 13, 18
    A = bf16(rng.uniform(-1, 1, (2, m, k)))
    B = bf16(rng.uniform(-1, 1, (2, k, n)))
    C = 0.5 * (A.astype(np.float64) @ B.astype(np.float64))
    return {"m": m, "k": k, "n": n}, {"A": A, "B": B, "C": np.full((2, m, n), 7, np.float32)}, {"C": C}, 1e-5


def mma_offset():
    A = rng.uniform(-1, 1, (5, 11)).astype(np.float32)
    B = rng.uniform(-1, 1, (11, 7)).astype(np.float32)
    return {}, {"A": A, "B": B, "C": np.full((5, 7), 7, np.float32)}, {"C": A.astype(np.float64) @ B}, 1e-6


def mma_offset_bf16():
    A = bf16(rng.uniform(-1, 1, (5, 11)))
    B = bf16(rng.uniform(-1, 1, (11, 7)))
    return {}, {"A": A, "B": B, "C": np.full((5, 7), 7, np.float32)}, {"C": A.astype(np.float64) @ B}, 1e-6


def gather_runs():
    x = rng.uniform(-1, 1, 60).astype(np.float32)
    y = np.full((4, 8), -1, np.float32)
    for i in (0, 1, 3):
        for j in range(8):
            o = 19 * i - 3 + j
            if 0 <= o < 60:
                y[i, j] = x[o]
    return {}, {"x": x}, {"y": y}, 0


def cluster():
    x = rng.uniform(-1, 1, (2, 64)).astype(np.float32)
    y = x.astype(np.float64).reshape(2, 4, 16).sum(axis=1)
    return {}, {"x": x}, {"y": y, "z": np.ones((2, 1), np.int64)}, 1e-6


CASES = [softmax_rows, softmax_online, causal_mask, rms_norm, masked, reduce_axes, f16_chain, ew_rows, big_scratch, ragged,
         gather, shared_stages, mma_registers, mma_stages, mma_stages_bf16, mma_offset, mma_offset_bf16, gather_runs, cluster]


def fmt(a):
    out = []
    for v in np.asarray(a).ravel():
        if np.issubdtype(np.asarray(a).dtype, np.integer) or np.asarray(a).dtype == np.bool_:
            out.append(str(int(v)))
        elif np.isnan(v):
            out.append("nan")
        elif np.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append("%.9g" % float(v))
    return " ".join(out)


def main():
    for case in CASES:
        path = os.path.join(HERE, case.__name__ + ".kir")
        syms, args, want, tol = case()
        run = ["// RUN sym %s=%d" % kv for kv in syms.items()]
        run += ["// RUN arg %%%s %s" % (k, fmt(v)) for k, v in args.items()]
        run += ["// RUN expect %%%s %s" % (k, fmt(v)) for k, v in want.items()]
        run.append("// RUN tol %g" % tol)
        text = open(path).read().split("\n")
        text = [l for l in text if not l.startswith("// RUN ")]
        k = next(i for i, l in enumerate(text) if l.startswith("kernel "))
        text[k:k] = run
        open(path, "w").write("\n".join(text))


if __name__ == "__main__":
    main()
