import { describe, expect, it } from "vitest";
import { encodePageToken } from "../../server/ledger/page-token.js";
import {
  createRoot,
  expectInvalid,
  expectRefusedUnchanged,
  project,
  rid,
  storeFactories,
  useLedger,
} from "./harness.js";

/** A value the input type forbids, as an untyped caller could still send it. */
const raw = (value: unknown) => value as never;

const max = Number.MAX_SAFE_INTEGER;
const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
const emoji = "\u{1F600}";

/** Amounts (spend, authorize, capture, add credits) are 1..2^53-1, as number or bigint. */
const badAmounts: Array<[string, unknown]> = [
  ["zero", 0],
  ["negative", -1],
  ["fractional", 1.5],
  ["2^53 (unsafe)", max + 1],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["a numeric string", "5"],
  ["bigint zero", 0n],
  ["negative bigint", -5n],
  ["bigint 2^53", 2n ** 53n],
  ["missing", undefined],
];

/** Budgets are 0..2^53-1. */
const badBudgets: Array<[string, unknown]> = [
  ["negative", -1],
  ["fractional", 0.5],
  ["2^53 (unsafe)", max + 1],
  ["bigint 2^53", 2n ** 53n],
  ["negative bigint", -1n],
  ["missing", undefined],
];

/** Metadata: at most 16 keys, keys 1..64 characters, values at most 256, strings only. */
const badMetadata: Array<[string, unknown]> = [
  ["17 keys", keys(17)],
  ["a 65-character key", { ["k".repeat(65)]: "v" }],
  ["an empty key", { "": "v" }],
  ["a 257-character value", { k: "v".repeat(257) }],
  ["a non-string value", { k: 1 }],
];

const badRequestIds: Array<[string, unknown]> = [
  ["empty", ""],
  ["129 characters", "r".repeat(129)],
  ["missing", undefined],
  ["non-ASCII", "café-1"],
  ["space-containing", "two words"],
  ["control-character", "line\nbreak"],
];

