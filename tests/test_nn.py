"""winit.nn: forward semantics, backward against finite differences, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from winit import nn


def _rng(seed=0):
    return np.random.default_rng(seed)


def _set_params(layer, rng, dtype=np.float64):
    """Give a layer random float64 parameters (independent of the default init)."""
    layer.weight = rng.standard_normal(layer.weight.shape).astype(dtype)
    if layer.bias is not None:
        layer.bias = rng.standard_normal(layer.bias.shape).astype(dtype)
    return layer


def _num_grad(f, a, idx, eps=1e-6):
    """Central difference of the scalar f() with respect to a.flat[idx] (a changed in place)."""
    out = np.empty(len(idx))
    flat = a.reshape(-1)
    for k, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        out[k] = (fp - fm) / (2 * eps)
    return out


def _check_layer_grads(layer, x, rng, n_check=25, atol=1e-6, rtol=1e-5):
    """Backward of ``layer`` at ``x`` against central finite differences of sum(y * G)."""
    y = layer(x)
    G = rng.standard_normal(y.shape)
    gx = layer.backward(G)
    assert gx.shape == x.shape

    def loss():
        return float(np.sum(layer(x) * G))

    arrays = [("input", x, gx)]
    for name, p in layer.parameters():
        arrays.append((name, p, getattr(layer, f"grad_{name}")))
    for name, a, g in arrays:
        assert g is not None and g.shape == a.shape, name
        idx = rng.choice(a.size, size=min(n_check, a.size), replace=False)
        num = _num_grad(loss, a, idx)
        np.testing.assert_allclose(g.reshape(-1)[idx], num, atol=atol, rtol=rtol, err_msg=name)


ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.3), nn.Tanh(), nn.Sigmoid(), nn.SELU(), nn.GELU(),
               nn.Identity()]


class TestBackwardFiniteDifferences:
    @pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: type(a).__name__)
    def test_activation(self, act):
        rng = _rng(1)
        x = rng.standard_normal((4, 7)) * 2
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the ReLU kinks
        _check_layer_grads(act, x, rng)

    @pytest.mark.parametrize("bias", [True, False])
    def test_linear(self, bias):
        rng = _rng(2)
        layer = _set_params(nn.Linear(5, 3, bias=bias, dtype=np.float64, seed=0), rng)
        _check_layer_grads(layer, rng.standard_normal((6, 5)), rng)

    def test_linear_leading_axes(self):
        rng = _rng(3)
        layer = _set_params(nn.Linear(4, 3, dtype=np.float64, seed=0), rng)
        _check_layer_grads(layer, rng.standard_normal((2, 3, 4)), rng)

    @pytest.mark.parametrize(
        "kernel,stride,padding,bias",
        [(3, 1, 0, True), (3, 1, 1, False), ((2, 3), 2, 1, True), (3, (2, 1), (0, 2), True),
         (1, 1, 0, True), (4, 3, 2, False)],
    )
    def test_conv2d(self, kernel, stride, padding, bias):
        rng = _rng(4)
        layer = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, bias=bias,
                          dtype=np.float64, seed=0)
        _set_params(layer, rng)
        _check_layer_grads(layer, rng.standard_normal((2, 2, 7, 6)), rng, n_check=30)

    def test_flatten(self):
        rng = _rng(5)
        _check_layer_grads(nn.Flatten(), rng.standard_normal((2, 3, 2, 2)), rng)

    def test_sequential(self):
        rng = _rng(6)
        net = nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1, dtype=np.float64, seed=1), nn.Tanh(),
            nn.Conv2d(2, 2, 3, stride=2, dtype=np.float64, seed=2), nn.GELU(),
            nn.Flatten(), nn.Linear(8, 3, dtype=np.float64, seed=3), nn.Sigmoid(),
        )
        x = rng.standard_normal((3, 1, 5, 5))
        y = net(x)
        G = rng.standard_normal(y.shape)
        gx = net.backward(G)

        def loss():
            return float(np.sum(net(x) * G))

        idx = rng.choice(x.size, 20, replace=False)
        np.testing.assert_allclose(gx.reshape(-1)[idx], _num_grad(loss, x, idx), atol=1e-6,
                                   rtol=1e-5)
        for layer in (net[0], net[2], net[5]):
            gw = layer.grad_weight.copy()
            idx = rng.choice(layer.weight.size, 10, replace=False)
            np.testing.assert_allclose(gw.reshape(-1)[idx], _num_grad(loss, layer.weight, idx),
                                       atol=1e-6, rtol=1e-5)


def _conv_reference(x, w, b, stride, padding):
    """Direct loops over output pixels (the oracle)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    if b is not None:
        y += b[None, :, None, None]
    return y


