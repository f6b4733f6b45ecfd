"""What ``app.py`` reads while it is imported: the deploy stage's settings that become decorator arguments (a
bucket name, a topic) and decide which routes API Gateway guards.

This module is on every function's cold start, so it stays cheap to import (no dataclasses, no time zones, no
``pathlib``) and reads ``.chalice/config.json`` once, however many routes ask. The typed settings
(:mod:`chalicelib.core.settings`) build on these parsers and are imported on first use.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from chalicelib.core.errors import PlatformError

AUTH_MODES = ("none", "iam", "jwt")

_PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))  # chalicelib's parent
_CONFIG_PATH = os.path.join(_PROJECT_DIR, ".chalice", "config.json")


class ConfigError(PlatformError):
    """A setting is missing or malformed; the message names it, for the log. An API client is told only that
    the service is misconfigured (503): nothing it sends can fix that, and the operators fix it by redeploying."""

    status = 503
    code = "ServiceUnavailable"
    retry_after = 60  # a redeploy with corrected settings

    @property
    def public_message(self) -> str:
        return "the service is misconfigured; its operators have the details"


def parse_flag(name: str, raw: str) -> bool:
    """A ``true``/``false`` setting (any case, trimmed)."""
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(f"setting {name} must be true or false, got {value!r}")
    return value == "true"


def parse_auth_mode(raw: str | None) -> str:
    """``AUTH_MODE``: one of :data:`AUTH_MODES` (any case), ``jwt`` when unset."""
    mode = (raw or "jwt").strip().lower()
    if mode not in AUTH_MODES:
        raise ConfigError(f"setting AUTH_MODE must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
    return mode


def parse_open_routes(raw: str) -> frozenset[str]:
    """``OPEN_ROUTES``: comma-separated ``METHOD /path`` keys, e.g. ``GET /health, POST /mp6``."""
    routes = set()
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        method, _, path = entry.partition(" ")
        if not method.isalpha() or not path.strip().startswith("/"):
            raise ConfigError(f"setting OPEN_ROUTES entries must look like 'GET /health', got {entry!r}")
        routes.add(f"{method.upper()} {path.strip()}")
    return frozenset(routes)


def route_is_open(mode: str, open_routes: frozenset[str], method: str, path: str) -> bool:
    """Whether a stage of ``mode`` leaving ``open_routes`` open lets anyone call ``method path``."""
    return mode == "none" or f"{method} {path}" in open_routes


def _chalice_config() -> dict[str, Any]:
    """``.chalice/config.json``, parsed again only when the file changed (a deploy rewrites its stage)."""
    stat = os.stat(_CONFIG_PATH)
    return _parsed_config(stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1)
def _parsed_config(modified_ns: int, size: int) -> dict[str, Any]:
    """The config file's content, cached by its version (``app.py`` asks for settings once per route)."""
    with open(_CONFIG_PATH, encoding="utf-8") as file:
        return json.load(file)


def deploy_setting(name: str, default: str) -> str:
    """A setting needed when ``app.py`` is imported, i.e. for decorator arguments such as a bucket name.

    The stage's environment is present in Lambda, and the Chalice CLI (``deploy``, ``package``, ``local``)
    copies it into ``os.environ`` before importing ``app.py``. A plain import (tests, scripts) has none, so the
    value is read from ``.chalice/config.json`` for the stage named by ``CHALICE_STAGE`` (``make deploy`` sets
    it), ``local`` otherwise: outside the CLI and Lambda, the app is being used on this machine.
    """
    if os.environ.get(name):
        return os.environ[name]
    stage = os.environ.get("CHALICE_STAGE", "local")
    try:
        config = _chalice_config()
    except (OSError, ValueError):
        return default
    stage_env = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    return stage_env.get(name) or config.get("environment_variables", {}).get(name) or default
