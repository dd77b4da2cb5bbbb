"""pytest-benchmark over the cases of cases.py; ``bench_*.py`` files are collected too.

    pytest benchmarks/ --benchmark-only --benchmark-group-by=param:size   # the measurements
    pytest benchmarks/ --benchmark-disable -q     # smoke test: each case once, at tiny sizes

A test marked ``@pytest.mark.cases(group)`` that takes ``case, size, threads`` is run for
every case of that group of ``cases.GROUPS``, at each of its sizes (``case.smoke`` under
``--benchmark-disable``), with 1 and 2 threads when the case uses threads.
"""

from __future__ import annotations

import shutil

import pytest
from cases import GROUPS, Unavailable

THREADS = (1, 2)


def pytest_collect_file(file_path, parent):
    # a file named on the command line is collected by pytest itself
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "cases(group): run the test over a group of cases.py")


def _smoke(config) -> bool:
    return config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("cases")
    if marker is None:
        return
    smoke = _smoke(metafunc.config)
    group = GROUPS[marker.args[0]]
    sizes = {c.name: [c.measured_size(s) for s in (c.smoke if smoke else c.sizes)]
             for c in group}
    order = list(dict.fromkeys(s for c in group for s in sizes[c.name]))
    params = [pytest.param(c, s, th, id=c.name + f"-{s}" + (f"-{th}t" if th else ""))
              for s in order for c in group if s in sizes[c.name]
              for th in (THREADS if c.threaded else (None,))]
    metafunc.parametrize(("case", "size", "threads"), params)


@pytest.fixture
def run_case(benchmark, tmp_path, monkeypatch):
    """``run_case(case, size, threads)``: set the case up and benchmark its callable (slow
    cases: ``case.rounds`` rounds of one call); files go to a temporary directory, or,
    for a callable with a ``reset()`` (the writer cases' files in /dev/shm or on disk),
    are removed by it, untimed, before and after each round."""
    monkeypatch.setenv("WINIT_BENCH_DIR", str(tmp_path))
    resets = []

    def run(case, size, threads):
        missing = case.missing()
        if missing:
            pytest.skip(f"{case.name} needs {', '.join(missing)}")
        try:
            fn = case.make(size, threads)
        except Unavailable as exc:
            pytest.skip(f"{case.name}: {exc}")
        reset = getattr(fn, "reset", None)
        if reset is not None:
            resets.append(reset)
            benchmark.pedantic(fn, setup=reset, teardown=reset, rounds=case.rounds or 5,
                               iterations=1, warmup_rounds=case.warmup)
        elif case.rounds:
            benchmark.pedantic(fn, rounds=case.rounds, iterations=1, warmup_rounds=case.warmup)
        else:
            benchmark(fn)

    yield run
    for reset in resets:
        reset()
    for p in tmp_path.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
