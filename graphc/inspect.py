"""Reading what graphc generated: numbered source, pass statistics, summaries,
and export of a Function as a standalone numpy module.

    f.print_source()          # the generated code with line numbers, then the passes
    f.export("step.py")       # step.py + step.npz: runs with numpy only
"""
from __future__ import annotations

import collections
import io
import os
import sys
import types
import uuid
import zipfile

import numpy as np

from graphc.graph import escape_text
from graphc.lower.codegen import generate
from graphc.ops.leaves import ConstantOp, VariableOp
from graphc.types import format_shape


# ------------------------------------------------------------------ listing

def number_lines(source: str, start: int = 1) -> str:
    """``source`` with right-aligned line numbers, as tracebacks count them."""
    lines = source.rstrip("\n").split("\n")
    width = len(str(start + len(lines) - 1))
    return "\n".join(f"{k:>{width}} | {line}".rstrip() for k, line in enumerate(lines, start))


def _field(record, *names):
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value is not None:
            return value
    return None


def format_stats(stats) -> str:
    """Per-pass statistics as text ('' when there are none).

    Uses the object's own ``__str__`` when it has one; otherwise reads records
    with a name, node counts before and after, and seconds.
    """
    if stats is None:
        return ""
    if isinstance(stats, str):
        return stats
    if type(stats).__str__ is not object.__str__ and not isinstance(stats, (list, tuple, dict)):
        return str(stats)
    records = list(stats.items()) if isinstance(stats, dict) else list(stats)
    lines = [f"{'pass':<20}{'nodes before':>13}{'after':>8}{'ms':>9}"]
    for record in records:
        if isinstance(record, tuple) and len(record) == 2 and isinstance(record[0], str):
            name, record = record
        else:
            name = _field(record, "name", "pass")
        before = _field(record, "nodes_before", "before")
        after = _field(record, "nodes_after", "after")
        seconds = _field(record, "seconds", "time")
        if before is None and after is None and seconds is None:
            lines.append(f"{escape_text(str(name)):<20}{escape_text(str(record), 60)}")
            continue
        ms = f"{seconds * 1e3:.1f}" if isinstance(seconds, (int, float)) else ""
        lines.append(f"{escape_text(str(name)):<20}{'' if before is None else before:>13}"
                     f"{'' if after is None else after:>8}{ms:>9}")
    return "\n".join(lines)


def format_source(function, line_numbers: bool = True) -> str:
    """The generated source of ``function``, numbered, followed by its pass statistics."""
    text = number_lines(function.source) if line_numbers else function.source.rstrip("\n")
    stats = format_stats(getattr(function, "stats", None))
    if stats:
        text += "\n\n# passes\n" + stats
    return text + "\n"


def print_source(function, file=None) -> None:
    """Print the generated code of ``function`` with line numbers, then the pass statistics."""
    print(format_source(function), end="", file=file if file is not None else sys.stdout)


# ------------------------------------------------------------------ summary

def summary(obj) -> str:
    """A short text description: inputs, outputs, updates, node counts by op and scope."""
    from graphc.export import as_graph, display_groups, graph_nodes, resolve_function
    function = resolve_function(obj)
    graph = as_graph(obj)
    nodes = graph_nodes(graph)
    lines = []
    if function is not None:
        kind = "Function" if function is obj else f"{type(obj).__name__} ({function.name})"
        lines.append(f"{kind} {escape_text(function.name)!s}" if function is obj else kind)
    else:
        lines.append(f"graph of {len(graph.outputs)} output(s)")

    def typed(t):
        return f"{escape_text(t.name)} {format_shape(t.shape)} {t.dtype}"

    inputs = graph.inputs or [n for n in nodes if n.op.name == "placeholder"]
    lines.append("  inputs:   " + ("; ".join(typed(t) for t in inputs) or "none"))
    lines.append("  outputs:  " + ("; ".join(typed(t) for t in graph.outputs) or "none"))
    variables = [n for n in nodes if isinstance(n.op, VariableOp)]
    params = sum(int(np.prod(v.shape)) for v in variables)
    lines.append(f"  variables: {len(variables)} ({params:,} values), {len(graph.updates)} updated per call")
    if function is not None and function.written_graph is not function.graph:
        lines.append(f"  nodes:    {len(graph_nodes(function.written_graph))} as written, "
                     f"{len(nodes)} as optimized")
    else:
        lines.append(f"  nodes:    {len(nodes)}")
    ops = collections.Counter(n.op.name for n in nodes)
    lines.append("  ops:      " + ", ".join(f"{escape_text(k)} {v}" for k, v in ops.most_common()))
    top = collections.Counter(g.split("/")[0] or "(top level)" for g in display_groups(nodes))
    lines.append("  scopes:   " + ", ".join(f"{escape_text(k)} {v}" for k, v in top.most_common()))
    if function is not None:
        lines.append(f"  code:     {function.source.count(chr(10))} lines of numpy")
        stats = format_stats(getattr(function, "stats", None))
        if stats:
            lines.append("  passes:")
            lines.extend("    " + line for line in stats.splitlines())
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ export

