"""Hostile input: names never become code or markup; model files never import or execute anything."""
import ast
import builtins
import importlib
import importlib.util
import io
import json
import os
import pickle
import re
import subprocess

import numpy as np
import pytest

import graphc as gc
from graphc import keras
from tests.reliability.saved_files import config_edit, rewrite_zip

SENTINEL = "PWNED_MARKER"


def hostile_names(tmp_path):
    touch = f"__import__('os').system('touch {tmp_path}/pwned')"
    return ["a'b", 'q"q', "new\nline", "cr\r\nlf", "tab\t", "\\", "#", "</script><script>alert(1)</script>",
            "<b>&amp;</b>", '"}; alert(1); {"', "]] --> -->", "{{x}}", touch, f"x\n{touch}",
            "def", "class", "lambda", "None", "np", "print", "__builtins__", "import os",
            "ünïcødé", "名前", "\u202eevil", "\x00nul", "\x1b[31m", "emoji 🎉", "a/b", "//", "  ", "%s %d {0}",
            SENTINEL + "'); exec('1", "-->"]


@pytest.fixture
def no_exec(tmp_path, monkeypatch):
    """Fails the test if anything runs os.system / subprocess or creates the sentinel file."""
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    yield tmp_path
    assert not (tmp_path / "pwned").exists()
    assert calls == []


def _code_strings(source):
    """Every string literal and identifier in generated code (comments excluded)."""
    tree = ast.parse(source)
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    return strings, names


def _hostile_graph(names):
    xs, outs, updates = [], [], []
    for i, name in enumerate(names):
        with gc.name_scope(name) if name.strip("/ ") else _null():
            x = gc.placeholder((None, 2), dtype="float64", name=name)
            v = gc.Variable(np.full(2, float(i)), name=name)
            y = gc.multiply(gc.tanh(x, name=name) + v, 2.0, name=name)
        xs.append(x)
        outs.append(y)
        updates.append((v, gc.add(v, 1.0, name=name)))
    return xs, outs, updates


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("level", [0, 2])
def test_hostile_names_compile_run_and_stay_out_of_code(no_exec, level):
    names = hostile_names(no_exec)
    xs, outs, updates = _hostile_graph(names)
    f = gc.function(xs, outs, updates=updates, optimize=level, name=names[12])
    feeds = [np.full((3, 2), 0.1 * i) for i in range(len(names))]
    results = f(*feeds)
    for i, r in enumerate(results):
        np.testing.assert_allclose(r, 2 * (np.tanh(0.1 * i) + i), rtol=1e-12)
    assert np.all(updates[5][0].numpy() == 6.0)
    strings, identifiers = _code_strings(f.source)
    assert strings == []  # no user text as a string literal
    for ident in identifiers:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident) and ident.isascii()
    for line in f.source.splitlines():  # user text only in comments, printable ASCII
        assert line.isascii() and "\r" not in line and "\x00" not in line and "\x1b" not in line
    assert not {"exec", "eval", "__import__", "os", "system", "open", "compile"} & set(identifiers)
    calls = [n for n in ast.walk(ast.parse(f.source)) if isinstance(n, ast.Call)]
    assert calls and all(isinstance(c.func, ast.Attribute) for c in calls)  # np.*, .copy(), ...


def test_hostile_names_in_dot_are_quoted_and_escaped(no_exec):
    names = hostile_names(no_exec)
    xs, outs, updates = _hostile_graph(names)
    f = gc.function(xs, outs, updates=updates)
    dot = gc.to_dot(f)
    assert dot.isascii()
    assert "\x00" not in dot and "\x1b" not in dot and "\r" not in dot
    # every label is one quoted string with no unescaped quote inside
    for line in dot.splitlines():
        for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', line):
            assert "\n" not in label
        stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
        assert '"' not in stripped.replace('""', ""), line
        assert "<script>" not in stripped and "system(" not in stripped


def test_hostile_names_in_the_html_viewer_are_escaped(no_exec):
    names = hostile_names(no_exec)
    xs, outs, updates = _hostile_graph(names)
    f = gc.function(xs, outs, updates=updates)
    path = gc.viz.render(f, str(no_exec / "graph.html"), title="</title><script>alert('t')</script>")
    page = open(path, encoding="utf-8").read()
    assert "<script>alert" not in page
    assert "</script><script>" not in page
    assert "</title><script>" not in page
    # the data block is one script element whose JSON parses and holds the names (escaped)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert scripts
    data = next((s for s in scripts if "\"nodes\"" in s or "nodes" in s), None)
    assert data is not None
    assert "</" not in "".join(scripts).replace("<\\/", "")  # no early end of a script element


