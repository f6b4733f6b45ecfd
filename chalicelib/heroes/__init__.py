"""The cached superhero store: the hero schema, validation, MySQL reads and writes, the Redis cache that keeps
them fresh under concurrency, the REST operations and the course's ``POST /mp6`` format."""

from chalicelib.heroes.api import create_heroes, delete_hero, get_hero, list_heroes, replace_hero, update_hero
from chalicelib.heroes.cache import invalidate_all_heroes
from chalicelib.heroes.mp6_compat import mp6
from chalicelib.heroes.schema import EXPLICIT_ID_CEILING, HERO_FIELDS, ID_FIELD, HeroField, hero_json_schema

__all__ = [
    "EXPLICIT_ID_CEILING",
    "HERO_FIELDS",
    "ID_FIELD",
    "HeroField",
    "create_heroes",
    "delete_hero",
    "get_hero",
    "hero_json_schema",
    "invalidate_all_heroes",
    "list_heroes",
    "mp6",
    "replace_hero",
    "update_hero",
]
