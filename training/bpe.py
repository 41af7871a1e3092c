"""Byte-level BPE: train on text, write tokenizer.json (+ tokenizer_config.json), encode.

The files follow the Hugging Face `tokenizers` format (ByteLevel pre-tokenizer with the GPT-2
split pattern, BPE model, ByteLevel decoder) so @huggingface/tokenizers in the engine reads
them and produces the same ids as `BpeTokenizer.encode` here.

    /usr/bin/python3 -m training.bpe --files a.py b.ts --vocab 2048 --out folder/
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Tuple

import regex

# GPT-2's split pattern, the one the ByteLevel pre-tokenizer uses with use_regex=true.
SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

# Control tokens, ids 0.. in this order. Names follow the StarCoder convention.
SPECIAL_TOKENS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<file_sep>", "<pad>"]


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHARS = bytes_to_unicode()


def pretokenize(text: str) -> List[str]:
    return ["".join(BYTE_CHARS[b] for b in piece.encode("utf-8")) for piece in SPLIT.findall(text)]


def train(texts: Iterable[str], vocab_size: int) -> Tuple[Dict[str, int], List[Tuple[str, str]]]:
    """Classic BPE with incremental pair counts: merge the most frequent adjacent pair until
    the vocabulary (specials + 256 bytes + merges) reaches vocab_size."""
    word_freq: Counter = Counter()
    for t in texts:
        word_freq.update(pretokenize(t))
    words = [list(w) for w in word_freq]
    freqs = [word_freq[w] for w in word_freq]
    pair_count: Counter = Counter()
    where: Dict[Tuple[str, str], set] = defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for b in range(256):
        vocab[BYTE_CHARS[b]] = len(vocab)
    merges: List[Tuple[str, str]] = []
    # max-heap of (-count, pair) with lazy invalidation; ties go to the smallest pair
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        neg, best = heapq.heappop(heap)
        if pair_count.get(best, 0) != -neg:
            continue  # stale entry
        if -neg < 2:
            break
        merged = best[0] + best[1]
        merges.append(best)
        vocab[merged] = len(vocab)
        touched = set()
        for i in sorted(where[best]):
            w, f = words[i], freqs[i]
            for a, b in zip(w, w[1:]):  # drop this word's old pairs
                pair_count[(a, b)] -= f
                if pair_count[(a, b)] <= 0:
                    del pair_count[(a, b)]
                where[(a, b)].discard(i)
                touched.add((a, b))
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += f
                where[(a, b)].add(i)
                touched.add((a, b))
        where.pop(best, None)
        pair_count.pop(best, None)
        for p in touched:
            if p in pair_count:
                heapq.heappush(heap, (-pair_count[p], p))
    return vocab, merges


class BpeTokenizer:
    """Encoder matching the HF ByteLevel+BPE pipeline (special tokens matched first)."""

    def __init__(self, vocab: Dict[str, int], merges: List[Tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {m: r for r, m in enumerate(merges)}
        self.merges = merges
        self.cache: Dict[str, List[int]] = {}
        self.special = regex.compile("|".join(regex.escape(s) for s in SPECIAL_TOKENS))

    @staticmethod
    def load(folder: str) -> "BpeTokenizer":
        with open(os.path.join(folder, "tokenizer.json")) as f:
            tj = json.load(f)
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tj["model"]["merges"]]
        return BpeTokenizer(tj["model"]["vocab"], merges)

    def _bpe(self, word: str) -> List[int]:
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            ranked = [(self.ranks.get((a, b), 1 << 30), k) for k, (a, b) in enumerate(zip(parts, parts[1:]))]
            r, k = min(ranked)
            if r == 1 << 30:
                break
            parts[k:k + 2] = [parts[k] + parts[k + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        ids: List[int] = []
        pos = 0
        for m in self.special.finditer(text):
            ids += self._encode_plain(text[pos:m.start()])
            ids.append(self.vocab[m.group(0)])
            pos = m.end()
        return ids + self._encode_plain(text[pos:])

    def _encode_plain(self, text: str) -> List[int]:
        out: List[int] = []
        for w in pretokenize(text):
            out += self._bpe(w)
        return out

    def decode(self, ids: List[int]) -> str:
        inv = {v: k for k, v in self.vocab.items()}
        back = {c: b for b, c in BYTE_CHARS.items()}
        data = bytearray()
        for i in ids:
            tok = inv[i]
            if tok in SPECIAL_TOKENS:
                data += tok.encode()
            else:
                data += bytes(back[c] for c in tok)
        return data.decode("utf-8", errors="replace")


def save(vocab: Dict[str, int], merges: List[Tuple[str, str]], folder: str, max_length: int) -> None:
    os.makedirs(folder, exist_ok=True)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for t in SPECIAL_TOKENS],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": None,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|endoftext|>",
           "pad_token": "<pad>", "add_bos_token": False, "add_eos_token": False,
           "clean_up_tokenization_spaces": False, "model_max_length": max_length,
           "additional_special_tokens": SPECIAL_TOKENS[1:5]}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="+", required=True)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--max-length", type=int, default=2048)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    texts = [open(p, encoding="utf-8", errors="ignore").read() for p in a.files]
    vocab, merges = train(texts, a.vocab)
    save(vocab, merges, a.out, a.max_length)
    print(f"wrote {a.out}/tokenizer.json: {len(vocab)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    main()
