"""Text normalisation applied to questions and indexed text alike.

Full/half width folding (NFKC), traditional → simplified Chinese, lower case, and stray white space
and punctuation reduced, so that 「個稅　怎麼算？？」 and "个税怎么算?" match the same entries.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from opencc import OpenCC

from indexer.bytecache import byte_lru

# Runs of punctuation or symbols collapse to one; white space between CJK characters is dropped.
_PUNCT_RUN = re.compile(r"([^\w\s])\1+")
_SPACES = re.compile(r"\s+")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


@cache
def _t2s() -> OpenCC:
    """Built on first use (it reads its dictionaries), not when the module is imported."""
    return OpenCC("t2s")


@byte_lru(8 * 2**20)
def normalize(text: str) -> str:
    """Canonical form of a question or passage for matching (not for display)."""
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text).lower()
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _CJK_GAP.sub("", text)
    return _SPACES.sub(" ", text).strip(" \t\r\n.,!?;:、。，！？；：~·")


def strip_punctuation(text: str) -> str:
    """Normalised text without any punctuation: used for exact FAQ question comparison."""
    return "".join(ch for ch in normalize(text) if ch.isalnum())
