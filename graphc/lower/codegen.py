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

from graphc.debugging import NumericsChecker, fused_parts
from graphc.graph import Graph, escape_text, topological_order
from graphc.ops.leaves import ConstantOp, PlaceholderOp, VariableOp
from graphc.lower.memory import (BufferPool, bufferable, deferrable_updates, dying_inputs, escaping,
                                 last_uses, read_after_write, storage_root)
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
    return isinstance(storage_root(node).op, (VariableOp, ConstantOp))


@dataclass
class Program:
    """Generated source plus what is needed to run and inspect it."""
    name: str
    source: str
    namespace: dict
    filename: str
    names: dict = field(default_factory=dict)       # id(node) -> identifier
    node_lines: dict = field(default_factory=dict)  # id(node) -> first line number (1-based)
    # With buffers: the function takes a tuple of buffers (one per slot, or
    # Nones to allocate) and returns (outputs, produced), where produced[k]
    # is the array computed into slot produced_slots[k].
    produced_slots: list = field(default_factory=list)
    slot_keys: list = field(default_factory=list)

    def compile(self):
        lines = self.source.splitlines(keepends=True)
        linecache.cache[self.filename] = (len(self.source), None, lines, self.filename)
        code = compile(self.source, self.filename, "exec")
        exec(code, self.namespace)  # our own generated source; user text only in sanitized names/comments
        return self.namespace[self.name]


def _comment(node) -> str:
    return f"  # {escape_text(node.name, 60)} {format_shape(node.shape)} {node.dtype}"


