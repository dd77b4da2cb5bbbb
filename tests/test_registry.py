"""Registry: names and aliases, Initializer objects, recommend."""

import math
import zlib

import numpy as np
import pytest
from scipy import stats

import winit
from winit.schemes import TRUNCATED_NORMAL_STD as TN

P_MIN = 1e-4


class TestNames:
    def test_available_has_schemes_and_primitives(self):
        names = winit.available()
        assert names == sorted(names)
        for n in ["zeros", "ones", "constant", "uniform", "normal", "trunc_normal",
                  "truncated_normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                  "kaiming_normal", "lecun_uniform", "lecun_normal", "variance_scaling",
                  "orthogonal", "delta_orthogonal", "eye", "dirac", "sparse"]:
            assert n in names
        assert "he_normal" not in names  # aliases are listed by aliases()

    def test_aliases(self):
        al = winit.aliases()
        for n in ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "identity",
                  "random_normal", "random_uniform"]:
            assert n in al
        assert "truncated_normal" in al["he_normal"]

    @pytest.mark.parametrize(
        "spelling,canonical",
        [("HeNormal", "variance_scaling"), ("he_normal", "variance_scaling"),
         ("GlorotUniform", "xavier_uniform"), ("kaiming_normal_", "kaiming_normal"),
         ("Identity", "eye"), ("TruncatedNormal", "truncated_normal"),
         ("trunc_normal_", "trunc_normal"), ("VarianceScaling", "variance_scaling"),
         ("Zeros", "zeros"), ("RandomUniform", "uniform")],
    )
    def test_spellings(self, spelling, canonical):
        assert winit.get(spelling).name == canonical

    def test_unknown_name_suggests(self):
        with pytest.raises(ValueError, match=r"Unknown initializer 'he_nromal'\. Did you mean "
                                             r"'he_normal'"):
            winit.get("he_nromal")
        with pytest.raises(ValueError, match="Unknown initializer 'xyzzy'. Available: constant"):
            winit.get("xyzzy")

    def test_bad_params(self):
        with pytest.raises(TypeError, match="unexpected parameter 'gian'"):
            winit.get("xavier_uniform", gian=2.0)
        assert winit.get("constant").params == {"val": 0.0}  # Keras' Constant() is 0
        with pytest.raises(TypeError, match=r"missing required parameter\(s\) \['sparsity'\]"):
            winit.get("sparse")
        with pytest.raises(TypeError, match="given twice"):
            winit.get("normal", std=1.0, stddev=2.0)


