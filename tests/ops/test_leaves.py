"""Leaves of the graph: constant, placeholder, Variable, zeros/ones, random."""
import numpy as np
import pytest

import graphc as gc

# ------------------------------------------------------------------ constant


@pytest.mark.parametrize("value, dtype", [
    (1.5, "float32"),                      # Python floats become float32 (TensorFlow)
    ([1.0, 2.0], "float32"),
    ([[1, 2], [3, 4]], "int32"),
    (3, "int32"),
    (True, "bool"),
    (np.array([1.0, 2.0]), "float64"),     # numpy arrays keep their dtype
    (np.array([1.0], dtype=np.float16), "float16"),
    (np.array(2.0), "float64"),
    (np.arange(3, dtype=np.int64), "int64"),
    (np.array([1, 2], dtype=np.uint8), "uint8"),
])
def test_constant_dtype_conventions(value, dtype):
    c = gc.constant(value)
    assert c.dtype == np.dtype(dtype)
    assert c.shape == np.shape(value)
    out = c.numpy()
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.asarray(value))


def test_constant_with_explicit_dtype():
    assert gc.constant([1, 2], dtype="float64").numpy().dtype == np.float64
    assert gc.constant(np.float32(2), dtype="int32").numpy() == 2
    with pytest.raises(TypeError, match="exactly"):
        gc.constant([1.5], dtype="int32")
    with pytest.raises(TypeError):
        gc.constant(["a", "b"])
    with pytest.raises(TypeError):
        gc.constant([1 + 2j])


def test_constant_is_immutable():
    c = gc.constant([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError) as err:
        c[0, 0] = 5
    assert "gc.Variable" in str(err.value)
    with pytest.raises(AttributeError):
        c.shape = (4,)
    out = c.numpy()
    out[0, 0] = 99  # the value handed out is a copy
    np.testing.assert_array_equal(c.numpy(), [[1.0, 2.0], [3.0, 4.0]])


def test_constant_does_not_alias_the_source_array():
    a = np.array([1.0, 2.0])
    c = gc.constant(a)
    a[0] = 100.0
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("maker, fill", [(gc.zeros, 0.0), (gc.ones, 1.0)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_zeros_and_ones(maker, fill, dtype):
    t = maker((2, 3), dtype=dtype)
    assert t.shape == (2, 3) and t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), fill, dtype=dtype))
    assert maker(4).shape == (4,) and maker(4).dtype == np.float32


# ------------------------------------------------------------------ random

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_normal(dtype):
    r = gc.random.normal((200, 100), mean=2.0, stddev=3.0, dtype=dtype, seed=0)
    v = r.numpy()
    assert r.shape == v.shape == (200, 100) and r.dtype == v.dtype == np.dtype(dtype)
    assert abs(v.mean() - 2.0) < 0.1 and abs(v.std() - 3.0) < 0.1
    np.testing.assert_array_equal(gc.random.normal((200, 100), 2.0, 3.0, dtype=dtype, seed=0).numpy(), v)
    assert not np.array_equal(gc.random.normal((200, 100), 2.0, 3.0, dtype=dtype, seed=1).numpy(), v)
    np.testing.assert_array_equal(r.numpy(), v)  # drawn once: evaluating again gives the same values


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_uniform(dtype):
    r = gc.random.uniform((100, 100), minval=-1.0, maxval=3.0, dtype=dtype, seed=0)
    v = r.numpy()
    assert v.dtype == np.dtype(dtype) and v.shape == (100, 100)
    assert v.min() >= -1.0 and v.max() < 3.0
    assert abs(v.mean() - 1.0) < 0.05
    np.testing.assert_array_equal(gc.random.uniform((100, 100), -1.0, 3.0, dtype=dtype, seed=0).numpy(), v)


def test_random_set_seed_makes_unseeded_draws_reproducible():
    gc.random.set_seed(7)
    first = gc.random.normal((5,)).numpy()
    gc.random.set_seed(7)
    np.testing.assert_array_equal(gc.random.normal((5,)).numpy(), first)


def test_random_values_feed_a_graph(compiled, close):
    x = gc.placeholder((None, 4), dtype="float32")
    w = gc.random.normal((4, 2), seed=3)
    a = np.ones((3, 4), dtype=np.float32)
    close(compiled([x], x @ w)(a), a.astype(np.float64) @ w.numpy().astype(np.float64), "float32")


# ------------------------------------------------------------------ placeholder

