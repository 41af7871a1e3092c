"""Random-weight OverFill pairs for the tests (and the placeholder default model).

Until the trained default pair exists, these pairs exercise the whole path: the tokenizer is
a real byte-level BPE trained on local source files, the decoder is really width-pruned from
the full model by activation importance, and reference.json holds PyTorch's greedy ids that
the engine must reproduce token for token.

    /usr/bin/python3 training/make_fixtures.py                     # test/fixtures/generated/
    /usr/bin/python3 training/make_fixtures.py --default models/default
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
from dataclasses import replace

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import bpe  # noqa: E402
from training.export import write_pair, write_reference  # noqa: E402
from training.model import LlamaLM, ModelConfig, init_random  # noqa: E402
from training.prune import activation_importance, prune_width  # noqa: E402
from training.quantize import quantize_folder  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ModelConfig(vocab_size=1024, hidden_size=64, intermediate_size=192, num_layers=2,
                   num_heads=4, num_kv_heads=2, head_dim=16, max_position=2048)
PLACEHOLDER = ModelConfig(vocab_size=1024, hidden_size=128, intermediate_size=384, num_layers=4,
                          num_heads=4, num_kv_heads=2, head_dim=32, max_position=2048)
REFERENCE_PROMPT = "<fim_prefix>function add(a: number, b: number): number {\n  return <fim_suffix>;\n}\n<fim_middle>"


def tokenizer_sources() -> list:
    """Local, licence-clean, stable text: 60 modules of Debian's Python standard library."""
    files = sorted(glob.glob("/usr/lib/python3.*/[a-k]*.py"))[:60]
    assert files, "no Python standard library under /usr/lib/python3.*: install python3"
    return files


def build_tokenizer(folder: str, vocab_size: int) -> bpe.BpeTokenizer:
    texts = [open(p, encoding="utf-8", errors="ignore").read() for p in tokenizer_sources()]
    vocab, merges = bpe.train(texts, vocab_size)
    bpe.save(vocab, merges, folder, 2048)
    return bpe.BpeTokenizer(vocab, merges)


