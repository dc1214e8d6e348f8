#!/usr/bin/python3
"""The Python client's watch (or one ListEvents page), driven by test/python/python-watch.test.ts.

Prints one JSON object per line on stdout, flushed:

- ``{"ready": cursor}`` once the watch has begun (its checkpoint arrived, or ``--after`` given);
- ``{"event": {...}}`` for each event;
- ``{"reconnect": {"attempt", "code", "reason", "after"}}`` before each reconnect;
- ``{"error": {"class", "code", "reason", "metadata"}}`` when the watch (or the listing) fails;
- ``{"closed": last_cursor}`` when it ends after stdin closed (the test's way to stop it, which
  calls ``Watch.close()`` from another thread while the loop waits for an event).

Usage: watch_probe.py [--wallet ID] [--after CURSOR] [--kinds A,B] [--list] [--stall-after N
--stall-s S] (stop reading for S seconds after N events: a slow consumer). Env as test_client.py
(TOLLGATE_ADDRESS, TOLLGATE_API_KEY, TOLLGATE_PYTHON_GEN); examples/python must be on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

from tollgate_client import Event, Reconnect, Tollgate, TollgateError

_print_lock = threading.Lock()


def emit(**line: Any) -> None:
    with _print_lock:
        print(json.dumps(line), flush=True)


def as_json(event: Event) -> dict[str, Any]:
    charge = event.charge
    b = event.balances
    return {
        "cursor": event.cursor,
        "kind": event.kind,
        "wallet_id": event.wallet_id,
        "root_id": event.root_id,
        "sequence": event.sequence,
        "is_alert": event.is_alert,
        "threshold_percent": event.threshold_percent,
        "hold_id": event.hold_id,
        "time": event.time.isoformat(),
        "charge": None
        if charge is None
        else {
            "id": charge.id,
            "amount": charge.amount,
            "service": charge.service,
            "hash": charge.hash,
            "prev_hash": charge.prev_hash,
        },
        "balances": {
            "budget": b.budget,
            "spent": b.spent,
            "available": b.available,
            "total_spent": b.total_spent,
        },
    }


def error_json(error: TollgateError) -> dict[str, Any]:
    return {
        "class": type(error).__name__,
        "code": error.code.name,
        "reason": error.reason,
        "metadata": error.metadata,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wallet", default="")
    parser.add_argument("--after", default="")
    parser.add_argument("--kinds", default="")
    parser.add_argument("--list", action="store_true", help="one ListEvents page, then exit")
    parser.add_argument("--stall-after", type=int, default=0)
    parser.add_argument("--stall-s", type=float, default=0.0)
    parser.add_argument("--small-buffers", action="store_true")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    # Small receive buffers: a consumer that stops reading soon stops the server's writes too.
    options = (
        [("grpc.http2.bdp_probe", 0), ("grpc.tcp_receive_buffer_size", 16384)]
        if args.small_buffers
        else []
    )
    client = Tollgate(
        os.environ["TOLLGATE_ADDRESS"],
        api_key=os.environ["TOLLGATE_API_KEY"],
        channel_options=options,
    )
    if args.list:
        try:
            page = client.list_events(args.wallet, kinds, args.after, page_size=1000)
        except TollgateError as error:
            emit(error=error_json(error))
        else:
            emit(page={"events": [as_json(e) for e in page.events], "next": page.next_cursor})
        client.close()
        return

    def reconnecting(info: Reconnect) -> None:
        emit(
            reconnect={
                "attempt": info.attempt,
                "code": info.error.code.name,
                "reason": info.error.reason,
                "after": info.after,
            }
        )

    watch = client.watch(args.wallet, kinds, args.after, on_reconnect=reconnecting)

    def announce_ready() -> None:
        while not watch.last_cursor and not watch.closed:
            time.sleep(0.01)
        if watch.last_cursor:
            emit(ready=watch.last_cursor)

    def close_at_eof() -> None:
        for _ in sys.stdin:
            pass
        watch.close()

    threading.Thread(target=announce_ready, daemon=True).start()
    threading.Thread(target=close_at_eof, daemon=True).start()
    try:
        for count, event in enumerate(watch, start=1):
            emit(event=as_json(event))
            if count == args.stall_after:
                time.sleep(args.stall_s)
    except TollgateError as error:
        emit(error=error_json(error))
    else:
        emit(closed=watch.last_cursor)
    client.close()


if __name__ == "__main__":
    main()
