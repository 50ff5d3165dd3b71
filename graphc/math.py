"""TensorFlow's ``tf.math`` names for graphc's elementwise ops and reductions."""
from graphc.ops.elementwise import (abs, add, ceil, cos, divide, equal, exp, floor, greater, greater_equal,
                                    less, less_equal, log, maximum, minimum, multiply, negative, not_equal,
                                    power, reciprocal, rsqrt, sigmoid, sign, sin, softplus, sqrt, square,
                                    subtract, tanh, where)
from graphc.ops.reduce import argmax, log_softmax, reduce_max, reduce_mean, reduce_min, reduce_sum, softmax

pow = power
truediv = divide


def divide_no_nan(x, y, name=None):
    """``x / y``, and 0 where ``y`` is 0 (also when ``x`` is inf or NaN there)."""
    from graphc.ops.leaves import as_tensor
    y = as_tensor(y, x if hasattr(x, "dtype") else None)
    zero = equal(y, 0)
    return where(zero, 0, divide(x, where(zero, 1, y)), name=name)


def squared_difference(x, y, name=None):
    return square(subtract(x, y), name=name)


__all__ = ["abs", "add", "argmax", "ceil", "cos", "divide", "divide_no_nan", "equal", "exp", "floor",
           "greater", "greater_equal", "less", "less_equal", "log", "log_softmax", "maximum", "minimum",
           "multiply", "negative", "not_equal", "pow", "power", "reciprocal", "reduce_max", "reduce_mean",
           "reduce_min", "reduce_sum", "rsqrt", "sigmoid", "sign", "sin", "softmax", "softplus", "sqrt",
           "square", "squared_difference", "subtract", "tanh", "truediv"]
