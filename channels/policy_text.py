"""A document's text rebuilt from its chunks in the index, section by section, for reading.

Chunks of a long section are overlapping windows of whole sentences (``indexer/sentences.py``);
their overlaps are removed here. A section's anchor (``article_anchor``) is the last part of its
heading path, e.g. ``第五十二条``: the widget links citations to ``/policies/{doc_id}#<anchor>``
and the document page gives that section the same ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from indexer.chunking import SEP
from indexer.models import Chunk

_NO_ANCHOR = {"", "正文", "依申请公开"}


def article_anchor(section: str | None) -> str | None:
    last = (section or "").split(SEP)[-1].strip()
    return None if last in _NO_ANCHOR else re.sub(r"\s+", "-", last)


@dataclass(frozen=True)
class Part:
    path: tuple[str, ...]
    paragraphs: tuple[str, ...]


def merge_windows(windows: list[str]) -> str:
    """Joins overlapping windows: each window's longest prefix that ends the text so far is the
    overlap with the previous window. The rows of a table (``indexer/tables.py``: each chunk is
    the header line and one row) become the header once, then one row a line."""
    firsts = {w.split("\n", 1)[0] for w in windows}
    if len(windows) > 1 and len(firsts) == 1 and all("\n" in w for w in windows):
        return "\n".join([firsts.pop(), *(w.split("\n", 1)[1] for w in windows)])
    text = windows[0]
    for window in windows[1:]:
        overlap = next(
            (k for k in range(min(len(text), len(window)), 0, -1) if text.endswith(window[:k])), 0
        )
        text += window[overlap:]
    return text


def document_parts(chunks: Iterable[Chunk]) -> list[Part]:
    """The document's sections in order, each with its paragraphs."""
    groups: list[tuple[str, list[str]]] = []
    for chunk in sorted(chunks, key=lambda c: c.ordinal):
        if groups and groups[-1][0] == chunk.section:
            groups[-1][1].append(chunk.text)
        else:
            groups.append((chunk.section, [chunk.text]))
    parts = []
    for section, windows in groups:
        text = merge_windows(windows)
        paragraphs = tuple(p.strip() for p in text.split("\n") if p.strip())
        parts.append(Part(tuple(section.split(SEP)) if section else (), paragraphs))
    return parts
