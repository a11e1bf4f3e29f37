"""Finds the document and article a question names ("印花税法第四条怎么规定的", "财库〔2020〕
10号第五条"), so that a candidate which is exactly that article of that document is answered
without asking back: the citizen has already said which one they mean.

A document is named by its title, its title without the "中华人民共和国" prefix, or its 发文字号;
an article by "第…条" in Chinese or Arabic numerals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from indexer.models import DocumentMeta
from indexer.textnorm import strip_punctuation

_ARTICLE = re.compile(r"第([零〇一二两三四五六七八九十百千\d]+)条")
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_PREFIX = "中华人民共和国"
_SHORTEST_NAME = 4  # characters: shorter titles ("通知") name nothing in particular


@dataclass(frozen=True)
class Reference:
    doc_ids: frozenset[str]  # the documents the question names (a short title may fit several)
    article: int  # the article number


def article_number(text: str) -> int | None:
    """The number of the first "第…条" in ``text`` (第二十一条 → 21, 第4条 → 4); None without one."""
    match = _ARTICLE.search(text)
    return None if match is None else _to_int(match.group(1))


def _to_int(numeral: str) -> int | None:
    if numeral.isdigit():
        return int(numeral)
    total, digit = 0, 0
    for char in numeral:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char in _UNITS:
            total += (digit or 1) * _UNITS[char]
            digit = 0
    total += digit
    return total or None


def _names(meta: DocumentMeta) -> set[str]:
    names = {strip_punctuation(meta.title)}
    if meta.title.startswith(_PREFIX):
        names.add(strip_punctuation(meta.title[len(_PREFIX) :]))
    if meta.doc_no:
        names.add(strip_punctuation(meta.doc_no))
    return {n for n in names if len(n) >= _SHORTEST_NAME}


class ReferenceFinder:
    """The documents of one index by the names a question may use for them."""

    def __init__(self, metas: Iterable[DocumentMeta]) -> None:
        self.by_name: dict[str, set[str]] = {}
        for meta in metas:
            for name in _names(meta):
                self.by_name.setdefault(name, set()).add(meta.id)

    def find(self, question: str) -> Reference | None:
        """The document(s) and article the question names; None unless it names both."""
        article = article_number(question)
        if article is None:
            return None
        text = strip_punctuation(question)
        named = [name for name in self.by_name if name in text]
        # "个人所得税法实施条例" also contains "个人所得税法": the longest name wins.
        longest = max(named, key=len, default=None)
        if longest is None:
            return None
        doc_ids = frozenset(self.by_name[longest])
        return Reference(doc_ids, article)

    @staticmethod
    def points_at(reference: Reference, doc_id: str, section: str | None) -> bool:
        """Whether a candidate (its document and its section or cited article) is the article
        the question names."""
        if doc_id not in reference.doc_ids or not section:
            return False
        last = section.split(" › ")[-1]
        return article_number(last) == reference.article
