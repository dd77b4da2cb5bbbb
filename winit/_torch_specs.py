"""The spec of a torch module: its parameters as recipes see them, and their schemes.

Part of :mod:`winit.torch` (import it from there): :func:`module_params` walks a module
the way :func:`winit.hf.hf_params` walks a transformers model built on the meta device
(the same code), and :func:`module_spec` applies a recipe and user rules to it, giving
the spec that :func:`winit.init_model` writes and :func:`winit.torch.init_` fills in place.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.nn.modules.conv import _ConvNd

from .recipes import ModelDims, ParamInfo, apply_recipe, available, load_rules, param_info

__all__ = ["module_params", "module_spec"]

Module = torch.nn.Module

_DEFAULT_STD = 0.02  # transformers' initializer_range default


def _embeddings(module: Module) -> tuple[Module | None, Module | None]:
    """The input and output embeddings a transformers-style model reports (or None)."""
    found = []
    for attr in ("get_input_embeddings", "get_output_embeddings"):
        get = getattr(module, attr, None)
        try:
            m = get() if callable(get) else None
        except (NotImplementedError, AttributeError):
            m = None
        found.append(m if isinstance(m, Module) else None)
    return found[0], found[1]


def _role(m: Module, emb_in: Module | None, emb_out: Module | None,
          norm_role: Callable[[Module], str] | None) -> str:
    cls = type(m).__name__
    if m is emb_out:
        return "lm_head"
    if isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)):
        return "embed" if emb_in is None or m is emb_in else "pos_embed"
    if "Norm" in cls:
        return norm_role(m) if norm_role is not None else "norm"
    if isinstance(m, (torch.nn.Linear, _ConvNd)) or cls == "Conv1D":
        return "linear"
    return "other"


def module_params(module: Module, *,
                  norm_role: Callable[[Module], str] | None = None) -> list[ParamInfo]:
    """The parameters of a torch module as recipes see them.

    In ``module.named_parameters()`` order, a shared parameter once under its first name
    (as ``save_pretrained`` and ``state_dict``-based checkpoints keep tied weights). The
    role comes from the module holding the parameter: the output embeddings
    (``get_output_embeddings()``, if the module has it) ``lm_head``; an ``Embedding``
    ``embed`` (``pos_embed`` when the module reports other input embeddings); a class
    with ``Norm`` in its name ``norm``; ``Linear``, ``Conv*`` and transformers' ``Conv1D``
    ``linear`` (refined by name, :func:`winit.recipes.param_info`); anything else
    ``other``.

    Parameters
    ----------
    module : torch.nn.Module
        The model (any device, including ``meta``: only names and shapes are read).
    norm_role : callable or None, keyword-only
        ``norm_role(norm_module) -> role`` for the norms (default: ``"norm"``).

    Returns
    -------
    list of winit.recipes.ParamInfo
    """
    emb_in, emb_out = _embeddings(module)
    w_in, w_out = getattr(emb_in, "weight", None), getattr(emb_out, "weight", None)
    tied = w_in is not None and w_out is w_in
    params, seen = [], set()
    for mname, m in module.named_modules():
        role = _role(m, emb_in, emb_out, norm_role)
        for pname, prm in m.named_parameters(recurse=False):
            if id(prm) in seen:
                continue
            seen.add(id(prm))
            name = f"{mname}.{pname}" if mname else pname
            params.append(param_info(name, tuple(prm.shape), role, tied and m is emb_in))
    return params


def _generic_dims(module: Module, params: list[ParamInfo]) -> ModelDims:
    """Hidden size: the input embedding's width, else the most common Linear input width
    (the largest on ties); layers: 1 + the largest block index in the names."""
    emb_in, _ = _embeddings(module)
    if emb_in is None:
        emb_in = next((m for m in module.modules() if isinstance(m, torch.nn.Embedding)), None)
    if emb_in is not None:
        hidden = int(emb_in.weight.shape[1])
    else:
        widths = Counter(m.in_features for m in module.modules()
                         if isinstance(m, torch.nn.Linear))
        hidden = max(widths, key=lambda w: (widths[w], w)) if widths else 1
    layers = 1 + max((p.layer for p in params if p.layer is not None), default=0)
    return ModelDims(max(1, hidden), layers, _DEFAULT_STD)


def _norm_role(model: Module, module: Module, cache: dict) -> str:
    """``norm_offset`` when the model's ``_init_weights`` sets this norm class's weight to 0
    (transformers' zero-centred norms, Gemma's x * (1 + w)), else ``norm``."""
    cls = type(module)
    if cls not in cache:
        cache[cls] = "norm"
        try:  # a CPU copy of the (small) norm, through the model's own _init_weights
            probe = copy.deepcopy(module).to_empty(device="cpu")
            model._init_weights(probe)
            w = getattr(probe, "weight", None)
            if w is not None and w.numel() and bool((w == 0).all()):
                cache[cls] = "norm_offset"
        except Exception:  # noqa: BLE001 - any failure leaves the generic rule
            pass
    return cache[cls]


def transformers_layout(model: Module, init_std: float) -> tuple[list[ParamInfo], ModelDims]:
    """The parameters and sizes of a transformers ``PreTrainedModel`` (any device).

    Norm roles through the model's own ``_init_weights``; sizes from its (text) config:
    ``hidden_size``, ``num_hidden_layers`` (else from the names), the given ``init_std``,
    and GPT-2's 1/sqrt(2 L) residual scaling, as transformers initializes them.
    """
    norms: dict = {}
    params = module_params(model, norm_role=lambda m: _norm_role(model, m, norms))
    config = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    emb_in, _ = _embeddings(model)
    hidden = getattr(text, "hidden_size", None) or (emb_in.weight.shape[1] if emb_in else 1)
    layers = getattr(text, "num_hidden_layers", None) or 1 + max(
        (p.layer for p in params if p.layer is not None), default=0)
    return params, ModelDims(int(hidden), int(layers), init_std,
                             hf_scaled_residual=config.model_type == "gpt2")


def _is_transformers(module: Module) -> bool:
    config = getattr(module, "config", None)
    return isinstance(getattr(config, "model_type", None), str) and \
        callable(getattr(module, "_init_weights", None))


def _layout(module: Module) -> tuple[list[ParamInfo], ModelDims]:
    if _is_transformers(module):
        std = getattr(module.config, "initializer_range", None)
        ok = isinstance(std, (int, float)) and not isinstance(std, bool) and std >= 0
        return transformers_layout(module, float(std or _DEFAULT_STD) if ok else _DEFAULT_STD)
    params = module_params(module)
    return params, _generic_dims(module, params)


def _recipe_and_rules(recipe_or_rules: Any, rules: Any) -> tuple[Any, Any]:
    x = recipe_or_rules
    if x is None:
        return "hf", rules
    if callable(x) or (isinstance(x, str) and x in available()):
        return x, rules
    if rules is not None:
        raise TypeError("recipe_or_rules: user rules are given twice (positionally and as "
                        "rules=); pass a recipe name or callable first")
    if isinstance(x, (str, Path)) and not Path(x).exists():
        raise ValueError(f"recipe_or_rules: {str(x)!r} is neither a recipe "
                         f"({', '.join(available())}) nor a rules file")
    return "hf", x


def module_spec(module: Module, recipe_or_rules: Any = None, *,
                rules: Any = None) -> dict[str, dict[str, Any]]:
    """The spec of a torch module: each parameter's name, shape, dtype and scheme.

    ``winit.init_model(module_spec(m, ...), path, seed=s)`` writes the checkpoint that
    :func:`winit.torch.init_` (``init_(m, ..., seed=s)``) fills into ``m`` in place:
    same names, same bits.

    Parameters
    ----------
    module : torch.nn.Module
        The model (only names, shapes and dtypes are read).
    recipe_or_rules : str, callable, list, mapping, os.PathLike or None
        A recipe (a name of :func:`winit.recipes.available` or a function
        ``(ParamInfo, ModelDims) -> dict``), or user rules for the default ``hf`` recipe
        (a list of ``{match, init, **params}`` tables, or a ``.json``/``.toml`` file of
        them, :func:`winit.recipes.load_rules`). None: the ``hf`` recipe.
    rules : list, mapping, os.PathLike or None, keyword-only
        User rules on top of a recipe given first.

    Returns
    -------
    dict
        ``{name: {"shape": [...], "dtype": ..., "init": ..., **params}}`` in
        ``named_parameters()`` order (a dtype a rule gives is kept; else the
        parameter's). The sizes the recipes use (:class:`winit.recipes.ModelDims`) come
        from the config of a transformers model; otherwise hidden size = the input
        embedding's width (else the most common ``Linear`` input width), layers = 1 +
        the largest ``.N.`` block index in the names, ``init_std`` = 0.02.

    Raises
    ------
    ValueError
        An unknown recipe name or missing rules file.
    winit.SpecError
        Invalid rules (naming the rule).

    Warns
    -----
    UserWarning
        Parameters of module types no recipe knows (role ``other``) that no rule matches
        got the recipe's guess (the message names the first), as in
        :func:`winit.spec_from_hf_config`.
    """
    recipe, rules = _recipe_and_rules(recipe_or_rules, rules)
    parsed = load_rules(rules) if rules is not None else []
    params, dims = _layout(module)
    spec = apply_recipe(params, dims, recipe, parsed)  # rules read and checked once
    dtypes = {name: str(p.dtype).removeprefix("torch.") for name, p in module.named_parameters()}
    for name, entry in spec.items():
        entry.setdefault("dtype", dtypes[name])
    guessed = [p.name for p in params if p.role == "other" and not p.bias
               and not any(r.pattern.search(p.name) for r in parsed)]
    if guessed:
        warnings.warn(f"{len(guessed)} parameters of module types winit does not know got the "
                      f"recipe's guess (first: {guessed[0]!r}); give them a rule",
                      UserWarning, stacklevel=2)
    return spec
