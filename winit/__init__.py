"""winit: fast, reproducible neural-network weight initialization for numpy arrays.

Everything public is importable from here; see README.md and the API contract.
"""

from ._common import Key, derive_key
from ._config import show_config
from .sampling import constant_, normal_, ones_, trunc_normal_, uniform_, zeros_

# -- stats (issue 3) --
from .stats import Stats, StatsTable, layer_stats, stats
# -- schemes, fans, gains, registry (issue 4) --
from .fans import compute_fans
from .gains import calculate_gain
from .registry import Initializer, aliases, available, get, recommend, truncated_normal_
from .schemes import (
    delta_orthogonal_,
    dirac_,
    eye_,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    orthogonal_,
    sparse_,
    variance_scaling_,
    xavier_normal_,
    xavier_uniform_,
)
# -- nn, lsuv, diagnose (issue 5) --
from . import nn
from .diagnose import Diagnosis, diagnose
from .lsuv import LSUVReport, lsuv_
# -- models (issue 6) --
from .models import SpecError, init_model, load_spec, spec_from_safetensors

__version__ = "0.1.0"
