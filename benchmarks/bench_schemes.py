"""pytest-benchmark suite: the fan-based schemes, orthogonal_, sparse_, dirac_ and a
registry call, with torch and numpy peers.

The cases are defined in cases.py (group "schemes"); compare.py times the same ones.

    pytest benchmarks/bench_schemes.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("schemes")
def test_schemes(run_case, case, size, threads):
    run_case(case, size, threads)
