"""Domain records shared by the indexer and the service: documents, chunks and FAQ entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    CURRENT = "现行有效"
    AMENDED = "已修改"
    EXPIRED = "已失效"
    REPEALED = "已废止"


class Disclosure(StrEnum):
    PUBLIC = "主动公开"
    ON_REQUEST = "依申请公开"
    WITHHELD = "不予公开"


class Kind(StrEnum):
    POLICY = "policy"
    INTERPRETATION = "interpretation"


@dataclass(frozen=True)
class DocumentMeta:
    id: str
    title: str
    disclosure: Disclosure
    kind: Kind = Kind.POLICY
    doc_no: str | None = None
    issuer: str | None = None
    issued_on: str | None = None
    effective_on: str | None = None
    status: Status = Status.CURRENT
    superseded_by: str | None = None
    category: str | None = None
    url: str | None = None
    interprets: str | None = None
    apply_note: str | None = None
    # Where the disclosure value came from: "metadata", "text" or "default" (fail closed).
    disclosure_source: str = "metadata"

    @property
    def is_current(self) -> bool:
        return self.status == Status.CURRENT and not self.superseded_by


@dataclass(frozen=True)
class Document:
    meta: DocumentMeta
    text: str
    path: str  # relative to the knowledge root, with forward slashes
    content_hash: str  # sha256 of the file bytes plus its side-car metadata


@dataclass(frozen=True)
class Chunk:
    id: int  # stable 63-bit id, also the FAISS id
    doc_id: str
    section: str  # heading path, e.g. "第六章 质疑与投诉 › 第五十二条"
    text: str  # at most MAX_EXCERPT characters, whole sentences
    ordinal: int  # position within the document


@dataclass(frozen=True)
class SourceRef:
    doc_id: str
    article: str | None = None


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    category: str | None = None
    sources: tuple[SourceRef, ...] = ()
    reviewed: bool = False
    path: str = ""
    effective_from: str | None = None  # YYYY-MM-DD: served from this day on
    expires_on: str | None = None  # YYYY-MM-DD: no longer served from this day on

    @property
    def questions(self) -> tuple[str, ...]:
        return (self.question, *self.variants)


@dataclass
class LoadProblem:
    """A file that could not be (fully) used, with the reason, as the build report shows it."""

    path: str
    reason: str
    fatal: bool = True  # False: a warning (e.g. disclosure defaulted to 不予公开)


@dataclass
class KnowledgeBase:
    documents: list[Document] = field(default_factory=list)
    faqs: list[FaqEntry] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    skipped: list[LoadProblem] = field(default_factory=list)  # withheld documents and why
    # Path, id and title of every withheld document: what no file of the index may contain.
    withheld_names: set[str] = field(default_factory=set)
