"""What the curation tests that run ``policyqa serve`` share: a served copy of the sample index
with an editor and a reviewer (for the browser tests, or two workers on a seeded SQLite or
PostgreSQL state for the publication tests), and signing in on the staff login page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import KNOWLEDGE, run_cli
from tests.databases import drop_postgres, fresh_postgres
from tests.test_desk_processes import create_users
from tests.test_service_cli import serving

PASSWORD = "浏览器测试用的密码-9"
EDITOR, REVIEWER = "编辑小张", "审核员小王"


@contextmanager
def curation_server(
    sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The base URL of a served copy of the sample index (publication writes new versions
    into it) on a fresh SQLite state database holding the two staff accounts."""
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    assert run_cli("db", "upgrade", "--database-url", url).returncode == 0
    create_users(url, [(EDITOR, "editor"), (REVIEWER, "reviewer")], PASSWORD)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("POLICYQA_COOKIE_SECURE", "false")  # plain http on loopback
    with serving(index, tmp_path / "serve.log") as base:
        yield base


def sign_in(page: Page, base: str, name: str) -> None:
    """Signs in on the login page; the staff home (问答维护) is shown."""
    page.goto(f"{base}/admin/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="问答维护")).to_be_visible()


@contextmanager
def two_workers(
    database: str, sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path, str]]:
    """``policyqa serve --workers 2`` on a copy of the sample index and a fresh ``database``
    ("sqlite" or "postgresql") seeded with the sample FAQ (``policyqa faq import``), with the
    staff accounts editor-a and reviewer-b; yields the base URL, the index folder and the
    database URL."""
    pg = database == "postgresql"
    url = fresh_postgres() if pg else f"sqlite:///{tmp_path / 'state.sqlite'}"
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    try:
        assert run_cli("db", "upgrade", "--database-url", url).returncode == 0
        create_users(url, [("editor-a", "editor"), ("reviewer-b", "reviewer")])
        seeded = run_cli("faq", "import", str(KNOWLEDGE), "--database-url", url)
        assert seeded.returncode == 0 and "已导入" in seeded.stdout, seeded.stderr
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.setenv("POLICYQA_COOKIE_SECURE", "false")
        with serving(index, tmp_path / "serve.log", "--workers", "2") as base:
            yield base, index, url
    finally:
        if pg:
            drop_postgres(url)
