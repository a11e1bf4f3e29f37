"""Shared fixtures: the real sample knowledge base, indexed once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHARED = ROOT.parent / "shared"
WITHHELD_MARKER = "POLICYQA-WITHHELD-MARKER-7F3A"

# Every test client is one loopback address: the per-client rate limit of the public endpoints
# (30 a minute by default) would refuse the suites' questions. The tests of the limit itself
# (tests/test_web_edge.py) set their own values.
os.environ.setdefault("POLICYQA_RATE_LIMIT_PER_MINUTE", "100000")


def run_cli(
    *args: str, check: bool = False, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``policyqa`` command as a user would (``env``: extra variables)."""
    exe = Path(sys.executable).with_name("policyqa")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "policyqa"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, check=check, timeout=timeout, env=env
    )


@contextmanager
def ready_client(app: FastAPI, *, timeout: float = 180) -> Iterator[TestClient]:
    """A TestClient on ``app`` once ``/readyz`` answers 200 (the index loads in the background)."""
    with TestClient(app) as client:
        deadline = time.monotonic() + timeout
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.1)
        yield client


def ask(
    client: TestClient, question: str, session_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """POST ``question`` to /api/v1/ask (with ``session_id`` when given, and any other request
    ``fields``); asserts 200 and returns the JSON answer."""
    payload: dict[str, Any] = {"question": question, **fields}
    if session_id is not None:
        payload["session_id"] = session_id
    response = client.post("/api/v1/ask", json=payload)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the shipped sample knowledge base, built through the CLI."""
    # Its own folder: the default state database (with the curated FAQ) lies next to the index.
    out = tmp_path_factory.mktemp("sample-index") / "index"
    result = run_cli("index", str(KNOWLEDGE), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def eval_indexes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``policyqa eval --index-dir`` folder per corpus for the whole session: the
    neighbouring-domain set has policy-ncpqa-dev's corpus, so the second run re-uses its vectors
    (minutes instead of a quarter of an hour on 2 cores)."""
    return tmp_path_factory.mktemp("eval-indexes")


pytest_plugins = ["tests.databases"]
