"""The vocabulary share: what a note's character pairs have in common with the model's."""

from borrower_typing.vocab import known_pairs, note_pairs, vocab_share


def test_pairs_are_distinct_and_skip_spaces():
    assert note_pairs("还款还款") == {"还款", "款还"}
    assert note_pairs("AMT 元") == {"AM", "MT"}
    assert note_pairs("还") == set()


def test_share_counts_known_pairs():
    known = known_pairs(["还款", "还", "下周还", "下周"])
    assert known == frozenset({"还款", "下周"})
    assert vocab_share("下周还款", known) == 2 / 3
    assert vocab_share("量子纠缠", known) == 0.0
    assert vocab_share("还", known) is None
