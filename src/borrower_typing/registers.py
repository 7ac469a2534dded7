"""Registers that real exports mix, mapped onto the one text the model reads.

- Traditional characters (Hong Kong, Macau, Taiwan) to Simplified, with OpenCC's ``t2s`` conversion.
- System lines (dial results, call durations, SMS receipts) reduced to one canonical token each, so ten
  failed dials read as ``SYSFAIL`` ten times rather than as noise.
- English collection shorthand and phrases of the trade (``PTP``, ``RPC``, ``DPD``, ``cust said``) and a few
  Traditional/HK/TW words to the Chinese a mainland collector would write, through a shipped table
  (``resources/shorthand.tsv``) that users extend with their own; other Latin words are case-folded.
- ``original_words``: a piece of evidence shown in the words the collector wrote (a mapped ``PTP`` as ``PTP``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Canonical tokens for system lines: ASCII upper case (both tokenisers keep them whole, no note collides).
SYS_FAIL, SYS_CALL, SYS_SMS, SYS_LINE = "SYSFAIL", "SYSCALL", "SYSSMS", "SYSLINE"
SYSTEM_TOKENS = (SYS_FAIL, SYS_CALL, SYS_SMS, SYS_LINE)
SYSTEM_DISPLAY = {SYS_FAIL: "[未接通]", SYS_CALL: "[通话记录]", SYS_SMS: "[短信回执]", SYS_LINE: "[系统记录]"}
# Words that case folding and the shorthand table leave alone: the placeholders text.py writes (a test holds
# this equal to text.PLACEHOLDERS) and the system tokens.
PROTECTED = ("PHONE", "IDNO", "CARDNO", "EMAIL", "NAME", "AMT", "DATE", "TIME", *SYSTEM_TOKENS)

_PREFIX = (
    r"(?:\[\s*(?:系统|系統|sys|system|auto|自动)\s*\]|【\s*(?:系统|系統|自动)\s*】|系统(?:提示|记录|消息)?\s*[:：])"
)
_FAIL_WORDS = (
    r"未接通|无人接听|未接听|无应答|关机|停机|空号|拒接|已拒接|忙音|占线|正在通话中|无法接通|暂时无法接通|不在服务区"
    r"|呼叫失败|对方已取消|对方已挂断|已挂断|未接|no answer|not answered|busy|powered off|switched off"
    r"|unreachable|failed|rejected|cancell?ed|invalid number"
)
_SMS_WORDS = r"短信(?:已)?(?:发送成功|已发送|发送|送达|已送达)|sms (?:sent|delivered)|短信回执[^ ]*"
_DURATION = (
    r"[0-9]{1,2}\s*[:：]\s*[0-5][0-9](?:\s*[:：]\s*[0-5][0-9])?"
    r"|[0-9]+\s*分(?:钟)?\s*(?:[0-9]+\s*秒)?|[0-9]+\s*(?:秒|s|sec|secs|seconds)(?![A-Za-z])"
)
# Each rule: pattern -> token. A system prefix with a dial result, a duration or an SMS receipt; phone-network
# announcements and call-log entries stand alone, with or without a prefix; a prefix with anything else is
# SYSLINE followed by the rest of the line's words.
_SYSTEM_RULES = [
    (
        rf"{_PREFIX}\s*(?:外呼|呼出|拨打|去电|来电|outbound(?: call)?|call)?\s*(?:结果)?\s*[:：]?\s*(?:{_FAIL_WORDS})",
        SYS_FAIL,
    ),
    (rf"{_PREFIX}\s*(?:{_SMS_WORDS})", SYS_SMS),
    (rf"(?:{_PREFIX}\s*)?(?:通话时长|通话时间|call duration|duration)\s*[:：]?\s*(?:{_DURATION})", SYS_CALL),
    (
        r"对方已取消|对方已挂断|对方正忙|您拨打的(?:电话|用户|号码)(?:已关机|已停机|是空号|暂时无法接通|正在通话中|无人接听|不在服务区)",
        SYS_FAIL,
    ),
    (rf"(?:{_SMS_WORDS})", SYS_SMS),
    (_PREFIX, SYS_LINE),
]
_SYSTEM_RE = re.compile("|".join(f"({p})" for p, _ in _SYSTEM_RULES), re.IGNORECASE)
_SYSTEM_TOKEN_OF = [token for _, token in _SYSTEM_RULES]
_SYSTEM_HINT = re.compile(r"系统|系統|通话|对方|拨打|短信|\[|【|duration|sms", re.IGNORECASE)
_UPPER_RE = re.compile(r"[A-Z]")
_LATIN_RE = re.compile("|".join(PROTECTED) + r"|[A-Za-z]+")
# Characters t2s leaves in (or turns into) forms mainland notes do not use: 嗰 into 𠮶, and HK/TW variants it
# keeps (揹 背, 枱 台, 衞 卫). Found by converting every corpus note to Traditional and back.
_AFTER_T2S = str.maketrans({"𠮶": "嗰", "揹": "背", "枱": "台", "衞": "卫"})
# t2s keeps 著 (著名), but in HK/TW notes it is nearly always the particle 着 (哭著說, 拖著): mainland spelling
# except in the few words where 著 is the Simplified form too.
_ZHE_RE = re.compile(r"(?<![显卓土原名巨])著(?![名作称述者录])")
_ZHE_AND_VARIANTS = "著𠮶揹枱衞"
# Characters t2s changes only inside a phrase (回覆 to 回复, 憑藉 to 凭借, 深沈 to 深沉), read off OpenCC 1.4's
# TSPhrases dictionary: converting characters one by one does not find them.
_PHRASE_ONLY = "哩坏沈甦瞭藉衹覆"


class ShorthandTable:
    """Terms and their replacements, compiled into one case-insensitive whole-word pattern."""

    def __init__(self, entries: Iterable[tuple[str, str]]):
        self.entries = tuple(entries)
        self.lookup = {_key(term): repl for term, repl in self.entries}
        latin, cjk = [], []
        for term in sorted(self.lookup, key=len, reverse=True):  # longest first: broken PTP before PTP
            body = r"\s+".join(re.escape(part) for part in term.split())
            is_latin = term[0].isascii() and term[0].isalnum()
            if is_latin or (term[-1].isascii() and term[-1].isalnum()):
                body += r"(?![A-Za-z0-9])"  # whole words: M3+ never inside M3+x, NC never inside NCB
            (latin if is_latin else cjk).append(body)
        # Guards first, so that at most positions one character class fails and the alternation is never
        # tried: a plain alternation of ~100 terms costs over 100 µs a note, this a few.
        parts = []
        if latin:
            parts.append(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9])(?:" + "|".join(latin) + ")")
        if cjk:
            firsts = "".join(
                sorted(
                    {
                        re.escape(t[0].lower()) + re.escape(t[0].upper())
                        for t in self.lookup
                        if not (t[0].isascii() and t[0].isalnum())
                    }
                )
            )
            parts.append(rf"(?=[{firsts}])(?:" + "|".join(cjk) + ")")
        self.pattern = re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)

    def replacement(self, matched: str) -> str:
        return self.lookup[_key(matched)]

    def apply(self, text: str) -> str:
        return self.pattern.sub(lambda m: f" {self.lookup[_key(m.group())]} ", text)


def _key(term: str) -> str:
    return " ".join(term.lower().split())


def read_table(path: str | Path) -> list[tuple[str, str]]:
    """Entries of a shorthand table: ``term<TAB>replacement[<TAB>meaning]`` per line, ``#`` comments.

    Raises ``ValueError`` naming the file and line for a malformed row or a term that is a placeholder."""
    entries = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{n}: expected 'term<TAB>replacement', got {line!r}")
        term = unicodedata.normalize("NFKC", fields[0].strip())
        if term.upper() in PROTECTED:
            raise ValueError(f"{path}:{n}: {term!r} is a text placeholder and cannot be a shorthand term")
        entries.append((term, fields[1].strip()))
    return entries


def default_table_path() -> Path:
    return Path(str(resources.files("borrower_typing") / "resources" / "shorthand.tsv"))


@lru_cache(maxsize=8)
def load_table(extra: tuple[str, ...] = ()) -> ShorthandTable:
    """The shipped table plus the users' tables (theirs win on a shared term)."""
    merged: dict[str, tuple[str, str]] = {}
    for path in (default_table_path(), *extra):
        for term, repl in read_table(path):
            merged[_key(term)] = (term, repl)
    return ShorthandTable(tuple(merged.values()))


