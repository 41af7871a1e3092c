"""The user's code as training data for the conversion: files from --data folders, filtered as
training/corpus.py filters its corpus, tokenized with the checkpoint's own tokenizer, split
train / validation by a hash of the path, and cut into windows that are turned into FIM
samples in the family's own prompt format half of the time.
"""
from __future__ import annotations

import hashlib
from array import array
import os
import random
import re
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..corpus import MAX_BYTES, MIN_BYTES, looks_minified_or_generated
from .tokenizer_json import HfTokenizer

CODE_EXTENSIONS = {
    ".py", ".pyi", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".go", ".rs", ".java", ".kt", ".kts", ".scala",
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".fs", ".swift", ".m", ".mm", ".rb", ".php", ".lua",
    ".sh", ".bash", ".zsh", ".ps1", ".sql", ".r", ".jl", ".dart", ".ex", ".exs", ".erl", ".hs", ".ml", ".clj",
    ".vue", ".svelte", ".css", ".scss", ".html", ".yaml", ".yml", ".toml", ".md", ".proto", ".zig", ".nim",
}
SKIP_DIRS = re.compile(r"(^|/)(\.git|\.hg|\.svn|node_modules|vendor|vendors|third_party|dist|build|out|target|__pycache__|\.venv|venv|\.tox|\.mypy_cache|\.cache)(/|$)")
FIM_RATE = 0.5
VAL_PERCENT = 5


def code_files(folders: Sequence[str]) -> Iterator[str]:
    for root in folders:
        if not os.path.isdir(root):
            raise FileNotFoundError(f"--data {root} is not a folder")
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(d for d in dirnames if not SKIP_DIRS.search(os.path.join(rel, d)))
            for name in sorted(filenames):
                if os.path.splitext(name)[1].lower() in CODE_EXTENSIONS:
                    yield os.path.join(dirpath, name)


def read_code(path: str) -> Optional[str]:
    """The file's text, or None when corpus.py's filters would drop it (size, binary, minified, generated)."""
    try:
        if not MIN_BYTES <= os.path.getsize(path) <= MAX_BYTES:
            return None
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    if "\x00" in text or looks_minified_or_generated(text):
        return None
    return text


def is_validation(path: str) -> bool:
    return int(hashlib.sha1(path.encode()).hexdigest()[:8], 16) % 100 < VAL_PERCENT


def tokenize_folders(tok: HfTokenizer, folders: Sequence[str], separator: int, max_tokens: int = 0) -> Tuple[np.ndarray, np.ndarray, dict]:
    """(train ids, validation ids, counts): files joined by `separator` (end-of-text or file separator)."""
    # Compact arrays, not lists of Python ints: hundreds of millions of tokens must fit in memory.
    train, val = array("I"), array("I")
    counts = {"files": 0, "skipped": 0, "bytes": 0}
    seen = set()
    for path in code_files(folders):
        text = read_code(path)
        digest = hashlib.sha1(text.encode()).hexdigest() if text else None
        if text is None or digest in seen:
            counts["skipped"] += 1
            continue
        seen.add(digest)
        (val if is_validation(path) else train).extend(tok.encode(text) + [separator])
        counts["files"] += 1
        counts["bytes"] += len(text.encode())
        if max_tokens and len(train) >= max_tokens:
            break
    dtype = np.uint32 if tok.size > 65535 else np.uint16
    train_ids, val_ids = np.frombuffer(train, dtype=np.uint32).astype(dtype), np.frombuffer(val, dtype=np.uint32).astype(dtype)
    if not len(val_ids) and len(train_ids) > 4096:  # a small folder: hold out its last tenth
        cut = len(train_ids) * 9 // 10
        train_ids, val_ids = train_ids[:cut], train_ids[cut:]
    return train_ids, val_ids, counts


class FimFormat:
    """The family's prompt: PSM `<prefix> pre <suffix> suf <middle> mid <eot>`, with BOS first when
    the tokenizer adds one. A family without FIM tokens trains on plain left-to-right text."""

    def __init__(self, tok: HfTokenizer, tokens: dict, order: str):
        ids = {k: tok.token_to_id(v) for k, v in tokens.items() if isinstance(v, str)}
        self.order = order
        self.prefix, self.suffix, self.middle = ids.get("fimPrefix"), ids.get("fimSuffix"), ids.get("fimMiddle")
        self.eot = ids["endOfText"]
        self.bos = ids.get("bos")

    def sample(self, window: List[int], rng: random.Random, n: int) -> List[int]:
        """n + 1 tokens: the window itself, or (FIM_RATE of the time) a FIM sample made from it."""
        head = [self.bos] if self.bos is not None else []
        if self.order == "none" or self.prefix is None or rng.random() >= FIM_RATE:
            return (head + window)[: n + 1]
        # Four control tokens join the text: take fewer tokens, so the middle is never cut off.
        window = window[: n + 1 - len(head) - 4]
        i, j = sorted(rng.sample(range(1, len(window) - 1), 2))
        pre, mid, suf = window[:i], window[i:j], window[j:]
        if self.order == "spm":
            out = head + [self.suffix] + suf + [self.prefix] + pre + [self.middle] + mid + [self.eot]
        else:
            out = head + [self.prefix] + pre + [self.suffix] + suf + [self.middle] + mid + [self.eot]
        return out[: n + 1]


def batches(data: np.ndarray, fim: FimFormat, seq_len: int, batch: int, rng: random.Random) -> Iterator[np.ndarray]:
    """Endless [batch, seq_len + 1] int64 arrays of random windows (FIM half of the time)."""
    n = seq_len
    if len(data) < n + 3:
        raise ValueError(f"The training data holds {len(data)} tokens, fewer than one window of {n + 3}: give --data folders with more code, or a smaller --seq-len.")
    while True:
        rows = []
        for _ in range(batch):
            s = rng.randrange(0, len(data) - n - 2)
            row = fim.sample(data[s: s + n + 1].tolist(), rng, n)
            rows.append(row + [fim.eot] * (n + 1 - len(row)))
        yield np.array(rows, dtype=np.int64)
