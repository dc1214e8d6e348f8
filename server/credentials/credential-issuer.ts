import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
  sign,
} from "node:crypto";
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type JSONWebKeySet,
  type JWK,
} from "jose";

/** What a credential vouches for: one paid call (a charge) or one reservation (a hold). */
export interface CredentialClaims {
  project: string;
  walletId: string;
  /** The charge id for a spend, the hold id for an authorization. */
  subjectId: string;
  kind: "charge" | "hold";
  service: string;
  amount: number;
  /** When the charge or hold was recorded; a replay re-issues the identical token. */
  issuedAtMs: number;
  /** The agent key that obtained it (claim `agent_key`), so revoking the key revokes it. */
  agentKeyId?: string;
}

/** A signed credential and when it stops being valid. */
export interface IssuedCredential {
  token: string;
  expiresAtMs: number;
}

/**
 * Who verifies a credential (docs/credentials.md#verifying-credentials):
 *
 * - `public`: a paid tool tollgate does not proxy, offline with the JWKS. EdDSA (Ed25519).
 * - `gateway`: tollgate itself (its gateway, or `RedeemCredential`), for a service in the
 *   catalog, whose upstream only the gateway reaches. HS256 under a key derived from the signing
 *   key ({@link gatewayCredentialLabel}): an HMAC is several times cheaper than an Ed25519
 *   signature (issue 11: ~2 us against ~36), and nobody outside the server can verify it, which
 *   nobody needs to.
 */
export type CredentialFormat = "public" | "gateway";

/** The label the gateway credentials' MAC key is derived under (see `derivedSecret`). */
export const gatewayCredentialLabel = "gateway-credential-v1";

/** The MAC key of gateway credentials, derived from one signing key. */
interface MacKey {
  /** `gw-<signing key's kid>`: names which signing key it derives from, reveals nothing of it. */
  kid: string;
  secret: KeyObject;
  /** The protected header, base64url: the same for every token of this key. */
  encodedHeader: string;
}

/** One signing key: the private half signs, the public half is published. */
interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
  /** The protected header, base64url: the same for every token of this key. */
  encodedHeader: string;
  mac: MacKey;
}

/**
 * A key retired by a rotation (or given as previous at start): still verifies what it signed
 * until `publishedUntilMs`. `mac` is there when the private key is known (a SIGHUP rotation, or a
 * previous key given as a private JWK), so gateway credentials it signed verify too.
 */
interface RetiredKey {
  publicJwk: JWK;
  publicKey: KeyObject;
  mac: MacKey | undefined;
  publishedUntilMs: number;
}

/** A key that verifies credentials of one `alg` and `kid`. */
export type VerificationKey =
  | { alg: "EdDSA"; publicKey: KeyObject }
  | { alg: "HS256"; secret: KeyObject };

/**
 * How long a retired key stays published beyond the credential TTL by default: a rolling restart
 * of every replica onto a new key finishes well within it, so a credential signed by a replica
 * that had not restarted yet still verifies until it expires.
 */
export const defaultRetiredKeyGraceMs = 600_000;

/**
 * Signs short-lived credentials (compact JWS) that a paid tool, or a proxy in front of it, verifies
 * instead of holding the master API key: EdDSA/Ed25519, verifiable with the public key, for a
 * third party ({@link CredentialFormat} `public`); HS256 under a key derived from the signing key
 * for tollgate's own gateway (`gateway`). Both are deterministic, so the same claims always give
 * the same token: an idempotent replay of a spend returns exactly the credential the first call
 * returned.
 *
 * Rotation: {@link rotate} (SIGHUP in `main`, after the key setting changed) makes a new key the
 * signing one; the previous public key stays in {@link jwks}, and its MAC key in memory, until
 * every credential it signed has expired (the TTL, plus a grace for replicas still signing with
 * it). Keys configured as previous (`TOLLGATE_PREVIOUS_SIGNING_KEYS`) are kept the same way from
 * start; the MAC key only of those given as private JWKs.
 *
 * jose loads and exports keys; signing itself is `crypto.sign` on a Node `KeyObject`, with the
 * header and claims serialized here in the order jose's `SignJWT` writes them, so tokens are
 * byte-identical to jose's (a test holds this). Why not `SignJWT`: it signs through WebCrypto,
 * whose per-call job and promise overhead made one Ed25519 signature cost about twice the CPU of
 * `crypto.sign` (measured ~70 us vs ~36 us on the 2-core bench machine), on every spend.
 */
