import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { rootIdFor } from "../../server/ledger/ids.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import { Limits } from "../../server/ledger/limits.js";
import type { ChargeLine } from "../../server/ledger/types.js";
import {
  credentialTtlMs,
  fakeClock,
  otherProject,
  project,
  type StoreFactory,
  storeFactories,
  treeState,
} from "../conformance/harness.js";
import { checkTree } from "../conformance/tree-invariants.js";
import { type ModelResult, ReferenceLedger } from "./reference-model.js";

/**
 * Random sequences of ledger operations, run against a store (through the real `Ledger`) and
 * against the reference model side by side. Every reply must match the model's (same value, or a
 * refusal the model allows), and after every step the whole tree must equal the model's and
 * satisfy the five invariants of DESIGN.md.
 */

const maxDepth = 4;
const defaultTtlSeconds = Limits.holdTtlDefaultSeconds;
const services = ["search", "llm", "scrape"] as const;
const agents = [undefined, "planner", "critic"] as const;

type Op =
  | { kind: "child"; parent: number; budget: number; hardCap: boolean | undefined }
  | {
      kind: "spend";
      wallet: number;
      amount: number;
      exact: boolean;
      service: number;
      agent: number;
    }
  | {
      kind: "authorize";
      wallet: number;
      amount: number;
      ttlSeconds: number;
      service: number;
      agent: number;
    }
  | { kind: "capture"; hold: number; amount: number; over: boolean; agent: number }
  | { kind: "void"; hold: number }
  | { kind: "addCredits"; wallet: number; amount: number }
  | { kind: "close"; wallet: number }
  | { kind: "advance"; ms: number }
  | { kind: "replay"; call: number }
  | { kind: "reuse"; call: number; wallet: number }
  | { kind: "foreign"; wallet: number; hold: number };

const index = fc.nat({ max: 50 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("child" as const),
      parent: index,
      budget: fc.integer({ min: 0, max: 400 }),
      hardCap: fc.constantFrom(undefined, true, false),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("spend" as const),
      wallet: index,
      amount: fc.integer({ min: 1, max: 120 }),
      exact: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      service: index,
      agent: index,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("authorize" as const),
      wallet: index,
      amount: fc.integer({ min: 1, max: 150 }),
      ttlSeconds: fc.constantFrom(0, 1, 5, 60),
      service: index,
      agent: index,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("capture" as const),
      hold: index,
      amount: fc.integer({ min: 1, max: 150 }),
      over: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      agent: index,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("void" as const), hold: index }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("addCredits" as const),
      wallet: index,
      amount: fc.integer({ min: 1, max: 200 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const), wallet: index }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.constantFrom(1, 999, 1000, 5000, 60_000, 300_000),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("replay" as const), call: index }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("reuse" as const), call: index, wallet: index }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("foreign" as const), wallet: index, hold: index }),
  },
);

interface Scenario {
  rootBudget: number;
  rootHardCap: boolean;
  ops: Op[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  rootBudget: fc.integer({ min: 0, max: 1000 }),
  rootHardCap: fc.boolean(),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40, size: "max" }),
});

/** A mutation exactly as sent, so it can be sent again. */
type Call =
  | { op: "createWallet"; input: CreateFields }
  | { op: "addCredits"; input: AddCreditsFields }
  | { op: "closeWallet"; input: { walletId: string; requestId: string } }
  | { op: "spend"; input: SpendFields }
  | { op: "authorize"; input: SpendFields & { ttlSeconds: number } }
  | { op: "capture"; input: { holdId: string; amount: number; metadata: Meta; requestId: string } }
  | { op: "void"; input: { holdId: string; requestId: string } };

type Meta = Record<string, string>;
interface CreateFields {
  parentId: string;
  name: string;
  budget: number;
  hardCap: boolean | undefined;
  metadata: Meta;
  requestId: string;
}
interface AddCreditsFields {
  walletId: string;
  amount: number;
  metadata: Meta;
  requestId: string;
}
interface SpendFields {
  walletId: string;
  amount: number;
  service: string;
  metadata: Meta;
  requestId: string;
}

type Actual = { ok: true; value: unknown } | { ok: false; error: unknown };

