/**
 * `npx tsx examples/paid-api.ts`: the examples' local paid API (support/upstream.ts) as a process
 * of its own, for trying the gateway by hand (the README's "Agents never hold upstream keys").
 * It answers only calls carrying `authorization: Bearer $PAID_API_SECRET` and refuses everything
 * else with 401. Env: PAID_API_SECRET (required), PAID_API_PORT (default 9000).
 */
import { startPaidApi } from "./support/upstream.js";

const secret = process.env.PAID_API_SECRET ?? "";
if (secret === "") {
  console.error("paid-api: set PAID_API_SECRET, the key callers must present");
  process.exit(2);
}
const port = Number(process.env.PAID_API_PORT || 9000);
const api = await startPaidApi(secret, undefined, port);
console.error(`paid API on ${api.url}: GET /<tool>?topic=..., only with its key`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void api.close().then(() => process.exit(0));
  });
}
