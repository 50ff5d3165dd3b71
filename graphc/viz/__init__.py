"""Draw graphs: an interactive self-contained HTML page, or SVG/PNG through Graphviz.

    import graphc as gc
    gc.viz.render(f, "graph.html")        # a Function, a Keras model, Tensors or a Graph
    gc.viz.render(f, "graph.svg")         # needs Graphviz's `dot`
"""
from __future__ import annotations

import os
import shutil
import subprocess

from graphc.export import to_dot
from graphc.inspect import write_atomic
from graphc.viz.html import COLLAPSE_ABOVE, page_data, render_html, script_json  # noqa: F401

GRAPHVIZ_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def render(obj, path, stage: str = "optimized", title: str | None = None,
           collapse_above: int = COLLAPSE_ABOVE) -> str:
    """Draw ``obj`` into ``path``; the extension picks the format.

    ``.html``: the interactive viewer (both the optimized and the written
    graph of a Function, when they differ). ``.dot``: Graphviz source.
    ``.svg``/``.png``/``.pdf``: drawn by Graphviz's ``dot`` (``stage`` picks
    the graph of a Function). Returns ``path``.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in (".html", ".htm"):
        data = render_html(obj, title=title, collapse_above=collapse_above).encode("utf-8")
    elif ext in (".dot", ".gv"):
        data = to_dot(obj, stage).encode("ascii")
    elif ext in GRAPHVIZ_FORMATS:
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                f"rendering {path!r} needs Graphviz's `dot` program, which is not installed: "
                "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
                "or render to .html (no dependencies) or .dot instead")
        result = subprocess.run([dot, f"-T{GRAPHVIZ_FORMATS[ext]}"], input=to_dot(obj, stage).encode("ascii"),
                                capture_output=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"Graphviz dot failed on {path!r}: {result.stderr.decode(errors='replace').strip()}")
        data = result.stdout
    else:
        raise ValueError(f"cannot render to {path!r}: use a .html, .svg, .png, .pdf or .dot file name")
    write_atomic(path, data)
    return path
