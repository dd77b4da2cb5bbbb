"""winit._report: the one text / markdown table renderer, cell formatting, the per-layer base."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from winit._report import LayerReport, Table, cell

HEADER = ["name", "n", "value"]
ROWS = [["a", "1", "0.5"], ["longer", "123", "-2"]]


class TestText:
    def test_exact(self):
        assert str(Table(HEADER, ROWS)) == Table(HEADER, ROWS).text() == (
            "name      n  value\n"
            "------  ---  -----\n"
            "a         1    0.5\n"
            "longer  123     -2")

    def test_left_columns_and_rstrip(self):
        # two left-aligned columns; the last one left-aligned leaves no trailing spaces
        assert Table(["k", "v"], [["x", "1"], ["yy", "22222"]], left=2).text() == (
            "k   v\n"
            "--  -----\n"
            "x   1\n"
            "yy  22222")

    def test_header_sets_the_width(self):
        assert Table(["layer", "x"], [["0", "1"]]).text().splitlines() == [
            "layer  x", "-----  -", "0      1"]

    def test_no_rows(self):
        assert Table(HEADER, []).text() == "name  n  value\n----  -  -----"

    def test_row_length_checked(self):
        with pytest.raises(ValueError, match="row 1 has 2 cells, the header 3"):
            Table(HEADER, [ROWS[0], ["a", "b"]])


class TestMarkdown:
    def test_exact(self):
        assert Table(HEADER, ROWS).markdown() == (
            "| name | n | value |\n"
            "|---|---:|---:|\n"
            "| a | 1 | 0.5 |\n"
            "| longer | 123 | -2 |")

    def test_alignment_follows_left(self):
        assert Table(HEADER, [], left=2).markdown().splitlines()[1] == "|---|---|---:|"
        assert Table(HEADER, [], left=0).markdown().splitlines()[1] == "|---:|---:|---:|"

    def test_pipe_escaped(self):
        assert Table(["a|b"], [["x|y|z"]]).markdown().splitlines() == [
            "| a\\|b |", "|---|", "| x\\|y\\|z |"]

    def test_row_length_checked(self):
        with pytest.raises(ValueError, match="row 0 has 4 cells"):
            Table(HEADER, [["1", "2", "3", "4"]])


class TestCell:
    def test_values(self):
        assert cell(None) == "-"
        assert cell(1 / 3) == "0.333333" and cell(1 / 3, 4) == "0.3333"
        assert cell(np.float64(2.0) / 3, 3) == "0.667"  # numpy.float64 is a float
        assert cell(float("nan")) == "nan" and cell(-1e-20, 4) == "-1e-20"
        assert cell(7) == "7" and cell("yes") == "yes"

    def test_shapes(self):
        assert cell((64, 32)) == "(64, 32)" and cell((3,)) == "(3,)" and cell(()) == "()"
        assert cell((np.int64(2), np.intp(5))) == "(2, 5)"  # not "(np.int64(2), ...)"


@dataclass
class _Row:
    layer: str
    v: float


class _Report(LayerReport[_Row]):
    def _table(self):
        return Table(["layer", "v"], [[r.layer, cell(r.v, 3)] for r in self.rows])


class TestLayerReport:
    def test_sequence_and_lookup(self):
        rows = [_Row("0:Linear", 1.0), _Row("1.0:ReLU", 2.0), _Row("1.1:tanh", 3.0)]
        rep = _Report(iter(rows))
        assert rep.rows == rows and len(rep) == 3 and list(rep) == rows
        assert rep[1] is rows[1] and rep[-1] is rows[2]
        assert rep["1.0"] is rows[1] and rep["1.1:tanh"] is rows[2]
        with pytest.raises(KeyError):
            rep["2"]
        with pytest.raises(KeyError):
            rep["ReLU"]

    def test_to_markdown(self):
        rep = _Report([_Row("0:f|g", 0.12345)])
        assert rep.to_markdown() == "| layer | v |\n|---|---:|\n| 0:f\\|g | 0.123 |"
