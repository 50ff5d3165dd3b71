"""Hostile names never become code: they compile, run, and show only as escaped comments."""
import ast
import io
import os
import re
import tokenize

import numpy as np
import pytest

import graphc as gc


def hostile_names(sentinel):
    return [
        "a'b", 'a"b', "'''", '"""', "a\nb", "line\r\nbreak", "tab\there",
        f"__import__('os').system('touch {sentinel}')",
        '"); import os; #', "'); os.system('touch " + str(sentinel) + "'); ('",
        "x\n__import__('os').system('touch " + str(sentinel) + "')",
        "\\", "a\\", "#", "# coding: evil",
        "class", "def", "lambda", "return", "None", "True", "import",
        "print", "np", "len", "self", "__builtins__", "__class__", "graphc_function",
        "ünïcødé", "变量", "\u2028", "\x00", "\x1b[31m", "\ufeff",
        "", " ", "_", "___", "1", "1abc", "-", "/", "a/b", "//",
        "dup", "dup", "dup_1", "x" * 300,
    ]


def code_without_comments(source):
    """The source with every comment token removed (comments may quote names, escaped)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type != tokenize.COMMENT]
    return tokenize.untokenize(tokens)


@pytest.fixture
def watched(tmp_path, monkeypatch):
    """A sentinel path that must not be created and a record of os.system calls."""
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    sentinel = tmp_path / "pwned"
    yield sentinel, calls
    assert not sentinel.exists()
    assert calls == []


def test_hostile_names_compile_and_run_correctly(watched):
    sentinel, _ = watched
    names = hostile_names(sentinel)
    placeholders, variables, outputs, updates = [], [], [], []
    for i, name in enumerate(names):
        with gc.name_scope(name) if name.strip("/") else _nullcontext():
            p = gc.placeholder((None, 2), name=name)
            v = gc.Variable(np.full(2, i, np.float32), name=name)
            c = gc.constant(np.float32(i + 1), name=name)
            out = gc.multiply(p + v, c, name=name)
        placeholders.append(p)
        variables.append(v)
        outputs.append(out)
        updates.append((v, gc.add(v, 1.0, name=name)))
    f = gc.function(placeholders, outputs, updates=updates, name=names[7])

    tree = ast.parse(f.source)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef)
    params = [a.arg for a in tree.body[0].args.args]
    if "= buffers" in f.source:  # the planned buffers come last
        assert params.pop() == "buffers"
    assert len(params) == len(set(params)) == len(names)
    for ident in params + list(f.program.namespace):
        assert ident.isidentifier() and ident.isascii()

    feeds = [np.full((3, 2), i, np.float32) for i in range(len(names))]
    results = f(*feeds)
    for i, r in enumerate(results):
        np.testing.assert_array_equal(r, np.full((3, 2), (i + i) * (i + 1), np.float32))
    for i, v in enumerate(variables):
        np.testing.assert_array_equal(v.numpy(), [i + 1.0, i + 1.0])


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_raw_names_never_appear_as_code(watched):
    sentinel, _ = watched
    names = hostile_names(sentinel)
    x = gc.placeholder((None, 2), name="x")
    outputs = []
    for name in names:
        v = gc.Variable(np.ones(2, np.float32), name=name)
        outputs.append(gc.tanh(x * v, name=name))
    f = gc.function([x], outputs, updates=[], name="f'\n__import__('os')")
    code = code_without_comments(f.source)
    assert "'" not in code and '"' not in code  # no string literal at all
    words = {t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.NAME}
    assert not words & {"import", "__import__", "os", "system", "exec", "eval", "open", "__builtins__"}
    for name in names:
        if any(ch in name for ch in "'\"\n\r()#;\\"):
            assert name not in code
    # every comment stays on its own line and is printable ASCII
    for line in f.source.splitlines():
        assert line.isascii() and line.isprintable()
    assert f.source.count("\n") == len(f.source.splitlines())
    np.testing.assert_allclose(f(np.ones((1, 2), np.float32))[0], np.tanh(np.ones((1, 2))), rtol=1e-6)


def test_keywords_and_builtins_are_not_shadowed(watched):
    x = gc.placeholder((2,), name="print")
    y = gc.placeholder((2,), name="np")
    z = gc.abs(x, name="abs") + gc.exp(y, name="len")
    w = gc.sqrt(gc.abs(z), name="float")
    f = gc.function([x, y], [z, w])
    tree = ast.parse(f.source)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    params = {a.arg for a in tree.body[0].args.args}
    import builtins
    import keyword
    for ident in stored | params:
        assert not keyword.iskeyword(ident) and not hasattr(builtins, ident) and ident != "np"
    a, b = np.array([-1.0, 2.0], np.float32), np.array([0.0, 1.0], np.float32)
    got_z, got_w = f(a, b)
    np.testing.assert_allclose(got_z, np.abs(a) + np.exp(b), rtol=1e-6)
    np.testing.assert_allclose(got_w, np.sqrt(np.abs(np.abs(a) + np.exp(b))), rtol=1e-6)


def test_duplicate_names_stay_distinct(watched):
    xs = [gc.placeholder((1,), name="same") for _ in range(3)]
    vs = [gc.Variable(np.full(1, 10.0 * i, np.float32), name="same") for i in range(3)]
    outs = [gc.add(x, v, name="same") for x, v in zip(xs, vs)]
    f = gc.function(xs, outs)
    got = f(*[np.full(1, i, np.float32) for i in range(3)])
    for i in range(3):
        np.testing.assert_array_equal(got[i], [11.0 * i])


def test_graph_text_and_dot_escape_names(watched):
    sentinel, _ = watched
    names = hostile_names(sentinel)
    x = gc.placeholder((None, 2), name='in"put\n')
    outputs = [gc.tanh(x, name=name) for name in names]
    with gc.name_scope('sc"ope\n}'):
        outputs.append(gc.exp(x, name="e"))
    f = gc.function([x], outputs)
    dot = gc.to_dot(f)
    quoted = re.compile(r'"(?:[^"\\\n]|\\.)*"')  # a DOT string with its escapes
    depth = 0
    for line in dot.splitlines():
        assert line.isascii() and line.isprintable(), repr(line)
        rest = quoted.sub("S", line).strip()  # what is left is DOT syntax, never user text
        assert '"' not in rest and "\\" not in rest, repr(line)
        assert rest.endswith((";", "{", "}")), repr(line)
        assert re.fullmatch(r"[A-Za-z0-9_ =,;\[\]{}>\-S.#]*", rest), repr(line)
        depth += rest.count("{") - rest.count("}")
        assert depth >= 0
    assert depth == 0
    labels = "".join(quoted.findall(dot))
    assert 'in\\"put\\\\n' in labels and 'sc\\"ope' in labels  # shown, escaped
    text = str(f.graph)
    assert len(text.splitlines()) == len(f.graph.nodes()) + 1
    for line in text.splitlines():
        assert line.isascii() and line.isprintable()
