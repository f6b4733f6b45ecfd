"""Bearer JWTs verified against the issuer's published keys (JWKS): signature, expiry, issuer, audience.

Only RS256 and ES256 are accepted, whatever the token's header says: ``none`` and HS256 (an HMAC "signed" with the
issuer's *public* key, the classic confusion attack) are refused before any key is looked at. The key set is
fetched on the first token a warm function sees and kept for :data:`JWKS_MAX_AGE_SECONDS`; a token signed with a
``kid`` the cached set lacks (the issuer rotated its keys) fetches the set again, at most once per cooldown, so
made-up ``kid`` values cannot turn every request into a fetch. PyJWT and cryptography are imported on the first
token verified, never on the cold-start path of an app that does not check tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import DependencyUnavailable, Unauthenticated

if TYPE_CHECKING:
    import jwt

ALGORITHMS = ("RS256", "ES256")
JWKS_MAX_AGE_SECONDS = 300
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0
JWKS_TIMEOUT_SECONDS = 3.0  # far below API Gateway's 29 s
CLOCK_SKEW_SECONDS = 5
# Cognito names a resource server's scopes "<identifier>/<scope>"; the identifier of infra/platform.yaml's server
SCOPE_NAMESPACE = "serverless-data-platform"


@dataclass(frozen=True)
class Identity:
    """A verified caller: the token's subject and the scopes it grants."""

    subject: str
    scopes: frozenset[str]


def _names(claim: object) -> set[str]:
    """A claim holding names: a space-separated string (``scope``) or a list (``scp``, ``cognito:groups``)."""
    if isinstance(claim, str):
        return set(claim.split())
    if isinstance(claim, list):
        return {item for item in claim if isinstance(item, str)}
    return set()


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """The scopes a token grants: its ``scope`` or ``scp`` claim (OAuth) and its ``cognito:groups`` (people in a
    user pool group named after a scope), with Cognito's resource-server prefix removed."""
    granted = _names(claims.get("scope")) | _names(claims.get("scp")) | _names(claims.get("cognito:groups"))
    return frozenset(name.removeprefix(f"{SCOPE_NAMESPACE}/") for name in granted)


class TokenVerifier:
    """Verifies the tokens of one issuer for one API (any of ``audiences``)."""

    def __init__(
        self,
        issuer: str,
        audiences: tuple[str, ...],
        jwks_url: str,
        refresh_cooldown: float = JWKS_REFRESH_COOLDOWN_SECONDS,
    ) -> None:
        import jwt

        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self._keys = jwt.PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=JWKS_MAX_AGE_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=refresh_cooldown,
        )

    def verify(self, token: str) -> Identity:
        """The caller the token proves, or :class:`Unauthenticated` saying what is wrong with it; the issuer's keys
        unreachable is :class:`DependencyUnavailable` (the token may be fine)."""
        import jwt

        self._check_algorithm(token)
        key = self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(ALGORITHMS),
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token was not issued by this API's issuer") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid: {_reason(exc)}") from None
        self._check_audience(claims)
        return Identity(subject=str(claims["sub"]), scopes=scopes_of(claims))

    @staticmethod
    def _check_algorithm(token: str) -> None:
        import jwt

        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        if algorithm not in ALGORITHMS:
            raise Unauthenticated(f"token algorithm {algorithm!r} is not accepted (only {', '.join(ALGORITHMS)})")

    def _signing_key(self, token: str) -> jwt.PyJWK:
        import jwt

        try:
            return self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise DependencyUnavailable("identity provider", str(exc)) from exc  # its keys: the detail is logged
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not signed with one of the issuer's keys") from None

    def _check_audience(self, claims: dict[str, Any]) -> None:
        """``aud`` must name this API; Cognito's access tokens have no ``aud`` but the app client's ``client_id``."""
        audience = claims.get("aud", claims.get("client_id"))
        named = _names(audience) if isinstance(audience, list) else {audience}
        if not named & self.audiences:
            raise Unauthenticated("the token is not meant for this API (audience)")


def _reason(error: Exception) -> str:
    """PyJWT's own message (it names the failed check, never the token's content)."""
    return str(error).rstrip(".") or type(error).__name__


@lru_cache(maxsize=4)
def verifier_for(issuer: str, audiences: tuple[str, ...], jwks_url: str) -> TokenVerifier:
    """The verifier of the stage's issuer, kept across warm invocations with its cached key set."""
    return TokenVerifier(issuer, audiences, jwks_url)
