import numpy as np
from scipy import sparse

from borrower_typing.explainer import PLACEHOLDER_DISPLAY, Explainer


def test_evidence_is_strongest_first_and_skips_lone_characters():
    names = np.array(["word__还款", "char__还", "word__PHONE 打", "word__不还"])
    coef = np.array([[1.0, 5.0, 2.0, -3.0]])
    ex = Explainer(coef, lambda: names)
    X = sparse.csr_matrix(np.array([[1.0, 1.0, 1.0, 1.0]]))
    shown = ex.evidence(X, np.array([0]), k=5)[0]
    assert shown[0].startswith(PLACEHOLDER_DISPLAY["PHONE"]) and shown[1] == "还款"
    assert "还" not in shown and all("不还" not in s for s in shown)  # lone char; negative weight


def test_no_weights_no_evidence():
    ex = Explainer(None, lambda: np.array(["word__x"]))
    assert ex.evidence(sparse.csr_matrix(np.ones((2, 1))), np.array([0, 0]), 3) == [[], []]


def test_evidence_for_a_given_type(trained_model):
    x = trained_model.transform(["你们再打电话我就投诉到银保监会"])
    pieces = trained_model.evidence_for(x, "provocative", k=3)
    assert len(pieces) <= 3 and all(isinstance(p, str) and p for p in pieces)
