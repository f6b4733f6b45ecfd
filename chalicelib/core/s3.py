"""S3 access: stream an object's lines in, stream outputs out in parts, small JSON objects, the archive copy.

Memory stays flat in the size of the object: reading holds one chunk and one line, writing one part.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.core import aws
from chalicelib.core.errors import NotFound
from chalicelib.core.logs import log_event
from chalicelib.core.settings import get_settings

READ_CHUNK_BYTES = 1024 * 1024
_BARE_CR = re.compile(r"\r(?!\n)")
_LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")  # after each \n, and after each \r not followed by \n
MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8 bytes
PART_BYTES = 8 * 1024 * 1024  # S3's minimum part is 5 MiB; two writers hold at most one part each
COPY_OBJECT_MAX_BYTES = 5 * 1024**3  # copy_object's limit; larger objects need a multipart (managed) copy


_MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchVersion", "400"})


@contextmanager
def _missing_as_not_found(message: str) -> Iterator[None]:
    """An S3 call's "no such object" as :class:`NotFound` saying ``message``; other failures as they are."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
            raise NotFound(message) from exc
        raise


def head(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
    """``head_object`` of ``bucket``/``key`` (that version, when given); :class:`NotFound` when it is gone."""
    extra = {"VersionId": version_id} if version_id else {}
    with _missing_as_not_found(f"s3://{bucket}/{key} does not exist (any more)"):
        return aws.client("s3").head_object(Bucket=bucket, Key=key, **extra)


def has_bare_cr(text: str) -> bool:
    """Whether ``text`` ends a line with a lone ``\\r`` (as old Mac files do)."""
    return "\r" in text and _BARE_CR.search(text) is not None


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, each with its end: ``\\n``, ``\\r\\n`` or a bare ``\\r`` (the last may have none)."""
    lines = _LINE_ENDS.split(text)
    if not lines[-1]:
        lines.pop()
    return lines


class ObjectReader:
    """The lines of an S3 object decoded as strict UTF-8 (a leading BOM dropped), read as a stream.

    The SHA-256 of the bytes read is kept as they pass; :meth:`drain` reads the rest so that
    :attr:`sha256` covers the whole object even when the caller stopped early.
    """

    def __init__(self, bucket: str, key: str, version_id: str | None = None) -> None:
        extra = {"VersionId": version_id} if version_id else {}
        self._body = aws.client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"]
        self._digest = hashlib.sha256()
        self._chunks = self._body.iter_chunks(READ_CHUNK_BYTES)
        self.bytes_read = 0

    def _next_chunk(self) -> bytes | None:
        chunk = next(self._chunks, None)
        if chunk is not None:
            self._digest.update(chunk)
            self.bytes_read += len(chunk)
        return chunk

    def blocks(self) -> Iterator[str]:
        """The text a read at a time (about ``READ_CHUNK_BYTES``), each block whole lines: ending in ``\\n`` or a
        bare ``\\r`` as old Mac files end them (the last block may lack its line end).

        Raises :class:`UnicodeDecodeError` at the first byte sequence that is not UTF-8."""
        decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        pending = ""
        while (chunk := self._next_chunk()) is not None:
            text = pending + decoder.decode(chunk)
            # a \r last in the text may be the half of a \r\n: the block ends before it
            end = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1
            pending = text[end:]
            if end:
                yield text[:end]
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    def lines(self) -> Iterator[str]:
        """The lines with their ends, as :mod:`csv` wants them for quoted newlines (:func:`split_lines`)."""
        for block in self.blocks():
            yield from split_lines(block)

    def drain(self) -> None:
        while self._next_chunk() is not None:
            pass

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._body.close()


class PartWriter(io.TextIOBase):
    """A text file that becomes the S3 object ``bucket``/``key``: parts of ``part_bytes`` are uploaded as
    they fill (a multipart upload, started on the first full part); :meth:`complete` publishes the object,
    :meth:`abort` drops what was uploaded. Nothing is visible under the key before :meth:`complete`."""

    def __init__(self, bucket: str, key: str, content_type: str, part_bytes: int = PART_BYTES) -> None:
        self.bucket, self.key, self.content_type, self.part_bytes = bucket, key, content_type, part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._ended = False

    def write(self, text: str) -> int:
        if self._ended:
            raise ValueError(f"{self.key}: written after end()")
        self._buffer += text.encode("utf-8")
        if len(self._buffer) >= self.part_bytes:
            self._upload_part()
        return len(text)

    def _upload_part(self) -> None:
        s3 = aws.client("s3")
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        number = len(self._parts) + 1
        answer = s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=self._buffer
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer.clear()

    def end(self) -> None:
        """No more writes: what is buffered is uploaded now as the last part when a multipart upload is under
        way, so that :meth:`complete` only has to publish the object (the caller overlaps this upload with other
        work; nothing is visible before :meth:`complete`, and :meth:`abort` still drops it all)."""
        self._ended = True
        if self._upload_id is not None and self._buffer:
            self._upload_part()

    def complete(self) -> None:
        s3 = aws.client("s3")
        if self._upload_id is None:
            s3.put_object(Bucket=self.bucket, Key=self.key, Body=self._buffer, ContentType=self.content_type)
        else:
            if self._buffer:
                self._upload_part()
            s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
            self._upload_id = None
        self._buffer.clear()

    def abort(self) -> None:
        """Drop the parts uploaded so far (best effort: a lifecycle rule cleans up what a crash leaves)."""
        self._buffer.clear()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                aws.client("s3").abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
            except Exception as exc:  # the failure being handled matters more than this cleanup's
                log_event("multipart upload not aborted", key=self.key, error=str(exc))


def open_reader(bucket: str, key: str, what: str) -> ObjectReader:
    """An :class:`ObjectReader` for the HTTP edge: :class:`NotFound` saying ``what`` is no longer there when the
    object is missing, ``DependencyUnavailable`` (503) when S3 cannot be reached."""
    with aws.unavailable_as("s3"), _missing_as_not_found(f"{what} is no longer in the bucket"):
        return ObjectReader(bucket, key)


def read_json(bucket: str, key: str, what: str) -> Any:
    """The JSON object ``key``, read whole (callers check its size first); errors as :func:`open_reader`'s."""
    with aws.unavailable_as("s3"), _missing_as_not_found(f"{what} is no longer in the bucket"):
        body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return json.loads(body.read())
        finally:
            body.close()


def json_value(value: Any) -> Any:
    """``json.dumps`` ``default``: MySQL's DECIMAL/aggregates and our Decimal readings become numbers (integral
    ones ints: ``Decimal("72.0")`` -> ``72``), naive datetimes (UTC on our connections) ISO 8601 with ``Z``."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(document: Any) -> str:
    return json.dumps(document, default=json_value, ensure_ascii=False, indent=2)


def put_json(bucket: str, key: str, document: Any) -> None:
    """Write ``document`` as a JSON object (manifests, analysis results) encoded by :func:`json_value`."""
    body = dumps(document).encode("utf-8")
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def delete(bucket: str, key: str) -> None:
    aws.client("s3").delete_object(Bucket=bucket, Key=key)


def archive_copy(
    source_bucket: str,
    key: str,
    archive_bucket: str,
    version_id: str | None = None,
    multipart_threshold: int = COPY_OBJECT_MAX_BYTES,
) -> dict[str, Any]:
    """Copy ``key`` to ``archive_bucket`` under the same key, server-side, keeping its content type and
    metadata. ``copy_object`` up to 5 GB; above ``multipart_threshold`` boto3's managed (multipart) copy,
    which is told the content type and metadata explicitly because a multipart copy does not carry them."""
    s3 = aws.client("s3")
    source = head(source_bucket, key, version_id)
    copy_source = {"Bucket": source_bucket, "Key": key}
    if "VersionId" in source:
        copy_source["VersionId"] = source["VersionId"]
    if source["ContentLength"] <= multipart_threshold:
        s3.copy_object(Bucket=archive_bucket, Key=key, CopySource=copy_source, MetadataDirective="COPY")
        method = "copy_object"
    else:
        from boto3.s3.transfer import TransferConfig

        extra = {"ContentType": source.get("ContentType", "binary/octet-stream"), "Metadata": source["Metadata"]}
        s3.copy(
            copy_source,
            archive_bucket,
            key,
            ExtraArgs=extra,
            Config=TransferConfig(multipart_threshold=multipart_threshold),
        )
        method = "managed_copy"
    return {
        "action": "archived",
        "key": key,
        "archive_bucket": archive_bucket,
        "bytes": source["ContentLength"],
        "method": method,
    }


def _presigned(operation: str, params: dict[str, str]) -> dict[str, Any]:
    """A pre-signed URL for ``operation`` with ``params``, valid ``LINK_EXPIRY_SECONDS``. Signing is local (no
    request is made); the URL names the endpoint boto3 uses, so it works against the emulator too."""
    expires_in = get_settings().link_expiry_seconds
    with aws.unavailable_as("s3"):  # e.g. no credentials to sign with
        url = aws.client("s3").generate_presigned_url(operation, Params=params, ExpiresIn=expires_in)
    return {"url": url, "expires_in": expires_in}


def download_link(bucket: str, key: str) -> dict[str, Any]:
    """``{"url", "expires_in"}``: a time-limited ``GET`` of the object, for a client without AWS credentials."""
    return _presigned("get_object", {"Bucket": bucket, "Key": key})


def upload_link(bucket: str, key: str, content_type: str) -> dict[str, Any]:
    """``{"method": "PUT", "url", "headers", "expires_in"}``: a time-limited ``PUT`` of the object's bytes, sent
    with ``headers`` (the content type is signed: S3 refuses the upload without it)."""
    link = _presigned("put_object", {"Bucket": bucket, "Key": key, "ContentType": content_type})
    return {"method": "PUT", "headers": {"Content-Type": content_type}, **link}
