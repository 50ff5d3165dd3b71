"""Generated-code inspection: numbered listing, pass statistics, summary, standalone export."""
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphc as gc
from graphc.inspect import format_stats, number_lines, summary


def _mlp_step(seed=0):
    rng = np.random.default_rng(seed)
    x = gc.placeholder((None, 5), name="x")
    y = gc.placeholder((None,), dtype="int32", name="y")
    with gc.name_scope("dense"):
        w = gc.Variable(rng.normal(size=(5, 3)).astype("float32"), name="kernel")
        b = gc.Variable(np.zeros(3, "float32"), name="bias")
        logits = gc.matmul(x, w) + b
    with gc.name_scope("loss"):
        loss = -gc.reduce_mean(gc.reduce_sum(gc.one_hot(y, 3) * gc.log_softmax(logits), axis=1))
    gw, gb = gc.grad(loss, [w, b])
    f = gc.function([x, y], [loss, gc.argmax(logits, axis=1)],
                    updates=[(w, w - 0.5 * gw), (b, b - 0.5 * gb)], name="train_step")
    return f, w


def test_print_source_numbers_every_line():
    f, _ = _mlp_step()
    out = io.StringIO()
    f.print_source(file=out)
    text = out.getvalue()
    source_lines = f.source.rstrip("\n").split("\n")
    listing = text.split("\n")
    for k, line in enumerate(source_lines, 1):
        number, _, code = listing[k - 1].partition(" | ")
        assert int(number) == k and code == line.rstrip()
    assert "dense/matmul" in text  # the trailing comments trace code to model names
    if getattr(f, "stats", None) is not None:
        assert "# passes" in text


def test_format_stats_reads_common_shapes():
    assert format_stats(None) == ""
    records = [{"name": "cse", "nodes_before": 10, "nodes_after": 8, "seconds": 0.002},
               {"name": "dce", "before": 8, "after": 7}]
    text = format_stats(records)
    assert "cse" in text and "10" in text and "8" in text and "2.0" in text and "dce" in text
    assert "fold" in format_stats({"fold": {"before": 3, "after": 2}})

    class Custom:
        def __str__(self):
            return "my table"
    assert format_stats(Custom()) == "my table"


def test_number_lines_aligns():
    assert number_lines("a\nb\n" * 5).split("\n")[0] == " 1 | a"


def test_summary_mentions_inputs_variables_and_scopes():
    f, _ = _mlp_step()
    text = summary(f)
    assert "x (None, 5) float32" in text and "y (None,) int32" in text
    assert "variables: 2 (18 values), 2 updated per call" in text
    assert "dense" in text and "gradients" in text
    assert "matmul" in text


DRIVER = textwrap.dedent("""
    import importlib.util, json, sys
    sys.modules["graphc"] = None           # graphc must not be needed
    try:
        import graphc
    except ImportError:
        pass
    else:
        raise SystemExit("graphc is importable")
    import numpy as np
    spec = importlib.util.spec_from_file_location("step", sys.argv[1])
    step = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(step)
    feed = np.load(sys.argv[2], allow_pickle=False)
    out = {}
    for k in range(2):                     # twice: the variable updates must carry over
        for j, value in enumerate(step.train_step(feed["x"], feed["y"])):
            out[f"call{k}_out{j}"] = np.asarray(value)
    np.savez(sys.argv[3], **out)
""")


def test_export_runs_in_a_fresh_interpreter_without_graphc(tmp_path):
    f, w = _mlp_step()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 5)).astype("float32")
    y = rng.integers(0, 3, size=7).astype("int32")
    exported = tmp_path / "export" / "step.py"
    exported.parent.mkdir()
    assert f.export(str(exported)) == str(exported)
    assert (tmp_path / "export" / "step.npz").exists()
    kernel_before = w.numpy()

    expected = [f(x, y), f(x, y)]  # the Function's own two steps, after the export

    np.savez(tmp_path / "feed.npz", x=x, y=y)
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    run = subprocess.run([sys.executable, "-I", str(tmp_path / "driver.py"), str(exported),
                          str(tmp_path / "feed.npz"), str(tmp_path / "out.npz")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr + run.stdout
    got = np.load(tmp_path / "out.npz")
    for k in range(2):
        for j, value in enumerate(expected[k]):
            np.testing.assert_allclose(got[f"call{k}_out{j}"], value, rtol=1e-6, atol=1e-6)
    # the exported module kept its own state: the saved state is the one before the two steps
    with np.load(tmp_path / "export" / "step.npz", allow_pickle=False) as saved:
        np.testing.assert_array_equal(saved["dense_kernel"], kernel_before)
    assert not [p for p in os.listdir(tmp_path / "export") if p.endswith(".tmp")]


def test_export_source_is_readable_and_pickle_free(tmp_path):
    f, _ = _mlp_step()
    path = tmp_path / "s.py"
    f.export(path)
    text = path.read_text()
    assert "import graphc" not in text and "from graphc" not in text
    assert "allow_pickle=False" in text and "def train_step(x, y):" in text
    with pytest.raises(ValueError, match=r"\.py"):
        f.export(tmp_path / "s.txt")
