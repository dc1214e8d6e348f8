import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("npm run bench:codecs", () => {
  it("measures both stacks and the bridge, and prints one table row each", async () => {
    const { stdout } = await run("npx", [
      "tsx",
      "bench/codecs.ts",
      "--ops",
      "200",
      "--rounds",
      "1",
    ]);
    const rows = stdout.split("\n").filter((l) => /^\| (ts-proto|protobuf-es|bridge)/.test(l));
    expect(rows.map((r) => r.split("|")[1]?.trim())).toEqual([
      "ts-proto SpendRequest encode+decode",
      "protobuf-es SpendRequest create+toBinary+fromBinary",
      "ts-proto SpendResponse encode+decode",
      "protobuf-es SpendResponse create+toBinary+fromBinary",
      "bridge per call (es req -> ts-proto, ts-proto res -> es)",
    ]);
    for (const row of rows) expect(Number(row.split("|")[2])).toBeGreaterThan(0);
  });
});
