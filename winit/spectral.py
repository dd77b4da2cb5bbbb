"""Spectral kernels: convolution weights that compute a short-time Fourier transform.

Keras' ``STFT`` initializer (``keras.initializers.STFT``, used by its
``STFTSpectrogram`` layer): a frame of ``frame_length`` samples convolved with
the kernel gives the real or the imaginary part of its windowed discrete Fourier
transform. Deterministic: no seed is used.
"""

from __future__ import annotations

import math

import numpy as np

from ._common import check_float_array, warn_empty

__all__ = ["check_stft", "check_stft_shape", "stft_"]

SIDES = ("real", "imag")
SCALINGS = (None, "density", "spectrum")


def _window(window, frame_length: int, periodic: bool) -> np.ndarray:
    # scipy.signal takes longer to import than all of winit: only this kernel needs it
    from scipy.signal import get_window

    return np.asarray(get_window(window, frame_length, fftbins=bool(periodic)), np.float64)


def check_stft(side="real", window="hann", scaling="density", periodic=False) -> None:
    """Check the parameters of :func:`stft_` without a tensor (Keras' errors).

    Parameters
    ----------
    side, window, scaling, periodic
        As :func:`stft_` (window values are checked against the shape by the call).

    Raises
    ------
    ValueError
        ``side`` not ``"real"``/``"imag"``, an unknown window name (scipy's message),
        ``scaling`` not ``None``/``"density"``/``"spectrum"``.
    TypeError
        ``periodic`` is not a bool.
    """
    if side not in SIDES:
        raise ValueError(f"side should be 'real' or 'imag', not {side!r}")
    if isinstance(window, (str, tuple)):
        _window(window, 1, False)
    if scaling not in SCALINGS:
        raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                         f"Received scaling={scaling!r}")
    if not isinstance(periodic, (bool, np.bool_)):
        raise TypeError(f"periodic must be a bool, got {type(periodic).__name__}")


def check_stft_shape(shape: tuple[int, ...], window=None, scaling="density",
                     periodic: bool = False) -> None:
    """Check an STFT kernel's shape, ``(frame_length, channels, bins >= 2)``, and its window.

    Raises
    ------
    ValueError
        Another shape; for a non-empty one, a ``window`` :func:`stft_` cannot scale over
        ``frame_length`` frames (wrong length, values not finite, all zeros).
    """
    if len(shape) != 3 or shape[2] < 2:
        raise ValueError("the STFT kernel is (frame_length, channels, bins) with bins >= 2, "
                         f"got shape {tuple(shape)}")
    if window is not None and math.prod(shape):
        _scaled_window(window, shape[0], scaling, periodic)


def _scaled_window(window, frames: int, scaling, periodic: bool) -> np.ndarray:
    """The window over ``frames`` frames divided by its norm (``scaling``); ValueError when
    it has the wrong length, a value that is not finite, or a zero norm."""
    if isinstance(window, (str, tuple)):
        win = _window(window, frames, periodic)
    else:
        win = np.asarray(window, np.float64)
    if win.shape != (frames,):
        raise ValueError("The shape of `window` must be equal to [frame_length]. "
                         f"Received: window shape={win.shape}")
    if not np.isfinite(win).all():
        raise ValueError(f"window values must be finite, got {win}")
    norm = {"density": np.sqrt(np.sum(win * win)), "spectrum": np.sum(np.abs(win)),
            None: 1.0}[scaling]
    if norm == 0:  # e.g. the symmetric hann window of 1 or 2 frames
        raise ValueError(f"window {window!r} is all zeros over {frames} frames: "
                         f"scaling={scaling!r} divides by its norm")
    return win / norm


def stft_(tensor: np.ndarray, side: str = "real", window="hann", scaling="density",
          periodic: bool = False, *, seed=None, offset: int = 0,
          threads: int | None = None) -> np.ndarray:
    r"""Fill a ``(frame_length, channels, bins)`` kernel as Keras' ``STFT`` initializer.

    The real (``side="real"``) or imaginary part of the windowed DFT of a frame. With
    :math:`N = 2 (\text{bins} - 1)` (``bins = N / 2 + 1`` frequencies of an
    ``N``-point FFT), the window :math:`w` and its norm :math:`s`,

    .. math::
        W_{t,c,f} = \frac{w_t}{s} \cos\left(-\frac{2 \pi t f}{N}\right)
        \qquad (\text{side} = \text{"imag"}: \sin)

    for every channel ``c``. Computed in float64 and rounded once to the dtype (Keras
    computes in the kernel's dtype, so its values are within that dtype's rounding
    error of these, which grows with ``t f``).

    Parameters
    ----------
    tensor : numpy.ndarray
        3-D, ``(frame_length, channels, bins)`` with ``bins >= 2``; filled in place.
    side : {"real", "imag"}, optional
    window : str, tuple, array_like or None, optional
        A window of ``scipy.signal.get_window`` (name, or tuple with its parameters),
        ``frame_length`` values, or None (no window). Default ``"hann"``.
    scaling : {"density", "spectrum", None}, optional
        :math:`s = \sqrt{\sum_t w_t^2}` (``"density"``), :math:`\sum_t |w_t|`
        (``"spectrum"``) or 1 (None).
    periodic : bool, optional
        A periodic window (``get_window(..., fftbins=True)``) instead of a symmetric one.
    seed, offset, threads
        Accepted for a uniform signature and ignored.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        A bad parameter (:func:`check_stft`), a shape that is not 3-D with at least 2
        bins, window values of the wrong length or not finite, or an all-zero window
        with a ``scaling`` (the symmetric ``"hann"`` window of 1 or 2 frames).
    TypeError
        Not a float16/bfloat16/float32/float64 array.

    Examples
    --------
    >>> k = stft_(np.empty((16, 1, 9)), side="imag")
    >>> k.shape
    (16, 1, 9)
    """
    check_stft(side, window, scaling, periodic)
    check_float_array(tensor)
    check_stft_shape(tensor.shape)
    if warn_empty(tensor, "stft_"):
        return tensor
    frames, _, bins = tensor.shape
    angle = -2.0 * np.pi * np.outer(np.arange(frames), np.arange(bins)) / (2 * (bins - 1))
    kernel = np.cos(angle) if side == "real" else np.sin(angle)
    if window is not None:
        kernel = kernel * _scaled_window(window, frames, scaling, periodic)[:, None]
    tensor[...] = kernel[:, None, :]
    return tensor
