"""Structured initializations: values that depend on the whole tensor, not on one element.

Orthogonal (Saxe et al. 2014) and delta-orthogonal (Xiao et al. 2018)
matrices, the identity and Dirac kernels, and Martens' (2010) sparse
columns. The random ones fill through the seeded sampling kernels of
:mod:`winit.sampling` and post-process that fill with vectorized numpy/LAPACK
code, so a seed fixes the result (for the orthogonal ones, on a given LAPACK
build). Unlike the fan-based schemes of :mod:`winit.schemes` they cannot be
generated in flat pieces (``Initializer.kind == "whole"``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import threading

import ml_dtypes
import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

from ._common import (
    Key,
    check_finite_param,
    check_float_array,
    derive_key,
    resolve_key,
    resolve_offset,
    resolve_threads,
    warn_empty,
)
from .fans import check_layout
from .sampling import normal_, uniform_, zeros_

__all__ = ["SHAPE_CHECKS", "check_gain_range", "delta_orthogonal_", "dirac_", "eye_",
           "orthogonal_", "sparse_"]


# --------------------------------------------------------------------------- checks
# Each scheme's parameter and shape checks, without a tensor: the functions below run them
# first, and ``Initializer`` runs them when it is built (``shape=None``: parameters only)
# and when a spec is planned (with the shape), so a bad entry fails before any output.


def _check_ndim(shape, allowed: tuple[int, ...], message: str) -> None:
    if shape is not None and len(shape) not in allowed:
        raise ValueError(message)


def _conv_dims(shape: tuple[int, ...], layout: str) -> tuple[int, int]:
    """(out, in) channels of a conv weight shape in ``layout`` (torch_transposed: (in, out))."""
    if layout in ("keras", "jax"):
        return shape[-1], shape[-2]
    return shape[0], shape[1]


def _check_column_axis(column_axis, layout: str) -> None:
    if isinstance(column_axis, bool) or not isinstance(column_axis, (numbers.Integral,
                                                                     np.integer)):
        raise TypeError(f"column_axis must be an int, got {column_axis!r}")
    if layout.startswith("torch"):
        raise ValueError(
            "column_axis (jax.nn.initializers.orthogonal's) needs layout='jax' or 'keras', "
            f"got layout={layout!r}"
        )


def check_orthogonal(shape=None, gain: float = 1.0, *, layout: str = "torch",
                     column_axis: int | None = None) -> float:
    """Check :func:`orthogonal_`'s arguments (``shape=None``: parameters only); return gain."""
    gain = check_finite_param(gain, "gain")
    check_layout(layout)
    if column_axis is not None:
        _check_column_axis(column_axis, layout)
    if shape is not None and len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if shape is not None and column_axis is not None and not (
            -len(shape) <= column_axis < len(shape)):
        raise ValueError(f"column_axis={column_axis} is out of range for a shape with "
                         f"{len(shape)} dimensions")
    return gain


def check_delta_orthogonal(shape=None, gain: float = 1.0, *, layout: str = "torch",
                           column_axis: int | None = None) -> float:
    """Check :func:`delta_orthogonal_`'s arguments (``shape=None``: parameters only)."""
    gain = check_finite_param(gain, "gain")
    check_layout(layout)
    if column_axis is not None and (isinstance(column_axis, bool)
                                    or column_axis not in (-2, -1, 0, 1)):
        raise ValueError(f"column_axis must be an axis of the (in, out) centre matrix "
                         f"(-2, -1, 0 or 1), got {column_axis!r}")
    if shape is None:
        return gain
    if len(shape) not in (3, 4, 5):
        raise ValueError("delta_orthogonal_ requires a 3-, 4- or 5-dimensional tensor, "
                         f"got {len(shape)} dimensions")
    n_out, n_in = _conv_dims(shape, layout)
    if layout == "torch_transposed":
        n_out, n_in = n_in, n_out
    if n_in > n_out:
        raise ValueError(
            f"delta_orthogonal_: fan_in ({n_in} input channels) must be less than or equal "
            f"to fan_out ({n_out} output channels)"
        )
    return gain


