"""What the emulated SES accepted, read from the emulator's own state: the tests' moto server runs in this process
(``aws_endpoint``). Reading its whole state over ``/moto-api/data.json`` instead fails (500) once another test
left a model it cannot serialise, so the result would depend on which tests ran before."""

from __future__ import annotations

import email
import os
from email.message import Message


def sent_emails(sender: str | None = None) -> list[Message]:
    """Every raw email SES accepted in the emulator's default account and this process's region, parsed; only
    those from ``sender`` when given."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import RawMessage, ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    raw = [message.raw_data for message in backend.sent_messages if isinstance(message, RawMessage)]
    parsed = [email.message_from_string(data) for data in raw]
    return [message for message in parsed if sender is None or message["From"] == sender]
