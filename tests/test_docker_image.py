"""The Docker image's build context holds everything the installed service needs.

No Docker engine runs on the development machines or in CI, so the image cannot be built here.
This test does what `docker build` does up to `pip install .`: it copies exactly the paths the
Dockerfile's COPY lines name (in order, until the install) into an empty folder, builds the wheel
from that folder, and checks that every package of pyproject.toml and the files the channels and
the staff pages serve are inside. A package missing from the COPY lines fails here.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def _copies_before_install() -> list[tuple[str, str]]:
    copies: list[tuple[str, str]] = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "RUN" and "pip install" in line:
            return copies
        if words[0] == "COPY":
            *sources, target = [w for w in words[1:] if not w.startswith("--")]
            copies.extend((source, target) for source in sources)
    raise AssertionError("the Dockerfile has no `RUN pip install` line")


def test_every_package_and_served_file_reaches_the_image(tmp_path: Path) -> None:
    context = tmp_path / "app"
    context.mkdir()
    for source, target in _copies_before_install():
        origin = ROOT / source
        assert origin.exists(), f"the Dockerfile copies {source}, which does not exist"
        destination = context / target
        if origin.is_dir():
            shutil.copytree(origin, destination, dirs_exist_ok=True)
        else:
            destination = destination / origin.name if target.endswith("/") else destination
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("policyqa-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert f"{package}/__init__.py" in names, f"package {package} is not in the image"
    served = [
        path.relative_to(ROOT).as_posix()
        for folder in ("channels/static", "service/static", "service/templates")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
    ]
    assert served
    missing = [name for name in served if name not in names]
    assert not missing, f"served files missing from the image: {missing[:10]}"
    assert "service/db/migrations/env.py" in names


def test_the_entrypoint_is_copied_and_executable() -> None:
    copies = dict(
        (source, target)
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY ")
        for source, target in [shlex.split(line)[1:3]]
    )
    assert "docker/entrypoint.sh" in copies
    assert (ROOT / "docker/entrypoint.sh").stat().st_mode & 0o111
