"""Llama-family causal LM (RMSNorm, RoPE, GQA, SwiGLU) written for ONNX export.

The forward pass takes and returns the KV cache explicitly so the same module serves
prefill, decode steps, OverFill training (decoder reading the full model's cache) and export.
Shapes: past/present K and V are [batch, n_kv_heads, seq, head_dim].

    /usr/bin/python3 -c "from training.model import *"   # imported by the other tools
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

KV = List[Tuple[torch.Tensor, ...]]

# int8 KV cache (manifest kv.dtype "int8"): each new key and value row (one KV head, one position)
# is stored as int8 with its own float32 scale, so a position's stored values never depend on
# which other positions share its run. Keys are kept as uint8 = int8 + 128 (the uint8 operand of
# MatMulInteger), values as int8. See docs/model-format.md.
KV_INT8_OFFSET = 128
# A decode step quantizes its query rows to 7 bits and its probability rows to 0..127: on AVX2
# CPUs without VNNI, onnxruntime's uint8 x int8 kernels add pairs of products in int16, and
# 255 * 63 * 2 and 127 * 127 * 2 are the largest sums that cannot overflow it.
KV_INT8_Q_LEVELS = 63.0
KV_INT8_P_LEVELS = 127.0
KV_INT8_TINY = 1e-30  # a scale floor: an all-zero row quantizes to zeros, not to NaN


@dataclass
class ModelConfig:
    vocab_size: int = 2048        # byte-level BPE vocabulary incl. special tokens
    hidden_size: int = 128        # model width; pruning shrinks it for the decoder
    intermediate_size: int = 384  # SwiGLU width; pruning shrinks it for the decoder
    num_layers: int = 4           # kept by pruning (the decoder reads every layer's KV)
    num_heads: int = 4            # query heads, kept by pruning
    num_kv_heads: int = 2         # GQA KV heads, kept by pruning
    head_dim: int = 32            # kept by pruning: KV tensors stay the same shape
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    max_position: int = 2048      # context limit written to the manifest
    tie_embeddings: bool = False
    qkv_bias: bool = False        # q/k/v projections with bias (Qwen2; Llama's attention_bias)
    o_bias: bool = False          # o_proj with bias (Llama's attention_bias)
    mlp_bias: bool = False        # gate/up/down with bias (Llama's mlp_bias)
    rope_scaling: Optional[dict] = None  # HF rope_scaling: linear or llama3 (see rope_inv_freq)

    def to_hf(self) -> dict:
        """An HF LlamaConfig-style dict, so standard tools can read the checkpoint."""
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "rope_theta": self.rope_theta,
            "rms_norm_eps": self.rms_eps,
            "max_position_embeddings": self.max_position,
            "tie_word_embeddings": self.tie_embeddings,
            "hidden_act": "silu",
            "torch_dtype": "float32",
        }

    @staticmethod
    def from_json(path: str) -> "ModelConfig":
        with open(path) as f:
            d = json.load(f)
        if "model_type" in d:  # HF-style config
            return ModelConfig(
                vocab_size=d["vocab_size"], hidden_size=d["hidden_size"],
                intermediate_size=d["intermediate_size"], num_layers=d["num_hidden_layers"],
                num_heads=d["num_attention_heads"],
                num_kv_heads=d.get("num_key_value_heads", d["num_attention_heads"]),
                head_dim=d.get("head_dim") or d["hidden_size"] // d["num_attention_heads"],
                rope_theta=d.get("rope_theta", 10000.0), rms_eps=d.get("rms_norm_eps", 1e-5),
                max_position=d.get("max_position_embeddings", 2048),
                tie_embeddings=d.get("tie_word_embeddings", False))
        return ModelConfig(**d)

    def as_dict(self) -> dict:
        return asdict(self)


def rope_inv_freq(cfg: ModelConfig) -> torch.Tensor:
    """RoPE's inverse frequencies [head_dim / 2], with HF's rope_scaling applied:
    linear divides every frequency by `factor` (positions / factor); llama3 divides only the low
    frequencies (wavelengths above original_max / low_freq_factor), keeps the high ones (below
    original_max / high_freq_factor) and blends those in between."""
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2).float() / d))  # float32, as HF computes it
    sc = cfg.rope_scaling
    kind = (sc or {}).get("rope_type", (sc or {}).get("type", "default"))
    if kind == "linear":
        inv = inv / sc["factor"]
    elif kind == "llama3":
        factor, low, high = sc["factor"], sc.get("low_freq_factor", 1.0), sc.get("high_freq_factor", 4.0)
        orig = sc["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        smooth = (orig / wavelen - low) / (high - low)
        blended = (1 - smooth) * inv / factor + smooth * inv
        inv = torch.where(wavelen > orig / low, inv / factor, torch.where(wavelen < orig / high, inv, blended))
    else:
        assert kind == "default", f"rope_scaling {kind!r} is not supported"
    return inv


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor, half: int) -> torch.Tensor:
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class ContribRotary(torch.autograd.Function):
    """RoPE on [b, s, n*d] that exports as one onnxruntime com.microsoft RotaryEmbedding node
    (non-interleaved halves, as rotate_half) instead of ~7 nodes per tensor. Forward is the
    reference computation, so PyTorch and the exported graph compute the same thing."""

    @staticmethod
    def forward(ctx, x, position_ids, cos_cache, sin_cache, num_heads: int):
        b, s, _ = x.shape
        d = cos_cache.shape[1] * 2
        cos = torch.cat([cos_cache[position_ids]] * 2, dim=-1)[:, :, None]  # [b, s, 1, d]
        sin = torch.cat([sin_cache[position_ids]] * 2, dim=-1)[:, :, None]
        xh = x.reshape(b, s, num_heads, d)
        return (xh * cos + rotate_half(xh, d // 2) * sin).reshape(b, s, num_heads * d)

    @staticmethod
    def symbolic(g, x, position_ids, cos_cache, sin_cache, num_heads: int):
        out = g.op("com.microsoft::RotaryEmbedding", x, position_ids, cos_cache, sin_cache,
                   interleaved_i=0, num_heads_i=num_heads)
        out.setType(x.type())  # same shape and type as the input
        return out


def static_attention(qg, k, v, kp, vp, mask):
    """Attention over a past buffer and the new positions without joining them: scores against
    each, one softmax over both, weighted sums added. qg [b, KV, g*s, d] (already scaled), k/v
    [b, KV, s, d] new, kp/vp [b, KV, p, d] past, mask [b, 1, g*s, p+s] additive -> [b, KV, g*s, d]."""
    p = kp.shape[2]
    att = torch.cat([torch.matmul(qg, kp.transpose(2, 3)), torch.matmul(qg, k.transpose(2, 3))], dim=-1)
    att = torch.softmax(att + mask, dim=-1)                                           # [b, KV, g*s, p+s]
    return torch.matmul(att[..., :p], vp) + torch.matmul(att[..., p:], v)


def _row_scale(magnitude: torch.Tensor, levels: float) -> torch.Tensor:
    """One scale per row (last axis): its largest magnitude maps to `levels`."""
    return magnitude.amax(-1, keepdim=True).clamp_min(KV_INT8_TINY) / levels


def quantize_kv_rows(x: torch.Tensor):
    """x [b, KV, s, d] -> (integers in [-127, 127] as float, scale [b, KV, 1, s]): one scale per row."""
    scale = _row_scale(x.abs(), 127.0)
    return torch.round(x / scale), scale.transpose(2, 3)


def int8_attention(qg, kq, vq, ks, vs, mask, decode: bool):
    """Attention over an int8 KV cache, as the exported graphs compute it (static_attention.py).
    qg [b, KV, g*s, d] scaled queries; kq/vq [b, KV, T, d] the stored integers (keys without their
    +128 offset) as float; ks/vs [b, KV, 1, T] their scales; mask [b, 1, g*s, T] additive.

    prefill (many new tokens): float queries against the integer keys, each score scaled by its
        key's scale; probabilities times value scales against the integer values.
    decode (one new token): the same, but queries and probabilities are quantized per row too,
        so both products run as integer matmuls (MatMulInteger) that read the int8 cache as it is:
        no float copy of it per step. float64 here only keeps the integer sums exact."""
    if decode:
        qs = _row_scale(qg.abs(), KV_INT8_Q_LEVELS)
        qi = torch.round(qg / qs)
        scores = torch.matmul(qi.double(), kq.double().transpose(2, 3)).float() * qs * ks
    else:
        scores = torch.matmul(qg, kq.transpose(2, 3)) * ks
    pv = torch.softmax(scores + mask, dim=-1) * vs
    if not decode:
        return torch.matmul(pv, vq)
    ps = _row_scale(pv, KV_INT8_P_LEVELS)  # pv >= 0
    return torch.matmul(torch.round(pv / ps).double(), vq.double()).float() * ps


def _int8_static_reference(qg, k, v, ks, vs, kp, vp, kps, vps, mask):
    """The int8 placeholder's meaning: past and new joined, decode math for one new token."""
    decode = k.shape[2] == 1
    kq = torch.cat([kp, k], dim=2).float() - KV_INT8_OFFSET
    vq = torch.cat([vp, v], dim=2).float()
    return int8_attention(qg, kq, vq, torch.cat([kps, ks], -1), torch.cat([vps, vs], -1), mask, decode)


