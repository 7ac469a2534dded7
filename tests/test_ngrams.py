import numpy as np
import pytest
from scipy import sparse

from borrower_typing import ngrams
from borrower_typing.ngrams import KeyIndex, char_counts, char_index, display_feature, tfidf


def test_display_feature():
    assert display_feature("word__还 不了") == "还不了"
    assert display_feature("char__起诉") == "起诉"


def test_key_index_binary_search_and_hash_agree(monkeypatch):
    """Small lookups use a sorted array, large ones a hash index; both must answer alike, -1 for misses."""
    keys = np.array([50, 7, 1 << 60, 3, 999], dtype=np.uint64)
    query = np.array([3, 4, 50, 1 << 60, 0, 999, 7, 2**63], dtype=np.uint64)
    expected = [3, -1, 0, 2, -1, 4, 1, -1]
    assert KeyIndex(keys).get_indexer(query).tolist() == expected
    monkeypatch.setattr(ngrams, "_HASH_FROM", 1)
    assert KeyIndex(keys).get_indexer(query).tolist() == expected
    assert KeyIndex(np.zeros(0, dtype=np.uint64)).get_indexer(query).tolist() == [-1] * len(query)


def test_char_counts_stay_inside_each_note():
    terms = ["a", "b", "ab", "ba", "还款"]
    X = char_counts(["ab", "ba", "", "还款还款"], char_index(terms), (1, 2), len(terms))
    assert X.toarray().tolist() == [[1, 1, 1, 0, 0], [1, 1, 0, 1, 0], [0] * 5, [0, 0, 0, 0, 2]]


@pytest.mark.parametrize("sublinear", [True, False])
def test_tfidf_matches_scikit_learn(sublinear):
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(0)
    counts = sparse.random(30, 12, density=0.3, random_state=1, format="csr", dtype=np.float32)
    counts.data = rng.integers(1, 5, counts.nnz).astype(np.float32)
    counts = sparse.csr_matrix(counts.toarray() * (np.arange(30) != 3)[:, None])  # row 3 empty
    reference = TfidfTransformer(sublinear_tf=sublinear).fit(counts)
    expected = reference.transform(counts.copy())
    got = tfidf(counts.copy(), reference.idf_, sublinear, True)
    assert np.allclose(got.toarray(), expected.toarray(), atol=1e-6)
