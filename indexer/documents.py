"""One document file → a Document: its text, its metadata (front matter or side-car, then what
the text says) and the hash that tells an incremental build whether it changed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from indexer.metadata import MetadataError, resolve_metadata, version_date_from_name
from indexer.models import Document
from indexer.readers import ReadError, read_sidecar, read_text, sidecar_path, split_front_matter

DOCUMENT_SUFFIXES = {".md", ".txt", ".docx", ".pdf", ".html", ".htm"}
FRONT_MATTER_SUFFIXES = {".md", ".txt"}


class DocumentError(ValueError):
    """A document that cannot be indexed; the message (Chinese) says why."""


def load_document(path: Path, root: Path) -> Document:
    rel = path.relative_to(root).as_posix()
    sidecar = sidecar_path(path)
    try:
        raw = read_text(path)
        given: dict[str, Any] = read_sidecar(sidecar)
        body = raw
        if path.suffix.lower() in FRONT_MATTER_SUFFIXES:
            front, body = split_front_matter(raw)
            given = {**given, **front}
    except ReadError as exc:
        raise DocumentError(str(exc)) from exc
    if not body.strip():
        raise DocumentError("文件没有正文")
    version_date = version_date_from_name(path.name)
    if version_date and not given.get("issued_on"):
        given["issued_on"] = version_date
    default_id = path.name[: -len(path.suffix)] if path.suffix else path.name
    try:
        meta = resolve_metadata(given, text=body, default_id=default_id)
    except MetadataError as exc:
        raise DocumentError(str(exc)) from exc
    digest = hashlib.sha256(path.read_bytes())
    if sidecar.is_file():
        digest.update(sidecar.read_bytes())
    return Document(meta=meta, text=body, path=rel, content_hash=digest.hexdigest())
