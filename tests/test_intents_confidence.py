"""Unit tests of the intent rules and the confidence calibration (pure functions)."""

from __future__ import annotations

import math

import pytest

from indexer.textnorm import normalize
from service.confidence import calibrate, coverage
from service.intents import Intent, classify, strip_greeting


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("转人工", Intent.HUMAN),
        ("人工", Intent.HUMAN),
        ("请让工作人员联系我", Intent.HUMAN),
        ("我要投诉窗口工作人员态度差", Intent.COMPLAINT),
        ("举报某单位挪用财政资金", Intent.COMPLAINT),
        ("供应商怎么投诉？", Intent.QUESTION),  # how a procedure works: a policy question
        ("投诉的期限是多久", Intent.QUESTION),
        # Colloquial questions about the procedure, not complaints (issue 12).
        ("饭店不给开发票去哪投诉", Intent.QUESTION),
        ("采购结果不公平找谁投诉", Intent.QUESTION),
        ("举报饭店不开发票有没有奖励", Intent.QUESTION),
        ("投诉处理结果多少天出来", Intent.QUESTION),
        # Saying one wants to complain stays a complaint, whatever follows.
        ("我要投诉，这事找谁", Intent.COMPLAINT),
        ("我想举报某饭店偷税", Intent.COMPLAINT),
        ("你好", Intent.GREETING),
        ("您好呀！", Intent.GREETING),
        ("谢谢啊", Intent.THANKS),
        ("好的谢谢", Intent.THANKS),
        ("再见", Intent.GOODBYE),
        ("你好，请问个税起征点是多少", Intent.QUESTION),
        ("个税起征点是多少", Intent.QUESTION),
    ],
)
def test_classify(text: str, intent: Intent) -> None:
    assert classify(normalize(text)) == intent


def test_strip_greeting_keeps_the_question() -> None:
    assert strip_greeting(normalize("你好，请问个税起征点是多少？")) == "请问个税起征点是多少"
    assert strip_greeting("个税起征点") == "个税起征点"
    assert strip_greeting("你好") == ""


def test_calibrate_is_one_half_at_the_threshold_and_monotonic() -> None:
    assert calibrate(0.58, threshold=0.58, scale=0.04) == pytest.approx(0.5)
    values = [calibrate(x / 100, threshold=0.5, scale=0.04) for x in range(0, 101, 5)]
    assert values == sorted(values) and values[0] < 0.01 and values[-1] > 0.99
    assert calibrate(0.62, threshold=0.58, scale=0.04) == pytest.approx(1 / (1 + math.exp(-1)))
    # Far outside the range: clamped, never an overflow.
    assert calibrate(1e9, threshold=0, scale=1e-9) == pytest.approx(1.0)
    assert calibrate(-1e9, threshold=0, scale=1e-9) == pytest.approx(0.0)


def test_coverage_weights_tokens_by_idf() -> None:
    idf = {"政府采购": 3.0, "质疑": 2.0, "怎么": 0.5}
    assert coverage(idf, {"政府采购", "质疑", "怎么"}) == pytest.approx(1.0)
    assert coverage(idf, {"怎么"}) == pytest.approx(0.5 / 5.5)
    assert coverage(idf, set()) == 0.0
    assert coverage({}, {"x"}) == 0.0
