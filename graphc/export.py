"""Export graphs to networkx and Graphviz DOT.

Everything here accepts the same things: a Graph, a Function (``stage``
"optimized" gives ``f.graph``, as compiled; "written" gives
``f.written_graph``, as the user built it), a Keras-style model (any object
whose ``train_function`` or ``predict_function`` holds a Function), a Tensor
or a list of Tensors.
"""
from __future__ import annotations

import networkx as nx

from graphc.graph import Graph, Tensor, escape_text, topological_order
from graphc.types import format_shape

STAGES = ("optimized", "written")
STEP_ATTRIBUTES = ("train_function", "predict_function")


def _is_function(obj) -> bool:
    from graphc.function import Function
    return isinstance(obj, Function)


def resolve_function(obj):
    """The Function behind ``obj`` (itself, or a model's train/predict step); None if there is none."""
    if _is_function(obj):
        return obj
    for attr in STEP_ATTRIBUTES:
        try:  # a model builds its steps lazily, and may refuse (not compiled yet)
            candidate = getattr(obj, attr, None)
        except Exception:  # noqa: BLE001
            candidate = None
        if _is_function(candidate):
            return candidate
    return None


def has_steps(obj) -> bool:
    """Whether ``obj`` looks like a Keras model (has train/predict step attributes), without building them."""
    return any(hasattr(type(obj), attr) or attr in getattr(obj, "__dict__", {}) for attr in STEP_ATTRIBUTES)


def as_graph(obj, stage: str = "optimized") -> Graph:
    """A Graph from a Graph, a Function, a Keras model, a Tensor or a list of Tensors."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    if isinstance(obj, Graph):
        return obj
    if isinstance(obj, Tensor):
        return Graph(outputs=[obj])
    function = resolve_function(obj)
    if function is not None:
        return function.written_graph if stage == "written" else function.graph
    if has_steps(obj):
        raise TypeError(f"{type(obj).__name__} has no compiled step yet (train_function and "
                        "predict_function are not Functions): compile the model and fit or predict once")
    try:
        tensors = list(obj)
    except TypeError:
        tensors = None
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("expected a Tensor, a list of Tensors, a Function, a Keras model or a Graph, "
                        f"got {type(obj).__name__}")
    return Graph(outputs=tensors)


def graph_nodes(graph: Graph) -> list:
    """Every node of ``graph`` in schedule order, including updated variables."""
    return topological_order(graph.roots + graph.inputs + [v for v, _ in graph.updates])


def display_groups(nodes) -> list:
    """The scope each node is drawn in, so the backward pass folds like the forward pass.

    A forward node sits in its own scope ("dense/matmul" -> "dense"). A
    gradient node is built under "gradients/<differentiated node>/", e.g.
    "gradients/dense/matmul/transpose"; it is drawn in "gradients/<scope of
    the differentiated node>" ("gradients/dense"), recursively for higher
    orders, instead of one tiny group per differentiated node.
    """
    names = {n.name for n in nodes}
    cache: dict = {}

    def group_of(name: str) -> str:
        chain = []
        while name not in cache:
            if not name.startswith("gradients/"):
                cache[name] = name.rpartition("/")[0]
                break
            chain.append(name)
            rest = name[len("gradients/"):]
            parts = rest.split("/")
            target = "/".join(parts[:-1])  # fallback: everything but the node's own name
            for k in range(len(parts) - 1, 0, -1):
                candidate = "/".join(parts[:k])
                if candidate in names:
                    target = candidate
                    break
            name = target
            if not name:  # differentiated node at top level without a name
                cache[name] = ""
                break
        result = cache[name]
        for pending in reversed(chain):
            # a gradient node of a node in group G is drawn in gradients/G
            result = f"gradients/{result}" if result else "gradients"
            cache[pending] = result
        return cache[chain[0]] if chain else result

    return [group_of(n.name) for n in nodes]


def to_networkx(obj, stage: str = "optimized") -> nx.DiGraph:
    """A DiGraph with one node per tensor (integer ids in schedule order).

    Node attributes: op, name, scope, group (the scope it is drawn in, see
    ``display_groups``), shape, dtype, output flag and, for a variable
    that the graph updates, ``updated_by``; edges run from input to user
    with the input's position as ``index`` and its ``shape``.
    """
    graph = as_graph(obj, stage)
    nodes = graph_nodes(graph)
    index = {id(n): i for i, n in enumerate(nodes)}
    outputs = {id(o) for o in graph.outputs}
    g = nx.DiGraph()
    for i, (n, group) in enumerate(zip(nodes, display_groups(nodes))):
        g.add_node(i, op=n.op.name, name=n.name, scope=n.scope, group=group, shape=n.shape,
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


_LEAF_STYLE = {"placeholder": ', shape=ellipse, style=filled, fillcolor="#dbeafe"',
               "variable": ', style="rounded,filled", fillcolor="#fef3c7"',
               "constant": ', style=filled, fillcolor="#f3f4f6"'}


def to_dot(obj, stage: str = "optimized") -> str:
    """Graphviz DOT source: scopes as nested clusters, shapes on edges."""
    g = to_networkx(obj, stage)
    function = None if isinstance(obj, (Graph, Tensor)) else resolve_function(obj)
    lines = ["digraph graphc {", "  rankdir=TB;", "  compound=true;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8, color="#555555"];']
    if function is not None:
        lines.append(f"  label={_quote(f'{function.name} ({stage})')}; labelloc=t;")
    members: dict = {}
    for i, data in g.nodes(data=True):
        members.setdefault(data["group"], []).append(i)
    children: dict = {}
    for path in list(members):  # make every ancestor scope exist
        while path:
            parent = path.rpartition("/")[0]
            kids = children.setdefault(parent, [])
            if path in kids:
                break
            kids.append(path)
            path = parent
    cluster_ids: dict = {}

    # Iterative walk over the scope tree (no recursion: scopes may nest deeply).
    stack = [("", 0, False)]
    while stack:
        path, depth, closing = stack.pop()
        indent = "  " * (depth + 1)
        if closing:
            lines.append(f"{indent}}}")
            continue
        inner = indent
        if path:
            k = cluster_ids.setdefault(path, len(cluster_ids))
            lines.append(f"{indent}subgraph cluster_{k} {{")
            lines.append(f"{indent}  label={_quote(path.rpartition('/')[2])};")
            lines.append(f'{indent}  style="rounded"; color="#999999";')
            inner = indent + "  "
            stack.append((path, depth, True))
        for i in members.get(path, ()):
            data = g.nodes[i]
            short = _dot_text(data["name"].rpartition("/")[2])
            detail = _dot_text(f"{data['op']} {format_shape(data['shape'])} {data['dtype']}")
            style = _LEAF_STYLE.get(data["op"], "")
            if data["output"]:
                style += ", penwidth=2"
            lines.append(f'{inner}n{i} [label="{short}\\n{detail}"{style}];')
        for child in reversed(sorted(children.get(path, ()))):
            stack.append((child, depth + (1 if path else 0), False))
    for a, b, data in g.edges(data=True):
        lines.append(f"  n{a} -> n{b} [label={_quote(format_shape(data['shape']))}];")
    for i, data in g.nodes(data=True):
        if "updated_by" in data:
            lines.append(f'  n{data["updated_by"]} -> n{i} [style=dashed, color="#b45309", '
                         'label="update", constraint=false];')
    lines.append("}")
    return "\n".join(lines) + "\n"
