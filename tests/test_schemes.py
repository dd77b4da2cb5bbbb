"""Fan-based schemes: distributions (KS tests), plans, errors, reproducibility.

TestCommon also covers the structured schemes (tests/test_structured.py) where the contract
is shared: empty tensors, dtypes, read-only arrays, seeds, thread counts.
"""

import inspect
import math
import warnings

import ml_dtypes
import numpy as np
import pytest
from scipy import stats

import winit
from winit import registry, sampling, schemes, structured
from winit.schemes import TRUNCATED_NORMAL_STD, primitive_plan

P_MIN = 1e-4  # KS p-value threshold (fixed seeds: deterministic)
TN = TRUNCATED_NORMAL_STD


def _random_shape(rng, dims):
    if dims == 2:
        return tuple(int(s) for s in rng.integers(20, 51, size=2))
    # (out, in, kh, kw) / (kh, kw, in, out): channels 20-50, kernels 2-5
    ch = rng.integers(20, 51, size=2)
    k = rng.integers(2, 6, size=2)
    return (int(ch[0]), int(ch[1]), int(k[0]), int(k[1]))


def _keras_shape(torch_shape):
    """The same layer's kernel in Keras layout."""
    if len(torch_shape) == 2:
        return (torch_shape[1], torch_shape[0])
    out, inp, *k = torch_shape
    return (*k, inp, out)


def _ref_fans(shape, layout):
    # independent oracle of the fan definitions
    if layout == "torch":
        rf = math.prod(shape[2:])
        return shape[1] * rf, shape[0] * rf
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def _ks(x, dist):
    return stats.kstest(np.asarray(x, dtype=np.float64).ravel(), dist.cdf).pvalue


CASES = [(dims, layout, i) for dims in (2, 4) for layout in ("torch", "keras") for i in range(3)]


def _setup(dims, layout, i, salt):
    rng = np.random.default_rng([salt, dims, i, layout == "keras"])
    shape = _random_shape(rng, dims)
    if layout == "keras":
        shape = _keras_shape(shape)
    return rng, shape, np.empty(shape, dtype=np.float64)


