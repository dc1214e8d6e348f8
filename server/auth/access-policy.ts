import { isHoldId, isWalletId, treeOf } from "../ledger/ids.js";
import { LedgerError } from "../ledger/ledger-error.js";
import { Reason } from "../ledger/reasons.js";
import type { LedgerStore } from "../store/ledger-store.js";
import type { AgentScope, Caller } from "./caller.js";

/**
 * What an agent key may do (docs/credentials.md#agent-keys): spend, authorize, capture, void and
 * read within its wallet's subtree, and nothing else. Project keys are not limited here.
 *
 * The methods an agent key may call, with the request field naming the wallet (or hold) it acts
 * on. Every other method (minting keys, creating, topping up or closing wallets) is refused, and
 * so is a request that names no wallet where one scopes it (listing roots, project-wide events).
 */
const agentMethods: Readonly<Record<string, { field: "walletId" | "parentId" | "holdId" }>> = {
  GetWallet: { field: "walletId" },
  ListWallets: { field: "parentId" },
  Spend: { field: "walletId" },
  Authorize: { field: "walletId" },
  Capture: { field: "holdId" },
  Void: { field: "holdId" },
  GetReceipt: { field: "walletId" },
  ListBreakdown: { field: "walletId" },
  ListChildReceipts: { field: "walletId" },
  ListCharges: { field: "walletId" },
  WatchEvents: { field: "walletId" },
  ListEvents: { field: "walletId" },
};

/**
 * Methods that need no API key at all: a paid tool verifying or redeeming a credential holds none,
 * and the credential itself is what it presents. The call runner skips authentication for them.
 */
export const publicMethods: ReadonlySet<string> = new Set(["GetSigningKeys", "RedeemCredential"]);

/** Methods any caller may use whatever its key: they reveal nothing beyond the key's own scope. */
const unscopedMethods = new Set(["ListServices"]);

/** Parent links and hold owners remembered: neither ever changes once written. */
const maxRemembered = 100_000;

/**
 * Checks an agent key's call against its scope. A wallet of another tree is refused from its id
 * alone; within the tree, a wallet is in scope when the key's wallet is it or one of its
 * ancestors, which takes one read per wallet never seen before (parent links are cached for
 * good). A hold is in scope when its wallet is.
 */
export class AccessPolicy {
  private readonly parents = new Map<string, string>();
  private readonly holdWallets = new Map<string, string>();

  constructor(
    private readonly store: LedgerStore,
    private readonly now: () => number,
  ) {}

  /**
   * Resolves when `caller` may make this call, else throws PERMISSION_DENIED with reason
   * AGENT_KEY_NOT_ALLOWED, OUTSIDE_AGENT_SCOPE or SERVICE_NOT_ALLOWED.
   */
  async check(caller: Caller, method: string, request: unknown): Promise<void> {
    const agent = caller.agent;
    if (agent === undefined || unscopedMethods.has(method)) return;
    const rule = agentMethods[method];
    if (rule === undefined) {
      throw new LedgerError(
        Reason.AgentKeyNotAllowed,
        `agent keys cannot call ${method}: they spend, authorize, capture, void and read within their wallet's subtree`,
        { method },
      );
    }
    const fields = (request ?? {}) as Record<string, unknown>;
    const id = typeof fields[rule.field] === "string" ? (fields[rule.field] as string) : "";
    const field = snake(rule.field);
    if (id === "") {
      throw new LedgerError(
        Reason.AgentKeyNotAllowed,
        `agent keys must name a wallet in ${field}: they reach only their own subtree`,
        { method, field },
      );
    }
    const service = fields.service;
    if (
      (method === "Spend" || method === "Authorize") &&
      agent.services.length > 0 &&
      typeof service === "string" &&
      !agent.services.includes(service)
    ) {
      throw new LedgerError(
        Reason.ServiceNotAllowed,
        `this agent key may pay only for ${agent.services.join(", ")}`,
        { service: service.slice(0, 64), field: "service" },
      );
    }
    if (
      !(await this.inScope(caller.project, agent, rule.field === "holdId" ? "hold" : "wallet", id))
    ) {
      throw new LedgerError(
        Reason.OutsideAgentScope,
        `${field} is outside this agent key's wallet ${agent.walletId} and its subtree`,
        { field, wallet_id: agent.walletId },
      );
    }
  }

  /**
   * True when `id` is within the key's subtree. An id this store cannot resolve (malformed, or a
   * wallet or hold of the key's tree that does not exist) counts as in scope when it is in the
   * key's tree, so the ledger answers it as for anyone (INVALID_ARGUMENT, not found).
   */
  private async inScope(
    project: string,
    agent: AgentScope,
    kind: "wallet" | "hold",
    id: string,
  ): Promise<boolean> {
    if (!(kind === "wallet" ? isWalletId(id) : isHoldId(id))) return true;
    if (treeOf(id) !== agent.rootId) return false;
    if (agent.walletId === agent.rootId) return true;
    let walletId: string | undefined = id;
    if (kind === "hold") {
      walletId = await this.holdWallet(id);
      if (walletId === undefined) return true;
    }
    while (walletId !== undefined && walletId !== "") {
      if (walletId === agent.walletId) return true;
      walletId = await this.parentOf(project, walletId);
    }
    return false;
  }

  private async parentOf(project: string, walletId: string): Promise<string | undefined> {
    const known = this.parents.get(walletId);
    if (known !== undefined) return known;
    let parentId: string;
    try {
      parentId = (await this.store.getWallet({ project, walletId, nowMs: this.now() })).parentId;
    } catch (error) {
      // A wallet that is not there is simply not an ancestor; an outage fails the call closed.
      if (error instanceof LedgerError && error.reason === Reason.WalletNotFound) return undefined;
      throw error;
    }
    remember(this.parents, walletId, parentId);
    return parentId;
  }

  private async holdWallet(holdId: string): Promise<string | undefined> {
    const known = this.holdWallets.get(holdId);
    if (known !== undefined) return known;
    const walletId = await this.store.holdWalletId(holdId);
    if (walletId !== undefined) remember(this.holdWallets, holdId, walletId);
    return walletId;
  }
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= maxRemembered) map.clear();
  map.set(key, value);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
