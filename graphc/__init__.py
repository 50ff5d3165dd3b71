"""graphc: a define-then-run tensor compiler that lowers graphs to numpy source.

    import graphc as gc
    x = gc.placeholder((None, 3), name="x")
    y = gc.reduce_sum(gc.relu(x @ gc.Variable(np.ones((3, 2)), name="w")))
    f = gc.function([x], y)
    print(f.source)
"""
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

__version__ = "0.1.0"
