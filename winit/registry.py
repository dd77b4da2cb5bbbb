"""Initializers by name: torch, Keras and JAX names, reusable ``Initializer`` objects.

``get("he_normal")`` returns an :class:`Initializer` that creates
(``init(shape, dtype, seed=...)``) or fills (``init.fill_(array, seed=...)``)
arrays. Keras/JAX names keep their own semantics (``he_normal`` is Keras'
*truncated* He normal, ``kaiming_normal`` is torch's untruncated one); see
:func:`aliases` and the README table.

Every name ``keras.initializers`` exports resolves with Keras' meaning, its class names
included (``"OrthogonalInitializer"``, ``Identity(gain)``, ``Constant()`` = 0). A few
names mean something else in ``jax.nn.initializers`` than in torch (``normal``,
``uniform``, ``truncated_normal``, ``xavier_normal``, ``kaiming_normal``,
``kaiming_uniform``): a library prefix selects that library's meaning,
``get("jax.normal")`` is JAX's ``normal(stddev=1e-2)``. A ``"keras."`` or ``"jax."``
prefix also reads the fans in that library's layout (``layout="keras"``/``"jax"``) unless
``layout`` is given. Parameter values are checked when the initializer is built, as Keras
does; only what depends on the shape or the dtype waits for the call.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from ._common import Key, resolve_dtype
from .gains import NONLINEARITIES, NONLINEARITY_PARAMS, calculate_gain
from .sampling import constant_, normal_, ones_, trunc_normal_, truncated_normal_, uniform_, zeros_
from .schemes import (
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    plan_error,
    primitive_plan,
    variance_scaling_,
    xavier_normal_,
    xavier_uniform_,
)
from .spectral import check_stft, check_stft_shape, stft_
from .structured import (
    check_delta_orthogonal,
    check_dirac,
    check_eye,
    check_orthogonal,
    check_sparse,
    delta_orthogonal_,
    dirac_,
    eye_,
    orthogonal_,
    sparse_,
)

# truncated_normal_ is re-exported from winit.sampling (its home) for compatibility
__all__ = ["Initializer", "aliases", "available", "get", "recommend", "truncated_normal_"]


# --------------------------------------------------------------------------- the table

# canonical name -> (function, renamed parameters from Keras/JAX spellings, kind, summary).
# ``kind`` says how the scheme may be generated piecewise (the one place this is declared):
#   "elementwise": the value at flat index i depends only on (key, offset + i, params, dtype),
#                  never on the shape: any flat piece of a tensor is filled through ``offset``;
#   "fan":         one elementwise primitive once the full shape is known
#                  (:func:`winit.schemes.primitive_plan`);
#   "whole":       values depend on the whole tensor (QR, identity, per-column masks).
KINDS = ("elementwise", "fan", "whole")
_SCHEMES: dict[str, tuple[Callable, dict[str, str], str, str]] = {
    "zeros": (zeros_, {}, "elementwise", "all zeros"),
    "ones": (ones_, {}, "elementwise", "all ones"),
    "constant": (constant_, {"value": "val"}, "elementwise", "the constant val (default 0)"),
    "uniform": (uniform_, {"minval": "a", "maxval": "b", "scale": "b"}, "elementwise",
                "U[a, b), torch defaults (0, 1); JAX's scale is b"),
    "normal": (normal_, {"stddev": "std"}, "elementwise",
               "N(mean, std^2), torch defaults (0, 1)"),
    "trunc_normal": (trunc_normal_, {"stddev": "std"}, "elementwise",
                     "torch: N(mean, std^2) on absolute [a, b] = [-2, 2]"),
    "truncated_normal": (truncated_normal_, {"stddev": "std"}, "elementwise",
                         "Keras/JAX: N(mean, std^2) cut at mean +- 2 std"),
    "xavier_uniform": (xavier_uniform_, {}, "fan",
                       "Glorot uniform, var = 2 gain^2 / (fan_in + fan_out)"),
    "xavier_normal": (xavier_normal_, {}, "fan", "Glorot normal (torch, untruncated)"),
    "kaiming_uniform": (kaiming_uniform_, {}, "fan", "He uniform, var = gain^2 / fan"),
    "kaiming_normal": (kaiming_normal_, {}, "fan", "He normal (torch, untruncated)"),
    "lecun_uniform": (lecun_uniform_, {}, "fan", "LeCun uniform, var = 1 / fan_in"),
    "lecun_normal": (lecun_normal_, {}, "fan", "LeCun normal (truncated, as Keras/JAX)"),
    "variance_scaling": (variance_scaling_, {}, "fan",
                         "Keras/JAX VarianceScaling, var = scale / fan"),
    "orthogonal": (orthogonal_, {"scale": "gain"}, "whole",
                   "Haar (semi-)orthogonal matrix; JAX's column_axis"),
    "delta_orthogonal": (delta_orthogonal_, {"scale": "gain"}, "whole",
                         "orthogonal centre tap, zeros elsewhere"),
    "eye": (eye_, {}, "whole", "identity matrix (2-D), times gain (Keras Identity)"),
    "dirac": (dirac_, {}, "whole", "Dirac delta conv kernel"),
    "sparse": (sparse_, {}, "whole", "sparse columns, N(0, std^2) non-zeros"),
    "stft": (stft_, {}, "whole", "Keras STFT kernel: windowed DFT, real or imaginary part"),
}
assert all(entry[2] in KINDS for entry in _SCHEMES.values())

#: Defaults for parameters the function requires: Keras' ``Constant()`` is zero.
_DEFAULTS: dict[str, dict[str, Any]] = {"constant": {"val": 0.0}}

_HE = {"scale": 2.0, "mode": "fan_in"}
# alias -> (canonical name, preset parameters)
_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "glorot_uniform": ("xavier_uniform", {}),
    "glorot_normal": ("variance_scaling",
                      {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}),
    "he_uniform": ("variance_scaling", {**_HE, "distribution": "uniform"}),
    "he_normal": ("variance_scaling", {**_HE, "distribution": "truncated_normal"}),
    "identity": ("eye", {}),
    "identity_initializer": ("eye", {}),
    "orthogonal_initializer": ("orthogonal", {}),
    "stft_initializer": ("stft", {}),
    "zero": ("zeros", {}),
    "one": ("ones", {}),
    "random_uniform": ("uniform", {"a": -0.05, "b": 0.05}),
    "random_normal": ("normal", {"mean": 0.0, "std": 0.05}),
}

# The names jax.nn.initializers gives another meaning than winit's (torch's, or Keras'
# for truncated_normal): "jax.<name>" -> (canonical name, preset parameters).
_JAX: dict[str, tuple[str, dict[str, Any]]] = {
    "normal": ("normal", {"std": 1e-2}),
    "uniform": ("uniform", {"b": 1e-2}),  # U[0, scale)
    "truncated_normal": ("truncated_normal", {"std": 1e-2}),
    "xavier_normal": _ALIASES["glorot_normal"],
    "kaiming_normal": _ALIASES["he_normal"],
    "kaiming_uniform": _ALIASES["he_uniform"],
}

# Library prefixes: the library whose meaning (and layout) a qualified name takes.
_PREFIXES = (("keras.initializers.", "keras"), ("keras.", "keras"),
             ("jax.nn.initializers.", "jax"), ("flax.linen.initializers.", "jax"),
             ("flax.nnx.initializers.", "jax"), ("jax.", "jax"),
             ("torch.nn.init.", None), ("torch.", None))

_RESERVED = ("tensor", "seed", "offset", "threads")


def _key(name: str) -> str:
    """Spelling-insensitive key: "HeNormal", "he_normal" and "he_normal_" are one name."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


