"""Type stubs for the compiled statistics kernel (src/_stats.pyx)."""

import numpy as np
import numpy.typing as npt

BLOCK: int

def compute(
    a: np.ndarray,
    nthreads: int,
    moments: bool = ...,
    edges: npt.ArrayLike | None = ...,
    uniform: bool = ...,
) -> (
    tuple[int, float, float, float, float, float, float, int, int, int, np.ndarray | None]
    | np.ndarray
    | None
): ...
def merge_moments(
    a: tuple[int, float, float, float, float], b: tuple[int, float, float, float, float]
) -> tuple[int, float, float, float, float]: ...
