"""Initialization recipes for transformer language models, and user rules on top of them.

A *recipe* gives every parameter of a model its scheme, from what the parameter is
(:class:`ParamInfo`: its name, shape, role in the network and block index) and the
model's sizes (:class:`ModelDims`). :func:`winit.spec_from_hf_config` describes a
Hugging Face model's parameters this way and applies a recipe by name:

==============  ==========================================================================
``hf``          what transformers' ``_init_weights`` does (the default), :func:`hf`
``megatron``    Megatron-LM: output projections scaled by 1/sqrt(2 L), :func:`megatron`
``torchtitan``  torchtitan's Llama 3: truncated normals, depth-scaled, :func:`torchtitan`
``small_init``  Nguyen & Salazar (2019): N(0, 2 / (5 d)), :func:`small_init`
==============  ==========================================================================

*User rules* (:func:`load_rules`) then override the recipe for the tensors they match:
a list of ``{match = "regex", init = "scheme", **params}`` tables, where the **first**
rule whose regular expression matches a tensor's name (``re.search``) decides; tensors
no rule matches keep the recipe's scheme.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .registry import get
from .spec import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ROLES",
    "ModelDims",
    "ParamInfo",
    "Rule",
    "apply_recipe",
    "available",
    "hf",
    "load_rules",
    "megatron",
    "param_info",
    "resolve_recipe",
    "small_init",
    "torchtitan",
]

#: What a parameter does in the network (``ParamInfo.role``).
ROLES = (
    "embed",        # token embedding (the output layer too when ``tied``)
    "pos_embed",    # learned position embedding (GPT-2's ``wpe``)
    "attn_in",      # query / key / value projections (GPT-2's fused ``c_attn``)
    "attn_out",     # attention output projection onto the residual stream
    "mlp_in",       # first MLP projection: gate (SwiGLU ``gate_proj``, ``w1``) or ``c_fc``
    "mlp_up",       # SwiGLU up projection (``up_proj``, ``w3``)
    "mlp_out",      # MLP output projection onto the residual stream (``down_proj``, ``w2``)
    "router",       # mixture-of-experts router
    "lm_head",      # output layer (untied)
    "norm",         # layer / RMS norm scaling y = x * w (identity: w = 1)
    "norm_offset",  # zero-centred norm scaling y = x * (1 + w) (Gemma; identity: w = 0)
    "linear",       # any other linear layer
    "other",        # a parameter of an unknown module type (schemes are guesses)
)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a model, as a recipe sees it.

    Each parameter below is also an attribute of the same name (a frozen dataclass).

    Parameters
    ----------
    name : str
        Name in the checkpoint (``model.layers.0.self_attn.o_proj.weight``).
    shape : tuple of int
        Shape in the checkpoint.
    role : str
        One of :data:`ROLES`; the role of the module the parameter belongs to:
        ``embed`` (token embedding; also the output layer when ``tied``),
        ``pos_embed``, ``attn_in`` (query/key/value), ``attn_out`` and ``mlp_out``
        (projections onto the residual stream), ``mlp_in`` (gate or first MLP
        projection), ``mlp_up`` (SwiGLU up projection), ``router`` (mixture of
        experts), ``lm_head`` (untied output layer), ``norm`` (``x * w``),
        ``norm_offset`` (``x * (1 + w)``), ``linear`` (any other linear layer) or
        ``other`` (an unknown module type).
    bias : bool
        A bias vector (of a linear layer or a norm) rather than a weight.
    layer : int or None
        Index of the transformer block holding it (None outside the blocks).
    tied : bool
        An input embedding that is also the output layer (``tie_word_embeddings``).
    """

    name: str
    shape: tuple[int, ...]
    role: str
    bias: bool = False
    layer: int | None = None
    tied: bool = False


@dataclass(frozen=True)
class ModelDims:
    """The model-wide sizes a recipe needs.

    Each parameter below is also an attribute of the same name (a frozen dataclass).

    Parameters
    ----------
    hidden_size : int
        Width d of the residual stream.
    num_layers : int
        Number of transformer blocks L.
    init_std : float
        The configuration's ``initializer_range`` (0.02 when absent, as transformers).
    hf_scaled_residual : bool
        transformers' ``_init_weights`` of this architecture scales the residual output
        projections by 1/sqrt(2 L) (GPT-2).
    """

    hidden_size: int
    num_layers: int
    init_std: float = 0.02
    hf_scaled_residual: bool = False


# roles by the last components of a parameter's name, across transformers' families
_OUT_PROJ = re.compile(r"(?:^|\.)(?:o_proj|out_proj|c_proj|down_proj|w2|wo|fc2|dense_4h_to_h"
                       r"|(?:attn|attention|self_attention)\.dense)(?:\.weight)?$")
