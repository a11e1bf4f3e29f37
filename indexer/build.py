"""Build an index version from a knowledge folder: chunk, embed (re-using the vectors of unchanged
text), build the keyword indexes, write a new version and switch to it."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer import store
from indexer.annexes import missing_annexes
from indexer.chunking import SEP, chunk_document, chunk_id
from indexer.encoders import Encoder
from indexer.keyword import KeywordIndex
from indexer.knowledge import load_knowledge
from indexer.models import (
    Chunk,
    Disclosure,
    Document,
    DocumentMeta,
    FaqEntry,
    KnowledgeBase,
    LoadProblem,
)
from indexer.tokenize import char_tokens, dictionary_fingerprint, tokenize

Progress = Callable[[str, int, int], None]
ON_REQUEST_SECTION = "依申请公开"


class BuildLocked(RuntimeError):
    """Another build is writing the same index folder."""


@dataclass
class BuildReport:
    version: str
    documents: int
    chunks: int
    faqs: int
    embedded: int  # texts sent to the encoder
    reused: int  # vectors taken from the previous version
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[LoadProblem] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    # Files of the previous version that failed their sha256: nothing was re-used from them.
    damaged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return any(p.fatal for p in self.problems)


def passage_text(meta: DocumentMeta, chunk: Chunk) -> str:
    """What is embedded and keyword-indexed for a chunk: its document title, heading path and text."""
    return f"{meta.title}\n{chunk.section}\n{chunk.text}"


def document_text(doc: Document) -> str:
    """What the document-level keyword index sees: the title, and the text if it is public."""
    if doc.meta.disclosure == Disclosure.PUBLIC:
        return f"{doc.meta.title}\n{doc.text}"
    return metadata_chunk(doc.meta).text


def metadata_chunk(meta: DocumentMeta) -> Chunk:
    """The only chunk of a 依申请公开 document: its metadata, never its text."""
    parts = [f"《{meta.title}》", meta.doc_no, meta.issuer, meta.issued_on, meta.category]
    text = " ".join(p for p in parts if p)
    return Chunk(
        id=chunk_id(meta.id, 0, text),
        doc_id=meta.id,
        section=ON_REQUEST_SECTION,
        text=text,
        ordinal=0,
    )


def chunks_of(doc: Document) -> list[Chunk]:
    if doc.meta.disclosure == Disclosure.ON_REQUEST:
        return [metadata_chunk(doc.meta)]
    if doc.meta.disclosure != Disclosure.PUBLIC:
        return []
    return chunk_document(doc.meta.id, doc.text, doc.meta.kind)


@contextmanager
def _build_lock(out_dir: Path) -> Iterator[None]:
    """Holds the folder's build lock; clears what killed or failed builds left behind first, so
    that their space is free before this build writes."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = (out_dir / ".build.lock").open("w")
    except OSError as exc:
        raise store.write_error(exc, out_dir) from exc
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLocked(f"另一个索引构建正在写入 {out_dir}") from None
        store.remove_partial_versions(out_dir)
        yield


class _Embedder:
    """Encodes texts, re-using vectors of identical text from the previous version."""

    def __init__(
        self, encoder: Encoder, previous: dict[str, np.ndarray], progress: Progress | None
    ):
        self.encoder, self.previous, self.progress = encoder, previous, progress
        self.embedded = self.reused = 0

    def vectors(
        self, texts: list[str], hashes: list[str], label: str, *, passages: bool = False
    ) -> np.ndarray:
        """``passages``: policy passages (``Encoder.encode_passages``), else questions."""
        out = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        todo = []
        for i, h in enumerate(hashes):
            old = self.previous.get(h)
            if old is not None and old.shape == (self.encoder.dim,):
                out[i] = old
            else:
                todo.append(i)
        self.reused += len(texts) - len(todo)
        step = 256
        encode = self.encoder.encode_passages if passages else self.encoder.encode
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            out[batch] = encode([texts[i] for i in batch])
            if self.progress:
                self.progress(label, min(start + step, len(todo)), len(todo))
        self.embedded += len(todo)
        return out


def build_index(
    knowledge_dir: Path, out_dir: Path, *, encoder: Encoder, progress: Progress | None = None
) -> BuildReport:
    kb = load_knowledge(knowledge_dir)
    return build_from(
        kb, out_dir, encoder=encoder, progress=progress, source=str(knowledge_dir.resolve())
    )


