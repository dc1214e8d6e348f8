import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { type HttpHarness, startHttpHarness, until } from "./harness.js";

const run = promisify(execFile);

/** The README's example address and wallet id, replaced by the test server's. */
const readmeAddress = "127.0.0.1:8080";
const readmeWallet = "w_6c90d3d1349c0490b16c5228";

/** The ```sh blocks of the README's "HTTP (Connect) face" section, in order. */
function curlBlocks(): string[] {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  const start = readme.indexOf("## HTTP (Connect) face");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? "");
}

describe("the README's curl commands", () => {
  let h: HttpHarness | undefined;
  let watcher: ChildProcess | undefined;
  afterEach(async () => {
    if (watcher?.pid !== undefined && watcher.exitCode === null) process.kill(-watcher.pid);
    watcher = undefined;
    await h?.close();
    h = undefined;
  });

  it("create a wallet, spend, are refused, and watch the spend arrive, with curl", async () => {
    const blocks = curlBlocks();
    expect(blocks).toHaveLength(3);
    const [create = "", spend = "", watch = ""] = blocks;
    const key = /TOLLGATE_API_KEY=(\S+)/.exec(create)?.[1] ?? "";
    expect(key).not.toBe("");
    h = await startHttpHarness({ apiKeys: [{ project: "demo", keySha256: hashApiKey(key) }] });
    const address = `127.0.0.1:${h.server.httpPort}`;
    const here = (block: string, walletId = "") =>
      block.replaceAll(readmeAddress, address).replaceAll(readmeWallet, walletId);
    // POSIX sh, as the README promises (dash on Debian), with the variables the blocks export.
    const sh = async (block: string, env: Record<string, string> = {}) =>
      (await run("sh", ["-c", block], { env: { ...process.env, ...env } })).stdout;

    const created = JSON.parse(await sh(here(create))) as { wallet: { id: string } };
    const walletId = created.wallet.id;
    expect(walletId).toMatch(/^w_[0-9a-f]{24}$/);
    const env = { TOLLGATE_API_KEY: key, WALLET: walletId };

    let streamed = "";
    watcher = spawn("sh", ["-c", here(watch, walletId)], {
      env: { ...process.env, ...env },
      detached: true,
    });
    watcher.stdout?.on("data", (chunk: Buffer) => {
      streamed += chunk.toString("latin1");
    });
    await until(() => streamed.includes('{"checkpoint":"'), "the watch's checkpoint");

    const spent = JSON.parse(await sh(here(spend, walletId), env)) as Record<string, unknown>;
    expect(spent).toMatchObject({
      charge: { kind: "CHARGE_KIND_SPEND", amount: "25", service: "search", requestId: "call-1" },
      remaining: "975",
    });
    expect(spent.credential).toMatch(/^eyJ/);

    // The refusal shown in the README: the same command asking for 2000.
    const tooMuch = here(spend, walletId)
      .replace('"amount":"25"', '"amount":"2000"')
      .replace('"call-1"', '"call-2"');
    const refused = JSON.parse(await sh(tooMuch, env)) as Record<string, unknown>;
    expect(refused).toMatchObject({
      code: "failed_precondition",
      message: `wallet ${walletId} has 975 credits available, 2000 requested`,
      details: [
        {
          type: "google.rpc.ErrorInfo",
          debug: {
            reason: "INSUFFICIENT_CREDITS",
            domain: "tollgate.dev",
            metadata: { wallet_id: walletId, requested: "2000", available: "975" },
          },
        },
      ],
    });

    await until(() => streamed.includes('"kind":"EVENT_KIND_SPEND"'), "the spend event");
    const event = /\{"event":.*\}\}/.exec(streamed)?.[0] ?? "";
    expect(JSON.parse(event)).toMatchObject({
      event: {
        kind: "EVENT_KIND_SPEND",
        walletId,
        charge: { amount: "25", service: "search" },
        balances: { budget: "1000", spent: "25", available: "975" },
      },
    });
    // Each message came in its 5-byte envelope: flags 0, then its length.
    expect(streamed.charCodeAt(0)).toBe(0);
    const length = Buffer.from(streamed, "latin1").readUInt32BE(1);
    expect(streamed.slice(5, 5 + length)).toMatch(/^\{"checkpoint":"[^"]+"\}$/);
  });
});
