"""``POST /uploads``: a time-limited link to ``PUT`` a CSV under ``raw/<dataset>/<name>``, so that a client
without AWS credentials can feed the platform; the upload is then ingested like any other."""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.core import s3
from chalicelib.core.bodies import json_object
from chalicelib.core.errors import InvalidInput
from chalicelib.core.settings import get_settings
from chalicelib.ingest.datasets import DATASETS
from chalicelib.ingest.pipeline import Upload

# path segments of letters, digits, '_', '.' and '-' (not starting with '.'), separated by '/', ending in .csv
_NAME = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.csv")


def _checked_dataset(dataset: Any) -> str:
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise InvalidInput(f"dataset must be one of {sorted(DATASETS)}, got {json.dumps(dataset)}")
    return dataset


def _checked_name(name: Any, dataset: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            "name must be a file name ending in .csv, in folders if wanted (e.g. 2025/09/readings.csv), of letters,"
            f" digits, '_', '.' and '-', got {json.dumps(name)}"
        )
    upload = Upload("", f"raw/{dataset}/{name}", dataset, name[: -len(".csv")])
    if not upload.outputs_fit:  # the manifest's key is the longest derived from it (ASCII: characters are bytes)
        longest = len(upload.output("manifests", ".json"))
        raise InvalidInput(
            f"name is too long: the keys derived from it would be {longest} bytes, over S3's {s3.MAX_KEY_BYTES}"
        )
    return name


def upload_link_for_request(raw_body: bytes | str | None) -> dict[str, Any]:
    """``POST /uploads`` with ``{"dataset": "health", "name": "2025/09/readings.csv"}``: the key and a pre-signed
    ``PUT`` URL for it."""
    body = json_object(raw_body, ["dataset", "name"], '{"dataset": "health", "name": "readings.csv"}')
    dataset = _checked_dataset(body.get("dataset"))
    key = f"raw/{dataset}/{_checked_name(body.get('name'), dataset)}"
    return {"dataset": dataset, "key": key, **s3.upload_link(get_settings().require("DATA_BUCKET"), key, "text/csv")}
