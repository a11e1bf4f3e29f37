"""Question embeddings for a serving process: remembered, and encoded together when questions
arrive together.

The sentence encoder is the dearest step of an answer (USE v3: ~2.5 ms for one question on one
core), and it is much cheaper per question in a batch (~1.1 ms each for 8). Questions that arrive
while an encode is running are queued; whichever caller gets the encoder next encodes everything
queued in one batch ("group commit"). A lone question never waits for company, so latency at
low load is unchanged while throughput under load rises.

One citizen's question never fails another's: when a batch fails, its questions are encoded one
by one, and only the question that fails alone gets the error. The cache of vectors is bounded in
bytes (vector plus question text), so distinct long questions cannot grow a worker's memory.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from indexer.encoders import Encoder


@dataclass(eq=False)
class _Pending:
    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self.finished.is_set()


@dataclass
class EncodeStats:
    """What the encoder did: read by the latency benchmark."""

    questions: int = 0
    cache_hits: int = 0
    batches: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)


def _cost(text: str, vector: np.ndarray) -> int:
    """Bytes one cache entry keeps alive: the key, the vector and the dictionary slot."""
    return sys.getsizeof(text) + sys.getsizeof(vector) + 64


class QueryEncoder:
    """Embeds questions for the answerer; thread-safe. ``slots`` encodes may run at once (one per
    core the process may use); ``max_batch`` bounds one encode; ``max_bytes`` bounds the cache."""

    def __init__(
        self,
        encoder: Encoder,
        *,
        max_bytes: int = 8 * 2**20,
        slots: int = 1,
        max_batch: int = 32,
    ) -> None:
        if slots < 1 or max_batch < 1 or max_bytes < 0:
            raise ValueError("slots and max_batch must be at least 1, max_bytes at least 0")
        self.encoder = encoder
        self.max_bytes, self.max_batch = max_bytes, max_batch
        self.stats = EncodeStats()
        self._mutex = threading.Lock()  # guards the cache, the queue and the stats
        self._slots = threading.Semaphore(slots)
        self._cache: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self._cache_bytes = 0
        self._queue: list[_Pending] = []

    @property
    def cache_bytes(self) -> int:
        """Bytes the cache holds now (at most ``max_bytes``)."""
        with self._mutex:
            return self._cache_bytes

    @property
    def pending(self) -> int:
        """Questions waiting for an encode."""
        with self._mutex:
            return len(self._queue)

    def __call__(self, text: str) -> np.ndarray:
        with self._mutex:
            self.stats.questions += 1
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                self.stats.cache_hits += 1
                return cached[0]
            item = _Pending(text)
            self._queue.append(item)
        while not item.done:
            with self._slots:
                with self._mutex:
                    batch = self._queue[: self.max_batch]
                    del self._queue[: self.max_batch]
                if batch:
                    self._encode(batch)
            if not batch:  # another slot holder has taken our question: wait for its batch
                item.finished.wait()
        if item.error is not None:
            raise item.error
        assert item.vector is not None
        return item.vector

    def many(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of many texts (a staff report, not a citizen's question): encoded in batches
        of ``max_batch``, each batch holding one slot, so that citizens' questions go between
        them. Not cached: a report must not evict the questions citizens repeat."""
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.max_batch):
            with self._slots:
                rows.extend(self._vectors(list(texts[start : start + self.max_batch])))
        if not rows:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack(rows)

    def _encode(self, batch: Sequence[_Pending]) -> None:
        texts = list(dict.fromkeys(item.text for item in batch))  # the same question asked twice
        by_text: dict[str, np.ndarray] = {}
        errors: dict[str, BaseException] = {}
        try:
            by_text = dict(zip(texts, self._vectors(texts), strict=True))
        except Exception as exc:
            if len(texts) == 1:
                errors[texts[0]] = exc
            else:  # one bad question must not fail the others: each is encoded alone
                for text in texts:
                    try:
                        by_text[text] = self._vectors([text])[0]
                    except Exception as alone:
                        errors[text] = alone
        with self._mutex:
            self.stats.batches += 1
            sizes = self.stats.batch_sizes
            sizes[len(texts)] = sizes.get(len(texts), 0) + 1
            for text, vector in by_text.items():
                self._remember(text, vector)
        for item in batch:  # set last: a caller that sees ``done`` finds its vector cached too
            item.vector = by_text.get(item.text)
            item.error = errors.get(item.text)
            item.finished.set()

    def _vectors(self, texts: list[str]) -> list[np.ndarray]:
        rows = self.encoder.encode(texts)
        if len(rows) != len(texts):
            raise RuntimeError(f"encoder returned {len(rows)} vectors for {len(texts)} texts")
        vectors = []
        for row in rows:
            vector = np.array(row, dtype=np.float32)
            vector.setflags(write=False)
            vectors.append(vector)
        return vectors

    def _remember(self, text: str, vector: np.ndarray) -> None:
        """Caller holds the mutex. An entry larger than the whole budget is not kept."""
        cost = _cost(text, vector)
        if cost > self.max_bytes:
            return
        old = self._cache.pop(text, None)
        if old is not None:
            self._cache_bytes -= old[1]
        self._cache[text] = (vector, cost)
        self._cache_bytes += cost
        while self._cache_bytes > self.max_bytes:
            _, (_, freed) = self._cache.popitem(last=False)
            self._cache_bytes -= freed
