"""Helpers shared by the conversation and desk tests: an app on a given database with the real
sample index, staff accounts, signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.answering import Answerer
from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import upgrade
from service.sessions import DbSessionStore
from service.staff import accounts

PASSWORD = "正确的密码-Correct-Horse-7"


@contextmanager
def desk_app(answerer: Answerer, index: Path, url: str, **settings: Any) -> Iterator[TestClient]:
    database = get_database(url)
    upgrade(database)
    answerer.sessions = DbSessionStore(database)
    app = create_app(Settings(index_dir=index, database_url=url, **settings), answerer=answerer)
    # https: the staff cookie is Secure
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def make_user(url: str, name: str, *roles: str) -> None:
    with get_database(url).session() as db:
        accounts.create_user(db, name=name, password=PASSWORD, roles=list(roles))


def sign_in(app_client: TestClient, name: str) -> tuple[TestClient, dict[str, str]]:
    """A separate client (own cookie jar) signed in as ``name``; returns it and the CSRF header."""
    client = TestClient(app_client.app, base_url="https://testserver")
    response = client.post("/api/v1/staff/session", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, {"X-CSRF-Token": response.json()["csrf_token"]}


def token_for(client: TestClient, csrf: dict[str, str]) -> dict[str, str]:
    response = client.post("/api/v1/staff/tokens", json={"name": "脚本"}, headers=csrf)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
