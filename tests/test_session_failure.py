"""The state database (conversations and their context) on a full disk (a real, small tmpfs filled
to the last byte): questions are answered without context and unrecorded instead of failing,
``/readyz`` reports the problem, and it recovers by itself once there is room again."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import ask

ASK = "/api/v1/ask"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_loses_context_not_answers(
    sample_index: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{small_disk / 'state.sqlite'}"
    with TestClient(create_app(Settings(index_dir=sample_index, database_url=url))) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.2)
        question, follow_up = "供应商对中标结果有异议，怎么提出质疑？", "那需要什么材料？"
        alone = client.post(ASK, json={"question": follow_up}).json()
        session = ask(client, question, None)["session_id"]
        in_context = ask(client, follow_up, session)
        assert in_context["sources"] != alone["sources"]  # the store works: context is used

        filler = _fill(small_disk)
        caplog.clear()
        for _ in range(20):  # each new conversation needs new pages: the disk has none
            first = ask(client, question + "会话" * 60, None)
            body = ask(client, follow_up, first["session_id"])
            assert body["type"] in ("faq", "passage", "none")
        ready = client.get("/readyz")
        assert ready.status_code == 200
        report = ready.json()
        assert report["status"] == "degraded" and report["sessions"] == "不可用"
        assert any("full" in p for p in report["problems"]), report
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert 1 <= len(errors) <= 2, errors  # once per failing part, not once per question
        assert all(r.exc_info is None for r in caplog.records)

        filler.unlink()  # room again: recording recovers without a restart
        session = ask(client, question, None)["session_id"]
        assert ask(client, follow_up, session)["sources"] == in_context["sources"]
        assert client.get("/readyz").json()["status"] == "ready"
