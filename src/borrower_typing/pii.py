"""Masking of personal numbers and e-mail addresses in note text, however people write them.

Collectors and speech-to-text write the same phone number as 13812345678, 138 1234 5678, 138-1234-5678,
138.1234.5678, +86 138…, 0086-138…, 一三八一二三四五六七八 or 幺三八…; ID and card numbers split into groups
by spaces, dashes or dots, partly masked (6222 **** **** 1234, 4401**********123X); landlines with area
codes (010-12345678, 0755 8888 6666, (021) 5555 6666). One pass of one regular expression finds every run
of digits (Arabic, full-width after NFKC, or Chinese 〇一二…九 and 幺) joined by single separators; a run is
then classified by its digit count and shape, and if the whole run is not a personal number the longest
sub-runs of whole groups that are, are masked (so ``DPD 37 13812345678`` still masks the phone).

Where the line is drawn (tests hold both sides of it):
- masked: mobiles (11 digits starting 1[3-9], with or without +86/0086/86), landlines (0 + area code, 10–12
  digits, or 7–8 digits right after a word like 电话/座机/拨打), ID numbers (15 digits, or 17 + digit/X),
  bank cards (16–19), any unbroken run of 12 or more digits (an account-like number whatever it is),
  e-mail addresses, and card tails (尾号6621).
- kept: amounts (5000元, 50,000), dates (2026-11-03, 2026.11.03), times (14:30), days past due (DPD 37),
  service numbers (12378, 95588, 400-…), case and contract numbers of up to 11 digits (2026110001).
  Numbers kept here still never become vocabulary terms when they are 7+ digits long (``features``).

Hand-written rather than a PII library: the Chinese-specific forms above are what matter, this runs on every
note (a library's NER pass would cost more than the whole prediction), and it adds no dependency.
"""

from __future__ import annotations

import re

PHONE, IDNO, CARD, EMAIL = "PHONE", "IDNO", "CARDNO", "EMAIL"

