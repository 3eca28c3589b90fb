#!/usr/bin/env python3
"""ONNX matmul and conv models for timing the CPU backend's contractions (bench/cpu_matmul.sh):
every operand is an input (no weights), so the compiled model.so files are small
enough to carry to another machine.

    python3 bench/make_cpu_matmul_models.py DIR
"""
import os
import sys

import onnx
from onnx import TensorProto as T
from onnx import helper as h

# name: (batch or None, M, K, N, dtype, epilogue, symbolic M)
MODELS = {
    "mm_sq512": (None, 512, 768, 768, T.FLOAT, False, False),
    "mm_ffn_epi": (None, 512, 768, 3072, T.FLOAT, True, False),
    "mm_row1": (None, 1, 768, 3072, T.FLOAT, False, False),
    "mm_heads": (12, 64, 64, 64, T.FLOAT, False, False),
    "mm_f16": (None, 256, 512, 512, T.FLOAT16, False, False),
    "mm_sym": (None, "s", 768, 768, T.FLOAT, False, True),
}


# name: (C in, H = W, M out, kernel, stride, pad, dtype), batch 1, with a bias
CONVS = {
    "conv_3x3_28": (128, 28, 128, 3, 1, 1, T.FLOAT),
    "conv_1x1_56": (256, 56, 64, 1, 1, 0, T.FLOAT),
    "conv_7x7s2": (3, 224, 64, 7, 2, 3, T.FLOAT),
    "conv_3x3_14_f16": (256, 14, 256, 3, 1, 1, T.FLOAT16),
}


# ConvTranspose: (C in, H = W, M out, kernel, stride, pad, dtype), batch 1, with a bias
CONVTS = {
    "convt_4x4s2": (128, 28, 64, 4, 2, 1, T.FLOAT),
}


def make_conv(d, name, ci, hw, co, k, st, p, dt, transpose=False):
    o = (hw - 1) * st - 2 * p + k if transpose else (hw + 2 * p - k) // st + 1
    ins = [h.make_tensor_value_info("x", dt, [1, ci, hw, hw]),
           h.make_tensor_value_info("w", dt, [ci, co, k, k] if transpose else [co, ci, k, k]),
           h.make_tensor_value_info("b", dt, [co])]
    y = h.make_tensor_value_info("y", dt, [1, co, o, o])
    node = h.make_node("ConvTranspose" if transpose else "Conv", ["x", "w", "b"], ["y"], strides=[st, st], pads=[p] * 4)
    m = h.make_model(h.make_graph([node], name, ins, [y]), opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, name + ".onnx"))


def make(d, name, batch, M, K, N, dt, epi, sym):
    pre = [batch] if batch else []
    a = h.make_tensor_value_info("a", dt, pre + [M, K])
    b = h.make_tensor_value_info("b", dt, pre + [K, N])
    y = h.make_tensor_value_info("y", dt, pre + [M, N])
    ins, nodes = [a, b], []
    if epi:
        ins.append(h.make_tensor_value_info("bias", dt, [N]))
        nodes = [h.make_node("MatMul", ["a", "b"], ["t"]), h.make_node("Add", ["t", "bias"], ["u"]),
                 h.make_node("Relu", ["u"], ["y"])]
    else:
        nodes = [h.make_node("MatMul", ["a", "b"], ["y"])]
    m = h.make_model(h.make_graph(nodes, name, ins, [y]), opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, name + ".onnx"))


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, spec in MODELS.items():
        make(sys.argv[1], name, *spec)
    for name, spec in CONVS.items():
        make_conv(sys.argv[1], name, *spec)
    for name, spec in CONVTS.items():
        make_conv(sys.argv[1], name, *spec, transpose=True)
