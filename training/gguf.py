"""GGUF files for llama.cpp from our Llama-family modules: the same weights our ONNX pairs carry,
so the benchmark can put OverFill Code and llama.cpp side by side on one model.

Writes GGUF version 3 for llama.cpp's `llama` architecture: hyperparameters, the tokenizer
(byte-level BPE as `gpt2`, from the pair's tokenizer.json), and the tensors in F32, F16 or Q8_0.
RoPE scaling (linear, llama3) is written as llama.cpp's per-frequency `rope_freqs` factors.
Two things differ from our PyTorch layout:
  - llama.cpp's `llama` RoPE rotates adjacent pairs (x[2i], x[2i+1]); ours, like Hugging Face's,
    rotates halves (x[i], x[i + d/2]). The q and k projection rows (and biases) are reordered per
    head so the same rotation results, as llama.cpp's own converter does.
  - ggml lists dimensions innermost first: a torch weight [out, in] is a ggml tensor [in, out]
    with the same bytes.

    /usr/bin/python3 -m training.gguf --hf CHECKPOINT --out model.gguf [--type f32|f16|q8_0] [--pre qwen2]
for a Hugging Face Llama/Qwen2 checkpoint (the full model of a pair training.convert made from
it); the benchmark and the fixtures call write_llama_gguf on their modules directly.
"""
from __future__ import annotations

import argparse
import json
import os
import struct
from typing import Dict, List, Tuple

import numpy as np

from training.model import LlamaLM, ModelConfig, rope_inv_freq

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# gguf_type: the type of a metadata value
_UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY, _UINT64 = 4, 5, 6, 7, 8, 9, 10
# ggml_type: the type of a tensor's data
GGML_TYPES = {"f32": 0, "f16": 1, "q8_0": 8}
# llama_ftype, written as general.file_type
FILE_TYPES = {"f32": 0, "f16": 1, "q8_0": 7}
Q8_0_BLOCK = 32
# llama_token_type
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_UNUSED = 1, 3, 5


def _string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class Int32s(list):
    """A metadata array llama.cpp reads as int32 (token types), where a plain list would be uint32."""


def _value(v) -> Tuple[int, bytes]:
    """Encodes a metadata value; ints are uint32 unless negative, lists are typed by their first item."""
    if isinstance(v, Int32s):
        return _ARRAY, struct.pack("<IQ", _INT32, len(v)) + struct.pack(f"<{len(v)}i", *v)
    if isinstance(v, bool):
        return _BOOL, struct.pack("<?", v)
    if isinstance(v, int):
        return (_INT32, struct.pack("<i", v)) if v < 0 else (_UINT32, struct.pack("<I", v))
    if isinstance(v, float):
        return _FLOAT32, struct.pack("<f", v)
    if isinstance(v, str):
        return _STRING, _string(v)
    if isinstance(v, list):
        item_type = _value(v[0])[0] if v else _UINT32
        body = b"".join(_value(x)[1] for x in v)
        return _ARRAY, struct.pack("<IQ", item_type, len(v)) + body
    raise TypeError(f"unsupported GGUF metadata value {v!r}")


def quantize_q8_0(x: np.ndarray) -> bytes:
    """ggml's Q8_0: blocks of 32 along the innermost axis, each an f16 scale (max |x| / 127) and
    32 int8 values round(x / scale)."""
    rows = x.astype(np.float32).reshape(-1, Q8_0_BLOCK)
    scale = np.abs(rows).max(axis=1) / 127.0
    inv = np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)
    q = np.round(rows * inv[:, None]).astype(np.int8)
    out = np.empty((rows.shape[0], 2 + Q8_0_BLOCK), dtype=np.uint8)
    out[:, :2] = scale.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def dequantize_q8_0(data: bytes, shape: Tuple[int, ...]) -> np.ndarray:
    """The inverse, for tests: what llama.cpp computes with."""
    blocks = np.frombuffer(data, dtype=np.uint8).reshape(-1, 2 + Q8_0_BLOCK)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * scale).reshape(shape)


