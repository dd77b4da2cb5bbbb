"""Forward-pass control for :mod:`winit.torch`: layer-by-layer walks and call recording.

Pure torch (no numpy, no winit): :func:`tuning_steps` walks a model up to each layer
to tune and hands over its input (LSUV), :class:`LeafRecorder` records the outputs of
the calls that make up a forward pass (diagnostics), :func:`eval_mode` sets the model
up for deterministic passes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

__all__ = ["LeafRecorder", "Step", "eval_mode", "tuning_steps"]

Module = torch.nn.Module


class _Stop(BaseException):
    """Ends a forward pass from a pre-hook (a model's ``except Exception`` lets it through)."""


@dataclass
class Step:
    """A layer to tune and its input: calling it runs the layer on that input.

    Attributes
    ----------
    name : str
        The layer's name (the value of ``todo`` in :func:`tuning_steps`).
    layer : torch.nn.Module
        The layer.
    args, kwargs
        Its input, as its first call in the forward pass got it.
    output
        The output of the last call.
    """

    name: str
    layer: Module
    args: tuple
    kwargs: dict
    output: object = None

    def __call__(self):
        self.output = self.layer(*self.args, **self.kwargs)
        return self.output


class _Replay:
    """Stands in for a tuned layer's ``forward``: its outputs of earlier passes, by call.

    Its input is the same in every later pass (all before it is tuned; the passes are
    deterministic), so only the operations between layers run again. Outputs are handed
    out as clones, safe from in-place operations after the layer.
    """

    def __init__(self, step: Step):
        self.layer, self.outputs, self.calls = step.layer, [step.output], 0
        self.own = vars(step.layer).get("forward")  # an instance-level forward, if any
        self.forward = step.layer.forward
        step.layer.forward = self

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls > len(self.outputs):
            self.outputs.append(self.forward(*args, **kwargs))
        return self.outputs[self.calls - 1].clone()

    def remove(self) -> None:
        del self.layer.forward
        if self.own is not None:
            self.layer.forward = self.own


def _contains(module: Module, todo: dict) -> bool:
    return any(m in todo for m in module.modules())


def _stopped_passes(module: Module, args: tuple, kwargs: dict, todo: dict, need_output: bool):
    """Run ``module`` up to the first call of a layer of ``todo``, where a pre-hook captures
    its input and stops the pass; yield its step; repeat. Return the output of a pass that
    meets no layer to tune (None if not ``need_output``)."""
    found, replays = [], []

    def stop(layer, a, kw):
        found.append(Step(todo.pop(layer), layer, a, kw))
        raise _Stop

    try:
        while True:
            inside = [m for m in module.modules() if m in todo]
            if not inside and not need_output:
                return None
            for r in replays:
                r.calls = 0
            handles = [m.register_forward_pre_hook(stop, with_kwargs=True) for m in inside]
            try:
                return module(*args, **kwargs)
            except _Stop:
                pass
            finally:
                for h in handles:
                    h.remove()
            yield found[-1]
            replays.append(_Replay(found[-1]))
    finally:
        for r in replays:
            r.remove()


def tuning_steps(module: Module, args: tuple, kwargs: dict, todo: dict,
                 need_output: bool = False) -> Iterator[Step]:
    """Yield a :class:`Step` per layer of ``todo`` that ``module`` calls, in call order.

    A step comes once the layers before it are tuned (by the consumer, through the
    step's calls); the walk resumes from the step's last output. The generator returns
    the module's output (None without ``need_output``: nothing after the last layer
    runs). Close it (``contextlib.closing``) if you stop early: that restores the layers.

    Parameters
    ----------
    module : torch.nn.Module
        Run as ``module(*args, **kwargs)``.
    args, kwargs
        Its input.
    todo : dict
        ``{layer module: name}``; the layers are removed as they are yielded (a layer
        called several times is yielded at its first call; uncalled ones stay).
    need_output : bool, default False
        Whether the module's output is needed (to feed what follows it).

    Notes
    -----
    An ``nn.Sequential`` (without hooks of its own) is walked child by child, so every
    child runs once and its output feeds the next. Any other module is run up to the
    first call of its next layer, where a forward pre-hook captures the input and stops
    the pass; the layers already tuned then answer from their recorded outputs instead of
    computing again, so only the operations between layers run again.
    """
    if module in todo:
        step = Step(todo.pop(module), module, args, kwargs)
        yield step
        return step.output
    if not _contains(module, todo):
        return module(*args, **kwargs) if need_output else None
    if (type(module).forward is torch.nn.Sequential.forward and len(args) == 1 and not kwargs
            and not module._forward_hooks and not module._forward_pre_hooks):
        children = list(module)
        last = max(i for i, c in enumerate(children) if _contains(c, todo))
        h = args[0]
        for i, child in enumerate(children):
            if i > last and not need_output:
                return None
            h = yield from tuning_steps(child, (h,), {}, todo, need_output or i < last)
        return h
    return (yield from _stopped_passes(module, args, kwargs, todo, need_output))


@contextlib.contextmanager
def eval_mode(model: Module):
    """Evaluation mode, no MultiheadAttention fast path (it skips submodule calls) and
    ``torch.no_grad()``; each module's mode and the fast path are restored on exit."""
    modes = [(m, m.training) for m in model.modules()]
    mha = getattr(torch.backends, "mha", None)  # torch >= 2.1
    fastpath = mha is not None and mha.get_fastpath_enabled()
    model.eval()
    try:
        if fastpath:
            mha.set_fastpath_enabled(False)
        with torch.no_grad():
            yield
    finally:
        if fastpath:
            mha.set_fastpath_enabled(True)
        for m, training in modes:
            m.training = training


class LeafRecorder:
    """Forward hooks recording each call of a module that calls no other module.

    Those calls are a model's layers: leaf modules, and modules that compute functionally
    (MultiheadAttention, LSTM, a block whose ``forward`` calls no submodule). For each
    such call whose output (or its first element) is a floating-point tensor,
    ``measure(module, n, y)`` is called at once (``n``: the module's call count, from 1;
    ``y``: that tensor) and ``(measure's result, y)`` appended to :attr:`records`.

    Parameters
    ----------
    model : torch.nn.Module
        Every module of it (itself included) gets the hooks.
    measure : callable
        ``(module, n, y) -> record``.
    protect : bool
        Replace each recorded tensor output by a clone for the rest of the pass, so that
        in-place operations after it (``ReLU(inplace=True)``) leave the recorded tensor,
        and its place in the autograd graph, intact.
    """

    def __init__(self, model: Module, measure: Callable, protect: bool):
        self.measure, self.protect = measure, protect
        self.records: list[tuple[object, torch.Tensor]] = []
        self.counts: dict[Module, int] = {}
        self.stack: list[list[bool]] = []
        self.handles = [h for m in model.modules() for h in (
            m.register_forward_pre_hook(self._pre), m.register_forward_hook(self._post))]

    def remove(self) -> None:
        """Remove the hooks."""
        for h in self.handles:
            h.remove()

    def _pre(self, module, args):
        if self.stack:
            self.stack[-1][0] = True
        self.stack.append([False])

    def _post(self, module, args, out):
        called_others = self.stack.pop()[0]
        y = out[0] if isinstance(out, (tuple, list)) and out else out
        if called_others or not isinstance(y, torch.Tensor) or not y.is_floating_point():
            return None
        n = self.counts[module] = self.counts.get(module, 0) + 1
        self.records.append((self.measure(module, n, y), y))
        return out.clone() if self.protect and y is out else None
