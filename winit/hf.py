"""Hugging Face configurations to model specs: transformers' tensors, initialized by a recipe.

:func:`spec_from_hf_config` turns a ``config.json`` into the spec of the checkpoint
``save_pretrained`` would write for ``AutoModelForCausalLM.from_config(config)``: the
same tensor names and shapes, each with the scheme of a recipe (``winit.recipes``).
``winit.init_model(spec, "model.safetensors")`` then writes it, and the file loads with
``from_pretrained`` next to the ``config.json``.

Built in, from the configuration's fields alone (no torch or transformers needed):
``gpt2``, ``llama``, ``mistral``, ``mixtral``, ``qwen2``, ``qwen3`` and ``gemma``
(:data:`BUILTIN_FAMILIES`). Any other ``model_type`` is built by transformers on the
``meta`` device (no memory) when transformers and torch are installed, and its
parameters are read from there.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._common import resolve_dtype
from .recipes import ModelDims, ParamInfo, apply_recipe, param_info, resolve_recipe
from .spec import ModelSpec, SpecError, TensorSpec, load_spec

__all__ = ["BUILTIN_FAMILIES", "HFSpec", "hf_params", "read_hf_config", "spec_from_hf_config",
           "tinyllama_config"]


@dataclass(frozen=True)
class _Decoder:
    """A Llama-like family: what its transformers configuration class defaults to."""

    tie: bool                       # tie_word_embeddings
    kv_heads: int | None            # num_key_value_heads (None: num_attention_heads)
    head_dim: int | None            # head_dim (None: hidden_size // num_attention_heads)
    qkv_bias: bool | str            # q/k/v biases: always, never, or the config flag naming it
    o_bias: bool | str              # o_proj bias, likewise
    mlp_bias: bool | str            # gate/up/down biases, likewise
    qk_norm: bool = False           # per-head RMSNorm of queries and keys (Qwen3)
    norm_role: str = "norm"         # "norm_offset": RMSNorm computes x * (1 + w) (Gemma)
    moe: bool = False               # sparse mixture of experts (Mixtral)
    heads_divide: bool = False      # hidden % heads checked even with head_dim (LlamaConfig)


# transformers 5.x: configuration_<family>.py and modeling_<family>.py
_DECODERS = {
    "llama": _Decoder(False, None, None, "attention_bias", "attention_bias", "mlp_bias",
                      heads_divide=True),
    "mistral": _Decoder(False, 8, None, False, False, False),
    "mixtral": _Decoder(False, 8, None, False, False, False, moe=True),
    "qwen2": _Decoder(False, 32, None, True, False, False),
    "qwen3": _Decoder(False, 32, 128, "attention_bias", "attention_bias", False, qk_norm=True),
    "gemma": _Decoder(True, 16, 256, "attention_bias", "attention_bias", False,
                      norm_role="norm_offset"),
}

#: The ``model_type`` s built from the configuration alone.
BUILTIN_FAMILIES = tuple(sorted([*_DECODERS, "gpt2"]))

_MISSING = object()


class _Unsupported(Exception):
    """A built-in family's option that changes the tensors but is not modelled here."""


# --------------------------------------------------------------------------- config fields


def _field(cfg: Mapping, key: str, family: str, default: Any = _MISSING,
           alias: str | None = None) -> Any:
    for k in (key, alias):
        if k is not None and cfg.get(k) is not None:
            return cfg[k]
    if default is _MISSING:
        raise SpecError(f"config: missing field {key!r} (needed by the {family} family)")
    return default


def _size(cfg: Mapping, key: str, family: str, default: Any = _MISSING,
          alias: str | None = None) -> int:
    v = _field(cfg, key, family, default, alias)
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v <= 0:
        raise SpecError(f"config field {key!r}: expected a positive integer, got {v!r}")
    return int(v)


def _flag(cfg: Mapping, key: str | bool, default: bool = False) -> bool:
    if isinstance(key, bool):
        return key
    v = cfg.get(key)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise SpecError(f"config field {key!r}: expected true or false, got {v!r}")
    return v


def _init_std(cfg: Mapping) -> float:
    v = cfg.get("initializer_range")
    if v is None:
        return 0.02
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
        raise SpecError(f"config field 'initializer_range': expected a number >= 0, got {v!r}")
    return float(v) or 0.02  # as PreTrainedModel._init_weights: `initializer_range or 0.02`


