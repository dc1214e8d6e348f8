import type {
  CatalogEntry,
  CatalogServiceClient,
} from "../gen/ts-proto/tollgate/v1/catalog_service.js";
import type { CallOptions } from "./options.js";
import type { UnaryInvoker } from "./unary.js";

/**
 * One paid service of the caller's project, as the operator's catalog file declares it
 * (docs/credentials.md#the-service-catalog). Read-only: the upstream's address and secret are
 * never shown.
 */
export interface PaidService {
  /** The `service` of spends, the audience of credentials, the gateway's first path segment. */
  name: string;
  /** Credits per call; 0 for a metered service. */
  price: bigint;
  /** For a metered service, the most one call may cost (what its hold reserves); else 0. */
  maxPrice: bigint;
  /**
   * How a metered call's cost is read: `header:<name>`, `json:<path>`, `sse-events` or `lines`,
   * then ` x <credits>/<units>`; empty for a fixed price.
   */
  meter: string;
  /** HTTP methods the gateway forwards. */
  methods: string[];
  /** Path prefixes the gateway forwards. */
  pathPrefixes: string[];
  /** The upstream's timeout, in ms. */
  timeoutMs: number;
}

/** The caller's project's services by name (for an agent key: the ones it may pay for). */
export async function listServices(
  invoker: UnaryInvoker,
  stub: CatalogServiceClient,
  options?: CallOptions,
): Promise<PaidService[]> {
  const response = await invoker.call(stub, stub.listServices, {}, options, {});
  return response.services.map(toPaidService);
}

function toPaidService(entry: CatalogEntry): PaidService {
  return {
    name: entry.name,
    price: entry.price,
    maxPrice: entry.maxPrice,
    meter: entry.meter,
    methods: [...entry.methods],
    pathPrefixes: [...entry.pathPrefixes],
    timeoutMs: Number(entry.timeoutMs),
  };
}
