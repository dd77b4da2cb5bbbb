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

The spec of a Hugging Face configuration (``winit.hf``) gives a Hugging Face directory
(``winit.hfdir``), its shards written here, overlapped, or by Dask workers. Every
``.safetensors`` header records the provenance ``winit.verify`` regenerates from.

The names that moved to ``winit.spec`` and ``winit.checkpoint`` stay importable from here.
"""

from __future__ import annotations

import numbers
import os
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
    output_kind,
    write_checkpoint,
    write_safetensors,
    write_safetensors_files,
)
from .hf import HFSpec
from .hfdir import (
    CONFIG_NAME,
    INDEX_NAME,
    Provenance,
    config_json,
    index_json,
    parse_size,
    plan_shards,
    shard_filenames,
    spec_sha256,
)
from .output import staged_output_dir, write_file
from .registry import Initializer, get
from .spec import (
    ModelSpec,
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
    "tensor_sources",
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

    @property
    def entry(self) -> dict[str, Any]:
        """The resolved spec entry (its dtype included), as the provenance records it."""
        return {**self.spec.to_dict(), "dtype": dtype_name(self.dtype)}

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


def _plan(specs: dict[str, TensorSpec], root: int, dtype) -> list[_Planned]:
    """Resolve every entry to an initializer and a stream key (from the model's root
    key); raise before any output."""
    default = resolve_dtype(dtype)
    plans = []
    # a model repeats its layers: each distinct (scheme, parameters, shape, dtype) is
    # resolved and dry-run once (the parameters by type and repr, so that 0.0 and -0.0,
    # or 1 and 1.0, stay apart)
    resolved: dict[tuple, tuple[Initializer, Initializer | None]] = {}
    for name, ts in specs.items():
        dt = ts.dtype or default
        key = (ts.init, tuple((k, type(v), repr(v)) for k, v in sorted(ts.params.items())),
               ts.shape, dt)
        if key not in resolved:
            resolved[key] = _resolve(name, ts, dt)
        plans.append(_Planned(ts, dt, *resolved[key], derive_key(root, name)))
    return plans


def _resolve(name: str, ts: TensorSpec, dt: np.dtype) -> tuple[Initializer, Initializer | None]:
    """Entry ``ts``'s initializer and its elementwise form (None: generated whole),
    checked on its shape and dry-run; a :class:`SpecError` naming the tensor if not."""
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
    return initializer, ew


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


@dataclass(frozen=True)
class _Output:
    """Where and how a checkpoint is written, and what every file's header carries."""

    path: Path
    metadata: dict[str, str]  # the spec's and winit's, without the provenance
    root: int
    seed: int | None
    digest: str  # spec_sha256 of the whole resolved spec
    threads: int | None
    overwrite: bool
    client: Any

    def header(self, plans: Sequence[_Planned]) -> dict[str, str]:
        """A file's ``__metadata__``: the model's and the provenance of its tensors."""
        prov = Provenance(self.root, {p.spec.name: p.entry for p in plans}, self.digest,
                          self.seed)
        return {**self.metadata, **prov.metadata()}


def _write_shard(entries: dict[str, dict[str, Any]], root: int, path: str,
                 metadata: dict[str, str], threads: int | None, overwrite: bool) -> int:
    """One file on a Dask worker: plan ``entries`` again, write them; the file's size."""
    plans = _plan(load_spec(entries), root, "float32")
    write_safetensors([p.source() for p in plans], path, metadata=metadata, threads=threads,
                      overwrite=overwrite)
    return os.path.getsize(path)


def _on_workers(files: list[tuple[Path, list[_Planned]]], out: _Output, bar) -> None:
    """Each file generated and written by a Dask worker (a filesystem they share)."""
    futures = [out.client.submit(_write_shard, {p.spec.name: p.entry for p in plans},
                                 out.root, str(path), out.header(plans), out.threads,
                                 out.overwrite, pure=False)
               for path, plans in files]
    try:
        for (path, plans), fut in zip(files, futures, strict=True):
            size = fut.result()
            if not path.is_file() or path.stat().st_size != size:
                raise FileNotFoundError(
                    f"{path}: written by a Dask worker but not found here: the workers must "
                    "see the output directory at the same path (a shared filesystem)")
            if bar is not None:
                bar.update(sum(p.nbytes for p in plans))
    except BaseException:
        out.client.cancel(futures)
        raise


