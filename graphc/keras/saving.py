"""Saving and loading: one zip holding JSON config and .npy arrays, no pickle.

Layout of the file (any name; ``model.keras`` or ``model.npz`` are usual)::

    config.json          format, architecture, compile settings, array index
    weights/0.npy ...    model weights, in ``model.weights`` order
    optimizer/0.npy ...  optimizer state: iterations, learning rate, slots

The file is also a valid ``.npz``: ``np.load(path, allow_pickle=False)``
lists its arrays. Writing goes to a temporary file in the same folder which
then replaces the target (``os.replace``), so a failure mid-save leaves any
earlier file intact; a save that was killed leaves its temporary, which the
next save to that path removes. The file gets the permissions ``open()``
would give it (the umask for a new file, its own mode for an existing one). Loading never executes code: arrays are read with
``allow_pickle=False``, classes come from allow-lists (layers, optimizers,
losses, initializers, activations), and anything malformed, truncated or
inconsistent is a ``ValueError`` naming the file: encrypted entries, other
compression methods, CRC errors, and entries whose declared size is more
than they can hold are refused before anything is inflated, and no entry is
inflated beyond its declared size (a zip bomb gets no further).
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import stat
import struct
import time
import warnings
import zipfile
import zlib

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import numpy as np

from graphc.keras import layers as layers_module
from graphc.keras import losses, metrics as metrics_module, optimizers, registry
from graphc.keras.registry import (CustomObjectScope, custom_object_scope, get_custom_objects,  # noqa: F401
                                   get_registered_name, get_registered_object, register_keras_serializable)

FORMAT = "graphc.keras"
FORMAT_VERSION = 1
MAX_CONFIG_BYTES = 16 * 1024 * 1024
NPY_HEADER_BYTES = 4096  # what an .npy entry may hold besides its array's bytes
_MEMBER = re.compile(r"^(config\.json|(weights|optimizer)/(0|[1-9][0-9]{0,6})\.npy)$")


# ====================================================================== saving

def _write_array(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    with archive.open(name, "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.array(array, order="C"), allow_pickle=False)


# A save writes ".<name>.<8 hex digits>.tmp" beside the target, holding an
# exclusive lock on it from the moment it exists until it is renamed. A save
# that was killed leaves its temporary unlocked (the kernel drops the locks of
# a dead process), so the next save to the same path removes temporaries of
# that path whose lock it can take: never another save's that is still
# running, whatever its age, and never another path's. The lock is taken
# right after the file is created; a temporary younger than STALE_SECONDS is
# left alone all the same, for the instant in between.
STALE_SECONDS = 10.0


def _temporary_pattern(base: str):
    return re.compile(re.escape(f".{base}.") + r"[0-9a-f]{8}\.tmp")


def _lock(fd) -> bool:
    """An exclusive lock on ``fd`` if nobody holds one (True), else False."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove_stale_temporaries(folder: str, base: str) -> None:
    if fcntl is None:  # (no advisory locks here: a live save could not be told from a dead one)
        return
    pattern = _temporary_pattern(base)
    try:
        entries = list(os.scandir(folder))
    except OSError:  # a folder we may write but not list: nothing to clean
        return
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:  # gone already
            continue
        try:
            if _lock(fd):
                os.unlink(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)


def _new_temporary(folder: str, base: str, mode):
    """(fd, path) of a new locked temporary for ``base``. Its permissions are
    those ``open()`` gives a new file under the umask, or ``mode`` (the
    existing target's, kept as ``open()`` keeps them)."""
    while True:
        path = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        if fcntl is not None:
            _lock(fd)
        if mode is not None:
            os.chmod(path, mode)
        return fd, path


