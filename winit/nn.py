"""Small numpy neural-network layers with forward and backward passes.

Enough of a network library to watch activations and gradients flow through a
freshly initialized model (:func:`winit.diagnose`), to tune it with LSUV
(:func:`winit.lsuv_`) and to train toy models in the experiments. Weights are
plain numpy arrays in torch layout (``Linear.weight`` is ``(out, in)``,
``Conv2d.weight`` is ``(out, in, kh, kw)``), so every winit initializer applies
to them directly.

Every layer is called as ``y = layer(x)``; the call caches what the backward
pass needs, and ``layer.backward(grad_out)`` returns the gradient with respect
to the layer's input. Parametrized layers keep their weight gradients on the
layer (``grad_weight``, ``grad_bias``), overwritten by each backward call.
float32 and float64 are supported; a layer computes in the dtype numpy's
promotion rules give its input and weights.

Examples
--------
>>> import numpy as np
>>> from winit import nn
>>> net = nn.Sequential(nn.Linear(4, 8, seed=0), nn.ReLU(), nn.Linear(8, 2, seed=1))
>>> y = net(np.ones((3, 4), dtype=np.float32))
>>> y.shape
(3, 2)
>>> g = net.backward(np.ones_like(y))
>>> g.shape, net[0].grad_weight.shape
((3, 4), (8, 4))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

from ._common import Key, SeedLike, check_finite_param, derive_key, resolve_dtype, resolve_key
from .sampling import uniform_
from .schemes import kaiming_uniform_

__all__ = [
    "Module",
    "Linear",
    "Conv2d",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "SELU",
    "GELU",
    "Identity",
    "Flatten",
    "Sequential",
    "iter_layers",
]


def _float_dtype(dtype) -> np.dtype:
    dt = resolve_dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"winit.nn layers support float32 and float64, got {dt}")
    return dt


def _need_forward(cache, layer: Module):
    if cache is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before a forward pass")
    return cache


class Module:
    """Base class: ``layer(x)`` runs :meth:`forward`; :meth:`backward` returns the input gradient.

    Subclasses without parameters only implement ``forward`` and ``backward``.
    """

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def parameters(self) -> list[tuple[str, np.ndarray]]:
        """``(name, array)`` pairs of the layer's parameters (empty for activations).

        Returns
        -------
        list of (str, numpy.ndarray)
            :class:`Linear` and :class:`Conv2d`: ``("weight", weight)`` and, with a
            bias, ``("bias", bias)``, the arrays themselves (not copies), so an
            initializer applied to them changes the layer; a :class:`Sequential`
            gives its layers' pairs, each name prefixed with the layer's index
            (``"0.weight"``). Empty for layers without parameters.
        """
        return []

    def gradients(self) -> list[tuple[str, np.ndarray | None]]:
        """``(name, gradient)`` pairs matching :meth:`parameters` (None before a backward).

        Returns
        -------
        list of (str, numpy.ndarray or None)
            One pair per entry of :meth:`parameters`, with the same names in the
            same order: the gradient of the last ``backward`` call, or None before
            one and after :meth:`zero_grad`.
        """
        return []

    def zero_grad(self) -> None:
        """Forget the stored parameter gradients."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Parametrized(Module):
    """Shared bookkeeping of layers with ``weight`` and optional ``bias``."""

    weight: np.ndarray
    bias: np.ndarray | None

    def _init_params(self, shape: tuple[int, ...], fan_in: int, bias: bool, dtype,
                     seed: SeedLike) -> None:
        # torch's default: kaiming_uniform_(a=sqrt(5)) for the weight, i.e.
        # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
        dt = _float_dtype(dtype)
        key = resolve_key(seed)
        try:
            self.weight = np.empty(shape, dtype=dt)
        except ValueError as exc:  # numpy's "array is too big": say which layer and shape
            raise ValueError(f"{type(self).__name__}: a weight of shape {shape} is too big: "
                             f"{exc}") from None
        kaiming_uniform_(self.weight, a=math.sqrt(5.0), seed=Key(derive_key(key, "weight")))
        if bias:
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            self.bias = np.empty(shape[0], dtype=dt)
            uniform_(self.bias, -bound, bound, seed=Key(derive_key(key, "bias")))
        else:
            self.bias = None
        self.grad_weight: np.ndarray | None = None
        self.grad_bias: np.ndarray | None = None

    def parameters(self) -> list[tuple[str, np.ndarray]]:
        ps = [("weight", self.weight)]
        if self.bias is not None:
            ps.append(("bias", self.bias))
        return ps

    def gradients(self) -> list[tuple[str, np.ndarray | None]]:
        gs = [("weight", self.grad_weight)]
        if self.bias is not None:
            gs.append(("bias", self.grad_bias))
        return gs

    def zero_grad(self) -> None:
        self.grad_weight = None
        self.grad_bias = None