_LOOKUP: dict[str, tuple[str, dict[str, Any], str | None]] = {}
for _n in _SCHEMES:
    _LOOKUP[_key(_n)] = (_n, {}, None)
for _a, (_c, _p) in _ALIASES.items():
    _LOOKUP[_key(_a)] = (_c, _p, _a)
_JAX_LOOKUP = {_key(_a): (_c, _p, f"jax.{_a}") for _a, (_c, _p) in _JAX.items()}


def _resolve(name: str) -> tuple[str, dict[str, Any], str | None, str | None]:
    """(canonical name, presets, alias, library) of a name, or ValueError."""
    library, short = None, name
    for prefix, lib in _PREFIXES:
        if name.lower().startswith(prefix):
            library, short = lib, name[len(prefix):]
            break
    found = _JAX_LOOKUP.get(_key(short)) if library == "jax" else None
    if found is None:
        found = _LOOKUP.get(_key(short))
        if found is None:
            raise _unknown(name)
        if library is not None:
            canonical, preset, alias = found
            found = (canonical, preset, f"{library}.{alias or canonical}")
    return (*found, library)


def available() -> list[str]:
    """Return the canonical initializer names, sorted (aliases: :func:`aliases`).

    Returns
    -------
    list of str
        The names :func:`get` knows without an alias, e.g. ``"kaiming_normal"``.
    """
    return sorted(_SCHEMES)


