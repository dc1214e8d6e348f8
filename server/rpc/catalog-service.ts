import type {
  CatalogEntry,
  CatalogServiceServer,
  ListServicesRequest,
  ListServicesResponse,
} from "../../gen/ts-proto/tollgate/v1/catalog_service.js";
import { type Catalog, type CatalogService, describeMeter } from "../catalog/catalog.js";
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import { unaryCall } from "./unary-call.js";

/** The transport-neutral bodies of CatalogService. */
export interface CatalogServiceBodies {
  listServices: UnaryBody<ListServicesRequest, ListServicesResponse>;
}

/**
 * The bodies of tollgate.v1.CatalogService: the caller's project's services, read-only. An agent
 * key bound to some services sees only those. Upstream addresses and secrets are never shown.
 */
export function catalogServiceBodies(catalog: Catalog): CatalogServiceBodies {
  return {
    async listServices(_req, { project, agent }) {
      const services = catalog
        .list(project)
        .filter((s) => !agent || agent.services.length === 0 || agent.services.includes(s.name));
      return { services: services.map(entryToMessage) };
    },
  };
}

/** grpc-js handlers of tollgate.v1.CatalogService: the bodies above. */
export function catalogServiceHandlers(
  deps: RpcDependencies,
  bodies: CatalogServiceBodies,
): CatalogServiceServer {
  return { listServices: unaryCall("ListServices", deps, bodies.listServices) };
}

function entryToMessage(s: CatalogService): CatalogEntry {
  return {
    name: s.name,
    price: s.price.kind === "fixed" ? BigInt(s.price.credits) : 0n,
    maxPrice: s.price.kind === "metered" ? BigInt(s.price.maxCredits) : 0n,
    meter: s.price.kind === "metered" ? describeMeter(s.price.meter) : "",
    methods: [...s.methods],
    pathPrefixes: [...s.pathPrefixes],
    timeoutMs: BigInt(s.timeoutMs),
  };
}
