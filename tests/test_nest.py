"""graphc.nest: flatten and rebuild structures of lists, tuples and dicts."""
from collections import namedtuple

import pytest

from graphc import nest

Point = namedtuple("Point", "x y")


def test_flatten_is_depth_first_in_order_and_pack_rebuilds_every_container():
    structure = {"a": [1, (2, 3)], "b": Point(4, {"c": 5}), "d": 6}
    assert nest.flatten(structure) == [1, 2, 3, 4, 5, 6]
    rebuilt = nest.pack_sequence_as(structure, "uvwxyz")
    assert rebuilt == {"a": ["u", ("v", "w")], "b": Point("x", {"c": "y"}), "d": "z"}
    assert type(rebuilt["b"]) is Point and type(rebuilt["a"][1]) is tuple


def test_leaves_and_empty_containers():
    assert nest.flatten(7) == [7] and nest.pack_sequence_as(7, ["seven"]) == "seven"
    assert nest.flatten([[], {}, ()]) == [] and nest.pack_sequence_as([[], {}, ()], []) == [[], {}, ()]
    assert nest.map_structure(lambda v: v * 10, [1, {"k": 2}]) == [10, {"k": 20}]
    assert nest.describe({"a": [1, 2]}) == "{'a': [*, *]}"


def test_a_wrong_number_of_values_is_an_error():
    with pytest.raises(ValueError, match="the structure has 2 leaves, got 3 values"):
        nest.pack_sequence_as([1, 2], [1, 2, 3])


def test_deep_structures_do_not_recurse():
    deep = 0
    for _ in range(20000):
        deep = [deep]
    assert nest.flatten(deep) == [0]
    assert nest.flatten(nest.pack_sequence_as(deep, [1])) == [1]
