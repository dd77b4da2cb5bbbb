"""Drop-in fidelity for torch, Keras and JAX users.

Every name keras.initializers / jax.nn.initializers exports resolves in winit.get with
that library's meaning (the lists are written here, so this runs without the
libraries; with them installed the lists are checked against the libraries and the
distributions against their samples); torch's zero-element warning, pointing at the
caller; float parameters given as numpy scalars or 0-d arrays; parameter checks when an
initializer is built; the rounding of uniform_ over a few ulps.
"""

from __future__ import annotations

import math
import os
import warnings

import ml_dtypes
import numpy as np
import pytest
from scipy import stats

import winit

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is imported (no tensorflow here)

P_MIN = 1e-4  # KS p-value threshold (fixed seeds: deterministic)
BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = [np.dtype(np.float16), BF16, np.dtype(np.float32), np.dtype(np.float64)]

# --------------------------------------------------------------------------- the names

#: dir(keras.initializers) of Keras 3.15, without the underscored names.
KERAS_EXPORTS = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT", "STFTInitializer",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "deserialize", "get",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "serialize",
    "stft", "truncated_normal", "variance_scaling", "zeros",
]
#: dir(jax.nn.initializers) of JAX 0.10, without the underscored names.
JAX_EXPORTS = [
    "Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal",
    "lecun_uniform", "normal", "ones", "orthogonal", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
]
#: Exported names that are not initializers (a base class, serialization helpers).
NOT_INITIALIZERS = {"Initializer", "deserialize", "get", "serialize"}


def _vs(scale, mode, distribution):
    return ("variance_scaling", {"scale": scale, "mode": mode, "distribution": distribution})


_TN = "truncated_normal"
#: Keras' class -> winit's (canonical name, parameters with Keras' defaults), fans aside.
KERAS_MEANING = {
    "Constant": ("constant", {"val": 0.0}),
    "GlorotNormal": _vs(1.0, "fan_avg", _TN),
    "GlorotUniform": ("xavier_uniform", {"gain": 1.0}),  # U(+-sqrt(3 / fan_avg))
    "HeNormal": _vs(2.0, "fan_in", _TN),
    "HeUniform": _vs(2.0, "fan_in", "uniform"),
    "Identity": ("eye", {}),
    "LecunNormal": ("lecun_normal", {}),
    "LecunUniform": ("lecun_uniform", {}),
    "Ones": ("ones", {}),
    "Orthogonal": ("orthogonal", {"gain": 1.0}),
    "RandomNormal": ("normal", {"mean": 0.0, "std": 0.05}),
    "RandomUniform": ("uniform", {"a": -0.05, "b": 0.05}),
    "STFT": ("stft", {"side": "real", "window": "hann", "scaling": "density",
                      "periodic": False}),
    "TruncatedNormal": ("truncated_normal", {"mean": 0.0, "std": 0.05, "lower": -2.0,
                                             "upper": 2.0}),
    "VarianceScaling": _vs(1.0, "fan_in", _TN),
    "Zeros": ("zeros", {}),
}
#: Keras' other spellings of its classes.
KERAS_CLASS_OF = {
    "IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal",
    "STFTInitializer": "STFT", "constant": "Constant", "glorot_normal": "GlorotNormal",
    "glorot_uniform": "GlorotUniform", "he_normal": "HeNormal", "he_uniform": "HeUniform",
    "identity": "Identity", "lecun_normal": "LecunNormal", "lecun_uniform": "LecunUniform",
    "ones": "Ones", "orthogonal": "Orthogonal", "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform", "stft": "STFT", "truncated_normal": "TruncatedNormal",
    "variance_scaling": "VarianceScaling", "zeros": "Zeros",
}
#: jax.nn.initializers' name -> winit's (canonical name, parameters with JAX's defaults).
JAX_MEANING = {
    "constant": ("constant", {"val": 0.0}),  # JAX requires the value
    "delta_orthogonal": ("delta_orthogonal", {"gain": 1.0}),
    "glorot_normal": _vs(1.0, "fan_avg", _TN),
    "glorot_uniform": ("xavier_uniform", {"gain": 1.0}),
    "he_normal": _vs(2.0, "fan_in", _TN),
    "he_uniform": _vs(2.0, "fan_in", "uniform"),
    "kaiming_normal": _vs(2.0, "fan_in", _TN),
    "kaiming_uniform": _vs(2.0, "fan_in", "uniform"),
    "lecun_normal": ("lecun_normal", {}),
    "lecun_uniform": ("lecun_uniform", {}),
    "normal": ("normal", {"mean": 0.0, "std": 1e-2}),
    "ones": ("ones", {}),
    "orthogonal": ("orthogonal", {"gain": 1.0}),
    "truncated_normal": ("truncated_normal", {"mean": 0.0, "std": 1e-2, "lower": -2.0,
                                              "upper": 2.0}),
    "uniform": ("uniform", {"a": 0.0, "b": 1e-2}),
    "variance_scaling": _vs(1.0, "fan_in", _TN),  # JAX has no defaults
    "xavier_normal": _vs(1.0, "fan_avg", _TN),
    "xavier_uniform": ("xavier_uniform", {"gain": 1.0}),
    "zeros": ("zeros", {}),
}
#: The JAX names whose unqualified winit meaning is torch's (or Keras') instead.
JAX_DIFFERS = {"normal", "uniform", "truncated_normal", "xavier_normal", "kaiming_normal",
               "kaiming_uniform"}


