"""winit.lsuv_: convergence, termination, errors, and the cached single-layer passes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import winit
from winit import nn
from winit._common import Key, derive_key, resolve_key


def _x(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _mlp(widths, act, bias, seed=0, dtype=np.float32):
    layers = []
    for k, (i, o) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(i, o, bias=bias, dtype=dtype, seed=seed + k))
        layers.append(act())
    return nn.Sequential(*layers)


def _convnet(bias, seed=0):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=bias, seed=seed), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=bias, seed=seed + 1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, bias=bias, seed=seed + 2), nn.ReLU(),
        nn.Flatten(), nn.Linear(16, 10, bias=bias, seed=seed + 3),
    )


def _layer_outputs(net, x):
    """Mean and variance of every parametrized layer's own output, computed directly."""
    out = []
    h = x
    for layer in net:
        h = layer(h)
        if hasattr(layer, "weight"):
            h64 = h.astype(np.float64)
            out.append((h64.mean(), h64.var()))
    return out


NETS = {
    "relu_mlp": (lambda b: _mlp([32, 64, 64, 64, 64, 48, 10], nn.ReLU, b), (256, 32)),
    "leaky_mlp": (lambda b: _mlp([32, 64, 64, 64, 64, 10], lambda: nn.LeakyReLU(0.2), b),
                  (256, 32)),
    "convnet": (_convnet, (32, 3, 6, 6)),
}


class TestConvergence:
    @pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
    @pytest.mark.parametrize("orthogonal", [True, False], ids=["ortho", "keep"])
    @pytest.mark.parametrize("kind", sorted(NETS))
    def test_reaches_target(self, kind, orthogonal, bias):
        make, shape = NETS[kind]
        net = make(bias)
        x = _x(shape)
        tol = 0.05
        report = winit.lsuv_(net, x, tol=tol, orthogonal=orthogonal, seed=1)
        n_param = sum(hasattr(layer, "weight") for layer in net)
        assert len(report) == n_param and report.converged
        direct = _layer_outputs(net, x)
        for row, (mean, var) in zip(report, direct, strict=True):
            assert row.converged
            assert abs(var - 1.0) < tol, row
            assert row.var == pytest.approx(var, rel=1e-5)
            assert row.mean == pytest.approx(mean, rel=1e-4, abs=1e-6)
            if not bias:
                assert row.iterations <= 3, row

    def test_bias_free_is_one_step(self):
        net = _mlp([16, 32, 32, 32, 8], nn.ReLU, False)
        report = winit.lsuv_(net, _x((128, 16)), tol=1e-4, seed=0)
        assert report.converged
        assert [r.iterations for r in report] == [1, 1, 1, 1]

    @pytest.mark.parametrize("kind", sorted(NETS))
    def test_center_meets_1e_3(self, kind):
        make, shape = NETS[kind]
        net = make(True)
        x = _x(shape, seed=3)
        report = winit.lsuv_(net, x, tol=1e-3, center=True, max_iter=50, seed=2)
        assert report.converged
        for mean, var in _layer_outputs(net, x):
            assert abs(mean) < 1e-3 and abs(np.sqrt(var) - 1) < 1e-3

    def test_center_float32(self):
        net = _mlp([32, 64, 64, 64, 10], nn.ReLU, True)
        x = _x((256, 32))
        report = winit.lsuv_(net, x, tol=1e-3, center=True, max_iter=50, seed=2)
        assert report.converged
        for mean, var in _layer_outputs(net, x):
            assert abs(mean) < 1e-3 and abs(np.sqrt(var) - 1) < 1e-3

    def test_target_var(self):
        net = _mlp([16, 32, 32, 4], nn.ReLU, False)
        x = _x((128, 16))
        winit.lsuv_(net, x, target_var=0.25, tol=1e-3, seed=0)
        for _, var in _layer_outputs(net, x):
            assert abs(var - 0.25) < 1e-3

    def test_tanh_terminates_and_reports(self):
        net = _mlp([16, 64, 64, 64, 4], nn.Tanh, True)
        report = winit.lsuv_(net, _x((256, 16)), seed=0)
        assert report.converged and len(report) == 4
        assert all(r.iterations <= 10 for r in report)

    def test_seed_reproducible(self):
        a, b = _convnet(True), _convnet(True)
        x = _x((8, 3, 6, 6))
        winit.lsuv_(a, x, seed=7)
        winit.lsuv_(b, x, seed=7)
        for (_, pa), (_, pb) in zip(a.parameters(), b.parameters(), strict=True):
            np.testing.assert_array_equal(pa, pb)


    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_orthogonal_preinit_ignores_blas_threads(self, dtype):
        # each weight starts as orthogonal_ on its stream derive_key(key, "lsuv", name),
        # factored on one BLAS thread: 513 x 257 and 257 x 513 are shapes whose LAPACK QR
        # differs between BLAS thread counts (see test_structured.THREAD_SENSITIVE)
        x = _x((64, 257), dtype=dtype)
        want = [winit.orthogonal_(np.empty(shape, dtype), seed=Key(derive_key(
            resolve_key(3), "lsuv", name))) for name, shape in (("0:Linear", (513, 257)),
                                                                 ("2:Linear", (257, 513)))]
        for blas in (1, 2, 3):
            net = _mlp([257, 513, 257], nn.ReLU, True, dtype=dtype)
            with threadpool_limits(blas, user_api="blas"):
                report = winit.lsuv_(net, x, tol=1e9, seed=3)  # pre-init only
            assert [r.iterations for r in report] == [0, 0]
            got = [layer.weight for layer in net if hasattr(layer, "weight")]
            for g, w in zip(got, want, strict=True):
                assert g.tobytes() == w.tobytes(), blas


