"""Document management through HTTP on SQLite and PostgreSQL: a policy (.docx) and its
interpretation (.md) uploaded and published together in one review by another person, then
answered by /api/v1/ask with the citation; the author cannot approve (403); a repealed document
flags its FAQ pairs and the answer states its validity; withholding removes the document from
the index at once; every bad upload is refused in Chinese and stores and indexes nothing.

Each serving process's reload thread runs ``Refresher.check`` and loads the new version; these
tests call the same two steps (``publish_to_index``). Served processes: test_documents_served.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from indexer.store import current_version, load_index, version_names
from service.answering import Answerer
from service.db.engine import get_database
from service.db.models import AuditEntry, DocItem, DocReview, DocVersion, FaqItem
from service.engine import load_answerer
from service.faqs.refresh import Refresher
from service.faqs.source import import_entries
from tests.conftest import ask
from tests.desk_helpers import desk_app, make_user, sign_in
from tests.document_files import (
    INTERPRETATION_ID,
    INTERPRETATION_MARKER,
    POLICY_ID,
    POLICY_NO,
    QUESTION,
    interpretation_form,
    interpretation_md,
    policy_docx,
    policy_form,
)

DOCS = "/api/v1/staff/documents"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
UPLOAD_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


@pytest.fixture
def app(
    answerer: Answerer, sample_index: Path, database_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, Path]]:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)  # withholding and publication write new versions
    with desk_app(answerer, index, database_url, document_upload_max_bytes=UPLOAD_LIMIT) as c:
        make_user(database_url, "editor1", "editor")
        make_user(database_url, "reviewer1", "reviewer")
        make_user(database_url, "both", "editor", "reviewer")
        yield c, index


def publish_to_index(client: TestClient, index: Path, url: str) -> None:
    """What the reload thread of every serving process does after a publication."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert Refresher(index, get_database(url)).check(engine.answerer)
    version = current_version(index)
    assert version is not None and engine.serve_version(version)


def upload(
    session: TestClient, csrf: dict[str, str], name: str, data: bytes, form: dict[str, str]
) -> Any:
    media = DOCX if name.endswith(".docx") else "application/octet-stream"
    return session.post(
        f"{DOCS}/upload", files={"file": (name, data, media)}, data=form, headers=csrf
    )


def counts(url: str) -> tuple[int, int, int]:
    with get_database(url).session() as db:
        return tuple(  # type: ignore[return-value]
            int(db.scalar(select(func.count()).select_from(t)) or 0)
            for t in (DocItem, DocVersion, DocReview)
        )


