"""The one mechanism passes share: rebuild a graph bottom-up.

Tensors are immutable, so a pass never edits a node: it visits nodes in
topological order, rebuilds each on its (possibly replaced) inputs, and may
replace it. Nodes no output or update needs simply drop out.
"""
from __future__ import annotations

from graphc.graph import Graph, Tensor, absolute_scope, rebuild
from graphc.types import format_shape


def rebuilt(node: Tensor, inputs: tuple) -> Tensor:
    """``node`` on new ``inputs`` (the same object when nothing changed)."""
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    return rebuild(node, inputs)


def check_replacement(node: Tensor, new: Tensor, rule_name: str) -> None:
    if new.dtype != node.dtype or len(new.shape) != len(node.shape) or any(
            a is not None and b is not None and a != b for a, b in zip(new.shape, node.shape)):
        raise AssertionError(
            f"rule {rule_name} replaced {node.name!r} {format_shape(node.shape)} {node.dtype} "
            f"with {format_shape(new.shape)} {new.dtype}")


def _rebuild(graph: Graph, replace, name: str, include_leaves: bool, frozen=frozenset()) -> Graph:
    mapping: dict = {}
    for node in graph.nodes():
        if (node.op.is_leaf and not include_leaves) or id(node) in frozen:
            mapping[id(node)] = node
            continue
        current = rebuilt(node, tuple(mapping[id(i)] for i in node.inputs))
        with absolute_scope(node.scope):
            new = replace(node, current)
        if new is not None and new is not current:
            check_replacement(current, new, name)
            current = new
        mapping[id(node)] = current
    return Graph([mapping.get(id(i), i) for i in graph.inputs],
                 [mapping[id(o)] for o in graph.outputs],
                 [(var, mapping[id(value)]) for var, value in graph.updates])


def rewrite(graph: Graph, rule, name: str = "rule", include_leaves: bool = False,
            frozen=frozenset()) -> Graph:
    """Apply ``rule(node) -> Tensor | None`` to every node, bottom-up.

    The rule sees the node already rebuilt on rewritten inputs; what it
    returns replaces the node everywhere (new nodes it builds are named
    under the replaced node's scope). Nodes in ``frozen`` (ids) are kept
    as they are, like leaves.
    """
    return _rebuild(graph, lambda original, current: rule(current), name, include_leaves, frozen)


def substitute(graph: Graph, replacements: dict, name: str = "substitute") -> Graph:
    """Replace nodes by identity: ``replacements`` maps id(old node) -> new node."""
    return _rebuild(graph, lambda original, current: replacements.get(id(original)), name, True)


def same_graph(a: Graph, b: Graph) -> bool:
    return (all(x is y for x, y in zip(a.outputs, b.outputs))
            and all(x[1] is y[1] for x, y in zip(a.updates, b.updates)))
