import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { type PaidApi, startPaidApi } from "../../examples/support/upstream.js";
import { apiKeysFromPairs } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { type Harness, startHarness } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";

const run = promisify(execFile);
const apiKey = "examples-key-0123456789abcdef";

/** Runs an example as a user would (`npx tsx examples/<name>.ts`) and returns its stdout lines. */
async function example(name: string, env: Record<string, string>): Promise<string[]> {
  const { stdout } = await run("npx", ["tsx", `examples/${name}.ts`], {
    env: { ...process.env, TOLLGATE_ADDRESS: "", TOLLGATE_MODE: "", ...env },
    timeout: 60_000,
  });
  return stdout.trimEnd().split("\n");
}

const searches = [
  "grpc-js bidi streaming back-pressure",
  "redis lua atomic debit",
  "hard budget caps for llm agents",
  "idempotency keys payment apis",
  "ed25519 jws short-lived credentials",
  "redis cluster hash tags",
].map((query, i) => `  step ${i + 1}: web_search("${query}") -> paid, 1 result`);

const teamStory = [
  "task wallet: budget 1000, 850 allocated to 3 roles, 150 unallocated",
  "round 1: paid calls researcher 3/3, writer 1/1, critic 1/1, lead 1/1",
  "round 2: paid calls researcher 3/3, writer 1/1, critic 1/1, lead 1/1",
  "round 3: paid calls researcher 3/3, writer 1/1, critic 1/1, lead 1/1",
  "  round 4: PAYMENT_LIMIT_REACHED: researcher has 0 credits left; web_search costs 40",
  "  round 4: PAYMENT_LIMIT_REACHED: researcher has 0 credits left; web_search costs 40",
  "round 4: paid calls researcher 1/3, writer 1/1, critic 1/1, lead 1/1",
  "round 5: paid calls writer 1/1, critic 1/1, lead 1/1",
  "round 6: paid calls writer 1/1, critic 1/1, lead 1/1",
  "task wallet exhausted after round 6: run ended",
  "role         budget  spent  calls  left",
  "researcher    400    400     10      0",
  "writer        300    300      6      0",
  "critic        150    150      6      0",
  "lead (task)   150    150      6      0",
  "task total   1000   1000     28      0",
  "by agent: researcher 400, writer 300, critic 150, lead 150",
];

describe.each(stores)("examples against a real server ($name store)", ({ open }) => {
  let h: Harness;
  let store: StoreUnderTest;
  afterEach(async () => {
    await h.close();
    await store.cleanup();
  });

  const start = async () => {
    store = open();
    h = await startHarness({ store: store.store, apiKeys: apiKeysFromPairs(`examples=${apiKey}`) });
    return { TOLLGATE_ADDRESS: h.server.address, TOLLGATE_API_KEY: apiKey };
  };

  it.each(["unary", "stream"])(
    "assistant (%s mode): six 30-credit searches fit in 200, then the run stops without a refused call",
    async (mode) => {
      const env = await start();
      const lines = await example("assistant", { ...env, TOLLGATE_MODE: mode });
      expect(lines[0]).toBe(`assistant example: ${h.server.address}, ${mode} mode`);
      expect(lines.slice(1, 8)).toEqual(["wallet assistant: budget 200, hard cap", ...searches]);
      expect(lines.slice(8)).toEqual([
        "stopped after 6 steps: the wallet cannot pay another 30-credit search",
        "total spent: 180 credits in 6 calls",
        "left: 20 credits",
      ]);
      // The charges really went through this server, in the mode asked for: six paid holds as
      // unary Authorize calls (none refused: the run stopped first), or none at all when they
      // rode the SpendStream.
      const authorizes = h.logs.filter((l) => l.project === "examples" && l.method === "Authorize");
      expect(authorizes.map((l) => l.code)).toEqual(mode === "unary" ? Array(6).fill("OK") : []);
    },
  );

  it.each(["unary", "stream"])(
    "team (%s mode): runs until the task wallet is exhausted and every role's figures add up",
    async (mode) => {
      const env = await start();
      const lines = await example("team", { ...env, TOLLGATE_MODE: mode });
      expect(lines).toEqual([`team example: ${h.server.address}, ${mode} mode`, ...teamStory]);
    },
  );
});

