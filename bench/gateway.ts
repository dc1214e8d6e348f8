import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { JSONWebKeySet } from "jose";
import { Agent, request } from "undici";
import { verifyCredential } from "../client/verify.js";
import { type RunStats, summarize } from "./stats.js";

/**
 * `npm run bench:gateway`: a paid call through the gateway against the same call made directly to
 * the same local upstream, in one run, as ratios (issue 9's goals: p50 latency at most 1.5x the
 * direct call's, throughput at least 0.5x), and what verifying a credential costs per call.
 *
 * - direct: undici `request` to the upstream with its secret, as a tool holding the key would;
 * - gateway: the same call to `/<service>/...` with an agent key and `tollgate-wallet`, so each
 *   call is authenticated, scope-checked, charged (a Spend on the memory store), forwarded with
 *   the secret, relayed back with the secret masked, and logged: everything a paid call costs.
 *
 * The server and upstream run in a child process (bench/gateway-targets.ts), the load here.
 * Latency is measured one call at a time (p50, p99); throughput with `--concurrency` calls in
 * flight. Each row runs against an upstream answering at once (the gateway's own cost at its
 * most visible: an extra HTTP hop, a charge, a signature) and one taking `--upstream-ms` (what a
 * paid API's answer takes). Flags: --seconds (default 3) per measurement, --concurrency (16),
 * --verifications (2000), --upstream-ms (comma-separated delays, default "0,20").
 */
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    verifications: { type: "string", default: "2000" },
    "upstream-ms": { type: "string", default: "0,20" },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const verifications = Number(values.verifications);
const upstreamDelays = values["upstream-ms"].split(",").map(Number);

/** Starts bench/gateway-targets.ts with an upstream answering after `upstreamMs`. */
async function startTargets(upstreamMs: number) {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/gateway-targets.ts"], {
    env: { ...process.env, TOLLGATE_BENCH_UPSTREAM_MS: String(upstreamMs) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  const targets = JSON.parse(line) as {
    upstreamUrl: string;
    secret: string;
    gatewayUrl: string;
    walletId: string;
    agentKey: string;
    jwks: JSONWebKeySet;
    tokens: string[];
  };
  return { ...targets, stop: () => child.stdin.end() };
}

const client = new Agent({ connections: concurrency * 2 });

/** Runs `call` with `inFlight` concurrent loops for `forSeconds`; every answer must be 200. */
async function measure(
  call: () => ReturnType<typeof request>,
  inFlight: number,
  forSeconds: number,
): Promise<RunStats> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + forSeconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const began = performance.now();
        try {
          const answer = await call();
          await answer.body.text();
          if (answer.statusCode !== 200) throw new Error(`status ${answer.statusCode}`);
          latencies.push(performance.now() - began);
        } catch {
          errors++;
        }
      }
    }),
  );
  return summarize(latencies, performance.now() - start, errors);
}

const f = (n: number, digits = 2) => n.toFixed(digits);
const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
console.log("| gateway row | direct | gateway | ratio | goal | verdict |");
console.log("| --- | --- | --- | --- | --- | --- |");
let errors = 0;
let verifyUs = Number.NaN;
for (const upstreamMs of upstreamDelays) {
  const targets = await startTargets(upstreamMs);
  const direct = () =>
    request(`${targets.upstreamUrl}items`, {
      dispatcher: client,
      headers: { authorization: `Bearer ${targets.secret}` },
    });
  const viaGateway = () =>
    request(`${targets.gatewayUrl}items`, {
      dispatcher: client,
      headers: {
        authorization: `Bearer ${targets.agentKey}`,
        "tollgate-wallet": targets.walletId,
        "x-request-id": randomUUID(),
      },
    });
  // Warm up both paths (connections, JIT), then measure latency and throughput of each.
  await measure(direct, concurrency, Math.min(1, seconds));
  await measure(viaGateway, concurrency, Math.min(1, seconds));
  const directLatency = await measure(direct, 1, seconds);
  const gatewayLatency = await measure(viaGateway, 1, seconds);
  const directThroughput = await measure(direct, concurrency, seconds);
  const gatewayThroughput = await measure(viaGateway, concurrency, seconds);
  const upstreamLabel = upstreamMs === 0 ? "instant upstream" : `upstream taking ${upstreamMs} ms`;
  const latencyRatio = gatewayLatency.p50Ms / directLatency.p50Ms;
  const throughputRatio = gatewayThroughput.opsPerSec / directThroughput.opsPerSec;
  console.log(
    `| p50 latency, 1 in flight, ${upstreamLabel} (ms) | ${f(directLatency.p50Ms, 3)} | ${f(gatewayLatency.p50Ms, 3)} | ${f(latencyRatio)}x | <= 1.5x | ${verdict(latencyRatio <= 1.5)} |`,
  );
  console.log(
    `| p99 latency, 1 in flight, ${upstreamLabel} (ms) | ${f(directLatency.p99Ms, 3)} | ${f(gatewayLatency.p99Ms, 3)} | ${f(gatewayLatency.p99Ms / directLatency.p99Ms)}x | | |`,
  );
  console.log(
    `| throughput, ${concurrency} in flight, ${upstreamLabel} (calls/s) | ${f(directThroughput.opsPerSec, 0)} | ${f(gatewayThroughput.opsPerSec, 0)} | ${f(throughputRatio)}x | >= 0.5x | ${verdict(throughputRatio >= 0.5)} |`,
  );
  errors +=
    directLatency.errors +
    gatewayLatency.errors +
    directThroughput.errors +
    gatewayThroughput.errors;
  if (Number.isNaN(verifyUs)) {
    // What a gateway (or a paid tool) spends checking one credential: tollgate/verify, in process.
    const { jwks, tokens } = targets;
    for (const token of tokens) await verifyCredential(token, { jwks, service: "bench" });
    const verifyStart = performance.now();
    for (let i = 0; i < verifications; i++) {
      await verifyCredential(tokens[i % tokens.length] as string, { jwks, service: "bench" });
    }
    verifyUs = ((performance.now() - verifyStart) * 1000) / verifications;
  }
  targets.stop();
}
console.log(`| credential verification (us/call) | | ${f(verifyUs, 1)} | | | |`);
if (errors > 0) console.log(`errors: ${errors} calls failed (not in the figures)`);

await client.close();
