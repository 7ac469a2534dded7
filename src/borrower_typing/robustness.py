"""Register robustness: how much macro-F1 a model loses when held-out notes are written the ways real exports
differ from clean Simplified Chinese.

Perturbations (``PERTURBATIONS``), each seeded per note so every model meets the same perturbed text:

- ``traditional``: the note in Traditional characters (Hong Kong or Taiwan standard, OpenCC ``s2hk``/``s2tw``);
- ``shorthand``: Chinese wording replaced by the English a bilingual collector writes (``cust said``, ``PTP``);
- ``system_lines``: one to four dialer/SMS system lines inserted between sentences;
- ``asr``: speech-to-text homophones (换款 for 还款) and half the punctuation dropped;
- ``no_punct``: all punctuation stripped.

The tables are ``resources/perturbations.yaml`` (documented in ``data/README.md``). This module depends only on
the standard library, PyYAML and OpenCC, so that a model from any version of the project can be measured.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

PERTURBATIONS = ("traditional", "shorthand", "system_lines", "asr", "no_punct")
TABLES = Path(__file__).with_name("resources") / "perturbations.yaml"
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


@lru_cache(maxsize=4)
def tables(path: str = str(TABLES)) -> dict[str, Any]:
    """The perturbation tables, with the longest Chinese keys first (客户称 before 客户)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for key in ("shorthand", "homophones"):
        data[key] = dict(sorted(data[key].items(), key=lambda kv: -len(kv[0])))
        data[key + "_re"] = re.compile("|".join(map(re.escape, data[key])))
    return data


@lru_cache(maxsize=2)
def _converter(config: str) -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC(config).convert


def _rng(text: str, name: str, seed: int) -> random.Random:
    return random.Random(zlib.crc32(f"{seed}:{name}:{text}".encode()))


def to_traditional(text: str, rng: random.Random) -> str:
    return _converter(rng.choice(("s2hk", "s2tw")))(text)


def substitute_shorthand(text: str, rng: random.Random) -> str:
    t = tables()
    return t["shorthand_re"].sub(lambda m: " " + rng.choice(t["shorthand"][m.group()]) + " ", text)


def inject_system_lines(text: str, rng: random.Random) -> str:
    lines = tables()["system_lines"]
    parts = [p for p in _SENTENCE_END.split(text) if p]
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(parts))
        parts.insert(at, rng.choice(lines) + rng.choice(("\n", " ", "，")))
    return "".join(parts)


_PUNCT = {c for c in "，。！？；：、,.!?;:…“”\"'‘’（）()【】[]~—-" if not c.isalnum()}


def speech_to_text(text: str, rng: random.Random) -> str:
    t = tables()

    def swap(m: re.Match[str]) -> str:
        return rng.choice(t["homophones"][m.group()]) if rng.random() < 0.6 else m.group()

    text = t["homophones_re"].sub(swap, text)
    return "".join(" " if (c in _PUNCT and rng.random() < 0.5) else c for c in text)


def strip_punctuation(text: str, rng: random.Random) -> str:
    return "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)


_FUNCS: dict[str, Callable[[str, random.Random], str]] = {
    "traditional": to_traditional,
    "shorthand": substitute_shorthand,
    "system_lines": inject_system_lines,
    "asr": speech_to_text,
    "no_punct": strip_punctuation,
}


def perturb(texts: Sequence[str], name: str, seed: int = 0) -> list[str]:
    """``texts`` under one perturbation (the same note always gets the same result for a seed)."""
    if name not in _FUNCS:
        raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
    func = _FUNCS[name]
    return [func(t, _rng(t, name, seed)) for t in texts]


def robustness_scores(
    predict: Callable[[list[str]], Sequence[str]],
    texts: Sequence[str],
    y: Sequence[str],
    perturbations: Sequence[str] = PERTURBATIONS,
    seed: int = 0,
) -> dict[str, float]:
    """Macro-F1 of ``predict`` on ``texts`` clean and under each perturbation (``clean`` first)."""
    from sklearn.metrics import f1_score

    labels = sorted(set(y))
    out = {"clean": float(f1_score(y, predict(list(texts)), labels=labels, average="macro", zero_division=0))}
    for name in perturbations:
        pred = predict(perturb(texts, name, seed))
        out[name] = float(f1_score(y, pred, labels=labels, average="macro", zero_division=0))
    return out


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """A markdown table: one row per model, macro-F1 clean and per perturbation (with the change)."""
    names = list(next(iter(rows.values())))
    lines = ["| model | " + " | ".join(names) + " | worst drop |", "|---" + "|---:" * (len(names) + 1) + "|"]
    for model, scores in rows.items():
        clean = scores["clean"]
        cells = [f"{clean:.3f}"] + [f"{scores[n]:.3f} ({scores[n] - clean:+.3f})" for n in names[1:]]
        worst = min(scores[n] - clean for n in names[1:]) if len(names) > 1 else 0.0
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {worst:+.3f} |")
    return "\n".join(lines)
