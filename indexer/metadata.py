"""Document metadata: what the text itself says, merged with front matter, validated.

Front matter (or a side-car) always wins; each missing key is extracted from the text of an
official document: the 发文字号 line, the title, the signature or version date, the issuer and the
``信息公开选项：主动公开`` line. A document whose disclosure is neither given nor found is withheld
(fail closed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from indexer.models import Disclosure, DocumentMeta, Kind, Status

MAX_ID_LENGTH = 80

_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_DATE = re.compile(
    r"([0-9]{4}|[〇○零一二三四五六七八九]{4})\s*年\s*([0-9]{1,2}|[一二三四五六七八九十]{1,3})"
    r"\s*月\s*([0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*日"
)
_DOC_NO = re.compile(
    r"^\s*([\u4e00-\u9fff]{1,12}[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d{1,4}\s*号)\s*$", re.MULTILINE
)
_NOTICE_TITLE = re.compile(
    r"^\s*(关于.{2,80}?(?:通知|意见|办法|决定|规定|方案|公告|通告|批复|报告|细则|规则|函))\s*$",
    re.MULTILINE,
)
_DISCLOSURE_LINE = re.compile(
    r"(?:信息公开选项|公开方式|公开属性|信息公开属性)\s*[:：]\s*(主动公开|依申请公开|不予公开)"
)
_LAW_INFO_END = "<!-- INFO END -->"


class MetadataError(ValueError):
    """Metadata that cannot be used as given (message in Chinese, names the key)."""


def _cn_number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if len(token) == 4:  # a year written digit by digit: 二〇二一
        return int("".join(str(_CN_DIGITS[c]) for c in token))
    if token == "十":
        return 10
    if token.startswith("十"):
        return 10 + _CN_DIGITS[token[1]]
    if token.endswith("十"):
        return _CN_DIGITS[token[0]] * 10
    if "十" in token:
        return _CN_DIGITS[token[0]] * 10 + _CN_DIGITS[token[2]]
    return _CN_DIGITS[token]


def _date_of(match: re.Match[str]) -> str | None:
    try:
        day = dt.date(_cn_number(match[1]), _cn_number(match[2]), _cn_number(match[3]))
    except (KeyError, ValueError, IndexError):
        return None
    return day.isoformat()


def _law_header(text: str) -> list[str] | None:
    if _LAW_INFO_END not in text:
        return None
    head = text.split(_LAW_INFO_END, 1)[0]
    return [line.strip() for line in head.splitlines() if line.strip()]


def extract_metadata(text: str) -> dict[str, str]:
    """Metadata found in the text of an official document; only the keys that were found."""
    found: dict[str, str] = {}
    header = _law_header(text)
    if header is not None:
        titles = [line[2:].strip() for line in header if line.startswith("# ")]
        if titles:
            found["title"] = titles[0]
        dated = [
            (day, line)
            for line in header
            if (m := _DATE.match(line)) and (day := _date_of(m)) is not None
        ]
        in_force = [day for day, line in dated if line.rstrip("　 ").endswith("施行")]
        if in_force:
            found["effective_on"] = in_force[-1]
        dated = [(day, line) for day, line in dated if day not in in_force]
        if dated:
            # The version date is the latest dated header line (adopted, amended or published).
            day, line = max(dated)
            found["issued_on"] = day
            bodies = " ".join(text for _, text in dated)
            if "常务委员会" in line or ("常务委员会" in bodies and "国务院" not in bodies):
                found["issuer"] = "全国人民代表大会常务委员会"
            elif "全国人民代表大会" in line:
                found["issuer"] = "全国人民代表大会"
            elif "国务院" in bodies:
                found["issuer"] = "国务院"
        return found

    if m := _DOC_NO.search(text):
        found["doc_no"] = re.sub(r"\s+", "", m[1])
    if m := _NOTICE_TITLE.search(text):
        found["title"] = m[1]
    if m := _DISCLOSURE_LINE.search(text):
        found["disclosure"] = m[1]
    lines = [line.strip() for line in text.splitlines()]
    date_lines = [
        i for i, line in enumerate(lines) if (mm := _DATE.fullmatch(line)) and _date_of(mm)
    ]
    if date_lines:
        # The signature date is the first date line of the closing block: the issuer stands right
        # before it; a later 印发 date belongs to the office that printed the document.
        sig = _first_closing_date(lines, date_lines)
        match = _DATE.fullmatch(lines[sig])
        assert match is not None
        if (day := _date_of(match)) is not None:
            found["issued_on"] = day
        issuer = next((lines[j] for j in range(sig - 1, max(sig - 4, -1), -1) if lines[j]), "")
        if issuer and len(issuer) <= 40 and not issuer.endswith(("。", "：", ":")):
            found["issuer"] = issuer
    return found


def version_date_from_name(file_name: str) -> str | None:
    """The version date a law's file name carries, e.g. ``会计法(2024-06-28).md``."""
    m = re.search(r"[(（](\d{4}-\d{2}-\d{2})[)）][^/]*$", file_name)
    if m is None:
        return None
    try:
        return dt.date.fromisoformat(m[1]).isoformat()
    except ValueError:
        return None


