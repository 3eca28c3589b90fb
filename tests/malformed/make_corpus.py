#!/usr/bin/env python3
"""Writes the malformed-input corpus of tests/malformed/: each FILE with the
one-line error it must give in FILE.expect.  The files are checked in; this
script documents how each was made and regenerates them:
    python3 tests/malformed/make_corpus.py tests/malformed
Needs the onnx Python package (only to build the well-formed parts)."""
import os
import sys

import onnx
from onnx import TensorProto, helper

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def write(name, data, expect):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    with open(os.path.join(out, name + ".expect"), "w") as f:
        f.write(expect + "\n")


def varint(v):
    b = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            b.append(c | 0x80)
        else:
            b.append(c)
            return bytes(b)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def add_model(opset=17):
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")],
                 [vi("x", [2, 2])], [vi("y", [2, 2])],
                 [helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [1, 2, 3, 4])], opset)


def raw_init(name, dims, raw, t=TensorProto.FLOAT):
    p = TensorProto()
    p.name = name
    p.data_type = t
    p.dims.extend(dims)
    p.raw_data = raw
    return p


def with_init(init):
    return model([helper.make_node("Add", ["x", init.name], ["y"], name="add0")],
                 [vi("x", [2, 2])], [vi("y", [2, 2])], [init]).SerializeToString()


def external(location, offset=None, length=None):
    p = TensorProto()
    p.name = "w"
    p.data_type = TensorProto.FLOAT
    p.dims.extend([2, 2])
    p.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location), ("offset", offset), ("length", length)]:
        if v is not None:
            e = p.external_data.add()
            e.key, e.value = k, str(v)
    return with_init(p)


good = add_model().SerializeToString()

# ---- protobuf framing ----
write("empty.onnx", b"", "empty file, not an ONNX model")
write("truncated.onnx", good[: len(good) * 2 // 3], "not a valid ONNX model")
write("garbage.onnx", bytes((i * 131 + 7) % 256 for i in range(512)), "not a valid ONNX model")
# ModelProto.graph (field 7) written as a varint instead of a length-delimited message.
write("wrong-wire-type.onnx", b"\x08\x08" + b"\x38\x05", "not a valid ONNX model")
# A length prefix of 2^40 bytes for the graph.
write("huge-length.onnx", b"\x08\x08\x3a" + varint(1 << 40) + b"\x00" * 16,
      "not a valid ONNX model")

# ---- tensors ----
write("short-raw-data.onnx", with_init(raw_init("w", [2, 2], b"\0" * 8)),
      "raw_data has 8 bytes, the shape needs 16")
# 32 bytes: a payload the reader leaves in the mapped file (16 bytes or more)
write("short-raw-data-mapped.onnx", with_init(raw_init("w", [4, 4], b"\0" * 32)),
      "raw_data has 32 bytes, the shape needs 64")
tp = helper.make_tensor("w", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])
del tp.dims[:]
tp.dims.extend([2, 2])
write("short-typed-data.onnx", with_init(tp), "float_data has 3 elements, the shape needs 4")
write("dims-overflow.onnx", with_init(raw_init("w", [1 << 32, 1 << 32, 16], b"")), "w: tensor size overflows")
write("dims-2pow40.onnx", with_init(raw_init("w", [1 << 20, 1 << 21], b"")), "w: tensor size overflows")
write("negative-dim.onnx", with_init(raw_init("w", [-1, 4], b"\0" * 16)), "w: negative dimension -1")
write("rank-17.onnx", with_init(raw_init("w", [1] * 17, b"\0" * 4)), "rank 17 exceeds the maximum rank 8")
st = helper.make_tensor("w", TensorProto.STRING, [1], [b"abc"])
write("string-tensor.onnx", with_init(st), "string tensors are unsupported")
m = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")],
          [vi("x", [2, -7])], [vi("y", [2, 2])])
write("negative-input-dim.onnx", m.SerializeToString(), "dimension 1 has invalid size -7")

# ---- external data ----
write("external-escape.onnx", external("../../etc/passwd"),
      "location '../../etc/passwd' is absolute or leaves the model directory")
write("external-absolute.onnx", external("/etc/passwd"),
      "location '/etc/passwd' is absolute or leaves the model directory")
write("external-missing.onnx", external("no-such-file.bin"),
      "no-such-file.bin: cannot open")
with open(os.path.join(out, "weights16.bin"), "wb") as f:
    f.write(bytes(range(16)))
