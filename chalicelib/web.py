"""The HTTP edge: domain exceptions become ``{"Code", "Message"}`` responses here, once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from chalicelib.errors import PlatformError


def error_response(error: PlatformError) -> Response:
    headers = {"Retry-After": "5"} if error.status == 503 else {}
    return Response(body={"Code": error.code, "Message": str(error)}, status_code=error.status, headers=headers)


def json_route(app: Chalice, path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``app.route`` whose view may raise :class:`PlatformError`; it answers that error's status and body."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except PlatformError as error:
                return error_response(error)

        return app.route(path, **options)(guarded)

    return register
