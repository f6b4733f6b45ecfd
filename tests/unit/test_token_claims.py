"""What a bearer token is judged on before any key is fetched: its algorithm (``none`` and HS256 refused, so the
issuer's keys are never even looked up: this tier refuses every connection) and the scopes its claims grant.
Signatures, expiry, issuer, audience and key rotation: ``tests/integration/platform/test_token_verification.py``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib.core.errors import Unauthenticated
from chalicelib.core.tokens import TokenVerifier, scopes_of
from devtools import local_auth
from devtools.local_auth import LOCAL_AUDIENCE, LOCAL_ISSUER

CLAIMS = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": "mallory", "exp": int(time.time()) + 300, "scope": "write"}


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(LOCAL_ISSUER, (LOCAL_AUDIENCE,), "https://issuer.invalid/.well-known/jwks.json")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_scopes_come_from_the_scope_or_scp_claim_or_the_cognito_groups():
    assert scopes_of({"scope": "serverless-data-platform/read serverless-data-platform/operate"}) == {"read", "operate"}
    assert scopes_of({"scp": ["write", "ingest"]}) == {"write", "ingest"}
    assert scopes_of({"cognito:groups": ["read"], "scope": "openid"}) == {"read", "openid"}
    assert scopes_of({"scope": "another-api/write"}) == {"another-api/write"}  # no scope of ours
    assert scopes_of({"scope": 7, "scp": [None, "read"]}) == {"read"}
    assert scopes_of({}) == frozenset()


def test_an_unsigned_token_is_refused(verifier):
    unsigned = jwt.encode(CLAIMS, None, algorithm="none")

    with pytest.raises(Unauthenticated, match="algorithm 'none' is not accepted"):
        verifier.verify(unsigned)


def test_an_hmac_signed_with_the_issuers_public_key_is_refused(verifier, tmp_path: Path):
    """The key confusion attack: the public key is public, so an HS256 "signature" made with it proves nothing."""
    (published,) = local_auth.jwks(tmp_path)["keys"]
    public_pem = jwt.PyJWK.from_dict(published).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": published["kid"]}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(CLAIMS).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(Unauthenticated, match="algorithm 'HS256' is not accepted"):
        verifier.verify(f"{signing_input}.{_b64(signature)}")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", ""])
def test_garbage_is_not_a_token(verifier, token):
    with pytest.raises(Unauthenticated, match="not a JWT"):
        verifier.verify(token)