def build_from(
    kb: KnowledgeBase,
    out_dir: Path,
    *,
    encoder: Encoder,
    progress: Progress | None = None,
    source: str = "",
    faq_source: dict[str, object] | None = None,
    documents_source: dict[str, object] | None = None,
) -> BuildReport:
    """``faq_source``: where the FAQ came from when not from ``source`` alone (the curation
    database: its identity and revision, service/faqs/source.py), recorded in the manifest;
    ``documents_source``: the key of the documents published in the database that were applied
    over the folder (service/documents/source.py)."""
    started = time.perf_counter()
    with _build_lock(out_dir):
        previous = store.previous_vectors(out_dir)
        old_manifest, old_vectors = previous.manifest, previous.vectors
        if old_manifest and old_manifest.get("encoder") != encoder.identity:
            old_vectors = {}  # another encoder built it: nothing to re-use
        embedder = _Embedder(encoder, old_vectors, progress)

        documents, chunk_records, texts = [], [], []
        problems = list(kb.problems)
        for doc in kb.documents:
            chunks = chunks_of(doc)
            missing = _missing_annexes(doc, problems)
            documents.append(
                store.DocumentRecord(doc.meta, doc.path, doc.content_hash, len(chunks), missing)
            )
            for chunk in chunks:
                text = passage_text(doc.meta, chunk)
                texts.append(text)
                chunk_records.append(store.ChunkRecord(chunk, store.embed_hash(text)))
        chunk_vectors = embedder.vectors(
            texts, [r.embed_hash for r in chunk_records], "段落", passages=True
        )
        chunk_keywords = KeywordIndex.build([tokenize(t) for t in texts])
        doc_keywords = KeywordIndex.build([tokenize(document_text(doc)) for doc in kb.documents])

        questions = [
            store.FaqQuestion(f.id, q, store.embed_hash(q)) for f in kb.faqs for q in f.questions
        ]
        faq_vectors = embedder.vectors(
            [q.text for q in questions], [q.embed_hash for q in questions], "问答"
        )
        # One keyword row per FAQ entry: all its questions, as characters and character pairs.
        faq_keywords = KeywordIndex.build(
            [[t for q in f.questions for t in char_tokens(q)] for f in kb.faqs]
        )

        report = _report(kb, documents, old_manifest, embedder, len(chunk_records))
        report.problems = problems
        report.damaged = previous.damaged
        manifest = {
            "source": source,
            "faq_source": faq_source,
            "documents_source": documents_source,
            "encoder": encoder.identity,
            "tokenizer": {"name": "jieba", "dictionary": dictionary_fingerprint()},
            "counts": {
                "documents": len(documents),
                "chunks": len(chunk_records),
                "faqs": len(kb.faqs),
                "faq_questions": len(questions),
                "skipped": len(kb.skipped),
            },
            "documents": {d.meta.id: d.content_hash for d in documents},
            # Skipped (withheld) documents are counted, never named: see _recorded_problems.
            "problems": _recorded_problems(kb, problems),
            "section_separator": SEP,
            "previous_damaged": previous.damaged,
        }
        report.version = store.write_version(
            out_dir,
            store.BuildContents(
                documents=documents,
                chunks=chunk_records,
                chunk_vectors=chunk_vectors,
                chunk_keywords=chunk_keywords,
                doc_keywords=doc_keywords,
                faqs=kb.faqs,
                faq_questions=questions,
                faq_vectors=faq_vectors,
                faq_keywords=faq_keywords,
            ),
            manifest=manifest,
        )
    report.seconds = time.perf_counter() - started
    return report


WITHHELD_MENTION = "（涉及不予公开的文件，详见构建时的输出）"


def _missing_annexes(doc: Document, problems: list[LoadProblem]) -> tuple[str, ...]:
    """Annexes a public document refers to that its text lacks, reported as a warning."""
    if doc.meta.disclosure != Disclosure.PUBLIC:
        return ()
    missing = tuple(missing_annexes(doc.text))
    if missing:
        names = "、".join(f"《{name}》" for name in missing)
        problems.append(
            LoadProblem(
                doc.path,
                f"正文提到的附件或附表{names}不在文本中：知识库缺少该内容，"
                "引用此文件的回答会说明并给出官方文本的出处",
                fatal=False,
            )
        )
    return missing


