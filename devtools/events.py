"""Local event delivery for ``make run``: what Lambda's event sources do in AWS, for the emulator.

``chalice local`` serves HTTP only. This loop fills the gap for the app's S3 and SNS handlers, found
generically in ``app.event_sources``:

- each ``on_s3_event`` handler: the emulator's bucket notifies an SQS queue of the handler's events;
- each ``on_sns_message`` handler: an SQS queue is subscribed to the handler's topic;

then the queues are polled and each message is turned into the event Lambda would pass (the S3 event
records as S3 sends them; SNS records built from the SNS envelope) and handed to the same handler function,
in this process, within a fraction of a second. A handler that raises is retried as Lambda retries an
asynchronous invocation, with a backoff over minutes (:data:`RETRY_DELAYS_SECONDS`: 5 attempts over about 18
minutes, so a MySQL or emulator restart does not lose a file). What still fails is kept, as a deployed stage's
failure queue keeps it: one JSON file per event under ``.local/failed-events/`` (the event, the handler, the
last error), with a log line saying how to deliver it again::

    python -m devtools.events --redeliver                 # every failed event
    python -m devtools.events --redeliver <file.json>     # one

Run alone with ``python -m devtools.events`` (``make run`` starts it) or drive it from a test with
:func:`setup_delivery` and :func:`deliver_pending`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.app import S3EventConfig, SNSEventConfig
from chalice.local import LambdaContext

from chalicelib.core import aws
from devtools.aws_stage import FUNCTIONS

# the wait before each retry: 1, 2, 5 and 10 minutes (Lambda retries an async invocation twice, 1 and 2 minutes
# apart, then sends it to the failure destination; a local outage such as a restart deserves a little longer)
RETRY_DELAYS_SECONDS = (60, 120, 300, 600)
FAILED_EVENTS_DIR = Path(__file__).resolve().parent.parent / ".local" / "failed-events"
VISIBILITY_TIMEOUT_SECONDS = 900  # a handler may run as long as a Lambda; a crashed process's message returns
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Retries:
    """How a failing event is retried (``delays``: the wait before each retry) and where it goes after."""

    delays: tuple[int, ...] = RETRY_DELAYS_SECONDS
    failed_dir: Path = field(default=FAILED_EVENTS_DIR)

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1


@dataclass(frozen=True)
class Route:
    """Messages of ``queue_url`` go to the handler ``handler`` as events of ``kind`` (``s3`` or ``sns``)."""

    queue_url: str
    handler: str
    kind: str
    subscription_arn: str = ""


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(
        QueueName=f"local-delivery-{name}"[:80],
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS)},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _topic_arn(sns: Any, topic: str) -> str:
    """A handler's topic may be a name or an ARN (as in Chalice); a name is created if missing."""
    return topic if topic.startswith("arn:") else sns.create_topic(Name=topic)["TopicArn"]


def _subscribe(sns: Any, topic_arn: str, queue_arn: str, handler: str) -> str:
    """Subscribe the queue once, however often ``make run`` starts, with the filter policy the deploy gives the
    handler's subscription in AWS (``aws_stage.FUNCTIONS``), so that locally too it sees only its messages."""
    arn = _subscription(sns, topic_arn, queue_arn)
    if arn is None:
        arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    access = FUNCTIONS.get(handler)
    if access is not None and access.sns_filter_policy:
        policy = json.dumps(access.sns_filter_policy, sort_keys=True)
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=policy)
    return arn


def _subscription(sns: Any, topic_arn: str, queue_arn: str) -> str | None:
    paginator = sns.get_paginator("list_subscriptions_by_topic")
    for page in paginator.paginate(TopicArn=topic_arn):
        for subscription in page["Subscriptions"]:
            if subscription["Endpoint"] == queue_arn:
                return subscription["SubscriptionArn"]
    return None


def setup_delivery(app: Chalice) -> list[Route]:
    """Create the queues, bucket notifications and topic subscriptions for ``app``'s S3 and SNS handlers."""
    sqs, s3, sns = aws.client("sqs"), aws.client("s3"), aws.client("sns")
    routes: list[Route] = []
    notifications: dict[str, list[dict[str, Any]]] = {}
    for source in app.event_sources:
        if isinstance(source, S3EventConfig):
            url, arn = _queue(sqs, f"s3-{source.name}")
            rules = [{"Name": n, "Value": v} for n, v in (("prefix", source.prefix), ("suffix", source.suffix)) if v]
            config: dict[str, Any] = {"QueueArn": arn, "Events": list(source.events)}
            if rules:
                config["Filter"] = {"Key": {"FilterRules": rules}}
            notifications.setdefault(source.bucket, []).append(config)
            routes.append(Route(url, source.name, "s3"))
        elif isinstance(source, SNSEventConfig):
            url, arn = _queue(sqs, f"sns-{source.name}")
            subscription = _subscribe(sns, _topic_arn(sns, source.topic), arn, source.name)
            routes.append(Route(url, source.name, "sns", subscription))
    for bucket, configs in notifications.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
        )
    return routes


def delivery_ready(bucket: str) -> bool:
    """Whether :func:`setup_delivery` is done for ``bucket``: it configures the bucket's notifications last."""
    configuration = aws.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    return bool(configuration.get("QueueConfigurations"))


