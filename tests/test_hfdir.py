"""Hugging Face checkpoint directories (winit.hfdir, init_model on an HFSpec): the layout,
shard sizes as transformers cuts them, config.json, the index, atomic publication, and
loading with ``AutoModelForCausalLM.from_pretrained``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hf import CONFIGS

import winit
from winit import models
from winit.hf import spec_from_hf_config
from winit.hfdir import (
    INDEX_NAME,
    WEIGHTS_NAME,
    checkpoint_files,
    config_json,
    index_json,
    parse_size,
    plan_shards,
    shard_filenames,
)
from winit.reader import checkpoint_tensors, safetensors_tensors

LLAMA = {"model_type": "llama", "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 2, "num_attention_heads": 4, "torch_dtype": "bfloat16"}
# one configuration of every built-in family
FAMILIES = list({c["model_type"]: c for c in reversed(CONFIGS)}.values())


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def stored(path) -> dict[str, np.ndarray]:
    """Every tensor of a checkpoint directory, by name, read with winit's reader."""
    return {t.name: t.read() for f, _ in checkpoint_files(path)
            for t in safetensors_tensors(f)[0]}


def listing(d) -> list[str]:
    return sorted(os.listdir(d))


# --------------------------------------------------------------------------- sizes and shards


@pytest.mark.parametrize(("text", "n"), [
    ("5GB", 5 * 10**9), ("2GiB", 2 * 2**30), ("500MB", 500 * 10**6), ("500mb", 500 * 10**6),
    ("1.5GB", 1_500_000_000), ("10KiB", 10240), ("3kb", 3000), (" 7 MiB ", 7 * 2**20),
    ("1TB", 10**12), ("123", 123), ("9B", 9), (4096, 4096), (np.int64(8), 8)])
def test_parse_size(text, n):
    assert parse_size(text) == n


@pytest.mark.parametrize("bad", ["5XB", "", "GB", "-1", "1e3MB", "0", 0, -5, True, None, 1.5])
def test_parse_size_errors_name_the_field(bad):
    with pytest.raises(ValueError, match=r"^max_shard_size: "):
        parse_size(bad)
    with pytest.raises(ValueError, match=r"^--max-shard-size: "):
        parse_size(bad, "--max-shard-size")


def test_plan_shards_as_huggingface_hub_documents():
    # the example of split_state_dict_into_shards_factory's docstring (limit 10 GB)
    sizes = list(zip("abcdef", [6, 6, 2, 6, 2, 2], strict=True))
    assert plan_shards(sizes, 10) == [["a"], ["b", "c"], ["d", "e", "f"]]
    # a tensor over the limit gets a shard of its own, where it comes; the current one goes on
    assert plan_shards([("a", 3), ("big", 20), ("b", 3), ("c", 5)], 10) == [
        ["big"], ["a", "b"], ["c"]]
    assert plan_shards([("a", 3)], 10) == [["a"]]
    assert plan_shards([], 10) == [[]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=30), st.integers(1, 60))
def test_plan_shards_equals_huggingface_hub(sizes, limit):
    hub = pytest.importorskip("huggingface_hub.serialization._base")
    names = [f"t{i}" for i in range(len(sizes))]
    split = hub.split_state_dict_into_shards_factory(
        dict(zip(names, sizes, strict=True)), get_storage_size=lambda n: n,
        filename_pattern="model{suffix}.safetensors", max_shard_size=limit)
    ours = plan_shards(list(zip(names, sizes, strict=True)), limit)
    if not names:
        assert ours == [[]]
        return
    assert shard_filenames(len(ours)) == list(split.filename_to_tensors)
    assert ours == list(split.filename_to_tensors.values())


def test_shard_filenames():
    assert shard_filenames(1) == ["model.safetensors"]
    assert shard_filenames(3) == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    assert shard_filenames(12)[-1] == "model-00012-of-00012.safetensors"


def test_index_and_config_text():
    text = index_json([["b", "a"], ["c"]], ["f1", "f2"], {"a": 4, "b": 6, "c": 2}, 6)
    assert text.endswith("}\n") and text.startswith('{\n  "metadata": {')
    assert json.loads(text) == {"metadata": {"total_parameters": 6, "total_size": 12},
                                "weight_map": {"a": "f1", "b": "f1", "c": "f2"}}
    assert list(json.loads(text)["weight_map"]) == ["a", "b", "c"]  # keys sorted
    cfg = {"model_type": "llama", "hidden_size": 8}
    assert json.loads(config_json(cfg, "float16")) == {**cfg, "dtype": "float16"}
    assert json.loads(config_json({**cfg, "torch_dtype": "float32"}, "bfloat16")) == {
        **cfg, "torch_dtype": "bfloat16", "dtype": "bfloat16"}
    assert config_json(cfg, "float16").endswith("\n")


