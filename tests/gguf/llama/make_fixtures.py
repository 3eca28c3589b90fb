#!/usr/bin/env python3
"""Writes the llama-family GGUF fixtures and their PyTorch reference logits.

An independent check of ugcc's GGUF `llama` / `qwen2` graph builder: tiny
random models are built in HuggingFace transformers, written to GGUF with
gguf-py exactly as llama.cpp's convert_hf_to_gguf.py lays them out, and the
logits PyTorch gives on exactly the weights each GGUF holds are stored beside
it.  Everything here is seeded; rerunning gives the same files with the pinned
versions of tests/requirements-fixtures.txt (CI does not need them: the
outputs are committed).

    python3 -m venv /tmp/venv-fix
    /tmp/venv-fix/bin/pip install -r tests/requirements-fixtures.txt
    /tmp/venv-fix/bin/python tests/gguf/llama/make_fixtures.py

Models (see MODELS below): `llama` (grouped-query attention, untied head),
`llama_tied` (multi-head attention, no output.weight: the head is
token_embd.weight), `qwen2` (biases on Q/K/V, NEOX RoPE, 1 KV head, tied, a
vocabulary padded past the tokenizer's).  Each in four storage variants:
`f32`, `f16`, `q8_0`, `q4_0` -- 2-d weight matrices (token_embd included) in
that type, 1-d norm weights and biases always F32, as llama.cpp does.

Outputs, in this directory:

  MODEL-VARIANT.gguf   the model
  MODEL-VARIANT.ref    reference logits (format below)
  tokenizer_ids.txt    texts and the ids the independent tokenizers give
                       (sentencepiece for the llama files, HuggingFace
                       `tokenizers` for qwen2)

Reference file format (little endian), "UGLR" version 1:

  offset 0   char[4]  magic "UGLR"
         4   u32      version = 1
         8   u32      vocab            (= the model's vocab_size = rows of token_embd)
        12   u32      n_prompt         (7)
        16   u32      n_decode         (16)
        20   i32      tokens[n_prompt + n_decode]
         .   f32      logits[(n_prompt + n_decode) * vocab]

Row t of `logits` holds the logits after feeding tokens[t] at position t:
rows 0 .. n_prompt-1 come from one prefill of the prompt (tokens[0] is the
BOS id), rows n_prompt .. are single-token decode steps through HF's KV cache
(past_key_values), fed with tokens[n_prompt + j].  The decode tokens are fixed
(teacher forcing), chosen from the model's f32 variant and the same in all
four variants of a model, so logits can be compared row by row whatever the
argmax of a quantized model would be.  For `llama` they are the plain greedy
continuation (so greedy generation from llama-f32.gguf must reproduce them; the
smallest top-1/top-2 logit margin along the way is printed); random models with
tied embeddings keep repeating one token under plain greedy, so for
`llama_tied` and `qwen2` each step takes the argmax over the tokens not yet in
the sequence ("greedy-norepeat").

The reference is computed in float64: the stored tensors are dequantized with
gguf-py, the llama Q/K row permutation is undone, they are loaded into the HF
model converted to float64, and HF's float32 islands -- RoPE cos/sin, RMSNorm,
the eager softmax -- are replaced by the same formulas in float64 (SDPA
attention computes in the input dtype).  Every reference is also checked here
against (a) a full-sequence forward without cache and (b) an independent numpy
forward that reads the GGUF tensors directly and applies RoPE in the GGUF
convention (adjacent pairs for llama, halves for qwen2): both agree to ~2e-15,
and the numpy forward with the other RoPE layout must be >10% off.  The error an f32 implementation makes is shown
by the "f32 torch" column the script prints (stock HF in float32 on the same
weights against the float64 reference).
"""
import importlib.metadata
import os
import struct
import sys
import tempfile

import numpy as np
import torch

import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize
import sentencepiece as spm
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
PINNED = {"gguf": "0.19.0", "torch": "2.15.0", "transformers": "5.23.0", "numpy": "2.4.6",
          "sentencepiece": "0.2.3", "tokenizers": "0.23.3"}

