"""winit initializers as Keras 3 initializers (``pip install winit[keras]``).

``winit.keras.get(name, seed=..., **params)`` returns a
``keras.initializers.Initializer`` that Keras layers take
(``Dense(kernel_initializer=...)``), that serializes with its layer
(``get_config``/``from_config``, saved models), and whose values are, bit for bit,
``winit.get(name, layout="keras", **params)(shape, dtype, seed=seed)`` on every
Keras backend. Names are read as Keras reads them (:func:`winit.get` with the
``"keras."`` prefix): fans in Keras' layout, Keras' defaults.

Keras needs a backend; without TensorFlow set one before importing Keras, e.g.
``KERAS_BACKEND=jax`` or ``KERAS_BACKEND=torch``. This module does not choose one.

Examples
--------
>>> import os
>>> os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
'jax'
>>> import keras, winit.keras
>>> layer = keras.layers.Dense(64, kernel_initializer=winit.keras.get("he_normal", seed=0))
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._common import Key, resolve_dtype
from .registry import Initializer
from .registry import get as _winit_get

try:
    import keras
except ImportError as exc:  # no keras, or keras without a usable backend
    raise ImportError(
        f"winit.keras needs Keras 3 with a backend ({exc}): pip install 'winit[keras]', and "
        "without TensorFlow set KERAS_BACKEND=jax or KERAS_BACKEND=torch before importing it"
    ) from exc

__all__ = ["WinitInitializer", "get"]


def _plain(value):
    """A parameter value as JSON takes it (numpy scalars and arrays to Python)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _check_seed(seed) -> None:
    if seed is None or isinstance(seed, Key):
        return
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be None, an int or a winit.Key, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")


@keras.saving.register_keras_serializable(package="winit")
class WinitInitializer(keras.initializers.Initializer):
    """A winit scheme as a Keras initializer; build it with :func:`get`.

    Parameters
    ----------
    name : str
        A :func:`winit.get` name, read with Keras' meaning (``"keras."`` prefix)
        unless it has a library prefix of its own.
    seed : int, winit.Key or None
        ``None`` draws fresh values at each call; an int or a Key gives the same
        values at every call (the one seed of :func:`winit.get`'s initializers).
    seed_is_key : bool
        Set by :meth:`get_config` for a :class:`winit.Key` seed.
    **params
        The scheme's parameters, checked now.
    """

    def __init__(self, name: str, seed=None, *, seed_is_key: bool = False, **params: Any):
        if seed_is_key and seed is not None:
            seed = Key(seed)
        _check_seed(seed)
        self.name = name
        self.seed = seed
        self.params = dict(params)
        self.initializer = _winit_get(name if "." in name else f"keras.{name}", **params)

    def __call__(self, shape, dtype=None):
        """Return the initial value of a variable.

        Parameters
        ----------
        shape : tuple of int
            The variable's shape (Keras' layout for the fan-based schemes).
        dtype : str or dtype, optional
            float16, bfloat16, float32 or float64; ``keras.backend.floatx()`` if None.

        Returns
        -------
        tensor
            A tensor of the backend, of ``shape`` and ``dtype``.
        """
        dtype = keras.backend.standardize_dtype(dtype or keras.backend.floatx())
        values = self.initializer(tuple(shape), resolve_dtype(dtype), seed=self.seed)
        # every backend takes float32 arrays; bfloat16 values are float32 values
        if dtype == "bfloat16":
            return keras.ops.cast(keras.ops.convert_to_tensor(values.astype(np.float32)), dtype)
        return keras.ops.convert_to_tensor(values, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-serializable arguments that rebuild this initializer.

        Returns
        -------
        dict
            ``name``, ``seed`` (``seed_is_key`` for a :class:`winit.Key`) and the
            parameters given, numpy values as Python ones.
        """
        config = {"name": self.name, "seed": None if self.seed is None else int(self.seed)}
        if isinstance(self.seed, Key):
            config["seed_is_key"] = True
        return {**config, **{k: _plain(v) for k, v in self.params.items()}}

    def __repr__(self) -> str:
        return f"WinitInitializer({self.initializer!r}, seed={self.seed!r})"


def get(name: str | Initializer, seed=None, **params: Any) -> WinitInitializer:
    """Return a Keras initializer filling as the winit scheme ``name``.

    Parameters
    ----------
    name : str or winit.Initializer
        Any :func:`winit.get` name, read as Keras reads it: ``"he_normal"`` is
        ``keras.initializers.HeNormal``, with the fans of Keras' layout
        ``(*kernel, in, out)``. An :class:`winit.Initializer` is used as it is
        (its own layout).
    seed : int, winit.Key or None, optional
        As Keras' ``seed``: with one, every call gives the same values, those of
        ``winit.get(name, layout="keras", **params)(shape, dtype, seed=seed)``;
        ``None`` draws new ones at each call.
    **params
        The scheme's parameters, Keras' spellings included (``stddev``, ``minval``,
        ``gain`` ...); checked here.

    Returns
    -------
    WinitInitializer
        A ``keras.initializers.Initializer``, serializable with its layer.

    Raises
    ------
    ValueError, TypeError
        As :func:`winit.get`, and for a seed that is not None, an int or a Key.

    Examples
    --------
    >>> init = winit.keras.get("orthogonal", seed=1, gain=2.0)
    >>> layer = keras.layers.Dense(8, kernel_initializer=init)
    """
    if isinstance(name, Initializer):
        return WinitInitializer(name.alias or name.name, seed, **{**name.params, **params})
    if not isinstance(name, str):
        raise TypeError(f"initializer name must be a str, got {type(name).__name__}")
    return WinitInitializer(name, seed, **params)
