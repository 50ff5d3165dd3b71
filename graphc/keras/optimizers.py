"""Optimizers with Keras 3's update rules, written as graph expressions.

``updates(grads, variables)`` returns (variable, new value) pairs for
``gc.function(..., updates=...)``: the new values of the weights, of the
optimizer's slots (momentums, velocities) and of ``iterations``. Every new
value is computed from the old values, and the compiled step writes them
all at the end, so one step is one call. ``apply(grads, variables)`` (and
``apply_gradients(zip(grads, variables))``) assigns those values: at once
in an eager loop, or as updates of the step being traced (Keras's
train_step). The state lives in gc.Variables: ``iterations`` (int64),
``learning_rate`` (float32, can be changed between steps without
recompiling; or a schedule of ``iterations``, see schedules.py) and one
slot per weight and kind, made when the weight is first updated.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.keras import schedules, utils
from graphc.ops.leaves import Variable
from graphc.types import format_shape


class CounterVariable(Variable):
    """An int64 scalar Variable that also compares to numbers: ``opt.iterations == 2345``."""
    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, (int, float, np.number, np.ndarray)) and not isinstance(other, bool):
            return bool(self.value == other)
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = Variable.__hash__

    def __index__(self):
        return int(self.value)


def _check_float(value, what, low=None, high=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or (low is not None and (value < low or (low_open and value == low))) or (
            high is not None and value > high):
        raise ValueError(f"{what}={value!r} is out of range")
    return value


class Optimizer:
    def __init__(self, learning_rate=0.001, name=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, **kwargs):
        utils.check_kwargs(kwargs, (), type(self).__name__)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set.")
        self.name = utils.check_name(name or utils.snake_case(type(self).__name__), type(self).__name__)
        self.clipnorm = None if clipnorm is None else _check_float(clipnorm, "clipnorm", 0, low_open=True)
        self.clipvalue = None if clipvalue is None else _check_float(clipvalue, "clipvalue", 0, low_open=True)
        self.global_clipnorm = (None if global_clipnorm is None
                                else _check_float(global_clipnorm, "global_clipnorm", 0, low_open=True))
        self._schedule = learning_rate if isinstance(learning_rate, schedules.LearningRateSchedule) else None
        if self._schedule is None:
            learning_rate = _check_float(learning_rate, "learning_rate", 0)
        else:
            learning_rate = 0.0  # unused: the schedule gives the rate
        with gc.name_scope(self.name):
            self.iterations = CounterVariable(np.int64(0), trainable=False, name="iteration")
            self._learning_rate = Variable(np.float32(learning_rate), trainable=False, name="learning_rate")
        self._slots: list = []          # slot Variables, in the order they were made
        self._slot_map: dict = {}       # (kind, id(weight)) -> Variable
        self._built_for: list | None = None  # the weights with slots, in the order they came

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} learning_rate={float(self.learning_rate):g}>"

    # ------------------------------------------------------------ state
    @property
    def learning_rate(self):
        """The rate Variable, or with a schedule the rate at the current iteration (a tensor)."""
        if self._schedule is not None:
            return self._schedule(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if self._schedule is not None:
            raise TypeError(f"optimizer {self.name!r} takes its learning rate from a schedule "
                            f"({type(self._schedule).__name__}); it cannot be set")
        self._learning_rate.assign(np.float32(_check_float(value, "learning_rate", 0)))

    def _current_learning_rate(self):
        return self._learning_rate if self._schedule is None else gc.cast(self._schedule(self.iterations),
                                                                             "float32")

    @property
    def variables(self) -> list:
        return [self.iterations, self._learning_rate] + self._slots

    def slot_kinds(self) -> tuple:
        return ()

    def build(self, variables) -> None:
        """Make the slot variables of the weights in ``variables`` that have none yet."""
        known = {id(v) for v in self._built_for or ()}
        new = [v for v in variables if id(v) not in known]
        if self._built_for is not None and not new:
            return
        with gc.name_scope(self.name):
            for kind in self.slot_kinds():
                for var in new:
                    slot = Variable(np.zeros(var.shape, dtype=var.dtype), trainable=False,
                                    name=f"{var.name.replace('/', '_')}_{kind}")
                    self._slots.append(slot)
                    self._slot_map[(kind, id(var))] = slot
        self._built_for = list(self._built_for or ()) + new

    def slot(self, kind, var) -> Variable:
        return self._slot_map[(kind, id(var))]

    # ---------------------------------------------------------- updates
    def _clip(self, grads):
        if self.clipvalue is not None:
            return [gc.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            norm = gc.sqrt(sum(gc.reduce_sum(gc.square(g)) for g in grads))
            scale = self.global_clipnorm / gc.maximum(norm, self.global_clipnorm)
            return [g * scale for g in grads]
        return grads

    def updates(self, grads, variables) -> list:
        """(variable, new value) pairs for one step: weights, slots, iterations.

        A gradient of None (the loss does not depend on that weight) leaves
        the weight alone, as in Keras."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"optimizer {self.name!r}: {len(grads)} gradients for {len(variables)} variables")
        pairs = []
        for g, v in zip(grads, variables):
            if g is None:
                continue
            if not isinstance(v, Variable):
                raise TypeError(f"optimizer {self.name!r}: {v!r:.80} is not a Variable")
            g = g if isinstance(g, gc.Tensor) else gc.constant(np.asarray(g, dtype=v.dtype))
            if g.shape != v.shape:
                raise ValueError(f"optimizer {self.name!r}: gradient {g.name!r} of shape {format_shape(g.shape)} "
                                 f"does not match variable {v.name!r} of shape {format_shape(v.shape)}")
            pairs.append((g, v))
        if not pairs:
            raise ValueError(f"optimizer {self.name!r}: no gradients for any of the variables "
                             f"{[getattr(v, 'name', v) for v in variables]}")
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        self.build(variables)
        new_values = []
        with gc.name_scope(self.name):
            grads = self._clip(grads)
            lr = self._current_learning_rate()
            for g, v in zip(grads, variables):
                lr_v = gc.cast(lr, v.dtype)
                new_values.extend(self.update_step(gc.cast(g, v.dtype), v, lr_v))
            new_values.append((self.iterations, self.iterations + 1))
        # a weight's constraint projects its new value (Keras applies it after the update)
        weights = {id(w) for w in variables}
        return [(v, v.constraint(value) if id(v) in weights and v.constraint is not None else value)
                for v, value in new_values]

    def apply(self, grads, trainable_variables=None):
        """One step on ``trainable_variables`` (those the optimizer was built for if None).

        Eagerly the variables change at once (every new value is computed
        from the old ones first); in a traced step the changes are updates
        of the compiled function."""
        if trainable_variables is None:
            if self._built_for is None:
                raise ValueError(f"optimizer {self.name!r}: pass trainable_variables (it was never built)")
            trainable_variables = self._built_for
        for variable, value in self.updates(grads, trainable_variables):
            variable.assign(value)
        return self.iterations

    def apply_gradients(self, grads_and_vars):
        """``apply_gradients(zip(grads, variables))``, as in TensorFlow and Keras."""
        pairs = list(grads_and_vars)
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"optimizer {self.name!r}: apply_gradients takes (gradient, variable) pairs, "
                                f"got {pair!r:.80}")
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def update_step(self, gradient, variable, learning_rate) -> list:
        raise NotImplementedError

    # ---------------------------------------------------------- config
    def get_config(self) -> dict:
        rate = schedules.serialize(self._schedule) if self._schedule is not None else float(self._learning_rate.value)
        return {"name": self.name, "learning_rate": rate,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config):
        if isinstance(config.get("learning_rate"), dict):
            config = dict(config, learning_rate=schedules.deserialize(config["learning_rate"]))
        return cls(**config)


