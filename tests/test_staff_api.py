"""Staff accounts through HTTP on SQLite and PostgreSQL: every staff route refuses anonymous and
wrong-role requests, sign-in is throttled, admins manage users and roles and read the audit log,
which the database keeps append-only. (No index needed: the staff side works without it.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import upgrade
from tests.desk_helpers import PASSWORD, make_user, sign_in

# Who may use each staff route; any route not listed here fails the walk below.
ALLOWED = {
    ("GET", "/api/v1/staff/session"): {"admin", "editor", "reviewer", "agent"},
    ("DELETE", "/api/v1/staff/session"): {"admin", "editor", "reviewer", "agent"},
    ("POST", "/api/v1/staff/tokens"): {"admin", "editor", "reviewer", "agent"},
    ("GET", "/api/v1/staff/tickets"): {"agent"},
    ("GET", "/api/v1/staff/tickets/{ticket_id}"): {"agent"},
    ("POST", "/api/v1/staff/tickets/{ticket_id}/claim"): {"agent"},
    ("POST", "/api/v1/staff/tickets/{ticket_id}/messages"): {"agent"},
    ("POST", "/api/v1/staff/tickets/{ticket_id}/transfer"): {"agent"},
    ("POST", "/api/v1/staff/tickets/{ticket_id}/close"): {"agent"},
    ("GET", "/api/v1/staff/conversations"): {"agent", "admin"},
    ("GET", "/api/v1/staff/users"): {"admin"},
    ("POST", "/api/v1/staff/users"): {"admin"},
    ("PUT", "/api/v1/staff/users/{user_id}/roles"): {"admin"},
    ("GET", "/api/v1/staff/audit"): {"admin"},
    ("GET", "/api/v1/staff/analytics"): {"admin", "editor", "reviewer"},
    ("GET", "/api/v1/staff/analytics/{table}.csv"): {"admin", "editor", "reviewer"},
    ("POST", "/admin/logout"): {"admin", "editor", "reviewer", "agent"},
    ("GET", "/admin"): {"agent"},
    ("GET", "/admin/tickets/{ticket_id}"): {"agent"},
    ("POST", "/admin/tickets/{ticket_id}/claim"): {"agent"},
    ("POST", "/admin/tickets/{ticket_id}/reply"): {"agent"},
    ("POST", "/admin/tickets/{ticket_id}/transfer"): {"agent"},
    ("POST", "/admin/tickets/{ticket_id}/close"): {"agent"},
    ("GET", "/admin/search"): {"agent", "admin"},
    ("GET", "/admin/users"): {"admin"},
    ("POST", "/admin/users"): {"admin"},
    ("POST", "/admin/users/{user_id}/roles"): {"admin"},
    ("GET", "/admin/audit"): {"admin"},
    ("GET", "/admin/analytics"): {"admin", "editor", "reviewer"},
    ("GET", "/admin/analytics/report"): {"admin", "editor", "reviewer"},
    ("GET", "/api/v1/staff/faq"): {"editor", "reviewer", "admin"},
    ("POST", "/api/v1/staff/faq"): {"editor"},
    ("GET", "/api/v1/staff/faq/{faq_id}"): {"editor", "reviewer", "admin"},
    ("PUT", "/api/v1/staff/faq/{faq_id}"): {"editor"},
    ("POST", "/api/v1/staff/faq/{faq_id}/retire"): {"editor", "reviewer"},
    ("GET", "/api/v1/staff/faq/versions/{version_id}"): {"editor", "reviewer", "admin"},
    ("POST", "/api/v1/staff/faq/versions/{version_id}/submit"): {"editor"},
    ("POST", "/api/v1/staff/faq/versions/{version_id}/approve"): {"reviewer"},
    ("POST", "/api/v1/staff/faq/versions/{version_id}/return"): {"reviewer"},
    ("POST", "/api/v1/staff/faq/versions/{version_id}/restore"): {"editor"},
    ("POST", "/api/v1/staff/faq-files/import"): {"editor"},
    ("GET", "/api/v1/staff/faq-files/export"): {"editor", "reviewer", "admin"},
    ("GET", "/api/v1/staff/documents"): {"editor", "reviewer", "admin"},
    ("POST", "/api/v1/staff/documents/upload"): {"editor"},
    ("GET", "/api/v1/staff/documents/reviews"): {"editor", "reviewer", "admin"},
    ("POST", "/api/v1/staff/documents/reviews"): {"editor"},
    ("GET", "/api/v1/staff/documents/reviews/{review_id}"): {"editor", "reviewer", "admin"},
    ("POST", "/api/v1/staff/documents/reviews/{review_id}/approve"): {"reviewer"},
    ("POST", "/api/v1/staff/documents/reviews/{review_id}/return"): {"reviewer"},
    ("GET", "/api/v1/staff/documents/versions/{version_id}"): {"editor", "reviewer", "admin"},
    ("GET", "/api/v1/staff/documents/versions/{version_id}/file"): {"editor", "reviewer", "admin"},
    ("GET", "/api/v1/staff/documents/{doc_id}"): {"editor", "reviewer", "admin"},
    ("PUT", "/api/v1/staff/documents/{doc_id}"): {"editor"},
    ("POST", "/api/v1/staff/documents/{doc_id}/status"): {"editor"},
    ("POST", "/api/v1/staff/documents/{doc_id}/withhold"): {"editor", "reviewer"},
    ("GET", "/admin/faq/import"): {"editor"},
    ("POST", "/admin/faq/import"): {"editor"},
    ("GET", "/admin/faq"): {"editor", "reviewer", "admin"},
    ("GET", "/admin/faq/new"): {"editor"},
    ("POST", "/admin/faq/new"): {"editor"},
    ("GET", "/admin/faq/versions/{version_id}"): {"editor", "reviewer", "admin"},
    ("POST", "/admin/faq/versions/{version_id}/submit"): {"editor"},
    ("POST", "/admin/faq/versions/{version_id}/approve"): {"reviewer"},
    ("POST", "/admin/faq/versions/{version_id}/return"): {"reviewer"},
    ("POST", "/admin/faq/versions/{version_id}/restore"): {"editor"},
    ("GET", "/admin/faq/{faq_id}"): {"editor", "reviewer", "admin"},
    ("GET", "/admin/faq/{faq_id}/edit"): {"editor"},
    ("POST", "/admin/faq/{faq_id}/edit"): {"editor"},
    ("POST", "/admin/faq/{faq_id}/retire"): {"editor", "reviewer"},
    # the document pages (service/routes/admin_documents.py)
    ("GET", "/admin/documents"): {"editor", "reviewer", "admin"},
    ("GET", "/admin/documents/new"): {"editor"},
    ("POST", "/admin/documents/upload"): {"editor"},
    ("GET", "/admin/documents/reviews/{review_id}"): {"editor", "reviewer", "admin"},
    ("POST", "/admin/documents/reviews/{review_id}/approve"): {"reviewer"},
    ("POST", "/admin/documents/reviews/{review_id}/return"): {"reviewer"},
    ("POST", "/admin/documents/reviews/{review_id}/resubmit"): {"editor"},
    ("POST", "/admin/documents/versions/{version_id}/submit"): {"editor"},
    ("GET", "/admin/documents/{doc_id}"): {"editor", "reviewer", "admin"},
    ("POST", "/admin/documents/{doc_id}/status"): {"editor"},
    ("GET", "/admin/documents/{doc_id}/edit"): {"editor"},
    ("GET", "/admin/documents/{doc_id}/withhold"): {"editor", "reviewer"},
    ("POST", "/admin/documents/{doc_id}/withhold"): {"editor", "reviewer"},
}
PUBLIC = {("POST", "/api/v1/staff/session"), ("GET", "/admin/login"), ("POST", "/admin/login")}
ROLES = ("admin", "editor", "reviewer", "agent")


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    upgrade(get_database(database_url))
    for role in ROLES:
        make_user(database_url, f"only-{role}", role)
    app = create_app(Settings(index_dir=tmp_path / "no-index", database_url=database_url))
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def all_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, also those of included routers (FastAPI keeps them as one entry each)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from all_routes(inner.routes)
        else:
            yield route


def staff_routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in all_routes(client.app.routes):  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not (path.startswith("/api/v1/staff") or path.startswith("/admin")):
            continue
        if path.startswith("/admin/static"):
            continue
        methods = route.methods if isinstance(route, APIRoute) else getattr(route, "methods", set())
        for method in sorted(methods or ()):
            if method != "HEAD" and (method, path) not in PUBLIC:
                found.append((method, path))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if "id" in m.group(0) else "x", path)


def test_every_staff_route_refuses_anonymous_and_wrong_roles(client: TestClient) -> None:
    routes = staff_routes(client)
    assert set(ALLOWED) == set(routes), set(ALLOWED) ^ set(routes)
    signed_in = {role: sign_in(client, f"only-{role}") for role in ROLES}
    for method, path in routes:
        url = concrete(path)
        anonymous = client.request(method, url, json={}, follow_redirects=False)
        if path.startswith("/admin"):
            assert anonymous.status_code == 303, (method, path)
            assert anonymous.headers["location"] == "/admin/login"
        else:
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            assert anonymous.json()["detail"] == "请先登录"
        bad_token = client.request(
            method,
            url,
            json={},
            headers={"Authorization": "Bearer pqa_guess"},
            follow_redirects=False,
        )
        assert bad_token.status_code in (401, 303), (method, path)
        allowed = ALLOWED.get((method, path))
        assert allowed is not None, f"{method} {path} is not in ALLOWED"
        for role, (staff, csrf) in signed_in.items():
            if role in allowed:
                continue
            r = staff.request(method, url, json={}, headers=csrf, follow_redirects=False)
            assert r.status_code == 403, (method, path, role, r.status_code)
            assert "权限" in r.text


def test_sign_in_is_throttled_per_account(client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/api/v1/staff/session", json={"name": "only-agent", "password": "错的"})
        assert r.status_code == 401 and r.json()["detail"] == "用户名或密码错误"
    right = client.post("/api/v1/staff/session", json={"name": "only-agent", "password": PASSWORD})
    assert right.status_code == 429 and "15 分钟" in right.json()["detail"]
    other = client.post("/api/v1/staff/session", json={"name": "only-admin", "password": PASSWORD})
    assert other.status_code == 200
    cookie = other.headers["set-cookie"].lower()
    for flag in ("httponly", "secure", "samesite=strict"):
        assert flag in cookie


def test_sign_in_is_throttled_per_client(client: TestClient) -> None:
    for i in range(20):
        client.post("/api/v1/staff/session", json={"name": f"nobody{i}", "password": "x"})
    r = client.post("/api/v1/staff/session", json={"name": "only-admin", "password": PASSWORD})
    assert r.status_code == 429


def test_admin_manages_users_and_roles_with_audit(client: TestClient, database_url: str) -> None:
    admin, csrf = sign_in(client, "only-admin")
    created = admin.post(
        "/api/v1/staff/users",
        json={"name": "小王", "password": "足够长的密码-123", "roles": ["agent", "editor"]},
        headers=csrf,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    dup = admin.post(
        "/api/v1/staff/users",
        json={"name": "小王", "password": "足够长的密码-123", "roles": ["agent"]},
        headers=csrf,
    )
    assert dup.status_code == 409 and "已存在" in dup.json()["detail"]
    weak = admin.post(
        "/api/v1/staff/users",
        json={"name": "小李", "password": "短", "roles": ["agent"]},
        headers=csrf,
    )
    assert weak.status_code == 422 and "密码" in weak.json()["detail"]
    unknown = admin.put(
        f"/api/v1/staff/users/{user_id}/roles", json={"roles": ["root"]}, headers=csrf
    )
    assert unknown.status_code == 422 and "未知角色" in unknown.json()["detail"]
    changed = admin.put(
        f"/api/v1/staff/users/{user_id}/roles", json={"roles": ["reviewer"]}, headers=csrf
    )
    assert changed.status_code == 200 and changed.json()["roles"] == ["reviewer"]
    users = {u["name"]: u for u in admin.get("/api/v1/staff/users").json()["users"]}
    assert users["小王"]["roles"] == ["reviewer"]
    log = admin.get("/api/v1/staff/audit", params={"action": "role_change"}).json()["entries"]
    assert log[0]["detail"] == {"before": ["agent", "editor"], "after": ["reviewer"]}
    assert log[0]["actor"] == "only-admin" and log[0]["target"] == "user:小王"
    by_actor = admin.get("/api/v1/staff/audit", params={"actor": "only-admin"}).json()["entries"]
    assert {e["action"] for e in by_actor} >= {"login", "user_create", "role_change"}
    with pytest.raises(DBAPIError), get_database(database_url).session() as db:
        db.execute(text("UPDATE audit_log SET action = 'nothing'"))
    with pytest.raises(DBAPIError), get_database(database_url).session() as db:
        db.execute(text("DELETE FROM audit_log"))


def test_api_tokens_and_sign_out(client: TestClient) -> None:
    agent, csrf = sign_in(client, "only-agent")
    token = agent.post("/api/v1/staff/tokens", json={"name": "夜间脚本"}, headers=csrf).json()
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/staff/tickets", headers=bearer).json() == {"tickets": []}
    # A script with a token needs no CSRF token (no cookie is involved).
    assert client.get("/api/v1/staff/session", headers=bearer).json()["name"] == "only-agent"
    assert agent.delete("/api/v1/staff/session", headers=csrf).status_code == 200
    after = agent.get("/api/v1/staff/tickets")
    assert after.status_code == 401


def test_admin_pages_for_users_audit_and_search(client: TestClient) -> None:
    login_page = client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text)
    assert token is not None
    stale = client.post(
        "/admin/login",
        data={"name": "only-admin", "password": PASSWORD, "csrf_token": "stale"},
        follow_redirects=False,
    )
    assert stale.status_code == 403 and "CSRF" in stale.text
    signed = client.post(
        "/admin/login",
        data={"name": "only-admin", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    users = client.get("/admin/users")
    assert users.status_code == 200 and "人员与角色" in users.text and "only-agent" in users.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', users.text)
    assert csrf is not None
    refused = client.post(
        "/admin/users",
        data={
            "name": "新客服",
            "password": "足够长的密码-123",
            "roles": "agent",
            "csrf_token": "x",
        },
        follow_redirects=False,
    )
    assert refused.status_code == 403 and "新客服" not in client.get("/admin/users").text
    made = client.post(
        "/admin/users",
        data={
            "name": "新客服",
            "password": "足够长的密码-123",
            "roles": ["agent", "reviewer"],
            "csrf_token": csrf.group(1),
        },
    )
    assert made.status_code == 200 and "新客服" in made.text and "审核员" in made.text
    audit_page = client.get("/admin/audit", params={"action": "user_create"})
    assert audit_page.status_code == 200 and "user:新客服" in audit_page.text
    assert "登录失败" not in audit_page.text.split("<tbody>")[1]
    search = client.get("/admin/search", params={"q": "个税"})
    assert search.status_code == 200 and "结果（0 条）" in search.text
