"""Checkpoint files: stream tensors into a ``.safetensors`` file or a directory of ``.npy``.

The writers take :class:`TensorSource` s (a name, a shape, a dtype and a way to
generate the values) and never hold a whole model: an elementwise tensor is generated
block by block (:data:`BLOCK_BYTES`), several blocks at once on worker threads, each
``pwrite`` n at its place (:class:`BlockStreamer`); any other tensor is generated
whole, then written. :func:`write_safetensors_files` writes the shards of a checkpoint
concurrently.

The destination's suffix says what is written (:func:`output_kind`): ``.safetensors``
one file, no suffix (or a trailing ``/``) a directory of ``.npy`` files; any other
suffix is an error. Output is atomic and loses nothing (``winit.output``): it is written
under a temporary name next to the destination, fsynced, then published; a failure or
an interruption leaves no partial output and any old one intact, and a directory
replaces only a directory winit wrote (its ``.winit-manifest.json`` lists the files).

The reader (:func:`iter_checkpoint` and the block reader behind ``winit stats``) is
``winit.reader``; ``iter_checkpoint`` stays importable from here.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import queue
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ._common import BFLOAT16, resolve_threads
from .output import check_output_dir, staged_file, staged_output_dir
from .reader import iter_checkpoint

__all__ = [
    "BLOCK_BYTES",
    "SAFETENSORS_DTYPES",
    "BlockStreamer",
    "TensorSource",
    "check_destination",
    "iter_checkpoint",
    "npy_filename",
    "output_kind",
    "write_checkpoint",
    "write_npy_dir",
    "write_safetensors",
    "write_safetensors_files",
]

#: safetensors dtype codes of the float dtypes winit writes.
SAFETENSORS_DTYPES = {
    np.dtype(np.float16): "F16",
    BFLOAT16: "BF16",
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
}

#: Bytes of a tensor per streaming task (one worker thread generates and writes it).
BLOCK_BYTES = 16 << 20

#: Bytes generated and then written at a time within a block: small enough that the
#: write copies them from the core's L2 cache, not from memory (measured: the copy into
#: the page cache is about half of a checkpoint's time).
PIECE_BYTES = 1 << 20

#: ``progress(nbytes)`` is called as bytes are written (e.g. a tqdm bar's ``update``).
Progress = Callable[[int], Any]


@dataclass(frozen=True)
class TensorSource:
    """One tensor to write: its name, shape and dtype, and how to generate its values.

    Attributes
    ----------
    name : str
        Tensor name (the key in a safetensors file; see :func:`npy_filename`).
    shape : tuple of int
        Tensor shape.
    dtype : numpy.dtype
        float16, bfloat16, float32 or float64.
    make : callable
        ``make(threads) -> numpy.ndarray``: the whole tensor, of ``shape`` and ``dtype``.
        Called only when ``fill`` is None.
    fill : callable or None
        ``fill(out, offset, threads)`` writes elements ``[offset, offset + out.size)`` of
        the flattened (C-order) tensor into the 1-D array ``out``, so the tensor can be
        generated block by block; None when the values depend on the whole tensor.
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    make: Callable[[int | None], np.ndarray]
    fill: Callable[[np.ndarray, int, int | None], None] | None = None

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor's data."""
        return self.size * self.dtype.itemsize


# --------------------------------------------------------------------------- block streamer


def _pwrite_all(fd: int, data, pos: int) -> None:
    mv = memoryview(data).cast("B")
    while mv.nbytes:
        n = os.pwrite(fd, mv, pos)
        if n <= 0:  # pragma: no cover
            raise OSError("short write")
        mv = mv[n:]
        pos += n


class _Stopped(Exception):
    """Another block of the same streamer failed: stop submitting."""


#: Blocks generated at once at most (each in its own buffer of BLOCK_BYTES).
_MAX_WORKERS = 8

#: ``sink(raw, pos)``: what a streamed block goes to (an fd is written with ``pwrite``).
Sink = Callable[[np.ndarray, int], Any]


