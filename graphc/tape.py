"""GradientTape: TensorFlow's recording API over graphc's static graph.

The tape records the tensors built while it is active. ``gradient`` then
differentiates through recorded tensors only, from a target to watched
sources: trainable Variables used under the tape are watched automatically,
anything else after ``tape.watch``. Tapes nest: an outer tape records the
gradient graph an inner tape builds, which gives higher derivatives.
"""
from __future__ import annotations

import weakref

from graphc import autodiff
from graphc.graph import Tensor, _build_listeners
from graphc.ops import array
from graphc.ops.leaves import Variable


def _flatten(structure):
    if isinstance(structure, Tensor):
        return [structure], lambda values: values[0]
    if isinstance(structure, dict):
        keys = list(structure)
        return [structure[k] for k in keys], lambda values: dict(zip(keys, values))
    items = list(structure)
    kind = type(structure) if isinstance(structure, tuple) else list
    return items, lambda values: kind(values)


class GradientTape:
    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._recorded = weakref.WeakSet()
        self._watched = weakref.WeakSet()
        self._used = False
        self._active = False

    # ------------------------------------------------------------- recording
    def _record(self, tensor: Tensor):
        self._recorded.add(tensor)
        if self.watch_accessed_variables:
            for inp in tensor.inputs:
                if isinstance(inp, Variable) and inp.trainable:
                    self._watched.add(inp)

    def __enter__(self):
        if self._active:
            raise RuntimeError("this GradientTape is already recording")
        self._active = True
        _build_listeners.append(self._record)
        return self

    def __exit__(self, *exc):
        self._active = False
        _build_listeners.remove(self._record)
        return False

    def watch(self, tensor):
        """Differentiate with respect to ``tensor`` (a Tensor or a list of them)."""
        for t in _flatten(tensor)[0]:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch: expected a Tensor, got {type(t).__name__}")
            self._watched.add(t)

    def watched_variables(self) -> list:
        return [t for t in self._watched if isinstance(t, Variable)]

    def reset(self):
        self._recorded = weakref.WeakSet()
        self._watched = weakref.WeakSet()

    # ------------------------------------------------------------- gradients
    def _start(self, what: str):
        if self._used and not self.persistent:
            raise RuntimeError(f"GradientTape.{what} can only be called once on a non-persistent tape; "
                               "use GradientTape(persistent=True) to call it several times")
        self._used = True

    def _through(self, node: Tensor) -> bool:
        return node in self._recorded

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Symbolic gradients of ``target`` in the structure of ``sources``.

        A source that is not watched, or that the target does not depend on
        through recorded operations, gets None (or zeros with
        ``unconnected_gradients="zero"``).
        """
        self._start("gradient")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        targets, _ = _flatten(target)
        flat, rebuild = _flatten(sources)
        if output_gradients is None:
            seeds = [array.ones_like(t) for t in targets]
        else:
            seeds = [autodiff._seed(t, g) for t, g in zip(targets, _flatten(output_gradients)[0])]
        watched = [s for s in flat if s in self._watched]
        found = autodiff.backprop(targets, seeds, watched, through=self._through) if watched else []
        by_source = {id(s): g for s, g in zip(watched, found)}
        results = []
        for s in flat:
            g = by_source.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = array.zeros_like(s)
            results.append(g)
        return rebuild(results)

    def jacobian(self, target: Tensor, source: Tensor):
        """d target / d source with shape ``target.shape + source.shape`` (None if not watched)."""
        self._start("jacobian")
        if source not in self._watched:
            return None
        return autodiff.jacobian(target, source)
