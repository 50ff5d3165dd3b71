"""Memory planning: liveness over the schedule and reuse of buffers.

Every value an op can write with ``out=`` gets a buffer slot; a slot is free
again after the last use of the value in it (uses through views count), so
values that are never alive together share memory. Slots are typed by the
static (shape, dtype) of their values. A Function allocates the buffers of
a slot on its first call for a given input signature (the arrays that call
produces become the buffers of later calls), so no shape arithmetic is
needed and a new batch size simply gets its own set. They are used only if
the values of each slot had one shape and one memory layout in that call:
then every call computes in the same layouts, so sums run in the same
order and give the same bits.

An elementwise node may also take over the buffer of an input whose last
use it is, when its statements read that input only up to their first
write of the output (ufuncs read and write element by element, so the
first write may itself read it): a chain of elementwise steps then works
in place, as a person writing numpy would.

Variable updates of the form ``v <- c * v + rest`` (and ``v <- beta * v +
alpha * a @ b``) are computed in place into the variable's own storage, in
the final block after every other value is computed.
"""
from __future__ import annotations

import re

from graphc.graph import consumers


def storage_root(node):
    """The node whose array ``node``'s value lives in (views share their input's)."""
    while getattr(node.op, "returns_view", False):
        node = node.inputs[0]
    return node


def last_uses(sequence) -> dict:
    """id(storage root) -> index in ``sequence`` of its last reader."""
    last = {}
    for i, node in enumerate(sequence):
        for inp in node.inputs:
            last[id(storage_root(inp))] = i
    return last


def escaping(graph) -> set:
    """ids of storage roots that outputs may share: never buffered, since the
    caller keeps them. (Update values may live in buffers: they are copied
    into their variables.)"""
    return {id(storage_root(t)) for t in graph.outputs}


def bufferable(node, escapes: set) -> bool:
    return (hasattr(node.op, "emit_planned") and not getattr(node.op, "returns_view", False)
            and len(node.shape) > 0 and node.dtype.kind in "biuf" and id(node) not in escapes)


class BufferPool:
    """Slots of buffers, each for one (shape, dtype), reused once free."""

    def __init__(self):
        self.keys = []      # slot -> (shape, dtype)
        self.free = {}      # (shape, dtype) -> [slot, ...]

    def take(self, shape, dtype) -> int:
        key = (tuple(shape), str(dtype))
        free = self.free.get(key)
        if free:
            return free.pop()
        self.keys.append(key)
        return len(self.keys) - 1

    def give(self, slot: int) -> None:
        self.free.setdefault(self.keys[slot], []).append(slot)

    @staticmethod
    def name(slot: int) -> str:
        return f"buf{slot}"


def deferrable_updates(graph, computed: list) -> dict:
    """id(value node) -> variable for updates computed in place into the variable.

    An update qualifies when its value is computed by an op that can write
    in place (``emit_update``: elementwise, gemm), reads its variable
    directly, reads no other updated variable (not even through a view),
    and is used by nothing but other in-place updates, which come after it
    in the final block and so read the new value, as they should.
    """
    users = consumers(computed)
    updated = {id(var) for var, _ in graph.updates}
    outputs = {id(o) for o in graph.outputs}
    values = [value for _, value in graph.updates]
    candidates = {}
    for var, value in graph.updates:
        if (not hasattr(value.op, "emit_update") or id(value) in outputs
                or sum(v is value for v in values) > 1 or not any(i is var for i in value.inputs)):
            continue
        if any(id(storage_root(i)) in updated for i in value.inputs if i is not var):
            continue
        candidates[id(value)] = var
    changed = True
    while changed:  # drop values that something other than a deferred update reads
        changed = False
        for key in list(candidates):
            if any(id(u) not in candidates for u in users.get(key, ())):
                del candidates[key]
                changed = True
    return candidates


def dying_inputs(node, i: int, last: dict, slot_of: dict, pool: BufferPool) -> list:
    """(slot, input) for the inputs of ``node`` (the ``i``-th in the schedule)
    whose buffer it may write its output into: elementwise ops only, and
    inputs whose value dies at ``node`` and whose slot has ``node``'s type."""
    if not getattr(node.op, "writes_elementwise", False):
        return []
    key = (tuple(node.shape), str(node.dtype))
    found = {}  # slot -> input (an input given twice is one candidate)
    for inp in node.inputs:
        slot = slot_of.get(id(inp))
        if slot is not None and last.get(id(inp)) == i and pool.keys[slot] == key:
            found.setdefault(slot, inp)
    return list(found.items())


def read_after_write(lines: list, buffer: str, name: str) -> bool:
    """Whether ``name`` is read by a statement after the first one writing ``out=buffer``
    (True, unsafe, when no statement writes it)."""
    first = next((k for k, line in enumerate(lines) if re.search(rf"out={buffer}\b", line)), None)
    if first is None:
        return True
    uses = re.compile(rf"\b{re.escape(name)}\b")
    return any(uses.search(line) for line in lines[first + 1:])
