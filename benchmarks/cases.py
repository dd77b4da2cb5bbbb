"""Every operation the benchmarks time, written once: winit's and its peers'.

A :class:`Case` is a name and ``make(size, threads)``, which does the setup (allocation,
input data, imports, thread settings) and returns the zero-argument callable to time.
``size`` is an element count for the kernels and statistics, a shape for the schemes,
``(depth, width, batch)`` for LSUV, ``(n_layer, d_model, vocab, n_ctx, dtype)`` for whole
GPT-2-shaped models and ``(destination, n_layer, d_model, vocab, n_ctx)`` for the writer
cases (a bfloat16 GPT-2-shaped checkpoint and its write limits; destination ``"tmpfs"`` or
``"disk"``). The pytest-benchmark suites (``bench_*.py``) run the cases at ``case.sizes``;
``compare.py`` times the same cases and prints the ratio tables;

    python benchmarks/cases.py NAME SIZE_JSON THREADS

runs one case once in a fresh process and prints its time and peak memory as JSON
(``_timing.run_isolated``, for compare.py's peak-RSS columns).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np
import scipy.stats

# An installed winit comes first; this checkout, built in place, works too.
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import winit  # noqa: E402
from winit import nn  # noqa: E402
from winit.hf import tinyllama_config  # noqa: E402
from winit.models import gpt2_spec  # noqa: E402
from winit.output import MEMORY_FILESYSTEMS as MEMORY_FS  # noqa: E402
from winit.output import filesystem_type  # noqa: E402

DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
          "bfloat16": ml_dtypes.bfloat16}


@dataclass(frozen=True)
class Case:
    """One timed operation: ``make(size, threads)`` sets up and returns the callable to time."""

    name: str
    make: Callable[[Any, int | None], Callable[[], object]]
    sizes: tuple = ()  # pytest-benchmark sizes
    smoke: tuple = ()  # sizes under `pytest benchmarks/ --benchmark-disable`
    threaded: bool = True  # False: `threads` changes nothing (numpy's samplers and reductions)
    needs: tuple[str, ...] = ()  # optional modules (most peers)
    tools: tuple[str, ...] = ()  # commands it runs (on PATH)
    cap: int | None = None  # slow peer: timed on at most `cap` elements, time scaled to `size`
    rounds: int | None = None  # slow case: at most this many timed runs
    warmup: int = 1  # untimed runs first
    warmup_size: Any = None  # fresh-process runs warm up (imports, pools) at this size first
    summary: Callable[[object], object] | None = None  # what a table keeps of a run's result

    def missing(self) -> list[str]:
        """The optional modules and commands this case needs that are not installed."""
        return ([m for m in self.needs if importlib.util.find_spec(m) is None]
                + [c for c in self.tools if shutil.which(c) is None])

    def measured_size(self, size):
        """The size actually timed (``cap`` elements at most)."""
        return min(size, self.cap) if self.cap else size


class Unavailable(Exception):
    """``make`` cannot run here at this size (say, no tmpfs to write to): skipped, not failed."""


CASES: dict[str, Case] = {}
GROUPS: dict[str, list[Case]] = {}


def _add(group: str, name: str, make, **kw) -> None:
    case = Case(name, make, **kw)
    CASES[name] = case
    GROUPS.setdefault(group, []).append(case)


def _torch(threads: int | None):
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch


def _limits(threads: int | None):
    """BLAS/OpenMP pools limited to ``threads`` (threadpoolctl), or nothing to limit."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


# ------------------------------------------------------------------ sampling kernels

N_SIZES, N_SMOKE = (10**6, 10**8), (10**4,)


def _winit_sampler(func: str, dtype: str):
    def make(n, threads):
        a = np.empty(n, DTYPES[dtype])
        f = getattr(winit, func)
        return lambda: f(a, seed=0, threads=threads)
    return make


def _numpy_sampler(bitgen: str, method: str, dtype: str):
    def make(n, threads):
        a = np.empty(n, DTYPES[dtype])
        f = getattr(np.random.Generator(getattr(np.random, bitgen)(0)), method)
        return lambda: f(out=a, dtype=DTYPES[dtype])
    return make


def _fill(n, threads):
    a = np.empty(n, np.float32)
    return lambda: a.fill(1.0)


