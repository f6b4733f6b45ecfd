"""Operations: what the people who run the pipeline are told (the daily digest)."""

from chalicelib.operations.digest import send_daily_digest

__all__ = ["send_daily_digest"]
