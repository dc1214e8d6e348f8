import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { credentials, Metadata } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { WalletServiceClient } from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { Sample, SpenderResult } from "./fairness-processes.js";
import "./fairness-probe.js";

/**
 * Project B's spender for `npm run bench:fairness`, in a process of its own (started by
 * fairness-processes.ts): unary Spend of 1 credit through the generated stub, one in flight, as
 * an agent would. Commands on stdin, one answer line each on stdout: `ready`, `run <phase>`
 * (spend until the next command, labelling samples), `pause`, `finish` (answers every sample as
 * JSON, then exits).
 *
 * Meanwhile it PINGs Redis on a connection of its own every 10 ms: what any other client of that
 * Redis waits, as opposed to what B waits through the server's one shared connection.
 */
const settings = JSON.parse(process.env.FAIRNESS_SPENDER ?? "{}") as {
  address: string;
  apiKey: string;
  walletId: string;
  redisUrl: string;
};
const client = new WalletServiceClient(settings.address, credentials.createInsecure());
const metadata = new Metadata();
metadata.set("authorization", `Bearer ${settings.apiKey}`);
const tag = randomBytes(4).toString("hex");
const samples: Sample[] = [];
const errors: string[] = [];
let sequence = 0;
let phase: string | undefined;
let loop: Promise<void> = Promise.resolve();
const pings: Sample[] = [];
const redis = new Redis(settings.redisUrl);
redis.on("error", () => {});
let pinging = true;
const pinger = (async () => {
  while (pinging) {
    const label = phase;
    const atMs = Date.now();
    const start = performance.now();
    const ok = await redis.ping().then(
      () => true,
      () => false,
    );
    if (label !== undefined) pings.push({ phase: label, atMs, ms: performance.now() - start, ok });
    await new Promise((r) => setTimeout(r, 10));
  }
})();

function spendOnce(label: string): Promise<void> {
  sequence += 1;
  const request = {
    walletId: settings.walletId,
    amount: 1n,
    service: "search",
    metadata: { agent: "b-agent" },
    requestId: `b-${tag}-${sequence}`,
  };
  const atMs = Date.now();
  const start = performance.now();
  return new Promise((resolve) => {
    client.spend(request, metadata, { deadline: Date.now() + 60_000 }, (error) => {
      samples.push({ phase: label, atMs, ms: performance.now() - start, ok: !error });
      if (error && errors.length < 20) errors.push(`${label}: ${error.message}`);
      resolve();
    });
  });
}

async function spendWhile(label: string): Promise<void> {
  while (phase === label) await spendOnce(label);
}

async function stopSpending(): Promise<void> {
  phase = undefined;
  await loop;
}

createInterface({ input: process.stdin }).on("line", async (line) => {
  const [command, arg = ""] = line.trim().split(" ");
  if (command === "ready") {
    process.stdout.write("ok\n");
  } else if (command === "run") {
    await stopSpending();
    phase = arg;
    loop = spendWhile(arg);
    process.stdout.write("ok\n");
  } else if (command === "pause") {
    await stopSpending();
    process.stdout.write("ok\n");
  } else if (command === "finish") {
    await stopSpending();
    pinging = false;
    await pinger;
    redis.disconnect();
    client.close();
    const result: SpenderResult = { samples, errors, pings };
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
  }
});
process.stdin.on("end", () => process.exit(0));
