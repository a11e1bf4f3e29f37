"""What a document version's metadata must satisfy before it is stored: every field checked,
every refusal a Chinese 422 naming the field (and its form label)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from indexer.metadata import MAX_ID_LENGTH
from indexer.models import Disclosure, DocumentMeta, Kind, Status
from service.problems import Invalid

STATES = {
    "draft": "草稿",
    "in_review": "待审核",
    "published": "已发布",
    "returned": "已退回",
    "superseded": "已被替代",
}
REVIEW_STATES = {"in_review": "待审核", "published": "已发布", "returned": "已退回"}
LABELS = {
    "id": "文档编号",
    "title": "标题",
    "doc_no": "发文字号",
    "issuer": "发文机关",
    "issued_on": "发布日期",
    "effective_on": "施行日期",
    "status": "效力状态",
    "superseded_by": "替代文件",
    "interprets": "所解读的文件",
    "disclosure": "公开属性",
    "kind": "文件类型",
    "category": "分类",
    "apply_note": "依申请公开的申请方式",
    "url": "原文链接",
}
FIELDS = tuple(k for k in LABELS if k != "id")
_LIMITS = {
    "title": 300,
    "doc_no": 100,
    "issuer": 200,
    "superseded_by": MAX_ID_LENGTH,
    "interprets": MAX_ID_LENGTH,
    "category": 64,
    "apply_note": 2000,
    "url": 500,
}
_ID = re.compile(rf"^[^\s/\\:#]{{1,{MAX_ID_LENGTH}}}$")
RESERVED_IDS = {"reviews", "versions", "new", "upload"}
MAX_REASON = 2000


@dataclass(frozen=True)
class DocFields:
    """One version's metadata, checked (dates as ``date``, enums as their Chinese values)."""

    title: str
    disclosure: str
    status: str = Status.CURRENT.value
    kind: str = Kind.POLICY.value
    doc_no: str | None = None
    issuer: str | None = None
    issued_on: date | None = None
    effective_on: date | None = None
    superseded_by: str | None = None
    interprets: str | None = None
    category: str | None = None
    apply_note: str | None = None
    url: str | None = None

    def as_form(self) -> dict[str, str | None]:
        """The fields as a form shows them (dates as YYYY-MM-DD)."""
        out: dict[str, str | None] = {}
        for name in FIELDS:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out


def field_name(name: str) -> str:
    return f"{LABELS[name]} {name}"


def check_id(doc_id: str) -> str:
    doc_id = (doc_id or "").strip()
    if not _ID.match(doc_id):
        raise Invalid(
            f"{field_name('id')}：应为 1–{MAX_ID_LENGTH} 个字，不能含空白、斜杠、冒号或 #"
        )
    if doc_id in RESERVED_IDS:
        raise Invalid(f"{field_name('id')}：“{doc_id}”是保留字，请换一个编号")
    return doc_id


def _text(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise Invalid(f"{field_name(name)}：应为文字")
    value = " ".join(value.split()) if name != "apply_note" else value.strip()
    if not value:
        return None
    limit = _LIMITS.get(name)
    if limit and len(value) > limit:
        raise Invalid(f"{field_name(name)}：最多 {limit} 个字")
    return value


def _day(values: Mapping[str, Any], name: str) -> date | None:
    value = _text(values, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field_name(name)}：“{value}”不是日期（应为 YYYY-MM-DD）") from None


def _choice(values: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = _text(values, name)
    if value is not None and value not in allowed:
        raise Invalid(f"{field_name(name)}：“{value}”无效，应为 {' / '.join(allowed)}")
    return value


def check_fields(values: Mapping[str, Any], *, doc_id: str) -> DocFields:
    """The checked metadata of a version. ``values`` holds every field (a change is pre-filled
    with the current metadata by the caller); an absent or empty field is empty."""
    disclosure = _choice(values, "disclosure", tuple(d.value for d in Disclosure))
    if disclosure is None:
        raise Invalid(
            f"{field_name('disclosure')}：必须填写（主动公开 / 依申请公开 / 不予公开），"
            "未经保密审查确定公开属性的文件不能发布"
        )
    title = _text(values, "title")
    if title is None:
        raise Invalid(f"{field_name('title')}：不能为空")
    status = _choice(values, "status", tuple(s.value for s in Status)) or Status.CURRENT.value
    interprets = _text(values, "interprets")
    kind = _choice(values, "kind", tuple(k.value for k in Kind))
    kind = kind or (Kind.INTERPRETATION.value if interprets else Kind.POLICY.value)
    if kind == Kind.INTERPRETATION.value and not interprets:
        raise Invalid(f"{field_name('interprets')}：政策解读稿须写明所解读政策的文档编号")
    superseded_by = _text(values, "superseded_by")
    for name, target in (("interprets", interprets), ("superseded_by", superseded_by)):
        if target == doc_id:
            raise Invalid(f"{field_name(name)}：不能指向文件自身")
    issued_on, effective_on = _day(values, "issued_on"), _day(values, "effective_on")
    url = _text(values, "url")
    if url and not url.startswith(("http://", "https://")):
        raise Invalid(f"{field_name('url')}：应以 http:// 或 https:// 开头")
    return DocFields(
        title=title,
        disclosure=disclosure,
        status=status,
        kind=kind,
        doc_no=_text(values, "doc_no"),
        issuer=_text(values, "issuer"),
        issued_on=issued_on,
        effective_on=effective_on,
        superseded_by=superseded_by,
        interprets=interprets,
        category=_text(values, "category"),
        apply_note=_text(values, "apply_note"),
        url=url,
    )


def fields_of_meta(meta: DocumentMeta) -> DocFields:
    """The metadata an index serves, as a version's fields (the pre-filled change form)."""
    return DocFields(
        title=meta.title,
        disclosure=meta.disclosure.value,
        status=meta.status.value,
        kind=meta.kind.value,
        doc_no=meta.doc_no,
        issuer=meta.issuer,
        issued_on=date.fromisoformat(meta.issued_on) if meta.issued_on else None,
        effective_on=date.fromisoformat(meta.effective_on) if meta.effective_on else None,
        superseded_by=meta.superseded_by,
        interprets=meta.interprets,
        category=meta.category,
        apply_note=meta.apply_note,
        url=meta.url,
    )


def merged(current: DocFields | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """A change: the current fields with the given ones over them (an empty value clears)."""
    base: dict[str, Any] = dataclasses.asdict(current) if current else {}
    return {**base, **{k: v for k, v in given.items() if k in LABELS}}


def check_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(f"{what}：须写明原因")
    if len(reason) > MAX_REASON:
        raise Invalid(f"{what}：最多 {MAX_REASON} 个字")
    return reason
