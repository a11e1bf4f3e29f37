"""Laws whose text refers to an annexed table: the table's rows are retrievable with its title and
header, a table the text lacks is reported by ``policyqa index`` and recorded in the index, and an
answer resting on such a law says that the table is not in the knowledge base and where the
official text is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from indexer.sentences import MAX_EXCERPT
from tests.conftest import KNOWLEDGE, run_cli

LAWS = KNOWLEDGE / "policies" / "laws"
IIT_TABLE_ONE = "个人所得税税率表一（综合所得适用）"
IIT_TABLE_TWO = "个人所得税税率表二（经营所得适用）"
HEADER = "级数 | 全年应纳税所得额 | 税率（%）"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tax_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("kb-annexes")
    (root / "policies").mkdir()
    for law in ("个人所得税法-2018", "印花税法-2021", "环境保护税法-2018", "烟叶税法-2017"):
        shutil.copy(LAWS / f"{law}.md", root / "policies")
    out = tmp_path_factory.mktemp("index-annexes") / "index"  # its own state database
    result = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr  # warnings, not errors
    version = out / "versions" / (out / "CURRENT").read_text("utf-8").strip()
    return version, result.stdout


def test_every_table_row_is_a_chunk_with_title_and_header(tax_build: tuple[Path, str]) -> None:
    version, _ = tax_build
    chunks = [c for c in _jsonl(version / "chunks.jsonl") if c["doc_id"] == "个人所得税法-2018"]
    rows = {
        title: [c["text"] for c in chunks if c["section"] == title]
        for title in (IIT_TABLE_ONE, IIT_TABLE_TWO)
    }
    assert len(rows[IIT_TABLE_ONE]) == 7 and len(rows[IIT_TABLE_TWO]) == 5
    assert f"{HEADER}\n1 | 不超过36000元的 | 3" in rows[IIT_TABLE_ONE]
    assert f"{HEADER}\n7 | 超过960000元的部分 | 45" in rows[IIT_TABLE_ONE]
    assert f"{HEADER}\n5 | 超过500000元的部分 | 35" in rows[IIT_TABLE_TWO]
    assert all(text.startswith(HEADER + "\n") for texts in rows.values() for text in texts)
    # The notes under a table are a chunk of that table; the last article is only itself.
    notes = [c["text"] for c in chunks if c["section"] == f"{IIT_TABLE_ONE} › 注"]
    assert len(notes) == 1 and "减除费用六万元" in notes[0]
    last = [c["text"] for c in chunks if c["section"] == "第二十二条"]
    assert last == ["第二十二条 本法自公布之日起施行。"]
    assert all(len(c["text"]) <= MAX_EXCERPT for c in _jsonl(version / "chunks.jsonl"))


def test_missing_annexes_are_reported_and_recorded(tax_build: tuple[Path, str]) -> None:
    version, stdout = tax_build
    assert (
        "警告 policies/印花税法-2021.md：正文提到的附件或附表《印花税税目税率表》不在文本中"
        in stdout
    ), stdout
    assert (
        "警告 policies/环境保护税法-2018.md：正文提到的附件或附表"
        "《环境保护税税目税额表》、《应税污染物和当量值表》不在文本中" in stdout
    ), stdout
    assert "个人所得税法-2018.md：正文提到" not in stdout  # its tables are in its text now
    documents = {d["meta"]["id"]: d for d in _jsonl(version / "documents.jsonl")}
    assert documents["印花税法-2021"]["missing_annexes"] == ["印花税税目税率表"]
    assert documents["环境保护税法-2018"]["missing_annexes"] == [
        "环境保护税税目税额表",
        "应税污染物和当量值表",
    ]
    assert documents["个人所得税法-2018"]["missing_annexes"] == []
    assert documents["烟叶税法-2017"]["missing_annexes"] == []
    manifest = json.loads((version / "manifest.json").read_text("utf-8"))
    warned = [p for p in manifest["problems"] if p["path"] == "policies/印花税法-2021.md"]
    assert len(warned) == 1 and not warned[0]["error"]


def _ask(index: Path, question: str) -> dict[str, Any]:
    result = run_cli("ask", question, "--index", str(index), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


STAMP_DUTY_NOTE = (
    "说明：《中华人民共和国印花税法》所附《印花税税目税率表》未收入本知识库，"
    "具体内容请查阅国家法律法规数据库（https://flk.npc.gov.cn/）中的官方文本。"
)


@pytest.mark.parametrize(
    ("question", "kind"),
    # Both are answered by curated FAQ entries since the sample FAQ grew; the passage path's
    # hook is the same one line in service/answering.py.
    [("签订借款合同印花税税率是多少", "faq"), ("印花税法第四条怎么规定的", "faq")],
)
def test_stamp_duty_rate_answer_says_the_table_is_not_in_the_knowledge_base(
    sample_index: Path, question: str, kind: str
) -> None:
    answer = _ask(sample_index, question)
    assert answer["type"] == kind, answer
    assert answer["sources"][0]["doc_id"] == "印花税法-2021", answer
    assert answer["answer"].endswith(STAMP_DUTY_NOTE), answer["answer"]


def _shown(answer: dict[str, Any]) -> str:
    """What the citizen reads: the answer and the excerpts of its citations."""
    return answer["answer"] + "\n".join(s["excerpt"] for s in answer["sources"])


def test_an_answer_from_a_law_with_its_tables_has_no_such_note(sample_index: Path) -> None:
    # A curated FAQ (quoting the table) or the table row itself: either way the bracket is
    # shown with its source, and no "not in the knowledge base" note.
    answer = _ask(sample_index, "工资薪金全年应纳税所得额不超过36000元适用税率")
    assert answer["type"] in ("faq", "passage"), answer
    assert answer["sources"][0]["doc_id"] == "个人所得税法-2018", answer
    shown = _shown(answer)
    assert "不超过36000元的部分3%" in shown or "1 | 不超过36000元的 | 3" in shown, shown
    assert "未收入本知识库" not in answer["answer"]


def test_income_tax_top_bracket_is_found(sample_index: Path) -> None:
    answer = _ask(sample_index, "综合所得超过960000元的部分税率")
    assert answer["sources"][0]["doc_id"] == "个人所得税法-2018", answer
    shown = _shown(answer)
    assert "超过960000元的部分45%" in shown or "7 | 超过960000元的部分 | 45" in shown, shown
