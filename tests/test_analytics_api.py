"""What citizens ask, through HTTP on SQLite and PostgreSQL: a generated month of conversations
(tests/analytics_month.py) plus questions, feedback and a hand-over through the public API; the
figures, the groups of questions, the rising topics, the CSV exports, the pages, the roles and
the bounds are checked against what was generated."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import Counter
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from service.answering import Answerer
from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import upgrade
from service.engine import load_answerer
from tests.analytics_month import FAMILIES, TICKET_WAITS, Asked, Month, generate
from tests.conftest import ask
from tests.desk_helpers import desk_app, make_user, sign_in

OUTCOMES = {
    "answered": ("faq", "passage"),
    "declined": ("none",),
    "handed_over": ("handoff",),
    "clarify": ("clarify",),
    "smalltalk": ("smalltalk",),
}


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


def through_public_paths(client: TestClient, month: Month) -> str:
    """Today's questions through /ask, a rating, and a hand-over answered by an agent; returns
    the ticket id."""
    today = month.today
    tax = ask(client, "个人所得税的起征点是多少？")
    assert tax["type"] == "faq"
    rated = client.post("/api/v1/feedback", json={"answer_id": tax["answer_id"], "helpful": True})
    assert rated.status_code == 200, rated.text
    month.ratings.append(("web", True))
    parking = ask(client, "停车费怎么交")
    handed = ask(client, "我要转人工", parking["session_id"])
    assert handed["type"] == "handoff"
    for question, body in (("个人所得税的起征点是多少？", tax), ("停车费怎么交", parking)):
        month.asked.append(
            Asked(today, datetime.now(), "web", body["type"], month.family_of(question), question)
        )
    month.asked.append(Asked(today, datetime.now(), "web", "handoff", None, "我要转人工"))

    agent, csrf = sign_in(client, "agent1")
    ticket = agent.get("/api/v1/staff/tickets").json()["tickets"][0]
    url = f"/api/v1/staff/tickets/{ticket['id']}"
    assert agent.post(f"{url}/claim", headers=csrf).status_code == 200
    reply = "路边停车可通过城市停车微信公众号缴费。"
    assert agent.post(f"{url}/messages", json={"text": reply}, headers=csrf).status_code == 200
    closed = agent.post(f"{url}/close", json={"resolution": "已答复"}, headers=csrf)
    assert closed.status_code == 200
    detail = agent.get(url).json()
    first = next(m for m in detail["messages"] if m["role"] == "staff")
    wait = datetime.fromisoformat(first["created_at"]) - datetime.fromisoformat(
        detail["created_at"]
    )
    month.waits.append(("web", wait.total_seconds()))
    return str(ticket["id"])


@pytest.fixture
def month_app(answerer: Answerer, sample_index: Path, database_url: str) -> Any:
    with desk_app(answerer, sample_index, database_url) as client:
        for name, role in (("agent1", "agent"), ("editor1", "editor"), ("rev1", "reviewer")):
            make_user(database_url, name, role)
        month = generate(database_url)
        ticket = through_public_paths(client, month)
        yield client, month, ticket


def period(month: Month, channel: str | None = None) -> dict[str, str]:
    params = {"start": month.start.isoformat(), "end": month.today.isoformat()}
    return {**params, "channel": channel} if channel else params


def expected_totals(asked: list[Asked]) -> dict[str, int]:
    types = Counter(a.type for a in asked)
    totals = {k: sum(types[t] for t in ts) for k, ts in OUTCOMES.items()}
    return {"questions": len(asked), **totals}


def expected_groups(asked: list[Asked]) -> list[tuple[str, int]]:
    families = Counter(a.family for a in asked if a.family)
    return sorted(families.items(), key=lambda item: -item[1])


def check_groups(got: list[dict[str, Any]], want: list[tuple[str, int]]) -> None:
    assert [g["count"] for g in got] == [n for _, n in want]
    for g, (family, _) in zip(got, want, strict=True):
        wordings = set(FAMILIES[family][1])
        assert g["typical"] in wordings, (g, family)  # the medoid is one of the family's
        assert set(g["examples"]) <= wordings and g["typical"] not in g["examples"]
        query = parse_qs(urlsplit(g["faq_link"]).query)
        assert urlsplit(g["faq_link"]).path == "/admin/faq/new"
        assert query["question"] == [g["typical"]]


def test_figures_groups_and_rising_topics(month_app: Any) -> None:
    client, month, _ = month_app
    editor, _ = sign_in(client, "editor1")
    response = editor.get("/api/v1/staff/analytics", params=period(month))
    assert response.status_code == 200, response.text
    body = response.json()
    asked: list[Asked] = month.asked
    assert len(asked) > 200
    assert body["totals"] == expected_totals(asked)

    # questions per day, by local date, every day of the period present
    assert [d["date"] for d in body["daily"]] == [
        (month.start + timedelta(days=i)).isoformat() for i in range(30)
    ]
    for row in body["daily"]:
        on_day = [a for a in asked if a.day.isoformat() == row["date"]]
        assert row == {"date": row["date"], **expected_totals(on_day)}

    helpful = sum(1 for _, h in month.ratings if h)
    assert body["satisfaction"] == {
        "ratings": len(month.ratings),
        "helpful": helpful,
        "not_helpful": len(month.ratings) - helpful,
        "rate": round(helpful / len(month.ratings), 4),
    }
    waits = [w for _, w in month.waits if w is not None]
    assert body["handoff"]["tickets"] == len(TICKET_WAITS) + 1
    assert body["handoff"]["replied"] == len(waits)
    assert body["handoff"]["closed"] == 6 + 1
    assert body["handoff"]["median_first_reply_seconds"] == round(statistics.median(waits)) == 300

    questions = [a for a in asked if a.family]
    check_groups(body["top"]["groups"], expected_groups(questions))
    assert body["top"]["capped"] is False and body["top"]["total"] == len(questions)
    unanswered = [a for a in questions if a.type == "none"]
    check_groups(body["unanswered"]["groups"], expected_groups(unanswered))
    assert {g["typical"] for g in body["unanswered"]["groups"]} <= set(
        FAMILIES["parking"][1] + FAMILIES["dog"][1]
    )

    # rising: created this week only (subsidy), doubled (invoice); steady families are not
    rising = body["rising"]
    assert rising["this_week"] == {
        "start": (month.today - timedelta(days=6)).isoformat(),
        "end": month.today.isoformat(),
    }
    topics = [(t["this_week"], t["last_week"], t["new"]) for t in rising["topics"]]
    assert topics == [(24, 0, True), (12, 6, False)]
    assert rising["topics"][0]["typical"] in FAMILIES["subsidy"][1]
    assert rising["topics"][1]["typical"] in FAMILIES["invoice"][1]

    # the same request gives the same groups (deterministic)
    again = editor.get("/api/v1/staff/analytics", params=period(month)).json()
    assert again["top"] == body["top"] and again["rising"] == body["rising"]


def test_one_channel(month_app: Any) -> None:
    client, month, _ = month_app
    reviewer, _ = sign_in(client, "rev1")
    body = reviewer.get("/api/v1/staff/analytics", params=period(month, "wechat")).json()
    wechat = [a for a in month.asked if a.channel == "wechat"]
    assert 50 < len(wechat) < len(month.asked)
    assert body["totals"] == expected_totals(wechat)
    assert body["period"]["channel"] == "wechat"
    assert body["channels"] == ["web", "wechat"]
    rated = [h for c, h in month.ratings if c == "wechat"]
    assert body["satisfaction"]["ratings"] == len(rated)
    waits = [w for c, w in month.waits if c == "wechat" and w is not None]
    assert body["handoff"]["tickets"] == len(waits) == 5
    assert body["handoff"]["median_first_reply_seconds"] == round(statistics.median(waits))
    check_groups(body["top"]["groups"], expected_groups([a for a in wechat if a.family]))


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_export_of_every_table(month_app: Any) -> None:
    client, month, _ = month_app
    editor, _ = sign_in(client, "editor1")
    body = editor.get("/api/v1/staff/analytics", params=period(month)).json()
    base = "/api/v1/staff/analytics"
    daily = read_csv(editor.get(f"{base}/daily.csv", params=period(month)))
    assert daily[0][:3] == ["日期", "问题数", "已回答"]
    assert [r[0] for r in daily[1:]] == [d["date"] for d in body["daily"]]
    assert [int(r[1]) for r in daily[1:]] == [d["questions"] for d in body["daily"]]
    top = read_csv(editor.get(f"{base}/top.csv", params=period(month)))
    assert [(r[0], int(r[1])) for r in top[1:]] == [
        (g["typical"], g["count"]) for g in body["top"]["groups"]
    ]
    unanswered = read_csv(editor.get(f"{base}/unanswered.csv", params=period(month)))
    assert len(unanswered) == 1 + len(body["unanswered"]["groups"])
    rising = read_csv(editor.get(f"{base}/rising.csv", params=period(month)))
    assert [int(r[1]) for r in rising[1:]] == [24, 12]
    outcomes = dict(read_csv(editor.get(f"{base}/outcomes.csv", params=period(month)))[1:])
    assert int(outcomes["未能回答"]) == body["totals"]["declined"]
    summary = dict(read_csv(editor.get(f"{base}/summary.csv", params=period(month)))[1:])
    assert summary["首次人工回复时长中位数（秒）"] == "300"
    assert int(summary["问题总数"]) == body["totals"]["questions"]
    missing = editor.get(f"{base}/nothing.csv", params=period(month))
    assert missing.status_code == 404 and "没有名为 nothing 的统计表" in missing.json()["detail"]


def test_roles_and_bad_input(month_app: Any) -> None:
    client, month, _ = month_app
    anonymous = TestClient(client.app, base_url="https://testserver")
    assert anonymous.get("/api/v1/staff/analytics").status_code == 401
    agent, _ = sign_in(client, "agent1")
    refused = agent.get("/api/v1/staff/analytics")
    assert refused.status_code == 403 and "权限" in refused.json()["detail"]
    assert agent.get("/api/v1/staff/analytics/daily.csv").status_code == 403
    editor, _ = sign_in(client, "editor1")
    reversed_ = editor.get(
        "/api/v1/staff/analytics", params={"start": "2026-03-02", "end": "2026-03-01"}
    )
    assert reversed_.status_code == 422
    assert "开始日期 2026-03-02 晚于结束日期 2026-03-01" in reversed_.json()["detail"]
    too_long = editor.get(
        "/api/v1/staff/analytics", params={"start": "2024-01-01", "end": "2026-01-01"}
    )
    assert too_long.status_code == 422 and "最多 366 天" in too_long.json()["detail"]
    bad_date = editor.get("/api/v1/staff/analytics", params={"start": "昨天"})
    assert bad_date.status_code == 422 and "start" in bad_date.text
    bad_channel = editor.get("/api/v1/staff/analytics", params={"channel": "微信<script>"})
    assert bad_channel.status_code == 422 and "channel" in bad_channel.text


def data_block(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="analytics-data">(.*?)</script>', html)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_pages_and_the_ticket_draft_link(month_app: Any) -> None:
    client, month, ticket = month_app
    editor, _ = sign_in(client, "editor1")
    page = editor.get("/admin/analytics", params=period(month))
    assert page.status_code == 200
    html = page.text
    assert "<h1>咨询分析</h1>" in html and 'href="/admin/analytics"' in html
    assert data_block(html)["totals"] == expected_totals(month.asked)
    assert html.count('class="chart"') == 5 and html.count("data-toggle=") == 5
    for table in ("summary", "daily", "outcomes", "top", "unanswered", "rising"):
        assert f"/api/v1/staff/analytics/{table}.csv?start=" in html
    assert "为此编写常见问题" in html and "/admin/faq/new?question=" in html
    assert "<script>" not in html  # only the JSON block and files of this origin
    assert "追问澄清" not in html  # no clarify answers in the period: no such column

    week_day = month.today - timedelta(days=10)
    report = editor.get("/admin/analytics/report", params={"kind": "week", "day": str(week_day)})
    assert report.status_code == 200
    monday = week_day - timedelta(days=week_day.weekday())
    in_week = [a for a in month.asked if monday <= a.day <= monday + timedelta(days=6)]
    text = unescape(report.text)
    assert f"报告期：{monday} 至 {monday + timedelta(days=6)}" in text
    assert f"共受理群众咨询 {len(in_week)} 件" in text
    assert "咨询情况周报" in text and 'id="print"' in text
    monthly = editor.get("/admin/analytics/report", params={"kind": "month"})
    assert monthly.status_code == 200 and "咨询情况月报" in monthly.text
    assert editor.get("/admin/analytics/report", params={"kind": "year"}).status_code == 422

    agent, _ = sign_in(client, "agent1")
    assert agent.get("/admin/analytics").status_code == 403
    ticket_page = agent.get(f"/admin/tickets/{ticket}").text
    link = re.search(r'<a href="(/admin/faq/new\?[^"]+)">转为常见问题草稿</a>', ticket_page)
    assert link is not None
    query = parse_qs(urlsplit(unescape(link.group(1))).query)
    assert query == {
        "question": ["停车费怎么交"],
        "answer": ["路边停车可通过城市停车微信公众号缴费。"],
        "ticket": [ticket],
    }


def test_grouping_is_bounded_and_says_so(
    answerer: Answerer, sample_index: Path, database_url: str
) -> None:
    with desk_app(answerer, sample_index, database_url, analytics_max_questions=50) as client:
        make_user(database_url, "editor1", "editor")
        month = generate(database_url)
        editor, _ = sign_in(client, "editor1")
        body = editor.get("/api/v1/staff/analytics", params=period(month)).json()
    questions = [a for a in month.asked if a.family]
    top = body["top"]
    assert top["capped"] is True and top["clustered"] == 50 and top["total"] == len(questions)
    assert top["note"] == f"本期共 {len(questions)} 条问题，按设置只对最近的 50 条按语义归类"
    assert sum(g["count"] for g in top["groups"]) == 50
    # the most recent 50: the figures are still over the whole period
    assert body["totals"] == expected_totals(month.asked)


def test_figures_while_no_index_is_loaded(database_url: str, tmp_path: Path) -> None:
    """The grouping needs the engine's encoder; the figures do not."""
    upgrade(get_database(database_url))
    settings = Settings(index_dir=tmp_path / "no-index-yet", database_url=database_url)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        make_user(database_url, "editor1", "editor")
        month = generate(database_url)
        editor, _ = sign_in(client, "editor1")
        api = editor.get("/api/v1/staff/analytics", params=period(month))
        assert api.status_code == 503 and "索引" in api.json()["detail"]
        daily = read_csv(editor.get("/api/v1/staff/analytics/daily.csv", params=period(month)))
        assert sum(int(r[1]) for r in daily[1:]) == len(month.asked)
        page = editor.get("/admin/analytics", params=period(month))
        assert page.status_code == 200
        assert "问题归类暂不可用" in page.text and 'id="top-chart"' not in page.text
        assert data_block(page.text)["totals"] == expected_totals(month.asked)
        # the printable report, too, is there without its groups
        report = editor.get(
            "/admin/analytics/report", params={"kind": "month", "day": period(month)["start"]}
        )
        assert report.status_code == 200, report.text[:300]
        assert "问题归类暂不可用" in report.text and "咨询情况月报" in report.text
