"""What an SNS subscriber receives, read back through an SQS queue subscribed to the topic (moto)."""

from __future__ import annotations

import json
import uuid

import boto3


def subscribe_queue(topic_arn: str) -> tuple[str, str]:
    """A new SQS queue subscribed to ``topic_arn``: ``(queue_url, subscription_arn)``; what a subscriber gets."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]


def unsubscribe_queue(url: str, subscription_arn: str) -> None:
    boto3.client("sns").unsubscribe(SubscriptionArn=subscription_arn)
    boto3.client("sqs").delete_queue(QueueUrl=url)


def received(queue_url: str) -> list[dict]:
    """Every SNS envelope delivered to the queue so far (each removed from the queue as it is read)."""
    sqs = boto3.client("sqs")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
