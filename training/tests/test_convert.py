"""training.convert: checkpoints read as Hugging Face writes them match an independent numpy
forward pass; what cannot be converted is refused with a message naming it; the chunked loss,
resuming and external data behave.

    /usr/bin/python3 -m pytest -q training/tests/test_convert.py
"""
import json
import os
import random
import tempfile

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from training.convert.checkpoint import CheckpointError, load_checkpoint
from training.convert.data import FimFormat
from training.convert.decoder_training import TrainSettings, train_decoder
from training.convert.families import detect
from training.convert.handoff_loss import chunked_loss
from training.convert.tokenizer_json import HfTokenizer
from training.export import external_data_file, save_onnx
from training.prune import activation_importance, prune_width
from training.testdata.hf_checkpoints import KINDS, REFUSALS, make_checkpoint, make_refusal, npm_tokenizer
from training.testdata.numpy_llama import NumpyLlama

TMP = tempfile.mkdtemp(prefix="overfill-convert-")
IDS = [5, 17, 300, 42, 9, 1000, 77, 3, 2048, 11]


def checkpoint(kind: str) -> str:
    folder = os.path.join(TMP, kind)
    if not os.path.exists(os.path.join(folder, "config.json")):
        make_checkpoint(folder, kind, seed=3)
    return folder


@pytest.mark.parametrize("kind", list(KINDS))
def test_checkpoint_forward_matches_numpy_float64(kind):
    folder = checkpoint(kind)
    model, raw = load_checkpoint(folder)
    ref = NumpyLlama(folder).logits(IDS)
    with torch.no_grad():
        logits, _ = model(torch.tensor([IDS]), torch.ones(1, len(IDS), dtype=torch.long), torch.arange(len(IDS))[None], None, last_only=False)
    assert np.abs(logits[0].numpy() - ref).max() < 1e-3
    if raw.get("tie_word_embeddings"):
        assert model.lm_head.weight is model.embed_tokens.weight


def test_pruning_keeps_biases_tied_embeddings_and_the_kv_layout():
    model, _ = load_checkpoint(checkpoint("qwen2"))
    dec = prune_width(model, activation_importance(model, torch.tensor([IDS])), 32, 80)
    assert dec.lm_head.weight is dec.embed_tokens.weight
    assert dec.layers[0].self_attn.k_proj.bias.shape == model.layers[0].self_attn.k_proj.bias.shape
    assert (dec.cfg.num_layers, dec.cfg.num_kv_heads, dec.cfg.head_dim) == (model.cfg.num_layers, model.cfg.num_kv_heads, model.cfg.head_dim)
    mha, _ = load_checkpoint(checkpoint("llama-mha"))
    small = prune_width(mha, activation_importance(mha, torch.tensor([IDS[:6]])), 32, 80)
    assert small.layers[1].mlp.down_proj.bias.shape == (32,) and small.layers[1].self_attn.o_proj.bias.shape == (32,)


@pytest.mark.parametrize("what", list(REFUSALS))
def test_refusals_name_what_and_why(what):
    base = checkpoint("llama3" if what in ("missing-tensor", "misshapen-tensor") else "qwen2")
    if what in ("missing-tensor", "misshapen-tensor"):  # a single f32 file to edit
        base = os.path.join(TMP, "f32-single")
        if not os.path.exists(base):
            make_checkpoint(base, "qwen2", seed=5)
    folder = make_refusal(os.path.join(TMP, f"refuse-{what}"), what, base)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(folder)
    assert REFUSALS[what] in str(err.value)


def test_rope_frequencies_stay_float32_when_the_model_is_cast():
    model, _ = load_checkpoint(checkpoint("llama3"))
    want = model.inv_freq.clone()
    model.to(torch.bfloat16)
    assert model.inv_freq.dtype == torch.float32 and torch.equal(model.inv_freq, want)
    assert model.embed_tokens.weight.dtype == torch.bfloat16


def test_a_checkpoint_without_tokenizer_config_converts():
    import subprocess
    import sys
    folder = os.path.join(TMP, "no-tokenizer-config")
    make_checkpoint(folder, "llama-mha", seed=2)
    os.remove(os.path.join(folder, "tokenizer_config.json"))
    out = os.path.join(TMP, "no-tokenizer-config-pair")
    subprocess.run([sys.executable, "-m", "training.convert", "--hf", folder, "--out", out, "--data", os.path.dirname(__file__),
                    "--steps", "0", "--seq-len", "32", "--calib-samples", "2", "--eval-batches", "0", "--weights", "fp32"],
                   check=True, capture_output=True)
    manifest = json.load(open(os.path.join(out, "overfill.json")))
    assert "config" not in manifest["tokenizer"] and not os.path.exists(os.path.join(out, "tokenizer_config.json"))
    assert "pruned but not trained" in open(os.path.join(out, "README.md")).read()


