"""Export an OverFill pair (full model + pruned decoder) as a model folder the engine reads.

Folder: overfill.json (manifest), full.onnx, decoder.onnx, tokenizer.json,
tokenizer_config.json, and optionally reference.json (PyTorch greedy ids for the tests).
Graph I/O uses the HF/optimum names; see docs/model-format.md.

Used as a library: make_fixtures.py drives it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from typing import Dict, List, Optional

import onnx
import torch

from . import fuse_matmuls, static_attention
from .model import LlamaLM, empty_past

OPSET = 17
FORMAT_VERSION = 1
# protobuf cannot hold a message over 2 GB: larger graphs keep their weights in one
# "<graph>.data" file beside the graph (ONNX external data), which onnxruntime reads from there.
EXTERNAL_DATA_BYTES = 1_800_000_000
# The StarCoder-style control tokens of training/bpe.py's tokenizers (our own pairs).
OWN_TOKENS = {"fimPrefix": "<fim_prefix>", "fimSuffix": "<fim_suffix>", "fimMiddle": "<fim_middle>",
              "endOfText": "<|endoftext|>", "fileSeparator": "<file_sep>",
              "stop": ["<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"]}


# KV cache layouts a graph can have (manifest: kv.cacheLayout); past is [b, KV, p, d] in both:
#   hf:      present = past + new [b, KV, p+s, d] (HF/optimum; each step returns the whole cache)
#   static:  past is the engine's preallocated buffer, unused slots masked by attention_mask;
#            present = the new positions only [b, KV, s, d], which the engine writes into the
#            buffer. No step copies the cache, in the graph or out of it.
CACHE_LAYOUTS = ("hf", "static")
# KV element types (manifest kv.dtype); attention computes in float32 either way. float16 halves
# the cache's memory, but the graph must cast the whole past to float32 on every run, and on
# CPU those Casts cost what the smaller reads save (150M int8 decoder at 2048 context: attention
# matmuls ~45% cheaper, Casts 2.1 of 11.8 ms per step; see docs/model-format.md). float32 is the default.
# int8 (static layout only) stores each key and value row as int8 with a float32 scale: a quarter
# of float32's bytes, read as stored by the decode steps' MatMulInteger (static_attention.py).
KV_DTYPES = ("float32", "float16", "int8")


def past_tensors_per_layer(kv_dtype: str) -> int:
    """key, value; int8 adds key_scale, value_scale."""
    return 4 if kv_dtype == "int8" else 2


class _OnnxWrapper(torch.nn.Module):
    """Flattens the per-layer past into positional inputs for torch.onnx.export."""

    def __init__(self, model: LlamaLM, static: bool, per_layer: int):
        super().__init__()
        self.model = model
        self.static = static
        self.per_layer = per_layer

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        n = self.per_layer
        past = [tuple(flat_past[n * i:n * (i + 1)]) for i in range(self.model.cfg.num_layers)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past, last_only=True,
                                      static=self.static)
        out = [logits]
        for present in presents:
            out += list(present)
        return tuple(out)


def io_names(num_layers: int, kv_dtype: str = "float32"):
    parts = ["key", "value", "key_scale", "value_scale"][:past_tensors_per_layer(kv_dtype)]
    ins = ["input_ids", "attention_mask", "position_ids"]
    outs = ["logits"]
    for i in range(num_layers):
        ins += [f"past_key_values.{i}.{part}" for part in parts]
        outs += [f"present.{i}.{part}" for part in parts]
    return ins, outs


@torch.no_grad()
def export_graph(model: LlamaLM, path: str, cache_layout: str = "static", kv_dtype: str = "float32") -> None:
    """One graph for prefill and decode steps; logits only for the last position ([b, 1, V])."""
    assert cache_layout in CACHE_LAYOUTS and kv_dtype in KV_DTYPES
    assert kv_dtype != "int8" or cache_layout == "static", "an int8 KV cache needs the static cache layout"
    static = cache_layout == "static"
    cfg = model.cfg
    model.eval()
    s, p = 3, 2
    ids = torch.zeros(1, s, dtype=torch.long)
    mask = torch.ones(1, p + s, dtype=torch.long)
    pos = torch.arange(p, p + s)[None]
    past = []
    for _ in range(cfg.num_layers):
        if kv_dtype == "int8":
            kv = torch.zeros(1, cfg.num_kv_heads, p, cfg.head_dim)
            scale = torch.ones(1, cfg.num_kv_heads, 1, p)
            past += [kv.to(torch.uint8), kv.to(torch.int8), scale, scale]
        else:
            past += [torch.zeros(1, cfg.num_kv_heads, p, cfg.head_dim, dtype=getattr(torch, kv_dtype))] * 2
    ins, outs = io_names(cfg.num_layers, kv_dtype)
    # Batch is fixed at 1 (an editor completes one cursor at a time); lengths are symbolic.
    axes: Dict[str, Dict[int, str]] = {
        "input_ids": {1: "sequence"},
        "attention_mask": {1: "total_sequence"},
        "position_ids": {1: "sequence"},
    }
    # Scales are [b, KV, 1, positions]: one per row, laid out as a row per head.
    for name in ins[3:]:
        axes[name] = {3 if name.endswith("_scale") else 2: "past_sequence"}
    for name in outs[1:]:
        axes[name] = {3 if name.endswith("_scale") else 2: "sequence" if static else "total_sequence"}
    model.export_mode(True).kv_precision(kv_dtype)
    # torch writes a graph over 2 GB as one file per weight: export into a scratch folder, then
    # save the final graph (save_onnx joins its weights into one external-data file).
    scratch = tempfile.mkdtemp(prefix=".export-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        raw = os.path.join(scratch, "graph.onnx")
        with warnings.catch_warnings():  # torch 1.13 warns per custom op that it cannot infer its shapes
            warnings.filterwarnings("ignore", message=".*shape inference of com\\.(microsoft|overfill)::")
            warnings.filterwarnings("ignore", message=".*_graph_op' is deprecated")
            torch.onnx.export(_OnnxWrapper(model, static, past_tensors_per_layer(kv_dtype)), (ids, mask, pos, *past), raw, input_names=ins,
                              output_names=outs, dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True,
                              custom_opsets={"com.microsoft": 1, static_attention.DOMAIN: 1})
        graph = onnx.load(raw)
        if static:
            static_attention.expand(graph)
        fuse_matmuls.fuse_shared_input_matmuls(graph)
        save_onnx(graph, path)
    finally:
        model.export_mode(False).kv_precision("float32")
        shutil.rmtree(scratch, ignore_errors=True)


def weight_bytes(model: onnx.ModelProto) -> int:
    return sum(t.ByteSize() for t in model.graph.initializer)


def save_onnx(model: onnx.ModelProto, path: str, external: Optional[bool] = None) -> None:
    """Saves a graph (its weights loaded in memory); over EXTERNAL_DATA_BYTES of weights (or with
    external=True) the initializers go to one "<file>.data" beside it, else into the file."""
    data = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.basename(path) + ".data")
    if external is None:
        external = weight_bytes(model) > EXTERNAL_DATA_BYTES
    if os.path.exists(data):
        os.remove(data)  # a stale one from an earlier save; its weights are in memory now
    if external:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(data), size_threshold=1024)
    else:
        onnx.save(model, path)


def external_data_file(path: str) -> Optional[str]:
    """The external-data file a saved graph reads, if any (its name relative to the graph)."""
    data = os.path.basename(path) + ".data"
    return data if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(path)), data)) else None


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_pair(folder: str, full: LlamaLM, decoder: LlamaLM, tokenizer_dir: str, name: str,
               description: str, fim_order: str = "psm", extra: Optional[dict] = None,
               cache_layout: str = "static", kv_dtype: str = "float32", tokens: Optional[dict] = None,
               webgpu_graphs: bool = False) -> dict:
    """Export both graphs, copy the tokenizer, write overfill.json. Returns the manifest.
    tokens: the manifest's tokens block (default: our own tokenizer's StarCoder-style names).
    webgpu_graphs: also write hf-layout, float32-KV graphs in webgpu/ (manifest "providers"): under
    WebGPU their present KV stays on the GPU between steps, which the static layout's cannot."""
    os.makedirs(folder, exist_ok=True)
    export_graph(full, os.path.join(folder, "full.onnx"), cache_layout, kv_dtype)
    export_graph(decoder, os.path.join(folder, "decoder.onnx"), cache_layout, kv_dtype)
    if webgpu_graphs:
        os.makedirs(os.path.join(folder, "webgpu"), exist_ok=True)
        export_graph(full, os.path.join(folder, "webgpu", "full.onnx"), "hf", "float32")
        export_graph(decoder, os.path.join(folder, "webgpu", "decoder.onnx"), "hf", "float32")
    shutil.copyfile(os.path.join(tokenizer_dir, "tokenizer.json"), os.path.join(folder, "tokenizer.json"))
    has_config = os.path.exists(os.path.join(tokenizer_dir, "tokenizer_config.json"))  # optional in HF checkpoints
    if has_config:
        shutil.copyfile(os.path.join(tokenizer_dir, "tokenizer_config.json"), os.path.join(folder, "tokenizer_config.json"))
    fc, dc = full.cfg, decoder.cfg

    def graph(file: str, m: LlamaLM) -> dict:
        info = {"file": file, "params": m.num_params(), "hiddenSize": m.cfg.hidden_size,
                "intermediateSize": m.cfg.intermediate_size, "sha256": sha256(os.path.join(folder, file))}
        data = external_data_file(os.path.join(folder, file))
        return {**info, "externalData": data} if data else info

    manifest = {
        "format": "overfill-pair",
        "formatVersion": FORMAT_VERSION,
        "name": name,
        "description": description,
        "architecture": "llama",
        "vocabSize": fc.vocab_size,
        "contextLength": fc.max_position,
        "kv": {"numLayers": fc.num_layers, "numKvHeads": fc.num_kv_heads, "headDim": fc.head_dim,
               "dtype": kv_dtype, "cacheLayout": cache_layout},
        "full": graph("full.onnx", full),
        "decoder": graph("decoder.onnx", decoder),
        "tokenizer": {"file": "tokenizer.json", **({"config": "tokenizer_config.json"} if has_config else {})},
        "tokens": tokens or OWN_TOKENS,
        "fimOrder": fim_order,
        "io": {"inputIds": "input_ids", "attentionMask": "attention_mask", "positionIds": "position_ids",
               "pastKey": "past_key_values.{i}.key", "pastValue": "past_key_values.{i}.value",
               "presentKey": "present.{i}.key", "presentValue": "present.{i}.value",
               **({"pastKeyScale": "past_key_values.{i}.key_scale", "pastValueScale": "past_key_values.{i}.value_scale",
                   "presentKeyScale": "present.{i}.key_scale", "presentValueScale": "present.{i}.value_scale"}
                  if kv_dtype == "int8" else {}),
               "logits": "logits", "logitsPositions": "last"},
        "opset": OPSET,
    }
    if webgpu_graphs:
        manifest["providers"] = {"webgpu": {"full": graph("webgpu/full.onnx", full), "decoder": graph("webgpu/decoder.onnx", decoder),
                                            "kv": {"dtype": "float32", "cacheLayout": "hf"}}}
    assert (dc.num_layers, dc.num_kv_heads, dc.head_dim) == (fc.num_layers, fc.num_kv_heads, fc.head_dim), \
        "decoder must keep the full model's KV layout"
    if extra:
        manifest.update(extra)
    with open(os.path.join(folder, "overfill.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


@torch.no_grad()
def greedy(full: LlamaLM, decoder: LlamaLM, prompt: List[int], n_new: int, mode: str, kv_dtype: str = "float32"):
    """Greedy generation as the engine does it. mode: overfill | full | decoder.

    The prefill model writes the prompt's KV and picks the first token; the step model
    generates the rest, attending to that KV. Returns (ids, per-step top-5 logits)."""
    full.kv_precision(kv_dtype)
    decoder.kv_precision(kv_dtype)
    try:
        return _greedy(full, decoder, prompt, n_new, mode, kv_dtype)
    finally:
        full.kv_precision("float32")
        decoder.kv_precision("float32")


def _greedy(full: LlamaLM, decoder: LlamaLM, prompt: List[int], n_new: int, mode: str, kv_dtype: str):
    prefill_m = decoder if mode == "decoder" else full
    step_m = full if mode == "full" else decoder
    n = len(prompt)
    ids = torch.tensor([prompt])
    logits, past = prefill_m(ids, torch.ones(1, n, dtype=torch.long), torch.arange(n)[None],
                             empty_past(prefill_m.cfg, kv_dtype=kv_dtype))
    out, tops = [], []
    for step in range(n_new):
        last = logits[0, -1]
        tok = int(torch.argmax(last))
        top = torch.topk(last, 5)
        tops.append({"ids": top.indices.tolist(), "values": [round(float(v), 6) for v in top.values]})
        out.append(tok)
        if step == n_new - 1:
            break
        t = n + step
        logits, past = step_m(torch.tensor([[tok]]), torch.ones(1, t + 1, dtype=torch.long),
                              torch.tensor([[t]]), past)
    return out, tops


def write_reference(folder: str, full: LlamaLM, decoder: LlamaLM, prompt: List[int], n_new: int,
                    prompt_text: Optional[str] = None) -> dict:
    """PyTorch's greedy ids and top-5 logits per mode, with the KV precision the folder declares."""
    with open(os.path.join(folder, "overfill.json")) as f:
        kv_dtype = json.load(f)["kv"].get("dtype", "float32")
    ref = {"promptIds": prompt, "promptText": prompt_text, "newTokens": n_new, "kvDtype": kv_dtype, "modes": {}}
    for mode in ("overfill", "full", "decoder"):
        ids, tops = greedy(full, decoder, prompt, n_new, mode, kv_dtype)
        margin = min(t["values"][0] - t["values"][1] for t in tops)
        ref["modes"][mode] = {"ids": ids, "top5": tops, "minTop2Margin": margin}
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    return ref
