"""The local event delivery of ``make run`` (devtools/events.py) retries a failing handler with a backoff, as
Lambda retries an asynchronous invocation, and keeps what still fails where a user sees it: a file per event
under the failed-events directory, a log line saying how to deliver it again, and ``--redeliver`` doing so."""

from __future__ import annotations

import json
import time
import uuid

import boto3
from chalice import Chalice

from devtools import events

NO_WAIT = (0, 0)  # the retry delays of these tests: three attempts, none waiting minutes


def recorder_app(failures: int) -> tuple[Chalice, list[str], str]:
    """An app whose SNS handler fails its first ``failures`` calls; answers it, the messages it was called with
    and the topic to publish to."""
    topic = boto3.client("sns").create_topic(Name=f"local-delivery-test-{uuid.uuid4().hex[:8]}")["TopicArn"]
    app, calls = Chalice(app_name="recorder"), []

    def flaky(event) -> None:
        calls.append(event.message)
        if len(calls) <= failures:
            raise RuntimeError(f"handler down (call {len(calls)})")

    flaky.__name__ = f"flaky_{uuid.uuid4().hex[:8]}"  # a queue of its own
    app.on_sns_message(topic=topic)(flaky)
    return app, calls, topic


def deliver_until_idle(app: Chalice, routes, retries: events.Retries, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events.deliver_pending(app, routes, retries)
        queue = routes[0].queue_url
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if not any(int(v) for v in attributes.values()):
            return
        time.sleep(0.05)


def test_a_handler_that_recovers_within_its_retries_gets_the_event_and_nothing_is_kept(platform, tmp_path):
    app, calls, topic = recorder_app(failures=2)
    routes = events.setup_delivery(app)
    boto3.client("sns").publish(TopicArn=topic, Message="hello")

    deliver_until_idle(app, routes, events.Retries(NO_WAIT, tmp_path))

    assert calls == ["hello"] * 3
    assert list(tmp_path.iterdir()) == []


def test_an_event_that_fails_every_attempt_is_kept_with_how_to_redeliver_it(platform, tmp_path, capsys):
    app, calls, topic = recorder_app(failures=3)
    routes = events.setup_delivery(app)
    boto3.client("sns").publish(TopicArn=topic, Message="hello")

    deliver_until_idle(app, routes, events.Retries(NO_WAIT, tmp_path))

    assert calls == ["hello"] * 3
    [kept] = tmp_path.iterdir()
    record = json.loads(kept.read_text())
    assert record["handler"] == routes[0].handler and record["attempts"] == 3
    assert record["error"] == "RuntimeError: handler down (call 3)"
    assert record["event"]["Records"][0]["Sns"]["Message"] == "hello"
    assert f"Deliver it again with: python -m devtools.events --redeliver {kept}" in capsys.readouterr().err

    assert events.redeliver(app, [kept]) == 0  # the handler works again
    assert calls == ["hello"] * 4
    assert not kept.exists()


def test_the_default_retries_back_off_over_minutes_as_lambda_does():
    retries = events.Retries()
    assert retries.attempts >= 3
    assert retries.delays[0] >= 60 and list(retries.delays) == sorted(retries.delays)
    assert 10 * 60 <= sum(retries.delays) <= 60 * 60  # an outage of minutes is ridden out; the retries end
    assert retries.failed_dir.parts[-2:] == (".local", "failed-events")
