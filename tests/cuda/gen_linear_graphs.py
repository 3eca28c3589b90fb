#!/usr/bin/env python3
"""Writes the CUDA test graphs of `linear` (float and block-quantized
weights), of gather + cast of quantized tables and of scatter_nd in place
(tests/cuda/graphs/weights/linear_*.ugir, quant_*.ugir, scatter_*.ugir),
with expected outputs from an independent reference: NumPy for the
arithmetic, gguf-py (`gguf.quants`) for quantizing and dequantizing, never
ugcc.

    pip install -r tests/requirements.txt    # numpy==1.26.4 gguf==0.19.0
    python3 tests/cuda/gen_linear_graphs.py  # rewrites the files

The shapes exercise the CUDA kernels' paths (codegen/cuda/linear.c): one row
and up to 32 rows (the GEMV path: m-tiles of 8, static and symbolic row
counts), more than 32 rows (the 64 x 64 GEMM tiles, ragged), N not a
multiple of any tile (37, 19), rows longer than one GEMV chunk of 2048
elements, float rows whose length is no multiple of 8, and quantized rows
whose byte length is a multiple of 16, 8, 4 or only 2 (the staging copies'
widths).  Weights are bytes on `// E2E weight NAME HEX` lines (text IR
cannot write quantized data inline; tests/cuda/cuda_weights compiles them),
the inputs and expected outputs are `// E2E in / out` lines (sym, tol, alias
as tests/e2e/e2e_run.c reads them), checked on the CPU emulation of the
CUDA kernels by tests/cuda/emu (cuda.emu.* tests) and compared CPU against
GPU on the GPU machine by scripts/device/cuda-compare-weights.sh.  (They
live apart from tests/cuda/graphs/*.ugir because plain ugcc, which
scripts/device/cuda-compare.sh uses, cannot give them their weights.)

q4_0, q4_1, q5_0, q5_1 and q8_0 weights are gguf-py's quantization of random
rows; q4_k, q5_k and q6_k blocks are random bytes with sane f16 scales, and
gguf-py's dequantization is the reference.  Expected values are the float64
result rounded once to the output dtype, with a tolerance for f32
accumulation (|got - want| <= tol * (1 + |want|)).
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGML_QUANT_SIZES, quants

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "graphs", "weights")
QTYPES = {"q4_0": QT.Q4_0, "q4_1": QT.Q4_1, "q5_0": QT.Q5_0, "q5_1": QT.Q5_1, "q8_0": QT.Q8_0,
          "q4_k": QT.Q4_K, "q5_k": QT.Q5_K, "q6_k": QT.Q6_K}
EPS = {"f64": 2.0 ** -53, "f32": 2.0 ** -24, "f16": 2.0 ** -11, "bf16": 2.0 ** -8}


def fnv1a64(b):
    """A const's content hash (ir/graph.c ug_hash_bytes, FNV-1a 64 with ugcc's basis)."""
    h = 1469598103934665603
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def bf16_round(a):
    u = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
    return u.astype(np.uint32).view(np.float32)


def round_to(a, dt):
    a = np.asarray(a, dtype=np.float64)
    if dt == "f64":
        return a
    if dt == "f32":
        return a.astype(np.float32).astype(np.float64)
    if dt == "f16":
        return a.astype(np.float16).astype(np.float64)
    if dt == "bf16":
        return bf16_round(a.astype(np.float32)).astype(np.float64)
    raise ValueError(dt)


def storage(a, dt):
    a = np.asarray(a, dtype=np.float64)
    if dt == "f64":
        return a.astype("<f8").tobytes()
    if dt == "f32":
        return a.astype("<f4").tobytes()
    if dt == "f16":
        return a.astype("<f2").tobytes()
    if dt == "bf16":
        return (bf16_round(a.astype(np.float32)).view(np.uint32) >> 16).astype("<u2").tobytes()
    raise ValueError(dt)


def num(v):
    v = float(v)
    return repr(v) if v != int(v) or abs(v) >= 1e16 else "%.1f" % v


def act(rng, shape):
    """Activations k/64 in [-1, 1]: exact in every float dtype, short as text."""
    return rng.integers(-64, 65, size=shape) / 64.0


def quant_weight(rng, name, n, k):
    """(bytes, dequantized float64 [n, k]) of a random weight of quantized type name."""
    t = QTYPES[name]
    be, bb = GGML_QUANT_SIZES[t]
    if name in ("q4_k", "q5_k", "q6_k"):
        raw = rng.integers(0, 256, size=(n, k // be, bb), dtype=np.uint8)
        if name == "q6_k":
            d = rng.uniform(1e-3, 4e-3, size=(n, k // be)).astype("<f2")
            raw[:, :, 208:210] = d.view(np.uint8).reshape(n, k // be, 2)
        else:
            dm = rng.uniform(1e-3, 8e-3, size=(n, k // be, 2)).astype("<f2")
            raw[:, :, 0:4] = dm.view(np.uint8).reshape(n, k // be, 4)
        raw = raw.reshape(n, k // be * bb)
    else:
        w = rng.normal(0, 0.5, size=(n, k)).astype(np.float32)
        raw = quants.quantize(w, t)
    deq = quants.dequantize(raw, t).astype(np.float64)
    assert deq.shape == (n, k) and np.all(np.isfinite(deq))
    return raw.tobytes(), deq


def weight(rng, dt, n, k):
    if dt in QTYPES:
        return quant_weight(rng, dt, n, k)
    w = round_to(rng.uniform(-1, 1, size=(n, k)), dt)
    return storage(w, dt), w


def tol_for(x, w, y, k, out_dt, acc_dt):
    mag = np.abs(x) @ np.abs(w).T
    err = 2 * np.sqrt(max(k, 1)) * EPS[acc_dt] * mag + 1.01 * EPS[out_dt] * np.abs(y)
    t = float(np.max(err / (1 + np.abs(y)))) if y.size else 0.0
    return max(t * 1.5, 1e-7)


def tstr(dt, dims):
    return "%s[%s]" % (dt, ",".join(str(d) for d in dims))


class Graph:
    """One test file: weights, inputs, outputs, IR statements."""

    def __init__(self, fname, doc):
        self.path, self.doc = os.path.join(HERE, fname), doc
        self.weights, self.syms, self.ins, self.outs, self.extra = [], [], [], [], []
        self.params, self.results, self.body, self.ret = [], [], [], []
        self.tol = 1e-7
        self.n = 0

    def const(self, name, dt, dims, data):
        self.weights.append("weight %s %s" % (name, data.hex()))
        self.body.append("%%%s = const @%s <0x%016x> : %s" % (name, name, fnv1a64(data), tstr(dt, dims)))
        return "%" + name

    def input(self, name, dt, dims, values, shape=None):
        self.params.append("%%%s: %s" % (name, tstr(dt, dims)))
        self.ins.append(" ".join(num(v) for v in np.asarray(values).reshape(-1)))
        return "%" + name

    def output(self, name, dt, dims, value, values):
        self.results.append("%s: %s" % (name, tstr(dt, dims)))
        self.ret.append(value)
        self.outs.append(" ".join(num(v) for v in np.asarray(values).reshape(-1)))

    def write(self):
        with open(self.path, "w") as f:
            f.write("// Generated by tests/cuda/gen_linear_graphs.py; do not edit.\n")
            for d in self.doc.strip().splitlines():
                f.write("// %s\n" % d)
            for s in self.syms:
                f.write("// E2E sym %s\n" % s)
            for v in self.ins:
                f.write("// E2E in %s\n" % v)
            for v in self.outs:
                f.write("// E2E out %s\n" % v)
            f.write("// E2E tol %.1e\n" % self.tol)
            for e in self.extra:
                f.write("// E2E %s\n" % e)
            for w in self.weights:
                f.write("// E2E %s\n" % w)
            f.write("graph @main(%s) -> (%s) {\n" % (", ".join(self.params), ", ".join(self.results)))
            for s in self.body:
                f.write("  %s\n" % s)
            f.write("  return %s\n}\n" % ", ".join(self.ret))


def linear_graph(rng, fname, doc, w_dt, n, k, uses, bias_dt=None):
    """One weight [n, k] of w_dt (and a bias of bias_dt) used by several
    linears: uses = [(x dtype, x dims (a symbol as (name, value)), bias?)]."""
    g = Graph(fname, doc)
    wb, w = weight(rng, w_dt, n, k)
    wv = g.const("w", w_dt, [n, k], wb)
    b, bv = None, None
    if bias_dt:
        b = act(rng, [n])
        bv = g.const("b", bias_dt, [n], storage(b, bias_dt))
    tol = 1e-7
    for i, (x_dt, dims, use_bias) in enumerate(uses):
        shape, names = [], []
        for d in dims:
            if isinstance(d, tuple):
                if "%s=%d" % d not in g.syms:
                    g.syms.append("%s=%d" % d)
                shape.append(d[1])
                names.append(d[0])
            else:
                shape.append(d)
                names.append(d)
        x = round_to(act(rng, shape), x_dt)
        xv = g.input("x%d" % i, x_dt, names, x)
        assert not use_bias or bias_dt == x_dt
        y = x.reshape(-1, k) @ w.T + (b if use_bias else 0)
        yr = round_to(y, x_dt)
        acc = "f64" if x_dt == "f64" else "f32"
        tol = max(tol, tol_for(x.reshape(-1, k), w, y, k, x_dt, acc))
        odims = names[:-1] + [n]
        g.body.append("%%y%d = linear %s, %s%s : %s loc(\"lin%d\")" %
                      (i, xv, wv, ", " + bv if use_bias else "", tstr(x_dt, odims), i))
        g.output("y%d" % i, x_dt, odims, "%%y%d" % i, yr)
    g.tol = tol
    g.write()


def linear_input_graph(rng, fname, doc, x_dt, w_dt, m, n, k, bias):
    """linear whose weight (and bias) are graph inputs: symbolic m, n and k."""
    g = Graph(fname, doc)
    g.syms += ["m=%d" % m, "n=%d" % n, "k=%d" % k]
    x = round_to(act(rng, [m, k]), x_dt)
    w = round_to(act(rng, [n, k]), w_dt)
    xv = g.input("x", x_dt, ["m", "k"], x)
    wv = g.input("w", w_dt, ["n", "k"], w)
    y = x @ w.T
    ops = xv + ", " + wv
    if bias:
        b = round_to(act(rng, [n]), x_dt)
        ops += ", " + g.input("b", x_dt, ["n"], b)
        y = y + b
    g.body.append("%%y = linear %s : %s loc(\"lin\")" % (ops, tstr(x_dt, ["m", "n"])))
    g.output("y", x_dt, ["m", "n"], "%y", round_to(y, x_dt))
    g.tol = tol_for(x, w, y, k, x_dt, "f64" if x_dt == "f64" else "f32")
    g.write()


def gather_cast_graph(rng, fname, doc, tables):
    """cast(gather(q table, ids, axis=0)): tables = [(q, rows, k, ids, ids dtype, out dtype, sym)],
    and casts of whole constants: (q, rows, k, None, None, out dtype, None)."""
    g = Graph(fname, doc)
    for i, (q, rows, k, ids, ids_dt, out_dt, sym) in enumerate(tables):
        tb, t = quant_weight(rng, q, rows, k)
        tv = g.const("t%d" % i, q, [rows, k], tb)
        if ids is None:
            g.body.append("%%y%d = cast %s {to=%s} : %s" % (i, tv, out_dt, tstr(out_dt, [rows, k])))
            g.output("y%d" % i, out_dt, [rows, k], "%%y%d" % i, round_to(t, out_dt))
            continue
        ids = np.asarray(ids)
        nids = sym if sym else len(ids)
        if sym:
            g.syms.append("%s=%d" % (sym, len(ids)))
        iv = g.input("ids%d" % i, ids_dt, [nids], ids)
        # the CPU's (and CUDA's) rule: wrap once when negative, then clamp
        j = np.where(ids < 0, ids + rows, ids).clip(0, rows - 1)
        g.body.append("%%r%d = gather %s, %s {axis=0} : %s loc(\"embd%d\")" % (i, tv, iv, tstr(q, [nids, k]), i))
        g.body.append("%%y%d = cast %%r%d {to=%s} : %s" % (i, i, out_dt, tstr(out_dt, [nids, k])))
        g.output("y%d" % i, out_dt, [nids, k], "%%y%d" % i, round_to(t[j], out_dt))
    g.write()


def scatter_graph(fname, doc, rng, alias, cases):
    """scatter_nd(data, idx, upd) per case [(data dims, idx dims, reduction)];
    alias: each result gets its data input's memory (in place)."""
    g = Graph(fname, doc)
    for i, (ddims, idims, red) in enumerate(cases):
        data = rng.integers(-50, 50, size=ddims).astype(np.float64)
        kk = idims[-1]
        nup = int(np.prod(idims[:-1]))
        idx = np.stack([rng.integers(-ddims[a], ddims[a], size=nup) for a in range(kk)], axis=-1)
        if nup > 3:
            idx[nup // 2] = idx[1]  # a repeated destination
        upd_shape = list(idims[:-1]) + list(ddims[kk:])
        upd = rng.integers(-9, 10, size=upd_shape).astype(np.float64)
        dv = g.input("d%d" % i, "f32", ddims, data)
        iv = g.input("i%d" % i, "i64", idims, idx.reshape(idims))
        uv = g.input("u%d" % i, "f32", upd_shape, upd)
        out = data.copy()
        u2 = upd.reshape(nup, -1)
        for p in range(nup):
            pos = tuple(int(idx[p, a] + ddims[a] if idx[p, a] < 0 else idx[p, a]) for a in range(kk))
            pos = tuple(min(max(c, 0), ddims[a] - 1) for a, c in enumerate(pos))
            cur = out[pos].reshape(-1)
            new = u2[p] if red == "none" else cur + u2[p] if red == "add" else cur * u2[p]
            out[pos] = new.reshape(out[pos].shape)
        attr = "" if red == "none" else " {reduction=\"%s\"}" % red
        g.body.append("%%s%d = scatter_nd %s, %s, %s%s : %s loc(\"scatter%d\")" % (i, dv, iv, uv, attr, tstr("f32", ddims), i))
        g.output("s%d" % i, "f32", ddims, "%%s%d" % i, out)
    if alias:
        g.extra += ["alias %d=%d" % (i, 3 * i) for i in range(len(cases))]
    g.write()


def main():
    rng = np.random.default_rng(20261123)
    os.makedirs(HERE, exist_ok=True)
    # float weights
    linear_graph(rng, "linear_f32.ugir",
                 "linear, f32 x and weight [37,300] (rows of 300: no multiple of 8), bias: symbolic rows 1\n"
                 "(GEMV) and 37 (GEMM), 20 static rows (GEMV, three m-tiles)",
                 "f32", 37, 300, [("f32", [("m1", 1), 300], True), ("f32", [("m2", 37), 300], False),
                                  ("f32", [20, 300], True)], bias_dt="f32")
    linear_graph(rng, "linear_f16w.ugir",
                 "linear, f16 weight [19,2100] under f32 x (rows of two GEMV chunks, the second ragged):\n"
                 "3 rows with bias, 2 symbolic rows",
                 "f16", 19, 2100, [("f32", [3, 2100], True), ("f32", [("m", 2), 2100], False)], bias_dt="f32")
    linear_graph(rng, "linear_f16w_gemm.ugir",
                 "linear, f16 weight [37,40] under f32 x: 70 static rows (GEMM, a ragged m tile), bias",
                 "f16", 37, 40, [("f32", [70, 40], True)], bias_dt="f32")
    linear_graph(rng, "linear_f16.ugir",
                 "linear, f16 x, weight and bias: leading dims [2,5] (10 rows), symbolic 40 rows",
                 "f16", 37, 256, [("f16", [2, 5, 256], True), ("f16", [("m", 40), 256], True)], bias_dt="f16")
    linear_graph(rng, "linear_bf16.ugir",
                 "linear, bf16 x, weight and bias (one symbolic row), and f32 x over the bf16 weight",
                 "bf16", 37, 96, [("bf16", [("m", 1), 96], True), ("f32", [4, 96], False)], bias_dt="bf16")
    linear_graph(rng, "linear_f64.ugir",
                 "linear, f64 x and weight [37,45] (f64 accumulation), bias; 3 and symbolic 33 rows (GEMM)",
                 "f64", 37, 45, [("f64", [3, 45], True), ("f64", [("m", 33), 45], False)], bias_dt="f64")
    linear_graph(rng, "linear_f32w_f64x.ugir", "linear, f32 weight [5,45] under f64 x and under f16 x",
                 "f32", 5, 45, [("f64", [2, 45], False), ("f16", [3, 45], False)])
    linear_input_graph(rng, "linear_winput.ugir",
                       "linear whose f16 weight and f32 bias are inputs: symbolic rows, N and K (3 x 77 @ 5 x 77)",
                       "f32", "f16", 3, 5, 77, True)
    linear_input_graph(rng, "linear_winput_gemm.ugir",
                       "linear whose bf16 weight is an input: symbolic rows (40: GEMM), N and K (77)",
                       "bf16", "bf16", 40, 6, 77, False)
    # every quantized type: K = 256 (one k-quant block), N = 37, one row and 37 symbolic rows
    for q in QTYPES:
        linear_graph(rng, "linear_%s.ugir" % q,
                     "linear, %s weight [37,256], f32 x: one symbolic row (GEMV) with bias, 33 rows (GEMM),\n"
                     "5 static rows" % q,
                     q, 37, 256, [("f32", [("m1", 1), 256], True), ("f32", [("m2", 33), 256], False),
                                  ("f32", [5, 256], True)], bias_dt="f32")
    # quantized weights under other x dtypes
    linear_graph(rng, "linear_quant_xtypes.ugir",
                 "linear, q8_0 weight [19,512] under f16 x, bf16 x and f64 x",
                 "q8_0", 19, 512, [("f16", [2, 512], False), ("bf16", [("m", 35), 512], False),
                                   ("f64", [3, 512], False)])
    # row byte lengths and long rows: q4_1 K=64 (40 bytes: 8-byte copies), q8_0 K=64
    # (68: 4-byte), q5_0 K=96 (66: 2-byte), q6_k K=768 (630: 2-byte), q4_0 K=4608
    # (2592 bytes, 2.25 GEMV chunks)
    for q, k, n, m in (("q4_1", 64, 37, 40), ("q8_0", 64, 37, 40), ("q5_0", 96, 37, 40), ("q6_k", 768, 19, 3),
                       ("q4_0", 4608, 19, 2)):
        linear_graph(rng, "linear_%s_k%d.ugir" % (q, k),
                     "linear, %s weight [%d,%d]: rows of %d bytes; 1 row, %d symbolic rows" %
                     (q, n, k, k // GGML_QUANT_SIZES[QTYPES[q]][0] * GGML_QUANT_SIZES[QTYPES[q]][1], m),
                     q, n, k, [("f32", [1, k], False), ("f32", [("m", m), k], False)])
    gather_cast_graph(rng, "quant_gather_cast.ugir",
                      "Embedding rows of quantized tables (gather along axis 0, the result stays quantized)\n"
                      "then cast to floats; ids negative and out of range (wrapped once, then clamped);\n"
                      "and whole quantized constants cast to floats",
                      [("q4_k", 10, 256, [3, -1, 0, 12, -13], "i64", "f32", None),
                       ("q8_0", 7, 64, [6, 0, 2, 2], "i32", "f16", "s"),
                       ("q5_0", 5, 96, [4, 1], "i64", "bf16", None),
                       ("q6_k", 3, 256, None, None, "bf16", None),
                       ("q5_1", 2, 64, None, None, "f64", None),
                       ("q4_0", 3, 64, None, None, "f32", None),
                       ("q4_1", 2, 32, [1], "i64", "f32", None),
                       ("q5_k", 2, 256, [0, 1], "i64", "f32", None)])
    # scatter_nd in place (the result given the data input's memory) and not
    scases = [([6, 4, 8], [3, 1], "none"), ([6, 4, 8], [5, 2], "none"), ([6, 4, 8], [4, 1], "add"),
              ([50], [4100, 1], "none")]
    scatter_graph("scatter_inplace.ugir",
                  "scatter_nd whose first result is given its data input's memory (E2E alias), as the\n"
                  "memory planner does for a session state (KV cache): repeated indices (the last write\n"
                  "wins), index depth 1 and 2, reduction add, and 4100 updates (more than the parallel\n"
                  "in-place path takes)", rng, True, scases)
    scatter_graph("scatter_copy.ugir", "The graphs of scatter_inplace.ugir without the alias (copy, then scatter)",
                  rng, False, scases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
