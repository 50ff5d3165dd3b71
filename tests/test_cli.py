"""The graphc command: viz, inspect and summary on a file's Function, Tensor or
model, and clear errors (exit code 2) for targets that name nothing showable."""
import os
import subprocess
import sys
import textwrap

import pytest

from graphc.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODEL_FILE = textwrap.dedent('''
    import numpy as np
    import graphc as gc

    x = gc.placeholder((None, 4), name="x")
    with gc.name_scope("layer"):
        w = gc.Variable(np.ones((4, 2), "float32"), name="w")
        out = gc.tanh(gc.matmul(x, w))
    loss = gc.reduce_mean(out * out)
    step = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], name="step")
    not_a_graph = 42

    if __name__ == "__main__":
        raise SystemExit("the CLI must not run the main block")
''')


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model_def.py"
    path.write_text(MODEL_FILE)
    return str(path)


def test_inspect_prints_numbered_code_and_passes(model_file, capsys):
    assert main(["inspect", f"{model_file}:step"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(" 1 | def step(x, buffers):")
    assert "layer/matmul" in out


def test_inspect_a_tensor_shows_the_code_it_compiles_to(model_file, capsys):
    assert main(["inspect", f"{model_file}:loss"]) == 0
    assert "def graph(x, buffers):" in capsys.readouterr().out


def test_viz_writes_html_and_dot(model_file, tmp_path, capsys):
    html = tmp_path / "g.html"
    assert main(["viz", f"{model_file}:step", "-o", str(html)]) == 0
    assert html.read_text().startswith("<!DOCTYPE html>")
    dot = tmp_path / "g.dot"
    assert main(["viz", f"{model_file}:step", "-o", str(dot), "--stage", "written"]) == 0
    assert "cluster" in dot.read_text()
    assert "wrote" in capsys.readouterr().out


def test_summary(model_file, capsys):
    assert main(["summary", f"{model_file}:step"]) == 0
    out = capsys.readouterr().out
    assert "x (None, 4) float32" in out and "variables: 1 (8 values), 1 updated per call" in out


@pytest.mark.parametrize("target, message", [
    ("{dir}/missing.py:step", "no such file"),
    ("{file}:nope", "defines no name 'nope'; it defines loss, out, step"),
    ("{file}:not_a_graph", "is a int, not a Function, Tensor, Graph or Keras model"),
    ("{file}", "name what to show"),
    ("{dir}/missing.npz", "no such file"),
])
def test_errors_exit_2_with_a_message(model_file, tmp_path, capsys, target, message):
    target = target.format(dir=tmp_path, file=model_file)
    assert main(["summary", target]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.startswith("graphc summary: error:")


def test_python_dash_m_graphc(model_file):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "graphc", "inspect", f"{model_file}:missing"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 2 and "defines no name 'missing'" in run.stderr
    run = subprocess.run([sys.executable, "-m", "graphc", "--help"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 0 and "viz" in run.stdout and "inspect" in run.stdout


def test_saved_keras_model(tmp_path, capsys):
    from graphc import keras
    import numpy as np
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 5), "float32"), np.zeros(4, "int32"), epochs=1, verbose=0)
    path = tmp_path / "model.npz"
    model.save(str(path))
    assert main(["summary", str(path)]) == 0
    assert "variables" in capsys.readouterr().out
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    assert main(["inspect", str(bad)]) == 2
    assert "cannot load a model" in capsys.readouterr().err


def test_inspect_the_mnist_example(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["inspect", "examples/mnist_mlp.py:model"]) == 0
    out = capsys.readouterr().out
    assert "def train_function(" in out and " | " in out
