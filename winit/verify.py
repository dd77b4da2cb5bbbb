"""Prove a checkpoint: regenerate every tensor from its provenance and compare the bytes.

:func:`verify` reads what the headers of a checkpoint winit wrote record
(``winit.hfdir.Provenance``: the root generator key and the resolved spec of every
tensor), regenerates each tensor block by block with the writers' streamer
(``winit.checkpoint.BlockStreamer``), reads the same bytes from the file and compares
them: memory stays a few blocks per thread, whatever the model size. A checkpoint
without provenance (written by something else, or ``.npy`` files) is verified
against a spec and a seed given explicitly.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._common import Key, resolve_key
from .hfdir import INDEX_NAME, WEIGHTS_NAME, Provenance, checkpoint_files, spec_sha256
from .models import tensor_sources
from .reader import StoredTensor, checkpoint_tensors, safetensors_tensors
from .spec import TensorSpec, dtype_name, load_spec
from .streamer import BlockStreamer, TensorSource

__all__ = ["TensorCheck", "VerifyReport", "verify"]

_SHARD = re.compile(r"model-\d{5}-of-(\d{5})\.safetensors")


@dataclass(frozen=True)
class TensorCheck:
    """The verdict on one tensor.

    Parameters
    ----------
    name : str
        Tensor name.
    file : str
        The file holding it, relative to the checkpoint (empty for a missing tensor).
    shape : tuple of int
        Its shape (stored; the spec's for a missing tensor).
    dtype : str
        Its dtype (stored; the spec's for a missing tensor).
    status : str
        ``"OK"``; ``"MISMATCH"`` (bytes, dtype or shape differ from the regenerated
        tensor); ``"MISSING"`` (in the spec, not in the checkpoint); ``"UNEXPECTED"``
        (in the checkpoint, not in the spec).
    detail : str
        What differs (empty when OK).
    """

    name: str
    file: str
    shape: tuple[int, ...]
    dtype: str
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether the stored tensor is exactly the regenerated one."""
        return self.status == "OK"


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found: one :class:`TensorCheck` per tensor.

    Parameters
    ----------
    path : pathlib.Path
        The checkpoint.
    checks : tuple of TensorCheck
        By file, then by name.
    key : int
        The root generator key the tensors were regenerated with.
    seed : int or None
        The int seed, when known.
    spec_sha256 : str
        ``winit.hfdir.spec_sha256`` of the spec the tensors were regenerated from.
    source : str
        ``"provenance"`` (the headers) or ``"arguments"`` (``seed=`` / ``spec=``).
    problems : tuple of str
        Checkpoint-wide problems (a spec whose hash differs from the one recorded).
    nbytes : int
        Bytes compared.
    seconds : float
        Wall time.
    """

    path: Path
    checks: tuple[TensorCheck, ...]
    key: int
    seed: int | None
    spec_sha256: str
    source: str
    problems: tuple[str, ...] = ()
    nbytes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every tensor is OK and there is no other problem."""
        return not self.problems and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[TensorCheck]:
        """The checks that are not OK."""
        return [c for c in self.checks if not c.ok]

    def table(self) -> str:
        """One row per tensor: name, (file,) shape, dtype, status and what differs.

        Returns
        -------
        str
        """
        files = len({c.file for c in self.checks if c.file}) > 1
        head = ["tensor", *(["file"] if files else []), "shape", "dtype", "status"]
        rows = [[c.name, *([c.file] if files else []), "x".join(map(str, c.shape)) or "()",
                 c.dtype, f"{c.status} ({c.detail})" if c.detail else c.status]
                for c in self.checks]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
        return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False))
                         + "  " + r[-1] for r in [head, *rows])

    def summary(self) -> str:
        """One line: the verdict, the tensors, the bytes, the time, the provenance.

        Returns
        -------
        str
        """
        bad = self.failures
        verdict = "OK" if self.ok else (
            f"{len(bad)} of {len(self.checks)} tensors FAILED" if bad else "FAILED")
        secs = max(self.seconds, 1e-9)
        seed = f"seed {self.seed}" if self.seed is not None else f"key 0x{self.key:016x}"
        return (f"{verdict}: {len(self.checks)} tensors, {self.nbytes / 1e9:.2f} GB compared "
                f"in {self.seconds:.2f} s ({self.nbytes / secs / 1e9:.2f} GB/s); {seed}, spec "
                f"sha256 {self.spec_sha256[:12]} (from the {self.source})"
                + "".join(f"\n{p}" for p in self.problems))

    def __str__(self) -> str:
        return self.table() + "\n\n" + self.summary()


# --------------------------------------------------------------------------- reading


@dataclass
class _File:
    label: str  # relative to the checkpoint
    tensors: list[StoredTensor]
    provenance: Provenance | None


