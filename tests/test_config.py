"""One settings loader for every entry point: ``policyqa serve``, the uvicorn factory and
``policyqa ask`` refuse a bad POLICYQA_* value with the same Chinese message naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli
from tests.served import free_port


def test_the_uvicorn_factory_names_a_bad_variable(sample_index: Path) -> None:
    env = {
        **os.environ,
        "POLICYQA_INDEX_DIR": str(sample_index),
        "POLICYQA_MAX_BODY_BYTES": "12",
    }
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "policyqa.server:create_server"]
        + ["--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode != 0
    assert "POLICYQA_MAX_BODY_BYTES='12'（应不小于 1024）" in result.stderr


def test_the_uvicorn_factory_says_which_variable_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "policyqa.server:create_server"]
        + ["--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode != 0 and "POLICYQA_INDEX_DIR（未设置）" in result.stderr


def test_serve_and_ask_name_a_bad_variable(sample_index: Path) -> None:
    bad = {"POLICYQA_MAX_BODY_BYTES": "lots"}
    for args in (
        ("serve", "--index", str(sample_index)),
        ("ask", "个税起征点是多少", "--index", str(sample_index)),
    ):
        result = run_cli(*args, env=bad, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "POLICYQA_MAX_BODY_BYTES='lots'（应为整数）" in result.stderr
        assert "Traceback" not in result.stderr


def test_ask_applies_the_question_rules_of_the_http_interface(sample_index: Path) -> None:
    for question, says in (
        ("\ufdfa" * 485, "规范化后"),
        ("\u200b\ufeff😀", "不能为空"),
        ("个" * 501, "500"),
    ):
        result = run_cli("ask", question, "--index", str(sample_index))
        assert result.returncode == 2 and says in result.stderr, result.stderr


def test_ask_json_is_the_http_response_body(sample_index: Path) -> None:
    result = run_cli("ask", "个税起征点是多少？", "--index", str(sample_index), "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) == {
        "answer_id",
        "type",
        "answer",
        "confidence",
        "sources",
        "related",
        "handoff",
        "session_id",
    }
    assert body["session_id"] == ""  # one question on the command line: no conversation
    assert body["type"] == "faq" and body["sources"][0]["doc_id"] == "个人所得税法-2018"
