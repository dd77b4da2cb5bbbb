"""calculate_gain: torch's exact values and errors; numeric second-moment gains."""

import math

import ml_dtypes
import numpy as np
import pytest
from scipy import integrate, special, stats

from winit import calculate_gain
from winit.gains import NONLINEARITIES, NONLINEARITY_PARAMS, second_moment


def _quad_gain(f):
    """Oracle: 1/sqrt(E[f(z)^2]) by adaptive quadrature split at 0."""
    def g(z):
        return float(f(np.float64(z))) ** 2 * stats.norm.pdf(z)

    m2 = sum(integrate.quad(g, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]
             for a, b in [(-np.inf, 0.0), (0.0, np.inf)])
    return 1.0 / math.sqrt(m2)


class TestTorchValues:
    # literal floats returned by torch.nn.init.calculate_gain
    @pytest.mark.parametrize(
        "name,param,expected",
        [
            ("linear", None, 1),
            ("conv1d", None, 1),
            ("conv2d", None, 1),
            ("conv3d", None, 1),
            ("conv_transpose1d", None, 1),
            ("conv_transpose2d", None, 1),
            ("conv_transpose3d", None, 1),
            ("sigmoid", None, 1),
            ("tanh", None, 1.6666666666666667),
            ("relu", None, 1.4142135623730951),
            ("leaky_relu", None, 1.4141428569978354),
            ("leaky_relu", 0, 1.4142135623730951),
            ("leaky_relu", 0.2, 1.3867504905630728),
            ("leaky_relu", 1, 1.0),
            ("leaky_relu", 3, 0.4472135954999579),
            ("selu", None, 0.75),
        ],
    )
    def test_exact(self, name, param, expected):
        assert calculate_gain(name, param) == expected

    def test_against_torch(self):
        torch = pytest.importorskip("torch")
        for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu"]:
            assert calculate_gain(name) == torch.nn.init.calculate_gain(name)
        rng = np.random.default_rng(0)
        for slope in [None, 0, 1, 5, *rng.uniform(0, 3, 10).tolist()]:
            assert calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain(
                "leaky_relu", slope
            )

    def test_param_ignored_by_other_torch_names(self):
        assert calculate_gain("relu", 0.5) == math.sqrt(2.0)


class TestErrors:
    @pytest.mark.parametrize("bad", [True, False, [0.1], {"a": 1}, "0.1"])
    def test_bad_slope(self, bad):
        with pytest.raises(ValueError, match="negative_slope .* not a valid number"):
            calculate_gain("leaky_relu", bad)

    @pytest.mark.parametrize("bad", [float("nan"), float("inf")])
    def test_nonfinite_slope(self, bad):
        with pytest.raises(ValueError, match="negative_slope .* not a valid number"):
            calculate_gain("leaky_relu", bad)

    def test_unknown_name(self):
        with pytest.raises(ValueError, match="Unsupported nonlinearity foo, please use one of"):
            calculate_gain("foo")
        with pytest.raises(ValueError, match="Unsupported nonlinearity"):
            calculate_gain(3)

    def test_zero_function(self):
        with pytest.raises(ValueError, match="finite, positive second moment"):
            calculate_gain(lambda z: np.zeros_like(z))

    def test_bad_numeric_param(self):
        with pytest.raises(ValueError, match="alpha"):
            calculate_gain("elu", "x")
        with pytest.raises(ValueError, match="approximation"):
            calculate_gain("gelu", "cubic")


class TestNumeric:
    def test_relu_callable_is_sqrt2(self):
        assert abs(calculate_gain(lambda z: np.maximum(z, 0.0)) - math.sqrt(2.0)) < 1e-9

    @pytest.mark.parametrize("slope", [0.01, 0.1, 0.3, 2.0])
    def test_leaky_callable_matches_formula(self, slope):
        got = calculate_gain(lambda z: np.where(z > 0, z, slope * z))
        assert abs(got - calculate_gain("leaky_relu", slope)) < 1e-9

    def test_linear_callable_is_one(self):
        assert abs(calculate_gain(lambda z: z) - 1.0) < 1e-12
        assert abs(second_moment(lambda z: z * z) - 3.0) < 1e-12

    @pytest.mark.parametrize(
        "name,param,f",
        [
            ("gelu", None, lambda x: 0.5 * x * (1 + special.erf(x / math.sqrt(2)))),
            ("gelu", "tanh", lambda x: 0.5 * x * (1 + math.tanh(
                math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
            ("silu", None, lambda x: x * special.expit(x)),
            ("swish", None, lambda x: x * special.expit(x)),
            ("elu", None, lambda x: x if x > 0 else math.expm1(x)),
            ("elu", 0.5, lambda x: x if x > 0 else 0.5 * math.expm1(x)),
            ("softplus", None, lambda x: np.logaddexp(0, x)),
            ("softplus", 2.0, lambda x: np.logaddexp(0, 2 * x) / 2),
            ("mish", None, lambda x: x * math.tanh(np.logaddexp(0, x))),
            ("relu6", None, lambda x: min(max(x, 0.0), 6.0)),
            ("hardswish", None, lambda x: x * min(max(x + 3, 0.0), 6.0) / 6),
        ],
    )
    def test_named_against_quad(self, name, param, f):
        assert abs(calculate_gain(name, param) - _quad_gain(f)) < 1e-8

    def test_non_vectorized_callable(self):
        assert abs(calculate_gain(math.tanh) - calculate_gain(np.tanh)) < 1e-12
        assert abs(calculate_gain(np.tanh) - _quad_gain(np.tanh)) < 1e-9

    def test_callable_with_param(self):
        def leaky(z, a):
            return np.where(z > 0, z, a * z)

        assert abs(calculate_gain(leaky, 0.2) - calculate_gain("leaky_relu", 0.2)) < 1e-9

    def test_case_insensitive(self):
        assert calculate_gain("GELU") == calculate_gain("gelu")
        assert calculate_gain("ReLU") == math.sqrt(2.0)


class TestNumpyParams:
    @pytest.mark.parametrize("wrap", [np.float32, np.float16, lambda v: np.array(v, np.float32),
                                      lambda v: np.array(v, ml_dtypes.bfloat16),
                                      lambda v: np.array(v, np.float64)])
    def test_scalars_and_0d_arrays(self, wrap):
        for name, value in [("leaky_relu", 0.2), ("elu", 0.5), ("softplus", 2.0),
                            ("celu", 1.5)]:
            p = wrap(value)
            assert calculate_gain(name, p) == calculate_gain(name, float(p))

    @pytest.mark.parametrize("bad", [np.array(True), np.bool_(False), np.array([0.2]),
                                     np.array(np.nan, np.float32)])
    def test_rejected(self, bad):
        with pytest.raises(ValueError, match="negative_slope .* not a valid number"):
            calculate_gain("leaky_relu", bad)

    def test_which_names_take_a_parameter(self):
        assert NONLINEARITY_PARAMS == {"leaky_relu": "negative_slope", "gelu": "approximate",
                                       "elu": "alpha", "celu": "alpha", "softplus": "beta"}
        assert set(NONLINEARITY_PARAMS) <= set(NONLINEARITIES)
        for name in set(NONLINEARITIES) - set(NONLINEARITY_PARAMS):
            assert calculate_gain(name, 0.5) == calculate_gain(name)  # ignored, as torch
        for name in set(NONLINEARITY_PARAMS) - {"gelu"}:
            assert calculate_gain(name, 0.5) != calculate_gain(name)
        assert calculate_gain("gelu", "tanh") != calculate_gain("gelu")
