"""Report notifications (SNS, and SES email when configured), each sent once per analysed file and channel.

Triggers are delivered at least once (SNS retries, re-uploads of the same bytes), so every send goes through a
ledger row in ``analysis_notifications`` keyed by the analysis key, the ETag of the analysed content and the
channel:

1. claim the row (insert it, or take over a claim older than :data:`CLAIM_LEASE_SECONDS`);
2. send;
3. mark it sent (``sent_at``, the provider's message id).

A redelivery finds ``sent_at`` and sends nothing. A redelivery that arrives while another invocation holds a
fresh claim raises :class:`NotificationInProgress`, so the trigger is retried after the lease rather than
dropped. If a sender dies between 2 and 3, the claim goes stale and the next delivery sends again: we choose a
possible duplicate in that millisecond window over a lost health alert. A failed send releases its claim.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.core import aws
from chalicelib.core.logs import log_event
from chalicelib.core.mysql import get_database
from chalicelib.core.settings import ConfigError, get_settings

# longer than one send can take with the clients' timeouts and retries (about 3 x (3 s + 20 s))
CLAIM_LEASE_SECONDS = 120


@dataclass(frozen=True)
class Report:
    """What a notification says: the subject, a plain-text body (SNS, email) and an HTML body (email)."""

    subject: str
    text: str
    html: str
    report_type: str  # the SNS message attribute ``report_type``, for subscription filter policies


class NotificationInProgress(RuntimeError):
    """Another invocation is sending this notification right now; retry later."""


class NotificationFailed(RuntimeError):
    """At least one channel could not be sent; the others were. A retry sends only the missing ones."""


def channels() -> list[str]:
    """``sns`` always; ``email`` when ``SES_SENDER`` and ``SES_RECIPIENTS`` are set."""
    settings = get_settings()
    return ["sns", "email"] if settings.ses_sender and settings.ses_recipients else ["sns"]


def _key_sha256(analysis_key: str) -> str:
    return hashlib.sha256(analysis_key.encode("utf-8")).hexdigest()


def _row_key(analysis_key: str, content_etag: str, channel: str) -> tuple[str, str, str]:
    return _key_sha256(analysis_key), content_etag, channel


_STALE = "sent_at IS NULL AND (claimed_at IS NULL OR claimed_at < UTC_TIMESTAMP(6) - INTERVAL %s SECOND)"


def _claim(analysis_key: str, content_etag: str, channel: str) -> str | None:
    """Our claim token when we may send now; ``None`` when it was sent already. Raises
    :class:`NotificationInProgress` when someone else holds a fresh claim."""
    token = secrets.token_hex(16)  # 32 hex digits, like uuid4().hex; uuid costs ~4 ms at cold start
    key = _row_key(analysis_key, content_etag, channel)
    lease = (CLAIM_LEASE_SECONDS,)
    with get_database().transaction(dicts=False) as cur:
        # the assignments run left to right, so claimed_at (which the condition reads) is assigned last
        cur.execute(
            "INSERT INTO analysis_notifications"  # noqa: S608 - _STALE is a constant condition
            " (analysis_key_sha256, content_etag, channel, analysis_key, claim_token, claimed_at, attempts)"
            " VALUES (%s, %s, %s, %s, %s, UTC_TIMESTAMP(6), 1) ON DUPLICATE KEY UPDATE"
            f" attempts = attempts + IF({_STALE}, 1, 0),"
            f" claim_token = IF({_STALE}, VALUES(claim_token), claim_token),"
            f" claimed_at = IF({_STALE}, VALUES(claimed_at), claimed_at)",
            (*key, analysis_key, token, *lease * 3),
        )
        cur.execute(
            "SELECT claim_token, sent_at FROM analysis_notifications"
            " WHERE analysis_key_sha256 = %s AND content_etag = %s AND channel = %s",
            key,
        )
        claim_token, sent_at = cur.fetchone()
    if sent_at is not None:
        return None
    if claim_token != token:
        raise NotificationInProgress(f"{channel} notification of {analysis_key} is being sent by another invocation")
    return token


_WHERE_OURS = "WHERE analysis_key_sha256 = %s AND content_etag = %s AND channel = %s AND claim_token = %s"


def _mark_sent(row_key: tuple[str, str, str], token: str, message_id: str) -> None:
    with get_database().cursor(dicts=False) as cur:
        cur.execute(
            f"UPDATE analysis_notifications SET sent_at = UTC_TIMESTAMP(6), message_id = %s {_WHERE_OURS}",  # noqa: S608 - constant
            (message_id, *row_key, token),
        )


def _release(row_key: tuple[str, str, str], token: str) -> None:
    """Give up our claim after a failed send, so that a retry may claim it at once."""
    with get_database().cursor(dicts=False) as cur:
        cur.execute(
            f"UPDATE analysis_notifications SET claim_token = NULL, claimed_at = NULL {_WHERE_OURS}",  # noqa: S608 - constant
            (*row_key, token),
        )


def all_sent(analysis_key: str, content_etag: str) -> bool:
    """Whether every configured channel has been sent for this analysed content."""
    wanted = channels()
    with get_database().cursor(dicts=False) as cur:
        cur.execute(
            "SELECT channel FROM analysis_notifications WHERE analysis_key_sha256 = %s AND content_etag = %s"
            " AND sent_at IS NOT NULL",
            (_key_sha256(analysis_key), content_etag),
        )
        sent = {row[0] for row in cur.fetchall()}
    return set(wanted) <= sent


def sent_between(start: datetime, end: datetime, key_prefix: str, limit: int) -> list[str]:
    """The analysis keys under ``key_prefix`` whose SNS notification was sent in ``[start, end)`` (UTC), at most
    ``limit``, oldest first."""
    with get_database().cursor(dicts=False) as cur:
        cur.execute(
            "SELECT analysis_key FROM analysis_notifications WHERE channel = 'sns' AND sent_at >= %s"
            " AND sent_at < %s AND analysis_key LIKE %s ORDER BY sent_at LIMIT %s",
            (start.replace(tzinfo=None), end.replace(tzinfo=None), _like_prefix(key_prefix), limit),
        )
        return [row[0] for row in cur.fetchall()]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def publish_sns(report: Report) -> str:
    response = aws.client("sns").publish(
        TopicArn=get_settings().require("REPORT_TOPIC_ARN"),
        Subject=report.subject,
        Message=report.text,
        MessageAttributes={"report_type": {"DataType": "String", "StringValue": report.report_type}},
    )
    return response["MessageId"]


def send_email(report: Report) -> str:
    """One email with a plain-text and an HTML part (``multipart/alternative``) to ``SES_RECIPIENTS``."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    settings = get_settings()
    if settings.ses_sender is None:  # :func:`channels` offers email only with a sender
        raise ConfigError("setting SES_SENDER is needed to send email")
    message = MIMEMultipart("alternative")
    message["Subject"] = report.subject
    message["From"] = settings.ses_sender
    message["To"] = ", ".join(settings.ses_recipients)
    message.attach(MIMEText(report.text, "plain", "utf-8"))
    message.attach(MIMEText(report.html, "html", "utf-8"))
    response = aws.client("ses").send_raw_email(
        Source=settings.ses_sender,
        Destinations=list(settings.ses_recipients),
        RawMessage={"Data": message.as_bytes()},
    )
    return response["MessageId"]


