"""A small Python client for tollgate, over stubs generated from proto/ (see generate.sh).

The shape follows the reference workflow::

    client = Tollgate("127.0.0.1:50051", api_key="...")
    task = client.wallets.create(name="task", budget=1000, hard_cap=True)
    researcher = task.create_child(name="researcher", budget=400)
    charge = researcher.spend(45, service="web_search")   # charge.credential goes to the tool
    task.get_receipt().total_credits                       # 45

Refusals raise a :class:`TollgateError` subclass decoded from the google.rpc.Status in the
``grpc-status-details-bin`` trailer, e.g. :class:`InsufficientCreditsError` with ``requested``
and ``available``.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import grpc
except ImportError as missing:  # pragma: no cover - a setup error, reported plainly
    raise ImportError(
        f"{missing}: apt-get install python3-grpcio python3-protobuf, and run Debian's"
        " /usr/bin/python3 (another python3 first on PATH does not see those packages)"
    ) from missing

# The generated modules are not committed (generate.sh says why): find them in TOLLGATE_PYTHON_GEN
# or in gen/ next to this file, so scripts run without a PYTHONPATH.
sys.path.insert(0, os.environ.get("TOLLGATE_PYTHON_GEN") or str(Path(__file__).parent / "gen"))
try:
    from google.rpc import error_details_pb2, status_pb2
    from tollgate.v1 import receipt_service_pb2, receipt_service_pb2_grpc, wallet_pb2
    from tollgate.v1 import wallet_service_pb2, wallet_service_pb2_grpc
except ImportError as missing:  # pragma: no cover - a setup error, reported plainly
    raise ImportError(f"{missing}: run examples/python/generate.sh first") from missing

Receipt = receipt_service_pb2.Receipt
"""The generated tollgate.v1.Receipt: ``total_credits``, ``call_count``, ``by_service``, ..."""

WalletState = wallet_pb2.Wallet
"""The generated tollgate.v1.Wallet: ``budget``, ``available``, ``spent``, ``exhausted``, ..."""

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


_BY_REASON: dict[str, type[TollgateError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "IDEMPOTENCY_KEY_REUSED": IdempotencyKeyReusedError,
    "WALLET_NOT_FOUND": NotFoundError,
    "HOLD_NOT_FOUND": NotFoundError,
    "INSUFFICIENT_CREDITS": InsufficientCreditsError,
    "WALLET_CLOSED": WalletClosedError,
    "UNAUTHENTICATED": UnauthenticatedError,
    "STORE_UNAVAILABLE": UnavailableError,
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


@dataclass(frozen=True)
class Charge:
    """One debit: its receipt line, what is left, and the credential for the paid tool."""

    id: str
    wallet_id: str
    amount: int
    service: str
    request_id: str
    remaining: int
    credential: str
    credential_expires_at: datetime


class Tollgate:
    """A connection to a tollgate server (plaintext gRPC; put TLS in front as the server does)."""

    # Retried with the same request (so the same request_id): the server answers a repeated id
    # from its idempotency record, so a call that did land is never charged twice.
    _RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

    def __init__(
        self,
        address: str = "127.0.0.1:50051",
        api_key: str | None = None,
        *,
        timeout_s: float = 10.0,
        attempts: int = 3,
        interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = (),
    ) -> None:
        self._channel = grpc.intercept_channel(grpc.insecure_channel(address), *interceptors)
        self._wallet_stub = wallet_service_pb2_grpc.WalletServiceStub(self._channel)
        self._receipt_stub = receipt_service_pb2_grpc.ReceiptServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout_s = timeout_s
        self._attempts = attempts
        self.wallets = Wallets(self)

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> Tollgate:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                return method(request, metadata=self._metadata, timeout=self._timeout_s)
            except grpc.RpcError as error:
                code = error.code()  # type: ignore[attr-defined]
                if code not in self._RETRYABLE or attempt == self._attempts:
                    raise error_from_rpc(error) from None
                time.sleep(0.1 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


class Wallets:
    """``client.wallets``: creates root wallets and opens existing ones."""

    def __init__(self, client: Tollgate) -> None:
        self._client = client

    def create(
        self,
        name: str = "",
        budget: int = 0,
        hard_cap: bool | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        parent_id: str = "",
        request_id: str | None = None,
    ) -> Wallet:
        """Creates a root wallet (or a child of ``parent_id``). ``hard_cap`` defaults to True."""
        request = wallet_service_pb2.CreateWalletRequest(
            parent_id=parent_id,
            name=name,
            budget=budget,
            hard_cap=hard_cap,
            metadata=metadata or {},
            request_id=request_id or str(uuid.uuid4()),
        )
        reply = self._client._call(self._client._wallet_stub.CreateWallet, request)
        return Wallet(self._client, reply.wallet.id, reply.wallet.name)

    def get(self, wallet_id: str) -> Wallet:
        """A handle on an existing wallet (fails with NotFoundError if there is none)."""
        request = wallet_service_pb2.GetWalletRequest(wallet_id=wallet_id)
        state = self._client._call(self._client._wallet_stub.GetWallet, request).wallet
        return Wallet(self._client, state.id, state.name)


class Wallet:
    """A handle on one wallet. Balances are never cached: :meth:`balance` reads them afresh."""

    def __init__(self, client: Tollgate, wallet_id: str, name: str) -> None:
        self._client = client
        self.id = wallet_id
        self.name = name

    def __repr__(self) -> str:
        return f"Wallet({self.name!r}, id={self.id!r})"

    def spend(
        self,
        amount: int,
        service: str,
        metadata: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
    ) -> Charge:
        """Debits ``amount`` before the tool runs; past a hard cap, InsufficientCreditsError."""
        request = wallet_service_pb2.SpendRequest(
            wallet_id=self.id,
            amount=amount,
            service=service,
            metadata=metadata or {},
            request_id=request_id or str(uuid.uuid4()),
        )
        reply = self._client._call(self._client._wallet_stub.Spend, request)
        return Charge(
            id=reply.charge.id,
            wallet_id=reply.charge.wallet_id,
            amount=reply.charge.amount,
            service=reply.charge.service,
            request_id=reply.charge.request_id,
            remaining=reply.remaining,
            credential=reply.credential,
            credential_expires_at=reply.credential_expires_at.ToDatetime(tzinfo=timezone.utc),
        )

    def create_child(
        self,
        name: str,
        budget: int,
        metadata: Mapping[str, str] | None = None,
        hard_cap: bool | None = None,
        *,
        request_id: str | None = None,
    ) -> Wallet:
        """Carves a child wallet out of this one's available credits."""
        return self._client.wallets.create(
            name, budget, hard_cap, metadata, parent_id=self.id, request_id=request_id
        )

    def add_credits(
        self,
        amount: int,
        metadata: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
    ) -> WalletState:
        """Tops up a root, or draws ``amount`` from the parent for a child; returns the balances."""
        request = wallet_service_pb2.AddCreditsRequest(
            wallet_id=self.id,
            amount=amount,
            metadata=metadata or {},
            request_id=request_id or str(uuid.uuid4()),
        )
        return self._client._call(self._client._wallet_stub.AddCredits, request).wallet

    def close(self, *, request_id: str | None = None) -> int:
        """Closes this wallet and its subtree; returns the credits given back to the parent."""
        request = wallet_service_pb2.CloseWalletRequest(
            wallet_id=self.id, request_id=request_id or str(uuid.uuid4())
        )
        return self._client._call(self._client._wallet_stub.CloseWallet, request).returned

    def balance(self) -> WalletState:
        """The wallet as it is now: ``budget``, ``available``, ``spent``, ``total_spent``, ..."""
        request = wallet_service_pb2.GetWalletRequest(wallet_id=self.id)
        return self._client._call(self._client._wallet_stub.GetWallet, request).wallet

    def is_exhausted(self) -> bool:
        """True when nothing in this wallet's subtree can spend any more."""
        return self.balance().exhausted

    def get_receipt(self) -> Receipt:
        """Totals for this wallet and its subtree (``total_credits``, ``call_count``, ...)."""
        request = receipt_service_pb2.GetReceiptRequest(wallet_id=self.id)
        return self._client._call(self._client._receipt_stub.GetReceipt, request).receipt
