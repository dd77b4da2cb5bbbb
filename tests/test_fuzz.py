"""Property-based fuzzing of winit's public functions (issue 15: every input answered).

Every public entry point is called on random inputs: dtypes of every numpy kind, shapes
(0-d, empty, huge products), memory layouts and views (C, Fortran, transposed, negative
and gappy strides, unaligned, broadcast, self-overlapping), parameters (NaN, +-inf,
extremes, numpy scalars, 0-d arrays, wrong types), seeds, offsets and thread counts.
Each call must either

- raise the documented exception type (``TypeError`` or ``ValueError``) with a message
  naming the argument at fault, having written nothing, or
- return a result that is finite, inside its documented bounds, bit-identical to the
  same call on a fresh C-contiguous array, and written only inside the view it was given.

The tests predict, from the documented contract alone, which faults an input has
(``Fault``: the exception type and a pattern naming the argument): a call must raise one
of them when there is one, and may raise only those or a documented domain error
(``allowed``) otherwise.

CI runs a bounded, derandomized number of examples per test (``EXAMPLES``, a few multiples
for the tests with many parameters; the file takes well under a minute); ``pytest
--fuzz-long`` or ``WINIT_FUZZ_LONG=1`` runs ``LONG_FACTOR`` times as many from fresh random
seeds (minutes) and prints, per test, how its calls were answered (``WINIT_FUZZ_STATS=1``
prints that in CI mode too). A failure prints its ``@reproduce_failure`` blob. The bugs the
suite found have deterministic probes at the end of the file.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import winit
from winit import nn
from winit.spec import SpecError, TensorSpec

# --------------------------------------------------------------------------- settings

#: Examples per test in CI mode; long mode runs LONG_FACTOR times as many.
EXAMPLES = 60
LONG_FACTOR = 50


@pytest.fixture(scope="session")
def fuzz(request):
    """``fuzz(n)``: the hypothesis settings for a test of ``n`` CI examples."""
    long = (request.config.getoption("--fuzz-long", default=False)
            or os.environ.get("WINIT_FUZZ_LONG", "") == "1")

    def make(n: int = EXAMPLES, shrink: bool = True) -> settings:
        return settings(max_examples=n * LONG_FACTOR if long else n, derandomize=not long,
                        deadline=None, database=None, print_blob=True,
                        suppress_health_check=list(HealthCheck),
                        phases=list(Phase) if shrink else [Phase.explicit, Phase.generate])
    return make


#: How the calls of the running test were answered (an error's kind, or "answered").
TALLY: Counter = Counter()


@pytest.fixture(autouse=True)
def tally(request):
    """In long mode (or with WINIT_FUZZ_STATS=1), print how each test's calls were answered."""
    TALLY.clear()
    yield
    long = (request.config.getoption("--fuzz-long", default=False)
            or os.environ.get("WINIT_FUZZ_LONG", "") == "1")
    if (long or os.environ.get("WINIT_FUZZ_STATS", "") == "1") and TALLY:
        lines = [f"{request.node.name}: {sum(TALLY.values())} calls"]
        lines += [f"  {n:6d}  {what}" for what, n in TALLY.most_common()]
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))


def chance(draw, n: int) -> bool:
    """True once in ``n`` draws (hypothesis favours the first element: that is False)."""
    return draw(st.sampled_from(range(n))) == n - 1


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Fault:
    """An error an input calls for: its type and a pattern its message must contain."""

    exc: type
    pattern: str

    def matches(self, exc: BaseException) -> bool:
        return isinstance(exc, self.exc) and re.search(self.pattern, str(exc)) is not None


def param_fault(name: str, kind: str) -> Fault:
    """The fault of a bad real parameter ``name`` (see check_finite_param)."""
    word = rf"(?<![\w.]){re.escape(name)}"
    return {"type": Fault(TypeError, rf"{word} must be a real number"),
            "nan": Fault(ValueError, rf"{word} must not be NaN"),
            "inf": Fault(ValueError, rf"{word} must be finite"),
            "neg": Fault(ValueError, rf"{word} must be >= 0")}[kind]


def outcome(call, faults: list[Fault], allowed: list[Fault] = ()):
    """Run ``call()``: ``(result, exception, warnings)``, checking the contract.

    With ``faults`` the call must raise one of them; without, it may raise only an
    ``allowed`` error. Anything else (another type, a message naming nothing expected,
    an OverflowError, a RuntimeWarning turned error) fails the test.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = call()
        except (TypeError, ValueError) as exc:
            if any(f.matches(exc) for f in [*faults, *allowed]):
                TALLY[f"{type(exc).__name__}: "
                      f"{re.sub(r'[-+.0-9e]{3,}|<.*>', '#', str(exc))[:70]}"] += 1
                return None, exc, caught
            raise AssertionError(f"unexpected {type(exc).__name__}: {exc}\n"
                                 f"predicted faults: {faults}\nallowed: {allowed}") from exc
    assert not faults, f"accepted an input with faults {faults}"
    TALLY["answered"] += 1
    return result, None, caught


# --------------------------------------------------------------------------- dtypes

BF16 = np.dtype(ml_dtypes.bfloat16)
FLOATS = [np.dtype(np.float16), BF16, np.dtype(np.float32), np.dtype(np.float64)]
OTHER_DTYPES = [np.dtype(d) for d in (
    bool, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.longdouble, np.complex64, np.complex128, "M8[ns]", "m8[s]", "S3", "U2", "V4",
    [("x", "<f4")], ml_dtypes.float8_e4m3fn, ml_dtypes.int4, object)]
BIG_ENDIAN = [np.dtype(">f2"), np.dtype(">f4"), np.dtype(">f8")]
_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def fmax(dt: np.dtype) -> float:
    return float(ml_dtypes.finfo(dt).max)


def to_dtype(x: float, dt: np.dtype) -> float:
    """``x`` rounded to ``dt`` (inf beyond its range), as a float."""
    with np.errstate(over="ignore"):
        return float(np.array(x, np.float64).astype(dt))


def step(x: float, dt: np.dtype, up: bool) -> float:
    """The neighbour above (``up``) or below ``x``, a finite value of ``dt``, in ``dt``."""
    u_t = _UINT[dt.itemsize]
    sign = 1 << (8 * dt.itemsize - 1)
    u = int(np.array(x, dt).view(u_t))
    if x == 0:
        u = 1 if up else sign | 1
    elif (x > 0) == up:
        u += 1
    else:
        u -= 1
    with np.errstate(over="ignore"):
        return float(np.array(u, u_t).view(dt))


def ceil_to(x: float, dt: np.dtype) -> float:
    """Smallest value of ``dt`` >= x (x within the dtype's range)."""
    v = to_dtype(x, dt)
    while v < x:
        v = step(v, dt, True)
    while step(v, dt, False) >= x:
        v = step(v, dt, False)
    return v


def floor_to(x: float, dt: np.dtype, strict: bool = False) -> float:
    """Largest value of ``dt`` <= x (< x when ``strict``)."""
    v = to_dtype(x, dt)
    while v > x or (strict and v >= x):
        v = step(v, dt, False)
    while (n := step(v, dt, True)) < x or (not strict and n == x):
        v = n
    return v


def ulp(x: float, dt: np.dtype) -> float:
    """The gap above ``|x|`` rounded to ``dt`` (inf at the top of the range)."""
    v = to_dtype(abs(x), dt)
    return step(v, dt, True) - v if v < fmax(dt) else math.inf


def bits(a) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def as_f64(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


# --------------------------------------------------------------------------- parameters

TYPE_ERROR = object()  # effective value of a parameter of the wrong type


@dataclass
class Param:
    """A parameter as passed (``value``) and the real number it means (``eff``).

    ``eff`` is a float (possibly NaN or infinite), or TYPE_ERROR for a value that is not
    a real number.
    """

    value: Any
    eff: Any
    huge_int: bool = False  # an int beyond float64's range: never a bound at infinity

    def kind(self, nonneg: bool = False, inf_ok: bool = False) -> str | None:
        """The fault kind of a real parameter: "type", "nan", "inf", "neg" or None."""
        if self.eff is TYPE_ERROR:
            return "type"
        if math.isnan(self.eff):
            return "nan"
        if math.isinf(self.eff) and (self.huge_int or not inf_ok):
            return "inf"
        if nonneg and self.eff < 0:
            return "neg"
        return None

    def __repr__(self) -> str:
        return f"{self.value!r}{'' if self.eff is TYPE_ERROR else f' (= {self.eff!r})'}"


EXTREMES = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-3, 65504.0, 65520.0, -65504.0, 3.3895314e38,
            3.4028235e38, 3.5e38, 1e308, 1.7976931348623157e308, -1.7976931348623157e308,
            5e-324, 1e-45, 6e-8, 1e-300, 1e154, 1e30, math.nan, math.inf, -math.inf]
BAD_TYPES = [None, "1.0", b"1", 1j, np.complex128(1), [1.0], (1.0,), np.array([1.0]),
             np.array(1j), np.array("1"), True, np.bool_(False), Decimal("1"),
             np.datetime64(1, "s"), {"x": 1}]


def _wrap(x: float, how: str) -> Param:
    """Param for the real ``x`` passed as a Python float, numpy scalar or 0-d array."""
    with np.errstate(over="ignore", invalid="ignore"):
        if how == "f64":
            v = np.float64(x)
        elif how == "f32":
            v = np.float32(x)
        elif how == "f16":
            v = np.float16(x)
        elif how == "bf16":
            v = ml_dtypes.bfloat16(x)
        elif how == "0d":
            v = np.array(x, np.float32)
        elif how == "0d64":
            v = np.array(x)
        elif how == "int" and math.isfinite(x) and x == int(x) and abs(x) < 2**62:
            v = np.int64(int(x)) if abs(x) < 2**31 else int(x)
        elif how == "frac" and math.isfinite(x):
            v = Fraction(x)
        else:
            v = x
        return Param(v, float(np.asarray(v, dtype=np.float64)) if not isinstance(v, Fraction)
                     else float(v))


@st.composite
def reals(draw, lo: float = -10.0, hi: float = 10.0, ordinary: int = 12):
    """A real parameter: ``ordinary`` in ``ordinary + 8`` draws a value in [lo, hi], the
    others extremes (NaN, infinities, range limits), any float, a huge int or a bad type."""
    kind = draw(st.sampled_from(["ordinary"] * ordinary + ["extreme"] * 3 + ["any"] * 2
                                + ["int", "bad", "bad"]))
    if kind == "ordinary":
        x = draw(st.floats(lo, hi))
    elif kind == "extreme":
        x = draw(st.sampled_from(EXTREMES))
    elif kind == "any":
        x = draw(st.floats(allow_nan=True, allow_infinity=True))
    elif kind == "int":
        n = draw(st.sampled_from([7, 2**63, 2**64, 10**400, -(10**400), 2**1024]))
        if abs(n) < 2**1024:
            return Param(n, float(n))
        return Param(n, math.inf if n > 0 else -math.inf, huge_int=True)
    else:
        return Param(draw(st.sampled_from(BAD_TYPES)), TYPE_ERROR)
    how = draw(st.sampled_from(["py"] * 6 + ["f64", "f32", "f16", "bf16", "0d", "0d64", "int",
                                             "frac"]))
    return _wrap(x, how)


# --------------------------------------------------------------------------- keywords


@dataclass
class Common:
    """The keyword arguments ``seed``, ``offset`` and ``threads`` of a call, and their faults."""

    seed: Any
    make_seed: Any  # () -> an equal, fresh seed object; None when not reproducible
    seed_fault: Fault | None
    offset: Any
    offset_fault: Fault | None
    threads: Any
    threads_fault: Fault | None

    def kwargs(self, fresh: bool = False) -> dict:
        seed = self.make_seed() if fresh and self.make_seed is not None else self.seed
        return {"seed": seed, "offset": self.offset, "threads": self.threads}

    def faults(self, *, seed: bool = True, offset: bool = True, threads: bool = True,
               size: int | None = None) -> list[Fault]:
        """The faults of the checked keywords; ``size``: also offset + size > 2**64."""
        out = []
        if seed and self.seed_fault:
            out.append(self.seed_fault)
        if offset and self.offset_fault:
            out.append(self.offset_fault)
        if threads and self.threads_fault:
            out.append(self.threads_fault)
        if (offset and size and self.offset_fault is None
                and int(self.offset) + size > 2**64):
            out.append(Fault(ValueError, r"offset \+ tensor.size exceeds 2\*\*64"))
        return out


@st.composite
def commons(draw):
    k = draw(st.sampled_from([0, 1, 7, 2**32, 2**63, 2**64 - 1, 2**200]))
    seeds = [
        (k, lambda: k, None),
        (np.uint64(k % 2**64), lambda: np.uint64(k % 2**64), None),
        (winit.Key(k % 2**64), lambda: winit.Key(k % 2**64), None),
        (np.random.SeedSequence(k), lambda: np.random.SeedSequence(k), None),
        (np.random.default_rng(k), lambda: np.random.default_rng(k), None),
        (None, None, None),
        (-1 - k, None, Fault(ValueError, r"seed must be a non-negative integer")),
        (True, None, Fault(TypeError, r"seed must be")),
        (1.5, None, Fault(TypeError, r"seed must be")),
        ("7", None, Fault(TypeError, r"seed must be")),
        (np.array(3), None, Fault(TypeError, r"seed must be")),
    ]
    bad = chance(draw, 10)
    seed, make_seed, seed_fault = draw(st.sampled_from(seeds[6:] if bad else seeds[:6]))
    which = draw(st.sampled_from(range(20)))
    if which < 10:
        offset = 0
    elif which < 15:
        offset = draw(st.integers(0, 10**6))
    elif which < 17:
        offset = draw(st.sampled_from([np.uint64(5), np.int32(3), 2**63, 2**64 - 1]))
    elif which < 19:
        offset = draw(st.integers(2**64 - 20000, 2**64 - 1))
    else:
        offset = draw(st.sampled_from([-1, 2**64, 2**80, 1.0, "0", None, True, np.float64(0)]))
    if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, (int, np.integer)):
        offset_fault = Fault(TypeError, r"offset must be an int")
    elif not 0 <= int(offset) < 2**64:
        offset_fault = Fault(ValueError, r"offset must be in \[0, 2\*\*64\)")
    else:
        offset_fault = None
    if chance(draw, 10):
        threads = draw(st.sampled_from([0, -3, 2**31, 2**64, 1.0, "2", True]))
    else:
        threads = draw(st.sampled_from([None, 1, 2, 3, 4, np.int64(2), None, 1, 2]))
    if isinstance(threads, (bool, str, float)):
        threads_fault = Fault(TypeError, r"threads must be a positive int or None")
    elif threads is not None and threads < 1:
        threads_fault = Fault(ValueError, r"threads must be >= 1")
    elif threads is not None and threads >= 2**31:
        threads_fault = Fault(ValueError, r"threads must be at most")
    else:
        threads_fault = None
    return Common(seed, make_seed, seed_fault, offset, offset_fault, threads, threads_fault)