def _write_files(files: list[tuple[Path, list[_Planned]]], out: _Output, bar) -> None:
    if out.client is not None:
        _on_workers(files, out, bar)
        return
    write_safetensors_files([(path, [p.source() for p in plans], out.header(plans))
                             for path, plans in files],
                            overwrite=out.overwrite, threads=out.threads,
                            progress=None if bar is None else bar.update)


def _hf_dir(plans: list[_Planned], config: dict[str, Any], max_bytes: int, out: _Output,
            bar) -> tuple[str, ...]:
    """The Hugging Face layout: config.json, the shards and (several shards) the index."""
    groups = plan_shards([(p.spec.name, p.nbytes) for p in plans], max_bytes)
    names = shard_filenames(len(groups))
    by_name = {p.spec.name: p for p in plans}
    written: dict[str, int] = {}
    for p in plans:
        written[dtype_name(p.dtype)] = written.get(dtype_name(p.dtype), 0) + p.nbytes
    with staged_output_dir(out.path, overwrite=out.overwrite) as tmp:
        _write_files([(tmp / f, [by_name[n] for n in g]) for f, g in zip(names, groups,
                                                                          strict=True)],
                     out, bar)
        if len(groups) > 1:
            text = index_json(groups, names, {p.spec.name: p.nbytes for p in plans},
                              sum(p.spec.size for p in plans))
            write_file(tmp / INDEX_NAME, text.encode("utf-8"))
            names.append(INDEX_NAME)
        dtype = max(written, key=written.__getitem__)
        write_file(tmp / CONFIG_NAME, config_json(config, dtype).encode("utf-8"))
    return (CONFIG_NAME, *names)


def _to_checkpoint(plans: list[_Planned], model: ModelSpec, max_bytes: int, out: _Output,
                   progress: bool) -> tuple[str, ...]:
    """Write the checkpoint ``out.path`` names; the names of the files written."""
    path = out.path
    check_destination(path, overwrite=out.overwrite)  # path as given: a trailing "/" counts
    kind = output_kind(path)
    hf = kind == "npy" and isinstance(model, HFSpec) and bool(model.config)
    if out.client is not None and kind == "npy" and not hf:
        raise ValueError("client=: Dask workers write .safetensors files or a Hugging Face "
                         "directory (an HFSpec), not a directory of .npy files")
    bar = _progress_bar(sum(p.nbytes for p in plans), Path(path).name, progress)
    try:
        if hf:
            return _hf_dir(plans, model.config, max_bytes, replace(out, path=Path(path)), bar)
        if out.client is not None:
            _on_workers([(Path(path), plans)], out, bar)
        else:
            write_checkpoint([p.source() for p in plans], path, metadata=out.header(plans),
                             overwrite=out.overwrite, threads=out.threads,
                             progress=None if bar is None else bar.update)
        if kind == "safetensors":
            return (Path(path).name,)
        return tuple(npy_filename(p.spec.name) for p in plans)
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
    files : tuple of str
        The files written (names inside a directory output; empty without ``path``).
    """

    result: Any
    tensors: int
    parameters: int
    nbytes: int
    seconds: float
    dtypes: dict[str, int]
    files: tuple[str, ...] = ()


def run_init(spec, path=None, *, seed=0, dtype="float32", threads=None, progress=True,
             overwrite=False, as_dask=False, chunks="auto", max_shard_size="5GB",
             client=None) -> InitSummary:
    """:func:`init_model`, returning an :class:`InitSummary` of what was produced.

    This is what ``winit init`` runs.

    Parameters
    ----------
    spec, path, seed, dtype, threads, progress, overwrite, as_dask, chunks
        As :func:`init_model`.
    max_shard_size, client
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
    max_bytes = parse_size(max_shard_size)
    if path is None and client is not None:
        raise ValueError("client=: Dask workers write files; give a path")
    int_seed = int(seed) if isinstance(seed, numbers.Integral) and \
        not isinstance(seed, (bool, Key)) else None
    root = resolve_key(seed)
    plans = _plan(model.tensors, root, dtype)
    dtypes: dict[str, int] = {}
    for p in plans:
        dtypes[dtype_name(p.dtype)] = dtypes.get(dtype_name(p.dtype), 0) + 1
    t0 = time.perf_counter()
    files: tuple[str, ...] = ()
    if path is None:
        result: Any = _as_dask(plans, chunks) if as_dask else _in_memory(plans, threads, progress)
    elif as_dask:
        raise ValueError("as_dask=True needs path=None")
    else:
        out = _Output(path, {"format": "pt", "generator": "winit", **model.metadata}, root,
                      int_seed, spec_sha256({p.spec.name: p.entry for p in plans}), threads,
                      overwrite, client)
        files = _to_checkpoint(plans, model, max_bytes, out, progress)
        result = Path(path)
    return InitSummary(result, len(plans), sum(p.spec.size for p in plans),
                       sum(p.nbytes for p in plans), time.perf_counter() - t0, dtypes, files)