class StaticAttentionInt8(torch.autograd.Function):
    """The int8-cache form of StaticAttention (below): the same placeholder op with ten inputs
    (queries, new and past keys, values and their scales, mask), expanded by static_attention.py."""

    @staticmethod
    def forward(ctx, qg, k, v, ks, vs, kp, vp, kps, vps, mask):
        return _int8_static_reference(qg, k, v, ks, vs, kp, vp, kps, vps, mask)

    @staticmethod
    def symbolic(g, qg, k, v, ks, vs, kp, vp, kps, vps, mask):
        out = g.op("com.overfill::StaticAttention", qg, k, v, ks, vs, kp, vp, kps, vps, mask)
        out.setType(qg.type())
        return out


class StaticAttention(torch.autograd.Function):
    """static_attention that exports as one placeholder node, com.overfill::StaticAttention, which
    training/static_attention.py expands into an If: a decode step (one new token) keeps the past
    apart, as above, so no step copies the cache; a prefill chunk joins past and new K/V first,
    which copies only the small K/V and spares several passes over its large score matrix."""

    @staticmethod
    def forward(ctx, qg, k, v, kp, vp, mask):
        return static_attention(qg, k, v, kp, vp, mask)

    @staticmethod
    def symbolic(g, qg, k, v, kp, vp, mask):
        out = g.op("com.overfill::StaticAttention", qg, k, v, kp, vp, mask)
        out.setType(qg.type())  # [b, KV, g*s, d], like the grouped queries
        return out


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_kv_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_kv_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.num_heads * cfg.head_dim, cfg.hidden_size, bias=cfg.o_bias)
        self.fixed_batch = False  # set by export_mode()
        self.sdpa = False         # set by use_sdpa(): torch 2.x fused attention (training only)
        self.kv_half = False      # set by kv_precision(): K/V stored as float16
        self.kv_int8 = False      # set by kv_precision(): K/V stored as int8 with per-row scales

    def forward(self, x, rope, mask, past: Optional[Tuple[torch.Tensor, torch.Tensor]], static: bool = False):
        """rope: (cos, sin) [b, 1, s, d], or in exported graphs (position_ids, cos_cache, sin_cache)
        for ContribRotary. mask [b, 1, g*s, p+s] additive, already repeated for the g query heads per KV head.
        past (k, v) [b, KV, p, d].

        hf:     present = past + new, [b, KV, p+s, d].
        static: past is a preallocated buffer (unused slots masked out) that is never copied or
                concatenated: attention runs over it and over the new positions separately, and
                present holds only the new positions [b, KV, s, d] for the engine to store.
        """
        c = self.cfg
        # Exported graphs have batch 1 and constant reshape targets: no shape arithmetic per
        # layer (it was half of the decoder's ~1000 nodes and a real share of a decode step).
        b, s = (1, -1) if self.fixed_batch else x.shape[:2]
        g = c.num_heads // c.num_kv_heads
        gs = -1 if self.fixed_batch else g * s
        q, k = self.q_proj(x), self.k_proj(x)
        if self.fixed_batch:
            q = ContribRotary.apply(q, *rope, c.num_heads)
            k = ContribRotary.apply(k, *rope, c.num_kv_heads)
        q = q.view(b, s, c.num_heads, c.head_dim).transpose(1, 2)       # [b, H, s, d]
        k = k.view(b, s, c.num_kv_heads, c.head_dim).transpose(1, 2)    # [b, KV, s, d]
        v = self.v_proj(x).view(b, s, c.num_kv_heads, c.head_dim).transpose(1, 2)
        if not self.fixed_batch:
            cos, sin = rope
            half = c.head_dim // 2
            q = q * cos + rotate_half(q, half) * sin
            k = k * cos + rotate_half(k, half) * sin
        if self.kv_half:
            # The cache holds float16 (half the memory). New K/V are rounded
            # here, before attention, so a position sees the same values whether its neighbours
            # arrive in the same run or from the cache: chunked and cached runs stay identical.
            k, v = k.half(), v.half()
            if past is not None and past[0].dtype != torch.float16:
                past = (past[0].half(), past[1].half())
        # GQA without copying KV per query head: the g query heads sharing a KV head become
        # g*s rows of one matmul against that KV head. Head h uses KV head h // g.
        qr = q.reshape(b, c.num_kv_heads, gs, c.head_dim)
        qg = qr * (1.0 / math.sqrt(c.head_dim))
        if self.kv_int8:
            y, present = self._int8(qg, k, v, past, mask, static)
        elif static:
            present = (k, v)
            kp, vp = past if past is not None else (k[:, :, :0], v[:, :, :0])
            if self.kv_half:  # attention itself runs in float32
                k, v, kp, vp = k.float(), v.float(), kp.float(), vp.float()
            core = StaticAttention.apply if self.fixed_batch else static_attention
            y = core(qg, k, v, kp, vp, mask)
        else:
            if past is not None:
                k = torch.cat([past[0], k], dim=2)                                    # [b, KV, p+s, d]
                v = torch.cat([past[1], v], dim=2)
            present = (k, v)
            if self.kv_half:
                k, v = k.float(), v.float()
            if self.sdpa:  # one fused kernel (flash / memory-efficient) instead of the score matrix
                y = F.scaled_dot_product_attention(qr, k, v, attn_mask=mask.to(qr.dtype))
            else:
                att = torch.softmax(torch.matmul(qg, k.transpose(2, 3)) + mask, dim=-1)
                y = torch.matmul(att, v)                                              # [b, KV, g*s, d]
        y = y.reshape(b, c.num_heads, s, c.head_dim).transpose(1, 2).reshape(b, s, c.num_heads * c.head_dim)
        return self.o_proj(y), present

    def _int8(self, qg, k, v, past, mask, static: bool):
        """int8 cache: past and present are (keys uint8, values int8, key scales, value scales)."""
        kq, ks = quantize_kv_rows(k)
        vq, vs = quantize_kv_rows(v)
        k8, v8 = (kq + KV_INT8_OFFSET).to(torch.uint8), vq.to(torch.int8)
        if past is None:
            past = (k8[:, :, :0], v8[:, :, :0], ks[..., :0], vs[..., :0])
        if static and self.fixed_batch:
            return StaticAttentionInt8.apply(qg, k8, v8, ks, vs, *past, mask), (k8, v8, ks, vs)
        y = _int8_static_reference(qg, k8, v8, ks, vs, *past, mask)
        if static:  # only the new positions, for the caller's buffer
            return y, (k8, v8, ks, vs)
        return y, (torch.cat([past[0], k8], 2), torch.cat([past[1], v8], 2), torch.cat([past[2], ks], -1), torch.cat([past[3], vs], -1))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=cfg.mlp_bias)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=cfg.mlp_bias)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=cfg.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, rope, mask, past, static: bool = False):
        a, present = self.self_attn(self.input_layernorm(x), rope, mask, past, static)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class LlamaLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        assert cfg.num_heads % cfg.num_kv_heads == 0, "query heads must be a multiple of KV heads"
        assert cfg.head_dim % 2 == 0, "RoPE needs an even head_dim"
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.num_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)
        self.checkpointing = False  # set by training: recompute each block in backward (activation checkpointing)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                position_ids: torch.Tensor, past: Optional[KV] = None,
                last_only: bool = True, static: bool = False, attn_bias: Optional[torch.Tensor] = None,
                hidden_only: bool = False):
        """input_ids/position_ids [b, s]; attention_mask [b, p+s] (1 = attend); past: per layer (k, v).
        attn_bias: an additive [s, p+s] mask used instead of the causal one (OverFill training
        cuts a sequence at many points at once, see training/train.py block_cut_bias).

        Returns logits ([b, 1, V] when last_only, else [b, s, V]) and the per-layer present KV:
        [b, KV, p+s, d], or with `static` only the new positions [b, KV, s, d] (see Attention).
        hidden_only returns the final norm's output [b, s, h] instead of logits, for losses that
        apply lm_head in chunks (a 150k vocabulary's logits for a whole batch do not fit).
        """
        x = self.embed_tokens(input_ids)                                          # [b, s, h]
        if self.layers[0].self_attn.fixed_batch:
            # Exported (batch 1): cos/sin rows for this call's positions only, computed once for
            # all layers; row i is position_ids[0, i]. A table for every position would add
            # max_position x head_dim floats to each graph.
            freqs = position_ids[0][:, None].float() * self.inv_freq[None, :]     # [s, d/2]
            rows = torch.arange(input_ids.shape[1], device=x.device)[None]        # [1, s]
            rope = (rows, freqs.cos(), freqs.sin())
        else:
            freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]   # [b, s, d/2]
            emb = torch.cat([freqs, freqs], dim=-1)[:, None]                          # [b, 1, s, d]
            rope = (emb.cos(), emb.sin())
        s = input_ids.shape[1]
        if attn_bias is not None:
            mask = attn_bias.to(x.dtype)[None, None]
        else:
            mask = self.causal_bias(attention_mask, s, x)
        mask = mask.repeat(1, 1, self.cfg.num_heads // self.cfg.num_kv_heads, 1)  # rows (g, s), as in Attention
        presents = []
        for i, layer in enumerate(self.layers):
            layer_past = past[i] if past is not None else None
            if self.checkpointing and self.training and torch.is_grad_enabled():
                x, present = torch.utils.checkpoint.checkpoint(layer, x, rope, mask, layer_past, static, use_reentrant=False)
            else:
                x, present = layer(x, rope, mask, layer_past, static)
            presents.append(present)
        if hidden_only:
            return self.norm(x), presents
        if last_only:
            x = x[:, -1:, :]
        return self.lm_head(self.norm(x)), presents

    @staticmethod
    def causal_bias(attention_mask: torch.Tensor, s: int, x: torch.Tensor) -> torch.Tensor:
        """[b, 1, s, p+s] additive mask: causal over the slots, padding (0 in attention_mask) hidden."""
        total = attention_mask.shape[1]
        # query i sits at absolute slot total - s + i and may see keys at slots <= its own
        q_slot = torch.arange(s, device=x.device)[:, None] + (total - s)
        k_slot = torch.arange(total, device=x.device)[None, :]
        allowed = (k_slot <= q_slot)[None, None] & (attention_mask[:, None, None, :] > 0)
        return torch.zeros(allowed.shape, dtype=x.dtype, device=x.device).masked_fill(~allowed, -1e9)

    def export_mode(self, on: bool = True) -> "LlamaLM":
        """Batch-1 graphs with constant reshape targets (the engine always runs batch 1)."""
        for layer in self.layers:
            layer.self_attn.fixed_batch = on
        return self

    def use_sdpa(self, on: bool = True) -> "LlamaLM":
        """torch 2.x scaled_dot_product_attention in the plain (training) attention path."""
        on = on and hasattr(F, "scaled_dot_product_attention")
        for layer in self.layers:
            layer.self_attn.sdpa = on
        return self

    def kv_precision(self, dtype: str) -> "LlamaLM":
        """The KV cache's element type (manifest kv.dtype): "float32", "float16" or "int8".
        Inference and export only."""
        assert dtype in ("float32", "float16", "int8"), dtype
        for layer in self.layers:
            layer.self_attn.kv_half = dtype == "float16"
            layer.self_attn.kv_int8 = dtype == "int8"
        return self

    def _apply(self, fn, *args, **kwargs):
        """Module.to/.half/.to_empty also convert buffers: RoPE's frequencies stay float32 (a bf16
        copy is off by ~0.2%, a phase error that grows with position) and are recomputed where
        the model now lives (to_empty leaves them uninitialized)."""
        super()._apply(fn, *args, **kwargs)
        self.inv_freq = rope_inv_freq(self.cfg).to(self.inv_freq.device)
        return self

    @staticmethod
    def empty(cfg: ModelConfig, device, dtype: torch.dtype = torch.float32) -> "LlamaLM":
        """An uninitialized model for weights about to be copied in: on torch >= 2.3 built on the
        meta device, so a multi-billion-parameter model is never initialized in float32 on the CPU."""
        if hasattr(torch, "get_default_device"):
            with torch.device("meta"):
                model = LlamaLM(cfg)
            model = model.to(dtype).to_empty(device=device)
            if cfg.tie_embeddings:
                model.lm_head.weight = model.embed_tokens.weight
            return model
        return LlamaLM(cfg).to(device=device, dtype=dtype)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def empty_past(cfg: ModelConfig, batch: int = 1, kv_dtype: str = "float32") -> KV:
    z = torch.zeros(batch, cfg.num_kv_heads, 0, cfg.head_dim)
    if kv_dtype == "int8":
        scale = torch.zeros(batch, cfg.num_kv_heads, 1, 0)
        return [(z.to(torch.uint8), z.to(torch.int8), scale, scale) for _ in range(cfg.num_layers)]
    return [(z, z) for _ in range(cfg.num_layers)]


def init_random(model: LlamaLM, seed: int, std: float = 0.02) -> None:
    """Deterministic random init (fixtures and the start of training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight") or name == "norm.weight":
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * std)
