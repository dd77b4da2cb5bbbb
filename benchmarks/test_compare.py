"""compare.py prints every section's table from the cases, at tiny sizes (a smoke test)."""

from __future__ import annotations

import re

import compare


def test_every_section_prints_full_tables(monkeypatch, capsys):
    monkeypatch.setitem(compare.ORTHO_SHAPES, True, [(64, 32)])
    monkeypatch.setitem(compare.LSUV_SIZES, True, (2, 32, 16))
    monkeypatch.setitem(compare.MODELS, True, [("tiny", (1, 32, 100, 16))])
    assert compare.main(["--quick", "--n", "3e4", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for title in ("### Sampling kernels", "### Layer statistics", "#### kaiming_normal_",
                  "#### orthogonal_", "### LSUV", "### init_model to .safetensors",
                  "### Hugging Face directory from a config"):
        assert title in out
    tables = re.findall(r"((?:^\|.*\|\n)+)", out, re.M)
    assert len(tables) == 7
    for table in tables:
        header, rule, *rows = table.splitlines()
        assert rows and rule == "|" + "---|" * header.count(" | ") + "---|"
        for row in rows:
            assert row.count(" | ") == header.count(" | "), row
            assert "failed" not in row
    # winit's own columns are measured: the first number after the thread count is a rate
    sampling = tables[0].splitlines()[2:]
    assert all(float(r.split(" | ")[2]) > 0 for r in sampling)
