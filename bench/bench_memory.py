"""Memory of a serving process under thousands of distinct long questions.

Loads the index as a server worker does and asks ``--questions`` distinct questions of ~480
characters (real policy text, so that normalisation, tokenisation and the encoder do their full
work), in process through the answerer, and prints the resident memory (RSS) before, every
``--every`` questions, and after. Every per-question cache (normalisation, jieba tokens,
character pairs, question vectors) is bounded in bytes, so RSS must level off rather than grow
with the number of distinct questions.

    .venv/bin/python bench/bench_memory.py --index var/index [--questions 3000]

Uses only ``service.engine.load_answerer`` and ``Answerer.ask``, so the same script measures an
older checkout too (``PYTHONPATH=/path/to/checkout``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchlib import code_version, log

from service.engine import load_answerer

try:  # measured as a serving process runs (absent in checkouts before it existed)
    from service.runtime import configure_serving_process
except ImportError:  # pragma: no cover
    configure_serving_process = None  # type: ignore[assignment]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def questions(texts: list[str], count: int, length: int) -> list[str]:
    """Distinct questions of ``length`` characters cut from one long run of policy text."""
    corpus = "".join(t.replace("\n", "") for t in texts)
    step = max(1, (len(corpus) - length) // count)
    out = []
    for i in range(count):
        start = (i * step) % max(1, len(corpus) - length)
        out.append(f"{i}号：" + corpus[start : start + length - 8] + "怎么办？")
    assert len(set(out)) == count
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, type=Path, help="index folder")
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--length", type=int, default=480, help="characters per question")
    parser.add_argument("--every", type=int, default=500, help="print RSS every N questions")
    args = parser.parse_args()

    log(f"code {code_version()}, load average {os.getloadavg()[0]:.1f}")
    if configure_serving_process is not None:
        configure_serving_process()
    answerer = load_answerer(args.index, encoder_threads=1)
    texts = [c.text for c in answerer.index.chunks]
    asked = questions(texts, args.questions, args.length)
    for q in questions(texts[::-1], 50, 30):  # warm up: short questions, caches in use
        answerer.ask(q)
    before = rss_mb()
    print(f"questions: {args.questions} distinct, {args.length} characters each")
    print(f"RSS before: {before:.0f} MB")
    start = time.monotonic()
    for n, question in enumerate(asked, 1):
        answerer.ask(question)
        if n % args.every == 0:
            print(f"RSS after {n:>5}: {rss_mb():.0f} MB (+{rss_mb() - before:.0f} MB)", flush=True)
    seconds = time.monotonic() - start
    after = rss_mb()
    print(f"RSS after: {after:.0f} MB (+{after - before:.0f} MB for {args.questions} questions)")
    print(f"time: {seconds:.0f} s ({1000 * seconds / args.questions:.1f} ms a question)")


if __name__ == "__main__":
    main()