def aliases() -> dict[str, str]:
    """Return ``{alias: description}`` for the torch/Keras/JAX names that are not canonical.

    Names are matched case- and underscore-insensitively, so Keras class names
    (``"HeNormal"``) and torch function names (``"kaiming_normal_"``) work too. The
    ``"jax.*"`` entries are the names JAX gives another meaning (see :func:`get`).

    Returns
    -------
    dict of str to str
        Each alias and the canonical call it stands for (``"zero": "zeros()"``).
    """
    out = {}
    for a, (c, p) in [*_ALIASES.items(), *((f"jax.{a}", e) for a, e in _JAX.items())]:
        args = ", ".join(f"{k}={v!r}" for k, v in p.items())
        out[a] = f"{c}({args})"
    return out


_Signature = tuple[Mapping[str, Any], frozenset[str], tuple[str, ...], tuple[str, ...]]


@functools.cache
def _signature_params(func: Callable) -> _Signature:
    """(defaults of positional params, all accepted params, required params, every
    parameter name in order) of a scheme; read once per scheme (a checkpoint plan calls
    get() per tensor, and inspect.signature was half of its time)."""
    defaults, accepted, required = {}, set(), []
    params = list(inspect.signature(func).parameters.values())
    for p in params[1:]:
        if p.name in _RESERVED:
            continue
        accepted.add(p.name)
        if p.kind is p.KEYWORD_ONLY:
            continue
        if p.default is p.empty:
            required.append(p.name)
        else:
            defaults[p.name] = p.default
    return (MappingProxyType(defaults), frozenset(accepted), tuple(required),
            tuple(p.name for p in params))