def test_hostile_layer_names_train_save_and_load(no_exec):
    names = ["dense'; import os #", "layer\nnewline", "ünï", "class", "<script>x"]
    model = keras.Sequential([keras.Input((3,))] + [keras.layers.Dense(2, name=n) for n in names])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), np.float32)
    model.fit(x, np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    assert _code_strings(model.train_function.source)[0] == []
    path = no_exec / "m.keras"
    model.save(path)
    loaded = keras.load_model(path)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_summary_shows_terminal_control_sequences_in_names_escaped():
    import unicodedata
    names = ["clear\x1b[2J\x1b[H", "bell\x07", "cr\rover", "csi\x9b31m", "ls\u2028ps\u2029", "rtl\u202eevil",
             "nul\x00", "ünïcødé 名前"]
    model = keras.Sequential([keras.Input((3,))] + [keras.layers.Dense(2, name=n) for n in names],
                             name="model\x1b]0;title\x07")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert not [c for c in text if c != "\n" and unicodedata.category(c)[0] == "C" or c in "\u2028\u2029"]
    assert "\\x1b[2J" in text and "\\r" in text and "\\u202e" in text and "\\x9b" in text
    assert "ünïcødé 名前" in text and 'Model: "model\\x1b]0;title\\x07"' in text
    widths = {len(line) for line in text.splitlines()[1:-4]}
    assert len(widths) == 1  # the table stays aligned


# ------------------------------------------------------------ exported modules

MARKER = "GRAPHC_PWNED_MARKER"


def string_breakers():
    """Names that end a string literal, a docstring or a line of source, then run code
    (which would set a marker attribute on builtins)."""
    run = f"setattr(__import__('builtins'), '{MARKER}', 1)"
    return ['x"""; ' + run + '; """', "x'''; " + run + "; '''", 'q"; ' + run + '; "', "q'; " + run + "; '",
            "back\\", 'back\\"""', "\\N{", "\\x", "cr\r" + run, "ls\u2028" + run, "ps\u2029" + run,
            "nl\n" + run, "ff\x0c" + run, "nul\x00" + run, "\x1b[2J", "#" + run]


def _import_exported(path):
    spec = importlib.util.spec_from_file_location("exported_step", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_inert_module(path):
    """The exported module holds no user text outside comments, and importing it runs nothing."""
    source = path.read_text(encoding="utf-8")
    strings, identifiers = _code_strings(source)
    docstring, literals = strings[0], strings[1:]
    assert re.match(r"[A-Za-z_][A-Za-z0-9_]*: a step generated by graphc", docstring)
    assert MARKER not in docstring.partition(":")[2]  # before it: the identifier made of the name
    for text in literals:  # state keys (identifiers) and the .npz file name
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) or text == path.stem + ".npz", text
    assert not {"system", "__import__", "open", "exec", "eval"} & set(identifiers)
    for line in source.splitlines():
        assert line.isascii() and "\r" not in line and "\x00" not in line and "\x0c" not in line
    assert len(source.splitlines()) == len(source.split("\n")) - (source.endswith("\n"))
    module = _import_exported(path)
    assert not hasattr(builtins, MARKER)
    return module


def test_exported_module_of_hostile_names_is_inert_and_runs(no_exec):
    names = string_breakers()
    xs, outs, updates = _hostile_graph(names)
    f = gc.function(xs, outs, updates=updates, name=names[0])
    path = no_exec / "step.py"
    f.export(path)
    module = _assert_inert_module(path)
    feeds = [np.full((3, 2), 0.1 * i) for i in range(len(names))]
    step = getattr(module, module.__all__[0])
    for i, value in enumerate(step(*feeds)):
        np.testing.assert_allclose(value, 2 * (np.tanh(0.1 * i) + i), rtol=1e-12)


@pytest.mark.parametrize("breaker", range(4))
def test_exported_step_of_a_loaded_model_with_a_hostile_layer_name_is_inert(no_exec, breaker):
    path = _saved(no_exec)
    hostile = no_exec / "hostile.keras"
    name = string_breakers()[breaker]
    rewrite_zip(path, hostile, config_edit(
        lambda c: c["model"]["config"]["layers"][-1]["config"].update(name=name)))
    model = keras.load_model(hostile)
    assert model.layers[-1].name == name
    x = np.ones((4, 3), np.float32)
    model.fit(x, np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    exported = no_exec / "train.py"
    model.train_function.export(exported)
    _assert_inert_module(exported)
    assert name not in exported.read_text()  # escaped in the comments it appears in


# ------------------------------------------------------------ model files

def _saved(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    return path


class _Boom:
    def __reduce__(self):
        return (os.system, (f"echo {SENTINEL}",))


@pytest.fixture
def no_imports(monkeypatch):
    """Records imports of modules graphc has not already imported."""
    seen = []
    real_import = builtins.__import__
    real_import_module = importlib.import_module

    def watch_import(name, *a, **k):
        if name.split(".")[0] not in ("graphc", "numpy", "json", "zipfile", "io", "os", "re", "math",
                                      "warnings", "tempfile", "collections", "encodings", "_io", "zlib",
                                      "binascii", "struct", "sympy", "functools", "itertools", "typing",
                                      "contextlib", "weakref", "threading", "time", "copy", "abc", "ast",
                                      "hashlib", "keyword", "linecache", "builtins", "dataclasses", "sys"):
            seen.append(name)
        return real_import(name, *a, **k)

    def watch_module(name, *a, **k):
        if not name.startswith(("graphc", "numpy", "encodings")):
            seen.append(name)
        return real_import_module(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", watch_import)
    monkeypatch.setattr(importlib, "import_module", watch_module)
    yield seen


@pytest.mark.parametrize("attack", [
    "layer_class_path", "model_class_path", "initializer_path", "activation_path", "optimizer_path",
    "loss_path", "pickle_member", "object_npy", "pickle_in_npy_slot", "path_traversal_member",
    "huge_config", "deep_json"])
def test_model_files_that_try_to_run_code_are_refused(tmp_path, no_exec, no_imports, capfd, attack):
    path = _saved(tmp_path)
    out = tmp_path / f"{attack}.keras"
    layer = lambda c: c["model"]["config"]["layers"][-1]  # noqa: E731
    edits = {
        "layer_class_path": config_edit(lambda c: layer(c).update(class_name="os.system",
                                                                   module="os", registered_name="os>system")),
        "model_class_path": config_edit(lambda c: c["model"].update(class_name="subprocess.Popen")),
        "initializer_path": config_edit(lambda c: layer(c)["config"].update(
            kernel_initializer={"class_name": "builtins.eval", "module": "builtins",
                                "config": {"source": f"print('{SENTINEL}')"}})),
        "activation_path": config_edit(lambda c: layer(c)["config"].update(activation="os.system")),
        "optimizer_path": config_edit(lambda c: c["compile"].update(
            optimizer={"class_name": "subprocess.Popen", "module": "subprocess", "config": {"args": "true"}})),
        "loss_path": config_edit(lambda c: c["compile"].update(loss={"class_name": "os.system", "config": {}})),
        "pickle_member": lambda m: m.update({"weights.pkl": PICKLED}),
        "object_npy": lambda m: m.update({"weights/0.npy": OBJECT_NPY}),
        "pickle_in_npy_slot": lambda m: m.update({"weights/0.npy": PICKLED}),
        "path_traversal_member": lambda m: m.update({"../../evil.py": b"import os"}),
        "huge_config": lambda m: m.update({"config.json": b"[" * 100000 + b"]" * 100000}),
        "deep_json": _deep_edit,
    }
    rewrite_zip(path, out, edits[attack])
    with pytest.raises(ValueError) as info:
        keras.load_model(out)
    assert "cannot load" in str(info.value)
    assert SENTINEL not in capfd.readouterr().out
    assert not any(n.startswith(("os.", "subprocess", "pickle", "builtins.eval")) for n in no_imports), no_imports
    assert not (tmp_path.parent / "evil.py").exists()


def _deep_edit(members):
    config = json.loads(members["config.json"])
    config["model"]["config"]["layers"] = "DEEP"
    text = json.dumps(config).replace('"DEEP"', '[{"class_name": "Dense", "config": ' * 5000 + "{}" + "}]" * 5000)
    members["config.json"] = text.encode()


def _object_npy():
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Boom(), 1], dtype=object), allow_pickle=True)
    return buffer.getvalue()


PICKLED = pickle.dumps(_Boom())  # built at import, before os.system is watched
OBJECT_NPY = _object_npy()
