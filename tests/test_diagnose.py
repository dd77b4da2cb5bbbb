"""winit.diagnose: numbers against a direct numpy computation, formatting, the PNG."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest

import winit
from winit import nn
from winit.diagnose import LayerDiagnosis


def _net(dtype=np.float64):
    return nn.Sequential(
        nn.Linear(6, 40, dtype=dtype, seed=0), nn.Tanh(),
        nn.Linear(40, 30, dtype=dtype, seed=1), nn.Sigmoid(),
        nn.Linear(30, 20, dtype=dtype, seed=2), nn.ReLU(),
        nn.Linear(20, 3, dtype=dtype, seed=3),
    )


def _x(shape=(64, 6), seed=0, dtype=np.float64):
    return (3 * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


class TestNumbers:
    def test_against_numpy(self):
        net = _net()
        net[4].bias[:5] = -1e3  # five ReLU units dead for every sample
        x = _x()
        G = np.random.default_rng(1).standard_normal((64, 3))
        d = winit.diagnose(net, x, grad_output=G)
        assert len(d) == 7

        # forward, by hand
        W = [net[i].weight for i in (0, 2, 4, 6)]
        b = [net[i].bias for i in (0, 2, 4, 6)]
        z0 = x @ W[0].T + b[0]
        a0 = np.tanh(z0)
        z1 = a0 @ W[1].T + b[1]
        a1 = 1 / (1 + np.exp(-z1))
        z2 = a1 @ W[2].T + b[2]
        a2 = np.maximum(z2, 0)
        z3 = a2 @ W[3].T + b[3]
        outs = [z0, a0, z1, a1, z2, a2, z3]
        for row, y in zip(d, outs, strict=True):
            assert row.mean == pytest.approx(y.mean(), rel=1e-9, abs=1e-12)
            assert row.std == pytest.approx(y.std(), rel=1e-9)
            assert row.min == y.min() and row.max == y.max()
            assert row.shape == y.shape
        assert d[1].saturated == pytest.approx(np.mean(np.abs(a0) > 0.99))
        assert d[1].saturated > 0  # x has std 3: some tanh units saturate
        assert d[3].saturated == pytest.approx(np.mean((a1 <= 0.01) | (a1 >= 0.99)))
        assert d[5].dead == pytest.approx(np.mean(np.all(a2 == 0, axis=0)))
        assert d[5].dead >= 5 / 20
        for k in (0, 2, 4, 6):
            assert d[k].saturated is None and d[k].dead is None

        # backward, by hand: gradient at each layer's output
        g_z3 = G
        g_a2 = g_z3 @ W[3]
        g_z2 = g_a2 * (z2 > 0)
        g_a1 = g_z2 @ W[2]
        g_z1 = g_a1 * a1 * (1 - a1)
        g_a0 = g_z1 @ W[1]
        g_z0 = g_a0 * (1 - a0**2)
        grads = [g_z0, g_a0, g_z1, g_a1, g_z2, g_a2, g_z3]
        for row, g in zip(d, grads, strict=True):
            assert row.grad_mean == pytest.approx(g.mean(), rel=1e-9, abs=1e-14)
            assert row.grad_std == pytest.approx(g.std(), rel=1e-9)
        gw = {0: g_z0.T @ x, 2: g_z1.T @ a0, 4: g_z2.T @ a1, 6: g_z3.T @ a2}
        for k, g in gw.items():
            assert d[k].grad_weight_std == pytest.approx(g.std(), rel=1e-9)
            assert d[k].parametrized
        assert d[1].grad_weight_std is None and not d[1].parametrized

    def test_histograms(self):
        d = winit.diagnose(_net(), _x(), seed=0, bins=20)
        for row in d:
            counts, edges = row.hist
            assert len(counts) == 20 and len(edges) == 21
            assert int(np.sum(counts)) == int(np.prod(row.shape))
            assert edges[0] == pytest.approx(row.min) and edges[-1] == pytest.approx(row.max)
            gcounts, _ = row.grad_hist
            assert int(np.sum(gcounts)) == int(np.prod(row.shape))

    def test_conv_dead_units(self):
        conv = nn.Conv2d(2, 4, 3, padding=1, dtype=np.float64, seed=0)
        conv.bias[1] = -1e3  # channel 1 dead everywhere
        net = nn.Sequential(conv, nn.ReLU(), nn.Flatten())
        x = _x((8, 2, 5, 5))
        d = winit.diagnose(net, x, seed=0)
        y = np.maximum(conv(x), 0).reshape(8, -1)
        assert d[1].dead == pytest.approx(np.mean(np.all(y == 0, axis=0)))
        assert d[1].dead >= 0.25

    def test_seeded_gradient(self):
        x = _x()
        a = winit.diagnose(_net(), x, seed=3)
        b = winit.diagnose(_net(), x, seed=3)
        c = winit.diagnose(_net(), x, seed=4)
        assert [r.grad_std for r in a] == [r.grad_std for r in b]
        assert [r.grad_std for r in a] != [r.grad_std for r in c]
        # the upstream gradient is standard normal
        assert a[-1].grad_std == pytest.approx(1, abs=0.15)

    def test_float32_and_forward_only(self):
        d = winit.diagnose(_net(np.float32), _x(dtype=np.float32), backward=False)
        assert all(r.grad_std is None for r in d)
        assert "grad" not in d.table() and "grad" not in d.to_markdown()

    def test_user_layers_without_backward(self):
        net = [nn.Linear(6, 4, seed=0), np.tanh]
        with pytest.raises(TypeError, match="backward=False"):
            winit.diagnose(net, _x(dtype=np.float32))
        d = winit.diagnose(net, _x(dtype=np.float32), backward=False)
        assert d[1].layer == "1:tanh" and d[1].saturated is not None

    def test_bad_grad_output(self):
        with pytest.raises(ValueError, match="grad_output has shape"):
            winit.diagnose(_net(), _x(), grad_output=np.ones((3, 3)))


class TestFormatting:
    def test_table_and_markdown(self):
        d = winit.diagnose(_net(), _x(), seed=0)
        t = d.table()
        lines = t.splitlines()
        assert lines[0].split()[:3] == ["layer", "mean", "std"]
        assert len(lines) == 2 + 7 and "5:ReLU" in t and str(d) == t
        md = d.to_markdown().splitlines()
        assert md[0] == ("| layer | mean | std | min | max | saturated | dead | grad mean | "
                         "grad std | grad W std |")
        assert len(md) == 9
        assert d["5"] is d[5] and d["5:ReLU"] is d[5]


    def test_exact_table_and_markdown(self):
        rows = [LayerDiagnosis("0:Linear", (4, 3), 0.123456, 1.5, -2.0, 3.0, None, None,
                               0.0, 0.25, 1e-05, True),
                LayerDiagnosis("1:f|g", (4, 3), 0.5, 0.5, 0.0, 1.0, 0.75, None, -1.0, 0.125)]
        d = winit.Diagnosis(rows, backward=False)
        assert d.table() == str(d) == (
            "layer       mean  std  min  max  saturated  dead\n"
            "--------  ------  ---  ---  ---  ---------  ----\n"
            "0:Linear  0.1235  1.5   -2    3          -     -\n"
            "1:f|g        0.5  0.5    0    1       0.75     -")
        # one renderer: numbers aligned right in markdown too, and a "|" in a name escaped
        assert d.to_markdown() == (
            "| layer | mean | std | min | max | saturated | dead |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n"
            "| 0:Linear | 0.1235 | 1.5 | -2 | 3 | - | - |\n"
            "| 1:f\\|g | 0.5 | 0.5 | 0 | 1 | 0.75 | - |")
        md = winit.Diagnosis(rows, backward=True).to_markdown().splitlines()
        assert md[1] == "|---|" + "---:|" * 9
        assert md[2].endswith("| 0 | 0.25 | 1e-05 |") and md[3].endswith("| -1 | 0.125 | - |")

    def test_kind_from_function_name(self):
        def relu(v):
            return np.maximum(v, 0)

        def other(v):
            return np.maximum(v, 0)

        x = _x(dtype=np.float32)
        d = winit.diagnose([nn.Linear(6, 5, seed=0), relu, other, np.tanh], x, backward=False)
        assert [r.layer for r in d] == ["0:Linear", "1:relu", "2:other", "3:tanh"]
        assert d[1].dead is not None and d[2].dead is None and d[3].saturated is not None


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


class TestPlot:
    def test_png(self, tmp_path):
        pytest.importorskip("matplotlib")
        d = winit.diagnose(_net(), _x(), seed=0)
        p = d.plot(tmp_path / "grid.png", dpi=50, title="test")
        assert p == tmp_path / "grid.png"
        # default panels: the 3 activation layers; 2 rows (forward, backward)
        w, h = _png_size(p)
        assert (w, h) == (round(50 * (2.2 * 3 + 0.6)), round(50 * (2.0 * 2 + 0.5)))

    def test_png_selected_layers_forward_only(self, tmp_path):
        pytest.importorskip("matplotlib")
        d = winit.diagnose(_net(), _x(), backward=False)
        p = d.plot(str(tmp_path / "f.png"), layers=[0, "2:Linear"], dpi=40)
        assert _png_size(p) == (round(40 * (2.2 * 2 + 0.6)), round(40 * (2.0 + 0.2)))

    def test_missing_matplotlib(self, tmp_path, monkeypatch):
        d = winit.diagnose(_net(), _x(), seed=0)
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
        with pytest.raises(ImportError, match=r"pip install winit\[plot\]"):
            d.plot(tmp_path / "x.png")
