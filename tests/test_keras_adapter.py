"""winit.keras: Keras 3 initializers backed by winit (bits, layers, serialization, backends)."""

from __future__ import annotations

import hashlib
import json
import os

import ml_dtypes
import numpy as np
import pytest
from conftest import python_env, run_python

import winit

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is imported (no tensorflow here)
keras = pytest.importorskip("keras", reason="winit.keras needs keras (pip install winit[keras])")
wk = pytest.importorskip("winit.keras")

#: (name, params, shape): names as Keras spells them, Keras shapes (*kernel, in, out).
CASES = [
    ("HeNormal", {}, (3, 3, 8, 16)),
    ("glorot_uniform", {}, (20, 30)),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}, (5, 7)),
    ("RandomNormal", {"stddev": 0.3}, (10, 10)),
    ("TruncatedNormal", {}, (64,)),
    ("Orthogonal", {"gain": 2.0}, (3, 4, 6)),
    ("Identity", {"gain": 0.5}, (4, 6)),
    ("lecun_uniform", {}, (3, 5, 2)),
    ("Constant", {"value": 0.25}, (3,)),
]


def _np(tensor, dtype):
    """A backend tensor as numpy in its own dtype (bfloat16 through float32, exactly)."""
    if dtype == "bfloat16":
        return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(tensor, "float32"))
                          ).astype(ml_dtypes.bfloat16)
    return np.asarray(keras.ops.convert_to_numpy(tensor))


class TestBits:
    @pytest.mark.parametrize("name,params,shape", CASES)
    @pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
    def test_same_bits_as_winit_get(self, name, params, shape, dtype):
        init = wk.get(name, seed=11, **params)
        assert isinstance(init, keras.initializers.Initializer)
        got = _np(init(shape, dtype), dtype)
        reference = winit.get(f"keras.{name}", **params)
        if "layout" in reference.params:  # Keras' fans
            assert reference == winit.get(name, layout="keras", **params)
        want = reference(shape, dtype, seed=11)
        assert keras.backend.standardize_dtype(init(shape, dtype).dtype) == dtype
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
        assert _np(init(shape, dtype), dtype).tobytes() == got.tobytes()  # a seed: same values

    def test_default_dtype_is_floatx(self):
        assert keras.backend.standardize_dtype(wk.get("zeros")((2, 2)).dtype) == \
            keras.backend.floatx()

    def test_no_seed_draws_new_values(self):
        init = wk.get("he_uniform")
        assert not np.array_equal(_np(init((50,), "float32"), "float32"),
                                  _np(init((50,), "float32"), "float32"))

    def test_key_seed_and_winit_initializer(self):
        key = winit.Key(winit.derive_key(3, "dense"))
        a = wk.get("he_normal", seed=key)
        want = winit.get("he_normal", layout="keras")((6, 4), seed=key)
        assert _np(a((6, 4)), "float32").tobytes() == want.tobytes()
        b = wk.get(winit.get("kaiming_uniform", layout="keras", a=0.1), seed=4)
        assert _np(b((6, 4)), "float32").tobytes() == \
            winit.kaiming_uniform_(np.empty((6, 4), np.float32), 0.1, layout="keras",
                                   seed=4).tobytes()

    def test_errors_when_built(self):
        with pytest.raises(ValueError, match="std must be >= 0"):
            wk.get("RandomNormal", stddev=-1.0)
        with pytest.raises(ValueError, match="Unknown initializer"):
            wk.get("NoSuchInitializer")
        with pytest.raises(TypeError, match="seed must be None, an int or a winit.Key"):
            wk.get("zeros", seed=1.5)
        with pytest.raises(ValueError, match="seed must be a non-negative"):
            wk.get("zeros", seed=-1)
        with pytest.raises(TypeError, match="unsupported dtype int32"):
            wk.get("zeros")((2,), "int32")


class TestLayers:
    def test_dense_conv_model_runs_forward(self):
        conv_init = wk.get("he_normal", seed=0)
        dense_init = wk.get("GlorotUniform", seed=1)
        model = keras.Sequential([
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer=conv_init),
            keras.layers.Flatten(),
            keras.layers.Dense(2, kernel_initializer=dense_init,
                               bias_initializer=wk.get("Constant", value=0.5)),
        ])
        y = model.predict(np.ones((2, 8, 8, 3), np.float32), verbose=0)
        assert y.shape == (2, 2) and np.all(np.isfinite(y))
        conv, dense = model.layers[0], model.layers[2]
        assert np.array_equal(keras.ops.convert_to_numpy(conv.kernel),
                              winit.get("he_normal", layout="keras")((3, 3, 3, 4), seed=0))
        assert np.array_equal(keras.ops.convert_to_numpy(dense.kernel),
                              winit.get("keras.glorot_uniform")((144, 2), seed=1))
        assert np.all(keras.ops.convert_to_numpy(dense.bias) == 0.5)

    def test_serialization(self, tmp_path):
        init = wk.get("orthogonal", seed=5, gain=np.float32(2.0))
        config = keras.initializers.serialize(init)
        json.dumps(config)
        assert config["config"] == {"name": "orthogonal", "seed": 5, "gain": 2.0}
        again = keras.initializers.deserialize(config)
        assert isinstance(again, wk.WinitInitializer)
        assert _np(again((6, 4)), "float32").tobytes() == _np(init((6, 4)), "float32").tobytes()
        assert _np(init.clone()((6, 4)), "float32").tobytes() == \
            _np(init((6, 4)), "float32").tobytes()
        key = wk.get("normal", seed=winit.Key(9))
        assert keras.initializers.deserialize(keras.initializers.serialize(key)).seed == \
            winit.Key(9)

        model = keras.Sequential([keras.Input((5,)),
                                  keras.layers.Dense(3, kernel_initializer=init)])
        clone = keras.models.model_from_json(model.to_json())
        assert isinstance(clone.layers[0].kernel_initializer, wk.WinitInitializer)
        assert np.array_equal(keras.ops.convert_to_numpy(clone.layers[0].kernel),
                              keras.ops.convert_to_numpy(model.layers[0].kernel))
        path = tmp_path / "m.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert loaded.layers[0].kernel_initializer.get_config() == init.get_config()


_OTHER_BACKEND = """
import hashlib, os, numpy as np, keras, winit.keras as wk
assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
for name, params, shape in {cases!r}:
    for dtype in ("float32", "float16", "bfloat16"):
        t = wk.get(name, seed=11, **params)(shape, dtype)
        a = keras.ops.convert_to_numpy(keras.ops.cast(t, "float32")).astype(np.float32)
        print(name, dtype, hashlib.sha256(a.tobytes()).hexdigest())
"""


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_same_bits_on_every_backend(backend):
    pytest.importorskip(backend)
    proc = run_python(["-c", _OTHER_BACKEND.format(cases=CASES)],
                      env=python_env(KERAS_BACKEND=backend))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    for (name, params, shape), i in zip(CASES, range(0, 3 * len(CASES), 3), strict=True):
        for dtype, line in zip(("float32", "float16", "bfloat16"), lines[i:i + 3], strict=True):
            want = winit.get(f"keras.{name}", **params)(shape, dtype, seed=11)
            digest = hashlib.sha256(want.astype(np.float32).tobytes()).hexdigest()
            assert line == f"{name} {dtype} {digest}"
