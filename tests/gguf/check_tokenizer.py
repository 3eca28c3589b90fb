#!/usr/bin/env python3
"""Cross-checks ugcc's GGUF tokenizer against independent implementations.

- GPT-2: a byte-level BPE trained here with HuggingFace `tokenizers`
  (ByteLevel pre-tokenizer = the GPT-2 regex, byte alphabet, merges by rank),
  written to GGUF with gguf-py; ugcc must give tokenizers' ids and decode
  them back to the text.
- SPM: a SentencePiece BPE model trained here with `sentencepiece` (identity
  normalization, dummy prefix, byte fallback), written to GGUF as llama.cpp's
  converter does (pieces, scores, token types); ugcc must give
  sentencepiece's ids.

    python3 -m pip install -r tests/requirements.txt
    python3 tests/gguf/check_tokenizer.py build/tests/gguf/tok_cli

Exits 77 (a skip for ctest) when a module is missing.
"""
import os
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import gguf
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
except ImportError as e:  # optional test-only dependencies
    print(f"skipped: {e}")
    sys.exit(SKIP)

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's 12 o'clock, isn't it?",
    "Hello world! Hello there, hello again: the theme of the thesis is thermal.",
    "Tokenizers merge the most frequent pairs; they'll learn 'the', 'ing' and ' the'.",
    "Numbers 1234567890 and 3.14159, 2024-06-01, 100% sure.",
    "Ünïcödé téxt: café, naïve, Straße, déjà vu, résumé.",
    "Ελληνικά γράμματα και русский текст, 中文字符和日本語のテキスト。",
    "    indented code:\n\tif (x == y) { return x + y; }\n\n",
    "Multiple   spaces   and trailing spaces   \n",
] * 20

TEXTS = [
    "", " ", "  ", "a", "Hello world", " Hello  world ", "the theme of the thesis",
    "It's 12 o'clock, isn't it? They'll see.", "we'RE 'S 'x", "3.14159 and 1234567890",
    "café naïve Straße", "Ελληνικά русский 中文字符 日本語", "emoji 😀👍🏽 done",
    "tabs\tand\nnewlines\n\n  indented", "   leading and trailing   ", "a\u3000b\u00a0c",
    "x\u0301 combining", "mixed123abc456 ", "!!!???...", "<|endoftext|> is text here",
    "under_score snake_case CamelCase", "\r\n\r\n", "zero\u200bwidth", "ǅ ǈ ǋ ǲ titlecase",
    "٣٤٥ Arabic-Indic digits", "Ⅻ roman ⅻ", "½ ¾ fractions", "한국어 텍스트",
]


def run(cli, path, *args, text=None):
    r = subprocess.run([cli, path, *args], input=text.encode() if text is not None else None,
                       capture_output=True, check=False)
    if r.returncode:
        raise SystemExit(f"tok_cli {' '.join(args)} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def encode(cli, path, text, special=False):
    out = run(cli, path, "encode", *(["special"] if special else []), text=text).decode().split()
    return [int(x) for x in out]


def check_gpt2(cli, tmp):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    import json
    model = json.loads(tok.to_str())["model"]
    vocab = model["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    assert all(t is not None for t in tokens)
    eot = vocab["<|endoftext|>"]
    types = [gguf.TokenType.CONTROL if i == eot else gguf.TokenType.NORMAL for i in range(len(tokens))]
    path = os.path.join(tmp, "gpt2.gguf")
    w = gguf.GGUFWriter(path, "gpt2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(eot)
    w.add_eos_token_id(eot)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    bad = 0
    for text in TEXTS + CORPUS[:8]:
        # tokenizers matches added tokens ("<|endoftext|>") in the text, ugcc
        # never does: compare with the BPE model applied to the pre-tokens.
        want = [t.id for w, _ in tok.pre_tokenizer.pre_tokenize_str(text) for t in tok.model.tokenize(w)]
        if "<|endoftext|>" not in text:
            assert want == tok.encode(text).ids
        got = encode(cli, path, text)
        back = run(cli, path, "decode", *map(str, got))
        if got != want:
            print(f"gpt2 MISMATCH {text!r}\n  ugcc       {got}\n  tokenizers {want}")
            bad += 1
        elif back != text.encode():
            print(f"gpt2 ROUND TRIP {text!r} -> {back!r}")
            bad += 1
    print(f"gpt2: {len(tokens)} tokens, {len(merges)} merges, {len(TEXTS) + 8} texts, {bad} mismatches")
    return bad


def check_spm(cli, tmp):
    prefix = os.path.join(tmp, "spm")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_prefix=prefix, vocab_size=500, model_type="bpe",
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, character_coverage=0.98, split_digits=False, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
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
    path = os.path.join(tmp, "spm.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    bad = 0
    for text in TEXTS + CORPUS[:8]:
        if not text:
            continue  # sentencepiece gives [] for "", so does ugcc without BOS (checked in C)
        want = sp.encode(text)
        got = encode(cli, path, text)
        special = encode(cli, path, text, special=True)
        back = run(cli, path, "decode", *map(str, special))
        if got != want or special != [sp.bos_id()] + want:
            print(f"spm MISMATCH {text!r}\n  ugcc          {got}\n  sentencepiece {want}")
            bad += 1
        elif back != text.encode() or sp.decode(want).encode() != back:
            print(f"spm ROUND TRIP {text!r} -> {back!r} (sentencepiece {sp.decode(want)!r})")
            bad += 1
    print(f"spm: {len(tokens)} tokens, {len(TEXTS) + 7} texts, {bad} mismatches")
    return bad


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    cli = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        bad = check_gpt2(cli, tmp) + check_spm(cli, tmp)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
