"""Read a Hugging Face Llama/Qwen2 checkpoint folder with numpy and torch only.

config.json (LlamaForCausalLM, Qwen2ForCausalLM) becomes a ModelConfig; safetensors files
(one, or shards listed in model.safetensors.index.json; F32/F16/BF16) are read lazily with
np.memmap and copied tensor by tensor into the model, so a checkpoint never sits in memory
twice. What cannot be converted is refused with a CheckpointError that says what and why:
another architecture, sliding-window attention turned on, an unknown RoPE scaling, pickled
.bin weights, a missing or misshapen tensor.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

from ..model import LlamaLM, ModelConfig

SUPPORTED = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}
# Architectures people will try, with the reason they differ from Llama (shown in the refusal).
KNOWN_OTHERS = {
    "Starcoder2ForCausalLM": "LayerNorm with bias, a GELU MLP without a gate and biases everywhere",
    "GemmaForCausalLM": "RMSNorm(1 + w), scaled embeddings, a GeGLU MLP",
    "Gemma2ForCausalLM": "RMSNorm(1 + w), logit soft-capping, sliding-window layers",
    "MistralForCausalLM": "sliding-window attention",
    "GPTBigCodeForCausalLM": "multi-query attention with fused qkv and learned positions",
    "Qwen3ForCausalLM": "q/k RMSNorm inside attention",
    "Phi3ForCausalLM": "fused qkv and gate_up projections",
}
ROPE_TYPES = ("default", "linear", "llama3")
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


class CheckpointError(ValueError):
    """A checkpoint we cannot convert; the message names what and why."""


def read_config(folder: str) -> Tuple[ModelConfig, dict]:
    """(ModelConfig, the raw config.json) or CheckpointError."""
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise CheckpointError(f"{folder} has no config.json: point --hf at a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json).")
    with open(path) as f:
        raw = json.load(f)
    arch = (raw.get("architectures") or ["?"])[0]
    if arch not in SUPPORTED:
        why = KNOWN_OTHERS.get(arch)
        raise CheckpointError(
            f"{arch} checkpoints cannot be converted: only LlamaForCausalLM and Qwen2ForCausalLM are supported"
            + (f" ({arch} differs: {why})." if why else ".")
            + " Use a Llama- or Qwen2-family checkpoint (Qwen2.5-Coder, DeepSeek-Coder, CodeLlama), or load a ready ONNX export of the model as it is.")
    kind = SUPPORTED[arch]
    if raw.get("use_sliding_window"):
        raise CheckpointError(f"config.json turns sliding-window attention on (use_sliding_window, window {raw.get('sliding_window')}): the engine attends to the whole context. Set use_sliding_window to false only if the model was trained without it.")
    act = raw.get("hidden_act", "silu")
    if act != "silu":
        raise CheckpointError(f"config.json has hidden_act {act!r}: the converter implements the SwiGLU MLP with silu only.")
    # Newer transformers releases keep theta and scaling together in rope_parameters.
    rope = raw.get("rope_parameters") or {}
    scaling = raw.get("rope_scaling") or (rope if rope.get("rope_type", "default") != "default" else None)
    if scaling is not None:
        rope_type = scaling.get("rope_type", scaling.get("type"))
        if rope_type not in ROPE_TYPES:
            raise CheckpointError(f"config.json has rope_scaling type {rope_type!r}: supported are {', '.join(ROPE_TYPES)}. A model using {rope_type!r} scaling would get wrong positions.")
        if rope_type == "default":
            scaling = None
        elif "factor" not in scaling or (rope_type == "llama3" and "original_max_position_embeddings" not in scaling):
            raise CheckpointError(f"config.json's rope_scaling {scaling} lacks its factor (and, for llama3, original_max_position_embeddings).")
    heads = raw["num_attention_heads"]
    attention_bias = bool(raw.get("attention_bias", False))
    cfg = ModelConfig(
        vocab_size=raw["vocab_size"],
        hidden_size=raw["hidden_size"],
        intermediate_size=raw["intermediate_size"],
        num_layers=raw["num_hidden_layers"],
        num_heads=heads,
        num_kv_heads=raw.get("num_key_value_heads") or heads,
        head_dim=raw.get("head_dim") or raw["hidden_size"] // heads,
        rope_theta=float(raw.get("rope_theta", rope.get("rope_theta", 10000.0))),
        rms_eps=float(raw.get("rms_norm_eps", 1e-6)),
        max_position=int(raw.get("max_position_embeddings", 4096)),
        tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
        # Qwen2's attention always has q/k/v bias and none on o_proj; Llama's attention_bias covers all four.
        qkv_bias=kind == "qwen2" or attention_bias,
        o_bias=kind == "llama" and attention_bias,
        mlp_bias=bool(raw.get("mlp_bias", False)),
        rope_scaling=scaling,
    )
    if cfg.num_heads % cfg.num_kv_heads:
        raise CheckpointError(f"config.json has {cfg.num_heads} attention heads and {cfg.num_kv_heads} KV heads: heads must be a multiple of KV heads.")
    return cfg, raw


class SafetensorsFile:
    """One .safetensors file: an 8-byte little-endian header length, a JSON header, raw data."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            try:
                header = json.loads(f.read(n).decode("utf-8"))
            except ValueError as err:
                raise CheckpointError(f"{path} is not a safetensors file (its header does not parse: {err}). Download it again.") from err
        header.pop("__metadata__", None)
        self.header: Dict[str, dict] = header
        self.offset = 8 + n
        self.size = os.path.getsize(path)

    def names(self) -> List[str]:
        return list(self.header)

    def array(self, name: str) -> np.ndarray:
        """The tensor as float32 (BF16: the 16 bits shifted into a float32's top half, exact)."""
        info = self.header[name]
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise CheckpointError(f"{self.path}: tensor {name} is {info['dtype']}; the converter reads F32, F16 and BF16 weights.")
        begin, end = info["data_offsets"]
        if self.offset + end > self.size:
            raise CheckpointError(f"{self.path} is truncated: tensor {name} ends past the end of the file. Download it again.")
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        if (end - begin) != count * np.dtype(dtype).itemsize:
            raise CheckpointError(f"{self.path}: tensor {name} holds {end - begin} bytes, not what shape {info['shape']} in {info['dtype']} needs.")
        raw = np.memmap(self.path, dtype=dtype, mode="r", offset=self.offset + begin, shape=(count,))
        if info["dtype"] == "BF16":
            out = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            out = raw.astype(np.float32)
        return out.reshape(info["shape"])