def _torch_sampler(func: str, dtype: str = "float32"):
    def make(n, threads):
        torch = _torch(threads)
        x = torch.empty(n, dtype=getattr(torch, dtype))
        if func == "trunc_normal_":
            return lambda: torch.nn.init.trunc_normal_(x)
        return getattr(x, func)
    return make


_N = {"sizes": N_SIZES, "smoke": N_SMOKE}
for _f in ("normal_", "uniform_", "trunc_normal_"):
    for _d in DTYPES:
        _add("sampling", f"winit/{_f}/{_d}", _winit_sampler(_f, _d), **_N)
for _g in ("PCG64", "Philox"):
    for _m in ("standard_normal", "random"):
        for _d in ("float32", "float64"):
            _add("sampling", f"numpy/{_g}.{_m}/{_d}", _numpy_sampler(_g, _m, _d),
                 threaded=False, **_N)
_add("sampling", "ndarray.fill/float32", _fill, threaded=False, **_N)
for _f in ("normal_", "uniform_"):
    _add("sampling", f"torch/{_f}/float32", _torch_sampler(_f), needs=("torch",), **_N)
_add("sampling", "torch/normal_/bfloat16", _torch_sampler("normal_", "bfloat16"),
     needs=("torch",), **_N)
# torch's trunc_normal_ runs at about 20 M/s: timed on 1e7 elements at most, 5 runs (its
# speed here swings 17-24 M/s between runs, so a median of 2 moved the ratio by 25%)
_add("sampling", "torch/nn.init.trunc_normal_/float32", _torch_sampler("trunc_normal_"),
     needs=("torch",), cap=10**7, rounds=5, **_N)


# ------------------------------------------------------------------ statistics


@functools.lru_cache(maxsize=2)
def normal_data(n: int) -> np.ndarray:
    """The statistics' input: ``n`` float32 N(0, 1) values (numpy PCG64, seed 0), cached."""
    return np.random.default_rng(0).standard_normal(n, dtype=np.float32)


def _strided_half(a: np.ndarray) -> np.ndarray:
    """Every other element of ``a``: a 2-D view with an inner stride when it reshapes."""
    return a.reshape(-1, 1000)[:, ::2] if a.size % 1000 == 0 else a[::2]


def _winit_stats(dtype: str, view=None, **kw):
    def make(n, threads):
        a = normal_data(n).astype(DTYPES[dtype], copy=False)
        if view is not None:
            a = view(a)
        return lambda: winit.stats(a, threads=threads, **kw)
    return make


def _data_peer(op):
    def make(n, threads):
        a = normal_data(n)
        return lambda: op(a)
    return make


def _torch_moments(n, threads):
    torch = _torch(threads)
    x = torch.from_numpy(normal_data(n))
    return lambda: (torch.var_mean(x), torch.aminmax(x))


HIST = {"bins": 256, "range": (-5.0, 5.0)}


def _four_calls(a):
    return a.mean(), a.var(), a.min(), a.max()


def _histogram(a):
    return np.histogram(a, HIST["bins"], HIST["range"])


for _d in DTYPES:
    _add("stats", f"winit/stats/{_d}", _winit_stats(_d), **_N)
_add("stats", "winit/stats/float32+hist256", _winit_stats("float32", **HIST), **_N)
_add("stats", "winit/stats/float32-strided-half", _winit_stats("float32", _strided_half), **_N)
_add("stats", "numpy/sum(float64)", _data_peer(lambda a: np.sum(a, dtype=np.float64)),
     threaded=False, **_N)
_add("stats", "numpy/mean+var+min+max", _data_peer(_four_calls), threaded=False, **_N)
_add("stats", "numpy/histogram256", _data_peer(_histogram), threaded=False, rounds=2, **_N)
# scipy.stats.describe runs at about 0.06 GB/s: timed on 1e7 elements at most
_add("stats", "scipy/stats.describe", _data_peer(scipy.stats.describe), threaded=False,
     cap=10**7, rounds=2, **_N)
_add("stats", "torch/var_mean+aminmax", _torch_moments, needs=("torch",), **_N)


# ------------------------------------------------------------------ schemes

FAN_SHAPES = ((1024, 1024), (8192, 4096))
ORTHO_SHAPES = ((512, 512), (2048, 2048), (8192, 4096))
SHAPE_SMOKE = ((64, 32),)


