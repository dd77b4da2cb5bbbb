"""Timing helpers for compare.py: medians of repeated runs of the cases in cases.py,
interleaved rounds of several cases, peak memory of one run in a fresh process, markdown
tables."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

_HERE = os.path.dirname(os.path.abspath(__file__))


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@dataclass
class Sample:
    """One timed call: wall seconds, its result and the process's CPU seconds (user + system,
    all threads; a child process's are not counted)."""

    seconds: float
    result: object
    cpu: float


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def interleaved(fns: dict[str, Callable[[], object]], rounds: int,
                warmup: int = 1) -> dict[str, list[Sample]]:
    """Time several callables in turns: ``warmup`` untimed rounds, then ``rounds`` rounds
    that call each once, in order, so that a slow spell of a busy machine falls on all of
    them. A callable with a ``reset()`` method has it called, untimed, before and after
    each call (the writer cases of cases.py remove their file)."""
    samples: dict[str, list[Sample]] = {name: [] for name in fns}
    for r in range(warmup + rounds):
        for name, fn in fns.items():
            reset = getattr(fn, "reset", lambda: None)
            reset()
            c0, t0 = _cpu(), time.perf_counter()
            result = fn()
            seconds, cpu = time.perf_counter() - t0, _cpu() - c0
            reset()
            if r >= warmup:
                samples[name].append(Sample(seconds, result, cpu))
    return samples


def spread(values: list[float]) -> str:
    """``median [min–max]`` of ``values``, 3 significant digits."""
    return f"{statistics.median(values):.3g} [{min(values):.3g}–{max(values):.3g}]"


def md_table(header: list[str], rows: list[list[object]]) -> str:
    """A markdown table from a header and rows (floats printed with 3 significant digits)."""

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(num: float | None, den: float | None) -> float | str:
    """``num / den``, or "n/a" when either side was not measured (a peer not installed)."""
    return "n/a" if num is None or den is None else num / den


class Timer:
    """Times the cases of ``cases`` (name -> Case) in this process, each (case, size, threads)
    once: the median of ``repeat`` runs (``case.rounds`` at most) after ``case.warmup`` runs;
    ``quick``: no warm-up for slow cases."""

    def __init__(self, cases: dict, repeat: int = 5, quick: bool = False):
        self.cases, self.repeat, self.quick = cases, repeat, quick
        self._seen: dict = {}

    def _run(self, name: str, size, threads: int | None) -> tuple[float, object] | None:
        case = self.cases[name]
        if case.missing():
            return None
        key = (name, repr(size), threads if case.threaded else None)
        if key not in self._seen:
            m = case.measured_size(size)
            fn = case.make(m, threads)
            last = [None]

            def call():
                last[0] = fn()

            slow = case.rounds is not None
            t = median_time(call, repeat=min(self.repeat, case.rounds or self.repeat),
                            warmup=0 if (slow and self.quick) else case.warmup)
            summary = case.summary(last[0]) if case.summary else None
            self._seen[key] = (t * size / m if m != size else t, summary)
        return self._seen[key]

    def time(self, name: str, size, threads: int | None = None) -> float | None:
        """Seconds per run of case ``name`` at ``size`` (None if it needs a missing module)."""
        r = self._run(name, size, threads)
        return None if r is None else r[0]

    def summary(self, name: str, size, threads: int | None = None) -> object:
        """``case.summary`` of the last timed run's result (None if not measured)."""
        r = self._run(name, size, threads)
        return None if r is None else r[1]


# ------------------------------------------------------------------ one run in a fresh process


def run_isolated(name: str, size, threads: int | None, env: dict | None = None) -> dict | None:
    """Run case ``name`` once in a fresh process (``python cases.py``), after its warm-up.

    Returns ``{"seconds", "peak_bytes", "above_base_bytes", "summary"}``: ``peak_bytes`` is
    the resident-set high-water mark during the run (VmHWM, reset after the setup; ru_maxrss
    is not used because Linux carries the parent's peak over a vfork/exec into the child),
    ``above_base_bytes`` that peak less the resident set before the run. None if the run
    failed (its stderr is printed) or needs a missing module.
    """
    import winit

    root = os.path.dirname(os.path.dirname(os.path.abspath(winit.__file__)))
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)
    r = subprocess.run([sys.executable, os.path.join(_HERE, "cases.py"), name, json.dumps(size),
                        json.dumps(threads)], capture_output=True, text=True, cwd=_HERE,
                       env=full_env, timeout=3600)
    if r.returncode != 0:
        print(r.stderr[-2000:], file=sys.stderr)
        return None
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out or None


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def _peak_counter() -> tuple[int, Callable[[], int]]:
    """(resident KiB now, a function giving the peak KiB since now)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        return _status_kib("VmRSS"), lambda: _status_kib("VmHWM")
    except OSError:  # not Linux: the peak since the process started
        def maxrss() -> int:
            kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return kb // 1024 if sys.platform == "darwin" else kb  # bytes on macOS

        return maxrss(), maxrss


def isolated_main(cases: dict, argv: list[str]) -> None:
    """The child of :func:`run_isolated`: ``NAME SIZE_JSON THREADS_JSON`` -> one JSON line."""
    name, size, threads = argv[0], json.loads(argv[1]), json.loads(argv[2])
    case = cases[name]
    if case.missing():
        print("{}")
        return
    size = tuple(size) if isinstance(size, list) else size
    if case.warmup_size is not None:
        case.make(case.warmup_size, threads)()
    fn = case.make(size, threads)
    base, peak = _peak_counter()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    top = peak()
    print(json.dumps({"seconds": seconds, "peak_bytes": top * 1024,
                      "above_base_bytes": (top - base) * 1024,
                      "summary": case.summary(result) if case.summary else None}))
