import pytest

from borrower_typing.config import ConfigError, load_score_config, load_train_config, with_overrides


def test_project_configs_load():
    cfg = load_train_config("configs/train.yaml")
    assert cfg.data.text_column == "text"
    assert cfg.tokenizer.backend == "rjieba"
    assert load_score_config("configs/score.yaml").text_column == "催记内容"


def test_unknown_key_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("classifier:\n  kind: linear_svc\n  Cee: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"classifier\.Cee"):
        load_train_config(path)


def test_bad_value_names_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("classifier:\n  kind: forest\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"classifier\.kind"):
        load_train_config(path)


def test_ngram_range_must_be_ordered():
    with pytest.raises(ConfigError, match="ngram_range"):
        load_train_config(None, {"features.char.ngram_range": [3, 1]})


def test_some_features_must_be_enabled():
    with pytest.raises(ConfigError, match="at least one"):
        load_train_config(None, {"features.char.enabled": False, "features.word.enabled": False})


def test_not_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_train_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_train_config("configs/nope.yaml")


def test_overrides_are_validated_again():
    cfg = load_train_config(None)
    assert with_overrides(cfg, {"classifier.C": 2.0}).classifier.C == 2.0
    with pytest.raises(ConfigError):
        with_overrides(cfg, {"classifier.C": -1})
