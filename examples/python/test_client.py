#!/usr/bin/python3
"""Tests of the Python client against a real tollgate server (stdlib unittest, no PyPI).

Run by test/python/python-client.test.ts, which starts the server, generates the stubs and then
checks the balances these tests leave through its own TypeScript client. By hand::

    examples/python/generate.sh && TOLLGATE_ADDRESS=127.0.0.1:50051 TOLLGATE_API_KEY=... \\
      /usr/bin/python3 examples/python/test_client.py

Env: TOLLGATE_ADDRESS, TOLLGATE_API_KEY, TOLLGATE_PYTHON_GEN (generated code), TOLLGATE_RESULTS
(optional: a JSON file that receives the ids of the wallets each test left, for the TS side).
"""

from __future__ import annotations

import inspect
import json
import os
import threading
import time
import unittest
import uuid
from collections.abc import Callable
from typing import Any
from datetime import datetime, timezone

import grpc

from budgeted_tool import budgeted, current_charge
from tollgate_client import (
    Event,
    Hold,
    IdempotencyKeyReusedError,
    InsufficientCreditsError,
    InvalidArgumentError,
    NotFoundError,
    Tollgate,
    UnauthenticatedError,
    UnavailableError,
)

ADDRESS = os.environ["TOLLGATE_ADDRESS"]
API_KEY = os.environ["TOLLGATE_API_KEY"]
RESULTS: dict[str, dict[str, str]] = {}
UNKNOWN_WALLET = "w_" + "0" * 24  # well formed, never created


