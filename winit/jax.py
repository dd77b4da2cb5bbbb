"""winit initializers as JAX initializers (``pip install winit[jax]``).

``winit.jax.initializer(name, **params)`` returns an ``init(key, shape, dtype)``
function like those of ``jax.nn.initializers`` (and flax's
``nn.initializers``), filled by winit. Names are read as JAX reads them
(:func:`winit.get` with the ``"jax."`` prefix): ``"normal"`` is JAX's
``normal(stddev=1e-2)``, the fans are read in JAX's layout ``(*kernel, in, out)``.

The key is the seed. A key's raw data (``jax.random.key_data``) is turned into a
:class:`winit.Key` by :func:`seed_of`: the two 32-bit words of a threefry key
(JAX's default) are the high and the low half of the 64-bit Key, so
``jax.random.key(s)`` (or ``jax.random.PRNGKey(s)``) stands for ``winit.Key(s)``
for ``0 <= s < 2**32``. Equal keys give equal bits, on every run and thread count;
``init(key, shape, dtype)`` equals
``winit.get("jax." + name, **params)(shape, dtype, seed=winit.jax.seed_of(key))``.
Inside ``jax.jit`` or ``jax.vmap`` the values are computed on the host through
``jax.pure_callback``.

Examples
--------
>>> import jax, winit.jax
>>> init = winit.jax.initializer("he_normal")
>>> w = init(jax.random.key(0), (784, 256))
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import jax
import numpy as np

from ._common import Key, derive_key, resolve_dtype
from .registry import Initializer, get

__all__ = ["initializer", "seed_of"]


def _words(key) -> Any:
    """The raw uint32 words of a typed key (``jax.random.key``) or a legacy ``PRNGKey``."""
    if jax.dtypes.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def _seed(words: np.ndarray) -> Key:
    if words.dtype != np.uint32 or words.ndim != 1:
        raise TypeError(
            f"expected one JAX PRNG key (jax.random.key or PRNGKey), got data of dtype "
            f"{words.dtype} and shape {words.shape}"
        )
    if words.size == 2:
        return Key(int(words[0]) << 32 | int(words[1]))
    return Key(derive_key(0, "jax", *(int(w) for w in words)))


def seed_of(key) -> Key:
    """The :class:`winit.Key` a JAX PRNG key stands for.

    A threefry key (JAX's default; two 32-bit words ``(hi, lo)``) is
    ``Key(hi << 32 | lo)``: ``jax.random.key(s)`` is ``Key(s)`` for
    ``0 <= s < 2**32``. Keys of other implementations (e.g. ``"rbg"``, four words)
    are hashed: ``Key(winit.derive_key(0, "jax", *words))``.

    Parameters
    ----------
    key : jax.Array
        One key, typed (``jax.random.key``) or raw ``uint32`` (``jax.random.PRNGKey``).

    Returns
    -------
    winit.Key

    Raises
    ------
    TypeError
        Not one PRNG key (e.g. a batch of keys, or an int).
    """
    return _seed(np.asarray(_words(key)))


def _fill(init: Initializer, shape: tuple[int, ...], dtype: np.dtype, words) -> np.ndarray:
    return init(shape, dtype, seed=_seed(np.asarray(words)))


def initializer(name: str | Initializer, *, dtype=None, **params: Any):
    """Return ``init(key, shape, dtype=dtype)``, a JAX initializer filled by winit.

    Parameters
    ----------
    name : str or winit.Initializer
        Any :func:`winit.get` name, read as JAX reads it (``"jax."`` prefix, unless
        the name has a library prefix of its own): ``"normal"`` is
        ``jax.nn.initializers.normal()``, ``"he_normal"`` reads the fans of
        ``(*kernel, in, out)``. An :class:`winit.Initializer` is used as it is.
    dtype : dtype, optional
        The default dtype of ``init`` (JAX's default float dtype when None), as the
        ``dtype`` of JAX's initializer factories.
    **params
        The scheme's parameters, JAX's spellings included (``stddev``, ``scale``,
        ``in_axis``, ``column_axis`` ...); checked here.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array`` of
        ``shape`` and ``dtype`` (float16, bfloat16, float32 or float64), the same
        bits for the same key (see :func:`seed_of`). Works under ``jax.jit`` and
        ``jax.vmap`` (one key per batch element).

    Raises
    ------
    ValueError, TypeError
        As :func:`winit.get`; ``init`` raises TypeError for a key that is not one PRNG
        key or a dtype winit does not fill.

    Examples
    --------
    >>> init = winit.jax.initializer("orthogonal", scale=2.0, column_axis=0)
    >>> w = init(jax.random.key(1), (64, 32), jax.numpy.bfloat16)
    """
    if isinstance(name, Initializer):
        winit_init = get(name, **params)
    elif isinstance(name, str):
        winit_init = get(name if "." in name else f"jax.{name}", **params)
    else:
        raise TypeError(f"initializer name must be a str, got {type(name).__name__}")
    default_dtype = dtype

    def init(key, shape, dtype=default_dtype, out_sharding=None):
        if out_sharding is not None:
            raise NotImplementedError("winit's JAX initializers do not take out_sharding")
        shape = tuple(operator.index(d) for d in shape)
        dt = resolve_dtype(jax.dtypes.canonicalize_dtype(np.float64 if dtype is None else dtype))
        words = _words(key)
        try:
            values = np.asarray(words)
        except jax.errors.TracerArrayConversionError:  # under jit or vmap: on the host
            return jax.pure_callback(functools.partial(_fill, winit_init, shape, dt),
                                     jax.ShapeDtypeStruct(shape, dt), words,
                                     vmap_method="sequential")
        return jax.numpy.asarray(_fill(winit_init, shape, dt, values))

    init.initializer = winit_init
    return init
