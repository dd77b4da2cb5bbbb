"""The Sphinx documentation builds: the user guide (README.md) and the API reference of
everything public, with no warning from the docs' own sources.

Warnings from winit's docstrings (numpydoc validation: PR01, PR02, RT01; docutils errors
inside a docstring) are reported as pytest warnings and fail the test only when strict:
``WINIT_DOCS_STRICT=1``.
"""

from __future__ import annotations

import ast
import html
import importlib
import os
import pathlib
import re
import warnings
import zlib

import pytest
from conftest import run_python

import winit

pytest.importorskip("sphinx", reason="the docs need sphinx: pip install '.[docs]'")
pytest.importorskip("numpydoc", reason="the docs need numpydoc: pip install '.[docs]'")
pytest.importorskip("myst_parser", reason="the docs need myst-parser: pip install '.[docs]'")

ROOT = pathlib.Path(__file__).resolve().parents[1]

# TEMPORARY (issue 11): winit's docstrings do not all pass numpydoc's checks yet. Until they
# do, docstring warnings are reported, not failures; then set this to "1" (the docs build
# as `python -m sphinx -W`).
STRICT_DEFAULT = "1"

# A warning about one of winit's docstrings, not about the docs' own sources.
DOCSTRING = re.compile(r"processing docstring for 'winit\.|docstring of winit\.")


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[pathlib.Path, list[str]]:
    """Build the HTML docs once: (output directory, warnings)."""
    out = tmp_path_factory.mktemp("docs")
    log = out / "warnings.txt"
    r = run_python(["-m", "sphinx", "-b", "html", "-q", "-E", "--keep-going", "-w", str(log),
                    str(ROOT / "docs"), str(out / "html")], cwd=out, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    text = log.read_text() if log.exists() else ""
    # one warning per entry: a line that does not start with whitespace, and its indented lines
    entries = [e.strip() for e in re.split(r"\n(?=\S)", text) if e.strip()]
    return out / "html", entries


def test_docs_sources_build_without_warnings(build):
    _, entries = build
    assert [e for e in entries if not DOCSTRING.search(e)] == []


def test_docstring_warnings(build):
    _, entries = build
    found = [e for e in entries if DOCSTRING.search(e)]
    if os.environ.get("WINIT_DOCS_STRICT", STRICT_DEFAULT) != "0":
        assert found == []
    if found:
        warnings.warn(f"{len(found)} docstring warnings (WINIT_DOCS_STRICT=1 fails on them):\n"
                      + "\n".join(found), UserWarning, stacklevel=1)


def _inventory(html_dir: pathlib.Path) -> set[str]:
    raw = (html_dir / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines()}


def test_every_public_name_is_documented(build):
    documented = _inventory(build[0])
    public = [f"winit.{n}" for n in winit.__all__ if n != "nn"]
    public += [f"winit.nn.{n}" for n in winit.nn.__all__]
    try:
        public += [f"winit.dask.{n}" for n in importlib.import_module("winit.dask").__all__]
    except ImportError:  # no dask here: the docs were built against a stand-in
        pass
    assert [n for n in public if n not in documented] == []
    assert "winit.nn" in documented and "winit.dask" in documented


# Modules outside ``winit.__all__`` with pages of their own (their libraries may be missing:
# the docs then stand them in).
OPTIONAL_MODULES = ("hf", "recipes", "keras", "jax", "torch")


def _source_all(module: str) -> list[str]:
    """``__all__`` of ``winit.<module>``, read from its source without importing it."""
    tree = ast.parse((pathlib.Path(winit.__file__).parent / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"winit.{module} has no __all__")


def test_optional_modules_are_documented(build):
    documented = _inventory(build[0])
    assert [m for m in OPTIONAL_MODULES if f"winit.{m}" not in documented] == []
    # a name re-exported at the top level (spec_from_hf_config) may be documented there
    missing = [f"winit.{m}.{n}" for m in OPTIONAL_MODULES for n in _source_all(m)
               if f"winit.{m}.{n}" not in documented and f"winit.{n}" not in documented]
    assert missing == []
    assert "winit.keras.WinitInitializer.get_config" in documented


def test_user_guide_is_the_readme(build):
    page = (build[0] / "guide.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    headings = re.findall(r"^#{2,3} (.+)$", (ROOT / "README.md").read_text(), re.M)
    assert len(headings) >= 8
    for h in headings:
        assert h.replace("`", "") in text, h
    assert (build[0] / "_images" / "tanh_inits.png").exists()
