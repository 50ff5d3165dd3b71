"""Reductions, softmax, log_softmax and argmax against numpy."""
import numpy as np
import pytest

import graphc as gc

FLOATS = ["float32", "float64"]
BATCHES = (2, 5)

REDUCTIONS = [
    ("reduce_sum", gc.reduce_sum, np.sum),
    ("reduce_mean", gc.reduce_mean, np.mean),
    ("reduce_max", gc.reduce_max, np.max),
    ("reduce_min", gc.reduce_min, np.min),
    ("gc.sum", gc.sum, np.sum),
    ("gc.mean", gc.mean, np.mean),
    (".sum", lambda x, axis=None, keepdims=False: x.sum(axis, keepdims), np.sum),
    (".max", lambda x, axis=None, keepdims=False: x.max(axis, keepdims), np.max),
]
AXES = [None, 0, 1, -1, (0, 2), (1, 2), (-1, 0)]


def reduced_shape(shape, axis, keepdims):
    axes = range(len(shape)) if axis is None else [a % len(shape) for a in np.atleast_1d(axis)]
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name, op, ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_numpy(name, op, ref, axis, keepdims, dtype, compiled, close):
    rng = np.random.default_rng(0)
    shape = (None, 3, 4)
    x = gc.placeholder(shape, dtype=dtype)
    y = op(x, axis=axis, keepdims=keepdims)
    assert y.shape == reduced_shape(shape, axis, keepdims)
    assert y.dtype == np.dtype(dtype)
    f = compiled([x], y)
    for batch in BATCHES:
        a = rng.standard_normal((batch, 3, 4)).astype(dtype)
        close(f(a), ref(a.astype(np.float64), axis=axis, keepdims=keepdims), dtype)


@pytest.mark.parametrize("op, ref", [(gc.reduce_sum, np.sum), (gc.reduce_max, np.max),
                                     (gc.reduce_min, np.min)])
def test_integer_reductions_stay_integer(op, ref, compiled):
    x = gc.placeholder((None, 3), dtype="int32")
    y = op(x, axis=1)
    out = compiled([x], y)(np.arange(12, dtype=np.int32).reshape(4, 3))
    assert y.dtype == out.dtype == np.int32
    np.testing.assert_array_equal(out, ref(np.arange(12).reshape(4, 3), axis=1))


def test_reduce_mean_of_a_constant():
    c = gc.constant(np.arange(6.0).reshape(2, 3))
    assert gc.reduce_mean(c).numpy() == pytest.approx(2.5)
    np.testing.assert_allclose(gc.reduce_mean(c, axis=0).numpy(), [1.5, 2.5, 3.5])


def np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(axis, dtype, compiled, close):
    rng = np.random.default_rng(1)
    x = gc.placeholder((None, 5), dtype=dtype)
    s, ls = gc.softmax(x, axis=axis), gc.log_softmax(x, axis=axis)
    assert s.shape == ls.shape == (None, 5) and s.dtype == ls.dtype == np.dtype(dtype)
    f = compiled([x], [s, ls])
    for batch in BATCHES:
        a = (rng.standard_normal((batch, 5)) * 3).astype(dtype)
        a64 = a.astype(np.float64)
        got_s, got_ls = f(a)
        close(got_s, np_softmax(a64, axis), dtype)
        close(got_ls, np.log(np_softmax(a64, axis)), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_is_stable_for_large_logits(dtype, compiled, close):
    x = gc.placeholder((None, 3), dtype=dtype)
    a = np.array([[1000.0, 0.0, -1000.0], [-500.0, -500.0, -500.0]], dtype=dtype)
    s, ls = compiled([x], [gc.softmax(x), gc.log_softmax(x)])(a)
    close(s, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], dtype)
    close(ls, [[0.0, -1000.0, -2000.0], [-np.log(3)] * 3], dtype)


@pytest.mark.parametrize("dtype", FLOATS + ["int32"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_argmax(axis, dtype, compiled):
    rng = np.random.default_rng(2)
    x = gc.placeholder((None, 4), dtype=dtype)
    y = gc.argmax(x, axis=axis)
    assert y.dtype == np.int64
    assert y.shape == ((4,) if axis == 0 else (None,))
    f = compiled([x], y)
    for batch in BATCHES:
        a = rng.permutation(batch * 4).reshape(batch, 4).astype(dtype)  # no ties
        np.testing.assert_array_equal(f(a), np.argmax(a, axis=axis))


def test_argmax_defaults_to_axis_0():
    c = gc.constant([[1.0, 5.0], [3.0, 2.0]])
    np.testing.assert_array_equal(gc.argmax(c).numpy(), [1, 0])


@pytest.mark.parametrize("build", [
    lambda x: gc.reduce_sum(x, axis=3),
    lambda x: gc.reduce_mean(x, axis=-4),
    lambda x: gc.reduce_max(x, axis=(0, 0)),
    lambda x: gc.softmax(x, axis=3),
    lambda x: gc.log_softmax(x, axis=-4),
    lambda x: gc.argmax(x, axis=3),
])
def test_bad_axes_fail_at_build_time(build):
    x = gc.placeholder((None, 3, 4), name="x")
    with pytest.raises(ValueError, match="axis"):
        build(x)


def test_reduce_max_of_an_empty_axis_fails_at_build_time():
    with pytest.raises(ValueError, match="empty"):
        gc.reduce_max(gc.placeholder((None, 0)), axis=1)


def test_softmax_needs_floats():
    with pytest.raises(TypeError, match="float"):
        gc.softmax(gc.placeholder((2, 3), dtype="int32"))
