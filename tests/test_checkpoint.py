"""winit.checkpoint: the block streamer, the safetensors and .npy writers, atomic output,
and the reader ``iter_checkpoint``. The tensors here are plain numpy arrays (no registry)."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import ml_dtypes
import numpy as np
import pytest

from winit import checkpoint, streamer
from winit.checkpoint import (
    TensorSource,
    check_destination,
    iter_checkpoint,
    npy_filename,
    write_checkpoint,
    write_npy_dir,
    write_safetensors,
)

BF16 = np.dtype(ml_dtypes.bfloat16)
ITEM = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def source(name, array, *, streamable=True, calls=None):
    """A TensorSource for ``array``: block by block through ``fill``, or whole via ``make``."""
    flat = np.ascontiguousarray(array).reshape(-1)

    def make(threads):
        if calls is not None:
            calls.append(name)
        return array

    def fill(out, offset, threads):
        out[...] = flat[offset:offset + out.size]

    return TensorSource(name, array.shape, array.dtype, make, fill if streamable else None)


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "emb.weight": rng.standard_normal((50, 16)).astype(np.float32),
        "blk.0.w": rng.standard_normal((16, 24)).astype(np.float32),
        "blk.0.b": np.zeros(24, np.float32),
        "half": rng.standard_normal((3,)).astype(np.float16),
        "bf": rng.standard_normal((5, 5)).astype(BF16),
        "f64": rng.standard_normal((5,)),
        "scalar": np.array(0.5, np.float32),
        "empty": np.zeros((0, 4), np.float32),
        "a/b": rng.standard_normal((5, 5)).astype(np.float32),
    }


def sources(arrs, whole=()):
    return [source(k, a, streamable=k not in whole) for k, a in arrs.items()]


def bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.itemsize > 1 else a


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(bits(a), bits(b))


def parse_safetensors(path):
    """Header and tensors of a safetensors file, read without the safetensors library."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    dtypes = {v: k for k, v in checkpoint.SAFETENSORS_DTYPES.items()}
    out = {}
    for k, v in header.items():
        if k != "__metadata__":
            s, e = v["data_offsets"]
            out[k] = np.frombuffer(data[s:e], dtypes[v["dtype"]]).reshape(v["shape"])
    return n, header, out


