#!/usr/bin/env python3
"""Writes a large ONNX model for measuring compile memory (docs/security.md):
an MLP of LAYERS x (MatMul with a random f32[SIZE,SIZE] weight, then Relu), on
an input f32[1,SIZE].  The weights are embedded in the .onnx as raw_data
unless --external is given (then they go to OUT.data, one file).
    python3 scripts/make-big-onnx.py OUT.onnx [--layers 16] [--size 2048] [--external]
16 layers of 2048 x 2048 make 256 MiB of weights.  Needs numpy and onnx."""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--layers", type=int, default=16)
ap.add_argument("--size", type=int, default=2048)
ap.add_argument("--external", action="store_true")
args = ap.parse_args()

n = args.size
rng = np.random.default_rng(0)
nodes, inits = [], []
x = "x"
for i in range(args.layers):
    w = (rng.standard_normal((n, n), dtype=np.float32) / np.sqrt(n)).astype(np.float32)
    inits.append(numpy_helper.from_array(w, name=f"w{i}"))
    nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"], name=f"matmul{i}"))
    nodes.append(helper.make_node("Relu", [f"m{i}"], [f"r{i}"], name=f"relu{i}"))
    x = f"r{i}"
graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, n])], initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
if args.external:
    onnx.save_model(model, args.out, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=os.path.basename(args.out) + ".data", size_threshold=1024)
else:
    onnx.save_model(model, args.out)
