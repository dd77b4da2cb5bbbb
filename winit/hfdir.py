"""Hugging Face checkpoint directories: shard sizes, the index, the config, provenance.

``winit.init_model(spec_from_hf_config(cfg), "out")`` writes the layout
``save_pretrained`` writes, so that ``AutoModelForCausalLM.from_pretrained("out")``
loads it::

    out/config.json                      the configuration, "dtype" the written dtype
    out/model.safetensors                when one shard holds everything, else
    out/model-00001-of-00003.safetensors the shards (at most max_shard_size each) and
    out/model.safetensors.index.json     {"metadata": {"total_size", ...}, "weight_map"}

Shards are cut as transformers (``huggingface_hub.split_torch_state_dict_into_shards``)
cuts them (:func:`plan_shards`); sizes are read as transformers reads them
(:func:`parse_size`). Every file's header records its :class:`Provenance`, so that
``winit verify`` can regenerate every tensor from the checkpoint alone.
:func:`checkpoint_files` reads such a directory back, checking its index.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._common import resolve_key
from ._config import _version
from .reader import unique_json_object

__all__ = [
    "CONFIG_NAME",
    "INDEX_NAME",
    "WEIGHTS_NAME",
    "Provenance",
    "checkpoint_files",
    "config_json",
    "index_json",
    "parse_size",
    "plan_shards",
    "shard_filenames",
    "spec_sha256",
]

#: File names of the Hugging Face layout.
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.I)


# --------------------------------------------------------------------------- shards


def parse_size(size: Any, what: str = "max_shard_size") -> int:
    """A size in bytes, as transformers reads ``max_shard_size``.

    Parameters
    ----------
    size : int or str
        Bytes (``1000000``, ``"1000000"``), or a number and a unit: ``"500MB"``,
        ``"5GB"`` (powers of 1000: KB, MB, GB, TB) or ``"2GiB"`` (powers of 1024: KiB,
        MiB, GiB, TiB), in any case; ``"1.5GB"`` too.
    what : str
        The name of the field, for the error message.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        ``"max_shard_size: expected bytes or a size such as '5GB' or '2GiB', got ..."``.
    """
    if isinstance(size, (numbers.Integral, np.integer)) and not isinstance(size, bool):
        n = int(size)
    else:
        m = _SIZE.match(size) if isinstance(size, str) else None
        if m is None or m[2].lower() not in _UNITS:
            raise ValueError(f"{what}: expected bytes or a size such as '5GB' or '2GiB', "
                             f"got {size!r}")
        n = int(float(m[1]) * _UNITS[m[2].lower()])
    if n < 1:
        raise ValueError(f"{what}: must be at least 1 byte, got {size!r}")
    return n


def plan_shards(sizes: Sequence[tuple[str, int]], max_bytes: int) -> list[list[str]]:
    """Cut tensors into shards as ``save_pretrained`` does.

    In order, a tensor joins the current shard unless that would take it over
    ``max_bytes``, then a new shard starts; a tensor larger than ``max_bytes`` gets a
    shard of its own (the only way a shard exceeds the limit), placed where it comes.

    Parameters
    ----------
    sizes : sequence of (str, int)
        Tensor names and byte sizes, in ``state_dict`` order.
    max_bytes : int
        The limit per shard.

    Returns
    -------
    list of list of str
        The tensor names of each shard (at least one shard, possibly empty).
    """
    shards: list[list[str]] = []
    current: list[str] = []
    filled = 0
    for name, n in sizes:
        if n > max_bytes:
            shards.append([name])
            continue
        if filled + n > max_bytes:
            shards.append(current)
            current, filled = [], 0
        current.append(name)
        filled += n
    if current or not shards:
        shards.append(current)
    return shards


def shard_filenames(n: int) -> list[str]:
    """``["model.safetensors"]`` for one shard, else ``model-0000i-of-0000n.safetensors``.

    Parameters
    ----------
    n : int
        Number of shards.

    Returns
    -------
    list of str
    """
    if n == 1:
        return [WEIGHTS_NAME]
    return [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]


def index_json(shards: Sequence[Sequence[str]], files: Sequence[str],
               sizes: Mapping[str, int], parameters: int) -> str:
    """The text of ``model.safetensors.index.json``, as ``save_pretrained`` writes it.

    Parameters
    ----------
    shards : sequence of sequence of str
        The tensor names of each shard.
    files : sequence of str
        The shards' file names.
    sizes : mapping of str to int
        Bytes of each tensor.
    parameters : int
        Number of parameters (elements), all tensors together.

    Returns
    -------
    str
        ``{"metadata": {"total_parameters", "total_size"}, "weight_map": {name: file}}``,
        keys sorted, indented by 2, with a final newline.
    """
    weight_map = {name: f for names, f in zip(shards, files, strict=True) for name in names}
    index = {"metadata": {"total_parameters": parameters,
                          "total_size": sum(sizes[n] for n in weight_map)},
             "weight_map": weight_map}
    return json.dumps(index, indent=2, sort_keys=True) + "\n"


def config_json(config: Mapping[str, Any], dtype: str) -> str:
    """The text of ``config.json``: the configuration with the written dtype.

    Parameters
    ----------
    config : mapping
        The configuration (``HFSpec.config``).
    dtype : str
        ``"bfloat16"``, ``"float32"``, ...: set as ``dtype`` (transformers 5) and, when the
        configuration has one, as ``torch_dtype``.

    Returns
    -------
    str
        JSON, keys sorted, indented by 2, with a final newline.
    """
    out = {**config, "dtype": dtype}
    if "torch_dtype" in out:
        out["torch_dtype"] = dtype
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------- reading back


def _read_index(path: Path) -> dict[str, str]:
    """The weight map of an index file, checked; ValueError naming the file and field."""
    try:
        index = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique_json_object)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: damaged index: not JSON ({exc})") from None
    wm = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wm, dict) or not wm or not all(
            isinstance(v, str) and v and "/" not in v and v not in (".", "..")
            for v in wm.values()):
        raise ValueError(f"{path}: damaged index: field 'weight_map' must map tensor names "
                         "to shard file names")
    return wm


def checkpoint_files(path) -> list[tuple[Path, set[str] | None]]:
    """The safetensors files of a checkpoint, and the tensors its index puts in each.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file, or a directory holding ``model.safetensors.index.json``
        (its shards) or ``model.safetensors``.

    Returns
    -------
    list of (pathlib.Path, set of str or None)
        Each file and the names the index maps to it (None without an index).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist, or a shard the index names is missing.
    ValueError
        A damaged index (not JSON, no ``weight_map``), or a directory holding neither.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if not path.is_dir():
        return [(path, None)]
    index = path / INDEX_NAME
    if index.exists():
        by_file: dict[str, set[str]] = {}
        for name, f in _read_index(index).items():
            by_file.setdefault(f, set()).add(name)
        out = []
        for f in sorted(by_file):
            if not (path / f).is_file():
                raise FileNotFoundError(f"{path / f}: missing shard (listed in {INDEX_NAME})")
            out.append((path / f, by_file[f]))
        return out
    if (path / WEIGHTS_NAME).is_file():
        return [(path / WEIGHTS_NAME, None)]
    raise ValueError(f"{path}: no {INDEX_NAME} nor {WEIGHTS_NAME} in this directory")


