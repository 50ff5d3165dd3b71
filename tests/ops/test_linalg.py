"""matmul against numpy: matrices, vectors, batches, None dimensions; shape errors."""
import numpy as np
import pytest

import graphc as gc

FLOATS = ["float32", "float64"]
BATCHES = (2, 5)

# (shape of a, shape of b, static shape of a @ b); None is fed at two sizes
MATMULS = [
    ((None, 3), (3, 4), (None, 4)),
    ((2, 3), (3, 4), (2, 4)),
    ((None, 3), (3,), (None,)),
    ((3,), (3, 4), (4,)),
    ((3,), (3,), ()),
    ((None, 2, 3), (3, 4), (None, 2, 4)),
    ((None, 2, 3), (None, 3, 4), (None, 2, 4)),
    ((None, 2, 3), (1, 3, 4), (None, 2, 4)),
    ((5, 1, 2, 3), (4, 3, 2), (5, 4, 2, 2)),
    ((2, None), (None, 4), (2, 4)),
    ((None, None), (None, 2), (None, 2)),
]


def concrete(shape, batch):
    return tuple(batch if d is None else d for d in shape)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa, sb, sout", MATMULS, ids=[f"{a}@{b}" for a, b, _ in MATMULS])
def test_matmul_matches_numpy(sa, sb, sout, dtype, compiled, close):
    rng = np.random.default_rng(0)
    a, b = gc.placeholder(sa, dtype=dtype, name="a"), gc.placeholder(sb, dtype=dtype, name="b")
    for y in (a @ b, gc.matmul(a, b), gc.dot(a, b)):
        assert y.shape == sout and y.dtype == np.dtype(dtype)
    f = compiled([a, b], a @ b)
    for batch in BATCHES:
        va = rng.standard_normal(concrete(sa, batch)).astype(dtype)
        vb = rng.standard_normal(concrete(sb, batch)).astype(dtype)
        close(f(va, vb), reference_matmul(va.astype(np.float64), vb.astype(np.float64)), dtype)


def reference_matmul(a, b):
    """matmul by hand: lift vectors to matrices, broadcast the batch axes, einsum, drop lifted axes."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = np.einsum("...ij,...jk->...ik", a2, b2)
    if b.ndim == 1:
        out = out[..., 0]
    if a.ndim == 1:
        out = out[..., 0, :] if b.ndim > 1 else out[..., 0]
    return out


def test_matmul_with_a_variable_and_a_numpy_array(compiled, close):
    x = gc.placeholder((None, 3), dtype="float32", name="x")
    w = gc.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
    m = np.ones((2, 4), dtype=np.float32)
    y = (x @ w) @ m
    assert y.shape == (None, 4) and y.dtype == np.float32
    a = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)
    close(compiled([x], y)(a), a.astype(np.float64) @ np.arange(6.0).reshape(3, 2) @ np.ones((2, 4)), "float32")
    r = np.ones((4, 3), dtype=np.float32) @ w  # a numpy array on the left defers to the tensor
    assert isinstance(r, gc.Tensor) and r.shape == (4, 2)
    close(r.numpy(), np.ones((4, 3)) @ np.arange(6.0).reshape(3, 2), "float32")


@pytest.mark.parametrize("sa, sb", [
    ((None, 784), (512, 10)),
    ((2, 3), (4, 5)),
    ((None, 2, 3), (2, 4, 5)),
    ((3,), (4,)),
    ((4, 2, 3), (5, 3, 2)),
    ((), (3, 3)),
])
def test_matmul_shape_errors_name_both_shapes(sa, sb):
    a = gc.placeholder(sa, name="inputs")
    b = gc.Variable(np.zeros(sb, dtype=np.float32), name="kernel")
    with pytest.raises(ValueError) as err:
        a @ b
    message = str(err.value)
    assert str(sa) in message and str(sb) in message
    assert "inputs" in message and "kernel" in message


def test_the_mnist_mistake_from_the_issue():
    with pytest.raises(ValueError) as err:
        gc.placeholder((None, 784)) @ gc.Variable(np.zeros((512, 10)))
    assert "(None, 784)" in str(err.value) and "(512, 10)" in str(err.value)


def test_matmul_needs_numbers():
    with pytest.raises(TypeError):
        gc.placeholder((2, 2), dtype="bool") @ gc.placeholder((2, 2), dtype="bool")
