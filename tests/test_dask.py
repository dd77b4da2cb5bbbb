"""winit.dask: lazy chunked arrays, bit-identical to the in-memory ones for any chunking."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import winit  # noqa: E402
import winit.dask as wd  # noqa: E402
from winit.registry import get  # noqa: E402

SHAPE = (37, 23, 6)
CHUNKINGS = [
    SHAPE,  # one chunk
    (10, 7, 4),  # uneven
    ((5, 30, 2), (23,), (1, 5)),  # explicit uneven
    (37, 1, 6),  # thin: one column per chunk
    (1, 23, 6),  # whole contiguous slabs
    (37, 23, 1),  # thinnest: stride-6 runs of one element
    "auto",
]


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(bits(a), bits(b))


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_normal_any_chunking(chunks):
    ref = winit.normal_(np.empty(SHAPE, np.float32), 0.5, 2.0, seed=11)
    x = wd.normal(SHAPE, 0.5, 2.0, chunks=chunks, seed=11)
    assert isinstance(x, da.Array) and x.dtype == np.float32
    assert same(x.compute(), ref)


@pytest.mark.parametrize("chunks", [(10, 7, 4), (37, 1, 6)])
def test_uniform_trunc_normal_dtypes(chunks):
    for dt in (np.float64, np.float16, np.float32):
        ref = winit.uniform_(np.empty(SHAPE, dt), -1.0, 3.0, seed=2)
        assert same(wd.uniform(SHAPE, -1.0, 3.0, chunks=chunks, seed=2, dtype=dt).compute(), ref)
    ref = winit.trunc_normal_(np.empty(SHAPE, np.float32), 0.0, 0.1, -0.15, 0.2, seed=3)
    got = wd.trunc_normal(SHAPE, 0.0, 0.1, -0.15, 0.2, chunks=chunks, seed=3).compute()
    assert same(got, ref)
    bf = np.dtype(ml_dtypes.bfloat16)
    ref = winit.normal_(np.empty(SHAPE, bf), seed=4)
    assert same(wd.normal(SHAPE, chunks=chunks, seed=4, dtype="bfloat16").compute(), ref)


@pytest.mark.parametrize(("name", "params"), [("normal", {"std": 0.02}), ("zeros", {}),
                                              ("truncated_normal", {}), ("uniform", {"a": -2.0}),
                                              ("constant", {"val": 0.25})])
def test_init_elementwise_schemes(name, params):
    ref = get(name, **params)(SHAPE, seed=5)
    for chunks in ((10, 7, 4), (37, 1, 6)):
        x = wd.init(name, SHAPE, chunks=chunks, seed=5, **params)
        assert x.numblocks != (1, 1, 1)
        assert same(x.compute(), ref)


def test_init_with_initializer_object_and_whole_schemes():
    xav = get("xavier_uniform", gain=2.0)
    x = wd.init(xav, (40, 30), chunks=(7, 11), seed=1)
    assert x.chunks[0][0] == 7
    assert len(dict(x.__dask_graph__())) == 6 * 3  # chunked like a primitive
    assert same(x.compute(), xav((40, 30), seed=1))
    orth = wd.init("orthogonal", (20, 50), chunks=(5, 50), seed=9)
    got = orth.compute()
    assert same(got, get("orthogonal")((20, 50), seed=9))
    np.testing.assert_allclose(got @ got.T, np.eye(20), atol=1e-5)
    with pytest.raises(ValueError, match="fewer than 2"):  # fans checked when building
        wd.init("kaiming_normal", (10,), seed=0)
    with pytest.raises(TypeError, match="parameters"):
        wd.init(xav, (4, 4), seed=0, gain=1.0)
    with pytest.raises(TypeError):
        wd.init(3.0, (4, 4), seed=0)
    with pytest.raises(ValueError):
        wd.normal((4, 4), std=-1.0, seed=0)


FAN_CASES = [
    ("xavier_uniform", {"gain": 1.7}),
    ("xavier_normal", {"layout": "keras"}),
    ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_uniform", {"a": 0.2, "layout": "torch_transposed"}),
    ("he_normal", {"layout": "jax"}),
    ("glorot_normal", {}),
    ("he_uniform", {"in_axis": 0, "out_axis": 1}),
    ("lecun_normal", {}),
    ("variance_scaling", {"scale": 0.3, "mode": "fan_avg", "distribution": "normal"}),
]


@pytest.mark.parametrize(("name", "params"), FAN_CASES, ids=[c[0] for c in FAN_CASES])
def test_init_fan_based_schemes_are_chunked(name, params):
    """Fan-based schemes: one task per chunk (no whole-array task), bit-identical."""
    for dt in (np.float32, "bfloat16"):
        ref = get(name, **params)(SHAPE, dt, seed=6)
        for chunks in CHUNKINGS:
            x = wd.init(name, SHAPE, chunks=chunks, seed=6, dtype=dt, **params)
            assert len(dict(x.__dask_graph__())) == np.prod(x.numblocks)
            assert same(x.compute(), ref), (name, chunks, dt)


def test_fill_block_paths(monkeypatch):
    """Both strategies for non-contiguous chunks: per-run calls and covering rows."""
    ref = winit.normal_(np.empty(SHAPE, np.float32), seed=8)
    for cost in (0, 1 << 30):  # 0: always per-run calls; huge: always covering rows
        monkeypatch.setattr(wd, "_CALL_COST", cost)
        for chunks in ((10, 7, 4), (37, 1, 6), (37, 23, 1)):
            assert same(wd.normal(SHAPE, chunks=chunks, seed=8).compute(), ref)


def test_scalar_and_empty():
    ref = winit.normal_(np.empty((), np.float32), seed=1)
    assert same(wd.normal((), chunks=(), seed=1).compute(), ref)
    assert wd.normal((0, 5), chunks=(1, 5), seed=1).compute().shape == (0, 5)


def test_graph_is_deterministic_and_seed_resolved_once():
    a = wd.normal((100, 10), chunks=(30, 10), seed=None)
    assert same(a.compute(), a.compute())
    b = wd.normal((100, 10), chunks=(30, 10), seed=0)
    c = wd.normal((100, 10), chunks=(30, 10), seed=0)
    assert b.name == c.name
    assert b.name != wd.normal((100, 10), chunks=(30, 10), seed=1).name


def test_init_model_dask_with_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    spec = {
        "emb": {"shape": [300, 64], "init": "normal", "std": 0.02},
        "proj": {"shape": [64, 64], "init": "xavier_uniform"},
        "conv": {"shape": [3, 3, 16, 32], "init": "he_normal", "layout": "keras"},
        "head": {"shape": [16, 64], "init": "orthogonal"},
        "bias": {"shape": [64], "init": "zeros"},
    }
    ref = winit.init_model(spec, seed=4, progress=False)
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = winit.init_model(spec, seed=4, progress=False, as_dask=True,
                                chunks=lambda name, shape: (50,) + shape[1:])
        assert lazy["emb"].numblocks == (6, 1)
        got = client.compute(lazy, sync=True)
        for k in spec:
            assert same(got[k], ref[k]), k
        # write shards from the workers, the way a model that outgrows one machine would be
        da.to_npy_stack(tmp_path / "emb", lazy["emb"], axis=0)
    back = da.from_npy_stack(tmp_path / "emb").compute()
    assert same(back, ref["emb"])


def test_init_model_chunk_forms():
    spec = {"a": {"shape": [40, 8], "init": "normal"}, "b": {"shape": [8], "init": "ones"}}
    lazy = winit.init_model(spec, progress=False, as_dask=True, chunks={"a": (7, 8)})
    assert lazy["a"].chunks[0][0] == 7 and lazy["b"].numblocks == (1,)
    assert winit.init_model(spec, progress=False, as_dask=True, chunks=4)["b"].numblocks == (2,)
    with pytest.raises(ValueError, match="tensor 'b'"):
        winit.init_model(spec, progress=False, as_dask=True, chunks=(7, 8))


# --------------------------------------------------------------------------- workers write files

LLAMA = {"model_type": "llama", "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 2, "num_attention_heads": 4, "torch_dtype": "bfloat16"}


def tree(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each (a cluster whose workers share /tmp)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cl:
        yield cl


def test_workers_write_byte_identical_shards(cluster, tmp_path):
    import distributed

    spec = winit.spec_from_hf_config(LLAMA, recipe="torchtitan")
    here = winit.init_model(spec, tmp_path / "here", seed=3, progress=False,
                            max_shard_size="10kB")
    with distributed.Client(cluster) as client:
        there = winit.init_model(spec, tmp_path / "there", seed=3, progress=False,
                                 max_shard_size="10kB", client=client)
        one = winit.init_model(spec, tmp_path / "one.safetensors", seed=3, progress=False,
                               client=client)
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    assert len(tree(here)) > 4 and tree(there) == tree(here)
    assert one.read_bytes() == winit.init_model(spec, tmp_path / "ref.safetensors", seed=3,
                                                progress=False).read_bytes()
    assert winit.verify(there).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "one.safetensors",
                                                          "ref.safetensors", "there"]


def test_cli_scheduler(cluster, tmp_path, capsys):
    from winit.cli import main

    cfg = tmp_path / "config.json"
    cfg.write_text(__import__("json").dumps(LLAMA))
    args = ["init", "--hf-config", str(cfg), "--max-shard-size", "20kB", "--no-progress"]
    assert main([*args, "-o", str(tmp_path / "a"), "--scheduler",
                 cluster.scheduler_address]) == 0
    out = capsys.readouterr().out
    assert f"Dask workers of {cluster.scheduler_address}" in out
    assert main([*args, "-o", str(tmp_path / "b")]) == 0
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


class _FailingClient:
    """A stand-in client whose second task fails: what the caller does then."""

    def __init__(self):
        self.submitted, self.cancelled = 0, []

    def submit(self, fn, *args, pure=True):
        import concurrent.futures

        fut = concurrent.futures.Future()
        self.submitted += 1
        if self.submitted == 2:
            fut.set_exception(OSError(28, "No space left on device"))
        else:
            fut.set_result(fn(*args))
        return fut

    def cancel(self, futures):
        self.cancelled = list(futures)


def test_a_failing_worker_leaves_nothing(tmp_path):
    client = _FailingClient()
    spec = winit.spec_from_hf_config(LLAMA)
    with pytest.raises(OSError, match="No space left"):
        winit.init_model(spec, tmp_path / "out", progress=False, max_shard_size="20kB",
                         client=client)
    assert client.submitted > 2 and len(client.cancelled) == client.submitted  # all of them
    assert list(tmp_path.iterdir()) == []
