#!/usr/bin/python3
"""Prints a wallet subtree's events as they commit: one line each, with running totals, alerts
marked ``!!``. It rides out server restarts (reconnecting and resuming by cursor); Ctrl-C stops it
and prints the cursor to resume from.

Run against a server (``npm start``) after ``examples/python/generate.sh``::

    /usr/bin/python3 examples/python/watch.py WALLET_ID              # live, from now
    /usr/bin/python3 examples/python/watch.py WALLET_ID --after CUR  # resume after a cursor
    /usr/bin/python3 examples/python/watch.py                        # every tree of the project

A line looks like::

    #4 SPEND 45 web_search w_...: spent 90, available 310, subtree 135 | seen: 135 in 3 debits
    !! #5 THRESHOLD_CROSSED 50% w_...: subtree 135 of budget 250 | seen: 135 in 3 debits

Env: TOLLGATE_ADDRESS (default 127.0.0.1:50051), TOLLGATE_API_KEY (when the server has keys).
"""

from __future__ import annotations

import argparse
import os
import sys

from tollgate_client import Event, Reconnect, Tollgate, TollgateError

_DEBITS = ("SPEND", "CAPTURE")


class RunningTotals:
    """Credits debited (SPEND and CAPTURE lines) among the events this watch has printed."""

    def __init__(self) -> None:
        self.credits = 0
        self.debits = 0

    def add(self, event: Event) -> None:
        if event.kind in _DEBITS and event.charge is not None:
            self.credits += event.charge.amount
            self.debits += 1

    def __str__(self) -> str:
        return f"seen: {self.credits} in {self.debits} debit{'' if self.debits == 1 else 's'}"


def describe(event: Event) -> str:
    """What happened, and the wallet's balances right after it."""
    b = event.balances
    if event.kind == "THRESHOLD_CROSSED":
        what = f"{event.threshold_percent}%"
        after = f"subtree {b.total_spent} of budget {b.budget}"
    elif event.kind in ("SOFT_CAP_EXCEEDED", "WALLET_EXHAUSTED"):
        what = ""
        after = f"spent {b.spent} of budget {b.budget}, available {b.available}"
    else:
        if event.charge is not None:
            what = f"{event.charge.amount} {event.charge.service}".rstrip()
        elif event.hold_id:
            what = f"hold {event.hold_id}"
        else:
            what = ""
        after = f"spent {b.spent}, available {b.available}, subtree {b.total_spent}"
    head = f"#{event.sequence} {event.kind} {what}".rstrip()
    return f"{head} {event.wallet_id}: {after}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Print a tollgate wallet's events as they commit.")
    parser.add_argument("wallet_id", nargs="?", default="", help="default: every tree")
    parser.add_argument("--after", default="", help="resume right after this cursor")
    parser.add_argument("--kinds", default="", help="comma-separated, e.g. SPEND,THRESHOLD_CROSSED")
    args = parser.parse_args()
    address = os.environ.get("TOLLGATE_ADDRESS") or "127.0.0.1:50051"
    kinds = [k for k in args.kinds.split(",") if k]

    def reconnecting(info: Reconnect) -> None:
        print(f"reconnecting ({info.error.reason or info.error.code.name})", file=sys.stderr)

    totals = RunningTotals()
    with Tollgate(address, api_key=os.environ.get("TOLLGATE_API_KEY")) as client:
        watch = client.watch(args.wallet_id, kinds, args.after, on_reconnect=reconnecting)
        try:
            for event in watch:
                totals.add(event)
                mark = "!! " if event.is_alert else ""
                print(f"{mark}{describe(event)} | {totals}", flush=True)
        except KeyboardInterrupt:
            pass
        except TollgateError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            watch.close()
        if watch.last_cursor:
            print(f"stopped; resume with --after {watch.last_cursor}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