def _meaning(init):
    """(canonical name, parameters) of an initializer, fans' layout aside."""
    return init.name, {k: v for k, v in init.params.items() if k != "layout"}


class TestNames:
    def test_tables_cover_the_exports(self):
        keras_inits = set(KERAS_EXPORTS) - NOT_INITIALIZERS
        assert keras_inits == set(KERAS_MEANING) | set(KERAS_CLASS_OF)
        assert set(JAX_EXPORTS) - NOT_INITIALIZERS == set(JAX_MEANING)

    @pytest.mark.parametrize("name", sorted(set(KERAS_EXPORTS) - NOT_INITIALIZERS))
    def test_every_keras_name_has_keras_meaning(self, name):
        expected = KERAS_MEANING[KERAS_CLASS_OF.get(name, name)]
        assert _meaning(winit.get(name)) == expected
        qualified = winit.get(f"keras.{name}")
        assert _meaning(qualified) == expected
        assert winit.get(f"keras.initializers.{name}") == qualified
        takes_layout = expected[0] not in ("constant", "eye", "ones", "zeros", "normal",
                                           "uniform", "truncated_normal", "stft")
        assert qualified.params.get("layout") == ("keras" if takes_layout else None)

    @pytest.mark.parametrize("name", sorted(set(JAX_EXPORTS) - NOT_INITIALIZERS))
    def test_every_jax_name_has_jax_meaning(self, name):
        qualified = winit.get(f"jax.{name}")
        assert _meaning(qualified) == JAX_MEANING[name]
        assert winit.get(f"jax.nn.initializers.{name}") == qualified
        assert winit.get(f"flax.linen.initializers.{name}") == qualified
        if "layout" in qualified.params:
            assert qualified.params["layout"] == "jax"
        # unqualified, the name means the same unless it is one of the clashes
        same = _meaning(winit.get(name)) == JAX_MEANING[name]
        assert same == (name not in JAX_DIFFERS)

    def test_keras_parameters(self):
        assert winit.get("Identity", gain=2.0)((2, 3)).tolist() == [[2, 0, 0], [0, 2, 0]]
        assert winit.get("IdentityInitializer", gain=0.5).params == {"gain": 0.5}
        assert winit.get("Constant", value=0.25).params == {"val": 0.25}
        assert winit.get("Orthogonal", gain=3.0).params == {"gain": 3.0}
        assert winit.get("RandomUniform", minval=-1.0, maxval=2.0).params == {"a": -1.0,
                                                                             "b": 2.0}
        assert winit.get("TruncatedNormal", stddev=0.5).params["std"] == 0.5

    def test_jax_parameters(self):
        assert winit.get("jax.uniform", scale=3.0).params == {"a": 0.0, "b": 3.0}
        assert winit.get("uniform", scale=3.0).params == {"a": 0.0, "b": 3.0}
        assert winit.get("jax.normal", stddev=2.0).params == {"mean": 0.0, "std": 2.0}
        o = winit.get("jax.orthogonal", scale=2.0, column_axis=0)
        assert o.params == {"gain": 2.0, "layout": "jax", "column_axis": 0}
        vs = winit.get("jax.variance_scaling", scale=2.0, mode="fan_out",
                       distribution="normal", in_axis=0, out_axis=1, batch_axis=())
        assert vs.params["in_axis"] == 0 and vs.params["layout"] == "jax"

    def test_prefix_semantics(self):
        assert winit.get("torch.nn.init.kaiming_normal_") == winit.get("kaiming_normal")
        assert winit.get("keras.HeNormal") == winit.get("he_normal", layout="keras")
        assert winit.get("keras.HeNormal", layout="torch") == winit.get("he_normal", layout="torch")
        assert repr(winit.get("jax.normal")) == (
            "Initializer('jax.normal' = normal(mean=0.0, std=0.01))")
        init = winit.get("jax.kaiming_normal")
        assert winit.get(init.alias, **init.params) == init
        assert winit.get(init, scale=1.0).alias == "jax.kaiming_normal"
        assert "jax.normal" in winit.aliases()
        with pytest.raises(ValueError, match="Unknown initializer 'jax.nromal'"):
            winit.get("jax.nromal")