export class CredentialIssuer {
  private current: SigningKey;
  /** Retired keys and until when each stays published (and verifies). */
  private retired: RetiredKey[] = [];

  private constructor(
    current: SigningKey,
    readonly ttlMs: number,
    private readonly graceMs: number,
  ) {
    this.current = current;
  }

  /**
   * Loads a signing key from a PKCS#8 PEM or a private JWK (JSON), or generates a fresh one when
   * `key` is undefined (then every restart invalidates outstanding credentials: fine for the
   * embedded default, not for production; `main` warns). `previous` public (or private) JWKs are
   * published, not used, until `nowMs + ttlMs + graceMs`; a private one also verifies the gateway
   * credentials it signed until then.
   */
  static async create(
    key: string | undefined,
    ttlMs: number,
    options: { previous?: readonly JWK[]; nowMs?: number; graceMs?: number } = {},
  ): Promise<CredentialIssuer> {
    const issuer = new CredentialIssuer(
      await loadSigningKey(key),
      ttlMs,
      options.graceMs ?? defaultRetiredKeyGraceMs,
    );
    const until = (options.nowMs ?? Date.now()) + ttlMs + issuer.graceMs;
    for (const jwk of options.previous ?? []) {
      const publicJwk = await publicHalf(jwk);
      if (publicJwk.kid === issuer.current.publicJwk.kid) continue;
      issuer.retired.push({
        publicJwk,
        publicKey: publicKeyOf(publicJwk),
        mac: typeof jwk.d === "string" ? previousMacKey(jwk, publicJwk) : undefined,
        publishedUntilMs: until,
      });
    }
    return issuer;
  }

  /**
   * A secret derived from the signing key for `label` (HMAC-SHA-256 over the private key), so the
   * server needs no second secret for what must be stable across replicas and restarts: agent
   * keys' secrets are derived from it. Changes when the signing key does.
   */
  derivedSecret(label: string): Buffer {
    return deriveSecret(this.current.privateKey, label);
  }

  /** The public half of the key new credentials are signed with. */
  get publicJwk(): JWK {
    return this.current.publicJwk;
  }

  /**
   * Signs from now on with `key` (PEM or private JWK); the previous key stays published until
   * `nowMs + ttl + grace`. Rotating to the current key again changes nothing. Returns the new kid.
   */
  async rotate(key: string, nowMs: number): Promise<string> {
    const next = await loadSigningKey(key);
    if (next.publicJwk.kid === this.current.publicJwk.kid) return next.publicJwk.kid as string;
    this.retired = this.retired.filter((r) => r.publicJwk.kid !== next.publicJwk.kid);
    this.retired.push({
      publicJwk: this.current.publicJwk,
      publicKey: this.current.publicKey,
      mac: this.current.mac,
      publishedUntilMs: nowMs + this.ttlMs + this.graceMs,
    });
    this.current = next;
    return next.publicJwk.kid as string;
  }

  /** The JWK Set verifiers need at `nowMs`: the current key, then retired keys still in use. */
  jwks(nowMs: number): JSONWebKeySet {
    this.retired = this.retired.filter((r) => r.publishedUntilMs > nowMs);
    return { keys: [this.current.publicJwk, ...this.retired.map((r) => r.publicJwk)] };
  }

  /**
   * The key that verifies a credential whose header says `alg` and `kid`, at `nowMs`: the current
   * key's, or a retired key's until its published-until time; undefined for any other.
   */
  verificationKey(alg: string, kid: string, nowMs: number): VerificationKey | undefined {
    const current = this.current;
    if (alg === "EdDSA") {
      if (current.publicJwk.kid === kid) return { alg, publicKey: current.publicKey };
      const retired = this.retired.find((r) => r.publicJwk.kid === kid);
      if (retired !== undefined && retired.publishedUntilMs > nowMs) {
        return { alg, publicKey: retired.publicKey };
      }
    } else if (alg === "HS256") {
      if (current.mac.kid === kid) return { alg, secret: current.mac.secret };
      const retired = this.retired.find((r) => r.mac?.kid === kid);
      if (retired?.mac !== undefined && retired.publishedUntilMs > nowMs) {
        return { alg, secret: retired.mac.secret };
      }
    }
    return undefined;
  }

