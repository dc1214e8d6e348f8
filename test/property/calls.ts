import { expect } from "vitest";
import type { Ledger } from "../../server/ledger/ledger.js";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import { Limits } from "../../server/ledger/limits.js";
import type { ChargeLine } from "../../server/ledger/types.js";
import { project } from "../conformance/harness.js";
import type {
  AddCreditsFields,
  AuthorizeFields,
  CreateWalletFields,
  ModelResult,
  ReferenceLedger,
  ResolveFields,
  SpendFields,
} from "./reference-model.js";

/** Sending one mutation to the ledger and the model side by side, and judging the reply. */

/** A mutation exactly as sent, so it can be sent again. */
export type Call =
  | { op: "createWallet"; input: CreateWalletFields }
  | { op: "addCredits"; input: AddCreditsFields }
  | { op: "closeWallet"; input: { walletId: string; requestId: string } }
  | { op: "spend"; input: SpendFields }
  | { op: "authorize"; input: AuthorizeFields }
  | { op: "capture"; input: Required<ResolveFields> }
  | { op: "void"; input: { holdId: string; requestId: string } };

export type Actual = { ok: true; value: unknown } | { ok: false; error: unknown };

export async function attempt(call: () => Promise<unknown>): Promise<Actual> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Runs one mutation on the ledger (as `asProject`) and on the model. */
export async function execute(
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
      const ttlSeconds =
        call.input.ttlSeconds === 0 ? Limits.holdTtlDefaultSeconds : call.input.ttlSeconds;
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
export function expectReply(actual: Actual, expected: ModelResult<unknown>, label: string): void {
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
export function comparable(lines: ChargeLine[]): string[] {
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
