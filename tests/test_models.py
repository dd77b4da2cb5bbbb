"""winit.models: spec parsing, init_model (memory, safetensors, .npy directory), atomicity."""

from __future__ import annotations

import json
import os
import textwrap

import ml_dtypes
import numpy as np
import pytest
from conftest import run_python

import winit
from winit import models
from winit._common import Key, derive_key, resolve_key
from winit.models import SpecError, init_model, load_spec, spec_from_safetensors

safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

BF16 = np.dtype(ml_dtypes.bfloat16)

SPEC = {
    "emb.weight": {"shape": [50, 16], "init": "normal", "std": 0.02},
    "blk.0.w": {"shape": [16, 24], "init": "uniform", "a": -0.1, "b": 0.1},
    "blk.0.b": {"shape": [24], "init": "zeros"},
    "blk.0.ln": {"shape": [16], "init": "ones"},
    "blk.0.t": {"shape": [3, 5, 7], "init": "trunc_normal", "std": 0.5, "a": -1.0, "b": 1.0},
    "head": {"shape": [12, 16], "init": "orthogonal"},
    "scalar": {"shape": [], "init": "constant", "val": 0.5},
}


def bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(bits(a), bits(b))


def reference(spec, seed=0, dtype="float32"):
    """The oracle: each tensor from winit.get(...).init with its derived key."""
    from winit.registry import get

    root = resolve_key(seed)
    out = {}
    for name, e in spec.items():
        params = {k: v for k, v in e.items() if k not in ("shape", "init", "dtype")}
        dt = winit.models.resolve_dtype(e.get("dtype", dtype))
        init = get(e["init"], **params)
        out[name] = init(tuple(e["shape"]), dt, seed=Key(derive_key(root, name)))
    return out


