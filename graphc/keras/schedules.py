"""Learning-rate schedules (Keras 3's, ``keras.optimizers.schedules``).

A schedule maps the optimizer's step count (its ``iterations`` Variable,
the number of updates done) to a learning rate with graphc ops, so the
rate is part of the compiled training step and changes without recompiling.
"""
from __future__ import annotations

import math

import numpy as np

import graphc as gc


class LearningRateSchedule:
    """Base class: ``__call__(step)`` returns the rate (a scalar tensor)."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__!r} must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__!r} must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _step(step) -> gc.Tensor:
    step = step if isinstance(step, gc.Tensor) else gc.constant(np.asarray(step))
    return gc.cast(step, "float32")


def _positive(value, what, cls):
    if value <= 0:
        raise ValueError(f"{cls}: argument `{what}` must be > 0. Received: {what}={value}")


class _RateDecay(LearningRateSchedule):
    """A decay by ``decay_rate`` per ``decay_steps`` steps (whole periods only with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        _positive(decay_steps, "decay_steps", type(self).__name__)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def _periods(self, step):
        p = _step(step) / float(self.decay_steps)
        return gc.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``."""

    def __call__(self, step):
        return float(self.initial_learning_rate) * gc.power(gc.constant(np.float32(self.decay_rate)),
                                                            self._periods(step))


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``."""

    def __call__(self, step):
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * self._periods(step))


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` in ``decay_steps``
    along ``(1 - step / decay_steps) ** power`` (with ``cycle``, restarting at
    the next multiple of ``decay_steps``)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _positive(decay_steps, "decay_steps", "PolynomialDecay")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _step(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            periods = gc.where(gc.equal(step, 0.0), 1.0, gc.ceil(step / decay_steps))
            p = step / (decay_steps * periods)
        else:
            p = gc.minimum(step, decay_steps) / decay_steps
        span = float(self.initial_learning_rate) - float(self.end_learning_rate)
        return span * gc.power(1.0 - p, gc.constant(np.float32(self.power))) + float(self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` up to
    ``boundaries[1]``, ..., ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of "
                             f"length {len(values)}.")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = _step(step)
        rate = gc.constant(np.float32(self.values[-1]))
        for boundary, value in zip(reversed(self.boundaries), reversed(self.values[:-1])):
            rate = gc.where(step <= float(boundary), float(value), rate)
        return rate

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or ``warmup_target`` after a linear
    warmup of ``warmup_steps``) to ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _positive(decay_steps, "decay_steps", "CosineDecay")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decayed(self, step, start):
        fraction = step / float(self.decay_steps)
        cosine = 0.5 * (1.0 + gc.cos(math.pi * fraction))
        return start * ((1.0 - float(self.alpha)) * cosine + float(self.alpha))

    def __call__(self, step):
        step = _step(step)
        initial = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decayed(gc.minimum(step, float(self.decay_steps)), initial)
        target, warmup = float(self.warmup_target), float(self.warmup_steps)
        step = gc.minimum(step, float(self.decay_steps) + warmup)
        warming = (target - initial) * (step / max(warmup, 1e-30)) + initial
        return gc.where(step < warmup, warming, self._decayed(step - warmup, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PolynomialDecay,
                                         PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    if CLASSES.get(type(schedule).__name__) is not type(schedule):
        raise ValueError(f"learning-rate schedule {type(schedule).__name__} is not a built-in schedule, "
                         "so it cannot be saved")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config) -> LearningRateSchedule:
    cls = CLASSES.get(config.get("class_name")) if isinstance(config, dict) else None
    inner = config.get("config") if isinstance(config, dict) else None
    if cls is None or not isinstance(inner, dict):
        raise ValueError(f"unknown or malformed learning-rate schedule config {str(config)[:200]}")
    try:
        return cls.from_config(inner)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad config for learning-rate schedule {config['class_name']}: {exc}") from None
