"""Invariance: details that say nothing about behaviour must not change the type."""

import pytest

BASE = [
    ("客户{name}称你们有本事去告，我不怕，逾期{amount}算什么，电话{phone}随便打", "confident"),
    ("{name}边哭边说老公把{amount}全拿走了，孩子生病住院，电话{phone}以后别打了", "victim"),
    ("{name}又说这次一定还{amount}，已经是第三次改期，手机{phone}", "serial_promiser"),
    ("家属称{name}已于上月病故，联系电话{phone}，欠款{amount}", "deceased"),
]
VARIANTS = [
    {"name": "张**", "amount": "3000元", "phone": "13812345678"},
    {"name": "欧阳*", "amount": "12,850.50元", "phone": "139****0001"},
    {"name": "李**", "amount": "五千块", "phone": "15900002222"},
]


@pytest.mark.parametrize(("template", "label"), BASE)
def test_names_amounts_phones_do_not_change_type(trained_model, template, label):
    types = {trained_model.predict([template.format(**v)])[0].type for v in VARIANTS}
    assert types == {label}


@pytest.mark.parametrize(("template", "label"), BASE)
def test_full_width_and_spacing_do_not_change_type(trained_model, template, label):
    note = template.format(**VARIANTS[0])
    full_width = note.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}).replace("，", " ，  ")
    a, b = trained_model.predict([note, full_width])
    assert a.type == b.type == label
    assert abs(a.confidence - b.confidence) < 0.05


def test_dates_and_times_do_not_change_type(trained_model):
    notes = [f"{d} 客户说你们去法院起诉吧，我不怕" for d in ("2026-11-03 09:12", "2025/1/7 20:45", "11月9日 14:00")]
    assert {p.type for p in trained_model.predict(notes)} == {"confident"}
