"""Progress lines on stderr for long work, at most one every half second per stage."""

from __future__ import annotations

import sys
import time


class ProgressPrinter:
    def __init__(self, stream=sys.stderr, interval: float = 0.5) -> None:
        self.stream, self.interval = stream, interval
        self._last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last.get(stage, 0.0) < self.interval:
            return
        self._last[stage] = now
        percent = 100 * done // total if total else 100
        print(f"  向量化{stage}：{done}/{total}（{percent}%）", file=self.stream, flush=True)