# --------------------------------------------------------------------------- real libraries

def _ks2(x, y):
    return stats.ks_2samp(np.ravel(x).astype(np.float64), np.ravel(y).astype(np.float64)).pvalue


def _same_distribution(theirs, ours, primitive):
    """Two-sample KS, and for a bounded distribution the same support (to 2% of it)."""
    assert _ks2(theirs, ours) > P_MIN
    if primitive.name in ("uniform", "trunc_normal", "truncated_normal"):
        width = max(theirs.max(), ours.max()) - min(theirs.min(), ours.min())
        assert abs(theirs.min() - ours.min()) < 0.02 * width
        assert abs(theirs.max() - ours.max()) < 0.02 * width


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras", reason="comparing with Keras needs keras")


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax", reason="comparing with JAX needs jax")


_KSHAPE = (3, 3, 32, 64)  # a Keras Conv2D kernel: fans 288 and 576


class TestAgainstKeras:
    def test_export_list(self, keras):
        assert sorted(n for n in dir(keras.initializers) if not n.startswith("_")) == \
            sorted(KERAS_EXPORTS)

    @pytest.mark.parametrize(
        "cls,kw,shape",
        [
            ("RandomUniform", {}, (300, 200)),
            ("RandomUniform", {"minval": -1.0, "maxval": 3.0}, (300, 200)),
            ("RandomNormal", {}, (300, 200)),
            ("RandomNormal", {"mean": 1.0, "stddev": 2.0}, (300, 200)),
            ("TruncatedNormal", {}, (300, 200)),
            ("TruncatedNormal", {"mean": -1.0, "stddev": 0.5}, (300, 200)),
            ("VarianceScaling", {}, _KSHAPE),
            ("VarianceScaling", {"scale": 2.0, "mode": "fan_out",
                                 "distribution": "untruncated_normal"}, _KSHAPE),
            ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"},
             _KSHAPE),
            ("GlorotNormal", {}, _KSHAPE), ("GlorotUniform", {}, _KSHAPE),
            ("HeNormal", {}, _KSHAPE), ("HeUniform", {}, _KSHAPE),
            ("LecunNormal", {}, _KSHAPE), ("LecunUniform", {}, _KSHAPE),
            ("HeNormal", {}, (4096,)),  # a 1-D shape: fan_in = fan_out = its size
        ],
    )
    def test_same_distribution(self, keras, cls, kw, shape):
        theirs = np.asarray(getattr(keras.initializers, cls)(seed=7, **kw)(shape, "float32"))
        init = winit.get(f"keras.{cls}", **kw)
        _same_distribution(theirs, init(shape, np.float32, seed=7), init.elementwise_for(shape))

    @pytest.mark.parametrize("shape", [(40, 30), (30, 40), (3, 3, 8, 16)])
    def test_orthogonal_gain(self, keras, shape):
        theirs = np.asarray(keras.initializers.Orthogonal(gain=2.0, seed=3)(shape), np.float64)
        ours = winit.get("keras.Orthogonal", gain=2.0)(shape, np.float64, seed=3)
        for w in (theirs, ours):
            m = w.reshape(-1, shape[-1])
            g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
            np.testing.assert_allclose(g, 4.0 * np.eye(len(g)), atol=1e-4)
        assert _ks2(theirs, ours) > P_MIN

    def test_deterministic_ones(self, keras):
        ki = keras.initializers
        for theirs, ours in [
            (ki.Identity(gain=3.0)((4, 6)), winit.get("Identity", gain=3.0)((4, 6))),
            (ki.Constant()((3, 5)), winit.get("Constant")((3, 5))),
            (ki.Constant(0.3)((3, 5)), winit.get("Constant", value=0.3)((3, 5))),
            (ki.Zeros()((3, 5)), winit.get("Zeros")((3, 5))),
            (ki.Ones()((3, 5)), winit.get("Ones")((3, 5))),
        ]:
            assert np.array_equal(np.asarray(theirs), ours)

    @pytest.mark.parametrize(
        "kw",
        [{}, {"side": "imag", "window": "hamming", "scaling": "spectrum", "periodic": True},
         {"window": None}, {"scaling": None}],
    )
    def test_stft(self, keras, kw):
        theirs = np.asarray(keras.initializers.STFT(**kw)((32, 1, 17), "float32"))
        ours = winit.get("STFT", **kw)((32, 1, 17), np.float32)
        # Keras' float32 angles (up to 2 pi 31 16 / 32) are off by up to an ulp of ~97
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


