"""The insights of a health analysis: how a model's answer is parsed and checked, the rule-based text written from
the statistics, and the fallback to it when the model fails or answers something else (Bedrock stubbed with
botocore's Stubber: nothing leaves the process)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.core import aws
from chalicelib.core.settings import get_settings
from chalicelib.health_readings.insights import MAX_ITEMS, MAX_TEXT, MalformedAnswer, parse_answer, write_insights

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
ANSWER = {
    "summary": " Mostly high diastolic pressure. ",
    "insights": ["Diastolic above 90 mmHg dominates.", " Low SpO2 is rare. "],
    "recommendations": ["Review blood pressure trends."],
}
STATISTICS = {
    "records_analyzed": 200,
    "users": 4,
    "users_with_anomalies": 3,
    "anomalous_records": 30,
    "anomaly_rate": 0.15,
    "anomalies_by_reason": {"low_spo2": 5, "high_diastolic_bp": 25, "high_heart_rate": 0},
    "metrics": {
        "heart_rate": {"min": 55, "mean": Decimal("81.5"), "max": 150},
        "steps": {"min": None, "mean": None, "max": None},
    },
}


def test_a_plain_json_answer_is_parsed_and_trimmed():
    assert parse_answer(json.dumps(ANSWER)) == {
        "summary": "Mostly high diastolic pressure.",
        "insights": ["Diastolic above 90 mmHg dominates.", "Low SpO2 is rare."],
        "recommendations": ["Review blood pressure trends."],
    }


@pytest.mark.parametrize(
    "wrapped",
    [
        "```json\n{answer}\n```",
        "Here is the analysis:\n```\n{answer}\n```\nLet me know if you need more.",
        "```json{answer}```",
    ],
)
def test_an_answer_inside_a_code_fence_is_parsed(wrapped):
    assert parse_answer(wrapped.format(answer=json.dumps(ANSWER))) == parse_answer(json.dumps(ANSWER))


def test_long_lists_are_cut_to_the_first_items():
    many = [f"insight {n}" for n in range(MAX_ITEMS + 3)]

    parsed = parse_answer(json.dumps({**ANSWER, "insights": many}))

    assert parsed["insights"] == many[:MAX_ITEMS]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Sure! The readings look mostly fine.", "not JSON"),
        ('{"summary": "cut off', "not JSON"),
        ("[]", "not a JSON object"),
        (json.dumps({**ANSWER, "summary": None}), "'summary' must be a non-empty string"),
        (json.dumps({**ANSWER, "summary": "   "}), "'summary' must be a non-empty string"),
        (json.dumps({**ANSWER, "summary": "x" * (MAX_TEXT + 1)}), "'summary' must be a non-empty string"),
        (json.dumps({k: v for k, v in ANSWER.items() if k != "insights"}), "'insights' must be a non-empty list"),
        (json.dumps({**ANSWER, "insights": []}), "'insights' must be a non-empty list"),
        (json.dumps({**ANSWER, "insights": "one insight"}), "'insights' must be a non-empty list"),
        (json.dumps({**ANSWER, "insights": ["ok", 7]}), "'insights' must be a non-empty list"),
        (json.dumps({**ANSWER, "insights": ["ok", " "]}), "'insights' must be a non-empty list"),
        (json.dumps({**ANSWER, "recommendations": ["x" * (MAX_TEXT + 1)]}), "'recommendations' must be"),
    ],
)
def test_an_answer_that_is_not_what_was_asked_for_is_malformed(answer, message):
    with pytest.raises(MalformedAnswer, match=message):
        parse_answer(answer)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment holding only what a test sets (settings and AWS clients read again before and after)."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "unit",
        "AWS_SECRET_ACCESS_KEY": "unit",
    }.items():
        monkeypatch.setenv(name, value)  # botocore wants credentials to build a client, even a stubbed one
    get_settings.cache_clear()
    aws.reset_clients()
    yield monkeypatch
    get_settings.cache_clear()
    aws.reset_clients()


@pytest.fixture
def bedrock(environment: pytest.MonkeyPatch) -> Iterator[Stubber]:
    environment.setenv("INSIGHTS_MODEL_ID", MODEL)
    with Stubber(aws.client("bedrock-runtime")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _converse_answer(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 400, "outputTokens": 120, "totalTokens": 520},
        "metrics": {"latencyMs": 900},
    }


def test_without_a_model_the_rules_write_the_insights(environment):
    written = write_insights(STATISTICS)

    assert written["source"] == "rules" and "fallback_reason" not in written
    assert written["summary"] == (
        "Analysed 200 valid readings from 4 users: 30 readings (15.0%) broke at least one threshold, affecting "
        "3 of 4 users. The most frequent issue was diastolic blood pressure above 90 mmHg."
    )
    assert written["insights"] == [
        "Diastolic blood pressure above 90 mmHg: 25 readings (12.5%).",
        "Blood oxygen (SpO2) below 92%: 5 readings (2.5%).",
        "heart_rate: mean 81.5, range 55-150.",
    ]
    assert [advice[:24] for advice in written["recommendations"]] == [
        "Follow up SpO2 below 92%",  # in the order the thresholds are declared
        "Schedule a blood-pressur",
    ]


def test_without_anomalies_the_rules_recommend_the_regular_schedule(environment):
    calm = {**STATISTICS, "anomalous_records": 0, "users_with_anomalies": 0, "anomalies_by_reason": {}}

    written = write_insights(calm)

    assert written["recommendations"] == ["No readings broke a threshold; keep the regular monitoring schedule."]
    assert "most frequent" not in written["summary"]


def test_a_model_answer_in_the_asked_form_is_used(bedrock):
    bedrock.add_response("converse", _converse_answer("```json\n" + json.dumps(ANSWER) + "\n```"))

    written = write_insights(STATISTICS)

    assert written == {**parse_answer(json.dumps(ANSWER)), "source": f"bedrock:{MODEL}"}


def test_a_model_answer_in_another_form_falls_back_to_the_rules(bedrock):
    bedrock.add_response("converse", _converse_answer("The readings look mostly fine."))

    written = write_insights(STATISTICS)

    assert written["source"] == "rules"
    assert written["fallback_reason"].startswith("MalformedAnswer: not JSON")
    assert written["summary"].startswith("Analysed 200 valid readings")


def test_a_model_error_falls_back_to_the_rules(bedrock):
    bedrock.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)

    written = write_insights(STATISTICS)

    assert written["source"] == "rules"
    assert written["fallback_reason"].startswith("ThrottlingException: An error occurred (ThrottlingException)")
