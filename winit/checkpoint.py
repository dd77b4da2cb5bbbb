"""Checkpoint files: stream tensors into ``.safetensors`` or ``.npy`` files, and read them back.

The writers take :class:`TensorSource` s (a name, a shape, a dtype and a way to
generate the values) and never hold a whole model: an elementwise tensor is generated
block by block into one of two reusable buffers of :data:`BLOCK_BYTES` while a writer
thread ``pwrite`` s the other; any other tensor is generated whole, then written.

Output is atomic. Everything is written under a temporary name in the destination's
directory (a file for :func:`write_safetensors`, a directory for :func:`write_npy_dir`),
fsynced, then published: linked into place (no clobbering) or renamed over the old
output with ``overwrite=True``. A failure or an interruption leaves no partial output
and any old one intact.

:func:`iter_checkpoint` reads ``.safetensors``, ``.npy``, ``.npz`` and ``.npy``
directories one tensor at a time (``winit stats``).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from ._common import BFLOAT16

__all__ = [
    "BLOCK_BYTES",
    "SAFETENSORS_DTYPES",
    "TensorSource",
    "check_destination",
    "iter_checkpoint",
    "npy_filename",
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


# --------------------------------------------------------------------------- atomic output


def _is_single_file(path: Path) -> bool:
    """Whether ``path`` is written as one safetensors file (else: a directory of .npy)."""
    return path.suffix.lower() == ".safetensors"


def _check_destination(path: Path, overwrite: bool, *, want_dir: bool) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"output directory does not exist: {parent}")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{path} already exists (pass overwrite=True / --overwrite)")
        if want_dir and not path.is_dir():
            raise FileExistsError(f"{path} exists and is not a directory")
        if not want_dir and path.is_dir():
            raise IsADirectoryError(f"{path} is a directory, not a .safetensors file")


def check_destination(path, *, overwrite: bool = False) -> None:
    """Check that :func:`write_checkpoint` may write ``path``, before any work.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.safetensors`` (a file) or any other path (a directory of ``.npy`` files).
    overwrite : bool, default False
        Whether an existing output of the same kind may be replaced.

    Raises
    ------
    FileNotFoundError
        The parent directory does not exist.
    FileExistsError
        ``path`` exists and ``overwrite`` is False, or a directory is wanted and ``path``
        is not one.
    IsADirectoryError
        A ``.safetensors`` path is an existing directory.
    """
    path = Path(path)
    _check_destination(path, overwrite, want_dir=not _is_single_file(path))


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _publish_file(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:  # atomic no-clobber: link fails if the destination appeared meanwhile
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(
            f"{path} already exists (pass overwrite=True / --overwrite)"
        ) from None
    except OSError:  # pragma: no cover - filesystems without hard links
        if path.exists():
            raise FileExistsError(f"{path} already exists") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _publish_dir(tmp: Path, path: Path) -> None:
    """Rename the finished directory ``tmp`` to ``path``, deleting an old ``path`` after."""
    if path.exists():
        old = _tmp_name(path)
        os.rename(path, old)
        os.rename(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, path)


@contextmanager
def _staged_file(path: Path, overwrite: bool, size: int) -> Iterator[int]:
    """A write fd on a new temporary file of ``size`` bytes, published as ``path`` on success.

    On any error (or interruption) the temporary file is removed and ``path`` untouched.
    """
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:  # reserve the space up front: a full disk fails here, before any work
            os.posix_fallocate(fd, 0, size)
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (95, 22):  # EOPNOTSUPP, EINVAL
                raise
        yield fd
        os.fsync(fd)
        os.close(fd)
        fd = -1
        _publish_file(tmp, path, overwrite)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


@contextmanager
def _staged_dir(path: Path) -> Iterator[Path]:
    """A new temporary directory, published as ``path`` on success (removed on error)."""
    tmp = _tmp_name(path)
    os.mkdir(tmp)
    try:
        yield tmp
        _fsync_dir(tmp)
        _publish_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


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
    _check_destination(path, overwrite, want_dir=False)
    header = _safetensors_header(tensors, metadata or {})
    size = len(header) + sum(t.nbytes for t in tensors)
    with _staged_file(path, overwrite, size) as fd, _BlockStreamer(threads, progress) as st:
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

    Parameters
    ----------
    tensors : iterable of TensorSource
        The tensors; tensor ``name`` goes to :func:`npy_filename` ``(name)``. bfloat16
        files load as ``|V2`` (view them as ``ml_dtypes.bfloat16``; :func:`iter_checkpoint`
        does).
    path : str or os.PathLike
        The directory to create.
    overwrite : bool, default False
        Replace an existing directory (and everything in it); otherwise
        :class:`FileExistsError` before any work.
    threads, progress
        As :func:`write_safetensors`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileNotFoundError, FileExistsError
        As :func:`check_destination`.
    """
    path = Path(path)
    _check_destination(path, overwrite, want_dir=True)
    with _staged_dir(path) as tmp, _BlockStreamer(threads, progress) as st:
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
        ``*.safetensors``: :func:`write_safetensors`; any other path: :func:`write_npy_dir`.
    metadata : dict of str to str, optional
        The safetensors header's ``"__metadata__"`` (``.npy`` files have none).
    overwrite, threads, progress
        As :func:`write_safetensors`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    if _is_single_file(path):
        return write_safetensors(tensors, path, metadata=metadata, overwrite=overwrite,
                                 threads=threads, progress=progress)
    return write_npy_dir(tensors, path, overwrite=overwrite, threads=threads, progress=progress)


# --------------------------------------------------------------------------- reader


def _bf16_fix(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.dtype("V2"):
        return a.view(BFLOAT16)
    return a


def iter_checkpoint(path) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, array)`` of a checkpoint one tensor at a time (lazily).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file (read through ``safetensors.safe_open``), a ``.npy`` file
        (memory-mapped), a ``.npz`` file, or a directory of ``.npy`` files as written by
        :func:`write_npy_dir` (names decoded, bfloat16 restored).

    Yields
    ------
    (str, numpy.ndarray)
        In file order (sorted file names for a directory).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        An unreadable safetensors file, a directory without ``.npy`` files, or another
        kind of file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise ValueError(f"{path}: directory holds no .npy files")
        for f in files:
            yield unquote(f.stem), _bf16_fix(np.load(f, mmap_mode="r"))
        return
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import safe_open

        try:
            handle = safe_open(str(path), framework="numpy")
        except Exception as exc:
            raise ValueError(f"{path}: not a readable safetensors file: {exc}") from None
        with handle as f:
            for name in f.keys():
                yield name, f.get_tensor(name)
    elif suffix == ".npy":
        yield path.stem, _bf16_fix(np.load(path, mmap_mode="r"))
    elif suffix == ".npz":
        with np.load(path) as z:
            for name in z.files:
                yield name, _bf16_fix(z[name])
    else:
        raise ValueError(f"{path}: expected a .safetensors, .npy or .npz file or a directory")
