"""Run the daily sales report from a shell: the same code as the schedule and ``POST /reports/sales``.

    .venv/bin/python -m devtools.sales_report --date 2020-06-20        # against `make run`'s local stage
    .venv/bin/python -m devtools.sales_report                          # today in REPORT_TIMEZONE

It aggregates the day, uploads ``exports/sales/<date>.xlsx`` to ``DATA_BUCKET``, publishes the text to
``REPORT_TOPIC_ARN``, then prints the text and the JSON summary. Settings already in the environment win over
the stage's (``--stage``, default ``local``); for the local stage boto3 is pointed at the emulator on
``AWS_PORT`` (default 5000) unless ``AWS_ENDPOINT_URL`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from chalicelib.core.errors import PlatformError
from chalicelib.reporting import sales
from devtools.local_aws import emulator_environment
from devtools.stage import stage_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.sales_report", description=__doc__.splitlines()[0])
    parser.add_argument("--date", help="the report day, YYYY-MM-DD (default: today in REPORT_TIMEZONE)")
    parser.add_argument("--stage", default="local", help="the stage whose settings to use (default: local)")
    args = parser.parse_args(argv)
    defaults = stage_environment(args.stage)
    if args.stage == "local":
        defaults.update(emulator_environment(int(os.environ.get("AWS_PORT", "5000"))))
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    body = json.dumps({"date": args.date} if args.date else {})
    try:
        result = sales.report_for_request(body)
    except PlatformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.pop("message"))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
