"""Questions that belong to another body (a bank, a securities firm, a school, the housing fund…)
and the body to refer them to (service/data/referrals.txt).

A question is referred when it names a subject and an action of the same line ("股票怎么开户":
股票 and 开户) that the loaded knowledge never speaks of together (no FAQ question and no sentence
of a document holds one of the line's subjects with that action), and none of the window's own
subjects (the line "本窗口": 税, 采购, 社保…). The sample knowledge has stock taxes but nothing on
opening an account, so that question goes to a securities firm, while "卖股票要交个税吗" is
answered; a knowledge base holding a bank's rules answers "信用卡逾期了怎么办" itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from indexer.store import LoadedIndex
from indexer.textnorm import normalize

_SENTENCE = re.compile(r"[。；;！!？?\n]")


@dataclass(frozen=True)
class Referral:
    body: str  # who handles it, as the reply names it
    subjects: tuple[str, ...]
    actions: tuple[str, ...]


OURS = "本窗口"  # the line of the window's own subjects (no actions)


@cache
def referrals() -> tuple[Referral, ...]:
    """Every line of service/data/referrals.txt, the window's own first."""
    text = resources.files("service").joinpath("data", "referrals.txt").read_text("utf-8")
    return parse_referrals(text, "service/data/referrals.txt")


def parse_referrals(text: str, name: str) -> tuple[Referral, ...]:
    """The lines of a referral file; ValueError naming the line for one that is malformed (an
    edited file fails at start-up, not silently)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != (2 if parts[0] == OURS else 3):
            raise ValueError(f"{name}:{number}: expected body<TAB>subjects<TAB>actions: {line!r}")
        body, *lists = parts
        words = [item.split("|") for item in lists]
        if not body or any(not word for group in words for word in group):
            raise ValueError(f"{name}:{number}: an empty body, subject or action: {line!r}")
        subjects, actions = (*words, [])[:2]
        out.append(
            Referral(
                body,
                tuple(normalize(w) for w in subjects),
                tuple(normalize(w) for w in actions),
            )
        )
    return tuple(out)


class Referrals:
    """The referral lines with the actions the loaded knowledge does not cover."""

    def __init__(self, index: LoadedIndex) -> None:
        every = referrals()
        self.ours = tuple(s for r in every if r.body == OURS for s in r.subjects)
        lines = [r for r in every if r.body != OURS]
        any_subject = re.compile("|".join(re.escape(s) for r in lines for s in r.subjects))
        texts = [q for entry in index.faqs.values() for q in entry.questions]
        texts += [meta.title for meta in (r.meta for r in index.documents.values())]
        texts += [s for chunk in index.chunks for s in _SENTENCE.split(chunk.text)]
        covered: set[tuple[int, str]] = set()
        for raw in texts:
            if not any_subject.search(raw):
                continue
            text = normalize(raw)
            for n, line in enumerate(lines):
                if any(s in text for s in line.subjects):
                    covered.update((n, a) for a in line.actions if a in text)
        self.lines = [
            (line, tuple(a for a in line.actions if (n, a) not in covered))
            for n, line in enumerate(lines)
        ]

    def body_for(self, question: str) -> str | None:
        """The body that handles ``question`` (normalised), or None."""
        if any(s in question for s in self.ours):
            return None
        for line, uncovered in self.lines:
            if any(a in question for a in uncovered) and any(s in question for s in line.subjects):
                return line.body
        return None
