"""Sample data that ``make run`` loads: everything comes from files in this repo or is generated."""

from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.db import get_database


def seed_all(settings: Settings) -> None:
    """Load every sample data set into the local databases (idempotent)."""
    get_database()  # seeders for each capability are added below
