"""Lowering: a Graph becomes the source of one straight-line numpy function.

One statement (or a few) per node, in schedule order, named after the node;
variables and constants are globals of the generated module; parameters are
the placeholders. Variables are written only after every output and new
value has been computed, so an exception leaves all state as it was.
"""
from __future__ import annotations

import builtins
import hashlib
import keyword
import linecache
import re
from dataclasses import dataclass, field

import numpy as np

from graphc.debugging import NumericsChecker
from graphc.graph import Graph, escape_text, topological_order
from graphc.ops.leaves import ConstantOp, PlaceholderOp, VariableOp
from graphc.types import format_shape

_RESERVED = (set(keyword.kwlist) | set(getattr(keyword, "softkwlist", ())) | set(dir(builtins))
             | {"np", "self"})
_NOT_IDENTIFIER = re.compile(r"[^0-9a-zA-Z_]+")
_UNDERSCORES = re.compile(r"__+")
MAX_NAME = 48


def sanitize(name: str) -> str:
    """An identifier made from user text: ASCII letters, digits and underscores only."""
    text = name.replace("gradients/", "grad_", 1) if name.startswith("gradients/") else name
    # Runs of underscores collapse, so "__" never appears in a name: ops use
    # it for their temporaries (``out__1``) without clashing with any node.
    text = _UNDERSCORES.sub("_", _NOT_IDENTIFIER.sub("_", text)).strip("_") or "t"
    if text[0].isdigit():
        text = "t_" + text
    if len(text) > MAX_NAME:
        text = text[-MAX_NAME:].lstrip("_") or "t"
        if text[0].isdigit():
            text = "t_" + text
    return text


class Namer:
    """Hands out unique identifiers that never shadow keywords, builtins or ``np``."""

    def __init__(self, reserved=()):
        self.used = set(_RESERVED) | set(reserved)
        self.next_suffix = {}  # base -> first suffix not yet tried (keeps naming linear)

    def __call__(self, hint: str) -> str:
        base = sanitize(hint)
        candidate = base
        if candidate in self.used or keyword.iskeyword(candidate):
            i = self.next_suffix.get(base, 1)
            candidate = f"{base}_{i}"
            while candidate in self.used or keyword.iskeyword(candidate):
                i += 1
                candidate = f"{base}_{i}"
            self.next_suffix[base] = i + 1
        self.used.add(candidate)
        return candidate


def aliases_storage(node) -> bool:
    """Whether the value of ``node`` may share memory with a Variable's storage
    (changed by later updates) or a constant's (read-only, shared by every call)."""
    while getattr(node.op, "returns_view", False):
        node = node.inputs[0]
    return isinstance(node.op, (VariableOp, ConstantOp))


@dataclass
class Program:
    """Generated source plus what is needed to run and inspect it."""
    name: str
    source: str
    namespace: dict
    filename: str
    names: dict = field(default_factory=dict)       # id(node) -> identifier
    node_lines: dict = field(default_factory=dict)  # id(node) -> first line number (1-based)

    def compile(self):
        lines = self.source.splitlines(keepends=True)
        linecache.cache[self.filename] = (len(self.source), None, lines, self.filename)
        code = compile(self.source, self.filename, "exec")
        exec(code, self.namespace)  # our own generated source; user text only in sanitized names/comments
        return self.namespace[self.name]


def _comment(node) -> str:
    return f"  # {escape_text(node.name, 60)} {format_shape(node.shape)} {node.dtype}"


def generate(graph: Graph, name: str = "graphc_function", check_numerics: bool = False) -> Program:
    """Write ``graph`` as the source of one Python function named ``name``.

    With ``check_numerics`` every floating-point value is checked for NaN
    and Inf right after the statement that computes it.
    """
    namer = Namer()
    fn_name = namer(name)
    names, namespace, node_lines = {}, {"np": np}, {}
    checker = None
    if check_numerics:
        checker = NumericsChecker()
        namespace[namer("check_numerics")] = checker
    params = []
    for ph in graph.inputs:
        names[id(ph)] = namer(ph.name)
        params.append(names[id(ph)])

    body = []
    for node in topological_order(graph.roots + [var for var, _ in graph.updates]):
        if id(node) in names:
            continue
        op = node.op
        if isinstance(op, PlaceholderOp):
            raise ValueError(f"the graph needs placeholder {node.name!r}, which is not among the inputs")
        ident = names[id(node)] = namer(node.name)
        if isinstance(op, VariableOp):
            namespace[ident] = node.value
        elif isinstance(op, ConstantOp):
            namespace[ident] = op.value[()] if op.value.ndim == 0 else op.value
        else:
            args = [names[id(i)] for i in node.inputs]
            # An op may bind objects (e.g. a random Generator) in the module's
            # namespace: op.globals() -> {hint: object}; their fresh names
            # follow the input names in ``args``.
            for hint, obj in (op.globals() if hasattr(op, "globals") else {}).items():
                bound = namer(hint)
                namespace[bound] = obj
                args.append(bound)
            statements = op.emit(ident, args, node)
            if len(statements) == 1:
                node_lines[id(node)] = len(body) + 2  # 1-based, after the def line
                body.append(statements[0] + _comment(node))
            else:
                body.append(_comment(node).strip())
                node_lines[id(node)] = len(body) + 2
                body.extend(statements)
            if checker is not None and node.dtype.kind == "f":
                body.append(f"check_numerics({ident}, {checker.register(node)})")

    results = []
    for out in graph.outputs:
        ident = names[id(out)]
        if aliases_storage(out):  # a later write to the variable must not change what we return
            copy = namer(f"{out.name}_value")
            body.append(f"{copy} = {ident}.copy()")
            ident = copy
        results.append(ident)

    writes = []
    for var, value in graph.updates:
        ident = names[id(value)]
        if aliases_storage(value):
            copy = namer(f"{value.name}_value")
            body.append(f"{copy} = {ident}.copy()")
            ident = copy
        writes.append(f"np.copyto({names[id(var)]}, {ident})  # update {escape_text(var.name, 60)}")
    if writes:
        body.append("# every value is computed: write the variables")
        body.extend(writes)
    body.append(f"return [{', '.join(results)}]")

    source = f"def {fn_name}({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    return Program(fn_name, source, namespace, f"<graphc {fn_name} {digest}>", names, node_lines)
