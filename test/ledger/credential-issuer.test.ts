import {
  decodeProtectedHeader,
  errors,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import {
  type CredentialClaims,
  CredentialIssuer,
} from "../../server/credentials/credential-issuer.js";

const issuedAtMs = Date.UTC(2025, 0, 1, 12, 0, 0, 750);
const claims: CredentialClaims = {
  project: "acme",
  walletId: "w_0123456789abcdef01234567.w2",
  subjectId: "w_0123456789abcdef01234567.c5",
  kind: "charge",
  service: "web_search",
  amount: 7,
  issuedAtMs,
};
const ttlMs = 60_000;
/** Whole seconds, as JWT times are. */
const issuedAtS = Math.floor(issuedAtMs / 1000);

describe("credential issuer", () => {
  it("signs a JWS that verifies against its public JWK, with every claim", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    const { token, expiresAtMs } = await issuer.issue(claims);
    expect(expiresAtMs).toBe(issuedAtS * 1000 + ttlMs);
    const { payload, protectedHeader } = await jwtVerify(token, issuer.publicJwk, {
      issuer: "tollgate",
      audience: "web_search",
      currentDate: new Date(issuedAtMs),
      algorithms: ["EdDSA"],
    });
    expect(payload).toEqual({
      iss: "tollgate",
      aud: "web_search",
      sub: "acme",
      jti: claims.subjectId,
      iat: issuedAtS,
      exp: issuedAtS + 60,
      wallet_id: claims.walletId,
      kind: "charge",
      service: "web_search",
      amount: 7,
    });
    expect(protectedHeader).toEqual({ alg: "EdDSA", kid: issuer.publicJwk.kid, typ: "JWT" });
  });

  it("publishes only the public half of its key", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    expect(issuer.publicJwk).toMatchObject({
      kty: "OKP",
      crv: "Ed25519",
      alg: "EdDSA",
      use: "sig",
    });
    expect(issuer.publicJwk).not.toHaveProperty("d");
    expect(issuer.publicJwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses the credential once it has expired", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    const { token, expiresAtMs } = await issuer.issue(claims);
    await expect(
      jwtVerify(token, issuer.publicJwk, { currentDate: new Date(expiresAtMs - 1000) }),
    ).resolves.toBeDefined();
    await expect(
      jwtVerify(token, issuer.publicJwk, { currentDate: new Date(expiresAtMs + 1000) }),
    ).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it("issues the identical token for the same claims, so a replayed spend gets the same credential", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    const first = await issuer.issue(claims);
    expect(await issuer.issue({ ...claims })).toEqual(first);
    // Within the same second the token does not change either: JWT times are whole seconds.
    expect(await issuer.issue({ ...claims, issuedAtMs: issuedAtS * 1000 })).toEqual(first);
    expect((await issuer.issue({ ...claims, amount: 8 })).token).not.toBe(first.token);
  });

  it("writes exactly the token jose's SignJWT writes for the same key and claims", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const issuer = await CredentialIssuer.create(
      JSON.stringify(await exportJWK(privateKey)),
      ttlMs,
    );
    for (const c of [
      claims,
      { ...claims, kind: "hold" as const, service: 'llm \u00e9"x', amount: 0 },
    ]) {
      const { token, expiresAtMs } = await issuer.issue(c);
      const expected = await new SignJWT({
        wallet_id: c.walletId,
        kind: c.kind,
        service: c.service,
        amount: c.amount,
      })
        .setProtectedHeader({ alg: "EdDSA", kid: issuer.publicJwk.kid as string, typ: "JWT" })
        .setIssuer("tollgate")
        .setAudience(c.service)
        .setSubject(c.project)
        .setJti(c.subjectId)
        .setIssuedAt(issuedAtS)
        .setExpirationTime(Math.floor(expiresAtMs / 1000))
        .sign(privateKey);
      expect(token).toBe(expected);
    }
  });

  it("is not verifiable with another issuer's key", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    const other = await CredentialIssuer.create(undefined, ttlMs);
    const { token } = await issuer.issue(claims);
    await expect(
      jwtVerify(token, other.publicJwk, { currentDate: new Date(issuedAtMs) }),
    ).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it("loads a configured key from a private JWK or a PKCS#8 PEM", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", {
      crv: "Ed25519",
      extractable: true,
    });
    const fromJwk = await CredentialIssuer.create(
      JSON.stringify(await exportJWK(privateKey)),
      ttlMs,
    );
    const fromPem = await CredentialIssuer.create(await exportPKCS8(privateKey), ttlMs);
    const publicJwk = await exportJWK(publicKey);
    expect(fromJwk.publicJwk).toMatchObject({ x: publicJwk.x });
    expect(fromPem.publicJwk).toEqual(fromJwk.publicJwk);
    const { token } = await fromPem.issue(claims);
    expect(token).toBe((await fromJwk.issue(claims)).token);
    await expect(
      jwtVerify(token, publicKey, { currentDate: new Date(issuedAtMs) }),
    ).resolves.toBeDefined();
  });

  it("marks hold credentials as holds", async () => {
    const issuer = await CredentialIssuer.create(undefined, ttlMs);
    const { token } = await issuer.issue({
      ...claims,
      kind: "hold",
      subjectId: "w_0123456789abcdef01234567.h4",
    });
    expect(decodeProtectedHeader(token).alg).toBe("EdDSA");
    const { payload } = await jwtVerify(token, issuer.publicJwk, {
      currentDate: new Date(issuedAtMs),
    });
    expect(payload).toMatchObject({ kind: "hold", jti: "w_0123456789abcdef01234567.h4" });
  });
});