def leftovers(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


# ----------------------------------------------------------------------------- spec parsing


class TestSpec:
    def test_mapping(self):
        specs = load_spec(SPEC)
        assert list(specs) == list(SPEC)
        assert specs["blk.0.w"].shape == (16, 24)
        assert specs["blk.0.w"].params == {"a": -0.1, "b": 0.1}
        assert specs["scalar"].shape == ()

    def test_json_and_toml_files(self, tmp_path):
        (tmp_path / "s.json").write_text(json.dumps(SPEC))
        toml = textwrap.dedent(
            """
            ["emb.weight"]
            shape = [50, 16]
            init = "normal"
            std = 0.02

            [blk.0.w]
            shape = [16, 24]
            init = "uniform"
            a = -0.1
            b = 0.1
            dtype = "bfloat16"
            """
        )
        (tmp_path / "s.toml").write_text(toml)
        js = load_spec(tmp_path / "s.json")
        tm = load_spec(str(tmp_path / "s.toml"))
        assert js == load_spec(SPEC)
        assert list(tm) == ["emb.weight", "blk.0.w"]  # nested tables flatten to dotted names
        assert tm["blk.0.w"].dtype == BF16
        assert tm["emb.weight"] == js["emb.weight"]

    def test_bundled_gpt2_small(self):
        specs = load_spec("gpt2_small")
        assert len(specs) == 148
        assert sum(s.size for s in specs.values()) == 124_439_808
        assert specs["wte.weight"].shape == (50257, 768)
        assert specs["h.11.attn.c_attn.weight"].shape == (768, 2304)
        assert specs["h.3.mlp.c_proj.weight"].params["std"] == pytest.approx(0.02 / np.sqrt(24))
        assert specs["h.3.attn.c_proj.weight"].params["std"] == pytest.approx(0.02 / np.sqrt(24))
        assert specs["h.0.mlp.c_fc.weight"].params["std"] == 0.02
        assert specs["ln_f.weight"].init == "ones" and specs["h.5.ln_2.bias"].init == "zeros"
        assert models.default_spec_path().is_file()
        assert load_spec(models.gpt2_spec()) == specs
        xl = load_spec(models.gpt2_spec(48, 1600))
        assert sum(s.size for s in xl.values()) == 1_557_611_200

    @pytest.mark.parametrize(
        ("entry", "pattern"),
        [
            ({"init": "normal"}, r"tensor 'x': missing field 'shape'"),
            ({"shape": [3]}, r"tensor 'x': missing field 'init'"),
            ({"shape": 3, "init": "normal"}, r"tensor 'x', field 'shape'"),
            ({"shape": [3, "a"], "init": "normal"}, r"tensor 'x', field 'shape'.*ints"),
            ({"shape": [3, 2.5], "init": "normal"}, r"tensor 'x', field 'shape'"),
            ({"shape": [3, -1], "init": "normal"}, r"tensor 'x', field 'shape'.*negative"),
            ({"shape": [3], "init": 5}, r"tensor 'x', field 'init'"),
            ({"shape": [3], "init": "normal", "dtype": "int32"}, r"tensor 'x', field 'dtype'"),
            ({"shape": [3], "init": "normal", "std": {"a": 1}}, r"tensor 'x', field 'std'"),
            ("normal", r"tensor 'x': entry must be a table"),
        ],
    )
    def test_structure_errors(self, entry, pattern):
        with pytest.raises(SpecError, match=pattern):
            load_spec({"ok": {"shape": [2], "init": "zeros"}, "x": entry})

    def test_scheme_errors_name_the_tensor(self, tmp_path):
        with pytest.raises(SpecError, match=r"tensor 'x', field 'init'"):
            init_model({"x": {"shape": [3], "init": "no_such_scheme"}}, progress=False)
        with pytest.raises(SpecError, match=r"tensor 'x'.*std"):
            init_model({"x": {"shape": [3], "init": "normal", "std": -1.0}}, progress=False)
        with pytest.raises(SpecError, match=r"tensor 'x'"):
            init_model({"x": {"shape": [3], "init": "normal", "stdd": 1.0}}, progress=False)
        with pytest.raises(SpecError, match=r"tensor 'v'.*orthogonal"):
            init_model({"v": {"shape": [4], "init": "orthogonal"}}, progress=False)
        # nothing was created
        out = tmp_path / "m.safetensors"
        with pytest.raises(SpecError):
            init_model({"a": {"shape": [4], "init": "zeros"}, "x": {"shape": [3], "init": "nope"}},
                       out, progress=False)
        assert list(tmp_path.iterdir()) == []

    def test_file_errors(self, tmp_path):
        with pytest.raises(SpecError, match="no tensors"):
            load_spec({})
        with pytest.raises(SpecError, match="mapping"):
            load_spec([1, 2])
        with pytest.raises(FileNotFoundError):
            load_spec(tmp_path / "missing.json")
        (tmp_path / "bad.json").write_text("{not json")
        with pytest.raises(SpecError, match="invalid JSON"):
            load_spec(tmp_path / "bad.json")
        (tmp_path / "bad.toml").write_text("x = [")
        with pytest.raises(SpecError, match="invalid TOML"):
            load_spec(tmp_path / "bad.toml")
        (tmp_path / "s.yaml").write_text("x: 1")
        with pytest.raises(SpecError, match=r"\.json, \.toml"):
            load_spec(tmp_path / "s.yaml")
        with pytest.raises(SpecError, match="no bundled spec"):
            load_spec("gpt7_huge")
        with pytest.raises(SpecError, match="defined twice"):
            load_spec({"a": {"b": {"shape": [1], "init": "zeros"}},
                       "a.b": {"shape": [1], "init": "zeros"}})


# ----------------------------------------------------------------------------- in memory


class TestInMemory:
    def test_matches_registry_with_derived_keys(self):
        out = init_model(SPEC, seed=7, progress=False)
        ref = reference(SPEC, seed=7)
        assert list(out) == list(SPEC)
        for k in SPEC:
            assert same(out[k], ref[k]), k

    def test_thread_count_invariance(self):
        a = init_model(SPEC, seed=1, threads=1, progress=False)
        b = init_model(SPEC, seed=1, threads=2, progress=False)
        assert all(same(a[k], b[k]) for k in SPEC)

    def test_reorder_add_remove_do_not_change_others(self):
        a = init_model(SPEC, seed=3, progress=False)
        rev = dict(reversed(list(SPEC.items())))
        rev.pop("blk.0.b")
        rev["new.tensor"] = {"shape": [100], "init": "normal"}
        b = init_model(rev, seed=3, progress=False)
        for k in rev:
            if k in a:
                assert same(a[k], b[k]), k

    def test_seed_and_name_matter(self):
        a = init_model(SPEC, seed=0, progress=False)
        b = init_model(SPEC, seed=1, progress=False)
        assert not np.array_equal(a["emb.weight"], b["emb.weight"])
        twin = {"p": {"shape": [64], "init": "normal"}, "q": {"shape": [64], "init": "normal"}}
        c = init_model(twin, progress=False)
        assert not np.array_equal(c["p"], c["q"])

    def test_dtypes(self):
        spec = dict(SPEC)
        spec["half"] = {"shape": [10, 3], "init": "normal", "dtype": "float16"}
        out = init_model(spec, dtype="bfloat16", progress=False)
        assert out["half"].dtype == np.float16
        assert out["emb.weight"].dtype == BF16
        ref = reference(spec, dtype="bfloat16")
        assert all(same(out[k], ref[k]) for k in spec)
        with pytest.raises(TypeError):
            init_model(SPEC, dtype="int8", progress=False)

    def test_zero_size(self):
        out = init_model({"e": {"shape": [0, 4], "init": "normal"}}, progress=False)
        assert out["e"].shape == (0, 4)


# ----------------------------------------------------------------------------- safetensors


@pytest.fixture
def small_blocks(monkeypatch):
    """Tiny generation blocks, so small tensors are streamed through many offsets."""
    monkeypatch.setattr(models, "BLOCK_BYTES", 96)


class TestSafetensors:
    @pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "float64"])
    def test_round_trip_numpy(self, tmp_path, small_blocks, dtype):
        path = tmp_path / "m.safetensors"
        ret = init_model(SPEC, path, seed=5, dtype=dtype, progress=False)
        assert ret == path
        ref = init_model(SPEC, seed=5, dtype=dtype, progress=False)
        got = load_file(str(path))
        assert set(got) == set(SPEC)
        for k in SPEC:
            assert same(got[k], ref[k]), k
        with safe_open(str(path), framework="numpy") as f:
            assert f.metadata()["format"] == "pt"
            assert f.metadata()["winit.seed"] == "5"
        assert leftovers(tmp_path) == []

    def test_round_trip_torch(self, tmp_path):
        torch = pytest.importorskip("torch")
        from safetensors.torch import load_file as torch_load

        spec = dict(SPEC)
        spec["h"] = {"shape": [7, 9], "init": "normal", "dtype": "float16"}
        spec["b"] = {"shape": [7, 9], "init": "normal", "dtype": "bfloat16"}
        path = tmp_path / "m.safetensors"
        init_model(spec, path, seed=2, progress=False)
        ref = init_model(spec, seed=2, progress=False)
        got = torch_load(str(path))
        assert got["b"].dtype == torch.bfloat16 and got["h"].dtype == torch.float16
        for k in spec:
            t = got[k]
            raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
            assert np.array_equal(bits(raw.numpy()), bits(ref[k])), k

    def test_layout_is_canonical_and_aligned(self, tmp_path):
        spec = dict(SPEC)
        spec["odd16"] = {"shape": [3], "init": "normal", "dtype": "float16"}
        spec["f64"] = {"shape": [5], "init": "normal", "dtype": "float64"}
        a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
        init_model(spec, a, progress=False)
        init_model(dict(reversed(list(spec.items()))), b, progress=False)
        assert a.read_bytes() == b.read_bytes()  # spec order does not matter at all
        raw = a.read_bytes()
        n = int.from_bytes(raw[:8], "little")
        assert (8 + n) % 8 == 0
        header = json.loads(raw[8:8 + n])
        spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
        for (_, e0), (s1, _) in zip(spans, spans[1:], strict=False):
            assert e0 == s1
        for k, v in header.items():
            if k != "__metadata__":
                item = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}[v["dtype"]]
                assert v["data_offsets"][0] % item == 0
        assert spans[-1][1] == len(raw) - 8 - n

    def test_threads_do_not_change_the_file(self, tmp_path, small_blocks):
        a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
        init_model(SPEC, a, threads=1, progress=False)
        init_model(SPEC, b, threads=2, progress=False)
        assert a.read_bytes() == b.read_bytes()

    def test_overwrite_refused_then_allowed(self, tmp_path):
        path = tmp_path / "m.safetensors"
        path.write_bytes(b"precious")
        with pytest.raises(FileExistsError, match="overwrite"):
            init_model(SPEC, path, progress=False)
        assert path.read_bytes() == b"precious"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
        init_model(SPEC, path, overwrite=True, progress=False)
        assert set(load_file(str(path))) == set(SPEC)

    def test_missing_directory(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            init_model(SPEC, tmp_path / "no" / "m.safetensors", progress=False)

    @pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
    @pytest.mark.parametrize("existing", [False, True])
    def test_failure_mid_write_leaves_nothing(self, tmp_path, monkeypatch, small_blocks,
                                              exc, existing):
        path = tmp_path / "m.safetensors"
        if existing:
            path.write_bytes(b"old checkpoint")
        real = models._BlockStreamer.stream
        calls = []

        def flaky(self, p, pos):
            calls.append(p.spec.name)
            if len(calls) == 4:
                raise exc
            return real(self, p, pos)

        monkeypatch.setattr(models._BlockStreamer, "stream", flaky)
        with pytest.raises(type(exc)):
            init_model(SPEC, path, overwrite=True, progress=False)
        assert len(calls) == 4
        assert leftovers(tmp_path) == []
        if existing:
            assert path.read_bytes() == b"old checkpoint"
        else:
            assert not path.exists()

    def test_disk_full_leaves_nothing(self, tmp_path, monkeypatch, small_blocks):
        path = tmp_path / "m.safetensors"
        path.write_bytes(b"old")
        real = os.pwrite
        n = [0]

        def pwrite(fd, data, pos):
            n[0] += 1
            if n[0] > 5:
                raise OSError(28, "No space left on device")
            return real(fd, data, pos)

        monkeypatch.setattr(models.os, "pwrite", pwrite)
        with pytest.raises(OSError, match="No space"):
            init_model(SPEC, path, overwrite=True, progress=False)
        assert path.read_bytes() == b"old"
        assert leftovers(tmp_path) == []

    def test_spec_from_safetensors(self, tmp_path):
        spec = dict(SPEC)
        spec["b16"] = {"shape": [4, 4], "init": "normal", "dtype": "bfloat16"}
        path = tmp_path / "m.safetensors"
        init_model(spec, path, progress=False)
        back = spec_from_safetensors(path)
        assert set(back) == set(spec)
        for k, e in spec.items():
            assert back[k]["shape"] == e["shape"]
        assert back["b16"]["dtype"] == "bfloat16" and back["head"]["dtype"] == "float32"
        assert back["blk.0.b"]["init"] == "zeros" and back["blk.0.ln"]["init"] == "ones"
        assert back["emb.weight"] == {"shape": [50, 16], "init": "normal", "std": 0.02,
                                      "dtype": "float32"}
        uni = spec_from_safetensors(path, init={"init": "zeros"}, dtypes=False)
        assert all(e == {"shape": spec[k]["shape"], "init": "zeros"} for k, e in uni.items())
        # re-initialize from the checkpoint itself (a path works as a spec, too)
        out = init_model(path, tmp_path / "fresh.safetensors", seed=9, progress=False)
        assert set(load_file(str(out))) == set(spec)
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(b"\x00" * 3)
        with pytest.raises(SpecError, match="not a readable safetensors"):
            spec_from_safetensors(bad)
        with pytest.raises(FileNotFoundError):
            spec_from_safetensors(tmp_path / "none.safetensors")


# ----------------------------------------------------------------------------- .npy directory


class TestNpyDirectory:
    def test_round_trip(self, tmp_path, small_blocks):
        spec = dict(SPEC)
        spec["a/b"] = {"shape": [5, 5], "init": "normal"}
        out = init_model(spec, tmp_path / "ckpt", seed=4, progress=False)
        ref = init_model(spec, seed=4, progress=False)
        files = sorted(p.name for p in out.iterdir())
        assert len(files) == len(spec) and "a%2Fb.npy" in files
        for k in spec:
            arr = np.load(out / models.npy_filename(k), mmap_mode="r")
            assert isinstance(arr, np.memmap)
            assert same(np.asarray(arr), ref[k]), k
        assert dict(models.iter_checkpoint(out)).keys() == set(spec)
        assert leftovers(tmp_path) == []

    def test_bfloat16_views(self, tmp_path):
        out = init_model(SPEC, tmp_path / "d", dtype="bfloat16", progress=False)
        ref = init_model(SPEC, dtype="bfloat16", progress=False)
        got = dict(models.iter_checkpoint(out))
        assert all(same(np.asarray(got[k]), ref[k]) for k in SPEC)

    def test_overwrite_and_failure(self, tmp_path, monkeypatch):
        d = tmp_path / "d"
        d.mkdir()
        (d / "keep.txt").write_text("x")
        with pytest.raises(FileExistsError):
            init_model(SPEC, d, progress=False)
        real = models._BlockStreamer.stream
        calls = []

        def flaky(self, p, pos):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("boom")
            return real(self, p, pos)

        monkeypatch.setattr(models._BlockStreamer, "stream", flaky)
        with pytest.raises(RuntimeError):
            init_model(SPEC, d, overwrite=True, progress=False)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
        assert (d / "keep.txt").read_text() == "x"
        monkeypatch.setattr(models._BlockStreamer, "stream", real)
        init_model(SPEC, d, overwrite=True, progress=False)
        assert not (d / "keep.txt").exists() and len(list(d.iterdir())) == len(SPEC)


# ----------------------------------------------------------------------------- fan-based streaming

FAN_SPEC = {
    "fc1": {"shape": [40, 24], "init": "xavier_uniform", "gain": 1.5},
    "fc2": {"shape": [24, 40], "init": "kaiming_normal", "mode": "fan_out",
            "nonlinearity": "relu"},
    "conv": {"shape": [3, 3, 8, 16], "init": "he_normal", "layout": "keras"},
    "conv_t": {"shape": [8, 6, 3, 3], "init": "glorot_normal", "layout": "torch_transposed"},
    "dense": {"shape": [30, 20], "init": "lecun_uniform"},
    "vs": {"shape": [2, 17, 19], "init": "variance_scaling", "scale": 0.5, "mode": "fan_geo_avg",
           "distribution": "uniform", "in_axis": -2, "out_axis": -1, "batch_axis": [0]},
    "h": {"shape": [20, 12], "init": "kaiming_uniform", "a": 0.1, "dtype": "float16"},
    "head": {"shape": [12, 16], "init": "orthogonal"},
}


class TestFanBasedStreaming:
    def test_plans_stream_fan_based_schemes(self):
        plans = {p.spec.name: p for p in models._plan(load_spec(FAN_SPEC), 0, "float32")}
        for k in FAN_SPEC:
            assert plans[k].elementwise == (k != "head"), k
        assert plans["conv"].stream_init.name == "trunc_normal"
        assert plans["fc1"].stream_init.name == "uniform"
        assert plans["head"].stream_init is None

    @pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
    def test_streamed_equals_in_memory(self, tmp_path, monkeypatch, small_blocks, dtype):
        real = models._make_array
        whole = []

        def spy(p, threads):  # the whole-tensor path: only for the orthogonal head
            whole.append(p.spec.name)
            return real(p, threads)

        ref = init_model(FAN_SPEC, seed=3, dtype=dtype, progress=False)
        oracle = reference(FAN_SPEC, seed=3, dtype=dtype)
        assert all(same(ref[k], oracle[k]) for k in FAN_SPEC)
        monkeypatch.setattr(models, "_make_array", spy)
        path = init_model(FAN_SPEC, tmp_path / "m.safetensors", seed=3, dtype=dtype,
                          progress=False)
        d = init_model(FAN_SPEC, tmp_path / "d", seed=3, dtype=dtype, progress=False)
        assert whole == ["head", "head"]
        got = load_file(str(path)) if dtype != "bfloat16" else dict(models.iter_checkpoint(path))
        for k in FAN_SPEC:
            assert same(np.asarray(got[k]), ref[k]), k
            arr = np.load(d / models.npy_filename(k), mmap_mode="r")
            assert same(models._bf16_fix(np.asarray(arr)), ref[k]), k

    def test_as_dask_chunks_fan_based(self):
        pytest.importorskip("dask.array")
        ref = init_model(FAN_SPEC, seed=8, progress=False)
        lazy = init_model(FAN_SPEC, seed=8, progress=False, as_dask=True, chunks=5)
        for k in FAN_SPEC:
            assert lazy[k].npartitions > 1
            assert same(lazy[k].compute(), ref[k]), k

    def test_bounded_memory(self, tmp_path, monkeypatch):
        """A 64 MB fan-based tensor streams through 1 MB blocks: no whole copy in memory."""
        import tracemalloc

        monkeypatch.setattr(models, "BLOCK_BYTES", 1 << 20)
        spec = {"w": {"shape": [4096, 4096], "init": "kaiming_normal"},
                "v": {"shape": [2048, 4096], "init": "he_normal"}}
        tracemalloc.start()
        try:
            init_model(spec, tmp_path / "big.safetensors", seed=0, threads=2, progress=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB"
        with safe_open(str(tmp_path / "big.safetensors"), framework="numpy") as f:
            tail = f.get_slice("w")[4094:4096]
        key = Key(derive_key(resolve_key(0), "w"))
        full_prim = winit.get("kaiming_normal").elementwise_for((4096, 4096))
        assert same(tail, full_prim((2, 4096), seed=key, offset=4094 * 4096))

    def test_bad_shapes_fail_before_writing(self, tmp_path):
        big = {"ok": {"shape": [8, 8], "init": "normal"},
               "v": {"shape": [1 << 20], "init": "xavier_uniform"}}  # 1-D: no fans in torch
        with pytest.raises(SpecError, match=r"tensor 'v' \(xavier_uniform.*fewer than 2"):
            init_model(big, tmp_path / "m.safetensors", progress=False)
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(SpecError, match=r"tensor 'k'.*gain"):
            init_model({"k": {"shape": [1 << 12, 1 << 12], "init": "xavier_normal",
                              "gain": -1.0}}, progress=False)


def test_progress_bar_reports_bytes(tmp_path, capsys):
    pytest.importorskip("tqdm")
    init_model(SPEC, tmp_path / "m.safetensors", progress=True)
    err = capsys.readouterr().err
    assert "B/s" in err and "m.safetensors" in err


def test_as_dask():
    pytest.importorskip("dask.array")
    lazy = init_model(SPEC, seed=3, progress=False, as_dask=True, chunks=7)
    ref = init_model(SPEC, seed=3, progress=False)
    for k in SPEC:
        assert same(lazy[k].compute(), ref[k]), k
    with pytest.raises(ValueError, match="path=None"):
        init_model(SPEC, "x.safetensors", as_dask=True, progress=False)


RSS_SCRIPT = """
import resource, sys, winit
spec = {f"layer.{i}.weight": {"shape": [16384, 4096], "init": "normal", "std": 0.02}
        for i in range(8)}
# fan-based schemes stream block by block too (no whole 256 MB tensor in memory)
spec["layer.0.weight"]["init"] = "kaiming_normal"
spec["layer.1.weight"]["init"] = "he_normal"
spec["layer.2.weight"]["init"] = "xavier_uniform"
for i in range(3):
    del spec[f"layer.{i}.weight"]["std"]
spec["head.bias"] = {"shape": [4096], "init": "zeros"}
winit.init_model(spec, sys.argv[1], seed=0, progress=False)
# VmHWM: this process's own peak since exec (ru_maxrss can carry the parent's peak
# over a vfork/exec on Linux, so it is only the fallback)
try:
    kb = next(int(line.split()[1]) for line in open("/proc/self/status")
              if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        kb //= 1024
print(kb)
"""


def test_peak_rss_of_a_2gb_model(tmp_path):
    """Streaming keeps the writer's peak RSS far below the model size (2.1 GB here)."""
    from winit.registry import get

    path = tmp_path / "big.safetensors"
    r = run_python(["-c", RSS_SCRIPT, str(path)], timeout=300)
    assert r.returncode == 0, r.stderr
    child_kb = int(r.stdout.split()[-1])
    size = path.stat().st_size
    assert size > 2 * 1024**3
    print(f"peak RSS {child_kb / 1024:.0f} MiB for a {size / 1e9:.2f} GB model")
    assert child_kb * 1024 < 800 * 1024**2, f"peak RSS {child_kb / 1024:.0f} MiB"
    with safe_open(str(path), framework="numpy") as f:
        s = f.get_slice("layer.7.weight")
        tail = s[16382:16384]
    ref = get("normal", std=0.02)(
        (2, 4096), seed=Key(derive_key(resolve_key(0), "layer.7.weight")), offset=16382 * 4096)
    assert same(tail, ref)