# Chinese digit characters as people dictate numbers; 两 and 十/百/千 are left out: they write amounts.
_CN_DIGITS = "〇零一二三四五六七八九幺"
_TO_ASCII = str.maketrans(_CN_DIGITS, "001234567891")
_DIGITS = "0-9" + _CN_DIGITS
_MASKS = "*＊×#xX"  # characters standing for a hidden digit (138****5678, 6222 xxxx xxxx 1234)
# One separator between groups: a space, a dash or dot (with spaces around it or not), a closing bracket
# after an area code. The text has been through ``clean`` (NFKC, whitespace folded), so no full-width forms.
_SEP = r"(?: ?[-.·—–_] ?| |[)）] ?)"
_RUN_RE = re.compile(
    rf"(?<![{_DIGITS}])(?:\+ ?)?[(（]?"
    # At least 7 digits or masks ahead, separators allowed: most notes' 一定, 3天, 5000元 never reach the
    # Python classifier below.
    rf"(?=(?:[{_DIGITS}{_MASKS}]{_SEP}?){{7}})"
    rf"[{_DIGITS}][{_DIGITS}{_MASKS}]*(?:{_SEP}[{_DIGITS}{_MASKS}]+)*"
)
_MAX_GROUPS = 24
_GROUP_RE = re.compile(rf"[{_DIGITS}{_MASKS}]+")
_PREFIX_CHECK = re.compile(rf"[0-9{_CN_DIGITS}@]")
_DATE_GROUPS = re.compile(
    r"(?<![0-9])(?:19|20)[0-9]{2}[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12][0-9]|3[01])(?![0-9])"
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Masked card tails that collectors write: 尾号6621 / 卡号后四位 6621.
_TAIL_RE = re.compile(r"(尾号|后四位|末四位)\s*[:：]?\s*[0-9]{3,4}")
# A short local number (87654321) is a phone only when the words right before it say so.
_PHONE_WORD_RE = re.compile(r"(电话|座机|手机|号码|拨打|致电|联系|打|tel|Tel|TEL|call)\s*[:：]?\s*[(（]?$")


def _classify(digits: str, before: str) -> str | None:
    """The placeholder for one candidate number (digits with masks as ``*``), or None to keep it."""
    n = len(digits)
    shown = sum(c.isdigit() for c in digits)
    if shown < 3:
        return None
    for prefix in ("0086", "86"):
        rest = digits[len(prefix) :]
        if digits.startswith(prefix) and len(rest) == 11 and rest[0] == "1" and rest[1] in "3456789*":
            return PHONE
    if n == 11 and digits[0] == "1" and digits[1] in "3456789*":
        return PHONE
    if digits[0] == "0" and digits[1:2] not in ("0", "") and 10 <= n <= 12:
        return PHONE
    if n in (15, 18):
        return IDNO
    if 16 <= n <= 19 or (n >= 12 and "*" in digits):  # cards are often written 6222****1234
        return CARD
    if n in (7, 8) and shown == n and _PHONE_WORD_RE.search(before):
        return PHONE
    return None


def _has_birth_date(digits: str) -> bool:
    """An 18-digit ID's birth date where it belongs: what tells ``440101-1990-01-01-123X`` from two dates."""
    month = digits[10:12]
    return len(digits) == 18 and digits[6:8] in ("19", "20") and month.isdigit() and 1 <= int(month) <= 12


def _allowed(kind: str | None, digits: str, piece: str) -> bool:
    """Dates are never part of a personal number, except the birth date inside an ID number, and a mobile
    number written without spaces whose first groups happen to read as a date (``1900-1-01-0000``): a date
    written beside another number has a space between them, and masking a date costs less than leaking a phone."""
    if kind is None:
        return False
    if not _DATE_GROUPS.search(piece):
        return True
    return (kind == IDNO and _has_birth_date(digits)) or (kind == PHONE and not any(c.isspace() for c in piece))


def _digits_of(piece: str) -> str:
    """The digits of ``piece`` as ASCII, every hidden digit as ``*``; an ID's closing X counts as a digit."""
    out = []
    for ch in piece.translate(_TO_ASCII):
        if ch.isdigit():
            out.append(ch)
        elif ch in _MASKS:
            out.append("*")
    return "".join(out)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    before = match.string[max(0, match.start() - 8) : match.start()]
    digits = _digits_of(run)
    kind = _classify(digits, before)
    if _allowed(kind, digits, run):
        return kind
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(run)]
    if len(groups) == 1:
        # An unbroken run of 12+ digits: an account-like number, whatever it is.
        return CARD if sum(c.isdigit() for c in run.translate(_TO_ASCII)) >= 12 else run
    # The longest runs of whole groups that are personal numbers, left to right.
    cumulative = [0]
    for start, end in groups:
        cumulative.append(cumulative[-1] + end - start)
    out: list[str] = []
    i, done = 0, 0
    while i < len(groups):
        # A personal number spans at most _MAX_GROUPS groups (19 digits and a prefix, one digit a group at
        # worst): the search stays linear in the run's length even for a hostile "1 1 1 1 …" note.
        for j in range(min(len(groups), i + _MAX_GROUPS), i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            size = cumulative[j] - cumulative[i]  # digits and masks: each group character is one
            if size < 7 or (size > 19 and j > i + 1):
                continue
            piece, digits = run[start:end], _digits_of(run[start:end])
            kind = _classify(digits, (before + run[max(0, start - 8) : start])[-8:])
            if kind is None and j == i + 1 and sum(c.isdigit() for c in piece) >= 12:
                kind = CARD
            if _allowed(kind, digits, piece):
                out.append(run[done:start] + kind)
                done, i = end, j
                break
        else:
            i += 1
    return "".join(out) + run[done:]


# Seven or more digits in a row, separators between them allowed: what may never be a vocabulary term.
_LONG_NUMBER_RE = re.compile(rf"[{_DIGITS}](?:[-. ]?[{_DIGITS}]){{6,}}")


def looks_like_number(term: str) -> bool:
    """True if ``term`` holds a run of more than six digits (Arabic, full-width or Chinese)."""
    return _LONG_NUMBER_RE.search(term) is not None


def mask_numbers(text: str) -> str:
    """``text`` (already cleaned: NFKC, whitespace folded) with phone, ID, card numbers, card tails and e-mail
    addresses replaced by the placeholders PHONE, IDNO, CARDNO and EMAIL."""
    if not _PREFIX_CHECK.search(text):  # every pattern needs a digit or an @
        return text
    if "@" in text:
        text = _EMAIL_RE.sub(EMAIL, text)
    text = _RUN_RE.sub(_mask_run, text)
    return _TAIL_RE.sub(lambda m: m.group(1) + CARD, text)