class TestAgainstJax:
    def test_export_list(self, jax):
        names = [n for n in dir(jax.nn.initializers) if not n.startswith("_")]
        assert sorted(names) == sorted(JAX_EXPORTS)

    @pytest.mark.parametrize(
        "name,kw,shape",
        [
            ("normal", {}, (300, 200)), ("normal", {"stddev": 2.0}, (300, 200)),
            ("uniform", {}, (300, 200)), ("uniform", {"scale": 3.0}, (300, 200)),
            ("truncated_normal", {}, (300, 200)),
            ("truncated_normal", {"stddev": 0.5, "lower": -1.0, "upper": 3.0}, (300, 200)),
            ("glorot_normal", {}, _KSHAPE), ("xavier_normal", {}, _KSHAPE),
            ("glorot_uniform", {}, _KSHAPE), ("xavier_uniform", {}, _KSHAPE),
            ("he_normal", {}, _KSHAPE), ("kaiming_normal", {}, _KSHAPE),
            ("he_uniform", {}, _KSHAPE), ("kaiming_uniform", {}, _KSHAPE),
            ("lecun_normal", {}, _KSHAPE), ("lecun_uniform", {}, _KSHAPE),
            ("variance_scaling", {"scale": 2.0, "mode": "fan_geo_avg", "distribution": "normal"},
             _KSHAPE),
            ("variance_scaling", {"scale": 1.0, "mode": "fan_in", "distribution": "uniform",
                                  "in_axis": -2, "out_axis": -1, "batch_axis": 0},
             (8, 40, 300)),
        ],
    )
    def test_same_distribution(self, jax, name, kw, shape):
        factory = getattr(jax.nn.initializers, name)
        theirs = np.asarray(factory(**kw)(jax.random.key(5), shape, np.float32))
        init = winit.get(f"jax.{name}", **kw)
        _same_distribution(theirs, init(shape, np.float32, seed=5), init.elementwise_for(shape))

    @pytest.mark.parametrize("column_axis,shape", [(-1, (20, 6)), (0, (6, 4, 5)),
                                                   (1, (4, 6, 5)), (-1, (5, 40))])
    def test_orthogonal_column_axis(self, jax, column_axis, shape):
        theirs = np.asarray(jax.nn.initializers.orthogonal(2.0, column_axis)(
            jax.random.key(1), shape, np.float32), np.float64)
        ours = winit.get("jax.orthogonal", scale=2.0, column_axis=column_axis)(
            shape, np.float64, seed=1)
        for w in (theirs, ours):
            m = np.moveaxis(w, column_axis, -1).reshape(-1, shape[column_axis])
            g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
            np.testing.assert_allclose(g, 4.0 * np.eye(len(g)), atol=1e-4)
        assert _ks2(theirs, ours) > P_MIN

    @pytest.mark.parametrize("column_axis", [-1, -2])
    def test_delta_orthogonal(self, jax, column_axis):
        shape = (3, 3, 4, 8)
        theirs = np.asarray(jax.nn.initializers.delta_orthogonal(1.5, column_axis)(
            jax.random.key(2), shape, np.float32), np.float64)
        ours = winit.get("jax.delta_orthogonal", scale=1.5, column_axis=column_axis)(
            shape, np.float64, seed=2)
        for w in (theirs, ours):
            centre = w[1, 1]
            np.testing.assert_allclose(centre @ centre.T, 2.25 * np.eye(4), atol=1e-4)
            w[1, 1] = 0
            assert not w.any()

    def test_constant_ones_zeros(self, jax):
        key, ji = jax.random.key(0), jax.nn.initializers
        assert np.array_equal(np.asarray(ji.constant(-7.0)(key, (2, 3))),
                              winit.get("jax.constant", value=-7.0)((2, 3)))
        assert np.array_equal(np.asarray(ji.ones(key, (2, 3))), winit.get("jax.ones")((2, 3)))
        assert np.array_equal(np.asarray(ji.zeros(key, (2, 3))), winit.get("jax.zeros")((2, 3)))

    def test_errors_like_jax(self, jax):
        with pytest.raises(ValueError, match="Must be at least 2D"):
            winit.get("jax.he_normal")((5,))
        with pytest.raises(ValueError, match="fan_in .* must be less than or equal"):
            winit.get("jax.delta_orthogonal")((3, 8, 4))


