import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKey, type Served, serve } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/spend-and-exit.ts", import.meta.url));

/** Runs the fixture; resolves with its output and the ms between "spent" and its exit. */
function run(
  address: string,
  close: boolean,
): Promise<{ code: number | null; out: string; lingerMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fixture, address, apiKey, close ? "close" : "stay"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    let spentAt = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (spentAt === 0 && out.includes("spent")) spentAt = Date.now();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    // A client that kept the process alive would never exit: fail instead of hanging the run.
    const killer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running 15 s after start; stdout: ${out} stderr: ${err}`));
    }, 15_000);
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, out: out + err, lingerMs: Date.now() - spentAt });
    });
  });
}

/** The stream must not keep a Node process alive once nothing is pending. */
describe("process exit", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve();
  });
  afterAll(async () => {
    await served.dispose();
  });

  it("exits promptly after tg.close()", async () => {
    const { code, out, lingerMs } = await run(served.server.address, true);
    expect(out).toContain("spent, 9 left");
    expect(code).toBe(0);
    // The idle close is 10 minutes away here: only close() can have ended the stream.
    expect(lingerMs).toBeLessThan(5000);
  });

  it("exits by itself once the idle stream closes, even without close()", async () => {
    const { code, out, lingerMs } = await run(served.server.address, false);
    expect(out).toContain("spent, 9 left");
    expect(code).toBe(0);
    // The default idle close is 1000 ms; the rest is slack for a loaded machine.
    expect(lingerMs).toBeLessThan(5000);
  });
});
