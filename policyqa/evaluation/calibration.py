"""Fitting the decision's logistic models with numpy (used by bench/fit_decision.py only; the
service reads the fitted numbers, service/decision.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.decision import Logistic


def fit_logistic(
    rows: np.ndarray, labels: np.ndarray, features: Sequence[str], *, l2: float = 1.0
) -> Logistic:
    """Maximum likelihood with an L2 penalty on the weights (not the bias), by Newton's method
    on standardised features. ``rows``: n × len(features); ``labels``: n zeros and ones."""
    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(features) or len(y) != len(x) or not len(y):
        raise ValueError("rows, labels and features do not fit together")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    beta = np.zeros(z.shape[1])
    prior = min(max(y.mean(), 1e-3), 1 - 1e-3)
    beta[0] = np.log(prior / (1 - prior))
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(z @ beta, -60, 60)))
        gradient = z.T @ (p - y) + penalty * beta
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return Logistic(
        tuple(features),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in beta[1:]),
        float(beta[0]),
    )


def folds(n: int, k: int, *, seed: int = 12) -> list[np.ndarray]:
    """``k`` disjoint random index sets covering 0…n−1."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, k)]