_GATE_PROJ = re.compile(r"(?:^|\.)(?:gate_proj|w1|gate_up_proj)(?:\.weight)?$")
_UP_PROJ = re.compile(r"(?:^|\.)(?:up_proj|w3)(?:\.weight)?$")
_LAYER = re.compile(r"\.(\d+)\.")


def param_info(name: str, shape: tuple[int, ...], role: str, tied: bool = False) -> ParamInfo:
    """A parameter of a module of ``role``, with linear and unknown ones refined by name.

    A 1-D parameter whose name ends in ``bias`` is a bias; the block index is the first
    ``.N.`` component of the name. A weight of role ``linear`` or ``other`` named like an
    output projection (``o_proj``, ``out_proj``, ``c_proj``, ``down_proj``, ``w2``, ``wo``,
    ``fc2``, ...) becomes ``attn_out`` (under an ``attn``/``attention`` module) or
    ``mlp_out``; like a gate (``gate_proj``, ``w1``) ``mlp_in``; like an up projection
    (``up_proj``, ``w3``) ``mlp_up``.

    Parameters
    ----------
    name : str
        The parameter's name (``model.layers.0.mlp.down_proj.weight``).
    shape : tuple of int
        Its shape.
    role : str
        The role of its module (one of :data:`ROLES`).
    tied : bool, default False
        An input embedding that is also the output layer.

    Returns
    -------
    ParamInfo
    """
    bias = len(shape) == 1 and name.endswith("bias")
    if role in ("linear", "other") and len(shape) >= 2:
        if _OUT_PROJ.search(name):
            role = "attn_out" if re.search(r"attn|attention", name) else "mlp_out"
        elif _GATE_PROJ.search(name):
            role = "mlp_in"
        elif _UP_PROJ.search(name):
            role = "mlp_up"
    m = _LAYER.search(name)
    return ParamInfo(name, tuple(shape), role, bias=bias,
                     layer=int(m.group(1)) if m else None, tied=tied)


Recipe = Callable[[ParamInfo, ModelDims], dict[str, Any]]


def _normal(std: float) -> dict[str, Any]:
    return {"init": "normal", "std": std}


def _unit(p: ParamInfo) -> dict[str, Any] | None:
    """Biases 0, norm scales at the identity (1, or 0 for zero-centred norms), else None."""
    if p.bias:
        return {"init": "zeros"}
    if p.role == "norm":
        return {"init": "ones"}
    if p.role == "norm_offset":
        return {"init": "zeros"}
    return None


def _residual_std(dims: ModelDims) -> float:
    return dims.init_std / math.sqrt(2 * dims.num_layers)


_RECIPE_DOC = """
    Parameters
    ----------
    p : ParamInfo
        The parameter.
    dims : ModelDims
        The model's sizes.

    Returns
    -------
    dict
        ``{"init": scheme, **params}``: biases 0 and norm weights at the identity (1, or
        0 for the zero-centred norms of role ``norm_offset``) in every recipe.
    """


def _recipe(weights: Recipe) -> Recipe:
    """A recipe from its rule for weights: biases and norms are the same in every recipe."""

    @functools.wraps(weights)
    def recipe(p: ParamInfo, dims: ModelDims) -> dict[str, Any]:
        return _unit(p) or weights(p, dims)

    recipe.__doc__ = (weights.__doc__ or "").rstrip() + "\n" + _RECIPE_DOC
    return recipe


@_recipe
def hf(p: ParamInfo, dims: ModelDims) -> dict[str, Any]:
    """The ``hf`` recipe: what transformers does to a freshly created model.

    Source: transformers 5.x, ``PreTrainedModel._init_weights`` (``modeling_utils.py``)
    and the families' overrides. Linear and embedding weights (and parameters of other
    module types, such as mixture-of-experts weights and routers)
    N(0, ``initializer_range``²), biases 0, norm weights 1 and biases 0. Deviations:
    GPT-2's ``GPT2PreTrainedModel._init_weights`` draws ``attn.c_proj`` and
    ``mlp.c_proj`` from N(0, (σ / sqrt(2 n_layer))²); Gemma's ``GemmaRMSNorm`` computes
    x·(1 + w), so ``GemmaPreTrainedModel._init_weights`` sets its weights to 0 (role
    ``norm_offset``). Not reproduced: transformers zeroes the embedding row of
    ``pad_token_id`` (a scheme sets a whole tensor).
    """
    if dims.hf_scaled_residual and p.role in ("attn_out", "mlp_out"):
        return _normal(_residual_std(dims))
    return _normal(dims.init_std)


