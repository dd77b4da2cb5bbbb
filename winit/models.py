"""Initialize whole models: a spec of named tensors to safetensors, ``.npy`` files or arrays.

A *spec* maps tensor names to ``{"shape": [...], "init": name, **params}``
(optionally ``"dtype"``), as a mapping or a JSON / TOML file. Every tensor
gets its own generator stream, ``derive_key(resolve_key(seed), name)``, so its
values depend only on the seed, its name and its own entry: adding, removing
or reordering tensors never changes the others.

Writing ``.safetensors`` streams: the header first, then each tensor is
generated block by block (a reusable buffer of a few MB, filled through
``offset=``) straight into a temporary file in the destination directory,
which is fsynced and renamed into place at the end. Peak memory is a few
buffers, whatever the model size. Fan-based schemes (``xavier_*``, ``kaiming_*``,
``lecun_*``, ``variance_scaling`` and aliases such as ``he_normal``) stream too:
on the tensor's full shape each is one sampling primitive with fixed parameters
(``Initializer.elementwise_for``). Only schemes whose values depend on the whole
tensor (``orthogonal``, ``delta_orthogonal``, ``sparse``, ``eye``, ``dirac``) are
generated one whole tensor at a time.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ._common import BFLOAT16, Key, derive_key, resolve_dtype, resolve_key

__all__ = [
    "SpecError",
    "TensorSpec",
    "default_spec_path",
    "gpt2_spec",
    "init_model",
    "load_spec",
    "spec_from_safetensors",
]

#: safetensors dtype codes of the float dtypes winit writes.
SAFETENSORS_DTYPES = {
    np.dtype(np.float16): "F16",
    BFLOAT16: "BF16",
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
}
_FROM_SAFETENSORS = {v: k for k, v in SAFETENSORS_DTYPES.items()}

#: Bytes per generation block when streaming (two such buffers are alive at once).
BLOCK_BYTES = 16 << 20
_PROBE_MAX_ELEMS = 1 << 16
_RESERVED_FIELDS = ("shape", "init", "dtype")
_DATA_DIR = Path(__file__).resolve().parent / "data"


class SpecError(ValueError):
    """A model spec (or one of its entries) is invalid; the message names the tensor and field."""


@dataclass(frozen=True)
class TensorSpec:
    """One validated spec entry.

    Attributes
    ----------
    name : str
        Tensor name (the key in the checkpoint).
    shape : tuple of int
        Tensor shape.
    init : str
        Registry name of the scheme (``winit.get(init, **params)``).
    params : dict
        Parameters of the scheme.
    dtype : numpy.dtype or None
        The tensor's own dtype; None means the model's default dtype.
    """

    name: str
    shape: tuple[int, ...]
    init: str
    params: dict[str, Any] = field(default_factory=dict)
    dtype: np.dtype | None = None

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def to_dict(self) -> dict[str, Any]:
        """The entry as it would appear in a JSON spec."""
        d: dict[str, Any] = {"shape": list(self.shape), "init": self.init, **self.params}
        if self.dtype is not None:
            d["dtype"] = _dtype_name(self.dtype)
        return d


def _dtype_name(dt: np.dtype) -> str:
    return "bfloat16" if dt == BFLOAT16 else dt.name


def default_spec_path(name: str = "gpt2_small") -> Path:
    """Path of a spec bundled with winit (``"gpt2_small"``: GPT-2 small, 124M parameters)."""
    p = _DATA_DIR / f"{name}.json"
    if not p.is_file():
        avail = sorted(q.stem for q in _DATA_DIR.glob("*.json"))
        raise SpecError(f"no bundled spec named {name!r}; available: {', '.join(avail)}")
    return p


def gpt2_spec(n_layer: int = 12, d_model: int = 768, vocab: int = 50257,
              n_ctx: int = 1024) -> dict[str, dict[str, Any]]:
    """A GPT-2-style spec (Hugging Face ``GPT2Model`` names, Conv1D ``(in, out)`` weights).

    Normal std 0.02 everywhere, residual projections (``attn.c_proj``, ``mlp.c_proj``)
    0.02 / sqrt(2 n_layer), biases zeros, layer norms ones/zeros. The defaults are the
    bundled ``gpt2_small`` spec (124M parameters); ``gpt2_spec(48, 1600)`` is GPT-2 XL
    (1.56B).
    """
    proj = 0.02 / math.sqrt(2 * n_layer)
    d = d_model

    def normal(shape, std=0.02):
        return {"shape": shape, "init": "normal", "std": std}

    spec: dict[str, dict[str, Any]] = {"wte.weight": normal([vocab, d]),
                                       "wpe.weight": normal([n_ctx, d])}
    for i in range(n_layer):
        h = f"h.{i}."
        spec[h + "ln_1.weight"] = {"shape": [d], "init": "ones"}
        spec[h + "ln_1.bias"] = {"shape": [d], "init": "zeros"}
        spec[h + "attn.c_attn.weight"] = normal([d, 3 * d])
        spec[h + "attn.c_attn.bias"] = {"shape": [3 * d], "init": "zeros"}
        spec[h + "attn.c_proj.weight"] = normal([d, d], proj)
        spec[h + "attn.c_proj.bias"] = {"shape": [d], "init": "zeros"}
        spec[h + "ln_2.weight"] = {"shape": [d], "init": "ones"}
        spec[h + "ln_2.bias"] = {"shape": [d], "init": "zeros"}
        spec[h + "mlp.c_fc.weight"] = normal([d, 4 * d])
        spec[h + "mlp.c_fc.bias"] = {"shape": [4 * d], "init": "zeros"}
        spec[h + "mlp.c_proj.weight"] = normal([4 * d, d], proj)
        spec[h + "mlp.c_proj.bias"] = {"shape": [d], "init": "zeros"}
    spec["ln_f.weight"] = {"shape": [d], "init": "ones"}
    spec["ln_f.bias"] = {"shape": [d], "init": "zeros"}
    return spec


# --------------------------------------------------------------------------- spec loading


def _read_spec_file(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"spec file not found: {path}")
    if path.is_dir():
        raise SpecError(f"spec path is a directory, not a JSON/TOML file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return spec_from_safetensors(path)
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            with open(path, "rb") as f:
                return tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{path}: invalid TOML: {exc}") from None
    if suffix == ".json":
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{path}: invalid JSON: {exc}") from None
    raise SpecError(f"spec file must end in .json, .toml or .safetensors, got {path.name!r}")


def _flatten(spec: Mapping, prefix: str, out: dict[str, Any]) -> None:
    """Flatten nested tables (TOML ``[h.0.attn]``) into dotted names."""
    for key, entry in spec.items():
        if not isinstance(key, str) or not key:
            raise SpecError(f"tensor names must be non-empty strings, got {key!r}")
        name = f"{prefix}.{key}" if prefix else key
        if not isinstance(entry, Mapping):
            raise SpecError(
                f"tensor {name!r}: entry must be a table/mapping with 'shape' and 'init', "
                f"got {type(entry).__name__}"
            )
        is_leaf = "shape" in entry or "init" in entry or not all(
            isinstance(v, Mapping) for v in entry.values()
        )
        if is_leaf or not entry:
            if name in out:
                raise SpecError(f"tensor {name!r} is defined twice")
            out[name] = entry
        else:
            _flatten(entry, name, out)


def _check_shape(name: str, shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (list, tuple)):
        raise SpecError(f"tensor {name!r}, field 'shape': expected a list of ints, got {shape!r}")
    dims = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)):
            raise SpecError(
                f"tensor {name!r}, field 'shape': dimensions must be ints, got {d!r} in {shape!r}"
            )
        if int(d) < 0:
            raise SpecError(f"tensor {name!r}, field 'shape': negative dimension in {list(shape)}")
        dims.append(int(d))
    return tuple(dims)


def _check_param(name: str, key: str, value: Any) -> Any:
    ok = (numbers.Real, str, bool, np.generic)
    if isinstance(value, ok) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, ok) for v in value):
        return tuple(value)
    raise SpecError(
        f"tensor {name!r}, field {key!r}: parameters must be numbers, strings, booleans or "
        f"lists of them, got {type(value).__name__}"
    )


def _parse_entry(name: str, entry: Mapping) -> TensorSpec:
    if "shape" not in entry:
        raise SpecError(f"tensor {name!r}: missing field 'shape'")
    if "init" not in entry:
        raise SpecError(f"tensor {name!r}: missing field 'init' (the scheme name, e.g. 'normal')")
    shape = _check_shape(name, entry["shape"])
    init = entry["init"]
    if not isinstance(init, str) or not init:
        raise SpecError(f"tensor {name!r}, field 'init': expected a scheme name, got {init!r}")
    dtype = None
    if entry.get("dtype") is not None:
        try:
            dtype = resolve_dtype(entry["dtype"])
        except TypeError as exc:
            raise SpecError(f"tensor {name!r}, field 'dtype': {exc}") from None
    params = {
        str(k): _check_param(name, str(k), v)
        for k, v in entry.items()
        if k not in _RESERVED_FIELDS
    }
    return TensorSpec(name, shape, init, params, dtype)


def load_spec(spec: Any) -> dict[str, TensorSpec]:
    """Parse and check a model spec (structure only; schemes are checked by :func:`init_model`).

    Parameters
    ----------
    spec : mapping, str or os.PathLike
        ``{name: {"shape": [...], "init": scheme, "dtype": optional, **params}}``; nested
        mappings without ``"shape"`` are flattened into dotted names (TOML tables).
        A path to a ``.json`` / ``.toml`` file of that, a ``.safetensors`` checkpoint (see
        :func:`spec_from_safetensors`), or the name of a bundled spec (``"gpt2_small"``).
        The key ``"__metadata__"`` (string to string) is reserved for file metadata.

    Returns
    -------
    dict of str to TensorSpec
        In the spec's order.

    Raises
    ------
    SpecError
        Naming the tensor and the field at fault.
    FileNotFoundError
        When a spec path does not exist.
    """
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        if isinstance(spec, str) and not p.suffix and not p.exists():
            p = default_spec_path(spec)
        spec = _read_spec_file(p)
    if isinstance(spec, Mapping) and spec and all(isinstance(v, TensorSpec) for v in spec.values()):
        return dict(spec)
    if not isinstance(spec, Mapping):
        raise SpecError(
            f"a spec must be a mapping of tensor names to entries, got {type(spec).__name__}"
        )
    body = {k: v for k, v in spec.items() if k != "__metadata__"}
    flat: dict[str, Any] = {}
    _flatten(body, "", flat)
    if not flat:
        raise SpecError("the spec has no tensors")
    return {name: _parse_entry(name, entry) for name, entry in flat.items()}


def _spec_metadata(spec: Any) -> dict[str, str]:
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        if isinstance(spec, str) and not p.suffix and not p.exists():
            p = default_spec_path(spec)
        if p.suffix.lower() != ".json":
            return {}
        with open(p, encoding="utf-8") as f:
            spec = json.load(f)
    meta = spec.get("__metadata__", {}) if isinstance(spec, Mapping) else {}
    if not isinstance(meta, Mapping):
        raise SpecError("'__metadata__' must be a mapping of strings to strings")
    return {str(k): str(v) for k, v in meta.items()}


def guess_init(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """The scheme :func:`spec_from_safetensors` assigns by default (transformer conventions).

    1-D tensors whose name ends in ``bias`` (or ``beta``) get zeros; other 1-D tensors
    (layer-norm scales) get ones; everything else gets ``normal`` with std 0.02.
    """
    last = name.rsplit(".", 1)[-1].lower()
    if len(shape) <= 1:
        return {"init": "zeros"} if last in ("bias", "beta", "b") else {"init": "ones"}
    return {"init": "normal", "std": 0.02}


def spec_from_safetensors(path, *, init: Mapping | None = None,
                          dtypes: bool = True) -> dict[str, dict[str, Any]]:
    """The spec of an existing ``.safetensors`` checkpoint, for re-initializing it.

    Reads only the header (through the ``safetensors`` library).

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint.
    init : mapping, optional
        Scheme for every tensor, e.g. ``{"init": "xavier_uniform"}``; by default
        :func:`guess_init` (zeros for biases, ones for other 1-D tensors, normal
        std 0.02 elsewhere).
    dtypes : bool, default True
        Record each tensor's dtype; False leaves it to ``init_model(dtype=...)``.

    Returns
    -------
    dict
        ``{name: {"shape": [...], "init": ..., "dtype": ..., **params}}`` in file order.

    Examples
    --------
    >>> spec = winit.spec_from_safetensors("model.safetensors")  # doctest: +SKIP
    >>> winit.init_model(spec, "fresh.safetensors", seed=1)        # doctest: +SKIP
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    out: dict[str, dict[str, Any]] = {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            for name in f.keys():
                sl = f.get_slice(name)
                shape = tuple(int(d) for d in sl.get_shape())
                entry: dict[str, Any] = {"shape": list(shape)}
                entry.update(dict(init) if init is not None else guess_init(name, shape))
                if dtypes:
                    code = sl.get_dtype()
                    if code not in _FROM_SAFETENSORS:
                        raise SpecError(
                            f"tensor {name!r}: dtype {code} is not a float dtype winit can "
                            "initialize (F16, BF16, F32, F64)"
                        )
                    entry["dtype"] = _dtype_name(_FROM_SAFETENSORS[code])
                out[name] = entry
    except SpecError:
        raise
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise SpecError(f"{path}: not a readable safetensors file: {exc}") from None
    return out


# --------------------------------------------------------------------------- planning


@dataclass
class _Planned:
    spec: TensorSpec
    dtype: np.dtype
    initializer: Any
    #: An elementwise initializer equal to ``initializer`` on this tensor's shape (the
    #: initializer itself, or a fan-based scheme's primitive), or None: generate whole.
    stream_init: Any
    key: int

    @property
    def elementwise(self) -> bool:
        """Whether the tensor can be generated block by block through ``offset``."""
        return self.stream_init is not None

    @property
    def nbytes(self) -> int:
        return self.spec.size * self.dtype.itemsize


def _plan(specs: dict[str, TensorSpec], seed, dtype) -> list[_Planned]:
    """Resolve every entry to an initializer and a stream key; raise before any output."""
    from .registry import get

    default = resolve_dtype(dtype)
    root = resolve_key(seed)
    plans = []
    for name, ts in specs.items():
        dt = ts.dtype or default
        try:
            initializer = get(ts.init, **ts.params)
        except (ValueError, TypeError, KeyError) as exc:
            where = "field 'init'"
            if ts.params:
                where += f" / parameters {sorted(ts.params)}"
            raise SpecError(f"tensor {name!r}, {where}: {exc}") from None
        try:
            # fan-based schemes read their fans here: bad shapes fail now, not mid-write
            ew = initializer.elementwise_for(ts.shape)
            if ts.size and (ew is not None or ts.size <= _PROBE_MAX_ELEMS):
                # cheap dry run: bad parameter values and shapes fail here, not mid-write
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if ew is not None:
                        ew((1,), dt, seed=Key(0), threads=1)
                    else:
                        initializer(ts.shape, dt, seed=Key(0), threads=1)
        except (ValueError, TypeError) as exc:
            raise SpecError(
                f"tensor {name!r} ({ts.init}, shape {list(ts.shape)}): {exc}"
            ) from None
        plans.append(_Planned(ts, dt, initializer, ew, derive_key(root, name)))
    return plans


def _make_array(p: _Planned, threads) -> np.ndarray:
    if p.spec.size == 0:
        return np.zeros(p.spec.shape, p.dtype)
    return p.initializer(p.spec.shape, p.dtype, seed=Key(p.key), threads=threads)


# --------------------------------------------------------------------------- streaming writer


def _pwrite_all(fd: int, data, pos: int) -> None:
    mv = memoryview(data).cast("B")
    while mv.nbytes:
        n = os.pwrite(fd, mv, pos)
        if n <= 0:  # pragma: no cover
            raise OSError("short write")
        mv = mv[n:]
        pos += n


class _BlockStreamer:
    """Generate tensors into two alternating buffers while a writer thread pwrites the other."""

    def __init__(self, fd: int, threads, bar) -> None:
        self.fd = fd
        self.threads = threads
        self.bar = bar
        self.bufs = [np.empty(BLOCK_BYTES, np.uint8) for _ in range(2)]
        self.pending: list[Future | None] = [None, None]
        self.turn = 0
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="winit-write")

    def _wait(self, i: int) -> None:
        fut = self.pending[i]
        if fut is not None:
            self.pending[i] = None
            fut.result()

    def drain(self) -> None:
        for i in range(2):
            self._wait(i)

    def close(self) -> None:
        """Wait for in-flight writes (ignoring their errors) so the fd can be closed safely."""
        for fut in self.pending:
            if fut is not None:
                try:
                    fut.result()
                except BaseException:  # noqa: BLE001 - cleanup path, the first error wins
                    pass
        self.pending = [None, None]
        self.pool.shutdown(wait=True)

    def stream(self, p: _Planned, pos: int) -> None:
        """Write tensor ``p`` starting at byte ``pos`` of the file."""
        n, item = p.spec.size, p.dtype.itemsize
        if n == 0:
            return
        if not p.elementwise:
            self.drain()
            a = np.ascontiguousarray(_make_array(p, self.threads))
            raw = a.reshape(-1).view(np.uint8)
            for s in range(0, raw.size, BLOCK_BYTES):
                _pwrite_all(self.fd, raw[s:s + BLOCK_BYTES], pos + s)
                if self.bar is not None:
                    self.bar.update(min(BLOCK_BYTES, raw.size - s))
            return
        per_block = BLOCK_BYTES // item
        key = Key(p.key)
        for start in range(0, n, per_block):
            m = min(per_block, n - start)
            i = self.turn
            self.turn ^= 1
            self._wait(i)
            raw = self.bufs[i][: m * item]
            p.stream_init.fill_(raw.view(p.dtype), seed=key, offset=start, threads=self.threads)
            self.pending[i] = self.pool.submit(_pwrite_all, self.fd, raw, pos + start * item)
            if self.bar is not None:
                self.bar.update(m * item)


