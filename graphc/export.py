"""Export graphs to networkx and Graphviz DOT."""
from __future__ import annotations

import networkx as nx

from graphc.graph import Graph, Tensor, escape_text, topological_order
from graphc.types import format_shape


def as_graph(obj) -> Graph:
    """A Graph from a Graph, a Function, a Tensor or a list of Tensors."""
    if isinstance(obj, Graph):
        return obj
    graph = getattr(obj, "graph", None)
    if isinstance(graph, Graph):
        return graph
    if isinstance(obj, Tensor):
        return Graph(outputs=[obj])
    tensors = list(obj)
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"expected a Tensor, a list of Tensors, a Function or a Graph, got {type(obj).__name__}")
    return Graph(outputs=tensors)


def to_networkx(obj) -> nx.DiGraph:
    """A DiGraph with one node per tensor (integer ids in schedule order).

    Node attributes: op, name, scope, shape, dtype, and output/update flags;
    edges run from input to user with the input's position as ``index``.
    """
    graph = as_graph(obj)
    nodes = topological_order(graph.roots + graph.inputs + [v for v, _ in graph.updates])
    index = {id(n): i for i, n in enumerate(nodes)}
    outputs = {id(o) for o in graph.outputs}
    g = nx.DiGraph()
    for i, n in enumerate(nodes):
        g.add_node(i, op=n.op.name, name=n.name, scope=n.scope, shape=n.shape,
                   dtype=str(n.dtype), output=id(n) in outputs)
    for n in nodes:
        for pos, inp in enumerate(n.inputs):
            g.add_edge(index[id(inp)], index[id(n)], index=pos, shape=inp.shape)
    for var, value in graph.updates:
        g.nodes[index[id(var)]]["updated_by"] = index[id(value)]
    return g


def _dot_text(text: str) -> str:
    """User text inside a DOT string: printable ASCII, quotes and backslashes escaped."""
    return escape_text(text, 120).replace("\\", "\\\\").replace('"', '\\"')


def _quote(text: str) -> str:
    return f'"{_dot_text(text)}"'


def to_dot(obj) -> str:
    """Graphviz DOT source: scopes as clusters, shapes on edges."""
    g = to_networkx(obj)
    lines = ["digraph graphc {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    by_scope: dict = {}
    for i, data in g.nodes(data=True):
        by_scope.setdefault(data["scope"], []).append(i)
    for k, (scope, members) in enumerate(sorted(by_scope.items())):
        indent = "  "
        if scope:
            lines.append(f"  subgraph cluster_{k} {{")
            lines.append(f"    label={_quote(scope)};")
            indent = "    "
        for i in members:
            data = g.nodes[i]
            short = _dot_text(data["name"].rpartition("/")[2])
            detail = _dot_text(f"{data['op']} {format_shape(data['shape'])} {data['dtype']}")
            style = ", style=bold" if data["output"] else ""
            lines.append(f'{indent}n{i} [label="{short}\\n{detail}"{style}];')
        if scope:
            lines.append("  }")
    for a, b, data in g.edges(data=True):
        lines.append(f"  n{a} -> n{b} [label={_quote(format_shape(data['shape']))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
