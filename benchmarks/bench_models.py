"""pytest-benchmark suite: winit.init_model to .safetensors and torch.nn.init +
safetensors.torch.save_file; Hugging Face directories from a config (winit init
--hf-config and transformers' from_config + save_pretrained), winit.verify and
transformers' from_pretrained of winit's directory.

The cases are defined in cases.py (groups "models" and "hf"); compare.py times the same
ones (``--only models``; bench_hf.py times the spec and writes one directory).

    pytest benchmarks/bench_models.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("models")
def test_models(run_case, case, size, threads):
    run_case(case, size, threads)


@pytest.mark.cases("hf")
def test_hf(run_case, case, size, threads):
    run_case(case, size, threads)
