"""The HTTP API on this machine: what ``chalice local --stage local`` serves, with the process's environment
taking precedence over ``.chalice/config.json`` (``chalice local`` overwrites the environment with the stage's
variables, so a port, database or Redis index set by the user would be ignored).

``make run`` starts ``python -m devtools.api --port N`` with the stage's variables overlaid by the user's; tests
serve the app in a thread with :func:`serve_in_thread`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server

STAGE = "local"


def local_server(app: Chalice, host: str, port: int) -> LocalDevServer:
    """A ``chalice local`` server for ``app`` on ``host``:``port`` (the socket is bound here)."""
    config = Config.create(chalice_stage=STAGE, chalice_app=app, app_name=app.app_name)
    return create_local_server(app, config, host, port)


def serve_in_thread(app: Chalice, port: int) -> LocalDevServer:
    """Serve ``app`` on 127.0.0.1:``port`` from a daemon thread; ``shutdown()`` the answer to stop it."""
    server = local_server(app, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, name=f"api-{port}", daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    from app import app

    server = local_server(app, options.host, options.port)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in make run reaches this process group too
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
