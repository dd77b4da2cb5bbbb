"""Checkpoint files: stream tensors into a ``.safetensors`` file or a directory of ``.npy``.

The writers take :class:`TensorSource` s (a name, a shape, a dtype and a way to
generate the values) and never hold a whole model: an elementwise tensor is generated
block by block into one of two reusable buffers of :data:`BLOCK_BYTES` while a writer
thread ``pwrite`` s the other; any other tensor is generated whole, then written.

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

import json
import math
import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ._common import BFLOAT16
from .output import check_output_dir, staged_file, staged_output_dir
from .reader import iter_checkpoint

__all__ = [
    "BLOCK_BYTES",
    "SAFETENSORS_DTYPES",
    "TensorSource",
    "check_destination",
    "iter_checkpoint",
    "npy_filename",
    "output_kind",
    "write_checkpoint",
    "write_npy_dir",
    "write_safetensors",
]

#: safetensors dtype codes of the float dtypes winit writes.
SAFETENSORS_DTYPES = {
    np.dtype(np.float16): "F16",
    BFLOAT16: "BF16",
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
}

#: Bytes per generation block when streaming (two such buffers are alive at once).
BLOCK_BYTES = 16 << 20

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


class _BlockStreamer:
    """Generate tensors into two alternating buffers while a writer thread pwrites the other.

    A context manager: leaving it waits for the writes in flight (ignoring their errors,
    the first one has been raised already) and stops the writer thread.
    """

    def __init__(self, threads: int | None, progress: Progress | None) -> None:
        self.threads = threads
        self.progress = progress
        self.bufs = [np.empty(BLOCK_BYTES, np.uint8) for _ in range(2)]
        self.pending: list[Future | None] = [None, None]
        self.turn = 0
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="winit-write")

    def __enter__(self) -> _BlockStreamer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.settle()
        self.pool.shutdown(wait=True)

    def _wait(self, i: int) -> None:
        fut = self.pending[i]
        if fut is not None:
            self.pending[i] = None
            fut.result()

    def drain(self) -> None:
        """Wait for the writes in flight, raising the first error."""
        for i in range(2):
            self._wait(i)

    def settle(self) -> None:
        """Wait for the writes in flight, ignoring their errors (before closing their fd)."""
        for fut in self.pending:
            if fut is not None:
                try:
                    fut.result()
                except BaseException:  # noqa: BLE001 - cleanup path, the first error wins
                    pass
        self.pending = [None, None]

    def _advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress(n)

    def stream(self, src: TensorSource, fd: int, pos: int) -> None:
        """Write tensor ``src`` at byte ``pos`` of ``fd`` (call :meth:`drain` before closing)."""
        n, item = src.size, src.dtype.itemsize
        if n == 0:
            return
        if src.fill is None:
            self.drain()
            a = np.ascontiguousarray(src.make(self.threads))
            raw = a.reshape(-1).view(np.uint8)
            for s in range(0, raw.size, BLOCK_BYTES):
                _pwrite_all(fd, raw[s:s + BLOCK_BYTES], pos + s)
                self._advance(min(BLOCK_BYTES, raw.size - s))
            return
        per_block = BLOCK_BYTES // item
        for start in range(0, n, per_block):
            m = min(per_block, n - start)
            i = self.turn
            self.turn ^= 1
            self._wait(i)
            raw = self.bufs[i][: m * item]
            src.fill(raw.view(src.dtype), start, self.threads)
            self.pending[i] = self.pool.submit(_pwrite_all, fd, raw, pos + start * item)
            self._advance(m * item)


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
        Passed to each tensor's ``fill`` / ``make``.
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
    path = Path(path)
    tensors = sorted(tensors, key=lambda t: (-t.dtype.itemsize, t.name))
    _check_file(path, overwrite)
    header = _safetensors_header(tensors, metadata or {})
    size = len(header) + sum(t.nbytes for t in tensors)
    with staged_file(path, overwrite=overwrite, size=size) as fd, \
            _BlockStreamer(threads, progress) as st:
        _pwrite_all(fd, header, 0)
        pos = len(header)
        for t in tensors:
            st.stream(t, fd, pos)
            pos += t.nbytes
        st.drain()
    return path


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


def _write_npy(st: _BlockStreamer, src: TensorSource, fname: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bfloat16 has no npy descr of its own
        mm = np.lib.format.open_memmap(fname, mode="w+", dtype=src.dtype, shape=src.shape)
    data_start = mm.offset
    del mm
    fd = os.open(fname, os.O_WRONLY)
    try:
        st.stream(src, fd, data_start)
        st.drain()
        os.fsync(fd)
    finally:
        st.settle()
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
            _BlockStreamer(threads, progress) as st:
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
