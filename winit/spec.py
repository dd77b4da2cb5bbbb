"""Model specs: which tensors a model has, their shapes, dtypes and initialization schemes.

A *spec* maps tensor names to ``{"shape": [...], "init": name, **params}`` (optionally
``"dtype"``), as a mapping, a JSON / TOML file, an existing ``.safetensors`` checkpoint
(:func:`spec_from_safetensors`) or the name of a spec bundled with winit
(``"gpt2_small"``, see :func:`bundled_name`). The optional top-level ``"__metadata__"``
table (string to string) is carried into the checkpoint's header.

Here live the parsing and structural checks (:func:`read_spec`, :func:`load_spec`),
the bundled specs and :func:`gpt2_spec`. Whether an entry's scheme and parameters are
valid is checked when the model is planned (``winit.models``).
"""

from __future__ import annotations

import importlib
import json
import math
import numbers
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._common import BFLOAT16, resolve_dtype
from .checkpoint import SAFETENSORS_DTYPES
from .reader import safetensors_tensors, unique_json_object

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ModelSpec",
    "SpecError",
    "TensorSpec",
    "bundled_name",
    "default_spec_path",
    "dtype_name",
    "gpt2_spec",
    "guess_init",
    "load_spec",
    "read_spec",
    "spec_from_safetensors",
]

_RESERVED_FIELDS = ("shape", "init", "dtype")
_DATA_DIR = Path(__file__).resolve().parent / "data"


class SpecError(ValueError):
    """A model spec (or one of its entries) is invalid; the message names the tensor and field."""


def dtype_name(dt: np.dtype) -> str:
    """The name of a float dtype in a spec: ``"bfloat16"``, ``"float32"``, ...

    Parameters
    ----------
    dt : numpy.dtype
        A dtype winit generates (float16, bfloat16, float32, float64).

    Returns
    -------
    str
        ``"bfloat16"`` for ``ml_dtypes.bfloat16``, otherwise ``dt.name``.
    """
    return "bfloat16" if dt == BFLOAT16 else dt.name