class TestInitializer:
    @pytest.mark.parametrize(
        "name,params,fn,args",
        [
            ("xavier_uniform", {"gain": 1.5}, winit.xavier_uniform_, (1.5,)),
            ("xavier_normal", {}, winit.xavier_normal_, ()),
            ("kaiming_uniform", {"a": 0.2}, winit.kaiming_uniform_, (0.2,)),
            ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"},
             winit.kaiming_normal_, (0, "fan_out", "relu")),
            ("lecun_normal", {}, winit.lecun_normal_, ()),
            ("lecun_uniform", {}, winit.lecun_uniform_, ()),
            ("variance_scaling", {"scale": 2.0, "mode": "fan_avg"}, winit.variance_scaling_,
             (2.0, "fan_avg")),
            ("orthogonal", {"gain": 0.5}, winit.orthogonal_, (0.5,)),
            ("sparse", {"sparsity": 0.25}, winit.sparse_, (0.25,)),
            ("normal", {"std": 0.02}, winit.normal_, (0.0, 0.02)),
            ("uniform", {"a": -1.0, "b": 2.0}, winit.uniform_, (-1.0, 2.0)),
            ("trunc_normal", {"std": 0.02, "a": -0.04, "b": 0.04}, winit.trunc_normal_,
             (0.0, 0.02, -0.04, 0.04)),
            ("constant", {"val": 0.3}, winit.constant_, (0.3,)),
        ],
    )
    def test_same_bits_as_in_place(self, name, params, fn, args):
        init = winit.get(name, **params)
        for dtype in (np.float32, np.float64):
            a = init((24, 18), dtype, seed=17)
            b = init.fill_(np.empty((24, 18), dtype), seed=17)
            c = fn(np.empty((24, 18), dtype), *args, seed=17)
            assert a.dtype == dtype
            assert a.tobytes() == b.tobytes() == c.tobytes()
        # default dtype is float32; offset and threads pass through
        d = init((24, 18), seed=17, offset=5, threads=1)
        e = init.fill_(np.empty((24, 18), np.float32), seed=17, offset=5, threads=2)
        assert d.dtype == np.float32 and d.tobytes() == e.tobytes()

    def test_bfloat16_and_int_shape(self):
        w = winit.get("normal")(7, "bfloat16", seed=0)
        assert w.shape == (7,) and w.dtype.name == "bfloat16"

    def test_attributes_and_repr(self):
        init = winit.get("he_normal", layout="keras")
        assert init.name == "variance_scaling" and init.alias == "he_normal"
        assert init.params == {"scale": 2.0, "mode": "fan_in",
                               "distribution": "truncated_normal", "layout": "keras"}
        assert repr(init) == ("Initializer('he_normal' = variance_scaling(scale=2.0, "
                              "mode='fan_in', distribution='truncated_normal', layout='keras'))")
        k = winit.get("kaiming_normal")
        assert repr(k) == ("Initializer(kaiming_normal(a=0, mode='fan_in', "
                           "nonlinearity='leaky_relu'))")
        init.params["scale"] = 99.0  # a copy
        assert init.params["scale"] == 2.0

    def test_equality_and_passthrough(self):
        assert winit.get("glorot_uniform") == winit.get("xavier_uniform")
        init = winit.get("orthogonal")
        assert winit.get(init) is init
        assert winit.get(init, gain=2.0).params["gain"] == 2.0

    def test_keras_param_spellings(self):
        assert winit.get("random_normal", stddev=0.1).params == {"mean": 0.0, "std": 0.1}
        assert winit.get("RandomUniform", minval=-1, maxval=1).params == {"a": -1, "b": 1}
        assert winit.get("constant", value=3.0).params == {"val": 3.0}
        assert winit.get("orthogonal", scale=2.0).params == {"gain": 2.0}


