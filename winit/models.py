"""Initialize whole models: plan a spec's tensors, then generate them in memory or on disk.

Every tensor gets its own generator stream, ``derive_key(resolve_key(seed), name)``, so
its values depend only on the seed, its name and its own entry: adding, removing or
reordering tensors never changes the others.

Planning (:func:`init_model`, :func:`run_init`) resolves each entry of the spec
(``winit.spec``) to a registry initializer and checks it with a cheap dry run, so a bad
entry fails before any output. The tensors are then returned as numpy arrays, as lazy
``dask.array`` s (``winit.dask``), or streamed into a checkpoint (``winit.checkpoint``):
peak memory a few blocks, whatever the model size. Fan-based schemes (``xavier_*``,
``kaiming_*``, ``lecun_*``, ``variance_scaling`` and aliases such as ``he_normal``)
stream too: on the tensor's full shape each is one sampling primitive with fixed
parameters (``Initializer.elementwise_for``). Only schemes whose values depend on the
whole tensor (``orthogonal``, ``delta_orthogonal``, ``sparse``, ``eye``, ``dirac``) are
generated one whole tensor at a time.

The names that moved to ``winit.spec`` and ``winit.checkpoint`` stay importable from here.
"""

from __future__ import annotations

import numbers
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import Key, derive_key, resolve_dtype, resolve_key
from .checkpoint import (
    BLOCK_BYTES,
    SAFETENSORS_DTYPES,
    TensorSource,
    check_destination,
    iter_checkpoint,
    npy_filename,
    write_checkpoint,
)
from .registry import Initializer, get
from .spec import (
    SpecError,
    TensorSpec,
    default_spec_path,
    dtype_name,
    gpt2_spec,
    guess_init,
    load_spec,
    read_spec,
    spec_from_safetensors,
)

__all__ = [
    "InitSummary",
    "SpecError",
    "TensorSpec",
    "default_spec_path",
    "gpt2_spec",
    "init_model",
    "load_spec",
    "run_init",
    "spec_from_safetensors",
    # moved to winit.checkpoint / winit.spec, still importable from here
    "BLOCK_BYTES",
    "SAFETENSORS_DTYPES",
    "guess_init",
    "iter_checkpoint",
    "npy_filename",
]

_PROBE_MAX_ELEMS = 1 << 16


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Planned:
    spec: TensorSpec
    dtype: np.dtype
    initializer: Initializer
    #: An elementwise initializer equal to ``initializer`` on this tensor's shape (the
    #: initializer itself, or a fan-based scheme's primitive), or None: generate whole.
    stream_init: Initializer | None
    key: int

    @property
    def elementwise(self) -> bool:
        """Whether the tensor can be generated block by block through ``offset``."""
        return self.stream_init is not None

    @property
    def nbytes(self) -> int:
        return self.spec.size * self.dtype.itemsize

    def array(self, threads: int | None = None) -> np.ndarray:
        """The whole tensor."""
        if self.spec.size == 0:
            return np.zeros(self.spec.shape, self.dtype)
        return self.initializer(self.spec.shape, self.dtype, seed=Key(self.key), threads=threads)

    def fill(self, out: np.ndarray, offset: int, threads: int | None = None) -> None:
        """Elements ``[offset, offset + out.size)`` of the flattened tensor, into ``out``."""
        self.stream_init.fill_(out, seed=Key(self.key), offset=offset, threads=threads)

    def source(self) -> TensorSource:
        """The tensor as the checkpoint writers take it."""
        return TensorSource(self.spec.name, self.spec.shape, self.dtype, self.array,
                            self.fill if self.elementwise else None)


def _plan(specs: dict[str, TensorSpec], seed, dtype) -> list[_Planned]:
    """Resolve every entry to an initializer and a stream key; raise before any output."""
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
            # every scheme's shape checks (fans, dimensions, channels) run here, before output
            initializer.check(ts.shape)
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


# --------------------------------------------------------------------------- outputs


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


def _as_dask(plans: list[_Planned], chunks) -> dict[str, Any]:
    from . import dask as wdask

    return {
        p.spec.name: wdask.init(p.initializer, p.spec.shape, chunks=_chunks_for(chunks, p.spec),
                                seed=Key(p.key), dtype=p.dtype)
        for p in plans
    }


def _in_memory(plans: list[_Planned], threads, progress: bool) -> dict[str, np.ndarray]:
    bar = _progress_bar(sum(p.nbytes for p in plans), "init", progress)
    out = {}
    try:
        for p in plans:
            out[p.spec.name] = p.array(threads)
            if bar is not None:
                bar.update(p.nbytes)
    finally:
        if bar is not None:
            bar.close()
    return out


