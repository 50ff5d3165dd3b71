"""Dead-code elimination.

A Graph is what its outputs and updates reach, so every rebuild already
drops unreachable nodes. This pass also drops updates that write a
variable's own value back (``v <- v``), which do nothing.
"""
from __future__ import annotations

from graphc.graph import Graph


def dce(graph: Graph) -> Graph:
    updates = [(var, value) for var, value in graph.updates if value is not var]
    return Graph(graph.inputs, graph.outputs, updates)
