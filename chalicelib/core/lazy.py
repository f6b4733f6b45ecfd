"""Modules imported on first use, so that each Lambda function of the app pays at cold start only for the
modules its own handler calls (the S3 handler never loads the hero store, the API never loads the ingest)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it on first attribute access.

    Example: ``heroes = LazyModule("chalicelib.heroes.api")``, then ``heroes.get_hero(...)`` as usual.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)