class _TanhLinear:
    """A user layer with the activation fused in: its output variance is < 1 forever."""

    def __init__(self, n_in, n_out, seed):
        self.weight = np.random.default_rng(seed).standard_normal((n_out, n_in)) / np.sqrt(n_in)

    def __call__(self, x):
        return np.tanh(x @ self.weight.T)


class TestTermination:
    def test_unreachable_target_stops_and_warns(self):
        net = [_TanhLinear(8, 16, 0), _TanhLinear(16, 16, 1)]
        with pytest.warns(RuntimeWarning) as rec:
            report = winit.lsuv_(net, _x((64, 8), dtype=np.float64), max_iter=4,
                                 orthogonal=False)
        msgs = [str(w.message) for w in rec]
        assert any("layer 0:_TanhLinear did not converge in 4" in m for m in msgs)
        assert any("layer 1:_TanhLinear did not converge in 4" in m for m in msgs)
        assert not report.converged
        assert [r.iterations for r in report] == [4, 4]
        assert not report[0].converged and report[0].var < 1
        assert "NO" in str(report)

    def test_max_iter_zero(self):
        net = _mlp([8, 16, 4], nn.ReLU, False)
        with pytest.warns(RuntimeWarning):
            report = winit.lsuv_(net, _x((64, 8)), max_iter=0, orthogonal=False)
        assert [r.iterations for r in report] == [0, 0]
        assert [r.scale for r in report] == [1.0, 1.0]

    @pytest.mark.parametrize("bias", [False, True])
    def test_dead_layer_raises(self, bias):
        first = nn.Linear(8, 16, bias=True, seed=0)
        first.bias[:] = -100.0  # after LSUV the outputs are ~ -100 +- 1: the ReLU kills all
        net = nn.Sequential(first, nn.ReLU(), nn.Linear(16, 4, bias=bias, seed=1))
        with pytest.raises(ValueError, match="layer 2:Linear"):
            winit.lsuv_(net, _x((64, 8)), seed=0)

    def test_zero_weight_raises(self):
        net = nn.Sequential(nn.Linear(8, 16, bias=False, seed=0), nn.ReLU())
        net[0].weight[:] = 0
        with pytest.raises(ValueError, match="0:Linear has zero output variance"):
            winit.lsuv_(net, _x((64, 8)), orthogonal=False)

    def test_nan_raises(self):
        x = _x((64, 8))
        x[3, 2] = np.nan
        with pytest.raises(ValueError, match="layer 0:Linear produced .*NaN"):
            winit.lsuv_(_mlp([8, 4], nn.ReLU, True), x, seed=0)

    @pytest.mark.parametrize("kw", [dict(tol=0), dict(tol=-1), dict(target_var=0),
                                    dict(target_var=float("nan")), dict(max_iter=-1),
                                    dict(max_iter=1.5)])
    def test_bad_params(self, kw):
        with pytest.raises(ValueError, match=next(iter(kw))):
            winit.lsuv_(_mlp([4, 4], nn.ReLU, True), _x((8, 4)), **kw)

    def test_non_numpy_weight(self):
        class Bad:
            weight = [[1.0]]

            def __call__(self, x):
                return x

        with pytest.raises(TypeError, match="not a numpy array"):
            winit.lsuv_([Bad()], _x((4, 1)))


class _Counting:
    def __init__(self, layer):
        self.layer = layer
        self.calls = 0
        if hasattr(layer, "weight"):
            self.weight = layer.weight
            self.bias = layer.bias

    def __call__(self, x):
        self.calls += 1
        return self.layer(x)


