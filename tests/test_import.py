"""Importing winit where its compiled extensions are missing says why."""

from __future__ import annotations

import pathlib
import shutil

from conftest import run_python

import winit

PKG = pathlib.Path(winit.__file__).resolve().parent


def _copy_sources(dst: pathlib.Path) -> None:
    """Copy winit's Python files (no compiled extension) to ``dst/winit``."""
    (dst / "winit").mkdir(parents=True)
    for f in PKG.glob("*.py"):
        shutil.copy(f, dst / "winit" / f.name)


def test_import_from_source_directory_says_so(tmp_path):
    _copy_sources(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'winit'\n")
    (tmp_path / "src").mkdir()
    r = run_python(["-c", "import winit"], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert r.returncode != 0
    assert "you are importing winit from its source directory" in r.stderr
    assert "circular import" not in r.stderr.splitlines()[-1]


def test_import_without_extensions_elsewhere_says_reinstall(tmp_path):
    _copy_sources(tmp_path)
    r = run_python(["-c", "import winit"], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert r.returncode != 0
    assert "compiled extensions could not be imported" in r.stderr.splitlines()[-1]
