import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKey, type Served, serve } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/spend-and-exit.ts", import.meta.url));

/**
 * A generous bound on the whole run (tsx start-up included), only so that a client that kept the
 * process alive fails the test instead of hanging it. It is a hang guard, not the assertion:
 * the fixture's own idle close is 10 minutes away when it calls close().
 */
const hangGuardMs = 25_000;

/** Runs the fixture; resolves with its exit code and output once it exits by itself. */
function run(address: string, close: boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fixture, address, apiKey, close ? "close" : "stay"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const killer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`still running ${hangGuardMs} ms after start; stdout: ${out} stderr: ${err}`),
      );
    }, hangGuardMs);
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, out: out + err });
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

  it("exits after tg.close()", async () => {
    // The idle close is 10 minutes away here: exiting at all means close() ended the stream.
    const { code, out } = await run(served.server.address, true);
    expect(out).toBe("spent, 9 left\nexiting\n");
    expect(code).toBe(0);
  });

  it("exits by itself once the idle stream closes, even without close()", async () => {
    const { code, out } = await run(served.server.address, false);
    expect(out).toBe("spent, 9 left\nexiting\n");
    expect(code).toBe(0);
  });
});