# --------------------------------------------------------------------------- empty tensors

TORCH_TEXT = "Initializing zero-element tensors is a no-op"

# every path to the warning: primitives, fan-based, structured, the registry, the wrappers
_EMPTY_CALLS = {
    "uniform_": lambda: winit.uniform_(np.empty((0, 3), np.float32)),
    "trunc_normal_": lambda: winit.trunc_normal_(np.empty(0)),
    "truncated_normal_": lambda: winit.truncated_normal_(np.empty(0)),
    "constant_": lambda: winit.constant_(np.empty(0), 1.0),
    "kaiming_uniform_": lambda: winit.kaiming_uniform_(np.empty((0, 3))),
    "lecun_normal_": lambda: winit.lecun_normal_(np.empty((0, 3))),
    "variance_scaling_": lambda: winit.variance_scaling_(np.empty((3, 0))),
    "orthogonal_": lambda: winit.orthogonal_(np.empty((0, 3))),
    "delta_orthogonal_": lambda: winit.delta_orthogonal_(np.empty((0, 0, 3))),
    "sparse_": lambda: winit.sparse_(np.empty((0, 3)), 0.5),
    "eye_": lambda: winit.eye_(np.empty((0, 3))),
    "dirac_": lambda: winit.dirac_(np.empty((0, 2, 3))),
    "get_fan": lambda: winit.get("he_normal")((0, 4)),
    "get_fill": lambda: winit.get("glorot_uniform").fill_(np.empty((4, 0))),
    "get_identity": lambda: winit.get("Identity", gain=2.0)((0, 2)),
    "get_orthogonal_axis": lambda: winit.get("jax.orthogonal", column_axis=0)((3, 0)),
    "get_stft": lambda: winit.get("STFT")((0, 1, 3)),
}


class TestEmptyWarning:
    @pytest.mark.parametrize("path", sorted(_EMPTY_CALLS))
    def test_torch_text_at_the_callers_line(self, path):
        with pytest.warns(UserWarning) as rec:
            _EMPTY_CALLS[path]()
        assert [str(w.message) for w in rec] == [TORCH_TEXT]
        assert rec[0].filename == __file__  # the lambda above, not a line inside winit

    def test_line(self):
        with pytest.warns(UserWarning) as rec:
            line = _line() + 1
            winit.xavier_normal_(np.empty((0, 2)))
        assert (rec[0].filename, rec[0].lineno) == (__file__, line)

    def test_same_as_torch(self):
        torch = pytest.importorskip("torch", reason="comparing with torch needs torch")
        with pytest.warns(UserWarning) as rec:
            torch.nn.init.kaiming_normal_(torch.empty(0, 3))
        assert str(rec[0].message) == TORCH_TEXT

    def test_torch_filter_silences_winit(self):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", message=TORCH_TEXT)  # as written for torch
            winit.kaiming_normal_(np.empty((0, 4)))
            winit.normal_(np.empty(0))
        assert rec == []


