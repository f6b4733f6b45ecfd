"""The cached superhero store: the hero schema, validation, MySQL reads and writes, the Redis cache that keeps
them fresh under concurrency, the REST operations and the course's ``POST /mp6`` format."""

from chalicelib.heroes.api import create_heroes, delete_hero, get_hero, list_heroes, mp6, replace_hero, update_hero
from chalicelib.heroes.cache import invalidate_all_heroes

__all__ = [
    "create_heroes",
    "delete_hero",
    "get_hero",
    "invalidate_all_heroes",
    "list_heroes",
    "mp6",
    "replace_hero",
    "update_hero",
]
