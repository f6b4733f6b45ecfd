"""Read a stage's settings from ``.chalice/config.json``, the one place they are declared."""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_PATH = PROJECT_DIR / ".chalice" / "config.json"


def stage_environment(stage: str = "local") -> dict[str, str]:
    """The environment variables Chalice gives ``stage``: the top-level ones overlaid by the stage's."""
    config = json.loads(CONFIG_PATH.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"stage {stage!r} is not declared in {CONFIG_PATH}")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env
