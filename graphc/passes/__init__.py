"""Optimization passes and the pass manager.

A pass is a function from Graph to Graph, registered here by name. An
optimization level is a fixed sequence of pass names; any pass can be
switched off by name. The manager records, for every pass it runs, the graph
size before and after and the time it took (and optionally the graphs).

Every pass preserves what the graph computes for every input, NaN, +-inf
and values outside a function's domain included; only rounding may change
(see ieee.py for exactly what). The passes that let SymPy simplify
(and gemm and matmul scaling: ``FAST_MATH_PASSES``) take ``fast_math``:
with it they also use identities that hold for real numbers but not for
floats (x - x -> 0, x / x -> 1, x * 0 -> 0, exp(log x) -> x, sqrt(x)**2 ->
x, a number distributed over a sum, ...).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from graphc.graph import Graph
from graphc.ops.scalar import count_ops
from graphc.passes.constant_folding import fold_constants
from graphc.passes.cse import cse
from graphc.passes.dce import dce
from graphc.passes.fusion import fuse_elementwise
from graphc.passes.gemm import fold_into_gemm
from graphc.passes.matmul_scaling import scale_matmul_operands
from graphc.passes.rewrite import same_graph
from graphc.passes.simplify import simplify
from graphc.passes.stable import stabilize

PASSES = {
    "cse": cse,
    "constant_folding": fold_constants,
    "simplify": simplify,
    "stable": stabilize,
    "fusion": fuse_elementwise,
    "gemm": fold_into_gemm,
    "matmul_scaling": scale_matmul_operands,
    "dce": dce,
}

# Passes that take the fast_math switch.
FAST_MATH_PASSES = frozenset({"simplify", "stable", "fusion", "gemm", "matmul_scaling"})

LEVELS = {
    0: [],
    1: ["cse", "constant_folding", "simplify", "cse", "dce"],
    2: ["cse", "constant_folding", "simplify", "stable", "constant_folding", "simplify", "cse",
        "fusion", "gemm", "matmul_scaling", "cse", "dce"],
}


def graph_size(graph: Graph) -> tuple:
    """(nodes, ops): ops counts each scalar operation inside fused expressions."""
    nodes = graph.nodes()
    ops = 0
    for n in nodes:
        if n.op.is_leaf:
            continue
        expr = getattr(n.op, "expr", None)
        ops += max(1, count_ops(expr)) if expr is not None else 1
    return len(nodes), ops


@dataclass
class PassRecord:
    name: str
    nodes_before: int
    nodes_after: int
    ops_before: int
    ops_after: int
    seconds: float
    graph: Graph | None = None  # the graph after the pass, when kept


@dataclass
class PassStats:
    records: list = field(default_factory=list)

    def __iter__(self):
        return iter(self.records)

    def __len__(self):
        return len(self.records)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def __str__(self):
        lines = [f"{'pass':<18}{'nodes':>15}{'ops':>15}{'ms':>9}"]
        for r in self.records:
            lines.append(f"{r.name:<18}{r.nodes_before:>7} -> {r.nodes_after:<5}"
                         f"{r.ops_before:>7} -> {r.ops_after:<5}{r.seconds * 1e3:>9.1f}")
        lines.append(f"{'total':<18}{'':>30}{self.seconds * 1e3:>9.1f}")
        return "\n".join(lines)


def pipeline(level: int, passes: dict | None = None) -> list:
    if level not in LEVELS:
        raise ValueError(f"optimize must be one of {sorted(LEVELS)}, got {level!r}")
    switches = dict(passes or {})
    unknown = sorted(set(switches) - set(PASSES))
    if unknown:
        raise ValueError(f"unknown passes {unknown}; known passes are {sorted(PASSES)}")
    return [name for name in LEVELS[level] if switches.get(name, True)]


def optimize(graph: Graph, level: int = 2, passes: dict | None = None,
             keep_graphs: bool = False, fast_math: bool = False) -> tuple:
    """Run the passes of ``level`` (minus those switched off in ``passes``);
    ``fast_math`` allows the rewrites that are not exact for NaN, inf or
    values outside a function's domain.

    Returns (optimized graph, PassStats).
    """
    stats = PassStats()
    size = graph_size(graph)
    produced: dict = {}  # pass name -> the graph it last returned
    for name in pipeline(level, passes):
        start = time.perf_counter()
        if name in produced and same_graph(produced[name], graph):
            pass  # nothing changed since this pass last ran: running it again would change nothing
        else:
            options = {"fast_math": fast_math} if name in FAST_MATH_PASSES else {}
            graph = produced[name] = PASSES[name](graph, **options)
        seconds = time.perf_counter() - start
        new_size = graph_size(graph)
        stats.records.append(PassRecord(name, size[0], new_size[0], size[1], new_size[1], seconds,
                                        graph if keep_graphs else None))
        size = new_size
    return graph, stats
