import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../client/index.js";
import { verifyCredential } from "../../client/verify.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { type CliServer, json, serveForCli } from "./support.js";

/**
 * `tollgate services`, `agent-keys create|list|revoke` and `jwks` as a script runs them: child
 * processes against a real server with a catalog, checked through the typed client.
 */

interface KeyJson {
  id: string;
  walletId: string;
  services: string[];
  name: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

// Each test runs the CLI several times, a second or two per process on a loaded machine.
describe("tollgate CLI: catalog, agent keys, signing keys", { timeout: 90_000 }, () => {
  let served: CliServer;
  beforeAll(async () => {
    served = await serveForCli({
      server: {
        catalog: Catalog.fromEntries([
          {
            project: "cli-tests",
            name: "search",
            upstream: "http://127.0.0.1:9/api",
            price: { credits: 7 },
          },
          {
            project: "cli-tests",
            name: "llm",
            upstream: "http://127.0.0.1:9/llm",
            price: { maxCredits: 500, meter: { header: "x-usage-credits" } },
            methods: ["POST"],
            timeoutMs: 60_000,
          },
        ]),
      },
    });
  });
  afterAll(async () => {
    await served?.dispose();
  });

  it("lists the catalog, as a table and as JSON", async () => {
    const listed = await served.run(["services"]);
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^NAME\s+PRICE\s+METHODS\s+PATHS\s+TIMEOUT$/m);
    expect(listed.stdout).toMatch(
      /^llm\s+up to 500, header:x-usage-credits\s+POST\s+\/\s+60000 ms$/m,
    );
    expect(listed.stdout).toMatch(/^search\s+7\s+GET,POST\s+\/\s+30000 ms$/m);
    const asJson = json<{ services: { name: string; price: string; maxPrice: string }[] }>(
      await served.run(["services", "--json"]),
    );
    expect(asJson.services.map((s) => [s.name, s.price, s.maxPrice])).toEqual([
      ["llm", "0", "500"],
      ["search", "7", "0"],
    ]);
  });

  it("mints a key that spends within its wallet, lists it, revokes it", async () => {
    const task = await served.tg.wallets.create({ name: "task", budget: 100 });
    const created = await served.run([
      "agent-keys",
      "create",
      task.id,
      "--service",
      "search",
      "--service",
      "llm",
      "--ttl",
      "600",
      "--name",
      "researcher",
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toMatch(/the secret is shown this once/);
    const id = /^created (ak_[0-9a-f]{24})$/m.exec(created.stdout)?.[1] ?? "";
    const secret = /^secret\s+(tga_\S+)$/m.exec(created.stdout)?.[1] ?? "";
    expect(id).not.toBe("");
    expect(secret.startsWith(`tga_${id.slice(3)}_`)).toBe(true);
    expect(created.stdout).toMatch(/^services\s+llm,search$/m);
    expect(created.stdout).toMatch(/^name\s+researcher$/m);

    // The secret is the agent's API key: it spends at the catalog's price, in its wallet only.
    const agent = createClient({ address: served.server.address, apiKey: secret });
    try {
      const spent = await (await agent.wallets.get(task.id)).spend(0, { service: "search" });
      expect(spent.remaining).toBe(93n);
      // The agent's own CLI: an agent key may not mint keys (exit 5, PERMISSION_DENIED).
      const refused = await served.run(["agent-keys", "create", task.id], {
        TOLLGATE_API_KEY: secret,
      });
      expect(refused.code).toBe(5);
      expect(refused.stderr).toMatch(/^tollgate: AGENT_KEY_NOT_ALLOWED: /);
      expect((await served.run(["services"], { TOLLGATE_API_KEY: secret })).code).toBe(0);
    } finally {
      agent.close();
    }

    const asJson = json<{ key: KeyJson; secret: string }>(
      await served.run(["agent-keys", "create", task.id, "--json", "--request-id", "cli-key-1"]),
    );
    expect(asJson.secret).toMatch(/^tga_/);
    expect(asJson.key).toMatchObject({ walletId: task.id, services: [], revokedAt: null });
    const retried = json<{ key: KeyJson; secret: string }>(
      await served.run(["agent-keys", "create", task.id, "--json", "--request-id", "cli-key-1"]),
    );
    expect(retried).toEqual(asJson);

    const listed = await served.run(["agent-keys", "list"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+WALLET\s+NAME\s+SERVICES\s+EXPIRES\s+STATUS$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^${id}\\s+${task.id}\\s+researcher\\s+llm,search\\s+\\S+\\s+active$`, "m"),
    );
    expect(listed.stdout).not.toContain(secret);

    const revoked = await served.run(["agent-keys", "revoke", id]);
    expect(revoked.stdout).toBe(`revoked ${id} (wallet ${task.id})\n`);
    const keys = json<{ keys: KeyJson[]; more: boolean }>(
      await served.run(["agent-keys", "list", "--json"]),
    );
    expect(keys.more).toBe(false);
    expect(keys.keys.find((k) => k.id === id)?.revokedAt).toMatch(/^\d{4}-/);
    expect(JSON.stringify(keys)).not.toContain(secret);

    const unknown = await served.run(["agent-keys", "revoke", "ak_000000000000000000000000"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^tollgate: AGENT_KEY_NOT_FOUND: /);
    const badTtl = await served.run(["agent-keys", "create", task.id, "--ttl", "1.5"]);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toMatch(/--ttl: must be a positive whole number of seconds/);
  });

  it("prints the JWK Set that verifies the server's credentials, without an API key", async () => {
    const task = await served.tg.wallets.create({ name: "task", budget: 20 });
    // A service outside the catalog gets an EdDSA credential, which the JWK Set verifies.
    const { credential } = await task.spend(7, { service: "translate" });
    const ran = await served.run(["jwks"], { TOLLGATE_API_KEY: "" });
    expect(ran.code).toBe(0);
    expect(ran.stderr).toMatch(/^new credentials are signed with \S+/);
    const jwks = JSON.parse(ran.stdout) as { keys: { kid: string }[] };
    await expect(
      verifyCredential(credential, { jwks, service: "translate" }),
    ).resolves.toMatchObject({ walletId: task.id, amount: 7 });
    // A catalog service's credential is the gateway's (HS256): the JWK Set does not verify it.
    const gateway = await task.spend(0, { service: "search" });
    await expect(
      verifyCredential(gateway.credential, { jwks, service: "search" }),
    ).rejects.toMatchObject({ reason: "CREDENTIAL_INVALID" });
    const quiet = await served.run(["jwks", "--json"]);
    expect(quiet.stderr).toBe("");
    expect(JSON.parse(quiet.stdout)).toEqual(jwks);
  });
});