class TestSemantics:
    def test_he_normal_is_keras_truncated(self):
        w = winit.get("he_normal")((300, 400), np.float64, seed=1)
        s = math.sqrt(2.0 / 400) / TN
        assert np.abs(w).max() <= 2 * s
        assert stats.kstest(w.ravel(), stats.truncnorm(-2, 2, scale=s).cdf).pvalue > P_MIN

    def test_kaiming_normal_is_torch_untruncated(self):
        w = winit.get("kaiming_normal", nonlinearity="relu")((300, 400), np.float64, seed=1)
        assert np.abs(w).max() > 2 * math.sqrt(2.0 / 400) / TN  # not truncated
        std = math.sqrt(2.0 / 400)
        assert stats.kstest(w.ravel(), stats.norm(0, std).cdf).pvalue > P_MIN

    def test_glorot_normal_truncated_xavier_normal_not(self):
        s = math.sqrt(2.0 / 700) / TN
        g = winit.get("glorot_normal")((300, 400), np.float64, seed=2)
        x = winit.get("xavier_normal")((300, 400), np.float64, seed=2)
        assert np.abs(g).max() <= 2 * s < np.abs(x).max()
        assert stats.kstest(g.ravel(), stats.truncnorm(-2, 2, scale=s).cdf).pvalue > P_MIN

    def test_he_uniform(self):
        w = winit.get("he_uniform")((50, 60), np.float64, seed=3)
        lim = math.sqrt(6.0 / 60)
        assert stats.kstest(w.ravel(), stats.uniform(-lim, 2 * lim).cdf).pvalue > P_MIN

    def test_truncated_normal_relative_vs_trunc_normal_absolute(self):
        k = winit.get("truncated_normal", mean=1.0, stddev=0.5)((200, 100), np.float64, seed=4)
        assert k.min() >= 0.0 and k.max() <= 2.0  # mean +- 2 std
        dist = stats.truncnorm(-2, 2, loc=1.0, scale=0.5)
        assert stats.kstest(k.ravel(), dist.cdf).pvalue > P_MIN
        t = winit.get("trunc_normal", mean=1.0, std=0.5)((200, 100), np.float64, seed=4)
        assert t.min() >= -2.0 and t.max() <= 2.0  # absolute [-2, 2]
        dist = stats.truncnorm((-2 - 1) / 0.5, (2 - 1) / 0.5, loc=1.0, scale=0.5)
        assert stats.kstest(t.ravel(), dist.cdf).pvalue > P_MIN

    def test_keras_defaults(self):
        assert winit.get("random_normal").params == {"mean": 0.0, "std": 0.05}
        assert winit.get("random_uniform").params == {"a": -0.05, "b": 0.05}
        assert winit.get("truncated_normal").params["std"] == 0.05
        assert winit.get("normal").params == {"mean": 0.0, "std": 1.0}  # torch's
        assert winit.get("uniform").params == {"a": 0.0, "b": 1.0}

    def test_identity_and_zeros(self):
        assert np.array_equal(winit.get("identity")((3, 4)), np.eye(3, 4, dtype=np.float32))
        assert not winit.get("zeros")((3, 4)).any()
        assert np.all(winit.get("ones")((3, 4)) == 1)


class TestRecommend:
    @pytest.mark.parametrize("act", ["tanh", "sigmoid", "linear"])
    def test_xavier(self, act):
        r = winit.recommend(act)
        assert r.name == "xavier_uniform" and r.params == {"gain": 1.0}

    def test_relu(self):
        r = winit.recommend("relu")
        assert r.name == "kaiming_normal"
        assert r.params == {"a": 0, "mode": "fan_in", "nonlinearity": "relu"}
        w = r((200, 300), np.float64, seed=0)
        assert abs(w.var() / (2.0 / 300) - 1) < 0.02

    def test_leaky(self):
        assert winit.recommend("leaky_relu").params["a"] == 0.01
        r = winit.recommend("leaky_relu", 0.3)
        w = r((300, 500), np.float64, seed=0)
        assert abs(w.var() / (2 / (1.09 * 500)) - 1) < 0.02
        with pytest.raises(ValueError, match="negative_slope"):
            winit.recommend("leaky_relu", [0.1])

    def test_selu(self):
        assert winit.recommend("selu").name == "lecun_normal"

    @pytest.mark.parametrize("act,param", [("gelu", None), ("silu", None), ("elu", 0.5),
                                           ("mish", None)])
    def test_numeric_gain(self, act, param):
        r = winit.recommend(act, param)
        w = r((300, 400), np.float64, seed=0)
        gain = winit.calculate_gain(act, param)
        assert abs(w.std() * math.sqrt(400) / gain - 1) < 0.02

    def test_callable(self):
        def f(z):
            return np.maximum(z, 0.0)

        w = winit.recommend(f)((300, 400), np.float64, seed=0)
        assert abs(w.var() / (2.0 / 400) - 1) < 0.02
        assert "<callable f>" in repr(winit.recommend(f))

    def test_unknown(self):
        with pytest.raises(ValueError, match="Unsupported nonlinearity softmaxx"):
            winit.recommend("softmaxx")


# ----------------------------------------------------------------------------- elementwise_for

def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(_bits(a), _bits(b))


