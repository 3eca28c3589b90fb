#!/usr/bin/env python3
"""The GPU benchmark: ugcc's compiled kernels next to PyTorch eager and
torch.compile on the same operation, and the physical ceilings (device-to-
device copy bandwidth, the cuBLAS fp16 GEMM rate), all measured in one run.
Then the `linear` GEMV cases (bench/make_linear_models.py: f16 / q8_0 / q4_0
weights of 4096 x 4096, 14336 x 4096 and 4096 x 14336 at M = 1 and 16) as
GB/s and a share of the same copy bandwidth.

    gpu_bench.py MODELS_DIR LIBUGRT [--iters N] [--json FILE]

MODELS_DIR holds <case>.so compiled with --target=cuda (bench/make_models.py
writes the ONNX models).  ugcc runs through libugrt (ctypes) with inputs and
outputs bound to PyTorch's device memory (zero-copy), CUDA graphs on.

Timing: every candidate is called ITERS times after warm-up, each call
followed by a device synchronization (ugrt_session_run synchronizes its
stream; torch calls are followed by torch.cuda.synchronize()), and the median
of the per-call wall times is reported.  This counts the same launch +
synchronization overhead (a few microseconds) for every candidate.  Every
ugcc output is checked against PyTorch's before it is timed."""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_linear_models  # noqa: E402  (bench/make_linear_models.py: the linear cases' weights)
import make_models  # noqa: E402  (bench/make_models.py: the conv cases' shapes)

R, C, N = 32768, 4096, 4096
EM, EK, EN = 8192, 1024, 4096


class ModelOptions(ctypes.Structure):
    """ugrt_model_options_t (runtime/include/ugrt/ugrt.h)."""
    _fields_ = [("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p), ("ctx", ctypes.c_void_p),
                ("device", ctypes.c_char_p), ("verify_weights", ctypes.c_bool), ("cuda_graphs", ctypes.c_bool)]


class Ugrt:
    def __init__(self, path):
        L = ctypes.CDLL(path)
        self.L = L
        for name, res, args in [
            ("ugrt_model_options_init", None, [ctypes.c_void_p]),
            ("ugrt_model_load", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]),
            ("ugrt_session_create", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]),
            ("ugrt_session_set_input_device", ctypes.c_void_p,
             [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32,
              ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p, ctypes.c_size_t]),
            ("ugrt_session_set_output_device", ctypes.c_void_p,
             [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t]),
            ("ugrt_session_run", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_uint32]),
            ("ugrt_status_message", ctypes.c_char_p, [ctypes.c_void_p]),
            ("ugrt_dtype_from_name", ctypes.c_bool, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
        ]:
            f = getattr(L, name)
            f.restype = res
            f.argtypes = args

    def check(self, st, what):
        if st:
            raise RuntimeError("%s: %s" % (what, self.L.ugrt_status_message(st).decode()))

    def dtype(self, name):
        d = ctypes.c_int()
        assert self.L.ugrt_dtype_from_name(name.encode(), ctypes.byref(d))
        return d.value

    def session(self, so, inputs, outputs):
        """A callable running model `so` on torch device tensors in place."""
        opts = ModelOptions()
        self.L.ugrt_model_options_init(ctypes.byref(opts))
        dev = b"cuda"
        opts.device = dev
        m, s = ctypes.c_void_p(), ctypes.c_void_p()
        self.check(self.L.ugrt_model_load(so.encode(), ctypes.byref(opts), ctypes.byref(m)), "load " + so)
        self.check(self.L.ugrt_session_create(m, None, ctypes.byref(s)), "session")
        names = {torch.float16: "f16", torch.float32: "f32", torch.bfloat16: "bf16", torch.int64: "i64",
                 torch.int32: "i32"}
        keep = [dev]
        for i, t in enumerate(inputs):
            dims = (ctypes.c_int64 * t.dim())(*t.shape)
            keep.append(dims)
            self.check(self.L.ugrt_session_set_input_device(s, 0, i, self.dtype(names[t.dtype]), t.dim(), dims,
                                                           ctypes.c_void_p(t.data_ptr()), t.numel() * t.element_size()),
                       "input %d" % i)
        for i, t in enumerate(outputs):
            self.check(self.L.ugrt_session_set_output_device(s, 0, i, ctypes.c_void_p(t.data_ptr()),
                                                            t.numel() * t.element_size()), "output %d" % i)

        def run():
            self.check(self.L.ugrt_session_run(s, 0), "run " + so)
        run.keep = keep
        return run


