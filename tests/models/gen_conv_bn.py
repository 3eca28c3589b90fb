#!/usr/bin/env python3
"""Writes the Conv -> BatchNormalization test models of this folder, with
reference outputs from ONNX Runtime (never from ugcc): the fold-bn pass
(docs/passes.md) must give the same numbers as the unfolded graph.

    gen_conv_bn.py hand OUTDIR    conv_bn.onnx, built with onnx.helper
                                  (needs numpy, onnx, onnxruntime)
    gen_conv_bn.py torch OUTDIR   resnet_bn.onnx: a ResNet-style block exported
                                  by torch.onnx.export with do_constant_folding=False,
                                  so BatchNormalization stays in the graph as
                                  exporters write it (Identity -> BN parameters);
                                  writes resnet_bn.torch.npy (needs torch, onnx)
    gen_conv_bn.py ort MODEL.onnx MODEL.ort.npy from MODEL.input.npy (needs onnxruntime)

Each model has input "x" and output "y" (check_model.py runs them).  The
batch-norm statistics are random and far from (0, 1), so a fold that
dropped the mean, the variance or epsilon would show.  Versions used:
numpy 1.26.4, onnx 1.16.2, onnxruntime 1.32.0 (hand, ort); torch 2.15.0 (torch)."""
import sys
from pathlib import Path


def bn_params(rng, c):
    return {
        "scale": rng.uniform(0.5, 2.0, c).astype("float32"),
        "bias": rng.uniform(-1.0, 1.0, c).astype("float32"),
        "mean": rng.uniform(-2.0, 2.0, c).astype("float32"),
        "var": rng.uniform(0.05, 3.0, c).astype("float32"),
    }


def hand(out):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    inits, nodes = [], []

    def init(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), name))
        return name

    def bn(x, c, eps, name):
        p = bn_params(rng, c)
        ins = [x] + [init(f"{name}.{k}", p[k]) for k in ("scale", "bias", "mean", "var")]
        attrs = {} if eps is None else {"epsilon": eps}
        nodes.append(helper.make_node("BatchNormalization", ins, [name], name=name, **attrs))
        return name

    def conv(x, cin, cout, k, name, bias=True, group=1, pad=1, stride=1):
        w = init(f"{name}.w", rng.normal(0, 0.3, (cout, cin // group, k, k)))
        ins = [x, w] + ([init(f"{name}.b", rng.normal(0, 0.5, cout))] if bias else [])
        nodes.append(helper.make_node("Conv", ins, [name], name=name, kernel_shape=[k, k], pads=[pad] * 4,
                                      strides=[stride, stride], group=group))
        return name

    # conv 3x3 with a bias, BN (epsilon 1e-3), ReLU
    h = conv("x", 3, 8, 3, "c1")
    h = bn(h, 8, 1e-3, "bn1")
    nodes.append(helper.make_node("Relu", [h], ["r1"], name="r1"))
    # conv 1x1 without a bias, BN with the default epsilon (1e-5)
    h = conv("r1", 8, 8, 1, "c2", bias=False, pad=0)
    h = bn(h, 8, None, "bn2")
    # depthwise conv, stride 2, BN
    h = conv(h, 8, 8, 3, "c3", group=8, stride=2)
    h = bn(h, 8, 1e-5, "bn3")
    # grouped conv_transpose (w is [C, M/group, k, k]) back up, BN
    wt = init("t4.w", rng.normal(0, 0.3, (8, 2, 2, 2)))
    bt = init("t4.b", rng.normal(0, 0.5, 4))
    nodes.append(helper.make_node("ConvTranspose", [h, wt, bt], ["t4"], name="t4", kernel_shape=[2, 2],
                                  strides=[2, 2], group=2))
    h = bn("t4", 4, 1e-4, "bn4")
    # a conv whose result is also read by an add: this BN is not folded
    c5 = conv("x", 3, 4, 3, "c5")
    b5 = bn(c5, 4, 1e-5, "bn5")
    nodes.append(helper.make_node("Add", [b5, c5], ["a5"], name="a5"))
    nodes.append(helper.make_node("Add", [h, "a5"], ["y"], name="y"))

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 12, 12])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4, 12, 12])
    g = helper.make_graph(nodes, "conv_bn", [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="gen_conv_bn.py")
    onnx.checker.check_model(m)
    path = Path(out) / "conv_bn.onnx"
    onnx.save(m, path)
    np.save(Path(out) / "conv_bn.input.npy", rng.normal(0, 1, (2, 3, 12, 12)).astype(np.float32))
    ort(path)


def torch_model(out):
    import numpy as np
    import onnx
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(11)
    rng = np.random.default_rng(11)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout, eps=1e-3)
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(y)) + self.down(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.BatchNorm2d(8), nn.ReLU())
            self.block = Block(8, 16, 2)

        def forward(self, x):
            return self.block(self.stem(x))

    net = Net()
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm2d):
            p = bn_params(rng, mod.num_features)
            with torch.no_grad():
                mod.weight.copy_(torch.from_numpy(p["scale"]))
                mod.bias.copy_(torch.from_numpy(p["bias"]))
                mod.running_mean.copy_(torch.from_numpy(p["mean"]))
                mod.running_var.copy_(torch.from_numpy(p["var"]))
    net.eval()
    x = torch.from_numpy(rng.normal(0, 1, (2, 3, 16, 16)).astype(np.float32))
    path = Path(out) / "resnet_bn.onnx"
    torch.onnx.export(net, (x,), str(path), dynamo=False, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.EVAL, input_names=["x"], output_names=["y"],
                      opset_version=17)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("BatchNormalization") == 4, ops
    np.save(Path(out) / "resnet_bn.input.npy", x.numpy())
    with torch.no_grad():
        np.save(Path(out) / "resnet_bn.torch.npy", net(x).numpy())


def ort(model):
    import numpy as np
    import onnxruntime

    model = Path(model)
    stem = model.with_suffix("")
    so = onnxruntime.SessionOptions()
    # the unfolded graph as written: no graph optimization (ORT would fold BN itself)
    so.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = onnxruntime.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    (y,) = sess.run(["y"], {"x": np.load(f"{stem}.input.npy")})
    np.save(f"{stem}.ort.npy", y)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("hand", "torch", "ort"):
        sys.exit(__doc__)
    {"hand": hand, "torch": torch_model, "ort": ort}[sys.argv[1]](sys.argv[2])
