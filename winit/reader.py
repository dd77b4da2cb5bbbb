"""Read checkpoints back: tensor by tensor, and each tensor in bounded blocks.

:func:`checkpoint_tensors` lists the tensors of a ``.safetensors`` file, a ``.npy``
file, a ``.npz`` archive or a directory of ``.npy`` files as :class:`StoredTensor` s
(name, shape, dtype and where the bytes are) without reading any data;
:meth:`StoredTensor.blocks` then reads one at most :data:`READ_BLOCK_BYTES` at a time
(no memory map: the resident memory of reading a 3 GB file stays that of one block).
:func:`tensor_stats` gives ``winit.stats`` of a stored tensor of any real dtype that
way, and :func:`iter_checkpoint` yields whole arrays.

A ``.safetensors`` header is parsed and checked here, without the safetensors library
(:func:`safetensors_tensors`): a header length past the end of the file, offsets out of
range, overlapping or leaving holes, a shape that does not match its bytes, or a header
that is not a JSON object raise :class:`ValueError` naming the file.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

import ml_dtypes
import numpy as np

from ._common import BFLOAT16
from .stats import Stats, stats

__all__ = [
    "READ_BLOCK_BYTES",
    "SAFETENSORS_CODES",
    "StoredTensor",
    "checkpoint_tensors",
    "iter_checkpoint",
    "safetensors_tensors",
    "stats_dtype",
    "tensor_stats",
]

#: Bytes read (and, converted for the statistics kernel, held) per block.
READ_BLOCK_BYTES = 16 << 20

#: numpy dtype of each safetensors dtype code numpy can hold. Tensors of other codes
#: (``F4``, ``F6_E2M3``, ``F8_E8M0``, ...) are listed with ``dtype=None``.
SAFETENSORS_CODES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16), "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32), "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64), "I64": np.dtype(np.int64),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn), "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "F16": np.dtype(np.float16), "BF16": BFLOAT16,
    "F32": np.dtype(np.float32), "F64": np.dtype(np.float64),
}

_KERNEL_DTYPES = (np.dtype(np.float16), BFLOAT16, np.dtype(np.float32), np.dtype(np.float64))
_FLOAT8 = tuple(np.dtype(getattr(ml_dtypes, n)) for n in dir(ml_dtypes)
                if n.startswith("float8_"))
_MAX_HEADER = 100_000_000  # the safetensors library's limit


@dataclass(frozen=True)
class StoredTensor:
    """One tensor of a checkpoint file: what it is and where its bytes are.

    Attributes
    ----------
    name : str
        Tensor name (decoded from the file name in a ``.npy`` directory).
    shape : tuple of int
        Shape.
    dtype : numpy.dtype or None
        Its numpy dtype (bfloat16 and float8 through ``ml_dtypes``), or None for a
        safetensors dtype numpy cannot hold.
    stored_as : str
        The dtype as the file spells it: ``"F32"``, ``"I64"`` (safetensors), ``"<f4"`` (npy).
    path : pathlib.Path
        The file holding it (the archive, for a ``.npz`` member).
    offset : int
        Byte offset of its data in ``path`` (in the member, for a ``.npz`` member).
    member : str or None
        The ``.npz`` member, or None.
    fortran_order : bool
        Whether the data are stored in Fortran order (a ``.npy`` flag).
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype | None
    stored_as: str
    path: Path
    offset: int = 0
    member: str | None = None
    fortran_order: bool = False

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def label(self) -> str:
        """The dtype's name (``"bfloat16"``, ``"int64"``), or ``stored_as`` without one."""
        if self.dtype is None:
            return self.stored_as
        return str(self.dtype)

    @contextmanager
    def _data(self) -> Iterator[BinaryIO]:
        if self.dtype is None or self.dtype.hasobject:
            raise ValueError(f"{self.path}: tensor {self.name!r} has dtype {self.label}, "
                             "which numpy cannot read")
        if self.member is None:
            with open(self.path, "rb", buffering=0) as f:
                f.seek(self.offset)
                yield f
        else:
            with zipfile.ZipFile(self.path) as z, z.open(self.member) as f:
                f.seek(self.offset)
                yield f

    def _fill(self, f: BinaryIO, raw: np.ndarray) -> None:
        mv = memoryview(raw)
        while mv.nbytes:
            n = f.readinto(mv)
            if not n:
                raise ValueError(f"{self.path}: tensor {self.name!r} is truncated "
                                 "(the file ends inside its data)")
            mv = mv[n:]

    def blocks(self, max_bytes: int = READ_BLOCK_BYTES) -> Iterator[np.ndarray]:
        """The flattened data, in storage order, as 1-D arrays of at most ``max_bytes``.

        Every block is a view of one reused buffer: use it (or copy it) before the next.

        Parameters
        ----------
        max_bytes : int, default READ_BLOCK_BYTES
            Bytes per block (at least one element).

        Yields
        ------
        numpy.ndarray
            1-D, of :attr:`dtype`; C order, or Fortran order for :attr:`fortran_order`.

        Raises
        ------
        ValueError
            A dtype numpy cannot read, or the file ends inside the data.
        """
        with self._data() as f:
            item = self.dtype.itemsize
            per = max(1, max_bytes // item)
            raw = np.empty(min(per, self.size) * item, np.uint8)
            for start in range(0, self.size, per):
                m = min(per, self.size - start)
                self._fill(f, raw[:m * item])
                yield raw[:m * item].view(self.dtype)

    def read(self) -> np.ndarray:
        """The whole tensor, in memory.

        Returns
        -------
        numpy.ndarray
            Of :attr:`shape` and :attr:`dtype`.

        Raises
        ------
        ValueError
            As :meth:`blocks`.
        """
        with self._data() as f:
            out = np.empty(self.size, self.dtype)
            self._fill(f, out.view(np.uint8))
        return _shaped(out, self.shape, self.fortran_order)


def _shaped(flat: np.ndarray, shape: tuple[int, ...], fortran_order: bool) -> np.ndarray:
    return flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)


