import { createConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import type { Compression, UniversalHandler } from "@connectrpc/connect/protocol";
import type { RpcDependencies, ServedService, ServerStreamBody, UnaryBody } from "../rpc/bodies.js";
import { connectServerStream, connectUnary } from "./connect-call.js";
import { loggedRefusals } from "./request-refusals.js";
import { tolerantHandler } from "./tolerant-requests.js";

/** Limits of the Connect router, the same as grpc-js's. */
export interface ConnectRouteOptions {
  /** Largest request message accepted (`maxMessageBytes`). */
  readMaxBytes: number;
  /** Largest response message sent. */
  writeMaxBytes: number;
  /** Accepted request compressions, also offered for responses. */
  compressions: Compression[];
}

/**
 * The HTTP face's RPC handlers by request path (`/tollgate.v1.WalletService/Spend`): every unary
 * and server-streaming body of `services` over the Connect protocol and gRPC-Web, JSON or binary.
 * The gRPC protocol is left to grpc-js on its own port. A method without a body (SpendStream:
 * bidirectional streaming needs HTTP/2 end to end, which curl and browsers on HTTP/1.1 cannot
 * do) is answered by Connect itself: 505 over HTTP/1.1.
 *
 * Each handler is wrapped twice: {@link tolerantHandler} checks the body first (so an undecodable
 * one is refused MALFORMED_REQUEST by the adapter, as on grpc-js), and {@link loggedRefusals}
 * logs and counts the requests Connect refuses before any adapter runs.
 */
export function connectHandlers(
  deps: RpcDependencies,
  services: readonly ServedService[],
  options: ConnectRouteOptions,
): Map<string, UniversalHandler> {
  const router = createConnectRouter({
    grpc: false,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    acceptCompression: options.compressions,
    // As tolerant-requests.ts decodes: an unknown JSON field is an error, not silently dropped.
    jsonOptions: { ignoreUnknownFields: false },
  });
  for (const service of services) {
    const implementation: Record<string, unknown> = {};
    for (const method of service.descriptor.methods) {
      const body = service.bodies[method.localName];
      const codecs = service.definition[method.localName];
      if (body === undefined || codecs === undefined) continue;
      if (method.methodKind === "unary") {
        implementation[method.localName] = connectUnary(
          deps,
          method,
          codecs,
          body as UnaryBody<never, unknown>,
        );
      } else if (method.methodKind === "server_streaming") {
        implementation[method.localName] = connectServerStream(
          deps,
          method,
          codecs,
          body as ServerStreamBody<never, unknown>,
          service.stallLimits?.[method.localName],
        );
      }
    }
    router.service(
      service.descriptor,
      implementation as Partial<ServiceImpl<typeof service.descriptor>>,
    );
  }
  const tolerance = { readMaxBytes: options.readMaxBytes, compressions: options.compressions };
  return new Map(
    router.handlers.map((handler) => [
      handler.requestPath,
      loggedRefusals(tolerantHandler(handler, tolerance), deps.logger, deps.metrics),
    ]),
  );
}