@_recipe
def megatron(p: ParamInfo, dims: ModelDims) -> dict[str, Any]:
    """The ``megatron`` recipe: Megatron-LM's normal init with scaled output projections.

    Source: Megatron-LM, ``megatron/core/utils.py`` (``init_method_normal``,
    ``scaled_init_method_normal``) as ``TransformerConfig.__post_init__`` uses them:
    every weight N(0, σ²) with σ = ``init_method_std`` (here the configuration's
    ``initializer_range``), except the attention output (``linear_proj``) and MLP
    output (``linear_fc2``) projections, N(0, (σ / sqrt(2 L))²) (``output_layer_init_method``).
    Biases 0, norm weights at the identity.
    """
    if p.role in ("attn_out", "mlp_out"):
        return _normal(_residual_std(dims))
    return _normal(dims.init_std)


_TITAN_STD = 0.02  # torchtitan's fixed base std (it ignores initializer_range)


@_recipe
def torchtitan(p: ParamInfo, dims: ModelDims) -> dict[str, Any]:
    """The ``torchtitan`` recipe: torchtitan's Llama 3 initialization.

    Source: pytorch/torchtitan, ``torchtitan/models/llama3/model/model.py``:
    ``Transformer.init_weights``, ``TransformerBlock.__init__`` (``depth_init=True``),
    ``Attention.init_weights`` and ``FeedForward.init_weights``; the MoE router as
    ``TokenChoiceTopKRouter.init_weights`` (``torchtitan/models/moe.py``). With the block's
    ``init_std = 0.02 / sqrt(2 (layer + 1))``:

    - token embedding: ``nn.init.normal_``, N(0, 1);
    - query/key/value and gate (``w1``) projections: ``trunc_normal_(std=0.02)``;
    - attention output (``wo``), up (``w3``) and down (``w2``) projections and the router:
      ``trunc_normal_(std=init_std)``;
    - output layer: ``trunc_normal_`` with std d^-1/2 cut at ±3 std;
    - norms at the identity.

    ``trunc_normal_`` keeps torch's absolute default bounds [-2, 2] (winit's
    ``trunc_normal``) except for the output layer. A tied embedding is the output
    layer's matrix and gets its rule (``init_weights`` initializes the output last).
    Beyond torchtitan's Llama: position embeddings as the token embedding, other linear
    layers as the query projection, biases 0.
    """
    if p.role == "lm_head" or (p.role == "embed" and p.tied):
        std = dims.hidden_size ** -0.5
        return {"init": "trunc_normal", "std": std, "a": -3 * std, "b": 3 * std}
    if p.role in ("embed", "pos_embed"):
        return _normal(1.0)
    if p.role in ("attn_out", "mlp_up", "mlp_out", "router"):
        layer = p.layer if p.layer is not None else dims.num_layers - 1
        std = _TITAN_STD / math.sqrt(2 * (layer + 1))
    else:
        std = _TITAN_STD
    return {"init": "trunc_normal", "std": std, "a": -2.0, "b": 2.0}


@_recipe
def small_init(p: ParamInfo, dims: ModelDims) -> dict[str, Any]:
    """The ``small_init`` recipe: N(0, 2 / (5 d)) for every weight.

    Source: T. Q. Nguyen and J. Salazar (2019), "Transformers without Tears: Improving
    the Normalization of Self-Attention" (arXiv:1910.05895), as GPT-NeoX's
    ``small_init_init_method`` (``megatron/model/init_functions.py``):
    std = sqrt(2 / (5 d)) with d the hidden size, for embeddings, linear layers and the
    output layer alike. Biases 0, norm weights at the identity.
    """
    return _normal(math.sqrt(2.0 / (5.0 * dims.hidden_size)))


_RECIPES: dict[str, Recipe] = {
    "hf": hf,
    "megatron": megatron,
    "torchtitan": torchtitan,
    "small_init": small_init,
}


def available() -> list[str]:
    """The names of the recipes, sorted.

    Returns
    -------
    list of str
        ``["hf", "megatron", "small_init", "torchtitan"]``.
    """
    return sorted(_RECIPES)


def resolve_recipe(recipe: str | Recipe) -> Recipe:
    """The recipe function ``recipe`` names (a callable is returned as is).

    Parameters
    ----------
    recipe : str or callable
        A name from :func:`available`, or a function ``(ParamInfo, ModelDims) -> dict``.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        Unknown name (the message suggests close matches and lists the recipes).
    """
    if callable(recipe):
        return recipe
    if isinstance(recipe, str) and recipe in _RECIPES:
        return _RECIPES[recipe]
    close = difflib.get_close_matches(str(recipe).lower(), list(_RECIPES), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"Unknown recipe {recipe!r}.{hint} Available: {', '.join(available())}")


# --------------------------------------------------------------------------- user rules


@dataclass(frozen=True)
class Rule:
    """One user rule: tensors whose name ``pattern`` matches get ``entry``.

    :func:`load_rules` makes them; each parameter is also an attribute.

    Parameters
    ----------
    pattern : re.Pattern
        Searched in the tensor name (``re.search``: anchor with ``^`` / ``$``).
    entry : dict
        ``{"init": scheme, **params}``, optionally ``"dtype"``.
    """

    pattern: re.Pattern
    entry: dict[str, Any]