SENDERS: dict[str, Callable[[Report], str]] = {"sns": publish_sns, "email": send_email}


def send_once(analysis_key: str, content_etag: str, channel: str, report: Report) -> str:
    """Send ``report`` on ``channel`` unless the ledger says it was sent: ``"sent"`` or ``"already_sent"``."""
    token = _claim(analysis_key, content_etag, channel)
    if token is None:
        return "already_sent"
    row_key = _row_key(analysis_key, content_etag, channel)
    try:
        message_id = SENDERS[channel](report)
    except BaseException:
        _release(row_key, token)
        raise
    _mark_sent(row_key, token, message_id)
    return "sent"


def notify_once(analysis_key: str, content_etag: str, report: Report) -> dict[str, Any]:
    """Send ``report`` on every configured channel that has not had it yet: ``{channel: outcome}``. Every
    channel is tried; when one fails, :class:`NotificationFailed` is raised afterwards (the trigger's retry
    then sends only what is missing)."""
    outcomes: dict[str, Any] = {}
    for channel in channels():
        try:
            outcomes[channel] = send_once(analysis_key, content_etag, channel, report)
        except Exception as exc:  # try the other channels before failing the invocation
            outcomes[channel] = f"failed: {type(exc).__name__}: {exc}"
    log_event("notification", analysis_key=analysis_key, outcomes=outcomes)
    failed = {channel: outcome for channel, outcome in outcomes.items() if outcome.startswith("failed")}
    if failed:
        raise NotificationFailed(f"notifications of {analysis_key} failed: {failed}")
    return outcomes
