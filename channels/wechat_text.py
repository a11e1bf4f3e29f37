"""Answers as WeChat text messages: at most 2,048 bytes of UTF-8 (passive replies and
customer-service messages alike). A long answer is shortened at a sentence boundary and links to
its full page; the main citation (title, 发文字号, article, date, validity) is always kept."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_BYTES = 2048
ELLIPSIS = "……"
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_at_sentence(text: str, budget: int) -> str:
    """The longest prefix of whole sentences within ``budget`` bytes (with an ellipsis when cut);
    characters only when not even the first sentence fits."""
    if size(text) <= budget:
        return text
    room = budget - size(ELLIPSIS)
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if size(kept + sentence) > room:
            break
        kept += sentence
    if not kept.strip():
        kept = text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
    return kept.rstrip() + ELLIPSIS


def citation_line(source: Mapping[str, Any]) -> str:
    parts = [f"《{source.get('title') or ''}》"]
    if source.get("doc_no"):
        parts.append(f"（{source['doc_no']}）")
    if source.get("section") and source.get("section") != "正文":
        parts.append(str(source["section"]))
    tail = [str(source[k]) for k in ("issued_on", "status") if source.get(k)]
    return "".join(parts) + ("，" + "，".join(tail) if tail else "")


def answer_text(response: Mapping[str, Any], *, page_base: str | None) -> str:
    """An AskResponse-like dict as one WeChat text message of at most 2,048 bytes."""
    body = str(response.get("answer") or "").strip()
    sources: Sequence[Mapping[str, Any]] = response.get("sources") or []
    related: Sequence[str] = response.get("related") or []
    if response.get("type") == "clarify":
        # The answer numbers the options itself (the citizen replies with a digit); the sources
        # are those options' documents, not the basis of an answer.
        sources, related = [], []
    citation = f"依据：{citation_line(sources[0])}" if sources else ""
    extras = [f"另见：{citation_line(s)}" for s in sources[1:]]
    if related:
        # Numbered: the citizen replies with the digit (service/answering.py keeps the options).
        listed = "\n".join(f"{n}. {q}" for n, q in enumerate(related, 1))
        extras.append("您可以这样问（回复序号即可）：\n" + listed)
    if response.get("handoff") and response.get("type") == "none":
        extras.append("如需人工服务，请回复“转人工”。")
    link = ""
    if page_base and response.get("answer_id"):
        link = f"完整答复：{page_base}/answers/{response['answer_id']}"

    def join(*blocks: str) -> str:
        return "\n\n".join(b for b in blocks if b)

    full = join(body, citation, *extras)
    if size(full) <= MAX_BYTES:
        return full
    # Too long: drop the extras first, then shorten the answer itself; citation and link stay.
    for n in range(len(extras), -1, -1):
        candidate = join(body, citation, *extras[:n], link)
        if size(candidate) <= MAX_BYTES:
            return candidate
    fixed = size(join("x", citation, link)) - 1
    return join(cut_at_sentence(body, MAX_BYTES - fixed), citation, link)


def split_text(text: str, *, limit: int = MAX_BYTES) -> list[str]:
    """A staff message as consecutive messages of at most ``limit`` bytes, split at sentence
    boundaries (characters only inside a sentence longer than the limit)."""
    parts: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text.strip()):
        while size(sentence) > limit:
            head = sentence.encode("utf-8")[:limit].decode("utf-8", "ignore")
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
            sentence = sentence[len(head) :]
        if size(current + sentence) > limit:
            parts.append(current)
            current = ""
        current += sentence
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]
