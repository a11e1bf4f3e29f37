"""How long a published FAQ change takes to reach the answers: the incremental full build and a
fresh load, against the FAQ-only step and a reload that keeps the encoder.

    .venv/bin/python bench/bench_faq_publish.py KNOWLEDGE INDEX_DIR

INDEX_DIR: an index of KNOWLEDGE (``policyqa index knowledge --out INDEX_DIR``); the benchmark
writes new versions into it. One FAQ entry gets a new variant each round (one text to
embed). Figures: docs/operations.md (FAQ curation).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from indexer.build import build_faq_step, build_from
from indexer.knowledge import load_knowledge
from service.engine import load_answerer


def main(source: Path, index: Path) -> None:
    started = time.perf_counter()
    answerer = load_answerer(index)
    print(f"first load: {time.perf_counter() - started:.2f} s")

    kb = load_knowledge(source)
    kb.faqs[0] = dataclasses.replace(
        kb.faqs[0], variants=(*kb.faqs[0].variants, "全量构建的新问法")
    )
    report = build_from(kb, index, encoder=answerer.encoder, source=str(source))
    print(f"incremental full build: {report.seconds:.2f} s ({report.embedded} embedded)")
    started = time.perf_counter()
    answerer = load_answerer(index)
    print(f"load with a new encoder: {time.perf_counter() - started:.2f} s")

    faqs = list(answerer.index.faqs.values())
    for round_ in range(3):
        faqs[1] = dataclasses.replace(faqs[1], variants=(*faqs[1].variants, f"新问法{round_}"))
        report = build_faq_step(
            answerer.index, index, faqs=faqs, encoder=answerer.encoder, faq_source={"r": round_}
        )
        assert report is not None
        started = time.perf_counter()
        answerer = load_answerer(index, encoder=answerer.encoder)
        print(
            f"FAQ-only step: {report.seconds:.2f} s ({report.embedded} embedded); "
            f"reload keeping the encoder: {time.perf_counter() - started:.2f} s"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
