"""The index artifact: one module owns its format, for writers and readers alike.

    INDEX_DIR/
      CURRENT                  name of the version being served (replaced atomically)
      versions/<version>/      one complete build
        manifest.json          format version, encoder, tokenizer, counts, file hashes, report
        documents.jsonl        metadata of every indexed document (依申请公开: metadata only)
        chunks.jsonl           id, doc_id, section, text, ordinal, embed_hash of every chunk
        chunk_vectors.npy      float32 vectors, row i belongs to line i of chunks.jsonl
        chunk_keywords/        BM25 index over chunk text (see indexer/keyword.py)
        doc_keywords/          BM25 index over whole documents, row i = line i of documents.jsonl
        faqs.jsonl             curated FAQ entries
        faq_questions.jsonl    faq_id, text, embed_hash: the standard question and each variant
        faq_vectors.npy        float32 vectors, row i belongs to line i of faq_questions.jsonl
        faq_keywords/          BM25 over each FAQ entry's questions (character n-grams),
                               row i = line i of faqs.jsonl

A build writes ``versions/<version>.partial`` and renames it when complete, then replaces
``CURRENT``: a build that dies half-way leaves the previous version serving.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.keyword import KeywordIndex
from indexer.models import Chunk, Disclosure, DocumentMeta, FaqEntry, Kind, SourceRef, Status
from indexer.vectors import VectorStore

FORMAT = "policyqa-index"
FORMAT_VERSION = 1
CURRENT = "CURRENT"
VERSIONS = "versions"
KEEP_VERSIONS = 2
_PARTIAL = ".partial"


class IndexLoadError(RuntimeError):
    """The index folder is missing, incomplete or of another format (message in Chinese)."""


@dataclass(frozen=True)
class ChunkRecord:
    chunk: Chunk
    embed_hash: str


@dataclass(frozen=True)
class FaqQuestion:
    faq_id: str
    text: str
    embed_hash: str


@dataclass(frozen=True)
class DocumentRecord:
    meta: DocumentMeta
    path: str
    content_hash: str
    chunks: int


@dataclass
class BuildContents:
    documents: list[DocumentRecord]
    chunks: list[ChunkRecord]
    chunk_vectors: np.ndarray
    chunk_keywords: KeywordIndex
    doc_keywords: KeywordIndex
    faqs: list[FaqEntry]
    faq_questions: list[FaqQuestion]
    faq_vectors: np.ndarray
    faq_keywords: KeywordIndex


@dataclass
class LoadedIndex:
    folder: Path
    version: str
    manifest: dict[str, Any]
    documents: dict[str, DocumentRecord]  # in documents.jsonl order
    chunks: list[Chunk]
    chunk_vectors: VectorStore
    chunk_keywords: KeywordIndex
    doc_keywords: KeywordIndex
    faqs: dict[str, FaqEntry]  # in faqs.jsonl order
    faq_questions: list[FaqQuestion]
    faq_vectors: VectorStore
    faq_keywords: KeywordIndex

    @property
    def encoder_identity(self) -> dict[str, Any]:
        return dict(self.manifest["encoder"])


def embed_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- records <-> JSON -------------------------------------------------------------------------


def _meta_from(d: dict[str, Any]) -> DocumentMeta:
    d = dict(d)
    d["disclosure"] = Disclosure(d["disclosure"])
    d["status"] = Status(d["status"])
    d["kind"] = Kind(d["kind"])
    return DocumentMeta(**d)


def _faq_to(f: FaqEntry) -> dict[str, Any]:
    d = dataclasses.asdict(f)
    d["variants"] = list(f.variants)
    return d


def _faq_from(d: dict[str, Any]) -> FaqEntry:
    return FaqEntry(
        **{
            **d,
            "variants": tuple(d["variants"]),
            "sources": tuple(SourceRef(**s) for s in d["sources"]),
        }
    )


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())


# ---- writing ----------------------------------------------------------------------------------


def new_version_name() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def write_version(out_dir: Path, contents: BuildContents, *, manifest: dict[str, Any]) -> str:
    """Write a complete version beside the others and switch CURRENT to it atomically."""
    versions = out_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    name = new_version_name()
    tmp = versions / (name + _PARTIAL)
    tmp.mkdir()
    _write_jsonl(
        tmp / "documents.jsonl",
        (
            {
                "meta": dataclasses.asdict(d.meta),
                "path": d.path,
                "content_hash": d.content_hash,
                "chunks": d.chunks,
            }
            for d in contents.documents
        ),
    )
    _write_jsonl(
        tmp / "chunks.jsonl",
        ({**dataclasses.asdict(r.chunk), "embed_hash": r.embed_hash} for r in contents.chunks),
    )
    np.save(
        tmp / "chunk_vectors.npy", contents.chunk_vectors.astype(np.float32), allow_pickle=False
    )
    contents.chunk_keywords.save(tmp / "chunk_keywords")
    contents.doc_keywords.save(tmp / "doc_keywords")
    _write_jsonl(tmp / "faqs.jsonl", (_faq_to(f) for f in contents.faqs))
    _write_jsonl(
        tmp / "faq_questions.jsonl", (dataclasses.asdict(q) for q in contents.faq_questions)
    )
    np.save(tmp / "faq_vectors.npy", contents.faq_vectors.astype(np.float32), allow_pickle=False)
    contents.faq_keywords.save(tmp / "faq_keywords")
    files = {
        p.relative_to(tmp).as_posix(): _sha256_file(p)
        for p in sorted(tmp.rglob("*"))
        if p.is_file()
    }
    full = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **manifest,
        "files": files,
    }
    (tmp / "manifest.json").write_text(json.dumps(full, ensure_ascii=False, indent=2), "utf-8")
    _fsync_tree(tmp)
    os.replace(tmp, versions / name)
    switch_current(out_dir, name)
    prune_versions(out_dir)
    return name


def switch_current(out_dir: Path, name: str) -> None:
    tmp = out_dir / (CURRENT + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out_dir / CURRENT)
    dir_fd = os.open(out_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def prune_versions(out_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Remove left-over partial builds and all but the newest complete versions."""
    current = current_version(out_dir)
    versions = out_dir / VERSIONS
    complete = sorted(
        p.name for p in versions.iterdir() if p.is_dir() and not p.name.endswith(_PARTIAL)
    )
    stale = set(complete[:-keep]) - {current}
    for p in versions.iterdir():
        if p.name in stale or p.name.endswith(_PARTIAL):
            shutil.rmtree(p, ignore_errors=True)


