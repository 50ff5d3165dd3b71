"""Nested structures of lists, tuples and dicts (like ``tf.nest`` and Keras's ``tree``).

A structure's leaves are everything that is not a list, tuple (namedtuples
included) or dict. Dicts keep their insertion order. Every function here is
iterative: a deeply nested structure does not reach Python's recursion limit.
"""
from __future__ import annotations


def is_nested(structure) -> bool:
    return isinstance(structure, (list, tuple, dict))


def _children(structure) -> list:
    return list(structure.values()) if isinstance(structure, dict) else list(structure)


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first, in order."""
    leaves, stack = [], [structure]
    while stack:
        item = stack.pop()
        if is_nested(item):
            stack.extend(reversed(_children(item)))
        else:
            leaves.append(item)
    return leaves


def _rebuild(template, items: list):
    if isinstance(template, dict):
        return dict(zip(template, items))
    if isinstance(template, tuple) and hasattr(template, "_fields"):  # a namedtuple takes fields
        return type(template)(*items)
    return type(template)(items)


def pack_sequence_as(structure, flat) -> object:
    """``structure`` with its leaves replaced, in order, by the items of ``flat``."""
    flat = list(flat)
    count = len(flatten(structure))
    if count != len(flat):
        raise ValueError(f"the structure has {count} leaves, got {len(flat)} values")
    leaves = iter(flat)
    # Post-order over the template: a container is rebuilt once its children are.
    results: list = []
    stack = [(structure, False)]
    while stack:
        item, expanded = stack.pop()
        if not is_nested(item):
            results.append(next(leaves))
        elif expanded:
            n = len(item)
            children = results[len(results) - n:] if n else []
            del results[len(results) - n:]
            results.append(_rebuild(item, children))
        else:
            stack.append((item, True))
            stack.extend((child, False) for child in reversed(_children(item)))
    return results[0]


def map_structure(fn, structure):
    """``structure`` with ``fn`` applied to each leaf."""
    return pack_sequence_as(structure, [fn(leaf) for leaf in flatten(structure)])


def describe(structure) -> str:
    """A short text of a structure's shape, leaves shown as ``*`` (for error messages)."""
    return repr(map_structure(lambda _: _Star(), structure))


class _Star:
    def __repr__(self):
        return "*"