N_PROMPT, N_DECODE = 7, 16

MODELS = {
    # name: architecture, hyper-parameters, tokenizer, init seed, how the decode tokens are chosen
    # (random models with tied embeddings fall into repeating one token under plain greedy)
    "llama": dict(arch="llama", seed=101, tok="spm", hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16,
                  ff=128, ctx=128, rope_theta=10000.0, eps=1e-5, tied=False, decode="greedy"),
    "llama_tied": dict(arch="llama", seed=202, tok="spm", hidden=64, layers=2, heads=4, kv_heads=4, head_dim=16,
                       ff=128, ctx=128, rope_theta=500000.0, eps=1e-5, tied=True, decode="greedy-norepeat"),
    "qwen2": dict(arch="qwen2", seed=303, tok="bpe", hidden=64, layers=2, heads=4, kv_heads=1, head_dim=16,
                  ff=160, ctx=128, rope_theta=1000000.0, eps=1e-6, tied=True, vocab_pad=32,
                  decode="greedy-norepeat"),
}

VARIANTS = {"f32": (Q.F32, gguf.LlamaFileType.ALL_F32), "f16": (Q.F16, gguf.LlamaFileType.MOSTLY_F16),
            "q8_0": (Q.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0), "q4_0": (Q.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0)}

CORPUS = """\
Once upon a time there was a little fox who lived in the forest near the river.
The fox liked to run and jump and play with the other animals of the forest.
One day the fox found a small bird that could not fly, and the fox helped the bird.
The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.
It was a cold morning in the city, and the people walked to work through the snow.
She opened the window and looked at the mountains, the trees and the blue sky.
They said that the king of the country would come to the village in the spring.
We have been working on this project for a long time and we are happy with it.
The children were playing in the garden when their mother called them for dinner.
He wanted to learn how to read and write, so he went to school every day.
A good book is like a friend that you can talk to at any time of the day or night.
The model reads the text, splits it into pieces and turns every piece into a number.
After the rain the streets were wet and the air smelled of flowers and fresh bread.
The old man told the story of the ship that was lost at sea many years ago.
Every evening the family sat around the table and talked about what they had done.
The weather was warm, the water was clear and the fish were swimming near the shore.
In the morning I drink a cup of coffee and read the news before I start working.
The teacher asked the students to write a short story about their summer holidays.
There is nothing better than a walk in the park on a quiet Sunday afternoon.
Some people believe that the world would be a better place if everyone were kind.
"""
CORPUS_LINES = [line for line in CORPUS.splitlines() if line] * 4

PROMPT_TEXT = "Once upon a time, the little fox"
TOKENIZER_TEXTS = [
    "Once upon a time, the little fox",
    "The quick brown fox jumps over the lazy dog.",
    "Hello world, this is a test of the tokenizer",
    "She looked at the mountains and the blue sky",
    "Every evening the family sat around the table.",
]

# Qwen2's pre-tokenizer regex (tokenizer.json of Qwen/Qwen2-0.5B).  ugcc implements GPT-2's;
# the texts above are chosen (and checked below) to pre-tokenize identically under both.
QWEN2_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")


# ----------------------------------------------------------------------------------------------
# Tokenizers


def build_spm(tmp):
    """A SentencePiece BPE model in Llama's layout: <unk> <s> </s>, the 256 byte tokens, pieces."""
    prefix = os.path.join(tmp, "spm")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS_LINES), model_prefix=prefix, vocab_size=512, model_type="bpe",
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, character_coverage=1.0, split_digits=True, hard_vocab_limit=False,
        num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        # as convert_hf_to_gguf.py's _create_vocab_sentencepiece
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    assert tokens[:3] == ["<unk>", "<s>", "</s>"] and tokens[3] == "<0x00>" and tokens[258] == "<0xFF>", tokens[:5]
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)

    def encode(text):  # ids as HF's LlamaTokenizer gives them: BOS, then sentencepiece's ids
        return [sp.bos_id()] + sp.encode(text)

    def write(w):
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)

    return dict(n_tokens=len(tokens), bos=1, eos=2, encode=encode, write=write, tokens=tokens)


