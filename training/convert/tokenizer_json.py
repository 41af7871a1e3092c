"""Encode text with a Hugging Face tokenizer.json, in Python with `regex` only.

The conversion tokenizes the user's code with the checkpoint's own tokenizer; Debian has no
Python `tokenizers`, so this reads the file itself. It covers what the supported families use
(Qwen2/Qwen2.5, Llama 3, DeepSeek-Coder, StarCoder-style, Llama 2/CodeLlama): added tokens,
NFC/NFKC/Prepend/Replace normalizers, Split/ByteLevel/Digits/Metaspace pre-tokenizers and the
BPE model (string or pair merges, ignore_merges, byte_fallback). Anything else is refused by
name rather than tokenized differently from the engine (@huggingface/tokenizers); a test
checks both give the same ids on sample files.

    /usr/bin/python3 -m training.convert.tokenizer_json TOKENIZER.json FILE...   # prints ids as JSON
"""
from __future__ import annotations

import json
import sys
import unicodedata
from typing import Callable, Dict, List, Optional, Tuple

import regex

# GPT-2's byte -> character map, and its split pattern (ByteLevel with use_regex=true uses it).
from ..bpe import BYTE_CHARS, SPLIT as GPT2_SPLIT


class UnsupportedTokenizer(ValueError):
    """tokenizer.json uses a component this reader does not implement."""


# A pre-tokenizer maps a list of pieces to a list of pieces.
Pre = Callable[[List[str]], List[str]]


def _split_pieces(text: str, pattern, behavior: str, invert: bool) -> List[str]:
    """tokenizers' Split: matches and the gaps between them, combined by `behavior`."""
    spans: List[Tuple[str, bool]] = []  # (text, is_match)
    at = 0
    for m in pattern.finditer(text):
        if m.start() == m.end():
            continue
        if m.start() > at:
            spans.append((text[at:m.start()], False))
        spans.append((m.group(), True))
        at = m.end()
    if at < len(text):
        spans.append((text[at:], False))
    if invert:
        spans = [(t, not is_m) for t, is_m in spans]
    if behavior == "Isolated":
        return [t for t, _ in spans]
    if behavior == "Removed":
        return [t for t, is_m in spans if not is_m]
    if behavior == "MergedWithPrevious":
        out: List[str] = []
        for t, is_m in spans:
            if is_m and out:
                out[-1] += t
            else:
                out.append(t)
        return out
    if behavior == "MergedWithNext":
        out, pending = [], ""
        for t, is_m in spans:
            if is_m:
                pending += t
            else:
                out.append(pending + t)
                pending = ""
        return out + ([pending] if pending else [])
    if behavior == "Contiguous":
        out, last = [], None
        for t, is_m in spans:
            if out and is_m == last:
                out[-1] += t
            else:
                out.append(t)
            last = is_m
        return out
    raise UnsupportedTokenizer(f"Split behavior {behavior!r}")


def _pre_tokenizer(spec: Optional[dict]) -> Pre:
    if spec is None:
        return lambda pieces: pieces
    kind = spec["type"]
    if kind == "Sequence":
        steps = [_pre_tokenizer(s) for s in spec["pretokenizers"]]

        def seq(pieces: List[str]) -> List[str]:
            for step in steps:
                pieces = step(pieces)
            return pieces
        return seq
    if kind == "Split":
        pat = spec["pattern"]
        pattern = regex.compile(pat["Regex"] if "Regex" in pat else regex.escape(pat["String"]))
        behavior, invert = spec.get("behavior", "Isolated"), spec.get("invert", False)
        return lambda pieces: [q for p in pieces for q in _split_pieces(p, pattern, behavior, invert) if q]
    if kind == "ByteLevel":
        split = GPT2_SPLIT if spec.get("use_regex", True) else None
        prefix = spec.get("add_prefix_space", False)

        def byte_level(pieces: List[str]) -> List[str]:
            out = []
            for i, p in enumerate(pieces):
                if prefix and i == 0 and not p.startswith(" "):
                    p = " " + p
                for q in (split.findall(p) if split else [p]):
                    out.append("".join(BYTE_CHARS[b] for b in q.encode("utf-8")))
            return out
        return byte_level
    if kind == "Digits":
        pattern = regex.compile(r"\p{N}" if spec.get("individual_digits") else r"\p{N}+")
        return lambda pieces: [q for p in pieces for q in _split_pieces(p, pattern, "Isolated", False) if q]
    if kind == "Metaspace":
        rep = spec.get("replacement", "▁")
        scheme = spec.get("prepend_scheme", "always" if spec.get("add_prefix_space", True) else "never")
        do_split = spec.get("split", True)

        def metaspace(pieces: List[str]) -> List[str]:
            out = []
            for i, p in enumerate(pieces):
                p = p.replace(" ", rep)
                if (scheme == "always" or (scheme == "first" and i == 0)) and not p.startswith(rep):
                    p = rep + p
                if do_split:
                    out += [q for q in regex.split(f"(?={regex.escape(rep)})", p) if q]
                else:
                    out.append(p)
            return out
        return metaspace
    raise UnsupportedTokenizer(f"pre-tokenizer {kind!r}")


