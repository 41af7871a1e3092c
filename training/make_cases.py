"""Held-out completion cases from the corpus TEST split (files never used for training).

Two kinds, per language: line completion (cursor inside a line, the rest of the line is the
answer) and infilling (a whole line is missing, cursor after its indentation). Each case is
{"id", "language", "kind", "prefix", "suffix", "middle"}; the file is prefix + middle + suffix.

    /usr/bin/python3 -m training.make_cases --corpus ~/.cache/overfill/corpus --out bench/cases/heldout.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.corpus import read_split  # noqa: E402

CONTEXT_CHARS = 3000  # text kept on each side: enough for a 1k-token prompt, small to commit


def candidate_lines(text: str):
    lines = text.split("\n")
    offset = 0
    for line in lines:
        stripped = line.strip()
        if 12 <= len(stripped) <= 100 and not stripped.startswith(("#", "//", "*", "/*", '"""', "import ", "from ")):
            yield offset, line
        offset += len(line) + 1


def make_cases(corpus: str, per_language: int, per_file: int, seed: int):
    """Up to per_file cases from distinct lines of each test file, until each language has
    per_language (some languages have few test files: several cases per file keep them measured)."""
    rng = random.Random(seed)
    rows = read_split(corpus, "test")
    rng.shuffle(rows)
    out, count = [], {}
    for row in rows:
        lang = row["language"]
        lines = list(candidate_lines(row["text"]))
        if len(lines) < 10:
            continue
        picks = rng.sample(range(len(lines) // 5, len(lines)), min(per_file, len(lines) - len(lines) // 5))
        for k in picks:
            if count.get(lang, 0) >= per_language:
                break
            start, line = lines[k]
            indent = len(line) - len(line.lstrip())
            kind = "line" if rng.random() < 0.67 else "infill"
            cut = start + indent + (rng.randrange(3, max(4, len(line.strip()) // 2)) if kind == "line" else 0)
            end = start + len(line)
            text = row["text"]
            case = {"id": f"{lang}-{len(out)}", "language": lang, "kind": kind, "source": row["path"],
                    "prefix": text[max(0, cut - CONTEXT_CHARS):cut], "middle": text[cut:end],
                    "suffix": text[end:end + CONTEXT_CHARS]}
            if case["middle"].strip():
                out.append(case)
                count[lang] = count.get(lang, 0) + 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.expanduser("~/.cache/overfill/corpus"))
    ap.add_argument("--out", default="bench/cases/heldout.jsonl")
    ap.add_argument("--per-language", type=int, default=150)
    ap.add_argument("--per-file", type=int, default=6)
    a = ap.parse_args()
    cases = make_cases(a.corpus, a.per_language, a.per_file, seed=0)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        for c in cases:
            f.write(json.dumps(c) + "\n")
    print(json.dumps({"cases": len(cases), "out": a.out}))


if __name__ == "__main__":
    main()
