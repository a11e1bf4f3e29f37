"""The neighbouring-domain development set: questions about bank loans, credit cards, insurance
claims, stock trading and a city's other bureaus, which the window must decline or hand over.

Made at run time from ../shared/eval (nothing from there is committed): the customer questions of
``faq-bq-dev`` (WeBank loans) asked as out-of-scope questions against a knowledge base without
that FAQ, plus the hand-written questions of ``bench/data/neighbour_questions.txt``.
"""

from __future__ import annotations

from pathlib import Path

from policyqa.evaluation.dataset import Query, load_datasets

HANDWRITTEN = Path(__file__).resolve().parent / "data" / "neighbour_questions.txt"


def handwritten() -> list[Query]:
    lines = HANDWRITTEN.read_text("utf-8").splitlines()
    texts = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [Query(f"nb-{n}", text, (), None) for n, text in enumerate(texts, 1)]


def bank_questions(eval_dir: Path, limit: int | None = None) -> list[Query]:
    """The queries of faq-bq-dev, out of scope (no FAQ of theirs in the knowledge base)."""
    queries = load_datasets([eval_dir / "faq-bq-dev"]).queries[:limit]
    return [Query(f"bq-{q.id}", q.query, (), None) for q in queries]


def neighbour_queries(eval_dir: Path, limit: int | None = None) -> list[Query]:
    return bank_questions(eval_dir, limit) + handwritten()
