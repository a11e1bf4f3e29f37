"""The evaluation's metric code and the decision model's numbers, on hand-computed cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from policyqa.evaluation.calibration import fit_logistic, folds
from policyqa.evaluation.dataset import Query
from policyqa.evaluation.metrics import (
    Outcome,
    citizen_rates,
    is_relevant,
    ranking_figures,
    risk_coverage,
)
from service.decision import (
    MODELS,
    DecisionFileError,
    DecisionModel,
    Logistic,
    default_decision,
    load_decision,
    save_decision,
)

FAQ_Q = Query("q1", "个税起征点", ("f1",), None)
PASSAGE_Q = Query("q2", "质疑期限", ("政府采购法",), "七个工作日")
OOS_Q = Query("o1", "周杰伦的新歌", (), None)


def test_relevance_of_what_is_shown() -> None:
    assert is_relevant(FAQ_Q, ("faq", "f1", ""))
    assert not is_relevant(FAQ_Q, ("faq", "f2", ""))
    # An excerpt counts only when it is from a relevant document and holds the answer string.
    assert is_relevant(PASSAGE_Q, ("passage", "政府采购法", "应在七个工作日内提出"))
    assert not is_relevant(PASSAGE_Q, ("passage", "政府采购法", "第一条 为了规范"))
    assert not is_relevant(PASSAGE_Q, ("passage", "预算法", "七个工作日"))
    assert not is_relevant(OOS_Q, ("faq", "f1", ""))


def test_citizen_rates_hand_computed() -> None:
    outcomes = [
        Outcome(FAQ_Q, "faq", 1, "answered", True),
        Outcome(FAQ_Q, "faq", 2, "answered", False),
        Outcome(FAQ_Q, "faq", 2, "clarified", True),
        Outcome(PASSAGE_Q, "passage", None, "clarified", False),
        Outcome(PASSAGE_Q, "passage", 4, "declined", False),
        Outcome(OOS_Q, "oos", None, "declined", False),
        Outcome(OOS_Q, "oos", None, "declined", False),
        Outcome(OOS_Q, "oos", None, "clarified", False),
        Outcome(OOS_Q, "oos", None, "answered", False),
    ]
    rates = citizen_rates(outcomes)
    assert rates == {
        "answered_right": 0.2,
        "answered_wrong": 0.2,
        "clarified_right": 0.2,
        "clarified_wrong": 0.2,
        "declined": 0.2,
        "out_of_scope_answered": 0.25,
        "out_of_scope_clarified": 0.25,
        "out_of_scope_declined": 0.5,
    }
    ranks = ranking_figures(outcomes)
    assert ranks["recall@1"] == 0.2 and ranks["recall@5"] == 0.8 and ranks["recall@10"] == 0.8
    assert ranks["mrr@10"] == round((1 + 0.5 + 0.5 + 0.25) / 5, 4)  # 0.45


def test_citizen_rates_without_out_of_scope_questions() -> None:
    rates = citizen_rates([Outcome(FAQ_Q, "faq", 1, "answered", True)])
    assert rates["answered_right"] == 1.0 and rates["out_of_scope_declined"] is None


def test_risk_coverage_hand_computed() -> None:
    # scores 0.9 right, 0.8 wrong, 0.8 right (tie), 0.1 wrong
    curve, area = risk_coverage([(0.9, True), (0.8, False), (0.8, True), (0.1, False)])
    assert curve == [(0.25, 0.0), (0.75, 1 / 3), (1.0, 0.5)]
    assert area == pytest.approx(0.25 * 0 + 0.5 * (1 / 3) + 0.25 * 0.5)
    assert risk_coverage([]) == ([], 0.0)


def test_logistic_fit_finds_the_signal() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 2))
    truth = 1 / (1 + np.exp(-(0.5 + 2.0 * x[:, 0])))  # the second feature is noise
    y = (rng.random(2000) < truth).astype(float)
    model = fit_logistic(x * 3 + 1, y, ("a", "b"), l2=0.1)
    # Standardised weights: ≈ 2 for the signal, ≈ 0 for the noise.
    assert model.weights[0] == pytest.approx(2.0, abs=0.3)
    assert abs(model.weights[1]) < 0.2
    assert model.probability({"a": 1.0, "b": 1.0}) == pytest.approx(
        1 / (1 + math.exp(-0.5)), abs=0.07
    )
    with pytest.raises(ValueError):
        fit_logistic(x, y[:10], ("a", "b"))


def test_folds_partition_the_rows() -> None:
    parts = folds(11, 5)
    assert len(parts) == 5 and sorted(np.concatenate(parts).tolist()) == list(range(11))
    assert [len(p) for p in parts] == [3, 2, 2, 2, 2]


def _model(answer: float, clarify: float) -> DecisionModel:
    one = Logistic(("x",), (0.0,), (1.0,), (1.0,), 0.0)
    return DecisionModel({m: one for m in MODELS}, answer, clarify)


def test_decision_choices() -> None:
    d = _model(0.6, 0.4)
    p = {"faq.right": 0.7, "faq.options": 0.9, "passage.right": 0.65, "passage.options": 0.9}
    assert d.choose(p) == "faq"
    # An FAQ never wins over a clearly better passage.
    assert d.choose({**p, "passage.right": 0.9}) == "passage"
    assert d.choose({**p, "faq.right": 0.5, "passage.right": 0.5}) == "clarify.faq"
    assert (
        d.choose({**p, "faq.right": 0.5, "passage.right": 0.5, "passage.options": 0.95})
        == "clarify.passage"
    )
    # Clarify with the ranking more likely right, when its options are likely enough.
    assert d.choose({**p, "faq.right": 0.2, "passage.right": 0.35}) == "clarify.passage"
    assert (
        d.choose({**p, "faq.right": 0.2, "passage.right": 0.35, "passage.options": 0.3})
        == "clarify.faq"
    )
    assert d.choose(dict.fromkeys(MODELS, 0.3)) == "decline"


def test_decision_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    save_decision(_model(0.6, 0.4), path)
    assert load_decision(path) == _model(0.6, 0.4)
    data = json.loads(path.read_text())
    data["models"]["faq.right"]["scale"] = [0.0]
    path.write_text(json.dumps(data))
    with pytest.raises(DecisionFileError, match="scale"):
        load_decision(path)
    del data["models"]["faq.right"]
    path.write_text(json.dumps(data))
    with pytest.raises(DecisionFileError, match="faq.right"):
        load_decision(path)


def test_shipped_decision_is_fitted() -> None:
    """The shipped file holds fitted models (bench/fit_decision.py --write), not the neutral one."""
    shipped = default_decision()
    assert all(shipped.models[m].features for m in MODELS)
    assert 0 < shipped.clarify_at <= shipped.answer_at < 1
    assert "fold" in shipped.note
