"""One-pass layer statistics: moments, extremes, NaN/Inf/zero counts, histograms.

:func:`stats` reads an array once (any layout, float16 / bfloat16 / float32 /
float64) in a C kernel and returns a :class:`Stats`. The result is
bit-identical for every thread count: the flat C-order index space is cut
into fixed blocks of ``BLOCK`` elements, each block has its own partial
moments, and the partials are combined in block order with the pairwise
formulas of Chan, Golub & LeVeque (1979) and Pébay (2008). Sums are float64
powers of ``x - shift`` with ``shift`` a data value near the mean, so
``|mean| >> std`` loses nothing.

:meth:`Stats.merge` uses the same formulas, so statistics of chunks, shards,
memmapped pieces or Dask partitions merge into those of the whole (to
rounding). :func:`layer_stats` tabulates many named arrays.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from . import _stats
from ._common import check_float_array, resolve_threads
from ._report import Table, cell

__all__ = ["BLOCK", "Stats", "StatsTable", "layer_stats", "stats"]

#: Elements per block of the kernel (flat C-order index space).
BLOCK: int = _stats.BLOCK

# scipy.stats.skew/kurtosis return NaN when var <= (resolution * mean)**2
_RESOLUTION = float(np.finfo(np.float64).resolution)


def _nan_eq(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y))
    return x == y


@dataclass(frozen=True, eq=False)
class Stats:
    """Statistics of the finite values of an array (or of several, merged).

    Stored as count, mean and the central sums ``m2, m3, m4`` (``m_k = sum (x -
    mean)**k``), which is what exact merging needs; the usual quantities are
    properties. Construct one directly from partial moments to merge results
    computed elsewhere (another process, a checkpoint streamed tensor by tensor).

    Parameters
    ----------
    count : int
        Number of finite values.
    mean : float
        Their mean (NaN when ``count == 0``).
    m2, m3, m4 : float
        Central sums of squares, cubes and fourth powers.
    min, max : float
        Smallest and largest finite value (NaN when ``count == 0``).
    nan_count, inf_count, zero_count : int
        Number of NaN, of ±Inf, and of zero (±0) values.
    hist : tuple of (ndarray, ndarray) or None
        ``(counts, edges)`` as :func:`numpy.histogram` returns them.

    Examples
    --------
    >>> import numpy as np, winit
    >>> a = np.arange(10, dtype=np.float32)
    >>> s = winit.stats(a[:3]).merge(winit.stats(a[3:]))
    >>> s.count, s.mean, s.var
    (10, 4.5, 8.25)
    """

    count: int = 0
    mean: float = math.nan
    m2: float = 0.0
    m3: float = 0.0
    m4: float = 0.0
    min: float = math.nan
    max: float = math.nan
    nan_count: int = 0
    inf_count: int = 0
    zero_count: int = 0
    hist: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    # ---- derived quantities ------------------------------------------------
    @property
    def var(self) -> float:
        """Population variance (``ddof=0``, numpy's default)."""
        return self.m2 / self.count if self.count > 0 else math.nan

    @property
    def sample_var(self) -> float:
        """Sample variance (``ddof=1``, as ``scipy.stats.describe``)."""
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan

    @property
    def std(self) -> float:
        """Population standard deviation (``ddof=0``)."""
        return math.sqrt(self.var) if self.count > 0 else math.nan

    def _degenerate(self) -> bool:
        v = self.var
        t = _RESOLUTION * self.mean  # t * t: inf (not OverflowError) for means near 1e308
        return self.count == 0 or not v > t * t

    @property
    def skew(self) -> float:
        """Skewness ``m3 / m2**1.5`` (biased, ``scipy.stats.skew`` default); NaN for
        constant data."""
        if self._degenerate():
            return math.nan
        n = self.count
        return (self.m3 / n) / (self.m2 / n) ** 1.5

    @property
    def kurtosis(self) -> float:
        """Excess kurtosis ``m4 / m2**2 - 3`` (biased, Fisher, ``scipy.stats.kurtosis``
        default); NaN for constant data."""
        if self._degenerate():
            return math.nan
        n = self.count
        return (self.m4 / n) / (self.m2 / n) ** 2 - 3.0

    @property
    def size(self) -> int:
        """All values seen: finite, NaN and Inf."""
        return self.count + self.nan_count + self.inf_count

    # ---- combination -------------------------------------------------------
    def merge(self, other: Stats) -> Stats:
        r"""Statistics of the union of the data of ``self`` and ``other``.

        Exact pairwise formulas (Chan et al. 1979 for the mean and ``m2``,
        Pébay 2008 for ``m3`` and ``m4``); merging the statistics of the chunks
        of an array gives those of the whole up to rounding (~1e-15 relative).
        Histograms are added when both have the same edges; a statistics object
        of no values (``Stats()``) is the identity. ``a + b`` is ``a.merge(b)``.

        With :math:`n = n_a + n_b` and :math:`\delta = \bar x_b - \bar x_a`:

        .. math::
            \bar x = \bar x_a + \delta \frac{n_b}{n}, \qquad
            M_2 = M_{2,a} + M_{2,b} + \delta^2 \frac{n_a n_b}{n}

        Parameters
        ----------
        other : Stats
            Statistics of the other data.

        Returns
        -------
        Stats
            A new object: counts added, the smaller ``min`` and larger ``max``
            (NaN-aware), merged moments and histogram.

        Raises
        ------
        ValueError
            When both have histograms with different edges, or only one has one
            and the other is not empty.
        TypeError
            ``other`` is not a :class:`Stats`.
        """
        if not isinstance(other, Stats):
            raise TypeError(f"can only merge Stats with Stats, not {type(other).__name__}")
        hist = _merge_hist(self, other)
        a, b = self, other
        mom = _stats.merge_moments((a.count, a.mean, a.m2, a.m3, a.m4),
                                   (b.count, b.mean, b.m2, b.m3, b.m4))
        return Stats(
            *mom,
            min=float(np.fmin(a.min, b.min)),
            max=float(np.fmax(a.max, b.max)),
            nan_count=a.nan_count + b.nan_count,
            inf_count=a.inf_count + b.inf_count,
            zero_count=a.zero_count + b.zero_count,
            hist=hist,
        )

    __add__ = merge

    @classmethod
    def merge_all(cls, parts: Iterable[Stats]) -> Stats:
        """Merge many in order (``Stats()`` for none).

        Parameters
        ----------
        parts : iterable of Stats
            Statistics of the pieces (consumed once; a generator works).

        Returns
        -------
        Stats
            ``Stats().merge(p0).merge(p1)...``, as :meth:`merge`.
        """
        out = cls()
        for p in parts:
            out = out.merge(p)
        return out

    # ---- conversions -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict of the stored fields plus the derived quantities
        (JSON-friendly; ``Stats.from_dict`` reads it back).

        Returns
        -------
        dict
            ``count``, ``mean``, ``m2``, ``m3``, ``m4``, ``min``, ``max``,
            ``nan_count``, ``inf_count``, ``zero_count``, then ``var``,
            ``sample_var``, ``std``, ``skew``, ``kurtosis``, and ``hist`` as
            ``[counts, edges]`` lists when there is a histogram.
        """
        d: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)
                             if f.name != "hist"}
        for name in ("var", "sample_var", "std", "skew", "kurtosis"):
            d[name] = getattr(self, name)
        if self.hist is not None:
            d["hist"] = [self.hist[0].tolist(), self.hist[1].tolist()]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Stats:
        """Inverse of :meth:`to_dict` (derived quantities are ignored).

        Parameters
        ----------
        d : mapping
            A :meth:`to_dict` result (e.g. read back from JSON). Stored fields it
            lacks take their defaults; other keys are ignored.

        Returns
        -------
        Stats
            Equal (``==``) to the object ``d`` was made from; the histogram's
            counts are int64 and its edges float64.
        """
        kw = {f.name: d[f.name] for f in fields(cls) if f.name in d and f.name != "hist"}
        h = d.get("hist")
        if h is not None:
            kw["hist"] = (np.asarray(h[0], dtype=np.int64), np.asarray(h[1], dtype=np.float64))
        return cls(**kw)

    def __eq__(self, other: object) -> bool:
        """Exact equality of every field (NaN equals NaN; histograms element-wise)."""
        if not isinstance(other, Stats):
            return NotImplemented
        for f in fields(self):
            x, y = getattr(self, f.name), getattr(other, f.name)
            if f.name == "hist":
                if (x is None) != (y is None):
                    return False
                if x is not None and not (np.array_equal(x[0], y[0])
                                          and np.array_equal(x[1], y[1])):
                    return False
            elif not _nan_eq(x, y):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        h = "" if self.hist is None else f", bins={len(self.hist[0])}"
        return (f"Stats(count={self.count}, mean={self.mean:.6g}, std={self.std:.6g}, "
                f"min={self.min:.6g}, max={self.max:.6g}, skew={self.skew:.4g}, "
                f"kurtosis={self.kurtosis:.4g}, nan_count={self.nan_count}, "
                f"inf_count={self.inf_count}, zero_count={self.zero_count}{h})")


def _merge_hist(a: Stats, b: Stats):
    ha, hb = a.hist, b.hist
    if ha is None and hb is None:
        return None
    if ha is None or hb is None:
        empty, full = (a, hb) if ha is None else (b, ha)
        if empty.size == 0:
            return (full[0].copy(), full[1].copy())
        raise ValueError("cannot merge a Stats with a histogram and one without "
                         "(compute both with the same bins and range)")
    if not np.array_equal(ha[1], hb[1]):
        raise ValueError("cannot merge histograms with different edges "
                         "(compute both with the same bins and range)")
    return (ha[0] + hb[0], ha[1].copy())


# ---- the kernel call ----------------------------------------------------------------
def _check_range(range) -> tuple[float, float]:
    try:
        first, last = (float(v) for v in range)
    except (TypeError, ValueError):
        raise TypeError(f"range must be a pair of numbers (min, max), got {range!r}") from None
    except OverflowError:  # an int beyond float64's range
        raise ValueError(f"range must be finite, got {range!r}") from None
    if not (math.isfinite(first) and math.isfinite(last)):
        raise ValueError(f"range must be finite, got [{first}, {last}]")
    if first > last:
        raise ValueError(f"range must have min <= max, got [{first}, {last}]")
    return first, last


def _uniform_edges(nbins: int, first: float, last: float) -> np.ndarray:
    if first == last:  # numpy: expand an empty range
        first, last = first - 0.5, last + 0.5
    if math.isinf(last - first):  # a range wider than float64: halve, then double (exact)
        return 2.0 * np.linspace(first / 2, last / 2, nbins + 1, endpoint=True, dtype=np.float64)
    return np.linspace(first, last, nbins + 1, endpoint=True, dtype=np.float64)


def _bin_by_scale(edges) -> bool:
    """Whether uniform edges can be binned by scaling (their span is a finite float64);
    wider ones are binned by search over the edges."""
    return edges is None or math.isfinite(float(edges[-1]) - float(edges[0]))


def _huge_moments(a: np.ndarray, nthreads: int, r: tuple) -> tuple:
    """``r`` (the kernel's result) with moments of float64 data near the overflow limit.

    The kernel sums ``x - shift`` in float64: for finite values whose spread is near
    1.8e308 those sums overflow although the mean does not. Recomputed on the data
    scaled by a power of two (exact, but for values below ~1e-290 that vanish next to
    the others), the mean is correct; ``m2``.. overflow to inf exactly when the true
    central moments do (documented: such data has ``var == inf``). Needs a scaled copy.
    """
    k = max(1, int(math.ceil(math.log2(max(r[0], 1)))) + 2)
    rs = _stats.compute(np.ldexp(a, -k), nthreads)
    scale = 2.0**k
    with np.errstate(over="ignore"):
        moments = (rs[1] * scale, float(np.float64(rs[2]) * scale * scale),
                   float(np.float64(rs[3]) * scale**3), float(np.float64(rs[4]) * scale**4))
    return (r[0], *moments, *r[5:])


def _check_bins(bins) -> int | np.ndarray:
    if isinstance(bins, (bool, np.bool_)):
        raise TypeError("bins must be a positive int or a 1-D array of edges, not bool")
    if isinstance(bins, (numbers.Integral, np.integer)):
        if int(bins) < 1:
            raise ValueError(f"bins must be a positive int, got {int(bins)}")
        return int(bins)
    if isinstance(bins, str):
        raise TypeError(f"bins must be a positive int or a 1-D array of edges, got {bins!r}")
    try:
        e = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"bins must be a positive int or a 1-D array of edges, "
                        f"got {type(bins).__name__}") from None
    except OverflowError:  # an int beyond float64's range
        raise ValueError("bins edges must be finite") from None
    if e.ndim != 1 or e.size < 2:
        raise ValueError("bins as edges must be a 1-D array of at least 2 values")
    if not np.all(np.isfinite(e)):
        raise ValueError("bins edges must be finite")
    if np.any(e[:-1] > e[1:]):
        raise ValueError("bins edges must increase monotonically")
    return e


def stats(a: np.ndarray, *, bins: int | np.ndarray | None = None,
          range: tuple[float, float] | None = None, threads: int | None = None) -> Stats:
    """Count, mean, variance, skewness, kurtosis, extremes, NaN/Inf/zero counts
    and optionally a histogram of an array, in one pass of a C kernel.

    NaN and ±Inf are counted (``nan_count``, ``inf_count``) and excluded from
    everything else. An empty or all-NaN array gives ``count == 0`` and NaN
    moments and extremes, without a warning. The result is bit-identical for
    every ``threads``, memory layout and SIMD path.

    Parameters
    ----------
    a : numpy.ndarray
        float16, bfloat16 (``ml_dtypes``), float32 or float64, any layout
        (strided views and read-only arrays and memmaps are read in place, block by
        block). Integer, bool and complex arrays raise ``TypeError``: convert them
        first (``a.astype(np.float64)``).
    bins : int or 1-D array, optional
        A histogram in the same pass: the number of equal-width bins, or the bin
        edges (non-decreasing), as :func:`numpy.histogram`. Counts agree with
        ``numpy.histogram(a.astype(np.float64), bins, range)`` exactly (with
        ``a`` in float32 numpy's float32 edges can differ for values that lie on
        an edge): bin ``i`` holds ``edges[i] <= x < edges[i+1]``, the last bin
        also ``x == edges[-1]``.
    range : (float, float), optional
        Lower and upper edge for an int ``bins``. Without it the range is the
        minimum and maximum of the finite values, which costs a first pass (the
        moments) and a second, histogram-only pass; NaN/Inf never make it
        non-finite (numpy raises there). Ignored when ``bins`` gives edges.
    threads : int, optional
        Threads to use; ``None`` = the OpenMP default (``OMP_NUM_THREADS``,
        threadpoolctl limits).

    Returns
    -------
    Stats

    Notes
    -----
    Accumulation is in float64 of powers of ``x - shift`` (shift: the data
    value closest to the mean of the first block), per block of ``BLOCK``
    elements; a block whose mean lies more than one standard deviation from the
    shift is summed again around its own mean. Blocks merge in order with
    Chan's and Pébay's formulas. Relative error of ``var`` is ~1e-15 even for
    ``1 + 1e-3 * N(0, 1)`` data, where naive float32 sums lose 1e-5.

    Examples
    --------
    >>> import numpy as np, winit
    >>> s = winit.stats(np.array([1.0, 2.0, np.nan, 4.0], dtype=np.float32))
    >>> s.count, s.nan_count, s.mean, s.min, s.max
    (3, 1, 2.3333333333333335, 1.0, 4.0)
    >>> s = winit.stats(np.linspace(0, 1, 101), bins=4, range=(0, 1))
    >>> s.hist[0]
    array([25, 25, 25, 26])
    """
    a = check_float_array(a, "a", writable=False)
    nthreads = resolve_threads(threads)
    edges = None
    uniform = True
    if bins is not None:
        b = _check_bins(bins)
        if isinstance(b, np.ndarray):
            edges, uniform = b, False
        elif range is not None:
            edges = _uniform_edges(b, *_check_range(range))
    elif range is not None:
        _check_range(range)
    if bins is not None and edges is None:
        # no range: min/max of the finite values first, then a histogram-only pass
        r = _stats.compute(a, nthreads)
        lo, hi = (r[5], r[6]) if r[0] > 0 else (0.0, 1.0)
        edges = _uniform_edges(int(bins), lo, hi)
        counts = _stats.compute(a, nthreads, False, edges, _bin_by_scale(edges))
        r = r[:-1] + (counts,)
    else:
        r = _stats.compute(a, nthreads, True, edges, uniform and _bin_by_scale(edges))
    if r[0] > 0 and not (math.isfinite(r[1]) and not math.isnan(r[2])):
        r = _huge_moments(a, nthreads, r)
    count, mean, m2, m3, m4, lo, hi, nan_count, inf_count, zero_count, counts = r
    if count == 0:
        mean, m2, m3, m4, lo, hi = math.nan, 0.0, 0.0, 0.0, math.nan, math.nan
    return Stats(
        count=int(count), mean=float(mean), m2=float(m2), m3=float(m3), m4=float(m4),
        min=float(lo), max=float(hi), nan_count=int(nan_count), inf_count=int(inf_count),
        zero_count=int(zero_count), hist=None if counts is None else (counts, edges),
    )


# ---- tables ---------------------------------------------------------------------------
class StatsTable(Mapping[str, Stats]):
    """Statistics of named arrays (one row per name), e.g. the tensors of a model.

    A read-only mapping ``name -> Stats`` that remembers each array's shape and
    dtype; ``str(table)`` is an aligned text table, :meth:`to_markdown` a
    markdown one, :meth:`to_dict` its columns. Rows can be added one at a time
    with :meth:`add` (to stream a checkpoint tensor by tensor).
    """

    COLUMNS = ("name", "shape", "dtype", "count", "mean", "std", "min", "max", "nan/inf")

    def __init__(self) -> None:
        self._rows: dict[str, tuple[tuple[int, ...] | None, str, Stats]] = {}

    def add(self, name: str, value: np.ndarray | Stats, *, bins=None, range=None,
            threads: int | None = None, shape: tuple[int, ...] | None = None,
            dtype: Any = None) -> Stats:
        """Add a row: ``value`` is an array (its statistics are computed) or a
        :class:`Stats` already computed (then pass ``shape``/``dtype`` to show them).

        Parameters
        ----------
        name : str
            Row name (converted with ``str``); a name already present is replaced.
        value : numpy.ndarray or Stats
            The array, or its statistics.
        bins, range, threads
            As :func:`stats`, for an array.
        shape : tuple of int, optional
            Shape shown for a :class:`Stats` value (blank without).
        dtype : dtype-like, optional
            dtype shown for a :class:`Stats` value (blank without).

        Returns
        -------
        Stats
            The row's statistics.
        """
        name = str(name)
        if isinstance(value, Stats):
            st = value
            shp = None if shape is None else tuple(int(s) for s in shape)
            dt = "" if dtype is None else str(np.dtype(dtype))
        else:
            st = stats(value, bins=bins, range=range, threads=threads)
            shp, dt = tuple(value.shape), str(value.dtype)
        self._rows[name] = (shp, dt, st)
        return st

    def __getitem__(self, name: str) -> Stats:
        return self._rows[name][2]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def shape(self, name: str) -> tuple[int, ...] | None:
        """Shape of the array of row ``name`` (None if added as a :class:`Stats` without one).

        Parameters
        ----------
        name : str
            The row (a ``KeyError`` when no row has that name).

        Returns
        -------
        tuple of int or None
        """
        return self._rows[name][0]

    def dtype(self, name: str) -> str:
        """dtype name of the array of row ``name`` (``""`` if added as a :class:`Stats` without
        one).

        Parameters
        ----------
        name : str
            As in :meth:`shape`.

        Returns
        -------
        str
            The dtype's name, e.g. ``"float32"`` or ``"bfloat16"``.
        """
        return self._rows[name][1]

    def total(self) -> Stats:
        """All rows merged into one :class:`Stats` (histograms dropped).

        Returns
        -------
        Stats
            The statistics of all the rows' values together, merged in row order
            (``Stats()`` for an empty table); ``hist`` is None.
        """
        out = Stats()
        for _, _, st in self._rows.values():
            out = out.merge(Stats(st.count, st.mean, st.m2, st.m3, st.m4, st.min, st.max,
                                  st.nan_count, st.inf_count, st.zero_count))
        return out

    def to_dict(self) -> dict[str, list]:
        """Columns as lists: name, shape, dtype, count, mean, std, min, max,
        nan_count, inf_count (``pandas.DataFrame(table.to_dict())`` works).

        Returns
        -------
        dict of str to list
            One list per column, one entry per row in row order; ``shape`` holds
            tuples (None for a :class:`Stats` row added without one).
        """
        cols: dict[str, list] = {k: [] for k in ("name", "shape", "dtype", "count", "mean", "std",
                                                  "min", "max", "nan_count", "inf_count")}
        for name, (shp, dt, st) in self._rows.items():
            for k, v in zip(cols, (name, shp, dt, st.count, st.mean, st.std, st.min, st.max,
                                   st.nan_count, st.inf_count), strict=True):
                cols[k].append(v)
        return cols

    def _table(self) -> Table:
        return Table(self.COLUMNS, [
            [name, "" if shp is None else cell(shp), dt, str(st.count), cell(st.mean),
             cell(st.std), cell(st.min), cell(st.max), f"{st.nan_count}/{st.inf_count}"]
            for name, (shp, dt, st) in self._rows.items()], left=3)

    def __str__(self) -> str:
        return self._table().text()

    def to_markdown(self) -> str:
        """A markdown table (numbers right-aligned).

        Returns
        -------
        str
            The columns of ``str(table)``: name, shape, dtype, count, mean, std,
            min, max and nan/inf counts, one line per row.
        """
        return self._table().markdown()

    def __repr__(self) -> str:
        return f"<StatsTable of {len(self)} arrays>\n{self}"


def layer_stats(named_arrays: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]], *,
                bins=None, range=None, threads: int | None = None) -> StatsTable:
    """Statistics of each named array, as a :class:`StatsTable`.

    Parameters
    ----------
    named_arrays : mapping or iterable of (name, array) pairs
        E.g. a state dict of numpy arrays, or a generator that loads one tensor
        at a time (only one array needs to be in memory at once). Values may also
        be :class:`Stats` computed elsewhere.
    bins, range, threads
        As :func:`stats`, for every array.

    Returns
    -------
    StatsTable
        One row per item, in the order given (a name given twice keeps the later
        value in the earlier name's place).

    Raises
    ------
    TypeError
        An item of an iterable is not a ``(name, array)`` pair.

    Examples
    --------
    >>> import numpy as np, winit
    >>> t = winit.layer_stats({"w": np.ones((2, 3), np.float32)})
    >>> t["w"].mean, t.to_dict()["shape"]
    (1.0, [(2, 3)])
    """
    items = named_arrays.items() if isinstance(named_arrays, Mapping) else named_arrays
    table = StatsTable()
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError("layer_stats expects a mapping name -> array or (name, array) "
                            f"pairs, got an item {type(item).__name__}") from None
        try:
            table.add(name, value, bins=bins, range=range, threads=threads)
        except (TypeError, ValueError) as exc:  # which of many arrays
            raise type(exc)(f"layer_stats: array {str(name)!r}: {exc}") from exc
    return table


# ---- threads for small arrays ---------------------------------------------------------
#: Below this many elements :func:`stats_threads` picks one thread.
SMALL_STATS: int = 1 << 22


def stats_threads(a: np.ndarray) -> int | None:
    """Thread count for a :func:`stats` call on ``a``: 1 for small arrays, else the default.

    Below :data:`SMALL_STATS` elements the pass takes well under a millisecond,
    and waking OpenMP workers right after a BLAS matmul (whose own threads are
    still spinning) costs far more than the pass itself. Results do not depend
    on the thread count. :func:`winit.lsuv_` and :func:`winit.diagnose` use it
    for every layer output.

    Parameters
    ----------
    a : numpy.ndarray
        The array about to be passed to :func:`stats`.

    Returns
    -------
    int or None
        ``1`` when ``a.size < SMALL_STATS``, else ``None`` (the OpenMP default),
        for ``stats(a, threads=...)``.
    """
    return 1 if a.size < SMALL_STATS else None