def _config_dtype(cfg: Mapping) -> np.dtype | None:
    for key in ("dtype", "torch_dtype"):
        v = cfg.get(key)
        if v is None:
            continue
        try:
            return resolve_dtype(str(v))
        except TypeError:
            raise SpecError(
                f"config field {key!r}: dtype {v!r} is not one winit writes (float16, bfloat16, "
                "float32, float64); pass dtype= to choose one"
            ) from None
    return None


def _check_heads(hidden: int, heads: int) -> None:
    if hidden % heads:
        raise SpecError(f"config field 'num_attention_heads': {heads} heads do not divide "
                        f"hidden_size {hidden} (give head_dim)")


# --------------------------------------------------------------------------- built-in families


def _decoder_params(cfg: Mapping, family: str) -> tuple[list[ParamInfo], ModelDims]:
    """Llama, Mistral, Mixtral, Qwen2, Qwen3, Gemma: ``<Family>ForCausalLM``'s parameters."""
    fam = _DECODERS[family]
    vocab = _size(cfg, "vocab_size", family)
    hidden = _size(cfg, "hidden_size", family)
    inter = _size(cfg, "intermediate_size", family)
    layers = _size(cfg, "num_hidden_layers", family)
    heads = _size(cfg, "num_attention_heads", family)
    kv = _size(cfg, "num_key_value_heads", family, fam.kv_heads or heads)
    experts = _size(cfg, "num_local_experts", family) if fam.moe else 0
    if fam.heads_divide or (cfg.get("head_dim") is None and fam.head_dim is None):
        _check_heads(hidden, heads)
    head_dim = _size(cfg, "head_dim", family, fam.head_dim or hidden // heads)
    if heads % kv:
        raise SpecError(f"config field 'num_key_value_heads': {kv} key/value heads do not "
                        f"divide num_attention_heads {heads}")
    tied = _flag(cfg, "tie_word_embeddings", fam.tie)
    qkv_b, o_b, mlp_b = (_flag(cfg, k) for k in (fam.qkv_bias, fam.o_bias, fam.mlp_bias))

    out = [ParamInfo("model.embed_tokens.weight", (vocab, hidden), "embed", tied=tied)]
    for i in range(layers):
        def lin(name, rows, cols, role, bias, _i=i):
            base = f"model.layers.{_i}.{name}"
            out.append(ParamInfo(base + ".weight", (rows, cols), role, layer=_i))
            if bias:
                out.append(ParamInfo(base + ".bias", (rows,), role, bias=True, layer=_i))

        def norm(name, n, _i=i):
            out.append(ParamInfo(f"model.layers.{_i}.{name}.weight", (n,), fam.norm_role, layer=_i))

        lin("self_attn.q_proj", heads * head_dim, hidden, "attn_in", qkv_b)
        lin("self_attn.k_proj", kv * head_dim, hidden, "attn_in", qkv_b)
        lin("self_attn.v_proj", kv * head_dim, hidden, "attn_in", qkv_b)
        lin("self_attn.o_proj", hidden, heads * head_dim, "attn_out", o_b)
        if fam.qk_norm:
            norm("self_attn.q_norm", head_dim)
            norm("self_attn.k_norm", head_dim)
        if fam.moe:  # the Hub / save_pretrained layout (transformers 4.x state_dict)
            lin("block_sparse_moe.gate", experts, hidden, "router", False)
            for e in range(experts):
                lin(f"block_sparse_moe.experts.{e}.w1", inter, hidden, "mlp_in", False)
                lin(f"block_sparse_moe.experts.{e}.w2", hidden, inter, "mlp_out", False)
                lin(f"block_sparse_moe.experts.{e}.w3", inter, hidden, "mlp_up", False)
        else:
            lin("mlp.gate_proj", inter, hidden, "mlp_in", mlp_b)
            lin("mlp.up_proj", inter, hidden, "mlp_up", mlp_b)
            lin("mlp.down_proj", hidden, inter, "mlp_out", mlp_b)
        norm("input_layernorm", hidden)
        norm("post_attention_layernorm", hidden)
    out.append(ParamInfo("model.norm.weight", (hidden,), fam.norm_role))
    if not tied:
        out.append(ParamInfo("lm_head.weight", (vocab, hidden), "lm_head"))
    return out, ModelDims(hidden, layers, _init_std(cfg))


def _gpt2_params(cfg: Mapping) -> tuple[list[ParamInfo], ModelDims]:
    """GPT-2: ``GPT2LMHeadModel``'s parameters (Conv1D weights are ``(in, out)``)."""
    if cfg.get("add_cross_attention"):
        raise _Unsupported("add_cross_attention")
    vocab = _size(cfg, "vocab_size", "gpt2")
    d = _size(cfg, "n_embd", "gpt2", alias="hidden_size")
    layers = _size(cfg, "n_layer", "gpt2", alias="num_hidden_layers")
    heads = _size(cfg, "n_head", "gpt2", alias="num_attention_heads")
    positions = _size(cfg, "n_positions", "gpt2", alias="max_position_embeddings")
    inner = _size(cfg, "n_inner", "gpt2", 4 * d)
    if d % heads:
        raise SpecError(f"config field 'n_head': {heads} heads do not divide n_embd {d}")
    tied = _flag(cfg, "tie_word_embeddings", True)

    out = [ParamInfo("transformer.wte.weight", (vocab, d), "embed", tied=tied),
           ParamInfo("transformer.wpe.weight", (positions, d), "pos_embed")]

    def add(base, shape, role, layer=None):
        out.append(ParamInfo(base + ".weight", shape, role, layer=layer))
        out.append(ParamInfo(base + ".bias", (shape[-1],), role, bias=True, layer=layer))

    for i in range(layers):
        h = f"transformer.h.{i}."
        add(h + "ln_1", (d,), "norm", i)
        add(h + "attn.c_attn", (d, 3 * d), "attn_in", i)
        add(h + "attn.c_proj", (d, d), "attn_out", i)
        add(h + "ln_2", (d,), "norm", i)
        add(h + "mlp.c_fc", (d, inner), "mlp_in", i)
        add(h + "mlp.c_proj", (inner, d), "mlp_out", i)
    add("transformer.ln_f", (d,), "norm")
    if not tied:
        out.append(ParamInfo("lm_head.weight", (vocab, d), "lm_head"))
    return out, ModelDims(d, layers, _init_std(cfg), hf_scaled_residual=True)


# --------------------------------------------------------------------------- other families

def _meta_model(cfg: Mapping, model_type: str, why: str):
    """``AutoModelForCausalLM.from_config`` on the meta device, and its torch module."""
    try:
        import torch
        from transformers import AutoModelForCausalLM
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    except ImportError:
        raise SpecError(f"{why}; other architectures need transformers and torch "
                        "(pip install 'winit[hf]')") from None
    if model_type not in CONFIG_MAPPING:
        raise SpecError(f"config field 'model_type': {model_type!r} is neither built in "
                        f"({', '.join(BUILTIN_FAMILIES)}) nor known to transformers")
    try:
        tcfg = CONFIG_MAPPING[model_type].from_dict(dict(cfg))
        with torch.device("meta"):
            return AutoModelForCausalLM.from_config(tcfg), torch
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"transformers cannot build a causal LM from this {model_type!r} "
                        f"config: {msg}") from None


