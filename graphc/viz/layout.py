"""Layered layout of a scoped graph, computed once in Python.

The graph is drawn as a tree of groups (scopes). Inside each group, the
items are its own nodes and its child groups; an edge of the graph is drawn
at the level of the lowest group that contains both ends, between the two
items of that group that contain them. So layering and ordering of a
group's items do not depend on whether its child groups are expanded: only
the items' sizes do, and the viewer turns layers and orders into
coordinates (``viewer.js``) whenever a group opens or closes.

Per group: longest-path layering (sources pulled down next to their first
user), then barycenter ordering with alternating down and up sweeps.
Everything is iterative and linear-ish, so 100 000 nodes are fine.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

ITEM_LIMIT = 80    # a scope with more items than this is split into chunks,
MAX_CHUNKS = 30    # about sqrt(items) of them, and at most this many
SWEEPS = 4


@dataclass
class Group:
    path: str                 # scope path, "" for the root
    label: str                # what the box shows
    parent: int               # -1 for the root
    depth: int
    nodes: list = field(default_factory=list)     # node indices directly inside
    groups: list = field(default_factory=list)    # child group ids
    synthetic: bool = False   # a chunk of an oversized scope, not a user scope
    size: int = 0             # nodes in the whole subtree
    first: int = 0            # smallest node index in the subtree (schedule order)
    layers: list = field(default_factory=list)    # [[item, ...], ...]; item: node i or ~group id
    edges: list = field(default_factory=list)     # [(item, item)] drawn at this level


def build_groups(paths: list) -> tuple:
    """Groups for nodes 0..n-1 whose scope paths are ``paths``; returns (groups, group of each node)."""
    groups = [Group("", "", -1, 0)]
    by_path = {"": 0}

    def group_id(path: str) -> int:
        missing = []
        while path not in by_path:
            missing.append(path)
            path = path.rpartition("/")[0]
        parent = by_path[path]
        for p in reversed(missing):
            gid = len(groups)
            groups.append(Group(p, p.rpartition("/")[2], parent, groups[parent].depth + 1))
            groups[parent].groups.append(gid)
            by_path[p] = gid
            parent = gid
        return by_path[path if not missing else missing[0]]

    node_group = [group_id(p) for p in paths]
    for i, gid in enumerate(node_group):
        groups[gid].nodes.append(i)
    for g in groups:
        g.first = min(g.nodes) if g.nodes else 1 << 62
    for gid in range(len(groups) - 1, 0, -1):  # children have larger ids than parents here
        parent = groups[groups[gid].parent]
        parent.first = min(parent.first, groups[gid].first)

    # A scope with too many items (nodes and child scopes) is unreadable even
    # with everything around it closed: wrap runs of consecutive items (in
    # schedule order) into synthetic chunks; chunks still too big are split again.
    gid = 0
    while gid < len(groups):
        g, parent_id = groups[gid], gid
        gid += 1
        members = sorted(g.nodes + [~c for c in g.groups],
                         key=lambda item: item if item >= 0 else groups[~item].first)
        if len(members) <= ITEM_LIMIT:
            continue
        size = max(math.isqrt(len(members) - 1) + 1, -(-len(members) // MAX_CHUNKS))
        g.nodes, g.groups = [], []
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            cid = len(groups)
            nodes = [i for i in chunk if i >= 0]
            kids = [~i for i in chunk if i < 0]
            if kids:
                first_label = groups[kids[0]].label
                last_label = groups[kids[-1]].label
                label = first_label if len(kids) == 1 else f"{first_label} \u2026 {last_label}"
            else:
                label = f"nodes {start + 1}\u2013{start + len(chunk)}"
            path = f"{g.path}/\u2026{start + 1}" if g.path else f"\u2026{start + 1}"
            chunk_group = Group(path, label, parent_id, 0, nodes=nodes, groups=kids, synthetic=True)
            chunk_group.first = min((i if i >= 0 else groups[~i].first) for i in chunk)
            groups.append(chunk_group)
            g.groups.append(cid)
            for i in nodes:
                node_group[i] = cid
            for k in kids:
                groups[k].parent = cid

    # Depths (chunks moved scopes down), then sizes, deepest first.
    stack = [0]
    while stack:
        g = groups[stack.pop()]
        for c in g.groups:
            groups[c].depth = g.depth + 1
            stack.append(c)
    for g in groups:
        g.size = len(g.nodes)
    for gid in sorted(range(1, len(groups)), key=lambda k: -groups[k].depth):
        groups[groups[gid].parent].size += groups[gid].size
    return groups, node_group


def _lift_edges(groups, node_group, edges) -> None:
    """Attach each edge to the lowest common group of its ends, as an edge between items."""
    seen = [set() for _ in groups]
    for u, v in edges:
        a, b = node_group[u], node_group[v]
        item_a, item_b = u, v
        while a != b:
            if groups[a].depth >= groups[b].depth:
                item_a, a = ~a, groups[a].parent
            else:
                item_b, b = ~b, groups[b].parent
        if item_a != item_b and (item_a, item_b) not in seen[a]:
            seen[a].add((item_a, item_b))
            groups[a].edges.append((item_a, item_b))


def _item_order(items, edges, key) -> list:
    """A topological order of ``items`` (earliest schedule position first among
    the ready ones); on a cycle, the earliest remaining item goes next."""
    indegree = {item: 0 for item in items}
    succs = {item: [] for item in items}
    for a, b in edges:
        succs[a].append(b)
        indegree[b] += 1
    ready = [(key(item), item) for item in items if indegree[item] == 0]
    heapq.heapify(ready)
    waiting = sorted(((key(item), item) for item in items if indegree[item] > 0), reverse=True)
    done, order = set(), []
    while len(order) < len(items):
        if not ready:  # a cycle: take the earliest item not done yet
            while waiting[-1][1] in done:
                waiting.pop()
            heapq.heappush(ready, waiting.pop())
        _, item = heapq.heappop(ready)
        if item in done:
            continue
        done.add(item)
        order.append(item)
        for s in succs[item]:
            indegree[s] -= 1
            if indegree[s] == 0 and s not in done:
                heapq.heappush(ready, (key(s), s))
    return order


def _layer_group(groups, g: Group) -> None:
    def key(item):
        return item if item >= 0 else groups[~item].first

    items = _item_order(g.nodes + [~c for c in g.groups], g.edges, key)
    rank = {item: k for k, item in enumerate(items)}
    # Collapsing scopes can make cycles among items; layering uses the edges
    # that go forward in the order found (the others are still drawn).
    forward = [(a, b) for a, b in g.edges if rank[a] < rank[b]]
    preds = {item: [] for item in items}
    succs = {item: [] for item in items}
    for a, b in forward:
        preds[b].append(a)
        succs[a].append(b)
    layer = {}
    for item in items:  # items are in a topological order of the forward edges
        layer[item] = max((layer[p] + 1 for p in preds[item]), default=0)
    for item in reversed(items):  # sources sit just above their first user
        if not preds[item] and succs[item]:
            layer[item] = min(layer[s] for s in succs[item]) - 1
    depth = max(layer.values(), default=-1) + 1
    layers = [[] for _ in range(depth)]
    for item in items:
        layers[layer[item]].append(item)

    position = {}

    def place(row):
        n = len(row)
        for k, item in enumerate(row):
            position[item] = (k + 0.5) / n

    for row in layers:
        place(row)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        sequence = range(1, depth) if down else range(depth - 2, -1, -1)
        neighbours = preds if down else succs
        for k in sequence:
            row = layers[k]

            def barycenter(item, neighbours=neighbours):
                others = neighbours[item]
                if not others:
                    return position[item]
                return sum(position[o] for o in others) / len(others)

            row.sort(key=barycenter)
            place(row)
    g.layers = layers
    g.edges = forward


def layout(paths: list, edges) -> tuple:
    """Groups with layers for a graph whose node i has scope path ``paths[i]``.

    ``edges`` are (input node, user node) pairs. Returns (groups, group of each node).
    """
    groups, node_group = build_groups(paths)
    _lift_edges(groups, node_group, edges)
    for g in groups:
        _layer_group(groups, g)
    return groups, node_group


def items(group: Group) -> list:
    return [item for row in group.layers for item in row]


def default_open(groups, limit: int) -> set:
    """Group ids to open first: shallowest and smallest first, while at most
    ``limit`` boxes show (the root is always open)."""
    opened = {0}
    visible = len(items(groups[0]))
    queue = list(groups[0].groups)
    while queue:
        queue.sort(key=lambda k: (groups[k].depth, groups[k].size))
        gid = queue.pop(0)
        more = len(items(groups[gid])) - 1
        if visible + more > limit:
            continue
        opened.add(gid)
        visible += more
        queue.extend(groups[gid].groups)
    return opened


def visible_boxes(groups, opened) -> int:
    """How many boxes (nodes and closed groups) show when the groups ``opened`` are open."""
    count, stack = 0, [0]
    while stack:
        for item in items(groups[stack.pop()]):
            if item < 0 and ~item in opened:
                stack.append(~item)
            else:
                count += 1
    return count