def _line():
    import inspect

    return inspect.currentframe().f_back.f_lineno


# --------------------------------------------------------------------------- 0-d parameters

def _wrappers():
    """Ways JAX users pass a float: numpy scalars and 0-d arrays of several dtypes."""
    return {
        "np.float32": np.float32,
        "0-d float32": lambda v: np.array(v, np.float32),
        "0-d float16": lambda v: np.array(v, np.float16),
        "0-d bfloat16": lambda v: np.array(v, BF16),
        "0-d float64": lambda v: np.array(v, np.float64),
        "bfloat16 scalar": lambda v: BF16.type(v),
    }


_FLOAT_PARAMS = [
    (winit.uniform_, (40, 30), {"a": -0.3, "b": 0.7}),
    (winit.normal_, (40, 30), {"mean": 0.1, "std": 0.5}),
    (winit.trunc_normal_, (40, 30), {"mean": 0.1, "std": 0.5, "a": -0.5, "b": 1.0}),
    (winit.truncated_normal_, (40, 30), {"mean": 0.1, "std": 0.5, "lower": -1.5,
                                         "upper": 2.5}),
    (winit.constant_, (40, 30), {"val": 0.3}),
    (winit.xavier_uniform_, (40, 30), {"gain": 1.5}),
    (winit.xavier_normal_, (40, 30), {"gain": 1.5}),
    (winit.kaiming_uniform_, (40, 30), {"a": 0.2}),
    (winit.kaiming_normal_, (40, 30), {"a": 0.2}),
    (winit.variance_scaling_, (40, 30), {"scale": 2.5}),
    (winit.orthogonal_, (40, 30), {"gain": 1.5}),
    (winit.delta_orthogonal_, (6, 4, 3), {"gain": 1.5}),
    (winit.sparse_, (40, 30), {"sparsity": 0.25, "std": 0.5}),
]


class TestZeroDimParameters:
    @pytest.mark.parametrize("fn,shape,params", _FLOAT_PARAMS,
                             ids=[f.__name__ for f, _, _ in _FLOAT_PARAMS])
    @pytest.mark.parametrize("wrap", sorted(_wrappers()))
    def test_same_bits_as_the_float_it_equals(self, fn, shape, params, wrap):
        wrapped = {k: _wrappers()[wrap](v) for k, v in params.items()}
        plain = {k: float(v) for k, v in wrapped.items()}
        for dt in DTYPES:
            a = fn(np.empty(shape, dt), **wrapped, seed=3)
            b = fn(np.empty(shape, dt), **plain, seed=3)
            assert a.dtype == dt  # a parameter never sets the result's dtype
            assert a.tobytes() == b.tobytes()

    def test_registry_and_gains(self):
        f32 = np.array(0.2, np.float32)
        a = winit.get("he_uniform", scale=np.array(3.0, np.float32))((8, 6), np.float16, seed=1)
        b = winit.get("he_uniform", scale=3.0)((8, 6), np.float16, seed=1)
        assert a.dtype == np.float16 and a.tobytes() == b.tobytes()
        assert winit.calculate_gain("leaky_relu", f32) == \
            winit.calculate_gain("leaky_relu", float(f32))
        # a zero slope as a 0-d array is a zero slope: elu keeps its default alpha
        assert winit.get("kaiming_normal", a=np.array(0.0), nonlinearity="elu")(
            (8, 6), seed=2).tobytes() == winit.get(
            "kaiming_normal", a=0, nonlinearity="elu")((8, 6), seed=2).tobytes()

    def test_infinite_bounds(self):
        a = winit.trunc_normal_(np.empty(500), a=np.array(-np.inf, np.float32),
                                b=np.float16(0.0), seed=1)
        b = winit.trunc_normal_(np.empty(500), a=-math.inf, b=0.0, seed=1)
        assert a.tobytes() == b.tobytes() and a.max() <= 0.0

    @pytest.mark.parametrize(
        "value,exc,msg",
        [
            (np.array([0.5]), TypeError, r"std must be a real number \(a Python or numpy "
                                         r"scalar or a 0-d array\), got ndarray of dtype "
                                         r"float64 and shape \(1,\)"),
            (np.array(True), TypeError, "std must be a real number"),
            (np.bool_(True), TypeError, "std must be a real number, got bool"),
            (np.array(0.5 + 1j), TypeError, "dtype complex128"),
            ("0.5", TypeError, "std must be a real number, got str"),
            (np.array(np.nan, np.float32), ValueError, "std must not be NaN"),
            (np.float16(-1.0), ValueError, "std must be >= 0, got -1.0"),
        ],
    )
    def test_rejected(self, value, exc, msg):
        with pytest.raises(exc, match=msg):
            winit.normal_(np.empty(3), std=value)
        with pytest.raises(exc, match=msg):
            winit.get("normal", std=value)


