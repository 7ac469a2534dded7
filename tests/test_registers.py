import re

import numpy as np
import pytest

from borrower_typing import registers
from borrower_typing.registers import (
    PROTECTED,
    SYS_CALL,
    SYS_FAIL,
    SYS_LINE,
    SYS_SMS,
    load_table,
    original_words,
    read_table,
    readable_count,
    reduce_system_lines,
    to_common,
)
from borrower_typing.text import PLACEHOLDERS, normalize, normalize_sentence
from borrower_typing.tokenize import make_tokenizer

# Hand-written twins: the same fictional note in Traditional (HK and TW wording) and in Simplified characters.
TWINS = [
    ("客戶稱下週發工資後還款，已經第三次改期了。", "客户称下周发工资后还款，已经第三次改期了。"),
    ("家屬說借款人上個月車禍過世，會寄死亡證明過來。", "家属说借款人上个月车祸过世，会寄死亡证明过来。"),
    (
        "客戶說手續費簽約時沒告知，已經投訴到銀保監會，不退費不還。",
        "客户说手续费签约时没告知，已经投诉到银保监会，不退费不还。",
    ),
    ("客戶哭著說被裁員了，孩子還要繳學費，真的還不了。", "客户哭着说被裁员了，孩子还要缴学费，真的还不了。"),
    ("你們去告啊，我有律師，這點錢我根本不在乎！", "你们去告啊，我有律师，这点钱我根本不在乎！"),
    (
        "連續三天電話無人接聽，家人說他出差了，不知道何時回來。",
        "连续三天电话无人接听，家人说他出差了，不知道何时回来。",
    ),
]


def test_placeholders_are_protected():
    assert set(PLACEHOLDERS) <= set(PROTECTED)


@pytest.mark.parametrize(("traditional", "simplified"), TWINS)
def test_traditional_twin_reads_as_simplified(traditional, simplified):
    assert normalize(traditional) == normalize(simplified)
    tok = make_tokenizer()
    assert tok(normalize(traditional)) == tok(normalize(simplified))


def test_traditional_twin_same_type_and_probabilities(trained_model):
    trad = trained_model.predict([t for t, _ in TWINS])
    simp = trained_model.predict([s for _, s in TWINS])
    for a, b in zip(trad, simp, strict=True):
        assert a.type == b.type
        keys = sorted(a.probabilities)
        assert np.allclose([a.probabilities[k] for k in keys], [b.probabilities[k] for k in keys], atol=1e-6, rtol=0)


def test_simplified_text_is_left_alone():
    note = "客户称下周三一定还款，之前两次都没还。"
    assert registers.to_simplified(note) == note


def _shipped() -> list[tuple[str, str]]:
    return read_table(registers.default_table_path())


@pytest.mark.parametrize(("term", "replacement"), _shipped())
def test_each_shorthand_entry_maps_as_documented(term, replacement):
    table = load_table()
    for variant in {term, term.lower(), term.upper()}:
        assert replacement in to_common(f"客户 {variant} 了", table), variant
        assert replacement in to_common(f"{variant}。", table), variant
    if term[0].isascii() and term[0].isalnum():  # Latin terms: whole words only
        for longer in (f"x{term}", f"{term}x", f"9{term}", f"{term}9"):
            if longer.lower() not in {t.lower() for t, _ in _shipped()}:
                assert replacement not in to_common(f"a {longer} b", table), longer


@pytest.mark.parametrize("note", ["PTPX", "SYNC", "xPTP", "sync data", "NCB", "skipper", "BPM", "M22"])
def test_shorthand_never_inside_a_longer_word(note):
    out = to_common(note)
    assert not re.search(r"[\u4e00-\u9fff]", out), out


def test_longest_term_wins_and_case_is_folded():
    assert to_common("Broken PTP again") == " 承诺未兑现  again"
    assert "承诺未兑现" in normalize("cust BP x3") and "承诺还款" not in normalize("cust BP x3")
    assert normalize("Will PAY Next Week") == normalize("will pay next week")


def test_user_table_extends_and_overrides(tmp_path):
    extra = tmp_path / "mine.tsv"
    extra.write_text("# ours\nPTP\t保证还款\nRTP\t拒付\ndebt collector\t催收员\n", encoding="utf-8")
    table = load_table((str(extra),))
    assert "保证还款" in to_common("PTP fri", table)
    assert "催收员" in to_common("the Debt  Collector called", table)
    assert "未联系上" in to_common("NC", table)  # shipped entries stay


