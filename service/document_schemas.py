"""HTTP bodies of the document routes (``/api/v1/staff/documents``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt, StrictStr

from service.documents.rules import FIELDS, MAX_REASON


class DocumentChange(BaseModel):
    """A metadata-only change: the fields given replace the metadata in force (an empty string
    clears a field); the others stay."""

    title: StrictStr | None = Field(default=None, max_length=300, description="标题")
    doc_no: StrictStr | None = Field(default=None, max_length=100, description="发文字号")
    issuer: StrictStr | None = Field(default=None, max_length=200, description="发文机关")
    issued_on: StrictStr | None = Field(default=None, max_length=10, description="发布日期")
    effective_on: StrictStr | None = Field(default=None, max_length=10, description="施行日期")
    status: StrictStr | None = Field(
        default=None, max_length=8, description="效力状态：现行有效/已修改/已失效/已废止"
    )
    superseded_by: StrictStr | None = Field(default=None, max_length=80, description="替代文件")
    interprets: StrictStr | None = Field(default=None, max_length=80, description="所解读的文件")
    disclosure: StrictStr | None = Field(
        default=None, max_length=8, description="公开属性：主动公开/依申请公开/不予公开"
    )
    kind: StrictStr | None = Field(default=None, max_length=16, description="policy/interpretation")
    category: StrictStr | None = Field(default=None, max_length=64, description="分类")
    apply_note: StrictStr | None = Field(default=None, max_length=2000, description="申请方式")
    url: StrictStr | None = Field(default=None, max_length=500, description="原文链接")

    def values(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        return {k: v for k, v in given.items() if k in FIELDS}


class StatusChange(BaseModel):
    status: StrictStr = Field(max_length=8, description="现行有效/已修改/已失效/已废止")
    superseded_by: StrictStr | None = Field(
        default=None, max_length=80, description="替代它的文件编号（空字符串：清除）"
    )


class SubmitRequest(BaseModel):
    version_ids: list[StrictInt] = Field(
        min_length=1, max_length=50, description="一起审核的草稿版本（例如政策与其解读稿）"
    )


class ReasonRequest(BaseModel):
    reason: StrictStr = Field(max_length=MAX_REASON, description="不予公开的原因")


class CommentRequest(BaseModel):
    comment: StrictStr = Field(max_length=MAX_REASON, description="退回意见")
