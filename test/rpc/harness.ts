import { Writable } from "node:stream";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details.js";
import { Status } from "../../gen/ts-proto/google/rpc/status.js";
import { ReceiptServiceClient } from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import { WalletServiceClient } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { createLogger } from "../../server/logger.js";
import {
  startTollgateServer,
  type TollgateServer,
  type TollgateServerOptions,
} from "../../server/server.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";

/** A real server on 127.0.0.1:0 with real generated clients, and the log lines it wrote. */
export interface Harness {
  server: TollgateServer;
  wallets: WalletServiceClient;
  receipts: ReceiptServiceClient;
  /** Parsed JSON log lines, in order. */
  logs: Record<string, unknown>[];
  /** Closes the clients and shuts the server down. */
  close(): Promise<void>;
}

/**
 * Starts a server (memory store unless `store` is given) and connects clients to it. Log lines
 * are captured at `logLevel` (default `info`).
 */
export async function startHarness(options: Partial<TollgateServerOptions> = {}): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const server = await startTollgateServer({
    store: new MemoryLedgerStore(),
    address: "127.0.0.1:0",
    logger: createLogger(options.logLevel ?? "info", sink),
    ...options,
  });
  const wallets = new WalletServiceClient(server.address, credentials.createInsecure());
  const receipts = new ReceiptServiceClient(server.address, credentials.createInsecure());
  return {
    server,
    wallets,
    receipts,
    logs,
    async close() {
      wallets.close();
      receipts.close();
      await server.shutdown();
    },
  };
}

/** Metadata carrying `authorization: Bearer <key>` (or nothing). */
export function bearer(key?: string): Metadata {
  const metadata = new Metadata();
  if (key !== undefined) metadata.set("authorization", `Bearer ${key}`);
  return metadata;
}

export { call } from "../support/grpc.js";

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error("expected the call to fail");
}

/** google.rpc.Status decoded from `grpc-status-details-bin`, with its known details unpacked. */
export function statusDetails(error: ServiceError): {
  status: Status | undefined;
  errorInfo: ErrorInfo | undefined;
  badRequest: BadRequest | undefined;
} {
  const bin = error.metadata?.get("grpc-status-details-bin")[0];
  const status = bin instanceof Buffer ? Status.decode(bin) : undefined;
  return { status, ...unpackDetails(status) };
}

/**
 * The ErrorInfo and BadRequest packed in a google.rpc.Status: a unary call's trailer
 * ({@link statusDetails}) or a SpendStream operation's `error`.
 */
export function unpackDetails(status: Status | undefined): {
  errorInfo: ErrorInfo | undefined;
  badRequest: BadRequest | undefined;
} {
  const find = (type: string) =>
    status?.details.find((d) => d.typeUrl === `type.googleapis.com/${type}`);
  const info = find("google.rpc.ErrorInfo");
  const bad = find("google.rpc.BadRequest");
  return {
    errorInfo: info && ErrorInfo.decode(info.value),
    badRequest: bad && BadRequest.decode(bad.value),
  };
}

/** A CreateWallet request with defaults for the fields a test does not care about. */
export function createRequest(
  fields: { requestId: string; budget: bigint } & Partial<{
    parentId: string;
    name: string;
    hardCap: boolean;
    metadata: Record<string, string>;
    alertThresholds: number[];
  }>,
) {
  return {
    parentId: "",
    name: "",
    metadata: {},
    hardCap: undefined,
    alertThresholds: [],
    ...fields,
  };
}
