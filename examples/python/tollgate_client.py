"""A small Python client for tollgate, over stubs generated from proto/ (see generate.sh).

The shape follows the reference workflow::

    client = Tollgate("127.0.0.1:50051", api_key="...")
    task = client.wallets.create(name="task", budget=1000, hard_cap=True)
    researcher = task.create_child(name="researcher", budget=400)
    charge = researcher.spend(45, service="web_search")   # charge.credential goes to the tool
    task.get_receipt().total_credits                       # 45

    hold = researcher.authorize(30, service="llm")       # reserve before an uncertain call...
    researcher.capture(hold.id, 30)                        # ...then post it, or release it:
    researcher.void(other_hold.id)                         # nothing charged

Refusals raise a :class:`TollgateError` subclass (errors.py) decoded from the google.rpc.Status in
the ``grpc-status-details-bin`` trailer, e.g. :class:`InsufficientCreditsError` with ``requested``
and ``available``. Every mutation gets a request id once, so the client's retries of it reuse it
and the server answers a repeat from its idempotency record instead of charging twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import grpc

from _stubs import receipt_service_pb2, receipt_service_pb2_grpc, wallet_pb2
from _stubs import wallet_service_pb2, wallet_service_pb2_grpc
from errors import (
    IdempotencyKeyReusedError,
    InsufficientCreditsError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    TollgateError,
    UnauthenticatedError,
    UnavailableError,
    WalletClosedError,
    error_from_rpc,
)

__all__ = [
    "Charge",
    "Hold",
    "IdempotencyKeyReusedError",
    "InsufficientCreditsError",
    "InvalidArgumentError",
    "LimitExceededError",
    "NotFoundError",
    "Receipt",
    "Tollgate",
    "TollgateError",
    "UnauthenticatedError",
    "UnavailableError",
    "Wallet",
    "WalletClosedError",
    "WalletState",
    "Wallets",
]

Receipt = receipt_service_pb2.Receipt
"""The generated tollgate.v1.Receipt: ``total_credits``, ``call_count``, ``by_service``, ..."""

WalletState = wallet_pb2.Wallet
"""The generated tollgate.v1.Wallet: ``budget``, ``available``, ``spent``, ``exhausted``, ..."""


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


@dataclass(frozen=True)
class Hold:
    """Credits reserved by :meth:`Wallet.authorize`, until captured, voided or expired."""

    id: str
    wallet_id: str
    amount: int
    service: str
    request_id: str
    remaining: int
    credential: str
    credential_expires_at: datetime
    expires_at: datetime


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

    def authorize(
        self,
        amount: int,
        service: str,
        metadata: Mapping[str, str] | None = None,
        *,
        ttl_seconds: int = 0,
        request_id: str | None = None,
    ) -> Hold:
        """Reserves ``amount`` (same cap rules and errors as :meth:`spend`) until :meth:`capture`
        or :meth:`void`, or until it expires after ``ttl_seconds`` (0: the server's default)."""
        request = wallet_service_pb2.AuthorizeRequest(
            wallet_id=self.id,
            amount=amount,
            service=service,
            metadata=metadata or {},
            ttl_seconds=ttl_seconds,
            request_id=request_id or str(uuid.uuid4()),
        )
        reply = self._client._call(self._client._wallet_stub.Authorize, request)
        return Hold(
            id=reply.hold.id,
            wallet_id=reply.hold.wallet_id,
            amount=reply.hold.amount,
            service=reply.hold.service,
            request_id=request.request_id,
            remaining=reply.remaining,
            credential=reply.credential,
            credential_expires_at=reply.credential_expires_at.ToDatetime(tzinfo=timezone.utc),
            expires_at=reply.hold.expires_at.ToDatetime(tzinfo=timezone.utc),
        )

    def capture(
        self,
        hold_id: str,
        amount: int,
        metadata: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
    ) -> Any:
        """Posts ``amount`` (at most the hold's) and releases the rest; returns the generated
        CaptureResponse (``charge``, ``hold``, ``remaining``)."""
        request = wallet_service_pb2.CaptureRequest(
            hold_id=hold_id,
            amount=amount,
            metadata=metadata or {},
            request_id=request_id or str(uuid.uuid4()),
        )
        return self._client._call(self._client._wallet_stub.Capture, request)

    def void(self, hold_id: str, *, request_id: str | None = None) -> Any:
        """Releases a hold without charging anything; returns the generated VoidResponse
        (``hold``, ``remaining``)."""
        request = wallet_service_pb2.VoidRequest(
            hold_id=hold_id, request_id=request_id or str(uuid.uuid4())
        )
        return self._client._call(self._client._wallet_stub.Void, request)

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
