import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ChargeKind as EsChargeKind } from "../gen/es/tollgate/v1/charge_pb.js";
import {
  SpendRequestSchema,
  SpendResponseSchema,
} from "../gen/es/tollgate/v1/wallet_service_pb.js";
import { ChargeKind } from "../gen/ts-proto/tollgate/v1/charge.js";
import { SpendRequest, SpendResponse } from "../gen/ts-proto/tollgate/v1/wallet_service.js";

/**
 * `npm run bench:codecs`: what one Spend's request and response cost to encode and decode with
 * each generated stack, in µs per operation (docs/architecture.md#two-generated-stacks). It
 * measures the codecs alone, in this process, with realistic messages (a metadata label, a
 * ~330-character credential, a timestamp):
 *
 * - ts-proto: `encode().finish()` then `decode()`, what the grpc-js server does per call;
 * - protobuf-es: `create()`, `toBinary()` then `fromBinary()`;
 * - the bridge: what the Connect face adds per call on top of Connect's own parsing, a
 *   protobuf-es request `toBinary` -> ts-proto `decode`, and the ts-proto response `encode` ->
 *   protobuf-es `fromBinary`.
 *
 * Flags: --ops (default 100000) per measurement, --rounds (3): each measurement runs this often,
 * interleaved, after one warm-up round; the best round is reported (the least disturbed by other
 * work on a shared machine), in CPU time (steadier under contention) and wall time, with every
 * round's CPU time to show the spread.
 */
const { values } = parseArgs({
  options: {
    ops: { type: "string", default: "100000" },
    rounds: { type: "string", default: "3" },
  },
});
const ops = Number(values.ops);
const rounds = Number(values.rounds);

const metadata = { agent: "researcher", run: "2024-06-01T12:00:00Z#42" };
const request = {
  walletId: "w_09054a6524ca0cb2e22bb122.w3",
  amount: 1250n,
  service: "openai:gpt-4o",
  metadata,
  requestId: "call_8f14e45fceea167a5a36dedd4bea2543",
};
const createdAt = new Date(1_717_243_200_000);
const credential = `eyJhbGciOiJFZERTQSIsImtpZCI6InRnLTEifQ.${"x".repeat(220)}.${"s".repeat(86)}`;
const response = {
  charge: {
    id: "w_09054a6524ca0cb2e22bb122.c17",
    walletId: request.walletId,
    kind: ChargeKind.CHARGE_KIND_SPEND,
    amount: 1250n,
    service: request.service,
    metadata,
    overBudget: false,
    holdId: "",
    requestId: request.requestId,
    createdAt,
    hash: "5d41402abc4b2a76b9719d911017c592ae2f1b3c",
    prevHash: "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
    gatewayFailure: "",
  },
  remaining: 98_750n,
  credential,
  credentialExpiresAt: new Date(createdAt.getTime() + 60_000),
};
const esResponseInit = {
  ...response,
  charge: {
    ...response.charge,
    kind: EsChargeKind.SPEND,
    createdAt: timestampFromDate(createdAt),
  },
  credentialExpiresAt: timestampFromDate(response.credentialExpiresAt),
};

let sink = 0;

const measurements: Record<string, () => void> = {
  "ts-proto SpendRequest encode+decode": () => {
    const bytes = SpendRequest.encode(request).finish();
    sink += SpendRequest.decode(bytes).service.length;
  },
  "protobuf-es SpendRequest create+toBinary+fromBinary": () => {
    const bytes = toBinary(SpendRequestSchema, create(SpendRequestSchema, request));
    sink += fromBinary(SpendRequestSchema, bytes).service.length;
  },
  "ts-proto SpendResponse encode+decode": () => {
    const bytes = SpendResponse.encode(response).finish();
    sink += SpendResponse.decode(bytes).credential.length;
  },
  "protobuf-es SpendResponse create+toBinary+fromBinary": () => {
    const bytes = toBinary(SpendResponseSchema, create(SpendResponseSchema, esResponseInit));
    sink += fromBinary(SpendResponseSchema, bytes).credential.length;
  },
  "bridge per call (es req -> ts-proto, ts-proto res -> es)": () => {
    const esRequest = create(SpendRequestSchema, request);
    const decoded = SpendRequest.decode(toBinary(SpendRequestSchema, esRequest));
    sink += decoded.service.length;
    const esResponse = fromBinary(SpendResponseSchema, SpendResponse.encode(response).finish());
    sink += esResponse.credential.length;
  },
};

/** One round: wall-clock and CPU (user + system, this process) µs per operation. */
function run(body: () => void): { wall: number; cpu: number } {
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < ops; i += 1) body();
  const wall = ((performance.now() - started) * 1000) / ops;
  const cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / ops };
}

const results = new Map<string, { wall: number; cpu: number }[]>();
for (const body of Object.values(measurements)) run(body); // warm-up
for (let round = 0; round < rounds; round += 1) {
  for (const [name, body] of Object.entries(measurements)) {
    const list = results.get(name) ?? [];
    list.push(run(body));
    results.set(name, list);
  }
}

// The best round of each: on a shared machine, the one least slowed by others. CPU time leaves
// out the time the process waited for a core, so it is the steadier of the two.
process.stdout.write(`node ${process.version}, ${ops} ops per round, best of ${rounds}\n\n`);
process.stdout.write(
  "| measurement | CPU µs/op (best) | wall µs/op (best) | CPU µs/op per round |\n| --- | ---: | ---: | --- |\n",
);
for (const [name, list] of results) {
  const cpu = Math.min(...list.map((r) => r.cpu));
  const wall = Math.min(...list.map((r) => r.wall));
  const each = list.map((r) => r.cpu.toFixed(1)).join(" / ");
  process.stdout.write(`| ${name} | ${cpu.toFixed(2)} | ${wall.toFixed(2)} | ${each} |\n`);
}
if (sink === 0) process.stdout.write("(sink)\n");