_FAN_CASES = [
    ("xavier_uniform", {}), ("xavier_uniform", {"gain": "rand"}),
    ("xavier_normal", {"gain": "rand"}),
    ("kaiming_uniform", {}), ("kaiming_uniform", {"a": 0.3, "mode": "fan_out"}),
    ("kaiming_uniform", {"mode": "fan_avg", "nonlinearity": "tanh"}),
    ("kaiming_normal", {}), ("kaiming_normal", {"nonlinearity": "relu", "mode": "fan_out"}),
    ("kaiming_normal", {"a": 0.2, "mode": "fan_geo_avg", "nonlinearity": "leaky_relu"}),
    ("kaiming_normal", {"nonlinearity": "gelu"}),
    ("lecun_uniform", {}), ("lecun_normal", {}),
    *[("variance_scaling", {"scale": "rand", "mode": m, "distribution": d})
      for m in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
      for d in ("truncated_normal", "normal", "untruncated_normal", "uniform")],
    ("glorot_uniform", {}), ("glorot_normal", {}), ("he_uniform", {}), ("he_normal", {}),
    ("HeNormal", {"scale": 1.5}),
]
_FREE_CASES = [
    ("normal", {"mean": 0.5, "std": 2.0}), ("uniform", {"a": -1.0, "b": 3.0}),
    ("trunc_normal", {"std": 0.5, "a": -0.4, "b": 1.0}), ("truncated_normal", {}),
    ("zeros", {}), ("ones", {}), ("constant", {"val": 0.25}), ("random_normal", {}),
    ("random_uniform", {}),
]
_DTYPES = [np.float16, np.float32, np.float64, "bfloat16"]


def _random_case(rng, params, fan_based):
    """Random gains/scales, a random layout (or explicit axes) and a matching random shape."""
    p = {k: (float(rng.uniform(0.1, 2.0)) if v == "rand" else v) for k, v in params.items()}
    nd = int(rng.integers(2, 5))
    shape = (int(rng.integers(4, 12)),) + tuple(int(d) for d in rng.integers(2, 7, size=nd - 1))
    if fan_based:
        layout = ["torch", "keras", "jax", "torch_transposed", "axes"][int(rng.integers(5))]
        if layout == "axes":
            p.update(in_axis=-2, out_axis=-1, batch_axis=() if nd < 4 else (0,))
        else:
            p["layout"] = layout
    return p, shape


def _shards(rng, n, k):
    """k uneven non-empty flat shards [start, stop) covering range(n)."""
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False)) if k > 1 else []
    edges = [0, *[int(c) for c in cuts], n]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _in_place(init):
    """The scheme's in-place function, e.g. winit.kaiming_normal_ for kaiming_normal."""
    return getattr(winit, f"{init.name}_")