describe.each(storeFactories)("limits and validation ($name store)", (factory) => {
  const env = useLedger(factory);

  async function rootAndBase() {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const spendInput = { walletId: root.id, amount: 1, service: "search", requestId: rid() };
    return { ledger, root, spendInput };
  }

  it.each(badAmounts)(
    "rejects a %s amount on every operation that takes one",
    async (_, amount) => {
      const { ledger, root, spendInput } = await rootAndBase();
      const { hold } = await ledger.authorize(project, { ...spendInput, requestId: rid() });
      const calls = [
        () => ledger.spend(project, { ...spendInput, amount: raw(amount) }),
        () => ledger.authorize(project, { ...spendInput, amount: raw(amount) }),
        () => ledger.capture(project, { holdId: hold.id, amount: raw(amount), requestId: rid() }),
        () =>
          ledger.addCredits(project, { walletId: root.id, amount: raw(amount), requestId: rid() }),
      ];
      for (const call of calls) {
        await expectRefusedUnchanged(ledger, root.id, call, "INVALID_ARGUMENT", {
          field: "amount",
        });
      }
    },
  );

  it.each(badBudgets)("rejects a %s budget", async (_, budget) => {
    const { ledger, root } = await rootAndBase();
    await expectInvalid(
      ledger.createWallet(project, { budget: raw(budget), requestId: rid() }),
      "budget",
    );
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () =>
        ledger.createWallet(project, { parentId: root.id, budget: raw(budget), requestId: rid() }),
      "INVALID_ARGUMENT",
      { field: "budget" },
    );
  });

  it.each(badMetadata)(
    "rejects metadata with %s everywhere metadata is taken",
    async (_, metadata) => {
      const { ledger, root, spendInput } = await rootAndBase();
      const { hold } = await ledger.authorize(project, { ...spendInput, requestId: rid() });
      const calls = [
        () =>
          ledger.createWallet(project, {
            parentId: root.id,
            budget: 1,
            metadata: raw(metadata),
            requestId: rid(),
          }),
        () => ledger.spend(project, { ...spendInput, metadata: raw(metadata) }),
        () => ledger.authorize(project, { ...spendInput, metadata: raw(metadata) }),
        () =>
          ledger.capture(project, {
            holdId: hold.id,
            amount: 1,
            metadata: raw(metadata),
            requestId: rid(),
          }),
        () =>
          ledger.addCredits(project, {
            walletId: root.id,
            amount: 1,
            metadata: raw(metadata),
            requestId: rid(),
          }),
      ];
      for (const call of calls) {
        await expectRefusedUnchanged(ledger, root.id, call, "INVALID_ARGUMENT", {
          field: "metadata",
        });
      }
    },
  );

  it.each(badRequestIds)("rejects an %s request id on every mutation", async (_, requestId) => {
    const { ledger, root, spendInput } = await rootAndBase();
    const { hold } = await ledger.authorize(project, { ...spendInput, requestId: rid() });
    const id = raw(requestId);
    const calls = [
      () => ledger.createWallet(project, { budget: 1, requestId: id }),
      () => ledger.createWallet(project, { parentId: root.id, budget: 1, requestId: id }),
      () => ledger.addCredits(project, { walletId: root.id, amount: 1, requestId: id }),
      () => ledger.closeWallet(project, { walletId: root.id, requestId: id }),
      () => ledger.spend(project, { ...spendInput, requestId: id }),
      () => ledger.authorize(project, { ...spendInput, requestId: id }),
      () => ledger.capture(project, { holdId: hold.id, amount: 1, requestId: id }),
      () => ledger.void(project, { holdId: hold.id, requestId: id }),
    ];
    for (const call of calls) {
      await expectRefusedUnchanged(ledger, root.id, call, "INVALID_ARGUMENT", {
        field: "request_id",
      });
    }
  });

  it("rejects names over 128 characters, counting code points", async () => {
    const { ledger, root } = await rootAndBase();
    for (const name of ["n".repeat(129), emoji.repeat(129)]) {
      await expectInvalid(
        ledger.createWallet(project, { name, budget: 1, requestId: rid() }),
        "name",
      );
      await expectInvalid(
        ledger.createWallet(project, { parentId: root.id, name, budget: 1, requestId: rid() }),
        "name",
      );
    }
  });

  it("rejects a service that is empty or over 64 characters", async () => {
    const { ledger, root, spendInput } = await rootAndBase();
    for (const service of ["", "s".repeat(65), raw(undefined)]) {
      for (const call of [
        () => ledger.spend(project, { ...spendInput, service }),
        () => ledger.authorize(project, { ...spendInput, service }),
      ]) {
        await expectRefusedUnchanged(ledger, root.id, call, "INVALID_ARGUMENT", {
          field: "service",
        });
      }
    }
  });

  it("rejects a hold ttl outside 1 s..24 h", async () => {
    const { ledger, root, spendInput } = await rootAndBase();
    for (const ttlSeconds of [-1, 86_401, 1.5, raw("60")]) {
      await expectRefusedUnchanged(
        ledger,
        root.id,
        () => ledger.authorize(project, { ...spendInput, ttlSeconds }),
        "INVALID_ARGUMENT",
        { field: "ttl_seconds" },
      );
    }
  });

  it("rejects malformed wallet and hold ids, naming the field", async () => {
    const { ledger, root, spendInput } = await rootAndBase();
    const badWalletIds = [
      "",
      "w_123",
      `w_${"A".repeat(24)}`,
      `${root.id}.w0`,
      `${root.id}.x1`,
      `${root.id}.h1`,
      `${root.id}.w1.w2`,
      `${root.id}.w${"1".repeat(17)}`,
      ` ${root.id}`,
      raw(undefined),
    ];
    for (const walletId of badWalletIds) {
      await expectInvalid(ledger.getWallet(project, { walletId }), "wallet_id");
      await expectInvalid(ledger.getReceipt(project, { walletId }), "wallet_id");
      await expectInvalid(ledger.listCharges(project, { walletId }), "wallet_id");
      await expectInvalid(ledger.spend(project, { ...spendInput, walletId }), "wallet_id");
      await expectInvalid(ledger.authorize(project, { ...spendInput, walletId }), "wallet_id");
      await expectInvalid(
        ledger.addCredits(project, { walletId, amount: 1, requestId: rid() }),
        "wallet_id",
      );
      await expectInvalid(ledger.closeWallet(project, { walletId, requestId: rid() }), "wallet_id");
    }
    for (const parentId of ["w_123", `${root.id}.h1`, `${root.id}.w0`]) {
      await expectInvalid(
        ledger.createWallet(project, { parentId, budget: 0, requestId: rid() }),
        "parent_id",
      );
      await expectInvalid(ledger.listWallets(project, { parentId }), "parent_id");
    }
    for (const holdId of ["", root.id, `${root.id}.w1`, `${root.id}.h0`, `${root.id}.c1`]) {
      await expectInvalid(
        ledger.capture(project, { holdId, amount: 1, requestId: rid() }),
        "hold_id",
      );
      await expectInvalid(ledger.void(project, { holdId, requestId: rid() }), "hold_id");
    }
  });

  it("rejects page sizes outside 0..1000 and tokens that are not this listing's", async () => {
    const { ledger, root } = await rootAndBase();
    for (const pageSize of [-1, 1001, 2.5]) {
      await expectInvalid(ledger.listWallets(project, { pageSize }), "page_size");
      await expectInvalid(
        ledger.listCharges(project, { walletId: root.id, pageSize }),
        "page_size",
      );
    }
    const foreign = encodePageToken(1, `wallets:${project}:w_${"0".repeat(24)}`);
    const notJson = Buffer.from("not json").toString("base64url");
    const negative = Buffer.from(JSON.stringify({ o: -1, q: "x" })).toString("base64url");
    for (const pageToken of ["garbage!", notJson, negative, foreign]) {
      await expectInvalid(ledger.listWallets(project, { pageToken }), "page_token");
      await expectInvalid(
        ledger.listCharges(project, { walletId: root.id, pageToken }),
        "page_token",
      );
    }
    await expectInvalid(
      ledger.listCharges(project, { walletId: root.id, includeDescendants: raw("yes") }),
      "include_descendants",
    );
    await expectInvalid(
      ledger.createWallet(project, { budget: 1, hardCap: raw("yes"), requestId: rid() }),
      "hard_cap",
    );
  });

  it("accepts every limit's boundary value and stores it exactly", async () => {
    const { ledger } = env();
    const longName = emoji.repeat(128);
    const metadata = {
      ...keys(14),
      ["k".repeat(64)]: `${emoji}${"v".repeat(255)}`,
      empty: "",
    };
    const root = await ledger.createWallet(project, {
      name: longName,
      budget: max,
      metadata,
      requestId: "r".repeat(128),
    });
    expect(root).toMatchObject({ name: longName, budget: max, metadata, available: max });
    expect(await ledger.getWallet(project, { walletId: root.id })).toEqual(root);
    const service = "s".repeat(64);
    const { line } = await ledger.spend(project, {
      walletId: root.id,
      amount: 1n,
      service,
      metadata,
      requestId: "x",
    });
    expect(line).toMatchObject({ amount: 1, service, metadata, requestId: "x" });
    const bigintBudget = await ledger.createWallet(project, {
      parentId: root.id,
      budget: 1000n,
      requestId: rid(),
    });
    expect(bigintBudget.budget).toBe(1000);
    const empty = await ledger.createWallet(project, { budget: 0, requestId: rid() });
    expect(empty).toMatchObject({ name: "", budget: 0, metadata: {} });
    const single = await ledger.spend(project, {
      walletId: root.id,
      amount: max - 1001,
      service: "s",
      requestId: rid(),
    });
    expect(single.remaining).toBe(0);
  });
});
