import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

// Keeps `npm run bench:fairness` from rotting: a tiny run (its own redis-server and server
// process, a few hundred holds) must exit 0 with every correctness check passed. Timing is
// never asserted: PASS or MISS on a shared machine says nothing about the code.
describe("fairness bench smoke run", () => {
  it("runs the whole scenario small and passes its correctness checks", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/fairness.ts",
        "--holds",
        "300",
        "--children",
        "150",
        "--trees",
        "2",
        "--idle-ms",
        "1000",
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));

    expect(code, output).toBe(0);
    expect(output).toContain("| idle |");
    expect(output).toContain("| loaded (E-1 s until A is done) |");
    expect(output).toMatch(/Goal: .* (PASS|MISS)$/m);
    expect(output).toContain("### Redis SLOWLOG");
    const passed = output.match(/^- PASS correctness: .*$/gm) ?? [];
    expect(passed, output).toHaveLength(5);
    expect(output).toContain("- PASS correctness: 300 holds expired on A's hold trees");
    expect(output).toContain("- PASS correctness: the close left the wide root and all 150 of 150");
    expect(output).not.toMatch(/^- FAIL/m);
  }, 60_000);
});
