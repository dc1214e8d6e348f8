import { Agent } from "undici";
import type { CatalogService } from "../catalog/catalog.js";

/**
 * One undici connection pool per catalog service, with the service's timeout on each phase:
 * connecting, waiting for the answer's headers, and every gap in its body (so a stream may last
 * as long as it keeps sending, and a stalled one is cut). Pools are per service, not per origin,
 * so two services on one host keep their own timeouts. Redirects are never followed (undici
 * follows none unless asked): a 3xx goes back to the agent as it came.
 */
export class UpstreamDispatchers {
  private readonly agents = new Map<CatalogService, Agent>();

  /** The pool of `service`, made on first use. */
  for(service: CatalogService): Agent {
    let agent = this.agents.get(service);
    if (agent === undefined) {
      agent = new Agent({
        connectTimeout: service.timeoutMs,
        headersTimeout: service.timeoutMs,
        bodyTimeout: service.timeoutMs,
        // Idle upstream connections are reused for a while, then let go.
        keepAliveTimeout: 10_000,
      });
      this.agents.set(service, agent);
    }
    return agent;
  }

  /** Closes every pool, cutting what is still open (the gateway's listener is closed already). */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.destroy().catch(() => {})));
  }
}
