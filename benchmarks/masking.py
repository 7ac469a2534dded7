"""Time ``mask_pii`` on the corpus notes and on the same notes carrying a phone number, an amount and a date.

``python -m benchmarks.masking`` prints µs per note (best of five passes over 20,000 notes). Masking runs on
every note, so a change to ``pii.py`` should be timed with this before and after.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from borrower_typing.data import read_table
from borrower_typing.text import mask_pii

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "call_notes.csv"


def notes_sets(n: int = 20_000) -> dict[str, list[str]]:
    notes = read_table(CORPUS)["text"].astype(str).tolist()
    notes = (notes * (n // len(notes) + 1))[:n]
    rnd = random.Random(0)
    with_numbers = [
        f"{note} 电话1{rnd.randint(3, 9)}{rnd.randint(0, 10**9 - 1):09d}，还款{rnd.randint(1, 9999)}元 "
        f"2026-11-0{rnd.randint(1, 9)}"
        for note in notes
    ]
    return {"corpus notes": notes, "notes + phone, amount, date": with_numbers}


def main() -> dict[str, float]:
    figures = {}
    for name, notes in notes_sets().items():
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for note in notes:
                mask_pii(note)
            best = min(best, time.perf_counter() - start)
        figures[name] = best / len(notes) * 1e6
        print(f"{name}: {figures[name]:.1f} µs/note")
    return figures


if __name__ == "__main__":
    main()
