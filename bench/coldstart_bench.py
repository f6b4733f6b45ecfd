"""A new process's first request: ``import app``, then ``GET /heroes/<--hero-id>`` through the Lambda handler, a
cache miss (it imports redis and PyMySQL, opens both connections, reads MySQL, fills the cache), then the same
request warm (a hit). Prints the three times as JSON."""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.common import emit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hero-id", type=int, required=True, help="a hero no earlier request has read")
    hero = str(parser.parse_args().hero_id)
    sys.stdout = open(os.devnull, "w")  # the app's JSON log lines  # noqa: SIM115
    started = time.perf_counter()
    from app import app

    imported = time.perf_counter()
    from chalice.local import LambdaContext

    from bench.heroes_bench import http_event

    event = http_event("GET", "/heroes/{hero_id}", f"/heroes/{hero}", {"hero_id": hero}, None)
    context = LambdaContext("api_handler", 512)
    before = time.perf_counter()
    first = app(event, context)
    after = time.perf_counter()
    app(event, context)
    warm = time.perf_counter() - after
    if first["statusCode"] != 200:
        raise SystemExit(f"first request answered {first['statusCode']}: {first['body']}")
    emit({"import_seconds": imported - started, "first_request_seconds": after - before,
          "warm_request_seconds": warm, "x_cache": first["headers"].get("X-Cache")})  # fmt: skip


if __name__ == "__main__":
    main()
