"""The index lifecycle of a serving process, through HTTP: a damaged current version at start-up
falls back to the newest intact one, a failed first load is retried and explained, a bad new
version is reported while the last good one serves, and the loader thread's health is visible."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from indexer.store import VERSIONS, current_version, version_names
from service import lifecycle
from service.app import create_app
from service.config import Settings
from tests.conftest import KNOWLEDGE, run_cli
from tests.test_reload import FAQ

ASK = "/api/v1/ask"


def _wait_for(
    client: TestClient, predicate: Callable[[Any], bool], seconds: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/readyz")
        if predicate(response):
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index with two versions of a small knowledge base: the newer one has a FAQ."""
    root = tmp_path_factory.mktemp("two-versions")
    knowledge, index = root / "knowledge", root / "index"
    (knowledge / "faq").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "policies/laws/国库券条例-2011.md", knowledge)
    assert run_cli("index", str(knowledge), "--out", str(index), "--quiet").returncode == 0
    (knowledge / "faq" / "国库券.yaml").write_text(FAQ, "utf-8")
    assert run_cli("index", str(knowledge), "--out", str(index), "--quiet").returncode == 0
    assert len(version_names(index)[::-1]) == 2
    return index


def _copy(index: Path, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(index, target)
    return target


def _damage(index: Path, version: str, name: str = "chunk_vectors.npy") -> None:
    path = index / VERSIONS / version / name
    data = bytearray(path.read_bytes())
    data[-64:] = bytes(64)  # zeroed vectors: the sha256 no longer matches
    path.write_bytes(bytes(data))


def test_damaged_current_version_falls_back_to_the_newest_intact_one(
    two_versions: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index = _copy(two_versions, tmp_path)
    newer, older = version_names(index)[::-1]
    assert current_version(index) == newer
    _damage(index, newer)
    caplog.set_level(logging.INFO, logger="policyqa")
    with TestClient(create_app(Settings(index_dir=index, reload_seconds=0.2))) as client:
        ready = _wait_for(client, lambda r: r.status_code == 200)
        assert ready["index_version"] == older and ready["status"] == "degraded"
        assert ready["faqs"] == 0
        (problem,) = ready["problems"]
        assert newer in problem and "chunk_vectors.npy" in problem and "已回退" in problem
        assert older in problem
        body = client.post(ASK, json={"question": "国库券的发行对象有哪些？"}).json()
        assert body["type"] == "passage" and body["sources"][0]["doc_id"] == "国库券条例-2011"
        # Still reported on later polls (the damaged version is not retried every poll).
        time.sleep(0.6)
        assert client.get("/readyz").json()["problems"] == [problem]
    said = " ".join(r.getMessage() for r in caplog.records)
    assert f"serving index version {older} instead of the damaged current one" in said
    assert all(r.exc_info is None for r in caplog.records)  # no tracebacks


def test_no_loadable_index_answers_503_with_the_reason_and_retries(
    two_versions: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    with TestClient(create_app(Settings(index_dir=index, reload_seconds=0.5))) as client:
        _wait_for(client, lambda r: "加载失败" in r.text)
        response = client.post(ASK, json={"question": "国库券的发行对象有哪些？"})
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert "正在启动" not in detail and "没有可用的索引" in detail
        # The first load is retried: an index that appears later is served without a restart.
        shutil.copytree(two_versions, index, dirs_exist_ok=True)
        ready = _wait_for(client, lambda r: r.status_code == 200)
        assert ready["index_version"] == current_version(two_versions)
        assert ready["status"] == "ready" and ready["problems"] == []


def test_every_version_damaged_is_explained(two_versions: Path, tmp_path: Path) -> None:
    index = _copy(two_versions, tmp_path)
    for version in version_names(index)[::-1]:
        _damage(index, version, "faq_vectors.npy")
    with TestClient(create_app(Settings(index_dir=index, reload_seconds=0.5))) as client:
        _wait_for(client, lambda r: "加载失败" in r.text)
        detail = client.post(ASK, json={"question": "国库券"}).json()["detail"]
        assert "faq_vectors.npy" in detail and "正在启动" not in detail


def test_a_bad_new_version_is_reported_while_the_good_one_serves(
    two_versions: Path, tmp_path: Path
) -> None:
    index = _copy(two_versions, tmp_path)
    newer, older = version_names(index)[::-1]
    (index / "CURRENT").write_text(older + "\n")
    with TestClient(create_app(Settings(index_dir=index, reload_seconds=0.2))) as client:
        ready = _wait_for(client, lambda r: r.status_code == 200)
        assert ready["index_version"] == older and ready["status"] == "ready"
        _damage(index, newer)
        (index / "CURRENT").write_text(newer + "\n")  # what a finished build does
        report = _wait_for(client, lambda r: r.json()["status"] == "degraded")
        assert report["index_version"] == older and report["reloading"] is True
        (problem,) = report["problems"]
        assert newer in problem and "无法加载" in problem and f"继续使用版本 {older}" in problem
        body = client.post(ASK, json={"question": "国库券的发行对象有哪些？"})
        assert body.status_code == 200 and body.json()["type"] == "passage"


def test_a_failing_poll_does_not_stop_reloading(
    two_versions: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    index = _copy(two_versions, tmp_path)
    with TestClient(create_app(Settings(index_dir=index, reload_seconds=0.2))) as client:
        _wait_for(client, lambda r: r.status_code == 200)
        real = lifecycle.current_version
        failures: list[int] = []

        def flaky(out_dir: Path) -> str | None:
            if len(failures) < 3:
                failures.append(1)
                raise PermissionError("CURRENT unreadable (test)")
            return real(out_dir)

        monkeypatch.setattr(lifecycle, "current_version", flaky)
        deadline = time.monotonic() + 30
        while len(failures) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
        ready = client.get("/readyz").json()
        assert ready["reloading"] is True and ready["status"] == "ready", ready
    lines = [r.getMessage() for r in caplog.records if "reload check failed" in r.getMessage()]
    assert len(lines) == 3 and all("\n" not in line for line in lines)


class _ThreadKiller(BaseException):
    """Not an Exception: nothing in the loop may catch it, as with a fatal error."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_reload_thread_is_reported(
    two_versions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _copy(two_versions, tmp_path)
    with TestClient(create_app(Settings(index_dir=index, reload_seconds=0.2))) as client:
        assert _wait_for(client, lambda r: r.status_code == 200)["reloading"] is True

        def fatal(out_dir: Path) -> str | None:
            raise _ThreadKiller

        monkeypatch.setattr(lifecycle, "current_version", fatal)
        report = _wait_for(client, lambda r: r.json()["reloading"] is False, seconds=30)
        assert report["status"] == "degraded"
        assert "索引更新线程已停止" in report["problems"][0]


def test_shutdown_stops_the_loader(two_versions: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    app = create_app(Settings(index_dir=two_versions, database_url=url, reload_seconds=0.2))
    with TestClient(app) as client:
        _wait_for(client, lambda r: r.status_code == 200)
        client.post(ASK, json={"question": "国库券的发行对象有哪些？"})
        engine = app.state.engine
        assert engine.reloading
    assert not engine.reloading  # joined at shutdown
