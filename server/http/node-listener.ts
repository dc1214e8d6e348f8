import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BindError, type BindFace, type BindFailure } from "../bind-error.js";

/**
 * Listening and closing for tollgate's Node HTTP listeners (the HTTP face and the gateway): the
 * same bind errors, and the same graceful close, for both.
 */

const failures: ReadonlySet<string> = new Set<BindFailure>([
  "EADDRINUSE",
  "EACCES",
  "EADDRNOTAVAIL",
  "ENOTFOUND",
]);

/** Listens on host:port; a failure is a {@link BindError} naming the listener (`face`). */
export function listen(server: Server, address: string, face: BindFace): Promise<number> {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const failure = failures.has(error.code ?? "") ? (error.code as BindFailure) : undefined;
      reject(new BindError(address, failure, { cause: error }, face));
    };
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * `server.close()` stops accepting and closes idle keep-alive connections; busy ones become idle
 * when their response ends and are closed on the next sweep; whatever is left at `graceMs` is cut.
 */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
