import {
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
} from "@grpc/grpc-js";
import {
  type SpendRequest,
  type SpendResponse,
  type SpendStreamRequest,
  type SpendStreamResponse,
  WalletServiceService,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";

/** A running echo server. */
export interface EchoServer {
  address: string;
  close(): Promise<void>;
}

/**
 * The floor every tollgate row is compared with: a grpc-js server whose `Spend` and `SpendStream`
 * use the very method definitions (paths, ts-proto serializers and deserializers) tollgate
 * serves, so a generated `WalletServiceClient` calls it unchanged and every request is decoded and
 * every response encoded exactly as on the real server. What it leaves out is all tollgate adds:
 * no auth, no validation, no ledger, no Redis, no signing, no logging. `canned` should be a
 * realistic response (a real credential's length) so the bytes on the wire match too.
 */
export async function startEchoServer(canned: SpendResponse): Promise<EchoServer> {
  const server = new Server();
  server.addService(
    { spend: WalletServiceService.spend, spendStream: WalletServiceService.spendStream },
    {
      spend: ((_call, callback) => {
        callback(null, canned);
      }) satisfies handleUnaryCall<SpendRequest, SpendResponse>,
      spendStream: ((call) => {
        call.on("data", (message: SpendStreamRequest) => {
          call.write({ correlationId: message.correlationId, spend: canned });
        });
        call.on("end", () => call.end());
      }) satisfies handleBidiStreamingCall<SpendStreamRequest, SpendStreamResponse>,
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams a client forgot to end would hold tryShutdown forever.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}
