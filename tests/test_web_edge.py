"""The HTTP edge of the served application: which origins may call the API, and per-client rate
limits that hold across worker processes (an SQLite file; Redis when configured).

These need no loaded index: the checks happen before a request reaches a route, so the servers
here serve an empty index folder (every question would get 503) and start in a second."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from policyqa.server import create_server
from service.config import Settings
from tests.conftest import run_cli
from tests.served import free_port

ALLOWED = "https://www.taian.gov.cn"
FOREIGN = "https://evil.example"


def _edge_env(env: pytest.MonkeyPatch, **values: str) -> None:
    for name in ("POLICYQA_REDIS_URL", "REDIS_URL", "POLICYQA_RATE_LIMIT_DB"):
        env.delenv(name, raising=False)
    env.setenv("POLICYQA_ALLOWED_ORIGINS", f"{ALLOWED}, https://zwfw.example.cn/")
    for name, value in values.items():
        env.setenv(name, value)


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as env:
        _edge_env(env, POLICYQA_RATE_LIMIT_PER_MINUTE="3")
        app = create_server(Settings(index_dir=tmp_path))
    with TestClient(app) as c:
        yield c


def test_preflight_from_an_allowed_origin(client: TestClient) -> None:
    response = client.options(
        "/api/v1/ask",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"]


def test_foreign_origin_is_refused_before_the_route(client: TestClient) -> None:
    preflight = client.options(
        "/api/v1/ask", headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    post = client.post(
        "/api/v1/ask", json={"question": "政府采购质疑"}, headers={"Origin": FOREIGN}
    )
    assert post.status_code == 403
    assert post.json()["detail"].startswith(f"来源 {FOREIGN} 未获准调用本服务")
    events = client.get("/api/v1/sessions/abc/events", headers={"Origin": FOREIGN})
    assert events.status_code == 403


def test_allowed_own_and_originless_calls_reach_the_service(client: TestClient) -> None:
    for headers in ({"Origin": ALLOWED}, {"Origin": "https://zwfw.example.cn"}, {}):
        response = client.post("/api/v1/ask", json={"question": "你好"}, headers=headers)
        assert response.status_code == 503, response.text  # reached the route: index not loaded
    own = client.get("/healthz", headers={"Origin": "http://testserver"})
    assert own.status_code == 200
    allowed = client.post("/api/v1/ask", json={"question": "你好"}, headers={"Origin": ALLOWED})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED


def test_rate_limit_per_endpoint_with_chinese_message_and_retry_after(
    client: TestClient,
) -> None:
    statuses = [
        client.post("/api/v1/ask", json={"question": "你好"}, headers={"Origin": ALLOWED})
        for _ in range(4)
    ]
    assert [r.status_code for r in statuses] == [503, 503, 503, 429]
    refused = statuses[-1]
    assert refused.json()["detail"].startswith("提问过于频繁（每分钟最多 3 次），请")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # The widget on an allowed page can read the refusal and its Retry-After.
    assert refused.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in refused.headers["access-control-expose-headers"]
    # Other endpoints count on their own; pages and health checks are not limited.
    assert client.post("/api/v1/handoff", json={"session_id": "x"}).status_code != 429
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def _without_rate_db(environ: os._Environ[str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k != "POLICYQA_RATE_LIMIT_DB"}


@contextlib.contextmanager
def _servers(count: int, index_dir: Path, env: dict[str, str]) -> Iterator[list[str]]:
    """``count`` separate ``policyqa serve`` processes sharing the given settings."""
    exe = Path(sys.executable).with_name("policyqa")
    procs, urls = [], []
    try:
        for _ in range(count):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [str(exe), "serve", "--index", str(index_dir), "--port", str(port)],
                    env={**_without_rate_db(os.environ), **env},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 120
        for url in urls:
            while True:
                assert time.monotonic() < deadline, f"{url} did not start"
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _count_across(urls: list[str], limit: int) -> list[int]:
    # Fixed one-minute windows: do not start right before one ends.
    if 60 - time.time() % 60 < 8:
        time.sleep(60 - time.time() % 60 + 0.5)
    return [
        httpx.post(urls[i % len(urls)] + "/api/v1/feedback", json={}, timeout=10).status_code
        for i in range(limit + 3)
    ]


def test_limit_holds_across_processes_through_a_shared_sqlite_file(tmp_path: Path) -> None:
    # No setting: the processes that serve one index folder find the same counters file.
    env = {"POLICYQA_RATE_LIMIT_PER_MINUTE": "4", "POLICYQA_REDIS_URL": ""}
    with _servers(2, tmp_path, env) as urls:
        statuses = _count_across(urls, 4)
    assert statuses.count(429) == 3 and 429 not in statuses[:4], statuses


def test_limit_holds_across_processes_through_redis(tmp_path: Path) -> None:
    url = os.environ.get("POLICYQA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # the CI and developer machines run Redis; say why if not
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    env = {
        "POLICYQA_RATE_LIMIT_PER_MINUTE": "4",
        "POLICYQA_REDIS_URL": url,
        "POLICYQA_RATE_LIMIT_NAMESPACE": f"test-{uuid.uuid4().hex[:12]}",
    }
    with _servers(2, tmp_path, env) as urls:
        statuses = _count_across(urls, 4)
    assert statuses.count(429) == 3 and 429 not in statuses[:4], statuses


def test_serve_refuses_a_bad_limit_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--index", str(tmp_path), env={"POLICYQA_RATE_LIMIT_PER_MINUTE": "很多"}
    )
    assert result.returncode == 2
    assert "POLICYQA_RATE_LIMIT_PER_MINUTE='很多'（应为整数）" in result.stderr
    assert "Traceback" not in result.stderr
