"""``@gc.function``: a Python function traced into one compiled step, like tf.function.

The first call with a new input signature runs the Python function on
placeholders (one per array argument, of the argument's shape and dtype)
while a ``Trace`` is recorded: every op builds graph, ``v.assign(...)`` and
friends become updates of the compiled step (later reads of ``v`` in the
trace see the assigned value, as TensorFlow orders them), and an eager value
from outside the trace is captured as a constant. The traced outputs and
updates compile into one ``Function``; later calls with the same signature
just run it. Python arguments that are not arrays (numbers, strings, None)
are part of the signature, so a new value traces again.
"""
from __future__ import annotations

import functools
import inspect
import threading
import weakref

import numpy as np

from graphc.graph import GRAPH, READS_STATE, Tensor, current_trace, tracing
from graphc.ops.leaves import as_tensor, constant, placeholder
from graphc.types import as_dtype, as_shape, format_shape


class TensorSpec:
    """Shape and dtype of an argument (``None`` dims match any size), for ``input_signature``."""

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = as_shape(shape, "TensorSpec")
        self.dtype = as_dtype(dtype, "TensorSpec")
        self.name = name

    def __repr__(self):
        return f"TensorSpec(shape={format_shape(self.shape)}, dtype={self.dtype}, name={self.name!r})"

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def matches(self, array: np.ndarray) -> bool:
        return array.ndim == len(self.shape) and all(d is None or d == s for d, s in zip(self.shape, array.shape))


class Trace:
    """What a traced function did to Variables: their values so far, in order."""

    def __init__(self):
        self.assigned: dict = {}   # id(variable) -> (variable, current value)
        self.owner: dict = {}      # id(current value) -> variable (for v[i].assign inside a trace)
        self.captured: dict = {}   # id(eager tensor) -> (tensor, its value as a constant)

    def read(self, tensor: Tensor) -> Tensor:
        """The tensor an op built in the trace takes for ``tensor``."""
        if tensor.is_variable:
            entry = self.assigned.get(id(tensor))
            return tensor if entry is None else entry[1]
        if not tensor._flags & GRAPH and tensor._flags & READS_STATE and not tensor.op.is_leaf:
            # an eager value made outside the trace: captured as it is now
            entry = self.captured.get(id(tensor))
            if entry is None:
                value = constant(tensor._eager_value(), name=tensor.name.rpartition("/")[2])
                entry = self.captured[id(tensor)] = (tensor, value)
            return entry[1]
        return tensor

    def variable_of(self, tensor: Tensor):
        """The Variable whose current value in the trace is ``tensor`` (or ``tensor`` itself)."""
        return self.owner.get(id(tensor), tensor)

    def assign(self, variable, value, what: str) -> None:
        value = as_tensor(value, variable)
        if value.shape != variable.shape:
            raise ValueError(f"Variable {variable.name!r}.{what}: value {value.name!r} of shape "
                             f"{format_shape(value.shape)} does not match the variable's shape "
                             f"{format_shape(variable.shape)}")
        if not np.can_cast(value.dtype, variable.dtype, "same_kind"):
            raise TypeError(f"Variable {variable.name!r}.{what}: value {value.name!r} of dtype {value.dtype} "
                            f"cannot be stored in dtype {variable.dtype}")
        self.assigned[id(variable)] = (variable, value)
        self.owner[id(value)] = variable

    def updates(self) -> list:
        return [(var, value) for var, value in self.assigned.values() if value is not var]


def record(fn, *args, **kwargs):
    """Run ``fn`` while recording a trace: returns (result, Trace)."""
    trace = Trace()
    with tracing(trace):
        result = fn(*args, **kwargs)
    return result, trace


# ----------------------------------------------------------------- structure

_TENSOR = object()  # marks an output leaf that is a tensor (other leaves come back as they are)


def _flatten(structure, leaves: list):
    """Replace each leaf of nested lists/tuples/dicts by its position in ``leaves``."""
    if isinstance(structure, (list, tuple)):
        return (type(structure), tuple(_flatten(item, leaves) for item in structure))
    if isinstance(structure, dict):
        return (dict, tuple((key, _flatten(structure[key], leaves)) for key in structure))
    leaves.append(structure)
    return len(leaves) - 1


def _unflatten(tree, leaves: list):
    if isinstance(tree, int):
        return leaves[tree]
    kind, items = tree
    if kind is dict:
        return {key: _unflatten(item, leaves) for key, item in items}
    values = [_unflatten(item, leaves) for item in items]
    return kind(*values) if hasattr(kind, "_fields") else kind(values)  # a namedtuple takes fields


def _is_array(leaf) -> bool:
    return isinstance(leaf, (np.ndarray, np.generic)) or (isinstance(leaf, Tensor) and not leaf.is_variable)


def _static_key(leaf):
    """How a non-array argument enters the signature."""
    if isinstance(leaf, Tensor):  # a Variable: the same object, whatever its value
        return ("variable", id(leaf))
    try:
        hash(leaf)
    except TypeError:
        raise TypeError(f"gc.function: argument {leaf!r:.80} is neither an array nor hashable; pass arrays, "
                        "numbers, strings or Variables") from None
    return ("python", type(leaf), leaf)


# ----------------------------------------------------------------- function

