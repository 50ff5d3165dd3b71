"""Function: feeding, outputs, variable updates (atomic, after outputs), eval and its cache."""
import importlib

import numpy as np
import pytest

import graphc as gc
function_module = importlib.import_module("graphc.function")  # gc.function is the factory


def f32(*values):
    return np.array(values, dtype=np.float32)


# ------------------------------------------------------------------ feeding

def test_one_output_gives_the_array_a_list_gives_a_list():
    x = gc.placeholder((None, 2), name="x")
    single = gc.function([x], x + 1.0)
    several = gc.function([x], [x + 1.0, x * 2.0])
    a = np.ones((3, 2), np.float32)
    assert isinstance(single(a), np.ndarray)
    out = several(a)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_array_equal(out[1], a * 2)
    one_in_list = gc.function([x], [x + 1.0])(a)
    assert isinstance(one_in_list, list) and len(one_in_list) == 1


def test_none_dimensions_run_at_any_size_without_recompiling(monkeypatch):
    x = gc.placeholder((None, None, 3), name="x")
    f = gc.function([x], gc.reduce_sum(x, axis=-1))
    calls = []
    monkeypatch.setattr(function_module, "generate", lambda *a, **k: calls.append(a))
    for shape in [(1, 1, 3), (4, 7, 3), (0, 2, 3)]:
        a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(f(a), a.sum(axis=-1), rtol=1e-6)
    assert calls == []


@pytest.mark.parametrize("fed, words", [
    (np.zeros((2, 3, 1), np.float32), ["(None, 3)", "(2, 3, 1)"]),        # wrong rank
    (np.zeros((3,), np.float32), ["(None, 3)", "(3,)"]),
    (np.zeros((2, 4), np.float32), ["(None, 3)", "(2, 4)"]),              # wrong fixed dim
    (np.zeros((2, 3), np.complex64), ["float32", "complex64"]),           # unsafe dtype
    (np.array([["a", "b", "c"]]), ["float32", "<U1"]),
])
def test_bad_feeds_name_the_placeholder_and_both_types(fed, words):
    x = gc.placeholder((None, 3), dtype="float32", name="images")
    f = gc.function([x], x * 2.0)
    with pytest.raises(ValueError) as err:
        f(fed)
    assert "images" in str(err.value)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("fed", [np.zeros(3), np.array([0.5, 1.5, 2.5]), [1.0, 2.0, 3.0]])
def test_float_into_an_int_placeholder_is_refused(fed):
    n = gc.placeholder((3,), dtype="int32", name="labels")
    f = gc.function([n], n + 1)
    with pytest.raises(ValueError) as err:
        f(fed)
    assert "labels" in str(err.value) and "int32" in str(err.value) and "float64" in str(err.value)


def test_same_kind_feeds_are_converted():
    x = gc.placeholder((None, 2), dtype="float32", name="x")
    f = gc.function([x], x * 3.0)
    out = f(np.array([[1.0, 2.0]], dtype=np.float64))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[3.0, 6.0]])
    out = f([[1, 2], [3, 4]])  # nested lists and ints work too
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[3.0, 6.0], [9.0, 12.0]])
    n = gc.placeholder((2,), dtype="int32", name="n")
    assert gc.function([n], n * 2)(np.array([1, 2], np.int64)).dtype == np.int32


def test_feeding_by_dict_and_argument_count():
    x, y = gc.placeholder((2,), name="x"), gc.placeholder((2,), name="y")
    f = gc.function([x, y], x - y)
    np.testing.assert_array_equal(f({y: f32(1, 1), x: f32(5, 6)}), [4.0, 5.0])
    with pytest.raises(ValueError, match="'y'"):
        f({x: f32(1, 2)})
    with pytest.raises(TypeError, match="2 arrays"):
        f(f32(1, 2))
    with pytest.raises(TypeError, match="keyword"):
        f(f32(1, 2), y=f32(1, 2))


def test_inputs_must_be_distinct_placeholders_and_cover_the_graph():
    x = gc.placeholder((2,), name="x")
    hidden = gc.placeholder((2,), name="hidden")
    with pytest.raises(TypeError, match="placeholder"):
        gc.function([x * 2.0], x)
    with pytest.raises(ValueError, match="twice"):
        gc.function([x, x], x)
    with pytest.raises(ValueError, match="hidden"):
        gc.function([x], x + hidden)


def test_outputs_of_one_call_survive_the_next():
    x = gc.placeholder((None, 2), name="x")
    f = gc.function([x], [gc.exp(x), x * 2.0 + 1.0])
    first = f(np.zeros((2, 2), np.float32))
    kept = [a.copy() for a in first]
    f(np.ones((2, 2), np.float32))
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)


