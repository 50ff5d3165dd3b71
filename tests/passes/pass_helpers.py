"""Helpers for the pass tests: run one pass, list op names, compare levels.

References are always independent of the pass under test: the same graph
compiled at level 0 (no passes), or numpy.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Graph
from graphc.passes import PASSES

TOL = {np.dtype("float32"): dict(rtol=1e-5, atol=1e-5),
       np.dtype("float64"): dict(rtol=1e-11, atol=1e-11)}


def run_pass(name: str, outputs, inputs=(), updates=(), **options) -> Graph:
    outputs = [outputs] if isinstance(outputs, gc.Tensor) else list(outputs)
    return PASSES[name](Graph(list(inputs), outputs, list(updates)), **options)


def op_names(graph: Graph) -> list:
    """Names of the non-leaf ops, in topological order."""
    return [n.op.name for n in graph.nodes() if not n.op.is_leaf]


def same_values(inputs, outputs, feeds, levels=(0, 2), passes=None, fast_math=False):
    """Compile ``outputs`` at each level, call with ``feeds``; assert all agree
    (dtype, shape, values) with level 0. Returns the level-0 values."""
    fs = {lvl: gc.function(inputs, list(outputs), optimize=lvl, passes=passes if lvl else None,
                           fast_math=fast_math)
          for lvl in (0,) + tuple(l for l in levels if l)}
    ref = fs[0](*feeds)
    for lvl, f in fs.items():
        got = f(*feeds)
        for t, r, g in zip(outputs, ref, got):
            g, r = np.asarray(g), np.asarray(r)
            assert g.dtype == r.dtype == t.dtype, (lvl, t.name, g.dtype, r.dtype)
            assert g.shape == r.shape, (lvl, t.name, g.shape, r.shape)
            np.testing.assert_allclose(g, r, **TOL.get(g.dtype, dict(rtol=0, atol=0)),
                                       err_msg=f"level {lvl} vs 0 for {t.name}")
    return ref
