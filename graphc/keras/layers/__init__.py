"""Layers: the base class, core layers, merge layers; saving a layer by name.

``serialize`` / ``deserialize`` turn a layer into ``{"class_name", "config"}``
and back. Only the built-in classes below, models, and custom classes named
through ``graphc.keras.registry`` (registered, or given as custom_objects)
are ever made from a config.
"""
from __future__ import annotations

from graphc.keras import registry
from graphc.keras.layers.base import CallRecord, Layer, history, record_of
from graphc.keras.layers.core import (Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape,
                                      input_layer_of)
from graphc.keras.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply,
                                         Subtract, add, average, concatenate, dot, maximum, minimum, multiply,
                                         subtract)
from graphc.keras.layers import merging

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "Merge", "Add",
           "Subtract", "Multiply", "Maximum", "Minimum", "Average", "Concatenate", "Dot", "add", "subtract",
           "multiply", "maximum", "minimum", "average", "concatenate", "dot", "serialize", "deserialize",
           "CallRecord", "history", "record_of", "input_layer_of"]

# Classes a saved file may name (besides models and registered custom classes).
ALLOWED = {cls.__name__: cls for cls in (InputLayer, Dense, Activation, Dropout, Flatten, Reshape)
           + merging.LAYERS}
MODEL_CLASSES = ("Sequential", "Functional")
MAX_DEPTH = 16


def serialize(layer: Layer) -> dict:
    """``{"class_name", "config"}`` of a built-in layer or model; a custom class
    also gets its ``registered_name`` ("package>Name" if registered, else its
    class name) and, once built, its ``build_config``."""
    cls = type(layer)
    name = cls.__name__
    if ALLOWED.get(name) is cls or name in MODEL_CLASSES and cls.__module__ == "graphc.keras.models":
        return {"class_name": name, "config": layer.get_config()}
    # a custom class: loading finds it by its registered name, or by its class name
    # among the custom_objects the loader names (a subclass of Model built from
    # inputs and outputs is saved as the subclass)
    cls = getattr(cls, "_subclass_of", cls)
    entry = {"class_name": name, "registered_name": registry.get_registered_name(cls),
             "config": layer.get_config()}
    build_config = getattr(layer, "get_build_config", lambda: None)()
    if build_config is not None:
        entry["build_config"] = build_config
    return entry


def deserialize(config: dict, depth: int = 0, custom_objects=None) -> Layer:
    """A layer from ``{"class_name", "config"}``: built-ins, models, and custom
    classes named through the registry (or ``custom_objects``); nothing else."""
    if not isinstance(config, dict):
        raise ValueError(f"a layer config must be a dict, got {type(config).__name__}")
    cls_name, registered_name = config.get("class_name"), config.get("registered_name")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise ValueError(f"the config of layer class {cls_name!r} must be a dict")
    if depth > MAX_DEPTH:
        raise ValueError("models are nested too deeply")
    if cls_name in MODEL_CLASSES and registered_name is None:
        from graphc.keras import models
        return models.model_from_config(config, depth + 1)
    cls = ALLOWED.get(cls_name) if isinstance(cls_name, str) and registered_name is None else None
    if cls is None:
        cls = registry.lookup(cls_name, registered_name if isinstance(registered_name, str) else None,
                              custom_objects)
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise ValueError(f"layer class {str(registered_name or cls_name)[:100]!r} is not allowed: it is neither "
                             f"built in ({', '.join(sorted(ALLOWED))}, Sequential, Functional) nor registered; pass "
                             "it in custom_objects or register it with @keras.saving.register_keras_serializable()")
    try:
        layer = cls.from_config(inner)
    except (TypeError, ValueError, KeyError, NotImplementedError) as exc:
        raise ValueError(f"bad config for layer class {str(cls_name)[:100]}: {exc}") from None
    build_config = config.get("build_config")
    if build_config is not None and not layer.built:
        layer.build_from_config(build_config)
    return layer
