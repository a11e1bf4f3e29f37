"""The OpenAPI schema says what the server enforces: schemathesis, with all its checks, generates
valid and invalid requests from /openapi.json against a served instance and finds no failure
(no 5xx, no schema-valid request refused, no schema-invalid one accepted, responses as
documented). Deterministic and bounded: a fixed seed and number of examples."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from service.app import create_app
from service.config import Settings
from tests.served import free_port


@pytest.fixture(scope="module")
def base_url(sample_index: Path) -> Iterator[str]:
    app = create_app(Settings(index_dir=sample_index))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not become ready"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    yield base
    server.should_exit = True
    thread.join(10)


def test_schema_documents_the_enforced_limits(base_url: str) -> None:
    schema = httpx.get(f"{base_url}/openapi.json").json()
    question = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert question["minLength"] == 1 and question["maxLength"] == 500 and question["pattern"]
    responses = schema["paths"]["/api/v1/ask"]["post"]["responses"]
    assert {"200", "413", "422", "503"} <= set(responses)


def test_schemathesis_finds_no_failure(base_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json"]
        + ["--checks", "all", "--max-examples", "40", "--seed", "20261128", "--workers", "1"]
        + ["--report-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    # Every generated case passed. Warnings may remain: the staff routes answer 401 without a
    # sign-in (schemathesis is not given credentials) and session routes 404 for ids it makes up.
    assert re.search(r"(\d+) generated, \1 passed", output), output[-6000:]