def leftovers(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def small_blocks(monkeypatch):
    """Tiny generation blocks, so small tensors are streamed through many offsets."""
    monkeypatch.setattr(streamer, "BLOCK_BYTES", 96)


def test_tensor_source():
    s = source("w", np.zeros((3, 4), BF16))
    assert (s.size, s.nbytes) == (12, 24)
    assert source("s", np.zeros((), np.float64)).nbytes == 8
    assert source("e", np.zeros((0, 7), np.float32)).nbytes == 0


def test_npy_filename():
    assert npy_filename("h.0.attn.c_attn.weight") == "h.0.attn.c_attn.weight.npy"
    assert npy_filename("a/b c%") == "a%2Fb%20c%25.npy"


# ----------------------------------------------------------------------------- safetensors


class TestSafetensors:
    @pytest.mark.parametrize("whole", [(), ("emb.weight", "bf", "half")])
    def test_values_and_layout(self, tmp_path, small_blocks, whole):
        arrs = arrays()
        path = tmp_path / "m.safetensors"
        assert write_safetensors(sources(arrs, whole), path, metadata={"k": "v"}) == path
        n, header, got = parse_safetensors(path)
        assert (8 + n) % 8 == 0  # the data starts 8-byte aligned
        assert header["__metadata__"] == {"k": "v"}
        for k, a in arrs.items():
            assert same(got[k], a), k
        # canonical order: widest dtype first, then by name; contiguous, aligned spans
        names = [k for k in header if k != "__metadata__"]
        assert names == sorted(arrs, key=lambda k: (-arrs[k].dtype.itemsize, k))
        pos = 0
        for k in names:
            s, e = header[k]["data_offsets"]
            assert s == pos and s % ITEM[header[k]["dtype"]] == 0
            pos = e
        assert pos == path.stat().st_size - 8 - n
        assert leftovers(tmp_path) == []

    def test_bytes_do_not_depend_on_order_threads_or_blocks(self, tmp_path, monkeypatch):
        arrs = arrays(1)
        a, b, c = (tmp_path / f"{x}.safetensors" for x in "abc")
        write_safetensors(sources(arrs), a, threads=1)
        write_safetensors(sources(dict(reversed(list(arrs.items())))), b, threads=2)
        monkeypatch.setattr(streamer, "BLOCK_BYTES", 40)
        write_safetensors(sources(arrs, whole=tuple(arrs)), c)
        assert a.read_bytes() == b.read_bytes() == c.read_bytes()

    def test_no_metadata_no_metadata_key(self, tmp_path):
        path = write_safetensors(sources({"w": np.ones(3, np.float32)}), tmp_path / "m.safetensors")
        _, header, _ = parse_safetensors(path)
        assert list(header) == ["w"]
        assert header["w"] == {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}

    def test_read_by_the_safetensors_library(self, tmp_path):
        st = pytest.importorskip("safetensors", reason="interoperability with the library")
        del st
        from safetensors import safe_open

        arrs = arrays(2)
        path = write_safetensors(sources(arrs), tmp_path / "m.safetensors",
                                 metadata={"format": "pt"})
        with safe_open(str(path), framework="numpy") as f:
            assert f.metadata() == {"format": "pt"}
            assert set(f.keys()) == set(arrs)
        got = dict(iter_checkpoint(path))
        for k, a in arrs.items():
            assert same(got[k], a), k

    def test_progress_counts_every_byte(self, tmp_path, small_blocks):
        arrs = arrays()
        seen = []
        write_safetensors(sources(arrs, whole=("emb.weight",)), tmp_path / "m.safetensors",
                          progress=seen.append)
        assert sum(seen) == sum(a.nbytes for a in arrs.values())
        assert max(seen) <= 96

    def test_make_only_for_whole_tensors(self, tmp_path, small_blocks):
        calls = []
        arrs = arrays()
        srcs = [source(k, a, streamable=k != "bf", calls=calls) for k, a in arrs.items()]
        write_safetensors(srcs, tmp_path / "m.safetensors")
        assert calls == ["bf"]

    def test_overwrite_refused_then_allowed(self, tmp_path):
        path = tmp_path / "m.safetensors"
        path.write_bytes(b"precious")
        with pytest.raises(FileExistsError, match=r"already exists \(pass overwrite=True"):
            write_safetensors(sources(arrays()), path)
        assert path.read_bytes() == b"precious"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
        write_safetensors(sources(arrays()), path, overwrite=True)
        assert set(parse_safetensors(path)[2]) == set(arrays())

    def test_destination_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="output directory does not exist"):
            write_safetensors(sources(arrays()), tmp_path / "no" / "m.safetensors")
        (tmp_path / "d.safetensors").mkdir()
        with pytest.raises(IsADirectoryError, match="is a directory, not a .safetensors file"):
            write_safetensors(sources(arrays()), tmp_path / "d.safetensors", overwrite=True)
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
    @pytest.mark.parametrize("existing", [False, True])
    def test_failure_mid_write_leaves_nothing(self, tmp_path, monkeypatch, small_blocks,
                                              exc, existing):
        path = tmp_path / "m.safetensors"
        if existing:
            path.write_bytes(b"old checkpoint")
        real = checkpoint.BlockStreamer.stream
        calls = []

        def flaky(self, src, fd, pos):
            calls.append(src.name)
            if len(calls) == 4:
                raise exc
            return real(self, src, fd, pos)

        monkeypatch.setattr(checkpoint.BlockStreamer, "stream", flaky)
        with pytest.raises(type(exc)):
            write_safetensors(sources(arrays()), path, overwrite=True)
        assert len(calls) == 4
        assert leftovers(tmp_path) == []
        if existing:
            assert path.read_bytes() == b"old checkpoint"
        else:
            assert not path.exists()

    def test_failing_fill_leaves_nothing(self, tmp_path, small_blocks):
        def fill(out, offset, threads):
            if offset >= 40:
                raise ValueError("generator failed")
            out[...] = 1

        bad = TensorSource("w", (100,), np.dtype(np.float32), lambda t: None, fill)
        with pytest.raises(ValueError, match="generator failed"):
            write_safetensors([bad], tmp_path / "m.safetensors")
        assert list(tmp_path.iterdir()) == []

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

        monkeypatch.setattr(checkpoint.os, "pwrite", pwrite)
        with pytest.raises(OSError, match="No space"):
            write_safetensors(sources(arrays()), path, overwrite=True)
        assert path.read_bytes() == b"old"
        assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- the writes


