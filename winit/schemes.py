"""Initialization schemes (torch.nn.init names and defaults, Keras/JAX semantics where named).

Every scheme validates its arguments, computes the scale from the fans and
makes one call to a sampling kernel (:mod:`winit.sampling`), so the values
written follow the reproducibility guarantee of the primitives: they depend
only on ``(seed, offset + flat index, parameters, dtype)``. ``orthogonal_``,
``delta_orthogonal_`` and ``sparse_`` post-process a kernel fill with
vectorized numpy/LAPACK code.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.linalg

from ._common import (
    Key,
    check_finite_param,
    check_float_array,
    derive_key,
    resolve_key,
    warn_empty,
)
from .fans import FAN_MODES, check_layout, check_mode, compute_fans, fan_for_mode
from .gains import calculate_gain
from .sampling import normal_, trunc_normal_, uniform_, zeros_

__all__ = [
    "TRUNCATED_NORMAL_STD",
    "delta_orthogonal_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "orthogonal_",
    "primitive_plan",
    "sparse_",
    "variance_scaling_",
    "xavier_normal_",
    "xavier_uniform_",
]

#: Standard deviation of a standard normal truncated to [-2, 2] (Keras/JAX's constant).
TRUNCATED_NORMAL_STD = 0.87962566103423978

DISTRIBUTIONS = ("truncated_normal", "normal", "untruncated_normal", "uniform")

#: A fan-based scheme on a given full shape is exactly one sampling primitive with
#: fixed parameters: ``(primitive registry name, its parameters)``.
PrimitivePlan = tuple[str, dict]

#: Sampling primitive of each plan name (also the registry names of the primitives).
_PRIMITIVES = {"uniform": uniform_, "normal": normal_, "trunc_normal": trunc_normal_}


def _fans(shape, layout, in_axis, out_axis, batch_axis) -> tuple[int, int]:
    return compute_fans(
        tuple(shape), layout, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
    )


def _run_plan(tensor, plan: PrimitivePlan, *, seed, offset, threads):
    """Fill ``tensor`` with the primitive of ``plan`` (the only fill of a fan-based scheme)."""
    name, params = plan
    return _PRIMITIVES[name](tensor, **params, seed=seed, offset=offset, threads=threads)


def _variance_plan(std: float, distribution: str) -> PrimitivePlan:
    """Zero-mean primitive with *result* standard deviation ``std``."""
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return "uniform", {"a": -bound, "b": bound}
    if distribution == "truncated_normal":
        s = std / TRUNCATED_NORMAL_STD
        return "trunc_normal", {"mean": 0.0, "std": s, "a": -2.0 * s, "b": 2.0 * s}
    return "normal", {"mean": 0.0, "std": std}


# --------------------------------------------------------------------------- Xavier / Glorot


def _xavier_std(shape, gain, layout, in_axis, out_axis, batch_axis) -> float | None:
    """Validate; None for an empty shape, else std = gain * sqrt(2 / (fan_in + fan_out))."""
    gain = check_finite_param(gain, "gain", nonneg=True)
    check_layout(layout)
    if math.prod(shape) == 0:
        return None
    fan_in, fan_out = _fans(shape, layout, in_axis, out_axis, batch_axis)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def _xavier_uniform_plan(shape, gain: float = 1.0, *, layout: str = "torch", in_axis=None,
                         out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _xavier_std(shape, gain, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    a = math.sqrt(3.0) * std
    return "uniform", {"a": -a, "b": a}


def _xavier_normal_plan(shape, gain: float = 1.0, *, layout: str = "torch", in_axis=None,
                        out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _xavier_std(shape, gain, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    return "normal", {"mean": 0.0, "std": std}


def xavier_uniform_(
    tensor: np.ndarray,
    gain: float = 1.0,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Xavier (Glorot) uniform distribution.

    Glorot, X. & Bengio, Y. (2010), "Understanding the difficulty of training
    deep feedforward neural networks". Values are drawn from
    :math:`\mathcal{U}(-a, a)` with

    .. math::
        a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}

    so the variance is :math:`\text{gain}^2 \cdot 2 / (\text{fan\_in} + \text{fan\_out})`.
    Same bounds, to the bit, as ``torch.nn.init.xavier_uniform_``; also
    Keras/JAX ``glorot_uniform`` (with ``layout="keras"``).

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D (float16, bfloat16, float32 or float64), filled in place.
    gain : float, optional
        Scaling factor (see :func:`winit.calculate_gain`), >= 0.
    seed : int, SeedSequence, Generator, Key or None, optional
        Keyword-only; see the reproducibility guarantee.
    offset : int, optional
        Flat index of the first element in a larger logical tensor.
    threads : int, optional
        Thread count (``None``: all usable cores).
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional
        How the fans are read from the shape (:func:`winit.compute_fans`).
    in_axis, out_axis, batch_axis : int or tuple of int, optional
        Explicit axes, as ``jax.nn.initializers.variance_scaling``.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = np.empty((3, 5), np.float32)
    >>> winit.xavier_uniform_(w, gain=winit.calculate_gain("relu"), seed=0) is w
    True
    """
    check_float_array(tensor)
    plan = _xavier_uniform_plan(tensor.shape, gain, layout=layout, in_axis=in_axis,
                                out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "xavier_uniform_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


def xavier_normal_(
    tensor: np.ndarray,
    gain: float = 1.0,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Xavier (Glorot) normal distribution (untruncated, as torch).

    Glorot, X. & Bengio, Y. (2010). Values are drawn from
    :math:`\mathcal{N}(0, \text{std}^2)` with

    .. math::
        \text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    This is ``torch.nn.init.xavier_normal_``. Keras/JAX ``glorot_normal`` is
    a *truncated* normal with the same variance: ``winit.get("glorot_normal")``
    or ``variance_scaling_(t, 1.0, "fan_avg", "truncated_normal")``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    gain : float, optional
        Scaling factor, >= 0.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    plan = _xavier_normal_plan(tensor.shape, gain, layout=layout, in_axis=in_axis,
                               out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "xavier_normal_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


# --------------------------------------------------------------------------- Kaiming / He


def _kaiming_std(shape, a, mode, nonlinearity, layout, in_axis, out_axis, batch_axis):
    m = check_mode(mode, FAN_MODES)
    check_layout(layout)
    is_leaky = isinstance(nonlinearity, str) and nonlinearity.lower() == "leaky_relu"
    if is_leaky:
        gain = calculate_gain(nonlinearity, a)
    else:
        # torch ignores `a` for other names; parametrized numeric ones get it unless 0
        is_zero = isinstance(a, numbers.Real) and not isinstance(a, bool) and a == 0
        gain = calculate_gain(nonlinearity, None if a is None or is_zero else a)
    if math.prod(shape) == 0:
        return None
    fan_in, fan_out = _fans(shape, layout, in_axis, out_axis, batch_axis)
    return gain / math.sqrt(fan_for_mode(fan_in, fan_out, m))


def _kaiming_uniform_plan(shape, a: float = 0, mode: str = "fan_in",
                          nonlinearity="leaky_relu", *, layout: str = "torch", in_axis=None,
                          out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _kaiming_std(shape, a, mode, nonlinearity, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    bound = math.sqrt(3.0) * std
    return "uniform", {"a": -bound, "b": bound}


def _kaiming_normal_plan(shape, a: float = 0, mode: str = "fan_in",
                         nonlinearity="leaky_relu", *, layout: str = "torch", in_axis=None,
                         out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _kaiming_std(shape, a, mode, nonlinearity, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    return "normal", {"mean": 0.0, "std": std}


def kaiming_uniform_(
    tensor: np.ndarray,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity="leaky_relu",
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Kaiming (He) uniform distribution.

    He, K. et al. (2015), "Delving deep into rectifiers: Surpassing
    human-level performance on ImageNet classification". Values are drawn from
    :math:`\mathcal{U}(-\text{bound}, \text{bound})` with

    .. math::
        \text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}

    i.e. variance :math:`\text{gain}^2 / \text{fan\_mode}`. Same bounds, to the
    bit, as ``torch.nn.init.kaiming_uniform_``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    a : float, optional
        Negative slope of the rectifier (``nonlinearity="leaky_relu"``). For
        the parametrized numeric nonlinearities (``elu``/``celu`` alpha,
        ``softplus`` beta, a callable's ``param``) a non-zero ``a`` is passed
        as their parameter; other names ignore it, as torch.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}, optional
        ``"fan_in"`` (default) preserves the variance of the activations in
        the forward pass, ``"fan_out"`` that of the gradients in the backward
        pass (torch accepts only these two).
    nonlinearity : str or callable, optional
        Anything :func:`winit.calculate_gain` accepts; default ``"leaky_relu"``
        (with ``a=0`` that is ReLU's :math:`\sqrt{2}`).
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = np.empty((256, 128), np.float32)
    >>> _ = winit.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu", seed=1)
    """
    check_float_array(tensor)
    plan = _kaiming_uniform_plan(tensor.shape, a, mode, nonlinearity, layout=layout,
                                 in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "kaiming_uniform_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


def kaiming_normal_(
    tensor: np.ndarray,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity="leaky_relu",
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Kaiming (He) normal distribution (untruncated, as torch).

    He, K. et al. (2015). Values are drawn from :math:`\mathcal{N}(0, \text{std}^2)` with

    .. math::
        \text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}

    This is ``torch.nn.init.kaiming_normal_``. Keras/JAX ``he_normal`` (and
    JAX's ``kaiming_normal``) is a *truncated* normal with variance
    :math:`2 / \text{fan\_in}`: ``winit.get("he_normal")``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    a, mode, nonlinearity
        As in :func:`kaiming_uniform_`.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    plan = _kaiming_normal_plan(tensor.shape, a, mode, nonlinearity, layout=layout,
                                in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "kaiming_normal_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


# --------------------------------------------------------------------------- variance scaling


def variance_scaling_(
    tensor: np.ndarray,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` so that its variance is ``scale / fan`` (Keras/JAX ``VarianceScaling``).

    .. math::
        \operatorname{Var}(W) = \frac{\text{scale}}{n}, \qquad
        n = \text{fan\_in},\ \text{fan\_out},\ \frac{\text{fan\_in} + \text{fan\_out}}{2}
        \text{ or } \sqrt{\text{fan\_in} \cdot \text{fan\_out}}

    - ``"truncated_normal"``: :math:`\mathcal{N}(0, \sigma^2)` truncated to
      :math:`[-2\sigma, 2\sigma]` with
      :math:`\sigma = \sqrt{\text{scale}/n} / 0.87962566103423978`, so the
      *result* has variance scale/n (Keras, JAX);
    - ``"normal"`` (or ``"untruncated_normal"``): :math:`\mathcal{N}(0, \text{scale}/n)`;
    - ``"uniform"``: :math:`\mathcal{U}(-l, l)`, :math:`l = \sqrt{3\,\text{scale}/n}`.

    Glorot & Bengio (2010) is ``scale=1, mode="fan_avg"``; He et al. (2015)
    ``scale=2, mode="fan_in"``; LeCun et al. (1998, "Efficient BackProp")
    ``scale=1, mode="fan_in"``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D (or any shape with ``layout="keras"``), filled in place.
    scale : float, optional
        Positive scaling factor (Keras' definition: a variance factor, the
        square of a gain).
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}, optional
    distribution : {"truncated_normal", "normal", "untruncated_normal", "uniform"}, optional
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`. Keras itself reads fans as
        ``layout="keras"``; the default here is torch's layout.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = np.empty((3, 3, 64, 128), np.float32)   # Keras Conv2D kernel
    >>> _ = winit.variance_scaling_(w, 2.0, "fan_in", layout="keras", seed=0)  # he_normal
    """
    check_float_array(tensor)
    plan = _variance_scaling_plan(tensor.shape, scale, mode, distribution, layout=layout,
                                  in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "variance_scaling_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


def _variance_scaling_plan(shape, scale: float = 1.0, mode: str = "fan_in",
                           distribution: str = "truncated_normal", *, layout: str = "torch",
                           in_axis=None, out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    scale = check_finite_param(scale, "scale")
    if scale <= 0.0:
        raise ValueError(f"scale must be a positive float, got {scale}")
    m = check_mode(mode, FAN_MODES)
    dist = distribution.lower() if isinstance(distribution, str) else distribution
    if dist not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution {distribution!r} not supported, please use one of {list(DISTRIBUTIONS)}"
        )
    check_layout(layout)
    if math.prod(shape) == 0:
        return None
    fan_in, fan_out = _fans(shape, layout, in_axis, out_axis, batch_axis)
    fan = max(1.0, fan_for_mode(fan_in, fan_out, m))
    return _variance_plan(math.sqrt(scale / fan), dist)


def _lecun_uniform_plan(shape, *, layout: str = "torch", in_axis=None, out_axis=None,
                        batch_axis=()) -> PrimitivePlan | None:
    return _variance_scaling_plan(shape, 1.0, "fan_in", "uniform", layout=layout,
                                  in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)


def _lecun_normal_plan(shape, *, layout: str = "torch", in_axis=None, out_axis=None,
                       batch_axis=()) -> PrimitivePlan | None:
    return _variance_scaling_plan(shape, 1.0, "fan_in", "truncated_normal", layout=layout,
                                  in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)


def lecun_uniform_(
    tensor: np.ndarray,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with LeCun uniform: U(-l, l), l = sqrt(3 / fan_in).

    LeCun, Y. et al. (1998), "Efficient BackProp"; Keras/JAX ``lecun_uniform``
    (``variance_scaling_(tensor, 1.0, "fan_in", "uniform")``).

    Parameters
    ----------
    tensor : numpy.ndarray
        Filled in place.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", seed=seed, offset=offset,
                             threads=threads, layout=layout, in_axis=in_axis,
                             out_axis=out_axis, batch_axis=batch_axis)


def lecun_normal_(
    tensor: np.ndarray,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with LeCun normal as Keras/JAX: truncated, variance 1 / fan_in.

    LeCun, Y. et al. (1998), "Efficient BackProp"; the initialization of
    self-normalizing networks (Klambauer et al. 2017, SELU). Values are
    :math:`\mathcal{N}(0, \sigma^2)` truncated to :math:`[-2\sigma, 2\sigma]`,
    :math:`\sigma = \sqrt{1/\text{fan\_in}} / 0.87962566103423978`
    (``variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal")``).

    Parameters
    ----------
    tensor : numpy.ndarray
        Filled in place.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", seed=seed,
                             offset=offset, threads=threads, layout=layout, in_axis=in_axis,
                             out_axis=out_axis, batch_axis=batch_axis)


# --------------------------------------------------------------------------- orthogonal


def _blas_limits(threads):
    if threads is None:
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return None
    return threadpool_limits(limits=int(threads), user_api="blas")


def _lapack_call(f, name: str, *args, **kwargs):
    """Call a scipy LAPACK wrapper with an optimal workspace; ValueError on a bad argument."""
    query = f(*args, lwork=-1, **kwargs)
    lwork = max(1, int(query[-2][0].real))
    out = f(*args, lwork=lwork, **kwargs)
    if out[-1] != 0:
        raise ValueError(f"LAPACK {name} failed (info={out[-1]})")
    return out[:-2]


def _orthonormalize_(a: np.ndarray, threads) -> np.ndarray:
    """Replace the tall F-ordered ``a`` (m >= n) by the Q of its QR, sign-corrected.

    Householder QR (LAPACK geqrf + orgqr through scipy, in place when ``a`` is
    F-contiguous: only the n-vector diag(R) and LAPACK's workspace are
    allocated), then column j multiplied by sign(R[j, j]) so that Q is
    Haar-distributed when ``a`` is Gaussian (Mezzadri 2007, "How to generate
    random matrices from the classical compact groups").
    """
    geqrf, orgqr = scipy.linalg.get_lapack_funcs(("geqrf", "orgqr"), (a,))
    limits = _blas_limits(threads)
    try:
        qr, tau = _lapack_call(geqrf, "geqrf", a, overwrite_a=1)
        signs = np.where(np.diagonal(qr) < 0, -1.0, 1.0).astype(qr.dtype)
        (q,) = _lapack_call(orgqr, "orgqr", qr, tau, overwrite_a=1)
    finally:
        if limits is not None:
            limits.unregister()
    q *= signs
    if not np.shares_memory(q, a):
        a[...] = q
    return a


def orthogonal_(
    tensor: np.ndarray,
    gain: float = 1.0,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
) -> np.ndarray:
    r"""Fill ``tensor`` with a random (semi-)orthogonal matrix, Haar-distributed.

    Saxe, A. et al. (2013), "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks". The tensor is viewed as a matrix
    :math:`W` of shape ``(rows, cols)``: ``(shape[0], rest)`` in torch layout,
    ``(rest, shape[-1])`` in keras/jax layout (as ``keras.initializers.Orthogonal``
    and ``jax.nn.initializers.orthogonal``). A Gaussian matrix (the kernel's
    normal fill) in the taller orientation is factored :math:`A = QR` and

    .. math::
        W = \text{gain} \cdot Q \operatorname{diag}(\operatorname{sign} R_{jj})

    (transposed back when rows < cols), the sign correction that makes the
    result uniform (Haar) on the Stiefel manifold (Mezzadri 2007). So
    :math:`W^\top W = \text{gain}^2 I` when rows >= cols, else
    :math:`W W^\top = \text{gain}^2 I`.

    LAPACK (Householder, through scipy) works in float64 for float64 tensors
    and float32 otherwise; the factorization runs in place in ``tensor`` when
    rows <= cols and ``tensor`` is C-contiguous float32/float64, else in one
    work matrix: peak extra memory is at most one copy of the output. The
    same seed gives the same matrix (on the same LAPACK build).

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    gain : float, optional
        Scaling factor.
    seed, offset, threads
        As in :func:`xavier_uniform_` (``threads`` also limits the BLAS
        threads of the factorization when ``threadpoolctl`` is installed).
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional
        ``"torch_transposed"`` flattens like torch (``shape[0]`` rows).

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = winit.orthogonal_(np.empty((4, 3)), seed=0)
    >>> np.allclose(w.T @ w, np.eye(3))
    True
    """
    check_float_array(tensor)
    gain = check_finite_param(gain, "gain")
    check_layout(layout)
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if warn_empty(tensor, "orthogonal_"):
        return tensor
    if layout in ("keras", "jax"):
        cols = tensor.shape[-1]
        rows = tensor.size // cols
    else:
        rows = tensor.shape[0]
        cols = tensor.size // rows
    work_dt = np.dtype(np.float64) if tensor.dtype == np.float64 else np.dtype(np.float32)
    wide = rows <= cols  # factor the transpose; square matrices too (Q^T is Haar as Q)
    if wide and tensor.dtype == work_dt and tensor.flags.c_contiguous:
        # (rows, cols) C-order is (cols, rows) F-order: the tall matrix, in place.
        normal_(tensor, seed=seed, offset=offset, threads=threads)
        a = tensor.reshape(rows, cols).T
        _orthonormalize_(a, threads)
        if gain != 1.0:
            a *= gain
        return tensor
    if wide:
        a = np.empty((cols, rows), dtype=work_dt, order="F")
        normal_(a.T, seed=seed, offset=offset, threads=threads)  # a.T is W's (rows, cols)
    else:
        a = np.empty((rows, cols), dtype=work_dt, order="F")
        normal_(a, seed=seed, offset=offset, threads=threads)  # values by C index: W itself
    _orthonormalize_(a, threads)
    if gain != 1.0:
        a *= gain
    w = a.T if wide else a
    try:
        target = np.reshape(tensor, (rows, cols), copy=False)
    except (ValueError, TypeError):  # a strided view that cannot be reshaped in place
        tensor[...] = w.reshape(tensor.shape)
    else:
        target[...] = w
    return tensor


def _conv_layout_view(tensor: np.ndarray, layout: str) -> np.ndarray:
    """A view of a conv weight as (out, in, *kernel) (torch_transposed: (in, out, *kernel))."""
    if layout in ("keras", "jax"):
        return np.moveaxis(tensor, (-1, -2), (0, 1))
    return tensor


def delta_orthogonal_(
    tensor: np.ndarray,
    gain: float = 1.0,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
) -> np.ndarray:
    r"""Fill a 3-, 4- or 5-D conv weight with the delta-orthogonal initialization.

    Xiao, L. et al. (2018), "Dynamical isometry and a mean field theory of
    CNNs: how to train 10,000-layer vanilla convolutional neural networks".
    Every tap is zero except the centre one (index ``(k - 1) // 2`` along each
    kernel axis, as ``jax.nn.initializers.delta_orthogonal``), which holds
    ``gain`` times a Haar orthogonal ``(out, in)`` matrix (see
    :func:`orthogonal_`) with orthonormal columns, so the convolution is an
    isometry on its input channels: :math:`W_c^\top W_c = \text{gain}^2 I_{in}`.

    Parameters
    ----------
    tensor : numpy.ndarray
        ``(out, in, *k)`` in torch layout, ``(*k, in, out)`` in keras/jax
        layout, ``(in, out, *k)`` in torch_transposed layout; ``in <= out``.
    gain : float, optional
        Scaling factor.
    seed, offset, threads
        As in :func:`xavier_uniform_`.
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        Not 3-, 4- or 5-D, or more input than output channels.
    """
    check_float_array(tensor)
    gain = check_finite_param(gain, "gain")
    check_layout(layout)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(
            "delta_orthogonal_ requires a 3-, 4- or 5-dimensional tensor, "
            f"got {tensor.ndim} dimensions"
        )
    if layout == "torch_transposed":
        view = np.swapaxes(tensor, 0, 1)
    else:
        view = _conv_layout_view(tensor, layout)
    n_out, n_in = view.shape[0], view.shape[1]
    if n_in > n_out:
        raise ValueError(
            f"delta_orthogonal_: fan_in ({n_in} input channels) must be less than or equal "
            f"to fan_out ({n_out} output channels)"
        )
    if warn_empty(tensor, "delta_orthogonal_"):
        return tensor
    work_dt = np.float64 if tensor.dtype == np.float64 else np.float32
    centre = np.empty((n_out, n_in), dtype=work_dt)
    orthogonal_(centre, gain, seed=seed, offset=offset, threads=threads)
    zeros_(tensor, threads=threads)
    view[(slice(None), slice(None)) + tuple((k - 1) // 2 for k in view.shape[2:])] = centre
    return tensor


# --------------------------------------------------------------------------- structured


def eye_(
    tensor: np.ndarray, *, seed=None, offset: int = 0, threads: int | None = None
) -> np.ndarray:
    r"""Fill the 2-D ``tensor`` with the identity matrix (ones on the main diagonal).

    Preserves the identity of the inputs in linear layers, where as many
    inputs are preserved as possible (``torch.nn.init.eye_``, Keras/JAX
    ``identity`` with gain 1). ``seed`` and ``offset`` are accepted for a
    uniform signature and ignored.

    Parameters
    ----------
    tensor : numpy.ndarray
        2-D, filled in place.
    threads : int, optional
        Threads of the zero fill.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    if warn_empty(tensor, "eye_"):
        return tensor
    zeros_(tensor, threads=threads)
    idx = np.arange(min(tensor.shape))
    tensor[idx, idx] = 1
    return tensor


def dirac_(
    tensor: np.ndarray,
    groups: int = 1,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
) -> np.ndarray:
    r"""Fill a 3-, 4- or 5-D conv weight with the Dirac delta (``torch.nn.init.dirac_``).

    Preserves the identity of the inputs in convolutional layers, where as
    many input channels are preserved as possible: in each of the ``groups``
    groups, output channel ``d`` of the group gets a one at input channel
    ``d`` and the kernel centre (index ``k // 2``, as torch), for
    ``d < min(out / groups, in_per_group)``; every other entry is zero.
    ``seed`` and ``offset`` are accepted for a uniform signature and ignored.

    Parameters
    ----------
    tensor : numpy.ndarray
        ``(out, in/groups, *k)`` in torch layout (also ConvTranspose's
        ``(in, out/groups, *k)``), ``(*k, in/groups, out)`` in keras/jax layout.
    groups : int, optional
        Number of groups of the convolution; must divide the output channels.
    threads : int, optional
        Threads of the zero fill.
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    check_layout(layout)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if isinstance(groups, bool) or not isinstance(groups, (numbers.Integral, np.integer)):
        raise TypeError(f"groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    view = _conv_layout_view(tensor, layout)
    if view.shape[0] % groups != 0:
        raise ValueError(
            "dim 0 must be divisible by groups" if layout.startswith("torch")
            else f"the output channels ({view.shape[0]}, last axis) must be divisible by groups"
        )
    if warn_empty(tensor, "dirac_"):
        return tensor
    zeros_(tensor, threads=threads)
    per_group = view.shape[0] // int(groups)
    n = min(per_group, view.shape[1])
    d = np.arange(n)
    rows = (np.arange(int(groups))[:, None] * per_group + d[None, :]).ravel()
    cols = np.tile(d, int(groups))
    centre = tuple(k // 2 for k in view.shape[2:])
    view[(rows, cols) + centre] = 1
    return tensor


def sparse_(
    tensor: np.ndarray,
    sparsity: float,
    std: float = 0.01,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
) -> np.ndarray:
    r"""Fill the 2-D ``tensor`` as a sparse matrix: each column has ``ceil(sparsity * rows)`` zeros.

    Martens, J. (2010), "Deep learning via Hessian-free optimization". The
    non-zero elements are :math:`\mathcal{N}(0, \text{std}^2)`; in each column
    the zeros are at ``ceil(sparsity * rows)`` distinct rows chosen uniformly
    at random (as ``torch.nn.init.sparse_``). Two derived streams of the one
    seed: the normal values (``derive_key(key, "sparse_values")``) and the
    ranks choosing the zeros (``derive_key(key, "sparse_mask")``).

    Parameters
    ----------
    tensor : numpy.ndarray
        2-D, filled in place.
    sparsity : float
        Fraction of each column set to zero, in [0, 1].
    std : float, optional
        Standard deviation of the non-zero values, >= 0.
    seed, offset, threads
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    sparsity = check_finite_param(sparsity, "sparsity")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    std = check_finite_param(std, "std", nonneg=True)
    if warn_empty(tensor, "sparse_"):
        return tensor
    key = resolve_key(seed)
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    normal_(tensor, 0.0, std, seed=Key(derive_key(key, "sparse_values")), offset=offset,
            threads=threads)
    if num_zeros == 0:
        return tensor
    if num_zeros >= rows:
        return zeros_(tensor, threads=threads)
    ranks = np.empty((rows, cols), dtype=np.float32)
    uniform_(ranks, seed=Key(derive_key(key, "sparse_mask")), offset=offset, threads=threads)
    zero_rows = np.argpartition(ranks, num_zeros - 1, axis=0)[:num_zeros]
    del ranks
    tensor[zero_rows, np.arange(cols)[None, :]] = 0
    return tensor


# --------------------------------------------------------------------------- primitive plans

#: Fan-based scheme -> its planner ``(shape, **params) -> (primitive, params) | None``.
#: Each in-place function above fills through its planner, so the plan *is* the scheme.
_PLANNERS = {
    xavier_uniform_: _xavier_uniform_plan,
    xavier_normal_: _xavier_normal_plan,
    kaiming_uniform_: _kaiming_uniform_plan,
    kaiming_normal_: _kaiming_normal_plan,
    variance_scaling_: _variance_scaling_plan,
    lecun_uniform_: _lecun_uniform_plan,
    lecun_normal_: _lecun_normal_plan,
}


def primitive_plan(scheme, shape, **params) -> PrimitivePlan | None:
    """The sampling primitive a fan-based ``scheme`` amounts to on a full ``shape``.

    ``scheme(tensor, **params, seed=s, offset=o)`` on a tensor of ``shape`` is exactly
    ``primitive(tensor, **prim_params, seed=s, offset=o)`` for the returned
    ``(primitive, prim_params)`` (``primitive`` is ``"uniform"``, ``"normal"`` or
    ``"trunc_normal"``; see :mod:`winit.sampling`), bit for bit: the scheme function
    computes its fill through this very plan. Since the primitives are elementwise,
    the tensor can then be generated in any flat pieces through ``offset``.

    Parameters
    ----------
    scheme : callable
        One of ``xavier_uniform_``, ``xavier_normal_``, ``kaiming_uniform_``,
        ``kaiming_normal_``, ``variance_scaling_``, ``lecun_uniform_``, ``lecun_normal_``.
    shape : tuple of int
        The full tensor's shape (the fans are read from it).
    **params
        The scheme's parameters (``seed``, ``offset``, ``threads`` excluded).

    Returns
    -------
    tuple of (str, dict) or None
        None when ``shape`` has no elements (nothing to generate). Raises the scheme's
        own errors for bad parameters or shapes; ``KeyError`` for a scheme without a plan.
    """
    return _PLANNERS[scheme](tuple(int(d) for d in shape), **params)
