"""One epoch of training gives the weights of a hand-written numpy version of Keras 3's rules."""
import numpy as np
import pytest

from graphc import keras

N, D, U, BATCH = 100, 5, 3, 16   # last batch has 4 samples: the step works for any batch size


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype("float32")
    y = rng.normal(size=(N, U)).astype("float32")
    return x, y


def make_model(optimizer):
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(U)])
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(size=(D, U)).astype("float32"), rng.normal(size=U).astype("float32")])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def mse_grads(w, b, x, y):
    err = x @ w + b - y
    g = (2.0 / err.size) * err  # mean over outputs and batch
    return [(x.T @ g).astype("float32"), g.sum(0).astype("float32")]


def reference(update, epochs=1):
    """Run ``update(step, params, grads, state)`` over the same batches, in float32."""
    x, y = data()
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(D, U)).astype("float32"), rng.normal(size=U).astype("float32")]
    state = [dict() for _ in params]
    step = 0
    for _ in range(epochs):
        for start in range(0, N, BATCH):
            grads = mse_grads(*params, x[start:start + BATCH], y[start:start + BATCH])
            params = [update(step, p, g, s) for p, g, s in zip(params, grads, state)]
            step += 1
    return params


def f32(v):
    return np.float32(v)


def sgd(lr=0.01, momentum=0.0, nesterov=False):
    def update(step, p, g, s):
        if momentum == 0:
            return p - g * f32(lr)
        m = s.get("m", np.zeros_like(p))
        m = m * f32(momentum) - g * f32(lr)
        s["m"] = m
        return p + (m * f32(momentum) - g * f32(lr)) if nesterov else p + m
    return update


def rmsprop(lr=0.001, rho=0.9, eps=1e-7):
    def update(step, p, g, s):
        v = s.get("v", np.zeros_like(p))
        v = f32(rho) * v + f32(1 - rho) * np.square(g)
        s["v"] = v
        return p - f32(lr) * g / np.sqrt(v + f32(eps))  # Keras 3: epsilon inside the root
    return update


