import warnings

import numpy as np
import pytest

from borrower_typing.cases import CaseAggregator, is_empty_case, parse_times
from borrower_typing.labels import CLASSES


def _proba(**probs):
    row = np.full(len(CLASSES), 1e-3)
    for k, v in probs.items():
        row[CLASSES.index(k)] = v
    return row / row.sum()


class _Model:
    threshold = 0.3

    class labels:
        name_zh = staticmethod(lambda slug: slug)
        strategy_text = staticmethod(lambda slug: f"strategy of {slug}")


def test_times_are_ordered_as_times_not_as_text():
    """As text, '2026-11-02 9:00' sorts after '2026-11-02 10:00'; as a time it is earlier."""
    agg = CaseAggregator(list(CLASSES), decay=0.1)
    early, late = _proba(victim=0.9), _proba(stubborn=0.9)
    # file order: the late note first; the decay makes the last note (by time) decide
    agg.add(["c", "c"], np.stack([late, early]), ["", ""], times=["2026-11-02 10:00", "2026-11-02 9:00"])
    assert agg.result(_Model()).iloc[0]["type"] == "stubborn"


def test_unparseable_times_are_named_in_one_warning_and_count_as_earliest():
    agg = CaseAggregator(list(CLASSES), decay=0.1)
    a, b, c = _proba(victim=0.9), _proba(stubborn=0.9), _proba(evasive=0.9)
    agg.add(["k"] * 3, np.stack([a, b, c]), [""] * 3, times=["2026-11-03", "昨天下午", "2026-11-01"])
    with pytest.warns(UserWarning, match="1 note time") as caught:
        row = agg.result(_Model()).iloc[0]
    assert len(caught) == 1 and "昨天下午" in str(caught[0].message)
    assert row["type"] == "victim"  # 昨天下午 (first), 2026-11-01, then 2026-11-03 last: it decides


def test_missing_times_keep_file_order_without_a_warning():
    agg = CaseAggregator(list(CLASSES), decay=0.1)
    a, b = _proba(victim=0.9), _proba(stubborn=0.9)
    agg.add(["k", "k"], np.stack([a, b]), ["", ""], times=[None, ""])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert agg.result(_Model()).iloc[0]["type"] == "stubborn"


def test_parse_times_reads_mixed_formats_and_datetimes():
    import pandas as pd

    ns, bad = parse_times(["2026-11-02 09:00", pd.Timestamp("2026-11-01"), "2026/11/03", None, "x"])
    assert bad == ["x"]
    assert ns[1] < ns[0] < ns[2] and ns[3] == ns[4] == np.iinfo(np.int64).min


def test_notes_with_an_empty_case_id_are_cases_of_their_own():
    agg = CaseAggregator(list(CLASSES))
    notes = np.stack([_proba(victim=0.9), _proba(stubborn=0.9), _proba(victim=0.9), _proba(evasive=0.9)])
    agg.add(["", None, "K1", float("nan")], notes, [""] * 4)
    table = agg.result(_Model())
    assert table["case"].tolist() == ["", "", "K1", ""]
    assert table["type"].tolist() == ["victim", "stubborn", "victim", "evasive"]
    assert table["notes"].tolist() == [1, 1, 1, 1]
    assert agg.first_notes() == [0, 1, 2, 3]


def test_is_empty_case():
    assert is_empty_case(None) and is_empty_case("") and is_empty_case("  ") and is_empty_case(float("nan"))
    assert not is_empty_case("0") and not is_empty_case(0)


def test_cases_come_out_in_order_of_first_appearance_across_chunks():
    agg = CaseAggregator(list(CLASSES))
    p = _proba(victim=0.9)
    agg.add(["b", "a"], np.stack([p, p]), ["", ""])
    agg.add(["a", "c"], np.stack([p, p]), ["", ""])
    table = agg.result(_Model())
    assert table["case"].tolist() == ["b", "a", "c"] and table["notes"].tolist() == [1, 2, 1]
    assert agg.first_notes() == [0, 1, 3]


def test_case_rule_accumulates_weak_consistent_evidence():
    agg = CaseAggregator(list(CLASSES), decay=0.8)
    mild = _proba(serial_promiser=0.35, evasive=0.25, none=0.3)
    agg.add(["c1"] * 3, np.stack([mild, mild, mild]), ["", "", ""])
    row = agg.result(_Model()).iloc[0]
    assert row["type"] == "serial_promiser"
    assert row["confidence"] > 0.35 / (0.35 + 0.25 + 7 * 1e-3)  # more sure than any single note


def test_case_rule_weights_later_notes_more_and_skips_junk():
    agg = CaseAggregator(list(CLASSES), decay=0.5)
    early, late = _proba(victim=0.9), _proba(stubborn=0.9)
    junk = _proba(provocative=0.99)
    agg.add(
        ["c"] * 3,
        np.stack([early, late, junk]),
        ["", "", "empty"],
        times=["2026-01-01", "2026-02-01", "2026-03-01"],
    )
    assert agg.result(_Model()).iloc[0]["type"] == "stubborn"


def test_case_without_basis_goes_to_review():
    agg = CaseAggregator(list(CLASSES))
    quiet = _proba(none=0.8, evasive=0.1)
    agg.add(["c"] * 6, np.stack([quiet] * 6), [""] * 6)
    row = agg.result(_Model()).iloc[0]
    assert row["needs_review"] and row["review_reason"] == "no_basis" and row["notes_with_basis"] == 0
