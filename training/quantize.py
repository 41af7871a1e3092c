"""int8 weight quantization of an exported pair, with onnx + numpy only (no onnxruntime here).

Each MatMul whose weight is a 2-D float initializer becomes com.microsoft MatMulNBits with
bits=8: blocks of 32 weights along K share one scale; onnxruntime quantizes activations per
row and block (accuracy_level 4), so a token's result does not depend on which other tokens
share its run: prefilling in chunks, or from a cached prompt, gives the same logits as one
run (to float rounding). The older scheme "dq" (DynamicQuantizeMatMul: one activation scale
per run) does not have that property and is slower here; it stays for comparison.
The token embedding becomes an int8 table with one scale per row (Gather, Cast, Mul).
Norm weights, RoPE and everything else stay float32.

    /usr/bin/python3 -m training.quantize models/default          # rewrites full.onnx, decoder.onnx
    /usr/bin/python3 -m training.quantize SRC --out DST           # writes a quantized copy
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper

MS_DOMAIN = "com.microsoft"


def _per_column_int8(w: np.ndarray):
    """w [K, N] -> (int8 [K, N], scale [N]) with w ~= q * scale, symmetric."""
    scale = np.abs(w).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def _blockwise_uint8(w: np.ndarray, block: int):
    """w [K, N] -> MatMulNBits (bits=8) inputs: uint8 [N, K/block, block] with zero point 128, scales [N * K/block]."""
    k, n = w.shape
    blocks = -(-k // block)
    wt = np.zeros((n, blocks * block), dtype=np.float32)
    wt[:, :k] = w.T
    wt = wt.reshape(n, blocks, block)
    scale = np.abs(wt).max(axis=2) / 127.0
    scale[scale == 0] = 1.0
    q = (np.clip(np.round(wt / scale[:, :, None]), -127, 127) + 128).astype(np.uint8)
    return q, scale.astype(np.float32).reshape(-1)


def quantize_model(model: onnx.ModelProto, scheme: str = "nbits8", block: int = 32) -> dict:
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    uses = {}
    for n in g.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    new_nodes, drop, add = [], set(), []
    stats = {"matmuls": 0, "embeddings": 0, "bytes_before": 0, "bytes_after": 0}
    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is not None and len(w.dims) == 2 and w.data_type == onnx.TensorProto.FLOAT:
            arr = numpy_helper.to_array(w)
            base = n.input[1]
            if scheme == "nbits8":
                q, scale = _blockwise_uint8(arr, block)
                add += [numpy_helper.from_array(q, base + "_q"), numpy_helper.from_array(scale, base + "_scale")]
                new_nodes.append(helper.make_node("MatMulNBits", [n.input[0], base + "_q", base + "_scale"], list(n.output),
                                                  name=(n.name or base) + "_int8", domain=MS_DOMAIN, K=arr.shape[0],
                                                  N=arr.shape[1], bits=8, block_size=block, accuracy_level=4))
            else:
                q, scale = _per_column_int8(arr)
                add += [numpy_helper.from_array(q, base + "_q"), numpy_helper.from_array(scale, base + "_scale"),
                        numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), base + "_zp")]
                new_nodes.append(helper.make_node("DynamicQuantizeMatMul", [n.input[0], base + "_q", base + "_scale", base + "_zp"],
                                                  list(n.output), name=(n.name or base) + "_int8", domain=MS_DOMAIN))
            uses[base] -= 1
            if uses[base] == 0:
                drop.add(base)
            stats["matmuls"] += 1
            stats["bytes_before"] += arr.nbytes
            stats["bytes_after"] += q.nbytes + scale.nbytes * 2
            continue
        table = inits.get(n.input[0]) if n.op_type == "Gather" else None
        if table is not None and len(table.dims) == 2 and table.data_type == onnx.TensorProto.FLOAT:
            arr = numpy_helper.to_array(table)
            q_t, scale = _per_column_int8(arr.T)  # per row of the table
            base = n.input[0]
            add += [numpy_helper.from_array(np.ascontiguousarray(q_t.T), base + "_q"),
                    numpy_helper.from_array(scale[:, None], base + "_rowscale")]
            out = n.output[0]
            new_nodes += [
                helper.make_node("Gather", [base + "_q", n.input[1]], [out + "_q"], name=out + "_gather_q"),
                helper.make_node("Cast", [out + "_q"], [out + "_f"], to=onnx.TensorProto.FLOAT, name=out + "_cast"),
                helper.make_node("Gather", [base + "_rowscale", n.input[1]], [out + "_s"], name=out + "_gather_s"),
                helper.make_node("Mul", [out + "_f", out + "_s"], [out], name=out + "_dequant"),
            ]
            uses[base] -= 1
            if uses[base] == 0:
                drop.add(base)
            stats["embeddings"] += 1
            stats["bytes_before"] += arr.nbytes
            stats["bytes_after"] += q_t.nbytes + scale.nbytes
            continue
        new_nodes.append(n)
    del g.node[:]
    g.node.extend(new_nodes)
    kept = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(kept + add)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return stats


def quantize_folder(src: str, dst: str, scheme: str = "nbits8") -> dict:
    from .export import external_data_file, save_onnx, sha256
    if os.path.abspath(src) != os.path.abspath(dst):
        shutil.copytree(src, dst, dirs_exist_ok=True)
    with open(os.path.join(dst, "overfill.json")) as f:
        manifest = json.load(f)
    report = {}
    # The pair's graphs, and those it names for particular providers (manifest "providers").
    graphs = [(role, manifest[role]) for role in ("full", "decoder")]
    for provider, entry in manifest.get("providers", {}).items():
        graphs += [(f"{provider}.{role}", entry[role]) for role in ("full", "decoder")]
    for role, g in graphs:
        path = os.path.join(dst, g["file"])
        model = onnx.load(path)
        report[role] = quantize_model(model, scheme)
        save_onnx(model, path)
        g["sha256"] = sha256(path)
        g.pop("externalData", None)
        if external_data_file(path):
            g["externalData"] = external_data_file(path)
        g["weights"] = "int8-block32" if scheme == "nbits8" else "int8-per-column"
    with open(os.path.join(dst, "overfill.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--out")
    ap.add_argument("--scheme", choices=["nbits8", "dq"], default="nbits8")
    a = ap.parse_args()
    print(json.dumps(quantize_folder(a.folder, a.out or a.folder, a.scheme)))


if __name__ == "__main__":
    main()
