"""A running service picks up a rebuilt index without a restart; a broken one never replaces it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import KNOWLEDGE, run_cli

FAQ = """
- id: guokuquan-duixiang
  question: 国库券卖给谁？哪些人可以买国库券？
  variants: [谁能买国库券]
  answer: 国库券的发行对象是居民个人、个体工商户、企业、事业单位、机关、社会团体和其他组织。
  sources:
    - doc_id: 国库券条例-2011
      article: 第二条
"""


def _wait_for(
    client: TestClient, predicate: Callable[[Any], bool], seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/readyz")
        if predicate(response):
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)


def test_new_index_version_is_served_without_restart(tmp_path: Path) -> None:
    knowledge, index = tmp_path / "knowledge", tmp_path / "index"
    (knowledge / "faq").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "policies/laws/国库券条例-2011.md", knowledge)
    assert run_cli("index", str(knowledge), "--out", str(index), "--quiet").returncode == 0
    settings = Settings(index_dir=index, reload_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        first = _wait_for(client, lambda r: r.status_code == 200)
        assert first["faqs"] == 0
        before = client.post("/api/v1/ask", json={"question": "谁能买国库券"}).json()
        assert before["type"] != "faq"

        (knowledge / "faq" / "国库券.yaml").write_text(FAQ, "utf-8")
        assert run_cli("index", str(knowledge), "--out", str(index), "--quiet").returncode == 0
        second = _wait_for(
            client, lambda r: r.json().get("index_version") != first["index_version"]
        )
        assert second["faqs"] == 1
        after = client.post("/api/v1/ask", json={"question": "谁能买国库券"}).json()
        assert after["type"] == "faq" and after["sources"][0]["section"].endswith("第二条")

        # A corrupt version never replaces the one serving: the service keeps answering and
        # /readyz says what is wrong.
        (index / "CURRENT").write_text("no-such-version\n")
        third = _wait_for(client, lambda r: r.json()["status"] == "degraded")
        assert third["index_version"] == second["index_version"]
        assert "no-such-version" in third["problems"][0]
        assert client.post("/api/v1/ask", json={"question": "谁能买国库券"}).json()["type"] == "faq"
        # The reload thread is still alive after all this (it fails the test if it died).
        (index / "CURRENT").write_text(second["index_version"] + "\n")
        fourth = _wait_for(client, lambda r: r.json()["status"] == "ready")
        assert fourth["reloading"] is True and fourth["problems"] == []