def teardown_delivery(routes: list[Route], buckets: list[str]) -> None:
    """Undo :func:`setup_delivery`: no bucket notifications, no subscriptions, no queues (and their messages)."""
    sqs, s3, sns = aws.client("sqs"), aws.client("s3"), aws.client("sns")
    for bucket in buckets:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    for route in routes:
        if route.subscription_arn:
            sns.unsubscribe(SubscriptionArn=route.subscription_arn)
        sqs.delete_queue(QueueUrl=route.queue_url)


def sns_event(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The Lambda event of an SNS notification, from the envelope SNS delivers to an SQS queue."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope.get("MessageId"),
                    "TopicArn": envelope.get("TopicArn"),
                    "Subject": envelope.get("Subject"),
                    "Message": envelope.get("Message"),
                    "Timestamp": envelope.get("Timestamp"),
                    "SignatureVersion": envelope.get("SignatureVersion"),
                    "Signature": envelope.get("Signature"),
                    "SigningCertUrl": envelope.get("SigningCertURL"),
                    "UnsubscribeUrl": envelope.get("UnsubscribeURL"),
                    "MessageAttributes": envelope.get("MessageAttributes", {}),
                },
            }
        ]
    }


def _event(route: Route, body: str) -> dict[str, Any] | None:
    message = json.loads(body)
    if route.kind == "sns":
        return sns_event(message, route.subscription_arn)
    return message if message.get("Records") else None  # None: the s3:TestEvent of a new configuration


def deliver_pending(app: Chalice, routes: list[Route], retries: Retries | None = None) -> int:
    """Hand every message waiting in the routes' queues to its handler once; returns how many were handled."""
    sqs = aws.client("sqs")
    retries = retries or Retries()
    handled = 0
    for route in routes:
        answer = sqs.receive_message(
            QueueUrl=route.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["ApproximateReceiveCount"],
        )
        for message in answer.get("Messages", []):
            event = _event(route, message["Body"])
            if event is not None and not _invoke(app, route, event, message, retries):
                continue
            sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def _invoke(app: Chalice, route: Route, event: dict[str, Any], message: dict[str, Any], retries: Retries) -> bool:
    """Run the handler; False when it failed and the message comes back after its retry delay."""
    try:
        app.handler_map[route.handler](event, LambdaContext(route.handler, memory_size=512))
        return True
    except Exception as exc:
        attempt = int(message["Attributes"]["ApproximateReceiveCount"])
        print(f"[events] {route.handler} failed (attempt {attempt} of {retries.attempts}):", file=sys.stderr)
        traceback.print_exc()
        if attempt >= retries.attempts:
            saved = save_failed(retries.failed_dir, route.handler, event, attempt, exc, message["MessageId"])
            print(
                f"[events] {route.handler}: gave up after {attempt} attempts; the event is kept in {saved}."
                f" Deliver it again with: python -m devtools.events --redeliver {saved}",
                file=sys.stderr,
            )
            return True
        aws.client("sqs").change_message_visibility(
            QueueUrl=route.queue_url,
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=retries.delays[attempt - 1],
        )
        return False


def save_failed(
    failed_dir: Path, handler: str, event: dict[str, Any], attempts: int, error: Exception, message_id: str
) -> Path:
    """Keep an event that failed every attempt: ``<failed_dir>/<time>-<handler>-<message>.json``."""
    failed_at = datetime.now(UTC)
    failed_dir.mkdir(parents=True, exist_ok=True)
    path = failed_dir / f"{failed_at:%Y%m%dT%H%M%S}-{handler}-{message_id[:8]}.json"
    record = {
        "handler": handler,
        "event": event,
        "attempts": attempts,
        "error": f"{type(error).__name__}: {error}",
        "failed_at": failed_at.isoformat(),
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def redeliver(app: Chalice, paths: list[Path]) -> int:
    """Invoke each saved event's handler again; a file is removed once its handler succeeds. Returns how many
    still fail."""
    failing = 0
    for path in paths:
        record = json.loads(path.read_text())
        try:
            app.handler_map[record["handler"]](record["event"], LambdaContext(record["handler"], memory_size=512))
        except Exception:
            failing += 1
            print(f"[events] {path}: {record['handler']} failed again; the file is kept", file=sys.stderr)
            traceback.print_exc()
            continue
        path.unlink()
        print(f"[events] {path}: delivered to {record['handler']}")
    return failing


def serve(app: Chalice, stop: threading.Event | None = None, poll_seconds: float = POLL_SECONDS) -> None:
    """Set up delivery for ``app`` and deliver until ``stop`` is set (forever without one)."""
    routes = setup_delivery(app)
    print(f"[events] delivering to {', '.join(sorted(r.handler for r in routes)) or 'no handlers'}")
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            delivered = deliver_pending(app, routes)
        except Exception as exc:  # the emulator restarting or busy: keep going, as Lambda's pollers do
            print(f"[events] polling failed, retrying: {exc}", file=sys.stderr)
            delivered = 0
            stop.wait(1.0)
        if not delivered:
            stop.wait(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.events", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redeliver",
        nargs="*",
        type=Path,
        metavar="FILE",
        help=f"deliver failed events again (default: every file in {FAILED_EVENTS_DIR}) and exit",
    )
    args = parser.parse_args(argv)
    from app import app

    if args.redeliver is not None:
        paths = args.redeliver or sorted(FAILED_EVENTS_DIR.glob("*.json"))
        return 1 if redeliver(app, paths) else 0
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in make run reaches this process group too
        serve(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