def make_pair(folder: str, cfg: ModelConfig, seed: int, tok_dir: str, tok: bpe.BpeTokenizer,
              name: str, description: str, shrink: float = 0.5, reference: bool = True,
              cache_layout: str = "static", fim_order: str = "psm", kv_dtype: str = "float32", webgpu_graphs: bool = False) -> tuple:
    # Exact-token tests need clear argmax winners: the first seed (seed, seed+1000, ...) whose
    # greedy runs never have a top-2 logit gap under 1e-3 is used.
    for attempt in range(20):
        s = seed + 1000 * attempt
        full = LlamaLM(cfg)
        init_random(full, s, std=0.25)
        calib = torch.randint(len(bpe.SPECIAL_TOKENS), cfg.vocab_size, (4, 64), generator=torch.Generator().manual_seed(s))
        imp = activation_importance(full, calib)
        decoder = prune_width(full, imp, int(cfg.hidden_size * shrink), int(cfg.intermediate_size * shrink))
        write_pair(folder, full, decoder, tok_dir, name, description, cache_layout=cache_layout, kv_dtype=kv_dtype,
                   extra={"fimOrder": fim_order, "seed": s}, webgpu_graphs=webgpu_graphs)
        if not reference:
            return full, decoder
        prompt = tok.encode(REFERENCE_PROMPT)
        ref = write_reference(folder, full, decoder, prompt, 12, REFERENCE_PROMPT)
        if min(m["minTop2Margin"] for m in ref["modes"].values()) > 1e-3:
            return full, decoder
    raise RuntimeError(f"{name}: no seed gave clear greedy margins")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "generated"))
    ap.add_argument("--default", help="write only the placeholder default pair into this folder")
    a = ap.parse_args()
    torch.set_num_threads(2)
    tok_dir = os.path.join(a.out if not a.default else a.default, "_tokenizer")
    tok = build_tokenizer(tok_dir, TINY.vocab_size)
    if a.default:
        make_pair(a.default, PLACEHOLDER, 7, tok_dir, tok, "placeholder-random",
                  "Random-weight placeholder pair: exercises the engine; its suggestions are noise.",
                  reference=False, fim_order="spm")
        quantize_folder(a.default, a.default)
    else:
        full_a, decoder_a = make_pair(os.path.join(a.out, "pair-a"), TINY, 1, tok_dir, tok, "fixture-a", "tiny random pair A")
        # Pair A's full model and decoder for llama.cpp (the benchmark's comparison; its parity test).
        from training.gguf import write_llama_gguf
        os.makedirs(os.path.join(a.out, "gguf"), exist_ok=True)
        for role, module in (("full", full_a), ("decoder", decoder_a)):
            write_llama_gguf(module.eval(), os.path.join(a.out, "pair-a", "tokenizer.json"), os.path.join(a.out, "gguf", f"pair-a-{role}.f32.gguf"), "f32", f"fixture-a-{role}")
        make_pair(os.path.join(a.out, "pair-b"), TINY, 2, tok_dir, tok, "fixture-b", "tiny random pair B")
        # Pair A with int8 weights; its reference.json stays the fp32 one.
        quantize_folder(os.path.join(a.out, "pair-a"), os.path.join(a.out, "pair-a-int8"))
        # Pair A's weights exported with the standard HF/optimum cache layout.
        make_pair(os.path.join(a.out, "pair-a-hf"), TINY, 1, tok_dir, tok, "fixture-a-hf", "pair A, HF cache layout",
                  cache_layout="hf")
        # Pair A with hf-layout graphs for WebGPU beside its static ones (manifest "providers").
        make_pair(os.path.join(a.out, "pair-a-webgpu"), TINY, 1, tok_dir, tok, "fixture-a-webgpu", "pair A, with WebGPU graphs",
                  webgpu_graphs=True)
        # Pair A with a float16 KV cache (its reference.json is computed with float16 KV too).
        make_pair(os.path.join(a.out, "pair-a-f16"), TINY, 1, tok_dir, tok, "fixture-a-f16", "pair A, float16 KV",
                  kv_dtype="float16")
        # Pair A with an int8 KV cache (its reference.json is computed with int8 KV too).
        make_pair(os.path.join(a.out, "pair-a-i8kv"), TINY, 1, tok_dir, tok, "fixture-a-i8kv", "pair A, int8 KV",
                  kv_dtype="int8")
        # A decoder whose KV layout does not match its full model: twice the KV heads.
        mis = os.path.join(a.out, "mismatched")
        make_pair(mis, TINY, 3, tok_dir, tok, "fixture-mismatched", "decoder KV heads differ",
                            reference=False)
        bad = LlamaLM(replace(TINY, hidden_size=32, intermediate_size=96, num_kv_heads=4))
        init_random(bad, 4)
        from training.export import export_graph
        export_graph(bad, os.path.join(mis, "decoder.onnx"))
        reseal(mis)
        # A decoder that keeps the KV shape but stores it as float16 while its full model uses float32.
        mis_dtype = os.path.join(a.out, "mismatched-dtype")
        _, dec = make_pair(mis_dtype, TINY, 5, tok_dir, tok, "fixture-mismatched-dtype", "decoder KV dtype differs",
                           reference=False)
        export_graph(dec, os.path.join(mis_dtype, "decoder.onnx"), kv_dtype="float16")
        reseal(mis_dtype)
        # Pair A whose full model takes int32 input_ids: it loads, and would fail at its first run.
        wrong_ids = os.path.join(a.out, "wrong-ids-dtype")
        shutil.copytree(os.path.join(a.out, "pair-a"), wrong_ids, dirs_exist_ok=True)
        retype_input(os.path.join(wrong_ids, "full.onnx"), "input_ids", "INT32")
        reseal(wrong_ids)
        with open(os.path.join(a.out, "README.md"), "w") as f:
            f.write("Generated by training/make_fixtures.py; not committed.\n")
    for p in glob.glob(os.path.join(tok_dir, "*")):
        os.remove(p)
    os.rmdir(tok_dir)
    print(json.dumps({"out": a.default or a.out}))


def retype_input(graph: str, name: str, elem_type: str) -> None:
    """Declares a graph input with another element type (the nodes reading it accept both)."""
    import onnx
    model = onnx.load(graph)
    for value in model.graph.input:
        if value.name == name:
            value.type.tensor_type.elem_type = getattr(onnx.TensorProto, elem_type)
    onnx.save(model, graph)


def reseal(folder: str) -> None:
    """A swapped graph gets its own sha256 in the manifest: the fixture tests the KV layout check, not the hash."""
    from training.export import sha256
    path = os.path.join(folder, "overfill.json")
    with open(path) as f:
        manifest = json.load(f)
    for role in ("full", "decoder"):
        manifest[role]["sha256"] = sha256(os.path.join(folder, manifest[role]["file"]))
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
