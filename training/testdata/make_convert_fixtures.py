"""Fixtures for the bring-your-own-model tests, under test/fixtures/generated/:

  hf/<kind>/          tiny random checkpoints in the Hugging Face layout (hf_checkpoints.KINDS)
  converted/<kind>/   each converted by `python3 -m training.convert` (fp32 weights; qwen2-sharded int8),
                      with numpy-reference.json: the independent numpy forward pass's last logits and
                      greedy ids for a prompt of the checkpoint's own tokens
  converted/llama-mha-external/  the llama-mha pair with its weights in ONNX external data files
  optimum-qwen2/      an optimum-style export of hf/qwen2 (no overfill.json), model + model_fp16
  optimum-pair/       overfill.json pairing optimum-style exports of a full model and a pruned decoder
                      (the HF cache layout), with PyTorch's greedy reference.json

    /usr/bin/python3 -m training.testdata.make_convert_fixtures [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch

from ..convert.checkpoint import load_checkpoint
from ..convert.tokenizer_json import HfTokenizer
from ..export import external_data_file, greedy, save_onnx, sha256
from ..prune import activation_importance, prune_width
from .hf_checkpoints import KINDS, ROOT, make_checkpoint
from .numpy_llama import NumpyLlama
from .optimum_export import export_folder, export_optimum

SNIPPET = open(os.path.join(ROOT, "training", "corpus.py"), encoding="utf-8").read()[:4000]
NEW_TOKENS = 8


def reference_prompt(tok: HfTokenizer, model: NumpyLlama, allowed: int, bos) -> dict:
    """A prompt of real tokens whose greedy steps all have a clear winner (top-2 gap > 1e-3)."""
    ids = tok.encode(SNIPPET)
    for start in range(0, 400, 20):
        prompt = ([bos] if bos is not None else []) + ids[start:start + 24]
        out, margins, last = list(prompt), [], None
        for _ in range(NEW_TOKENS):
            logits = model.logits(out)[-1][:allowed]
            last = logits if last is None else last
            top = np.sort(logits)[-2:]
            margins.append(float(top[1] - top[0]))
            out.append(int(np.argmax(logits)))
        if min(margins) > 1e-3:
            order = np.argsort(-last)[:5]
            return {"promptIds": prompt, "greedy": out[len(prompt):], "minTop2Margin": min(margins),
                    "top5": {"ids": [int(i) for i in order], "values": [float(last[i]) for i in order]}}
    raise RuntimeError("no prompt gave clear greedy margins")


def convert(ckpt: str, out: str, weights: str) -> None:
    # fp32 pairs also get GGUF files of the same weights: llama.cpp's parity test (llamaCppParity.test.ts).
    gguf = ["--gguf", "f32"] if weights == "fp32" else []
    subprocess.run([sys.executable, "-m", "training.convert", "--hf", ckpt, "--out", out, "--data", os.path.join(ROOT, "training"),
                    "--steps", "3", "--seq-len", "64", "--batch", "2", "--calib-samples", "8", "--weights", weights, *gguf],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "generated"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    for kind in KINDS:
        ckpt = os.path.join(a.out, "hf", kind)
        shutil.rmtree(ckpt, ignore_errors=True)
        make_checkpoint(ckpt, kind, seed=len(kind))
        pair = os.path.join(a.out, "converted", kind)
        convert(ckpt, pair, "int8" if kind == "qwen2-sharded" else "fp32")
        tok = HfTokenizer.load(os.path.join(ckpt, "tokenizer.json"))
        with open(os.path.join(pair, "overfill.json")) as f:
            bos = json.load(f)["tokens"].get("bos")
        ref = reference_prompt(tok, NumpyLlama(ckpt), tok.size, tok.token_to_id(bos) if bos else None)
        with open(os.path.join(pair, "numpy-reference.json"), "w") as f:
            json.dump({**ref, "newTokens": NEW_TOKENS, "tokenizerSize": tok.size}, f)

    # Graphs over 2 GB keep their weights in external data: the same pair saved that way.
    src, ext = os.path.join(a.out, "converted", "llama-mha"), os.path.join(a.out, "converted", "llama-mha-external")
    shutil.rmtree(ext, ignore_errors=True)
    shutil.copytree(src, ext)
    with open(os.path.join(ext, "overfill.json")) as f:
        manifest = json.load(f)
    for role in ("full", "decoder"):
        path = os.path.join(ext, manifest[role]["file"])
        save_onnx(onnx.load(path), path, external=True)
        manifest[role].update({"externalData": external_data_file(path), "sha256": sha256(path)})
    with open(os.path.join(ext, "overfill.json"), "w") as f:
        json.dump(manifest, f, indent=2)

    # Standard exports of the Qwen2 checkpoint, and a pair of them.
    qwen = os.path.join(a.out, "hf", "qwen2")
    full, _ = load_checkpoint(qwen)
    std = os.path.join(a.out, "optimum-qwen2")
    shutil.rmtree(std, ignore_errors=True)
    export_folder(full, qwen, std)
    tok = HfTokenizer.load(os.path.join(qwen, "tokenizer.json"))
    ref = reference_prompt(tok, NumpyLlama(qwen), tok.size, None)
    with open(os.path.join(std, "numpy-reference.json"), "w") as f:
        json.dump({**ref, "newTokens": NEW_TOKENS, "tokenizerSize": tok.size}, f)
    pair = os.path.join(a.out, "optimum-pair")
    shutil.rmtree(pair, ignore_errors=True)
    calib = torch.tensor([tok.encode(SNIPPET)[:64]])
    decoder = prune_width(full, activation_importance(full, calib), 32, 88).eval()
    export_optimum(full, os.path.join(pair, "full", "model.onnx"))
    export_optimum(decoder, os.path.join(pair, "decoder", "model.onnx"))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(qwen, f), os.path.join(pair, f))
    with open(os.path.join(a.out, "converted", "qwen2", "overfill.json")) as f:
        manifest = json.load(f)
    manifest.update({"name": "optimum-pair", "description": "two optimum-style exports paired by a manifest",
                     "kv": {**manifest["kv"], "cacheLayout": "hf"}, "io": {**manifest["io"], "logitsPositions": "all"},
                     "full": {"file": "full/model.onnx", "params": full.num_params()},
                     "decoder": {"file": "decoder/model.onnx", "params": decoder.num_params()}})
    with open(os.path.join(pair, "overfill.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    prompt = ref["promptIds"]
    refs = {}
    for mode in ("overfill", "full", "decoder"):
        ids, tops = greedy(full, decoder, prompt, NEW_TOKENS, mode)
        refs[mode] = {"ids": ids, "minTop2Margin": min(t["values"][0] - t["values"][1] for t in tops)}
    with open(os.path.join(pair, "reference.json"), "w") as f:
        json.dump({"promptIds": prompt, "newTokens": NEW_TOKENS, "modes": refs}, f)

    print(json.dumps({"out": a.out, "kinds": list(KINDS)}))


if __name__ == "__main__":
    main()
