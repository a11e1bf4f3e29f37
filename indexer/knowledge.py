"""Walks a knowledge folder: documents, side-cars and FAQ files, with every problem reported by
path and reason and nothing else lost. Disclosure is decided here: withheld documents are set
aside with the reason and never reach the index."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from indexer.documents import DOCUMENT_SUFFIXES, DocumentError, load_document
from indexer.faq_files import FAQ_SUFFIXES, load_faq_file
from indexer.models import Disclosure, Document, KnowledgeBase, LoadProblem
from indexer.readers import SIDECAR_SUFFIX

FAQ_DIR = "faq"


def _ignored(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    name = path.name
    return (
        any(p.startswith(".") for p in parts)
        or name.upper().startswith("README")
        or name.startswith("~$")
    )


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not _ignored(p, root))


def load_knowledge(root: Path, *, overlay: Sequence[Document] = ()) -> KnowledgeBase:
    """The folder's documents and FAQ, checked. ``overlay``: the documents staff published in
    the curation database (service/documents/source.py), applied before disclosure is decided:
    one with the id of a folder document replaces it (an empty ``text`` keeps the folder's text:
    a change of metadata only, e.g. status or disclosure), the others are added."""
    if not root.is_dir():
        raise FileNotFoundError(f"知识库目录不存在：{root}")
    kb = KnowledgeBase()
    faq_files: list[Path] = []
    by_id: dict[str, Document] = {}
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if path.parent == root / FAQ_DIR and suffix in FAQ_SUFFIXES:
            faq_files.append(path)
        elif path.name.endswith(SIDECAR_SUFFIX):
            document = path.with_name(path.name[: -len(SIDECAR_SUFFIX)])
            if not document.is_file():
                kb.problems.append(LoadProblem(rel, f"元数据文件没有对应的文档：{document.name}"))
        elif suffix in DOCUMENT_SUFFIXES:
            try:
                doc = load_document(path, root)
            except DocumentError as exc:
                kb.problems.append(LoadProblem(rel, str(exc)))
                continue
            if (other := by_id.get(doc.meta.id)) is not None:
                kb.problems.append(LoadProblem(rel, f"文档编号 {doc.meta.id} 与 {other.path} 重复"))
                continue
            by_id[doc.meta.id] = doc
        else:
            kb.problems.append(
                LoadProblem(rel, f"不支持的文件类型“{path.suffix or path.name}”，未索引")
            )
    _apply_overlay(kb, by_id, overlay)
    _admit_documents(kb, by_id)
    for path in faq_files:
        entries, problems = load_faq_file(path, path.relative_to(root).as_posix())
        kb.problems.extend(problems)
        kb.faqs.extend(entries)
    _check_faqs(kb, by_id)
    return kb


def _apply_overlay(
    kb: KnowledgeBase, by_id: dict[str, Document], overlay: Sequence[Document]
) -> None:
    for doc in overlay:
        folder = by_id.get(doc.meta.id)
        if folder is None:
            if not doc.text:
                kb.problems.append(LoadProblem(doc.path, f"文档 {doc.meta.id} 没有正文"))
                continue
        else:  # the folder's document as changed by staff: it keeps its path (reports name it)
            digest = hashlib.sha256(f"{folder.content_hash}:{doc.content_hash}".encode())
            doc = dataclasses.replace(
                doc,
                text=doc.text or folder.text,
                path=folder.path,
                content_hash=digest.hexdigest(),
            )
        by_id[doc.meta.id] = doc


def _admit_documents(kb: KnowledgeBase, by_id: dict[str, Document]) -> None:
    for doc in by_id.values():
        meta = doc.meta
        if meta.disclosure == Disclosure.WITHHELD:
            reason = (
                "公开属性为不予公开"
                if meta.disclosure_source != "default"
                else "未标注公开属性（disclosure），按不予公开处理"
            )
            kb.skipped.append(LoadProblem(doc.path, reason, fatal=False))
            kb.withheld_names.update(v for v in (doc.path, meta.id, meta.title) if v)
            if meta.disclosure_source == "default":
                kb.problems.append(
                    LoadProblem(doc.path, reason + "；如应公开请补充元数据", fatal=False)
                )
            continue
        for key in ("superseded_by", "interprets"):
            target = getattr(meta, key)
            if target and target not in by_id:
                kb.problems.append(LoadProblem(doc.path, f"{key} 指向不存在的文档编号 {target}"))
            elif target and by_id[target].meta.disclosure == Disclosure.WITHHELD:
                # The index holds nothing of a withheld document, not even its id.
                kb.problems.append(
                    LoadProblem(
                        doc.path,
                        f"{key} 指向不予公开的文档 {target}，该引用已删除（不予公开的文件不进入索引）",
                        fatal=False,
                    )
                )
                meta = (
                    dataclasses.replace(meta, interprets=None)
                    if key == "interprets"
                    else dataclasses.replace(meta, superseded_by=None)
                )
                doc = dataclasses.replace(doc, meta=meta)
        kb.documents.append(doc)


_ARTICLE_NO = re.compile(r"^第[零〇一二三四五六七八九十百千\d]+条")


def _check_faqs(kb: KnowledgeBase, by_id: dict[str, Document]) -> None:
    """Curated answers must rest on public documents that exist; duplicate ids are refused."""
    seen: dict[str, str] = {}
    kept = []
    public = {d.meta.id for d in kb.documents if d.meta.disclosure == Disclosure.PUBLIC}
    for entry in kb.faqs:
        if entry.id in seen:
            kb.problems.append(
                LoadProblem(entry.path, f"问答编号 {entry.id} 与 {seen[entry.id]} 重复")
            )
            continue
        bad = [s.doc_id for s in entry.sources if s.doc_id not in public]
        if bad:
            why = "不存在" if bad[0] not in by_id else "不是主动公开文档"
            kb.problems.append(LoadProblem(entry.path, f"问答 {entry.id} 的依据 {bad[0]} {why}"))
            continue
        for s in entry.sources:
            if s.article and _ARTICLE_NO.match(s.article) and s.article not in by_id[s.doc_id].text:
                kb.problems.append(
                    LoadProblem(
                        entry.path,
                        f"问答 {entry.id} 的依据 {s.doc_id} 中没有 {s.article}",
                        fatal=False,
                    )
                )
        seen[entry.id] = entry.path
        kept.append(entry)
    kb.faqs = kept
