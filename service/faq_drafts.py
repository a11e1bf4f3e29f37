"""Links that open the curation page's new FAQ draft with the question (and answer) filled in:
from a group of questions citizens asked, or from a closed handoff ticket."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from indexer.textnorm import normalize
from service.intents import Intent, classify

FAQ_DRAFT = "/admin/faq/new"
MAX_QUESTION = 500
MAX_ANSWER = 1500  # the link stays well inside what browsers and proxies accept


def faq_link(question: str, answer: str | None = None, ticket: str | None = None) -> str:
    params = {"question": question[:MAX_QUESTION]}
    if answer:
        params["answer"] = answer[:MAX_ANSWER]
    if ticket:
        params["ticket"] = ticket
    return f"{FAQ_DRAFT}?{urlencode(params)}"


def ticket_draft(ticket: dict[str, Any]) -> str | None:
    """A closed ticket (``Desk.ticket``): the citizen's last policy question before the first
    agent reply (not 转人工 or a greeting), and the agent's replies on it; None when either is
    missing."""
    if ticket["status"] != "closed":
        return None
    after = [m for m in ticket["messages"] if m["created_at"] >= ticket["created_at"]]
    replies = [m["text"] for m in after if m["role"] == "staff"]
    first_reply = next((m["id"] for m in after if m["role"] == "staff"), None)
    questions = [
        m["text"]
        for m in ticket["messages"]
        if m["role"] == "citizen"
        and (first_reply is None or m["id"] < first_reply)
        and classify(normalize(m["text"])) == Intent.QUESTION
    ]
    if not questions or not replies:
        return None
    return faq_link(questions[-1], "\n".join(replies), ticket["id"])
