"""graphc: a define-then-run tensor compiler that lowers graphs to numpy source.

    import graphc as gc
    x = gc.placeholder((None, 3), name="x")
    y = gc.reduce_sum(gc.relu(x @ gc.Variable(np.ones((3, 2)), name="w")))
    f = gc.function([x], y)
    print(f.source)
"""
import numpy as _np

from graphc import debugging, random
from graphc.autodiff import grad, hessian, jacobian
from graphc.export import to_dot, to_networkx
from graphc.function import Function, function
from graphc.graph import Graph, Tensor, name_scope
from graphc.tape import GradientTape
from graphc.tracing import TensorSpec
from graphc import viz
from graphc.ops import *  # noqa: F401,F403  (the op functions are the public API)
from graphc.ops import abs, reduce_sum  # noqa: F401
from graphc import math, nn

# numpy-style aliases
sum = reduce_sum
mean = reduce_mean  # noqa: F405
max = reduce_max  # noqa: F405
min = reduce_min  # noqa: F405
dot = matmul  # noqa: F405
concatenate = concat  # noqa: F405
pow = power  # noqa: F405
mul = multiply  # noqa: F405
sub = subtract  # noqa: F405
div = divide  # noqa: F405
neg = negative  # noqa: F405
clip_by_value = clip  # noqa: F405

# TensorFlow's dtype names (numpy dtypes: every dtype argument takes them)
float16, float32, float64 = _np.dtype("float16"), _np.dtype("float32"), _np.dtype("float64")
int8, int16, int32, int64 = (_np.dtype(f"int{n}") for n in (8, 16, 32, 64))
uint8, bool = _np.dtype("uint8"), _np.dtype("bool")
newaxis = None


def convert_to_tensor(value, dtype=None, name=None) -> Tensor:
    """``value`` as a Tensor (a Tensor as it is, cast to ``dtype`` if one is given)."""
    if isinstance(value, Tensor):
        return value if dtype is None or value.dtype == _np.dtype(dtype) else cast(value, dtype)  # noqa: F405
    return constant(value, dtype=dtype, name=name or "constant")  # noqa: F405


def __getattr__(name):
    # ``import graphc as tf; tf.keras`` works as it does in TensorFlow, while the
    # core itself never imports the front end.
    if name == "keras":
        import importlib
        return importlib.import_module("graphc.keras")
    raise AttributeError(f"module 'graphc' has no attribute {name!r}")

__version__ = "0.1.0"
