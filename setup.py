"""Extension list and compile flags; everything else lives in pyproject.toml."""

import os
import sys
import tempfile
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _has_openmp(compiler) -> bool:
    """Try to compile and link a tiny OpenMP program with this compiler."""
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "omp_check.c")
        with open(path, "w") as f:
            f.write(src)
        try:
            objs = compiler.compile([path], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objs, os.path.join(tmp, "omp_check"),
                                     extra_postargs=["-fopenmp"])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        omp = (not msvc) and os.environ.get("WINIT_NO_OPENMP") != "1" and _has_openmp(self.compiler)
        if not omp:
            warnings.warn(
                "winit: OpenMP not available: building SERIAL kernels (one thread). "
                "Install a compiler with OpenMP support (gcc, or clang with libomp) for speed.",
                stacklevel=1,
            )
            print("*** winit: building WITHOUT OpenMP (serial kernels) ***", file=sys.stderr)
        for ext in self.extensions:
            if not msvc:
                # -ffp-contract=off: no FMA contraction, so every SIMD path gives the same bits.
                ext.extra_compile_args += ["-O3", "-ffp-contract=off", "-fno-math-errno",
                                           "-fno-trapping-math", "-std=c11"]
            if omp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
                ext.define_macros.append(("WINIT_OPENMP", "1"))
        super().build_extensions()


def common():
    return dict(
        include_dirs=["src", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    )


# The C <-> Cython contract: the C headers declared once in src/native.pxd.
# winit._runtime holds the one runtime state (SIMD path, OpenMP); the kernel
# modules cimport it (winit/_runtime.pxd).
_CONTRACT = ["src/core.h", "src/native.pxd", "winit/_runtime.pxd"]

extensions = [
    Extension(
        "winit._runtime",
        sources=["src/_runtime.pyx", "src/runtime.c"],
        depends=[*_CONTRACT, "src/runtime.h", "src/dispatch.h"],
        **common(),
    ),
    Extension(
        "winit._random",
        sources=["src/_random.pyx", "src/sample.c"],
        depends=[*_CONTRACT, "src/philox.h", "src/wmath.h", "src/sample.h", "src/sample_impl.h",
                 "src/dispatch.h", "src/layout.h", "src/runtime.h"],
        **common(),
    ),
    Extension(
        "winit._stats",
        sources=["src/_stats.pyx", "src/stats.c"],
        depends=[*_CONTRACT, "src/stats.h", "src/stats_impl.h", "src/dispatch.h",
                 "src/layout.h", "src/wmath.h", "src/runtime.h"],
        **common(),
    ),
]

# Development convenience: WINIT_ONLY=_stats builds just that extension.
_only = os.environ.get("WINIT_ONLY")
if _only:
    extensions = [e for e in extensions if e.name.split(".")[-1] in _only.split(",")]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        include_path=["src", "."],
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_ext": BuildExt},
)
