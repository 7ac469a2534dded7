import pandas as pd

from borrower_typing.validate import near_duplicates, validate_frame


def frame(rows):
    df = pd.DataFrame(rows, columns=["text", "label", "style"])
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df


def rules(report):
    return {(i.row, i.rule) for i in report.issues}


def test_clean_table_passes(labels):
    report = validate_frame(
        frame([("客户称下周三一定还", "serial_promiser", "crm"), ("你去告啊", "自信型", "call")]), labels
    )
    assert report.ok and report.counts.loc["confident", "call"] == 1


def test_unknown_label(labels):
    assert (2, "unknown_label") in rules(
        validate_frame(frame([("甲", "victim", "crm"), ("乙", "暴躁", "crm")]), labels)
    )


def test_empty_and_whitespace_text(labels):
    report = validate_frame(
        frame([("", "victim", "crm"), ("  \u3000 ", "victim", "crm"), ("好", "none", "crm")]), labels
    )
    assert {(1, "empty_text"), (2, "empty_text")} <= rules(report)


def test_exact_duplicate_names_first_row(labels):
    report = validate_frame(frame([("客户称明天还款", "none", "crm"), ("客户称明天还款 ", "none", "crm")]), labels)
    issue = next(i for i in report.issues if i.rule == "duplicate")
    assert issue.row == 2 and "row 1" in issue.message


def test_near_duplicate(labels):
    a = "客户称最近生意不好，老婆把钱拿走了，边说边哭，说下个月再想办法还款"
    b = "客户称最近生意不好，老婆把钱拿走了，边说边哭，说下个月再想办法还钱"
    c = "借款人在电话里大声骂人，说我们比别的平台烦多了，月底会还"
    report = validate_frame(frame([(a, "victim", "crm"), (b, "victim", "crm"), (c, "provocative", "call")]), labels)
    assert (2, "near_duplicate") in rules(report)
    assert not any(i.row == 3 for i in report.issues)


def test_label_leak(labels):
    report = validate_frame(frame([("该客户属于老练型，称下月还", "sophisticated", "visit")]), labels)
    assert (1, "label_leak") in rules(report)


def test_missing_columns(labels):
    report = validate_frame(pd.DataFrame({"note": ["x"]}), labels)
    assert [i.rule for i in report.issues] == ["missing_column", "missing_column"]


def test_near_duplicates_threshold():
    texts = ["一二三四五六七八九十", "一二三四五六七八九十", "完全不同的一句话在这里"]
    assert [(i, j) for i, j, _ in near_duplicates(texts)] == [(0, 1)]


def test_bundled_corpus_passes(corpus, labels):
    df = corpus.copy()
    df.index = pd.RangeIndex(1, len(df) + 1)
    report = validate_frame(df, labels)
    assert report.ok, report.issues[:5]
    counts = report.counts
    for label in (t.slug for t in labels.types):
        assert counts.loc[label, "all"] >= 250
        for style in ("crm", "call", "visit"):
            assert counts.loc[label, style] >= 60
    assert counts.loc["none", "all"] >= 300


def test_conflicts_are_errors_duplicates_and_empty_notes_warnings(labels):
    report = validate_frame(
        frame(
            [
                ("你去告啊我不怕", "confident", "crm"),
                ("你去告啊，我不怕", "confident", "crm"),
                ("下周一定还", "serial_promiser", "crm"),
                ("下周一定还！", "evasive", "call"),
                ("", "none", "crm"),
            ]
        ),
        labels,
    )
    assert {(3, "label_conflict"), (4, "label_conflict")} <= rules(report)
    assert {i.rule for i in report.errors} == {"label_conflict"}
    assert {"near_duplicate", "empty_text"} <= {i.rule for i in report.warnings}
    assert not report.ok


def test_warnings_alone_pass(labels):
    rows = [("你去告啊我不怕", "confident", "crm"), ("你去告啊我不怕", "自信型", "crm")]
    report = validate_frame(frame(rows), labels)
    assert report.warnings and report.ok