class _Block:
    """A block in flight. Its future is done once the block is generated and each of its
    pieces written (or dropped after an error): only then may its file be closed."""

    __slots__ = ("future", "refs", "error", "claimed")

    def __init__(self) -> None:
        self.future: Future = Future()
        self.refs = 1  # its task's, plus one per piece not yet written
        self.error: BaseException | None = None
        self.claimed = False  # by its task when it starts, or by a failed submission


class BlockStreamer:
    """Generate tensors block by block on worker threads and hand every block to a sink.

    ``threads`` generation threads are used as up to :data:`_MAX_WORKERS` blocks
    generated at once, each on its own worker thread (with ``threads // workers``
    kernel threads), so that no kernel waits for another at a barrier (robust on busy
    machines). A worker generates its block :data:`PIECE_BYTES` at a time into buffers
    taken from a small pool, so a piece is written while it is still in the cache.

    Writes to a file descriptor are serialized (the kernel serializes them on the inode
    lock anyway) without anyone waiting for them: a worker queues its piece and goes on
    generating, unless no one is writing to that file, in which case it writes the
    queued pieces itself. So with single-threaded kernels there is one worker per
    thread, each generating or writing, and the write (the serial part) is never
    preempted by a generator of ours; with kernel teams one more worker writes while
    the teams generate. Each piece goes to its own position, so the result never
    depends on the scheduling. At most ``2 * (workers + 1) + 2`` buffers of
    :data:`PIECE_BYTES` are alive.

    One thread (the caller's, so that a signal stops it at once) queues the blocks, to
    any number of destinations (the shards of a checkpoint, overlapped). Leaving the
    context manager after an error stops what is queued and waits for what runs; the
    first error is raised again by every later :meth:`stream` and :meth:`drain`.

    Parameters
    ----------
    threads : int or None
        Generation threads (None: all usable cores).
    progress : callable or None
        ``progress(nbytes)`` after each piece is handed over (called under a lock).
    """

    def __init__(self, threads: int | None = None, progress: Progress | None = None) -> None:
        self.threads = resolve_threads(threads)
        self.workers = min(self.threads, _MAX_WORKERS)
        self.kernel_threads = max(1, self.threads // self.workers)
        self.progress = progress
        self.block = BLOCK_BYTES
        self.piece = min(PIECE_BYTES, self.block)
        nthreads = self.workers + (self.kernel_threads > 1)
        self.free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(2 * nthreads + 2):  # a piece generating per worker, others queued
            self.free.put(np.empty(max(self.piece, 8), np.uint8))
        self.slots = threading.BoundedSemaphore(nthreads + 1)  # blocks submitted, not done
        self.generating = threading.BoundedSemaphore(self.workers)
        self.lock = threading.Lock()
        self.pending: dict[Any, list[Future]] = {}
        self.writes: dict[int, tuple[threading.Lock, deque]] = {}
        self.error: BaseException | None = None
        self.whole: Future | None = None  # the last tensor generated whole
        self.pool = ThreadPoolExecutor(nthreads, thread_name_prefix="winit-block")

    def __enter__(self) -> BlockStreamer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            self.stop(exc)
        self.settle()
        self.pool.shutdown(wait=True)

    # -- errors

    def stop(self, exc: BaseException | None = None) -> None:
        """Stop: queued blocks are skipped, and :meth:`stream` and :meth:`drain` raise.

        Parameters
        ----------
        exc : BaseException or None
            Why: raised again by them, unless an error came first.
        """
        if exc is None:
            exc = _Stopped("stopped")
        with self.lock:
            if self.error is None:
                self.error = exc

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    # -- blocks

    def _new_block(self, out) -> _Block:
        blk = _Block()
        with self.lock:
            self.pending.setdefault(out, []).append(blk.future)
        return blk

    def _unref(self, blk: _Block) -> None:
        with self.lock:
            blk.refs -= 1
            if blk.refs:
                return
        if blk.error is None:
            blk.future.set_result(None)
        else:
            blk.future.set_exception(blk.error)

    def _advance(self, n: int) -> None:
        if self.progress is not None:
            with self.lock:
                self.progress(n)

    def _put(self, out: int | Sink, blk: _Block, raw: np.ndarray, pos: int,
             buf: np.ndarray | None = None) -> None:
        """Hand over the bytes ``raw`` (in ``buf``, returned to the pool once written)."""
        if not isinstance(out, int):
            try:
                out(raw, pos)
            finally:
                if buf is not None:
                    self.free.put(buf)
            self._advance(raw.nbytes)
            return
        with self.lock:
            blk.refs += 1
            if out not in self.writes:
                self.writes[out] = (threading.Lock(), deque())
            lock, todo = self.writes[out]
        todo.append((blk, raw, pos, buf))
        raised = None
        # whoever finds no one writing writes what is queued; after letting go it looks
        # again, so a piece queued meanwhile is never left behind
        while todo and lock.acquire(blocking=False):
            try:
                while todo:
                    raised = self._write(out, *todo.popleft()) or raised
            finally:
                lock.release()
        if raised is not None:
            raise raised

    def _write(self, fd: int, blk: _Block, raw: np.ndarray, pos: int,
               buf: np.ndarray | None) -> BaseException | None:
        """Write one queued piece (dropped once stopped); the error, if it failed."""
        try:
            if self.error is None:
                _pwrite_all(fd, raw, pos)
                self._advance(raw.nbytes)
            return None
        except BaseException as exc:  # noqa: BLE001 - recorded, raised by the caller
            self.stop(exc)
            blk.error = blk.error or exc
            return exc
        finally:
            if buf is not None:
                self.free.put(buf)
            self._unref(blk)

    def _claim(self, blk: _Block) -> bool:
        """Whether the caller is the one to run ``blk``'s task (or to clean up after it
        failed to be submitted): exactly one of them, whatever a signal interrupts."""
        with self.lock:
            if blk.claimed:
                return False
            blk.claimed = True
            return True

    def _task(self, blk: _Block, puts: Iterable[tuple[np.ndarray, int, np.ndarray | None]],
              out: int | Sink) -> None:
        """A worker's task: hand over each ``(raw, pos, buf)`` of ``puts`` (a generator
        that makes them, or the slices of a whole tensor)."""
        if not self._claim(blk):
            return
        try:
            for raw, pos, buf in puts:
                self._put(out, blk, raw, pos, buf)
                if self.error is not None:
                    return
        except BaseException as exc:
            self.stop(exc)
            blk.error = blk.error or exc
        finally:
            self.slots.release()
            self._unref(blk)

    def _pieces(self, src: TensorSource, start: int, m: int, pos: int):
        """Elements ``[start, start + m)`` of ``src``, generated a piece at a time into
        buffers from the pool: ``(raw, pos, buf)``."""
        item = src.dtype.itemsize
        per = max(1, self.piece // item)
        for s in range(start, start + m, per):
            if self.error is not None:
                return
            buf = self.free.get()
            raw = buf[: min(per, start + m - s) * item]
            try:
                with self.generating:
                    src.fill(raw.view(src.dtype), s, self.kernel_threads)
            except BaseException:
                self.free.put(buf)
                raise
            yield raw, pos + (s - start) * item, buf

    def _submit(self, out: int | Sink, puts: Iterable) -> Future:
        """Queue a task for ``out`` (waiting for a slot); its block's future."""
        self.slots.acquire()
        if self.error is not None:
            self.slots.release()
            self._check()
        blk = self._new_block(out)
        submitted = False
        try:
            self.pool.submit(self._task, blk, puts, out)
            submitted = True
        finally:
            if not submitted and self._claim(blk):
                self.slots.release()
                self._unref(blk)
        return blk.future

    def stream(self, src: TensorSource, out: int | Sink, pos: int) -> None:
        """Send tensor ``src`` to byte ``pos`` of ``out`` (call :meth:`drain` after).

        Parameters
        ----------
        src : TensorSource
            The tensor; generated whole (in the calling thread, one such tensor alive at
            a time) when it has no ``fill``.
        out : int or callable
            A file descriptor (``pwrite``), or ``out(raw, pos)`` taking each block's bytes
            (a uint8 array, valid during the call) and their byte position.
        pos : int
            Byte position of the tensor's first element.
        """
        self._check()
        n, item = src.size, src.dtype.itemsize
        if n == 0:
            return
        if src.fill is None:
            if self.whole is not None:
                wait([self.whole])  # the last whole tensor written: at most one alive
                self._check()
            raw = np.ascontiguousarray(src.make(self.threads)).reshape(-1).view(np.uint8)
            puts = ((raw[s:s + self.block], pos + s, None) for s in range(0, raw.size, self.block))
            self.whole = self._submit(out, puts)
            return
        per = max(1, self.block // item)
        for start in range(0, n, per):
            self._submit(out, self._pieces(src, start, min(per, n - start), pos + start * item))

    def _take(self, out=None) -> list[Future]:
        with self.lock:
            if out is None:
                futures = [f for fs in self.pending.values() for f in fs]
                self.pending.clear()
            else:
                futures = self.pending.pop(out, [])
        return futures

    def drain(self, out=None) -> None:
        """Wait for the blocks sent to ``out`` (None: everywhere), raising the first error."""
        for fut in self._take(out):
            fut.result()
        self._check()

    def settle(self, out=None) -> None:
        """Wait for the blocks sent to ``out`` (None: everywhere), ignoring their errors
        (before closing a file descriptor)."""
        for fut in self._take(out):
            try:
                fut.result()
            except BaseException:  # noqa: BLE001 - cleanup path, the first error wins
                pass


# --------------------------------------------------------------------------- destinations


def output_kind(path) -> str:
    """What :func:`write_checkpoint` writes at ``path``: ``"safetensors"`` or ``"npy"``.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.safetensors`` (any case): one file. A path with no suffix, ending in ``/``,
        or an existing directory: a directory of ``.npy`` files.

    Returns
    -------
    str
        ``"safetensors"`` or ``"npy"``.

    Raises
    ------
    ValueError
        Any other suffix (``model.pt``, ``model.npz``): the message lists what is supported.
    """
    text = os.fspath(path)
    p = Path(text)
    if p.suffix.lower() == ".safetensors":
        return "safetensors"
    if not p.suffix or text.endswith(("/", os.sep)) or p.is_dir():
        return "npy"
    raise ValueError(
        f"cannot write {text!r}: winit writes a .safetensors file, or a directory of .npy "
        f"files (a path with no suffix, or ending in '/'), not {p.suffix!r}"
    )


def _check_file(path: Path, overwrite: bool) -> None:
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output directory does not exist: {path.parent}")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise FileExistsError(f"{path} already exists (pass overwrite=True / --overwrite)")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a .safetensors file")


def check_destination(path, *, overwrite: bool = False) -> None:
    """Check that :func:`write_checkpoint` may write ``path``, before any work.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.safetensors`` (a file) or a directory of ``.npy`` files (see
        :func:`output_kind`).
    overwrite : bool, default False
        Whether an existing file, or an existing directory winit wrote, may be replaced.

    Raises
    ------
    ValueError
        A suffix winit does not write (:func:`output_kind`).
    FileNotFoundError
        The parent directory does not exist.
    FileExistsError
        ``path`` exists and ``overwrite`` is False, or a directory is wanted and ``path``
        may not be replaced (:func:`check_output_dir`).
    IsADirectoryError
        A ``.safetensors`` path is an existing directory.
    """
    if output_kind(path) == "safetensors":
        _check_file(Path(path), overwrite)
    else:
        check_output_dir(path, overwrite=overwrite)


# --------------------------------------------------------------------------- writers


def _safetensors_header(tensors: list[TensorSource], metadata: dict[str, str]) -> bytes:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    pos = 0
    for t in tensors:
        header[t.name] = {
            "dtype": SAFETENSORS_DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [pos, pos + t.nbytes],
        }
        pos += t.nbytes
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 8)  # the data starts 8-byte aligned
    return len(js).to_bytes(8, "little") + js


def write_safetensors(tensors: Iterable[TensorSource], path, *,
                      metadata: dict[str, str] | None = None, overwrite: bool = False,
                      threads: int | None = None, progress: Progress | None = None) -> Path:
    """Stream tensors into one ``.safetensors`` file, atomically.

    The layout is canonical: widest dtypes first (so every tensor's data is aligned),
    then by name; the header is padded so the data starts 8-byte aligned. The file's
    bytes depend only on the tensors and the metadata, not on their order or ``threads``.

    Parameters
    ----------
    tensors : iterable of TensorSource
        The tensors (names must be unique).
    path : str or os.PathLike
        The file to write.
    metadata : dict of str to str, optional
        The header's ``"__metadata__"``.
    overwrite : bool, default False
        Replace an existing file; otherwise :class:`FileExistsError` before any work.
    threads : int or None
        Generation threads (:class:`BlockStreamer`).
    progress : callable, optional
        ``progress(nbytes)`` as data is written.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileNotFoundError, FileExistsError, IsADirectoryError
        As :func:`check_destination`.
    """
    return write_safetensors_files([(path, tensors, metadata or {})], overwrite=overwrite,
                                   threads=threads, progress=progress)[0]


def _open_safetensors(st: BlockStreamer, tensors: Iterable[TensorSource], path: Path,
                      metadata: dict[str, str], overwrite: bool) -> tuple[ExitStack, int]:
    """Start writing one file: its blocks are queued, it is finished by closing the stack
    (blocks waited for, fsync, publish; with an exception: nothing left)."""
    tensors = sorted(tensors, key=lambda t: (-t.dtype.itemsize, t.name))
    header = _safetensors_header(tensors, metadata)
    size = len(header) + sum(t.nbytes for t in tensors)
    stack = ExitStack()
    try:
        fd = stack.enter_context(staged_file(path, overwrite=overwrite, size=size))
        stack.callback(st.settle, fd)  # no write in flight when the fd is closed
        _pwrite_all(fd, header, 0)
        pos = len(header)
        for t in tensors:
            st.stream(t, fd, pos)
            pos += t.nbytes
    except BaseException:
        if not stack.__exit__(*sys.exc_info()):
            raise
    return stack, fd


def write_safetensors_files(files: Sequence[tuple[Any, Iterable[TensorSource], dict[str, str]]],
                            *, overwrite: bool = False, threads: int | None = None,
                            progress: Progress | None = None) -> list[Path]:
    """Write several ``.safetensors`` files (the shards of one checkpoint), overlapped.

    The files share one :class:`BlockStreamer`, and two are in flight at a time: the
    next one is generated while the last blocks of one are written, and it is fsynced
    and published. Each file is written atomically, with the bytes
    :func:`write_safetensors` gives it. On any error or interruption the files in
    flight are removed (those already published stay: write them into a staged
    directory, ``winit.output.staged_output_dir``, to publish all or nothing).

    Parameters
    ----------
    files : sequence of (path, tensors, metadata)
        Each file's path, its tensors and its header's ``"__metadata__"``.
    overwrite, threads, progress
        As :func:`write_safetensors`.

    Returns
    -------
    list of pathlib.Path
        The paths, in order.

    Raises
    ------
    FileNotFoundError, FileExistsError, IsADirectoryError
        As :func:`check_destination`, before any work.
    """
    jobs = [(Path(p), t, dict(m)) for p, t, m in files]
    for path, _, _ in jobs:
        _check_file(path, overwrite)
    flight: list[tuple[ExitStack, int]] = []
    with BlockStreamer(threads, progress) as st:
        try:
            for i, (path, tensors, metadata) in enumerate(jobs):
                flight.append(_open_safetensors(st, tensors, path, metadata, overwrite))
                while len(flight) > 1 or (flight and i == len(jobs) - 1):
                    st.drain(flight[0][1])
                    flight[0][0].close()
                    flight.pop(0)
        except BaseException as exc:
            st.stop(exc)
            info = sys.exc_info()
            for stack, _ in flight:
                stack.__exit__(*info)
            raise
    return [path for path, _, _ in jobs]


def npy_filename(name: str) -> str:
    """File name of tensor ``name`` in a directory checkpoint.

    Parameters
    ----------
    name : str
        Tensor name.

    Returns
    -------
    str
        ``name`` with ``/`` and other unsafe characters percent-encoded, plus ``.npy``
        (``urllib.parse.unquote`` of the stem gives the name back).
    """
    return quote(name, safe="") + ".npy"


def _write_npy(st: BlockStreamer, src: TensorSource, fname: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bfloat16 has no npy descr of its own
        mm = np.lib.format.open_memmap(fname, mode="w+", dtype=src.dtype, shape=src.shape)
    data_start = mm.offset
    del mm
    fd = os.open(fname, os.O_WRONLY)
    try:
        st.stream(src, fd, data_start)
        st.drain(fd)
        os.fsync(fd)
    finally:
        st.settle(fd)
        os.close(fd)


def write_npy_dir(tensors: Iterable[TensorSource], path, *, overwrite: bool = False,
                  threads: int | None = None, progress: Progress | None = None) -> Path:
    """Stream tensors into a directory of ``.npy`` files (one per tensor), atomically.

    The directory also holds ``.winit-manifest.json`` listing the files
    (``winit.output.staged_output_dir``).

    Parameters
    ----------
    tensors : iterable of TensorSource
        The tensors; tensor ``name`` goes to :func:`npy_filename` ``(name)``. bfloat16
        files load as ``|V2`` (view them as ``ml_dtypes.bfloat16``; :func:`iter_checkpoint`
        does).
    path : str or os.PathLike
        The directory to create.
    overwrite : bool, default False
        Replace an empty directory or one winit wrote; otherwise :class:`FileExistsError`
        before any work. Any other directory is never replaced.
    threads, progress
        As :func:`write_safetensors`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileNotFoundError, FileExistsError
        As ``winit.output.check_output_dir``.
    """
    path = Path(path)
    with staged_output_dir(path, overwrite=overwrite) as tmp, \
            BlockStreamer(threads, progress) as st:
        for src in tensors:
            _write_npy(st, src, tmp / npy_filename(src.name))
    return path


def write_checkpoint(tensors: Iterable[TensorSource], path, *,
                     metadata: dict[str, str] | None = None, overwrite: bool = False,
                     threads: int | None = None, progress: Progress | None = None) -> Path:
    """Write a checkpoint of the kind ``path`` names.

    Parameters
    ----------
    tensors : iterable of TensorSource
        The tensors.
    path : str or os.PathLike
        ``*.safetensors``: :func:`write_safetensors`; a path with no suffix, ending in
        ``/`` or an existing directory: :func:`write_npy_dir` (see :func:`output_kind`).
    metadata : dict of str to str, optional
        The safetensors header's ``"__metadata__"`` (``.npy`` files have none).
    overwrite, threads, progress
        As :func:`write_safetensors`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        A suffix winit does not write.
    FileNotFoundError, FileExistsError, IsADirectoryError
        As :func:`check_destination`.
    """
    if output_kind(path) == "safetensors":
        return write_safetensors(tensors, path, metadata=metadata, overwrite=overwrite,
                                 threads=threads, progress=progress)
    return write_npy_dir(tensors, path, overwrite=overwrite, threads=threads, progress=progress)



# API.md names winit.checkpoint as the home of verify too; it lives in winit.verify (it
# regenerates through winit.models, which builds on this module), reachable here too.
_ELSEWHERE = {"verify": "verify", "VerifyReport": "verify"}


def __getattr__(name: str):
    if name in _ELSEWHERE:
        module = importlib.import_module(f"winit.{_ELSEWHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'winit.checkpoint' has no attribute {name!r}")
