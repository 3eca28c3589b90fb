"""End-to-end models on the GPU machine: BERT-base, GPT-2 (124M) and ResNet-50 with random
weights in fp16, exported from PyTorch to ONNX there, compiled there by ugcc twice (the default
pipeline, and without the fuse pass), then timed next to PyTorch eager and torch.compile in the
same run.  Reported per model: kernels launched per inference and the activation arena (peak
after libugrt's placement, and the sum of the buffers) from the plan dump, latency, and the
largest difference from PyTorch eager's output.

Usage (scripts/device/e2e-models.sh wraps it):
  e2e_models.py WORKDIR LIBUGRT --ugcc "CMD" [--models bert,gpt2,resnet50] [--json FILE]
CMD runs ugcc (the bundled one: its loader and libraries); ugcc's arguments are appended."""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_bench import Ugrt, timeit  # noqa: E402

BATCH, SEQ = 8, 128


def build(name):
    """(torch module, example inputs) with random weights, fp16 where the model computes."""
    torch.manual_seed(0)
    if name == "bert":
        from transformers import BertConfig, BertModel
        cfg = BertConfig()
        cfg._attn_implementation = "eager"  # SDPA exports attention in f32 around an f16 model
        m = BertModel(cfg).eval()
        x = torch.randint(0, 30522, (BATCH, SEQ))
        return m, (x,)
    if name == "gpt2":
        from transformers import GPT2Config, GPT2Model
        cfg = GPT2Config()
        cfg._attn_implementation = "eager"
        m = GPT2Model(cfg).eval()
        x = torch.randint(0, 50257, (BATCH, SEQ))
        return m, (x,)
    if name == "resnet50":
        import torchvision
        m = torchvision.models.resnet50().eval()
        return m, (torch.randn(BATCH, 3, 224, 224),)
    raise ValueError(name)


class First(torch.nn.Module):
    """The model's first output as a plain tensor (HF models return dataclasses)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        if isinstance(y, torch.Tensor):
            return y
        return y[0]


def plan_stats(dump):
    text = open(os.path.join(dump, "codegen-plan.txt")).read()
    steps = sum(int(n) for n in re.findall(r"^plan @\S+: \d+ buffers, (\d+) steps", text, re.M))
    m = re.search(r"arena: peak (\d+) bytes \(sum of its buffers (\d+)\)", text)
    return steps, (int(m.group(1)) if m else None), (int(m.group(2)) if m else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("libugrt")
    ap.add_argument("--ugcc", required=True)
    ap.add_argument("--models", default="bert,gpt2,resnet50")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--variants", default="fused,nchw,unfused", help="which ugcc builds to time (see below)")
    ap.add_argument("--json")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    u = Ugrt(a.libugrt)
    sync = torch.cuda.synchronize
    rows = []
    for name in a.models.split(","):
        row = {"model": name}
        rows.append(row)
        try:
            m, ins = build(name)
        except Exception as e:  # noqa: BLE001 - report and go on
            row["error"] = "build: %s" % e
            print(name, row["error"], file=sys.stderr)
            continue
        m = First(m.half().cuda()).eval()
        ins = tuple(t.cuda().half() if t.is_floating_point() else t.cuda() for t in ins)
        onnx_path = os.path.join(a.work, name + ".onnx")
        try:
            with torch.no_grad():
                torch.onnx.export(m, ins, onnx_path, input_names=["x"], output_names=["y"], opset_version=17,
                                  dynamo=False)
        except Exception as e:  # noqa: BLE001
            row["error"] = "export: %s" % e
            print(name, row["error"], file=sys.stderr)
            continue
        # torch.onnx.export restores the training flag it found: keep the
        # whole model in eval mode for the reference (dropout, batch norm)
        m.eval()
        with torch.no_grad():
            ref = m(*ins)
            row["eager_ms"] = timeit(lambda: m(*ins), a.iters, sync) * 1e3
            try:
                cm = torch.compile(m)
                cm(*ins)
                row["compile_ms"] = timeit(lambda: cm(*ins), a.iters, sync) * 1e3
            except Exception as e:  # noqa: BLE001
                print("torch.compile failed for %s: %s" % (name, e), file=sys.stderr)
        # fused: the default pipeline (NHWC convs for CUDA alone); nchw: the same with the model's layout;
        # unfused: without the layout and fuse passes
        for variant, extra in [("fused", []), ("nchw", ["--layout=keep"]),
                               ("unfused", ["--passes=canonicalize,const-fold,cse,dce"])]:
            if variant not in a.variants.split(","):
                continue
            so = os.path.join(a.work, "%s.%s.so" % (name, variant))
            dump = os.path.join(a.work, "%s.%s.dump" % (name, variant))
            cmd = shlex.split(a.ugcc) + [onnx_path, "--target=cuda:sm_90a", "-o", so, "--dump-ir=" + dump] + extra
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                row[variant + "_error"] = (p.stderr or p.stdout).strip().splitlines()[-1:]
                print(name, variant, "ugcc:", p.stderr[-2000:], file=sys.stderr)
                continue
            steps, peak, total = plan_stats(dump)
            row[variant + "_kernels"] = steps
            row[variant + "_arena_peak"] = peak
            row[variant + "_arena_sum"] = total
            try:
                out = torch.empty_like(ref)
                run = u.session(so, list(ins), [out])
                run()
                sync()
                err = (out.float() - ref.float()).abs().max().item()
                row[variant + "_max_abs_err"] = err
                row[variant + "_ref_max"] = ref.float().abs().max().item()
                row[variant + "_ms"] = timeit(run, a.iters, sync) * 1e3
            except Exception as e:  # noqa: BLE001
                row[variant + "_error"] = "run: %s" % e
                print(name, variant, row[variant + "_error"], file=sys.stderr)
        print("done:", json.dumps(row), flush=True)
    print("device: %s; torch %s" % (torch.cuda.get_device_name(), torch.__version__))
    print("%-9s %9s %9s %9s %9s %9s %8s %8s %12s %12s %10s" % ("model", "ugcc ms", "nchw", "unfused", "eager ms",
                                                                "compile", "kernels", "unfused", "arena MiB",
                                                                "unfused MiB", "max err"))
    for r in rows:
        def g(k, f="%.3f"):
            v = r.get(k)
            return f % v if isinstance(v, (int, float)) else "-"
        mib = lambda k: "%.1f" % (r[k] / 2**20) if isinstance(r.get(k), int) else "-"  # noqa: E731
        print("%-9s %9s %9s %9s %9s %9s %8s %8s %12s %12s %10s" % (
            r["model"], g("fused_ms"), g("nchw_ms"), g("unfused_ms"), g("eager_ms"), g("compile_ms"), g("fused_kernels", "%d"),
            g("unfused_kernels", "%d"), mib("fused_arena_peak"), mib("unfused_arena_peak"), g("fused_max_abs_err", "%.3g")))
        for k, v in r.items():
            if k.endswith("error"):
                print("  %s %s: %s" % (r["model"], k, v))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