def _stored(path: Path) -> list[_File]:
    """The checkpoint's files, their tensors and their provenance; the index checked."""
    if path.is_dir() and not (path / INDEX_NAME).exists() and \
            not (path / WEIGHTS_NAME).exists() and any(path.glob("*.npy")):
        return [_File(t.path.name, [t], None) for t in checkpoint_tensors(path)]
    out = []
    for f, listed in checkpoint_files(path):
        tensors, meta = safetensors_tensors(f)
        label = f.name if path.is_dir() else str(f)
        if listed is not None:
            names = {t.name for t in tensors}
            odd = sorted(names ^ listed)
            if odd:
                where = "is not in the index" if odd[0] in names else "is not in that file"
                raise ValueError(f"{path / INDEX_NAME}: damaged index: tensor {odd[0]!r} "
                                 f"{where} ({label})")
        out.append(_File(label, tensors, Provenance.from_metadata(meta, str(f))))
    return out


def _key(files: list[_File], seed: Any) -> tuple[int, int | None, bool]:
    """(root key, int seed or None, from the arguments?)."""
    if seed is not None:
        key = resolve_key(seed)
        return key, (int(seed) if isinstance(seed, (int, np.integer)) and
                     not isinstance(seed, (bool, Key)) else None), True
    for f in files:
        if f.provenance is None:
            raise ValueError(f"{f.label}: no winit provenance in its header (winit.key, "
                             "winit.seed): pass the seed (seed= / --seed) and the spec "
                             "(spec= / --spec / --hf-config)")
    keys = {f.provenance.key for f in files}
    if len(keys) > 1:
        raise ValueError(f"{files[0].label}: field 'winit.key': the files record "
                         f"{len(keys)} different keys (not one checkpoint)")
    return keys.pop(), files[0].provenance.seed, False


def _spec(files: list[_File], spec: Any, whole: bool
          ) -> tuple[dict[str, TensorSpec], list[str], bool]:
    """(tensor specs, problems, from the arguments?); the recorded hash of the whole
    model's spec is checked when ``whole`` (not a lone shard)."""
    if spec is not None:
        return load_spec(spec), [], True
    entries: dict[str, Any] = {}
    for f in files:
        if f.provenance is None or not f.provenance.spec:
            raise ValueError(f"{f.label}: no 'winit.spec' in its header: pass the spec "
                             "(spec= / --spec / --hf-config)")
        entries.update(f.provenance.spec)
    problems: list[str] = []
    digest = spec_sha256(entries)
    for f in files if whole else ():
        if f.provenance.spec_hash != digest:
            problems.append(f"{f.label}: field 'winit.spec_sha256' is "
                            f"{f.provenance.spec_hash[:12] or 'missing'}, the specs in the "
                            f"headers hash to {digest[:12]} (a header was changed)")
    return load_spec(entries), problems, False


# --------------------------------------------------------------------------- comparing


class _Compare:
    """A streamer sink: compares each regenerated block with the same bytes of a file,
    read into a buffer of the thread (``local``, one per :func:`verify` call)."""

    def __init__(self, t: StoredTensor, fd: int, local: threading.local) -> None:
        self.t, self.fd, self.local = t, fd, local
        self.lock = threading.Lock()
        self.differ = 0
        self.first: int | None = None

    def _buffer(self, n: int) -> np.ndarray:
        buf = getattr(self.local, "buf", None)
        if buf is None or buf.size < n:
            buf = self.local.buf = np.empty(n, np.uint8)
        return buf[:n]

    def __call__(self, raw: np.ndarray, pos: int) -> None:
        got = self._buffer(raw.nbytes)
        mv, at = memoryview(got), self.t.offset + pos
        while mv.nbytes:
            n = os.preadv(self.fd, [mv], at)
            if n <= 0:
                raise ValueError(f"{self.t.path}: tensor {self.t.name!r} is truncated")
            mv, at = mv[n:], at + n
        wide = np.dtype(np.uint64) if raw.nbytes % 8 == 0 else np.dtype(np.uint8)
        if np.array_equal(raw.view(wide), got.view(wide)):
            return
        item = np.dtype(f"u{self.t.dtype.itemsize}")
        bad = np.flatnonzero(raw.view(item) != got.view(item))
        with self.lock:
            self.differ += bad.size
            first = pos // item.itemsize + int(bad[0])
            self.first = first if self.first is None else min(self.first, first)

    def check(self, label: str) -> TensorCheck:
        t = self.t
        if not self.differ:
            return TensorCheck(t.name, label, t.shape, t.label, "OK")
        n = "1 element differs" if self.differ == 1 else f"{self.differ} elements differ"
        return TensorCheck(t.name, label, t.shape, t.label, "MISMATCH",
                           f"{n}, the first at flat index {self.first} of {t.size}")


