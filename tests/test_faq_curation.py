"""FAQ curation through HTTP on SQLite and PostgreSQL: an editor's draft, review by another
person, the diff, sending back with a comment, publication, restore and retirement, everything
audited; the author cannot approve their own draft; bad input is refused with a Chinese 422
naming the field and nothing is stored; a question close to another FAQ's is named.
(Publication reaching /ask in served processes: tests/test_faq_served.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.answering import Answerer
from service.db.engine import get_database
from service.db.models import FaqItem, FaqVersion, KnowledgeRevision
from service.engine import load_answerer
from service.staff import audit
from tests.desk_helpers import desk_app, make_user, sign_in

FAQ = "/api/v1/staff/faq"


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


@pytest.fixture
def client(answerer: Answerer, sample_index: Path, database_url: str) -> Any:
    with desk_app(answerer, sample_index, database_url) as c:
        make_user(database_url, "editor1", "editor")
        make_user(database_url, "editor2", "editor")
        make_user(database_url, "reviewer1", "reviewer")
        make_user(database_url, "both", "editor", "reviewer")
        make_user(database_url, "agent1", "agent")
        yield c


def body(**changes: Any) -> dict[str, Any]:
    return {
        "id": "cg-dianzimaichang",
        "question": "政府采购电子卖场的供应商入驻申请怎么办理？",
        "variants": ["电子卖场怎么入驻", "网上商城供应商入驻"],
        "answer": "供应商在本市政府采购电子卖场网站注册并提交入驻申请，材料齐全的，审核后即可上架商品。",
        "category": "政府采购",
        "sources": [{"doc_id": "政府采购法-2014", "article": "第二十六条"}],
        **changes,
    }


def counts(url: str) -> tuple[int, int]:
    with get_database(url).session() as db:
        items = db.scalar(select(func.count()).select_from(FaqItem))
        versions = db.scalar(select(func.count()).select_from(FaqVersion))
    return int(items or 0), int(versions or 0)


def test_draft_review_publish_restore_retire(client: TestClient, database_url: str) -> None:
    editor, ecsrf = sign_in(client, "editor1")
    reviewer, rcsrf = sign_in(client, "reviewer1")

    created = editor.post(FAQ, json=body(), headers=ecsrf)
    assert created.status_code == 201, created.text
    v1 = created.json()["version"]
    assert (v1["number"], v1["state"], v1["author"]) == (1, "draft", "editor1")
    # Drafts are not reviewed before they are submitted; only reviewers review.
    assert reviewer.post(f"{FAQ}/versions/{v1['id']}/approve", headers=rcsrf).status_code == 409
    refused = editor.post(f"{FAQ}/versions/{v1['id']}/approve", headers=ecsrf)
    assert refused.status_code == 403 and "审核员" in refused.json()["detail"]
    assert editor.post(f"{FAQ}/versions/{v1['id']}/submit", headers=ecsrf).json()["state"] == (
        "in_review"
    )
    # Under review the draft cannot change underneath the reviewer.
    busy = editor.put(f"{FAQ}/cg-dianzimaichang", json=body(answer="改了"), headers=ecsrf)
    assert busy.status_code == 409 and "正在审核" in busy.json()["detail"]

    # The reviewer sees every field against the (not yet existing) published version.
    shown = reviewer.get(f"{FAQ}/versions/{v1['id']}").json()
    assert {d["field"]: d["changed"] for d in shown["diff"]}["answer"] is True
    assert all(d["published"] is None for d in shown["diff"])

    # Sent back: a comment is required and reaches the editor.
    empty = reviewer.post(f"{FAQ}/versions/{v1['id']}/return", json={"comment": " "}, headers=rcsrf)
    assert empty.status_code == 422 and "退回意见" in empty.json()["detail"]
    back = reviewer.post(
        f"{FAQ}/versions/{v1['id']}/return", json={"comment": "请写明办理时限"}, headers=rcsrf
    )
    assert back.json()["state"] == "returned"
    history = editor.get(f"{FAQ}/cg-dianzimaichang").json()
    assert history["pending"]["review_comment"] == "请写明办理时限"
    assert history["served"] is False

    answer2 = body()["answer"] + "审核时限为五个工作日。"
    v2 = editor.put(f"{FAQ}/cg-dianzimaichang", json=body(answer=answer2), headers=ecsrf).json()
    v2 = v2["version"]
    assert v2["number"] == 2
    editor.post(f"{FAQ}/versions/{v2['id']}/submit", headers=ecsrf)
    published = reviewer.post(f"{FAQ}/versions/{v2['id']}/approve", headers=rcsrf)
    assert published.status_code == 200 and published.json()["state"] == "published"
    history = editor.get(f"{FAQ}/cg-dianzimaichang").json()
    assert history["served"] and history["published"]["number"] == 2
    assert [v["state"] for v in history["versions"]] == ["published", "superseded"]

    # A change of the published pair: the diff shows what changed and what did not.
    v3 = editor.put(
        f"{FAQ}/cg-dianzimaichang",
        json=body(answer=answer2 + "（咨询电话另见网站）"),
        headers=ecsrf,
    ).json()["version"]
    editor.post(f"{FAQ}/versions/{v3['id']}/submit", headers=ecsrf)
    diff = {d["field"]: d for d in reviewer.get(f"{FAQ}/versions/{v3['id']}").json()["diff"]}
    assert diff["answer"]["changed"] and diff["answer"]["published"] == answer2
    assert not diff["question"]["changed"] and not diff["sources"]["changed"]
    reviewer.post(f"{FAQ}/versions/{v3['id']}/approve", headers=rcsrf)

    # Restoring version 2 makes a new draft with its content, reviewed again.
    v4 = editor.post(f"{FAQ}/versions/{v2['id']}/restore", headers=ecsrf).json()
    assert (v4["number"], v4["state"], v4["answer"], v4["based_on"]) == (
        4,
        "draft",
        answer2,
        v2["id"],
    )
    never = editor.post(f"{FAQ}/versions/{v1['id']}/restore", headers=ecsrf)
    assert never.status_code == 409 and "从未发布" in never.json()["detail"]
    assert editor.get(f"{FAQ}/cg-dianzimaichang").json()["published"]["number"] == 3

    # Retiring is a change like any other: requested (the unsent draft v4 is set aside), served
    # until another reviewer approves; the requester cannot approve it, a return keeps it served.
    asked = reviewer.post(f"{FAQ}/cg-dianzimaichang/retire", headers=rcsrf)
    assert asked.status_code == 201, asked.text
    request_v = asked.json()["version"]
    assert (request_v["number"], request_v["state"]) == (5, "retire_review")
    assert editor.get(f"{FAQ}/cg-dianzimaichang").json()["served"]
    assert editor.post(f"{FAQ}/cg-dianzimaichang/retire", headers=ecsrf).status_code == 409
    own = reviewer.post(f"{FAQ}/versions/{request_v['id']}/approve", headers=rcsrf)
    assert own.status_code == 403 and "自己" in own.json()["detail"]
    other, ocsrf = sign_in(client, "both")
    comment = {"comment": "该问答仍有人问，暂不下线"}
    refused = other.post(f"{FAQ}/versions/{request_v['id']}/return", json=comment, headers=ocsrf)
    assert refused.status_code == 200 and refused.json()["state"] == "retire_refused"
    assert editor.get(f"{FAQ}/cg-dianzimaichang").json()["served"]
    again = editor.post(f"{FAQ}/cg-dianzimaichang/retire", headers=ecsrf).json()["version"]
    approved = reviewer.post(f"{FAQ}/versions/{again['id']}/approve", headers=rcsrf)
    assert approved.status_code == 200 and approved.json()["state"] == "retired"
    retired = editor.get(f"{FAQ}/cg-dianzimaichang").json()
    assert retired["retired"] and not retired["served"]

    with get_database(database_url).session() as db:
        actions = [e["action"] for e in audit.entries(db, target="faq:cg-dianzimaichang")]
        revision = db.get(KnowledgeRevision, 1)
        # The first approval seeded the database with the served index's pairs (so publishing
        # one does not drop the others), then two publications and a retirement.
        assert revision is not None and revision.revision == 4
        seeded = db.scalar(select(func.count()).where(FaqVersion.author_name == "知识库导入"))
        assert seeded == 327
    assert actions[::-1] == [
        "faq_draft",
        "faq_submit",
        "faq_return",
        "faq_draft",
        "faq_submit",
        "faq_publish",
        "faq_draft",
        "faq_submit",
        "faq_publish",
        "faq_draft",
        "faq_restore",
        "faq_retire_request",
        "faq_return",
        "faq_retire_request",
        "faq_retire",
    ]


def test_an_author_cannot_approve_their_own_draft(client: TestClient, database_url: str) -> None:
    both, csrf = sign_in(client, "both")
    v = both.post(FAQ, json=body(), headers=csrf).json()["version"]
    both.post(f"{FAQ}/versions/{v['id']}/submit", headers=csrf)
    refused = both.post(f"{FAQ}/versions/{v['id']}/approve", headers=csrf)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "不能审核自己编写的问答：须由作者以外的审核员审核"
    also = both.post(f"{FAQ}/versions/{v['id']}/return", json={"comment": "自己退回"}, headers=csrf)
    assert also.status_code == 403
    assert both.get(f"{FAQ}/cg-dianzimaichang").json()["pending"]["state"] == "in_review"
    other, ocsrf = sign_in(client, "reviewer1")
    assert other.post(f"{FAQ}/versions/{v['id']}/approve", headers=ocsrf).status_code == 200
    # Roles: an agent reads nothing here, a reviewer writes no drafts.
    agent, acsrf = sign_in(client, "agent1")
    assert agent.get(FAQ).status_code == 403
    assert other.post(FAQ, json=body(id="x-2"), headers=ocsrf).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"answer": "   "}, "答案 answer", "不能为空"),
        ({"question": ""}, "标准问题 question", "不能为空"),
        ({"category": "彩票"}, "分类 category", "未知分类“彩票”"),
        ({"id": "坏 id!"}, "编号 id", "2–64"),
        (
            {"sources": [{"doc_id": "政府采购法-2014", "article": "第九百条"}]},
            "来源 sources",
            "没有“第九百条”",
        ),
        ({"sources": [{"doc_id": "没有这个文件", "article": None}]}, "来源 sources", "没有编号为"),
        ({"effective_on": "2026-05-01", "expires_on": "2026-01-01"}, "失效日期", "晚于"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    client: TestClient, database_url: str, changes: dict[str, Any], field: str, words: str
) -> None:
    editor, csrf = sign_in(client, "editor1")
    before = counts(database_url)
    refused = editor.post(FAQ, json=body(**changes), headers=csrf)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith(field) and words in refused.json()["detail"]
    assert counts(database_url) == before  # nothing stored half-way


def test_duplicate_id_and_similar_questions(client: TestClient, database_url: str) -> None:
    editor, csrf = sign_in(client, "editor1")
    assert editor.post(FAQ, json=body(), headers=csrf).status_code == 201
    before = counts(database_url)
    again = editor.post(FAQ, json=body(question="另一个问题？"), headers=csrf)
    assert again.status_code == 422
    assert (
        again.json()["detail"] == "编号 id：问答 cg-dianzimaichang 已存在，请换一个编号或修改原问答"
    )
    assert counts(database_url) == before
    # The sample's own question about supplier challenges: the matcher would answer it with
    # that pair, so the editor is told which one.
    close = editor.post(
        FAQ,
        json=body(id="cg-zhiyi-2", question="供应商对政府采购有异议，怎么提出质疑？", variants=[]),
        headers=csrf,
    )
    assert close.status_code == 201, close.text
    warnings = close.json()["warnings"]
    assert warnings and "相近" in warnings[0] and "cg-" in warnings[0], warnings


def test_pages_prefill_list_and_review(client: TestClient, database_url: str) -> None:
    editor, csrf = sign_in(client, "editor1")
    form = editor.get(
        "/admin/faq/new",
        params={
            "question": "残疾人就业保障金怎么申报？",
            "answer": "按年申报。",
            "ticket": "t-123456789",
        },
    )
    assert form.status_code == 200
    assert (
        'value="残疾人就业保障金怎么申报？"' in form.text and ">按年申报。</textarea>" in form.text
    )
    assert "来自工单 t-123456" in form.text
    bad = editor.post(
        "/admin/faq/new",
        data={
            "csrf_token": csrf["X-CSRF-Token"],
            "id": "bz-shenbao",
            "question": "残疾人就业保障金怎么申报？",
            "answer": "",
            "category": "税收",
        },
    )
    assert bad.status_code == 422 and "答案 answer：不能为空" in bad.text
    assert 'value="残疾人就业保障金怎么申报？"' in bad.text  # what was typed is kept
    made = editor.post(
        "/admin/faq/new",
        data={
            "csrf_token": csrf["X-CSRF-Token"],
            "id": "bz-shenbao",
            "question": "残疾人就业保障金怎么申报？",
            "answer": "按年申报。",
            "category": "税收",
            "ticket": "t-123456789",
            "sources": "政府采购法-2014 第二十六条",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/admin/faq/bz-shenbao"
    listing = editor.get("/admin/faq", params={"q": "保障金"})
    assert "bz-shenbao" in listing.text and "草稿" in listing.text
    version = editor.get(f"{FAQ}/bz-shenbao").json()["pending"]
    assert version["ticket_id"] == "t-123456789"
    assert version["sources"] == [{"doc_id": "政府采购法-2014", "article": "第二十六条"}]
