import numpy as np
import pandas as pd

from borrower_typing.config import FeaturesConfig
from borrower_typing.features import CompactTfidfVectorizer, TextNormalizer, build_features
from borrower_typing.tokenize import make_tokenizer

NOTES = ["客户称下周还款3000元", "客户哭诉老公拿走了钱", "你去起诉啊我不怕", "关机"]


def test_normalizer_step():
    step = TextNormalizer().fit(pd.DataFrame({"text": NOTES}))
    out = step.transform(pd.DataFrame({"text": [NOTES[0], None]}))
    assert out == ["客户称下周还款 AMT", ""]
    assert list(step.get_feature_names_out()) == ["text"]


def test_feature_union_names():
    union = build_features(FeaturesConfig(), make_tokenizer())
    X = union.fit_transform(TextNormalizer().fit_transform(NOTES * 3))
    names = union.get_feature_names_out()
    assert X.shape == (12, len(names))
    assert any(n.startswith("word__") for n in names) and any(n.startswith("char__") for n in names)
    assert "word__起诉" in set(names)


def test_compact_vectorizer_state_round_trip():
    vec = CompactTfidfVectorizer(analyzer="char", ngram_range=(1, 2)).fit(NOTES)
    state = vec.__getstate__()
    assert isinstance(state["vocabulary_"], np.ndarray)
    assert isinstance(vec.vocabulary_, dict), "saving must not change the live object"
    clone = CompactTfidfVectorizer.__new__(CompactTfidfVectorizer)
    clone.__setstate__(state)
    assert (clone.transform(NOTES) != vec.transform(NOTES)).nnz == 0


def test_fast_counting_equals_scikit_learn(trained_model, corpus):
    """The fixed-vocabulary counting paths must give scikit-learn's matrix exactly."""
    from sklearn.feature_extraction.text import CountVectorizer

    notes = [*TextNormalizer().fit_transform(corpus["text"].tolist()), "", "a", "ab", "  x  y ", "😀客户", "𠀀字"]
    for name, vec in trained_model.pipeline.named_steps["features"].transformer_list:
        _, expected = CountVectorizer._count_vocab(vec, notes, True)
        _, got = vec._count_vocab(notes, True)
        assert got.shape == expected.shape, name
        assert abs(got - expected).nnz == 0, name


def test_no_long_number_becomes_a_vocabulary_term():
    """The fit-time guard holds even for numbers masking never saw (the notes here skip normalisation)."""
    from borrower_typing.pii import looks_like_number

    numbers = ["13812345678", "138 1234 5678", "6222-0212-3456-7890", "2026110001"]
    numbers.append("４４０１０１１９９００１０１１２３Ｘ")
    notes = [f"客户电话{n}，下周还款" for n in numbers] * 3 + NOTES * 3
    for analyzer, kwargs in (("word", {"tokenizer": make_tokenizer(), "token_pattern": None}), ("char", {})):
        for ngrams in ((1, 1), (1, 3)):
            vec = CompactTfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, lowercase=False, **kwargs)
            X = vec.fit_transform(notes)
            terms = list(vec.vocabulary_)
            assert not [t for t in terms if looks_like_number(t)], (analyzer, ngrams)
            assert X.shape == (len(notes), len(terms)) and sorted(vec.vocabulary_.values()) == list(range(len(terms)))
            assert any("还" in t for t in terms)


def test_looks_like_number_draws_the_line_at_seven_digits():
    from borrower_typing.pii import looks_like_number

    assert looks_like_number("1381234") and looks_like_number("138 123 4") and looks_like_number("一三八一二三四")
    assert not looks_like_number("123456") and not looks_like_number("AMT") and not looks_like_number("12378 热线")
