"""Settings parsed from an environment mapping: the defaults a bare ``import app`` runs with, and a malformed value
failing with the setting's name in the message (``parse_settings`` takes a dict: no environment is read)."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.core.settings import ConfigError, DbSettings, parse_settings
from devtools.stage import CONFIG_PATH, stage_environment


def test_an_empty_environment_gives_the_local_defaults():
    settings = parse_settings({})

    assert settings.db == DbSettings(host="127.0.0.1", port=3306, user="root", password="", name="platform")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.cache_ttl_seconds == 300
    assert settings.report_timezone == "UTC"
    assert settings.analysis_sources == {"default": settings.db}
    assert (settings.insights_model_id, settings.ses_sender, settings.ses_recipients) == (None, None, ())
    assert settings.redis_auth_parameter is None
    assert settings.redis_cluster is False
    assert settings.data_bucket == settings.report_topic_arn == ""


def test_given_values_are_typed_and_trimmed():
    settings = parse_settings(
        {
            "DB_HOST": "db.internal",
            "DB_PORT": " 3307 ",
            "DB_NAME": "shop",
            "CACHE_TTL_SECONDS": "60",
            "REPORT_TIMEZONE": "Europe/Zurich",
            "SES_RECIPIENTS": " care@example.com, ,lead@example.com ",
            "INSIGHTS_MODEL_ID": "",
        }
    )

    assert (settings.db.host, settings.db.port, settings.db.name) == ("db.internal", 3307, "shop")
    assert settings.cache_ttl_seconds == 60
    assert settings.report_timezone == "Europe/Zurich"
    assert settings.ses_recipients == ("care@example.com", "lead@example.com")
    assert settings.insights_model_id is None  # empty is unset


def test_the_password_never_shows_in_the_settings_repr():
    assert "s3cret" not in repr(parse_settings({"DB_PASSWORD": "s3cret"}))


def test_analysis_sources_override_the_default_connection_per_source():
    settings = parse_settings(
        {
            "DB_HOST": "db.internal",
            "ANALYSIS_SOURCES": '{"public": {}, "private": {"DB_NAME": "platform_private", "DB_PORT": "3310"}}',
        }
    )

    assert settings.analysis_sources["public"] == settings.db
    private = settings.analysis_sources["private"]
    assert (private.host, private.port, private.name) == ("db.internal", 3310, "platform_private")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_PORT", "mysql", "DB_PORT must be an integer, got 'mysql'"),
        ("DB_PORT", "0", "DB_PORT must be between 1 and 65535, got 0"),
        ("DB_PORT", "65536", "DB_PORT must be between 1 and 65535"),
        ("CACHE_TTL_SECONDS", "0", "CACHE_TTL_SECONDS must be between 1 and 604800"),
        ("CACHE_TTL_SECONDS", "1.5", "CACHE_TTL_SECONDS must be an integer"),
        ("REPORT_TIMEZONE", "Mars/Olympus", "REPORT_TIMEZONE is not an IANA time zone: 'Mars/Olympus'"),
        ("REPORT_TIMEZONE", "../etc", "REPORT_TIMEZONE is not an IANA time zone"),
        ("ANALYSIS_SOURCES", "{public}", "ANALYSIS_SOURCES is not valid JSON"),
        ("ANALYSIS_SOURCES", "[]", "ANALYSIS_SOURCES must be a non-empty JSON object"),
        ("ANALYSIS_SOURCES", "{}", "ANALYSIS_SOURCES must be a non-empty JSON object"),
        ("ANALYSIS_SOURCES", '{"public": {"DB_PORT": 3307}}', "ANALYSIS_SOURCES['public'] must be an object of string"),
        (
            "ANALYSIS_SOURCES",
            '{"public": {"DB_PASS": "x"}}',
            "ANALYSIS_SOURCES['public'] has unknown keys: ['DB_PASS']",
        ),
        ("ANALYSIS_SOURCES", '{"public": {"DB_PORT": "x"}}', "DB_PORT must be an integer"),
        ("REDIS_CLUSTER", "yes", "REDIS_CLUSTER must be true or false, got 'yes'"),
    ],
)
def test_a_malformed_setting_fails_naming_it(name, value, message):
    with pytest.raises(ConfigError, match=re.escape(f"setting {message}")):
        parse_settings({name: value})


def test_a_required_setting_that_is_empty_is_named_when_it_is_needed():
    settings = parse_settings({})

    with pytest.raises(ConfigError, match="setting REPORT_TOPIC_ARN is required"):
        settings.require("REPORT_TOPIC_ARN")
    assert parse_settings({"DATA_BUCKET": "data"}).require("DATA_BUCKET") == "data"


@pytest.mark.parametrize(("value", "cluster"), [("true", True), (" TRUE ", True), ("false", False), ("", False)])
def test_redis_cluster_mode_is_a_flag(value, cluster):
    assert (
        parse_settings({"REDIS_CLUSTER": value, "REDIS_URL": "rediss://config.cache.example:6379"}).redis_cluster
        is cluster
    )


def test_cluster_mode_refuses_a_redis_db_index_a_cluster_does_not_have():
    with pytest.raises(ConfigError, match=re.escape("setting REDIS_URL must use db 0 (or none) when REDIS_CLUSTER")):
        parse_settings({"REDIS_CLUSTER": "true", "REDIS_URL": "redis://127.0.0.1:6379/4"})
    assert parse_settings({"REDIS_CLUSTER": "true", "REDIS_URL": "redis://127.0.0.1:6379/0"}).redis_cluster


def _committed_functions() -> list[tuple[str, str | None]]:
    stages = json.loads(CONFIG_PATH.read_text())["stages"]
    return [
        (stage, function)
        for stage, section in stages.items()
        for function in [None, *section.get("lambda_functions", {})]
    ]


@pytest.mark.parametrize(("stage", "function"), _committed_functions())
def test_every_committed_stage_and_function_has_settings_that_parse(stage, function):
    """A malformed value in .chalice/config.json fails here, not in a deployed function (where an API request
    would answer 503 "misconfigured")."""
    settings = parse_settings(stage_environment(stage, function))
    assert settings.timeouts.redis_ms > 0