def _first_closing_date(lines: list[str], date_lines: list[int]) -> int:
    """Index of the signature date: the first date line among the last lines of the document."""
    last = date_lines[-1]
    closing = [i for i in date_lines if last - i <= 12]
    return closing[0]


_ENUMS: dict[str, Any] = {"status": Status, "disclosure": Disclosure, "kind": Kind}
_KNOWN_KEYS = {
    "id",
    "title",
    "doc_no",
    "issuer",
    "issued_on",
    "effective_on",
    "status",
    "superseded_by",
    "disclosure",
    "category",
    "url",
    "kind",
    "interprets",
    "apply_note",
}


def _as_text(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return str(value).strip()
    raise MetadataError(f"元数据 {key} 应为文字，实际为 {type(value).__name__}")


def _check_date(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise MetadataError(f"元数据 {key} 日期格式应为 YYYY-MM-DD，实际为“{value}”") from None


def resolve_metadata(given: Mapping[str, Any], *, text: str, default_id: str) -> DocumentMeta:
    """Merge front matter/side-car metadata with what the text says; raise MetadataError."""
    unknown = sorted(set(given) - _KNOWN_KEYS)
    if unknown:
        raise MetadataError(f"未知的元数据项：{'、'.join(unknown)}")
    values = {key: _as_text(key, value) for key, value in given.items()}
    extracted = extract_metadata(text)
    disclosure_source = "metadata"
    if not values.get("disclosure"):
        disclosure_source = "text" if "disclosure" in extracted else "default"
    merged: dict[str, str | None] = {**extracted, **{k: v for k, v in values.items() if v}}
    for key, enum in _ENUMS.items():
        raw = merged.get(key)
        if raw is None:
            continue
        try:
            enum(raw)
        except ValueError:
            allowed = " / ".join(member.value for member in enum)
            raise MetadataError(f"元数据 {key} 的值“{raw}”无效，应为：{allowed}") from None
    doc_id = merged.get("id") or default_id
    if len(doc_id) > MAX_ID_LENGTH or re.search(r"[\s/\\]", doc_id):
        raise MetadataError(f"文档编号 id“{doc_id}”无效：不能含空白或斜杠，最长 {MAX_ID_LENGTH} 字")
    kind_value = merged.get("kind")
    if kind_value:
        kind = Kind(kind_value)
    else:
        kind = Kind.INTERPRETATION if merged.get("interprets") else Kind.POLICY
    if kind == Kind.INTERPRETATION and not merged.get("interprets"):
        raise MetadataError("政策解读稿缺少 interprets（所解读政策的文档编号）")
    return DocumentMeta(
        id=doc_id,
        title=merged.get("title") or default_id,
        disclosure=Disclosure(merged.get("disclosure") or Disclosure.WITHHELD),
        disclosure_source=disclosure_source,
        kind=kind,
        doc_no=merged.get("doc_no"),
        issuer=merged.get("issuer"),
        issued_on=_check_date("issued_on", merged.get("issued_on")),
        effective_on=_check_date("effective_on", merged.get("effective_on")),
        status=Status(merged.get("status") or Status.CURRENT),
        superseded_by=merged.get("superseded_by"),
        category=merged.get("category"),
        url=merged.get("url"),
        interprets=merged.get("interprets"),
        apply_note=merged.get("apply_note"),
    )
