import pickle

import pytest

from borrower_typing.text import normalize
from borrower_typing.tokenize import Tokenizer, domain_words, make_tokenizer, prepare, read_dictionary


def test_domain_words_stay_whole():
    tok = make_tokenizer()
    tokens = tok("客户要求停息挂账，否则去12378投诉，已经爽约两次")
    for word in ("停息挂账", "12378", "爽约"):
        assert word in tokens


def test_placeholders_stay_whole():
    assert make_tokenizer()(normalize("电话13812345678，还3000元")) == ["电话", "PHONE", "还", "AMT"]


def test_punctuation_is_dropped():
    assert all(t.strip() and t not in ",。!?" for t in make_tokenizer()("好的，明天还！？"))


def test_backends_identical_on_the_whole_corpus(corpus):
    """rjieba is the default because it gives the same tokens as jieba, much faster."""
    from borrower_typing.data import read_table
    from tests.conftest import SAMPLE_CSV

    fast, reference = make_tokenizer("rjieba"), make_tokenizer("jieba")
    texts = corpus["text"].tolist() + read_table(SAMPLE_CSV)["催记内容"].dropna().tolist()
    for text in texts + [normalize(t) for t in texts]:
        assert fast(text) == reference(text), text


def test_prepare_folds_runs_and_hyphens():
    assert prepare("喂喂喂喂 03-14 版本5.2.1") == "喂喂 03 14 版本5 2 1"


def test_tokenizer_pickles_small_and_equal():
    tok = make_tokenizer()
    tok("预热")  # the engine is cached at module level, not on the object
    blob = pickle.dumps(tok)
    assert len(blob) < 20_000
    assert pickle.loads(blob) == tok


def test_user_dictionary(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("# my words\n拖欠款项 10 n\n", encoding="utf-8")
    assert read_dictionary(path) == ["拖欠款项"]
    tok = make_tokenizer("rjieba", [path])
    assert "拖欠款项" in tok("他说拖欠款项下月处理")
    assert "拖欠款项" in tok.user_words and len(tok.user_words) == len(domain_words()) + 1


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown tokenizer backend"):
        Tokenizer("thulac")


@pytest.mark.parametrize("backend", ["rjieba", "jieba"])
def test_clause_by_clause_equals_the_whole_note(corpus, backend):
    """Notes are segmented clause by clause (and each clause remembered); the tokens must be the ones the bare
    engine gives for the whole note."""
    from borrower_typing.tokenize import _SKIP_RE, segmenter

    tok = make_tokenizer(backend)
    whole = segmenter(backend, tuple(tok.user_words))
    texts = corpus["text"].tolist()
    for text in texts + [normalize(t) for t in texts] + ["喂喂喂，，在吗??? 5.2.1版  (客户)【已还】……好的~"]:
        expected = [t for t in whole(prepare(text)) if not _SKIP_RE.match(t)]
        assert tok(text) == expected, text


def test_copies_share_one_clause_memo_and_are_not_kept_alive():
    """Cloning in cross-validation copies the tokenizer many times: the copies share one memo, and a copy no
    longer used leaves no entry behind."""
    import copy
    import gc

    from borrower_typing import tokenize

    tok = make_tokenizer()
    copies = [copy.deepcopy(tok) for _ in range(5)]
    for c in copies:
        assert c("客户称下周还款") == tok("客户称下周还款")
    assert len({id(tokenize._CUTS[id(c)][1]) for c in [tok, *copies]}) == 1
    ids = [id(c) for c in copies]
    del c, copies
    gc.collect()
    assert not set(ids) & set(tokenize._CUTS)
