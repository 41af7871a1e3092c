"""Train the pruned decoder on the frozen full model's KV cache (handoff loss with distillation),
made for a user's GPU and runnable on a CPU: bf16 autocast on CUDA, torch 2.x fused attention
when present, gradient accumulation, chunked cross-entropy, activation checkpointing, a
progress line with tokens/s and time left, a checkpoint every few minutes and --resume.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np
import torch

from ..model import LlamaLM
from .data import FimFormat, batches
from .handoff_loss import handoff_loss, loss_after_cut

STATE_FILE = "convert-state.pt"


@dataclass
class TrainSettings:
    steps: int = 0                 # optimizer steps (0: prune and export without training)
    seq_len: int = 512             # training window, tokens
    batch: int = 4                 # windows per micro-batch
    accum: int = 1                 # micro-batches per optimizer step
    lr: float = 1e-4               # peak learning rate; 1% warm-up, cosine to a tenth
    distill: float = 0.5           # weight of KL(full || decoder) against next-token loss
    chunk: int = 1024              # rows of logits computed at once (memory)
    checkpoint_minutes: float = 5.0  # a session may end mid-run: save this often
    seed: int = 0

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch * self.accum


def lr_at(step: int, total: int, peak: float) -> float:
    warm = max(1, total // 100)
    if step < warm:
        return peak * (step + 1) / warm
    t = min(1.0, (step - warm) / max(1, total - warm))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


class Progress:
    """One line per update: a carriage return on a terminal, a new line every 30 s otherwise."""

    def __init__(self, total: int, tokens_per_step: int, start_step: int, out=sys.stderr):
        self.total, self.tps, self.start_step, self.out = total, tokens_per_step, start_step, out
        self.t0 = time.time()
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.last_print = 0.0

    def rate(self, step: int) -> float:
        return (step - self.start_step) * self.tps / max(1e-9, time.time() - self.t0)

    def update(self, step: int, loss: float) -> None:
        now = time.time()
        if not self.tty and now - self.last_print < 30 and step < self.total:
            return
        self.last_print = now
        rate = self.rate(step)
        left = (self.total - step) * self.tps / rate if rate > 0 else float("inf")
        bar = "#" * int(24 * step / max(1, self.total))
        line = f"[{bar:<24}] step {step}/{self.total}  loss {loss:.3f}  {rate:,.0f} tok/s  {_duration(left)} left"
        self.out.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and step >= self.total:
            self.out.write("\n")
        self.out.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def autocast(device: torch.device):
    """bf16 autocast on CUDA; nothing on the CPU (torch 1.13's CPU autocast is slower there)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _save_atomic(obj, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_decoder(full: LlamaLM, decoder: LlamaLM, train_ids: np.ndarray, fim: FimFormat, s: TrainSettings,
                  work: str, resume: bool, log: Callable[[str], None] = print) -> dict:
    """Trains `decoder` in place; `full` must be frozen. Returns what the model card reports."""
    dev = decoder.embed_tokens.weight.device
    decoder.train()
    decoder.use_sdpa(True)
    full.use_sdpa(True)
    decoder.checkpointing = dev.type == "cuda"  # activation memory dominates on a GPU; on the CPU time does
    # torch 2.x on CUDA: one fused kernel for the whole update.
    fused = {"fused": True} if dev.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters else {}
    # No weight decay on norms and biases (1-D): decay would pull RMSNorm gains towards zero.
    matrices = [p for p in decoder.parameters() if p.ndim >= 2]
    vectors = [p for p in decoder.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": matrices, "weight_decay": 0.1}, {"params": vectors, "weight_decay": 0.0}],
                            lr=s.lr, betas=(0.9, 0.95), **fused)
    data_rng, loss_rng = random.Random(s.seed), random.Random(s.seed + 1)
    step, history = 0, []
    state_path = os.path.join(work, STATE_FILE)
    if resume and os.path.exists(state_path):
        state = torch.load(state_path, map_location=dev, weights_only=False)  # our own file: optimizer and RNG states
        if state["settings"] != asdict(s):
            raise ValueError(f"{state_path} was saved with other training settings ({state['settings']}); resume with the same --steps/--seq-len/--batch/--accum/--lr, or remove the file to start over.")
        decoder.load_state_dict(state["decoder"])
        opt.load_state_dict(state["optimizer"])
        data_rng.setstate(state["data_rng"])
        loss_rng.setstate(state["loss_rng"])
        step, history = state["step"], state["history"]
        log(f"resuming at step {step} of {s.steps} from {state_path}")
    it = batches(train_ids, fim, s.seq_len, s.batch, data_rng)
    progress = Progress(s.steps, s.tokens_per_step, step)
    saved_at = time.time()

    def save() -> None:
        _save_atomic({"decoder": decoder.state_dict(), "optimizer": opt.state_dict(), "step": step, "history": history,
                      "data_rng": data_rng.getstate(), "loss_rng": loss_rng.getstate(), "settings": asdict(s)}, state_path)

    peak_mem = 0
    while step < s.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, s.steps, s.lr)
        total = 0.0
        for _ in range(s.accum):
            rows = torch.from_numpy(next(it)).to(dev)
            with autocast(dev):
                loss = handoff_loss(full, decoder, rows[:, :-1], rows[:, 1:], loss_rng, s.distill, s.chunk) / s.accum
            loss.backward()
            total += float(loss)
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        if step % 10 == 0 or step == s.steps:
            history.append({"step": step, "loss": round(total, 4)})
        progress.update(step, total)
        if time.time() - saved_at > s.checkpoint_minutes * 60:
            save()
            saved_at = time.time()
    if dev.type == "cuda":
        peak_mem = torch.cuda.max_memory_allocated(dev)
    if s.steps:
        save()
    decoder.eval()
    decoder.checkpointing = False
    decoder.use_sdpa(False)
    full.use_sdpa(False)
    rate = progress.rate(step) if step > progress.start_step else 0.0
    return {"steps": step, "tokens": step * s.tokens_per_step, "tokensPerSecond": round(rate),
            "peakGpuMemoryGB": round(peak_mem / 2 ** 30, 2) if peak_mem else None, "history": history,
            "settings": asdict(s)}


