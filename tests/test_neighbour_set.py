"""The neighbouring-domain set (policyqa/evaluation/neighbours.py) written from a tiny hand-made
copy of ../shared/eval, then read by ``policyqa eval`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
BANK_QUERIES = [
    {"id": "q-bq-1", "query": "微粒贷怎么提前还款", "relevant": ["bq-1"]},
    {"id": "q-bq-2", "query": "借款利息怎么算", "relevant": ["bq-2"]},
    {"id": "q-bq-3", "query": "信用卡逾期了怎么办", "relevant": ["bq-3"]},
]
POLICY_TEXT = (
    "第一条 供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，"
    "可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。"
)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture
def eval_dir(tmp_path: Path) -> Path:
    root = tmp_path / "eval"
    faq = [
        {"id": f"bq-{i}", "question": q, "variants": [], "answer": "占位"}
        for i, q in ((1, "如何提前还清借款"), (2, "利息是怎么计算的"), (3, "逾期会怎样"))
    ]
    _write_jsonl(root / "faq-bq-dev" / "faq.jsonl", faq)
    _write_jsonl(root / "faq-bq-dev" / "queries.jsonl", BANK_QUERIES)
    _write_jsonl(
        root / "policy-ncpqa-dev" / "corpus.jsonl",
        [{"id": "d1", "title": "政府采购质疑办法", "text": POLICY_TEXT}],
    )
    _write_jsonl(
        root / "policy-ncpqa-dev" / "queries.jsonl",
        [{"id": "p1", "query": "质疑期限", "relevant": ["d1"], "answer": "七个工作日"}],
    )
    return root


def _write_set(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "policyqa.evaluation.neighbours", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )


def test_writes_the_bank_questions_against_the_policy_corpus(
    eval_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "neighbours"
    result = _write_set("--eval-dir", str(eval_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "3 out-of-scope bank questions" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["corpus.jsonl", "queries.jsonl"]
    # Every bank question, out of scope; the policy corpus unchanged; no FAQ, no policy question.
    assert _read_jsonl(out / "queries.jsonl") == [
        {"id": f"neighbour-{q['id']}", "query": q["query"], "relevant": []} for q in BANK_QUERIES
    ]
    corpus = (eval_dir / "policy-ncpqa-dev" / "corpus.jsonl").read_bytes()
    assert (out / "corpus.jsonl").read_bytes() == corpus

    report = json.loads(run_cli("eval", str(out), "--json", check=True).stdout)
    assert report["queries"] == 3
    assert report["recall@1"] is None and report["in_scope_answer_rate"] is None
    assert set(report["in_scope"].values()) == {None}
    oos = report["out_of_scope"]
    assert oos["answered"] is not None and oos["clarified"] == 0.0
    assert oos["answered"] + oos["declined"] == pytest.approx(1.0, abs=1e-3)
    assert report["out_of_scope_decline_rate"] == oos["declined"]


def test_refuses_a_folder_inside_the_repository_and_a_missing_set(
    eval_dir: Path, tmp_path: Path
) -> None:
    inside = REPO / "neighbour-data-must-not-be-written-here"
    result = _write_set("--eval-dir", str(eval_dir), "--out", str(inside))
    assert result.returncode == 2 and "inside the repository" in result.stderr
    assert not inside.exists()
    (eval_dir / "policy-ncpqa-dev" / "corpus.jsonl").unlink()
    result = _write_set("--eval-dir", str(eval_dir), "--out", str(tmp_path / "n"))
    assert result.returncode == 2 and "corpus.jsonl: not found" in result.stderr
    result = _write_set("--eval-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "n"))
    assert result.returncode == 2 and "queries.jsonl" in result.stderr