def _normalizer(spec: Optional[dict]) -> Callable[[str], str]:
    if spec is None:
        return lambda s: s
    kind = spec["type"]
    if kind in ("NFC", "NFKC", "NFD", "NFKD"):
        return lambda s: unicodedata.normalize(kind, s)
    if kind == "Sequence":
        steps = [_normalizer(s) for s in spec["normalizers"]]

        def seq(s: str) -> str:
            for step in steps:
                s = step(s)
            return s
        return seq
    if kind == "Prepend":
        return lambda s: spec["prepend"] + s if s else s
    if kind == "Replace":
        pat = spec["pattern"]
        pattern = regex.compile(pat["Regex"] if "Regex" in pat else regex.escape(pat["String"]))
        return lambda s: pattern.sub(spec["content"].replace("\\", "\\\\"), s)
    raise UnsupportedTokenizer(f"normalizer {kind!r}")


class HfTokenizer:
    """Encodes like tokenizers' `encode(text, add_special_tokens=False)`."""

    def __init__(self, spec: dict):
        model = spec["model"]
        if model.get("type", "BPE") != "BPE":
            raise UnsupportedTokenizer(f"model {model.get('type')!r} (only BPE)")
        if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
            raise UnsupportedTokenizer("BPE with continuing_subword_prefix / end_of_word_suffix")
        self.vocab: Dict[str, int] = dict(model["vocab"])
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.ignore_merges = bool(model.get("ignore_merges", False))
        self.byte_fallback = bool(model.get("byte_fallback", False))
        self.unk = model.get("unk_token")
        self.added = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
        for content, i in self.added.items():
            self.vocab.setdefault(content, i)
        # Longest first, so "<|fim_prefix|>" wins over any shorter token it contains.
        self.added_pattern = regex.compile("|".join(regex.escape(t) for t in sorted(self.added, key=len, reverse=True))) if self.added else None
        self.normalize = _normalizer(spec.get("normalizer"))
        self.pre = _pre_tokenizer(spec.get("pre_tokenizer"))
        self.cache: Dict[str, List[int]] = {}

    @staticmethod
    def load(path: str) -> "HfTokenizer":
        with open(path, encoding="utf-8") as f:
            return HfTokenizer(json.load(f))

    @property
    def size(self) -> int:
        return max(self.vocab.values()) + 1

    def token_to_id(self, token: str) -> Optional[int]:
        return self.vocab.get(token)

    def encode(self, text: str) -> List[int]:
        ids: List[int] = []
        at = 0
        for m in (self.added_pattern.finditer(text) if self.added_pattern else []):
            ids += self._encode_plain(text[at:m.start()])
            ids.append(self.added[m.group()])
            at = m.end()
        return ids + self._encode_plain(text[at:])

    def _encode_plain(self, text: str) -> List[int]:
        if not text:
            return []
        out: List[int] = []
        for piece in self.pre([self.normalize(text)]):
            cached = self.cache.get(piece)
            if cached is None:
                cached = self._bpe(piece)
                if len(self.cache) < 200_000:
                    self.cache[piece] = cached
            out += cached
        return out

    def _bpe(self, word: str) -> List[int]:
        if self.ignore_merges and word in self.vocab:
            return [self.vocab[word]]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = -1, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best < 0:
                break
            a, b = parts[best], parts[best + 1]
            merged, i = [], 0
            while i < len(parts):  # merge every occurrence of the pair, left to right
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids: List[int] = []
        for p in parts:
            if p in self.vocab:
                ids.append(self.vocab[p])
            elif self.byte_fallback:
                ids += [self.vocab[f"<0x{b:02X}>"] for b in p.encode("utf-8")]
            elif self.unk is not None and self.unk in self.vocab:
                ids.append(self.vocab[self.unk])
            else:
                raise UnsupportedTokenizer(f"piece {p!r} has no token and the tokenizer has no byte fallback or unknown token")
        return ids


def main() -> None:
    tok = HfTokenizer.load(sys.argv[1])
    out = {}
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            out[path] = tok.encode(f.read())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