def _clip_by_norm(g, clip_norm):
    l2sum = gc.reduce_sum(gc.square(g))
    safe = gc.where(l2sum > 0.0, l2sum, 1.0)
    norm = gc.where(l2sum > 0.0, gc.sqrt(safe), l2sum)
    return g * clip_norm / gc.maximum(norm, clip_norm)


class SGD(Optimizer):
    """m = momentum * m - lr * g; var += m (nesterov: var += momentum * m - lr * g);
    without momentum: var -= lr * g."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = _check_float(momentum, "momentum", 0, 1)
        self.nesterov = bool(nesterov)

    def slot_kinds(self):
        return ("momentum",) if self.momentum != 0 else ()

    def update_step(self, g, var, lr):
        if self.momentum == 0:
            return [(var, var - g * lr)]
        m = self.slot("momentum", var)
        m_new = m * self.momentum - g * lr
        if self.nesterov:
            return [(m, m_new), (var, var + (m_new * self.momentum - g * lr))]
        return [(m, m_new), (var, var + m_new)]

    def get_config(self):
        return dict(super().get_config(), momentum=self.momentum, nesterov=self.nesterov)


class RMSprop(Optimizer):
    """velocity = rho * v + (1 - rho) * g^2; var -= lr * g / sqrt(velocity + epsilon)
    (Keras 3 adds epsilon inside the square root); centered and momentum variants as in Keras."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = _check_float(rho, "rho", 0, 1)
        self.momentum = _check_float(momentum, "momentum", 0, 1)
        self.epsilon = _check_float(epsilon, "epsilon", 0)
        self.centered = bool(centered)

    def slot_kinds(self):
        return (("velocity",) + (("momentum",) if self.momentum > 0 else ())
                + (("average_gradient",) if self.centered else ()))

    def update_step(self, g, var, lr):
        velocity = self.slot("velocity", var)
        v_new = self.rho * velocity + (1 - self.rho) * gc.square(g)
        pairs = [(velocity, v_new)]
        if self.centered:
            avg = self.slot("average_gradient", var)
            avg_new = self.rho * avg + (1 - self.rho) * g
            pairs.append((avg, avg_new))
            denominator = v_new - gc.square(avg_new) + self.epsilon
        else:
            denominator = v_new + self.epsilon
        increment = lr * g / gc.sqrt(denominator)
        if self.momentum > 0:
            m = self.slot("momentum", var)
            m_new = self.momentum * m + increment
            return pairs + [(m, m_new), (var, var - m_new)]
        return pairs + [(var, var - increment)]

    def get_config(self):
        return dict(super().get_config(), rho=self.rho, momentum=self.momentum, epsilon=self.epsilon,
                    centered=self.centered)


