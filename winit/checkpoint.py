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
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ._common import BFLOAT16
from .output import check_output_dir, staged_file, staged_output_dir
from .reader import iter_checkpoint
from .streamer import (
    BLOCK_BYTES,
    BlockStreamer,
    Progress,
    TensorSource,
    pwrite_all,
)

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
        pwrite_all(fd, header, 0)
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