def _to_checkpoint(plans: list[_Planned], path, metadata: dict[str, str], threads,
                   progress: bool, overwrite: bool) -> Path:
    check_destination(path, overwrite=overwrite)  # path as given: a trailing "/" counts
    bar = _progress_bar(sum(p.nbytes for p in plans), Path(path).name, progress)
    try:
        return write_checkpoint([p.source() for p in plans], path, metadata=metadata,
                                overwrite=overwrite, threads=threads,
                                progress=None if bar is None else bar.update)
    finally:
        if bar is not None:
            bar.close()


# --------------------------------------------------------------------------- public entry


@dataclass
class InitSummary:
    """What a :func:`run_init` call produced (the CLI's summary table).

    Attributes
    ----------
    result : dict or pathlib.Path
        What :func:`init_model` returns: the arrays, or the written path.
    tensors : int
        Number of tensors.
    parameters : int
        Number of elements, all tensors together.
    nbytes : int
        Bytes of tensor data.
    seconds : float
        Wall time of the generation (and writing), after planning.
    dtypes : dict of str to int
        Number of tensors of each dtype (``"bfloat16"``, ``"float32"``, ...), in spec order.
    """

    result: Any
    tensors: int
    parameters: int
    nbytes: int
    seconds: float
    dtypes: dict[str, int]


def run_init(spec, path=None, *, seed=0, dtype="float32", threads=None, progress=True,
             overwrite=False, as_dask=False, chunks="auto") -> InitSummary:
    """:func:`init_model`, returning an :class:`InitSummary` of what was produced.

    This is what ``winit init`` runs.

    Parameters
    ----------
    spec, path, seed, dtype, threads, progress, overwrite, as_dask, chunks
        As :func:`init_model`.

    Returns
    -------
    InitSummary
        ``result`` is what :func:`init_model` returns; the other fields count the
        tensors, parameters, bytes and dtypes, and time the generation.

    Raises
    ------
    SpecError, FileExistsError
        As :func:`init_model`.
    """
    model = read_spec(spec)
    metadata = {"format": "pt", "generator": "winit", **model.metadata}
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, Key)):
        metadata["winit.seed"] = str(int(seed))
    plans = _plan(model.tensors, seed, dtype)
    dtypes: dict[str, int] = {}
    for p in plans:
        dtypes[dtype_name(p.dtype)] = dtypes.get(dtype_name(p.dtype), 0) + 1
    t0 = time.perf_counter()
    if path is None:
        result: Any = _as_dask(plans, chunks) if as_dask else _in_memory(plans, threads, progress)
    elif as_dask:
        raise ValueError("as_dask=True needs path=None")
    else:
        result = _to_checkpoint(plans, path, metadata, threads, progress, overwrite)
    return InitSummary(result, len(plans), sum(p.spec.size for p in plans),
                       sum(p.nbytes for p in plans), time.perf_counter() - t0, dtypes)


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
        ``dirac``; fan-based schemes stream block by block). A path with no suffix or
        ending in ``/``: a directory with one ``.npy`` per tensor (see
        :func:`npy_filename`; bfloat16 ``.npy`` files load as ``|V2``, view them as
        ``ml_dtypes.bfloat16``) and a ``.winit-manifest.json`` listing them. Any other
        suffix is a ValueError. None: return arrays. Files are written under a
        temporary name in the same directory, fsynced and renamed: a failure or
        interruption leaves no partial output and any old one intact.
    seed : int, SeedSequence, Generator or None, default 0
        Model seed.
    dtype : dtype-like, default "float32"
        Dtype of tensors whose entry has no ``"dtype"``: float16, bfloat16, float32, float64.
    threads : int or None
        Threads of the generation kernels (None: all usable cores).
    progress : bool, default True
        Show a tqdm progress bar (bytes, GB/s) on stderr, if tqdm is installed.
    overwrite : bool, default False
        Replace an existing file, or an existing directory winit wrote; otherwise
        :class:`FileExistsError` before any work. A directory winit did not write, or
        one holding files its manifest does not list, is never replaced.
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
        ``path`` exists and ``overwrite`` is False, or is a directory that may not be
        replaced (the message says why).
    ValueError
        ``path`` has a suffix winit does not write (``.pt``, ``.npz``, ...).

    Examples
    --------
    >>> spec = {"w": {"shape": [256, 128], "init": "normal", "std": 0.02},
    ...         "b": {"shape": [256], "init": "zeros"}}
    >>> arrays = winit.init_model(spec, seed=0, progress=False)
    >>> arrays["w"].shape
    (256, 128)
    >>> winit.init_model("gpt2_small", "gpt2.safetensors", dtype="bfloat16")  # doctest: +SKIP
    """
    return run_init(spec, path, seed=seed, dtype=dtype, threads=threads, progress=progress,
                    overwrite=overwrite, as_dask=as_dask, chunks=chunks).result
