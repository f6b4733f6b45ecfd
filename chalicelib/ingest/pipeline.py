"""Ingest a CSV upload ``raw/<dataset>/<path>.csv`` of the data bucket into MySQL, exactly once.

One pass over the object, as a stream: each row is validated against the dataset's declaration
(:mod:`chalicelib.ingest.datasets`), valid rows go to ``processed/<dataset>/<path>.csv`` and, in batches, into MySQL;
rejected rows go to ``rejected/<dataset>/<path>.csv`` as uploaded, after the columns ``reject_reason`` and ``line`` (the
line of the uploaded file the row starts on; first, so that they stay in place for a row with more fields than
the header). Then
``manifests/<dataset>/<path>.json`` and an ``ingest.completed`` event on ``EVENTS_TOPIC_ARN``.

Exactly once: all of a file's rows and its ledger row (:mod:`chalicelib.ingest.ledger`) commit in one transaction,
after the outputs are complete. A crash before the commit leaves nothing loaded, and the redelivery loads
the file; a crash after it leaves the ledger row without ``completed_at``, and the redelivery only writes the
manifest and publishes the event. A redelivery of an ingested object version, or bytes that are the current
content of any key, report ``duplicate`` with the first ingest's counts and the key that loaded them, and load
nothing (:mod:`chalicelib.ingest.ledger`). Rows whose natural key is already stored replace the stored row
(the newest file wins); the manifest counts them (``already_present``, of which ``replaced`` differed).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.core import aws, s3
from chalicelib.core.errors import IdsExhausted
from chalicelib.core.logs import log_event, metric
from chalicelib.core.mysql import get_database
from chalicelib.core.settings import get_settings
from chalicelib.ingest import ledger, loaders
from chalicelib.ingest.chunks import Chunks, RawChunk
from chalicelib.ingest.columns import Dataset, RowRejected, Validator
from chalicelib.ingest.datasets import DATASETS

BATCH_ROWS = 5000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
EVENT_TYPE = "ingest.completed"
REJECTED_COLUMNS = ("reject_reason", "line")  # before the rejected row's own fields in rejected/ files


class FileRejected(Exception):
    """The whole file cannot be ingested (``reason``); nothing of it is loaded."""

    reason: str
    detail: str

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Upload:
    """The keys of one upload ``raw/<dataset>/<path>.csv`` and of its outputs."""

    bucket: str
    key: str
    dataset: str
    path: str

    @classmethod
    def parse(cls, bucket: str, key: str) -> Upload | None:
        """None unless ``key`` is ``raw/<dataset>/<path>.csv`` (any depth under the dataset)."""
        parts = key.split("/", 2)
        if len(parts) != 3 or parts[0] != "raw" or not parts[1] or not parts[2].lower().endswith(".csv"):
            return None
        path = parts[2][: -len(".csv")]
        return cls(bucket, key, parts[1], path) if path and not path.endswith("/") else None

    def output(self, kind: str, suffix: str) -> str:
        return f"{kind}/{self.dataset}/{self.path}{suffix}"

    @property
    def outputs_fit(self) -> bool:
        """Whether every output key stays within S3's key limit (the longest is the manifest's)."""
        return len(self.output("manifests", ".json").encode("utf-8")) <= s3.MAX_KEY_BYTES

    @property
    def manifest_key(self) -> str:
        """``manifests/<dataset>/<path>.json``; for an upload whose outputs would not fit, a key that does:
        ``manifests/key-too-long/<sha256 of the upload's key>.json``."""
        if self.outputs_fit:
            return self.output("manifests", ".json")
        return f"manifests/key-too-long/{hashlib.sha256(self.key.encode('utf-8')).hexdigest()}.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ingest_object(
    bucket: str, key: str, version_id: str | None = None, *, batch_rows: int = BATCH_ROWS
) -> dict[str, Any]:
    """Ingest ``raw/<dataset>/<path>.csv`` and return its summary (status, counts, manifest key).

    Example: ``ingest_object("platform-local-data", "raw/health/2025/09/readings.csv")``.
    Raises on infrastructure failures (MySQL, S3) after undoing its partial work, so that the event is
    delivered again.
    """
    upload = Upload.parse(bucket, key)
    if upload is None:
        raise ValueError(f"not an upload to ingest: {key!r}")
    meta = s3.head(bucket, key, version_id)
    etag = meta["ETag"].strip('"')
    seen = ledger.find_delivered(bucket, key, etag, meta.get("VersionId"))
    if seen is not None:
        return _redelivered(upload, seen)
    manifest = _new_manifest(upload, meta, etag)
    reader = s3.ObjectReader(bucket, key, meta.get("VersionId"))
    try:
        _ingest(upload, reader, manifest, batch_rows)
    except (ledger.AlreadyIngested, loaders.KeysTakenMeanwhile):
        # a concurrent delivery committed first; a duplicate when it stored these very bytes
        reader.drain()
        seen = ledger.find_current_content(upload.dataset, reader.sha256)
        if seen is None:  # the other delivery loaded other bytes, or rolled back after all: deliver again
            raise
        return _redelivered(upload, seen, finish_interrupted=False)  # the winner is finishing its own
    finally:
        reader.close()
    return _complete(upload, manifest)


