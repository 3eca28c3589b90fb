#!/usr/bin/env python3
"""Writes the ONNX models of the GPU benchmark (bench/gpu_bench.py) into DIR.

Each model is one operation as an exporter writes it, all tensors inputs (no
weights, so the compiled model.so files are small enough to carry to the GPU
machine).  Shapes are static, as the issue fixes them: rows 32768 x 4096 fp16
for the row kernels, 4096^3 fp16 for the GEMM, 32768 x 4096 fp16 for the
pointwise chain.  Usage: make_models.py DIR"""
import os
import sys

import onnx
from onnx import TensorProto, helper

R, C = 32768, 4096
N = 4096
EM, EK, EN = 8192, 1024, 4096  # gemm_epi: tokens x hidden -> 4 x hidden (BERT-large's FFN shape)
# name: (M, K, N)
GEMMS_SMALL = {"gemm_qkv768": (1024, 768, 768), "gemm_ffn2": (1024, 3072, 768), "gemm_ffn1": (1024, 768, 3072)}
GEMMS_F32 = {"gemm": (N, N, N), "gemm_ffn1": (1024, 768, 3072)}
F16 = TensorProto.FLOAT16
# short-row cases: as many bytes as the 32768 x 4096 rows
SR = R * C // 128
LR = R * C // 768
# conv cases: ResNet-50's layer shapes at batch 8, fp16 NCHW
# name: (C in, H = W, M out, kernel, stride, pad)
CONVS = {
    "conv_7x7s2": (3, 224, 64, 7, 2, 3),
    "conv_3x3_56": (64, 56, 64, 3, 1, 1),
    "conv_1x1_56": (256, 56, 64, 1, 1, 0),
    "conv_3x3s2_56": (128, 56, 128, 3, 2, 1),
    "conv_3x3_14": (256, 14, 256, 3, 1, 1),
    "conv_1x1_7": (2048, 7, 512, 1, 1, 0),
}
CONV_BATCH = 8
# lone transposes (fp16): [batch, tokens, heads, head dim] and [batch, C, H, W]
TR_HEADS = (8, 512, 12, 64)
TR_NCHW = (8, 256, 56, 56)
# the layers also run in fp32 (<name>_f32): tensor cores through tf32
CONVS_F32 = ("conv_3x3_56", "conv_1x1_56", "conv_3x3_14", "conv_1x1_7")
# window kernels (fp16 but argmax's f32): ResNet-50's max pool after conv1 at batch 8, an
# Inception-style 3x3 average pool without the padding counted, a mean over the tokens of
# [batch, tokens, hidden] (sentence-embedding pooling), a sum over the channels of a ResNet
# activation, a segmentation map's argmax over 21 classes; then a softmax over the heads axis of
# [batch, heads, tokens] scores, a style-transfer net's reflection pad of 3, a decoder's 2x
# bilinear upsampling, instance_norm with a per-channel scale and bias, and the argmax over a
# language model's 32000-entry vocabulary for 256 tokens
POOL_STEM = (8, 64, 112)
POOL_AVG = (8, 256, 28)
RED_MID = (32, 512, 1024)
RED_CH = (8, 256, 56)
ARG_CH = (8, 21, 128)
SOFTMAX_AX = (16, 512, 1024)
PAD_REFL = (8, 64, 112, 3)
RESIZE_LIN = (8, 64, 56)
INST_NORM = (8, 64, 112)
ARG_LAST = (256, 32000)


def conv_out(h, k, s, p):
    return (h + 2 * p - k) // s + 1


# ConvTranspose case: (C in, H = W, M out, kernel, stride, pad)
CONVT = (256, 28, 128, 4, 2, 1)


def convt_out(h, k, s, p):
    return (h - 1) * s - 2 * p + k


def save(d, name, nodes, inputs, outputs, opset=23):
    g = helper.make_graph(nodes, name, inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="ugcc-bench")
    m.ir_version = 10
    onnx.save(m, os.path.join(d, name + ".onnx"))


def t(name, *shape, dtype=F16):
    return helper.make_tensor_value_info(name, dtype, list(shape))


