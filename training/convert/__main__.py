"""Convert a Hugging Face Llama/Qwen2 checkpoint into an OverFill pair the extension loads.

    /usr/bin/python3 -m training.convert --hf CKPT --out PAIR --data ~/src/myproject [--keep 0.55]
        [--steps N | --tokens N] [--weights int8|fp32] [--device auto|cpu|cuda] [--resume]

Reads config.json, safetensors and the tokenizer; prunes the decoder's widths (Minitron style,
calibrated on the --data code); trains it on the frozen full model's KV cache (handoff loss,
distilled, FIM in the checkpoint's own prompt format); writes full.onnx (the checkpoint's own
weights, int8-quantized unless --weights fp32), decoder.onnx, overfill.json, the tokenizer files
and a model card.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch

from ..export import write_pair
from ..prune import activation_importance, prune_width
from ..quantize import quantize_folder
from .checkpoint import CheckpointError, checkpoint_licence, load_checkpoint, read_config
from .data import FimFormat, batches, tokenize_folders
from .decoder_training import TrainSettings, handoff_losses, train_decoder
from .families import detect, fim_tokens_warning
from .model_card import model_card
from .tokenizer_json import HfTokenizer, UnsupportedTokenizer

WORK = ".convert"  # checkpoints and tokenized data inside the output folder, removed when done


def log(message: str) -> None:
    print(f"convert: {message}", file=sys.stderr, flush=True)


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise CheckpointError("--device cuda was asked for, but torch sees no CUDA GPU (torch.cuda.is_available() is false).")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)


def round_width(width: int, keep: float) -> int:
    """keep x width, rounded to a multiple of 8 (GPU kernels and int8 blocks like aligned sizes)."""
    return max(8, min(width, int(round(width * keep / 8)) * 8))


def read_tokenizer(folder: str, vocab_size: int):
    tj, tc = os.path.join(folder, "tokenizer.json"), os.path.join(folder, "tokenizer_config.json")
    if not os.path.isfile(tj):
        raise CheckpointError(f"{folder} has no tokenizer.json (the Hugging Face tokenizers file); the engine and the converter need it.")
    with open(tj, encoding="utf-8") as f:
        spec = json.load(f)
    config = {}
    if os.path.isfile(tc):
        with open(tc, encoding="utf-8") as f:
            config = json.load(f)
    try:
        tok = HfTokenizer(spec)
    except UnsupportedTokenizer as err:
        raise CheckpointError(f"{tj} uses {err}, which the converter's tokenizer does not implement.") from err
    if tok.size > vocab_size:
        raise CheckpointError(f"The tokenizer has {tok.size} ids but config.json's vocab_size is {vocab_size}: the tokenizer does not belong to this model.")
    return tok, spec, config


def main() -> None:
    ap = argparse.ArgumentParser(prog="python3 -m training.convert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf", required=True, help="Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    ap.add_argument("--out", required=True, help="pair folder to write (overfill.model.path points at it)")
    ap.add_argument("--keep", type=float, default=0.55, help="share of hidden and MLP channels the decoder keeps (paper: 0.55-0.57)")
    ap.add_argument("--data", nargs="+", required=True, help="folders of your code: calibration and training data")
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="optimizer steps of decoder training (0: prune and export only)")
    budget.add_argument("--tokens", type=float, help="tokens of decoder training (e.g. 3e8); sets --steps")
    ap.add_argument("--weights", choices=["int8", "fp32"], default="int8", help="weight format of the exported graphs")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted conversion into the same --out")
    ap.add_argument("--seq-len", type=int, default=512, help="training window, tokens")
    ap.add_argument("--batch", type=int, default=4, help="windows per micro-batch")
    ap.add_argument("--accum", type=int, default=1, help="micro-batches per optimizer step (gradient accumulation)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--distill", type=float, default=0.5, help="weight of KL(full || decoder); 0 = next-token loss only")
    ap.add_argument("--calib-samples", type=int, default=64, help="windows of --seq-len tokens scored for pruning")
    ap.add_argument("--eval-batches", type=int, default=8, help="held-out batches for the model card's handoff losses (0: skip)")
    ap.add_argument("--cache-layout", choices=["static", "hf"], default="static",
                    help="KV cache form of the graphs: static (fastest on the CPU) or hf (present = the whole cache; on WebGPU it stays on the GPU between steps)")
    ap.add_argument("--webgpu-graphs", action="store_true",
                    help="also write hf-layout graphs that the WebGPU provider runs with the KV cache kept on the GPU (webgpu/ in --out; twice the disk)")
    ap.add_argument("--name", help="pair name shown in the editor (default: the checkpoint folder's name + -overfill)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: every core)")
    ap.add_argument("--gguf", choices=["f32", "f16", "q8_0"], nargs="+", default=[],
                    help="also write the full model and the decoder as GGUF for llama.cpp (benchmarks on the same weights): full.TYPE.gguf, decoder.TYPE.gguf in --out/gguf")
    a = ap.parse_args()
    try:
        summary = convert(a)
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        log(f"error: {err}")
        sys.exit(2)
    print(json.dumps(summary))


def convert(a) -> dict:
    t_start = time.time()
    if a.seq_len < 32:
        raise CheckpointError(f"--seq-len {a.seq_len} is too short: a training window needs at least 32 tokens (handoffs fall 8-64 tokens apart).")
    if not 0 < a.keep < 1:
        raise CheckpointError(f"--keep {a.keep} must be between 0 and 1 (the share of channels the decoder keeps).")
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = pick_device(a.device)
    cfg, raw = read_config(a.hf)
    tok, tok_spec, tok_config = read_tokenizer(a.hf, cfg.vocab_size)
    detected = detect(tok_spec, tok_config)
    warning = fim_tokens_warning(detected)
    if warning:
        log(f"warning: {warning}")
    log(f"{raw['architectures'][0]}: {cfg.num_layers} layers, hidden {cfg.hidden_size}, MLP {cfg.intermediate_size}, "
        f"{cfg.num_heads} heads / {cfg.num_kv_heads} KV heads, vocab {cfg.vocab_size}; family {detected['family'] or 'none'}; device {dev}")
    work = os.path.join(a.out, WORK)
    if os.path.exists(os.path.join(a.out, "overfill.json")) and not a.resume:
        log(f"{a.out} already holds a pair: it will be replaced")
    os.makedirs(work, exist_ok=True)

    # The frozen full model trains in bf16 on a GPU (half the memory, tensor cores), float32 on the CPU.
    train_dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    full, _ = load_checkpoint(a.hf, str(dev), train_dtype)
    full.requires_grad_(False)

    fim = FimFormat(tok, detected["tokens"], detected["fimOrder"])
    settings = TrainSettings(steps=a.steps or 0, seq_len=a.seq_len, batch=a.batch, accum=a.accum, lr=a.lr, distill=a.distill)
    if a.tokens:
        settings.steps = math.ceil(a.tokens / settings.tokens_per_step)
    separator = tok.token_to_id(detected["tokens"].get("fileSeparator") or detected["tokens"]["endOfText"])
    if not settings.steps:
        log("warning: no training budget (--steps or --tokens): the decoder is pruned but not trained, and its suggestions "
            "will be much worse than after training. On a GPU, --tokens 3e8 is a good start.")
    cached = [os.path.join(work, f) for f in ("train.npy", "val.npy", "data.json")]
    if a.resume and all(os.path.exists(f) for f in cached):
        train_ids, val_ids = np.load(cached[0]), np.load(cached[1])
        with open(cached[2]) as f:
            counts = json.load(f)
    else:
        t0 = time.time()
        want = max(2_000_000, 2 * settings.steps * settings.tokens_per_step)
        train_ids, val_ids, counts = tokenize_folders(tok, a.data, separator, max_tokens=want)
        log(f"tokenized {counts['files']} files ({counts['bytes']:,} bytes) into {len(train_ids):,} train + {len(val_ids):,} validation tokens in {time.time() - t0:.0f} s")
        np.save(cached[0], train_ids)
        np.save(cached[1], val_ids)
        with open(cached[2], "w") as f:
            json.dump(counts, f)
    calib_seq = min(a.seq_len, max(16, len(train_ids) // 4))
    calib = torch.from_numpy(next(batches(train_ids, FimFormat(tok, detected["tokens"], "none"), calib_seq, a.calib_samples, random.Random(7))))
    importance = activation_importance(full, calib[:, :-1], batch=max(1, a.batch))
    widths = {"hidden": round_width(cfg.hidden_size, a.keep), "intermediate": round_width(cfg.intermediate_size, a.keep)}
    decoder = prune_width(full, importance, widths["hidden"], widths["intermediate"]).float()
    pruned = copy.deepcopy(decoder).eval()  # the card compares the decoder before and after training
    log(f"pruned decoder: hidden {widths['hidden']}, MLP {widths['intermediate']}, {decoder.num_params():,} of {full.num_params():,} parameters")

    report = train_decoder(full, decoder, train_ids, fim, settings, work, a.resume, log)
    report["device"] = str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev)
    # Float32 decoders beside a bf16 full model on a GPU: autocast runs them in bf16, as in training.
    losses = handoff_losses(full, {"trained": decoder, "pruned": pruned}, val_ids, fim, a.seq_len, a.eval_batches) if a.eval_batches else None
    if losses:
        log(f"loss after a handoff: {losses}")
    del pruned

    # Export in float32 on the CPU: the full model again straight from the checkpoint (unchanged).
    if dev.type != "cpu" or train_dtype != torch.float32:
        del full
        full, _ = load_checkpoint(a.hf, "cpu", torch.float32)
    decoder = decoder.float().cpu().eval()
    name = a.name or f"{os.path.basename(os.path.normpath(a.hf))}-overfill"
    licence = checkpoint_licence(a.hf, raw)
    write_pair(a.out, full, decoder, a.hf, name,
               f"OverFill pair converted from {os.path.basename(os.path.normpath(a.hf))} (keep {a.keep}, {report['tokens']:,} training tokens)",
               fim_order=detected["fimOrder"], tokens=detected["tokens"], cache_layout=a.cache_layout, webgpu_graphs=a.webgpu_graphs,
               extra={"family": detected["family"], "source": {"checkpoint": os.path.abspath(a.hf), "architecture": raw["architectures"][0],
                                                              "licence": licence}, "keep": a.keep})
    if a.gguf:
        from training.gguf import write_llama_gguf
        gguf_dir = os.path.join(a.out, "gguf")  # the engine reads only what overfill.json names
        os.makedirs(gguf_dir, exist_ok=True)
        family = detected["family"] or ""
        # llama.cpp's name for the pre-tokenizer (its regex); ids are what the benchmark feeds, but the vocabulary must load.
        pre = "qwen2" if family.startswith("qwen") else "llama-bpe" if family.startswith("llama3") else "default"
        for kind in a.gguf:
            for role, module in (("full", full), ("decoder", decoder)):
                write_llama_gguf(module, os.path.join(a.hf, "tokenizer.json"), os.path.join(gguf_dir, f"{role}.{kind}.gguf"), kind, f"{name}-{role}", pre)
        log(f"GGUF for llama.cpp: {', '.join(sorted(os.listdir(gguf_dir)))} in {gguf_dir}")
    if a.weights == "int8":
        quantize_folder(a.out, a.out)
    data = {**counts, "trainTokens": int(len(train_ids)), "valTokens": int(len(val_ids))}
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(model_card(name, os.path.abspath(a.hf), licence, raw["architectures"][0], detected["family"], full.num_params(),
                           decoder.num_params(), a.keep, widths, report, losses, data, "int8 blocks of 32 (MatMulNBits)" if a.weights == "int8" else "float32"))
    with open(os.path.join(a.out, "conversion.json"), "w") as f:
        json.dump({"training": report, "losses": losses, "data": data, "widths": widths, "minutes": round((time.time() - t_start) / 60, 2)}, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    return {"out": a.out, "family": detected["family"], "steps": report["steps"], "tokens": report["tokens"],
            "tokensPerSecond": report["tokensPerSecond"], "losses": losses, "minutes": round((time.time() - t_start) / 60, 2)}


if __name__ == "__main__":
    main()
