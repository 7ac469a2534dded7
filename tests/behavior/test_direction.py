"""Direction: adding a decisive fact moves the prediction toward the type it defines."""

import pytest

NEUTRAL = [
    "客户接听，说最近手头紧，会想办法",
    "外访到客户家，家人开门，说了几句情况",
    "坐席：您好 对方：嗯 知道了",
]


def prob(model, note, slug):
    return model.predict([note])[0].probabilities[slug]


@pytest.mark.parametrize("note", NEUTRAL)
def test_death_report_moves_to_deceased(trained_model, note):
    after = note + "。后经家属证实，借款人已于上月因病去世"
    assert prob(trained_model, after, "deceased") > prob(trained_model, note, "deceased")
    assert trained_model.predict([after])[0].type == "deceased"


@pytest.mark.parametrize("note", NEUTRAL)
def test_complaint_condition_moves_to_complaint_refusal(trained_model, note):
    after = note + "。称已向12378投诉乱收费，不处理就不还"
    assert prob(trained_model, after, "complaint_refusal") > prob(trained_model, note, "complaint_refusal")


@pytest.mark.parametrize("note", NEUTRAL)
def test_broken_promises_move_to_serial_promiser(trained_model, note):
    after = note + "，这已经是第三次承诺没兑现了，又说下周一定还"
    assert prob(trained_model, after, "serial_promiser") > prob(trained_model, note, "serial_promiser")


def test_dare_to_sue_moves_to_confident(trained_model):
    note = "客户说现在没钱"
    after = note + "，还说你们尽管去起诉，我不怕打官司"
    assert prob(trained_model, after, "confident") > prob(trained_model, note, "confident")


def test_crying_moves_to_victim(trained_model):
    note = "客户说生意亏了"
    after = "客户一边哭一边说生意亏了，老公也走了，家里孩子没人管，实在太难了"
    assert prob(trained_model, after, "victim") > prob(trained_model, note, "victim")
