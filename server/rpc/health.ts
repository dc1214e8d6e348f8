import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { LedgerStore } from "../store/ledger-store.js";

/** Names the health service answers for: "" (the whole server) and each tollgate service. */
export const healthServiceNames = [
  "",
  "tollgate.v1.WalletService",
  "tollgate.v1.ReceiptService",
  "tollgate.v1.EventService",
  "tollgate.v1.AgentKeyService",
  "tollgate.v1.CredentialService",
  "tollgate.v1.CatalogService",
] as const;

/**
 * The standard grpc.health.v1 service, driven by the store: SERVING while `store.ping()`
 * succeeds, NOT_SERVING while it fails, so a load balancer stops sending spends to a replica whose
 * Redis is gone (they would all fail closed with UNAVAILABLE anyway). One ping at a time: a hung
 * ping is not stacked up behind another.
 */
export class StoreHealth {
  readonly implementation = new HealthImplementation(
    Object.fromEntries(healthServiceNames.map((name) => [name, "SERVING" as ServingStatus])),
  );
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;
  private stopped = false;

  constructor(
    private readonly store: LedgerStore,
    private readonly intervalMs: number,
  ) {}

  /** Starts probing. The timer is unref'd: health checks alone never keep the process alive. */
  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  /** Pings the store once and publishes the result. */
  async probe(): Promise<void> {
    if (this.pinging || this.stopped) return;
    this.pinging = true;
    try {
      await this.store.ping();
      this.set("SERVING");
    } catch {
      this.set("NOT_SERVING");
    } finally {
      this.pinging = false;
    }
  }

  /** NOT_SERVING for good: called first at shutdown so balancers drain this replica. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const name of healthServiceNames) this.implementation.setStatus(name, "NOT_SERVING");
  }

  private set(status: ServingStatus): void {
    if (this.stopped) return;
    for (const name of healthServiceNames) this.implementation.setStatus(name, status);
  }
}