class GgufWriter:
    def __init__(self) -> None:
        self.meta: List[Tuple[str, object]] = []
        self.tensors: List[Tuple[str, Tuple[int, ...], int, bytes]] = []

    def add(self, key: str, value) -> None:
        self.meta.append((key, value))

    def add_tensor(self, name: str, array: np.ndarray, kind: str) -> None:
        """array in torch order (outermost first); kind f32 / f16 / q8_0 (1-D tensors stay f32)."""
        if array.ndim == 1 or (kind == "q8_0" and array.shape[-1] % Q8_0_BLOCK):
            kind = "f32"
        if kind == "q8_0":
            data = quantize_q8_0(array)
        else:
            data = np.ascontiguousarray(array, dtype=np.float16 if kind == "f16" else np.float32).tobytes()
        self.tensors.append((name, tuple(reversed(array.shape)), GGML_TYPES[kind], data))

    def write(self, path: str) -> None:
        head = GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.meta))
        for key, value in self.meta:
            kind, body = _value(value)
            head += _string(key) + struct.pack("<I", kind) + body
        offset = 0
        infos = b""
        for name, dims, kind, data in self.tensors:
            infos += _string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
            infos += struct.pack("<IQ", kind, offset)
            offset += _padded(len(data))
        with open(path, "wb") as f:
            f.write(head + infos)
            f.write(b"\0" * (_padded(f.tell()) - f.tell()))
            for _, _, _, data in self.tensors:
                f.write(data)
                f.write(b"\0" * (_padded(len(data)) - len(data)))


