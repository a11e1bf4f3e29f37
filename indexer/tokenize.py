"""Chinese tokenisation for the keyword index: jieba with the project's finance/government user
dictionary, on normalised text, without stop words and punctuation."""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from importlib import resources

import jieba
import jieba.posseg

from indexer.bytecache import byte_lru
from indexer.textnorm import normalize


def _data(name: str) -> str:
    return resources.files("indexer").joinpath("data", name).read_text(encoding="utf-8")


@cache
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    for line in _data("userdict.txt").splitlines():
        parts = line.split()
        if parts:
            tok.add_word(
                parts[0],
                int(parts[1]) if len(parts) > 1 else None,
                parts[2] if len(parts) > 2 else None,
            )
    return tok


@cache
def stopwords() -> frozenset[str]:
    return frozenset(w.strip() for w in _data("stopwords.txt").splitlines() if w.strip())


def dictionary_fingerprint() -> str:
    """Recorded in the index manifest: a different dictionary tokenises differently."""
    return hashlib.sha256((_data("userdict.txt") + _data("stopwords.txt")).encode()).hexdigest()[
        :16
    ]


@byte_lru(8 * 2**20)
def _cut(text: str) -> tuple[str, ...]:
    stop = stopwords()
    return tuple(
        t
        for t in _tokenizer().cut_for_search(text)
        if t.strip() and t not in stop and any(ch.isalnum() for ch in t)
    )


def tokenize(text: str) -> list[str]:
    """Search tokens of a text (normalised first)."""
    return list(_cut(normalize(text)))


@byte_lru(8 * 2**20)
def _chars(text: str) -> tuple[str, ...]:
    s = "".join(ch for ch in text if ch.isalnum())
    return tuple(s) + tuple(s[i : i + 2] for i in range(len(s) - 1))


def char_tokens(text: str) -> list[str]:
    """Character unigrams and bigrams of normalised text: robust to typos and word-boundary
    errors in short questions (微粒贷/微利贷), used for matching FAQ questions."""
    return list(_chars(normalize(text)))


# Parts of speech that carry no subject (jieba's tags, by first letter): pronouns and question
# words (怎么, 如何), numerals and measure words, prepositions, conjunctions, auxiliaries, modal
# particles, adverbs, directions (前, 后), interjections, onomatopoeia, set phrases (怎么办) and
# punctuation or symbols. Latin words (eng: APP, ETC) are kept.
_NOT_SALIENT = frozenset("rmqpcuydfeolwx")


@cache
def _pos_tokenizer() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(_tokenizer())


@byte_lru(4 * 2**20)
def _salient(text: str) -> tuple[str, ...]:
    stop = stopwords()
    return tuple(
        dict.fromkeys(
            pair.word
            for pair in _pos_tokenizer().cut(text)
            if len(pair.word) > 1
            and (pair.flag == "eng" or pair.flag[:1] not in _NOT_SALIENT)
            and pair.word not in stop
            and all(ch.isalnum() for ch in pair.word)
        )
    )


def salient_words(text: str) -> list[str]:
    """The words of a text that name what it is about (nouns, verbs, adjectives, names of two or
    more characters; jieba's precise cut with parts of speech), each once, in order."""
    return list(_salient(normalize(text)))
