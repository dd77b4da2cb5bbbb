"""winit.models: planning and init_model / run_init (memory, dask, safetensors, .npy directory).

Spec parsing is tested in test_spec.py, the writers and the reader in test_checkpoint.py.
"""

from __future__ import annotations

import importlib.util
import json

import ml_dtypes
import numpy as np
import pytest
from conftest import run_python

import winit
from winit import checkpoint, models, streamer
from winit._common import Key, derive_key, resolve_dtype, resolve_key
from winit.models import InitSummary, SpecError, init_model, load_spec, run_init

needs_safetensors = pytest.mark.skipif(
    importlib.util.find_spec("safetensors") is None,
    reason="reads the written .safetensors file back through the safetensors library (io extra)",
)

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
        dt = resolve_dtype(e.get("dtype", dtype))
        init = get(e["init"], **params)
        out[name] = init(tuple(e["shape"]), dt, seed=Key(derive_key(root, name)))
    return out


def leftovers(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def test_moved_names_stay_importable_from_models():
    """Names that moved to winit.spec / winit.checkpoint are the same objects in winit.models."""
    for name in ("SpecError", "TensorSpec", "default_spec_path", "gpt2_spec", "guess_init",
                 "load_spec", "spec_from_safetensors"):
        assert getattr(models, name) is getattr(winit.spec, name), name
    for name in ("BLOCK_BYTES", "SAFETENSORS_DTYPES", "iter_checkpoint", "npy_filename"):
        assert getattr(models, name) is getattr(checkpoint, name), name
    assert winit.load_spec is load_spec and winit.SpecError is SpecError
    assert winit.spec_from_safetensors is winit.spec.spec_from_safetensors
    assert winit.init_model is init_model
    assert set(models.__all__) <= set(dir(models))


# ----------------------------------------------------------------------------- planning


class TestPlanning:
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


    def test_repeated_entries_resolved_once(self, monkeypatch):
        """A model's repeated layers share one resolved initializer per distinct scheme,
        parameters (by type and repr), shape and dtype; each tensor keeps its own key."""
        calls = []
        real = models.get
        monkeypatch.setattr(models, "get",
                            lambda init, **kw: calls.append(init) or real(init, **kw))
        spec = {f"l{i}.{k}": {"shape": [8, 4], "init": "normal", "std": 0.02}
                for i in range(6) for k in ("q", "k")}
        spec.update({"m0": {"shape": [8, 4], "init": "normal", "mean": 0.0},
                     "m1": {"shape": [8, 4], "init": "normal", "mean": -0.0},
                     "g0": {"shape": [4], "init": "constant", "val": 1},
                     "g1": {"shape": [4], "init": "constant", "val": 1.0},
                     "s": {"shape": [4, 8], "init": "normal", "std": 0.02},
                     "h": {"shape": [8, 4], "init": "normal", "std": 0.02, "dtype": "float16"}})
        plans = {p.spec.name: p for p in models._plan(load_spec(spec), 7, "float32")}
        assert len(calls) == 7  # l*, m0, m1, g0, g1, s, h
        assert plans["l0.q"].initializer is plans["l5.k"].initializer
        assert plans["m0"].initializer is not plans["m1"].initializer
        assert plans["g0"].initializer is not plans["g1"].initializer
        assert len({p.key for p in plans.values()}) == len(spec)
        assert plans["l3.k"].key == derive_key(7, "l3.k")
        assert [p.dtype for p in (plans["l0.q"], plans["h"])] == [np.float32, np.float16]
        with pytest.raises(SpecError, match=r"tensor 'l2.b'.*std"):
            models._plan(load_spec({**spec, "l2.b": {"shape": [8, 4], "init": "normal",
                                                    "std": -1.0}}), 0, "float32")


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


def header_of(path) -> dict:
    """The JSON header of a safetensors file (read without the library)."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n])


@pytest.fixture
def small_blocks(monkeypatch):
    """Tiny generation blocks, so small tensors are streamed through many offsets."""
    monkeypatch.setattr(streamer, "BLOCK_BYTES", 96)


class TestSafetensors:
    @needs_safetensors
    @pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "float64"])
    def test_round_trip_numpy(self, tmp_path, small_blocks, dtype):
        from safetensors import safe_open
        from safetensors.numpy import load_file

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

    @needs_safetensors
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

    def test_metadata(self, tmp_path):
        meta = {"model": "tiny", "format": "np"}  # a spec's metadata may override the defaults
        (tmp_path / "s.json").write_text(json.dumps({"__metadata__": meta, **SPEC}))
        toml = '[__metadata__]\nmodel = "tiny"\nformat = "np"\n\n[w]\nshape = [3]\ninit = "zeros"\n'
        (tmp_path / "s.toml").write_text(toml)
        # the header also carries the provenance (winit.hfdir.Provenance): tested in
        # test_verify.py; here the rest of the metadata, exactly
        prov = ("winit.version", "winit.key", "winit.spec_sha256", "winit.spec")
        want = {"format": "np", "generator": "winit", "model": "tiny", "winit.seed": "4"}
        for src in ({"__metadata__": meta, **SPEC}, tmp_path / "s.json", tmp_path / "s.toml"):
            out = init_model(src, tmp_path / "m.safetensors", seed=4, overwrite=True,
                             progress=False)
            got = header_of(out)["__metadata__"]
            assert {k: v for k, v in got.items() if k not in prov} == want, src
            assert got["winit.key"] == f"0x{resolve_key(4):016x}"
        init_model(SPEC, tmp_path / "k.safetensors", seed=Key(4), progress=False)
        got = header_of(tmp_path / "k.safetensors")["__metadata__"]
        assert {k: v for k, v in got.items() if k not in prov} == {
            "format": "pt", "generator": "winit"}  # a raw Key is not a model seed...
        assert got["winit.key"] == "0x0000000000000004"  # ...but it is the root key
        init_model("gpt2_small", tmp_path / "g.safetensors", seed=1, progress=False,
                   dtype="float16")
        meta = header_of(tmp_path / "g.safetensors")["__metadata__"]
        assert meta["model"] == "gpt2-small" and meta["winit.seed"] == "1"
        with pytest.raises(SpecError, match="__metadata__"):
            init_model({"__metadata__": 3, **SPEC}, tmp_path / "x.safetensors", progress=False)
        assert not (tmp_path / "x.safetensors").exists()

    @needs_safetensors
    def test_overwrite_refused_then_allowed(self, tmp_path):
        from safetensors.numpy import load_file

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
    def test_failure_in_a_scheme_leaves_nothing(self, tmp_path, monkeypatch, small_blocks, exc):
        path = tmp_path / "m.safetensors"
        path.write_bytes(b"old checkpoint")
        real = models._Planned.fill
        calls = []

        def flaky(self, out, offset, threads=None):
            calls.append(self.spec.name)
            if len(calls) == 9:
                raise exc
            return real(self, out, offset, threads)

        monkeypatch.setattr(models._Planned, "fill", flaky)
        with pytest.raises(type(exc)):
            init_model(SPEC, path, overwrite=True, progress=False)
        assert len(calls) == 9
        assert path.read_bytes() == b"old checkpoint"
        assert leftovers(tmp_path) == []

    @needs_safetensors
    def test_reinitialize_a_checkpoint(self, tmp_path):
        from safetensors.numpy import load_file

        spec = dict(SPEC)
        spec["b16"] = {"shape": [4, 4], "init": "normal", "dtype": "bfloat16"}
        path = init_model(spec, tmp_path / "m.safetensors", progress=False)
        # a checkpoint path works as a spec: same names, shapes and dtypes
        out = init_model(path, tmp_path / "fresh.safetensors", seed=9, progress=False)
        got = load_file(str(out))
        assert set(got) == set(spec)
        assert got["head"].shape == (12, 16) and got["head"].dtype == np.float32
        assert header_of(out)["b16"]["dtype"] == "BF16"
        ref = init_model({"emb.weight": spec["emb.weight"]}, seed=9, progress=False)
        assert same(got["emb.weight"], ref["emb.weight"])  # guessed: normal, std 0.02


# ----------------------------------------------------------------------------- .npy directory


class TestNpyDirectory:
    def test_round_trip(self, tmp_path, small_blocks):
        spec = dict(SPEC)
        spec["a/b"] = {"shape": [5, 5], "init": "normal"}
        out = init_model(spec, tmp_path / "ckpt", seed=4, progress=False)
        ref = init_model(spec, seed=4, progress=False)
        files = sorted(p.name for p in out.iterdir() if p.suffix == ".npy")
        assert len(files) == len(spec) and "a%2Fb.npy" in files
        assert sorted(p.name for p in out.iterdir()) == [".winit-manifest.json", *files]
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

    def test_overwrite(self, tmp_path):
        d = tmp_path / "d"
        d.mkdir()
        (d / "keep.txt").write_text("x")
        for overwrite in (False, True):  # a directory winit did not write: never replaced
            with pytest.raises(FileExistsError, match="not written by winit"):
                init_model(SPEC, d, overwrite=overwrite, progress=False)
        assert [p.name for p in d.iterdir()] == ["keep.txt"]
        e = init_model(SPEC, tmp_path / "e", seed=1, progress=False)
        with pytest.raises(FileExistsError, match="already exists"):
            init_model(SPEC, e, progress=False)
        init_model(SPEC, e, overwrite=True, progress=False)
        ref = init_model(SPEC, progress=False)
        assert len(list(e.iterdir())) == len(SPEC) + 1  # and the manifest
        assert same(np.load(e / "head.npy"), ref["head"])

    def test_output_suffix(self, tmp_path):
        for name in ("m.pt", "m.npz"):
            with pytest.raises(ValueError, match=r"winit writes a \.safetensors file"):
                init_model(SPEC, tmp_path / name, progress=False)
        assert list(tmp_path.iterdir()) == []
        out = init_model(SPEC, str(tmp_path / "m.v1") + "/", progress=False)
        assert out == tmp_path / "m.v1" and (out / "head.npy").is_file()


# ----------------------------------------------------------------------------- run_init


class TestRunInit:
    def test_summary(self, tmp_path):
        spec = dict(SPEC)
        spec["half"] = {"shape": [10, 3], "init": "normal", "dtype": "float16"}
        s = run_init(spec, tmp_path / "m.safetensors", seed=2, dtype="bfloat16", progress=False)
        assert isinstance(s, InitSummary)
        assert s.result == tmp_path / "m.safetensors" and s.result.is_file()
        sizes = [int(np.prod(e["shape"])) for e in spec.values()]
        assert s.tensors == len(spec) and s.parameters == sum(sizes)
        assert s.nbytes == 2 * sum(sizes)
        assert s.dtypes == {"bfloat16": len(SPEC), "float16": 1}
        assert list(s.dtypes) == ["bfloat16", "float16"]  # in spec order
        assert s.seconds > 0
        raw = s.result.read_bytes()
        assert len(raw) == 8 + int.from_bytes(raw[:8], "little") + s.nbytes  # nbytes: data only

    def test_result_is_what_init_model_returns(self):
        s = run_init(SPEC, seed=6, progress=False)
        ref = init_model(SPEC, seed=6, progress=False)
        assert list(s.result) == list(ref) and all(same(s.result[k], ref[k]) for k in SPEC)
        assert s.dtypes == {"float32": len(SPEC)}
        assert s.nbytes == 4 * s.parameters

    def test_accepts_a_parsed_spec(self):
        model = winit.spec.read_spec(SPEC)
        a = run_init(model, seed=1, progress=False).result
        b = init_model(load_spec(SPEC), seed=1, progress=False)
        assert all(same(a[k], b[k]) for k in SPEC)


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

    @needs_safetensors
    @pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
    def test_streamed_equals_in_memory(self, tmp_path, monkeypatch, small_blocks, dtype):
        from safetensors.numpy import load_file

        real = models._Planned.array
        whole = []

        def spy(p, threads=None):  # the whole-tensor path: only for the orthogonal head
            whole.append(p.spec.name)
            return real(p, threads)

        ref = init_model(FAN_SPEC, seed=3, dtype=dtype, progress=False)
        oracle = reference(FAN_SPEC, seed=3, dtype=dtype)
        assert all(same(ref[k], oracle[k]) for k in FAN_SPEC)
        monkeypatch.setattr(models._Planned, "array", spy)
        path = init_model(FAN_SPEC, tmp_path / "m.safetensors", seed=3, dtype=dtype,
                          progress=False)
        d = init_model(FAN_SPEC, tmp_path / "d", seed=3, dtype=dtype, progress=False)
        assert whole == ["head", "head"]
        got = load_file(str(path)) if dtype != "bfloat16" else dict(models.iter_checkpoint(path))
        for k in FAN_SPEC:
            assert same(np.asarray(got[k]), ref[k]), k
            arr = np.asarray(np.load(d / models.npy_filename(k), mmap_mode="r"))
            assert same(arr.view(BF16) if arr.dtype == np.dtype("V2") else arr, ref[k]), k

    def test_as_dask_chunks_fan_based(self):
        pytest.importorskip("dask.array")
        ref = init_model(FAN_SPEC, seed=8, progress=False)
        lazy = init_model(FAN_SPEC, seed=8, progress=False, as_dask=True, chunks=5)
        for k in FAN_SPEC:
            assert lazy[k].npartitions > 1
            assert same(lazy[k].compute(), ref[k]), k

    @needs_safetensors
    def test_bounded_memory(self, tmp_path, monkeypatch):
        """A 64 MB fan-based tensor streams through 1 MB blocks: no whole copy in memory."""
        import tracemalloc

        from safetensors import safe_open

        monkeypatch.setattr(streamer, "BLOCK_BYTES", 1 << 20)
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


@needs_safetensors
def test_peak_rss_of_a_2gb_model(tmp_path):
    """Streaming keeps the writer's peak RSS far below the model size (2.1 GB here)."""
    from safetensors import safe_open

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


class TestValidatedBeforeOutput:
    """Every scheme's parameter and shape checks run in the planning pass (issue: bad
    whole-tensor entries used to fail only after earlier tensors were generated)."""

    BIG = {"shape": [70000, 8], "init": "normal"}  # over the dry-run size: never built

    @pytest.mark.parametrize("entry, match", [
        ({"shape": [300, 300], "init": "orthogonal", "gain": float("nan")}, "gain must not be NaN"),
        ({"shape": [300, 300], "init": "sparse", "sparsity": 2}, r"sparsity must be in \[0, 1\]"),
        ({"shape": [300, 30, 30], "init": "eye"}, "2 dimensions"),
        ({"shape": [300, 300], "init": "dirac"}, "3, 4, or 5 dimensions"),
        ({"shape": [300, 300, 3], "init": "dirac", "groups": 7}, "divisible by groups"),
        ({"shape": [200, 300, 3], "init": "delta_orthogonal"}, "fan_in"),
        ({"shape": [70000], "init": "orthogonal"}, "2 or more dimensions"),
        ({"shape": [300, 300, 3], "init": "orthogonal", "layout": "jax", "column_axis": 5},
         "column_axis=5 is out of range"),
        ({"shape": [2**62, 4], "init": "normal"}, "field 'shape'.*overflows int64"),
        ({"shape": [2**61, 4], "init": "orthogonal"}, "field 'shape'.*overflows int64"),
    ])
    def test_second_tensor_fails_first_and_is_named(self, tmp_path, monkeypatch, entry, match):
        writes = []
        monkeypatch.setattr(models, "write_checkpoint", lambda *a, **k: writes.append(a))
        out = tmp_path / "m.safetensors"
        with pytest.raises(winit.SpecError, match=match) as info:
            winit.init_model({"a": self.BIG, "b": entry}, out, progress=False)
        assert "tensor 'b'" in str(info.value)
        assert not out.exists() and list(tmp_path.iterdir()) == []
        assert writes == []  # failed in planning: the writer was never started


def test_initializer_check_matches_the_call():
    """Initializer.check raises exactly what filling a tensor of that shape raises."""
    cases = [("eye", {}, (3, 4, 5)), ("dirac", {"groups": 2}, (3, 2, 3)),
             ("delta_orthogonal", {}, (2, 3, 3)), ("orthogonal", {}, (7,)),
             ("sparse", {"sparsity": 0.5}, (4, 4, 4)), ("kaiming_normal", {}, (5,))]
    for name, params, shape in cases:
        init = winit.get(name, **params)
        with pytest.raises(ValueError) as by_check:
            init.check(shape)
        with pytest.raises(ValueError) as by_call:
            init(shape, seed=0)
        assert str(by_check.value) == str(by_call.value), name
    for name, params, shape in [("eye", {}, (3, 4)), ("dirac", {"groups": 2}, (4, 2, 3)),
                                ("normal", {}, (2**40,)), ("orthogonal", {}, (2**30, 2**30))]:
        winit.get(name, **params).check(shape)  # valid: no error, nothing built
