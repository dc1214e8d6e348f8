import { status } from "@grpc/grpc-js";
import { decodeJwt, exportJWK, exportPKCS8, generateKeyPair, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CredentialError, verifyCredential } from "../../client/verify.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import {
  CredentialIssuer,
  gatewayCredentialLabel,
} from "../../server/credentials/credential-issuer.js";
import { verifyServerCredential } from "../../server/credentials/credential-verifier.js";
import { call, failure, statusDetails } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { bearer, type CredentialHarness, createWallet, startCredentialHarness } from "./harness.js";

/**
 * Which credential a spend gets (docs/credentials.md#verifying-credentials): a MAC (HS256) that
 * only tollgate verifies for a service in the project's catalog, EdDSA that anyone verifies with
 * the JWKS for any other; and RedeemCredential taking both, across rotations.
 */

const T = Date.now();
const ttlMs = 60_000;
const graceMs = 600_000;
const projectKey = "gateway-credentials-key-0123456789";
const admin = bearer(projectKey);

/** `gw-search` is in alpha's catalog (the gateway's); `search` is not (a third party's). */
const catalog = Catalog.fromEntries([
  { project: "alpha", name: "gw-search", upstream: "http://127.0.0.1:9/", price: { credits: 5 } },
  { project: "alpha", name: "gw-other", upstream: "http://127.0.0.1:9/", price: { credits: 5 } },
]);

const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as {
    alg: string;
    kid: string;
    typ: string;
  };

async function refusal(promise: Promise<unknown>) {
  const error = await failure(promise);
  return { code: error.code, reason: statusDetails(error).errorInfo?.reason };
}