def _safetensors_header(plans: list[_Planned], metadata: dict[str, str]) -> bytes:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    pos = 0
    for p in plans:
        header[p.spec.name] = {
            "dtype": SAFETENSORS_DTYPES[p.dtype],
            "shape": list(p.spec.shape),
            "data_offsets": [pos, pos + p.nbytes],
        }
        pos += p.nbytes
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 8)  # the data starts 8-byte aligned
    return len(js).to_bytes(8, "little") + js


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


def _write_safetensors(plans, path: Path, threads, bar, overwrite, metadata) -> None:
    _check_destination(path, overwrite, want_dir=False)
    header = _safetensors_header(plans, metadata)
    total = len(header) + sum(p.nbytes for p in plans)
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    streamer = None
    try:
        try:  # reserve the space up front: a full disk fails here, before any work
            os.posix_fallocate(fd, 0, total)
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (95, 22):  # EOPNOTSUPP, EINVAL
                raise
        _pwrite_all(fd, header, 0)
        streamer = _BlockStreamer(fd, threads, bar)
        pos = len(header)
        for p in plans:
            streamer.stream(p, pos)
            pos += p.nbytes
        streamer.drain()
        streamer.close()
        streamer = None
        os.fsync(fd)
        os.close(fd)
        fd = -1
        _publish_file(tmp, path, overwrite)
    except BaseException:
        if streamer is not None:
            streamer.close()
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def npy_filename(name: str) -> str:
    """File name of tensor ``name`` in a directory checkpoint (``/`` and other unsafe
    characters percent-encoded; ``urllib.parse.unquote`` of the stem gives the name back)."""
    return quote(name, safe="") + ".npy"


