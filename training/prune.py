"""Minitron-style width pruning: make the OverFill decoder from the full model.

Importance comes from activations on calibration tokens: a hidden channel scores the mean
|activation| of every RMSNorm output that feeds a projection (summed over layers); an MLP
channel scores the mean |input of down_proj|. Depth, query heads, KV heads and head_dim are
kept, so k_proj/v_proj still produce the full model's KV shape and the decoder can read its
cache unchanged ("kv_identity").

Used as a library (make_fixtures.py now; the training pipeline later).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Dict

import torch

from .model import LlamaLM


@torch.no_grad()
def activation_importance(model: LlamaLM, calib_ids: torch.Tensor) -> Dict[str, torch.Tensor]:
    """calib_ids [n, s]. Returns 'hidden' [h] and 'mlp.{i}' [intermediate] scores."""
    cfg = model.cfg
    hidden = torch.zeros(cfg.hidden_size)
    mlp = [torch.zeros(cfg.intermediate_size) for _ in range(cfg.num_layers)]
    hooks = []

    def on_norm(_m, _inp, out):
        hidden.add_(out.abs().mean(dim=(0, 1)))

    def on_down(i):
        def hook(_m, inp):
            mlp[i].add_(inp[0].abs().mean(dim=(0, 1)))
        return hook

    for i, layer in enumerate(model.layers):
        hooks.append(layer.input_layernorm.register_forward_hook(on_norm))
        hooks.append(layer.post_attention_layernorm.register_forward_hook(on_norm))
        hooks.append(layer.mlp.down_proj.register_forward_pre_hook(on_down(i)))
    hooks.append(model.norm.register_forward_hook(on_norm))
    try:
        n, s = calib_ids.shape
        mask = torch.ones(n, s, dtype=torch.long)
        pos = torch.arange(s)[None].expand(n, s)
        model(calib_ids, mask, pos, None, last_only=False)
    finally:
        for h in hooks:
            h.remove()
    out = {"hidden": hidden}
    out.update({f"mlp.{i}": m for i, m in enumerate(mlp)})
    return out


def top_channels(score: torch.Tensor, keep: int) -> torch.Tensor:
    return torch.sort(torch.topk(score, keep).indices).values


@torch.no_grad()
def prune_width(model: LlamaLM, importance: Dict[str, torch.Tensor], hidden_keep: int,
                intermediate_keep: int) -> LlamaLM:
    """A new, smaller LlamaLM holding the top hidden and MLP channels of `model`."""
    cfg = model.cfg
    assert 0 < hidden_keep <= cfg.hidden_size and 0 < intermediate_keep <= cfg.intermediate_size
    h = top_channels(importance["hidden"], hidden_keep)
    small_cfg = replace(cfg, hidden_size=hidden_keep, intermediate_size=intermediate_keep, tie_embeddings=False)
    small = LlamaLM(small_cfg)
    small.embed_tokens.weight.copy_(model.embed_tokens.weight[:, h])
    small.lm_head.weight.copy_(model.lm_head.weight[:, h])
    small.norm.weight.copy_(model.norm.weight[h])
    for i, (src, dst) in enumerate(zip(model.layers, small.layers)):
        m = top_channels(importance[f"mlp.{i}"], intermediate_keep)
        dst.input_layernorm.weight.copy_(src.input_layernorm.weight[h])
        dst.post_attention_layernorm.weight.copy_(src.post_attention_layernorm.weight[h])
        for name in ("q_proj", "k_proj", "v_proj"):  # [out, hidden]: output (heads) kept
            getattr(dst.self_attn, name).weight.copy_(getattr(src.self_attn, name).weight[:, h])
        dst.self_attn.o_proj.weight.copy_(src.self_attn.o_proj.weight[h, :])
        dst.mlp.gate_proj.weight.copy_(src.mlp.gate_proj.weight[m][:, h])
        dst.mlp.up_proj.weight.copy_(src.mlp.up_proj.weight[m][:, h])
        dst.mlp.down_proj.weight.copy_(src.mlp.down_proj.weight[h][:, m])
    return small