async function attempt(call: () => Promise<unknown>): Promise<Actual> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Runs one mutation on the ledger (as `asProject`) and on the model. */
async function execute(
  ledger: Ledger,
  model: ReferenceLedger,
  call: Call,
  nowMs: number,
  asProject = project,
): Promise<{ actual: Actual; expected: ModelResult<unknown> }> {
  switch (call.op) {
    case "createWallet":
      return {
        actual: await attempt(() => ledger.createWallet(asProject, call.input)),
        expected: model.createWallet(asProject, call.input, nowMs),
      };
    case "addCredits":
      return {
        actual: await attempt(() => ledger.addCredits(asProject, call.input)),
        expected: model.addCredits(asProject, call.input, nowMs),
      };
    case "closeWallet":
      return {
        actual: await attempt(() => ledger.closeWallet(asProject, call.input)),
        expected: model.closeWallet(asProject, call.input, nowMs),
      };
    case "spend":
      return {
        actual: await attempt(() => ledger.spend(asProject, call.input)),
        expected: model.spend(asProject, call.input, nowMs),
      };
    case "authorize": {
      // 0 asks for the default lifetime; the model takes the lifetime itself.
      const ttlSeconds = call.input.ttlSeconds === 0 ? defaultTtlSeconds : call.input.ttlSeconds;
      return {
        actual: await attempt(() => ledger.authorize(asProject, call.input)),
        expected: model.authorize(asProject, { ...call.input, ttlSeconds }, nowMs),
      };
    }
    case "capture":
      return {
        actual: await attempt(() => ledger.capture(asProject, call.input)),
        expected: model.resolve(asProject, call.input, nowMs),
      };
    case "void":
      return {
        actual: await attempt(() => ledger.void(asProject, call.input)),
        expected: model.resolve(asProject, call.input, nowMs),
      };
  }
}

/** The reply must be the model's value, or one of the refusals the model allows. */
function expectReply(actual: Actual, expected: ModelResult<unknown>, label: string): void {
  if (expected.ok) {
    if (!actual.ok)
      throw new Error(`${label}: expected success, got ${describeError(actual.error)}`);
    const { credential: _credential, ...value } = actual.value as Record<string, unknown>;
    expect(value, label).toEqual(expected.value);
    return;
  }
  if (actual.ok) {
    throw new Error(
      `${label}: expected ${expected.refusals.map((r) => r.reason).join(" or ")}, got success ${JSON.stringify(actual.value)}`,
    );
  }
  expect(actual.error, label).toBeInstanceOf(LedgerError);
  const error = actual.error as LedgerError;
  const allowed = expected.refusals.find((r) => r.reason === error.reason);
  if (allowed === undefined) {
    throw new Error(
      `${label}: expected ${expected.refusals.map((r) => r.reason).join(" or ")}, got ${describeError(error)}`,
    );
  }
  expect(error.metadata, label).toMatchObject(allowed.metadata);
}

function describeError(error: unknown): string {
  return error instanceof LedgerError
    ? `${error.reason} ${JSON.stringify(error.metadata)} (${error.message})`
    : String(error);
}

/** Lines as comparable records: ids and metadata of void/expire lines are not specified. */
function comparable(lines: ChargeLine[]): string[] {
  return lines
    .map((line) => {
      const released = line.kind === "void" || line.kind === "expire";
      const fields: Record<string, unknown> = released
        ? { ...line, id: undefined, metadata: undefined }
        : { ...line, metadata: Object.entries(line.metadata).sort() };
      return JSON.stringify(Object.entries(fields).sort());
    })
    .sort();
}

