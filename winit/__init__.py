"""winit: fast, reproducible neural-network weight initialization for numpy arrays.

Everything public is importable from here; see README.md and the API contract.
"""

from ._common import Key, derive_key
from ._config import show_config
from .sampling import constant_, normal_, ones_, trunc_normal_, uniform_, zeros_

# -- stats (issue 3) --
# -- schemes, fans, gains, registry (issue 4) --
# -- nn, lsuv, diagnose (issue 5) --
from . import nn
from .diagnose import Diagnosis, diagnose
from .lsuv import LSUVReport, lsuv_
# -- models (issue 6) --
from .models import SpecError, init_model, load_spec, spec_from_safetensors

__version__ = "0.1.0"
