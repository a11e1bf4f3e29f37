"""Documents published in the curation database are applied over the knowledge folder before
disclosure is decided (indexer/knowledge.py ``load_knowledge(overlay=…)``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from indexer.knowledge import load_knowledge
from indexer.models import Disclosure, Document, DocumentMeta, Status

POLICY = """---
id: caigou-2026
title: 关于政府采购质疑答复期限的通知
disclosure: 主动公开
doc_no: 泰财采〔2026〕1号
---
第一条 采购人应当在收到书面质疑后七个工作日内作出答复。
"""


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "caigou-2026.md").write_text(POLICY, "utf-8")
    return root


def _meta(**changes: object) -> DocumentMeta:
    base = DocumentMeta(
        id="caigou-2026",
        title="关于政府采购质疑答复期限的通知",
        disclosure=Disclosure.PUBLIC,
        doc_no="泰财采〔2026〕1号",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_metadata_only_change_keeps_the_folder_text_and_path(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    before = load_knowledge(root).documents[0]
    changed = Document(_meta(status=Status.REPEALED), "", "数据库:caigou-2026", "v2")
    kb = load_knowledge(root, overlay=[changed])
    (doc,) = kb.documents
    assert doc.meta.status == Status.REPEALED
    assert doc.text == before.text and "七个工作日" in doc.text
    assert doc.path == "policies/caigou-2026.md"
    assert doc.content_hash != before.content_hash  # an incremental build sees the change


def test_withholding_over_the_folder_keeps_every_name_out(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    withheld = Document(_meta(disclosure=Disclosure.WITHHELD), "", "数据库:caigou-2026", "v3")
    kb = load_knowledge(root, overlay=[withheld])
    assert kb.documents == []
    assert {"caigou-2026", "关于政府采购质疑答复期限的通知", "policies/caigou-2026.md"} <= (
        kb.withheld_names
    )


def test_a_new_database_document_is_added_and_one_without_text_is_a_problem(
    tmp_path: Path,
) -> None:
    root = _folder(tmp_path)
    new = Document(
        DocumentMeta(id="jiedu-2026", title="解读", disclosure=Disclosure.PUBLIC),
        "一、为什么制定\n为了规范质疑答复。",
        "数据库:jiedu-2026",
        "h1",
    )
    empty = Document(
        DocumentMeta(id="kong", title="空", disclosure=Disclosure.PUBLIC), "", "数据库:kong", "h2"
    )
    kb = load_knowledge(root, overlay=[new, empty])
    assert sorted(d.meta.id for d in kb.documents) == ["caigou-2026", "jiedu-2026"]
    assert [(p.path, p.fatal) for p in kb.problems] == [("数据库:kong", True)]
    assert "没有正文" in kb.problems[0].reason
