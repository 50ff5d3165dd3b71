"""One self-contained HTML file that draws a graph: layout, data and viewer inline.

The page needs no network: the viewer's CSS and JS are embedded from
``graphc/viz/template.py``, the graph is a JSON document in a
``<script type="application/json">`` block (escaped so no user text can end
the block), and the viewer puts names into the page with ``textContent``
only.
"""
from __future__ import annotations

import json

from graphc.export import as_graph, display_groups, graph_nodes, resolve_function
from graphc.graph import Graph, Tensor, escape_text
from graphc.ops.leaves import PlaceholderOp
from graphc.types import format_shape
from graphc.viz.layout import default_open, layout
from graphc.viz.template import PAGE

COLLAPSE_ABOVE = 60  # open with at most about this many boxes visible


def script_json(data) -> str:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators appear raw."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _kind(node) -> str:
    name = node.op.name
    return name if name in ("placeholder", "variable", "constant") else "op"


def program_for(graph: Graph):
    """Generated code for a graph that is not a Function (placeholders become parameters)."""
    from graphc.lower.codegen import generate
    inputs = graph.inputs or [n for n in graph_nodes(graph) if isinstance(n.op, PlaceholderOp)]
    try:
        return generate(Graph(inputs, graph.outputs, graph.updates), "graph")
    except Exception:  # noqa: BLE001  (the picture does not need code; e.g. an unsupported op)
        return None


def build_view(graph: Graph, program, label: str, collapse_above: int = COLLAPSE_ABOVE) -> dict:
    """The JSON document of one graph: nodes, groups with layers, code lines."""
    nodes = graph_nodes(graph)
    index = {id(n): i for i, n in enumerate(nodes)}
    edges = [(index[id(i)], index[id(n)]) for n in nodes for i in n.inputs]
    groups, node_group = layout(display_groups(nodes), edges)
    outputs = {id(o) for o in graph.outputs}
    updated_by = {id(var): index[id(value)] for var, value in graph.updates}
    updates = {id(value): index[id(var)] for var, value in graph.updates}
    params = {id(p) for p in graph.inputs}
    names = program.names if program is not None else {}
    lines = program.node_lines if program is not None else {}
    node_docs = []
    for i, n in enumerate(nodes):
        doc = {"n": n.name, "o": n.op.name, "d": escape_text(n.op.describe(), 200),
               "s": format_shape(n.shape), "t": str(n.dtype), "g": node_group[i], "k": _kind(n),
               "i": [index[id(x)] for x in n.inputs]}
        ident = names.get(id(n))
        if ident is not None:
            doc["v"] = ident
            if id(n) in lines:
                doc["l"] = lines[id(n)]
            elif id(n) in params:
                doc["p"] = 1  # a parameter of the generated function
        if id(n) in outputs:
            doc["out"] = 1
        if id(n) in updated_by:
            doc["ub"] = updated_by[id(n)]
        if id(n) in updates:
            doc["up"] = updates[id(n)]
        node_docs.append(doc)
    group_docs = [{"p": g.path, "b": g.label, "u": g.parent, "z": g.size, "y": int(g.synthetic),
                   "L": g.layers, "e": g.edges} for g in groups]
    opened = sorted(default_open(groups, collapse_above) - {0})
    return {"label": label, "nodes": node_docs, "groups": group_docs, "open": [groups[k].path for k in opened],
            "source": program.source if program is not None else ""}


def page_data(obj, title: str | None = None, collapse_above: int = COLLAPSE_ABOVE) -> dict:
    """Views of ``obj`` (as optimized and, when different, as written) for the viewer."""
    function = resolve_function(obj)
    views = []
    stats = ""
    if function is not None:
        views.append(build_view(function.graph, function.program, "as optimized", collapse_above))
        if function.written_graph is not function.graph:
            # Nodes that survived the passes are the same objects, so they keep their code lines.
            views.append(build_view(function.written_graph, function.program, "as written", collapse_above))
        from graphc.inspect import format_stats
        stats = format_stats(getattr(function, "stats", None))
        default_title = function.name
    else:
        graph = as_graph(obj)
        views.append(build_view(graph, program_for(graph), "graph", collapse_above))
        default_title = obj.name if isinstance(obj, Tensor) else "graph"
    return {"title": title or default_title, "views": views, "stats": stats}


def render_html(obj, title: str | None = None, collapse_above: int = COLLAPSE_ABOVE) -> str:
    data = page_data(obj, title, collapse_above)
    head_title = escape_text(data["title"]).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    before, after = PAGE.split("%DATA%")
    return before.replace("%TITLE%", head_title, 1) + script_json(data) + after