def user_entries(paths: Iterable[str | Path]) -> tuple[tuple[str, str], ...]:
    """The entries of users' shorthand tables, in order (they travel with a trained model)."""
    return tuple(entry for path in paths for entry in read_table(path))


@lru_cache(maxsize=8)
def table_with(extra: tuple[tuple[str, str], ...] = ()) -> ShorthandTable:
    """The shipped table with ``extra`` entries added (theirs win on a shared term)."""
    if not extra:
        return load_table()
    merged = {_key(term): (term, repl) for term, repl in (*load_table().entries, *extra)}
    return ShorthandTable(merged.values())


@lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    import opencc  # loaded on first use: no import-time cost for code that never converts

    return opencc.OpenCC("t2s").convert


def traditional_chars() -> str:
    """The ideographs OpenCC's t2s changes, plus those fixed after it, found by converting every BMP ideograph.
    ``resources/traditional_chars.txt`` holds this list (a test keeps the two equal)."""
    chars = [chr(c) for c in (*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000), *range(0xF900, 0xFB00))]
    converted = _t2s()("\n".join(chars)).split("\n")
    changed = {a for a, b in zip(chars, converted, strict=True) if a != b}
    return "".join(sorted(changed | set(_ZHE_AND_VARIANTS) | set(_PHRASE_ONLY)))


