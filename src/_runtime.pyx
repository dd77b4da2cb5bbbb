# cython: language_level=3
"""What the native kernels run with, and how arrays and statuses cross the seam.

One copy of the runtime state (src/runtime.c) for winit._random and
winit._stats: the SIMD path, chosen once when this module is imported (from
the environment variable WINIT_SIMD, else the best path this CPU runs),
OpenMP, and the default thread count. The two kernel modules cimport
``simd_level``, ``describe`` (an array as the kernels see it) and ``check``
(a status as an exception) from here.
"""

import os
import warnings

import ml_dtypes
import numpy as np

cimport numpy as cnp

from native cimport (
    WINIT_BF16, WINIT_EINVAL, WINIT_ENOMEM, WINIT_EREJECT, WINIT_F16, WINIT_F32, WINIT_F64,
    WINIT_MAXDIM, WINIT_OK, WINIT_SIMD_COUNT, winit_array, winit_default_threads, winit_openmp,
    winit_runtime_init, winit_simd, winit_simd_compiled, winit_simd_level, winit_simd_name,
    winit_simd_parse, winit_simd_runs, winit_simd_set, winit_status,
)

cnp.import_array()

cdef int _BF16 = np.dtype(ml_dtypes.bfloat16).num
_DTYPE_NAMES = "float16, bfloat16, float32 or float64"


cdef winit_simd simd_level() noexcept nogil:
    """The SIMD path the kernels use now."""
    return winit_simd_level()


cdef int describe(cnp.ndarray a, winit_array *out) except -1:
    """Fill ``out`` with ``a``'s first element, element type, shape and strides.

    Raises TypeError for an element type the kernels do not handle.
    """
    cdef int t = cnp.PyArray_TYPE(a)
    if t == cnp.NPY_FLOAT32:
        out.dtype = WINIT_F32
    elif t == cnp.NPY_FLOAT64:
        out.dtype = WINIT_F64
    elif t == cnp.NPY_FLOAT16:
        out.dtype = WINIT_F16
    elif t == _BF16:
        out.dtype = WINIT_BF16
    else:
        raise TypeError(f"unsupported dtype {a.dtype}: expected {_DTYPE_NAMES}")
    if not cnp.PyArray_ISNOTSWAPPED(a):
        raise TypeError(f"unsupported dtype {a.dtype}: expected native byte order")
    cdef int ndim = cnp.PyArray_NDIM(a)
    if ndim > WINIT_MAXDIM:
        raise ValueError(f"at most {WINIT_MAXDIM} dimensions, got {ndim}")
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(a)
    cdef int k
    for k in range(ndim):
        out.shape[k] = shape[k]
        out.strides[k] = strides[k]
    out.ndim = ndim
    out.data = <char *>cnp.PyArray_DATA(a)
    return 0


cdef int check(winit_status status) except -1:
    """Raise the exception a kernel's status stands for (nothing for WINIT_OK)."""
    if status == WINIT_OK:
        return 0
    if status == WINIT_ENOMEM:
        raise MemoryError("winit: the native kernel could not allocate its buffers")
    if status == WINIT_EINVAL:
        raise ValueError("winit: invalid arguments to the native kernel")
    if status == WINIT_EREJECT:
        raise RuntimeError("winit: rejection sampling did not finish (acceptance too low)")
    raise SystemError(f"winit: unknown status {<int>status} from the native kernel")


def simd_compiled():
    """Names of the SIMD paths compiled into this build ("scalar", "avx2", "avx512")."""
    return [winit_simd_name(<winit_simd>k).decode() for k in range(WINIT_SIMD_COUNT)
            if winit_simd_compiled(<winit_simd>k)]


def simd_available():
    """Names of the compiled SIMD paths this CPU runs."""
    return [winit_simd_name(<winit_simd>k).decode() for k in range(WINIT_SIMD_COUNT)
            if winit_simd_runs(<winit_simd>k)]


def simd_path():
    """Name of the SIMD path the kernels use now."""
    return winit_simd_name(winit_simd_level()).decode()


def set_simd_path(str name):
    """Use the SIMD path ``name`` from now on, in every kernel (for tests).

    Raises ValueError when the name is unknown or the path cannot run here.
    """
    cdef int level = winit_simd_parse(name.encode())
    if level < 0 or not winit_simd_set(<winit_simd>level):
        raise ValueError(f"SIMD path {name!r} is not available on this CPU/build")


def openmp():
    """True when the kernels were built with OpenMP."""
    return bool(winit_openmp())


def default_threads():
    """Threads a kernel gets for ``threads=None``: the OpenMP default now
    (OMP_NUM_THREADS, threadpoolctl limits); 1 without OpenMP."""
    return winit_default_threads()


if not winit_runtime_init():
    warnings.warn(
        f"WINIT_SIMD={os.environ.get('WINIT_SIMD')!r} is unknown or not supported by this CPU; "
        f"using {simd_path()}",
        RuntimeWarning,
    )
