"""Progress lines on stderr for long work, at most one every half second per stage, with an
estimate of the time left once a stage has made some progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def duration(seconds: float) -> str:
    """``1 分 05 秒``, ``40 秒``: how long, in Chinese."""
    seconds = max(0, round(seconds))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} 分 {rest:02d} 秒" if minutes else f"{rest} 秒"


class ProgressPrinter:
    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.clock = interval, clock
        self._last: dict[str, float] = {}
        self._first: dict[str, tuple[float, int]] = {}  # stage: (time, done) of its first report

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        first = self._first.setdefault(stage, (now, done))
        if done < total and now - self._last.get(stage, float("-inf")) < self.interval:
            return
        self._last[stage] = now
        percent = 100 * done // total if total else 100
        line = f"  向量化{stage}：{done}/{total}（{percent}%）"
        if done >= total:
            line += "，完成"
        elif done > first[1] and now > first[0]:
            rate = (done - first[1]) / (now - first[0])
            line += f"，预计还需 {duration((total - done) / rate)}"
        else:
            line += "，正在估算剩余时间"
        print(line, file=self.stream, flush=True)
