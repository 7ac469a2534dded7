"""The reference profile: counts only, saved with the model, no note text and no long digit run in it."""

import json
import re

import numpy as np
import pytest

from borrower_typing.profile import PROFILE_FILE, Profile, load_profile, mask_token


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_training_saves_a_reference_profile_with_the_model(profiled_model_dir, corpus):
    profile = json.loads((profiled_model_dir / PROFILE_FILE).read_text(encoding="utf-8"))
    assert profile["rows"] == len(corpus)
    assert sum(profile["types"].values()) == profile["content_rows"] <= profile["rows"]
    assert sum(profile["confidence"]["counts"]) == profile["content_rows"]
    assert 0 < profile["review_share"] < 0.5
    assert 0.5 < profile["vocab_share"]["sum"] / sum(profile["vocab_share"]["counts"]) < 1.0  # out of fold
    assert len(profile["tokens"]["top"]) > 100


def test_profile_holds_no_note_text_and_no_long_digit_run(profiled_model_dir, corpus):
    text = (profiled_model_dir / PROFILE_FILE).read_text(encoding="utf-8")
    strings = list(_strings(json.loads(text)))
    assert strings
    for s in strings:
        assert not re.search(r"[0-9]{5,}", s), s
    notes = {n for n in corpus["text"] if len(n) >= 8}
    longest = max(strings, key=len)
    assert len(longest) <= 20, longest
    assert not notes & set(strings)


def test_tokens_are_stored_masked():
    assert mask_token("13812345678") == "###########"
    assert mask_token("，") is None and mask_token(" ") is None
    assert mask_token("还款") == "还款"


def test_chunks_add_up_to_the_whole():
    rng = np.random.default_rng(0)
    n = 500
    types = rng.choice(["evasive", "victim", "stubborn"], n).tolist()
    conf = rng.random(n).tolist()
    reasons = rng.choice(["", "", "no_basis", "low_confidence"], n).tolist()
    lengths = rng.integers(1, 2000, n).tolist()
    shares = [None if i % 7 == 0 else float(x) for i, x in enumerate(rng.random(n))]
    whole = Profile()
    whole.add(types, conf, reasons, lengths, shares)
    parts = Profile()
    for a in range(0, n, 128):
        part = Profile()
        part.add(types[a : a + 128], conf[a : a + 128], reasons[a : a + 128], lengths[a : a + 128], shares[a : a + 128])
        parts.merge(part)
    a, b = parts.to_dict(), whole.to_dict()
    assert a["vocab_share"].pop("sum") == pytest.approx(b["vocab_share"].pop("sum"))
    assert a == b
    assert whole.length.sum() == whole.content_rows == reasons.count("") + reasons.count("low_confidence")
    assert Profile.from_dict(json.loads(json.dumps(whole.to_dict()))).to_dict() == whole.to_dict()


def test_a_model_without_a_profile_is_named(model_dir):
    with pytest.raises(FileNotFoundError, match="no reference profile"):
        load_profile(model_dir)


def test_a_token_from_a_few_notes_is_neither_stored_nor_reported():
    # A borrower's name is in a handful of notes: it must not reach the profile or the report's new tokens.
    from borrower_typing.monitor import new_tokens
    from borrower_typing.profile import MIN_TOKEN_NOTES

    batch = Profile()
    batch.add_tokens([["王建国", "模板词"]] + [["模板词"]] * (MIN_TOKEN_NOTES + 2), known=frozenset())
    assert batch.tokens["王建国"] == 1
    assert "王建国" not in batch.to_dict()["tokens"]["top"] and "模板词" in batch.to_dict()["tokens"]["top"]
    shown = [row["token"] for row in new_tokens(Profile(), batch, frozenset(), top=20)]
    assert shown == ["模板词"]