# ---- reading ----------------------------------------------------------------------------------


def current_version(out_dir: Path) -> str | None:
    pointer = out_dir / CURRENT
    if not pointer.is_file():
        return None
    return pointer.read_text("utf-8").strip() or None


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    name = current_version(out_dir)
    if name is None:
        return None
    path = out_dir / VERSIONS / name / "manifest.json"
    if not path.is_file():
        return None
    manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return manifest


def complete_versions(out_dir: Path) -> list[str]:
    """Names of the complete versions in the folder, newest first (partial builds left out).
    Ordered by length, then name: right for fixed-width time stamps and for build numbers."""
    versions = out_dir / VERSIONS
    if not versions.is_dir():
        return []
    return sorted(
        (p.name for p in versions.iterdir() if p.is_dir() and not p.name.endswith(_PARTIAL)),
        key=lambda name: (len(name), name),
        reverse=True,
    )


def load_index(out_dir: Path, *, version: str | None = None, verify: bool = True) -> LoadedIndex:
    """The version CURRENT names, or ``version`` (an older intact one, to fall back on)."""
    name = version or current_version(out_dir)
    if name is None:
        raise IndexLoadError(f"索引目录 {out_dir} 中没有可用的索引，请先运行 policyqa index")
    folder = out_dir / VERSIONS / name
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise IndexLoadError(f"索引版本 {name} 不存在")
    if not manifest_path.is_file():
        raise IndexLoadError(f"索引版本 {name} 不完整（缺少 manifest.json）")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"索引格式 {manifest.get('format')}/{manifest.get('format_version')} "
            f"不受支持，请用当前版本重建索引"
        )
    if verify:
        for rel, digest in manifest["files"].items():
            path = folder / rel
            if not path.is_file() or _sha256_file(path) != digest:
                raise IndexLoadError(f"索引文件 {rel} 缺失或已损坏，请重建索引")
    documents = {}
    for row in _read_jsonl(folder / "documents.jsonl"):
        meta = _meta_from(row["meta"])
        documents[meta.id] = DocumentRecord(meta, row["path"], row["content_hash"], row["chunks"])
    chunks = [
        Chunk(**{k: v for k, v in row.items() if k != "embed_hash"})
        for row in _read_jsonl(folder / "chunks.jsonl")
    ]
    chunk_vectors = np.load(folder / "chunk_vectors.npy", allow_pickle=False)
    faq_questions = [FaqQuestion(**row) for row in _read_jsonl(folder / "faq_questions.jsonl")]
    faq_vectors = np.load(folder / "faq_vectors.npy", allow_pickle=False)
    return LoadedIndex(
        folder=folder,
        version=name,
        manifest=manifest,
        documents=documents,
        chunks=chunks,
        chunk_vectors=VectorStore(chunk_vectors, np.array([c.id for c in chunks], dtype=np.int64)),
        chunk_keywords=KeywordIndex.load(folder / "chunk_keywords"),
        doc_keywords=KeywordIndex.load(folder / "doc_keywords"),
        faqs={f.id: f for f in map(_faq_from, _read_jsonl(folder / "faqs.jsonl"))},
        faq_questions=faq_questions,
        faq_vectors=VectorStore(faq_vectors, np.arange(len(faq_questions), dtype=np.int64)),
        faq_keywords=KeywordIndex.load(folder / "faq_keywords"),
    )


def previous_vectors(out_dir: Path) -> tuple[dict[str, Any] | None, dict[str, np.ndarray]]:
    """The current version's manifest and its vectors by embed hash, for incremental builds."""
    name = current_version(out_dir)
    manifest = read_manifest(out_dir)
    if name is None or manifest is None:
        return None, {}
    folder = out_dir / VERSIONS / name
    by_hash: dict[str, np.ndarray] = {}
    try:
        for rows, vectors in (
            ("chunks.jsonl", "chunk_vectors.npy"),
            ("faq_questions.jsonl", "faq_vectors.npy"),
        ):
            matrix = np.load(folder / vectors, allow_pickle=False)
            for i, row in enumerate(_read_jsonl(folder / rows)):
                by_hash[row["embed_hash"]] = matrix[i]
    except (OSError, ValueError, KeyError):
        return manifest, {}  # an unreadable previous version only costs a full re-embed
    return manifest, by_hash
