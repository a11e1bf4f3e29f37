"""``policyqa index`` on a full disk and on a read-only folder, for real (tmpfs mounts): its own
exit code and a Chinese message, no traceback, nothing half-written left behind, the previous
version still serving. Old versions are pruned in build order, whatever the clock said."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from indexer.store import load_index
from tests.conftest import KNOWLEDGE, run_cli

LAWS = KNOWLEDGE / "policies" / "laws"
EXIT_WRITE_FAILED = 3


@contextmanager
def tmpfs(where: Path, size: int) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes mounted at ``where`` (skips when mounting is not permitted)."""
    where.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=True)


def _remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


def _size(folder: Path) -> int:
    """Bytes the files take on a tmpfs (whole pages)."""
    page = os.sysconf("SC_PAGE_SIZE")
    return sum(-(-p.stat().st_size // page) * page for p in folder.rglob("*") if p.is_file())


def _current(out: Path) -> str:
    return (out / "CURRENT").read_text("utf-8").strip()


def _versions(out: Path) -> set[str]:
    return {p.name for p in (out / "versions").iterdir()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small knowledge folder and its index, built once."""
    root = tmp_path_factory.mktemp("kb")
    (root / "policies").mkdir()
    for law in ("烟叶税法-2017", "房产税暂行条例-2011"):
        shutil.copy(LAWS / f"{law}.md", root / "policies")
    out = tmp_path_factory.mktemp("index") / "index"
    built = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert built.returncode == 0, built.stdout + built.stderr
    return root, out


def _assert_refused(result: subprocess.CompletedProcess[str], says: str) -> None:
    assert result.returncode == EXIT_WRITE_FAILED, result.stdout + result.stderr
    assert f"错误：索引目录 {says}" in result.stderr or f"错误：{says}" in result.stderr, (
        result.stderr
    )
    assert "未生成新的索引版本，未完成的输出已清理" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_full_disk(small: tuple[Path, Path], tmp_path: Path) -> None:
    root, built = small
    version = _size(built / "versions" / _current(built))
    # Room for the index and half of another version.
    with tmpfs(tmp_path / "disk", _size(built) + version // 2) as disk:
        out = disk / "index"
        shutil.copytree(built, out)
        before = _current(out)

        result = run_cli("index", str(root), "--out", str(out), "--quiet")
        _assert_refused(result, f"{out} 所在磁盘空间不足")
        assert f"当前版本 {before} 继续使用" in result.stderr
        assert _versions(out) == {before}  # no *.partial, no half version
        assert not (out / "CURRENT.tmp").exists()
        assert _current(out) == before
        assert len(load_index(out).chunks) > 0  # the previous version loads, checksums verified


def test_partial_output_of_a_killed_build_is_cleared_before_writing(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    root, built = small
    version = _size(built / "versions" / _current(built))
    with tmpfs(tmp_path / "disk", _size(built) + version * 3 // 2) as disk:
        out = disk / "index"
        shutil.copytree(built, out)
        # What a build killed while writing leaves behind: it keeps the disk full.
        junk = out / "versions" / f"{_current(out)}-killed.partial"
        junk.mkdir()
        (junk / "chunk_vectors.npy").write_bytes(os.urandom(version))

        result = run_cli("index", str(root), "--out", str(out), "--quiet")
        assert result.returncode == 0, result.stdout + result.stderr
        assert not junk.exists()
        assert not any(name.endswith(".partial") for name in _versions(out))
        assert len(_versions(out)) == 2


def test_read_only_folder(small: tuple[Path, Path], tmp_path: Path) -> None:
    root, built = small
    with tmpfs(tmp_path / "ro", 64 << 20) as mount:
        out = mount / "index"
        shutil.copytree(built, out)
        before = _current(out)
        _remount_read_only(mount)

        result = run_cli("index", str(root), "--out", str(out), "--quiet")
        _assert_refused(result, f"{out} 所在的文件系统是只读的")
        assert f"当前版本 {before} 继续使用" in result.stderr
        assert _versions(out) == {before} and _current(out) == before

        fresh = mount / "new-index"
        result = run_cli("index", str(root), "--out", str(fresh), "--quiet")
        _assert_refused(result, f"{fresh} 所在的文件系统是只读的")
        assert "目前没有可用的索引版本" in result.stderr


def test_help_documents_the_exit_codes() -> None:
    result = run_cli("index", "--help")
    assert result.returncode == 0
    assert "退出状态" in result.stdout
    assert "3  索引目录无法写入（磁盘已满、只读文件系统或没有权限）" in result.stdout


def test_versions_are_pruned_in_build_order_whatever_the_clock_said(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    root, built = small
    out = tmp_path / "index"
    shutil.copytree(built, out)
    # A version written while the clock was years ahead (or by a release that named versions
    # by the time) and served since.
    ahead = "20991231T235959000000Z"
    shutil.copytree(out / "versions" / _current(out), out / "versions" / ahead)
    (out / "CURRENT").write_text(ahead + "\n", "utf-8")

    first = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    assert ahead in _versions(out)  # the version served before this build is kept
    last_good = _current(out)

    second = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert second.returncode == 0, second.stdout + second.stderr
    # The two last builds are kept: the new one and the one served before it.
    assert _versions(out) == {last_good, _current(out)}
    assert _current(out) != last_good
