"""A day of ingests per dataset, from the ledger: files, rows loaded and rejected with the top reasons, rows
already present, duplicates, and where each manifest is (the daily digest's ingest section)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from chalicelib.ingest import ledger
from chalicelib.ingest.pipeline import Upload

TOP_REASONS = 3
LISTED_MANIFESTS = 10  # per dataset; the rest are under manifests/<dataset>/


def ingests_between(start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """``{dataset: summary}`` of the ingests recorded in ``[start, end)`` (UTC)."""
    datasets: dict[str, dict[str, Any]] = {}
    reasons: dict[str, Counter[str]] = {}
    for entry in ledger.entries_between(start, end):
        name = entry["dataset"]
        summary = datasets.setdefault(name, _empty(name))
        if entry["status"] == "duplicate":
            summary["duplicates"] += 1
            continue
        manifest = entry["manifest"]
        summary["files"] += 1
        summary["rejected_files"] += entry["status"] == "rejected"
        summary["rows_loaded"] += manifest["counts"]["loaded"]
        summary["rows_rejected"] += manifest["counts"]["rejected"]
        summary["rows_already_present"] += manifest.get("already_present", 0)
        reasons.setdefault(name, Counter()).update(manifest.get("reasons", {}))
        if manifest.get("reason"):  # a whole file rejected
            reasons[name][manifest["reason"]] += 1
        upload = Upload.parse(manifest["source"]["bucket"], entry["object_key"])
        if upload and len(summary["manifests"]) < LISTED_MANIFESTS:
            summary["manifests"].append(upload.manifest_key)
    for name, counted in reasons.items():
        datasets[name]["top_reasons"] = [{"reason": r, "count": n} for r, n in counted.most_common(TOP_REASONS)]
    return datasets


def _empty(dataset: str) -> dict[str, Any]:
    return {
        "files": 0,
        "rejected_files": 0,
        "rows_loaded": 0,
        "rows_rejected": 0,
        "rows_already_present": 0,
        "duplicates": 0,
        "top_reasons": [],
        "manifests": [],
        "manifests_prefix": f"manifests/{dataset}/",
    }
