"""The same analyses over every named database of ``ANALYSIS_SOURCES`` (``POST /analysis`` and the daily
schedule), results as JSON under ``analysis/<source>/`` in the data bucket, read back by ``readback``."""

from chalicelib.analysis.readback import history, ingest_analysis, latest
from chalicelib.analysis.sources import analyse_request, run_analyses, runs_between

__all__ = ["analyse_request", "history", "ingest_analysis", "latest", "run_analyses", "runs_between"]
