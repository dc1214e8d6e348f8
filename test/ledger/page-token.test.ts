import { describe, expect, it } from "vitest";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import { decodePageToken, encodePageToken } from "../../server/ledger/page-token.js";

const query = "wallets:acme:w_0123456789abcdef01234567";

function expectPageTokenRefused(token: string, forQuery = query): void {
  let caught: unknown;
  try {
    decodePageToken(token, forQuery);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LedgerError);
  expect((caught as LedgerError).reason).toBe("INVALID_ARGUMENT");
  expect((caught as LedgerError).field).toBe("page_token");
}

/** A token with the right query digest but a chosen offset field. */
function forged(offset: unknown): string {
  const genuine = JSON.parse(Buffer.from(encodePageToken(1, query), "base64url").toString()) as {
    q: string;
  };
  return Buffer.from(JSON.stringify({ o: offset, q: genuine.q })).toString("base64url");
}

describe("page tokens", () => {
  it("round-trips an offset for the listing that made it", () => {
    for (const offset of [0, 1, 100, Number.MAX_SAFE_INTEGER]) {
      expect(decodePageToken(encodePageToken(offset, query), query)).toBe(offset);
    }
  });

  it("is empty on the last page, and an empty token starts at 0", () => {
    expect(encodePageToken(undefined, query)).toBe("");
    expect(decodePageToken("", query)).toBe(0);
  });

  it("is opaque base64url", () => {
    expect(encodePageToken(42, query)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("refuses a token made for another listing", () => {
    const token = encodePageToken(2, query);
    expectPageTokenRefused(token, "wallets:acme:");
    expectPageTokenRefused(token, "wallets:globex:w_0123456789abcdef01234567");
    expectPageTokenRefused(token, "charges:acme:w_0123456789abcdef01234567:false");
  });

  it("refuses garbage and offsets that are not non-negative safe integers", () => {
    for (const token of ["%%%", "bm90IGpzb24", Buffer.from("null").toString("base64url")]) {
      expectPageTokenRefused(token);
    }
    expectPageTokenRefused(Buffer.from(JSON.stringify({ o: 1 })).toString("base64url"));
    for (const offset of [-1, 1.5, "1", null, 2 ** 53]) expectPageTokenRefused(forged(offset));
    expect(decodePageToken(forged(7), query)).toBe(7);
  });
});