def _winit_scheme(func: str, *args, dtype=np.float32):
    def make(shape, threads):
        a = np.empty(shape, dtype)
        f = getattr(winit, func)
        return lambda: f(a, *args, seed=0, threads=threads)
    return make


def _torch_scheme(func: str):
    def make(shape, threads):
        torch = _torch(threads)
        x = torch.empty(shape)
        f = getattr(torch.nn.init, func)
        return lambda: f(x)
    return make


def _numpy_kaiming(shape, threads):
    """He normal the numpy way: ``standard_normal`` into the array, then scale by the std."""
    a = np.empty(shape, np.float32)
    rng = np.random.default_rng(0)
    std = np.float32(math.sqrt(2.0 / math.prod(shape[1:])))

    def run():
        rng.standard_normal(out=a, dtype=np.float32)
        np.multiply(a, std, out=a)
    return run


def _numpy_qr(shape, threads):
    """Orthogonal the numpy way: QR of a Gaussian matrix with the sign correction."""
    rows, cols = shape
    rng = np.random.default_rng(0)

    def run():
        with _limits(threads):
            a = rng.standard_normal(shape, dtype=np.float32)
            tall = a if rows >= cols else a.T
            q, r = np.linalg.qr(tall)
            q *= np.sign(np.diag(r))
            return q if rows >= cols else q.T
    return run


def _registry_call(shape, threads):
    init = winit.get("he_normal")
    return lambda: init(shape, seed=0, threads=threads)


_FAN = {"sizes": FAN_SHAPES, "smoke": SHAPE_SMOKE}
for _f in ("kaiming_normal_", "kaiming_uniform_", "xavier_uniform_", "lecun_normal_"):
    _add("schemes", f"winit/{_f}", _winit_scheme(_f), **_FAN)
_add("schemes", "torch/nn.init.kaiming_normal_", _torch_scheme("kaiming_normal_"),
     needs=("torch",), **_FAN)
_add("schemes", "numpy/kaiming_normal_", _numpy_kaiming, threaded=False, **_FAN)
_ORTHO = {"sizes": ORTHO_SHAPES, "smoke": SHAPE_SMOKE, "rounds": 3, "warmup_size": (64, 32)}
_add("schemes", "winit/orthogonal_", _winit_scheme("orthogonal_"), **_ORTHO)
_add("schemes", "torch/nn.init.orthogonal_", _torch_scheme("orthogonal_"), needs=("torch",),
     **_ORTHO)
_add("schemes", "numpy/qr-orthogonal", _numpy_qr, needs=("threadpoolctl",), **_ORTHO)
for _s in (0.1, 0.9):
    _add("schemes", f"winit/sparse_({_s})", _winit_scheme("sparse_", _s),
         sizes=((2048, 2048),), smoke=SHAPE_SMOKE)
_add("schemes", "winit/dirac_", _winit_scheme("dirac_"), sizes=((512, 512, 3, 3),),
     smoke=((8, 8, 3, 3),))
_add("schemes", "winit/get('he_normal')(shape)", _registry_call, sizes=((64, 64),),
     smoke=((64, 64),))


# ------------------------------------------------------------------ LSUV on a ReLU MLP


class TorchView:
    """A torch module as a winit-LSUV layer: ``weight``/``bias`` are numpy views of its tensors."""

    def __init__(self, module, torch):
        self.module = module
        self.torch = torch
        if hasattr(module, "weight"):
            self.weight = module.weight.detach().numpy()
            self.bias = module.bias.detach().numpy() if module.bias is not None else None

    def __call__(self, x):
        with self.torch.inference_mode():
            return self.module(self.torch.from_numpy(x)).numpy()


def _lsuv_input(width: int, batch: int) -> np.ndarray:
    return winit.normal_(np.empty((batch, width), np.float32), seed=0)


