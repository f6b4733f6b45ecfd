"""Summary, insights and recommendations for a health analysis, written from AGGREGATE statistics only.

By default a deterministic rule-based writer produces them. With ``INSIGHTS_MODEL_ID`` set, Amazon Bedrock's
Converse API writes them instead; it is given the aggregate statistics of :func:`aggregate_statistics` (counts,
rates, min/mean/max per metric) and never a raw row, a timestamp or a user id. A timeout, throttle, any other
Bedrock error or an answer that is not the JSON we asked for falls back to the rule-based text, and the result
says which writer produced it and why a fallback happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.core import aws
from chalicelib.core.logs import log_event
from chalicelib.core.s3 import json_value
from chalicelib.core.settings import get_settings
from chalicelib.health_readings import rules

MAX_ITEMS = 8
MAX_TEXT = 1500
_SYSTEM_PROMPT = (
    "You are a clinical data analyst. You receive aggregate statistics of a batch of wearable health readings "
    "(no individual records). Write a short summary, key insights and practical recommendations for a care team. "
    'Answer with ONLY a JSON object: {"summary": "<2-4 sentences>", "insights": ["...", ...], '
    '"recommendations": ["...", ...]} with at most 6 insights and 6 recommendations, no other text.'
)


def aggregate_statistics(statistics: Mapping[str, Any]) -> dict[str, Any]:
    """The only part of an analysis that may leave for the model: counts, rates and per-metric ranges."""
    return {
        "records_analyzed": statistics["records_analyzed"],
        "users": statistics["users"],
        "users_with_anomalies": statistics["users_with_anomalies"],
        "anomalous_records": statistics["anomalous_records"],
        "anomaly_rate": statistics["anomaly_rate"],
        "anomalies_by_reason": {
            rules.BY_REASON[reason].label: count for reason, count in statistics["anomalies_by_reason"].items()
        },
        "metrics": statistics["metrics"],
    }


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _sentence(label: str) -> str:
    return label[:1].upper() + label[1:]


def rule_based(statistics: Mapping[str, Any]) -> dict[str, Any]:
    """Deterministic summary, insights and recommendations from the statistics."""
    records, anomalous = statistics["records_analyzed"], statistics["anomalous_records"]
    by_reason = {reason: n for reason, n in statistics["anomalies_by_reason"].items() if n}
    summary = (
        f"Analysed {records} valid readings from {statistics['users']} users: {anomalous} readings "
        f"({_percent(anomalous, records)}) broke at least one threshold, affecting "
        f"{statistics['users_with_anomalies']} of {statistics['users']} users."
    )
    if by_reason:
        worst = max(by_reason, key=lambda reason: by_reason[reason])
        summary += f" The most frequent issue was {rules.BY_REASON[worst].label}."
    insights = [
        f"{_sentence(rules.BY_REASON[reason].label)}: {n} readings ({_percent(n, records)})."
        for reason, n in sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    ]
    for metric, values in statistics["metrics"].items():
        if values["mean"] is not None:
            insights.append(f"{metric}: mean {values['mean']}, range {values['min']}-{values['max']}.")
    recommendations = [rules.BY_REASON[reason].advice for reason in rules.REASONS if reason in by_reason]
    if not recommendations:
        recommendations = ["No readings broke a threshold; keep the regular monitoring schedule."]
    return {"summary": summary, "insights": insights, "recommendations": recommendations, "source": "rules"}


def _bedrock() -> Any:
    return aws.client("bedrock-runtime")


class MalformedAnswer(ValueError):
    """The model's answer is not the JSON object we asked for."""


def parse_answer(text: str) -> dict[str, Any]:
    """The model's JSON (possibly inside a ```json fence), checked: a summary and two short lists of strings."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.DOTALL)
    try:
        answer = json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        raise MalformedAnswer(f"not JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise MalformedAnswer("not a JSON object")
    summary = answer.get("summary")
    if not isinstance(summary, str) or not summary.strip() or len(summary) > MAX_TEXT:
        raise MalformedAnswer("'summary' must be a non-empty string")
    parsed: dict[str, Any] = {"summary": summary.strip()}
    for name in ("insights", "recommendations"):
        items = answer.get(name)
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(item, str) and item.strip() and len(item) <= MAX_TEXT for item in items)
        ):
            raise MalformedAnswer(f"{name!r} must be a non-empty list of strings")
        parsed[name] = [item.strip() for item in items[:MAX_ITEMS]]
    return parsed


def from_bedrock(model_id: str, statistics: Mapping[str, Any]) -> dict[str, Any]:
    """Ask ``model_id`` through the Converse API; raises on any error or malformed answer."""
    response = _bedrock().converse(
        modelId=model_id,
        system=[{"text": _SYSTEM_PROMPT}],
        messages=[
            {"role": "user", "content": [{"text": json.dumps(aggregate_statistics(statistics), default=json_value)}]}
        ],
        inferenceConfig={"maxTokens": 1024, "temperature": 0},
    )
    content = response.get("output", {}).get("message", {}).get("content", [])
    text = "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return {**parse_answer(text), "source": f"bedrock:{model_id}"}


def write_insights(statistics: Mapping[str, Any]) -> dict[str, Any]:
    """Summary, insights and recommendations: Bedrock when ``INSIGHTS_MODEL_ID`` is set, else (and on any
    failure of Bedrock) the rule-based writer."""
    model_id = get_settings().insights_model_id
    if not model_id:
        return rule_based(statistics)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return from_bedrock(model_id, statistics)
    except (ClientError, BotoCoreError, MalformedAnswer) as exc:  # timeouts, throttles, errors, bad answers
        reason = f"{type(exc).__name__}: {exc}"
        log_event("insights.fallback", model_id=model_id, reason=reason)
        return {**rule_based(statistics), "fallback_reason": reason}