class TestForward:
    @pytest.mark.parametrize("stride,padding",
                             [((1, 1), (0, 0)), ((2, 3), (1, 2)), ((3, 1), (2, 0))])
    def test_conv_matches_loops(self, stride, padding):
        rng = _rng(7)
        layer = _set_params(nn.Conv2d(3, 4, (3, 2), stride=stride, padding=padding,
                                      dtype=np.float64, seed=0), rng)
        x = rng.standard_normal((2, 3, 9, 8))
        np.testing.assert_allclose(layer(x), _conv_reference(x, layer.weight, layer.bias,
                                                             stride, padding), atol=1e-12)

    def test_linear_formula(self):
        rng = _rng(8)
        layer = _set_params(nn.Linear(6, 2, dtype=np.float64, seed=0), rng)
        x = rng.standard_normal((5, 6))
        np.testing.assert_allclose(layer(x), x @ layer.weight.T + layer.bias)

    def test_activation_values(self):
        x = np.linspace(-4, 4, 41)
        from scipy.special import erf

        np.testing.assert_allclose(nn.ReLU()(x), np.maximum(x, 0))
        np.testing.assert_allclose(nn.LeakyReLU(0.2)(x), np.where(x > 0, x, 0.2 * x))
        np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x))
        np.testing.assert_allclose(nn.Sigmoid()(x), 1 / (1 + np.exp(-x)))
        np.testing.assert_allclose(nn.GELU()(x), 0.5 * x * (1 + erf(x / math.sqrt(2))))
        selu = 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))
        np.testing.assert_allclose(nn.SELU()(x), selu)
        assert nn.Sigmoid()(np.array([-1e4, 1e4])).tolist() == [0.0, 1.0]  # no overflow

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_dtype_preserved(self, dtype):
        net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, dtype=dtype, seed=0), nn.ReLU(),
                            nn.Conv2d(3, 2, 3, dtype=dtype, seed=1), nn.SELU(), nn.Flatten(),
                            nn.Linear(2 * 4 * 4, 5, dtype=dtype, seed=2), nn.GELU(), nn.Tanh(),
                            nn.Sigmoid(), nn.LeakyReLU(), nn.Identity())
        x = np.ones((2, 2, 6, 6), dtype=dtype)
        y = net(x)
        assert y.dtype == dtype
        g = net.backward(np.ones_like(y))
        assert g.dtype == dtype
        for _, gr in net.gradients():
            assert gr.dtype == dtype
        for _, p in net.parameters():
            assert p.dtype == dtype


