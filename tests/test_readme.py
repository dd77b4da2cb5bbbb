"""README examples run as written, and CI runs the README's quick-start commands."""

from __future__ import annotations

import os
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
    if "import keras" in code:
        monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "jax"))
        pytest.importorskip("jax")
        pytest.importorskip("keras")
    if "import jax" in code:
        pytest.importorskip("jax")
    exec(compile(code, f"README.md python block {i}", "exec"), {"__name__": "__readme__"})


def test_quick_start_commands_are_what_ci_runs():
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    bash = re.findall(r"```bash\n(.*?)```", section, re.S)[0]
    commands = [line.split("#")[0].strip() for line in bash.strip().splitlines()]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    for cmd in commands:
        assert cmd in ci, f"README quick-start command not run by .ci/run: {cmd}"


WRITERS = [i for i, b in enumerate(BLOCKS) if re.search(r"init_model\(|\.plot\(|to_npy", b)]


def test_readme_writers_found():
    assert len(WRITERS) >= 2


@pytest.mark.parametrize("i", WRITERS)
def test_readme_block_runs_twice(i, tmp_path, monkeypatch):
    """A reader who runs an example again (its files already written) gets no error."""
    test_readme_block_runs(i, tmp_path, monkeypatch)
    test_readme_block_runs(i, tmp_path, monkeypatch)


def test_readme_json_and_toml_specs_agree():
    import json
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    import winit

    js = re.findall(r"```json\n(.*?)```", README, re.S)
    tm = re.findall(r"```toml\n(.*?)```", README, re.S)
    assert js and tm
    a = winit.load_spec(json.loads(js[0]))
    b = winit.load_spec(tomllib.loads(tm[0]))
    assert a == b and set(a) == {"embed.weight", "proj.weight", "proj.bias"}


def test_readme_torch_bfloat16_view_fills_the_tensor():
    torch = pytest.importorskip("torch")
    import ml_dtypes
    import numpy as np

    import winit

    t = torch.empty(64, 32, dtype=torch.bfloat16)
    winit.normal_(t.view(torch.int16).numpy().view(ml_dtypes.bfloat16), std=0.02, seed=0)
    want = winit.normal_(np.empty((64, 32), ml_dtypes.bfloat16), std=0.02, seed=0)
    assert np.array_equal(t.view(torch.int16).numpy(), want.view(np.int16))