def weight_files(folder: str) -> Dict[str, SafetensorsFile]:
    """Tensor name -> the file holding it, for a single or sharded checkpoint."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        files: Dict[str, SafetensorsFile] = {}
        for shard in sorted(set(weight_map.values())):
            path = os.path.join(folder, shard)
            if not os.path.isfile(path):
                raise CheckpointError(f"model.safetensors.index.json names the shard {shard}, which is missing from {folder}. Download the whole checkpoint.")
            files[shard] = SafetensorsFile(path)
        return {name: files[shard] for name, shard in weight_map.items()}
    singles = sorted(p for p in os.listdir(folder) if p.endswith(".safetensors"))
    if singles:
        out: Dict[str, SafetensorsFile] = {}
        for p in singles:
            st = SafetensorsFile(os.path.join(folder, p))
            out.update({n: st for n in st.names()})
        return out
    pickled = [p for p in os.listdir(folder) if p.endswith((".bin", ".pt", ".pth", ".ckpt"))]
    if pickled:
        raise CheckpointError(f"{folder} holds pickled weights ({', '.join(sorted(pickled))}), which can run code when loaded; the converter reads safetensors only. Convert them once with a trusted tool (transformers' save_pretrained(..., safe_serialization=True)), or download the .safetensors version.")
    raise CheckpointError(f"{folder} has no .safetensors weights.")


def expected_shapes(cfg: ModelConfig) -> Iterator[Tuple[str, Tuple[int, ...]]]:
    """HF tensor names and shapes for cfg (lm_head absent when tied)."""
    h, i, d = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q, kv = cfg.num_heads * d, cfg.num_kv_heads * d
    yield "model.embed_tokens.weight", (cfg.vocab_size, h)
    for n in range(cfg.num_layers):
        p = f"model.layers.{n}."
        yield p + "input_layernorm.weight", (h,)
        yield p + "post_attention_layernorm.weight", (h,)
        for name, out in (("q_proj", q), ("k_proj", kv), ("v_proj", kv)):
            yield p + f"self_attn.{name}.weight", (out, h)
            if cfg.qkv_bias:
                yield p + f"self_attn.{name}.bias", (out,)
        yield p + "self_attn.o_proj.weight", (h, q)
        if cfg.o_bias:
            yield p + "self_attn.o_proj.bias", (h,)
        for name, shape in (("gate_proj", (i, h)), ("up_proj", (i, h)), ("down_proj", (h, i))):
            yield p + f"mlp.{name}.weight", shape
            if cfg.mlp_bias:
                yield p + f"mlp.{name}.bias", (shape[0],)
    yield "model.norm.weight", (h,)
    if not cfg.tie_embeddings:
        yield "lm_head.weight", (cfg.vocab_size, h)


def our_name(hf_name: str) -> str:
    """HF parameter name -> LlamaLM's (the same modules without the `model.` prefix)."""
    return hf_name[len("model."):] if hf_name.startswith("model.") else hf_name


