"""GradientTape: TensorFlow's recording API over graphc's static graph.

The tape records the tensors built while it is active from at least one
watched or recorded input, as TensorFlow's tape records an operation only
when one of its inputs is being watched at that moment (so watching a tensor
after using it does not record the earlier use). ``gradient`` then
differentiates through recorded tensors only, from a target to watched or
recorded sources: trainable Variables used under the tape are watched
automatically, anything else after ``tape.watch``. Tapes nest: an outer tape
records the gradient graph an inner tape builds, which gives higher
derivatives.
"""
from __future__ import annotations

import weakref

import numpy as np

from graphc import autodiff
from graphc.graph import Tensor, _build_listeners
from graphc.ops import array
from graphc.ops.leaves import Variable, constant


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
        if self.watch_accessed_variables:
            for inp in tensor.inputs:
                if isinstance(inp, Variable) and inp.trainable:
                    self._watched.add(inp)
        if any(inp in self._watched or inp in self._recorded for inp in tensor.inputs):
            self._recorded.add(tensor)

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

    def _is_source(self, tensor) -> bool:
        return tensor in self._watched or tensor in self._recorded

    @staticmethod
    def _check_unconnected(unconnected_gradients):
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Symbolic gradients of ``target`` in the structure of ``sources``.

        A source that is not watched, or that the target does not depend on
        through recorded operations, gets None (or zeros with
        ``unconnected_gradients="zero"``).
        """
        self._start("gradient")
        self._check_unconnected(unconnected_gradients)
        targets, _ = _flatten(target)
        flat, rebuild = _flatten(sources)
        if output_gradients is None:
            seeds = [array.ones_like(t) for t in targets]
        else:
            # one target: output_gradients is its weight (an array is not a list of rows)
            weights = [output_gradients] if isinstance(target, Tensor) else _flatten(output_gradients)[0]
            if len(weights) != len(targets):
                raise ValueError(f"GradientTape.gradient: {len(targets)} targets but "
                                 f"{len(weights)} output_gradients")
            seeds = [autodiff._seed(t, g) for t, g in zip(targets, weights)]
        watched = [s for s in flat if self._is_source(s)]
        found = autodiff.backprop(targets, seeds, watched, through=self._through) if watched else []
        by_source = {id(s): g for s, g in zip(watched, found)}
        results = []
        for s in flat:
            g = by_source.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = array.zeros_like(s)
            results.append(g)
        return rebuild(results)

    def jacobian(self, target: Tensor, sources, unconnected_gradients="none"):
        """d target / d source with shape ``target.shape + source.shape``, in the
        structure of ``sources``; None (or zeros) where ``gradient`` gives None.

        Row i is the gradient of the recorded graph seeded with the i-th unit
        tensor, so it differentiates through recorded tensors only, like
        ``gradient``.
        """
        self._start("jacobian")
        self._check_unconnected(unconnected_gradients)
        flat, rebuild = _flatten(sources)
        n = autodiff._static_size(target, "GradientTape.jacobian")
        for s in flat:
            autodiff._static_size(s, "GradientTape.jacobian")
        watched = [s for s in flat if self._is_source(s)]
        rows = [[] for _ in watched]
        for i in range(n):
            seed = np.zeros(n, dtype=target.dtype)
            seed[i] = 1
            found = autodiff.backprop([target], [constant(seed.reshape(target.shape))], watched,
                                      through=self._through)
            for row, g in zip(rows, found):
                row.append(g)
        by_source = {}
        for s, row in zip(watched, rows):
            if row and row[0] is not None:
                by_source[id(s)] = array.reshape(array.stack(row, axis=0), target.shape + s.shape)
        results = []
        for s in flat:
            j = by_source.get(id(s))
            if j is None and (unconnected_gradients == "zero" or (n == 0 and id(s) in map(id, watched))):
                j = constant(np.zeros(target.shape + s.shape, dtype=s.dtype))
            results.append(j)
        return rebuild(results)