class TestElementwiseFor:
    @pytest.mark.parametrize(("name", "params"), _FAN_CASES + _FREE_CASES,
                             ids=lambda v: v if isinstance(v, str) else "")
    def test_sharded_primitive_is_the_scheme_bit_for_bit(self, name, params):
        rng = np.random.default_rng(zlib.crc32(f"{name}{params}".encode()))
        fan_based = (name, params) in _FAN_CASES
        for trial in range(6):
            p, shape = _random_case(rng, params, fan_based)
            init = winit.get(name, **p)
            prim = init.elementwise_for(shape)
            assert prim is not None and prim.elementwise
            assert prim.name in ("normal", "uniform", "trunc_normal", "truncated_normal",
                                 "zeros", "ones", "constant")
            if not fan_based:
                assert prim is init
            dt = _DTYPES[trial % len(_DTYPES)]
            seed = int(rng.integers(2**31))
            ref = init(shape, dt, seed=seed)
            assert ref.shape == shape
            func = _in_place(init)
            assert _same(func(np.empty(shape, ref.dtype), **init.params, seed=seed), ref)
            assert _same(prim(shape, dt, seed=seed), ref)
            n = ref.size
            for k in (1, 2, 7):
                flat = np.empty(n, ref.dtype)
                for s, e in _shards(rng, n, k):
                    prim.fill_(flat[s:e], seed=seed, offset=s, threads=1 + (s % 2))
                assert _same(flat.reshape(shape), ref), (name, p, shape, dt, k)

    def test_which_primitive(self):
        s = (64, 32)
        xu = winit.get("xavier_uniform", gain=2.0).elementwise_for(s)
        b = 2.0 * math.sqrt(6.0 / 96)
        assert xu.name == "uniform"
        assert xu.params == pytest.approx({"a": -b, "b": b}, rel=1e-15)
        he = winit.get("he_normal").elementwise_for(s)
        std = math.sqrt(2.0 / 32) / TN
        assert he.name == "trunc_normal"
        assert he.params == pytest.approx(
            {"mean": 0.0, "std": std, "a": -2 * std, "b": 2 * std}, rel=1e-15)
        kn = winit.get("kaiming_normal", mode="fan_out", nonlinearity="relu").elementwise_for(s)
        assert kn.name == "normal"
        assert kn.params == pytest.approx({"mean": 0.0, "std": math.sqrt(2.0 / 64)}, rel=1e-15)
        # keras layout reads the fans from the other axes
        ku = winit.get("lecun_uniform", layout="keras").elementwise_for((3, 3, 8, 16))
        lim = math.sqrt(3.0 / 72)
        assert ku.params == pytest.approx({"a": -lim, "b": lim}, rel=1e-15)
        lu = winit.get("lecun_normal", layout="keras").elementwise_for(35)  # int: 1-D shape
        assert lu.params["std"] == pytest.approx(math.sqrt(1.0 / 35) / TN, rel=1e-15)

    @pytest.mark.parametrize("name", ["orthogonal", "delta_orthogonal", "eye", "dirac"])
    def test_structured_schemes_have_none(self, name):
        init = winit.get(name)
        assert not init.elementwise
        assert init.elementwise_for((4, 4, 3)) is None
        assert winit.get("sparse", sparsity=0.5).elementwise_for((8, 4)) is None

    def test_errors_and_empty(self):
        init = winit.get("xavier_uniform")
        assert not init.elementwise
        with pytest.raises(ValueError) as a:
            init.elementwise_for((5,))
        with pytest.raises(ValueError) as b:
            winit.xavier_uniform_(np.empty(5, np.float32))
        assert str(a.value) == str(b.value)
        with pytest.raises(ValueError, match="scale"):
            winit.get("variance_scaling", scale=-1.0).elementwise_for((4, 4))
        with pytest.raises(ValueError, match="gain must be >= 0"):
            winit.get("xavier_normal", gain=-1.0).elementwise_for((4, 4))
        z = init.elementwise_for((0, 5))  # nothing to generate; still validated above
        assert z.elementwise and z.name == "zeros"


class TestKind:
    """Whether a scheme streams is declared once, as ``Initializer.kind``."""

    @pytest.mark.parametrize("name", winit.available())
    def test_kind_matches_elementwise_for(self, name):
        params = {"constant": {"val": 0.5}, "sparse": {"sparsity": 0.5}}.get(name, {})
        init = winit.get(name, **params)
        assert init.kind in ("elementwise", "fan", "whole")
        shape = (8, 4, 3, 3) if name in ("dirac", "delta_orthogonal") else (16, 8)
        ew = init.elementwise_for(shape)
        if init.kind == "elementwise":
            assert ew is init and init.elementwise
        elif init.kind == "fan":
            assert ew is not None and ew.kind == "elementwise" and not init.elementwise
            a = init(shape, seed=3)
            assert np.array_equal(a, ew(shape, seed=3))
        else:
            assert ew is None and not init.elementwise

    def test_kinds_of_known_schemes(self):
        assert winit.get("he_normal").kind == "fan"
        assert winit.get("truncated_normal").kind == "elementwise"
        assert winit.get("orthogonal").kind == "whole"