def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, so a
    failure never leaves a truncated file (permissions follow the umask)."""
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_npz(fh, arrays: dict) -> None:
    """An .npz (np.load reads it) written entry by entry, without pickles."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(array), allow_pickle=False)


def export_function(function, path) -> str:
    """Write ``function`` as a module needing only numpy, its state in an .npz beside it.

    ``path`` names the module (``step.py``); the values of the variables,
    constants the code uses go to ``step.npz``. The module
    loads them when imported; calling its function updates its own copies
    of the variables, as the Function updates the graph's.
    """
    from graphc.export import graph_nodes
    path = os.fspath(path)
    if not path.endswith(".py"):
        raise ValueError(f"export: the module path must end in .py, got {path!r}")
    # The plain form of the code (numpy allocates each value): a standalone
    # module has no Function around it to keep buffers per input shape.
    program = generate(function.graph, function.program.name, plan_memory=False)
    npz_path = path[:-3] + ".npz"
    describe = {}
    for node in graph_nodes(function.graph):
        ident = program.names.get(id(node))
        if ident is None:
            continue
        kind = "variable" if isinstance(node.op, VariableOp) else (
            "constant" if isinstance(node.op, ConstantOp) else None)
        if kind:
            describe[ident] = f"{kind} {escape_text(node.name, 60)} {format_shape(node.shape)} {node.dtype}"

    arrays, loads, literals = {}, [], []
    for key, value in program.namespace.items():
        if key.startswith("__") or key == "np" or key == program.name:
            continue
        comment = f"  # {describe.get(key, 'buffer')}"
        if isinstance(value, np.ndarray):
            arrays[key] = value
            loads.append(f"    {key} = np.array(_state[{key!r}]){comment}")
        elif isinstance(value, np.generic):
            arrays[key] = np.asarray(value)
            loads.append(f"    {key} = _state[{key!r}][()]{comment}")
        elif isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
            literals.append(f"{key} = {value!r}")
        elif isinstance(value, types.ModuleType) and value.__name__.startswith("numpy"):
            literals.append(f"import {value.__name__} as {key}")
        else:
            raise TypeError(f"export: the generated code of {function.name!r} uses {key!r}, a "
                            f"{type(value).__name__}, which cannot be saved without pickle")

    signature = ", ".join(f"{escape_text(t.name, 60)} {format_shape(t.shape)} {t.dtype}" for t in function.inputs)
    results = ", ".join(f"{escape_text(t.name, 60)} {format_shape(t.shape)} {t.dtype}" for t in function.outputs)
    npz_name = os.path.basename(npz_path)
    # The docstring holds no user text (a name with triple quotes would end it
    # and run what follows on import): names go into comments, escaped, and
    # the file name into a string literal by repr().
    header = [
        f'"""{program.name}: a step generated by graphc, needing only numpy.',
        "",
        "The values of the variables and constants the code uses are in the .npz",
        "file named below (_STATE), read with allow_pickle=False. Variable updates",
        "are written into this module's arrays, so state carries from call to call",
        "as in the Function. What it takes and returns is in the comments below.",
        '"""',
        f"# Function: {escape_text(function.name, 60)}",
        f"# {program.name}(...) takes arrays for: {signature or 'nothing'}",
        f"# and returns a list of: {results or 'nothing'}",
        "import os as _os",
        "",
        "import numpy as np",
        "",
        f"_STATE = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), {npz_name!r})",
        "with np.load(_STATE, allow_pickle=False) as _state:",
        *(loads or ["    pass"]),
        *literals,
        "",
        "",
        "",
    ]
    text = "\n".join(header) + program.source
    text += f"\n\n__all__ = [{program.name!r}]\n"
    compile(text, path, "exec")  # fail here, not in the user's interpreter
    buffer = io.BytesIO()
    _write_npz(buffer, arrays)
    write_atomic(npz_path, buffer.getvalue())
    write_atomic(path, text.encode("utf-8"))
    return path
