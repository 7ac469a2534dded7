"""The HTML report: verdict first, figures inlined, Chinese type names drawn with a font that has them, and
matplotlib's global settings left as they were."""

from __future__ import annotations

import copy
from pathlib import Path

import matplotlib
import pandas as pd

from borrower_typing.batch import score_file
from borrower_typing.monitor import run_monitor
from borrower_typing.monitor_report import cjk_font_path, render_html

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "monitor.yaml"


def test_the_cjk_font_has_the_type_names(labels):
    from matplotlib.ft2font import FT2Font

    path = cjk_font_path()
    assert path is not None and path.is_file()
    font = FT2Font(str(path))
    for t in labels.types:
        assert all(font.get_char_index(ord(ch)) for ch in t.name_zh), t.name_zh


def test_report_has_the_verdict_first_and_leaves_matplotlib_settings_alone(half_model, labels, tmp_path):
    model_dir, held_out = half_model
    frame = held_out[["text"]].head(400).assign(催收员=["A", "B"] * 200, 月份=["2026-10"] * 200 + ["2026-11"] * 200)
    frame.to_csv(tmp_path / "in.csv", index=False)
    score_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", text_column="text")
    before = copy.deepcopy(dict(matplotlib.rcParams))
    backend = matplotlib.get_backend()
    by = ["催收员", "月份"]
    summary = run_monitor(tmp_path / "out.csv", str(model_dir), CONFIG, by, tmp_path / "r.html", track=False)
    page = render_html(summary.summary, labels)
    assert dict(matplotlib.rcParams) == before and matplotlib.get_backend() == backend
    assert page.index("Verdict") < page.index("<img")
    assert page.count("data:image/png;base64,") == 3  # type mix, histograms, review share per slice
    assert "催收员=A, 月份=2026-11" in page
    saved = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert saved.count("<img") == 3 and "<h1>Verdict:" in saved


def test_report_escapes_what_comes_from_the_file(half_model, labels, tmp_path):
    model_dir, held_out = half_model
    frame = held_out[["text"]].head(50).assign(团队=["<script>alert(1)</script>"] * 50)
    frame.to_csv(tmp_path / "in.csv", index=False)
    score_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", text_column="text")
    run_monitor(tmp_path / "out.csv", str(model_dir), CONFIG, ["团队"], tmp_path / "r.html", track=False)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert pd.read_json(tmp_path / "r.json", typ="series")["rows"] == 50