def test_placeholder_static_type():
    x = gc.placeholder((None, 784), dtype="float32", name="x")
    assert x.shape == (None, 784) and x.dtype == np.float32 and x.ndim == 2 and x.name == "x"
    assert gc.placeholder(3).shape == (3,)
    assert gc.placeholder(()).shape == ()
    assert gc.placeholder((None,)).dtype == np.float32  # float32 by default


@pytest.mark.parametrize("shape, dtype, error", [
    ((2, -1), "float32", TypeError),
    ((2, 1.5), "float32", TypeError),
    ("abc", "float32", TypeError),
    (None, "float32", TypeError),
    ((2,), "complex64", TypeError),
    ((2,), "not-a-dtype", TypeError),
])
def test_placeholder_rejects_bad_types(shape, dtype, error):
    with pytest.raises(error):
        gc.placeholder(shape, dtype=dtype)


def test_placeholder_cannot_be_evaluated_unfed():
    x = gc.placeholder((2,), name="needed")
    with pytest.raises(ValueError, match="needed"):
        x.numpy()
    np.testing.assert_array_equal(x.eval({x: [1.0, 2.0]}), [1.0, 2.0])


# ------------------------------------------------------------------ Variable

def test_variable_static_type_and_value():
    v = gc.Variable(np.arange(6.0).reshape(3, 2), name="v")
    assert v.shape == (3, 2) and v.dtype == np.float64 and v.name == "v" and v.trainable
    assert not gc.Variable(1.0, trainable=False).trainable
    assert gc.Variable(1.0).dtype == np.float32
    assert gc.Variable([1, 2], dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(v.numpy(), np.arange(6.0).reshape(3, 2))
    out = v.numpy()
    out[0, 0] = 42  # numpy() is a copy
    assert v.numpy()[0, 0] == 0


def test_variable_does_not_alias_its_initial_value():
    init = np.zeros(3)
    v = gc.Variable(init)
    v.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(init, np.zeros(3))
    init[0] = 7
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_assign_assign_add_assign_sub_apply_at_once(dtype):
    v = gc.Variable(np.zeros((2, 2), dtype=dtype), name="v")
    assert v.assign(np.ones((2, 2))) is v
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 2)))
    v.assign_add(np.full((2, 2), 2.5))
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 3.5))
    v.assign_sub(gc.constant(np.eye(2, dtype=dtype)))
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 3.5) - np.eye(2))
    v.assign(v * 2.0)  # a tensor is evaluated, then stored
    np.testing.assert_array_equal(v.numpy(), (np.full((2, 2), 3.5) - np.eye(2)) * 2)
    assert v.numpy().dtype == np.dtype(dtype)


def test_assign_shows_in_graphs_that_read_the_variable(compiled):
    v = gc.Variable(np.ones(3, dtype=np.float32), name="v")
    x = gc.placeholder((3,), name="x")
    f = compiled([x], x * v)
    np.testing.assert_array_equal(f(np.full(3, 2.0, np.float32)), [2.0, 2.0, 2.0])
    v.assign([5.0, 6.0, 7.0])
    np.testing.assert_array_equal(f(np.full(3, 2.0, np.float32)), [10.0, 12.0, 14.0])
    np.testing.assert_array_equal((v + 1.0).numpy(), [6.0, 7.0, 8.0])


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
@pytest.mark.parametrize("value, error, words", [
    (np.ones((3, 2), dtype=np.int32), ValueError, ["(3, 2)", "(2, 2)"]),
    (np.ones(2, dtype=np.int64), ValueError, ["(2,)", "(2, 2)"]),
    (np.ones((2, 2), dtype=complex), TypeError, ["complex128", "int32"]),
    (np.full((2, 2), 1.5), TypeError, ["float64", "int32"]),
])
def test_assign_checks_shape_and_dtype(method, value, error, words):
    v = gc.Variable(np.zeros((2, 2), dtype=np.int32), name="counter")
    with pytest.raises(error) as err:
        getattr(v, method)(value)
    assert "counter" in str(err.value)
    for word in words:
        assert word in str(err.value)
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 2)))  # nothing changed


def test_as_tensor_and_leaves_in_scopes():
    with gc.name_scope("layer"):
        v = gc.Variable(1.0, name="kernel")
        c = gc.constant(2.0, name="c")
        x = gc.placeholder((), name="x")
    assert (v.name, c.name, x.name) == ("layer/kernel", "layer/c", "layer/x")
    assert v.scope == "layer"
