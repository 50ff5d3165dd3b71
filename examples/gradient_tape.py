"""The classic cases of TensorFlow's GradientTape tutorial, in graphc.

    python examples/gradient_tape.py

graphc builds a static graph, so ``tape.gradient`` returns a symbolic Tensor;
``.numpy()`` evaluates it. Each case prints its value and the value
TensorFlow gives (or a closed form) beside it.
"""
import numpy as np

import graphc as gc


def fmt(value):
    """An array on one line (rows of a matrix side by side)."""
    text = np.array2string(np.asarray(value), precision=6, max_line_width=10_000)
    return " ".join(text.split())


def show(label, value, expected=None):
    line = f"{label:<34} {'None' if value is None else fmt(value)}"
    if expected is not None:
        line += f"   (expected {fmt(expected)})"
    print(line)


# 1. A trainable Variable is watched automatically: d(x**2)/dx = 2x = 6.
x = gc.Variable(3.0, name="x")
with gc.GradientTape() as tape:
    y = x ** 2
show("dy/dx of x**2 at x = 3:", tape.gradient(y, x).numpy(), 6.0)

# 2. A constant is not watched unless you ask: None, then 2c = 6.
c = gc.constant(3.0, name="c")
with gc.GradientTape() as tape:
    y = c ** 2
show("constant, not watched:", tape.gradient(y, c))
with gc.GradientTape() as tape:
    tape.watch(c)
    y = c ** 2
show("constant, watched:", tape.gradient(y, c).numpy(), 6.0)

# 3. Nested tapes: position 4.9 t**2, speed 9.8 t, acceleration 9.8.
t = gc.Variable(np.array([0.0, 0.5, 1.0, 2.0]), name="t")
with gc.GradientTape() as outer:
    with gc.GradientTape() as inner:
        position = 4.9 * t ** 2
    speed = inner.gradient(position, t)
acceleration = outer.gradient(speed, t)
show("t:", t.numpy())
show("position 4.9 t**2:", position.numpy(), 4.9 * t.numpy() ** 2)
show("speed 9.8 t:", speed.numpy(), 9.8 * t.numpy())
show("acceleration 9.8:", acceleration.numpy(), np.full(4, 9.8))

# 4. A Dense layer y = x @ W + b with loss = mean(y**2); gradients by the tape
#    and by hand: dloss/dy = 2 y / y.size, dW = x^T dy, db = sum(dy, axis=0).
rng = np.random.default_rng(0)
x_batch = rng.normal(size=(4, 3))
W = gc.Variable(rng.normal(size=(3, 2)), name="W")
b = gc.Variable(np.zeros(2), name="b")
xs = gc.constant(x_batch, name="x_batch")
with gc.GradientTape() as tape:
    y = xs @ W + b
    loss = gc.reduce_mean(y ** 2)
grads = tape.gradient(loss, {"W": W, "b": b})

y_np = x_batch @ W.numpy() + b.numpy()
dy = 2 * y_np / y_np.size
show("loss:", loss.numpy(), np.mean(y_np ** 2))
show("dloss/dW:", grads["W"].numpy(), x_batch.T @ dy)
show("dloss/db:", grads["b"].numpy(), dy.sum(axis=0))
close = (np.allclose(grads["W"].numpy(), x_batch.T @ dy)
         and np.allclose(grads["b"].numpy(), dy.sum(axis=0)))
print("Dense gradients match the closed form:", close)
