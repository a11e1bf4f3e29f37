"""Writes the neighbouring-domain development set: the bank questions of ``faq-bq-dev`` asked
against the policy knowledge of ``policy-ncpqa-dev`` alone, so that every one is out of scope.

    python -m policyqa.evaluation.neighbours --out DIR [--eval-dir ../shared/eval]

The result is a dataset in the format of ../shared/eval/README.md (``corpus.jsonl`` copied from the
policy set, ``queries.jsonl`` with the bank queries and ``relevant: []``), for ``policyqa eval DIR``.
The source data may not be committed, so the folder must lie outside the repository.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from policyqa.evaluation.dataset import DatasetError, load_datasets

BANK_SET, POLICY_SET = "faq-bq-dev", "policy-ncpqa-dev"
REPO = Path(__file__).resolve().parents[2]


def write_neighbour_set(eval_dir: Path, out: Path) -> int:
    """Writes the dataset into ``out``; returns the number of queries written."""
    bank = load_datasets([eval_dir / BANK_SET])  # checks every row of the bank set
    corpus = eval_dir / POLICY_SET / "corpus.jsonl"
    if not corpus.is_file():
        raise DatasetError(f"{corpus}: not found")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(corpus, out / "corpus.jsonl")
    rows = [{"id": f"neighbour-{q.id}", "query": q.query, "relevant": []} for q in bank.queries]
    (out / "queries.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8"
    )
    return len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write (outside the repo)"
    )
    parser.add_argument(
        "--eval-dir",
        type=Path,
        default=REPO.parent / "shared" / "eval",
        help="folder holding faq-bq-dev and policy-ncpqa-dev (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        print(
            f"error: {out} is inside the repository; the data may not be committed", file=sys.stderr
        )
        return 2
    try:
        count = write_neighbour_set(args.eval_dir.resolve(), out)
    except (DatasetError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{count} out-of-scope bank questions against the {POLICY_SET} corpus → {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
