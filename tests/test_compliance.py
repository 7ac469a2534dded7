import copy
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.compliance import check_file, check_labels, default_rules_path, find_phrases, load_rules
from borrower_typing.labels import LabelSet, default_labels_path

runner = CliRunner()


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(default_labels_path().read_text(encoding="utf-8"))


def _with_step(raw, slug, text, field="steps"):
    edited = copy.deepcopy(raw)
    info = edited["none"] if slug == "none" else next(t for t in edited["types"] if t["slug"] == slug)
    if field == "description":
        info["description"] = text
    else:
        info["strategy"][field].append(text)
    return LabelSet.model_validate(edited)


def _ids(findings):
    return {f.rule for f in findings}


def test_shipped_file_passes():
    assert check_file() == []


# Each phrase rule: a text that breaks it, and a lawful twin saying the same thing correctly.
CASES = [
    ("credit-threat", "告诉客户不还就上征信。", "说明逾期信息按合同和征信规定报送，报送前事先告知。"),
    ("credit-threat", "说明每次爽约会产生一次负面信用记录。", "说明逾期期间按合同计收利息。"),
    ("legal-pressure", "客户不配合，就告诉他马上起诉。", "说明机构可以依法通过诉讼程序主张权利。"),
    ("legal-pressure", "提醒客户拒不还款可能坐牢。", "不以坐牢、拘留相威胁。"),
    ("false-consequence", "告诉客户逾期会影响子女考公和政审。", "只说明合同约定的后果。"),
    ("extra-fee", "如实告知爽约会产生一次扣款失败费。", "不收取合同约定以外的任何费用。"),
    ("third-party-disclosure", "联系不上本人时告诉家属他的欠款金额。", "联系不上本人时只请家属转告本人回电。"),
    ("third-party-disclosure", "必要时联系通讯录里的好友。", "只请联系人转告本人回电。"),
    ("solicit-relatives", "试探家属能否代还。", "告知不是继承人的亲属不承担清偿责任。"),
    ("new-borrowing", "建议客户先借网贷还上这期。", "介绍可以申请的分期方案。"),
    ("new-borrowing", "让客户找亲戚借点先还。", "不建议客户借新还旧。"),
    ("pretext", "向邻居旁敲侧击核实情况。", "核实只依据死亡证明等正式材料。"),
    ("pretext", "以快递名义打听客户住址。", "只说明本机构名称和来电目的是请本人回电。"),
    ("tracking", "记录客户营业或在家的时间规律，择时再访。", "按本机构流程安排一次上门。"),
    ("tracking", "在客户小区门口蹲守。", "不跟踪、不蹲守。"),
    ("night-contact", "晚上 22:30 再打一次。", "在 08:00–22:00 内分时段联系。"),
    ("night-contact", "清晨上门堵人最有效。", "上门在 08:00–22:00 之间。"),
    ("harassment", "不停地拨打直到客户接听。", "当日未接通不超过 6 次。"),
    ("harassment", "持续联系让客户感受到被催收压力。", "在合规频次内保持稳定的联系。"),
    ("impersonation", "以律师事务所名义发送律师函。", "不得冒充律师或其他机构。"),
    ("public-notice", "在小区张贴欠款告示。", "不得张贴或公示欠款信息。"),
    ("lone-visit", "可单独上门拜访。", "上门至少两人并出示证件。"),
    ("prejudging", "对确无理由的恶意拒还，说明后果。", "投诉有结果之前不断定客户恶意拒还。"),
    ("prejudging", "客户常以投诉相要挟。", "客户常表示要投诉或已经投诉。"),
    ("complaint-no-effect", "说明投诉的处理结果不影响还款义务。", "有争议的部分在核实结果出来前暂停催收。"),
    ("complaint-no-effect", "劝客户撤销投诉再谈减免。", "当场登记投诉并转交投诉处理部门。"),
]


@pytest.mark.parametrize(("rule_id", "bad", "lawful"), CASES)
def test_each_phrase_rule_fires_on_bad_text_not_on_lawful_twin(raw, rules, rule_id, bad, lawful):
    bad_findings = check_labels(_with_step(raw, "provocative", bad), rules)
    assert rule_id in _ids(bad_findings)
    hit = next(f for f in bad_findings if f.rule == rule_id)
    assert hit.type == "provocative" and hit.field.startswith("steps[") and hit.phrase in bad and hit.law
    assert check_labels(_with_step(raw, "provocative", lawful), rules) == []


