"""torch models: torch's default initialization (seeded), LSUV and diagnostics with hooks.

``import winit.torch`` needs torch (``pip install "winit[torch]"``); ``import winit`` does
not import it. Everything works on CPU tensors, in place, through numpy views of their
memory (:func:`as_numpy`: float16, bfloat16, float32, float64): :func:`init_` (every
parameter by name, with a recipe and user rules: the bits :func:`winit.init_model` writes
for :func:`module_spec`), :func:`reset_parameters_` (torch's default distributions per
module type, seeded, thread-invariant), :func:`lsuv_` (winit's LSUV loop on the
Linear/Conv layers, found with hooks) and :func:`diagnose` (:func:`winit.diagnose`'s table
and histograms, with hooks and autograd).

Parameter ``name`` (its ``state_dict`` name) is filled from the stream
``derive_key(resolve_key(seed), name)``, the one :func:`winit.init_model` uses for ``name``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from functools import partial

import ml_dtypes
import numpy as np

try:
    import torch
except ImportError as exc:
    raise ImportError(f"winit.torch needs torch ({exc}): pip install 'winit[torch]'") from exc
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd
from torch.nn.parameter import UninitializedParameter

from ._common import Key, SeedLike, derive_key, resolve_key, resolve_threads
from ._torch_hooks import LeafRecorder, eval_mode, tuning_steps
from ._torch_specs import module_params, module_spec
from .diagnose import (
    Diagnosis,
    LayerDiagnosis,
    check_bins,
    forward_stats,
    gradient_stats,
    upstream_gradient,
    weight_gradient_std,
)
from .fans import compute_fans
from .lsuv import LSUVReport, LSUVSettings, orthogonal_preinit, tune_layer
from .models import tensor_sources
from .sampling import constant_, normal_, uniform_
from .schemes import kaiming_uniform_, xavier_normal_, xavier_uniform_

__all__ = ["as_numpy", "diagnose", "init_", "lsuv_", "module_params", "module_spec",
           "reset_parameters_"]

Module = torch.nn.Module

_NUMPY_DTYPES = {torch.float16: np.float16, torch.float32: np.float32,
                 torch.float64: np.float64}


# --------------------------------------------------------------------------- numpy views


def as_numpy(tensor: torch.Tensor, name: str = "tensor") -> np.ndarray:
    """A numpy view of a CPU float tensor's memory: writing to it writes the tensor.

    ``tensor.detach().numpy()``, except for bfloat16, which numpy lacks:
    ``tensor.detach().view(torch.int16).numpy().view(ml_dtypes.bfloat16)``, which every
    winit function accepts. Any strides work (the view has the tensor's layout).

    Parameters
    ----------
    tensor : torch.Tensor
        A CPU tensor (detached first, so ``requires_grad`` is no obstacle).
    name : str, default "tensor"
        What to call it in error messages.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError
        If ``tensor`` is not a tensor or has another dtype.
    ValueError
        If it is not on the CPU, or is an uninitialized parameter of a lazy module.

    Examples
    --------
    >>> import torch, winit, winit.torch
    >>> w = torch.empty(64, 32, dtype=torch.bfloat16)
    >>> _ = winit.normal_(winit.torch.as_numpy(w), std=0.02, seed=0)
    """
    if isinstance(tensor, UninitializedParameter):
        raise ValueError(f"{name} is an uninitialized parameter of a lazy module: run one "
                         "forward pass first")
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    t = tensor.detach()
    if t.device.type != "cpu":
        raise ValueError(
            f"{name} is on device {t.device}: winit works on CPU tensors through numpy views; "
            "initialize the model on the CPU, then move it (model.to(device))")
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    if t.dtype not in _NUMPY_DTYPES:
        raise TypeError(f"{name} has dtype {t.dtype}: winit works on float16, bfloat16, "
                        "float32 and float64 tensors")
    return t.numpy()


def _from_numpy(a: np.ndarray) -> torch.Tensor:
    """A CPU tensor sharing ``a``'s memory (bfloat16 through an int16 view)."""
    a = np.asarray(a)
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def _input(x, func: str) -> torch.Tensor:
    """The model input as a CPU tensor (numpy arrays are wrapped, not copied)."""
    t = x if isinstance(x, torch.Tensor) else _from_numpy(x)
    if t.device.type != "cpu":
        raise ValueError(f"{func}: x is on device {t.device}; winit works on CPU tensors")
    return t


def _check_params(model: Module, func: str) -> None:
    """Every parameter a CPU float tensor (errors as :func:`as_numpy`'s, naming it)."""
    for name, p in model.named_parameters():
        as_numpy(p, f"{func}: parameter {name!r}")


def _layer_name(path: str, module: Module) -> str:
    """``"<module path>:<class name>"``, as :func:`winit.nn.iter_layers` names layers."""
    return f"{path or '0'}:{type(module).__name__}"


# --------------------------------------------------------------------------- default rules

#: Fills a numpy view in place: ``fill(array, seed=Key(...), threads=n)``.
Filler = Callable[..., object]

_ZEROS = partial(constant_, val=0.0)
_ONES = partial(constant_, val=1.0)
# torch: "Setting a=sqrt(5) in kaiming_uniform is the same as U(-1/sqrt(fan_in), 1/sqrt(fan_in))"
_KAIMING_SQRT5 = partial(kaiming_uniform_, a=math.sqrt(5))


def _uniform(n: int) -> Filler:
    """U(-1/sqrt(n), 1/sqrt(n)); zeros for n = 0 (torch's bound is then 0)."""
    return partial(uniform_, a=-1 / math.sqrt(n), b=1 / math.sqrt(n)) if n > 0 else _ZEROS


def _normal_zero_row(tensor: np.ndarray, *, row: int, seed, threads) -> np.ndarray:
    """N(0, 1), then row ``row`` (an embedding's padding_idx) set to zero."""
    normal_(tensor, seed=seed, threads=threads)
    tensor[row] = 0
    return tensor


def _linear_fillers(m: Module) -> dict[str, Filler]:
    # Linear and Conv/ConvTranspose: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))
    fan_in = compute_fans(tuple(m.weight.shape))[0]
    return {"weight": _KAIMING_SQRT5, "bias": _uniform(fan_in)}


def _bilinear_fillers(m: Module) -> dict[str, Filler]:
    u = _uniform(m.weight.shape[1])
    return {"weight": u, "bias": u}


def _embedding_fillers(m: Module) -> dict[str, Filler]:
    if m.padding_idx is None:
        return {"weight": normal_}
    return {"weight": partial(_normal_zero_row, row=m.padding_idx)}


def _affine_fillers(m: Module) -> dict[str, Filler]:
    return {"weight": _ONES, "bias": _ZEROS}


def _mha_fillers(m: Module) -> dict[str, Filler]:
    fillers = {name: xavier_uniform_ for name in
               ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")}
    fillers.update(bias_k=xavier_normal_, bias_v=xavier_normal_)
    if m.in_proj_bias is not None:
        fillers.update({"in_proj_bias": _ZEROS, "out_proj.bias": _ZEROS})
    return fillers


def _rnn_fillers(m: Module) -> dict[str, Filler]:
    u = _uniform(m.hidden_size)
    return {name: u for name, _ in m.named_parameters(recurse=False)}


def _prelu_fillers(m: Module) -> dict[str, Filler]:
    return {"weight": partial(constant_, val=float(m.init))}


def _transformer_fillers(m: Module) -> dict[str, Filler]:
    # nn.Transformer re-initializes every parameter with more than one dimension
    return {name: xavier_uniform_ for name, p in m.named_parameters() if p.dim() > 1}


#: fillers(module): parameter names relative to the module (its own, or a submodule's that
#: torch's method overrides, such as "out_proj.bias") -> fillers. Keyed by the class whose
#: reset_parameters (or _reset_parameters) torch runs.
_RULES: dict[type, Callable[[Module], dict[str, Filler]]] = {
    torch.nn.Linear: _linear_fillers, _ConvNd: _linear_fillers,
    torch.nn.Bilinear: _bilinear_fillers,
    torch.nn.Embedding: _embedding_fillers, torch.nn.EmbeddingBag: _embedding_fillers,
    torch.nn.LayerNorm: _affine_fillers, torch.nn.GroupNorm: _affine_fillers,
    _NormBase: _affine_fillers,
    torch.nn.MultiheadAttention: _mha_fillers,
    torch.nn.RNNBase: _rnn_fillers, torch.nn.RNNCellBase: _rnn_fillers,
    torch.nn.PReLU: _prelu_fillers,
    torch.nn.Transformer: _transformer_fillers,
}
if hasattr(torch.nn, "RMSNorm"):  # torch >= 2.4
    _RULES[torch.nn.RMSNorm] = _affine_fillers
#: Buffers the same methods reset.
_BUFFER_RESETS = {_NormBase: _NormBase.reset_running_stats}
_RULE_NAMES = ("Linear, Bilinear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding, "
               "EmbeddingBag, LayerNorm, GroupNorm, RMSNorm, BatchNorm*, InstanceNorm*, "
               "MultiheadAttention, RNN, LSTM, GRU and their cells, PReLU, Transformer")


def _own_reset(cls: type) -> bool:
    return "reset_parameters" in vars(cls) or "_reset_parameters" in vars(cls)


def _rule_class(module: Module) -> type | None:
    """The class of ``_RULES`` whose reset_parameters the module runs, or None.

    A subclass that overrides ``reset_parameters`` has no rule (we cannot know its law).
    """
    for cls in type(module).__mro__:
        if cls in _RULES:
            return cls
        if _own_reset(cls):
            return None
    return None


def _submodule_tensor(module: Module, name: str):
    obj = module
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, torch.Tensor) else None


def _param_key(root: int, name: str) -> Key:
    """The stream of the parameter ``name``: the one :func:`winit.init_model` uses."""
    return Key(derive_key(root, name))


def _no_rule_error(module: Module, missing: list[str]) -> ValueError:
    owners: dict[str, list[str]] = {}
    for name in missing:
        owner = module.get_submodule(name.rpartition(".")[0])
        overrides = _rule_class(owner) is None and any(map(_own_reset, type(owner).__mro__))
        label = type(owner).__name__ + (" (it overrides reset_parameters)" if overrides else "")
        owners.setdefault(label, []).append(repr(name))
    what = "; ".join(f"{label}: {', '.join(names)}" for label, names in owners.items())
    return ValueError(
        f"reset_parameters_: no default initialization rule for {what}. Rules follow torch's "
        f"reset_parameters of {_RULE_NAMES}")


def _plan(module: Module) -> tuple[list[tuple[str, np.ndarray, Filler]], list[Callable]]:
    """``(name, numpy view, filler)`` per parameter, and buffer resets; raises before any fill.

    Parents come first and the first rule to claim a parameter wins: a parent's override
    (MultiheadAttention's ``out_proj.bias``) beats the child's rule, as in torch.
    """
    params = list(module.named_parameters())  # a shared parameter once, by its first name
    arrays = {id(p): as_numpy(p, f"parameter {name!r}") for name, p in params}
    fillers: dict[int, Filler] = {}
    resets = []
    for _, m in module.named_modules():
        cls = _rule_class(m)
        if cls is None:
            continue
        for rel, fill in _RULES[cls](m).items():
            t = _submodule_tensor(m, rel)
            if t is not None:
                fillers.setdefault(id(t), fill)
        if cls in _BUFFER_RESETS:
            resets.append(partial(_BUFFER_RESETS[cls], m))
    missing = [name for name, p in params if id(p) not in fillers]
    if missing:
        raise _no_rule_error(module, missing)
    return [(name, arrays[id(p)], fillers[id(p)]) for name, p in params], resets


def reset_parameters_(module: Module, *, seed: SeedLike = None,
                      threads: int | None = None) -> Module:
    r"""torch's default initialization of every parameter of ``module``, seeded, in place.

    Each submodule's parameters get the distributions its class's ``reset_parameters``
    (run by its constructor) gives them, drawn from winit's streams:

    - Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d: weight ``kaiming_uniform_(a=sqrt(5))``,
      i.e. :math:`\mathcal{U}(\pm 1/\sqrt{\text{fan\_in}})`, and bias the same uniform law;
    - Bilinear: weight and bias :math:`\mathcal{U}(\pm 1/\sqrt{\text{in1\_features}})`;
    - Embedding, EmbeddingBag: :math:`\mathcal{N}(0, 1)`, the ``padding_idx`` row zero;
    - LayerNorm, GroupNorm, RMSNorm, BatchNorm*, InstanceNorm*: weight 1, bias 0, and
      running statistics reset (mean 0, var 1, count 0);
    - MultiheadAttention: in_proj (or q/k/v_proj) weights ``xavier_uniform_``, in_proj_bias
      and out_proj.bias 0, bias_k and bias_v ``xavier_normal_`` (out_proj.weight as Linear);
    - RNN, LSTM, GRU and their cells: every parameter
      :math:`\mathcal{U}(\pm 1/\sqrt{\text{hidden\_size}})`;
    - PReLU: its ``init`` value; Transformer: ``xavier_uniform_`` on every parameter with
      more than one dimension (over its layers' own rules).

    The class is found along the module's MRO, so a subclass that keeps torch's
    ``reset_parameters`` (e.g. MultiheadAttention's ``out_proj``) has its parent's rule
    and one that overrides it has none.

    Parameters
    ----------
    module : torch.nn.Module
        Modified in place; every parameter must be a CPU float16, bfloat16, float32 or
        float64 tensor.
    seed : int, SeedSequence, Generator or None, keyword-only
        Model seed. Parameter ``name`` (of ``module.state_dict()``) is filled from the
        stream ``derive_key(resolve_key(seed), name)``, as :func:`winit.init_model` fills
        tensor ``name``. A parameter shared between modules (tied weights) is filled once,
        under its first name, by the first module with a rule for it.
    threads : int or None, keyword-only
        Threads of the sampling kernels (None: all usable cores); the values do not depend
        on it.

    Returns
    -------
    torch.nn.Module
        ``module``.

    Raises
    ------
    ValueError
        If a parameter is not on the CPU, is uninitialized (lazy), or belongs to a module
        with no rule (the message names its class and the parameters). Nothing is modified.
    TypeError
        If a parameter has an unsupported dtype. Nothing is modified.

    Examples
    --------
    >>> import torch, winit.torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(),
    ...                             torch.nn.Linear(32, 4))
    >>> _ = winit.torch.reset_parameters_(model, seed=0)
    """
    nt = resolve_threads(threads)
    planned, resets = _plan(module)
    root = resolve_key(seed)
    with torch.no_grad():
        for name, array, fill in planned:
            if array.size:
                fill(array, seed=_param_key(root, name), threads=nt)
        for reset in resets:
            reset()
    return module


# --------------------------------------------------------------------------- recipes and rules


def init_(module: Module, recipe_or_rules=None, *, rules=None, seed: SeedLike = None,
          threads: int | None = None) -> Module:
    r"""Initialize every parameter of a torch module by name, with a recipe and user rules.

    The in-memory twin of :func:`winit.init_model`: the module's spec
    (:func:`module_spec`: each parameter's name, shape, dtype and the scheme the recipe
    or the first matching rule gives it) is planned and checked as ``init_model`` plans
    it, then each parameter is filled in place from the stream
    ``derive_key(resolve_key(seed), name)``. So ``init_(m, r, seed=s)`` gives ``m``
    exactly the tensors ``winit.init_model(module_spec(m, r), path, seed=s)`` writes
    (and ``winit init spec.json`` with that spec saved as JSON).

    Parameters
    ----------
    module : torch.nn.Module
        Modified in place; every parameter a CPU float16, bfloat16, float32 or float64
        tensor. Buffers (BatchNorm's running statistics) are left as they are.
    recipe_or_rules : str, callable, list, mapping, os.PathLike or None
        A recipe (``"hf"``, ``"megatron"``, ``"torchtitan"``, ``"small_init"`` or a
        function ``(ParamInfo, ModelDims) -> dict``), or user rules on the ``hf`` recipe:
        ``[{"match": regex, "init": scheme, **params}, ...]`` or a ``.json``/``.toml``
        file of them (the first rule whose regex is found in a name decides). None: the
        ``hf`` recipe (weights N(0, 0.02²), biases 0, norm weights 1).
    rules : list, mapping, os.PathLike or None, keyword-only
        User rules on top of a recipe given first.
    seed : int, SeedSequence, Generator or None, keyword-only
        Model seed, as :func:`winit.init_model`'s.
    threads : int or None, keyword-only
        Sampling threads (None: all usable cores); the values do not depend on it.

    Returns
    -------
    torch.nn.Module
        ``module``.

    Raises
    ------
    ValueError
        A parameter not on the CPU, a rule giving a parameter a dtype other than its
        own, an unknown recipe. Nothing is modified.
    TypeError
        A parameter of an unsupported dtype. Nothing is modified.
    winit.SpecError
        An invalid rule, or a scheme that does not fit a parameter (named), found before
        any parameter is modified.

    Examples
    --------
    >>> import torch, winit.torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(),
    ...                             torch.nn.Linear(32, 4))
    >>> _ = winit.torch.init_(model, [{"match": r"weight$", "init": "kaiming_normal",
    ...                                "nonlinearity": "relu"}], seed=0)
    """
    spec = module_spec(module, recipe_or_rules, rules=rules)
    named = dict(module.named_parameters())
    arrays = {name: as_numpy(named[name], f"init_: parameter {name!r}") for name in spec}
    sources = tensor_sources(spec, seed=seed)  # every check, before any parameter is written
    for src in sources:
        if src.dtype != arrays[src.name].dtype:
            raise ValueError(f"init_: parameter {src.name!r} is {named[src.name].dtype}, but a "
                             f"rule gives it dtype {src.dtype}")
    nt = resolve_threads(threads)
    with torch.no_grad():
        for src in sources:
            a = arrays[src.name]
            if a.size == 0:
                continue
            if src.fill is not None and a.flags.c_contiguous:
                src.fill(a.reshape(-1), 0, nt)
            else:
                a[...] = src.make(nt)
    return module


# --------------------------------------------------------------------------- LSUV

_LSUV_TYPES = (torch.nn.Linear, _ConvNd)


def lsuv_(model: Module, x, *, target_var: float = 1.0, tol: float = 0.1, max_iter: int = 10,
          orthogonal: bool = True, center: bool = False, seed: SeedLike = None) -> LSUVReport:
    r"""Layer-sequential unit-variance initialization of a torch model, in place.

    :func:`winit.lsuv_`'s procedure (Mishkin & Matas, 2016; the same loop,
    :func:`winit.lsuv.tune_layer`) on the model's ``Linear``, ``Conv1d/2d/3d`` and
    ``ConvTranspose1d/2d/3d`` layers, in the order the forward pass calls them: each
    weight is pre-initialized orthogonally, then rescaled by
    :math:`\sqrt{v^\ast / \mathrm{Var}(B_L)}` until the variance of the layer's own
    output :math:`B_L` is within ``tol`` of ``target_var`` (or ``max_iter`` rescalings).

    Parameters
    ----------
    model : torch.nn.Module
        Any model on the CPU; its layers' weights (and biases, with ``center``) are
        modified in place through numpy views.
    x : torch.Tensor or numpy.ndarray
        One batch of representative input: ``model(x)``.
    target_var, tol, max_iter, orthogonal, center
        As :func:`winit.lsuv_`; a layer still outside the tolerance after ``max_iter``
        rescalings gets a ``RuntimeWarning`` naming it.
    seed : int, SeedSequence, Generator or None, keyword-only
        Seed of the orthogonal pre-initialization: layer ``name`` uses the stream
        ``derive_key(resolve_key(seed), "lsuv", name)``, as :func:`winit.lsuv_` does, so a
        torch model and the equivalent :mod:`winit.nn` network start from the same weights.

    Returns
    -------
    LSUVReport
        One row per tuned layer, named ``"<module path>:<class name>"`` (``"0:Linear"``,
        ``"features.3:Conv2d"``).

    Raises
    ------
    ValueError
        If the model has no Linear/Conv layer, a parameter or ``x`` is not on the CPU, a
        layer's output has NaN/Inf, zero variance or ignores the weight (the message names
        the layer), or for bad settings.

    Notes
    -----
    The model runs in evaluation mode (each module's mode is restored afterwards), with
    the MultiheadAttention fast path (which skips submodule calls) off, under
    ``torch.no_grad()``. A forward pre-hook captures a layer's input and stops the pass;
    each iteration re-runs only that layer. An ``nn.Sequential`` is walked child by child
    (each runs once); other modules are re-run up to the next layer, the layers already
    tuned answering from their recorded outputs (kept until the end), so only the
    operations between layers run again. (The ``lsuv`` package re-runs the whole model at
    every iteration of every layer.) Layers the forward pass does not call
    (MultiheadAttention's ``out_proj``) are left alone; a layer called several times is
    tuned on its first call.

    Examples
    --------
    >>> import torch, winit.torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(),
    ...                             torch.nn.Linear(64, 10))
    >>> report = winit.torch.lsuv_(model, torch.randn(256, 32), seed=0)
    >>> report.converged
    True
    """
    settings = LSUVSettings(target_var, tol, max_iter, center)
    x = _input(x, "lsuv_")
    _check_params(model, "lsuv_")
    layers = {m: _layer_name(path, m) for path, m in model.named_modules()
              if isinstance(m, _LSUV_TYPES)}
    if not layers:
        raise ValueError(
            f"lsuv_: the model ({type(model).__name__}) has no Linear, Conv1d/2d/3d or "
            "ConvTranspose1d/2d/3d layer to tune")
    key = resolve_key(seed) if orthogonal else None
    rows = []
    with eval_mode(model), contextlib.closing(tuning_steps(model, (x,), {}, layers)) as steps:
        for step in steps:
            layer = step.layer
            weight = as_numpy(layer.weight, f"{step.name} weight")
            bias = None if layer.bias is None else as_numpy(layer.bias, f"{step.name} bias")
            if key is not None:
                orthogonal_preinit(weight, step.name, key)
            row, _ = tune_layer(step.name, weight, bias, step, settings,
                                as_array=partial(as_numpy, name=f"{step.name} output"))
            rows.append(row)
    return settings.report(rows)


# --------------------------------------------------------------------------- diagnostics


def _measure(names: dict, bins: int):
    """The ``LeafRecorder`` callback: a layer call's forward fields and the layer's weight."""

    def measure(module: Module, n: int, y: torch.Tensor) -> tuple[dict, torch.Tensor | None]:
        path, _, cls = names[module].rpartition(":")
        name = f"{path}:{cls}" if n == 1 else f"{path}[{n}]:{cls}"
        w = getattr(module, "weight", None)
        w = w if isinstance(w, torch.Tensor) else None
        return forward_stats(name, as_numpy(y, f"output of {name}"), bins, w is not None), w

    return measure


def _gradients(out: torch.Tensor, calls: list, seed, grad_output, bins: int) -> None:
    """Add the gradient fields to each ``(row, output, weight)``: backpropagate a gradient."""
    if not out.requires_grad:
        raise ValueError("diagnose: the model's output does not depend on anything that "
                         "requires grad; pass backward=False")
    if isinstance(grad_output, torch.Tensor):
        grad_output = as_numpy(grad_output, "grad_output")
    g = upstream_gradient(tuple(out.shape), as_numpy(out.detach()).dtype, seed, grad_output)
    weights = {id(w): w for _, _, w in calls if w is not None and w.requires_grad}
    wrt = [y for _, y, _ in calls if y.requires_grad] + list(weights.values())
    grads = torch.autograd.grad(out, wrt, grad_outputs=_from_numpy(g).to(out.dtype),
                                allow_unused=True)
    found = dict(zip(map(id, wrt), grads, strict=True))
    for row, y, w in calls:
        if found.get(id(y)) is not None:
            row.update(gradient_stats(as_numpy(found[id(y)]), bins))
        if w is not None and found.get(id(w)) is not None:
            row["grad_weight_std"] = weight_gradient_std(as_numpy(found[id(w)]))


def diagnose(model: Module, x, *, backward: bool = True, seed: SeedLike = None,
             grad_output=None, bins: int = 50) -> Diagnosis:
    """Forward (and backward) statistics of every layer of a torch model on the batch ``x``.

    :func:`winit.diagnose` for torch models: the same :class:`winit.Diagnosis` (table,
    markdown, histogram plot), measured with forward hooks and ``torch.autograd.grad``.

    Parameters
    ----------
    model : torch.nn.Module
        A model on the CPU, run in its current mode. Its layers are the calls of modules
        that call no other module (leaves, and modules computing functionally such as
        MultiheadAttention or LSTM), in call order, named ``"<module path>:<class name>"``
        (a second call: ``"<path>[2]:<class name>"``); a tuple output is measured by its
        first element, other non-tensor outputs are skipped.
    x : torch.Tensor or numpy.ndarray
        A batch of input data: ``model(x)``.
    backward, seed, grad_output, bins
        As :func:`winit.diagnose` (the same seeded upstream gradient); ``grad_output``
        may be a tensor.

    Returns
    -------
    Diagnosis
        One row per layer call, as :func:`winit.diagnose`; ``grad_weight_std`` is that of
        the layer's ``weight``, if it has one.

    Raises
    ------
    ValueError
        If a parameter or ``x`` is not on the CPU, no layer has a float output,
        ``grad_output`` has the wrong shape, or nothing the output depends on requires grad.
    TypeError
        If ``backward`` and the model's output is not a tensor.

    Notes
    -----
    Buffers the pass updates (BatchNorm running statistics in training mode) are
    restored afterwards and no ``.grad`` is touched (``torch.autograd.grad``). A float
    input gets ``requires_grad`` (on a detached alias) so that every layer has a gradient.

    Examples
    --------
    >>> import torch, winit.torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 200), torch.nn.Tanh(),
    ...                             torch.nn.Linear(200, 2))
    >>> d = winit.torch.diagnose(model, torch.ones(100, 2), seed=0)
    >>> d[1].saturated is not None and d[0].saturated is None
    True
    """
    bins = check_bins(bins)
    x = _input(x, "diagnose")
    _check_params(model, "diagnose")
    if backward and x.is_floating_point():
        x = x.detach().requires_grad_(True)
    saved = [(b, b.clone()) for b in model.buffers()]
    names = {m: _layer_name(path, m) for path, m in model.named_modules()}
    recorder = LeafRecorder(model, _measure(names, bins), protect=backward)
    try:
        with torch.set_grad_enabled(backward):
            out = model(x)
        calls = [(row, y, w) for (row, w), y in recorder.records]
        if not calls:
            raise ValueError("diagnose: no module of the model returned a float tensor")
        if backward:
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"diagnose: the model returned a {type(out).__name__}; "
                                "backward needs a tensor output (pass backward=False)")
            _gradients(out, calls, seed, grad_output, bins)
    finally:
        recorder.remove()
        with torch.no_grad():  # after the backward pass, which may need the old versions
            for b, value in saved:
                b.copy_(value)
    return Diagnosis([LayerDiagnosis(**row) for row, _, _ in calls], backward)