@pytest.mark.parametrize(
    ("content", "message"),
    [("PTP\n", "mine.tsv:1"), ("ok\t好\nAMT\t金额\n", "placeholder"), ("\t空\n", "mine.tsv:1")],
)
def test_bad_table_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "mine.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_table(path)


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("[系统] 外呼 未接通", SYS_FAIL),
        ("【系统】外呼结果：关机", SYS_FAIL),
        ("系统提示：无人接听", SYS_FAIL),
        ("[System] outbound call failed", SYS_FAIL),
        ("对方已取消", SYS_FAIL),
        ("您拨打的电话暂时无法接通", SYS_FAIL),
        ("通话时长 00:04", SYS_CALL),
        ("通话时长 01:26:03", SYS_CALL),
        ("通话时长：1分12秒", SYS_CALL),
        ("[系统] 短信发送成功", SYS_SMS),
        ("短信已送达", SYS_SMS),
        ("[系统] 案件已分配", SYS_LINE),
    ],
)
def test_system_lines_reduced_to_one_token(line, token):
    out = reduce_system_lines(line)
    assert token in out.split()
    assert not re.search(r"未接通|关机|通话时长|短信|取消|无法接通|failed", out), out


def test_ten_failed_dials_read_as_ten():
    note = "\n".join(["[系统] 外呼 未接通"] * 10) + "\n客户回电称下周还款"
    tokens = make_tokenizer()(normalize(note))
    assert tokens.count(SYS_FAIL) == 10
    assert "TIME" not in normalize("通话时长 00:04")  # a duration is not a time of day


def test_collector_words_are_not_system_lines():
    assert normalize("客户未接通，明天再打") == normalize_sentence("客户未接通，明天再打")
    assert SYS_FAIL not in normalize("客户未接通，明天再打")


def test_readable_count_in_either_script():
    assert readable_count("cust says he will pay") == 5
    assert readable_count("客户称") == 3
    assert readable_count("PHONE AMT SYSFAIL 123 😀") == 0
    assert readable_count("x y z") == 0


def test_evidence_shows_the_words_written():
    assert original_words(["承诺还款"], "cust PTP fri, said sorry") == ["PTP"]
    assert original_words(["承诺未兑现"], "2nd Broken  PTP this month") == ["Broken PTP"]
    assert original_words(["下周还款"], "客戶稱下週還款，已改期") == ["下週還款"]
    assert original_words(["[金额]"], "还3000元") == ["[金额]"]  # placeholders stay as they are


def test_model_evidence_in_original_words(trained_model):
    note = "Cust PTP again this Friday, 3 BP this month, always says sorry and this time for sure."
    pred = trained_model.predict([note])[0]
    assert pred.evidence
    for piece in pred.evidence:
        assert "承诺" not in piece and "兑现" not in piece, pred.evidence
    trad = trained_model.predict(["客戶哭著說被裁員了，孩子還要繳學費，真的還不了。"])[0]
    shown = "".join(trad.evidence)
    assert shown and not re.search("[还着说]", shown), trad.evidence


def test_user_table_travels_with_the_model(tmp_path, small_corpus):
    from borrower_typing.config import TrainConfig
    from borrower_typing.labels import load_labels
    from borrower_typing.model import TypingModel
    from borrower_typing.train import fit_model, load_labelled

    table = tmp_path / "desk.tsv"
    table.write_text("jumped bail\t失联\n", encoding="utf-8")
    cfg = TrainConfig.model_validate({"data": {"path": str(small_corpus)}, "text": {"shorthand_tables": [str(table)]}})
    labels = load_labels()
    model = fit_model(cfg, load_labelled(cfg, labels), labels, 0.3, {})
    model.save(tmp_path / "bundle")
    loaded = TypingModel.load(tmp_path / "bundle")
    assert loaded.meta["shorthand"] == [["jumped bail", "失联"]]
    note = "cust jumped bail, family says no idea where"
    assert np.allclose(loaded.predict_proba([note]), model.pipeline.predict_proba([note]), atol=1e-6)
    assert np.allclose(loaded.predict_proba([note]), loaded.predict_proba(["cust 失联, family says no idea where"]))


@pytest.mark.parametrize("standard", ["s2t", "s2hk", "s2tw"])
def test_every_corpus_note_in_traditional_reads_as_itself(corpus, standard):
    import opencc

    convert = opencc.OpenCC(standard).convert
    clean = corpus[corpus["style"] != "register"]["text"]
    differ = [t for t in clean if normalize(convert(t)) != normalize(t)]
    assert not differ, differ[:3]


def test_shipped_traditional_list_matches_installed_opencc():
    shipped = (registers.default_table_path().parent / "traditional_chars.txt").read_text(encoding="utf-8").strip()
    assert shipped == registers.traditional_chars()


def test_simplified_notes_never_load_opencc():
    import subprocess
    import sys

    code = (
        "import sys; from borrower_typing.text import normalize; normalize('客户称下周还款'); "
        "print('opencc' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_masking_sees_notes_before_the_shorthand_table():
    out = normalize("cust@example.com said PTP, 尾號6621, 客戶電話13812345678")
    assert "EMAIL" in out and "example" not in out and "6621" not in out and "PHONE" in out
    assert normalize(out) == out
