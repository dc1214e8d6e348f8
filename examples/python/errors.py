"""Typed errors of the tollgate Python client, decoded from a failed call's google.rpc.Status.

Every refusal raises a :class:`TollgateError` subclass chosen by the ErrorInfo reason in the
``grpc-status-details-bin`` trailer (or, without one, by the gRPC code), carrying that ErrorInfo's
metadata, e.g. :class:`InsufficientCreditsError` with ``requested`` and ``available``.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from _stubs import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"
_ERROR_INFO = error_details_pb2.ErrorInfo


class TollgateError(Exception):
    """A failed call: the gRPC code, the ErrorInfo reason ("" if none came) and its metadata."""

    def __init__(
        self, code: grpc.StatusCode, message: str, reason: str, metadata: Mapping[str, str]
    ) -> None:
        super().__init__(f"{reason or code.name}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata)


class InvalidArgumentError(TollgateError):
    """A request field is out of its limits; ``metadata["field"]`` names it."""


class IdempotencyKeyReusedError(InvalidArgumentError):
    """A request id was reused with different parameters."""


class NotFoundError(TollgateError):
    """The wallet or hold does not exist, or belongs to another project."""


class InsufficientCreditsError(TollgateError):
    """A hard cap (or the parent's available credits, for a child) refused the amount."""

    @property
    def wallet_id(self) -> str:
        """The wallet that lacked credits (the parent, for a carve-out)."""
        return self.metadata.get("wallet_id", "")

    @property
    def requested(self) -> int:
        """Credits the call asked for."""
        return int(self.metadata["requested"])

    @property
    def available(self) -> int:
        """Credits the wallet had available."""
        return int(self.metadata["available"])


class WalletClosedError(TollgateError):
    """The wallet (or an ancestor) is closed."""


class UnauthenticatedError(TollgateError):
    """The API key is missing or wrong."""


class UnavailableError(TollgateError):
    """The server or its store could not be reached (after the client's retries)."""


class LimitExceededError(TollgateError):
    """A per-tree limit (open holds, children, breakdown names) would be passed; nothing changed."""

    @property
    def limit(self) -> int:
        """The configured limit that was reached."""
        return int(self.metadata["limit"])


class EventsExpiredError(TollgateError):
    """An event cursor points before the oldest event its tree still retains (OUT_OF_RANGE,
    ``EVENTS_EXPIRED``): resuming from it would skip events, so the server refuses. Start again
    from ``list_events()`` (the oldest retained) or from now (``watch()`` without ``after``)."""

    @property
    def root_id(self) -> str:
        """The tree whose events were dropped."""
        return self.metadata.get("root_id", "")

    @property
    def oldest_sequence(self) -> int:
        """The sequence of the oldest event the tree still has (0 if the server sent none)."""
        return int(self.metadata.get("oldest_sequence") or 0)


_BY_REASON: dict[str, type[TollgateError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "IDEMPOTENCY_KEY_REUSED": IdempotencyKeyReusedError,
    "WALLET_NOT_FOUND": NotFoundError,
    "HOLD_NOT_FOUND": NotFoundError,
    "INSUFFICIENT_CREDITS": InsufficientCreditsError,
    "WALLET_CLOSED": WalletClosedError,
    "UNAUTHENTICATED": UnauthenticatedError,
    "STORE_UNAVAILABLE": UnavailableError,
    "TOO_MANY_OPEN_HOLDS": LimitExceededError,
    "TOO_MANY_CHILDREN": LimitExceededError,
    "TOO_MANY_BREAKDOWN_KEYS": LimitExceededError,
    "EVENTS_EXPIRED": EventsExpiredError,
}
# Errors with no ErrorInfo (a proxy's refusal, a connection that never opened) go by code.
_BY_CODE: dict[grpc.StatusCode, type[TollgateError]] = {
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}


def error_from_rpc(error: grpc.RpcError) -> TollgateError:
    """Turns a failed call into its typed error, reading ErrorInfo from the status trailer."""
    code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
    message: str = error.details() or ""  # type: ignore[attr-defined]
    info = _ERROR_INFO()
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == _DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(_ERROR_INFO.DESCRIPTOR):
                    detail.Unpack(info)
    cls = _BY_REASON.get(info.reason) or _BY_CODE.get(code, TollgateError)
    return cls(code, message, info.reason, info.metadata)
