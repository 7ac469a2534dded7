import pytest
import yaml

from borrower_typing.labels import CLASSES, TYPES, UnknownLabelError, default_labels_path, load_labels


def test_nine_types_plus_none(labels):
    assert [t.slug for t in labels.types] == list(TYPES)
    assert CLASSES[-1] == "none" and len(TYPES) == 9


@pytest.mark.parametrize(
    ("value", "slug"),
    [
        ("推托型", "evasive"),
        ("推脱", "evasive"),
        ("死亡", "deceased"),
        ("投诉拒还", "complaint_refusal"),
        ("Serial_Promiser", "serial_promiser"),
        (" victim ", "victim"),
        ("无", "none"),
    ],
)
def test_aliases(labels, value, slug):
    assert labels.to_slug(value) == slug


def test_unknown_label(labels):
    with pytest.raises(UnknownLabelError, match="unknown label"):
        labels.to_slug("暴躁型")


def test_leak_terms_cover_type_names_but_not_ordinary_words(labels):
    terms = labels.leak_terms()
    for name in ("挑衅型", "推托型", "受害者型", "自信型", "顽固型", "老练型", "保证还款型", "投诉拒还"):
        assert name in terms
    assert "死亡" not in terms and "投诉" not in terms


def test_strategies_follow_the_rules(labels):
    text = "\n".join(labels.strategy_text(t) for t in TYPES)
    assert "1161" in labels.strategy_text("deceased")
    assert "22:00" in labels.strategy_text("evasive") and "6 次" in labels.strategy_text("evasive")
    for word in ("威胁", "恐吓"):
        # strategies may warn against these, never recommend them: they only appear under 避免/不
        for line in text.splitlines():
            if word in line:
                assert line.startswith("-") or "不" in line, line


def test_every_strategy_has_aim_steps_avoid(labels):
    for slug in (*TYPES, "none"):
        text = labels.strategy_text(slug)
        assert text.startswith("目标：") and "做法：" in text and "避免：" in text


def test_edited_labels_file_is_validated(tmp_path):
    raw = yaml.safe_load(default_labels_path().read_text(encoding="utf-8"))
    raw["types"] = raw["types"][:-1]
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="exactly these types"):
        load_labels(path)


def test_duplicate_alias_rejected(tmp_path):
    raw = yaml.safe_load(default_labels_path().read_text(encoding="utf-8"))
    raw["types"][0]["aliases"].append("推托型")
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="names both"):
        load_labels(path)


def test_file_without_sources_still_loads(tmp_path):
    raw = yaml.safe_load(default_labels_path().read_text(encoding="utf-8"))
    for info in (*raw["types"], raw["none"]):
        info["strategy"].pop("sources")
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_labels(path).info("deceased").strategy.sources == []


def test_every_shipped_strategy_names_its_sources(labels):
    for slug in (*TYPES, "none"):
        assert labels.info(slug).strategy.sources, slug


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda raw: raw["types"][2]["strategy"].update(steps="一句话"), "types[2](victim).strategy.steps"),
        (lambda raw: raw["types"][7]["strategy"].update(sources=["ESTATE", ""]), "types[7](deceased).strategy.sources"),
        (lambda raw: raw["none"]["strategy"].update(aim="  "), "none.strategy.aim"),
        (lambda raw: raw["types"][0]["strategy"].update(goal="x"), "types[0](provocative).strategy.goal"),
        (lambda raw: raw.pop("common_rules"), "common_rules"),
    ],
)
def test_bad_field_is_one_line_naming_it(tmp_path, edit, field):
    raw = yaml.safe_load(default_labels_path().read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_labels(path)
    message = str(info.value)
    assert "\n" not in message and f"invalid labels file: {field}:" in message and str(path) in message
