"""Train the OverFill pair from scratch: tokenizer, full model (FIM objective), pruned decoder
trained on the frozen full model's KV cache. Checkpoints go outside the repository.

    /usr/bin/python3 -m training.train tokenizer --corpus C --out W      # W/tokenizer/
    /usr/bin/python3 -m training.train data      --corpus C --out W      # W/{train,val}.npy
    /usr/bin/python3 -m training.train full      --out W --minutes 30    # W/full.pt
    /usr/bin/python3 -m training.train overfill  --out W --minutes 10    # W/decoder.pt
    /usr/bin/python3 -m training.train overfill  --out W --baseline --steps N   # W/baseline.pt, same budget
    /usr/bin/python3 -m training.train evalcut   --out W                 # loss after a cut, per model
    /usr/bin/python3 -m training.train export    --out W --to models/default
Presets (--preset cpu|gpu) size the models; same code on Debian's torch 1.13 CPU and torch 2.x CUDA.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import bpe  # noqa: E402
from training.corpus import read_split  # noqa: E402
from training.model import LlamaLM, ModelConfig, init_random  # noqa: E402


@dataclass
class Preset:
    full: ModelConfig
    decoder_hidden: int       # pruned widths (layers, heads, KV heads, head_dim kept)
    decoder_intermediate: int
    seq_len: int = 256        # training window
    batch: int = 16
    lr: float = 2e-3
    corpus_bytes: int = 16_000_000  # text tokenized for training


PRESETS = {
    # ~3.2M full / ~1.3M decoder: trains at a few thousand tokens/s on 2 CPU cores.
    "cpu": Preset(ModelConfig(vocab_size=4096, hidden_size=192, intermediate_size=512, num_layers=4, num_heads=6,
                              num_kv_heads=2, head_dim=32, max_position=2048), 96, 256, corpus_bytes=40_000_000),
    # For the pipeline's own tests: seconds.
    "tiny": Preset(ModelConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=4,
                               num_kv_heads=2, head_dim=8, max_position=256), 16, 32, seq_len=64, batch=4,
                   corpus_bytes=200_000),
    # Sized for minutes on one H200.
    "gpu": Preset(ModelConfig(vocab_size=8192, hidden_size=512, intermediate_size=1408, num_layers=8, num_heads=8,
                              num_kv_heads=2, head_dim=64, max_position=2048), 256, 640, batch=64,
                  corpus_bytes=40_000_000),
}
FIM_RATE = 0.5
CHECKPOINT_SECONDS = 600


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cmd_tokenizer(a, p: Preset) -> None:
    rows = read_split(a.corpus, "train")
    random.Random(0).shuffle(rows)
    texts, size = [], 0
    for r in rows:
        texts.append(r["text"])
        size += len(r["text"])
        if size > 8_000_000:
            break
    vocab, merges = bpe.train(texts, p.full.vocab_size)
    bpe.save(vocab, merges, os.path.join(a.out, "tokenizer"), p.full.max_position)
    print(json.dumps({"vocab": len(vocab), "text_bytes": size}))


def cmd_data(a, p: Preset) -> None:
    tok = bpe.BpeTokenizer.load(os.path.join(a.out, "tokenizer"))
    sep = tok.vocab["<file_sep>"]
    for split, budget in (("train", p.corpus_bytes), ("val", 1_000_000)):
        rows = read_split(a.corpus, split)
        random.Random(1).shuffle(rows)
        ids, size = [], 0
        for r in rows:
            ids += tok.encode(r["text"]) + [sep]
            size += len(r["text"])
            if size > budget:
                break
        np.save(os.path.join(a.out, f"{split}.npy"), np.array(ids, dtype=np.uint16))
        print(json.dumps({"split": split, "tokens": len(ids), "text_bytes": size}))


def fim_window(tokens: np.ndarray, rng: random.Random, sp: dict, n: int) -> list:
    """A window of n+1 tokens, turned into a FIM sample half of the time (PSM or SPM, equally)."""
    w = tokens.tolist()
    if rng.random() >= FIM_RATE:
        return w[: n + 1]
    i, j = sorted(rng.sample(range(1, len(w) - 1), 2))
    pre, mid, suf = w[:i], w[i:j], w[j:]
    if rng.random() < 0.5:
        out = [sp["<fim_prefix>"]] + pre + [sp["<fim_suffix>"]] + suf + [sp["<fim_middle>"]] + mid + [sp["<|endoftext|>"]]
    else:
        out = [sp["<fim_suffix>"]] + suf + [sp["<fim_prefix>"]] + pre + [sp["<fim_middle>"]] + mid + [sp["<|endoftext|>"]]
    return out[: n + 1]


def batches(data: np.ndarray, p: Preset, sp: dict, seed: int):
    rng = random.Random(seed)
    n = p.seq_len
    while True:
        rows = []
        for _ in range(p.batch):
            s = rng.randrange(0, len(data) - n - 2)
            rows.append(fim_window(data[s: s + n + 1], rng, sp, n))
        x = torch.tensor(rows, dtype=torch.long)
        yield x[:, :-1], x[:, 1:]


def lr_at(step: int, total: int, base: float) -> float:
    warm = 100
    if step < warm:
        return base * (step + 1) / warm
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm)))))


def forward_loss(model: LlamaLM, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    b, s = x.shape
    logits, _ = model(x, torch.ones(b, s, dtype=torch.long, device=x.device), torch.arange(s, device=x.device)[None].expand(b, s),
                      None, last_only=False)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


@torch.no_grad()
def evaluate(loss_fn, data: np.ndarray, p: Preset, sp: dict, batches_n: int = 8) -> float:
    it = batches(data, p, sp, seed=123)
    return sum(float(loss_fn(*[t.to(device()) for t in next(it)])) for _ in range(batches_n)) / batches_n


def special_ids(out: str) -> dict:
    tok = bpe.BpeTokenizer.load(os.path.join(out, "tokenizer"))
    return {t: tok.vocab[t] for t in bpe.SPECIAL_TOKENS}


def timed_training(model, params, loss_fn, a, p: Preset, label: str, eval_fn=None) -> dict:
    """Trains for a.minutes of wall time (the step count is estimated after 20 steps)."""
    sp = special_ids(a.out)
    train, val = np.load(os.path.join(a.out, "train.npy")), np.load(os.path.join(a.out, "val.npy"))
    opt = torch.optim.AdamW(params, lr=p.lr, betas=(0.9, 0.95), weight_decay=0.1)
    it = batches(train, p, sp, seed=0)
    t0, step, total, log = time.time(), 0, 10 ** 9, []
    saved_at = t0
    while True:
        if step == 20:
            total = a.steps or int(20 * a.minutes * 60 / (time.time() - t0))
        if step >= total:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, p.lr)
        x, y = (t.to(device()) for t in next(it))
        loss = loss_fn(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or step == total:
            entry = {"step": step, "of": total, "loss": round(float(loss), 4), "minutes": round((time.time() - t0) / 60, 2)}
            log.append(entry)
            print(label, json.dumps(entry), flush=True)
        if time.time() - saved_at > CHECKPOINT_SECONDS:  # a session may end mid-run: keep what was learned
            torch.save(model.state_dict(), os.path.join(a.out, f"{label}.partial.pt"))
            saved_at = time.time()
    val_loss = evaluate(eval_fn or loss_fn, val, p, sp)  # plain cross-entropy, comparable across runs
    tokens = step * p.batch * p.seq_len
    return {"steps": step, "tokens": tokens, "minutes": round((time.time() - t0) / 60, 2), "val_loss": round(val_loss, 4),
            "tokens_per_sec": round(tokens / (time.time() - t0)), "device": str(device()), "log": log}


def cmd_full(a, p: Preset) -> None:
    torch.manual_seed(0)
    model = LlamaLM(p.full).to(device())
    init_random(model, 0, std=0.02)
    if a.init:  # continue training an earlier run's weights (a new schedule over more data)
        model.load_state_dict(torch.load(a.init, map_location=device()))
    report = timed_training(model, list(model.parameters()), lambda x, y: forward_loss(model, x, y), a, p, "full")
    torch.save(model.state_dict(), os.path.join(a.out, "full.pt"))
    with open(os.path.join(a.out, "full.json"), "w") as f:
        json.dump({"config": p.full.as_dict(), "params": model.num_params(), "init": a.init or None, **report}, f, indent=1)


def overfill_loss(full: LlamaLM, decoder: LlamaLM, x: torch.Tensor, y: torch.Tensor, rng: random.Random,
                  horizon: int = 0) -> torch.Tensor:
    """Loss after one random cut: the full model prefills x[:, :c] (no grad), the decoder predicts
    y[:, c:] from x[:, c:] on that KV. Validation and evalcut use it (comparable across runs).
    horizon > 0 scores only the first `horizon` tokens after the cut (a suggestion's length)."""
    b, s = x.shape
    c = rng.randrange(16, s - 16)
    ones = torch.ones(b, s, dtype=torch.long, device=x.device)
    with torch.no_grad():
        _, past = full(x[:, :c], ones[:, :c], torch.arange(c, device=x.device)[None].expand(b, c), None, last_only=False)
    logits, _ = decoder(x[:, c:], ones, torch.arange(c, s, device=x.device)[None].expand(b, s - c), past, last_only=False)
    end = s if horizon <= 0 else min(s, c + horizon)
    return F.cross_entropy(logits[:, : end - c].reshape(-1, logits.shape[-1]), y[:, c:end].reshape(-1))


def block_cut_bias(s: int, block: int, phase: int, device) -> tuple:
    """Cuts a window at every block boundary at once. Keys are [full model's KV (s) | decoder's KV (s)];
    query i in the block that starts at b sees the full model's KV for positions < b (the prompt
    the full model prefilled) and the decoder's own KV for b..i (the tokens it generated since).
    Every position is then trained as a token at most `block` steps after a handoff, as in the
    product (suggestions are short), instead of only the tail after one cut.
    Returns the additive [s, 2s] bias and a [s] bool of positions that have a prompt (b > 0)."""
    i = torch.arange(s, device=device)
    start = torch.clamp((i + phase) // block * block - phase, min=0)  # first position of i's block
    j = i[None, :]
    from_full = j < start[:, None]
    from_self = (j >= start[:, None]) & (j <= i[:, None])
    allowed = torch.cat([from_full, from_self], dim=1)
    return torch.zeros(s, 2 * s, device=device).masked_fill(~allowed, -1e9), start > 0


def overfill_block_loss(full: LlamaLM, decoder: LlamaLM, x: torch.Tensor, y: torch.Tensor, rng: random.Random,
                        distill: float = 0.0, kv_from_full: bool = True) -> torch.Tensor:
    """The OverFill decoder's training loss with a cut at every block boundary (block_cut_bias):
    one full pass (no grad) gives the KV and the teacher logits, one decoder pass is trained.
    Block length and phase are drawn per batch, so handoffs fall everywhere.
    kv_from_full=False is the pruned baseline: the same positions and the same loss, but the model
    reads its own KV everywhere (plain causal attention), so only the KV source differs."""
    b, s = x.shape
    ones = torch.ones(b, s, dtype=torch.long, device=x.device)
    pos = torch.arange(s, device=x.device)[None].expand(b, s)
    block = rng.randrange(8, min(64, s // 2) + 1)  # suggestions run up to ~48 tokens
    bias, has_prompt = block_cut_bias(s, block, rng.randrange(block), x.device)
    with torch.no_grad():
        teacher, past = full(x, ones, pos, None, last_only=False)
    if kv_from_full:
        logits, _ = decoder(x, torch.ones(b, 2 * s, dtype=torch.long, device=x.device), pos, past, last_only=False,
                            attn_bias=bias)
    else:
        logits, _ = decoder(x, ones, pos, None, last_only=False)
    logits, teacher, target = logits[:, has_prompt], teacher[:, has_prompt], y[:, has_prompt]
    logits = logits.reshape(-1, logits.shape[-1])
    ce = F.cross_entropy(logits, target.reshape(-1))
    if distill <= 0:
        return ce
    kl = F.kl_div(F.log_softmax(logits, -1), F.log_softmax(teacher.reshape(-1, teacher.shape[-1]), -1),
                  log_target=True, reduction="batchmean")
    return (1 - distill) * ce + distill * kl


def cmd_overfill(a, p: Preset) -> None:
    from training.prune import activation_importance, prune_width
    full = LlamaLM(p.full).to(device())
    full.load_state_dict(torch.load(os.path.join(a.out, "full.pt"), map_location=device()))
    full.eval().requires_grad_(False)
    sp = special_ids(a.out)
    calib, _ = next(batches(np.load(os.path.join(a.out, "train.npy")), p, sp, seed=7))
    decoder = prune_width(full, activation_importance(full, calib[:8].to(device())), p.decoder_hidden, p.decoder_intermediate).to(device())
    rng = random.Random(0)
    name = "decoder" if not a.baseline else "baseline"
    # The baseline is the same pruned model trained alone (the paper's "pruned" model) with the
    # same loss on the same positions and steps; only where its KV comes from differs.
    loss_fn = lambda x, y: overfill_block_loss(full, decoder, x, y, rng, a.distill, kv_from_full=not a.baseline)  # noqa: E731
    if a.baseline:  # validation is plain cross-entropy, as before
        eval_fn = lambda x, y: forward_loss(decoder, x, y)  # noqa: E731
    else:
        eval_fn = lambda x, y: overfill_loss(full, decoder, x, y, random.Random(int(x[0, 0])))  # noqa: E731
    report = timed_training(decoder, list(decoder.parameters()), loss_fn, a, p, name, eval_fn)
    torch.save(decoder.state_dict(), os.path.join(a.out, f"{name}.pt"))
    with open(os.path.join(a.out, f"{name}.json"), "w") as f:
        json.dump({"config": decoder.cfg.as_dict(), "params": decoder.num_params(), **report}, f, indent=1)


@torch.no_grad()
def cmd_evalcut(a, p: Preset) -> None:
    """Validation loss on the tokens after a random cut, as OverFill generates them: the full
    model alone, the OverFill decoder on the full model's KV, the pruned baseline alone."""
    from dataclasses import replace
    full = LlamaLM(p.full).to(device())
    full.load_state_dict(torch.load(os.path.join(a.out, "full.pt"), map_location=device()))
    dcfg = replace(p.full, hidden_size=p.decoder_hidden, intermediate_size=p.decoder_intermediate)
    models = {"full": full}
    for name in ("decoder", "baseline"):
        if os.path.exists(os.path.join(a.out, f"{name}.pt")):
            m = LlamaLM(dcfg).to(device())
            m.load_state_dict(torch.load(os.path.join(a.out, f"{name}.pt"), map_location=device()))
            models[name] = m.eval()
    sp = special_ids(a.out)
    it = batches(np.load(os.path.join(a.out, "val.npy")), p, sp, seed=321)
    # All tokens after the cut (up to ~240), and only the first 48: a suggestion's length, the
    # regime the decoder is trained for (handoffs every 8-64 tokens).
    kinds = [k for k in ("full", "overfill", "baseline") if k != "baseline" or "baseline" in models]
    totals = {f"{k}{tag}": 0.0 for k in kinds for tag in ("", "@48")}
    pairs = {"full": (full, full), "overfill": (full, models.get("decoder")), "baseline": (models.get("baseline"),) * 2}
    n = 16
    for _ in range(n):
        x, y = (t.to(device()) for t in next(it))
        seed = int(x[0, 0])  # the same cut for all three models
        for k in kinds:
            for tag, horizon in (("", 0), ("@48", 48)):
                totals[f"{k}{tag}"] += float(overfill_loss(*pairs[k], x, y, random.Random(seed), horizon))
    result = {k: round(v / n, 4) for k, v in totals.items()}
    with open(os.path.join(a.out, "evalcut.json"), "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


def cmd_export(a, p: Preset) -> None:
    from dataclasses import replace
    from training.export import write_pair
    from training.quantize import quantize_folder
    full = LlamaLM(p.full)
    full.load_state_dict(torch.load(os.path.join(a.out, "full.pt"), map_location="cpu"))
    dcfg = replace(p.full, hidden_size=p.decoder_hidden, intermediate_size=p.decoder_intermediate)
    decoder = LlamaLM(dcfg)
    decoder.load_state_dict(torch.load(os.path.join(a.out, f"{a.decoder}.pt"), map_location="cpu"))
    write_pair(a.to, full.eval(), decoder.eval(), os.path.join(a.out, "tokenizer"), a.name,
               "Trained from scratch by training/train.py on permissively licensed local code (see README.md)",
               fim_order="spm", kv_dtype=a.kv_dtype)
    if a.weights == "int8":
        quantize_folder(a.to, a.to)
    print(json.dumps({"exported": a.to, "weights": a.weights, "kvDtype": a.kv_dtype}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["tokenizer", "data", "full", "overfill", "evalcut", "export"])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    ap.add_argument("--corpus", default=os.path.expanduser("~/.cache/overfill/corpus"))
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/overfill/run"))
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-time budget of a training stage")
    ap.add_argument("--steps", type=int, default=0, help="fixed step count instead of --minutes (equal token budgets)")
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads (default: up to 2); with Debian's OpenBLAS also set OPENBLAS_NUM_THREADS, or it starts its own")
    ap.add_argument("--init", default="", help="full stage: start from these weights (.pt) instead of random")
    ap.add_argument("--baseline", action="store_true", help="overfill stage: train the pruned model alone instead")
    ap.add_argument("--distill", type=float, default=0.5,
                    help="overfill stage: weight of KL(full || trained model), 0 for next-token loss only")
    ap.add_argument("--to", default="models/default", help="export stage: model folder to write")
    ap.add_argument("--name", default="overfill-code-small")
    ap.add_argument("--weights", choices=["int8", "fp32"], default="int8", help="export stage: weight format")
    ap.add_argument("--kv-dtype", choices=["float32", "float16", "int8"], default="float32",
                    help="export stage: KV cache elements (int8: a quarter of the memory, faster decode steps past ~1k tokens of context, slower below; docs/model-format.md)")
    ap.add_argument("--decoder", default="decoder", help="export stage: decoder weights to pair (decoder | baseline)")
    a = ap.parse_args()
    if device().type == "cpu":  # two stages can share the 2 cores with --threads 1 each
        torch.set_num_threads(a.threads or max(1, min(2, os.cpu_count() or 1)))
    random.seed(0)
    os.makedirs(a.out, exist_ok=True)
    p = PRESETS[a.preset]
    {"tokenizer": cmd_tokenizer, "data": cmd_data, "full": cmd_full, "overfill": cmd_overfill, "evalcut": cmd_evalcut,
     "export": cmd_export}[a.stage](a, p)


if __name__ == "__main__":
    main()
