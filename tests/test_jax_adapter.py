"""winit.jax: JAX initializers backed by winit (keys, bits, dtypes, jit/vmap, an MLP)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import winit

jax = pytest.importorskip("jax", reason="winit.jax needs jax (pip install winit[jax])")
jnp = pytest.importorskip("jax.numpy")
wj = pytest.importorskip("winit.jax")
threadpoolctl = pytest.importorskip("threadpoolctl")

#: (name, params, shape): names as JAX spells them, JAX shapes (*kernel, in, out).
CASES = [
    ("he_normal", {}, (3, 3, 8, 16)),
    ("normal", {}, (20, 30)),
    ("uniform", {"scale": 2.0}, (20, 30)),
    ("truncated_normal", {"stddev": 0.5}, (100,)),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform",
                          "in_axis": 0, "out_axis": 2}, (4, 5, 6)),
    ("orthogonal", {"scale": 2.0, "column_axis": 0}, (6, 4, 5)),
    ("delta_orthogonal", {}, (3, 3, 4, 8)),
    ("constant", {"value": -7.0}, (2, 3)),
    ("sparse", {"sparsity": 0.5}, (8, 4)),  # winit's own names work too
]


class TestKeys:
    def test_threefry_words_are_the_key(self):
        assert wj.seed_of(jax.random.key(42)) == winit.Key(42)
        assert wj.seed_of(jax.random.PRNGKey(42)) == winit.Key(42)
        words = np.asarray(jax.random.key_data(jax.random.key(2**40 + 5)), np.uint64)
        assert wj.seed_of(jax.random.key(2**40 + 5)) == winit.Key(int(words[0]) << 32
                                                                  | int(words[1]))
        k = jax.random.split(jax.random.key(0))[1]
        hi, lo = (int(w) for w in np.asarray(jax.random.key_data(k)))
        assert wj.seed_of(k) == winit.Key(hi << 32 | lo)

    def test_other_implementations_are_hashed(self):
        key = jax.random.key(3, impl="rbg")
        words = [int(w) for w in np.asarray(jax.random.key_data(key))]
        assert len(words) == 4
        assert wj.seed_of(key) == winit.Key(winit.derive_key(0, "jax", *words))

    def test_not_one_key(self):
        with pytest.raises(TypeError, match="expected one JAX PRNG key"):
            wj.seed_of(jax.random.split(jax.random.key(0), 3))
        with pytest.raises(TypeError, match="expected one JAX PRNG key"):
            wj.seed_of(jnp.int32(3))


class TestBits:
    @pytest.mark.parametrize("name,params,shape", CASES)
    @pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16])
    def test_same_bits_as_winit_get(self, name, params, shape, dtype):
        init = wj.initializer(name, **params)
        key = jax.random.key(7)
        out = init(key, shape, dtype)
        assert isinstance(out, jax.Array) and out.shape == shape and out.dtype == dtype
        want = winit.get(f"jax.{name}", **params)(shape, np.dtype(dtype), seed=winit.Key(7))
        assert np.asarray(out).tobytes() == want.tobytes()
        assert np.asarray(init(jax.random.key(7), shape, dtype)).tobytes() == want.tobytes()

    def test_default_dtype(self):
        init = wj.initializer("normal")
        assert init(jax.random.key(0), (3,)).dtype == jnp.float32
        assert wj.initializer("normal", dtype=jnp.bfloat16)(jax.random.key(0), (3,)).dtype \
            == jnp.bfloat16
        assert init.initializer == winit.get("jax.normal")

    def test_jit_and_vmap(self):
        init = wj.initializer("glorot_normal")
        key = jax.random.key(1)
        eager = np.asarray(init(key, (16, 8)))
        jitted = jax.jit(lambda k: init(k, (16, 8)))(key)
        assert np.asarray(jitted).tobytes() == eager.tobytes()
        keys = jax.random.split(key, 3)
        batched = jax.jit(jax.vmap(lambda k: init(k, (16, 8))))(keys)
        for i in range(3):
            assert np.asarray(batched[i]).tobytes() == np.asarray(init(keys[i], (16, 8))
                                                                  ).tobytes()
        legacy = jax.jit(lambda k: init(k, (16, 8)))(jax.random.PRNGKey(1))
        assert np.asarray(legacy).tobytes() == eager.tobytes()

    def test_thread_count_does_not_matter(self):
        init = wj.initializer("he_uniform")
        key, shape = jax.random.key(3), (512, 300)
        many = np.asarray(init(key, shape))
        with threadpoolctl.threadpool_limits(1, "openmp"):
            one = np.asarray(init(key, shape))
        assert many.tobytes() == one.tobytes()

    def test_errors(self):
        with pytest.raises(ValueError, match="std must be >= 0"):
            wj.initializer("normal", stddev=-1.0)
        init = wj.initializer("zeros")
        with pytest.raises(TypeError, match="unsupported dtype int32"):
            init(jax.random.key(0), (2,), jnp.int32)
        with pytest.raises(TypeError, match="expected one JAX PRNG key"):
            init(jax.random.split(jax.random.key(0), 2), (2,))
        with pytest.raises(NotImplementedError, match="out_sharding"):
            init(jax.random.key(0), (2,), out_sharding="x")
        with pytest.raises(ValueError, match="Must be at least 2D"):
            wj.initializer("lecun_normal")(jax.random.key(0), (5,))


def test_mlp_runs_forward():
    """A small flax-style MLP in plain jax.numpy, every parameter from a winit initializer."""
    sizes = [12, 32, 32, 3]
    kernel_init = wj.initializer("he_normal")
    bias_init = wj.initializer("zeros")
    keys = jax.random.split(jax.random.key(0), len(sizes) - 1)
    params = [{"w": kernel_init(k, (m, n)), "b": bias_init(k, (n,))}
              for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)]

    @jax.jit
    def forward(params, x):
        for layer in params[:-1]:
            x = jax.nn.relu(x @ layer["w"] + layer["b"])
        return x @ params[-1]["w"] + params[-1]["b"]

    x = jax.random.normal(jax.random.key(1), (64, sizes[0]))
    y = forward(params, x)
    assert y.shape == (64, 3) and bool(jnp.all(jnp.isfinite(y)))
    w0 = winit.get("jax.he_normal")((12, 32), np.float32, seed=wj.seed_of(keys[0]))
    assert np.asarray(params[0]["w"]).tobytes() == w0.tobytes()
    # gradients flow through winit's arrays like any other
    loss = jax.grad(lambda p: jnp.mean(forward(p, x) ** 2))(params)
    assert loss[0]["w"].shape == (12, 32)


def test_bfloat16_is_ml_dtypes():
    out = wj.initializer("uniform")(jax.random.key(0), (4,), jnp.bfloat16)
    assert np.asarray(out).dtype == np.dtype(ml_dtypes.bfloat16)