# --------------------------------------------------------------------------- the layout


def test_single_shard_layout(tmp_path):
    spec = spec_from_hf_config(LLAMA)
    out = winit.init_model(spec, tmp_path / "out", seed=3, progress=False)
    assert out == tmp_path / "out"
    assert listing(out) == [".winit-manifest.json", "config.json", WEIGHTS_NAME]
    manifest = json.loads((out / ".winit-manifest.json").read_text())
    assert manifest["files"] == ["config.json", WEIGHTS_NAME]
    assert json.loads((out / "config.json").read_text()) == {**LLAMA, "dtype": "bfloat16"}
    tensors, meta = safetensors_tensors(out / WEIGHTS_NAME)
    assert meta["format"] == "pt" and meta["winit.recipe"] == "hf"
    assert meta["winit.seed"] == "3" and meta["winit.hf_model_type"] == "llama"
    assert {t.name for t in tensors} == set(spec.tensors)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporaries left


def test_sharded_layout_and_values(tmp_path):
    spec = spec_from_hf_config(LLAMA)
    ref = winit.init_model(spec, seed=3, progress=False)
    sizes = {k: a.nbytes for k, a in ref.items()}
    out = winit.init_model(spec, tmp_path / "out", seed=3, progress=False,
                           max_shard_size="20kB")
    groups = plan_shards(list(sizes.items()), 20_000)
    names = shard_filenames(len(groups))
    assert len(names) > 3
    assert listing(out) == sorted([".winit-manifest.json", "config.json", INDEX_NAME, *names])
    index = json.loads((out / INDEX_NAME).read_text())
    assert index["metadata"] == {"total_size": sum(sizes.values()),
                                 "total_parameters": spec.num_parameters}
    assert index["weight_map"] == {n: f for g, f in zip(groups, names, strict=True) for n in g}
    for f in names:  # every shard within the limit (none of these tensors is over it)
        assert (out / f).stat().st_size - 8 < 20_000 + 8192
        meta = safetensors_tensors(out / f)[1]
        assert meta["format"] == "pt" and set(json.loads(meta["winit.spec"])) == {
            n for n, v in index["weight_map"].items() if v == f}
    got = stored(out)
    assert got.keys() == ref.keys()
    for k, a in ref.items():
        assert got[k].dtype == a.dtype and np.array_equal(bits(got[k]), bits(a)), k


def test_headers_differ_only_in_their_tensors(tmp_path):
    """Sharded or not, every tensor is the same; the provenance of the whole is the same."""
    spec = spec_from_hf_config(LLAMA)
    one = winit.init_model(spec, tmp_path / "one", progress=False)
    many = winit.init_model(spec, tmp_path / "many", progress=False, max_shard_size=30_000)
    a, b = stored(one), stored(many)
    assert all(np.array_equal(bits(a[k]), bits(b[k])) for k in a)
    metas = [safetensors_tensors(f)[1] for f, _ in checkpoint_files(many)]
    single = safetensors_tensors(one / WEIGHTS_NAME)[1]
    for key in ("winit.key", "winit.spec_sha256", "winit.version", "format"):
        assert {m[key] for m in metas} == {single[key]}, key


def test_shard_smaller_than_the_largest_tensor(tmp_path):
    """Allowed (as transformers): a tensor over the limit is alone in its shard."""
    spec = spec_from_hf_config(LLAMA)  # embed_tokens and lm_head: 16 KiB each in bfloat16
    out = winit.init_model(spec, tmp_path / "out", progress=False, max_shard_size="10KB")
    wm = json.loads((out / INDEX_NAME).read_text())["weight_map"]
    for big in ("model.embed_tokens.weight", "lm_head.weight"):
        assert [n for n, f in wm.items() if f == wm[big]] == [big]
    for f in set(wm.values()):
        names = [n for n, v in wm.items() if v == f]
        assert len(names) == 1 or sum(spec.tensors[n].size * 2 for n in names) <= 10_000