def tensor_sources(spec, *, seed=0, dtype="float32") -> list[TensorSource]:
    """The tensors of a spec as the checkpoint writers take them, planned and checked.

    Parameters
    ----------
    spec, seed, dtype
        As :func:`init_model`.

    Returns
    -------
    list of winit.checkpoint.TensorSource
        In the spec's order; each generates exactly what :func:`init_model` writes.

    Raises
    ------
    SpecError
        As :func:`init_model`.
    """
    return [p.source() for p in _plan(read_spec(spec).tensors, resolve_key(seed), dtype)]


def init_model(spec, path=None, *, seed=0, dtype="float32", threads=None, progress=True,
               overwrite=False, as_dask=False, chunks="auto", max_shard_size="5GB",
               client=None):
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
        ``*.safetensors``: stream one file (peak memory a few 1 MB buffers, plus one
        whole tensor for ``orthogonal``, ``delta_orthogonal``, ``sparse``, ``eye`` and
        ``dirac``; fan-based schemes stream block by block). A path with no suffix or
        ending in ``/``: a directory with one ``.npy`` per tensor (see
        :func:`npy_filename`; bfloat16 ``.npy`` files load as ``|V2``, view them as
        ``ml_dtypes.bfloat16``) and a ``.winit-manifest.json`` listing them; for an
        :class:`winit.hf.HFSpec` (:func:`winit.spec_from_hf_config`), the Hugging Face
        layout instead: ``config.json`` (its ``dtype`` the one written),
        ``model.safetensors`` or shards ``model-0000i-of-0000N.safetensors`` and
        ``model.safetensors.index.json`` (``winit.hfdir``). Any other suffix is a
        ValueError. None: return arrays. Files are written under a temporary name in
        the same directory, fsynced and renamed (a directory is built whole under a
        temporary name, then renamed): a failure or interruption leaves no partial
        output and any old one intact. Every ``.safetensors`` header carries
        ``format: pt`` and the provenance (``winit.hfdir.Provenance``: winit's version,
        the seed and root key, the resolved spec of its tensors and the hash of the
        whole spec) that ``winit.verify`` regenerates the tensors from.
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
    max_shard_size : int or str, default "5GB"
        Largest shard of a Hugging Face directory: bytes, ``"500MB"``, ``"5GB"`` (powers
        of 1000) or ``"2GiB"`` (powers of 1024), as transformers reads it
        (``winit.hfdir.parse_size``). Tensors fill shards in order; a tensor larger than
        this gets a shard of its own.
    client : dask.distributed.Client or None
        Have the Dask workers generate and write the files (each shard by one worker;
        the caller writes the index and ``config.json``). The workers must see ``path``
        at the same place (a shared filesystem). The files are byte-identical to
        those written here.

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
        ``path`` has a suffix winit does not write (``.pt``, ``.npz``, ...), an invalid
        ``max_shard_size``, or ``client`` with no path or a directory of ``.npy`` files.

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
                    overwrite=overwrite, as_dask=as_dask, chunks=chunks,
                    max_shard_size=max_shard_size, client=client).result
