import { describe, expect, it } from "vitest";
import { canonicalJson, inputFingerprint } from "../../middleware/fingerprint.js";
import { warningCodes } from "./fixture.js";

const hex16 = /^[0-9a-f]{16}$/;

describe("canonicalJson and inputFingerprint", () => {
  it("writes what JSON drops from an array as null, as JSON.stringify does", () => {
    const items = [undefined, () => 1, Symbol("s"), Number.NaN, Number.POSITIVE_INFINITY, 1];
    expect(canonicalJson(items)).toBe(JSON.stringify(items));
    expect(canonicalJson(items)).toBe("[null,null,null,null,null,1]");
  });

  it("a JSON round trip of an input fingerprints like the original", () => {
    const input = {
      query: "cats",
      tags: ["a", undefined, Number.NaN, () => "f"],
      limit: Number.NEGATIVE_INFINITY,
      when: new Date("2024-01-02T03:04:05Z"),
      callback: () => "dropped",
      marker: Symbol("dropped"),
      nothing: undefined,
      nested: [{ z: 1, a: [Symbol("s")] }],
    };
    const retried: unknown = JSON.parse(JSON.stringify(input));
    expect(canonicalJson(retried)).toBe(canonicalJson(input));
    expect(inputFingerprint(retried)).toBe(inputFingerprint(input));
  });

  it("keeps fingerprints of plain JSON inputs", () => {
    expect(inputFingerprint("cats")).toBe("f1dbebe12b350336");
    expect(inputFingerprint({ query: "cats", limit: 3 })).toBe("4c84457219914f5c");
    expect(inputFingerprint({ limit: 3, query: "cats" })).toBe("4c84457219914f5c");
  });

  it("tells RegExps apart by source and flags", () => {
    expect(inputFingerprint(/a/g)).not.toBe(inputFingerprint(/b/g));
    expect(inputFingerprint(/a/g)).not.toBe(inputFingerprint(/a/i));
    expect(inputFingerprint(/a/g)).toBe(inputFingerprint(/a/g));
    expect(inputFingerprint(/a/g)).not.toBe(inputFingerprint({}));
    expect(inputFingerprint(/a/g)).not.toBe(inputFingerprint("/a/g"));
  });

  it("spells Maps, Sets and cycles in a way no plain object or string can", () => {
    const map = new Map<unknown, unknown>([
      ["a", 1],
      ["b", 2],
    ]);
    const set = new Set(["a", "b"]);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const lookalikes: unknown[] = [
      {
        "<Map>": [
          ["a", 1],
          ["b", 2],
        ],
      },
      { "<Set>": ['"a"', '"b"'] },
      { "<Set>": ["a", "b"] },
      { self: "[Circular]" },
      [
        "\u0000Map",
        [
          ["a", 1],
          ["b", 2],
        ],
      ],
      "\u0000Circular",
      { self: "\u0000Circular" },
    ];
    const tagged = [map, set, cycle].map(canonicalJson);
    for (const lookalike of lookalikes) {
      expect(tagged).not.toContain(canonicalJson(lookalike));
    }
    expect(new Set(tagged).size).toBe(3);
    // Entries are sorted: insertion order does not matter.
    expect(canonicalJson(new Map([...map].reverse()))).toBe(canonicalJson(map));
    expect(canonicalJson(new Set([...set].reverse()))).toBe(canonicalJson(set));
    expect(canonicalJson(new Map([["k", undefined]]))).not.toBe(
      canonicalJson(new Map([["k", null]])),
    );
  });

  describe("never throws: an unreadable input gets a random fingerprint and a warning", () => {
    const unreadable: [string, () => unknown][] = [
      [
        "a throwing getter",
        () => ({
          get query(): string {
            throw new Error("no query");
          },
        }),
      ],
      [
        "a throwing toJSON",
        () => ({
          toJSON() {
            throw new Error("no JSON");
          },
        }),
      ],
      [
        "20,000-deep arrays",
        () => {
          let value: unknown = 0;
          for (let i = 0; i < 20_000; i++) value = [value];
          return value;
        },
      ],
      [
        "20,000-deep objects",
        () => {
          let value: unknown = 0;
          for (let i = 0; i < 20_000; i++) value = { next: value };
          return value;
        },
      ],
    ];
    it.each(unreadable)("%s", async (_name, make) => {
      const input = make();
      const fingerprints: string[] = [];
      const codes = await warningCodes(async () => {
        fingerprints.push(inputFingerprint(input, "search"));
        fingerprints.push(inputFingerprint(input, "search"));
      });
      expect(codes).toEqual([
        "TOLLGATE_UNFINGERPRINTABLE_INPUT",
        "TOLLGATE_UNFINGERPRINTABLE_INPUT",
      ]);
      expect(fingerprints[0]).toMatch(hex16);
      expect(fingerprints[1]).toMatch(hex16);
      // Random: no de-duplication for such a call.
      expect(fingerprints[0]).not.toBe(fingerprints[1]);
    });
  });
});
