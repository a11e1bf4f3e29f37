"""The index artifact: one module owns its format, for writers and readers alike.

    INDEX_DIR/
      CURRENT                  name of the version being served (replaced atomically)
      versions/<version>/      one complete build
        manifest.json          format version, encoder, tokenizer, counts, file hashes, report
        documents.jsonl        metadata of every indexed document (依申请公开: metadata only),
                               path, content hash, chunk count, missing_annexes
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
``CURRENT``: a build that dies half-way leaves the previous version serving. A build that fails to
write (full disk, read-only or forbidden folder) removes what it wrote and raises IndexWriteError.

Version names are ``v<build number, 6 digits>-<UTC time>``: the build number orders versions (the
clock may be wrong), so that pruning keeps the last builds whatever the clock said. Names of older
releases (``<UTC time>`` only) sort before every numbered one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import json
import os
import re
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


class IndexWriteError(RuntimeError):
    """The index folder cannot be written: full disk, read-only file system, no permission
    (message in Chinese). Nothing half-written is left behind; CURRENT is unchanged."""


def write_error(exc: OSError, out_dir: Path) -> IndexWriteError:
    """The Chinese message for a failure to write into the index folder."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = f"索引目录 {out_dir} 所在磁盘空间不足"
    elif exc.errno == errno.EROFS:
        why = f"索引目录 {out_dir} 所在的文件系统是只读的"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = f"没有写入索引目录 {out_dir} 的权限"
    else:
        why = f"无法写入索引目录 {out_dir}（{exc.strerror or exc}）"
    return IndexWriteError(why)


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
    # Annexes and tables the text refers to but does not contain (indexer/annexes.py).
    missing_annexes: tuple[str, ...] = ()


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


_NUMBERED = re.compile(r"^v(\d{6,})-")


def _version_key(name: str) -> tuple[int, str]:
    """Build order: numbered versions by number, after every version of older releases."""
    m = _NUMBERED.match(name)
    return (int(m[1]), name) if m else (-1, name)


def version_names(out_dir: Path) -> list[str]:
    """Complete versions in build order, oldest first."""
    versions = out_dir / VERSIONS
    if not versions.is_dir():
        return []
    names = [p.name for p in versions.iterdir() if p.is_dir() and not p.name.endswith(_PARTIAL)]
    return sorted(names, key=_version_key)


def new_version_name(out_dir: Path) -> str:
    """The next build number (one more than any version or partial build in the folder)."""
    versions = out_dir / VERSIONS
    taken = [p.name for p in versions.iterdir()] if versions.is_dir() else []
    number = max((_version_key(n.removesuffix(_PARTIAL))[0] for n in taken), default=0) + 1
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"v{max(number, 1):06d}-{stamp}"


def write_version(out_dir: Path, contents: BuildContents, *, manifest: dict[str, Any]) -> str:
    """Write a complete version beside the others and switch CURRENT to it atomically.

    Raises IndexWriteError (and removes what it wrote) when the folder cannot be written."""
    versions = out_dir / VERSIONS
    name = ""
    previous = current_version(out_dir)
    try:
        versions.mkdir(parents=True, exist_ok=True)
        name = new_version_name(out_dir)
        _write_version(versions / (name + _PARTIAL), contents, manifest, name)
        os.replace(versions / (name + _PARTIAL), versions / name)
        switch_current(out_dir, name)
    except OSError as exc:
        if name:
            shutil.rmtree(versions / (name + _PARTIAL), ignore_errors=True)
            if current_version(out_dir) != name:
                shutil.rmtree(versions / name, ignore_errors=True)
        (out_dir / (CURRENT + ".tmp")).unlink(missing_ok=True)
        raise write_error(exc, out_dir) from exc
    prune_versions(out_dir, also_keep=previous)
    return name


