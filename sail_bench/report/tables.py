"""Results tables: methods/iterations × metrics, mean with 95% CI and the paired difference to the base."""

from __future__ import annotations

import pandas as pd

KIND_ORDER = {"base": 0, "diffusion_dpo": 1, "online_dpo": 2, "sail": 3}


def _row_label(method: str, kind: str, step: int) -> str:
    return f"{method} iter {step}" if kind in ("sail", "online_dpo") else method


def markdown_table(df: pd.DataFrame) -> str:
    """Markdown: one row per model iterate, one column per benchmark/metric."""
    df = df.copy()
    df["order"] = df["method_kind"].map(KIND_ORDER).fillna(9)
    df = df.sort_values(["order", "method", "step"])
    cols = list(dict.fromkeys(zip(df["benchmark"], df["metric"], strict=True)))
    header = "| model | " + " | ".join(f"{b} / {m}" for b, m in cols) + " |"
    lines = [header, "|" + "---|" * (len(cols) + 1)]
    for (method, kind, step), g in df.groupby(["method", "method_kind", "step"], sort=False):
        cells = []
        for b, m in cols:
            r = g[(g["benchmark"] == b) & (g["metric"] == m)]
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            cell = f"{r['mean']:.3f}"
            if pd.notna(r.get("ci_low")):  # a statistic logged without a CI
                cell += f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
            if kind != "base" and pd.notna(r.get("vs_base/diff")):
                cell += f" Δ{r['vs_base/diff']:+.3f}±{1.96 * r['vs_base/diff_se']:.3f}"
            cells.append(cell)
        lines.append(f"| {_row_label(method, kind, step)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "mean [95% bootstrap CI]; Δ = paired difference to the base model on the same prompts and seeds (± 1.96 s.e.)."
    )
    if any(m == "implicit_reward_acc" for _, m in cols):
        lines.append(
            "implicit_reward_acc: share of held-out preference pairs whose winner the model's implicit reward "
            "(vs the base) prefers."
        )
    return "\n".join(lines)