def build_bpe(pad):
    """A byte-level BPE like Qwen2's: 256 byte symbols, merges, then <|endoftext|> <|im_start|> <|im_end|>."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=397, min_frequency=2, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS_LINES, trainer)
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    import json
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    n = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [None] * n
    for text, i in vocab.items():
        tokens[i] = text
    assert all(t is not None for t in tokens)
    eot = vocab["<|endoftext|>"]
    special = {vocab[s] for s in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(n)]
    # The model's vocab_size is padded (as Qwen2's 151936 > 151665 tokens); convert_hf_to_gguf.py
    # writes the missing ids as "[PAD<i>]" UNUSED tokens.
    n_model = (n + pad - 1) // pad * pad
    for i in range(n, n_model):
        tokens.append(f"[PAD{i}]")
        types.append(gguf.TokenType.UNUSED)

    gpt2 = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)

    def encode(text):
        ids = tok.encode(text).ids
        # ugcc splits with the GPT-2 regex; the cross-check texts must not depend on the difference.
        want = [t.id for w, _ in gpt2.pre_tokenize_str(text) for t in tok.model.tokenize(w)]
        assert ids == want, (text, ids, want)
        return ids

    def write(w):
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("qwen2")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_eos_token_id(eot)
        w.add_pad_token_id(eot)
        w.add_bos_token_id(eot)
        w.add_add_bos_token(False)

    return dict(n_tokens=n_model, bos=eot, eos=eot, encode=encode, write=write, tokens=tokens)


# ----------------------------------------------------------------------------------------------
# Models


def hf_config(cfg, vocab):
    common = dict(vocab_size=vocab, hidden_size=cfg["hidden"], intermediate_size=cfg["ff"],
                  num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"],
                  num_key_value_heads=cfg["kv_heads"], head_dim=cfg["head_dim"],
                  max_position_embeddings=cfg["ctx"], rms_norm_eps=cfg["eps"],
                  rope_parameters={"rope_type": "default", "rope_theta": cfg["rope_theta"]},
                  tie_word_embeddings=cfg["tied"], hidden_act="silu")
    if cfg["arch"] == "llama":
        return LlamaForCausalLM, LlamaConfig(**common, bos_token_id=1, eos_token_id=2)
    return Qwen2ForCausalLM, Qwen2Config(**common, use_sliding_window=False)


def random_weights(cfg, vocab):
    """HF state dict (float32) with weights scaled so every part of the network matters:
    attention scores of O(1) (so RoPE and the causal mask change the result), norm weights
    away from 1, biases of the size of the projections, logits with a spread of a few units."""
    g = torch.Generator().manual_seed(cfg["seed"])

    def normal(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    def norm_w(n):
        return 0.6 + 0.8 * torch.rand(n, generator=g, dtype=torch.float32)

    d, hd, nh, nkv, ff = cfg["hidden"], cfg["head_dim"], cfg["heads"], cfg["kv_heads"], cfg["ff"]
    sd = {"model.embed_tokens.weight": normal(vocab, d, std=0.5)}
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = norm_w(d)
        sd[p + "self_attn.q_proj.weight"] = normal(nh * hd, d, std=1.0 / d ** 0.5)
        sd[p + "self_attn.k_proj.weight"] = normal(nkv * hd, d, std=1.0 / d ** 0.5)
        sd[p + "self_attn.v_proj.weight"] = normal(nkv * hd, d, std=1.0 / d ** 0.5)
        sd[p + "self_attn.o_proj.weight"] = normal(d, nh * hd, std=1.0 / (nh * hd) ** 0.5)
        if cfg["arch"] == "qwen2":
            sd[p + "self_attn.q_proj.bias"] = normal(nh * hd, std=0.5)
            sd[p + "self_attn.k_proj.bias"] = normal(nkv * hd, std=0.5)
            sd[p + "self_attn.v_proj.bias"] = normal(nkv * hd, std=0.5)
        sd[p + "post_attention_layernorm.weight"] = norm_w(d)
        sd[p + "mlp.gate_proj.weight"] = normal(ff, d, std=1.0 / d ** 0.5)
        sd[p + "mlp.up_proj.weight"] = normal(ff, d, std=1.0 / d ** 0.5)
        sd[p + "mlp.down_proj.weight"] = normal(d, ff, std=1.0 / ff ** 0.5)
    sd["model.norm.weight"] = norm_w(d)
    if not cfg["tied"]:
        sd["lm_head.weight"] = normal(vocab, d, std=2.0 / d ** 0.5)
    return sd


def permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: HF's rotate-half Q/K rows -> GGUF's interleaved pairs.
    Within each head, row s*(hd/2)+j moves to 2j+s."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


HF_TO_GGUF = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_tensors(cfg, sd):
    """(gguf name, float32 numpy array in GGUF row layout, hf name) in the order they are written."""
    out = [("token_embd.weight", sd["model.embed_tokens.weight"], "model.embed_tokens.weight")]
    for i in range(cfg["layers"]):
        for hf, gg in HF_TO_GGUF.items():
            key = f"model.layers.{i}.{hf}"
            if key in sd:
                out.append((f"blk.{i}.{gg}", sd[key], key))
    out.append(("output_norm.weight", sd["model.norm.weight"], "model.norm.weight"))
    if "lm_head.weight" in sd:
        out.append(("output.weight", sd["lm_head.weight"], "lm_head.weight"))
    res = []
    for name, t, hf in out:
        a = t.numpy().astype(np.float32)
        if cfg["arch"] == "llama":  # qwen2 is NEOX RoPE in llama.cpp: no permutation
            if ".attn_q." in name:
                a = permute(a, cfg["heads"])
            elif ".attn_k." in name:
                a = permute(a, cfg["kv_heads"])
        res.append((name, np.ascontiguousarray(a), hf))
    return res


def write_gguf(path, name, cfg, tok, sd, variant):
    qtype, ftype = VARIANTS[variant]
    arch = cfg["arch"]
    w = gguf.GGUFWriter(path, arch)
    # metadata in convert_hf_to_gguf.py's order
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(f"ugcc-fixture-{name}")
    w.add_block_count(cfg["layers"])
    w.add_context_length(cfg["ctx"])
    w.add_embedding_length(cfg["hidden"])
    w.add_feed_forward_length(cfg["ff"])
    w.add_head_count(cfg["heads"])
    w.add_head_count_kv(cfg["kv_heads"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["eps"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_file_type(ftype)
    w.add_vocab_size(tok["n_tokens"])
    w.add_rope_dimension_count(cfg["head_dim"])
    tok["write"](w)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for tname, a, _ in gguf_tensors(cfg, sd):
        t = Q.F32 if a.ndim == 1 else qtype
        data = quantize(a, t)
        w.add_tensor(tname, data, raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_gguf(path):
    """GGUFReader -> {name: float32 array [rows, cols] or [n]} and {name: ggml type}."""
    r = gguf.GGUFReader(path)
    ws, types = {}, {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = tuple(int(x) for x in reversed(t.shape))
        ws[t.name] = a.reshape(shape)
        types[t.name] = t.tensor_type
    return r, ws, types


def state_dict_from_gguf(cfg, ws):
    sd = {}
    for i in range(cfg["layers"]):
        for hf, gg in HF_TO_GGUF.items():
            name = f"blk.{i}.{gg}"
            if name not in ws:
                continue
            a = ws[name]
            if cfg["arch"] == "llama":
                if ".attn_q." in name:
                    a = unpermute(a, cfg["heads"])
                elif ".attn_k." in name:
                    a = unpermute(a, cfg["kv_heads"])
            sd[f"model.layers.{i}.{hf}"] = torch.from_numpy(np.ascontiguousarray(a))
    sd["model.embed_tokens.weight"] = torch.from_numpy(ws["token_embd.weight"])
    sd["model.norm.weight"] = torch.from_numpy(ws["output_norm.weight"])
    sd["lm_head.weight"] = torch.from_numpy(ws.get("output.weight", ws["token_embd.weight"]))
    return sd


def f64_rotary(model, cfg):
    """Replaces HF's rotary embedding (cos/sin always in float32) by the same formula in float64."""
    rot = model.model.rotary_emb
    hd = cfg["head_dim"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))

    def forward(x, position_ids):
        freqs = position_ids[..., None].to(torch.float64) * inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    rot.forward = forward


