"""pytest-benchmark suite: winit.init_model to .safetensors and torch.nn.init +
safetensors.torch.save_file.

The cases are defined in cases.py (group "models"); compare.py times the same ones.

    pytest benchmarks/bench_models.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("models")
def test_models(run_case, case, size, threads):
    run_case(case, size, threads)