def test_dtype_argument_and_mixed_dtypes(tmp_path):
    cfg = {k: v for k, v in LLAMA.items() if k != "torch_dtype"}
    out = winit.init_model(spec_from_hf_config(cfg), tmp_path / "a", dtype="float16",
                           progress=False)
    assert json.loads((out / "config.json").read_text())["dtype"] == "float16"
    assert "torch_dtype" not in json.loads((out / "config.json").read_text())
    rules = [{"match": "norm", "init": "ones", "dtype": "float32"}]
    out = winit.init_model(spec_from_hf_config(LLAMA, rules=rules), tmp_path / "b",
                           progress=False)
    got = stored(out)
    assert got["model.norm.weight"].dtype == np.float32
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"  # most bytes


def test_a_plain_spec_still_gives_npy_files_and_a_file_path_one_file(tmp_path):
    spec = spec_from_hf_config(LLAMA)
    winit.init_model(spec.to_dict(), tmp_path / "npy", progress=False)
    assert all(n.endswith(".npy") for n in listing(tmp_path / "npy") if n[0] != ".")
    f = winit.init_model(spec, tmp_path / "m.safetensors", progress=False)
    assert f.is_file() and listing(tmp_path) == ["m.safetensors", "npy"]


# --------------------------------------------------------------------------- bad input, safety


def test_existing_output_is_refused_then_replaced_only_with_overwrite(tmp_path):
    spec = spec_from_hf_config(LLAMA)
    out = winit.init_model(spec, tmp_path / "out", seed=1, progress=False)
    before = {n: (out / n).read_bytes() for n in listing(out)}
    with pytest.raises(FileExistsError, match="already exists"):
        winit.init_model(spec, out, seed=2, progress=False, max_shard_size="10kB")
    assert {n: (out / n).read_bytes() for n in listing(out)} == before
    winit.init_model(spec, out, seed=2, progress=False, max_shard_size="10kB", overwrite=True)
    assert INDEX_NAME in listing(out) and WEIGHTS_NAME not in listing(out)
    assert listing(tmp_path) == ["out"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not written by winit"):
        winit.init_model(spec, tmp_path / "mine", progress=False, overwrite=True)
    assert listing(tmp_path / "mine") == ["notes.txt"]


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("existing", [False, True])
def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch, exc, existing):
    spec = spec_from_hf_config(LLAMA)
    out = tmp_path / "out"
    if existing:
        winit.init_model(spec, out, progress=False)
    before = {n: (out / n).read_bytes() for n in listing(out)} if existing else None
    real, calls = models._Planned.fill, []

    def flaky(self, buf, offset, threads=None):
        calls.append(self.spec.name)
        if len(calls) == 12:
            raise exc
        return real(self, buf, offset, threads)

    monkeypatch.setattr(models._Planned, "fill", flaky)
    with pytest.raises(type(exc)):
        winit.init_model(spec, out, progress=False, max_shard_size="10kB", overwrite=True)
    assert listing(tmp_path) == (["out"] if existing else [])
    if existing:
        assert {n: (out / n).read_bytes() for n in listing(out)} == before


def test_bad_max_shard_size_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="max_shard_size: expected bytes"):
        winit.init_model(spec_from_hf_config(LLAMA), tmp_path / "out", progress=False,
                         max_shard_size="lots")
    assert listing(tmp_path) == []


def test_client_needs_a_file_output(tmp_path):
    with pytest.raises(ValueError, match="client=: Dask workers write files; give a path"):
        winit.init_model(spec_from_hf_config(LLAMA), progress=False, client=object())
    with pytest.raises(ValueError, match="not a directory of .npy files"):
        winit.init_model({"w": {"shape": [3], "init": "zeros"}}, tmp_path / "d",
                         progress=False, client=object())
    assert listing(tmp_path) == []


def test_checkpoint_files_and_its_errors(tmp_path):
    spec = spec_from_hf_config(LLAMA)
    out = winit.init_model(spec, tmp_path / "out", progress=False, max_shard_size="20kB")
    files = checkpoint_files(out)
    wm = json.loads((out / INDEX_NAME).read_text())["weight_map"]
    assert [f.name for f, _ in files] == sorted(set(wm.values()))
    assert {n for _, names in files for n in names} == set(wm)
    one = winit.init_model(spec, tmp_path / "one", progress=False)
    assert checkpoint_files(one) == [(one / WEIGHTS_NAME, None)]
    assert checkpoint_files(one / WEIGHTS_NAME) == [(one / WEIGHTS_NAME, None)]
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        checkpoint_files(tmp_path / "nothing")
    with pytest.raises(ValueError, match="no model.safetensors.index.json nor model.safetensors"):
        checkpoint_files(tmp_path)
    second = files[1][0].name  # model-00002-of-0000N.safetensors
    (out / second).unlink()
    with pytest.raises(FileNotFoundError, match=second + r": missing shard \(listed in "
                                                r"model.safetensors.index.json\)"):
        checkpoint_files(out)
    for text in ('{"weight_map": ', '{"metadata": {}}', '{"weight_map": {"a": 3}}',
                 '{"weight_map": {"a": "../x.safetensors"}}', "[]",
                 '{"weight_map": {"a": "x"}, "weight_map": {}}'):
        (out / INDEX_NAME).write_text(text)
        with pytest.raises(ValueError, match=r"model.safetensors.index.json: damaged index"):
            checkpoint_files(out)


