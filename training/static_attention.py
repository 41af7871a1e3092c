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

With an int8 KV cache (ten placeholder inputs: keys uint8 = int8 + 128, values int8, a float32
scale per row; model.int8_attention) the decode branch quantizes its query and probability rows
and runs both products as MatMulInteger on the cache as stored, so a step reads a quarter of the
bytes and converts nothing the size of the cache. The prefill branch converts the joined K/V
(small beside its score matrix) and computes in float32, which keeps its passes over the score
matrix as few as in the float cache's graph. The two branches therefore differ slightly (the
decode branch rounds queries and probabilities): the engine runs prompt positions in chunks of at
least two tokens, so a prompt position always takes the prefill branch, cached or not.
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


def _quantize_rows(n, name: str, x: str, magnitude: str, levels: str, to: int) -> list:
    """x to integers with one scale per row (last axis): scale = max(magnitude) / levels, floored
    at a tiny value so an all-zero row gives zeros. Outputs n(name + "_int") and n(name + "_scale")."""
    return [
        helper.make_node("ReduceMax", [magnitude], [n(f"{name}_max")], axes=[-1], keepdims=1),
        helper.make_node("Max", [n(f"{name}_max"), "overfill_int8_tiny"], [n(f"{name}_max_floor")]),
        helper.make_node("Div", [n(f"{name}_max_floor"), levels], [n(f"{name}_scale")]),
        helper.make_node("Div", [x, n(f"{name}_scale")], [n(f"{name}_div")]),
        helper.make_node("Round", [n(f"{name}_div")], [n(f"{name}_round")]),
        helper.make_node("Cast", [n(f"{name}_round")], [n(f"{name}_int")], to=to),
    ]


