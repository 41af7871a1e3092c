"""Chart of a benchmark run: per pair, OverFill vs full-only vs decoder-only (p50, error bars to p95).

    /usr/bin/python3 bench/plot_bench.py docs/bench/latest.json docs/bench/latest.png
Needs python3-matplotlib (Debian).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = ["overfill", "full", "decoder"]
COLORS = {"overfill": "#3a7bd5", "full": "#999999", "decoder": "#f0a030"}
PANELS = [("decodeTokPerSec", "decode tokens/s (higher is better)"),
          ("ttftMs", "time to first token, ms (1k prompt)"),
          ("decodeMsPerTokenCtx2048", "decode ms/token at 2048 context"),
          ("incrementalMs", "one keystroke into a cached 2k prompt, ms")]


def main(src: str, dst: str) -> None:
    with open(src) as f:
        run = json.load(f)
    pairs = run["pairs"]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 4.1))
    width = 0.26
    for ax, (key, title) in zip(axes, PANELS):
        for k, mode in enumerate(MODES):
            p50 = [p["modes"][mode][key]["p50"] for p in pairs]
            p95 = [p["modes"][mode][key]["p95"] for p in pairs]
            xs = [i + (k - 1) * width for i in range(len(pairs))]
            ax.bar(xs, p50, width, label=mode, color=COLORS[mode],
                   yerr=[[0] * len(p50), [max(0, b - a) for a, b in zip(p50, p95)]], capsize=2)
        ax.set_xticks(range(len(pairs)))
        ax.set_xticklabels([p["name"].replace("rand-", "") for p in pairs], fontsize=8, rotation=20, ha="right")
        ax.set_yscale("log")  # the pairs differ by orders of magnitude
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"OverFill engine, {run['machine']}, {run['date']} (p50, bars to p95, log scale)", fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
