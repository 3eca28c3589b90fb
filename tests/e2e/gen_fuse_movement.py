#!/usr/bin/env python3
"""Writes the `// E2E` lines of tests/e2e/fuse_mov_*.ugir: inputs from a
seeded generator, expected outputs computed here with NumPy (never by
ugcc).  The graphs fold data movement (transpose, reshape, unsqueeze,
expand, slice, concat, gather) into fused kernels as index maps
(docs/passes.md, "fuse").  Re-run after changing a case:

    python3 tests/e2e/gen_fuse_movement.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261122)


def r(*shape):
    return rng.uniform(-2, 2, shape).astype(np.float32)


def f16(a):
    return np.asarray(a, np.float32).astype(np.float16).astype(np.float32)


def transpose():
    n = 3
    x, y = r(4, 8), r(8, 4)
    a, b = r(n, 5, 6), r(n, 6, 5)
    t = y.T
    o1 = x + t
    bt = np.transpose(b, (0, 2, 1))
    o2 = np.maximum(a * bt + 1.0, 0)
    return {"n": n}, [x, y, a, b], [o1, t, o2]


def broadcast():
    x, s, bias = r(2, 3, 4, 5), r(3), r(1, 3, 1, 1)
    u = s.reshape(3, 1, 1)
    o1 = x * u + np.broadcast_to(bias, (2, 3, 4, 5))
    v = r(2, 12)
    w = r(2, 4, 3)
    o2 = np.transpose(v.reshape(2, 3, 4), (0, 2, 1)) - w
    p, q = r(64, 3, 5), r(3, 1)
    o3 = np.exp(p) * q
    g, h = r(2, 600), r(600)
    o4 = np.tanh(g + h.reshape(1, 600))
    return {}, [x, s, bias, v, w, p, q, g, h], [o1, o2, o3, o4, u.reshape(3), np.broadcast_to(bias, (2, 3, 4, 5))]


def slice_concat():
    x, w = r(4, 8), r(4, 17)
    sl = w[:, -2:-18:-2]
    o1 = x + sl
    a, b = r(2, 3), r(2, 5)
    c = np.concatenate([a, b], axis=1)
    o2 = np.maximum(c, 0)
    d, e, f = r(1, 300), r(2, 300), r(3, 300)
    o3 = np.concatenate([d, e, f], axis=0) * 2.0
    return {}, [x, w, a, b, d, e, f], [o1, o2, o3, c]


def gather():
    tab, pos = r(6, 256), r(4, 256)
    ids = np.array([[0, 5, 2, -1], [3, 3, 1, 4]], np.int64)
    o1 = tab[ids] + pos
    t2 = r(3, 7)
    i2 = np.array([6, 0, -7, 2], np.int32)
    o2 = t2[:, i2] * 3.0
    return {}, [tab, ids, pos, t2, i2], [o1, o2]


def rows():
    x = r(4, 6, 8)
    xt = np.transpose(x, (0, 2, 1))
    m = xt.max(axis=-1, keepdims=True)
    e = np.exp(xt - m)
    o1 = e / e.sum(axis=-1, keepdims=True)
    tab = r(5, 64)
    ids = np.array([4, 0, 2], np.int64)
    gam = r(64)
    g = tab[ids]
    mu = g.mean(axis=-1, keepdims=True)
    var = ((g - mu) ** 2).mean(axis=-1, keepdims=True)
    o2 = (g - mu) / np.sqrt(var + 1e-5) * gam
    return {}, [x, tab, ids, gam], [o1, o2]


def half():
    x, y = f16(r(2, 8, 64)), f16(r(2, 64, 8))
    o = f16(x.astype(np.float32) * 0.5 + np.transpose(y, (0, 2, 1)).astype(np.float32))
    return {}, [x, y], [o]


def symbolic():
    n, m = 3, 5
    a, b, v, w, s, k = r(n, 3), r(n, 5), r(n, 12), r(n, 4, 3), r(m, 6), r(2, m, 6)
    o1 = np.maximum(np.concatenate([a, b], 1), 0)
    o2 = np.transpose(v.reshape(n, 3, 4), (0, 2, 1)) - w
    o3 = np.concatenate([s, s], 0).reshape(2, m, 6) * k
    return {"n": n, "m": m}, [a, b, v, w, s, k], [o1, o2, o3]


CASES = [transpose, broadcast, slice_concat, gather, rows, half, symbolic]


def fmt(a):
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer):
        return " ".join(str(int(v)) for v in a.ravel())
    return " ".join("%.9g" % float(v) for v in a.ravel())


def main():
    for case in CASES:
        path = os.path.join(HERE, "fuse_mov_" + case.__name__ + ".ugir")
        syms, ins, outs = case()
        lines = ["// E2E sym %s=%d" % kv for kv in syms.items()]
        lines += ["// E2E in " + fmt(v) for v in ins]
        lines += ["// E2E out " + fmt(v) for v in outs]
        text = open(path).read().split("\n")
        text = [l for l in text if not l.startswith(("// E2E in ", "// E2E out ", "// E2E sym "))]
        k = next(i for i, l in enumerate(text) if l.startswith("graph "))
        text[k:k] = lines
        open(path, "w").write("\n".join(text))


if __name__ == "__main__":
    main()
