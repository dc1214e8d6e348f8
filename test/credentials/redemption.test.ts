import { status } from "@grpc/grpc-js";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CredentialError, verifyCredential } from "../../client/verify.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { call, failure, statusDetails } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import {
  bearer,
  type CredentialHarness,
  createWallet,
  mintAgentKey,
  startCredentialHarness,
} from "./harness.js";

const T = Date.now();
const ttlMs = 60_000;
const projectKey = "alpha-project-key-0123456789";
const admin = bearer(projectKey);

async function refusal(promise: Promise<unknown>) {
  const error = await failure(promise);
  return { code: error.code, reason: statusDetails(error).errorInfo?.reason };
}

describe.each(stores)(
  "credentials: JWKS, verification, single-use redemption ($name store)",
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
        httpAddress: "127.0.0.1:0",
        apiKeys: [{ project: "alpha", keySha256: hashApiKey(projectKey) }],
      });
    });
    afterEach(async () => {
      await h.close();
      await opened.cleanup();
    });

    const spend = async (walletId: string, requestId: string, key = admin) =>
      (
        await call(
          h.wallets,
          h.wallets.spend,
          { walletId, amount: 5n, service: "search", metadata: {}, requestId },
          key,
        )
      ).credential;
    const redeem = (credential: string, requestId: string, service = "search") =>
      call(h.credentialService, h.credentialService.redeemCredential, {
        credential,
        service,
        requestId,
      });

    it("publishes the signing keys at /.well-known/jwks.json and over gRPC, without an API key", async () => {
      const response = await fetch(`http://${h.server.httpAddress}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/jwk-set+json");
      const jwks = (await response.json()) as { keys: Record<string, string>[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toEqual({
        kty: "OKP",
        crv: "Ed25519",
        x: expect.any(String),
        kid: issuer.publicJwk.kid,
        alg: "EdDSA",
        use: "sig",
      });
      expect(jwks.keys[0]).not.toHaveProperty("d");
      const grpc = await call(h.credentialService, h.credentialService.getSigningKeys, {});
      expect(JSON.parse(grpc.jwksJson)).toEqual(jwks);
      expect(grpc.currentKeyId).toBe(issuer.publicJwk.kid);

      const wallet = await createWallet(h, admin, "task", 100);
      const credential = await spend(wallet, "s1");
      const claims = await verifyCredential(credential, {
        url: `http://${h.server.httpAddress}/.well-known/jwks.json`,
        service: "search",
      });
      expect(claims).toMatchObject({
        kind: "charge",
        walletId: wallet,
        amount: 5,
        project: "alpha",
      });
    });

    it("redeems a credential once; a retry with the same request id is a replay, anything else is refused", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const credential = await spend(wallet, "s1");
      const first = await redeem(credential, "call-1");
      expect(first.replayed).toBe(false);
      expect(first.claims).toMatchObject({ kind: "charge", walletId: wallet, amount: 5n });
      expect((await redeem(credential, "call-1")).replayed).toBe(true);
      expect(await refusal(redeem(credential, "call-2"))).toEqual({
        code: status.FAILED_PRECONDITION,
        reason: "CREDENTIAL_ALREADY_REDEEMED",
      });

      const other = await spend(wallet, "s2");
      expect(await refusal(redeem(other, "x", "llm"))).toEqual({
        code: status.PERMISSION_DENIED,
        reason: "CREDENTIAL_WRONG_SERVICE",
      });
      const [head, payload, signature] = other.split(".");
      const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as Record<
        string,
        unknown
      >;
      const inflated = Buffer.from(JSON.stringify({ ...claims, amount: 5000 })).toString(
        "base64url",
      );
      expect(await refusal(redeem(`${head}.${inflated}.${signature}`, "t"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_INVALID",
      });
      expect(await refusal(redeem("not-a-jws", "t"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_INVALID",
      });
      // Signed by a key tollgate does not publish.
      const stranger = await CredentialIssuer.create(undefined, ttlMs);
      const forged = await stranger.issue({
        project: "alpha",
        walletId: wallet,
        subjectId: `${wallet}.c99`,
        kind: "charge",
        service: "search",
        amount: 1,
        issuedAtMs: nowMs,
      });
      expect(await refusal(redeem(forged.token, "f"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_INVALID",
      });
      // Expired: refused, and still not redeemed.
      nowMs += ttlMs + 1000;
      expect(await refusal(redeem(other, "late"))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_EXPIRED",
      });
    });

    it("refuses credentials of a revoked agent key, even unredeemed ones", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const key = await mintAgentKey(h, admin, wallet);
      const credential = await spend(wallet, "s1", bearer(key.secret));
      const verified = await verifyCredential(credential, {
        jwks: issuer.jwks(nowMs),
        service: "search",
        now: new Date(nowMs),
      });
      expect(verified.agentKeyId).toBe(key.id);
      await call(h.agentKeys, h.agentKeys.revokeAgentKey, { keyId: key.id }, admin);
      expect(await refusal(redeem(credential, "r"))).toEqual({
        code: status.PERMISSION_DENIED,
        reason: "AGENT_KEY_REVOKED",
      });
    });

    it("rotates: the old key stays published until its last credential has expired", async () => {
      const wallet = await createWallet(h, admin, "task", 100);
      const oldKid = issuer.publicJwk.kid;
      const before = await spend(wallet, "s1");
      const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
      const newKid = await issuer.rotate(await exportPKCS8(privateKey), nowMs);
      expect(newKid).not.toBe(oldKid);
      const jwks = () =>
        fetch(`http://${h.server.httpAddress}/.well-known/jwks.json`).then(
          (r) => r.json() as Promise<{ keys: { kid: string }[] }>,
        );
      expect((await jwks()).keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
      const after = await spend(wallet, "s2");
      expect(JSON.parse(Buffer.from(after.split(".")[0] ?? "", "base64url").toString()).kid).toBe(
        newKid,
      );
      // Both verify while both are published; the old one is redeemable until it expires.
      expect((await redeem(before, "r1")).claims?.id).toBeTruthy();
      expect((await redeem(after, "r2")).claims?.id).toBeTruthy();
      // Past the TTL plus the grace period, the old key is gone, and so is anything it signed.
      nowMs += ttlMs + 600_000 + 1;
      expect((await jwks()).keys.map((k) => k.kid)).toEqual([newKid]);
      await expect(
        verifyCredential(before, { jwks: issuer.jwks(nowMs), service: "search" }),
      ).rejects.toBeInstanceOf(CredentialError);
    });

    it("publishes previous keys given at start, not signing with them", async () => {
      const { publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
      const previous = await exportJWK(publicKey);
      const withPrevious = await CredentialIssuer.create(undefined, ttlMs, {
        previous: [previous],
        nowMs,
      });
      const keys = withPrevious.jwks(nowMs).keys;
      expect(keys.map((k) => k.x)).toEqual([withPrevious.publicJwk.x, previous.x]);
      expect(withPrevious.jwks(nowMs + ttlMs + 600_001).keys).toHaveLength(1);
    });
  },
);
