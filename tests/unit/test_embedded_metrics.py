"""The embedded metric format documents :mod:`chalicelib.core.logs` builds: what CloudWatch reads from a line is
every metric a directive names, with the dimensions it names, all of them top-level keys of the line."""

from __future__ import annotations

from chalicelib.core.logs import METRIC_NAMESPACE, METRICS, embedded_metrics


def cloudwatch_metrics(line: dict) -> dict[str, tuple[object, dict[str, str]]]:
    """What CloudWatch reads from ``line``: metric name -> (value, dimensions); the format checked on the way."""
    found = {}
    for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
        assert directive["Namespace"] == METRIC_NAMESPACE
        (dimensions,) = directive["Dimensions"]
        for entry in directive["Metrics"]:
            assert entry["Unit"] == METRICS[entry["Name"]]
            found[entry["Name"]] = (line[entry["Name"]], {key: line[key] for key in dimensions})
    if found:
        assert isinstance(line["_aws"]["Timestamp"], int)
    return found


def test_values_under_other_dimension_values_go_to_another_document_and_repeats_become_a_list():
    recorded = [
        ("RowsLoaded", 3, {"Dataset": "health"}),
        ("RowsLoaded", 5, {"Dataset": "superheroes"}),
        ("CacheHits", 1, {}),
        ("CacheHits", 1, {}),
    ]

    first, second = embedded_metrics("f", recorded)

    assert cloudwatch_metrics(first) == {
        "RowsLoaded": (3, {"Function": "f", "Dataset": "health"}),
        "CacheHits": ([1, 1], {"Function": "f"}),
    }
    assert cloudwatch_metrics(second) == {"RowsLoaded": (5, {"Function": "f", "Dataset": "superheroes"})}
