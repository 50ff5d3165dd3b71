"""Structural ops against numpy: transpose, reshape, expand/squeeze, concat, stack,
basic indexing, cast, one_hot, stop_gradient; and their build-time errors."""
import numpy as np
import pytest

import graphc as gc

FLOATS = ["float32", "float64"]
BATCHES = (2, 5)


def concrete(shape, batch):
    return tuple(batch if d is None else d for d in shape)


def sample(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# (input shape, op, numpy reference, expected static shape)
STRUCTURAL = [
    ("T", (None, 3), lambda x: x.T, lambda a: a.T, (3, None)),
    ("transpose", (None, 3, 4), gc.transpose, lambda a: np.transpose(a), (4, 3, None)),
    ("transpose perm", (None, 3, 4), lambda x: gc.transpose(x, (1, 0, 2)),
     lambda a: np.transpose(a, (1, 0, 2)), (3, None, 4)),
    ("reshape -1", (None, 3, 4), lambda x: gc.reshape(x, (-1, 12)), lambda a: a.reshape(-1, 12), (None, 12)),
    ("reshape None", (None, 3, 4), lambda x: gc.reshape(x, (None, 2, 6)),
     lambda a: a.reshape(-1, 2, 6), (None, 2, 6)),
    ("reshape method", (None, 6), lambda x: x.reshape(-1, 3, 2), lambda a: a.reshape(-1, 3, 2), (None, 3, 2)),
    ("reshape static", (2, 6), lambda x: gc.reshape(x, (3, 4)), lambda a: a.reshape(3, 4), (3, 4)),
    ("reshape static -1", (2, 6), lambda x: gc.reshape(x, (4, -1)), lambda a: a.reshape(4, -1), (4, 3)),
    ("expand_dims 0", (None, 3), lambda x: gc.expand_dims(x, 0), lambda a: a[None], (1, None, 3)),
    ("expand_dims -1", (None, 3), lambda x: gc.expand_dims(x, -1), lambda a: a[..., None], (None, 3, 1)),
    ("expand_dims 1", (None, 3), lambda x: gc.expand_dims(x, 1), lambda a: a[:, None], (None, 1, 3)),
    ("squeeze", (None, 1, 3, 1), gc.squeeze, lambda a: a.reshape(a.shape[0], 3), (None, 3)),
    ("squeeze axis", (None, 1, 3, 1), lambda x: gc.squeeze(x, -1), lambda a: a[..., 0], (None, 1, 3)),
    ("getitem int", (None, 3, 4), lambda x: x[0], lambda a: a[0], (3, 4)),
    ("getitem column", (None, 3, 4), lambda x: x[:, 1], lambda a: a[:, 1], (None, 4)),
    ("getitem slices", (None, 5, 4), lambda x: x[1:, 1:4, ::2], lambda a: a[1:, 1:4, ::2], (None, 3, 2)),
    ("getitem negative", (None, 5), lambda x: x[:, -2:], lambda a: a[:, -2:], (None, 2)),
    ("getitem reversed", (None, 5), lambda x: x[:, ::-1], lambda a: a[:, ::-1], (None, 5)),
    ("getitem step", (None, 7), lambda x: x[:, 1:6:2], lambda a: a[:, 1:6:2], (None, 3)),
    ("getitem ellipsis", (None, 3, 4), lambda x: x[..., 2], lambda a: a[..., 2], (None, 3)),
    ("getitem newaxis", (None, 3), lambda x: x[:, None, 1:], lambda a: a[:, None, 1:], (None, 1, 2)),
    ("getitem last", (None, 3), lambda x: x[:, -1], lambda a: a[:, -1], (None,)),
    ("stop_gradient", (None, 3), gc.stop_gradient, lambda a: a, (None, 3)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, shape, op, ref, out_shape", STRUCTURAL, ids=[s[0] for s in STRUCTURAL])
def test_structural_ops_match_numpy(name, shape, op, ref, out_shape, dtype, compiled):
    rng = np.random.default_rng(0)
    x = gc.placeholder(shape, dtype=dtype)
    y = op(x)
    assert y.shape == out_shape and y.dtype == np.dtype(dtype)
    f = compiled([x], y)
    batches = BATCHES if None in shape else (None,)
    for batch in batches:
        a = sample(rng, concrete(shape, batch), dtype)
        out = f(a)
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(out, ref(a))


@pytest.mark.parametrize("dtype", FLOATS)
def test_structural_results_are_not_views_of_fed_arrays_that_change_later(dtype, compiled):
    x = gc.placeholder((None, 3), dtype=dtype)
    f = compiled([x], [x.T, x[:, 1:]])
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    t, s = f(a)
    np.testing.assert_array_equal(t, np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(s, np.arange(6).reshape(2, 3)[:, 1:])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_and_stack(axis, dtype, compiled):
    rng = np.random.default_rng(1)
    a = gc.placeholder((None, 3), dtype=dtype, name="a")
    b = gc.placeholder((None, 3), dtype=dtype, name="b")
    c = gc.placeholder((None, 3), dtype=dtype, name="c")
    st = gc.stack([a, b, c], axis=axis)
    assert st.shape == {0: (3, None, 3), 1: (None, 3, 3), -1: (None, 3, 3)}[axis]
    outs = [st]
    if axis != 0:  # concatenating along the batch needs equal batches only when it is not the axis
        cat = gc.concat([a, b, c], axis=axis)
        assert cat.shape == (None, 9)
        outs.append(gc.concatenate([a, b], axis=axis))
        outs.append(cat)
    f = compiled([a, b, c], outs)
    for batch in BATCHES:
        va, vb, vc = (sample(rng, (batch, 3), dtype) for _ in range(3))
        got = f(va, vb, vc)
        np.testing.assert_array_equal(got[0], np.stack([va, vb, vc], axis=axis))
        if axis != 0:
            np.testing.assert_array_equal(got[1], np.concatenate([va, vb], axis=axis))
            np.testing.assert_array_equal(got[2], np.concatenate([va, vb, vc], axis=axis))


def test_concat_along_the_batch_axis(compiled):
    a = gc.placeholder((None, 2), name="a")
    b = gc.placeholder((3, 2), name="b")
    y = gc.concat([a, b], 0)
    assert y.shape == (None, 2)
    s = gc.concat([gc.placeholder((4, 2)), b], 0)
    assert s.shape == (7, 2)
    f = compiled([a, b], y)
    va, vb = np.ones((5, 2), np.float32), np.zeros((3, 2), np.float32)
    np.testing.assert_array_equal(f(va, vb), np.concatenate([va, vb]))


@pytest.mark.parametrize("src, dst", [
    ("float32", "float64"), ("float64", "float32"), ("float32", "int32"),
    ("int32", "float32"), ("float64", "bool"), ("int64", "int32"),
])
def test_cast(src, dst, compiled):
    x = gc.placeholder((None,), dtype=src)
    y = gc.cast(x, dst)
    z = x.astype(dst)
    assert y.dtype == z.dtype == np.dtype(dst)
    a = np.array([-2.0, 0.0, 1.0, 3.0]).astype(src)
    out_y, out_z = compiled([x], [y, z])(a)
    np.testing.assert_array_equal(out_y, a.astype(dst))
    np.testing.assert_array_equal(out_z, a.astype(dst))


def test_cast_to_the_same_dtype_is_identity():
    x = gc.placeholder((3,), dtype="float32")
    assert gc.cast(x, "float32") is x


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_one_hot(dtype, index_dtype, compiled):
    labels = gc.placeholder((None,), dtype=index_dtype)
    y = gc.one_hot(labels, 4, dtype=dtype)
    assert y.shape == (None, 4) and y.dtype == np.dtype(dtype)
    f = compiled([labels], y)
    for a in (np.array([0, 3, 1], index_dtype), np.array([2, 2, 0, 1, 3, 7], index_dtype)):
        expected = np.zeros((len(a), 4), dtype)
        for row, k in enumerate(a):
            if 0 <= k < 4:  # out of range gives a zero row, as in TensorFlow
                expected[row, k] = 1
        np.testing.assert_array_equal(f(a), expected)


def test_one_hot_defaults_to_float32_and_needs_integers():
    assert gc.one_hot(gc.placeholder((None,), dtype="int32"), 3).dtype == np.float32
    with pytest.raises(TypeError, match="integer"):
        gc.one_hot(gc.placeholder((None,), dtype="float32"), 3)
    with pytest.raises(ValueError, match="depth"):
        gc.one_hot(gc.placeholder((None,), dtype="int32"), -1)


def test_trivial_structural_ops_return_the_input():
    x = gc.placeholder((None, 3))
    assert gc.transpose(gc.placeholder((5,))).shape == (5,)
    assert x[...] is x and x[:] is x
    assert gc.squeeze(x) is x


# --------------------------------------------------------------- build errors

@pytest.mark.parametrize("build, error, words", [
    (lambda: gc.reshape(gc.placeholder((2, 3)), (4, 2)), ValueError, ["(2, 3)", "(4, 2)"]),
    (lambda: gc.reshape(gc.placeholder((2, 3)), (4, -1)), ValueError, ["(2, 3)", "(4, -1)"]),
    (lambda: gc.reshape(gc.placeholder((None, 3)), (4, 2)), ValueError, ["(None, 3)", "(4, 2)"]),
    (lambda: gc.reshape(gc.placeholder((None, 3)), (-1, -1)), ValueError, ["-1"]),
    (lambda: gc.transpose(gc.placeholder((2, 3)), (0, 0)), ValueError, ["(0, 0)", "(2, 3)"]),
    (lambda: gc.transpose(gc.placeholder((2, 3)), (0, 1, 2)), ValueError, ["(0, 1, 2)", "(2, 3)"]),
    (lambda: gc.squeeze(gc.placeholder((2, 3)), 0), ValueError, ["(2, 3)", "axis 0"]),
    (lambda: gc.squeeze(gc.placeholder((2, 1)), 2), ValueError, ["axis 2", "rank 2"]),
    (lambda: gc.expand_dims(gc.placeholder((2, 3)), 5), ValueError, ["axis 5"]),
    (lambda: gc.concat([gc.placeholder((2, 3)), gc.placeholder((2, 4))], 0), ValueError, ["(2, 3)", "(2, 4)"]),
    (lambda: gc.concat([gc.placeholder((2, 3)), gc.placeholder((2, 3, 1))], 0), ValueError, ["rank"]),
    (lambda: gc.concat([gc.placeholder((2, 3)), gc.placeholder((2, 3))], 2), ValueError, ["axis 2"]),
    (lambda: gc.stack([gc.placeholder((2, 3)), gc.placeholder((3, 3))]), ValueError, ["(1, 2, 3)", "(1, 3, 3)"]),
    (lambda: gc.placeholder((2, 3))[2], IndexError, ["2", "(2, 3)"]),
    (lambda: gc.placeholder((2, 3))[0, 0, 0], IndexError, ["(2, 3)"]),
    (lambda: gc.placeholder((2, 3))[[0, 1]], TypeError, ["basic indexing"]),
    (lambda: gc.placeholder((2, 3))[0.5], TypeError, ["basic indexing"]),
    (lambda: gc.placeholder((2, 3))[::0], ValueError, ["step"]),
    (lambda: gc.placeholder((2, 3))[..., ...], IndexError, ["Ellipsis"]),
])
def test_build_errors_are_clear(build, error, words):
    with pytest.raises(error) as err:
        build()
    for word in words:
        assert word in str(err.value)


# ----------------------------------------------------------------- set_item

@pytest.mark.parametrize("index, value_shape", [((1, 2), ()), ((slice(None), 0), (3,)), ((0,), (1,)),
                                                 ((slice(1, None), slice(None, None, 2)), (2, 2))])
def test_set_item_against_numpy_and_its_gradient(index, value_shape):
    from graphc.ops.array import set_item
    from tests.autodiff_gradcheck import check_grad
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal(value_shape)
    expected = x.copy()
    expected[index] = v
    np.testing.assert_array_equal(set_item(gc.constant(x), index, gc.constant(v)).numpy(), expected)
    check_grad(lambda a, b: set_item(a, index, b), [x, v], optimized=True)


def test_set_item_refuses_a_value_that_does_not_fit_the_slice():
    from graphc.ops.array import set_item
    x = gc.placeholder((3, 4), name="x")
    with pytest.raises(ValueError, match=r"'v'.*\(2,\).*\(4,\)"):
        set_item(x, 0, gc.placeholder((2,), name="v"))
    with pytest.raises(TypeError, match="dtype"):
        set_item(gc.placeholder((3,), "int32", name="i"), 0, 1.5)
