#!/usr/bin/python3
"""A 200-credit wallet pays for a 30-credit web-search tool until it refuses.

Run against a server (``npm start``) after ``examples/python/generate.sh``::

    /usr/bin/python3 examples/python/example.py

Env: TOLLGATE_ADDRESS (default 127.0.0.1:50051), TOLLGATE_API_KEY (when the server has keys).
"""

from __future__ import annotations

import os

from budgeted_tool import budgeted, current_charge
from tollgate_client import Tollgate


def main() -> None:
    address = os.environ.get("TOLLGATE_ADDRESS") or "127.0.0.1:50051"
    with Tollgate(address, api_key=os.environ.get("TOLLGATE_API_KEY")) as client:
        wallet = client.wallets.create(
            name="python-example", budget=200, hard_cap=True, metadata={"example": "python"}
        )
        print(f"wallet {wallet.name} ({wallet.id}): budget 200, hard cap")

        @budgeted(wallet, price=30, service="web_search")
        def web_search(query: str) -> str:
            """Searches the web (a stand-in: a real tool would send current_charge().credential)."""
            charge = current_charge()
            assert charge is not None and charge.credential
            return f"results for {query!r} ({charge.remaining} credits left)"

        # A model would keep calling the tool; here a loop does, bounded in case nothing refuses.
        for call in range(1, 100):
            answer = web_search(f"agent budgets {call}")
            print(f"call {call}: {answer}")
            if answer.startswith("PAYMENT_LIMIT_REACHED"):
                break

        receipt = wallet.get_receipt()
        print(f"spent {receipt.total_credits} credits in {receipt.call_count} calls")
        print(f"available {receipt.available}, exhausted {wallet.is_exhausted()}")


if __name__ == "__main__":
    main()
