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
import unittest
import uuid
from datetime import datetime, timezone

import grpc

from budgeted_tool import budgeted, current_charge
from tollgate_client import (
    Hold,
    IdempotencyKeyReusedError,
    InsufficientCreditsError,
    Tollgate,
    UnauthenticatedError,
    UnavailableError,
)

ADDRESS = os.environ["TOLLGATE_ADDRESS"]
API_KEY = os.environ["TOLLGATE_API_KEY"]
RESULTS: dict[str, dict[str, str]] = {}


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


if __name__ == "__main__":
    unittest.main()
