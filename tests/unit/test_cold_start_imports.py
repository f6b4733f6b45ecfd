"""What ``import app`` (every function's cold start) leaves to the first request that needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
FIRST_USE_ONLY = (
    "chalicelib.core.settings",  # the typed settings, parsed by the first request
    "chalicelib.core.tokens",  # the JWT verifier
    "dataclasses",  # imports inspect, and each class it makes costs more than a named tuple
    "zoneinfo",
    "pathlib",
)


def test_importing_the_app_leaves_the_typed_settings_and_the_token_verifier_to_the_first_request():
    code = f"import json, sys, app; print(json.dumps([m for m in {FIRST_USE_ONLY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)

    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