describe.each(stores)("examples through an external server's gateway ($name store)", ({ open }) => {
  let h: Harness | undefined;
  let store: StoreUnderTest | undefined;
  let api: PaidApi | undefined;
  afterEach(async () => {
    await h?.close();
    await store?.cleanup();
    await api?.close();
  });

  it("team: every paid call reaches the paid API through the gateway, on the roles' agent keys", async () => {
    const secret = `sk-examples-${randomBytes(12).toString("hex")}`;
    api = await startPaidApi(secret);
    const upstream = api.url;
    const auth = { secretEnv: "EXAMPLES_SECRET" };
    // The operator's catalog, as a catalog file would declare it: the example's four services.
    const catalog = Catalog.fromEntries(
      [
        ["web_search", 40],
        ["draft", 50],
        ["review", 25],
        ["plan", 25],
      ].map(([name, credits]) => ({
        project: "examples",
        name: String(name),
        upstream,
        price: { credits: Number(credits) },
        auth,
      })),
      { EXAMPLES_SECRET: secret },
    );
    store = open();
    h = await startHarness({
      store: store.store,
      apiKeys: apiKeysFromPairs(`examples=${apiKey}`),
      catalog,
      gatewayAddress: "127.0.0.1:0",
    });
    const gatewayUrl = `http://${h.server.gatewayAddress}`;
    const lines = await example("team", {
      TOLLGATE_ADDRESS: h.server.address,
      TOLLGATE_API_KEY: apiKey,
      TOLLGATE_GATEWAY_URL: gatewayUrl,
    });
    expect(lines).toEqual([
      `team example: ${h.server.address}, paid calls through the gateway at ${gatewayUrl} with one agent key per agent`,
      ...teamStory,
    ]);
    // 28 paid calls, each forwarded once with the API's secret; the 2 refused never left tollgate.
    expect(api.requests).toHaveLength(28);
    expect(api.requests.every((r) => r.authorized)).toBe(true);
    const calls = h.logs.filter((l) => l.msg === "gateway call");
    expect(calls).toHaveLength(30);
    const refused = calls.filter((c) => c.outcome === "refused");
    expect(refused.map((c) => [c.service, c.reason])).toEqual([
      ["web_search", "INSUFFICIENT_CREDITS"],
      ["web_search", "INSUFFICIENT_CREDITS"],
    ]);
    // Every paid call came on an agent key, one per role, never on the project key.
    const keyOf = new Map<string, Set<string>>();
    for (const call of calls.filter((c) => c.outcome !== "refused")) {
      expect(call.agentKeyId ?? "").toMatch(/^ak_/);
      const keys = keyOf.get(String(call.service)) ?? new Set<string>();
      keys.add(String(call.agentKeyId));
      keyOf.set(String(call.service), keys);
    }
    expect([...keyOf.values()].map((keys) => keys.size)).toEqual([1, 1, 1, 1]);
    expect(new Set([...keyOf.values()].flatMap((keys) => [...keys])).size).toBe(4);
  });
});

describe("examples with nothing configured", () => {
  it("start an embedded in-memory server and tell the same story", async () => {
    const [assistant, team] = await Promise.all([example("assistant", {}), example("team", {})]);
    // Embedded: paid calls go through the embedded server's gateway, on agent keys.
    const throughGateway =
      /^(assistant|team) example: embedded in-memory server at 127\.0\.0\.1:\d+, paid calls through the gateway at http:\/\/127\.0\.0\.1:\d+ with one agent key per agent$/;
    expect(assistant[0]).toMatch(throughGateway);
    expect(assistant.slice(1)).toEqual([
      "wallet assistant: budget 200, hard cap",
      ...searches,
      "stopped after 6 steps: the wallet cannot pay another 30-credit search",
      "total spent: 180 credits in 6 calls",
      "left: 20 credits",
    ]);
    expect(team[0]).toMatch(throughGateway);
    expect(team.slice(1)).toEqual(teamStory);
  });

  it("fail with a hint when the configured server is not listening", async () => {
    const h = await startHarness();
    const address = h.server.address;
    await h.close();
    const failed = await run("npx", ["tsx", "examples/team.ts"], {
      env: { ...process.env, TOLLGATE_ADDRESS: address },
      timeout: 60_000,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`is tollgate running at ${address}? start it with npm start`);
  });
});
