"""Minimum functionality: a short, clear note of each type, written unlike the corpus, is typed right."""

import pytest

CLEAR = {
    "provocative": [
        "客户接起电话就开骂，说我们比讨债的还烦，吼完说月底发了钱就还",
        "坐席：您好 客户：烦死了天天打 再打我把手机砸了 我又没说不还 下礼拜给你",
    ],
    "evasive": [
        "连续一周电话不接，短信不回，上门两次铺子都关着，邻居说他晚上才回来",
        "家里人每次都说他不在，问去哪了也说不知道，本人电话一直无人接听",
    ],
    "victim": [
        "客户在电话里一直哭，说老公把钱拿去赌了，孩子还在住院，自己实在撑不下去",
        "外访时客户边哭边说店被水淹了，货全泡坏了，对不起我们，可是现在一分钱都没有",
    ],
    "confident": [
        "客户说你们有本事就去法院起诉，我一点都不怕，律师我也认识，别来吓唬我",
        "客户冷笑称才逾期十几天你们就小题大做，爱告就告，看你们能拿我怎样",
    ],
    "stubborn": [
        "客户反复就一句话：还不了，没钱，你们怎么说都没用，什么方案都不听",
        "不管给什么分期方案客户都说不行，只说有钱自然会还，现在就是没钱",
    ],
    "sophisticated": [
        "客户态度客气，说公司现金流紧张，应收账款下月回笼，罚息照付，想申请停息挂账后一次结清",
        "客户自称做进出口贸易，熟悉征信规则，说只是短期周转问题，资产有好几套房，下个月两期一起还",
    ],
    "serial_promiser": [
        "客户又一次道歉，说这次一定还，前面已经承诺三次都没兑现，这回说下周二",
        "第四次约定还款日又爽约，客户还是很客气，说朋友的钱没到，再给两天保证还",
    ],
    "deceased": [
        "借款人妻子来电称借款人上月因病去世，可以提供火化证明",
        "外访时村委会证实借款人已于今年三月车祸身亡，家里正在办后事",
    ],
    "complaint_refusal": [
        "客户说当初业务员承诺不收服务费，结果扣了两千，已经打12378投诉了，不退钱就不还",
        "客户称催收员打电话给他领导，严重影响工作，已向金融监管局投诉，处理之前一分不还",
    ],
}


@pytest.mark.parametrize(("label", "note"), [(label, note) for label, notes in CLEAR.items() for note in notes])
def test_clear_note_is_typed_right(trained_model, label, note):
    pred = trained_model.predict([note])[0]
    assert pred.type == label, (note, pred.type, pred.confidence)
    assert not pred.needs_review


@pytest.mark.parametrize(
    "note",
    [
        "本人未接",
        "号码已停机",
        "客户已全额结清，系统已销账",
        "对方称打错了，不认识借款人",
        "案件转至二组跟进",
        "客户来电要求更换还款卡",
        "已发送还款提醒短信",
    ],
)
def test_no_basis_notes_go_to_review(trained_model, note):
    pred = trained_model.predict([note])[0]
    assert pred.needs_review, (note, pred.type, pred.confidence)
    # a review row never carries a type a person would act on; the guess is kept apart
    assert (pred.type, pred.type_zh) == ("none", "待人工复核") and pred.best_guess != "none"
    assert pred.strategy == trained_model.labels.strategy_text("none")


@pytest.mark.parametrize(("note", "reason"), [("", "empty"), ("关机", None), ("   ", "empty")])
def test_an_empty_note_is_not_deceased_and_a_switched_off_phone_not_evasive(trained_model, note, reason):
    """The two answers operations once acted on: an empty note came out ``deceased``, 关机 ``evasive``."""
    pred = trained_model.predict([note])[0]
    assert pred.needs_review and pred.type == "none" and pred.type_zh == "待人工复核"
    assert pred.type not in ("deceased", "evasive")
    assert reason is None or pred.review_reason == reason
    assert pred.best_guess != "none" and pred.best_guess_confidence == pred.confidence