def check_eye(shape=None, *, gain: float = 1.0) -> float:
    """Check :func:`eye_`'s arguments (``shape=None``: parameters only); return gain."""
    gain = check_finite_param(gain, "gain")
    _check_ndim(shape, (2,), "Only tensors with 2 dimensions are supported")
    return gain


def check_dirac(shape=None, groups: int = 1, *, layout: str = "torch") -> int:
    """Check :func:`dirac_`'s arguments (``shape=None``: parameters only); return groups."""
    check_layout(layout)
    _check_ndim(shape, (3, 4, 5), "Only tensors with 3, 4, or 5 dimensions are supported")
    if isinstance(groups, bool) or not isinstance(groups, (numbers.Integral, np.integer)):
        raise TypeError(f"groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if shape is not None and _conv_dims(shape, layout)[0] % groups != 0:
        raise ValueError(
            "dim 0 must be divisible by groups" if layout.startswith("torch")
            else f"the output channels ({shape[-1]}, last axis) must be divisible by groups"
        )
    return int(groups)


def check_sparse(shape=None, sparsity: float = 0.0, std: float = 0.01) -> tuple[float, float]:
    """Check :func:`sparse_`'s arguments (``shape=None``: parameters only)."""
    _check_ndim(shape, (2,), "Only tensors with 2 dimensions are supported")
    sparsity = check_finite_param(sparsity, "sparsity")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    return sparsity, check_finite_param(std, "std", nonneg=True)


def check_gain_range(gain: float, dt: np.dtype, func: str) -> None:
    """ValueError when ``gain``, the largest magnitude a scheme writes, is beyond ``dt``'s range."""
    if abs(gain) > float(ml_dtypes.finfo(dt).max):
        raise ValueError(f"{func}: gain={gain} is outside the range of {dt}")


#: Public scheme function -> its check ``(shape=None, **params)``.
SHAPE_CHECKS = {}  # filled below, once the scheme functions exist


# --------------------------------------------------------------------------- orthogonal


_QR_LOCK = threading.Lock()


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """threadpoolctl's controller of the BLAS libraries loaded (scipy.linalg's among them)."""
    return ThreadpoolController().select(user_api="blas")


@contextlib.contextmanager
def _one_blas_thread():
    """The BLAS libraries at one thread while the block runs, one such block at a time.

    LAPACK's QR on a multi-threaded OpenBLAS is not thread-count invariant (with scipy's
    OpenBLAS 0.3.30, float64 results differ between 1, 2, 3 and 4 BLAS threads, float32
    ones between 1 and 2 for shapes such as 513 x 257), and where fewer cores are free
    than it has threads its fork/join spin-waits stall (a 1024 x 1024 float32 QR took
    0.2-4 s at 2 threads on 2 busy cores, against 0.08 s at 1). threadpoolctl sets and
    restores the limits in the calling thread (with OpenBLAS's process-wide pool, only
    when no other thread holds threadpoolctl's control of it); the lock keeps
    concurrent factorizations from restoring the limits under each other.
    """
    with _QR_LOCK, _blas_controller().limit(limits=1):
        yield


def _lapack_call(f, name: str, *args, **kwargs):
    """Call a scipy LAPACK wrapper with an optimal workspace; ValueError on a bad argument."""
    query = f(*args, lwork=-1, **kwargs)
    lwork = max(1, int(query[-2][0].real))
    out = f(*args, lwork=lwork, **kwargs)
    if out[-1] != 0:
        raise ValueError(f"LAPACK {name} failed (info={out[-1]})")
    return out[:-2]


def _orthonormalize_(a: np.ndarray) -> np.ndarray:
    """Replace the tall F-ordered ``a`` (m >= n) by the Q of its QR, sign-corrected.

    Householder QR (LAPACK geqrf + orgqr through scipy, on one BLAS thread, in place
    when ``a`` is F-contiguous: only the n-vector diag(R) and LAPACK's workspace are
    allocated), then column j multiplied by sign(R[j, j]) so that Q is
    Haar-distributed when ``a`` is Gaussian (Mezzadri 2007, "How to generate
    random matrices from the classical compact groups").
    """
    geqrf, orgqr = scipy.linalg.get_lapack_funcs(("geqrf", "orgqr"), (a,))
    with _one_blas_thread():
        qr, tau = _lapack_call(geqrf, "geqrf", a, overwrite_a=1)
        signs = np.where(np.diagonal(qr) < 0, -1.0, 1.0).astype(qr.dtype)
        (q,) = _lapack_call(orgqr, "orgqr", qr, tau, overwrite_a=1)
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
    column_axis: int | None = None,
) -> np.ndarray:
    r"""Fill ``tensor`` with a random (semi-)orthogonal matrix, Haar-distributed.

    Saxe, A. M., McClelland, J. L. & Ganguli, S. (2014), "Exact solutions to
    the nonlinear dynamics of learning in deep linear neural networks" (ICLR).
    The tensor is viewed as a matrix
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
    work matrix: peak extra memory is at most one copy of the output. It runs
    on one BLAS thread (threadpoolctl limits the BLAS libraries for its
    duration), so the same seed gives the same matrix whatever ``threads`` and
    the BLAS thread settings are (on the same LAPACK build and CPU); threaded
    LAPACK QR is not thread-count invariant.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    gain : float, optional
        Scaling factor.
    seed, offset, threads
        As in :func:`xavier_uniform_` (``threads`` is the Gaussian fill's; the
        factorization is single-threaded).
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional
        ``"torch_transposed"`` flattens like torch (``shape[0]`` rows).
    column_axis : int, optional
        ``jax.nn.initializers.orthogonal``'s: with ``layout="jax"`` or ``"keras"``,
        ``np.moveaxis(tensor, column_axis, -1)``, flattened to ``(rest, shape[column_axis])``,
        is the semi-orthogonal matrix (the default, the last axis, is ``layout="jax"``'s).

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        Fewer than 2 dimensions, an unknown ``layout``, a NaN or infinite ``gain`` or
        one beyond the range of the tensor's dtype, or a ``column_axis`` out of range
        or with a torch layout.
    TypeError
        Not a float16/bfloat16/float32/float64 array.

    Examples
    --------
    >>> w = winit.orthogonal_(np.empty((4, 3)), seed=0)
    >>> np.allclose(w.T @ w, np.eye(3))
    True
    """
    check_float_array(tensor)
    gain = check_orthogonal(tensor.shape, gain, layout=layout, column_axis=column_axis)
    resolve_offset(offset)
    resolve_threads(threads)
    if column_axis is not None:
        orthogonal_(np.moveaxis(tensor, column_axis, -1), gain, seed=seed, offset=offset,
                    threads=threads, layout="jax")
        return tensor
    if warn_empty(tensor, "orthogonal_"):
        return tensor
    check_gain_range(gain, tensor.dtype, "orthogonal_")
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
        _orthonormalize_(a)
        if gain != 1.0:
            a *= gain
        return tensor
    if wide:
        a = np.empty((cols, rows), dtype=work_dt, order="F")
        normal_(a.T, seed=seed, offset=offset, threads=threads)  # a.T is W's (rows, cols)
    else:
        a = np.empty((rows, cols), dtype=work_dt, order="F")
        normal_(a, seed=seed, offset=offset, threads=threads)  # values by C index: W itself
    _orthonormalize_(a)
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
    column_axis: int | None = None,
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
    column_axis : int, optional
        ``jax.nn.initializers.delta_orthogonal``'s: an axis of the (in, out) centre
        matrix (-2, -1, 0 or 1); every value gives the same distribution (the centre
        tap has orthonormal rows whichever axis holds the columns), so it is checked
        and otherwise ignored.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        Not 3-, 4- or 5-D, more input than output channels, an unknown ``layout``,
        a NaN or infinite ``gain`` or one beyond the range of the tensor's dtype, or a
        ``column_axis`` not in (-2, -1, 0, 1).
    """
    check_float_array(tensor)
    gain = check_delta_orthogonal(tensor.shape, gain, layout=layout, column_axis=column_axis)
    if layout == "torch_transposed":
        view = np.swapaxes(tensor, 0, 1)
    else:
        view = _conv_layout_view(tensor, layout)
    n_out, n_in = view.shape[0], view.shape[1]
    resolve_offset(offset)
    resolve_threads(threads)
    if warn_empty(tensor, "delta_orthogonal_"):
        return tensor
    check_gain_range(gain, tensor.dtype, "delta_orthogonal_")
    work_dt = np.float64 if tensor.dtype == np.float64 else np.float32
    centre = np.empty((n_out, n_in), dtype=work_dt)
    orthogonal_(centre, gain, seed=seed, offset=offset, threads=threads)
    zeros_(tensor, threads=threads)
    view[(slice(None), slice(None)) + tuple((k - 1) // 2 for k in view.shape[2:])] = centre
    return tensor


# --------------------------------------------------------------------------- identity kernels


def eye_(
    tensor: np.ndarray, *, gain: float = 1.0, seed=None, offset: int = 0,
    threads: int | None = None
) -> np.ndarray:
    r"""Fill the 2-D ``tensor`` with the identity matrix (ones on the main diagonal).

    .. math::
        W_{ij} = \delta_{ij}, \qquad 0 \le i < \text{rows},\ 0 \le j < \text{cols}

    Preserves the identity of the inputs in linear layers, where as many
    inputs are preserved as possible (``torch.nn.init.eye_``; with ``gain``,
    Keras' ``Identity(gain)``: ``gain`` on the diagonal).

    Parameters
    ----------
    tensor : numpy.ndarray
        2-D, filled in place.
    gain : float, optional
        Keyword-only. The diagonal's value (default 1, as torch).
    seed, offset
        Keyword-only, accepted for the signature every fill shares and ignored
        (nothing is random).
    threads : int or None, optional
        Keyword-only. Threads of the zero fill (checked as in :func:`uniform_`).

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        ``tensor`` is not 2-D, or ``gain`` is NaN or infinite.
    """
    check_float_array(tensor)
    gain = check_eye(tensor.shape, gain=gain)
    resolve_threads(threads)
    if warn_empty(tensor, "eye_"):
        return tensor
    if gain != 1.0:
        check_gain_range(gain, tensor.dtype, "eye_")
    zeros_(tensor, threads=threads)
    idx = np.arange(min(tensor.shape))
    tensor[idx, idx] = gain
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
    ``d < min(out / groups, in_per_group)``; every other entry is zero:

    .. math::
        W_{g n + d,\, d,\, \lfloor k/2 \rfloor} = 1, \qquad
        n = \text{out} / \text{groups},\ d < \min(n, \text{in\_per\_group})

    Parameters
    ----------
    tensor : numpy.ndarray
        ``(out, in/groups, *k)`` in torch layout (also ConvTranspose's
        ``(in, out/groups, *k)``), ``(*k, in/groups, out)`` in keras/jax layout.
    groups : int, optional
        Number of groups of the convolution; must divide the output channels.
    seed, offset
        Keyword-only, accepted for the signature every fill shares and ignored
        (nothing is random).
    threads : int or None, optional
        Keyword-only. Threads of the zero fill (checked as in :func:`uniform_`).
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional
        Keyword-only. Where the channels are: ``"torch"`` (default) and
        ``"torch_transposed"`` read ``tensor.shape[0]`` as the output and
        ``tensor.shape[1]`` as the input channels (as ``torch.nn.init.dirac_``
        does for both), ``"keras"`` and ``"jax"`` read ``shape[-1]`` and
        ``shape[-2]``.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        Not 3-, 4- or 5-D, ``groups < 1``, output channels not divisible by
        ``groups``, or an unknown ``layout``.
    TypeError
        ``groups`` is not an int.
    """
    check_float_array(tensor)
    groups = check_dirac(tensor.shape, groups, layout=layout)
    view = _conv_layout_view(tensor, layout)
    resolve_threads(threads)
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

    Raises
    ------
    ValueError
        ``tensor`` is not 2-D, ``sparsity`` outside [0, 1] or ``std < 0``.
    """
    check_float_array(tensor)
    sparsity, std = check_sparse(tensor.shape, sparsity, std)
    resolve_offset(offset)
    resolve_threads(threads)
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


SHAPE_CHECKS.update({orthogonal_: check_orthogonal, delta_orthogonal_: check_delta_orthogonal,
                     eye_: check_eye, dirac_: check_dirac, sparse_: check_sparse})