  /**
   * Signs `claims`: EdDSA for a third party to verify with the JWKS (`public`, the default), or
   * HS256 for tollgate's own gateway (`gateway`: a catalog service, see {@link CredentialFormat}).
   */
  async issue(
    claims: CredentialClaims,
    format: CredentialFormat = "public",
  ): Promise<IssuedCredential> {
    const issuedAtS = Math.floor(claims.issuedAtMs / 1000);
    const expiresAtMs = issuedAtS * 1000 + this.ttlMs;
    const payload = base64url(
      JSON.stringify({
        wallet_id: claims.walletId,
        kind: claims.kind,
        service: claims.service,
        amount: claims.amount,
        ...(claims.agentKeyId === undefined ? {} : { agent_key: claims.agentKeyId }),
        iss: "tollgate",
        aud: claims.service,
        sub: claims.project,
        jti: claims.subjectId,
        iat: issuedAtS,
        exp: Math.floor(expiresAtMs / 1000),
      }),
    );
    const key = this.current;
    if (format === "gateway") {
      const signingInput = `${key.mac.encodedHeader}.${payload}`;
      const mac = createHmac("sha256", key.mac.secret).update(signingInput).digest("base64url");
      return { token: `${signingInput}.${mac}`, expiresAtMs };
    }
    const signingInput = `${key.encodedHeader}.${payload}`;
    const signature = sign(null, Buffer.from(signingInput, "utf8"), key.privateKey);
    const token = `${signingInput}.${signature.toString("base64url")}`;
    return { token, expiresAtMs };
  }
}

async function loadSigningKey(key: string | undefined): Promise<SigningKey> {
  let privateKey: CryptoKey;
  if (key === undefined) {
    privateKey = (await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey;
  } else if (key.trim().startsWith("{")) {
    const imported = await importJWK(JSON.parse(key) as JWK, "EdDSA", { extractable: true });
    if (imported instanceof Uint8Array) throw new Error("signing key must be an OKP private JWK");
    privateKey = imported;
  } else {
    privateKey = await importPKCS8(key, "EdDSA", { extractable: true });
  }
  const publicJwk = await publicHalf(await exportJWK(privateKey));
  const privateKeyObject = KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0]);
  return {
    privateKey: privateKeyObject,
    publicKey: publicKeyOf(publicJwk),
    publicJwk,
    encodedHeader: base64url(
      JSON.stringify({ alg: "EdDSA", kid: publicJwk.kid as string, typ: "JWT" }),
    ),
    mac: macKey(privateKeyObject, publicJwk),
  };
}

/** HMAC-SHA-256 keyed with the private key's seed (`d`), over `label`. */
function deriveSecret(privateKey: KeyObject, label: string): Buffer {
  const d = privateKey.export({ format: "jwk" }).d as string;
  return createHmac("sha256", Buffer.from(d, "base64url")).update(label).digest();
}

/** The gateway credentials' MAC key of one signing key, named after the signing key's kid. */
function macKey(privateKey: KeyObject, publicJwk: JWK): MacKey {
  const kid = `gw-${publicJwk.kid as string}`;
  return {
    kid,
    secret: createSecretKey(deriveSecret(privateKey, gatewayCredentialLabel)),
    encodedHeader: base64url(JSON.stringify({ alg: "HS256", kid, typ: "JWT" })),
  };
}

/** The MAC key of a previous key given as a private JWK, whose `d` must match its `x`. */
function previousMacKey(jwk: JWK, publicJwk: JWK): MacKey {
  const privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: "jwk" });
  if (privateKey.export({ format: "jwk" }).x !== publicJwk.x) {
    throw new Error("a previous signing key's private half (d) does not match its public one (x)");
  }
  return macKey(privateKey, publicJwk);
}

/** A Node KeyObject of a public Ed25519 JWK, for `crypto.verify`. */
function publicKeyOf(publicJwk: JWK): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: publicJwk.x as string },
    format: "jwk",
  });
}

/** The public JWK of a (public or private) Ed25519 JWK, with its thumbprint as `kid`. */
async function publicHalf(jwk: JWK): Promise<JWK> {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw new Error("signing keys must be Ed25519 (OKP) JWKs");
  }
  const publicJwk: JWK = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  publicJwk.kid = await calculateJwkThumbprint(publicJwk);
  publicJwk.alg = "EdDSA";
  publicJwk.use = "sig";
  return publicJwk;
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
