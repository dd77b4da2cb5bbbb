"""winit: fast, reproducible neural-network weight initialization for numpy arrays.

Everything public is importable from here; see README.md and the API contract.
"""

import pathlib as _pathlib

try:  # the compiled kernels; everything below needs them
    from . import _random, _runtime, _stats  # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    _here = _pathlib.Path(__file__).resolve().parent
    if (_here.parent / "pyproject.toml").is_file() and (_here.parent / "src").is_dir():
        raise ImportError(
            f"you are importing winit from its source directory ({_here.parent}), where its "
            "compiled extensions are not built: install it (pip install .) and run from "
            "elsewhere, or build in place (python setup.py build_ext --inplace)"
        ) from _exc
    raise ImportError(
        f"winit's compiled extensions could not be imported ({_exc}); reinstall winit"
    ) from _exc

from . import nn
from ._common import Key, derive_key
from ._config import show_config
from .diagnose import Diagnosis, diagnose
from .fans import compute_fans
from .gains import calculate_gain
from .hf import spec_from_hf_config
from .lsuv import LSUVReport, lsuv_
from .models import init_model
from .registry import Initializer, aliases, available, get, recommend
from .sampling import constant_, normal_, ones_, trunc_normal_, truncated_normal_, uniform_, zeros_
from .schemes import (
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    variance_scaling_,
    xavier_normal_,
    xavier_uniform_,
)
from .spec import SpecError, load_spec, spec_from_safetensors
from .stats import Stats, StatsTable, layer_stats, stats
from .structured import delta_orthogonal_, dirac_, eye_, orthogonal_, sparse_
from .verify import VerifyReport, verify

__version__ = "0.1.0"

__all__ = [
    # sampling primitives (C kernels)
    "constant_", "normal_", "ones_", "trunc_normal_", "uniform_", "zeros_",
    # schemes
    "delta_orthogonal_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_",
    "lecun_normal_", "lecun_uniform_", "orthogonal_", "sparse_", "truncated_normal_",
    "variance_scaling_", "xavier_normal_", "xavier_uniform_",
    # fans, gains, registry
    "Initializer", "aliases", "available", "calculate_gain", "compute_fans", "get", "recommend",
    # statistics
    "Stats", "StatsTable", "layer_stats", "stats",
    # numpy networks, LSUV, diagnostics
    "Diagnosis", "LSUVReport", "diagnose", "lsuv_", "nn",
    # large models
    "SpecError", "VerifyReport", "init_model", "load_spec", "spec_from_hf_config",
    "spec_from_safetensors", "verify",
    # streams and configuration
    "Key", "derive_key", "show_config",
]