describe.each(stores)(
  "gateway credentials (HS256) and public ones (EdDSA) ($name store)",
  ({ open }) => {
    let h: CredentialHarness;
    let opened: StoreUnderTest;
    let issuer: CredentialIssuer;
    let nowMs = T;

    beforeEach(async () => {
      nowMs = T;
      opened = open();
      issuer = await CredentialIssuer.create(undefined, ttlMs);
      h = await startCredentialHarness({
        store: opened.store,
        now: () => nowMs,
        credentials: issuer,
        catalog,
        httpAddress: "127.0.0.1:0",
        apiKeys: [{ project: "alpha", keySha256: hashApiKey(projectKey) }],
      });
    });
    afterEach(async () => {
      await h.close();
      await opened.cleanup();
    });

    const spend = async (walletId: string, requestId: string, service: string, amount = 5) =>
      (
        await call(
          h.wallets,
          h.wallets.spend,
          { walletId, amount: BigInt(amount), service, metadata: {}, requestId },
          admin,
        )
      ).credential;
    const redeem = (credential: string, requestId: string, service = "gw-search") =>
      call(h.credentialService, h.credentialService.redeemCredential, {
        credential,
        service,
        requestId,
      });
    const jwks = async () =>
      (await fetch(`http://${h.server.httpAddress}/.well-known/jwks.json`).then((r) =>
        r.json(),
      )) as Parameters<typeof verifyCredential>[1]["jwks"];

    it("a catalog service's credential is an HS256 MAC, redeemed once, refused by the JWKS", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const credential = await spend(wallet, "s1", "gw-search");
      expect(headerOf(credential)).toEqual({
        alg: "HS256",
        kid: `gw-${issuer.publicJwk.kid}`,
        typ: "JWT",
      });
      // No published key is the MAC key, nor names it.
      const published = await jwks();
      expect(JSON.stringify(published)).not.toContain(headerOf(credential).kid);

      const first = await redeem(credential, "call-1");
      expect(first.replayed).toBe(false);
      expect(first.claims).toMatchObject({
        kind: "charge",
        walletId: wallet,
        service: "gw-search",
        amount: 5n,
        project: "alpha",
      });
      expect((await redeem(credential, "call-1")).replayed).toBe(true);
      expect(await refusal(redeem(credential, "call-2"))).toEqual({
        code: status.FAILED_PRECONDITION,
        reason: "CREDENTIAL_ALREADY_REDEEMED",
      });

      // A third party with only the JWKS: refused cleanly, and told why.
      const error = await verifyCredential(credential, {
        jwks: published,
        service: "gw-search",
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialError);
      expect((error as CredentialError).reason).toBe("CREDENTIAL_INVALID");
      expect((error as CredentialError).message).toMatch(/gateway credential/);
    });

    it("a service outside the catalog gets EdDSA, verified with the JWKS by URL and redeemed", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const credential = await spend(wallet, "s1", "search", 3);
      expect(headerOf(credential)).toEqual({ alg: "EdDSA", kid: issuer.publicJwk.kid, typ: "JWT" });
      const claims = await verifyCredential(credential, {
        url: `http://${h.server.httpAddress}/.well-known/jwks.json`,
        service: "search",
        now: new Date(nowMs),
      });
      expect(claims).toMatchObject({ kind: "charge", walletId: wallet, amount: 3 });
      expect((await redeem(credential, "r", "search")).claims?.amount).toBe(3n);
    });

    it("a replayed spend returns the identical token, for both kinds; an authorization too", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      for (const service of ["gw-search", "search"]) {
        const first = await spend(wallet, `replay-${service}`, service);
        nowMs += 5_000; // a replay later still carries the first call's iat and exp
        expect(await spend(wallet, `replay-${service}`, service)).toBe(first);
      }
      const authorize = () =>
        call(
          h.wallets,
          h.wallets.authorize,
          {
            walletId: wallet,
            amount: 0n,
            service: "gw-search",
            metadata: {},
            requestId: "a1",
            ttlSeconds: 300,
          },
          admin,
        );
      const held = await authorize();
      expect(headerOf(held.credential).alg).toBe("HS256");
      expect((await authorize()).credential).toBe(held.credential);
    });

    it("refuses a tampered MAC credential, one for another service, and an expired one", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const credential = await spend(wallet, "s1", "gw-search");
      const [head, payload, mac] = credential.split(".");
      const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
      const inflated = Buffer.from(JSON.stringify({ ...claims, amount: 1 })).toString("base64url");
      const flipped = `${mac?.slice(0, -2)}${mac?.endsWith("AA") ? "BA" : "AA"}`;
      for (const tampered of [
        `${head}.${inflated}.${mac}`,
        `${head}.${payload}.${flipped}`,
        `${head}.${payload}.${mac?.slice(0, 20)}`,
        `${head}.${payload}.`,
        // The EdDSA header on a MAC: the MAC is not an Ed25519 signature of the public key.
        `${Buffer.from(JSON.stringify({ alg: "EdDSA", kid: issuer.publicJwk.kid, typ: "JWT" })).toString("base64url")}.${payload}.${mac}`,
        // No algorithm tollgate signs with.
        `${Buffer.from(JSON.stringify({ alg: "none", kid: headerOf(credential).kid })).toString("base64url")}.${payload}.`,
      ]) {
        expect(await refusal(redeem(tampered, "t"))).toEqual({
          code: status.UNAUTHENTICATED,
          reason: "CREDENTIAL_INVALID",
        });
      }
      expect(await refusal(redeem(credential, "t", "gw-other"))).toEqual({
        code: status.PERMISSION_DENIED,
        reason: "CREDENTIAL_WRONG_SERVICE",
      });
      // A MAC under another server's key (same claims, same kid format): refused.
      const stranger = await CredentialIssuer.create(undefined, ttlMs);
      const forged = await stranger.issue(
        {
          project: "alpha",
          walletId: wallet,
          subjectId: `${wallet}.c99`,
          kind: "charge",
          service: "gw-search",
          amount: 1,
          issuedAtMs: nowMs,
        },
        "gateway",
      );
      expect(await refusal(redeem(forged.token, "f"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_INVALID",
      });
      // Expired: refused, and still not redeemed.
      nowMs += ttlMs + 1000;
      expect(await refusal(redeem(credential, "late"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_EXPIRED",
      });
    });

    it("rotation: a MAC credential signed before still redeems until its key is retired, then is refused", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const before = await spend(wallet, "s1", "gw-search");
      const lateBefore = await spend(wallet, "s2", "gw-search");
      const oldKid = issuer.publicJwk.kid;
      const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
      const newKid = await issuer.rotate(await exportPKCS8(privateKey), nowMs);
      expect(newKid).not.toBe(oldKid);
      const after = await spend(wallet, "s3", "gw-search");
      expect(headerOf(after).kid).toBe(`gw-${newKid}`);
      expect(headerOf(before).kid).toBe(`gw-${oldKid}`);
      // Both redeem while the old key is kept.
      expect((await redeem(before, "r1")).claims?.walletId).toBe(wallet);
      expect((await redeem(after, "r2")).claims?.walletId).toBe(wallet);
      // Past the TTL plus the grace, the old MAC key is forgotten with the old public key.
      nowMs += ttlMs + graceMs + 1;
      expect(await refusal(redeem(lateBefore, "r3"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_INVALID",
      });
    });
  },
);

