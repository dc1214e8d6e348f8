import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { AgentKeys } from "../server/agent-keys/agent-keys.js";
import { Catalog } from "../server/catalog/catalog.js";
import { CredentialIssuer } from "../server/credentials/credential-issuer.js";
import { Ledger } from "../server/ledger/ledger.js";
import { startTollgateServer } from "../server/server.js";
import { MemoryLedgerStore } from "../server/store/memory/memory-ledger-store.js";

/**
 * The server side of `npm run bench:gateway`, in a process of its own (started by
 * bench/gateway.ts, so the load generator does not share its event loop): a local upstream that
 * checks its secret and answers a small JSON body after `TOLLGATE_BENCH_UPSTREAM_MS` (default 0),
 * and a tollgate server (memory store) with its gateway, a wallet and an agent key. Prints what
 * the bench needs as one JSON line; exits when stdin closes.
 */
const delayMs = Number(process.env.TOLLGATE_BENCH_UPSTREAM_MS ?? "0");
const secret = `sk-bench-${randomUUID()}`;
const upstream = createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${secret}`) {
    res.writeHead(401);
    res.end();
    return;
  }
  req.resume();
  req.on("end", () => {
    const answer = () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"result":"ok","items":[1,2,3]}');
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;

const catalog = Catalog.fromEntries(
  [{ name: "bench", upstream: upstreamUrl, price: { credits: 1 }, auth: { secretEnv: "S" } }],
  { S: secret },
);
const store = new MemoryLedgerStore();
const issuer = await CredentialIssuer.create(undefined, 60_000);
const server = await startTollgateServer({
  store,
  address: "127.0.0.1:0",
  gatewayAddress: "127.0.0.1:0",
  credentials: issuer,
  catalog,
  logLevel: "silent",
});
const ledger = new Ledger(store, issuer, { catalog });
const wallet = await ledger.createWallet("default", {
  budget: 0,
  hardCap: false,
  requestId: randomUUID(),
});
const agentKeys = new AgentKeys(
  store.agentKeys,
  issuer.derivedSecret("tollgate agent keys v1"),
  Date.now,
);
const key = await agentKeys.mint("default", { walletId: wallet.id, requestId: randomUUID() });
const tokens = await Promise.all(
  Array.from(
    { length: 200 },
    async (_, i) =>
      (
        await issuer.issue({
          project: "default",
          walletId: wallet.id,
          subjectId: `${wallet.id}.s${i + 1}`,
          kind: "charge",
          service: "bench",
          amount: 1,
          issuedAtMs: Date.now(),
        })
      ).token,
  ),
);
process.stdout.write(
  `${JSON.stringify({
    upstreamUrl,
    secret,
    gatewayUrl: `http://127.0.0.1:${server.gatewayPort}/bench/`,
    walletId: wallet.id,
    agentKey: key.secret,
    jwks: issuer.jwks(Date.now()),
    tokens,
  })}\n`,
);
process.stdin.resume();
process.stdin.on("close", async () => {
  await server.shutdown();
  upstream.close();
  process.exit(0);
});
