"""Bearer tokens checked as a deployed ``jwt`` stage checks them: against the issuer's keys, fetched over HTTP from a
JWKS endpoint on loopback (the local issuer of ``make run AUTH=jwt``, with its keys in a temporary directory).
What needs no key (the claims' scopes, refused algorithms, garbage) is in ``tests/unit/test_token_claims.py``."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from chalicelib.core.auth import SCOPES
from chalicelib.core.errors import DependencyUnavailable, Unauthenticated
from chalicelib.core.tokens import Identity, TokenVerifier
from devtools import local_auth
from devtools.local_auth import LOCAL_AUDIENCE, LOCAL_ISSUER


@pytest.fixture
def jwks_url(jwks_port: int) -> str:
    return f"http://127.0.0.1:{jwks_port}/.well-known/jwks.json"


@pytest.fixture
def verifier(jwks_url: str) -> TokenVerifier:
    """No cooldown between key set fetches, so that a rotation is seen at once."""
    return TokenVerifier(LOCAL_ISSUER, (LOCAL_AUDIENCE,), jwks_url, refresh_cooldown=0)


def _claims(**overrides: object) -> dict:
    now = int(time.time())
    return {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300, **overrides}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(verifier: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        verifier.verify(token)


@pytest.mark.parametrize("scope", SCOPES)
def test_a_token_signed_by_the_issuer_proves_its_subject_and_scope(verifier, keys, scope):
    token = local_auth.issue_token([scope], subject="alice", directory=keys)

    assert verifier.verify(token) == Identity(subject="alice", scopes=frozenset({scope}))


def test_an_es256_key_is_accepted_too(verifier, keys):
    local_auth.rotate(keys, "ES256")
    token = local_auth.issue_token(["read"], directory=keys)

    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert verifier.verify(token).scopes == {"read"}


def test_an_expired_token_is_refused(verifier, keys):
    _refused(verifier, local_auth.issue_token(["read"], minutes=-1, directory=keys), "expired")


def test_a_token_for_another_audience_is_refused(verifier, keys):
    _refused(verifier, local_auth.sign(_claims(aud="another-api"), keys), "audience")
    _refused(verifier, local_auth.sign(_claims(aud=["another-api", "a-third"]), keys), "audience")


def test_a_cognito_access_token_names_its_audience_in_client_id(verifier, keys):
    claims = _claims(client_id=LOCAL_AUDIENCE, token_use="access", scope="serverless-data-platform/write")
    del claims["aud"]
    assert verifier.verify(local_auth.sign(claims, keys)).scopes == {"write"}
    _refused(verifier, local_auth.sign({**claims, "client_id": "another-client"}, keys), "audience")


def test_a_token_of_another_issuer_is_refused(verifier, keys):
    _refused(verifier, local_auth.sign(_claims(iss="https://issuer.example.com"), keys), "issuer")


def test_a_token_without_subject_or_expiry_is_refused(verifier, keys):
    for missing in ("sub", "exp"):
        claims = _claims()
        del claims[missing]
        _refused(verifier, local_auth.sign(claims, keys), missing)


def test_a_tampered_payload_breaks_the_signature(verifier, keys):
    header, _, signature = local_auth.issue_token(["read"], directory=keys).split(".")
    forged = _b64(json.dumps(_claims(scope="read write operate")).encode())

    _refused(verifier, f"{header}.{forged}.{signature}", "[Ss]ignature")


def test_a_rotated_key_is_fetched_on_its_first_token_and_the_old_key_keeps_working(verifier, keys):
    before = local_auth.issue_token(["read"], directory=keys)
    assert verifier.verify(before).scopes == {"read"}  # the key set is fetched and cached

    new_kid = local_auth.rotate(keys)
    after = local_auth.issue_token(["write"], directory=keys)

    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert verifier.verify(after).scopes == {"write"}  # unknown kid: the key set is fetched again
    assert verifier.verify(before).scopes == {"read"}  # still published


def test_a_key_the_issuer_never_published_is_refused(verifier, keys, tmp_path):
    local_auth.issue_token(["read"], directory=keys)
    stranger = local_auth.issue_token(["read"], directory=tmp_path / "stranger")

    _refused(verifier, stranger, "not signed with one of the issuer's keys")


def test_unknown_kids_do_not_refetch_the_key_set_within_the_cooldown(keys, jwks_url, tmp_path):
    verifier = TokenVerifier(LOCAL_ISSUER, (LOCAL_AUDIENCE,), jwks_url, refresh_cooldown=600)
    assert verifier.verify(local_auth.issue_token(["read"], directory=keys))
    local_auth.rotate(keys)

    _refused(verifier, local_auth.issue_token(["read"], directory=keys), "not signed")  # made-up kids cost no fetch


def test_an_unreachable_key_set_is_a_dependency_outage_not_a_bad_token(keys, jwks_url):
    server_gone = jwks_url.replace(jwks_url.split(":")[2].split("/")[0], "1")  # port 1: nothing listens
    verifier = TokenVerifier(LOCAL_ISSUER, (LOCAL_AUDIENCE,), server_gone, refresh_cooldown=0)

    with pytest.raises(DependencyUnavailable, match="identity provider"):
        verifier.verify(local_auth.issue_token(["read"], directory=keys))
