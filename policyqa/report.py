"""The build summary that ``policyqa index`` prints."""

from __future__ import annotations

import sys
from typing import TextIO

from indexer.build import BuildReport


def _names(ids: list[str], limit: int = 8) -> str:
    shown = "、".join(ids[:limit])
    return shown + (f" 等 {len(ids)} 个" if len(ids) > limit else "")


def print_build_report(report: BuildReport, out: TextIO = sys.stdout) -> None:
    w = out.write
    w(
        f"索引版本 {report.version}：{report.documents} 个文档，{report.chunks} 个段落，"
        f"{report.faqs} 条问答，用时 {report.seconds:.1f} 秒\n"
    )
    w(
        f"文档变化：新增 {len(report.added)}，修改 {len(report.changed)}，删除 {len(report.removed)}，"
        f"未变 {report.unchanged}，跳过 {len(report.skipped)}\n"
    )
    for label, ids in (("新增", report.added), ("修改", report.changed), ("删除", report.removed)):
        if ids:
            w(f"  {label}：{_names(ids)}\n")
    w(f"向量：新计算 {report.embedded}，沿用 {report.reused}\n")
    if report.damaged:
        w(
            f"警告：上一版本的 {'、'.join(report.damaged)} 缺失或校验失败（sha256 不符），"
            "未沿用其中的向量，已重新计算\n"
        )
    for s in report.skipped:
        w(f"跳过 {s.path}：{s.reason}\n")
    errors = [p for p in report.problems if p.fatal]
    warnings = [p for p in report.problems if not p.fatal]
    for p in warnings:
        w(f"警告 {p.path}：{p.reason}\n")
    for p in errors:
        w(f"错误 {p.path}：{p.reason}\n")
    if errors:
        w(f"有 {len(errors)} 个错误，其余文件已索引。\n")