class Initializer:
    """A named initialization scheme with bound parameters.

    Create one with :func:`get` or :func:`recommend`. ``init(shape)`` makes a
    new array, ``init.fill_(array)`` fills one in place; both take
    keyword-only ``seed``, ``offset`` and ``threads`` and give the same bits
    for the same seed: ``init(shape, dtype, seed=s)`` equals
    ``init.fill_(np.empty(shape, dtype), seed=s)``.

    Parameters
    ----------
    name : str
        Canonical scheme name (see :func:`available`); it selects :attr:`kind`.
    func : callable
        The scheme's fill function, called as
        ``func(array, **params, seed=seed, offset=offset, threads=threads)``.
    params : dict
        The parameters bound to ``func`` (copied). The constructor does not check
        them; :func:`get` does.
    alias : str or None, optional
        The torch/Keras/JAX name it was requested by, shown by ``repr``.

    Attributes
    ----------
    name : str
        Canonical scheme name (see :func:`available`).
    params : dict
        Every parameter passed to the scheme (defaults filled in).
    alias : str or None
        The torch/Keras/JAX name it was requested by, when not canonical.

    Examples
    --------
    >>> init = winit.get("he_normal", layout="keras")
    >>> w = init((3, 3, 64, 128), seed=0)
    >>> init
    Initializer('he_normal' = variance_scaling(scale=2.0, mode='fan_in', \
distribution='truncated_normal', layout='keras'))
    """

    __slots__ = ("_alias", "_func", "_name", "_params")

    def __init__(self, name: str, func: Callable, params: dict[str, Any],
                 alias: str | None = None) -> None:
        self._name = name
        self._func = func
        self._params = dict(params)
        self._alias = alias

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def alias(self) -> str | None:
        return self._alias

    @property
    def kind(self) -> str:
        """How the scheme can be generated piecewise: ``"elementwise"``, ``"fan"`` or ``"whole"``.

        ``"elementwise"``: values never depend on the shape (the primitives,
        ``truncated_normal``); any flat piece of a tensor is filled through ``offset``.
        ``"fan"``: one elementwise primitive once the full shape is fixed
        (:meth:`elementwise_for`). ``"whole"``: values depend on the whole tensor
        (``orthogonal``, ``delta_orthogonal``, ``sparse``, ``eye``, ``dirac``).
        """
        return _SCHEMES[self._name][2]

    @property
    def elementwise(self) -> bool:
        """True when values never depend on the shape: ``kind == "elementwise"``.

        Such an initializer fills any flat piece of a tensor through ``offset``. Fan-based
        schemes are elementwise only once the full shape is fixed: :meth:`elementwise_for`.
        """
        return self.kind == "elementwise"

    def elementwise_for(self, shape) -> Initializer | None:
        """The elementwise initializer equal to this one on a tensor of the full ``shape``.

        For a fan-based scheme (``xavier_*``, ``kaiming_*``, ``lecun_*``,
        ``variance_scaling`` and their aliases such as ``he_normal``, ``glorot_uniform``)
        this is the one sampling primitive the scheme amounts to on ``shape``, e.g.
        ``kaiming_uniform`` on ``(256, 128)`` is ``uniform(a=-bound, b=bound)`` with the
        bound from that shape's fans; the scheme function fills through the same plan
        (:func:`winit.schemes.primitive_plan`), so for any ``seed``

        ``self(shape, dtype, seed=s)`` equals ``prim(shape, dtype, seed=s)``, and the
        flat elements ``[o, o + n)`` of it equal ``prim(n, dtype, seed=s, offset=o)``,

        bit for bit, for ``prim = self.elementwise_for(shape)``: the tensor can be
        generated in bounded memory, block by block (``winit.init_model``) or chunk by
        chunk (``winit.dask``). Shape-free schemes (:attr:`elementwise`) return
        themselves; an empty ``shape`` gives ``zeros`` (nothing to generate).

        Parameters
        ----------
        shape : int or tuple of int
            The full tensor's shape.

        Returns
        -------
        Initializer or None
            None for schemes whose values are not one primitive of the flat index
            (``orthogonal``, ``delta_orthogonal``, ``sparse``, ``eye``, ``dirac``).

        Raises
        ------
        ValueError
            The scheme's own error for this shape or these parameters (e.g. fewer than
            2 dimensions in torch layout).
        """
        if self.kind == "elementwise":
            return self
        if self.kind == "whole":
            return None
        if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
            shape = (int(shape),)
        plan = primitive_plan(self._func, tuple(shape), **self._params)
        if plan is None:
            return get("zeros")
        prim, params = plan
        try:
            return get(prim, **params)
        except ValueError as exc:
            raise plan_error(self._func, shape, self._params, exc) from exc

    def check(self, shape) -> None:
        """Raise the scheme's error for ``shape`` without building a tensor.

        Fan-based schemes read their fans (:meth:`elementwise_for`), whole-tensor
        schemes run their shape checks (dimensions, channels, ``column_axis``);
        elementwise schemes take any shape. ``winit.init_model`` calls this for every
        tensor of a spec before it writes anything.

        Parameters
        ----------
        shape : int or tuple of int
            The full tensor's shape.

        Raises
        ------
        ValueError
            The error the scheme would raise on a tensor of ``shape``.
        """
        if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
            shape = (int(shape),)
        shape = tuple(int(d) for d in shape)
        if self.kind == "fan":
            self.elementwise_for(shape)
        elif self.kind == "whole":
            _WHOLE_CHECKS[self._name](shape, **self._params)

    def fill_(self, array: np.ndarray, *, seed=None, offset: int = 0,
              threads: int | None = None) -> np.ndarray:
        """Fill ``array`` in place and return it (see the scheme's function for details).

        Parameters
        ----------
        array : numpy.ndarray
            float16, bfloat16, float32 or float64 array, any layout, of a shape the
            scheme accepts (fan-based schemes read their fans from it).
        seed, offset, threads
            Keyword-only; as in :func:`winit.uniform_` (``offset`` of a scheme that is
            not :attr:`elementwise`: see the scheme's function).

        Returns
        -------
        numpy.ndarray
            ``array`` itself.

        Raises
        ------
        ValueError, TypeError
            The scheme function's errors for this array (dimensions, dtype, range).
        """
        return self._func(array, **self._params, seed=seed, offset=offset, threads=threads)

    def __call__(self, shape, dtype=np.float32, *, seed=None, offset: int = 0,
                 threads: int | None = None) -> np.ndarray:
        """Return a new C-ordered array of ``shape`` and ``dtype`` (default float32), filled."""
        if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
            shape = (int(shape),)
        dt = resolve_dtype(dtype)
        try:
            out = np.empty(tuple(shape), dtype=dt)
        except (TypeError, ValueError) as exc:  # numpy's words ("array is too big"): name shape
            raise type(exc)(f"shape {shape!r}: {exc}") from None
        return self.fill_(out, seed=seed, offset=offset, threads=threads)

    def _call_repr(self) -> str:
        args = ", ".join(
            f"{k}=<callable {getattr(v, '__name__', type(v).__name__)}>" if callable(v)
            else f"{k}={v!r}"
            for k, v in self._params.items()
        )
        return f"{self._name}({args})"

    def __repr__(self) -> str:
        if self._alias is not None:
            return f"Initializer({self._alias!r} = {self._call_repr()})"
        return f"Initializer({self._call_repr()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Initializer):
            return NotImplemented
        return self._name == other._name and self._params == other._params

    __hash__ = None  # type: ignore[assignment]


