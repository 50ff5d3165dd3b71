"""The Op protocol: one small class per kind of computation.

An op is a stateless description; its parameters are plain attributes set in
``__init__`` (they make up its ``key``, used for equality and CSE). It knows
three things:

- ``infer(inputs)``: the output (shape, dtype), raising a clear error early;
- ``grad(node, g)``: the gradients of its inputs, built from other ops;
- ``emit(out, args, node)``: the numpy statements computing ``out``.
"""
from __future__ import annotations


class Op:
    name = "op"          # plain op name, shown in graphs and code comments
    is_leaf = False      # placeholders, constants, variables
    stateful = False     # e.g. random draws: never merged (CSE) or folded
    # Its planned statements are ufunc calls, each element of a result read
    # from the same element of its operands: the output may be written over
    # an input that is not read after the first write (memory planning).
    writes_elementwise = False

    def key(self) -> tuple:
        return (type(self),) + tuple(sorted(vars(self).items()))

    def __eq__(self, other):
        return isinstance(other, Op) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def describe(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"{self.name}[{params}]" if params else self.name

    def infer(self, inputs) -> tuple:
        raise NotImplementedError

    def grad(self, node, g) -> list:
        """Gradient of each input given ``g``, the gradient of ``node`` (None: no gradient)."""
        return [None] * len(node.inputs)

    def expression(self, args: list, node) -> str:
        raise NotImplementedError

    def emit(self, out: str, args: list, node) -> list:
        return [f"{out} = {self.expression(args, node)}"]


class StepsOp(Op):
    """An op written as several statements (softmax, fused cross-entropies).

    Its statements are written once, for buffers (``emit_planned``: the first
    statement writes ``out=<buffer>``, later ones work in place on ``out``).
    With ``None`` for every buffer the same statements make numpy allocate,
    which is the plain form ``emit`` returns.
    """

    def emit(self, out, args, node):
        return self.emit_planned(out, args, node, "None", lambda value, shape, is_bool: "None")
