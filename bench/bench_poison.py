"""Load with poisoned and oversized requests mixed in among normal questions, over HTTP.

    .venv/bin/python bench/bench_poison.py --index DIR [--requests 1000] [--concurrency 16]
                                           [--workers 2]

Starts ``policyqa serve --workers N`` on a free loopback port and sends ``--requests`` requests
from ``--concurrency`` threads (one keep-alive httpx connection pool). One request in five is
bad, cycling through: a lone surrogate (``"\\ud800"`` in JSON), malformed JSON, a body that is not
UTF-8, a question that NFKC expands ~18x (U+FDFA x485), a 1 MB body with Content-Length and a
1 MB chunked body. The others are normal questions (half of them with a session id). Prints, for
the normal questions, how many did not get 200 with the answer they get when asked alone, and
latency percentiles; for the bad ones, the status codes; and the server log's error lines.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from benchlib import code_version, log

NORMAL = [
    "没中标，想对中标结果提质疑，要在几天内提？",
    "会计账簿要保存多少年",
    "个人所得税专项附加扣除有哪些",
    "国库券的发行对象有哪些？",
    "今天天气怎么样",
    "预算调整需要谁批准",
    "灵活就业人员怎么交养老保险",
    "政府采购合同要不要在网上公开",
]
JSON = {"content-type": "application/json"}
BAD = ["surrogate", "malformed", "not-utf8", "nfkc-bomb", "1mb-declared", "1mb-chunked"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def chunked(size: int) -> Iterator[bytes]:
    yield b'{"question": "\xe4\xb8\xaa\xe7\xa8\x8e", "pad": "'
    for _ in range(size // 16384):
        yield b"x" * 16384
    yield b'"}'


def bad_request(client: httpx.Client, kind: str) -> httpx.Response:
    ask = "/api/v1/ask"
    if kind == "surrogate":
        return client.post(ask, content=b'{"question": "\\ud800\\u4e2a\\u7a0e"}', headers=JSON)
    if kind == "malformed":
        return client.post(ask, content=b'{"question": "\xe4\xb8\xaa', headers=JSON)
    if kind == "not-utf8":
        return client.post(ask, content=b'{"question": "\xff\xfe"}', headers=JSON)
    if kind == "nfkc-bomb":
        return client.post(ask, json={"question": "\ufdfa" * 485})
    if kind == "1mb-declared":
        return client.post(ask, json={"question": "个税", "pad": "x" * 2**20})
    return client.post(ask, content=chunked(2**20), headers=JSON)


def summary(response: httpx.Response) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    if response.status_code != 200:
        return response.status_code, "", ()
    body = response.json()
    sources = tuple((s["doc_id"], s["section"]) for s in body["sources"])
    return 200, body["type"], sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    log(f"code {code_version()}, load average {os.getloadavg()[0]:.1f}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).with_name("policyqa")
    cmd = [str(exe), "serve", "--index", str(args.index), "--port", str(port)]
    server_log = Path(tempfile.mkstemp(prefix="bench-poison-", suffix=".log")[1])
    with server_log.open("w") as out:
        # One client sends all the load: the per-client rate limit is not what is measured.
        env = {**os.environ, "POLICYQA_RATE_LIMIT_PER_MINUTE": "1000000"}
        proc = subprocess.Popen(
            [*cmd, "--workers", str(args.workers)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        ready: set[str] = set()
        deadline = time.monotonic() + 600
        while len(ready) < args.workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("server did not become ready:\n" + server_log.read_text()[-3000:])
            try:
                r = httpx.get(f"{base}/readyz", timeout=5, headers={"Connection": "close"})
                if r.status_code == 200:
                    ready.add(r.headers["x-policyqa-worker"])
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        limits = httpx.Limits(max_connections=args.concurrency)
        with httpx.Client(base_url=base, timeout=60, limits=limits) as client:
            alone = {q: summary(client.post("/api/v1/ask", json={"question": q})) for q in NORMAL}

            def one(n: int) -> tuple[str, str, object, float]:
                start = time.perf_counter()
                try:
                    if n % 5 == 4:
                        kind = BAD[(n // 5) % len(BAD)]
                        status: object = bad_request(client, kind).status_code
                        return "bad", kind, status, time.perf_counter() - start
                    question = NORMAL[n % len(NORMAL)]
                    body = {"question": question}
                    if n % 2:
                        body["session_id"] = f"bench-{n}"
                    got = summary(client.post("/api/v1/ask", json=body))
                    return "normal", question, got, time.perf_counter() - start
                except httpx.HTTPError as exc:
                    kind = "bad" if n % 5 == 4 else "normal"
                    return kind, "", f"{type(exc).__name__}", time.perf_counter() - start

            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                results = list(pool.map(one, range(args.requests)))
            seconds = time.monotonic() - start
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()

    normal = [(q, got, t) for kind, q, got, t in results if kind == "normal"]
    failed = [(q, got) for q, got, _ in normal if got != alone.get(q)]
    bad = Counter((q, got) for kind, q, got, _ in results if kind == "bad")
    ms = sorted(1000 * t for _, _, t in normal)
    print(f"server: policyqa serve --workers {args.workers}; client: {args.concurrency} threads")
    print(f"requests: {len(results)} in {seconds:.1f} s ({len(results) / seconds:.0f}/s)")
    print(f"normal questions: {len(normal)}, failures: {len(failed)}")
    for question, got in failed[:10]:
        print(f"  FAILED {question}: {got}")
    print(
        f"normal latency ms: p50 {statistics.median(ms):.0f}, "
        f"p95 {ms[int(0.95 * (len(ms) - 1))]:.0f}, max {ms[-1]:.0f}"
    )
    print(f"bad requests: {sum(bad.values())}")
    for (kind, status), count in sorted(bad.items()):
        print(f"  {kind:<13} → {status} ×{count}")
    text = server_log.read_text()
    errors = [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
    print(f"server log: {len(errors)} error lines, {text.count('Traceback')} tracebacks")
    for line in errors[:5]:
        print(f"  {line[:160]}")
    server_log.unlink()


if __name__ == "__main__":
    main()
