"""Random-weight OverFill pairs with realistic shapes for the benchmark (latency depends only
on shapes): a ~150M full model and its ~60M width-pruned decoder, fp32 and int8 weights with a
float32 KV cache, and int8 weights with an int8 KV cache; and a random checkpoint with
Qwen2.5-Coder-0.5B's published shapes and Qwen's real tokenizer, converted by training.convert
(keep 0.55, int8, no decoder training: latency does not depend on the weights).

    /usr/bin/python3 bench/make_bench_pairs.py [--out .cache/bench-pairs]
Skips pairs that already exist. Never used for training or tests.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from training import bpe  # noqa: E402
from training.export import write_pair  # noqa: E402
from training.model import LlamaLM, ModelConfig, init_random  # noqa: E402
from training.prune import activation_importance, prune_width  # noqa: E402
from training.quantize import quantize_folder  # noqa: E402

FULL_150M = ModelConfig(vocab_size=8192, hidden_size=1024, intermediate_size=2816, num_layers=12, num_heads=16,
                        num_kv_heads=4, head_dim=64, max_position=4096)
DECODER_HIDDEN, DECODER_INTERMEDIATE = 576, 1536
# Qwen2.5-Coder-0.5B (config.json as published): 24 layers, hidden 896, MLP 4864, 14 heads, 2 KV
# heads, head_dim 64, vocabulary 151,936, tied embeddings, q/k/v bias, theta 1e6.
QWEN_05B = {"hidden": 896, "mlp": 4864, "layers": 24, "heads": 14, "kv_heads": 2, "head_dim": 64}
QWEN_05B_CONFIG = {"rope_theta": 1000000.0, "tie_word_embeddings": True, "use_sliding_window": False, "rms_norm_eps": 1e-6}


def qwen_05b_pair(out: str) -> str:
    from training.testdata.hf_checkpoints import make_random_checkpoint
    pair = os.path.join(out, "qwen2.5-coder-0.5b-shape")
    if os.path.exists(os.path.join(pair, "overfill.json")):
        return pair
    ckpt = os.path.join(out, "_hf-qwen2.5-coder-0.5b-shape")
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        make_random_checkpoint(ckpt, "Qwen2ForCausalLM", "qwen", QWEN_05B, QWEN_05B_CONFIG, "BF16", std=0.02,
                               vocab_size=151936, max_position=32768, seed=5)
    subprocess.run([sys.executable, "-m", "training.convert", "--hf", ckpt, "--out", pair, "--data", os.path.join(ROOT, "training"),
                    "--keep", "0.55", "--steps", "0", "--calib-samples", "4", "--seq-len", "128", "--eval-batches", "0",
                    "--name", "qwen2.5-coder-0.5b-shape", "--gguf", "f32", "q8_0"], check=True, cwd=ROOT)
    shutil.rmtree(ckpt)
    return pair


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, ".cache", "bench-pairs"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    fp32 = os.path.join(a.out, "rand-150m-fp32")
    int8 = os.path.join(a.out, "rand-150m-int8")
    kv8 = os.path.join(a.out, "rand-150m-int8-kv8")
    tok_dir = os.path.join(a.out, "_tokenizer")
    models = []

    def pair():
        """The same random weights for every variant, made once."""
        if not models:
            files = sorted(glob.glob("/usr/lib/python3.*/[a-k]*.py"))[:60]
            vocab, merges = bpe.train([open(p, encoding="utf-8", errors="ignore").read() for p in files], FULL_150M.vocab_size)
            bpe.save(vocab, merges, tok_dir, FULL_150M.max_position)
            full = LlamaLM(FULL_150M)
            init_random(full, 11, std=0.02)
            calib = torch.randint(6, FULL_150M.vocab_size, (2, 64), generator=torch.Generator().manual_seed(11))
            models.extend([full, prune_width(full, activation_importance(full, calib), DECODER_HIDDEN, DECODER_INTERMEDIATE)])
        return models

    def quantized(src: str, dst: str, name: str) -> None:
        quantize_folder(src, dst)
        with open(os.path.join(dst, "overfill.json")) as f:
            m = json.load(f)
        m["name"] = name
        with open(os.path.join(dst, "overfill.json"), "w") as f:
            json.dump(m, f, indent=2)

    if not os.path.exists(os.path.join(fp32, "overfill.json")):
        write_pair(fp32, *pair(), tok_dir, "rand-150m-fp32", "random weights, realistic shapes (benchmark only)",
                   fim_order="spm")
    if not os.path.exists(os.path.join(int8, "overfill.json")):
        quantized(fp32, int8, "rand-150m-int8")
    if not os.path.exists(os.path.join(kv8, "overfill.json")):
        staging = kv8 + ".fp32"
        write_pair(staging, *pair(), tok_dir, "rand-150m-int8-kv8", "random weights, realistic shapes, int8 KV cache (benchmark only)",
                   fim_order="spm", kv_dtype="int8")
        quantized(staging, kv8, "rand-150m-int8-kv8")
        shutil.rmtree(staging)
    # The same weights for llama.cpp (npm run bench -- --vs-llamacpp): F32 and Q8_0, full and decoder.
    gguf_dir = os.path.join(fp32, "gguf")
    if not os.path.exists(os.path.join(gguf_dir, "decoder.q8_0.gguf")):
        from training.gguf import write_llama_gguf
        os.makedirs(gguf_dir, exist_ok=True)
        for kind in ("f32", "q8_0"):
            for role, module in zip(("full", "decoder"), pair()):
                write_llama_gguf(module.eval(), os.path.join(fp32, "tokenizer.json"), os.path.join(gguf_dir, f"{role}.{kind}.gguf"), kind, f"rand-150m-{role}")
    print(json.dumps({"pairs": [fp32, int8, kv8, qwen_05b_pair(a.out)]}))


if __name__ == "__main__":
    main()