def timeit(fn, iters, sync):
    for _ in range(3):
        fn()
        sync()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def dequant(raw, wdt, n, k):
    """The weight bytes (a uint8 device tensor) as float32 [n, k]: GGUF q8_0 /
    q4_0 blocks (docs/gguf.md), or f16."""
    if wdt == "f16":
        return raw.view(torch.float16).view(n, k).float()
    be, bb = make_linear_models.BLOCKS[wdt]
    b = raw.view(n, k // be, bb)
    d = b[..., 0:2].contiguous().view(torch.float16).float()  # [n, k/32, 1]
    if wdt == "q8_0":
        q = b[..., 2:34].contiguous().view(torch.int8).float()
    else:
        qs = b[..., 2:18].to(torch.int32)
        q = torch.cat([(qs & 15) - 8, (qs >> 4) - 8], -1).float()
    return (q * d).reshape(n, k)


def linear_rows(a, u, copy_bw, dev, sync):
    """The linear (GEMV) cases: ugcc's kernel on f32 x and an f16 / q8_0 /
    q4_0 weight, checked against x @ dequant(w)^T in f32, with the bytes it
    must move (weight + x + y) per second next to the copy bandwidth, and
    cuBLAS's f16 GEMV of the same shape (torch F.linear on f16 x and w) as
    the peer."""
    rows = []
    made = {}
    for wdt, n, k, m in make_linear_models.CASES:
        name = make_linear_models.case_name(wdt, n, k, m)
        so = os.path.join(a.models, name + ".so")
        row = {"case": name}
        rows.append(row)
        if not os.path.exists(so):
            print("ugcc failed for %s: no model (bench.sh prepare)" % name, file=sys.stderr)
            row.update(ugcc_us=float("nan"), ok=False)
            continue
        wn = make_linear_models.weight_name(wdt, n, k)
        if wn not in made:
            made.clear()  # one weight in memory at a time (up to 117 MB)
            made[wn] = make_linear_models.weight_bytes(wdt, n, k)
        wb = made[wn]
        with open(so + ".weights", "wb") as f:  # the external weights, as compiled
            f.write(wb)
        x = torch.randn(m, k, device=dev, dtype=torch.float32)
        w = dequant(torch.frombuffer(bytearray(wb), dtype=torch.uint8).to(dev), wdt, n, k)
        ref = x @ w.t()
        out = torch.empty(m, n, device=dev, dtype=torch.float32)
        nbytes = len(wb) + 4 * m * k + 4 * m * n
        try:
            run = u.session(so, [x], [out])
            run()
            sync()
            err = (out - ref).abs().max().item()
            row["max_rel_err"] = err / max(ref.abs().max().item(), 1e-30)
            row["ok"] = row["max_rel_err"] <= 1e-4
            row["ugcc_us"] = timeit(run, a.iters, lambda: None) * 1e6
        except Exception as e:  # noqa: BLE001 - report and go on
            print("ugcc failed for %s: %s" % (name, e), file=sys.stderr)
            row.update(ugcc_us=float("nan"), ok=False)
        x16, w16 = x.half(), w.half()
        row["cublas_f16_us"] = timeit(lambda: F.linear(x16, w16), a.iters, sync) * 1e6
        row["GBps"] = nbytes / (row["ugcc_us"] * 1e-6) / 1e9
        row["pct_copy_bw"] = 100 * nbytes / (row["ugcc_us"] * 1e-6) / copy_bw
        del w, w16, ref
        os.remove(so + ".weights")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models")
    ap.add_argument("libugrt")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--json")
    ap.add_argument("--no-compile", action="store_true",
                    help="leave torch.compile out (an A/B rerun of ugcc's side; its column is nan)")
    ap.add_argument("--only", help="comma-separated case-name prefixes (default: every case, and the linear section)")
    a = ap.parse_args()
    torch.manual_seed(0)
    dev = "cuda"
    sync = torch.cuda.synchronize
    u = Ugrt(a.libugrt)
    h = torch.float16
    rows = []

    # ceilings: device-to-device copy bandwidth (read + write) and cuBLAS fp16 GEMM
    big = torch.empty(1 << 30, dtype=torch.uint8, device=dev)
    big2 = torch.empty_like(big)
    tc = timeit(lambda: big2.copy_(big), a.iters, sync)
    copy_bw = 2 * big.numel() / tc
    del big, big2
    ga, gb = torch.randn(N, N, device=dev, dtype=h), torch.randn(N, N, device=dev, dtype=h)
    tg = timeit(lambda: torch.matmul(ga, gb), a.iters, sync)
    gemm_rate = 2 * N ** 3 / tg

    x = torch.randn(R, C, device=dev, dtype=h)
    g = torch.randn(C, device=dev, dtype=h)
    b = torch.randn(C, device=dev, dtype=h)
    r = torch.randn(R, C, device=dev, dtype=h)

    def rms(x, g):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)).to(x.dtype) * g

    def pointwise(x, s, b, r):
        t1 = x * s + b
        return t1 * torch.sigmoid(t1) + r

    ex, ew = torch.randn(EM, EK, device=dev, dtype=h), torch.randn(EK, EN, device=dev, dtype=h) / 32
    eb, er = torch.randn(EN, device=dev, dtype=h), torch.randn(EM, EN, device=dev, dtype=h)

    def gemm_epi(x, w, b, r):
        return F.gelu(x @ w + b) + r

    def fp32_matmul(a, b):
        torch.backends.cuda.matmul.allow_tf32 = False
        return torch.matmul(a, b)

    def tf32_matmul(a, b):
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            return torch.matmul(a, b)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = False

    cases = [
        # name, torch fn, inputs, output shape, bytes moved (ideal), flops
        ("softmax", lambda x: torch.softmax(x, -1), [x], (R, C), 2 * R * C * 2, 0),
        ("layernorm", lambda x, g, b: F.layer_norm(x, (C,), g, b, 1e-5), [x, g, b], (R, C), 2 * R * C * 2, 0),
        ("rmsnorm", rms, [x, g], (R, C), 2 * R * C * 2, 0),
        ("gemm", torch.matmul, [ga, gb], (N, N), 3 * N * N * 2, 2 * N ** 3),
    ] + [
        # fp32 (bench/make_models.py GEMMS_F32): <name>_f32 is ugcc's default (3xTF32, f32 accuracy)
        # against cuBLAS's fp32 GEMM; <name>_f32tf is --precision=tf32 against cuBLAS with TF32 allowed
        (name + sfx, lambda a, b, tf=(sfx == "_f32tf"): tf32_matmul(a, b) if tf else fp32_matmul(a, b),
         [torch.randn(m, k, device=dev), torch.randn(k, n, device=dev) / k ** 0.5], (m, n),
         4 * (m * k + k * n + m * n), 2 * m * k * n)
        for name, (m, k, n) in make_models.GEMMS_F32.items() for sfx in ("_f32", "_f32tf")
    ] + [
        (name, torch.matmul, [torch.randn(m, k, device=dev, dtype=h), torch.randn(k, n, device=dev, dtype=h) / k ** 0.5],
         (m, n), 2 * (m * k + k * n + m * n), 2 * m * k * n)
        for name, (m, k, n) in make_models.GEMMS_SMALL.items()
    ] + [
        ("pointwise", pointwise, [x, g, b, r], (R, C), 3 * R * C * 2, 0),
        # GEMM + bias + GELU + residual: fused (one kernel) and, from the same model, unfused
        ("gemm_epi", gemm_epi, [ex, ew, eb, er], (EM, EN), 2 * (EM * EK + EK * EN + 2 * EM * EN), 2 * EM * EN * EK),
        ("gemm_epi_nofuse", gemm_epi, [ex, ew, eb, er], (EM, EN), 2 * (EM * EK + EK * EN + 2 * EM * EN),
         2 * EM * EN * EK),
        # the same operations as the decomposed ONNX ops an exporter writes
        ("softmax_dec", lambda x: torch.softmax(x, -1), [x], (R, C), 2 * R * C * 2, 0),
        ("layernorm_dec", lambda x, g, b: F.layer_norm(x, (C,), g, b, 1e-5), [x, g, b], (R, C), 2 * R * C * 2, 0),
        ("rmsnorm_dec", rms, [x, g], (R, C), 2 * R * C * 2, 0),
    ]
    # short rows (bench/make_models.py): 128 and 768 elements, the same bytes as above
    xs = x.view(make_models.SR, 128)
    xl = x.view(-1)[:make_models.LR * 768].view(make_models.LR, 768)
    gl, bl = torch.randn(768, device=dev, dtype=h), torch.randn(768, device=dev, dtype=h)
    cases.append(("softmax_r128", lambda x: torch.softmax(x, -1), [xs], (make_models.SR, 128), 2 * xs.numel() * 2, 0))
    cases.append(("softmax_dec_r128", lambda x: torch.softmax(x, -1), [xs], (make_models.SR, 128), 2 * xs.numel() * 2,
                  0))
    cases.append(("layernorm_r768", lambda x, g, b: F.layer_norm(x, (768,), g, b, 1e-5), [xl, gl, bl],
                  (make_models.LR, 768), 2 * xl.numel() * 2, 0))
    # lone transposes (bench/make_models.py): eager is permute + contiguous
    for name, shp, perm in (("transpose_heads", make_models.TR_HEADS, (0, 2, 1, 3)),
                            ("transpose_nhwc", make_models.TR_NCHW, (0, 2, 3, 1))):
        tx = torch.randn(*shp, device=dev, dtype=h)
        cases.append((name, lambda x, perm=perm: x.permute(*perm).contiguous(), [tx],
                      tuple(shp[i] for i in perm), 2 * 2 * tx.numel(), 0))
    # convolutions (bench/make_models.py CONVS), fp16 NCHW at batch 8: cuDNN is eager's peer
    for name, (ci, hw, co, k, st, p) in make_models.CONVS.items():
        o = make_models.conv_out(hw, k, st, p)
        cx = torch.randn(make_models.CONV_BATCH, ci, hw, hw, device=dev, dtype=h)
        cw = torch.randn(co, ci, k, k, device=dev, dtype=h) / (ci * k * k) ** 0.5
        cb = torch.randn(co, device=dev, dtype=h)
        fl = 2 * make_models.CONV_BATCH * co * o * o * ci * k * k
        nb = 2 * (cx.numel() + cw.numel() + make_models.CONV_BATCH * co * o * o)
        # <name>: ugcc's default for CUDA (channels last: x, w and y transposed around conv_nhwc);
        # <name>_nchw: --layout=keep, the implicit GEMM over NCHW
        for suffix in ("", "_nchw"):
            cases.append((name + suffix, lambda x, w, b, st=st, p=p: F.conv2d(x, w, b, st, p), [cx, cw, cb],
                          (make_models.CONV_BATCH, co, o, o), nb, fl))
        if name in make_models.CONVS_F32:
            # fp32: <name>_f32 ugcc's default (3xTF32: f32 accuracy), <name>_f32tf --precision=tf32,
            # <name>_f32tf_nchw the same over NCHW (--layout=keep);
            # eager's cuDNN takes TF32 for fp32 convs by default (torch.backends.cudnn.allow_tf32)
            fx, fw, fb = cx.float(), cw.float(), cb.float()
            for suffix in ("_f32", "_f32tf", "_f32tf_nchw"):
                cases.append((name + suffix, lambda x, w, b, st=st, p=p: F.conv2d(x, w, b, st, p), [fx, fw, fb],
                              (make_models.CONV_BATCH, co, o, o), 2 * nb, fl))
        if name == "conv_3x3_14":
            # ConvTranspose (bench/make_models.py CONVT): cuDNN's transposed conv for eager, fp16 and fp32
            ti, thw, to, tk, ts, tp = make_models.CONVT
            too = make_models.convt_out(thw, tk, ts, tp)
            tx = torch.randn(make_models.CONV_BATCH, ti, thw, thw, device=dev, dtype=h)
            tw = torch.randn(ti, to, tk, tk, device=dev, dtype=h) / (ti * tk * tk / (ts * ts)) ** 0.5
            tb = torch.randn(to, device=dev, dtype=h)
            tfl = 2 * make_models.CONV_BATCH * ti * thw * thw * to * tk * tk
            tnb = 2 * (tx.numel() + tw.numel() + make_models.CONV_BATCH * to * too * too)
            for suffix, cv in (("", lambda v: v), ("_f32", lambda v: v.float())):
                cases.append(("convt_4x4s2" + suffix,
                              lambda x, w, b, ts=ts, tp=tp: F.conv_transpose2d(x, w, b, ts, tp),
                              [cv(tx), cv(tw), cv(tb)], (make_models.CONV_BATCH, to, too, too),
                              tnb * (2 if suffix else 1), tfl))
            cr = torch.randn(make_models.CONV_BATCH, co, o, o, device=dev, dtype=h)
            for suffix in ("", "_nchw"):
                cases.append(("conv_epi" + suffix, lambda x, w, b, r: F.relu(F.conv2d(x, w, b, 1, 1)) + r,
                              [cx, cw, cb, cr], (make_models.CONV_BATCH, co, o, o), nb + 2 * cr.numel(), fl))
    # window kernels (bench/make_models.py): pooling, reductions over a middle axis, argmax
    b_, c_, hw = make_models.POOL_STEM
    px = torch.randn(b_, c_, hw, hw, device=dev, dtype=h)
    cases.append(("maxpool_stem", lambda x: F.max_pool2d(x, 3, 2, 1), [px], (b_, c_, hw // 2, hw // 2),
                  2 * (px.numel() + px.numel() // 4), 0))
    b_, c_, hw = make_models.POOL_AVG
    ax = torch.randn(b_, c_, hw, hw, device=dev, dtype=h)
    cases.append(("avgpool_3x3", lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), [ax], (b_, c_, hw, hw),
                  2 * 2 * ax.numel(), 0))
    b_, s_, hd = make_models.RED_MID
    rx = torch.randn(b_, s_, hd, device=dev, dtype=h)
    cases.append(("reduce_mid", lambda x: x.mean(1), [rx], (b_, hd), 2 * (rx.numel() + b_ * hd), 0))
    b_, c_, hw = make_models.RED_CH
    cx_ = torch.randn(b_, c_, hw, hw, device=dev, dtype=h)
    cases.append(("reduce_ch", lambda x: x.sum(1, keepdim=True), [cx_], (b_, 1, hw, hw),
                  2 * (cx_.numel() + b_ * hw * hw), 0))
    b_, c_, hw = make_models.ARG_CH
    gx = torch.randn(b_, c_, hw, hw, device=dev)
    cases.append(("argmax_ch", lambda x: x.argmax(1), [gx], (b_, hw, hw), 4 * gx.numel() + 8 * b_ * hw * hw, 0))
    b_, s_, hd = make_models.SOFTMAX_AX
    sx = torch.randn(b_, s_, hd, device=dev, dtype=h)
    cases.append(("softmax_axis", lambda x: torch.softmax(x, 1), [sx], (b_, s_, hd), 2 * 2 * sx.numel(), 0))
    b_, c_, hw, p_ = make_models.PAD_REFL
    fx = torch.randn(b_, c_, hw, hw, device=dev, dtype=h)
    cases.append(("pad_reflect", lambda x: F.pad(x, (p_,) * 4, mode="reflect"), [fx],
                  (b_, c_, hw + 2 * p_, hw + 2 * p_), 2 * (fx.numel() + b_ * c_ * (hw + 2 * p_) ** 2), 0))
    b_, c_, hw = make_models.RESIZE_LIN
    lx = torch.randn(b_, c_, hw, hw, device=dev, dtype=h)
    cases.append(("resize_linear", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
                  [lx], (b_, c_, 2 * hw, 2 * hw), 2 * 5 * lx.numel(), 0))
    b_, c_, hw = make_models.INST_NORM
    ix = torch.randn(b_, c_, hw, hw, device=dev, dtype=h)
    isc = torch.randn(c_, device=dev, dtype=h)
    ibi = torch.randn(c_, device=dev, dtype=h)
    cases.append(("instance_norm", lambda x, s, bi: F.instance_norm(x, weight=s, bias=bi, eps=1e-5), [ix, isc, ibi],
                  (b_, c_, hw, hw), 2 * 2 * ix.numel(), 0))
    r_, v_ = make_models.ARG_LAST
    vx = torch.randn(r_, v_, device=dev)
    cases.append(("argmax_last", lambda x: x.argmax(-1), [vx], (r_,), 4 * vx.numel() + 8 * r_, 0))
    only = a.only.split(",") if a.only else None
    for name, fn, ins, oshape, nbytes, flops in cases:
        if only and not any(name.startswith(o) for o in only):
            continue
        row = {"case": name}
        t_eager = timeit(lambda: fn(*ins), a.iters, sync)
        cfn = torch.compile(fn)
        ref = fn(*ins)
        try:
            if a.no_compile:
                raise RuntimeError("--no-compile")
            cfn(*ins)
            t_comp = timeit(lambda: cfn(*ins), a.iters, sync)
        except Exception as e:  # noqa: BLE001 - report and go on
            if not a.no_compile:
                print("torch.compile failed for %s: %s" % (name, e), file=sys.stderr)
            t_comp = float("nan")
        row.update(eager_us=t_eager * 1e6, compile_us=t_comp * 1e6)
        so = os.path.join(a.models, name + ".so")
        try:
            out = torch.empty(oshape, device=dev, dtype=ref.dtype)
            run = u.session(so, ins, [out])
            run()
            sync()
            err = (out.float() - ref.float()).abs().max().item()
            scale = ref.float().abs().max().item()
            row["max_abs_err"] = err
            contraction = name.startswith("gemm") or name.startswith("conv")
            row["ok"] = err <= 2e-2 * max(1.0, scale) if not contraction else err <= 2e-2 * scale
            t_ug = timeit(run, a.iters, lambda: None)
            row["ugcc_us"] = t_ug * 1e6
        except Exception as e:  # noqa: BLE001
            print("ugcc failed for %s: %s" % (name, e), file=sys.stderr)
            row["ugcc_us"] = float("nan")
            row["ok"] = False
        row["ugcc_GBps"] = nbytes / (row["ugcc_us"] * 1e-6) / 1e9
        row["pct_copy_bw"] = 100 * nbytes / (row["ugcc_us"] * 1e-6) / copy_bw
        if flops:
            row["ugcc_TFLOPs"] = flops / (row["ugcc_us"] * 1e-6) / 1e12
            row["pct_cublas"] = 100 * flops / (row["ugcc_us"] * 1e-6) / gemm_rate
        rows.append(row)

    print("device: %s; torch %s" % (torch.cuda.get_device_name(), torch.__version__))
    print("ceilings: copy bandwidth %.0f GB/s (1 GiB D2D, read+write); cuBLAS fp16 GEMM 4096^3 %.0f TFLOP/s"
          % (copy_bw / 1e9, gemm_rate / 1e12))
    print("%-13s %10s %10s %10s %8s %8s %9s %s" % ("case", "ugcc us", "eager us", "compile us", "eager/ug",
                                                   "comp/ug", "ceiling%", "check"))
    for row in rows:
        ceil = row.get("pct_cublas", row["pct_copy_bw"])
        print("%-13s %10.1f %10.1f %10.1f %8.2f %8.2f %8.1f%% %s" % (
            row["case"], row["ugcc_us"], row["eager_us"], row["compile_us"], row["eager_us"] / row["ugcc_us"],
            row["compile_us"] / row["ugcc_us"], ceil, "ok" if row["ok"] else "WRONG (%s)" % row.get("max_abs_err")))
    print("eager/ug and comp/ug > 1: ugcc is faster; ceiling%: share of copy bandwidth (GEMM: of cuBLAS's rate)")
    lrows = linear_rows(a, u, copy_bw, dev, sync) if not only else []
    print()
    print("linear, f32 x [M,K] @ w[N,K]^T: bytes = weight + x + y; cuBLAS f16 GEMV of the same shape for reference")
    print("%-26s %10s %9s %9s %12s %s" % ("case", "ugcc us", "GB/s", "copy bw%", "cuBLAS f16 us", "check"))
    for row in lrows:
        print("%-26s %10.1f %9.0f %8.1f%% %12.1f %s" % (
            row["case"], row["ugcc_us"], row.get("GBps", float("nan")), row.get("pct_copy_bw", float("nan")),
            row.get("cublas_f16_us", float("nan")),
            "ok" if row["ok"] else "WRONG (%s)" % row.get("max_rel_err")))
    if a.json:
        json.dump({"copy_GBps": copy_bw / 1e9, "cublas_TFLOPs": gemm_rate / 1e12, "rows": rows, "linear": lrows},
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
