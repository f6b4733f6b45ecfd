"""What a hero request may carry, checked without a database: path ids, query values and JSON documents, each
bad one an ``InvalidInput`` (a 400 at the edge) whose message says exactly what is wrong."""

from __future__ import annotations

import re

import pytest

from chalicelib.core.errors import InvalidInput
from chalicelib.core.params import check_parameters, single
from chalicelib.heroes.schema import MAX_TEXT_LENGTH, MAX_UINT
from chalicelib.heroes.validation import (
    MAX_HEROES_PER_WRITE,
    MAX_XP_VALUES,
    new_heroes,
    parse_id,
    use_cache_for,
    validate_hero,
    xp_list,
)

HERO = {"name": "irondoctor", "hero": "no", "power": "eat", "xp": 1000, "color": "yellow"}


def _fails(message: str) -> pytest.RaisesExc[InvalidInput]:
    return pytest.raises(InvalidInput, match=re.escape(message))


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), (" 42 ", 42), (str(MAX_UINT), MAX_UINT), ("007", 7)])
def test_a_path_id_is_a_positive_integer_up_to_int_unsigned(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize("raw", ["0", str(MAX_UINT + 1), "-1", "+1", "1.0", "1e3", "abc", "", "٣"])
def test_any_other_path_id_is_rejected_saying_the_range(raw):
    with _fails(f"hero id must be an integer from 1 to {MAX_UINT}, got {raw!r}"):
        parse_id(raw)


def test_a_full_hero_is_accepted_as_sent():
    assert validate_hero(dict(HERO)) == HERO
    assert validate_hero({**HERO, "xp": 0, "name": "x" * MAX_TEXT_LENGTH})["xp"] == 0  # limits are inclusive
    assert validate_hero({**HERO, "xp": MAX_UINT})["xp"] == MAX_UINT


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["not", "an", "object"], "a hero must be a JSON object, got an array"),
        ("irondoctor", "a hero must be a JSON object, got a string"),
        ({**HERO, "id": 5}, "id is assigned by the server"),
        ({**HERO, "age": 3}, "unknown field(s) ['age']"),
        ({k: v for k, v in HERO.items() if k not in ("xp", "color")}, "missing field(s) ['xp', 'color']"),
        ({**HERO, "xp": "1000"}, "xp must be an integer, got str '1000'"),
        ({**HERO, "xp": True}, "xp must be an integer, got bool True"),
        ({**HERO, "xp": 1.5}, "xp must be an integer, got float 1.5"),
        ({**HERO, "xp": -1}, f"xp must be from 0 to {MAX_UINT}, got -1"),
        ({**HERO, "xp": MAX_UINT + 1}, f"xp must be from 0 to {MAX_UINT}, got {MAX_UINT + 1}"),
        ({**HERO, "name": 7}, "name must be a string, got int 7"),
        ({**HERO, "name": None}, "name must be a string, got NoneType None"),
        ({**HERO, "power": "   "}, f"power must be 1 to {MAX_TEXT_LENGTH} characters and not blank, got 3"),
        ({**HERO, "color": ""}, "color must be 1 to"),
        ({**HERO, "hero": "y" * (MAX_TEXT_LENGTH + 1)}, f"got {MAX_TEXT_LENGTH + 1}"),
    ],
)
def test_a_bad_hero_is_rejected_saying_what_is_wrong(document, message):
    with _fails(message):
        validate_hero(document)


def test_a_partial_hero_needs_one_known_field_and_an_id_only_matching_the_path():
    assert validate_hero({"xp": 5}, partial=True) == {"xp": 5}
    assert validate_hero({"id": 9, "color": "red"}, partial=True, hero_id=9) == {"color": "red"}
    with _fails("no field to change; send at least one of ['name', 'hero', 'power', 'xp', 'color']"):
        validate_hero({}, partial=True)
    with _fails("id 8 does not match the id 9 in the path"):
        validate_hero({**HERO, "id": 8}, hero_id=9)
    with _fails("id True does not match the id 1 in the path"):
        validate_hero({**HERO, "id": True}, hero_id=1)


def test_new_heroes_are_a_bounded_list_and_a_bad_item_is_named_by_its_index():
    assert new_heroes([HERO, {**HERO, "xp": 1}], "body") == [HERO, {**HERO, "xp": 1}]
    with _fails("body[1]: xp must be an integer"):
        new_heroes([HERO, {**HERO, "xp": "high"}], "body")
    with _fails(f"body must be a list of 1 to {MAX_HEROES_PER_WRITE} heroes, got an array of 0"):
        new_heroes([], "body")
    with _fails(f"got an array of {MAX_HEROES_PER_WRITE + 1}"):
        new_heroes([HERO] * (MAX_HEROES_PER_WRITE + 1), "body")
    with _fails("body must be a list of 1 to"):
        new_heroes(HERO, "body")


def test_xp_lists_keep_the_order_asked_without_repeats_and_are_bounded():
    assert xp_list([30, 10, 30, 20], "xp") == [30, 10, 20]
    with _fails("xp must name at least one xp value"):
        xp_list([], "xp")
    with _fails(f"xp names {MAX_XP_VALUES + 1} xp values; at most {MAX_XP_VALUES} per request"):
        xp_list(list(range(MAX_XP_VALUES + 1)), "xp")
    with _fails("xp[1]: xp must be from 0"):
        xp_list([1, -5], "xp")


def test_a_query_parameter_is_given_once_and_only_known_ones_are_accepted():
    assert single({"power": ["flight"]}, "power") == "flight"
    assert single({}, "power") is None
    with _fails("query parameter power is given 2 times; give it once"):
        single({"power": ["flight", "eat"]}, "power")
    check_parameters({"power": ["flight"]}, {"power", "color"})
    with _fails("unknown query parameter(s) ['colour', 'size']; this request accepts ['color', 'power']"):
        check_parameters({"size": ["1"], "colour": ["red"]}, {"power", "color"})


@pytest.mark.parametrize(
    ("query", "cache_control", "expected"),
    [
        ({}, None, True),
        ({"cache": ["TRUE"]}, None, True),
        ({"cache": ["false"]}, None, False),
        ({}, "no-cache", False),
        ({}, "max-age=0, No-Store", False),
        ({}, "max-age=60", True),
        ({"cache": ["true"]}, "no-cache", False),
    ],
)
def test_the_cache_is_skipped_for_no_cache_no_store_or_cache_false(query, cache_control, expected):
    assert use_cache_for(query, cache_control) is expected


def test_a_cache_flag_other_than_true_or_false_is_rejected():
    with _fails("query parameter cache must be true or false, got 'maybe'"):
        use_cache_for({"cache": ["maybe"]}, None)