def actions(url: str) -> list[str]:
    with get_database(url).session() as db:
        return [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_policy_and_interpretation_published_together_and_answered(
    app: tuple[TestClient, Path], database_url: str
) -> None:
    client, index = app
    author, acsrf = sign_in(client, "both")  # editor and reviewer: still never of their own
    reviewer, rcsrf = sign_in(client, "reviewer1")
    assert QUESTION and POLICY_NO not in str(ask(client, QUESTION))

    data = policy_docx()
    made = upload(author, acsrf, "新能源汽车补贴通知.docx", data, policy_form())
    assert made.status_code == 201, made.text
    policy = made.json()["version"]
    assert (policy["doc_id"], policy["state"], policy["doc_no"]) == (POLICY_ID, "draft", POLICY_NO)
    assert policy["file_type"] == ".docx" and not policy["metadata_only"]
    made = upload(author, acsrf, "解读.md", interpretation_md(), interpretation_form())
    assert made.status_code == 201, made.text
    interpretation = made.json()["version"]
    assert interpretation["kind"] == "interpretation"

    text = author.get(f"{DOCS}/versions/{policy['id']}").json()["text"]
    assert "九十日内" in text  # extracted by indexer/readers.py from the .docx

    submitted = author.post(
        f"{DOCS}/reviews", json={"version_ids": [policy["id"], interpretation["id"]]}, headers=acsrf
    )
    assert submitted.status_code == 201, submitted.text
    review = submitted.json()
    assert review["state"] == "in_review" and len(review["items"]) == 2
    assert {i["version"]["state"] for i in review["items"]} == {"in_review"}

    own = author.post(f"{DOCS}/reviews/{review['id']}/approve", headers=acsrf)
    assert own.status_code == 403 and "作者以外" in own.json()["detail"]

    seen = reviewer.get(f"{DOCS}/reviews/{review['id']}").json()
    diff = {row["field"]: row for row in seen["items"][0]["diff"]}
    assert diff["doc_no"]["proposed"] == POLICY_NO and diff["doc_no"]["published"] is None
    assert diff["disclosure"]["changed"] and diff["file"]["proposed"] == "新能源汽车补贴通知.docx"
    # The policy's dependents: the interpretation draft in the same review.
    deps = seen["items"][0]["dependents"]
    assert [d["doc_id"] for d in deps["interpretations"]] == [INTERPRETATION_ID]

    approved = reviewer.post(f"{DOCS}/reviews/{review['id']}/approve", headers=rcsrf)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "published"
    assert {i["version"]["state"] for i in approved.json()["items"]} == {"published"}
    assert reviewer.post(f"{DOCS}/reviews/{review['id']}/approve", headers=rcsrf).status_code == 409

    before = client.app.state.engine.answerer.index.version  # type: ignore[attr-defined]
    publish_to_index(client, index, database_url)
    served = client.app.state.engine.answerer.index  # type: ignore[attr-defined]
    assert served.version != before
    assert served.manifest["documents_source"]["digest"]
    assert served.documents[POLICY_ID].path == f"数据库:{POLICY_ID}"

    answer = ask(client, QUESTION)
    assert answer["type"] == "passage", answer
    cited = {s["doc_id"]: s for s in answer["sources"]}
    assert POLICY_ID in cited or INTERPRETATION_ID in cited, answer
    policy_source = cited.get(POLICY_ID) or cited[INTERPRETATION_ID]
    assert policy_source["status"] == "现行有效"
    if POLICY_ID in cited:
        assert cited[POLICY_ID]["doc_no"] == POLICY_NO
    assert "九十日" in answer["answer"] or INTERPRETATION_MARKER in answer["answer"]

    doc = reviewer.get(f"{DOCS}/{POLICY_ID}").json()
    assert doc["published"]["number"] == 1 and doc["text_from"] == "database" and doc["served"]
    assert [d["doc_id"] for d in doc["dependents"]["interpretations"]] == [INTERPRETATION_ID]
    file = reviewer.get(f"{DOCS}/versions/{policy['id']}/file")
    assert file.status_code == 200 and file.content == data
    assert file.headers["content-type"] == DOCX and len(data) == policy["file_size"]

    listed = reviewer.get(DOCS, params={"q": "新能源"}).json()["items"]
    assert {d["id"] for d in listed} == {POLICY_ID, INTERPRETATION_ID}
    assert [a for a in actions(database_url) if a.startswith("doc_")] == [
        "doc_draft",
        "doc_draft",
        "doc_submit",
        "doc_publish",
    ]


def test_return_with_comment_then_metadata_change(
    app: tuple[TestClient, Path], database_url: str
) -> None:
    client, _index = app
    editor, ecsrf = sign_in(client, "editor1")
    reviewer, rcsrf = sign_in(client, "reviewer1")
    made = upload(editor, ecsrf, "通知.docx", policy_docx(), policy_form())
    version = made.json()["version"]
    review = editor.post(f"{DOCS}/reviews", json={"version_ids": [version["id"]]}, headers=ecsrf)
    rid = review.json()["id"]
    busy = editor.put(f"{DOCS}/{POLICY_ID}", json={"title": "改"}, headers=ecsrf)
    assert busy.status_code == 409 and "正在审核" in busy.json()["detail"]
    empty = reviewer.post(f"{DOCS}/reviews/{rid}/return", json={"comment": " "}, headers=rcsrf)
    assert empty.status_code == 422 and "退回意见" in empty.json()["detail"]
    back = reviewer.post(
        f"{DOCS}/reviews/{rid}/return", json={"comment": "发文字号有误"}, headers=rcsrf
    )
    assert back.status_code == 200 and back.json()["state"] == "returned"
    assert back.json()["comment"] == "发文字号有误"
    # A metadata-only change of the returned draft keeps its file.
    changed = editor.put(f"{DOCS}/{POLICY_ID}", json={"doc_no": "泰财〔2026〕9号"}, headers=ecsrf)
    assert changed.status_code == 200, changed.text
    v2 = changed.json()["version"]
    assert v2["number"] == 2 and v2["metadata_only"] and v2["doc_no"] == "泰财〔2026〕9号"
    assert v2["title"] == version["title"]  # the other fields are kept
    file = editor.get(f"{DOCS}/versions/{v2['id']}/file")
    assert file.status_code == 200 and len(file.content) == version["file_size"]
    history = editor.get(f"{DOCS}/{POLICY_ID}").json()
    assert [v["state"] for v in history["versions"]] == ["draft", "superseded"]


def _faq_citing(answerer: Answerer) -> tuple[str, str, str]:
    """A folder document cited by an FAQ pair whose question the passages answer from it."""
    for entry in sorted(answerer.index.faqs.values(), key=lambda e: e.id):
        for source in entry.sources:
            meta = answerer.metas.get(source.doc_id)
            if meta is not None and meta.kind.value == "policy" and meta.is_current:
                return source.doc_id, entry.id, entry.question
    raise AssertionError("the sample FAQ cite no current policy")


def test_repealed_document_flags_its_faq_pairs(
    app: tuple[TestClient, Path], database_url: str, answerer: Answerer
) -> None:
    client, index = app
    with get_database(database_url).session() as db:  # the sample FAQ, as `policyqa faq import`
        import_entries(db, list(answerer.index.faqs.values()))
    doc_id, faq_id, question = _faq_citing(answerer)
    editor, ecsrf = sign_in(client, "editor1")
    reviewer, rcsrf = sign_in(client, "reviewer1")

    unknown = editor.post(
        f"{DOCS}/{doc_id}/status",
        json={"status": "已废止", "superseded_by": "没有这个"},
        headers=ecsrf,
    )
    assert unknown.status_code == 422 and "替代文件" in unknown.json()["detail"]
    marked = editor.post(f"{DOCS}/{doc_id}/status", json={"status": "已废止"}, headers=ecsrf)
    assert marked.status_code == 200, marked.text
    version, dependents = marked.json()["version"], marked.json()["dependents"]
    assert version["status"] == "已废止" and version["metadata_only"]
    assert faq_id in {f["faq_id"] for f in dependents["faqs"]}
    rid = editor.post(
        f"{DOCS}/reviews", json={"version_ids": [version["id"]]}, headers=ecsrf
    ).json()["id"]
    diff = {r["field"]: r for r in reviewer.get(f"{DOCS}/reviews/{rid}").json()["items"][0]["diff"]}
    assert (diff["status"]["published"], diff["status"]["proposed"]) == ("现行有效", "已废止")
    assert not diff["file"]["changed"]
    assert reviewer.post(f"{DOCS}/reviews/{rid}/approve", headers=rcsrf).status_code == 200

    publish_to_index(client, index, database_url)
    served = client.app.state.engine.answerer  # type: ignore[attr-defined]
    assert served.metas[doc_id].status.value == "已废止"
    assert faq_id not in served.index.faqs  # flagged: not served
    with get_database(database_url).session() as db:
        flag = db.get(FaqItem, faq_id).flag  # type: ignore[union-attr]
    assert flag and "已废止" in flag
    faq_answer = answerer.index.faqs[faq_id].answer.strip()
    assert faq_answer not in ask(client, question)["answer"]  # the flagged pair is not served
    # A question on the repealed document's text: the passage answer says its validity.
    chunks = [c for c in served.index.chunks if c.doc_id == doc_id]
    sentence = chunks[len(chunks) // 2].text.split("。")[0][:80]
    answer = ask(client, sentence)
    assert answer["type"] == "passage", answer
    sources = {s["doc_id"]: s for s in answer["sources"]}
    assert sources[doc_id]["status"] == "已废止", answer
    assert "已废止" in answer["answer"], answer


def _withholdable(client: TestClient, answerer: Answerer) -> tuple[str, str]:
    """A public document whose title and id no other text of the index holds, that the answer
    to its title cites."""
    texts: dict[str, list[str]] = {}
    for chunk in answerer.index.chunks:
        texts.setdefault(chunk.doc_id, []).append(chunk.text)
    faq_texts = [f.answer + "".join(f.questions) for f in answerer.index.faqs.values()]
    for doc_id, meta in sorted(answerer.metas.items()):
        if meta.disclosure.value != "主动公开":
            continue
        others = ["".join(t) for d, t in texts.items() if d != doc_id] + faq_texts
        if any(meta.title in t or doc_id in t for t in others):
            continue
        answer = ask(client, meta.title)
        if doc_id in {s["doc_id"] for s in answer["sources"]}:
            return doc_id, meta.title
    raise AssertionError("no document to withhold")


def test_withholding_removes_the_document_at_once(
    app: tuple[TestClient, Path], database_url: str, answerer: Answerer
) -> None:
    client, index = app
    editor, ecsrf = sign_in(client, "editor1")
    doc_id, title = _withholdable(client, answerer)
    question = title
    assert any(doc_id in load_index(index, version=v).documents for v in version_names(index))

    no_reason = editor.post(f"{DOCS}/{doc_id}/withhold", json={"reason": ""}, headers=ecsrf)
    assert no_reason.status_code == 422 and "原因" in no_reason.json()["detail"]
    by_change = editor.put(f"{DOCS}/{doc_id}", json={"disclosure": "不予公开"}, headers=ecsrf)
    assert by_change.status_code == 422 and "不予公开" in by_change.json()["detail"]

    done = editor.post(
        f"{DOCS}/{doc_id}/withhold", json={"reason": "经保密审查涉及敏感信息"}, headers=ecsrf
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["version"]["disclosure"] == "不予公开" and body["version"]["state"] == "published"
    # Returned only once the current version no longer holds it, and no other version does.
    assert current_version(index) == body["index_version"]
    assert version_names(index) == [body["index_version"]]
    assert body["removed_versions"]
    served = client.app.state.engine.answerer  # type: ignore[attr-defined]
    assert served.index.version == body["index_version"] and doc_id not in served.metas
    for path in index.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert title.encode() not in data and doc_id.encode() not in data, path
    answer = ask(client, question)
    assert doc_id not in {s["doc_id"] for s in answer["sources"]}
    assert title not in answer["answer"]
    assert actions(database_url)[-1] == "doc_withhold"
    with get_database(database_url).session() as db:
        entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.detail is not None
        assert entry.detail["reason"] == "经保密审查涉及敏感信息"
    again = editor.post(f"{DOCS}/{doc_id}/withhold", json={"reason": "再次"}, headers=ecsrf)
    assert again.status_code in (404, 409)


def _fake_docx() -> bytes:
    return b"PK\x03\x04 this is not a zip archive"


BAD_UPLOADS = [
    # Over the limit, but the request within the body limit of the path: the route refuses it.
    ("大文件.md", b"# t\n\n" + "正".encode() * ((UPLOAD_LIMIT + 3000) // 3), {}, 413, "超过上限"),
    ("伪装.docx", _fake_docx(), {}, 415, "伪装.docx"),
    ("伪装.pdf", b"<html>not a pdf</html>", {}, 415, "%PDF-"),
    ("二进制.txt", b"abc\x00\x01\x02def", {}, 415, "二进制.txt"),
    ("乱码.md", b"abc\xff\x80def", {}, 415, "乱码.md"),
    ("旧版.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", {}, 415, "不受支持"),
    ("空白.md", "---\ntitle: 空\n---\n\n   \n".encode(), {}, 422, "空白.md"),
    ("通知.md", b"# t\n\nbody", {"disclosure": ""}, 422, "公开属性"),
    ("通知.md", b"# t\n\nbody", {"disclosure": "内部"}, 422, "公开属性"),
    ("通知.md", b"# t\n\nbody", {"issued_on": "2026-02-30"}, 422, "发布日期 issued_on"),
    ("通知.md", b"# t\n\nbody", {"interprets": "不存在的文件"}, 422, "不存在的文件"),
    ("通知.md", b"# t\n\nbody", {"superseded_by": "不存在的文件"}, 422, "替代文件"),
    ("通知.md", b"# t\n\nbody", {"status": "作废"}, 422, "效力状态"),
    ("通知.md", b"# t\n\nbody", {"id": "a/b"}, 422, "文档编号"),
    ("通知.md", b"# t\n\nbody", {"kind": "interpretation"}, 422, "所解读的文件"),
]


@pytest.mark.parametrize(("name", "data", "changes", "status", "says"), BAD_UPLOADS)
def test_bad_uploads_store_and_index_nothing(
    app: tuple[TestClient, Path],
    database_url: str,
    name: str,
    data: bytes,
    changes: dict[str, str],
    status: int,
    says: str,
) -> None:
    client, index = app
    editor, ecsrf = sign_in(client, "editor1")
    before = current_version(index)
    form = {"disclosure": "主动公开", **changes}
    refused = upload(editor, ecsrf, name, data, form)
    assert refused.status_code == status, refused.text
    detail = refused.json()["detail"]
    assert says in detail and any("\u4e00" <= c <= "\u9fff" for c in detail), detail
    assert counts(database_url) == (0, 0, 0)
    assert not [a for a in actions(database_url) if a.startswith("doc_")]
    assert current_version(index) == before and len(version_names(index)) >= 1


def test_body_over_the_limit_is_refused_before_it_is_read(app: tuple[TestClient, Path]) -> None:
    client, _index = app
    editor, ecsrf = sign_in(client, "editor1")
    huge = b"x" * (UPLOAD_LIMIT + 128 * 1024)
    refused = upload(editor, ecsrf, "巨大.txt", huge, {"disclosure": "主动公开"})
    assert refused.status_code == 413 and "上传的文件过大" in refused.json()["detail"]


def test_roles_and_duplicates(app: tuple[TestClient, Path], database_url: str) -> None:
    client, _index = app
    editor, ecsrf = sign_in(client, "editor1")
    reviewer, rcsrf = sign_in(client, "reviewer1")
    denied = upload(reviewer, rcsrf, "通知.docx", policy_docx(), policy_form())
    assert denied.status_code == 403 and "权限" in denied.json()["detail"]
    assert upload(editor, ecsrf, "通知.docx", policy_docx(), policy_form()).status_code == 201
    again = upload(editor, ecsrf, "通知.docx", policy_docx(), policy_form())
    assert again.status_code == 422 and "已存在" in again.json()["detail"]
    folder = upload(editor, ecsrf, "通知.docx", policy_docx(), policy_form(id="政府采购法-2014"))
    assert folder.status_code == 422 and "已存在" in folder.json()["detail"]
    assert counts(database_url) == (1, 1, 0)
    no_csrf = editor.post(f"{DOCS}/reviews", json={"version_ids": [1]})
    assert no_csrf.status_code in (401, 403)
    assert client.get(DOCS).status_code == 401


def test_dependents_before_the_database_holds_any_faq(
    app: tuple[TestClient, Path], database_url: str, answerer: Answerer
) -> None:
    """A database that never saw `policyqa index` holds no FAQ: a document's page still lists
    the pairs the index serves on it, and reading it stores nothing."""
    client, _index = app
    doc_id, faq_id, question = _faq_citing(answerer)
    editor, _ = sign_in(client, "editor1")
    page = editor.get(f"{DOCS}/{doc_id}")
    assert page.status_code == 200, page.text
    listed = {f["faq_id"]: f for f in page.json()["dependents"]["faqs"]}
    assert faq_id in listed and listed[faq_id]["question"] == question
    citing = {e.id for e in answerer.index.faqs.values() if doc_id in {s.doc_id for s in e.sources}}
    assert set(listed) == citing
    with get_database(database_url).session() as db:
        assert db.scalar(select(func.count()).select_from(FaqItem)) == 0
