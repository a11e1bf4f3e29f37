"""Real document files for the document-management tests: a .docx built with python-docx and a
Markdown interpretation, both about a policy the sample knowledge does not hold."""

from __future__ import annotations

import io

import docx

POLICY_ID = "泰财〔2026〕8号-新能源汽车购置补贴"
POLICY_TITLE = "关于做好新能源汽车购置补贴资金申领工作的通知"
POLICY_NO = "泰财〔2026〕8号"
POLICY_ARTICLE = "申领人应当自购车发票开具之日起九十日内，通过阳光财政服务平台提交补贴申领材料"
QUESTION = "新能源汽车购置补贴应当在购车后多少天内申领？"
INTERPRETATION_ID = "解读-泰财〔2026〕8号"
INTERPRETATION_MARKER = "逾期未申领的视为自动放弃补贴"


def policy_docx() -> bytes:
    document = docx.Document()
    for text in (
        POLICY_NO,
        POLICY_TITLE,
        "各县（市、区）财政局，市直各部门：",
        "为规范新能源汽车购置补贴资金的申领和拨付，现就有关事项通知如下。",
        "第一条 本通知所称新能源汽车购置补贴，是指市级财政对个人购买新能源乘用车给予的一次性补贴。",
        "第二条 补贴标准为每辆车三千元，同一申领人限申领一次。",
        f"第三条 {POLICY_ARTICLE}。",
        "第四条 财政部门自受理之日起二十个工作日内完成审核，审核通过的补贴资金直接拨付至申领人银行账户。",
        "泰安市财政局",
        "2026年3月1日",
    ):
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def interpretation_md() -> bytes:
    return (
        "# 《关于做好新能源汽车购置补贴资金申领工作的通知》政策解读\n\n"
        "一、申领期限是多久？\n\n"
        "申领人应当自购车发票开具之日起九十日内提交申领材料，"
        f"{INTERPRETATION_MARKER}。\n\n"
        "二、补贴标准是多少？\n\n每辆车三千元，同一申领人限申领一次。\n"
    ).encode()


def policy_form(**changes: str) -> dict[str, str]:
    return {
        "id": POLICY_ID,
        "title": POLICY_TITLE,
        "doc_no": POLICY_NO,
        "issuer": "泰安市财政局",
        "issued_on": "2026-03-01",
        "effective_on": "2026-03-01",
        "disclosure": "主动公开",
        "category": "财政补贴",
        **changes,
    }


def interpretation_form(**changes: str) -> dict[str, str]:
    return {
        "id": INTERPRETATION_ID,
        "title": "《关于做好新能源汽车购置补贴资金申领工作的通知》政策解读",
        "issuer": "泰安市财政局",
        "issued_on": "2026-03-02",
        "disclosure": "主动公开",
        "kind": "interpretation",
        "interprets": POLICY_ID,
        **changes,
    }
