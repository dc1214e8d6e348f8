import { Writable } from "node:stream";
import {
  type Charge,
  type ClientOptions,
  createClient,
  type TollgateClient,
  type Wallet,
} from "../../client/index.js";
import { createLogger } from "../../server/logger.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
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

/** What a test changes about the fixture: a wrapped store (faults), client options. */
export interface FixtureOptions {
  wrapStore?: (store: LedgerStore) => LedgerStore;
  client?: Partial<ClientOptions>;
}

export async function startFixture(
  opened: StoreUnderTest,
  mode: "unary" | "stream" = "unary",
  options: FixtureOptions = {},
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
    store: options.wrapStore ? options.wrapStore(opened.store) : opened.store,
    address: "127.0.0.1:0",
    logger: createLogger("debug", sink),
  });
  const client = createClient({ address: server.address, mode, ...options.client });
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

/**
 * The `code` of every process warning `run` emitted (`TOLLGATE_VOID_FAILED`, ...), in order,
 * after letting the warnings, which Node emits on the next tick, arrive.
 */
export async function warningCodes(run: () => Promise<unknown>): Promise<(string | undefined)[]> {
  const codes: (string | undefined)[] = [];
  const onWarning = (warning: Error) => codes.push((warning as Error & { code?: string }).code);
  process.on("warning", onWarning);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  return codes;
}

/**
 * The default request-id fingerprints (first 16 hex digits of SHA-256 over the canonical JSON)
 * of the inputs the tests use, spelled out so a change of the format shows up as a failure.
 */
export const fingerprints = {
  /** `"cats"` */
  cats: "f1dbebe12b350336",
  /** `"dogs"` */
  dogs: "ff745dcb57397865",
  /** `"q"` */
  q: "90edba1c9d0bb14e",
  /** `"https://example.com"` */
  exampleCom: "5775c078c67ebad4",
  /** `80` */
  n80: "48449a14a4ff7d79",
  /** `3` */
  n3: "4e07408562bedb8b",
  /** `5` */
  n5: "ef2d127de37b942b",
  /** `{"limit":3,"query":"cats"}` (whatever the key order) */
  catsLimit3: "4c84457219914f5c",
  /** `{"query":"rust"}` */
  rust: "bf3ba9c43a8ebae5",
  /** `{"query":"cats"}` */
  queryCats: "fbae22b83842e344",
  /** `{"query":"one"}` */
  queryOne: "2acbad37fb4c7218",
  /** `{"query":"two"}` */
  queryTwo: "bb33ca5e94d9013f",
  /** `{"query":"q"}` */
  queryQ: "cf11c31927352aea",
  /** `{"query":"x"}` */
  queryX: "3b7b5a17b6341261",
  /** `{"query":"tollgate"}` */
  queryTollgate: "01c68fe230180ae3",
  /** `{"pages":3}` */
  pages3: "77cfe6e04689b043",
  /** `{"pages":4}` */
  pages4: "3bdbecf5aabcc14e",
  /** `"https://a"` */
  httpsA: "671df295d7a8be58",
  /** `12` */
  n12: "6b51d431df5d7f14",
  /** `0` */
  n0: "5feceb66ffc86f38",
} as const;
