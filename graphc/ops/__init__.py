"""The ops users call to build graphs. Each builds tensors; none evaluates."""
from graphc.ops.array import (broadcast_like, cast, concat, expand_dims, getitem, identity,
                              one_hot, ones_like, reshape, squeeze, stack,
                              stop_gradient, transpose, zeros_like)
from graphc.ops.elementwise import (abs, add, clip, cos, divide, elementwise,
                                    equal, exp, floor, ceil, greater, greater_equal, less,
                                    less_equal, log, maximum, minimum, multiply,
                                    negative, not_equal, power, reciprocal, relu,
                                    rsqrt, sigmoid, sign, sin, softplus, sqrt,
                                    square, subtract, tanh, where)
from graphc.ops.leaves import Variable, as_tensor, constant, ones, placeholder, zeros
from graphc.ops.linalg import matmul
from graphc.ops.reduce import (argmax, log_softmax, reduce_max, reduce_mean,
                               reduce_min, reduce_sum, softmax)

# the op functions only (not this package's modules, e.g. graphc.ops.nn: graphc.nn is TensorFlow's)
__all__ = [
    "Variable", "abs", "add", "argmax", "as_tensor", "broadcast_like", "cast", "ceil", "clip",
    "concat", "constant", "cos", "divide", "elementwise", "equal", "exp", "expand_dims", "floor",
    "getitem", "greater", "greater_equal", "identity", "less", "less_equal", "log", "log_softmax", "matmul",
    "maximum", "minimum", "multiply", "negative", "not_equal", "one_hot", "ones", "ones_like",
    "placeholder", "power", "reciprocal", "reduce_max", "reduce_mean", "reduce_min", "reduce_sum",
    "relu", "reshape", "rsqrt", "sigmoid", "sign", "sin", "softmax", "softplus", "sqrt", "square",
    "squeeze", "stack", "stop_gradient", "subtract", "tanh", "transpose", "where", "zeros",
    "zeros_like",
]