# --------------------------------------------------------------------------- arrays and views

SENTINEL = 0xA5
NOT_ARRAYS = [lambda: [1.0, 2.0], lambda: 1.0, lambda: None, lambda: "abc",
              lambda: np.float32(1), lambda: memoryview(bytearray(8)), lambda: (np.zeros(2),)]


@dataclass
class Tensor:
    """An array argument: the object passed, its faults, and the buffer under it."""

    value: Any
    faults: list[Fault]
    allowed: list[Fault] = field(default_factory=list)
    base: np.ndarray | None = None  # uint8 buffer the view lives in
    covered: np.ndarray | None = None  # bool mask of the bytes the view's elements cover
    before: bytes | None = None

    @property
    def ok(self) -> bool:
        return not self.faults

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size if isinstance(self.value, np.ndarray) else 0

    def fresh(self) -> np.ndarray:
        return np.empty(self.shape, self.dtype)

    def check_untouched(self, failed: bool) -> None:
        """Bytes outside the view unchanged; after an error, no byte changed at all."""
        if self.base is None:
            return
        now = np.frombuffer(self.base.tobytes(), np.uint8)
        then = np.frombuffer(self.before, np.uint8)
        changed = now != then
        if failed:
            assert not changed.any(), "an input that raised was written to"
        else:
            assert not (changed & ~self.covered).any(), "bytes outside the view were written"


def _element_offsets(shape, strides) -> np.ndarray:
    off = np.zeros(shape, np.int64)
    for axis, (n, s) in enumerate(zip(shape, strides, strict=True)):
        idx = [1] * len(shape)
        idx[axis] = n
        off = off + (np.arange(n, dtype=np.int64) * s).reshape(idx)
    return off.ravel()


@st.composite
def shapes(draw, min_dims: int = 0, max_dims: int = 4, big: bool = True):
    """Mostly small shapes; sometimes one axis long enough for several kernel blocks."""
    dims = draw(st.lists(st.integers(0, 5), min_size=min_dims, max_size=max_dims))
    if big and dims and chance(draw, 10):
        dims[draw(st.integers(0, len(dims) - 1))] = draw(st.integers(6, 9000))
        assume(math.prod(dims) <= 20000)
    return tuple(dims)


@st.composite
def tensors(draw, min_dims: int = 0, max_dims: int = 4, name: str = "tensor",
            writable: bool = True, floats_only: bool = False, shape=None, dtype=None,
            huge: bool = True):
    """An array argument of any dtype, layout and view (or something that is not one)."""
    kind = draw(st.sampled_from(range(40)))
    word = rf"(?<![\w.]){name}"
    if kind == 39 and not floats_only:
        value = draw(st.sampled_from(NOT_ARRAYS))()
        return Tensor(value, [Fault(TypeError, rf"{word} must be a numpy.ndarray")])
    if dtype is None:
        if kind >= 35 and not floats_only:
            dtype = draw(st.sampled_from(OTHER_DTYPES + BIG_ENDIAN))
        else:
            dtype = draw(st.sampled_from(FLOATS))
    dtype = np.dtype(dtype)
    if shape is None:
        shape = draw(shapes(min_dims, max_dims))
    faults: list[Fault] = []
    if dtype in BIG_ENDIAN:
        faults.append(Fault(TypeError, rf"{word} has non-native byte order.*byte-swap first"))
    elif dtype not in FLOATS:
        faults.append(Fault(TypeError, rf"{word} has unsupported dtype"))
    if dtype.kind == "O":
        return Tensor(np.empty(shape, dtype), faults)
    item = dtype.itemsize
    layout = draw(st.sampled_from(["C", "C", "F", "perm", "slice", "gaps", "unaligned",
                                   "random", "broadcast"] + (["huge"] if huge else [])))
    ndim = len(shape)
    if layout == "huge" and ndim:
        # a huge product over zero strides: no memory, every element the same bytes
        shape = tuple(draw(st.sampled_from([2**31, 3, 2**40])) for _ in shape)
        assume(math.prod(shape) * item < 2**62)
        strides = (0,) * ndim
    else:
        c = [item * math.prod(shape[k + 1:]) for k in range(ndim)]
        if layout == "F":
            strides = [item * math.prod(shape[:k]) for k in range(ndim)]
        elif layout == "perm":
            perm = draw(st.permutations(range(ndim)))
            inner = [shape[p] for p in perm]
            cs = [item * math.prod(inner[k + 1:]) for k in range(ndim)]
            strides = [0] * ndim
            for k, p in enumerate(perm):
                strides[p] = cs[k]
        elif layout in ("slice", "gaps"):
            steps = [draw(st.sampled_from([1, 2, 3, -1, -2])) if layout == "slice" else 1
                     for _ in shape]
            pads = [draw(st.integers(0, 2)) if layout == "gaps" else 0 for _ in shape]
            outer = [n * abs(s) + p for n, s, p in zip(shape, steps, pads, strict=True)]
            cs = [item * math.prod(outer[k + 1:]) for k in range(ndim)]
            strides = [c_ * s for c_, s in zip(cs, steps, strict=True)]
        elif layout == "random":
            strides = [draw(st.integers(-3 * item, 3 * item)) * draw(st.sampled_from([1, 1, 7]))
                       for _ in shape]
        elif layout == "broadcast":
            strides = [0 if draw(st.booleans()) else s for s in c]
        else:
            strides = c
    strides = tuple(int(s) for s in strides)
    size = math.prod(shape)
    lo = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0) if size else 0
    hi = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0) if size else 0
    pad = 8
    start = pad - lo + (1 if layout == "unaligned" and item > 1 else 0)
    base = np.full(start + hi + item + pad, SENTINEL, np.uint8)
    arr = np.ndarray(shape, dtype, buffer=base, offset=start, strides=strides)
    covered = np.zeros(base.size, bool)
    allowed = []
    if size and size <= 20000:
        offs = np.sort(_element_offsets(shape, strides)) + start
        overlapping = bool(np.any(np.diff(offs) < item))
        for b in range(item):
            covered[offs + b] = True
    else:
        overlapping = size > 1
    if writable:
        if overlapping:
            faults.append(Fault(ValueError, rf"{word} has strides .* share memory"))
        else:  # the check is conservative: some non-overlapping as_strided views fail it
            allowed.append(Fault(ValueError, rf"{word} has strides .* share memory"))
        if chance(draw, 15):
            arr.flags.writeable = False
            faults.append(Fault(ValueError, rf"{word} is read-only"))
    return Tensor(arr, faults, allowed, base, covered, base.tobytes())


