"""Fuzz graphc for a while: random graphs against the reference interpreter.

    python tools/fuzz.py --minutes 5          # as many graphs as fit in 5 minutes
    python tools/fuzz.py --seed 1234          # re-run one graph and print its reproducer
    python tools/fuzz.py --edges --minutes 5  # unguarded graphs fed 0, -0.0, +-inf, NaN, negatives

Uses the generators of tests/reliability/graphgen.py (the same as the
bounded hypothesis tests in CI), drawing from ``random.Random(seed)`` with
consecutive seeds. Each seed builds one graph (even seeds: float64 with a
gradient check against central finite differences; odd seeds: forward only,
float32 or float64), compiles it at optimize=0, 1 and 2 and feeds its None
dimension at sizes 0, 1 and 3. Prints a count and, for every failure, the
seed and a standalone Python reproducer. Exit status 1 if anything failed.
With ``--edges`` every seed builds an edge-value graph instead (see
graphgen.py), forward only: float64 for odd seeds, float32 for even ones.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.reliability import graphgen  # noqa: E402


def edge_case(seed: int):
    return graphgen.build(graphgen.RandomChooser(seed), "float64" if seed % 2 else "float32", edges=True)


def run_seed(seed: int, edges: bool = False) -> dict:
    """Build and check the graph of ``seed``; returns what was checked."""
    if edges:
        return {"forward": graphgen.check_forward(edge_case(seed)), "gradient": 0, "near_kink": False}
    for_grad = seed % 2 == 0
    dtype = "float64" if for_grad or seed % 4 == 1 else "float32"
    case = graphgen.build(graphgen.RandomChooser(seed), dtype, for_grad=for_grad)
    result = {"forward": graphgen.check_forward(case), "gradient": 0, "near_kink": False}
    if for_grad:
        result["gradient"] = graphgen.check_gradients(case)
        result["near_kink"] = result["gradient"] < 2 * len(graphgen.LEVELS)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to fuzz (default 1)")
    parser.add_argument("--start", type=int, default=int(time.time()) % 1_000_000 * 1000,
                        help="first seed (default: from the clock)")
    parser.add_argument("--seed", type=int, help="check only this seed and print its reproducer")
    parser.add_argument("--max-failures", type=int, default=20)
    parser.add_argument("--edges", action="store_true", help="edge-value graphs (NaN, inf, -0.0, negatives)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)

    if args.seed is not None:
        case = edge_case(args.seed) if args.edges else graphgen.build(
            graphgen.RandomChooser(args.seed), "float64" if args.seed % 2 == 0 or args.seed % 4 == 1 else "float32",
            for_grad=args.seed % 2 == 0)
        print(case.reproducer.replace("SIZE, OPT", "1, 2"))
        try:
            print(run_seed(args.seed, args.edges))
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            return 1
        return 0

    deadline = time.monotonic() + 60 * args.minutes
    graphs = compiled = gradient_graphs = near_kink = 0
    failures = []
    seed = args.start
    while time.monotonic() < deadline and len(failures) < args.max_failures:
        try:
            result = run_seed(seed, args.edges)
            compiled += result["forward"]
            gradient_graphs += result["gradient"] > 0
            near_kink += result["near_kink"]
        except Exception as exc:  # noqa: BLE001  (every failure is reported with its seed)
            text = str(exc) if isinstance(exc, graphgen.Mismatch) else traceback.format_exc()
            failures.append((seed, text))
            print(f"FAILURE seed={seed}\n{text}\n", flush=True)
        graphs += 1
        seed += 1
    print(f"fuzz: {graphs} graphs (seeds {args.start}..{seed - 1}), {compiled} (level, size) runs "
          f"compared with the reference, {gradient_graphs} graphs' gradients compared with finite "
          f"differences ({near_kink} had a size too near a kink to compare), {len(failures)} failures")
    for s, _ in failures:
        print(f"  reproduce: python tools/fuzz.py --seed {s}{' --edges' if args.edges else ''}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
