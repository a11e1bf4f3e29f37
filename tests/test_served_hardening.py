"""A served instance (``policyqa serve --workers 2``) under a mix of normal, poisoned and oversized
requests: normal questions get exactly the answers they get alone, bad ones a 4xx, big bodies are
refused before they are read, and the temporary session file is removed at shutdown."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.served import serve

NORMAL = [
    "没中标，想对中标结果提质疑，要在几天内提？",
    "会计账簿要保存多少年",
    "个人所得税专项附加扣除有哪些",
    "国库券的发行对象有哪些？",
    "今天天气怎么样",
    "预算调整需要谁批准",
]
JSON = {"content-type": "application/json"}


@dataclass
class Served:
    base: str
    port: int
    process: subprocess.Popen[str]
    tmp: Path
    log: Path


@pytest.fixture(scope="module")
def served(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    env = {"POLICYQA_DATABASE_URL": f"sqlite:///{tmp / 'state.sqlite'}"}
    with serve(sample_index, tmp / "serve.log", "--workers", "2", env=env) as running:
        yield Served(running.base, running.port, running.process, tmp, running.log)


def _summary(response: httpx.Response) -> tuple[int, str, list[tuple[str, str]]]:
    if response.status_code != 200:
        return response.status_code, response.text, []
    body = response.json()
    return 200, body["type"], [(s["doc_id"], s["section"]) for s in body["sources"]]


def _poisoned(client: httpx.Client, kind: int) -> httpx.Response:
    ask = "/api/v1/ask"
    if kind == 0:
        return client.post(ask, content=b'{"question": "\\ud800\\u4e2a\\u7a0e"}', headers=JSON)
    if kind == 1:
        return client.post(ask, content=b'{"question": "\xe4\xb8', headers=JSON)
    if kind == 2:
        return client.post(ask, json={"question": "\ufdfa" * 485})
    if kind == 3:
        return client.post(ask, json={"question": "个税", "pad": "x" * (1024 * 1024)})
    return client.post(ask, json={"question": "\u200b\ufeff😀"})


def test_poisoned_and_oversized_requests_never_harm_normal_questions(served: Served) -> None:
    with httpx.Client(base_url=served.base, timeout=60) as client:
        alone = {q: _summary(client.post("/api/v1/ask", json={"question": q})) for q in NORMAL}
        assert all(code == 200 for code, _, _ in alone.values()), alone
        assert {kind for _, kind, _ in alone.values()} >= {"faq", "passage", "none"}

        def one(n: int) -> tuple[str, Any]:
            if n % 3 == 2:  # one request in three is poisoned or oversized
                return "bad", _poisoned(client, (n // 3) % 5).status_code
            question = NORMAL[n % len(NORMAL)]
            body: dict[str, str] = {"question": question}
            if n % 2:
                body["session_id"] = f"mix-{n}"
            return question, _summary(client.post("/api/v1/ask", json=body))

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(one, range(150)))
    bad = [status for kind, status in results if kind == "bad"]
    assert len(bad) == 50 and set(bad) <= {413, 422}, bad
    assert 413 in bad and 422 in bad
    normal = [(q, got) for q, got in results if q != "bad"]
    assert len(normal) == 100
    for question, got in normal:
        assert got == alone[question], (question, got)


def _read_response(sock: socket.socket, seconds: float = 15) -> bytes:
    sock.settimeout(seconds)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head.split(b"\r\n")[0] + b"\n" + rest


def test_a_declared_100mb_body_is_refused_before_it_is_read(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(
            b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n"
        )  # and not one byte of the body
        reply = _read_response(sock)
    status, _, body = reply.partition(b"\n")
    assert b" 413 " in status
    assert "请求内容过大（上限 64 KB）" in json.loads(body)["detail"]


def test_a_chunked_body_is_refused_once_it_passes_the_limit(served: Served) -> None:
    """The client offers 200 MB in chunks; the server answers 413 and closes long before.

    How much the client manages to hand to the kernel before the close depends on the
    socket buffers (loopback receive buffers autotune up to net.ipv4.tcp_rmem's maximum,
    32 MB here), so the bound allows for them: a server that read the whole body before
    refusing would let the client send all 200 MB.
    """
    offered = 200 * 1024 * 1024
    chunk = b"x" * 8192
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.settimeout(30)
        sock.sendall(
            b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )

        def send_body() -> None:
            nonlocal sent
            with contextlib.suppress(OSError):  # broken pipe / reset once the server closes
                while sent < offered:
                    sock.sendall(frame)
                    sent += len(chunk)

        with ThreadPoolExecutor(1) as pool:
            sender = pool.submit(send_body)
            reply = b""
            deadline = time.monotonic() + 30
            # Headers (with the security headers) and body may arrive in separate reads.
            while "请求内容过大".encode() not in reply and time.monotonic() < deadline:
                more = sock.recv(65536)
                if not more:
                    break
                reply += more
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # ends the sender if the server has not
            sender.result(timeout=30)
    assert b" 413 " in reply.split(b"\r\n")[0], reply[:200]
    assert "请求内容过大".encode() in reply
    rmem_max = int(Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()[2])
    wmem_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    assert sent < rmem_max + wmem_max + 8 * 1024 * 1024 < offered