def fill_data(draw, t: Tensor, extreme: bool = False) -> None:
    """Write random values (NaN, infinities, zeros, subnormals too) into a float view."""
    if not t.ok or t.size == 0 or t.size > 20000:
        return
    big = 1.7e308 if extreme else 1e300
    special = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1e-40, 65504.0]
    near_max = [1.7e308, -1.7e308, 1.79e308, -1.79e308, 1e308]
    pool = draw(st.lists(st.one_of(st.floats(-10, 10), st.floats(-big, big),
                                   st.sampled_from(special + (near_max * 3 if extreme else []))),
                         min_size=1, max_size=8))
    mode = draw(st.sampled_from(["pool", "normal", "const"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    if mode == "pool":
        vals = rng.choice(np.array(pool), t.size)
    elif mode == "normal":
        vals = rng.normal(pool[0] if math.isfinite(pool[0]) else 0.0, 1.0, t.size)
    else:
        vals = np.full(t.size, pool[0])
    with np.errstate(over="ignore", invalid="ignore"):
        t.value[...] = vals.reshape(t.shape).astype(t.dtype)
    t.before = t.base.tobytes()


# --------------------------------------------------------------------------- running a fill


def run_fill(func, t: Tensor, params: dict, common: Common, faults: list[Fault],
             allowed: list[Fault] = (), *, fresh_threads: Any = 1, check=None):
    """Call ``func(t.value, **params, seed, offset, threads)`` and check the contract.

    On success: the same object returned, every value finite, ``check(values)`` (float64
    values in C order) true, the bits those of a fresh C-contiguous array filled with an
    equal seed (``threads=fresh_threads``), nothing written outside the view. An empty
    tensor warns as torch does.
    """
    result, exc, caught = outcome(lambda: func(t.value, **params, **common.kwargs()),
                                  faults + t.faults, [*allowed, *t.allowed])
    t.check_untouched(failed=exc is not None)
    if exc is not None:
        return exc
    assert result is t.value
    if t.size == 0:
        assert any("zero-element tensors is a no-op" in str(w.message) for w in caught)
        return None
    values = as_f64(t.value).ravel()
    assert np.isfinite(values).all(), "non-finite values"
    if check is not None:
        check(values)
    if common.make_seed is not None:
        fresh = t.fresh()
        kw = common.kwargs(fresh=True)
        kw["threads"] = fresh_threads if fresh_threads != "same" else common.threads
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            func(fresh, **params, **kw)
        assert bits(t.value) == bits(fresh), "differs from the fill of a fresh C array"
    return None


def in_range(values, lo: float, hi: float, *, hi_open: bool = False) -> None:
    bad = (values < lo) | ((values >= hi) if hi_open else (values > hi))
    assert not bad.any(), f"values {values[bad][:4]} outside [{lo}, {hi}{')' if hi_open else ']'}"


def equal_to(values, expected: float, dt: np.dtype) -> None:
    want = np.array(expected, np.float64).astype(dt).view(_UINT[dt.itemsize])
    got = values.astype(dt).view(_UINT[dt.itemsize])
    assert (got == want).all(), f"expected {expected!r} exactly, got {values[:4]}"


# --------------------------------------------------------------------------- primitives


def _param_faults(**params: tuple[Param, dict]) -> list[Fault]:
    out = []
    for name, (p, opts) in params.items():
        kind = p.kind(**opts)
        if kind:
            out.append(param_fault(name, kind))
    return out


def test_uniform(fuzz):
    @fuzz(2 * EXAMPLES)
    @given(t=tensors(), a=reals(), b=reals(), common=commons(), width=st.floats(0, 10))
    def check(t, a, b, common, width):
        if width and a.eff is not TYPE_ERROR and math.isfinite(a.eff) and not a.huge_int:
            b = Param(a.eff + width, a.eff + width)  # mostly a <= b
        faults = _param_faults(a=(a, {}), b=(b, {}))
        if not faults and a.eff > b.eff:
            faults.append(Fault(ValueError, r"uniform_: a must be <= b"))
        allowed = []
        bounds = None
        if not faults and t.ok and t.size:
            dt, big = t.dtype, fmax(t.dtype)
            faults += common.faults(size=t.size)
            for name, v in (("a", a.eff), ("b", b.eff)):
                if abs(v) > big:
                    faults.append(Fault(ValueError, rf"uniform_: {name}=.* outside the range"))
            if not faults and a.eff != b.eff:
                lo = ceil_to(a.eff, dt)
                if lo >= b.eff:
                    faults.append(Fault(ValueError, r"uniform_: no \S+ value lies in \[a, b\)"))
                elif not math.isfinite(b.eff - a.eff) or (
                        dt != np.float64 and b.eff - a.eff > fmax(np.float32)):
                    faults.append(Fault(ValueError, r"uniform_: b - a = .* overflows"))
            bounds = (a.eff, b.eff)
        else:
            faults += common.faults(seed=False)

        def values_ok(v):
            if bounds[0] == bounds[1]:
                equal_to(v, bounds[0], t.dtype)
            else:
                in_range(v, *bounds, hi_open=True)
        run_fill(winit.uniform_, t, {"a": a.value, "b": b.value}, common, faults, allowed,
                 check=values_ok if bounds else None)
    check()


_ZMAX = {True: 8.5717, False: 6.6604}  # the kernels' largest |z| (float64, float32 arithmetic)


def test_normal(fuzz):
    @fuzz(2 * EXAMPLES)
    @given(t=tensors(), mean=reals(), std=reals(0.0, 10.0), common=commons())
    def check(t, mean, std, common):
        faults = _param_faults(mean=(mean, {}), std=(std, {"nonneg": True}))
        allowed = []
        bounds = None
        if not faults and t.ok and t.size:
            dt, big = t.dtype, fmax(t.dtype)
            faults += common.faults(size=t.size)
            z = _ZMAX[dt == np.float64]
            reach = abs(mean.eff) + z * std.eff
            if abs(mean.eff) > big:
                faults.append(Fault(ValueError, r"normal_: mean=.* outside the range"))
            elif reach > 1.001 * big:
                faults.append(Fault(ValueError, r"normal_: std=.* outside the range"))
            elif reach > 0.999 * big:
                allowed.append(Fault(ValueError, r"normal_: std=.* outside the range"))
            spread = z * std.eff * (1 + 1e-6)
            slack = 2 * ulp(abs(mean.eff) + spread, dt)
            bounds = (mean.eff - spread - slack, mean.eff + spread + slack)
        else:
            faults += common.faults(seed=False)
        run_fill(winit.normal_, t, {"mean": mean.value, "std": std.value}, common, faults,
                 allowed, check=(lambda v: in_range(v, *bounds)) if bounds else None)
    check()


def _trunc_oracle(t: Tensor, common: Common, mean: float, std: float, a: float, b: float,
                  func: str = "trunc_normal_"):
    """Faults, allowed errors and the value check of trunc_normal_ on valid parameters."""
    faults, allowed = [], []
    if a > b:
        return [Fault(ValueError, rf"{func}: a must be <= b")], [], None
    if not (t.ok and t.size):
        return common.faults(seed=False), [], None
    dt, big = t.dtype, fmax(t.dtype)
    faults += common.faults(size=t.size)
    lo = ceil_to(max(a, -big), dt)
    hi = floor_to(min(b, big), dt)
    if hi < lo:
        faults.append(Fault(ValueError, r"trunc_normal_: no \S+ value lies in \[a, b\]"))
        return faults, [], None
    if std == 0.0:
        if abs(mean) > big:
            faults.append(Fault(ValueError, r"trunc_normal_: mean=.* outside the range"))
        elif not a <= mean <= b:
            faults.append(Fault(ValueError, r"trunc_normal_: std=0 and mean=.* outside \[a, b\]"))
    if max(abs(mean), std, abs(max(a, -big)), abs(min(b, big))) > 1e30:
        allowed.append(Fault(ValueError, r"trunc_normal_: .*overflow.* working precision"))
    if std == 0.0 or lo == hi:
        fill = min(max(mean, lo), hi)
        return faults, allowed, lambda v: equal_to(v, fill, dt)
    return faults, allowed, lambda v: in_range(v, lo, hi)


def test_trunc_normal(fuzz):
    @fuzz(2 * EXAMPLES)
    @given(t=tensors(), mean=reals(ordinary=30), std=reals(0.0, 5.0, ordinary=30),
           a=reals(ordinary=20), b=reals(ordinary=20), common=commons(), width=st.floats(0, 6))
    def check(t, mean, std, a, b, common, width):
        if width and a.eff is not TYPE_ERROR and math.isfinite(a.eff) and not a.huge_int:
            b = Param(a.eff + width, a.eff + width)  # mostly a <= b
        faults = _param_faults(mean=(mean, {}), std=(std, {"nonneg": True}),
                               a=(a, {"inf_ok": True}), b=(b, {"inf_ok": True}))
        values_ok, allowed = None, []
        if not faults:
            more, allowed, values_ok = _trunc_oracle(t, common, mean.eff, std.eff, a.eff, b.eff)
            faults += more
        else:
            faults += common.faults(seed=False)
        run_fill(winit.trunc_normal_, t, {"mean": mean.value, "std": std.value, "a": a.value,
                                          "b": b.value}, common, faults, allowed,
                 check=values_ok)
    check()


def test_truncated_normal(fuzz):
    @fuzz()
    @given(t=tensors(), mean=reals(ordinary=30), std=reals(0.0, 5.0, ordinary=30),
           lower=reals(-4, 4, ordinary=20), upper=reals(-4, 4, ordinary=20), common=commons(),
           width=st.floats(0, 6))
    def check(t, mean, std, lower, upper, common, width):
        if width and lower.eff is not TYPE_ERROR and math.isfinite(lower.eff) \
                and not lower.huge_int:
            upper = Param(lower.eff + width, lower.eff + width)  # mostly lower <= upper
        faults = _param_faults(mean=(mean, {}), std=(std, {"nonneg": True}),
                               lower=(lower, {"inf_ok": True}), upper=(upper, {"inf_ok": True}))
        values_ok, allowed = None, []
        if not faults:
            if lower.eff > upper.eff:
                faults.append(Fault(ValueError, r"truncated_normal_: lower must be <= upper"))
                faults += common.faults(seed=False)
            else:
                with np.errstate(invalid="ignore", over="ignore"):
                    a = mean.eff + lower.eff * std.eff
                    b = mean.eff + upper.eff * std.eff
                if math.isnan(a) or math.isnan(b):
                    faults.append(Fault(ValueError, r"truncated_normal_: .*lower.*upper.*std"))
                else:
                    more, allowed, values_ok = _trunc_oracle(t, common, mean.eff, std.eff, a, b)
                    faults += more
        else:
            faults += common.faults(seed=False)
        run_fill(winit.truncated_normal_, t,
                 {"mean": mean.value, "std": std.value, "lower": lower.value,
                  "upper": upper.value}, common, faults, allowed, check=values_ok)
    check()


@pytest.mark.parametrize("which", ["constant", "zeros", "ones"])
def test_constant(fuzz, which):
    @fuzz()
    @given(t=tensors(), val=reals(-1e5, 1e5), common=commons())
    def check(t, val, common):
        if which == "constant":
            func, params = winit.constant_, {"val": val.value}
            faults = _param_faults(val=(val, {}))
            v = val.eff
        else:
            func, params, faults = getattr(winit, f"{which}_"), {}, []
            v = 0.0 if which == "zeros" else 1.0
        faults += common.faults(seed=False)  # seed is accepted and ignored
        if not faults and t.ok and t.size and abs(v) > fmax(t.dtype):
            faults.append(Fault(ValueError, r"constant_: val=.* outside the range"))
        run_fill(func, t, params, common, faults,
                 check=lambda values: equal_to(values, v, t.dtype))
    check()


def test_shards_are_bit_identical(fuzz):
    """A fill split at any point, each piece at its offset, is the fill of the whole."""
    @fuzz()
    @given(dt=st.sampled_from(FLOATS), n=st.integers(1, 9000), k=st.integers(0, 9000),
           offset=st.integers(0, 2**64 - 9001), seed=st.integers(0, 2**64 - 1),
           which=st.sampled_from(["uniform_", "normal_", "trunc_normal_"]),
           threads=st.sampled_from([1, 2, 3]))
    def check(dt, n, k, offset, seed, which, threads):
        func = getattr(winit, which)
        k = min(k, n)
        whole = func(np.empty(n, dt), seed=winit.Key(seed), offset=offset, threads=threads)
        parts = np.empty(n, dt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty piece
            func(parts[:k], seed=winit.Key(seed), offset=offset, threads=1)
            func(parts[k:], seed=winit.Key(seed), offset=offset + k, threads=threads)
        assert bits(whole) == bits(parts)
    check()


# --------------------------------------------------------------------------- fans and gains

LAYOUT_AXES = {"torch": (1, 0), "torch_transposed": (0, 1), "keras": (-2, -1), "jax": (-2, -1)}
BAD_LAYOUTS = ["Torch", "tf", "", None, 1, ("torch",)]


def is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _ref_axes(axes, ndim: int, name: str):
    """Axes as compute_fans' docstring reads them: a tuple of distinct axes, or a Fault."""
    if axes is None:
        return ()
    if is_int(axes):
        axes = (axes,)
    try:
        items = tuple(axes)
    except TypeError:
        return Fault(TypeError, rf"{name} must be an int or a tuple of ints")
    if not all(is_int(a) for a in items):
        return Fault(TypeError, rf"{name} must be an int or a tuple of ints")
    if not all(-ndim <= a < ndim for a in items):
        return Fault(ValueError, rf"{name}=-?\d+ is out of range")
    out = tuple(int(a) % ndim for a in items)
    if len(set(out)) != len(out):
        return Fault(ValueError, rf"{name} has repeated axes")
    return out


def ref_fans(shape, layout="torch", in_axis=None, out_axis=None, batch_axis=(), groups=1):
    """(fan_in, fan_out) of compute_fans' contract, or the Faults it may raise (any of them)."""
    faults, dims = [], None
    if not isinstance(layout, str) or layout not in LAYOUT_AXES:
        faults.append(Fault(ValueError, r"layout .* not supported, please use one of"))
    if isinstance(shape, np.ndarray):
        dims = shape.shape
    elif is_int(shape):
        if shape < 0:
            faults.append(Fault(ValueError, r"shape must contain non-negative ints"))
        dims = (int(shape),)
    else:
        try:
            dims = tuple(shape)
        except TypeError:
            faults.append(Fault(TypeError, r"shape must be a tuple of ints or an array"))
        else:
            if not all(is_int(d) and d >= 0 for d in dims):
                faults.append(Fault(ValueError, r"shape must contain non-negative ints"))
    if not is_int(groups):
        faults.append(Fault(TypeError, r"groups must be a positive int"))
    elif groups < 1:
        faults.append(Fault(ValueError, r"groups must be >= 1"))
    if faults:
        return faults
    groups = int(groups)
    ndim, explicit = len(dims), in_axis is not None or out_axis is not None
    if ndim < 2:
        if explicit:
            return [Fault(ValueError, r"in_axis/out_axis need a shape with at least 2 dimensions")]
        if layout == "keras":
            return (1, 1) if ndim == 0 else (dims[0], dims[0])
        return [Fault(ValueError, r"Fan in and fan out can not be computed|Can't compute input "
                                 r"and output sizes")]
    batch = _ref_axes(batch_axis, ndim, "batch_axis")
    ins = _ref_axes(LAYOUT_AXES[layout][0] if in_axis is None else in_axis, ndim, "in_axis")
    outs = _ref_axes(LAYOUT_AXES[layout][1] if out_axis is None else out_axis, ndim, "out_axis")
    faults = [a for a in (batch, ins, outs) if isinstance(a, Fault)]
    if faults:
        return faults
    if set(ins) & set(outs):
        return [Fault(ValueError, r"in_axis .* and out_axis .* overlap")]
    if (set(ins) | set(outs)) & set(batch):
        return [Fault(ValueError, r"batch_axis .* overlaps in_axis")]
    rest = math.prod(d for k, d in enumerate(dims) if k not in set(ins) | set(outs) | set(batch))
    fan_in = math.prod(dims[k] for k in ins) * rest
    fan_out = math.prod(dims[k] for k in outs) * rest
    if groups != 1:
        by_in = layout == "torch_transposed" and not explicit
        channels = math.prod(dims[k] for k in (ins if by_in else outs))
        if channels % groups:
            return [Fault(ValueError, rf"groups={groups} does not divide")]
        fan_in, fan_out = (fan_in // groups, fan_out) if by_in else (fan_in, fan_out // groups)
    return fan_in, fan_out


@st.composite
def axes(draw, ndim: int):
    """An axis argument: None, an int, a tuple or list of ints, or something wrong."""
    n = max(ndim, 1)
    kind = draw(st.sampled_from(["none"] * 6 + ["int"] * 2 + ["tuple"] * 2 + ["bad"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-n - 1, n))
    if kind == "tuple":
        return draw(st.lists(st.integers(-n, n - 1), max_size=3).map(
            lambda v: tuple(v) if draw(st.booleans()) else list(v)))
    return draw(st.sampled_from([1.0, "0", True, (0, 1.5), (np.int64(0),), 2**70, -2**70]))


@st.composite
def fan_keywords(draw, ndim: int):
    """layout, in_axis, out_axis, batch_axis: mostly the defaults."""
    layout = draw(st.sampled_from(list(LAYOUT_AXES) * 10 + BAD_LAYOUTS))
    explicit = chance(draw, 4)
    return {"layout": layout,
            "in_axis": draw(axes(ndim)) if explicit else None,
            "out_axis": draw(axes(ndim)) if explicit else None,
            "batch_axis": (draw(axes(ndim)) or ()) if explicit else ()}


@st.composite
def fan_shapes(draw):
    kind = draw(st.sampled_from(["tuple"] * 8 + ["array", "int", "huge", "bad"]))
    if kind == "tuple":
        return draw(st.lists(st.integers(0, 7), max_size=5).map(tuple))
    if kind == "array":
        return np.empty(draw(st.lists(st.integers(0, 4), max_size=4).map(tuple)))
    if kind == "int":
        return draw(st.sampled_from([0, 5, -3, np.int64(4)]))
    if kind == "huge":
        return tuple(draw(st.lists(st.sampled_from([2**40, 2**62, 3, 10**30]), min_size=2,
                                   max_size=4)))
    return draw(st.sampled_from([None, 1.5, "ab", (2, 2.0), (2, -1), (True, 2), [3, None],
                                 (np.float64(2), 3)]))


def test_compute_fans(fuzz):
    @fuzz(2 * EXAMPLES)
    @given(shape=fan_shapes(), data=st.data(),
           groups=st.sampled_from([1] * 6 + [2, 3, 4, 0, -1, 1.0, True, np.int64(2)]))
    def check(shape, data, groups):
        ndim = len(shape.shape) if isinstance(shape, np.ndarray) else (
            len(shape) if isinstance(shape, tuple) else 1)
        kw = data.draw(fan_keywords(ndim))
        want = ref_fans(shape, groups=groups, **kw)
        got, _, _ = outcome(lambda: winit.compute_fans(shape, groups=groups, **kw),
                            want if isinstance(want, list) else [])
        if not isinstance(want, list):
            assert got == want and all(type(f) is int for f in got)
    check()


_GAIN_PARAMS = {"leaky_relu": "negative_slope", "elu": "alpha", "celu": "alpha",
                "softplus": "beta", "gelu": "approximate"}
_FIXED_GAINS = {"linear": 1.0, "identity": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
                "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
                "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def _zero(x, p=None):
    return 0.0 * x


def _nan(x, p=None):
    return x * math.nan


def _scaled(x, p=None):
    return x * (1.0 if p is None else p)


CALLABLES = [np.tanh, np.sin, abs, _zero, _nan, _scaled]


def ref_gain(nonlinearity, param):
    """calculate_gain's contract: the exact gain (None: a positive finite float), or a Fault."""
    if isinstance(param, (np.ndarray, np.generic)) and np.ndim(param) == 0 and (
            param.dtype.kind in "fiu" or param.dtype in FLOATS):
        param = float(param)
    real = is_int(param) or isinstance(param, (float, np.floating, Fraction))
    if callable(nonlinearity) and not isinstance(nonlinearity, str):
        if param is not None and nonlinearity in (np.tanh, np.sin, abs):
            return [Fault(TypeError, ""), Fault(ValueError, "")]  # the callable's own error
        if param is not None and not real:  # x * param: an error, or a gain ([0.2] broadcasts)
            return "any"
        if nonlinearity in (_zero, _nan) or (nonlinearity is _scaled and param is not None and (
                not math.isfinite(param) or param == 0)):
            return Fault(ValueError, r"nonlinearity \S+: E\[f\(z\)\^2\] = .* needs a finite")
        if nonlinearity is _scaled and param is not None and not 1e-100 < abs(param) < 1e100:
            return "maybe"
        return None
    if not isinstance(nonlinearity, str):
        return Fault(ValueError, r"Unsupported nonlinearity .*: expected a name or a callable")
    name = nonlinearity.lower()
    if name in _FIXED_GAINS:
        return _FIXED_GAINS[name]
    if name == "leaky_relu":
        if param is None:
            return math.sqrt(2.0 / (1 + 0.01**2))
        if not real:
            return Fault(ValueError, r"negative_slope .* not a valid number")
        slope = float(param) if abs(param) < 2**1024 else math.inf
        if not math.isfinite(slope):
            return Fault(ValueError, r"negative_slope .* not a valid number")
        return math.sqrt(2.0 / (1 + slope**2)) if abs(slope) < 1e150 else None
    if name not in winit.gains.NONLINEARITIES:
        return Fault(ValueError, r"Unsupported nonlinearity .*, please use one of")
    pname = _GAIN_PARAMS.get(name)
    if pname == "approximate":
        if param is None or (isinstance(param, str) and param in ("none", "tanh")):
            return None
        return Fault(ValueError, r"gelu approximation .* not supported")
    if pname is None or param is None:
        return None
    if not real:
        return Fault(ValueError, rf"{pname} .* for {name} not a valid number")
    p = float(param) if abs(param) < 2**1024 else math.inf
    if not math.isfinite(p) or (p == 0 and name in ("celu", "softplus")):
        return Fault(ValueError, rf"{pname} .* for {name} not a valid value")
    if abs(p) > 1e100 or (name in ("celu", "softplus") and abs(p) < 1e-100) or (
            name == "celu" and p < 0):
        return "maybe"  # a moment that overflows: a ValueError naming the parameter
    return None


@st.composite
def nonlinearities(draw):
    kind = draw(st.sampled_from(["name"] * 6 + ["case", "callable", "bad"]))
    if kind == "name":
        return draw(st.sampled_from(winit.gains.NONLINEARITIES))
    if kind == "case":
        return draw(st.sampled_from(winit.gains.NONLINEARITIES)).upper()
    if kind == "callable":
        return draw(st.sampled_from(CALLABLES))
    return draw(st.sampled_from(["relu2", "", "soft plus", None, 3, ["relu"]]))


@st.composite
def gain_params(draw):
    kind = draw(st.sampled_from(["none"] * 3 + ["real"] * 4 + ["str", "other"]))
    if kind == "none":
        return None
    if kind == "real":
        p = draw(reals(-3, 3, ordinary=20))
        return p.value
    if kind == "str":
        return draw(st.sampled_from(["tanh", "none", "0.2", "", "TANH"]))
    return draw(st.sampled_from([[0.2], (1,), np.array([0.5, 1.0]), {"a": 1}, 1j]))


def test_calculate_gain(fuzz):
    @fuzz(2 * EXAMPLES)
    @given(nonlinearity=nonlinearities(), param=gain_params())
    def check(nonlinearity, param):
        # a callable's own errors propagate, whatever their type (numpy: OverflowError)
        assume(not (callable(nonlinearity) and is_int(param) and abs(param) > 2**63))
        want = ref_gain(nonlinearity, param)
        allowed = [Fault(ValueError, r"nonlinearity ('\w+' \((alpha|beta)=.*\)|_scaled): "
                                     r"E\[f\(z\)\^2\] = .* needs a finite")]
        if want == "any":
            allowed = [Fault(TypeError, ""), Fault(ValueError, "")]
        gain, exc, _ = outcome(lambda: winit.calculate_gain(nonlinearity, param),
                               [want] if isinstance(want, Fault) else
                               want if isinstance(want, list) else [],
                               allowed if want in ("maybe", "any") else [])
        if exc is None:
            assert isinstance(gain, float) and math.isfinite(gain) and gain > 0
            if isinstance(want, float):
                assert gain == want
    check()


# --------------------------------------------------------------------------- fan-based schemes

FAN_SCHEMES = ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
               "variance_scaling_", "lecun_uniform_", "lecun_normal_"]
MODES = ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
BAD_MODES = ["FAN_IN", "fan", "", None, 3]
DISTRIBUTIONS = ["truncated_normal", "normal", "untruncated_normal", "uniform", "Uniform"]
BAD_DISTRIBUTIONS = ["gamma", "", None, 1.0]
TRUNCATED_NORMAL_STD = 0.87962566103423978


def _fan_mode(fan_in: int, fan_out: int, mode: str) -> float:
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0,
            "fan_geo_avg": math.sqrt(fan_in * fan_out)}[mode]


def _expected_error(call) -> Fault | None:
    """The error ``call()`` raises, as a Fault matching exactly its message (None: none)."""
    try:
        call()
    except (TypeError, ValueError) as exc:
        return Fault(type(exc), re.escape(str(exc)))
    return None


@st.composite
def scheme_params(draw, name: str):
    """(parameters, their faults, std_of(fan_in, fan_out), distribution) of a fan scheme."""
    params, faults = {}, []
    if name.startswith("xavier"):
        gain = draw(reals(0.0, 3.0, ordinary=20))
        params["gain"] = gain.value
        faults += _param_faults(gain=(gain, {"nonneg": True}))
        dist = "uniform" if name.endswith("uniform_") else "normal"
        return params, faults, lambda fi, fo: gain.eff * math.sqrt(2.0 / float(fi + fo)), dist
    if name.startswith("kaiming"):
        a = draw(st.one_of(st.just(0), reals(-1.0, 1.0, ordinary=30).map(lambda p: p.value)))
        mode = draw(st.sampled_from(MODES * 3 + BAD_MODES))
        nonlinearity = draw(st.one_of(st.just("leaky_relu"), nonlinearities()))
        params.update(a=a, mode=mode, nonlinearity=nonlinearity)
        if not (isinstance(mode, str) and mode.lower() in MODES):
            faults.append(Fault(ValueError, r"Mode .* not supported, please use one of"))
        # the gain is calculate_gain's (tested above), with `a` as kaiming's docstring says
        leaky = isinstance(nonlinearity, str) and nonlinearity.lower() == "leaky_relu"
        zero = not leaky and (a is None or (
            not isinstance(a, (bool, np.bool_)) and isinstance(a, (numbers.Real, np.ndarray))
            and np.ndim(a) == 0 and a == 0))
        param = a if leaky or not zero else None
        gain_fault = _expected_error(lambda: winit.calculate_gain(nonlinearity, param))
        if gain_fault:
            faults.append(gain_fault)
            return params, faults, None, None
        gain = winit.calculate_gain(nonlinearity, param)
        dist = "uniform" if name.endswith("uniform_") else "normal"
        m = mode.lower() if not faults else "fan_in"
        return params, faults, lambda fi, fo: gain / math.sqrt(_fan_mode(fi, fo, m)), dist
    if name == "variance_scaling_":
        scale = draw(reals(0.0, 4.0, ordinary=20))
        mode = draw(st.sampled_from(MODES * 3 + BAD_MODES))
        dist = draw(st.sampled_from(DISTRIBUTIONS * 3 + BAD_DISTRIBUTIONS))
        params.update(scale=scale.value, mode=mode, distribution=dist)
        faults += _param_faults(scale=(scale, {}))
        if not faults and scale.eff <= 0:
            faults.append(Fault(ValueError, r"scale must be a positive float"))
        if not (isinstance(mode, str) and mode.lower() in MODES):
            faults.append(Fault(ValueError, r"Mode .* not supported, please use one of"))
        if not (isinstance(dist, str) and dist.lower() in DISTRIBUTIONS):
            faults.append(Fault(ValueError, r"distribution .* not supported, please use one of"))
        if faults:
            return params, faults, None, None
        s, m = scale.eff, mode.lower()
        return (params, faults, lambda fi, fo: math.sqrt(s / max(1.0, _fan_mode(fi, fo, m))),
                dist.lower())
    dist = "uniform" if name == "lecun_uniform_" else "truncated_normal"
    return params, faults, lambda fi, fo: math.sqrt(1.0 / max(1.0, fi)), dist


def _zero_mean_check(std: float, dist: str, dt: np.dtype):
    """The value check of the zero-mean primitive a scheme's std and distribution give."""
    if dist == "uniform":
        bound = math.sqrt(3.0) * std
        if bound == 0:  # U[-0.0, 0.0) is a == b: the constant a
            return lambda v: equal_to(v, -bound, dt)
        return lambda v: in_range(v, -bound, bound, hi_open=True)
    if dist == "truncated_normal":
        s = std / TRUNCATED_NORMAL_STD
        return lambda v: in_range(v, -2.0 * s, 2.0 * s)
    spread = _ZMAX[dt == np.float64] * std * (1 + 1e-6)
    spread += 2 * ulp(spread, dt)
    return lambda v: in_range(v, -spread, spread)


def test_fan_schemes(fuzz):
    @fuzz(3 * EXAMPLES)
    @given(name=st.sampled_from(FAN_SCHEMES), t=tensors(max_dims=5), common=commons(),
           data=st.data())
    def check(name, t, common, data):
        ndim = len(t.shape) if isinstance(t.value, np.ndarray) else 2
        fan_kw = data.draw(fan_keywords(ndim))
        params, faults, std_of, dist = data.draw(scheme_params(name))
        func = getattr(winit, name)
        values_ok, allowed = None, []
        if not isinstance(fan_kw["layout"], str) or fan_kw["layout"] not in LAYOUT_AXES:
            faults.append(Fault(ValueError, r"layout .* not supported"))
        if not faults and t.ok and t.size:
            fans = ref_fans(t.shape, **fan_kw)
            if isinstance(fans, list):
                faults += fans
            else:
                faults += common.faults(size=t.size)
                std = std_of(*fans)
                if not std * 10 < 0.5 * fmax(t.dtype):  # values beyond the dtype's range
                    allowed.append(Fault(ValueError, rf"{name}\(.*\) on shape .*: "))
                else:
                    values_ok = _zero_mean_check(std, dist, t.dtype)
        elif not faults:
            faults += common.faults(seed=False)
        exc = run_fill(func, t, {**params, **fan_kw}, common, faults, allowed,
                       check=values_ok)
        if exc is None and t.size and common.make_seed is not None:
            # the scheme is its plan's primitive, bit for bit
            prim, prim_params = winit.schemes.primitive_plan(func, t.shape, **params, **fan_kw)
            again = getattr(winit, f"{prim}_")(t.fresh(), **prim_params,
                                               **common.kwargs(fresh=True))
            assert bits(again) == bits(t.value)
    check()


# --------------------------------------------------------------------------- structured schemes

#: Tolerance of W^T W = gain^2 I, relative to gain^2, by dtype.
ORTHO_TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4,
             np.dtype(np.float16): 2e-2, BF16: 3e-2}


def _matrix(values: np.ndarray, shape: tuple[int, ...], layout: str) -> np.ndarray:
    """The (rows, cols) matrix orthogonal_ makes of a tensor (C-order values)."""
    if layout in ("keras", "jax"):
        return values.reshape(-1, shape[-1])
    return values.reshape(shape[0], -1)


def check_orthonormal(w: np.ndarray, gain: float, dt: np.dtype) -> None:
    """Rows or columns (whichever are fewer) of ``w`` orthonormal times ``gain``."""
    top = ceil_to(min(abs(gain) * (1 + 1e-6), fmax(dt)), dt)  # |gain|, rounded to the dtype
    assert np.all(np.abs(w) <= top), "|values| beyond |gain|"
    near = 1e-100 < abs(gain) < 1e100 if dt == np.float64 else 1e-3 < abs(gain) < 1e3
    if not near:
        return
    q = w / gain
    g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    err = np.abs(g - np.eye(len(g))).max()
    assert err <= ORTHO_TOL[dt], f"not orthonormal: max |W^T W / gain^2 - I| = {err}"


def _ref_dirac(shape: tuple[int, ...], groups: int, layout: str) -> np.ndarray:
    """torch.nn.init.dirac_'s kernel, written out from its docstring."""
    out = np.zeros(shape)
    view = np.moveaxis(out, (-1, -2), (0, 1)) if layout in ("keras", "jax") else out
    per = view.shape[0] // groups
    centre = tuple(k // 2 for k in view.shape[2:])
    for g in range(groups):
        for d in range(min(per, view.shape[1])):
            view[(g * per + d, d) + centre] = 1
    return out


STRUCTURED = ["orthogonal_", "delta_orthogonal_", "eye_", "dirac_", "sparse_"]
STRUCTURED_DIMS = {"orthogonal_": (2, 4), "delta_orthogonal_": (3, 5), "eye_": (2, 2),
                   "dirac_": (3, 5), "sparse_": (2, 2)}


def structured_oracle(name: str, t: Tensor, common: Common, data):
    """(params, faults, allowed, value check) of a structured scheme call."""
    params, faults, allowed, check = {}, [], [], None
    shape = t.shape if isinstance(t.value, np.ndarray) else None
    ndim = len(shape) if shape is not None else None
    layout = "torch"
    if name in ("orthogonal_", "delta_orthogonal_", "dirac_"):
        layout = data.draw(st.sampled_from(list(LAYOUT_AXES) * 5 + BAD_LAYOUTS), label="layout")
        params["layout"] = layout
        if not isinstance(layout, str) or layout not in LAYOUT_AXES:
            faults.append(Fault(ValueError, r"layout .* not supported"))
            layout = None
    if name in ("orthogonal_", "delta_orthogonal_"):
        gain = data.draw(reals(-3.0, 3.0, ordinary=20), label="gain")
        params["gain"] = gain.value
        faults += _param_faults(gain=(gain, {}))
    if name == "sparse_":
        sparsity = data.draw(reals(0.0, 1.0, ordinary=20), label="sparsity")
        std = data.draw(reals(0.0, 2.0, ordinary=20), label="std")
        params.update(sparsity=sparsity.value, std=std.value)
        faults += _param_faults(sparsity=(sparsity, {}), std=(std, {"nonneg": True}))
        if sparsity.kind() is None and not 0 <= sparsity.eff <= 1:
            faults.append(Fault(ValueError, r"sparsity must be in \[0, 1\]"))
    if name == "dirac_":
        groups = data.draw(st.sampled_from([1] * 5 + [2, 3, 0, -1, 1.5, True, np.int64(2)]),
                           label="groups")
        params["groups"] = groups
        if not is_int(groups):
            faults.append(Fault(TypeError, r"groups must be a positive int"))
        elif groups < 1:
            faults.append(Fault(ValueError, r"groups must be >= 1"))
    if ndim is not None:
        if name == "orthogonal_" and ndim < 2:
            faults.append(Fault(ValueError, r"Only tensors with 2 or more dimensions"))
        if name in ("eye_", "sparse_") and ndim != 2:
            faults.append(Fault(ValueError, r"Only tensors with 2 dimensions are supported"))
        if name == "dirac_" and ndim not in (3, 4, 5):
            faults.append(Fault(ValueError, r"Only tensors with 3, 4, or 5 dimensions"))
        if name == "delta_orthogonal_":
            if ndim not in (3, 4, 5):
                faults.append(Fault(ValueError, r"requires a 3-, 4- or 5-dimensional tensor"))
            elif layout is not None:
                n_out, n_in = ((shape[-1], shape[-2]) if layout in ("keras", "jax")
                               else (shape[1], shape[0]) if layout == "torch_transposed"
                               else (shape[0], shape[1]))
                if n_in > n_out:
                    faults.append(Fault(ValueError, r"fan_in \(\d+ input channels\) must be less"))
        if (name == "dirac_" and ndim in (3, 4, 5) and layout is not None and not faults):
            out_channels = shape[-1] if layout in ("keras", "jax") else shape[0]
            if out_channels % groups:
                faults.append(Fault(ValueError, r"divisible by groups"))
    uses_stream = name in ("orthogonal_", "delta_orthogonal_", "sparse_")
    faults += common.faults(seed=False, offset=name not in ("eye_", "dirac_"))
    if faults or not t.ok or t.size == 0:
        return params, faults, allowed, None
    dt = t.dtype
    if uses_stream:
        # delta_orthogonal_ draws its (out, in) centre tap only
        centre = (shape[-1] * shape[-2] if layout in ("keras", "jax") else shape[0] * shape[1])
        faults += common.faults(size=t.size if name != "delta_orthogonal_" else centre)
    if name == "sparse_" and common.offset_fault is None:
        if int(common.offset) + t.size > 2**64:
            faults.append(Fault(ValueError, r"offset \+ tensor.size exceeds 2\*\*64"))
    if name in ("orthogonal_", "delta_orthogonal_"):
        g = gain.eff
        if abs(g) > fmax(dt):
            faults.append(Fault(ValueError, rf"{name}: gain=.* is outside the range of"))
        elif name == "orthogonal_":
            check = lambda v: check_orthonormal(_matrix(v, shape, layout), g, dt)  # noqa: E731
        else:
            def check(v):
                view = v.reshape(shape)
                view = (np.moveaxis(view, (-1, -2), (0, 1)) if layout in ("keras", "jax") else
                        np.swapaxes(view, 0, 1) if layout == "torch_transposed" else view)
                centre = tuple((k - 1) // 2 for k in view.shape[2:])
                taps = np.ones(view.shape[2:], bool)
                taps[centre] = False
                assert not view[:, :, taps].any(), "a tap other than the centre is not zero"
                check_orthonormal(view[(slice(None), slice(None)) + centre], g, dt)
    elif name == "eye_":
        check = lambda v: equal_to_array(v, np.eye(*shape).ravel(), dt)  # noqa: E731
    elif name == "dirac_":
        check = lambda v: equal_to_array(  # noqa: E731
            v, _ref_dirac(shape, int(groups), layout).ravel(), dt)
    else:
        s = std.eff
        reach = _ZMAX[dt == np.float64] * s
        if reach > 1.001 * fmax(dt):
            faults.append(Fault(ValueError, r"normal_: std=.* outside the range"))
        elif reach > 0.999 * fmax(dt):
            allowed.append(Fault(ValueError, r"normal_: std=.* outside the range"))
        zeros = math.ceil(sparsity.eff * shape[0])

        def check(v):
            m = v.reshape(shape)
            assert ((m == 0).sum(axis=0) >= zeros).all(), "a column with too few zeros"
            in_range(v, -reach * (1 + 1e-6) - 2 * ulp(reach, dt),
                     reach * (1 + 1e-6) + 2 * ulp(reach, dt))
    return params, faults, allowed, check


def equal_to_array(values: np.ndarray, expected: np.ndarray, dt: np.dtype) -> None:
    want = expected.astype(dt).view(_UINT[dt.itemsize])
    assert (values.astype(dt).view(_UINT[dt.itemsize]) == want).all(), "values differ"


def test_structured(fuzz):
    @fuzz(3 * EXAMPLES)
    @given(name=st.sampled_from(STRUCTURED), common=commons(), data=st.data())
    def check(name, common, data):
        dims = STRUCTURED_DIMS[name] if not chance(data.draw, 8) else (0, 5)
        t = data.draw(tensors(*dims), label="t")
        params, faults, allowed, values_ok = structured_oracle(name, t, common, data)
        run_fill(getattr(winit, name), t, params, common, faults, allowed, check=values_ok,
                 fresh_threads="same")
    check()


# --------------------------------------------------------------------------- registry

PREFIXES = ["", "", "", "keras.", "keras.initializers.", "jax.", "jax.nn.initializers.",
            "flax.linen.initializers.", "torch.", "torch.nn.init."]
BAD_NAMES = ["", "foo", "he-normal!", "xavier", "normal_distribution", 3, None, ["normal"]]
#: Keras/JAX spellings winit.get renames (orthogonal's scale is its gain, JAX uniform's b).
RENAMES = {"value": ["val"], "minval": ["a"], "maxval": ["b"], "stddev": ["std"],
           "scale": ["gain", "b"]}
#: Parameters each canonical scheme takes (its signature, as winit.get binds them).
ACCEPTED = {
    "zeros": [], "ones": [], "constant": ["val", "value"],
    "uniform": ["a", "b", "minval", "maxval", "scale"], "normal": ["mean", "std", "stddev"],
    "trunc_normal": ["mean", "std", "a", "b", "stddev"],
    "truncated_normal": ["mean", "std", "lower", "upper", "stddev"],
    "xavier_uniform": ["gain"], "xavier_normal": ["gain"],
    "kaiming_uniform": ["a", "mode", "nonlinearity"],
    "kaiming_normal": ["a", "mode", "nonlinearity"],
    "lecun_uniform": [], "lecun_normal": [], "variance_scaling": ["scale", "mode", "distribution"],
    "orthogonal": ["gain", "scale", "layout", "column_axis"],
    "delta_orthogonal": ["gain", "scale", "layout", "column_axis"],
    "eye": ["gain"], "dirac": ["groups", "layout"], "sparse": ["sparsity", "std"],
    "stft": ["side", "window", "scaling", "periodic"],
}
FAN_KEYS = ["layout", "in_axis", "out_axis", "batch_axis"]
for _n in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
           "lecun_uniform", "lecun_normal", "variance_scaling"):
    ACCEPTED[_n] = ACCEPTED[_n] + FAN_KEYS
ALL_KEYS = sorted({k for v in ACCEPTED.values() for k in v})


def _value_for(key: str):
    """A strategy for the value of parameter ``key`` (mostly plausible, sometimes wrong)."""
    if key in ("a", "b", "mean", "val", "value", "minval", "maxval"):
        return reals(ordinary=20).map(lambda p: p.value)
    if key in ("std", "stddev", "gain", "scale", "sparsity"):
        return reals(0.0, 2.0 if key != "sparsity" else 1.0, ordinary=20).map(lambda p: p.value)
    if key in ("lower", "upper"):
        return reals(-3.0, 3.0, ordinary=20).map(lambda p: p.value)
    if key == "mode":
        return st.sampled_from(MODES * 3 + BAD_MODES)
    if key == "nonlinearity":
        return nonlinearities()
    if key == "distribution":
        return st.sampled_from(DISTRIBUTIONS * 3 + BAD_DISTRIBUTIONS)
    if key == "layout":
        return st.sampled_from(list(LAYOUT_AXES) * 3 + BAD_LAYOUTS)
    if key in ("in_axis", "out_axis", "batch_axis"):
        return axes(3)
    if key == "groups":
        return st.sampled_from([1, 1, 2, 3, 0, -1, 1.5, True])
    if key == "column_axis":
        return st.sampled_from([None, -1, -2, 0, 1, 2, 5, -9, 1.0, True, "x"])
    if key == "side":
        return st.sampled_from(["real", "imag", "real", "both", ("real",), None])
    if key == "window":
        return st.sampled_from(["hann", "hamming", ("kaiser", 4.0), None, "hann", "nope",
                                ("gaussian",), 3, "boxcar", np.ones(4), np.arange(4.0),
                                np.full(4, np.nan), np.zeros(4), [1.0, np.inf, 1.0, 1.0]])
    if key == "scaling":
        return st.sampled_from(["density", "spectrum", None, "x", ["density"]])
    if key == "periodic":
        return st.sampled_from([False, True, np.bool_(True), 1, "yes", None])
    return reals().map(lambda p: p.value)


@st.composite
def registry_calls(draw):
    """(name, params) for winit.get: real and aliased names, prefixes, bad names."""
    kind = draw(st.sampled_from(["canonical"] * 4 + ["alias"] * 2 + ["bad"]))
    if kind == "canonical":
        name = draw(st.sampled_from(winit.available()))
        canonical = name
        spelled = draw(st.sampled_from([name, name, name.upper(), name.replace("_", "") + "_",
                                        "".join(w.title() for w in name.split("_"))]))
        name = draw(st.sampled_from(PREFIXES)) + spelled
    elif kind == "alias":
        name = draw(st.sampled_from(sorted(winit.aliases())))
        canonical = winit.aliases()[name].partition("(")[0]
    else:
        name = draw(st.sampled_from(BAD_NAMES))
        canonical = None
    accepted = ACCEPTED.get(canonical, ALL_KEYS)
    keys = draw(st.lists(st.sampled_from(accepted * 12 + ALL_KEYS + ["foo", "seed", "threads"])
                         if accepted else st.sampled_from(ALL_KEYS + ["foo"]),
                         max_size=3, unique=True))
    if canonical == "sparse" and "sparsity" not in keys and not chance(draw, 6):
        keys.append("sparsity")
    return name, {k: draw(_value_for(k), label=k) for k in keys}


#: Keyword arguments a scheme accepts for a uniform signature and ignores (its docstring).
IGNORED_KEYWORDS = {"eye": ("offset",), "dirac": ("offset",), "stft": ("offset", "threads")}


def _names_something(exc: BaseException, words) -> bool:
    msg = str(exc)
    return any(re.search(rf"(?<![\w]){re.escape(str(w))}(?![\w])", msg, re.IGNORECASE)
               for w in words)


@st.composite
def call_shapes(draw):
    """The ``shape`` of Initializer.__call__: small, or something that cannot be allocated."""
    kind = draw(st.sampled_from(["small"] * 8 + ["int", "huge", "bad"]))
    if kind == "small":
        return draw(st.lists(st.integers(0, 5), max_size=5).map(tuple)), None
    if kind == "int":
        return draw(st.sampled_from([(4, None), (np.int64(3), None), (0, None),
                                     (-2, Fault(ValueError, r"shape"))]))
    if kind == "huge":
        return (draw(st.sampled_from([(2**40, 2**40), (2**62, 3), (3, 2**31, 2**31, 2)])),
                Fault(ValueError, r"shape"))
    return draw(st.sampled_from([((-1, 2), Fault(ValueError, r"shape")),
                                 ((2.5, 2), Fault(TypeError, r"shape")),
                                 (None, Fault(TypeError, r"shape")),
                                 ("ab", Fault(TypeError, r"shape")),
                                 ((2, None), Fault(TypeError, r"shape"))]))


def test_registry(fuzz):
    """winit.get -> Initializer -> init(shape, dtype) / fill_ / check, end to end."""
    @fuzz(3 * EXAMPLES)
    @given(call=registry_calls(), shape=call_shapes(), common=commons(),
           dtype=st.sampled_from(FLOATS * 3 + ["bfloat16", "float64", np.int32, "nope", None]))
    def check(call, shape, common, dtype):
        name, params = call
        words = [*params, *(r for k in params for r in RENAMES.get(k, ())), "initializer",
                 "negative_slope",
                 "nonlinearity", "approximation", "alpha", "beta", "scale", "mode", "sparsity"]
        init, exc, _ = outcome(lambda: winit.get(name, **params),
                               [], [Fault(TypeError, ""), Fault(ValueError, "")])
        if exc is not None:
            assert _names_something(exc, words), f"{exc!r} names none of {words}"
            return
        assert isinstance(init, winit.Initializer)
        shape, shape_fault = shape
        words += [*init.params, "shape", "dtype", "seed", "offset", "threads", "tensor",
                  "dimensions", "fan_in", "channels", "bins", "window", "groups", "gain",
                  "[a, b]", "[a, b)"]  # truncated_normal: "the resulting absolute bounds"
        faults = [shape_fault] if shape_fault else []
        dt_ok = dtype is None or dtype == "bfloat16" or (dtype != "nope"
                                                          and np.dtype(dtype) in FLOATS)
        if dtype is not None and not dt_ok:
            faults.append(Fault(TypeError, r"unsupported dtype"))
        if not faults:
            ignored = IGNORED_KEYWORDS.get(init.name, ())
            faults += common.faults(seed=False, offset="offset" not in ignored,
                                    threads="threads" not in ignored)
        out, exc, _ = outcome(lambda: init(shape, dtype, **common.kwargs()), faults,
                              [Fault(TypeError, ""), Fault(ValueError, "")])
        if exc is not None:
            assert _names_something(exc, words), f"{exc!r} names none of {words}"
        if shape_fault or not dt_ok:
            return
        dims = (int(shape),) if is_int(shape) else tuple(shape)
        dt = BF16 if dtype == "bfloat16" else np.dtype(dtype)
        checked = _expected_error(lambda: init.check(dims))
        if checked is not None:  # the build-time check predicts the call's failure
            assert exc is not None and isinstance(exc, checked.exc), \
                f"check({dims}) raised {checked}, the call {exc!r}"
        elif exc is not None and dt == np.float64 and not common.faults(size=math.prod(dims)):
            raise AssertionError(f"check({dims}) passed, a float64 call raised {exc!r}")
        if exc is not None:
            return
        assert out.shape == dims and out.dtype == dt and out.flags.c_contiguous
        assert np.isfinite(as_f64(out)).all(), "non-finite values"
        if common.make_seed is not None and out.size:
            again = init.fill_(np.empty(dims, dt), **common.kwargs(fresh=True))
            assert bits(again) == bits(out), "init(shape) differs from init.fill_(empty)"
            if init.kind == "fan":
                prim = init.elementwise_for(dims)
                assert bits(prim(dims, dt, **common.kwargs(fresh=True))) == bits(out)
    check()


def test_recommend(fuzz):
    @fuzz()
    @given(activation=nonlinearities(), param=gain_params())
    def check(activation, param):
        assume(not (callable(activation) and is_int(param) and abs(param) > 2**63))
        act = activation.lower() if isinstance(activation, str) else None
        if (act in winit.gains.NONLINEARITIES and act not in winit.gains.NONLINEARITY_PARAMS
                and param is not None):
            faults = [Fault(ValueError, r"recommend\(.*\): \w+ takes no parameter")]
        elif act in ("tanh", "sigmoid", "linear", "identity", "relu", "selu") or (
                act is not None and act.startswith("conv")):
            faults = []
        else:
            slope = 0.01 if act == "leaky_relu" and param is None else param
            fault = _expected_error(lambda: winit.calculate_gain(activation, slope))
            faults = [fault] if fault else []
        init, _, _ = outcome(lambda: winit.recommend(activation, param), faults)
        if init is None:
            return
        assert isinstance(init, winit.Initializer) and init.kind == "fan"
        w, _, _ = outcome(lambda: init((5, 3), np.float64, seed=0), [],
                          [Fault(ValueError, r"kaiming_normal_\(.*\) on shape")])
        if w is not None:
            assert np.isfinite(w).all()
    check()


# --------------------------------------------------------------------------- statistics


@st.composite
def bins_and_range(draw, extreme: bool = False):
    """(bins, range, faults) of winit.stats."""
    big = 1.7e308 if extreme else 1e300
    faults = []
    kind = draw(st.sampled_from(["none"] * 4 + ["int"] * 4 + ["edges"] * 2 + ["bad"]))
    if kind == "none":
        bins = None
    elif kind == "int":
        bins = draw(st.sampled_from([1, 2, 5, 10, 33, np.int64(4)]))
    elif kind == "edges":
        bins = np.sort(np.array(draw(st.lists(st.floats(-big, big) if chance(draw, 3) else
                                              st.floats(-20, 20), min_size=2, max_size=12))))
        if chance(draw, 3):
            bins = list(bins)
    else:
        bins, fault = draw(st.sampled_from([
            (0, Fault(ValueError, r"bins must be a positive int")),
            (-3, Fault(ValueError, r"bins must be a positive int")),
            (True, Fault(TypeError, r"bins must be a positive int .* not bool")),
            (2.5, Fault(ValueError, r"bins as edges must be a 1-D array")),
            ("auto", Fault(TypeError, r"bins must be a positive int or a 1-D array")),
            ([3.0, 1.0, 2.0], Fault(ValueError, r"bins edges must increase monotonically")),
            ([0.0, np.nan], Fault(ValueError, r"bins edges must be finite")),
            ([0.0, np.inf], Fault(ValueError, r"bins edges must be finite")),
            ([[0.0, 1.0]], Fault(ValueError, r"bins as edges must be a 1-D array")),
            ([1.0], Fault(ValueError, r"bins as edges must be a 1-D array of at least 2")),
            (["a", "b"], Fault(TypeError, r"bins must be a positive int or a 1-D array")),
            ([0, 10**400], Fault(ValueError, r"bins edges must be finite")),
        ]))
        faults.append(fault)
    kind = draw(st.sampled_from(["none"] * 3 + ["ok"] * 3 + ["bad"]))
    if kind == "none":
        rng = None
    elif kind == "ok":
        lo, hi = sorted(draw(st.lists(st.floats(-big, big) if chance(draw, 3) else
                                      st.floats(-20, 20), min_size=2, max_size=2)))
        if extreme and chance(draw, 2):
            lo, hi = draw(st.sampled_from([(-1e308, 1e308), (-1.7e308, 1.7e308), (0, 1e308)]))
        if not extreme:
            assume(math.isfinite(hi - lo))
        rng = (lo, hi) if not chance(draw, 4) else [np.float64(lo), np.array(hi)]
    else:
        rng, fault = draw(st.sampled_from([
            ((1.0, 0.0), Fault(ValueError, r"range must have min <= max")),
            ((np.nan, 1.0), Fault(ValueError, r"range must be finite")),
            ((0.0, np.inf), Fault(ValueError, r"range must be finite")),
            ((0.0, 10**400), Fault(ValueError, r"range must be finite")),
            ((1.0,), Fault(TypeError, r"range must be a pair of numbers")),
            ((0, 1, 2), Fault(TypeError, r"range must be a pair of numbers")),
            ("ab", Fault(TypeError, r"range must be a pair of numbers")),
            (5, Fault(TypeError, r"range must be a pair of numbers")),
        ]))
        if not isinstance(bins, np.ndarray) and not isinstance(bins, list) or faults:
            faults.append(fault)  # edges for bins: range is ignored
    return bins, rng, faults


def ref_stats(x: np.ndarray) -> dict:
    """Counts, extremes, mean and m2 of the finite values of ``x`` (float64): exact (as
    fractions) for up to 300 values, else with math.fsum on values scaled by a power of 2
    (``m2`` None where that cannot tell an overflowing sum from rounding noise)."""
    fin = x[np.isfinite(x)]
    out = {"count": fin.size, "nan_count": int(np.isnan(x).sum()),
           "inf_count": int(np.isinf(x).sum()), "zero_count": int((x == 0).sum())}
    if not fin.size:
        return out
    out["min"], out["max"] = float(fin.min()), float(fin.max())
    out["top"] = float(np.abs(fin).max())
    if fin.size <= 300:
        exact = [Fraction(float(v)) for v in fin]
        mean = sum(exact) / fin.size
        m2 = sum((v - mean) ** 2 for v in exact)
        out["mean"] = float(mean)
        out["m2"] = float(m2) if m2 < Fraction(2**1024) else math.inf
        return out
    k = math.frexp(out["top"])[1] if out["top"] else 0
    scaled = [math.ldexp(v, -k) for v in fin]
    mean_s = math.fsum(scaled) / fin.size
    out["mean"] = math.ldexp(mean_s, k)
    m2_s = math.fsum((v - mean_s) ** 2 for v in scaled)
    try:
        out["m2"] = math.ldexp(m2_s, 2 * k)
    except OverflowError:
        out["m2"] = math.inf if m2_s > fin.size * 2.0**-80 else None
    return out


def check_stats(s: winit.Stats, x: np.ndarray, bins, rng) -> None:
    """``s`` against the reference of the (float64) data ``x`` and numpy's histogram."""
    ref = ref_stats(x)
    for k in ("count", "nan_count", "inf_count", "zero_count"):
        assert getattr(s, k) == ref[k], f"{k}: {getattr(s, k)} != {ref[k]}"
    if ref["count"] == 0:
        assert math.isnan(s.mean) and math.isnan(s.min) and math.isnan(s.max)
    else:
        assert (s.min, s.max) == (ref["min"], ref["max"])
        assert abs(s.mean - ref["mean"]) <= 1e-12 * ref["top"], f"mean {s.mean} != {ref['mean']}"
        if ref["m2"] is None:
            pass
        elif math.isfinite(ref["m2"]) and ref["m2"] < 1e300:
            tol = 1e-9 * ref["m2"] + ref["count"] * (1e-7 * ref["top"]) * (1e-7 * ref["top"])
            assert abs(s.m2 - ref["m2"]) <= tol, f"m2 {s.m2} != {ref['m2']}"
        else:
            assert s.m2 > 1e300, f"m2 {s.m2}, the true central sum is {ref['m2']}"
    if bins is None:
        assert s.hist is None
        return
    fin = x[np.isfinite(x)]
    try:
        if isinstance(bins, (list, np.ndarray)):
            want = np.histogram(fin, np.asarray(bins, np.float64))
        else:
            lo_hi = (rng if rng is not None else
                     (fin.min(), fin.max()) if fin.size else (0.0, 1.0))
            want = np.histogram(fin, int(bins), range=tuple(float(v) for v in lo_hi))
    except ValueError:  # numpy cannot (x +- 0.5 == x): every value inside the edges counted
        edges = s.hist[1]
        assert s.hist[0].sum() == ((fin >= edges[0]) & (fin <= edges[-1])).sum()
        return
    if not np.all(np.isfinite(want[1])):
        # a range wider than float64: numpy's linspace gives NaN edges; winit halves the
        # range, so its edges are finite and end at the range; count on those edges
        edges = s.hist[1]
        assert np.all(np.isfinite(edges)) and edges[-1] == want[1][-1]
        want = np.histogram(fin, edges)
    assert np.array_equal(s.hist[1], want[1]), "histogram edges differ from numpy's"
    assert np.array_equal(s.hist[0], want[0]), f"counts {s.hist[0]} != numpy's {want[0]}"


def _run_stats(data, extreme: bool) -> None:
    t = data.draw(tensors(name="a", writable=False, huge=False), label="a")
    fill_data(data.draw, t, extreme=extreme)
    if not extreme:  # (overlapping views mix the bytes of values: any float can come out)
        assume(not t.ok or not (np.abs(as_f64(t.value)) > 1e300).any())
    bins, rng, faults = data.draw(bins_and_range(extreme), label="bins, range")
    common = data.draw(commons(), label="threads")
    faults += t.faults + common.faults(seed=False, offset=False)
    with np.errstate(all="ignore"):
        s, exc, _ = outcome(lambda: winit.stats(t.value, bins=bins, range=rng,
                                                threads=common.threads), faults)
    t.check_untouched(failed=True)  # stats never writes
    if exc is not None:
        return
    check_stats(s, as_f64(t.value).ravel(), bins, rng)
    c = winit.stats(np.ascontiguousarray(t.value), bins=bins, range=rng, threads=1)
    assert s == c, "differs from the statistics of a C-contiguous copy on one thread"


def test_stats(fuzz):
    @fuzz(2 * EXAMPLES)
    @given(data=st.data())
    def check(data):
        _run_stats(data, extreme=False)
    check()


def test_stats_extreme_values(fuzz):
    """As test_stats, with data and ranges up to float64's largest values."""
    @fuzz()
    @given(data=st.data())
    def check(data):
        _run_stats(data, extreme=True)
    check()


@st.composite
def named_arrays(draw):
    """(named_arrays, faults, [(name, value)]) for layer_stats."""
    items, faults = [], []
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["array"] * 6 + ["stats", "bad"]))
        if kind == "array":
            t = draw(tensors(name="a", writable=False, huge=False))
            fill_data(draw, t)
            assume(not t.ok or not (np.abs(as_f64(t.value)) > 1e300).any())  # see _run_stats
            name = draw(st.sampled_from([f"w{i}", i, f"layer.{i}"]))
            items.append((name, t.value))
            faults += [Fault(f.exc, rf"layer_stats: array {re.escape(repr(str(name)))}: "
                                    + f.pattern) for f in t.faults]
        elif kind == "stats":
            items.append((f"s{i}", winit.stats(np.arange(4.0) * i)))
        else:
            item = draw(st.sampled_from([("x", np.ones(2), 3), "xy", 5, None]))
            items.append(item)
            faults.append(Fault(TypeError, r"layer_stats expects a mapping name -> array or"
                                           r"|layer_stats: array .*: a must be a numpy.ndarray"))
    as_dict = not faults and chance(draw, 2) and len({str(n) for n, _ in items}) == len(items)
    arg = dict(items) if as_dict else (iter(items) if chance(draw, 2) else items)
    return arg, faults, items


def test_layer_stats(fuzz):
    @fuzz()
    @given(arrays=named_arrays(), data=st.data())
    def check(arrays, data):
        arg, faults, items = arrays
        bins, rng, more = data.draw(bins_and_range(), label="bins, range")
        arrays = [n for n, v in (i for i in items if isinstance(i, tuple) and len(i) == 2)
                  if not isinstance(v, winit.Stats)]
        if arrays:  # bins and range are checked for each array
            faults += [Fault(f.exc, r"layer_stats: array .*: " + f.pattern) for f in more]
        with np.errstate(all="ignore"):
            table, exc, _ = outcome(lambda: winit.layer_stats(arg, bins=bins, range=rng), faults)
        if exc is not None:
            return
        assert list(table) == list(dict.fromkeys(str(n) for n, _ in items))
        for name, value in dict((str(n), v) for n, v in items).items():
            want = value if isinstance(value, winit.Stats) else winit.stats(value, bins=bins,
                                                                            range=rng)
            assert table[name] == want
    check()


# --------------------------------------------------------------------------- winit.nn


@st.composite
def sizes(draw, name: str, minimum: int | None, small: int = 6):
    """A layer size: mostly a small int, sometimes a wrong type, a too small or huge value."""
    kind = draw(st.sampled_from(["ok"] * 10 + ["np", "low", "type", "huge"]))
    if kind == "ok":
        return draw(st.integers(max(minimum or 0, 1), small)), None
    if kind == "np":
        return np.int64(draw(st.integers(max(minimum or 0, 1), small))), None
    if kind == "low" and minimum is not None:
        return minimum - draw(st.integers(1, 3)), Fault(ValueError, rf"{name} must be >= ")
    if kind == "huge":
        return 2**40, "huge"
    return draw(st.sampled_from([1.0, "3", None, True, 2.5])), Fault(
        TypeError, rf"{name} must be an integer")


def test_nn_layers(fuzz):
    """Layer constructors: a layer with torch's default initialization, or an error naming
    the argument; a weight too big to allocate is an error naming the layer's shape."""
    @fuzz()
    @given(which=st.sampled_from(["Linear", "Conv2d", "LeakyReLU", "Flatten", "Sequential"]),
           common=commons(), data=st.data(),
           dtype=st.sampled_from([np.float32, np.float64, "float64", np.float16, "bfloat16",
                                  np.int32, "nope"]))
    def check(which, common, data, dtype):
        faults, huge = [], False
        if which in ("Linear", "Conv2d"):
            names = (["in_features", "out_features"] if which == "Linear"
                     else ["in_channels", "out_channels"])
            args = []
            for name in names:
                v, f = data.draw(sizes(name, 1), label=name)
                args.append(v)
                huge |= f == "huge"
                if isinstance(f, Fault):
                    faults.append(f)
            if huge:  # never a weight numpy would try to allocate (2**40 floats): 2**80
                args = [2**40 if is_int(v) and v > 0 else v for v in args]
            kw = {"dtype": dtype, "seed": common.seed, "bias": data.draw(st.booleans())}
            if which == "Conv2d":
                for name, minimum in (("kernel_size", 1), ("stride", 1), ("padding", 0)):
                    v, f = data.draw(sizes(name, minimum, small=3), label=name)
                    if f == "huge" and name != "kernel_size":
                        v, f = 1, None
                    huge |= f == "huge"
                    if chance(data.draw, 4):
                        v = (v, v) if not chance(data.draw, 3) else (v, v, v)
                        if len(v) == 3:
                            f = Fault(ValueError, rf"{name} must be an int or a pair of ints")
                    if isinstance(f, Fault):
                        faults.append(f)
                    kw[name] = v
            if dtype in (np.float16, "bfloat16"):
                faults.append(Fault(TypeError, r"winit.nn layers support float32 and float64"))
            elif dtype in (np.int32, "nope"):
                faults.append(Fault(TypeError, r"unsupported dtype"))
            if common.seed_fault:
                faults.append(common.seed_fault)
            allowed = ([Fault(ValueError, rf"{which}: .*weight of shape .* too big")]
                       if huge and not faults else [])
            if huge and not faults:
                faults = allowed
            layer, exc, _ = outcome(lambda: getattr(nn, which)(*args, **kw), faults)
            if exc is not None:
                return
            fan_in = int(args[0]) * (math.prod(layer.kernel_size) if which == "Conv2d" else 1)
            bound = 1.0 / math.sqrt(fan_in)
            assert layer.weight.dtype == np.dtype(dtype)
            in_range(as_f64(layer.weight).ravel(), -bound, bound, hi_open=True)
            if layer.bias is not None:
                in_range(as_f64(layer.bias).ravel(), -bound, bound, hi_open=True)
            if common.make_seed is not None:
                kw["seed"] = common.make_seed()
                again = getattr(nn, which)(*args, **kw)
                assert bits(again.weight) == bits(layer.weight)
        elif which == "LeakyReLU":
            slope = data.draw(reals(0.0, 0.5, ordinary=20), label="negative_slope")
            kind = slope.kind()
            outcome(lambda: nn.LeakyReLU(slope.value),
                    [param_fault("negative_slope", kind)] if kind else [])
        elif which == "Flatten":
            v, f = data.draw(sizes("start_dim", None), label="start_dim")
            outcome(lambda: nn.Flatten(v), [f] if isinstance(f, Fault) else [])
        else:
            layers = data.draw(st.lists(st.sampled_from(
                [nn.ReLU(), nn.Tanh(), nn.Identity(), 3, None, "relu", abs]), max_size=4))
            bad = [i for i, x in enumerate(layers) if not callable(x)]
            net, _, _ = outcome(lambda: nn.Sequential(*layers),
                                [Fault(TypeError, rf"Sequential: layer {i} .* is not callable")
                                 for i in bad])
            if net is not None:
                assert len(net) == len(layers)
    check()


# --------------------------------------------------------------------------- model specs

SPEC_INITS = ["normal", "zeros", "xavier_uniform", "he_normal", "", "nope", 3, None]
SPEC_DTYPES = [None, "float32", "bfloat16", "bf16", "float16", "int8", 5, "garbage"]


@st.composite
def spec_entries(draw):
    """A spec entry: mostly well formed, sometimes with a bad field."""
    if chance(draw, 12):
        return draw(st.sampled_from([5, "normal", [1, 2], None]))
    entry = {}
    kind = draw(st.sampled_from(["ok"] * 8 + ["missing", "bool", "neg", "float", "str", "huge"]))
    if kind != "missing":
        shape = draw(st.lists(st.integers(0, 6), max_size=4))
        shape = {"ok": shape, "bool": [*shape, True], "neg": [*shape, -1],
                 "float": [*shape, 2.0], "str": "3x3", "huge": [2**40, 2**30]}[kind]
        entry["shape"] = tuple(shape) if chance(draw, 5) and kind != "str" else shape
    if not chance(draw, 12):
        entry["init"] = draw(st.sampled_from(SPEC_INITS))
    if chance(draw, 3):
        entry["dtype"] = draw(st.sampled_from(SPEC_DTYPES))
    for key in draw(st.lists(st.sampled_from(["std", "gain", "mode", "a", "extra"]), max_size=2,
                             unique=True)):
        entry[key] = draw(st.sampled_from([0.02, 1, "fan_in", True, None, [1, 2],
                                           np.float32(0.5), {"x": 1}, [[1]], [None]]))
    return entry


@st.composite
def specs(draw, depth: int = 0):
    """A (possibly nested) spec mapping."""
    spec = {}
    for i in range(draw(st.integers(0 if depth else 1, 3))):
        key = draw(st.sampled_from([f"t{i}"] * 4 + ["layer0.w", "layer0", "__metadata__", ""]
                                   if depth == 0 else [f"t{i}", f"sub{i}", "w"]))
        if key == "__metadata__":
            spec[key] = {"a": "b"}
        elif depth < 2 and chance(draw, 4):
            spec[key] = draw(specs(depth + 1))
        else:
            spec[key] = draw(spec_entries())
    return spec


def _ref_flatten(spec: dict, prefix: str = "", path: tuple = ()):
    """(dotted name, key path, entry) of a spec as load_spec's docstring reads it: nested
    mappings without "shape" (or "init") whose values are all mappings are tables."""
    for key, value in spec.items():
        if key == "__metadata__" and not prefix:
            continue
        name = f"{prefix}.{key}" if prefix else key
        if (isinstance(value, dict) and value and "shape" not in value and "init" not in value
                and all(isinstance(v, dict) for v in value.values())):
            yield from _ref_flatten(value, name, (*path, key))
        else:
            yield name, (*path, key), value


def ref_spec_faults(raw: dict) -> list[Fault]:
    """The SpecErrors a spec calls for, each naming its tensor and field."""
    entries = list(_ref_flatten(raw))
    if not entries:
        return [Fault(SpecError, r"the spec has no tensors")]
    faults, seen = [], set()
    for name, path, entry in entries:
        at = rf"tensor {re.escape(repr(name))}"
        if any(k == "" for k in path):
            faults.append(Fault(SpecError, r"tensor names must be non-empty strings"))
        if name in seen:
            faults.append(Fault(SpecError, rf"{at} is defined twice"))
        seen.add(name)
        if not isinstance(entry, dict):
            faults.append(Fault(SpecError, rf"{at}: entry must be a table/mapping"))
            continue
        for field_ in ("shape", "init"):
            if field_ not in entry:
                faults.append(Fault(SpecError, rf"{at}: missing field '{field_}'"))
        shape = entry.get("shape", ())
        if (isinstance(shape, str) or not isinstance(shape, (list, tuple))
                or not all(is_int(d) and d >= 0 for d in shape)
                or math.prod(shape) * 8 >= 2**63):
            faults.append(Fault(SpecError, rf"{at}, field 'shape'"))
        if "init" in entry and not (isinstance(entry["init"], str) and entry["init"]):
            faults.append(Fault(SpecError, rf"{at}, field 'init'"))
        if entry.get("dtype") not in (None, "float32", "bfloat16", "bf16", "float16"):
            faults.append(Fault(SpecError, rf"{at}, field 'dtype'"))
        scalar = (numbers.Real, str, bool, np.generic)
        for key, value in entry.items():
            if key not in ("shape", "init", "dtype") and not (
                    value is None or isinstance(value, scalar) or isinstance(value, list)
                    and all(isinstance(v, scalar) for v in value)):
                faults.append(Fault(SpecError, rf"{at}, field {re.escape(repr(key))}"))
    return faults


def test_load_spec(fuzz):
    @fuzz()
    @given(raw=specs())
    def check(raw):
        result, _, _ = outcome(lambda: winit.load_spec(raw), ref_spec_faults(raw))
        if result is None:
            return
        want = {name: entry for name, _, entry in _ref_flatten(raw)}
        assert list(result) == list(want)
        for name, ts in result.items():
            entry = want[name]
            assert isinstance(ts, TensorSpec) and ts.name == name and ts.init == entry["init"]
            assert ts.shape == tuple(int(d) for d in entry["shape"])
            assert ts.params == {k: tuple(v) if isinstance(v, list) else v
                                 for k, v in entry.items() if k not in ("shape", "init", "dtype")}
    check()


# --------------------------------------------------------------------------- what the fuzzer found
# One deterministic probe per bug the suite found, so each stays fixed whatever the examples
# the fuzzer draws (the messages before the fix are in the comments).

E3, E34 = np.empty(3), np.empty((3, 4), np.float16)
FOUND_ERRORS = [
    # OverflowError: int too large to convert to float
    (lambda: winit.uniform_(E3, 0, 10**400), ValueError, r"^b must be finite"),
    (lambda: winit.calculate_gain("celu", 10**400), ValueError, r"alpha .* not a valid value"),
    (lambda: winit.stats(E3, bins=3, range=(0, 10**400)), ValueError, r"range must be finite"),
    (lambda: winit.stats(E3, bins=[0, 10**400]), ValueError, r"bins edges must be finite"),
    # truncated_normal_: "trunc_normal_: a must be <= b" (or, with std=0, no error at all) and
    # "a must not be NaN" for bounds the caller did not pass
    (lambda: winit.truncated_normal_(E3, std=0.0, lower=1.0, upper=-1.0), ValueError,
     r"truncated_normal_: lower must be <= upper"),
    (lambda: winit.truncated_normal_(E3, std=0.0, lower=-np.inf), ValueError,
     r"truncated_normal_: lower=-inf, upper=2.0 with std=0.0"),
    # 1.0 (the real part's gain) and a ComplexWarning
    (lambda: winit.calculate_gain(lambda x: x * (1 + 1j)), TypeError, r"returned complex values"),
    # TypeError: unhashable type: 'list'
    (lambda: winit.calculate_gain("gelu", [1]), ValueError, r"gelu approximation \[1\]"),
    # "nonlinearity 'celu': E[f(z)^2] = inf ...", after RuntimeWarnings
    (lambda: winit.calculate_gain("celu", -0.03125), ValueError,
     r"nonlinearity 'celu' \(alpha=-0.03125\): E\[f\(z\)\^2\] = inf"),
    # compute_fans(-3, "keras") == (-3, -3)
    (lambda: winit.compute_fans(-3, "keras"), ValueError, r"shape must contain non-negative"),
    # "uniform_: a=-92582.0 is outside the range of float16": an argument never passed
    (lambda: winit.xavier_uniform_(E34, 1e5), ValueError,
     r"^xavier_uniform_\(gain=100000.0\) on shape \(3, 4\): uniform_: a="),
    (lambda: winit.get("xavier_uniform", gain=1e308).check((3, 4)), ValueError,
     r"^xavier_uniform_\(gain=1e\+308\) on shape \(3, 4\): "),
    # accepted silently on an empty tensor
    (lambda: winit.xavier_uniform_(np.empty((0, 3)), threads=0), ValueError, r"threads"),
    (lambda: winit.orthogonal_(np.empty((0, 3)), offset=-1), ValueError, r"offset"),
    (lambda: winit.eye_(np.empty((0, 3)), threads=-2), ValueError, r"threads"),
    # inf values
    (lambda: winit.orthogonal_(np.empty((3, 4), np.float32), 1e300), ValueError,
     r"orthogonal_: gain=1e\+300 is outside the range of float32"),
    (lambda: winit.orthogonal_(E34, 1e5), ValueError, r"gain=100000.0 is outside"),
    (lambda: winit.delta_orthogonal_(np.empty((4, 3, 3), np.float16), 1e5), ValueError,
     r"delta_orthogonal_: gain=100000.0 is outside"),
    (lambda: winit.get("eye", gain=1e5)((3, 3), np.float16), ValueError, r"eye_: gain="),
    # NaN values (the symmetric hann window of 2 frames is all zeros: 0 / 0)
    (lambda: winit.get("stft")((2, 1, 2), np.float32), ValueError, r"window 'hann' is all zeros"),
    (lambda: winit.get("stft").check((2, 1, 2)), ValueError, r"window 'hann' is all zeros"),
    (lambda: winit.get("stft").check(()), ValueError, r"the STFT kernel is"),
    (lambda: winit.get("stft", window=[1.0, np.nan])((2, 1, 3)), ValueError,
     r"window values must be finite"),
    # numpy's words, naming nothing: "'float' object cannot be interpreted as an integer",
    # "array is too big; ..."
    (lambda: winit.get("normal")((2.5, 2)), TypeError, r"^shape \(2.5, 2\): "),
    (lambda: winit.get("normal")((2**40, 2**40)), ValueError, r"^shape \(\d+, \d+\): array is"),
    (lambda: nn.Linear(2**40, 2**40), ValueError, r"^Linear: a weight of shape .* too big"),
    # "a has unsupported dtype int64": which array?
    (lambda: winit.layer_stats({"w": E3, "b": np.arange(3)}), TypeError,
     r"^layer_stats: array 'b': a has unsupported dtype int64"),
]


@pytest.mark.parametrize("k", range(len(FOUND_ERRORS)))
def test_found_errors(k):
    call, exc, match = FOUND_ERRORS[k]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(exc, match=match):
            call()


def test_found_values():
    """Inputs that raised, or gave values that were not finite, now answered."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # OverflowError: (34, 'Numerical result out of range')
        assert winit.calculate_gain("leaky_relu", 1e200) == math.sqrt(2.0) / 1e200
        w = winit.kaiming_uniform_(np.empty((4, 3)), a=1e200, seed=0)
        assert np.isfinite(w).all() and 0 < np.abs(w).max() < 1e-199
        # "b must be finite, got inf": a bfloat16 infinity is an infinite bound like any other
        w = winit.trunc_normal_(np.empty(100, np.float32), a=1.0, b=ml_dtypes.bfloat16(np.inf),
                                seed=0)
        assert (w >= 1).all() and np.isfinite(w).all()
        assert np.array_equal(w, winit.trunc_normal_(np.empty(100, np.float32), a=1.0, b=np.inf,
                                                     seed=0))
        # compute_fans returned numpy ints for numpy groups
        fans = winit.compute_fans((4, 4), groups=np.int64(2))
        assert fans == (4, 2) and all(type(f) is int for f in fans)