def test_every_phrase_rule_has_a_case(rules):
    assert {r.id for r in rules.forbidden} == {case[0] for case in CASES}


@pytest.mark.parametrize(("rule_id", "bad", "_"), CASES)
def test_prohibitions_in_avoid_are_not_flagged(raw, rules, rule_id, bad, _):
    assert check_labels(_with_step(raw, "provocative", "不得" + bad, field="avoid"), rules) == []
    assert check_labels(_with_step(raw, "provocative", bad, field="avoid"), rules) == []


def test_negation_does_not_reach_past_the_clause(rules):
    rule = next(r for r in rules.forbidden if r.id == "legal-pressure")
    assert find_phrases("不得以起诉相威胁。", rule, rules.negation) == []
    assert find_phrases("客户不还款，就起诉。", rule, rules.negation) == ["起诉"]
    assert find_phrases("不要急，下周就起诉", rule, rules.negation) == ["起诉"]


def test_description_is_checked_too(raw, rules):
    labels = _with_step(raw, "victim", "情绪悲痛，哭诉遭遇并夸大困境。", field="description")
    assert [(f.type, f.field, f.rule) for f in check_labels(labels, rules)] == [("victim", "description", "prejudging")]


# Each required statement: removing it from the shipped text is caught.
REQUIRED = [
    ("common-hours", "common", "08:00–22:00", "白天"),
    ("common-third-party", "common", "不告知欠款的任何情况，", ""),
    ("common-conduct", "common", "不得冒充", "不要假扮"),
    ("common-complaint", "common", "15 日", "半个月"),
    ("common-outsource-records", "common", "事先告知客户", "视情况联系客户"),
    ("deceased-estate", "deceased", "所继承遗产的实际价值范围内清偿（民法典第 1161 条）", "继承的财产范围内清偿"),
    ("deceased-renounce-non-heir", "deceased", "放弃继承的继承人不承担清偿责任；", ""),
    ("deceased-renounce-non-heir", "deceased", "不是继承人的亲属不承担清偿责任。", ""),
    ("deceased-administrator-stop", "deceased", "就停止拨打借款人本人的号码和一切常规催收，", ""),
    ("complaint-routing", "complaint_refusal", "30 日", "更久"),
    ("complaint-routing", "complaint_refusal", "该催收员退出本案", "该催收员继续跟进"),
    ("hardship-options", "victim", "个性化分期", "分期"),
    ("hardship-options", "stubborn", "停息挂账", "减免"),
]


@pytest.mark.parametrize(("rule_id", "scope", "old", "new"), REQUIRED)
def test_each_missing_statement_is_caught(raw, rules, rule_id, scope, old, new):
    edited = copy.deepcopy(raw)
    if scope == "common":
        assert any(old in r for r in edited["common_rules"])
        edited["common_rules"] = [r.replace(old, new) for r in edited["common_rules"]]
    else:
        strategy = next(t for t in edited["types"] if t["slug"] == scope)["strategy"]
        assert any(old in s for s in strategy["steps"])
        strategy["steps"] = [s.replace(old, new) for s in strategy["steps"]]
    findings = check_labels(LabelSet.model_validate(edited), rules)
    assert [(f.type, f.rule) for f in findings] == [(scope, rule_id)]
    assert findings[0].phrase.startswith("缺少")


def test_every_required_rule_has_a_case(rules):
    assert {r.id for r in rules.required} == {case[0] for case in REQUIRED}


def test_the_defects_of_the_earlier_texts_are_all_caught(raw, rules):
    earlier = [
        ("serial_promiser", "如实告知每次爽约会产生一次负面信用记录和一次扣款失败费用（以合同为准）。"),
        ("complaint_refusal", "帮助客户区分：投诉的处理结果不影响借款合同本身的还款义务，两件事可以同时推进。"),
        ("complaint_refusal", "对确无理由的恶意拒还，客观说明拒绝还款在合同和法律上的实际后果，不夸大。"),
        ("deceased", "通过联系人、工作单位、居住地等渠道侧面、得体地核实消息是否属实。"),
        ("evasive", "电话不通时按计划上门，记录营业或在家的时间规律，选择客户可能在的时段再访。"),
    ]
    for slug, text in earlier:
        assert check_labels(_with_step(raw, slug, text), rules), text


