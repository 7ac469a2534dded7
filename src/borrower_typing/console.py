"""Human-readable terminal output for one prediction, a scoring summary and a monitoring run."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from .model import Prediction
from .text import mask_pii


def render_prediction(note: str, pred: Prediction, common_rules: Sequence[str] = ()) -> None:
    """One note's answer for a collector or QA reader: the type, the guess of a review row as a guess, the
    evidence, the strategy, then the rules that hold for every contact (``common_rules`` of the labels file),
    which no per-type strategy repeats."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    console = Console(highlight=False)
    head = Text()
    head.append(f"{pred.type_zh} ({pred.type})", style="bold")
    if pred.needs_review:  # the guess is shown as a guess, never as the type
        head.append(f"\n需人工复核 needs review: {pred.review_reason}", style="bold yellow")
        head.append(f"\n模型猜测 best guess: {pred.best_guess}   confidence {pred.best_guess_confidence:.2f}")
    else:
        head.append(f"   置信度 confidence {pred.confidence:.2f}")
    alts = ", ".join(f"{a['type']} {a['confidence']:.2f}" for a in pred.alternatives)
    body = [
        f"备选 alternatives: {alts}",
        f"依据 evidence: {' | '.join(pred.evidence) if pred.evidence else '-'}",
    ]
    console.print(Panel(Text(mask_pii(note)[:300]), title="note (masked)", expand=False))
    console.print(head)
    for line in body:
        console.print(line)
    # Printed line by line, not in a panel: a panel wraps Chinese text as one long word.
    console.rule("处置策略 strategy", align="left")
    for line in pred.strategy.splitlines():
        console.print(line, soft_wrap=True)
    if common_rules:
        console.rule("通用规则 rules for every contact", align="left")
        for i, rule in enumerate(common_rules, 1):
            console.print(f"{i}. {rule}", soft_wrap=True)


def render_summary(summary) -> None:
    out = sys.stderr
    print(
        f"scored {summary.rows:,} rows in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s) "
        f"-> {summary.output}",
        file=out,
    )
    print(
        f"needs review: {summary.review_share:.1%} "
        f"({', '.join(f'{k} {v}' for k, v in summary.review_counts.most_common())})",
        file=out,
    )
    counts = ", ".join(f"{k} {v}" for k, v in summary.type_counts.most_common())
    print(f"types (rows not needing review): {counts or '-'}", file=out)
    if summary.cases_output:
        print(f"{summary.cases:,} cases -> {summary.cases_output}", file=out)


def render_monitoring(result) -> None:
    """The verdict, each signal and the worst slices of a monitoring run, on standard output."""
    s = result.summary
    lines = [f"monitoring verdict: {s['verdict'].upper()} ({s['rows']:,} rows)"]
    for g in s["signals"]:
        lines.append(
            f"  {g['status']:5}  {g['name']:22} {g['value']:8.3f}  (drift at {g['threshold']:g})  {g['detail']}"
        )
    lines += [f"  slice {line}" for line in list(iter_slices(s))[:10]]
    run = f"; MLflow run {result.run_id}" if result.run_id else ""
    lines.append(f"report: {result.report} (summary {result.summary_file}){run}")
    print("\n".join(lines))


def iter_slices(summary: dict) -> Iterator[str]:
    """One line per slice that is not ok, worst first (for the command's output)."""
    for s in summary["slices"]:
        if s["status"] in ("drift", "watch"):
            worst = max(s["signals"], key=lambda g: g["value"] / g["threshold"])
            where = ", ".join(f"{k}={v}" for k, v in s["slice"].items())
            yield f"{s['status']:5}  {where}  ({s['rows']} rows): {worst['name']} {worst['value']:.3f}"
