"""Type stubs for the compiled sampling kernels (src/_random.pyx)."""

from typing import Literal

import numpy as np

BLOCK: int

def fill_uniform(
    a: np.ndarray, low: float, width: float, lo: float, hi: float, key: int, offset: int,
    threads: int,
) -> np.ndarray: ...
def fill_normal(
    a: np.ndarray, mean: float, std: float, key: int, offset: int, threads: int
) -> np.ndarray: ...
def fill_trunc_normal(
    a: np.ndarray, mean: float, std: float, lo: float, hi: float, key: int, offset: int,
    threads: int, *, method: Literal["normal", "uniform", "exponential"], alpha: float,
    beta: float, m2: float = ..., lam: float = ..., accept: float = ...,
) -> np.ndarray: ...
def philox4x32_10(
    ctr: tuple[int, int, int, int], key: tuple[int, int]
) -> tuple[int, int, int, int]: ...
