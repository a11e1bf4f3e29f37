"""service.query_encoder.QueryEncoder with the real USE v3 encoder: questions that arrive together
are encoded in one batch and get the vectors they get alone; errors reach every caller; the
cache is bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np
import pytest

from indexer.encoders import UseEncoder
from service.query_encoder import QueryEncoder

QUESTIONS = [
    "没中标，想对中标结果提质疑，要在几天内提？",
    "个人所得税专项附加扣除有哪些",
    "灵活就业人员怎么交养老保险",
    "政府采购合同要不要在网上公开",
    "会计账簿要保存多少年",
    "预算调整需要谁批准",
    "企业所得税的税率是多少",
    "审计机关可以查哪些单位",
    "小微企业参加政府采购要满足哪些条件",
    "失业保险金领取期限最长多久",
    "车辆购置税怎么交",
    "社保断缴了有什么影响",
]


@cache
def use() -> UseEncoder:
    return UseEncoder()


class GatedEncoder:
    """The real encoder, whose first call waits until the test opens the gate, so that the
    other questions queue up behind it meanwhile. Records each call's texts."""

    def __init__(self, inner: UseEncoder, *, fail_on: str | None = None) -> None:
        self.inner, self.fail_on = inner, fail_on
        self.gate = threading.Event()
        self.calls: list[list[str]] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    @property
    def identity(self) -> dict[str, Any]:
        return self.inner.identity

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            first = not self.calls
            self.calls.append(list(texts))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if first:
                assert self.gate.wait(30), "the test never opened the gate"
            if self.fail_on is not None and self.fail_on in texts:
                raise RuntimeError("编码失败（测试）")
            return self.inner.encode(texts)
        finally:
            with self._lock:
                self.running -= 1

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_passages(texts)


def _wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def _ask_all(encoder: QueryEncoder, gated: GatedEncoder, rest: list[str]) -> list[Any]:
    """The first question takes the encoder and is held there; the rest queue; then the gate
    opens. Returns each question's vector or the exception it raised, in order."""

    def call(text: str) -> Any:
        try:
            return encoder(text)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(rest) + 1) as pool:
        first = pool.submit(call, QUESTIONS[0])
        _wait_for(lambda: gated.calls, "the first question never reached the encoder")
        futures = [pool.submit(call, text) for text in rest]
        _wait_for(lambda: encoder.pending == len(rest), "the other questions did not queue")
        gated.gate.set()
        return [first.result(30)] + [f.result(30) for f in futures]


def test_waiting_questions_are_encoded_in_one_batch_with_their_own_vectors() -> None:
    gated = GatedEncoder(use())
    encoder = QueryEncoder(gated)
    rest = QUESTIONS[1:] + [QUESTIONS[1]]  # the same question twice is encoded once
    vectors = _ask_all(encoder, gated, rest)
    assert gated.calls == [[QUESTIONS[0]], QUESTIONS[1:]]
    assert encoder.stats.batches == 2
    assert encoder.stats.batch_sizes == {1: 1, len(QUESTIONS) - 1: 1}
    alone = use().encode(QUESTIONS)
    for text, vector in zip([QUESTIONS[0], *rest], vectors, strict=True):
        np.testing.assert_allclose(vector, alone[QUESTIONS.index(text)], atol=1e-5)
        assert not vector.flags.writeable


def test_a_lone_question_is_encoded_at_once_and_then_remembered() -> None:
    gated = GatedEncoder(use())
    gated.gate.set()
    encoder = QueryEncoder(gated)
    first = encoder(QUESTIONS[0])
    assert encoder(QUESTIONS[0]) is first
    assert gated.calls == [[QUESTIONS[0]]]
    assert (encoder.stats.questions, encoder.stats.cache_hits) == (2, 1)


def test_batches_are_bounded() -> None:
    gated = GatedEncoder(use())
    encoder = QueryEncoder(gated, max_batch=4)
    _ask_all(encoder, gated, QUESTIONS[1:])
    assert [len(call) for call in gated.calls] == [1, 4, 4, 3]


def test_a_failing_question_fails_alone_and_the_rest_of_its_batch_is_answered() -> None:
    gated = GatedEncoder(use(), fail_on=QUESTIONS[5])
    encoder = QueryEncoder(gated)
    results = _ask_all(encoder, gated, QUESTIONS[1:])
    assert isinstance(results[0], np.ndarray)  # the first batch held only the first question
    failed = results[5]
    assert isinstance(failed, RuntimeError) and "编码失败" in str(failed)
    alone = use().encode(QUESTIONS)
    for i, result in enumerate(results):
        if i != 5:
            assert isinstance(result, np.ndarray), (QUESTIONS[i], result)
            np.testing.assert_allclose(result, alone[i], atol=1e-5)
    # The batch failed, then each of its questions was encoded alone.
    assert gated.calls[1] == QUESTIONS[1:]
    assert sorted(map(tuple, gated.calls[2:])) == sorted((q,) for q in QUESTIONS[1:])
    assert encoder.pending == 0
    # Nothing failed is remembered: asked again, the question is encoded anew.
    gated.fail_on = None
    again = encoder(QUESTIONS[5])
    np.testing.assert_allclose(again, alone[5], atol=1e-5)


def test_two_slots_encode_two_batches_at_once_and_nobody_waits_forever() -> None:
    gated = GatedEncoder(use())
    gated.gate.set()
    encoder = QueryEncoder(gated, slots=2)
    texts = [f"{q}（{i}）" for i in range(8) for q in QUESTIONS]
    with ThreadPoolExecutor(max_workers=16) as pool:
        vectors = list(pool.map(encoder, texts))
    assert len(vectors) == len(texts)
    assert sum(len(call) for call in gated.calls) == len(texts)
    assert gated.most_at_once <= 2
    assert encoder.pending == 0


def test_the_cache_forgets_the_least_recently_asked() -> None:
    gated = GatedEncoder(use())
    gated.gate.set()
    one = QueryEncoder(use())
    one(QUESTIONS[0])
    # Room for two entries of these (equally long) questions, not three.
    encoder = QueryEncoder(gated, max_bytes=2 * one.cache_bytes + one.cache_bytes // 2)
    a, b, c = QUESTIONS[:3]
    encoder(a)
    encoder(b)
    encoder(a)  # a is now the most recent
    encoder(c)  # forgets b
    encoder(a)
    encoder(b)
    assert gated.calls == [[a], [b], [c], [b]]


def test_the_cache_is_bounded_in_bytes_for_long_questions() -> None:
    gated = GatedEncoder(use())
    gated.gate.set()
    encoder = QueryEncoder(gated, max_bytes=64 * 1024)
    for i in range(60):
        encoder(f"{i}：" + "关于政府采购质疑与投诉的程序、期限和材料要求的详细说明" * 15)
        assert encoder.cache_bytes <= 64 * 1024
    assert encoder.cache_bytes > 32 * 1024  # it does cache, up to its budget
    huge = QueryEncoder(gated, max_bytes=1024)
    huge(QUESTIONS[0])
    assert huge.cache_bytes == 0  # an entry larger than the budget is not kept


@pytest.mark.parametrize("kwargs", [{"slots": 0}, {"max_batch": 0}, {"max_bytes": -1}])
def test_bad_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least"):
        QueryEncoder(use(), **kwargs)
