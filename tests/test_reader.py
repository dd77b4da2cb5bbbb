"""winit.reader: checkpoints listed without reading, read in bounded blocks; statistics of
stored tensors of any real dtype; lying safetensors files answered with an error naming
the file (``iter_checkpoint``, ``spec_from_safetensors``, ``winit stats``)."""

from __future__ import annotations

import json
import os
import re
import zipfile

import ml_dtypes
import numpy as np
import pytest
from conftest import run_python

import winit
from winit.checkpoint import SAFETENSORS_DTYPES, iter_checkpoint
from winit.cli import main
from winit.reader import (
    SAFETENSORS_CODES,
    checkpoint_tensors,
    safetensors_tensors,
    stats_dtype,
    tensor_stats,
)
from winit.spec import SpecError

BF16 = np.dtype(ml_dtypes.bfloat16)
CODES = {v: k for k, v in SAFETENSORS_CODES.items()}


def raw_safetensors(path, header, data=b"", hlen=None):
    """A safetensors file from a header (dict, or raw bytes) and data, lies included;
    ``header=None`` writes ``data`` alone."""
    if header is None:
        path.write_bytes(data)
        return path
    js = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes((len(js) if hlen is None else hlen).to_bytes(8, "little") + js + data)
    return path


def safetensors_of(path, arrays, metadata=None):
    header, data, pos = {}, b"", 0
    if metadata:
        header["__metadata__"] = metadata
    for name, a in arrays.items():
        code = CODES[a.dtype] if a.dtype in CODES else a.dtype
        header[name] = {"dtype": code, "shape": list(a.shape),
                        "data_offsets": [pos, pos + a.nbytes]}
        data += np.ascontiguousarray(a).tobytes()
        pos += a.nbytes
    return raw_safetensors(path, header, data)


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint8)


BN = {  # what a BatchNorm model's checkpoint holds, and the other dtypes of the format
    "bn.weight": np.linspace(0.5, 1.5, 8, dtype=np.float32),
    "bn.num_batches_tracked": np.array(12345, np.int64),
    "mask": np.array([True, False, True]),
    "ids": np.arange(-5, 5, dtype=np.int8),
    "big": np.array([0, 2**40, 7], np.uint64),
    "f8a": np.array([0.5, -2, 448, np.nan], np.float32).astype(ml_dtypes.float8_e4m3fn),
    "f8b": np.array([0.25, -3, 57344, np.inf], np.float32).astype(ml_dtypes.float8_e5m2),
    "half": np.array([1, 2, 3], np.float16),
    "bf": np.array([1, 2, 3], np.float32).astype(BF16),
}


def test_codes():
    assert all(SAFETENSORS_CODES[c] == dt for dt, c in SAFETENSORS_DTYPES.items())
    assert SAFETENSORS_CODES["F8_E4M3"] == np.dtype(ml_dtypes.float8_e4m3fn)
    assert stats_dtype(np.dtype(np.int64)) == np.float64 == stats_dtype(np.dtype(np.bool_))
    assert stats_dtype(np.dtype(ml_dtypes.float8_e5m2)) == np.float32
    assert stats_dtype(np.dtype(">f4")) == np.float32 and stats_dtype(BF16) == BF16
    for dt in (np.complex64, object, "U3", [("a", "f4")], "M8[s]"):
        assert stats_dtype(np.dtype(dt)) is None
    assert stats_dtype(None) is None


class TestSafetensors:
    def test_every_dtype_read_and_summarized(self, tmp_path):
        """int64 (num_batches_tracked), bool and float8 tensors: `winit stats` stopped with
        "a has unsupported dtype int64" / an AttributeError for float8."""
        path = safetensors_of(tmp_path / "bn.safetensors", BN, metadata={"format": "pt"})
        tensors, meta = safetensors_tensors(path)
        assert meta == {"format": "pt"}
        assert [t.name for t in tensors] == sorted(BN)
        got = dict(iter_checkpoint(path))
        for name, a in BN.items():
            assert got[name].dtype == a.dtype and np.array_equal(bits(got[name]), bits(a)), name
        for t in tensors:
            a = BN[t.name]
            st = tensor_stats(t)
            assert st == winit.stats(a.astype(stats_dtype(a.dtype))), t.name
        st = tensor_stats(next(t for t in tensors if t.name == "big"))
        assert (st.count, st.min, st.max, st.zero_count) == (3, 0.0, 2.0**40, 1)

    def test_other_dtypes_are_listed_not_read(self, tmp_path):
        path = raw_safetensors(tmp_path / "f4.safetensors", {
            "packed": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
            "w": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, bytes(6))
        packed, w = safetensors_tensors(path)[0]
        assert (packed.dtype, packed.label, packed.shape) == (None, "F4", (4,))
        assert stats_dtype(packed.dtype) is None and w.read().tolist() == [0.0]
        with pytest.raises(TypeError, match="tensor 'packed' has dtype F4: no statistics"):
            tensor_stats(packed)
        with pytest.raises(ValueError, match="tensor 'packed' has dtype F4, which numpy cannot"):
            list(iter_checkpoint(path))


DATA = np.arange(4, dtype=np.float32).tobytes()  # two F32[2] tensors
GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}


