"""Custom objects by name: what a saved file may name besides the built-ins.

Keras 3's API: ``@register_keras_serializable(package="my_package")`` on a
layer, model, loss, metric, activation or initializer (class or function)
registers it as ``"my_package>Name"``; ``load_model(path,
custom_objects={"Name": obj})`` and ``with custom_object_scope({...}):``
name objects for one load. Loading makes only built-ins and objects named
here, so a file cannot make graphc import or run anything else.
"""
from __future__ import annotations

import inspect
import threading

_REGISTERED: dict = {}   # "package>Name" -> object
_NAME_OF: dict = {}      # id(object) -> "package>Name"
_scopes = threading.local()


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class or function under ``package>name`` (name: its own)."""
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a non-empty string without '>', "
                         f"got {package!r}")

    def register(obj):
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register {obj.__name__}: a class needs a get_config() method to be saved")
        registered = f"{package}>{name or obj.__name__}"
        previous = _REGISTERED.get(registered)
        if previous is not None and previous is not obj:
            _NAME_OF.pop(id(previous), None)
        _REGISTERED[registered] = obj
        _NAME_OF[id(obj)] = registered
        return obj

    return register


def get_registered_name(obj) -> str:
    """``"package>Name"`` for a registered object, else its own name."""
    return _NAME_OF.get(id(obj)) or getattr(obj, "__name__", type(obj).__name__)


def is_registered(obj) -> bool:
    return id(obj) in _NAME_OF


def get_custom_objects() -> dict:
    """The global registry (name -> object), as ``keras.saving.get_custom_objects``."""
    return _REGISTERED


def _scope_stack() -> list:
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    return stack


class CustomObjectScope:
    """``with custom_object_scope({"Name": obj}):`` names objects for loads inside it."""

    def __init__(self, custom_objects=None):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(f"custom_object_scope: expected a dict of name -> object, got {custom_objects!r:.100}")
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _scope_stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scope_stack().pop()


custom_object_scope = CustomObjectScope


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object called ``name``: from the innermost custom object scope, then
    ``custom_objects``, then the registry, then ``module_objects``; else None."""
    if not isinstance(name, str):
        return None
    for table in [*reversed(_scope_stack()), custom_objects or {}, _REGISTERED, module_objects or {}]:
        if name in table:
            return table[name]
    return None


def lookup(class_name, registered_name=None, custom_objects=None):
    """A custom object for a saved entry: by its registered name, then by its
    class name among the objects the user named (scope or ``custom_objects``)."""
    if registered_name is not None:
        found = get_registered_object(registered_name, custom_objects)
        if found is not None:
            return found
    if not isinstance(class_name, str):
        return None
    for table in [*reversed(_scope_stack()), custom_objects or {}]:
        if class_name in table:
            return table[class_name]
    return _REGISTERED.get(class_name)  # a "package>Name" string names a registered object itself


class Catalog:
    """``get`` / ``serialize`` / ``deserialize`` for one kind of object (regularizers,
    constraints, ...): built-in classes by class name or short name, else
    registered or named custom objects; configs ``{"class_name", "config"}``."""

    def __init__(self, kind: str, base: type, classes: dict, names: dict):
        self.kind, self.base, self.classes, self.names = kind, base, classes, names

    def get(self, identifier):
        """An object from None, a name, a config dict, a class, an instance or a function."""
        if identifier is None:
            return None
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            found = self.names.get(identifier) or self.classes.get(identifier) or lookup(identifier)
            if found is None:
                raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}; known: "
                                 f"{', '.join(sorted(self.names))}")
            return found() if inspect.isclass(found) or found in self.names.values() else found
        if inspect.isclass(identifier):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r:.100}")

    def serialize(self, obj):
        """A built-in's config, a registered class's (with its registered name), or a
        registered function's name."""
        if obj is None:
            return None
        cls = type(obj)
        if is_registered(cls):
            return {"class_name": cls.__name__, "registered_name": get_registered_name(cls),
                    "config": obj.get_config()}
        if self.classes.get(cls.__name__) is cls:
            return {"class_name": cls.__name__, "config": obj.get_config()}
        if callable(obj) and is_registered(obj):
            return get_registered_name(obj)
        raise ValueError(f"{self.kind} {obj!r:.100} is custom: register it with "
                         "keras.saving.register_keras_serializable() to save it")

    def deserialize(self, config):
        if isinstance(config, str):
            return self.get(config)
        if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
            raise ValueError(f"a {self.kind} config must be {{'class_name': ..., 'config': {{...}}}}, got "
                             f"{str(config)[:100]}")
        registered = config.get("registered_name")
        cls = (self.classes.get(config["class_name"]) if registered is None
               else lookup(config["class_name"], registered if isinstance(registered, str) else None))
        inner = config.get("config") or {}
        if not (inspect.isclass(cls) and issubclass(cls, self.base)) or not isinstance(inner, dict):
            raise ValueError(f"Unknown {self.kind} {str(registered or config['class_name'])[:100]!r}")
        try:
            return cls.from_config(inner)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad config for {self.kind} {cls.__name__}: {exc}") from None
