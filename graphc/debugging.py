"""Numerics checks, like ``tf.debugging.enable_check_numerics``.

With checks on, every floating-point value a compiled function computes is
tested as soon as it exists; the first NaN or Inf raises ``NumericsError``
naming the node, its op and its scope, before any variable is written.
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
    """Called by generated code as ``check(value, k)`` after node k is computed."""

    def __init__(self):
        self.nodes = []

    def register(self, node) -> int:
        self.nodes.append((escape_text(node.name), node.op.name, escape_text(node.scope)))
        return len(self.nodes) - 1

    def __call__(self, value, index):
        if np.isfinite(value).all():
            return
        name, op, scope = self.nodes[index]
        kind = "NaN" if np.isnan(value).any() else "Inf"
        raise NumericsError(f"check_numerics: node {name!r} (op {op}, scope {scope or '<root>'!r}) "
                            f"produced {kind}")
