import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { EventService } from "../../gen/es/tollgate/v1/event_service_pb.js";
import { ReceiptService } from "../../gen/es/tollgate/v1/receipt_service_pb.js";
import { WalletService } from "../../gen/es/tollgate/v1/wallet_service_pb.js";
import type { TollgateServer, TollgateServerOptions } from "../../server/server.js";
import { startHarness } from "../rpc/harness.js";

/** The three ways a client can talk to the HTTP face. */
export type Protocol = "connect+json" | "connect+proto" | "grpc-web";

export const protocols: readonly Protocol[] = ["connect+json", "connect+proto", "grpc-web"];

/** A Connect transport of `protocol` to `baseUrl`, over HTTP/1.1 as curl and browsers use. */
export function transportFor(
  baseUrl: string,
  protocol: Protocol,
  headers: Record<string, string> = {},
): Transport {
  const withHeaders: Interceptor[] = [
    (next) => async (request) => {
      for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
      return next(request);
    },
  ];
  return protocol === "grpc-web"
    ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors: withHeaders })
    : createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: protocol === "connect+proto",
        interceptors: withHeaders,
      });
}

/** A real server with its HTTP face on 127.0.0.1:0, Connect clients, and its log lines. */
export interface HttpHarness {
  server: TollgateServer;
  /** `http://127.0.0.1:<http port>` */
  baseUrl: string;
  logs: Record<string, unknown>[];
  wallets(protocol: Protocol, apiKey?: string): Client<typeof WalletService>;
  receipts(protocol: Protocol, apiKey?: string): Client<typeof ReceiptService>;
  events(protocol: Protocol, apiKey?: string): Client<typeof EventService>;
  /** The `/metrics` text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server (memory store unless `store` is given) with its HTTP face. */
export async function startHttpHarness(
  options: Partial<TollgateServerOptions> = {},
): Promise<HttpHarness> {
  const { server, logs, close } = await startHarness({ httpAddress: "127.0.0.1:0", ...options });
  const baseUrl = `http://127.0.0.1:${server.httpPort}`;
  const auth = (apiKey?: string): Record<string, string> =>
    apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
  return {
    server,
    baseUrl,
    logs,
    wallets: (protocol, apiKey) =>
      createClient(WalletService, transportFor(baseUrl, protocol, auth(apiKey))),
    receipts: (protocol, apiKey) =>
      createClient(ReceiptService, transportFor(baseUrl, protocol, auth(apiKey))),
    events: (protocol, apiKey) =>
      createClient(EventService, transportFor(baseUrl, protocol, auth(apiKey))),
    async metrics() {
      const response = await fetch(`${baseUrl}/metrics`);
      return response.text();
    },
    close,
  };
}

export { until } from "../support/eventually.js";

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}
