"""``policyqa index`` takes the FAQ from the curation database: an empty database is seeded from
the knowledge folder; a pair whose document is 已废止 is flagged for review and left out of the
index (the citizen gets the passage answer with the validity note); the folder's FAQ files are
not read again once the database holds the FAQ, ``policyqa faq import`` adds new ids."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from indexer.store import VERSIONS, current_version
from service.db.engine import get_database
from service.db.models import FaqItem
from tests.conftest import run_cli

CURRENT_DOC = """---
id: 采购办法-2020
title: 某市政府采购管理办法
issuer: 某市财政局
issued_on: 2020-01-01
status: 现行有效
disclosure: 主动公开
---
第一条 为了规范政府采购行为，制定本办法。

第二条 采购人应当在采购活动结束后十五个工作日内公告采购结果。
"""
REPEALED_DOC = (
    CURRENT_DOC.replace("采购办法-2020", "采购办法-2010")
    .replace("现行有效", "已废止")
    .replace("2020-01-01", "2010-01-01")
)
FAQS = """
- id: gg-jieguo
  question: 采购结果多久内公告？
  answer: 采购活动结束后十五个工作日内公告采购结果（第二条）。
  category: 政府采购
  sources:
    - doc_id: 采购办法-2020
      article: 第二条
- id: gg-jiuban
  question: 旧办法规定的采购结果公告期限是多少？
  answer: 旧办法已废止。
  category: 政府采购
  sources:
    - doc_id: 采购办法-2010
      article: 第二条
"""


def faqs_in_index(index: Path) -> list[str]:
    version = current_version(index)
    assert version is not None
    rows = (index / VERSIONS / version / "faqs.jsonl").read_text("utf-8").splitlines()
    return [json.loads(row)["id"] for row in rows]


def test_index_seeds_the_database_and_leaves_out_flagged_pairs(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    (knowledge / "faq").mkdir(parents=True)
    (knowledge / "current.md").write_text(CURRENT_DOC, "utf-8")
    (knowledge / "repealed.md").write_text(REPEALED_DOC, "utf-8")
    (knowledge / "faq" / "faq.yaml").write_text(FAQS, "utf-8")
    index = tmp_path / "index"
    env = {"DATABASE_URL": "", "POLICYQA_DATABASE_URL": ""}

    built = run_cli("index", str(knowledge), "--out", str(index), "--quiet", env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "已废止，已停止提供，需复核" in built.stdout
    assert faqs_in_index(index) == ["gg-jieguo"]
    url = f"sqlite:///{tmp_path / 'policyqa.sqlite'}"  # next to the index folder
    with get_database(url).session() as db:
        items = {i.id: i for i in db.scalars(select(FaqItem))}
    assert set(items) == {"gg-jieguo", "gg-jiuban"}
    assert items["gg-jieguo"].flag is None and items["gg-jieguo"].published_version_id
    assert items["gg-jiuban"].flag == "依据文件《某市政府采购管理办法》已废止，已停止提供，需复核"

    # The database is the source now: editing the folder's file changes nothing…
    (knowledge / "faq" / "faq.yaml").write_text(FAQS.replace("十五个工作日", "三天"), "utf-8")
    assert run_cli("index", str(knowledge), "--out", str(index), "--quiet", env=env).returncode == 0
    version = current_version(index)
    assert version is not None
    assert "三天" not in (index / VERSIONS / version / "faqs.jsonl").read_text("utf-8")
    # …and an explicit import adds only new ids.
    (knowledge / "faq" / "more.yaml").write_text(
        FAQS.replace("gg-jieguo", "gg-xin").split("- id: gg-jiuban")[0], "utf-8"
    )
    imported = run_cli("faq", "import", str(knowledge), "--database-url", url)
    assert imported.returncode == 0 and "已导入 1 条问答" in imported.stdout, imported.stderr
    # --files-only ignores the database.
    files = run_cli(
        "index", str(knowledge), "--out", str(index), "--quiet", "--files-only", env=env
    )
    assert files.returncode == 0
    assert sorted(faqs_in_index(index)) == ["gg-jieguo", "gg-jiuban", "gg-xin"]  # files as before
    assert run_cli("index", str(knowledge), "--out", str(index), "--quiet", env=env).returncode == 0
    assert sorted(faqs_in_index(index)) == ["gg-jieguo", "gg-xin"]