class Adam(Optimizer):
    """m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2);
    var -= m * alpha / (sqrt(v) + epsilon), with the bias correction folded into
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), t = iterations + 1 (Keras 3)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name="adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_float(beta_1, "beta_1", 0, 1)
        self.beta_2 = _check_float(beta_2, "beta_2", 0, 1)
        self.epsilon = _check_float(epsilon, "epsilon", 0)
        self.amsgrad = bool(amsgrad)

    def slot_kinds(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def update_step(self, g, var, lr):
        dtype = var.dtype
        step = gc.cast(self.iterations + 1, dtype)
        beta_1_power = gc.power(gc.constant(self.beta_1, dtype=dtype), step)
        beta_2_power = gc.power(gc.constant(self.beta_2, dtype=dtype), step)
        alpha = lr * gc.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m, v = self.slot("momentum", var), self.slot("velocity", var)
        m_new = m + (g - m) * (1 - self.beta_1)
        v_new = v + (gc.square(g) - v) * (1 - self.beta_2)
        pairs = [(m, m_new), (v, v_new)]
        if self.amsgrad:
            v_hat = self.slot("velocity_hat", var)
            v_new = gc.maximum(v_hat, v_new)
            pairs.append((v_hat, v_new))
        return pairs + [(var, var - m_new * alpha / (gc.sqrt(v_new) + self.epsilon))]

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                    amsgrad=self.amsgrad)


CLASSES = {"SGD": SGD, "RMSprop": RMSprop, "Adam": Adam}
_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(identifier) -> Optimizer:
    """An optimizer from a name ("rmsprop", "adam", "sgd"), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; "
                             f"known: {', '.join(sorted(_BY_NAME))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer: Optimizer) -> dict:
    if CLASSES.get(type(optimizer).__name__) is not type(optimizer):
        raise ValueError(f"optimizer {optimizer!r} is not a built-in optimizer, so it cannot be saved")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config) -> Optimizer:
    if not isinstance(config, dict) or config.get("class_name") not in CLASSES:
        raise ValueError(f"unknown or malformed optimizer config {str(config)[:200]}")
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError("an optimizer config must be a dict")
    try:
        return CLASSES[config["class_name"]].from_config(inner)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad config for optimizer {config['class_name']}: {exc}") from None