@pytest.fixture
def tiny_pieces(monkeypatch):
    """Blocks of 64 bytes generated 16 bytes (a piece) at a time."""
    monkeypatch.setattr(streamer, "BLOCK_BYTES", 64)
    monkeypatch.setattr(streamer, "PIECE_BYTES", 16)


def counted(arr, fills):
    src = source("w", arr)

    def fill(out, offset, threads):
        fills.append(offset)
        src.fill(out, offset, threads)
    return TensorSource(src.name, src.shape, src.dtype, src.make, fill)


class TestWrites:
    def test_generation_goes_on_while_a_piece_is_written(self, tmp_path, monkeypatch,
                                                         tiny_pieces):
        """A worker whose piece cannot be written now queues it and generates the next
        one: while the first data write is held up, the other worker fills 4 more pieces
        (with workers waiting for the write instead, at most 2 more would come)."""
        fills, seen = [], []
        real = os.pwrite

        def pwrite(fd, data, pos):
            if not seen:
                seen.append(len(fills))
            if len(seen) == 1 and pos > 0:  # the first data write (the header is at 0)
                seen.append(len(fills))
                end = time.monotonic() + 10
                while len(fills) < seen[1] + 4 and time.monotonic() < end:
                    time.sleep(0.001)
                seen.append(len(fills))
            return real(fd, data, pos)

        monkeypatch.setattr(os, "pwrite", pwrite)
        arr = np.arange(400, dtype=np.float32)
        path = write_safetensors([counted(arr, fills)], tmp_path / "m.safetensors", threads=2)
        assert seen[2] >= seen[1] + 4, seen
        assert same(parse_safetensors(path)[2]["w"], arr)

    @pytest.mark.parametrize("whole", [False, True])
    def test_one_write_at_a_time_per_file_and_none_after_fsync(self, tmp_path, monkeypatch,
                                                               tiny_pieces, whole):
        lock, flight, most, late, synced = threading.Lock(), {}, [0], [], set()
        real_pwrite, real_fsync, real_close = os.pwrite, os.fsync, os.close

        def pwrite(fd, data, pos):
            with lock:
                flight[fd] = flight.get(fd, 0) + 1
                most[0] = max(most[0], flight[fd])
                if fd in synced:
                    late.append(fd)
            time.sleep(0.0002)
            try:
                return real_pwrite(fd, data, pos)
            finally:
                with lock:
                    flight[fd] -= 1

        def fsync(fd):
            with lock:
                if flight.get(fd):
                    late.append(fd)
                synced.add(fd)
            return real_fsync(fd)

        def close(fd):
            with lock:
                synced.discard(fd)  # the number may come back for the next file
            return real_close(fd)

        monkeypatch.setattr(os, "pwrite", pwrite)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "close", close)
        rng = np.random.default_rng(1)
        shards = [{f"s{i}.w{j}": rng.standard_normal(37 + 11 * j).astype(np.float32)
                   for j in range(4)} for i in range(3)]
        files = [(tmp_path / f"m{i}.safetensors", sources(a, whole=tuple(a) if whole else ()),
                  {}) for i, a in enumerate(shards)]
        paths = checkpoint.write_safetensors_files(files, threads=4)
        assert most[0] == 1 and late == []
        for path, arrs in zip(paths, shards, strict=True):
            got = parse_safetensors(path)[2]
            assert all(same(got[k], a) for k, a in arrs.items())

    def test_whole_tensors_one_at_a_time(self, tmp_path, monkeypatch, tiny_pieces):
        """A tensor generated whole is made only once the one before it is written."""
        arrs = {f"t{i}": np.full(40 + i, i, np.float32) for i in range(5)}
        written, behind = [0], []
        real = os.pwrite

        def pwrite(fd, data, pos):
            n = real(fd, data, pos)
            if pos:
                written[0] += n
            return n

        def src(k, a):
            def make(threads):
                done = sum(b.nbytes for b in arrs.values() if b.dtype == a.dtype and
                           b.size < a.size)  # sorted by name: t0 .. t4, smaller first
                if written[0] < done:
                    behind.append(k)
                return a
            return TensorSource(k, a.shape, a.dtype, make, None)

        monkeypatch.setattr(os, "pwrite", pwrite)
        path = write_safetensors([src(k, a) for k, a in arrs.items()], tmp_path / "m.safetensors",
                                 threads=2)
        assert behind == []
        got = parse_safetensors(path)[2]
        assert all(same(got[k], a) for k, a in arrs.items())

    def test_a_failed_submission_stops_cleanly(self, tmp_path, monkeypatch, tiny_pieces):
        calls = []

        class Pool(ThreadPoolExecutor):
            def submit(self, *args, **kwargs):
                calls.append(1)
                if len(calls) == 3:
                    raise RuntimeError("no more tasks")
                return super().submit(*args, **kwargs)

        monkeypatch.setattr(streamer, "ThreadPoolExecutor", Pool)
        errors = []

        def run():
            try:
                write_safetensors(sources(arrays()), tmp_path / "m.safetensors", threads=2)
            except RuntimeError as exc:
                errors.append(exc)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(30)
        assert not t.is_alive() and len(errors) == 1 and "no more tasks" in str(errors[0])
        assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- .npy directory


