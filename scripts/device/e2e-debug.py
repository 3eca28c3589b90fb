"""Which of ugcc / the ONNX export disagrees with PyTorch on an end-to-end model:
torch eager vs ONNX Runtime (CPU) on the exported file, and ugcc (cuda) vs ONNX Runtime.
Usage: e2e-debug.py MODEL WORKDIR LIBUGRT UGCC_CMD"""
import os
import shlex
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../bench"))
import e2e_models as E  # noqa: E402
from gpu_bench import Ugrt  # noqa: E402

name, work, lib, ugcc = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
m, ins = E.build(name)
m = E.First(m.half().cuda()).eval()
ins = tuple(t.cuda().half() if t.is_floating_point() else t.cuda() for t in ins)
path = os.path.join(work, name + ".onnx")
with torch.no_grad():
    torch.onnx.export(m, ins, path, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
    m.eval()
    ref = m(*ins).float().cpu().numpy()
import onnxruntime as ort  # noqa: E402
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
o = s.run(None, {"x": ins[0].cpu().numpy()})[0].astype(np.float32)
print("torch vs ORT-CPU: max abs %.4g (ref max %.4g)" % (np.abs(o - ref).max(), np.abs(ref).max()))
so = os.path.join(work, name + ".so")
subprocess.run(shlex.split(ugcc) + [path, "--target=cuda:sm_90a", "-o", so], check=True)
u = Ugrt(lib)
out = torch.empty(ref.shape, dtype=torch.float16, device="cuda")
run = u.session(so, list(ins), [out])
run()
torch.cuda.synchronize()
y = out.float().cpu().numpy()
print("ugcc-cuda vs ORT-CPU: max abs %.4g; vs torch %.4g" % (np.abs(y - o).max(), np.abs(y - ref).max()))
print("sample ref", ref.reshape(-1)[:6], "ort", o.reshape(-1)[:6], "ugcc", y.reshape(-1)[:6])
