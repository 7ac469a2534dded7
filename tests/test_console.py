from borrower_typing.batch import ScoreSummary
from borrower_typing.console import render_prediction, render_summary


def test_render_prediction_masks_the_note(trained_model, capsys):
    note = "客户手机13812345678，说下周五一定还"
    render_prediction(note, trained_model.predict([note])[0])
    out = capsys.readouterr().out
    assert "13812345678" not in out and "confidence" in out


def test_render_summary_counts(tmp_path, capsys):
    summary = ScoreSummary(tmp_path / "in.csv", tmp_path / "out.csv", rows=4, seconds=2.0)
    summary.type_counts.update(["victim", "victim", "none", "stubborn"])
    summary.review_counts.update(["empty"])
    render_summary(summary)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "4" in text and "victim" in text
