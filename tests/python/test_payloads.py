"""Items, queue ids and pop answers (plain Python, no Locust)."""

from __future__ import annotations

import json
import re

import pytest

from pushpop_load.payloads import ITEM_SIZES, PopShapeError, items_from_pop, make_item, make_queue_id


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_item_sizes_match_the_seed(size: str) -> None:
    for _ in range(50):
        assert len(json.dumps(make_item(size))) == ITEM_SIZES[size]


def test_items_are_unique_and_timestamped() -> None:
    items = [make_item() for _ in range(1000)]
    assert len({item["seq"] for item in items}) == 1000
    assert len({item["id"] for item in items}) == 1000
    assert all(item["timestamp"] > 1.7e9 for item in items)


def test_unknown_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown item size 'huge'"):
        make_item("huge")


def test_queue_ids() -> None:
    ids = {make_queue_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"load-test-[a-z0-9]{8}", queue) for queue in ids)
    assert make_queue_id("s4").startswith("s4-")


def test_both_pop_shapes() -> None:
    assert items_from_pop({"items": [{"a": 1}, {"b": 2}], "count": 2}) == [{"a": 1}, {"b": 2}]
    assert items_from_pop({"items": [], "count": 0}) == []
    assert items_from_pop({"item": {"a": 1}}) == [{"a": 1}]
    assert items_from_pop({"item": None}) == []


@pytest.mark.parametrize("body", [[], {"items": "x"}, {"detail": "boom"}, None, {"items": [1], "count": 2}])
def test_other_pop_answers_are_refused(body: object) -> None:
    with pytest.raises(PopShapeError):
        items_from_pop(body)