# --------------------------------------------------------------------------- build-time checks

_NAN, _INF = float("nan"), float("inf")
#: (name, params, error, message): each fails when the initializer is built.
BAD_PARAMS = [
    ("normal", {"std": -1.0}, ValueError, "std must be >= 0"),
    ("normal", {"mean": _NAN}, ValueError, "mean must not be NaN"),
    ("normal", {"std": "x"}, TypeError, "std must be a real number"),
    ("uniform", {"a": 1.0, "b": 0.0}, ValueError, "uniform_: a must be <= b"),
    ("uniform", {"b": _INF}, ValueError, "b must be finite"),
    ("trunc_normal", {"a": 2.0, "b": -2.0}, ValueError, "trunc_normal_: a must be <= b"),
    ("trunc_normal", {"std": 0.0, "mean": 5.0}, ValueError, "std=0 and mean=5.0 outside"),
    ("truncated_normal", {"std": -0.1}, ValueError, "std must be >= 0"),
    ("truncated_normal", {"lower": _NAN}, ValueError, "lower must not be NaN"),
    ("constant", {"val": _INF}, ValueError, "val must be finite"),
    ("variance_scaling", {"scale": -1.0}, ValueError, "scale must be a positive float"),
    ("variance_scaling", {"scale": 0.0}, ValueError, "scale must be a positive float"),
    ("variance_scaling", {"mode": "fan_mid"}, ValueError, "Mode fan_mid not supported"),
    ("variance_scaling", {"distribution": "cauchy"}, ValueError,
     "distribution 'cauchy' not supported"),
    ("he_normal", {"scale": _NAN}, ValueError, "scale must not be NaN"),
    ("xavier_uniform", {"gain": _NAN}, ValueError, "gain must not be NaN"),
    ("xavier_normal", {"gain": -1.0}, ValueError, "gain must be >= 0"),
    ("xavier_uniform", {"layout": "tf"}, ValueError, "layout 'tf' not supported"),
    ("kaiming_normal", {"nonlinearity": "softmaxx"}, ValueError,
     "Unsupported nonlinearity softmaxx"),
    ("kaiming_uniform", {"mode": "fan_mid"}, ValueError, "Mode fan_mid not supported"),
    ("kaiming_normal", {"a": "x"}, ValueError, "negative_slope x not a valid number"),
    ("orthogonal", {"gain": _NAN}, ValueError, "gain must not be NaN"),
    ("orthogonal", {"layout": "tf"}, ValueError, "layout 'tf' not supported"),
    ("delta_orthogonal", {"gain": _INF}, ValueError, "gain must be finite"),
    ("sparse", {"sparsity": 1.5}, ValueError, r"sparsity must be in \[0, 1\], got 1.5"),
    ("sparse", {"sparsity": 0.5, "std": -1.0}, ValueError, "std must be >= 0"),
    ("dirac", {"groups": 0}, ValueError, "groups must be >= 1"),
    ("dirac", {"groups": 1.5}, TypeError, "groups must be a positive int"),
]
#: Errors of the Keras/JAX arguments winit's public functions do not take.
BAD_KERAS_JAX_PARAMS = [
    ("Identity", {"gain": _NAN}, ValueError, "gain must not be NaN"),
    ("orthogonal", {"column_axis": 0}, ValueError, "column_axis .* needs layout='jax'"),
    ("jax.orthogonal", {"column_axis": 0.5}, TypeError, "column_axis must be an int"),
    ("jax.delta_orthogonal", {"column_axis": 2}, ValueError, "column_axis must be an axis"),
    ("STFT", {"side": "both"}, ValueError, "side should be 'real' or 'imag'"),
    ("STFT", {"window": "nope"}, ValueError, "nope"),
    ("STFT", {"scaling": "max"}, ValueError, "Scaling is invalid"),
    ("STFT", {"periodic": 1}, TypeError, "periodic must be a bool"),
]


