#!/usr/bin/env python3
"""Writes the malformed GGUF language models of this corpus (README.md).

A tiny llama model (hidden 16, 1 block, 2 heads, f32 zeros) is laid out by
the small writer below, which records where each field lands, and one field
or tensor is then damaged per file.  Needs only the Python standard library:

    python3 tests/malformed/make_gguf_corpus.py tests/malformed
"""
import os
import struct
import sys

D, F, H, V = 16, 32, 2, 8


def kv_str(k, v):
    kb, vb = k.encode(), v.encode()
    return struct.pack("<Q", len(kb)) + kb + struct.pack("<IQ", 8, len(vb)) + vb


def kv_u32(k, v):
    kb = k.encode()
    return struct.pack("<Q", len(kb)) + kb + struct.pack("<II", 4, v)


def kv_f32(k, v):
    kb = k.encode()
    return struct.pack("<Q", len(kb)) + kb + struct.pack("<If", 6, v)


def tensors(drop=(), shapes=None):
    t = [("token_embd.weight", (D, V)), ("blk.0.attn_norm.weight", (D,)), ("blk.0.attn_q.weight", (D, D)),
         ("blk.0.attn_k.weight", (D, D)), ("blk.0.attn_v.weight", (D, D)), ("blk.0.attn_output.weight", (D, D)),
         ("blk.0.ffn_norm.weight", (D,)), ("blk.0.ffn_gate.weight", (D, F)), ("blk.0.ffn_up.weight", (D, F)),
         ("blk.0.ffn_down.weight", (F, D)), ("output_norm.weight", (D,))]
    shapes = shapes or {}
    return [(n, shapes.get(n, ne)) for n, ne in t if n not in drop]


def build(arch="llama", kvs=None, drop=(), shapes=None, n_tensors=None, type_of=None, offset_of=None):
    """The file's bytes and the position of each tensor info's type field."""
    if kvs is None:
        kvs = [kv_u32(f"{arch}.embedding_length", D), kv_u32(f"{arch}.block_count", 1),
               kv_u32(f"{arch}.feed_forward_length", F), kv_u32(f"{arch}.attention.head_count", H),
               kv_u32(f"{arch}.context_length", 64), kv_f32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)]
    kvs = [kv_str("general.architecture", arch)] + kvs
    ts = tensors(drop, shapes)
    infos, off = b"", 0
    for name, ne in ts:
        nb = name.encode()
        size = 4
        for d in ne:
            size *= d
        o = (offset_of or {}).get(name, off)
        infos += struct.pack("<Q", len(nb)) + nb + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        infos += struct.pack("<IQ", (type_of or {}).get(name, 0), o)
        off += (size + 31) // 32 * 32
    head = b"GGUF" + struct.pack("<IQQ", 3, len(ts) if n_tensors is None else n_tensors, len(kvs))
    body = head + b"".join(kvs) + infos
    body += b"\0" * ((32 - len(body) % 32) % 32)
    return body + b"\0" * off


CASES = {
    # name: (bytes, the error's text)
    "gguf-bad-magic.gguf": (b"GGUX" + build()[4:], "bad magic"),
    "gguf-truncated.gguf": (build()[: len(build()) * 2 // 3], "past the end"),
    "gguf-count-overflow.gguf": (build(n_tensors=1 << 62), "tensor count"),
    "gguf-unknown-type.gguf": (build(type_of={"blk.0.attn_q.weight": 99}), "type"),
    "gguf-misaligned.gguf": (build(offset_of={"blk.0.attn_q.weight": 4}), "align"),
    "gguf-tensor-past-end.gguf": (build(offset_of={"output_norm.weight": 1 << 40}), "output_norm.weight"),
    "gguf-unknown-arch.gguf": (build(arch="gptj"), "unknown architecture 'gptj'"),
    "gguf-missing-key.gguf": (build(kvs=[kv_u32("llama.embedding_length", D)]), "missing metadata key llama.block_count"),
    "gguf-missing-tensor.gguf": (build(drop=("blk.0.ffn_up.weight",)), "missing tensor blk.0.ffn_up.weight"),
    "gguf-wrong-shape.gguf": (build(shapes={"blk.0.attn_k.weight": (D, 8)}), "tensor blk.0.attn_k.weight is f32[8,16]; expected shape [16, 16]"),
    "gguf-heads.gguf": (build(kvs=[kv_u32("llama.embedding_length", D), kv_u32("llama.block_count", 1),
                                   kv_u32("llama.feed_forward_length", F), kv_u32("llama.attention.head_count", 3),
                                   kv_u32("llama.context_length", 64),
                                   kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)]),
                        "embedding_length 16 is not a multiple of head_count 3"),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, (data, expect) in CASES.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        with open(os.path.join(out, name + ".expect"), "w") as f:
            f.write(expect + "\n")


if __name__ == "__main__":
    main()