def _write_npy_dir(plans, path: Path, threads, bar, overwrite) -> None:
    _check_destination(path, overwrite, want_dir=True)
    tmp = _tmp_name(path)
    os.mkdir(tmp)
    try:
        for p in plans:
            fname = tmp / npy_filename(p.spec.name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # bfloat16 has no npy descr of its own
                mm = np.lib.format.open_memmap(fname, mode="w+", dtype=p.dtype, shape=p.spec.shape)
            data_start = mm.offset
            del mm
            fd = os.open(fname, os.O_WRONLY)
            streamer = _BlockStreamer(fd, threads, bar)
            try:
                streamer.stream(p, data_start)
                streamer.drain()
                os.fsync(fd)
            finally:
                streamer.close()
                os.close(fd)
        _fsync_dir(tmp)
        if path.exists():
            old = _tmp_name(path)
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------- public entry


@dataclass
class InitSummary:
    """What an :func:`init_model` call produced (used by the CLI's summary table)."""

    result: Any
    tensors: int
    parameters: int
    nbytes: int
    seconds: float
    dtypes: dict[str, int]


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000, desc=desc,
                file=sys.stderr, dynamic_ncols=True, mininterval=0.25, leave=True)


def _chunks_for(chunks, ts: TensorSpec):
    """Per-tensor dask chunks: a callable ``(name, shape)``, a mapping by name, or one value."""
    if callable(chunks):
        return chunks(ts.name, ts.shape)
    if isinstance(chunks, Mapping):
        return chunks.get(ts.name, "auto")
    if isinstance(chunks, (tuple, list)) and len(chunks) != len(ts.shape):
        raise ValueError(
            f"tensor {ts.name!r}: chunks {chunks!r} do not match its {len(ts.shape)} dims; "
            "pass a mapping name -> chunks or a callable (name, shape) -> chunks"
        )
    return chunks


