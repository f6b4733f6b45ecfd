"""One structured JSON summary line per invocation of every kind of handler, with its request or event id; and
the ``migrate`` function the deploy invokes."""

from __future__ import annotations

import pytest

from chalicelib.core.settings import ConfigError


def test_an_http_request_logs_one_line_with_its_ids_and_status(client, logged):
    response = client.http.get("/health")

    assert response.status_code == 200
    (line,) = logged.invocations()
    assert line["event_type"] == "http"
    assert (line["method"], line["path"], line["status_code"], line["outcome"]) == ("GET", "/health", 200, "ok")
    assert line["function"] == "api_handler"
    assert line["request_id"]  # and API Gateway's own id (api_request_id) when it sends one; this Client does not
    assert line["level"] == "INFO" and isinstance(line["duration_ms"], float)


def test_a_client_error_is_an_ok_invocation_and_a_server_error_is_not(client, logged, monkeypatch):
    from tests.support.environment import reset_clients

    client.http.get("/heroes/not-a-number")
    monkeypatch.setenv("DB_PORT", "1")  # MySQL unreachable: 503
    reset_clients()
    client.http.get("/health")

    bad_input, unavailable = logged.invocations()
    assert (bad_input["status_code"], bad_input["outcome"]) == (400, "ok")
    assert (unavailable["status_code"], unavailable["outcome"], unavailable["level"]) == (503, "error", "WARNING")


def test_an_s3_event_logs_its_bucket_key_and_request_id(client, logged, platform):
    event = client.events.generate_s3_event(bucket=platform["DATA_BUCKET"], key="elsewhere/notes%20one.txt")
    client.lambda_.invoke("on_s3_upload", event)

    (line,) = logged.invocations()
    assert line["event_type"] == "s3"
    assert (line["bucket"], line["key"], line["records"]) == (platform["DATA_BUCKET"], "elsewhere/notes one.txt", 1)
    assert line["function"] == "on_s3_upload" and line["request_id"] and line["outcome"] == "ok"


def test_an_sns_message_logs_its_message_id(client, logged):
    event = client.events.generate_sns_event(message="not json", subject="test")
    client.lambda_.invoke("on_pipeline_event", event)

    (line,) = logged.invocations()
    assert line["event_type"] == "sns" and line["subject"] == "test" and line["message_id"]
    assert line["function"] == "on_pipeline_event"


def test_the_migrate_function_applies_nothing_twice_and_logs_its_invocation(client, logged):
    first = client.lambda_.invoke("migrate", {"source": "default"}).payload
    second = client.lambda_.invoke("migrate", {}).payload

    assert first["source"] == second["source"] == "default"
    assert second["applied"] == []  # the test database is migrated; every migration is recorded once
    lines = logged.invocations()
    assert [line["event_type"] for line in lines] == ["invoke", "invoke"]
    assert all(line["function"] == "migrate" and line["outcome"] == "ok" for line in lines)


def test_a_failing_handler_logs_the_error_and_still_raises(client, logged):
    with pytest.raises(ConfigError, match="nowhere"):
        client.lambda_.invoke("migrate", {"source": "nowhere"})

    (line,) = logged.invocations()
    assert (line["outcome"], line["error"], line["level"]) == ("error", "ConfigError", "ERROR")
    assert "Traceback" in line["exception"]
