import { CredentialIssuer } from "../../../server/credentials/credential-issuer.js";
import { Ledger } from "../../../server/ledger/ledger.js";
import type { WalletView } from "../../../server/ledger/types.js";
import type { StoreOptions } from "../../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../../server/store/memory/memory-ledger-store.js";

/** 2025-01-01T00:00:00Z, so expected timestamps are plain sums. */
export const startMs = Date.UTC(2025, 0, 1);

/** The project every case acts as. */
export const project = "acme";

/** A ledger on a fresh memory store, with a clock the test moves by hand. */
export interface MemoryEnv {
  ledger: Ledger;
  store: MemoryLedgerStore;
  advance(ms: number): void;
  now(): number;
}

let issuer: Promise<CredentialIssuer> | undefined;

/** Builds a fresh env; the signing key is shared because generating keys is not under test. */
export async function memoryEnv(options?: StoreOptions): Promise<MemoryEnv> {
  issuer ??= CredentialIssuer.create(undefined, 60_000);
  let nowMs = startMs;
  const store = new MemoryLedgerStore(options);
  const ledger = new Ledger(store, await issuer, { now: () => nowMs });
  return {
    ledger,
    store,
    advance(ms) {
      nowMs += ms;
    },
    now: () => nowMs,
  };
}

let seq = 0;

/** A request id no other call in this run uses. */
export function rid(label = "req"): string {
  seq += 1;
  return `${label}-${seq}`;
}

/** A root wallet of `budget` credits (hard-capped unless told otherwise). */
export function root(ledger: Ledger, budget: number, hardCap?: boolean): Promise<WalletView> {
  return ledger.createWallet(project, { name: "task", budget, hardCap, requestId: rid("root") });
}

/** A child of `parentId` with `budget` credits. */
export function child(ledger: Ledger, parentId: string, budget: number): Promise<WalletView> {
  return ledger.createWallet(project, { parentId, name: "agent", budget, requestId: rid("child") });
}
