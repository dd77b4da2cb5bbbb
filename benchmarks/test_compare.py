"""compare.py prints every section's table from the cases, at tiny sizes (a smoke test),
draws its charts, and every case it times has a pytest-benchmark suite."""

from __future__ import annotations

import glob
import os
import re

import cases
import compare
import pytest
from cases import GROUPS

HERE = os.path.dirname(os.path.abspath(__file__))
PNG = b"\x89PNG\r\n\x1a\n"


def _tables(out: str) -> list[str]:
    return re.findall(r"((?:^\|.*\|\n)+)", out, re.M)


def test_every_section_prints_full_tables(monkeypatch, capsys):
    monkeypatch.setitem(compare.ORTHO_SHAPES, True, [(64, 32)])
    monkeypatch.setitem(compare.LSUV_SIZES, True, (2, 32, 16))
    monkeypatch.setitem(compare.MODELS, True, [("tiny", (1, 32, 100, 16))])
    monkeypatch.setitem(compare.WRITER, True, ("tiny", (1, 32, 100, 16)))
    assert compare.main(["--quick", "--n", "3e4", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for title in ("### Sampling kernels", "### Layer statistics", "#### kaiming_normal_",
                  "#### orthogonal_", "### LSUV", "### init_model to .safetensors",
                  "### Hugging Face directory from a config", "### Writing a checkpoint"):
        assert title in out
    tables = _tables(out)
    assert len(tables) == 8
    for table in tables:
        header, rule, *rows = table.splitlines()
        assert rows and rule == "|" + "---|" * header.count(" | ") + "---|"
        for row in rows:
            assert row.count(" | ") == header.count(" | "), row
            assert "failed" not in row
    # winit's own columns are measured: the first number after the thread count is a rate
    sampling = tables[0].splitlines()[2:]
    assert all(float(r.split(" | ")[2]) > 0 for r in sampling)


def test_writer_section(monkeypatch, capsys, tmp_path):
    """``--quick --only writer``: a row per destination and thread count, every rate
    measured, the ratio against the matching limit, and no file left behind."""
    monkeypatch.setenv("WINIT_BENCH_DISK", str(tmp_path))
    assert compare.main(["--quick", "--only", "writer", "--threads", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "### Writing a checkpoint: init_model against the write limit" in out
    (table,) = _tables(out)
    header, _, *rows = table.splitlines()
    assert "winit GB/s" in header and "os.write+fsync GB/s" in header
    shm = cases.writer_dir("tmpfs")
    assert len(rows) == (4 if shm else 3)
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    if shm:
        assert [c[:4] for c in cells[:2]] == [["tmpfs", shm, "tmpfs", "1"],
                                              ["tmpfs", shm, "tmpfs", "2"]]
        assert all(c[9].endswith(" vs os.write") for c in cells[:2])
    disk = cells[-2:]
    assert [c[:2] + c[3:4] for c in disk] == [["disk", str(tmp_path), "1"],
                                              ["disk", str(tmp_path), "2"]]
    assert all(c[9].endswith(" vs os.write+fsync") for c in disk)
    spread = re.compile(r"^([0-9.e+-]+) \[([0-9.e+-]+)–([0-9.e+-]+)\]$")
    for c in cells if shm else disk:
        for v in c[5:9] + [c[10]]:  # GB/s of the four, winit's CPU seconds
            lo_mid_hi = spread.match(v).groups()
            assert 0 < float(lo_mid_hi[1]) <= float(lo_mid_hi[0]) <= float(lo_mid_hi[2]), v
    assert os.listdir(tmp_path) == []
    if shm:
        assert glob.glob(os.path.join(shm, f"winit-bench-writer-*-{os.getpid()}*")) == []


def test_plot_writes_png_charts(monkeypatch, capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    monkeypatch.setitem(compare.WRITER, True, ("tiny", (1, 32, 100, 16)))
    monkeypatch.setenv("WINIT_BENCH_DISK", str(tmp_path))
    charts = tmp_path / "charts"
    assert compare.main(["--quick", "--n", "3e4", "--threads", "1", "--only", "sampling",
                         "stats", "writer", "--plot", str(charts)]) == 0
    out = capsys.readouterr().out
    assert len(_tables(out)) == 3  # the markdown is printed as without --plot
    files = sorted(os.listdir(charts))
    assert files == ["benchmark-throughput.png", "benchmark-writer.png"]
    for f in files:
        data = (charts / f).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, f
        assert f"chart: {charts / f}" in out


def test_plot_writes_only_the_charts_measured(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    assert compare.main(["--quick", "--n", "3e4", "--threads", "1", "--only", "stats",
                         "--plot", str(tmp_path)]) == 0
    assert os.listdir(tmp_path) == ["benchmark-throughput.png"]


def test_every_group_has_a_benchmark_suite():
    """Every case compare.py times is in a group of cases.py that a bench_*.py suite runs."""
    marked = set()
    for path in glob.glob(os.path.join(HERE, "bench_*.py")):
        with open(path) as f:
            marked |= set(re.findall(r'@pytest\.mark\.cases\("(\w+)"\)', f.read()))
    assert marked == set(GROUPS)


def test_writer_directories(monkeypatch, tmp_path):
    if os.path.isdir("/dev/shm") and cases.fs_type("/dev/shm") == "tmpfs":
        assert cases.writer_dir("tmpfs") == "/dev/shm"
    if os.path.exists("/proc/mounts"):
        assert cases.fs_type("/proc/self/status") == "proc"  # the longest mount point wins
    monkeypatch.setenv("WINIT_BENCH_DISK", str(tmp_path))
    assert cases.writer_dir("disk") == str(tmp_path)
    monkeypatch.delenv("WINIT_BENCH_DISK")
    disk = cases.writer_dir("disk")
    assert disk is None or cases.fs_type(disk) not in cases.MEMORY_FS
    with pytest.raises(ValueError, match="'tmpfs' or 'disk'"):
        cases.writer_dir("floppy")