@torch.no_grad()
def handoff_losses(full: LlamaLM, decoders: dict, val_ids: np.ndarray, fim: FimFormat, seq_len: int, batches_n: int = 8,
                   horizon: int = 48, chunk: int = 1024, batch: int = 2) -> Optional[dict]:
    """Validation loss on the `horizon` tokens after a cut (a suggestion's length), for the full
    model alone, for each named decoder on the full model's KV (OverFill), and for each decoder
    alone. The same windows and cuts for every model."""
    dev = full.embed_tokens.weight.device
    seq = min(seq_len, max(32, len(val_ids) // 2 - 3))
    if len(val_ids) < seq + 3:
        return None
    rng = random.Random(1234)
    it = batches(val_ids, fim, seq, batch, rng)
    totals: dict = {"full": 0.0}
    for name in decoders:
        totals[f"overfill:{name}"] = 0.0
        totals[f"alone:{name}"] = 0.0
    for _ in range(batches_n):
        rows = torch.from_numpy(next(it)).to(dev)
        x, y = rows[:, :-1], rows[:, 1:]
        cut = rng.randrange(seq // 4, max(seq // 4 + 1, seq - horizon))
        with autocast(dev):
            totals["full"] += loss_after_cut(full, full, x, y, cut, horizon, chunk)
            for name, dec in decoders.items():
                totals[f"overfill:{name}"] += loss_after_cut(full, dec, x, y, cut, horizon, chunk)
                totals[f"alone:{name}"] += loss_after_cut(dec, dec, x, y, cut, horizon, chunk)
    return {k: round(v / batches_n, 4) for k, v in totals.items()}