def _atomic_write(filepath, overwrite, write) -> None:
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath!r} exists and overwrite=False")
    folder = os.path.dirname(os.path.abspath(filepath))
    base = os.path.basename(filepath)
    _remove_stale_temporaries(folder, base)
    try:
        mode = stat.S_IMODE(os.stat(filepath).st_mode)
    except OSError:
        mode = None  # a new file
    fd, tmp = _new_temporary(folder, base, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
                write(archive)
            handle.flush()
            os.fsync(handle.fileno())
            if fcntl is not None:
                os.replace(tmp, filepath)  # while still locked: no later save takes it for a dead one's
        if fcntl is None:
            os.replace(tmp, filepath)  # (Windows cannot rename an open file)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _map_argument(value, fn):
    """``fn`` applied to each identifier of a compile argument (one, a list, or a dict of them by
    output name; a dict with a "class_name" is one identifier's config)."""
    if isinstance(value, dict) and "class_name" not in value:
        return {key: _map_argument(item, fn) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_argument(item, fn) for item in value]
    return None if value is None else fn(value)


def _serialize_loss(loss):
    return loss if isinstance(loss, str) else losses.serialize(losses.get(loss))


def _serialize_metric(metric):
    """A metric name, or the config of a built-in or registered metric object or function."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, metrics_module.Metric):
        cls = type(metric)
        if registry.is_registered(cls):
            return {"class_name": cls.__name__, "registered_name": registry.get_registered_name(cls),
                    "config": metric.get_config()}
        if metrics_module.CLASSES.get(cls.__name__) is cls and cls is not metrics_module.MeanMetricWrapper:
            return {"class_name": cls.__name__, "config": metric.get_config()}
    elif callable(metric):
        if registry.is_registered(metric):
            return registry.get_registered_name(metric)
        name = getattr(metric, "__name__", None)
        if metrics_module.FUNCTIONS.get(name) is metric:
            return name
    raise ValueError(f"metric {getattr(metric, 'name', None) or getattr(metric, '__name__', metric)!r} is custom: "
                     "register it with keras.saving.register_keras_serializable() to save it")


def _deserialize_metric(entry):
    if isinstance(entry, str):
        found = registry.lookup(entry)
        if found is None:
            metrics_module.check(entry)
            return entry
        return found
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"a metric must be a name or a config, got {str(entry)[:100]}")
    registered = entry.get("registered_name")
    cls = (metrics_module.CLASSES.get(entry["class_name"]) if registered is None
           else registry.lookup(entry["class_name"], registered if isinstance(registered, str) else None))
    inner = entry.get("config")
    if not (isinstance(cls, type) and issubclass(cls, metrics_module.Metric)) or not isinstance(inner, dict):
        raise ValueError(f"unknown metric class {str(registered or entry['class_name'])[:100]!r}")
    return cls.from_config(inner)


def _compile_config(model):
    if not model.compiled:
        return None
    args = model._compile_args
    try:
        return {"optimizer": optimizers.serialize(model.optimizer),
                "loss": _map_argument(args["loss"], _serialize_loss),
                "loss_weights": args["loss_weights"],
                "metrics": _map_argument(args["metrics"], _serialize_metric),
                "weighted_metrics": _map_argument(args["weighted_metrics"], _serialize_metric)}
    except ValueError as exc:
        warnings.warn(f"saving {model.name!r} without its compile settings (they cannot be saved: {exc}); "
                      "compile the loaded model yourself", stacklevel=3)
        return None


def _compile_from_config(model, config) -> None:
    """``model.compile`` with the settings ``_compile_config`` wrote (checked: ValueError if bad)."""
    if not isinstance(config, dict):
        raise ValueError("'compile' must be a dict")
    loss = config.get("loss")
    model.compile(optimizer=optimizers.deserialize(config.get("optimizer")),
                  loss=_map_argument(loss, losses.get),
                  loss_weights=config.get("loss_weights"),
                  metrics=_map_argument(config.get("metrics"), _deserialize_metric),
                  weighted_metrics=_map_argument(config.get("weighted_metrics"), _deserialize_metric))


def _variable_entry(var) -> dict:
    return {"name": var.name, "shape": list(var.shape), "dtype": var.dtype.name}


def save_model(model, filepath, overwrite=True) -> None:
    """Write ``model`` (architecture, weights, optimizer state) to ``filepath`` atomically."""
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built yet, so it has no weights to save; call it on data "
                         "or build() it first")
    try:
        architecture = layers_module.serialize(model)
    except NotImplementedError as exc:
        raise ValueError(f"model {model.name!r} cannot be saved: {exc}") from None
    compile_config = _compile_config(model)
    weights = model.weights
    opt_vars = []
    if compile_config is not None and model.optimizer._built_for is not None:
        opt_vars = model.optimizer.variables
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": architecture,
              "compile": compile_config,
              "weights": [_variable_entry(v) for v in weights],
              "optimizer_variables": [_variable_entry(v) for v in opt_vars]}
    text = json.dumps(config, indent=1, allow_nan=False)
    arrays = [("weights", i, v.numpy()) for i, v in enumerate(weights)]
    arrays += [("optimizer", i, v.numpy()) for i, v in enumerate(opt_vars)]

    def write(archive):
        archive.writestr("config.json", text)
        for folder, i, array in arrays:
            _write_array(archive, f"{folder}/{i}.npy", array)

    _atomic_write(filepath, overwrite, write)


def save_weights(model, filepath, overwrite=True) -> None:
    """Write only the weights (and their names) to ``filepath`` atomically."""
    weights = model.weights
    text = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "model": None, "compile": None,
                       "weights": [_variable_entry(v) for v in weights], "optimizer_variables": []})

    def write(archive):
        archive.writestr("config.json", text)
        for i, v in enumerate(weights):
            _write_array(archive, f"weights/{i}.npy", v.numpy())

    _atomic_write(filepath, overwrite, write)


def model_to_json(model) -> str:
    return json.dumps(layers_module.serialize(model))


def model_from_json(text):
    from graphc.keras.models import model_from_config
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"model_from_json: not valid JSON: {exc}") from None
    return model_from_config(config)


# ===================================================================== loading

# What the zip layer may raise for a damaged or hostile file: a bad CRC,
# truncated or garbled deflate data, zip features it does not implement.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError,
               zlib.error, struct.error)
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_ENCRYPTED, _UNSUPPORTED_FLAGS = 0x1, 0x20 | 0x40  # flag bits: encryption; patched data, strong encryption


class _Reader:
    """Validated access to a saved file; every problem is a ValueError naming the file."""

    def __init__(self, filepath):
        self.path = os.fspath(filepath)
        try:
            self.archive = zipfile.ZipFile(self.path, "r")
        except FileNotFoundError:
            raise
        except _ZIP_ERRORS as exc:
            raise self.error(f"not a graphc.keras model file (a zip): {exc}") from None
        infos = self.archive.infolist()
        names = [i.filename for i in infos]
        bad = [n for n in names if not _MEMBER.match(n)]
        if bad:
            raise self.error(f"unexpected entries in the archive: {bad[:5]}")
        if len(set(names)) != len(names):
            raise self.error(f"entries appear twice in the archive: {sorted({n for n in names if names.count(n) > 1})[:5]}")
        self.infos = {i.filename: i for i in infos}
        if "config.json" not in self.infos:
            raise self.error("it has no config.json")
        text = self.read("config.json", MAX_CONFIG_BYTES)
        try:
            self.config = json.loads(text.decode("utf-8"))
        except ValueError as exc:
            raise self.error(f"config.json is not valid JSON: {exc}") from None
        except RecursionError:
            raise self.error("config.json is nested too deeply") from None
        if not isinstance(self.config, dict) or self.config.get("format") != FORMAT:
            raise self.error(f"config.json does not describe a {FORMAT} file")
        if self.config.get("format_version") != FORMAT_VERSION:
            raise self.error(f"unsupported format_version {self.config.get('format_version')!r} "
                             f"(this graphc reads version {FORMAT_VERSION})")

    def error(self, message) -> ValueError:
        return ValueError(f"cannot load {self.path!r}: {message}")

    def read(self, name, limit: int) -> bytes:
        """The bytes of entry ``name``, refused before inflating when its header
        says they are more than ``limit``, and read no further than ``limit``
        when the header lies (a zip bomb declares a small size)."""
        info = self.infos[name]
        if info.flag_bits & _ENCRYPTED:
            raise self.error(f"entry {name} is encrypted")
        if info.flag_bits & _UNSUPPORTED_FLAGS:
            raise self.error(f"entry {name} uses zip features graphc does not read (flag bits {info.flag_bits:#x})")
        if info.compress_type not in _READABLE_METHODS:
            raise self.error(f"entry {name} is compressed with method {info.compress_type}; graphc reads "
                             f"{' or '.join(_READABLE_METHODS.values())} entries")
        if info.file_size > limit:
            raise self.error(f"entry {name} would inflate to {info.file_size} bytes, more than the {limit} "
                             "it can hold")
        try:
            with self.archive.open(info) as entry:
                # no more than the header's size (within limit), whatever the deflate
                # stream holds: a header that lies fails its CRC check
                return entry.read(info.file_size)
        except _ZIP_ERRORS as exc:
            raise self.error(f"entry {name} is damaged: {exc}") from None

    def entries(self, key) -> list:
        entries = self.config.get(key)
        if not isinstance(entries, list):
            raise self.error(f"config.json: {key!r} must be a list")
        return entries

    def arrays(self, folder, variables, key) -> list:
        """The arrays stored for ``variables`` (checked against them and the index), in order."""
        entries = self.entries(key)
        stored = sorted(n for n in self.infos if n.startswith(folder + "/"))
        if len(entries) != len(variables) or len(stored) != len(variables):
            raise self.error(f"it holds {len(stored)} {folder} arrays ({len(entries)} listed), "
                             f"the model has {len(variables)}")
        arrays = []
        for i, var in enumerate(variables):
            name = f"{folder}/{i}.npy"
            if name not in self.infos:
                raise self.error(f"{name} is missing")
            expected_bytes = int(np.prod(var.shape)) * var.dtype.itemsize
            if self.infos[name].file_size > expected_bytes + NPY_HEADER_BYTES:
                raise self.error(f"{name} is larger than variable {var.name!r} of shape {tuple(var.shape)}")
            data = self.read(name, expected_bytes + NPY_HEADER_BYTES)
            try:
                array = np.load(io.BytesIO(data), allow_pickle=False)
            except ValueError as exc:
                raise self.error(f"{name} is not a plain numpy array: {exc}") from None
            except (OSError, EOFError) as exc:
                raise self.error(f"{name} is damaged: {exc}") from None
            if not isinstance(array, np.ndarray) or array.shape != var.shape or array.dtype != var.dtype:
                got = f"{getattr(array, 'shape', '?')} {getattr(array, 'dtype', '?')}"
                raise self.error(f"{name} holds an array of {got}, but variable {var.name!r} is "
                                 f"{tuple(var.shape)} {var.dtype} (does the architecture match the weights?)")
            arrays.append(array)
        return arrays

    def close(self):
        self.archive.close()


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved in ``filepath``: same predictions, and with compile=True the same
    optimizer state, so training continues where it stopped. Custom classes and
    functions in the file are found in ``custom_objects`` (name -> object), an
    enclosing ``custom_object_scope``, or the registry; nothing else is made.
    (``safe_mode`` is Keras's switch for lambdas, which graphc never loads.)"""
    with registry.custom_object_scope(custom_objects):
        return _load_model(filepath, compile)


def _load_model(filepath, compile):
    from graphc.keras.models import model_from_config
    reader = _Reader(filepath)
    try:
        architecture = reader.config.get("model")
        if architecture is None:
            raise reader.error("it holds weights only (written by save_weights); use model.load_weights")
        try:
            model = model_from_config(architecture)
        except (ValueError, TypeError, KeyError, NotImplementedError, MemoryError, RecursionError,
                OverflowError) as exc:
            raise reader.error(f"bad architecture: {exc}") from None
        weights = reader.arrays("weights", model.weights, "weights")
        compile_config = reader.config.get("compile")
        opt_arrays = None
        if compile and compile_config is not None:
            try:
                _compile_from_config(model, compile_config)
            except (ValueError, TypeError, RecursionError) as exc:
                raise reader.error(f"bad compile settings: {exc}") from None
            if reader.entries("optimizer_variables"):
                model.optimizer.build(model.trainable_weights)
                opt_arrays = reader.arrays("optimizer", model.optimizer.variables, "optimizer_variables")
        # Everything is read and checked: now set the values.
        for var, array in zip(model.weights, weights):
            var.assign(array)
        if opt_arrays is not None:
            for var, array in zip(model.optimizer.variables, opt_arrays):
                var.assign(array)
        return model
    finally:
        reader.close()


def load_weights(model, filepath) -> None:
    """Set ``model``'s weights from a file written by save_weights or save (all checked first)."""
    reader = _Reader(filepath)
    try:
        if not model.built:
            raise ValueError(f"load_weights: model {model.name!r} is not built yet; build it first")
        arrays = reader.arrays("weights", model.weights, "weights")
        model.set_weights(arrays)
    finally:
        reader.close()
