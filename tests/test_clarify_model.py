"""The clarify model: a logistic of the signals, asking back below its threshold
(service/clarify_model.py), and the shipped models' form (service/tuning.py)."""

from __future__ import annotations

import math

import pytest

from service.clarify_model import (
    FAQ_FEATURES,
    PASSAGE_FEATURES,
    ClarifyModel,
    Signals,
    relative_margin,
)
from service.tuning import DEFAULT_TUNING

MODEL = ClarifyModel(("margin", "pair"), weights=(6.0, -1.0), bias=-1.0, threshold=0.2)


def test_probability_is_the_logistic_of_the_weighted_signals() -> None:
    signals = {"margin": 0.1, "pair": 0.8, "unused": 5.0}
    z = -1.0 + 6.0 * 0.1 - 1.0 * 0.8
    assert MODEL.probability(signals) == pytest.approx(1 / (1 + math.exp(-z)))


def test_asks_back_below_the_threshold_only() -> None:
    assert MODEL.asks_back({"margin": 0.0, "pair": 0.9})  # p ≈ 0.13
    assert not MODEL.asks_back({"margin": 0.3, "pair": 0.5})  # p ≈ 0.52
    never = ClarifyModel(("margin",), (1.0,), -60.0, 0.0)
    assert not never.asks_back({"margin": 0.0})


def test_a_signal_given_as_a_function_is_computed_once_and_only_when_read() -> None:
    computed: list[str] = []

    def word_margin() -> float:
        computed.append("word_margin")
        return 0.4

    signals = Signals({"margin": 0.3, "word_margin": word_margin, "pair": 0.5})
    assert not MODEL.asks_back(signals) and computed == []  # the model does not name it
    assert list(signals.items()) == [("margin", 0.3), ("word_margin", 0.4), ("pair", 0.5)]
    assert {"raw": 1.0, **signals}["word_margin"] == 0.4 and computed == ["word_margin"]
    uses_it = ClarifyModel(("word_margin",), (1.0,), 0.0, 0.5)
    assert uses_it.probability(signals) == pytest.approx(1 / (1 + math.exp(-0.4)))
    assert computed == ["word_margin"]


def test_one_weight_per_signal() -> None:
    with pytest.raises(ValueError, match="one weight per feature"):
        ClarifyModel(("margin", "pair"), (1.0,), 0.0, 0.5)


def test_relative_margin() -> None:
    assert relative_margin(2.0, 1.5) == 0.25
    assert relative_margin(2.0, None) == 1.0 and relative_margin(0.0, 0.0) == 1.0


def test_the_shipped_models_ask_back_and_use_known_signals() -> None:
    faq, passage = DEFAULT_TUNING.faq_clarify, DEFAULT_TUNING.passage_clarify
    assert 0 < faq.threshold < 1 and set(faq.features) <= set(FAQ_FEATURES)
    assert 0 <= passage.threshold < 1 and set(passage.features) <= set(PASSAGE_FEATURES)
