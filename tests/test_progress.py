"""Progress of ``policyqa index``: lines with the share done and an estimate of the time left."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from policyqa.progress import ProgressPrinter, duration
from tests.conftest import KNOWLEDGE, run_cli


def test_time_left_is_estimated_from_the_rate_so_far() -> None:
    now = [100.0]
    out = io.StringIO()
    printer = ProgressPrinter(out, interval=0.5, clock=lambda: now[0])
    printer("段落", 256, 2816)  # the first batch: no rate yet
    now[0] += 10
    printer("段落", 512, 2816)  # 256 in 10 s: 2304 left, 90 s
    now[0] += 0.1
    printer("段落", 768, 2816)  # within the interval: not printed
    now[0] += 60
    printer("段落", 2816, 2816)  # the last one is always printed
    assert out.getvalue().splitlines() == [
        "  向量化段落：256/2816（9%），正在估算剩余时间",
        "  向量化段落：512/2816（18%），预计还需 1 分 30 秒",
        "  向量化段落：2816/2816（100%），完成",
    ]


def test_duration_in_chinese() -> None:
    assert duration(40.4) == "40 秒"
    assert duration(65) == "1 分 05 秒"
    assert duration(-3) == "0 秒"


def test_index_command_shows_progress(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(KNOWLEDGE / "policies/laws/国库券条例-2011.md", knowledge)
    result = run_cli("index", str(knowledge), "--out", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "向量化段落：" in result.stderr and "（100%），完成" in result.stderr