class TracedFunction:
    """A Python function compiled per input signature (what ``@gc.function`` returns)."""

    def __init__(self, fn, input_signature=None, name=None, **compile_options):
        functools.update_wrapper(self, fn)
        self.python_function = fn
        self.name = name or getattr(fn, "__name__", "function")
        self.input_signature = None if input_signature is None else list(input_signature)
        for spec in self.input_signature or ():
            if not isinstance(spec, TensorSpec):
                raise TypeError(f"gc.function: input_signature holds {spec!r}, not a gc.TensorSpec")
        self.compile_options = compile_options
        self._traces: dict = {}  # signature -> (Function, output tree, output leaves)
        self._lock = threading.Lock()
        self._bound = weakref.WeakKeyDictionary()  # instance -> TracedFunction of the method

    def __repr__(self):
        return f"<graphc.function {self.name!r} traced {len(self._traces)} time(s)>"

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        bound = self._bound.get(instance)
        if bound is None:
            bound = TracedFunction(self.python_function.__get__(instance, owner), self.input_signature,
                                   self.name, **self.compile_options)
            self._bound[instance] = bound
        return bound

    @property
    def tracing_count(self) -> int:
        """How many signatures have been traced (TensorFlow's experimental_get_tracing_count)."""
        return len(self._traces)

    def experimental_get_tracing_count(self) -> int:
        return self.tracing_count

    # ------------------------------------------------------------ signature
    def _arguments(self, args, kwargs):
        """(bound arguments, tree, leaves, leaf names, arrays, signature) of one call."""
        try:
            bound = inspect.signature(self.python_function).bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None
        except ValueError:  # no signature to read (a builtin): positional names
            bound = None
        named = dict(bound.arguments) if bound is not None else {f"arg{i}": a for i, a in enumerate(args)}
        leaves, names = [], []
        tree = _flatten(list(named.values()), leaves)
        for name, value in named.items():  # placeholder names: the parameter's, numbered inside a structure
            inner: list = []
            _flatten(value, inner)
            nested = isinstance(value, (list, tuple, dict))
            names.extend([f"{name}_{k}" for k in range(len(inner))] if nested else [name])
        arrays, signature = [], []
        specs = iter(self.input_signature) if self.input_signature is not None else None
        for leaf in leaves:
            if not _is_array(leaf):
                signature.append(_static_key(leaf))
                continue
            array = np.asarray(leaf._eager_value() if isinstance(leaf, Tensor) else leaf)
            if specs is None:
                signature.append(("array", array.shape, array.dtype.str))
            else:
                spec = next(specs, None)
                if spec is None or not spec.matches(array) or not np.can_cast(array.dtype, spec.dtype, "same_kind"):
                    raise ValueError(f"{self.name}: argument of shape {format_shape(array.shape)} and dtype "
                                     f"{array.dtype} does not match the input_signature {self.input_signature}")
                array = array.astype(spec.dtype, copy=False)
                signature.append(("array", spec.shape, spec.dtype.str))
            arrays.append(array)
        return bound, tree, leaves, names, arrays, (tree, tuple(signature))

    def _trace(self, bound, tree, leaves, names, signature):
        placeholders, traced_leaves = [], []
        for leaf, name, entry in zip(leaves, names, signature[1]):
            if entry[0] == "array":
                ph = placeholder(entry[1], np.dtype(entry[2]), name=name)
                placeholders.append(ph)
                traced_leaves.append(ph)
            else:
                traced_leaves.append(leaf)
        values = _unflatten(tree, traced_leaves)
        if bound is None:
            call_args, call_kwargs = values, {}
        else:
            for key, value in zip(list(bound.arguments), values):
                bound.arguments[key] = value
            call_args, call_kwargs = bound.args, bound.kwargs
        result, trace = record(self.python_function, *call_args, **call_kwargs)
        out_leaves: list = []
        out_tree = _flatten(result, out_leaves)
        outputs, kinds = [], []
        for leaf in out_leaves:
            if isinstance(leaf, Tensor):
                outputs.append(trace.read(leaf))  # a Variable returned after assign: its new value
                kinds.append(_TENSOR)
            else:
                kinds.append(leaf)  # a Python value comes back as it is
        from graphc.function import Function
        compiled = Function(placeholders, outputs, trace.updates(), name=self.name, **self.compile_options)
        return compiled, out_tree, kinds

    def get_concrete_function(self, *args, **kwargs):
        """The compiled ``Function`` for these arguments' signature (``.source`` shows it)."""
        return self._lookup(args, kwargs)[0][0]

    def _lookup(self, args, kwargs):
        bound, tree, leaves, names, arrays, signature = self._arguments(args, kwargs)
        entry = self._traces.get(signature)
        if entry is None:
            with self._lock:
                entry = self._traces.get(signature)
                if entry is None:
                    entry = self._traces[signature] = self._trace(bound, tree, leaves, names, signature)
        return entry, arrays

    def __call__(self, *args, **kwargs):
        if current_trace() is not None:  # called from another traced function: inline it
            return self.python_function(*args, **kwargs)
        (compiled, out_tree, kinds), arrays = self._lookup(args, kwargs)
        results = iter(compiled(*arrays))
        values = [constant(next(results)) if kind is _TENSOR else kind for kind in kinds]
        return _unflatten(out_tree, values)


def trace_function(fn=None, input_signature=None, **compile_options):
    """``@gc.function`` / ``@gc.function(input_signature=[...], optimize=...)``."""
    if fn is None:
        return lambda f: TracedFunction(f, input_signature, **compile_options)
    return TracedFunction(fn, input_signature, **compile_options)