def with_b(**b):
    return {"a": GOOD["a"], "b": {**GOOD["b"], **b}}


LIES = {
    "short": (None, b"\x01\x02", None, r"the file has 2 bytes, fewer than the 8 of the header "
              r"length"),
    "empty_header": (b"", b"", None, r"the header is not JSON"),
    "length_past_eof": (GOOD, DATA, 10**6, r"header length 1000000 runs past the end of the "
                        r"file \(\d+ bytes\)"),
    "length_huge": (GOOD, DATA, 2**64 - 1, r"runs past the end of the file"),
    "not_json": (b"{not json", DATA, None, r"the header is not JSON"),
    "not_utf8": (b'{"\xff": 1}', DATA, None, r"the header is not UTF-8 text"),
    "not_object": (b"[1, 2]", DATA, None, r"the header is a JSON list, not an object"),
    "duplicate": (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                  b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', DATA, None,
                  r"duplicate key 'a' \(a JSON object must name each key once\)"),
    "entry_not_object": ({"a": GOOD["a"], "b": [1]}, DATA, None,
                         r"tensor 'b': an entry must be an object"),
    "offsets_out_of_range": (with_b(data_offsets=[8, 24]), DATA, None,
                             r"tensor 'b': data_offsets \[8, 24\] are out of range "
                             r"\(the data has 16 bytes\)"),
    "offsets_reversed": (with_b(data_offsets=[16, 8]), DATA, None, r"out of range"),
    "offsets_not_two": (with_b(data_offsets=[8]), DATA, None,
                        r"'data_offsets' must be a list of 2 non-negative integers"),
    "offsets_negative": (with_b(data_offsets=[-8, 8]), DATA, None, r"non-negative"),
    "overlap": (with_b(data_offsets=[4, 12]), DATA[:12], None,
                r"tensors 'a' and 'b' overlap \(bytes 4 to 8\)"),
    "hole": (with_b(data_offsets=[12, 20]), DATA + bytes(4), None,
             r"bytes 8 to 12 of the data belong to no tensor"),
    "trailing_bytes": (GOOD, DATA + b"xxxx", None,
                       r"bytes 16 to 20 of the data belong to no tensor"),
    "truncated": (GOOD, DATA[:12], None, r"tensor 'b': data_offsets \[8, 16\] are out of range"),
    "shape_mismatch": (with_b(shape=[3]), DATA, None,
                       r"tensor 'b': F32 of shape \[3\] needs 12 bytes, its data_offsets span 8"),
    "dtype_mismatch": (with_b(dtype="F64"), DATA, None, r"F64 of shape \[2\] needs 16 bytes"),
    "shape_negative": (with_b(shape=[-2]), DATA, None,
                       r"'shape' must be a list of non-negative integers"),
    "shape_float": (with_b(shape=[2.0]), DATA, None, r"'shape' must be a list"),
    "dtype_missing": (with_b(dtype=None), DATA, None, r"an entry must be an object with "
                      r"'dtype'"),
    "metadata": ({"__metadata__": {"a": 1}, **GOOD}, DATA, None,
                 r"'__metadata__' must map strings to strings"),
}


