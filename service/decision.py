"""Answer, clarify or decline: logistic models of "the answer shown would be right", over the
scale-free signals the FAQ matcher and the passage retriever report.

Four models, fitted with k-fold cross-validation on the development data by
``bench/fit_decision.py`` and stored as plain numbers in ``service/data/decision.json`` (this module
owns that format):

- ``faq.right`` / ``passage.right``: the probability that the top FAQ entry / excerpt answers the
  question;
- ``faq.options`` / ``passage.options``: the probability that one of the first three (the options of
  a clarification) does.

The service answers when the better ``right`` probability reaches ``answer_at``, offers a
clarification when an ``options`` probability reaches ``clarify_at``, and otherwise declines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

FORMAT = "policyqa-decision/1"
MODELS = ("faq.right", "faq.options", "passage.right", "passage.options")


class DecisionFileError(ValueError):
    """A decision file that does not follow the format; names the problem."""


@dataclass(frozen=True)
class Logistic:
    """``1 / (1 + exp(-(bias + Σ weight · (signal − mean) / scale)))``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, signals: Mapping[str, float]) -> float:
        z = self.bias
        for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            z += w * (signals.get(name, 0.0) - m) / s
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> Logistic:
        try:
            features = tuple(str(f) for f in data["features"])
            columns = [tuple(float(x) for x in data[k]) for k in ("mean", "scale", "weights")]
            bias = float(data["bias"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DecisionFileError(f"{where}: malformed model ({exc})") from None
        if any(len(c) != len(features) for c in columns) or any(s <= 0 for s in columns[1]):
            raise DecisionFileError(f"{where}: lengths differ or a scale is not positive")
        return cls(features, columns[0], columns[1], columns[2], bias)


@dataclass(frozen=True)
class DecisionModel:
    models: Mapping[str, Logistic]
    answer_at: float
    clarify_at: float
    note: str = ""

    def probability(self, model: str, signals: Mapping[str, float]) -> float:
        return self.models[model].probability(signals)

    def choose(self, p: Mapping[str, float]) -> str:
        """``p``: the four MODELS' probabilities (0 for a ranking the in-domain gate refused).
        One of "faq", "passage" (answer with it), "clarify.faq", "clarify.passage", "decline"."""
        if max(p["faq.right"], p["passage.right"]) >= self.answer_at:
            return "faq" if p["faq.right"] >= p["passage.right"] else "passage"
        # Clarify with the options of the ranking more likely right (an FAQ about another tax
        # is not offered over the articles of the asked one), if its options are likely enough.
        kinds = [k for k in ("faq", "passage") if p[f"{k}.options"] >= self.clarify_at]
        if kinds:
            best = max(kinds, key=lambda k: (p[f"{k}.right"], p[f"{k}.options"]))
            return f"clarify.{best}"
        return "decline"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "note": self.note,
            "answer_at": self.answer_at,
            "clarify_at": self.clarify_at,
            "models": {name: self.models[name].to_json() for name in MODELS},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "decision.json") -> DecisionModel:
        if data.get("format") != FORMAT:
            raise DecisionFileError(f"{where}: format is not {FORMAT}")
        raw = data.get("models")
        if not isinstance(raw, dict) or set(raw) != set(MODELS):
            raise DecisionFileError(f"{where}: needs exactly the models {', '.join(MODELS)}")
        models = {name: Logistic.from_json(raw[name], f"{where}: {name}") for name in MODELS}
        try:
            answer_at, clarify_at = float(data["answer_at"]), float(data["clarify_at"])
        except (KeyError, TypeError, ValueError):
            raise DecisionFileError(f"{where}: answer_at / clarify_at missing") from None
        return cls(models, answer_at, clarify_at, str(data.get("note", "")))


def save_decision(model: DecisionModel, path: Path) -> None:
    path.write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=1) + "\n", "utf-8")


def load_decision(path: Path) -> DecisionModel:
    return DecisionModel.from_json(json.loads(path.read_text("utf-8")), str(path))


@cache
def default_decision() -> DecisionModel:
    text = resources.files("service").joinpath("data", "decision.json").read_text("utf-8")
    return DecisionModel.from_json(json.loads(text))


def signal_row(signals: Mapping[str, float], features: Sequence[str]) -> list[float]:
    return [float(signals.get(name, 0.0)) for name in features]
