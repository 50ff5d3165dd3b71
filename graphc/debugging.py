"""Numerics checks, like ``tf.debugging.enable_check_numerics``.

With checks on, every floating-point value a compiled function computes is
tested as soon as it exists; the first NaN or Inf raises ``NumericsError``
naming the node, its op and its scope, before any variable is written. A
node fusion made of several is named by the first of them whose value is
not finite (the log in ``log(x) * 2 + 1``), found by evaluating them again
on its inputs once the check has failed.
"""
from __future__ import annotations

import numpy as np

from graphc.graph import escape_text

_enabled = {"on": False}


class NumericsError(FloatingPointError):
    """A compiled function produced NaN or Inf (raised only with checks on)."""


def enable_check_numerics() -> None:
    """Check numerics in every Function compiled from now on."""
    _enabled["on"] = True


def disable_check_numerics() -> None:
    _enabled["on"] = False


def check_numerics_enabled() -> bool:
    return _enabled["on"]


class NumericsChecker:
    """Called by generated code as ``check(value, k)`` after node k is computed,
    ``check(value, k, *inputs)`` after a fused elementwise node: when its value
    is not finite, the parts it was fused from are evaluated on its inputs,
    and the error names the first part (the node the user wrote) that was not."""

    def __init__(self):
        self.nodes = []

    def register(self, node) -> int:
        """The index ``node`` is checked under (its inputs are passed when ``fused_parts(node)``)."""
        self.nodes.append((node.name, node.op.name, fused_parts(node)))
        return len(self.nodes) - 1

    def __call__(self, value, index, *inputs):
        if np.isfinite(value).all():
            return
        name, op, parts = self.nodes[index]
        kind = "NaN" if np.isnan(value).any() else "Inf"
        culprit = _first_not_finite(parts, inputs) if parts else None
        inside = ""
        if culprit is not None and culprit[0] != name:
            inside = f" (inside fused node {escape_text(name)!r}, op {op})"
            name, op = culprit
        scope = name.rpartition("/")[0]
        raise NumericsError(f"check_numerics: node {escape_text(name)!r} (op {op}, scope "
                            f"{escape_text(scope) or '<root>'!r}) produced {kind}{inside}")


def fused_parts(node):
    """(name, op name, value over node's inputs) of the nodes fused into
    ``node``, or None (not fused, or its provenance is lost)."""
    provenance = getattr(node.op, "provenance", None)
    return None if provenance is None else (provenance, len(node.inputs))


def _first_not_finite(parts, inputs):
    """(name, op name) of the first fused part whose value has NaN or Inf."""
    from graphc.ops.elementwise import numpy_function
    from graphc.passes.ieee import rebuild
    provenance, count = parts
    for name, op, expr in provenance.parts:
        if not expr.free_symbols <= provenance.symbols.keys():
            continue  # (it read a value the fused expression simplified away)
        renamed = rebuild(expr, provenance.symbols, fast_math=True, functions=False)  # renaming only
        value = numpy_function(renamed, count)(*inputs)
        if np.asarray(value).dtype.kind == "f" and not np.isfinite(value).all():
            return name, op
    return None
