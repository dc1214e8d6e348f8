import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scriptSources } from "../../../server/store/redis/commands.js";
import { luaConstantsInclude } from "../../../server/store/redis/reply-codes.js";

/**
 * The Lua files themselves: each opens with a header naming its KEYS, ARGV, reply and every
 * error code it can return (docs/architecture.md#lua-scripts, after BullMQ), and the loader
 * resolves includes once each.
 */
const dir = new URL("../../../server/store/redis/scripts/", import.meta.url);
const scripts = readdirSync(dir).filter((f) => f.endsWith(".lua"));
const errorCodes = new Map(
  [...luaConstantsInclude().matchAll(/^local (E_\w+) = (\d+)/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ]),
);

describe("script files", () => {
  it("are one per command, each with a header naming its keys, reply and error codes", () => {
    expect(scripts.length).toBe(scriptSources().size);
    for (const file of scripts) {
      const text = readFileSync(new URL(file, dir), "utf8");
      const header = text.slice(0, text.indexOf("]]"));
      const keyCount = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
      expect({ file, opens: text.startsWith("--[[") }).toEqual({ file, opens: true });
      for (let k = 1; k <= keyCount; k++) expect(header, file).toContain(`KEYS[${k}]`);
      expect(header, file).not.toContain(`KEYS[${keyCount + 1}]`);
      expect(header, file).toContain("Returns");
      const used = new Set([...text.matchAll(/refuse\((E_\w+)/g)].map((m) => m[1] as string));
      for (const code of used)
        expect(header, `${file} ${code}`).toContain(`{${errorCodes.get(code)}`);
    }
  });

  it("resolve each include once, dependencies first, with no include line left", () => {
    const spend = scriptSources().get("tollgate_v4_spend")?.lua ?? "";
    expect(spend).not.toMatch(/^--- @include/m);
    // Includes nest; each one's text is complete (everything it defines usable) at its end.
    const completed = [...spend.matchAll(/^-- end include "([a-z-]+)"/gm)].map((m) => m[1]);
    expect(completed).toEqual([
      "constants",
      "errors",
      "keys",
      "numbers",
      "events",
      "wallet",
      "lines",
      "holds",
      "close",
      "tree-format",
      "access",
      "idempotency",
      "line-reads",
      "spend",
    ]);
    // Reply codes and limits are generated from reply-codes.ts and limits.ts.
    expect(spend).toContain("local E_INSUFFICIENT_CREDITS = 4");
    expect(spend).toContain(`local MAX_CREDITS = ${Number.MAX_SAFE_INTEGER}`);
    // The key layout is generated from keys.ts.
    expect(spend).toContain('local function key_wallet(id) return TREE_BASE .. "w:" .. id end');
  });
});
