import type { DescService } from "@bufbuild/protobuf";
import type { ServiceDefinition } from "@grpc/grpc-js";
import type { AccessPolicy } from "../auth/access-policy.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { AgentScope } from "../auth/caller.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { StreamStallLimit } from "./call-runner.js";
import type { OpenStreams } from "./open-streams.js";

/**
 * What every handler needs: the ledger (all business rules), auth, the call log and metrics, and
 * the registries of open streams that shutdown winds down.
 */
export interface RpcDependencies {
  ledger: Ledger;
  authenticator: Authenticator;
  /** What agent keys may do: checked after authentication, before the body runs. */
  access: AccessPolicy;
  logger: Logger;
  metrics: Metrics;
  /**
   * Where each open SpendStream registers, so the server's shutdown can wind them down at once
   * instead of waiting for the grace deadline. Unary handlers do not use it.
   */
  streams: OpenStreams;
  /**
   * Where each open server stream (WatchEvents, on either transport) registers, for the same
   * reason: it would otherwise stay open until its client leaves.
   */
  serverStreams: OpenStreams;
}

/** Per-call facts a handler body may use. */
export interface CallContext {
  /** The caller's project, resolved from its API key before the body runs. */
  project: string;
  /** The agent key's scope when the call carried one (already checked against the request). */
  agent: AgentScope | undefined;
  requestId: string;
}

/** Per-stream facts a server-streaming body may use. */
export interface StreamContext extends CallContext {
  /**
   * Aborted when the stream must end: the client cancelled or went away, or the server is
   * shutting down. The body then ends its iterable (returns, or throws anything: the adapter
   * already knows why the stream ends and ignores what an aborted body throws).
   */
  signal: AbortSignal;
}

/**
 * A unary handler body: decode -> ledger -> encode, nothing else. Its request and response are
 * the ts-proto messages; every transport (grpc-js, the HTTP face) runs the same body.
 */
export type UnaryBody<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/**
 * A server-streaming handler body: the messages to send, in order. The adapter sends the next one
 * only when the transport has taken the previous one (backpressure), ends the stream OK when the
 * iterable ends, and sends a thrown error as the stream's status.
 */
export type ServerStreamBody<Req, Res> = (
  request: Req,
  context: StreamContext,
) => AsyncIterable<Res>;

/** A unary or server-streaming body, as the service tables hold them. */
export type MethodBody = UnaryBody<never, unknown> | ServerStreamBody<never, unknown>;

/**
 * One service as both transports serve it: its protobuf-es descriptor (what the HTTP face routes
 * and parses with), its ts-proto grpc-js definition (the codecs), and its bodies by method
 * (`localName`, which is also the grpc-js definition's key). A method without a body (SpendStream)
 * is not served over HTTP.
 */
export interface ServedService {
  descriptor: DescService;
  definition: ServiceDefinition;
  bodies: Readonly<Record<string, MethodBody>>;
  /** Server-streaming methods' stall limits, by method (`localName`). */
  stallLimits?: Readonly<Record<string, StreamStallLimit<never>>>;
}
