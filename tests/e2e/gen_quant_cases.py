#!/usr/bin/env python3
"""Writes the end-to-end cases of `linear` (float and block-quantized
weights), of gather from a quantized table and of cast from a quantized
dtype, with expected outputs from an independent reference: NumPy for the
arithmetic and gguf-py (`gguf.quants`) for quantizing and dequantizing,
never ugcc's own dequantizer.

    pip install -r tests/requirements.txt    # numpy==1.26.4 gguf==0.19.0
    python3 tests/e2e/gen_quant_cases.py     # rewrites the files below

Outputs (commit them; re-run after changing a case, the output is
deterministic):
  tests/e2e/linear_*.ugir        float weights of at most 16 elements, written
                                 inline (dense<...>); compiled by plain ugcc
  tests/e2e/weights/*.ugir       weights as bytes on `// E2E weight NAME HEX`
                                 lines (text IR cannot write quantized data
                                 inline, and larger weights print as a hash);
                                 compiled by e2e_weights, which checks that the
                                 bytes hash to the const's <0x...>

q4_0, q4_1, q5_0, q5_1 and q8_0 weights are gguf-py's quantization of random
f32 rows.  gguf-py only dequantizes the k-quants, so q4_k, q5_k and q6_k
blocks are random bytes with sane f16 scales (d, dmin) and gguf-py's
dequantization is the reference.  The expected values are the float64 result
of the dequantized weights, rounded once to the output dtype; the tolerance
of each file allows for f32 accumulation (and the output's rounding).
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGML_QUANT_SIZES, quants

HERE = os.path.dirname(os.path.abspath(__file__))
QTYPES = {"q4_0": QT.Q4_0, "q4_1": QT.Q4_1, "q5_0": QT.Q5_0, "q5_1": QT.Q5_1, "q8_0": QT.Q8_0,
          "q4_k": QT.Q4_K, "q5_k": QT.Q5_K, "q6_k": QT.Q6_K}


def fnv1a64(b):
    """The content hash of a const (ir/graph.c ug_hash_bytes): FNV-1a 64 with
    the offset basis ugcc uses, 1469598103934665603 (the standard one is
    14695981039346656037; what matters here is to match the parser's)."""
    h = 1469598103934665603
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def bf16_round(a):
    """float32 values rounded to bfloat16 (nearest even), as float32."""
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
        # float64 -> float32 first rounds twice, harmless for these sums (they
        # are far from bf16 ties); checked below against the tolerance anyway
        return bf16_round(a.astype(np.float32)).astype(np.float64)
    raise ValueError(dt)


def storage(a, dt):
    """Bytes of a float array stored as dtype dt."""
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


EPS = {"f64": 2.0 ** -53, "f32": 2.0 ** -24, "f16": 2.0 ** -11, "bf16": 2.0 ** -8}


def num(v):
    """A value as e2e_run reads it: the shortest text of the float64."""
    v = float(v)
    return repr(v) if v != int(v) or abs(v) >= 1e16 else "%.1f" % v


def dense_num(v):
    """A dense<...> element as the IR printer writes it (k/8 values only)."""
    return num(v)


def random_act(rng, shape, dt):
    """Activations: uniform in [-1, 1), exactly representable in dt."""
    return round_to(rng.uniform(-1, 1, size=shape), dt)


def quant_weight(rng, name, n, k):
    """(bytes, dequantized float32 [n, k]) of a random weight of quantized type name."""
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
    deq = quants.dequantize(raw, t).astype(np.float32)
    assert deq.shape == (n, k) and np.all(np.isfinite(deq))
    return raw.tobytes(), deq


def tol_for(x, w, y, k, out_dt, acc_dt):
    """A tolerance for |got - want| <= tol * (1 + |want|): the accumulation's
    error (2 sqrt(K) ulps of the sum of |products|) plus the output's rounding."""
    mag = np.abs(x) @ np.abs(w).T
    err = 2 * np.sqrt(max(k, 1)) * EPS[acc_dt] * mag + 1.01 * EPS[out_dt] * np.abs(y)
    t = float(np.max(err / (1 + np.abs(y))))
    return float("%.1e" % max(t * 1.5, 1e-7))


def type_str(dt, dims):
    return "%s[%s]" % (dt, ",".join(str(d) for d in dims))


class Case:
    def __init__(self, path, doc):
        self.path, self.doc = path, doc
        self.lines = []      # // E2E lines
        self.body = []       # IR statements

    def write(self, params, results, ret):
        with open(self.path, "w") as f:
            f.write("// Generated by tests/e2e/gen_quant_cases.py; do not edit.\n")
            for d in self.doc.strip().splitlines():
                f.write("// %s\n" % d)
            for l in self.lines:
                f.write("// E2E %s\n" % l)
            f.write("graph @main(%s) -> (%s) {\n" % (", ".join(params), ", ".join(results)))
            for s in self.body:
                f.write("  %s\n" % s)
            f.write("  return %s\n}\n" % ", ".join(ret))


def linear_case(rng, fname, doc, x_dt, x_shape, w_dt, n, bias=False, sym=None, inline=False):
    """x @ w^T (+ bias); x_shape may hold the symbol name sym=(name, value)."""
    k = x_shape[-1]
    shape = [sym[1] if d == sym[0] else d for d in x_shape] if sym else list(x_shape)
    x = random_act(rng, shape, x_dt)
    acc_dt = "f64" if x_dt == "f64" else "f32"
    if w_dt in QTYPES:
        wbytes, w = quant_weight(rng, w_dt, n, k)
        w = w.astype(np.float64)
    elif inline:
        w = rng.integers(-8, 9, size=(n, k)) / 8.0
        wbytes = storage(w, w_dt)
    else:
        w = round_to(rng.uniform(-1, 1, size=(n, k)), w_dt)
        wbytes = storage(w, w_dt)
    b = (rng.integers(-8, 9, size=n) / 8.0 if inline else random_act(rng, [n], x_dt)) if bias else None
    y = x.reshape(-1, k) @ w.T + (b if bias else 0)
    yr = round_to(y, x_dt)
    c = Case(os.path.join(HERE, fname), doc)
    if sym:
        c.lines.append("sym %s=%d" % sym)
    c.lines.append("in " + " ".join(num(v) for v in x.reshape(-1)))
    c.lines.append("out " + " ".join(num(v) for v in yr.reshape(-1)))
    c.lines.append("tol %g" % tol_for(x.reshape(-1, k), w, y, k, x_dt, acc_dt))
    if inline:
        wconst = "dense<[%s]>" % ", ".join(dense_num(v) for v in w.reshape(-1))
    else:
        c.lines.insert(0, "weight w " + wbytes.hex())
        wconst = "<0x%016x>" % fnv1a64(wbytes)
    c.body.append("%%w = const @w %s : %s" % (wconst, type_str(w_dt, [n, k])))
    ops = "%x, %w"
    if bias:
        if inline:
            bconst = "dense<[%s]>" % ", ".join(dense_num(v) for v in b)
        else:
            bb = storage(b, x_dt)
            c.lines.insert(1, "weight b " + bb.hex())
            bconst = "<0x%016x>" % fnv1a64(bb)
        c.body.append("%%b = const @b %s : %s" % (bconst, type_str(x_dt, [n])))
        ops += ", %b"
    out_shape = list(x_shape[:-1]) + [n]
    c.body.append("%%y = linear %s : %s" % (ops, type_str(x_dt, out_shape)))
    c.write(["%%x: %s" % type_str(x_dt, x_shape)], ["y: %s" % type_str(x_dt, out_shape)], ["%y"])


def gather_cast_case(rng, fname, doc, q, rows, k, ids, out_dt, ids_dt="i64", sym=None):
    """cast(gather(table, ids, axis=0), out_dt): embedding rows of a quantized table."""
    tbytes, t = quant_weight(rng, q, rows, k)
    ids = np.asarray(ids)
    y = round_to(t.astype(np.float64)[ids], out_dt)
    c = Case(os.path.join(HERE, fname), doc)
    c.lines.append("weight table " + tbytes.hex())
    if sym:
        c.lines.append("sym %s=%d" % (sym, len(ids)))
    c.lines.append("in " + " ".join(str(int(i)) for i in ids))
    c.lines.append("out " + " ".join(num(v) for v in y.reshape(-1)))
    c.lines.append("tol 1e-7")
    n = sym if sym else len(ids)
    c.body.append("%%table = const @table <0x%016x> : %s" % (fnv1a64(tbytes), type_str(q, [rows, k])))
    c.body.append("%%rows = gather %%table, %%ids {axis=0} : %s" % type_str(q, [n, k]))
    c.body.append("%%y = cast %%rows {to=%s} : %s" % (out_dt, type_str(out_dt, [n, k])))
    c.write(["%%ids: %s" % type_str(ids_dt, [n])], ["y: %s" % type_str(out_dt, [n, k])], ["%y"])


def cast_case(rng, fname, doc, q, rows, k, out_dt):
    """cast(const q, out_dt): a whole quantized weight dequantized."""
    tbytes, t = quant_weight(rng, q, rows, k)
    y = round_to(t.astype(np.float64), out_dt)
    c = Case(os.path.join(HERE, fname), doc)
    c.lines.append("weight w " + tbytes.hex())
    c.lines.append("out " + " ".join(num(v) for v in y.reshape(-1)))
    c.lines.append("tol 1e-7")
    c.body.append("%%w = const @w <0x%016x> : %s" % (fnv1a64(tbytes), type_str(q, [rows, k])))
    c.body.append("%%y = cast %%w {to=%s} : %s" % (out_dt, type_str(out_dt, [rows, k])))
    c.write([], ["y: %s" % type_str(out_dt, [rows, k])], ["%y"])


def gather_error_case(rng, fname, doc, nids, want):
    """gather along the last axis of a quantized table: a compile error naming the node."""
    tbytes, _ = quant_weight(rng, "q4_0", 2, 64)
    c = Case(os.path.join(HERE, fname), doc)
    c.lines.append("weight table " + tbytes.hex())
    c.lines.append("error " + want)
    c.body.append("%%table = const @table <0x%016x> : q4_0[2,64]" % fnv1a64(tbytes))
    c.body.append("%%rows = gather %%table, %%ids {axis=1} : q4_0[2,%d] loc(\"embd_cols\")" % nids)
    c.body.append("%%y = cast %%rows {to=f32} : f32[2,%d]" % nids)
    c.write(["%%ids: i64[%d]" % nids], ["y: f32[2,%d]" % nids], ["%y"])


def main():
    rng = np.random.default_rng(20261122)
    os.makedirs(os.path.join(HERE, "weights"), exist_ok=True)
    W = "weights/"
    # float weights written inline (plain ugcc)
    linear_case(rng, "linear_f32.ugir", "linear, f32, leading dims [2,3] (6 rows: the GEMM path), bias.",
                "f32", [2, 3, 4], "f32", 3, bias=True, inline=True)
    linear_case(rng, "linear_f16_weight.ugir", "linear, f16 weight under f32 activations (dot path).",
                "f32", [2, 4], "f16", 4, inline=True)
    linear_case(rng, "linear_bf16.ugir", "linear, bf16 activations, weight and bias; rounded once to bf16.",
                "bf16", [3, 4], "bf16", 2, bias=True, inline=True)
    linear_case(rng, "linear_symbolic.ugir", "linear with a symbolic row count (seq=5: the GEMM path), bias.",
                "f32", ["seq", 4], "f32", 3, bias=True, sym=("seq", 5), inline=True)
    linear_case(rng, "linear_symbolic_f16.ugir", "linear, f16 activations, f32 weight, symbolic rows (seq=2: dot path).",
                "f16", ["seq", 4], "f32", 2, sym=("seq", 2), inline=True)
    linear_case(rng, "linear_f64.ugir", "linear, f64 activations (f64 accumulation), f16 weight, bias.",
                "f64", [2, 4], "f16", 2, bias=True, inline=True)
    # weights as bytes (e2e_weights)
    linear_case(rng, W + "linear_f16_k64.ugir", "linear, f16 weight [4,64] under f32 activations, bias.",
                "f32", [3, 64], "f16", 4, bias=True)
    linear_case(rng, W + "linear_f32_bf16x.ugir", "linear, bf16 activations, f32 weight [5,64], 6 rows (GEMM path).",
                "bf16", [6, 64], "f32", 5)
    linear_case(rng, W + "linear_q4_0.ugir", "linear, q4_0 weight, 3 rows (dot path), bias.",
                "f32", [3, 64], "q4_0", 4, bias=True)
    linear_case(rng, W + "linear_q4_0_seq.ugir", "linear, q4_0 weight, symbolic rows (seq=5: GEMM path).",
                "f32", ["seq", 64], "q4_0", 3, sym=("seq", 5))
    linear_case(rng, W + "linear_q4_1.ugir", "linear, q4_1 weight.", "f32", [2, 64], "q4_1", 3)
    linear_case(rng, W + "linear_q5_0.ugir", "linear, q5_0 weight.", "f32", [2, 64], "q5_0", 3)
    linear_case(rng, W + "linear_q5_1.ugir", "linear, q5_1 weight, bias.", "f32", [2, 64], "q5_1", 3, bias=True)
    linear_case(rng, W + "linear_q8_0.ugir", "linear, q8_0 weight, one row (decode).", "f32", [1, 64], "q8_0", 4)
    linear_case(rng, W + "linear_q8_0_f64.ugir", "linear, q8_0 weight under f64 activations, bias.",
                "f64", [2, 64], "q8_0", 2, bias=True)
    linear_case(rng, W + "linear_q4_0_f16.ugir", "linear, q4_0 weight under f16 activations, bias; f16 result.",
                "f16", [2, 64], "q4_0", 2, bias=True)
    linear_case(rng, W + "linear_q4_k.ugir", "linear, q4_k weight.", "f32", [2, 256], "q4_k", 3)
    linear_case(rng, W + "linear_q5_k.ugir", "linear, q5_k weight, leading dims [1,2], bias.",
                "f32", [1, 2, 256], "q5_k", 2, bias=True)
    linear_case(rng, W + "linear_q6_k.ugir", "linear, q6_k weight, one row (decode).", "f32", [1, 256], "q6_k", 2)
    linear_case(rng, W + "linear_q6_k_rows.ugir", "linear, q6_k weight, 5 rows (GEMM path).",
                "f32", [5, 256], "q6_k", 4)
    gather_cast_case(rng, W + "gather_q4_0.ugir", "Embedding rows of a q4_0 table, dequantized to f32.",
                     "q4_0", 5, 64, [4, 0, 2], "f32")
    gather_cast_case(rng, W + "gather_q6_k_seq.ugir",
                     "Embedding rows of a q6_k table by a symbolic number of i32 ids, dequantized to f16.",
                     "q6_k", 3, 256, [2, 0], "f16", ids_dt="i32", sym="seq")
    gather_cast_case(rng, W + "gather_q8_0.ugir", "Embedding rows of a q8_0 table (a repeated id), dequantized to f32.",
                     "q8_0", 4, 32, [3, 3, 1, 0], "f32")
    cast_case(rng, W + "cast_q5_1.ugir", "A q5_1 weight dequantized by cast.", "q5_1", 2, 64, "f32")
    cast_case(rng, W + "cast_q4_k_f64.ugir", "A q4_k weight dequantized by cast to f64.", "q4_k", 1, 256, "f64")
    cast_case(rng, W + "cast_q5_k_bf16.ugir", "A q5_k weight dequantized by cast to bf16.", "q5_k", 1, 256, "bf16")
    gather_error_case(rng, W + "gather_q4_0_axis1.ugir",
                      "Gathering columns of a quantized table (axis 1) is an error naming the node.", 32,
                      "node \"embd_cols\" (gather): gather from the block-quantized q4_0 table along axis 1")
    gather_error_case(rng, W + "gather_q4_0_axis1_partial.ugir",
                      "Gathering 2 columns of a quantized table: not whole blocks, an error naming the node.", 2,
                      "node \"embd_cols\" (gather): q4_0[2,2] is not made of whole q4_0 blocks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