describe("gateway credentials across a restart (previous signing keys)", () => {
  const claims = {
    project: "alpha",
    walletId: "w_000000000000000000000001",
    subjectId: "w_000000000000000000000001.c1",
    kind: "charge" as const,
    service: "gw-search",
    amount: 5,
    issuedAtMs: T,
  };

  it("is a standard, deterministic HS256 JWS under the derived key, with the EdDSA one's claims", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    const mac = await issuer.issue(claims, "gateway");
    expect((await issuer.issue(claims, "gateway")).token).toBe(mac.token);
    const { payload, protectedHeader } = await jwtVerify(
      mac.token,
      issuer.derivedSecret(gatewayCredentialLabel),
      {
        algorithms: ["HS256"],
        issuer: "tollgate",
        audience: "gw-search",
        currentDate: new Date(T),
      },
    );
    expect(protectedHeader).toEqual({
      alg: "HS256",
      kid: `gw-${issuer.publicJwk.kid}`,
      typ: "JWT",
    });
    expect(payload).toEqual(decodeJwt((await issuer.issue(claims)).token));
    expect(mac.expiresAtMs).toBe((await issuer.issue(claims)).expiresAtMs);
  });

  it("verifies under a previous key given as a private JWK, not one given public-only", async () => {
    const old = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const before = await CredentialIssuer.create(await exportPKCS8(old.privateKey), ttlMs);
    const mac = (await before.issue(claims, "gateway")).token;
    const eddsa = (await before.issue(claims)).token;

    const withPrivate = await CredentialIssuer.create(undefined, ttlMs, {
      previous: [await exportJWK(old.privateKey)],
      nowMs: T,
    });
    expect(verifyServerCredential(mac, "gw-search", withPrivate, T + 1000)).toMatchObject({
      id: claims.subjectId,
      amount: 5,
    });
    expect(verifyServerCredential(eddsa, "gw-search", withPrivate, T + 1000).id).toBe(
      claims.subjectId,
    );
    // The private half is never published.
    expect(JSON.stringify(withPrivate.jwks(T))).not.toMatch(/"d":/);

    const publicOnly = await CredentialIssuer.create(undefined, ttlMs, {
      previous: [await exportJWK(old.publicKey)],
      nowMs: T,
    });
    expect(verifyServerCredential(eddsa, "gw-search", publicOnly, T + 1000).id).toBe(
      claims.subjectId,
    );
    expect(() => verifyServerCredential(mac, "gw-search", publicOnly, T + 1000)).toThrow(
      expect.objectContaining({ reason: "CREDENTIAL_INVALID" }),
    );
  });

  it("refuses a previous private JWK whose private half does not match its public one", async () => {
    const a = await exportJWK((await generateKeyPair("EdDSA", { extractable: true })).privateKey);
    const b = await exportJWK((await generateKeyPair("EdDSA", { extractable: true })).privateKey);
    await expect(
      CredentialIssuer.create(undefined, ttlMs, { previous: [{ ...a, x: b.x }] }),
    ).rejects.toThrow(/does not match/);
  });
});