def _unknown(name: str) -> ValueError:
    names = sorted(set(_SCHEMES) | set(_ALIASES))
    close = difflib.get_close_matches(str(name).lower(), names, n=4, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"Unknown initializer {name!r}.{hint} Available: {', '.join(names)}"
    )


def _check_stft(shape=None, **params) -> None:
    check_stft(**params)
    if shape is not None:
        check_stft_shape(shape, params.get("window", "hann"), params.get("scaling", "density"),
                         params.get("periodic", False))


#: Checks ``(shape=None, **params)`` of the schemes whose values depend on the whole tensor:
#: parameters alone when ``shape`` is None, else also the shape (no tensor is built).
_WHOLE_CHECKS: dict[str, Callable[..., Any]] = {
    "orthogonal": check_orthogonal, "delta_orthogonal": check_delta_orthogonal,
    "eye": check_eye, "dirac": check_dirac, "sparse": check_sparse, "stft": _check_stft,
}
assert set(_WHOLE_CHECKS) == {n for n, e in _SCHEMES.items() if e[2] == "whole"}


def _check(canonical: str, params: dict[str, Any]) -> None:
    """Raise the scheme's error for bad parameter values, before any tensor exists.

    What depends on the shape (fans, axes, dimensions) is checked by
    :meth:`Initializer.check` and by the call, what depends on the dtype (the range of
    float16) by the call.
    """
    func, _, kind, _ = _SCHEMES[canonical]
    if kind == "fan":
        # the plan checks every parameter first; an empty shape has no fans to read
        primitive_plan(func, (0, 0), **params)
    elif kind == "elementwise":
        # no value depends on the shape, so one float64 element runs every check
        func(np.empty(1), **params, seed=Key(0), threads=1)
    else:
        _WHOLE_CHECKS[canonical](None, **params)


def get(name: str | Initializer, **params: Any) -> Initializer:
    """Return the :class:`Initializer` called ``name`` with ``params`` bound.

    Parameter values are checked here, as Keras checks them when an initializer is
    built (a negative ``std`` or ``scale``, an unknown ``mode``, ``distribution`` or
    ``nonlinearity``, ``a > b``, a NaN ``gain``, a ``sparsity`` outside [0, 1] ...);
    only what depends on the shape or the dtype waits for the call.

    Parameters
    ----------
    name : str or Initializer
        A canonical name (:func:`available`) or a torch/Keras/JAX alias
        (:func:`aliases`), case- and underscore-insensitive. Every name
        ``keras.initializers`` exports works with Keras' meaning. A library prefix,
        ``"keras."``/``"keras.initializers."``, ``"jax."``/``"jax.nn.initializers."``
        (or flax's ``"flax.linen.initializers."``) or ``"torch."``/``"torch.nn.init."``,
        selects that library's meaning where names clash (``"jax.normal"`` is JAX's
        ``normal(stddev=1e-2)``, ``"normal"`` torch's N(0, 1); see :func:`aliases`)
        and, for keras and jax, makes the library's layout the default ``layout``.
        An :class:`Initializer` is returned as is (with ``params`` applied).
    **params
        The scheme's parameters (e.g. ``gain``, ``mode``, ``layout``). Keras
        and JAX spellings are accepted where they differ (``stddev``,
        ``minval``/``maxval``, ``value``, orthogonal ``scale``, JAX ``uniform``'s
        ``scale``, JAX ``orthogonal``'s ``column_axis``). An alias'
        presets (e.g. ``he_normal``'s ``scale=2.0``) can be overridden. Numbers
        may be Python or numpy scalars or 0-d arrays.

    Returns
    -------
    Initializer

    Raises
    ------
    ValueError
        Unknown name (the message lists close matches); a bad parameter value
        (the scheme's own message).
    TypeError
        A parameter the scheme does not take (``seed``, ``offset`` and ``threads``
        are given to the call), a parameter of the wrong type, or a missing required
        one (``sparse`` needs ``sparsity``).

    Examples
    --------
    >>> winit.get("glorot_uniform", gain=2.0)
    Initializer('glorot_uniform' = xavier_uniform(gain=2.0))
    >>> winit.get("jax.uniform", scale=0.1)
    Initializer('jax.uniform' = uniform(a=0.0, b=0.1))
    """
    if isinstance(name, Initializer):
        if not params:
            return name
        return get(name.alias or name.name, **{**name.params, **params})
    if not isinstance(name, str):
        raise TypeError(f"initializer name must be a str, got {type(name).__name__}")
    canonical, preset, alias, library = _resolve(name)
    func, renames, _, _ = _SCHEMES[canonical]
    defaults, accepted, required, names = _signature_params(func)
    given = {}
    for k, v in params.items():
        k2 = renames.get(k, k)
        if k2 in _RESERVED[1:]:
            raise TypeError(f"{name}: {k!r} is given to the call, init(shape, {k}=...), "
                            "not to get()")
        if k2 not in accepted:
            raise TypeError(
                f"{name}: unexpected parameter {k!r}; accepted: {sorted(accepted)}"
            )
        if k2 in given:
            raise TypeError(f"{name}: parameter {k2!r} given twice (as {k!r})")
        given[k2] = v
    if library is not None and "layout" in accepted:
        preset = {"layout": library, **preset}
    bound = {**defaults, **_DEFAULTS.get(canonical, {}), **preset, **given}
    missing = [r for r in required if r not in bound]
    if missing:
        raise TypeError(f"{name}: missing required parameter(s) {missing}")
    # keep the signature's order
    order = [p for p in names if p in bound]
    bound = {k: bound[k] for k in order}
    _check(canonical, bound)
    return Initializer(canonical, func, bound, alias)


