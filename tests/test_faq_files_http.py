"""FAQ files through HTTP on SQLite and PostgreSQL: an Excel upload with a bad row is refused
whole (row, column, reason; nothing stored) unless the editor imports the good rows, which
become drafts; oversized files and files that are not what their extension says are refused in
Chinese; the export of the database, imported again into another database, gives the same
knowledge as the folder it was seeded from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from indexer.faq_files import parse_faq_upload
from indexer.faq_tables import TABLE_COLUMNS, write_xlsx
from indexer.knowledge import load_knowledge
from indexer.models import FaqEntry
from service.answering import Answerer
from service.db.engine import get_database
from service.engine import load_answerer
from service.faqs.source import entries_for_export, import_entries
from tests.conftest import KNOWLEDGE, run_cli
from tests.desk_helpers import desk_app, make_user, sign_in
from tests.test_faq_curation import counts

IMPORT = "/api/v1/staff/faq-files/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


@pytest.fixture
def client(answerer: Answerer, sample_index: Path, database_url: str) -> Any:
    with desk_app(answerer, sample_index, database_url, faq_upload_max_bytes=20_000) as c:
        make_user(database_url, "editor1", "editor")
        make_user(database_url, "reviewer1", "reviewer")
        yield c


def row(entry_id: str, question: str, answer: str, category: str = "政府采购") -> list[str]:
    values = {"id": entry_id, "question": question, "answer": answer, "category": category}
    values |= {"source_doc_id": "政府采购法-2014", "source_article": "第二十六条"}
    return [values.get(c, "") for c in TABLE_COLUMNS]


def workbook() -> bytes:
    return write_xlsx(
        [
            list(TABLE_COLUMNS),
            row("cg-a", "电子卖场入驻需要什么材料？", "营业执照和授权书。"),
            row("cg-b", "电子卖场的商品怎么下架？", ""),  # row 3: no answer
            row("cg-c", "电子卖场订单多久确认？", "三个工作日内确认。", category="彩票"),  # row 4
            row("cg-d", "电子卖场能开发票吗？", "可以，由供应商开具。"),
        ]
    )


def upload(client: TestClient, csrf: dict[str, str], data: bytes, name: str, **form: str) -> Any:
    return client.post(IMPORT, files={"file": (name, data, XLSX)}, data=form, headers=csrf)


def test_excel_with_bad_rows(client: TestClient, database_url: str) -> None:
    editor, csrf = sign_in(client, "editor1")
    before = counts(database_url)
    refused = upload(editor, csrf, workbook(), "问答.xlsx")
    assert refused.status_code == 422, refused.text
    rows = refused.json()["rows"]
    assert [(r["row"], r["column"]) for r in rows] == [(3, "answer"), (4, "category")]
    assert "彩票" in rows[1]["reason"]
    assert "未导入任何内容" in refused.json()["detail"]
    assert counts(database_url) == before  # nothing stored

    taken = upload(editor, csrf, workbook(), "问答.xlsx", good_rows="true")
    assert taken.status_code == 201, taken.text
    assert taken.json()["stored"] == ["cg-a", "cg-d"]
    assert len(taken.json()["errors"]) == 2
    listed = {i["id"]: i for i in editor.get("/api/v1/staff/faq").json()["items"]}
    assert listed["cg-a"]["pending"]["state"] == "draft" and not listed["cg-a"]["served"]

    # An article that does not exist in the cited document is a row error too.
    wrong = write_xlsx(
        [list(TABLE_COLUMNS), [*row("cg-e", "问？", "答。")[:6], "第九百条", "", "", ""]]
    )
    bad = upload(editor, csrf, wrong, "a.xlsx")
    assert bad.status_code == 422 and bad.json()["rows"][0]["row"] == 2
    assert "第九百条" in bad.json()["rows"][0]["reason"]


def test_bad_files(client: TestClient) -> None:
    editor, csrf = sign_in(client, "editor1")
    fake = upload(editor, csrf, b"id,question\n1,2\n", "问答.xlsx")
    assert fake.status_code == 422 and fake.json()["detail"].startswith("文件 file：")
    big = upload(editor, csrf, b"x" * 30_000, "big.csv")  # over the 20 KB setting
    assert big.status_code == 422 and "文件过大" in big.json()["detail"]
    huge = upload(editor, csrf, b"x" * 200_000, "huge.csv")  # refused before it is read
    assert huge.status_code == 413 and "上传的文件过大" in huge.json()["detail"]
    page = editor.post(
        "/admin/faq/import",
        files={"file": ("问答.xlsx", workbook(), XLSX)},
        data={"csrf_token": csrf["X-CSRF-Token"]},
    )
    assert page.status_code == 422 and "<td>3</td><td>answer</td>" in page.text


def knowledge(entries: list[FaqEntry]) -> list[tuple[Any, ...]]:
    return sorted((e.id, e.question, e.variants, e.answer, e.category, e.sources) for e in entries)


def test_export_and_import_again_give_the_same_knowledge(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    folder = load_knowledge(KNOWLEDGE).faqs
    with get_database(database_url).session() as db:
        import_entries(db, folder)
    editor, csrf = sign_in(client, "editor1")
    exported = editor.get("/api/v1/staff/faq-files/export", params={"format": "xlsx"})
    assert exported.status_code == 200 and exported.headers["content-type"] == XLSX
    (tmp_path / "faq.xlsx").write_bytes(exported.content)
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    imported = run_cli("faq", "import", str(tmp_path / "faq.xlsx"), "--database-url", other)
    assert imported.returncode == 0, imported.stderr
    assert f"已导入 {len(folder)} 条问答" in imported.stdout
    with get_database(other).session() as db:
        again = entries_for_export(db)
    assert knowledge(again) == knowledge(folder)
    # The CLI export writes the same table.
    out = tmp_path / "cli.xlsx"
    assert run_cli("faq", "export", str(out), "--database-url", other).returncode == 0
    written = parse_faq_upload(out.read_bytes(), out.name, None)
    assert written.ok and knowledge([r.entry for r in written.entries]) == knowledge(folder)
