"""Fused, numerically stable losses: softmax cross-entropy from logits.

``softmax_cross_entropy_with_logits`` and its sparse form compute the loss
per example from logits through log-softmax (finite for logits of any size),
and their gradient with respect to the logits is ``softmax - labels``, the
closed form, computed without building the one-hot matrix in the sparse case.
"""
from __future__ import annotations

from graphc.graph import Tensor, make_tensor
from graphc.ops.array import expand_dims, one_hot
from graphc.ops.base import StepsOp
from graphc.ops.leaves import as_tensor
from graphc.ops.reduce import log_softmax, log_softmax_lines, reduce_sum, softmax
from graphc.types import format_shape, is_float


def _check_logits(logits: Tensor, what: str):
    if not is_float(logits.dtype) or logits.ndim < 1:
        raise TypeError(f"{what}: logits {logits.name!r} must be a float tensor of rank >= 1, "
                        f"got {logits.dtype} {format_shape(logits.shape)}")


class SoftmaxCrossEntropy(StepsOp):
    """-sum(labels * log_softmax(logits), axis=-1) for dense (probability) labels."""
    name = "softmax_cross_entropy"

    def infer(self, inputs):
        labels, logits = inputs
        _check_logits(logits, self.name)
        if labels.ndim != logits.ndim or any(a is not None and b is not None and a != b
                                             for a, b in zip(labels.shape, logits.shape)):
            raise ValueError(f"{self.name}: labels {labels.name!r} {format_shape(labels.shape)} and logits "
                             f"{logits.name!r} {format_shape(logits.shape)} must have the same shape")
        return logits.shape[:-1], logits.dtype

    def emit_planned(self, out, args, node, buffer, scratch):
        labels, x = args
        logp = f"{out}__logp"
        shape = node.inputs[1].shape
        lines = log_softmax_lines(logp, x, -1, scratch(logp, shape, False), scratch, shape)
        # the reduction comes last: for 1-D logits it makes a numpy scalar, which
        # no later statement could write in place
        return lines + [f"np.multiply({logp}, {labels}, out={logp})",
                        f"np.negative({logp}, out={logp})",
                        f"{out} = np.add.reduce({logp}, axis=-1, out={buffer})"]

    def grad(self, node, g):
        labels, logits = node.inputs
        g = expand_dims(g, -1)
        total = reduce_sum(labels, -1, keepdims=True)
        return [-log_softmax(logits) * g, (softmax(logits) * total - labels) * g]


class SparseSoftmaxCrossEntropy(StepsOp):
    """-log_softmax(logits)[..., labels] for integer class labels."""
    name = "sparse_softmax_cross_entropy"

    def infer(self, inputs):
        labels, logits = inputs
        _check_logits(logits, self.name)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: labels {labels.name!r} must be integers, got {labels.dtype}")
        if labels.ndim != logits.ndim - 1 or any(a is not None and b is not None and a != b
                                                 for a, b in zip(labels.shape, logits.shape[:-1])):
            raise ValueError(f"{self.name}: labels {labels.name!r} {format_shape(labels.shape)} must have "
                             f"the shape of logits {logits.name!r} {format_shape(logits.shape)} without "
                             "the class axis")
        return labels.shape, logits.dtype

    def emit_planned(self, out, args, node, buffer, scratch):
        labels, x = args
        logp = f"{out}__logp"
        lines = log_softmax_lines(logp, x, -1, scratch(logp, node.inputs[1].shape, False), scratch,
                                  node.inputs[1].shape)
        return lines + _negative_pick(out, logp, labels, node, buffer)

    def grad(self, node, g):
        # The gradient reads log_softmax(logits): once the forward loss is
        # split into the same log_softmax and a pick (SparseNLL, by the
        # simplify pass), both share it.
        labels, logits = node.inputs
        return [None, make_tensor(SparseSoftmaxCrossEntropyGrad(), [labels, log_softmax(logits), g])]


def _negative_pick(out, logp, labels, node, buffer) -> list:
    """``out = -logp[..., labels]`` (the labels are ``node``'s first input)."""
    if node.inputs[0].ndim == 1:  # a batch of labels: plain fancy indexing is the fastest pick
        rows = f"{out}__rows"
        return [f"{rows} = np.arange({labels}.shape[0])",
                f"{out} = np.negative({logp}[{rows}, {labels}], out={buffer})"]
    return [f"{out} = np.negative(np.take_along_axis({logp}, {labels}[..., None], axis=-1)[..., 0], "
            f"out={buffer})"]


class SparseNLL(StepsOp):
    """-log_probs[..., labels]: the sparse cross-entropy of log-probabilities.

    The passes write ``sparse_softmax_cross_entropy(labels, logits)`` as this
    of ``log_softmax(logits)``, which its gradient also reads.
    """
    name = "sparse_nll"

    def infer(self, inputs):
        return SparseSoftmaxCrossEntropy.infer(self, inputs)

    def emit_planned(self, out, args, node, buffer, scratch):
        labels, logp = args
        return _negative_pick(out, logp, labels, node, buffer)

    def grad(self, node, g):
        labels, logp = node.inputs
        depth = logp.shape[-1]
        if depth is None:
            raise ValueError(f"the gradient of {node.name!r} needs a static number of classes")
        return [None, -one_hot(labels, depth, logp.dtype) * expand_dims(g, -1)]


class SparseSoftmaxCrossEntropyGrad(StepsOp):
    """(exp(log_probs) - one_hot(labels)) * g[..., None], without a one-hot matrix:
    the gradient of the sparse softmax cross-entropy with respect to the logits."""
    name = "sparse_softmax_cross_entropy_grad"
    broadcast_inputs = (2,)  # g may be anything that broadcasts to the labels' shape

    def infer(self, inputs):
        return inputs[1].shape, inputs[1].dtype

    def emit_planned(self, out, args, node, buffer, scratch):
        labels, logp, g = args
        return [f"{out} = np.exp({logp}, out={buffer})",
                *self._subtract_one_hot(out, labels, node),
                f"np.multiply({out}, {g}[..., None], out={out})"]

    @staticmethod
    def _subtract_one_hot(out, labels, node) -> list:
        if node.inputs[0].ndim == 1:
            return [f"{out}[np.arange({labels}.shape[0]), {labels}] -= 1"]
        return [f"np.put_along_axis({out}, {labels}[..., None], "
                f"np.take_along_axis({out}, {labels}[..., None], axis=-1) - 1, axis=-1)"]

    def grad(self, node, gg):
        # Differentiate the same value written with ordinary ops.
        from graphc.autodiff import grad
        from graphc.ops.elementwise import exp
        labels, logp, g = node.inputs
        depth = logp.shape[-1]
        if depth is None:
            raise ValueError(f"second derivative of {node.name!r} needs a static number of classes")
        value = (exp(logp) - one_hot(labels, depth, logp.dtype)) * expand_dims(g, -1)
        return [None] + grad(value, [logp, g], grad_ys=gg)


def softmax_cross_entropy_with_logits(labels, logits, name=None) -> Tensor:
    """Per-example cross-entropy of ``labels`` (probabilities) and ``softmax(logits)``."""
    logits = as_tensor(logits)
    return make_tensor(SoftmaxCrossEntropy(), [as_tensor(labels, logits), logits], name)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None) -> Tensor:
    """Per-example cross-entropy of integer ``labels`` and ``softmax(logits)``.

    A label outside [0, classes) raises IndexError when the graph runs.
    """
    logits = as_tensor(logits)
    return make_tensor(SparseSoftmaxCrossEntropy(), [as_tensor(labels), logits], name)