_XAVIER_ACTS = ("tanh", "sigmoid", "linear", "identity", "conv1d", "conv2d", "conv3d",
                "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def recommend(activation: str | Callable, param: float | str | None = None) -> Initializer:
    """Return the rule-of-thumb initializer for the layer feeding ``activation``.

    - ``tanh``, ``sigmoid``, ``linear`` (and conv/identity): Xavier/Glorot
      uniform, gain 1 (Glorot & Bengio 2010). For torch's tanh gain use
      ``get("xavier_uniform", gain=calculate_gain("tanh"))``.
    - ``relu``: He/Kaiming normal, ``fan_in`` (He et al. 2015).
    - ``leaky_relu``: He normal with the slope ``param`` (default 0.01).
    - ``selu``: LeCun normal (Klambauer et al. 2017).
    - anything else (``gelu``, ``silu``, ``elu``, ..., or a callable): He-style
      ``kaiming_normal`` with the numeric gain :math:`1/\\sqrt{E[f(z)^2]}` of
      :func:`winit.calculate_gain` (``param`` is the activation's parameter).

    Parameters
    ----------
    activation : str or callable
        A name :func:`winit.calculate_gain` knows, or a function.
    param : float or str, optional
        The activation's parameter, for those that take one
        (:data:`winit.gains.NONLINEARITY_PARAMS`) and callables.

    Returns
    -------
    Initializer

    Raises
    ------
    ValueError
        An unknown activation, a bad parameter, or a parameter for an activation that
        takes none (``recommend("tanh", 0.5)``).

    Examples
    --------
    >>> winit.recommend("leaky_relu", 0.2)
    Initializer(kaiming_normal(a=0.2, mode='fan_in', nonlinearity='leaky_relu'))
    """
    if isinstance(activation, str):
        act = activation.lower()
        if act in NONLINEARITIES and act not in NONLINEARITY_PARAMS and param is not None:
            raise ValueError(f"recommend({activation!r}, {param!r}): {activation} takes no "
                             "parameter")
        if act in _XAVIER_ACTS:
            return get("xavier_uniform", gain=1.0)
        if act == "relu":
            return get("kaiming_normal", a=0, mode="fan_in", nonlinearity="relu")
        if act == "leaky_relu":
            slope = 0.01 if param is None else param
            calculate_gain("leaky_relu", slope)  # validates the slope (torch's errors)
            return get("kaiming_normal", a=slope, mode="fan_in", nonlinearity="leaky_relu")
        if act == "selu":
            return get("lecun_normal")
        calculate_gain(act, param)  # unknown names raise here
        return get("kaiming_normal", a=0 if param is None else param, mode="fan_in",
                   nonlinearity=act)
    if callable(activation):
        calculate_gain(activation, param)
        return get("kaiming_normal", a=0 if param is None else param, mode="fan_in",
                   nonlinearity=activation)
    raise ValueError(
        f"Unsupported nonlinearity {activation}: expected a name or a callable"
    )
