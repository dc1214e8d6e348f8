import { Catalog } from "../catalog/catalog.js";
import { isHoldId, isWalletId, treeOf } from "../ledger/ids.js";
import { LedgerError } from "../ledger/ledger-error.js";
import { Reason } from "../ledger/reasons.js";
import { snakeCase } from "../ledger/validation.js";
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
  private readonly holds = new Map<string, { walletId: string; service: string }>();

  constructor(
    private readonly store: LedgerStore,
    private readonly now: () => number,
    /** Holds on its services are the gateway's to settle. */
    private readonly catalog: Catalog = Catalog.empty(),
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
    const field = snakeCase(rule.field);
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
    let walletId = id;
    if (rule.field === "holdId" && isHoldId(id) && treeOf(id) === agent.rootId) {
      walletId = await this.holdWalletForAgent(caller.project, id, method);
    }
    if (!(await this.inScope(caller.project, agent, walletId))) {
      throw new LedgerError(
        Reason.OutsideAgentScope,
        `${field} is outside this agent key's wallet ${agent.walletId} and its subtree`,
        { field, wallet_id: agent.walletId },
      );
    }
  }

  /**
   * True when wallet `id` is within the key's subtree. A malformed id counts as in scope when it
   * names no other tree, so the ledger answers it as for anyone (INVALID_ARGUMENT); so does a
   * wallet of the key's tree that does not exist (WALLET_NOT_FOUND).
   */
  private async inScope(project: string, agent: AgentScope, id: string): Promise<boolean> {
    if (!isWalletId(id)) return !isHoldId(id) || treeOf(id) === agent.rootId;
    if (treeOf(id) !== agent.rootId) return false;
    if (agent.walletId === agent.rootId) return true;
    let walletId: string | undefined = id;
    while (walletId !== undefined && walletId !== "") {
      if (walletId === agent.walletId) return true;
      walletId = await this.parentOf(project, walletId);
    }
    return false;
  }

  /**
   * The wallet of a hold an agent key wants to capture or void. A hold that does not exist yet is
   * refused HOLD_NOT_FOUND here, not left to the ledger: hold ids are predictable, and a capture
   * racing a sibling's authorize must not land on the sibling's hold. A hold on a catalog service
   * is settled by the gateway (or a project key), never by an agent key: an agent that could void
   * or capture its own catalog hold could have the gateway forward a call it no longer pays for.
   */
  private async holdWalletForAgent(
    project: string,
    holdId: string,
    method: string,
  ): Promise<string> {
    let known = this.holds.get(holdId);
    if (known === undefined) {
      const info = await this.store.holdInfo(holdId);
      if (info === undefined) {
        throw new LedgerError(Reason.HoldNotFound, "no such hold", { hold_id: holdId });
      }
      known = { walletId: info.walletId, service: info.service };
      if (this.holds.size >= maxRemembered) this.holds.clear();
      this.holds.set(holdId, known);
    }
    if (this.catalog.find(project, known.service) !== undefined) {
      throw new LedgerError(
        Reason.AgentKeyNotAllowed,
        `holds on catalog service ${known.service} are settled by the gateway (or a project key), not by an agent key`,
        { method, hold_id: holdId },
      );
    }
    return known.walletId;
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
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= maxRemembered) map.clear();
  map.set(key, value);
}