class TestNpyDirectory:
    def test_round_trip(self, tmp_path, small_blocks):
        arrs = arrays()
        out = write_npy_dir(sources(arrs, whole=("blk.0.w",)), tmp_path / "ckpt")
        assert out == tmp_path / "ckpt"
        files = sorted(p.name for p in out.iterdir())
        npys = sorted(npy_filename(k) for k in arrs)
        assert files == [".winit-manifest.json", *npys] and "a%2Fb.npy" in files
        assert json.loads((out / ".winit-manifest.json").read_text())["files"] == npys
        for k, a in arrs.items():
            arr = np.load(out / npy_filename(k), mmap_mode="r")
            if a.size:
                assert isinstance(arr, np.memmap)
            raw = np.asarray(arr)
            assert same(raw.view(BF16) if raw.dtype == np.dtype("V2") else raw, a), k
        got = dict(iter_checkpoint(out))  # names decoded, bfloat16 restored
        assert got.keys() == arrs.keys()
        assert all(same(got[k], a) for k, a in arrs.items())
        assert leftovers(tmp_path) == []

    def test_overwrite_and_failure(self, tmp_path, monkeypatch):
        d = tmp_path / "d"
        d.mkdir()
        (d / "keep.txt").write_text("x")
        for overwrite in (False, True):  # not a directory winit wrote: never replaced
            with pytest.raises(FileExistsError, match="even with overwrite"):
                write_npy_dir(sources(arrays()), d, overwrite=overwrite)
        assert (d / "keep.txt").read_text() == "x"
        d = write_npy_dir(sources({"w": np.ones(3, np.float32)}), tmp_path / "w")
        before = {p.name: p.read_bytes() for p in d.iterdir()}
        real = checkpoint.BlockStreamer.stream
        calls = []

        def flaky(self, src, fd, pos):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("boom")
            return real(self, src, fd, pos)

        monkeypatch.setattr(checkpoint.BlockStreamer, "stream", flaky)
        with pytest.raises(RuntimeError):
            write_npy_dir(sources(arrays()), d, overwrite=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "w"]
        assert {p.name: p.read_bytes() for p in d.iterdir()} == before
        monkeypatch.setattr(checkpoint.BlockStreamer, "stream", real)
        write_npy_dir(sources(arrays()), d, overwrite=True)  # a directory winit wrote
        assert sorted(p.name for p in d.iterdir()) == sorted(
            [".winit-manifest.json", *(npy_filename(k) for k in arrays())])

    def test_file_in_the_way(self, tmp_path):
        (tmp_path / "f").write_text("x")
        with pytest.raises(FileExistsError, match="exists and is not a directory"):
            write_npy_dir(sources(arrays()), tmp_path / "f", overwrite=True)
        assert (tmp_path / "f").read_text() == "x"


def test_write_checkpoint_dispatches_on_the_suffix(tmp_path):
    arrs = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    f = write_checkpoint(sources(arrs), str(tmp_path / "m.SafeTensors"), metadata={"a": "b"})
    assert f.is_file() and parse_safetensors(f)[1]["__metadata__"] == {"a": "b"}
    for name in ("m", "m.v2/"):  # no suffix, or a trailing slash: a directory
        d = write_checkpoint(sources(arrs), f"{tmp_path}/{name}", metadata={"a": "b"})
        assert d.is_dir() and sorted(p.name for p in d.iterdir()) == [
            ".winit-manifest.json", "w.npy"]
    write_checkpoint(sources(arrs), tmp_path / "m.v2", overwrite=True)  # an existing directory


