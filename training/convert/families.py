"""Which code-model family a tokenizer belongs to: its FIM, file-separator, BOS/EOS and stop
tokens and the prompt order it was trained on, from the table the engine also reads
(src/engine/tokenizer/modelFamilies.json). A table of known strings, as llama.cpp does,
because `special` flags are unreliable (Qwen's FIM tokens are "special": false).
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

TABLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "src", "engine", "tokenizer", "modelFamilies.json")
REQUIRED = ("fimPrefix", "fimSuffix", "fimMiddle", "endOfText")
OPTIONAL = ("fimPad", "fileSeparator", "repoName")


def _table() -> dict:
    with open(TABLE, encoding="utf-8") as f:
        return json.load(f)


def families() -> List[dict]:
    return _table()["families"]


def _token_text(value) -> Optional[str]:
    """tokenizer_config.json writes special tokens as strings or as {"content": ...}."""
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def vocabulary(tokenizer: dict) -> Dict[str, int]:
    vocab = dict(tokenizer["model"]["vocab"])
    for t in tokenizer.get("added_tokens", []):
        vocab[t["content"]] = t["id"]
    return vocab


def wants_bos(tokenizer: dict, config: dict) -> Optional[str]:
    """The BOS token when the tokenizer adds one: tokenizer_config's add_bos_token, or a
    TemplateProcessing post-processor that starts with it."""
    bos = _token_text(config.get("bos_token"))
    if config.get("add_bos_token") is True:
        return bos
    if config.get("add_bos_token") is None:
        post = tokenizer.get("post_processor") or {}
        steps = post.get("processors", [post]) if post.get("type") == "Sequence" else [post]
        for step in steps:
            if step.get("type") == "TemplateProcessing" and step.get("single"):
                first = step["single"][0]
                if "SpecialToken" in first:
                    return first["SpecialToken"]["id"]
    return None


def detect(tokenizer: dict, config: dict) -> dict:
    """The manifest's tokens block plus "family" and "fimOrder" ("none": prefix-only prompts)."""
    vocab = vocabulary(tokenizer)
    eos = _token_text(config.get("eos_token"))
    bos = wants_bos(tokenizer, config)
    for fam in families():
        if all(fam[k] in vocab for k in REQUIRED):
            tokens = {k: fam[k] for k in REQUIRED}
            tokens.update({k: fam[k] for k in OPTIONAL if k in fam and fam[k] in vocab})
            stop = [t for t in fam["stop"] if t in vocab]
            if eos and eos in vocab and eos not in stop:
                stop.append(eos)
            tokens["stop"] = stop
            if bos:
                tokens["bos"] = bos
            return {"family": fam["name"], "fimOrder": fam["order"], "tokens": tokens}
    table = _table()
    end = eos if eos in vocab else next((t for t in table["fallbackEndOfText"] if t in vocab), None)
    if end is None:
        raise ValueError("The tokenizer names no end-of-text token (eos_token in tokenizer_config.json) and has none of the usual ones; generation would never stop.")
    tokens = {"endOfText": end, "stop": [end] + [t for t in table["chatEnds"] if t in vocab and t != end]}
    if bos:
        tokens["bos"] = bos
    return {"family": None, "fimOrder": "none", "tokens": tokens}


def fim_tokens_warning(detected: dict) -> Optional[str]:
    if detected["family"] is None:
        return ("The tokenizer has no fill-in-the-middle tokens of a known family (Qwen2.5-Coder, DeepSeek-Coder, "
                "StarCoder, CodeLlama, CodeGemma): the pair will complete from the text before the cursor only.")
    return None
