"""Checks a labelled table before anyone trains on it, and names every offending row.

Rules: required columns present; labels known (slug, Chinese name or alias, through the one label table);
no empty or whitespace-only notes; no exact or near duplicates (character 5-gram Jaccard); no type name
leaking into a note; no label conflicts (the same note, by ``duplicates.duplicate_key``, with different labels).
It reports, it never rewrites the input.

Errors (``ERRORS``: training would refuse the file) are told apart from warnings (training copes: it leaves
empty notes out and keeps duplicates in one CV fold); only errors make ``data validate`` exit 1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from .duplicates import duplicate_keys, summarise
from .labels import LabelSet
from .text import clean

ERRORS = frozenset({"missing_column", "unknown_label", "label_conflict"})


@dataclass
class Issue:
    row: int | None
    rule: str
    message: str

    @property
    def severity(self) -> str:
        return "error" if self.rule in ERRORS else "warning"


@dataclass
class ValidationReport:
    rows: int
    issues: list[Issue] = field(default_factory=list)
    counts: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for issue in self.issues:
            out[issue.rule] += 1
        return dict(out)


def shingles(text: str, n: int = 5) -> set[str]:
    """Character n-grams of the text with spaces and punctuation-only differences folded away."""
    t = "".join(ch for ch in clean(text) if ch.isalnum())
    if len(t) <= n:
        return {t} if t else set()
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def near_duplicates(texts: list[str], threshold: float = 0.8, n: int = 5) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of positions whose character n-gram sets overlap at least ``threshold``.

    Candidate pairs come from an inverted index over rare shingles, so this stays near-linear on a
    corpus of notes rather than comparing all pairs.
    """
    sets = [shingles(t, n) for t in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    pairs: list[tuple[int, int, float]] = []
    for i, s in enumerate(sets):
        if not s:
            continue
        seen: dict[int, int] = defaultdict(int)
        for g in s:
            postings = index[g]
            if len(postings) > 200:  # too common to point at a duplicate
                continue
            for j in postings:
                if j > i:
                    seen[j] += 1
        for j, shared in seen.items():
            # Jaccard needs shared/|union| >= t; cheap upper bound first.
            if shared < threshold * min(len(s), len(sets[j])):
                continue
            jac = shared / len(s | sets[j])
            if jac >= threshold:
                pairs.append((i, j, jac))
    return pairs


def validate_frame(
    df: pd.DataFrame,
    labels: LabelSet,
    text_column: str = "text",
    label_column: str = "label",
    group_columns: tuple[str, ...] = ("style",),
    near_threshold: float = 0.8,
) -> ValidationReport:
    """Check a labelled table. Row numbers in the report are the table's 1-based data rows."""
    report = ValidationReport(rows=len(df))
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        for col in missing:
            report.issues.append(Issue(None, "missing_column", f"no column {col!r}; columns are {list(df.columns)}"))
        return report
    rownum = (
        list(df.index) if isinstance(df.index, pd.RangeIndex) and df.index.start == 1 else list(range(1, len(df) + 1))
    )
    texts = ["" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in df[text_column]]
    slugs: list[str | None] = []
    for r, value in zip(rownum, df[label_column], strict=True):
        slug = None if value is None or (isinstance(value, float) and pd.isna(value)) else labels.try_slug(value)
        if slug is None:
            report.issues.append(Issue(r, "unknown_label", f"label {value!r} is not a known type, name or alias"))
        slugs.append(slug)
    leaks = labels.leak_terms()
    first_seen: dict[str, int] = {}
    for r, text in zip(rownum, texts, strict=True):
        body = clean(text)
        if not body:
            report.issues.append(Issue(r, "empty_text", "note is empty or whitespace only"))
            continue
        if body in first_seen:
            report.issues.append(Issue(r, "duplicate", f"same text as row {first_seen[body]}"))
        else:
            first_seen[body] = r
        hit = next((t for t in leaks if t in body), None)
        if hit:
            report.issues.append(Issue(r, "label_leak", f"note names a type ({hit!r})"))
    for i, j, jac in near_duplicates(texts, near_threshold):
        if clean(texts[i]) != clean(texts[j]):
            report.issues.append(
                Issue(
                    rownum[j],
                    "near_duplicate",
                    f"near duplicate of row {rownum[i]} (5-gram Jaccard {jac:.2f})",
                )
            )
    filled = [i for i, t in enumerate(texts) if clean(t) and slugs[i] is not None]
    keys = duplicate_keys([texts[i] for i in filled])
    found = summarise(keys, pd.Series([slugs[i] for i in filled]), pd.Series([rownum[i] for i in filled]))
    for c in found.conflicts:
        given = ", ".join(f"{label}×{n}" for label, n in c.labels.items())
        for r in c.rows:
            others = [x for x in c.rows if x != r][:5]
            report.issues.append(Issue(r, "label_conflict", f"same note as rows {others} with other labels ({given})"))
    report.issues.sort(key=lambda x: (x.row or 0, x.rule))
    frame = df.assign(_label=slugs)
    groups = [c for c in group_columns if c in df.columns]
    if groups:
        report.counts = pd.crosstab(frame["_label"], frame[groups[0]], margins=True, margins_name="all")
    else:
        report.counts = frame["_label"].value_counts().rename("all").to_frame()
    report.counts.index.name = "label"
    return report