def _saved_layout(model, tensors: dict, params: list[ParamInfo],
                  guessed: list[str]) -> list[ParamInfo]:
    """The parameters under the names ``save_pretrained`` writes (transformers 5.x reverts
    its in-memory renamings and fusions, e.g. of mixture-of-experts weights)."""
    try:
        from transformers.core_model_loading import revert_weight_conversion

        saved = revert_weight_conversion(model, dict(tensors))
    except Exception:  # noqa: BLE001 - older transformers: the state_dict is what is saved
        return params
    by_id = {id(t): p for p, t in zip(params, tensors.values(), strict=True)}
    if all(by_id.get(id(t)) is not None and by_id[id(t)].name == k for k, t in saved.items()):
        return params
    out = []
    for name, t in saved.items():
        p = by_id.get(id(t))
        if p is None:  # made by a reverted fusion: known by its name only
            p = param_info(name, tuple(t.shape), "other")
            guessed.append(name)
        out.append(replace(p, name=name))
    return out


def _transformers_params(cfg: Mapping, model_type: str,
                         why: str) -> tuple[list[ParamInfo], ModelDims, list[str]]:
    """Parameters of transformers' own model, built on the meta device."""
    model, _ = _meta_model(cfg, model_type, why)
    from ._torch_specs import transformers_layout  # noqa: PLC0415 - needs torch

    params, dims = transformers_layout(model, _init_std(cfg))
    named = dict(model.named_parameters())
    tensors = {p.name: named[p.name] for p in params}
    guessed = [p.name for p in params if p.role == "other" and not p.bias]
    params = _saved_layout(model, tensors, params, guessed)
    guessed = [g for g in guessed if g in {p.name for p in params}]
    return params, dims, guessed


# --------------------------------------------------------------------------- public


