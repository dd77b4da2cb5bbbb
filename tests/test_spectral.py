"""winit.spectral: Keras' STFT kernel is the windowed DFT of a frame."""

import numpy as np
import pytest
from scipy import signal

import winit
from winit.spectral import check_stft, stft_


class TestSTFT:
    @pytest.mark.parametrize("frames,bins", [(16, 9), (12, 9), (5, 4)])  # frames <= 2 (bins - 1)
    @pytest.mark.parametrize("window,scaling", [("hann", "density"), (None, None),
                                                ("hamming", "spectrum"),
                                                (("kaiser", 4.0), "density")])
    def test_is_the_rfft_of_the_windowed_frame(self, frames, bins, window, scaling):
        x = np.random.default_rng(0).standard_normal(frames)
        w = np.ones(frames) if window is None else signal.get_window(window, frames,
                                                                     fftbins=False)
        s = {"density": np.sqrt(np.sum(w * w)), "spectrum": np.sum(np.abs(w)), None: 1.0}
        spectrum = np.fft.rfft(x * w, n=2 * (bins - 1)) / s[scaling]
        real = stft_(np.empty((frames, 1, bins)), "real", window, scaling)
        imag = stft_(np.empty((frames, 1, bins)), "imag", window, scaling)
        np.testing.assert_allclose(x @ real[:, 0, :], spectrum.real, atol=1e-12)
        np.testing.assert_allclose(x @ imag[:, 0, :], spectrum.imag, atol=1e-12)

    def test_window_values_periodic_channels_dtypes(self):
        w = np.linspace(0.1, 1.0, 8)
        a = stft_(np.empty((8, 3, 5)), window=w, scaling=None)
        assert np.array_equal(a[:, 0], a[:, 2])  # every channel the same
        np.testing.assert_allclose(a[:, 0, 0], w)  # frequency 0: the window itself
        p = stft_(np.empty((8, 1, 5)), window="hann", scaling=None, periodic=True)
        np.testing.assert_allclose(p[:, 0, 0], signal.get_window("hann", 8, fftbins=True))
        for dt in (np.float16, "bfloat16", np.float32):
            k = winit.get("stft")((8, 1, 5), dt)
            assert k.tobytes() == stft_(np.empty((8, 1, 5))).astype(k.dtype).tobytes()

    def test_errors(self):
        with pytest.raises(ValueError, match="bins >= 2"):
            stft_(np.empty((8, 1, 1)))
        with pytest.raises(ValueError, match=r"bins >= 2, got shape \(8, 5\)"):
            stft_(np.empty((8, 5)))
        with pytest.raises(ValueError, match="The shape of `window` must be equal"):
            stft_(np.empty((8, 1, 5)), window=np.ones(7))
        with pytest.raises(TypeError, match="numpy.ndarray"):
            stft_([[[0.0]]])
        with pytest.raises(ValueError, match="side should be"):
            check_stft(side="complex")
        check_stft(window=np.ones(3))  # values are checked against the shape at the call

    def test_empty_warns(self):
        with pytest.warns(UserWarning, match="^Initializing zero-element tensors is a no-op$"):
            stft_(np.empty((0, 1, 3)))
