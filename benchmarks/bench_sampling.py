"""pytest-benchmark suite: the sampling kernels (normal_, uniform_, trunc_normal_;
every dtype) and their numpy, torch and ndarray.fill peers.

The cases are defined in cases.py (group "sampling"); compare.py times the same ones.

    pytest benchmarks/bench_sampling.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("sampling")
def test_sampling(run_case, case, size, threads):
    run_case(case, size, threads)
