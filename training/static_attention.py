"""Expands the com.overfill::StaticAttention placeholders of an exported static-layout graph
into standard ONNX: one If per layer, on whether the run has more than one new token.

    decode step (one new token, the hot path): scores against the past buffer and against the
        new position, one softmax over both, two weighted sums. Nothing the size of the cache
        is written, so a step costs what attention reads.
    prefill chunk (many new tokens): past and new K/V are joined first, then one score matrix,
        one softmax, one weighted sum. Joining copies K/V ([KV, p+s, d]); keeping them apart
        would instead concatenate and slice the score matrix ([KV, g*s, p+s], g*s/d times
        larger). Measured on the default pair's shapes, a 1k-token prompt in chunks of 256:
        attention 12 ms joined against 30 ms apart.

Both branches compute model.static_attention; an If costs a few microseconds per layer.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DOMAIN = "com.overfill"
OP = "StaticAttention"


def _decode_branch(tag: str, qg: str, k: str, v: str, kp: str, vp: str, mask: str, out: str) -> onnx.GraphProto:
    n = lambda name: f"{tag}/decode/{name}"  # noqa: E731 (names unique across the model)
    nodes = [
        helper.make_node("Transpose", [kp], [n("kpT")], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", [qg, n("kpT")], [n("scores_past")]),
        helper.make_node("Transpose", [k], [n("kT")], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", [qg, n("kT")], [n("scores_new")]),
        helper.make_node("Concat", [n("scores_past"), n("scores_new")], [n("scores")], axis=-1),
        helper.make_node("Add", [n("scores"), mask], [n("masked")]),
        helper.make_node("Softmax", [n("masked")], [n("probs")], axis=-1),
        helper.make_node("Shape", [kp], [n("p")], start=2, end=3),
        helper.make_node("Slice", [n("probs"), "overfill_attn_zero", n("p"), "overfill_attn_axis"], [n("probs_past")]),
        helper.make_node("Slice", [n("probs"), n("p"), "overfill_attn_end", "overfill_attn_axis"], [n("probs_new")]),
        helper.make_node("MatMul", [n("probs_past"), vp], [n("y_past")]),
        helper.make_node("MatMul", [n("probs_new"), v], [n("y_new")]),
        helper.make_node("Add", [n("y_past"), n("y_new")], [out]),
    ]
    return helper.make_graph(nodes, f"{tag}/decode", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def _prefill_branch(tag: str, qg: str, k: str, v: str, kp: str, vp: str, mask: str, out: str) -> onnx.GraphProto:
    n = lambda name: f"{tag}/prefill/{name}"  # noqa: E731
    nodes = [
        helper.make_node("Concat", [kp, k], [n("keys")], axis=2),
        helper.make_node("Concat", [vp, v], [n("values")], axis=2),
        helper.make_node("Transpose", [n("keys")], [n("keysT")], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", [qg, n("keysT")], [n("scores")]),
        helper.make_node("Add", [n("scores"), mask], [n("masked")]),
        helper.make_node("Softmax", [n("masked")], [n("probs")], axis=-1),
        helper.make_node("MatMul", [n("probs"), n("values")], [out]),
    ]
    return helper.make_graph(nodes, f"{tag}/prefill", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def expand(model: onnx.ModelProto, input_ids: str = "input_ids") -> int:
    """Replaces every placeholder in place; returns how many there were."""
    g = model.graph
    found = [i for i, node in enumerate(g.node) if node.domain == DOMAIN and node.op_type == OP]
    if not found:
        return 0
    nodes = list(g.node)
    for i in found:
        ph = nodes[i]
        qg, k, v, kp, vp, mask = ph.input
        out = ph.output[0]
        tag = ph.name or out
        nodes[i] = helper.make_node(
            "If", ["overfill_attn_many_new"], [out], name=f"{tag}/if_prefill",
            then_branch=_prefill_branch(tag, qg, k, v, kp, vp, mask, f"{tag}/prefill/out"),
            else_branch=_decode_branch(tag, qg, k, v, kp, vp, mask, f"{tag}/decode/out"))
    # One condition for all layers, from the run's token count: input_ids is [1, s].
    head = [
        helper.make_node("Shape", [input_ids], ["overfill_attn_s"], start=1, end=2),
        helper.make_node("Greater", ["overfill_attn_s", "overfill_attn_one"], ["overfill_attn_many_vec"]),
        helper.make_node("Squeeze", ["overfill_attn_many_vec"], ["overfill_attn_many_new"]),
    ]
    del g.node[:]
    g.node.extend(head + nodes)
    for name, value in (("overfill_attn_one", 1), ("overfill_attn_zero", 0), ("overfill_attn_axis", 3),
                        ("overfill_attn_end", np.iinfo(np.int64).max)):
        g.initializer.append(numpy_helper.from_array(np.array([value], dtype=np.int64), name))
    kept = [op for op in model.opset_import if op.domain != DOMAIN]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return len(found)
