"""``policyqa faq check FILE`` and ``policyqa faq convert IN OUT``: FAQ files on the command line.

Both read through :func:`indexer.faq_files.parse_faq_upload`, the path an upload takes, so a file
that passes ``check`` is one the curation pages accept.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from indexer.faq_files import FaqUpload

EXIT_ROW_ERRORS = 1
EXIT_USAGE = 2

FAQ_EXIT_CODES = """\
退出状态：
  0  文件没有错误（convert：已写入输出文件）
  1  文件有错误（已逐行列出）或整个文件无法使用；convert 不写输出文件
  2  参数错误：文件不存在、无法读取或输出类型不支持"""


def _load(name: str, categories: set[str] | None) -> tuple[FaqUpload | None, int]:
    """The parsed file, its warnings and row errors printed; or None and the exit status."""
    from indexer.faq_files import FaqFileError, parse_faq_upload

    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"错误：无法读取 {name}：{exc.strerror or exc}", file=sys.stderr)
        return None, EXIT_USAGE
    try:
        upload = parse_faq_upload(data, path.name, categories)
    except FaqFileError as exc:
        print(f"错误 {name}：{exc}", file=sys.stderr)
        return None, EXIT_ROW_ERRORS
    for note in upload.warnings:
        print(f"警告 {name}：{note}", file=sys.stderr)
    for error in upload.errors:
        print(f"错误 {name}：{error.describe()}")
    return upload, 0


def _summary(upload: FaqUpload) -> str:
    bad_rows = len({error.row for error in upload.errors})
    return f"共 {len(upload.entries) + bad_rows} 条：正确 {len(upload.entries)} 条，有错误 {bad_rows} 条"


def _cmd_check(args: argparse.Namespace) -> int:
    categories = None
    if args.category:
        parts = (re.split(r"[,，、]", part) for part in args.category)
        categories = {name.strip() for names in parts for name in names if name.strip()}
    upload, status = _load(args.file, categories)
    if upload is None:
        return status
    print(_summary(upload))
    return EXIT_ROW_ERRORS if upload.errors else 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from indexer.faq_files import FAQ_SUFFIXES, dump_faq_table, dump_faq_yaml

    target = Path(args.output)
    suffix = target.suffix.lower()
    if suffix not in FAQ_SUFFIXES:
        allowed = "、".join(sorted(FAQ_SUFFIXES))
        print(
            f"错误：不支持的输出类型：{suffix or '（没有扩展名）'}（可用 {allowed}）",
            file=sys.stderr,
        )
        return EXIT_USAGE
    upload, status = _load(args.input, None)
    if upload is None:
        return status
    if upload.errors:
        print(f"{_summary(upload)}；未写入 {args.output}", file=sys.stderr)
        return EXIT_ROW_ERRORS
    entries = [row.entry for row in upload.entries]
    headers: Literal["en", "zh"] = "zh" if args.chinese_headers else "en"
    if suffix == ".csv":
        data = dump_faq_table(entries, "csv", headers=headers)
    elif suffix == ".xlsx":
        data = dump_faq_table(entries, "xlsx", headers=headers)
    else:
        data = dump_faq_yaml(entries).encode("utf-8")
    try:
        _write_atomically(target, data)
    except OSError as exc:
        print(f"错误：无法写入 {args.output}：{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"已写入 {args.output}：{len(entries)} 条")
    return 0


def _write_atomically(target: Path, data: bytes) -> None:
    """Write beside ``target`` and rename: a failed write leaves no half file behind."""
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_faq_commands(sub: Any) -> Any:
    """Adds ``policyqa faq …``; returns its sub-command registry (for more ``faq`` commands)."""
    p = sub.add_parser("faq", help="检查、转换 FAQ 文件（.yaml / .csv / .xlsx）")
    faq = p.add_subparsers(dest="faq_command", required=True)

    p = faq.add_parser(
        "check",
        help="逐行检查 FAQ 文件，列出错误（行、列、原因）",
        epilog=FAQ_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="FAQ 文件（.yaml、.yml、.csv 或 .xlsx）")
    p.add_argument(
        "--category",
        action="append",
        help="允许的分类（可重复，或用逗号、顿号分隔）；不给则不检查分类",
    )
    p.set_defaults(func=_cmd_check)

    p = faq.add_parser(
        "convert",
        help="在 .yaml、.csv、.xlsx 之间转换 FAQ 文件（按扩展名）",
        epilog=FAQ_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="输入文件")
    p.add_argument("output", help="输出文件；有错误时不写")
    p.add_argument("--chinese-headers", action="store_true", help="表格使用中文列名")
    p.set_defaults(func=_cmd_convert)
    return faq