class TestDistributions:
    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_xavier_uniform(self, dims, layout, i):
        rng, shape, w = _setup(dims, layout, i, 1)
        gain = rng.uniform(0.1, 2)
        winit.xavier_uniform_(w, gain=gain, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        bound = gain * math.sqrt(6.0 / (fi + fo))
        assert _ks(w, stats.uniform(-bound, 2 * bound)) > P_MIN

    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_xavier_normal(self, dims, layout, i):
        rng, shape, w = _setup(dims, layout, i, 2)
        gain = rng.uniform(0.1, 2)
        winit.xavier_normal_(w, gain=gain, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        assert _ks(w, stats.norm(0, gain * math.sqrt(2.0 / (fi + fo)))) > P_MIN

    @pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_kaiming_uniform(self, dims, layout, i, mode):
        rng, shape, w = _setup(dims, layout, i, 3)
        a = rng.uniform(0, 1)
        winit.kaiming_uniform_(w, a=a, mode=mode, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        fan = fi if mode == "fan_in" else fo
        bound = math.sqrt(2.0 / (1 + a * a)) * math.sqrt(3.0 / fan)
        assert _ks(w, stats.uniform(-bound, 2 * bound)) > P_MIN

    @pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_kaiming_normal(self, dims, layout, i, mode):
        rng, shape, w = _setup(dims, layout, i, 4)
        a = rng.uniform(0, 1)
        winit.kaiming_normal_(w, a=a, mode=mode, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        fan = fi if mode == "fan_in" else fo
        std = math.sqrt(2.0 / (1 + a * a)) / math.sqrt(fan)
        assert _ks(w, stats.norm(0, std)) > P_MIN

    @pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "selu", "gelu", "linear"])
    def test_kaiming_nonlinearities(self, nonlinearity):
        w = np.empty((40, 30, 3, 3))
        winit.kaiming_normal_(w, nonlinearity=nonlinearity, seed=7)
        std = winit.calculate_gain(nonlinearity) / math.sqrt(30 * 9)
        assert _ks(w, stats.norm(0, std)) > P_MIN

    @pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
    @pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
    @pytest.mark.parametrize("dims,layout", [(2, "torch"), (4, "keras"), (4, "torch")])
    def test_variance_scaling(self, dims, layout, mode, distribution):
        rng, shape, w = _setup(dims, layout, 0, 5)
        scale = rng.uniform(0.1, 3)
        winit.variance_scaling_(w, scale, mode, distribution, layout=layout, seed=3)
        fi, fo = _ref_fans(shape, layout)
        fan = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2,
               "fan_geo_avg": math.sqrt(fi * fo)}[mode]
        std = math.sqrt(scale / fan)
        if distribution == "truncated_normal":
            s = std / TN
            dist = stats.truncnorm(-2, 2, scale=s)
            assert np.abs(w).max() <= 2 * s
            assert abs(dist.std() - std) < 1e-12 * std  # the result has variance scale/fan
        elif distribution == "normal":
            dist = stats.norm(0, std)
        else:
            dist = stats.uniform(-math.sqrt(3) * std, 2 * math.sqrt(3) * std)
        assert _ks(w, dist) > P_MIN

    @pytest.mark.parametrize("dims,layout,i", CASES[::2])
    def test_lecun(self, dims, layout, i):
        rng, shape, w = _setup(dims, layout, i, 6)
        fi, _ = _ref_fans(shape, layout)
        winit.lecun_normal_(w, layout=layout, seed=i)
        s = math.sqrt(1.0 / fi) / TN
        assert _ks(w, stats.truncnorm(-2, 2, scale=s)) > P_MIN
        winit.lecun_uniform_(w, layout=layout, seed=i)
        lim = math.sqrt(3.0 / fi)
        assert _ks(w, stats.uniform(-lim, 2 * lim)) > P_MIN

    def test_float32_and_reduced_precision(self):
        for dt in (np.float32, np.float16, ml_dtypes.bfloat16):
            w = winit.kaiming_normal_(np.empty((50, 40), dtype=dt), nonlinearity="relu", seed=1)
            assert w.dtype == dt
            x = w.astype(np.float64)
            assert abs(x.std() * math.sqrt(40 / 2) - 1) < 0.05


class TestSeedNumbers:
    """The numbers from the seed articles, on a (300, 500) weight (fan_in=500, fan_out=300)."""

    def _var(self, fn, **kw):
        return fn(np.empty((300, 500)), seed=2024, **kw).var()

    def test_xavier(self):
        # 2 / (fan_in + fan_out) = 2 / 800
        assert abs(self._var(winit.xavier_uniform_) / 0.0025 - 1) < 0.02
        assert abs(self._var(winit.xavier_normal_) / 0.0025 - 1) < 0.02

    def test_kaiming_relu(self):
        v = self._var(winit.kaiming_uniform_, mode="fan_in", nonlinearity="relu")
        assert abs(v / 0.0040 - 1) < 0.02

    def test_kaiming_leaky(self):
        expected = 2 / (1.09 * 500)
        assert abs(self._var(winit.kaiming_normal_, a=0.3) / expected - 1) < 0.02
        assert abs(self._var(winit.kaiming_uniform_, a=0.3) / expected - 1) < 0.02


FAN_SCHEMES = [winit.xavier_uniform_, winit.xavier_normal_, winit.kaiming_uniform_,
               winit.kaiming_normal_, winit.lecun_uniform_, winit.lecun_normal_,
               winit.variance_scaling_]
ALL = FAN_SCHEMES + [winit.orthogonal_]


class TestCommon:
    @pytest.mark.parametrize("fn", ALL + [winit.sparse_, winit.eye_, winit.dirac_,
                                          winit.delta_orthogonal_])
    def test_zero_size_warns(self, fn):
        shape = {winit.dirac_: (0, 3, 3), winit.delta_orthogonal_: (0, 0, 3)}.get(fn, (0, 5))
        w = np.empty(shape, np.float32)
        args = (0.5,) if fn is winit.sparse_ else ()
        # torch's own text, pointing at the caller's line (not inside winit)
        msg = "^Initializing zero-element tensors is a no-op$"
        with pytest.warns(UserWarning, match=msg) as rec:
            assert fn(w, *args) is w
        assert rec[0].filename == __file__

    @pytest.mark.parametrize("fn", FAN_SCHEMES)
    def test_fewer_than_2_dims(self, fn):
        msg = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        with pytest.raises(ValueError, match=msg):
            fn(np.empty(5))

    @pytest.mark.parametrize("fn", [winit.kaiming_uniform_, winit.kaiming_normal_])
    def test_kaiming_errors(self, fn):
        with pytest.raises(ValueError, match=r"Mode fan_mid not supported, please use one of"):
            fn(np.empty((3, 4)), mode="fan_mid")
        with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
            fn(np.empty((3, 4)), nonlinearity="foo")
        with pytest.raises(ValueError, match="negative_slope .* not a valid number"):
            fn(np.empty((3, 4)), a=True)

    def test_variance_scaling_errors(self):
        w = np.empty((3, 4))
        with pytest.raises(ValueError, match="scale must be a positive float"):
            winit.variance_scaling_(w, 0.0)
        with pytest.raises(ValueError, match="Mode fan_max not supported"):
            winit.variance_scaling_(w, 1.0, "fan_max")
        with pytest.raises(ValueError, match="distribution 'gamma' not supported"):
            winit.variance_scaling_(w, 1.0, "fan_in", "gamma")
        with pytest.raises(ValueError, match="scale must not be NaN"):
            winit.variance_scaling_(w, float("nan"))

    def test_xavier_errors(self):
        with pytest.raises(ValueError, match="gain must be >= 0"):
            winit.xavier_uniform_(np.empty((3, 4)), gain=-1.0)
        with pytest.raises(ValueError, match="layout 'nhwc' not supported"):
            winit.xavier_normal_(np.empty((3, 4)), layout="nhwc")

    @pytest.mark.parametrize("fn", ALL)
    def test_dtype_and_readonly(self, fn):
        with pytest.raises(TypeError, match="int64"):
            fn(np.zeros((3, 4), dtype=np.int64))
        w = np.empty((3, 4))
        w.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            fn(w)

    @pytest.mark.parametrize("fn", ALL + [winit.sparse_])
    def test_same_seed_same_bits(self, fn):
        args = (0.3,) if fn is winit.sparse_ else ()
        a = fn(np.empty((30, 20), np.float32), *args, seed=42)
        b = fn(np.empty((30, 20), np.float32), *args, seed=42)
        c = fn(np.empty((30, 20), np.float32), *args, seed=43)
        assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
        f = fn(np.empty((30, 20), np.float32, order="F"), *args, seed=42)
        assert np.array_equal(a, f)

    @pytest.mark.parametrize("fn", FAN_SCHEMES + [winit.sparse_])
    def test_threads_invariant(self, fn):
        args = (0.3,) if fn is winit.sparse_ else ()
        a = fn(np.empty((300, 200), np.float32), *args, seed=1, threads=1)
        b = fn(np.empty((300, 200), np.float32), *args, seed=1, threads=2)
        assert a.tobytes() == b.tobytes()

    @pytest.mark.parametrize("fn", [winit.kaiming_uniform_, winit.kaiming_normal_,
                                    winit.lecun_uniform_, winit.lecun_normal_])
    def test_offset_shards(self, fn):
        # fan_in-based: a row block has the same fan_in, so filling it at the
        # matching offset reproduces that block of the whole tensor bit for bit
        whole = fn(np.empty((40, 30)), seed=5)
        top = fn(np.empty((25, 30)), seed=5)
        bottom = fn(np.empty((15, 30)), seed=5, offset=25 * 30)
        assert np.array_equal(np.concatenate([top, bottom]), whole)

    def test_no_warnings_on_normal_use(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for fn in ALL:
                fn(np.empty((5, 4)), seed=0)


class TestPlans:
    """``primitive_plan``: the one definition of each fan-based scheme, which its function fills."""

    def test_default_plans_exact(self):
        # torch layout (30, 20, 3): fan_in = 60, fan_out = 90; defaults from the signatures
        shape, r3 = (30, 20, 3), math.sqrt(3.0)
        xs = 1.0 * math.sqrt(2.0 / 150.0)
        ks = winit.calculate_gain("leaky_relu", 0) / math.sqrt(60)
        vs = math.sqrt(1.0 / 60)
        truncated = ("trunc_normal", {"mean": 0.0, "std": vs / TN, "a": -2 * vs / TN,
                                      "b": 2 * vs / TN})
        expected = {
            winit.xavier_uniform_: ("uniform", {"a": -r3 * xs, "b": r3 * xs}),
            winit.xavier_normal_: ("normal", {"mean": 0.0, "std": xs}),
            winit.kaiming_uniform_: ("uniform", {"a": -r3 * ks, "b": r3 * ks}),
            winit.kaiming_normal_: ("normal", {"mean": 0.0, "std": ks}),
            winit.lecun_uniform_: ("uniform", {"a": -r3 * vs, "b": r3 * vs}),
            winit.lecun_normal_: truncated,
            winit.variance_scaling_: truncated,
        }
        for fn, plan in expected.items():
            assert primitive_plan(fn, shape) == plan, fn.__name__
            prim = getattr(winit, plan[0] + "_")
            ref = prim(np.empty(shape, np.float32), **plan[1], seed=4, offset=9)
            assert fn(np.empty(shape, np.float32), seed=4, offset=9).tobytes() == ref.tobytes()

    def test_parameters_and_fans_by_name(self):
        plan = primitive_plan(winit.kaiming_normal_, [3, 3, 8, 16], a=0.5, mode="fan_out",
                              layout="keras")
        std = winit.calculate_gain("leaky_relu", 0.5) / math.sqrt(3 * 3 * 16)
        assert plan == ("normal", {"mean": 0.0, "std": std})
        plan = primitive_plan(winit.variance_scaling_, (4, 5, 6), scale=3.0, mode="fan_in",
                              distribution="UNIFORM", in_axis=0, out_axis=2, batch_axis=(1,))
        lim = math.sqrt(3.0) * math.sqrt(3.0 / 4)
        assert plan == ("uniform", {"a": -lim, "b": lim})

    def test_errors_and_empty(self):
        with pytest.raises(KeyError):
            primitive_plan(winit.orthogonal_, (4, 4))
        for name in ("tensor", "seed", "offset", "threads", "scale"):
            with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
                primitive_plan(winit.xavier_uniform_, (4, 4), **{name: 1})
        assert primitive_plan(winit.kaiming_normal_, (0, 4)) is None
        with pytest.raises(ValueError, match="Mode fan_mid not supported"):  # even when empty
            primitive_plan(winit.kaiming_normal_, (0, 4), mode="fan_mid")

    def test_kaiming_check_order(self):
        # mode, then layout, then the nonlinearity: which error a doubly wrong call raises
        with pytest.raises(ValueError, match="Mode fan_mid"):
            winit.kaiming_uniform_(np.empty((3, 4)), mode="fan_mid", layout="nhwc")
        with pytest.raises(ValueError, match="layout 'nhwc' not supported"):
            winit.kaiming_uniform_(np.empty((3, 4)), nonlinearity="foo", layout="nhwc")
        with pytest.raises(ValueError, match="gain must be >= 0"):
            winit.xavier_uniform_(np.empty((3, 4)), gain=-1.0, layout="nhwc")


class TestPublicNames:
    def test_signatures(self):
        # torch's names and defaults; winit.get reads them, so they are API
        def plain(fn):
            sig = inspect.signature(fn)
            params = [p.replace(annotation=p.empty) for p in sig.parameters.values()]
            return str(sig.replace(parameters=params, return_annotation=sig.empty))

        tail = ("*, seed=None, offset=0, threads=None, layout='torch', in_axis=None, "
                "out_axis=None, batch_axis=()")
        assert plain(winit.xavier_uniform_) == f"(tensor, gain=1.0, {tail})"
        assert plain(winit.xavier_normal_) == f"(tensor, gain=1.0, {tail})"
        kaiming = f"(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu', {tail})"
        assert plain(winit.kaiming_uniform_) == plain(winit.kaiming_normal_) == kaiming
        assert plain(winit.variance_scaling_) == (
            f"(tensor, scale=1.0, mode='fan_in', distribution='truncated_normal', {tail})")
        assert plain(winit.lecun_uniform_) == plain(winit.lecun_normal_) == f"(tensor, {tail})"

    def test_moved_names_keep_their_old_paths(self):
        for name in ("orthogonal_", "delta_orthogonal_", "eye_", "dirac_", "sparse_"):
            fn = getattr(structured, name)
            assert fn.__module__ == "winit.structured" and name in schemes.__all__
            assert getattr(schemes, name) is fn and getattr(winit, name) is fn
        fn = sampling.truncated_normal_
        assert registry.truncated_normal_ is fn and winit.truncated_normal_ is fn
        assert "truncated_normal_" in sampling.__all__ and "truncated_normal_" in registry.__all__
