"""The local platform's token issuer: a key pair under ``.local/jwt/`` (git-ignored), its JWKS served on loopback,
and tokens for any scope, so that ``make run AUTH=jwt`` checks tokens exactly as a deployed ``jwt`` stage does.

    make token SCOPE=read             # a token for the read scope (SCOPE="read write" for several)
    .venv/bin/python -m devtools.local_auth rotate   # a new signing key; the old one stays published

The newest key signs; every key in the directory is published, as an issuer does while it rotates.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devtools.stage import PROJECT_DIR

KEY_DIR = PROJECT_DIR / ".local" / "jwt"
LOCAL_ISSUER = "serverless-data-platform-local"
LOCAL_AUDIENCE = "serverless-data-platform-local-api"
TOKEN_MINUTES = 60


def rotate(directory: Path = KEY_DIR, algorithm: str = "RS256") -> str:
    """Create a new signing key (RS256: RSA 2048, ES256: P-256) and return its ``kid``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm == "RS256":
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"algorithm must be RS256 or ES256, got {algorithm!r}")
    directory.mkdir(parents=True, exist_ok=True)
    kid = f"{time.time_ns():020d}-{algorithm}-{uuid.uuid4().hex[:8]}"  # names sort by age
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = directory / f"{kid}.pem"
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return kid


def _keys(directory: Path) -> list[tuple[str, Any]]:
    """Every ``(kid, private key)`` of the directory, oldest first; one is created when there is none."""
    from cryptography.hazmat.primitives import serialization

    paths = sorted(directory.glob("*.pem")) if directory.is_dir() else []
    if not paths:
        rotate(directory)
        paths = sorted(directory.glob("*.pem"))
    return [(path.stem, serialization.load_pem_private_key(path.read_bytes(), password=None)) for path in paths]


def _algorithm(kid: str) -> str:
    return kid.split("-")[1]


def jwks(directory: Path = KEY_DIR) -> dict[str, list[dict[str, Any]]]:
    """The public keys, as an issuer publishes them at its ``jwks_uri``."""
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    published = []
    for kid, key in _keys(directory):
        algorithm = _algorithm(kid)
        codec = RSAAlgorithm if algorithm == "RS256" else ECAlgorithm
        jwk = codec.to_jwk(key.public_key(), as_dict=True)
        published.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
    return {"keys": published}


def sign(claims: dict[str, Any], directory: Path = KEY_DIR) -> str:
    """``claims`` signed with the newest key, its ``kid`` in the header."""
    import jwt

    kid, key = _keys(directory)[-1]
    return jwt.encode(claims, key, algorithm=_algorithm(kid), headers={"kid": kid})


def issue_token(
    scopes: Iterable[str], subject: str = "local-user", minutes: float = TOKEN_MINUTES, directory: Path = KEY_DIR
) -> str:
    """A token of the local issuer for the local API granting ``scopes`` (OAuth ``scope`` claim)."""
    now = int(time.time())
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + int(minutes * 60),
    }
    return sign(claims, directory)


def local_auth_environment(jwks_port: int) -> dict[str, str]:
    """The settings that turn the app's token check on against this issuer."""
    return {
        "AUTH_MODE": "jwt",
        "JWT_ISSUER": LOCAL_ISSUER,
        "JWT_AUDIENCE": LOCAL_AUDIENCE,
        "JWT_JWKS_URL": f"http://127.0.0.1:{jwks_port}/.well-known/jwks.json",
    }


def serve_jwks(port: int, directory: Path = KEY_DIR) -> ThreadingHTTPServer:
    """Serve ``directory``'s JWKS on ``127.0.0.1:port`` from a daemon thread (read afresh on each request, so a
    rotation shows at once); ``server.shutdown()`` stops it. Port 0 picks a free one (``server.server_port``)."""

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(jwks(directory)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per key fetch would drown the API's log

    server = ThreadingHTTPServer(("127.0.0.1", port), Jwks)
    threading.Thread(target=server.serve_forever, name="jwks", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local token issuer (make run AUTH=jwt)")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a token for the local API")
    token.add_argument("scopes", nargs="+", help="read, write, ingest, operate (several allowed)")
    token.add_argument("--subject", default="local-user")
    token.add_argument("--minutes", type=float, default=TOKEN_MINUTES)
    commands.add_parser("rotate", help="add a new signing key; tokens signed with the old one stay valid")
    args = parser.parse_args(argv)
    if args.command == "rotate":
        print(rotate())
    else:
        print(issue_token(args.scopes, args.subject, args.minutes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
