"""Function: a graph compiled to numpy source, callable on arrays."""
from __future__ import annotations

import threading

import numpy as np

from graphc.eager import before_state_change
from graphc.graph import Graph, Tensor, graph_mode
from graphc.debugging import check_numerics_enabled
from graphc.lower.codegen import generate
from graphc.passes import optimize as optimize_graph
from graphc.ops.leaves import PlaceholderOp, Variable, as_tensor
from graphc.types import format_shape


MAX_SIGNATURES = 8  # input-shape signatures whose buffers a Function keeps (per thread)


def _check_updates(updates) -> list:
    pairs, seen = [], set()
    for item in updates or ():
        try:
            if isinstance(item, Tensor):  # a Variable would unpack into its rows
                raise TypeError
            var, value = item
        except (TypeError, ValueError):
            raise TypeError(f"updates: expected (variable, new_value) pairs, got {item!r}") from None
        if not isinstance(var, Variable):
            raise TypeError(f"updates: {var!r} is not a gc.Variable")
        if id(var) in seen:
            raise ValueError(f"updates: variable {var.name!r} is updated twice")
        seen.add(id(var))
        value = as_tensor(value, var)
        if not np.can_cast(value.dtype, var.dtype, "same_kind"):
            raise TypeError(f"updates: new value {value.name!r} of dtype {value.dtype} cannot be stored "
                            f"in variable {var.name!r} of dtype {var.dtype}")
        if len(value.shape) != len(var.shape) or any(
                v is not None and v != w for v, w in zip(value.shape, var.shape)):
            raise ValueError(f"updates: new value {value.name!r} has shape {format_shape(value.shape)}, "
                             f"variable {var.name!r} has shape {format_shape(var.shape)}")
        if None in value.shape:
            raise ValueError(f"updates: new value {value.name!r} for variable {var.name!r} has a dimension "
                             f"known only at run time {format_shape(value.shape)}; reduce it to the "
                             f"variable's shape {format_shape(var.shape)}")
        pairs.append((var, value))
    return pairs


def coerce_feed(placeholder: Tensor, value) -> np.ndarray:
    """``value`` as an array fit for ``placeholder``, or a ValueError naming both."""
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    if array.dtype != placeholder.dtype:
        if not np.can_cast(array.dtype, placeholder.dtype, "same_kind"):
            raise ValueError(f"placeholder {placeholder.name!r} expects dtype {placeholder.dtype}, "
                             f"got an array of dtype {array.dtype} (an unsafe cast)")
        array = array.astype(placeholder.dtype)
    expected = placeholder.shape
    if array.ndim != len(expected) or any(d is not None and d != s for d, s in zip(expected, array.shape)):
        raise ValueError(f"placeholder {placeholder.name!r} expects shape {format_shape(expected)}, "
                         f"got an array of shape {format_shape(array.shape)}")
    return array


