"""What a subscriber of an SNS topic receives, for ``make run`` and the tests: a new SQS queue subscribed to the
topic, and the messages read from it.

``.venv/bin/python -m devtools.inbox`` (while ``make run`` runs) prints each report published on the local
stage's ``REPORT_TOPIC_ARN`` as it arrives; ``--topic EVENTS_TOPIC_ARN`` follows the pipeline events instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from typing import Any

import boto3


def subscribe_queue(topic_arn: str) -> tuple[str, str]:
    """A new SQS queue subscribed to ``topic_arn``: ``(queue_url, subscription_arn)``."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]


def unsubscribe_queue(url: str, subscription_arn: str) -> None:
    boto3.client("sns").unsubscribe(SubscriptionArn=subscription_arn)
    boto3.client("sqs").delete_queue(QueueUrl=url)


def received(queue_url: str) -> list[dict[str, Any]]:
    """Every SNS envelope delivered to the queue so far (each removed from the queue as it is read)."""
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def main() -> int:
    from devtools.run import local_environment

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", default="REPORT_TOPIC_ARN", choices=["REPORT_TOPIC_ARN", "EVENTS_TOPIC_ARN"])
    topic = parser.parse_args().topic
    env = local_environment()
    os.environ.update(env)
    url, subscription = subscribe_queue(env[topic])
    print(f"[inbox] following {env[topic]}; Ctrl-C stops", flush=True)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                for envelope in received(url):
                    print(f"--- {envelope.get('Subject') or topic}\n{envelope['Message']}", flush=True)
                time.sleep(1)
    finally:
        unsubscribe_queue(url, subscription)
    return 0


if __name__ == "__main__":
    sys.exit(main())