def _new_manifest(upload: Upload, meta: dict[str, Any], etag: str) -> dict[str, Any]:
    return {
        "dataset": upload.dataset,
        "status": None,
        "source": {
            "bucket": upload.bucket,
            "key": upload.key,
            "version_id": meta.get("VersionId"),
            "etag": etag,
            "size": meta.get("ContentLength"),
            "content_type": meta.get("ContentType"),
            "last_modified": meta.get("LastModified"),
        },
        "sha256": None,
        "counts": {"input": 0, "loaded": 0, "rejected": 0},
        "reasons": {},
        "already_present": 0,
        "replaced": 0,
        "outputs": {"processed": None, "rejected": None},
        "started_at": _now(),
    }


class _Echo:
    """A file whose ``write`` answers the text it is given: a csv writer's ``writerow`` then answers the line."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` as the ingest's CSV files have them: each line ends in ``\\n``, values quoted as needed, as
    ``csv.writer(lineterminator="\\n")`` writes them; and a value holding a bare ``\\r`` is quoted too.

    The csv writer quotes a value with a CR only when CR is in its line terminator; unquoted, the CR ends the line
    for a reader (a file opened with ``newline=""``, or read as the ingest reads one with bare-CR line ends), and
    the row comes back split. Rows whose text holds no CR are written exactly as the csv writer writes them."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    written = text.getvalue()
    if "\r" not in written:
        return written
    # rare: row by row with CR in the line terminator, which makes csv quote each value holding one
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    return "".join(writer.writerow(row)[:-2] + "\n" for row in rows)


class _Outputs:
    """The processed and rejected CSVs of one upload, written as the rows stream by."""

    def __init__(self, upload: Upload, dataset: Dataset, header: list[str]) -> None:
        self.processed = s3.PartWriter(upload.bucket, upload.output("processed", ".csv"), CSV_CONTENT_TYPE)
        self.rejected = s3.PartWriter(upload.bucket, upload.output("rejected", ".csv"), CSV_CONTENT_TYPE)
        self.width = len(header)
        self.write_valid([dataset.column_names])
        self.rejected.write(csv_lines([[*REJECTED_COLUMNS, *header]]))

    def write_valid(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows to ``processed/``, formatted in one go (the part writer encodes each text it is given)."""
        self.processed.write(csv_lines(rows))

    def reject(self, fields: list[str], reason: str, line: int) -> None:
        self.rejected.write(csv_lines([[reason, line, *fields]]))

    def keys(self, rejected: int) -> dict[str, str | None]:
        """The output keys the manifest names: no rejected file when no row was rejected."""
        return {"processed": self.processed.key, "rejected": self.rejected.key if rejected else None}

    def complete(self, manifest: dict[str, Any]) -> None:
        self.processed.complete()
        if manifest["outputs"]["rejected"]:
            self.rejected.complete()
        else:  # an earlier version of the file may have left one
            s3.delete(self.rejected.bucket, self.rejected.key)

    def abort(self) -> None:
        self.processed.abort()
        self.rejected.abort()