def test_families_detected_from_the_npm_tokenizers():
    def files(name):
        d = npm_tokenizer(name)
        return json.load(open(os.path.join(d, "tokenizer.json"))), json.load(open(os.path.join(d, "tokenizer_config.json")))
    qwen = detect(*files("qwen"))
    assert qwen["family"] == "qwen2.5-coder" and qwen["fimOrder"] == "psm"
    assert qwen["tokens"]["fileSeparator"] == "<|file_sep|>"
    llama = detect(*files("llama3"))
    assert llama["family"] is None and llama["fimOrder"] == "none" and "fimPrefix" not in llama["tokens"]


def test_fim_samples_follow_the_family_format():
    tok = HfTokenizer.load(os.path.join(npm_tokenizer("qwen"), "tokenizer.json"))
    d = detect(json.load(open(os.path.join(npm_tokenizer("qwen"), "tokenizer.json"))), {})
    fim = FimFormat(tok, d["tokens"], d["fimOrder"])
    window = list(range(1000, 1040))
    rng = random.Random(0)
    samples = [fim.sample(window, rng, 39) for _ in range(40)]
    ids = {name: tok.token_to_id(d["tokens"][name]) for name in ("fimPrefix", "fimSuffix", "fimMiddle")}
    with_fim = [s for s in samples if s[0] == ids["fimPrefix"]]
    assert 5 < len(with_fim) < 35, "about half the samples are FIM"
    for s in with_fim:
        assert len(s) == 40 and s[-1] == tok.token_to_id(d["tokens"]["endOfText"])
        assert s.index(ids["fimPrefix"]) < s.index(ids["fimSuffix"]) < s.index(ids["fimMiddle"])
    assert all(s == window for s in samples if s[0] != ids["fimPrefix"])


def test_chunked_loss_equals_the_whole_loss():
    torch.manual_seed(0)
    hs, ht, w_s, w_t = torch.randn(37, 8, requires_grad=True), torch.randn(37, 12), torch.randn(50, 8), torch.randn(50, 12)
    target = torch.randint(0, 50, (37,))
    got = chunked_loss(hs, ht, target, w_s, w_t, 0.5, chunk=10)
    logits = hs @ w_s.t()
    want = 0.5 * F.cross_entropy(logits, target) + 0.5 * F.kl_div(F.log_softmax(logits, -1), F.log_softmax(ht @ w_t.t(), -1), log_target=True, reduction="batchmean")
    assert torch.allclose(got, want, atol=1e-5)
    got.backward()
    g_chunk = hs.grad.clone()
    hs.grad = None
    want.backward()
    assert torch.allclose(g_chunk, hs.grad, atol=1e-5)


def _tiny_run():
    full, _ = load_checkpoint(checkpoint("llama-mha"))
    full.requires_grad_(False)
    dec = prune_width(full, activation_importance(full, torch.tensor([IDS])), 32, 80).float()
    tok = HfTokenizer.load(os.path.join(checkpoint("llama-mha"), "tokenizer.json"))
    d = detect(json.load(open(os.path.join(checkpoint("llama-mha"), "tokenizer.json"))), {})
    data = np.array(tok.encode(open(__file__).read() * 3), dtype=np.uint16)
    return full, dec, data, FimFormat(tok, d["tokens"], d["fimOrder"])


def test_resume_continues_exactly_where_the_run_stopped():
    full, dec, data, fim = _tiny_run()
    straight = os.path.join(TMP, "straight")
    os.makedirs(straight)
    train_decoder(full, dec, data, fim, TrainSettings(steps=4, seq_len=32, batch=2), straight, resume=False, log=lambda m: None)
    full2, dec2, _, _ = _tiny_run()
    split = os.path.join(TMP, "split")
    os.makedirs(split)
    # Two steps, "interrupted" (the checkpoint of a 2-step run is the state after step 2) ...
    train_decoder(full2, dec2, data, fim, TrainSettings(steps=2, seq_len=32, batch=2), split, resume=False, log=lambda m: None)
    state = torch.load(os.path.join(split, "convert-state.pt"), weights_only=False)
    state["settings"]["steps"] = 4  # ... then resumed by a run asking for 4
    torch.save(state, os.path.join(split, "convert-state.pt"))
    _, dec3, _, _ = _tiny_run()
    report = train_decoder(full2, dec3, data, fim, TrainSettings(steps=4, seq_len=32, batch=2), split, resume=True, log=lambda m: None)
    assert report["steps"] == 4
    for (name, a), (_, b) in zip(dec.state_dict().items(), dec3.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_large_graphs_keep_their_weights_in_one_external_data_file():
    from onnx import helper, numpy_helper
    w = numpy_helper.from_array(np.random.rand(64, 64).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])], [w])
    path = os.path.join(TMP, "ext", "g.onnx")
    os.makedirs(os.path.dirname(path))
    save_onnx(helper.make_model(graph), path, external=True)
    assert external_data_file(path) == "g.onnx.data"
    assert os.path.getsize(path) < 1000 and os.path.getsize(path + ".data") >= 64 * 64 * 4
    back = onnx.load(path)
    assert np.array_equal(numpy_helper.to_array(back.graph.initializer[0]), numpy_helper.to_array(w))
    save_onnx(back, path)  # small again: inline, and the stale data file is gone
    assert external_data_file(path) is None