class TestTorchParity:
    """Same numbers as torch for the same weights (skipped without torch)."""

    def test_conv_and_linear(self):
        torch = pytest.importorskip("torch")
        rng = _rng(9)
        conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, dtype=np.float64, seed=0)
        lin = nn.Linear(5 * 4 * 4, 4, dtype=np.float64, seed=1)
        net = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), lin)
        tnet = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3, stride=2, padding=1),
                                   torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(80, 4))
        tnet = tnet.double()
        with torch.no_grad():
            tnet[0].weight.copy_(torch.from_numpy(conv.weight))
            tnet[0].bias.copy_(torch.from_numpy(conv.bias))
            tnet[3].weight.copy_(torch.from_numpy(lin.weight))
            tnet[3].bias.copy_(torch.from_numpy(lin.bias))
        x = rng.standard_normal((2, 3, 8, 8))
        G = rng.standard_normal((2, 4))
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty = tnet(tx)
        ty.backward(torch.from_numpy(G))
        y = net(x)
        gx = net.backward(G)
        np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(gx, tx.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(conv.grad_weight, tnet[0].weight.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(conv.grad_bias, tnet[0].bias.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(lin.grad_weight, tnet[3].weight.grad.numpy(), atol=1e-12)


class TestInitAndContainer:
    def test_default_init_is_torch_bound(self):
        layer = nn.Linear(400, 300, seed=0)
        bound = 1 / math.sqrt(400)
        assert layer.weight.shape == (300, 400) and layer.weight.dtype == np.float32
        assert np.abs(layer.weight).max() <= bound and np.abs(layer.bias).max() <= bound
        # U(-b, b) has variance b^2/3
        assert abs(layer.weight.var() / (bound**2 / 3) - 1) < 0.02
        conv = nn.Conv2d(8, 16, 3, seed=0)
        assert conv.weight.shape == (16, 8, 3, 3)
        assert np.abs(conv.weight).max() <= 1 / math.sqrt(72)

    def test_seed_reproducible(self):
        a, b, c = nn.Linear(20, 10, seed=5), nn.Linear(20, 10, seed=5), nn.Linear(20, 10, seed=6)
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert not np.array_equal(a.weight, c.weight)

    def test_sequential_container(self):
        layers = [nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 2, seed=1)]
        net = nn.Sequential(*layers)
        assert len(net) == 3 and list(net) == layers and net[1] is layers[1]
        head = net[:2]
        assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is layers[0]
        assert [n for n, _ in net.parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
        net.append(nn.Tanh())
        assert len(net) == 4
        assert "Linear(in_features=3" in repr(net)
        assert nn.Sequential(layers)[2] is layers[2]

    def test_errors(self):
        with pytest.raises(ValueError, match="last axis 3"):
            nn.Linear(3, 2, seed=0)(np.ones((2, 4)))
        with pytest.raises(ValueError, match="smaller than the kernel"):
            nn.Conv2d(1, 1, 5, seed=0)(np.ones((1, 1, 3, 3)))
        with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
            nn.Conv2d(2, 1, 3, seed=0)(np.ones((1, 1, 3, 3)))
        with pytest.raises(RuntimeError, match="before a forward"):
            nn.Tanh().backward(np.ones(3))
        with pytest.raises(TypeError, match="float32 and float64"):
            nn.Linear(2, 2, dtype=np.float16, seed=0)
        with pytest.raises(TypeError, match="not callable"):
            nn.Sequential(nn.ReLU(), 3)


class TestConstructorValidation:
    """Sizes are integers and slopes finite: a clear error naming the argument."""

    @pytest.mark.parametrize("bad", [2.5, "4", True, None, np.float64(3.0)])
    def test_linear_sizes_must_be_integers(self, bad):
        with pytest.raises(TypeError, match="in_features must be an integer"):
            nn.Linear(bad, 4)
        with pytest.raises(TypeError, match="out_features must be an integer"):
            nn.Linear(4, bad)

    def test_linear_sizes_positive_and_numpy_ints_accepted(self):
        with pytest.raises(ValueError, match="out_features must be >= 1, got 0"):
            nn.Linear(3, 0)
        assert nn.Linear(np.int64(3), np.int32(2), seed=0).weight.shape == (2, 3)

    def test_conv2d_arguments(self):
        with pytest.raises(TypeError, match="kernel_size must be an integer"):
            nn.Conv2d(3, 4, 2.5)
        with pytest.raises(TypeError, match="in_channels must be an integer"):
            nn.Conv2d("3", 4, 3)
        with pytest.raises(ValueError, match="padding must be >= 0"):
            nn.Conv2d(3, 4, 3, padding=(1, -1))
        with pytest.raises(ValueError, match="stride must be >= 1"):
            nn.Conv2d(3, 4, 3, stride=0)

    @pytest.mark.parametrize("bad", [float("nan"), float("inf")])
    def test_leaky_relu_slope_finite(self, bad):
        with pytest.raises(ValueError, match="negative_slope"):
            nn.LeakyReLU(bad)

    def test_flatten_start_dim(self):
        with pytest.raises(TypeError, match="start_dim must be an integer"):
            nn.Flatten(1.5)
        x = np.zeros((2, 3, 4))
        assert nn.Flatten(-2).forward(x).shape == (2, 12)
