"""The monitoring report as one self-contained HTML file: the verdict on top, then the plots and tables.

Plots are drawn on ``matplotlib.figure.Figure`` objects (no pyplot, no global backend or rcParams touched) and
embedded as PNG. Chinese type names need a CJK font: the one shipped by the ``mplfonts`` package (Noto Sans
CJK SC, SIL Open Font License; installed with the ``monitor`` extra), else any CJK font matplotlib finds on the
machine. The font is passed to each text element, never registered globally.
"""

from __future__ import annotations

import base64
import html
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .labels import TYPES, LabelSet

_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC")
_STATUS_COLOUR = {"drift": "#c0392b", "watch": "#d68910", "ok": "#1e8449", "too few rows": "#7f8c8d"}


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """A font file with Chinese glyphs: the packaged Noto Sans CJK SC, else one installed on the machine."""
    try:
        from importlib.resources import files

        path = Path(str(files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"))
        if path.is_file():
            return path
    except ModuleNotFoundError:
        pass
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if entry.name in _CJK_FAMILIES:
            return Path(entry.fname)
    return None


def _font():
    from matplotlib.font_manager import FontProperties

    path = cjk_font_path()
    return FontProperties(fname=str(path)) if path else FontProperties()


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _shares(counts: list[int] | np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    return c / c.sum() if c.sum() else c


def type_mix_figure(summary: dict[str, Any], labels: LabelSet) -> str:
    from matplotlib.figure import Figure

    font = _font()
    ref, batch = summary["reference"]["types"], summary["batch"]["types"]
    types = [t for t in TYPES if t in ref or t in batch]
    r = _shares([ref.get(t, 0) for t in types])
    b = _shares([batch.get(t, 0) for t in types])
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    x = np.arange(len(types))
    ax.bar(x - 0.2, r, 0.4, label="reference (out-of-fold)", color="#95a5a6")
    ax.bar(x + 0.2, b, 0.4, label="this batch", color="#2e86c1")
    ax.set_xticks(x, [labels.name_zh(t) for t in types], fontproperties=font)
    ax.set_ylabel("share of notes")
    ax.set_title("Type mix", fontproperties=font)
    ax.legend(prop=font)
    return _png(fig)


def histogram_figure(summary: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.2))
    axes = fig.subplots(1, 3)
    for ax, key, title in zip(
        axes,
        ("confidence", "length", "vocab_share"),
        ("Confidence", "Note length (characters)", "Vocabulary share"),
        strict=True,
    ):
        ref, batch = summary["reference"][key], summary["batch"][key]
        edges = ref["edges"]
        names = [f"{edges[i]:g}" for i in range(len(ref["counts"]))]
        if key == "length":
            names[-1] = f"{edges[-1]}+"
        x = np.arange(len(names))
        ax.bar(x - 0.2, _shares(ref["counts"]), 0.4, color="#95a5a6", label="reference")
        ax.bar(x + 0.2, _shares(batch["counts"]), 0.4, color="#2e86c1", label="batch")
        ax.set_xticks(x, names, rotation=60, fontsize=7)
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    return _png(fig)


def slice_figure(summary: dict[str, Any], max_lines: int = 8) -> str | None:
    """Review share per slice; with two or more ``--by`` columns, over the last one (a month, a week)."""
    from matplotlib.figure import Figure

    slices, by = summary["slices"], summary["by"]
    if not slices:
        return None
    font = _font()
    ref_share = summary["reference"]["review_share"]
    fig = Figure(figsize=(9, 3.8))
    ax = fig.subplots()
    if len(by) >= 2:
        time_col, line_cols = by[-1], by[:-1]
        lines: dict[str, dict[str, tuple[float, int]]] = {}
        for s in slices:
            name = " / ".join(s["slice"][c] for c in line_cols)
            lines.setdefault(name, {})[s["slice"][time_col]] = (s["review_share"], s["rows"])
        biggest = sorted(lines, key=lambda n: -sum(r for _, r in lines[n].values()))[:max_lines]
        periods = sorted({p for n in biggest for p in lines[n]})
        for name in biggest:
            ys = [lines[name].get(p, (np.nan, 0))[0] for p in periods]
            ax.plot(periods, ys, marker="o", label=name)
        if len(periods) > 24:  # keep the axis readable
            ax.set_xticks(periods[:: len(periods) // 12 + 1])
        ax.set_xlabel(time_col, fontproperties=font)
        ax.legend(prop=font, fontsize=8, ncol=2)
        for tick in ax.get_xticklabels():
            tick.set_fontproperties(font)
    else:
        shown = sorted(slices, key=lambda s: -s["rows"])[:30]
        names = [" / ".join(s["slice"].values()) for s in shown]
        colours = [_STATUS_COLOUR[s["status"]] for s in shown]
        ax.bar(np.arange(len(shown)), [s["review_share"] for s in shown], color=colours)
        ax.set_xticks(np.arange(len(shown)), names, rotation=60, fontproperties=font, fontsize=8)
    ax.axhline(ref_share, color="#7f8c8d", linestyle="--", label="reference")
    ax.set_ylabel("review share")
    ax.set_title("Review share per slice", fontproperties=font)
    return _png(fig)


def _table(rows: list[list[str]], head: list[str]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _status(status: str) -> str:
    return f'<b style="color:{_STATUS_COLOUR.get(status, "#000")}">{html.escape(status)}</b>'


def render_html(summary: dict[str, Any], labels: LabelSet) -> str:
    """The whole report (figures inlined): one file to mail or attach to a run."""
    esc = html.escape
    verdict = summary["verdict"]
    signals = _table(
        [
            [esc(s["name"]), f"{s['value']:.3f}", f"{s['threshold']:.3f}", _status(s["status"]), esc(s["detail"])]
            for s in summary["signals"]
        ],
        ["signal", "value", "drift at", "status", "detail"],
    )
    slice_rows = [
        [
            esc(", ".join(f"{k}={v}" for k, v in s["slice"].items())),
            str(s["rows"]),
            _status(s["status"]),
            f"{s['review_share']:.1%}",
            esc("; ".join(f"{g['name']} {g['value']:.3f}" for g in s["signals"] if g["status"] != "ok")),
        ]
        for s in summary["slices"][:50]
    ]
    tokens = _table(
        [[esc(t["token"]), f"{t['batch_share']:.2%}", f"{t['reference_share']:.2%}"] for t in summary["new_tokens"]],
        ["token (masked, unknown to the vocabulary)", "notes in batch", "notes in reference"],
    )
    figures = [type_mix_figure(summary, labels), histogram_figure(summary)]
    per_slice = slice_figure(summary)
    if per_slice:
        figures.append(per_slice)
    imgs = "".join(f'<img src="data:image/png;base64,{f}" style="max-width:100%"><br>' for f in figures)
    batch, ref = summary["batch"], summary["reference"]
    reasons = _table(
        [
            [
                esc(k),
                f"{batch['review_reasons'].get(k, 0) / max(batch['rows'], 1):.1%}",
                f"{ref['review_reasons'].get(k, 0) / max(ref['rows'], 1):.1%}",
            ]
            for k in sorted(set(batch["review_reasons"]) | set(ref["review_reasons"]))
        ],
        ["review reason", "batch", "reference"],
    )
    slices_html = (
        f"<h2>Slices by {esc(', '.join(summary['by']))} (worst first)</h2>"
        + _table(slice_rows, ["slice", "rows", "status", "review share", "signals off"])
        if summary["slices"]
        else ""
    )
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Monitoring: {esc(verdict)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}</style></head><body>
<h1>Verdict: {_status(verdict)}</h1>
<p>{summary["rows"]:,} scored notes in {esc(str(summary.get("scored_file", "")))} against the model's
reference profile ({ref["rows"]:,} training notes, out of fold). Review share {batch["review_share"]:.1%}
(reference {ref["review_share"]:.1%}); {summary["slices_drifting"]} slice(s) drifting.</p>
{signals}
<p>PSI below 0.1: stable; 0.1–0.25: watch; 0.25 and above: drift (thresholds in configs/monitor.yaml).</p>
{imgs}
<h2>Review reasons</h2>{reasons}
<h2>New tokens most over-represented in the batch</h2>{tokens}
{slices_html}
</body></html>"""


def write_outputs(summary: dict[str, Any], report_path: Path, labels: LabelSet) -> tuple[Path, Path]:
    """The HTML report and, beside it, the JSON summary."""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_html(summary, labels), encoding="utf-8")
    summary_path = report_path.with_suffix(".json")
    summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=float), encoding="utf-8")
    return report_path, summary_path