def _int8_decode_branch(tag: str, qg: str, k: str, v: str, ks: str, vs: str, kp: str, vp: str, kps: str, vps: str,
                        mask: str, out: str) -> onnx.GraphProto:
    n = lambda name: f"{tag}/decode/{name}"  # noqa: E731
    T = TensorProto
    nodes = [
        # Query rows to int8 (7 bits), one scale per row.
        helper.make_node("Abs", [qg], [n("q_abs")]),
        *_quantize_rows(n, "q", qg, n("q_abs"), "overfill_int8_q_levels", T.INT8),
        helper.make_node("Transpose", [n("q_int")], [n("q_intT")], perm=[0, 1, 3, 2]),
        # Keys as MatMulInteger's uint8 rows (zero point 128) against the query columns: the
        # cache is read as stored; the results [KV, p, g*s] are small and transposed after.
        helper.make_node("MatMulInteger", [kp, n("q_intT"), "overfill_int8_offset"], [n("sp_int")]),
        helper.make_node("MatMulInteger", [k, n("q_intT"), "overfill_int8_offset"], [n("sn_int")]),
        helper.make_node("Concat", [n("sp_int"), n("sn_int")], [n("sT_int")], axis=2),
        helper.make_node("Cast", [n("sT_int")], [n("sT_f")], to=T.FLOAT),
        helper.make_node("Transpose", [n("sT_f")], [n("scores_int")], perm=[0, 1, 3, 2]),
        helper.make_node("Mul", [n("scores_int"), n("q_scale")], [n("scores_q")]),
        helper.make_node("Concat", [kps, ks], [n("k_scales")], axis=-1),
        helper.make_node("Mul", [n("scores_q"), n("k_scales")], [n("scores")]),
        helper.make_node("Add", [n("scores"), mask], [n("masked")]),
        helper.make_node("Softmax", [n("masked")], [n("probs")], axis=-1),
        # Probabilities times value scales, to 0..127 per row.
        helper.make_node("Concat", [vps, vs], [n("v_scales")], axis=-1),
        helper.make_node("Mul", [n("probs"), n("v_scales")], [n("pv")]),
        *_quantize_rows(n, "p", n("pv"), n("pv"), "overfill_int8_p_levels", T.UINT8),  # pv >= 0
        helper.make_node("Shape", [kp], [n("p")], start=2, end=3),
        helper.make_node("Slice", [n("p_int"), "overfill_attn_zero", n("p"), "overfill_attn_axis"], [n("p_int_past")]),
        helper.make_node("Slice", [n("p_int"), n("p"), "overfill_attn_end", "overfill_attn_axis"], [n("p_int_new")]),
        helper.make_node("MatMulInteger", [n("p_int_past"), vp], [n("y_past")]),
        helper.make_node("MatMulInteger", [n("p_int_new"), v], [n("y_new")]),
        helper.make_node("Add", [n("y_past"), n("y_new")], [n("y_int")]),
        helper.make_node("Cast", [n("y_int")], [n("y_f")], to=T.FLOAT),
        helper.make_node("Mul", [n("y_f"), n("p_scale")], [out]),
    ]
    return helper.make_graph(nodes, f"{tag}/decode", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def _int8_prefill_branch(tag: str, qg: str, k: str, v: str, ks: str, vs: str, kp: str, vp: str, kps: str, vps: str,
                         mask: str, out: str) -> onnx.GraphProto:
    n = lambda name: f"{tag}/prefill/{name}"  # noqa: E731
    T = TensorProto
    nodes = [
        helper.make_node("Concat", [kp, k], [n("keys")], axis=2),
        helper.make_node("Concat", [vp, v], [n("values")], axis=2),
        helper.make_node("Concat", [kps, ks], [n("k_scales")], axis=-1),
        helper.make_node("Concat", [vps, vs], [n("v_scales")], axis=-1),
        helper.make_node("Cast", [n("keys")], [n("keys_f")], to=T.FLOAT),
        helper.make_node("Sub", [n("keys_f"), "overfill_int8_offset_f"], [n("keys_int")]),
        helper.make_node("Transpose", [n("keys_int")], [n("keysT")], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", [qg, n("keysT")], [n("scores_int")]),
        helper.make_node("Mul", [n("scores_int"), n("k_scales")], [n("scores")]),
        helper.make_node("Add", [n("scores"), mask], [n("masked")]),
        helper.make_node("Softmax", [n("masked")], [n("probs")], axis=-1),
        helper.make_node("Mul", [n("probs"), n("v_scales")], [n("pv")]),
        helper.make_node("Cast", [n("values")], [n("values_f")], to=T.FLOAT),
        helper.make_node("MatMul", [n("pv"), n("values_f")], [out]),
    ]
    return helper.make_graph(nodes, f"{tag}/prefill", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def expand(model: onnx.ModelProto, input_ids: str = "input_ids") -> int:
    """Replaces every placeholder in place; returns how many there were."""
    g = model.graph
    found = [i for i, node in enumerate(g.node) if node.domain == DOMAIN and node.op_type == OP]
    if not found:
        return 0
    nodes = list(g.node)
    int8 = False
    for i in found:
        ph = nodes[i]
        out = ph.output[0]
        tag = ph.name or out
        if len(ph.input) == 10:  # int8 cache: qg, k, v, ks, vs, kp, vp, kps, vps, mask
            int8 = True
            prefill, decode = _int8_prefill_branch, _int8_decode_branch
        else:  # qg, k, v, kp, vp, mask
            prefill, decode = _prefill_branch, _decode_branch
        nodes[i] = helper.make_node(
            "If", ["overfill_attn_many_new"], [out], name=f"{tag}/if_prefill",
            then_branch=prefill(tag, *ph.input, f"{tag}/prefill/out"),
            else_branch=decode(tag, *ph.input, f"{tag}/decode/out"))
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
    if int8:
        from .model import KV_INT8_OFFSET, KV_INT8_P_LEVELS, KV_INT8_Q_LEVELS, KV_INT8_TINY
        for name, value in (("overfill_int8_offset", np.array(KV_INT8_OFFSET, dtype=np.uint8)),
                            ("overfill_int8_offset_f", np.array(KV_INT8_OFFSET, dtype=np.float32)),
                            ("overfill_int8_tiny", np.array(KV_INT8_TINY, dtype=np.float32)),
                            ("overfill_int8_q_levels", np.array(KV_INT8_Q_LEVELS, dtype=np.float32)),
                            ("overfill_int8_p_levels", np.array(KV_INT8_P_LEVELS, dtype=np.float32))):
            g.initializer.append(numpy_helper.from_array(value, name))
    kept = [op for op in model.opset_import if op.domain != DOMAIN]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return len(found)
