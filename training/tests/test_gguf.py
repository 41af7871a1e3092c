"""training.gguf: the file parses back as written (header, metadata, aligned tensor data), Q8_0
blocks round-trip within half a step, and the q/k row order makes llama.cpp's adjacent-pair RoPE
compute what our half-split RoPE computes. (llama.cpp itself reads these files in
test/unit/llamaCppParity.test.ts.)

    /usr/bin/python3 -m pytest -q training/tests/test_gguf.py
"""
import os
import struct
import tempfile

import numpy as np

from training.gguf import ALIGNMENT, GgufWriter, Int32s, dequantize_q8_0, quantize_q8_0, rope_pairs_order


def read_gguf(path):
    """A minimal reader: metadata keys with their type, and tensor infos; checks the layout."""
    data = open(path, "rb").read()
    assert data[:4] == b"GGUF"
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
    pos = 24

    def string():
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        s = data[pos + 8:pos + 8 + n].decode()
        pos += 8 + n
        return s

    sizes = {4: 4, 5: 4, 6: 4, 7: 1, 10: 8}

    def skip(kind):
        nonlocal pos
        if kind == 8:
            string()
        elif kind == 9:
            item, count = struct.unpack_from("<IQ", data, pos)
            pos += 12
            for _ in range(count):
                skip(item)
            return item
        else:
            pos += sizes[kind]

    meta = {}
    for _ in range(n_kv):
        key = string()
        (kind,) = struct.unpack_from("<I", data, pos)
        pos += 4
        meta[key] = (kind, skip(kind))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        (nd,) = struct.unpack_from("<I", data, pos)
        dims = struct.unpack_from(f"<{nd}Q", data, pos + 4)
        kind, offset = struct.unpack_from("<IQ", data, pos + 4 + 8 * nd)
        pos += 4 + 8 * nd + 12
        tensors.append((name, dims, kind, offset))
    start = (pos + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
    return version, meta, tensors, data[start:]


def test_file_reads_back_with_aligned_tensors():
    w = GgufWriter()
    w.add("general.architecture", "llama")
    w.add("llama.block_count", 2)
    w.add("llama.rope.freq_base", 10000.0)
    w.add("tokenizer.ggml.tokens", ["a", "b", "c"])
    w.add("tokenizer.ggml.token_type", Int32s([1, 1, 3]))
    weight = np.arange(64 * 3, dtype=np.float32).reshape(3, 64)
    w.add_tensor("norm", np.ones(5, np.float32), "q8_0")  # 1-D stays f32
    w.add_tensor("w", weight, "f32")
    w.add_tensor("q", weight, "q8_0")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.gguf")
        w.write(path)
        version, meta, tensors, blob = read_gguf(path)
    assert version == 3
    assert meta["llama.block_count"] == (4, None)
    assert meta["tokenizer.ggml.token_type"] == (9, 5)  # an array of int32
    assert meta["tokenizer.ggml.tokens"] == (9, 8)
    assert [(n, d, k) for n, d, k, _ in tensors] == [("norm", (5,), 0), ("w", (64, 3), 0), ("q", (64, 3), 8)]
    assert all(off % ALIGNMENT == 0 for *_, off in tensors)
    off_w = tensors[1][3]
    assert np.array_equal(np.frombuffer(blob[off_w:off_w + weight.nbytes], np.float32).reshape(3, 64), weight)


def test_q8_0_round_trip_within_half_a_step():
    x = np.random.default_rng(0).normal(size=(8, 96)).astype(np.float32)
    back = dequantize_q8_0(quantize_q8_0(x), x.shape)
    step = np.abs(x.reshape(-1, 32)).max(axis=1) / 127.0
    err = np.abs(back - x).reshape(-1, 32).max(axis=1)
    assert np.all(err <= step * 0.5 + 1e-3 * step + 1e-7)


def rope_halves(v, pos, theta=10000.0):
    d = v.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    c, s = np.cos(pos * inv), np.sin(pos * inv)
    a, b = v[: d // 2], v[d // 2:]
    return np.concatenate([a * c - b * s, a * s + b * c])


def rope_pairs(v, pos, theta=10000.0):
    d = v.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    c, s = np.cos(pos * inv), np.sin(pos * inv)
    out = v.copy()
    out[0::2] = v[0::2] * c - v[1::2] * s
    out[1::2] = v[0::2] * s + v[1::2] * c
    return out


def test_rope_row_order_turns_half_rotation_into_pair_rotation():
    rng = np.random.default_rng(1)
    heads, head_dim, hidden = 3, 8, 10
    wq = rng.normal(size=(heads * head_dim, hidden))
    x = rng.normal(size=hidden)
    ours = (wq @ x).reshape(heads, head_dim)
    theirs = (rope_pairs_order(wq, heads) @ x).reshape(heads, head_dim)
    for h in range(heads):
        a, b = rope_halves(ours[h], 5), rope_pairs(theirs[h], 5)
        # The same values, in llama.cpp's order: attention scores (dot products) are unchanged.
        assert np.allclose(np.sort(a), np.sort(b))
        assert np.allclose(rope_halves(ours[h], 5) @ rope_halves(ours[h], 2), rope_pairs(theirs[h], 5) @ rope_pairs(theirs[h], 2))
