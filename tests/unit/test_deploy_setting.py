"""``deploy_setting``: decorator arguments of ``app.py`` come from the stage config when the environment lacks them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.core.stage import deploy_setting

CONFIG = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())


def test_a_plain_import_reads_the_local_stage_of_the_projects_chalice_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_BUCKET", raising=False)
    monkeypatch.delenv("CHALICE_STAGE", raising=False)
    expected = CONFIG["stages"]["local"]["environment_variables"]["DATA_BUCKET"]

    assert deploy_setting("DATA_BUCKET", "not-from-the-config") == expected


def test_the_environment_wins_over_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_BUCKET", "from-the-environment")

    assert deploy_setting("DATA_BUCKET", "not-from-the-config") == "from-the-environment"