def read_hf_config(config: Any) -> dict[str, Any]:
    """A Hugging Face configuration as a dict.

    Parameters
    ----------
    config : mapping, str, os.PathLike or transformers.PretrainedConfig
        The configuration, a ``config.json`` file or a directory holding one.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        No such file, or no ``config.json`` in the directory.
    SpecError
        Invalid JSON, or JSON that is not an object.
    """
    if isinstance(config, Mapping):
        return dict(config)
    if callable(getattr(config, "to_dict", None)) and hasattr(config, "model_type"):
        return config.to_dict()
    if not isinstance(config, (str, os.PathLike)):
        raise SpecError("config must be a dict, a path to config.json or a directory holding "
                        f"one, got {type(config).__name__}")
    path = Path(config)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    return raw


def _layout(cfg: dict[str, Any]) -> tuple[list[ParamInfo], ModelDims, bool, list[str]]:
    """(params, dims, built in?, names whose schemes are guesses) of a configuration dict."""
    model_type = cfg.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise SpecError(f"config: missing field 'model_type' (one of {', '.join(BUILTIN_FAMILIES)} "
                        "or any transformers architecture)")
    try:
        if model_type == "gpt2":
            return (*_gpt2_params(cfg), True, [])
        if model_type in _DECODERS:
            return (*_decoder_params(cfg, model_type), True, [])
        why = (f"config field 'model_type': {model_type!r} is not built in "
               f"(built in: {', '.join(BUILTIN_FAMILIES)})")
    except _Unsupported as exc:
        why = f"config field {exc.args[0]!r}: not supported by the built-in {model_type} family"
    params, dims, guessed = _transformers_params(cfg, model_type, why)
    return params, dims, False, guessed


def hf_params(config: Any) -> tuple[list[ParamInfo], ModelDims]:
    """The parameters of ``AutoModelForCausalLM.from_config(config)``, as recipes see them.

    For writing a recipe of one's own: ``winit.recipes.apply_recipe(*hf_params(cfg), fn)``.

    Parameters
    ----------
    config : mapping, str, os.PathLike or transformers.PretrainedConfig
        See :func:`read_hf_config`.

    Returns
    -------
    params : list of ParamInfo
        In checkpoint order, without the tied output layer (as ``save_pretrained``).
    dims : ModelDims
        Hidden size, number of blocks and ``initializer_range``.

    Raises
    ------
    SpecError
        A missing or invalid field (the message names it), or an architecture that is
        not built in while transformers or torch is missing.
    """
    params, dims, _, _ = _layout(read_hf_config(config))
    return params, dims