def _ingest(upload: Upload, reader: s3.ObjectReader, manifest: dict[str, Any], batch_rows: int) -> None:
    """Load the rows and record the ledger row in one transaction, or record a whole-file rejection."""
    outputs: _Outputs | None = None
    try:
        with get_database().transaction(dicts=False) as cursor:
            outputs = _load_rows(upload, reader, manifest, cursor, batch_rows)
            manifest["status"] = "loaded"
            ledger.record(cursor, manifest)
            outputs.complete(manifest)
    except FileRejected as rejection:  # raised before any output exists
        reader.drain()
        manifest.update(
            status="rejected",
            reason=rejection.reason,
            detail=rejection.detail,
            sha256=reader.sha256,
            counts={"input": 0, "loaded": 0, "rejected": 0},
            reasons={},
        )
        with get_database().transaction(dicts=False) as cursor:
            ledger.record(cursor, manifest)
        for kind in ("processed", "rejected") if upload.outputs_fit else ():  # an earlier version's outputs
            s3.delete(upload.bucket, upload.output(kind, ".csv"))
    except BaseException:
        if outputs is not None:
            outputs.abort()
        raise


def _header_positions(dataset: Dataset, header: list[str]) -> list[int | None]:
    """Where each declared column is in the file; raises :class:`FileRejected` for a missing or wrong header.

    Column names are matched trimmed and case-insensitively, in any order; optional columns may be absent."""
    names = [name.strip().lower() for name in header]
    expected = ",".join(dataset.column_names)
    if not set(names) & set(dataset.column_names):
        raise FileRejected("missing_header", f"the first row is not a header; expected {expected}")
    problems = []
    if unknown := [n for n in names if n not in dataset.column_names]:
        problems.append(f"unknown columns {unknown}")
    if missing := sorted(dataset.required_columns - set(names)):
        problems.append(f"missing columns {missing}")
    if repeated := sorted(n for n, count in Counter(names).items() if count > 1):
        problems.append(f"repeated columns {repeated}")
    if problems:
        raise FileRejected("wrong_header", f"{'; '.join(problems)}; expected {expected}")
    return [names.index(c) if c in names else None for c in dataset.column_names]


def _load_rows(
    upload: Upload, reader: s3.ObjectReader, manifest: dict[str, Any], cursor: Any, batch_rows: int
) -> _Outputs:
    if not upload.outputs_fit:
        natural = len(upload.output("manifests", ".json").encode("utf-8"))
        detail = f"its manifest's key would be {natural} bytes, past S3's limit of {s3.MAX_KEY_BYTES}"
        raise FileRejected("key_too_long", f"the key is {len(upload.key.encode('utf-8'))} bytes: {detail}")
    dataset = DATASETS.get(upload.dataset)
    if dataset is None:
        raise FileRejected("unknown_dataset", f"{upload.dataset!r} is not one of {sorted(DATASETS)}")
    # strict: a stray or unclosed quote is malformed, rather than silently merged into a field
    text = Chunks(reader.blocks())
    outputs: _Outputs | None = None
    try:
        header = text.header()
        if header is None:
            raise FileRejected("empty_file", "the file has no header and no rows")
        positions = _header_positions(dataset, header)
        references = loaders.load_references(cursor, dataset)
        outputs = _Outputs(upload, dataset, header)
        chunks = text.after_header(len(header) if positions == list(range(len(header))) else None, batch_rows)
        reasons, written = _stream_rows(
            dataset, chunks, positions, references, outputs, cursor, manifest["counts"], batch_rows
        )
    except BaseException as exc:
        if outputs is not None:
            outputs.abort()
        if isinstance(exc, UnicodeDecodeError):
            detail = f"not UTF-8 within the first {reader.bytes_read} bytes: {exc.reason}"
            raise FileRejected("not_utf8", detail) from None
        if isinstance(exc, csv.Error):
            raise FileRejected("malformed_csv", f"line {text.line_num}: {exc}") from None
        if isinstance(exc, IdsExhausted):  # redelivering cannot help: the file is rejected, with its manifest
            raise FileRejected("ids_exhausted", str(exc)) from None
        raise
    counts = manifest["counts"]
    counts["rejected"] = sum(reasons.values())
    counts["loaded"] = counts["input"] - counts["rejected"]
    manifest["reasons"] = dict(sorted(reasons.items()))
    manifest.update(already_present=written.present, replaced=written.replaced)
    manifest["sha256"] = reader.sha256
    manifest["outputs"] = outputs.keys(counts["rejected"])
    return outputs


