"""One citizen's bad input never hurts another's answer: refused at the edge with a Chinese 422 or
413 that names the problem, never a 500, and an unexpected error is one short log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import ready_client

ASK = "/api/v1/ask"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(sample_index: Path) -> Iterator[TestClient]:
    with ready_client(create_app(Settings(index_dir=sample_index))) as c:
        yield c


def _refused(response: Any, status: int, words: str, field: str = "question") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert words in body["detail"], body
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"question": "\\ud800"}', "question"),
        (b'{"question": "\\udfff\\u4e2a\\u7a0e\\u600e\\u4e48\\u7b97"}', "question"),
        (b'{"question": "\\u4e2a\\u7a0e\\ud83d"}', "question"),
        (b'{"question": "\\u4e2a\\u7a0e", "session_id": "a\\ud800"}', "session_id"),
        (b'{"question": "\\u4e2a\\u7a0e", "channel": "\\udc00"}', "channel"),
    ],
)
def test_a_lone_surrogate_gets_a_chinese_422(client: TestClient, raw: bytes, field: str) -> None:
    _refused(client.post(ASK, content=raw, headers=JSON), 422, "无效字符", field)


def test_the_length_limit_holds_after_normalisation(client: TestClient) -> None:
    # 485 characters as typed, ~8,700 after NFKC: refused, not answered at 40x the cost.
    _refused(client.post(ASK, json={"question": "\ufdfa" * 485}), 422, "规范化后")
    _refused(client.post(ASK, json={"question": "个" * 501}), 422, "500")
    assert client.post(ASK, json={"question": "个税" + "，" * 400}).status_code == 200


@pytest.mark.parametrize(
    "question",
    ["\u200b\u200b", "\ufeff", "\u200d\u2060\ufeff", "？！。，", "😀🎉", "  ——  ", "\u3000"],
)
def test_nothing_left_after_normalisation_is_an_empty_question(
    client: TestClient, question: str
) -> None:
    _refused(client.post(ASK, json={"question": question}), 422, "问题不能为空")


@pytest.mark.parametrize(
    "raw",
    [b"{question: ", b'{"question": "\xe4\xb8"}', b"\xff\xfe{}", b'{"question": "a"', b"nul\x00"],
)
def test_unparseable_json_gets_a_chinese_422(client: TestClient, raw: bytes) -> None:
    _refused(client.post(ASK, content=raw, headers=JSON), 422, "不是有效的 JSON", "body")


def test_framework_errors_are_in_chinese(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.json()["detail"] == "请求的地址不存在"
    response = client.get(ASK)
    assert response.status_code == 405 and response.json()["detail"] == "不支持该请求方法"


def test_a_body_over_the_limit_gets_413(client: TestClient) -> None:
    big = {"question": "个税怎么算", "session_id": "s", "pad": "x" * (70 * 1024)}
    _refused(client.post(ASK, json=big), 413, "请求内容过大（上限 64 KB）", "body")
    # Under the limit, unknown fields are ignored and the question is answered.
    small = {"question": "个税怎么算", "pad": "x" * (60 * 1024)}
    assert client.post(ASK, json=small).status_code == 200


def test_a_chunked_body_over_the_limit_gets_413(client: TestClient) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"question": "\xe4\xb8\xaa\xe7\xa8\x8e", "pad": "'
        for _ in range(200):  # 3.2 MB offered, no Content-Length
            sent += 16 * 1024
            yield b"x" * (16 * 1024)
        yield b'"}'

    response = client.post(ASK, content=chunks(), headers=JSON)
    _refused(response, 413, "请求内容过大", "body")


def test_an_unexpected_error_is_one_short_log_line_and_a_chinese_500(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    answerer = client.app.state.engine.answerer  # type: ignore[attr-defined]
    match = answerer.faqs.match

    def broken_for_one_question(query: Any) -> Any:
        if "故障" in query.text:
            raise RuntimeError("matcher broke\nsecond line")
        return match(query)

    monkeypatch.setattr(answerer.faqs, "match", broken_for_one_question)
    caplog.set_level(logging.INFO)
    caplog.clear()
    response = client.post(ASK, json={"question": "制造一个故障"})
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "服务内部错误" in detail and "错误编号" in detail
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    request_id = detail.split("错误编号 ")[1].rstrip("）")
    assert request_id in line and "RuntimeError" in line and "\n" not in line
    assert errors[0].exc_info is None  # no traceback
    # The next citizen is answered normally; input errors are not logged as errors.
    caplog.clear()
    assert client.post(ASK, json={"question": "个税起征点是多少？"}).status_code == 200
    assert client.post(ASK, content=b'{"question": "\\ud800"}', headers=JSON).status_code == 422
    assert client.post(ASK, json={"question": ""}).status_code == 422
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
