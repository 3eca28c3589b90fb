#!/usr/bin/env python3
"""Writes a Llama-shaped GGUF model with random weights, for benchmarks.

The layout is the one of llama.cpp's convert_hf_to_gguf.py for architecture
`llama` (the same conventions as tests/gguf/llama/make_fixtures.py): tensor
names token_embd / blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
ffn_norm, ffn_gate, ffn_up, ffn_down} / output_norm / output (absent when the
embeddings are tied), Q and K rows permuted for GGUF's interleaved RoPE, 2-d
matrices (token_embd included) in the chosen type, 1-d norm weights in F32, the
usual `llama.*` hyper-parameters and a minimal SentencePiece-style `llama`
tokenizer (<unk> <s> </s>, the 256 byte tokens, prefix-closed word pieces).

It needs numpy and gguf-py only (torch and transformers for --ref).  gguf-py
need not be installed: point --gguf-py at a directory that holds the `gguf`
package, e.g. an unpacked wheel:

    pip download gguf==0.19.0 --no-deps -d /tmp/w && unzip -q /tmp/w/gguf-*.whl -d /tmp/gguf-py
    python3 bench/make_llama_gguf.py --gguf-py /tmp/gguf-py --preset 1b --type q4_0 --out /tmp/llama-1b-q4_0.gguf

Presets (--layers, --vocab, --ctx, --tied/--untied override them):

    tiny   hidden   64,  2 layers,  4 heads / 2 KV, ffn   128, vocab   512, untied
    300m   hidden 1024, 16 layers, 16 heads / 4 KV, ffn  4096, vocab 32000, tied
    1b     hidden 2048, 16 layers, 32 heads / 8 KV, ffn  8192, vocab 32000, tied   (Llama-3.2-1B shapes,
           vocab 32000 instead of 128256; plain RoPE theta 500000, no llama3 rope scaling / rope_freqs)
    8b     hidden 4096, 32 layers, 32 heads / 8 KV, ffn 14336, vocab 32000, untied (Llama-3-8B shapes)

The weights are N(0, 1/fan_in)-scaled (Q/K 1/fan_in, embeddings and head
2/sqrt(hidden) so that logits spread over a few units), norm weights in
[0.6, 1.4]; each tensor has its own seeded generator, so a file depends only on
--seed and the shapes.

--ref FILE also writes reference logits computed by HuggingFace transformers
(LlamaForCausalLM, float32, on --device, TF32 off) on the weights as stored
(dequantized with gguf-py, Q/K permutation undone): a prompt of --n-prompt
tokens (BOS, then seeded ids of ordinary pieces), then --n-decode greedy steps
through HF's KV cache.  Format "UGLR" v1, as tests/gguf/llama/README.md:
magic, u32 version=1, u32 vocab, u32 n_prompt, u32 n_decode,
i32 tokens[n_prompt+n_decode], f32 logits[(n_prompt+n_decode)*vocab], little
endian; row t = the logits after feeding tokens[t].
"""
import argparse
import os
import struct
import sys
import time
import types

import numpy as np

PRESETS = {
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, ff=128, vocab=512, ctx=128,
                 rope_theta=10000.0, eps=1e-5, tied=False),
    "300m": dict(hidden=1024, layers=16, heads=16, kv_heads=4, ff=4096, vocab=32000, ctx=8192,
                 rope_theta=500000.0, eps=1e-5, tied=True),
    "1b": dict(hidden=2048, layers=16, heads=32, kv_heads=8, ff=8192, vocab=32000, ctx=131072,
               rope_theta=500000.0, eps=1e-5, tied=True),
    "8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, ff=14336, vocab=32000, ctx=8192,
               rope_theta=500000.0, eps=1e-5, tied=False),
}

WORDS = """the of and to in is was for that it with as on be at by this had not are but from or have an they
which one you were her all she there would their we him been has when who will more no if out so said what up
its about into than them can only other new some could time these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your way well
down should because each just those people how too little state good very make world still own see men work
long get here between both life being under never day same another know while last might us great old year
off come since against go came right used take three once upon fox quick brown jumps lazy dog hello model
token text number small large house water light night""".split()


def import_gguf(path):
    if path:
        sys.path.insert(0, os.path.abspath(path))
    try:
        import yaml  # noqa: F401  (gguf.metadata imports it; nothing here uses it)
    except ImportError:
        sys.modules["yaml"] = types.ModuleType("yaml")
    import gguf
    return gguf


