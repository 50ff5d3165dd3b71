"""The viewer in a real browser: headless Chromium opens the page, a scope is
expanded and a node clicked with real mouse events, and a screenshot is kept
(artifacts/viewer.png). Skips only when no chromium binary is installed."""
from __future__ import annotations

import os
import time

import graphc as gc
from viz_helpers import build_mlp_step, build_scoped_graph

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _training_step():
    """The Keras MNIST model's training step when graphc.keras can build one, else the gc-API MLP."""
    try:
        import numpy as np
        from graphc import keras
        model = keras.Sequential([keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(np.zeros((8, 784), "float32"), np.zeros(8, "int32"), epochs=1, batch_size=8, verbose=0)
        if model.train_function is not None:
            return model
    except Exception:  # noqa: BLE001  (no Keras front end yet, or one without these calls)
        pass
    return build_mlp_step()


def count(browser, selector: str) -> int:
    return browser.js(f"document.querySelectorAll({selector!r}).length")


def test_viewer_expand_click_and_screenshot(browser, tmp_path):
    target = _training_step()
    page = tmp_path / "graph.html"
    gc.viz.render(target, page, collapse_above=20)  # small threshold: scopes start closed
    browser.open(str(page))

    # Nodes and scopes are drawn; some scopes are closed.
    assert count(browser, ".node") >= 2
    closed = browser.js("Array.from(document.querySelectorAll('.group.collapsed'))"
                        ".map(function (e) { return e.getAttribute('data-group'); })")
    assert closed, "with collapse_above=20 some scope should start closed"
    assert browser.js("document.querySelector('#count').textContent").startswith(
        str(len(gc.export.graph_nodes(gc.export.as_graph(target)))))

    # Expand a closed scope with a real click: its contents appear.
    scope = "gradients" if "gradients" in closed else closed[0]
    before = browser.js("window.graphcViewer.visibleBoxes()")
    browser.click(f'.group.collapsed[data-group="{scope}"]')
    assert browser.js(f"!!document.querySelector('.group.expanded[data-group=\"{scope}\"]')")
    assert browser.js("window.graphcViewer.visibleBoxes()") > before

    # Find a matmul by searching, then click it: the details show op, shape and the code line.
    browser.type_text("#search", "matmul")
    assert count(browser, "#results div") >= 1
    browser.press_enter()
    name = browser.js("document.querySelector('#details h2').textContent")
    assert "matmul" in name
    browser.js("document.querySelector('#details').textContent = ''")  # forget, then click for real
    browser.click(f'.node[data-name="{name}"] rect')
    details = browser.js("""(function () {
        var f = function (k) { var e = document.querySelector('[data-field="' + k + '"]'); return e ? e.textContent : null; };
        return {name: document.querySelector('#details h2').textContent, op: f('op'), shape: f('shape'),
                dtype: f('dtype'), code: f('code'), inputs: f('inputs'),
                highlighted: (document.querySelector('#code .hl') || {}).textContent};
    })()""")
    assert details["name"] == name
    assert details["op"].startswith("matmul")
    assert details["shape"].startswith("(")
    assert details["dtype"] in ("float32", "float64")
    assert details["code"].startswith("line ") and "matmul(" in details["code"]
    assert "matmul(" in details["highlighted"]  # the same line, highlighted in the code pane
    assert details["inputs"].count("(") >= 2  # two inputs listed with their shapes
    assert browser.js("document.querySelector('.node.selected') !== null")

    # Switch to the graph as written, when the passes changed it.
    if browser.js("document.querySelectorAll('#views button').length") == 2:
        browser.click('#views button[data-view="1"]')
        assert browser.js("window.graphcViewer.view()") == "as written"
        browser.click('#views button[data-view="0"]')
        browser.js(f"window.graphcViewer.reveal({name!r})")

    os.makedirs(os.path.join(REPO, "artifacts"), exist_ok=True)
    shot = os.path.join(REPO, "artifacts", "viewer.png")
    browser.screenshot(shot)
    assert os.path.getsize(shot) > 10_000
    browser.click("#fit")  # and the whole graph, for a look at the folding
    browser.screenshot(os.path.join(REPO, "artifacts", "viewer_overview.png"))


def test_ten_thousand_nodes_open_collapsed(browser, tmp_path):
    graph = build_scoped_graph()
    page = tmp_path / "big.html"
    start = time.perf_counter()
    gc.viz.render(graph, page)
    assert time.perf_counter() - start < 5.0
    browser.open(str(page), timeout=20)
    shown = browser.js("window.graphcViewer.visibleBoxes()")
    assert 1 <= shown <= 60
    assert count(browser, ".node") + count(browser, ".group.collapsed") == shown
    # Search reaches into closed scopes: revealing a deep node opens its scope.
    assert browser.js("window.graphcViewer.reveal('block_57/tanh')") >= 0
    assert browser.js("!!document.querySelector('.group.expanded[data-group=\"block_57\"]')")