class Function:
    """A compiled graph: call it with arrays for ``inputs``.

    ``source`` is the generated numpy code, ``graph`` the graph it was
    generated from. A call returns a list of arrays (the array itself when
    ``outputs`` was a single tensor) and then applies ``updates``.
    """

    def __init__(self, inputs, outputs, updates=None, name: str = "graphc_function",
                 optimize: int = 2, passes: dict | None = None, keep_graphs: bool = False,
                 check_numerics: bool | None = None, plan_memory: bool = True, fast_math: bool = False):
        self.single_output = isinstance(outputs, Tensor)
        outputs = [outputs] if self.single_output else list(outputs)
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs or ())
        for t in inputs:
            if not isinstance(t, Tensor) or not isinstance(t.op, PlaceholderOp):
                raise TypeError(f"inputs: {t!r} is not a placeholder (gc.placeholder)")
        if len({id(t) for t in inputs}) != len(inputs):
            raise ValueError("inputs: a placeholder is listed twice")
        outputs = [as_tensor(o) for o in outputs]
        self.inputs = inputs
        self.outputs = outputs
        self.updates = _check_updates(updates)
        self.name = name
        self.written_graph = Graph(inputs, outputs, self.updates)  # as the user built it
        if check_numerics is None:
            check_numerics = check_numerics_enabled()
        self.check_numerics = bool(check_numerics)
        with graph_mode():  # what the passes build is graph, not eager values
            self.graph, self.stats = optimize_graph(self.written_graph, optimize, passes, keep_graphs,
                                                    fast_math)
            self.program = generate(self.graph, name, check_numerics=self.check_numerics,
                                    plan_memory=plan_memory)
        self.source = self.program.source
        self._fn = self.program.compile()
        self._no_buffers = (None,) * len(self.program.slot_keys)
        self._local = threading.local()  # buffers are per thread: calls may run concurrently
        # per input: (dtype, rank, fixed dimensions) an array must match to be taken as it is
        self._expected = [(t.dtype, len(t.shape), tuple((i, d) for i, d in enumerate(t.shape) if d is not None))
                          for t in inputs]

    def __repr__(self):
        return f"<graphc.Function {self.name!r} inputs={[t.name for t in self.inputs]} outputs={len(self.outputs)}>"

    def _arrays(self, args, kwargs) -> list:
        if len(args) == 1 and isinstance(args[0], dict):  # a feed {placeholder: array}
            feed = args[0]
            missing = [t.name for t in self.inputs if t not in feed]
            if missing:
                raise ValueError(f"feed is missing placeholders {missing}")
            args = [feed[t] for t in self.inputs]
        if kwargs:
            raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}; pass arrays in input order")
        if len(args) != len(self.inputs):
            raise TypeError(f"{self.name} takes {len(self.inputs)} arrays "
                            f"({', '.join(repr(t.name) for t in self.inputs)}), got {len(args)}")
        arrays = list(args)
        for k, (array, (dtype, rank, fixed)) in enumerate(zip(arrays, self._expected)):
            if (type(array) is not np.ndarray or array.dtype != dtype or array.ndim != rank
                    or any(array.shape[i] != d for i, d in fixed)):
                arrays[k] = coerce_feed(self.inputs[k], array)
        return arrays

    def __call__(self, *args, **kwargs):
        arrays = self._arrays(args, kwargs)
        if self.updates:
            before_state_change()  # eager values computed before the update keep the old state
        with np.errstate(all="ignore"):
            if not self._no_buffers:
                results = self._fn(*arrays)
            else:
                results = self._call_with_buffers(arrays)
        return results[0] if self.single_output else results

    def _call_with_buffers(self, arrays) -> list:
        cache = getattr(self._local, "buffers", None)
        if cache is None:
            cache = self._local.buffers = {}
        signature = tuple(a.shape for a in arrays)
        buffers = cache.get(signature)
        if buffers is not None:
            return self._fn(*arrays, buffers)[0]
        # First call for these shapes: numpy allocates, and the arrays it
        # made become this signature's buffers.
        results, produced = self._fn(*arrays, self._no_buffers)
        if len(cache) >= MAX_SIGNATURES:
            del cache[next(iter(cache))]
        cache[signature] = self._adopt(produced)
        return results

    def _adopt(self, produced) -> tuple:
        """One buffer per slot from the arrays of a first call, or no buffers
        (always allocate) if values sharing a slot disagree in shape or memory
        layout: numpy lays out a new array like its inputs (a transpose's
        result is column-major), and sums and products run in memory order,
        so a value computed into a buffer of another layout would round
        differently from the first call."""
        buffers = list(self._no_buffers)
        for slot, array in zip(self.program.produced_slots, produced):
            usable = isinstance(array, np.ndarray) and array.flags.writeable and array.base is None
            held = buffers[slot]
            if not usable or (held is not None and (held.shape != array.shape or held.dtype != array.dtype
                                                    or held.strides != array.strides)):
                return self._no_buffers
            if held is None:
                buffers[slot] = array
        return tuple(buffers)

    def print_source(self, file=None) -> None:
        """Print the generated code with line numbers, then the pass statistics."""
        from graphc.inspect import print_source
        print_source(self, file)

    def export(self, path) -> str:
        """Write this step as a module needing only numpy (state in an .npz beside it)."""
        from graphc.inspect import export_function
        return export_function(self, path)


def function(inputs=None, outputs=None, updates=None, name: str = "graphc_function", optimize: int = 2,
             passes: dict | None = None, keep_graphs: bool = False,
             check_numerics: bool | None = None, plan_memory: bool = True,
             fast_math: bool = False, input_signature=None):
    """Compile ``outputs`` (and ``updates``) of the graph over placeholder ``inputs``.

    ``optimize`` is 0 (no passes), 1 (cheap passes) or 2 (all, the default);
    ``passes={"fusion": False}`` switches passes off by name; with
    ``keep_graphs=True`` ``f.stats`` holds the graph after every pass;
    ``check_numerics=True`` raises ``NumericsError`` at the first NaN or Inf
    (default: ``gc.debugging.enable_check_numerics()`` was called);
    ``plan_memory=False`` lets numpy allocate every value instead of
    reusing buffers across calls. The passes never change what the graph
    computes, for NaN, inf and out-of-domain inputs too (only rounding);
    ``fast_math=True`` also allows identities that hold only for finite
    numbers in their domain: x - x -> 0, x / x -> 1, x * 0 -> 0,
    exp(log x) -> x, sqrt(x)**2 -> x, ...

    As a decorator, like ``tf.function`` (``@gc.function`` or
    ``@gc.function(input_signature=[gc.TensorSpec((None, 784))])``): the
    Python function is traced once per input signature into one compiled
    step; ``v.assign(...)`` inside it becomes an update of that step (see
    graphc/tracing.py).
    """
    options = dict(optimize=optimize, passes=passes, keep_graphs=keep_graphs,
                   check_numerics=check_numerics, plan_memory=plan_memory, fast_math=fast_math)
    decorating = outputs is None and updates is None and (inputs is None or (
        callable(inputs) and not isinstance(inputs, Tensor)))
    if decorating:
        from graphc.tracing import trace_function
        if name != "graphc_function":
            options["name"] = name
        return trace_function(inputs, input_signature=input_signature, **options)
    if outputs is None:
        raise TypeError("gc.function: pass the outputs to compile (gc.function(inputs, outputs)), "
                        "or use it as a decorator on a Python function")
    return Function(inputs, outputs, updates, name=name, **options)
