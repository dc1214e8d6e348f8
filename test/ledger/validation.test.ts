import { describe, expect, it } from "vitest";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import {
  addCreditsInput,
  authorizeInput,
  captureInput,
  closeWalletInput,
  createWalletInput,
  listChargesInput,
  listWalletsInput,
  parse,
  spendInput,
  voidInput,
  walletInput,
} from "../../server/ledger/validation.js";

const rootId = `w_${"a".repeat(24)}`;
const holdId = `${rootId}.h3`;

/** Parses and returns the LedgerError it must throw. */
function refusal(schema: Parameters<typeof parse>[0], input: unknown): LedgerError {
  try {
    parse(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerError);
    return error as LedgerError;
  }
  throw new Error(
    `expected ${JSON.stringify(input, (_, v) => (typeof v === "bigint" ? `${v}n` : v))} to be refused`,
  );
}

describe("request validation", () => {
  it("names the offending field in snake_case, as the proto spells it", () => {
    const cases: Array<[Parameters<typeof parse>[0], unknown, string]> = [
      [walletInput, { walletId: "nope" }, "wallet_id"],
      [createWalletInput, { parentId: "nope", budget: 1, requestId: "r" }, "parent_id"],
      [createWalletInput, { budget: 1, hardCap: "yes", requestId: "r" }, "hard_cap"],
      [createWalletInput, { budget: 1, requestId: "" }, "request_id"],
      [
        authorizeInput,
        { walletId: rootId, amount: 1, service: "s", ttlSeconds: 0.5, requestId: "r" },
        "ttl_seconds",
      ],
      [captureInput, { holdId: rootId, amount: 1, requestId: "r" }, "hold_id"],
      [listWalletsInput, { pageSize: 1001 }, "page_size"],
      [listWalletsInput, { pageToken: 7 }, "page_token"],
      [listChargesInput, { walletId: rootId, includeDescendants: 1 }, "include_descendants"],
    ];
    for (const [schema, input, field] of cases) {
      const error = refusal(schema, input);
      expect({ reason: error.reason, field: error.field, metadata: error.metadata }).toEqual({
        reason: "INVALID_ARGUMENT",
        field,
        metadata: { field },
      });
      expect(error.message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it("says a missing required field is required", () => {
    for (const [schema, input, field] of [
      [spendInput, { amount: 1, service: "s", requestId: "r" }, "wallet_id"],
      [spendInput, { walletId: rootId, amount: 1, requestId: "r" }, "service"],
      [closeWalletInput, { walletId: rootId }, "request_id"],
      [voidInput, { requestId: "r" }, "hold_id"],
    ] as const) {
      expect(refusal(schema, input).message).toBe(`${field}: is required`);
    }
  });

  it("says a missing amount or budget is required, like any other missing field", () => {
    // Credits accept number or bigint (a union), so a missing one is an invalid_union issue.
    for (const [schema, input, field] of [
      [spendInput, { walletId: rootId, service: "s", requestId: "r" }, "amount"],
      [createWalletInput, { requestId: "r" }, "budget"],
    ] as const) {
      expect(refusal(schema, input).message).toBe(`${field}: is required`);
    }
  });

  it("names the request as a whole when the input is not an object", () => {
    expect(refusal(walletInput, "w").field).toBe("request");
  });

  it("normalises amounts given as bigint to exact numbers", () => {
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    expect(
      parse(spendInput, { walletId: rootId, amount: max, service: "s", requestId: "r" }).amount,
    ).toBe(Number.MAX_SAFE_INTEGER);
    expect(parse(createWalletInput, { budget: 0n, requestId: "r" }).budget).toBe(0);
    expect(
      refusal(addCreditsInput, { walletId: rootId, amount: max + 1n, requestId: "r" }).field,
    ).toBe("amount");
  });

  it("fills in the documented defaults", () => {
    expect(parse(createWalletInput, { budget: 5, requestId: "r" })).toEqual({
      parentId: "",
      name: "",
      budget: 5,
      hardCap: undefined,
      metadata: {},
      alertThresholds: [50, 80, 100],
      requestId: "r",
    });
    expect(parse(listWalletsInput, {})).toEqual({ parentId: "", pageSize: 100, pageToken: "" });
    expect(parse(listChargesInput, { walletId: rootId })).toMatchObject({
      includeDescendants: false,
      pageSize: 100,
    });
    expect(
      parse(authorizeInput, { walletId: rootId, amount: 1, service: "s", requestId: "r" })
        .ttlSeconds,
    ).toBe(300);
    expect(parse(captureInput, { holdId, amount: 1, requestId: "r" }).metadata).toEqual({});
  });

  it("accepts each limit's boundary and refuses one past it", () => {
    const spend = (patch: Record<string, unknown>) => ({
      walletId: rootId,
      amount: 1,
      service: "s",
      requestId: "r",
      ...patch,
    });
    const inside = [
      { service: "s".repeat(64) },
      { requestId: "r".repeat(128) },
      { metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, "v"])) },
      { metadata: { ["k".repeat(64)]: "v".repeat(256) } },
      { amount: Number.MAX_SAFE_INTEGER },
    ];
    for (const patch of inside) expect(() => parse(spendInput, spend(patch))).not.toThrow();
    const outside: Array<[Record<string, unknown>, string]> = [
      [{ service: "s".repeat(65) }, "service"],
      [{ requestId: "r".repeat(129) }, "request_id"],
      [
        { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) },
        "metadata",
      ],
      [{ metadata: { ["k".repeat(65)]: "v" } }, "metadata"],
      [{ metadata: { k: "v".repeat(257) } }, "metadata"],
      [{ amount: Number.MAX_SAFE_INTEGER + 1 }, "amount"],
    ];
    for (const [patch, field] of outside)
      expect(refusal(spendInput, spend(patch)).field).toBe(field);
    expect(() =>
      parse(createWalletInput, { name: "n".repeat(128), budget: 0, requestId: "r" }),
    ).not.toThrow();
    expect(
      refusal(createWalletInput, { name: "n".repeat(129), budget: 0, requestId: "r" }).field,
    ).toBe("name");
    for (const ttlSeconds of [1, 86_400]) {
      expect(parse(authorizeInput, spend({ ttlSeconds })).ttlSeconds).toBe(ttlSeconds);
    }
    for (const ttlSeconds of [-1, 86_401]) {
      expect(refusal(authorizeInput, spend({ ttlSeconds })).field).toBe("ttl_seconds");
    }
  });

  it("counts characters as code points, not UTF-16 units", () => {
    const smiles = "\u{1F600}".repeat(64);
    expect(
      parse(spendInput, { walletId: rootId, amount: 1, service: smiles, requestId: "r" }).service,
    ).toBe(smiles);
    expect(
      refusal(spendInput, { walletId: rootId, amount: 1, service: `${smiles}x`, requestId: "r" })
        .field,
    ).toBe("service");
  });
});
