"""What an encoder costs on the shipped sample knowledge, in CPU seconds (robust on a shared,
busy machine, where wall time measures the neighbours), and what that means on N idle cores.

    .venv/bin/python bench/bench_encoder_cost.py --encoder e5 [--cores 2] [--sample 120]

Everything runs on one thread (CPU time then is the work, without the threads' waiting).

- Passages and FAQ questions: an evenly spaced sample of the sample knowledge's chunks (as
  embedded: title, heading path and text) and FAQ questions, encoded in one batch each as the
  indexer does; CPU seconds per text, times the counts of the whole sample, divided by
  ``--cores`` (both encoders spread a batch over the cores), estimate the first ``make index``
  (the embedding part; loading, chunking and the keyword indexes take a few seconds besides).
- Citizens' questions: the first ``--sample`` questions of bench/bench_latency.py, each new, one
  at a time on one thread (as a serving process encodes): CPU ms per question, and ``--cores``
  × 1000 / that, the questions/s the encoder alone allows when every question is new.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from bench_latency import QUESTIONS
from benchlib import REPO, code_version, log

from indexer.build import chunks_of, passage_text
from indexer.encoders import DEFAULT_ENCODER, make_encoder
from indexer.knowledge import load_knowledge


def _evenly(items: Sequence[str], n: int) -> list[str]:
    step = max(1, len(items) // n)
    return list(items[::step][:n])


def _cpu(encode: Callable[[Sequence[str]], np.ndarray], texts: list[str]) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    encode(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"texts": len(texts), "cpu_s_per_text": cpu / len(texts), "wall_s": round(wall, 1)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--cores", type=int, default=2, help="idle cores of the estimate")
    parser.add_argument("--sample", type=int, default=120, help="texts measured per kind")
    args = parser.parse_args(argv)
    kb = load_knowledge(REPO / "knowledge")
    passages = [passage_text(d.meta, c) for d in kb.documents for c in chunks_of(d)]
    questions = [q for f in kb.faqs for q in f.questions]
    encoder = make_encoder(args.encoder, threads=1)
    encoder.encode(["预热"])
    log(f"{args.encoder}: {args.sample} passages, {args.sample} FAQ questions")
    result: dict[str, Any] = {
        "code": code_version(),
        "encoder": encoder.identity,
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "passages": _cpu(encoder.encode_passages, _evenly(passages, args.sample)),
        "faq_questions": _cpu(encoder.encode, _evenly(questions, args.sample)),
    }
    seconds = (
        result["passages"]["cpu_s_per_text"] * len(passages)
        + result["faq_questions"]["cpu_s_per_text"] * len(questions)
    ) / args.cores
    result["sample_knowledge"] = {"passages": len(passages), "faq_questions": len(questions)}
    result["first_index_embedding_s_estimate"] = round(seconds)
    per_question = _cpu_each(encoder.encode, list(QUESTIONS[: args.sample]))
    result["citizen_question_cpu_ms"] = per_question
    result["questions_per_s_encoder_only"] = round(args.cores * 1000 / per_question["p50"])
    result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _cpu_each(encode: Callable[[Sequence[str]], np.ndarray], texts: list[str]) -> dict[str, float]:
    costs = []
    for i, text in enumerate(texts):
        cpu = time.process_time()
        encode([f"{text}（{i}）"])  # every question new
        costs.append(1000 * (time.process_time() - cpu))
    return {
        "questions": len(costs),
        "p50": round(float(np.percentile(costs, 50)), 2),
        "p90": round(float(np.percentile(costs, 90)), 2),
    }


if __name__ == "__main__":
    raise SystemExit(main())