@dataclass(frozen=True)
class TensorSpec:
    """One validated spec entry.

    Attributes
    ----------
    name : str
        Tensor name (the key in the checkpoint).
    shape : tuple of int
        Tensor shape.
    init : str
        Registry name of the scheme (``winit.get(init, **params)``).
    params : dict
        Parameters of the scheme.
    dtype : numpy.dtype or None
        The tensor's own dtype; None means the model's default dtype.
    """

    name: str
    shape: tuple[int, ...]
    init: str
    params: dict[str, Any] = field(default_factory=dict)
    dtype: np.dtype | None = None

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def to_dict(self) -> dict[str, Any]:
        """The entry as it would appear in a JSON spec."""
        d: dict[str, Any] = {"shape": list(self.shape), "init": self.init, **self.params}
        if self.dtype is not None:
            d["dtype"] = dtype_name(self.dtype)
        return d


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec: its tensors and the metadata for the checkpoint header.

    Attributes
    ----------
    tensors : dict of str to TensorSpec
        In the spec's order.
    metadata : dict of str to str
        The spec's ``"__metadata__"`` table (empty when it has none).
    """

    tensors: dict[str, TensorSpec]
    metadata: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- bundled specs


def bundled_name(spec: Any) -> str | None:
    """The bundled spec ``spec`` names, or None when it is a mapping or a file path.

    A string without a suffix that is not an existing path names a bundled spec
    (``"gpt2_small"``); whether that spec exists is checked by :func:`default_spec_path`.

    Parameters
    ----------
    spec : Any
        What was passed as a spec.

    Returns
    -------
    str or None
        The name, or None.
    """
    if isinstance(spec, str) and not Path(spec).suffix and not Path(spec).exists():
        return spec
    return None


def default_spec_path(name: str = "gpt2_small") -> Path:
    """Path of a spec bundled with winit.

    Parameters
    ----------
    name : str, default "gpt2_small"
        The bundled spec (``"gpt2_small"``: GPT-2 small, 124M parameters).

    Returns
    -------
    pathlib.Path
        Its JSON file.

    Raises
    ------
    SpecError
        No bundled spec has that name (the message lists those that exist).
    """
    p = _DATA_DIR / f"{name}.json"
    if not p.is_file():
        avail = sorted(q.stem for q in _DATA_DIR.glob("*.json"))
        raise SpecError(f"no bundled spec named {name!r}; available: {', '.join(avail)}")
    return p


def gpt2_spec(n_layer: int = 12, d_model: int = 768, vocab: int = 50257,
              n_ctx: int = 1024) -> dict[str, dict[str, Any]]:
    """A GPT-2-style spec (Hugging Face ``GPT2Model`` names, Conv1D ``(in, out)`` weights).

    Normal std 0.02 everywhere, residual projections (``attn.c_proj``, ``mlp.c_proj``)
    0.02 / sqrt(2 n_layer), biases zeros, layer norms ones/zeros (Radford et al. 2019,
    "Language Models are Unsupervised Multitask Learners").

    Parameters
    ----------
    n_layer : int, default 12
        Transformer blocks.
    d_model : int, default 768
        Embedding width.
    vocab : int, default 50257
        Vocabulary size.
    n_ctx : int, default 1024
        Positions.

    Returns
    -------
    dict
        ``{name: {"shape": [...], "init": ..., **params}}``. The defaults are the bundled
        ``gpt2_small`` spec (124M parameters); ``gpt2_spec(48, 1600)`` is GPT-2 XL (1.56B).
    """
    proj = 0.02 / math.sqrt(2 * n_layer)
    d = d_model

    def normal(shape, std=0.02):
        return {"shape": shape, "init": "normal", "std": std}

    spec: dict[str, dict[str, Any]] = {"wte.weight": normal([vocab, d]),
                                       "wpe.weight": normal([n_ctx, d])}
    for i in range(n_layer):
        h = f"h.{i}."
        spec[h + "ln_1.weight"] = {"shape": [d], "init": "ones"}
        spec[h + "ln_1.bias"] = {"shape": [d], "init": "zeros"}
        spec[h + "attn.c_attn.weight"] = normal([d, 3 * d])
        spec[h + "attn.c_attn.bias"] = {"shape": [3 * d], "init": "zeros"}
        spec[h + "attn.c_proj.weight"] = normal([d, d], proj)
        spec[h + "attn.c_proj.bias"] = {"shape": [d], "init": "zeros"}
        spec[h + "ln_2.weight"] = {"shape": [d], "init": "ones"}
        spec[h + "ln_2.bias"] = {"shape": [d], "init": "zeros"}
        spec[h + "mlp.c_fc.weight"] = normal([d, 4 * d])
        spec[h + "mlp.c_fc.bias"] = {"shape": [4 * d], "init": "zeros"}
        spec[h + "mlp.c_proj.weight"] = normal([4 * d, d], proj)
        spec[h + "mlp.c_proj.bias"] = {"shape": [d], "init": "zeros"}
    spec["ln_f.weight"] = {"shape": [d], "init": "ones"}
    spec["ln_f.bias"] = {"shape": [d], "init": "zeros"}
    return spec


# --------------------------------------------------------------------------- spec files


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
                        "save the spec as UTF-8") from None


def _read_spec_file(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"spec file not found: {path}")
    if path.is_dir():
        raise SpecError(f"spec path is a directory, not a JSON/TOML file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return spec_from_safetensors(path)
    if suffix == ".toml":
        text = _read_text(path)
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{path}: invalid TOML: {exc}") from None
    if suffix == ".json":
        text = _read_text(path)
        try:
            return json.loads(text, object_pairs_hook=unique_json_object)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{path}: invalid JSON: {exc}") from None
        except ValueError as exc:  # a duplicate key
            raise SpecError(f"{path}: {exc}") from None
    raise SpecError(f"spec file must end in .json, .toml or .safetensors, got {path.name!r}")


# --------------------------------------------------------------------------- parsing


def _flatten(spec: Mapping, prefix: str, out: dict[str, Any]) -> None:
    """Flatten nested tables (TOML ``[h.0.attn]``) into dotted names."""
    for key, entry in spec.items():
        if not isinstance(key, str) or not key:
            raise SpecError(f"tensor names must be non-empty strings, got {key!r}")
        name = f"{prefix}.{key}" if prefix else key
        if not isinstance(entry, Mapping):
            raise SpecError(
                f"tensor {name!r}: entry must be a table/mapping with 'shape' and 'init', "
                f"got {type(entry).__name__}"
            )
        is_leaf = "shape" in entry or "init" in entry or not all(
            isinstance(v, Mapping) for v in entry.values()
        )
        if is_leaf or not entry:
            if name in out:
                raise SpecError(f"tensor {name!r} is defined twice")
            out[name] = entry
        else:
            _flatten(entry, name, out)


def _check_shape(name: str, shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (list, tuple)):
        raise SpecError(f"tensor {name!r}, field 'shape': expected a list of ints, got {shape!r}")
    dims = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)):
            raise SpecError(
                f"tensor {name!r}, field 'shape': dimensions must be ints, got {d!r} in {shape!r}"
            )
        if int(d) < 0:
            raise SpecError(f"tensor {name!r}, field 'shape': negative dimension in {list(shape)}")
        dims.append(int(d))
    if math.prod(dims) * 8 >= 2**63:
        raise SpecError(f"tensor {name!r}, field 'shape': {list(shape)} has "
                        f"{math.prod(dims)} elements, more than a tensor can hold "
                        "(its size in bytes overflows int64)")
    return tuple(dims)


def _check_param(name: str, key: str, value: Any) -> Any:
    ok = (numbers.Real, str, bool, np.generic)
    if isinstance(value, ok) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, ok) for v in value):
        return tuple(value)
    raise SpecError(
        f"tensor {name!r}, field {key!r}: parameters must be numbers, strings, booleans or "
        f"lists of them, got {type(value).__name__}"
    )


def _parse_entry(name: str, entry: Mapping) -> TensorSpec:
    if "shape" not in entry:
        raise SpecError(f"tensor {name!r}: missing field 'shape'")
    if "init" not in entry:
        raise SpecError(f"tensor {name!r}: missing field 'init' (the scheme name, e.g. 'normal')")
    shape = _check_shape(name, entry["shape"])
    init = entry["init"]
    if not isinstance(init, str) or not init:
        raise SpecError(f"tensor {name!r}, field 'init': expected a scheme name, got {init!r}")
    dtype = None
    if entry.get("dtype") is not None:
        try:
            dtype = resolve_dtype(entry["dtype"])
        except TypeError as exc:
            raise SpecError(f"tensor {name!r}, field 'dtype': {exc}") from None
    params = {
        str(k): _check_param(name, str(k), v)
        for k, v in entry.items()
        if k not in _RESERVED_FIELDS
    }
    return TensorSpec(name, shape, init, params, dtype)


def _parse_metadata(meta: Any) -> dict[str, str]:
    if not isinstance(meta, Mapping):
        raise SpecError("'__metadata__' must be a mapping of strings to strings")
    return {str(k): str(v) for k, v in meta.items()}


def _raw_spec(spec: Any) -> Any:
    """The spec as given, or the content of its file (bundled names resolved)."""
    if isinstance(spec, (str, os.PathLike)):
        name = bundled_name(spec)
        return _read_spec_file(default_spec_path(name) if name is not None else Path(spec))
    return spec


def _parse_tensors(spec: Any) -> dict[str, TensorSpec]:
    if isinstance(spec, Mapping) and spec and all(isinstance(v, TensorSpec) for v in spec.values()):
        return dict(spec)
    if not isinstance(spec, Mapping):
        raise SpecError(
            f"a spec must be a mapping of tensor names to entries, got {type(spec).__name__}"
        )
    body = {k: v for k, v in spec.items() if k != "__metadata__"}
    flat: dict[str, Any] = {}
    _flatten(body, "", flat)
    if not flat:
        raise SpecError("the spec has no tensors")
    return {name: _parse_entry(name, entry) for name, entry in flat.items()}


def read_spec(spec: Any) -> ModelSpec:
    """Parse and check a model spec and its metadata, reading a file at most once.

    Parameters
    ----------
    spec : mapping, str, os.PathLike or ModelSpec
        As :func:`load_spec`. A ModelSpec is returned as is.

    Returns
    -------
    ModelSpec
        The tensors (in the spec's order) and the ``"__metadata__"`` table, whatever the
        format (mapping, JSON or TOML; a ``.safetensors`` checkpoint gives none).

    Raises
    ------
    SpecError
        Naming the tensor and the field at fault, or a ``"__metadata__"`` that is not a
        mapping; file errors as :func:`load_spec`.
    FileNotFoundError
        When a spec path does not exist.
    """
    if isinstance(spec, ModelSpec):
        return spec
    raw = _raw_spec(spec)
    tensors = _parse_tensors(raw)
    meta = raw.get("__metadata__", {}) if isinstance(raw, Mapping) else {}
    return ModelSpec(tensors, _parse_metadata(meta))


def load_spec(spec: Any) -> dict[str, TensorSpec]:
    """Parse and check a model spec (structure only; schemes are checked by ``init_model``).

    Parameters
    ----------
    spec : mapping, str, os.PathLike or ModelSpec
        ``{name: {"shape": [...], "init": scheme, "dtype": optional, **params}}``; nested
        mappings without ``"shape"`` are flattened into dotted names (TOML tables).
        A path to a ``.json`` / ``.toml`` file of that, a ``.safetensors`` checkpoint (see
        :func:`spec_from_safetensors`), or the name of a bundled spec (``"gpt2_small"``).
        The key ``"__metadata__"`` (string to string) is reserved for file metadata
        (:func:`read_spec` returns it).

    Returns
    -------
    dict of str to TensorSpec
        In the spec's order.

    Raises
    ------
    SpecError
        Naming the tensor and the field at fault; for a file, naming the file: invalid
        JSON or TOML, a JSON object with a key given twice (JSON parsers keep the last
        one; TOML rejects it too), or a file that is not UTF-8 text.
    FileNotFoundError
        When a spec path does not exist.
    """
    if isinstance(spec, ModelSpec):
        return dict(spec.tensors)
    return _parse_tensors(_raw_spec(spec))


# --------------------------------------------------------------------------- from a checkpoint


def guess_init(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """The scheme :func:`spec_from_safetensors` assigns by default (transformer conventions).

    Parameters
    ----------
    name : str
        Tensor name; only its last dotted component matters.
    shape : tuple of int
        Tensor shape.

    Returns
    -------
    dict
        1-D tensors whose name ends in ``bias``, ``beta`` or ``b``: ``{"init": "zeros"}``;
        other 1-D tensors (layer-norm scales): ``{"init": "ones"}``; everything else
        ``{"init": "normal", "std": 0.02}``.
    """
    last = name.rsplit(".", 1)[-1].lower()
    if len(shape) <= 1:
        return {"init": "zeros"} if last in ("bias", "beta", "b") else {"init": "ones"}
    return {"init": "normal", "std": 0.02}


def spec_from_safetensors(path, *, init: Mapping | None = None,
                          dtypes: bool = True) -> dict[str, dict[str, Any]]:
    """The spec of an existing ``.safetensors`` checkpoint, for re-initializing it.

    Reads only the header, checked as the safetensors library checks it
    (``winit.reader.safetensors_tensors``); the safetensors library is not needed.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint.
    init : mapping, optional
        Scheme for every tensor, e.g. ``{"init": "xavier_uniform"}``; by default
        :func:`guess_init` (zeros for biases, ones for other 1-D tensors, normal
        std 0.02 elsewhere).
    dtypes : bool, default True
        Record each tensor's dtype; False leaves it to ``init_model(dtype=...)``.

    Returns
    -------
    dict
        ``{name: {"shape": [...], "init": ..., "dtype": ..., **params}}``, sorted by name
        (as the safetensors library lists them).

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    SpecError
        The file is not a readable safetensors file (the message names it and what is
        wrong: a header length past the end, offsets out of range or overlapping, a shape
        that does not match its bytes, a header that is not JSON), or holds a non-float
        tensor.

    Examples
    --------
    >>> spec = winit.spec_from_safetensors("model.safetensors")  # doctest: +SKIP
    >>> winit.init_model(spec, "fresh.safetensors", seed=1)        # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        tensors, _ = safetensors_tensors(path)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    out: dict[str, dict[str, Any]] = {}
    for t in tensors:
        entry: dict[str, Any] = {"shape": list(t.shape)}
        entry.update(dict(init) if init is not None else guess_init(t.name, t.shape))
        if dtypes:
            if t.dtype not in SAFETENSORS_DTYPES:
                raise SpecError(
                    f"tensor {t.name!r}: dtype {t.stored_as} is not a float dtype winit can "
                    "initialize (F16, BF16, F32, F64)"
                )
            entry["dtype"] = dtype_name(t.dtype)
        out[t.name] = entry
    return out


# API.md names winit.spec as the home of HF configs and recipes; they live in winit.hf and
# winit.recipes (each its own concept, and winit.hf builds on this module), reachable here
# too. Imported on first use: an import at the top would be a cycle.
_ELSEWHERE = {"spec_from_hf_config": "hf", "HFSpec": "hf", "read_hf_config": "hf",
              "apply_recipe": "recipes", "load_rules": "recipes"}


def __getattr__(name: str):
    if name in _ELSEWHERE:
        module = importlib.import_module(f"winit.{_ELSEWHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'winit.spec' has no attribute {name!r}")
