"""The document pages through their form posts (TestClient, SQLite and PostgreSQL): the upload form refuses a
missing disclosure and a file that is not what its extension says with the Chinese message next
to the field, keeps what was typed and stores nothing; a policy and its interpretation uploaded
in one form become one review, which another person approves from the review page; the status
change shows the dependents; withholding needs a reason. (The real browser and /ask:
tests/test_document_browser.py.)"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import upgrade
from service.db.models import DocItem, DocReview, DocVersion
from service.staff import audit
from tests.desk_helpers import make_user, sign_in

POLICY_MD = """# 泰州市财政局关于政府采购电子卖场供应商入驻的通知

泰财购〔2026〕9号

第一条 供应商在电子卖场网站注册并提交入驻申请。
第二条 入驻申请提交后五个工作日内完成审核。
"""
INTERPRETATION_MD = """# 《关于政府采购电子卖场供应商入驻的通知》政策解读

一、为什么出台：方便中小企业参与政府采购。
二、主要内容：网上申请，五个工作日内审核。
"""


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    url = database_url  # a fresh SQLite file, then a fresh PostgreSQL database
    upgrade(get_database(url))
    make_user(url, "editor1", "editor")
    make_user(url, "reviewer1", "reviewer")
    app = create_app(Settings(index_dir=tmp_path / "no-index", database_url=url))
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def counts(client: TestClient) -> tuple[int, int, int]:
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as db:
        return tuple(  # type: ignore[return-value]
            int(db.scalar(select(func.count()).select_from(table)) or 0)
            for table in (DocItem, DocVersion, DocReview)
        )


# What a browser sends for the untouched parts of the upload form: every select has a value.
UNTOUCHED = {
    "status": "现行有效",
    "kind": "policy",
    "interprets": "",
    "superseded_by": "",
    "interp_status": "现行有效",
    "interp_disclosure": "",
    "interp_title": "",
    "interp_id": "",
}


def form(csrf: dict[str, str], **fields: str) -> dict[str, str]:
    base = {
        **UNTOUCHED,
        "csrf_token": csrf["X-CSRF-Token"],
        "id": "cg-maichang-2026",
        "title": "泰州市财政局关于政府采购电子卖场供应商入驻的通知",
        "doc_no": "泰财购〔2026〕9号",
        "issuer": "泰州市财政局",
        "issued_on": "2026-03-01",
        "disclosure": "主动公开",
        "submit_now": "on",
    }
    return {**base, **fields}


def field_error(html: str, name: str) -> str:
    """The error shown right below the form field ``name``."""
    found = re.search(rf'<p class="error field-error" id="{name}-error">([^<]*)</p>', html)
    assert found, f"no error next to {name}"
    return found.group(1)


def test_missing_disclosure_is_refused_next_to_the_field(client: TestClient) -> None:
    editor, csrf = sign_in(client, "editor1")
    assert "公开属性（必填）" in editor.get("/admin/documents/new").text
    refused = editor.post(
        "/admin/documents/upload",
        data=form(csrf, disclosure=""),
        files={"file": ("通知.md", POLICY_MD.encode(), "text/markdown")},
    )
    assert refused.status_code == 422
    assert "公开属性 disclosure：必须填写" in field_error(refused.text, "disclosure")
    assert 'aria-describedby="disclosure-error"' in refused.text
    assert 'value="泰财购〔2026〕9号"' in refused.text  # what was typed is kept
    assert 'value="cg-maichang-2026"' in refused.text
    assert counts(client) == (0, 0, 0)


def test_a_file_that_is_not_what_its_extension_says_is_refused(client: TestClient) -> None:
    editor, csrf = sign_in(client, "editor1")
    fake = editor.post(
        "/admin/documents/upload",
        data=form(csrf),
        files={"file": ("通知.pdf", POLICY_MD.encode(), "application/pdf")},
    )
    assert fake.status_code == 415
    assert "文件“通知.pdf”不是有效的 PDF 文件" in field_error(fake.text, "file")
    wrong_type = editor.post(
        "/admin/documents/upload",
        data=form(csrf),
        files={"file": ("通知.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert wrong_type.status_code == 415 and "不受支持" in field_error(wrong_type.text, "file")
    # a good policy with a broken interpretation: nothing of either is stored
    broken = editor.post(
        "/admin/documents/upload",
        data=form(csrf, interp_title="政策解读", interp_disclosure="主动公开"),
        files={
            "file": ("通知.md", POLICY_MD.encode(), "text/markdown"),
            "interp_file": ("解读.docx", b"PK\x03\x04 not a zip", "application/octet-stream"),
        },
    )
    assert broken.status_code == 415
    assert "不是有效的 Word（.docx）文件" in field_error(broken.text, "interp_file")
    assert 'value="政策解读"' in broken.text
    no_file = editor.post("/admin/documents/upload", data=form(csrf))
    assert no_file.status_code == 422 and "请选择" in field_error(no_file.text, "file")
    assert counts(client) == (0, 0, 0)
    assert client.get("/admin/documents/new", follow_redirects=False).status_code == 303


def test_policy_and_interpretation_in_one_review_approved_by_another(client: TestClient) -> None:
    editor, csrf = sign_in(client, "editor1")
    policy_docx = docx_bytes(*POLICY_MD.splitlines())
    made = editor.post(
        "/admin/documents/upload",
        data=form(
            csrf,
            interp_id="jd-maichang-2026",
            interp_title="《关于政府采购电子卖场供应商入驻的通知》政策解读",
            interp_disclosure="主动公开",
        ),
        files={
            "file": ("通知.docx", policy_docx, "application/msword"),
            "interp_file": ("解读.md", INTERPRETATION_MD.encode(), "text/markdown"),
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/admin/documents/cg-maichang-2026"
    assert counts(client) == (2, 2, 1)
    page = editor.get("/admin/documents/cg-maichang-2026").text
    assert "第 1 版（待审核）" in page and "泰财购〔2026〕9号" in page
    assert "jd-maichang-2026" in page  # the interpretation depends on it
    listing = editor.get("/admin/documents", params={"q": "泰财购〔2026〕9号"}).text
    assert "cg-maichang-2026" in listing and "jd-maichang-2026" not in listing.split("全部文件")[1]
    review_link = re.search(r'href="/admin/documents/reviews/(\d+)"', listing)
    assert review_link
    review = f"/admin/documents/reviews/{review_link.group(1)}"
    shown = editor.get(review).text
    assert "（待审核）" in shown and "审核通过并发布" not in shown  # not for an editor
    assert "入驻申请提交后五个工作日内完成审核" in shown  # the start of the text
    assert "五个工作日内审核" in shown  # and of the interpretation's
    refused = editor.post(f"{review}/approve", data={"csrf_token": csrf["X-CSRF-Token"]})
    assert refused.status_code == 403  # an editor is no reviewer

    reviewer, rcsrf = sign_in(client, "reviewer1")
    shown = reviewer.get(review).text
    assert "发文字号（有变化）" in shown and "审核通过并发布" in shown
    approved = reviewer.post(
        f"{review}/approve", data={"csrf_token": rcsrf["X-CSRF-Token"]}, follow_redirects=False
    )
    assert approved.status_code == 303
    after = reviewer.get(review).text
    assert "（已发布）" in after and "审核人：reviewer1" in after
    page = reviewer.get("/admin/documents/cg-maichang-2026").text
    assert "已发布第 1 版" in page
    download = re.search(
        r'<a href="(/api/v1/staff/documents/versions/\d+/file)">通知.docx</a>', page
    )
    assert download, "no download link of the uploaded file"
    assert reviewer.get(download.group(1)).content == policy_docx
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as db:
        actions = [e["action"] for e in audit.entries(db, limit=20)]
    assert actions.count("doc_draft") == 2 and "doc_submit" in actions
    assert "doc_publish" in actions


def upload_policy(editor: TestClient, csrf: dict[str, str], **fields: Any) -> None:
    """The upload form with the policy alone, as a browser posts it."""
    made = editor.post(
        "/admin/documents/upload",
        data=form(csrf, **fields),
        files={"file": ("通知.md", POLICY_MD.encode(), "text/markdown")},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text


def test_status_change_shows_dependents_and_withholding_needs_a_reason(
    client: TestClient,
) -> None:
    editor, csrf = sign_in(client, "editor1")
    upload_policy(editor, csrf)
    reviewer, rcsrf = sign_in(client, "reviewer1")
    listing = reviewer.get("/admin/documents").text
    review = re.search(r'href="(/admin/documents/reviews/\d+)"', listing)
    assert review
    reviewer.post(f"{review.group(1)}/approve", data={"csrf_token": rcsrf["X-CSRF-Token"]})
    upload_policy(
        editor,
        csrf,
        id="jd-maichang",
        title="政策解读",
        kind="interpretation",
        interprets="cg-maichang-2026",
        submit_now="",
    )
    page = editor.get("/admin/documents/cg-maichang-2026").text
    status_form = page[page.index("变更效力") :]
    assert "受影响的内容" in status_form and "解读 政策解读" in status_form
    bad = editor.post(
        "/admin/documents/cg-maichang-2026/status",
        data={"csrf_token": csrf["X-CSRF-Token"], "status": "已作废"},
    )
    assert bad.status_code == 422 and "效力状态 status" in bad.text
    before = counts(client)
    marked = editor.post(
        "/admin/documents/cg-maichang-2026/status",
        data={"csrf_token": csrf["X-CSRF-Token"], "status": "已废止", "submit_now": "on"},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    assert counts(client) == (before[0], before[1] + 1, before[2] + 1)
    page = editor.get("/admin/documents/cg-maichang-2026").text
    assert "第 2 版（待审核）" in page

    confirm = editor.get("/admin/documents/cg-maichang-2026/withhold").text
    assert "确认设为不予公开" in confirm and "理由（必填）" in confirm
    assert "解读" in confirm  # its dependents are named before confirming
    no_reason = editor.post(
        "/admin/documents/cg-maichang-2026/withhold",
        data={"csrf_token": csrf["X-CSRF-Token"], "reason": "  "},
    )
    assert no_reason.status_code == 422
    assert "不予公开的原因 reason：须写明原因" in field_error(no_reason.text, "reason")
    # No index is loaded here: the withholding cannot rebuild it, and says so (503).
    refused = editor.post(
        "/admin/documents/cg-maichang-2026/withhold",
        data={"csrf_token": csrf["X-CSRF-Token"], "reason": "涉及国家秘密"},
    )
    assert refused.status_code == 503 and "索引尚未加载" in refused.text
    assert counts(client)[1] == before[1] + 1


def review_link(client: TestClient) -> str:
    found = re.search(r'href="(/admin/documents/reviews/\d+)"', client.get("/admin/documents").text)
    assert found, "no open review listed"
    return found.group(1)


def test_returned_review_is_changed_and_submitted_again(client: TestClient) -> None:
    editor, csrf = sign_in(client, "editor1")
    token = {"csrf_token": csrf["X-CSRF-Token"]}
    upload_policy(editor, csrf, doc_no="泰财购〔2026〕99号")
    reviewer, rcsrf = sign_in(client, "reviewer1")
    review = review_link(reviewer)
    no_comment = reviewer.post(f"{review}/return", data={"csrf_token": rcsrf["X-CSRF-Token"]})
    assert no_comment.status_code == 422 and "退回意见 comment：须写明原因" in no_comment.text
    returned = reviewer.post(
        f"{review}/return",
        data={"csrf_token": rcsrf["X-CSRF-Token"], "comment": "发文字号有误，应为9号"},
        follow_redirects=False,
    )
    assert returned.status_code == 303
    shown = editor.get(review).text
    assert "审核意见：发文字号有误，应为9号" in shown and "重新提交审核" in shown

    edit = editor.get("/admin/documents/cg-maichang-2026/edit").text
    assert 'value="泰财购〔2026〕99号"' in edit  # pre-filled from the returned draft
    assert 'name="replace_id" value="cg-maichang-2026"' in edit
    before = counts(client)
    changed = {**form(csrf), "replace_id": "cg-maichang-2026", "doc_no": "泰财购〔2026〕9号"}
    bad = editor.post("/admin/documents/upload", data={**changed, "issued_on": "2026-13-01"})
    assert bad.status_code == 422
    assert "不是日期" in field_error(bad.text, "issued_on")
    assert 'value="2026-13-01"' in bad.text and "<h1>修改文件：" in bad.text
    fake = editor.post(
        "/admin/documents/upload",
        data=changed,
        files={"file": ("新版.docx", b"not a zip", "application/octet-stream")},
    )
    assert fake.status_code == 415 and "Word" in field_error(fake.text, "file")
    assert counts(client) == before  # nothing stored
    saved = editor.post(
        "/admin/documents/upload", data={**changed, "submit_now": ""}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/documents/cg-maichang-2026"
    again = editor.post(f"{review}/resubmit", data=token, follow_redirects=False)
    assert again.status_code == 303
    new_review = again.headers["location"]
    assert new_review != review
    diff = reviewer.get(new_review).text
    assert "（待审核）" in diff and "泰财购〔2026〕9号" in diff and "第 2 版" in diff
    twice = editor.post(f"{review}/resubmit", data=token)
    assert twice.status_code == 409 and "没有待提交的草稿" in twice.text


def test_an_oversized_upload_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'limit.sqlite'}"
    upgrade(get_database(url))
    make_user(url, "editor1", "editor")
    settings = Settings(
        index_dir=tmp_path / "no-index", database_url=url, document_upload_max_bytes=8192
    )
    with TestClient(create_app(settings), base_url="https://testserver") as app_client:
        editor, csrf = sign_in(app_client, "editor1")
        big = POLICY_MD.encode() + "第三条 补充说明。\n".encode() * 600  # ≈ 16 KB
        refused = editor.post(
            "/admin/documents/upload",
            data=form(csrf),
            files={"file": ("通知.md", big, "text/markdown")},
        )
        assert refused.status_code == 413  # read (the request is within limit + 64 KB)
        assert "超过上限 8.0 KB" in field_error(refused.text, "file")
        huge = big * 6  # ≈ 100 KB: the request itself is over the limit, refused unread
        unread = editor.post(
            "/admin/documents/upload",
            data=form(csrf),
            files={"file": ("通知.md", huge, "text/markdown")},
        )
        assert unread.status_code == 413 and "上传的文件过大" in unread.json()["detail"]
        assert counts(app_client) == (0, 0, 0)
