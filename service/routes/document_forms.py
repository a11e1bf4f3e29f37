"""The multipart form of the document pages (service/routes/admin_documents.py): what was typed
(kept to be shown again), the chosen files read and checked by service/documents/uploads.py, and
a refusal placed next to the form field it names."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.datastructures import FormData, UploadFile

from service.documents import uploads
from service.documents.rules import LABELS
from service.problems import Problem

INTERPRETATION = "interp_"  # the prefix of the interpretation's fields in the upload form
FIELDS = ("id", *(name for name in LABELS if name != "id"))
# The fields typed by hand: any of them filled for the interpretation means one is meant
# (its selects always send a value).
TYPED = ("id", "title", "doc_no", "issuer", "issued_on", "effective_on", "category", "url")
MAX_FIELD = 2000


@dataclass
class FieldError(Exception):
    """A refusal placed next to the form field it names ("" = above the form only)."""

    field: str
    message: str
    status: int


def field_of(message: str, prefix: str = "") -> str:
    """The form field a refusal names ("公开属性 disclosure：…" → disclosure)."""
    for name, label in LABELS.items():
        if message.startswith((f"{label} {name}", f"{label}{name}")):
            return prefix + name
    return prefix + "file" if message.startswith("文件") else ""


def placed(exc: Problem, prefix: str = "") -> FieldError:
    return FieldError(field_of(exc.message, prefix), exc.message, exc.status)


def form_values(form: FormData) -> dict[str, str]:
    """What was typed, to be shown again (a browser never keeps the chosen files)."""
    out: dict[str, str] = {}
    for prefix in ("", INTERPRETATION):
        for name in FIELDS:
            value = form.get(prefix + name)
            out[prefix + name] = value[:MAX_FIELD] if isinstance(value, str) else ""
    replace_id = form.get("replace_id")
    out["replace_id"] = replace_id[:MAX_FIELD] if isinstance(replace_id, str) else ""
    out["submit_now"] = "on" if form.get("submit_now") == "on" else ""
    return out


def given(values: dict[str, str], prefix: str = "") -> dict[str, str]:
    """One document's metadata fields of the form (without its id)."""
    return {name: values[prefix + name] for name in FIELDS if name != "id"}


def interpretation_typed(values: dict[str, str]) -> bool:
    return any(values[INTERPRETATION + name].strip() for name in TYPED)


def chosen_file(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


async def read_file(upload: UploadFile, field: str, max_bytes: int) -> uploads.DocFile:
    """The checked file; its refusal is placed next to ``field``. Bounded: the body limit of the
    upload path (service/app.py)."""
    data = await upload.read()
    try:
        return await anyio.to_thread.run_sync(
            lambda: uploads.read_upload(upload.filename or "", data, max_bytes=max_bytes)
        )
    except Problem as exc:
        raise FieldError(field, exc.message, exc.status) from None
