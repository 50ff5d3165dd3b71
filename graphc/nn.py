"""TensorFlow's ``tf.nn`` names for graphc's fused neural-network ops."""
from graphc.ops.elementwise import relu, sigmoid, softplus, tanh
from graphc.ops.nn import (softmax_cross_entropy_with_logits,
                           sparse_softmax_cross_entropy_with_logits)
from graphc.ops.reduce import log_softmax, softmax

__all__ = ["relu", "sigmoid", "softplus", "tanh", "softmax", "log_softmax",
           "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits"]