class Linear(_Parametrized):
    """Fully connected layer ``y = x @ weight.T + bias``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the last axis of the input and of the output.
    bias : bool, default True
        Whether the layer has an additive bias of shape ``(out_features,)``.
    dtype : float32 or float64, default float32
        dtype of the parameters.
    seed : int, SeedSequence, Generator or None, keyword-only
        Seed of the default initialization (torch's: ``kaiming_uniform_`` with
        ``a=sqrt(5)`` for the weight, ``U(-1/sqrt(in), 1/sqrt(in))`` for the bias).

    Notes
    -----
    ``weight`` has torch's layout ``(out_features, in_features)``. Inputs may
    have any number of leading axes.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 dtype=np.float32, seed: SeedLike = None) -> None:
        self.in_features = _size(in_features, "in_features", 1)
        self.out_features = _size(out_features, "out_features", 1)
        self._init_params((self.out_features, self.in_features), self.in_features, bias,
                          dtype, seed)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expects inputs with last axis {self.in_features}, got shape {x.shape}")
        self._x = x
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = _need_forward(self._x, self)
        g2 = grad_out.reshape(-1, self.out_features)
        self.grad_weight = g2.T @ x.reshape(-1, self.in_features)
        if self.bias is not None:
            self.grad_bias = g2.sum(axis=0)
        return grad_out @ self.weight

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


def _size(v, name: str, minimum: int | None) -> int:
    """``v`` as an int >= ``minimum``; a float, str or bool is a ``TypeError`` naming ``name``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {v!r} ({type(v).__name__})")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return int(v)


def _pair(v, name: str, minimum: int) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return _size(v[0], name, minimum), _size(v[1], name, minimum)
    a = _size(v, name, minimum)
    return a, a


