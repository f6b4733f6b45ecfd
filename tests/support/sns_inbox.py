"""What an SNS subscriber receives, read back through an SQS queue subscribed to the topic (moto): the helpers of
``devtools.inbox``, which ``.venv/bin/python -m devtools.inbox`` uses against ``make run``."""

from devtools.inbox import received, subscribe_queue, unsubscribe_queue

__all__ = ["received", "subscribe_queue", "unsubscribe_queue"]
