"""An incremental build re-uses only what the current version's manifest vouches for: a damaged
vector file is never copied into a new version under fresh, valid checksums."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from indexer.store import load_index
from tests.conftest import KNOWLEDGE, run_cli

LAWS = KNOWLEDGE / "policies" / "laws"


def _version(out: Path) -> Path:
    return out / "versions" / (out / "CURRENT").read_text("utf-8").strip()


def _build(root: Path, out: Path) -> str:
    result = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_damaged_vectors_are_re_embedded_not_copied(tmp_path: Path) -> None:
    root, out = tmp_path / "kb", tmp_path / "index"
    (root / "policies").mkdir(parents=True)
    for law in ("烟叶税法-2017", "房产税暂行条例-2011"):
        shutil.copy(LAWS / f"{law}.md", root / "policies")
    (root / "faq").mkdir()
    (root / "faq" / "烟叶税.yaml").write_text(
        "- id: yys\n  question: 烟叶税的税率是多少？\n  answer: 烟叶税的税率为百分之二十。\n"
        "  sources:\n    - doc_id: 烟叶税法-2017\n      article: 第四条\n",
        "utf-8",
    )
    _build(root, out)
    good = np.load(_version(out) / "chunk_vectors.npy")
    chunks = len(good)
    faq_questions = len(np.load(_version(out) / "faq_vectors.npy"))

    # Bit rot: a valid .npy whose vectors are no longer the ones the manifest hashed.
    damaged = good.copy()
    damaged[:, : damaged.shape[1] // 2] = 0.0
    np.save(_version(out) / "chunk_vectors.npy", damaged)

    stdout = _build(root, out)
    assert f"向量：新计算 {chunks}，沿用 {faq_questions}" in stdout
    assert "警告：上一版本的 chunk_vectors.npy 缺失或校验失败（sha256 不符）" in stdout
    rebuilt = load_index(out)  # the new version's own checksums hold...
    assert np.allclose(rebuilt.chunk_vectors.vectors, good, atol=1e-5)  # ...over good vectors
    manifest = json.loads((_version(out) / "manifest.json").read_text("utf-8"))
    assert manifest["previous_damaged"] == ["chunk_vectors.npy"]

    # The repaired version is re-used in full by the next build.
    stdout = _build(root, out)
    assert f"向量：新计算 0，沿用 {chunks + faq_questions}" in stdout
    assert "校验失败" not in stdout


def test_unreadable_previous_manifest_costs_a_full_embed(tmp_path: Path) -> None:
    root, out = tmp_path / "kb", tmp_path / "index"
    (root / "policies").mkdir(parents=True)
    shutil.copy(LAWS / "烟叶税法-2017.md", root / "policies")
    _build(root, out)
    chunks = len(load_index(out).chunks)
    (_version(out) / "manifest.json").write_text('{"format": "policyqa-index", "files": {', "utf-8")

    stdout = _build(root, out)
    assert f"向量：新计算 {chunks}，沿用 0" in stdout
    assert "上一版本的 manifest.json 缺失或校验失败" in stdout
    assert len(load_index(out).chunks) == chunks
