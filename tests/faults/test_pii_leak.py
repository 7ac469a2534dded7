"""Personal numbers in the training notes and the scored export reach no file that train or score writes:
reports, the MLflow store and its artifacts, the exported model folder (scorer.npz arrays and vocabularies
included) and the ``--mask-output`` export. The raw export is the one output that keeps them, by design."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from borrower_typing.batch import score_file
from borrower_typing.config import load_train_config
from borrower_typing.train import train

CN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def _digits(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789") for _ in range(n))


def generated_numbers(seed: int = 14) -> list[tuple[str, str]]:
    """(digits, as written) for phones, landlines, IDs and cards in every separator style."""
    rnd = random.Random(seed)
    out = []
    for style in ("{}", "{} {} {}", "{}-{}-{}", "{}.{}.{}", "+86 {} {} {}", "0086-{}-{}-{}", "full", "cn", "yao"):
        n = "1" + rnd.choice("3456789") + _digits(rnd, 9)
        parts = (n[:3], n[3:7], n[7:])
        if style == "full":
            text = n.translate(FULL)
        elif style in ("cn", "yao"):
            text = " ".join("".join(CN[c] for c in p) for p in parts)
            text = text.replace("一", "幺") if style == "yao" else text
        else:
            text = style.format(*parts) if "{} " in style or "-" in style or "." in style else n
        out.append((n, text))
    for area, sep in (("010", "-"), ("0755", " "), ("021", ") ")):
        local = rnd.choice("2345678") + _digits(rnd, 7)
        out.append((area + local, ("(" if sep == ") " else "") + area + sep + local[:4] + " " + local[4:]))
    for sep in ("", " ", "-", "."):
        n = "440305" + str(rnd.randint(1960, 2005)) + f"{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
        n += _digits(rnd, 3) + rnd.choice("0123456789X")
        out.append((n, sep.join((n[:6], n[6:14], n[14:]))))
    for sep, length in (("", 19), (" ", 16), ("-", 16), (".", 19), ("full", 16)):
        n = "6222" + _digits(rnd, length - 4)
        if sep == "full":
            out.append((n, n.translate(FULL)))
        else:
            out.append((n, sep.join(n[i : i + 4] for i in range(0, length, 4))))
    return out


NUMBERS = generated_numbers()


def needles() -> list[bytes]:
    """Each number's digits, as written, and in Chinese digits, in every encoding a file might hold them."""
    forms = set()
    for digits, written in NUMBERS:
        forms |= {digits.upper(), written, "".join(CN.get(c, c) for c in digits)}
    return [f.encode(enc) for f in forms for enc in ("utf-8", "utf-16-le", "utf-32-le") if len(f) >= 7]


def contents(path: Path) -> list[bytes]:
    """The file's bytes, and every member's bytes when it is a zip (.skops, .npz, .xlsx)."""
    data = [path.read_bytes()]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            data += [z.read(name) for name in z.namelist()]
    return data


def leaks(root: Path) -> list[str]:
    found = []
    patterns = needles()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for blob in contents(path):
            hit = next((n for n in patterns if n in blob), None)
            if hit is not None:
                found.append(f"{path.relative_to(root)}: {hit!r}")
                break
    return found


@pytest.fixture
def notes_with_numbers(small_corpus, tmp_path) -> Path:
    df = pd.read_csv(small_corpus, dtype=str, keep_default_na=False)
    rows = random.Random(0).sample(range(len(df)), 3 * len(NUMBERS))
    for i, row in enumerate(rows):  # each number in three notes of different types
        number = NUMBERS[i % len(NUMBERS)][1]
        df.loc[row, "text"] = f"{df.loc[row, 'text']}，联系方式{number}，邮箱 wang.{i}@example.com"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    df.to_csv(inputs / "train.csv", index=False)
    return inputs / "train.csv"


def test_the_scan_finds_numbers_where_they_are(notes_with_numbers):
    """The scanner itself: it finds every injected number in the file that holds them."""
    text = notes_with_numbers.read_bytes()
    assert all(written.encode() in text for _, written in NUMBERS)
    assert leaks(notes_with_numbers.parent)


@pytest.mark.slow
def test_train_and_score_write_no_personal_number(notes_with_numbers, tracking_uri, tmp_path):
    work = tmp_path / "written"
    cfg = load_train_config(
        None, {"data.path": str(notes_with_numbers), "tracking.export_dir": str(work / "models" / "borrower-typing")}
    )
    result = train(cfg, reports_dir=work / "reports")
    assert result.export_dir is not None and (Path(result.export_dir) / "MANIFEST.sha256.json").is_file()
    summary = score_file(result.export_dir, notes_with_numbers, work / "scored.csv", mask_output=True)
    assert summary.rows == len(pd.read_csv(notes_with_numbers))
    raw = tmp_path / "raw" / "scored.csv"
    score_file(result.export_dir, notes_with_numbers, raw)
    assert leaks(raw.parent), "without --mask-output the export keeps the raw note, numbers included"

    # Everything train and score wrote: reports, the SQLite store, MLflow's artifacts (in the working folder),
    # the exported model and the masked export.
    for store in ("mlflow.db", "mlruns", "mlartifacts"):
        if (tmp_path / store).exists():
            (tmp_path / store).rename(work / store)
    written = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.name == "scorer.npz" for p in written) and any(p.name == "label_audit.csv" for p in written)
    assert any(p.suffix == ".skops" for p in written)
    assert leaks(work) == []
    assert "example.com" not in (work / "scored.csv").read_text(encoding="utf-8-sig")