# --------------------------------------------------------------------------- safetensors


def unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that rejects a key given twice.

    Parameters
    ----------
    pairs : list of (str, object)
        The key/value pairs of one JSON object, in order.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        ``"duplicate key 'k' (a JSON object must name each key once)"``.
    """
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r} (a JSON object must name each key once)")
        out[k] = v
    return out


def _header(path: Path) -> tuple[dict[str, Any], int, int]:
    """The JSON header, the data's start and the data's length."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"the file has {size} bytes, fewer than the 8 of the header length")
        n = int.from_bytes(head, "little")
        if n > size - 8:
            raise ValueError(f"the header length {n} runs past the end of the file "
                             f"({size} bytes)")
        if n > _MAX_HEADER:
            raise ValueError(f"the header length {n} is over {_MAX_HEADER} bytes")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=unique_json_object)
    except UnicodeDecodeError:
        raise ValueError("the header is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"the header is a JSON {type(header).__name__}, not an object")
    return header, 8 + n, size - 8 - n


def _uints(value: Any, what: str, length: int | None = None) -> tuple[int, ...]:
    ok = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    if not ok or (length is not None and len(value) != length):
        want = f"a list of {length} " if length else "a list of "
        raise ValueError(f"{what} must be {want}non-negative integers, got {value!r}")
    return tuple(value)


def _entry(name: str, entry: Any, data_len: int) -> tuple[str, tuple[int, ...], int, int]:
    where = f"tensor {name!r}"
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
        raise ValueError(f"{where}: an entry must be an object with 'dtype', 'shape' and "
                         f"'data_offsets', got {entry!r}")
    code = entry["dtype"]
    shape = _uints(entry.get("shape"), f"{where}: 'shape'")
    begin, end = _uints(entry.get("data_offsets"), f"{where}: 'data_offsets'", 2)
    if begin > end or end > data_len:
        raise ValueError(f"{where}: data_offsets [{begin}, {end}] are out of range "
                         f"(the data has {data_len} bytes)")
    dt = SAFETENSORS_CODES.get(code)
    if dt is not None and (end - begin) != math.prod(shape) * dt.itemsize:
        raise ValueError(f"{where}: {code} of shape {list(shape)} needs "
                         f"{math.prod(shape) * dt.itemsize} bytes, its data_offsets span "
                         f"{end - begin}")
    return code, shape, begin, end


def _check_coverage(spans: list[tuple[int, int, str]], data_len: int) -> None:
    pos, prev = 0, None
    for begin, end, name in sorted(spans):
        if begin < pos:
            raise ValueError(f"tensors {prev!r} and {name!r} overlap (bytes {begin} to {pos})")
        if begin > pos:
            raise ValueError(f"bytes {pos} to {begin} of the data belong to no tensor")
        pos, prev = end, name
    if pos != data_len:
        raise ValueError(f"bytes {pos} to {data_len} of the data belong to no tensor")


def safetensors_tensors(path) -> tuple[list[StoredTensor], dict[str, str]]:
    """The tensors and the metadata of a ``.safetensors`` file, from its header alone.

    The header is checked as the safetensors library checks it: the data of the tensors
    must tile the rest of the file exactly, each tensor's bytes matching its shape and
    dtype.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    tensors : list of StoredTensor
        Sorted by name (as the safetensors library lists them).
    metadata : dict of str to str
        The header's ``"__metadata__"`` (empty without one).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``"<path>: not a readable safetensors file: <what is wrong>"``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        header, start, data_len = _header(path)
        meta = header.pop("__metadata__", None) or {}
        if not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
            raise ValueError("'__metadata__' must map strings to strings")
        entries = {name: _entry(name, e, data_len) for name, e in header.items()}
        _check_coverage([(b, e, name) for name, (_, _, b, e) in entries.items()], data_len)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable safetensors file: {exc}") from None
    tensors = [StoredTensor(name, shape, SAFETENSORS_CODES.get(code), code, path, start + b)
               for name, (code, shape, b, _) in sorted(entries.items())]
    return tensors, meta


# --------------------------------------------------------------------------- .npy / .npz


def _npy_header(f: BinaryIO, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{where}: not a readable .npy file: {exc}") from None
    if dtype == np.dtype("V2"):  # bfloat16 has no npy descr of its own
        dtype = BFLOAT16
    return tuple(int(s) for s in shape), bool(fortran), dtype


def _npy_tensor(path: Path, name: str) -> StoredTensor:
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_header(f, str(path))
        offset = f.tell()
    t = StoredTensor(name, shape, dtype, dtype.str, path, offset, fortran_order=fortran)
    if not dtype.hasobject and offset + t.size * dtype.itemsize > path.stat().st_size:
        raise ValueError(f"{path}: truncated .npy file ({t.size} elements of {dtype} "
                         "announced)")
    return t


def _npz_tensors(path: Path) -> Iterator[StoredTensor]:
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path}: not a readable .npz file: {exc}") from None
    with z:
        members = z.namelist()
        for member in members:
            name = member[:-4] if member.endswith(".npy") else member
            if not member.endswith(".npy"):
                yield StoredTensor(name, (), None, "not an array", path, member=member)
                continue
            with z.open(member) as f:
                shape, fortran, dtype = _npy_header(f, f"{path}[{member}]")
                offset = f.tell()
            yield StoredTensor(name, shape, dtype, dtype.str, path, offset, member, fortran)


def checkpoint_tensors(path) -> Iterator[StoredTensor]:
    """List the tensors of a checkpoint, lazily, without reading their data.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file (tensors sorted by name), a ``.npy`` file (one tensor
        named after the file), a ``.npz`` archive (member order) or a directory of
        ``.npy`` files as ``winit.checkpoint.write_npy_dir`` writes them (sorted file
        names, names decoded, bfloat16 restored).

    Yields
    ------
    StoredTensor

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        An unreadable file (the message names it), a directory without ``.npy`` files,
        or another kind of file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise ValueError(f"{path}: directory holds no .npy files")
        for f in files:
            yield _npy_tensor(f, unquote(f.stem))
        return
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        yield from safetensors_tensors(path)[0]
    elif suffix == ".npy":
        yield _npy_tensor(path, path.stem)
    elif suffix == ".npz":
        yield from _npz_tensors(path)
    else:
        raise ValueError(f"{path}: expected a .safetensors, .npy or .npz file or a directory")


def _bf16_fix(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.dtype("V2"):
        return a.view(BFLOAT16)
    return a


def iter_checkpoint(path) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, array)`` of a checkpoint one tensor at a time (lazily).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file (each tensor read whole; integer, bool and float8
        tensors too), a ``.npy`` file (memory-mapped), a ``.npz`` file, or a directory of
        ``.npy`` files as ``winit.checkpoint.write_npy_dir`` writes them (memory-mapped,
        names decoded, bfloat16 restored).

    Yields
    ------
    (str, numpy.ndarray)
        In the order of :func:`checkpoint_tensors` (``.npz``: its member order).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        An unreadable file (the message names it), a tensor of a dtype numpy cannot
        hold, a directory without ``.npy`` files, or another kind of file.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz" and path.is_file():
        with np.load(path) as z:
            for name in z.files:
                yield name, _bf16_fix(z[name])
        return
    for t in checkpoint_tensors(path):
        if t.path.suffix.lower() == ".npy":
            yield t.name, _bf16_fix(np.load(t.path, mmap_mode="r"))
        else:
            yield t.name, t.read()


# --------------------------------------------------------------------------- statistics


def stats_dtype(dtype: np.dtype | None) -> np.dtype | None:
    """The dtype in which :func:`tensor_stats` reads a tensor of ``dtype``, or None.

    Parameters
    ----------
    dtype : numpy.dtype or None
        A stored tensor's dtype.

    Returns
    -------
    numpy.dtype or None
        The dtype itself for float16, bfloat16, float32 and float64 (native byte order);
        float64 for bool and integer dtypes (exact for magnitudes below 2**53); float32
        for float8 dtypes (exact); None for anything else (complex, strings, objects,
        records, dtypes numpy cannot hold): no statistics.
    """
    if dtype is None or dtype.hasobject or dtype.fields is not None:
        return None
    native = dtype.newbyteorder("=")
    if native in _KERNEL_DTYPES:
        return native
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype in _FLOAT8:
        return np.dtype(np.float32)
    return None


def tensor_stats(t: StoredTensor, *, bins: int | np.ndarray | None = None,
                 range: tuple[float, float] | None = None, threads: int | None = None,
                 max_bytes: int = READ_BLOCK_BYTES) -> Stats:
    """``winit.stats`` of a stored tensor, read in blocks of at most ``max_bytes``.

    A tensor of one block is read whole and gives exactly ``winit.stats`` of the array.
    A larger one gives the blocks' statistics merged with :meth:`winit.Stats.merge`
    (equal to those of the whole array up to rounding, ~1e-15 relative; count, extremes
    and NaN/Inf/zero counts exact); with an int ``bins`` and no ``range`` a first pass
    finds the finite extremes, as ``winit.stats`` does, and a second one bins every
    block with the same edges, so the histogram is exactly that of the whole array.

    Parameters
    ----------
    t : StoredTensor
        The tensor; its dtype must have a :func:`stats_dtype` (converted block by block).
    bins, range, threads
        As :func:`winit.stats`.
    max_bytes : int, default READ_BLOCK_BYTES
        Bytes per block, converted (resident memory stays a few blocks).

    Returns
    -------
    winit.Stats

    Raises
    ------
    TypeError
        A dtype without statistics (see :func:`stats_dtype`).
    ValueError
        As :meth:`StoredTensor.blocks`, or as :func:`winit.stats` for ``bins``/``range``.
    """
    conv = stats_dtype(t.dtype)
    if conv is None:
        raise TypeError(f"tensor {t.name!r} has dtype {t.label}: no statistics "
                        "(real numbers only)")
    per = max(1, max_bytes // max(conv.itemsize, t.dtype.itemsize)) * t.dtype.itemsize

    def converted() -> Iterator[np.ndarray]:
        for b in t.blocks(per):
            yield b if b.dtype == conv else b.astype(conv)

    if t.size * t.dtype.itemsize <= per:  # one block: exactly stats() of the array
        flat = next(converted(), None)
        flat = np.empty(0, conv) if flat is None else flat
        return stats(_shaped(flat, t.shape, t.fortran_order), bins=bins, range=range,
                     threads=threads)
    if isinstance(bins, (int, np.integer)) and range is None:
        first = Stats.merge_all(stats(b, threads=threads) for b in converted())
        range = (first.min, first.max) if first.count else (0.0, 1.0)
    return Stats.merge_all(stats(b, bins=bins, range=range, threads=threads)
                           for b in converted())
