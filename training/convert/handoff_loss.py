"""Losses of the conversion, with the vocabulary projection applied in chunks of rows.

A 150k-token vocabulary makes logits the largest tensor of a step ([batch x seq, 151,936]
floats: 2.5 GB for 8 x 512 in float32), so the models return their final hidden states and
lm_head runs on `chunk` rows at a time under activation checkpointing: only one chunk's logits
exist at once, in the forward pass and again in the backward pass.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F
import torch.utils.checkpoint

from ..model import LlamaLM
from ..train import block_cut_bias


def _chunk_loss(hs, ht, target, w_student, w_teacher, distill: float):
    """Summed cross-entropy (and KL(teacher || student) when distill > 0) of one chunk of rows."""
    logits = (hs @ w_student.t()).float()
    ce = F.cross_entropy(logits, target, reduction="sum")
    if distill <= 0:
        return ce
    with torch.no_grad():
        teacher = F.log_softmax((ht @ w_teacher.t()).float(), -1)
    kl = F.kl_div(F.log_softmax(logits, -1), teacher, log_target=True, reduction="sum")
    return (1 - distill) * ce + distill * kl


def chunked_loss(hs: torch.Tensor, ht, target: torch.Tensor, w_student: torch.Tensor, w_teacher,
                 distill: float, chunk: int) -> torch.Tensor:
    """Mean loss over rows: hs [N, h_s] student hidden, ht [N, h_t] teacher hidden (or None),
    target [N]. Each chunk's logits are recomputed in backward instead of being kept."""
    total = hs.new_zeros((), dtype=torch.float32)
    n = hs.shape[0]
    for at in range(0, n, chunk):
        args = (hs[at:at + chunk], ht[at:at + chunk] if ht is not None else hs[at:at + chunk], target[at:at + chunk],
                w_student, w_teacher if w_teacher is not None else w_student, distill if ht is not None else 0.0)
        if torch.is_grad_enabled() and hs.requires_grad:
            total = total + torch.utils.checkpoint.checkpoint(_chunk_loss, *args, use_reentrant=False)
        else:
            total = total + _chunk_loss(*args)
    return total / max(1, n)


def handoff_loss(full: LlamaLM, decoder: LlamaLM, x: torch.Tensor, y: torch.Tensor, rng: random.Random,
                 distill: float, chunk: int) -> torch.Tensor:
    """The OverFill decoder's training loss (train.py overfill_block_loss, chunked): the frozen full
    model runs the window once (its KV and teacher hidden states), the decoder reads that KV with a
    handoff at every block boundary (blocks of 8-64 tokens, drawn per batch) and is trained on every
    position that has a prompt before it."""
    b, s = x.shape
    dev = x.device
    pos = torch.arange(s, device=dev)[None].expand(b, s)
    block = rng.randrange(8, min(64, s // 2) + 1)
    bias, has_prompt = block_cut_bias(s, block, rng.randrange(block), dev)
    with torch.no_grad():
        teacher, past = full(x, torch.ones(b, s, dtype=torch.long, device=dev), pos, None, hidden_only=True)
    student, _ = decoder(x, torch.ones(b, 2 * s, dtype=torch.long, device=dev), pos, past, attn_bias=bias, hidden_only=True)
    hs = student[:, has_prompt].reshape(-1, student.shape[-1])
    ht = teacher[:, has_prompt].reshape(-1, teacher.shape[-1]) if distill > 0 else None
    return chunked_loss(hs, ht, y[:, has_prompt].reshape(-1), decoder.lm_head.weight, full.lm_head.weight, distill, chunk)


@torch.no_grad()
def loss_after_cut(prefill: LlamaLM, step: LlamaLM, x: torch.Tensor, y: torch.Tensor, cut: int, horizon: int, chunk: int) -> float:
    """Cross-entropy of the `horizon` tokens after `cut`: `prefill` writes the KV of x[:, :cut],
    `step` predicts the rest on it (full/full, full/decoder = OverFill, decoder/decoder = alone)."""
    b, s = x.shape
    dev = x.device
    ones = torch.ones(b, s, dtype=torch.long, device=dev)
    _, past = prefill(x[:, :cut], ones[:, :cut], torch.arange(cut, device=dev)[None].expand(b, cut), None, hidden_only=True)
    end = min(s, cut + horizon)
    h, _ = step(x[:, cut:end], ones[:, :end], torch.arange(cut, end, device=dev)[None].expand(b, end - cut), past, hidden_only=True)
    return float(chunked_loss(h.reshape(-1, h.shape[-1]), None, y[:, cut:end].reshape(-1), step.lm_head.weight, None, 0.0, chunk))
