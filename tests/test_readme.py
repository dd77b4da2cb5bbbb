"""README examples run as written, and CI runs the README's quick-start commands."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 1


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_block_runs(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[i]
    if "dask.distributed" in code or "import dask" in code:
        pytest.importorskip("dask.distributed")
    if "torch" in code:
        pytest.importorskip("torch")
    exec(compile(code, f"README.md python block {i}", "exec"), {"__name__": "__readme__"})


def test_quick_start_commands_are_what_ci_runs():
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    bash = re.findall(r"```bash\n(.*?)```", section, re.S)[0]
    commands = [line.split("#")[0].strip() for line in bash.strip().splitlines()]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    for cmd in commands:
        assert cmd in ci, f"README quick-start command not run by .ci/run: {cmd}"