def _write_version(tmp: Path, contents: BuildContents, manifest: dict[str, Any], name: str) -> None:
    tmp.mkdir()
    _write_jsonl(
        tmp / "documents.jsonl",
        (
            {
                "meta": dataclasses.asdict(d.meta),
                "path": d.path,
                "content_hash": d.content_hash,
                "chunks": d.chunks,
                "missing_annexes": list(d.missing_annexes),
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


def prune_versions(
    out_dir: Path, keep: int = KEEP_VERSIONS, *, also_keep: str | None = None
) -> None:
    """Remove left-over partial builds and all but the last ``keep`` complete versions in build
    order (never by the time in their names or on the files). The current version and
    ``also_keep`` (the one served before it, the last known good) are always kept."""
    current = current_version(out_dir)
    stale = set(version_names(out_dir)[:-keep]) - {current, also_keep}
    for name in stale:
        shutil.rmtree(out_dir / VERSIONS / name, ignore_errors=True)
    remove_partial_versions(out_dir)


def remove_partial_versions(out_dir: Path) -> None:
    """Remove what killed or failed builds left behind (only while holding the build lock)."""
    versions = out_dir / VERSIONS
    if versions.is_dir():
        for p in versions.iterdir():
            if p.name.endswith(_PARTIAL):
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
        documents[meta.id] = DocumentRecord(
            meta,
            row["path"],
            row["content_hash"],
            row["chunks"],
            tuple(row.get("missing_annexes", ())),  # absent in indexes built before it existed
        )
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


@dataclass
class Reusable:
    """What an incremental build may take from the current version: only what its manifest
    vouches for (sha256 verified), and the files that failed the check."""

    manifest: dict[str, Any] | None
    vectors: dict[str, np.ndarray]  # by embed hash
    damaged: list[str]  # files of the current version that are missing or fail their sha256


_REUSED_PAIRS = (("chunks.jsonl", "chunk_vectors.npy"), ("faq_questions.jsonl", "faq_vectors.npy"))


def previous_vectors(out_dir: Path) -> Reusable:
    """The current version's manifest and its verified vectors by embed hash, for incremental
    builds. A pair of files that is missing, fails its sha256 or does not line up is not re-used
    (its texts are embedded again) and is named in ``damaged``."""
    name = current_version(out_dir)
    if name is None:
        return Reusable(None, {}, [])
    folder = out_dir / VERSIONS / name
    try:
        manifest = read_manifest(out_dir)
    except (OSError, ValueError):
        return Reusable(None, {}, ["manifest.json"])
    if manifest is None:
        return Reusable(None, {}, [])
    listed = manifest.get("files")
    files: dict[str, Any] = listed if isinstance(listed, dict) else {}
    by_hash: dict[str, np.ndarray] = {}
    damaged: list[str] = []
    for rows_name, vectors_name in _REUSED_PAIRS:
        bad = [
            rel
            for rel in (rows_name, vectors_name)
            if not (folder / rel).is_file() or _sha256_file(folder / rel) != files.get(rel)
        ]
        if bad:
            damaged.extend(bad)
            continue
        try:
            matrix = np.load(folder / vectors_name, allow_pickle=False)
            rows = [row["embed_hash"] for row in _read_jsonl(folder / rows_name)]
        except (OSError, ValueError, KeyError, TypeError):
            damaged.append(vectors_name)
            continue
        if matrix.ndim != 2 or len(matrix) != len(rows):
            damaged.append(vectors_name)
            continue
        by_hash.update(zip(rows, matrix, strict=True))
    return Reusable(manifest, by_hash, damaged)


def remove_versions_holding(out_dir: Path, doc_id: str) -> list[str]:
    """Deletes every version folder but the current one whose documents include ``doc_id``
    (the fall-back versions still holding a document that was just withheld); returns them."""
    current = current_version(out_dir)
    removed: list[str] = []
    for name in version_names(out_dir):
        if name == current:
            continue
        folder = out_dir / VERSIONS / name
        try:
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
            held = doc_id in (manifest.get("documents") or {})
        except (OSError, ValueError):
            held = True  # unreadable: it may hold it
        if not held:
            held = _mentions(folder / "documents.jsonl", doc_id)
        if held:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(name)
    return removed


def _mentions(path: Path, doc_id: str) -> bool:
    try:
        return any(row.get("meta", {}).get("id") == doc_id for row in _read_jsonl(path))
    except (OSError, ValueError):
        return True
