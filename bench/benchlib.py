"""What the benchmark scripts share: the repository they measure and how they report it.

The scripts run as ``python bench/<script>.py``, so this folder is on their import path.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def folds_of(count: int, folds: int, seed: int = 12) -> list[int]:
    """The k-fold split of the cross-validating scripts: item i's fold, the same for every script
    and run (a seeded shuffle dealt round-robin)."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    fold = [0] * count
    for n, i in enumerate(order):
        fold[i] = n % folds
    return fold


def cv_parser(
    description: str, *, cache_help: str = "index folders per set (re-used)"
) -> argparse.ArgumentParser:
    """The arguments every cross-validating script takes: ``--eval-dir``, ``--cache-dir``
    (required), ``--folds`` and ``--encoder``; the script adds its own."""
    from indexer.encoders import DEFAULT_ENCODER  # here: the other scripts need not import it

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--cache-dir", type=Path, required=True, help=cache_help)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    return parser


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression on standardised columns (Newton steps); weights on the
    raw scale, for service/clarify_model.py's ``ClarifyModel``."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[np.ones(len(x)), (x - mean) / std]
    w = np.zeros(z.shape[1])
    penalty = l2 * np.eye(z.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(30):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[1:] / std
    return weights, float(w[0] - (weights * mean).sum())
