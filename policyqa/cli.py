"""The ``policyqa`` command: index, serve, ask, eval, db, admin, faq, wechat."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from indexer.encoders import DEFAULT_ENCODER, ENCODER_CHOICES
from policyqa.curation_commands import add_curation_commands, apply_curation, document_overlay
from policyqa.faq_commands import add_faq_commands
from policyqa.state_commands import add_state_commands

# Exit codes of ``policyqa index`` (listed in its --help).
EXIT_KNOWLEDGE_ERRORS = 1
EXIT_USAGE = 2
EXIT_WRITE_FAILED = 3
INDEX_EXIT_CODES = """\
退出状态：
  0  索引已更新
  1  知识库中有文件出错（已报告路径和原因），其余文件已编入新版本
  2  参数错误、编码器不可用或另一个构建正在写入同一索引目录
  3  索引目录无法写入（磁盘已满、只读文件系统或没有权限）：未生成新版本，
     未完成的输出已清理，当前版本继续使用"""


def _cmd_index(args: argparse.Namespace) -> int:
    from indexer.build import BuildLocked, build_from
    from indexer.encoders import EncoderError, make_encoder
    from indexer.knowledge import load_knowledge
    from indexer.store import IndexWriteError, current_version
    from policyqa.progress import ProgressPrinter
    from policyqa.report import print_build_report

    knowledge = Path(args.knowledge)
    if not knowledge.is_dir():
        print(f"错误：知识库目录不存在：{knowledge}", file=sys.stderr)
        return 2
    try:
        encoder = make_encoder(args.encoder)
        print(f"正在索引 {knowledge} → {args.out}", file=sys.stderr)
        overlay, documents_source = (
            ([], None) if args.files_only else document_overlay(Path(args.out))
        )
        kb = load_knowledge(knowledge, overlay=overlay)
        faq_source = None if args.files_only else apply_curation(kb, Path(args.out))
        report = build_from(
            kb,
            Path(args.out),
            encoder=encoder,
            progress=None if args.quiet else ProgressPrinter(),
            source=str(knowledge.resolve()),
            faq_source=faq_source,
            documents_source=documents_source,
        )
    except (EncoderError, BuildLocked) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except IndexWriteError as exc:
        try:
            kept = current_version(Path(args.out))
        except OSError:
            kept = None
        still = f"当前版本 {kept} 继续使用" if kept else "目前没有可用的索引版本"
        print(f"错误：{exc}，未生成新的索引版本，未完成的输出已清理；{still}。", file=sys.stderr)
        return EXIT_WRITE_FAILED
    print_build_report(report)
    return EXIT_KNOWLEDGE_ERRORS if report.failed else 0


def _state_problem() -> str | None:
    """Migrates the default SQLite file (or checks a PostgreSQL schema) once, before the
    workers start, and checks the office-hours settings."""
    from service import config
    from service.db.engine import Database
    from service.db.migrate import SchemaError, ensure_schema
    from service.routes.state import office_hours

    settings = config.load()
    try:
        office_hours(settings)
    except ValueError as exc:
        return str(exc)
    database = Database(settings.effective_database_url())
    try:
        ensure_schema(database)
    except SchemaError as exc:
        return str(exc)
    except Exception as exc:
        return f"数据库不可用：{exc.__class__.__name__}: {str(exc)[:200]}"
    finally:
        database.dispose()
    return None


def _cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from service import config

    if not Path(args.index).is_dir():
        print(f"错误：索引目录不存在：{args.index}，请先运行 policyqa index", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("错误：--workers 至少为 1", file=sys.stderr)
        return 2
    # The worker processes read their settings from the environment (config.load()).
    os.environ["POLICYQA_INDEX_DIR"] = str(Path(args.index).resolve())
    if args.model_dir:
        os.environ["POLICYQA_ENCODER_MODEL_DIR"] = args.model_dir
    # Each worker encodes questions on its share of the cores.
    os.environ.setdefault(
        "POLICYQA_ENCODE_SLOTS", str(max(1, (os.cpu_count() or 1) // args.workers))
    )
    try:
        config.load()  # checked once here: a worker that fails on it would only print a traceback
    except config.ConfigError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    problem = _state_problem()
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
        return 2
    uvicorn.run(
        "policyqa.server:create_server",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
        # Event streams stay open for minutes: a stop waits for them this long, then cuts them
        # (the clients reconnect with Last-Event-ID).
        timeout_graceful_shutdown=5,
    )
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    import json

    from indexer.encoders import EncoderError
    from indexer.store import IndexLoadError
    from policyqa.render import render_answer
    from service import config
    from service.engine import load_answerer
    from service.questions import QuestionError, check_question
    from service.schemas import AskResponse

    try:
        check_question(args.question)
        settings = config.load(index_dir=args.index, encoder_model_dir=args.model_dir)
        answerer = load_answerer(settings.index_dir, encoder_model_dir=settings.encoder_model_dir)
    except (QuestionError, config.ConfigError, IndexLoadError, EncoderError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    answer = answerer.ask(args.question)
    if args.json:
        print(
            # One question, no conversation: no session id is issued on the command line.
            json.dumps(
                AskResponse.from_answer(answer, session_id="").model_dump(),
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(render_answer(answer))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from indexer.encoders import EncoderError, make_encoder
    from policyqa.evaluation.dataset import DatasetError
    from policyqa.evaluation.run import evaluate
    from policyqa.progress import ProgressPrinter

    folders = [Path(f) for f in args.datasets]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"错误：数据集目录不存在：{'、'.join(missing)}", file=sys.stderr)
        return 2
    try:
        result = evaluate(
            folders,
            encoder=make_encoder(args.encoder),
            index_dir=Path(args.index_dir) if args.index_dir else None,
            progress=ProgressPrinter(),
        )
    except (DatasetError, EncoderError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policyqa", description="政策咨询综合服务窗口")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "index",
        help="把知识库目录编入索引",
        epilog=INDEX_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("knowledge", help="知识库目录")
    p.add_argument("--out", required=True, help="索引目录")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"句向量编码器：{ENCODER_CHOICES}")
    p.add_argument("--quiet", action="store_true", help="不显示进度")
    p.add_argument(
        "--files-only",
        action="store_true",
        help="文件和问答只取自知识库目录（不读写数据库；默认在目录之上加入数据库中已发布的文件，"
        "问答取数据库中已发布的，空库先导入目录）",
    )
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("serve", help="启动 HTTP 服务")
    p.add_argument("--index", required=True, help="索引目录")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="工作进程数（会话保存在数据库中，各进程共享）",
    )
    p.add_argument("--access-log", action="store_true", help="记录每个请求")
    p.add_argument("--model-dir", help="索引由 sentence-transformers 模型生成时：模型的本地目录")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("ask", help="在命令行提问")
    p.add_argument("question", help="问题")
    p.add_argument("--index", required=True, help="索引目录")
    p.add_argument("--json", action="store_true", help="输出 JSON（与 HTTP 接口相同）")
    p.add_argument("--model-dir", help="索引由 sentence-transformers 模型生成时：模型的本地目录")
    p.set_defaults(func=_cmd_ask)

    p = sub.add_parser("eval", help="在评测数据集上评测检索与回答质量")
    p.add_argument("datasets", nargs="+", help="数据集目录（可多个，合并为一个数据集）")
    p.add_argument("--json", action="store_true", help="输出单行 JSON")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help=ENCODER_CHOICES)
    p.add_argument("--index-dir", help="把评测索引保存在此目录（再次评测时只计算变化的部分）")
    p.set_defaults(func=_cmd_eval)

    add_state_commands(sub)
    add_curation_commands(add_faq_commands(sub))
    from channels.wechat_cli import add_parser as add_wechat_parser

    add_wechat_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
