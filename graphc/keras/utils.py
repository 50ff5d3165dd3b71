"""Small shared helpers: unique layer names, the global seed, config checks, display text."""
from __future__ import annotations

import re
import unicodedata

import numpy as np

_name_counts: dict = {}
_rng = {"generator": np.random.default_rng()}


def set_random_seed(seed: int) -> None:
    """Seed everything random in keras and graphc: initializers, dropout, shuffling."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: expected a non-negative int, got {seed!r}")
    from graphc import random as gc_random
    _rng["generator"] = np.random.default_rng(int(seed))
    gc_random.set_seed(int(seed))


def rng() -> np.random.Generator:
    """The generator used when no seed is given (seeded by ``set_random_seed``)."""
    return _rng["generator"]


def draw_seed() -> int:
    return int(rng().integers(0, 2 ** 31 - 1))


def clear_session() -> None:
    """Forget the names handed out so far (the next Dense is ``dense`` again)."""
    _name_counts.clear()


def snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``, ... as Keras names layers."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def check_name(name, what: str) -> str:
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"{what}: the name must be a non-empty string without '/', got {name!r}")
    return name


def check_kwargs(kwargs: dict, allowed, cls_name: str) -> None:
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"Unrecognized keyword arguments passed to {cls_name}: {unknown}")


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for integer labels ``y``."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" and not np.all(y == np.round(y)):
        raise ValueError("to_categorical: labels must be integers")
    y = y.astype(np.int64).reshape(-1)
    if num_classes is None:
        num_classes = int(y.max()) + 1
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes})")
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out


def display_text(text: str) -> str:
    """``text`` fit to print on a terminal: control and format characters
    (escape sequences, carriage returns, line and paragraph separators,
    bidirectional overrides) shown escaped (``\\x1b``), letters of any
    script as they are."""
    return "".join(c.encode("unicode_escape").decode("ascii") if c != " " and unicodedata.category(c)[0] in "CZ"
                   else c for c in str(text))


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a tuple of {len(data)} items")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch tuple ``unpack_x_y_sample_weight`` reads."""
    if y is None:
        return x if not isinstance(x, (list, tuple)) else (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def __getattr__(name):
    # keras.utils.register_keras_serializable and friends, as Keras exports them here too
    # (looked up late: registry is imported after utils)
    from graphc.keras import registry
    if name in ("register_keras_serializable", "get_registered_name", "get_registered_object",
                "get_custom_objects", "custom_object_scope", "CustomObjectScope"):
        return getattr(registry, name)
    raise AttributeError(f"module 'graphc.keras.utils' has no attribute {name!r}")