class TestBuildTimeChecks:
    @pytest.mark.parametrize("name,params,exc,msg", BAD_PARAMS + BAD_KERAS_JAX_PARAMS)
    def test_fails_when_built(self, name, params, exc, msg):
        with pytest.raises(exc, match=msg):
            winit.get(name, **params)

    @pytest.mark.parametrize("name,params,exc,msg", BAD_PARAMS)
    def test_same_error_as_the_call(self, name, params, exc, msg):
        valid = winit.get(name, **({"sparsity": 0.5} if name == "sparse" else {}))
        fn = getattr(winit, f"{valid.name}_")
        shape = (6, 4, 3) if fn in (winit.dirac_, winit.delta_orthogonal_) else (6, 4)
        preset = {k: v for k, v in valid.params.items() if k not in params}
        with pytest.raises(exc) as called:
            fn(np.empty(shape), **preset, **params)
        with pytest.raises(exc) as built:
            winit.get(name, **params)
        assert str(built.value) == str(called.value)

    def test_shape_and_dtype_checks_wait_for_the_call(self):
        init = winit.get("xavier_uniform")
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            init((5,))
        big = winit.get("uniform", a=0.0, b=1e6)
        big((3,), np.float32)
        with pytest.raises(ValueError, match="outside the range of float16"):
            big((3,), np.float16)
        axis = winit.get("jax.orthogonal", column_axis=5)
        with pytest.raises(ValueError, match="column_axis=5 is out of range"):
            axis((3, 4))

    def test_call_arguments_are_not_parameters(self):
        for k in ("seed", "offset", "threads"):
            with pytest.raises(TypeError, match=f"'{k}' is given to the call"):
                winit.get("normal", **{k: 1})

    @pytest.mark.parametrize("act,param", [("tanh", "x"), ("relu", 0.1), ("selu", 1.0),
                                           ("silu", 2.0), ("linear", 1), ("sigmoid", 0.0)])
    def test_recommend_rejects_a_parameter_the_activation_lacks(self, act, param):
        with pytest.raises(ValueError, match="takes no parameter"):
            winit.recommend(act, param)

    @pytest.mark.parametrize("act,param", [("leaky_relu", 0.2), ("elu", 0.5),
                                           ("gelu", "tanh"), ("softplus", 2.0),
                                           ("celu", 0.5), ("tanh", None)])
    def test_recommend_takes_a_parameter_the_activation_has(self, act, param):
        winit.recommend(act, param)


# --------------------------------------------------------------------------- uniform rounding

class TestUniformRounding:
    """uniform_'s docstring: over a few ulps, hi takes 3/2 and lo 1/2 of a value's share."""

    @pytest.mark.parametrize("dtype,ulp", [(np.float16, 2.0**-10), (BF16, 2.0**-7),
                                           (np.float32, 2.0**-23), (np.float64, 2.0**-52)])
    def test_four_ulps(self, dtype, ulp):
        w = winit.uniform_(np.empty(400_000, dtype), 1.0, 1.0 + 4 * ulp, seed=0)
        values, counts = np.unique(w.astype(np.float64), return_counts=True)
        assert np.array_equal(values, 1.0 + ulp * np.arange(4))
        np.testing.assert_allclose(counts / w.size, [1 / 8, 1 / 4, 1 / 4, 3 / 8], atol=0.004)

    def test_never_b(self):
        w = winit.uniform_(np.empty(100_000, np.float16), 1.0, 1.0 + 2.0**-10, seed=1)
        assert np.all(w == 1.0)  # one value in [a, b): everything rounds to it
