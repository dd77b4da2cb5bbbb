"""The block streamer behind the checkpoint writers: tensors (:class:`TensorSource`)
generated block by block on worker threads, each piece ``pwrite`` n at its place or
handed to a sink (:class:`BlockStreamer`). ``winit.checkpoint`` writes files with it;
``winit.verify`` compares a file against it."""

from __future__ import annotations

import math
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import resolve_threads

__all__ = ["BLOCK_BYTES", "PIECE_BYTES", "BlockStreamer", "Progress", "Sink", "TensorSource",
           "pwrite_all"]

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


def pwrite_all(fd: int, data, pos: int) -> None:
    """``os.pwrite`` all of ``data`` at byte ``pos`` of ``fd`` (however many calls it takes)."""
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
                pwrite_all(fd, raw, pos)
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