def _stream_rows(
    dataset: Dataset,
    chunks: Iterator[RawChunk | list[tuple[int, list[str]]]],
    positions: list[int | None],
    references: dict[str, dict[Any, Any]],
    outputs: _Outputs,
    cursor: Any,
    counts: dict[str, int],
    batch_rows: int,
) -> tuple[Counter[str], loaders.Written]:
    """Validate each row, write it to its output and the valid ones to MySQL in batches; the reasons, and what
    the writes did to rows already stored."""
    validator = Validator(dataset, positions, outputs.width, references)
    with loaders.BatchWriter(cursor, dataset, references) as writer:
        stream = _RowStream(dataset, validator, outputs, writer, counts, batch_rows)
        for chunk in chunks:
            stream.take(chunk)
        outputs.processed.end()  # its last part uploads while the last batch is written
    return stream.reasons, writer.written


class _RowStream:
    """Validates an upload's chunks, writes each row to its output and the valid ones to the writer.

    A batch is validated a column at a time when all its rows are valid, else row by row. A raw chunk whose
    values are all valid and canonical passes its text through, to ``processed/`` and to the writer; any other
    raw chunk is validated as its rows, in batches."""

    def __init__(
        self,
        dataset: Dataset,
        validator: Validator,
        outputs: _Outputs,
        writer: loaders.BatchWriter,
        counts: dict[str, int],
        batch_rows: int,
    ) -> None:
        self.dataset, self.validator, self.outputs, self.writer = dataset, validator, outputs, writer
        self.counts, self.batch_rows = counts, batch_rows
        self.reasons: Counter[str] = Counter()
        self._stamps = [i for i, c in enumerate(dataset.columns) if c.kind == "timestamp"]

    def take(self, chunk: RawChunk | list[tuple[int, list[str]]]) -> None:
        if not isinstance(chunk, RawChunk):
            self.writer.write(self._validate(chunk))
        elif not self._passed_through(chunk):
            rows = chunk.rows
            for start in range(0, len(rows), self.batch_rows):
                self.writer.write(self._validate(rows[start : start + self.batch_rows]))

    def _passed_through(self, chunk: RawChunk) -> bool:
        """The chunk's text as it stands, when every value is valid and canonical."""
        typed = self.validator.canonical(chunk.columns)
        if typed is None:
            return False
        self.counts["input"] += len(typed[0])
        self.writer.write_text(chunk.text, typed)  # queued first: no part upload of processed/ delays it
        self.outputs.processed.write(chunk.text)
        return True

    def _validate(self, batch: list[tuple[int, list[str]]]) -> list[tuple]:
        """``batch``: rows with the line each starts on."""
        self.counts["input"] += len(batch)
        valid = self.validator.batch([fields for _, fields in batch])
        if valid is None:
            valid = []
            for line, fields in batch:
                try:
                    valid.append(self.validator.row(fields))
                except RowRejected as rejected:
                    self.reasons[rejected.reason] += 1
                    self.outputs.reject(fields, rejected.reason, line)
        self.outputs.write_valid(self._processed(valid))
        return valid

    def _processed(self, rows: list[tuple]) -> Sequence[Sequence[Any]]:
        """As written to ``processed/``: csv writes None as empty and other values with str(), timestamps as
        Column.format does."""
        if not self._stamps:
            return rows
        formatted = [list(row) for row in rows]
        for i in self._stamps:
            for fields in formatted:
                fields[i] = self.dataset.columns[i].format(fields[i])
        return formatted