def f64_rmsnorm(model):
    """HF's RMSNorm computes in float32 whatever the model's dtype; the same formula in float64."""
    for m in model.modules():
        if type(m).__name__.endswith("RMSNorm"):
            def forward(x, m=m):
                return m.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + m.variance_epsilon))
            m.forward = forward


def make_hf(cfg, vocab, sd, dtype):
    """The HF model on these weights.  float64: HF's float32 islands (RoPE cos/sin, RMSNorm, the eager
    attention's softmax) are replaced by float64 (SDPA attention computes in the input dtype)."""
    cls, conf = hf_config(cfg, vocab)
    conf._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = cls(conf).eval()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and not missing, (missing, unexpected)
    if cfg["tied"]:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model = model.to(dtype)
    if dtype == torch.float64:
        f64_rotary(model, cfg)
        f64_rmsnorm(model)
    return model


@torch.no_grad()
def run_hf(model, prompt, decode, n_decode=N_DECODE):
    """Prefill `prompt`, then n_decode single-token steps through the KV cache.  The step inputs are
    `decode` when it is a list (teacher forcing), else chosen from the last logits: "greedy" is the
    argmax, "greedy-norepeat" the argmax over the tokens not yet in the sequence.
    Returns (decode tokens, logits)."""
    out = model(input_ids=torch.tensor([prompt]), use_cache=True)
    rows = [out.logits[0]]
    pkv = out.past_key_values
    toks = []
    for j in range(n_decode):
        if isinstance(decode, list):
            t = int(decode[j])
        else:
            last = rows[-1][-1].clone()
            if decode == "greedy-norepeat":
                last[prompt + toks] = -torch.inf
            t = int(torch.argmax(last))
        toks.append(t)
        out = model(input_ids=torch.tensor([[t]]), past_key_values=pkv, use_cache=True)
        pkv = out.past_key_values
        rows.append(out.logits[0])
    return toks, torch.cat(rows, 0).double().numpy()