def _padded(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def rope_pairs_order(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorders q/k projection rows (or bias entries) per head from halves to adjacent pairs:
    row i of the first half and row i of the second half become rows 2i and 2i+1."""
    head_dim = w.shape[0] // n_heads
    return w.reshape(n_heads, 2, head_dim // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tokenizer_metadata(tokenizer_json: str, vocab_size: int, pre: str) -> Dict[str, object]:
    """tokenizer.json (byte-level BPE) as llama.cpp's `gpt2` tokenizer; rows past the vocabulary
    (padding up to the embedding's size) become unused tokens."""
    with open(tokenizer_json, encoding="utf-8") as f:
        tok = json.load(f)
    model = tok["model"]
    if model.get("type") != "BPE":
        raise ValueError(f"{tokenizer_json}: a {model.get('type')} tokenizer; the GGUF writer handles byte-level BPE")
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [TOKEN_UNUSED] * vocab_size
    for text, i in model["vocab"].items():
        if i < vocab_size:
            tokens[i], types[i] = text, TOKEN_NORMAL
    specials = {}
    for added in tok.get("added_tokens", []):
        i = added["id"]
        if i < vocab_size:
            tokens[i] = added["content"]
            types[i] = TOKEN_CONTROL if added.get("special") else TOKEN_NORMAL
            specials[added["content"]] = i
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    eos = next((specials[t] for t in ("<|endoftext|>", "<|im_end|>", "</s>") if t in specials), 0)
    meta: Dict[str, object] = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": pre,
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": Int32s(types),
        "tokenizer.ggml.merges": merges,
        "tokenizer.ggml.bos_token_id": eos,
        "tokenizer.ggml.eos_token_id": eos,
        "tokenizer.ggml.add_bos_token": False,
    }
    fim = {"tokenizer.ggml.fim_pre_token_id": ("<fim_prefix>", "<|fim_prefix|>"), "tokenizer.ggml.fim_suf_token_id": ("<fim_suffix>", "<|fim_suffix|>"),
           "tokenizer.ggml.fim_mid_token_id": ("<fim_middle>", "<|fim_middle|>")}
    for key, names in fim.items():
        found = [specials[n] for n in names if n in specials]
        if found:
            meta[key] = found[0]
    return meta


def write_llama_gguf(model: LlamaLM, tokenizer_json: str, out: str, kind: str = "f32", name: str = "overfill", pre: str = "default") -> str:
    """model's weights as a llama.cpp `llama` GGUF at `out` (f32, f16 or q8_0 matrices)."""
    cfg: ModelConfig = model.cfg
    sd = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    w = GgufWriter()
    w.add("general.architecture", "llama")
    w.add("general.name", name)
    w.add("general.alignment", ALIGNMENT)
    w.add("general.file_type", FILE_TYPES[kind])
    w.add("llama.vocab_size", cfg.vocab_size)
    w.add("llama.context_length", cfg.max_position)
    w.add("llama.embedding_length", cfg.hidden_size)
    w.add("llama.block_count", cfg.num_layers)
    w.add("llama.feed_forward_length", cfg.intermediate_size)
    w.add("llama.attention.head_count", cfg.num_heads)
    w.add("llama.attention.head_count_kv", cfg.num_kv_heads)
    # A pruned decoder's heads are not hidden / heads wide: say so.
    w.add("llama.attention.key_length", cfg.head_dim)
    w.add("llama.attention.value_length", cfg.head_dim)
    w.add("llama.rope.dimension_count", cfg.head_dim)
    w.add("llama.rope.freq_base", float(cfg.rope_theta))
    w.add("llama.attention.layer_norm_rms_epsilon", float(cfg.rms_eps))
    for key, value in tokenizer_metadata(tokenizer_json, cfg.vocab_size, pre).items():
        w.add(key, value)

    w.add_tensor("token_embd.weight", sd["embed_tokens.weight"], kind)
    if cfg.rope_scaling:
        # llama.cpp divides each RoPE frequency by rope_freqs[i]: the default frequencies over
        # the scaled ones (rope_inv_freq) express linear and llama3 scaling alike.
        default = 1.0 / (cfg.rope_theta ** (np.arange(0, cfg.head_dim, 2, dtype=np.float32) / cfg.head_dim))
        w.add_tensor("rope_freqs.weight", (default / rope_inv_freq(cfg).numpy()).astype(np.float32), "f32")
    for i in range(cfg.num_layers):
        p = f"layers.{i}."
        b = f"blk.{i}."
        w.add_tensor(b + "attn_norm.weight", sd[p + "input_layernorm.weight"], "f32")
        w.add_tensor(b + "attn_q.weight", rope_pairs_order(sd[p + "self_attn.q_proj.weight"], cfg.num_heads), kind)
        w.add_tensor(b + "attn_k.weight", rope_pairs_order(sd[p + "self_attn.k_proj.weight"], cfg.num_kv_heads), kind)
        w.add_tensor(b + "attn_v.weight", sd[p + "self_attn.v_proj.weight"], kind)
        w.add_tensor(b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"], kind)
        if cfg.qkv_bias:
            w.add_tensor(b + "attn_q.bias", rope_pairs_order(sd[p + "self_attn.q_proj.bias"], cfg.num_heads), "f32")
            w.add_tensor(b + "attn_k.bias", rope_pairs_order(sd[p + "self_attn.k_proj.bias"], cfg.num_kv_heads), "f32")
            w.add_tensor(b + "attn_v.bias", sd[p + "self_attn.v_proj.bias"], "f32")
        if cfg.o_bias:
            w.add_tensor(b + "attn_output.bias", sd[p + "self_attn.o_proj.bias"], "f32")
        w.add_tensor(b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"], "f32")
        w.add_tensor(b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"], kind)
        w.add_tensor(b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"], kind)
        w.add_tensor(b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"], kind)
        if cfg.mlp_bias:
            for ours, theirs in (("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"), ("down_proj", "ffn_down")):
                w.add_tensor(b + theirs + ".bias", sd[p + f"mlp.{ours}.bias"], "f32")
    w.add_tensor("output_norm.weight", sd["norm.weight"], "f32")
    if not cfg.tie_embeddings:
        w.add_tensor("output.weight", sd["lm_head.weight"], kind)
    w.write(out)
    return out


def main() -> None:
    from training.convert.checkpoint import load_checkpoint
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf", required=True, help="Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", choices=sorted(GGML_TYPES), default="f32")
    ap.add_argument("--pre", default="default", help="llama.cpp's pre-tokenizer name (qwen2 for Qwen's tokenizer, llama-bpe for Llama 3's)")
    a = ap.parse_args()
    model, _ = load_checkpoint(a.hf)
    print(write_llama_gguf(model.eval(), os.path.join(a.hf, "tokenizer.json"), a.out, a.type, os.path.basename(os.path.abspath(a.hf)), a.pre))


if __name__ == "__main__":
    main()
