"""An independent float64 forward pass of LlamaForCausalLM / Qwen2ForCausalLM in numpy, written
from the published architecture (not from training/model.py), reading the checkpoint's
safetensors and config.json itself. The conversion tests compare against it."""
from __future__ import annotations

import json
import math
import os
from typing import Dict, List

import numpy as np


def read_safetensors(folder: str) -> Dict[str, np.ndarray]:
    out = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
            body = f.read()
        for key, info in header.items():
            if key == "__metadata__":
                continue
            b, e = info["data_offsets"]
            raw = body[b:e]
            if info["dtype"] == "BF16":
                arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                arr = np.frombuffer(raw, {"F16": np.float16, "F32": np.float32}[info["dtype"]])
            out[key] = arr.astype(np.float64).reshape(info["shape"])
    return out


class NumpyLlama:
    def __init__(self, folder: str):
        with open(os.path.join(folder, "config.json")) as f:
            self.c = json.load(f)
        self.w = read_safetensors(folder)
        c = self.c
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.d = c.get("head_dim") or c["hidden_size"] // self.heads
        self.qwen = c["architectures"][0] == "Qwen2ForCausalLM"
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (np.arange(0, self.d, 2, dtype=np.float64) / self.d))
        rs = c.get("rope_scaling")
        if rs:
            kind = rs.get("rope_type", rs.get("type"))
            if kind == "linear":
                inv = inv / rs["factor"]
            elif kind == "llama3":
                orig, f = rs["original_max_position_embeddings"], rs["factor"]
                lo, hi = orig / rs["low_freq_factor"], orig / rs["high_freq_factor"]
                new = []
                for fr in inv:
                    wl = 2 * math.pi / fr
                    if wl < hi:
                        new.append(fr)
                    elif wl > lo:
                        new.append(fr / f)
                    else:
                        s = (orig / wl - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
                        new.append((1 - s) * fr / f + s * fr)
                inv = np.array(new)
        self.inv = inv

    def _lin(self, x, name):
        y = x @ self.w[name + ".weight"].T
        return y + self.w[name + ".bias"] if name + ".bias" in self.w else y

    def _norm(self, x, name):
        eps = self.c.get("rms_norm_eps", 1e-6)
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * self.w[name]

    def _rope(self, x, pos):  # x [heads, s, d]: rotate the two halves
        ang = pos[:, None] * self.inv[None, :]
        cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
        half = self.d // 2
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def logits(self, ids: List[int]) -> np.ndarray:
        """[len(ids), vocab] logits for every position."""
        s = len(ids)
        x = self.w["model.embed_tokens.weight"][ids]
        pos = np.arange(s, dtype=np.float64)
        causal = np.triu(np.full((s, s), -np.inf), 1)
        for i in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = self._norm(x, p + "input_layernorm.weight")
            q = self._lin(h, p + "self_attn.q_proj").reshape(s, self.heads, self.d).transpose(1, 0, 2)
            k = self._lin(h, p + "self_attn.k_proj").reshape(s, self.kv_heads, self.d).transpose(1, 0, 2)
            v = self._lin(h, p + "self_attn.v_proj").reshape(s, self.kv_heads, self.d).transpose(1, 0, 2)
            q, k = self._rope(q, pos), self._rope(k, pos)
            rep = self.heads // self.kv_heads
            k, v = np.repeat(k, rep, 0), np.repeat(v, rep, 0)
            att = q @ k.transpose(0, 2, 1) / math.sqrt(self.d) + causal
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            y = (att @ v).transpose(1, 0, 2).reshape(s, self.heads * self.d)
            x = x + self._lin(y, p + "self_attn.o_proj")
            h = self._norm(x, p + "post_attention_layernorm.weight")
            g = self._lin(h, p + "mlp.gate_proj")
            x = x + self._lin(g / (1 + np.exp(-g)) * self._lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = self._norm(x, "model.norm.weight")
        head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])
        return x @ head.T

    def greedy(self, ids: List[int], n: int, allowed: int) -> List[int]:
        """n greedy ids, never choosing an id >= allowed (ids the tokenizer does not have)."""
        out = list(ids)
        new = []
        for _ in range(n):
            nxt = int(np.argmax(self.logits(out)[-1][:allowed]))
            new.append(nxt)
            out.append(nxt)
        return new
