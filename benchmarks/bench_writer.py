"""pytest-benchmark suite: winit.init_model of a bfloat16 GPT-2-shaped checkpoint to tmpfs
(/dev/shm) and to disk, and the write limits it is compared with (os.write of a ready
buffer without and with fsync, dd conv=fsync).

The cases are defined in cases.py (group "writer"); compare.py times the same ones
(``--only writer``, interleaved in one process, at GPT-2-XL width). Here each runs at
GPT-2-small size (250 MB); its file is removed, untimed, before and after each round.

    pytest benchmarks/bench_writer.py --benchmark-only --benchmark-group-by=param:size
"""

import pytest


@pytest.mark.cases("writer")
def test_writer(run_case, case, size, threads):
    run_case(case, size, threads)
