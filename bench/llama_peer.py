#!/usr/bin/env python3
"""The peer and the ceiling for ugcc's GGUF decode benchmark (scripts/device/llama.sh).

Prints one JSON line with:
  copy_gbps        device copy bandwidth (read + write bytes / time of a 1 GiB copy),
                   the physical ceiling of a memory-bound decode step
  hf_prefill_tps   HuggingFace LlamaForCausalLM in float16 on the GPU (PyTorch eager,
  hf_decode_tps    SDPA attention, its KV cache): prompt tokens / s and decoded tokens / s
                   of greedy generation, for the shapes of bench/make_llama_gguf.py --preset
Weights are random (generation speed does not depend on them).
"""
import argparse
import json
import sys
import time

import torch


def copy_bandwidth():
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(10):
        t = time.perf_counter()
        b.copy_(a)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * n / best / 1e9


def hf_speed(preset, n_prompt, n_decode):
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from make_llama_gguf import PRESETS  # noqa: E402
    from transformers import LlamaConfig, LlamaForCausalLM

    p = PRESETS[preset]
    cfg = LlamaConfig(vocab_size=p["vocab"], hidden_size=p["hidden"], intermediate_size=p["ff"],
                      num_hidden_layers=p["layers"], num_attention_heads=p["heads"],
                      num_key_value_heads=p["kv_heads"], max_position_embeddings=4096,
                      rms_norm_eps=p["eps"], rope_theta=p["rope_theta"], tie_word_embeddings=p["tied"],
                      attn_implementation="sdpa")
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(device="cuda", dtype=torch.float16).eval()
    ids = torch.randint(3, p["vocab"], (1, n_prompt), device="cuda")
    with torch.no_grad():
        model.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)  # warm-up
        torch.cuda.synchronize()
        t = time.perf_counter()
        model(ids)
        torch.cuda.synchronize()
        t_prefill = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=n_decode + 1, min_new_tokens=n_decode + 1, do_sample=False)
        torch.cuda.synchronize()
        t_all = time.perf_counter() - t
    return n_prompt / t_prefill, n_decode / max(t_all - t_prefill, 1e-9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="1b")
    ap.add_argument("--n-prompt", type=int, default=8)
    ap.add_argument("--n-decode", type=int, default=128)
    a = ap.parse_args()
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "copy_gbps": copy_bandwidth()}
    try:
        out["hf_prefill_tps"], out["hf_decode_tps"] = hf_speed(a.preset, a.n_prompt, a.n_decode)
    except Exception as e:  # the peer is optional: report why it is missing
        out["hf_error"] = repr(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