@pytest.mark.parametrize("lie", list(LIES))
def test_lying_safetensors_files(tmp_path, capsys, lie):
    header, data, hlen, reason = LIES[lie]
    path = raw_safetensors(tmp_path / f"{lie}.safetensors", header, data, hlen)
    msg = rf"^{re.escape(str(path))}: not a readable safetensors file: .*{reason}"
    with pytest.raises(ValueError, match=msg):
        list(checkpoint_tensors(path))
    with pytest.raises(ValueError, match=msg):
        list(iter_checkpoint(path))
    with pytest.raises(SpecError, match=msg):
        winit.spec_from_safetensors(path)
    assert main(["stats", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.match(rf"winit stats: error: {msg[1:]}", err[0]), err


def test_a_valid_file_passes(tmp_path):
    path = raw_safetensors(tmp_path / "ok.safetensors", GOOD, DATA)
    assert [t.read().tolist() for t in checkpoint_tensors(path)] == [[0, 1], [2, 3]]
    zero = raw_safetensors(tmp_path / "zero.safetensors", {
        "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}, **GOOD}, DATA)
    assert [t.shape for t in checkpoint_tensors(zero)] == [(2,), (2,), (0, 3)]


# ----------------------------------------------------------------------------- blocks


class TestBlocks:
    def test_blocks_are_bounded_and_cover_the_tensor(self, tmp_path):
        a = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
        t, = checkpoint_tensors(safetensors_of(tmp_path / "m.safetensors", {"w": a}))
        sizes, parts = [], []
        for b in t.blocks(max_bytes=1000):
            sizes.append(b.nbytes)
            parts.append(b.copy())
        assert sizes == [1000] * 4 and np.array_equal(np.concatenate(parts), a)
        assert list(t.blocks(max_bytes=1))[0].size == 1  # at least one element

    def test_merged_block_stats_equal_whole_array_stats(self, tmp_path):
        rng = np.random.default_rng(1)
        a = (3.0 + 2.0 * rng.standard_t(5, 250_001)).astype(np.float32)
        a[[7, 100_000]] = np.nan
        a[[5, 200_000]] = [np.inf, -np.inf]
        a[1000:1100] = 0
        b = rng.integers(-1000, 1000, 100_003).astype(np.int64)
        c = rng.standard_normal(70_001).astype(BF16)
        path = safetensors_of(tmp_path / "m.safetensors", {"a": a, "b": b, "c": c})
        for t in checkpoint_tensors(path):
            whole = {"a": a, "b": b.astype(np.float64), "c": c}[t.name]
            for bins in (None, 16):
                w = winit.stats(whole, bins=bins)
                m = tensor_stats(t, bins=bins, max_bytes=40_000)  # many blocks
                assert (m.count, m.min, m.max, m.nan_count, m.inf_count, m.zero_count) == (
                    w.count, w.min, w.max, w.nan_count, w.inf_count, w.zero_count)
                for f in ("mean", "m2", "m3", "m4", "var", "skew", "kurtosis"):
                    x, y = getattr(m, f), getattr(w, f)
                    assert abs(x - y) <= 1e-12 * abs(y), (t.name, f)
                if bins:  # the same edges, so exactly the same counts
                    assert np.array_equal(m.hist[1], w.hist[1])
                    assert np.array_equal(m.hist[0], w.hist[0])
            assert tensor_stats(t) == winit.stats(whole)  # one block: exactly stats()
        t = next(checkpoint_tensors(path))
        r = tensor_stats(t, bins=4, range=(0, 1), max_bytes=40_000)
        assert np.array_equal(r.hist[0], winit.stats(a, bins=4, range=(0, 1)).hist[0])

    def test_all_nan_and_empty(self, tmp_path):
        path = safetensors_of(tmp_path / "m.safetensors", {
            "nan": np.full(5000, np.nan, np.float32), "empty": np.zeros((0, 3), np.float32)})
        for t in checkpoint_tensors(path):
            whole = np.full(5000, np.nan, np.float32) if t.name == "nan" else np.zeros((0, 3))
            got = tensor_stats(t, bins=3, max_bytes=4000)
            want = winit.stats(whole.astype(np.float32), bins=3)
            assert got == want, t.name


class TestNpy:
    def test_npy_layouts(self, tmp_path):
        a = np.random.default_rng(2).standard_normal((30, 7)).astype(np.float32)
        np.save(tmp_path / "f.npy", np.asfortranarray(a))
        np.save(tmp_path / "be.npy", a.astype(">f4"))
        for name in ("f", "be"):
            t, = checkpoint_tensors(tmp_path / f"{name}.npy")
            assert t.name == name and t.shape == (30, 7)
            assert t.fortran_order == (name == "f")
            assert np.array_equal(t.read(), a)
            assert tensor_stats(t) == winit.stats(a)  # one block: in C order, exactly
            m = tensor_stats(t, max_bytes=100)
            assert m.count == a.size and abs(m.mean - float(np.mean(a, dtype=np.float64))) < 1e-12

    def test_directory_and_npz(self, tmp_path):
        arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                  "steps": np.array(3, np.int64), "z": np.array([1 + 2j], np.complex64)}
        d = tmp_path / "d"
        d.mkdir()
        for k, v in arrays.items():
            np.save(d / f"{k}.npy", v)
        np.savez_compressed(tmp_path / "c.npz", **arrays)
        with zipfile.ZipFile(tmp_path / "c.npz", "a") as z:
            z.writestr("README.txt", "not an array")
        for path in (d, tmp_path / "c.npz"):
            ts = {t.name: t for t in checkpoint_tensors(path)}
            assert [ts[k].dtype for k in arrays] == [v.dtype for v in arrays.values()]
            m = tensor_stats(ts["w"], max_bytes=8)  # three blocks of two
            assert (m.count, m.min, m.max, m.mean) == (6, 0.0, 5.0, 2.5)
            assert tensor_stats(ts["steps"]).mean == 3.0
            assert stats_dtype(ts["z"].dtype) is None
            assert np.array_equal(ts["w"].read(), arrays["w"])
        assert ts["README.txt"].label == "not an array" and ts["README.txt"].dtype is None

    def test_errors_name_the_file(self, tmp_path):
        bad = tmp_path / "bad.npy"
        bad.write_bytes(b"not an npy file at all")
        with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}: not a readable \.npy"):
            list(checkpoint_tensors(bad))
        short = tmp_path / "short.npy"
        np.save(short, np.zeros(100, np.float32))
        short.write_bytes(short.read_bytes()[:-8])
        with pytest.raises(ValueError, match=rf"{re.escape(str(short))}: truncated \.npy file"):
            list(checkpoint_tensors(short))
        (tmp_path / "x.npz").write_bytes(b"PK no zip")
        with pytest.raises(ValueError, match=r"x\.npz: not a readable \.npz file"):
            list(checkpoint_tensors(tmp_path / "x.npz"))
        with pytest.raises(FileNotFoundError, match="checkpoint not found"):
            list(checkpoint_tensors(tmp_path / "none.safetensors"))
        obj = tmp_path / "obj.npy"
        np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        t, = checkpoint_tensors(obj)
        assert stats_dtype(t.dtype) is None
        with pytest.raises(ValueError, match="numpy cannot read"):
            t.read()


def test_a_file_shrinking_under_the_reader(tmp_path):
    a = np.arange(1000, dtype=np.float32)
    path = safetensors_of(tmp_path / "m.safetensors", {"w": a})
    t, = checkpoint_tensors(path)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 100)
    with pytest.raises(ValueError, match=r"tensor 'w' is truncated \(the file ends inside"):
        tensor_stats(t, max_bytes=1000)


# ----------------------------------------------------------------------------- memory

RSS_SCRIPT = """
import sys
from winit.cli import main
rc = main(["stats", sys.argv[1], "--bins", "16"])
kb = next(int(line.split()[1]) for line in open("/proc/self/status")
          if line.startswith("VmHWM:"))
print(kb)
sys.exit(rc)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                    reason="VmHWM is read from /proc/self/status (Linux)")
def test_stats_of_a_300mb_file_in_bounded_memory(tmp_path):
    """`winit stats` memory-mapped the file: a 3 GB file peaked at 3.3 GB RSS. The file here
    is sparse (300 MB of zeros that cost no disk), the histogram takes two passes."""
    n = 75_000_000
    path = raw_safetensors(tmp_path / "big.safetensors",
                           {"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}})
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size + 4 * n)
    r = run_python(["-c", RSS_SCRIPT, str(path)], timeout=300)
    assert r.returncode == 0, r.stderr
    kb = int(r.stdout.split()[-1])
    print(f"peak RSS {kb / 1024:.0f} MiB for a {path.stat().st_size / 1e6:.0f} MB file")
    assert kb < 200 * 1024, f"peak RSS {kb / 1024:.0f} MiB"
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("w "))
    assert row.split()[3:] == ["75000000", "0", "0", "0", "0", "0/0"]
