"""winit.verify and ``winit verify``: regenerate every tensor from the provenance in the
headers and compare the bytes; the provenance itself (winit.hfdir.Provenance)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import run_python

import winit
from winit._common import Key, resolve_key
from winit.checkpoint import TensorSource, write_safetensors
from winit.cli import main
from winit.hf import spec_from_hf_config
from winit.hfdir import INDEX_NAME, Provenance, spec_sha256
from winit.reader import safetensors_tensors
from winit.verify import TensorCheck, VerifyReport, verify

LLAMA = {"model_type": "llama", "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 2, "num_attention_heads": 4, "torch_dtype": "bfloat16"}
SPEC = {"emb.weight": {"shape": [50, 16], "init": "normal", "std": 0.02},
        "w": {"shape": [16, 24], "init": "xavier_uniform"},
        "b": {"shape": [24], "init": "zeros", "dtype": "float64"},
        "q": {"shape": [12, 8], "init": "orthogonal"},
        "s": {"shape": [], "init": "constant", "val": 0.5}}


def flip(path, tensor: str, element: int = 0) -> None:
    """Flip the lowest bit of one element of ``tensor`` in a safetensors file."""
    t = next(t for t in safetensors_tensors(path)[0] if t.name == tensor)
    with open(path, "r+b") as f:
        f.seek(t.offset + element * t.dtype.itemsize)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 1]))


def rewrite_metadata(path, **changes) -> None:
    """Rewrite a safetensors file with its header's metadata changed (None: removed)."""
    tensors, meta = safetensors_tensors(path)
    meta = {k: v for k, v in {**meta, **changes}.items() if v is not None}
    arrays = {t.name: t.read() for t in tensors}
    srcs = [TensorSource(n, a.shape, a.dtype, lambda t, a=a: a) for n, a in arrays.items()]
    write_safetensors(srcs, path, metadata=meta, overwrite=True)


# --------------------------------------------------------------------------- clean checkpoints


def test_clean_file(tmp_path):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=9, progress=False)
    report = verify(path)
    assert isinstance(report, VerifyReport) and report.ok and report.failures == []
    assert [c.name for c in report.checks] == sorted(SPEC)
    assert all(c.status == "OK" and c.detail == "" for c in report.checks)
    assert (report.seed, report.key, report.source) == (9, resolve_key(9), "provenance")
    assert report.nbytes == sum(t.size * t.dtype.itemsize for t in safetensors_tensors(path)[0])
    assert report.summary().startswith("OK: 5 tensors, 0.00 GB compared in ")
    assert "seed 9" in report.summary() and report.spec_sha256[:12] in report.summary()


def test_clean_sharded_directory_and_the_same_spec_hash(tmp_path):
    spec = spec_from_hf_config(LLAMA, recipe="megatron")
    out = winit.init_model(spec, tmp_path / "out", seed=2, progress=False,
                           max_shard_size="10kB")
    report = verify(out)
    assert report.ok and len(report.checks) == len(spec.tensors)
    files = {c.file for c in report.checks}
    assert len(files) > 3 and all(f.startswith("model-") for f in files)
    assert "file" in report.table().splitlines()[0]
    one = winit.init_model(spec, tmp_path / "one", seed=2, progress=False)
    assert verify(one).spec_sha256 == report.spec_sha256
    # one shard alone: its tensors, without the check of the whole spec's hash
    lone = verify(out / sorted(files)[1])
    assert lone.ok and {c.file for c in lone.checks} == {str(out / sorted(files)[1])}
    # the same spec from its configuration (config.json in the output): same bytes
    assert verify(out, spec=spec_from_hf_config(out, recipe="megatron")).ok
    assert not verify(out, spec=spec_from_hf_config(out)).ok  # another recipe


@pytest.mark.parametrize("seed", [0, 2**40, np.random.SeedSequence(5), Key(77), None])
def test_any_seed_is_recorded(tmp_path, seed):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=seed, progress=False)
    report = verify(path)
    assert report.ok
    if isinstance(seed, int) and not isinstance(seed, Key):
        assert report.seed == seed
    else:
        assert report.seed is None and "key 0x" in report.summary()


def test_explicit_seed_and_spec(tmp_path):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=4, progress=False)
    assert verify(path, seed=4).ok and verify(path, seed=4, spec=SPEC).ok
    assert verify(path, seed=4).source == "arguments"
    bad = verify(path, seed=5)
    # zeros and constants do not depend on the seed; everything else differs
    assert {c.name for c in bad.failures} == {"emb.weight", "w", "q"}
    assert all(c.status == "MISMATCH" for c in bad.failures)


def test_npy_directory_needs_seed_and_spec(tmp_path):
    d = winit.init_model(SPEC, tmp_path / "d", seed=1, dtype="bfloat16", progress=False)
    with pytest.raises(ValueError, match="no winit provenance"):
        verify(d)
    report = verify(d, seed=1, spec=SPEC)
    assert report.ok and len(report.checks) == 5
    assert {c.dtype for c in report.checks} == {"bfloat16", "float64"}


# --------------------------------------------------------------------------- damaged ones


