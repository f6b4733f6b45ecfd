"""Read a stage's settings from ``.chalice/config.json``, the one place they are declared."""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_PATH = PROJECT_DIR / ".chalice" / "config.json"


def stage_environment(stage: str = "local", function: str | None = None) -> dict[str, str]:
    """The environment variables Chalice gives ``stage`` (or its ``function``): the top-level ones overlaid by
    the stage's, then by the function's (``stages.<stage>.lambda_functions.<function>``, e.g. its timeouts)."""
    config = json.loads(CONFIG_PATH.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"stage {stage!r} is not declared in {CONFIG_PATH}")
    section = config["stages"][stage]
    env = dict(config.get("environment_variables", {}))
    env.update(section.get("environment_variables", {}))
    if function is not None:
        env.update(section.get("lambda_functions", {}).get(function, {}).get("environment_variables", {}))
    return env
