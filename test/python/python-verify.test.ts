import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClient, type TollgateClient } from "../../client/index.js";
import { apiKeysFromPairs } from "../../server/auth/api-keys.js";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { apiKey, requirePythonModules, usePythonSide } from "./python-env.js";

/**
 * examples/python/verify_credential.py, a paid service's side of a credential with Debian's
 * PyJWT and cryptography: verified offline against the JWKS (over gRPC, or the HTTP port's
 * /.well-known/jwks.json), then redeemed once over gRPC, against a real server on each store.
 */

const py = usePythonSide();
beforeAll(() => requirePythonModules(["jwt", "cryptography"], "python3-jwt python3-cryptography"));

interface Verified {
  verified: Record<string, unknown>;
  redeemed?: Record<string, unknown>;
}

describe.each(stores)("verify_credential.py against a real server ($name store)", ({ open }) => {
  let opened: StoreUnderTest;
  let server: TollgateServer;
  let tg: TollgateClient;

  const start = async (credentials?: CredentialIssuer) => {
    opened = open();
    server = await startTollgateServer({
      store: opened.store,
      address: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      logLevel: "silent",
      apiKeys: apiKeysFromPairs(`py=${apiKey}`),
      credentials,
    });
    tg = createClient({ address: server.address, apiKey });
  };
  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    tg.close();
    await server.shutdown();
    await opened.cleanup();
  });

  /** A credential for `service` from a real spend. */
  const credentialFor = async (service: string) => {
    const wallet = await tg.wallets.create({ name: "py", budget: 100 });
    const spent = await wallet.spend(12, { service, metadata: { agent: "py" } });
    return { wallet, spent };
  };

  /** Runs the script; its exit code and stdout (a failure is an answer here, not an error). */
  const verify = async (args: string[]) => {
    try {
      const { stdout } = await py.run(server.address, ["verify_credential.py", ...args]);
      return { code: 0, out: JSON.parse(stdout) as Verified & { refused?: string } };
    } catch (error) {
      const text = String((error as Error).message);
      const code = Number((error as { cause?: { code?: number } }).cause?.code ?? -1);
      const json = /\{"refused".*\}/.exec(text)?.[0];
      return { code, out: (json ? JSON.parse(json) : { text }) as Verified & { refused?: string } };
    }
  };

  it("verifies with the JWKS over gRPC and redeems once; a retry by request id is a replay", async () => {
    const { wallet, spent } = await credentialFor("search");
    const first = await verify([spent.credential, "--service", "search", "--request-id", "r-1"]);
    expect(first.code).toBe(0);
    expect(first.out.verified).toMatchObject({
      iss: "tollgate",
      aud: "search",
      sub: "py",
      jti: spent.charge.id,
      wallet_id: wallet.id,
      kind: "charge",
      service: "search",
      amount: 12,
    });
    expect(first.out.redeemed).toEqual({
      kind: "charge",
      id: spent.charge.id,
      project: "py",
      walletId: wallet.id,
      service: "search",
      amount: 12,
      agentKeyId: null,
      replayed: false,
    });
    const retry = await verify([spent.credential, "--service", "search", "--request-id", "r-1"]);
    expect(retry.out.redeemed?.replayed).toBe(true);
    const again = await verify([spent.credential, "--service", "search"]);
    expect(again.code).toBe(3);
    expect(again.out.refused).toBe("CREDENTIAL_ALREADY_REDEEMED");
  });

  it("verifies with the JWKS from the HTTP port, and refuses another service's or a tampered credential offline", async () => {
    const { spent } = await credentialFor("search");
    const jwksUrl = `http://127.0.0.1:${server.httpPort}/.well-known/jwks.json`;
    const viaHttp = await verify([
      spent.credential,
      "--service",
      "search",
      "--jwks-url",
      jwksUrl,
      "--no-redeem",
    ]);
    expect(viaHttp.code).toBe(0);
    expect(viaHttp.out.verified.jti).toBe(spent.charge.id);
    expect(viaHttp.out.redeemed).toBeUndefined();

    const wrong = await verify([spent.credential, "--service", "llm"]);
    expect(wrong).toMatchObject({ code: 3, out: { refused: "CREDENTIAL_WRONG_SERVICE" } });
    const [head, payload, signature] = spent.credential.split(".");
    const forged = Buffer.from(payload ?? "", "base64url")
      .toString()
      .replace('"amount":12', '"amount":1');
    const tampered = `${head}.${Buffer.from(forged).toString("base64url")}.${signature}`;
    const bad = await verify([tampered, "--service", "search"]);
    expect(bad).toMatchObject({ code: 3, out: { refused: "CREDENTIAL_INVALID" } });
    // Refused offline: the real credential is still unredeemed.
    const good = await verify([spent.credential, "--service", "search"]);
    expect(good.out.redeemed?.replayed).toBe(false);
  });

  it("refuses a gateway credential (HS256, a catalog service's): the JWKS cannot verify it", async () => {
    tg.close();
    await server.shutdown();
    await opened.cleanup();
    const issuer = await CredentialIssuer.create(undefined, 60_000);
    await start(issuer);
    const mac = await issuer.issue(
      {
        project: "py",
        walletId: "w_000000000000000000000001",
        subjectId: "w_000000000000000000000001.c1",
        kind: "charge",
        service: "search",
        amount: 12,
        issuedAtMs: Date.now(),
      },
      "gateway",
    );
    const refused = await verify([mac.token, "--service", "search", "--no-redeem"]);
    expect(refused).toMatchObject({ code: 3, out: { refused: "CREDENTIAL_INVALID" } });
    expect(JSON.stringify(refused.out)).toMatch(/gateway credential/);
  });

  it("refuses an expired credential", async () => {
    tg.close();
    await server.shutdown();
    await opened.cleanup();
    // One-second credentials: expired by the time the script reads it.
    await start(await CredentialIssuer.create(undefined, 1000));
    const { spent } = await credentialFor("search");
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const expired = await verify([spent.credential, "--service", "search", "--no-redeem"]);
    expect(expired).toMatchObject({ code: 3, out: { refused: "CREDENTIAL_EXPIRED" } });
  });
});