def const(name, value, dtype=TensorProto.FLOAT):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", dtype, [], [value]))


def axes(name):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", TensorProto.INT64, [1], [-1]))


def axes1(name):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", TensorProto.INT64, [1], [1]))


def main(d):
    os.makedirs(d, exist_ok=True)
    # one op each: what the CUDA backend's per-op kernels do today
    save(d, "softmax", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)], [t("x", R, C)], [t("y", R, C)])
    save(d, "layernorm", [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-5)],
         [t("x", R, C), t("g", C), t("b", C)], [t("y", R, C)])
    save(d, "rmsnorm", [helper.make_node("RMSNormalization", ["x", "g"], ["y"], axis=-1, epsilon=1e-6)],
         [t("x", R, C), t("g", C)], [t("y", R, C)])
    save(d, "gemm", [helper.make_node("MatMul", ["a", "b"], ["y"])], [t("a", N, N), t("b", N, N)], [t("y", N, N)])
    # BERT-base's GEMMs at 8 x 128 tokens: few 128x128 tiles (split-K on sm_90) and many
    for name, (m, k, n) in GEMMS_SMALL.items():
        save(d, name, [helper.make_node("MatMul", ["a", "b"], ["y"])], [t("a", m, k), t("b", k, n)], [t("y", m, n)])
    # fp32 GEMMs (<name>_f32: ugcc's default 3xTF32; bench.sh also compiles <name>_f32tf with --precision=tf32)
    f32 = TensorProto.FLOAT
    for name, (m, k, n) in GEMMS_F32.items():
        save(d, name + "_f32", [helper.make_node("MatMul", ["a", "b"], ["y"])],
             [t("a", m, k, dtype=f32), t("b", k, n, dtype=f32)], [t("y", m, n, dtype=f32)])
    # pointwise chain y = silu(x * s + b) + r, as four ONNX nodes
    save(d, "pointwise", [
        helper.make_node("Mul", ["x", "s"], ["t0"]),
        helper.make_node("Add", ["t0", "b"], ["t1"]),
        helper.make_node("Sigmoid", ["t1"], ["t2"]),
        helper.make_node("Mul", ["t1", "t2"], ["t3"]),
        helper.make_node("Add", ["t3", "r"], ["y"]),
    ], [t("x", R, C), t("s", C), t("b", C), t("r", R, C)], [t("y", R, C)])
    # a transformer FFN's first GEMM with its epilogue: y = gelu(x @ w + b) + r, four ONNX nodes
    save(d, "gemm_epi", [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Add", ["h", "b"], ["hb"]),
        helper.make_node("Gelu", ["hb"], ["g"]),
        helper.make_node("Add", ["g", "r"], ["y"]),
    ], [t("x", EM, EK), t("w", EK, EN), t("b", EN), t("r", EM, EN)], [t("y", EM, EN)])
    # the decomposed forms exporters write (the fusion issue's targets: one kernel each)
    mk = helper.make_node
    save(d, "softmax_dec", [
        axes("ax"),
        mk("ReduceMax", ["x", "ax"], ["m"], keepdims=1),
        mk("Sub", ["x", "m"], ["d"]),
        mk("Exp", ["d"], ["e"]),
        mk("ReduceSum", ["e", "ax"], ["s"], keepdims=1),
        mk("Div", ["e", "s"], ["y"]),
    ], [t("x", R, C)], [t("y", R, C)])
    # LayerNorm as torch.onnx writes it in fp32 after a Cast (ReduceMean -> Sub -> Pow -> ReduceMean
    # -> Add -> Sqrt -> Div -> Mul -> Add)
    save(d, "layernorm_dec", [
        axes("ax"), const("two", 2.0), const("eps", 1e-5),
        mk("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
        mk("ReduceMean", ["xf", "ax"], ["mu"], keepdims=1),
        mk("Sub", ["xf", "mu"], ["d"]),
        mk("Pow", ["d", "two"], ["d2"]),
        mk("ReduceMean", ["d2", "ax"], ["var"], keepdims=1),
        mk("Add", ["var", "eps"], ["ve"]),
        mk("Sqrt", ["ve"], ["sd"]),
        mk("Div", ["d", "sd"], ["n"]),
        mk("Cast", ["n"], ["nh"], to=F16),
        mk("Mul", ["nh", "g"], ["ng"]),
        mk("Add", ["ng", "b"], ["y"]),
    ], [t("x", R, C), t("g", C), t("b", C)], [t("y", R, C)])
    # RMSNorm as Hugging Face's LlamaRMSNorm exports: fp32 variance, rsqrt, cast back, weight
    save(d, "rmsnorm_dec", [
        axes("ax"), const("two", 2.0), const("eps", 1e-6),
        mk("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
        mk("Pow", ["xf", "two"], ["x2"]),
        mk("ReduceMean", ["x2", "ax"], ["ms"], keepdims=1),
        mk("Add", ["ms", "eps"], ["me"]),
        mk("Sqrt", ["me"], ["rt"]),
        mk("Reciprocal", ["rt"], ["inv"]),
        mk("Mul", ["xf", "inv"], ["n"]),
        mk("Cast", ["n"], ["nh"], to=F16),
        mk("Mul", ["g", "nh"], ["y"]),
    ], [t("x", R, C), t("g", C)], [t("y", R, C)])
    # short rows: softmax over 128 (attention scores at 128 tokens), layer norm over 768 (BERT-base)
    save(d, "softmax_r128", [mk("Softmax", ["x"], ["y"], axis=-1)], [t("x", SR, 128)], [t("y", SR, 128)])
    save(d, "layernorm_r768", [mk("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-5)],
         [t("x", LR, 768), t("g", 768), t("b", 768)], [t("y", LR, 768)])
    save(d, "softmax_dec_r128", [
        axes("ax"),
        mk("ReduceMax", ["x", "ax"], ["m"], keepdims=1),
        mk("Sub", ["x", "m"], ["d"]),
        mk("Exp", ["d"], ["e"]),
        mk("ReduceSum", ["e", "ax"], ["s"], keepdims=1),
        mk("Div", ["e", "s"], ["y"]),
    ], [t("x", SR, 128)], [t("y", SR, 128)])
    # lone transposes: BERT's head split [b, s, h, d] -> [b, h, s, d], a ResNet activation NCHW -> NHWC
    save(d, "transpose_heads", [mk("Transpose", ["x"], ["y"], perm=[0, 2, 1, 3])],
         [t("x", *TR_HEADS)], [t("y", TR_HEADS[0], TR_HEADS[2], TR_HEADS[1], TR_HEADS[3])])
    save(d, "transpose_nhwc", [mk("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])],
         [t("x", *TR_NCHW)], [t("y", TR_NCHW[0], TR_NCHW[2], TR_NCHW[3], TR_NCHW[1])])
    # convolutions (x, w and the bias are inputs); conv_epi: conv + bias, relu and a residual add
    for name, (ci, hw, co, k, s, p) in CONVS.items():
        o = conv_out(hw, k, s, p)
        save(d, name, [mk("Conv", ["x", "w", "b"], ["y"], strides=[s, s], pads=[p] * 4)],
             [t("x", CONV_BATCH, ci, hw, hw), t("w", co, ci, k, k), t("b", co)], [t("y", CONV_BATCH, co, o, o)])
    for name in CONVS_F32:
        ci, hw, co, k, s, p = CONVS[name]
        o = conv_out(hw, k, s, p)
        f = TensorProto.FLOAT
        save(d, name + "_f32", [mk("Conv", ["x", "w", "b"], ["y"], strides=[s, s], pads=[p] * 4)],
             [t("x", CONV_BATCH, ci, hw, hw, dtype=f), t("w", co, ci, k, k, dtype=f), t("b", co, dtype=f)],
             [t("y", CONV_BATCH, co, o, o, dtype=f)])
    # a decoder's 2x upsampling: ConvTranspose 4x4, stride 2, pads 1, fp16 and fp32
    ci, hw, co, k, s, p = CONVT
    for sfx, f in (("", F16), ("_f32", TensorProto.FLOAT)):
        save(d, "convt_4x4s2" + sfx, [mk("ConvTranspose", ["x", "w", "b"], ["y"], strides=[s, s], pads=[p] * 4)],
             [t("x", CONV_BATCH, ci, hw, hw, dtype=f), t("w", ci, co, k, k, dtype=f), t("b", co, dtype=f)],
             [t("y", CONV_BATCH, co, convt_out(hw, k, s, p), convt_out(hw, k, s, p), dtype=f)])
    # window kernels (kernel IR: codegen/kir_window.c)
    b, c, hw = POOL_STEM
    save(d, "maxpool_stem", [mk("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)],
         [t("x", b, c, hw, hw)], [t("y", b, c, hw // 2, hw // 2)])
    b, c, hw = POOL_AVG
    save(d, "avgpool_3x3", [mk("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1] * 4, count_include_pad=0)],
         [t("x", b, c, hw, hw)], [t("y", b, c, hw, hw)])
    b, s_, h = RED_MID
    save(d, "reduce_mid", [axes1("ax"), mk("ReduceMean", ["x", "ax"], ["y"], keepdims=0)], [t("x", b, s_, h)],
         [t("y", b, h)])
    b, c, hw = RED_CH
    save(d, "reduce_ch", [axes1("ax"), mk("ReduceSum", ["x", "ax"], ["y"], keepdims=1)], [t("x", b, c, hw, hw)],
         [t("y", b, 1, hw, hw)])
    b, c, hw = ARG_CH
    save(d, "argmax_ch", [mk("ArgMax", ["x"], ["y"], axis=1, keepdims=0)], [t("x", b, c, hw, hw, dtype=TensorProto.FLOAT)],
         [t("y", b, hw, hw, dtype=TensorProto.INT64)])
    b, s_, h = SOFTMAX_AX
    save(d, "softmax_axis", [mk("Softmax", ["x"], ["y"], axis=1)], [t("x", b, s_, h)], [t("y", b, s_, h)])
    b, c, hw, p = PAD_REFL
    save(d, "pad_reflect", [
        mk("Constant", [], ["pads"], value=helper.make_tensor("pads_v", TensorProto.INT64, [8], [0, 0, p, p] * 2)),
        mk("Pad", ["x", "pads"], ["y"], mode="reflect")], [t("x", b, c, hw, hw)], [t("y", b, c, hw + 2 * p, hw + 2 * p)])
    b, c, hw = RESIZE_LIN
    save(d, "resize_linear", [
        mk("Constant", [], ["sc"], value=helper.make_tensor("sc_v", TensorProto.FLOAT, [4], [1, 1, 2, 2])),
        mk("Resize", ["x", "", "sc"], ["y"], mode="linear", coordinate_transformation_mode="half_pixel")],
        [t("x", b, c, hw, hw)], [t("y", b, c, 2 * hw, 2 * hw)])
    b, c, hw = INST_NORM
    save(d, "instance_norm", [mk("InstanceNormalization", ["x", "s", "bi"], ["y"], epsilon=1e-5)],
         [t("x", b, c, hw, hw), t("s", c), t("bi", c)], [t("y", b, c, hw, hw)])
    r, v = ARG_LAST
    save(d, "argmax_last", [mk("ArgMax", ["x"], ["y"], axis=1, keepdims=0)], [t("x", r, v, dtype=TensorProto.FLOAT)],
         [t("y", r, dtype=TensorProto.INT64)])
    ci, hw, co, k, s, p = CONVS["conv_3x3_14"]
    save(d, "conv_epi", [
        mk("Conv", ["x", "w", "b"], ["h"], strides=[s, s], pads=[p] * 4),
        mk("Relu", ["h"], ["z"]),
        mk("Add", ["z", "r"], ["y"]),
    ], [t("x", CONV_BATCH, ci, hw, hw), t("w", co, ci, k, k), t("b", co), t("r", CONV_BATCH, co, hw, hw)],
        [t("y", CONV_BATCH, co, hw, hw)])


if __name__ == "__main__":
    main(sys.argv[1])