# --------------------------------------------------------------------------- transformers


@pytest.fixture(scope="module")
def transformers():
    pytest.importorskip("torch", reason="loading needs torch")
    tf = pytest.importorskip("transformers", reason="loading needs transformers")
    tf.logging.set_verbosity_error()
    return tf


@pytest.mark.parametrize("shard", [None, "8kB"], ids=["single", "sharded"])
@pytest.mark.parametrize("config", FAMILIES, ids=[c["model_type"] for c in FAMILIES])
def test_loads_with_from_pretrained(config, shard, transformers, tmp_path):
    import torch

    spec = spec_from_hf_config(config)
    kw = {} if shard is None else {"max_shard_size": shard}
    out = winit.init_model(spec, tmp_path / "out", seed=5, dtype="bfloat16", progress=False,
                           **kw)
    assert (INDEX_NAME in listing(out)) is (shard is not None)
    model, info = transformers.AutoModelForCausalLM.from_pretrained(
        out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    assert model.dtype == torch.bfloat16
    ours = winit.init_model(spec, seed=5, dtype="bfloat16", progress=False)
    got = stored(out)
    assert got.keys() == ours.keys()
    for k, a in ours.items():
        assert np.array_equal(bits(got[k]), bits(a)), k
    sd = model.state_dict()
    for k in (n for n in ours if n in sd):  # transformers 5 fuses Mixtral's experts
        np.testing.assert_array_equal(sd[k].float().numpy(), ours[k].astype(np.float32), k)


def test_sharding_equals_save_pretrained(transformers, tmp_path):
    """Same limit, same files: the index save_pretrained writes for the same model."""
    cfg = {**LLAMA, "tie_word_embeddings": False}
    spec = spec_from_hf_config(cfg)
    out = winit.init_model(spec, tmp_path / "ours", progress=False, max_shard_size="20kB")
    import torch

    model = transformers.AutoModelForCausalLM.from_config(
        transformers.AutoConfig.for_model(**cfg), dtype=torch.bfloat16)
    model.save_pretrained(tmp_path / "theirs", max_shard_size="20kB")
    ours, theirs = (json.loads((d / INDEX_NAME).read_text()) for d in
                    (out, tmp_path / "theirs"))
    assert ours["weight_map"] == theirs["weight_map"]
    assert ours["metadata"] == theirs["metadata"]
    assert {n for n in listing(out) if n.endswith("safetensors")} == {
        n for n in listing(tmp_path / "theirs") if n.endswith("safetensors")}


def test_checkpoint_tensors_reads_every_shard(tmp_path):
    out = winit.init_model(spec_from_hf_config(LLAMA), tmp_path / "out", progress=False,
                           max_shard_size="20kB")
    names = {t.name for f, _ in checkpoint_files(out) for t in checkpoint_tensors(f)}
    assert names == set(spec_from_hf_config(LLAMA).tensors)


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_sigterm_while_writing_shards(tmp_path, monkeypatch, capsys):
    """`winit init --hf-config` stopped by SIGTERM: exit 143, no directory, no temporaries."""
    import signal

    from winit import streamer
    from winit.cli import main

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA))
    monkeypatch.setattr(streamer, "BLOCK_BYTES", 1024)
    real, calls = models._Planned.fill, []

    def fill(self, buf, offset, threads=None):
        calls.append(offset)
        if len(calls) == 20:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, buf, offset, threads)

    monkeypatch.setattr(models._Planned, "fill", fill)
    rc = main(["init", "--hf-config", str(cfg), "-o", str(tmp_path / "out"),
               "--max-shard-size", "20kB", "--no-progress"])
    assert rc == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "winit: stopped by SIGTERM (no output written)\n"
    assert listing(tmp_path) == ["config.json"]
    assert 20 <= len(calls) < 60  # of 170 blocks