def test_a_single_flipped_byte(tmp_path):
    spec = spec_from_hf_config(LLAMA)
    out = winit.init_model(spec, tmp_path / "out", progress=False, max_shard_size="10kB")
    name = "model.layers.1.mlp.up_proj.weight"
    shard = json.loads((out / INDEX_NAME).read_text())["weight_map"][name]
    flip(out / shard, name, element=1234)
    report = verify(out)
    assert not report.ok
    assert report.failures == [TensorCheck(
        name, shard, (96, 64), "bfloat16", "MISMATCH",
        "1 element differs, the first at flat index 1234 of 6144")]
    assert report.summary().startswith(f"1 of {len(spec.tensors)} tensors FAILED")
    row = next(r for r in report.table().splitlines() if r.startswith(name))
    assert "MISMATCH (1 element differs" in row


def test_flipped_bytes_in_streamed_blocks(tmp_path, monkeypatch):
    """Blocks much smaller than the tensor: each difference is found, the first reported."""
    from winit import streamer

    monkeypatch.setattr(streamer, "BLOCK_BYTES", 256)
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=3, progress=False)
    for i in (700, 5, 701, 799):
        flip(path, "emb.weight", i)
    flip(path, "q", 95)  # a whole-tensor scheme (orthogonal)
    report = verify(path, threads=2)
    got = {c.name: c.detail for c in report.failures}
    assert got == {"emb.weight": "4 elements differ, the first at flat index 5 of 800",
                   "q": "1 element differs, the first at flat index 95 of 96"}


def test_changed_spec_in_a_header(tmp_path):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=3, progress=False)
    meta = safetensors_tensors(path)[1]
    spec = json.loads(meta["winit.spec"])
    spec["emb.weight"]["std"] = 0.03
    rewrite_metadata(path, **{"winit.spec": json.dumps(spec)})
    report = verify(path)
    assert not report.ok and [c.name for c in report.failures] == ["emb.weight"]
    assert len(report.problems) == 1
    assert "field 'winit.spec_sha256'" in report.problems[0] and "a header was changed" in \
        report.problems[0]


def test_missing_and_unexpected_tensors(tmp_path):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=3, progress=False)
    spec = {k: v for k, v in SPEC.items() if k != "w"}
    spec["extra"] = {"shape": [4], "init": "ones"}
    report = verify(path, seed=3, spec=spec)
    assert {(c.name, c.status) for c in report.failures} == {("w", "UNEXPECTED"),
                                                            ("extra", "MISSING")}
    spec = {**SPEC, "b": {**SPEC["b"], "dtype": "float32"}, "q": {**SPEC["q"], "shape": [8, 12]}}
    report = verify(path, seed=3, spec=spec)
    assert {c.name: c.detail for c in report.failures} == {
        "b": "dtype float64, the spec says float32", "q": "shape [12, 8], the spec says [8, 12]"}


def test_without_provenance(tmp_path):
    a = np.ones((3, 4), np.float32)
    path = write_safetensors([TensorSource("w", a.shape, a.dtype, lambda t: a)],
                             tmp_path / "m.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"m.safetensors: no winit provenance in its header "
                                         r"\(winit.key, winit.seed\): pass the seed"):
        verify(path)
    assert verify(path, seed=0, spec={"w": {"shape": [3, 4], "init": "ones"}}).ok
    # a seed but no spec (files of winit before the provenance): the spec is needed
    rewrite_metadata(path, **{"winit.seed": "3"})
    with pytest.raises(ValueError, match="no 'winit.spec' in its header"):
        verify(path)


def test_malformed_provenance_names_the_field(tmp_path):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", progress=False)
    for field, value in (("winit.key", "12"), ("winit.seed", "-1"), ("winit.spec", "{"),
                         ("winit.spec", "[1]")):
        rewrite_metadata(path, **{field: value})
        with pytest.raises(ValueError, match=f"m.safetensors: field '{field}'"):
            verify(path)
        winit.init_model(SPEC, path, progress=False, overwrite=True)


def test_missing_shard_and_damaged_index(tmp_path):
    out = winit.init_model(spec_from_hf_config(LLAMA), tmp_path / "out", progress=False,
                           max_shard_size="10kB")
    index = (out / INDEX_NAME).read_text()
    wm = json.loads(index)["weight_map"]
    moved = {**wm, "model.norm.weight": wm["lm_head.weight"]}
    (out / INDEX_NAME).write_text(json.dumps({"weight_map": moved}))
    with pytest.raises(ValueError, match="damaged index: tensor 'model.norm.weight'"):
        verify(out)
    (out / INDEX_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="model.safetensors.index.json: damaged index"):
        verify(out)
    (out / INDEX_NAME).write_text(index)
    (out / wm["lm_head.weight"]).unlink()
    with pytest.raises(FileNotFoundError, match="missing shard"):
        verify(out)


# --------------------------------------------------------------------------- provenance


