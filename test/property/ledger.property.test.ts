import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { rootIdFor } from "../../server/ledger/ids.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { Limits } from "../../server/ledger/limits.js";
import type {
  ChargeLine,
  EventPosition,
  LedgerEvent,
  Metadata,
} from "../../server/ledger/types.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
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
import { attempt, type Call, comparable, execute, expectReply } from "./calls.js";
import { type Scenario, scenarioArb } from "./operations.js";
import { ReferenceLedger, type SpendFields } from "./reference-model.js";

/**
 * Random sequences of ledger operations, run against a store (through the real `Ledger`) and
 * against the reference model side by side. Every reply must match the model's (same value, or a
 * refusal the model allows), and after every step the whole tree must equal the model's and
 * satisfy the five invariants of docs/ledger.md#invariants, and the tree's event log (alerts
 * included) must equal the model's.
 */

const maxDepth = 4;
const services = ["search", "llm", "scrape"] as const;
const agents = [undefined, "planner", "critic"] as const;
/** Alert thresholds a wallet is created with: the default, or one of a few (one unsorted). */
const thresholdChoices = [undefined, [10], [90, 30, 60], [100, 250, 1000]] as const;
const thresholds = (i: number) => {
  const choice = thresholdChoices[i % thresholdChoices.length];
  return choice === undefined ? undefined : [...choice];
};

/** The tree's whole event log, paged as a watcher reads it. */
async function treeEvents(store: LedgerStore, rootId: string, nowMs: number) {
  const events: LedgerEvent[] = [];
  let after: EventPosition | undefined;
  for (;;) {
    const read = await store.readEvents({
      project,
      walletId: rootId,
      after,
      limit: Limits.rowsPerScript,
      nowMs,
    });
    events.push(...read.events);
    after = read.scannedTo;
    if (after === undefined || after.seq >= read.head.seq) return events;
  }
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
        alertThresholds: thresholds(scenario.rootThresholds),
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
      const withAgent = (i: number): Metadata => {
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
                alertThresholds: thresholds(op.thresholds),
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
        case "capture": {
          const holdId = pickHold(op.hold);
          const held = model.holds.get(holdId)?.amount ?? 1;
          await send(
            {
              op: "capture",
              input: {
                holdId,
                // Within the hold, or (one time in six) one credit more than it.
                amount: op.over ? held + 1 : 1 + ((op.amount - 1) % held),
                // Overrides the hold's agent when it names one, adds keys the hold lacks.
                metadata: { ...withAgent(op.agent), stage: "captured", tokens: String(op.amount) },
                requestId,
              },
            },
            label,
          );
          break;
        }
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
          // Closing the root ends the scenario's interesting part: one close in eight targets it.
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
      // Receipts are checked against the lines (checkTree), and the lines against the model.
      model.getWallet(project, rootId, clock.now());
      const state = await treeState(ledger, rootId);
      expect(state.wallets, `${label}: wallets`).toEqual(model.treeViews(rootId));
      expect(comparable(state.lines), `${label}: lines`).toEqual(comparable(model.lines));
      checkTree(state);
      expect(await treeEvents(opened.store, rootId, clock.now()), `${label}: events`).toEqual(
        model.events.get(rootId),
      );
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