class Conv2d(_Parametrized):
    """2-D convolution (cross-correlation, as torch) over ``(N, C, H, W)`` inputs.

    Implemented as im2col with :func:`numpy.lib.stride_tricks.sliding_window_view`
    followed by one BLAS matrix product; the backward pass is the transposed
    product and a scatter-add over the ``kh * kw`` kernel offsets.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int), default 1
        Step of the kernel along the height and the width.
    padding : int or (int, int), default 0
        Zero padding added on both sides of each spatial axis.
    bias : bool, default True
        Whether the layer has an additive bias of shape ``(out_channels,)``.
    dtype : float32 or float64, default float32
        dtype of the parameters.
    seed : int, SeedSequence, Generator or None, keyword-only
        Seed of torch's default initialization (see :class:`Linear`), with
        ``fan_in = in_channels * kh * kw``.

    Notes
    -----
    ``weight`` has torch's layout ``(out_channels, in_channels, kh, kw)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, *, dtype=np.float32, seed: SeedLike = None) -> None:
        self.in_channels = _size(in_channels, "in_channels", 1)
        self.out_channels = _size(out_channels, "out_channels", 1)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        self._init_params((self.out_channels, self.in_channels, kh, kw), fan_in, bias, dtype,
                          seed)
        self._cache: tuple | None = None

    def _out_size(self, h: int, w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho = (h + 2 * ph - kh) // sh + 1
        wo = (w + 2 * pw - kw) // sw + 1
        if ho < 1 or wo < 1:
            raise ValueError(
                f"Conv2d: input of spatial size {(h, w)} is smaller than the kernel "
                f"{self.kernel_size} (padding {self.padding})")
        return ho, wo

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d expects (N, {self.in_channels}, H, W) inputs, got shape {x.shape}")
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho, wo = self._out_size(h, w)
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
        # (N, C, Ho, Wo, kh, kw) -> (N*Ho*Wo, C*kh*kw): one copy, then one GEMM.
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
        y = cols @ self.weight.reshape(self.out_channels, -1).T
        if self.bias is not None:
            y += self.bias
        self._cache = (cols, x.shape, xp.shape)
        return y.reshape(n, ho, wo, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        cols, xshape, xpshape = _need_forward(self._cache, self)
        n, c, h, w = xshape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        _, _, ho, wo = grad_out.shape
        g2 = grad_out.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)
        self.grad_weight = (g2.T @ cols).reshape(self.weight.shape)
        if self.bias is not None:
            self.grad_bias = g2.sum(axis=0)
        gcols = (g2 @ self.weight.reshape(self.out_channels, -1)).reshape(n, ho, wo, c, kh, kw)
        gcols = gcols.transpose(0, 3, 1, 2, 4, 5)  # (N, C, Ho, Wo, kh, kw)
        gxp = np.zeros(xpshape, dtype=gcols.dtype)
        # col2im: one strided scatter-add per kernel offset (kh*kw of them, not per pixel).
        for i in range(kh):
            for j in range(kw):
                gxp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += gcols[..., i, j]
        if ph or pw:
            gxp = gxp[:, :, ph:ph + h, pw:pw + w]
        return gxp

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")


class ReLU(Module):
    """``max(x, 0)``; the gradient at 0 is 0 (as torch)."""

    def __init__(self) -> None:
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._mask = x > 0
        return np.where(self._mask, x, np.zeros((), dtype=x.dtype))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _need_forward(self._mask, self)
        return np.where(mask, grad_out, np.zeros((), dtype=grad_out.dtype))


class LeakyReLU(Module):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise.

    Parameters
    ----------
    negative_slope : float, default 0.01
        Slope for ``x <= 0`` (torch's default); a finite real number.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = check_finite_param(negative_slope, "negative_slope")
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._mask = x > 0
        return np.where(self._mask, x, x * x.dtype.type(self.negative_slope))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _need_forward(self._mask, self)
        return np.where(mask, grad_out, grad_out * grad_out.dtype.type(self.negative_slope))

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Tanh(Module):
    """Hyperbolic tangent; backward uses ``1 - tanh(x)**2`` from the cached output."""

    def __init__(self) -> None:
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = _need_forward(self._y, self)
        return grad_out * (1 - y * y)


class Sigmoid(Module):
    """Logistic function ``1 / (1 + exp(-x))`` (overflow-free, via scipy.special.expit)."""

    def __init__(self) -> None:
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = special.expit(x)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = _need_forward(self._y, self)
        return grad_out * (y * (1 - y))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class SELU(Module):
    """Scaled ELU (Klambauer et al. 2017), torch's constants."""

    def __init__(self) -> None:
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        t = x.dtype.type
        return t(_SELU_SCALE) * np.where(x > 0, x, t(_SELU_ALPHA) * np.expm1(np.minimum(x, 0)))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = _need_forward(self._x, self)
        t = x.dtype.type
        d = t(_SELU_SCALE) * np.where(x > 0, t(1), t(_SELU_ALPHA) * np.exp(np.minimum(x, 0)))
        return grad_out * d


class GELU(Module):
    """Exact GELU ``x * Phi(x)`` (torch's default ``approximate='none'``)."""

    def __init__(self) -> None:
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x * special.ndtr(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = _need_forward(self._x, self)
        pdf = np.exp(-0.5 * x * x) * x.dtype.type(1.0 / math.sqrt(2.0 * math.pi))
        return grad_out * (special.ndtr(x) + x * pdf)


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


class Flatten(Module):
    """Flattens all axes from ``start_dim`` on (default 1: keeps the batch axis).

    Parameters
    ----------
    start_dim : int, default 1
        First axis flattened: the output has shape
        ``x.shape[:start_dim] + (-1,)`` (a negative ``start_dim`` counts from the
        end, as in Python slicing).
    """

    def __init__(self, start_dim: int = 1) -> None:
        self.start_dim = _size(start_dim, "start_dim", None)
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(*x.shape[: self.start_dim], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(_need_forward(self._shape, self))

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim})"


