import { describe, expect, it } from "vitest";
import { Catalog, type CatalogEntryInput } from "../../server/catalog/catalog.js";
import { type CallEnd, settlementFor } from "../../server/gateway/settlement.js";

function service(price: CatalogEntryInput["price"]) {
  const found = Catalog.fromEntries(
    [{ name: "s", upstream: "http://127.0.0.1:9/", price }],
    {},
  ).find("default", "s");
  if (found === undefined) throw new Error("missing");
  return found;
}

const fixed = service({ credits: 7 });
const sse = service({ maxCredits: 50, meter: { units: "sse-events" } });
const json = service({ maxCredits: 50, meter: { json: "usage.n" } });
const header = service({ maxCredits: 50, meter: { header: "x-cost" } });

const answered = (
  status: number,
  body: "complete" | "agent_cancelled" | "upstream_cut" | "upstream_timeout",
  credits?: number,
): CallEnd => ({
  kind: "answered",
  status,
  body,
  reading: credits === undefined ? undefined : { kind: "cost", credits },
});

describe("settlement policy", () => {
  it("captures a hold at the cost on 2xx, capped at the hold, voiding a zero cost", () => {
    expect(settlementFor("hold", fixed, 7, answered(200, "complete"))).toEqual({
      action: "capture",
      amount: 7,
    });
    expect(settlementFor("hold", sse, 50, answered(200, "complete", 12))).toEqual({
      action: "capture",
      amount: 12,
    });
    expect(settlementFor("hold", sse, 10, answered(200, "complete", 12))).toEqual({
      action: "capture",
      amount: 10,
    });
    expect(settlementFor("hold", sse, 50, answered(200, "complete", 0)).action).toBe("void");
  });

  it("voids a hold on 3xx, 4xx, 5xx, no answer and timeout", () => {
    for (const status of [301, 404, 500, 503]) {
      expect(settlementFor("hold", fixed, 7, answered(status, "complete")).action).toBe("void");
    }
    for (const kind of ["unreachable", "timeout", "agent_gone_before_answer"] as const) {
      expect(settlementFor("hold", fixed, 7, { kind }).action).toBe("void");
    }
  });

  it("captures what was relayed when the agent cancels a per-unit answer", () => {
    expect(settlementFor("hold", sse, 50, answered(200, "agent_cancelled", 3))).toEqual({
      action: "capture",
      amount: 3,
    });
    expect(settlementFor("hold", sse, 50, answered(200, "upstream_cut", 3))).toMatchObject({
      action: "capture",
      amount: 3,
    });
    // A JSON cost sits in the unread body: the hold is owed.
    expect(settlementFor("hold", json, 50, answered(200, "agent_cancelled"))).toMatchObject({
      action: "capture",
      amount: 50,
    });
    expect(settlementFor("hold", header, 50, answered(200, "agent_cancelled", 9))).toMatchObject({
      action: "capture",
      amount: 9,
    });
    expect(settlementFor("hold", json, 50, answered(200, "upstream_cut")).action).toBe("void");
  });

  it("records an upstream failure on a charge, and nothing else", () => {
    expect(settlementFor("charge", fixed, 7, answered(503, "complete"))).toEqual({
      action: "record_failure",
      failure: "upstream_status:503",
    });
    expect(settlementFor("charge", fixed, 7, { kind: "timeout" })).toEqual({
      action: "record_failure",
      failure: "upstream_timeout",
    });
    expect(settlementFor("charge", fixed, 7, { kind: "unreachable" })).toEqual({
      action: "record_failure",
      failure: "upstream_unreachable",
    });
    expect(settlementFor("charge", fixed, 7, answered(404, "complete")).action).toBe("none");
    expect(settlementFor("charge", fixed, 7, answered(200, "complete")).action).toBe("none");
  });
});
