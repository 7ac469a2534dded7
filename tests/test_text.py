import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from borrower_typing import text
from borrower_typing.text import Memo, as_text, cjk_count, clean, mask_pii, normalize, normalize_sentence, texts_of


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("客户电话13812345678已关机", "13812345678"),
        ("客户电话 138 1234 5678", "138 1234 5678"),
        ("联系人 +86-139-0000-1234", "0000"),
        ("号码138****5678无人接", "138****5678"),
        ("身份证440101199001011234已核实", "440101199001011234"),
        ("身份证11010519491231002X", "11010519491231002X"),
        ("证件4401**********1234", "4401**********1234"),
        ("还款卡6222021234567890123", "6222021234567890123"),
        ("卡号 6222 0212 3456 7890", "6222 0212 3456 7890"),
        ("卡号6222****1234", "6222****1234"),
        ("座机0755-12345678", "12345678"),
        ("号码13912345678abc已停机", "13912345678"),
        ("ID440101199001011234X号", "440101199001011234"),
    ],
)
def test_mask_pii_removes_each_form(raw, secret):
    masked = mask_pii(raw)
    assert secret not in masked
    assert any(p in masked for p in ("PHONE", "IDNO", "CARDNO"))


def test_mask_pii_keeps_service_numbers_and_amounts():
    text = "客户称要打12378投诉,欠款3200元,逾期15天"
    assert mask_pii(text) == text


def test_card_tail_is_masked():
    assert "6621" not in mask_pii("尾号6621的卡扣款失败")


def test_nfkc_and_whitespace():
    assert clean("客户\u3000称：ＡＢＣ１２３\n\n  明天还") == "客户 称:ABC123 明天还"


def test_control_characters_are_dropped():
    assert clean("客户\x00称\x07明天") == "客户 称 明天"


def test_normalize_types_amounts_dates_and_names():
    out = normalize("张**承诺2026-11-05 10:30前还款3,200元")
    assert "NAME" in out and "DATE" in out and "TIME" in out and "AMT" in out
    assert "3,200" not in out and "张" not in out


def test_normalize_is_idempotent():
    once = normalize("李**称 5月20日 还 五千块，电话13900001111")
    assert normalize(once) == once


def test_as_text_handles_missing_and_numbers():
    assert as_text(None) == ""
    assert as_text(float("nan")) == ""
    assert as_text(13800000000) == "13800000000"
    assert as_text(b"\xe5\xae\xa2") == "客"


def test_cjk_count():
    assert cjk_count("abc 客户 123") == 2


def test_texts_of_accepts_common_inputs():
    df = pd.DataFrame({"id": [1, 2], "text": ["a", "b"]})
    assert texts_of(df) == ["a", "b"]
    assert texts_of(df[["text"]].rename(columns={"text": "note"})) == ["a", "b"]
    assert texts_of(pd.Series(["a"])) == ["a"]
    assert texts_of(np.array([["a"], ["b"]], dtype=object)) == ["a", "b"]
    assert texts_of("a") == ["a"]
    with pytest.raises(KeyError):
        texts_of(df.assign(other=1), column="note")


def test_sentence_by_sentence_equals_whole_note(corpus):
    """``normalize`` works sentence by sentence (and remembers sentences); the result must be the whole-note one."""
    for note in corpus["text"]:
        assert normalize(note) == normalize_sentence(note), note
    tricky = [
        "金额3,200元。已还1，000元！",
        "2026.11.28。10:30再打",
        " 。 好 ！？ ",
        "。",
        "尾号6621；身份证440101199001011234、",
    ]
    for note in tricky:
        assert normalize(note) == normalize_sentence(note), note


@given(st.text(alphabet=st.sampled_from([*"0123456789,，.。!！?？;；、:：-/ 元万块年月日号*客户称还款张", "\n"])))
def test_sentence_split_never_changes_the_result(note):
    assert normalize(note) == normalize_sentence(note)


def test_memo_is_bounded():
    calls = []
    memo = Memo(lambda key: calls.append(key) or key.upper(), size=3)
    assert [memo[k] for k in "abab"] == ["A", "B", "A", "B"]
    assert calls == ["a", "b"]
    for k in "cdef":
        memo[k]
    assert len(memo) <= 3
    assert memo["a"] == "A" and calls.count("a") == 2  # dropped when full, computed again
    assert isinstance(text._SENTENCES, Memo)


def test_memo_default_size_applies_to_live_memos_and_zero_turns_it_off():
    calls = []
    memo = Memo(lambda key: calls.append(key) or key * 2)
    fixed = Memo(str.upper, size=5)
    fixed["x"]
    memo["a"]
    previous = Memo.set_default_size(0)
    try:
        assert len(memo) == 0 and len(fixed) == 1, "only memos on the default are emptied"
        assert [memo["a"], memo["a"]] == ["aa", "aa"]
        assert calls == ["a", "a", "a"] and len(memo) == 0
        assert normalize("客户称下周还款。") == normalize_sentence("客户称下周还款。")
        assert len(text._SENTENCES) == 0
    finally:
        Memo.set_default_size(previous)
    memo["b"], memo["b"]
    assert calls.count("b") == 1
    with pytest.raises(ValueError):
        Memo.set_default_size(-1)