def test_provenance_round_trip():
    p = Provenance(2**64 - 1, {"w": {"shape": [2], "init": "normal", "std": 0.1,
                                     "dtype": "float32"}}, "ab" * 32, 17, "9.9")
    meta = p.metadata()
    assert meta["winit.key"] == "0xffffffffffffffff" and meta["winit.seed"] == "17"
    assert meta["winit.spec"] == '{"w":{"dtype":"float32","init":"normal","shape":[2],"std":0.1}}'
    assert Provenance.from_metadata(meta) == p
    assert Provenance.from_metadata({"format": "pt"}) is None
    old = Provenance.from_metadata({"winit.seed": "5"})  # written before winit.key
    assert old.key == resolve_key(5) and old.spec == {}
    assert "winit.seed" not in Provenance(1).metadata()


def test_spec_sha256_is_canonical():
    a = {"w": {"shape": [2], "init": "normal", "std": np.float64(0.1)}, "b": {"init": "zeros"}}
    b = {"b": {"init": "zeros"}, "w": {"std": 0.1, "init": "normal", "shape": [2]}}
    assert spec_sha256(a) == spec_sha256(b) != spec_sha256({**b, "c": {}})
    assert len(spec_sha256(a)) == 64


def test_header_records_the_resolved_spec(tmp_path):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", seed=1, dtype="float16",
                            progress=False)
    meta = safetensors_tensors(path)[1]
    spec = json.loads(meta["winit.spec"])
    assert spec["w"] == {"shape": [16, 24], "init": "xavier_uniform", "dtype": "float16"}
    assert spec["b"]["dtype"] == "float64" and spec["s"]["val"] == 0.5
    assert meta["winit.spec_sha256"] == spec_sha256(spec)
    assert meta["winit.version"] == winit.__version__


# --------------------------------------------------------------------------- command line


def test_cli_verify(tmp_path, capsys):
    out = tmp_path / "out"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA))
    assert main(["init", "--hf-config", str(cfg), "-o", str(out), "--max-shard-size", "10kB",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["tensor", "file", "shape", "dtype", "status"]
    assert text.count(" OK\n") == 21 and "\nOK: 21 tensors" in text
    wm = json.loads((out / INDEX_NAME).read_text())["weight_map"]
    flip(out / wm["model.embed_tokens.weight"], "model.embed_tokens.weight", 3)
    assert main(["verify", str(out), "--no-progress"]) == 1
    text = capsys.readouterr().out
    assert "MISMATCH (1 element differs, the first at flat index 3 of 8192)" in text
    assert "\n1 of 21 tensors FAILED:" in text
    assert main(["verify", str(out), "--hf-config", str(out), "--seed", "0",
                 "--no-progress"]) == 1
    assert main(["verify", str(out), "--hf-config", str(out), "--recipe", "megatron",
                 "--no-progress"]) == 1
    capsys.readouterr()


@pytest.mark.parametrize(("args", "message"), [
    (["--recipe", "hf"], "--recipe needs --hf-config"),
    (["--spec", "x.json", "--hf-config", "y"], "give a spec ('x.json') or --hf-config, not both"),
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
])
def test_cli_verify_bad_arguments(tmp_path, capsys, args, message):
    path = winit.init_model(SPEC, tmp_path / "m.safetensors", progress=False)
    assert main(["verify", str(path), *args]) == 1
    assert capsys.readouterr().err == f"winit verify: error: {message}\n"


def test_cli_verify_errors_are_one_line(tmp_path, capsys):
    a = np.ones(3, np.float32)
    path = write_safetensors([TensorSource("w", a.shape, a.dtype, lambda t: a)],
                             tmp_path / "m.safetensors")
    assert main(["verify", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("winit verify: error: ") and err.count("\n") == 1
    assert "no winit provenance" in err
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"w": {"shape": [3], "init": "ones"}}))
    assert main(["verify", str(path), "--seed", "0", "--spec", str(spec), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == (f"winit verify: error: checkpoint not found: "
                                       f"{tmp_path / 'nope'}\n")
    out = winit.init_model(spec_from_hf_config(LLAMA), tmp_path / "out", progress=False,
                           max_shard_size="10kB")
    shard = json.loads((out / INDEX_NAME).read_text())["weight_map"]["lm_head.weight"]
    (out / shard).unlink()
    assert main(["verify", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{shard}: missing shard" in err


RSS_SCRIPT = """
import sys, winit
report = winit.verify(sys.argv[1], threads=2)
assert report.ok, report.summary()
print(next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:")))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc (Linux)")
def test_verify_memory_is_bounded(tmp_path):
    """Verifying a 512 MB checkpoint keeps the peak RSS to a few blocks."""
    spec = {f"w{i}": {"shape": [8192, 4096], "init": "normal", "std": 0.02} for i in range(4)}
    path = winit.init_model(spec, tmp_path / "big.safetensors", progress=False)
    r = run_python(["-c", RSS_SCRIPT, str(path)], timeout=300)
    assert r.returncode == 0, r.stderr
    base = run_python(["-c", "import winit; print(next(int(l.split()[1]) for l in "
                       "open('/proc/self/status') if l.startswith('VmHWM:')))"])
    above = (int(r.stdout.split()[-1]) - int(base.stdout.split()[-1])) * 1024
    assert path.stat().st_size > 512 * 2**20 and above < 160 * 2**20, above
