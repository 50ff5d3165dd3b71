"""The HTML viewer file and the other render targets (no browser needed)."""
import json
import re
import shutil
import time
import types

import pytest

import graphc as gc
import graphc.viz
from viz_helpers import build_scoped_graph
from graphc.viz.html import page_data, render_html, script_json
from graphc.viz.layout import visible_boxes


def _embedded(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_render_writes_one_self_contained_file(mlp_step, tmp_path):
    path = gc.viz.render(mlp_step, tmp_path / "graph.html")
    page = open(path, encoding="utf-8").read()
    assert page.startswith("<!DOCTYPE html>")
    # offline: no external scripts, styles, fonts or images
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert "innerHTML" not in page and "outerHTML" not in page and "insertAdjacentHTML" not in page
    data = _embedded(page)
    assert data["title"] == "train_step"
    labels = [v["label"] for v in data["views"]]
    assert labels[0] == "as optimized"
    if mlp_step.graph is not mlp_step.written_graph:
        assert labels == ["as optimized", "as written"]


def test_nodes_carry_their_line_of_generated_code(mlp_step):
    data = page_data(mlp_step)
    view = data["views"][0]
    lines = view["source"].split("\n")
    traced = [n for n in view["nodes"] if "l" in n]
    assert traced
    for n in traced:
        assert lines[n["l"] - 1].lstrip().startswith(n["v"] + " =") or n["v"] in lines[n["l"] - 1]
    kinds = {n["k"] for n in view["nodes"]}
    assert {"placeholder", "variable", "op"} <= kinds
    params = [n for n in view["nodes"] if n.get("p")]
    assert sorted(n["n"] for n in params) == ["x", "y"]
    assert any("ub" in n for n in view["nodes"])  # variables know what updates them


def test_hostile_names_stay_inert():
    evil = "</script><script>alert(1)</script>&<!--\u2028\u2029"
    with gc.name_scope("scope</script>"):
        x = gc.placeholder((2,), name=evil)
        y = gc.tanh(x, name="<img src=x onerror=alert(1)>")
    page = render_html(y, title=evil)
    body = page[page.index('id="graph-data">'):]
    assert body.count("</script>") == 2  # the data block's and the viewer's own
    assert "<img" not in page and "\u2028" not in page and "\u2029" not in page
    names = {n["n"] for n in _embedded(page)["views"][0]["nodes"]}
    assert "scope</script>/" + evil in names
    assert "<title>" in page and "<script>alert" not in page[:page.index("</title>")]


def test_script_json_round_trips():
    data = {"s": "a<b>&c\u2028d\u2029e</script>", "n": [1, 2.5, None]}
    text = script_json(data)
    assert not set("<>&") & set(text)
    assert json.loads(text) == data


def test_keras_like_model_and_tensors(mlp_step, tmp_path):
    model = types.SimpleNamespace(train_function=mlp_step, predict_function=None)
    assert gc.viz.render(model, tmp_path / "m.html")
    assert "train_step" in gc.to_dot(model)
    assert gc.to_networkx(model, stage="written").number_of_nodes() == len(mlp_step.written_graph.nodes())
    x = gc.placeholder((None, 3), name="x")
    y = gc.reduce_sum(gc.exp(x), axis=1)
    data = page_data(y)
    assert "def graph(x, buffers):" in data["views"][0]["source"]
    with pytest.raises(TypeError, match="compiled step"):
        gc.to_dot(types.SimpleNamespace(train_function=None))


def test_dot_has_nested_clusters_and_shapes(mlp_step):
    dot = gc.to_dot(mlp_step, stage="written")
    assert 'label="gradients"' in dot and 'label="dense_0"' in dot
    # gradients/dense_0 is a cluster inside the gradients cluster
    outer = dot.index('label="gradients"')
    assert dot.index('label="dense_0"', outer) > outer
    assert '[label="(None, 64)"]' in dot
    assert 'label="update"' in dot


def test_svg_needs_graphviz(mlp_step, tmp_path, monkeypatch):
    if shutil.which("dot"):
        path = gc.viz.render(mlp_step, tmp_path / "g.svg")
        assert "<svg" in open(path).read()
    monkeypatch.setattr(graphc.viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        gc.viz.render(mlp_step, tmp_path / "h.png")
    assert not (tmp_path / "h.png").exists()
    with pytest.raises(ValueError, match=".html"):
        gc.viz.render(mlp_step, tmp_path / "g.jpeg")
    assert "digraph" in open(gc.viz.render(mlp_step, tmp_path / "g.dot")).read()


def test_ten_thousand_nodes_render_fast_and_open_collapsed(tmp_path):
    graph = build_scoped_graph()
    start = time.perf_counter()
    path = gc.viz.render(graph, tmp_path / "big.html")
    assert time.perf_counter() - start < 5.0
    view = _embedded(open(path, encoding="utf-8").read())["views"][0]
    assert len(view["nodes"]) == 10_001
    # Count what the viewer shows first: the open groups' items that are not open groups.
    groups = view["groups"]
    by_path = {g["p"]: k for k, g in enumerate(groups)}
    opened = {0} | {by_path[p] for p in view["open"]}

    class G:  # the layout's view of the embedded groups
        def __init__(self, g):
            self.layers = g["L"]
    assert 1 <= visible_boxes([G(g) for g in groups], opened) <= 60
