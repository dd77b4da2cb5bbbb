# What winit._runtime (src/_runtime.pyx) shares at the C level with the other
# extension modules, which `from winit._runtime cimport ...` it. Build-time
# only: Cython finds it here, in the package, as it finds numpy's .pxd files;
# the C declarations it names are those of src/native.pxd.

cimport numpy as cnp

from native cimport winit_array, winit_simd, winit_status


cdef winit_simd simd_level() noexcept nogil
cdef int describe(cnp.ndarray a, winit_array *out) except -1
cdef int check(winit_status status) except -1
