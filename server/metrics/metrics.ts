import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { BoundedLabelPairs } from "./bounded-label-pairs.js";

/** How a call reached the server: grpc-js, or the HTTP face's Connect or gRPC-Web protocol. */
export type Transport = "grpc" | "connect" | "grpc-web";

/** One finished call (or SpendStream operation), as {@link Metrics.observeCall} counts it. */
export interface ObservedCall {
  /** As in the call log: `Spend`, `SpendStream.Spend`, `WatchEvents`, ... */
  method: string;
  transport: Transport;
  /** As in the call log: a gRPC code name (`OK`, `FAILED_PRECONDITION`, ...). */
  code: string;
  /** The ErrorInfo reason of a refusal; undefined for OK and for unexpected errors. */
  reason: string | undefined;
  seconds: number;
  /** The caller's project once authenticated. */
  project: string | undefined;
  /** The response sent (a ts-proto message) when the call succeeded. */
  response: unknown;
}

/** Settings of {@link Metrics}. */
export interface MetricsOptions {
  /**
   * Distinct (project, service) pairs with series of their own (see {@link BoundedLabelPairs}).
   * Default 500 (`TollgateConfig.metricsMaxSpendLabelPairs` says why).
   */
  maxSpendLabelPairs?: number;
}

/** Default of {@link MetricsOptions.maxSpendLabelPairs}. */
export const defaultMaxSpendLabelPairs = 500;

/** ChargeKind SPEND and CAPTURE: the line kinds that debit a wallet. */
const debitKinds: ReadonlySet<number> = new Set([1, 2]);

/** Seconds; a unary call on a local Redis takes ~0.5-2 ms, a slow one tens of milliseconds. */
const callBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Seconds; one Lua script (or one memory-store operation) is tens of microseconds to a few ms. */
const storeBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
/** Seconds from an event's commit to its delivery to a watcher. */
const lagBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300];

/**
 * The server's Prometheus metrics, in a registry of their own (so several servers in one process,
 * as in tests, never share or clash), served as text on `GET /metrics` of the HTTP face. The
 * default process metrics (CPU, memory, event loop lag, GC, handles) are included.
 *
 * Metrics only observe: nothing here decides anything about a call, and nothing reads them back.
 * No label ever carries a secret: labels are method and code names, transports, store and
 * script names, reasons, project names (from the key configuration, never the keys) and services
 * (bounded, see below).
 *
 * | series | labels | what |
 * | --- | --- | --- |
 * | `tollgate_calls_total` | method, code, transport | calls (unary calls, finished server streams and SpendStream operations) |
 * | `tollgate_call_duration_seconds` | method, code, transport | their latency, as in the call log |
 * | `tollgate_refusals_total` | reason | calls refused with a ledger reason (INSUFFICIENT_CREDITS, ...) |
 * | `tollgate_spends_total` | project, service | debits posted (Spend, Capture), on any transport |
 * | `tollgate_credits_spent_total` | project, service | credits those debits took |
 * | `tollgate_store_script_duration_seconds` | store, script | each Redis script call (store="redis", script="spend", ...), or each memory-store operation (store="memory") |
 * | `tollgate_open_spend_streams` | | SpendStreams open now |
 * | `tollgate_open_server_streams` | method, transport | server streams open now; for method="WatchEvents" these are the event watchers |
 * | `tollgate_watcher_lag_seconds` | | commit-to-delivery delay of events sent to watchers ({@link observeWatcherLag}) |
 *
 * Label budget: `service` is chosen by callers, so (project, service) pairs are bounded per
 * process ({@link MetricsOptions.maxSpendLabelPairs}); past the budget, new pairs are counted as
 * `project="other", service="other"`, so sums over all series stay exact.
 *
 * For the EventService: the stream adapters count open watchers themselves
 * (`tollgate_open_server_streams`, on both transports), so a WatchEvents body only reports how
 * late each event reaches its watcher, with {@link observeWatcherLag} (`deps.metrics`).
 */