write("external-past-end.onnx", external("weights16.bin", 8, 16),
      "external data [8, +16) is outside 'weights16.bin' (16 bytes)")
write("external-offset-overflow.onnx", external("weights16.bin", (1 << 64) - 8, 16),
      "is outside 'weights16.bin' (16 bytes)")
write("external-short.onnx", external("weights16.bin", 0, 8),
      "external data length 8 does not match the tensor's 16 bytes")

# ---- graphs ----
m = model([helper.make_node("Relu", ["b"], ["a"], name="r0"),
           helper.make_node("Relu", ["a"], ["b"], name="r1")],
          [vi("x", [2])], [vi("a", [2])])
write("cycle.onnx", m.SerializeToString(), "node \"r0\" (Relu, opset 17): input 'b' is not defined")
m = model([helper.make_node("Add", ["x", "nope"], ["y"], name="add0")],
          [vi("x", [2])], [vi("y", [2])])
write("undefined-input.onnx", m.SerializeToString(), "input 'nope' is not defined")
m = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")],
          [vi("x", [2])], [vi("z", [2])])
write("undefined-output.onnx", m.SerializeToString(), "z: graph output is never computed")
m = model([helper.make_node("Frobnicate", ["x"], ["y"], name="frob0")],
          [vi("x", [2])], [vi("y", [2])])
write("unknown-op.onnx", m.SerializeToString(), "(Frobnicate, opset 17): operator is not supported")
m = model([helper.make_node("Add", ["x", "y"], ["z"], name="add0")],
          [vi("x", [1 << 32, 1]), vi("y", [1, 1 << 32])], [vi("z", [1 << 32, 1 << 32])])
write("broadcast-overflow.onnx", m.SerializeToString(),
      "node \"add0\" (add): result 0 of type f32[4294967296,4294967296] has more than 2^63 bytes")
perm = list(range(100000))
m = model([helper.make_node("Transpose", ["x"], ["y"], name="tr0", perm=perm)],
          [vi("x", [2, 2])], [vi("y", [2, 2])])
write("huge-attr-count.onnx", m.SerializeToString(), "perm has 100000 values for rank 2")
node = helper.make_node("Relu", ["x"], ["y"], name="relu0")
for i in range(20000):
    node.attribute.append(helper.make_attribute("a%d" % i, i))
m = model([node], [vi("x", [2])], [vi("y", [2])])
write("many-attributes.onnx", m.SerializeToString(), "attribute 'a0' is not supported")

# ---- text IR ----
write("truncated.ugir", b"graph @main(%x: f32[2]) -> (y: f32[2]) {\n  %1 = relu %x : f32[",
      "truncated.ugir:2:")
write("use-before-def.ugir",
      b"graph @main(%x: f32[2]) -> (y: f32[2]) {\n  %1 = relu %2 : f32[2]\n"
      b"  %2 = relu %1 : f32[2]\n  return %2\n}\n", "use-before-def.ugir:2:")
write("undefined-value.ugir",
      b"graph @main(%x: f32[2]) -> (y: f32[2]) {\n  %1 = relu %nope : f32[2]\n  return %1\n}\n",
      "use of undefined value %nope")
write("dims-overflow.ugir",
      b"graph @main(%x: f32[4294967296,4294967296,4294967296]) -> "
      b"(y: f32[4294967296,4294967296,4294967296]) {\n  return %x\n}\n", "more than 2^63 bytes")
write("negative-dim.ugir", b"graph @main(%x: f32[-3]) -> (y: f32[-3]) {\n  return %x\n}\n",
      "negative-dim.ugir:1:")
write("unknown-op.ugir",
      b"graph @main(%x: f32[2]) -> (y: f32[2]) {\n  %1 = frobnicate %x : f32[2]\n  return %1\n}\n",
      "unknown op 'frobnicate'")

write("opset-0.onnx", add_model(0).SerializeToString(), "opset")
write("opset-999.onnx", add_model(999).SerializeToString(), "opset")


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


# 5000 levels of graph -> node -> attribute -> graph: 15000 nested messages in
# 87 KB.  protobuf-c unpacks recursively and would overflow the stack; the
# reader's pre-pass rejects nesting past 100 levels first.
inner = b""
for i in range(5000):
    inner = ld(1, ld(5, ld(6, inner) + ld(1, b"g") + b"\xa0\x01\x05"))
write("deep-nesting.onnx",
      b"\x08\x08" + ld(7, inner) + ld(8, ld(1, b"") + b"\x10\x11"),
      "nests messages deeper than 100 levels")
