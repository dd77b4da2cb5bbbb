"""The ``winit`` command line, run as ``python -m winit`` in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from conftest import python_env, run_python

import winit
from winit.cli import main

needs_safetensors = pytest.mark.skipif(
    importlib.util.find_spec("safetensors") is None,
    reason="reads .safetensors files through the safetensors library (io extra)",
)

ROOT = Path(__file__).resolve().parents[1]
SPEC = {
    "w": {"shape": [64, 32], "init": "normal", "std": 0.02},
    "b": {"shape": [64], "init": "zeros"},
    "g": {"shape": [32], "init": "ones"},
}


def run(*args, cwd=None):
    env = python_env()
    env.pop("WINIT_DEBUG", None)
    return run_python(["-m", "winit", *map(str, args)], env=env, cwd=cwd, timeout=300)


def one_line_error(r, *needles):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(SPEC))
    return p


@needs_safetensors
def test_default_spec_full_size_bfloat16(tmp_path):
    """The README quick start: the bundled GPT-2 small spec, 124M parameters, ~250 MB."""
    from safetensors import safe_open

    out = tmp_path / "gpt2.safetensors"
    r = run("init", "-o", out, "--dtype", "bfloat16", "--no-progress", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "GB/s" in r.stdout and "124,439,808" in r.stdout and "148" in r.stdout
    assert "  spec        gpt2_small (bundled)\n" in r.stdout
    assert out.stat().st_size > 248_000_000
    with safe_open(str(out), framework="numpy") as f:
        assert len(f.keys()) == 148
        assert f.get_slice("wte.weight").get_shape() == [50257, 768]
        got = {k: f.get_tensor(k) for k in ("wpe.weight", "h.11.mlp.c_proj.weight", "ln_f.weight")}
    spec = winit.load_spec("gpt2_small")
    # the name-keyed streams make a sub-spec reproduce exactly those tensors
    ref = winit.init_model({k: spec[k] for k in got}, seed=3, dtype="bfloat16", progress=False)
    for k in got:
        assert np.array_equal(bits(got[k]), bits(ref[k])), k
    assert abs(float(np.std(got["h.11.mlp.c_proj.weight"].astype(np.float32)))
               - 0.02 / np.sqrt(24)) < 2e-4


@needs_safetensors
def test_spec_file_progress_and_npy_dir(tmp_path, spec_file):
    from safetensors.numpy import load_file

    out = tmp_path / "m.safetensors"
    r = run("init", spec_file, "-o", out, "--seed", "1", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert f"  spec        {spec_file}\n" in r.stdout  # a path, not "(bundled)"
    assert "B/s" in r.stderr  # the tqdm bar, in bytes
    ref = winit.init_model(SPEC, seed=1, progress=False)
    got = load_file(str(out))
    assert all(np.array_equal(bits(got[k]), bits(ref[k])) for k in SPEC)
    d = tmp_path / "npy"
    r = run("init", spec_file, "-o", d, "--seed", "1", "--dtype", "float64", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert np.load(d / "w.npy", mmap_mode="r").dtype == np.float64


@needs_safetensors
def test_toml_spec(tmp_path):
    from safetensors.numpy import load_file

    p = tmp_path / "s.toml"
    p.write_text('[layer.weight]\nshape = [8, 4]\ninit = "xavier_uniform"\n')
    r = run("init", p, "-o", tmp_path / "t.safetensors", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert set(load_file(str(tmp_path / "t.safetensors"))) == {"layer.weight"}


@needs_safetensors
def test_overwrite(tmp_path, spec_file):
    from safetensors.numpy import load_file

    out = tmp_path / "m.safetensors"
    out.write_bytes(b"old")
    r = run("init", spec_file, "-o", out, "--no-progress")
    one_line_error(r, "already exists", "--overwrite")
    assert out.read_bytes() == b"old"
    r = run("init", spec_file, "-o", out, "--no-progress", "--overwrite")
    assert r.returncode == 0 and set(load_file(str(out))) == set(SPEC)


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (None, ["not found"]),
        ("{oops", ["invalid JSON"]),
        (json.dumps({"w": {"shape": [3, -2], "init": "normal"}}), ["'w'", "shape"]),
        (json.dumps({"w": {"shape": [3], "init": "nonsense"}}), ["'w'", "init"]),
        (json.dumps({"w": {"shape": [3], "init": "normal", "std": -1}}), ["'w'", "std"]),
        (json.dumps({"w": {"shape": [3], "init": "orthogonal"}}), ["'w'"]),
    ],
)
def test_bad_specs(tmp_path, content, needles):
    spec = tmp_path / "spec.json"
    if content is not None:
        spec.write_text(content)
    r = run("init", spec, "-o", tmp_path / "m.safetensors", "--no-progress")
    one_line_error(r, *needles)
    assert not (tmp_path / "m.safetensors").exists()


def test_bad_paths_and_arguments(tmp_path, spec_file):
    one_line_error(run("init", spec_file, "-o", tmp_path / "no" / "m.safetensors"),
                   "does not exist")
    one_line_error(run("init", spec_file, "-o", tmp_path / "m.safetensors", "--threads", "0"),
                   "threads")
    one_line_error(run("init", "gpt9", "-o", tmp_path / "m.safetensors"), "no bundled spec")
    one_line_error(run("stats", tmp_path / "missing.safetensors"), "not found")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x01\x02")
    one_line_error(run("stats", junk), "safetensors")
    txt = tmp_path / "x.txt"
    txt.write_text("hi")
    one_line_error(run("stats", txt), ".npz")
    r = run("init")  # -o is required: argparse usage error
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_main_in_process(tmp_path, spec_file, capsys):
    assert main(["--version"]) == 0
    assert winit.__version__ in capsys.readouterr().out
    assert main([]) == 2
    out = tmp_path / "m.safetensors"
    assert main(["init", str(spec_file), "-o", str(out), "--no-progress"]) == 0
    assert "throughput" in capsys.readouterr().out
    assert main(["init", str(spec_file), "-o", str(out), "--no-progress"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_overwrite_never_deletes_a_users_directory(tmp_path, spec_file, capsys):
    """The issue's probe: `winit init s.json -o proj --overwrite` left only w.npy in proj."""
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "src" / "main.py").write_text("code")
    assert main(["init", str(spec_file), "-o", str(proj), "--overwrite", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err == (f"winit init: error: refusing to replace the directory {proj}, even with "
                   "overwrite: it was not written by winit (it has no .winit-manifest.json); "
                   "choose a new path or remove it yourself\n")
    assert [p.relative_to(proj).as_posix() for p in sorted(proj.rglob("*"))] == [
        "src", "src/main.py"]
    out = tmp_path / "out"  # a directory winit wrote is replaced
    assert main(["init", str(spec_file), "-o", f"{out}/", "--no-progress"]) == 0
    assert main(["init", str(spec_file), "-o", str(out), "--overwrite", "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".winit-manifest.json", "b.npy", "g.npy",
                                                     "w.npy"]


@pytest.mark.parametrize("name", ["model.pt", "model.npz", "model.bin"])
def test_unknown_output_suffix(tmp_path, spec_file, capsys, name):
    """`-o model.pt` / `-o model.npz` silently created a directory of .npy files."""
    out = tmp_path / name
    assert main(["init", str(spec_file), "-o", str(out), "--no-progress"]) == 1
    suffix = name.split(".")[1]
    assert capsys.readouterr().err == (
        f"winit init: error: cannot write {str(out)!r}: winit writes a .safetensors file, or a "
        "directory of .npy files (a path with no suffix, or ending in '/'), not "
        f"'.{suffix}'\n")
    assert not out.exists()


LLAMA = {"model_type": "llama", "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 2, "num_attention_heads": 4, "torch_dtype": "bfloat16"}


@pytest.fixture
def hf_config(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(LLAMA))
    return p


def test_init_hf_config(tmp_path, hf_config, capsys):
    out = tmp_path / "llama"
    assert main(["init", "--hf-config", str(hf_config), "--recipe", "small_init", "-o", str(out),
                 "--seed", "2", "--max-shard-size", "20kB", "--no-progress"]) == 0
    rows = dict(re.findall(r"^  (\w+)\s+(.*)$", capsys.readouterr().out, re.M))
    assert rows["spec"] == f"{hf_config} (Hugging Face config, llama, recipe small_init)"
    n = len(list(out.glob("model-*.safetensors")))
    assert n > 2 and rows["files"] == (f"{n} shards, config.json, "
                                       "model.safetensors.index.json")
    assert rows["dtype"] == "bfloat16" and rows["tensors"] == "21"
    spec = winit.spec_from_hf_config(LLAMA, recipe="small_init")
    report = winit.verify(out, seed=2, spec=spec)
    assert report.ok
    # --dtype overrides the config's; a directory holding config.json is a config too
    assert main(["init", "--hf-config", str(tmp_path), "-o", str(tmp_path / "f16"),
                 "--dtype", "float16", "--no-progress"]) == 0
    assert json.loads((tmp_path / "f16" / "config.json").read_text())["dtype"] == "float16"
    assert "files       config.json, model.safetensors\n" in capsys.readouterr().out


def test_init_hf_config_rules(tmp_path, hf_config):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nmatch = "norm"\ninit = "constant"\nval = 0.5\n')
    out = tmp_path / "o.safetensors"
    assert main(["init", "--hf-config", str(hf_config), "--rules", str(rules), "-o", str(out),
                 "--no-progress"]) == 0
    got = dict(winit.checkpoint.iter_checkpoint(out))
    assert (got["model.norm.weight"].astype(np.float32) == 0.5).all()


@pytest.mark.parametrize(("args", "message"), [
    (["--recipe", "megatrom"], "Unknown recipe 'megatrom'. Did you mean 'megatron'?"),
    (["--max-shard-size", "5XB"], "--max-shard-size: expected bytes or a size such as '5GB'"),
    (["--max-shard-size", "0"], "--max-shard-size: must be at least 1 byte"),
    (["gpt2_small"], "give a spec ('gpt2_small') or --hf-config, not both"),
    (["--scheduler", "nonsense://here"], "--scheduler nonsense://here: no Dask scheduler there"),
])
def test_init_hf_config_bad_arguments(tmp_path, hf_config, args, message):
    r = run("init", "--hf-config", hf_config, "-o", tmp_path / "out", *args)
    one_line_error(r, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_recipe_and_rules_need_hf_config(tmp_path, spec_file, capsys):
    for flag in ("--recipe", "--rules"):
        assert main(["init", str(spec_file), "-o", str(tmp_path / "x"), flag, "hf"]) == 1
        assert capsys.readouterr().err == f"winit init: error: {flag} needs --hf-config\n"
    assert not (tmp_path / "x").exists()


def test_init_hf_config_output_exists(tmp_path, hf_config, capsys):
    out = tmp_path / "out"
    assert main(["init", "--hf-config", str(hf_config), "-o", str(out), "--no-progress"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["init", "--hf-config", str(hf_config), "-o", str(out), "--seed", "1",
                 "--no-progress"]) == 1
    assert capsys.readouterr().err == (f"winit init: error: {out} already exists (pass "
                                       "overwrite=True / --overwrite)\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["init", "--hf-config", str(hf_config), "-o", str(out), "--seed", "1",
                 "--overwrite", "--no-progress"]) == 0
    assert winit.verify(out).seed == 1


def test_init_help_shows_the_readme_specs(capsys):
    """`winit init --help` ends with the README's JSON and TOML specs, verbatim."""
    assert main(["init", "--help"]) == 0
    out = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text().split("## Whole models", 1)[1].split("\n## ")[0]
    for lang in ("json", "toml"):
        block = re.findall(rf"```{lang}\n(.*?)```", readme, re.S)[0]
        assert f"spec.{lang}:\n{block}" in out, lang
    assert json.loads(re.findall(r"```json\n(.*?)```", readme, re.S)[0])


def test_stats_of_every_dtype(tmp_path, capsys):
    """A BatchNorm checkpoint (num_batches_tracked is int64) stopped `winit stats` with
    "a has unsupported dtype int64"; float8 raised an AttributeError."""
    arrays = {"bn.num_batches_tracked": np.array(7, np.int64),
              "bn.weight": np.ones(4, np.float32), "mask": np.array([True, False]),
              "f8": np.array([1, 2], np.float32).astype(ml_dtypes.float8_e4m3fn)}
    codes = {"bn.num_batches_tracked": "I64", "bn.weight": "F32", "mask": "BOOL", "f8": "F8_E4M3"}
    header, data = {}, b""
    for k, a in arrays.items():
        header[k] = {"dtype": codes[k], "shape": list(a.shape),
                     "data_offsets": [len(data), len(data) + a.nbytes]}
        data += a.tobytes()
    header["packed"] = {"dtype": "F4", "shape": [4], "data_offsets": [len(data), len(data) + 2]}
    js = json.dumps(header).encode()
    path = tmp_path / "bn.safetensors"
    path.write_bytes(len(js).to_bytes(8, "little") + js + data + bytes(2))
    assert main(["stats", str(path), "--bins", "4"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()[2:] if ln.strip()}
    assert rows["bn.num_batches_tracked"] == ["()", "int64", "1", "7", "0", "7", "7", "0/0"]
    assert rows["mask"] == ["(2,)", "bool", "2", "0.5", "0.5", "0", "1", "0/0"]
    assert rows["f8"] == ["(2,)", "float8_e4m3fn", "2", "1.5", "0.5", "1", "2", "0/0"]
    assert rows["bn.weight"][:3] == ["(4,)", "float32", "4"]
    assert out.rstrip().endswith("no statistics for 1 tensor(s) of a non-real dtype: "
                                 "packed (F4)")


@pytest.fixture
def checkpoints(tmp_path):
    arrays = winit.init_model(SPEC, seed=0, progress=False)
    st = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=0, progress=False)
    np.save(tmp_path / "w.npy", arrays["w"])
    np.savez(tmp_path / "m.npz", **arrays)
    d = winit.init_model(SPEC, tmp_path / "dir", seed=0, dtype="bfloat16", progress=False)
    return {"safetensors": st, "npy": tmp_path / "w.npy", "npz": tmp_path / "m.npz", "dir": d}


@pytest.mark.parametrize("kind", [pytest.param("safetensors", marks=needs_safetensors),
                                  "npy", "npz", "dir"])
def test_stats(checkpoints, kind):
    r = run("stats", checkpoints[kind])
    assert r.returncode == 0, r.stderr
    names = ["w"] if kind == "npy" else list(SPEC)
    for n in names:
        assert n in r.stdout
    r = run("stats", checkpoints[kind], "--markdown", "--bins", "16")
    assert r.returncode == 0, r.stderr
    assert r.stdout.lstrip().startswith("|") and "---" in r.stdout


@needs_safetensors
def test_stats_values(checkpoints, capsys):
    assert main(["stats", str(checkpoints["safetensors"]), "--markdown"]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("| w "))
    assert "2048" in row.replace(",", "")  # 64 * 32 finite values


def test_console_script_if_installed(tmp_path):
    import shutil

    exe = shutil.which("winit")
    if exe is None:
        pytest.skip("winit console script not installed in this environment")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "winit" in r.stdout
