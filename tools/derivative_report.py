"""How big are repeated derivatives? Node counts of d^n tanh(x) / dx^n.

    python tools/derivative_report.py [--max-order 8]

For n = 1..N, gc.grad is applied n times to tanh of a scalar placeholder and
the nodes of gc.Graph(outputs=[d]) are counted (the graph as autodiff writes
it). When gc.function accepts ``optimize=``, the report also compiles each
derivative at level 2 and gives the node count of the compiled Function's
graph and the compile time. Every value is checked against SymPy at x = 0.3.
"""
from __future__ import annotations

import argparse
import inspect
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import graphc as gc  # noqa: E402

POINT = 0.3


def supports_optimize() -> bool:
    return "optimize" in inspect.signature(gc.function).parameters


def derivatives(max_order: int):
    """[(n, d^n tanh / dx^n as a Tensor)] over one scalar placeholder."""
    x = gc.placeholder((), "float64", name="x")
    d, out = gc.tanh(x), []
    for n in range(1, max_order + 1):
        d = gc.grad(d, x)
        out.append((n, d))
    return x, out


def report(max_order: int) -> list:
    x, ders = derivatives(max_order)
    s = sp.Symbol("s")
    optimize = supports_optimize()
    rows = []
    for n, d in ders:
        row = {"n": n, "nodes": len(gc.Graph(outputs=[d]).nodes())}
        exact = float(sp.diff(sp.tanh(s), s, n).subs(s, POINT).evalf(30))
        if optimize:
            start = time.perf_counter()
            f = gc.function([x], d, optimize=2)
            row["compile_s"] = time.perf_counter() - start
            row["nodes_opt"] = len(f.graph.nodes())
        else:
            f = gc.function([x], d)
        value = float(f(np.float64(POINT)))
        row["rel_err"] = abs(value - exact) / max(1.0, abs(exact))
        rows.append(row)
    return rows


def format_table(rows) -> str:
    optimize = "nodes_opt" in rows[0]
    head = f"{'n':>2}  {'nodes (as written)':>18}"
    if optimize:
        head += f"  {'nodes (optimize=2)':>18}  {'compile (s)':>11}"
    head += f"  {'rel. error vs SymPy':>19}"
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{r['n']:>2}  {r['nodes']:>18}"
        if optimize:
            line += f"  {r['nodes_opt']:>18}  {r['compile_s']:>11.3f}"
        line += f"  {r['rel_err']:>19.1e}"
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-order", type=int, default=8, help="highest derivative (default 8)")
    args = parser.parse_args(argv)
    if args.max_order < 1:
        parser.error("--max-order must be at least 1")
    print("$ python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv if argv is not None else sys.argv[1:])))
    print(f"d^n tanh(x) / dx^n, x a float64 scalar placeholder, values checked at x = {POINT}")
    if not supports_optimize():
        print("(gc.function has no optimize= argument: unoptimized counts only)")
    print(format_table(report(args.max_order)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