def _read_rules_file(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"rules file not found: {path}")
    try:
        if path.suffix.lower() == ".toml":
            with open(path, "rb") as f:
                return tomllib.load(f)
        if path.suffix.lower() == ".json":
            with open(path, encoding="utf-8") as f:
                return json.load(f)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: invalid {path.suffix[1:].upper()}: {exc}") from None
    raise SpecError(f"rules file must end in .json or .toml, got {path.name!r}")


def _parse_rule(i: int, raw: Any) -> Rule:
    if isinstance(raw, Rule):  # parsed already (load_rules' own output)
        return raw
    if not isinstance(raw, Mapping):
        raise SpecError(f"rule {i}: expected a table with 'match' and 'init', got {raw!r}")
    for key in ("match", "init"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise SpecError(f"rule {i}, field {key!r}: expected a non-empty string, "
                            f"got {raw.get(key)!r}")
    try:
        pattern = re.compile(raw["match"])
    except re.error as exc:
        raise SpecError(f"rule {i}, field 'match': invalid regex {raw['match']!r}: {exc}") from None
    entry = {k: v for k, v in raw.items() if k != "match"}
    params = {k: v for k, v in entry.items() if k not in ("init", "dtype")}
    try:
        get(entry["init"], **params)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"rule {i} (match {raw['match']!r}): {exc}") from None
    return Rule(pattern, entry)


def load_rules(rules: Any) -> list[Rule]:
    """Parse user rules: a list of ``{match, init, **params}`` tables, or a file of them.

    Parameters
    ----------
    rules : list of mapping, mapping, str or os.PathLike
        The rules in order, a mapping with the key ``"rules"`` holding them, or a
        ``.json`` / ``.toml`` file of either (TOML: ``[[rules]]`` tables). Each rule has
        ``match`` (a regular expression searched in the tensor name), ``init`` (a scheme
        name of :func:`winit.get`), the scheme's parameters and optionally ``dtype``.
        The first matching rule decides. :class:`Rule` items (this function's output)
        are kept as they are.

    Returns
    -------
    list of Rule

    Raises
    ------
    SpecError
        A rule without ``match`` or ``init``, an invalid regex, an unknown scheme or
        parameter (the message names the rule by its index).
    FileNotFoundError
        A rules path that does not exist.

    Examples
    --------
    >>> rules = winit.recipes.load_rules([
    ...     {"match": r"\\.(q|k)_proj\\.weight$", "init": "xavier_uniform"},
    ...     {"match": r"norm", "init": "ones", "dtype": "float32"}])
    """
    if isinstance(rules, (str, Path)) or hasattr(rules, "__fspath__"):
        rules = _read_rules_file(Path(rules))
    if isinstance(rules, Mapping):
        if "rules" not in rules:
            raise SpecError("rules: expected a list of rules or a table with the key 'rules'")
        rules = rules["rules"]
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence):
        raise SpecError(f"rules: expected a list of rules, got {type(rules).__name__}")
    return [_parse_rule(i, r) for i, r in enumerate(rules)]


# --------------------------------------------------------------------------- applying


def apply_recipe(params: Sequence[ParamInfo], dims: ModelDims, recipe: str | Recipe = "hf",
                 rules: Any = None) -> dict[str, dict[str, Any]]:
    """Spec entries for ``params``: the recipe's schemes, overridden by the user rules.

    Parameters
    ----------
    params : sequence of ParamInfo
        The model's parameters, in checkpoint order.
    dims : ModelDims
        The model's sizes.
    recipe : str or callable, default "hf"
        See :func:`resolve_recipe`.
    rules : list, mapping, path or None
        User rules (:func:`load_rules`); the first rule matching a name decides. A rule
        that matches no tensor gives a warning.

    Returns
    -------
    dict
        ``{name: {"shape": [...], "init": ..., **params}}`` in the order of ``params``.

    Raises
    ------
    ValueError
        Unknown recipe name.
    SpecError
        Invalid rules.
    """
    fn = resolve_recipe(recipe)
    parsed = load_rules(rules) if rules is not None else []
    used = [False] * len(parsed)
    out: dict[str, dict[str, Any]] = {}
    for p in params:
        entry = fn(p, dims)
        for i, rule in enumerate(parsed):
            if rule.pattern.search(p.name):
                entry, used[i] = dict(rule.entry), True
                break
        out[p.name] = {"shape": list(p.shape), **entry}
    for rule, hit in zip(parsed, used, strict=True):
        if not hit:
            warnings.warn(f"rule match={rule.pattern.pattern!r} matches no tensor",
                          UserWarning, stacklevel=2)
    return out