def adam(lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    def update(step, p, g, s):
        m, v = s.get("m", np.zeros_like(p)), s.get("v", np.zeros_like(p))
        t = f32(step + 1)
        alpha = f32(lr) * np.sqrt(f32(1) - f32(b2) ** t) / (f32(1) - f32(b1) ** t)
        m = m + (g - m) * f32(1 - b1)
        v = v + (np.square(g) - v) * f32(1 - b2)
        s["m"], s["v"] = m, v
        return p - m * alpha / (np.sqrt(v) + f32(eps))
    return update


CASES = {
    "sgd": (lambda: keras.optimizers.SGD(), sgd()),
    "sgd_momentum": (lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), sgd(0.05, 0.9)),
    "sgd_nesterov": (lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                     sgd(0.05, 0.9, True)),
    "rmsprop": (lambda: keras.optimizers.RMSprop(), rmsprop()),
    "rmsprop_lr": (lambda: keras.optimizers.RMSprop(learning_rate=0.01, rho=0.8), rmsprop(0.01, 0.8)),
    "adam": (lambda: keras.optimizers.Adam(), adam()),
    "adam_lr": (lambda: keras.optimizers.Adam(learning_rate=0.02, beta_1=0.8), adam(0.02, 0.8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_epoch_matches_numpy_reference(case):
    make_optimizer, update = CASES[case]
    x, y = data()
    model = make_model(make_optimizer())
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    expected = reference(update)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert model.optimizer.iterations == 7


def test_defaults_are_keras_3():
    sgd_, rms, ad = keras.optimizers.SGD(), keras.optimizers.RMSprop(), keras.optimizers.Adam()
    assert float(sgd_.learning_rate) == pytest.approx(0.01) and sgd_.momentum == 0.0 and not sgd_.nesterov
    assert float(rms.learning_rate) == pytest.approx(0.001) and (rms.rho, rms.momentum, rms.epsilon) == (0.9, 0.0, 1e-7)
    assert not rms.centered
    assert float(ad.learning_rate) == pytest.approx(0.001) and (ad.beta_1, ad.beta_2, ad.epsilon) == (0.9, 0.999, 1e-7)
    assert isinstance(keras.optimizers.get("rmsprop"), keras.optimizers.RMSprop)
    with pytest.raises(ValueError, match="optimizer"):
        keras.optimizers.get("adamw_typo")


def test_state_lives_in_variables_and_learning_rate_changes_without_recompiling():
    x, y = data()
    model = make_model(keras.optimizers.SGD(learning_rate=0.0))
    before = model.get_weights()
    model.fit(x, y, batch_size=BATCH, verbose=0)
    function = model.train_function
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # lr 0: no change
    model.optimizer.learning_rate = 0.1
    model.fit(x, y, batch_size=BATCH, verbose=0)
    assert model.train_function is function
    assert not np.allclose(before[0], model.get_weights()[0])
    assert int(model.optimizer.iterations) == 14
    assert "iteration" in model.optimizer.iterations.name


def test_optimizer_update_is_in_the_single_train_function():
    model = make_model("adam")
    source = model.train_function.source
    assert source.count("def ") == 1
    # the kernel is updated in place, in the block that writes the variables
    assert "adam_iteration" in source and "out=dense_kernel)" in source


# ------------------------------------------------------------ eager loops

def eager_epoch(optimizer, use_apply=False):
    """One epoch of an eager GradientTape loop over the batches of ``data``."""
    import graphc as gc
    x, y = data()
    rng = np.random.default_rng(1)
    w = gc.Variable(rng.normal(size=(D, U)).astype("float32"), name="w")
    b = gc.Variable(rng.normal(size=U).astype("float32"), name="b")
    for start in range(0, N, BATCH):
        xb, yb = x[start:start + BATCH], y[start:start + BATCH]
        with gc.GradientTape() as tape:
            loss = gc.reduce_mean(gc.square(gc.matmul(xb, w) + b - yb))
        grads = tape.gradient(loss, [w, b])
        if use_apply:
            optimizer.apply(grads, [w, b])
        else:
            optimizer.apply_gradients(zip(grads, [w, b]))
    return [w.numpy(), b.numpy()]


@pytest.mark.parametrize("case", ["sgd_momentum", "rmsprop", "adam_lr"])
def test_apply_gradients_in_an_eager_loop_matches_numpy_reference(case):
    make_optimizer, update = CASES[case]
    optimizer = make_optimizer()
    for got, want in zip(eager_epoch(optimizer, use_apply=case == "rmsprop"), reference(update)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert optimizer.iterations == 7


def test_apply_skips_missing_gradients_and_checks_shapes():
    import graphc as gc
    w, unused = gc.Variable(np.ones(2, np.float32), name="w"), gc.Variable(np.ones(3, np.float32), name="unused")
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    with gc.GradientTape() as tape:
        loss = gc.reduce_sum(w * w)
    optimizer.apply_gradients(zip(tape.gradient(loss, [w, unused]), [w, unused]))
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])   # 1 - 0.5 * 2
    np.testing.assert_array_equal(unused.numpy(), [1, 1, 1])
    with pytest.raises(ValueError, match="no gradients"):
        optimizer.apply([None], [unused])
    with pytest.raises(ValueError, match=r"'unused'.*\(3,\)"):
        optimizer.apply([np.ones(2, np.float32)], [unused])
    with pytest.raises(TypeError, match="pairs"):
        optimizer.apply_gradients([w])


# ------------------------------------------------------------ schedules

SCHEDULES = keras.optimizers.schedules


@pytest.mark.parametrize("schedule, expected", [
    (SCHEDULES.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5), lambda t: 0.1 * 0.5 ** (t / 4)),
    (SCHEDULES.ExponentialDecay(0.1, 4, 0.5, staircase=True), lambda t: 0.1 * 0.5 ** (t // 4)),
    (SCHEDULES.InverseTimeDecay(0.1, 2, 0.5), lambda t: 0.1 / (1 + 0.5 * t / 2)),
    (SCHEDULES.InverseTimeDecay(0.1, 2, 0.5, staircase=True), lambda t: 0.1 / (1 + 0.5 * (t // 2))),
    (SCHEDULES.PolynomialDecay(0.1, 8, end_learning_rate=0.01, power=2.0),
     lambda t: 0.09 * (1 - min(t, 8) / 8) ** 2 + 0.01),
    (SCHEDULES.PolynomialDecay(0.1, 4, end_learning_rate=0.0, cycle=True),
     lambda t: 0.1 * (1 - t / (4 * max(1, np.ceil(t / 4))))),
    (SCHEDULES.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.1]),
     lambda t: 1.0 if t <= 3 else 0.5 if t <= 6 else 0.1),
    (SCHEDULES.CosineDecay(0.1, 8, alpha=0.1), lambda t: 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * min(t, 8) / 8)) + 0.1)),
    (SCHEDULES.CosineDecay(0.0, 8, warmup_target=0.2, warmup_steps=4),
     lambda t: 0.2 * t / 4 if t < 4 else 0.2 * 0.5 * (1 + np.cos(np.pi * (min(t, 12) - 4) / 8))),
])
def test_schedules_follow_keras_formulas(schedule, expected):
    for t in range(14):
        assert float(schedule(t)) == pytest.approx(expected(t), rel=1e-5, abs=1e-7), t


def test_a_schedule_drives_the_compiled_step():
    schedule = SCHEDULES.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    rates = [0.05 * 0.5 ** (t / 2) for t in range(7)]

    def update(step, p, g, s):
        return p - g * f32(rates[step])

    x, y = data()
    model = make_model(keras.optimizers.SGD(learning_rate=schedule))
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), reference(update)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05 * 0.5 ** 3.5, rel=1e-5)
    with pytest.raises(TypeError, match="schedule"):
        model.optimizer.learning_rate = 0.1


def test_a_schedule_is_saved_with_the_optimizer(tmp_path):
    x, y = data()
    model = make_model(keras.optimizers.Adam(learning_rate=SCHEDULES.CosineDecay(0.01, 10, alpha=0.2)))
    model.fit(x, y, batch_size=BATCH, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = keras.models.load_model(tmp_path / "m.npz")
    schedule = loaded.optimizer._schedule
    assert isinstance(schedule, SCHEDULES.CosineDecay) and schedule.alpha == 0.2
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(model.optimizer.learning_rate))


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="decay_steps"):
        SCHEDULES.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than"):
        SCHEDULES.PiecewiseConstantDecay([1, 2], [0.1])