def _run(spec, path=None, *, seed=0, dtype="float32", threads=None, progress=True,
         overwrite=False, as_dask=False, chunks="auto") -> InitSummary:
    specs = load_spec(spec)
    metadata = {"format": "pt", "generator": "winit"}
    metadata.update(_spec_metadata(spec))
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, Key)):
        metadata["winit.seed"] = str(int(seed))
    plans = _plan(specs, seed, dtype)
    nbytes = sum(p.nbytes for p in plans)
    params = sum(p.spec.size for p in plans)
    dts: dict[str, int] = {}
    for p in plans:
        dts[_dtype_name(p.dtype)] = dts.get(_dtype_name(p.dtype), 0) + 1
    t0 = time.perf_counter()
    if path is None:
        if as_dask:
            from . import dask as wdask

            result: Any = {
                p.spec.name: wdask.init(p.initializer, p.spec.shape,
                                        chunks=_chunks_for(chunks, p.spec),
                                        seed=Key(p.key), dtype=p.dtype)
                for p in plans
            }
        else:
            bar = _progress_bar(nbytes, "init", progress)
            result = {}
            try:
                for p in plans:
                    result[p.spec.name] = _make_array(p, threads)
                    if bar is not None:
                        bar.update(p.nbytes)
            finally:
                if bar is not None:
                    bar.close()
        return InitSummary(result, len(plans), params, nbytes, time.perf_counter() - t0, dts)
    if as_dask:
        raise ValueError("as_dask=True needs path=None")
    path = Path(path)
    to_file = path.suffix.lower() == ".safetensors"
    if to_file:  # the safetensors order: widest dtypes first (aligned data), then by name
        plans = sorted(plans, key=lambda p: (-p.dtype.itemsize, p.spec.name))
    _check_destination(path, overwrite, want_dir=not to_file)
    bar = _progress_bar(nbytes, path.name, progress)
    try:
        if to_file:
            _write_safetensors(plans, path, threads, bar, overwrite, metadata)
        else:
            _write_npy_dir(plans, path, threads, bar, overwrite)
    finally:
        if bar is not None:
            bar.close()
    return InitSummary(path, len(plans), params, nbytes, time.perf_counter() - t0, dts)


