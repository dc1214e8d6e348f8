import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HoldQueue, type HoldState } from "../../../server/store/memory/hold-state.js";

function hold(seq: number, expiresAtMs: number): HoldState {
  return {
    id: `w_x.h${seq}`,
    seq,
    walletId: "w_x",
    amount: 1,
    service: "s",
    metadata: {},
    status: "open",
    capturedAmount: 0,
    createdAtMs: 0,
    expiresAtMs,
  };
}

describe("HoldQueue", () => {
  it("pops exactly the due holds, by expiry and then by creation", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 25 }),
        (expiries, nowMs) => {
          const queue = new HoldQueue();
          const holds = expiries.map((expiresAtMs, i) => hold(i + 1, expiresAtMs));
          for (const h of holds) queue.push(h);
          const popped: number[] = [];
          for (let h = queue.popDue(nowMs); h; h = queue.popDue(nowMs)) popped.push(h.seq);
          const ordered = [...holds].sort((a, b) => a.expiresAtMs - b.expiresAtMs || a.seq - b.seq);
          const due = ordered.filter((h) => h.expiresAtMs <= nowMs).map((h) => h.seq);
          expect(popped).toEqual(due);
          // What is left is exactly the rest, still in order.
          const rest: number[] = [];
          for (let h = queue.popDue(Infinity); h; h = queue.popDue(Infinity)) rest.push(h.seq);
          expect(rest).toEqual(ordered.filter((h) => h.expiresAtMs > nowMs).map((h) => h.seq));
        },
      ),
    );
  });
});
