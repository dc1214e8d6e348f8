/**
 * The page's clients of the server that served it: Connect protocol (binary) over fetch, to the
 * same origin and path the page came from, so there is no CORS and a reverse proxy that mounts
 * tollgate under a prefix keeps working.
 */
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { EventService } from "../../../gen/es/tollgate/v1/event_service_pb.js";
import { ReceiptService } from "../../../gen/es/tollgate/v1/receipt_service_pb.js";
import { WalletService } from "../../../gen/es/tollgate/v1/wallet_service_pb.js";

/** The three services the monitor reads. */
export interface Api {
  wallets: Client<typeof WalletService>;
  receipts: Client<typeof ReceiptService>;
  events: Client<typeof EventService>;
}

/** Clients that send `apiKey` as the server's other clients do (none in open mode). */
export function createApi(apiKey: string | undefined): Api {
  const authorize: Interceptor = (next) => (request) => {
    if (apiKey !== undefined) request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: new URL(".", window.location.href).href.replace(/\/$/, ""),
    useBinaryFormat: true,
    interceptors: [authorize],
  });
  return {
    wallets: createClient(WalletService, transport),
    receipts: createClient(ReceiptService, transport),
    events: createClient(EventService, transport),
  };
}
