"""ONNX exports in the Hugging Face / optimum text-generation-with-past form, made with
torch.onnx from a checkpoint (the tests have no optimum): `input_ids`, `attention_mask`,
`position_ids`, `past_key_values.{i}.key|value` [batch, kv_heads, past, head_dim] -> `logits`
for every position and `present.{i}.key|value` (past + new), standard ops only, dynamic batch
and lengths, the first step run with a past of length 0. `half=True` stores the KV cache and the
logits as float16, as the `_fp16` variants do.
"""
from __future__ import annotations

import os
import shutil
import warnings

import torch

from ..model import LlamaLM

OPSET = 17


class _OptimumWrapper(torch.nn.Module):
    def __init__(self, model: LlamaLM, half: bool):
        super().__init__()
        self.model, self.half = model, half

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(self.model.cfg.num_layers)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past, last_only=False)
        out = [logits.half() if self.half else logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


@torch.no_grad()
def export_optimum(model: LlamaLM, path: str, half: bool = False) -> None:
    cfg = model.cfg
    model.eval().kv_precision("float16" if half else "float32")
    s, p = 3, 2  # a non-empty past while tracing, so no length is frozen
    kv_type = torch.float16 if half else torch.float32
    past = [torch.zeros(1, cfg.num_kv_heads, p, cfg.head_dim, dtype=kv_type)] * (2 * cfg.num_layers)
    ins = ["input_ids", "attention_mask", "position_ids"]
    outs = ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(cfg.num_layers):
        for part in ("key", "value"):
            ins.append(f"past_key_values.{i}.{part}")
            outs.append(f"present.{i}.{part}")
            axes[ins[-1]] = {0: "batch_size", 2: "past_sequence_length"}
            axes[outs[-1]] = {0: "batch_size", 2: "total_sequence_length"}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_OptimumWrapper(model, half), (torch.zeros(1, s, dtype=torch.long), torch.ones(1, p + s, dtype=torch.long),
                              torch.arange(p, p + s)[None], *past), path, input_names=ins, output_names=outs, dynamic_axes=axes,
                              opset_version=OPSET, do_constant_folding=True)
    finally:
        model.kv_precision("float32")


def export_folder(model: LlamaLM, checkpoint: str, folder: str, variants=("model", "model_fp16")) -> None:
    """An export folder as the Hub has them: config.json and tokenizer files at the top, graphs in onnx/."""
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(checkpoint, f)):
            shutil.copyfile(os.path.join(checkpoint, f), os.path.join(folder, f))
    for v in variants:
        export_optimum(model, os.path.join(folder, "onnx", f"{v}.onnx"), half=v.endswith("fp16"))
