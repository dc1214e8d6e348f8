import { describe, expect, it } from "vitest";
import { isHoldId, isWalletId, rootIdFor, treeOf } from "../../server/ledger/ids.js";

describe("ids", () => {
  it("derives the same root id from the same project and request id", () => {
    const id = rootIdFor("acme", "run-42");
    expect(id).toMatch(/^w_[0-9a-f]{24}$/);
    expect(rootIdFor("acme", "run-42")).toBe(id);
    expect(isWalletId(id)).toBe(true);
  });

  it("derives different root ids for another project or request id", () => {
    const ids = new Set([
      rootIdFor("acme", "run-42"),
      rootIdFor("globex", "run-42"),
      rootIdFor("acme", "run-43"),
      rootIdFor("acmer", "un-42"),
    ]);
    expect(ids.size).toBe(4);
  });

  it("recognises wallet and hold ids of a tree and nothing else", () => {
    const root = rootIdFor("acme", "r");
    expect([root, `${root}.w1`, `${root}.w9999999999999999`].every(isWalletId)).toBe(true);
    expect(
      [
        "",
        "w_1",
        `${root}.`,
        `${root}.w0`,
        `${root}.w01`,
        `${root}.h1`,
        `${root}.w1.w2`,
        `${root}.w${"1".repeat(17)}`,
        root.toUpperCase(),
      ].some(isWalletId),
    ).toBe(false);
    expect(isHoldId(`${root}.h7`)).toBe(true);
    expect([root, `${root}.w7`, `${root}.c7`, `${root}.h0`].some(isHoldId)).toBe(false);
  });

  it("finds the tree of any id", () => {
    const root = rootIdFor("acme", "r");
    expect([root, `${root}.w3`, `${root}.h4`, `${root}.c5`].map(treeOf)).toEqual([
      root,
      root,
      root,
      root,
    ]);
  });
});