def test_constant_and_leaf_outputs():
    x = gc.placeholder((2,), name="x")
    c = gc.constant(f32(1, 2))
    f = gc.function([x], [x, c])
    a = f32(7, 8)
    out_x, out_c = f(a)
    np.testing.assert_array_equal(out_x, a)
    out_c[0] = 100  # the constant behind the output is not changed by the caller
    np.testing.assert_array_equal(gc.function([x], c)(a), [1.0, 2.0])


# ------------------------------------------------------------------ updates

def test_updates_apply_after_all_outputs():
    v = gc.Variable(f32(1, 2), name="v")
    x = gc.placeholder((2,), name="x")
    out = v * x  # computed with the value from before the update
    f = gc.function([x], [out, v + 0.0], updates=[(v, v + x)])
    got_out, got_v = f(f32(10, 10))
    np.testing.assert_array_equal(got_out, [10.0, 20.0])
    np.testing.assert_array_equal(got_v, [1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [11.0, 12.0])
    got_out, _ = f(f32(1, 1))
    np.testing.assert_array_equal(got_out, [11.0, 12.0])
    np.testing.assert_array_equal(v.numpy(), [12.0, 13.0])


def test_updates_read_old_values_of_each_other():
    a = gc.Variable(f32(1.0), name="a")
    b = gc.Variable(f32(10.0), name="b")
    step = gc.function([], [], updates=[(a, a + b), (b, a * b)])
    step()
    np.testing.assert_array_equal(a.numpy(), [11.0])
    np.testing.assert_array_equal(b.numpy(), [10.0])  # 1 * 10, not 11 * 10


def test_swapping_two_variables():
    a = gc.Variable(f32(1, 2), name="a")
    b = gc.Variable(f32(3, 4), name="b")
    swap = gc.function([], [], updates=[(a, b), (b, a)])
    swap()
    np.testing.assert_array_equal(a.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(b.numpy(), [1.0, 2.0])
    swap()
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])


def test_updates_with_views_of_variables():
    m = gc.Variable(np.arange(4, dtype=np.float32).reshape(2, 2), name="m")
    f = gc.function([], [], updates=[(m, m.T)])
    f()
    np.testing.assert_array_equal(m.numpy(), [[0.0, 2.0], [1.0, 3.0]])
    r = gc.Variable(f32(1, 2, 3), name="r")
    gc.function([], [], updates=[(r, r[::-1])])()
    np.testing.assert_array_equal(r.numpy(), [3.0, 2.0, 1.0])


@pytest.mark.parametrize("output, view", [
    (lambda v: v, lambda a: a),
    (lambda v: v.T, lambda a: a.T),
    (lambda v: v[0], lambda a: a[0]),
    (lambda v: v[:, ::-1], lambda a: a[:, ::-1]),
    (gc.stop_gradient, lambda a: a),
    (lambda v: gc.reshape(v, (4,)), lambda a: a.reshape(4)),
    (lambda v: gc.expand_dims(v, 0), lambda a: a[None]),
], ids=["v", "v.T", "v[0]", "v[:, ::-1]", "stop_gradient", "reshape", "expand_dims"])
def test_a_variable_output_is_the_value_before_the_update(output, view):
    v = gc.Variable(np.arange(4, dtype=np.float32).reshape(2, 2), name="v")
    before = v.numpy()
    f = gc.function([], output(v), updates=[(v, v + 100.0)])
    got = f()
    np.testing.assert_array_equal(got, view(before))
    np.testing.assert_array_equal(v.numpy(), before + 100)
    got_again = f()
    np.testing.assert_array_equal(got, view(before))  # not overwritten by the later step
    np.testing.assert_array_equal(got_again, view(before + 100))
    assert not np.shares_memory(got_again, v.value)


def test_a_failing_feed_changes_no_variable():
    v = gc.Variable(f32(1, 2), name="v")
    x = gc.placeholder((2,), name="x")
    y = gc.placeholder((2,), name="y")
    f = gc.function([x, y], v, updates=[(v, v + x + y)])
    with pytest.raises(ValueError):
        f(f32(1, 1), np.zeros(3, np.float32))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_an_exception_inside_the_generated_code_changes_no_variable():
    a = gc.Variable(f32(1, 2), name="a")
    b = gc.Variable(np.zeros((2, 2), np.float32), name="b")
    x = gc.placeholder((None, None), name="x")
    w = gc.placeholder((None, 2), name="w")
    bad = x @ w  # inner dimensions known only at run time
    f = gc.function([x, w], a, updates=[(a, a + 1.0), (b, gc.reduce_sum(bad, 0, keepdims=True) + b)])
    with pytest.raises(ValueError):
        f(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32))
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), np.zeros((2, 2)))
    f(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))  # a good call still works
    np.testing.assert_array_equal(a.numpy(), [2.0, 3.0])
    np.testing.assert_array_equal(b.numpy(), np.full((2, 2), 6.0))


