"""pytest-benchmark suite: winit.lsuv_ (on a torch model through numpy views, and on
winit.nn) and the PyPI lsuv package.

The cases are defined in cases.py (group "lsuv"); compare.py times the same ones.

    pytest benchmarks/bench_lsuv.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("lsuv")
def test_lsuv(run_case, case, size, threads):
    run_case(case, size, threads)
