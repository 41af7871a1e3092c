"""Minitron-style width pruning: make the OverFill decoder from the full model.

Importance comes from activations on calibration tokens: a hidden channel scores the mean
|activation| of every RMSNorm output that feeds a projection (summed over layers); an MLP
channel scores the mean |input of down_proj|. Depth, query heads, KV heads and head_dim are
kept, so k_proj/v_proj still produce the full model's KV shape and the decoder can read its
cache unchanged ("kv_identity").

Biases (Qwen2's q/k/v, Llama's attention_bias and mlp_bias) are pruned with their channels;
tied embeddings stay tied. Scores are kept on the model's device (a GPU run never moves
activations to the CPU).

Used as a library (make_fixtures.py, train.py, convert/).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Dict

import torch

from .model import LlamaLM


@torch.no_grad()
def activation_importance(model: LlamaLM, calib_ids: torch.Tensor, batch: int = 0) -> Dict[str, torch.Tensor]:
    """calib_ids [n, s]. Returns 'hidden' [h] and 'mlp.{i}' [intermediate] scores, on the model's
    device: mean |activation| over every calibration token. batch > 0 runs the rows that many at
    a time (memory); the scores are the same."""
    cfg = model.cfg
    dev = model.embed_tokens.weight.device
    hidden = torch.zeros(cfg.hidden_size, device=dev)
    mlp = [torch.zeros(cfg.intermediate_size, device=dev) for _ in range(cfg.num_layers)]
    hooks = []

    def on_norm(_m, _inp, out):
        hidden.add_(out.float().abs().sum(dim=(0, 1)))

    def on_down(i):
        def hook(_m, inp):
            mlp[i].add_(inp[0].float().abs().sum(dim=(0, 1)))
        return hook

    for i, layer in enumerate(model.layers):
        hooks.append(layer.input_layernorm.register_forward_hook(on_norm))
        hooks.append(layer.post_attention_layernorm.register_forward_hook(on_norm))
        hooks.append(layer.mlp.down_proj.register_forward_pre_hook(on_down(i)))
    hooks.append(model.norm.register_forward_hook(on_norm))
    try:
        calib_ids = calib_ids.to(dev)
        n, s = calib_ids.shape
        step = batch if batch > 0 else n
        for at in range(0, n, step):
            rows = calib_ids[at:at + step]
            mask = torch.ones(rows.shape, dtype=torch.long, device=dev)
            pos = torch.arange(s, device=dev)[None].expand(rows.shape[0], s)
            # hidden_only: the final norm still runs (its hook scores), lm_head does not.
            model(rows, mask, pos, None, hidden_only=True)
    finally:
        for h in hooks:
            h.remove()
    tokens = calib_ids.numel()
    out = {"hidden": hidden / tokens}
    out.update({f"mlp.{i}": m / tokens for i, m in enumerate(mlp)})
    return out


def top_channels(score: torch.Tensor, keep: int) -> torch.Tensor:
    return torch.sort(torch.topk(score, keep).indices).values


@torch.no_grad()
def prune_width(model: LlamaLM, importance: Dict[str, torch.Tensor], hidden_keep: int,
                intermediate_keep: int) -> LlamaLM:
    """A new, smaller LlamaLM holding the top hidden and MLP channels of `model`."""
    cfg = model.cfg
    assert 0 < hidden_keep <= cfg.hidden_size and 0 < intermediate_keep <= cfg.intermediate_size
    dev = model.embed_tokens.weight.device
    h = top_channels(importance["hidden"], hidden_keep).to(dev)
    small_cfg = replace(cfg, hidden_size=hidden_keep, intermediate_size=intermediate_keep)
    small = LlamaLM.empty(small_cfg, dev, model.embed_tokens.weight.dtype)  # every weight is copied in below
    small.embed_tokens.weight.copy_(model.embed_tokens.weight[:, h])
    if not cfg.tie_embeddings:  # tied: lm_head is the embedding, already copied
        small.lm_head.weight.copy_(model.lm_head.weight[:, h])
    small.norm.weight.copy_(model.norm.weight[h])
    for i, (src, dst) in enumerate(zip(model.layers, small.layers)):
        m = top_channels(importance[f"mlp.{i}"], intermediate_keep).to(dev)
        dst.input_layernorm.weight.copy_(src.input_layernorm.weight[h])
        dst.post_attention_layernorm.weight.copy_(src.post_attention_layernorm.weight[h])
        for name in ("q_proj", "k_proj", "v_proj"):  # [out, hidden]: output (heads) kept, bias whole
            getattr(dst.self_attn, name).weight.copy_(getattr(src.self_attn, name).weight[:, h])
            _copy_bias(getattr(dst.self_attn, name), getattr(src.self_attn, name), None)
        dst.self_attn.o_proj.weight.copy_(src.self_attn.o_proj.weight[h, :])
        _copy_bias(dst.self_attn.o_proj, src.self_attn.o_proj, h)
        dst.mlp.gate_proj.weight.copy_(src.mlp.gate_proj.weight[m][:, h])
        dst.mlp.up_proj.weight.copy_(src.mlp.up_proj.weight[m][:, h])
        dst.mlp.down_proj.weight.copy_(src.mlp.down_proj.weight[h][:, m])
        _copy_bias(dst.mlp.gate_proj, src.mlp.gate_proj, m)
        _copy_bias(dst.mlp.up_proj, src.mlp.up_proj, m)
        _copy_bias(dst.mlp.down_proj, src.mlp.down_proj, h)
    return small


def _copy_bias(dst: torch.nn.Linear, src: torch.nn.Linear, keep) -> None:
    """A bias follows its output channels: all of them (keep None) or the kept ones."""
    if src.bias is not None:
        dst.bias.copy_(src.bias if keep is None else src.bias[keep])

