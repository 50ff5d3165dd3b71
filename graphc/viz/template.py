"""The viewer page: HTML, CSS and JS in one string, filled in by ``html.render_html``.

``%TITLE%`` becomes the escaped title and ``%DATA%`` the graph as script-safe
JSON. The script never uses innerHTML: every name goes in with textContent
or setAttribute.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE% - graphc</title>
<style>
:root { --bar: 46px; --side: 400px; font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; overflow: hidden; background: #f8fafc; color: #0f172a; }
#bar { position: fixed; top: 0; left: 0; right: 0; height: var(--bar); display: flex; align-items: center; gap: 8px;
       padding: 0 12px; background: #1e293b; color: #f1f5f9; z-index: 3; font-size: 13px; }
#title { font-weight: 600; margin-right: 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 260px; }
#bar button { background: #334155; color: #f1f5f9; border: 1px solid #475569; border-radius: 4px; padding: 4px 9px; cursor: pointer; font-size: 12px; }
#bar button:hover { background: #475569; }
#bar button.active { background: #2563eb; border-color: #3b82f6; }
#search { width: 240px; padding: 5px 8px; border-radius: 4px; border: 1px solid #475569; background: #0f172a; color: #f1f5f9; }
#count { margin-left: auto; color: #94a3b8; white-space: nowrap; }
#results { position: fixed; top: var(--bar); left: 280px; width: 420px; max-height: 60vh; overflow-y: auto; background: #fff;
           border: 1px solid #cbd5e1; box-shadow: 0 8px 24px rgba(0,0,0,.15); z-index: 4; display: none; font-size: 12px; }
#results div { padding: 5px 9px; cursor: pointer; border-bottom: 1px solid #f1f5f9; }
#results div:hover { background: #eff6ff; }
#results .meta { color: #64748b; margin-left: 6px; }
main { position: fixed; top: var(--bar); left: 0; right: 0; bottom: 0; display: flex; }
#canvas { flex: 1; height: 100%; cursor: grab; user-select: none; }
#canvas.dragging { cursor: grabbing; }
#side { width: var(--side); border-left: 1px solid #cbd5e1; background: #fff; display: flex; flex-direction: column; font-size: 12.5px; }
#details { padding: 12px 14px; overflow-y: auto; max-height: 48%; border-bottom: 1px solid #e2e8f0; }
#details h2 { font-size: 14px; margin: 0 0 8px; word-break: break-all; }
#details table { border-collapse: collapse; width: 100%; }
#details td { padding: 3px 4px; vertical-align: top; border-bottom: 1px solid #f1f5f9; word-break: break-all; }
#details td:first-child { color: #64748b; width: 84px; white-space: nowrap; }
#details code, #code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
#details .link { color: #1d4ed8; cursor: pointer; display: block; }
#details .link:hover { text-decoration: underline; }
#details .hint { color: #64748b; }
#code-head { padding: 8px 14px; font-weight: 600; border-bottom: 1px solid #e2e8f0; }
#code { flex: 1; overflow: auto; font-size: 11.5px; line-height: 1.5; padding: 4px 0; white-space: pre; }
#code .ln { padding: 0 10px 0 0; }
#code .ln.traced { cursor: pointer; }
#code .ln.traced:hover { background: #f1f5f9; }
#code .ln.hl { background: #fde68a; }
#code .no { display: inline-block; width: 44px; text-align: right; padding-right: 10px; color: #94a3b8; }
#stats { margin: 0; padding: 8px 14px; border-top: 1px solid #e2e8f0; font-size: 11px; color: #334155; max-height: 22%; overflow: auto; }
#stats:empty { display: none; }
svg text { font-size: 11px; fill: #0f172a; pointer-events: none; }
.node rect { fill: #fff; stroke: #64748b; stroke-width: 1.2; rx: 5; cursor: pointer; }
.node.kind-placeholder rect { fill: #dbeafe; stroke: #2563eb; }
.node.kind-variable rect { fill: #fef3c7; stroke: #b45309; }
.node.kind-constant rect { fill: #f1f5f9; stroke: #94a3b8; }
.node.output rect { stroke-width: 2.6; stroke: #0f172a; }
.node .sub, .group .sub { fill: #475569; font-size: 10px; }
.node .name { font-weight: 600; }
.node.match rect, .group.collapsed.match rect.front { stroke: #16a34a; stroke-width: 3; }
.node.selected rect { stroke: #dc2626; stroke-width: 3; }
.group.collapsed rect { fill: #e0e7ff; stroke: #4f46e5; stroke-width: 1.2; rx: 8; cursor: pointer; }
.group.collapsed rect.back { fill: #c7d2fe; }
.group.collapsed .name { font-weight: 600; fill: #312e81; }
.group.synthetic.collapsed rect { fill: #f5f3ff; stroke: #8b5cf6; stroke-dasharray: 4 3; }
.group.expanded > rect.box { fill: rgba(99,102,241,.05); stroke: #818cf8; stroke-dasharray: 5 3; rx: 10; }
.group.expanded > rect.head { fill: rgba(99,102,241,.14); stroke: none; cursor: pointer; rx: 10; }
.group.expanded > text.name { font-weight: 600; fill: #3730a3; }
.edge { fill: none; stroke: #94a3b8; stroke-width: 1.3; }
.edge.hl { stroke: #dc2626; stroke-width: 2.2; }
.elabel { font-size: 9px; fill: #64748b; }
</style>
</head>
<body>
<header id="bar">
  <span id="title"></span>
  <span id="views"></span>
  <input id="search" type="search" placeholder="Search nodes by name or op" autocomplete="off" spellcheck="false">
  <button id="fit" type="button">Fit</button>
  <button id="expand-all" type="button">Expand all</button>
  <button id="collapse-all" type="button">Collapse all</button>
  <span id="count"></span>
</header>
<div id="results"></div>
<main>
  <svg id="canvas" xmlns="http://www.w3.org/2000/svg">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
      <path d="M 0 0 L 10 5 L 0 10 z" fill="#94a3b8"></path></marker></defs>
    <g id="viewport"><g id="edge-layer"></g><g id="box-layer"></g></g>
  </svg>
  <aside id="side">
    <section id="details"><p class="hint">Click a node to see its op, shape, dtype, inputs and the line of generated code that computes it. Click a scope to open it; click its title bar to close it. Drag to pan, wheel to zoom.</p></section>
    <div id="code-head">Generated code</div>
    <div id="code"></div>
    <pre id="stats"></pre>
  </aside>
</main>
<script type="application/json" id="graph-data">%DATA%</script>
<script>
(function () {
"use strict";
var DATA = JSON.parse(document.getElementById("graph-data").textContent);
var NS = "http://www.w3.org/2000/svg";
var NODE_W = 170, NODE_H = 44, GROUP_W = 176, GROUP_H = 50, GAP_X = 24, GAP_Y = 42, PAD = 16, HEAD = 26;
var EDGE_LABELS_MAX = 400;

var view = null, viewIndex = 0;
var expanded = new Set();     // scope paths that are open (kept across views)
var selected = -1;
var boxes = null;             // per render: node and group boxes in page coordinates
var nodeEls = [], edgeEls = [], groupEls = {};
var tf = { x: 0, y: 0, k: 1 };
var svg = document.getElementById("canvas");
var viewport = document.getElementById("viewport");
var edgeLayer = document.getElementById("edge-layer");
var boxLayer = document.getElementById("box-layer");

function svgEl(tag, attrs, parent) {
  var e = document.createElementNS(NS, tag);
  for (var key in attrs) e.setAttribute(key, attrs[key]);
  if (parent) parent.appendChild(e);
  return e;
}
function htmlEl(tag, text, cls, parent) {
  var e = document.createElement(tag);
  if (text !== null && text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}
function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
function shortName(name) { var k = name.lastIndexOf("/"); return k < 0 ? name : name.slice(k + 1); }

// ------------------------------------------------------------------ views
function prepare(v) {
  if (v.ready) return;
  v.users = v.nodes.map(function () { return []; });
  v.nodes.forEach(function (n, i) { n.i.forEach(function (j) { v.users[j].push(i); }); });
  v.lineNode = {};
  v.nodes.forEach(function (n, i) { if (n.l) v.lineNode[n.l] = i; });
  v.kids = v.groups.map(function (g) {
    var out = [];
    g.L.forEach(function (row) { row.forEach(function (item) { if (item < 0) out.push(~item); }); });
    return out;
  });
  v.byPath = {};
  v.groups.forEach(function (g, k) { v.byPath[g.p] = k; });
  v.ready = true;
}
function isOpen(gid) { return gid === 0 || expanded.has(view.groups[gid].p); }

// ----------------------------------------------------------------- layout
// Layers and orders come from Python; here they become coordinates, given
// which scopes are open. x: each item goes to the mean x of its inputs in
// the scope, then overlaps are removed by averaging a left-to-right and a
// right-to-left pass (both keep the gaps, so their mean does too).
function measure(gid) {
  var g = view.groups[gid], place = new Map(), centers = new Map(), preds = new Map();
  g.e.forEach(function (e) { if (!preds.has(e[1])) preds.set(e[1], []); preds.get(e[1]).push(e[0]); });
  var y = gid === 0 ? PAD : HEAD + PAD;
  g.L.forEach(function (row) {
    var sizes = row.map(function (item) {
      if (item >= 0) return { w: NODE_W, h: NODE_H };
      var c = ~item;
      if (isOpen(c)) { var m = measure(c); return { w: m.w, h: m.h, inner: m }; }
      return { w: GROUP_W, h: GROUP_H };
    });
    var desired = row.map(function (item) {
      var ps = preds.get(item);
      if (!ps) return NaN;
      var sum = 0, n = 0;
      ps.forEach(function (p) { if (centers.has(p)) { sum += centers.get(p); n++; } });
      return n ? sum / n : NaN;
    });
    var n = row.length, k;
    var firstKnown = desired.findIndex(function (d) { return !isNaN(d); });
    if (firstKnown < 0) { desired[0] = sizes[0].w / 2; firstKnown = 0; }
    for (k = firstKnown - 1; k >= 0; k--) desired[k] = desired[k + 1] - (sizes[k].w + sizes[k + 1].w) / 2 - GAP_X;
    for (k = firstKnown + 1; k < n; k++) if (isNaN(desired[k])) desired[k] = desired[k - 1] + (sizes[k - 1].w + sizes[k].w) / 2 + GAP_X;
    var p = desired.slice(), q = desired.slice();
    for (k = 1; k < n; k++) p[k] = Math.max(p[k], p[k - 1] + (sizes[k - 1].w + sizes[k].w) / 2 + GAP_X);
    for (k = n - 2; k >= 0; k--) q[k] = Math.min(q[k], q[k + 1] - (sizes[k].w + sizes[k + 1].w) / 2 - GAP_X);
    var height = 0;
    row.forEach(function (item, k) {
      var cx = (p[k] + q[k]) / 2, s = sizes[k];
      centers.set(item, cx);
      place.set(item, { x: cx - s.w / 2, y: y, w: s.w, h: s.h, inner: s.inner });
      height = Math.max(height, s.h);
    });
    y += height + GAP_Y;
  });
  var minX = Infinity, maxX = -Infinity;
  place.forEach(function (b) { minX = Math.min(minX, b.x); maxX = Math.max(maxX, b.x + b.w); });
  if (!place.size) { minX = 0; maxX = 0; }
  place.forEach(function (b) { b.x += PAD - minX; });
  var labelW = gid === 0 ? 0 : 7.2 * g.b.length + 48;
  var w = Math.max(maxX - minX + 2 * PAD, labelW, GROUP_W);
  return { w: w, h: y - GAP_Y + PAD + (g.L.length ? 0 : GAP_Y), place: place };
}

function computeBoxes() {
  var root = measure(0);
  var out = { nodes: {}, groups: {}, w: root.w, h: root.h, order: [] };
  var stack = [{ gid: 0, m: root, x: 0, y: 0 }];
  out.groups[0] = { x: 0, y: 0, w: root.w, h: root.h, open: true };
  while (stack.length) {
    var top = stack.pop();
    top.m.place.forEach(function (b, item) {
      var box = { x: top.x + b.x, y: top.y + b.y, w: b.w, h: b.h };
      if (item >= 0) { out.nodes[item] = box; out.order.push(item); return; }
      box.open = !!b.inner;
      out.groups[~item] = box;
      out.order.push(item);
      if (b.inner) stack.push({ gid: ~item, m: b.inner, x: box.x, y: box.y });
    });
  }
  return out;
}

// Outermost closed scope around each group (undefined when all are open).
function closedAncestors() {
  var rep = new Array(view.groups.length), stack = [0];
  while (stack.length) {  // parents before children (chunks may have larger ids than their scopes)
    var gid = stack.pop();
    view.kids[gid].forEach(function (c) {
      var up = rep[gid];
      rep[c] = up !== undefined ? up : (isOpen(c) ? undefined : c);
      stack.push(c);
    });
  }
  return rep;
}
function visibleItem(i, rep) { var r = rep[view.nodes[i].g]; return r === undefined ? i : ~r; }
function boxOf(item) { return item >= 0 ? boxes.nodes[item] : boxes.groups[~item]; }

// ------------------------------------------------------------------ draw
function render() {
  boxes = computeBoxes();
  var rep = closedAncestors();
  boxes.rep = rep;
  while (edgeLayer.firstChild) edgeLayer.removeChild(edgeLayer.firstChild);
  while (boxLayer.firstChild) boxLayer.removeChild(boxLayer.firstChild);
  nodeEls = []; edgeEls = []; groupEls = {};

  // expanded scopes first (containers), by depth via page order
  var openGroups = [];
  boxes.order.forEach(function (item) { if (item < 0 && boxes.groups[~item].open) openGroups.push(~item); });
  openGroups.forEach(function (gid) {
    var g = view.groups[gid], b = boxes.groups[gid];
    var e = svgEl("g", { "class": "group expanded" + (g.y ? " synthetic" : ""), transform: "translate(" + b.x + "," + b.y + ")" }, boxLayer);
    e.setAttribute("data-group", g.p);
    svgEl("rect", { "class": "box", width: b.w, height: b.h }, e);
    svgEl("rect", { "class": "head", width: b.w, height: HEAD }, e);
    var t = svgEl("text", { "class": "name", x: 10, y: 17 }, e);
    t.textContent = "\u2212 " + g.b + "   (" + g.z + " nodes)";
    svgEl("title", {}, e).textContent = (g.p || "(top level)") + " \u2014 click the title bar to close";
    groupEls[g.p] = e;
  });
  var shown = 0;
  boxes.order.forEach(function (item) {
    if (item >= 0) { drawNode(item); shown++; }
    else if (!boxes.groups[~item].open) { drawGroup(~item); shown++; }
  });

  // edges between visible items, merged
  var merged = new Map();
  view.nodes.forEach(function (n, v) {
    var b = visibleItem(v, rep);
    n.i.forEach(function (u) {
      var a = visibleItem(u, rep);
      if (a === b) return;
      var key = a + "," + b, m = merged.get(key);
      if (m) { m.count++; return; }
      merged.set(key, { a: a, b: b, count: 1, shape: view.nodes[u].s });
    });
  });
  var labels = merged.size <= EDGE_LABELS_MAX;
  merged.forEach(function (m) {
    var s = boxOf(m.a), t = boxOf(m.b);
    var x1 = s.x + s.w / 2, y1 = s.y + s.h, x2 = t.x + t.w / 2, y2 = t.y;
    var dy = Math.max(24, Math.abs(y2 - y1) / 2);
    var path = svgEl("path", { "class": "edge", "marker-end": "url(#arrow)",
      d: "M" + x1 + "," + y1 + " C" + x1 + "," + (y1 + dy) + " " + x2 + "," + (y2 - dy) + " " + x2 + "," + y2 }, edgeLayer);
    path.setAttribute("stroke-width", Math.min(1.3 + Math.log2(m.count), 5));
    svgEl("title", {}, path).textContent = m.shape + (m.count > 1 ? "  \u00d7" + m.count + " edges" : "");
    edgeEls.push({ el: path, a: m.a, b: m.b });
    if (labels) {
      var lt = svgEl("text", { "class": "elabel", x: (x1 + x2) / 2 + 4, y: (y1 + y2) / 2 + 3 }, edgeLayer);
      lt.textContent = m.count > 1 ? m.shape + " \u00d7" + m.count : m.shape;
    }
  });
  document.getElementById("count").textContent =
    view.nodes.length + " nodes \u00b7 " + shown + " boxes shown \u00b7 " + merged.size + " edges";
  svg.setAttribute("data-visible-boxes", String(shown));
  if (selected >= 0) highlight(selected);
  markMatches();
}

function drawNode(i) {
  var n = view.nodes[i], b = boxes.nodes[i];
  var e = svgEl("g", { "class": "node kind-" + n.k + (n.out ? " output" : ""), transform: "translate(" + b.x + "," + b.y + ")" }, boxLayer);
  e.setAttribute("data-name", n.n);
  e.setAttribute("data-index", String(i));
  svgEl("rect", { width: b.w, height: b.h }, e);
  svgEl("text", { "class": "name", x: 8, y: 17 }, e).textContent = clip(shortName(n.n), 24);
  svgEl("text", { "class": "sub", x: 8, y: 33 }, e).textContent = clip(n.o + " " + n.s, 28);
  svgEl("title", {}, e).textContent = n.n + "\n" + n.d + " " + n.s + " " + n.t;
  nodeEls[i] = e;
}

function drawGroup(gid) {
  var g = view.groups[gid], b = boxes.groups[gid];
  var e = svgEl("g", { "class": "group collapsed" + (g.y ? " synthetic" : ""), transform: "translate(" + b.x + "," + b.y + ")" }, boxLayer);
  e.setAttribute("data-group", g.p);
  svgEl("rect", { "class": "back", x: 4, y: 4, width: b.w, height: b.h }, e);
  svgEl("rect", { "class": "front", width: b.w, height: b.h }, e);
  svgEl("text", { "class": "name", x: 10, y: 20 }, e).textContent = "+ " + clip(g.b, 22);
  svgEl("text", { "class": "sub", x: 10, y: 37 }, e).textContent = g.z + " nodes";
  svgEl("title", {}, e).textContent = (g.p || "") + " \u2014 click to open";
  groupEls[g.p] = e;
}

function applyTransform() {
  viewport.setAttribute("transform", "translate(" + tf.x + "," + tf.y + ") scale(" + tf.k + ")");
}
function fit() {
  var r = svg.getBoundingClientRect();
  var k = Math.min(r.width / (boxes.w + 40), r.height / (boxes.h + 40), 1.2);
  tf.k = Math.max(k, 0.02);
  tf.x = (r.width - boxes.w * tf.k) / 2;
  tf.y = Math.max(10, (r.height - boxes.h * tf.k) / 2);
  applyTransform();
}
function centerOn(box) {
  var r = svg.getBoundingClientRect();
  if (tf.k < 0.6) tf.k = 0.9;
  tf.x = r.width / 2 - (box.x + box.w / 2) * tf.k;
  tf.y = r.height / 2 - (box.y + box.h / 2) * tf.k;
  applyTransform();
}

// ------------------------------------------------------- open and close
function toggle(path, open) {
  var gid = view.byPath[path];
  var before = boxes.groups[gid];
  if (open) expanded.add(path); else expanded.delete(path);
  render();
  var after = boxes.groups[gid];
  if (before && after) {  // keep the scope's corner where it was on screen
    tf.x += (before.x - after.x) * tf.k;
    tf.y += (before.y - after.y) * tf.k;
    applyTransform();
  }
}
function reveal(i) {
  var gid = view.nodes[i].g;
  while (gid > 0) { expanded.add(view.groups[gid].p); gid = view.groups[gid].u; }
  render();
  select(i);
  centerOn(boxes.nodes[i]);
}

// ------------------------------------------------------------- details
function highlight(i) {
  nodeEls.forEach(function (e) { if (e) e.classList.remove("selected"); });
  if (nodeEls[i]) nodeEls[i].classList.add("selected");
  var me = visibleItem(i, boxes.rep);
  edgeEls.forEach(function (e) { e.el.classList.toggle("hl", e.a === me || e.b === me); });
}
function row(table, key, value, mono) {
  var tr = htmlEl("tr", null, null, table);
  htmlEl("td", key, null, tr);
  var td = htmlEl("td", null, null, tr);
  if (mono) htmlEl("code", value, null, td); else td.textContent = value;
  return td;
}
function nodeLink(parent, j, prefix) {
  var n = view.nodes[j];
  var a = htmlEl("span", (prefix || "") + n.n + "  " + n.s + " " + n.t, "link", parent);
  a.addEventListener("click", function () { reveal(j); });
}
function select(i) {
  selected = i;
  highlight(i);
  var n = view.nodes[i], box = document.getElementById("details");
  while (box.firstChild) box.removeChild(box.firstChild);
  htmlEl("h2", n.n, null, box);
  var table = htmlEl("table", null, null, box);
  table.id = "node-table";
  row(table, "op", n.d, true).setAttribute("data-field", "op");
  row(table, "shape", n.s, true).setAttribute("data-field", "shape");
  row(table, "dtype", n.t, true).setAttribute("data-field", "dtype");
  row(table, "scope", view.groups[n.g].p || "(top level)");
  var codeText;
  var lines = view.source ? view.source.split("\n") : [];
  if (n.l) codeText = "line " + n.l + ":  " + lines[n.l - 1].trim();
  else if (n.p) codeText = "parameter " + n.v + " of the generated function";
  else if (n.v) codeText = "global " + n.v + " (" + n.k + ")";
  else codeText = view.source ? "not in the generated code (rewritten by the passes)" : "no generated code";
  row(table, "code", codeText, true).setAttribute("data-field", "code");
  if (n.v) row(table, "identifier", n.v, true);
  if (n.out) row(table, "role", "output of the function");
  var td;
  if (n.ub !== undefined) { td = row(table, "updated by", ""); nodeLink(td, n.ub); }
  if (n.up !== undefined) { td = row(table, "updates", ""); nodeLink(td, n.up); }
  td = row(table, "inputs", n.i.length ? "" : "none");
  td.setAttribute("data-field", "inputs");
  n.i.forEach(function (j, k) { nodeLink(td, j, k + ": "); });
  td = row(table, "used by", view.users[i].length ? "" : "none");
  view.users[i].slice(0, 40).forEach(function (j) { nodeLink(td, j); });
  if (view.users[i].length > 40) htmlEl("span", "\u2026 " + (view.users[i].length - 40) + " more", null, td);
  showLine(n.l);
}

// ---------------------------------------------------------------- code
function buildCode() {
  var code = document.getElementById("code");
  while (code.firstChild) code.removeChild(code.firstChild);
  if (!view.source) { htmlEl("div", "  (no generated code for this view)", "ln", code); return; }
  var all = view.source.split("\n");
  all.forEach(function (text, k) {
    if (k === all.length - 1 && text === "") return;
    var line = k + 1, node = view.lineNode[line];
    var d = htmlEl("div", null, "ln" + (node !== undefined ? " traced" : ""), code);
    d.setAttribute("data-line", String(line));
    htmlEl("span", String(line), "no", d);
    htmlEl("span", text, "src", d);
    if (node !== undefined) d.addEventListener("click", function () { reveal(node); });
  });
}
function showLine(line) {
  var code = document.getElementById("code");
  var old = code.querySelector(".hl");
  if (old) old.classList.remove("hl");
  if (!line) return;
  var d = code.querySelector('[data-line="' + line + '"]');
  if (d) {
    d.classList.add("hl");
    var top = d.offsetTop - code.offsetTop;
    if (top < code.scrollTop || top > code.scrollTop + code.clientHeight - 20) code.scrollTop = top - code.clientHeight / 3;
  }
}

// --------------------------------------------------------------- search
var matches = [];
function markMatches() {
  var set = new Set();
  matches.forEach(function (i) { set.add(visibleItem(i, boxes.rep)); });
  nodeEls.forEach(function (e, i) { if (e) e.classList.toggle("match", set.has(i)); });
  Object.keys(groupEls).forEach(function (p) {
    var gid = view.byPath[p];
    groupEls[p].classList.toggle("match", set.has(~gid));
  });
}
function search(text) {
  var q = text.trim().toLowerCase(), results = document.getElementById("results");
  while (results.firstChild) results.removeChild(results.firstChild);
  matches = [];
  if (q) view.nodes.forEach(function (n, i) {
    if (n.n.toLowerCase().indexOf(q) >= 0 || n.o === q) matches.push(i);
  });
  matches.slice(0, 60).forEach(function (i) {
    var n = view.nodes[i], d = htmlEl("div", n.n, null, results);
    htmlEl("span", n.o + " " + n.s, "meta", d);
    d.addEventListener("click", function () { results.style.display = "none"; reveal(i); });
  });
  if (q && matches.length > 60) htmlEl("div", "\u2026 " + (matches.length - 60) + " more", "meta", results);
  if (q && !matches.length) htmlEl("div", "no node matches", "meta", results);
  results.style.display = q ? "block" : "none";
  markMatches();
}

// --------------------------------------------------------------- events
var drag = null;
svg.addEventListener("pointerdown", function (ev) {
  drag = { x: ev.clientX, y: ev.clientY, tx: tf.x, ty: tf.y, moved: false };
  svg.setPointerCapture(ev.pointerId);
});
svg.addEventListener("pointermove", function (ev) {
  if (!drag) return;
  var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
  if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
  drag.moved = true;
  svg.classList.add("dragging");
  tf.x = drag.tx + dx; tf.y = drag.ty + dy;
  applyTransform();
});
svg.addEventListener("pointerup", function (ev) {
  var wasDrag = drag && drag.moved;
  drag = null;
  svg.classList.remove("dragging");
  if (wasDrag) return;
  var target = document.elementFromPoint(ev.clientX, ev.clientY);
  if (!target) return;
  var node = target.closest("[data-index]");
  if (node) { select(Number(node.getAttribute("data-index"))); return; }
  var group = target.closest("[data-group]");
  if (!group) return;
  var path = group.getAttribute("data-group");
  if (group.classList.contains("collapsed")) toggle(path, true);
  else if (target.classList.contains("head")) toggle(path, false);
});
svg.addEventListener("wheel", function (ev) {
  ev.preventDefault();
  var r = svg.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
  var k = Math.min(4, Math.max(0.02, tf.k * Math.exp(-ev.deltaY * 0.0015)));
  tf.x = mx - (mx - tf.x) * k / tf.k;
  tf.y = my - (my - tf.y) * k / tf.k;
  tf.k = k;
  applyTransform();
}, { passive: false });
var searchBox = document.getElementById("search");
searchBox.addEventListener("input", function () { search(searchBox.value); });
searchBox.addEventListener("keydown", function (ev) {
  if (ev.key === "Enter" && matches.length) { document.getElementById("results").style.display = "none"; reveal(matches[0]); }
  if (ev.key === "Escape") { searchBox.value = ""; search(""); }
});
document.getElementById("fit").addEventListener("click", fit);
document.getElementById("expand-all").addEventListener("click", function () {
  view.groups.forEach(function (g, gid) { if (gid) expanded.add(g.p); }); render(); fit();
});
document.getElementById("collapse-all").addEventListener("click", function () {
  expanded.clear(); render(); fit();
});

function showView(k) {
  viewIndex = k;
  view = DATA.views[k];
  prepare(view);
  selected = -1;
  matches = [];  // indices of the previous view mean nothing here
  var buttons = document.getElementById("views").children;
  for (var b = 0; b < buttons.length; b++) buttons[b].classList.toggle("active", b === k);
  buildCode();
  render();
  fit();
  search(searchBox.value);
  document.getElementById("results").style.display = "none";
}

document.getElementById("title").textContent = DATA.title;
document.getElementById("stats").textContent = DATA.stats || "";
if (DATA.views.length > 1) {
  DATA.views.forEach(function (v, k) {
    var b = htmlEl("button", v.label, null, document.getElementById("views"));
    b.type = "button";
    b.setAttribute("data-view", String(k));
    b.addEventListener("click", function () { showView(k); });
  });
}
prepare(DATA.views[0]);
DATA.views[0].open.forEach(function (p) { expanded.add(p); });  // chosen in Python (layout.default_open)
showView(0);
window.graphcViewer = {
  visibleBoxes: function () { return Number(svg.getAttribute("data-visible-boxes")); },
  reveal: function (name) {
    var i = view.nodes.findIndex(function (n) { return n.n === name; });
    if (i >= 0) reveal(i);
    return i;
  },
  view: function () { return view.label; }
};
document.body.setAttribute("data-ready", "1");
})();
</script>
</body>
</html>
"""
