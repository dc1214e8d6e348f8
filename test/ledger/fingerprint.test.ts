import { describe, expect, it } from "vitest";
import { fingerprint } from "../../server/ledger/fingerprint.js";

describe("request fingerprints", () => {
  const params = {
    walletId: "w_0123456789abcdef01234567",
    amount: 10,
    service: "search",
    metadata: { agent: "critic", step: "2" },
  };

  it("is a 22-character base64url digest, the same on every call", () => {
    const digest = fingerprint("spend", params);
    expect(digest).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fingerprint("spend", structuredClone(params))).toBe(digest);
  });

  it("ignores the order of keys, in the parameters and inside metadata", () => {
    const reordered = {
      metadata: { step: "2", agent: "critic" },
      service: "search",
      amount: 10,
      walletId: params.walletId,
    };
    expect(fingerprint("spend", reordered)).toBe(fingerprint("spend", params));
  });

  it("changes with the operation and with every parameter", () => {
    const digest = fingerprint("spend", params);
    expect(fingerprint("authorize", params)).not.toBe(digest);
    const variants = [
      { ...params, walletId: "w_0123456789abcdef01234568" },
      { ...params, amount: 11 },
      { ...params, service: "scrape" },
      { ...params, metadata: { agent: "critic" } },
      { ...params, metadata: { agent: "critic", step: "3" } },
      { ...params, metadata: { ...params.metadata, extra: "" } },
    ];
    const digests = new Set([digest, ...variants.map((v) => fingerprint("spend", v))]);
    expect(digests.size).toBe(variants.length + 1);
  });

  it("does not confuse a string with the number it spells", () => {
    expect(fingerprint("spend", { ...params, amount: "10" })).not.toBe(
      fingerprint("spend", params),
    );
  });

  it("treats a bigint like the number it equals, and an absent value like undefined", () => {
    expect(fingerprint("spend", { ...params, amount: 10n })).toBe(fingerprint("spend", params));
    expect(fingerprint("createWallet", { hardCap: undefined, budget: 1 })).toBe(
      fingerprint("createWallet", { budget: 1, hardCap: undefined }),
    );
    expect(fingerprint("createWallet", { hardCap: undefined, budget: 1 })).not.toBe(
      fingerprint("createWallet", { hardCap: true, budget: 1 }),
    );
  });
});
