"""Where the objects that set work off live in ``DATA_BUCKET``: the S3 notifications subscribe to exactly these
(``app.py``) and the routing of a created object (:mod:`chalicelib.ingest.events`) reads the same names, so the
platform's own outputs (``processed/``, ``rejected/``, ``manifests/``, ``analysis/``) never invoke a function."""

from __future__ import annotations

UPLOADS_PREFIX = "raw/"  # CSV uploads, raw/<dataset>/<path>.csv, ingested
EXPORTS_PREFIX = "exports/"  # workbooks the platform writes, copied to ARCHIVE_BUCKET
EXPORTS_SUFFIX = ".xlsx"  # S3 filters are case-sensitive: the exports are written with this exact suffix
