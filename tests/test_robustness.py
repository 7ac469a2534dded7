import random

import pytest

from borrower_typing.robustness import PERTURBATIONS, format_table, perturb, robustness_scores, tables
from borrower_typing.text import normalize

NOTES = [
    "客户称下周发工资一定还款，这次一定。之前承诺两次都没还。",
    "客户说已经投诉到12378，服务费不退不还款！",
    "家属称借款人上个月去世，会提供死亡证明。",
]


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_each_perturbation_changes_notes_and_is_repeatable(name):
    once = perturb(NOTES, name, seed=3)
    assert once == perturb(NOTES, name, seed=3)
    assert len(once) == len(NOTES)
    assert any(a != b for a, b in zip(once, NOTES, strict=True))


def test_perturbations_do_what_they_say():
    trad = perturb(NOTES, "traditional")
    assert "還款" in trad[0] and "投訴" in trad[1]
    assert normalize(trad[0]) == normalize(NOTES[0])  # what the normalisation undoes
    short = perturb(NOTES, "shorthand")
    assert any(w in short[1] for w in ("complaint", "complained")) and "投诉" not in short[1]
    sys_lines = perturb(NOTES, "system_lines")
    assert all(len(s) > len(n) for s, n in zip(sys_lines, NOTES, strict=True))
    assert all(not any(c in s for c in "，。！") for s in perturb(NOTES, "no_punct"))
    asr = perturb(NOTES * 5, "asr", seed=1)
    assert any(w in "".join(asr) for w in ("换款", "环款", "头诉", "投速"))


def test_unknown_perturbation():
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(NOTES, "upside_down")


def test_tables_are_complete():
    t = tables()
    assert t["shorthand"] and t["homophones"] and len(t["system_lines"]) >= 5
    assert all(v and all(isinstance(x, str) and x for x in v) for v in t["shorthand"].values())


def test_scores_with_a_model_that_only_reads_simplified():
    y = ["a", "b", "c"]

    def predict(texts):  # right on clean notes, wrong on anything else
        return [y[NOTES.index(t)] if t in NOTES else random.Random(0).choice("x") for t in texts]

    scores = robustness_scores(predict, NOTES, y)
    assert scores["clean"] == 1.0
    assert list(scores) == ["clean", *PERTURBATIONS]
    assert scores["traditional"] == 0.0
    table = format_table({"m": scores})
    assert "| m | 1.000 |" in table and "-1.000" in table


def test_evaluate_perturb_command(model_dir, corpus, tmp_path):
    from typer.testing import CliRunner

    from borrower_typing.cli import app

    held = corpus.groupby("label").sample(n=3, random_state=1)[["text", "label"]]
    path = tmp_path / "held.csv"
    held.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["evaluate", "--data", str(path), "--model", str(model_dir), "--perturb"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["clean", *PERTURBATIONS]
    bad = tmp_path / "bad.csv"
    held.assign(label="nonsense").to_csv(bad, index=False)
    result = CliRunner().invoke(app, ["evaluate", "--data", str(bad), "--model", str(model_dir), "--perturb"])
    assert result.exit_code == 2 and "bad.csv" in result.output
