"""A paid service's side of a tollgate credential, in Python with Debian's packages only.

An agent pays (Spend or Authorize) and hands the service the credential it got back, a short-lived
EdDSA-signed JWT (for a service outside tollgate's catalog: a catalog service's credential is an
HS256 MAC for tollgate's gateway, refused here). The service checks it before doing any work:

1. verify it offline against tollgate's published public keys (the JWKS: ``GET
   /.well-known/jwks.json`` on the HTTP port, or ``GetSigningKeys`` over gRPC), with PyJWT on
   ``cryptography`` (``apt-get install python3-jwt python3-cryptography``): signature, issuer
   ``tollgate``, audience = this service, expiry;
2. redeem it with ``RedeemCredential`` (public: no API key), so it is used once: a second
   redemption is refused ``CREDENTIAL_ALREADY_REDEEMED``, except a retry with the same request id.

Run::

    /usr/bin/python3 verify_credential.py <credential> --service search [--jwks-url URL] [--request-id ID]

with TOLLGATE_ADDRESS (default 127.0.0.1:50051). Prints one JSON object (the verified claims, and
the redemption's) and exits 0; a refused credential prints ``{"refused": <reason>, "message": ...}``
and exits 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from typing import Any

try:
    import jwt
except ImportError as missing:  # pragma: no cover - a setup error, reported plainly
    raise ImportError(
        f"{missing}: apt-get install python3-jwt python3-cryptography, and run Debian's"
        " /usr/bin/python3"
    ) from missing

import grpc

from _stubs import credential_service_pb2, credential_service_pb2_grpc
from errors import TollgateError, error_from_rpc


class CredentialRefused(Exception):
    """A credential this service must not accept, with tollgate's reason for it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def signing_keys(channel: grpc.Channel) -> dict[str, Any]:
    """The JWK Set over gRPC, for a verifier that only reaches tollgate's gRPC port."""
    stub = credential_service_pb2_grpc.CredentialServiceStub(channel)
    try:
        response = stub.GetSigningKeys(credential_service_pb2.GetSigningKeysRequest(), timeout=5)
    except grpc.RpcError as error:
        raise error_from_rpc(error) from error
    return json.loads(response.jwks_json)


def public_key(token: str, jwks: dict[str, Any] | None, jwks_url: str | None) -> Any:
    """The public key the token names (its ``kid``), from the set or fetched from the URL."""
    try:
        if jwt.get_unverified_header(token).get("alg") == "HS256":
            # A credential for a service in tollgate's catalog: a MAC only tollgate's gateway (or
            # RedeemCredential) verifies. No published key does.
            raise CredentialRefused(
                "CREDENTIAL_INVALID",
                "a gateway credential (HS256, for a service in tollgate's catalog): only tollgate's"
                " gateway or RedeemCredential verifies it, not the JWKS",
            )
        if jwks_url is not None:
            # Fetches the set, caches it, and fetches again for a kid it does not know (a rotation).
            return jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in (jwks or {}).get("keys", []):
            if key.get("kid") == kid:
                return jwt.PyJWK(key).key
    except jwt.PyJWTError as error:
        raise CredentialRefused("CREDENTIAL_INVALID", f"no usable signing key: {error}") from error
    raise CredentialRefused("CREDENTIAL_INVALID", "signed by a key tollgate does not publish")


def verify(token: str, service: str, key: Any) -> dict[str, Any]:
    """The token's claims once its signature, issuer, audience and expiry check out."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],  # never "none", never an HMAC keyed with the public key
            issuer="tollgate",
            audience=service,
            options={"require": ["exp", "iat", "aud", "iss", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise CredentialRefused("CREDENTIAL_EXPIRED", "the credential has expired") from error
    except jwt.InvalidAudienceError as error:
        raise CredentialRefused(
            "CREDENTIAL_WRONG_SERVICE", f"the credential is not for service {service!r}"
        ) from error
    except jwt.PyJWTError as error:
        raise CredentialRefused("CREDENTIAL_INVALID", f"the credential is not valid: {error}") from error
    if claims.get("service") != service or claims.get("kind") not in ("charge", "hold"):
        raise CredentialRefused("CREDENTIAL_INVALID", "the credential's claims are not tollgate's")
    return claims


def redeem(channel: grpc.Channel, token: str, service: str, request_id: str) -> dict[str, Any]:
    """Redeems the credential once; a retry with the same ``request_id`` is answered alike."""
    stub = credential_service_pb2_grpc.CredentialServiceStub(channel)
    request = credential_service_pb2.RedeemCredentialRequest(
        credential=token, service=service, request_id=request_id
    )
    try:
        response = stub.RedeemCredential(request, timeout=5)
    except grpc.RpcError as error:
        failure = error_from_rpc(error)
        if failure.reason.startswith("CREDENTIAL_") or failure.reason == "AGENT_KEY_REVOKED":
            raise CredentialRefused(failure.reason, str(failure)) from error
        raise failure from error
    claims = response.claims
    return {
        "kind": claims.kind,
        "id": claims.id,
        "project": claims.project,
        "walletId": claims.wallet_id,
        "service": claims.service,
        "amount": claims.amount,
        "agentKeyId": claims.agent_key_id or None,
        "replayed": response.replayed,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("credential")
    parser.add_argument("--service", required=True, help="this service: the credential's audience")
    parser.add_argument("--jwks-url", help="e.g. http://127.0.0.1:8080/.well-known/jwks.json")
    parser.add_argument("--request-id", help="this redemption's id (default: a new UUID)")
    parser.add_argument("--no-redeem", action="store_true", help="verify only")
    args = parser.parse_args(argv)
    address = os.environ.get("TOLLGATE_ADDRESS") or "127.0.0.1:50051"
    with grpc.insecure_channel(address) as channel:
        try:
            jwks = None if args.jwks_url else signing_keys(channel)
            claims = verify(args.credential, args.service, public_key(args.credential, jwks, args.jwks_url))
            out: dict[str, Any] = {"verified": claims}
            if not args.no_redeem:
                out["redeemed"] = redeem(
                    channel, args.credential, args.service, args.request_id or str(uuid.uuid4())
                )
        except CredentialRefused as refused:
            print(json.dumps({"refused": refused.reason, "message": str(refused)}))
            return 3
        except TollgateError as error:
            print(f"verify_credential.py: {error}", file=sys.stderr)
            return 1
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
