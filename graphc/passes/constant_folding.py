"""Constant folding: compute at compile time what depends on no input.

The constant part of the graph is evaluated in one go (compiled like any
graph), and each value it hands to the rest of the graph becomes a constant
of the same dtype. Variables are never folded (they change), nor are
stateful ops, nor results larger than ``MAX_ELEMENTS`` (folding would only
trade a cheap broadcast for a large array in memory).
"""
from __future__ import annotations

import numpy as np

from graphc.graph import Graph
from graphc.ops.array import FullLike
from graphc.ops.leaves import ConstantOp, constant
from graphc.passes.rewrite import rewrite, substitute
from graphc.types import is_static

MAX_ELEMENTS = 1 << 16


def _small_static(node) -> bool:
    return is_static(node.shape) and int(np.prod(node.shape)) <= MAX_ELEMENTS


def fold_constants(graph: Graph) -> Graph:
    # A fill of a static shape needs only the shape, not the input's value.
    def fill(node):
        if isinstance(node.op, FullLike) and _small_static(node):
            return constant(np.full(node.shape, node.op.value, dtype=node.dtype), name=node.name.rpartition("/")[2])
        return None

    graph = rewrite(graph, fill, "fold_fill")

    foldable = set()
    for node in graph.nodes():
        if isinstance(node.op, ConstantOp):
            foldable.add(id(node))
        elif (not node.op.is_leaf and node.inputs and not node.op.stateful and _small_static(node)
              and all(id(i) in foldable for i in node.inputs)):
            foldable.add(id(node))
    # Fold only where a constant value meets the rest of the graph.
    frontier, seen = [], set()
    for node in graph.nodes():
        for inp in node.inputs:
            if (id(inp) in foldable and id(node) not in foldable and not isinstance(inp.op, ConstantOp)
                    and id(inp) not in seen):
                seen.add(id(inp))
                frontier.append(inp)
    for root in graph.roots:
        if id(root) in foldable and not isinstance(root.op, ConstantOp) and id(root) not in seen:
            seen.add(id(root))
            frontier.append(root)
    if not frontier:
        return graph

    from graphc.function import Function  # evaluation compiles the constant subgraph
    values = Function([], frontier, name="fold_constants", optimize=0)()
    folded = {id(node): constant(np.asarray(value, dtype=node.dtype), name=node.name.rpartition("/")[2])
              for node, value in zip(frontier, values)}
    return substitute(graph, folded, "fold_constants")