def _recorded_problems(kb: KnowledgeBase, problems: list[LoadProblem]) -> list[dict[str, object]]:
    """The problems as the manifest records them: a path or reason that names a withheld document
    (its path, id or title) is replaced, so that the index holds no trace of it. The build report
    printed to the operator keeps the full text."""

    def clean(text: str) -> str:
        return WITHHELD_MENTION if any(w in text for w in kb.withheld_names) else text

    return [{"path": clean(p.path), "reason": clean(p.reason), "error": p.fatal} for p in problems]


def _report(
    kb: KnowledgeBase,
    documents: list[store.DocumentRecord],
    old_manifest: dict | None,
    embedder: _Embedder,
    chunks: int,
) -> BuildReport:
    before: dict[str, str] = (old_manifest or {}).get("documents", {})
    now = {d.meta.id: d.content_hash for d in documents}
    return BuildReport(
        version="",
        documents=len(documents),
        chunks=chunks,
        faqs=len(kb.faqs),
        embedded=embedder.embedded,
        reused=embedder.reused,
        added=sorted(set(now) - set(before)),
        changed=sorted(k for k in now if k in before and before[k] != now[k]),
        removed=sorted(set(before) - set(now)),
        unchanged=sum(1 for k in now if before.get(k) == now[k]),
        skipped=list(kb.skipped),
        problems=list(kb.problems),
    )


# ---- the FAQ-only step ---------------------------------------------------------------------------

_OWN_KEYS = ("format", "format_version", "version", "created_at", "files")


def build_faq_step(
    base: store.LoadedIndex,
    out_dir: Path,
    *,
    faqs: list[FaqEntry],
    encoder: Encoder,
    faq_source: dict[str, object] | None = None,
) -> BuildReport | None:
    """A new version that is ``base`` with other FAQ entries: documents, chunks, their vectors
    and keyword indexes are taken over as loaded, only the FAQ part is computed (new questions
    embedded, the others' vectors re-used). None when ``base`` is no longer the current version
    (the caller reloads first). What a full build from the same knowledge would write, in a
    fraction of its time: used to publish curated FAQ within seconds (service/faqs/refresh.py)."""
    started = time.perf_counter()
    with _build_lock(out_dir):
        if store.current_version(out_dir) != base.version:
            return None
        if base.manifest.get("encoder") != encoder.identity:
            raise ValueError("encoder differs from the one that built the index")
        previous = {
            q.embed_hash: base.faq_vectors.vectors[i] for i, q in enumerate(base.faq_questions)
        }
        embedder = _Embedder(encoder, previous, None)
        questions = [
            store.FaqQuestion(f.id, q, store.embed_hash(q)) for f in faqs for q in f.questions
        ]
        faq_vectors = embedder.vectors(
            [q.text for q in questions], [q.embed_hash for q in questions], "问答"
        )
        faq_keywords = KeywordIndex.build(
            [[t for q in f.questions for t in char_tokens(q)] for f in faqs]
        )
        documents = list(base.documents.values())
        metas = {d.meta.id: d.meta for d in documents}
        chunks = [
            store.ChunkRecord(c, store.embed_hash(passage_text(metas[c.doc_id], c)))
            for c in base.chunks
        ]
        manifest = {k: v for k, v in base.manifest.items() if k not in _OWN_KEYS}
        manifest["counts"] = {
            **manifest.get("counts", {}),
            "faqs": len(faqs),
            "faq_questions": len(questions),
        }
        manifest["faq_source"] = faq_source
        manifest["faq_step_of"] = base.version
        version = store.write_version(
            out_dir,
            store.BuildContents(
                documents=documents,
                chunks=chunks,
                chunk_vectors=base.chunk_vectors.vectors,
                chunk_keywords=base.chunk_keywords,
                doc_keywords=base.doc_keywords,
                faqs=faqs,
                faq_questions=questions,
                faq_vectors=faq_vectors,
                faq_keywords=faq_keywords,
            ),
            manifest=manifest,
        )
    return BuildReport(
        version=version,
        documents=len(documents),
        chunks=len(chunks),
        faqs=len(faqs),
        embedded=embedder.embedded,
        reused=embedder.reused,
        unchanged=len(documents),
        seconds=time.perf_counter() - started,
    )