def until(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Waits until ``check()`` holds, polling; fails the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def collect(watch: Any) -> tuple[list[Event], threading.Thread]:
    """Iterates ``watch`` on a thread of its own, appending each event to the returned list."""
    events: list[Event] = []

    def run() -> None:
        for event in watch:
            events.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return events, thread


class _LostReply(grpc.RpcError):
    """What a client sees when the connection breaks after the server committed the call."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "reply lost (simulated)"

    def trailing_metadata(self) -> tuple:
        return ()


class LoseSpendReplies(grpc.UnaryUnaryClientInterceptor):
    """Lets every call of ``methods`` (Spend by default) reach the server, then drops the first
    ``count`` successful replies of each."""

    def __init__(self, count: int, methods: tuple[str, ...] = ("Spend",)) -> None:
        self.left = dict.fromkeys(methods, count)
        self.ids_by_method: dict[str, list[str]] = {m: [] for m in methods}

    @property
    def request_ids(self) -> list[str]:
        """The request ids sent, in order, of the first method (Spend by default)."""
        return next(iter(self.ids_by_method.values()))

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(client_call_details, request)
        method = client_call_details.method.rsplit("/", 1)[-1]
        if method in self.left:
            self.ids_by_method[method].append(request.request_id)
            if self.left[method] > 0 and outcome.code() == grpc.StatusCode.OK:
                self.left[method] -= 1
                raise _LostReply()
        return outcome


class ClientTest(unittest.TestCase):
    client: Tollgate

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = Tollgate(ADDRESS, api_key=API_KEY)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()
        if os.environ.get("TOLLGATE_RESULTS"):
            with open(os.environ["TOLLGATE_RESULTS"], "w", encoding="utf-8") as out:
                json.dump(RESULTS, out)

    def test_reference_workflow(self) -> None:
        task = self.client.wallets.create(
            name="research-task", budget=1000, hard_cap=True, metadata={"run": "python"}
        )
        researcher = task.create_child(
            name="researcher", budget=400, metadata={"agent": "researcher"}
        )
        writer = task.create_child(name="writer", budget=300, metadata={"agent": "writer"})

        charge = researcher.spend(45, service="web_search", metadata={"agent": "researcher"})
        self.assertEqual(
            (charge.wallet_id, charge.amount, charge.service, charge.remaining),
            (researcher.id, 45, "web_search", 355),
        )
        self.assertEqual(len(charge.credential.split(".")), 3, "a compact JWS")
        self.assertGreater(charge.credential_expires_at, datetime.now(timezone.utc))
        self.assertEqual(researcher.spend(45, "web_search", {"agent": "researcher"}).remaining, 310)
        self.assertEqual(writer.spend(35, "llm", {"agent": "writer"}).remaining, 265)

        receipt = task.get_receipt()
        self.assertEqual((receipt.total_credits, receipt.call_count), (125, 3))
        self.assertEqual((receipt.own_credits, receipt.budget, receipt.available), (0, 1000, 300))
        self.assertEqual(
            {b.key: (b.credits, b.call_count) for b in receipt.by_service},
            {"web_search": (90, 2), "llm": (35, 1)},
        )
        self.assertEqual(
            {b.key: (b.credits, b.call_count) for b in receipt.by_agent},
            {"researcher": (90, 2), "writer": (35, 1)},
        )
        self.assertEqual(
            [(c.name, c.total_credits, c.call_count, c.available) for c in receipt.children],
            [("researcher", 90, 2, 310), ("writer", 35, 1, 265)],
        )

        extended = writer.add_credits(50)  # drawn from the task wallet
        self.assertEqual((extended.budget, extended.available), (350, 315))
        topped_up = task.add_credits(200)  # a root top-up: a REFILL line
        self.assertEqual(
            (topped_up.budget, topped_up.allocated, topped_up.available), (1200, 750, 450)
        )
        self.assertFalse(task.is_exhausted())
        final = task.get_receipt()
        self.assertEqual((final.total_credits, final.call_count), (125, 3))
        self.assertEqual((final.refill_credits, final.refill_count), (200, 1))
        RESULTS["workflow"] = {"task": task.id, "researcher": researcher.id, "writer": writer.id}

    def test_is_exhausted_ends_a_run(self) -> None:
        task = self.client.wallets.create(name="short-task", budget=100)
        agent = task.create_child(name="agent", budget=100)
        self.assertFalse(task.is_exhausted())
        agent.spend(100, service="llm")
        self.assertTrue(agent.is_exhausted())
        self.assertTrue(task.is_exhausted(), "own available 0 and every child exhausted")
        task.add_credits(10)
        self.assertFalse(task.is_exhausted())

    def test_insufficient_credits_carries_requested_and_available(self) -> None:
        wallet = self.client.wallets.create(name="capped", budget=100, hard_cap=True)
        wallet.spend(60, service="scrape")
        with self.assertRaises(InsufficientCreditsError) as refused:
            wallet.spend(50, service="scrape")
        error = refused.exception
        self.assertEqual((error.requested, error.available, error.wallet_id), (50, 40, wallet.id))
        self.assertEqual(error.code, grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(error.reason, "INSUFFICIENT_CREDITS")
        with self.assertRaises(InsufficientCreditsError) as carve_out:
            wallet.create_child(name="too-big", budget=41)
        error = carve_out.exception
        self.assertEqual((error.requested, error.available, error.wallet_id), (41, 40, wallet.id))
        self.assertEqual(wallet.balance().available, 40, "a refusal changes nothing")
        RESULTS["insufficient"] = {"wallet": wallet.id}

    def test_budgeted_tool_refuses_with_payment_limit_reached(self) -> None:
        wallet = self.client.wallets.create(name="search-budget", budget=100)
        ran: list[str] = []

        @budgeted(wallet, price=40, service="web_search")
        def web_search(query: str) -> str:
            """Searches the web."""
            ran.append(query)
            return f"results for {query}"

        self.assertEqual(web_search.__name__, "web_search")
        self.assertEqual(web_search.__doc__, "Searches the web.")
        # What AutoGen reads to build the tool's JSON schema.
        self.assertEqual(str(inspect.signature(web_search, eval_str=True)), "(query: str) -> str")
        self.assertEqual(web_search("a"), "results for a")
        self.assertEqual(web_search(query="b"), "results for b")
        self.assertEqual(
            web_search("c"),
            "PAYMENT_LIMIT_REACHED: search-budget has 20 credits left; web_search costs 40",
        )
        self.assertEqual(ran, ["a", "b"], "a refused call never runs the tool")
        RESULTS["budgeted"] = {"wallet": wallet.id}

    def test_budgeted_tool_that_raises_is_not_charged(self) -> None:
        wallet = self.client.wallets.create(name="failing-tool", budget=100)
        seen: list[tuple[int, int]] = []

        @budgeted(wallet, price=40, service="web_search")
        def web_search(query: str) -> str:
            """Searches the web, or fails."""
            hold = current_charge()
            assert isinstance(hold, Hold)
            seen.append((hold.amount, wallet.balance().held))
            if query == "boom":
                raise ValueError("search backend down")
            return f"results for {query}"

        with self.assertRaises(ValueError):
            web_search("boom")
        self.assertEqual(seen, [(40, 40)], "the tool ran with its price held")
        state = wallet.balance()
        self.assertEqual((state.spent, state.held, state.available), (0, 0, 100))
        self.assertEqual(web_search("ok"), "results for ok")
        self.assertEqual((wallet.balance().spent, wallet.balance().available), (40, 60))

        # upfront=True keeps the old behaviour: spent before the call, so a failure stays charged.
        upfront_wallet = self.client.wallets.create(name="failing-upfront", budget=100)

        @budgeted(upfront_wallet, price=40, service="web_search", upfront=True)
        def upfront_search(query: str) -> str:
            """Fails after being paid for."""
            raise ValueError(query)

        with self.assertRaises(ValueError):
            upfront_search("boom")
        self.assertEqual(upfront_wallet.balance().spent, 40)
        RESULTS["raising"] = {"wallet": wallet.id, "upfront": upfront_wallet.id}

    def test_budgeted_refuses_async_tools(self) -> None:
        wallet = self.client.wallets.create(name="async-tool", budget=100)

        async def web_search(query: str) -> str:
            """An async tool: its charge could not be settled when it really ran."""
            return query

        with self.assertRaisesRegex(TypeError, "web_search is async"):
            budgeted(wallet, price=40, service="web_search")(web_search)
        self.assertEqual(wallet.balance().spent, 0)

    def test_hold_calls_reuse_their_request_ids_when_retried(self) -> None:
        lossy = LoseSpendReplies(count=1, methods=("Authorize", "Capture"))
        with Tollgate(ADDRESS, api_key=API_KEY, interceptors=[lossy]) as c:
            wallet = c.wallets.create(name="retried-hold", budget=100)

            @budgeted(wallet, price=25, service="llm")
            def ask(prompt: str) -> str:
                """Asks a model."""
                return prompt.upper()

            self.assertEqual(ask("hi"), "HI")
            for method, ids in lossy.ids_by_method.items():
                self.assertEqual(len(ids), 2, f"{method} was retried once")
                self.assertEqual(ids[0], ids[1], f"{method} retried under its first id")
            state = wallet.balance()
            self.assertEqual((state.spent, state.held, state.available), (25, 0, 75))

    def test_wrong_or_missing_key_is_unauthenticated(self) -> None:
        for key in ("wrong-key-0123456789", None):
            with Tollgate(ADDRESS, api_key=key) as stranger:
                with self.assertRaises(UnauthenticatedError) as refused:
                    stranger.wallets.create(name="never", budget=1)
                self.assertEqual(refused.exception.code, grpc.StatusCode.UNAUTHENTICATED)
                self.assertEqual(refused.exception.reason, "UNAUTHENTICATED")

    def test_retry_after_a_lost_reply_reuses_the_request_id_and_charges_once(self) -> None:
        lossy = LoseSpendReplies(count=1)
        with Tollgate(ADDRESS, api_key=API_KEY, interceptors=[lossy]) as client:
            wallet = client.wallets.create(name="retried", budget=100)
            charge = wallet.spend(30, service="web_search")
            self.assertEqual(len(lossy.request_ids), 2, "the reply was lost once, then retried")
            self.assertEqual(lossy.request_ids[0], lossy.request_ids[1])
            self.assertEqual(str(uuid.UUID(charge.request_id, version=4)), charge.request_id)
            self.assertEqual((charge.request_id, charge.remaining), (lossy.request_ids[0], 70))

            # An explicit id (say, the model's tool-call id) repeated is answered, not charged.
            first = wallet.spend(30, service="web_search", request_id="tool-call-7")
            again = wallet.spend(30, service="web_search", request_id="tool-call-7")
            self.assertEqual((again.id, again.remaining), (first.id, 40))
            with self.assertRaises(IdempotencyKeyReusedError):
                wallet.spend(31, service="web_search", request_id="tool-call-7")

            receipt = wallet.get_receipt()
            self.assertEqual(
                (receipt.total_credits, receipt.call_count, receipt.available), (60, 2, 40)
            )
        RESULTS["retried"] = {"wallet": wallet.id, "request_id": charge.request_id}

    def test_gives_up_after_its_attempts_with_unavailable(self) -> None:
        lossy = LoseSpendReplies(count=3)
        with Tollgate(ADDRESS, api_key=API_KEY, interceptors=[lossy]) as client:
            wallet = client.wallets.create(name="gave-up", budget=100)
            with self.assertRaises(UnavailableError):
                wallet.spend(30, service="web_search")
            self.assertEqual(len(set(lossy.request_ids)), 1)
            self.assertEqual(len(lossy.request_ids), 3)
            # Applied once even though the caller saw a failure: why retries keep the same id.
            self.assertEqual(wallet.balance().available, 70)

    def test_alert_thresholds_and_paged_events(self) -> None:
        task = self.client.wallets.create(name="alerting", budget=200, alert_thresholds=[10, 60])
        agent = task.create_child(name="agent", budget=100, alert_thresholds=[50])
        self.assertEqual(list(task.balance().alert_thresholds), [10, 60])
        self.assertEqual(list(agent.balance().alert_thresholds), [50])
        for _ in range(6):
            agent.spend(15, service="llm")

        events: list[Event] = []
        pages: list[int] = []
        after = ""
        while True:
            page = task.list_events(after=after, page_size=4)
            if not page.events:
                self.assertEqual(page.next_cursor, after, "nothing new: the same cursor back")
                break
            pages.append(len(page.events))
            events.extend(page.events)
            after = page.next_cursor
        self.assertEqual(pages, [4, 4, 2])
        self.assertEqual([e.sequence for e in events], list(range(1, 11)))
        # The task's 10% (20 of 200) is crossed by the second spend, the agent's 50% (50 of 100)
        # by the fourth; the task's 60% (120) is never reached.
        self.assertEqual(
            [(e.kind, e.wallet_id, e.threshold_percent) for e in events if e.is_alert],
            [("THRESHOLD_CROSSED", task.id, 10), ("THRESHOLD_CROSSED", agent.id, 50)],
        )
        self.assertEqual(
            [e.kind for e in events],
            ["WALLET_CREATED", "WALLET_CREATED", "SPEND", "SPEND", "THRESHOLD_CROSSED"]
            + ["SPEND", "SPEND", "THRESHOLD_CROSSED", "SPEND", "SPEND"],
        )
        spends = [e for e in events if e.kind == "SPEND"]
        self.assertTrue(all(e.charge is not None and e.charge.amount == 15 for e in spends))
        self.assertTrue(all(e.threshold_percent is None and e.hold_id is None for e in spends))
        # The lines' hash chain: each prev_hash is the hash of the tree's line before it.
        hashes = [(e.charge.hash, e.charge.prev_hash) for e in spends if e.charge is not None]
        self.assertEqual(hashes[0][1], "", "the tree's first line")
        for (before, _), (_, prev) in zip(hashes, hashes[1:]):
            self.assertEqual(prev, before)
        self.assertEqual(len({h for h, _ in hashes}), 6)
        self.assertEqual(
            (events[-1].balances.total_spent, events[-1].balances.available), (90, 10)
        )
        self.assertEqual(events[-1].time.tzinfo, timezone.utc)

        alerts = task.list_events(kinds=["THRESHOLD_CROSSED"])
        self.assertEqual([e.threshold_percent for e in alerts.events], [10, 50])
        own = agent.list_events()
        self.assertEqual(
            [e.kind for e in own.events], ["WALLET_CREATED"] + ["SPEND"] * 4 + ["THRESHOLD_CROSSED"]
            + ["SPEND"] * 2,
        )
        self.assertTrue(all(e.wallet_id == agent.id for e in own.events))

    def test_watch_resumes_after_a_cursor_and_close_ends_it_from_another_thread(self) -> None:
        wallet = self.client.wallets.create(name="watched", budget=100)
        created = wallet.list_events()
        wallet.spend(10, service="llm")
        wallet.spend(20, service="llm")
        with self.client.watch(wallet.id, after=created.next_cursor) as watch:
            seen, thread = collect(watch)
            until(lambda: len(seen) == 2, "the two spends committed before the watch")
            wallet.spend(30, service="llm")
            until(lambda: len(seen) == 4, "the live spend and its alert")
            time.sleep(0.1)
            self.assertTrue(thread.is_alive(), "waiting for the next event")
            watch.close()  # from this thread, while the other waits in next()
            thread.join(5)
            self.assertFalse(thread.is_alive(), "close() ended the loop")
        self.assertEqual(
            [(e.sequence, e.kind, e.charge and e.charge.amount, e.threshold_percent) for e in seen],
            [(2, "SPEND", 10, None), (3, "SPEND", 20, None), (4, "SPEND", 30, None)]
            + [(5, "THRESHOLD_CROSSED", None, 50)],
        )
        self.assertTrue(seen[-1].is_alert)
        self.assertEqual((seen[-1].balances.total_spent, seen[-1].balances.available), (60, 40))
        self.assertEqual(watch.last_cursor, seen[-1].cursor)
        self.assertTrue(watch.closed)
        # Resuming after the last cursor gives nothing again.
        self.assertEqual(wallet.list_events(after=watch.last_cursor).events, [])

    def test_watch_ends_when_stop_is_set_and_refuses_what_cannot_go_on(self) -> None:
        wallet = self.client.wallets.create(name="stopped", budget=100)
        stop = threading.Event()
        watch = wallet.watch(kinds=["spend"], stop=stop)
        seen, thread = collect(watch)
        until(lambda: watch.last_cursor != "", "the watch's checkpoint")
        hold = wallet.authorize(5, service="llm")  # HOLD_PLACED: not a kind asked for
        wallet.spend(7, service="llm")
        wallet.void(hold.id)
        until(lambda: len(seen) == 1, "the spend")
        stop.set()
        thread.join(5)
        self.assertFalse(thread.is_alive(), "setting stop ended the loop")
        self.assertEqual([(e.kind, e.charge and e.charge.amount) for e in seen], [("SPEND", 7)])

        with self.assertRaises(NotFoundError) as missing:
            next(self.client.watch(UNKNOWN_WALLET))
        self.assertEqual(missing.exception.reason, "WALLET_NOT_FOUND")
        with self.assertRaises(NotFoundError):
            self.client.list_events(UNKNOWN_WALLET)
        bad_kind = wallet.watch(kinds=["NOT_A_KIND"])
        with self.assertRaises(InvalidArgumentError) as refused:
            next(bad_kind)
        self.assertEqual(refused.exception.metadata.get("field"), "kinds")
        self.assertTrue(bad_kind.closed)
        self.assertEqual(list(bad_kind), [], "a failed watch is over")
        with self.assertRaises(InvalidArgumentError) as refused:
            wallet.list_events(after="not-a-cursor")
        self.assertEqual(refused.exception.metadata.get("field"), "after")


if __name__ == "__main__":
    unittest.main()