# --------------------------------------------------------------------------- provenance


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _canonical(entries: Mapping[str, Any]) -> str:
    return json.dumps(entries, sort_keys=True, separators=(",", ":"), default=_json_default)


def spec_sha256(entries: Mapping[str, Mapping[str, Any]]) -> str:
    """The sha256 of a resolved spec: its canonical JSON (keys sorted, no spaces).

    Parameters
    ----------
    entries : mapping of str to mapping
        ``{name: {"shape": [...], "init": ..., "dtype": ..., **params}}``, every dtype
        resolved (as :class:`Provenance` records them).

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(_canonical(entries).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """What a checkpoint file's header records to regenerate its tensors (``winit verify``).

    In the header's ``"__metadata__"`` (strings): ``winit.version``, ``winit.key`` (the
    model's root generator key, ``0x`` and 16 hex digits: with it, a tensor's values
    follow from its name and its entry), ``winit.seed`` (when the seed was an int),
    ``winit.spec_sha256`` (:func:`spec_sha256` of the whole model's resolved spec) and
    ``winit.spec`` (the resolved entries of this file's tensors, canonical JSON).

    Parameters
    ----------
    key : int
        Root generator key.
    spec : dict
        Resolved entries of the file's tensors (each with its dtype).
    spec_hash : str
        :func:`spec_sha256` of the whole model's resolved spec (all files together).
    seed : int or None
        The int seed, when the model was initialized from one.
    version : str
        The winit version that wrote it.
    """

    key: int
    spec: dict[str, dict[str, Any]] = field(default_factory=dict)
    spec_hash: str = ""
    seed: int | None = None
    version: str = field(default_factory=_version)

    def metadata(self) -> dict[str, str]:
        """The header fields, as strings.

        Returns
        -------
        dict of str to str
        """
        meta = {"winit.version": self.version, "winit.key": f"0x{self.key:016x}"}
        if self.seed is not None:
            meta["winit.seed"] = str(self.seed)
        meta["winit.spec_sha256"] = self.spec_hash
        meta["winit.spec"] = _canonical(self.spec)
        return meta

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str], where: str = "header") -> Provenance | None:
        """The provenance a header records, or None when it records neither key nor seed.

        Parameters
        ----------
        meta : mapping of str to str
            A safetensors header's ``"__metadata__"``.
        where : str
            What to name in error messages (the file).

        Returns
        -------
        Provenance or None
            Without ``winit.spec`` (files of older versions) ``spec`` is empty; without
            ``winit.key`` the key is the seed's.

        Raises
        ------
        ValueError
            A malformed field: ``"<where>: field 'winit.key': ..."``.
        """
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"{where}: field {name!r}: {why}, got {meta.get(name)!r}")

        seed = key = None
        if "winit.seed" in meta:
            if not re.fullmatch(r"\d+", meta["winit.seed"]):
                raise bad("winit.seed", "expected a non-negative integer")
            seed = int(meta["winit.seed"])
        if "winit.key" in meta:
            if not re.fullmatch(r"0x[0-9a-f]{16}", meta["winit.key"]):
                raise bad("winit.key", "expected 0x and 16 hex digits")
            key = int(meta["winit.key"], 16)
        if key is None and seed is None:
            return None
        spec: Any = {}
        if "winit.spec" in meta:
            try:
                spec = json.loads(meta["winit.spec"], object_pairs_hook=unique_json_object)
            except ValueError as exc:
                raise bad("winit.spec", f"invalid JSON ({exc})") from None
            if not isinstance(spec, dict) or not all(isinstance(v, dict) for v in spec.values()):
                raise bad("winit.spec", "expected a JSON object of tensor entries")
        return cls(resolve_key(seed) if key is None else key, spec,
                   meta.get("winit.spec_sha256", ""), seed, meta.get("winit.version", ""))

