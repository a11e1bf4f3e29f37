"""Sentence splitting and packing of sentences into excerpts of bounded length."""

from __future__ import annotations

import re

MAX_EXCERPT = 300  # characters shown to a citizen at most

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])(?![”’」』）)])|(?<=[。！？；!?;][”’」』）)])|\n+")
_CLAUSE_END = re.compile(r"(?<=[，、：,:])|(?<=\S)\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, each with its closing punctuation."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _split_long(sentence: str, limit: int) -> list[str]:
    """A sentence longer than the limit is cut at clause punctuation, hard-cut only if need be."""
    parts: list[str] = []
    current = ""
    for clause in (c for c in _CLAUSE_END.split(sentence) if c):
        while len(clause) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(clause[:limit])
            clause = clause[limit:]
        if len(current) + len(clause) > limit:
            parts.append(current)
            current = clause.lstrip()
        else:
            current += clause
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def pack_sentences(text: str, *, limit: int = MAX_EXCERPT, overlap: bool = True) -> list[str]:
    """Windows of whole sentences, each at most ``limit`` characters.

    With ``overlap`` a window starts at the middle of the previous one, so that a fact spanning
    two windows is still whole in one of them.
    """
    units: list[str] = []
    for sentence in split_sentences(text):
        units.extend(_split_long(sentence, limit) if len(sentence) > limit else [sentence])
    windows: list[str] = []
    start = 0
    while start < len(units):
        end, size = start, 0
        while end < len(units) and size + len(units[end]) <= limit:
            size += len(units[end])
            end += 1
        windows.append("".join(units[start:end]))
        if end >= len(units):
            break
        if not overlap:
            start = end
            continue
        # Next window: begins at the first sentence past the middle of this one.
        half, acc, nxt = size / 2, 0, start + 1
        for i in range(start, end):
            acc += len(units[i])
            if acc >= half:
                nxt = i + 1
                break
        start = max(start + 1, min(nxt, end - 1) if end - start > 1 else end)
    return windows
