"""S3 ingest and copy: objects created in the data bucket are routed here (``events``); CSV uploads under
``raw/<dataset>/`` are validated row by row (``columns`` and ``datasets``) and loaded into MySQL exactly once
(``pipeline``, ``loaders``, ``ledger``); workbooks under ``exports/`` are copied to the archive bucket; ``daily``
summarises a day of ingests for the daily digest. What an upload became is read back through ``readback``;
``uploads`` hands out links to upload without AWS credentials."""

from chalicelib.ingest.daily import ingests_between
from chalicelib.ingest.events import handle_s3_event
from chalicelib.ingest.readback import STATUSES, find_ingest, get_ingest, list_ingests, rejected_rows
from chalicelib.ingest.uploads import upload_link_for_request

__all__ = [
    "STATUSES",
    "find_ingest",
    "get_ingest",
    "handle_s3_event",
    "ingests_between",
    "list_ingests",
    "rejected_rows",
    "upload_link_for_request",
]
