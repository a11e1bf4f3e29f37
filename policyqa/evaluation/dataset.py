"""Reads evaluation datasets: folders with ``queries.jsonl`` and ``faq.jsonl`` and/or
``corpus.jsonl`` (format: ../shared/eval/README.md). Several folders form one combined dataset."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from indexer.metadata import MetadataError, resolve_metadata
from indexer.models import Document, FaqEntry, KnowledgeBase


class DatasetError(ValueError):
    """A dataset file that does not follow the format; names the file and line."""


@dataclass(frozen=True)
class Query:
    id: str
    query: str
    relevant: tuple[str, ...]
    answer: str | None

    @property
    def in_scope(self) -> bool:
        return bool(self.relevant)


@dataclass
class Dataset:
    knowledge: KnowledgeBase
    queries: list[Query]
    faq_ids: set[str]
    doc_ids: set[str]

    @cached_property
    def faq_by_question(self) -> dict[str, tuple[str, ...]]:
        """Each FAQ standard question and variant → the entries that hold it (a clarification
        offers FAQ questions by their text)."""
        out: dict[str, list[str]] = {}
        for entry in self.knowledge.faqs:
            for text in dict.fromkeys((entry.question, *entry.variants)):
                out.setdefault(text, []).append(entry.id)
        return {text: tuple(ids) for text, ids in out.items()}


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{n}: expected a JSON object")
            yield n, row


def _need(row: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = row.get(key)
    if not isinstance(value, kind):
        raise DatasetError(f"{where}: field {key!r} must be {kind.__name__}")
    return value


def load_datasets(folders: Sequence[Path]) -> Dataset:
    kb = KnowledgeBase()
    queries: list[Query] = []
    for folder in folders:
        if not (folder / "queries.jsonl").is_file():
            raise DatasetError(f"{folder}: no queries.jsonl")
        if (folder / "faq.jsonl").is_file():
            for n, row in _rows(folder / "faq.jsonl"):
                where = f"{folder / 'faq.jsonl'}:{n}"
                kb.faqs.append(
                    FaqEntry(
                        id=_need(row, "id", str, where),
                        question=_need(row, "question", str, where),
                        answer=_need(row, "answer", str, where),
                        variants=tuple(_need(row, "variants", list, where))
                        if "variants" in row
                        else (),
                        path=str(folder / "faq.jsonl"),
                    )
                )
        if (folder / "corpus.jsonl").is_file():
            for n, row in _rows(folder / "corpus.jsonl"):
                kb.documents.append(_document(row, f"{folder / 'corpus.jsonl'}:{n}"))
        for n, row in _rows(folder / "queries.jsonl"):
            where = f"{folder / 'queries.jsonl'}:{n}"
            queries.append(
                Query(
                    _need(row, "id", str, where),
                    _need(row, "query", str, where),
                    tuple(_need(row, "relevant", list, where)),
                    row.get("answer"),
                )
            )
    return Dataset(kb, queries, {f.id for f in kb.faqs}, {d.meta.id for d in kb.documents})


def _document(row: dict[str, Any], where: str) -> Document:
    doc_id = _need(row, "id", str, where)
    text = _need(row, "text", str, where)
    given = {
        k: row[k]
        for k in ("title", "doc_no", "issuer", "issued_on", "status", "disclosure", "url")
        if row.get(k)
    }
    # Evaluation corpora are public by construction; a document may still say otherwise.
    given.setdefault("disclosure", "主动公开")
    given["id"] = doc_id
    try:
        meta = resolve_metadata(given, text=text, default_id=doc_id)
    except MetadataError as exc:
        raise DatasetError(f"{where}: {exc}") from None
    digest = hashlib.sha256(
        json.dumps(row, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    return Document(meta=meta, text=text, path=where, content_hash=digest)
