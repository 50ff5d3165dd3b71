"""Common-subexpression elimination by structural hashing.

Two nodes with equal ops on the same inputs compute the same value, so the
second is replaced by the first; bottom-up, this merges whole equal
subgraphs. Equal small constants merge too; placeholders, variables and
stateful ops (random draws) keep their identity.
"""
from __future__ import annotations

from graphc.graph import Graph
from graphc.passes.rewrite import rewrite


def cse(graph: Graph) -> Graph:
    seen: dict = {}

    def canonical(node):
        if getattr(node.op, "stateful", False):
            return None
        key = (node.op.key(), tuple(id(i) for i in node.inputs))
        first = seen.setdefault(key, node)
        return None if first is node else first

    return rewrite(graph, canonical, "cse", include_leaves=True)