class Sequential(Module):
    """A chain of layers: ``net(x)`` runs them in order, ``net.backward(g)`` in reverse.

    Iterable, indexable (an int gives a layer, a slice a new Sequential sharing
    the layers) and sized like a list; ``append(layer)`` adds a layer.

    Parameters
    ----------
    *layers : callable
        The layers in call order: ``winit.nn`` modules, or any callables (a
        function such as ``np.tanh`` runs forward, but ``backward`` raises
        TypeError on it). A single list or tuple of layers is unpacked.

    Raises
    ------
    TypeError
        A layer is not callable.
    """

    def __init__(self, *layers) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} ({type(layer).__name__}) is not callable")
        self.layers = list(layers)

    def __iter__(self) -> Iterator:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def append(self, layer) -> Sequential:
        if not callable(layer):
            raise TypeError(f"Sequential: {type(layer).__name__} is not callable")
        self.layers.append(layer)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if not hasattr(layer, "backward"):
                raise TypeError(f"Sequential: layer {i} ({type(layer).__name__}) has no backward")
            g = layer.backward(g)
        return g

    def parameters(self) -> list[tuple[str, np.ndarray]]:
        out = []
        for i, layer in enumerate(self.layers):
            for name, p in getattr(layer, "parameters", list)():
                out.append((f"{i}.{name}", p))
        return out

    def gradients(self) -> list[tuple[str, np.ndarray | None]]:
        out = []
        for i, layer in enumerate(self.layers):
            for name, g in getattr(layer, "gradients", list)():
                out.append((f"{i}.{name}", g))
        return out

    def zero_grad(self) -> None:
        for layer in self.layers:
            if hasattr(layer, "zero_grad"):
                layer.zero_grad()

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


def iter_layers(net, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Yield ``(name, layer)`` for every leaf layer of ``net``, in call order.

    ``net`` is a :class:`Sequential`, a list or tuple of callables (nested ones
    are flattened), or a single layer. Names are the index path and the class
    name (or a function's ``__name__``), e.g. ``"3:Linear"``, ``"1.0:Conv2d"``
    or ``"4:tanh"``. :func:`winit.lsuv_` and :func:`winit.diagnose` walk
    networks with it.

    Parameters
    ----------
    net : Sequential, list, tuple, iterable of callables, or a layer
        The network. A callable with a ``weight`` attribute is one layer
        (named ``"0:<class name>"``); any other iterable is walked as a list.
    prefix : str, default ""
        Index path of ``net`` itself within an enclosing network.

    Yields
    ------
    name : str
        ``"<index path>:<class name>"``.
    layer : callable
        The layer.

    Raises
    ------
    TypeError
        If ``net`` is neither a sequence of callables nor a layer with a ``weight``.

    Examples
    --------
    >>> import numpy as np
    >>> from winit import nn
    >>> net = nn.Sequential(nn.Linear(4, 8, seed=0), nn.Sequential(nn.ReLU()), np.tanh)
    >>> [name for name, _ in nn.iter_layers(net)]
    ['0:Linear', '1.0:ReLU', '2:tanh']
    """
    if isinstance(net, (Sequential, list, tuple)):
        for i, layer in enumerate(net):
            path = f"{prefix}.{i}" if prefix else str(i)
            if isinstance(layer, (Sequential, list, tuple)):
                yield from iter_layers(layer, path)
            else:
                yield f"{path}:{_label(layer)}", layer
        return
    if callable(net) and hasattr(net, "weight"):
        yield f"0:{_label(net)}", net
        return
    try:
        items = list(net)
    except TypeError:
        raise TypeError(
            f"net must be a sequence of callables (e.g. winit.nn.Sequential), got "
            f"{type(net).__name__}") from None
    yield from iter_layers(items, prefix)


def _label(layer) -> str:
    """Class name of a layer object, or ``__name__`` of a plain function / ufunc."""
    name = getattr(layer, "__name__", None)
    return name if isinstance(name, str) else type(layer).__name__
