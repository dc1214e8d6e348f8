/** What an agent key may reach: one wallet's subtree, and optionally only some services. */
export interface AgentScope {
  keyId: string;
  /** The wallet the key is bound to. */
  walletId: string;
  /** Its tree's root: an id of any other tree is out of scope without a lookup. */
  rootId: string;
  /** Services the key may pay for; empty means any. */
  services: readonly string[];
}

/** Who is calling: a project (by its project key, or open mode), and the agent key's scope if any. */
export interface Caller {
  project: string;
  /** Set when the call carried an agent key rather than a project key. */
  agent: AgentScope | undefined;
}
