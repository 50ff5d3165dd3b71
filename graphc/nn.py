"""TensorFlow's ``tf.nn`` names: activations and fused neural-network ops."""
from graphc.ops.elementwise import abs, exp, maximum, minimum, relu, rsqrt, sigmoid, softplus, square, tanh, where
from graphc.ops.nn import (softmax_cross_entropy_with_logits,
                           sparse_softmax_cross_entropy_with_logits)
from graphc.ops.reduce import log_softmax, reduce_sum, softmax

__all__ = ["relu", "relu6", "elu", "selu", "silu", "swish", "leaky_relu", "gelu", "softsign", "sigmoid",
           "softplus", "tanh", "softmax", "log_softmax", "l2_loss", "l2_normalize", "sigmoid_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits"]


def relu6(x):
    return minimum(relu(x), 6.0)


def elu(x, alpha=1.0):
    # exp of the negative part only: exp(x) of a large x would overflow in the branch not taken
    return where(x > 0.0, x, alpha * (exp(minimum(x, 0.0)) - 1.0))


def selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(x, alpha)


def silu(x):
    return x * sigmoid(x)


swish = silu


def leaky_relu(x, alpha=0.2):
    return where(x > 0.0, x, alpha * x)


def gelu(x, approximate=True):
    """The tanh approximation of GELU (graphc has no erf op, so only that form)."""
    if not approximate:
        raise NotImplementedError("gelu: the exact form needs erf, which graphc does not have; "
                                  "use approximate=True")
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def softsign(x):
    return x / (1.0 + abs(x))


def l2_loss(t):
    """``sum(t ** 2) / 2``."""
    return reduce_sum(t * t) / 2.0


def l2_normalize(x, axis=None, epsilon=1e-12):
    """``x / sqrt(max(sum(x ** 2, axis), epsilon))``: unit vectors along ``axis``
    (all axes if None); a zero vector stays zero (rsqrt(0) is never computed)."""
    return x * rsqrt(maximum(reduce_sum(square(x), axis=axis, keepdims=True), epsilon))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None):
    """Elementwise ``-labels * log(sigmoid(logits)) - (1 - labels) * log(1 - sigmoid(logits))``,
    computed stably as ``softplus(logits) - logits * labels``."""
    return softplus(logits) - logits * labels