export class Metrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  private readonly calls: Counter<"method" | "code" | "transport">;
  private readonly callSeconds: Histogram<"method" | "code" | "transport">;
  private readonly refusals: Counter<"reason">;
  private readonly spends: Counter<"project" | "service">;
  private readonly creditsSpent: Counter<"project" | "service">;
  private readonly storeSeconds: Histogram<"store" | "script">;
  private readonly serverStreams: Gauge<"method" | "transport">;
  private readonly watcherLag: Histogram;
  private readonly spendLabels: BoundedLabelPairs;
  private openSpendStreams: () => number = () => 0;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.spendLabels = new BoundedLabelPairs(
      options.maxSpendLabelPairs ?? defaultMaxSpendLabelPairs,
    );
    collectDefaultMetrics({ register: this.registry });
    this.calls = new Counter({
      name: "tollgate_calls_total",
      help: "Calls, finished server streams and SpendStream operations, by method, code and transport.",
      labelNames: ["method", "code", "transport"],
      registers,
    });
    this.callSeconds = new Histogram({
      name: "tollgate_call_duration_seconds",
      help: "Latency of calls, server streams and SpendStream operations, by method, code and transport.",
      labelNames: ["method", "code", "transport"],
      buckets: callBuckets,
      registers,
    });
    this.refusals = new Counter({
      name: "tollgate_refusals_total",
      help: "Calls refused by the ledger, by ErrorInfo reason.",
      labelNames: ["reason"],
      registers,
    });
    this.spends = new Counter({
      name: "tollgate_spends_total",
      help: 'Debits posted (Spend and Capture lines), by project and service (bounded: the rest are "other").',
      labelNames: ["project", "service"],
      registers,
    });
    this.creditsSpent = new Counter({
      name: "tollgate_credits_spent_total",
      help: 'Credits debited by Spend and Capture, by project and service (bounded: the rest are "other").',
      labelNames: ["project", "service"],
      registers,
    });
    this.storeSeconds = new Histogram({
      name: "tollgate_store_script_duration_seconds",
      help: "Duration of each store script call (Redis) or store operation (memory), by store and script.",
      labelNames: ["store", "script"],
      buckets: storeBuckets,
      registers,
    });
    const openSpendStreams = () => this.openSpendStreams();
    new Gauge({
      name: "tollgate_open_spend_streams",
      help: "SpendStreams open now.",
      registers,
      collect() {
        this.set(openSpendStreams());
      },
    });
    this.serverStreams = new Gauge({
      name: "tollgate_open_server_streams",
      help: 'Server streams open now, by method and transport (method="WatchEvents": event watchers).',
      labelNames: ["method", "transport"],
      registers,
    });
    this.watcherLag = new Histogram({
      name: "tollgate_watcher_lag_seconds",
      help: "Delay from an event's commit to its delivery to a watcher.",
      buckets: lagBuckets,
      registers,
    });
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every series in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Counts one finished call: its code and latency, its refusal reason, and, when it posted a
   * debit (the response carries a SPEND or CAPTURE charge), the spend and its credits.
   */
  observeCall(call: ObservedCall): void {
    const labels = { method: call.method, code: call.code, transport: call.transport };
    this.calls.inc(labels);
    this.callSeconds.observe(labels, call.seconds);
    if (call.reason !== undefined) this.refusals.inc({ reason: call.reason });
    const debit = call.code === "OK" ? debitOf(call.response) : undefined;
    if (debit !== undefined && call.project !== undefined) {
      const pair = this.spendLabels.labels(call.project, debit.service);
      this.spends.inc(pair);
      this.creditsSpent.inc(pair, debit.amount);
    }
  }

  /** Times one store script call (or memory-store operation); see `LedgerStore.observeScripts`. */
  observeStoreScript(store: string, script: string, seconds: number): void {
    this.storeSeconds.observe({ store, script }, seconds);
  }

  /** Where `tollgate_open_spend_streams` reads its value at each scrape. */
  countSpendStreams(count: () => number): void {
    this.openSpendStreams = count;
  }

  /** A server stream opened; pair it with {@link serverStreamClosed}. */
  serverStreamOpened(method: string, transport: Transport): void {
    this.serverStreams.inc({ method, transport });
  }

  /** A server stream ended (however it ended). */
  serverStreamClosed(method: string, transport: Transport): void {
    this.serverStreams.dec({ method, transport });
  }

  /**
   * For a WatchEvents body: an event committed at `committedMs` (epoch ms) was handed to a watcher
   * now (`nowMs`). Negative delays (clock steps) count as 0.
   */
  observeWatcherLag(committedMs: number, nowMs: number): void {
    this.watcherLag.observe(Math.max(0, nowMs - committedMs) / 1000);
  }
}

/** The debit a response reports: its charge, when that charge is a SPEND or CAPTURE line. */
function debitOf(response: unknown): { service: string; amount: number } | undefined {
  if (typeof response !== "object" || response === null) return undefined;
  const charge = (response as { charge?: unknown }).charge;
  if (typeof charge !== "object" || charge === null) return undefined;
  const { kind, service, amount } = charge as {
    kind?: unknown;
    service?: unknown;
    amount?: unknown;
  };
  if (typeof kind !== "number" || !debitKinds.has(kind) || typeof service !== "string") {
    return undefined;
  }
  if (typeof amount !== "bigint" && typeof amount !== "number") return undefined;
  return { service, amount: Number(amount) };
}
