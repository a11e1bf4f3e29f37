"""Answers as WeChat text messages (2,048 bytes of UTF-8): a long answer from real policy text is
shortened at a sentence boundary, keeps its main citation and links to the full answer page."""

from __future__ import annotations

import re
from typing import Any

from channels.wechat_text import MAX_BYTES, answer_text, size
from tests.conftest import KNOWLEDGE

LAW = KNOWLEDGE / "policies" / "laws" / "政府采购法-2014.md"
PAGE = "https://zxzx.czj.example.gov.cn"


def articles(first: str, last: str) -> str:
    """Articles of the real 政府采购法 text, from ``first`` to ``last`` (inclusive)."""
    text = LAW.read_text(encoding="utf-8")
    start = text.index(f"\n{first} ")
    end = text.index("\n", text.index(f"\n{last} ") + 1)
    return re.sub(r"\n\s*\n", "\n", text[start:end]).strip()


def response(answer: str, **extra: Any) -> dict[str, Any]:
    source = {
        "doc_id": "政府采购法-2014",
        "title": "中华人民共和国政府采购法",
        "doc_no": "主席令第十四号",
        "section": "第三章 政府采购方式 › 第二十六条",
        "issued_on": "2014-08-31",
        "status": "现行有效",
        "url": "https://flk.npc.gov.cn/",
        "excerpt": "政府采购采用以下方式",
    }
    return {
        "answer_id": "3f6c0a9e5b2d4e71a8c0d9b6f1e2a3c4",
        "type": "faq",
        "answer": answer,
        "confidence": 0.93,
        "sources": [source, {**source, "section": "第二十七条"}],
        "related": ["公开招标的数额标准由谁规定？", "什么情况下可以采用竞争性谈判？"],
        "handoff": False,
        **extra,
    }


def test_a_short_answer_is_sent_whole_with_its_citations() -> None:
    text = answer_text(
        response("政府采购采用公开招标、邀请招标、竞争性谈判、单一来源采购、询价等方式。"),
        page_base=PAGE,
    )
    assert text.startswith("政府采购采用公开招标")
    assert (
        "依据：《中华人民共和国政府采购法》（主席令第十四号）第三章 政府采购方式 › 第二十六条，2014-08-31，现行有效"
        in text
    )
    assert "另见：" in text and "\n2. 什么情况下可以采用竞争性谈判？" in text
    assert "/answers/" not in text  # nothing was left out


def test_a_long_answer_is_cut_at_a_sentence_and_links_the_full_page() -> None:
    long_answer = articles("第二十六条", "第四十条")
    assert size(long_answer) > 2 * MAX_BYTES
    text = answer_text(response(long_answer), page_base=PAGE)
    assert size(text) <= MAX_BYTES
    assert size(text) > MAX_BYTES - 300  # the room is used, not thrown away
    body, _, rest = text.partition("\n\n依据：")
    assert body.endswith("。……") or body.endswith("；……")  # a whole sentence, then the ellipsis
    assert long_answer.startswith(body.removesuffix("……"))
    assert rest.startswith(
        "《中华人民共和国政府采购法》（主席令第十四号）第三章 政府采购方式 › 第二十六条，2014-08-31，现行有效"
    )
    assert text.endswith(f"完整答复：{PAGE}/answers/3f6c0a9e5b2d4e71a8c0d9b6f1e2a3c4")


def test_extras_are_dropped_before_the_answer_is_cut() -> None:
    answer = articles("第二十六条", "第三十条")  # 1.3 KB: fits, but not with 40 related questions
    related = [f"相关问题{n}：政府采购方式有哪些限制和例外情形？" for n in range(40)]
    text = answer_text(response(answer, related=related), page_base=PAGE)
    assert size(text) <= MAX_BYTES
    assert text.startswith(answer + "\n\n依据：《中华人民共和国政府采购法》")  # whole answer
    assert "相关问题39" not in text
    assert text.endswith(f"{PAGE}/answers/3f6c0a9e5b2d4e71a8c0d9b6f1e2a3c4")


def test_a_sentence_longer_than_the_limit_is_cut_inside_but_stays_valid_utf8() -> None:
    text = answer_text(response("税" * 3000), page_base=PAGE)
    assert size(text) <= MAX_BYTES
    assert text.encode().decode() == text and "依据：《中华人民共和国政府采购法》" in text
