"""``make deploy`` without what it needs says so in one line, before it creates anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def deploy_without(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m devtools.deploy deploy --stage dev`` with no AWS configuration but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), **env)
    clean["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance role either
    return subprocess.run(
        [sys.executable, "-m", "devtools.deploy", "deploy", "--stage", "dev"],
        cwd=PROJECT_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "no AWS region: export AWS_DEFAULT_REGION=<region> (or set region in your AWS profile)"),
        (
            {"AWS_DEFAULT_REGION": "eu-west-1"},
            "no AWS credentials: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE=<a profile>)",
        ),
    ],
)
def test_deploy_without_region_or_credentials_says_so_in_one_line(tmp_path, env, line):
    result = deploy_without(tmp_path, **env)

    assert result.returncode == 1
    assert result.stderr.strip() == line