@lru_cache(maxsize=1)
def _traditional_re() -> re.Pattern[str]:
    # A note with none of these characters is left as it is: most notes skip the conversion (20 µs a note)
    # and a process that never meets a Traditional character never loads OpenCC (60 ms at start).
    ref = resources.files("borrower_typing") / "resources" / "traditional_chars.txt"
    return re.compile("[" + ref.read_text(encoding="utf-8").strip() + "]")


def to_simplified(text: str) -> str:
    """Traditional characters to Simplified (Simplified text passes unchanged; ASCII is not converted)."""
    if text.isascii() or not _traditional_re().search(text):
        return text
    text = _t2s()(text).translate(_AFTER_T2S)
    return _ZHE_RE.sub("着", text) if "著" in text else text


def reduce_system_lines(text: str) -> str:
    """Each recognised system line or announcement replaced by its canonical token (see ``_SYSTEM_RULES``)."""
    if not _SYSTEM_HINT.search(text):
        return text

    def token(m: re.Match[str]) -> str:
        return f" {_SYSTEM_TOKEN_OF[m.lastindex - 1]} "

    return _SYSTEM_RE.sub(token, text)


def fold_case(text: str) -> str:
    """Latin words in lower case, placeholders and system tokens kept as they are."""
    if not _UPPER_RE.search(text):  # a regex scan in C: a Python loop over characters cost 80 µs a note
        return text
    return _LATIN_RE.sub(lambda m: m.group() if m.group() in PROTECTED else m.group().lower(), text)


def to_common(text: str, table: ShorthandTable | None = None) -> str:
    """A cleaned note (NFKC, whitespace folded) in the common register: Simplified characters, system lines as
    tokens, shorthand in Chinese, Latin words case-folded."""
    table = load_table() if table is None else table
    return from_simplified(to_simplified(text), table)


def from_simplified(text: str, table: ShorthandTable | None = None) -> str:
    """``to_common`` of a note already in Simplified characters (and masked: the shorthand table must never
    split an e-mail address such as cust@… before masking sees it)."""
    table = load_table() if table is None else table
    return fold_case(table.apply(reduce_system_lines(text)))


# --- evidence in the collector's own words -------------------------------------------------------------
def _offset_map(original: str, table: ShorthandTable) -> tuple[str, list[tuple[int, int]]]:
    """``original`` in Simplified with shorthand replaced, and for each of its characters the span of the
    original it came from. Conversion is character by character when OpenCC keeps the length (it nearly always
    does); otherwise the spans are of the converted text, and a piece is found only where nothing changed."""
    converted = to_simplified(original)
    if len(converted) != len(original):
        converted, original = original, original
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in table.pattern.finditer(converted):
        for i in range(pos, m.start()):
            out.append(converted[i])
            spans.append((i, i + 1))
        for ch in table.replacement(m.group()):
            out.append(ch)
            spans.append((m.start(), m.end()))
        pos = m.end()
    for i in range(pos, len(converted)):
        out.append(converted[i])
        spans.append((i, i + 1))
    return "".join(out), spans


def original_words(pieces: Iterable[str], original: str, table: ShorthandTable | None = None) -> list[str]:
    """Each evidence piece (read off the normalised note) as the collector wrote it in ``original``: shorthand
    back to its term, Simplified back to the Traditional it came from. A piece not found (one holding a
    placeholder, say) is returned as it is."""
    pieces = list(pieces)
    cleaned = " ".join(unicodedata.normalize("NFKC", original).split())
    if not pieces or not cleaned:
        return pieces
    common, spans = _offset_map(cleaned, load_table() if table is None else table)
    squeezed = "".join(ch for ch in common if not ch.isspace()).lower()
    keep = [i for i, ch in enumerate(common) if not ch.isspace()]
    out: list[str] = []
    for piece in pieces:
        if piece.isascii() and any(c.isalpha() for c in piece) and not piece.startswith("["):
            # Latin pieces only as whole words of the note: a character n-gram (ft of left, YSF of a system
            # token) is no word a reader can find.
            words = r"\s+".join(map(re.escape, piece.split()))
            m = re.search(rf"(?<![A-Za-z0-9]){words}(?![A-Za-z0-9])", cleaned, re.IGNORECASE)
            shown = m.group() if m else ""
        else:
            at = squeezed.find(piece.replace(" ", "").lower())
            if at < 0 or not piece:
                shown = piece
            else:
                first, last = keep[at], keep[at + len(piece.replace(" ", "")) - 1]
                shown = cleaned[spans[first][0] : spans[last][1]].strip()
        if shown and shown not in out:
            out.append(shown)
    return out


def has_system_tokens(text: str) -> bool:
    """Whether a normalised note holds a system-line token."""
    return any(token in text for token in SYSTEM_TOKENS)


_READABLE_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]|[A-Za-z]{2,}")


def readable_count(text: str, at_most: int | None = None) -> int:
    """Units of content the model can read in a normalised note: each CJK ideograph and each Latin word of two
    or more letters (placeholders and system tokens are not content). Counting stops at ``at_most``."""
    n = 0
    for m in _READABLE_RE.finditer(text):
        if m.group() not in PROTECTED:
            n += 1
            if at_most is not None and n >= at_most:
                break
    return n
