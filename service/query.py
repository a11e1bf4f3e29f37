"""A question prepared once for every matcher: normalised, expanded with domain synonyms,
tokenised (words and characters) and embedded."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from indexer.textnorm import normalize
from indexer.tokenize import char_tokens, tokenize
from service.query_encoder import QueryEncoder


@cache
def synonyms() -> tuple[tuple[str, str], ...]:
    text = resources.files("service").joinpath("data", "synonyms.txt").read_text("utf-8")
    pairs = []
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and not line.startswith("#"):
            pairs.append((normalize(parts[0]), parts[1].strip()))
    return tuple(pairs)


def expand(text: str) -> str:
    """The text plus the documents' wording of every colloquial term it uses (个税 → 个人所得税)."""
    extra = [full for short, full in synonyms() if short in text and full not in text]
    return text if not extra else text + " " + " ".join(extra)


@dataclass(frozen=True)
class QueryRep:
    text: str  # normalised
    expanded: str
    words: list[str]
    chars: list[str]
    vector: np.ndarray


def prepare(question: str, encode: QueryEncoder) -> QueryRep:
    text = normalize(question)
    expanded = expand(text)
    return QueryRep(
        text=text,
        expanded=expanded,
        words=tokenize(expanded),
        chars=char_tokens(text),
        vector=encode(expanded),
    )
