"""Notes in the registers real exports mix, none of them in the corpus, typed like their Chinese equivalents."""

import pytest

from borrower_typing.text import normalize

ENGLISH = [
    (
        "TPC→RPC 2nd call. cust says svc fee never disclosed, already reported to 12378, no payment b4 refund",
        "complaint_refusal",
    ),
    ("Cust said go ahead and sue, he's got a lawyer and doesn't care about his credit.", "confident"),
    ("Daughter called: her father passed away last Tuesday, will send the death certificate.", "deceased"),
    ("Borrower cried, lost her job and her kid is sick, she has nothing to pay with right now.", "victim"),
    ("PTP Fri again. 3 BP already this month, cust apologetic and friendly.", "serial_promiser"),
    ("Cust refuses every option, keeps saying he will not pay, no reason.", "stubborn"),
]
MIXED = [
    ("客戶話佢老公上個月過咗身，會寄死亡證明嚟。", "deceased"),
    ("[系统] 外呼 未接通\n[系统] 外呼 未接通\n通话时长 02:10 客户说有本事就去法院告他，他律师都找好了", "confident"),
]


@pytest.mark.parametrize(("note", "expected"), ENGLISH + MIXED)
def test_register_notes_typed_like_chinese(trained_model, note, expected):
    pred = trained_model.predict([note])[0]
    assert pred.type == expected, (note, pred.type, pred.confidence)
    assert not pred.needs_review, pred.review_reason


@pytest.mark.parametrize(("note", "_"), ENGLISH)
def test_english_notes_not_in_corpus(corpus, note, _):
    assert normalize(note) not in {normalize(t) for t in corpus["text"]}


def test_failed_dials_alone_are_no_basis(trained_model):
    pred = trained_model.predict(["\n".join(["[系统] 外呼 未接通"] * 10)])[0]
    assert pred.needs_review and pred.review_reason == "no_basis"
