"""A malformed setting in a deployed function: an API request answers 503 saying the service is misconfigured
(nothing the client sends can fix it), with ``Retry-After``; the setting's name and what is wrong with it go to
the log line, for the operators, never to the client."""

from __future__ import annotations

import json

import pytest

from tests.support.environment import reset_clients


@pytest.mark.parametrize(
    ("name", "value", "path"),
    [
        ("REDIS_TIMEOUT_MS", "abc", "/heroes/1"),
        ("DB_CONNECT_TIMEOUT_SECONDS", "-1", "/heroes?limit=2"),
        ("ANALYSIS_SOURCES", "{not json", "/analysis/public"),
        ("AUTH_MODE", "sometimes", "/ingests"),
    ],
)
def test_a_malformed_setting_answers_503_and_names_the_setting_in_the_log_only(
    client, logged, monkeypatch, name, value, path
):
    monkeypatch.setenv(name, value)
    reset_clients()

    response = client.http.get(path)

    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"] == "60"
    assert json.loads(response.body) == {
        "Code": "ServiceUnavailable",
        "Message": "the service is misconfigured; its operators have the details",
    }
    assert name not in response.body.decode()
    [line] = [line for line in logged.lines if line["message"] == "misconfigured"]
    assert (line["level"], name in line["detail"]) == ("ERROR", True)
