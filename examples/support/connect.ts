/**
 * How every example reaches a tollgate: the server at `TOLLGATE_ADDRESS` (with
 * `TOLLGATE_API_KEY` when it has keys), or, when that is unset, an embedded server on a free port
 * over the in-memory store, so an example runs with nothing else started. `TOLLGATE_MODE=stream`
 * sends every charge over the client's multiplexed SpendStream instead of one RPC each.
 */
import {
  createClient,
  type Mode,
  type TollgateClient,
  UnavailableError,
} from "../../client/index.js";
import { createLogger } from "../../server/logger.js";
import { startTollgateServer } from "../../server/server.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";

/** What an example's body gets: a connected client, where it points, and the charging mode. */
export interface ExampleContext {
  tg: TollgateClient;
  /** Where the client points, for the example's first line of output. */
  where: string;
  mode: Mode;
}

/**
 * Runs `body` with a client, then closes the client (and the embedded server, if one was
 * started). An unreachable server ends the process with exit code 1 and a hint, not a stack.
 */
export async function runExample(
  body: (context: ExampleContext) => Promise<void>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const mode: Mode = env.TOLLGATE_MODE === "stream" ? "stream" : "unary";
  const address = env.TOLLGATE_ADDRESS || undefined;
  const embedded = address
    ? undefined
    : await startTollgateServer({
        store: new MemoryLedgerStore(),
        address: "127.0.0.1:0",
        // Silent: an example's output is its story, not the server's call log.
        logger: createLogger("silent"),
      });
  const target = address ?? embedded?.address ?? "";
  const tg = createClient({ address: target, apiKey: env.TOLLGATE_API_KEY || undefined, mode });
  const where = embedded ? `embedded in-memory server at ${target}` : target;
  try {
    await body({ tg, where, mode });
  } catch (error) {
    if (!(error instanceof UnavailableError)) throw error;
    console.error(`${error.message}\nis tollgate running at ${target}? start it with npm start`);
    process.exitCode = 1;
  } finally {
    tg.close();
    await embedded?.shutdown();
  }
}
