#!/usr/bin/env python3
"""Writes a small, locally made, random-weight BERT embedding model in Hugging Face layout.

It stands in for mxbai-embed-large, which cannot be downloaded here: same architecture family
(BertModel, CLS pooling as sentence-transformers describes it) and the same embedding dimension
(1024, the one the operator's compatibility matrix records), but 2 layers, a small intermediate
size and a small WordPiece vocabulary. Its weights are random (fixed seed): the vectors Ollama
computes from it are real BERT forward passes through Ollama's own code, deterministic for a
given text, and carry no meaning.

Files: config.json, model.safetensors (F16), vocab.txt, tokenizer.json, tokenizer_config.json,
special_tokens_map.json, modules.json, 1_Pooling/config.json, Modelfile, README.md. These are what
Ollama 0.4.7's BERT converter (convert/convert_bert.go) and `ollama create` read.

Usage: make-model.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file

NAME = "mxbai-embed-large"
HIDDEN = 1024          # mxbai-embed-large's dimension
LAYERS = 2
HEADS = 16
INTERMEDIATE = 512
MAX_POS = 512
SEED = 20261206

# bert-base-uncased's layout of the special tokens: llama.cpp's WordPiece tokenizer defaults to
# these ids (pad 0, unk 100, cls 101, sep 102, mask 103), and the GGUF records them as well.
SPECIALS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}

WORDS = """
the of and to a in is it you that he was for on are with as i his they be at one have this from
or had by not word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long
make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made
live where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
memory memories agent agents crew task tasks tool tools store stored recall search remember
embedding vector vectors model models data database collection document documents query answer
chroma ollama okami operator cluster node pod backup restore reset upgrade version test local
hello yes stand short blue red green cat dog tree sun moon star book code text user team plan
""".split()
SUFFIXES = ["s", "es", "ed", "ing", "er", "est", "ly", "ion", "al", "ment", "ness", "able"]


def vocabulary():
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(tokens)

    def add(t):
        if t not in seen:
            seen.add(t)
            tokens.append(t)

    printable = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    for ch in printable:
        add(ch)
    for ch in printable:
        if ch.isalnum():
            add("##" + ch)
    for s in SUFFIXES:
        add("##" + s)
    for w in WORDS:
        add(w)
    for i, t in enumerate(tokens):
        assert t not in SPECIALS or SPECIALS[t] == i, t
    return tokens


def tensors(vocab_size):
    rng = np.random.default_rng(SEED)

    def normal(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    def ones(n):
        return np.ones(n, dtype=np.float16)

    def zeros(n):
        return np.zeros(n, dtype=np.float16)

    t = {
        "embeddings.word_embeddings.weight": normal(vocab_size, HIDDEN),
        "embeddings.position_embeddings.weight": normal(MAX_POS, HIDDEN),
        "embeddings.token_type_embeddings.weight": normal(2, HIDDEN),
        "embeddings.LayerNorm.weight": ones(HIDDEN),
        "embeddings.LayerNorm.bias": zeros(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for m in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            t[p + m + ".weight"] = normal(HIDDEN, HIDDEN)
            t[p + m + ".bias"] = zeros(HIDDEN)
        t[p + "attention.output.LayerNorm.weight"] = ones(HIDDEN)
        t[p + "attention.output.LayerNorm.bias"] = zeros(HIDDEN)
        t[p + "intermediate.dense.weight"] = normal(INTERMEDIATE, HIDDEN)
        t[p + "intermediate.dense.bias"] = zeros(INTERMEDIATE)
        t[p + "output.dense.weight"] = normal(HIDDEN, INTERMEDIATE)
        t[p + "output.dense.bias"] = zeros(HIDDEN)
        t[p + "output.LayerNorm.weight"] = ones(HIDDEN)
        t[p + "output.LayerNorm.bias"] = zeros(HIDDEN)
    return t


def tokenizer_json(tokens):
    special = lambda c: {"id": SPECIALS[c], "content": c, "single_word": False, "lstrip": False,
                         "rstrip": False, "normalized": False, "special": True}
    cls, sep = SPECIALS["[CLS]"], SPECIALS["[SEP]"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(c) for c in sorted(SPECIALS, key=SPECIALS.get)],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(tokens)}},
    }


README = f"""# {NAME}: locally made stand-in (random weights)

This is NOT mixedbread-ai's mxbai-embed-large. It is a tiny BERT made by okami-operator's
hack/images/ollama/make-model.py because no model can be downloaded where the project's tests
run. It has the same architecture family (BertModel, CLS pooling) and the same embedding
dimension ({HIDDEN}), but {LAYERS} layers, intermediate size {INTERMEDIATE}, a {{vocab}}-token
WordPiece vocabulary and random weights (seed {SEED}). Ollama computes real BERT forward passes
with it; the vectors are deterministic per text and carry no meaning.

Create it in Ollama under the name the OKAMI sample uses:

    ollama create {NAME} -f Modelfile
"""

MODELFILE = f"""# Locally made stand-in for {NAME} (random-weight BERT, {HIDDEN} dimensions; see README.md).
FROM .
PARAMETER num_ctx {MAX_POS}
"""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-model.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    tokens = vocabulary()

    def dump(name, obj):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")

    dump("config.json", {
        "_name_or_path": f"okami-local/{NAME}-stand-in",
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": len(tokens),
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_POS,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float16",
    })
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    dump("tokenizer.json", tokenizer_json(tokens))
    dump("tokenizer_config.json", {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": MAX_POS,
        "cls_token": "[CLS]", "sep_token": "[SEP]", "unk_token": "[UNK]", "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    })
    dump("special_tokens_map.json", {
        "cls_token": "[CLS]", "sep_token": "[SEP]", "unk_token": "[UNK]", "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    })
    dump("modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    dump("1_Pooling/config.json", {
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    save_file(tensors(len(tokens)), os.path.join(out, "model.safetensors"),
              metadata={"format": "pt", "okami.local": f"locally made {NAME} stand-in, random weights, seed {SEED}"})
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(README.replace("{vocab}", str(len(tokens))))
    with open(os.path.join(out, "Modelfile"), "w", encoding="utf-8") as f:
        f.write(MODELFILE)


if __name__ == "__main__":
    main()
