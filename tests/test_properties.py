"""Property-based: whatever text arrives, predict and score answer once per input and never crash."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borrower_typing.batch import score_file
from borrower_typing.data import read_table
from borrower_typing.labels import TYPES
from borrower_typing.text import normalize

notes = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=200),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=50),
    st.builds(lambda a, b: a * 400 + b, st.sampled_from(["还款", "客户称", "😀", "\x00"]), st.text(max_size=20)),
    st.sampled_from(["", " ", "nan", "None", "0", "13800000000", "\ufeff客户称明天还", "客户\r\n称\t明天还"]),
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.lists(notes, min_size=1, max_size=12))
def test_predict_answers_once_per_note(trained_model, batch):
    preds = trained_model.predict(batch)
    assert len(preds) == len(batch)
    for pred in preds:
        assert pred.best_guess in TYPES
        assert pred.type == ("none" if pred.needs_review else pred.best_guess)
        assert 0.0 <= pred.confidence == pred.best_guess_confidence <= 1.0
        assert pred.needs_review == (pred.review_reason != "")


@SETTINGS
@given(notes)
def test_normalize_is_total_and_idempotent(note):
    once = normalize(note)
    assert isinstance(once, str)
    assert normalize(once) == once


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(notes, min_size=1, max_size=30))
def test_score_keeps_every_row(model_dir, tmp_path_factory, batch):
    tmp = tmp_path_factory.mktemp("prop")
    pd.DataFrame({"id": range(len(batch)), "text": batch}).to_parquet(tmp / "in.parquet")
    summary = score_file(model_dir, tmp / "in.parquet", tmp / "out.parquet", chunk_size=7)
    out = read_table(tmp / "out.parquet")
    assert summary.rows == len(out) == len(batch)
    assert out["id"].tolist() == [str(i) for i in range(len(batch))]