class TestProtocolAndCost:
    def test_only_tuned_layer_is_recomputed(self):
        inner = _mlp([16, 32, 32, 32, 8], nn.ReLU, True)
        net = [_Counting(layer) for layer in inner]
        report = winit.lsuv_(net, _x((128, 16)), tol=0.01, seed=0)
        rows = iter(report)
        for c in net[:-1]:
            if hasattr(c, "weight"):
                assert c.calls == next(rows).iterations + 1
            else:
                assert c.calls == 1
        assert net[-1].calls == 0  # nothing after the last parametrized layer runs

    def test_user_network_of_plain_callables(self):
        rng = np.random.default_rng(0)

        class Dense:
            def __init__(self, i, o):
                self.weight = rng.standard_normal((i, o))  # keras layout: fine, only scaled
                self.bias = np.zeros(o)

            def __call__(self, x):
                return x @ self.weight + self.bias

        net = (Dense(10, 20), np.tanh, [Dense(20, 20), lambda z: np.maximum(z, 0)], Dense(20, 3))
        report = winit.lsuv_(net, _x((100, 10), dtype=np.float64), tol=0.01, seed=0)
        assert report.converged
        assert [r.layer for r in report] == ["0:Dense", "2.0:Dense", "3:Dense"]

    def test_torch_modules_through_numpy_views(self):
        torch = pytest.importorskip("torch")
        torch.manual_seed(0)
        tl = [torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8)]

        class View:
            def __init__(self, m):
                self.m = m
                if hasattr(m, "weight"):
                    self.weight = m.weight.detach().numpy()  # shares memory
                    self.bias = m.bias.detach().numpy()

            def __call__(self, x):
                with torch.no_grad():
                    return self.m(torch.from_numpy(x)).numpy()

        x = _x((256, 16))
        report = winit.lsuv_([View(m) for m in tl], x, tol=0.01, seed=0)
        assert report.converged
        with torch.no_grad():
            out = torch.nn.Sequential(*tl)(torch.from_numpy(x))
        assert abs(out.double().var(unbiased=False).item() - 1) < 0.01

    def test_report_formatting(self):
        net = _mlp([8, 16, 4], nn.ReLU, True)
        report = winit.lsuv_(net, _x((64, 8)), seed=0)
        text = str(report)
        assert "0:Linear" in text and "2:Linear" in text and "layers converged" in text
        md = report.to_markdown()
        assert md.splitlines()[0].startswith("| layer | iterations |")
        assert report["2"].layer == "2:Linear" and report["0:Linear"] is report[0]
        assert report.to_dict()[0]["layer"] == "0:Linear"
        assert "LSUVReport" in repr(report)

    def test_report_exact_text_and_markdown(self):
        rows = [winit.lsuv.LSUVRow("0:Linear", 1, 0.0123456, 1.00000012, 1.2345678, 0.0, True),
                winit.lsuv.LSUVRow("2.0:Conv2d", 10, -0.5, 1.5, 12.0, 0.25, False)]
        report = winit.LSUVReport(rows, 1.0, 0.1, True)
        assert str(report) == (
            "LSUV: 1/2 layers converged (|var - target| < tol and |mean| < tol, "
            "target_var=1, tol=0.1)\n"
            "layer       iterations     mean  var  scale  converged\n"
            "----------  ----------  -------  ---  -----  ---------\n"
            "0:Linear             1  0.01235    1  1.235        yes\n"
            "2.0:Conv2d          10     -0.5  1.5     12         NO")
        # markdown aligns the number columns right, as the text table does (one renderer)
        assert report.to_markdown() == (
            "| layer | iterations | mean | var | scale | converged |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            "| 0:Linear | 1 | 0.01235 | 1 | 1.235 | yes |\n"
            "| 2.0:Conv2d | 10 | -0.5 | 1.5 | 12 | NO |")
        assert report["2.0"] is rows[1] and report[0] is rows[0] and list(report) == rows

    def test_iter_layers_lives_in_nn(self):
        assert winit.lsuv.iter_layers is nn.iter_layers and "iter_layers" in winit.lsuv.__all__
        net = [nn.Linear(2, 3, seed=0), nn.Sequential(nn.ReLU(), nn.Sequential(np.tanh)), ()]
        assert [n for n, _ in nn.iter_layers(net)] == ["0:Linear", "1.0:ReLU", "1.1.0:tanh"]
        assert [n for n, _ in nn.iter_layers(nn.Linear(2, 3, seed=0))] == ["0:Linear"]
        assert [n for n, _ in nn.iter_layers(iter([nn.ReLU()]))] == ["0:ReLU"]
        with pytest.raises(TypeError, match="sequence of callables"):
            list(nn.iter_layers(3))

    def test_no_parametrized_layers_warns(self):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            report = winit.lsuv_([nn.ReLU()], _x((4, 4)))
        assert len(report) == 0 and report.converged and rec
