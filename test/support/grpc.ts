import {
  type CallOptions,
  type ClientUnaryCall,
  credentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details.js";
import { Status } from "../../gen/ts-proto/google/rpc/status.js";
import { ReceiptServiceClient } from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import { WalletServiceClient } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";

/** The callback-style signature every generated unary method has (its last overload). */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Generated grpc-js clients of both services on one address. */
export interface TestClients {
  wallets: WalletServiceClient;
  receipts: ReceiptServiceClient;
  /** Metadata to send with every call (the API key, if any). */
  metadata(): Metadata;
  close(): void;
}

/** Real generated clients, plaintext, against a server under test. */
export function connectClients(port: number, apiKey?: string): TestClients {
  const address = `127.0.0.1:${port}`;
  const wallets = new WalletServiceClient(address, credentials.createInsecure());
  const receipts = new ReceiptServiceClient(address, credentials.createInsecure());
  return {
    wallets,
    receipts,
    metadata() {
      const metadata = new Metadata();
      if (apiKey !== undefined) metadata.set("authorization", `Bearer ${apiKey}`);
      return metadata;
    },
    close() {
      wallets.close();
      receipts.close();
    },
  };
}

/** Calls a generated unary method as a promise: `await call(c.wallets, c.wallets.spend, req, md)`. */
export function call<C, Req, Res>(
  client: C,
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata = new Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, {}, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** The google.rpc.ErrorInfo a failed call carried in `grpc-status-details-bin`. */
export function errorInfoOf(error: unknown): ErrorInfo | undefined {
  const details = (error as ServiceError).metadata?.get("grpc-status-details-bin")[0];
  if (!(details instanceof Buffer)) return undefined;
  const any = Status.decode(details).details.find((d) =>
    d.typeUrl.endsWith("/google.rpc.ErrorInfo"),
  );
  return any ? ErrorInfo.decode(any.value) : undefined;
}

/** The value, or a test failure naming what was missing (proto3 message fields are optional). */
export function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what} in the response`);
  return value;
}
