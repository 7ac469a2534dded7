"""The nine borrower types plus ``none``: slugs, Chinese names, aliases and handling strategies.

One table serves training (labels written as slugs or Chinese names), validation and prediction (strategy
text). The table is data (``resources/labels.yaml``); an edited copy can replace it without code changes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator

NONE = "none"
TYPES = (
    "provocative",
    "evasive",
    "victim",
    "confident",
    "stubborn",
    "sophisticated",
    "serial_promiser",
    "deceased",
    "complaint_refusal",
)
CLASSES = (*TYPES, NONE)


class Strategy(BaseModel):
    """Goal, steps and prohibitions; ``sources`` are ids of the rules in docs/compliance.md (optional, so
    labels files written before it existed still load)."""

    model_config = ConfigDict(extra="forbid")
    aim: str
    steps: list[str]
    avoid: list[str]
    sources: list[str] = []

    @field_validator("aim")
    @classmethod
    def _aim_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("steps", "sources")
    @classmethod
    def _items_not_blank(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            if not item.strip():
                raise ValueError(f"item {i} is empty")
        return value


class LabelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str
    name_zh: str
    aliases: list[str] = []
    description: str
    strategy: Strategy | None = None


class UnknownLabelError(ValueError):
    pass


class LabelsError(ValueError):
    """A labels file that cannot be used; the message is one line naming the file."""


class LabelSet(BaseModel):
    """The validated labels file."""

    model_config = ConfigDict(extra="forbid")
    common_rules: list[str]
    types: list[LabelInfo]
    none: LabelInfo
    _by_slug: dict[str, LabelInfo] = PrivateAttr(default_factory=dict)
    _alias: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        slugs = [t.slug for t in self.types]
        if tuple(slugs) != TYPES:
            raise ValueError(f"labels file must list exactly these types in order: {', '.join(TYPES)}")
        if self.none.slug != NONE:
            raise ValueError("the 'none' entry must have slug 'none'")
        missing = [t.slug for t in (*self.types, self.none) if t.strategy is None]
        if missing:
            raise ValueError(f"types without a strategy: {', '.join(missing)}")
        self._by_slug = {info.slug: info for info in (*self.types, self.none)}
        for info in (*self.types, self.none):
            for name in (info.slug, info.name_zh, *info.aliases):
                key = _key(name)
                if key in self._alias and self._alias[key] != info.slug:
                    raise ValueError(f"alias {name!r} names both {self._alias[key]} and {info.slug}")
                self._alias[key] = info.slug

    def info(self, slug: str) -> LabelInfo:
        return self._by_slug[slug]

    def name_zh(self, slug: str) -> str:
        return self._by_slug[slug].name_zh

    def to_slug(self, value: object) -> str:
        """A label written as slug, Chinese name or alias, as its slug; ``UnknownLabelError`` otherwise."""
        slug = self._alias.get(_key(str(value)))
        if slug is None:
            raise UnknownLabelError(f"unknown label {value!r}")
        return slug

    def try_slug(self, value: object) -> str | None:
        return self._alias.get(_key(str(value)))

    def leak_terms(self) -> list[str]:
        """Type names that must never appear inside a training note (they would teach the name, not the
        behaviour). ``死亡`` alone is an ordinary word of the domain (死亡证明) and is not listed."""
        terms = set()
        for info in self.types:
            for name in (info.name_zh, *info.aliases):
                if name.endswith(("型", "型客户")) or name == "投诉拒还":
                    terms.add(name)
        return sorted(terms | {"客户类型", "借款人类型"}, key=len, reverse=True)

    def strategy_text(self, slug: str) -> str:
        """The strategy as plain text (one block; what batch outputs and the CLI print)."""
        info = self._by_slug[slug]
        if info.strategy is None:
            return ""
        s = info.strategy
        lines = [f"目标：{s.aim}", "做法："]
        lines += [f"{i}. {step}" for i, step in enumerate(s.steps, 1)]
        lines += ["避免：", *[f"- {item}" for item in s.avoid]]
        return "\n".join(lines)


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "").replace("-", "_")


def default_labels_path() -> Path:
    return Path(str(resources.files("borrower_typing") / "resources" / "labels.yaml"))


def load_labels(path: str | Path | None = None) -> LabelSet:
    """The labels file at ``path`` (default: the packaged one), validated."""
    path = Path(path) if path else default_labels_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LabelsError(f"{path}: unreadable labels file: {_one_line(exc)}") from exc
    if not isinstance(raw, dict):
        raise LabelsError(f"{path}: invalid labels file: expected a mapping with common_rules, types and none")
    try:
        return LabelSet.model_validate(raw)
    except ValidationError as exc:
        raise LabelsError(f"{path}: invalid labels file: {_first_error(exc, raw)}") from exc
    except ValueError as exc:
        raise LabelsError(f"{path}: invalid labels file: {_one_line(exc)}") from exc


def _first_error(exc: ValidationError, raw: dict) -> str:
    """The first validation error as one line naming the field (``types[3](victim).strategy.steps``)."""
    err = exc.errors()[0]
    where, node = "", raw
    for part in err["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and "slug" in node:
                where += f"({node['slug']})"
        else:
            where += f".{part}" if where else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    message = err["msg"].removeprefix("Value error, ")
    return f"{where or 'file'}: {message}{more}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