def init_model(spec, path=None, *, seed=0, dtype="float32", threads=None, progress=True,
               overwrite=False, as_dask=False, chunks="auto"):
    """Initialize every tensor of a model spec, in memory or streamed to disk.

    Tensor ``name`` is filled from the stream ``derive_key(resolve_key(seed), name)``, so
    its values depend only on the seed, its name and its own entry (never on the order
    or on the other tensors), and never on ``threads``.

    Parameters
    ----------
    spec : mapping, str or os.PathLike
        ``{name: {"shape": [...], "init": scheme, "dtype": optional, **params}}``, a
        ``.json`` / ``.toml`` file of that, a ``.safetensors`` checkpoint to mimic, or a
        bundled spec name (``"gpt2_small"``). See :func:`load_spec`.
    path : str, os.PathLike or None
        ``*.safetensors``: stream one file (peak memory a few 16 MB buffers, plus one
        whole tensor for ``orthogonal``, ``delta_orthogonal``, ``sparse``, ``eye`` and
        ``dirac``; fan-based schemes stream block by block). Any other path: a directory
        with one ``.npy`` per tensor (see :func:`npy_filename`; bfloat16 ``.npy`` files
        load as ``|V2``, view them as ``ml_dtypes.bfloat16``). None: return arrays.
        Files are written under a temporary name in the same directory, fsynced and
        renamed: a failure or interruption leaves no partial output and any old one intact.
    seed : int, SeedSequence, Generator or None, default 0
        Model seed.
    dtype : dtype-like, default "float32"
        Dtype of tensors whose entry has no ``"dtype"``: float16, bfloat16, float32, float64.
    threads : int or None
        Threads of the generation kernels (None: all usable cores).
    progress : bool, default True
        Show a tqdm progress bar (bytes, GB/s) on stderr, if tqdm is installed.
    overwrite : bool, default False
        Replace an existing output; otherwise :class:`FileExistsError` before any work.
    as_dask : bool, default False
        With ``path=None``, return lazy ``dask.array`` s (``winit.dask``) chunked by ``chunks``.
    chunks : dask chunks, mapping or callable, default "auto"
        Chunking of the dask arrays: one value for every tensor (``"auto"``, an int, a
        byte size such as ``"64MiB"``), a mapping ``name -> chunks`` (others ``"auto"``),
        or a callable ``(name, shape) -> chunks``.

    Returns
    -------
    dict of str to numpy.ndarray (or dask.array.Array), or pathlib.Path
        The arrays for ``path=None``, otherwise the written path.

    Raises
    ------
    SpecError
        An invalid entry (message names the tensor and the field), before any output.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> spec = {"w": {"shape": [256, 128], "init": "normal", "std": 0.02},
    ...         "b": {"shape": [256], "init": "zeros"}}
    >>> arrays = winit.init_model(spec, seed=0, progress=False)
    >>> arrays["w"].shape
    (256, 128)
    >>> winit.init_model("gpt2_small", "gpt2.safetensors", dtype="bfloat16")  # doctest: +SKIP
    """
    return _run(spec, path, seed=seed, dtype=dtype, threads=threads, progress=progress,
                overwrite=overwrite, as_dask=as_dask, chunks=chunks).result


def iter_checkpoint(path) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, array)`` of a checkpoint one tensor at a time (lazily).

    ``.safetensors`` (through ``safetensors.safe_open``), ``.npy`` (memory-mapped),
    ``.npz``, or a directory of ``.npy`` files as written by :func:`init_model`.
    """
    from urllib.parse import unquote

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


def _bf16_fix(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.dtype("V2"):
        return a.view(BFLOAT16)
    return a