def load_checkpoint(folder: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> Tuple[LlamaLM, dict]:
    """The checkpoint as a LlamaLM (eval mode) and its raw config.json."""
    cfg, raw = read_config(folder)
    files = weight_files(folder)
    model = LlamaLM.empty(cfg, torch.device(device), dtype)
    params = dict(model.named_parameters())
    expected = dict(expected_shapes(cfg))
    # Tensors the config does not explain (q/k/v biases with attention_bias false, say) would be
    # silently dropped: refuse instead. A tied lm_head stored anyway, and RoPE buffers, are harmless.
    extra = sorted(n for n in files if n not in expected and not n.endswith("rotary_emb.inv_freq")
                   and not (n == "lm_head.weight" and cfg.tie_embeddings))
    if extra:
        raise CheckpointError(f"The checkpoint in {folder} has tensors its config.json does not explain ({', '.join(extra[:4])}{'...' if len(extra) > 4 else ''}): the config does not describe these weights (a bias flag or the architecture is wrong).")
    for name, shape in expected.items():
        if name not in files:
            raise CheckpointError(f"The checkpoint in {folder} has no tensor {name}, which a {raw['architectures'][0]} with this config.json needs. The download is incomplete or the config does not belong to these weights.")
        st = files[name]
        got = tuple(st.header[name]["shape"])
        if got != shape:
            raise CheckpointError(f"Tensor {name} in {os.path.basename(st.path)} has shape {list(got)}, but config.json implies {list(shape)}. The config does not belong to these weights.")
        with torch.no_grad():
            params[our_name(name)].copy_(torch.from_numpy(st.array(name)).to(device=device, dtype=dtype))
    return model.eval(), raw


def checkpoint_licence(folder: str, raw_config: dict) -> Optional[str]:
    """The licence the checkpoint states: its README's `license:` front matter, else a LICENSE file's first line."""
    readme = os.path.join(folder, "README.md")
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8", errors="replace") as f:
            text = f.read(20000)
        if text.startswith("---"):
            for line in text.split("---", 2)[1].splitlines():
                if line.strip().startswith("license:"):
                    return line.split(":", 1)[1].strip().strip("'\"")
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                first = next((l.strip() for l in f if l.strip()), "")
            return first[:120] or name
    return raw_config.get("license")
