"""The normalisation and tokenisation caches stay within their byte budgets, however many distinct
long questions pass through them, and still return what the uncached functions return."""

from __future__ import annotations

from indexer import textnorm, tokenize
from indexer.bytecache import ByteBoundedCache

LONG = "关于政府采购供应商质疑投诉的处理程序、期限、材料和救济途径的详细咨询，" * 12


def test_tokeniser_and_normaliser_caches_are_bounded_in_bytes() -> None:
    caches: list[ByteBoundedCache[str] | ByteBoundedCache[tuple[str, ...]]] = [
        textnorm.normalize,
        tokenize._cut,
        tokenize._chars,
    ]
    for n in range(1500):  # ~250 KB of tokens each: far more than any budget
        question = f"第{n}问：{LONG}"
        assert tokenize.tokenize(question) == list(
            tokenize._cut.function(textnorm.normalize.function(question))
        )
        tokenize.char_tokens(question)
    for cache in caches:
        assert 0 < cache.bytes <= cache.max_bytes, (cache.function.__name__, cache.bytes)


def test_least_recently_used_goes_first_and_oversized_results_are_not_kept() -> None:
    calls: list[str] = []

    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    one = ByteBoundedCache(upper, 10**6)
    one("a")
    cost = one.bytes
    cache = ByteBoundedCache(upper, 2 * cost)
    cache("a")
    cache("b")
    cache("a")  # a is the most recent
    cache("c")  # b goes
    calls.clear()
    assert (cache("a"), cache("c"), cache("b")) == ("A", "C", "B")
    assert calls == ["b"]
    tiny = ByteBoundedCache(upper, 10)
    assert tiny("x" * 100) == "X" * 100 and len(tiny) == 0 and tiny.bytes == 0
