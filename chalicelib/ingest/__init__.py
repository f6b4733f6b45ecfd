"""S3 ingest and copy: objects created in the data bucket are routed here (``events``); CSV uploads under
``raw/<dataset>/`` are validated row by row (``columns`` and ``datasets``) and loaded into MySQL exactly once
(``pipeline``, ``loaders``, ``ledger``); workbooks under ``exports/`` are copied to the archive bucket; ``daily``
summarises a day of ingests for the daily digest."""

from chalicelib.ingest.daily import ingests_between
from chalicelib.ingest.events import handle_object_created

__all__ = ["handle_object_created", "ingests_between"]