def _complete(upload: Upload, manifest: dict[str, Any]) -> dict[str, Any]:
    """After the commit: the manifest, the dataset's after-load step, the event; then the ledger says done.

    Each step may be repeated by a redelivery when the function dies between them."""
    manifest["finished_at"] = manifest.get("finished_at") or _now()
    s3.put_json(upload.bucket, upload.manifest_key, manifest)
    dataset = DATASETS.get(upload.dataset)
    if manifest["status"] == "loaded" and manifest["counts"]["loaded"] and dataset and dataset.after_load:
        dataset.after_load()
    _publish(upload, manifest["status"], manifest)
    ledger.mark_completed(manifest)
    metric("RowsLoaded", manifest["counts"]["loaded"], Dataset=upload.dataset)
    metric("RowsRejected", manifest["counts"]["rejected"], Dataset=upload.dataset)
    return _summary(upload, manifest, manifest["status"])


def _redelivered(upload: Upload, seen: ledger.Entry, *, finish_interrupted: bool = True) -> dict[str, Any]:
    """A delivery of bytes already recorded: finish what a crash interrupted, or report a duplicate that names
    the key whose ingest loaded them."""
    if finish_interrupted and not seen.completed and seen.key == upload.key:
        return _complete(upload, seen.manifest)
    manifest = {
        **seen.manifest,
        "status": "duplicate",
        "duplicate_of": {"key": seen.key, "manifest_key": _manifest_key(upload.bucket, seen.key)},
        "original": {k: seen.manifest.get(k) for k in ("status", "started_at", "finished_at")},
        "duplicate_delivered_at": _now(),
    }
    s3.put_json(upload.bucket, upload.manifest_key, manifest)
    ledger.record_duplicate(upload.bucket, upload.key, seen.manifest)
    _publish(upload, "duplicate", manifest)
    return _summary(upload, manifest, "duplicate")


def _manifest_key(bucket: str, key: str) -> str | None:
    loaded = Upload.parse(bucket, key)
    return loaded.manifest_key if loaded else None


def _publish(upload: Upload, status: str, manifest: dict[str, Any]) -> None:
    """The ``ingest.completed`` event; its ``processed_key`` is where the rows are (for a duplicate of another
    key's bytes, that key's processed file)."""
    processed = (manifest.get("outputs") or {}).get("processed") or upload.output("processed", ".csv")
    message = {
        "type": EVENT_TYPE,
        "dataset": upload.dataset,
        "bucket": upload.bucket,
        "source_key": upload.key,
        "manifest_key": upload.manifest_key,
        "processed_key": processed,
        "status": status,
        "counts": manifest["counts"],
    }
    aws.client("sns").publish(
        TopicArn=get_settings().require("EVENTS_TOPIC_ARN"),
        Message=json.dumps(message),
        MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": EVENT_TYPE},
            "dataset": {"DataType": "String", "StringValue": upload.dataset},
        },
    )


def _summary(upload: Upload, manifest: dict[str, Any], status: str) -> dict[str, Any]:
    summary = {
        "action": "ingested",
        "dataset": upload.dataset,
        "key": upload.key,
        "status": status,
        "counts": manifest["counts"],
        "reasons": manifest["reasons"],
        "already_present": manifest.get("already_present", 0),
        "manifest_key": upload.manifest_key,
    }
    if manifest.get("reason"):
        summary["reason"] = manifest["reason"]
    log_event("ingest finished", **summary)
    return summary
