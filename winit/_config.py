"""show_config(): how the extension was built and what it runs with."""

from __future__ import annotations

import os
import platform
import sys

import numpy as np

from . import _random, _runtime


def config() -> dict:
    """Build and run-time configuration as a dict (see :func:`show_config`)."""
    return {
        "winit": _version(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "openmp": _runtime.openmp(),
        "simd_compiled": _runtime.simd_compiled(),
        "simd_chosen": _runtime.simd_path(),
        "WINIT_SIMD": os.environ.get("WINIT_SIMD", ""),
        "threads_default": _runtime.default_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
        "generator": f"Philox4x32-10 (counter-based), blocks of {_random.BLOCK} elements",
    }


def _version() -> str:
    from . import __version__

    return __version__


def show_config() -> None:
    """Print the build and run-time configuration: OpenMP, SIMD paths compiled and
    chosen, default thread count, versions."""
    for k, v in config().items():
        if isinstance(v, list):
            v = ", ".join(v)
        print(f"{k:>16}: {v}")