@torch.no_grad()
def run_hf_full(model, tokens):
    return model(input_ids=torch.tensor([tokens]), use_cache=False).logits[0].double().numpy()


def numpy_forward(cfg, ws, tokens, rope_mode=None):
    """Independent float64 forward in llama.cpp's conventions, straight from the GGUF tensors.
    rope_mode overrides the architecture's ("norm": adjacent pairs, "neox": halves)."""
    rope_mode = rope_mode or ("norm" if cfg["arch"] == "llama" else "neox")
    W = {k: v.astype(np.float64) for k, v in ws.items()}
    nh, nkv, hd, eps = cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["eps"]
    T = len(tokens)
    pos = np.arange(T, dtype=np.float64)
    theta = pos[:, None] * cfg["rope_theta"] ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)[None, :]
    cos, sin = np.cos(theta), np.sin(theta)  # [T, hd/2]

    def rope(x):  # x [T, heads, hd]
        x = x.copy()
        if rope_mode == "norm":  # LLAMA_ROPE_TYPE_NORM: pairs (2i, 2i+1)
            a, b = x[..., 0::2].copy(), x[..., 1::2].copy()
            x[..., 0::2] = a * cos[:, None] - b * sin[:, None]
            x[..., 1::2] = a * sin[:, None] + b * cos[:, None]
        else:  # LLAMA_ROPE_TYPE_NEOX: pairs (i, i + hd/2)
            a, b = x[..., :hd // 2].copy(), x[..., hd // 2:].copy()
            x[..., :hd // 2] = a * cos[:, None] - b * sin[:, None]
            x[..., hd // 2:] = a * sin[:, None] + b * cos[:, None]
        return x

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    x = W["token_embd.weight"][tokens]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(cfg["layers"]):
        p = f"blk.{i}."
        h = rms(x, W[p + "attn_norm.weight"])
        q, k, v = (h @ W[p + f"attn_{n}.weight"].T + W.get(p + f"attn_{n}.bias", 0.0) for n in "qkv")
        q = rope(q.reshape(T, nh, hd))
        k = rope(k.reshape(T, nkv, hd))
        v = v.reshape(T, nkv, hd)
        o = np.empty((T, nh, hd))
        for hh in range(nh):
            g = hh // (nh // nkv)
            s = q[:, hh] @ k[:, g].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            o[:, hh] = (s / s.sum(-1, keepdims=True)) @ v[:, g]
        x = x + o.reshape(T, nh * hd) @ W[p + "attn_output.weight"].T
        h = rms(x, W[p + "ffn_norm.weight"])
        gate = h @ W[p + "ffn_gate.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
    h = rms(x, W["output_norm.weight"])
    return h @ W.get("output.weight", W["token_embd.weight"]).T


def write_ref(path, tokens, logits, n_prompt):
    vocab = logits.shape[1]
    assert logits.shape[0] == len(tokens)
    with open(path, "wb") as f:
        f.write(b"UGLR")
        f.write(struct.pack("<4I", 1, vocab, n_prompt, len(tokens) - n_prompt))
        f.write(np.asarray(tokens, dtype="<i4").tobytes())
        f.write(np.ascontiguousarray(logits, dtype="<f4").tobytes())


def read_ref(path):
    with open(path, "rb") as f:
        b = f.read()
    assert b[:4] == b"UGLR"
    ver, vocab, n_p, n_d = struct.unpack_from("<4I", b, 4)
    assert ver == 1
    n = n_p + n_d
    toks = np.frombuffer(b, "<i4", n, 20)
    logits = np.frombuffer(b, "<f4", n * vocab, 20 + 4 * n).reshape(n, vocab)
    assert len(b) == 20 + 4 * n + 4 * n * vocab
    return toks, logits, n_p


def rel_err(a, ref):
    """max over rows of max|a - ref| / max|ref|"""
    return float(np.max(np.max(np.abs(a - ref), axis=1) / np.max(np.abs(ref), axis=1)))


def rms_err(a, ref):
    """||a - ref|| / ||ref|| over all logits"""
    return float(np.sqrt(np.mean((a - ref) ** 2) / np.mean(ref ** 2)))


def check_versions():
    for mod, want in PINNED.items():
        have = importlib.metadata.version(mod)
        if have.split("+")[0] != want:
            print(f"warning: {mod} {have} installed, the fixtures were made with {want}", file=sys.stderr)


def main():
    check_versions()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        toks = {"spm": build_spm(tmp)}
    toks["bpe"] = build_bpe(MODELS["qwen2"]["vocab_pad"])

    lines = ["# ugcc tokenizer cross-check: FILE<TAB>IDS<TAB>TEXT  (ids from sentencepiece / HF tokenizers,",
             "# BOS included where the file's tokenizer.ggml.add_bos_token is true)"]
    for model, tok in (("llama-f32.gguf", toks["spm"]), ("qwen2-f32.gguf", toks["bpe"])):
        for text in TOKENIZER_TEXTS:
            assert "\t" not in text and "\n" not in text
            lines.append(f"{model}\t{' '.join(map(str, tok['encode'](text)))}\t{text}")
    with open(os.path.join(HERE, "tokenizer_ids.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    # columns: vs the f32 variant (rms-relative, max-relative per row, argmax agreement); stock HF in
    # float32 vs the float64 reference (max-relative); float64 without the KV cache and the numpy
    # forward vs the reference; the numpy forward with the other RoPE layout (rms-relative)
    print(f"{'file':17} {'bytes':>8}  {'vs f32 rms':>9} {'max':>9} {'argmax':>6}  {'f32 torch':>9}  "
          f"{'no-cache':>8}  {'numpy':>8}  {'bad rope':>8}")
    total = 0
    for name, cfg in MODELS.items():
        tok = toks[cfg["tok"]]
        vocab = tok["n_tokens"]
        sd = random_weights(cfg, vocab)
        text_ids = tok["encode"](PROMPT_TEXT)
        if cfg["tok"] == "bpe":
            text_ids = [tok["bos"]] + text_ids
        assert text_ids[0] == tok["bos"] and len(text_ids) >= N_PROMPT
        prompt = text_ids[:N_PROMPT]
        decode, ref_f32 = cfg["decode"], None
        for variant in VARIANTS:
            stem = f"{name}-{variant}"
            path = os.path.join(HERE, stem + ".gguf")
            write_gguf(path, name, cfg, tok, sd, variant)
            r, ws, types = read_gguf(path)
            # the file says what we meant
            assert r.fields["general.architecture"].contents() == cfg["arch"]
            assert ("output.weight" in ws) == (not cfg["tied"])
            assert ws["token_embd.weight"].shape == (vocab, cfg["hidden"])
            for tname, ty in types.items():
                want = Q.F32 if ws[tname].ndim == 1 else VARIANTS[variant][0]
                assert ty == want, (tname, ty, want)

            model = make_hf(cfg, vocab, state_dict_from_gguf(cfg, ws), torch.float64)
            dec, logits = run_hf(model, prompt, decode)
            decode = dec
            tokens = prompt + decode
            # checks of the reference itself
            full = run_hf_full(model, tokens)
            e_full = rel_err(full, logits)
            e_np = rel_err(numpy_forward(cfg, ws, tokens), logits)
            assert e_full < 1e-10 and e_np < 1e-10, (stem, e_full, e_np)
            # the fixture tells the RoPE conventions apart
            wrong = {"norm": "neox", "neox": "norm"}["norm" if cfg["arch"] == "llama" else "neox"]
            e_wrong = rms_err(numpy_forward(cfg, ws, tokens, wrong), logits)
            assert e_wrong > 0.1, (stem, e_wrong)
            m32 = make_hf(cfg, vocab, state_dict_from_gguf(cfg, ws), torch.float32)
            _, l32 = run_hf(m32, prompt, decode)
            e_32 = rel_err(l32, logits)

            ref_path = os.path.join(HERE, stem + ".ref")
            write_ref(ref_path, tokens, logits, N_PROMPT)
            rt, rl, rn = read_ref(ref_path)
            assert list(rt) == tokens and rn == N_PROMPT and np.array_equal(rl, logits.astype(np.float32))
            if variant == "f32":
                ref_f32 = rl
                e_q, e_qmax, agree = 0.0, 0.0, 1.0
            else:
                e_q, e_qmax = rms_err(rl, ref_f32), rel_err(rl, ref_f32)
                agree = float(np.mean(rl.argmax(1) == ref_f32.argmax(1)))
                # different from the f32 variant, but the same model
                assert 1e-5 < e_q < {"f16": 0.01, "q8_0": 0.1, "q4_0": 0.6}[variant], (stem, e_q)
            size = os.path.getsize(path) + os.path.getsize(ref_path)
            total += size
            print(f"{stem:17} {os.path.getsize(path):8d}  {e_q:9.2e} {e_qmax:9.2e} {agree:6.2f}  "
                  f"{e_32:9.2e}  {e_full:8.1e}  {e_np:8.1e}  {e_wrong:8.2f}")
        top2 = np.sort(ref_f32[N_PROMPT - 1:-1], axis=1)[:, -2:]
        print(f"  {name}: vocab {vocab}, prompt {prompt}, decode ({cfg['decode']}) {decode}, "
              f"smallest top-2 margin {np.min(top2[:, 1] - top2[:, 0]):.3f}")
    print(f"total {total} bytes (gguf + ref)")


if __name__ == "__main__":
    main()
