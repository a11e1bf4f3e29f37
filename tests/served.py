"""``policyqa serve`` as a real process on a free loopback port, for tests that need the served
application (several worker processes, the CLI's settings checks, signals)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Every request of a test comes from one loopback client: no per-client rate limit there.
UNLIMITED = {"POLICYQA_RATE_LIMIT_PER_MINUTE": "1000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    base: str
    port: int
    process: subprocess.Popen[str]
    log: Path


@contextmanager
def serve(
    index: Path,
    log_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    only_env: bool = False,
    timeout: float = 300,
) -> Iterator[Served]:
    """Runs ``policyqa serve --index INDEX --port <free> *extra`` and yields once every worker
    (``--workers N`` in ``extra``) has answered ``/readyz`` with 200.

    ``env`` is added to this process's environment, or with ``only_env`` is the whole environment
    (plus PATH, HOME and PYTHONPATH), for tests of what the server does with exactly those settings.
    """
    port = free_port()
    exe = Path(sys.executable).with_name("policyqa")
    cmd = [str(exe), "serve", "--index", str(index), "--port", str(port), *extra]
    workers = int(extra[extra.index("--workers") + 1]) if "--workers" in extra else 1
    if only_env:
        keep = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}
        environment = {**keep, **(env or {})}
    else:
        environment = {**os.environ, **UNLIMITED, **(env or {})}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, text=True, env=environment
        )
    base = f"http://127.0.0.1:{port}"
    try:
        ready: set[str] = set()
        deadline = time.monotonic() + timeout
        while len(ready) < workers:  # each worker loads the index on its own
            assert process.poll() is None, log_path.read_text()
            try:
                r = httpx.get(f"{base}/readyz", timeout=5)
                if r.status_code == 200:
                    ready.add(r.headers["X-Policyqa-Worker"])
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the workers did not become ready"
            time.sleep(0.1)
        yield Served(base, port, process, log_path)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