/** Runs one scenario on a fresh store; throws at the first disagreement. */
async function runScenario(
  factory: StoreFactory,
  issuer: CredentialIssuer,
  scenario: Scenario,
): Promise<void> {
  const opened = await factory.open({ maxDepth });
  try {
    const clock = fakeClock();
    const ledger = new Ledger(opened.store, issuer, { now: clock.now });
    const model = new ReferenceLedger(maxDepth);
    const calls: Call[] = [];
    const tokens = new Map<string, string>();
    let requestSeq = 0;
    const nextRequestId = () => `r${++requestSeq}`;

    const send = async (call: Call, label: string, asProject = project) => {
      const { actual, expected } = await execute(ledger, model, call, clock.now(), asProject);
      expectReply(actual, expected, label);
      // Exactly once, seen from the caller: a repeated request gets the very same credential.
      if (actual.ok && (call.op === "spend" || call.op === "authorize")) {
        const { credential } = actual.value as {
          credential: { token: string; expiresAtMs: number };
        };
        const key = `${call.op}:${call.input.requestId}`;
        const first = tokens.get(key) ?? credential.token;
        tokens.set(key, first);
        expect(credential.token, `${label}: credential on replay`).toBe(first);
        const issuedAtMs =
          call.op === "spend"
            ? (actual.value as { line: ChargeLine }).line.createdAtMs
            : (actual.value as { hold: { createdAtMs: number } }).hold.createdAtMs;
        expect(credential.expiresAtMs).toBe(Math.floor(issuedAtMs / 1000) * 1000 + credentialTtlMs);
      }
      if (asProject === project) calls.push(call);
    };

    const rootCall: Call = {
      op: "createWallet",
      input: {
        parentId: "",
        name: "task",
        budget: scenario.rootBudget,
        hardCap: scenario.rootHardCap,
        metadata: {},
        requestId: nextRequestId(),
      },
    };
    await send(rootCall, "create root");
    const rootId = rootIdFor(project, rootCall.input.requestId);

    for (const [step, op] of scenario.ops.entries()) {
      const label = `step ${step} ${JSON.stringify(op)}`;
      const wallets = model.treeViews(rootId);
      const pickWallet = (i: number) => wallets[i % wallets.length]?.id as string;
      // Mostly open holds (so captures and voids mostly land), sometimes any hold ever made, and
      // an id that names no hold when there is none.
      const holds = [...model.holds.values()];
      const open = holds.filter((h) => h.status === "open");
      const pool = (i: number) => (i % 3 === 0 || open.length === 0 ? holds : open);
      const pickHold = (i: number) => {
        const from = pool(i);
        return from[Math.floor(i / 3) % Math.max(from.length, 1)]?.id ?? `${rootId}.h999`;
      };
      const agent = (i: number) => agents[i % agents.length];
      const withAgent = (i: number): Meta => {
        const name = agent(i);
        return name === undefined ? {} : { agent: name };
      };
      const requestId = nextRequestId();
      switch (op.kind) {
        case "child":
          await send(
            {
              op: "createWallet",
              input: {
                parentId: pickWallet(op.parent),
                name: `w${step}`,
                budget: op.budget,
                hardCap: op.hardCap,
                metadata: {},
                requestId,
              },
            },
            label,
          );
          break;
        case "spend":
          await send(
            {
              op: "spend",
              input: {
                walletId: pickWallet(op.wallet),
                // One time in five, exactly what the wallet has left: the cap's boundary.
                amount: op.exact
                  ? Math.max(1, wallets[op.wallet % wallets.length]?.available ?? 1)
                  : op.amount,
                service: services[op.service % services.length] as string,
                metadata: withAgent(op.agent),
                requestId,
              },
            },
            label,
          );
          break;
        case "authorize":
          await send(
            {
              op: "authorize",
              input: {
                walletId: pickWallet(op.wallet),
                amount: op.amount,
                service: services[op.service % services.length] as string,
                metadata: { ...withAgent(op.agent), stage: "reserved" },
                ttlSeconds: op.ttlSeconds,
                requestId,
              },
            },
            label,
          );
          break;
        case "capture":
          await send(
            {
              op: "capture",
              input: {
                holdId: pickHold(op.hold),
                // Within the hold, or (one time in six) more than it.
                amount: op.over
                  ? (model.holds.get(pickHold(op.hold))?.amount ?? 0) + 1
                  : 1 + ((op.amount - 1) % (model.holds.get(pickHold(op.hold))?.amount ?? 1)),
                // Overrides the hold's agent when it names one, adds a key the hold lacks.
                metadata: { ...withAgent(op.agent), stage: "captured", tokens: String(op.amount) },
                requestId,
              },
            },
            label,
          );
          break;
        case "void":
          await send({ op: "void", input: { holdId: pickHold(op.hold), requestId } }, label);
          break;
        case "addCredits":
          await send(
            {
              op: "addCredits",
              input: {
                walletId: pickWallet(op.wallet),
                amount: op.amount,
                metadata: {},
                requestId,
              },
            },
            label,
          );
          break;
        case "close": {
          // Closing the root ends the scenario's interesting part: only one close in eight.
          const children = wallets.slice(1);
          const walletId =
            children.length === 0 || op.wallet % 8 === 0
              ? rootId
              : (children[op.wallet % children.length]?.id as string);
          await send({ op: "closeWallet", input: { walletId, requestId } }, label);
          break;
        }
        case "advance":
          clock.advance(op.ms);
          break;
        case "replay":
          await send(calls[op.call % calls.length] as Call, `${label} (replay)`);
          break;
        case "reuse": {
          // Any earlier call, the root's creation included: its request id is the tree's too.
          const earlier = calls[op.call % calls.length] as Call;
          const input: SpendFields = {
            walletId: pickWallet(op.wallet),
            amount: 1,
            service: "reused",
            metadata: {},
            requestId: earlier.input.requestId,
          };
          await send({ op: "spend", input }, `${label} (reuse)`);
          break;
        }
        case "foreign": {
          const walletId = pickWallet(op.wallet);
          const holdId = pickHold(op.hold);
          await send(
            { op: "spend", input: { walletId, amount: 1, service: "x", metadata: {}, requestId } },
            `${label} (other project)`,
            otherProject,
          );
          await send(
            { op: "void", input: { holdId, requestId } },
            `${label} (other project)`,
            otherProject,
          );
          const read = await attempt(() => ledger.getWallet(otherProject, { walletId }));
          expectReply(read, model.getWallet(otherProject, walletId, clock.now()), label);
          break;
        }
      }

      // The whole tree, as any caller would see it, equals the model and keeps the invariants.
      model.getWallet(project, rootId, clock.now());
      const state = await treeState(ledger, rootId);
      expect(state.wallets, `${label}: wallets`).toEqual(model.treeViews(rootId));
      expect(comparable(state.lines), `${label}: lines`).toEqual(comparable(model.lines));
      checkTree(state);
    }
  } finally {
    await opened.dispose();
  }
}

describe.each(storeFactories)("ledger against the reference model ($name store)", (factory) => {
  let issuer: CredentialIssuer;
  beforeAll(async () => {
    issuer = await CredentialIssuer.create(undefined, credentialTtlMs);
  });

  it("agrees with the model on every reply and keeps the invariants after every step", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (scenario) => runScenario(factory, issuer, scenario)),
      { numRuns: 100 },
    );
  });
});
