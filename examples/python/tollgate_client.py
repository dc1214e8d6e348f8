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

    with client.watch(task.id) as watch:                   # live events of the task's subtree
        for event in watch:                                # reconnects and resumes by cursor
            print(event.sequence, event.kind, event.balances.total_spent)

Refusals raise a :class:`TollgateError` subclass (errors.py) decoded from the google.rpc.Status in
the ``grpc-status-details-bin`` trailer, e.g. :class:`InsufficientCreditsError` with ``requested``
and ``available``. Every mutation gets a request id once, so the client's retries of it reuse it
and the server answers a repeat from its idempotency record instead of charging twice.

:meth:`Tollgate.watch` follows the reference TypeScript client's ``watchEvents``: after a broken
stream (UNAVAILABLE, a server restart; ABORTED, a watcher that read too slowly; INTERNAL,
DEADLINE_EXCEEDED, UNKNOWN) it reconnects with jittered backoff and resumes right after the last
cursor it saw (an event's, or the checkpoint the server sends first), so it yields every committed
event once, in commit order per tree. Any other failure ends it with its typed error, e.g.
:class:`EventsExpiredError` for a cursor older than the server's retention (docs/events.md).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import grpc

from _stubs import charge_pb2, event_service_pb2, event_service_pb2_grpc
from _stubs import receipt_service_pb2, receipt_service_pb2_grpc, wallet_pb2
from _stubs import wallet_service_pb2, wallet_service_pb2_grpc
from errors import (
    EventsExpiredError,
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
    "ALERT_KINDS",
    "EVENT_KINDS",
    "Balances",
    "Charge",
    "ChargeLine",
    "Event",
    "EventPage",
    "EventsExpiredError",
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
    "Reconnect",
    "Wallet",
    "WalletClosedError",
    "WalletState",
    "Wallets",
    "Watch",
]

Receipt = receipt_service_pb2.Receipt
"""The generated tollgate.v1.Receipt: ``total_credits``, ``call_count``, ``by_service``, ..."""

WalletState = wallet_pb2.Wallet
"""The generated tollgate.v1.Wallet: ``budget``, ``available``, ``spent``, ``exhausted``, ..."""

ChargeLine = charge_pb2.Charge
"""The generated tollgate.v1.Charge: one receipt line (``id``, ``kind``, ``amount``, ``service``,
``metadata``, ``hash``, ``prev_hash``, ...), as an :class:`Event` carries it."""

Balances = event_service_pb2.Balances
"""The generated tollgate.v1.Balances: ``budget``, ``spent``, ``held``, ``allocated``,
``available``, ``total_spent`` (the subtree's debits, which alert thresholds measure)."""

_EventKind = event_service_pb2.EventKind
EVENT_KINDS: tuple[str, ...] = tuple(
    name.removeprefix("EVENT_KIND_")
    for name in _EventKind.keys()
    if name != "EVENT_KIND_UNSPECIFIED"
)
"""Every event kind by name: ``SPEND``, ``CAPTURE``, ..., ``WALLET_EXHAUSTED`` (docs/events.md)."""

ALERT_KINDS = frozenset({"THRESHOLD_CROSSED", "SOFT_CAP_EXCEEDED", "WALLET_EXHAUSTED"})
"""The alert kinds, which a monitor shows louder."""


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


@dataclass(frozen=True)
class Event:
    """Something that happened to a wallet, as committed, with its balances right after it."""

    cursor: str
    """Opaque: pass it as ``after`` to resume right after this event."""
    kind: str
    """One of :data:`EVENT_KINDS` (the number, as a string, of a kind newer than this client)."""
    wallet_id: str
    """The wallet it happened to (for an alert: the wallet whose threshold or cap it is)."""
    root_id: str
    sequence: int
    """Position in the tree's event log, from 1, without gaps."""
    balances: Balances
    time: datetime
    charge: ChargeLine | None = None
    """The receipt line, for SPEND, CAPTURE, VOID, EXPIRE, REFILL and ALLOCATION."""
    threshold_percent: int | None = None
    """THRESHOLD_CROSSED: the percentage of the budget crossed."""
    hold_id: str | None = None
    """HOLD_PLACED: the hold."""

    @property
    def is_alert(self) -> bool:
        """THRESHOLD_CROSSED, SOFT_CAP_EXCEEDED or WALLET_EXHAUSTED."""
        return self.kind in ALERT_KINDS


@dataclass(frozen=True)
class EventPage:
    """One page of :meth:`Tollgate.list_events`: pass ``next_cursor`` as ``after`` for the next."""

    events: list[Event]
    next_cursor: str
    """Never empty; equal to the request's ``after`` when nothing new was committed."""


@dataclass(frozen=True)
class Reconnect:
    """What a watch's ``on_reconnect`` is told before it reconnects."""

    attempt: int
    """1 for the first reconnect since the last message received."""
    error: TollgateError
    """Why the stream ended (an UnavailableError for a server that went away, ...)."""
    after: str
    """The cursor the watch resumes after."""


def _event(message: Any) -> Event:
    kind = _EventKind.Name(message.kind) if message.kind in _EventKind.values() else None
    return Event(
        cursor=message.cursor,
        kind=kind.removeprefix("EVENT_KIND_") if kind else str(message.kind),
        wallet_id=message.wallet_id,
        root_id=message.root_id,
        sequence=message.sequence,
        balances=message.balances,
        time=message.time.ToDatetime(tzinfo=timezone.utc),
        charge=message.charge if message.HasField("charge") else None,
        threshold_percent=(
            message.threshold_percent
            if message.kind == _EventKind.EVENT_KIND_THRESHOLD_CROSSED
            else None
        ),
        hold_id=message.hold_id or None,
    )


def _kind_values(kinds: Sequence[str | int] | None) -> list[int]:
    # An unknown name goes as UNSPECIFIED, which the server refuses naming the field `kinds`.
    values = []
    for kind in kinds or ():
        if isinstance(kind, int):
            values.append(kind)
        else:
            name = f"EVENT_KIND_{kind.upper()}"
            values.append(_EventKind.Value(name) if name in _EventKind.keys() else 0)
    return values


class Watch:
    """A running :meth:`Tollgate.watch`: iterate it for events; ``last_cursor`` says where it
    stands; :meth:`close` (from any thread) ends it, and a loop over it then finishes quietly.

    Use it as a context manager (or call :meth:`close`) so the server's watcher slot is freed when
    the loop stops early: a ``break`` alone leaves the call open until the watch is collected.
    """

    # After these the stream is resumed by cursor: it broke (UNAVAILABLE: the server shut down or
    # the network dropped; INTERNAL, DEADLINE_EXCEEDED, UNKNOWN: a transport failure) or the server
    # ended a watcher that read too slowly (ABORTED, WATCHER_TOO_SLOW). Anything else (NOT_FOUND,
    # INVALID_ARGUMENT, OUT_OF_RANGE for an expired cursor, RESOURCE_EXHAUSTED for too many
    # watchers, UNAUTHENTICATED) would fail again, so it ends the watch with its typed error.
    _RESUMABLE = frozenset(
        {
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.ABORTED,
            grpc.StatusCode.INTERNAL,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.UNKNOWN,
        }
    )
    # Full jitter over an exponential ceiling, as the TypeScript client's default retry policy.
    _INITIAL_BACKOFF_S = 0.05
    _MAX_BACKOFF_S = 1.0

    def __init__(
        self,
        client: Tollgate,
        wallet_id: str,
        kinds: Sequence[str | int] | None,
        after: str,
        stop: threading.Event | None,
        on_reconnect: Callable[[Reconnect], None] | None,
    ) -> None:
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._call: Any = None
        self._attempt = 0
        self._client = client
        self._wallet_id = wallet_id
        self._kinds = _kind_values(kinds)
        self._last_cursor = after
        self._on_reconnect = on_reconnect
        if stop is not None:
            threading.Thread(
                target=_close_when_set, args=(stop, weakref.ref(self)), daemon=True
            ).start()

    @property
    def last_cursor(self) -> str:
        """The cursor to resume from: the last event's, else the checkpoint where the watch began
        ("" until the server's first message, unless the watch was given ``after``)."""
        return self._last_cursor

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called, ``stop`` was set, or the watch failed."""
        return self._closed.is_set()

    def close(self) -> None:
        """Ends the watch now, even while another thread waits for its next event."""
        with self._lock:
            self._closed.set()
            call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def __iter__(self) -> Watch:
        return self

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __next__(self) -> Event:
        while True:
            call = self._open()
            if call is None:
                raise StopIteration
            failure: grpc.RpcError | None = None
            try:
                message = next(call)
            except StopIteration:
                pass  # ended without a status error: the server went away cleanly; resume
            except grpc.RpcError as error:
                failure = error
            else:
                self._attempt = 0
                if message.HasField("event"):
                    event = _event(message.event)
                    self._last_cursor = event.cursor
                    return event
                if message.checkpoint:
                    self._last_cursor = message.checkpoint
                continue
            self._drop(call)
            if self._closed.is_set():
                raise StopIteration
            if failure is None:
                error: TollgateError = UnavailableError(
                    grpc.StatusCode.UNAVAILABLE, "the watch ended; resuming", "", {}
                )
            else:
                error = error_from_rpc(failure)
                if failure.code() not in self._RESUMABLE:  # type: ignore[attr-defined]
                    self.close()
                    raise error from None
            self._attempt += 1
            if self._on_reconnect is not None:
                self._on_reconnect(Reconnect(self._attempt, error, self._last_cursor))
            ceiling = min(self._MAX_BACKOFF_S, self._INITIAL_BACKOFF_S * 2 ** (self._attempt - 1))
            if self._closed.wait(random.uniform(0, ceiling)):
                raise StopIteration

    def _open(self) -> Any:
        """The current call, opened after ``last_cursor`` when there is none; None once closed."""
        with self._lock:
            if self._closed.is_set():
                return None
            if self._call is None:
                # wait_for_ready: while the server is away the call waits for the channel to
                # connect again, rather than failing at once until it does (which, without
                # something waiting, gRPC Python's channel was seen to take 5-10 s to try).
                request = event_service_pb2.WatchEventsRequest(
                    wallet_id=self._wallet_id, kinds=self._kinds, after=self._last_cursor
                )
                self._call = self._client._event_stub.WatchEvents(
                    request, metadata=self._client._metadata, wait_for_ready=True
                )
            return self._call

    def _drop(self, call: Any) -> None:
        with self._lock:
            if self._call is call:
                self._call = None
        call.cancel()


def _close_when_set(stop: threading.Event, ref: weakref.ref[Watch]) -> None:
    """Closes the watch once ``stop`` is set; holds it only weakly, so it can still be collected."""
    while True:
        watch = ref()
        if watch is None or watch.closed:
            return
        del watch
        if stop.wait(0.1):
            watch = ref()
            if watch is not None:
                watch.close()
            return


class Tollgate:
    """A connection to a tollgate server (plaintext gRPC; put TLS in front as the server does).
    ``channel_options`` go to the gRPC channel as they are (``("grpc.keepalive_time_ms", ...)``)."""

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
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        channel = grpc.insecure_channel(address, options=list(channel_options))
        self._channel = grpc.intercept_channel(channel, *interceptors)
        self._wallet_stub = wallet_service_pb2_grpc.WalletServiceStub(self._channel)
        self._receipt_stub = receipt_service_pb2_grpc.ReceiptServiceStub(self._channel)
        self._event_stub = event_service_pb2_grpc.EventServiceStub(self._channel)
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

    def watch(
        self,
        wallet_id: str = "",
        kinds: Sequence[str | int] | None = None,
        after: str = "",
        stop: threading.Event | None = None,
        *,
        on_reconnect: Callable[[Reconnect], None] | None = None,
    ) -> Watch:
        """Watches ``wallet_id``'s subtree ("" for every tree of the project) as it commits:
        iterate the returned :class:`Watch` for :class:`Event` s. ``kinds``: only these (names of
        :data:`EVENT_KINDS`); ``after``: resume right after this cursor (an event's, a watch's
        ``last_cursor`` or a page's ``next_cursor``), else start with the next event committed;
        ``stop``: setting it ends the watch, like :meth:`Watch.close`; ``on_reconnect``: called
        with a :class:`Reconnect` before each reconnect. While the server cannot be reached the
        watch waits for it (gRPC's wait_for_ready), without a deadline. Nothing is sent until
        the first ``next()``; a ``next()`` raises the typed error of a watch that cannot go on."""
        return Watch(self, wallet_id, kinds, after, stop, on_reconnect)

    def list_events(
        self,
        wallet_id: str = "",
        kinds: Sequence[str | int] | None = None,
        after: str = "",
        page_size: int = 0,
    ) -> EventPage:
        """One page of the events :meth:`watch` gives, oldest first: after ``after``, or from the
        oldest event retained. ``page_size`` 1..1000, 0 for the server's 100."""
        request = event_service_pb2.ListEventsRequest(
            wallet_id=wallet_id, kinds=_kind_values(kinds), after=after, page_size=page_size
        )
        reply = self._call(self._event_stub.ListEvents, request)
        return EventPage([_event(e) for e in reply.events], reply.next_cursor)

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
        alert_thresholds: Sequence[int] | None = None,
    ) -> Wallet:
        """Creates a root wallet (or a child of ``parent_id``). ``hard_cap`` defaults to True.
        ``alert_thresholds``: percentages of the budget (1..1000, ascending, at most 10) whose
        crossing by the subtree's debits emits a THRESHOLD_CROSSED event; default 50, 80, 100."""
        request = wallet_service_pb2.CreateWalletRequest(
            parent_id=parent_id,
            name=name,
            budget=budget,
            hard_cap=hard_cap,
            metadata=metadata or {},
            request_id=request_id or str(uuid.uuid4()),
            alert_thresholds=alert_thresholds or [],
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
        alert_thresholds: Sequence[int] | None = None,
    ) -> Wallet:
        """Carves a child wallet out of this one's available credits."""
        return self._client.wallets.create(
            name,
            budget,
            hard_cap,
            metadata,
            parent_id=self.id,
            request_id=request_id,
            alert_thresholds=alert_thresholds,
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

    def watch(
        self,
        kinds: Sequence[str | int] | None = None,
        after: str = "",
        stop: threading.Event | None = None,
        *,
        on_reconnect: Callable[[Reconnect], None] | None = None,
    ) -> Watch:
        """:meth:`Tollgate.watch` of this wallet's subtree."""
        return self._client.watch(self.id, kinds, after, stop, on_reconnect=on_reconnect)

    def list_events(
        self, kinds: Sequence[str | int] | None = None, after: str = "", page_size: int = 0
    ) -> EventPage:
        """:meth:`Tollgate.list_events` of this wallet's subtree."""
        return self._client.list_events(self.id, kinds, after, page_size)

    def get_receipt(self) -> Receipt:
        """Totals for this wallet and its subtree (``total_credits``, ``call_count``, ...)."""
        request = receipt_service_pb2.GetReceiptRequest(wallet_id=self.id)
        return self._client._call(self._client._receipt_stub.GetReceipt, request).receipt