def test_unknown_source_id_is_a_finding(raw, rules):
    edited = copy.deepcopy(raw)
    edited["types"][0]["strategy"]["sources"].append("NO-SUCH-RULE")
    findings = check_labels(LabelSet.model_validate(edited), rules)
    assert [(f.rule, f.phrase) for f in findings] == [("unknown-source", "NO-SUCH-RULE")]


def test_every_shipped_source_id_is_in_the_compliance_document(rules):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "compliance.md").read_text(encoding="utf-8")
    for source in rules.sources:
        assert f"`{source}`" in doc, source


def test_bad_pattern_in_rules_file_names_the_rule(tmp_path):
    raw_rules = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    raw_rules["forbidden"][1]["patterns"].append("起诉(")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw_rules, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"invalid rules file: forbidden\.1\.patterns") as info:
        load_rules(path)
    assert "\n" not in str(info.value)


def test_edited_rule_list_is_used(tmp_path):
    raw_rules = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    raw_rules["forbidden"].append({"id": "house-word", "patterns": ["先让情绪落地"], "law": "house", "message": "m"})
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw_rules, allow_unicode=True), encoding="utf-8")
    findings = check_file(None, path)
    assert [(f.type, f.field, f.rule) for f in findings] == [("provocative", "aim", "house-word")]


# The command line: exit codes and one line per finding.


def test_cli_shipped_file_exits_0():
    out = subprocess.run(
        [sys.executable, "-m", "borrower_typing", "labels", "check"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("OK: ") and "no findings" in out.stdout


def test_cli_violation_exits_1_one_line_per_finding(raw, tmp_path):
    edited = copy.deepcopy(raw)
    edited["types"][6]["strategy"]["steps"].append("如实告知每次爽约会产生一次负面信用记录和一次扣款失败费用。")
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["labels", "check", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    assert [line.split("\t")[:3] for line in lines] == [
        ["serial_promiser", "steps[4]", "credit-threat"],
        ["serial_promiser", "steps[4]", "extra-fee"],
    ]
    assert all("征信业管理条例" in line or "消费者权益保护" in line for line in lines)
    assert "2 findings" in result.stderr


def test_cli_prohibition_in_avoid_exits_0(raw, tmp_path):
    edited = copy.deepcopy(raw)
    edited["types"][3]["strategy"]["avoid"].append("以坐牢、拘留相威胁，或冒充法院、公安。")
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    assert runner.invoke(app, ["labels", "check", str(path)]).exit_code == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "unreadable labels file"),
        (b"\xff\xfe\x00\x01binary", "unreadable labels file"),
        (b"types: [unclosed", "unreadable labels file"),
        (b"- just\n- a list\n", "expected a mapping"),
    ],
)
def test_cli_unreadable_file_exits_2_one_line(tmp_path, content, expected):
    path = tmp_path / "labels.yaml"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["labels", "check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr and str(path) in result.stderr


def test_cli_invalid_field_exits_2_naming_it(raw, tmp_path):
    edited = copy.deepcopy(raw)
    edited["types"][3]["strategy"]["steps"] = "说明合同条款"
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["labels", "check", str(path)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "types[3](confident).strategy.steps" in result.stderr


def test_cli_bad_rules_file_exits_2(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("negation: {cues: '不得'}\nsources: {}\nforbidden: [{id: x}]\nrequired: []\n", encoding="utf-8")
    result = runner.invoke(app, ["labels", "check", "--rules", str(path)])
    assert result.exit_code == 2 and "forbidden.0.patterns" in result.stderr


def test_misspelt_scope_in_rules_file_is_refused(tmp_path):
    raw_rules = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    raw_rules["required"][5]["scope"] = "decesed"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw_rules, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"required\.5\.scope.*decesed"):
        load_rules(path)
