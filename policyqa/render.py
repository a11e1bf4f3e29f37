"""An answer as plain text for the terminal (``policyqa ask``)."""

from __future__ import annotations

from service.answering import Answer

_TYPE = {
    "faq": "常见问答",
    "passage": "政策条文",
    "none": "未找到",
    "handoff": "转人工",
    "smalltalk": "寒暄",
    "clarify": "请确认",
}


def render_answer(answer: Answer) -> str:
    lines = [f"【{_TYPE[answer.type.value]}】（置信度 {answer.confidence:.2f}）", answer.answer]
    for n, s in enumerate(answer.sources, 1):
        parts = [f"《{s.title}》", s.doc_no, s.section, s.issued_on, s.status]
        lines.append(f"  [{n}] " + " ".join(p for p in parts if p))
        if s.url:
            lines.append(f"      {s.url}")
    if answer.related and answer.type.value != "clarify":  # a clarification numbers them itself
        lines.append("相关问题：" + "；".join(answer.related))
    if answer.handoff:
        lines.append("（可转人工服务）")
    return "\n".join(lines)