@dataclass(frozen=True)
class HFSpec(ModelSpec):
    """The spec of a Hugging Face model, with the configuration it came from.

    A :class:`winit.spec.ModelSpec`: ``winit.init_model(spec, path)`` accepts it.
    :func:`spec_from_hf_config` makes it; each parameter below is also an attribute
    of the same name (a frozen dataclass).

    Parameters
    ----------
    tensors : dict of str to TensorSpec
        In ``state_dict`` order, as ``save_pretrained`` writes them.
    metadata : dict of str to str
        ``winit.recipe`` and ``winit.hf_model_type``, carried into the checkpoint header.
    config : dict
        The configuration.
    model_type : str
        Its ``model_type``.
    recipe : str
        The recipe's name.
    dtype : numpy.dtype or None
        The dtype recorded on every tensor (None: ``init_model``'s ``dtype`` decides).
    builtin : bool
        Whether the family is built in (else read from transformers' meta-device model).
    guessed : tuple of str
        Tensors of module types winit does not know: their schemes are guesses.
    """

    config: dict[str, Any] = field(default_factory=dict)
    model_type: str = ""
    recipe: str = "hf"
    dtype: np.dtype | None = None
    builtin: bool = True
    guessed: tuple[str, ...] = ()

    @property
    def num_parameters(self) -> int:
        """Number of elements of all tensors together."""
        return sum(t.size for t in self.tensors.values())

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-able mapping (``"__metadata__"`` first), for a spec file.

        Returns
        -------
        dict
            ``{"__metadata__": metadata, name: entry, ...}``, each tensor's entry as
            its ``TensorSpec.to_dict()`` gives it, in the spec's order: written as
            JSON, a spec file (:func:`winit.load_spec` reads the tensors back).
        """
        return {"__metadata__": dict(self.metadata),
                **{name: t.to_dict() for name, t in self.tensors.items()}}


def spec_from_hf_config(config: Any, *, recipe: Any = "hf", rules: Any = None,
                        dtype: Any = "config") -> HFSpec:
    """The spec of a Hugging Face causal language model, from its configuration.

    The tensors are those ``save_pretrained`` writes for
    ``AutoModelForCausalLM.from_config(config)`` (names and shapes of its ``state_dict``,
    without the output layer when ``tie_word_embeddings``; Mixtral's experts in the Hub
    layout ``block_sparse_moe.experts.{e}.w1/w2/w3``), each with the scheme ``recipe``
    gives it (``winit.recipes``), then ``rules``.

    Built-in families (no torch or transformers needed): ``gpt2``, ``llama``,
    ``mistral``, ``mixtral``, ``qwen2``, ``qwen3``, ``gemma``. They need
    ``vocab_size``, ``hidden_size``, ``intermediate_size``, ``num_hidden_layers`` and
    ``num_attention_heads`` (GPT-2: ``vocab_size``, ``n_embd``, ``n_layer``, ``n_head``,
    ``n_positions``; Mixtral also ``num_local_experts``); other fields default as in
    transformers' configuration class (``num_key_value_heads``, ``head_dim``,
    ``tie_word_embeddings``, ``attention_bias``, ``mlp_bias``, ``initializer_range``).
    Other architectures: transformers builds the model on the ``meta`` device and its
    parameters are classified by module type (``nn.Linear``, ``nn.Embedding``, norms).

    Parameters
    ----------
    config : mapping, str, os.PathLike or transformers.PretrainedConfig
        The configuration, a path to ``config.json`` or a directory holding one.
    recipe : str or callable, default "hf"
        ``"hf"`` (transformers' own initialization), ``"megatron"``, ``"torchtitan"``,
        ``"small_init"``, or a function ``(ParamInfo, ModelDims) -> dict``.
    rules : list, mapping, str, os.PathLike or None
        User rules on top of the recipe (``winit.recipes.load_rules``): the first rule
        whose ``match`` regex is found in a tensor name gives its scheme.
    dtype : "config", dtype-like or None, default "config"
        Dtype recorded on every tensor: the configuration's ``dtype`` / ``torch_dtype``
        (``"config"``; none when it names none), this dtype, or None (none: the
        ``dtype`` of ``init_model`` decides).

    Returns
    -------
    HFSpec
        A :class:`winit.spec.ModelSpec` for ``winit.init_model``, with the configuration.

    Raises
    ------
    SpecError
        A missing or invalid configuration field (zero or negative sizes, heads that do
        not divide the hidden size, an unknown dtype, an unknown ``model_type`` without
        transformers): one line naming the field. Nothing is written.
    ValueError
        An unknown recipe name (with close matches).
    FileNotFoundError
        A configuration path that does not exist.

    Examples
    --------
    >>> spec = winit.spec_from_hf_config("TinyLlama/config.json")         # doctest: +SKIP
    >>> winit.init_model(spec, "TinyLlama/model.safetensors", seed=0)     # doctest: +SKIP
    """
    fn = resolve_recipe(recipe)
    cfg = read_hf_config(config)
    params, dims, builtin, guessed = _layout(cfg)
    if isinstance(dtype, str) and dtype == "config":
        dt = _config_dtype(cfg)
    elif dtype is None:
        dt = None
    else:
        try:
            dt = resolve_dtype(dtype)
        except TypeError as exc:
            raise SpecError(f"dtype: {exc}") from None
    entries = apply_recipe(params, dims, fn, rules)
    if dt is not None:
        entries = {k: {"dtype": dt, **v} for k, v in entries.items()}
    tensors: dict[str, TensorSpec] = load_spec(entries)
    name = recipe if isinstance(recipe, str) else getattr(recipe, "__name__", "custom")
    if guessed:
        warnings.warn(f"{len(guessed)} parameters of module types winit does not know got "
                      f"guessed schemes (first: {guessed[0]!r}); see HFSpec.guessed",
                      UserWarning, stacklevel=2)
    return HFSpec(tensors, {"winit.recipe": name, "winit.hf_model_type": cfg["model_type"]},
                  config=cfg, model_type=cfg["model_type"], recipe=name,
                  dtype=dt, builtin=builtin,
                  guessed=tuple(guessed))


def tinyllama_config() -> dict[str, Any]:
    """The configuration of TinyLlama-1.1B (1,100,048,384 parameters), for benchmarks.

    TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T: vocabulary 32000, hidden size
    2048, intermediate size 5632, 22 layers, 32 heads, 4 key/value heads, untied.

    Returns
    -------
    dict
        A ``config.json`` as a dict (``model_type`` ``"llama"``, bfloat16).
    """
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632,
        "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "hidden_act": "silu",
        "initializer_range": 0.02, "tie_word_embeddings": False, "rope_theta": 10000.0,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
    }
