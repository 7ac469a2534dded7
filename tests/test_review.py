from borrower_typing.labels import NONE
from borrower_typing.review import (
    NO_BASIS_REASONS,
    case_review_reason,
    note_review_reason,
    shown_type,
    strategy_key,
)


def test_note_review_reasons_in_order_of_precedence():
    assert note_review_reason("", True, 0.1, 0.3, 3) == "empty"
    assert note_review_reason("12345 ?!", False, 0.9, 0.3, 3) == "not_chinese"
    assert note_review_reason("ok ok", False, 0.9, 0.3, 3) == "too_short"  # English words are readable
    assert note_review_reason("SYSFAIL SYSFAIL", False, 0.9, 0.3, 3) == "no_basis"  # system lines only
    assert note_review_reason("cust will pay tmr", False, 0.9, 0.3, 3) is None
    assert note_review_reason("还", False, 0.9, 0.3, 3) == "too_short"
    assert note_review_reason("客户关机了", True, 0.9, 0.3, 3) == "no_basis"
    assert note_review_reason("客户说下周还", False, 0.2, 0.3, 3) == "low_confidence"
    assert note_review_reason("客户说下周还", False, 0.5, 0.3, 3) is None


def test_case_review_reasons():
    assert case_review_reason(0, 0.99, 0.3) == "no_basis"
    assert case_review_reason(2, 0.2, 0.3) == "low_confidence"
    assert case_review_reason(2, 0.9, 0.3) == ""


def test_every_review_row_gets_type_none_and_the_none_playbook():
    for reason in [*NO_BASIS_REASONS, "low_confidence"]:
        assert shown_type("victim", reason) == NONE and strategy_key("victim", reason) == NONE
    assert shown_type("victim", None) == "victim" and shown_type("victim", "") == "victim"
    assert strategy_key("victim", None) == "victim"


def test_out_of_vocabulary_comes_after_too_short_and_before_no_basis():
    assert note_review_reason("还", False, 0.9, 0.3, 3, vocab_share=0.0, min_vocab_share=0.5) == "too_short"
    assert note_review_reason("量子纠缠元宇宙", True, 0.9, 0.3, 3, 0.1, 0.5) == "out_of_vocabulary"
    assert note_review_reason("客户说下周还", False, 0.9, 0.3, 3, 0.6, 0.5) is None
    assert note_review_reason("客户说下周还", False, 0.9, 0.3, 3, None, 0.5) is None
    assert "out_of_vocabulary" in NO_BASIS_REASONS
