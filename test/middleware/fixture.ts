import { Writable } from "node:stream";
import { type Charge, createClient, type TollgateClient, type Wallet } from "../../client/index.js";
import { createLogger } from "../../server/logger.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";

export { stores };

/** A real server on 127.0.0.1:0 over `store`, and a real client of it. */
export interface Fixture {
  server: TollgateServer;
  client: TollgateClient;
  /** `method` of every call line the server logged, in order (`Authorize`, `SpendStream.Capture`...). */
  methods: string[];
  /** A fresh hard-capped root wallet (its own tree, so call ids never meet another test's). */
  wallet(budget: number, name?: string): Promise<Wallet>;
  close(): Promise<void>;
}

export async function startFixture(
  opened: StoreUnderTest,
  mode: "unary" | "stream" = "unary",
): Promise<Fixture> {
  const methods: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        const { method, msg } = JSON.parse(line) as { method?: string; msg?: string };
        if (msg === "rpc" && method !== undefined) methods.push(method);
      }
      done();
    },
  });
  // Debug: streamed operations are logged at debug, unary calls at info.
  const server = await startTollgateServer({
    store: opened.store,
    address: "127.0.0.1:0",
    logger: createLogger("debug", sink),
  });
  const client = createClient({ address: server.address, mode });
  return {
    server,
    client,
    methods,
    wallet: (budget, name = "task") => client.wallets.create({ name, budget }),
    async close() {
      client.close();
      await server.shutdown();
      await opened.cleanup();
    },
  };
}

/** The figures a test asserts after a workload, re-read from the server. */
export async function figures(wallet: Wallet) {
  const receipt = await wallet.getReceipt();
  return {
    available: receipt.available,
    totalCredits: receipt.totalCredits,
    callCount: receipt.callCount,
    voidedHoldCredits: receipt.voidedHoldCredits,
    voidedHoldCount: receipt.voidedHoldCount,
  };
}

/** Every receipt line of `wallet`, oldest first, as what the audit trail says. */
export async function lines(
  wallet: Wallet,
): Promise<Pick<Charge, "kind" | "amount" | "service" | "requestId" | "metadata">[]> {
  const all: Charge[] = [];
  for await (const page of wallet.listCharges()) all.push(...page);
  return all
    .filter((line) => line.kind !== "ALLOCATION")
    .map(({ kind, amount, service, requestId, metadata }) => ({
      kind,
      amount,
      service,
      requestId,
      metadata,
    }));
}