@pytest.mark.parametrize("name", ["m.npz", "m.pt", "m.npy", "m.bin"])
def test_unknown_output_suffixes_are_refused(tmp_path, name):
    """`-o model.pt` / `-o model.npz` silently made a directory of .npy files."""
    arrs = {"w": np.arange(6, dtype=np.float32)}
    msg = (rf"cannot write '.*{name}': winit writes a \.safetensors file, or a directory of "
           rf"\.npy files \(a path with no suffix, or ending in '/'\), not '\.{name[2:]}'")
    with pytest.raises(ValueError, match=msg):
        write_checkpoint(sources(arrs), tmp_path / name)
    with pytest.raises(ValueError, match=msg):
        check_destination(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    assert checkpoint.output_kind(tmp_path / "x.safetensors") == "safetensors"
    assert checkpoint.output_kind(str(tmp_path / "x")) == checkpoint.output_kind("x.y/") == "npy"


def test_check_destination(tmp_path):
    check_destination(tmp_path / "new.safetensors")
    check_destination(str(tmp_path / "newdir"))
    with pytest.raises(FileNotFoundError, match="output directory does not exist"):
        check_destination(tmp_path / "no" / "m.safetensors")
    (tmp_path / "m.safetensors").write_bytes(b"")
    with pytest.raises(FileExistsError, match="overwrite"):
        check_destination(tmp_path / "m.safetensors")
    check_destination(tmp_path / "m.safetensors", overwrite=True)
    (tmp_path / "d").mkdir()
    check_destination(tmp_path / "d", overwrite=True)  # empty: nothing to lose
    (tmp_path / "d" / "mine.txt").write_bytes(b"")
    with pytest.raises(FileExistsError, match="not written by winit"):
        check_destination(tmp_path / "d", overwrite=True)
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(FileExistsError, match="not a directory"):
        check_destination(tmp_path / "f", overwrite=True)
    (tmp_path / "x.safetensors").mkdir()
    with pytest.raises(IsADirectoryError):
        check_destination(tmp_path / "x.safetensors", overwrite=True)


# ----------------------------------------------------------------------------- reader


class TestIterCheckpoint:
    def test_npy_and_npz(self, tmp_path):
        arrs = arrays()
        np.save(tmp_path / "w.npy", arrs["emb.weight"])
        np.savez(tmp_path / "m.npz", **{k: v for k, v in arrs.items() if k != "a/b"})
        (name, a), = list(iter_checkpoint(tmp_path / "w.npy"))
        assert name == "w" and isinstance(a, np.memmap) and same(a, arrs["emb.weight"])
        got = dict(iter_checkpoint(tmp_path / "m.npz"))
        assert list(got) == [k for k in arrs if k != "a/b"]
        assert all(same(got[k], arrs[k]) for k in got)  # bfloat16 restored from |V2
        assert got["bf"].dtype == BF16

    def test_lazy_one_tensor_at_a_time(self, tmp_path):
        d = write_npy_dir(sources(arrays()), tmp_path / "d")
        it = iter_checkpoint(d)
        first = next(it)
        assert first[0] == "a/b"  # sorted file names: "a%2Fb.npy" first
        np.save(d / "scalar.npy", np.array(7.0, np.float32))  # not read yet
        assert float(dict(it)["scalar"]) == 7.0

    def test_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="checkpoint not found"):
            list(iter_checkpoint(tmp_path / "missing.safetensors"))
        (tmp_path / "empty").mkdir()
        with pytest.raises(ValueError, match="holds no .npy files"):
            list(iter_checkpoint(tmp_path / "empty"))
        (tmp_path / "x.txt").write_text("hi")
        with pytest.raises(ValueError, match=r"expected a \.safetensors, \.npy or \.npz"):
            list(iter_checkpoint(tmp_path / "x.txt"))

    def test_unreadable_safetensors(self, tmp_path):
        pytest.importorskip("safetensors", reason="iter_checkpoint reads .safetensors through "
                            "the safetensors library")
        junk = tmp_path / "junk.safetensors"
        junk.write_bytes(b"\x01\x02")
        with pytest.raises(ValueError, match="not a readable safetensors file"):
            list(iter_checkpoint(junk))