def generate(graph: Graph, name: str = "graphc_function", check_numerics: bool = False,
             plan_memory: bool = True) -> Program:
    """Write ``graph`` as the source of one Python function named ``name``.

    With ``plan_memory`` values are written into reused buffers (see
    memory.py); with ``check_numerics`` every floating-point value is
    checked for NaN and Inf right after the statement that computes it.
    """
    namer = Namer({"buffers"})
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

    nodes = topological_order(graph.roots + [var for var, _ in graph.updates])
    for node in nodes:  # leaves first: parameters, variables and constants
        if id(node) in names or not node.op.is_leaf:
            continue
        if isinstance(node.op, PlaceholderOp):
            raise ValueError(f"the graph needs placeholder {node.name!r}, which is not among the inputs")
        ident = names[id(node)] = namer(node.name)
        namespace[ident] = node.value if isinstance(node.op, VariableOp) else (
            node.op.value[()] if node.op.value.ndim == 0 else node.op.value)

    computed = [n for n in nodes if not n.op.is_leaf]
    deferred = deferrable_updates(graph, computed) if plan_memory and not check_numerics else {}
    sequence = [n for n in computed if id(n) not in deferred] + [n for n in computed if id(n) in deferred]
    escapes = escaping(graph)
    last = last_uses(sequence)
    for _, value in graph.updates:  # read once more at the end, by the copy into its variable
        last[id(storage_root(value))] = len(sequence)
    pool = BufferPool()
    releases: dict = {}
    slot_of: dict = {}  # id(node) -> the slot its value is computed into
    produced, produced_slots = [], []

    body, tail, tail_nodes = [], [], []
    for i, node in enumerate(sequence):
        for slot in releases.pop(i, ()):
            pool.give(slot)
        scratch_slots = []

        def scratch(value_name, shape, is_bool, _slots=scratch_slots):
            slot = pool.take(shape, "bool" if is_bool else node.dtype)
            _slots.append(slot)
            produced.append(value_name)
            produced_slots.append(slot)
            return pool.name(slot)

        args = [names[id(inp)] for inp in node.inputs]
        # An op may bind objects (a random Generator, a BLAS kernel) in the
        # module's namespace: op.globals(node, planned) -> {hint: object};
        # their fresh names follow the input names in ``args``.
        bindings = node.op.globals(node, plan_memory) if hasattr(node.op, "globals") else {}
        for hint, obj in bindings.items():
            bound = namer(hint)
            namespace[bound] = obj
            args.append(bound)

        statements = None
        lines = tail if id(node) in deferred else body
        mark = len(produced)
        if id(node) in deferred:
            var = deferred[id(node)]
            target = next(k for k, inp in enumerate(node.inputs) if inp is var)
            statements = node.op.emit_update(names[id(var)], args, node, target, scratch)
            if statements is None:  # computed late all the same, then copied in
                del deferred[id(node)], produced[mark:], produced_slots[mark:]
            else:
                ident = names[id(node)] = names[id(var)]
        if statements is None:
            ident = names[id(node)] = namer(node.name)
            if plan_memory and bufferable(node, escapes):
                # An input that dies here may lend its buffer (the output is then
                # written over it), if no statement reads it after that write.
                # (not while checking numerics: a failing check re-reads a fused node's inputs)
                for slot, inp in [] if check_numerics else dying_inputs(node, i, last, slot_of, pool):
                    statements = node.op.emit_planned(ident, args, node, pool.name(slot), scratch)
                    if statements is not None and not read_after_write(statements, pool.name(slot),
                                                                       names[id(inp)]):
                        releases[i + 1].remove(slot)  # it now lives as long as this node's value
                        break
                    for taken in scratch_slots:
                        pool.give(taken)
                    scratch_slots.clear()
                    del produced[mark:], produced_slots[mark:]
                    statements = None
                else:
                    slot = pool.take(node.shape, node.dtype)
                    statements = node.op.emit_planned(ident, args, node, pool.name(slot), scratch)
                if statements is None:
                    pool.give(slot)
                    del produced[mark:], produced_slots[mark:]
                else:
                    produced.append(ident)
                    produced_slots.append(slot)
                    slot_of[id(node)] = slot
                    releases.setdefault(max(last.get(id(node), i), i) + 1, []).append(slot)
            if statements is None:
                statements = node.op.emit(ident, args, node)
        for slot in scratch_slots:
            releases.setdefault(i + 1, []).append(slot)
        if lines is tail:
            tail_nodes.append(node)

        if len(statements) == 1:
            node_lines[id(node)] = len(lines) + 1
            lines.append(statements[0] + _comment(node))
        else:
            lines.append(_comment(node).strip())
            node_lines[id(node)] = len(lines) + 1
            lines.extend(statements)
        if checker is not None and node.dtype.kind == "f":
            inputs = "".join(f", {a}" for a in args[:len(node.inputs)]) if fused_parts(node) else ""
            lines.append(f"check_numerics({ident}, {checker.register(node)}{inputs})")

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
        if id(value) in deferred:
            continue
        ident = names[id(value)]
        if aliases_storage(value):
            copy = namer(f"{value.name}_value")
            body.append(f"{copy} = {ident}.copy()")
            ident = copy
        writes.append(f"np.copyto({names[id(var)]}, {ident})  # update {escape_text(var.name, 60)}")
    if writes or tail:
        body.append("# every value is computed: write the variables")
        tail_start = len(body)
        body.extend(tail)
        for node in tail_nodes:
            node_lines[id(node)] += tail_start
        body.extend(writes)

    header = [f"def {fn_name}({', '.join(params + (['buffers'] if produced else []))}):"]
    if produced:
        slots = [pool.name(k) for k in range(len(pool.keys))]
        header.append(f"    ({', '.join(slots)},) = buffers")
        body.append(f"return [{', '.join(results)}], ({', '.join(produced)},)")
    else:
        body.append(f"return [{', '.join(results)}]")
    offset = len(header)
    node_lines = {k: v + offset for k, v in node_lines.items()}
    source = "\n".join(header) + "\n" + "".join(f"    {line}\n" for line in body)
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    return Program(fn_name, source, namespace, f"<graphc {fn_name} {digest}>", names, node_lines,
                   produced_slots, list(pool.keys) if produced else [])