def spm_vocab(n_vocab, gguf):
    """Minimal SentencePiece-BPE vocabulary: controls, byte tokens, then prefix-closed pieces
    (every piece's prefixes are pieces, so merges can build it), shorter pieces scoring higher."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types_ = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + \
        [gguf.TokenType.BYTE] * 256
    seen = set(tokens)
    pieces = []

    def add(p):
        if p not in seen:
            seen.add(p)
            pieces.append(p)

    letters = "abcdefghijklmnopqrstuvwxyz"
    for c in letters + letters.upper() + "0123456789.,;:!?'\"-()":
        add(c)
    add("\u2581")
    for c in letters + letters.upper():
        add("\u2581" + c)
    for w in WORDS:
        for word in ("\u2581" + w, w):
            for i in range(2, len(word) + 1):
                add(word[:i])
    for a in letters:
        for b in letters:
            add(a + b)
    for a in letters:
        for b in letters:
            add("\u2581" + a + b)
    for a in letters:
        for b in letters:
            for c in letters:
                add(a + b + c)
                add("\u2581" + a + b + c)
    need = n_vocab - len(tokens)
    if need > len(pieces):
        raise SystemExit(f"vocab {n_vocab} is larger than this generator's {len(tokens) + len(pieces)} tokens")
    pieces = pieces[:need]  # prefix-closed: every piece comes after its prefixes
    scores = [0.0] * len(tokens) + [-float(len(p)) - i * 1e-6 for i, p in enumerate(pieces)]
    return tokens + pieces, scores, types_ + [gguf.TokenType.NORMAL] * len(pieces)


def permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute (HF rotate-half rows -> GGUF interleaved pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tensor_specs(c):
    """(gguf name, shape [rows, cols] or [n], init) in file order; init = ('normal', std) | ('norm',)."""
    d, hd, ff = c["hidden"], c["hidden"] // c["heads"], c["ff"]
    s = [("token_embd.weight", (c["vocab"], d), ("normal", 2.0 / d ** 0.5))]
    for i in range(c["layers"]):
        p = f"blk.{i}."
        s += [(p + "attn_norm.weight", (d,), ("norm",)),
              (p + "attn_q.weight", (c["heads"] * hd, d), ("normal", 1.0 / d ** 0.5)),
              (p + "attn_k.weight", (c["kv_heads"] * hd, d), ("normal", 1.0 / d ** 0.5)),
              (p + "attn_v.weight", (c["kv_heads"] * hd, d), ("normal", 1.0 / d ** 0.5)),
              (p + "attn_output.weight", (d, c["heads"] * hd), ("normal", 1.0 / (c["heads"] * hd) ** 0.5)),
              (p + "ffn_norm.weight", (d,), ("norm",)),
              (p + "ffn_gate.weight", (ff, d), ("normal", 1.0 / d ** 0.5)),
              (p + "ffn_up.weight", (ff, d), ("normal", 1.0 / d ** 0.5)),
              (p + "ffn_down.weight", (d, ff), ("normal", 1.0 / ff ** 0.5))]
    s.append(("output_norm.weight", (d,), ("norm",)))
    if not c["tied"]:
        s.append(("output.weight", (c["vocab"], d), ("normal", 2.0 / d ** 0.5)))
    return s


def make_tensor(seed, idx, shape, init):
    rng = np.random.default_rng([seed, idx])
    if init[0] == "norm":
        return (0.6 + 0.8 * rng.random(shape, dtype=np.float32)).astype(np.float32)
    a = rng.standard_normal(shape, dtype=np.float32)
    a *= np.float32(init[1])
    return a


def write_ref(path, c, tensors, gguf, args):
    """HF LlamaForCausalLM on the stored weights; greedy decode through the KV cache."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    hd = c["hidden"] // c["heads"]
    conf = LlamaConfig(vocab_size=c["vocab"], hidden_size=c["hidden"], intermediate_size=c["ff"],
                       num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
                       num_key_value_heads=c["kv_heads"], head_dim=hd, max_position_embeddings=c["ctx"],
                       rms_norm_eps=c["eps"], tie_word_embeddings=c["tied"], bos_token_id=1, eos_token_id=2,
                       rope_theta=c["rope_theta"])  # transformers 5 turns it into rope_parameters
    with torch.device("meta"):
        model = LlamaForCausalLM(conf)
    names = {"attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
             "attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
             "attn_output.weight": "self_attn.o_proj.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
             "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
             "ffn_down.weight": "mlp.down_proj.weight"}
    sd = {}
    for name, (data, qtype, shape) in tensors.items():
        a = gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(shape)
        if name.endswith("attn_q.weight"):
            a = unpermute(a, c["heads"])
        elif name.endswith("attn_k.weight"):
            a = unpermute(a, c["kv_heads"])
        t = torch.from_numpy(np.ascontiguousarray(a))
        if name.startswith("blk."):
            _, i, rest = name.split(".", 2)
            sd[f"model.layers.{i}.{names[rest]}"] = t
        elif name == "token_embd.weight":
            sd["model.embed_tokens.weight"] = t
        elif name == "output_norm.weight":
            sd["model.norm.weight"] = t
        else:
            sd["lm_head.weight"] = t
    if c["tied"]:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    model.load_state_dict(sd, strict=True, assign=True)
    if c["tied"]:
        model.tie_weights()
    # non-persistent buffers (RoPE inv_freq) were created on the meta device
    model.model.rotary_emb.__init__(conf)
    inv = model.model.rotary_emb.inv_freq.double().numpy()
    want = c["rope_theta"] ** (-np.arange(0, hd, 2) / hd)
    assert np.allclose(inv, want, rtol=1e-6), "transformers did not take rope_theta"
    if c["tied"]:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    dev = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = model.to(dev).float().eval()
    rng = np.random.default_rng([args.seed, 999])
    first = 259  # the first ordinary piece
    prompt = [1] + [int(x) for x in rng.integers(first, c["vocab"], args.n_prompt - 1)]
    rows, toks = [], []
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt], device=dev), use_cache=True)
        rows.append(out.logits[0].float().cpu())
        pkv = out.past_key_values
        for _ in range(args.n_decode):
            t = int(torch.argmax(rows[-1][-1]))
            toks.append(t)
            out = model(input_ids=torch.tensor([[t]], device=dev), past_key_values=pkv, use_cache=True)
            pkv = out.past_key_values
            rows.append(out.logits[0].float().cpu())
    logits = torch.cat(rows, 0).numpy()
    tokens = prompt + toks
    with open(path, "wb") as f:
        f.write(b"UGLR")
        f.write(struct.pack("<4I", 1, c["vocab"], len(prompt), len(toks)))
        f.write(np.asarray(tokens, dtype="<i4").tobytes())
        f.write(np.ascontiguousarray(logits, dtype="<f4").tobytes())
    print(f"reference: {path}: prompt {prompt}, decode {toks}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0", "q4_0"], default="q4_0")
    ap.add_argument("--out", required=True)
    ap.add_argument("--gguf-py", metavar="DIR", help="directory holding the gguf package (gguf-py)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--ctx", type=int)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--tied", dest="tied", action="store_true", default=None)
    g.add_argument("--untied", dest="tied", action="store_false")
    ap.add_argument("--ref", metavar="FILE", help="also write reference logits (needs torch, transformers)")
    ap.add_argument("--n-prompt", type=int, default=7)
    ap.add_argument("--n-decode", type=int, default=16)
    ap.add_argument("--device", help="torch device for --ref (default: cuda when available, else cpu)")
    args = ap.parse_args()

    gguf = import_gguf(args.gguf_py)
    Q = gguf.GGMLQuantizationType
    c = dict(PRESETS[args.preset])
    for k in ("layers", "vocab", "ctx", "tied"):
        if getattr(args, k) is not None:
            c[k] = getattr(args, k)
    qtype, ftype = {"f32": (Q.F32, gguf.LlamaFileType.ALL_F32), "f16": (Q.F16, gguf.LlamaFileType.MOSTLY_F16),
                    "q8_0": (Q.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
                    "q4_0": (Q.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0)}[args.type]
    hd = c["hidden"] // c["heads"]
    t0 = time.time()
    tokens, scores, toktypes = spm_vocab(c["vocab"], gguf)

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(f"ugcc-bench-llama-{args.preset}")
    w.add_block_count(c["layers"])
    w.add_context_length(c["ctx"])
    w.add_embedding_length(c["hidden"])
    w.add_feed_forward_length(c["ff"])
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_rope_freq_base(c["rope_theta"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_file_type(ftype)
    w.add_vocab_size(c["vocab"])
    w.add_rope_dimension_count(hd)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(toktypes)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    stored = {}
    n_params = 0
    t_gen = t_q = 0.0
    for idx, (name, shape, init) in enumerate(tensor_specs(c)):
        t1 = time.time()
        a = make_tensor(args.seed, idx, shape, init)
        # the random matrix stands for HF's rows; the file holds them permuted, as the converter writes them
        if ".attn_q." in name:
            a = permute(a, c["heads"])
        elif ".attn_k." in name:
            a = permute(a, c["kv_heads"])
        t2 = time.time()
        ty = Q.F32 if a.ndim == 1 else qtype
        data = gguf.quants.quantize(np.ascontiguousarray(a), ty)
        t_gen += t2 - t1
        t_q += time.time() - t2
        n_params += a.size
        del a
        w.add_tensor(name, data, raw_dtype=ty)
        if args.ref:
            stored[name] = (data, ty, shape)
    t3 = time.time()
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    size = os.path.getsize(args.out)
    print(f"{args.out}: llama {args.preset} {c}, {args.type}, {n_params / 1e6:.1f}M parameters, "
          f"{size / 2**20:.1f} MiB; random {t_gen:.1f}s, quantize {t_q:.1f}s, write {time.time() - t3:.1f}s, "
          f"total {time.time() - t0:.1f}s")
    if args.ref:
        write_ref(args.ref, c, stored, gguf, args)


if __name__ == "__main__":
    main()
