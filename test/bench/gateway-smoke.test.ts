import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("npm run bench:gateway", () => {
  it("measures the direct and the gateway call and prints the rows with a verdict", async () => {
    const { stdout } = await run("npx", [
      "tsx",
      "bench/gateway.ts",
      "--seconds",
      "0.2",
      "--concurrency",
      "2",
      "--upstream-ms",
      "0",
      "--verifications",
      "10",
    ]);
    const rows = stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"));
    expect(rows.map((r) => r.split("|")[1]?.trim().split(",")[0])).toEqual([
      "gateway row",
      "p50 latency",
      "p99 latency",
      "throughput",
      "credential verification (us/call)",
    ]);
    expect(rows[1]).toMatch(/\| (PASS|MISS) \|$/);
    expect(stdout).not.toContain("errors:");
  });
});
