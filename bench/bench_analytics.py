"""What an analytics request costs.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_analytics.py INDEX_DIR [--distinct 1000]

On a fresh SQLite file: the generated month of ``tests/analytics_month.py`` (228 questions, two
channels, feedback, tickets); the full report twice (the second with the question vectors cached),
the figures only, then ``--distinct`` different wordings grouped twice through the same cache
(the first time encodes them all with the index's encoder). Prints wall-clock seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.analytics import Analytics  # noqa: E402
from service.db.engine import get_database  # noqa: E402
from service.db.migrate import upgrade  # noqa: E402
from service.engine import load_answerer  # noqa: E402
from service.question_groups import group  # noqa: E402
from tests.analytics_month import FAMILIES, generate  # noqa: E402


def timed(label: str, run: object) -> None:
    started = time.perf_counter()
    run()  # type: ignore[operator]
    print(f"{label}: {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index", type=Path)
    parser.add_argument("--distinct", type=int, default=1000)
    args = parser.parse_args()
    answerer = load_answerer(args.index)
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    upgrade(get_database(url))
    month = generate(url)
    analytics = Analytics(
        database=get_database(url),
        answerer=lambda: answerer,
        zone="Asia/Shanghai",
        max_questions=max(args.distinct, 1000),
        similarity=0.65,
    )
    period = analytics.period(start=month.start, end=month.today, channel=None)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    timed(f"month report ({len(month.asked)} questions), first", lambda: analytics.report(period))
    timed("month report again (vectors cached)", lambda: analytics.report(period))
    timed("figures only", lambda: analytics.report(period, grouped=False))
    words = [w for _, wordings, _, _ in FAMILIES.values() for w in wordings]
    texts = [f"{words[i % len(words)]} {i}" for i in range(args.distinct)]
    for run in ("first", "again"):
        timed(
            f"{args.distinct} distinct wordings grouped, {run}",
            lambda: group(texts, analytics._encoder(), similarity=0.65),
        )


if __name__ == "__main__":
    main()
