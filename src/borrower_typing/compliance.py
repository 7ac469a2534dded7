"""Compliance check of a labels file's strategy texts against a maintained rule list.

Strategies are read aloud to borrowers and relatives; a lender who edits ``labels.yaml`` runs
``borrower-typing labels check FILE`` to catch pressure phrases, false consequences and missing required
statements. The rules are data (``resources/compliance_rules.yaml``): each names the law it breaks.

Phrase rules search descriptions, aims, steps and the common rules, never ``avoid`` (a prohibition is the
lawful way to mention a forbidden act). Inside the searched fields a match is still excused when a negation cue
("不得", "不把", …) stands before it in the same clause, so "不得冒充法院" is not flagged but
"不还就起诉" is. Regular expressions rather than a parser: the texts are short, the list must be editable by a
compliance officer, and the standard library needs no extra dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .labels import CLASSES, LabelSet, load_labels

# A clause ends at sentence punctuation, a comma or a line break: a negation does not reach past it.
_CLAUSE_END = re.compile(r"[。；;！!？?，,\n]")
_ADJACENT_NEGATION = ("不", "勿", "禁", "未", "非")


class Negation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: int = 30
    cues: str

    @field_validator("cues")
    @classmethod
    def _compile(cls, value: str) -> str:
        value = re.sub(r"\s+", "", value)
        re.compile(value)
        return value


class ForbiddenRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    patterns: list[str]
    law: str
    message: str
    except_: list[str] = []  # `except` in the YAML (a Python keyword)

    @field_validator("patterns", "except_")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad pattern {pattern!r}: {exc}") from exc
        return value


class RequiredRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    scope: str | list[str]
    groups: list[list[str]]
    law: str
    message: str

    @field_validator("groups")
    @classmethod
    def _compiles(cls, value: list[list[str]]) -> list[list[str]]:
        for group in value:
            if not group:
                raise ValueError("empty group")
            for pattern in group:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"bad pattern {pattern!r}: {exc}") from exc
        return value

    @field_validator("scope")
    @classmethod
    def _known_scope(cls, value: str | list[str]) -> str | list[str]:
        # A misspelt scope would silently check nothing: refuse it.
        for scope in [value] if isinstance(value, str) else value:
            if scope != "common" and scope not in CLASSES:
                raise ValueError(f"unknown scope {scope!r} (common or a type slug)")
        return value

    @property
    def scopes(self) -> list[str]:
        return [self.scope] if isinstance(self.scope, str) else list(self.scope)


class RuleSet(BaseModel):
    """The validated rule list."""

    model_config = ConfigDict(extra="forbid")
    negation: Negation
    sources: dict[str, str]
    forbidden: list[ForbiddenRule]
    required: list[RequiredRule]


@dataclass(frozen=True)
class Finding:
    """One violation: where (type slug or ``common``, field), which rule, the phrase, the law."""

    type: str
    field: str
    rule: str
    phrase: str
    law: str
    message: str

    def line(self) -> str:
        return f"{self.type}\t{self.field}\t{self.rule}\t「{self.phrase}」\t{self.law}\t{self.message}"


def default_rules_path() -> Path:
    return Path(str(resources.files("borrower_typing") / "resources" / "compliance_rules.yaml"))


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The rule list at ``path`` (default: the packaged one); ``ValueError`` with one line otherwise."""
    path = Path(path) if path else default_rules_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: unreadable rules file: {' '.join(str(exc).split())}") from exc
    if isinstance(raw, dict):
        for rule in raw.get("forbidden") or []:
            if isinstance(rule, dict) and "except" in rule:
                rule["except_"] = rule.pop("except")
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]).replace("except_", "except")
        raise ValueError(f"{path}: invalid rules file: {where}: {err['msg']}") from exc


def _fields(labels: LabelSet) -> list[tuple[str, str, str]]:
    """(type, field, text) for every field phrase rules search: never ``avoid``."""
    out = [("common", f"common_rules[{i}]", text) for i, text in enumerate(labels.common_rules)]
    for info in (*labels.types, labels.none):
        out.append((info.slug, "description", info.description))
        if info.strategy is not None:
            out.append((info.slug, "aim", info.strategy.aim))
            out += [(info.slug, f"steps[{i}]", s) for i, s in enumerate(info.strategy.steps)]
    return out


def _negated(text: str, start: int, negation: Negation) -> bool:
    """True when a negation cue stands before ``start`` within the same clause and the window."""
    lo = max(0, start - negation.window)
    before = text[lo:start]
    if before.endswith(_ADJACENT_NEGATION):  # 不跟踪, 勿冒充: the negation is part of the phrase
        return True
    ends = list(_CLAUSE_END.finditer(before))
    if ends:
        before = before[ends[-1].end() :]
    return re.search(negation.cues, before) is not None


def find_phrases(text: str, rule: ForbiddenRule, negation: Negation) -> list[str]:
    """The phrases of ``text`` that break ``rule`` (negated or excepted matches left out)."""
    spared = [m.span() for pattern in rule.except_ for m in re.finditer(pattern, text)]
    matches = [m for pattern in rule.patterns for m in re.finditer(pattern, text) if m.group(0)]
    kept: list[tuple[int, int]] = []
    # Longest first, so two patterns hitting the same words report one phrase.
    for m in sorted(matches, key=lambda m: m.start() - m.end()):
        a, b = m.span()
        if any(x <= a and b <= y for x, y in spared) or any(a < y and x < b for x, y in kept):
            continue
        if not _negated(text, a, negation):
            kept.append((a, b))
    return [text[a:b] for a, b in sorted(kept)]


def check_labels(labels: LabelSet, rules: RuleSet) -> list[Finding]:
    """Every finding for a loaded labels file: forbidden phrases, missing statements, unknown source ids."""
    findings: list[Finding] = []
    for slug, field, text in _fields(labels):
        for rule in rules.forbidden:
            for phrase in find_phrases(text, rule, rules.negation):
                findings.append(Finding(slug, field, rule.id, phrase, rule.law, rule.message))
    findings += _missing(labels, rules)
    for info in (*labels.types, labels.none):
        for i, source in enumerate(info.strategy.sources if info.strategy else []):
            if source not in rules.sources:
                findings.append(
                    Finding(
                        info.slug,
                        f"strategy.sources[{i}]",
                        "unknown-source",
                        source,
                        "docs/compliance.md",
                        f"not a rule id of the checklist ({', '.join(rules.sources)})",
                    )
                )
    return findings


def _missing(labels: LabelSet, rules: RuleSet) -> list[Finding]:
    findings = []
    for rule in rules.required:
        for scope in rule.scopes:
            text, field = _scope_text(labels, scope)
            for group in rule.groups:
                if not any(re.search(p, text) for p in group):
                    missing = f"缺少：{' / '.join(group)}"
                    findings.append(Finding(scope, field, rule.id, missing, rule.law, rule.message))
    return findings


def _scope_text(labels: LabelSet, scope: str) -> tuple[str, str]:
    if scope == "common":
        return "\n".join(labels.common_rules), "common_rules"
    s = labels.info(scope).strategy
    return ("\n".join([s.aim, *s.steps, *s.avoid]) if s else ""), "strategy"


def check_file(path: str | Path | None = None, rules_path: str | Path | None = None) -> list[Finding]:
    """Load and check a labels file (default: the packaged one). ``ValueError`` (one line) if unreadable."""
    return check_labels(load_labels(path), load_rules(rules_path))


def summary(findings: list[Finding]) -> dict[str, Any]:
    """Counts by rule, for the closing line of the CLI."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return counts
