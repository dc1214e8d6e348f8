import { Counter, Histogram, type Registry } from "prom-client";

/** How a gateway call ended, for `tollgate_gateway_requests_total{outcome}`. */
export type GatewayOutcome =
  /** Refused by the gateway before anything was forwarded (401, 402, 403, 413, ...). */
  | "refused"
  /** The upstream answered 2xx (the body may still have been cut: see the log line). */
  | "answered_2xx"
  | "answered_3xx"
  | "answered_4xx"
  | "answered_5xx"
  /** No answer: unreachable, or no headers within the timeout. */
  | "unreachable"
  | "timeout"
  /** The agent went away before the upstream answered. */
  | "cancelled";

/** Seconds, whole gateway call (a streamed answer counts until its end). */
const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The gateway's metrics, registered on the server's registry (so `/metrics` on the HTTP port
 * shows them). `service` is a catalog service's name or `unknown` for a name no catalog has,
 * so label values are bounded by the catalog, whatever paths agents try.
 *
 * | series | labels | what |
 * | --- | --- | --- |
 * | `tollgate_gateway_requests_total` | service, outcome | gateway calls, by how they ended |
 * | `tollgate_gateway_request_duration_seconds` | service, outcome | their duration |
 * | `tollgate_gateway_credits_total` | service, settlement | credits charged (`charge`) or captured (`capture`) for calls |
 */
export class GatewayMetrics {
  private readonly requests: Counter<"service" | "outcome">;
  private readonly seconds: Histogram<"service" | "outcome">;
  private readonly credits: Counter<"service" | "settlement">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: "tollgate_gateway_requests_total",
      help: "Gateway calls, by catalog service (unknown: not in any catalog) and outcome.",
      labelNames: ["service", "outcome"],
      registers,
    });
    this.seconds = new Histogram({
      name: "tollgate_gateway_request_duration_seconds",
      help: "Duration of gateway calls, streamed answers included, by service and outcome.",
      labelNames: ["service", "outcome"],
      buckets,
      registers,
    });
    this.credits = new Counter({
      name: "tollgate_gateway_credits_total",
      help: "Credits paid for gateway calls, by service and how (charge: spent up front; capture: a hold settled).",
      labelNames: ["service", "settlement"],
      registers,
    });
  }

  /** One finished call; `service` undefined when the name is in no catalog. */
  observe(service: string | undefined, outcome: GatewayOutcome, seconds: number): void {
    const labels = { service: service ?? "unknown", outcome };
    this.requests.inc(labels);
    this.seconds.observe(labels, seconds);
  }

  /** Credits a call paid. */
  paid(service: string, settlement: "charge" | "capture", credits: number): void {
    if (credits > 0) this.credits.inc({ service, settlement }, credits);
  }
}