def _header_check(t: StoredTensor, src: TensorSource, label: str) -> TensorCheck | None:
    if t.dtype is None or t.dtype != src.dtype:
        return TensorCheck(t.name, label, t.shape, t.label, "MISMATCH",
                           f"dtype {t.label}, the spec says {dtype_name(src.dtype)}")
    if t.shape != src.shape or t.fortran_order and len(t.shape) > 1:
        return TensorCheck(t.name, label, t.shape, t.label, "MISMATCH",
                           f"shape {list(t.shape)}, the spec says {list(src.shape)}"
                           if t.shape != src.shape else "stored in Fortran order")
    return None


@contextmanager
def _open(files: list[_File]) -> Iterator[dict[Path, int]]:
    fds: dict[Path, int] = {}
    try:
        for f in files:
            for t in f.tensors:
                if t.path not in fds:
                    fds[t.path] = os.open(t.path, os.O_RDONLY)
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def _compare(files: list[_File], sources: dict[str, TensorSource], threads, bar
             ) -> tuple[list[TensorCheck], int]:
    checks: list[TensorCheck | _Compare] = []
    labels: list[str] = []
    nbytes = 0
    local = threading.local()
    with BlockStreamer(threads, None if bar is None else bar.update) as st:
        with _open(files) as fds:
            for f in files:
                for t in f.tensors:
                    src = sources.get(t.name)
                    if src is None:
                        checks.append(TensorCheck(t.name, f.label, t.shape, t.label,
                                                  "UNEXPECTED", "not in the spec"))
                        continue
                    bad = _header_check(t, src, f.label)
                    if bad is not None:
                        checks.append(bad)
                        continue
                    cmp = _Compare(t, fds[t.path], local)
                    st.stream(src, cmp, 0)
                    checks.append(cmp)
                    labels.append(f.label)
                    nbytes += src.nbytes
            st.drain()
    it = iter(labels)
    return [c.check(next(it)) if isinstance(c, _Compare) else c for c in checks], nbytes


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000, desc="verify",
                file=sys.stderr, dynamic_ncols=True, mininterval=0.25, leave=False)


def verify(path, *, seed: Any = None, spec: Any = None, threads: int | None = None,
           progress: bool = False) -> VerifyReport:
    """Regenerate every tensor of a checkpoint and compare it with the stored bytes.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file, a Hugging Face directory (``model.safetensors``, or the
        shards ``model.safetensors.index.json`` lists), or a directory of ``.npy`` files.
    seed : int, SeedSequence, Generator, winit.Key or None
        The model seed; None: the one the headers record (``winit.key``).
    spec : spec-like or None
        The spec (anything ``winit.load_spec`` reads, or a ``spec_from_hf_config``
        result); None: the one the headers record (``winit.spec``), checked against
        its recorded hash. Entries without a dtype take the stored one.
    threads : int or None
        Generation threads (None: all usable cores).
    progress : bool, default False
        Show a tqdm progress bar on stderr.

    Returns
    -------
    VerifyReport
        ``.ok`` is True when every stored tensor is bit for bit the regenerated one,
        no tensor of the spec is missing and none is unexpected.

    Raises
    ------
    FileNotFoundError
        No such checkpoint, or a shard the index lists is missing.
    ValueError
        A damaged index or header (naming the file and the field), or a checkpoint
        without provenance and no ``seed`` / ``spec``.
    SpecError
        An invalid ``spec``.

    Examples
    --------
    >>> report = winit.verify("TinyLlama")                          # doctest: +SKIP
    >>> report.ok, report.failures                                   # doctest: +SKIP
    (True, [])
    """
    t0 = time.perf_counter()
    path = Path(path)
    files = _stored(path)
    key, int_seed, key_given = _key(files, seed)
    shard = _SHARD.fullmatch(path.name) if path.is_file() else None
    # one shard of several: its spec is a part of the one the recorded hash is of
    specs, problems, spec_given = _spec(files, spec, shard is None or int(shard[1]) == 1)
    stored = {t.name: t for f in files for t in f.tensors}
    specs = {n: ts if ts.dtype is not None or n not in stored or stored[n].dtype is None
             else replace(ts, dtype=stored[n].dtype) for n, ts in specs.items()}
    sources = {s.name: s for s in tensor_sources(specs, seed=Key(key))}
    digest = spec_sha256({n: {**ts.to_dict(), "dtype": dtype_name(sources[n].dtype)}
                          for n, ts in specs.items()})
    bar = _progress_bar(sum(s.nbytes for n, s in sources.items() if n in stored), progress)
    try:
        checks, nbytes = _compare(files, sources, threads, bar)
    finally:
        if bar is not None:
            bar.close()
    checks += [TensorCheck(n, "", s.shape, dtype_name(s.dtype), "MISSING",
                           "in the spec, not in the checkpoint")
               for n, s in sources.items() if n not in stored]
    return VerifyReport(path, tuple(checks), key, int_seed, digest,
                        "arguments" if key_given or spec_given else "provenance",
                        tuple(problems), nbytes, time.perf_counter() - t0)

