"""Documents reach citizens without a restart: ``policyqa serve --workers 2`` on SQLite and on
PostgreSQL. An editor uploads a policy (.docx) and its interpretation (.md) as one review, the
author cannot approve, a reviewer approves, and every worker answers from the new policy with its
发文字号 and validity (the full incremental build by one worker, service/faqs/refresh.py, and the
reload in each); then withholding the interpretation removes it at once: the answering worker no
longer cites it when the request returns, the other one within the poll interval, and no file of
the index folder holds its title or text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.curation_served import two_workers
from tests.document_files import (
    INTERPRETATION_ID,
    INTERPRETATION_MARKER,
    POLICY_ID,
    POLICY_NO,
    QUESTION,
    interpretation_form,
    interpretation_md,
    policy_docx,
    policy_form,
)
from tests.test_desk_processes import signed_in

DOCS = "/api/v1/staff/documents"
INTERPRETATION_TITLE = interpretation_form()["title"]


@pytest.fixture(params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest,
    sample_index: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, Path]]:
    with two_workers(request.param, sample_index, tmp_path, monkeypatch) as (base, index, _url):
        yield base, index


def ask(base: str, question: str = QUESTION) -> tuple[str, dict[str, Any]]:
    r = httpx.post(f"{base}/api/v1/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    return r.headers["x-policyqa-worker"], r.json()


def cited(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["doc_id"]: s for s in answer["sources"]}


def test_document_published_then_withheld_on_two_workers(served: tuple[str, Path]) -> None:
    base, index = served
    editor, ecsrf = signed_in(base, "editor-a")
    reviewer, rcsrf = signed_in(base, "reviewer-b")
    try:
        ids = []
        for name, data, form in (
            ("新能源汽车补贴通知.docx", policy_docx(), policy_form()),
            ("解读.md", interpretation_md(), interpretation_form()),
        ):
            made = editor.post(
                f"{DOCS}/upload", files={"file": (name, data)}, data=form, headers=ecsrf
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["version"]["id"])
        review = editor.post(f"{DOCS}/reviews", json={"version_ids": ids}, headers=ecsrf)
        assert review.status_code == 201, review.text
        rid = review.json()["id"]
        own = editor.post(f"{DOCS}/reviews/{rid}/approve", headers=ecsrf)
        assert own.status_code == 403  # an editor is not a reviewer, and the author never approves

        workers: set[str] = set()
        for _ in range(20):
            worker, answer = ask(base)
            workers.add(worker)
            assert POLICY_ID not in cited(answer) and INTERPRETATION_ID not in cited(answer)
        assert len(workers) == 2, workers

        approved = reviewer.post(f"{DOCS}/reviews/{rid}/approve", headers=rcsrf)
        assert approved.status_code == 200, approved.text
        started = time.monotonic()
        answered: dict[str, float] = {}
        while len(answered) < 2 and time.monotonic() - started < 90:
            worker, answer = ask(base)
            sources = cited(answer)
            if POLICY_ID in sources or INTERPRETATION_ID in sources:
                if POLICY_ID in sources:
                    assert sources[POLICY_ID]["doc_no"] == POLICY_NO
                source = sources.get(POLICY_ID) or sources[INTERPRETATION_ID]
                assert source["status"] == "现行有效"
                answered.setdefault(worker, time.monotonic() - started)
            time.sleep(0.1)
        assert set(answered) == workers, answered
        print(f"document published → cited by each worker after {answered} s")

        # The interpretation is cited when asked about its own sentence.
        marker_question = "逾期未申领新能源汽车购置补贴会怎样？"
        assert any(INTERPRETATION_ID in cited(ask(base, marker_question)[1]) for _ in range(4)), (
            "the interpretation is not cited before it is withheld"
        )

        withheld = reviewer.post(
            f"{DOCS}/{INTERPRETATION_ID}/withhold",
            json={"reason": "保密审查：暂不公开"},
            headers=rcsrf,
        )
        assert withheld.status_code == 200, withheld.text
        here = withheld.headers["x-policyqa-worker"]
        started = time.monotonic()
        gone: dict[str, float] = {}
        while len(gone) < 2 and time.monotonic() - started < 30:
            worker, answer = ask(base, marker_question)
            if (
                INTERPRETATION_ID not in cited(answer)
                and INTERPRETATION_MARKER not in answer["answer"]
            ):
                gone.setdefault(worker, time.monotonic() - started)
            elif worker == here:
                raise AssertionError("the worker that withheld it still cites it")
        assert set(gone) == workers, gone
        print(f"withheld → gone from each worker after {gone} s")
        for path in index.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in (INTERPRETATION_TITLE, INTERPRETATION_MARKER, INTERPRETATION_ID):
                    assert secret.encode() not in data, (path, secret)
    finally:
        editor.close()
        reviewer.close()