def _torch_mlp(torch, depth: int, width: int, orthogonal: bool = False):
    """torch's default-initialized ReLU MLP with zero biases (orthogonal weights if asked)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(*[m for _ in range(depth)
                                  for m in (torch.nn.Linear(width, width), torch.nn.ReLU())])
    torch.manual_seed(1)
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.bias.zero_()
                if orthogonal:
                    torch.nn.init.orthogonal_(m.weight)
    return model


def _lsuv_torch(peer: bool, loop_only: bool, adapter: bool = False):
    """LSUV of a torch MLP: the PyPI ``lsuv`` peer, ``winit.lsuv_`` on numpy views, or
    (``adapter``) ``winit.torch.lsuv_`` on the model itself (forward hooks).

    ``loop_only``: both skip the orthogonal pre-init and start every run from the same
    orthogonal weights, restored first: the layer loop alone.
    """

    def make(size, threads):
        depth, width, batch = size
        torch = _torch(threads)
        x = _lsuv_input(width, batch)
        model = _torch_mlp(torch, depth, width, orthogonal=loop_only)
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        saved = [m.weight.detach().clone() for m in linears]
        views = [TorchView(m, torch) for m in model]
        xt = torch.from_numpy(x)
        if peer:
            import lsuv as lsuv_pkg

        def run():
            if loop_only:
                with torch.no_grad():
                    for m, w in zip(linears, saved, strict=True):
                        m.weight.copy_(w)
            with _limits(threads):
                if adapter:  # (`import winit.torch` here would make `winit` a local name)
                    from winit import torch as winit_torch

                    return winit_torch.lsuv_(model, xt, orthogonal=not loop_only, seed=0)
                if not peer:
                    return winit.lsuv_(views, x, orthogonal=not loop_only, seed=0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return lsuv_pkg.lsuv_with_singlebatch(model, xt, do_orthonorm=not loop_only,
                                                          verbose=False)
        return run
    return make


def _lsuv_winit_nn(size, threads):
    depth, width, batch = size
    x = _lsuv_input(width, batch)
    net = nn.Sequential(*[m for k in range(depth) for m in (nn.Linear(width, width, seed=k),
                                                            nn.ReLU())])
    for layer in net:
        if hasattr(layer, "bias"):
            layer.bias[:] = 0

    def run():
        with _limits(threads):
            return winit.lsuv_(net, x, seed=0)
    return run


def _torch_convnet(torch, hw: int):
    """4 conv layers 3 -> 32 -> 64 -> 64 -> 64 (3x3, padding 1, ReLU; 2x2 max-pool after the
    2nd and 4th) and a Linear head to 10 classes: torch's default init with zero biases."""
    torch.manual_seed(0)
    chans, layers = (3, 32, 64, 64, 64), []
    for i in range(4):
        layers += [torch.nn.Conv2d(chans[i], chans[i + 1], 3, padding=1), torch.nn.ReLU()]
        if i % 2:
            layers.append(torch.nn.MaxPool2d(2))
    model = torch.nn.Sequential(*layers, torch.nn.Flatten(),
                                torch.nn.Linear(64 * (hw // 4) ** 2, 10))
    with torch.no_grad():
        for m in model:
            if getattr(m, "bias", None) is not None:
                m.bias.zero_()
    return model


def _lsuv_convnet(impl: str):
    """LSUV (orthogonal pre-init included) of :func:`_torch_convnet` on ``(batch, 3, hw, hw)``
    N(0, 1) images, ``size = (batch, hw)``: ``impl`` "peer" (PyPI ``lsuv``), "views"
    (``winit.lsuv_`` on numpy views) or "hooks" (``winit.torch.lsuv_``)."""

    def make(size, threads):
        batch, hw = size
        torch = _torch(threads)
        model = _torch_convnet(torch, hw)
        x = winit.normal_(np.empty((batch, 3, hw, hw), np.float32), seed=0)
        xt = torch.from_numpy(x)
        views = [TorchView(m, torch) for m in model]
        if impl == "peer":
            import lsuv as lsuv_pkg
        if impl == "hooks":
            from winit.torch import lsuv_ as torch_lsuv_

        def run():
            with _limits(threads):
                if impl == "hooks":
                    return torch_lsuv_(model, xt, seed=0)
                if impl == "views":
                    return winit.lsuv_(views, x, seed=0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return lsuv_pkg.lsuv_with_singlebatch(model, xt, verbose=False)
        return run
    return make


_LSUV = {"sizes": ((20, 1024, 512),), "smoke": ((3, 32, 16),), "rounds": 3}
_PEER = {**_LSUV, "needs": ("torch", "lsuv", "threadpoolctl"), "rounds": 2, "warmup": 0}
_OURS = {**_LSUV, "needs": ("torch", "threadpoolctl"),
         "summary": lambda report: report.converged}
_add("lsuv", "lsuv(PyPI)/torch", _lsuv_torch(peer=True, loop_only=False), **_PEER)
_add("lsuv", "winit.lsuv_/torch", _lsuv_torch(peer=False, loop_only=False), **_OURS)
_add("lsuv", "lsuv(PyPI)/torch/loop-only", _lsuv_torch(peer=True, loop_only=True), **_PEER)
_add("lsuv", "winit.lsuv_/torch/loop-only", _lsuv_torch(peer=False, loop_only=True), **_OURS)
_add("lsuv", "winit.torch.lsuv_", _lsuv_torch(peer=False, loop_only=False, adapter=True),
     **_OURS)
_add("lsuv", "winit.torch.lsuv_/loop-only", _lsuv_torch(peer=False, loop_only=True, adapter=True),
     **_OURS)
_add("lsuv", "winit.lsuv_/winit.nn", _lsuv_winit_nn, needs=("threadpoolctl",),
     **{**_LSUV, "summary": _OURS["summary"]})
_CONV = {"sizes": ((64, 32),), "smoke": ((2, 8),)}
_add("lsuv", "lsuv(PyPI)/torch-convnet", _lsuv_convnet("peer"), **{**_PEER, **_CONV})
_add("lsuv", "winit.lsuv_/torch-convnet", _lsuv_convnet("views"), **{**_OURS, **_CONV})
_add("lsuv", "winit.torch.lsuv_/convnet", _lsuv_convnet("hooks"), **{**_OURS, **_CONV})


# ------------------------------------------------------------------ whole models to .safetensors


def model_path() -> str:
    """Where the model cases write: this process's file in $WINIT_BENCH_DIR (or the temp dir)."""
    d = os.environ.get("WINIT_BENCH_DIR") or tempfile.gettempdir()
    return os.path.join(d, f"winit-bench-{os.getpid()}.safetensors")


def _winit_model(size, threads):
    *gpt2, dtype = size
    spec, out = gpt2_spec(*gpt2), model_path()

    def run():
        winit.init_model(spec, out, seed=0, dtype=dtype, threads=threads, progress=False,
                         overwrite=True)
        return os.path.getsize(out)
    return run


def _torch_model(size, threads):
    """torch.nn.init on every tensor, then safetensors.torch.save_file and an fsync."""
    from safetensors.torch import save_file

    torch = _torch(threads)
    *gpt2, dtype = size
    spec, out = gpt2_spec(*gpt2), model_path()
    tdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]

    def run():
        torch.manual_seed(0)
        tensors = {}
        for name, e in spec.items():
            t = torch.empty(e["shape"], dtype=tdtype)
            if e["init"] == "normal":
                torch.nn.init.normal_(t, 0.0, e["std"])
            elif e["init"] == "zeros":
                torch.nn.init.zeros_(t)
            else:
                torch.nn.init.ones_(t)
            tensors[name] = t
        save_file(tensors, out, metadata={"format": "pt"})
        fd = os.open(out, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        return os.path.getsize(out)
    return run


_MODEL = {"sizes": ((12, 768, 50257, 1024, "bfloat16"),),
          "smoke": ((2, 64, 1000, 64, "float32"),), "rounds": 2, "summary": int}
_add("models", "winit/init_model", _winit_model, **_MODEL)
_add("models", "torch/nn.init+save_file", _torch_model, needs=("torch", "safetensors"), **_MODEL)


# ------------------------------------------------------------------ the writer and the write limit

WRITE_PIECE = 16 << 20  # bytes per os.write call of the limit cases (dd's bs=16M)
def fs_type(path: str) -> str:
    """The type of the filesystem holding ``path`` (:func:`winit.output.filesystem_type`),
    or ``"?"`` where it cannot be told (no /proc/self/mounts)."""
    return filesystem_type(path) or "?"


def _writable(d: str | None) -> bool:
    return bool(d) and os.path.isdir(d) and os.access(d, os.W_OK)


def writer_dir(dest: str) -> str | None:
    """The directory the writer cases write to, or None if there is none here.

    ``"tmpfs"``: /dev/shm if it is a writable tmpfs. ``"disk"``: $WINIT_BENCH_DISK if set,
    else the first writable directory of the temporary directory, the home directory and
    the current one that is not in memory (tmpfs, ramfs).
    """
    if dest == "tmpfs":
        return "/dev/shm" if _writable("/dev/shm") and fs_type("/dev/shm") == "tmpfs" else None
    if dest != "disk":
        raise ValueError(f"destination {dest!r}: 'tmpfs' or 'disk'")
    if os.environ.get("WINIT_BENCH_DISK"):
        return os.environ["WINIT_BENCH_DISK"]
    for d in (tempfile.gettempdir(), os.path.expanduser("~"), os.getcwd()):
        if _writable(d) and fs_type(d) not in MEMORY_FS:
            return d
    return None


class FileWrite:
    """A timed write of the file ``path``: calling it writes and returns the bytes written;
    :meth:`reset` removes the file, untimed, before and after each timed call, so that no
    call pays for freeing the pages of the one before."""

    def __init__(self, path: str, write: Callable[[str], int]):
        self.path, self._write = path, write

    def __call__(self) -> int:
        return self._write(self.path)

    def reset(self, *_) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _writer_setup(size, tag: str) -> tuple[dict, int, str]:
    """(the bfloat16 spec, its tensor bytes, this process's file in the destination)."""
    dest, *gpt2 = size
    d = writer_dir(dest)
    if d is None:
        raise Unavailable(f"no writable {dest} directory here")
    spec = gpt2_spec(*gpt2)
    nbytes = 2 * sum(math.prod(e["shape"]) for e in spec.values())
    return spec, nbytes, os.path.join(d, f"winit-bench-writer-{tag}-{os.getpid()}")


def _winit_writer(size, threads):
    """winit.init_model of a bfloat16 GPT-2-shaped spec into the destination (fsynced and
    published under its name, as always); the result: the file's bytes."""
    spec, _, path = _writer_setup(size, "winit")

    def write(out):
        winit.init_model(spec, out, dtype="bfloat16", threads=threads, progress=False,
                         overwrite=True)
        return os.path.getsize(out)
    return FileWrite(path + ".safetensors", write)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data[:WRITE_PIECE]):]


@functools.lru_cache(maxsize=1)
def ready_buffer(nbytes: int) -> np.ndarray:
    """``nbytes`` bytes in memory, every page touched (shared by the limit cases)."""
    return np.full(nbytes, 0x3F, np.uint8)


def _os_write(fsync: bool):
    """The write limit: os.write of a ready buffer (the spec's tensor bytes, in memory and
    touched beforehand) in 16 MiB calls to a new file, then (``fsync``) os.fsync."""

    def make(size, threads):
        _, nbytes, path = _writer_setup(size, "fsync" if fsync else "write")
        buf = ready_buffer(nbytes)

        def write(out):
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, memoryview(buf))
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            return nbytes
        return FileWrite(path, write)
    return make


def _dd(size, threads):
    """The write limit as coreutils measures it: ``dd if=/dev/zero bs=16M conv=fsync`` of
    the spec's tensor bytes (rounded up to 16 MiB)."""
    _, nbytes, path = _writer_setup(size, "dd")
    count = -(-nbytes // WRITE_PIECE)

    def write(out):
        subprocess.run(["dd", "if=/dev/zero", f"of={out}", f"bs={WRITE_PIECE}", f"count={count}",
                        "conv=fsync", "status=none"], check=True)
        return os.path.getsize(out)
    return FileWrite(path, write)


# compare.py times them interleaved (one warm-up round, then rounds of all four)
_WRITER = {"sizes": (("tmpfs", 12, 768, 50257, 1024), ("disk", 12, 768, 50257, 1024)),
           "smoke": (("tmpfs", 2, 64, 1000, 64), ("disk", 2, 64, 1000, 64)), "rounds": 5,
           "summary": int}
_add("writer", "winit/init_model(bf16)", _winit_writer, **_WRITER)
_add("writer", "os.write", _os_write(fsync=False), threaded=False, **_WRITER)
_add("writer", "os.write+fsync", _os_write(fsync=True), threaded=False, **_WRITER)
_add("writer", "dd conv=fsync", _dd, threaded=False, tools=("dd",), **_WRITER)


# ------------------------------------------------------------------ Hugging Face checkpoints

#: Configurations of the "hf" cases (a case's size is one of these names).
HF_CONFIGS = {
    "tinyllama": tinyllama_config(),
    "tiny-llama": {**tinyllama_config(), "vocab_size": 1000, "hidden_size": 64,
                   "intermediate_size": 176, "num_hidden_layers": 2,
                   "num_attention_heads": 4, "num_key_value_heads": 2},
}


def hf_dir(name: str) -> str:
    """Where the hf cases write: this process's directory in $WINIT_BENCH_DIR (or the temp
    dir), named after the configuration."""
    d = os.environ.get("WINIT_BENCH_DIR") or tempfile.gettempdir()
    return os.path.join(d, f"winit-bench-{name}-{os.getpid()}")


def _config_file(name: str) -> str:
    path = hf_dir(name) + ".config.json"
    with open(path, "w") as f:
        json.dump(HF_CONFIGS[name], f)
    return path


def _dir_bytes(d: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def _winit_hf(name, threads):
    """What `winit init --hf-config config.json -o DIR` runs: the spec from the config file,
    then the Hugging Face directory (config.json, shards, fsynced, published). The result:
    [bytes written, CPU seconds of the process] (as the other hf cases)."""
    cfg, out = _config_file(name), hf_dir(name)

    def run():
        cpu = time.process_time()
        spec = winit.spec_from_hf_config(cfg)
        winit.init_model(spec, out, threads=threads, progress=False, overwrite=True)
        return [_dir_bytes(out), time.process_time() - cpu]
    return run


def _transformers_hf(name, threads):
    """AutoModelForCausalLM.from_config (transformers' own init) + save_pretrained, in the
    config's dtype, every file fsynced (as winit does)."""
    import transformers

    torch = _torch(threads)
    transformers.logging.set_verbosity_error()
    cfg = transformers.AutoConfig.for_model(**HF_CONFIGS[name])
    out = hf_dir(name) + "-transformers"

    dtype = getattr(torch, HF_CONFIGS[name]["torch_dtype"])

    def run():
        cpu = time.process_time()
        model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=dtype)
        model.save_pretrained(out)
        for f in os.listdir(out):
            fd = os.open(os.path.join(out, f), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        return [_dir_bytes(out), time.process_time() - cpu]
    return run


def _winit_verify(name, threads):
    """winit.verify of the directory _winit_hf writes (written first, untimed)."""
    out = hf_dir(name)
    winit.init_model(winit.spec_from_hf_config(HF_CONFIGS[name]), out, progress=False,
                     overwrite=True)

    def run():
        cpu = time.process_time()
        report = winit.verify(out, threads=threads)
        return [report.ok, report.nbytes, time.process_time() - cpu]
    return run


def _transformers_load(name, threads):
    """AutoModelForCausalLM.from_pretrained of the directory _winit_hf writes (written first,
    untimed); the result: the numbers of missing, unexpected and mismatched keys."""
    import transformers

    _torch(threads)
    transformers.logging.set_verbosity_error()
    out = hf_dir(name)
    winit.init_model(winit.spec_from_hf_config(HF_CONFIGS[name]), out, progress=False,
                     overwrite=True)

    def run():
        _, info = transformers.AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
        return [len(info[k]) for k in ("missing_keys", "unexpected_keys", "mismatched_keys")]
    return run


# compare.py runs them in fresh processes (time and peak RSS), once each
_HF = {"sizes": ("tinyllama",), "smoke": ("tiny-llama",), "rounds": 1, "warmup": 0,
       "warmup_size": "tiny-llama", "summary": lambda r: r}
_add("hf", "winit/init --hf-config", _winit_hf, **_HF)
_add("hf", "transformers/from_config+save_pretrained", _transformers_hf,
     needs=("torch", "transformers"), **_HF)
_add("hf", "winit/verify", _winit_verify, **_HF)
_add("hf", "transformers/from_pretrained", _transformers_load, needs=("torch", "transformers"),
     **_HF)


if __name__ == "__main__":
    from _timing import isolated_main

    isolated_main(CASES, sys.argv[1:])
