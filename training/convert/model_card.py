"""The converted pair's model card (README.md in the pair folder): where it came from, how it
was pruned and trained, and what the handoff losses say."""
from __future__ import annotations

from typing import Optional


def _fmt_params(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def model_card(name: str, source: str, licence: Optional[str], architecture: str, family: Optional[str],
               full_params: int, decoder_params: int, keep: float, widths: dict, training: dict,
               losses: Optional[dict], data: dict, weights: str) -> str:
    lines = [
        f"# {name}",
        "",
        "An OverFill pair converted by `python3 -m training.convert`: the full model prefills the prompt, the",
        "width-pruned decoder writes the suggestion from the full model's KV cache.",
        "",
        "| | |",
        "|---|---|",
        f"| source checkpoint | `{source}` ({architecture}) |",
        f"| licence | {licence or 'not stated by the checkpoint: check its source before sharing this pair'} |",
        f"| family (prompt format) | {family or 'none detected: completes from the text before the cursor only'} |",
        f"| full model | {_fmt_params(full_params)} parameters: the checkpoint's own weights, not retrained |",
        f"| decoder | {_fmt_params(decoder_params)} parameters: keep ratio {keep} (hidden {widths['hidden']}, MLP {widths['intermediate']}); layers, heads, KV heads and head_dim kept |",
        f"| weights | {weights} |",
        f"| decoder training | {training['steps']} steps, {training['tokens']:,} tokens, {training.get('tokensPerSecond') or 0:,} tokens/s on {training.get('device', '?')} |",
        f"| training data | {data.get('files', 0)} files, {data.get('bytes', 0):,} bytes, {data.get('trainTokens', 0):,} train / {data.get('valTokens', 0):,} validation tokens |",
        "",
    ]
    if not training["steps"]:
        lines += ["**The decoder was pruned but not trained** (no --steps or --tokens): expect much weaker suggestions than",
                  "after training. Convert again with a training budget (on a GPU, --tokens 3e8 is a good start).", ""]
    if losses:
        lines += [
            "## Loss after a handoff",
            "",
            "Cross-entropy of the 48 tokens after a cut in held-out windows of the training folders (same windows",
            "and cuts for every row; lower is better). OverFill: the full model prefills, the decoder continues.",
            "",
            "| model | loss |",
            "|---|---|",
            f"| full model alone | {losses['full']} |",
        ]
        for key, label in (("overfill:trained", "OverFill (trained decoder)"), ("overfill:pruned", "OverFill (pruned decoder before training)"),
                           ("alone:trained", "trained decoder alone"), ("alone:pruned", "pruned decoder alone, before training")):
            if key in losses:
                lines.append(f"| {label} | {losses[key]} |")
        lines.append("")
    else:
        lines += ["The handoff loss was not measured (--eval-batches 0, or too little held-out data).", ""]
    return "\n".join(lines)
