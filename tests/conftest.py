"""Shared test helpers."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

import winit

# The directory holding the winit package this test run imported: site-packages after
# `pip install`, or the source tree when built in place.
WINIT_PARENT = str(pathlib.Path(winit.__file__).resolve().parents[1])


def python_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python that imports the same winit as the tests."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (WINIT_PARENT, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_python(args: list[str], *, env: dict[str, str] | None = None, cwd=None,
               **kwargs) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` like the tests' own interpreter would import winit.

    The child runs outside the source tree by default (a checkout's ``winit/``
    has no compiled extension unless built in place, and ``python -c``/``-m``
    put the working directory first on sys.path).
    """
    return subprocess.run([sys.executable, *args], env=env if env is not None else python_env(),
                          cwd=cwd if cwd is not None else tempfile.gettempdir(),
                          capture_output=True, text=True, **kwargs)


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run tests/test_fuzz.py with many more examples, from fresh seeds "
                          "(also WINIT_FUZZ_LONG=1)")