@pytest.mark.parametrize("updates, error, words", [
    (lambda v, x: [(v * 1.0, v)], TypeError, ["Variable"]),
    (lambda v, x: [(v, v), (v, v + 1.0)], ValueError, ["twice"]),
    (lambda v, x: [(v, gc.ones((3,)))], ValueError, ["(3,)", "(2,)"]),
    (lambda v, x: [(v, x)], ValueError, ["(None,)", "(2,)"]),
    (lambda v, x: [(v, gc.cast(gc.ones((2,)), "int32") + 1)], None, []),
    (lambda v, x: [v], TypeError, ["pairs"]),
])
def test_updates_are_checked_when_the_function_is_built(updates, error, words):
    v = gc.Variable(f32(1, 2), name="v")
    x = gc.placeholder((None,), name="x")
    if error is None:  # same_kind: an int value may be stored in a float variable
        gc.function([], [], updates=updates(v, x))()
        np.testing.assert_array_equal(v.numpy(), [2.0, 2.0])
        return
    with pytest.raises(error) as err:
        gc.function([x], [], updates=updates(v, x))
    for word in words:
        assert word in str(err.value)


def test_unsafe_update_dtype_is_refused():
    n = gc.Variable(np.zeros(2, np.int32), name="n")
    with pytest.raises(TypeError) as err:
        gc.function([], [], updates=[(n, gc.ones((2,)) * 1.5)])
    assert "float32" in str(err.value) and "int32" in str(err.value)


def test_float64_graph_updates_a_float64_variable():
    v = gc.Variable(np.ones(2), name="v")
    f = gc.function([], v * 2.0, updates=[(v, v * 0.5)])
    out = f()
    assert out.dtype == np.float64 and v.value.dtype == np.float64
    np.testing.assert_array_equal(out, [2.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [0.5, 0.5])


# ------------------------------------------------------------------ eval

def test_eval_without_a_needed_placeholder_is_a_clear_error():
    x = gc.placeholder((None,), name="features")
    y = gc.reduce_sum(x * 2.0)
    with pytest.raises(ValueError) as err:
        y.numpy()
    assert "features" in str(err.value)
    with pytest.raises(ValueError, match="features"):
        y.eval({gc.placeholder((None,), name="other"): f32(1)})
    assert y.eval({x: f32(1, 2)}) == pytest.approx(6.0)


# ----------------------------------------------------- call-to-call equality

def _calls(f, *args, n=4):
    return [[np.array(a, copy=True) for a in (r if isinstance(r, list) else [r])]
            for r in (f(*args) for _ in range(n))]


def test_every_call_computes_bit_identical_results():
    """A first call allocates (numpy lays a result out like its inputs: exp(x.T)
    is column-major); later calls write into its arrays. A slot whose values
    were laid out differently would make the sum below run in another
    order, and the first call round differently from the others."""
    x = gc.placeholder((48, 48), "float64", name="x")
    a = gc.reduce_sum(gc.sin(x) * 2.0, axis=1)               # row-major, then dead
    b = gc.exp(gc.transpose(x)) * gc.cos(gc.transpose(x))    # column-major in a first call
    f = gc.function([x], a + gc.reduce_sum(b, axis=0))
    xv = np.random.default_rng(0).normal(size=(48, 48))
    first, *later = _calls(f, xv)
    for values in later:
        assert all(np.array_equal(u, w) for u, w in zip(first, values))
    np.testing.assert_allclose(first[0], (2 * np.sin(xv)).sum(1) + (np.exp(xv.T) * np.cos(xv.T)).sum(0),
                               rtol=1e-12)


def test_a_hessian_vector_product_is_identical_call_to_call():
    x = gc.placeholder((48, 48), "float64", name="x")
    v = gc.placeholder((48, 48), "float64", name="v")
    loss = (gc.reduce_sum(gc.log_softmax(gc.sin(x), axis=1))
            + gc.reduce_sum(gc.log_softmax(gc.tanh(gc.transpose(x)) * 3.0, axis=0) ** 2))
    hvp = gc.grad(gc.reduce_sum(gc.grad(loss, x) * v), x)
    f = gc.function([x, v], hvp)
    rng = np.random.default_rng(0)
    xv, vv = rng.normal(size=(48, 48)), rng.normal(size=(48, 48))
    first, *later = _calls(f, xv, vv)
    for values in later:
        assert np.array_equal(values[0], first[0])
    unplanned = gc.function([x, v], hvp, plan_memory=False)(xv, vv)
    np.testing.assert_allclose(first[0], unplanned, rtol=1e-12, atol=1e-12)
