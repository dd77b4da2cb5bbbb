"""pytest-benchmark suite: winit.stats (every dtype, a 256-bin histogram, a strided
view) and its numpy, scipy and torch peers.

The cases are defined in cases.py (group "stats"); compare.py times the same ones.

    pytest benchmarks/bench_stats.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("stats")
def test_stats(run_case, case, size, threads):
    run_case(case, size, threads)
